"""call tool: VCF with GT:PL:DP:AD, options, errors; bcftools reads what we write."""
from __future__ import annotations

import gzip
import shutil
import subprocess

import pytest

from hts_notebook.tools import TOOLS, run_tool_capture
from tests.conftest import bench_small

SMALL = bench_small()
needs_small = pytest.mark.skipif(not (SMALL / "reads.bam").exists(), reason="bench data absent (no ../shared)")
needs_bcftools = pytest.mark.skipif(shutil.which("bcftools") is None, reason="bcftools not installed")
REGION = "chr2:100000-160000"


def _body(text: str) -> list[list[str]]:
    return [ln.split("\t") for ln in text.splitlines() if ln and not ln.startswith("#")]


def test_call_tool__registered():
    assert TOOLS["call"] == "call"


def test_call_tool__usage_errors():
    rc, out, err = run_tool_capture("call", [])
    assert rc == 1 and "Usage" in err
    rc, out, err = run_tool_capture("call", ["in.bam"])
    assert rc == 1 and "reference is required" in err
    rc, out, err = run_tool_capture("call", ["-f", "ref.fa", "-P", "x", "in.bam"])
    assert rc == 1 and "-P" in err
    rc, out, err = run_tool_capture("call", ["-h"])
    assert rc == 0 and b"-f, --fasta-ref" in out


@needs_small
def test_call_tool__region_vcf_records():
    rc, out, err = run_tool_capture("call", ["-f", str(SMALL / "ref.fa"), "-r", REGION, str(SMALL / "reads.bam")])
    assert rc == 0, err
    text = out.decode()
    assert text.startswith("##fileformat=VCFv4.2\n")
    assert "##FORMAT=<ID=PL,Number=G,Type=Integer" in text
    assert text.splitlines()[[ln.startswith("#CHROM") for ln in text.splitlines()].index(True)].endswith("\tSIM0")
    rows = _body(text)
    assert len(rows) > 20
    for f in rows:
        assert f[0] == "chr2" and 100000 <= int(f[1]) <= 160000
        assert f[8] == "GT:PL:DP:AD"
        gt, pl, dp, ad = f[9].split(":")
        assert gt in ("0/1", "1/1", "1/2", "0/2")
        n_alleles = 1 + len(f[4].split(","))
        assert len(pl.split(",")) == n_alleles * (n_alleles + 1) // 2
        assert len(ad.split(",")) == n_alleles and sum(map(int, ad.split(","))) <= int(dp)
        assert min(map(int, pl.split(","))) == 0 and max(map(int, pl.split(","))) <= 255


@needs_small
@needs_bcftools
def test_call_tool__bgzf_output_read_by_bcftools(tmp_path):
    out = tmp_path / "calls.vcf.gz"
    rc, _, err = run_tool_capture("call", ["-f", str(SMALL / "ref.fa"), "-r", REGION, "-o", str(out),
                                           str(SMALL / "reads.bam")])
    assert rc == 0, err
    with gzip.open(out, "rt") as fh:
        ours = _body(fh.read())
    res = subprocess.run(["bcftools", "query", "-f", "%CHROM\t%POS\t%REF\t%ALT\t[%GT:%PL:%DP:%AD]\n", str(out)],
                         capture_output=True, text=True, check=True)
    theirs = [ln.split("\t") for ln in res.stdout.splitlines()]
    assert [(f[0], f[1], f[3], f[4], f[9]) for f in ours] == [tuple(t) for t in theirs]


@needs_small
def test_call_tool__all_sites_and_min_bq_options():
    base = ["-f", str(SMALL / "ref.fa"), "-r", "chr3:1000-20000"]
    rc, out_v, _ = run_tool_capture("call", [*base, str(SMALL / "reads.bam")])
    rc2, out_a, _ = run_tool_capture("call", [*base, "-A", str(SMALL / "reads.bam")])
    rc3, out_q, _ = run_tool_capture("call", [*base, "-A", "-Q", "30", str(SMALL / "reads.bam")])
    assert rc == rc2 == rc3 == 0
    variants, all_sites, strict = _body(out_v.decode()), _body(out_a.decode()), _body(out_q.decode())
    assert len(all_sites) > len(variants) > 0
    assert {f[1] for f in variants} <= {f[1] for f in all_sites}
    assert len(strict) < len(all_sites)
    assert any(f[9].startswith("0/0:") for f in all_sites)


@needs_small
def test_call_tool__unknown_region_is_an_error():
    rc, out, err = run_tool_capture("call", ["-f", str(SMALL / "ref.fa"), "-r", "chrQ:1-5", str(SMALL / "reads.bam")])
    assert rc == 1 and err
