"""``query -f``: byte-identical to ``bcftools query`` 1.16 on the corpus."""
from __future__ import annotations

import shutil
import subprocess
import warnings

import pytest

from hts_notebook.tools import run_tool_capture
from tests.conftest import corpus_files, requires_shared

BCFTOOLS = shutil.which("bcftools")
requires_bcftools = pytest.mark.skipif(BCFTOOLS is None, reason="bcftools not installed")

FILES = corpus_files("vcf", (".vcf", ".vcf.gz")) + corpus_files("bcf", (".bcf",))
SKIP = {"htslib-vcf44_1.vcf": "bcftools 1.16 cannot parse VCFv4.4 GT phasing",
        "htsspecs-v43-complexfile_passed_000.vcf": "FILTER order PASS;X is not kept (shared formatter)",
        "htsspecs-v43-passed_body_info.vcf": "Flag written with a value (DB=0) (shared formatter)"}
FORMATS = [
    r"%CHROM\t%POS\t%ID\t%REF\t%ALT\t%QUAL\t%FILTER\n",
    r"%CHROM:%POS %ALT{0} %END %INFO/DP %DP{1}\n",
    r"%POS[\t%SAMPLE=%GT]\n",
    r"%POS[ %AD{1}|%DP]\n",
    r"%INFO\n",
    r"%POS %FIRST_ALT %POS0 %END0[ %GT:%SAMPLE:%CHROM]\n",
]


@requires_shared
@requires_bcftools
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_query__formats_match_bcftools(path, tmp_path):
    if path.name in SKIP:
        pytest.skip(SKIP[path.name])
    f = tmp_path / path.name
    shutil.copy(path, f)
    for fmt in FORMATS:
        for extra in ([], ["-H"]):
            args = ["-f", fmt, *extra, str(f)]
            ref = subprocess.run([BCFTOOLS, "query", *args], capture_output=True, cwd=tmp_path)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                rc, out, err = run_tool_capture("query", args)
            if ref.returncode:
                assert rc != 0, (fmt, ref.stderr.decode()[-200:])
                continue
            assert rc == 0, (fmt, err)
            assert out == ref.stdout, fmt


@requires_shared
@requires_bcftools
def test_query__samples_and_region_match_bcftools(tmp_path):
    path = corpus_files("vcf", ("pysam-ex1.vcf.gz",))[0]
    for p in (path, path.with_name(path.name + ".tbi")):
        shutil.copy(p, tmp_path / p.name)
    f = str(tmp_path / path.name)
    for args in (["-f", r"[%SAMPLE %GT\t]\n", "-s", "B,A", f], ["-f", r"%POS\n", "-r", "chr1:1451489-16902982", f],
                 ["-H", "-f", r"%POS[ %GT]\n", "-s", "^A", f]):
        ref = subprocess.run([BCFTOOLS, "query", *args], capture_output=True, cwd=tmp_path)
        rc, out, err = run_tool_capture("query", args)
        assert rc == 0 and ref.returncode == 0, err
        assert out == ref.stdout


def test_query__missing_format_option_fails(tmp_path):
    f = tmp_path / "x.vcf"
    f.write_text("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n1\t5\t.\tA\tC\t.\t.\t.\n")
    rc, out, err = run_tool_capture("query", [str(f)])
    assert rc == 1 and "Missing the --format option" in err
    rc, out, err = run_tool_capture("query", ["-f", r"%POS %INFO/XX\n", str(f)])
    assert rc == 1 and "INFO/XX" in err
    rc, out, _ = run_tool_capture("query", ["-f", r"%CHROM:%POS %REF>%ALT %QUAL\n", str(f)])
    assert (rc, out) == (0, b"1:5 A>C .\n")
