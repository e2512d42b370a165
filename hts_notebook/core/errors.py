"""The ``HtsError`` family (DESIGN.md §4).

Every malformed-input condition raises a subclass of :class:`HtsError`.  Each
subclass also inherits the matching builtin so ``except ValueError`` (etc.)
keeps working.  Errors carry ``path``, ``offset`` (a BGZF virtual offset where
one exists, else a byte offset) and ``field``.
"""
from __future__ import annotations

__all__ = [
    "HtsError",
    "FormatError",
    "TruncatedFileError",
    "ChecksumError",
    "MissingIndexError",
    "RegionError",
    "LimitExceededError",
    "format_offset",
]


def format_offset(offset: int | None, virtual: bool = False) -> str:
    """Render an offset for a message: ``0x1a2b:0x40`` for virtual offsets."""
    if offset is None:
        return "?"
    if virtual:
        return f"{offset >> 16:#x}:{offset & 0xFFFF:#x}"
    return f"{offset:#x}"


class HtsError(Exception):
    """Root of all hts_notebook errors.

    Parameters
    ----------
    message : str
        Short text naming the field and what is wrong with it.
    path : str, optional
        File the error was found in.
    offset : int, optional
        Byte offset (or BGZF virtual offset when ``virtual=True``).
    field : str, optional
        The spec field name (``block_size``, ``l_seq``, ``BSIZE`` ...).
    """

    def __init__(self, message: str = "", *, path=None, offset=None, field=None, virtual=False):
        self.path = None if path is None else str(path)
        self.offset = offset
        self.field = field
        self.virtual = virtual
        self.message = message
        super().__init__(self._render())

    def _render(self) -> str:
        parts = []
        if self.path:
            parts.append(self.path)
        if self.offset is not None:
            parts.append(("at " if parts else "at ") + format_offset(self.offset, self.virtual))
        prefix = " ".join(parts)
        return f"{prefix}: {self.message}" if prefix else self.message

    def __reduce__(self):  # picklable for dask workers
        return (_rebuild, (type(self), self.message, self.path, self.offset, self.field, self.virtual))


def _rebuild(cls, message, path, offset, field, virtual):
    return cls(message, path=path, offset=offset, field=field, virtual=virtual)


class FormatError(HtsError, ValueError):
    """The bytes or text do not follow the format specification."""


class TruncatedFileError(FormatError, EOFError):
    """The file ends early (missing BGZF EOF marker, short block, short record)."""


class ChecksumError(FormatError):
    """A stored checksum (BGZF CRC32, MD5) does not match the data."""


class MissingIndexError(HtsError, FileNotFoundError):
    """A region query needs an index that is absent."""


class RegionError(HtsError, KeyError):
    """A region string is malformed or names an unknown contig."""

    def __str__(self):  # KeyError would quote the message
        return self.args[0] if self.args else ""


class LimitExceededError(HtsError, MemoryError):
    """A size field asks for more memory than the bytes present can justify."""
