"""Tests for hts_notebook.core.formats.sequence.fastq against the corpus oracles."""
from __future__ import annotations

import gzip
import shutil

import numpy as np
import pytest

from hts_notebook.core.errors import FormatError, RegionError, TruncatedFileError
from hts_notebook.core.formats.sequence.fastq import FastqFile
from tests.conftest import corpus_files, ids, oracle_for, requires_shared

FASTQ = [p for p in corpus_files("fastq") if not p.name.endswith((".fai", ".gzi"))]


@requires_shared
@pytest.mark.parametrize("path", FASTQ, ids=ids(FASTQ))
def test_fastq_file__matches_oracle(path):
    oracle = oracle_for(path)
    recs = list(FastqFile(path))
    assert len(recs) == oracle["record_count"]
    for r, o in zip(recs, oracle["records"]):
        assert r.name == o["name"] and r.comment == o["comment"]
        assert r.sequence == o["sequence"]
        assert (r.quality or None) == o["quality"]
    batch = FastqFile(path).read_batch()
    assert len(batch) == oracle["record_count"]
    assert batch.offsets[-1] == sum(len(r.sequence) for r in recs)
    for i in range(min(len(recs), 5)):
        assert batch.record(i) == recs[i]


@requires_shared
@pytest.mark.parametrize("path", FASTQ, ids=ids(FASTQ))
def test_fastq_file__fetch_matches_fqidx(tmp_path, path):
    oracle = oracle_for(path)
    fetches = oracle.get("fqidx_fetches")
    if not fetches:
        pytest.skip("no fqidx oracle")
    for ext in (".fai", ".gzi"):
        if path.with_name(path.name + ext).exists():
            shutil.copy(path.with_name(path.name + ext), tmp_path)
    shutil.copy(path, tmp_path)
    fq = FastqFile(tmp_path / path.name)
    for f in fetches:
        r = fq.fetch(f["region"])
        lines = f["fastq_text"].rstrip("\n").split("\n")
        plus = lines.index("+")
        assert r.name == lines[0][1:] == f["region"]
        assert r.sequence == "".join(lines[1:plus])
        assert r.quality == "".join(lines[plus + 1:])
    with pytest.raises(RegionError):
        fq.fetch("no_such_read")


@requires_shared
def test_fastq_file__gzip_equals_plain(tmp_path):
    src = [p for p in FASTQ if p.name == "htslib-r1.fq"][0]
    gz = tmp_path / "r1.fq.gz"
    gz.write_bytes(gzip.compress(src.read_bytes()))
    assert list(FastqFile(gz)) == list(FastqFile(src))


def test_fastq_file__multiline_and_batch(tmp_path):
    p = tmp_path / "m.fq"
    p.write_bytes(b"@r1 first read\nACGT\nAC\n+\nIIII\n@@\n@r2\nA\n+\n#\n")
    recs = list(FastqFile(p))
    assert recs[0] == ("r1", "first read", "ACGTAC", "IIII@@")
    assert recs[1] == ("r2", None, "A", "#")
    b = FastqFile(p).read_batch()
    assert b.offsets.tolist() == [0, 6, 7]
    assert b.sequence.tobytes() == b"ACGTACA"
    assert b.quality.dtype == np.uint8 and b.quality.tolist() == [40, 40, 40, 40, 31, 31, 2]
    assert FastqFile(p).fetch("r1:2-5") == ("r1:2-5", None, "CGTA", "III@")


@pytest.mark.parametrize(
    "data, exc",
    [
        (b"@r1\nACGT\n+\nII\n", TruncatedFileError),
        (b"@r1\nACGT\n", TruncatedFileError),
        (b"@r1\nACGT\n+\nIIIIII\n", FormatError),
        (b"r1\nACGT\n+\nIIII\n", FormatError),
        (b"@r1\nAC\n@r2\nAC\n+\nII\n", FormatError),
    ],
)
def test_fastq_file__malformed_raises(tmp_path, data, exc):
    p = tmp_path / "bad.fq"
    p.write_bytes(data)
    with pytest.raises(exc):
        list(FastqFile(p))


def test_fastq_file__truncated_gzip(tmp_path):
    p = tmp_path / "t.fq.gz"
    p.write_bytes(gzip.compress(b"@r1\nACGT\n+\nIIII\n" * 200)[:-30])
    with pytest.raises(TruncatedFileError):
        list(FastqFile(p))
