"""TrackDataset: windows sampled in regions, values equal direct bigWig reads, sequence equals FASTA."""
from __future__ import annotations

import importlib.util
import subprocess
import sys

import numpy as np
import pytest

from hts_notebook.core.errors import RegionError
from hts_notebook.core.formats.bbi.writer import write_bigwig
from hts_notebook.core.formats.sequence.fasta import FastaFile, write_fasta
from hts_notebook.ml import ONE_HOT_LUT, TrackDataset, one_hot, read_regions

CONTIGS = {"chrA": 6000, "chrB": 3000}
N_START, N_STOP = 0, 1500  # chrB[0:1500) is all N


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("ml")
    rng = np.random.default_rng(7)
    seqs = {}
    for c, n in CONTIGS.items():
        s = np.frombuffer(b"ACGTacgt", np.uint8)[rng.integers(0, 8, n)].copy()
        seqs[c] = s
    seqs["chrB"][N_START:N_STOP] = ord("N")
    seqs["chrA"][100:130] = ord("N")  # a few Ns: under the 10 % limit for 100-base windows
    write_fasta(d / "ref.fa", {c: s.tobytes() for c, s in seqs.items()})
    paths = []
    for t in range(3):
        iv = {}
        for c, n in CONTIGS.items():
            starts = np.arange(0, n, 10 + t, dtype=np.int64)
            keep = rng.random(len(starts)) < 0.7  # gaps -> no data
            starts = starts[keep]
            ends = np.minimum(starts + rng.integers(1, 10, len(starts)), n)
            iv[c] = (starts, ends, rng.normal(size=len(starts)).astype(np.float32))
        p = d / f"track{t}.bw"
        write_bigwig(p, CONTIGS, iv, items_per_slot=64)
        paths.append(str(p))
    return {"dir": d, "ref": str(d / "ref.fa"), "tracks": paths, "seqs": seqs}


def direct_values(paths, windows, length, offset=0):
    import hts_notebook as hts

    files = [hts.open_bigwig(p) for p in paths]
    out = np.stack([
        np.stack([files[k].values((c, s + offset, s + offset + length)).values for k in windows.tracks.tolist()],
                 axis=-1)
        for c, s in zip(windows.contigs.tolist(), windows.starts.tolist())])
    for f in files:
        f.close()
    return out


def make(data, **kw):
    args = dict(sequence_length=100, batch_size=16, seed=3, batches_per_epoch=3, prefetch=0)
    args.update(kw)
    roi = args.pop("roi", [("chrA", 0, 6000), ("chrB", 0, 3000)])
    return TrackDataset(roi, data["tracks"], data["ref"], **args)


def test_one_hot__lut_maps_acgt_any_case_and_zeroes_the_rest():
    codes = np.frombuffer(b"ACGTacgtNnRX-", np.uint8)
    oh = one_hot(codes)
    assert oh.shape == (13, 4) and oh.dtype == np.float32
    np.testing.assert_array_equal(oh[:8], np.tile(np.eye(4, dtype=np.float32), (2, 1)))
    assert not oh[8:].any()
    assert ONE_HOT_LUT.shape == (256, 4)


def test_read_regions__bed_tuples_and_strings(tmp_path):
    bed = tmp_path / "roi.bed"
    bed.write_text("track name=x\n# comment\nchrA\t10\t20\tname\nchrB 5 9\n")
    c, s, e = read_regions(bed)
    assert c.tolist() == ["chrA", "chrB"] and s.tolist() == [10, 5] and e.tolist() == [20, 9]
    c, s, e = read_regions([("chrA", 0, 5), "chrB:1,001-2,000"])
    assert c.tolist() == ["chrA", "chrB"] and s.tolist() == [0, 1000] and e.tolist() == [5, 2000]
    with pytest.raises(RegionError):
        read_regions([("chrA", 10, 10)])


def test_track_dataset__batches_equal_direct_reads(data):
    ds = make(data)
    fa = FastaFile(data["ref"])
    n = 0
    for seq, val in ds.epoch(0):
        w = ds.last_windows
        assert seq.shape == (16, 100, 4) and seq.dtype == np.float32
        assert val.shape == (16, 100, 3) and val.dtype == np.float32
        expect = np.nan_to_num(direct_values(data["tracks"], w, 100), nan=0.0)
        np.testing.assert_array_equal(val, expect)
        for i, (c, s) in enumerate(zip(w.contigs.tolist(), w.starts.tolist())):
            np.testing.assert_array_equal(seq[i], one_hot(fa.fetch_array(contig=c, start=s, stop=s + 100)))
            assert 0 <= s <= CONTIGS[c] - 100
        np.testing.assert_array_equal(w.stops - w.starts, 100)
        n += 1
    assert n == len(ds) == 3
    ds.close()


def test_track_dataset__deterministic_for_a_seed(data):
    a = [(s.copy(), v.copy()) for s, v in make(data, prefetch=2).epoch(0)]
    b = [(s.copy(), v.copy()) for s, v in make(data, prefetch=0).epoch(0)]
    for (s1, v1), (s2, v2) in zip(a, b):
        np.testing.assert_array_equal(s1, s2)
        np.testing.assert_array_equal(v1, v2)
    ds = make(data)
    w0 = [ds.sample_windows(0, i).starts for i in range(3)]
    again = [ds.sample_windows(0, i).starts for i in range(3)]
    other = [ds.sample_windows(1, i).starts for i in range(3)]
    assert all(np.array_equal(x, y) for x, y in zip(w0, again))
    assert not all(np.array_equal(x, y) for x, y in zip(w0, other))
    assert not np.array_equal(make(data, seed=4).sample_windows(0, 0).starts, w0[0])


def test_track_dataset__iter_advances_epochs(data):
    ds = make(data)
    first = [ds.last_windows.starts.copy() for _ in ds]
    second = [ds.last_windows.starts.copy() for _ in ds]
    assert [x.tolist() for x in first] == [ds.sample_windows(0, i).starts.tolist() for i in range(3)]
    assert [x.tolist() for x in second] == [ds.sample_windows(1, i).starts.tolist() for i in range(3)]


def test_track_dataset__windows_stay_in_regions(data):
    ds = make(data, roi=[("chrA", 1000, 1400), ("chrA", 5950, 6000)], batches_per_epoch=4)
    for i in range(4):
        w = ds.sample_windows(0, i)
        centre = w.starts + 50
        in_first = (centre >= 1000) & (centre < 1400)
        # windows centred near the contig end are shifted inside the contig
        at_end = w.starts == 6000 - 100
        assert np.all(in_first | at_end)


def test_track_dataset__unknown_base_filter(data):
    fa = FastaFile(data["ref"])
    roi = [("chrB", 1000, 2500)]  # two thirds N
    ds = make(data, roi=roi, batches_per_epoch=4)
    loose = make(data, roi=roi, batches_per_epoch=4, maximum_unknown_bases_fraction=1.0)
    frac, frac_loose = [], []
    for i in range(4):
        for d, out in ((ds, frac), (loose, frac_loose)):
            w = d.sample_windows(0, i)
            for c, s in zip(w.contigs.tolist(), w.starts.tolist()):
                codes = fa.fetch_array(contig=c, start=s, stop=s + 100)
                out.append(float(np.mean(~np.isin(codes, np.frombuffer(b"ACGTacgt", np.uint8)))))
    assert max(frac) <= 0.1
    assert max(frac_loose) == 1.0
    seq, _ = make(data, roi=[("chrA", 100, 130)], batches_per_epoch=1, maximum_unknown_bases_fraction=0.3).batch(0, 0)
    assert seq.shape == (16, 100, 4)
    with pytest.raises(RegionError):
        make(data, roi=[("chrB", 0, 1400)], batch_size=2).batch(0, 0)


def nanmean_bins(dense):
    """Mean over axis 2 of the non-NaN values, NaN when a bin has none (float64)."""
    ok = ~np.isnan(dense)
    cnt = ok.sum(axis=2)
    tot = np.where(ok, dense, 0.0).astype(np.float64).sum(axis=2)
    return np.where(cnt > 0, tot / np.maximum(cnt, 1), np.nan)


def test_track_dataset__window_size_bins_are_means(data):
    ds = make(data, window_size=10, default_value=float("nan"))
    seq, val = ds.batch(0, 1)
    assert seq.shape == (16, 100, 4) and val.shape == (16, 10, 3)
    dense = direct_values(data["tracks"], ds.last_windows, 100).reshape(16, 10, 10, 3)
    expect = nanmean_bins(dense)
    assert np.isfinite(expect).any()
    np.testing.assert_allclose(val, expect, rtol=1e-5, atol=1e-6, equal_nan=True)
    _, val0 = make(data, window_size=10).batch(0, 1)  # default_value=0 fills empty bins only
    np.testing.assert_allclose(val0, np.nan_to_num(expect), rtol=1e-5, atol=1e-6)


def test_track_dataset__default_value_nan_keeps_gaps(data):
    ds = make(data, default_value=float("nan"))
    _, val = ds.batch(0, 0)
    expect = direct_values(data["tracks"], ds.last_windows, 100)
    assert np.isnan(expect).any()
    np.testing.assert_array_equal(val, expect)


def test_track_dataset__sub_sample_tracks(data):
    ds = make(data, sub_sample_tracks=2, batches_per_epoch=4)
    seen = set()
    for _s, val in ds.epoch(0):
        w = ds.last_windows
        assert val.shape == (16, 100, 2) and len(w.tracks) == 2 and np.all(np.diff(w.tracks) > 0)
        np.testing.assert_array_equal(val, np.nan_to_num(direct_values(data["tracks"], w, 100)))
        seen.add(tuple(w.tracks.tolist()))
    assert len(seen) > 1


def test_track_dataset__center_bin_to_predict(data):
    ds = make(data, center_bin_to_predict=40, window_size=4, default_value=float("nan"))
    seq, val = ds.batch(0, 0)
    assert seq.shape == (16, 100, 4) and val.shape == (16, 10, 3)
    dense = direct_values(data["tracks"], ds.last_windows, 40, offset=30).reshape(16, 10, 4, 3)
    np.testing.assert_allclose(val, nanmean_bins(dense), rtol=1e-5, atol=1e-6, equal_nan=True)


def test_track_dataset__tiled_covers_regions_in_order(data):
    roi = [("chrA", 0, 1000), ("chrB", 1000, 3000)]
    ds = make(data, roi=roi, sampling="tiled", stride=100, batch_size=8)
    starts = [(c, s) for i in range(len(ds)) for c, s in zip(ds.sample_windows(0, i).contigs.tolist(),
                                                             ds.sample_windows(0, i).starts.tolist())]
    # chrA 0..900 (10 tiles, the one over 100-130 has 30 % N -> dropped); chrB 1500..2900 (1000-1499 is N)
    expect = [("chrA", s) for s in range(0, 1000, 100) if s != 100] + [("chrB", s) for s in range(1500, 3000, 100)]
    assert starts == expect
    assert len(ds) == int(np.ceil(len(expect) / 8))
    batches = list(ds.epoch(0))
    assert batches[-1][1].shape == (len(expect) % 8 or 8, 100, 3)
    dl = make(data, roi=roi, sampling="tiled", stride=100, batch_size=8, drop_last=True)
    assert len(dl) == len(expect) // 8
    sh = make(data, roi=roi, sampling="tiled", stride=100, batch_size=8, shuffle=True)
    got = sorted((c, s) for i in range(len(sh)) for c, s in zip(sh.sample_windows(0, i).contigs.tolist(),
                                                                  sh.sample_windows(0, i).starts.tolist()))
    assert got == sorted(expect)


def test_track_dataset__bfloat16_numpy_and_jax(data):
    import ml_dtypes

    seq, val = make(data, dtype="bfloat16").batch(0, 0)
    assert seq.dtype == np.dtype(ml_dtypes.bfloat16) and val.dtype == np.dtype(ml_dtypes.bfloat16)
    ref = make(data).batch(0, 0)
    np.testing.assert_array_equal(val.astype(np.float32), ref.values.astype(ml_dtypes.bfloat16).astype(np.float32))

    import jax
    import jax.numpy as jnp

    seq, val = make(data, dtype="bfloat16", output="jax").batch(0, 0)
    assert isinstance(val, jax.Array) and val.dtype == jnp.bfloat16 and val.shape == (16, 100, 3)
    assert seq.dtype == jnp.bfloat16 and seq.shape == (16, 100, 4)
    seq, val = make(data, output="jax").batch(0, 0)
    assert val.dtype == jnp.float32
    np.testing.assert_array_equal(np.asarray(val), ref.values)
    np.testing.assert_array_equal(np.asarray(seq), ref.sequence)


def test_track_dataset__without_reference(data):
    ds = TrackDataset([("chrA", 0, 6000)], data["tracks"], sequence_length=100, batch_size=4, seed=1,
                      batches_per_epoch=1, prefetch=0)
    seq, val = ds.batch(0, 0)
    assert seq is None and val.shape == (4, 100, 3)


def test_track_dataset__bad_arguments(data):
    with pytest.raises(ValueError):
        make(data, window_size=7)
    with pytest.raises(ValueError):
        make(data, output="cupy")
    with pytest.raises(ValueError):
        make(data, sub_sample_tracks=4)
    with pytest.raises(RegionError):
        make(data, roi=[("chrZ", 0, 100)])
    with pytest.raises(RegionError):
        make(data, sequence_length=5000, roi=[("chrB", 0, 100)])
    with pytest.raises(IndexError):
        make(data).batch(0, 3)


@pytest.mark.skipif(importlib.util.find_spec("torch") is not None, reason="torch is installed")
def test_track_dataset__torch_output_needs_torch(data):
    with pytest.raises(ImportError):
        make(data, output="torch")


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch is not installed")
def test_track_dataset__torch_output(data):
    import torch

    seq, val = make(data, output="torch", dtype="bfloat16").batch(0, 0)
    assert isinstance(val, torch.Tensor) and val.dtype == torch.bfloat16 and tuple(val.shape) == (16, 100, 3)


def test_track_dataset__prefetch_stops_when_consumer_breaks(data):
    ds = make(data, prefetch=1, batches_per_epoch=3)
    it = ds.epoch(0)
    next(it)
    it.close()  # joins the producer thread
    import threading

    assert not any(t.name == "hts-trackdataset-prefetch" for t in threading.enumerate())


def test_ml__import_is_light():
    code = "import sys, hts_notebook.ml; print(','.join(m for m in ('jax', 'xarray', 'torch') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
