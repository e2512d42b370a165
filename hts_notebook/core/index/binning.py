"""Hierarchical binning arithmetic shared by BAI, CSI and TBI.

The binning scheme (SAMv1 §5.3, CSIv1 §1) splits a reference into
``depth + 1`` levels of bins.  Level 0 is one bin covering the whole
addressable range ``[0, 2**(min_shift + 3*depth))``; every level below splits
each bin of the level above into 8.  Bins are numbered level by level, so the
first bin of level ``l`` is ``(8**l - 1) // 7``.  BAI and TBI fix
``min_shift=14, depth=5`` (bins of 16 kbp at the bottom, 512 Mbp in all);
CSI stores both in its header.

All coordinates here are 0-based half-open (``end`` exclusive), the way the
index formats store them.  Every function accepts any ``min_shift``/``depth``.
"""
from __future__ import annotations

import numpy as np

__all__ = [
    "BAI_MIN_SHIFT",
    "BAI_DEPTH",
    "bin_first",
    "bin_parent",
    "bin_level",
    "bin_limit",
    "pseudo_bin",
    "max_position",
    "bin_bot",
    "bin_range",
    "reg2bin",
    "reg2bins",
    "csi_depth_for_length",
    "optimize_chunks",
]

#: min_shift of BAI and TBI (SAMv1 §5.2: 16 kbp linear-index windows).
BAI_MIN_SHIFT = 14
#: depth of BAI and TBI (SAMv1 §5.3: six levels, 0-5).
BAI_DEPTH = 5


def bin_first(level: int) -> int:
    """Number of the first bin of ``level`` (``(8**level - 1) // 7``).

    Parameters
    ----------
    level : int
        0 for the root bin, ``depth`` for the bottom level.

    Returns
    -------
    int

    Notes
    -----
    SAMv1 §5.3, CSIv1 §1.
    """
    return ((1 << (3 * int(level))) - 1) // 7


def bin_parent(bin_):
    """Parent bin, ``(bin - 1) >> 3`` (int or integer array; bin 0 has no parent)."""
    if isinstance(bin_, np.ndarray):
        return (bin_.astype(np.int64) - 1) >> 3
    return (int(bin_) - 1) >> 3


def bin_level(bin_: int) -> int:
    """Level of a bin (0 for the root bin 0, 1 for bins 1-8, ...)."""
    level = 0
    b = int(bin_)
    while b > 0:
        b = (b - 1) >> 3
        level += 1
    return level


def bin_limit(min_shift: int = BAI_MIN_SHIFT, depth: int = BAI_DEPTH) -> int:
    """Number of real bins, ``((1 << 3*(depth+1)) - 1) // 7``.

    Bins ``0 .. bin_limit-1`` are real; ``bin_limit + 1`` is the pseudo-bin
    holding per-reference metadata.  37449 for BAI.  ``min_shift`` does not
    change the count; it is accepted so that call sites can pass the pair.

    Notes
    -----
    CSIv1 §1 (``bin_limit``), SAMv1 §5.2 (pseudo-bin 37450).
    """
    del min_shift
    return ((1 << (3 * (int(depth) + 1))) - 1) // 7


def pseudo_bin(depth: int = BAI_DEPTH) -> int:
    """Bin number of the metadata pseudo-bin: ``bin_limit(depth) + 1`` (37450 for BAI)."""
    return bin_limit(BAI_MIN_SHIFT, depth) + 1


def max_position(min_shift: int = BAI_MIN_SHIFT, depth: int = BAI_DEPTH) -> int:
    """Length of the addressable range, ``2**(min_shift + 3*depth)`` (2**29 for BAI).

    Intervals must lie inside ``[0, max_position)`` to be indexed.
    """
    return 1 << (int(min_shift) + 3 * int(depth))


def bin_bot(bin_: int, depth: int = BAI_DEPTH) -> int:
    """First bottom-level (linear index) window covered by ``bin_``.

    Returns the index into the linear index, i.e. the bin's start position
    ``>> min_shift``.
    """
    level = bin_level(bin_)
    return (int(bin_) - bin_first(level)) << (3 * (int(depth) - level))


def bin_range(bin_: int, min_shift: int = BAI_MIN_SHIFT, depth: int = BAI_DEPTH) -> tuple[int, int]:
    """0-based half-open ``(start, stop)`` covered by a real bin.

    Raises
    ------
    ValueError
        ``bin_`` is negative or not below :func:`bin_limit`.
    """
    b = int(bin_)
    if b < 0 or b >= bin_limit(min_shift, depth):
        raise ValueError(f"bin {b} is not a real bin for depth {depth}")
    level = bin_level(b)
    width = 1 << (int(min_shift) + 3 * (int(depth) - level))
    start = (b - bin_first(level)) * width
    return start, start + width


def reg2bin(beg, end, min_shift: int = BAI_MIN_SHIFT, depth: int = BAI_DEPTH):
    """Smallest bin that wholly contains ``[beg, end)``.

    Parameters
    ----------
    beg, end : int or array_like of int
        0-based start and exclusive end; arrays (any integer dtype) are
        handled element-wise and broadcast together.
    min_shift, depth : int
        Binning parameters (14 and 5 for BAI/TBI).

    Returns
    -------
    int or numpy.ndarray of int64
        A Python int for scalar input, otherwise an int64 array of the
        broadcast shape.

    Notes
    -----
    Follows SAMv1 §5.3 ``reg2bin`` exactly as htslib computes it: the last
    covered base is ``end - 1``, so an empty or inverted interval
    (``end <= beg``) is treated as ending one base before ``end``; when the
    two ends then fall in different bins at every level the answer is the
    root bin 0.  Positions are shifted arithmetically, so ``beg=-1, end=0``
    (what htslib pushes for unplaced records) lands in the last bin of the
    level above the bottom, as in htslib.
    """
    scalar = np.isscalar(beg) and np.isscalar(end)
    if scalar:
        b = int(beg)
        e = int(end) - 1
        s = int(min_shift)
        t = bin_first(depth)
        for level in range(int(depth), 0, -1):
            if b >> s == e >> s:
                return t + (b >> s)
            s += 3
            t -= 1 << (3 * (level - 1))
        return 0
    b = np.asarray(beg, dtype=np.int64)
    e = np.asarray(end, dtype=np.int64) - 1
    b, e = np.broadcast_arrays(b, e)
    out = np.zeros(b.shape, dtype=np.int64)
    done = np.zeros(b.shape, dtype=bool)
    s = int(min_shift)
    t = bin_first(depth)
    for level in range(int(depth), 0, -1):
        bs = b >> s
        hit = (~done) & (bs == (e >> s))
        out[hit] = t + bs[hit]
        done |= hit
        s += 3
        t -= 1 << (3 * (level - 1))
    return out


def reg2bins(beg: int, end: int, min_shift: int = BAI_MIN_SHIFT, depth: int = BAI_DEPTH) -> np.ndarray:
    """All bins that may hold intervals overlapping ``[beg, end)``.

    Parameters
    ----------
    beg, end : int
        0-based start and exclusive end of the query.  ``end`` beyond
        :func:`max_position` is clipped to it; a negative ``beg`` is read as 0.
    min_shift, depth : int
        Binning parameters.

    Returns
    -------
    numpy.ndarray of int64, shape (n,)
        Candidate bins, level 0 first, ascending within a level; empty when
        ``end <= beg``.

    Notes
    -----
    SAMv1 §5.3 ``reg2bins`` for any ``min_shift``/``depth`` (CSIv1), with
    htslib's clipping of the end to the addressable range.
    """
    beg = max(int(beg), 0)
    end = int(end)
    s = int(min_shift) + 3 * int(depth)
    if end > (1 << s):
        end = 1 << s
    if beg >= end:
        return np.zeros(0, dtype=np.int64)
    last = end - 1
    parts = []
    t = 0
    for level in range(int(depth) + 1):
        parts.append(np.arange(t + (beg >> s), t + (last >> s) + 1, dtype=np.int64))
        t += 1 << (3 * level)
        s -= 3
    return np.concatenate(parts)


def csi_depth_for_length(max_len: int, min_shift: int = BAI_MIN_SHIFT) -> int:
    """Depth ``samtools index -c`` uses for a longest reference of ``max_len``.

    The smallest depth whose range ``2**(min_shift + 3*depth)`` is at least
    ``max_len + 256`` (htslib's ``sam_index`` rule; depth may be 0 for short
    references).
    """
    need = int(max_len) + 256
    depth = 0
    size = 1 << int(min_shift)
    while need > size:
        depth += 1
        size <<= 3
    return depth


def optimize_chunks(chunks, min_off: int = 0, max_off: int | None = None) -> list[tuple[int, int]]:
    """Clip, sort and merge candidate chunks the way htslib's ``hts_itr_query`` does.

    Parameters
    ----------
    chunks : iterable of (int, int) or numpy.ndarray, shape (k, 2)
        ``(begin, end)`` virtual offsets (end exclusive).
    min_off : int
        Chunks ending at or before it are dropped; later ones start no
        earlier than it (linear index / CSI ``loffset``).
    max_off : int or None
        Chunks starting at or after it are dropped; the others end no later
        than it.  ``None`` means no upper bound.

    Returns
    -------
    list of (int, int)
        Sorted, non-overlapping chunks.  Chunks wholly contained in the
        preceding one are dropped, an overlap is cut at the next chunk's
        start, and a chunk is joined to the previous one only when the
        previous one ends in the same BGZF block the next one starts in
        (compressed offsets equal) -- never across blocks.  Empty chunks
        (begin >= end after clipping) are left out, where htslib would
        still read one record from them.
    """
    if max_off is None:
        max_off = (1 << 64) - 1
    arr = np.asarray(chunks, dtype=np.uint64).reshape(-1, 2)
    sel = []
    for u, v in arr.tolist():
        if v > min_off and u < max_off:
            u, v = max(u, min_off), min(v, max_off)
            if u < v:  # htslib would keep an inverted chunk; it holds no wanted record
                sel.append((u, v))
    if not sel:
        return []
    sel.sort()
    # drop chunks wholly inside their predecessor
    kept = [list(sel[0])]
    for u, v in sel[1:]:
        if kept[-1][1] < v:
            kept.append([u, v])
    # cut overlaps
    for i in range(1, len(kept)):
        if kept[i - 1][1] >= kept[i][0]:
            kept[i - 1][1] = kept[i][0]
    # join chunks whose boundary lies inside one BGZF block
    out = [kept[0]]
    for u, v in kept[1:]:
        if out[-1][1] >> 16 == u >> 16:
            out[-1][1] = v
        else:
            out.append([u, v])
    return [(int(u), int(v)) for u, v in out if u < v]
