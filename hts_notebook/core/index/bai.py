"""BAI: the BAM index (SAMv1 §5.2), read and write.

A BAI is an uncompressed little-endian file: magic ``BAI\\1``, ``n_ref``,
then per reference the bins with their chunks and a linear index of 16 kbp
windows, and an optional trailing ``n_no_coor``.
"""
from __future__ import annotations

import os
import struct

from ..errors import FormatError, TruncatedFileError
from ..source import ByteSource, open_source
from .binning import BAI_DEPTH, BAI_MIN_SHIFT
from .model import BinningIndex, parse_body, serialize_body

__all__ = ["BAI_MAGIC", "read_bai", "parse_bai", "write_bai", "bai_bytes"]

BAI_MAGIC = b"BAI\x01"


def parse_bai(data: bytes, *, path=None) -> BinningIndex:
    """Parse the bytes of a BAI file.

    Parameters
    ----------
    data : bytes
        The whole file.
    path : str, optional
        Name used in error messages.

    Returns
    -------
    BinningIndex
        ``fmt="bai"``, ``min_shift=14``, ``depth=5``.

    Raises
    ------
    FormatError
        Wrong magic, negative counts, duplicate or out-of-range bins, a
        malformed pseudo-bin.
    TruncatedFileError
        The file ends inside a record.
    LimitExceededError
        A count (``n_ref``, ``n_bin``, ``n_chunk``, ``n_intv``) exceeds what
        the remaining bytes could hold.

    Notes
    -----
    SAMv1 §5.2.
    """
    if len(data) < 8:
        if data[: len(data)] != BAI_MAGIC[: len(data)]:
            raise FormatError("not a BAI file (magic)", path=path, offset=0, field="magic")
        raise TruncatedFileError(f"BAI header needs 8 bytes, file has {len(data)}", path=path, offset=0, field="n_ref")
    if data[:4] != BAI_MAGIC:
        raise FormatError(f"not a BAI file (magic {data[:4]!r})", path=path, offset=0, field="magic")
    (n_ref,) = struct.unpack_from("<i", data, 4)
    refs, n_no_coor, end = parse_body(data, 8, n_ref, fmt="bai", min_shift=BAI_MIN_SHIFT, depth=BAI_DEPTH, path=path)
    if end != len(data):
        raise FormatError(f"{len(data) - end} unexpected bytes after the index", path=path, offset=end, field="n_no_coor")
    return BinningIndex(fmt="bai", refs=refs, min_shift=BAI_MIN_SHIFT, depth=BAI_DEPTH, n_no_coor=n_no_coor,
                        path=None if path is None else str(path))


def read_bai(path) -> BinningIndex:
    """Read a ``.bai`` file.

    Parameters
    ----------
    path : str, os.PathLike, file object or ByteSource

    Returns
    -------
    BinningIndex

    Raises
    ------
    FormatError, TruncatedFileError, LimitExceededError
        See :func:`parse_bai`.
    """
    src = open_source(path)
    try:
        return parse_bai(src.read_all(), path=src.path)
    finally:
        if not isinstance(path, ByteSource):
            src.close()


def bai_bytes(index: BinningIndex) -> bytes:
    """Serialise an index as BAI bytes (SAMv1 §5.2).

    Raises
    ------
    ValueError
        The index does not use ``min_shift=14, depth=5`` or lacks linear
        indexes (a CSI cannot be written as BAI).
    """
    if index.min_shift != BAI_MIN_SHIFT or index.depth != BAI_DEPTH:
        raise ValueError(f"BAI needs min_shift=14, depth=5 (index has {index.min_shift}, {index.depth})")
    tmp = BinningIndex(fmt="bai", refs=index.refs, min_shift=index.min_shift, depth=index.depth,
                       n_no_coor=index.n_no_coor)
    return BAI_MAGIC + serialize_body(tmp)


def write_bai(index: BinningIndex, path) -> None:
    """Write an index as an (uncompressed) ``.bai`` file.

    Parameters
    ----------
    index : BinningIndex
        From :func:`read_bai` or :func:`~hts_notebook.core.index.model.build_index`.
    path : str, os.PathLike or binary file object
    """
    data = bai_bytes(index)
    if isinstance(path, (str, os.PathLike)):
        with open(path, "wb") as fh:
            fh.write(data)
    else:
        path.write(data)
