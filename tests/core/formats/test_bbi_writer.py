"""bigWig / bigBed writers: read back by pyBigWig (oracle) and by our reader."""
from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from hts_notebook.core.formats.bbi.bigbed import BigBedFile
from hts_notebook.core.formats.bbi.bigwig import BigWigFile
from hts_notebook.core.formats.bbi.writer import (bedgraph_to_bigwig, dataarray_to_bigwig, write_bigbed,
                                                  write_bigwig)
from tests.conftest import corpus_files, ids, requires_shared

pyBigWig = pytest.importorskip("pyBigWig")

BIGWIGS = corpus_files("bigwig")
BIGBEDS = corpus_files("bigbed")
STATS = ("mean", "min", "max", "std", "coverage")


def _none_nan(xs):
    return np.array([np.nan if x is None else x for x in xs], dtype=np.float64)


def _check_against_pybigwig(path, contigs, bins=(1, 10, 100)):
    ours = BigWigFile(path)
    ref = pyBigWig.open(str(path))
    assert ref.chroms() == dict(contigs)
    for c, length in contigs.items():
        stop = min(length, 100_000)
        np.testing.assert_array_equal(ours.values((c, 0, stop)).values, ref.values(c, 0, stop, numpy=True))
        for kind in STATS:
            for nb in bins:
                for exact in (True, False):
                    np.testing.assert_allclose(ours.stats(c, kind, nb, exact).values,
                                               _none_nan(ref.stats(c, 0, length, type=kind, nBins=nb, exact=exact)),
                                               rtol=1e-9, equal_nan=True, err_msg=f"{c} {kind} {nb} {exact}")
    return ours


def test_write_bigwig__random_intervals_read_by_pybigwig(tmp_path):
    rng = np.random.default_rng(3)
    contigs = {"chr2": 300_000, "chr1": 500_000, "chrM": 16_000}
    data = {}
    for c, length in contigs.items():
        if c == "chrM":
            continue  # listed but without data
        cuts = np.sort(rng.choice(length, 6000, replace=False))
        s, e = cuts[0::2], cuts[1::2]
        data[c] = (s, e, rng.normal(5, 3, len(s)).astype(np.float32))
    out = tmp_path / "r.bw"
    write_bigwig(out, contigs, data)
    ours = _check_against_pybigwig(out, contigs)
    assert len(ours.zoom_levels) >= 3
    reds = [z.reduction_level for z in ours.zoom_levels]
    assert all(b == 4 * a for a, b in zip(reds, reds[1:]))
    assert list(ours.contigs) == ["chr1", "chr2", "chrM"]  # ids in name order
    s, e, v = ours.intervals("chr1")
    np.testing.assert_array_equal(s, data["chr1"][0])
    np.testing.assert_array_equal(v, data["chr1"][2])
    summ = ours.total_summary
    assert summ.bases_covered == sum(int((e - s).sum()) for s, e, _ in data.values())


def test_write_bigwig__uncompressed_without_zooms(tmp_path):
    out = tmp_path / "u.bw"
    write_bigwig(out, {"c": 100}, {"c": ([0, 10, 50], [5, 20, 100], [1.0, -2.5, 3.0])}, compress=False,
                 zoom_levels=0)
    bw = BigWigFile(out)
    assert not bw.header["isCompressed"] and bw.zoom_levels == []
    _check_against_pybigwig(out, {"c": 100}, bins=(1, 7))


def test_write_bigwig__rejects_overlaps(tmp_path):
    with pytest.raises(ValueError):
        write_bigwig(tmp_path / "x.bw", {"c": 100}, {"c": ([0, 3], [5, 8], [1.0, 2.0])})


def test_bedgraph_to_bigwig__values(tmp_path):
    bg = tmp_path / "a.bedGraph"
    bg.write_text("track type=bedGraph\nchr1\t0\t10\t1.5\nchr1\t20\t25\t-1\nchr2\t5\t6\t7\n")
    out = tmp_path / "a.bw"
    bedgraph_to_bigwig(bg, {"chr1": 30, "chr2": 10}, out)
    _check_against_pybigwig(out, {"chr1": 30, "chr2": 10}, bins=(1, 3))
    vals = BigWigFile(out).values("chr1:20-23").values  # bases 19..22 0-based: 19 empty, 20.. -1
    assert np.isnan(vals[0]) and vals[1:].tolist() == [-1.0, -1.0, -1.0]


@requires_shared
@pytest.mark.parametrize("path", BIGWIGS, ids=ids(BIGWIGS))
def test_write_bigwig__corpus_rewrite_same_values(tmp_path, path):
    src = BigWigFile(path)
    data = {}
    for c in src.contigs:
        s, e, v = src.intervals(c)
        if len(s):
            data[c] = (s, e, v)
    out = tmp_path / "rw.bw"
    write_bigwig(out, src.contigs, data)
    ours = BigWigFile(out)
    ref = pyBigWig.open(str(out))
    for c in list(data)[:5]:
        stop = min(src.contigs[c], 200_000)
        want = src.values((c, 0, stop)).values
        np.testing.assert_array_equal(ours.values((c, 0, stop)).values, want)
        np.testing.assert_array_equal(ref.values(c, 0, stop, numpy=True), want)
        for kind in STATS:
            np.testing.assert_allclose(ours.stats(c, kind, 10, exact=True).values,
                                       src.stats(c, kind, 10, exact=True).values, rtol=1e-9, equal_nan=True)
            np.testing.assert_allclose(ours.stats(c, kind, 10).values,
                                       _none_nan(ref.stats(c, type=kind, nBins=10)), rtol=1e-9, equal_nan=True)


@requires_shared
def test_dataarray_to_bigwig__roundtrip(tmp_path):
    src = BigWigFile(next(p for p in BIGWIGS if p.name == "bbijs-volvox.bw"))
    das = [src.values("ctgA:1-20000"), src.values("ctgA:30001-50001")]
    out = tmp_path / "da.bw"
    dataarray_to_bigwig(das, out, src.contigs)
    back = BigWigFile(out)
    for da in das:
        np.testing.assert_array_equal(back.values(da.attrs["region"]).values, da.values)
    assert np.isnan(back.values("ctgA:20001-30000").values).all()


@requires_shared
@pytest.mark.parametrize("path", BIGBEDS, ids=ids(BIGBEDS))
def test_write_bigbed__corpus_roundtrip(tmp_path, path):
    src = BigBedFile(path)
    parts = [src.query(c) for c in src.contigs if src.entries(c, with_string=False)]
    ds = xr.concat([p.drop_vars(["contig_id", "contig_length"]) for p in parts], dim="intervals")
    ds["contig_id"] = parts[0]["contig_id"]
    ds["contig_length"] = parts[0]["contig_length"]
    ds.attrs = parts[0].attrs
    out = tmp_path / "rw.bb"
    write_bigbed(out, ds)
    back = BigBedFile(out)
    ref = pyBigWig.open(str(out))
    assert back.autosql == (src.autosql or back.autosql)
    for c in list(src.contigs)[:40]:
        want = src.entries(c, with_string=False)
        got = back.entries(c, with_string=False)
        assert sorted(got) == sorted(want)
        assert sorted((a, b) for a, b, _ in (ref.entries(c, 0, src.contigs[c]) or [])) == sorted(want)
    # typed columns survive the text round trip
    again = xr.concat([back.query(c).drop_vars(["contig_id", "contig_length"])
                       for c in src.contigs if back.entries(c, with_string=False)], dim="intervals")
    for name in ds.data_vars:
        if name in again and ds[name].dims == ("intervals",):
            np.testing.assert_array_equal(np.sort(again[name].values), np.sort(ds[name].values), err_msg=name)


def test_write_bigbed__coverage_summary(tmp_path):
    ds = xr.Dataset({
        "interval_contig": ("intervals", np.array([0, 0, 0, 0, 0], np.int32)),
        "interval_start": ("intervals", np.array([1, 4, 4, 6, 8])),
        "interval_stop": ("intervals", np.array([3, 10, 6, 10, 10])),
        "name": ("intervals", np.array(["a", "b", "c", "d", "e"])),
        "score": ("intervals", np.array([0, 10, 20, 30, 1000])),
        "contig_id": ("contigs", np.array(["chr1"])), "contig_length": ("contigs", np.array([12])),
    })
    out = tmp_path / "c.bb"
    write_bigbed(out, ds)
    head = pyBigWig.open(str(out)).header()
    assert (head["nBasesCovered"], head["sumData"], head["sumSquared"]) == (8, 16, 36)
    assert (4, 10, "b\t10") in pyBigWig.open(str(out)).entries("chr1", 0, 12)
    back = BigBedFile(out)
    assert back.header["definedFieldCount"] == 5 and back.header["fieldCount"] == 5
    assert sorted(back.query("chr1")["score"].values.tolist()) == [0, 10, 20, 30, 1000]
