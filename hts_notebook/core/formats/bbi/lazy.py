"""Lazy xarray arrays over one bigWig contig (DESIGN.md §1, xarray backends).

:class:`BigWigContigArray` is a :class:`xarray.backends.BackendArray` of
shape ``(contig_length,)`` float32: element ``i`` is the value of the base at
0-based position ``i`` (1-based position ``i + 1``), ``fill`` (NaN) where the
file has no data.  Indexing reads only the R-tree leaves and data blocks that
overlap the selection (through :meth:`BigWigFile.values`), never the contig.

:class:`PositionArray` is the matching 1-based coordinate, computed on demand
(``arange``), so a 250-Mb contig costs nothing until a slice is asked for.

Both pickle by path (the open file and its lock are dropped and reopened on
first use), so dask workers in other processes can read the same file.

This module imports xarray; it is imported only by
:mod:`hts_notebook.backend` when xarray opens a file.
"""
from __future__ import annotations

import threading

import numpy as np
from xarray.backends import BackendArray
from xarray.core import indexing

__all__ = ["BigWigContigArray", "PositionArray", "SharedBigWig"]


class SharedBigWig:
    """A lazily opened :class:`BigWigFile` guarded by a lock, picklable by path.

    Parameters
    ----------
    path : str
        bigWig file path.

    Notes
    -----
    The reader's block cache is not thread-safe, and dask's threaded scheduler
    reads chunks concurrently, so every read holds :attr:`lock` (zlib
    inflation is short; the lock costs little).  After unpickling, the file is
    reopened on first use in the new process.
    """

    def __init__(self, path: str):
        self.path = str(path)
        self._file = None
        self.lock = threading.Lock()

    def file(self):
        """The open :class:`BigWigFile` (opened on first call)."""
        if self._file is None:
            from .bigwig import BigWigFile

            self._file = BigWigFile(self.path)
        return self._file

    def read(self, contig: str, start: int, stop: int, fill: float) -> np.ndarray:
        """Values of ``[start, stop)`` (0-based half-open, clipped to the contig) as float32."""
        with self.lock:
            if stop <= start:
                return np.zeros(0, dtype=np.float32)
            return np.asarray(self.file().values((contig, int(start), int(stop)), fill=fill).data,
                              dtype=np.float32)

    def close(self) -> None:
        """Close the file if open (it is reopened on the next read)."""
        with self.lock:
            if self._file is not None:
                self._file.close()
                self._file = None

    def __getstate__(self):
        return {"path": self.path}

    def __setstate__(self, state):
        self.__init__(state["path"])


def _slice_bounds(key: slice, n: int) -> tuple[int, int, int]:
    start, stop, step = key.indices(n)
    return start, stop, step


class BigWigContigArray(BackendArray):
    """Per-base values of one contig of a bigWig, read on indexing.

    Parameters
    ----------
    shared : SharedBigWig
        The file (shared by all contigs of one dataset).
    contig : str
        Contig name.
    length : int
        Contig length in bases (the array's shape is ``(length,)``).
    fill : float
        Value of bases without data (NaN by default, DESIGN.md §3).

    Attributes
    ----------
    shape : (int,)
    dtype : numpy.dtype
        float32.

    Notes
    -----
    Indexing support is BASIC (integers and slices); xarray turns outer and
    vectorised indexers into a bounding slice read plus a numpy index.  A
    slice with a negative step reads the covering range once and reverses it.
    """

    def __init__(self, shared: SharedBigWig, contig: str, length: int, fill: float = float("nan")):
        self.shared = shared
        self.contig = str(contig)
        self.shape = (int(length),)
        self.dtype = np.dtype(np.float32)
        self.fill = float(fill)

    def __getitem__(self, key: indexing.ExplicitIndexer) -> np.ndarray:
        return indexing.explicit_indexing_adapter(key, self.shape, indexing.IndexingSupport.BASIC, self._raw_getitem)

    def _raw_getitem(self, key: tuple) -> np.ndarray:
        (k,) = key
        n = self.shape[0]
        if isinstance(k, slice):
            start, stop, step = _slice_bounds(k, n)
            if step > 0:
                if stop <= start:
                    return np.zeros(0, dtype=np.float32)
                span = self.shared.read(self.contig, start, stop, self.fill)
                return span[::step] if step != 1 else span
            # negative step: positions start, start+step, ... > stop
            idx = np.arange(start, stop, step)
            if not len(idx):
                return np.zeros(0, dtype=np.float32)
            lo = int(idx.min())
            span = self.shared.read(self.contig, lo, int(idx.max()) + 1, self.fill)
            return span[idx - lo]
        i = int(k)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(f"index {int(k)} out of range for contig {self.contig!r} of length {n}")
        return self.shared.read(self.contig, i, i + 1, self.fill)[0]


class PositionArray(BackendArray):
    """1-based positions ``1 .. length`` of a contig (int64), computed on indexing.

    Parameters
    ----------
    length : int
    """

    def __init__(self, length: int):
        self.shape = (int(length),)
        self.dtype = np.dtype(np.int64)

    def __getitem__(self, key: indexing.ExplicitIndexer) -> np.ndarray:
        return indexing.explicit_indexing_adapter(key, self.shape, indexing.IndexingSupport.BASIC, self._raw_getitem)

    def _raw_getitem(self, key: tuple):
        (k,) = key
        if isinstance(k, slice):
            start, stop, step = _slice_bounds(k, self.shape[0])
            return np.arange(start + 1, stop + 1, step, dtype=np.int64)
        i = int(k)
        if i < 0:
            i += self.shape[0]
        if not 0 <= i < self.shape[0]:
            raise IndexError(f"index {int(k)} out of range for length {self.shape[0]}")
        return np.int64(i + 1)
