"""Lockstep record-start finding equals the sequential block_size walk."""
import numpy as np
import pytest

import hts_notebook as hts
from hts_notebook.core.bgzf import BgzfReader
from hts_notebook.core.formats.alignment import bam_starts
from hts_notebook.core.formats.alignment.bam import read_bam_header
from hts_notebook.core.formats.alignment.batch import ragged_take


@pytest.fixture(scope="module")
def demo_data(tmp_path_factory):
    paths = hts.demo.files(tmp_path_factory.mktemp("demo"))
    r = BgzfReader(paths["bam"])
    _, first = read_bam_header(r)
    rng = r.inflate_range(0)
    return rng.data, rng.position(first)


def test_find_record_starts__equals_sequential_walk(demo_data):
    data, first = demo_data
    assert len(data) > 4 * bam_starts.MIN_PARALLEL
    seq, consumed = bam_starts.sequential_record_starts(data, first, len(data))
    fast, fast_consumed = bam_starts.find_record_starts(data, first, len(data), n_ref=2)
    assert fast_consumed == consumed == len(data)
    assert np.array_equal(fast, np.array(seq))
    assert len(fast) == 60_080


def test_find_record_starts__cut_mid_record_stops_at_last_whole_record(demo_data):
    data, first = demo_data
    stop = len(data) - 1000
    seq, consumed = bam_starts.sequential_record_starts(data, first, stop)
    fast, fast_consumed = bam_starts.find_record_starts(data, first, stop, n_ref=2)
    assert fast_consumed == consumed < stop
    assert np.array_equal(fast, np.array(seq))


def test_find_record_starts__corrupt_block_size_falls_back_to_exact_walk(demo_data):
    data, first = demo_data
    bad = bytearray(data)
    seq, _ = bam_starts.sequential_record_starts(data, first, len(data))
    victim = seq[len(seq) // 2]
    bad[victim: victim + 4] = (7).to_bytes(4, "little")  # block_size below 32
    fast, consumed = bam_starts.find_record_starts(bytes(bad), first, len(bad), n_ref=2)
    assert consumed == -1
    assert fast[-1] == victim and len(fast) == len(seq) // 2 + 1


def test_find_record_starts__decoy_record_inside_a_name_is_not_trusted(demo_data):
    data, first = demo_data
    seq, _ = bam_starts.sequential_record_starts(data, first, len(data))
    # plant a plausible-looking but false record header at a segment head
    bad = bytearray(data)
    head = first + bam_starts.SEGMENT
    later = [s for s in seq if s > head + 64][0]
    bad[head: head + 36] = data[later: later + 36]
    truth, c1 = bam_starts.sequential_record_starts(bytes(bad), first, len(bad))
    fast, c2 = bam_starts.find_record_starts(bytes(bad), first, len(bad), n_ref=2)
    assert c1 == c2 and np.array_equal(fast, np.array(truth))


def test_lazy_batch__take_after_partial_decode_keeps_every_field(demo_data):
    from hts_notebook.core.formats.alignment.bam import decode_records

    data, first = demo_data
    batch, _, _ = decode_records(data, first, n_ref=2)
    whole_qual = batch.qual.copy()  # decode one lazy field before taking
    idx = np.arange(0, len(batch), 7)
    sub = batch.take(idx)
    eager = batch.take(np.arange(len(batch)))  # reference: everything decoded
    for name in ("name", "seq", "qual", "aux", "cigar"):
        offsets = getattr(eager, {"qual": "seq_offsets"}.get(name, name + "_offsets"))
        want, _ = ragged_take(getattr(eager, name), offsets, idx)
        assert np.array_equal(getattr(sub, name), want), name
    assert np.array_equal(batch.qual, whole_qual)


def test_walk_chains__false_heads_are_repaired_not_trusted(demo_data):
    data, first = demo_data
    seq = np.array(bam_starts.sequential_record_starts(data, first, len(data))[0])
    i32 = bam_starts._i32_view(data)
    rng = np.random.default_rng(7)
    true_heads = np.sort(rng.choice(seq[1:], 40, replace=False))
    # false heads: one byte before a record (the decoy htslib tags make plausible),
    # a few bytes inside one, and one in the middle of a sequence
    false_heads = np.sort(rng.choice(seq[1:-1], 12, replace=False)) + np.array([-1, 1, 5, 40] * 3)
    heads = np.unique(np.concatenate([[first], true_heads, false_heads]))
    starts, consumed = bam_starts._walk_chains(data, i32, heads, len(data))
    assert consumed == len(data)
    assert np.array_equal(starts, seq)


def test_walk_chains__repair_reaching_a_cut_record_stops_before_it(demo_data):
    data, first = demo_data
    stop = len(data) - 500
    seq, consumed = bam_starts.sequential_record_starts(data, first, stop)
    i32 = bam_starts._i32_view(data)
    heads = np.array([first, seq[100] + 3, seq[-3] + 1], dtype=np.int64)  # every later head false
    starts, got = bam_starts._walk_chains(data, i32, heads, stop)
    assert got == consumed and np.array_equal(starts, np.array(seq))
