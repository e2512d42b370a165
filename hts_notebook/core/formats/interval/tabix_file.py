"""Random access to bgzipped, tabix-indexed text files (BED, GFF3, GTF, VCF, any TSV).

:class:`TabixFile` reads the ``.tbi`` or ``.csi`` next to the data, and answers
region queries the way htslib's ``tbx_itr_querys`` + ``hts_itr_next`` do:
chunks from the binning index, then every line whose interval (by the index's
column spec) overlaps the region, in file order.
"""
from __future__ import annotations

import os
from itertools import repeat
from typing import NamedTuple

import numpy as np

from ...bgzf import BgzfReader, is_bgzf
from ...errors import FormatError, MissingIndexError, RegionError
from ...index.model import BinningIndex
from ...index.tabix_build import parse_interval
from ...index.tbi import TBX_UCSC, TabixConfig, parse_tabix_header
from ...region import parse_region
from .tabix_scan import BlockCache, query_lines

__all__ = ["TabixFile", "IntervalLines", "load_tabix_index", "find_tabix_index"]

HTS_POS_MAX = (1 << 63) - 1


def find_tabix_index(path) -> str | None:
    """Index of a tabix file where htslib looks: ``x.gz.csi``, ``x.csi``, ``x.gz.tbi``, ``x.tbi``."""
    from ...index import find_index

    return find_index(path, "tbi")


def load_tabix_index(path) -> tuple[BinningIndex, TabixConfig, list[str]]:
    """Read a ``.tbi`` or tabix ``.csi`` file.

    Returns
    -------
    (BinningIndex, TabixConfig, list of str)
        The index, its column spec and the sequence names (id order).

    Raises
    ------
    MissingIndexError
        No such file.
    FormatError
        Neither TBI nor CSI, or a CSI without a tabix header in ``aux``.
    TruncatedFileError, ChecksumError, LimitExceededError
        Corrupt index.
    """
    from ...index.csi import parse_csi
    from ...index.tbi import parse_tbi

    p = os.fspath(path)
    if not os.path.isfile(p):
        raise MissingIndexError("index file not found", path=p, field="path")
    with BgzfReader(p) as r:
        data = r.read_all()
    if data[:4] == b"CSI\x01":
        index = parse_csi(data, path=p)
        if len(index.aux) < 28:
            raise FormatError("CSI has no tabix header (not a tabix index)", path=p, offset=12, field="l_aux")
    elif data[:4] == b"TBI\x01":
        index = parse_tbi(data, path=p)
    else:
        index = parse_tbi(data, path=p)  # raises the magic error
    conf, names = parse_tabix_header(index.aux, path=p)
    return index, conf, names


class TabixFile:
    """A bgzipped text file with a tabix (``.tbi``) or CSI index.

    Parameters
    ----------
    path : str or os.PathLike
        BGZF-compressed text (``.bed.gz``, ``.gff.gz``, ``.vcf.gz`` ...).
    index : str, optional
        Index path; by default the ``.csi``/``.tbi`` next to ``path``.

    Attributes
    ----------
    contigs : list of str
        Sequence names in index order.
    config : TabixConfig
        Column spec stored in the index.

    Raises
    ------
    MissingIndexError
        No index found.
    FormatError
        The data is not BGZF, or the index is malformed.
    """

    def __init__(self, path, index=None):
        self.path = os.fspath(path)
        if not is_bgzf(self.path):
            raise FormatError("not a BGZF file", path=self.path, offset=0, field="magic")
        idx_path = os.fspath(index) if index is not None else find_tabix_index(self.path)
        if idx_path is None:
            raise MissingIndexError("no .tbi or .csi index found", path=self.path, field="index")
        self.index_path = idx_path
        self.index, self.config, self.contigs = load_tabix_index(idx_path)
        self._tid = {}
        for i, n in enumerate(self.contigs):
            self._tid.setdefault(n, i)
        self._reader = BgzfReader(self.path, check_eof=False)
        self._blocks = BlockCache(self._reader)
        self._header = None

    # -- header ------------------------------------------------------------
    @property
    def header_lines(self) -> list[str]:
        """Leading lines that start with the meta character (what ``tabix -H`` prints), without newlines."""
        if self._header is None:
            out = []
            self._reader.seek(0)
            meta = self.config.meta_char
            while True:
                line = self._reader.readline()
                if not line:
                    break
                line = _chomp(line)
                if not line or line[0] != meta:
                    break
                out.append(line.decode("utf-8", "surrogateescape"))
            self._header = out
        return list(self._header)

    # -- queries -----------------------------------------------------------
    def name2id(self, name: str) -> int:
        return self._tid.get(name, -1)

    def iter_query(self, tid: int, beg: int, end: int):
        """Yield ``(line, tid, beg, end)`` for lines overlapping ``[beg, end)`` of reference ``tid``.

        Same lines, in the same order, as htslib's ``hts_itr_next`` over
        ``hts_itr_query(idx, tid, beg, end)``.  ``line`` is bytes without the newline.

        Raises
        ------
        FormatError
            A data line in a chunk cannot be parsed by the index's column spec.
        """
        chunks = self.index.query_chunks(tid, beg, end)
        if not chunks:
            return
        fast = self._query_fast(tid, beg, end, chunks)
        if fast is None:
            yield from self._read_chunks(tid, beg, end, chunks)
            return
        got = _fast_lines(tid, fast)
        yield from zip(got.lines, repeat(tid), got.interval_start.tolist(), got.interval_stop.tolist())

    def _read_chunks(self, tid: int, beg: int, end: int, chunks):
        """The line-by-line reader of :meth:`iter_query` (htslib's loop), lazily."""
        r = self._reader
        curr = 0
        i = -1
        n = len(chunks)
        while True:
            if curr == 0 or curr >= chunks[i][1]:
                if i == n - 1:
                    return
                if i < 0 or chunks[i][1] != chunks[i + 1][0]:
                    r.seek(chunks[i + 1][0])
                    curr = r.tell()
                i += 1
            rec = self._read_record(r)
            if rec is None:
                return
            curr = r.tell()
            line, t, b, e = rec
            if t != tid or b >= end:
                return
            if e > beg and end > b:
                yield rec

    def _query_fast(self, tid: int, beg: int, end: int, chunks):
        """The vectorised query of :mod:`.tabix_scan`: ``(lines, begins, ends)``, or None for the line reader."""
        return query_lines(self, tid, beg, end, chunks, self._blocks)

    def iter_all(self, *, pseudo_bins_only: bool = False):
        """Yield ``(line, tid, beg, end)`` of every data line (``tabix file .``).

        Reading starts at the smallest reference start of the pseudo-bins; an
        index without pseudo-bins (tabix 0.2.x) starts at its first chunk,
        unless ``pseudo_bins_only`` (htslib 1.16's ``tabix file .`` then
        prints nothing).
        """
        offs = [ref.meta[0] for ref in self.index.refs if ref.meta is not None]
        if not offs and not pseudo_bins_only:  # old indexes (tabix 0.2.x) have no pseudo-bins: first chunk start
            offs = [int(ch[:, 0].min()) for ref in self.index.refs for ch in ref.bins.values() if len(ch)]
        if not offs:
            return
        r = self._reader
        r.seek(min(offs))
        while True:
            rec = self._read_record(r)
            if rec is None:
                return
            yield rec

    def _read_record(self, r):
        meta = self.config.meta_char
        while True:
            at = r.tell()
            raw = r.readline()
            if not raw:
                return None
            line = _chomp(raw)
            if line and line[0] == meta:
                continue
            iv = parse_interval(self.config, line)
            if iv is None:
                raise FormatError(f"cannot parse line by the index's column spec: {line[:80]!r}", path=self.path,
                                  offset=at, field="line", virtual=True)
            t = self._tid.get(iv[0].decode("utf-8", "surrogateescape"), -1)
            if t < 0:
                raise FormatError(f"line names a sequence absent from the index: {iv[0][:80]!r}", path=self.path,
                                  offset=at, field="seq", virtual=True)
            return line, t, iv[1], iv[2]

    def _resolve(self, region):
        reg = parse_region(region, {n: None for n in self.contigs}) if isinstance(region, str) else parse_region(region)
        tid = self.name2id(reg.contig)
        if tid < 0:
            raise RegionError(f"unknown contig {reg.contig!r}", path=self.path, field="contig")
        return reg, tid, reg.start, HTS_POS_MAX if reg.stop is None else reg.stop

    def fetch(self, region=None) -> list[bytes]:
        """Lines overlapping a region, as ``tabix file region`` prints them (without newlines).

        Parameters
        ----------
        region : str, tuple or Region, optional
            ``"chr1:1,001-2,000"`` (1-based closed) or ``(contig, start, stop)``
            0-based half-open; ``None`` for every data line.

        Returns
        -------
        list of bytes

        Raises
        ------
        RegionError
            Malformed region or unknown contig.
        FormatError
            Corrupt data.
        """
        return self.fetch_intervals(region).lines

    def fetch_intervals(self, region=None) -> "IntervalLines":
        """Lines overlapping a region, with the interval of each as arrays.

        What :meth:`fetch` returns, plus the coordinates the index's column
        spec gives each line, parsed once in bulk rather than per line by the
        caller.

        Parameters
        ----------
        region : str, tuple or Region, optional
            As for :meth:`fetch`.

        Returns
        -------
        IntervalLines
            ``lines`` (list of bytes, no newline), ``contig_index`` (int32,
            index into :attr:`contigs`), ``interval_start`` and
            ``interval_stop`` (int64, 0-based half-open: a BED line's start
            is its column 2, a GFF line's start is column 4 minus one), all of
            shape ``(n_lines,)``.

        Raises
        ------
        RegionError
            Malformed region or unknown contig.
        FormatError
            Corrupt data.
        """
        if region is None:
            return _interval_lines(list(self.iter_all()))
        _, tid, beg, end = self._resolve(region)
        chunks = self.index.query_chunks(tid, beg, end)
        if not chunks:
            return _interval_lines([])
        fast = self._query_fast(tid, beg, end, chunks)
        if fast is None:
            return _interval_lines(list(self._read_chunks(tid, beg, end, chunks)))
        return _fast_lines(tid, fast)

    def query(self, region=None):
        """Lines overlapping a region as an xarray Dataset on dim ``intervals`` (DESIGN §3).

        Returns
        -------
        xarray.Dataset
            ``interval_contig`` (str), ``interval_start``/``interval_stop``
            (int64, 0-based half-open, as the index computes them), then the
            file's own columns: BED (``interval_name``, ``interval_score``
            float64, ``interval_strand``, ``interval_thick_start`` ...), GFF/GTF
            (``interval_source``, ``interval_type``, ``interval_score``,
            ``interval_strand``, ``interval_phase`` int8 -1 = missing,
            ``interval_attributes``), otherwise ``interval_column_<n>`` strings
            for the columns that are not seq/begin/end.  ``attrs``: ``region``,
            ``source``, ``kind``.
        """
        import xarray as xr

        got = self.fetch_intervals(region)
        region_text = "." if region is None else str(self._resolve(region)[0])
        rows = [line.decode("utf-8", "surrogateescape").split("\t") for line in got.lines]
        contigs = np.array(self.contigs, dtype=object)
        data = {
            "interval_contig": ("intervals", contigs[got.contig_index]),
            "interval_start": ("intervals", got.interval_start),
            "interval_stop": ("intervals", got.interval_stop),
        }
        kind = self.kind
        if kind == "bed":
            from .bed import bed_variables

            extra = bed_variables(rows)
        elif kind == "gff":
            from .gff import gff_variables

            extra = gff_variables(rows)
        else:
            extra = {}
            if rows:
                width = min(len(r) for r in rows)
                used = {self.config.col_seq, self.config.col_beg, self.config.col_end}
                for col in range(1, width + 1):
                    if col not in used:
                        extra[f"interval_column_{col}"] = np.array([r[col - 1] for r in rows], dtype=object)
        for k, v in extra.items():
            data[k] = ("intervals", v)
        return xr.Dataset(data, attrs={"region": region_text, "source": self.path, "kind": kind})

    @property
    def kind(self) -> str:
        """``"bed"``, ``"gff"``, ``"vcf"``, ``"sam"`` or ``"generic"`` from the column spec."""
        c = self.config
        if c.kind == 2:
            return "vcf"
        if c.kind == 1:
            return "sam"
        if c.preset & TBX_UCSC and (c.col_seq, c.col_beg, c.col_end) == (1, 2, 3):
            return "bed"
        if not c.preset & TBX_UCSC and (c.col_seq, c.col_beg, c.col_end) == (1, 4, 5):
            return "gff"
        return "generic"

    def count(self) -> int:
        """Number of data lines (reads the whole file)."""
        return sum(1 for _ in self.iter_all())

    def close(self) -> None:
        self._reader.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self) -> str:
        return f"TabixFile({self.path!r}, contigs={len(self.contigs)}, kind={self.kind!r})"


class IntervalLines(NamedTuple):
    """Lines of a tabix query and their intervals (:meth:`TabixFile.fetch_intervals`)."""

    lines: list
    contig_index: np.ndarray
    interval_start: np.ndarray
    interval_stop: np.ndarray


def _fast_lines(tid: int, fast) -> IntervalLines:
    """:class:`IntervalLines` from :func:`.tabix_scan.query_lines`' ``(lines, begins, ends)``."""
    lines, begs, ends = fast
    return IntervalLines(lines, np.full(len(lines), tid, dtype=np.int32),
                         np.concatenate(begs) if begs else np.zeros(0, np.int64),
                         np.concatenate(ends) if ends else np.zeros(0, np.int64))


def _interval_lines(recs) -> IntervalLines:
    """:class:`IntervalLines` from ``(line, tid, begin, end)`` records."""
    return IntervalLines([r[0] for r in recs], np.array([r[1] for r in recs], dtype=np.int32),
                         np.array([r[2] for r in recs], dtype=np.int64), np.array([r[3] for r in recs], dtype=np.int64))


def _chomp(raw: bytes) -> bytes:
    if raw.endswith(b"\n"):
        raw = raw[:-1]
    if raw.endswith(b"\r"):
        raw = raw[:-1]
    return raw
