"""Deterministic demo data: a small reference, a sorted indexed BAM and its truth variants.

``files()`` writes the data with hts_notebook's own writers on first use (about a
second) into a cache folder and returns the paths.  Everything is drawn from a
seeded generator, so the bytes are the same on every machine.

The data imitate a diploid human-like sample sequenced 2 x 100 bp at about 20x:
two contigs (``chr1`` 200 kb, ``chr2`` 100 kb), heterozygous and homozygous SNPs
every ~700 bp, short insertions and deletions every ~4 kb, 0.4% sequencing
errors with lower base qualities at read ends, a few duplicate-flagged and
MAPQ-0 reads, some pairs with one mate unmapped, and unplaced unmapped pairs at
the end of the file.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["files", "DEMO_VERSION", "CONTIGS"]

DEMO_VERSION = "1"
CONTIGS = (("chr1", 200_000), ("chr2", 100_000))
READ_LENGTH = 100
COVERAGE = 20
SEED = 20261122
_BASES = np.frombuffer(b"ACGT", dtype=np.uint8)


def _cache_dir() -> Path:
    env = os.environ.get("HTS_NOTEBOOK_DEMO_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "hts_notebook" / f"demo-v{DEMO_VERSION}"


def files(directory: str | os.PathLike | None = None) -> dict:
    """Paths of the demo dataset, writing it on first use.

    Parameters
    ----------
    directory : path, optional
        Where to keep the files (default ``$HTS_NOTEBOOK_DEMO_DIR`` or
        ``~/.cache/hts_notebook/demo-v1``).

    Returns
    -------
    dict of str
        ``reference`` (FASTA, with ``.fai``), ``bam`` (coordinate-sorted, with
        ``.bai``), ``bai``, ``truth_vcf`` (the simulated variants, VCF 4.3,
        1-based POS), ``region`` (a good first region string, 1-based closed).
    """
    root = Path(directory) if directory is not None else _cache_dir()
    out = {
        "reference": str(root / "demo_ref.fa"),
        "bam": str(root / "demo_reads.bam"),
        "bai": str(root / "demo_reads.bam.bai"),
        "truth_vcf": str(root / "demo_truth.vcf"),
        "region": "chr1:10,001-12,000",
    }
    if all(Path(out[k]).exists() for k in ("reference", "bam", "bai", "truth_vcf")):
        return out
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".demo-", dir=root.parent))
    try:
        _write_all(tmp)
        root.mkdir(parents=True, exist_ok=True)
        for p in tmp.iterdir():
            os.replace(p, root / p.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


# -- simulation -----------------------------------------------------------
def _reference(rng) -> dict:
    seqs = {}
    for name, length in CONTIGS:
        # GC content drifts slowly along the contig, as in real genomes
        gc = np.clip(0.41 + 0.08 * np.sin(np.arange(length) / 9000.0 + rng.uniform(0, 6)), 0.3, 0.6)
        u = rng.random(length)
        at = rng.random(length) < 0.5
        base = np.where(u < gc, np.where(at, 1, 2), np.where(at, 0, 3))  # C/G vs A/T
        seqs[name] = _BASES[base]
    return seqs


def _variants(rng, ref: np.ndarray):
    """Variants as (pos0, ref_bytes, alt_bytes, genotype (a, b))."""
    out = []
    length = len(ref)
    pos = int(rng.integers(200, 900))
    while pos < length - 500:
        gt = (0, 1) if rng.random() < 0.6 else (1, 1)
        if rng.random() < 0.15:
            if rng.random() < 0.5:  # deletion of 1-6 bases
                n = int(rng.integers(1, 7))
                r = ref[pos: pos + n + 1].tobytes()
                a = r[:1]
            else:  # insertion of 1-6 bases
                n = int(rng.integers(1, 7))
                r = ref[pos: pos + 1].tobytes()
                a = r + _BASES[rng.integers(0, 4, n)].tobytes()
        else:
            r = ref[pos: pos + 1].tobytes()
            choices = [b for b in b"ACGT" if b != r[0]]
            a = bytes([choices[int(rng.integers(0, 3))]])
        out.append((pos, r, a, gt))
        pos += int(rng.integers(300, 1100))
    return out


def _haplotype(ref: np.ndarray, variants, hap: int):
    """Haplotype sequence and, per base, its reference position (-1 = inserted)."""
    parts, refpos = [], []
    cursor = 0
    for pos, r, a, gt in variants:
        if gt[hap] != 1:
            continue
        parts.append(ref[cursor:pos])
        refpos.append(np.arange(cursor, pos))
        alt = np.frombuffer(a, dtype=np.uint8)
        parts.append(alt)
        common = min(len(r), len(a))
        rp = np.full(len(a), -1, dtype=np.int64)
        rp[:common] = np.arange(pos, pos + common)
        refpos.append(rp)
        cursor = pos + len(r)
    parts.append(ref[cursor:])
    refpos.append(np.arange(cursor, len(ref)))
    return np.concatenate(parts), np.concatenate(refpos).astype(np.int64)


def _cigar_from_refpos(rp: np.ndarray):
    """CIGAR (BAM-encoded) and 0-based start for a read whose bases map to ``rp``."""
    ops = []
    n = len(rp)
    i = 0
    # leading inserted bases become soft clips
    while i < n and rp[i] < 0:
        i += 1
    if i:
        ops.append((i, 4))
    j = n
    while j > i and rp[j - 1] < 0:
        j -= 1
    start = int(rp[i])
    prev = None
    for k in range(i, j):
        if rp[k] < 0:
            op = 1
        else:
            if prev is not None and rp[k] > prev + 1:
                ops.append((int(rp[k] - prev - 1), 2))
            prev = int(rp[k])
            op = 0
        if ops and ops[-1][1] == op:
            ops[-1] = (ops[-1][0] + 1, op)
        else:
            ops.append((1, op))
    if j < n:
        ops.append((n - j, 4))
    return np.array([(length << 4) | op for length, op in ops], dtype=np.uint32), start


def _revcomp(codes: np.ndarray) -> np.ndarray:
    comp = np.zeros(256, dtype=np.uint8)
    comp[list(b"ACGTN")] = list(b"TGCAN")
    return comp[codes[::-1]]


def _simulate(rng, seqs):
    from .core.formats.alignment.batch import REF_CONSUMING, encode_seq

    truth = {}
    rows = []  # (ref_id, pos, end, flag, mapq, mate_ref, mate_pos, tlen, name, cigar, seq, qual, nm)
    qual_profile = np.clip(38 - (np.arange(READ_LENGTH) / READ_LENGTH) ** 3 * 14, 2, 41)
    n_pair = 0
    for ref_id, (name, length) in enumerate(CONTIGS):
        ref = seqs[name]
        variants = _variants(rng, ref)
        truth[name] = variants
        haps = [_haplotype(ref, variants, h) for h in (0, 1)]
        n_frag = length * COVERAGE // (2 * READ_LENGTH)
        for _ in range(n_frag):
            hap_seq, hap_rp = haps[int(rng.integers(0, 2))]
            insert = int(np.clip(rng.normal(320, 40), 2 * READ_LENGTH + 10, 600))
            f0 = int(rng.integers(0, len(hap_seq) - insert))
            n_pair += 1
            qname = f"demo:{n_pair:06d}".encode()
            frag_rp = hap_rp[f0: f0 + insert]
            frag_seq = hap_seq[f0: f0 + insert]
            reads = []
            for mate, (a, b, reverse) in enumerate(((0, READ_LENGTH, False), (insert - READ_LENGTH, insert, True))):
                seq = frag_seq[a:b].copy()
                rp = frag_rp[a:b]
                qual = np.clip(qual_profile + rng.normal(0, 3, READ_LENGTH), 2, 41).astype(np.uint8)
                if reverse:
                    qual = qual[::-1]
                err = rng.random(READ_LENGTH) < 0.004 * (1 + 3 * (qual < 20))
                if err.any():
                    shift = rng.integers(1, 4, int(err.sum()))
                    idx = np.searchsorted(_BASES, seq[err])
                    seq[err] = _BASES[(idx + shift) % 4]
                    qual[err] = np.minimum(qual[err], 12)
                cigar, start = _cigar_from_refpos(rp)
                span = int(((cigar >> 4)[REF_CONSUMING[cigar & 15]]).sum())
                aligned = rp >= 0
                ops, lens = cigar & 15, cigar >> 4
                nm = int((seq[aligned] != ref[rp[aligned]]).sum()) + int(lens[(ops == 1) | (ops == 2)].sum())
                reads.append([start, start + span, reverse, cigar, seq, qual, nm])
            u = rng.random()
            mapq = 60 if u > 0.03 else (0 if u < 0.01 else int(rng.integers(1, 30)))
            dup = rng.random() < 0.02
            unmapped_mate = 1 if rng.random() < 0.01 else -1
            (s1, e1, _, c1, q1s, q1, nm1), (s2, e2, _, c2, q2s, q2, nm2) = reads
            tlen = max(e1, e2) - min(s1, s2)
            for mate, (s, e, rev, cig, sq, ql, nm) in enumerate(reads):
                other = reads[1 - mate]
                flag = 0x1 | (0x40 if mate == 0 else 0x80)
                if dup:
                    flag |= 0x400
                this_unmapped = unmapped_mate == mate
                mate_unmapped = unmapped_mate == 1 - mate
                if this_unmapped:
                    flag |= 0x4
                    if other[2]:
                        flag |= 0x20
                    pos, end, cig_out, mq = other[0], other[0] + 1, np.zeros(0, np.uint32), 0
                    seq_out = _revcomp(sq) if rev else sq
                    q_out = ql[::-1] if rev else ql
                    rows.append((ref_id, pos, end, flag, mq, ref_id, other[0], 0, qname, cig_out, seq_out, q_out, None))
                    continue
                if mate_unmapped:
                    flag |= 0x8
                    mpos, t = s, 0
                else:
                    flag |= 0x2
                    if other[2]:
                        flag |= 0x20
                    mpos, t = other[0], (tlen if s <= other[0] and mate == 0 or s < other[0] else -tlen)
                if rev:
                    flag |= 0x10
                rows.append((ref_id, s, e, flag, mapq, ref_id, mpos, t, qname, cig, sq, ql, nm))
    # a few unplaced unmapped pairs at the end of the file
    for k in range(40):
        n_pair += 1
        qname = f"demo:{n_pair:06d}".encode()
        for mate in (0, 1):
            sq = _BASES[rng.integers(0, 4, READ_LENGTH)]
            ql = rng.integers(2, 30, READ_LENGTH).astype(np.uint8)
            flag = 0x1 | 0x4 | 0x8 | (0x40 if mate == 0 else 0x80)
            rows.append((-1, -1, 0, flag, 0, -1, -1, 0, qname, np.zeros(0, np.uint32), sq, ql, None))
    return rows, truth, encode_seq


def _to_batch(rows, encode_seq):
    from .core.formats.alignment.aux import encode_aux
    from .core.formats.alignment.batch import batch_from_columns
    from .core.index.binning import reg2bin

    placed = [r for r in rows if r[0] >= 0]
    unplaced = [r for r in rows if r[0] < 0]
    placed.sort(key=lambda r: (r[0], r[1], r[8], r[3]))
    rows = placed + unplaced
    pos = np.array([r[1] for r in rows], dtype=np.int64)
    end = np.array([r[2] for r in rows], dtype=np.int64)
    bins = np.where(pos >= 0, reg2bin(np.maximum(pos, 0), np.maximum(end, 1)), 4680)
    aux = []
    for r in rows:
        items = [("RG", "Z", "demo")]
        if r[12] is not None:
            items.insert(0, ("NM", "C", int(r[12])))
        aux.append(encode_aux(items))
    return batch_from_columns(
        ref_id=[r[0] for r in rows], pos=pos, end=end, mapq=[r[4] for r in rows], bin=bins,
        flag=[r[3] for r in rows], next_ref_id=[r[5] for r in rows], next_pos=[r[6] for r in rows],
        tlen=[r[7] for r in rows], name=[r[8] for r in rows], cigar=[r[9] for r in rows],
        seq=[encode_seq(r[10].tobytes()) for r in rows], qual=[r[11] for r in rows], aux=aux,
    )


def _write_all(root: Path) -> None:
    from .core.formats.alignment.bam import BamWriter
    from .core.formats.alignment.header import AlignmentHeader
    from .core.formats.sequence.fasta import write_fasta
    from .tools import run_tool_capture

    rng = np.random.default_rng(SEED)
    seqs = _reference(rng)
    write_fasta(root / "demo_ref.fa", [(n, seqs[n].tobytes().decode()) for n, _ in CONTIGS], line_width=60)
    rows, truth, encode_seq = _simulate(rng, seqs)
    vcf = ["##fileformat=VCFv4.3", "##source=hts_notebook.demo"]
    vcf += [f"##contig=<ID={n},length={l}>" for n, l in CONTIGS]
    vcf.append('##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">')
    vcf.append("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tdemo")
    for name, _ in CONTIGS:
        for pos, r, a, gt in truth[name]:
            vcf.append(f"{name}\t{pos + 1}\t.\t{r.decode()}\t{a.decode()}\t.\tPASS\t.\tGT\t{gt[0]}/{gt[1]}")
    (root / "demo_truth.vcf").write_text("\n".join(vcf) + "\n")
    header_text = "@HD\tVN:1.6\tSO:coordinate\n" + "".join(f"@SQ\tSN:{n}\tLN:{l}\n" for n, l in CONTIGS)
    header_text += "@RG\tID:demo\tSM:demo\tPL:ILLUMINA\n@PG\tID:hts_notebook.demo\tPN:hts_notebook\tVN:" + DEMO_VERSION + "\n"
    header = AlignmentHeader(header_text, list(CONTIGS))
    batch = _to_batch(rows, encode_seq)
    w = BamWriter(str(root / "demo_reads.bam"), header)
    w.write_batch(batch)
    w.close()
    rc, _, err = run_tool_capture("index", [str(root / "demo_reads.bam")])
    if rc:
        raise RuntimeError(f"indexing the demo BAM failed: {err}")
