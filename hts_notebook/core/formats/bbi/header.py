"""Parts shared by bigWig and bigBed ("BBI" files): header, zoom headers,
total summary, chromosome B+ tree and the R-tree ("cirTree") index.

Layout summary (all integers little- or big-endian, as the magic number says;
offsets are absolute file offsets):

* common header, 64 bytes: ``magic u32, version u16, zoomLevels u16,
  chromTreeOffset u64, fullDataOffset u64, fullIndexOffset u64,
  fieldCount u16, definedFieldCount u16, autoSqlOffset u64,
  totalSummaryOffset u64, uncompressBufSize u32, extensionOffset u64``;
* ``zoomLevels`` zoom headers of 24 bytes right after it:
  ``reductionLevel u32, reserved u32, dataOffset u64, indexOffset u64``;
* total summary (40 bytes, version >= 2): ``basesCovered u64, minVal f64,
  maxVal f64, sumData f64, sumSquares f64``;
* chromosome B+ tree: 32-byte header ``magic 0x78CA8C91, blockSize u32,
  keySize u32, valSize u32, itemCount u64, reserved u64``, then nodes
  ``isLeaf u8, reserved u8, count u16`` followed by ``count`` items: a key of
  ``keySize`` bytes (NUL padded) and either ``chromId u32, chromSize u32``
  (leaf) or ``childOffset u64`` (internal node);
* R-tree: 48-byte header ``magic 0x2468ACE0, blockSize u32, itemCount u64,
  startChromIx u32, startBase u32, endChromIx u32, endBase u32,
  endFileOffset u64, itemsPerSlot u32, reserved u32``, then nodes
  ``isLeaf u8, reserved u8, count u16`` followed by ``count`` items of
  ``startChromIx, startBase, endChromIx, endBase`` (u32 each) and either
  ``dataOffset u64, dataSize u64`` (leaf, 32 bytes) or ``childOffset u64``
  (internal, 24 bytes).

Every count is checked against the bytes present before anything is
allocated, and both trees are walked iteratively with a visited set, so a
corrupted file raises an :class:`~hts_notebook.core.errors.HtsError`
subclass and never loops.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from ...errors import FormatError, LimitExceededError, TruncatedFileError
from ...source import ByteSource

__all__ = [
    "BIGWIG_MAGIC",
    "BIGBED_MAGIC",
    "CHROM_TREE_MAGIC",
    "RTREE_MAGIC",
    "BbiHeader",
    "ZoomHeader",
    "TotalSummary",
    "Contig",
    "RTreeIndex",
    "read_header",
    "read_zoom_headers",
    "read_total_summary",
    "read_chrom_tree",
    "read_extension",
    "inflate_block",
]

BIGWIG_MAGIC = 0x888FFC26
BIGBED_MAGIC = 0x8789F2EB
CHROM_TREE_MAGIC = 0x78CA8C91
RTREE_MAGIC = 0x2468ACE0

HEADER_SIZE = 64
ZOOM_HEADER_SIZE = 24
SUMMARY_SIZE = 40
RTREE_HEADER_SIZE = 48
CHROM_TREE_HEADER_SIZE = 32

#: refuse single blocks that inflate beyond this (uncompressBufSize is usually 32-64 KiB)
MAX_BLOCK_BYTES = 1 << 28
#: node visits allowed per tree walk before the walk is declared runaway
MAX_NODE_VISITS = 1 << 22


@dataclass(frozen=True)
class BbiHeader:
    """The 64-byte common header of a bigWig or bigBed file.

    Attributes mirror the on-disk fields; ``byteorder`` is ``"<"`` or ``">"``
    and ``kind`` is ``"bigwig"`` or ``"bigbed"``.
    """

    kind: str
    byteorder: str
    magic: int
    version: int
    zoom_levels: int
    chrom_tree_offset: int
    full_data_offset: int
    full_index_offset: int
    field_count: int
    defined_field_count: int
    autosql_offset: int
    total_summary_offset: int
    uncompress_buf_size: int
    extension_offset: int

    @property
    def compressed(self) -> bool:
        """Data blocks are zlib streams when ``uncompressBufSize > 0``."""
        return self.uncompress_buf_size > 0


@dataclass(frozen=True)
class ZoomHeader:
    """One zoom level: summaries of ``reduction_level`` bases each."""

    reduction_level: int
    data_offset: int
    index_offset: int


@dataclass(frozen=True)
class TotalSummary:
    """Whole-file summary: covered bases, min, max, sum and sum of squares."""

    bases_covered: int
    min_val: float
    max_val: float
    sum_data: float
    sum_squares: float

    @property
    def mean(self) -> float:
        return self.sum_data / self.bases_covered if self.bases_covered else float("nan")

    @property
    def std(self) -> float:
        n = self.bases_covered
        if n < 2:
            return float("nan")
        var = (self.sum_squares - self.sum_data * self.sum_data / n) / (n - 1)
        return float(np.sqrt(max(var, 0.0)))


@dataclass(frozen=True)
class Contig:
    name: str
    chrom_id: int
    length: int


def _err(src: ByteSource, msg, offset, fld, cls=FormatError):
    return cls(msg, path=src.path, offset=offset, field=fld)


def read_header(src: ByteSource) -> BbiHeader:
    """Read and sanity-check the common header.

    Raises
    ------
    FormatError
        Unknown magic, or an offset outside the file.
    TruncatedFileError
        File shorter than 64 bytes.
    """
    raw = src.read_exact(0, HEADER_SIZE, "bbi header")
    for order in ("<", ">"):
        magic = struct.unpack(order + "I", raw[:4])[0]
        if magic in (BIGWIG_MAGIC, BIGBED_MAGIC):
            break
    else:
        raise _err(src, f"bad magic {raw[:4].hex()} (not bigWig/bigBed)", 0, "magic")
    (magic, version, zooms, chrom_tree, full_data, full_index, fc, dfc, asql, tsum, ubuf, ext) = struct.unpack(
        order + "IHHQQQHHQQIQ", raw
    )
    hdr = BbiHeader(
        "bigwig" if magic == BIGWIG_MAGIC else "bigbed", order, magic, version, zooms, chrom_tree,
        full_data, full_index, fc, dfc, asql, tsum, ubuf, ext,
    )
    size = src.size
    for name, off in (("chromTreeOffset", chrom_tree), ("fullDataOffset", full_data),
                      ("fullIndexOffset", full_index)):
        if off < HEADER_SIZE or off >= size:
            raise _err(src, f"{name}={off} outside the file ({size} bytes)", 0, name)
    for name, off in (("autoSqlOffset", asql), ("totalSummaryOffset", tsum), ("extensionOffset", ext)):
        if off and (off < HEADER_SIZE or off >= size):
            raise _err(src, f"{name}={off} outside the file ({size} bytes)", 0, name)
    if ubuf > MAX_BLOCK_BYTES:
        raise _err(src, f"uncompressBufSize={ubuf} is absurd", 0, "uncompressBufSize", LimitExceededError)
    if HEADER_SIZE + zooms * ZOOM_HEADER_SIZE > size:
        raise _err(src, f"zoomLevels={zooms} headers do not fit in the file", 6, "zoomLevels", TruncatedFileError)
    return hdr


def read_zoom_headers(src: ByteSource, hdr: BbiHeader) -> list[ZoomHeader]:
    """Zoom headers (one per level, finest first)."""
    n = hdr.zoom_levels
    raw = src.read_exact(HEADER_SIZE, n * ZOOM_HEADER_SIZE, "zoom headers")
    out = []
    for i in range(n):
        red, _res, data_off, index_off = struct.unpack_from(hdr.byteorder + "IIQQ", raw, i * ZOOM_HEADER_SIZE)
        where = HEADER_SIZE + i * ZOOM_HEADER_SIZE
        if data_off >= src.size or index_off >= src.size or index_off < HEADER_SIZE:
            raise _err(src, f"zoom level {i}: offsets {data_off}/{index_off} outside the file", where,
                       "zoom dataOffset/indexOffset")
        if red == 0:
            raise _err(src, f"zoom level {i}: reductionLevel 0", where, "reductionLevel")
        out.append(ZoomHeader(red, data_off, index_off))
    return out


def read_total_summary(src: ByteSource, hdr: BbiHeader) -> TotalSummary | None:
    """The total summary block, or ``None`` when the file has none (version 1)."""
    if not hdr.total_summary_offset:
        return None
    raw = src.read_exact(hdr.total_summary_offset, SUMMARY_SIZE, "total summary")
    n, lo, hi, s, ss = struct.unpack(hdr.byteorder + "Qdddd", raw)
    return TotalSummary(n, lo, hi, s, ss)


def read_extension(src: ByteSource, hdr: BbiHeader) -> list[dict]:
    """Extra B+ tree indexes listed by the extension header (bigBed ``-extraIndex``).

    Returns
    -------
    list of dict
        ``{"type", "field_ids", "offset"}`` for each extra index.
    """
    if not hdr.extension_offset:
        return []
    raw = src.read_exact(hdr.extension_offset, 12, "extension header")
    _size, count, list_off = struct.unpack(hdr.byteorder + "HHQ", raw)
    if not count:
        return []
    if list_off < HEADER_SIZE or list_off + count * 20 > src.size:
        raise _err(src, f"extraIndexListOffset={list_off} with {count} entries outside the file",
                   hdr.extension_offset, "extraIndexListOffset")
    out = []
    pos = list_off
    for _ in range(count):
        kind, nfields, off = struct.unpack(hdr.byteorder + "HHQ", src.read_exact(pos, 12, "extra index"))
        pos += 16
        if nfields > 64:
            raise _err(src, f"extra index with {nfields} fields", pos - 16, "fieldCount", LimitExceededError)
        ids = []
        raw = src.read_exact(pos, 4 * nfields, "extra index fields")
        for j in range(nfields):
            ids.append(struct.unpack_from(hdr.byteorder + "H", raw, 4 * j)[0])
        pos += 4 * nfields
        if off < HEADER_SIZE or off >= src.size:
            raise _err(src, f"extra index offset {off} outside the file", pos, "fileOffset")
        out.append({"type": kind, "field_ids": ids, "offset": off})
    return out


def read_chrom_tree(src: ByteSource, hdr: BbiHeader) -> list[Contig]:
    """Every chromosome of the B+ tree, in key order.

    Raises
    ------
    FormatError
        Bad magic, key/value sizes, counts that overrun the file, or a cycle.
    """
    return [Contig(k.decode("utf-8", "replace"), int.from_bytes(v[:4], "little" if hdr.byteorder == "<" else "big"),
                   int.from_bytes(v[4:8], "little" if hdr.byteorder == "<" else "big"))
            for k, v in walk_bptree(src, hdr.chrom_tree_offset, hdr.byteorder, "chrom tree", val_size=8)]


def walk_bptree(src: ByteSource, offset: int, order: str, what: str, val_size: int | None = None):
    """All (key, value) pairs of a B+ tree (chrom tree or bigBed name index), iteratively."""
    head = src.read_exact(offset, CHROM_TREE_HEADER_SIZE, f"{what} header")
    magic, block_size, key_size, vsize, item_count, _res = struct.unpack(order + "IIIIQQ", head)
    if magic != CHROM_TREE_MAGIC:
        raise _err(src, f"{what}: bad magic {magic:#x}", offset, "magic")
    if val_size is not None and vsize != val_size:
        raise _err(src, f"{what}: valSize {vsize}, expected {val_size}", offset + 12, "valSize")
    if key_size == 0 or key_size > 65536 or vsize > 65536:
        raise _err(src, f"{what}: keySize {key_size} / valSize {vsize} out of range", offset + 8, "keySize")
    if item_count > (src.size // (key_size + vsize)) + 1:
        raise _err(src, f"{what}: itemCount {item_count} cannot fit in the file", offset + 16, "itemCount",
                   LimitExceededError)
    out: list[tuple[bytes, bytes]] = []
    stack = [offset + CHROM_TREE_HEADER_SIZE]
    visited: set[int] = set()
    while stack:
        node = stack.pop()
        if node in visited:
            raise _err(src, f"{what}: cycle through node at {node:#x}", node, "childOffset")
        visited.add(node)
        if len(visited) > MAX_NODE_VISITS:
            raise _err(src, f"{what}: too many nodes", node, "childOffset", LimitExceededError)
        is_leaf, _r, count = struct.unpack(order + "BBH", src.read_exact(node, 4, f"{what} node"))
        item = key_size + (vsize if is_leaf else 8)
        raw = src.read_exact(node + 4, count * item, f"{what} node items")
        if is_leaf:
            for i in range(count):
                p = i * item
                out.append((raw[p:p + key_size].rstrip(b"\0"), raw[p + key_size:p + item]))
                if len(out) > item_count:
                    raise _err(src, f"{what}: more items than itemCount={item_count}", node, "itemCount")
        else:
            children = [struct.unpack_from(order + "Q", raw, i * item + key_size)[0] for i in range(count)]
            for c in reversed(children):
                if c < HEADER_SIZE or c >= src.size:
                    raise _err(src, f"{what}: child offset {c} outside the file", node, "childOffset")
                stack.append(c)
    return out


def bptree_find(src: ByteSource, offset: int, order: str, key: bytes, what: str = "name index") -> list[bytes]:
    """Values stored under ``key`` in a B+ tree (exact match; keys may repeat)."""
    head = src.read_exact(offset, CHROM_TREE_HEADER_SIZE, f"{what} header")
    magic, block_size, key_size, vsize, item_count, _res = struct.unpack(order + "IIIIQQ", head)
    if magic != CHROM_TREE_MAGIC:
        raise _err(src, f"{what}: bad magic {magic:#x}", offset, "magic")
    if key_size == 0 or key_size > 65536 or vsize > 65536:
        raise _err(src, f"{what}: keySize {key_size} / valSize {vsize} out of range", offset + 8, "keySize")
    if len(key) > key_size:
        return []
    padded = key.ljust(key_size, b"\0")
    out = []
    stack = [offset + CHROM_TREE_HEADER_SIZE]
    visited: set[int] = set()
    while stack:
        node = stack.pop()
        if node in visited:
            raise _err(src, f"{what}: cycle through node at {node:#x}", node, "childOffset")
        visited.add(node)
        is_leaf, _r, count = struct.unpack(order + "BBH", src.read_exact(node, 4, f"{what} node"))
        item = key_size + (vsize if is_leaf else 8)
        raw = src.read_exact(node + 4, count * item, f"{what} node items")
        keys = [raw[i * item:i * item + key_size] for i in range(count)]
        if is_leaf:
            out.extend(raw[i * item + key_size:(i + 1) * item] for i in range(count) if keys[i] == padded)
        else:
            # a child may hold the key when its first key <= key and the next child's first key >= key
            for i in range(count):
                nxt = keys[i + 1] if i + 1 < count else None
                if keys[i] <= padded and (nxt is None or nxt >= padded):
                    c = struct.unpack_from(order + "Q", raw, i * item + key_size)[0]
                    if c < HEADER_SIZE or c >= src.size:
                        raise _err(src, f"{what}: child offset {c} outside the file", node, "childOffset")
                    stack.append(c)
    return out


_LEAF_DT = {o: np.dtype([("sc", o + "u4"), ("sb", o + "u4"), ("ec", o + "u4"), ("eb", o + "u4"),
                         ("off", o + "u8"), ("size", o + "u8")]) for o in "<>"}
_NODE_DT = {o: np.dtype([("sc", o + "u4"), ("sb", o + "u4"), ("ec", o + "u4"), ("eb", o + "u4"),
                         ("off", o + "u8")]) for o in "<>"}


class RTreeIndex:
    """The R-tree ("cirTree") of a data section, read on demand.

    Nodes are cached once read.  :meth:`query` walks only the nodes whose
    bounding boxes overlap the query; :meth:`leaves` loads every leaf item
    (for batch queries over many windows).

    Parameters
    ----------
    src : ByteSource
    offset : int
        File offset of the 48-byte R-tree header.
    order : str
        ``"<"`` or ``">"``.
    """

    def __init__(self, src: ByteSource, offset: int, order: str, what: str = "R-tree"):
        self.src = src
        self.order = order
        self.what = what
        raw = src.read_exact(offset, RTREE_HEADER_SIZE, f"{what} header")
        (magic, self.block_size, self.item_count, *_bounds, self.end_file_offset, self.items_per_slot,
         _res) = struct.unpack(order + "IIQIIIIQII", raw)
        if magic != RTREE_MAGIC:
            raise _err(src, f"{what}: bad magic {magic:#x}", offset, "magic")
        # itemCount is informational (v1 files count records, later ones blocks): the walk is
        # bounded by the nodes actually present, each read with a checked length.
        self.root = offset + RTREE_HEADER_SIZE
        self._nodes: dict[int, tuple[bool, np.ndarray]] = {}
        self._leaves: np.ndarray | None = None

    def _node(self, off: int):
        node = self._nodes.get(off)
        if node is None:
            if off < HEADER_SIZE or off >= self.src.size:
                raise _err(self.src, f"{self.what}: node offset {off} outside the file", off, "childOffset")
            is_leaf, _r, count = struct.unpack(self.order + "BBH", self.src.read_exact(off, 4, f"{self.what} node"))
            if is_leaf > 1:
                raise _err(self.src, f"{self.what}: isLeaf={is_leaf}", off, "isLeaf")
            dt = _LEAF_DT[self.order] if is_leaf else _NODE_DT[self.order]
            raw = self.src.read_exact(off + 4, count * dt.itemsize, f"{self.what} node items")
            node = (bool(is_leaf), np.frombuffer(raw, dtype=dt))
            self._nodes[off] = node
        return node

    def query(self, chrom_id: int, start: int, end: int) -> list[tuple[int, int]]:
        """Data blocks ``(offset, size)`` whose boxes overlap ``[start, end)`` on ``chrom_id``, in file order."""
        lo = (chrom_id << 32) | start
        hi = (chrom_id << 32) | end
        out = []
        stack = [self.root]
        visited: set[int] = set()
        while stack:
            off = stack.pop()
            if off in visited:
                raise _err(self.src, f"{self.what}: cycle through node at {off:#x}", off, "childOffset")
            visited.add(off)
            if len(visited) > MAX_NODE_VISITS:
                raise _err(self.src, f"{self.what}: too many nodes", off, "childOffset", LimitExceededError)
            is_leaf, items = self._node(off)
            if not len(items):
                continue
            skey = (items["sc"].astype(np.uint64) << np.uint64(32)) | items["sb"].astype(np.uint64)
            ekey = (items["ec"].astype(np.uint64) << np.uint64(32)) | items["eb"].astype(np.uint64)
            hit = (skey < np.uint64(hi)) & (ekey > np.uint64(lo))
            if is_leaf:
                out.extend(zip(items["off"][hit].tolist(), items["size"][hit].tolist()))
            else:
                stack.extend(reversed(items["off"][hit].tolist()))
        out.sort()
        return out

    def leaves(self) -> np.ndarray:
        """Every leaf item (fields ``sc sb ec eb off size``), sorted by file offset."""
        if self._leaves is None:
            parts = []
            stack = [self.root]
            visited: set[int] = set()
            while stack:
                off = stack.pop()
                if off in visited:
                    raise _err(self.src, f"{self.what}: cycle through node at {off:#x}", off, "childOffset")
                visited.add(off)
                if len(visited) > MAX_NODE_VISITS:
                    raise _err(self.src, f"{self.what}: too many nodes", off, "childOffset", LimitExceededError)
                is_leaf, items = self._node(off)
                if is_leaf:
                    parts.append(items)
                else:
                    stack.extend(reversed(items["off"].tolist()))
            leaves = np.concatenate(parts) if parts else np.zeros(0, dtype=_LEAF_DT[self.order])
            self._leaves = np.sort(leaves, order="off", kind="stable")
        return self._leaves


def inflate_block(src: ByteSource, hdr: BbiHeader, offset: int, size: int, what: str = "data block") -> bytes:
    """Read one data block and inflate it when the file is compressed.

    Raises
    ------
    TruncatedFileError
        The block runs past the end of the file.
    FormatError
        zlib refuses the bytes.
    LimitExceededError
        The block is absurdly large.
    """
    if size > MAX_BLOCK_BYTES:
        raise _err(src, f"{what}: dataSize {size} is absurd", offset, "dataSize", LimitExceededError)
    raw = src.read_exact(offset, size, what)
    if not hdr.compressed:
        return raw
    from ... import deflate_backend

    try:
        return deflate_backend.zlib_inflate_bounded(raw, hdr.uncompress_buf_size)
    except ValueError as exc:
        msg = str(exc)
        if msg.startswith("inflates to more"):
            raise _err(src, f"{what} inflates beyond uncompressBufSize={hdr.uncompress_buf_size}", offset,
                       "uncompressBufSize") from None
        if "ends early" in msg:
            raise _err(src, f"{what}: zlib stream ends early", offset, "data", TruncatedFileError) from None
        raise _err(src, f"{what}: zlib: {msg}", offset, "data") from None


class BbiReader:
    """Base of :class:`BigWigFile` and :class:`BigBedFile`: header, contigs, zooms, index, block cache.

    Parameters
    ----------
    target : str, os.PathLike, bytes or binary file object
    expect : {"bigwig", "bigbed"}
    cache_blocks : int
        How many inflated data blocks to keep (least recently used are dropped).
    """

    def __init__(self, target, expect: str, cache_blocks: int = 512):
        from collections import OrderedDict

        from ...source import open_source

        self._src = open_source(target)
        self.path = self._src.path
        try:
            self.bbi_header = read_header(self._src)
            if self.bbi_header.kind != expect:
                raise FormatError(f"this is a {self.bbi_header.kind} file, not a {expect} file", path=self.path,
                                  offset=0, field="magic")
            self.zoom_headers = read_zoom_headers(self._src, self.bbi_header)
            self.total_summary = read_total_summary(self._src, self.bbi_header)
            contigs = read_chrom_tree(self._src, self.bbi_header)
        except BaseException:
            self._src.close()
            raise
        contigs = sorted(contigs, key=lambda c: c.chrom_id)
        self._contig_list = contigs
        self.contigs = {c.name: c.length for c in contigs}
        self._chrom_ids = {c.name: c.chrom_id for c in contigs}
        self._chrom_names = {c.chrom_id: c.name for c in contigs}
        self._index: RTreeIndex | None = None
        self._zoom_index: dict[int, RTreeIndex] = {}
        self._cache: "OrderedDict[tuple, object]" = OrderedDict()
        self._cache_size = cache_blocks

    # ------------------------------------------------------------------ plumbing
    @property
    def index(self) -> RTreeIndex:
        """The full-data R-tree (read lazily)."""
        if self._index is None:
            self._index = RTreeIndex(self._src, self.bbi_header.full_index_offset, self.bbi_header.byteorder,
                                     "data R-tree")
        return self._index

    def zoom_index(self, level: int) -> RTreeIndex:
        """R-tree of zoom level ``level`` (0 = finest)."""
        idx = self._zoom_index.get(level)
        if idx is None:
            zh = self.zoom_headers[level]
            idx = self._zoom_index[level] = RTreeIndex(self._src, zh.index_offset, self.bbi_header.byteorder,
                                                       f"zoom {level} R-tree")
        return idx

    def _cached(self, key, make):
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return hit
        value = make()
        self._cache[key] = value
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return value

    def _block(self, offset: int, size: int, what: str = "data block") -> bytes:
        return inflate_block(self._src, self.bbi_header, offset, size, what)

    def _resolve(self, region):
        """(name, chrom_id, start, stop) of a region, clipped to the contig (0-based half-open)."""
        from ...region import parse_region

        reg = parse_region(region, self.contigs)
        reg = reg.resolved(self.contigs[reg.contig])
        return reg, self._chrom_ids[reg.contig], reg.start, reg.stop

    def close(self) -> None:
        """Close the underlying file."""
        self._src.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _header_dict(self) -> dict:
        h = self.bbi_header
        s = self.total_summary
        return {
            "version": h.version,
            "nLevels": h.zoom_levels,
            "nBasesCovered": s.bases_covered if s else 0,
            "minVal": s.min_val if s else 0.0,
            "maxVal": s.max_val if s else 0.0,
            "sumData": s.sum_data if s else 0.0,
            "sumSquared": s.sum_squares if s else 0.0,
            "fieldCount": h.field_count,
            "definedFieldCount": h.defined_field_count,
            "isCompressed": h.compressed,
            "uncompressBufSize": h.uncompress_buf_size,
            "byteorder": "little" if h.byteorder == "<" else "big",
            "chromTreeOffset": h.chrom_tree_offset,
            "fullDataOffset": h.full_data_offset,
            "fullIndexOffset": h.full_index_offset,
            "autoSqlOffset": h.autosql_offset,
            "totalSummaryOffset": h.total_summary_offset,
            "extensionOffset": h.extension_offset,
        }
