"""bigWig kernels: JAX versions equal the numpy references; no recompiling within a bucket."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hts_notebook.core.kernels import bigwig as kern


def _rows(draw_intervals, n_windows, n_tracks, length):
    """Turn (segment, start, len, value) tuples into sorted, non-overlapping rows per segment."""
    seg, s, e, v = [], [], [], []
    by_seg: dict[int, list] = {}
    for sg, start, ln, val in draw_intervals:
        by_seg.setdefault(sg % (n_windows * n_tracks), []).append((start % (length + 5), ln, val))
    for sg in sorted(by_seg):
        pos = -3
        for start, ln, val in sorted(by_seg[sg]):
            a = max(start - 3, pos)  # relative starts may be negative (clipped) and ends past the window
            b = a + ln
            seg.append(sg), s.append(a), e.append(b), v.append(val)
            pos = b
    return (np.array(seg, np.int64), np.array(s, np.int64), np.array(e, np.int64), np.array(v, np.float32))


intervals = st.lists(st.tuples(st.integers(0, 50), st.integers(0, 400), st.integers(1, 60),
                               st.floats(-1e3, 1e3, width=32)), max_size=120)


@settings(max_examples=60, deadline=None)
@given(iv=intervals, n_windows=st.integers(1, 6), n_tracks=st.integers(1, 3), length=st.integers(1, 300))
def test_dense_jax__matches_numpy_random(iv, n_windows, n_tracks, length):
    seg, s, e, v = _rows(iv, n_windows, n_tracks, length)
    ref = kern.dense_numpy(seg, s, e, v, n_windows, n_tracks, length)
    got = kern.dense_jax(seg, s, e, v, n_windows, n_tracks, length)
    assert got.shape == (n_windows, length, n_tracks) and got.dtype == np.float32
    np.testing.assert_array_equal(got, ref)
    np.testing.assert_array_equal(kern.dense_jax(seg, s, e, v, n_windows, n_tracks, length, fill=0.0),
                                  kern.dense_numpy(seg, s, e, v, n_windows, n_tracks, length, fill=0.0))


@settings(max_examples=40, deadline=None)
@given(iv=intervals, n_windows=st.integers(1, 4), length=st.integers(1, 300), bins=st.integers(1, 40))
def test_binned_mean_jax__matches_numpy_random(iv, n_windows, length, bins):
    seg, s, e, v = _rows(iv, n_windows, 2, length)
    dense = kern.dense_numpy(seg, s, e, v, n_windows, 2, length)
    ref = kern.binned_mean_numpy(dense, bins)
    got = kern.binned_mean_jax(dense, bins)
    assert got.shape == (n_windows, bins, 2)
    np.testing.assert_allclose(got, ref, rtol=2e-5, atol=1e-3, equal_nan=True)


@settings(max_examples=60, deadline=None)
@given(iv=intervals, n_windows=st.integers(1, 6), n_tracks=st.integers(1, 3), length=st.integers(1, 300))
def test_window_stats_jax__matches_numpy_random(iv, n_windows, n_tracks, length):
    seg, s, e, v = _rows(iv, n_windows, n_tracks, length)
    n = n_windows * n_tracks
    ref = kern.window_stats_numpy(seg, s, e, v, n, length)
    got = kern.window_stats_jax(seg, s, e, v, n, length)
    for k in kern.STATS:
        np.testing.assert_allclose(got[k], ref[k], rtol=1e-4, atol=5e-2 if k in ("std", "sum") else 1e-3,
                                   equal_nan=True, err_msg=k)


def test_window_stats_numpy__known_values():
    # one window of 10 bases: [0,2)=1, [4,8)=2, [8,10)=3  (the bigtools-mini example: mean 2, sd 0.7559)
    res = kern.window_stats_numpy([0, 0, 0], [0, 4, 8], [2, 8, 10], [1, 2, 3], 2, 12)
    assert res["mean"][0] == 2.0 and res["min"][0] == 1.0 and res["max"][0] == 3.0
    assert res["sum"][0] == 16.0 and res["coverage"][0] == 8 / 12
    assert res["std"][0] == pytest.approx(0.7559289460184544, rel=1e-12)
    assert np.isnan(res["mean"][1]) and res["coverage"][1] == 0.0


def test_dense_numpy__known_values_and_clipping():
    out = kern.dense_numpy([0, 0, 1], [-5, 3, 2], [2, 100, 3], [1.0, 2.0, 7.0], 1, 2, 6)
    assert out.shape == (1, 6, 2)
    np.testing.assert_array_equal(out[0, :, 0], [1, 1, np.nan, 2, 2, 2])
    np.testing.assert_array_equal(out[0, :, 1], [np.nan, np.nan, 7, np.nan, np.nan, np.nan])


def test_bin_edges__floor_division():
    assert kern.bin_edges(10, 3).tolist() == [0, 3, 6, 10]


def test_dense_jax__same_bucket_does_not_recompile():
    rng = np.random.default_rng(0)

    def call(n_rows, length, n_windows):
        seg = np.sort(rng.integers(0, n_windows * 2, n_rows))
        s = rng.integers(0, length, n_rows)
        return kern.dense_jax(seg, s, s + 5, np.ones(n_rows, np.float32), n_windows, 2, length)

    call(100, 900, 12)
    before = kern.TRACE_COUNTS["dense"]
    call(300, 1000, 16)  # rows < 1024, length <= 1024, windows <= 16: same buckets
    call(5, 600, 9)
    assert kern.TRACE_COUNTS["dense"] == before
    call(2000, 1000, 16)  # more rows: a new bucket
    after = kern.TRACE_COUNTS["dense"]
    call(1500, 700, 13)
    assert kern.TRACE_COUNTS["dense"] == after


def test_window_stats_jax__same_bucket_does_not_recompile():
    kern.window_stats_jax([0, 1], [0, 0], [3, 4], [1.0, 2.0], 5, 100)
    before = kern.TRACE_COUNTS["stats"]
    kern.window_stats_jax([0, 2, 3], [0, 1, 2], [3, 4, 9], [1.0, 2.0, 3.0], 7, 250)
    assert kern.TRACE_COUNTS["stats"] == before


def _by_window(seg, s, e, v, n_tracks, track):
    keep = seg % n_tracks == track
    return seg[keep] // n_tracks, s[keep], e[keep], v[keep]


overlapping = st.lists(st.tuples(st.integers(0, 5), st.integers(-20, 320), st.integers(0, 80),
                                 st.floats(-1e3, 1e3, width=32)), max_size=60)


@settings(max_examples=60, deadline=None)
@given(iv=intervals, n_windows=st.integers(1, 6), n_tracks=st.integers(1, 3), length=st.integers(1, 300),
       chunk=st.integers(1, 4))
def test_dense_runs_numpy__matches_dense_numpy_random(iv, n_windows, n_tracks, length, chunk):
    seg, s, e, v = _rows(iv, n_windows, n_tracks, length)
    ref = kern.dense_numpy(seg, s, e, v, n_windows, n_tracks, length)
    for t in range(n_tracks):
        out = np.empty((n_windows, length), np.float32)
        kern.dense_runs_numpy(*_by_window(seg, s, e, v, n_tracks, t), out, window_chunk=chunk)
        np.testing.assert_array_equal(out, ref[:, :, t])


@settings(max_examples=60, deadline=None)
@given(iv=overlapping, n_windows=st.integers(1, 6), length=st.integers(1, 300))
def test_dense_runs_numpy__overlapping_intervals_last_start_wins(iv, n_windows, length):
    rows = sorted(((w % n_windows, a, a + ln, x) for w, a, ln, x in iv), key=lambda r: r[0])  # by window only
    win = np.array([r[0] for r in rows], np.int64)
    s = np.array([r[1] for r in rows], np.int64)
    e = np.array([r[2] for r in rows], np.int64)
    v = np.array([r[3] for r in rows], np.float32)
    ref = kern.dense_numpy(win, s, e, v, n_windows, 1, length)[:, :, 0]
    out = np.empty((n_windows, length), np.float32)
    kern.dense_runs_numpy(win, s, e, v, out, fill=0.0)
    np.testing.assert_array_equal(out, np.where(np.isnan(ref), 0.0, ref))


def test_dense_runs_numpy__writes_a_strided_view():
    buf = np.full((2, 3, 10), -7.0, np.float32)
    kern.dense_runs_numpy(np.array([0, 1]), np.array([2, 0]), np.array([5, 10]), np.array([1.5, 2.5], np.float32),
                          buf[:, 1, :])
    assert np.isnan(buf[0, 1, :2]).all() and (buf[0, 1, 2:5] == 1.5).all() and np.isnan(buf[0, 1, 5:]).all()
    assert (buf[1, 1] == 2.5).all() and (buf[:, [0, 2]] == -7.0).all()
