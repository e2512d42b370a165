"""FASTA / FASTQ ``.fai`` indexes (samtools faidx / fqidx).

A ``.fai`` is a tab-separated text file with one line per sequence:

======  ==============================================================
column  meaning
======  ==============================================================
NAME    sequence name (first word of the ``>`` / ``@`` line)
LENGTH  number of bases
OFFSET  byte offset of the first base (uncompressed offset for BGZF)
LINEB   bases per full line
LINEW   bytes per full line, line terminator included
QUALOFF (FASTQ only) byte offset of the first quality character
======  ==============================================================

This module reads and validates such files, builds them from FASTA/FASTQ
(plain or BGZF) and writes them byte-identical to ``samtools faidx``.  It also
holds :func:`parse_fai_region`, the region-string rules samtools faidx applies
(htslib's ``hts_parse_region``), which differ from :mod:`~hts_notebook.core.region`
in a few corners (empty names, ``chr:0-5``, ``k``/``M`` suffixes).

References: samtools-faidx(1), "The FAI index format" in the htslib docs.
"""
from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np

from ..errors import FormatError, RegionError

__all__ = [
    "FaiIndex",
    "FaiEntry",
    "read_fai",
    "build_fai",
    "write_fai",
    "parse_fai_region",
    "fai_bytes",
    "POS_MAX",
]

#: "to the end of the sequence" (htslib's HTS_POS_MAX)
POS_MAX = (1 << 63) - 1
_VALUE_LIMIT = 1 << 62

# byte class tables (C locale isgraph / isspace)
_GRAPH = np.zeros(256, dtype=bool)
_GRAPH[0x21:0x7F] = True
_SPACE = np.zeros(256, dtype=bool)
_SPACE[[0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20]] = True


@dataclass(frozen=True)
class FaiEntry:
    """One ``.fai`` line.

    Attributes
    ----------
    name : str
    length : int
        Bases in the sequence.
    offset : int
        Byte offset of the first base (uncompressed for BGZF files).
    line_bases : int
        Bases per full line.
    line_width : int
        Bytes per full line including the terminator.
    qual_offset : int or None
        Offset of the first quality character (FASTQ indexes only).
    """

    name: str
    length: int
    offset: int
    line_bases: int
    line_width: int
    qual_offset: int | None = None

    def byte_span(self, start: int, stop: int, base_offset: int | None = None) -> tuple[int, int]:
        """File bytes ``[b0, b1)`` holding bases ``[start, stop)`` (``stop > start``)."""
        off = self.offset if base_offset is None else base_offset
        lb, lw = self.line_bases, self.line_width
        last = stop - 1
        return off + start // lb * lw + start % lb, off + last // lb * lw + last % lb + 1


def _name_bytes(name: str) -> bytes:
    return name.encode("utf-8", "surrogateescape")


def _name_str(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


class FaiIndex:
    """An in-memory ``.fai``: ordered entries with lookup by name.

    Parameters
    ----------
    entries : iterable of FaiEntry
        In file order; a repeated name keeps its first entry (as htslib does).
    kind : {"fasta", "fastq"}
        FASTQ indexes carry the sixth column.
    path : str, optional
        For error messages.
    """

    def __init__(self, entries=(), kind: str = "fasta", path: str | None = None):
        self.kind = kind
        self.path = path
        self.entries: list[FaiEntry] = []
        self._by_name: dict[str, int] = {}
        for e in entries:
            self.add(e)

    def add(self, entry: FaiEntry) -> bool:
        """Append ``entry``; return False (and warn) when the name is already present."""
        if entry.name in self._by_name:
            warnings.warn(
                f'ignoring duplicate sequence "{entry.name}" at byte offset {entry.offset}', stacklevel=3
            )
            return False
        self._by_name[entry.name] = len(self.entries)
        self.entries.append(entry)
        return True

    # -- lookup ------------------------------------------------------------
    @property
    def names(self) -> list[str]:
        return [e.name for e in self.entries]

    @property
    def lengths(self) -> list[int]:
        return [e.length for e in self.entries]

    def __len__(self) -> int:
        return len(self.entries)

    def __contains__(self, name) -> bool:
        return name in self._by_name

    def __iter__(self) -> Iterator[FaiEntry]:
        return iter(self.entries)

    def __getitem__(self, key) -> FaiEntry:
        if isinstance(key, int):
            return self.entries[key]
        try:
            return self.entries[self._by_name[key]]
        except KeyError:
            raise RegionError(f"sequence {key!r} not in index", path=self.path, field="NAME") from None

    def get(self, name: str) -> FaiEntry | None:
        i = self._by_name.get(name)
        return None if i is None else self.entries[i]

    def contigs(self) -> dict[str, int]:
        return {e.name: e.length for e in self.entries}

    # -- io ------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        """The index as ``samtools faidx`` writes it."""
        return fai_bytes(self)

    def write(self, path) -> None:
        write_fai(self, path)

    @classmethod
    def read(cls, target, *, kind: str | None = None, path: str | None = None) -> "FaiIndex":
        return read_fai(target, kind=kind, path=path)


def fai_bytes(index: FaiIndex) -> bytes:
    """Serialise ``index`` exactly as samtools does (tab separated, ``\\n`` ended)."""
    out = []
    fastq = index.kind == "fastq"
    for e in index.entries:
        fields = [_name_bytes(e.name), b"%d" % e.length, b"%d" % e.offset, b"%d" % e.line_bases, b"%d" % e.line_width]
        if fastq:
            fields.append(b"%d" % (e.qual_offset or 0))
        out.append(b"\t".join(fields) + b"\n")
    return b"".join(out)


def write_fai(index: FaiIndex, path) -> None:
    """Write ``index`` to ``path`` (see :func:`fai_bytes`)."""
    with open(path, "wb") as fh:
        fh.write(fai_bytes(index))


_COLUMNS = ("NAME", "LENGTH", "OFFSET", "LINEBASES", "LINEWIDTH", "QUALOFFSET")


def read_fai(target, *, kind: str | None = None, path: str | None = None) -> FaiIndex:
    """Read and validate a ``.fai``.

    Parameters
    ----------
    target : path, bytes or binary file object
    kind : {"fasta", "fastq"}, optional
        Require 5 (FASTA) or 6 (FASTQ) columns.  By default the first line
        decides and every line must agree.
    path : str, optional
        Name used in messages when ``target`` is not a path.

    Returns
    -------
    FaiIndex

    Raises
    ------
    FormatError
        A line with the wrong number of columns, a non-decimal or too large
        number, ``LINEBASES > LINEWIDTH``, ``LINEBASES = 0`` for a non-empty
        sequence, or a FASTA index where a FASTQ one is required.  The message
        names the line (1-based) and the column.
    """
    if isinstance(target, (bytes, bytearray, memoryview)):
        data = bytes(target)
        path = path or "<bytes>"
    elif isinstance(target, (str, os.PathLike)):
        path = os.fspath(target)
        with open(path, "rb") as fh:
            data = fh.read()
    else:
        path = path or getattr(target, "name", None) or "<stream>"
        data = target.read()
    index = FaiIndex(kind=kind or "fasta", path=path)
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    offset = 0
    ncols_seen = None
    for lineno, raw in enumerate(lines, 1):
        line = raw[:-1] if raw.endswith(b"\r") else raw
        cols = line.split(b"\t")
        where = f"fai line {lineno}"
        if len(cols) not in (5, 6):
            raise FormatError(
                f"{where}: expected 5 (FASTA) or 6 (FASTQ) tab-separated columns, found {len(cols)}",
                path=path, offset=offset, field="columns",
            )
        if kind == "fastq" and len(cols) != 6:
            raise FormatError(
                f"{where}: FASTQ index needs 6 columns, found {len(cols)} (possibly a FASTA index)",
                path=path, offset=offset, field="QUALOFFSET",
            )
        if ncols_seen is None:
            ncols_seen = len(cols)
        elif len(cols) != ncols_seen:
            raise FormatError(
                f"{where}: {len(cols)} columns but line 1 has {ncols_seen}", path=path, offset=offset, field="columns"
            )
        nums = []
        for ci in range(1, len(cols)):
            text = cols[ci]
            if not text or not text.isdigit() or len(text) > 19:
                shown = text.decode("ascii", "backslashreplace")
                raise FormatError(
                    f"{where}, column {ci + 1} ({_COLUMNS[ci]}): {shown!r} is not a non-negative decimal integer",
                    path=path, offset=offset, field=_COLUMNS[ci],
                )
            value = int(text)
            if value >= _VALUE_LIMIT:
                raise FormatError(
                    f"{where}, column {ci + 1} ({_COLUMNS[ci]}): {value} is too large",
                    path=path, offset=offset, field=_COLUMNS[ci],
                )
            nums.append(value)
        length, seq_off, lb, lw = nums[:4]
        qual = nums[4] if len(nums) == 5 else None
        if lb > lw:
            raise FormatError(
                f"{where}, column 4 (LINEBASES): {lb} bases per line exceeds LINEWIDTH {lw}",
                path=path, offset=offset, field="LINEBASES",
            )
        if length > 0 and lb == 0:
            raise FormatError(
                f"{where}, column 4 (LINEBASES): 0 bases per line for a sequence of length {length}",
                path=path, offset=offset, field="LINEBASES",
            )
        if qual is not None and length > 0 and qual < seq_off + length:
            raise FormatError(
                f"{where}, column 6 (QUALOFFSET): {qual} overlaps the sequence bases starting at {seq_off}",
                path=path, offset=offset, field="QUALOFFSET",
            )
        index.add(FaiEntry(_name_str(cols[0]), length, seq_off, lb, lw, qual))
        offset += len(raw) + 1
    if ncols_seen == 6:  # a FASTQ index (htslib also reads it as FASTA: column 6 is kept)
        index.kind = "fastq"
    return index


# ---------------------------------------------------------------------------
# building
# ---------------------------------------------------------------------------
def _quote_char(c: int) -> str:
    return f'"{chr(c)}"' if 0x20 <= c < 0x7F else "character"


class _Builder:
    """Line-driven indexer reproducing the layout rules samtools faidx applies.

    States: ``out`` (between records), ``seq`` (sequence lines), ``seq_end``
    (FASTQ: short line seen, ``+`` must follow), ``qual`` (FASTQ qualities).
    Every transition happens at the start of a line, so the input is consumed
    line by line; runs of equal-length FASTA lines are skipped in one step.
    """

    def __init__(self, path):
        self.path = path
        self.kind = None
        self.index = FaiIndex(path=path)
        self.state = "out"
        self.read_done = False
        self.name = ""
        self.seq_len = self.qual_len = 0
        self.line_len = self.char_len = 0
        self.seq_offset = self.qual_offset = 0

    def fail(self, message, offset=None, field=None):
        raise FormatError(message, path=self.path, offset=offset, field=field)

    def insert(self):
        self.index.add(
            FaiEntry(self.name, self.seq_len, self.seq_offset, self.char_len, self.line_len,
                     self.qual_offset if self.kind == "fastq" else None)
        )

    def start_record(self, body: bytes, has_nl: bool, next_offset: int, offset: int):
        """``body`` is the header line after its ``>``/``@``."""
        if self.read_done:
            self.insert()
            self.read_done = False
        words = body.split()
        self.name = _name_str(words[0]) if words else ""
        if not has_nl:
            self.fail(f"The last entry '{self.name}' has no sequence", offset, "sequence")
        self.state = "seq"
        self.seq_len = self.qual_len = self.char_len = self.line_len = 0
        self.seq_offset = next_offset

    def line(self, body: bytes, has_nl: bool, cl: int, lineno: int, offset: int, next_offset: int):
        """Feed one line: ``body`` without its ``\\n``; ``cl`` = printable characters in it."""
        state = self.state
        first = body[0] if body else -1
        if state == "out":
            if not body:
                return
            if first == 0x3E:  # '>'
                if self.kind == "fastq":
                    self.fail(f"Found '>' in a FASTQ file, error at line {lineno}", offset, "format")
                self.kind = "fasta"
                self.start_record(body[1:], has_nl, next_offset, offset)
            elif first == 0x40:  # '@'
                if self.kind == "fasta":
                    self.fail(f"Found '@' in a FASTA file, error at line {lineno}", offset, "format")
                self.kind = "fastq"
                self.start_record(body[1:], has_nl, next_offset, offset)
            elif first == 0x0D:
                if body != b"\r" or not has_nl:
                    self.fail(f"Format error, carriage return not followed by new line at line {lineno}", offset, "line")
            else:
                self.fail(f"Format error, unexpected {_quote_char(first)} at line {lineno}", offset, "line")
            return
        ll = len(body) + 1
        if state == "seq":
            if self.kind == "fasta":
                if not body:
                    self.state = "out"
                    return
                if first == 0x3E:
                    self.start_record(body[1:], has_nl, next_offset, offset)
                    return
                self.read_done = True
            else:
                if first == 0x2B:  # '+'
                    self.state = "qual"
                    self.qual_offset = next_offset
                    return
                if not body:
                    self.fail(
                        f"Inlined empty line is not allowed in sequence '{self.name}' at line {lineno}", offset, "sequence"
                    )
            self.seq_len += cl
            if self.line_len == 0:
                self.line_len, self.char_len = ll, cl
            elif self.line_len > ll:
                self.state = "out" if self.kind == "fasta" else "seq_end"
            elif self.line_len < ll:
                self.fail(f"Different line length in sequence '{self.name}'", offset, "line_length")
            return
        if state == "seq_end":
            if first == 0x2B:
                self.state = "qual"
                self.qual_offset = next_offset
                return
            got = chr(first) if body else "\n"
            self.fail(f"Format error, expecting '+', got '{got}' at line {lineno}", offset, "line")
        # qual
        if not body:
            if not self.read_done:
                self.fail(f"Inlined empty line is not allowed in quality of sequence '{self.name}'", offset, "quality")
            self.state = "out"
            return
        if first == 0x40 and self.read_done:
            self.start_record(body[1:], has_nl, next_offset, offset)
            return
        self.qual_len += cl
        if self.line_len < ll:
            self.fail(f"Quality line length too long in '{self.name}' at line {lineno}", offset, "quality")
        elif self.qual_len == self.seq_len:
            self.read_done = True
        elif self.qual_len > self.seq_len:
            self.fail(f"Quality length longer than sequence in '{self.name}' at line {lineno}", offset, "quality")
        elif self.line_len > ll:
            self.fail(f"Quality line length too short in '{self.name}' at line {lineno}", offset, "quality")

    def finish(self, size: int):
        if not self.read_done:
            if self.kind is None:
                self.fail("no sequence found (empty file)", size, "sequence")
            self.fail(f"The last entry '{self.name}' has no sequence", size, "sequence")
        self.insert()
        self.index.kind = self.kind or "fasta"
        return self.index


def _iter_chunks(path, chunk_bytes: int):
    """Yield ``(base_offset, bytes)`` of the uncompressed stream of ``path``."""
    from ..bgzf import BgzfReader, is_bgzf
    from ..source import ByteSource

    src = ByteSource(path)
    try:
        head = src.read_at(0, 2)
        if head == b"\x1f\x8b":
            if not is_bgzf(src):
                raise FormatError(
                    "Cannot index files compressed with gzip, please use bgzip", path=src.path, offset=0, field="magic"
                )
            reader = BgzfReader(src)
            base = 0
            for rng in reader.iter_ranges(chunk_bytes // 4):
                yield base, rng.data
                base += len(rng.data)
            return
        pos = 0
        while pos < src.size:
            data = src.read_at(pos, chunk_bytes)
            if not data:
                break
            yield pos, data
            pos += len(data)
    finally:
        src.close()


def build_fai(path, *, chunk_bytes: int = 8 << 20) -> FaiIndex:
    """Index a FASTA or FASTQ file (plain or BGZF) as ``samtools faidx`` does.

    Parameters
    ----------
    path : str or os.PathLike
    chunk_bytes : int
        Uncompressed bytes scanned per step (memory bound).

    Returns
    -------
    FaiIndex
        ``kind`` is ``"fasta"`` or ``"fastq"``; offsets are uncompressed byte
        offsets (for BGZF a ``.gzi`` maps them to blocks, see
        :func:`hts_notebook.core.bgzf.build_gzi`).

    Raises
    ------
    FormatError
        Lines of a sequence differ in length (``Different line length in
        sequence 'chr1'``), unexpected text between records, FASTQ quality
        and sequence lengths differ, a plain-gzip (not BGZF) file, or a file
        without any sequence.  Messages use samtools' wording.
    TruncatedFileError, ChecksumError
        From the BGZF layer.
    """
    path = os.fspath(path)
    b = _Builder(path)
    carry = b""
    carry_base = 0
    lineno = 0
    size = 0
    for base, data in _iter_chunks(path, chunk_bytes):
        if carry:
            buf = carry + data
            buf_base = carry_base
        else:
            buf, buf_base = data, base
        size = base + len(data)
        cut = buf.rfind(b"\n")
        if cut < 0:
            carry, carry_base = buf, buf_base
            continue
        lineno = _scan_lines(b, buf[: cut + 1], buf_base, lineno)
        carry, carry_base = buf[cut + 1:], buf_base + cut + 1
    if carry:
        lineno += 1
        body = carry
        cl = int(_GRAPH[np.frombuffer(body, dtype=np.uint8)].sum())
        b.line(body, False, cl, lineno, carry_base, carry_base + len(body))
    return b.finish(size)


def _scan_lines(b: _Builder, buf: bytes, base: int, lineno: int) -> int:
    """Feed every complete line of ``buf`` (which ends with ``\\n``) to ``b``."""
    arr = np.frombuffer(buf, dtype=np.uint8)
    ends = np.flatnonzero(arr == 10)
    n = len(ends)
    starts = np.empty(n, dtype=np.int64)
    starts[0] = 0
    starts[1:] = ends[:-1] + 1
    lens = ends - starts
    # printable characters per line = length - non-printable (excluding the \n)
    odd = np.flatnonzero(~_GRAPH[arr] & (arr != 10))
    if len(odd):
        owner = np.searchsorted(starts, odd, side="right") - 1
        cls = lens - np.bincount(owner, minlength=n)
    else:
        cls = lens
    first = np.where(lens > 0, arr[np.minimum(starts, len(arr) - 1)], 10)
    # run boundaries: a line whose length differs from the previous one, or a
    # line starting with '>' / blank, starts a new run
    special = (first == 0x3E) | (lens == 0)
    brk = np.ones(n, dtype=bool)
    brk[1:] = (lens[1:] != lens[:-1]) | special[1:] | special[:-1]
    bounds = np.flatnonzero(brk)
    cum = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(cls, out=cum[1:])
    lens_l = lens.tolist()
    starts_l = starts.tolist()
    i = 0
    while i < n:
        if (
            b.state == "seq" and b.kind == "fasta" and b.line_len and not special[i]
            and lens_l[i] + 1 == b.line_len
        ):
            k = int(bounds[np.searchsorted(bounds, i, side="right")]) if bounds[-1] > i else n
            # lines i..k-1 are full lines of the current sequence
            b.read_done = True
            b.seq_len += int(cum[k] - cum[i])
            lineno += k - i
            i = k
            continue
        s = starts_l[i]
        body = buf[s: s + lens_l[i]]
        lineno += 1
        b.line(body, True, int(cls[i]), lineno, base + s, base + s + lens_l[i] + 1)
        i += 1
    return lineno


# ---------------------------------------------------------------------------
# region strings, samtools faidx flavour
# ---------------------------------------------------------------------------
def _parse_decimal(text: str, pos: int) -> tuple[int, int, bool]:
    """htslib-style decimal at ``text[pos:]``: sign, digits with commas, ``.5``,
    ``e3`` and ``k``/``M``/``G`` suffixes.  Returns ``(value, end_pos, had_digits)``."""
    i = pos
    n = len(text)
    while i < n and text[i] in " \t\n\v\f\r":
        i += 1
    sign = 1
    if i < n and text[i] in "+-":
        sign = -1 if text[i] == "-" else 1
        i += 1
    value = 0
    digits = 0
    decimals = 0
    while i < n and (text[i].isdigit() and text[i].isascii() or text[i] == ","):
        if text[i] != ",":
            value = value * 10 + ord(text[i]) - 48
            digits += 1
        i += 1
    if i < n and text[i] == ".":
        i += 1
        while i < n and text[i].isascii() and text[i].isdigit():
            value = value * 10 + ord(text[i]) - 48
            digits += 1
            decimals += 1
            i += 1
    exp = 0
    if i < n and text[i] in "eE":
        i += 1
        esign = 1
        if i < n and text[i] in "+-":
            esign = -1 if text[i] == "-" else 1
            i += 1
        e = 0
        while i < n and text[i].isascii() and text[i].isdigit():
            e = e * 10 + ord(text[i]) - 48
            i += 1
        exp = esign * e
    elif i < n and text[i] in "kK":
        exp, i = 3, i + 1
    elif i < n and text[i] in "mM":
        exp, i = 6, i + 1
    elif i < n and text[i] in "gG":
        exp, i = 9, i + 1
    exp -= decimals
    if exp > 0:
        value *= 10 ** min(exp, 40)
    elif exp < 0:
        value //= 10 ** min(-exp, 400)
    value = min(value, POS_MAX)
    if digits == 0:
        return 0, pos, False
    return sign * value, i, True


def parse_fai_region(text: str, lookup: Callable[[str], bool]) -> tuple[str, int, int]:
    """Parse a region the way ``samtools faidx`` does (htslib ``hts_parse_region``).

    Parameters
    ----------
    text : str
        ``name``, ``name:beg``, ``name:beg-end``, ``name:-end`` (1-based,
        closed; commas and ``k``/``M``/``G`` allowed), or ``{name}:beg-end``
        where braces quote a name containing ``:``.  A whole string that is a
        known name wins over splitting at the last colon.
    lookup : callable
        ``lookup(name) -> bool``: whether a sequence name exists.

    Returns
    -------
    (name, beg, end) : (str, int, int)
        0-based half-open; ``end`` is :data:`POS_MAX` for "to the end".
        ``beg`` may be ``-1`` for the literal ``name:0-N`` (samtools then
        returns an empty sequence).

    Raises
    ------
    RegionError
        Unknown name, malformed coordinates, an ambiguous name, or
        ``beg >= end``.  ``exc.field`` is ``"contig"`` for an unknown or
        ambiguous name, ``"region"`` otherwise.
    """
    s = text
    colon = -1
    if s.startswith("{"):
        close = s.find("}")
        if close < 0:
            raise RegionError(f'Mismatching braces in "{text}"', field="region")
        name_part = s[1:close]
        rest = s[close + 1:]
        if rest.startswith(":"):
            colon = close + 1
        if colon < 0:
            if not lookup(name_part):
                raise RegionError(f"unknown sequence {name_part!r}", field="contig")
            return name_part, 0, POS_MAX
        name = name_part
    else:
        colon = s.rfind(":")
        if colon < 0:
            if not lookup(s):
                raise RegionError(f"unknown sequence {s!r}", field="contig")
            return s, 0, POS_MAX
        if lookup(s):
            if lookup(s[:colon]):
                raise RegionError(
                    f"Range is ambiguous. Use {{{s}}} or {{{s[:colon]}}}{s[colon:]} instead", field="contig"
                )
            return s, 0, POS_MAX
        name = s[:colon]
    if not lookup(name):
        raise RegionError(f"unknown sequence {name!r}", field="contig")
    coords = s[colon + 1:]
    value, p, _ = _parse_decimal(coords, 0)
    beg = value - 1
    if beg < 0:
        if beg != -1 and p < len(coords) and coords[p] == "-" and coords:
            raise RegionError("Coordinates must be > 0", field="region")
        if p == len(coords) or coords[p].isdigit() or coords[p] == ",":
            end = POS_MAX if beg == -1 else -(beg + 1)
            return name, 0, end
        if beg < -1:
            raise RegionError(f'Unexpected string "{coords[p:]}" after region', field="region")
    if p == len(coords):
        end = POS_MAX
    elif coords[p] == "-":
        end, q, _ = _parse_decimal(coords, p + 1)
        if q == p + 1:
            q = p + 1  # no digits: htslib leaves the pointer at the hyphen's successor
        if q < len(coords) and coords[q] != ",":
            raise RegionError(f'Unexpected string "{coords[q:]}" after region', field="region")
    else:
        raise RegionError(f'Unexpected string "{coords[p:]}" after region', field="region")
    if end == 0:
        end = POS_MAX
    if beg >= end:
        raise RegionError(f"region {text!r}: start {beg + 1} is after end {end}", field="region")
    return name, beg, end
