"""The embedded demo dataset: deterministic, valid for samtools, indexed byte-identically."""
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import hts_notebook as hts

samtools = shutil.which("samtools")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return hts.demo.files(tmp_path_factory.mktemp("demo"))


def test_demo_files__reads_back_with_our_readers(demo):
    bam = hts.open(demo["bam"])
    assert bam.contigs == {"chr1": 200_000, "chr2": 100_000}
    ds = bam.query(demo["region"])
    assert ds.sizes["alignments"] > 300
    start = ds.alignment_start.values
    stop = ds.alignment_stop.values
    assert np.all((start < 12_000) & (stop > 10_000))
    assert np.all(np.diff(start) >= 0)
    ref = hts.open(demo["reference"])
    assert len(ref.fetch("chr2")) == 100_000


def test_demo_files__second_call_reuses_files(demo, tmp_path):
    before = {k: (p, os.stat(p).st_mtime_ns) for k, p in demo.items() if k != "region"}
    again = hts.demo.files(Path(demo["bam"]).parent)
    assert {k: (again[k], os.stat(again[k]).st_mtime_ns) for k in before} == before


def test_demo_files__same_records_on_every_write(demo, tmp_path):
    other = hts.demo.files(tmp_path / "again")
    a = hts.open(demo["bam"]).fetch_batch()
    b = hts.open(other["bam"]).fetch_batch()
    assert len(a) == len(b) == 60_080
    for col in ("pos", "flag", "mapq", "cigar", "seq", "qual", "aux"):
        assert np.array_equal(getattr(a, col), getattr(b, col)), col


@pytest.mark.skipif(samtools is None, reason="samtools not installed")
def test_demo_files__valid_for_samtools_and_bai_identical(demo, tmp_path):
    assert subprocess.run(["samtools", "quickcheck", demo["bam"]]).returncode == 0
    copy = tmp_path / "copy.bam"
    shutil.copy(demo["bam"], copy)
    subprocess.run(["samtools", "index", str(copy)], check=True)
    assert (tmp_path / "copy.bam.bai").read_bytes() == open(demo["bai"], "rb").read()
    # NM tags agree with the reference: calmd reports no differences
    calmd = subprocess.run(["samtools", "calmd", demo["bam"], demo["reference"]], capture_output=True)
    assert calmd.returncode == 0 and calmd.stderr == b""
    count = subprocess.run(["samtools", "view", "-c", demo["bam"], "chr1:10001-12000"], capture_output=True, text=True)
    assert int(count.stdout) == hts.open(demo["bam"]).query("chr1:10,001-12,000").sizes["alignments"]
