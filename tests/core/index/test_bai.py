"""BAI read / query / build / write (SAMv1 §5.2), checked against the corpus and samtools."""
from __future__ import annotations

import io
import os
import shutil
import subprocess

import numpy as np
import pytest

from hts_notebook.core.errors import MissingIndexError, RegionError
from hts_notebook.core.index import (
    build_index,
    find_index,
    load_index,
    parse_bai,
    read_bai,
    write_bai,
)
from hts_notebook.core.index.bai import bai_bytes
from tests.conftest import CORPUS, corpus_files, ids, oracle_for, requires_samtools, requires_shared

pysam = pytest.importorskip("pysam")

BAIS = corpus_files("bam", (".bai",))
INDEXED_BAMS = [p for p in corpus_files("bam", (".bam",)) if os.path.exists(str(p) + ".bai")]
ALL_BAMS = corpus_files("bam", (".bam",))


# -- helpers (pysam is only an oracle here) ----------------------------------
def record_arrays(path):
    """Per-record (ref_id, pos, end, unmapped, voffsets) in file order, via pysam."""
    cols = {k: [] for k in ("ref_id", "pos", "end", "unmapped", "voff_beg", "voff_end")}
    with pysam.AlignmentFile(str(path), "rb", check_sq=False) as f:
        n_ref, lengths = f.nreferences, list(f.lengths)
        it = f.fetch(until_eof=True)
        start = f.tell()
        for r in it:
            stop = f.tell()
            rl = 0
            if not r.flag & 4 and r.cigartuples:
                rl = sum(n for op, n in r.cigartuples if op in (0, 2, 3, 7, 8))
            cols["ref_id"].append(r.reference_id)
            cols["pos"].append(r.reference_start)
            cols["end"].append(r.reference_start + (rl or 1))
            cols["unmapped"].append(bool(r.flag & 4))
            cols["voff_beg"].append(start)
            cols["voff_end"].append(stop)
            start = stop
    out = {k: np.array(v, dtype=np.uint64 if k.startswith("voff") else None) for k, v in cols.items()}
    out["ref_id"] = out["ref_id"].astype(np.int64).reshape(-1)
    out["pos"] = out["pos"].astype(np.int64).reshape(-1)
    out["end"] = out["end"].astype(np.int64).reshape(-1)
    out["unmapped"] = out["unmapped"].astype(bool).reshape(-1)
    return out, n_ref, lengths


def records_in_chunks(path, chunks, ref_id, start, stop):
    """Decode the chunks with pysam and keep records overlapping [start, stop), htslib style."""
    found = []
    with pysam.AlignmentFile(str(path), "rb", check_sq=False) as f:
        for u, v in chunks:
            f.seek(u)
            while f.tell() < v:
                try:
                    r = next(f)
                except StopIteration:
                    break
                if r.reference_id != ref_id or r.reference_start >= stop:
                    return found
                rl = 0
                if not r.flag & 4 and r.cigartuples:
                    rl = sum(n for op, n in r.cigartuples if op in (0, 2, 3, 7, 8))
                if r.reference_start + (rl or 1) > start:
                    found.append((r.query_name, r.flag, r.reference_start))
    return found


def check_regions(bam, index):
    oracle = oracle_for(bam)
    names = [r[0] for r in oracle["header"]["references"]]
    checked = 0
    for reg in oracle.get("regions", []):
        ref_id = names.index(reg["contig"]) if reg["contig"] in names else None
        if ref_id is None:
            continue
        chunks = index.query_chunks(ref_id, reg["start"], reg["stop"])
        got = records_in_chunks(bam, chunks, ref_id, reg["start"], reg["stop"])
        assert len(got) == reg["count"], (reg["region"], chunks)
        want = [(r["qname"], r["flag"], r["pos"]) for r in reg["records"]]
        assert got[: len(want)] == want
        checked += 1
    return checked


def check_stats(bam, index):
    oracle = oracle_for(bam)
    if "index_statistics" not in oracle:
        pytest.skip("no index statistics in oracle")
    want = [(row[1], row[2]) for row in oracle["index_statistics"]]
    assert index.stats() == want
    assert (index.n_no_coor or 0) == oracle["index_unplaced_unmapped"]


# -- reading -------------------------------------------------------------------
@requires_shared
@pytest.mark.parametrize("bai", BAIS, ids=ids(BAIS))
def test_read_bai__corpus_parses_and_round_trips(bai):
    data = bai.read_bytes()
    index = read_bai(bai)
    assert index.fmt == "bai" and index.min_shift == 14 and index.depth == 5
    assert bai_bytes(index) == data
    buf = io.BytesIO()
    write_bai(index, buf)
    assert buf.getvalue() == data


@requires_shared
@pytest.mark.parametrize("bam", INDEXED_BAMS, ids=ids(INDEXED_BAMS))
def test_stats__corpus_matches_oracle(bam):
    check_stats(bam, read_bai(str(bam) + ".bai"))


@requires_shared
@pytest.mark.parametrize("bam", INDEXED_BAMS, ids=ids(INDEXED_BAMS))
def test_query_chunks__corpus_regions_match_oracle(bam):
    index = read_bai(str(bam) + ".bai")
    assert check_regions(bam, index) > 0 or not oracle_for(bam).get("regions")


@requires_shared
def test_query_chunks__chunk_merging_trap_keeps_all_reads():
    bam = CORPUS / "bam" / "bamjs-too_few_reads_if_chunk_merging_on.bam"
    if not bam.exists():
        pytest.skip("file absent")
    index = read_bai(str(bam) + ".bai")
    chunks = index.query_chunks(0, 10000, 11000)
    assert chunks == sorted(chunks)
    assert all(u < v for u, v in chunks)
    assert all(a[1] < b[0] for a, b in zip(chunks, chunks[1:]))
    assert len(records_in_chunks(bam, chunks, 0, 10000, 11000)) == 34


# -- queries on hand-made indexes ------------------------------------------------
def _toy_index():
    # one reference: bin 4681 (window 0) with two chunks, bin 4682 (window 1) with one
    idx = build_index(
        ref_id=[0, 0, 0, -1],
        pos=[100, 200, 20000, -1],
        end=[150, 250, 20100, 0],
        unmapped=[False, False, False, True],
        voff_beg=np.array([0x10 << 16, 0x10 << 16 | 50, 0x30000 << 16, 0x50000 << 16], dtype=np.uint64),
        voff_end=np.array([0x10 << 16 | 50, 0x10 << 16 | 100, 0x50000 << 16, 0x50000 << 16 | 30], dtype=np.uint64),
        n_ref=2,
    )
    return idx


def test_build_index__toy_layout():
    idx = _toy_index()
    ref = idx.refs[0]
    assert sorted(ref.bins) == [4681, 4682]
    assert ref.bins[4681].tolist() == [[0x10 << 16, 0x10 << 16 | 100]]
    assert ref.bins[4682].tolist() == [[0x30000 << 16, 0x50000 << 16]]
    assert ref.linear.tolist() == [0x10 << 16, 0x30000 << 16]
    assert ref.meta == (0x10 << 16, 0x50000 << 16, 3, 0)
    assert idx.n_no_coor == 1
    assert idx.refs[1].bins == {} and idx.refs[1].meta is None
    assert idx.stats() == [(3, 0), (0, 0)]


def test_query_chunks__toy_windows():
    idx = _toy_index()
    assert idx.query_chunks(0, 0, 1000) == [(0x10 << 16, 0x10 << 16 | 100)]
    assert idx.query_chunks(0, 16384, 17000) == [(0x30000 << 16, 0x50000 << 16)]
    assert idx.query_chunks(0, 0, 1 << 29) == [(0x10 << 16, 0x10 << 16 | 100), (0x30000 << 16, 0x50000 << 16)]
    assert idx.query_chunks(1, 0, 100) == []
    assert idx.query_chunks(7, 0, 100) == []
    assert idx.query_chunks(0, 50, 50) == []
    with pytest.raises(RegionError):
        idx.query_chunks(0, 100, 50)


def test_write_bai__parse_round_trip_toy():
    idx = _toy_index()
    buf = io.BytesIO()
    write_bai(idx, buf)
    back = parse_bai(buf.getvalue())
    assert back.stats() == idx.stats()
    assert back.n_no_coor == 1
    assert back.refs[0].linear.tolist() == idx.refs[0].linear.tolist()
    assert {b: c.tolist() for b, c in back.refs[0].bins.items()} == {b: c.tolist() for b, c in idx.refs[0].bins.items()}


def test_build_index__rejects_unsorted_and_misplaced():
    from hts_notebook.core.errors import FormatError

    kw = dict(unmapped=[False, False], voff_beg=[0, 10], voff_end=[10, 20], n_ref=2)
    with pytest.raises(FormatError):
        build_index(ref_id=[0, 0], pos=[500, 100], end=[600, 200], **kw)
    with pytest.raises(FormatError):
        build_index(ref_id=[-1, 0], pos=[-1, 100], end=[0, 200], **kw)
    with pytest.raises(FormatError):
        build_index(ref_id=[0, 5], pos=[1, 100], end=[2, 200], **kw)
    with pytest.raises(FormatError):
        build_index(ref_id=[0, 1, 0][:2], pos=[1, 1], end=[2, 0], **kw)
    kw3 = dict(unmapped=[False] * 3, voff_beg=[0, 10, 20], voff_end=[10, 20, 30], n_ref=2)
    with pytest.raises(FormatError):
        build_index(ref_id=[0, 1, 0], pos=[1, 1, 5], end=[2, 2, 6], **kw3)


def test_build_index__beyond_bai_range_raises():
    from hts_notebook.core.errors import LimitExceededError

    with pytest.raises(LimitExceededError):
        build_index(ref_id=[0], pos=[1 << 29], end=[(1 << 29) + 10], unmapped=[False], voff_beg=[0], voff_end=[9], n_ref=1)


# -- building vs samtools ---------------------------------------------------------
def _samtools_index(tmp_path, bam, *args):
    dst = tmp_path / "x.bam"
    shutil.copy(bam, dst)
    run = subprocess.run(["samtools", "index", *args, str(dst)], capture_output=True)
    return dst, run.returncode


@requires_shared
@requires_samtools
@pytest.mark.parametrize("bam", ALL_BAMS, ids=ids(ALL_BAMS))
def test_build_index__bai_byte_identical_to_samtools(tmp_path, bam):
    dst, rc = _samtools_index(tmp_path, bam)
    arrays, n_ref, _ = record_arrays(dst)
    if rc != 0:
        # samtools refuses this file; so must we
        from hts_notebook.core.errors import HtsError

        with pytest.raises(HtsError):
            build_index(**arrays, n_ref=n_ref)
        return
    ours = tmp_path / "ours.bai"
    write_bai(build_index(**arrays, n_ref=n_ref), ours)
    assert ours.read_bytes() == (tmp_path / "x.bam.bai").read_bytes()


@requires_samtools
def test_build_index__many_bins_byte_identical_to_samtools(tmp_path):
    """Thousands of bins: exercises hash-table growth order and folding of small bins."""
    rng = np.random.default_rng(7)
    header = {"HD": {"VN": "1.6", "SO": "coordinate"}, "SQ": [{"SN": "c1", "LN": 200_000_000}, {"SN": "c2", "LN": 5_000_000}]}
    path = tmp_path / "many.bam"
    starts = np.sort(rng.integers(0, 199_000_000, 6000))
    with pysam.AlignmentFile(str(path), "wb", header=header) as out:
        for i, s in enumerate(starts.tolist()):
            a = pysam.AlignedSegment(out.header)
            a.query_name = f"r{i}"
            a.reference_id = 0
            a.reference_start = s
            span = int(rng.choice([50, 5000, 40000, 300000, 3_000_000]))
            a.cigartuples = [(0, 50), (3, max(span - 50, 1))] if span > 50 else [(0, 50)]
            a.flag = 4 if i % 97 == 0 else 0
            a.query_sequence = "A" * 50
            a.query_qualities = pysam.qualitystring_to_array("I" * 50)
            out.write(a)
        for i in range(30):
            a = pysam.AlignedSegment(out.header)
            a.query_name = f"u{i}"
            a.reference_id = -1
            a.reference_start = -1
            a.flag = 4
            a.query_sequence = "C" * 20
            out.write(a)
    subprocess.run(["samtools", "index", str(path)], check=True)
    arrays, n_ref, _ = record_arrays(path)
    idx = build_index(**arrays, n_ref=n_ref)
    assert len(idx.refs[0].bins) > 200
    assert bai_bytes(idx) == (tmp_path / "many.bam.bai").read_bytes()
    assert idx.n_no_coor == 30


# -- finding and sniffing ----------------------------------------------------------
def test_find_index__htslib_order(tmp_path):
    data = tmp_path / "x.bam"
    data.write_bytes(b"")
    assert find_index(data) is None
    (tmp_path / "x.bai").write_bytes(b"")
    assert find_index(data) == str(tmp_path / "x.bai")
    (tmp_path / "x.bam.bai").write_bytes(b"")
    assert find_index(data) == str(tmp_path / "x.bam.bai")
    (tmp_path / "x.csi").write_bytes(b"")
    assert find_index(data) == str(tmp_path / "x.csi")
    (tmp_path / "x.bam.csi").write_bytes(b"")
    assert find_index(data) == str(tmp_path / "x.bam.csi")
    assert find_index(str(data) + "##idx##/some/where.bai") == "/some/where.bai"


@requires_shared
def test_load_index__sniffs_bai_and_csi():
    bam = CORPUS / "bam" / "bamjs-paired.bam"
    if not bam.exists():
        pytest.skip("file absent")
    assert load_index(str(bam) + ".bai").fmt == "bai"
    assert load_index(str(bam) + ".csi").fmt == "csi"


def test_load_index__missing_file(tmp_path):
    with pytest.raises(MissingIndexError):
        load_index(tmp_path / "nope.bai")


def test_load_index__cached_until_the_file_changes(tmp_path):
    from hts_notebook.core.index import load_index
    from tests.conftest import corpus_files

    bais = corpus_files("bam", (".bai",))
    if not bais:
        pytest.skip("no corpus BAI")
    p = tmp_path / "x.bam.bai"
    shutil.copy(bais[0], p)
    a = load_index(p)
    assert load_index(p) is a  # same file: parsed once
    data = p.read_bytes()
    p.write_bytes(data)  # rewritten: new modification time
    os.utime(p, ns=(1, 1))
    assert load_index(p) is not a
