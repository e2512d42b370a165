"""FASTQ reading: plain, gzip and BGZF; records, column batches and ``.fai`` random access.

Record rules follow htslib's FASTQ reader (what pysam's ``FastxFile`` uses):
a header line ``@name comment`` (the name ends at the first whitespace, the
comment is the rest of the line); sequence lines up to a line starting with
``+`` (blank lines skipped, so records may span several lines); then quality
lines until the quality is as long as the sequence.  Trailing ``\\r`` is
removed from every line.  Unlike htslib, text between records that is not a
header raises :class:`FormatError`, and a file that ends inside a record
raises :class:`TruncatedFileError`.

Random access (``fetch``) uses a 6-column FASTQ ``.fai`` as ``samtools fqidx``
does (built on demand for plain and BGZF files).
"""
from __future__ import annotations

import os
import zlib
from dataclasses import dataclass
from typing import Iterator, NamedTuple

import numpy as np

from ...bgzf import BgzfReader, is_bgzf
from ...errors import FormatError, RegionError, TruncatedFileError
from ...index.fai import POS_MAX, FaiIndex, parse_fai_region
from ...source import ByteSource

__all__ = ["FastqFile", "FastqRecord", "FastqBatch"]

_CHUNK = 4 << 20


class FastqRecord(NamedTuple):
    """One FASTQ record.

    ``quality`` is the ASCII (Phred+33) string as stored; ``comment`` is
    ``None`` when the header has no second part.
    """

    name: str
    comment: str | None
    sequence: str
    quality: str


@dataclass
class FastqBatch:
    """Records as columns (flat arrays + offsets; reads are not padded).

    Attributes
    ----------
    names : ndarray of object, shape (n,)
    comments : ndarray of object, shape (n,)
        ``None`` where absent.
    sequence : ndarray of uint8, shape (total_bases,)
        ASCII codes of all sequences, concatenated.
    quality : ndarray of uint8, shape (total_bases,)
        Phred scores (ASCII code - 33), aligned with ``sequence``.
    offsets : ndarray of int64, shape (n + 1,)
        Record ``i`` is ``sequence[offsets[i]:offsets[i + 1]]``.
    """

    names: np.ndarray
    comments: np.ndarray
    sequence: np.ndarray
    quality: np.ndarray
    offsets: np.ndarray

    def __len__(self) -> int:
        return len(self.names)

    def record(self, i: int) -> FastqRecord:
        a, b = int(self.offsets[i]), int(self.offsets[i + 1])
        return FastqRecord(
            self.names[i], self.comments[i], self.sequence[a:b].tobytes().decode("latin-1"),
            (self.quality[a:b] + 33).astype(np.uint8).tobytes().decode("latin-1"),
        )


def _gzip_chunks(src: ByteSource) -> Iterator[bytes]:
    """Inflate a (multi-member) gzip file; truncation raises TruncatedFileError."""
    pos = 0
    d = zlib.decompressobj(31)
    in_member = False
    while pos < src.size:
        raw = src.read_at(pos, _CHUNK)
        pos += len(raw)
        while raw:
            in_member = True
            try:
                out = d.decompress(raw)
            except zlib.error as exc:
                raise FormatError(f"corrupt gzip data: {exc}", path=src.path, offset=pos, field="deflate") from None
            if out:
                yield out
            if d.eof:
                in_member = False
                raw = d.unused_data
                d = zlib.decompressobj(31)
                if raw and not raw.strip(b"\x00"):
                    raw = b""  # zero padding after the last member
            else:
                raw = b""
    if in_member:
        raise TruncatedFileError("gzip stream ends inside a member", path=src.path, offset=src.size, field="EOF")


def _stream(path) -> Iterator[bytes]:
    src = ByteSource(path)
    try:
        head = src.read_at(0, 2)
        if head == b"\x1f\x8b":
            if is_bgzf(src):
                reader = BgzfReader(src)
                for rng in reader.iter_ranges(_CHUNK):
                    yield rng.data
                return
            yield from _gzip_chunks(src)
            return
        pos = 0
        while pos < src.size:
            data = src.read_at(pos, _CHUNK)
            if not data:
                break
            pos += len(data)
            yield data
    finally:
        src.close()


def _lines(chunks: Iterator[bytes]) -> Iterator[bytes]:
    carry = b""
    for chunk in chunks:
        buf = carry + chunk if carry else chunk
        parts = buf.split(b"\n")
        carry = parts.pop()
        for line in parts:
            yield line[:-1] if line.endswith(b"\r") else line
    if carry:
        yield carry[:-1] if carry.endswith(b"\r") else carry


def _split_header(body: bytes) -> tuple[str, str | None]:
    for i, c in enumerate(body):
        if c in b" \t\n\v\f\r":
            comment = body[i + 1:]
            return body[:i].decode("utf-8", "surrogateescape"), (
                comment.decode("utf-8", "surrogateescape") if comment else None
            )
    return body.decode("utf-8", "surrogateescape"), None


def _records(path) -> Iterator[tuple[str, str | None, bytes, bytes]]:
    lines = _lines(_stream(path))
    lineno = 0
    pending = None
    while True:
        if pending is None:
            for line in lines:
                lineno += 1
                if line:
                    pending = line
                    break
            else:
                return
        header = pending
        pending = None
        if header[:1] != b"@":
            raise FormatError(
                f"FASTQ line {lineno}: expected a '@' header, found {header[:20]!r}", path=path, field="header"
            )
        name, comment = _split_header(header[1:])
        seq_parts = []
        plus = False
        for line in lines:
            lineno += 1
            if not line:
                continue
            c = line[:1]
            if c == b"+":
                plus = True
                break
            if c in (b"@", b">"):
                raise FormatError(
                    f"FASTQ record {name!r}: no '+' line before line {lineno}", path=path, field="separator"
                )
            seq_parts.append(line)
        if not plus:
            raise TruncatedFileError(f"FASTQ record {name!r}: file ends before its '+' line", path=path, field="quality")
        seq = b"".join(seq_parts)
        qual_parts = []
        qlen = 0
        got_line = False
        for line in lines:
            lineno += 1
            got_line = True
            qual_parts.append(line)
            qlen += len(line)
            if qlen >= len(seq):
                break
        if qlen < len(seq) or not got_line:
            raise TruncatedFileError(
                f"FASTQ record {name!r}: file ends after {qlen} of {len(seq)} quality characters",
                path=path, field="quality",
            )
        qual = b"".join(qual_parts)
        if len(qual) != len(seq):
            raise FormatError(
                f"FASTQ record {name!r}: quality length {len(qual)} differs from sequence length {len(seq)} "
                f"(line {lineno})", path=path, field="quality",
            )
        if qual and (min(qual) < 33 or max(qual) > 126):
            raise FormatError(
                f"FASTQ record {name!r}: quality characters outside '!'..'~' (line {lineno})", path=path, field="quality"
            )
        yield name, comment, seq, qual


class FastqFile:
    """A FASTQ file (plain, gzip or BGZF).

    Parameters
    ----------
    path : str or os.PathLike
    index : str or os.PathLike, optional
        FASTQ ``.fai`` for :meth:`fetch` (default ``path + ".fai"``, built on
        first use when missing).
    gzi : str or os.PathLike, optional
        ``.gzi`` for BGZF files (default ``path + ".gzi"``).

    Notes
    -----
    Iterating yields :class:`FastqRecord` ``(name, comment, sequence, quality)``
    in file order; :meth:`read_batch` / :meth:`batches` give columns.
    """

    def __init__(self, path, *, index=None, gzi=None):
        self.path = os.fspath(path)
        if not os.path.exists(self.path):
            raise FileNotFoundError(2, "No such file or directory", self.path)
        self._index_arg = index
        self._gzi_arg = gzi
        self._fasta = None

    # -- streaming -----------------------------------------------------------
    def __iter__(self) -> Iterator[FastqRecord]:
        for name, comment, seq, qual in _records(self.path):
            yield FastqRecord(name, comment, seq.decode("latin-1"), qual.decode("latin-1"))

    def batches(self, batch_size: int = 100_000) -> Iterator[FastqBatch]:
        """Yield :class:`FastqBatch` of up to ``batch_size`` records."""
        buf = []
        for rec in _records(self.path):
            buf.append(rec)
            if len(buf) >= batch_size:
                yield _batch(buf)
                buf = []
        if buf:
            yield _batch(buf)

    def read_batch(self) -> FastqBatch:
        """All records as one :class:`FastqBatch`."""
        return _batch(list(_records(self.path)))

    # -- random access -------------------------------------------------------
    def _indexed(self):
        if self._fasta is None:
            from .fasta import IndexedText, _load_index

            fai, gzi = _load_index(self.path, self._index_arg, self._gzi_arg, True, "fastq")
            if fai.kind != "fastq":
                raise FormatError("index has no QUALOFFSET column: not a FASTQ index", path=self.path, field="QUALOFFSET")
            self._fasta = (fai, IndexedText(self.path, gzi))
        return self._fasta

    @property
    def index(self) -> FaiIndex:
        return self._indexed()[0]

    @property
    def references(self) -> tuple:
        return tuple(self.index.names)

    def fetch(self, region) -> FastqRecord:
        """Record or sub-record by name or region (``samtools fqidx`` semantics).

        Parameters
        ----------
        region : str or tuple
            ``"read1"``, ``"read1:16-25"`` (1-based closed) or
            ``(name, start, stop)`` (0-based half-open).

        Returns
        -------
        FastqRecord
            ``name`` is the region text as given (as fqidx prints it).

        Raises
        ------
        RegionError
            Unknown read name or malformed region.
        TruncatedFileError, FormatError
            The file does not hold what the index promises.
        """
        from .fasta import read_bases

        fai, text = self._indexed()
        if isinstance(region, tuple):
            name, beg, end = (tuple(region) + (None, None))[:3]
            label = str(name) if beg is None and end is None else f"{name}:{(beg or 0) + 1}-{end if end is not None else ''}"
            entry = fai.get(str(name))
            if entry is None:
                raise RegionError(f"unknown read {name!r}", path=self.path, field="contig")
            beg = 0 if beg is None else int(beg)
            end = POS_MAX if end is None else int(end)
        else:
            label = str(region)
            try:
                name, beg, end = parse_fai_region(label, fai.__contains__)
            except RegionError as exc:
                raise RegionError(exc.message, path=self.path, field=exc.field) from None
            entry = fai[name]
            beg = max(beg, 0)
        end = min(end, entry.length)
        beg = min(beg, end)
        seq = read_bases(text, entry, beg, end)
        qual = read_bases(text, entry, beg, end, quality=True)
        return FastqRecord(label, None, seq.tobytes().decode("ascii"), qual.tobytes().decode("ascii"))

    def close(self):
        if self._fasta is not None:
            self._fasta[1].close()
            self._fasta = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self) -> str:
        return f"FastqFile({self.path!r})"


def _batch(recs) -> FastqBatch:
    n = len(recs)
    names = np.empty(n, dtype=object)
    comments = np.empty(n, dtype=object)
    lens = np.zeros(n + 1, dtype=np.int64)
    for i, (name, comment, seq, _q) in enumerate(recs):
        names[i] = name
        comments[i] = comment
        lens[i + 1] = len(seq)
    offsets = np.cumsum(lens)
    seq = np.frombuffer(b"".join(r[2] for r in recs), dtype=np.uint8).copy()
    qual = np.frombuffer(b"".join(r[3] for r in recs), dtype=np.uint8) - np.uint8(33)
    return FastqBatch(names, comments, seq, qual.astype(np.uint8), offsets)
