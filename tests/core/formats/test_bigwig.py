"""bigWig reader against the corpus oracles (pyBigWig 0.3.29) and exact-bytes cases."""
from __future__ import annotations

import numpy as np
import pytest

import hts_notebook
from hts_notebook.core.errors import FormatError, RegionError
from hts_notebook.core.formats.bbi.bigwig import BigWigFile, decode_wig_block
from tests.conftest import corpus_files, ids, oracle_for, requires_shared

BIGWIGS = corpus_files("bigwig")


def _arr(values):
    if isinstance(values, dict):
        pytest.skip("truncated oracle list")
    if not isinstance(values, list):
        values = [values]
    return np.array([np.nan if x is None else x for x in values], dtype=np.float64)


@requires_shared
@pytest.mark.parametrize("path", BIGWIGS, ids=ids(BIGWIGS))
def test_bigwig__corpus_header_and_chroms(path):
    oracle = oracle_for(path)
    bw = hts_notebook.open(path)
    assert isinstance(bw, BigWigFile)
    assert [[k, v] for k, v in bw.contigs.items()] == oracle["chroms"]
    head = bw.header
    for key, value in oracle["header"].items():
        assert int(head[key]) == value, key  # pyBigWig truncates the float fields to integers
    info = oracle["pybbi_info"]
    assert len(bw.zoom_levels) == info["zoomLevels"]
    assert head["isCompressed"] == info["isCompressed"]
    summ = info["summary"]
    assert bw.total_summary.bases_covered == summ["basesCovered"]
    assert bw.total_summary.sum_data == pytest.approx(summ["sum"], rel=1e-12)
    assert bw.total_summary.min_val == pytest.approx(summ["min"], rel=1e-12)
    assert bw.total_summary.max_val == pytest.approx(summ["max"], rel=1e-12)


@requires_shared
@pytest.mark.parametrize("path", BIGWIGS, ids=ids(BIGWIGS))
def test_bigwig__corpus_values(path):
    oracle = oracle_for(path)
    bw = BigWigFile(path)
    for win in oracle["values"]:
        da = bw.values((win["chrom"], win["start"], win["stop"]))
        assert da.dtype == np.float32 and da.dims == ("positions",)
        assert da["position"].values[0] == win["start"] + 1
        expected = _arr(win["values"]).astype(np.float32)
        np.testing.assert_array_equal(da.values, expected, err_msg=win["why"])
        # the same window through a 1-based closed region string
        text = f"{win['chrom']}:{win['start'] + 1}-{win['stop']}"
        np.testing.assert_array_equal(bw.values(text).values, expected)


@requires_shared
@pytest.mark.parametrize("path", BIGWIGS, ids=ids(BIGWIGS))
def test_bigwig__corpus_intervals(path):
    iv = oracle_for(path)["intervals"]
    s, e, v = BigWigFile(path).intervals((iv["chrom"], iv["start"], iv["stop"]))
    assert len(s) == iv["count"]
    got = [[int(a), int(b), float(c)] for a, b, c in zip(s, e, v)][: len(iv["intervals"])]
    assert got == iv["intervals"]


@requires_shared
@pytest.mark.parametrize("path", BIGWIGS, ids=ids(BIGWIGS))
def test_bigwig__corpus_stats(path):
    oracle = oracle_for(path)
    bw = BigWigFile(path)
    for st in oracle["stats"]:
        region = (st["chrom"], st["start"], st["stop"])
        for key, exact, bins, rtol in (("exact", True, 1, 1e-9), ("exact_nBins10", True, 10, 1e-9),
                                       ("zoom", False, 1, 1e-6), ("zoom_nBins10", False, 10, 1e-6)):
            for kind, expected in st[key].items():
                got = bw.stats(region, kind, bins, exact)
                assert got.dims == ("bins",) and got.name == f"bin_{kind}"
                np.testing.assert_allclose(got.values, _arr(expected), rtol=rtol, equal_nan=True,
                                           err_msg=f"{key} {kind} {region}")


@requires_shared
def test_bigwig__zoom_level_choice_matches_libbigwig():
    bw = BigWigFile(next(p for p in BIGWIGS if p.name == "bbijs-volvox.bw"))
    reductions = [z.reduction_level for z in bw.zoom_levels]
    assert reductions[:3] == [40, 160, 640]
    assert bw.choose_zoom_level(79) == -1  # 79 // 2 = 39 < 40
    assert bw.choose_zoom_level(80) == 0
    assert bw.choose_zoom_level(1000) == 1
    assert bw.stats("ctgA", bins=10).attrs["zoom_level"] == bw.choose_zoom_level(50001 / 10)
    ds = bw.zoom_records("ctgA:1-1000", level=0)
    assert ds["bin_start"].values[0] >= 0 and (ds["bin_count"].values <= 40).all()


def test_bigwig__decode_three_section_types():
    bed = np.array([(10, 20, 1.5), (25, 30, 2.0)], dtype=[("s", "<u4"), ("e", "<u4"), ("v", "<f4")]).tobytes()
    head1 = np.array([(0, 10, 30, 0, 0, 1, 0, 2)], dtype="<u4,<u4,<u4,<u4,<u4,u1,u1,<u2").tobytes()
    var = np.array([(100, 3.0), (110, 4.0)], dtype=[("s", "<u4"), ("v", "<f4")]).tobytes()
    head2 = np.array([(0, 100, 115, 0, 5, 2, 0, 2)], dtype="<u4,<u4,<u4,<u4,<u4,u1,u1,<u2").tobytes()
    fixed = np.array([5.0, 6.0, 7.0], dtype="<f4").tobytes()
    head3 = np.array([(1, 200, 230, 10, 3, 3, 0, 3)], dtype="<u4,<u4,<u4,<u4,<u4,u1,u1,<u2").tobytes()
    cid, s, e, v = decode_wig_block(head1 + bed + head2 + var + head3 + fixed)
    assert cid.tolist() == [0, 0, 0, 0, 1, 1, 1]
    assert s.tolist() == [10, 25, 100, 110, 200, 210, 220]
    assert e.tolist() == [20, 30, 105, 115, 203, 213, 223]
    assert v.tolist() == [1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]


def test_bigwig__decode_rejects_unknown_section_type():
    head = np.array([(0, 10, 30, 0, 0, 9, 0, 0)], dtype="<u4,<u4,<u4,<u4,<u4,u1,u1,<u2").tobytes()
    with pytest.raises(FormatError):
        decode_wig_block(head)


@requires_shared
def test_bigwig__unknown_contig_raises_region_error():
    bw = BigWigFile(BIGWIGS[0])
    with pytest.raises(RegionError):
        bw.values("no_such_contig:1-10")


@requires_shared
def test_bigwig__open_rejects_bigbed_as_bigwig():
    with pytest.raises(FormatError):
        BigWigFile(corpus_files("bigbed")[0])


@requires_shared
def test_open_tracks__windows_equals_loop_of_values():
    paths = [p for p in BIGWIGS if p.name in ("bbijs-volvox.bw", "bbijs-uncompressed.bw")]
    paths.append(next(p for p in BIGWIGS if p.name == "bigtools-mini.bw"))  # no ctgA: all NaN
    ts = hts_notebook.open_tracks(paths)
    rng = np.random.default_rng(7)
    starts = rng.integers(0, 49_000, 40)
    starts[0] = 49_500  # runs past the end of ctgA (50,001 bp): NaN there
    da = ts.windows("ctgA", starts, 1000)
    assert da.dims == ("windows", "positions", "tracks") and da.shape == (40, 1000, 3)
    assert da["position"].values[1, 0] == starts[1] + 1
    assert np.isnan(da.values[:, :, 2]).all()
    for t, path in enumerate(paths[:2]):
        bw = BigWigFile(path)
        for w, s in enumerate(starts.tolist()):
            stop = min(s + 1000, bw.contigs["ctgA"])
            ref = bw.values(("ctgA", s, stop)).values
            np.testing.assert_array_equal(da.values[w, : stop - s, t], ref)
            assert np.isnan(da.values[w, stop - s:, t]).all()
    np.testing.assert_array_equal(ts.windows("ctgA", starts, 1000, backend="numpy").values, da.values)


@requires_shared
def test_open_tracks__window_stats_match_exact_stats():
    path = next(p for p in BIGWIGS if p.name == "bbijs-volvox.bw")
    ts = hts_notebook.open_tracks([path])
    bw = BigWigFile(path)
    starts = np.array([0, 1234, 20_000, 45_000])
    ds = ts.window_stats("ctgA", starts, 500, backend="numpy")
    for w, s in enumerate(starts.tolist()):
        for kind in ("mean", "min", "max", "std", "coverage"):
            exp = bw.stats(("ctgA", s, s + 500), kind, exact=True).values[0]
            np.testing.assert_allclose(ds[f"window_{kind}"].values[w, 0], exp, rtol=1e-9)


@requires_shared
def test_open_tracks__directory(tmp_path):
    import shutil

    for p in BIGWIGS[:2]:
        shutil.copy(p, tmp_path / p.name)
    ts = hts_notebook.open_tracks(tmp_path)
    assert ts.names == sorted(p.stem for p in BIGWIGS[:2])


@requires_shared
@pytest.mark.parametrize("exact", [False, True])
def test_open_tracks__stats_equal_single_file_stats(exact):
    paths = [p for p in BIGWIGS if p.name in ("bbijs-volvox.bw", "bbijs-uncompressed.bw", "bigtools-mini.bw")]
    ts = hts_notebook.open_tracks(paths)
    rng = np.random.default_rng(5)
    starts = rng.integers(0, 49_000, 30)
    stops = starts + rng.integers(1, 30_000, 30)  # some run past the end of ctgA: clipped as a single query is
    for kind in ("mean", "min", "max", "std", "coverage", "sum"):
        da = ts.stats("ctgA", starts, stops, type=kind, exact=exact)
        assert da.dims == ("windows", "tracks") and da.name == f"window_{kind}"
        assert np.isnan(da.values[:, 2]).all()  # bigtools-mini.bw has no ctgA
        for t, path in enumerate(paths[:2]):
            bw = BigWigFile(path)
            ref = [bw.stats(("ctgA", a, min(b, bw.contigs["ctgA"])), kind, exact=exact).values[0]
                   for a, b in zip(starts.tolist(), stops.tolist())]
            np.testing.assert_allclose(da.values[:, t], ref, rtol=1e-9, equal_nan=True)


def test_open_tracks__default_windows_do_not_import_jax(tmp_path):
    import subprocess
    import sys

    from hts_notebook.core.formats.bbi.writer import write_bigwig

    p = tmp_path / "a.bw"
    write_bigwig(p, {"c": 100}, {"c": (np.array([0, 10]), np.array([10, 20]), np.array([1.0, 2.0], np.float32))})
    code = ("import sys, hts_notebook as h; t = h.open_tracks([sys.argv[1]]); "
            "d = t.windows('c', [0, 5], 20).values; assert d[1, 5, 0] == 2.0 and d[0, 0, 0] == 1.0; "
            "print('jax' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code, str(p)], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
