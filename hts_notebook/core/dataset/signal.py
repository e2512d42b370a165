"""Signal (bigWig) datasets: per-base values, window batches and binned summaries.

DESIGN.md §3: ``position_value`` is float32 with NaN where the file has no
data; per-base arrays have dim ``positions`` with a 1-based coordinate
``position``; batches are ``(windows, positions, tracks)`` (channel last);
summaries use dim ``bins`` with ``bin_start`` / ``bin_stop`` (0-based
half-open) and ``bin_<statistic>`` variables.
"""
from __future__ import annotations

import numpy as np

from .variables import register

__all__ = ["position_values", "window_batch", "bins_dataset"]

register("position_value", ("positions",), "float32",
         "Signal value at each base (bigWig), NaN where the file has no data. Batches from "
         "open_tracks().windows() carry dims (windows, positions, tracks).")
register("position", ("positions",), "int64", "1-based position of each base (coordinate of dim positions).")
register("bin_start", ("bins",), "int64", "0-based first base of each summary bin.")
register("bin_stop", ("bins",), "int64", "0-based exclusive end of each summary bin.")
for _name, _doc in (("mean", "Mean over bases with data (NaN when none)."),
                    ("min", "Smallest value in the bin."), ("max", "Largest value in the bin."),
                    ("std", "Sample standard deviation over bases with data."),
                    ("coverage", "Fraction of the bin's bases that have data."),
                    ("sum", "Sum of values over bases (value x bases)."),
                    ("sum_squares", "Sum of squared values over bases (zoom records)."),
                    ("count", "Bases with data (zoom record validCount).")):
    register(f"bin_{_name}", ("bins",), "int64" if _name == "count" else "float64", _doc)
register("window_contig", ("windows",), "str", "Contig of each window.")
register("window_start", ("windows",), "int64", "0-based first base of each window.")
register("window_stop", ("windows",), "int64", "0-based exclusive end of each window.")
register("track", ("tracks",), "str", "Track name (file stem) of each track.")


def position_values(values: np.ndarray, region, *, source: str | None = None):
    """Wrap per-base values of one region as a DataArray.

    Parameters
    ----------
    values : (stop - start,) float32
        Value of each base, NaN where there is no data.
    region : Region
        0-based half-open region the values cover (already clipped).
    source : str, optional
        File path, recorded in ``attrs["source"]``.

    Returns
    -------
    xarray.DataArray
        ``position_value`` on dim ``positions`` with 1-based coordinate
        ``position``; attrs ``region`` (1-based closed text), ``contig``,
        ``source``.
    """
    import xarray as xr

    start = int(region.start)
    values = np.asarray(values, dtype=np.float32)
    return xr.DataArray(
        values, dims=("positions",), name="position_value",
        coords={"position": ("positions", np.arange(start + 1, start + 1 + len(values), dtype=np.int64))},
        attrs={"region": str(region), "contig": region.contig, "source": source or "",
               "coordinates": "position is 1-based"},
    )


def window_batch(values: np.ndarray, contigs, starts, tracks, *, sources=None):
    """Wrap a ``(windows, positions, tracks)`` array of per-base values.

    Parameters
    ----------
    values : (W, L, T) float32
    contigs : (W,) str
    starts : (W,) int
        0-based window starts.
    tracks : (T,) str
        Track names.
    sources : list of str, optional

    Returns
    -------
    xarray.DataArray
        ``position_value`` with dims ``(windows, positions, tracks)``;
        coordinates ``window_contig``, ``window_start``, ``window_stop``
        (0-based half-open), ``position`` (1-based, dims ``(windows,
        positions)``), ``offset`` (0-based offset inside the window) and
        ``track``.
    """
    import xarray as xr

    values = np.asarray(values, dtype=np.float32)
    w, length, _t = values.shape
    starts = np.asarray(starts, dtype=np.int64).reshape(w)
    offset = np.arange(length, dtype=np.int64)
    return xr.DataArray(
        values, dims=("windows", "positions", "tracks"), name="position_value",
        coords={
            "window_contig": ("windows", np.asarray(contigs, dtype=str).reshape(w)),
            "window_start": ("windows", starts),
            "window_stop": ("windows", starts + length),
            "offset": ("positions", offset),
            "position": (("windows", "positions"), starts[:, None] + 1 + offset[None, :]),
            "track": ("tracks", np.asarray(tracks, dtype=str)),
        },
        attrs={"source": ",".join(sources or []), "coordinates": "position is 1-based; window_start/stop 0-based"},
    )


def bins_dataset(starts, stops, columns: dict, region, *, source: str | None = None, attrs=None):
    """A Dataset of summary bins: ``bin_start``, ``bin_stop`` and ``bin_<name>`` per column."""
    import xarray as xr

    data = {f"bin_{k}": ("bins", np.asarray(v)) for k, v in columns.items()}
    return xr.Dataset(
        data,
        coords={"bin_start": ("bins", np.asarray(starts, np.int64)), "bin_stop": ("bins", np.asarray(stops, np.int64))},
        attrs={"region": str(region), "contig": region.contig, "source": source or "", **(attrs or {})},
    )
