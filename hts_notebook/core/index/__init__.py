"""Indexes: the shared binning index (BAI, CSI, TBI) and friends.

Everything here uses 0-based half-open coordinates.
"""
from __future__ import annotations

import os

from ..errors import FormatError, MissingIndexError, TruncatedFileError
from ..filecache import IdentityCache, file_identity
from .bai import parse_bai, read_bai, write_bai
from .binning import (
    bin_bot,
    bin_first,
    bin_level,
    bin_limit,
    bin_parent,
    bin_range,
    max_position,
    optimize_chunks,
    pseudo_bin,
    reg2bin,
    reg2bins,
)
from .csi import parse_csi, read_csi, write_csi
from .model import BinningIndex, ReferenceIndex, build_index

__all__ = [
    "BinningIndex",
    "ReferenceIndex",
    "build_index",
    "read_bai",
    "write_bai",
    "parse_bai",
    "read_csi",
    "write_csi",
    "parse_csi",
    "find_index",
    "load_index",
    "reg2bin",
    "reg2bins",
    "bin_first",
    "bin_parent",
    "bin_level",
    "bin_limit",
    "bin_bot",
    "bin_range",
    "pseudo_bin",
    "max_position",
    "optimize_chunks",
]

IDX_DELIM = "##idx##"


def find_index(data_path, kind: str = "bai") -> str | None:
    """Path of the index of a data file, looked for where htslib looks.

    Parameters
    ----------
    data_path : str or os.PathLike
        The data file.  ``data##idx##index`` names the index explicitly.
    kind : {"bai", "tbi", "csi"}
        The format's own index besides CSI: ``"bai"`` for BAM, ``"tbi"`` for
        tabix files; ``"csi"`` looks for CSI only.

    Returns
    -------
    str or None
        The first existing of ``x.bam.csi``, ``x.csi``, ``x.bam.bai``,
        ``x.bai`` (htslib ``hts_idx_check_local`` order: CSI first), or
        ``None``.
    """
    fn = os.fspath(data_path)
    if IDX_DELIM in fn:
        return fn.split(IDX_DELIM, 1)[1]
    exts = [".csi"] + ([] if kind == "csi" else ["." + kind])
    for ext in exts:
        cand = fn + ext
        if os.path.isfile(cand):
            return cand
        base = os.path.basename(fn)
        dot = base.rfind(".")
        if dot > 0:
            cand = os.path.join(os.path.dirname(fn), base[:dot] + ext)
            if os.path.isfile(cand):
                return cand
    return None


_INDEX_CACHE = IdentityCache(16)


def load_index(path) -> BinningIndex:
    """Read a BAI or CSI file, telling them apart by their first bytes.

    Parsed indexes are kept in a small process-wide cache keyed by the file's
    identity (path, inode, size, modification and change times), so opening
    the same BAM again -- as notebooks do -- does not parse its index again;
    a rewritten index file is read afresh.  Treat the result as read-only.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    BinningIndex

    Raises
    ------
    MissingIndexError
        The file does not exist.
    FormatError
        Neither BAI magic nor a BGZF stream starting ``CSI\\1``.
    TruncatedFileError, ChecksumError, LimitExceededError
        From the readers.
    """
    p = os.fspath(path)
    key = file_identity(p)
    if key is None:
        raise MissingIndexError("index file not found", path=p, field="path")
    hit = _INDEX_CACHE.get(key)
    if hit is not None:
        return hit
    with open(p, "rb") as fh:
        head = fh.read(4)
    if head == b"BAI\x01":
        index = read_bai(p)
    elif head[:2] == b"\x1f\x8b":
        index = read_csi(p)
    else:
        index = None
    if index is not None:
        _INDEX_CACHE.put(key, index)
        return index
    if len(head) < 4:
        raise TruncatedFileError(f"index has only {len(head)} bytes", path=p, offset=0, field="magic")
    raise FormatError(f"not a BAI or CSI index (magic {head!r})", path=p, offset=0, field="magic")
