"""Raw DEFLATE backends: libdeflate (``deflate``), ISA-L (``isal``) or stdlib ``zlib``.

The fastest installed backend is picked once.  All return/raise the same way:
``inflate(cdata, isize)`` returns exactly ``isize`` bytes or raises
``ValueError``; ``deflate(data, level)`` returns a raw DEFLATE stream.
Set ``HTS_NOTEBOOK_DEFLATE=zlib|isal|libdeflate`` to force one (benchmarks).
"""
from __future__ import annotations

import os
import zlib

__all__ = ["inflate", "deflate", "crc32", "BACKEND"]


def _zlib_inflate(cdata: bytes, isize: int) -> bytes:
    d = zlib.decompressobj(-15)
    try:
        out = d.decompress(cdata, isize + 1)
    except zlib.error as exc:
        raise ValueError(str(exc)) from None
    if not d.eof or len(out) != isize:
        raise ValueError(f"inflated {len(out)} bytes{'' if d.eof else ' (stream not finished)'}, ISIZE says {isize}")
    return out


def _zlib_deflate(data: bytes, level: int) -> bytes:
    c = zlib.compressobj(level, zlib.DEFLATED, -15, 8)
    return c.compress(data) + c.flush()


inflate = _zlib_inflate
deflate = _zlib_deflate
crc32 = zlib.crc32
BACKEND = "zlib"

_want = os.environ.get("HTS_NOTEBOOK_DEFLATE", "")

if _want in ("", "libdeflate"):
    try:
        import deflate as _ld

        def _ld_inflate(cdata: bytes, isize: int) -> bytes:
            if isize == 0:
                return _zlib_inflate(cdata, 0)
            try:
                out = _ld.deflate_decompress(cdata, isize)
            except _ld.DeflateError as exc:
                raise ValueError(f"libdeflate: {exc} (ISIZE {isize})") from None
            if len(out) != isize:
                raise ValueError(f"inflated {len(out)} bytes, ISIZE says {isize}")
            return out

        def _ld_deflate(data: bytes, level: int) -> bytes:
            return _ld.deflate_compress(data, max(level, 1)) if level > 0 else _zlib_deflate(data, 0)

        inflate, deflate, crc32, BACKEND = _ld_inflate, _ld_deflate, _ld.crc32, "libdeflate"
        _want = "done"
    except ImportError:
        pass

if _want in ("", "isal"):
    try:
        from isal import isal_zlib as _iz

        def _isal_inflate(cdata: bytes, isize: int) -> bytes:
            d = _iz.decompressobj(-15)
            try:
                out = d.decompress(cdata, isize + 1)
            except _iz.error as exc:
                raise ValueError(str(exc)) from None
            if not d.eof or len(out) != isize:
                raise ValueError(f"inflated {len(out)} bytes, ISIZE says {isize}")
            return out

        inflate, crc32, BACKEND = _isal_inflate, _iz.crc32, "isal"
    except ImportError:
        pass


# -- inflating straight into a caller's buffer ---------------------------------
# libdeflate's C API (through ctypes, which drops the GIL for the call) inflates a
# block into place with no intermediate ``bytes`` object and no copy; blocks of one
# range are then inflated truly in parallel.  The library comes from the ``deflate``
# package's extension module (it exports the libdeflate symbols) or the system's
# libdeflate.  ``inflate_into`` is None when neither loads or zlib/isal is forced.

inflate_into = None
crc32_at = None


def _zlib_inflate_bounded(data: bytes, limit: int) -> bytes:
    """Inflate one zlib stream of at most ``limit`` bytes (stdlib); ValueError when it is corrupt, cut or larger."""
    d = zlib.decompressobj()
    try:
        out = d.decompress(data, max(limit, 1))
        if d.unconsumed_tail and d.decompress(d.unconsumed_tail, 1):
            raise ValueError(f"inflates to more than {limit} bytes")
    except zlib.error as exc:
        raise ValueError(f"zlib: {exc}") from None
    if not d.eof:
        raise ValueError("zlib stream ends early")
    return out


#: ``zlib_inflate_bounded(data, limit)``: one zlib stream (RFC 1950) of at most ``limit`` bytes;
#: libdeflate when it loads (GIL released), else stdlib zlib.  Raises ValueError.
zlib_inflate_bounded = _zlib_inflate_bounded


def _load_libdeflate():
    import ctypes
    import ctypes.util
    import threading

    paths = []
    try:
        from deflate import _deflate

        paths.append(_deflate.__file__)
    except ImportError:
        pass
    found = ctypes.util.find_library("deflate")
    if found:
        paths.append(found)
    lib = None
    for p in paths:
        try:
            cand = ctypes.CDLL(p)
            cand.libdeflate_deflate_decompress
            cand.libdeflate_alloc_decompressor
            cand.libdeflate_crc32
            cand.libdeflate_zlib_decompress
            lib = cand
            break
        except (OSError, AttributeError):
            continue
    if lib is None:
        return None, None, None
    vp, sz = ctypes.c_void_p, ctypes.c_size_t
    lib.libdeflate_alloc_decompressor.restype = vp
    lib.libdeflate_alloc_decompressor.argtypes = []
    lib.libdeflate_free_decompressor.argtypes = [vp]
    lib.libdeflate_free_decompressor.restype = None
    dec = lib.libdeflate_deflate_decompress
    dec.restype = ctypes.c_int
    dec.argtypes = [vp, vp, sz, vp, sz, vp]
    zdec = lib.libdeflate_zlib_decompress
    zdec.restype = ctypes.c_int
    zdec.argtypes = [vp, ctypes.c_char_p, sz, vp, sz, ctypes.POINTER(sz)]
    crc = lib.libdeflate_crc32
    crc.restype = ctypes.c_uint32
    crc.argtypes = [ctypes.c_uint32, vp, sz]
    local = threading.local()
    messages = {1: "bad data", 2: "fewer bytes than ISIZE", 3: "more bytes than ISIZE or a cut stream"}

    class _Decompressor:
        """One libdeflate decompressor per thread (they are not thread-safe)."""

        def __init__(self):
            self.ptr = lib.libdeflate_alloc_decompressor()
            if not self.ptr:
                raise MemoryError("libdeflate_alloc_decompressor failed")

        def __del__(self, free=lib.libdeflate_free_decompressor):
            if self.ptr:
                free(self.ptr)

    def _decompressor() -> _Decompressor:
        d = getattr(local, "d", None)
        if d is None:
            d = local.d = _Decompressor()
        return d

    def _inflate_into(src_addr: int, src_len: int, dst_addr: int, isize: int) -> None:
        """Inflate the raw DEFLATE stream at ``src_addr`` into exactly ``isize`` bytes at ``dst_addr``.

        The caller keeps both buffers alive and sized; raises ``ValueError`` when
        the stream is corrupt or does not inflate to exactly ``isize`` bytes.
        """
        d = _decompressor()
        if isize == 0:
            # libdeflate accepts a zero-length output only from an empty stream; zlib checks it
            _zlib_inflate(ctypes.string_at(src_addr, src_len), 0)
            return
        r = dec(d.ptr, src_addr, src_len, dst_addr, isize, None)
        if r:
            raise ValueError(f"libdeflate: {messages.get(r, r)} (ISIZE {isize})")

    def _crc32_at(addr: int, n: int) -> int:
        """CRC32 of ``n`` bytes at ``addr``."""
        return crc(0, addr, n)

    def _zlib_bounded(data: bytes, limit: int) -> bytearray:
        """Inflate one zlib stream (header, DEFLATE, Adler-32) of at most ``limit`` bytes."""
        d = _decompressor()
        out = bytearray(max(limit, 1))
        got = sz(0)
        r = zdec(d.ptr, data, len(data), (ctypes.c_char * len(out)).from_buffer(out), len(out), ctypes.byref(got))
        if r == 3:
            raise ValueError(f"inflates to more than {limit} bytes")
        if r:
            raise ValueError(f"libdeflate: {messages.get(r, r)}")
        del out[got.value:]
        return out

    return _inflate_into, _crc32_at, _zlib_bounded


if BACKEND == "libdeflate":
    inflate_into, crc32_at, _zlib_libdeflate = _load_libdeflate()
    if _zlib_libdeflate is not None:
        zlib_inflate_bounded = _zlib_libdeflate
