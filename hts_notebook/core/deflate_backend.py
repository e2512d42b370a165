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
