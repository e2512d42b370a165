"""Byte sources: bounded positional reads and magic-byte sniffing.

A :class:`ByteSource` wraps a path or a binary file object.  Reads are
positional and bounded: asking for bytes past the end returns what is there
(callers check lengths and raise :class:`TruncatedFileError`), and nothing is
memory-mapped, because a file may be truncated or still being written.
"""
from __future__ import annotations

import io
import os
import re
import threading
from typing import BinaryIO

from .errors import FormatError, TruncatedFileError

__all__ = ["ByteSource", "open_source", "sniff_format", "sniff_bytes"]


class ByteSource:
    """Positional reader over a local file or a seekable binary file object.

    Parameters
    ----------
    target : str, os.PathLike or binary file object
    path : str, optional
        Name to use in error messages for file objects.
    """

    def __init__(self, target, *, path: str | None = None):
        self._owns = False
        if isinstance(target, (str, os.PathLike)):
            self.path = os.fspath(target)
            self._fh: BinaryIO = open(self.path, "rb")
            self._owns = True
        elif isinstance(target, (bytes, bytearray, memoryview)):
            self.path = path or "<bytes>"
            self._fh = io.BytesIO(bytes(target))
            self._owns = True
        else:
            self.path = path or getattr(target, "name", None) or "<stream>"
            self._fh = target
        self._lock = threading.Lock()
        self._fh.seek(0, os.SEEK_END)
        self.size = self._fh.tell()
        self._fh.seek(0)

    def read_at(self, offset: int, n: int) -> bytes:
        """Return up to ``n`` bytes from ``offset`` (fewer at end of file)."""
        if n <= 0 or offset >= self.size:
            return b""
        n = min(n, self.size - offset)
        with self._lock:
            self._fh.seek(offset)
            return self._fh.read(n)

    def read_into(self, offset: int, buf: bytearray) -> int:
        """Fill ``buf`` from ``offset`` (less at end of file); return the byte count read."""
        if offset >= self.size or not len(buf):
            return 0
        with self._lock:
            self._fh.seek(offset)
            got = 0
            view = memoryview(buf)
            while got < len(buf):
                k = self._fh.readinto(view[got:])
                if not k:
                    break
                got += k
            return got

    def read_exact(self, offset: int, n: int, field: str = "data") -> bytes:
        """Return exactly ``n`` bytes or raise :class:`TruncatedFileError`."""
        data = self.read_at(offset, n)
        if len(data) != n:
            raise TruncatedFileError(
                f"{field}: needs {n} bytes, file has {len(data)}", path=self.path, offset=offset, field=field
            )
        return data

    def read_all(self) -> bytes:
        return self.read_at(0, self.size)

    def close(self) -> None:
        if self._owns:
            self._fh.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def open_source(target, path: str | None = None) -> ByteSource:
    return target if isinstance(target, ByteSource) else ByteSource(target, path=path)


def sniff_bytes(head: bytes, inflated: bytes = b"") -> str | None:
    """Name the format from the first bytes of a file.

    Parameters
    ----------
    head : bytes
        The file's first bytes (at least 28 for gzip headers).
    inflated : bytes
        For gzip files, the first decompressed bytes.

    Returns
    -------
    str or None
        ``bam``, ``bcf``, ``cram``, ``sam``, ``vcf``, ``fasta``, ``fastq``,
        ``bigwig``, ``bigbed``, ``bai``, ``csi``, ``tbi``, ``text`` (each
        compressed variant prefixed ``bgzf:`` or ``gzip:``), or ``None``.
    """
    if len(head) >= 4:
        magic = int.from_bytes(head[:4], "little")
        if magic == 0x888FFC26 or int.from_bytes(head[:4], "big") == 0x888FFC26:
            return "bigwig"
        if magic == 0x8789F2EB or int.from_bytes(head[:4], "big") == 0x8789F2EB:
            return "bigbed"
    if head[:4] == b"CRAM":
        return "cram"
    if head[:4] == b"BAI\x01":
        return "bai"
    if head[:2] == b"\x1f\x8b":
        bgzf = len(head) >= 16 and head[3] & 4 and head[12:14] == b"BC"
        inner = _sniff_plain(inflated) if inflated else None
        if inflated[:4] == b"BAM\x01":
            inner = "bam"
        elif inflated[:3] == b"BCF":
            inner = "bcf"
        elif inflated[:4] == b"CSI\x01":
            inner = "csi"
        elif inflated[:4] == b"TBI\x01":
            inner = "tbi"
        return ("bgzf:" if bgzf else "gzip:") + (inner or "data")
    return _sniff_plain(head)


def _sniff_plain(head: bytes) -> str | None:
    if head[:4] == b"BAM\x01":
        return "bam"
    if head[:3] == b"BCF":
        return "bcf"
    if head.startswith(b"##fileformat=VCF"):
        return "vcf"
    if head.startswith(b">"):
        return "fasta"
    if head.startswith(b"@") and not head[:4] in (b"@HD\t", b"@SQ\t", b"@RG\t", b"@PG\t", b"@CO\t"):
        return "fastq"
    if head[:4] in (b"@HD\t", b"@SQ\t", b"@RG\t", b"@PG\t", b"@CO\t"):
        return "sam"
    line = head.split(b"\n", 1)[0]
    if _looks_like_sam_record(line):
        return "sam"
    if head and not head.lstrip().startswith(b"\x00"):
        return "text"
    return None


_CIGAR_RE = re.compile(rb"^(\*|([0-9]+[MIDNSHP=X])+)$")


def _looks_like_sam_record(line: bytes) -> bool:
    """A headerless SAM line: 11+ columns, numeric FLAG/POS/MAPQ and a CIGAR (not BED12, whose 6th column is a strand)."""
    f = line.rstrip(b"\r").split(b"\t")
    return (len(f) >= 11 and f[1].isdigit() and f[3].isdigit() and f[4].isdigit()
            and _CIGAR_RE.match(f[5]) is not None)


def sniff_format(target) -> str | None:
    """Sniff a file's format from its magic bytes; never raises on bad data."""
    try:
        src = open_source(target)
    except OSError:
        raise
    try:
        head = src.read_at(0, 64 * 1024)
        inflated = b""
        if head[:2] == b"\x1f\x8b":
            import zlib

            try:
                inflated = zlib.decompressobj(31).decompress(head, 4096)
            except zlib.error:
                inflated = b""
        return sniff_bytes(head, inflated)
    except (FormatError, OSError):
        return None
    finally:
        if src is not target:
            src.close()
