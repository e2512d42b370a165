"""BAQ: per-base alignment quality from a probabilistic realignment.

A read is realigned against the reference window it maps to with a banded
profile HMM (match / insertion / deletion states, "glocal": the whole read
against part of the reference).  Forward and backward passes give, for every
read base, the posterior probability of its most likely reference column; the
Phred-scaled probability that this column is *not* the one the CIGAR gives is
the base's alignment quality (BAQ).  ``samtools mpileup`` (unless ``-B``) caps
each aligned base quality at its BAQ, after smoothing BAQ along each aligned
block ("extended BAQ": the minimum of the running maxima from the block's two
ends).  This module reproduces htslib's arithmetic step for step so the
capped qualities come out identical, which means:

* probabilities are float64, quality -> error probability goes through a
  float32 table like htslib's;
* the forward and backward recurrences and the sums that rescale each row are
  evaluated in the same order (a row's cells left to right, deletion chain
  carried from cell to cell), so every rounding matches;
* the band is stored per row relative to ``max(i - bw, 0)``; out-of-band cells
  are exact zeros, which leaves every sum unchanged.

Layout (shared by both implementations): a batch of ``B`` problems padded to
``Lq`` query bases, ``Lr`` reference bases and ``W = 2 * max(bw) + 2`` band
cells.  :func:`probaln_numpy` is the reference (rows and band cells in Python
loops, vectorised over reads); :func:`probaln_jax` is the same program jitted
(``lax.scan`` over rows, band cells unrolled), vmapped in effect over reads by
working on ``(B, W)`` arrays.  :func:`baq_qualities` does the whole thing for
reads of an :class:`~hts_notebook.core.formats.alignment.batch.AlignmentBatch`.
"""
from __future__ import annotations

from collections import Counter

import numpy as np

from ._jax import bucket, get_jax

__all__ = [
    "BaqProblems",
    "prepare_baq",
    "probaln_numpy",
    "probaln_jax",
    "apply_extended_baq",
    "baq_qualities",
    "TRACE_COUNTS",
]

#: reads whose HMM band half-width exceeds this (a long deletion or reference skip) are
#: realigned one at a time by the numpy program rather than in padded batches
MAX_BAND = 512

#: how many times the jitted kernel was traced (compiled), by bucket key
TRACE_COUNTS: Counter = Counter()

EI = 0.25
EM = 0.33333333333
#: Phred -> error probability, rounded to float32 as htslib stores it
QUAL2PROB = np.power(10.0, -np.arange(256) / 10.0).astype(np.float32).astype(np.float64)
#: 4-bit BAM base code -> 0..3 for ACGT, 4 otherwise
NT16_INT = np.array([4, 0, 1, 4, 2, 4, 4, 4, 3, 4, 4, 4, 4, 4, 4, 4], dtype=np.uint8)
#: ASCII -> 0..3 for ACGT (either case), 4 otherwise (through the 4-bit code, as htslib)
_ASCII_NT16 = np.full(256, 15, dtype=np.uint8)
for _i, _c in enumerate(b"=ACMGRSVTWYHKDBN"):
    _ASCII_NT16[_c] = _i
    _ASCII_NT16[ord(chr(_c).lower())] = _i
ASCII_INT = NT16_INT[_ASCII_NT16]


class BaqProblems:
    """A padded batch of realignment problems (see the module docstring).

    Attributes
    ----------
    ref : (B, Lr) uint8   reference window, 0..4
    query : (B, Lq) uint8 read bases, 0..4
    qual : (B, Lq) float64  error probabilities (float32-rounded)
    l_ref, l_query, bw : (B,) int64  lengths and HMM band half-width
    d, e : (B,) float64  gap open / extension probabilities
    """

    def __init__(self, ref, query, qual, l_ref, l_query, bw, d, e):
        self.ref, self.query, self.qual = ref, query, qual
        self.l_ref, self.l_query, self.bw = l_ref, l_query, bw
        self.d, self.e = d, e

    def __len__(self):
        return len(self.l_ref)

    @classmethod
    def build(cls, refs, queries, quals, bws, ds, es, Lq=None, Lr=None):
        """Pad lists of per-read arrays (ref 0..4, query 0..4, Phred quals)."""
        n = len(refs)
        lr = np.array([len(r) for r in refs], dtype=np.int64)
        lq = np.array([len(q) for q in queries], dtype=np.int64)
        Lq = Lq or int(max(lq.max(initial=1), 1))
        Lr = Lr or int(max(lr.max(initial=1), 1))
        ref = np.full((n, Lr), 4, dtype=np.uint8)
        query = np.full((n, Lq), 4, dtype=np.uint8)
        qual = np.zeros((n, Lq), dtype=np.float64)
        for i in range(n):
            ref[i, :lr[i]] = refs[i]
            query[i, :lq[i]] = queries[i]
            qual[i, :lq[i]] = QUAL2PROB[np.asarray(quals[i], dtype=np.int64)]
        # htslib's probaln: bw = min(max(l_ref, l_query), conf bw), at least |l_ref - l_query|
        bw = np.minimum(np.maximum(lr, lq), np.asarray(bws, dtype=np.int64))
        bw = np.maximum(bw, np.abs(lr - lq))
        # htslib keeps d and e as C floats
        d = np.asarray(ds, dtype=np.float32).astype(np.float64)
        e = np.asarray(es, dtype=np.float32).astype(np.float64)
        return cls(ref, query, qual, lr, lq, bw, d, e)


def _transitions(xp, l_ref, l_query, d, e):
    """Transition matrix m[0..8], sM (= sI), bM, bI per read (htslib's formulas, same order)."""
    sM = 1.0 / (2 * l_query.astype(xp.float64) + 2)
    sI = sM
    m = [
        (1 - d - d) * (1 - sM), d * (1 - sM), d * (1 - sM),
        (1 - e) * (1 - sI), e * (1 - sI), xp.zeros_like(sM),
        1 - e, xp.zeros_like(sM), e,
    ]
    bM = (1 - d) / l_ref.astype(xp.float64)
    bI = d / l_ref.astype(xp.float64)
    return m, sM, sI, bM, bI


def _emission(xp, r, qb, qp):
    """htslib's E[] table: ambiguous -> 1, match -> 1 - p, mismatch -> p * EM."""
    return xp.where((r > 3) | (qb > 3), 1.0, xp.where(r == qb, 1.0 - qp, qp * EM))


# ---------------------------------------------------------------------------
# the program, written once over an array module; rows are looped by the caller
# ---------------------------------------------------------------------------

def _gather_cols(xp, arr, idx):
    """arr (B, L) at per-read column indices idx (B, W); out of range -> 4 (ambiguous)."""
    L = arr.shape[1]
    ok = (idx >= 0) & (idx < L)
    safe = xp.clip(idx, 0, L - 1)
    vals = xp.take_along_axis(arr, safe, axis=1)
    return xp.where(ok, vals, 4)


class _Program:
    """Row steps of the banded forward / backward / MAP computation."""

    def __init__(self, xp, P, W, zero=None):
        self.xp = xp
        self.W = W
        self.ref, self.query, self.qual = P["ref"], P["query"], P["qual"]
        self.lr, self.lq, self.bw = P["l_ref"], P["l_query"], P["bw"]
        self.m, self.sM, self.sI, self.bM, self.bI = _transitions(xp, self.lr, self.lq, P["d"], P["e"])
        self.j = xp.arange(W)[None, :]
        bw2 = 2 * self.bw + 1
        self.case_b = bw2 >= self.lr  # htslib row stride is 3 * l_ref + 6 here
        if xp is np:
            self.P = lambda x: x
        else:
            # XLA on CPU/GPU contracts ``a * b + c`` into a fused multiply-add, which rounds
            # once instead of twice.  Passing each product through an integer XOR with a
            # zero the compiler cannot see keeps htslib's two roundings.
            import jax

            lax = jax.lax

            def opaque(x):
                return lax.bitcast_convert_type(lax.bitcast_convert_type(x, xp.int64) ^ zero, xp.float64)

            self.P = opaque

    def offset(self, i):
        xp = self.xp
        return xp.maximum(i - self.bw, 0)

    def band(self, i):
        """(k, valid) for row i: k = offset + j, valid inside [max(1, i - bw), min(l_ref, i + bw)]."""
        xp = self.xp
        o = self.offset(i)
        k = o[:, None] + self.j
        lo = xp.maximum(1, i - self.bw)[:, None]
        hi = xp.minimum(self.lr, i + self.bw)[:, None]
        valid = (k >= lo) & (k <= hi) & (i <= self.lq)[:, None]
        return k, valid

    def col(self, arr, i):
        """Column i (0-based) of a (B, L) array as (B,), clamped."""
        xp = self.xp
        ii = xp.clip(i, 0, arr.shape[1] - 1)
        return xp.take_along_axis(arr, ii[:, None], axis=1)[:, 0]

    # -- forward ------------------------------------------------------------
    def forward_row1(self):
        xp = self.xp
        B = self.lr.shape[0]
        i = xp.ones(B, dtype=self.lr.dtype)
        k, valid = self.band(i)
        r = _gather_cols(xp, self.ref, k - 1)
        e = _emission(xp, r, self.query[:, :1], self.qual[:, :1])
        f0 = xp.where(valid, self.P(e * self.bM[:, None]), 0.0)
        f1 = xp.where(valid, self.P((EI * self.bI)[:, None] * xp.ones_like(e)), 0.0)
        f2 = xp.zeros_like(f0)
        if xp is np:
            return f0, f1, f2, _seq_sum(f0 + f1)
        s = xp.zeros(B)
        for j in range(self.W):
            s = s + (f0[:, j] + f1[:, j])
        return f0, f1, f2, s

    def forward_row(self, i, prev, s_prev):
        """Row i >= 2 from row i - 1 (band arrays (B, W) x 3) and s[i - 1]."""
        xp = self.xp
        m = self.m
        p0, p1, p2 = prev
        delta = (self.offset(i) - self.offset(i - 1))[:, None]
        z = xp.zeros_like(p0[:, :1])

        def km1(p):  # value at k - 1 of the previous row: band index j + delta - 1
            left = xp.concatenate([z, p[:, :-1]], axis=1)
            return xp.where(delta == 1, p, left)

        def k0(p):  # value at k of the previous row: band index j + delta
            right = xp.concatenate([p[:, 1:], z], axis=1)
            return xp.where(delta == 1, right, p)

        k, valid = self.band(i)
        M = self.P(1.0 / s_prev)
        xm0 = M * m[0]
        xm1 = M * m[3]
        xm2 = M * m[6]
        xm3 = EI * M * m[1]
        xm4 = EI * M * m[4]
        qb = self.col(self.query, i - 1)[:, None]
        qp = self.col(self.qual, i - 1)[:, None]
        r = _gather_cols(xp, self.ref, k - 1)
        E = _emission(xp, r, qb, qp)
        P = self.P
        z0 = P(xm0[:, None] * km1(p0))
        z1 = P(xm1[:, None] * km1(p1))
        z2 = P(xm2[:, None] * km1(p2))
        z3 = P(xm3[:, None] * k0(p0))
        z4 = P(xm4[:, None] * k0(p1))
        x0 = xp.where(valid, P(E * ((z0 + z1) + z2)), 0.0)
        x1 = xp.where(valid, z3 + z4, 0.0)
        if xp is np:  # the D chain as a scan, the row sum in column order (htslib's rounding)
            a = np.zeros_like(x0)
            a[:, 1:] = _per_problem(m[2]) * x0[:, :-1]
            x2 = _chain(a, valid, m[8])
            s = _seq_sum((x0 + x1) + x2)
            return (x0, x1, x2), np.where(i <= self.lq, s, 1.0)
        cols2 = []
        s = xp.zeros_like(s_prev)
        l0 = xp.zeros_like(s_prev)
        l2 = xp.zeros_like(s_prev)
        m2, m8 = m[2], m[8]
        for j in range(self.W):
            c2 = xp.where(valid[:, j], l0 + l2, 0.0)
            cols2.append(c2)
            s = s + ((x0[:, j] + x1[:, j]) + c2)
            l0 = P(m2 * x0[:, j])
            l2 = P(m8 * c2)
        x2 = xp.stack(cols2, axis=1)
        live = i <= self.lq
        s = xp.where(live, s, 1.0)
        return (x0, x1, x2), s

    def terminal(self, last, s_lq):
        """s[l_query + 1] from row l_query."""
        xp = self.xp
        f0, f1, _ = last
        k, valid = self.band(self.lq)
        keep = valid & ~(self.case_b[:, None] & (self.offset(self.lq)[:, None] == 0) & (k == self.lr[:, None]))
        M = self.P(1.0 / s_lq)
        if xp is np:
            t = (M[:, None] * f0) * self.sM[:, None] + (M[:, None] * f1) * self.sI[:, None]
            return _seq_sum(np.where(keep, t, 0.0)), keep
        s = xp.zeros_like(s_lq)
        for j in range(self.W):
            t = self.P((M * f0[:, j]) * self.sM) + self.P((M * f1[:, j]) * self.sI)
            s = s + xp.where(keep[:, j], t, 0.0)
        return s, keep

    # -- backward -----------------------------------------------------------
    def backward_init(self, keep, s_lq, s_end):
        xp = self.xp
        b0 = xp.where(keep, ((self.sM / s_lq) / s_end)[:, None], 0.0)
        b1 = xp.where(keep, ((self.sI / s_lq) / s_end)[:, None], 0.0)
        return b0, b1, xp.zeros_like(b0)

    def backward_row(self, i, nxt, s_i):
        """Row i (1 <= i < l_query) from row i + 1."""
        xp = self.xp
        m = self.m
        n0, n1, _ = nxt
        delta = (self.offset(i + 1) - self.offset(i))[:, None]
        z = xp.zeros_like(n0[:, :1])

        def at(p, shift):  # next-row value at band index j - delta + shift
            # shift 0 -> k (j - delta), shift 1 -> k + 1 (j - delta + 1)
            left = xp.concatenate([z, p[:, :-1]], axis=1)  # index j - 1
            right = xp.concatenate([p[:, 1:], z], axis=1)  # index j + 1
            if shift == 0:
                return xp.where(delta == 1, left, p)
            return xp.where(delta == 1, p, right)

        k, valid = self.band(i)
        qb = self.col(self.query, i)[:, None]
        qp = self.col(self.qual, i)[:, None]
        r = _gather_cols(xp, self.ref, k)
        E = _emission(xp, r, qb, qp)
        e = xp.where(k >= self.lr[:, None], 0.0, E * at(n0, 1))
        y1 = at(n1, 0)
        e1 = EI * m[1]
        e4 = EI * m[4]
        y = (i > 1).astype(xp.float64) if hasattr(i, "astype") else float(i > 1)
        nrm = self.P(1.0 / s_i)
        if xp is np:  # the D chain scanned right to left, then every column at once
            m0, m2, m3, m6 = (_per_problem(m[k]) for k in (0, 2, 3, 6))
            e1c, e4c = _per_problem(e1), _per_problem(e4)
            y = np.broadcast_to(np.asarray(y, dtype=np.float64), s_i.shape)
            x5 = _chain((e * m6)[:, ::-1], valid[:, ::-1], m[8], scale=y)[:, ::-1]
            nxt = np.zeros_like(x5)
            nxt[:, :-1] = x5[:, 1:]  # x5 of column j + 1, used by column j
            a1 = e * m3 + e4c * y1
            a0 = (e * m0 + e1c * y1) + m2 * nxt
            c0 = np.where(valid, a0 * nrm[:, None], 0.0)
            c1 = np.where(valid, a1 * nrm[:, None], 0.0)
            return c0, c1, x5 * nrm[:, None]
        c0, c1, c2 = [None] * self.W, [None] * self.W, [None] * self.W
        x5 = xp.zeros_like(s_i)
        m0, m2, m3, m6, m8 = m[0], m[2], m[3], m[6], m[8]
        for j in range(self.W - 1, -1, -1):
            ej = e[:, j]
            v = valid[:, j]
            P = self.P
            a1 = P(ej * m3) + P(e4 * y1[:, j])
            a0 = (P(ej * m0) + P(e1 * y1[:, j])) + P(m2 * x5)
            a2 = (P(ej * m6) + P(m8 * x5)) * y
            a2 = xp.where(v, a2, 0.0)
            x5 = a2
            c0[j] = xp.where(v, a0 * nrm, 0.0)
            c1[j] = xp.where(v, a1 * nrm, 0.0)
            c2[j] = a2 * nrm
        return xp.stack(c0, axis=1), xp.stack(c1, axis=1), xp.stack(c2, axis=1)

    # -- MAP ------------------------------------------------------------------
    def map_rows(self, F0, F1, B0, B1, S, rows):
        """Posterior argmax for rows (R,) given row arrays (R, B, W); returns state, q (R, B)."""
        xp = self.xp
        R = rows.shape[0]
        Bn = self.lr.shape[0]
        o = xp.maximum(rows[:, None] - self.bw[None, :], 0)
        k = o[:, :, None] + self.j[None]
        lo = xp.maximum(1, rows[:, None] - self.bw[None, :])[:, :, None]
        hi = xp.minimum(self.lr[None, :], rows[:, None] + self.bw[None, :])[:, :, None]
        valid = (k >= lo) & (k <= hi)
        M = self.P(1.0 / S)
        if xp is np:  # first column holding the (positive) maximum, as the strict > of the loop below
            z1 = np.where(valid, (M[:, :, None] * F0) * B0, 0.0)
            z2 = np.where(valid, (M[:, :, None] * F1) * B1, 0.0)
            which = z2 > z1
            zm = np.where(which, z2, z1)
            best = np.argmax(zm, axis=2)
            mx = np.take_along_axis(zm, best[:, :, None], axis=2)[:, :, 0]
            kb = np.take_along_axis(np.broadcast_to(k, zm.shape), best[:, :, None], axis=2)[:, :, 0]
            wb = np.take_along_axis(which, best[:, :, None], axis=2)[:, :, 0]
            mk = np.where(mx > 0, ((kb - 1) << 2) | wb.astype(np.int64), -1)
            mx = np.where(mx > 0, mx, 0.0)
            sm = _seq_sum(z1 + z2)
            return mk, mx, sm
        mx = xp.zeros((R, Bn))
        mk = xp.full((R, Bn), -1, dtype=xp.int64)
        sm = xp.zeros((R, Bn))
        for j in range(self.W):
            v = valid[:, :, j]
            z1 = xp.where(v, self.P((M * F0[:, :, j]) * B0[:, :, j]), 0.0)
            z2 = xp.where(v, self.P((M * F1[:, :, j]) * B1[:, :, j]), 0.0)
            which = z2 > z1
            zm = xp.where(which, z2, z1)
            up = zm > mx
            mx = xp.where(up, zm, mx)
            mk = xp.where(up, ((k[:, :, j] - 1) << 2) | which.astype(xp.int64), mk)
            sm = sm + (z1 + z2)
        # posterior of the best state; converted to Phred on the host (:func:`_phred`) because
        # XLA's log is not correctly rounded and the .499 rounding is sensitive to the last bit
        return mk, mx, sm


def _seq_sum(t: np.ndarray) -> np.ndarray:
    """Sums over the last axis, added left to right one term at a time (as a C loop does; ``sum`` pairs terms)."""
    if not t.shape[-1]:
        return np.zeros(t.shape[:-1])
    return np.add.accumulate(t, axis=-1)[..., -1]


def _per_problem(v):
    """A per-problem value (scalar or (B,)) shaped to broadcast over the columns of a (B, W) array."""
    v = np.asarray(v, dtype=np.float64)
    return v[:, None] if v.ndim == 1 else v


def _chain(a: np.ndarray, valid: np.ndarray, coef, scale=None) -> np.ndarray:
    """``c[:, j] = valid ? (a[:, j] + coef * c[:, j - 1]) * scale : 0``, column by column (exact rounding).

    Wide rows of few problems run as a scalar loop per problem; narrow rows
    of many problems as one vector step per column.
    """
    B, W = a.shape
    out = np.zeros_like(a)
    sc = np.broadcast_to(np.ones(B) if scale is None else np.asarray(scale, dtype=np.float64), (B,))
    cf = np.broadcast_to(np.asarray(coef, dtype=np.float64), (B,))
    if W > 4 * B:
        for b in range(B):
            av, vv, s_, c_ = a[b].tolist(), valid[b].tolist(), float(sc[b]), float(cf[b])
            col = [0.0] * W
            prev = 0.0
            for j in range(W):
                prev = (av[j] + c_ * prev) * s_ if vv[j] else 0.0
                col[j] = prev
            out[b] = col
        return out
    prev = np.zeros(B)
    for j in range(W):
        prev = np.where(valid[:, j], (a[:, j] + cf * prev) * sc, 0.0)
        out[:, j] = prev
    return out


def _phred(mx, sm):
    """htslib: ``k = (int)(-4.343 * log(1 - max / sum) + .499)``, 99 when ``k > 100``."""
    mx = np.asarray(mx)
    sm = np.asarray(sm)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = mx / sm
        val = -4.343 * np.log(1.0 - r) + 0.499
    fin = np.isfinite(val)
    k = np.where(fin, np.trunc(np.where(fin, val, 0.0)), 0.0)  # C: inf/nan -> INT_MIN -> stored as 0
    return np.where(k > 100, 99, k).astype(np.int64)


def _as_inputs(xp, P: BaqProblems):
    return {
        "ref": xp.asarray(P.ref), "query": xp.asarray(P.query), "qual": xp.asarray(P.qual),
        "l_ref": xp.asarray(P.l_ref), "l_query": xp.asarray(P.l_query), "bw": xp.asarray(P.bw),
        "d": xp.asarray(P.d), "e": xp.asarray(P.e),
    }


def probaln_numpy(P: BaqProblems, W: int | None = None):
    """Banded glocal HMM realignment (numpy reference).

    Returns
    -------
    state : (B, Lq) int64
        ``(ref column) << 2 | (0 match, 1 insertion)`` of the most likely state, -1 if none.
    q : (B, Lq) int64
        Phred-scaled probability that ``state`` is wrong (capped at 99 above 100).
    """
    xp = np
    W = W or int(2 * P.bw.max(initial=0) + 2)
    prog = _Program(xp, _as_inputs(xp, P), W)
    B = len(P)
    Lq = P.query.shape[1]
    F = [None] * (Lq + 1)
    S = np.ones((Lq + 2, B))
    f0, f1, f2, s1 = prog.forward_row1()
    F[1] = (f0, f1, f2)
    S[1] = np.where(1 <= P.l_query, s1, 1.0)
    for i in range(2, Lq + 1):
        iv = np.full(B, i, dtype=np.int64)
        F[i], S[i] = prog.forward_row(iv, F[i - 1], S[i - 1])
    lq = P.l_query
    ar = np.arange(B)
    last = [np.zeros((B, W)) for _ in range(3)]
    for i in range(1, Lq + 1):
        sel = lq == i
        if sel.any():
            for c in range(3):
                last[c][sel] = F[i][c][sel]
    s_lq = S[lq, ar]
    s_end, keep = prog.terminal(tuple(last), s_lq)
    init = prog.backward_init(keep, s_lq, s_end)
    zero = np.zeros((B, W))
    cur = (zero, zero, zero)
    state = np.full((B, Lq), -1, dtype=np.int64)
    mxs = np.zeros((B, Lq))
    sms = np.ones((B, Lq))
    for i in range(Lq, 0, -1):
        iv = np.full(B, i, dtype=np.int64)
        if i < Lq:
            rec = prog.backward_row(iv, cur, S[i])
        else:
            rec = (zero, zero, zero)
        at_end = (lq == i)[:, None]
        cur = tuple(np.where(at_end, a, np.where((i < lq)[:, None], b, 0.0)) for a, b in zip(init, rec))
        # posterior decoding of row i while its forward and backward values are at hand
        st, mx, sm = prog.map_rows(F[i][0][None], F[i][1][None], cur[0][None], cur[1][None], S[i][None],
                                   np.array([i]))
        live = i <= lq
        state[:, i - 1] = np.where(live, st[0], -1)
        mxs[:, i - 1] = mx[0]
        sms[:, i - 1] = np.where(live, sm[0], 1.0)
    q = np.where(state >= -1, _phred(mxs, sms), 0)
    q = np.where((np.arange(Lq)[None, :] < lq[:, None]), q, 0)
    return state, q


_JITTED = {}


def _jax_fn(W: int):
    if W in _JITTED:
        return _JITTED[W]
    jax = get_jax()
    jnp = jax.numpy

    def run(ref, query, qual, l_ref, l_query, bw, d, e, zero):
        TRACE_COUNTS[("probaln", ref.shape, query.shape, W)] += 1
        P = {"ref": ref, "query": query, "qual": qual, "l_ref": l_ref, "l_query": l_query, "bw": bw,
             "d": d, "e": e}
        prog = _Program(jnp, P, W, zero)
        B = l_ref.shape[0]
        Lq = query.shape[1]
        f0, f1, f2, s1 = prog.forward_row1()
        s1 = jnp.where(1 <= l_query, s1, 1.0)

        def fstep(carry, i):
            prev, sp = carry
            iv = jnp.full((B,), i, dtype=l_ref.dtype)
            row, s = prog.forward_row(iv, prev, sp)
            return (row, s), (row, s)

        _, (Frows, Srows) = jax.lax.scan(fstep, ((f0, f1, f2), s1), jnp.arange(2, Lq + 1))
        F0 = jnp.concatenate([f0[None], Frows[0]])  # rows 1..Lq
        F1 = jnp.concatenate([f1[None], Frows[1]])
        F2 = jnp.concatenate([f2[None], Frows[2]])
        S = jnp.concatenate([s1[None], Srows])  # rows 1..Lq
        idx = jnp.arange(B)
        last = (F0[l_query - 1, idx], F1[l_query - 1, idx], F2[l_query - 1, idx])
        s_lq = S[l_query - 1, idx]
        s_end, keep = prog.terminal(last, s_lq)
        init = prog.backward_init(keep, s_lq, s_end)
        zero = jnp.zeros((B, W))

        def bstep(cur, i):
            iv = jnp.full((B,), i, dtype=l_ref.dtype)
            rec = prog.backward_row(iv, cur, S[i - 1])
            at_end = (l_query == i)[:, None]
            inner = (i < l_query)[:, None]
            new = tuple(jnp.where(at_end, a, jnp.where(inner, b, 0.0)) for a, b in zip(init, rec))
            return new, (new[0], new[1])

        _, (B0r, B1r) = jax.lax.scan(bstep, (zero, zero, zero), jnp.arange(Lq, 0, -1))
        B0 = B0r[::-1]
        B1 = B1r[::-1]
        rows = jnp.arange(1, Lq + 1)
        state, mx, sm = prog.map_rows(F0, F1, B0, B1, S, rows)
        live = rows[:, None] <= l_query[None, :]
        return jnp.where(live, state, -1).T, mx.T, jnp.where(live, sm, 1.0).T

    fn = jax.jit(run)
    _JITTED[W] = fn
    return fn


def probaln_jax(P: BaqProblems, W: int | None = None):
    """:func:`probaln_numpy` jitted with JAX (float64), same results bit for bit.

    Shapes are padded to power-of-two buckets (reads, query length, reference
    length, band), so batches within a bucket reuse one compiled program.
    """
    jax = get_jax()
    B = len(P)
    if B == 0:
        return np.zeros((0, P.query.shape[1]), np.int64), np.zeros((0, P.query.shape[1]), np.int64)
    W = max(W or 0, int(2 * P.bw.max(initial=0) + 2))  # the band must fit every read
    Wb = bucket(W, 16)
    Bb = bucket(B, 8)
    Lq = P.query.shape[1]
    Lr = P.ref.shape[1]
    Lqb, Lrb = bucket(Lq, 16), bucket(Lr, 16)

    def pad(a, shape, fill):
        out = np.full(shape, fill, dtype=a.dtype)
        out[tuple(slice(0, s) for s in a.shape)] = a
        return out

    args = (
        pad(P.ref, (Bb, Lrb), 4), pad(P.query, (Bb, Lqb), 4), pad(P.qual, (Bb, Lqb), 0.0),
        pad(P.l_ref, (Bb,), 1), pad(P.l_query, (Bb,), 1), pad(P.bw, (Bb,), 1),
        pad(P.d, (Bb,), 0.001), pad(P.e, (Bb,), 0.1), np.int64(0),
    )
    with jax.enable_x64(True):
        state, mx, sm = _jax_fn(Wb)(*args)
        state = np.asarray(state)[:B, :Lq]
        q = _phred(np.asarray(mx)[:B, :Lq], np.asarray(sm)[:B, :Lq])
        q = np.where(state >= -1, q, 0)
    return state.astype(np.int64), q.astype(np.int64)


# ---------------------------------------------------------------------------
# reads -> problems -> capped qualities (htslib sam_prob_realn, extended BAQ)
# ---------------------------------------------------------------------------

def prepare_baq(pos, cigar_ops, seq_codes, quals, ref_codes, ref_len):
    """One read's realignment problem, or None when htslib leaves the read alone.

    Parameters
    ----------
    pos : int
    cigar_ops : (n,) uint32 BAM-encoded CIGAR
    seq_codes : (l,) uint8 4-bit bases
    quals : (l,) uint8
    ref_codes : (L,) uint8 reference as 0..4 (whole contig)
    ref_len : int

    Returns
    -------
    tuple or None
        ``(tref, tseq, quals, conf_bw, d, e, xb)``.
    """
    l_qseq = len(seq_codes)
    if l_qseq == 0 or quals[0] == 0xFF:
        return None
    x, y = int(pos), 0
    yb = ye = xb = xe = -1
    for c in cigar_ops.tolist():
        op, ln = c & 15, c >> 4
        if op in (0, 7, 8):
            if yb < 0:
                yb = y
            if xb < 0:
                xb = x
            ye, xe = y + ln, x + ln
            x += ln
            y += ln
        elif op in (1, 4):
            y += ln
        elif op == 2:
            x += ln
        elif op == 3:
            return None
    if xb == -1:
        return None
    bw = 7
    if abs((xe - xb) - (ye - yb)) > bw:
        bw = abs((xe - xb) - (ye - yb)) + 3
    xb -= yb + bw // 2
    if xb < 0:
        xb = 0
    xe += l_qseq - ye + bw // 2
    if xe - xb - l_qseq > bw:
        # htslib updates xb first and then recomputes the shift for xe (C comma operator)
        xb += (xe - xb - l_qseq - bw) // 2
        xe -= (xe - xb - l_qseq - bw) // 2 if xe - xb - l_qseq - bw >= 0 else -((-(xe - xb - l_qseq - bw)) // 2)
    xe = min(xe, ref_len)
    if xe - xb <= 0:
        return None
    tref = ref_codes[xb:xe]
    tseq = NT16_INT[seq_codes]
    if l_qseq > 1000:
        d, e = 1e-7, 1e-1
    else:
        d, e = 0.001, 0.1
    return tref, tseq, quals, bw, d, e, xb


def apply_extended_baq(pos, cigar_ops, quals, state, q, xb):
    """Cap aligned base qualities at the smoothed BAQ (htslib's extended BAQ, applied)."""
    qual = quals.astype(np.int64).copy()
    l_qseq = len(qual)
    x, y = int(pos), 0
    for c in cigar_ops.tolist():
        op, ln = c & 15, c >> 4
        if ln == 0:
            continue
        if op in (0, 7, 8):
            ln = min(ln, l_qseq - y)
            if ln > 0:
                st = state[y:y + ln]
                ok = ((st & 3) == 0) & ((st >> 2) == (x - xb) + np.arange(ln))
                bq = np.where(ok, q[y:y + ln], 0)
                left = np.maximum.accumulate(bq)
                right = np.maximum.accumulate(bq[::-1])[::-1]
                bq = np.minimum(left, right)
                seg = qual[y:y + ln]
                qual[y:y + ln] = np.where(seg <= bq, seg, bq)
            x += ln
            y += ln
        elif op in (1, 4):
            y += min(ln, l_qseq - y)
        elif op == 2:
            x += ln
    return qual.astype(np.uint8)


def baq_qualities(batch, rows, ref_ascii, *, backend: str = "jax", max_batch: int = 4096):
    """BAQ-capped qualities for reads ``rows`` of ``batch`` mapped to one contig.

    Parameters
    ----------
    batch : AlignmentBatch
    rows : (n,) int array of read indices (all on the contig of ``ref_ascii``)
    ref_ascii : (L,) uint8 the contig's reference bases (ASCII)
    backend : {"jax", "numpy"}

    Returns
    -------
    dict of int to ndarray
        read index -> new qualities (only reads BAQ changed or examined).
    """
    ref_codes = ASCII_INT[ref_ascii]
    ref_len = len(ref_ascii)
    probs = []
    for r in np.asarray(rows).tolist():
        s0, s1 = batch.seq_offsets[r], batch.seq_offsets[r + 1]
        ops = batch.cigar[batch.cigar_offsets[r]:batch.cigar_offsets[r + 1]]
        pr = prepare_baq(batch.pos[r], ops, batch.seq[s0:s1], batch.qual[s0:s1], ref_codes, ref_len)
        if pr is not None:
            probs.append((r, ops, pr))
    out = {}
    if not probs:
        return out
    # group by (bucketed) shape so padding stays small
    keyed = {}
    wide = []
    for item in list(probs):
        tref, tseq, _, bw, _, _, _ = item[2]
        ebw = max(min(max(len(tref), len(tseq)), bw), abs(len(tref) - len(tseq)))  # probaln's band
        if ebw > MAX_BAND:  # a long deletion or skip: solved alone with numpy, over htslib's full band
            wide.append(item)
            continue
        key = (bucket(len(tseq), 16), bucket(len(tref), 16), bucket(2 * ebw + 2, 16))
        keyed.setdefault(key, []).append(item)
    for r, ops, pr in wide:
        P = BaqProblems.build([pr[0]], [pr[1]], [pr[2]], [pr[3]], [pr[4]], [pr[5]])
        state, q = probaln_numpy(P)
        lq = len(pr[1])
        out[r] = apply_extended_baq(batch.pos[r], ops, pr[2], state[0, :lq], q[0, :lq], pr[6])
    solve = probaln_jax if backend == "jax" else probaln_numpy
    for key, items in keyed.items():
        for start in range(0, len(items), max_batch):
            chunk = items[start:start + max_batch]
            P = BaqProblems.build([c[2][0] for c in chunk], [c[2][1] for c in chunk], [c[2][2] for c in chunk],
                                  [c[2][3] for c in chunk], [c[2][4] for c in chunk], [c[2][5] for c in chunk],
                                  Lq=key[0] if backend == "jax" else None, Lr=key[1] if backend == "jax" else None)
            state, q = solve(P) if backend != "jax" else solve(P, W=key[2])
            for n, (r, ops, pr) in enumerate(chunk):
                lq = len(pr[1])
                out[r] = apply_extended_baq(batch.pos[r], ops, pr[2], state[n, :lq], q[n, :lq], pr[6])
    return out
