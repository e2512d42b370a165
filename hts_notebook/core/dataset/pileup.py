"""Pileup and coverage datasets (DESIGN.md §3).

Dims ``positions`` (× ``samples``) × ``bases``; ``base`` labels
``A C G T N del ins``; ``position`` is the 1-based coordinate of
``positions``; the filters that produced the counts are in ``attrs``.
"""
from __future__ import annotations

import numpy as np

from ..kernels.pileup import BASE_LABELS
from .variables import register

__all__ = ["pileup_dataset", "coverage_dataset"]

register("position", ("positions",), "int64", "1-based position of each base (coordinate of dim positions).")
register("base", ("bases",), "str", "Pileup base category: A C G T N del ins.")
register("sample_id", ("samples",), "str", "Sample (input file) of each sample column.")
register("position_base_count", ("positions", "bases"), "int32",
         "Reads counted at each position per base category (A C G T N del ins), after the filters in attrs.")
register("position_base_count_forward", ("positions", "bases"), "int32",
         "As position_base_count, forward-strand reads only.")
register("position_base_count_reverse", ("positions", "bases"), "int32",
         "As position_base_count, reverse-strand reads only (FLAG 0x10).")
register("position_depth", ("positions",), "int32",
         "Read depth at each position: pileup A+C+G+T+N+del, or coverage depth.")
register("bin_depth", ("bins",), "float32", "Mean read depth over the bases of each bin.")


def _region_text(contig: str, start: int, stop: int) -> str:
    return f"{contig}:{start + 1}-{stop}"


def pileup_dataset(counts, contig: str, start: int, *, sample_ids=None, source=None, filters=None):
    """Wrap pileup counts as an ``xarray.Dataset``.

    Parameters
    ----------
    counts : ndarray or list of ndarray
        ``(length, 7)`` or ``(length, 2, 7)`` (per strand) per sample; a list
        (one per sample) together with ``sample_ids`` adds dim ``samples``.
    contig : str
    start : int
        0-based first position.
    sample_ids : list of str, optional
    source : str or list of str
    filters : dict, optional
        Copied into ``attrs``.

    Returns
    -------
    xarray.Dataset
        Multi-sample variables have dims ``(positions, samples, ...)``.
    """
    import xarray as xr

    multi = sample_ids is not None
    arr = np.stack(list(counts), axis=1) if multi else np.asarray(counts)
    stranded = arr.ndim == (4 if multi else 3)
    total = arr.sum(axis=-2, dtype=np.int32) if stranded else arr.astype(np.int32, copy=False)
    length = arr.shape[0]
    pre = ("positions", "samples") if multi else ("positions",)
    data = {
        "position_base_count": (pre + ("bases",), total),
        "position_depth": (pre, np.einsum("...k->...", total[..., :6]).astype(np.int32, copy=False)),
    }
    if stranded:
        data["position_base_count_forward"] = (pre + ("bases",), arr[..., 0, :].astype(np.int32))
        data["position_base_count_reverse"] = (pre + ("bases",), arr[..., 1, :].astype(np.int32))
    coords = {
        "position": ("positions", np.arange(start + 1, start + length + 1, dtype=np.int64)),
        "base": ("bases", np.array(BASE_LABELS)),
    }
    if multi:
        coords["sample_id"] = ("samples", np.array([str(s) for s in sample_ids]))
    attrs = {"region": _region_text(contig, start, start + length), "contig": contig,
             "source": source if isinstance(source, str) else ",".join(map(str, source or []))}
    attrs.update(filters or {})
    return xr.Dataset(data, coords=coords, attrs=attrs)


def coverage_dataset(depth, contig: str, start: int, *, bin_size=None, source=None, filters=None,
                     backend: str = "jax"):
    """Wrap per-base depth (or its binned means) as an ``xarray.Dataset``.

    Parameters
    ----------
    depth : (length,) int
    contig : str
    start : int
        0-based first position.
    bin_size : int, optional
        Average ``bin_size`` consecutive positions into dim ``bins``.

    Returns
    -------
    xarray.Dataset
    """
    import xarray as xr

    depth = np.asarray(depth, dtype=np.int32)
    length = len(depth)
    attrs = {"region": _region_text(contig, start, start + length), "contig": contig, "source": str(source or "")}
    attrs.update(filters or {})
    if bin_size is None:
        return xr.Dataset({"position_depth": ("positions", depth)},
                          coords={"position": ("positions", np.arange(start + 1, start + length + 1,
                                                                      dtype=np.int64))}, attrs=attrs)
    from ..kernels import coverage as cov

    fn = cov.binned_mean_numpy if backend == "numpy" else cov.binned_mean_jax
    means = fn(depth, bin_size)
    bstart = start + np.arange(len(means), dtype=np.int64) * bin_size
    bstop = np.minimum(bstart + bin_size, start + length)
    attrs["bin_size"] = int(bin_size)
    return xr.Dataset({"bin_depth": ("bins", means.astype(np.float32)), "bin_start": ("bins", bstart),
                       "bin_stop": ("bins", bstop)}, attrs=attrs)
