"""The tabix tool: stdout and exit status equal to tabix 1.16; index tool on VCF.gz / BCF like bcftools index."""
from __future__ import annotations

import gzip
import shutil
import subprocess

import pytest

from hts_notebook.core.bgzf import compress
from hts_notebook.tools import run_tool_capture
from tests.conftest import corpus_files, ids, oracle_for

TABIX = shutil.which("tabix")
BCFTOOLS = shutil.which("bcftools")
FILES = corpus_files("tabix", (".gz",)) + corpus_files("vcf", (".vcf.gz",))
needs_tabix = pytest.mark.skipif(TABIX is None, reason="tabix not installed")


def _argsets(path, tmp_path):
    o = oracle_for(path)
    regs = [r["region"] for r in o.get("regions", [])]
    contigs = o.get("contigs") or [c[0] for c in o["header"]["contigs"]]
    rfile = tmp_path / "regs.txt"
    rfile.write_text(f"{contigs[0]}\t100\t5000\n{contigs[0]}\t1\t200\n")
    return [regs, ["-h", *regs], ["-H"], ["-l"], ["."], ["-R", str(rfile)], [contigs[0]],
            [contigs[-1] + ":1-1,000,000"], ["nonexistent", contigs[0] + ":5"]]


@needs_tabix
@pytest.mark.parametrize("path", FILES, ids=ids(FILES))
def test_tabix_tool__query_output_equals_tabix(path, tmp_path):
    for args in _argsets(path, tmp_path):
        want = subprocess.run([TABIX, str(path), *args], capture_output=True)
        rc, out, err = run_tool_capture("tabix", [str(path), *args])
        assert (rc, out) == (want.returncode, want.stdout), args


@needs_tabix
def test_tabix_tool__build_presets_equal_tabix(tmp_path):
    src = tmp_path / "a.bed.gz"
    src.write_bytes(compress(b"#c\nchr1\t5\t10\nchr1\t7\t30000\nchr2\t0\t1\n"))
    for args, ext in ((["-p", "bed"], ".tbi"), (["-p", "bed", "-C"], ".csi"), (["-0", "-s1", "-b2", "-e3"], ".tbi"),
                      (["-m", "12", "-p", "bed"], ".csi")):
        ours = tmp_path / "ours.bed.gz"
        theirs = tmp_path / "theirs.bed.gz"
        shutil.copy(src, ours)
        shutil.copy(src, theirs)
        rc, _, err = run_tool_capture("tabix", ["-f", *args, str(ours)])
        assert rc == 0, err
        subprocess.run([TABIX, "-f", *args, str(theirs)], check=True)
        assert gzip.open(str(ours) + ext).read() == gzip.open(str(theirs) + ext).read(), args


def test_tabix_tool__errors(tmp_path):
    p = tmp_path / "a.bed.gz"
    p.write_bytes(compress(b"chr1\t5\t10\n"))
    assert run_tool_capture("tabix", [str(p)])[0] == 0
    rc, _, err = run_tool_capture("tabix", [str(p)])
    assert rc == 1 and "Please use '-f' to overwrite" in err
    plain = tmp_path / "plain.bed"
    plain.write_bytes(b"chr1\t5\t10\n")
    rc, _, err = run_tool_capture("tabix", ["-p", "bed", str(plain)])
    assert rc == 1 and "not BGZF" in err
    rc, _, err = run_tool_capture("tabix", ["-p", "xyz", str(p)])
    assert rc == 1 and "The preset string not recognised: 'xyz'" in err
    rc, _, err = run_tool_capture("tabix", [])
    assert rc == 1 and "Usage:   tabix" in err
    noidx = tmp_path / "n.bed.gz"
    noidx.write_bytes(compress(b"chr1\t5\t10\n"))
    rc, _, err = run_tool_capture("tabix", [str(noidx), "chr1"])
    assert rc == 1 and "Could not load .tbi/.csi index" in err


VARIANTS = corpus_files("vcf", (".vcf.gz",)) + corpus_files("bcf", (".bcf",))


@pytest.mark.skipif(BCFTOOLS is None, reason="bcftools not installed")
@pytest.mark.parametrize("path", VARIANTS, ids=ids(VARIANTS))
def test_index_tool__variants_equal_bcftools_index(path, tmp_path):
    data = tmp_path / path.name
    shutil.copy(path, data)
    modes = [([], ".csi")] + ([] if path.name.endswith(".bcf") else [(["-t"], ".tbi")])
    for opt, ext in modes:
        want, got = tmp_path / ("want" + ext), tmp_path / ("got" + ext)
        subprocess.run([BCFTOOLS, "index", "-f", *opt, "-o", str(want), str(data)], check=True)
        rc, _, err = run_tool_capture("index", [*opt, "-f", "-o", str(got), str(data)])
        assert rc == 0, err
        assert gzip.open(got).read() == gzip.open(want).read()


def test_index_tool__bcf_tbi_refused(tmp_path):
    bcfs = corpus_files("bcf", (".bcf",))
    if not bcfs:
        pytest.skip("no corpus")
    data = tmp_path / bcfs[0].name
    shutil.copy(bcfs[0], data)
    rc, _, err = run_tool_capture("index", ["-t", str(data)])
    assert rc == 1 and "TBI indices for BCF files are not supported" in err
