"""xarray backend ``engine="hts"``: bigWig files as lazy xarray Datasets.

>>> ds = xr.open_dataset("signal.bw", engine="hts")            # doctest: +SKIP
>>> ds["chr1"].isel(positions_chr1=slice(999, 2000)).values      # chr1:1,000-2,000  # doctest: +SKIP
>>> xr.open_dataset("signal.bw", engine="hts", chunks={}).chr1   # dask, 1-Mb chunks  # doctest: +SKIP

Layout
------
One data variable per contig, named by the contig, float32 on its own
dimension ``positions_<contig>``; element ``i`` is the base at 0-based
position ``i``.  The 1-based coordinate ``position_<contig>`` (int64, DESIGN.md
§2) is lazy too and is deliberately *not* an index: a pandas index over a whole
genome would cost gigabytes at open time.  Select by integer position with
``isel`` (``isel(positions_chr1=slice(start0, stop0))`` is the 0-based
half-open region ``[start0, stop0)``), or use :func:`select_region` with a
region string.  Values are NaN where the file has no data (DESIGN.md §3).

Nothing is read at open time but the header and chromosome tree; indexing a
variable reads only the data blocks under the selection.  ``chunks={}`` gives
dask arrays chunked by ``preferred_chunks`` (``chunk_size``, 65,536 bases by
default; ``chunks="auto"`` for larger ones); the arrays
pickle by path, so ``dask.distributed`` workers in other processes work.

This module is the xarray entry point: at import it loads only
``xarray.backends`` (already imported when xarray looks up engines) and
numpy.  :mod:`hts_notebook` never imports it.
"""
from __future__ import annotations

import os

from xarray.backends import BackendEntrypoint

__all__ = ["HtsBackendEntrypoint", "select_region", "BIGWIG_MAGIC"]

#: bigWig magic number (either byte order)
BIGWIG_MAGIC = 0x888FFC26

#: default dask chunk length (bases) advertised through ``preferred_chunks``: ``chunks={}`` uses it,
#: ``chunks="auto"`` grows it to dask's chunk-size target, and explicit chunks that are multiples of it
#: open without xarray's "chunks separate the stored chunks" warning
DEFAULT_CHUNK = 1 << 16


def _is_bigwig_head(head: bytes) -> bool:
    return len(head) >= 4 and BIGWIG_MAGIC in (int.from_bytes(head[:4], "little"), int.from_bytes(head[:4], "big"))


class HtsBackendEntrypoint(BackendEntrypoint):
    """xarray backend for bigWig files (``engine="hts"``).

    ``open_dataset(path, drop_variables=None, fill=nan, chunk_size=65536)``
    returns a lazy :class:`xarray.Dataset` (see the module docstring for the
    layout).
    """

    description = "bigWig signal files as lazy per-contig float32 arrays (hts_notebook)"
    url = "https://github.com/hts-notebook/hts_notebook"
    open_dataset_parameters = ("filename_or_obj", "drop_variables", "fill", "chunk_size")

    def guess_can_open(self, filename_or_obj) -> bool:
        """True when the object is a path to a file starting with the bigWig magic.

        Reads four bytes; never raises (missing files, directories, URLs,
        file objects and anything else answer False).
        """
        try:
            if not isinstance(filename_or_obj, (str, os.PathLike)):
                return False
            path = os.fspath(filename_or_obj)
            if not os.path.isfile(path):
                return False
            with open(path, "rb") as fh:
                return _is_bigwig_head(fh.read(4))
        except Exception:  # noqa: BLE001 - guess_can_open must never raise
            return False

    def open_dataset(self, filename_or_obj, *, drop_variables=None, fill: float = float("nan"),
                     chunk_size: int = DEFAULT_CHUNK):
        """Open a bigWig as a lazy Dataset.

        Parameters
        ----------
        filename_or_obj : str or os.PathLike
            bigWig path.
        drop_variables : str or iterable of str, optional
            Contig names (or ``position_<contig>`` coordinates) to leave out.
        fill : float
            Value of bases without data (NaN).
        chunk_size : int
            Preferred dask chunk length in bases (``chunks={}`` uses it; explicit
            chunks should be multiples of it).

        Returns
        -------
        xarray.Dataset
            Variables ``<contig>`` (float32, dim ``positions_<contig>``) with
            lazy coordinates ``position_<contig>`` (int64, 1-based); attrs
            ``source``, ``contigs`` (names), ``contig_lengths``, ``fill``.

        Raises
        ------
        TypeError
            ``filename_or_obj`` is not a path.
        FormatError
            Not a bigWig, or a malformed header.
        """
        import numpy as np
        import xarray as xr
        from xarray.core import indexing

        from .core.formats.bbi.lazy import BigWigContigArray, PositionArray, SharedBigWig

        if not isinstance(filename_or_obj, (str, os.PathLike)):
            raise TypeError(f"engine='hts' opens bigWig paths, not {type(filename_or_obj).__name__}")
        path = os.fspath(filename_or_obj)
        shared = SharedBigWig(path)
        contigs = dict(shared.file().contigs)  # validates the header now (FormatError)
        if isinstance(drop_variables, str):
            drop_variables = [drop_variables]
        drop = set(drop_variables or ())
        chunk = max(1, int(chunk_size))
        data_vars, coords = {}, {}
        for name, length in contigs.items():
            if name in drop:
                continue
            dim = f"positions_{name}"
            values = indexing.LazilyIndexedArray(BigWigContigArray(shared, name, length, fill))
            var = xr.Variable((dim,), values, attrs={"contig": name, "long_name": "position_value",
                                                    "coordinates_note": "element i is 0-based position i"},
                              encoding={"preferred_chunks": {dim: min(chunk, max(length, 1))}})
            data_vars[name] = var
            cname = f"position_{name}"
            if cname not in drop:
                coords[cname] = xr.Variable((dim,), indexing.LazilyIndexedArray(PositionArray(length)),
                                            attrs={"long_name": "1-based position"},
                                            encoding={"preferred_chunks": {dim: min(chunk, max(length, 1))}})
        ds = xr.Dataset(data_vars, coords=coords,
                        attrs={"source": path, "contigs": list(contigs),
                               "contig_lengths": np.asarray(list(contigs.values()), dtype=np.int64),
                               "fill": float(fill), "format": "bigwig"})
        ds.set_close(shared.close)
        return ds


def select_region(ds, region):
    """Lazy selection of one region from a Dataset opened with ``engine="hts"``.

    Parameters
    ----------
    ds : xarray.Dataset
        From ``xr.open_dataset(path, engine="hts")``.
    region : str, Region or tuple
        ``"chr1:1,001-2,000"`` (1-based closed) or a 0-based half-open
        ``(contig, start, stop)`` tuple; clipped to the contig.

    Returns
    -------
    xarray.DataArray
        ``position_value`` float32 on dim ``positions`` with the 1-based
        coordinate ``position`` (DESIGN.md §2), still lazy when ``ds`` is;
        ``attrs["region"]`` and ``attrs["source"]``.

    Raises
    ------
    RegionError
        Malformed region or a contig not in ``ds``.
    """
    from .core.errors import RegionError
    from .core.region import parse_region

    lengths = {name: ds[name].shape[0] for name in ds.attrs.get("contigs", []) if name in ds.data_vars}
    reg = parse_region(region, lengths)
    if reg.contig not in lengths:
        raise RegionError(f"unknown contig {reg.contig!r}", field="contig")
    reg = reg.resolved(lengths[reg.contig])
    dim = f"positions_{reg.contig}"
    da = ds[reg.contig].isel({dim: slice(reg.start, reg.stop)})
    da = da.rename({dim: "positions"}).rename("position_value")
    cname = f"position_{reg.contig}"
    if cname in da.coords:
        da = da.rename({cname: "position"})
    da.attrs.update({"region": str(reg), "contig": reg.contig, "source": ds.attrs.get("source", "")})
    return da
