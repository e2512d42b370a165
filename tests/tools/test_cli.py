"""``python -m hts_notebook`` end to end: exit codes, stdout bytes, one-line errors."""
from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from hts_notebook.tools._args import c_atoi, c_strtol, getopt, parse_flag
from hts_notebook.tools import UsageError
from tests.conftest import corpus_files, requires_samtools, requires_shared


def _cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "hts_notebook", *args], capture_output=True, cwd=cwd)


def test_cli__missing_file_one_stderr_line_nonzero():
    for tool in ("view", "flagstat", "idxstats", "index"):
        r = _cli(tool, "/nonexistent/x.bam")
        assert r.returncode == 1, tool
        assert r.stdout == b""
        assert r.stderr.count(b"\n") == 1 and b"No such file or directory" in r.stderr, (tool, r.stderr)


def test_cli__bad_option_is_usage_error():
    r = _cli("view", "-Z", "x.bam")
    assert r.returncode == 1
    assert r.stderr == b"samtools view: invalid option -- 'Z'\n"


@requires_shared
@requires_samtools
def test_cli__view_and_flagstat_bytes_match_samtools(tmp_path):
    bam = corpus_files("bam", (".bam",))[3]
    shutil.copy(bam, tmp_path / bam.name)
    for args in (["view", "-h", bam.name], ["flagstat", bam.name], ["view", "-c", "-F", "0x900", bam.name]):
        ours = _cli(*args, cwd=tmp_path)
        st = subprocess.run(["samtools", *args], capture_output=True, cwd=tmp_path)
        assert ours.returncode == st.returncode == 0
        assert ours.stdout == st.stdout


def test_getopt__permutes_bundles_and_long_prefixes():
    a = getopt(["-H", "in.bam", "-hq30", "--no-P", "--min-MQ=5", "r1", "-o", "x"], "hHq:o:",
               {"no-PG": (False, "no-PG"), "min-MQ": (True, "q")})
    assert a.options == [("H", None), ("h", None), ("q", "30"), ("no-PG", None), ("q", "5"), ("o", "x")]
    assert a.operands == ["in.bam", "r1"]
    assert a.permuted == ["-H", "-hq30", "--no-P", "--min-MQ=5", "-o", "x", "in.bam", "r1"]
    b = getopt(["-h", "--", "-q", "f"], "hq:")
    assert b.operands == ["-q", "f"] and b.options == [("h", None)]
    with pytest.raises(UsageError):
        getopt(["-q"], "q:")
    with pytest.raises(UsageError):
        getopt(["--bogus"], "q:", {"no-PG": (False, "x")})


def test_parse_flag__numbers_and_names_like_samtools():
    assert parse_flag("0x900") == 0x900
    assert parse_flag("010") == 8
    assert parse_flag("12") == 12
    assert parse_flag("paired,UNMAP") == 5
    assert parse_flag("bogus") == -1
    assert parse_flag("") == 0
    assert c_atoi("30x") == 30 and c_atoi("x") == 0 and c_atoi(" -5") == -5
    assert c_strtol("0x1f", 0) == (31, 4)
