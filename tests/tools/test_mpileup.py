"""``mpileup`` against samtools 1.16 (byte for byte) plus exact-bytes edge cases."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from hts_notebook.core.formats.alignment.batch import batch_from_columns, cigar_from_string, encode_seq
from hts_notebook.core.mpileup import MpileupOptions, _name_hash_bit, count_samples, tweak_overlap
from hts_notebook.tools import run_tool_capture

from tests.conftest import bench_small, CORPUS, corpus_files, requires_samtools, requires_shared

BENCH = bench_small()
REF_DIRS = [CORPUS / "fasta", CORPUS / "cram" / "ref"]


def samtools(args: list[str]) -> tuple[int, bytes]:
    p = subprocess.run(["samtools", "mpileup", *args], capture_output=True)
    return p.returncode, p.stdout


def ours(args: list[str]) -> tuple[int, bytes, str]:
    return run_tool_capture("mpileup", args)


def indexed_bams() -> list[Path]:
    out = []
    for p in corpus_files("bam", (".bam",)):
        if Path(str(p) + ".bai").exists() or Path(str(p) + ".csi").exists():
            out.append(p)
    return out


def _fai(path: Path) -> dict:
    fai = Path(str(path) + ".fai")
    if not fai.exists():
        return {}
    out = {}
    for line in fai.read_text().splitlines():
        f = line.split("\t")
        out[f[0]] = int(f[1])
    return out


def reference_for(bam: Path) -> Path | None:
    """A corpus FASTA holding every contig of ``bam`` with the same name and length."""
    from hts_notebook.core.formats.alignment.reader import AlignmentFile

    with AlignmentFile(bam) as af:
        contigs = af.contigs
    if not contigs:
        return None
    for d in REF_DIRS:
        if not d.is_dir():
            continue
        for fa in sorted(d.iterdir()):
            if not fa.name.endswith((".fa", ".fa.gz")):
                continue
            fai = _fai(fa)
            if fai and all(fai.get(n) == ln for n, ln in contigs.items()):
                return fa
    return None


def oracle_regions(bam: Path) -> list[str]:
    o = CORPUS / "oracle" / f"bam__{bam.name}.json"
    if not o.exists():
        return []
    d = json.loads(o.read_text())
    return [r["region"] for r in d.get("regions", []) if r.get("region")]


def _cases():
    cases = []
    for bam in indexed_bams():
        ref = reference_for(bam)
        base = ["-f", str(ref)] if ref else []
        for baq in ([], ["-B"]) if ref else ([],):
            tag = f"{bam.name}{'-f' if ref else ''}{''.join(baq)}"
            cases.append(pytest.param(bam, base + baq, None, id=tag))
            for reg in oracle_regions(bam)[:4]:
                cases.append(pytest.param(bam, base + baq, reg, id=f"{tag}:{reg}"))
    return cases


@requires_shared
@requires_samtools
@pytest.mark.parametrize("bam,args,region", _cases())
def test_mpileup__corpus_equals_samtools(bam, args, region):
    argv = list(args) + (["-r", region] if region else []) + [str(bam)]
    rc_s, out_s = samtools(argv)
    rc_o, out_o, err = ours(argv)
    assert rc_o == rc_s, err
    assert out_o == out_s


@requires_shared
@requires_samtools
@pytest.mark.parametrize("extra", [
    ["-s", "--output-QNAME", "-O", "--output-BP-5"],
    ["-Q", "0", "-q", "20"],
    ["-A", "-x"],
    ["-d", "3"],
    ["-a", "-r", "20:59000-62000"],
    ["-aa", "-r", "20:59993-60100"],
    ["--reverse-del", "--no-output-ends", "--ff", "0"],
])
def test_mpileup__options_equal_samtools(extra):
    bam = CORPUS / "bam" / "bamjs-paired.bam"
    if not bam.exists():
        pytest.skip("corpus BAM missing")
    argv = list(extra) + [str(bam)]
    rc_s, out_s = samtools(argv)
    rc_o, out_o, err = ours(argv)
    assert rc_o == rc_s, err
    assert out_o == out_s


@requires_shared
@requires_samtools
def test_mpileup__two_files_and_output_file(tmp_path):
    a = CORPUS / "bam" / "bamjs-paired.bam"
    b = CORPUS / "bam" / "bamjs-too_few_reads_if_chunk_merging_on.bam"
    if not (a.exists() and b.exists()):
        pytest.skip("corpus BAMs missing")
    from hts_notebook.core.formats.alignment.reader import AlignmentFile

    if AlignmentFile(a).contigs != AlignmentFile(b).contigs:
        b = a
    argv = ["-r", "20:60000-62000", str(a), str(b)]
    rc_s, out_s = samtools(argv)
    out_file = tmp_path / "p.txt"
    rc_o, out_o, err = ours(["-o", str(out_file)] + argv)
    assert (rc_o, rc_s) == (0, 0)
    assert out_o == b""
    assert out_file.read_bytes() == out_s
    assert err.startswith("[mpileup] ")


@pytest.mark.skipif(not (BENCH / "reads.bam").exists(), reason="bench data absent")
@requires_samtools
@pytest.mark.parametrize("baq", [[], ["-B"]], ids=["BAQ", "noBAQ"])
def test_mpileup__bench_reads_with_reference_equals_samtools(baq):
    argv = ["-f", str(BENCH / "ref.fa"), "-r", "chr2:1-60000", *baq, str(BENCH / "reads.bam")]
    rc_s, out_s = samtools(argv)
    rc_o, out_o, err = ours(argv)
    assert rc_o == rc_s == 0, err
    assert out_o == out_s
    assert out_s.count(b"\n") > 50000


# ---------------------------------------------------------------------------
# exact-bytes edge cases (no oracle needed)
# ---------------------------------------------------------------------------

def _write_sam(tmp_path, reads, ref="ACGTACGTAC" * 5):

    sam = tmp_path / "x.sam"
    lines = [f"@SQ\tSN:c\tLN:{len(ref)}"]
    for r in reads:
        lines.append("\t".join(str(x) for x in r))
    sam.write_text("\n".join(lines) + "\n")
    fa = tmp_path / "r.fa"
    fa.write_text(f">c\n{ref}\n")
    return sam, fa


def test_mpileup__indel_and_marker_text(tmp_path):
    reads = [
        ("r1", 0, "c", 1, 40, "3M2I2M1D3M", "*", 0, 0, "ACGTTTACAC", "IIIIIIIIII"),
        ("r2", 16, "c", 2, 70, "4M", "*", 0, 0, "CGTA", "IIII"),
    ]
    sam, fa = _write_sam(tmp_path, reads)
    rc, out, err = ours(["-B", "-f", str(fa), str(sam)])
    assert rc == 0, err
    lines = out.decode().splitlines()
    assert lines[0] == "c\t1\tA\t1\t^I.\tI"
    # position 3: r1 has the 2-base insertion after it, r2 is a match on the reverse strand
    assert lines[2] == "c\t3\tG\t2\t.+2TT,\tII"
    # position 5 (1-based): r1 then deletes the reference T at 6; r2 ends here
    assert lines[4] == "c\t5\tA\t2\t.-1C,$\tII"
    assert lines[5] == "c\t6\tC\t1\t*\tI"
    rc, out2, _ = ours(["-B", str(sam)])
    assert out2.decode().splitlines()[4] == "c\t5\tN\t2\tA-1Na$\tII"


@requires_shared
@requires_samtools
def test_mpileup__error_paths_match_samtools(tmp_path):
    bam = CORPUS / "bam" / "bamjs-paired.bam"
    if not bam.exists():
        pytest.skip("corpus BAM missing")
    noidx = tmp_path / "noidx.bam"
    noidx.write_bytes(bam.read_bytes())
    for argv, msg in (
        (["-r", "nochr:1-100", str(bam)], "[E::mpileup] fail to parse region 'nochr:1-100'"),
        (["-r", "20:1-100", str(noidx)], "[mpileup] fail to load index for"),
        ([str(tmp_path / "missing.bam")], "[mpileup] failed to open"),
    ):
        rc_s, out_s = samtools(argv)
        rc_o, out_o, err = ours(argv)
        assert (rc_o, out_o) == (rc_s, out_s) == (1, b"")
        assert err.startswith(msg)


def test_mpileup__bad_option_is_usage_error():
    rc, out, err = ours(["--output-extra", "FLAG", "x.bam"])
    assert rc == 1 and out == b""
    assert err.startswith("mpileup: ")


def test_count_samples__read_groups():
    hdr = "@HD\tVN:1.6\n@RG\tID:a\tSM:s1\n@RG\tID:b\tSM:s2\n"
    assert count_samples(["x.bam"], [hdr]) == 2
    assert count_samples(["x.bam", "y.bam"], ["@HD\tVN:1.6\n", "@HD\tVN:1.6\n"]) == 2
    assert count_samples(["x.bam"], [hdr], ignore_rg=True) == 1


def test_name_hash_bit__khash_values():
    # X31 hash of "a" is 97; Wang-hash(97) computed by hand with 32-bit wrap-around
    k = 97
    k = (k + (~(k << 15) & 0xFFFFFFFF)) & 0xFFFFFFFF
    k ^= k >> 10
    k = (k + (k << 3)) & 0xFFFFFFFF
    k ^= k >> 6
    k = (k + (~(k << 11) & 0xFFFFFFFF)) & 0xFFFFFFFF
    k ^= k >> 16
    assert _name_hash_bit(b"a") == k & 1


def test_tweak_overlap__sums_matching_and_zeroes_mate():
    seq = encode_seq(b"ACGTACGT")
    b = batch_from_columns(
        ref_id=[0, 0], pos=[0, 4], end=[8, 12], mapq=[60, 60], bin=[0, 0], flag=[99, 147],
        next_ref_id=[0, 0], next_pos=[4, 0], tlen=[12, -12],
        name=[b"q", b"q"], cigar=[cigar_from_string("8M"), cigar_from_string("8M")],
        seq=[seq, encode_seq(b"ACGAACGT")], qual=[np.full(8, 30), np.full(8, 20)], aux=[b"", b""],
    )
    qual = b.qual.copy()
    tweak_overlap(b, qual, 0, 1)
    a_q, b_q = qual[:8], qual[8:]
    amul = _name_hash_bit(b"q")
    # overlap: a[4:8] (ACGT) against b[0:4] (ACGA); 3 matches, 1 mismatch (a has the better quality)
    assert a_q[:4].tolist() == [30] * 4
    assert a_q[4:7].tolist() == [50 * amul] * 3 and b_q[:3].tolist() == [50 * (1 - amul)] * 3
    assert a_q[7] == 24 and b_q[3] == 0
    assert b_q[4:].tolist() == [20] * 4


def test_mpileup_options__defaults_match_samtools():
    o = MpileupOptions()
    assert (o.min_baseq, o.max_depth, o.excl_flags, o.baq, o.overlaps) == (13, 8000, 0x704, True, True)
