"""Small process-wide caches of what was parsed from a file, keyed by the file's identity.

A notebook opens the same BAM (and its index) again and again; re-parsing the
index or the header each time costs more than the query that follows.  The key
is the file's real path, inode, size and modification and change times, so a
rewritten, truncated or replaced file is read afresh.  Cached values are shared:
treat them as read-only (or copy them).
"""
from __future__ import annotations

import os
import stat
import threading
from collections import OrderedDict

__all__ = ["file_identity", "IdentityCache"]


def file_identity(path) -> tuple | None:
    """``(real path, inode, size, mtime_ns, ctime_ns)`` of a regular file, or None (missing, not a file)."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    return (os.path.realpath(path), st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


class IdentityCache:
    """Least-recently-used map from :func:`file_identity` keys to parsed values.

    Parameters
    ----------
    maxsize : int
        Entries kept; the least recently used one goes first.
    """

    def __init__(self, maxsize: int):
        self.maxsize = int(maxsize)
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        """The value stored for ``key`` (None for a None key or a miss)."""
        if key is None:
            return None
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key, value) -> None:
        """Store ``value`` for ``key`` (ignored for a None key)."""
        if key is None:
            return
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.maxsize:
                self._items.popitem(last=False)

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._items.clear()
