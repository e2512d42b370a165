"""xarray backend engine="hts": lazy per-contig bigWig arrays equal BigWigFile.values."""
from __future__ import annotations

import pickle
import subprocess
import sys

import numpy as np
import pytest
import xarray as xr

import hts_notebook as hts
from hts_notebook.backend import HtsBackendEntrypoint, select_region
from hts_notebook.core.formats.bbi.writer import write_bigwig

CONTIGS = {"chr1": 50_000, "chr2": 20_000, "chrM": 500}


@pytest.fixture(scope="module")
def bw(tmp_path_factory):
    d = tmp_path_factory.mktemp("backend")
    rng = np.random.default_rng(11)
    iv = {}
    for c, n in CONTIGS.items():
        if c == "chrM":
            continue  # a contig without data
        starts = np.sort(rng.choice(n - 20, size=n // 40, replace=False)).astype(np.int64)
        starts = starts[np.concatenate([[True], np.diff(starts) >= 20])]
        ends = starts + rng.integers(1, 20, len(starts))
        iv[c] = (starts, ends, rng.normal(size=len(starts)).astype(np.float32))
    p = d / "sig.bw"
    write_bigwig(p, CONTIGS, iv, items_per_slot=32)
    return str(p)


def test_guess_can_open__magic_bytes_and_never_raises(bw, tmp_path):
    ep = HtsBackendEntrypoint()
    assert ep.guess_can_open(bw)
    other = tmp_path / "x.bw"
    other.write_bytes(b"not a bigwig at all")
    assert not ep.guess_can_open(other)
    assert not ep.guess_can_open(tmp_path / "missing.bw")
    assert not ep.guess_can_open(tmp_path)
    assert not ep.guess_can_open(b"\x26\xfc\x8f\x88")
    assert not ep.guess_can_open(None)
    assert not ep.guess_can_open(12)
    (tmp_path / "empty").write_bytes(b"")
    assert not ep.guess_can_open(tmp_path / "empty")


def test_open_dataset__layout_and_lazy(bw):
    ds = xr.open_dataset(bw, engine="hts")
    assert list(ds.data_vars) == ["chr1", "chr2", "chrM"]
    for c, n in CONTIGS.items():
        assert ds[c].dims == (f"positions_{c}",) and ds[c].shape == (n,) and ds[c].dtype == np.float32
        assert ds[f"position_{c}"].dtype == np.int64
    assert ds.attrs["contigs"] == list(CONTIGS) and ds.attrs["source"] == bw
    assert not ds["chr1"].variable._in_memory
    ds.close()
    # without engine=: the entry point is found by sniffing
    ds2 = xr.open_dataset(bw)
    assert list(ds2.data_vars) == ["chr1", "chr2", "chrM"]
    ds2.close()


@pytest.mark.parametrize("start0,stop0", [(0, 1), (999, 2000), (12_345, 12_400), (49_900, 50_000), (0, 50_000)])
def test_open_dataset__selection_equals_values(bw, start0, stop0):
    f = hts.open_bigwig(bw)
    ds = xr.open_dataset(bw, engine="hts")
    got = ds["chr1"].isel(positions_chr1=slice(start0, stop0))
    want = f.values(f"chr1:{start0 + 1}-{stop0}")
    np.testing.assert_array_equal(got.values, want.values)
    np.testing.assert_array_equal(got["position_chr1"].values, want["position"].values)
    sel = select_region(ds, f"chr1:{start0 + 1}-{stop0}")
    assert sel.dims == ("positions",) and sel.attrs["region"] == want.attrs["region"]
    np.testing.assert_array_equal(sel.values, want.values)
    np.testing.assert_array_equal(sel["position"].values, want["position"].values)


def test_open_dataset__strided_negative_and_scalar_indexing(bw):
    f = hts.open_bigwig(bw)
    full = f.values("chr2").values
    ds = xr.open_dataset(bw, engine="hts")
    np.testing.assert_array_equal(ds["chr2"][100:5000:7].values, full[100:5000:7])
    np.testing.assert_array_equal(ds["chr2"][5000:100:-3].values, full[5000:100:-3])
    np.testing.assert_array_equal(ds["chr2"][::-1][:50].values, full[::-1][:50])
    idx = np.array([5, 17, 19_999, 3])
    np.testing.assert_array_equal(ds["chr2"][idx].values, full[idx])
    nz = int(np.flatnonzero(~np.isnan(full))[0])
    assert ds["chr2"][nz].values == full[nz] and ds["chr2"][-1].values.shape == ()
    assert np.isnan(ds["chrM"].values).all()


def test_open_dataset__drop_variables_and_fill(bw):
    ds = xr.open_dataset(bw, engine="hts", drop_variables=["chr2", "position_chr1"], fill=0.0)
    assert list(ds.data_vars) == ["chr1", "chrM"] and "position_chr1" not in ds.coords
    want = hts.open_bigwig(bw).values("chr1:1-3000", fill=0.0).values
    np.testing.assert_array_equal(ds["chr1"][:3000].values, want)


def test_open_dataset__chunks_compute_equal(bw):
    ds = xr.open_dataset(bw, engine="hts", chunks={"positions_chr1": 4096}, chunk_size=4096)
    da = ds["chr1"]
    assert da.chunks[0][0] == 4096
    got = da.isel(positions_chr1=slice(1000, 20_000)).compute()
    want = hts.open_bigwig(bw).values(("chr1", 1000, 20_000))
    np.testing.assert_array_equal(got.values, want.values)
    np.testing.assert_array_equal(got["position_chr1"].values, want["position"].values)
    # chunks={} uses the backend's preferred chunks (chunk_size)
    ds2 = xr.open_dataset(bw, engine="hts", chunks={}, chunk_size=10_000)
    assert ds2["chr2"].chunks[0] == (10_000, 10_000)
    want2 = hts.open_bigwig(bw).values("chr2").values.astype(np.float64)
    assert float(ds2["chr2"].mean().compute()) == pytest.approx(float(np.nanmean(want2)), rel=1e-5)


def test_lazy_array__pickles_by_path(bw):
    from hts_notebook.core.formats.bbi.lazy import BigWigContigArray, SharedBigWig

    arr = BigWigContigArray(SharedBigWig(bw), "chr1", CONTIGS["chr1"])
    before = arr._raw_getitem((slice(0, 5000),))
    clone = pickle.loads(pickle.dumps(arr))
    assert clone.shared._file is None
    np.testing.assert_array_equal(clone._raw_getitem((slice(0, 5000),)), before)


def test_open_dataset__dask_distributed_local_cluster(bw):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  worker_dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        ds = xr.open_dataset(bw, engine="hts", chunks={"positions_chr1": 8192}, chunk_size=4096)
        sel = ds["chr1"].isel(positions_chr1=slice(2000, 40_000))
        total = float(client.compute(sel.sum()).result(timeout=60))
        got = client.compute(sel).result(timeout=60)
    want = hts.open_bigwig(bw).values(("chr1", 2000, 40_000)).values
    np.testing.assert_array_equal(np.asarray(got), want)
    assert total == pytest.approx(float(np.nansum(want.astype(np.float64))), rel=1e-5)


def test_backend__import_is_light():
    code = (
        "import sys, hts_notebook.backend\n"
        "print(','.join(m for m in ('jax', 'IPython', 'anywidget', 'ipywidgets') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
    code = "import sys, hts_notebook; print('hts_notebook.backend' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_open_dataset__rejects_non_bigwig(tmp_path):
    p = tmp_path / "x.bw"
    p.write_bytes(b"\x00" * 64)
    with pytest.raises(hts.FormatError):
        xr.open_dataset(p, engine="hts")
    with pytest.raises(TypeError):
        HtsBackendEntrypoint().open_dataset(b"bytes")
