"""``view`` against samtools 1.16 on every corpus SAM/BAM (byte-identical stdout)."""
from __future__ import annotations

import shutil
import subprocess

import pytest

from hts_notebook.tools import run_tool_capture
from hts_notebook.tools.view import HeaderError, add_pg

from tests.conftest import corpus_files, ids, oracle_for, requires_samtools, requires_shared

BAMS = corpus_files("bam", (".bam",))
SAMS = corpus_files("sam", (".sam",))
FILES = BAMS + SAMS

ARGSETS = {
    "plain": [],
    "h": ["-h"],
    "H": ["-H"],
    "c": ["-c"],
    "f2": ["-f", "2"],
    "F4": ["-F", "4"],
    "q30": ["-q", "30"],
    "c_F0x900": ["-c", "-F", "0x900"],
}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """Temp copy of the corpus BAM/SAM folders (samtools never writes into ../shared)."""
    d = tmp_path_factory.mktemp("viewcorpus")
    for p in FILES:
        shutil.copy(p, d / p.name)
        for ext in (".bai", ".csi"):
            idx = p.with_name(p.name + ext)
            if idx.exists():
                shutil.copy(idx, d / idx.name)
    return d


def _samtools(args, cwd):
    return subprocess.run(["samtools", *args], capture_output=True, cwd=cwd)


def _ours(tool, args, cwd, monkeypatch):
    monkeypatch.chdir(cwd)
    return run_tool_capture(tool, args)


def _same(tool, args, cwd, monkeypatch):
    st = _samtools([tool, *args], cwd)
    rc, out, err = _ours(tool, args, cwd, monkeypatch)
    assert (rc == 0) == (st.returncode == 0), (rc, err, st.stderr)
    assert out == st.stdout
    return rc, out, err


@requires_shared
@requires_samtools
@pytest.mark.parametrize("argkey", list(ARGSETS))
@pytest.mark.parametrize("path", FILES, ids=ids(FILES))
def test_view__matches_samtools(path, argkey, workdir, monkeypatch):
    _same("view", ARGSETS[argkey] + [path.name], workdir, monkeypatch)


@requires_shared
@requires_samtools
@pytest.mark.parametrize("path", BAMS, ids=ids(BAMS))
def test_view__oracle_regions_match_samtools(path, workdir, monkeypatch):
    regions = [r["region"] for r in oracle_for(path).get("regions", [])]
    if not regions:
        pytest.skip("no oracle regions")
    for r in regions:
        _same("view", [path.name, r], workdir, monkeypatch)
    # several at once: printed region by region (duplicates kept), counted, and -M deduplicated
    _same("view", [path.name, *regions], workdir, monkeypatch)
    _same("view", ["-c", path.name, *regions, regions[0]], workdir, monkeypatch)
    _same("view", ["-M", path.name, *regions, regions[0]], workdir, monkeypatch)


@requires_shared
@requires_samtools
@pytest.mark.parametrize("path", BAMS, ids=ids(BAMS))
def test_view__bam_output_reads_back_identically(path, workdir, monkeypatch, tmp_path):
    out_bam = tmp_path / "ours.bam"
    rc, _, err = _ours("view", ["-b", "-o", str(out_bam), path.name], workdir, monkeypatch)
    st_in = _samtools(["view", "--no-PG", path.name], workdir)
    if st_in.returncode != 0:
        pytest.skip("samtools cannot read the input")
    if rc != 0:
        # samtools refuses the same header when adding @PG (bamjs-large_coords)
        assert _samtools(["view", "-b", "-o", str(tmp_path / "st.bam"), path.name], workdir).returncode != 0
        return
    st_out = _samtools(["view", "--no-PG", str(out_bam)], workdir)
    assert st_out.returncode == 0, st_out.stderr
    assert st_out.stdout == st_in.stdout
    assert _samtools(["view", "-H", "--no-PG", str(out_bam)], workdir).stdout == \
        _samtools(["view", "-H", path.name], workdir).stdout.replace(b"view -H " + path.name.encode(),
                                                                     b"view -b -o " + str(out_bam).encode() + b" " + path.name.encode())


@requires_shared
@requires_samtools
def test_view__regions_twice_print_twice(workdir, monkeypatch):
    name = "samtools-ce_unmap2.bam"
    rc, out, _ = _same("view", ["-c", name, "CHROMOSOME_I", "CHROMOSOME_I:1-1000000"], workdir, monkeypatch)
    assert out == b"20\n"
    rc, out, _ = _same("view", ["-c", "-M", name, "CHROMOSOME_I", "CHROMOSOME_I:1-1000000"], workdir, monkeypatch)
    assert out == b"10\n"
    rc, out, _ = _same("view", ["-c", name, "*"], workdir, monkeypatch)
    assert out == b"9\n"


@requires_shared
@requires_samtools
@pytest.mark.parametrize("region", ["nosuch", "CHROMOSOME_I:4-3", "CHROMOSOME_I:abc"])
def test_view__invalid_region_warns_and_continues(region, workdir, monkeypatch):
    rc, out, err = _same("view", ["samtools-ce_unmap2.bam", region, "CHROMOSOME_I:1-5"], workdir, monkeypatch)
    assert rc == 0
    assert err == f'[main_samview] region "{region}" specifies an invalid region or unknown reference. Continue anyway.\n'
    assert out.count(b"\n") == 10


@requires_shared
@requires_samtools
def test_view__region_on_sam_fails_like_samtools(workdir, monkeypatch):
    rc, out, err = _same("view", ["-h", "htslib-index.sam", "chr1"], workdir, monkeypatch)
    assert rc == 1
    assert "Random alignment retrieval only works" in err
    assert out.startswith(b"@")  # header already written, as samtools does


@requires_shared
@requires_samtools
@pytest.mark.parametrize("args", [
    ["-f", "0x40", "-F", "PROPER_PAIR"], ["-G", "0x50"], ["--rf", "0x10"], ["-F", "012"], ["-hq5", "-F4"],
    ["-m", "100"], ["--no-PG", "-h"], ["-H", "--no-header"], ["--min-MQ=20", "-c"], ["-f", "bogus", "-c"],
])
def test_view__more_options_match_samtools(args, workdir, monkeypatch):
    _same("view", args + ["bamjs-paired.bam"], workdir, monkeypatch)


@requires_shared
@requires_samtools
def test_view__pg_line_after_permuted_argv(workdir, monkeypatch):
    args = ["-H", "samtools-ce_unmap2.bam", "-q", "3", "-f", "0x2", "-F010"]
    rc, out, _ = _same("view", args, workdir, monkeypatch)
    assert out.splitlines()[-1].endswith(b"CL:samtools view -H -q 3 -f 0x2 -F010 samtools-ce_unmap2.bam")


@requires_shared
@requires_samtools
def test_view__count_to_output_file(workdir, monkeypatch, tmp_path):
    rc, out, _ = _ours("view", ["-c", "-o", str(tmp_path / "n.txt"), "bamjs-paired.bam"], workdir, monkeypatch)
    st = _samtools(["view", "-c", "bamjs-paired.bam"], workdir)
    assert rc == 0 and out == b""
    assert (tmp_path / "n.txt").read_bytes() == st.stdout


@requires_shared
@requires_samtools
def test_view__uncompressed_bam_to_stdout(workdir, monkeypatch, tmp_path):
    rc, out, _ = _ours("view", ["-u", "bamjs-paired.bam"], workdir, monkeypatch)
    assert rc == 0 and out[:4] == b"\x1f\x8b\x08\x04"
    (tmp_path / "u.bam").write_bytes(out)
    assert _samtools(["view", str(tmp_path / "u.bam")], workdir).stdout == _samtools(["view", "bamjs-paired.bam"], workdir).stdout


# ---------------------------------------------------------------- @PG rules (no samtools needed)
def test_add_pg__links_to_each_chain_end_and_skips_taken_ids():
    text = ("@SQ\tSN:c1\tLN:100\n@PG\tID:a\tPN:a\n@PG\tID:b\tPN:b\tPP:a\n@PG\tID:c\tPN:c\n"
            "@PG\tID:d\tPN:d\tPP:c\n@PG\tID:samtools.1\tPN:q\n")
    got = add_pg(text, None, "samtools view -H x.sam").splitlines()
    assert got[-2] == "@PG\tID:samtools\tPN:samtools\tPP:b\tVN:1.16.1\tCL:samtools view -H x.sam"
    assert got[-1] == "@PG\tID:samtools.2\tPN:samtools\tPP:d\tVN:1.16.1\tCL:samtools view -H x.sam"


def test_add_pg__unlinked_lines_use_last_and_insert_after_last_pg():
    text = "@SQ\tSN:c1\tLN:100\n@CO\tx\n@PG\tID:a\tPN:a\n@CO\ty\n"
    assert add_pg(text, None, "CL").splitlines() == [
        "@SQ\tSN:c1\tLN:100", "@CO\tx", "@PG\tID:a\tPN:a",
        "@PG\tID:samtools\tPN:samtools\tPP:a\tVN:1.16.1\tCL:CL", "@CO\ty",
    ]


def test_add_pg__no_pg_appends_and_hd_moves_first():
    assert add_pg("@CO\tx\n@HD\tVN:1.6\n@CO\n", None, "CL").splitlines() == [
        "@HD\tVN:1.6", "@CO\tx", "@PG\tID:samtools\tPN:samtools\tVN:1.16.1\tCL:CL",
    ]


def test_add_pg__bam_reference_list_wins_over_sq_text():
    got = add_pg("@SQ\tSN:c2\tLN:100\n@PG\tID:a\tPN:a\n", [("c1", 100), ("c2", 200)], "CL").splitlines()
    assert got[:3] == ["@SQ\tSN:c2\tLN:200", "@SQ\tSN:c1\tLN:100", "@PG\tID:a\tPN:a"]


@pytest.mark.parametrize("text", ["@SQ\tSN:c\tLN:5\t1073741824\n", "@SQ\tSN:c1\n", "@PG\tPN:p\n",
                                  "@SQ\tSN:c\tLN:1\n@SQ\tSN:c\tLN:1\n", "@HD\tVN:1.6\t\n"])
def test_add_pg__rejects_headers_htslib_rejects(text):
    with pytest.raises(HeaderError):
        add_pg(text, None, "CL")
