"""CSI: the coordinate-sorted index (CSIv1), read and write.

A CSI is BGZF-compressed: magic ``CSI\\1``, ``min_shift``, ``depth``,
``l_aux`` and ``aux`` bytes, ``n_ref``, then per reference its bins, each
with an ``loffset`` and chunks (no linear index), and an optional trailing
``n_no_coor``.
"""
from __future__ import annotations

import struct

from ..bgzf import BgzfReader, BgzfWriter
from ..errors import FormatError, TruncatedFileError
from .model import BinningIndex, _count, parse_body, serialize_body

__all__ = ["CSI_MAGIC", "read_csi", "parse_csi", "write_csi", "csi_bytes"]

CSI_MAGIC = b"CSI\x01"
_MAX_DEPTH = 10


def parse_csi(data: bytes, *, path=None) -> BinningIndex:
    """Parse the decompressed bytes of a CSI file.

    Parameters
    ----------
    data : bytes
        Decompressed content.
    path : str, optional
        Name for error messages.

    Returns
    -------
    BinningIndex
        ``fmt="csi"`` with the header's ``min_shift``, ``depth`` and ``aux``.

    Raises
    ------
    FormatError
        Wrong magic, ``min_shift``/``depth`` out of range (depth 0-10,
        ``min_shift + 3*depth`` at most 63), negative counts, duplicate or
        out-of-range bins, a malformed pseudo-bin, trailing bytes.
    TruncatedFileError, LimitExceededError
        Counts the remaining bytes cannot satisfy.

    Notes
    -----
    CSIv1; offsets in errors are into the decompressed stream.
    """
    if len(data) < 16:
        if data[: min(4, len(data))] != CSI_MAGIC[: min(4, len(data))]:
            raise FormatError("not a CSI file (magic)", path=path, offset=0, field="magic")
        raise TruncatedFileError(f"CSI header needs 16 bytes, has {len(data)}", path=path, offset=0, field="l_aux")
    if data[:4] != CSI_MAGIC:
        raise FormatError(f"not a CSI file (magic {data[:4]!r})", path=path, offset=0, field="magic")
    min_shift, depth, l_aux = struct.unpack_from("<iii", data, 4)
    if not (0 <= depth <= _MAX_DEPTH):
        raise FormatError(f"depth={depth} outside 0..{_MAX_DEPTH}", path=path, offset=8, field="depth")
    if not (0 <= min_shift and min_shift + 3 * depth <= 63):
        raise FormatError(f"min_shift={min_shift} with depth={depth} is out of range", path=path, offset=4,
                          field="min_shift")
    _count(data, 16, l_aux, 1, path, "l_aux")
    aux = bytes(data[16: 16 + l_aux])
    pos = 16 + l_aux
    if pos + 4 > len(data):
        raise TruncatedFileError("n_ref: needs 4 bytes", path=path, offset=pos, field="n_ref")
    (n_ref,) = struct.unpack_from("<i", data, pos)
    refs, n_no_coor, end = parse_body(data, pos + 4, n_ref, fmt="csi", min_shift=min_shift, depth=depth, path=path)
    if end != len(data):
        raise FormatError(f"{len(data) - end} unexpected bytes after the index", path=path, offset=end, field="n_no_coor")
    return BinningIndex(fmt="csi", refs=refs, min_shift=min_shift, depth=depth, aux=aux, n_no_coor=n_no_coor,
                        path=None if path is None else str(path))


def read_csi(path) -> BinningIndex:
    """Read a ``.csi`` file (BGZF-compressed).

    Parameters
    ----------
    path : str, os.PathLike, file object or ByteSource

    Returns
    -------
    BinningIndex

    Raises
    ------
    FormatError, TruncatedFileError, ChecksumError, LimitExceededError
        Bad BGZF framing or content (see :func:`parse_csi`).
    """
    reader = BgzfReader(path)
    try:
        data = reader.read_all()
        name = reader.path
    finally:
        reader.close()
    return parse_csi(data, path=name)


def csi_bytes(index: BinningIndex) -> bytes:
    """Decompressed CSI content of an index (CSIv1).

    A BAI/TBI index is converted: each bin's ``loffset`` is taken from the
    linear index as htslib does.
    """
    refs = index.refs
    if index.fmt != "csi":
        import copy

        refs = []
        for ref in index.refs:
            r = copy.copy(ref)
            r.loffsets = {b: index._bin_loff(ref, b) for b in ref.bins}
            r.linear = None
            refs.append(r)
    tmp = BinningIndex(fmt="csi", refs=refs, min_shift=index.min_shift, depth=index.depth, aux=index.aux if index.fmt == "csi" else b"",
                       n_no_coor=index.n_no_coor)
    aux = tmp.aux
    return CSI_MAGIC + struct.pack("<iii", index.min_shift, index.depth, len(aux)) + aux + serialize_body(tmp)


def write_csi(index: BinningIndex, path, level: int = 6) -> None:
    """Write an index as a BGZF-compressed ``.csi`` file.

    Parameters
    ----------
    index : BinningIndex
    path : str, os.PathLike or binary file object
    level : int
        DEFLATE level.
    """
    with BgzfWriter(path, level=level) as w:
        w.write(csi_bytes(index))
