"""Many windows of one BBI file at once: R-tree leaves per window set, overlap pairs, zoom summaries.

:func:`blocks_for_windows` and :func:`overlap_pairs` find, for a whole batch
of windows, the data blocks and then the items each window overlaps (used by
:class:`~.bigwig.TrackSet`).

:func:`window_summary` answers, for every window, what
:meth:`BigWigFile.stats(region, type, bins=1) <.bigwig.BigWigFile.stats>`
answers for that window alone (libBigWig's zoom-level choice and its weighting
of summary records that straddle a window edge), but with one R-tree walk,
one pass over the needed zoom blocks and array arithmetic for all windows.
Windows for which no zoom level qualifies (shorter than twice the finest
reduction), and every window with ``exact=True``, are answered from the raw
data, window by window.
"""
from __future__ import annotations

import numpy as np

__all__ = ["window_summary", "overlap_pairs", "blocks_for_windows", "keys"]


def keys(cid, pos) -> np.ndarray:
    """Sort keys ``chromId << 32 | position`` (int64) of R-tree boxes and windows."""
    return (np.asarray(cid, np.int64) << 32) | np.asarray(pos, np.int64)


def overlap_pairs(skey, ekey, qlo, qhi):
    """Pairs ``(query, row)`` with ``skey[row] < qhi[query]`` and ``ekey[row] > qlo[query]``.

    Rows must be sorted by ``skey``.  Pairs come grouped by query (ascending),
    rows ascending within a query.
    """
    run = np.maximum.accumulate(ekey) if len(ekey) else ekey
    hi = np.searchsorted(skey, qhi, "left")
    lo = np.searchsorted(run, qlo, "right")
    counts = np.maximum(hi - lo, 0)
    q = np.repeat(np.arange(len(qlo)), counts)
    first = np.repeat(lo, counts)
    rows = first + (np.arange(len(q)) - np.repeat(np.cumsum(counts) - counts, counts))
    keep = ekey[rows] > qlo[q]
    return q[keep], rows[keep]


def blocks_for_windows(index, qlo, qhi) -> list[tuple[int, int]]:
    """``(offset, size)`` of the R-tree leaves whose boxes overlap any window, in key order."""
    leaves = index.leaves()
    lk = np.argsort(keys(leaves["sc"], leaves["sb"]), kind="stable")
    leaves = leaves[lk]
    _q, rows = overlap_pairs(keys(leaves["sc"], leaves["sb"]), keys(leaves["ec"], leaves["eb"]), qlo, qhi)
    needed = np.unique(rows)
    return list(zip(leaves["off"][needed].tolist(), leaves["size"][needed].tolist()))


def window_summary(track, chrom_ids, starts, stops, kind: str, exact: bool = False) -> np.ndarray:
    """Statistic ``kind`` of each window of one bigWig, as ``BigWigFile.stats(..., bins=1)`` gives it.

    Parameters
    ----------
    track : BigWigFile
    chrom_ids : (n,) int
        Chromosome id of each window in this file (-1: absent, answer NaN).
    starts, stops : (n,) int
        0-based half-open windows, already clipped to the chromosome.
    kind : {"mean", "min", "max", "std", "coverage", "sum"}
    exact : bool
        From the raw intervals for every window (``stats(..., exact=True)``).

    Returns
    -------
    (n,) float64
        NaN where a window has no data.
    """
    chrom_ids = np.asarray(chrom_ids, np.int64)
    starts = np.asarray(starts, np.int64)
    stops = np.asarray(stops, np.int64)
    out = np.full(len(starts), np.nan)
    if track.total_summary is not None and track.total_summary.bases_covered == 0:
        return out
    present = (chrom_ids >= 0) & (stops > starts)
    spans = stops - starts
    level_of = {} if exact else {int(sp): track.choose_zoom_level(float(sp))
                                 for sp in np.unique(spans[present]).tolist()}
    levels = np.array([level_of.get(int(sp), -1) for sp in spans.tolist()], dtype=np.int64)
    for level in np.unique(levels[present]).tolist():
        sel = np.flatnonzero(present & (levels == level))
        if level < 0:
            for i in sel.tolist():
                out[i] = track._stats_raw(int(chrom_ids[i]), [int(starts[i]), int(stops[i])], kind)[0]
        else:
            out[sel] = _zoom_level_summary(track, level, chrom_ids[sel], starts[sel], stops[sel], kind)
    return out


def _zoom_level_summary(track, level: int, cids, p, q, kind: str) -> np.ndarray:
    """:func:`window_summary` for windows that all use zoom level ``level``."""
    from .bigwig import decode_zoom_block

    qlo, qhi = keys(cids, p), keys(cids, q)
    parts = []
    for off, size in blocks_for_windows(track.zoom_index(level), qlo, qhi):
        def make(off=off, size=size):
            buf = track._block(off, size, "zoom block")
            return decode_zoom_block(buf, track.bbi_header.byteorder, path=track.path, offset=off)

        parts.append(track._cached(("zoom", off), make))
    out = np.full(len(p), np.nan)
    if not parts:
        return out
    rec = np.concatenate(parts)
    vs = rec["start"].astype(np.int64)
    ve = rec["end"].astype(np.int64)
    sk = keys(rec["cid"], vs)
    if len(sk) > 1 and np.any(sk[1:] < sk[:-1]):
        order = np.argsort(sk, kind="stable")
        rec, vs, ve, sk = rec[order], vs[order], ve[order], sk[order]
    # libBigWig takes a record when it starts inside the window or holds its first base
    w, r = overlap_pairs(sk, keys(rec["cid"], np.maximum(ve, vs + 1)), qlo, qhi)
    if not len(w):
        return out
    bs, be, pw, qw = vs[r], ve[r], p[w], q[w]
    width = (be - bs).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        scal = np.where(bs <= pw, np.where(be > pw, (be - pw) / width, 0.0),
                        np.where(bs < qw, np.where(be < qw, 1.0, (qw - bs) / width), 0.0))
    scal = np.where(width > 0, scal, 0.0)
    n = len(p)
    cov = np.bincount(w, weights=rec["count"][r].astype(np.float64) * scal, minlength=n)
    has = np.zeros(n, dtype=bool)
    has[w] = True
    if kind in ("min", "max"):
        first = np.flatnonzero(np.r_[True, w[1:] != w[:-1]])
        vals = rec[kind][r].astype(np.float64)
        red = (np.minimum if kind == "min" else np.maximum).reduceat(vals, first)
        out[w[first]] = red
        return out
    if kind == "coverage":
        ok = has & (cov != 0) & (q > p)
        out[ok] = cov[ok] / (q[ok] - p[ok])
        return out
    total = np.bincount(w, weights=rec["sum"][r].astype(np.float64) * scal, minlength=n)
    if kind in ("mean", "sum"):
        ok = has & (cov != 0)
        out[ok] = total[ok] / cov[ok] if kind == "mean" else total[ok]
        return out
    ssq = np.bincount(w, weights=rec["sumsq"][r].astype(np.float64) * scal, minlength=n)  # std
    ok = has & (cov > 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        diff = (ssq - total * total / cov) / (cov - 1)
        out[ok] = np.where(np.abs(diff[ok]) > 1e-8, np.sqrt(diff[ok]), 0.0)  # NaN when rounding makes it negative
    return out
