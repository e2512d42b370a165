"""bigWig reader: per-base values, intervals and summary statistics.

A bigWig is a BBI file (see :mod:`.header`) whose data blocks hold "wig
sections".  Each section starts with a 24-byte header ``chromId u32,
start u32, end u32, itemStep u32, itemSpan u32, type u8, reserved u8,
itemCount u16`` followed by ``itemCount`` items of one of three kinds:

* type 1, bedGraph: ``start u32, end u32, value f32`` (12 bytes);
* type 2, variableStep: ``start u32, value f32`` (8 bytes), each covering
  ``itemSpan`` bases;
* type 3, fixedStep: ``value f32`` (4 bytes); item ``i`` starts at
  ``start + i * itemStep`` and covers ``itemSpan`` bases.

Zoom levels hold 32-byte summary records ``chromId u32, start u32, end u32,
validCount u32, minVal f32, maxVal f32, sumData f32, sumSquares f32``.

All coordinates here are 0-based half-open; region strings are 1-based closed
(DESIGN.md §2).  Statistics follow pyBigWig / libBigWig on purpose (bin edges,
zoom-level choice, partial-overlap weighting), so numbers agree with what
users of those tools already have.
"""
from __future__ import annotations

import math
import os
import struct

import numpy as np

from ...errors import FormatError, TruncatedFileError
from .header import BbiReader, ZoomHeader
from .windows import blocks_for_windows, keys, overlap_pairs

__all__ = ["BigWigFile", "decode_wig_block", "decode_zoom_block", "STAT_TYPES"]

#: statistic names accepted by :meth:`BigWigFile.stats` (``cov`` and ``dev`` are aliases)
STAT_TYPES = ("mean", "min", "max", "std", "coverage", "sum")
_ALIASES = {"cov": "coverage", "dev": "std", "stdev": "std"}

_BEDGRAPH = {o: np.dtype([("start", o + "u4"), ("end", o + "u4"), ("value", o + "f4")]) for o in "<>"}
_VARSTEP = {o: np.dtype([("start", o + "u4"), ("value", o + "f4")]) for o in "<>"}
_FIXED = {o: np.dtype(o + "f4") for o in "<>"}
_ZOOM = {o: np.dtype([("cid", o + "u4"), ("start", o + "u4"), ("end", o + "u4"), ("count", o + "u4"),
                      ("min", o + "f4"), ("max", o + "f4"), ("sum", o + "f4"), ("sumsq", o + "f4")]) for o in "<>"}


def decode_wig_block(buf: bytes, order: str = "<", *, path=None, offset=None):
    """Decode every section of one inflated bigWig data block.

    Parameters
    ----------
    buf : bytes
        The inflated block.
    order : {"<", ">"}
        Byte order of the file.

    Returns
    -------
    chrom_ids : (n,) uint32
    starts, ends : (n,) int64
        0-based half-open item extents.
    values : (n,) float32

    Raises
    ------
    FormatError
        Unknown section type or item counts that overrun the block.
    """
    cids, starts, ends, values = [], [], [], []
    pos = 0
    n = len(buf)
    while pos < n:
        if n - pos < 24:
            raise TruncatedFileError(f"wig section header needs 24 bytes, block has {n - pos}", path=path,
                                     offset=offset, field="section header")
        cid, sstart, _send, step, span, kind, _res, count = struct.unpack_from(order + "IIIIIBBH", buf, pos)
        pos += 24
        if kind == 1:
            dt = _BEDGRAPH[order]
        elif kind == 2:
            dt = _VARSTEP[order]
        elif kind == 3:
            dt = _FIXED[order]
        else:
            raise FormatError(f"wig section type {kind} (expected 1, 2 or 3)", path=path, offset=offset,
                              field="type")
        need = count * dt.itemsize
        if need > n - pos:
            raise TruncatedFileError(f"wig section itemCount={count} needs {need} bytes, block has {n - pos}",
                                     path=path, offset=offset, field="itemCount")
        items = np.frombuffer(buf, dtype=dt, count=count, offset=pos)
        pos += need
        if kind == 1:
            s = items["start"].astype(np.int64)
            e = items["end"].astype(np.int64)
            v = items["value"]
        elif kind == 2:
            s = items["start"].astype(np.int64)
            e = s + span
            v = items["value"]
        else:
            s = sstart + step * np.arange(count, dtype=np.int64)
            e = s + span
            v = items
        cids.append(np.full(count, cid, dtype=np.uint32))
        starts.append(s)
        ends.append(e)
        values.append(np.asarray(v, dtype=np.float32))
    if not cids:
        return (np.zeros(0, np.uint32), np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32))
    if len(cids) == 1:
        return cids[0], starts[0], ends[0], values[0]
    return np.concatenate(cids), np.concatenate(starts), np.concatenate(ends), np.concatenate(values)


def decode_zoom_block(buf: bytes, order: str = "<", *, path=None, offset=None) -> np.ndarray:
    """Decode one inflated zoom block into a native-endian structured array.

    Fields ``cid start end count min max sum sumsq`` (the on-disk record).
    """
    if len(buf) % 32:
        raise FormatError(f"zoom block of {len(buf)} bytes is not a whole number of 32-byte records",
                          path=path, offset=offset, field="zoom record")
    rec = np.frombuffer(buf, dtype=_ZOOM[order])
    return rec.astype(_ZOOM["<"]) if order == ">" else rec


class BigWigFile(BbiReader):
    """A bigWig file opened for region queries.

    Use :func:`hts_notebook.open` or :func:`hts_notebook.open_bigwig`.

    Parameters
    ----------
    path : str, os.PathLike, bytes or binary file object
    cache_blocks : int
        Inflated data blocks kept in memory (LRU).

    Attributes
    ----------
    contigs : dict of str to int
        Chromosome names and lengths, in chromosome-id order (as pyBigWig).
    zoom_levels : list of ZoomHeader
        Zoom levels, finest first (``reduction_level`` bases per summary).
    total_summary : TotalSummary or None
        The file's whole-data summary.

    Raises
    ------
    FormatError
        Not a bigWig, or a malformed header / chromosome tree.
    TruncatedFileError
        The file ends inside a structure it declares.
    """

    def __init__(self, path, *, cache_blocks: int = 512):
        super().__init__(path, "bigwig", cache_blocks)

    def __repr__(self):
        return f"BigWigFile({self.path!r}, contigs={len(self.contigs)}, zoom_levels={len(self.zoom_headers)})"

    @property
    def header(self) -> dict:
        """Header and total summary (pyBigWig ``header()`` keys, untruncated, plus raw offsets)."""
        return self._header_dict()

    @property
    def zoom_levels(self) -> list[ZoomHeader]:
        return list(self.zoom_headers)

    # ------------------------------------------------------------------ raw data
    def _decoded(self, offset: int, size: int):
        def make():
            buf = self._block(offset, size)
            return decode_wig_block(buf, self.bbi_header.byteorder, path=self.path, offset=offset)

        return self._cached(("data", offset), make)

    def _fetch(self, chrom_id: int, start: int, stop: int):
        ss, es, vs = [], [], []
        if stop <= start:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32)
        for off, size in self.index.query(chrom_id, start, stop):
            cid, s, e, v = self._decoded(off, size)
            keep = (cid == chrom_id) & (s < stop) & (e > start)
            if keep.all():
                ss.append(s), es.append(e), vs.append(v)
            elif keep.any():
                ss.append(s[keep]), es.append(e[keep]), vs.append(v[keep])
        if not ss:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32)
        return np.concatenate(ss), np.concatenate(es), np.concatenate(vs)

    def intervals(self, region):
        """Intervals overlapping a region, as stored (not clipped to the region).

        Parameters
        ----------
        region : str, Region or tuple
            ``"chr1:1,001-2,000"`` (1-based closed), a :class:`Region`, or a
            0-based half-open ``(contig, start, stop)`` tuple.

        Returns
        -------
        starts : (n,) int64
            0-based starts.
        ends : (n,) int64
            0-based exclusive ends.
        values : (n,) float32

        Raises
        ------
        RegionError
            Malformed region or unknown contig.
        FormatError, TruncatedFileError
            Corrupt index or data block.
        """
        _reg, cid, start, stop = self._resolve(region)
        return self._fetch(cid, start, stop)

    def values(self, region, *, fill: float = float("nan")):
        """Per-base values over a region.

        Parameters
        ----------
        region : str, Region or tuple
            1-based closed string or 0-based half-open tuple.
        fill : float
            Value for bases without data (NaN by default, as pyBigWig).

        Returns
        -------
        xarray.DataArray
            ``position_value``, float32, dim ``positions`` with the 1-based
            coordinate ``position``; ``attrs["region"]``, ``attrs["source"]``.
            Where intervals overlap, the later one in file order wins.
        """
        from ...dataset.signal import position_values

        reg, cid, start, stop = self._resolve(region)
        s, e, v = self._fetch(cid, start, stop)
        out = np.full(stop - start, fill, dtype=np.float32)
        if len(s):
            rs = np.clip(s - start, 0, stop - start)
            re_ = np.clip(e - start, 0, stop - start)
            lengths = re_ - rs
            ok = lengths > 0
            if ok.all() and (len(s) < 2 or np.all(rs[1:] >= re_[:-1])):
                idx = np.repeat(np.arange(len(s)), lengths)
                pos = np.arange(len(idx)) - np.repeat(np.cumsum(lengths) - lengths, lengths) + np.repeat(rs, lengths)
                out[pos] = v[idx]
            else:
                for a, b, x in zip(rs[ok].tolist(), re_[ok].tolist(), v[ok].tolist()):
                    out[a:b] = x
        return position_values(out, reg, source=self.path)

    # ------------------------------------------------------------------ zoom data
    def _zoom_records(self, level: int, chrom_id: int, start: int, stop: int) -> np.ndarray:
        parts = []
        for off, size in self.zoom_index(level).query(chrom_id, start, stop):
            def make(off=off, size=size):
                buf = self._block(off, size, "zoom block")
                return decode_zoom_block(buf, self.bbi_header.byteorder, path=self.path, offset=off)

            rec = self._cached(("zoom", off), make)
            keep = (rec["cid"] == chrom_id) & (rec["start"] < stop) & (rec["end"] > start)
            parts.append(rec[keep])
        if not parts:
            return np.zeros(0, dtype=_ZOOM["<"])
        return np.concatenate(parts)

    def zoom_records(self, region, level: int = 0):
        """Stored summary records of one zoom level overlapping a region.

        Parameters
        ----------
        region : str, Region or tuple
        level : int
            Index into :attr:`zoom_levels` (0 = finest).

        Returns
        -------
        xarray.Dataset
            dim ``bins``: ``bin_start``, ``bin_stop`` (0-based half-open, int64),
            ``bin_count`` (bases with data, int64), ``bin_min``, ``bin_max``,
            ``bin_sum``, ``bin_sum_squares``, ``bin_mean`` (float64).
        """
        from ...dataset.signal import bins_dataset

        reg, cid, start, stop = self._resolve(region)
        if not 0 <= level < len(self.zoom_headers):
            raise IndexError(f"zoom level {level} out of range (file has {len(self.zoom_headers)})")
        rec = self._zoom_records(level, cid, start, stop)
        count = rec["count"].astype(np.int64)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(count > 0, rec["sum"].astype(np.float64) / count, np.nan)
        return bins_dataset(
            rec["start"].astype(np.int64), rec["end"].astype(np.int64),
            {"count": count, "min": rec["min"].astype(np.float64), "max": rec["max"].astype(np.float64),
             "sum": rec["sum"].astype(np.float64), "sum_squares": rec["sumsq"].astype(np.float64), "mean": mean},
            reg, source=self.path, attrs={"reduction_level": self.zoom_headers[level].reduction_level},
        )

    def choose_zoom_level(self, bases_per_bin: float) -> int:
        """Zoom level pyBigWig would use for bins of this size, or -1 for raw data.

        libBigWig's rule: the level with the largest reduction that is still at
        most half of the (integer) bin size.
        """
        half = int(bases_per_bin) // 2
        best, best_diff = -1, None
        for i, zh in enumerate(self.zoom_headers):
            diff = half - zh.reduction_level
            if diff >= 0 and (best_diff is None or diff < best_diff):
                best, best_diff = i, diff
        return best

    # ------------------------------------------------------------------ statistics
    def stats(self, region, type: str = "mean", bins: int = 1, exact: bool = False):  # noqa: A002
        """Summary statistic of a region, in ``bins`` equal bins.

        Parameters
        ----------
        region : str, Region or tuple
            1-based closed string or 0-based half-open tuple; a bare contig
            name means the whole contig.
        type : {"mean", "min", "max", "std", "coverage", "sum"}
            ``coverage`` is the fraction of bases with data; ``std`` is the
            sample standard deviation over bases.
        bins : int
            Number of bins; bin ``i`` ends at ``start + floor((stop - start) * (i + 1) / bins)``.
        exact : bool
            Compute from the raw intervals.  Otherwise use the zoom level
            libBigWig would choose (largest reduction <= half the bin size),
            falling back to raw data when no level qualifies.  Zoom records
            that straddle a bin edge are weighted by the fraction inside, as
            libBigWig does, so zoom answers are approximate.

        Returns
        -------
        xarray.DataArray
            ``bin_<type>`` (float64, NaN where a bin has no data) on dim
            ``bins`` with coordinates ``bin_start`` / ``bin_stop`` (0-based
            half-open); ``attrs["zoom_level"]`` is the level used (-1 = raw).

        Raises
        ------
        ValueError
            Unknown ``type`` or ``bins < 1``.
        RegionError
            Malformed region or unknown contig.
        """
        from ...dataset.signal import bins_dataset

        kind = _ALIASES.get(type, type)
        if kind not in STAT_TYPES:
            raise ValueError(f"unknown statistic {type!r} (choose from {', '.join(STAT_TYPES)})")
        bins = int(bins)
        if bins < 1:
            raise ValueError(f"bins={bins} < 1")
        reg, cid, start, stop = self._resolve(region)
        span = stop - start
        edges = [start] + [start + int(span * (i + 1) / bins) for i in range(bins)]
        level = -1 if exact else self.choose_zoom_level(span / bins)
        if self.total_summary is not None and self.total_summary.bases_covered == 0:
            out = np.full(bins, np.nan)
        elif level < 0:
            out = self._stats_raw(cid, edges, kind)
        else:
            out = self._stats_zoom(level, cid, edges, kind)
        ds = bins_dataset(np.asarray(edges[:-1], np.int64), np.asarray(edges[1:], np.int64), {kind: out}, reg,
                          source=self.path, attrs={"zoom_level": level, "exact": bool(exact), "statistic": kind})
        da = ds[f"bin_{kind}"]
        da.attrs.update(ds.attrs)
        return da

    def summaries(self, region, bins: int = 1, exact: bool = False):
        """All statistics of :meth:`stats` at once, as a Dataset on dim ``bins``."""
        import xarray as xr

        return xr.merge([self.stats(region, t, bins, exact) for t in STAT_TYPES], combine_attrs="drop_conflicts")

    def _stats_raw(self, cid: int, edges: list[int], kind: str) -> np.ndarray:
        s, e, v = self._fetch(cid, edges[0], edges[-1])
        order = np.argsort(s, kind="stable")
        s, e, v = s[order], e[order], v[order]
        run_end = np.maximum.accumulate(e) if len(e) else e
        out = np.full(len(edges) - 1, np.nan)
        for i in range(len(edges) - 1):
            p, q = edges[i], edges[i + 1]
            hi = int(np.searchsorted(s, q, "left"))
            lo = int(np.searchsorted(run_end, p, "right"))
            if hi <= lo:
                continue
            bs, be, bv = s[lo:hi], e[lo:hi], v[lo:hi]
            hit = be > p
            if not hit.any():
                continue
            bs, be, bv = bs[hit], be[hit], bv[hit]
            ov = np.minimum(be, q) - np.maximum(bs, p)
            n = int(ov.sum())
            if kind == "max":
                out[i] = float(bv.max())
            elif kind == "min":
                out[i] = float(bv.min())
            elif kind == "coverage":
                out[i] = n / (q - p) if q > p else np.nan
            elif n > 0:
                total = float(np.sum(ov * bv.astype(np.float64)))
                mean = total / n
                if kind == "mean":
                    out[i] = mean
                elif kind == "sum":
                    out[i] = total
                else:  # std
                    ssd = float(np.sum(ov * (bv.astype(np.float64) - mean) ** 2))
                    out[i] = math.sqrt(ssd / (n - 1)) if n >= 2 else math.sqrt(ssd)
        return out

    def _stats_zoom(self, level: int, cid: int, edges: list[int], kind: str) -> np.ndarray:
        rec = self._zoom_records(level, cid, edges[0], edges[-1])
        vs = rec["start"].astype(np.int64)
        ve = rec["end"].astype(np.int64)
        out = np.full(len(edges) - 1, np.nan)
        for i in range(len(edges) - 1):
            p, q = edges[i], edges[i + 1]
            inc = ((p <= vs) & (q > vs)) | ((p < ve) & (p >= vs))
            if not inc.any():
                continue
            r = rec[inc]
            bs, be = vs[inc], ve[inc]
            width = (be - bs).astype(np.float64)
            with np.errstate(invalid="ignore", divide="ignore"):
                scal = np.where(
                    bs <= p, np.where(be > p, (be - p) / width, 0.0),
                    np.where(bs < q, np.where(be < q, 1.0, (q - bs) / width), 0.0))
            scal = np.where(width > 0, scal, 0.0)
            cov = float(np.sum(r["count"].astype(np.float64) * scal))
            if kind == "max":
                out[i] = float(r["max"].max())
            elif kind == "min":
                out[i] = float(r["min"].min())
            elif kind == "coverage":
                out[i] = cov / (q - p) if cov and q > p else np.nan
            elif kind in ("mean", "sum"):
                total = float(np.sum(r["sum"].astype(np.float64) * scal))
                if cov:
                    out[i] = total / cov if kind == "mean" else total
            else:  # std
                total = float(np.sum(r["sum"].astype(np.float64) * scal))
                ssq = float(np.sum(r["sumsq"].astype(np.float64) * scal))
                if cov > 1.0:
                    diff = (ssq - total * total / cov) / (cov - 1)
                    out[i] = 0.0 if abs(diff) <= 1e-8 else math.sqrt(diff) if diff > 0 else math.nan
        return out


def _decode_many(track: BigWigFile, blocks: list[tuple[int, int]], parallel: bool = True):
    """Decoded blocks in order; blocks not in the cache are inflated on a thread pool (zlib drops the GIL)."""
    import os

    hits = {b: track._cache.get(("data", b[0])) for b in blocks}
    missing = [b for b in blocks if hits[b] is None]
    if parallel and len(missing) > 8 and (os.cpu_count() or 1) > 1:
        def work(b):
            buf = track._block(b[0], b[1])
            return decode_wig_block(buf, track.bbi_header.byteorder, path=track.path, offset=b[0])

        for b, dec in zip(missing, _decode_pool().map(work, missing)):
            hits[b] = dec
            track._cached(("data", b[0]), lambda dec=dec: dec)  # keep it for the next windows
    return [hits[b] if hits[b] is not None else track._decoded(*b) for b in blocks]


_POOL = None


def _decode_pool():
    """One shared thread pool for inflating bigWig blocks (zlib releases the GIL)."""
    import os
    from concurrent.futures import ThreadPoolExecutor

    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1), thread_name_prefix="bbi-inflate")
    return _POOL


class TrackSet:
    """Several bigWig files queried together as one ``(windows, positions, tracks)`` array.

    Use :func:`hts_notebook.open_tracks`.

    Parameters
    ----------
    paths : list of path-like
        bigWig files (one track each, in this order).
    names : list of str, optional
        Track names (default: file names without extension).

    Attributes
    ----------
    tracks : list of BigWigFile
    names : list of str
    contigs : dict of str to int
        Union of the tracks' contigs (longest length wins).
    """

    def __init__(self, paths, names=None):
        import os

        self.tracks = []
        try:
            for p in paths:
                self.tracks.append(BigWigFile(p))
        except BaseException:
            self.close()
            raise
        self.names = list(names) if names is not None else [
            os.path.splitext(os.path.basename(str(p)))[0] for p in paths]
        if len(self.names) != len(self.tracks):
            raise ValueError("one name per track")
        self.contigs: dict[str, int] = {}
        for t in self.tracks:
            for k, v in t.contigs.items():
                self.contigs[k] = max(v, self.contigs.get(k, 0))

    def __repr__(self):
        return f"TrackSet({len(self.tracks)} tracks: {', '.join(self.names[:5])}{' ...' if len(self.names) > 5 else ''})"

    def __len__(self):
        return len(self.tracks)

    def close(self):
        for t in self.tracks:
            t.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _windows_arg(self, contigs, starts, length):
        from ...errors import RegionError

        starts = np.atleast_1d(np.asarray(starts, dtype=np.int64))
        if isinstance(contigs, str):
            contigs = [contigs] * len(starts)
        contigs = np.asarray(contigs, dtype=str)
        if contigs.shape != starts.shape:
            raise ValueError(f"{len(contigs)} contigs for {len(starts)} starts")
        if length < 0 or (len(starts) and starts.min() < 0):
            raise RegionError("window starts and length must be >= 0", field="start")
        unknown = set(np.unique(contigs).tolist()) - set(self.contigs)
        if unknown:
            raise RegionError(f"unknown contig {sorted(unknown)[0]!r}", field="contig")
        return contigs, starts, int(length)

    def _intervals(self, track: BigWigFile, contigs, starts, stops, parallel: bool = True):
        """(window, start, end, value) of every interval overlapping each window, for one track."""
        cids = np.array([track._chrom_ids.get(c, -1) for c in contigs.tolist()], dtype=np.int64)
        present = cids >= 0
        win_all = np.flatnonzero(present)
        empty = (np.zeros(0, np.int64),) * 3 + (np.zeros(0, np.float32),)
        if not len(win_all):
            return empty
        qlo = keys(cids[win_all], starts[win_all])
        qhi = keys(cids[win_all], stops[win_all])
        parts = _decode_many(track, blocks_for_windows(track.index, qlo, qhi), parallel)
        if not parts:
            return empty
        c = np.concatenate([p[0] for p in parts]).astype(np.int64)
        s = np.concatenate([p[1] for p in parts])
        e = np.concatenate([p[2] for p in parts])
        v = np.concatenate([p[3] for p in parts])
        sk = keys(c, s)
        if len(sk) > 1 and np.any(sk[1:] < sk[:-1]):
            order = np.argsort(sk, kind="stable")
            c, s, e, v, sk = c[order], s[order], e[order], v[order], sk[order]
        q, rows = overlap_pairs(sk, keys(c, e), qlo, qhi)
        return win_all[q], s[rows], e[rows], v[rows]

    def _rows(self, contigs, starts, length):
        stops = starts + length
        segs, ss, es, vs = [], [], [], []
        n_tracks = len(self.tracks)
        for t, track in enumerate(self.tracks):
            win, s, e, v = self._intervals(track, contigs, starts, stops)
            segs.append(win * n_tracks + t)
            ss.append(s - starts[win])
            es.append(e - starts[win])
            vs.append(v)
        seg = np.concatenate(segs)
        order = np.argsort(seg, kind="stable")
        return (seg[order], np.clip(np.concatenate(ss)[order], 0, length),
                np.clip(np.concatenate(es)[order], 0, length), np.concatenate(vs)[order])

    def windows(self, contigs, starts, length: int, *, fill: float = float("nan"), backend: str = "auto",
                chunk_elements: int = 1 << 25):
        """Per-base values of many equal-length windows across all tracks, in one array.

        Parameters
        ----------
        contigs : str or (W,) array of str
            Contig of each window (one name for all windows, or one per window).
        starts : (W,) int
            0-based window starts.
        length : int
            Window length in bases (windows are ``[start, start + length)``;
            bases past a contig's end read as ``fill``).
        fill : float
            Value for bases without data (NaN).
        backend : {"auto", "numpy", "jax"}
            ``"numpy"``: each track's intervals are written as runs straight
            into the result (:func:`~hts_notebook.core.kernels.bigwig.dense_runs_numpy`),
            the fastest on a CPU.  ``"jax"``: the jitted kernel
            (:func:`~hts_notebook.core.kernels.bigwig.dense_jax`), for an
            accelerator.  ``"auto"`` (default) picks ``"jax"`` when JAX has a
            GPU/TPU, else ``"numpy"``.  Both give the same values.
        chunk_elements : int
            With ``"jax"``: windows go to the kernel in chunks of about this
            many output values (bounded memory; every chunk has the same padded
            shape).

        Returns
        -------
        xarray.DataArray
            ``position_value`` float32 with dims ``(windows, positions, tracks)``
            and coordinates ``window_contig``, ``window_start``, ``window_stop``
            (0-based half-open), ``position`` (1-based, per window), ``offset``,
            ``track``.  The data is a ``(windows, tracks, positions)``
            C-ordered buffer seen through a transpose, so
            ``.data.transpose(0, 2, 1)`` gives the channels-first array with no
            copy.

        Raises
        ------
        RegionError
            Unknown contig or negative start.
        """
        from ...dataset.signal import window_batch
        from ...kernels import bigwig as kern
        from ...kernels._jax import resolve_backend

        contigs, starts, length = self._windows_arg(contigs, starts, length)
        n_w, n_t = len(starts), len(self.tracks)
        backend = resolve_backend(backend)
        if backend == "numpy":
            buf = np.empty((n_w, n_t, length), dtype=np.float32)
            stops = starts + length

            def one_track(t):
                track = self.tracks[t]
                win, s, e, v = self._intervals(track, contigs, starts, stops, parallel=n_t == 1)
                kern.dense_runs_numpy(win, s - starts[win], e - starts[win], v, buf[:, t, :], fill)

            if n_t > 1 and (os.cpu_count() or 1) > 1:  # tracks side by side (inflating and numpy drop the GIL)
                for _ in _decode_pool().map(one_track, range(n_t)):
                    pass
            else:
                for t in range(n_t):
                    one_track(t)
            out = buf.transpose(0, 2, 1)
        else:  # "jax"
            from ...kernels._jax import bucket

            seg, s, e, v = self._rows(contigs, starts, length)
            out = np.empty((n_w, length, n_t), dtype=np.float32)
            per = max(1, chunk_elements // (max(n_t, 1) * bucket(max(length, 1), minimum=64)))
            chunk = 1 << (per.bit_length() - 1)  # a power of two: every chunk pads to the same shape
            win = seg // max(n_t, 1)
            for a in range(0, n_w, chunk):
                b = min(a + chunk, n_w)
                lo, hi = np.searchsorted(win, [a, b])
                sub = kern.dense_jax(seg[lo:hi] - a * n_t, s[lo:hi], e[lo:hi], v[lo:hi],
                                     chunk if n_w > chunk else n_w, n_t, length, fill)
                out[a:b] = sub[: b - a]
        return window_batch(out, contigs, starts, self.names, sources=[t.path for t in self.tracks])

    def stats(self, contigs, starts, stops, type: str = "mean", exact: bool = False):  # noqa: A002
        """One summary statistic per window and track, as ``BigWigFile.stats(region, type)`` (``bins=1``).

        Parameters
        ----------
        contigs : str or (W,) array of str
        starts, stops : (W,) int
            0-based half-open windows (any lengths); stops past a contig's
            end are clipped to it, as a single-file query is.
        type : {"mean", "min", "max", "std", "coverage", "sum"}
        exact : bool
            From the raw intervals rather than the zoom level libBigWig would
            pick (see :meth:`BigWigFile.stats`).

        Returns
        -------
        xarray.DataArray
            ``window_<type>`` float64, dims ``(windows, tracks)``; NaN where a
            window has no data or the track lacks the contig.  Coordinates
            ``window_contig``, ``window_start``, ``window_stop``, ``track``.

        Raises
        ------
        ValueError
            Unknown statistic, or window arrays of different lengths.
        RegionError
            Unknown contig (in every track) or negative start.
        """
        import xarray as xr

        from .windows import window_summary

        kind = _ALIASES.get(type, type)
        if kind not in STAT_TYPES:
            raise ValueError(f"unknown statistic {type!r} (choose from {', '.join(STAT_TYPES)})")
        contigs, starts, _ = self._windows_arg(contigs, starts, 0)
        stops = np.atleast_1d(np.asarray(stops, dtype=np.int64))
        if stops.shape != starts.shape:
            raise ValueError(f"{len(stops)} stops for {len(starts)} starts")
        out = np.full((len(starts), len(self.tracks)), np.nan)
        names = contigs.tolist()
        for t, track in enumerate(self.tracks):
            cids = np.array([track._chrom_ids.get(c, -1) for c in names], dtype=np.int64)
            lens = np.array([track.contigs.get(c, 0) for c in names], dtype=np.int64)
            clipped = np.minimum(stops, lens)
            out[:, t] = window_summary(track, cids, starts, clipped, kind, exact)
        return xr.DataArray(
            out, dims=("windows", "tracks"), name=f"window_{kind}",
            coords={"window_contig": ("windows", contigs), "window_start": ("windows", starts),
                    "window_stop": ("windows", stops), "track": ("tracks", np.asarray(self.names))},
            attrs={"statistic": kind, "exact": bool(exact)},
        )

    def window_stats(self, contigs, starts, length: int, *, backend: str = "jax"):
        """Exact per-window statistics across tracks (pyBigWig ``exact=True`` semantics).

        Parameters
        ----------
        contigs, starts, length
            As in :meth:`windows`.
        backend : {"jax", "numpy"}
            JAX sums in float32; numpy in float64.

        Returns
        -------
        xarray.Dataset
            ``window_mean``, ``window_min``, ``window_max``, ``window_std``,
            ``window_coverage``, ``window_sum`` (float64, dims ``(windows,
            tracks)``), NaN where a window has no data.
        """
        import xarray as xr

        from ...kernels import bigwig as kern

        contigs, starts, length = self._windows_arg(contigs, starts, length)
        n_w, n_t = len(starts), len(self.tracks)
        seg, s, e, v = self._rows(contigs, starts, length)
        fn = kern.window_stats_jax if backend == "jax" else kern.window_stats_numpy
        res = fn(seg, s, e, v, n_w * n_t, length)
        return xr.Dataset(
            {f"window_{k}": (("windows", "tracks"), r.reshape(n_w, n_t)) for k, r in res.items()},
            coords={"window_contig": ("windows", contigs), "window_start": ("windows", starts),
                    "window_stop": ("windows", starts + length), "track": ("tracks", np.asarray(self.names))},
        )
