"""bigWig and bigBed writers.

The files follow the layout described in :mod:`.header`: header, zoom
headers, autoSql (bigBed), total summary, chromosome B+ tree, data blocks
(zlib-compressed by default), the data R-tree, then for each zoom level its
summary blocks and their R-tree.  Chromosome ids follow name (byte) order.

Zoom levels: summaries are computed on bins aligned to multiples of the
reduction, each record spanning the bases with data inside its bin.  The first
reduction starts at ten times the narrowest interval and doubles until the
summaries take at most half the bytes of the data (or stop shrinking); each
further level is four times coarser than the last, up to ten levels, stopping
once a level no longer reduces the record count.  Coarser levels are merged
from the finer one in double precision, so all levels are mutually
consistent; records store float32 like every BBI writer.

bigWig data is written as bedGraph sections (type 1) of ``items_per_slot``
items, one chromosome per section.  bigBed zoom levels and the total summary
describe the per-base coverage depth of the records, as bedToBigBed does.
"""
from __future__ import annotations

import os
import struct
import zlib

import numpy as np

from .header import (BIGBED_MAGIC, BIGWIG_MAGIC, CHROM_TREE_MAGIC, HEADER_SIZE, RTREE_MAGIC, SUMMARY_SIZE,
                     ZOOM_HEADER_SIZE)

__all__ = ["write_bigwig", "bedgraph_to_bigwig", "dataarray_to_bigwig", "write_bigbed", "zoom_reductions"]

MAX_ZOOM_LEVELS = 10
ZOOM_STEP = 4


# ---------------------------------------------------------------------------- trees
def _chrom_tree(names: list[str], lengths: list[int], block_size: int = 256) -> bytes:
    """B+ tree mapping each name (sorted) to ``(chromId, chromSize)``; ids are the sorted order."""
    keys = [n.encode() for n in names]
    n = len(keys)
    key_size = max([len(k) for k in keys] + [1])
    bs = max(1, min(block_size, n))
    head = struct.pack("<IIIIQQ", CHROM_TREE_MAGIC, bs, key_size, 8, n, 0)
    # level 0: leaves; above: internal nodes keyed by their first key
    levels = []
    leaf_groups = [list(range(i, min(i + bs, n))) for i in range(0, n, bs)] or [[]]
    levels.append(leaf_groups)
    while len(levels[-1]) > 1:
        below = levels[-1]
        levels.append([list(range(i, min(i + bs, len(below)))) for i in range(0, len(below), bs)])
    # sizes and offsets, root level first
    leaf_item, node_item = key_size + 8, key_size + 8
    sizes = [[4 + len(g) * (leaf_item if li == 0 else node_item) for g in lvl] for li, lvl in enumerate(levels)]
    offsets: dict[tuple[int, int], int] = {}
    pos = 32
    for li in range(len(levels) - 1, -1, -1):
        for gi, size in enumerate(sizes[li]):
            offsets[(li, gi)] = pos
            pos += size
    first_key: dict[tuple[int, int], bytes] = {}
    for gi, g in enumerate(levels[0]):
        first_key[(0, gi)] = keys[g[0]] if g else b""
    for li in range(1, len(levels)):
        for gi, g in enumerate(levels[li]):
            first_key[(li, gi)] = first_key[(li - 1, g[0])]
    out = [head]
    for li in range(len(levels) - 1, -1, -1):
        for gi, g in enumerate(levels[li]):
            node = [struct.pack("<BBH", 1 if li == 0 else 0, 0, len(g))]
            for item in g:
                if li == 0:
                    node.append(keys[item].ljust(key_size, b"\0") + struct.pack("<II", item, lengths[item]))
                else:
                    node.append(first_key[(li - 1, item)].ljust(key_size, b"\0")
                                + struct.pack("<Q", 0))  # patched below with the absolute offset
            out.append(b"".join(node))
    return b"".join(out), offsets, levels, key_size


def _chrom_tree_bytes(names, lengths, base: int, block_size: int = 256) -> bytes:
    raw, offsets, levels, key_size = _chrom_tree(names, lengths, block_size)
    buf = bytearray(raw)
    for li in range(1, len(levels)):
        for gi, g in enumerate(levels[li]):
            node = offsets[(li, gi)]
            for j, child in enumerate(g):
                at = node + 4 + j * (key_size + 8) + key_size
                buf[at:at + 8] = struct.pack("<Q", base + offsets[(li - 1, child)])
    return bytes(buf)


def _rtree_bytes(items: np.ndarray, base: int, end_file_offset: int, items_per_slot: int,
                 block_size: int = 256) -> bytes:
    """R-tree over ``items`` (fields sc sb ec eb off size), written at file offset ``base``."""
    n = len(items)
    bs = max(2, block_size)
    # boxes per level: leaf nodes group items; internal nodes group nodes
    def group(count):
        return [(i, min(i + bs, count)) for i in range(0, count, bs)] or [(0, 0)]

    levels = [group(n)]
    boxes = []  # per level: list of (sc, sb, ec, eb) per node
    if n:
        key_s = (items["sc"].astype(np.int64) << 32) | items["sb"].astype(np.int64)
        key_e = (items["ec"].astype(np.int64) << 32) | items["eb"].astype(np.int64)
    else:
        key_s = key_e = np.zeros(1, np.int64)
    lvl_s = [int(key_s[a:b].min()) if b > a else 0 for a, b in levels[0]]
    lvl_e = [int(key_e[a:b].max()) if b > a else 0 for a, b in levels[0]]
    boxes.append((lvl_s, lvl_e))
    while len(levels[-1]) > 1:
        below_s, below_e = boxes[-1]
        g = group(len(levels[-1]))
        levels.append(g)
        boxes.append(([min(below_s[a:b]) for a, b in g], [max(below_e[a:b]) for a, b in g]))
    sizes = [[4 + (b - a) * (32 if li == 0 else 24) for a, b in lvl] for li, lvl in enumerate(levels)]
    offsets: dict[tuple[int, int], int] = {}
    pos = base + 48
    for li in range(len(levels) - 1, -1, -1):
        for gi, size in enumerate(sizes[li]):
            offsets[(li, gi)] = pos
            pos += size
    all_s, all_e = (int(key_s.min()), int(key_e.max())) if n else (0, 0)
    out = [struct.pack("<IIQIIIIQII", RTREE_MAGIC, bs, n, all_s >> 32, all_s & 0xFFFFFFFF, all_e >> 32,
                       all_e & 0xFFFFFFFF, end_file_offset, items_per_slot, 0)]
    leaf_dt = np.dtype([("sc", "<u4"), ("sb", "<u4"), ("ec", "<u4"), ("eb", "<u4"), ("off", "<u8"), ("size", "<u8")])
    node_dt = np.dtype([("sc", "<u4"), ("sb", "<u4"), ("ec", "<u4"), ("eb", "<u4"), ("off", "<u8")])
    for li in range(len(levels) - 1, -1, -1):
        for gi, (a, b) in enumerate(levels[li]):
            out.append(struct.pack("<BBH", 1 if li == 0 else 0, 0, b - a))
            if li == 0:
                if b > a:
                    out.append(items[a:b].astype(leaf_dt).tobytes())
            else:
                cs, ce = boxes[li - 1]
                rec = np.zeros(b - a, dtype=node_dt)
                rec["sc"] = [cs[j] >> 32 for j in range(a, b)]
                rec["sb"] = [cs[j] & 0xFFFFFFFF for j in range(a, b)]
                rec["ec"] = [ce[j] >> 32 for j in range(a, b)]
                rec["eb"] = [ce[j] & 0xFFFFFFFF for j in range(a, b)]
                rec["off"] = [offsets[(li - 1, j)] for j in range(a, b)]
                out.append(rec.tobytes())
    return b"".join(out)


_ITEM_DT = np.dtype([("sc", "<u4"), ("sb", "<u4"), ("ec", "<u4"), ("eb", "<u4"), ("off", "<u8"), ("size", "<u8")])


# ---------------------------------------------------------------------------- zoom summaries
def _summaries(cid, s, e, v, reduction: int) -> dict:
    """Zoom records for bins of ``reduction`` bases from sorted, non-overlapping intervals."""
    keep = e > s
    cid, s, e, v = cid[keep], s[keep], e[keep], v[keep].astype(np.float64)
    first = s // reduction
    last = (e - 1) // reduction
    counts = last - first + 1
    rep = np.repeat(np.arange(len(s)), counts)
    within = np.arange(len(rep)) - np.repeat(np.cumsum(counts) - counts, counts)
    b = first[rep] + within
    ps = np.maximum(s[rep], b * reduction)
    pe = np.minimum(e[rep], (b + 1) * reduction)
    ov = (pe - ps).astype(np.float64)
    pv = v[rep]
    key = (cid[rep].astype(np.int64) << 32) | b
    return _reduce(key, cid[rep], ps, pe, ov, ov * pv, ov * pv * pv, pv, pv)


def _reduce(key, cid, ps, pe, count, total, sumsq, mn, mx) -> dict:
    if not len(key):
        z = np.zeros(0)
        return {"cid": z.astype(np.int64), "start": z.astype(np.int64), "end": z.astype(np.int64), "count": z,
                "sum": z, "sumsq": z, "min": z, "max": z}
    cut = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    endi = np.r_[cut[1:], len(key)] - 1
    return {
        "cid": cid[cut].astype(np.int64), "start": ps[cut].astype(np.int64), "end": pe[endi].astype(np.int64),
        "count": np.add.reduceat(count, cut), "sum": np.add.reduceat(total, cut),
        "sumsq": np.add.reduceat(sumsq, cut), "min": np.minimum.reduceat(mn, cut),
        "max": np.maximum.reduceat(mx, cut),
    }


def _coarser(rec: dict, reduction: int) -> dict:
    key = (rec["cid"] << 32) | (rec["start"] // reduction)
    return _reduce(key, rec["cid"], rec["start"], rec["end"], rec["count"], rec["sum"], rec["sumsq"],
                   rec["min"], rec["max"])


def zoom_reductions(s, e, n_items: int, item_bytes: int = 12) -> int:
    """Starting reduction: ten times the narrowest interval (see module doc)."""
    spans = e - s
    spans = spans[spans > 0]
    r = max(1, int(spans.min()) * 10) if len(spans) else 10
    return r


def _zoom_levels(cid, s, e, v, chrom_max: int, item_bytes: int, max_levels: int):
    if max_levels <= 0 or not len(s):
        return []
    r = zoom_reductions(s, e, len(s), item_bytes)
    data_bytes = len(s) * item_bytes
    last_count = None
    while True:
        # count distinct bins cheaply before building them (intervals sorted, non-overlapping)
        first, last = s // r, (e - 1) // r
        shared = (first[1:] == last[:-1]) & (cid[1:] == cid[:-1])
        nb = int(np.sum(last - first + 1)) - int(np.sum(shared))
        if nb * 32 * 2 <= data_bytes or (last_count is not None and nb >= last_count) or r > chrom_max:
            break
        last_count = nb
        r *= 2
    levels = [(r, _summaries(cid, s, e, v, r))]
    while len(levels) < max_levels:
        r2 = levels[-1][0] * ZOOM_STEP
        if r2 > max(chrom_max, 1) * ZOOM_STEP or r2 >= 2 ** 31:
            break
        rec = _coarser(levels[-1][1], r2)
        if len(rec["start"]) >= len(levels[-1][1]["start"]):
            break
        levels.append((r2, rec))
    return levels


# ---------------------------------------------------------------------------- file assembly
class _Out:
    def __init__(self, fh, compress: bool):
        self.fh = fh
        self.compress = compress
        self.max_raw = 0

    @property
    def pos(self) -> int:
        return self.fh.tell()

    def write(self, b: bytes) -> int:
        at = self.fh.tell()
        self.fh.write(b)
        return at

    def block(self, raw: bytes) -> tuple[int, int]:
        self.max_raw = max(self.max_raw, len(raw))
        data = zlib.compress(raw, 6) if self.compress else raw
        return self.write(data), len(data)


def _write_zoom(out: _Out, levels, items_per_slot: int, block_size: int):
    headers = []
    rec_dt = np.dtype([("cid", "<u4"), ("start", "<u4"), ("end", "<u4"), ("count", "<u4"), ("min", "<f4"),
                       ("max", "<f4"), ("sum", "<f4"), ("sumsq", "<f4")])
    for reduction, rec in levels:
        n = len(rec["start"])
        data_off = out.write(struct.pack("<I", n))
        arr = np.zeros(n, dtype=rec_dt)
        for k in ("cid", "start", "end"):
            arr[k] = rec[k]
        arr["count"] = np.round(rec["count"]).astype(np.int64)
        for k in ("min", "max", "sum", "sumsq"):
            arr[k] = rec[k]
        items = []
        i = 0
        while i < n:
            j = min(i + items_per_slot, n)
            c = arr["cid"][i]
            same = np.flatnonzero(arr["cid"][i:j] != c)  # one chromosome per block
            if len(same):
                j = i + int(same[0])
            off, size = out.block(arr[i:j].tobytes())
            items.append((c, arr["start"][i], c, arr["end"][j - 1], off, size))
            i = j
        index_off = out.pos
        out.write(_rtree_bytes(np.array(items, dtype=_ITEM_DT), index_off, index_off, items_per_slot, block_size))
        headers.append((reduction, data_off, index_off))
    return headers


def _assemble(path, magic, contigs: dict, data_blocks_fn, zoom_source, *, autosql: str | None, field_count: int,
              defined_field_count: int, compress: bool, items_per_slot: int, block_size: int, zoom_levels: int,
              item_bytes: int, data_count_fmt: str):
    names = sorted(contigs, key=lambda n: n.encode())
    lengths = [int(contigs[n]) for n in names]
    cid_of = {n: i for i, n in enumerate(names)}
    zcid, zs, ze, zv = zoom_source(cid_of)
    chrom_max = max(lengths) if lengths else 1
    levels = _zoom_levels(zcid, zs, ze, zv, chrom_max, item_bytes, zoom_levels)
    with open(path, "wb") as fh:
        out = _Out(fh, compress)
        out.write(b"\0" * (HEADER_SIZE + ZOOM_HEADER_SIZE * len(levels)))
        asql_off = 0
        if autosql is not None:
            asql_off = out.write(autosql.encode() + b"\0")
        summary_off = out.write(b"\0" * SUMMARY_SIZE)
        chrom_off = out.pos
        out.write(_chrom_tree_bytes(names, lengths, chrom_off, block_size))
        data_off = out.pos
        count, items = data_blocks_fn(out, cid_of)
        out.fh.seek(data_off)
        out.write(struct.pack(data_count_fmt, count))
        out.fh.seek(0, os.SEEK_END)
        index_off = out.pos
        out.write(_rtree_bytes(np.array(items, dtype=_ITEM_DT), index_off, index_off, items_per_slot, block_size))
        zheaders = _write_zoom(out, levels, items_per_slot, block_size)
        # total summary over the (coverage) signal
        w = (ze - zs).astype(np.float64)
        zvd = zv.astype(np.float64)
        summary = struct.pack("<Qdddd", int(w.sum()), float(zvd.min()) if len(zv) else 0.0,
                              float(zvd.max()) if len(zv) else 0.0, float(np.sum(w * zvd)),
                              float(np.sum(w * zvd * zvd)))
        fh.seek(summary_off)
        fh.write(summary)
        fh.seek(0)
        fh.write(struct.pack("<IHHQQQHHQQIQ", magic, 4, len(levels), chrom_off, data_off, index_off, field_count,
                             defined_field_count, asql_off, summary_off, out.max_raw if compress else 0, 0))
        for red, doff, ioff in zheaders:
            fh.write(struct.pack("<IIQQ", red, 0, doff, ioff))


def _normalise_intervals(contigs: dict, intervals):
    """dict name -> (starts, ends, values) sorted, validated."""
    from ...errors import RegionError

    if isinstance(intervals, dict):
        items = intervals.items()
    else:
        names, s, e, v = intervals
        names = np.asarray(names, dtype=str)
        s, e, v = np.asarray(s, np.int64), np.asarray(e, np.int64), np.asarray(v, np.float32)
        items = [(n, (s[names == n], e[names == n], v[names == n])) for n in dict.fromkeys(names.tolist())]
    out = {}
    for name, (s, e, v) in items:
        if name not in contigs:
            raise RegionError(f"contig {name!r} is not in the contig list", field="contig")
        s, e, v = np.asarray(s, np.int64), np.asarray(e, np.int64), np.asarray(v, np.float32)
        order = np.argsort(s, kind="stable")
        s, e, v = s[order], e[order], v[order]
        if len(s) and (s.min() < 0 or np.any(e <= s) or e.max() > contigs[name]):
            raise ValueError(f"{name}: intervals must satisfy 0 <= start < end <= contig length")
        if len(s) > 1 and np.any(s[1:] < e[:-1]):
            raise ValueError(f"{name}: bigWig intervals must not overlap")
        out[name] = (s, e, v)
    return out


def write_bigwig(path, contigs, intervals, *, compress: bool = True, zoom_levels: int = MAX_ZOOM_LEVELS,
                 items_per_slot: int = 1024, block_size: int = 256) -> None:
    """Write a bigWig file from intervals.

    Parameters
    ----------
    path : str or os.PathLike
        Output file.
    contigs : dict of str to int or list of (str, int)
        Chromosome names and lengths (all are listed in the file).
    intervals : dict or tuple
        ``{contig: (starts, ends, values)}`` or a tuple of flat arrays
        ``(contig_names, starts, ends, values)``; 0-based half-open, int64 /
        float32.  Intervals of a contig must not overlap (they are sorted here).
    compress : bool
        zlib-compress data and zoom blocks (as UCSC tools do).
    zoom_levels : int
        At most this many zoom levels (0 = none).
    items_per_slot : int
        Items per data block (UCSC default 1024).
    block_size : int
        Children per R-tree / B+ tree node (UCSC default 256).

    Raises
    ------
    ValueError
        Overlapping intervals, ``end <= start`` or positions past the contig end.
    RegionError
        A contig missing from ``contigs``.
    """
    contigs = dict(contigs)
    data = _normalise_intervals(contigs, intervals)
    bg = np.dtype([("s", "<u4"), ("e", "<u4"), ("v", "<f4")])

    def zoom_source(cid_of):
        names = sorted(data, key=lambda n: cid_of[n])
        if not names:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32)
        cid = np.concatenate([np.full(len(data[n][0]), cid_of[n], np.int64) for n in names])
        return (cid, np.concatenate([data[n][0] for n in names]), np.concatenate([data[n][1] for n in names]),
                np.concatenate([data[n][2] for n in names]))

    def blocks(out, cid_of):
        out.write(b"\0" * 8)
        items = []
        sections = 0
        for name in sorted(data, key=lambda n: cid_of[n]):
            s, e, v = data[name]
            c = cid_of[name]
            for a in range(0, len(s), items_per_slot):
                b = min(a + items_per_slot, len(s))
                arr = np.zeros(b - a, dtype=bg)
                arr["s"], arr["e"], arr["v"] = s[a:b], e[a:b], v[a:b]
                head = struct.pack("<IIIIIBBH", c, int(s[a]), int(e[b - 1]), 0, 0, 1, 0, b - a)
                off, size = out.block(head + arr.tobytes())
                items.append((c, int(s[a]), c, int(e[b - 1]), off, size))
                sections += 1
        return sections, items

    _assemble(path, BIGWIG_MAGIC, contigs, blocks, zoom_source, autosql=None, field_count=0,
              defined_field_count=0, compress=compress, items_per_slot=items_per_slot, block_size=block_size,
              zoom_levels=zoom_levels, item_bytes=12, data_count_fmt="<Q")


def bedgraph_to_bigwig(bedgraph, contigs, path, **kwargs) -> None:
    """Convert a bedGraph text file (``chrom start end value``, 0-based) to bigWig.

    Parameters
    ----------
    bedgraph : str or os.PathLike
        bedGraph file (``track`` / ``browser`` / ``#`` lines are skipped).
    contigs : dict of str to int, or path of a chrom.sizes file
    path : str or os.PathLike
        Output bigWig.
    **kwargs
        Passed to :func:`write_bigwig`.

    Raises
    ------
    FormatError
        A line without four fields or with non-numeric coordinates.
    """
    from ...errors import FormatError

    if isinstance(contigs, (str, os.PathLike)):
        sizes = {}
        with open(contigs) as fh:
            for line in fh:
                if line.strip():
                    k, n = line.split()[:2]
                    sizes[k] = int(n)
        contigs = sizes
    names, s, e, v = [], [], [], []
    with open(bedgraph) as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip() or line.startswith(("track", "browser", "#")):
                continue
            f = line.split()
            try:
                names.append(f[0]), s.append(int(f[1])), e.append(int(f[2])), v.append(float(f[3]))
            except (IndexError, ValueError):
                raise FormatError(f"bedGraph line {lineno}: expected chrom start end value", path=str(bedgraph),
                                  field="line") from None
    write_bigwig(path, contigs, (names, s, e, v), **kwargs)


def _runs(values: np.ndarray, start: int):
    """Runs of equal, non-NaN values -> (starts, ends, values)."""
    v = np.asarray(values, dtype=np.float32)
    if not len(v):
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32)
    nan = np.isnan(v)
    change = np.r_[True, (v[1:] != v[:-1]) | (nan[1:] != nan[:-1])]
    starts = np.flatnonzero(change)
    ends = np.r_[starts[1:], len(v)]
    keep = ~nan[starts]
    return starts[keep] + start, ends[keep] + start, v[starts[keep]]


def dataarray_to_bigwig(arrays, path, contigs, **kwargs) -> None:
    """Write per-base values (``position_value`` DataArrays) to a bigWig.

    Runs of equal values become one bedGraph interval; NaN bases are left out.

    Parameters
    ----------
    arrays : xarray.DataArray or list of DataArray
        Each on dim ``positions`` with the 1-based ``position`` coordinate
        (contiguous) and ``attrs["contig"]`` (as :meth:`BigWigFile.values` returns).
    path : str or os.PathLike
    contigs : dict of str to int
    **kwargs
        Passed to :func:`write_bigwig`.
    """
    if not isinstance(arrays, (list, tuple)):
        arrays = [arrays]
    parts: dict[str, list] = {}
    for da in arrays:
        contig = da.attrs.get("contig")
        if contig is None:
            raise ValueError("DataArray needs attrs['contig']")
        pos = np.asarray(da["position"].values, dtype=np.int64)
        if len(pos) and np.any(np.diff(pos) != 1):
            raise ValueError("position coordinate must be contiguous and increasing")
        start = int(pos[0]) - 1 if len(pos) else 0
        parts.setdefault(contig, []).append(_runs(np.asarray(da.values), start))
    data = {k: tuple(np.concatenate([p[i] for p in v]) for i in range(3)) for k, v in parts.items()}
    write_bigwig(path, contigs, data, **kwargs)


# ---------------------------------------------------------------------------- bigBed
_STD_TYPES = dict((n, t) for t, n in (("string", "name"), ("uint", "score"), ("char[1]", "strand"),
                                      ("uint", "thickStart"), ("uint", "thickEnd"), ("uint", "reserved"),
                                      ("int", "blockCount"), ("int[blockCount]", "blockSizes"),
                                      ("int[blockCount]", "chromStarts")))
_STD_ORDER = ["name", "score", "strand", "thickStart", "thickEnd", "reserved", "blockCount", "blockSizes",
              "chromStarts"]


def _fmt_column(a: np.ndarray) -> list[str]:
    if a.dtype.kind == "f":
        if a.dtype == np.float32:
            return [str(x) for x in a]
        return [repr(float(x)) for x in a]
    return [str(x) for x in a.tolist()]


def _coverage_runs(s, e):
    """Per-base depth of possibly overlapping intervals as runs (start, end, depth>0)."""
    if not len(s):
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32)
    pos = np.concatenate([s, e])
    delta = np.concatenate([np.ones(len(s), np.int64), -np.ones(len(e), np.int64)])
    order = np.argsort(pos, kind="stable")
    pos, delta = pos[order], delta[order]
    upos, first = np.unique(pos, return_index=True)
    depth = np.cumsum(np.add.reduceat(delta, first))
    rs, re_, rv = upos[:-1], upos[1:], depth[:-1]
    keep = rv > 0
    return rs[keep], re_[keep], rv[keep].astype(np.float32)


def write_bigbed(path, ds, contigs=None, *, autosql: str | None = None, compress: bool = True,
                 zoom_levels: int = MAX_ZOOM_LEVELS, items_per_slot: int = 512, block_size: int = 256) -> None:
    """Write a bigBed file from an interval dataset.

    Parameters
    ----------
    path : str or os.PathLike
    ds : xarray.Dataset
        Dim ``intervals`` with ``interval_contig`` (index into ``contig_id``,
        or contig names), ``interval_start``, ``interval_stop`` (0-based
        half-open), and any further ``intervals`` variables as BED columns 4+
        in dataset order (as :meth:`BigBedFile.query` returns).
    contigs : dict of str to int, optional
        Names and lengths (default: ``contig_id`` / ``contig_length`` of ``ds``).
    autosql : str, optional
        autoSql text (default: ``ds.attrs["autosql"]`` or one generated from
        the column names and dtypes).
    compress, zoom_levels, items_per_slot, block_size
        As in :func:`write_bigwig` (bigBed default: 512 items per block).

    Raises
    ------
    ValueError
        Missing variables, ``end < start`` or positions past the contig end.
    """
    from .bigbed import parse_autosql

    if contigs is None:
        contigs = dict(zip(ds["contig_id"].values.tolist(), ds["contig_length"].values.tolist()))
    contigs = dict(contigs)
    ctg = np.asarray(ds["interval_contig"].values)
    if ctg.dtype.kind in "iu":
        ids = np.asarray(ds["contig_id"].values, dtype=str)
        ctg = ids[ctg]
    ctg = ctg.astype(str)
    s = np.asarray(ds["interval_start"].values, np.int64)
    e = np.asarray(ds["interval_stop"].values, np.int64)
    extra = [k for k, var in ds.data_vars.items()
             if var.dims == ("intervals",) and k not in ("interval_contig", "interval_start", "interval_stop")]
    cols = [_fmt_column(np.asarray(ds[k].values)) for k in extra]
    rest = ["\t".join(c[i] for c in cols).encode() for i in range(len(s))] if cols else [b""] * len(s)
    n_std = 0
    for k in extra:
        if n_std < len(_STD_ORDER) and k == _STD_ORDER[n_std]:
            n_std += 1
        else:
            break
    if autosql is None:
        autosql = ds.attrs.get("autosql") or None
    if autosql is None:
        lines = ['table bed', '"Written by hts_notebook"', "(",
                 '   string chrom;       "Reference sequence chromosome or scaffold"',
                 '   uint   chromStart;  "Start position in chromosome"',
                 '   uint   chromEnd;    "End position in chromosome"']
        for k in extra:
            kind = np.asarray(ds[k].values).dtype.kind
            t = _STD_TYPES.get(k) or {"i": "int", "u": "uint", "f": "double"}.get(kind, "string")
            lines.append(f'   {t} {k}; "{k}"')
        autosql = "\n".join(lines + [")", ""])
    else:
        parse_autosql(autosql)  # refuse text our reader could not parse back
    for name in set(ctg.tolist()):
        if name not in contigs:
            from ...errors import RegionError

            raise RegionError(f"contig {name!r} is not in the contig list", field="contig")
    if len(s) and (s.min() < 0 or np.any(e < s)):
        raise ValueError("intervals must satisfy 0 <= start <= end")
    for name in set(ctg.tolist()):
        if np.any(e[ctg == name] > contigs[name]):
            raise ValueError(f"{name}: interval past the contig end")

    def ordered(cid_of):
        cid = np.array([cid_of[c] for c in ctg.tolist()], dtype=np.int64)
        order = np.lexsort((e, s, cid))
        return cid, order

    def zoom_source(cid_of):
        cid, order = ordered(cid_of)
        parts = []
        for c in np.unique(cid):
            sel = order[cid[order] == c]
            rs, re_, rv = _coverage_runs(s[sel], e[sel])
            parts.append((np.full(len(rs), c, np.int64), rs, re_, rv))
        if not parts:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32)
        return tuple(np.concatenate([p[i] for p in parts]) for i in range(4))

    def blocks(out, cid_of):
        out.write(b"\0" * 8)
        cid, order = ordered(cid_of)
        items = []
        i = 0
        n = len(order)
        while i < n:
            j = min(i + items_per_slot, n)
            sel = order[i:j]
            c = cid[sel[0]]
            diff = np.flatnonzero(cid[sel] != c)
            if len(diff):
                j = i + int(diff[0])
                sel = order[i:j]
            raw = b"".join(struct.pack("<III", int(c), int(s[k]), int(e[k])) + rest[k] + b"\0" for k in sel.tolist())
            off, size = out.block(raw)
            items.append((int(c), int(s[sel].min()), int(c), int(e[sel].max()), off, size))
            i = j
        return n, items

    _assemble(path, BIGBED_MAGIC, contigs, blocks, zoom_source, autosql=autosql, field_count=3 + len(extra),
              defined_field_count=3 + n_std, compress=compress, items_per_slot=items_per_slot,
              block_size=block_size, zoom_levels=zoom_levels, item_bytes=max(13, int(np.mean([len(r) for r in rest]) + 13) if rest else 13),
              data_count_fmt="<Q")
