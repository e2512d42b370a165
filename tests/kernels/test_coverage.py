"""Coverage kernel: JAX == numpy reference, bucket padding, CIGAR expansion."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hts_notebook.core.formats.alignment.batch import batch_from_columns, cigar_from_string
from hts_notebook.core.kernels import _jax
from hts_notebook.core.kernels import coverage as cov


def _cigars(texts):
    ops = [cigar_from_string(t) for t in texts]
    off = np.zeros(len(ops) + 1, dtype=np.int64)
    np.cumsum([len(o) for o in ops], out=off[1:])
    return np.concatenate(ops) if ops else np.zeros(0, np.uint32), off


def _batch(rows):
    """rows: (pos, cigar text, flag, mapq)"""
    n = len(rows)
    return batch_from_columns(
        ref_id=[0] * n, pos=[r[0] for r in rows], end=[r[0] + 1 for r in rows], mapq=[r[3] for r in rows],
        bin=[0] * n, flag=[r[2] for r in rows], next_ref_id=[-1] * n, next_pos=[-1] * n, tlen=[0] * n,
        name=[b"r%d" % i for i in range(n)], cigar=[cigar_from_string(r[1]) for r in rows],
        seq=[np.zeros(0, np.uint8)] * n, qual=[np.zeros(0, np.uint8)] * n, aux=[b""] * n,
    )


def test_expand_cigar__ref_and_query_offsets():
    cigar, off = _cigars(["3S5M2D4M1I3M", "4M100N4M", "*"])
    ops = cov.expand_cigar(np.array([10, 50, 7]), cigar, off)
    assert ops["read"].tolist() == [0, 0, 0, 0, 0, 0, 1, 1, 1]
    assert ops["op"].tolist() == [4, 0, 2, 0, 1, 0, 0, 3, 0]
    assert ops["ref_start"].tolist() == [10, 10, 15, 17, 21, 21, 50, 54, 154]
    assert ops["query_start"].tolist() == [0, 3, 8, 8, 12, 13, 0, 4, 4]


def test_expand_cigar__offsets_not_starting_at_zero():
    cigar, off = _cigars(["2M", "3M1D3M"])
    ops = cov.expand_cigar(np.array([5]), cigar, off[1:])  # only the second read
    assert ops["ref_start"].tolist() == [5, 8, 9]


def test_aligned_blocks__deletions_counted_only_on_request():
    cigar, off = _cigars(["5M2D4M", "4M100N4M", "2=1X2="])
    pos = np.array([10, 50, 0])
    s, l = cov.aligned_blocks(pos, cigar, off)
    assert list(zip(s.tolist(), l.tolist())) == [(10, 5), (17, 4), (50, 4), (154, 4), (0, 2), (2, 1), (3, 2)]
    s, l = cov.aligned_blocks(pos, cigar, off, count_deletions=True)
    assert (15, 2) in list(zip(s.tolist(), l.tolist()))
    assert (54, 100) not in list(zip(s.tolist(), l.tolist()))  # N never counts


def test_coverage_numpy__known_depth():
    d = cov.coverage_numpy([5, 8, 20], [10, 3, 5], 3, 25)
    assert d.dtype == np.int32
    assert d.tolist() == [0, 0, 1, 1, 1, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0]


def test_coverage_numpy__empty_window_and_no_blocks():
    assert cov.coverage_numpy([], [], 100, 0).tolist() == []
    assert cov.coverage_numpy([], [], 100, 4).tolist() == [0, 0, 0, 0]
    assert cov.coverage_jax([], [], 100, 4).tolist() == [0, 0, 0, 0]


blocks = st.lists(st.tuples(st.integers(0, 5000), st.integers(0, 400)), max_size=300)


@settings(max_examples=60, deadline=None)
@given(blocks=blocks, start=st.integers(0, 5000), length=st.integers(0, 3000))
def test_coverage_jax__matches_numpy_random(blocks, start, length):
    s = np.array([b[0] for b in blocks], dtype=np.int64)
    l = np.array([b[1] for b in blocks], dtype=np.int64)
    ref = cov.coverage_numpy(s, l, start, length)
    got = cov.coverage_jax(s, l, start, length)
    assert got.shape == (length,)
    np.testing.assert_array_equal(got, ref)
    # brute force for the reference itself
    brute = np.zeros(length, dtype=np.int32)
    for b0, bl in blocks:
        lo, hi = max(b0 - start, 0), min(b0 + bl - start, length)
        if hi > lo:
            brute[lo:hi] += 1
    np.testing.assert_array_equal(ref, brute)


@settings(max_examples=60, deadline=None)
@given(depth=st.lists(st.integers(0, 10000), max_size=2500), bin_size=st.integers(1, 300))
def test_binned_mean_jax__matches_numpy_random(depth, bin_size):
    d = np.array(depth, dtype=np.int32)
    ref = cov.binned_mean_numpy(d, bin_size)
    got = cov.binned_mean_jax(d, bin_size)
    assert got.shape == ref.shape == (-(-len(d) // bin_size),)
    np.testing.assert_allclose(got, ref, rtol=1e-5)
    if len(d):
        assert ref[0] == pytest.approx(d[:bin_size].mean())
        assert ref[-1] == pytest.approx(d[(len(d) - 1) // bin_size * bin_size:].mean())


def test_coverage_jax__moving_window_within_bucket_does_not_recompile():
    rng = np.random.default_rng(1)
    s = rng.integers(0, 100_000, 900)
    l = rng.integers(1, 150, 900)
    cov.coverage_jax(s, l, 10_000, 1500)  # bucket 2048 positions, 1024 blocks
    before = cov.TRACE_COUNTS["coverage"]
    size_before = cov._coverage_fn()._cache_size()
    for start, length, k in [(10_500, 1500, 900), (50_000, 2000, 700), (99_000, 1100, 1024)]:
        got = cov.coverage_jax(s[:k], l[:k], start, length)
        np.testing.assert_array_equal(got, cov.coverage_numpy(s[:k], l[:k], start, length))
    assert cov.TRACE_COUNTS["coverage"] == before
    assert cov._coverage_fn()._cache_size() == size_before
    cov.coverage_jax(s, l, 0, 5000)  # next length bucket: exactly one more trace
    assert cov.TRACE_COUNTS["coverage"] in (before, before + 1)  # may already be cached by another test
    cov.coverage_jax(s, l, 7, 5001)
    after = cov.TRACE_COUNTS["coverage"]
    cov.coverage_jax(s, l, 20_000, 6000)
    assert cov.TRACE_COUNTS["coverage"] == after


def test_binned_mean_jax__changing_bin_size_does_not_recompile():
    d = np.arange(3000, dtype=np.int32)
    cov.binned_mean_jax(d, 40)  # 75 bins -> bin bucket 128
    before = cov.TRACE_COUNTS["binned"]
    for b in (30, 25, 24):  # 100, 120, 125 bins: same 128-bin bucket
        np.testing.assert_allclose(cov.binned_mean_jax(d, b), cov.binned_mean_numpy(d, b), rtol=1e-6)
    assert cov.TRACE_COUNTS["binned"] == before


def test_coverage__batch_skips_flagged_and_low_mapq_reads():
    b = _batch([
        (100, "10M", 0, 60),
        (102, "4M2D4M", 16, 60),
        (104, "5M", 0x400, 60),  # duplicate: skipped by default
        (104, "5M", 0, 3),  # low MAPQ
        (90, "5S20M", 0, 60),
    ])
    for backend in ("numpy", "jax"):
        d = cov.coverage(b, 100, 12, min_mapq=10, backend=backend)
        assert d.tolist() == [2, 2, 3, 3, 3, 3, 2, 2, 3, 3, 1, 1]
        d = cov.coverage(b, 100, 12, min_mapq=10, count_deletions=True, backend=backend)
        assert d.tolist() == [2, 2, 3, 3, 3, 3, 3, 3, 3, 3, 1, 1]
        d = cov.coverage(b, 100, 12, exclude_flags=0, backend=backend)
        assert d.tolist() == [2, 2, 3, 3, 5, 5, 4, 4, 5, 3, 1, 1]
    with pytest.raises(ValueError):
        cov.coverage(b, 0, 1, backend="cuda")


def test_bucket__powers_of_two():
    assert _jax.bucket(0) == 256
    assert _jax.bucket(257) == 512
    assert _jax.bucket(1024, minimum=1) == 1024
    assert _jax.bucket(1025, minimum=1) == 2048


def test_cache_dir__env_override_and_off(monkeypatch, tmp_path):
    monkeypatch.setenv("HTS_NOTEBOOK_JAX_CACHE", str(tmp_path / "c"))
    assert _jax.cache_dir() == tmp_path / "c"
    monkeypatch.setenv("HTS_NOTEBOOK_JAX_CACHE", "off")
    assert _jax.cache_dir() is None
    monkeypatch.delenv("HTS_NOTEBOOK_JAX_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert _jax.cache_dir() == tmp_path / "hts_notebook" / "jax"


def test_get_jax__enables_persistent_cache_in_fresh_process(tmp_path):
    code = (
        "import sys, numpy as np\n"
        "import hts_notebook.core.kernels.coverage as c\n"
        "assert 'jax' not in sys.modules, 'kernel module must import jax lazily'\n"
        "c.coverage_jax(np.array([1]), np.array([5]), 0, 10)\n"
        "import jax; print(jax.config.jax_compilation_cache_dir)\n"
    )
    env = {**__import__("os").environ, "HTS_NOTEBOOK_JAX_CACHE": str(tmp_path / "jaxcache")}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str(tmp_path / "jaxcache")
    assert any((tmp_path / "jaxcache").iterdir())
