"""RegionBrowser without a browser: track arrays, row packing, the request/reply protocol."""
from __future__ import annotations

import base64
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("anywidget")

from hts_notebook.core.errors import RegionError  # noqa: E402
from hts_notebook.core.formats.alignment.batch import batch_from_columns, cigar_from_string, encode_seq  # noqa: E402
from hts_notebook.core.formats.alignment.header import AlignmentHeader  # noqa: E402
from hts_notebook.core.kernels.coverage import coverage_numpy, aligned_blocks  # noqa: E402
from hts_notebook.widgets import BatchReader, RegionBrowser, SequenceReader  # noqa: E402
from hts_notebook.widgets.tracks import alignment_track, pack_rows  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from jupyter_harness import synthetic_alignments  # noqa: E402

REF = "ACGTACGTAC" * 10  # chr1, 100 bases


def _reader(rows, ref=REF):
    """rows: (pos, cigar, seq text, flag)"""
    header = AlignmentHeader("@SQ\tSN:chr1\tLN:100\n", [("chr1", len(ref))])
    cig = [cigar_from_string(r[1]) for r in rows]
    ends = []
    for p, c in zip((r[0] for r in rows), cig):
        ends.append(p + sum(int(o >> 4) for o in c.tolist() if (o & 15) in (0, 2, 3, 7, 8)))
    n = len(rows)
    batch = batch_from_columns(
        ref_id=[0] * n, pos=[r[0] for r in rows], end=ends, mapq=[60] * n, bin=[0] * n, flag=[r[3] for r in rows],
        next_ref_id=[-1] * n, next_pos=[-1] * n, tlen=[0] * n, name=[b"r%d" % i for i in range(n)], cigar=cig,
        seq=[encode_seq(r[2].encode()) for r in rows], qual=[np.full(len(r[2]), 30, np.uint8) for r in rows],
        aux=[b""] * n,
    )
    return BatchReader(batch, header, name="mem.bam"), SequenceReader({"chr1": ref})


def test_pack_rows__greedy_lowest_free_row():
    rows = pack_rows([0, 5, 12, 20, 21, 40], [10, 15, 30, 25, 30, 50], gap=2)
    assert rows.tolist() == [0, 1, 0, 1, 2, 0]


def test_pack_rows__cap_marks_overflow_minus_one():
    rows = pack_rows([0, 0, 0, 0, 20], [10, 10, 10, 10, 30], max_rows=2)
    assert rows.tolist() == [0, 1, -1, -1, 0]


def test_pack_rows__random_no_overlap_on_a_row():
    rng = np.random.default_rng(3)
    s = rng.integers(0, 5000, 800)
    e = s + rng.integers(1, 300, 800)
    rows = pack_rows(s, e, gap=2)
    assert (rows >= 0).all()
    for r in np.unique(rows):
        idx = np.flatnonzero(rows == r)
        idx = idx[np.argsort(s[idx])]
        assert np.all(s[idx][1:] >= e[idx][:-1] + 2)
    # lowest free row: a read in row r > 0 overlaps (with gap) some earlier-started read in each row below
    order = np.argsort(s, kind="stable")
    for k in order[:200]:
        for lower in range(rows[k]):
            others = np.flatnonzero((rows == lower) & (s <= s[k]))
            others = others[others != k]
            assert np.any(e[others] + 2 > s[k])


def test_alignment_track__mismatch_insertion_deletion_arrays():
    # read 0: 10M with a substitution at ref pos 13 (0-based); read 1: 4M2D4M; read 2: 3M2I3M, reverse
    s0 = list(REF[10:20]); s0[3] = "A" if REF[13] != "A" else "C"
    reader, ref = _reader([
        (10, "10M", "".join(s0), 0),
        (12, "4M2D4M", REF[12:16] + REF[18:22], 0),
        (30, "3M2I3M", REF[30:33] + "TT" + REF[33:36], 16),
    ])
    meta, arr = alignment_track(reader.batch, 10, 40, reference=ref.fetch("chr1:11-40"), backend="numpy")
    assert meta["n_reads"] == 3 and meta["n_hidden"] == 0 and meta["coverage_bin"] == 1
    assert arr["read_start"].tolist() == [0, 2, 20]
    assert arr["read_end"].tolist() == [10, 12, 26]
    assert arr["read_row"].tolist() == [0, 1, 0]
    assert arr["read_flag"].tolist() == [0, 0, 16]
    assert arr["mm_read"].tolist() == [0] and arr["mm_pos"].tolist() == [3]
    assert arr["mm_base"].tobytes() == s0[3].encode() and arr["mm_qual"].tolist() == [30]
    assert arr["ins_read"].tolist() == [2] and arr["ins_pos"].tolist() == [23] and arr["ins_len"].tolist() == [2]
    blocks = list(zip(arr["block_read"].tolist(), arr["block_start"].tolist(), arr["block_end"].tolist(),
                      arr["block_kind"].tolist()))
    assert blocks == [(0, 0, 10, 0), (1, 2, 6, 0), (1, 6, 8, 1), (1, 8, 12, 0), (2, 20, 23, 0), (2, 23, 26, 0)]
    expect = [1, 1, 2, 2, 2, 2, 1, 1, 2, 2, 1, 1] + [0] * 8 + [1] * 6 + [0] * 4
    assert arr["coverage"].tolist() == expect


def test_alignment_track__without_reference_only_x_ops_mismatch():
    reader, _ = _reader([(10, "2=1X2=", "ACTTA", 0), (10, "5M", "GGGGG", 0)])
    _, arr = alignment_track(reader.batch, 0, 100, reference=None, backend="numpy")
    assert arr["mm_read"].tolist() == [0] and arr["mm_pos"].tolist() == [12] and arr["mm_base"].tobytes() == b"T"


def test_alignment_track__depth_cap_downsamples_and_marks():
    reader, ref = synthetic_alignments(n_reads=50, pile_up=(3000, 3100, 200))
    meta, arr = alignment_track(reader.fetch_batch("chr1:2801-3400"), 2800, 3400, max_depth=20)
    assert meta["n_rows"] == 20
    assert meta["n_hidden"] > 100
    assert meta["n_reads"] + meta["n_hidden"] == len(reader.fetch_batch("chr1:2801-3400"))
    assert len(arr["hidden_start"]) >= 1
    # the hidden intervals cover every start of the pile-up beyond the cap
    assert arr["hidden_start"].min() <= 3100 - 2800 and arr["hidden_end"].max() > 3000 - 2800
    # coverage still counts every read, downsampled or not
    b = reader.fetch_batch("chr1:2801-3400")
    s, l = aligned_blocks(b.pos, b.cigar, b.cigar_offsets)
    np.testing.assert_array_equal(arr["coverage"], coverage_numpy(s, l, 2800, 600))


def test_alignment_track__mismatches_match_brute_force_walk():
    reader, ref = synthetic_alignments(seed=11, n_reads=150, pile_up=(0, 1, 0))
    start, stop = 1000, 9000
    refseq = ref.fetch(f"chr1:{start + 1}-{stop}")
    b = reader.fetch_batch(f"chr1:{start + 1}-{stop}")
    meta, arr = alignment_track(b, start, stop, reference=refseq, max_depth=10_000)
    got = set(zip(arr["mm_read"].tolist(), (arr["mm_pos"] + start).tolist()))
    want = set()
    rs = arr["read_start"] + start
    # map drawn reads back to batch rows by start + name order (batch is sorted, nothing hidden)
    assert meta["n_hidden"] == 0
    order = np.argsort(b.pos, kind="stable")
    for drawn_i, bi in enumerate(order.tolist()):
        assert rs[drawn_i] == b.pos[bi]
        seq = b.seq_string(bi)
        rp, qp = int(b.pos[bi]), 0
        for op in b.cigar_ops(bi).tolist():
            n, code = op >> 4, op & 15
            if code == 0:
                for k in range(n):
                    if start <= rp + k < stop and seq[qp + k] != ref.sequences["chr1"][rp + k]:
                        want.add((drawn_i, rp + k))
            if code in (0, 2, 3, 7, 8):
                rp += n
            if code in (0, 1, 4, 7, 8):
                qp += n
    assert got == want and len(want) > 20


@pytest.fixture
def browser():
    reads, ref = synthetic_alignments()
    return RegionBrowser(reads, "chr1:2,901-3,400", reference=ref, max_depth=50)


def _decode(content, buffers):
    blob = bytes(buffers[0])
    out = {}
    for s in content["arrays"]:
        a = np.frombuffer(blob[s["offset"]:s["offset"] + s["nbytes"]], dtype=np.dtype(s["dtype"])).reshape(s["shape"])
        out[(s["track"], s["name"])] = a
    return out


def test_region_browser__normalises_region_and_tracks(browser):
    assert browser.region == "chr1:2901-3400"
    assert browser.tracks == [{"name": "synthetic.bam", "kind": "alignments"}]
    assert browser.contigs == {"chr1": 20000, "chr2": 5000}
    browser.region = "chr2"
    assert browser.region == "chr2:1-5000"
    browser.region = "chr1:19,990-25,000"  # clipped to the contig
    assert browser.region == "chr1:19990-20000"
    with pytest.raises(RegionError):
        browser.region = "chrX:1-10"
    with pytest.raises(RegionError):
        RegionBrowser(synthetic_alignments()[0], "nope:1-5")


def test_region_browser__default_region_is_start_of_first_contig():
    reads, _ = synthetic_alignments()
    assert RegionBrowser([reads, reads]).region == "chr1:1-2000"


def test_region_browser__request_reply_roundtrip_binary(browser, monkeypatch):
    sent = []
    monkeypatch.setattr(browser, "send", lambda content, buffers=None: sent.append((content, buffers)))
    browser._on_custom_msg(browser, {"type": "request", "id": "v1:1", "region": "chr1:3,001-3,200", "pad": 1.0}, [])
    content, buffers = sent[-1]
    assert content["type"] == "reply" and content["id"] == "v1:1"
    assert content["region"] == "chr1:3001-3200"
    assert (content["start"], content["stop"], content["data_start"], content["data_stop"]) == (3000, 3200, 2800, 3400)
    assert all(isinstance(b, memoryview) for b in buffers)
    got = _decode(content, buffers)
    meta, want = browser.fetch("chr1:3001-3200", pad=1.0)
    assert set(got) == set(want)
    for k in want:
        np.testing.assert_array_equal(got[k], want[k])
        assert got[k].dtype == want[k].dtype
    assert got[("reference", "reference")].tobytes().decode() == browser._reference.fetch("chr1:2801-3400")
    assert content["tracks"][0]["n_rows"] == 50 and content["tracks"][0]["n_hidden"] > 0
    assert browser.region == "chr1:3001-3200"  # a request moves the synced region


def test_region_browser__bad_request_gets_error_reply(browser, monkeypatch):
    sent = []
    monkeypatch.setattr(browser, "send", lambda content, buffers=None: sent.append((content, buffers)))
    browser._on_custom_msg(browser, {"type": "request", "id": "v1:2", "region": "chrZ:1-100"}, [])
    assert sent[-1][0]["type"] == "error" and "chrZ" in sent[-1][0]["message"]
    browser._on_custom_msg(browser, {"type": "something-else"}, [])
    assert len(sent) == 1
    assert browser.region == "chr1:2901-3400"


def test_region_browser__zoomed_out_views_drop_reads_then_data():
    reads, ref = synthetic_alignments()
    b = RegionBrowser(reads, "chr1:1-20000", reference=ref, max_read_span=5000, max_span=15000)
    meta, arr = b.fetch("chr1:1-10000")
    assert "reads" in meta["message"] and not meta["tracks"][0]["show_reads"]
    assert set(k[1] for k in arr) == {"coverage"}
    assert meta["tracks"][0]["coverage_bin"] == 4  # 10 kb over at most 3000 bins
    meta, arr = b.fetch("chr1:1-20000")
    assert arr == {} and "zoom in" in meta["message"]


def test_region_browser__snapshot_adds_png_to_mimebundle(browser):
    data, _ = browser._repr_mimebundle_()
    assert "image/png" not in data and "application/vnd.jupyter.widget-view+json" in data
    png = base64.b64encode(b"\x89PNG\r\n\x1a\nfake").decode()
    browser._snapshot = "data:image/png;base64," + png
    data, _ = browser._repr_mimebundle_()
    assert data["image/png"] == png
    assert browser._snapshot_png().startswith(b"\x89PNG")


def test_region_browser__rejects_non_readers():
    with pytest.raises(TypeError):
        RegionBrowser([object()])
    with pytest.raises(TypeError):
        RegionBrowser([])


def test_region_browser__esm_is_offline_plain_module(browser):
    js = (Path(__import__("hts_notebook.widgets.region_browser", fromlist=["x"]).__file__).parent
          / "static" / "region_browser.js").read_text()
    assert browser._esm == js
    assert "export default" in js
    assert not re.search(r"https?://", js)
    assert not re.search(r"^\s*import\s", js, re.M)


def test_import_hts_notebook__stays_light():
    code = ("import sys, hts_notebook, hts_notebook.widgets, hts_notebook.widgets.tracks\n"
            "heavy = [m for m in ('jax', 'IPython', 'anywidget', 'ipywidgets') if m in sys.modules]\n"
            "print(','.join(heavy))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""


@pytest.fixture
def real_bam(tmp_path):
    """A sorted, indexed BAM written by pysam (oracle), with D/I/N/S CIGARs and flagged reads."""
    pysam = pytest.importorskip("pysam")
    rng = np.random.default_rng(5)
    path = str(tmp_path / "real.bam")
    hdr = {"HD": {"VN": "1.6", "SO": "coordinate"}, "SQ": [{"SN": "chr1", "LN": 6000}, {"SN": "chr2", "LN": 3000}]}
    shapes = ["60M", "30M3D30M", "25M2I33M", "20M150N40M", "5S55M"]
    with pysam.AlignmentFile(path, "wb", header=hdr) as f:
        for i, pos in enumerate(sorted(rng.integers(0, 5800, 400).tolist())):
            a = pysam.AlignedSegment(f.header)
            a.query_name = f"r{i}"
            a.reference_id = 0
            a.reference_start = pos
            a.cigarstring = shapes[i % len(shapes)]
            n = a.infer_query_length()
            a.query_sequence = "".join(rng.choice(list("ACGT"), n))
            a.query_qualities = pysam.qualitystring_to_array("I" * n)
            a.mapping_quality = 60
            a.flag = [0, 16, 0x400, 0x100, 0][i % 5]
            f.write(a)
    pysam.index(path)
    import hts_notebook

    try:
        hts_notebook.open(path).fetch_batch("chr1:1-10")
    except (ImportError, AttributeError, NotImplementedError) as exc:
        pytest.skip(f"BAM reader not available yet: {exc}")
    return path


def test_region_browser__real_bam_coverage_matches_pysam(real_bam):
    import pysam

    b = RegionBrowser(real_bam, "chr1:2,001-3,000")
    meta, arr = b.fetch(b.region, pad=0.5)
    assert (meta["data_start"], meta["data_stop"]) == (1500, 3500)
    with pysam.AlignmentFile(real_bam) as f:
        acgt = f.count_coverage("chr1", 1500, 3500, quality_threshold=0)  # read_callback="all": same 0x704 filter
    np.testing.assert_array_equal(arr[(0, "coverage")], np.sum(acgt, axis=0).astype(np.float32))
    assert meta["tracks"][0]["n_reads"] > 0
    # duplicates are hidden from the read stack, secondary reads shown (IGV defaults)
    with pysam.AlignmentFile(real_bam) as f:
        want = sum(1 for r in f.fetch("chr1", 1500, 3500) if not r.flag & 0x604)
    assert meta["tracks"][0]["n_reads"] + meta["tracks"][0]["n_hidden"] == want
