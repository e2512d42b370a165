"""``flagstat`` core counts and the tool against samtools 1.16."""
from __future__ import annotations

import shutil
import subprocess

import pytest

from hts_notebook.core.formats.alignment.flagstat import CATEGORIES, FlagStats, flagstat_counts, format_flagstat
from hts_notebook.tools import run_tool_capture
from tests.conftest import corpus_files, ids, oracle_for, requires_samtools, requires_shared

FILES = corpus_files("bam", (".bam",)) + corpus_files("sam", (".sam",))


def _stats(flags, mapq=None, ref=None, mref=None):
    n = len(flags)
    s = FlagStats()
    s.counts += flagstat_counts(flags, mapq if mapq is not None else [60] * n, ref if ref is not None else [0] * n,
                                mref if mref is not None else [0] * n)
    return s


def test_flagstat_counts__categories_follow_samtools_rules():
    # paired+proper read1; mate unmapped read2 (singleton); secondary; supplementary; QC-fail dup unmapped
    s = _stats([0x1 | 0x2 | 0x40, 0x1 | 0x8 | 0x80, 0x100, 0x800 | 0x100, 0x800, 0x200 | 0x400 | 0x4],
               mapq=[60, 3, 0, 0, 0, 0], ref=[0, 0, 0, 0, 0, -1], mref=[1, 0, 0, 0, 0, -1])
    assert s["total"] == (5, 1)
    assert s["primary"] == (2, 1)
    assert s["secondary"] == (2, 0)
    assert s["supplementary"] == (1, 0)
    assert s["duplicates"] == (0, 1)
    assert s["primary duplicates"] == (0, 1)
    assert s["mapped"] == (5, 0)
    assert s["paired in sequencing"] == (2, 0)
    assert s["read1"] == (1, 0) and s["read2"] == (1, 0)
    assert s["properly paired"] == (1, 0)
    assert s["with itself and mate mapped"] == (1, 0)
    assert s["singletons"] == (1, 0)
    assert s["with mate mapped to a different chr"] == (1, 0)
    assert s["with mate mapped to a different chr (mapQ>=5)"] == (1, 0)


def test_format_flagstat__percent_uses_single_precision_and_na():
    s = _stats([0] * 2 + [4])
    text = format_flagstat(s)
    assert "2 + 0 mapped (66.67% : N/A)" in text
    assert text.splitlines()[0] == "3 + 0 in total (QC-passed reads + QC-failed reads)"
    assert len(text.splitlines()) == len(CATEGORIES)
    js = s.as_dict()
    assert js["QC-passed reads"]["mapped %"] == 66.67
    assert js["QC-failed reads"]["mapped %"] is None
    assert format_flagstat(s, "tsv").splitlines()[7] == "66.67%\tN/A\tmapped %"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    d = tmp_path_factory.mktemp("flagstat")
    for p in FILES:
        shutil.copy(p, d / p.name)
    return d


@requires_shared
@requires_samtools
@pytest.mark.parametrize("fmt", [[], ["-O", "json"], ["-O", "tsv"]], ids=["default", "json", "tsv"])
@pytest.mark.parametrize("path", FILES, ids=ids(FILES))
def test_flagstat__matches_samtools(path, fmt, workdir, monkeypatch):
    st = subprocess.run(["samtools", "flagstat", *fmt, path.name], capture_output=True, cwd=workdir)
    monkeypatch.chdir(workdir)
    rc, out, err = run_tool_capture("flagstat", [*fmt, path.name])
    assert rc == st.returncode == 0, err
    assert out == st.stdout


@requires_shared
@pytest.mark.parametrize("path", FILES, ids=ids(FILES))
def test_flagstat__matches_oracle_json(path):
    want = oracle_for(path).get("flagstat")
    if want is None:
        pytest.skip("oracle has no flagstat")
    rc, out, err = run_tool_capture("flagstat", ["-O", "json", str(path)])
    import json

    assert rc == 0, err
    assert json.loads(out) == want


def test_flagstat__missing_file_one_line_exit_1(tmp_path):
    rc, out, err = run_tool_capture("flagstat", [str(tmp_path / "nope.bam")])
    assert rc == 1 and out == b""
    assert err == f'samtools flagstat: Cannot open input file "{tmp_path / "nope.bam"}": No such file or directory\n'
