"""Per-base pileup counts: A, C, G, T, N, deletions and insertions per position.

The work is split the same way as :mod:`.coverage`:

* :func:`pileup_events` (numpy, vectorised over all reads at once) expands the
  CIGARs (reusing :func:`.coverage.expand_cigar`) into one row per *event*:
  an aligned base (``M = X``), a deleted reference base (``D``), or an
  insertion following a reference base.  Each row carries its reference
  position, a base category (:data:`BASE_LABELS` index), a quality and the
  read's strand.
* :func:`pileup_counts_numpy` / :func:`pileup_counts_jax` scatter-add the
  events that pass the base-quality filter into a ``(length, 7)`` table (or
  ``(length, 2, 7)`` per strand).  The JAX version pads the event count and
  the window length to power-of-two buckets (:func:`._jax.bucket`), so a
  window that moves or changes size within its bucket reuses the compiled
  program (see :data:`.coverage.TRACE_COUNTS`, key ``"pileup"``).

Quality of each event, as htslib's pileup reports it (``bam_pileup1_t.qpos``):

* aligned base: its own base quality;
* deletion: the quality of the next query base (htslib points ``qpos`` there);
  0 when there is none;
* insertion: the quality of the event it follows (the base or deletion at the
  same column), so an insertion is counted exactly when the read itself is
  counted at that column (samtools mpileup prints ``+N...`` only on shown reads).

Reads without SEQ (``*``) give base ``N`` with quality 0 (htslib's reading of
``qpos >= l_qseq``).  All positions are 0-based.
"""
from __future__ import annotations

import numpy as np

from ..formats.alignment.batch import QUERY_CONSUMING
from ._jax import bucket, get_jax
from .coverage import TRACE_COUNTS, expand_cigar

__all__ = [
    "BASE_LABELS",
    "tiled_reads",
    "count_aligned_bases",
    "CATEGORY_OF_CODE",
    "MATCH_OPS",
    "N_BASES",
    "base_category",
    "pileup_events",
    "pileup_counts_numpy",
    "pileup_counts_jax",
    "pileup_counts",
]

#: labels of the ``bases`` dimension (DESIGN.md §3)
BASE_LABELS = ("A", "C", "G", "T", "N", "del", "ins")
N_BASES = len(BASE_LABELS)
DEL, INS = 5, 6

#: 4-bit BAM base code (``=ACMGRSVTWYHKDBN``) -> category 0..4 (A C G T, anything else N)
_CODE_TO_CAT = np.full(16, 4, dtype=np.int8)
_CODE_TO_CAT[[1, 2, 4, 8]] = [0, 1, 2, 3]

#: CIGAR op code -> is it an aligned-base op (``M``, ``=``, ``X``)
MATCH_OPS = np.zeros(16, dtype=bool)
MATCH_OPS[[0, 7, 8]] = True
_REF_OP = np.zeros(16, dtype=bool)
_REF_OP[[0, 2, 3, 7, 8]] = True  # M D N = X


def base_category(codes: np.ndarray) -> np.ndarray:
    """4-bit BAM base codes -> base category (0 A, 1 C, 2 G, 3 T, 4 anything else)."""
    return _CODE_TO_CAT[np.asarray(codes, dtype=np.uint8) & 15]


def _per_base(ops: dict, sel: np.ndarray):
    """Expand the selected ops to one row per reference base: (op row, offset in op)."""
    idx = np.flatnonzero(sel)
    lens = ops["length"][idx]
    total = int(lens.sum())
    rows = np.repeat(idx, lens)
    starts = np.cumsum(lens) - lens
    within = np.arange(total, dtype=np.int64) - np.repeat(starts, lens)
    return rows, within


def pileup_events(pos, cigar, cigar_offsets, seq, seq_offsets, qual, *, reverse=None, bases: bool = True,
                  deletions: bool = True, insertions: bool = True, ops: dict | None = None) -> dict:
    """Expand alignments into pileup events, vectorised over all reads.

    Parameters
    ----------
    pos : (n,) int
        0-based leftmost reference position of each read.
    cigar, cigar_offsets
        Flat BAM-encoded CIGAR ops and their ``(n + 1,)`` offsets.
    seq : (m,) uint8
        Flat 4-bit base codes; ``seq_offsets`` ``(n + 1,)`` ragged offsets
        (an empty range is SEQ ``*``).
    qual : (m,) uint8
        Flat base qualities aligned with ``seq`` (may be a modified copy,
        e.g. after overlap handling).
    reverse : (n,) bool, optional
        Strand of each read (FLAG 0x10); all forward when omitted.
    bases, deletions, insertions : bool
        Emit aligned-base / ``del`` / ``ins`` events.
    ops : dict, optional
        A precomputed :func:`.coverage.expand_cigar` result for these reads.

    Returns
    -------
    dict of str to ndarray, each (k,)
        ``ref_pos`` (int64, 0-based), ``base`` (int8, index into
        :data:`BASE_LABELS`), ``qual`` (int16), ``strand`` (int8, 1 = reverse),
        ``read`` (int64), ``qpos`` (int64, query offset; for deletions the next
        base), ``kind`` (int8: 0 base, 1 deletion, 2 insertion).
    """
    pos = np.asarray(pos, dtype=np.int64)
    n = len(pos)
    if ops is None:
        ops = expand_cigar(pos, cigar, cigar_offsets)
    seq_offsets = np.asarray(seq_offsets, dtype=np.int64)
    seq = np.asarray(seq, dtype=np.uint8)
    qual = np.asarray(qual, dtype=np.uint8)
    qlen = np.diff(seq_offsets)
    strand_of = np.zeros(n, dtype=np.int8) if reverse is None else np.asarray(reverse, dtype=np.int8)

    op = ops["op"]
    length = ops["length"]
    parts = [(np.zeros(0, np.int64), np.zeros(0, np.int8), np.zeros(0, np.int16), np.zeros(0, np.int64),
              np.zeros(0, np.int64), 0)]

    def lookup(read, qpos):
        ok = qpos < qlen[read]
        flat = np.where(ok, seq_offsets[read] + qpos, 0)
        if len(seq):
            b = np.where(ok, _CODE_TO_CAT[seq[flat] & 15], 4).astype(np.int8)
            q = np.where(ok, qual[flat], 0).astype(np.int16)
        else:
            b = np.full(len(read), 4, dtype=np.int8)
            q = np.zeros(len(read), dtype=np.int16)
        return b, q

    if bases:
        rows, within = _per_base(ops, MATCH_OPS[op] & (length > 0))
        read = ops["read"][rows]
        qpos = ops["query_start"][rows] + within
        b, q = lookup(read, qpos)
        parts.append((ops["ref_start"][rows] + within, b, q, read, qpos, 0))
    if deletions:
        rows, within = _per_base(ops, (op == 2) & (length > 0))
        read = ops["read"][rows]
        qpos = ops["query_start"][rows]
        _, q = lookup(read, qpos)
        parts.append((ops["ref_start"][rows] + within, np.full(len(rows), DEL, np.int8), q, read, qpos, 1))
    if insertions and len(op):
        # next op of the same read, skipping padding (P)
        k = len(op)
        idx = np.arange(k)
        cand = np.where(op != 6, idx, k)
        first_ge = np.minimum.accumulate(cand[::-1])[::-1]  # first non-P op at or after i
        after = np.append(first_ge[1:], k)
        same = np.zeros(k, dtype=bool)
        valid = after < k
        same[valid] = ops["read"][after[valid]] == ops["read"][valid]
        opn = np.where(valid, op[np.minimum(after, k - 1)], 255)
        sel = same & (opn == 1) & ((MATCH_OPS[op]) | (op == 2)) & (length > 0)
        rows = np.flatnonzero(sel)
        read = ops["read"][rows]
        last = ops["ref_start"][rows] + length[rows] - 1
        is_del = op[rows] == 2
        qpos = np.where(is_del, ops["query_start"][rows], ops["query_start"][rows] + length[rows] - 1)
        _, q = lookup(read, qpos)
        parts.append((last, np.full(len(rows), INS, np.int8), q, read, qpos, 2))

    out = {
        "ref_pos": np.concatenate([p[0] for p in parts]).astype(np.int64),
        "base": np.concatenate([p[1] for p in parts]).astype(np.int8),
        "qual": np.concatenate([p[2] for p in parts]).astype(np.int16),
        "read": np.concatenate([p[3] for p in parts]).astype(np.int64),
        "qpos": np.concatenate([p[4] for p in parts]).astype(np.int64),
        "kind": np.concatenate([np.full(len(p[0]), p[5], np.int8) for p in parts]),
    }
    out["strand"] = strand_of[out["read"]] if n else np.zeros(0, np.int8)
    return out


_CAT = np.append(_CODE_TO_CAT.astype(np.uint8), np.full(240, 4, np.uint8)).tobytes()  # byte -> 0..4 (A C G T N)
#: 4-bit base code -> base category (A C G T = 0..3, anything else N = 4), 16 bytes (``symbols`` of
#: :meth:`AlignmentBatch.seq_matrix`)
CATEGORY_OF_CODE = _CAT[:16]


def tiled_reads(ops: dict, seq_offsets) -> np.ndarray:
    """Reads whose query-consuming CIGAR ops (``M I S = X``) cover exactly their SEQ, with no ``P`` op.

    Parameters
    ----------
    ops : dict
        :func:`.coverage.expand_cigar` result.
    seq_offsets : (n + 1,) int
        Ragged SEQ offsets of the reads.

    Returns
    -------
    (n,) bool
        The reads :func:`count_aligned_bases` can count (SEQ ``*`` reads with
        aligned ops, malformed CIGARs and padded alignments are not).
    """
    qlen = np.diff(np.asarray(seq_offsets, dtype=np.int64))
    n = len(qlen)
    op = ops["op"]
    qsum = np.bincount(ops["read"], weights=np.where(QUERY_CONSUMING[op], ops["length"], 0), minlength=n)
    padded = np.bincount(ops["read"], weights=(op == 6), minlength=n) > 0
    return (qsum == qlen) & ~padded & (qlen > 0)


def count_aligned_bases(ops: dict, pos, seq_offsets, seq, qual, region_start: int, length: int, *,
                        use=None, tiled=None, min_base_quality: int = 0, reverse=None, stranded: bool = False,
                        blocks=(), out=None, chunk_bases: int = 1 << 20) -> np.ndarray:
    """Counts of aligned (``M = X``) bases per position in categories A, C, G, T, N, one pass over SEQ.

    Equal to :func:`pileup_counts_numpy` of the aligned-base events of
    :func:`pileup_events` for the reads that are used and that
    :func:`tiled_reads` accepts (the others count nothing here), but built
    without an event table:

    * The reads of ``(ops, pos, seq_offsets, seq, qual)`` get each base's
      table slot ``position * step + category`` from the CIGAR op that holds
      it (``numpy.repeat`` of one offset per op plus the base's index in
      flat SEQ); inserted and clipped bases and reads not counted are
      dropped; the slots are added with ``numpy.add.at``.
    * ``blocks`` are more reads, each aligned as one match op over its whole
      SEQ, so base ``i`` of read ``r`` is at ``pos[r] + i``.  They are
      counted against a guess of the base at each position (the base some
      read shows there): the depth of the block reads goes to the guessed
      category, and only the bases that differ from the guess (sequencing
      errors and variants, a few per cent) are moved one by one.  The
      ``(reads, bases)`` matrices of base categories come straight from the
      packed BAM bases.

    Bases below ``min_base_quality`` are not counted.

    Parameters
    ----------
    ops : dict
        :func:`.coverage.expand_cigar` of the reads.
    pos : (n,) int
        0-based leftmost positions, ascending (file order of a sorted BAM).
    seq_offsets : (n + 1,) int
    seq, qual : (m,) uint8
        Flat 4-bit base codes and qualities.
    region_start, length : int
        0-based window.
    use : (n,) bool, optional
        Reads to count (default all).
    tiled : (n,) bool, optional
        :func:`tiled_reads` of these reads, when the caller has it.
    min_base_quality : int
    reverse : (n,) bool, optional
        Strand per read (for ``stranded``).
    stranded : bool
    blocks : sequence of (pos, categories, qual, reverse)
        ``pos`` (k,) ascending 0-based starts of reads whose CIGAR is one
        ``M``/``=``/``X`` op covering SEQ; ``categories`` (k, L) uint8 their
        bases as categories 0-4 (A C G T N: :data:`CATEGORY_OF_CODE` of the
        4-bit codes); ``qual`` (k, L) uint8, or None when
        ``min_base_quality`` is 0; ``reverse`` (k,) bool or None.
    out : (length, 7) or (length, 2, 7) int32, optional
        C-contiguous table to add to.
    chunk_bases : int
        Bases handled per step (bounds the scratch memory).

    Returns
    -------
    (length, 7) int32, or (length, 2, 7) when ``stranded``
        Columns :data:`BASE_LABELS`; ``del`` and ``ins`` are left as they were.

    Raises
    ------
    ValueError
        Positions are not sorted, a block's shapes disagree, or ``out`` is
        not a C-contiguous int32 table of the right shape.
    """
    length = _check(length)
    pos = np.asarray(pos, dtype=np.int64)
    so = np.asarray(seq_offsets, dtype=np.int64)
    n = len(pos)
    ns = 2 if stranded else 1
    K = N_BASES  # the layout of the result
    shape = (length, 2, K) if stranded else (length, K)
    fresh = out is None  # all zeros: the first block's guessed bases may be written, not added
    if out is None:
        out = np.zeros(shape, dtype=np.int32)
    elif out.shape != shape or out.dtype != np.int32 or not out.flags.c_contiguous:
        raise ValueError(f"out must be a C-contiguous int32 array of shape {shape}")
    if not length:
        return out
    flat = out.reshape(-1)  # slot = position * step + strand * K + category
    thr = int(min_base_quality)
    step = ns * K
    chunk_bases = max(int(chunk_bases), 1)
    for block in blocks:
        for bpos, cat, strand_slot in _block_parts(block, thr, K, stranded):
            _tally_block(flat, region_start, length, step, strand_slot, bpos, cat, chunk_bases, thr > 0, fresh)
            fresh = False
    if not n or int(so[-1]) <= int(so[0]):
        return out
    if np.any(pos[1:] < pos[:-1]):
        raise ValueError("reads must be sorted by position")
    good = tiled_reads(ops, so) if tiled is None else np.array(tiled, dtype=bool)
    if use is not None:
        good &= np.asarray(use, dtype=bool)
    if not good.any():
        return out
    strand = (np.zeros(n, np.int64) if reverse is None or not stranded
              else np.asarray(reverse, dtype=np.int64) * K)
    pieces = _pieces(ops, pos, so, good) + (strand,)
    # reads in runs of about chunk_bases bases (a read is never split)
    cuts = np.unique(np.concatenate([[0], np.searchsorted(so, np.arange(int(so[0]), int(so[-1]), chunk_bases),
                                                          "right") - 1, [n]]))
    for r0, r1 in zip(cuts[:-1].tolist(), cuts[1:].tolist()):
        _tally_pieces(flat, region_start, length, step, r0, r1, so, seq, qual, pieces, thr, K)
    return out


def _block_parts(block, thr: int, K: int, stranded: bool):
    """``[(pos, categories, strand slot), ...]`` of one block: low-quality bases as ``K - 1``, split by strand."""
    bpos, cat, bq, brev = block
    bpos = np.asarray(bpos, dtype=np.int64)
    cat = np.asarray(cat, dtype=np.uint8)
    if cat.ndim != 2 or cat.shape[0] != len(bpos):
        raise ValueError(f"block categories must be (reads, bases), got {cat.shape} for {len(bpos)} reads")
    if np.any(bpos[1:] < bpos[:-1]):
        raise ValueError("reads must be sorted by position")
    if not len(bpos) or not cat.shape[1]:
        return []
    if thr > 0:
        if bq is None or np.shape(bq) != cat.shape:
            raise ValueError("min_base_quality needs block qualities of the same shape as the categories")
        cat = cat.copy()
        np.putmask(cat, np.asarray(bq) < thr, K - 1)
    cat = np.ascontiguousarray(cat)
    if not stranded or brev is None:
        return [(bpos, cat, 0)]
    rev = np.asarray(brev, dtype=bool)
    return [(bpos[rows], cat[rows], s * K) for s, rows in ((0, ~rev), (1, rev)) if rows.any()]


#: widest span (positions) of the block reads counted in one step
_BLOCK_SPAN = 1 << 21


def _tally_block(flat, region_start: int, length: int, step: int, strand_slot: int, bpos, cat, chunk_bases: int,
                 dropped: bool, fresh: bool = False):
    """Add reads aligned as one match block (``cat`` (k, L), starts ``bpos``) to the flat count table.

    Per run of reads: ``guess`` is the category some read shows at each
    position (rows written in order, the last one stays); the number of
    reads covering a position goes to its guessed category, and every base
    that differs from the guess is moved from the guess to its own category.
    Category ``K - 1`` (bases below the quality threshold; ``dropped`` says
    there may be some) is never counted.  ``fresh``: the table is all zeros,
    so the first run's guessed bases are written rather than added.
    """
    k, L = cat.shape
    K = N_BASES
    stop = region_start + length
    per = max(1, chunk_bases // L)
    a = 0
    while a < k:
        lo = int(bpos[a])
        z = max(a + 1, min(k, a + per, int(np.searchsorted(bpos, lo + _BLOCK_SPAN - L, "right"))))
        rows, c = bpos[a:z], cat[a:z]
        a = z
        if lo >= stop:
            break
        span = int(rows[-1]) - lo + L
        x0, x1 = max(region_start - lo, 0), min(stop - lo, span)
        if x1 <= x0:
            continue
        rel = rows - lo
        guess = np.zeros(span, np.uint8)
        view = np.lib.stride_tricks.as_strided(guess, shape=(span - L + 1, L), strides=(1, 1))
        view[rel] = c
        if dropped:  # a dropped base is no guess: such bases count as differing
            np.putmask(guess, guess == K - 1, 0)
        differ = np.flatnonzero(c != view[rel])
        edges = np.zeros(span + 1, np.int32)
        np.add.at(edges, rel, np.int32(1))
        np.add.at(edges, rel + L, np.int32(-1))
        depth = np.cumsum(edges[x0:x1], dtype=np.int32)  # reads covering each position
        if x0:
            depth += np.int32(edges[:x0].sum())
        base_slot = (lo - region_start) * step + strand_slot
        slots = _scaled_arange(step, x1)[x0:] + guess[x0:x1]
        slots += base_slot
        if fresh:  # one slot per position: no repeated index
            flat[slots] = depth
            fresh = False
        else:
            flat[slots] += depth
        if len(differ):
            r = differ // L
            x = rel[r] + (differ - r * L)
            got = c.reshape(-1)[differ]
            keep = (x >= x0) & (x < x1)
            x, got = x[keep], got[keep]
            at = x * step + base_slot
            np.add.at(flat, at + guess[x], np.int32(-1))
            counted = got != K - 1
            np.add.at(flat, at[counted] + got[counted], np.int32(1))


def _tally_pieces(flat, region_start: int, length: int, step: int, r0: int, r1: int, so, seq, qual, pieces,
                  thr: int, K: int):
    """Add the aligned bases of reads ``r0:r1`` (cut into :func:`_pieces`) to the flat count table."""
    p_read, p_len, p_flat, p_ref, p_discard, p_strand = pieces
    q0, q1 = np.searchsorted(p_read, [r0, r1])
    if q1 <= q0:
        return
    a, z = int(so[r0]), int(so[r1])
    # slot of the piece's first base minus its index in flat SEQ: slots of all bases are a repeat plus a ramp
    row0 = np.where(p_discard[q0:q1], -(1 << 40), p_ref[q0:q1] - region_start) - (p_flat[q0:q1] - a)
    slots = np.repeat(row0 * step + p_strand[p_read[q0:q1]], p_len[q0:q1])
    slots += _scaled_arange(step, z - a)
    code = np.frombuffer(np.asarray(seq[a:z], dtype=np.uint8).tobytes().translate(_CAT), dtype=np.uint8)
    keep = (slots >= 0) & (slots < length * step)
    if thr > 0:
        keep &= np.asarray(qual[a:z]) >= thr
    slots += code
    np.add.at(flat, slots[keep], np.int32(1))


def _pieces(ops: dict, pos, so, good):
    """The SEQ of every read cut into pieces, in SEQ order: the query ops of ``good`` reads, one piece for others.

    Returns ``(read, length, flat start, reference start, discard)`` per piece; the
    reference start of a discarded piece is not used.
    """
    op = ops["op"]
    sel = QUERY_CONSUMING[op] & good[ops["read"]]
    n = len(pos)
    if good.all():
        idx = np.flatnonzero(sel)
        read, ln = ops["read"][idx], ops["length"][idx]
        flat = so[read] + ops["query_start"][idx]
        return read, ln, flat, ops["ref_start"][idx], ~MATCH_OPS[op[idx]]
    per_read = np.bincount(ops["read"], weights=sel, minlength=n).astype(np.int64)
    per_read[~good] = 1
    start = np.cumsum(per_read) - per_read
    total = int(per_read.sum())
    read = np.empty(total, np.int64)
    ln = np.empty(total, np.int64)
    flat = np.empty(total, np.int64)
    ref = np.empty(total, np.int64)
    discard = np.ones(total, dtype=bool)
    idx = np.flatnonzero(sel)
    r = ops["read"][idx]
    rank = _rank_within(r)
    at = start[r] + rank
    read[at], ln[at] = r, ops["length"][idx]
    flat[at] = so[r] + ops["query_start"][idx]
    discard[at] = ~MATCH_OPS[op[idx]]
    ref[at] = ops["ref_start"][idx]
    other = np.flatnonzero(~good)
    at = start[other]
    read[at], ln[at], flat[at], ref[at] = other, so[other + 1] - so[other], so[other], pos[other]
    return read, ln, flat, ref, discard


def _rank_within(groups: np.ndarray) -> np.ndarray:
    """Index of each element within its run of equal values (``groups`` sorted)."""
    if not len(groups):
        return np.zeros(0, np.int64)
    new = np.r_[True, groups[1:] != groups[:-1]]
    first = np.flatnonzero(new)
    return np.arange(len(groups)) - np.repeat(first, np.diff(np.r_[first, len(groups)]))


def _scaled_arange(step: int, n: int) -> np.ndarray:
    """``arange(n) * step`` (int64), sliced from a cached array."""
    cached = _ARANGES.get(step)
    if cached is None or len(cached) < n:
        cached = _ARANGES[step] = np.arange(max(n, 1 << 20), dtype=np.int64) * step
    return cached[:n]


_ARANGES: dict = {}


def _check(length: int) -> int:
    length = int(length)
    if length < 0:
        raise ValueError(f"window length {length} < 0")
    return length


def pileup_counts_numpy(ref_pos, base, qual, strand, region_start: int, length: int, *,
                        min_base_quality: int = 0, stranded: bool = False, out: np.ndarray | None = None) -> np.ndarray:
    """Count events per position and base category (numpy reference).

    Parameters
    ----------
    ref_pos : (k,) int
        0-based reference position of each event.
    base : (k,) int
        Category 0..6 (:data:`BASE_LABELS`).
    qual : (k,) int
        Event quality; events with ``qual < min_base_quality`` are dropped.
    strand : (k,) int
        0 forward, 1 reverse (used when ``stranded``).
    region_start, length : int
        Window ``[region_start, region_start + length)``; events outside are dropped.
    min_base_quality : int
    stranded : bool
        Separate the two strands.
    out : ndarray, optional
        A C-contiguous int32 array of the result's shape to add the counts into.

    Returns
    -------
    (length, 7) int32, or (length, 2, 7) when ``stranded`` (``out`` when given)
    """
    length = _check(length)
    rel = np.asarray(ref_pos, dtype=np.int64) - int(region_start)
    keep = (rel >= 0) & (rel < length) & (np.asarray(qual) >= int(min_base_quality))
    ns = 2 if stranded else 1
    flat = np.zeros(length * ns * N_BASES, dtype=np.int32) if out is None else out.reshape(-1)
    s = np.asarray(strand, dtype=np.int64) if stranded else 0
    idx = (rel * ns + s) * N_BASES + np.asarray(base, dtype=np.int64)
    np.add.at(flat, idx[keep], 1)
    return out if out is not None else flat.reshape((length, 2, N_BASES) if stranded else (length, N_BASES))


_JITTED: dict = {}


def _counts_fn():
    fn = _JITTED.get("pileup")
    if fn is None:
        jax = get_jax()
        import jax.numpy as jnp

        def kernel(rel, base, qual, strand, n_valid, length, min_bq, padded_length, ns):
            TRACE_COUNTS["pileup"] += 1  # runs only while tracing
            i = jnp.arange(rel.shape[0], dtype=jnp.int32)
            ok = (i < n_valid) & (rel >= 0) & (rel < length) & (qual >= min_bq)
            idx = (rel * ns + strand) * N_BASES + base
            idx = jnp.where(ok, idx, padded_length * ns * N_BASES)  # out of range -> dropped
            flat = jnp.zeros(padded_length * ns * N_BASES, dtype=jnp.int32)
            return flat.at[idx].add(1, mode="drop")

        fn = _JITTED["pileup"] = jax.jit(kernel, static_argnums=(7, 8))
    return fn


def pileup_counts_jax(ref_pos, base, qual, strand, region_start: int, length: int, *,
                      min_base_quality: int = 0, stranded: bool = False) -> np.ndarray:
    """Counts as :func:`pileup_counts_numpy`, with a jitted JAX scatter-add.

    The event count is padded to ``bucket(k)`` and the window to
    ``bucket(length)``; the real sizes, the window start and the quality
    threshold are traced values, so none of them recompiles within a bucket.

    Returns
    -------
    (length, 7) int32 numpy array, or (length, 2, 7) when ``stranded``
    """
    length = _check(length)
    rel64 = np.asarray(ref_pos, dtype=np.int64) - int(region_start)
    inside = (rel64 >= 0) & (rel64 < length)
    k = len(rel64)
    nb = bucket(k, minimum=4096)
    padded_len = bucket(length, minimum=1024)
    ns = 2 if stranded else 1
    rel = np.zeros(nb, dtype=np.int32)
    rel[:k] = np.where(inside, rel64, -1)
    b = np.zeros(nb, dtype=np.int32)
    b[:k] = base
    q = np.zeros(nb, dtype=np.int32)
    q[:k] = qual
    s = np.zeros(nb, dtype=np.int32)
    if stranded:
        s[:k] = strand
    out = _counts_fn()(rel, b, q, s, np.int32(k), np.int32(length), np.int32(min_base_quality), padded_len, ns)
    out = np.asarray(out)[: length * ns * N_BASES]
    return out.reshape((length, 2, N_BASES) if stranded else (length, N_BASES))


def pileup_counts(events: dict, region_start: int, length: int, *, min_base_quality: int = 0,
                  stranded: bool = False, backend: str = "jax") -> np.ndarray:
    """Count a :func:`pileup_events` result over a window with the chosen backend."""
    args = (events["ref_pos"], events["base"], events["qual"], events["strand"], region_start, length)
    if backend == "numpy":
        return pileup_counts_numpy(*args, min_base_quality=min_base_quality, stranded=stranded)
    if backend != "jax":
        raise ValueError(f"unknown backend {backend!r} (jax, numpy)")
    return pileup_counts_jax(*args, min_base_quality=min_base_quality, stranded=stranded)
