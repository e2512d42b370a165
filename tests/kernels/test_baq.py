"""BAQ kernel: numpy reference vs JAX, known values, and read-level capping."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hts_notebook.core.formats.alignment.batch import cigar_from_string
from hts_notebook.core.kernels import baq


def _problems(reads):
    return baq.BaqProblems.build(
        [r[0] for r in reads], [r[1] for r in reads], [r[2] for r in reads],
        [7] * len(reads), [0.001] * len(reads), [0.1] * len(reads),
    )


@st.composite
def read_problem(draw):
    """A read (<= 16 bases) drawn from a reference window (<= 32 bases), with errors and gaps."""
    lq = draw(st.integers(1, 16))
    extra = draw(st.integers(0, 7))  # band (|l_ref - l_query| <= 7) fits one bucket
    ref = np.array(draw(st.lists(st.integers(0, 4), min_size=lq + extra, max_size=lq + extra)), np.uint8)
    off = draw(st.integers(0, extra))
    q = ref[off:off + lq].copy()
    for i in draw(st.lists(st.integers(0, lq - 1), max_size=3)):
        q[i] = draw(st.integers(0, 4))
    quals = np.array(draw(st.lists(st.integers(0, 60), min_size=lq, max_size=lq)), np.uint8)
    return ref, q, quals


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(read_problem(), min_size=1, max_size=8))
def test_probaln_jax__matches_numpy_random(reads):
    P = _problems(reads)
    s_np, q_np = baq.probaln_numpy(P)
    s_jx, q_jx = baq.probaln_jax(P)
    assert np.array_equal(s_np, s_jx)
    assert np.array_equal(q_np, q_jx)


def test_probaln_jax__no_recompile_within_bucket():
    rng = np.random.default_rng(0)

    def make(n, lq):
        reads = []
        for _ in range(n):
            ref = rng.integers(0, 4, lq + 6).astype(np.uint8)
            reads.append((ref, ref[3:3 + lq].copy(), rng.integers(10, 40, lq)))
        return _problems(reads)

    baq.probaln_jax(make(3, 10), W=16)
    before = sum(baq.TRACE_COUNTS.values())
    baq.probaln_jax(make(5, 12), W=16)
    baq.probaln_jax(make(8, 7), W=16)
    assert sum(baq.TRACE_COUNTS.values()) == before


def test_probaln_numpy__perfect_match_is_confident():
    ref = np.array([0, 1, 2, 3, 0, 1, 2, 3, 2, 2, 1, 0, 3, 3, 1, 0, 2, 1, 3, 0], np.uint8)
    q = ref[2:18].copy()
    P = _problems([(ref, q, np.full(16, 40))])
    state, qq = baq.probaln_numpy(P)
    # every base sits on its own reference column (offset 2), as a match
    assert ((state[0] >> 2) == np.arange(2, 18)).all()
    assert ((state[0] & 3) == 0).all()
    assert (qq[0] >= 30).all()


def test_probaln_numpy__mismatch_lowers_posterior():
    ref = np.array([0, 1, 2, 3] * 6, np.uint8)
    q = ref[4:20].copy()
    q[8] = 0 if q[8] != 0 else 1
    P = _problems([(ref, q, np.full(16, 30)), (ref, ref[4:20].copy(), np.full(16, 30))])
    _, qq = baq.probaln_numpy(P)
    assert qq[0, 8] <= qq[1, 8]


def test_prepare_baq__window_follows_htslib():
    # 10M2D10M at 100: aligned span 22 ref vs 20 query, band 7
    ref = np.zeros(1000, np.uint8)
    ops = cigar_from_string("10M2D10M")
    seq = np.full(20, 1, np.uint8)
    pr = baq.prepare_baq(100, ops, seq, np.full(20, 30, np.uint8), ref, 1000)
    tref, tseq, _, bw, d, e, xb = pr
    assert bw == 7 and xb == 97 and len(tref) == 22 + 6 and d == 0.001
    assert baq.prepare_baq(100, cigar_from_string("5M100N5M"), seq[:10], np.full(10, 30, np.uint8), ref, 1000) is None
    assert baq.prepare_baq(100, cigar_from_string("5S"), seq[:5], np.full(5, 30, np.uint8), ref, 1000) is None


def test_apply_extended_baq__caps_at_smoothed_baq():
    ops = cigar_from_string("2S4M")
    quals = np.array([40, 40, 40, 40, 40, 40], np.uint8)
    state = np.array([-1, -1, 0 << 2, 1 << 2, 2 << 2, 3 << 2])
    q = np.array([0, 0, 10, 30, 5, 20])
    out = baq.apply_extended_baq(0, ops, quals, state, q, 0)
    # soft clip untouched; block BAQ smoothed to min(running max from left, from right)
    assert out.tolist() == [40, 40, 10, 30, 20, 20]


@pytest.mark.gpu
def test_probaln_jax__gpu_matches_numpy():
    rng = np.random.default_rng(3)
    reads = []
    for _ in range(64):
        ref = rng.integers(0, 5, 40).astype(np.uint8)
        reads.append((ref, ref[5:35].copy(), rng.integers(2, 41, 30)))
    P = _problems(reads)
    assert np.array_equal(baq.probaln_numpy(P)[1], baq.probaln_jax(P)[1])
