"""pileup() / coverage() / count_coverage() against pysam on corpus and bench BAMs."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hts_notebook.core import pileup as P
from hts_notebook.core.formats.alignment.reader import AlignmentFile
from tests.conftest import bench_small, corpus_files, ids, oracle_for, requires_shared

pysam = pytest.importorskip("pysam")

BAMS = [p for p in corpus_files("bam", (".bam",))
        if Path(str(p) + ".bai").exists() or Path(str(p) + ".csi").exists()]
SMALL = bench_small() / "reads.bam"


def _pysam_counts(path, contig, start, stop, **kw):
    """Per-column A C G T N del ins counts from pysam's pileup (default filters unless given)."""
    exp = np.zeros((stop - start, 7), dtype=np.int64)
    with pysam.AlignmentFile(str(path)) as f:
        for col in f.pileup(contig, start, stop, truncate=True, **kw):
            i = col.reference_pos - start
            for s in col.get_query_sequences(add_indels=True):
                if not s or s[0] in "<>":
                    continue
                c = s[0].upper()
                exp[i, 5 if c == "*" else "ACGT".index(c) if c in "ACGT" else 4] += 1
                if len(s) > 1 and s[1] == "+":
                    exp[i, 6] += 1
    return exp


@requires_shared
@pytest.mark.parametrize("path", BAMS, ids=ids(BAMS))
def test_count_coverage__equals_pysam_oracle_window(path):
    cov = oracle_for(path).get("coverage")
    if not cov:
        pytest.skip("no coverage window in oracle")
    got = P.count_coverage(AlignmentFile(path), cov["contig"], cov["start"], cov["stop"],
                           quality_threshold=cov["quality_threshold"], read_callback=cov["read_callback"])
    for arr, base in zip(got, "ACGT"):
        assert arr.tolist() == cov[base]


@requires_shared
@pytest.mark.parametrize("path", BAMS, ids=ids(BAMS))
def test_pileup__equals_pysam_pileup_default_filters(path):
    cov = oracle_for(path).get("coverage")
    if not cov:
        pytest.skip("no coverage window in oracle")
    contig, start, stop = cov["contig"], cov["start"], cov["stop"]
    ds = P.pileup(AlignmentFile(path), (contig, start, stop))
    np.testing.assert_array_equal(ds.position_base_count.values, _pysam_counts(path, contig, start, stop))
    assert ds.position.values[0] == start + 1
    assert list(ds.base.values) == ["A", "C", "G", "T", "N", "del", "ins"]
    assert ds.attrs["min_base_quality"] == 13 and ds.attrs["flag_filter"] == 0x704


@requires_shared
def test_count_coverage__quality_threshold_and_all_callback():
    path = next(p for p in BAMS if p.name == "bamjs-paired.bam")
    got = P.count_coverage(AlignmentFile(path), "20", 60000, 62000)
    with pysam.AlignmentFile(str(path)) as f:
        exp = f.count_coverage("20", 60000, 62000)
    for a, b in zip(got, exp):
        assert a.tolist() == list(b)


@pytest.mark.skipif(not SMALL.exists(), reason="bench data absent")
@pytest.mark.parametrize("kw", [{}, {"max_depth": 5}, {"min_base_quality": 0, "ignore_overlaps": False},
                                {"min_base_quality": 30, "min_mapping_quality": 20}], ids=str)
def test_pileup__equals_pysam_on_bench_reads(kw):
    ds = P.pileup(AlignmentFile(SMALL), ("chr1", 100_000, 130_000), **kw)
    np.testing.assert_array_equal(ds.position_base_count.values, _pysam_counts(SMALL, "chr1", 100_000, 130_000, **kw))


@pytest.mark.skipif(not SMALL.exists(), reason="bench data absent")
def test_pileup__overlap_handling_changes_counts_like_htslib():
    rd = AlignmentFile(SMALL)
    on = P.pileup(rd, ("chr1", 100_000, 130_000), backend="numpy").position_depth.values
    off = P.pileup(rd, ("chr1", 100_000, 130_000), ignore_overlaps=False, backend="numpy").position_depth.values
    assert (on <= off).all() and on.sum() < off.sum()


@requires_shared
def test_pileup__several_files_add_samples_dim():
    path = next(p for p in BAMS if p.name == "bamjs-paired.bam")
    ds = P.pileup([str(path), str(path)], "20:60001-60100")
    assert ds.position_base_count.dims == ("positions", "samples", "bases")
    assert ds.sizes["positions"] == 100 and ds.sizes["samples"] == 2
    np.testing.assert_array_equal(ds.position_depth.values[:, 0], ds.position_depth.values[:, 1])


@requires_shared
def test_coverage__matches_samtools_depth_and_bins():
    path = next(p for p in BAMS if p.name == "bamjs-paired.bam")
    rd = AlignmentFile(path)
    ds = rd.coverage("20:60001-61000")
    d = ds.position_depth.values
    assert len(d) == 1000 and ds.position.values[0] == 60001
    with pysam.AlignmentFile(str(path)) as f:
        exp = np.array([sum(1 for r in f.fetch("20", p, p + 1)
                            if not r.flag & 0x704 and p in set(r.get_reference_positions()))
                        for p in range(60000, 61000, 97)])
    np.testing.assert_array_equal(d[::97], exp)
    binned = rd.coverage("20:60001-61000", bins=10)
    assert binned.sizes["bins"] == 10
    np.testing.assert_allclose(binned.bin_depth.values, d.reshape(10, 100).mean(axis=1), rtol=1e-6)


@requires_shared
def test_reader_pileup__delegates():
    path = next(p for p in BAMS if p.name == "bamjs-paired.bam")
    ds = AlignmentFile(path).pileup("20:60001-60100", min_base_quality=0)
    assert ds.attrs["region"] == "20:60001-60100" and ds.attrs["min_base_quality"] == 0


def test_name_hash_bit__is_a_bit():
    assert {P.name_hash_bit(b"read%d" % i) for i in range(50)} == {0, 1}
