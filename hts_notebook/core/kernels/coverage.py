"""Per-base read depth over a window, and binned means for zoomed-out views.

The kernel input is flat: one row per aligned block (reference start and
length), expanded from the CIGARs in numpy by :func:`aligned_blocks`.  Depth is
a scatter-add into a difference array followed by a cumulative sum.

* :func:`coverage_numpy` / :func:`binned_mean_numpy` -- small numpy references.
* :func:`coverage_jax` / :func:`binned_mean_jax` -- the same, jitted with JAX.
  Array sizes are padded to power-of-two buckets (:func:`~._jax.bucket`), so a
  window that moves or changes size within its bucket reuses the compiled code.
* :func:`coverage` -- convenience: an :class:`AlignmentBatch` + window -> depth.

All positions are 0-based half-open (DESIGN.md §2).  What counts as coverage:
CIGAR ``M``, ``=`` and ``X`` always; ``D`` when ``count_deletions=True``
(``samtools depth -J`` style); ``N``, ``I``, ``S``, ``H``, ``P`` never.
"""
from __future__ import annotations

from collections import Counter

import numpy as np

from ..formats.alignment.batch import QUERY_CONSUMING, REF_CONSUMING
from ._jax import bucket, get_jax

__all__ = [
    "expand_cigar",
    "aligned_blocks",
    "coverage_numpy",
    "coverage_jax",
    "binned_mean_numpy",
    "binned_mean_jax",
    "coverage",
    "TRACE_COUNTS",
    "DEFAULT_EXCLUDE_FLAGS",
]

#: UNMAP | SECONDARY | QCFAIL | DUP -- the reads ``samtools depth`` skips by default
DEFAULT_EXCLUDE_FLAGS = 0x4 | 0x100 | 0x200 | 0x400

#: how many times each jitted kernel has been traced (compiled) in this process
TRACE_COUNTS: Counter = Counter()

_COVERING = np.zeros(16, dtype=bool)
_COVERING[[0, 7, 8]] = True  # M = X
_COVERING_DEL = _COVERING.copy()
_COVERING_DEL[2] = True  # D


def expand_cigar(pos: np.ndarray, cigar: np.ndarray, cigar_offsets: np.ndarray) -> dict:
    """Expand BAM-encoded CIGARs into one row per operation, vectorised.

    Parameters
    ----------
    pos : (n,) int64
        0-based leftmost reference position of each alignment.
    cigar : (m,) uint32
        Flat BAM-encoded ops ``len << 4 | op`` (ops ``MIDNSHP=X`` = 0..8).
    cigar_offsets : (n + 1,) int64
        Ragged offsets of each alignment's ops into ``cigar``.

    Returns
    -------
    dict of str to ndarray, each (k,) for the k ops of all alignments
        ``read`` (int64, alignment index), ``op`` (uint8), ``length`` (int64),
        ``ref_start`` (int64, 0-based reference position where the op begins),
        ``query_start`` (int64, offset into the read's SEQ where it begins).
    """
    pos = np.asarray(pos, dtype=np.int64)
    offsets = np.asarray(cigar_offsets, dtype=np.int64)
    cigar = np.asarray(cigar, dtype=np.uint32)[int(offsets[0]): int(offsets[-1])]
    offsets = offsets - offsets[0]
    counts = np.diff(offsets)
    read = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
    op = (cigar & 15).astype(np.uint8)
    length = (cigar >> 4).astype(np.int64)
    out = {"read": read, "op": op, "length": length}
    for key, consuming in (("ref_start", REF_CONSUMING), ("query_start", QUERY_CONSUMING)):
        step = np.where(consuming[op], length, 0)
        before = np.cumsum(step) - step  # exclusive prefix sum over all ops
        first = np.zeros(len(counts), dtype=np.int64)
        has = counts > 0
        first[has] = before[offsets[:-1][has]]
        rel = before - np.repeat(first, counts)
        out[key] = rel + pos[read] if key == "ref_start" else rel
    return out


def aligned_blocks(pos, cigar, cigar_offsets, count_deletions: bool = False):
    """Reference blocks that count as coverage, one row per CIGAR op.

    Parameters
    ----------
    pos, cigar, cigar_offsets
        As in :func:`expand_cigar` (columns of an ``AlignmentBatch``).
    count_deletions : bool
        Count ``D`` ops as covered (``samtools depth -J``); ``N`` never counts.

    Returns
    -------
    starts : (k,) int64
        0-based reference start of each block.
    lengths : (k,) int64
        Block length in bases (> 0).
    """
    ops = expand_cigar(pos, cigar, cigar_offsets)
    table = _COVERING_DEL if count_deletions else _COVERING
    keep = table[ops["op"]] & (ops["length"] > 0)
    return ops["ref_start"][keep], ops["length"][keep]


def _relative(starts, lengths, region_start: int, length: int):
    """Block ends clipped into ``[0, length]`` relative to the window, int32."""
    s = np.asarray(starts, dtype=np.int64) - int(region_start)
    e = s + np.asarray(lengths, dtype=np.int64)
    s = np.clip(s, 0, length)
    e = np.clip(e, 0, length)
    return s.astype(np.int32), e.astype(np.int32)


def coverage_numpy(starts, lengths, region_start: int, length: int) -> np.ndarray:
    """Per-base depth over ``[region_start, region_start + length)`` (numpy reference).

    Parameters
    ----------
    starts : (k,) int
        0-based reference start of each aligned block.
    lengths : (k,) int
        Length of each block in bases (>= 0).
    region_start : int
        0-based first position of the window.
    length : int
        Window length in bases (>= 0).

    Returns
    -------
    (length,) int32
        Number of blocks covering each position of the window.
    """
    length = int(length)
    if length < 0:
        raise ValueError(f"window length {length} < 0")
    s, e = _relative(starts, lengths, region_start, length)
    diff = np.zeros(length + 1, dtype=np.int32)
    np.add.at(diff, s, 1)
    np.add.at(diff, e, -1)
    return np.cumsum(diff[:length], dtype=np.int32)


_JITTED: dict = {}


def _coverage_fn():
    fn = _JITTED.get("coverage")
    if fn is None:
        jax = get_jax()
        import jax.numpy as jnp

        def kernel(rel_starts, rel_ends, padded_length):
            TRACE_COUNTS["coverage"] += 1  # runs only while tracing
            diff = jnp.zeros(padded_length + 1, dtype=jnp.int32)
            diff = diff.at[rel_starts].add(1).at[rel_ends].add(-1)
            return jnp.cumsum(diff[:padded_length], dtype=jnp.int32)

        fn = _JITTED["coverage"] = jax.jit(kernel, static_argnums=2)
    return fn


def coverage_jax(starts, lengths, region_start: int, length: int) -> np.ndarray:
    """Per-base depth, as :func:`coverage_numpy`, computed by a jitted JAX kernel.

    The window length is padded to ``bucket(length)`` and the block count to
    ``bucket(k)``; padding blocks are empty (start == end).  Moving the window,
    or changing its size or the number of blocks within the same buckets,
    does not recompile (see :data:`TRACE_COUNTS`).

    Returns
    -------
    (length,) int32 numpy array
    """
    length = int(length)
    if length < 0:
        raise ValueError(f"window length {length} < 0")
    s, e = _relative(starts, lengths, region_start, length)
    n = bucket(len(s), minimum=1024)
    padded_len = bucket(length, minimum=1024)
    sp = np.zeros(n, dtype=np.int32)
    ep = np.zeros(n, dtype=np.int32)
    sp[: len(s)] = s
    ep[: len(e)] = e
    out = _coverage_fn()(sp, ep, padded_len)
    return np.asarray(out)[:length]


def binned_mean_numpy(depth: np.ndarray, bin_size: int) -> np.ndarray:
    """Mean of ``depth`` over consecutive bins of ``bin_size`` positions (numpy reference).

    Parameters
    ----------
    depth : (length,) numeric
        Per-base values, e.g. from :func:`coverage_numpy`.
    bin_size : int
        Positions per bin (>= 1); the last bin may be shorter and is averaged
        over the positions it has.

    Returns
    -------
    (ceil(length / bin_size),) float32
    """
    bin_size = int(bin_size)
    if bin_size < 1:
        raise ValueError(f"bin_size {bin_size} < 1")
    depth = np.asarray(depth, dtype=np.float64)
    if depth.size == 0:
        return np.zeros(0, dtype=np.float32)
    starts = np.arange(0, len(depth), bin_size)
    sums = np.add.reduceat(depth, starts)
    sizes = np.diff(np.append(starts, len(depth)))
    return (sums / sizes).astype(np.float32)


def _binned_fn():
    fn = _JITTED.get("binned")
    if fn is None:
        jax = get_jax()
        import jax.numpy as jnp

        def kernel(depth, length, bin_size, n_bins):
            TRACE_COUNTS["binned"] += 1
            idx = jnp.arange(depth.shape[0], dtype=jnp.int32)
            valid = idx < length
            ids = jnp.where(valid, idx // bin_size, n_bins - 1)
            w = jnp.where(valid, depth.astype(jnp.float32), 0.0)
            sums = jax.ops.segment_sum(w, ids, num_segments=n_bins)
            counts = jax.ops.segment_sum(valid.astype(jnp.float32), ids, num_segments=n_bins)
            return sums / jnp.maximum(counts, 1.0)

        fn = _JITTED["binned"] = jax.jit(kernel, static_argnums=3)
    return fn


def binned_mean_jax(depth: np.ndarray, bin_size: int) -> np.ndarray:
    """Binned means as :func:`binned_mean_numpy`, with a jitted JAX kernel.

    ``bin_size`` and the true length are traced values, so zooming (changing
    the bin size) recompiles only when the padded length or the padded bin
    count changes bucket.
    Sums are float32 (relative error ~1e-6, fine for drawing).

    Returns
    -------
    (ceil(length / bin_size),) float32 numpy array
    """
    bin_size = int(bin_size)
    if bin_size < 1:
        raise ValueError(f"bin_size {bin_size} < 1")
    depth = np.asarray(depth)
    length = len(depth)
    n_bins = -(-length // bin_size)
    if length == 0:
        return np.zeros(0, dtype=np.float32)
    padded = np.zeros(bucket(length, minimum=1024), dtype=np.int32)
    padded[:length] = depth
    out = _binned_fn()(padded, np.int32(length), np.int32(bin_size), bucket(n_bins + 1, minimum=64))
    return np.asarray(out, dtype=np.float32)[:n_bins]


def coverage(batch, region_start: int, length: int, *, count_deletions: bool = False,
             exclude_flags: int = DEFAULT_EXCLUDE_FLAGS, min_mapq: int = 0,
             backend: str = "jax") -> np.ndarray:
    """Per-base depth of an :class:`AlignmentBatch` over a window.

    Parameters
    ----------
    batch : AlignmentBatch
        Alignments (all on the window's contig; filter by ``ref_id`` first).
    region_start : int
        0-based window start.
    length : int
        Window length in bases.
    count_deletions : bool
        Count ``D`` ops as covered.
    exclude_flags : int
        Skip reads with any of these FLAG bits (default UNMAP|SECONDARY|QCFAIL|DUP,
        as ``samtools depth``).
    min_mapq : int
        Skip reads with MAPQ below this.
    backend : {"jax", "numpy"}

    Returns
    -------
    (length,) int32
    """
    keep = ((batch.flag & exclude_flags) == 0) & (batch.mapq >= min_mapq)
    sub = batch if keep.all() else batch.take(keep)
    starts, lengths = aligned_blocks(sub.pos, sub.cigar, sub.cigar_offsets, count_deletions)
    if backend == "numpy":
        return coverage_numpy(starts, lengths, region_start, length)
    if backend != "jax":
        raise ValueError(f"unknown backend {backend!r} (jax, numpy)")
    return coverage_jax(starts, lengths, region_start, length)
