"""Random access to bgzipped, tabix-indexed text files (BED, GFF3, GTF, VCF, any TSV).

:class:`TabixFile` reads the ``.tbi`` or ``.csi`` next to the data, and answers
region queries the way htslib's ``tbx_itr_querys`` + ``hts_itr_next`` do:
chunks from the binning index, then every line whose interval (by the index's
column spec) overlaps the region, in file order.
"""
from __future__ import annotations

import os

import numpy as np

from ...bgzf import BgzfReader, is_bgzf
from ...errors import FormatError, MissingIndexError, RegionError
from ...index.model import BinningIndex
from ...index.tabix_build import parse_interval
from ...index.tbi import TBX_UCSC, TabixConfig, parse_tabix_header, read_tbi
from ...region import parse_region

__all__ = ["TabixFile", "load_tabix_index", "find_tabix_index"]

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
        if fast is not None:
            yield from fast
            return
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

    def _query_fast(self, tid: int, beg: int, end: int, chunks) -> list | None:
        """:meth:`iter_query` for generic column specs (BED, GFF...), each chunk's lines parsed at once.

        Returns the same records, or None when anything is unusual (a VCF/SAM
        spec, CR line ends, empty lines, missing columns, numbers that are not
        plain decimals, a sequence name that is not the query's): the
        line-by-line reader then runs and reports what it finds.
        """
        conf = self.config
        sc, bc, ec = conf.col_seq, conf.col_beg, conf.col_end
        if conf.preset & 0xFFFF or sc < 1 or bc <= sc or (ec and ec <= bc):
            return None
        ucsc = bool(conf.preset & TBX_UCSC)
        name = self.contigs[tid].encode("utf-8", "surrogateescape")
        out = []
        i, n = 0, len(chunks)
        while i < n:
            j = i
            while j + 1 < n and chunks[j][1] == chunks[j + 1][0]:  # read on without a seek, as htslib
                j += 1
            cur, ce = int(chunks[i][0]), int(chunks[j][1])
            window = 1  # compressed bytes: the first block only, then wider steps
            while cur is not None:
                got = self._chunk_lines(cur, ce, window)
                window = max(4 * window, 1 << 16)
                if got is None:
                    return None
                data, u8, ls, le, cur = got
                done = self._parse_lines(data, u8, ls, le, tid, beg, end, name, ucsc, out)
                if done is None:
                    return None
                if done:
                    return out
            i = j + 1
        return out

    def _parse_lines(self, data, u8, ls, le, tid, beg, end, name, ucsc, out):
        """Append the overlapping records of lines ``[ls, le)`` to ``out``; True when the query is over.

        None when a line needs the line-by-line reader.
        """
        conf = self.config
        sc, bc, ec = conf.col_seq, conf.col_beg, conf.col_end
        meta = u8[ls] == conf.meta_char
        if meta.any():
            keep = ~meta
            ls, le = ls[keep], le[keep]
        if not len(ls):
            return False
        tabs = np.flatnonzero(u8[ls[0]:le[-1]] == 9) + ls[0]
        ntab = len(tabs)
        t0 = np.searchsorted(tabs, ls)  # index of each line's first TAB

        def field(col):
            """(start, end) of column ``col`` (1-based) of every line; None if some line lacks it."""
            k = t0 + col - 1  # the TAB ending the column, if the line has one
            if col == 1:
                fs = ls
            else:
                if int(k.max()) - 1 >= ntab or np.any(tabs[k - 1] >= le):
                    return None
                fs = tabs[k - 1] + 1
            nxt = tabs[np.minimum(k, ntab - 1)] if ntab else le
            fe = np.where((k < ntab) & (nxt < le), nxt, le)
            return fs, fe

        f_seq, f_beg = field(sc), field(bc)
        f_end = field(ec) if ec else None
        if f_seq is None or f_beg is None or (ec and f_end is None):
            return None
        vb = _decimal(u8, *f_beg)
        ve = _decimal(u8, *f_end) if ec else None
        if vb is None or (ec and ve is None):
            return None
        b = vb - 1 if not ucsc else vb.copy()
        e = vb + 1 if ucsc else vb.copy()
        np.maximum(b, 0, out=b)
        np.maximum(e, 1, out=e)
        if ec:
            e = ve
        same = (f_seq[1] - f_seq[0]) == len(name)
        if same.any():
            w = len(name)
            cols = np.arange(w)
            rows = np.flatnonzero(same)
            got_name = u8[f_seq[0][rows, None] + cols[None, :]]
            same[rows] = (got_name == np.frombuffer(name, np.uint8)[None, :]).all(axis=1)
        stop = ~same | (b >= end)
        k = int(np.argmax(stop)) if stop.any() else len(ls)
        hit = np.flatnonzero(e[:k] > beg)
        out.extend((bytes(data[a:z]), tid, x, y) for a, z, x, y in
                   zip(ls[hit].tolist(), le[hit].tolist(), b[hit].tolist(), e[hit].tolist()))
        if k < len(ls):
            if not same[k]:  # another sequence ends the query; an unknown one is an error the slow path reports
                other = bytes(u8[f_seq[0][k]:f_seq[1][k]]).decode("utf-8", "surrogateescape")
                if self._tid.get(other, -1) < 0:
                    return None
            return True
        return False

    def _chunk_lines(self, cb: int, ce: int, window: int):
        """``(data, u8, starts, ends, next)`` for lines starting at virtual offsets in ``[cb, ce)``; None if odd.

        Blocks starting in the ``window`` compressed bytes from ``cb`` are inflated; ``next``
        is the virtual offset of the first line left for the next call (None
        when the lines reach ``ce``).  ``ends`` exclude the newline; the last
        line before ``ce`` is read whole even past ``ce``, as htslib does.
        """
        r = self._reader
        c_last = ce >> 16
        stop_block = min(c_last + 1, (cb >> 16) + window)
        whole = stop_block > c_last
        rng = r.inflate_range(cb >> 16, stop_block, writable=True)
        data = rng.data
        try:
            p = rng.position(cb)
            q = rng.position(ce) if whole else len(data)
        except FormatError:
            return None
        u8 = np.frombuffer(data, dtype=np.uint8)
        nl = np.flatnonzero(u8[p:] == 10) + p
        starts = np.concatenate([[p], nl[nl + 1 < q] + 1]) if p < q else np.zeros(0, np.int64)
        nxt = None
        if whole:
            read_to = rng.end_coffset
            while len(nl) < len(starts) and read_to < r.size:  # the last line goes on in later blocks
                more = r.inflate_range(read_to, read_to + 1, writable=True)
                if more.end_coffset <= read_to:
                    break
                read_to = more.end_coffset
                data = data + more.data
                u8 = np.frombuffer(data, dtype=np.uint8)
                nl = np.flatnonzero(u8[p:] == 10) + p
            ends = nl[:len(starts)]
            if len(ends) < len(starts):
                if read_to < r.size:
                    return None
                ends = np.concatenate([ends, [len(data)]])  # the file's last line has no newline
        else:  # lines whole inside this window; the next call starts at the first one left
            keep = min(len(nl), len(starts))
            if not keep:
                return None
            ends = nl[:keep]
            starts = starts[:keep]
            nxt = int(rng.voffsets(np.array([int(ends[-1]) + 1]))[0])
        if not len(starts) or np.any(ends <= starts) or np.any(u8[np.maximum(ends - 1, 0)] == 13):
            return None
        return data, u8, starts.astype(np.int64), ends.astype(np.int64), nxt

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
        if region is None:
            return [rec[0] for rec in self.iter_all()]
        _, tid, beg, end = self._resolve(region)
        return [rec[0] for rec in self.iter_query(tid, beg, end)]

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

        if region is None:
            recs = list(self.iter_all())
            region_text = "."
        else:
            reg, tid, beg, end = self._resolve(region)
            recs = list(self.iter_query(tid, beg, end))
            region_text = str(reg)
        rows = [r[0].decode("utf-8", "surrogateescape").split("\t") for r in recs]
        data = {
            "interval_contig": ("intervals", np.array([self.contigs[r[1]] for r in recs], dtype=object)),
            "interval_start": ("intervals", np.array([r[2] for r in recs], dtype=np.int64)),
            "interval_stop": ("intervals", np.array([r[3] for r in recs], dtype=np.int64)),
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


def _chomp(raw: bytes) -> bytes:
    if raw.endswith(b"\n"):
        raw = raw[:-1]
    if raw.endswith(b"\r"):
        raw = raw[:-1]
    return raw


def _decimal(u8: np.ndarray, fs: np.ndarray, fe: np.ndarray):
    """Values of plain decimal fields ``u8[fs:fe]`` (what C ``strtoll(s, &end, 0)`` reads from them), or None.

    Only 1-18 digits without a leading zero (a leading zero means octal to
    ``strtoll``) take this path.
    """
    lens = fe - fs
    if not len(lens):
        return np.zeros(0, dtype=np.int64)
    if int(lens.min()) < 1 or int(lens.max()) > 18:
        return None
    w = int(lens.max())
    idx = fe[:, None] - w + np.arange(w)[None, :]  # right-aligned digits
    inside = idx >= fs[:, None]
    digits = u8[np.maximum(idx, 0)].astype(np.int64) - 48
    if np.any(inside & ((digits < 0) | (digits > 9))) or np.any((u8[fs] == 48) & (lens > 1)):
        return None
    digits[~inside] = 0
    return digits @ (10 ** np.arange(w - 1, -1, -1, dtype=np.int64))
