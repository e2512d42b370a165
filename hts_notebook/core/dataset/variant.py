"""Variant batches as ``xarray.Dataset`` with the VCF Zarr / sgkit names (DESIGN.md §3).

Dimensions: ``variants, samples, ploidy, alleles, contigs, filters`` plus
``alt_alleles`` (INFO/FORMAT ``Number=A``), ``genotypes`` (``Number=G``) and
``<INFO|FORMAT>_<ID>_dim`` for other vector fields, as bio2zarr names them.
Missing integers are -1 and fill -2; floats are NaN; strings ``'.'`` missing
and ``''`` fill.  ``variant_position`` is the 1-based VCF POS.
"""
from __future__ import annotations

import numpy as np

from ..formats.variant.batch import INT_FILL, VariantBatch
from ..formats.variant.header import VariantHeader
from .variables import register, spec_for

__all__ = ["variant_dataset"]

_V = ("variants",)
register("variant_contig", _V, "int", "Index into contig_id of CHROM.")
register("variant_position", _V, "int64", "1-based POS (VCFv4.3 §1.6.1).")
register("variant_stop", _V, "int64", "0-based exclusive end: POS - 1 + len(REF), or INFO/END.")
register("variant_id", _V, "str", "ID column ('.' when missing).")
register("variant_id_mask", _V, "bool", "True where ID is missing.")
register("variant_allele", ("variants", "alleles"), "str", "REF then ALT alleles; '' fill.")
register("variant_length", _V, "int64", "stop - (POS - 1), the reference span.")
register("variant_quality", _V, "float32", "QUAL (NaN when missing).")
register("variant_filter", ("variants", "filters"), "bool", "FILTER membership over filter_id.")
register("call_genotype", ("variants", "samples", "ploidy"), "int",
         "GT allele indices; -1 missing, -2 fill (lower ploidy).")
register("call_genotype_mask", ("variants", "samples", "ploidy"), "bool", "call_genotype < 0.")
register("call_genotype_fill", ("variants", "samples", "ploidy"), "bool", "call_genotype == -2 (mixed ploidy).")
register("call_genotype_phased", ("variants", "samples"), "bool", "Every GT separator is '|' (haploid: True).")
register("sample_id", ("samples",), "str", "Sample names from the #CHROM line.")
register("filter_id", ("filters",), "str", "FILTER IDs, PASS first.")
register("filter_description", ("filters",), "str", "FILTER descriptions.")


def _dim_for(prefix: str, fd, width: int) -> str:
    if fd.number == "A":
        return "alt_alleles"
    if fd.number == "R":
        return "alleles"
    if fd.number == "G":
        return "genotypes"
    return f"{prefix}_{fd.id}_dim"


def _pad_last(a: np.ndarray, width: int) -> np.ndarray:
    if a.shape[-1] >= width:
        return a
    shape = a.shape[:-1] + (width,)
    if a.dtype == object:
        out = np.empty(shape, dtype=object)
        out.fill("")
    elif a.dtype.kind == "f":
        from ..formats.variant.batch import FLOAT32_FILL

        out = np.full(shape, FLOAT32_FILL, dtype=a.dtype)
    else:
        out = np.full(shape, INT_FILL, dtype=a.dtype)
    out[..., :a.shape[-1]] = a
    return out


def variant_dataset(batch: VariantBatch, header: VariantHeader, *, region=None, source=None, fields=None):
    """Build the sgkit / VCF Zarr dataset of a batch.

    Parameters
    ----------
    batch : VariantBatch
    header : VariantHeader
    region : str or Region, optional
        Recorded in ``attrs["region"]``.
    source : str, optional
        Recorded in ``attrs["source"]``.
    fields : list of str, optional
        Keep only these INFO/FORMAT fields (``INFO/DP``, ``FORMAT/AD``, bare
        ``DP`` means both); ``GT`` controls the genotype variables.

    Returns
    -------
    xarray.Dataset
        Variables ``variant_contig`` (variants) int32, ``variant_position``
        (variants) int64 1-based, ``variant_allele`` (variants, alleles) object
        str, ``call_genotype`` (variants, samples, ploidy) int8/16 ...; see
        :mod:`hts_notebook.core.dataset.variables` for every name.
    """
    import xarray as xr

    n = len(batch)
    want = None if fields is None else set(fields)

    def keep(kind, key):
        if want is None:
            return True
        return key in want or f"{kind}/{key}" in want

    na = batch.n_allele
    n_alleles = max(int(na.max()) if n else 1, 1)
    data = {}
    widths: dict[str, int] = {"alleles": n_alleles, "alt_alleles": max(n_alleles - 1, 1)}
    # first pass: widths of shared dims
    for prefix, table, store in (("INFO", header.info, batch.info), ("FORMAT", header.format, batch.format)):
        for key, arr in store.items():
            fd = table.get(key)
            if fd is None or not keep(prefix, key):
                continue
            nd = 2 if prefix == "INFO" else 3
            if arr.ndim == nd:
                dim = _dim_for(prefix, fd, arr.shape[-1])
                widths[dim] = max(widths.get(dim, 0), arr.shape[-1])
    n_alleles = widths["alleles"]
    if widths["alt_alleles"] != max(n_alleles - 1, 1):
        n_alleles = max(n_alleles, widths["alt_alleles"] + 1)
        widths["alleles"] = n_alleles
    widths["alt_alleles"] = max(n_alleles - 1, 1)
    data["variant_contig"] = (("variants",), batch.contig.astype(np.int32))
    data["variant_position"] = (("variants",), batch.position.astype(np.int64))
    data["variant_stop"] = (("variants",), batch.stop.astype(np.int64))
    data["variant_length"] = (("variants",), (batch.stop - (batch.position - 1)).astype(np.int64))
    data["variant_id"] = (("variants",), batch.id.astype(object))
    data["variant_id_mask"] = (("variants",), np.array([x == "." for x in batch.id.tolist()], dtype=bool))
    data["variant_allele"] = (("variants", "alleles"), batch.alleles_matrix(n_alleles))
    data["variant_quality"] = (("variants",), batch.quality.astype(np.float32))
    fids = list(header.filters)
    filt = np.zeros((n, len(fids)), dtype=bool)
    for j, f in enumerate(batch.filter_ids):
        if f in fids:
            filt[:, fids.index(f)] = batch.filters[:, j]
    data["variant_filter"] = (("variants", "filters"), filt)
    for key, arr in batch.info.items():
        fd = header.info.get(key)
        if fd is None or not keep("INFO", key):
            continue
        name = f"variant_{key}"
        if arr.ndim == 1:
            dims = ("variants",)
        else:
            dim = _dim_for("INFO", fd, arr.shape[1])
            arr = _pad_last(arr, widths[dim])
            dims = ("variants", dim)
        data[name] = (dims, arr)
        _register(name, dims, arr, f"INFO/{key}: {fd.description}")
    if batch.genotype.shape[2] > 0 and (want is None or "GT" in want or "FORMAT/GT" in want):
        g = batch.genotype
        data["call_genotype"] = (("variants", "samples", "ploidy"), g)
        data["call_genotype_mask"] = (("variants", "samples", "ploidy"), g < 0)
        data["call_genotype_fill"] = (("variants", "samples", "ploidy"), g == INT_FILL)
        data["call_genotype_phased"] = (("variants", "samples"), batch.phased)
    for key, arr in batch.format.items():
        fd = header.format.get(key)
        if fd is None or not keep("FORMAT", key):
            continue
        name = f"call_{key}"
        if arr.ndim == 2:
            dims = ("variants", "samples")
        else:
            dim = _dim_for("FORMAT", fd, arr.shape[2])
            arr = _pad_last(arr, widths[dim])
            dims = ("variants", "samples", dim)
        data[name] = (dims, arr)
        _register(name, dims, arr, f"FORMAT/{key}: {fd.description}")
    sample_id = np.empty(len(batch.samples), dtype=object)
    sample_id[:] = batch.samples
    data["sample_id"] = (("samples",), sample_id)
    cid = np.empty(len(header.contigs), dtype=object)
    cid[:] = header.contig_names
    data["contig_id"] = (("contigs",), cid)
    data["contig_length"] = (("contigs",), np.array([-1 if x is None else x for x in header.contig_lengths],
                                                    dtype=np.int64))
    fid = np.empty(len(fids), dtype=object)
    fid[:] = fids
    data["filter_id"] = (("filters",), fid)
    fdesc = np.empty(len(fids), dtype=object)
    fdesc[:] = [header.filters[f].description for f in fids]
    data["filter_description"] = (("filters",), fdesc)
    ds = xr.Dataset(data)
    ds.attrs["region"] = "" if region is None else str(region)
    ds.attrs["source"] = "" if source is None else str(source)
    ds.attrs["vcf_header"] = header.to_text()
    ds.attrs["contigs"] = list(header.contig_names)
    ds.attrs["filters"] = fids
    if "call_genotype" in ds:
        ds["call_genotype"].attrs["mixed_ploidy"] = bool((batch.genotype == INT_FILL).any())
    return ds


def _register(name, dims, arr, doc):
    spec = spec_for(name)
    dt = "str" if arr.dtype == object else ("bool" if arr.dtype == bool else str(arr.dtype))
    if spec is None or spec.dims != tuple(dims):
        register(name, dims, "any" if spec is not None else dt, doc)
