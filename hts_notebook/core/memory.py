"""Keep freed array memory in the process heap instead of handing it back to the OS at once.

Array work here allocates and frees many temporaries of a few MiB.  glibc
serves those from fresh ``mmap`` pages and unmaps them on free, so the next
query touches new pages again; on virtual machines a page fault costs
microseconds, which was a quarter of a 100 kb pileup.  :func:`tune_allocator`
sets glibc's ``M_MMAP_THRESHOLD`` to 32 MiB (smaller blocks come from the
heap and are reused) and ``M_TRIM_THRESHOLD`` to 128 MiB (at most that much
free heap is kept before it is returned).  Larger arrays are still mapped and
unmapped as before.

It runs once when :mod:`hts_notebook` is imported, on Linux with glibc only.
Set ``HTS_NOTEBOOK_MALLOC=default`` in the environment to leave the allocator
as it is.
"""
from __future__ import annotations

import os
import sys

__all__ = ["tune_allocator", "MMAP_THRESHOLD", "TRIM_THRESHOLD"]

MMAP_THRESHOLD = 32 << 20
TRIM_THRESHOLD = 128 << 20
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_DONE: list = []


def tune_allocator() -> bool:
    """Apply the thresholds above (once); True when glibc accepted them."""
    if _DONE:
        return _DONE[0]
    ok = False
    if sys.platform.startswith("linux") and os.environ.get("HTS_NOTEBOOK_MALLOC", "") != "default":
        try:
            import ctypes

            libc = ctypes.CDLL(None)
            mallopt = libc.mallopt
            mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
            mallopt.restype = ctypes.c_int
            ok = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
        except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to tune
            ok = False
    _DONE.append(ok)
    return ok
