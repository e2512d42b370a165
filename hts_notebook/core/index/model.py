"""One in-memory model for the binning indexes BAI, CSI and TBI.

A :class:`BinningIndex` holds, per reference, the bins with their chunks of
BGZF virtual offsets, either a linear index (BAI, TBI; SAMv1 §5.2) or a
per-bin ``loffset`` (CSI, CSIv1), and the metadata pseudo-bin
(``ref_beg, ref_end, n_mapped, n_unmapped``).  Headers that differ between the
formats (CSI ``aux``, the tabix header) are kept as raw bytes in
:attr:`BinningIndex.aux`, so one model serves all three.

The body codec (:func:`parse_body`, :func:`serialize_body`) is shared by
``bai.py``, ``csi.py`` and the tabix reader.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np

from ..errors import FormatError, LimitExceededError, RegionError, TruncatedFileError
from .binning import (
    BAI_DEPTH,
    BAI_MIN_SHIFT,
    bin_bot,
    bin_first,
    bin_limit,
    bin_parent,
    max_position,
    optimize_chunks,
    pseudo_bin,
    reg2bins,
)

__all__ = ["ReferenceIndex", "BinningIndex", "parse_body", "serialize_body", "UINT64_MAX"]

UINT64_MAX = (1 << 64) - 1
_EMPTY_CHUNKS = np.zeros((0, 2), dtype=np.uint64)


@dataclass
class ReferenceIndex:
    """Index data of one reference sequence.

    Attributes
    ----------
    bins : dict[int, numpy.ndarray]
        Real bins (not the pseudo-bin) in file order; each value is a
        ``(k, 2)`` uint64 array of ``(begin, end)`` virtual offsets, end
        exclusive.
    loffsets : dict[int, int]
        CSI only: per-bin smallest virtual offset of a record overlapping
        the bin (CSIv1 ``loffset``).  Empty for BAI/TBI.
    linear : numpy.ndarray or None
        BAI/TBI linear index, uint64 ``(n_intv,)``: for each 2**min_shift
        window the smallest virtual offset of a record overlapping it
        (SAMv1 §5.2 ``ioffset``).  ``None`` for CSI.
    meta : tuple of 4 int or None
        Pseudo-bin content ``(ref_beg, ref_end, n_mapped, n_unmapped)``:
        virtual offsets spanning the reference's records and its counts of
        mapped and unmapped (but placed) records; ``None`` when absent.
    order : list of int or None
        Bin numbers (pseudo-bin included) in the order they were read or
        built, so that writing reproduces the original bytes.  ``None``:
        write bins ascending, pseudo-bin last.
    """

    bins: dict = field(default_factory=dict)
    loffsets: dict = field(default_factory=dict)
    linear: np.ndarray | None = None
    meta: tuple | None = None
    order: list | None = None
    _qlinear: np.ndarray | None = field(default=None, repr=False, compare=False)

    def query_linear(self) -> np.ndarray | None:
        """Linear index as htslib uses it for queries (holes filled).

        Leading zeros are kept; later zero entries take the next non-zero
        value and ``UINT64_MAX`` entries the next entry, as htslib does on
        load.
        """
        if self.linear is None:
            return None
        if self._qlinear is None:
            lin = [int(x) for x in self.linear.tolist()]
            n = len(lin)
            k = 0
            while k < n and lin[k] == 0:
                k += 1
            for j in range(n - 1, k, -1):
                if lin[j - 1] == 0:
                    lin[j - 1] = lin[j]
            for j in range(n - 2, -1, -1):
                if lin[j] == UINT64_MAX:
                    lin[j] = lin[j + 1]
            self._qlinear = np.array(lin, dtype=np.uint64)
        return self._qlinear


@dataclass
class BinningIndex:
    """A BAI, CSI or TBI index in memory.

    Attributes
    ----------
    fmt : str
        ``"bai"``, ``"csi"`` or ``"tbi"``.
    refs : list of ReferenceIndex
        One entry per reference id (``n_ref`` of the file).
    min_shift, depth : int
        Binning parameters (14 and 5 for BAI/TBI; CSIv1 header fields).
    aux : bytes
        CSI ``aux`` bytes (``l_aux`` of them) or the TBI header that follows
        ``n_ref``; empty for BAI.
    n_no_coor : int or None
        Count of records without a reference (optional trailing field;
        ``None`` when the file omits it).

    Notes
    -----
    Coordinates passed to :meth:`query_chunks` are 0-based half-open.
    """

    fmt: str = "bai"
    refs: list = field(default_factory=list)
    min_shift: int = BAI_MIN_SHIFT
    depth: int = BAI_DEPTH
    aux: bytes = b""
    n_no_coor: int | None = None
    path: str | None = None

    @property
    def n_ref(self) -> int:
        return len(self.refs)

    @property
    def pseudo_bin(self) -> int:
        """Bin number of the metadata pseudo-bin (37450 for BAI/TBI)."""
        return pseudo_bin(self.depth)

    @property
    def bin_limit(self) -> int:
        return bin_limit(self.min_shift, self.depth)

    @property
    def max_position(self) -> int:
        """End of the addressable range, ``2**(min_shift + 3*depth)``."""
        return max_position(self.min_shift, self.depth)

    # -- statistics ------------------------------------------------------
    def stats(self) -> list[tuple[int, int]]:
        """Per-reference ``(mapped, unmapped)`` record counts from the pseudo-bins.

        Returns
        -------
        list of (int, int)
            One pair per reference; ``(0, 0)`` where the pseudo-bin is absent
            (what ``samtools idxstats`` prints).
        """
        out = []
        for ref in self.refs:
            if ref.meta is None:
                out.append((0, 0))
            else:
                out.append((int(ref.meta[2]), int(ref.meta[3])))
        return out

    # -- bin loffset -------------------------------------------------------
    def _bin_loff(self, ref: ReferenceIndex, b: int) -> int:
        """``loff`` of a bin as htslib holds it (CSI: stored; BAI/TBI: from the linear index)."""
        if self.fmt == "csi":
            return int(ref.loffsets.get(b, 0))
        lin = ref.query_linear()
        if b >= self.bin_limit:
            return 0
        bot = bin_bot(b, self.depth)
        return int(lin[bot]) if lin is not None and bot < len(lin) else 0

    # -- queries ----------------------------------------------------------
    def query_chunks(self, ref_id: int, start: int, stop: int) -> list[tuple[int, int]]:
        """Chunks of virtual offsets that hold every record overlapping a region.

        Parameters
        ----------
        ref_id : int
            Reference id (0-based, header order).
        start, stop : int
            0-based half-open region; ``start < 0`` is read as 0, a ``stop``
            past the addressable range reaches to the end of the reference.

        Returns
        -------
        list of (int, int)
            Sorted, non-overlapping ``(begin, end)`` virtual offsets (end
            exclusive).  Records in them must still be filtered for overlap.
            Empty for an unknown reference or an empty region.

        Raises
        ------
        RegionError
            ``stop < start``.

        Notes
        -----
        Same chunk list as htslib's ``hts_itr_query``: candidate bins from
        ``reg2bins`` (SAMv1 §5.3), a minimum offset from the linear index
        (BAI/TBI) or bin ``loffset`` (CSI), a maximum offset from the next
        non-empty bin to the right, then :func:`optimize_chunks`.
        """
        start = max(int(start), 0)
        stop = int(stop)
        if stop < start:
            raise RegionError(f"region end {stop} is before its start {start}", path=self.path, field="stop")
        if ref_id < 0 or ref_id >= len(self.refs):
            return []
        ref = self.refs[ref_id]
        if not ref.bins and ref.meta is None:
            return []
        bins = ref.bins
        unmapped = 1 if ref.meta is None else (int(ref.meta[3]) & 0xFFFFFFFF)  # htslib keeps it in a uint32
        ms, depth = self.min_shift, self.depth
        nbins = self.bin_limit

        rel_off = start >> ms
        # min_off: loff of the nearest existing bin at or left of start
        b = bin_first(depth) + rel_off
        found = None
        while True:
            if b in bins:
                found = b
                break
            first = (bin_parent(b) << 3) + 1
            b = b - 1 if b > first else bin_parent(b)
            if b == 0:
                break
        if found is None and 0 in bins:
            found = 0
        min_off = self._bin_loff(ref, found) if found is not None else 0
        lin = ref.query_linear()
        if lin is not None and len(lin) and rel_off < len(lin):
            if min_off < int(lin[rel_off]):
                min_off = int(lin[rel_off])
            if unmapped:
                tmp = rel_off - 1
                while tmp >= 0:
                    if int(lin[tmp]) < min_off:
                        min_off = int(lin[tmp])
                        break
                    tmp -= 1
                if found is not None and (min_off < self._bin_loff(ref, found) or tmp < 0):
                    min_off = self._bin_loff(ref, found)
        elif unmapped and found is not None:
            min_off = self._bin_loff(ref, found)

        # max_off: first chunk start of the next non-empty bin right of stop
        if stop >= 1:
            b = bin_first(depth) + ((stop - 1) >> ms) + 1
        else:
            b = bin_first(depth)  # htslib shifts -1; an empty query never reaches the chunks
        if b >= nbins:
            b = 0
        while True:
            while b % 8 == 1:
                b = bin_parent(b)
            if b == 0:
                max_off = UINT64_MAX
                break
            ch = bins.get(b)
            if ch is not None and len(ch):
                max_off = int(ch[0, 0])
                break
            b += 1

        cand = []
        if _n_candidate_bins(start, stop, ms, depth) <= 4 * len(bins) + 64:
            wanted = reg2bins(start, stop, ms, depth).tolist()
        else:
            # wide query on a sparse index: test the bins present instead (same set)
            top = min(stop, max_position(ms, depth))
            wanted = [b for b in bins if _bin_overlaps(b, start, top, ms, depth)]
        for b in wanted:
            ch = bins.get(b)
            if ch is not None and len(ch):
                cand.append(ch)
        if not cand:
            return []
        return optimize_chunks(np.concatenate(cand), min_off, max_off)

    def chunks_of_reference(self, ref_id: int) -> tuple[int, int] | None:
        """``(ref_beg, ref_end)`` virtual offsets from the pseudo-bin, or ``None``."""
        if ref_id < 0 or ref_id >= len(self.refs) or self.refs[ref_id].meta is None:
            return None
        m = self.refs[ref_id].meta
        return int(m[0]), int(m[1])


def _n_candidate_bins(start: int, stop: int, min_shift: int, depth: int) -> int:
    """How many bins :func:`reg2bins` would list (without listing them)."""
    s = min_shift + 3 * depth
    stop = min(stop, 1 << s)
    if start >= stop:
        return 0
    total = 0
    for _ in range(depth + 1):
        total += ((stop - 1) >> s) - (start >> s) + 1
        s -= 3
    return total


def _bin_overlaps(b: int, start: int, stop: int, min_shift: int, depth: int) -> bool:
    from .binning import bin_range

    lo, hi = bin_range(b, min_shift, depth)
    return lo < stop and hi > start


# -- body codec ------------------------------------------------------------
_I32 = struct.Struct("<i")
_U32 = struct.Struct("<I")
_BIN_BAI = struct.Struct("<Ii")
_BIN_CSI = struct.Struct("<IQi")


def _need(buf, pos: int, n: int, path, field_name: str) -> None:
    if pos + n > len(buf):
        raise TruncatedFileError(
            f"{field_name}: needs {n} bytes, {max(len(buf) - pos, 0)} left", path=path, offset=pos, field=field_name
        )


def _count(buf, pos: int, value: int, unit: int, path, field_name: str) -> None:
    """Check a count field against the bytes left (before any allocation)."""
    if value < 0:
        raise FormatError(f"{field_name}={value} is negative", path=path, offset=pos, field=field_name)
    left = len(buf) - pos
    if value * unit > left:
        if value > left:
            raise LimitExceededError(
                f"{field_name}={value} needs at least {value * unit} bytes, {left} left",
                path=path, offset=pos, field=field_name,
            )
        raise TruncatedFileError(
            f"{field_name}={value} needs {value * unit} bytes, {left} left", path=path, offset=pos, field=field_name
        )


def parse_body(buf, pos: int, n_ref: int, *, fmt: str, min_shift: int, depth: int, path=None):
    """Parse the per-reference part of a BAI/TBI/CSI (after ``n_ref``).

    Parameters
    ----------
    buf : bytes
        Whole (decompressed) index.
    pos : int
        Offset of the first reference's ``n_bin``.
    n_ref : int
        Number of references (already checked to be non-negative).
    fmt : str
        ``"bai"``, ``"tbi"`` (linear index present) or ``"csi"`` (per-bin
        ``loffset``).

    Returns
    -------
    (list of ReferenceIndex, int or None, int)
        References, ``n_no_coor`` (``None`` when absent) and the offset
        after what was read.

    Raises
    ------
    TruncatedFileError, LimitExceededError, FormatError
        Short data, counts the bytes cannot hold, duplicate or out-of-range
        bins, a malformed pseudo-bin, trailing bytes.
    """
    csi = fmt == "csi"
    nbins = bin_limit(min_shift, depth)
    meta_bin = nbins + 1
    min_ref = 4 if csi else 8
    _count(buf, pos, n_ref, min_ref, path, "n_ref")
    bin_head = _BIN_CSI if csi else _BIN_BAI
    refs = []
    mv = memoryview(buf)
    u8 = np.frombuffer(buf, dtype=np.uint8)
    size = len(buf)
    for r in range(n_ref):
        _need(buf, pos, 4, path, "n_bin")
        (n_bin,) = _I32.unpack_from(buf, pos)
        _count(buf, pos + 4, n_bin, bin_head.size, path, "n_bin")
        pos += 4
        ref = ReferenceIndex(order=[])
        heads = []  # (bin, loffset, n_chunk, offset of the bin, offset of its chunks)
        for _ in range(n_bin):
            if pos + bin_head.size > size:
                _need(buf, pos, bin_head.size, path, "bin")
            if csi:
                b, loff, n_chunk = bin_head.unpack_from(buf, pos)
            else:
                b, n_chunk = bin_head.unpack_from(buf, pos)
                loff = 0
            at = pos
            pos += bin_head.size
            if n_chunk < 0 or pos + 16 * n_chunk > size:
                _count(buf, pos, n_chunk, 16, path, "n_chunk")
            heads.append((b, loff, n_chunk, at, pos))
            pos += 16 * n_chunk
        # every chunk of the reference in one gather, then a view per bin
        counts = np.array([h[2] for h in heads], dtype=np.int64)
        total = int(counts.sum()) if len(heads) else 0
        if total:
            starts = np.array([h[4] for h in heads], dtype=np.int64)
            nbytes = counts * 16
            idx = np.repeat(starts - (np.cumsum(nbytes) - nbytes), nbytes) + np.arange(total * 16, dtype=np.int64)
            chunks_all = u8[idx].view("<u8").reshape(total, 2).astype(np.uint64)
            owner = np.repeat(np.arange(len(heads)), counts)
            bins_arr = np.array([h[0] for h in heads], dtype=np.int64)
            inverted = np.flatnonzero((chunks_all[:, 0] > chunks_all[:, 1]) & (bins_arr[owner] != meta_bin))
            bad_bin = int(owner[inverted[0]]) if len(inverted) else -1  # first bin with a chunk ending before it starts
        else:
            chunks_all = np.zeros((0, 2), dtype=np.uint64)
            bad_bin = -1
        k = 0
        for i, (b, loff, n_chunk, at, _cp) in enumerate(heads):
            if b in ref.bins or (b == meta_bin and ref.meta is not None):
                raise FormatError(f"reference {r}: bin {b} appears twice", path=path, offset=at, field="bin")
            chunks = chunks_all[k:k + n_chunk]
            if b == meta_bin:
                if n_chunk != 2:
                    raise FormatError(
                        f"reference {r}: pseudo-bin {b} has {n_chunk} chunks, expected 2", path=path, offset=at, field="n_chunk"
                    )
                ref.meta = tuple(int(x) for x in chunks.reshape(-1).tolist())
            elif b >= nbins:
                raise FormatError(
                    f"reference {r}: bin {b} is beyond bin_limit {nbins}", path=path, offset=at, field="bin"
                )
            else:
                if i == bad_bin:
                    raise FormatError(
                        f"reference {r}: bin {b} has a chunk ending before it starts", path=path, offset=at, field="chunk_end"
                    )
                ref.bins[b] = chunks
                if csi:
                    ref.loffsets[b] = int(loff)
            ref.order.append(b)
            k += n_chunk
        if not csi:
            _need(buf, pos, 4, path, "n_intv")
            (n_intv,) = _I32.unpack_from(buf, pos)
            pos += 4
            _count(buf, pos, n_intv, 8, path, "n_intv")
            ref.linear = np.frombuffer(mv[pos: pos + 8 * n_intv], dtype="<u8").astype(np.uint64)
            pos += 8 * n_intv
        refs.append(ref)
    n_no_coor = None
    left = len(buf) - pos
    if left >= 8:
        n_no_coor = struct.unpack_from("<Q", buf, pos)[0]
        pos += 8
    elif left:
        raise TruncatedFileError(f"n_no_coor: needs 8 bytes, {left} left", path=path, offset=pos, field="n_no_coor")
    return refs, n_no_coor, pos


def serialize_body(index: BinningIndex) -> bytes:
    """Serialise ``n_ref`` and the per-reference part of an index.

    The layout is SAMv1 §5.2 (BAI/TBI) or CSIv1 (CSI, per-bin ``loffset``,
    no linear index); bins follow :attr:`ReferenceIndex.order`.
    """
    csi = index.fmt == "csi"
    meta_bin = index.pseudo_bin
    out = [_I32.pack(len(index.refs))]
    for ref in index.refs:
        order = ref.order
        if order is None:
            order = sorted(ref.bins)
            if ref.meta is not None:
                order.append(meta_bin)
        parts = []
        nb = 0
        for b in order:
            if b == meta_bin:
                if ref.meta is None:
                    continue
                chunks = np.array(ref.meta, dtype=np.uint64).reshape(2, 2)
                loff = 0
            else:
                if b not in ref.bins:
                    continue
                chunks = np.asarray(ref.bins[b], dtype=np.uint64).reshape(-1, 2)
                loff = int(ref.loffsets.get(b, 0))
            if csi:
                parts.append(_BIN_CSI.pack(b, loff, len(chunks)))
            else:
                parts.append(_BIN_BAI.pack(b, len(chunks)))
            parts.append(chunks.astype("<u8").tobytes())
            nb += 1
        out.append(_I32.pack(nb))
        out.extend(parts)
        if not csi:
            lin = ref.linear if ref.linear is not None else np.zeros(0, dtype=np.uint64)
            out.append(_I32.pack(len(lin)))
            out.append(np.asarray(lin, dtype=np.uint64).astype("<u8").tobytes())
    if index.n_no_coor is not None:
        out.append(struct.pack("<Q", int(index.n_no_coor)))
    return b"".join(out)


# -- builder ----------------------------------------------------------------
class _IntHashOrder:
    """Bucket layout of htslib's khash for 32-bit integer keys.

    Only the layout matters here: htslib writes bins in bucket order, so a
    byte-identical index needs the same open-addressing table (identity
    hash, quadratic probing, load factor 0.77, in-place rehash on growth).
    """

    __slots__ = ("n_buckets", "size", "n_occupied", "upper_bound", "keys", "flags", "_where")
    _EMPTY, _DEL = 2, 1

    def __init__(self):
        self.n_buckets = 0
        self.size = 0
        self.n_occupied = 0
        self.upper_bound = 0
        self.keys: list = []
        self.flags: list = []  # per bucket: 2 empty, 1 deleted, 0 used, 3 empty+deleted
        self._where = None

    @staticmethod
    def _roundup(x: int) -> int:
        return 1 if x <= 1 else 1 << (x - 1).bit_length()

    def _resize(self, new_n: int) -> None:
        new_n = max(self._roundup(new_n), 4)
        if self.size >= int(new_n * 0.77 + 0.5):
            return
        new_flags = [2] * new_n
        old_n = self.n_buckets
        if old_n < new_n:
            self.keys.extend([0] * (new_n - old_n))
        keys, flags = self.keys, self.flags
        mask = new_n - 1
        for j in range(old_n):
            if flags[j] & 3 == 0:
                key = keys[j]
                flags[j] |= 1
                while True:
                    i = key & mask
                    step = 0
                    while new_flags[i] & 2 == 0:
                        step += 1
                        i = (i + step) & mask
                    new_flags[i] &= ~2
                    if i < old_n and flags[i] & 3 == 0:
                        keys[i], key = key, keys[i]
                        flags[i] |= 1
                    else:
                        keys[i] = key
                        break
        if old_n > new_n:
            del self.keys[new_n:]
        self.flags = new_flags
        self.n_buckets = new_n
        self.n_occupied = self.size
        self.upper_bound = int(new_n * 0.77 + 0.5)

    def put(self, key: int) -> None:
        self._where = None
        if self.n_occupied >= self.upper_bound:
            if self.n_buckets > (self.size << 1):
                self._resize(self.n_buckets - 1)
            else:
                self._resize(self.n_buckets + 1)
        flags, keys = self.flags, self.keys
        mask = self.n_buckets - 1
        x = site = self.n_buckets
        i = key & mask
        if flags[i] & 2:
            x = i
        else:
            last = i
            step = 0
            while not (flags[i] & 2) and ((flags[i] & 1) or keys[i] != key):
                if flags[i] & 1:
                    site = i
                step += 1
                i = (i + step) & mask
                if i == last:
                    x = site
                    break
            if x == self.n_buckets:
                x = site if (flags[i] & 2 and site != self.n_buckets) else i
        if flags[x] & 2:
            keys[x] = key
            flags[x] = 0
            self.size += 1
            self.n_occupied += 1
        elif flags[x] & 1:
            keys[x] = key
            flags[x] = 0
            self.size += 1

    def delete(self, key: int) -> None:
        # deletion only marks the bucket; no element moves
        if self._where is None:
            self._where = {self.keys[i]: i for i in range(self.n_buckets) if self.flags[i] & 3 == 0}
        i = self._where.pop(key, None)
        if i is not None:
            self.flags[i] |= 1
            self.size -= 1

    def order(self) -> list:
        return [self.keys[i] for i in range(self.n_buckets) if self.flags[i] & 3 == 0]


_MIN_MARKER_DIST = 0x10000  # htslib HTS_MIN_MARKER_DIST: 64 KiB of compressed file


def _as_array(x, n, name, dtype):
    a = np.asarray(x)
    if a.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), not {a.shape}")
    return a.astype(dtype, copy=False)


def build_index(ref_id, pos, end, unmapped, voff_beg, voff_end, n_ref, *, min_shift: int = BAI_MIN_SHIFT,
                depth: int | None = None, fmt: str = "bai", ref_lengths=None, final_offset: int | None = None,
                aux: bytes = b"", path=None) -> BinningIndex:
    """Build a binning index from per-record arrays, as ``samtools index`` does.

    Parameters
    ----------
    ref_id : array_like of int, shape (n,)
        Reference id of each record in file order; -1 for records without one.
    pos : array_like of int, shape (n,)
        0-based start.
    end : array_like of int, shape (n,)
        0-based exclusive reference end (``pos + 1`` for unmapped records or
        records without reference-consuming CIGAR operations).
    unmapped : array_like of bool, shape (n,)
        ``flag & 4`` (counted as unmapped in the pseudo-bin).
    voff_beg, voff_end : array_like of uint64, shape (n,)
        Virtual offsets of each record's first byte and of the byte after it,
        normalised as htslib's ``bgzf_tell`` reports them (a record ending at a
        block end has ``voff_end`` = next block, offset 0).
    n_ref : int
        Number of references in the header.
    min_shift : int
        Size of the smallest bins as a power of two (14).
    depth : int or None
        Levels below the root.  ``None``: 5 for BAI/TBI; for CSI the smallest
        depth whose range holds the longest of ``ref_lengths`` plus 256
        (``samtools index -c``), or 5 without ``ref_lengths``.
    fmt : {"bai", "csi", "tbi"}
    ref_lengths : array_like of int, optional
        Reference lengths from the header (CSI depth choice).
    final_offset : int, optional
        Virtual offset of end of data; defaults to ``voff_end[-1]``.
    aux : bytes
        CSI aux / TBI header bytes to store in the index.

    Returns
    -------
    BinningIndex
        Equal, once written with :func:`write_bai` / :func:`write_csi`, to what
        htslib 1.16 writes (byte for byte for BAI; same decompressed bytes for
        CSI), bins in htslib's hash-table order.

    Raises
    ------
    FormatError
        Records not sorted by position, a reference's records not contiguous,
        placed records after unplaced ones, ``end < pos`` or ``ref_id`` out
        of range -- the cases where ``samtools index`` refuses too.
    LimitExceededError
        A record lies beyond ``2**(min_shift + 3*depth)`` (use CSI or a larger
        depth).

    Notes
    -----
    Follows htslib's ``hts_idx_push`` / ``hts_idx_finish``: consecutive
    records in the same bin share one chunk; a bin whose chunks span less
    than 64 KiB of compressed file is folded into its parent; chunks that
    start in the block where the previous one ends are joined; the linear
    index holds for each 2**min_shift window the start of the first record
    covering it, holes filled from the right; pseudo-bin ``bin_limit + 1``
    carries ``(ref_beg, ref_end, n_mapped, n_unmapped)`` (SAMv1 §5.2, CSIv1).
    All coordinates are 0-based half-open.
    """
    if fmt not in ("bai", "csi", "tbi"):
        raise ValueError(f"fmt must be 'bai', 'csi' or 'tbi', not {fmt!r}")
    tid = np.asarray(ref_id).astype(np.int64).reshape(-1)
    n = len(tid)
    beg = _as_array(pos, n, "pos", np.int64)
    fin = _as_array(end, n, "end", np.int64)
    unm = _as_array(unmapped, n, "unmapped", bool)
    vb = _as_array(voff_beg, n, "voff_beg", np.uint64)
    ve = _as_array(voff_end, n, "voff_end", np.uint64)
    n_ref = int(n_ref)
    if depth is None:
        if fmt == "csi" and ref_lengths is not None and len(ref_lengths):
            from .binning import csi_depth_for_length

            depth = csi_depth_for_length(int(np.max(np.asarray(ref_lengths, dtype=np.int64))), min_shift)
        else:
            depth = BAI_DEPTH
    if fmt != "csi" and (min_shift != BAI_MIN_SHIFT or depth != BAI_DEPTH):
        raise ValueError("BAI/TBI need min_shift=14, depth=5")
    from .binning import reg2bin

    ms = int(min_shift)
    nbins = bin_limit(ms, depth)
    meta_bin = nbins + 1
    maxpos = max_position(ms, depth)
    index = BinningIndex(fmt=fmt, refs=[ReferenceIndex(order=[]) for _ in range(n_ref)], min_shift=ms,
                         depth=int(depth), aux=bytes(aux), n_no_coor=0, path=path)
    if fmt != "csi":
        for ref in index.refs:
            ref.linear = np.zeros(0, dtype=np.uint64)
    if n == 0:
        return index

    placed = tid >= 0
    if np.any(tid >= n_ref):
        i = int(np.argmax(tid >= n_ref))
        raise FormatError(f"record {i}: ref_id {tid[i]} but header has {n_ref} references",
                          path=path, offset=int(vb[i]), field="ref_id", virtual=True)
    # htslib: unplaced records index as [-1, 0)
    b0 = np.where(placed, beg, -1)
    e0 = np.where(placed, fin, 0)
    bad = placed & ((b0 > maxpos) | (e0 > maxpos))
    if np.any(bad):
        i = int(np.argmax(bad))
        raise LimitExceededError(
            f"record {i}: region {b0[i]}..{e0[i]} cannot be stored with min_shift={ms}, depth={depth} "
            f"(limit {maxpos}); use a CSI index", path=path, offset=int(vb[i]), field="pos", virtual=True)
    # contiguity and order
    change = np.ones(n, dtype=bool)
    change[1:] = tid[1:] != tid[:-1]
    starts = np.flatnonzero(change)
    block_tids = tid[starts]
    if np.any(block_tids[:-1] < 0):
        i = int(starts[np.argmax(block_tids[:-1] < 0) + 1])
        raise FormatError(f"record {i}: placed record after records without a reference",
                          path=path, offset=int(vb[i]), field="ref_id", virtual=True)
    pb = block_tids[block_tids >= 0]
    if len(np.unique(pb)) != len(pb):
        raise FormatError("records of one reference are not contiguous (file not sorted)", path=path, field="ref_id")
    bad = placed & (e0 < b0)
    if np.any(bad):
        i = int(np.argmax(bad))
        raise FormatError(f"record {i}: end {e0[i]} < start {b0[i]}", path=path, offset=int(vb[i]),
                          field="end", virtual=True)
    b1 = np.where(placed, np.maximum(b0, 0), -1)
    e1 = np.where(placed, np.where(e0 <= 0, 1, e0), 0)
    unsorted = np.zeros(n, dtype=bool)
    unsorted[1:] = (~change[1:]) & placed[1:] & (b1[:-1] > b0[1:])
    if np.any(unsorted):
        i = int(np.argmax(unsorted))
        raise FormatError(f"record {i}: unsorted positions ({b1[i - 1]} followed by {b0[i]})", path=path,
                          offset=int(vb[i]), field="pos", virtual=True)
    index.n_no_coor = int(np.count_nonzero(~placed))

    bins = reg2bin(b1, e1, ms, depth)
    # runs: consecutive records with the same reference and bin share a chunk
    run_start = change.copy()
    run_start[1:] |= bins[1:] != bins[:-1]
    rs = np.flatnonzero(run_start)
    re_ = np.append(rs[1:], n) - 1
    final = int(ve[-1]) if final_offset is None else int(final_offset)
    run_beg = vb[rs]
    run_end = ve[re_].copy()
    run_end[-1] = final
    run_bin = bins[rs]

    offset0 = int(vb[0])
    for bs, t in zip(starts.tolist(), block_tids.tolist()):
        if t < 0:
            continue
        be = int(np.searchsorted(starts, bs, side="right"))
        blk_end = (int(starts[be]) if be < len(starts) else n) - 1
        ref = index.refs[t]
        sel = slice(bs, blk_end + 1)
        # pseudo-bin: offsets and counts
        ref_beg = offset0 if bs == 0 else int(ve[bs - 1])
        ref_end = final if blk_end == n - 1 else int(ve[blk_end])
        n_unm = int(np.count_nonzero(unm[sel]))
        ref.meta = (ref_beg, ref_end, (blk_end + 1 - bs) - n_unm, n_unm)
        # runs of this block, in order
        r0 = int(np.searchsorted(rs, bs))
        r1 = int(np.searchsorted(rs, blk_end, side="right"))
        table = _IntHashOrder()
        chunks: dict = {}
        for b, u, v in zip(run_bin[r0:r1].tolist(), run_beg[r0:r1].tolist(), run_end[r0:r1].tolist()):
            lst = chunks.get(b)
            if lst is None:
                chunks[b] = [(u, v)]
            else:
                lst.append((u, v))
            # htslib's insert_to_b calls kh_put for every chunk; a put of an
            # existing key can still trigger a rehash, which moves buckets
            table.put(b)
        table.put(meta_bin)  # pseudo-bin: offsets, then counts (two kh_put calls)
        table.put(meta_bin)
        # linear index: first record covering each window, holes filled from the right
        wb = b1[sel] >> ms
        we = (e1[sel] - 1) >> ms
        prev = np.maximum.accumulate(we)
        lo = wb.copy()
        lo[1:] = np.maximum(wb[1:], prev[:-1] + 1)
        cnt = np.maximum(we - lo + 1, 0)
        n_lin = int(prev[-1]) + 1
        lin = np.full(n_lin, UINT64_MAX, dtype=np.uint64)
        if cnt.sum():
            rec = np.repeat(np.arange(len(wb)), cnt)
            first = np.repeat(lo, cnt)
            within = np.arange(len(rec)) - np.repeat(np.cumsum(cnt) - cnt, cnt)
            lin[first + within] = vb[sel][rec]
        valid = lin != UINT64_MAX
        nxt = np.where(valid, np.arange(n_lin), n_lin - 1)
        nxt = np.minimum.accumulate(nxt[::-1])[::-1]
        lin = lin[nxt]
        # bin loffsets (CSI) before any bin is folded into its parent
        loffs = {}
        for b in chunks:
            bot = bin_bot(b, depth)
            loffs[b] = int(lin[bot]) if bot < n_lin else 0
        # fold small bins into their parents, deepest level first
        for level in range(int(depth), 0, -1):
            first_bin = bin_first(level)
            for b in table.order():
                if b >= nbins or b < first_bin:
                    continue
                lst = chunks[b]
                if level < depth and len(lst) > 1:
                    lst.sort()
                if (lst[-1][1] >> 16) - (lst[0][0] >> 16) < _MIN_MARKER_DIST:
                    parent = bin_parent(b)
                    if parent in chunks:
                        chunks[parent].extend(lst)
                        del chunks[b]
                        table.delete(b)
        if 0 in chunks:
            chunks[0].sort()
        # join chunks that start in the block where the previous one ends
        for b, lst in chunks.items():
            merged = [list(lst[0])]
            for u, v in lst[1:]:
                if merged[-1][1] >> 16 >= u >> 16:
                    if merged[-1][1] < v:
                        merged[-1][1] = v
                else:
                    merged.append([u, v])
            ref.bins[b] = np.array(merged, dtype=np.uint64).reshape(-1, 2)
        order = table.order()
        ref.bins = {b: ref.bins[b] for b in order if b != meta_bin}
        ref.order = order
        if fmt == "csi":
            ref.loffsets = {b: loffs[b] for b in ref.bins}
        else:
            ref.linear = lin
    return index
