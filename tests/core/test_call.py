"""SNP calling: hand-built pileups, PL equal to bcftools, concordance with the bench truth set."""
from __future__ import annotations

import gzip
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from hts_notebook.core.call import CallOptions, call, call_batch, observations
from hts_notebook.core.errors import RegionError
from tests.conftest import bench_small

SMALL = bench_small()
HAVE_SMALL = (SMALL / "reads.bam").exists() and (SMALL / "ref.fa").exists() and (SMALL / "truth.vcf.gz").exists()
HAVE_TOOLS = shutil.which("samtools") is not None and shutil.which("bcftools") is not None
needs_small = pytest.mark.skipif(not HAVE_SMALL, reason="bench data absent (no ../shared)")
needs_tools = pytest.mark.skipif(not HAVE_TOOLS, reason="samtools/bcftools not installed")


# ----------------------------------------------------------------- helpers
def _write_tiny(tmp_path: Path, reads, ref: str):
    """Indexed BAM + FASTA from (name, flag, pos1, mapq, seq, qual-list) rows (built with samtools)."""
    fa = tmp_path / "ref.fa"
    fa.write_text(">c1\n" + "\n".join(ref[i:i + 60] for i in range(0, len(ref), 60)) + "\n")
    lines = ["@HD\tVN:1.6\tSO:coordinate", f"@SQ\tSN:c1\tLN:{len(ref)}", "@RG\tID:rg1\tSM:tiny"]
    for name, flag, pos, mapq, seq, qual in sorted(reads, key=lambda r: r[2]):
        q = "".join(chr(33 + x) for x in qual)
        lines.append(f"{name}\t{flag}\tc1\t{pos}\t{mapq}\t{len(seq)}M\t*\t0\t0\t{seq}\t{q}\tRG:Z:rg1")
    sam = tmp_path / "reads.sam"
    sam.write_text("\n".join(lines) + "\n")
    bam = tmp_path / "reads.bam"
    subprocess.run(["samtools", "view", "-b", "-o", str(bam), str(sam)], check=True)
    subprocess.run(["samtools", "index", str(bam)], check=True)
    subprocess.run(["samtools", "faidx", str(fa)], check=True)
    return bam, fa


def _tiny_reads(ref: str):
    """Site 61 (1-based): 6 ref + 4 alt reads (het); site 81: every read alt (hom); mixed qualities."""
    rng = np.random.default_rng(11)
    reads = []
    for i in range(10):
        start = 30 + 3 * i                        # 0-based; every read covers 60 and 80
        seq = list(ref[start:start + 70])
        if i % 10 in (1, 4, 6, 9):
            seq[60 - start] = "G" if ref[60] != "G" else "T"
        seq[80 - start] = "A" if ref[80] != "A" else "C"
        qual = rng.integers(20, 41, 70).tolist()
        reads.append((f"r{i}", 16 if i % 3 == 0 else 0, start + 1, 60 - 5 * (i % 2), "".join(seq), qual))
    return reads


def _bcftools_pl(bam, fa, region, extra=("-B",)):
    """(chrom, pos) -> (alleles without <*>, PL over them normalised to min 0, AD, DP) from bcftools mpileup."""
    res = subprocess.run(["bcftools", "mpileup", *extra, "-a", "AD,DP", "-f", str(fa), "-r", region, str(bam)],
                         check=True, capture_output=True, text=True).stdout
    out = {}
    for line in res.splitlines():
        if line.startswith("#"):
            continue
        f = line.split("\t")
        if "INDEL" in f[7].split(";"):
            continue
        alleles = [f[3]] + [a for a in f[4].split(",") if a != "<*>"]
        fmt = dict(zip(f[8].split(":"), f[9].split(":")))
        pl = [int(x) for x in fmt["PL"].split(",")]
        sub = np.array([pl[i * (i + 1) // 2 + j] for i in range(len(alleles)) for j in range(i + 1)])
        ad = [int(x) for x in fmt["AD"].split(",")][: len(alleles)]
        out[(f[0], int(f[1]))] = (alleles, (sub - sub.min()).tolist(), ad, int(fmt["DP"]))
    return out


def _records(header, batch, sample=0):
    out = {}
    for i in range(len(batch)):
        al = list(batch.allele[batch.allele_offset[i]:batch.allele_offset[i + 1]])
        ng = len(al) * (len(al) + 1) // 2
        out[(header.contig_names[batch.contig[i]], int(batch.position[i]))] = (
            al, batch.format["PL"][i, sample, :ng].tolist(), batch.format["AD"][i, sample, :len(al)].tolist(),
            int(batch.format["DP"][i, sample]), tuple(batch.genotype[i, sample].tolist()))
    return out


# ----------------------------------------------------------------- hand-built data
REF = ("TTGACCTAGCATCGGATCCAGTACGTTAGCCATGACTGCAAGTCCGATAGCTTACGGCAT" 
       "CAGTTGCACGATTCGAGCTAAGGCTCATGCGTACCTTGAGCATCGTACGGATTCAGCTAC"
       "GATCGTTAGCAAGCTCGATCGGATCCTAGGCTTAACG")


@needs_tools
def test_call__tiny_pileups_het_and_hom_alt(tmp_path):
    bam, fa = _write_tiny(tmp_path, _tiny_reads(REF), REF)
    header, batch = call_batch(bam, fa)
    recs = _records(header, batch)
    assert sorted(recs) == [("c1", 61), ("c1", 81)]
    het, hom = recs[("c1", 61)], recs[("c1", 81)]
    assert het[0] == [REF[60], "G" if REF[60] != "G" else "T"] and het[4] == (0, 1)
    assert het[2] == [6, 4] and het[3] == 10
    assert hom[0] == [REF[80], "A" if REF[80] != "A" else "C"] and hom[4] == (1, 1)
    assert hom[2] == [0, 10] and hom[1][2] == 0 and hom[1][0] > 150  # errors on one strand are discounted
    assert header.samples == ["tiny"]
    assert batch.quality[0] > 20 and batch.quality[1] > batch.quality[0]


@needs_tools
def test_call__tiny_pileups_pl_equals_bcftools(tmp_path):
    bam, fa = _write_tiny(tmp_path, _tiny_reads(REF), REF)
    header, batch = call_batch(bam, fa, variants_only=False)
    ours = _records(header, batch)
    theirs = _bcftools_pl(bam, fa, "c1")
    assert set(ours) <= set(theirs)
    for key, (al, pl, ad, dp, _) in ours.items():
        assert (al, pl, ad, dp) == tuple(theirs[key]), key


@needs_tools
def test_call__low_quality_alt_and_mapq_zero_give_no_call(tmp_path):
    reads = []
    for i in range(8):
        seq = list(REF[40:110])
        qual = [35] * 70
        if i < 2:
            seq[20] = "T" if REF[60] != "T" else "A"
            qual[20] = 8 if i == 0 else 35
        reads.append((f"q{i}", 0, 41, 0 if i == 1 else 60, "".join(seq), qual))
    bam, fa = _write_tiny(tmp_path, reads, REF)
    header, batch = call_batch(bam, fa)
    assert len(batch) == 0
    header, batch = call_batch(bam, fa, variants_only=False)
    rec = _records(header, batch)[("c1", 61)]
    assert rec[4] == (0, 0) and rec[2] == [6, 2]
    assert rec[1] == _bcftools_pl(bam, fa, "c1:61-61")[("c1", 61)][1]


@needs_tools
def test_observations__neighbour_cap_equals_base_and_mapq(tmp_path):
    seq = list(REF[10:20])
    seq[3] = "="                                  # '=' reads as the reference base
    qual = [40, 40, 40, 40, 40, 5, 40, 40, 40, 2]  # base 4 and 6 sit next to a Q5 base
    bam, fa = _write_tiny(tmp_path, [("a", 16, 11, 60, "".join(seq), qual)], REF)
    from hts_notebook.core.formats.alignment.reader import AlignmentFile

    ref = np.frombuffer(REF.encode(), np.uint8)
    ob = observations(AlignmentFile(str(bam)), "c1", 0, len(REF), ref, CallOptions(min_base_quality=3))
    assert ob["pos"].tolist() == [10, 11, 12, 13, 14, 15, 16, 17, 18]  # Q2 base dropped (< 3)
    bases = {"A": 0, "C": 1, "G": 2, "T": 3}
    assert ob["base"].tolist() == [bases[b] for b in REF[10:19]]
    # min(BQ, neighbour BQ + 30, MAPQ), clamped to [4, 63]
    assert ob["qual"].tolist() == [40, 40, 40, 40, 35, 5, 35, 40, 32]
    capped = observations(AlignmentFile(str(bam)), "c1", 0, len(REF), ref,
                          CallOptions(min_base_quality=3, max_base_quality=36, delta_base_quality=100))
    assert capped["qual"].tolist() == [36, 36, 36, 36, 36, 5, 36, 36, 36]
    assert ob["strand"].tolist() == [1] * 9
    assert ob["depth"][10:20].tolist() == [1] * 10


def test_call_options__bad_prior():
    with pytest.raises(ValueError):
        CallOptions(prior=0.0)


# ----------------------------------------------------------------- bench data
@needs_small
@needs_tools
def test_call__pl_ad_dp_equal_bcftools_mpileup_on_bench_region():
    region = "chr2:280000-450000"  # includes sites where htslib's overlap-adjustment timing matters
    header, batch = call_batch(SMALL / "reads.bam", SMALL / "ref.fa", region, variants_only=False)
    ours = _records(header, batch)
    theirs = _bcftools_pl(SMALL / "reads.bam", SMALL / "ref.fa", region)
    snp_sites = {k for k, v in theirs.items() if len(v[0]) > 1}
    common = snp_sites & set(ours)
    assert len(common) > 2000 and len(common) >= 0.99 * len(snp_sites)
    mismatched = [k for k in common if tuple(ours[k][:4]) != tuple(theirs[k])]
    assert mismatched == []


@needs_small
def test_call__dataset_uses_sgkit_names():
    ds = call(str(SMALL / "reads.bam"), str(SMALL / "ref.fa"), "chr2:1-60000")
    for name in ("variant_contig", "variant_position", "variant_allele", "variant_quality", "call_genotype",
                 "call_genotype_phased", "call_PL", "call_DP", "call_AD", "sample_id", "contig_id"):
        assert name in ds, name
    assert ds.sizes["samples"] == 1 and ds.sizes["ploidy"] == 2
    assert str(ds["sample_id"].values[0]) == "SIM0"
    assert list(ds["contig_id"].values) == ["chr1", "chr2", "chr3"]
    assert (ds["variant_contig"].values == 1).all()
    assert ((ds["variant_position"].values >= 1) & (ds["variant_position"].values <= 60000)).all()
    assert (ds["call_genotype"].values.max(axis=(1, 2)) > 0).all()  # variants only
    assert ds["call_PL"].dims == ("variants", "samples", "genotypes")
    assert ds.sizes["variants"] > 20


@needs_small
def test_call__numpy_and_jax_backends_agree():
    a = call_batch(SMALL / "reads.bam", SMALL / "ref.fa", "chr3:1-40000", backend="jax")[1]
    b = call_batch(SMALL / "reads.bam", SMALL / "ref.fa", "chr3:1-40000", backend="numpy")[1]
    np.testing.assert_array_equal(a.position, b.position)
    np.testing.assert_array_equal(a.genotype, b.genotype)
    np.testing.assert_array_equal(a.format["PL"], b.format["PL"])


@needs_small
def test_call__unknown_contig_raises_region_error():
    with pytest.raises(RegionError):
        call_batch(SMALL / "reads.bam", SMALL / "ref.fa", "chrZ:1-10")


@needs_small
def test_call__two_files_give_two_samples():
    header, batch = call_batch([SMALL / "reads.bam", SMALL / "reads.bam"], SMALL / "ref.fa", "chr3:1-30000")
    single = call_batch(SMALL / "reads.bam", SMALL / "ref.fa", "chr3:1-30000")[1]
    assert header.samples == ["SIM0", "SIM0.1"]
    np.testing.assert_array_equal(batch.genotype[:, 0], batch.genotype[:, 1])
    assert set(single.position.tolist()) <= set(batch.position.tolist())


# ----------------------------------------------------------------- concordance with the truth set
def _snp_genotypes(lines):
    """(chrom, pos) -> (REF, sorted GT bases) for non-reference SNP calls; positions covered by indels."""
    calls, indel = {}, set()
    for line in lines:
        if line.startswith("#"):
            continue
        f = line.rstrip("\n").split("\t")
        alleles = [f[3]] + f[4].split(",")
        pos = int(f[1])
        if any(len(a) != 1 for a in alleles if a not in ("<*>", ".")) or "INDEL" in f[7].split(";"):
            indel.update((f[0], p) for p in range(pos, pos + len(f[3])))
            continue
        gt = f[9].split(":")[0].replace("|", "/")
        if "." in gt:
            continue
        bases = tuple(sorted(alleles[int(x)] for x in gt.split("/")))
        if any(b != f[3] for b in bases):
            calls[(f[0], pos)] = (f[3], bases)
    return calls, indel


def _concordance(truth, callsets, depth, min_depth=10):
    """Fraction of sites (truth or any caller's SNP, depth >= min_depth, away from indels) with the truth GT."""
    keys = set(truth[0])
    excl = set(truth[1])
    for calls, indel in callsets.values():
        keys |= set(calls)
        excl |= indel
    keys = {k for k in keys if k not in excl and depth[k[0]][k[1] - 1] >= min_depth}
    return {name: sum(truth[0].get(k) == calls.get(k) for k in keys) / len(keys)
            for name, (calls, _) in callsets.items()}, len(keys)


@needs_small
@needs_tools
def test_call__truth_concordance_at_depth_10_not_below_bcftools(tmp_path):
    from hts_notebook.core.formats.alignment.reader import AlignmentFile
    from hts_notebook.core.formats.variant.vcf import write_vcf
    from hts_notebook.core.pileup import coverage

    bam, ref = SMALL / "reads.bam", SMALL / "ref.fa"
    bcf_out = tmp_path / "bcftools.vcf"
    # bcftools runs while we call (same data, default settings: BAQ on, -m multiallelic caller)
    with open(bcf_out, "w") as fh:
        mp = subprocess.Popen(["bcftools", "mpileup", "-f", str(ref), str(bam)], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL)
        cl = subprocess.Popen(["bcftools", "call", "-m"], stdin=mp.stdout, stdout=fh, stderr=subprocess.DEVNULL)
        mp.stdout.close()
        header, batch = call_batch(bam, ref)
        assert cl.wait() == 0 and mp.wait() == 0
    out = tmp_path / "ours.vcf"
    write_vcf(out, header, batch)
    ours = _snp_genotypes(out.read_text().splitlines())
    theirs = _snp_genotypes(bcf_out.read_text().splitlines())
    with gzip.open(SMALL / "truth.vcf.gz", "rt") as fh:
        truth = _snp_genotypes(fh)
    # depth as samtools depth counts it (reads with an aligned base, default flag filter)
    rd = AlignmentFile(str(bam))
    depth = {c: coverage(rd, c, backend="numpy").position_depth.values for c in rd.contigs}
    conc, n_sites = _concordance(truth, {"ours": ours, "bcftools": theirs}, depth)
    assert n_sites > 500
    assert conc["ours"] >= conc["bcftools"]
    # 10x simulated data: at depth >= 10 neither caller reaches 99% (misses are 2-3 alt reads of ~10);
    # measured: ours 0.984, bcftools call -m 0.979
    assert conc["ours"] >= 0.98


@needs_small
def test_call__window_size_does_not_change_calls():
    region = "chr2:200000-260000"
    a = call_batch(SMALL / "reads.bam", SMALL / "ref.fa", region)[1]
    b = call_batch(SMALL / "reads.bam", SMALL / "ref.fa", region, window=7001)[1]
    assert len(a) > 10
    np.testing.assert_array_equal(a.position, b.position)
    np.testing.assert_array_equal(a.genotype, b.genotype)
    np.testing.assert_array_equal(a.format["PL"], b.format["PL"])
    np.testing.assert_array_equal(a.format["AD"], b.format["AD"])
