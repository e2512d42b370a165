"""AlignmentFile: whole-file scans, index region queries (BAI and CSI), SAM input."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

import hts_notebook
from hts_notebook.core.errors import FormatError, MissingIndexError, RegionError
from hts_notebook.core.formats.alignment import reader as reader_mod
from hts_notebook.core.formats.alignment.reader import AlignmentFile
from tests.conftest import corpus_files, ids, oracle_for, requires_shared

BAMS = corpus_files("bam", (".bam",))
CASES = [(p, ext) for p in BAMS for ext in (".bai", ".csi") if p.with_name(p.name + ext).exists()]


@requires_shared
@pytest.mark.parametrize("path,ext", CASES, ids=[p.name + ext for p, ext in CASES])
def test_fetch_batch__oracle_regions(path, ext):
    o = oracle_for(path)
    with AlignmentFile(path, index=str(path) + ext) as f:
        for win in o.get("regions", []):
            b = f.fetch_batch((win["contig"], win["start"], win["stop"]))
            assert len(b) == win["count"], win["region"]
            names = b.names()
            for i, rec in enumerate(win["records"]):
                assert (names[i], int(b.pos[i]), int(b.flag[i])) == (rec["qname"], rec["pos"], rec["flag"])
            if win["contig"] in f.contigs and ":" not in win["contig"]:
                assert f.count(win["region"]) == win["count"]


@requires_shared
@pytest.mark.parametrize("path", BAMS, ids=ids(BAMS))
def test_iter_batches__small_batches_and_ranges_equal_whole(path, monkeypatch):
    with AlignmentFile(path) as f:
        whole = f.fetch_batch()
        monkeypatch.setattr(reader_mod, "SCAN_CHUNK", 3000)  # records straddle range ends
        parts = list(f.iter_batches(batch_size=333))
    assert sum(len(p) for p in parts) == len(whole)
    assert all(len(p) <= 333 for p in parts)
    if parts:
        joined = parts[0].concat(parts)
        for col in ("pos", "flag", "name", "cigar", "seq", "qual", "aux"):
            np.testing.assert_array_equal(getattr(joined, col), getattr(whole, col))


@requires_shared
def test_iter_batches_with_offsets__voffsets_point_at_records():
    path = next((p for p in BAMS if p.name == "htslib-range.bam"), None)
    if path is None:
        pytest.skip("corpus file absent")
    with AlignmentFile(path) as f:
        (batch, vb, ve), = list(f.iter_batches_with_offsets())
        assert np.all(vb[1:] == ve[:-1]) or np.all(vb[1:] >= ve[:-1])
        chunk_batch, _ = f._read_chunk(int(vb[5]), int(ve[9]), len(f.contigs))
        assert chunk_batch.names() == batch.names()[5:10]


@requires_shared
def test_fetch_batch__missing_index_raises(tmp_path):
    src = next((p for p in BAMS if p.name == "htslib-range.bam"), None)
    if src is None:
        pytest.skip("corpus file absent")
    dst = tmp_path / "x.bam"
    shutil.copy(src, dst)
    with AlignmentFile(dst) as f:
        assert f.count() == 112
        with pytest.raises(MissingIndexError):
            f.fetch_batch("CHROMOSOME_I:1-100")
        with pytest.raises(RegionError):
            f.fetch_batch("nope:1-10")


@requires_shared
def test_fetch_batches__each_region_in_turn_or_unique():
    path = next((p for p in BAMS if p.name == "htslib-range.bam"), None)
    if path is None:
        pytest.skip("corpus file absent")
    with AlignmentFile(path) as f:
        a = f.fetch_batch("CHROMOSOME_I:900-1900")
        b = f.fetch_batch("CHROMOSOME_I:1500-2500")
        both = f.fetch_batches(["CHROMOSOME_I:900-1900", "CHROMOSOME_I:1500-2500"])
        assert len(both) == len(a) + len(b)
        uniq = f.fetch_batches(["CHROMOSOME_I:1500-2500", "CHROMOSOME_I:900-1900"], unique=True)
        union = {(n, int(p), int(fl)) for n, p, fl in zip(a.names() + b.names(), np.r_[a.pos, b.pos], np.r_[a.flag, b.flag])}
        assert len(uniq) == len(union)
        assert np.all(np.diff(uniq.pos) >= 0)


@requires_shared
def test_fetch_batch__unplaced_star():
    path = next((p for p in BAMS if p.name == "samtools-test_input_1_a.bam"), None)
    if path is None:
        pytest.skip("corpus file absent")
    with AlignmentFile(path) as f:
        whole = f.fetch_batch()
        star = f.fetch_batch("*")
        assert len(star) == int((whole.ref_id < 0).sum())


@requires_shared
def test_open__dispatches_bam_and_sam():
    path = next((p for p in BAMS if p.name == "bamjs-samspec.bam"), None)
    sams = corpus_files("sam", (".sam",))
    if path is None or not sams:
        pytest.skip("corpus files absent")
    with hts_notebook.open(path) as f:
        assert isinstance(f, AlignmentFile) and f.format == "bam" and f.contigs == {"ref": 45}
        ds = f.query("ref:10-20")
        assert ds.attrs["region"] == "ref:10-20" and ds.sizes["alignments"] == 4


@requires_shared
@pytest.mark.parametrize("path", corpus_files("sam", (".sam",))[:12], ids=ids(corpus_files("sam", (".sam",))[:12]))
def test_fetch_batch__sam_regions_filter_in_memory(path):
    pytest.importorskip("hts_notebook.core.formats.alignment.sam")
    o = oracle_for(path)
    try:
        f = AlignmentFile(path)
    except FormatError:
        pytest.skip("SAM reader rejects this file")
    assert f.format == "sam"
    assert f.count() == o["record_count"]
    for win in o.get("regions", []):
        assert f.count((win["contig"], win["start"], win["stop"])) == win["count"], win["region"]


def test_alignment_file__rejects_other_formats(tmp_path):
    p = tmp_path / "x.bin"
    p.write_bytes(b"\x00\x01\x02garbage")
    with pytest.raises(FormatError):
        AlignmentFile(p)
