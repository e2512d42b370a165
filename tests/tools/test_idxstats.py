"""``idxstats`` against samtools 1.16."""
from __future__ import annotations

import shutil
import subprocess

import pytest

from hts_notebook.tools import run_tool_capture
from tests.conftest import corpus_files, ids, oracle_for, requires_samtools, requires_shared

BAMS = corpus_files("bam", (".bam",))
SAMS = corpus_files("sam", (".sam",))


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    d = tmp_path_factory.mktemp("idxstats")
    for p in BAMS + SAMS:
        shutil.copy(p, d / p.name)
        for ext in (".bai", ".csi"):
            if p.with_name(p.name + ext).exists():
                shutil.copy(p.with_name(p.name + ext), d / (p.name + ext))
    return d


def _both(args, cwd, monkeypatch):
    st = subprocess.run(["samtools", "idxstats", *args], capture_output=True, cwd=cwd)
    monkeypatch.chdir(cwd)
    return st, run_tool_capture("idxstats", args)


@requires_shared
@requires_samtools
@pytest.mark.parametrize("path", BAMS, ids=ids(BAMS))
def test_idxstats__bam_with_index_matches_samtools(path, workdir, monkeypatch):
    st, (rc, out, err) = _both([path.name], workdir, monkeypatch)
    assert rc == st.returncode == 0, err
    assert out == st.stdout
    assert err == ""


@requires_shared
@requires_samtools
@pytest.mark.parametrize("path", SAMS, ids=ids(SAMS))
def test_idxstats__sam_slow_method_matches_samtools(path, workdir, monkeypatch):
    st, (rc, out, err) = _both([path.name], workdir, monkeypatch)
    assert (rc == 0) == (st.returncode == 0), (err, st.stderr)
    assert out == st.stdout
    if rc:
        assert "not position sorted" in err and err.count("\n") == 1


@requires_shared
@requires_samtools
def test_idxstats__bam_without_index_reverts_to_slow_method(workdir, monkeypatch, tmp_path):
    shutil.copy(workdir / "bamjs-paired.bam", tmp_path / "x.bam")
    st, (rc, out, err) = _both(["x.bam"], tmp_path, monkeypatch)
    assert rc == 0 and out == st.stdout
    assert "reverting to slow method" in err


@requires_shared
@pytest.mark.parametrize("path", BAMS, ids=ids(BAMS))
def test_idxstats__matches_oracle_index_statistics(path):
    o = oracle_for(path)
    if "index_statistics" not in o:
        pytest.skip("no index statistics in oracle")
    rc, out, err = run_tool_capture("idxstats", [str(path)])
    lines = [ln.split("\t") for ln in out.decode().splitlines()]
    assert [[c, int(m), int(u)] for c, _, m, u in lines[:-1]] == [[c, m, u] for c, m, u, _ in o["index_statistics"]]
    assert int(lines[-1][3]) == o["index_unplaced_unmapped"]


def test_idxstats__usage_and_missing_file(tmp_path):
    rc, out, _ = run_tool_capture("idxstats", [])
    assert rc == 0 and out.startswith(b"Usage: samtools idxstats")
    rc, out, err = run_tool_capture("idxstats", [str(tmp_path / "no.bam")])
    assert rc == 1 and out == b"" and err.count("\n") == 1 and "No such file or directory" in err
