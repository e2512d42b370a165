"""CSI read / query / build / write (CSIv1), checked against the corpus and samtools."""
from __future__ import annotations

import io
import os
import shutil
import struct
import subprocess

import numpy as np
import pytest

from hts_notebook.core.bgzf import BgzfReader, compress
from hts_notebook.core.index import build_index, load_index, parse_csi, read_csi, write_csi
from hts_notebook.core.index.csi import csi_bytes
from tests.conftest import corpus_files, ids, oracle_for, requires_samtools, requires_shared

pysam = pytest.importorskip("pysam")

CSIS = corpus_files("bam", (".csi",))
CSI_BAMS = [p for p in corpus_files("bam", (".bam",)) if os.path.exists(str(p) + ".csi")]
ALL_BAMS = corpus_files("bam", (".bam",))


def record_arrays(path):
    """Per-record (ref_id, pos, end, unmapped, voffsets) in file order, via pysam (oracle only)."""
    rows = []
    with pysam.AlignmentFile(str(path), "rb", check_sq=False) as f:
        n_ref, lengths = f.nreferences, list(f.lengths)
        it = f.fetch(until_eof=True)
        start = f.tell()
        for r in it:
            stop = f.tell()
            rl = 0
            if not r.flag & 4 and r.cigartuples:
                rl = sum(n for op, n in r.cigartuples if op in (0, 2, 3, 7, 8))
            rows.append((r.reference_id, r.reference_start, r.reference_start + (rl or 1), bool(r.flag & 4), start, stop))
            start = stop
    cols = list(zip(*rows)) if rows else [()] * 6
    return dict(
        ref_id=np.array(cols[0], dtype=np.int64),
        pos=np.array(cols[1], dtype=np.int64),
        end=np.array(cols[2], dtype=np.int64),
        unmapped=np.array(cols[3], dtype=bool),
        voff_beg=np.array(cols[4], dtype=np.uint64),
        voff_end=np.array(cols[5], dtype=np.uint64),
    ), n_ref, lengths


def records_in_chunks(path, chunks, ref_id, start, stop):
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


@requires_shared
@pytest.mark.parametrize("csi", CSIS, ids=ids(CSIS))
def test_read_csi__corpus_parses_and_round_trips(csi):
    index = read_csi(csi)
    assert index.fmt == "csi"
    raw = BgzfReader(str(csi)).read_all()
    assert csi_bytes(index) == raw
    buf = io.BytesIO()
    write_csi(index, buf)
    assert BgzfReader(buf.getvalue()).read_all() == raw


@requires_shared
@pytest.mark.parametrize("bam", CSI_BAMS, ids=ids(CSI_BAMS))
def test_stats__csi_corpus_matches_oracle(bam):
    oracle = oracle_for(bam)
    index = read_csi(str(bam) + ".csi")
    if "index_statistics" not in oracle:
        pytest.skip("no index statistics")
    assert index.stats() == [(row[1], row[2]) for row in oracle["index_statistics"]]
    assert (index.n_no_coor or 0) == oracle["index_unplaced_unmapped"]


@requires_shared
@pytest.mark.parametrize("bam", CSI_BAMS, ids=ids(CSI_BAMS))
def test_query_chunks__csi_regions_match_oracle(bam):
    oracle = oracle_for(bam)
    index = read_csi(str(bam) + ".csi")
    names = [r[0] for r in oracle["header"]["references"]]
    for reg in oracle.get("regions", []):
        ref_id = names.index(reg["contig"]) if reg["contig"] in names else 0
        chunks = index.query_chunks(ref_id, reg["start"], reg["stop"])
        got = records_in_chunks(bam, chunks, ref_id, reg["start"], reg["stop"])
        assert len(got) == reg["count"], reg["region"]
        want = [(r["qname"], r["flag"], r["pos"]) for r in reg["records"]]
        assert got[: len(want)] == want


@requires_shared
def test_query_chunks__csi_and_bai_agree_on_corpus():
    both = [p for p in CSI_BAMS if os.path.exists(str(p) + ".bai")]
    if not both:
        pytest.skip("no BAM with both indexes")
    for bam in both:
        bai = load_index(str(bam) + ".bai")
        csi = load_index(str(bam) + ".csi")
        for ref_id in range(bai.n_ref):
            for start, stop in [(0, 1 << 29), (0, 20000), (10000, 11000), (60000, 80000)]:
                a = records_in_chunks(bam, bai.query_chunks(ref_id, start, stop), ref_id, start, stop)
                b = records_in_chunks(bam, csi.query_chunks(ref_id, start, stop), ref_id, start, stop)
                assert a == b


def _samtools_csi(tmp_path, bam):
    dst = tmp_path / "x.bam"
    shutil.copy(bam, dst)
    run = subprocess.run(["samtools", "index", "-c", str(dst)], capture_output=True)
    return dst, run.returncode


@requires_shared
@requires_samtools
@pytest.mark.parametrize("bam", ALL_BAMS, ids=ids(ALL_BAMS))
def test_build_index__csi_content_identical_to_samtools(tmp_path, bam):
    dst, rc = _samtools_csi(tmp_path, bam)
    arrays, n_ref, lengths = record_arrays(dst)
    if rc != 0:
        from hts_notebook.core.errors import HtsError

        with pytest.raises(HtsError):
            build_index(**arrays, n_ref=n_ref, fmt="csi", ref_lengths=lengths)
        return
    index = build_index(**arrays, n_ref=n_ref, fmt="csi", ref_lengths=lengths)
    theirs = BgzfReader(str(dst) + ".csi").read_all()
    assert csi_bytes(index) == theirs
    # samtools idxstats reads our file and prints the same table
    want = subprocess.run(["samtools", "idxstats", str(dst)], capture_output=True, check=True).stdout
    write_csi(index, str(dst) + ".csi")
    got = subprocess.run(["samtools", "idxstats", str(dst)], capture_output=True, check=True).stdout
    assert got == want
    assert read_csi(str(dst) + ".csi").stats() == index.stats()


def test_build_index__csi_depth_from_lengths():
    kw = dict(ref_id=[0], pos=[10], end=[20], unmapped=[False], voff_beg=[100 << 16], voff_end=[200 << 16], n_ref=1)
    assert build_index(**kw, fmt="csi", ref_lengths=[45]).depth == 0
    assert build_index(**kw, fmt="csi", ref_lengths=[600_000_000]).depth == 6
    assert build_index(**kw, fmt="csi", min_shift=12, depth=3).depth == 3
    idx = build_index(**kw, fmt="csi", ref_lengths=[45])
    assert list(idx.refs[0].bins) == [0]
    assert idx.refs[0].loffsets == {0: 100 << 16}
    assert idx.pseudo_bin == 2


def test_parse_csi__exact_bytes_header_and_aux():
    body = struct.pack("<i", 1)  # n_ref
    body += struct.pack("<i", 2)  # n_bin
    body += struct.pack("<IQi", 1, 7 << 16, 1) + struct.pack("<QQ", 7 << 16, 9 << 16)
    body += struct.pack("<IQi", 10, 0, 2) + struct.pack("<QQQQ", 7 << 16, 9 << 16, 3, 1)
    data = b"CSI\x01" + struct.pack("<iii", 16, 1, 3) + b"abc" + body + struct.pack("<Q", 5)
    idx = parse_csi(data)
    assert (idx.min_shift, idx.depth, idx.aux, idx.n_no_coor) == (16, 1, b"abc", 5)
    assert idx.refs[0].bins[1].tolist() == [[7 << 16, 9 << 16]]
    assert idx.refs[0].loffsets == {1: 7 << 16}
    assert idx.stats() == [(3, 1)]
    assert csi_bytes(idx) == data
    # the whole file through BGZF
    idx2 = parse_csi(BgzfReader(compress(data)).read_all())
    assert idx2.stats() == [(3, 1)]
    assert idx.query_chunks(0, 0, 100) == [(7 << 16, 9 << 16)]
