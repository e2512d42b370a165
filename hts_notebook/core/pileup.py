"""Pileups and coverage over a region: read filtering, overlap handling, counting.

:func:`pileup` follows htslib's pileup engine as pysam's ``AlignmentFile.pileup``
drives it with its default ``stepper="samtools"`` (no reference, so no BAQ):

1. **Read filters** (pysam's stepper, samtools mpileup's defaults): skip reads
   with any ``flag_filter`` bit (default UNMAP|SECONDARY|QCFAIL|DUP = 0x704),
   reads lacking any ``flag_require`` bit (we need *all* the bits, as
   ``samtools view -f``; pysam accepts any one of them), MAPQ below
   ``min_mapping_quality``, and with ``ignore_orphans`` paired reads that are
   not properly paired.  Unmapped reads never enter a pileup.
2. **Depth cap** (``max_depth``, htslib ``bam_plp_set_maxcnt``): a read is dropped
   when it starts at the same position as the read before it and the engine
   already holds ``max_depth`` reads that end at or after that position.  So,
   exactly as in htslib, columns can exceed the cap (reads starting earlier are
   never dropped).  ``max_depth=0`` means no cap (pysam instead keeps htslib's
   default of 8000 for 0).
3. **Overlapping mates** (``ignore_overlaps``, htslib ``overlap_push`` /
   ``tweak_overlap_quality``): when the second read of a properly paired
   template arrives while its mate is still in the engine, the bases at the
   reference positions both cover are compared: equal bases give the sum of
   the two qualities (capped at 200) to one mate and 0 to the other; different
   bases keep 80% of the higher quality and set the lower one to 0 (equal
   qualities: the mate chosen by a hash of the read name keeps 80%).  The mate
   whose quality became 0 then fails any ``min_base_quality > 0``.
4. **Base filter**: a base counts when its quality is ``>= min_base_quality``
   (default 13); a deletion uses the quality of the next base of the read,
   as htslib and pysam do (so deletions are filtered too).

Counts are per position and ``base`` (``A C G T N del ins``): ``ins`` counts
reads, counted at that column, whose next CIGAR operation is an insertion
(samtools mpileup's ``+N`` marks).  ``position_depth`` = A+C+G+T+N+del, which
equals pysam's ``PileupColumn.get_num_aligned()`` except that pysam also
counts reads with a reference skip (``N``) over the column.

:func:`count_coverage` reproduces pysam's ``AlignmentFile.count_coverage``,
which does **not** use the pileup engine: every fetched read (no overlap
handling, no depth cap), aligned bases only, A/C/G/T only.
"""
from __future__ import annotations

import heapq
import os

import numpy as np

from .errors import RegionError
from .formats.alignment.batch import ragged_index, row_block
from .kernels.coverage import DEFAULT_EXCLUDE_FLAGS, expand_cigar
from .kernels.pileup import (CATEGORY_OF_CODE, MATCH_OPS, N_BASES, count_aligned_bases, pileup_counts, pileup_counts_numpy,
                             pileup_events, tiled_reads)
from .region import parse_region

__all__ = ["pileup", "coverage", "count_coverage", "select_reads", "engine_reads", "DEFAULT_FLAG_FILTER",
           "name_hash_bit"]

#: UNMAP | SECONDARY | QCFAIL | DUP, as samtools mpileup and pysam
DEFAULT_FLAG_FILTER = DEFAULT_EXCLUDE_FLAGS

_FPAIRED, _FPROPER, _FUNMAP, _FMUNMAP, _FREVERSE = 0x1, 0x2, 0x4, 0x8, 0x10


def _resolve_region(reader, region):
    reg = parse_region(region, reader.contigs)
    length = reader.contigs[reg.contig]
    stop = length if reg.stop is None else reg.stop
    if reg.start > stop:
        raise RegionError(f"region {region!s} starts after the end of {reg.contig}", field="start")
    return reg.contig, int(reg.start), int(stop)


def select_reads(batch, ref_id: int, *, flag_filter: int = DEFAULT_FLAG_FILTER, flag_require: int = 0,
                 min_mapping_quality: int = 0, ignore_orphans: bool = True) -> np.ndarray:
    """Boolean mask of the reads a pileup uses (step 1 of the module docstring)."""
    flag = batch.flag.astype(np.int64)
    keep = (batch.ref_id == ref_id) & ((flag & int(flag_filter)) == 0) & ((flag & _FUNMAP) == 0)
    if flag_require:
        keep &= (flag & int(flag_require)) == int(flag_require)
    if min_mapping_quality:
        keep &= batch.mapq.astype(np.int64) >= int(min_mapping_quality)
    if ignore_orphans:
        keep &= ~(((flag & _FPAIRED) != 0) & ((flag & _FPROPER) == 0))
    return keep


def name_hash_bit(name: bytes) -> int:
    """htslib's choice of mate in overlap handling: bit 0 of Wang(X31(name))."""
    h = name[0] if name else 0
    if h:
        for c in name[1:]:
            h = ((h << 5) - h + c) & 0xFFFFFFFF
    m = 0xFFFFFFFF
    h = (h + (~(h << 15) & m)) & m
    h ^= h >> 10
    h = (h + (h << 3)) & m
    h ^= h >> 6
    h = (h + (~(h << 11) & m)) & m
    h ^= h >> 16
    return h & 1


class _Walker:
    """Steps through the aligned (M = X) bases of one read, as htslib's cigar_iref2iseq_* do."""

    __slots__ = ("ops", "lens", "k", "icig", "iseq", "iref", "ret", "prev_del")

    def __init__(self, ops, lens):
        self.ops, self.lens = ops, lens

    def set(self, pos: int) -> int:
        """Go to reference offset ``pos`` (htslib cigar_iref2iseq_set); returns 0 (match) or -1."""
        self.k = 0
        self.icig = self.iseq = self.iref = 0
        n = len(self.ops)
        while self.k < n:
            op, ln = self.ops[self.k], self.lens[self.k]
            if op in (4, 1):
                self.k += 1
                self.iseq += ln
                continue
            if op in (5, 6):
                self.k += 1
                continue
            if op in (0, 7, 8):
                pos -= ln
                if pos < 0:
                    self.icig = ln + pos
                    self.iseq += self.icig
                    self.iref += self.icig
                    self.ret = 0
                    return 0
                self.k += 1
                self.iseq += ln
                self.iref += ln
                continue
            if op in (2, 3):
                pos = max(pos - ln, 0)
                self.k += 1
                self.iref += ln
                continue
            self.k += 1  # unknown op: skip (htslib errors out)
        self.iseq = -1
        self.ret = -1
        return -1

    def next(self) -> int:
        n = len(self.ops)
        while self.k < n:
            op, ln = self.ops[self.k], self.lens[self.k]
            if op in (0, 7, 8):
                if self.icig >= ln - 1:
                    self.icig = -1
                    self.k += 1
                    continue
                self.iseq += 1
                self.icig += 1
                self.iref += 1
                self.ret = 0
                return 0
            if op in (2, 3):
                self.k += 1
                self.iref += ln
                self.icig = -1
                continue
            if op in (1, 4):
                self.k += 1
                self.iseq += ln
                self.icig = -1
                continue
            self.k += 1
            self.icig = -1
        self.iseq = self.iref = -1
        self.ret = -1
        return -1

    def after_del(self) -> bool:
        return self.k > 0 and self.ops[self.k - 1] == 2


def _tweak_pair(a_pos, a_ops, a_lens, a_seq, a_q, b_pos, b_ops, b_lens, b_seq, b_q, amul: int) -> None:
    """Adjust the qualities of overlapping mates ``a`` (earlier) and ``b`` in place.

    Same walk as htslib's ``tweak_overlap_quality`` (htslib >= 1.13): only
    positions where both reads have an aligned base are compared; bases of one
    read facing a deletion in the other get the mismatch treatment.
    """
    bmul = 1 - amul
    a, b = _Walker(a_ops, a_lens), _Walker(b_ops, b_lens)
    iref = b_pos
    if a.set(iref - a_pos) < 0 or b.set(iref - b_pos) < 0:
        return
    la, lb = len(a_q), len(b_q)
    while True:
        while a.ret >= 0 and a.iref >= 0 and a.iref < iref - a_pos:
            a.next()
        if a.ret < 0:
            return
        while b.ret >= 0 and b.iref >= 0 and b.iref < iref - b_pos:
            b.next()
        if b.ret < 0:
            return
        iref = max(iref, a.iref + a_pos, b.iref + b_pos) + 1
        if a.iref + a_pos != b.iref + b_pos:
            if a.iref + a_pos < b.iref + b_pos and b.after_del():
                while True:
                    if 0 <= a.iseq < la:
                        a_q[a.iseq] = int(a_q[a.iseq] * 0.8) if amul else 0
                    if a.next() < 0:
                        return
                    if not a.iref + a_pos < b.iref + b_pos:
                        break
            elif a.after_del():
                while True:
                    if 0 <= b.iseq < lb:
                        b_q[b.iseq] = int(b_q[b.iseq] * 0.8) if bmul else 0
                    if b.next() < 0:
                        return
                    if not b.iref + b_pos < a.iref + a_pos:
                        break
            else:
                continue
        if a.iseq >= la or b.iseq >= lb:  # SEQ '*' or CIGAR longer than SEQ: htslib gives up
            return
        qa, qb = int(a_q[a.iseq]), int(b_q[b.iseq])
        if a_seq[a.iseq] == b_seq[b.iseq]:
            s = min(qa + qb, 200)
            a_q[a.iseq] = amul * s
            b_q[b.iseq] = bmul * s
        elif qa > qb:
            a_q[a.iseq] = int(0.8 * qa)
            b_q[b.iseq] = 0
        elif qa < qb:
            b_q[b.iseq] = int(0.8 * qb)
            a_q[a.iseq] = 0
        else:
            a_q[a.iseq] = amul * int(0.8 * qa)
            b_q[b.iseq] = bmul * int(0.8 * qb)


def engine_reads(batch, candidates: np.ndarray, *, max_depth: int = 8000, ignore_overlaps: bool = True,
                 unchanged_qual_as_none: bool = False):
    """Which candidate reads htslib's pileup engine keeps, and their (overlap-adjusted) qualities.

    Parameters
    ----------
    batch : AlignmentBatch
        Reads in file order (one contig).
    candidates : (n,) bool
        Reads that passed :func:`select_reads`.
    max_depth : int
        htslib ``maxcnt``; 0 = no cap.
    ignore_overlaps : bool
        Apply htslib's overlapping-mate quality adjustment.
    unchanged_qual_as_none : bool
        Return ``None`` instead of ``batch.qual`` when no quality changed
        (a BAM batch then need not decode the qualities at all).

    Returns
    -------
    kept : (n,) bool
    qual : (m,) uint8
        Copy of ``batch.qual`` (or the array itself when nothing changed).
    """
    cand = np.flatnonzero(candidates)
    kept = np.zeros(len(batch), dtype=bool)
    unchanged = None if unchanged_qual_as_none else batch.qual
    if not len(cand):
        return kept, unchanged
    need_depth = bool(max_depth) and len(cand) > max_depth
    if not need_depth and not ignore_overlaps:  # the engine keeps every candidate, qualities unchanged
        kept[cand] = True
        return kept, unchanged
    flag = batch.flag
    paired = ((flag & _FPROPER) != 0) & ((flag & _FMUNMAP) == 0)
    if not need_depth and not (ignore_overlaps and paired[cand].any()):
        kept[cand] = True
        return kept, unchanged
    qual = batch.qual
    pos = batch.pos
    rlen_end = _raw_end(batch)
    if ignore_overlaps:
        qual = qual.copy()
        ops_all = batch.cigar & 15
        lens_all = batch.cigar >> 4
    names = {}          # name -> read index stored for overlap detection
    live: list = []     # heap of (end, read) for reads held by the engine
    prev_pos = None
    tlen = batch.tlen
    lseq = np.diff(batch.seq_offsets)
    for i in cand.tolist():
        p = int(pos[i])
        while live and live[0][0] <= p - 1:  # htslib frees these before reading read i
            _, j = heapq.heappop(live)
            if ignore_overlaps:
                names.pop(_name(batch, j), None)
        end = int(rlen_end[i])
        if max_depth and prev_pos == p and len(live) + 1 > max_depth:
            if ignore_overlaps:
                names.pop(_name(batch, i), None)
            continue
        same_pos, prev_pos = prev_pos == p, p
        if end <= p and same_pos:  # nothing left to pile up (htslib reuses the node)
            continue
        kept[i] = True
        heapq.heappush(live, (end, i))
        if not ignore_overlaps or not paired[i]:
            continue
        mtid, mpos = int(batch.next_ref_id[i]), int(batch.next_pos[i])
        if (mtid >= 0 and mtid != int(batch.ref_id[i])) or (abs(int(tlen[i])) >= 2 * int(lseq[i]) and mpos >= end):
            continue
        nm = _name(batch, i)
        j = names.get(nm)
        if j is None:
            if mpos >= p or ((flag[i] & _FPAIRED) and mpos == -1):
                names[nm] = i
            continue
        del names[nm]
        ca, cb = slice(batch.cigar_offsets[j], batch.cigar_offsets[j + 1]), slice(batch.cigar_offsets[i],
                                                                                  batch.cigar_offsets[i + 1])
        sa, sb = slice(batch.seq_offsets[j], batch.seq_offsets[j + 1]), slice(batch.seq_offsets[i],
                                                                              batch.seq_offsets[i + 1])
        _tweak_pair(int(pos[j]), ops_all[ca].tolist(), lens_all[ca].tolist(), batch.seq[sa], qual[sa],
                    p, ops_all[cb].tolist(), lens_all[cb].tolist(), batch.seq[sb], qual[sb],
                    name_hash_bit(batch.name[batch.name_offsets[j]:batch.name_offsets[j + 1]].tobytes()))
    return kept, qual


def _name(batch, i) -> bytes:
    return batch.name[batch.name_offsets[i]:batch.name_offsets[i + 1]].tobytes()


def _raw_end(batch) -> np.ndarray:
    """pos + reference length of the CIGAR (0 allowed, unlike bam_endpos)."""
    ops = batch.cigar & 15
    lens = (batch.cigar >> 4).astype(np.int64)
    from .formats.alignment.batch import REF_CONSUMING

    rl = np.where(REF_CONSUMING[ops], lens, 0)
    csum = np.concatenate([[0], np.cumsum(rl)])
    off = batch.cigar_offsets - batch.cigar_offsets[0]
    return batch.pos + (csum[off[1:]] - csum[off[:-1]])


def _as_readers(reader_or_readers):
    from .formats.alignment.reader import AlignmentFile

    if isinstance(reader_or_readers, (list, tuple)):
        items = list(reader_or_readers)
        multi = True
    else:
        items = [reader_or_readers]
        multi = False
    out = [r if hasattr(r, "fetch_batch") else AlignmentFile(os.fspath(r)) for r in items]
    return out, multi


def pileup(reader_or_readers, region, *, min_base_quality: int = 13, min_mapping_quality: int = 0,
           flag_filter: int = DEFAULT_FLAG_FILTER, flag_require: int = 0, ignore_overlaps: bool = True,
           ignore_orphans: bool = True, max_depth: int = 8000, stranded: bool = False, backend: str = "auto"):
    """Per-position base counts over a region, as htslib's pileup (see the module docstring).

    Parameters
    ----------
    reader_or_readers : AlignmentFile or path, or a list of them
        One BAM/SAM, or several (adds a ``samples`` dimension).
    region : str, Region or tuple
        ``"chr1:100-200"`` (1-based closed) or ``(contig, start, stop)`` 0-based;
        every position of the region gets a row (zeros where nothing aligns).
    min_base_quality : int
        Bases (and deletions, by the next base) below this are not counted [13].
    min_mapping_quality : int
        Reads with MAPQ below this are skipped [0].
    flag_filter : int
        Skip reads with any of these FLAG bits [0x704].
    flag_require : int
        Skip reads lacking any of these FLAG bits [0].
    ignore_overlaps : bool
        htslib's overlapping-mate handling [True].
    ignore_orphans : bool
        Skip paired reads that are not properly paired (pysam, samtools mpileup) [True].
    max_depth : int
        htslib's per-position read cap, applied in read order [8000]; 0 = no cap.
    stranded : bool
        Also return ``position_base_count_forward`` / ``_reverse``.
    backend : {"auto", "numpy", "jax"}
        How the counts are made (same answers): ``"numpy"`` counts aligned
        bases straight from SEQ (:func:`~.kernels.pileup.count_aligned_bases`),
        the fastest on a CPU; ``"jax"`` scatter-adds an event table with the
        jitted kernel (:func:`~.kernels.pileup.pileup_counts_jax`), for an
        accelerator; ``"auto"`` picks ``"jax"`` when JAX has a GPU/TPU.

    Returns
    -------
    xarray.Dataset
        ``position_base_count`` (positions[, samples], bases) int32,
        ``position_depth`` (positions[, samples]) int32; coordinates
        ``position`` (1-based), ``base``, ``sample_id`` for several files;
        ``attrs``: ``region``, ``source``, ``contig`` and the filters used.
    """
    from .dataset.pileup import pileup_dataset

    readers, multi = _as_readers(reader_or_readers)
    contig, start, stop = _resolve_region(readers[0], region)
    length = stop - start
    per_sample = []
    for rd in readers:
        batch = rd.fetch_batch((contig, start, stop)) if length else rd.fetch_batch((contig, start, start + 1))
        rid = rd.header.ref_id(contig)
        cand = select_reads(batch, rid, flag_filter=flag_filter, flag_require=flag_require,
                            min_mapping_quality=min_mapping_quality, ignore_orphans=ignore_orphans)
        kept, qual = engine_reads(batch, cand, max_depth=max_depth, ignore_overlaps=ignore_overlaps,
                                  unchanged_qual_as_none=True)
        per_sample.append(_count_reads(batch, qual, start, length, use=kept, min_base_quality=min_base_quality,
                                       stranded=stranded, backend=backend))
    filters = dict(min_base_quality=int(min_base_quality), min_mapping_quality=int(min_mapping_quality),
                   flag_filter=int(flag_filter), flag_require=int(flag_require),
                   ignore_overlaps=int(bool(ignore_overlaps)), ignore_orphans=int(bool(ignore_orphans)),
                   max_depth=int(max_depth))
    return pileup_dataset(per_sample if multi else per_sample[0], contig, start,
                          sample_ids=[rd.path for rd in readers] if multi else None,
                          source=[rd.path for rd in readers] if multi else readers[0].path, filters=filters)


def _count_reads(batch, qual, start: int, length: int, *, use=None, min_base_quality: int, stranded: bool = False,
                 backend: str = "auto", insertions: bool = True, deletions: bool = True,
                 shift_padding: bool = False, blocks=()) -> np.ndarray:
    """``(length, [2,] 7)`` int32 counts of the events of the reads ``use`` of ``batch`` (qualities ``qual``).

    ``qual`` is aligned with ``batch.seq`` (None: ``batch.qual``).  ``shift_padding``: pysam
    ``count_coverage``'s reading of ``P`` ops (they move the read offset).
    With the numpy backend, reads aligned as one match block are read as a
    matrix of their bases (no flat SEQ needed for them) and handed to
    :func:`~.kernels.pileup.count_aligned_bases` as ``blocks``; a call that
    is given ``blocks`` has them split off already.
    """
    from .kernels._jax import resolve_backend

    backend = resolve_backend(backend)
    n = len(batch)
    use = np.ones(n, dtype=bool) if use is None else np.asarray(use, dtype=bool)
    reverse = (batch.flag & _FREVERSE) != 0
    pos = batch.pos
    if backend == "numpy" and not blocks and n and not np.any(pos[1:] < pos[:-1]):
        groups = _match_block_groups(batch, use)
        if groups:
            return _count_with_blocks(batch, qual, start, length, use, groups, min_base_quality=min_base_quality,
                                      stranded=stranded, insertions=insertions, deletions=deletions,
                                      shift_padding=shift_padding)
    if qual is None:
        qual = batch.qual
    ops = expand_cigar(pos, batch.cigar, batch.cigar_offsets)
    args = (pos, batch.cigar, batch.cigar_offsets, batch.seq, batch.seq_offsets, qual)
    fast = tiled = np.zeros(n, dtype=bool)
    if backend == "numpy" and n and not np.any(pos[1:] < pos[:-1]):
        tiled = tiled_reads(ops, batch.seq_offsets)
        fast = tiled & use
    if not fast.any() and not blocks:  # every read through the event table (the JAX kernel, or unsorted input)
        ev = pileup_events(*args, reverse=reverse, deletions=deletions, insertions=insertions,
                           ops=_ops_of(ops, use, n, shift_padding))
        return pileup_counts(ev, start, length, min_base_quality=min_base_quality, stranded=stranded,
                             backend=backend)
    ns = 2 if stranded else 1
    counts = count_aligned_bases(ops, pos, batch.seq_offsets, batch.seq, qual, start, length, use=fast, tiled=tiled,
                                 min_base_quality=min_base_quality, reverse=reverse,
                                 stranded=stranded, blocks=blocks).reshape(length, ns, N_BASES)
    parts = []
    if deletions or insertions:
        parts.append(pileup_events(*args, reverse=reverse, bases=False, deletions=deletions, insertions=insertions,
                                   ops=_ops_of(ops, fast, n, False)))
    rest = use & ~fast  # padding, SEQ '*', CIGAR/SEQ length mismatch: their events
    if rest.any():
        parts.append(pileup_events(*args, reverse=reverse, deletions=deletions, insertions=insertions,
                                   ops=_ops_of(ops, rest, n, shift_padding)))
    for ev in parts:
        if len(ev["ref_pos"]):
            pileup_counts_numpy(ev["ref_pos"], ev["base"], ev["qual"], ev["strand"], start, length,
                                min_base_quality=min_base_quality, stranded=stranded, out=counts)
    return counts if stranded else counts.reshape(length, N_BASES)


#: fewest reads of one length worth a matrix of their own
_MIN_BLOCK_READS = 64


def _match_block_groups(batch, use: np.ndarray) -> list:
    """``[(length, read indices), ...]``: used reads whose CIGAR is one ``M``/``=``/``X`` op over all of SEQ.

    Only lengths shared by at least :data:`_MIN_BLOCK_READS` such reads
    (short-read files have one or a few lengths).
    """
    co = batch.cigar_offsets
    one = (np.diff(co) == 1) & use
    if not one.any():
        return []
    idx = np.flatnonzero(one)
    cig = batch.cigar[co[idx]]
    qlen = batch.seq_offsets[idx + 1] - batch.seq_offsets[idx]
    ok = MATCH_OPS[cig & 15] & ((cig >> 4) == qlen) & (qlen > 0)
    idx, qlen = idx[ok], qlen[ok]
    if len(idx) < _MIN_BLOCK_READS:
        return []
    if qlen.min() == qlen.max():  # one read length (the usual short-read file)
        return [(int(qlen[0]), idx)]
    lengths, counts = np.unique(qlen, return_counts=True)
    return [(int(L), idx[qlen == L]) for L, c in zip(lengths.tolist(), counts.tolist()) if c >= _MIN_BLOCK_READS]


def _count_with_blocks(batch, qual, start, length, use, groups, *, min_base_quality, stranded, insertions,
                       deletions, shift_padding) -> np.ndarray:
    """:func:`_count_reads` with the match-block reads read as base matrices, the others through their CIGAR."""
    thr = int(min_base_quality)
    reverse = (batch.flag & _FREVERSE) != 0
    rest = use.copy()
    blocks = []
    for width, rows in groups:
        rest[rows] = False
        if thr <= 0:
            q = None
        elif qual is None:
            q = batch.qual_matrix(rows, width)
        else:
            q = row_block(qual, batch.seq_offsets[rows], width)
        blocks.append((batch.pos[rows], batch.seq_matrix(rows, width, CATEGORY_OF_CODE), q, reverse[rows]))
    idx = np.flatnonzero(rest)
    sub = batch.take(idx)  # a BAM batch decodes SEQ for these reads only
    sub_qual = sub.qual if qual is None else qual[ragged_index(batch.seq_offsets, idx)[0]]
    return _count_reads(sub, sub_qual, start, length, min_base_quality=thr, stranded=stranded, backend="numpy",
                        insertions=insertions, deletions=deletions, shift_padding=shift_padding, blocks=blocks)


def _ops_of(ops: dict, reads: np.ndarray, n: int, shift_padding: bool) -> dict:
    """The CIGAR ops of the reads ``reads`` (bool, per read), read indices unchanged."""
    if not reads.all():
        keep = reads[ops["read"]]
        ops = {k: v[keep] for k, v in ops.items()}
    return _shift_padding(ops, n) if shift_padding else ops


def _shift_padding(ops: dict, n: int) -> dict:
    """pysam's ``get_aligned_pairs`` reading of CIGAR ``P``: the read offset moves over padding too."""
    pad = np.where(ops["op"] == 6, ops["length"], 0)
    if not pad.any():
        return ops
    csum = np.cumsum(pad) - pad
    counts = np.bincount(ops["read"], minlength=n)
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    ops = dict(ops)
    ops["query_start"] = ops["query_start"] + csum - np.repeat(csum[first[counts > 0]], counts[counts > 0])
    return ops


def coverage(reader, region, bins=None, *, count_deletions: bool = False, min_mapping_quality: int = 0,
             flag_filter: int = DEFAULT_FLAG_FILTER, backend: str = "jax"):
    """Read depth at every position of a region (zeros included), or binned means.

    Depth counts reads whose ``M = X`` operations (and ``D`` with
    ``count_deletions``, like ``samtools depth -J``) cover a position, with no
    base-quality filter, no overlap handling and no cap (``samtools depth``
    defaults).

    Parameters
    ----------
    reader : AlignmentFile or path
    region : str, Region or tuple
    bins : int, optional
        Number of bins: positions are grouped into ``ceil(length / bins)``-base
        bins (the last may be shorter) and each bin gets its mean depth.
    count_deletions, min_mapping_quality, flag_filter
        Read and CIGAR filters (``samtools depth -J``, ``-Q``, ``-G``).
    backend : {"jax", "numpy"}

    Returns
    -------
    xarray.Dataset
        ``position_depth`` on dim ``positions`` (1-based ``position``), or with
        ``bins``: ``bin_depth`` (float32), ``bin_start``, ``bin_stop`` on dim ``bins``.
    """
    from .dataset.pileup import coverage_dataset
    from .kernels import coverage as cov

    (rd,), _ = _as_readers(reader)
    contig, start, stop = _resolve_region(rd, region)
    batch = rd.fetch_batch((contig, start, max(stop, start + 1)))
    batch = batch.take(batch.ref_id == rd.header.ref_id(contig)) if len(batch) else batch
    depth = cov.coverage(batch, start, stop - start, count_deletions=count_deletions,
                         exclude_flags=int(flag_filter) | _FUNMAP, min_mapq=min_mapping_quality, backend=backend)
    bin_size = None
    if bins is not None:
        if int(bins) < 1:
            raise ValueError(f"bins must be >= 1, got {bins}")
        bin_size = max(1, -(-(stop - start) // int(bins)))
    filters = dict(count_deletions=int(bool(count_deletions)), min_mapping_quality=int(min_mapping_quality),
                   flag_filter=int(flag_filter))
    return coverage_dataset(depth, contig, start, bin_size=bin_size, source=rd.path, filters=filters,
                            backend=backend)


def count_coverage(reader, contig, start=None, stop=None, quality_threshold: int = 15, read_callback="all",
                   *, backend: str = "auto"):
    """Per-base A, C, G, T counts as pysam's ``AlignmentFile.count_coverage``.

    pysam's semantics, kept on purpose:

    * reads are those ``fetch`` returns for ``[start, stop)`` (no pileup
      engine: overlapping mates both count, no depth cap);
    * ``read_callback="all"`` (default) skips reads with UNMAP, SECONDARY,
      QCFAIL or DUP; ``"nofilter"`` keeps every read (placed unmapped reads
      count through their CIGAR); a callable receives the
      :class:`AlignmentBatch` and returns a boolean mask (pysam calls it per
      read with an ``AlignedSegment``);
    * reads without SEQ are skipped; only ``M = X`` bases count, and only
      ``A C G T`` (``N`` and IUPAC codes are not counted anywhere);
    * like pysam's ``get_aligned_pairs``, a ``P`` (padding) operation moves the
      read offset forward (SAMv1 says it consumes nothing), so bases after
      a ``P`` are read shifted; offsets past the end of SEQ count nothing;
    * ``quality_threshold`` [15]: a base counts when its quality is ``>=`` it;
      with a threshold > 0, reads without qualities (``*``) count nothing;
      0 turns the check off.

    Parameters
    ----------
    reader : AlignmentFile or path
    contig : str
    start, stop : int, optional
        0-based half-open; default the whole contig (stop clipped to its length).

    backend : {"auto", "numpy", "jax"}
        As in :func:`pileup`.

    Returns
    -------
    tuple of four (stop - start,) int32 arrays
        Counts of A, C, G and T (column views of one ``(stop - start, 7)``
        pileup count table).

    Raises
    ------
    ValueError
        Empty or negative interval (as pysam).
    """
    (rd,), _ = _as_readers(reader)
    if contig not in rd.contigs:
        raise RegionError(f"unknown contig {contig!r}", field="contig")
    clen = rd.contigs[contig]
    s = 0 if start is None else int(start)
    e = clen if stop is None else min(int(stop), clen)
    if e == s:
        raise ValueError("interval of size 0")
    if e < s:
        raise ValueError("interval of size less than 0")
    batch = rd.fetch_batch((contig, s, e))
    if read_callback == "all":
        keep = (batch.flag & DEFAULT_FLAG_FILTER) == 0
    elif read_callback == "nofilter":
        keep = np.ones(len(batch), dtype=bool)
    elif callable(read_callback):
        keep = np.asarray(read_callback(batch), dtype=bool)
    else:
        raise ValueError(f"unknown read_callback {read_callback!r} ('all', 'nofilter' or a callable)")
    keep &= np.diff(batch.seq_offsets) > 0
    thr = int(quality_threshold or 0)
    qual = batch.qual
    if thr > 0 and keep.any():
        # pysam: reads whose QUAL is '*' have no qualities -> nothing passes
        missing = np.flatnonzero(keep & (qual[np.minimum(batch.seq_offsets[:-1], max(len(qual) - 1, 0))] == 0xFF))
        if len(missing):
            qual = qual.copy()
            qual[ragged_index(batch.seq_offsets, missing)[0]] = 0
    # pysam's get_aligned_pairs advances the query over P (padding) ops too
    counts = _count_reads(batch, qual, s, e - s, use=keep, min_base_quality=thr, backend=backend, deletions=False,
                          insertions=False, shift_padding=True)
    return tuple(counts[:, k] for k in range(4))
