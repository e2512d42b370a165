"""Tests for hts_notebook.core.formats.sequence.fasta against the corpus oracles and samtools."""
from __future__ import annotations

import hashlib
import shutil
import subprocess

import numpy as np
import pytest

from hts_notebook.core.errors import MissingIndexError, RegionError
from hts_notebook.core.formats.sequence.fasta import FastaFile, write_fasta
from hts_notebook.core.region import Region
from tests.conftest import corpus_files, ids, oracle_for, requires_samtools, requires_shared

FASTA = [p for p in corpus_files("fasta") if not p.name.endswith((".fai", ".gzi"))]


@requires_shared
@pytest.mark.parametrize("path", FASTA, ids=ids(FASTA))
def test_fasta_file__matches_oracle(path):
    oracle = oracle_for(path)
    with FastaFile(path) as fa:
        assert fa.nreferences == oracle["n_sequences"]
        assert list(fa.references[: len(oracle["names"])]) == oracle["names"]
        assert list(fa.lengths[: len(oracle["lengths"])]) == oracle["lengths"]
        for name, md5 in oracle["sequence_md5"].items():
            assert hashlib.md5(fa.fetch(contig=name).encode()).hexdigest() == md5
        for f in oracle["fetches"]:
            assert fa.fetch(f["region"]) == f["sequence"]
            assert fa.fetch((f["name"], f["start"], f["stop"])) == f["sequence"]
            assert fa.fetch(Region(f["name"], f["start"], f["stop"])) == f["sequence"]
            arr = fa.fetch_array(f["name"], f["start"], f["stop"])
            assert arr.dtype == np.uint8 and arr.tobytes().decode() == f["sequence"]


@requires_shared
@pytest.mark.parametrize("path", FASTA, ids=ids(FASTA))
def test_fasta_file__builds_missing_index(tmp_path, path):
    dst = tmp_path / path.name
    shutil.copy(path, dst)
    oracle = oracle_for(path)
    with FastaFile(dst) as fa:
        for f in oracle["fetches"]:
            if f["stop"] <= fa.contigs[f["name"]]:
                assert fa.fetch(f["region"]) == f["sequence"]
    assert (tmp_path / (path.name + ".fai")).exists()


def test_fasta_file__clips_and_regions(tmp_path):
    p = tmp_path / "r.fa"
    write_fasta(p, {"chr1": "ACGTACGTAC", "chr2": "TTTT"}, line_width=4)
    with FastaFile(p) as fa:
        assert fa.contigs == {"chr1": 10, "chr2": 4}
        assert fa.fetch("chr1:3-6") == "GTAC"
        assert fa.fetch("chr1:8-100") == "TAC"
        assert fa.fetch("chr1", 8, 100) == "AC"
        assert fa.fetch(contig="chr2") == "TTTT"
        assert fa.fetch("chr1:20-30") == ""
        assert fa["chr2"] == "TTTT"
        with pytest.raises(RegionError):
            fa.fetch("chr3:1-2")
        with pytest.raises(RegionError):
            fa.fetch("chr1:5-3")


def test_fasta_file__missing_index_without_build(tmp_path):
    p = tmp_path / "r.fa"
    p.write_bytes(b">a\nACGT\n")
    with pytest.raises(MissingIndexError):
        FastaFile(p, build_index=False)


@pytest.mark.parametrize("bgzip", [False, True])
def test_write_fasta__roundtrip(tmp_path, bgzip):
    rng = np.random.default_rng(7)
    seqs = {f"s{i}": bytes(rng.choice(list(b"ACGTN"), size=n).astype(np.uint8)) for i, n in enumerate([1, 59, 60, 61, 70000])}
    p = tmp_path / ("w.fa.gz" if bgzip else "w.fa")
    write_fasta(p, seqs, line_width=60, bgzip=bgzip)
    with FastaFile(p) as fa:
        for name, s in seqs.items():
            assert fa.fetch(contig=name).encode() == s
        assert fa.fetch("s4:65001-65010").encode() == seqs["s4"][65000:65010]


@requires_samtools
@pytest.mark.parametrize("bgzip", [False, True])
def test_write_fasta__index_matches_samtools(tmp_path, bgzip):
    seqs = [("a", "ACGT" * 30000), ("b", "GATTACA" * 3), ("c", "N")]
    p = tmp_path / ("w.fa.gz" if bgzip else "w.fa")
    write_fasta(p, seqs, line_width=50, bgzip=bgzip)
    ours_fai = (tmp_path / (p.name + ".fai")).read_bytes()
    ours_gzi = (tmp_path / (p.name + ".gzi")).read_bytes() if bgzip else None
    (tmp_path / (p.name + ".fai")).unlink()
    if bgzip:
        (tmp_path / (p.name + ".gzi")).unlink()
    subprocess.run(["samtools", "faidx", str(p)], check=True)
    assert (tmp_path / (p.name + ".fai")).read_bytes() == ours_fai
    if bgzip:
        assert (tmp_path / (p.name + ".gzi")).read_bytes() == ours_gzi
    out = subprocess.run(["samtools", "faidx", str(p), "a:119990-120000"], capture_output=True, check=True).stdout
    with FastaFile(p) as fa:
        assert out == b">a:119990-120000\n" + fa.fetch("a:119990-120000").encode() + b"\n"


def test_write_fasta__rejects_bad_records(tmp_path):
    for recs in ({"a b": "AC"}, {"a": ""}, {"a": "A C"}):
        with pytest.raises(ValueError):
            write_fasta(tmp_path / "x.fa", recs)
