"""FASTA reading (random access through ``.fai``, BGZF through ``.gzi``) and writing.

Random access follows the ``.fai`` contract: base ``i`` of a sequence lives at
byte ``OFFSET + i // LINEBASES * LINEWIDTH + i % LINEBASES`` of the
(uncompressed) file.  A fetch reads exactly the bytes that hold the requested
bases, then checks that those bytes have the promised layout (printable bases,
whitespace at line ends); a file that is shorter than the index promises
raises :class:`TruncatedFileError`, a layout mismatch :class:`FormatError`.
A fetch never returns fewer bases than asked for (after clipping to the
sequence length).

Reference: samtools-faidx(1); the FAI format section of the htslib docs.
"""
from __future__ import annotations

import os
from typing import Mapping

import numpy as np

from ...bgzf import BgzfReader, BgzfWriter, build_gzi, is_bgzf, read_gzi, write_gzi
from ...errors import FormatError, MissingIndexError, RegionError, TruncatedFileError
from ...index.fai import (
    _GRAPH,
    _SPACE,
    POS_MAX,
    FaiEntry,
    FaiIndex,
    build_fai,
    parse_fai_region,
    read_fai,
    write_fai,
)
from ...region import Region
from ...source import ByteSource

__all__ = ["FastaFile", "write_fasta", "IndexedText"]

_SEQ_OK = _GRAPH.copy()
_SEQ_OK[ord(">")] = False


class IndexedText:
    """Uncompressed byte ranges of a plain or BGZF file (``.gzi`` for BGZF).

    Parameters
    ----------
    path : str
    gzi : ndarray of uint64, shape (n, 2), optional
        ``(coffset, uoffset)`` rows starting with ``(0, 0)``, as returned by
        :func:`~hts_notebook.core.bgzf.read_gzi`; required for BGZF.
    """

    def __init__(self, path, gzi=None):
        self.path = os.fspath(path)
        self.source = ByteSource(self.path)
        head = self.source.read_at(0, 2)
        self.bgzf = head == b"\x1f\x8b"
        self._reader = None
        if self.bgzf:
            if not is_bgzf(self.source):
                self.source.close()
                raise FormatError(
                    "gzip-compressed (not BGZF) FASTA/FASTQ cannot be accessed randomly; recompress with bgzip",
                    path=self.path, offset=0, field="magic",
                )
            self._reader = BgzfReader(self.source)
            if gzi is None:
                gzi = np.array([[0, 0]] + [list(e) for e in build_gzi(self.source)], dtype=np.uint64).reshape(-1, 2)
            self._coffs = np.asarray(gzi[:, 0], dtype=np.int64)
            self._uoffs = np.asarray(gzi[:, 1], dtype=np.int64)
        self.size = None if self.bgzf else self.source.size

    def read(self, start: int, stop: int, what: str = "sequence") -> bytes:
        """Exactly the uncompressed bytes ``[start, stop)``.

        Raises
        ------
        TruncatedFileError
            The file ends before ``stop``.
        FormatError
            A ``.gzi`` entry that does not point at a BGZF block.
        """
        n = stop - start
        if n <= 0:
            return b""
        if not self.bgzf:
            data = self.source.read_at(start, n)
            if len(data) != n:
                raise TruncatedFileError(
                    f"{what}: index promises bytes up to {stop}, file ends at {self.source.size}",
                    path=self.path, offset=start + len(data), field="OFFSET",
                )
            return data
        i = int(np.searchsorted(self._uoffs, start, side="right")) - 1
        c0, u0 = int(self._coffs[i]), int(self._uoffs[i])
        j = int(np.searchsorted(self._uoffs, stop, side="left"))
        cend = int(self._coffs[j]) if j < len(self._coffs) else None
        rng = self._reader.inflate_range(c0, cend)
        parts = [rng.data]
        have = len(rng.data)
        pos = rng.end_coffset
        while u0 + have < stop:
            if pos >= self.source.size:
                raise TruncatedFileError(
                    f"{what}: index promises uncompressed bytes up to {stop}, stream ends at {u0 + have}",
                    path=self.path, offset=u0 + have, field="OFFSET",
                )
            block, pos = self._reader.read_block(pos)
            parts.append(block)
            have += len(block)
        data = b"".join(parts) if len(parts) > 1 else parts[0]
        return data[start - u0: stop - u0]

    def read_all(self) -> bytes:
        if self.bgzf:
            return self._reader.read_all()
        return self.source.read_all()

    def close(self):
        self.source.close()


def read_bases(text: IndexedText, entry: FaiEntry, beg: int, end: int, *, quality: bool = False) -> np.ndarray:
    """Bases ``[beg, end)`` of ``entry`` as a uint8 array, layout-checked.

    ``quality=True`` reads the FASTQ quality string (same line layout,
    starting at ``entry.qual_offset``).
    """
    if end <= beg:
        return np.zeros(0, dtype=np.uint8)
    what = f"{'quality of ' if quality else 'sequence '}{entry.name!r}"
    lb, lw = entry.line_bases, entry.line_width
    if lb <= 0:
        raise FormatError(f"{what}: LINEBASES is 0", path=text.path, field="LINEBASES")
    base_off = entry.qual_offset if quality else entry.offset
    first_line = beg // lb
    last_line = (end - 1) // lb
    b0 = base_off + first_line * lw
    b1 = base_off + last_line * lw + (end - 1) % lb + 1
    raw = text.read(b0, b1, what)
    nlines = last_line - first_line + 1
    buf = np.zeros(nlines * lw, dtype=np.uint8)
    buf[: len(raw)] = np.frombuffer(raw, dtype=np.uint8)
    grid = buf.reshape(nlines, lw)
    if lw > lb and nlines > 1:
        term = grid[:-1, lb:]
        if not _SPACE[term].all():
            bad = int(np.flatnonzero(~_SPACE[term].all(axis=1))[0])
            raise FormatError(
                f"{what}: line {first_line + bad + 1} is longer than LINEBASES={lb} / LINEWIDTH={lw} in the index",
                path=text.path, offset=b0 + bad * lw + lb, field="LINEWIDTH",
            )
    lo = beg % lb
    bases = grid[:, :lb].reshape(-1)[lo: lo + (end - beg)]
    table = _GRAPH if quality or (entry.qual_offset is not None) else _SEQ_OK
    ok = table[bases]
    if not ok.all():
        k = int(np.flatnonzero(~ok)[0])
        pos = beg + k
        byte = base_off + pos // lb * lw + pos % lb
        raise FormatError(
            f"{what}: byte {int(bases[k]):#04x} at base {pos + 1} is not a sequence character; "
            "the index does not match the file",
            path=text.path, offset=byte, field="OFFSET",
        )
    return np.ascontiguousarray(bases)


def _load_index(path: str, index, gzi, build_index: bool, kind: str):
    """Find, read or build the ``.fai`` (and ``.gzi``) of ``path``."""
    fai_path = os.fspath(index) if isinstance(index, (str, os.PathLike)) else path + ".fai"
    gzi_path = os.fspath(gzi) if isinstance(gzi, (str, os.PathLike)) else path + ".gzi"
    with open(path, "rb") as fh:
        compressed = fh.read(2) == b"\x1f\x8b"
    fai_obj = index if isinstance(index, FaiIndex) else None
    gzi_arr = None if isinstance(gzi, (str, os.PathLike)) or gzi is None else np.asarray(gzi, dtype=np.uint64)
    if fai_obj is None and os.path.exists(fai_path):
        fai_obj = read_fai(fai_path, kind=kind)
    if compressed and gzi_arr is None and os.path.exists(gzi_path):
        gzi_arr = read_gzi(gzi_path)
    need_build = fai_obj is None
    if compressed and gzi_arr is None and is_bgzf(path):
        if not build_index:
            raise MissingIndexError(f"BGZF file needs a .gzi index ({gzi_path})", path=path, field="gzi")
        gzi_arr = np.array([[0, 0]] + [list(e) for e in build_gzi(path)], dtype=np.uint64).reshape(-1, 2)
        try:
            write_gzi(gzi_path, [tuple(int(v) for v in row) for row in gzi_arr[1:]])
        except OSError:
            pass
    if need_build:
        if not build_index:
            raise MissingIndexError(f"no .fai index ({fai_path})", path=path, field="fai")
        fai_obj = build_fai(path)
        try:
            write_fai(fai_obj, fai_path)
        except OSError:
            pass
    return fai_obj, gzi_arr


class FastaFile:
    """Random access to a FASTA file (plain or BGZF) through its ``.fai``.

    Parameters
    ----------
    path : str or os.PathLike
    index : str, os.PathLike or FaiIndex, optional
        ``.fai`` path (default ``path + ".fai"``) or an index object.
    gzi : str or os.PathLike, optional
        ``.gzi`` path for BGZF files (default ``path + ".gzi"``).
    build_index : bool
        Build a missing ``.fai`` (and ``.gzi``) as ``samtools faidx`` would,
        writing them next to the file when the directory is writable.

    Attributes
    ----------
    references : tuple of str
        Sequence names in index order.
    lengths : tuple of int
    contigs : dict of str to int

    Raises
    ------
    MissingIndexError
        No index and ``build_index=False``.
    FormatError
        Malformed ``.fai``, an unindexable FASTA (see
        :func:`~hts_notebook.core.index.fai.build_fai`), or gzip (not BGZF).
    TruncatedFileError
        The file is shorter than its ``.fai`` promises (checked at open for
        plain files, at fetch for BGZF).
    """

    def __init__(self, path, *, index=None, gzi=None, build_index: bool = True):
        self.path = os.fspath(path)
        self.index, gzi_arr = _load_index(self.path, index, gzi, build_index, None)
        self._text = IndexedText(self.path, gzi_arr)
        if not self._text.bgzf:
            self._check_extent()
        self.references = tuple(self.index.names)
        self.lengths = tuple(self.index.lengths)
        self.contigs = dict(zip(self.references, self.lengths))

    def _check_extent(self):
        size = self._text.size
        for e in self.index:
            if e.length == 0:
                continue
            _, last = e.byte_span(e.length - 1, e.length)
            if last > size:
                raise TruncatedFileError(
                    f"sequence {e.name!r}: index promises {e.length} bases ending at byte {last}, file has {size} bytes",
                    path=self.path, offset=size, field="LENGTH",
                )

    # -- pysam-like helpers ------------------------------------------------
    @property
    def nreferences(self) -> int:
        return len(self.references)

    @property
    def filename(self) -> str:
        return self.path

    def get_reference_length(self, reference: str) -> int:
        return self.index[reference].length

    def __len__(self) -> int:
        return len(self.references)

    def __contains__(self, name) -> bool:
        return name in self.index

    def _resolve(self, region, start, stop, contig) -> tuple[FaiEntry, int, int]:
        if contig is not None or (isinstance(region, str) and (start is not None or stop is not None)):
            name = contig if contig is not None else region
            entry = self.index.get(name)
            if entry is None:
                raise RegionError(f"unknown sequence {name!r}", path=self.path, field="contig")
            beg = 0 if start is None else int(start)
            end = POS_MAX if stop is None else int(stop)
            if beg < 0 or end < beg:
                raise RegionError(f"invalid interval {beg}-{end} on {name!r}", path=self.path, field="region")
        elif isinstance(region, Region):
            entry = self.index.get(region.contig)
            if entry is None:
                raise RegionError(f"unknown sequence {region.contig!r}", path=self.path, field="contig")
            beg, end = region.start, POS_MAX if region.stop is None else region.stop
        elif isinstance(region, tuple):
            name, beg, end = (tuple(region) + (None, None))[:3]
            return self._resolve(str(name), 0 if beg is None else beg, end, None)
        elif isinstance(region, str):
            try:
                name, beg, end = parse_fai_region(region, self.index.__contains__)
            except RegionError as exc:
                raise RegionError(exc.message, path=self.path, field=exc.field) from None
            entry = self.index[name]
            beg = max(beg, 0)
        else:
            raise RegionError(f"cannot interpret region {region!r}", path=self.path, field="region")
        end = min(end, entry.length)
        beg = min(beg, end)
        return entry, beg, end

    def fetch_array(self, region=None, start=None, stop=None, *, contig=None) -> np.ndarray:
        """Sub-sequence as ASCII codes.

        Parameters
        ----------
        region : str, Region or tuple
            ``"chr1:1,001-2,000"`` (1-based closed, samtools faidx rules),
            a :class:`~hts_notebook.core.region.Region`, or a
            ``(contig, start, stop)`` tuple (0-based half-open).  With
            ``start``/``stop`` given, a plain name (pysam style).
        start, stop : int, optional
            0-based half-open, with ``region`` a sequence name.
        contig : str, optional
            Sequence name (alternative to ``region``).

        Returns
        -------
        ndarray of uint8, shape (n,)
            ``n = min(stop, length) - start``; case is preserved.

        Raises
        ------
        RegionError
            Unknown sequence or malformed region.
        TruncatedFileError, FormatError
            The bytes do not hold what the index promises.
        """
        entry, beg, end = self._resolve(region, start, stop, contig)
        return read_bases(self._text, entry, beg, end)

    def fetch(self, region=None, start=None, stop=None, *, contig=None) -> str:
        """Sub-sequence as text; arguments as :meth:`fetch_array` (0-based half-open integers,
        1-based closed region strings)."""
        return self.fetch_array(region, start, stop, contig=contig).tobytes().decode("ascii")

    def __getitem__(self, name: str) -> str:
        return self.fetch(contig=name)

    def close(self) -> None:
        self._text.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self) -> str:
        return f"FastaFile({self.path!r}, {len(self.references)} sequences)"


def _as_bytes(seq) -> bytes:
    if isinstance(seq, str):
        return seq.encode("ascii")
    if isinstance(seq, np.ndarray):
        return np.ascontiguousarray(seq, dtype=np.uint8).tobytes()
    return bytes(seq)


def write_fasta(path, records, line_width: int = 60, bgzip: bool = False, *, write_index: bool = True) -> FaiIndex:
    """Write sequences as FASTA (optionally BGZF) with their ``.fai`` (and ``.gzi``).

    Parameters
    ----------
    path : str or os.PathLike
    records : mapping of name to sequence, or iterable of ``(name, sequence)``
        Sequences as ``str``, ``bytes`` or uint8 arrays of printable ASCII.
    line_width : int
        Bases per line (samtools' default output width is 60).
    bgzip : bool
        BGZF-compress and write ``path + ".gzi"``.
    write_index : bool
        Write ``path + ".fai"`` (identical to what ``samtools faidx`` builds).

    Returns
    -------
    FaiIndex

    Raises
    ------
    ValueError
        Empty or duplicate names, names with whitespace, empty sequences (samtools
        cannot index them), or non-printable sequence characters.
    """
    path = os.fspath(path)
    if line_width < 1:
        raise ValueError("line_width must be >= 1")
    items = records.items() if isinstance(records, Mapping) else records
    index = FaiIndex(kind="fasta", path=path)
    if bgzip:
        out = BgzfWriter(path, record_gzi=True)
    else:
        out = open(path, "wb")
    pos = 0
    try:
        for name, seq in items:
            name = str(name)
            if not name or any(c.isspace() for c in name):
                raise ValueError(f"sequence name {name!r} is empty or contains whitespace")
            if name in index:
                raise ValueError(f"duplicate sequence name {name!r}")
            data = _as_bytes(seq)
            if not data:
                raise ValueError(f"sequence {name!r} is empty")
            arr = np.frombuffer(data, dtype=np.uint8)
            if not _SEQ_OK[arr].all():
                raise ValueError(f"sequence {name!r} holds non-printable characters or '>'")
            header = b">" + name.encode("utf-8") + b"\n"
            out.write(header)
            pos += len(header)
            n = len(data)
            full, rest = divmod(n, line_width)
            body = bytearray()
            if full:
                grid = np.empty((full, line_width + 1), dtype=np.uint8)
                grid[:, :line_width] = arr[: full * line_width].reshape(full, line_width)
                grid[:, line_width] = 10
                body += grid.tobytes()
            if rest:
                body += data[full * line_width:] + b"\n"
            lb = min(line_width, n)  # a single-line sequence: samtools records its own length
            index.add(FaiEntry(name, n, pos, lb, lb + 1))
            out.write(bytes(body))
            pos += len(body)
    finally:
        out.close()
    if bgzip:
        write_gzi(path + ".gzi", out.gzi_entries())
    if write_index:
        write_fai(index, path + ".fai")
    return index
