"""``index``: .bai byte-identical to samtools 1.16, CSI identical after decompression."""
from __future__ import annotations

import gzip
import shutil
import subprocess

import pytest

from hts_notebook.tools import run_tool_capture
from tests.conftest import corpus_files, ids, requires_samtools, requires_shared

BAMS = corpus_files("bam", (".bam",))


def _copy(path, d):
    shutil.copy(path, d / path.name)
    return d / path.name


def _samtools(args, cwd):
    return subprocess.run(["samtools", "index", *args], capture_output=True, cwd=cwd)


@requires_shared
@requires_samtools
@pytest.mark.parametrize("path", BAMS, ids=ids(BAMS))
def test_index__bai_byte_identical(path, tmp_path):
    bam = _copy(path, tmp_path)
    st = _samtools(["-o", "st.bai", bam.name], tmp_path)
    rc, _, err = run_tool_capture("index", [str(bam)])
    if st.returncode != 0:
        # positions beyond the BAI range (bamjs-large_coords): both refuse
        assert rc == 1 and err.count("\n") == 1 and err.startswith("samtools index: failed to create index")
        return
    assert rc == 0, err
    assert (tmp_path / (bam.name + ".bai")).read_bytes() == (tmp_path / "st.bai").read_bytes()


@requires_shared
@requires_samtools
@pytest.mark.parametrize("path", BAMS, ids=ids(BAMS))
def test_index__csi_identical_decompressed(path, tmp_path):
    bam = _copy(path, tmp_path)
    st = _samtools(["-c", "-o", "st.csi", bam.name], tmp_path)
    rc, _, err = run_tool_capture("index", ["-c", str(bam)])
    if st.returncode != 0:
        assert rc == 1
        return
    assert rc == 0, err
    ours = gzip.decompress((tmp_path / (bam.name + ".csi")).read_bytes())
    assert ours == gzip.decompress((tmp_path / "st.csi").read_bytes())


@requires_shared
@requires_samtools
def test_index__min_shift_and_output_operand(tmp_path):
    bam = _copy(next(p for p in BAMS if p.name == "samtools-ce_unmap2.bam"), tmp_path)
    assert _samtools(["-m", "12", "-o", "st.csi", bam.name], tmp_path).returncode == 0
    rc, _, err = run_tool_capture("index", ["-m", "12", str(bam), str(tmp_path / "ours.csi")])
    assert rc == 0, err
    assert gzip.decompress((tmp_path / "ours.csi").read_bytes()) == gzip.decompress((tmp_path / "st.csi").read_bytes())


@requires_shared
def test_index__sam_cannot_be_indexed(tmp_path):
    sam = _copy(corpus_files("sam", (".sam",))[0], tmp_path)
    rc, _, err = run_tool_capture("index", [str(sam)])
    assert rc == 1
    assert err == f'samtools index: "{sam}" is in a format that cannot be usefully indexed\n'


def test_index__usage_and_multiple_files(tmp_path):
    rc, out, _ = run_tool_capture("index", [])
    assert rc == 0 and out.startswith(b"Usage: samtools index")
    a, b, c = (tmp_path / n for n in ("a.bam", "b.bam", "c.bam"))
    for p in (a, b, c):
        p.write_bytes(b"x")
    rc, _, err = run_tool_capture("index", [str(a), str(b), str(c)])
    assert rc == 1 and err == "samtools index: use -M to enable indexing more than one alignment file\n"
