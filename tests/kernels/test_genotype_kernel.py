"""Genotype-likelihood kernel: tables, hand-computed pileups, numpy == scalar == JAX, buckets."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hts_notebook.core.kernels import genotype as gk
from hts_notebook.core.kernels.coverage import TRACE_COUNTS

A, C, G, T, N = range(5)


def _phred_tail_ratio(q, n, k):
    """-10 log10(P(K > k) / P(K >= k)), K ~ Bin(n, 10^(-q/10)), by exact sums."""
    e = 10 ** (-q / 10)
    pmf = [math.comb(n, i) * e ** i * (1 - e) ** (n - i) for i in range(n + 1)]
    return -10 * math.log10(sum(pmf[k + 1:]) / sum(pmf[k:]))


def test_errmod_tables__beta_is_binomial_tail_ratio():
    fk, beta, lhet = gk.errmod_tables()
    for q, n, k in [(30, 1, 0), (20, 5, 0), (20, 5, 2), (13, 12, 7), (40, 3, 2)]:
        assert beta[q, n, k] == pytest.approx(_phred_tail_ratio(q, n, k), rel=1e-9, abs=1e-9)
    assert np.isinf(beta[30, 4, 4])
    assert fk[0] == 1.0 and fk[1] == pytest.approx(0.83 * 0.97 + 0.03)
    assert lhet[4, 2] == pytest.approx(math.log(6) - 4 * math.log(2))


def test_errmod_scalar__one_base_hand_values():
    w = gk.encode_observations([A], [30], [0])
    m = gk.errmod_scalar(w)
    assert m[A, A] == 0.0
    assert m[C, C] == pytest.approx(30.0, abs=1e-4)  # one error at Q30
    assert m[A, C] == pytest.approx(-4.343 * -math.log(2), abs=1e-4)  # 1 read from a het: 1/2
    assert m[C, G] == pytest.approx(30.0 + 4.343 * 0.0, abs=1e-4)  # A is an error, nothing split
    np.testing.assert_array_equal(m, m.T)


def test_errmod_scalar__repeated_errors_on_one_strand_are_discounted():
    fk, beta, _ = gk.errmod_tables()
    same = gk.errmod_scalar(gk.encode_observations([A, A], [30, 30], [0, 0]))
    both = gk.errmod_scalar(gk.encode_observations([A, A], [30, 30], [0, 1]))
    # second error: weight fk[1] on the same strand, fk[0] on the other
    assert same[C, C] == pytest.approx(beta[30, 2, 0] + fk[1] * beta[30, 2, 1], rel=1e-6)
    assert both[C, C] == pytest.approx(beta[30, 2, 0] + beta[30, 2, 1], rel=1e-6)
    assert same[C, C] < both[C, C]


def test_errmod_scalar__quality_clamped_to_4_and_63():
    lo = gk.errmod_scalar(gk.encode_observations([A], [0], [0]))
    assert lo[C, C] == pytest.approx(4.0, abs=1e-4)
    words = np.array([(90 << 5) | A], dtype=np.uint16)  # a word with q > 63 is read as 63
    assert gk.errmod_scalar(words)[C, C] == pytest.approx(63.0, abs=1e-3)


def test_encode_observations__rejects_bad_base():
    with pytest.raises(ValueError):
        gk.encode_observations([5], [30], [0])


def test_observation_quality__bcftools_caps():
    q = gk.observation_quality([45, 45, 2, 70, 30], [60, 255, 60, 70, 0])
    assert q.tolist() == [45, 20, 4, 60, 4]


def test_pl_from_phred__rounding_cap_and_padding():
    m = np.zeros((5, 5), np.float32)
    m[A, A], m[A, C], m[C, A], m[C, C] = 2.0, 0.5, 0.5, 400.0
    m[A, G] = m[G, A] = 3.0009
    m[C, G] = m[G, C] = 2.5
    m[G, G] = 1.0
    assert gk.pl_from_phred(m, [A, C]).tolist() == [1, 0, 255]
    # (int)(x - min + 0.499): 2.0 - 0.5 = 1.5 -> 1 ; 3.0009 - 0.5 = 2.5009 -> 2 ; 2.5 - 0.5 = 2.0 -> 2
    assert gk.pl_from_phred(m, [A, C, G]).tolist() == [1, 0, 255, 2, 2, 0]
    assert gk.pl_from_phred(m, [A, C, -1]).tolist() == [1, 0, 255, -1, -1, -1]
    assert gk.genotype_index(np.array([0, 1, 2]), np.array([1, 1, 0])).tolist() == [1, 2, 3]


def _random_pileups(rng, p, d):
    n = rng.integers(0, d + 1, p)
    base = rng.choice(5, (p, d), p=[0.55, 0.3, 0.06, 0.05, 0.04])
    q = rng.integers(0, 70, (p, d))
    strand = rng.integers(0, 2, (p, d))
    w = gk.encode_observations(base, q, strand)
    w[np.arange(d)[None, :] >= n[:, None]] = 0
    return w


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), p=st.integers(1, 40), d=st.integers(1, 60))
def test_genotype_phred_numpy__equals_scalar_reference(seed, p, d):
    w = _random_pileups(np.random.default_rng(seed), p, d)
    got = gk.genotype_phred_numpy(w)
    want = np.stack([gk.errmod_scalar(row) for row in w])
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-3)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), p=st.integers(1, 300), d=st.integers(1, 255))
def test_genotype_phred_jax__equals_numpy_reference(seed, p, d):
    w = _random_pileups(np.random.default_rng(seed), p, d)
    got = gk.genotype_phred_jax(w)
    want = gk.genotype_phred_numpy(w)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=2e-3)


def test_genotype_phred_jax__deep_pileup_matches_numpy():
    rng = np.random.default_rng(7)
    w = _random_pileups(rng, 3, 255)
    w[:, :] = np.where(w == 0, gk.encode_observations(np.zeros_like(w), 30, 0), w)  # exactly 255 each
    np.testing.assert_allclose(gk.genotype_phred_jax(w), gk.genotype_phred_numpy(w), rtol=1e-4, atol=5e-3)
    with pytest.raises(ValueError):
        gk.genotype_phred_numpy(np.ones((1, 256), np.uint16) << 7)


def test_genotype_phred_jax__same_bucket_does_not_recompile():
    rng = np.random.default_rng(3)
    gk.genotype_phred_jax(_random_pileups(rng, 300, 40))  # rows -> 512, depth -> 64
    before = TRACE_COUNTS["genotype"]
    for p, d in [(257, 33), (400, 64), (511, 50)]:
        w = _random_pileups(rng, p, d)
        w[0, :d] = gk.encode_observations(np.zeros(d, int), 30, 0)  # deepest row fixes the depth bucket
        gk.genotype_phred_jax(w)
    assert TRACE_COUNTS["genotype"] == before
    gk.genotype_phred_jax(_random_pileups(rng, 600, 40))  # next row bucket: one new trace
    assert TRACE_COUNTS["genotype"] == before + 1


def test_genotype_phred__empty_and_backend_dispatch():
    assert gk.genotype_phred(np.zeros((0, 5), np.uint16)).shape == (0, 5, 5)
    w = gk.encode_observations([[A, A, C]], [[30, 20, 25]], [[0, 1, 0]])
    np.testing.assert_allclose(gk.genotype_phred(w, backend="jax"), gk.genotype_phred(w, backend="numpy"),
                               atol=1e-3)
    with pytest.raises(ValueError):
        gk.genotype_phred(w, backend="cuda")
