"""Variant datasets: VCF Zarr / sgkit names, registry validation, sgkit statistics vs oracle GT."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from hts_notebook.core.dataset.variables import validate
from hts_notebook.core.formats.variant.reader import VariantFile
from tests.conftest import CORPUS, oracle_for, requires_shared

pytest.importorskip("xarray")


def _vf(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return VariantFile(CORPUS / "vcf" / name)


@requires_shared
def test_variant_dataset__names_dims_and_registry():
    ds = _vf("pysam-example_vcf43_with_utf8.vcf").query()
    validate(ds)
    for v in ("variant_contig", "variant_position", "variant_allele", "variant_quality", "variant_filter",
              "call_genotype", "call_genotype_phased", "call_genotype_mask", "sample_id", "contig_id",
              "contig_length", "filter_id", "variant_id", "variant_AF", "call_HQ"):
        assert v in ds
    assert ds["call_genotype"].dims == ("variants", "samples", "ploidy")
    assert ds["variant_position"].values.tolist()[:2] == [14370, 17330]
    assert ds.sizes["alleles"] == 3 and ds["filter_id"].values[0] == "PASS"


@requires_shared
def test_variant_file__query_region_and_samples():
    vf = _vf("pysam-ex1.vcf.gz")
    o = oracle_for(CORPUS / "vcf" / "pysam-ex1.vcf.gz")
    w = o["regions"][0]
    ds = vf.query(w["region"], samples=[vf.samples[-1]])
    assert ds.sizes["variants"] == w["count"] and ds["sample_id"].values.tolist() == [vf.samples[-1]]
    assert ds.attrs["region"] == w["region"]


@requires_shared
def test_variant_dataset__sgkit_counts_agree_with_oracle():
    sgkit = pytest.importorskip("sgkit")
    path = CORPUS / "vcf" / "htsspecs-v43-complexfile_passed_000.vcf"
    o = oracle_for(path)
    ds = _vf(path.name).query()
    names = o["samples_serialised"]
    ds_sub = ds.isel(samples=[ds["sample_id"].values.tolist().index(s) for s in names])
    ac = sgkit.count_call_alleles(ds_sub)["call_allele_count"].values
    stats = sgkit.variant_stats(ds_sub)
    n_alleles = ds.sizes["alleles"]
    for i, rec in enumerate(o["records"]):
        exp_total = np.zeros(n_alleles, dtype=int)
        for j, s in enumerate(names):
            exp = np.zeros(n_alleles, dtype=int)
            for a in rec["samples"][s]["GT"]:
                if a is not None:
                    exp[a] += 1
            assert ac[i, j].tolist() == exp.tolist()
            exp_total += exp
        assert stats["variant_allele_count"].values[i].tolist() == exp_total.tolist()
        called = sum(all(a is not None for a in rec["samples"][s]["GT"]) for s in names)
        assert int(stats["variant_n_called"].values[i]) == called
