"""Diploid genotype likelihoods from pileup observations (the samtools/bcftools error model).

The model is the one of Li (2011), *A statistical framework for SNP calling,
mutation discovery, association mapping and population genetical parameter
estimation from sequencing data*, as implemented by htslib's ``errmod``
and used by ``bcftools mpileup``.  Errors at one site are not independent:
when a base is read ``k`` times with errors, the ``k``-th error costs less
than the first.  Written out:

* every observation is a 16-bit word ``q << 5 | strand << 4 | base`` (base
  0..3 = A C G T, 4 = N; ``q`` is already the combined base/mapping quality,
  see :func:`observation_quality`); at most 255 observations per pileup;
* the words of one pileup are visited from the largest to the smallest
  (best quality first).  For the ``i``-th visit of a (base, strand) pair
  (``i = 0, 1, ...``) the observation gets the weight
  ``f_i = (1 - depcorr)^i (1 - eta) + eta`` (``depcorr = 1 - theta``,
  ``theta = 0.83``, ``eta = 0.03``): repeated errors on the same strand are
  discounted;
* the observation then adds ``f_i * beta[q, n, c]`` to the error score of
  its base, where ``n`` is the pileup size and ``c`` the number of the same
  base visited before (either strand).  ``beta[q, n, k]`` is the phred-scaled
  ratio of the binomial tails ``P(K >= k + 1) / P(K >= k)`` for ``K ~
  Binomial(n, 10^(-q/10))``: the cost of one more error given ``k`` already;
* homozygous ``j/j``: phred score = sum of the error scores of every other
  base (0 when no other base was seen); heterozygous ``j/k``: the binomial
  cost of splitting the ``c_j + c_k`` reads of the two bases as observed,
  ``-10 log10(C(c_j+c_k, c_k) / 2^(c_j+c_k))``, plus the error scores of the
  remaining bases; scores below 0 become 0.

The result for a pileup is a symmetric ``5 x 5`` matrix of phred-scaled
likelihoods ``-10 log10 P(data | j/k)`` (up to a constant) over the bases
``A C G T N``.  :func:`pl_from_phred` turns a subset of it into the integer
``PL`` of a VCF record exactly as bcftools does (subtract the minimum, round
with ``+ 0.499``, cap at 255).

Three implementations, tested against each other:

* :func:`errmod_scalar` -- one pileup, a plain loop (the readable reference);
* :func:`genotype_phred_numpy` -- vectorised over pileups;
* :func:`genotype_phred_jax` -- ``jax.vmap`` over pileups, jitted, padded to
  power-of-two buckets in both the pileup count and the depth so that
  regions of similar size reuse the compiled program
  (:data:`TRACE_COUNTS` ``["genotype"]`` counts traces).

The tables (:func:`errmod_tables`) are built once per ``(depcorr, eta)`` in
float64; the JAX kernel works in float32 (differences are ~1e-4 phred).
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from ._jax import bucket, get_jax
from .coverage import TRACE_COUNTS

__all__ = [
    "THETA",
    "ETA",
    "MAX_OBS",
    "N_BASES",
    "errmod_tables",
    "encode_observations",
    "observation_quality",
    "errmod_scalar",
    "genotype_phred_numpy",
    "genotype_phred_jax",
    "genotype_phred",
    "pl_from_phred",
    "genotype_index",
]

#: bcftools' default error dependency (``CALL_DEFTHETA``); depcorr = 1 - theta
THETA = 0.83
#: floor of the per-observation weight
ETA = 0.03
#: pileups are cut to this many observations (the tables stop at 255)
MAX_OBS = 255
#: bases of the likelihood matrix: A C G T N
N_BASES = 5


def errmod_tables(theta: float = THETA, eta: float = ETA):
    """Weight, tail-ratio and heterozygous-split tables of the error model.

    Parameters
    ----------
    theta : float
        1 - error dependency (bcftools: 0.83).
    eta : float
        Floor of the weights (0.03).

    Returns
    -------
    fk : (256,) float64
        ``fk[i] = (1 - depcorr)^i (1 - eta) + eta``, ``fk[0] = 1``.
    beta : (64, 256, 256) float64
        ``beta[q, n, k]`` (``1 <= q < 64``, ``1 <= n <= 255``, ``0 <= k < n``):
        ``-10 log10(P(K > k) / P(K >= k))`` for ``K ~ Bin(n, 10^(-q/10))``;
        ``beta[q, n, n] = inf``; unused cells 0.
    lhet : (256, 256) float64
        ``lhet[n, k] = ln C(n, k) - n ln 2`` (``C(n, k) = 1`` for ``k = 0``;
        cells with ``k > n`` hold ``-n ln 2``).
    """
    return _tables(float(theta), float(eta))


@lru_cache(maxsize=4)
def _tables(theta: float, eta: float):
    depcorr = 1.0 - float(theta)
    i = np.arange(256, dtype=np.float64)
    fk = (1.0 - depcorr) ** i * (1.0 - eta) + eta
    fk[0] = 1.0
    lf = np.array([math.lgamma(x + 1) for x in range(256)])
    n_ = np.arange(256)[:, None]
    k_ = np.arange(256)[None, :]
    with np.errstate(invalid="ignore"):
        lc = lf[n_] - lf[k_] - lf[np.clip(n_ - k_, 0, None)]
    lc = np.where((k_ >= 1) & (k_ <= n_) & (n_ >= 1), lc, 0.0)
    beta = np.zeros((64, 256, 256), dtype=np.float64)
    q = np.arange(1, 64, dtype=np.float64)[:, None]          # (63, 1)
    e = 10.0 ** (-q / 10.0)
    le, le1 = np.log(e), np.log1p(-e)
    n = np.arange(1, 256)[None, :]                          # (1, 255)
    # log P(K >= k) accumulated from k = n downwards
    acc = lc[n, n] + n * le                                 # log P(K = n)
    beta[1:, n[0], n[0]] = np.inf
    for k in range(254, -1, -1):
        active = k < n                                      # (1, 255)
        nk = np.clip(n, k + 1, None)
        term = lc[nk, k] + k * le + (nk - k) * le1
        nxt = acc + np.log1p(np.exp(term - acc))
        val = -10.0 / math.log(10.0) * (acc - nxt)
        cols = np.flatnonzero(active[0])
        beta[1:, cols + 1, k] = val[:, cols]
        acc = np.where(active, nxt, acc)
    lhet = lc - math.log(2.0) * np.arange(256)[:, None]
    return fk, beta, lhet


def observation_quality(base_qual, map_qual, *, max_base_quality: int = 60, cap_mapping_quality: int = 60,
                        default_mapping_quality: int = 20) -> np.ndarray:
    """Quality of an observation as bcftools mpileup forms it.

    ``min(base_qual, max_base_quality, mapq)`` with ``mapq = min(MAPQ,
    cap_mapping_quality)`` (MAPQ 255, "unavailable", counts as
    ``default_mapping_quality``), then clamped to ``[4, 63]`` (MAPQ-0 reads
    count as quality 4).
    """
    bq = np.minimum(np.asarray(base_qual, dtype=np.int64), int(max_base_quality))
    mq = np.asarray(map_qual, dtype=np.int64)
    mq = np.where(mq == 255, int(default_mapping_quality), mq)
    mq = np.minimum(mq, int(cap_mapping_quality))
    return np.clip(np.minimum(bq, mq), 4, 63)


def encode_observations(base, qual, strand) -> np.ndarray:
    """Pack observations into bcftools' 16-bit words ``q << 5 | strand << 4 | base``.

    ``qual`` is clamped to ``[4, 63]``, so a valid word is never 0 (0 pads).
    """
    q = np.clip(np.asarray(qual, dtype=np.int64), 4, 63)
    b = np.asarray(base, dtype=np.int64)
    if np.any((b < 0) | (b > 4)):
        raise ValueError("base must be 0..4 (A C G T N)")
    s = np.asarray(strand, dtype=np.int64) & 1
    return (q << 5 | s << 4 | b).astype(np.uint16)


_IDX = np.arange(N_BASES)
#: _OTHER_HOM[j, i]: base i is an error under j/j; _OTHER_HET[j, k, i]: under j/k
_OTHER_HOM = (_IDX[:, None] != _IDX[None, :]).astype(np.float64)
_OTHER_HET = ((_IDX[None, None, :] != _IDX[:, None, None]) & (_IDX[None, None, :] != _IDX[None, :, None])).astype(
    np.float64)


def _likelihood_matrix(bsum, cnt, lhet, xp):
    """(..., 5) error scores and counts -> (..., 5, 5) phred matrix (homozygous + heterozygous rules).

    Sums over "the other bases" are taken with masks (not as total minus
    the excluded bases) so no precision is lost to cancellation in float32.
    """
    dt = bsum.dtype
    hom_mask = xp.asarray(_OTHER_HOM, dtype=dt)
    het_mask = xp.asarray(_OTHER_HET, dtype=dt)
    cntf = cnt.astype(dt)
    # homozygous j/j: error scores of every base but j (0 when no other base was seen)
    hom = (bsum[..., None, :] * hom_mask).sum(-1)  # elementwise, not matmul: no TF32 on GPUs
    hom = xp.where((cntf[..., None, :] * hom_mask).sum(-1) > 0, hom, 0.0)
    # heterozygous j/k: binomial cost of the j/k split plus the error scores of the other bases
    rest = (bsum[..., None, None, :] * het_mask).sum(-1)
    others = (cntf[..., None, None, :] * het_mask).sum(-1) > 0
    cjk = xp.minimum(cnt[..., :, None] + cnt[..., None, :], 255)  # > 255 only on the (unused) diagonal
    ck = xp.broadcast_to(cnt[..., None, :], cjk.shape)
    split = -4.343 * lhet[cjk, ck]  # C(n, k) = C(n, n - k): symmetric in j, k
    het = xp.where(others, split + rest, split)
    eye = xp.eye(N_BASES, dtype=bool)
    out = xp.where(eye, hom[..., :, None] * eye, het)
    return xp.maximum(out, 0.0)


def errmod_scalar(words, *, theta: float = THETA, eta: float = ETA) -> np.ndarray:
    """Phred likelihood matrix of one pileup, written as a plain loop.

    Parameters
    ----------
    words : (n,) uint16
        :func:`encode_observations` words (0 entries are ignored); ``n <= 255``.

    Returns
    -------
    (5, 5) float32
    """
    fk, beta, lhet = errmod_tables(theta, eta)
    w = np.sort(np.asarray(words, dtype=np.uint16)[np.asarray(words) > 0])[::-1]
    n = len(w)
    out = np.zeros((5, 5), dtype=np.float32)
    if n == 0:
        return out
    if n > MAX_OBS:
        raise ValueError(f"pileup of {n} observations: at most {MAX_OBS}")
    bsum = np.zeros(16)
    cnt = np.zeros(16, dtype=np.int64)
    seen = np.zeros(32, dtype=np.int64)
    for word in w.tolist():
        q = min(max(word >> 5, 4), 63)
        bs, b = word & 0x1F, word & 0xF
        bsum[b] += fk[seen[bs]] * beta[q, n, cnt[b]]
        cnt[b] += 1
        seen[bs] += 1
    for j in range(5):
        t1, t2 = np.float32(0.0), 0
        for k in range(5):
            if k != j:
                t1 = np.float32(t1 + bsum[k])
                t2 += cnt[k]
        if t2:
            out[j, j] = t1
        for k in range(j + 1, 5):
            cjk = cnt[j] + cnt[k]
            t1, t2 = np.float32(0.0), 0
            for i in range(5):
                if i != j and i != k:
                    t1 = np.float32(t1 + bsum[i])
                    t2 += cnt[i]
            v = -4.343 * lhet[cjk, cnt[k]] + (t1 if t2 else 0.0)
            out[j, k] = out[k, j] = v
        for k in range(5):
            if out[j, k] < 0:
                out[j, k] = 0
    return out


def _ranks_numpy(w):
    """Sorted (descending) words, their visit rank per (base, strand) and per base."""
    w = -np.sort(-w.astype(np.int64), axis=1)
    valid = w > 0
    b = w & 0xF
    bs = w & 0x1F
    r, d = w.shape
    rows = np.repeat(np.arange(r), d)

    def rank(key):
        k = np.where(valid, key, 32).ravel()
        order = np.lexsort((np.tile(np.arange(d), r), k, rows))
        kk, rr = k[order], rows[order]
        start = np.ones(len(order), dtype=bool)
        start[1:] = (kk[1:] != kk[:-1]) | (rr[1:] != rr[:-1])
        idx = np.arange(len(order))
        first = np.maximum.accumulate(np.where(start, idx, 0))
        out = np.empty(len(order), dtype=np.int64)
        out[order] = idx - first
        return out.reshape(r, d)

    return w, valid, b, rank(bs), rank(b)


def genotype_phred_numpy(words, *, theta: float = THETA, eta: float = ETA) -> np.ndarray:
    """Phred likelihood matrices of many pileups (numpy, float64 inside).

    Parameters
    ----------
    words : (p, d) uint16
        One row per pileup (site x sample), :func:`encode_observations`
        words, 0 = padding; ``d <= 255`` valid words per row.

    Returns
    -------
    (p, 5, 5) float32
    """
    fk, beta, lhet = errmod_tables(theta, eta)
    words = np.asarray(words, dtype=np.uint16)
    if words.ndim != 2:
        raise ValueError("words must be 2-D (pileups, observations)")
    p = words.shape[0]
    if p == 0 or words.shape[1] == 0:
        return np.zeros((p, 5, 5), dtype=np.float32)
    w, valid, b, wrank, crank = _ranks_numpy(words)
    n = valid.sum(1)
    if n.max() > MAX_OBS:
        raise ValueError(f"pileup of {int(n.max())} observations: at most {MAX_OBS}")
    q = np.clip(w >> 5, 4, 63)
    contrib = np.where(valid, fk[np.minimum(wrank, 255)] * beta[q, n[:, None], np.minimum(crank, 255)], 0.0)
    bsum = np.zeros((p, 5))
    cnt = np.zeros((p, 5), dtype=np.int64)
    for base in range(5):
        sel = valid & (b == base)
        bsum[:, base] = np.where(sel, contrib, 0.0).sum(1)
        cnt[:, base] = sel.sum(1)
    out = _likelihood_matrix(bsum, cnt, lhet, np)
    out[n == 0] = 0.0
    return out.astype(np.float32)


_JAX_FN = {}


def _jax_fn():
    fn = _JAX_FN.get("fn")
    if fn is not None:
        return fn
    jax = get_jax()
    jnp = jax.numpy

    def one(w, fk, beta, lhet):
        w = -jnp.sort(-w.astype(jnp.int32))
        valid = w > 0
        n = valid.sum()
        b = w & 0xF
        bs = ((w >> 4) & 1) * 5 + jnp.minimum(b, 4)  # (strand, base): 10 classes
        oh_bs = (bs[:, None] == jnp.arange(10)[None, :]) & valid[:, None]
        seen = (jnp.cumsum(oh_bs, axis=0, dtype=jnp.int32) - oh_bs)     # visits before i, per class
        wrank = jnp.take_along_axis(seen, bs[:, None], axis=1)[:, 0]
        b4 = jnp.minimum(b, 4)
        crank = (jnp.take_along_axis(seen, b4[:, None], axis=1)[:, 0]
                 + jnp.take_along_axis(seen, b4[:, None] + 5, axis=1)[:, 0])  # same base, either strand
        oh_b = oh_bs[:, :5] | oh_bs[:, 5:]
        q = jnp.clip(w >> 5, 4, 63)
        flat = (q << 16) | (jnp.minimum(n, 255) << 8) | jnp.minimum(crank, 255)
        contrib = jnp.where(valid, fk[jnp.minimum(wrank, 255)] * beta[flat], 0.0)
        bsum = (oh_b * contrib[:, None]).sum(0)
        cnt = oh_b.sum(0).astype(jnp.int32)
        out = _likelihood_matrix(bsum, cnt, lhet, jnp)
        return jnp.where(n > 0, out, 0.0)

    def kernel(words, fk, beta, lhet):
        TRACE_COUNTS["genotype"] = TRACE_COUNTS.get("genotype", 0) + 1
        return jax.vmap(one, in_axes=(0, None, None, None))(words, fk, beta, lhet)

    fn = jax.jit(kernel)
    _JAX_FN["fn"] = fn
    return fn


@lru_cache(maxsize=4)
def _device_tables(theta, eta):
    jax = get_jax()
    fk, beta, lhet = errmod_tables(theta, eta)
    beta32 = np.where(np.isinf(beta), 0.0, beta).astype(np.float32).ravel()  # k = n is never visited
    return (jax.numpy.asarray(fk.astype(np.float32)), jax.numpy.asarray(beta32),
            jax.numpy.asarray(lhet.astype(np.float32)))


def genotype_phred_jax(words, *, theta: float = THETA, eta: float = ETA, min_rows: int = 256,
                       chunk: int = 1 << 15) -> np.ndarray:
    """JAX version of :func:`genotype_phred_numpy` (float32).

    The row count is padded to a power-of-two bucket (at least ``min_rows``,
    at most ``chunk`` rows per call) and the depth to a power of two (at
    least 16), so the compiled program is reused while sizes stay in their
    buckets.
    """
    words = np.asarray(words, dtype=np.uint16)
    if words.ndim != 2:
        raise ValueError("words must be 2-D (pileups, observations)")
    p, d = words.shape
    if p == 0 or d == 0:
        return np.zeros((p, 5, 5), dtype=np.float32)
    n = (words > 0).sum(1)
    if n.max() > MAX_OBS:
        raise ValueError(f"pileup of {int(n.max())} observations: at most {MAX_OBS}")
    # drop padding columns beyond the deepest row, then bucket the depth
    words = -np.sort(-words.astype(np.int32), axis=1)[:, : max(int(n.max()), 1)].astype(np.uint16)
    dpad = bucket(words.shape[1], 16)
    fn = _jax_fn()
    tabs = _device_tables(float(theta), float(eta))
    out = np.empty((p, 5, 5), dtype=np.float32)
    for s in range(0, p, chunk):
        part = words[s:s + chunk]
        rows = bucket(len(part), min_rows)
        buf = np.zeros((rows, dpad), dtype=np.uint16)
        buf[: len(part), : part.shape[1]] = part
        res = fn(buf, *tabs)
        out[s:s + len(part)] = np.asarray(res)[: len(part)]
    return out


def genotype_phred(words, *, backend: str = "jax", theta: float = THETA, eta: float = ETA) -> np.ndarray:
    """Dispatch to :func:`genotype_phred_jax` or :func:`genotype_phred_numpy`."""
    if backend == "jax":
        return genotype_phred_jax(words, theta=theta, eta=eta)
    if backend == "numpy":
        return genotype_phred_numpy(words, theta=theta, eta=eta)
    raise ValueError(f"unknown backend {backend!r} ('jax' or 'numpy')")


def genotype_index(i, j):
    """VCF genotype order: index of unordered allele pair ``(i, j)`` = ``hi (hi + 1) / 2 + lo``."""
    lo, hi = np.minimum(i, j), np.maximum(i, j)
    return hi * (hi + 1) // 2 + lo


def pl_from_phred(phred, alleles) -> np.ndarray:
    """VCF ``PL`` of a pileup's phred matrix over the given base alleles, as bcftools writes it.

    Parameters
    ----------
    phred : (..., 5, 5) float
    alleles : (..., a) int
        Base index (0..4) of each allele, REF first; ``-1`` pads (its
        genotypes get ``-1``, VCF missing, and are ignored for the minimum).

    Returns
    -------
    (..., a (a + 1) / 2) int32
        ``(int)(L - min L + 0.499)`` capped at 255, VCF genotype order.
    """
    phred = np.asarray(phred, dtype=np.float32)
    alleles = np.asarray(alleles)
    a = alleles.shape[-1]
    hi, lo = [], []
    for i in range(a):
        for j in range(i + 1):
            hi.append(i)
            lo.append(j)
    hi, lo = np.array(hi), np.array(lo)
    ai = np.take(alleles, hi, axis=-1)
    aj = np.take(alleles, lo, axis=-1)
    ok = (ai >= 0) & (aj >= 0)
    vals = np.take_along_axis(phred.reshape(phred.shape[:-2] + (25,)),
                              np.where(ok, aj * 5 + ai, 0), axis=-1).astype(np.float32)
    vals = np.where(ok, vals, np.float32(np.inf))
    mn = vals.min(-1, keepdims=True)
    pl = np.floor((vals - mn).astype(np.float32) + np.float32(0.499))
    pl = np.where(ok, np.minimum(pl, 255), -1)
    return pl.astype(np.int32)
