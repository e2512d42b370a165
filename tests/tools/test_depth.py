"""depth tool: byte-identical to samtools depth 1.16 on the indexed corpus BAMs."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from hts_notebook.tools import run_tool_capture
from hts_notebook.tools.depth import format_rows
from tests.conftest import corpus_files, ids, oracle_for, requires_samtools, requires_shared

BAMS = [p for p in corpus_files("bam", (".bam",))
        if Path(str(p) + ".bai").exists() or Path(str(p) + ".csi").exists()]
#: samtools rejects this file's @SQ text when parsing a region (our header model accepts it)
_BAD_HEADER_TEXT = {"bamjs-large_coords.bam"}
OPTIONS = [[], ["-a"], ["-Q", "20"], ["-q", "13"], ["-s"], ["-H"], ["-J", "-s", "-q", "13"]]


def _same(argv):
    exp = subprocess.run(["samtools", "depth", *argv], capture_output=True)
    rc, out, err = run_tool_capture("depth", argv)
    assert rc == exp.returncode, err
    assert out == exp.stdout


@requires_shared
@requires_samtools
@pytest.mark.parametrize("opts", OPTIONS, ids=" ".join)
@pytest.mark.parametrize("path", BAMS, ids=ids(BAMS))
def test_depth__whole_file_equals_samtools(path, opts):
    if "-a" in opts and path.name in _BAD_HEADER_TEXT:
        pytest.skip("samtools -a prints ~1e9 zero rows up to the reads at 2^30")
    if "-a" in opts and sum(oracle_for(path)["header"]["references"][i][1]
                            for i in range(len(oracle_for(path)["header"]["references"]))) > 5_000_000:
        pytest.skip("-a on whole large contigs: covered on regions (output too long for a unit test)")
    _same([*opts, str(path)])


@requires_shared
@requires_samtools
@pytest.mark.parametrize("path", BAMS, ids=ids(BAMS))
def test_depth__oracle_regions_equal_samtools(path):
    if path.name in _BAD_HEADER_TEXT:
        pytest.skip("samtools cannot parse this header's text")
    for reg in oracle_for(path).get("regions", [])[:3]:
        for opts in ([], ["-a"], ["-aa"], ["-s", "-q", "13"]):
            _same([*opts, "-r", reg["region"], str(path)])


@requires_shared
@requires_samtools
def test_depth__aa_and_two_bams_and_bed(tmp_path):
    paired = str(next(p for p in BAMS if p.name == "bamjs-paired.bam"))
    rna = str(next(p for p in BAMS if p.name == "jbrowse-volvox-rnasim.bam"))
    bed = tmp_path / "x.bed"
    bed.write_text("# c\ntrack x\n20\t60000\t60500\n20 62000\nctgA\t100\t2000\n")
    _same(["-aa", rna])
    _same(["-a", "-H", paired, paired])
    _same(["-b", str(bed), "-a", rna])
    _same(["-b", str(bed), paired])
    _same(["-g", "DUP", "-l", "50", paired])


@requires_shared
@requires_samtools
def test_depth__errors_match_samtools(tmp_path):
    paired = str(next(p for p in BAMS if p.name == "bamjs-paired.bam"))
    rc, out, err = run_tool_capture("depth", ["-r", "nope", paired])
    assert rc == 1 and err == 'samtools depth: cannot parse region "nope"\n'
    rc, out, err = run_tool_capture("depth", [str(tmp_path / "missing.bam")])
    assert rc == 1 and "Cannot open input file" in err


@requires_shared
def test_depth__output_file(tmp_path):
    paired = str(next(p for p in BAMS if p.name == "bamjs-paired.bam"))
    rc, out, _ = run_tool_capture("depth", [paired])
    rc2, out2, _ = run_tool_capture("depth", ["-o", str(tmp_path / "d.txt"), paired])
    assert rc == rc2 == 0 and out2 == b"" and (tmp_path / "d.txt").read_bytes() == out


def test_format_rows__vectorised_text():
    import numpy as np

    assert format_rows(b"c\t", np.array([1, 10, 12345]), [np.array([0, 7, 100])]) == b"c\t1\t0\nc\t10\t7\nc\t12345\t100\n"
