"""SNP calling from alignments: genotype likelihoods, genotypes and QUAL as a VCF Zarr dataset.

:func:`call` walks a region in windows.  For every input file (one sample
per file, named by the first ``@RG SM``, else the file name):

1. **Reads** -- the pileup helpers (:func:`.pileup.select_reads`,
   :func:`.pileup.engine_reads`) apply ``bcftools mpileup``'s read filters:
   FLAG filter (UNMAP SECONDARY QCFAIL DUP), MAPQ ``>= min_mapping_quality``,
   paired reads that are not properly paired are skipped, at most
   ``max_depth`` reads per position (bcftools' ``-d 250``), and overlapping
   mates get htslib's quality adjustment.
2. **Observations** -- every aligned base (deletions and skips are not SNP
   evidence) becomes ``(position, base, quality, strand)``, vectorised over
   all reads with :func:`.kernels.pileup.pileup_events`.  Its quality is
   formed as bcftools mpileup does: the base quality, lowered to a neighbour
   base's quality + ``delta_base_quality`` (30) when that is smaller; bases
   below ``min_base_quality`` are dropped (the neighbour rule sees the
   overlap-adjusted qualities only from the later mate's start on, as htslib
   adjusts a pair when that mate enters the pileup); then ``min(q, max_base_quality
   (60), min(MAPQ, 60))`` (MAPQ 255 counts as 20) clamped to ``[4, 63]``.
   ``=`` in SEQ stands for the reference base.
3. **Sites** -- positions whose reference base is A, C, G or T and where
   some sample has a non-reference A/C/G/T observation.  Alleles are chosen
   as ``bcf_call_combine`` does: per sample, each base's quality sum is
   divided by the sample's total; summed over samples the non-reference
   bases with a non-zero sum become candidate ALTs in decreasing order
   (ties: higher base code first).
4. **Likelihoods** -- :mod:`.kernels.genotype` (htslib's correlated-error
   model) gives each (site, sample) a ``5 x 5`` phred matrix; pileups deeper
   than 255 observations are randomly subsampled to 255 (seeded; bcftools
   shuffles too).
5. **Genotypes** -- per sample, the genotype over the candidate alleles
   maximising ``log L + log prior`` with a simple documented prior
   (``prior`` = theta, bcftools call's ``-P`` default 1.1e-3): ``0/0`` 1,
   ``0/a`` theta, ``a/a`` theta / 2, ``a/b`` (two different ALTs) theta^2.
   Samples are independent (no cohort allele-frequency model, unlike
   ``bcftools call -m``); a sample without observations gets ``./.``.
   ``QUAL`` = ``-10 log10 P(every sample 0/0 | data)`` under that prior.
6. **Output** -- with ``variants_only`` (default) sites where some sample's
   genotype is not ``0/0``; ALT alleles not used by any genotype are dropped
   (``bcftools call`` trims them too) and ``PL`` is recomputed over the kept
   alleles exactly as bcftools writes it (min 0, ``+0.499`` rounding, cap
   255).  FORMAT ``DP`` counts the observations passing the base-quality
   filter (any base, as bcftools' FORMAT/DP), ``AD`` those of each allele;
   INFO ``DP`` the reads with a base at the site before that filter.

Not done (documented differences from ``bcftools mpileup | bcftools call
-m``): no BAQ (bcftools' default caps qualities near indels by BAQ: compare
with ``bcftools mpileup -B``), no indel calling, no MAPQ adjustment (``-C``),
no INFO annotations beyond ``DP``, and the prior above instead of the
multi-sample allele-frequency model.
"""
from __future__ import annotations

import math
import os

import numpy as np

from .errors import RegionError
from .formats.alignment.batch import ragged_index
from .kernels.genotype import MAX_OBS, encode_observations, genotype_phred, pl_from_phred
from .kernels.pileup import base_category, pileup_events
from .pileup import DEFAULT_FLAG_FILTER, engine_reads, select_reads
from .region import parse_region

__all__ = ["call", "call_batch", "CallOptions", "observations", "call_header"]

_REVERSE = 0x10
_LN10 = math.log(10.0)
_ASCII_TO_BASE = np.full(256, 4, dtype=np.int8)
for _i, _c in enumerate("ACGT"):
    _ASCII_TO_BASE[ord(_c)] = _i
    _ASCII_TO_BASE[ord(_c.lower())] = _i
_BASE_TEXT = np.array(list("ACGTN"), dtype=object)


class CallOptions:
    """Settings of :func:`call` (names and defaults as the keyword arguments there)."""

    def __init__(self, *, min_base_quality=1, min_mapping_quality=0, max_base_quality=60,
                 delta_base_quality=30, cap_mapping_quality=60, max_depth=250, flag_filter=DEFAULT_FLAG_FILTER,
                 ignore_overlaps=True, prior=1.1e-3, variants_only=True, window=1_000_000, backend="jax",
                 seed=0):
        self.min_base_quality = int(min_base_quality)
        self.min_mapping_quality = int(min_mapping_quality)
        self.max_base_quality = int(max_base_quality)
        self.delta_base_quality = int(delta_base_quality)
        self.cap_mapping_quality = int(cap_mapping_quality)
        self.max_depth = int(max_depth)
        self.flag_filter = int(flag_filter)
        self.ignore_overlaps = bool(ignore_overlaps)
        self.prior = float(prior)
        self.variants_only = bool(variants_only)
        self.window = int(window)
        self.backend = backend
        self.seed = int(seed)
        if not 0.0 < self.prior < 0.5:
            raise ValueError(f"prior must be in (0, 0.5), got {prior}")


def _eager(batch):
    """Plain :class:`AlignmentBatch` with every field decoded (the window needs them all)."""
    from dataclasses import fields

    from .formats.alignment.batch import AlignmentBatch

    if type(batch) is AlignmentBatch:
        return batch
    return AlignmentBatch(**{f.name: np.asarray(getattr(batch, f.name)) for f in fields(AlignmentBatch)})


def observations(reader, contig: str, start: int, stop: int, ref_ascii: np.ndarray, opts: CallOptions) -> dict:
    """Per-base observations of one file over ``[start, stop)`` (steps 1-2 of the module docstring).

    Parameters
    ----------
    reader : AlignmentFile
    contig : str
    start, stop : int
        0-based half-open window.
    ref_ascii : (stop - start,) uint8
        Reference bases of the window.
    opts : CallOptions

    Returns
    -------
    dict of (k,) arrays
        ``pos`` (int64, 0-based), ``base`` (int8, 0..4 = A C G T N), ``qual``
        (int16, final observation quality 4..63), ``strand`` (int8) -- only
        observations passing the base-quality filter -- and ``depth``
        ``(stop - start,)`` int32: reads with a base at each position before
        that filter.
    """
    length = stop - start
    batch = _eager(reader.fetch_batch((contig, start, stop)))
    rid = reader.header.ref_id(contig)
    empty = dict(pos=np.zeros(0, np.int64), base=np.zeros(0, np.int8), qual=np.zeros(0, np.int16),
                 strand=np.zeros(0, np.int8), depth=np.zeros(length, np.int32))
    if not len(batch):
        return empty
    cand = select_reads(batch, rid, flag_filter=opts.flag_filter, min_mapping_quality=opts.min_mapping_quality,
                        ignore_orphans=True)
    kept, qual = engine_reads(batch, cand, max_depth=opts.max_depth, ignore_overlaps=opts.ignore_overlaps)
    rows = np.flatnonzero(kept)
    if not len(rows):
        return empty
    sub = batch.take(rows)
    sub_qual = qual[ragged_index(batch.seq_offsets, rows)[0]] if qual is not batch.qual else sub.qual
    sub_qual = np.asarray(sub_qual, dtype=np.uint8)
    ev = pileup_events(sub.pos, sub.cigar, sub.cigar_offsets, sub.seq, sub.seq_offsets, sub_qual,
                       reverse=(sub.flag & _REVERSE) != 0, deletions=False, insertions=False)
    rel = ev["ref_pos"] - start
    inside = (rel >= 0) & (rel < length)
    read, qpos, rel = ev["read"][inside], ev["qpos"][inside], rel[inside]
    depth = np.bincount(rel, minlength=length).astype(np.int32)
    seq_off = np.asarray(sub.seq_offsets, dtype=np.int64)
    qlen = np.diff(seq_off)[read]
    has = qpos < qlen
    flat = np.where(has, seq_off[read] + qpos, 0)
    seq = np.asarray(sub.seq, dtype=np.uint8)
    if len(seq):
        code = np.where(has, seq[flat] & 15, 15)
        q = np.where(has, sub_qual[flat], 0).astype(np.int64)
        big = 1 << 20
        # htslib adjusts overlapping mates when the later mate enters the pileup: at columns left of
        # the later mate's start the earlier mate's neighbours still carry their original qualities
        lo_i, hi_i = np.maximum(flat - 1, 0), np.minimum(flat + 1, len(seq) - 1)
        q_lo, q_hi = sub_qual[lo_i].astype(np.int64), sub_qual[hi_i].astype(np.int64)
        if sub_qual is not sub.qual:
            tweak_at = np.where(np.asarray(sub.next_ref_id) == np.asarray(sub.ref_id),
                                np.maximum(sub.pos, sub.next_pos), sub.pos)
            early = (rel + start) < tweak_at[read]
            orig = np.asarray(sub.qual, dtype=np.uint8)
            early &= (orig[lo_i] != sub_qual[lo_i]) | (orig[hi_i] != sub_qual[hi_i])
            if early.any():
                early = _before_mate_push(batch, cand, rows, read, rel + start, tweak_at, early)
            q_lo = np.where(early, orig[lo_i], q_lo)
            q_hi = np.where(early, orig[hi_i], q_hi)
        qm = np.where(has & (qpos > 0), q_lo, big)
        qp = np.where(has & (qpos + 1 < qlen), q_hi, big)
        q = np.minimum(q, np.minimum(qm, qp) + opts.delta_base_quality)
    else:
        code = np.full(len(read), 15)
        q = np.zeros(len(read), dtype=np.int64)
    base = base_category(code)
    base = np.where(code == 0, _ASCII_TO_BASE[ref_ascii[rel]], base).astype(np.int8)  # '=' is the reference
    ok = q >= opts.min_base_quality
    mapq = np.asarray(sub.mapq, dtype=np.int64)[read]
    mapq = np.minimum(np.where(mapq == 255, 20, mapq), opts.cap_mapping_quality)
    q = np.clip(np.minimum(np.minimum(q, opts.max_base_quality), mapq), 4, 63)
    strand = ((sub.flag[read] & _REVERSE) != 0).astype(np.int8)
    return dict(pos=(rel[ok] + start).astype(np.int64), base=base[ok], qual=q[ok].astype(np.int16),
                strand=strand[ok], depth=depth)


def _before_mate_push(batch, cand, rows, read, col, tweak_at, early):
    """Refine ``early``: is column ``col`` emitted before the later mate is pushed?

    htslib emits column ``c`` right after pushing the first read that starts
    beyond ``c``; if that read is the later mate, the pair was already
    adjusted when column ``c`` is seen.
    """
    cand_idx = np.flatnonzero(cand)
    cand_pos = batch.pos[cand_idx]
    out = early.copy()
    for i in np.flatnonzero(early).tolist():
        k = int(np.searchsorted(cand_pos, col[i], side="right"))
        if k >= len(cand_idx) or cand_pos[k] != tweak_at[read[i]]:
            continue
        a, b = cand_idx[k], rows[read[i]]
        if (batch.name[batch.name_offsets[a]:batch.name_offsets[a + 1]].tobytes()
                == batch.name[batch.name_offsets[b]:batch.name_offsets[b + 1]].tobytes()):
            out[i] = False
    return out


def _sample_name(reader) -> str:
    for line in reader.header.lines("RG"):
        for tag in line.split("\t")[1:]:
            if tag.startswith("SM:"):
                return tag[3:]
    return os.path.basename(str(reader.path))


def call_header(contigs: dict, samples: list, *, reference=None):
    """The VCF header :func:`call` writes (GT, PL, DP, AD; INFO/DP)."""
    from .formats.variant.header import VariantHeader

    h = VariantHeader("VCFv4.2")
    h.add_meta("##source=hts_notebook call")
    if reference is not None:
        h.add_meta(f"##reference=file://{reference}")
    for name, length in contigs.items():
        h.add_contig(name, length)
    h.add_info("DP", 1, "Integer", "Raw read depth")
    h.add_format("GT", 1, "String", "Genotype")
    h.add_format("PL", "G", "Integer", "List of Phred-scaled genotype likelihoods")
    h.add_format("DP", 1, "Integer", "Number of high-quality bases")
    h.add_format("AD", "R", "Integer", "Allelic depths (high-quality bases)")
    for s in samples:
        h.add_sample(s)
    return h


def _genotype_tables(n_alleles: int):
    hi, lo = [], []
    for i in range(n_alleles):
        for j in range(i + 1):
            hi.append(i)
            lo.append(j)
    return np.array(lo), np.array(hi)


def _call_window(obs_list, ref_ascii, start, opts: CallOptions, rng):
    """Sites, alleles, genotypes and FORMAT values of one window (steps 3-6)."""
    s_n = len(obs_list)
    length = len(ref_ascii)
    ref4 = _ASCII_TO_BASE[ref_ascii].astype(np.int64)
    ad_all = np.zeros((length, s_n, 5), dtype=np.int32)
    qs_all = np.zeros((length, s_n, 4), dtype=np.int64)
    for s, ob in enumerate(obs_list):
        rel = ob["pos"] - start
        ad_all[:, s, :] = np.bincount(rel * 5 + ob["base"], minlength=length * 5).reshape(length, 5)
        acgt = ob["base"] < 4
        qs_all[:, s, :] = np.bincount(rel[acgt] * 4 + ob["base"][acgt], weights=ob["qual"][acgt],
                                      minlength=length * 4).reshape(length, 4).astype(np.int64)
    alt_seen = ad_all[:, :, :4].sum(1)
    ref_ok = ref4 < 4
    nonref = alt_seen.copy()
    nonref[np.arange(length)[ref_ok], ref4[ref_ok]] = 0
    site_rel = np.flatnonzero(ref_ok & (nonref.sum(1) > 0))
    n_sites = len(site_rel)
    if not n_sites:
        return None
    # ---- alleles, as bcf_call_combine (float32 normalised quality sums)
    qs = qs_all[site_rel].astype(np.float32)                       # (n, S, 4)
    tot = qs.sum(-1, keepdims=True)
    norm = np.where(tot > 0, qs / np.where(tot > 0, tot, 1), np.float32(0)).astype(np.float32)
    qsum = norm.sum(1)                                              # (n, 4)
    bases = np.arange(4)
    order = np.lexsort((np.broadcast_to(bases, qsum.shape), qsum), axis=-1)[:, ::-1]  # desc, ties: higher first
    qsorted = np.take_along_axis(qsum, order, -1)
    sref = ref4[site_rel]
    is_alt = (order != sref[:, None]) & (qsorted > 0)
    alts = np.full((n_sites, 3), -1, dtype=np.int64)
    rank = np.cumsum(is_alt, axis=1) - 1
    r_i, c_i = np.nonzero(is_alt & (rank < 3))
    alts[r_i, rank[r_i, c_i]] = order[r_i, c_i]
    cand = np.concatenate([sref[:, None], alts], axis=1)             # (n, 4) base of each allele, -1 pads
    # ---- likelihoods for the (site, sample) pileups that have observations
    sel_mask = np.zeros(length, dtype=bool)
    sel_mask[site_rel] = True
    site_of = np.full(length, -1, dtype=np.int64)
    site_of[site_rel] = np.arange(n_sites)
    phred = np.zeros((n_sites, s_n, 5, 5), dtype=np.float32)
    has_obs = np.zeros((n_sites, s_n), dtype=bool)
    for s, ob in enumerate(obs_list):
        rel = ob["pos"] - start
        m = sel_mask[rel]
        if not m.any():
            continue
        sidx = site_of[rel[m]]
        words = encode_observations(ob["base"][m], ob["qual"][m], ob["strand"][m])
        cnt = np.bincount(sidx, minlength=n_sites)
        if cnt.max() > MAX_OBS:  # subsample, as bcftools' ks_shuffle (seeded here)
            perm = rng.permutation(len(sidx))
            sidx, words = sidx[perm], words[perm]
        o = np.argsort(sidx, kind="stable")
        sidx, words = sidx[o], words[o]
        first = np.concatenate([[0], np.cumsum(cnt)[:-1]])
        within = np.arange(len(sidx)) - first[sidx]
        keep = within < MAX_OBS
        present = np.flatnonzero(cnt > 0)
        row_of = np.full(n_sites, -1, dtype=np.int64)
        row_of[present] = np.arange(len(present))
        mat = np.zeros((len(present), int(min(cnt.max(), MAX_OBS))), dtype=np.uint16)
        mat[row_of[sidx[keep]], within[keep]] = words[keep]
        phred[present, s] = genotype_phred(mat, backend=opts.backend)
        has_obs[present, s] = True
    # ---- genotypes with the prior
    lo, hi = _genotype_tables(4)
    ga, gb = cand[:, lo], cand[:, hi]                                # (n, 10) base per genotype allele
    valid_g = (ga >= 0) & (gb >= 0)
    flat_idx = np.where(valid_g, ga * 5 + gb, 0)
    lp = np.log(opts.prior)
    prior = np.where(hi == 0, 0.0, np.where(lo == 0, lp, np.where(lo == hi, lp - math.log(2.0), 2 * lp)))
    ph = phred.reshape(n_sites, s_n, 25)
    ll = -np.take_along_axis(ph, np.broadcast_to(flat_idx[:, None, :], (n_sites, s_n, 10)), -1) * (_LN10 / 10.0)
    score = np.where(valid_g[:, None, :], ll.astype(np.float64) + prior, -np.inf)
    best = np.argmax(score, axis=-1)                                 # (n, S)
    mx = score.max(-1, keepdims=True)
    lse = mx[..., 0] + np.log(np.exp(score - mx).sum(-1))
    log_p00 = np.where(has_obs, score[..., 0] - lse, 0.0)
    qual = -10.0 / _LN10 * log_p00.sum(1)
    qual = np.maximum(qual, 0.0)
    gt = np.stack([lo[best], hi[best]], axis=-1)                     # allele indices into cand
    gt = np.where(has_obs[..., None], gt, -1)
    variant = (gt > 0).any(axis=(1, 2))
    keep_site = variant if opts.variants_only else np.ones(n_sites, dtype=bool)
    # ---- trim unused ALTs, renumber, PL over the kept alleles
    used = np.zeros((n_sites, 4), dtype=bool)
    used[:, 0] = True
    for a in range(1, 4):
        used[:, a] = (gt == a).any(axis=(1, 2))
    if not opts.variants_only:
        used |= cand >= 0
    new_index = np.cumsum(used, axis=1) - 1
    final = np.full((n_sites, 4), -1, dtype=np.int64)
    r_i, c_i = np.nonzero(used)
    final[r_i, new_index[r_i, c_i]] = cand[r_i, c_i]
    gt_new = np.where(gt >= 0, np.take_along_axis(new_index[:, None, :], np.maximum(gt, 0).reshape(n_sites, 1, -1),
                                                  -1).reshape(gt.shape), -1)
    pl = pl_from_phred(phred, np.broadcast_to(final[:, None, :], (n_sites, s_n, 4)))   # (n, S, 10)
    ad = np.take_along_axis(ad_all[site_rel], np.broadcast_to(np.maximum(final, 0)[:, None, :], (n_sites, s_n, 4)), -1)
    ad = np.where(final[:, None, :] >= 0, ad, -2)
    dp = ad_all[site_rel].sum(-1).astype(np.int32)                 # FORMAT/DP: bases passing the filter
    raw = np.stack([ob["depth"][site_rel] for ob in obs_list], axis=1).sum(1).astype(np.int32)
    k = np.flatnonzero(keep_site)
    return dict(pos=site_rel[k] + start, alleles=final[k], qual=qual[k], gt=gt_new[k], pl=pl[k], ad=ad[k], dp=dp[k],
                raw_dp=raw[k])


def call_batch(readers_or_paths, reference, region=None, **kwargs):
    """Like :func:`call` but returns ``(VariantHeader, VariantBatch)`` (what ``write_vcf`` takes)."""
    from .formats.sequence.fasta import FastaFile
    from .formats.variant.batch import INT_FILL, VariantBatch
    from .pileup import _as_readers

    opts = CallOptions(**kwargs)
    readers, _ = _as_readers(readers_or_paths if isinstance(readers_or_paths, (list, tuple))
                             else [readers_or_paths])
    if not readers:
        raise ValueError("call needs at least one alignment file")
    fasta = reference if hasattr(reference, "fetch_array") else FastaFile(os.fspath(reference))
    contigs = readers[0].contigs
    samples = [_sample_name(r) for r in readers]
    seen = {}
    for i, s in enumerate(samples):  # duplicate sample names get a suffix
        if s in seen:
            samples[i] = f"{s}.{i}"
        seen[s] = i
    header = call_header(contigs, samples, reference=getattr(fasta, "filename", None))
    if region is None:
        spans = [(c, 0, int(length)) for c, length in contigs.items()]
    else:
        reg = parse_region(region, contigs)
        stop = contigs[reg.contig] if reg.stop is None else min(int(reg.stop), contigs[reg.contig])
        if reg.start > stop:
            raise RegionError(f"region {region!s} starts after the end of {reg.contig}", field="start")
        spans = [(reg.contig, int(reg.start), int(stop))]
    rng = np.random.default_rng(opts.seed)
    parts = []
    contig_index = {c: i for i, c in enumerate(contigs)}
    for contig, cstart, cstop in spans:
        if contig not in fasta:
            raise RegionError(f"contig {contig!r} is not in the reference", field="contig")
        # per-window tables are (window x samples x 5): keep them near 10^7 cells
        step = max(10_000, min(opts.window, 2_000_000 // len(readers)))
        for ws in range(cstart, cstop, step):
            we = min(ws + step, cstop)
            ref = np.asarray(fasta.fetch_array(contig=contig, start=ws, stop=we), dtype=np.uint8)
            if len(ref) < we - ws:  # reference shorter than the BAM header says: pad with N
                ref = np.concatenate([ref, np.full(we - ws - len(ref), ord("N"), np.uint8)])
            obs = [observations(r, contig, ws, we, ref, opts) for r in readers]
            res = _call_window(obs, ref, ws, opts, rng)
            if res is not None and len(res["pos"]):
                res["contig"] = contig_index[contig]
                parts.append(res)
    s_n = len(readers)
    if parts:
        pos = np.concatenate([p["pos"] for p in parts])
        contig_arr = np.concatenate([np.full(len(p["pos"]), p["contig"], np.int32) for p in parts])
        alleles = np.concatenate([p["alleles"] for p in parts])
        qual = np.concatenate([p["qual"] for p in parts])
        gt = np.concatenate([p["gt"] for p in parts])
        pl = np.concatenate([p["pl"] for p in parts])
        ad = np.concatenate([p["ad"] for p in parts])
        dp = np.concatenate([p["dp"] for p in parts])
        raw_dp = np.concatenate([p["raw_dp"] for p in parts])
    else:
        pos = np.zeros(0, np.int64)
        contig_arr = np.zeros(0, np.int32)
        alleles = np.zeros((0, 4), np.int64)
        qual = np.zeros(0)
        gt = np.zeros((0, s_n, 2), np.int64)
        pl = np.zeros((0, s_n, 10), np.int32)
        ad = np.zeros((0, s_n, 4), np.int32)
        dp = np.zeros((0, s_n), np.int32)
        raw_dp = np.zeros(0, np.int32)
    n = len(pos)
    n_all = (alleles >= 0).sum(1)
    width_a = max(int(n_all.max()) if n else 1, 1)
    width_g = width_a * (width_a + 1) // 2
    flat = _BASE_TEXT[alleles[alleles >= 0]]
    offsets = np.concatenate([[0], np.cumsum(n_all)])
    pl = pl[:, :, :width_g].astype(np.int32)
    n_g = n_all * (n_all + 1) // 2
    pl = np.where(np.arange(width_g)[None, None, :] < n_g[:, None, None], pl, INT_FILL)
    ad = ad[:, :, :width_a].astype(np.int32)
    batch = VariantBatch(
        contig=contig_arr, position=pos + 1, stop=pos + 1, id=["."] * n, allele=flat, allele_offset=offsets,
        quality=np.round(qual, 2).astype(np.float32), filters=np.zeros((n, 1), bool), filter_ids=["PASS"],
        filter_missing=np.ones(n, bool), info={"DP": raw_dp.astype(np.int32)}, info_present={"DP": np.ones(n, bool)},
        format={"PL": pl, "DP": dp, "AD": ad}, format_keys=["GT:PL:DP:AD"] * n,
        genotype=gt.astype(np.int8), phased=np.zeros((n, s_n), bool), samples=samples,
        info_keys=["DP"] * n)
    return header, batch


def call(readers_or_paths, reference, region=None, *, min_base_quality: int = 1, min_mapping_quality: int = 0,
         max_base_quality: int = 60, delta_base_quality: int = 30, max_depth: int = 250,
         flag_filter: int = DEFAULT_FLAG_FILTER, ignore_overlaps: bool = True, prior: float = 1.1e-3,
         variants_only: bool = True, backend: str = "jax", window: int = 1_000_000, seed: int = 0):
    """Call SNPs (diploid) from one or more BAM/SAM files against a reference.

    See the module docstring for the model and how it differs from
    ``bcftools mpileup | bcftools call -m``.

    Parameters
    ----------
    readers_or_paths : AlignmentFile or path, or a list of them
        One sample per file.
    reference : FastaFile or path
        Indexed FASTA of the reference the reads are aligned to.
    region : str, Region or tuple, optional
        ``"chr1:100-200"`` (1-based closed) or ``(contig, start, stop)``
        0-based; default every contig of the first file's header.
    min_base_quality : int
        Skip bases whose (neighbour-capped) quality is below this [1, as
        bcftools 1.16 ``-Q``].
    min_mapping_quality : int
        Skip reads with MAPQ below this [0].
    max_base_quality : int
        Cap base qualities [60, ``--max-BQ``].
    delta_base_quality : int
        Cap a base quality at a neighbour's quality + this [30, ``--delta-BQ``].
    max_depth : int
        Reads per position per file [250, ``-d``].
    flag_filter : int
        Skip reads with any of these FLAG bits [0x704].
    ignore_overlaps : bool
        htslib's overlapping-mate quality adjustment [True].
    prior : float
        Heterozygosity theta of the genotype prior [1.1e-3].
    variants_only : bool
        Keep only sites with a non-reference genotype [True]; False keeps
        every site with a non-reference observation.
    backend : {"jax", "numpy"}
        Genotype-likelihood kernel.
    window : int
        Bases processed at once (lowered for many samples so the per-window
        tables stay near 10^7 cells).
    seed : int
        Seed of the subsampling of pileups deeper than 255.

    Returns
    -------
    xarray.Dataset
        sgkit / VCF Zarr names: ``variant_contig``, ``variant_position``
        (1-based), ``variant_allele``, ``variant_quality``, ``call_genotype``
        (``-1`` for samples without data), ``call_genotype_phased``,
        ``call_PL``, ``call_DP``, ``call_AD``, ``variant_DP``, ``sample_id``,
        ``contig_id`` ...; ``attrs`` ``region``, ``source``.
    """
    from .dataset.variant import variant_dataset

    header, batch = call_batch(readers_or_paths, reference, region, min_base_quality=min_base_quality,
                               min_mapping_quality=min_mapping_quality, max_base_quality=max_base_quality,
                               delta_base_quality=delta_base_quality, max_depth=max_depth,
                               flag_filter=flag_filter, ignore_overlaps=ignore_overlaps, prior=prior,
                               variants_only=variants_only, backend=backend, window=window, seed=seed)
    paths = readers_or_paths if isinstance(readers_or_paths, (list, tuple)) else [readers_or_paths]
    source = [str(getattr(p, "path", p)) for p in paths]
    return variant_dataset(batch, header, region=str(region) if region is not None else None,
                           source=source[0] if len(source) == 1 else ",".join(source))
