"""`faidx` tool: stdout bytes, stderr and exit status identical to samtools faidx 1.16."""
from __future__ import annotations

import shutil
import subprocess

import pytest

from hts_notebook.tools import run_tool_capture
from tests.conftest import corpus_files, ids, oracle_for, requires_samtools, requires_shared

FASTA = [p for p in corpus_files("fasta") if not p.name.endswith((".fai", ".gzi"))]
FASTQ_IDX = [
    p for p in corpus_files("fastq")
    if not p.name.endswith((".fai", ".gzi")) and p.with_name(p.name + ".fai").exists()
]
FASTQ_ALL = [p for p in corpus_files("fastq") if not p.name.endswith((".fai", ".gzi"))]


def _stage(tmp_path, path, with_index=True):
    d = tmp_path / ("idx" if with_index else "bare")
    d.mkdir(exist_ok=True)
    for ext in ("", ".fai", ".gzi") if with_index else ("",):
        src = path.with_name(path.name + ext)
        if src.exists():
            shutil.copy(src, d / src.name)
    return d / path.name


def _compare(argv):
    want = subprocess.run(["samtools", "faidx", *argv], capture_output=True)
    rc, out, err = run_tool_capture("faidx", argv)
    assert rc == want.returncode
    assert out == want.stdout
    assert err == want.stderr.decode()


def _regions(oracle):
    return [f["region"] for f in oracle["fetches"]] + oracle["names"][:5]


@requires_shared
@requires_samtools
@pytest.mark.parametrize("extra", [[], ["-n", "10"], ["-i"], ["-i", "--mark-strand", "sign"], ["--length=7", "-c"]],
                         ids=["plain", "n10", "revcomp", "sign", "n7c"])
@pytest.mark.parametrize("path", FASTA, ids=ids(FASTA))
def test_faidx__regions_match_samtools(tmp_path, path, extra):
    p = _stage(tmp_path, path)
    _compare([str(p), *extra, *_regions(oracle_for(path))])


@requires_shared
@requires_samtools
@pytest.mark.parametrize("path", FASTA, ids=ids(FASTA))
def test_faidx__unknown_and_odd_regions_match_samtools(tmp_path, path):
    oracle = oracle_for(path)
    p = _stage(tmp_path, path)
    first = oracle["names"][0]
    _compare([str(p), "no_such_contig", _regions(oracle)[0]])
    _compare([str(p), "-c", "no_such_contig", f"{first}:0-5", f"{first}:5-3", f"{first}:1000000-2000000",
              f"{first}:2-1000000000", f"{first}:-3"])


@requires_shared
@requires_samtools
@pytest.mark.parametrize("path", FASTA + FASTQ_ALL, ids=ids(FASTA + FASTQ_ALL))
def test_faidx__index_build_matches_samtools(tmp_path, path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    ours = _stage(tmp_path / "a", path, with_index=False)
    theirs = _stage(tmp_path / "b", path, with_index=False)
    want = subprocess.run(["samtools", "faidx", str(theirs)], capture_output=True)
    rc, out, _err = run_tool_capture("faidx", [str(ours)])
    assert rc == want.returncode and out == want.stdout
    for ext in (".fai", ".gzi"):
        t = theirs.with_name(theirs.name + ext)
        o = ours.with_name(ours.name + ext)
        assert t.exists() == o.exists()
        if t.exists():
            assert o.read_bytes() == t.read_bytes()


@requires_shared
@requires_samtools
@pytest.mark.parametrize("path", FASTQ_IDX, ids=ids(FASTQ_IDX))
def test_faidx__fastq_matches_samtools(tmp_path, path):
    oracle = oracle_for(path)
    regions = [f["region"] for f in oracle["fqidx_fetches"]]
    p = _stage(tmp_path, path)
    _compare(["-f", str(p), *regions])
    _compare(["-f", str(p), "-i", "-n", "7", *regions])
    _compare([str(p), *regions])
    rc, out, _ = run_tool_capture("faidx", ["-f", str(p), *regions])
    assert out.decode() == "".join(f["fastq_text"] for f in oracle["fqidx_fetches"])


@requires_samtools
def test_faidx__options_match_samtools(tmp_path):
    p = tmp_path / "r.fa"
    p.write_bytes(b">chr1 desc\nACGTNacgtn\nRYKM\n>chr2\nGATTACA\n")
    regfile = tmp_path / "regions.txt"
    regfile.write_bytes(b"chr1:2-5\nchr2\n")
    _compare([str(p), "-r", str(regfile), "chr1:12-14"])
    _compare([str(p), "-i", "--mark-strand", "custom,<fw>,<rv>", "chr1", "chr2:2-3"])
    _compare([str(p), "-i", "--mark-strand", "no", "chr1"])
    _compare([str(p), "-n", "0", "chr1"])
    _compare([str(p), "chr1:1,000-2k", "chr1:3"])
    out_file = tmp_path / "out.fa"
    rc, out, _ = run_tool_capture("faidx", [str(p), "-o", str(out_file), "chr2"])
    assert rc == 0 and out == b"" and out_file.read_bytes() == b">chr2\nGATTACA\n"


@requires_samtools
def test_faidx__unindexable_file_matches_samtools(tmp_path):
    p = tmp_path / "bad.fa"
    p.write_bytes(b">a\nACGT\nACGTT\n")
    want = subprocess.run(["samtools", "faidx", str(p)], capture_output=True)
    rc, out, err = run_tool_capture("faidx", [str(p)])
    assert rc == want.returncode == 1
    assert err == want.stderr.decode()


def test_faidx__usage_and_bad_option():
    rc, out, _ = run_tool_capture("faidx", [])
    assert rc == 0 and out.startswith(b"Usage:")
    rc, out, err = run_tool_capture("faidx", ["-z", "x.fa"])
    assert rc == 1 and out == b"" and "invalid option" in err
