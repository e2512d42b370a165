"""Tests for hts_notebook.core.index.fai: read/validate, build, write, region rules."""
from __future__ import annotations

import shutil
import subprocess

import pytest

from hts_notebook.core.bgzf import build_gzi, read_gzi
from hts_notebook.core.errors import FormatError, HtsError, RegionError
from hts_notebook.core.index.fai import POS_MAX, build_fai, parse_fai_region, read_fai

from tests.conftest import corpus_files, ids, requires_samtools, requires_shared

FASTA = [p for p in corpus_files("fasta") if not p.name.endswith((".fai", ".gzi"))]
FASTQ = [p for p in corpus_files("fastq") if not p.name.endswith((".fai", ".gzi"))]


def _samtools_fai(tmp_path, src):
    dst = tmp_path / src.name
    shutil.copy(src, dst)
    r = subprocess.run(["samtools", "faidx", str(dst)], capture_output=True)
    if r.returncode != 0:
        return None, None
    gzi = dst.with_name(dst.name + ".gzi")
    return (dst.with_name(dst.name + ".fai")).read_bytes(), (gzi.read_bytes() if gzi.exists() else None)


@requires_shared
@requires_samtools
@pytest.mark.parametrize("path", FASTA + FASTQ, ids=ids(FASTA + FASTQ))
def test_build_fai__matches_samtools_bytes(tmp_path, path):
    expected, expected_gzi = _samtools_fai(tmp_path, path)
    if expected is None:
        with pytest.raises(HtsError):
            build_fai(path)
        return
    assert build_fai(path).to_bytes() == expected
    if expected_gzi is not None:
        n = int.from_bytes(expected_gzi[:8], "little")
        entries = build_gzi(path)
        assert len(entries) == n
        assert read_gzi(expected_gzi).tolist()[1:] == [list(e) for e in entries]


@requires_shared
@pytest.mark.parametrize("path", FASTA, ids=ids(FASTA))
def test_read_fai__roundtrips_corpus_index(path):
    fai = path.with_name(path.name + ".fai")
    raw = fai.read_bytes()
    assert read_fai(fai).to_bytes() == raw


def test_read_fai__fasta_and_fastq_columns():
    idx = read_fai(b"chr1\t10\t6\t4\t5\nchr2\t3\t25\t3\t4\n")
    assert idx.kind == "fasta" and idx.names == ["chr1", "chr2"] and idx.lengths == [10, 3]
    assert idx["chr2"].offset == 25 and idx["chr2"].line_width == 4
    q = read_fai(b"r1\t4\t4\t4\t5\t11\n", kind="fastq")
    assert q.kind == "fastq" and q["r1"].qual_offset == 11
    assert q.to_bytes() == b"r1\t4\t4\t4\t5\t11\n"


@pytest.mark.parametrize(
    "text, column",
    [
        (b"chr1\t10\t6\t4\n", "columns"),
        (b"chr1\t10\tx6\t4\t5\n", "OFFSET"),
        (b"chr1\t-1\t6\t4\t5\n", "LENGTH"),
        (b"chr1\t10\t6\t6\t5\n", "LINEBASES"),
        (b"chr1\t10\t6\t0\t5\n", "LINEBASES"),
        (b"chr1\t10\t6\t4\t5\nchr2\t1\t2\t3\t4\t9\n", "columns"),
        (b"chr1\t99999999999999999999\t6\t4\t5\n", "LENGTH"),
        (b"\n", "columns"),
    ],
)
def test_read_fai__malformed_line_raises_format_error(text, column):
    with pytest.raises(FormatError) as exc:
        read_fai(text)
    assert exc.value.field == column
    assert "line" in str(exc.value)


def test_read_fai__fasta_index_where_fastq_needed():
    with pytest.raises(FormatError, match="FASTQ index needs 6 columns"):
        read_fai(b"chr1\t10\t6\t4\t5\n", kind="fastq")


def test_build_fai__different_line_length_names_sequence(tmp_path):
    p = tmp_path / "bad.fa"
    p.write_bytes(b">a\nACGT\nACGTT\n")
    with pytest.raises(FormatError, match="Different line length in sequence 'a'"):
        build_fai(p)


def test_build_fai__text_after_short_line(tmp_path):
    p = tmp_path / "bad.fa"
    p.write_bytes(b">a\nACGT\nAC\nACGT\n")
    with pytest.raises(FormatError, match='unexpected "A" at line 4'):
        build_fai(p)


def test_build_fai__empty_entry_skipped_and_duplicates_ignored(tmp_path):
    p = tmp_path / "x.fa"
    p.write_bytes(b">e\n>a\nAC\n>a\nGG\n")
    with pytest.warns(UserWarning, match="duplicate"):
        idx = build_fai(p)
    assert idx.to_bytes() == b"a\t2\t6\t2\t3\n"


def test_build_fai__last_entry_without_sequence(tmp_path):
    p = tmp_path / "x.fa"
    p.write_bytes(b">a\nAC\n>b\n")
    with pytest.raises(FormatError, match="'b' has no sequence"):
        build_fai(p)


def test_build_fai__plain_gzip_refused(tmp_path):
    import gzip

    p = tmp_path / "x.fa.gz"
    p.write_bytes(gzip.compress(b">a\nAC\n"))
    with pytest.raises(FormatError, match="bgzip"):
        build_fai(p)


def test_build_fai__fastq_multiline(tmp_path):
    p = tmp_path / "x.fq"
    p.write_bytes(b"@r1 c\nACGT\nAC\n+\nIIII\nII\n@r2\nA\n+\n#\n")
    assert build_fai(p).to_bytes() == b"r1\t6\t6\t4\t5\t16\nr2\t1\t28\t1\t2\t32\n"  # as samtools fqidx writes


def test_parse_fai_region__samtools_rules():
    names = {"chr1", "", "HLA:1"}
    look = names.__contains__
    assert parse_fai_region("chr1", look) == ("chr1", 0, POS_MAX)
    assert parse_fai_region("chr1:1,001-2k", look) == ("chr1", 1000, 2000)
    assert parse_fai_region("chr1:5", look) == ("chr1", 4, POS_MAX)
    assert parse_fai_region("chr1:-5", look) == ("chr1", 0, 5)
    assert parse_fai_region("chr1:0-5", look) == ("chr1", -1, 5)
    assert parse_fai_region(":1-4", look) == ("", 0, 4)
    assert parse_fai_region("HLA:1", look) == ("HLA:1", 0, POS_MAX)
    assert parse_fai_region("{HLA:1}:2-3", look) == ("HLA:1", 1, 3)
    for bad in ("chr2", "chr1:5-3", "chr1:x"):
        with pytest.raises(RegionError):
            parse_fai_region(bad, look)
