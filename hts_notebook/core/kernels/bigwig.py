"""bigWig kernels: intervals -> dense per-base values, binned means, window statistics.

Input is flat: one row per interval with the *segment* it belongs to (segment
``w * tracks + t`` is window ``w`` of track ``t``), its start and end relative
to the window (0-based half-open, clipped to ``[0, length]``) and its value.
Rows must be sorted by segment, then start (the order bigWig files store).

* :func:`dense_numpy` / :func:`dense_jax` -- ``(windows, length, tracks)``
  float32, ``fill`` (NaN) where no interval covers a base.  Where intervals of
  one segment overlap, the one that starts last wins.
* :func:`binned_mean_numpy` / :func:`binned_mean_jax` -- mean of the covered
  bases in ``bins`` bins per window (bin ``i`` is
  ``[floor(i * L / bins), floor((i + 1) * L / bins))``), NaN for empty bins.
* :func:`window_stats_numpy` / :func:`window_stats_jax` -- exact ``mean min
  max std coverage sum`` per segment from the intervals, base-weighted
  (pyBigWig ``exact=True`` semantics; ``std`` is the sample standard deviation).

The JAX versions pad the interval count, the window length and the segment
count to power-of-two buckets (:func:`~._jax.bucket`), so repeated calls with
sizes in the same buckets reuse one compiled program (see :data:`TRACE_COUNTS`).
JAX is imported only inside the functions that need it.
"""
from __future__ import annotations

from collections import Counter

import numpy as np

from ._jax import bucket, get_jax, pad_to

__all__ = [
    "dense_numpy",
    "dense_jax",
    "dense_runs_numpy",
    "binned_mean_numpy",
    "binned_mean_jax",
    "window_stats_numpy",
    "window_stats_jax",
    "bin_edges",
    "STATS",
    "TRACE_COUNTS",
]

#: how many times each jitted kernel has been traced (compiled) in this process
TRACE_COUNTS: Counter = Counter()

#: statistics returned by the window_stats functions
STATS = ("mean", "min", "max", "std", "coverage", "sum")

_JITTED: dict = {}


def _check(seg, starts, ends, values, n_segments: int, length: int):
    seg = np.asarray(seg, dtype=np.int64)
    starts = np.clip(np.asarray(starts, dtype=np.int64), 0, length)
    ends = np.clip(np.asarray(ends, dtype=np.int64), 0, length)
    values = np.asarray(values, dtype=np.float32)
    if not (len(seg) == len(starts) == len(ends) == len(values)):
        raise ValueError("seg, starts, ends and values must have the same length")
    if len(seg) and (seg.min() < 0 or seg.max() >= n_segments):
        raise ValueError(f"segment ids must lie in [0, {n_segments})")
    if length < 0:
        raise ValueError(f"length {length} < 0")
    return seg, starts, ends, values


def dense_numpy(seg, starts, ends, values, n_windows: int, n_tracks: int, length: int,
                fill: float = float("nan")) -> np.ndarray:
    """Dense per-base values (numpy reference).

    Parameters
    ----------
    seg : (n,) int
        Segment of each interval, ``window * n_tracks + track``.
    starts, ends : (n,) int
        0-based half-open extents relative to the window start (clipped to ``[0, length]``).
    values : (n,) float32
    n_windows, n_tracks, length : int
        Output shape ``(n_windows, length, n_tracks)``.
    fill : float
        Value of uncovered bases.

    Returns
    -------
    (n_windows, length, n_tracks) float32
    """
    n_seg = n_windows * n_tracks
    seg, s, e, v = _check(seg, starts, ends, values, n_seg, length)
    out = np.full((n_seg, length), fill, dtype=np.float32)
    # intervals applied in order of start within a segment: the last-starting one wins
    order = np.lexsort((s, seg))
    for i in order.tolist():
        if e[i] > s[i]:
            out[seg[i], s[i]:e[i]] = v[i]
    return out.reshape(n_windows, n_tracks, length).transpose(0, 2, 1).copy()


def dense_runs_numpy(win, starts, ends, values, out: np.ndarray, fill: float = float("nan"),
                     window_chunk: int = 2048) -> None:
    """Per-base values of one track's windows, written into ``out`` as runs (numpy, one pass).

    Each window row is cut into pieces -- the gap before an interval, the
    interval, ..., the gap after the last -- whose lengths sum to the window
    length, and ``numpy.repeat`` writes the piece values out in one pass.
    This is the CPU path of :meth:`TrackSet.windows`; it equals
    :func:`dense_numpy` for one track.

    Parameters
    ----------
    win : (n,) int
        Window of each interval, ascending; rows of one window sorted by start
        (the order bigWig files store).
    starts, ends : (n,) int
        0-based half-open extents relative to the window start (clipped here
        to ``[0, length]``).
    values : (n,) float32
    out : (n_windows, length) float32 array (a view may be strided between rows)
        Written in full.
    fill : float
        Value of uncovered bases.
    window_chunk : int
        Windows expanded per ``repeat`` call (bounds the temporaries).

    Notes
    -----
    Where intervals of one window overlap, the one that starts last wins (as
    :func:`dense_numpy`); those windows are filled interval by interval.
    """
    n_windows, length = out.shape
    win = np.asarray(win, dtype=np.int64)
    s = np.clip(np.asarray(starts, dtype=np.int64), 0, length)
    e = np.clip(np.asarray(ends, dtype=np.int64), 0, length)
    v = np.asarray(values, dtype=np.float32)
    keep = e > s
    if not keep.all():
        win, s, e, v = win[keep], s[keep], e[keep], v[keep]
    n = len(win)
    if n and np.any(win[1:] < win[:-1]):
        raise ValueError("rows must be sorted by window")
    same = np.zeros(n, dtype=bool)
    same[1:] = win[1:] == win[:-1]
    prev_end = np.zeros(n, dtype=np.int64)
    prev_end[1:] = e[:-1]
    prev_end[~same] = 0
    gap = s - prev_end
    messy = np.zeros(n_windows, dtype=bool)
    bad = gap < 0  # overlapping (or unsorted) intervals in a window: filled one by one below
    if bad.any():
        messy[np.unique(win[bad])] = True
        ok = ~messy[win]
        m_win, m_s, m_e, m_v = win[~ok], s[~ok], e[~ok], v[~ok]
        win, s, e, v, gap = win[ok], s[ok], e[ok], v[ok], gap[ok]
        n = len(win)
    bounds = np.searchsorted(win, np.minimum(np.arange(0, n_windows + window_chunk, window_chunk), n_windows))
    for k, w0 in enumerate(range(0, n_windows, window_chunk)):
        w1 = min(w0 + window_chunk, n_windows)
        a, b = int(bounds[k]), int(bounds[k + 1])
        out[w0:w1] = _runs(win[a:b] - w0, s[a:b], e[a:b], v[a:b], gap[a:b], w1 - w0, length, fill)
    if messy.any():
        order = np.lexsort((m_s, m_win))  # by start within a window; equal starts keep their order
        for w, a, b, x in zip(m_win[order].tolist(), m_s[order].tolist(), m_e[order].tolist(), m_v[order].tolist()):
            out[w, a:b] = x


def _runs(win, s, e, v, gap, n_windows: int, length: int, fill: float) -> np.ndarray:
    """``(n_windows, length)`` values of windows whose intervals do not overlap (rows sorted)."""
    n = len(win)
    counts = np.bincount(win, minlength=n_windows)
    last = np.cumsum(counts)  # rows up to and including each window
    lens = np.empty(2 * n + n_windows, dtype=np.int64)
    vals = np.full(2 * n + n_windows, fill, dtype=np.float32)
    at = 2 * np.arange(n) + win
    lens[at] = gap
    lens[at + 1] = e - s
    vals[at + 1] = v
    tail = 2 * last + np.arange(n_windows)
    end_of_last = np.zeros(n_windows, dtype=np.int64)
    has = counts > 0
    end_of_last[has] = e[last[has] - 1]
    lens[tail] = length - end_of_last
    return np.repeat(vals, lens).reshape(n_windows, length)


def _dense_fn():
    fn = _JITTED.get("dense")
    if fn is None:
        jax = get_jax()
        import jax.numpy as jnp

        def kernel(seg, starts, ends, values, fill, n_windows, n_tracks, length):
            TRACE_COUNTS["dense"] += 1  # runs only while tracing
            n = seg.shape[0]
            n_seg = n_windows * n_tracks
            valid = ends > starts
            ident = jnp.arange(1, n + 1, dtype=jnp.int32)
            flat = jnp.where(valid, seg * length + starts, n_seg * length)  # invalid rows land in a spare slot
            marks = jnp.zeros(n_seg * length + 1, dtype=jnp.int32).at[flat].max(jnp.where(valid, ident, 0))
            marks = marks[:-1].reshape(n_seg, length)
            last = jax.lax.cummax(marks, axis=1)  # 1-based id of the last interval started at or before
            idx = jnp.maximum(last - 1, 0)
            pos = jnp.arange(length, dtype=jnp.int32)[None, :]
            covered = (last > 0) & (pos < ends[idx])
            out = jnp.where(covered, values[idx], fill)
            return out.reshape(n_windows, n_tracks, length).transpose(0, 2, 1)

        fn = _JITTED["dense"] = jax.jit(kernel, static_argnums=(5, 6, 7))
    return fn


def _padded_rows(seg, s, e, v, minimum=1024):
    n = bucket(len(seg), minimum=minimum)
    order = np.lexsort((s, seg))
    seg, s, e, v = seg[order], s[order], e[order], v[order]
    return (pad_to(seg.astype(np.int32), n), pad_to(s.astype(np.int32), n), pad_to(e.astype(np.int32), n),
            pad_to(v, n))


def dense_jax(seg, starts, ends, values, n_windows: int, n_tracks: int, length: int,
              fill: float = float("nan")) -> np.ndarray:
    """Dense per-base values as :func:`dense_numpy`, with a jitted JAX kernel.

    The interval count, ``length`` and ``n_windows`` are padded to buckets;
    padding rows are empty (start == end) and padded windows are dropped.

    Returns
    -------
    (n_windows, length, n_tracks) float32 numpy array
    """
    length = int(length)
    seg, s, e, v = _check(seg, starts, ends, values, n_windows * n_tracks, length)
    if n_windows == 0 or length == 0:
        return np.full((n_windows, length, n_tracks), fill, dtype=np.float32)
    pl = bucket(length, minimum=64)
    pw = bucket(n_windows, minimum=1)
    if pw * n_tracks * pl >= 2 ** 31 - 1:
        raise ValueError("batch too large for one kernel call; split the windows")
    args = _padded_rows(seg, s, e, v)
    out = _dense_fn()(*args, np.float32(fill), pw, int(n_tracks), pl)
    return np.asarray(out)[:n_windows, :length, :]


def bin_edges(length: int, bins: int) -> np.ndarray:
    """Bin edges ``floor(i * length / bins)`` for ``i = 0 .. bins`` (int64)."""
    bins = int(bins)
    if bins < 1:
        raise ValueError(f"bins={bins} < 1")
    return (np.arange(bins + 1, dtype=np.int64) * int(length)) // bins


def binned_mean_numpy(dense: np.ndarray, bins: int) -> np.ndarray:
    """Mean of covered (non-NaN) bases per bin (numpy reference).

    Parameters
    ----------
    dense : (W, L, T) float
        Output of :func:`dense_numpy` (NaN = no data).
    bins : int

    Returns
    -------
    (W, bins, T) float32
        NaN where a bin has no covered base.
    """
    dense = np.asarray(dense, dtype=np.float64)
    w, length, t = dense.shape
    edges = bin_edges(length, bins)
    out = np.full((w, bins, t), np.nan, dtype=np.float32)
    for i in range(bins):
        chunk = dense[:, edges[i]:edges[i + 1], :]
        cnt = np.sum(~np.isnan(chunk), axis=1)
        tot = np.nansum(chunk, axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[:, i, :] = np.where(cnt > 0, tot / np.maximum(cnt, 1), np.nan)
    return out


def _binned_fn():
    fn = _JITTED.get("binned")
    if fn is None:
        jax = get_jax()
        import jax.numpy as jnp

        def kernel(dense, bin_id, n_bins):
            TRACE_COUNTS["binned"] += 1
            ok = ~jnp.isnan(dense)
            x = jnp.where(ok, dense, 0.0)
            moved = jnp.moveaxis(x, 1, 0)  # (L, W, T): segment over positions
            cnt = jnp.moveaxis(ok, 1, 0).astype(jnp.float32)
            sums = jax.ops.segment_sum(moved, bin_id, num_segments=n_bins)
            counts = jax.ops.segment_sum(cnt, bin_id, num_segments=n_bins)
            mean = jnp.where(counts > 0, sums / jnp.maximum(counts, 1.0), jnp.nan)
            return jnp.moveaxis(mean, 0, 1)

        fn = _JITTED["binned"] = jax.jit(kernel, static_argnums=2)
    return fn


def binned_mean_jax(dense: np.ndarray, bins: int) -> np.ndarray:
    """Binned means as :func:`binned_mean_numpy`, with a jitted JAX kernel.

    Positions beyond the true length (bucket padding) go to a spare bin that
    is dropped.  Sums are float32.

    Returns
    -------
    (W, bins, T) float32 numpy array
    """
    dense = np.asarray(dense, dtype=np.float32)
    w, length, t = dense.shape
    edges = bin_edges(length, bins)
    pl = bucket(length, minimum=64)
    pw = bucket(w, minimum=1)
    pb = bucket(bins + 1, minimum=8)
    bin_id = np.full(pl, pb - 1, dtype=np.int32)
    bin_id[:length] = np.searchsorted(edges, np.arange(length), side="right") - 1
    padded = np.full((pw, pl, t), np.nan, dtype=np.float32)
    padded[:w, :length] = dense
    out = _binned_fn()(padded, bin_id, pb)
    return np.asarray(out)[:w, :bins, :]


def window_stats_numpy(seg, starts, ends, values, n_segments: int, length: int) -> dict:
    """Exact base-weighted statistics per segment (numpy reference).

    Parameters
    ----------
    seg, starts, ends, values
        As in :func:`dense_numpy` (extents relative to the window, clipped).
    n_segments : int
    length : int
        Window length (for ``coverage``).

    Returns
    -------
    dict of str to (n_segments,) float64
        ``mean min max std coverage sum``; NaN where a segment has no covered
        base (``coverage`` is then 0).  ``std`` is 0 for a single covered
        base, as pyBigWig.
    """
    seg, s, e, v = _check(seg, starts, ends, values, n_segments, length)
    ov = np.maximum(e - s, 0).astype(np.float64)
    keep = ov > 0
    seg, ov, v = seg[keep], ov[keep], v[keep].astype(np.float64)
    n = np.bincount(seg, ov, minlength=n_segments)
    tot = np.bincount(seg, ov * v, minlength=n_segments)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n > 0, tot / n, np.nan)
        dev = np.bincount(seg, ov * (v - mean[seg]) ** 2, minlength=n_segments)
        std = np.where(n >= 2, np.sqrt(dev / np.maximum(n - 1, 1)), np.where(n == 1, 0.0, np.nan))
    mn = np.full(n_segments, np.inf)
    mx = np.full(n_segments, -np.inf)
    np.minimum.at(mn, seg, v)
    np.maximum.at(mx, seg, v)
    has = n > 0
    return {
        "mean": mean,
        "min": np.where(has, mn, np.nan),
        "max": np.where(has, mx, np.nan),
        "std": std,
        "coverage": n / length if length else np.full(n_segments, np.nan),
        "sum": np.where(has, tot, np.nan),
    }


def _stats_fn():
    fn = _JITTED.get("stats")
    if fn is None:
        jax = get_jax()
        import jax.numpy as jnp

        def kernel(seg, starts, ends, values, n_seg, length):
            TRACE_COUNTS["stats"] += 1
            ov = jnp.maximum(ends - starts, 0).astype(jnp.float32)
            keep = ov > 0
            segk = jnp.where(keep, seg, n_seg)  # dropped rows go to a spare segment
            m = n_seg + 1
            n = jax.ops.segment_sum(ov, segk, num_segments=m)
            tot = jax.ops.segment_sum(ov * values, segk, num_segments=m)
            mean = jnp.where(n > 0, tot / jnp.maximum(n, 1.0), jnp.nan)
            dev = jax.ops.segment_sum(jnp.where(keep, ov * (values - mean[segk]) ** 2, 0.0), segk, num_segments=m)
            std = jnp.where(n >= 2, jnp.sqrt(dev / jnp.maximum(n - 1.0, 1.0)), jnp.where(n == 1, 0.0, jnp.nan))
            mn = jax.ops.segment_min(jnp.where(keep, values, jnp.inf), segk, num_segments=m)
            mx = jax.ops.segment_max(jnp.where(keep, values, -jnp.inf), segk, num_segments=m)
            has = n > 0
            cov = n / jnp.maximum(length, 1).astype(jnp.float32)
            return (mean[:n_seg], jnp.where(has, mn, jnp.nan)[:n_seg], jnp.where(has, mx, jnp.nan)[:n_seg],
                    std[:n_seg], cov[:n_seg], jnp.where(has, tot, jnp.nan)[:n_seg])

        fn = _JITTED["stats"] = jax.jit(kernel, static_argnums=4)
    return fn


def window_stats_jax(seg, starts, ends, values, n_segments: int, length: int) -> dict:
    """Window statistics as :func:`window_stats_numpy`, with a jitted JAX kernel (float32 sums).

    Returns
    -------
    dict of str to (n_segments,) float64 numpy arrays
    """
    seg, s, e, v = _check(seg, starts, ends, values, n_segments, length)
    ps = bucket(n_segments, minimum=8)
    args = _padded_rows(seg, s, e, v)
    res = _stats_fn()(*args, ps, np.int32(length))
    return {k: np.asarray(r, dtype=np.float64)[:n_segments] for k, r in zip(STATS, res)}
