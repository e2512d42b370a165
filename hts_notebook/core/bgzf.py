"""BGZF: blocked gzip with virtual offsets (SAMv1 §4.1).

A BGZF file is a series of gzip members ("blocks") of at most 64 KiB each,
every one carrying its compressed size in a ``BC`` extra subfield (``BSIZE``),
and ends with a fixed 28-byte empty block, the EOF marker.  A *virtual offset*
is ``coffset << 16 | uoffset``: the file offset of a block's first byte and an
offset into its inflated data.

The reader checks every header field, ``ISIZE`` and ``CRC32``, and the EOF
marker at open, and inflates many blocks per call, in parallel threads (the
DEFLATE backends release the GIL).  The writer cuts blocks of at most 0xff00
inflated bytes as htslib does, and appends the EOF marker on close.
"""
from __future__ import annotations

import io
import os
import struct
import sys
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from . import deflate_backend as _dfl
from .errors import ChecksumError, FormatError, LimitExceededError, TruncatedFileError
from .source import ByteSource, open_source

__all__ = [
    "BGZF_EOF",
    "BgzfReader",
    "BgzfWriter",
    "InflatedRange",
    "make_voffset",
    "split_voffset",
    "is_bgzf",
    "compress",
    "read_gzi",
    "write_gzi",
    "build_gzi",
    "RecordStream",
    "RecordChunk",
]

#: the 28-byte empty block that ends every BGZF file (SAMv1 §4.1.2)
BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")
#: most inflated bytes htslib puts in one block
BLOCK_DATA_SIZE = 0xFF00
MAX_BLOCK_SIZE = 0x10000
_HEADER = struct.Struct("<BBBBIBBH")  # ID1 ID2 CM FLG MTIME XFL OS XLEN
_TAIL = struct.Struct("<II")  # CRC32 ISIZE
_THREADS = max(1, min(8, os.cpu_count() or 1))
_POOL: ThreadPoolExecutor | None = None


class _BufferPool:
    """Process-wide spare ``bytearray`` buffers, refilled only once nobody holds them.

    Fresh memory costs a page fault per 4 KiB on first write (about 25 ms per
    64 MiB here), more than inflating into pages already mapped, so scans
    hand their finished buffers back.  A buffer is free when the only
    references left are the pool's and the check's own: any batch, numpy
    view or memoryview into it keeps it out of reuse.  At most
    :data:`_POOL_BYTES` are kept.
    """

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._bufs: list = []
        self._lock = threading.Lock()

    def take(self, size: int) -> bytearray | None:
        """A free buffer that holds ``size`` bytes without reallocating much, resized to ``size``; or None."""
        found = None
        with self._lock:
            for i in range(len(self._bufs)):
                alloc = self._bufs[i].__alloc__()
                # two references: the list's and getrefcount's argument
                if 0.9 * size < alloc <= 2 * size + 2 and sys.getrefcount(self._bufs[i]) == 2:
                    found = self._bufs.pop(i)
                    break
        return None if found is None else _resize(found, size)

    def give(self, buf: bytearray) -> None:
        """Keep ``buf`` for a later :meth:`take` (the oldest go past the byte cap)."""
        with self._lock:
            if any(b is buf for b in self._bufs):
                return
            self._bufs.append(buf)
            total = 0
            for k in range(len(self._bufs) - 1, -1, -1):
                total += len(self._bufs[k])
                if total > self.max_bytes:
                    del self._bufs[:k + 1]
                    break



def _resize(buf: bytearray, size: int) -> bytearray:
    """``buf`` cut or zero-extended to ``size`` bytes in place (its pages stay mapped)."""
    if len(buf) > size:
        del buf[size:]
    elif len(buf) < size:
        buf.extend(bytes(size - len(buf)))
    return buf


#: bytes of idle inflate/read buffers kept for reuse between scans
_POOL_BYTES = 256 << 20
_BUFFERS = _BufferPool(_POOL_BYTES)


def _pool() -> ThreadPoolExecutor:
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(_THREADS, thread_name_prefix="bgzf")
    return _POOL


def make_voffset(coffset: int, uoffset: int) -> int:
    """Virtual offset from a block's file offset and an offset in its data."""
    return (coffset << 16) | uoffset


def split_voffset(voffset: int) -> tuple[int, int]:
    """``(coffset, uoffset)`` of a virtual offset."""
    return voffset >> 16, voffset & 0xFFFF


def _parse_header(buf, pos: int, path, file_offset: int) -> tuple[int, int]:
    """Check one block header at ``buf[pos:]``; return ``(block_size, header_size)``.

    ``file_offset`` is the block's offset in the file, for messages.
    """
    avail = len(buf) - pos
    if avail < 18:
        raise TruncatedFileError(
            f"BGZF block header needs 18 bytes, {avail} left", path=path, offset=file_offset, field="header"
        )
    id1, id2, cm, flg, _mtime, _xfl, _os, xlen = _HEADER.unpack_from(buf, pos)
    if id1 != 31 or id2 != 139:
        raise FormatError(
            f"not a BGZF block: ID1/ID2 are {id1:#04x} {id2:#04x}", path=path, offset=file_offset, field="ID1"
        )
    if cm != 8:
        raise FormatError(f"BGZF CM is {cm}, expected 8 (deflate)", path=path, offset=file_offset, field="CM")
    if not flg & 4:
        raise FormatError("gzip member has no FEXTRA: plain gzip, not BGZF", path=path, offset=file_offset, field="FLG")
    if avail < 12 + xlen:
        raise TruncatedFileError(
            f"BGZF extra field (XLEN={xlen}) runs past end of file", path=path, offset=file_offset, field="XLEN"
        )
    sub = pos + 12
    end = sub + xlen
    bsize = None
    while sub + 4 <= end:
        si1, si2, slen = buf[sub], buf[sub + 1], buf[sub + 2] | (buf[sub + 3] << 8)
        if si1 == 66 and si2 == 67 and slen == 2 and sub + 6 <= end:
            bsize = buf[sub + 4] | (buf[sub + 5] << 8)
        sub += 4 + slen
    if bsize is None:
        raise FormatError("gzip member has no BC subfield: not BGZF", path=path, offset=file_offset, field="BSIZE")
    block_size = bsize + 1
    header_size = 12 + xlen
    if block_size < header_size + 8:
        raise FormatError(
            f"BSIZE={bsize} smaller than the block header", path=path, offset=file_offset, field="BSIZE"
        )
    return block_size, header_size


def _inflate_block(raw, file_offset: int, header_size: int, path, check_crc: bool = True) -> bytes:
    """Inflate one whole block (``raw`` holds exactly its bytes)."""
    crc, isize = _TAIL.unpack_from(raw, len(raw) - 8)
    if isize > MAX_BLOCK_SIZE:
        raise FormatError(f"ISIZE={isize} exceeds 65536", path=path, offset=file_offset, field="ISIZE")
    try:
        data = _dfl.inflate(memoryview(raw)[header_size:-8], isize)
    except ValueError as exc:
        raise FormatError(f"corrupt deflate data: {exc}", path=path, offset=file_offset, field="CDATA") from None
    if check_crc and _dfl.crc32(data) != crc:
        raise ChecksumError(
            f"CRC32 mismatch: stored {crc:#010x}, data {_dfl.crc32(data):#010x}", path=path, offset=file_offset, field="CRC32"
        )
    return data


@dataclass
class InflatedRange:
    """Inflated bytes of consecutive blocks, with a map back to virtual offsets.

    Attributes
    ----------
    data : bytes
        Concatenated inflated data.
    block_coffsets : ndarray of int64, shape (n_blocks,)
        File offset of each block.
    block_uoffsets : ndarray of int64, shape (n_blocks + 1,)
        Start of each block's data within ``data`` (last entry = ``len(data)``).
    end_coffset : int
        File offset just past the last block inflated.
    """

    data: bytes
    block_coffsets: np.ndarray
    block_uoffsets: np.ndarray
    end_coffset: int

    def position(self, voffset: int) -> int:
        """Index into :attr:`data` of a virtual offset inside this range."""
        coff, uoff = split_voffset(voffset)
        i = int(np.searchsorted(self.block_coffsets, coff))
        if i == len(self.block_coffsets) or self.block_coffsets[i] != coff:
            if coff >= self.end_coffset and uoff == 0:
                return len(self.data)
            raise FormatError(f"virtual offset {coff:#x}:{uoff:#x} is not at a block start of this range", field="voffset")
        return int(self.block_uoffsets[i]) + uoff

    def voffsets(self, positions) -> np.ndarray:
        """Virtual offsets (int64/uint64) of positions in :attr:`data`."""
        positions = np.asarray(positions, dtype=np.int64)
        i = np.searchsorted(self.block_uoffsets[1:], positions, side="right")
        i = np.minimum(i, len(self.block_coffsets) - 1) if len(self.block_coffsets) else i
        u = positions - self.block_uoffsets[i]
        return (self.block_coffsets[i].astype(np.uint64) << np.uint64(16)) | u.astype(np.uint64)


class _InflateJob:
    """The blocks of one range in groups, inflated by every thread that calls :meth:`run`.

    Groups are taken from a shared queue, so helpers can join at any time; the
    first error is kept and re-raised by :meth:`wait`.
    """

    GROUP = 32  # blocks per group: about 2 MiB inflated

    def __init__(self, fill, n_blocks: int, keep=None):
        self._fill = fill
        self._keep = keep  # buffers the block addresses point into
        # small ranges still split in two, so a second thread can help
        g = max(4, min(self.GROUP, -(-n_blocks // 2)))
        self._groups = deque(range(i, min(i + g, n_blocks)) for i in range(0, n_blocks, g))
        self.n_groups = len(self._groups)
        self._left = self.n_groups
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._error: BaseException | None = None
        if not self._left:
            self._done.set()

    def run(self) -> None:
        """Inflate groups until none is left."""
        while True:
            try:
                group = self._groups.popleft()
            except IndexError:
                return
            try:
                if self._error is None:
                    self._fill(group)
            except BaseException as exc:  # noqa: BLE001 - handed to wait()
                self._error = self._error or exc
            with self._lock:
                self._left -= 1
                if not self._left:
                    self._keep = self._fill = None  # release the read buffers for reuse
                    self._done.set()

    def wait(self) -> None:
        """Help until the queue is empty, then wait for groups still in other threads; raise their error."""
        self.run()
        self._done.wait()
        if self._error is not None:
            raise self._error


class PendingRange:
    """A range being inflated in the background (:meth:`BgzfReader.inflate_range_async`)."""

    def __init__(self):
        self._ready = threading.Event()
        self._rng = self._job = self._error = None

    def _set(self, rng, job, error) -> None:
        self._rng, self._job, self._error = rng, job, error
        self._ready.set()

    def result(self) -> InflatedRange:
        """The inflated range; the calling thread inflates what is still queued.

        Raises whatever reading or inflating the range raised.
        """
        self._ready.wait()
        if self._error is not None:
            raise self._error
        if self._job is not None:
            self._job.wait()
            self._job = None
        return self._rng


class BgzfReader:
    """Random-access reader of a BGZF file.

    Parameters
    ----------
    target : path, file object, bytes or ByteSource
    check_eof : bool
        Raise :class:`TruncatedFileError` at open if the EOF marker is absent.
    check_crc : bool
        Verify each block's CRC32 (on by default).

    Raises
    ------
    FormatError
        The first block is not BGZF.
    TruncatedFileError
        EOF marker missing (``check_eof``), or a block runs past the end.
    """

    def __init__(self, target, *, path: str | None = None, check_eof: bool = True, check_crc: bool = True):
        self.source: ByteSource = open_source(target, path)
        self.path = self.source.path
        self.size = self.source.size
        self.check_crc = check_crc
        head = self.source.read_at(0, 18)
        _parse_header(head, 0, self.path, 0)
        self.has_eof = self.size >= 28 and self.source.read_at(self.size - 28, 28) == BGZF_EOF
        if check_eof and not self.has_eof:
            raise TruncatedFileError(
                "BGZF EOF marker missing: file is truncated", path=self.path, offset=self.size, field="EOF"
            )
        self._cur_coffset = -1
        self._cur_data = b""
        self._cur_next = 0
        self._pos_coffset = 0
        self._pos_uoffset = 0

    # -- block level ---------------------------------------------------
    def read_block(self, coffset: int) -> tuple[bytes, int]:
        """Inflate the block at file offset ``coffset``; return ``(data, next_coffset)``."""
        if coffset < 0 or coffset > self.size:
            raise FormatError(f"block offset {coffset:#x} outside file of {self.size} bytes", path=self.path, offset=coffset, field="coffset")
        head = self.source.read_at(coffset, 18 + 64)
        block_size, header_size = _parse_header(head, 0, self.path, coffset)
        raw = self.source.read_at(coffset, block_size)
        if len(raw) != block_size:
            raise TruncatedFileError(
                f"BGZF block of {block_size} bytes has only {len(raw)} in file", path=self.path, offset=coffset, field="BSIZE"
            )
        return _inflate_block(raw, coffset, header_size, self.path, self.check_crc), coffset + block_size

    def _scan_blocks(self, buf, base: int, stop: int | None):
        """Walk headers in ``buf`` (file bytes from ``base``); list (offset, size, hsize)."""
        out = []
        pos = 0
        n = len(buf)
        while pos < n:
            if stop is not None and base + pos >= stop:
                break
            block_size, header_size = _parse_header(buf, pos, self.path, base + pos)
            if pos + block_size > n:
                if base + pos + block_size > self.size:
                    raise TruncatedFileError(
                        f"BGZF block of {block_size} bytes runs past end of file",
                        path=self.path, offset=base + pos, field="BSIZE",
                    )
                break  # block continues beyond what was read: caller reads on
            out.append((pos, block_size, header_size))
            pos += block_size
        return out, pos

    def inflate_range(self, cstart: int = 0, cend: int | None = None, *, max_bytes: int | None = None,
                      writable: bool = False, out: bytearray | None = None) -> InflatedRange:
        """Inflate all blocks starting in ``[cstart, cend)`` (to EOF when ``cend`` is None).

        Blocks are inflated in parallel threads (the caller takes part).
        ``max_bytes`` bounds the inflated size; past it
        :class:`LimitExceededError` is raised.  With ``writable=True`` the data
        is a ``bytearray`` filled in place (no final join copy: the fast path
        for bulk decoding); otherwise it is ``bytes``.  ``out`` (with
        ``writable``) is a spare ``bytearray`` to fill instead of a new one: it
        is resized to fit, and must have no buffer exports.
        """
        rng, job = self._prepare_range(cstart, cend, max_bytes=max_bytes, writable=writable, out=out)
        if job is not None:
            for _ in range(min(_THREADS, job.n_groups) - 1):
                _pool().submit(job.run)  # errors are kept by the job
            job.wait()
        return rng

    def inflate_range_async(self, cstart: int, cend: int | None = None) -> "PendingRange":
        """Start inflating ``[cstart, cend)`` (writable) in one background thread.

        :meth:`PendingRange.result` returns the :class:`InflatedRange`; the
        thread calling it inflates the blocks still waiting, so a consumer
        that finishes its own work early lends its core instead of idling, and
        no more threads than cores run while it is busy.
        """
        pending = PendingRange()

        def start():
            try:
                rng, job = self._prepare_range(cstart, cend, writable=True)
            except BaseException as exc:  # reported by result()
                pending._set(None, None, exc)
                return
            pending._set(rng, job, None)
            if job is not None:
                job.run()

        _prefetch_pool().submit(start)
        return pending

    def _prepare_range(self, cstart: int, cend: int | None, *, max_bytes: int | None = None, writable: bool = False,
                       out: bytearray | None = None) -> tuple[InflatedRange, "_InflateJob | None"]:
        """Read and check the blocks of a range; inflate them now, or return the job that will (fast path)."""
        if cend is None or cend > self.size:
            cend = self.size
        if cstart < 0 or cstart > self.size:
            raise FormatError(f"block offset {cstart:#x} outside file", path=self.path, offset=cstart, field="coffset")
        blocks = []
        fast = writable and _dfl.inflate_into is not None
        addrs: list = []  # with ``fast``: address of each block's first byte
        raws: list = []  # keeps the buffers behind ``addrs`` alive
        pos = cstart
        # read the compressed span plus one maximal block so the last block is whole
        while pos < cend:
            want = min(cend - pos + MAX_BLOCK_SIZE, self.size - pos, 64 << 20)
            if fast:  # into a pooled buffer (no fresh pages); the job drops it when done
                raw = _BUFFERS.take(want) or bytearray(want)
                _resize(raw, self.source.read_into(pos, raw))
                _BUFFERS.give(raw)
            else:
                raw = self.source.read_at(pos, want)
            found, used = self._scan_blocks(raw, pos, cend)
            if not found:
                # single block larger than what we read cannot happen (want >= 64 KiB); be safe
                self._scan_blocks(self.source.read_at(pos, MAX_BLOCK_SIZE + 64), pos, cend)
                raise TruncatedFileError("BGZF block runs past end of file", path=self.path, offset=pos, field="BSIZE")
            mv = memoryview(raw)
            base = np.frombuffer(raw, dtype=np.uint8).ctypes.data if fast else 0
            for off, bsz, hsz in found:
                blocks.append((pos + off, mv[off: off + bsz], hsz))
                if fast:
                    addrs.append(base + off)
            raws.append(raw)
            pos += used
        if max_bytes is not None:
            total = sum(int.from_bytes(b[-4:], "little") for _, b, _ in blocks)
            if total > max_bytes:
                raise LimitExceededError(
                    f"range inflates to {total} bytes, limit {max_bytes}", path=self.path, offset=cstart, field="ISIZE"
                )
        path, crc = self.path, self.check_crc
        coffs = np.fromiter((b[0] for b in blocks), dtype=np.int64, count=len(blocks))
        if writable:
            # ISIZE of every block is known up front: inflate straight into place
            sizes = np.fromiter((int.from_bytes(b[1][-4:], "little") for b in blocks), dtype=np.int64, count=len(blocks))
            if len(sizes) and int(sizes.max()) > MAX_BLOCK_SIZE:
                k = int(np.argmax(sizes > MAX_BLOCK_SIZE))
                raise FormatError(f"ISIZE={int(sizes[k])} exceeds 65536", path=path, offset=int(coffs[k]), field="ISIZE")
            uoffs = np.zeros(len(blocks) + 1, dtype=np.int64)
            np.cumsum(sizes, out=uoffs[1:])
            total = int(uoffs[-1])
            if out is not None:
                out = _resize(out, total)
            else:
                out = _BUFFERS.take(total) or bytearray(total)
            _BUFFERS.give(out)
            rng = InflatedRange(out, coffs, uoffs, pos)
            if fast:
                return rng, self._in_place_job(blocks, addrs, raws, sizes, uoffs, out)
            view = np.frombuffer(out, dtype=np.uint8)
            starts = uoffs[:-1].tolist()

            def fill(k):
                off, raw, hsz = blocks[k]
                part = _inflate_block(raw, off, hsz, path, crc)
                view[starts[k]: starts[k] + len(part)] = np.frombuffer(part, dtype=np.uint8)

            if len(blocks) > 4 and _THREADS > 1:
                step = max(1, len(blocks) // (4 * _THREADS))
                groups = [range(i, min(i + step, len(blocks))) for i in range(0, len(blocks), step)]
                for _ in _pool().map(lambda g: [fill(k) for k in g], groups):
                    pass
            else:
                for k in range(len(blocks)):
                    fill(k)
            return rng, None
        if len(blocks) > 4 and _THREADS > 1:
            parts = list(_pool().map(lambda b: _inflate_block(b[1], b[0], b[2], path, crc), blocks, chunksize=16))
        else:
            parts = [_inflate_block(b, off, hsz, path, crc) for off, b, hsz in blocks]
        sizes = np.fromiter((len(p) for p in parts), dtype=np.int64, count=len(parts))
        uoffs = np.zeros(len(parts) + 1, dtype=np.int64)
        np.cumsum(sizes, out=uoffs[1:])
        return InflatedRange(b"".join(parts), coffs, uoffs, pos), None

    def _in_place_job(self, blocks, addrs, raws, sizes, uoffs, out: bytearray) -> "_InflateJob":
        """The job inflating ``blocks`` straight into ``out`` with libdeflate (GIL released per block), checking CRC32."""
        path, check = self.path, self.check_crc
        inflate_into, crc32_at = _dfl.inflate_into, _dfl.crc32_at
        dst = np.frombuffer(out, dtype=np.uint8).ctypes.data if len(out) else 0
        isizes = sizes.tolist()
        ustarts = uoffs[:-1].tolist()

        def fill(ks):
            for k in ks:
                off, raw, hsz = blocks[k]
                n, at = isizes[k], dst + ustarts[k]
                try:
                    inflate_into(addrs[k] + hsz, len(raw) - hsz - 8, at, n)
                except ValueError as exc:
                    raise FormatError(f"corrupt deflate data: {exc}", path=path, offset=off, field="CDATA") from None
                if check:
                    crc = _TAIL.unpack_from(raw, len(raw) - 8)[0]
                    got = crc32_at(at, n)
                    if got != crc:
                        raise ChecksumError(f"CRC32 mismatch: stored {crc:#010x}, data {got:#010x}",
                                            path=path, offset=off, field="CRC32")

        return _InflateJob(fill, len(blocks), keep=(raws, blocks))

    def inflated_bound(self) -> int:
        """Upper bound on the inflated size of the whole file (each block is >= 26 bytes and inflates to <= 64 KiB).

        Readers check header lengths against it before allocating.
        """
        return (self.size // 26 + 1) * MAX_BLOCK_SIZE

    def read_length(self, field: str, label: str, *, signed: bool = True) -> tuple[int, int]:
        """Read a little-endian 32-bit length field and check it against :meth:`inflated_bound`.

        Returns ``(value, voffset of the field)``.

        Raises
        ------
        TruncatedFileError
            Fewer than 4 bytes left.
        FormatError
            Negative, or larger than the whole file could inflate to.
        """
        voff = self.tell()
        value = int.from_bytes(self.read_exact(4, field), "little", signed=signed)
        if value < 0 or value > self.inflated_bound():
            raise FormatError(f"{label} {field}={value} is impossible for a file of {self.size} bytes",
                              path=self.path, offset=voff, field=field, virtual=True)
        return value, voff

    def read_all(self) -> bytes:
        """Inflate the whole file."""
        return self.inflate_range(0).data

    def iter_ranges(self, chunk_bytes: int = 16 << 20, *, writable: bool = False):
        """Yield :class:`InflatedRange` pieces of about ``chunk_bytes`` compressed bytes, in order."""
        pos = 0
        while pos < self.size:
            rng = self.inflate_range(pos, min(self.size, pos + chunk_bytes), writable=writable)
            if rng.end_coffset <= pos:
                break
            pos = rng.end_coffset
            yield rng

    # -- stream level --------------------------------------------------
    def seek(self, voffset: int) -> None:
        """Move to a virtual offset."""
        self._pos_coffset, self._pos_uoffset = split_voffset(voffset)

    def tell(self) -> int:
        """Current virtual offset (normalised to the next block at a block end)."""
        self._load(self._pos_coffset)
        if self._pos_uoffset >= len(self._cur_data) and self._cur_next < self.size:
            return make_voffset(self._cur_next, 0)
        return make_voffset(self._pos_coffset, self._pos_uoffset)

    def _load(self, coffset: int) -> None:
        if coffset != self._cur_coffset:
            if coffset >= self.size:
                self._cur_coffset, self._cur_data, self._cur_next = coffset, b"", coffset
                return
            self._cur_data, self._cur_next = self.read_block(coffset)
            self._cur_coffset = coffset

    def read(self, n: int = -1) -> bytes:
        """Read up to ``n`` inflated bytes from the current position (all when ``n < 0``)."""
        out = []
        remaining = n
        while remaining != 0:
            self._load(self._pos_coffset)
            data = self._cur_data
            if self._pos_uoffset > len(data):
                raise FormatError(
                    f"virtual offset within-block part {self._pos_uoffset} past block of {len(data)} bytes",
                    path=self.path, offset=self._pos_coffset, field="voffset",
                )
            if self._pos_uoffset == len(data):
                if self._cur_next >= self.size:
                    break
                self._pos_coffset, self._pos_uoffset = self._cur_next, 0
                continue
            take = len(data) - self._pos_uoffset if remaining < 0 else min(remaining, len(data) - self._pos_uoffset)
            out.append(data[self._pos_uoffset: self._pos_uoffset + take])
            self._pos_uoffset += take
            if remaining > 0:
                remaining -= take
        return b"".join(out)

    def read_exact(self, n: int, field: str = "data") -> bytes:
        """Read exactly ``n`` bytes or raise :class:`TruncatedFileError`."""
        voff = make_voffset(self._pos_coffset, self._pos_uoffset)
        data = self.read(n)
        if len(data) != n:
            raise TruncatedFileError(
                f"{field}: needs {n} bytes, stream has {len(data)}", path=self.path, offset=voff, field=field, virtual=True
            )
        return data

    def readline(self) -> bytes:
        """Read one line including its ``\\n`` (empty bytes at end of file)."""
        out = []
        while True:
            self._load(self._pos_coffset)
            data = self._cur_data
            if self._pos_uoffset >= len(data):
                if self._cur_next >= self.size:
                    break
                self._pos_coffset, self._pos_uoffset = self._cur_next, 0
                continue
            nl = data.find(b"\n", self._pos_uoffset)
            if nl >= 0:
                out.append(data[self._pos_uoffset: nl + 1])
                self._pos_uoffset = nl + 1
                break
            out.append(data[self._pos_uoffset:])
            self._pos_uoffset = len(data)
        return b"".join(out)

    def as_stream(self, buffer_size: int = 1 << 20) -> io.BufferedReader:
        """The inflated data as a buffered binary file object (``readline``, ``readlines``, ``read``).

        Every check of the reader still applies (EOF marker, CRC32, ISIZE):
        corruption raises :class:`HtsError` subclasses from the file object's
        methods.
        """
        return io.BufferedReader(_RawBgzf(self), buffer_size)

    def close(self) -> None:
        self.source.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class _RawBgzf(io.RawIOBase):
    """Raw, read-only file object over a :class:`BgzfReader` (for :meth:`BgzfReader.as_stream`)."""

    def __init__(self, reader: "BgzfReader"):
        self._reader = reader

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        data = self._reader.read(len(b))
        b[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._reader.close()
        super().close()


def is_bgzf(target) -> bool:
    """True when the file starts with a BGZF block header (never raises on bad data)."""
    src = open_source(target)
    try:
        _parse_header(src.read_at(0, 64), 0, src.path, 0)
        return True
    except FormatError:
        return False
    finally:
        if src is not target:
            src.close()


def _compress_block(data: bytes, level: int) -> bytes:
    cdata = _dfl.deflate(data, level)
    if len(cdata) + 26 > MAX_BLOCK_SIZE:
        cdata = _dfl.deflate(data, 0)
    bsize = len(cdata) + 25
    header = _HEADER.pack(31, 139, 8, 4, 0, 0, 255, 6) + b"BC" + struct.pack("<HH", 2, bsize)
    return header + cdata + _TAIL.pack(_dfl.crc32(data), len(data))


class BgzfWriter:
    """Write a BGZF stream.

    Parameters
    ----------
    target : path or binary file object
    level : int
        DEFLATE level 0-9 (htslib's default is 6... we use the backend's 6).
    record_gzi : bool
        Keep ``(coffset, uoffset)`` of each block for :meth:`gzi_entries`.

    Notes
    -----
    :meth:`tell` gives the virtual offset of the next byte written, which is
    what index builders store.  :meth:`flush` ends the current block.
    """

    def __init__(self, target, level: int = 6, *, record_gzi: bool = False):
        if isinstance(target, (str, os.PathLike)):
            self._fh = open(target, "wb")
            self._owns = True
        else:
            self._fh = target
            self._owns = False
        self.level = level
        self._buf = bytearray()
        self._coffset = 0
        self._uoffset_total = 0
        self._gzi: list[tuple[int, int]] | None = [] if record_gzi else None
        self.closed = False

    def tell(self) -> int:
        return make_voffset(self._coffset, len(self._buf))

    def write(self, data) -> int:
        self._buf += data
        while len(self._buf) >= BLOCK_DATA_SIZE:
            self._emit(bytes(self._buf[:BLOCK_DATA_SIZE]))
            del self._buf[:BLOCK_DATA_SIZE]
        return len(data)

    def _emit(self, data: bytes) -> None:
        if self._gzi is not None and self._coffset:
            self._gzi.append((self._coffset, self._uoffset_total))
        block = _compress_block(data, self.level)
        self._fh.write(block)
        self._coffset += len(block)
        self._uoffset_total += len(data)

    def write_records(self, data, sizes) -> None:
        """Write consecutive records, cutting blocks only between records where they fit.

        As htslib does for BAM and BCF: a record that does not fit in what is
        left of the current block starts a new block, so most records can be
        read from a single block; a record larger than a block is split.

        Parameters
        ----------
        data : bytes-like
            The records, back to back.
        sizes : array of int
            Byte length of each record (summing to ``len(data)``).
        """
        if not len(data):
            return
        ends = np.cumsum(np.asarray(sizes, dtype=np.int64))
        mv = memoryview(data)
        pos, total = 0, len(data)
        while pos < total:
            room = BLOCK_DATA_SIZE - len(self._buf)
            k = int(np.searchsorted(ends, pos + room, side="right"))
            cut = int(ends[k - 1]) if k > 0 and ends[k - 1] > pos else pos
            if cut == pos:
                if self._buf:
                    self.flush()
                    continue
                nxt = int(ends[np.searchsorted(ends, pos, side="right")])
                self.write(mv[pos:nxt])  # one record larger than a block: split it
                pos = nxt
                continue
            self.write(mv[pos:cut])
            pos = cut
            if pos < total:
                self.flush()

    def flush(self) -> None:
        """End the current block (no-op when it is empty)."""
        if self._buf:
            self._emit(bytes(self._buf))
            self._buf.clear()

    def gzi_entries(self) -> list[tuple[int, int]]:
        if self._gzi is None:
            raise ValueError("writer was opened without record_gzi=True")
        return list(self._gzi)

    def close(self) -> None:
        if self.closed:
            return
        self.flush()
        self._fh.write(BGZF_EOF)
        self.closed = True
        if self._owns:
            self._fh.close()
        else:
            self._fh.flush()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def compress(data: bytes, level: int = 6) -> bytes:
    """BGZF-compress ``data`` in memory, EOF marker included."""
    parts = [_compress_block(bytes(data[i: i + BLOCK_DATA_SIZE]), level) for i in range(0, len(data), BLOCK_DATA_SIZE)]
    return b"".join(parts) + BGZF_EOF


# -- .gzi ---------------------------------------------------------------
def read_gzi(target) -> np.ndarray:
    """Read a ``.gzi`` index: array ``(n, 2)`` uint64 of (coffset, uoffset), first row ``(0, 0)``.

    Raises
    ------
    FormatError, TruncatedFileError
    """
    src = open_source(target)
    try:
        head = src.read_exact(0, 8, "n_entries")
        n = int.from_bytes(head, "little")
        if 8 + 16 * n != src.size:
            if 8 + 16 * n > src.size:
                raise TruncatedFileError(
                    f"gzi declares {n} entries, file holds {(src.size - 8) // 16}", path=src.path, offset=0, field="n_entries"
                )
            raise FormatError(f"gzi has {src.size - 8 - 16 * n} trailing bytes", path=src.path, offset=8 + 16 * n, field="n_entries")
        arr = np.frombuffer(src.read_exact(8, 16 * n, "entries"), dtype="<u8").reshape(n, 2)
        out = np.vstack([np.zeros((1, 2), dtype=np.uint64), arr.astype(np.uint64)])
        if n and (np.any(np.diff(out[:, 0].astype(np.int64)) <= 0) or np.any(np.diff(out[:, 1].astype(np.int64)) < 0)):
            raise FormatError("gzi offsets are not increasing", path=src.path, offset=8, field="entries")
        return out
    finally:
        if src is not target:
            src.close()


def write_gzi(target, entries) -> None:
    """Write a ``.gzi`` from ``(coffset, uoffset)`` pairs of every block after the first."""
    arr = np.asarray(list(entries), dtype="<u8").reshape(-1, 2)
    if len(arr) and arr[0, 0] == 0:
        arr = arr[1:]
    payload = len(arr).to_bytes(8, "little") + arr.tobytes()
    if isinstance(target, (str, os.PathLike)):
        with open(target, "wb") as fh:
            fh.write(payload)
    else:
        target.write(payload)


def build_gzi(target) -> list[tuple[int, int]]:
    """Scan a BGZF file and return the ``.gzi`` entries (as ``bgzip -r`` builds them)."""
    reader = BgzfReader(target)
    entries = []
    pos, upos = 0, 0
    while pos < reader.size:
        head = reader.source.read_at(pos, 18 + 64)
        block_size, _ = _parse_header(head, 0, reader.path, pos)
        tail = reader.source.read_exact(pos + block_size - 4, 4, "ISIZE")
        isize = int.from_bytes(tail, "little")
        if pos and isize:
            entries.append((pos, upos))
        upos += isize
        pos += block_size
    return entries


# -- streaming whole records -----------------------------------------------
_PREFETCH: ThreadPoolExecutor | None = None


def _prefetch_pool() -> ThreadPoolExecutor:
    global _PREFETCH
    if _PREFETCH is None:
        _PREFETCH = ThreadPoolExecutor(1, thread_name_prefix="bgzf-prefetch")
    return _PREFETCH


class RecordChunk:
    """One piece of a :class:`RecordStream`: inflated data that a decoder walks.

    Attributes
    ----------
    data : bytes or bytearray
        Inflated bytes.
    start : int
        Position in ``data`` of the first record to decode.
    final : bool
        No data follows (an incomplete trailing record is a truncation).
    consumed : int
        Set by the consumer: position just past the last record it decoded
        (the rest is carried into the next chunk).
    """

    __slots__ = ("data", "start", "final", "consumed", "_voffsets")

    def __init__(self, data, start, final, voffsets):
        self.data, self.start, self.final, self._voffsets = data, start, final, voffsets
        self.consumed = start

    def voffsets(self, positions) -> np.ndarray:
        """BGZF virtual offsets (uint64) of positions in :attr:`data`."""
        return self._voffsets(np.asarray(positions, dtype=np.int64))

    def voffset(self, position: int) -> int:
        return int(self._voffsets(np.asarray([position], dtype=np.int64))[0])


class RecordStream:
    """Inflate a BGZF file of length-prefixed records in big chunks, never splitting a record.

    Used by the BAM and BCF readers for whole-file scans.  The next range is
    inflated in a background thread while the consumer decodes the current
    one.  Records left incomplete at the end of a range are decoded from a
    small joined buffer (the carried tail plus the head of the next range), so
    no range is copied as a whole.

    Parameters
    ----------
    reader : BgzfReader
    first_voffset : int
        Virtual offset of the first record (just past the file header).
    head_size : int
        Bytes needed to know a record's size (4 for BAM, 8 for BCF).
    record_size : callable
        ``record_size(head: bytes) -> int or None``: total bytes of the record
        starting with ``head``, or None when the head is invalid (the decoder
        then reports the error).
    chunk_bytes : int
        Compressed bytes inflated per step.
    writable : bool
        Inflate into ``bytearray`` chunks (no join copy) rather than ``bytes``.

    Yields
    ------
    RecordChunk
        The consumer must set :attr:`RecordChunk.consumed` before asking for
        the next chunk.

    Raises
    ------
    TruncatedFileError
        The file ends inside its header or inside a record.
    """

    def __init__(self, reader: "BgzfReader", first_voffset: int, *, head_size: int, record_size,
                 chunk_bytes: int = 16 << 20, writable: bool = True):
        self.reader = reader
        self.first_voffset = first_voffset
        self.head_size = head_size
        self.record_size = record_size
        self.chunk_bytes = chunk_bytes
        self.writable = writable

    def _boundary(self, carry: bytes, data) -> int | None:
        """Position in ``data`` where the records begun in ``carry`` end (None: beyond ``data``)."""
        p, n, h = 0, len(carry), self.head_size
        while p < n:
            if p + h <= n:
                head = carry[p:p + h]
            else:
                need = p + h - n
                if need > len(data):
                    return None
                head = carry[p:] + bytes(data[:need])
            size = self.record_size(head)
            if size is None:  # invalid: stop here and let the decoder report it
                return min(len(data), max(0, p + h - n))
            p += size
        q = p - n
        return q if q <= len(data) else None

    def __iter__(self):
        reader = self.reader
        size = reader.size
        coff, skip = split_voffset(self.first_voffset)
        carry = b""
        segments: list = []  # (InflatedRange, first position in its data, length) backing ``carry``

        def fetch(p):
            if self.writable:
                return reader.inflate_range_async(p, min(size, p + self.chunk_bytes))
            return _prefetch_pool().submit(reader.inflate_range, p, min(size, p + self.chunk_bytes))

        def retire(rng):
            """Keep only the offset map, so the reader may refill the bytes once the consumer drops them."""
            return InflatedRange(b"", rng.block_coffsets, rng.block_uoffsets, rng.end_coffset)

        def carry_voffsets(segs):
            lens = np.array([s[2] for s in segs], dtype=np.int64)
            bases = np.concatenate([[0], np.cumsum(lens)])

            def voffsets(positions):
                seg = np.clip(np.searchsorted(bases[1:], positions, side="right"), 0, len(segs) - 1)
                out = np.zeros(positions.shape, dtype=np.uint64)
                for k in np.unique(seg).tolist():
                    rng, first, _ = segs[k]
                    sel = seg == k
                    out[sel] = rng.voffsets(positions[sel] - bases[k] + first)
                return out

            return voffsets

        future = fetch(coff) if coff < size else None
        if future is None and skip:
            raise TruncatedFileError("file ends inside its header", path=reader.path, offset=self.first_voffset,
                                     field="header", virtual=True)
        while future is not None:
            rng = future.result()
            if rng.end_coffset <= coff:
                break
            coff = rng.end_coffset
            future = fetch(coff) if coff < size else None
            final = future is None
            data = rng.data
            start, skip = skip, 0
            if start > len(data):
                raise TruncatedFileError("file ends inside its header", path=reader.path,
                                         offset=self.first_voffset, field="header", virtual=True)
            if carry:
                boundary = self._boundary(carry, data)
                if boundary is None and not final:  # the carried record outlasts this range
                    segments.append((rng, 0, len(data)))
                    carry = carry + bytes(data)
                    continue
                boundary = len(data) if boundary is None else boundary
                segments.append((rng, 0, boundary))
                joint = RecordChunk(carry + bytes(data[:boundary]), 0, True, carry_voffsets(segments))
                yield joint
                carry, segments, start = b"", [], boundary
            chunk = RecordChunk(data, start, final, rng.voffsets)
            yield chunk
            consumed, n = chunk.consumed, len(data)
            if consumed < n:
                carry = bytes(data[consumed:])
            chunk = data = None
            rng = retire(rng)  # keep only the offset map; the bytes may be refilled
            if consumed < n:
                segments = [(rng, consumed, n - consumed)]
        if carry:  # decoders raise first when they are told the chunk is final
            raise TruncatedFileError(f"{len(carry)} bytes after the last whole record", path=reader.path,
                                     offset=int(carry_voffsets(segments)(np.zeros(1, dtype=np.int64))[0]),
                                     field="record", virtual=True)


class RecordFileWriter:
    """Base of the BAM and BCF writers: a header block, then whole records in BGZF.

    Subclasses implement ``_encode_header(header) -> bytes`` and
    ``_encode_records(batch) -> (data, sizes)``; this class owns the BGZF
    stream, cuts blocks between records (:meth:`BgzfWriter.write_records`)
    and appends the EOF marker on :meth:`close`.
    """

    def __init__(self, target, header, level: int = 6):
        self.header = header
        self._bgzf = BgzfWriter(target, level=level)
        self._bgzf.write(self._encode_header(header))
        self._bgzf.flush()
        self.closed = False

    def _encode_header(self, header) -> bytes:  # pragma: no cover - abstract
        raise NotImplementedError

    def _encode_records(self, batch) -> tuple:  # pragma: no cover - abstract
        raise NotImplementedError

    def write_batch(self, batch) -> None:
        """Append the records of ``batch``."""
        data, sizes = self._encode_records(batch)
        if len(data):
            self._bgzf.write_records(data, sizes)

    def tell(self) -> int:
        """Virtual offset of the next record."""
        return self._bgzf.tell()

    def close(self) -> None:
        """Flush and append the BGZF EOF marker."""
        if not self.closed:
            self._bgzf.close()
            self.closed = True

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
