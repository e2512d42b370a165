"""Pileup kernel: event expansion, JAX == numpy reference, bucketed shapes."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from hts_notebook.core.formats.alignment.batch import cigar_from_string, encode_seq
from hts_notebook.core.kernels import coverage as cov
from hts_notebook.core.kernels import pileup as pk


def _reads(rows):
    """rows: (pos, cigar text, seq text, quals)"""
    cig = [cigar_from_string(r[1]) for r in rows]
    coff = np.concatenate([[0], np.cumsum([len(c) for c in cig])]).astype(np.int64)
    seqs = [encode_seq(r[2].encode()) for r in rows]
    soff = np.concatenate([[0], np.cumsum([len(s) for s in seqs])]).astype(np.int64)
    qual = np.concatenate([np.asarray(r[3], np.uint8) for r in rows]) if rows else np.zeros(0, np.uint8)
    return (np.array([r[0] for r in rows], np.int64), np.concatenate(cig), coff,
            np.concatenate(seqs), soff, qual)


def test_pileup_events__bases_deletions_insertions():
    pos, cig, coff, seq, soff, qual = _reads([(10, "2M1I2M2D1M", "ACGTAC", [30, 31, 32, 33, 34, 35])])
    ev = pk.pileup_events(pos, cig, coff, seq, soff, qual)
    table = sorted(zip(ev["ref_pos"].tolist(), ev["base"].tolist(), ev["qual"].tolist()))
    # bases A C at 10 11, insertion G after 11, T A at 12 13, deletions at 14 15 (qual of next base C), C at 16
    assert table == [(10, 0, 30), (11, 1, 31), (11, 6, 31), (12, 3, 33), (13, 0, 34),
                     (14, 5, 35), (15, 5, 35), (16, 1, 35)]


def test_pileup_events__seq_star_gives_n_with_quality_zero():
    pos, cig, coff, seq, soff, qual = _reads([(0, "3M", "", [])])
    ev = pk.pileup_events(pos, cig, coff, seq, soff, qual)
    assert ev["base"].tolist() == [4, 4, 4] and ev["qual"].tolist() == [0, 0, 0]


def test_pileup_counts_numpy__quality_filter_and_window():
    counts = pk.pileup_counts_numpy([5, 5, 6, 9], [0, 1, 5, 2], [30, 10, 20, 40], [0, 1, 0, 0], 5, 3,
                                    min_base_quality=13)
    assert counts.shape == (3, 7)
    assert counts[0].tolist() == [1, 0, 0, 0, 0, 0, 0]
    assert counts[1].tolist() == [0, 0, 0, 0, 0, 1, 0]
    assert counts[2].sum() == 0  # position 9 lies outside [5, 8)


def test_pileup_counts_numpy__stranded_split():
    counts = pk.pileup_counts_numpy([0, 0, 0], [2, 2, 3], [30, 30, 30], [0, 1, 1], 0, 1, stranded=True)
    assert counts.shape == (1, 2, 7)
    assert counts[0, 0].tolist() == [0, 0, 1, 0, 0, 0, 0]
    assert counts[0, 1].tolist() == [0, 0, 1, 1, 0, 0, 0]


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_pileup_counts_jax__equals_numpy_reference(data):
    k = data.draw(st.integers(0, 300))
    length = data.draw(st.integers(0, 700))
    start = data.draw(st.integers(0, 50))
    pos = data.draw(st.lists(st.integers(0, 800), min_size=k, max_size=k))
    base = data.draw(st.lists(st.integers(0, 6), min_size=k, max_size=k))
    qual = data.draw(st.lists(st.integers(0, 60), min_size=k, max_size=k))
    strand = data.draw(st.lists(st.integers(0, 1), min_size=k, max_size=k))
    mbq = data.draw(st.integers(0, 40))
    stranded = data.draw(st.booleans())
    a = pk.pileup_counts_numpy(pos, base, qual, strand, start, length, min_base_quality=mbq, stranded=stranded)
    b = pk.pileup_counts_jax(pos, base, qual, strand, start, length, min_base_quality=mbq, stranded=stranded)
    assert a.shape == b.shape
    np.testing.assert_array_equal(a, b)


def test_pileup_counts_jax__no_recompilation_within_a_bucket():
    rng = np.random.default_rng(1)
    pk.pileup_counts_jax([1], [0], [30], [0], 0, 600)  # warm the (4096 events, 1024 positions) bucket
    before = cov.TRACE_COUNTS["pileup"]
    for start, length, k in ((0, 700, 100), (5000, 1000, 3000), (123, 513, 4096)):
        pos = rng.integers(start, start + length, k)
        out = pk.pileup_counts_jax(pos, rng.integers(0, 7, k), rng.integers(0, 40, k), np.zeros(k, int), start,
                                   length, min_base_quality=int(rng.integers(0, 30)))
        assert out.shape == (length, 7)
    assert cov.TRACE_COUNTS["pileup"] == before


_OPS = "MIDNS=X"


@st.composite
def _random_reads(draw):
    """Sorted reads with random CIGARs (some not matching their SEQ, some padded, some SEQ '*')."""
    rows = []
    pos = 0
    for _ in range(draw(st.integers(1, 25))):
        pos += draw(st.integers(0, 30))
        ops = draw(st.lists(st.tuples(st.sampled_from(_OPS), st.integers(1, 12)), min_size=1, max_size=5))
        kind = draw(st.sampled_from(["tiled", "tiled", "tiled", "star", "short", "padded"]))
        if kind == "padded":
            ops.insert(1, ("P", 2))
        cigar = "".join(f"{n}{o}" for o, n in ops)
        qlen = sum(n for o, n in ops if o in "MIS=X")
        if kind == "star":
            qlen = 0
        elif kind == "short" and qlen > 1:
            qlen -= 1
        seq = "".join(draw(st.lists(st.sampled_from("ACGTNRY"), min_size=qlen, max_size=qlen)))
        quals = draw(st.lists(st.integers(0, 45), min_size=qlen, max_size=qlen))
        rows.append((pos, cigar, seq, quals))
    return rows


def _count_case(data, n: int):
    """Drawn settings of a count: used reads, strands, window, quality threshold, strandedness, chunk size."""
    use = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)
    reverse = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)
    start = data.draw(st.integers(0, 200))
    length = data.draw(st.integers(0, 400))
    mbq = data.draw(st.integers(0, 30))
    stranded = data.draw(st.booleans())
    chunk = data.draw(st.sampled_from([1, 7, 64, 1 << 18]))
    return use, reverse, start, length, mbq, stranded, chunk


@settings(max_examples=80, deadline=None)
@given(rows=_random_reads(), data=st.data())
def test_count_aligned_bases__equals_event_counts_of_tiled_reads(rows, data):
    pos, cig, coff, seq, soff, qual = _reads(rows)
    n = len(pos)
    ops = cov.expand_cigar(pos, cig, coff)
    use, reverse, start, length, mbq, stranded, chunk = _count_case(data, n)
    got = pk.count_aligned_bases(ops, pos, soff, seq, qual, start, length, use=use, min_base_quality=mbq,
                                 reverse=reverse, stranded=stranded, chunk_bases=chunk)
    counted = use & pk.tiled_reads(ops, soff)
    keep = counted[ops["read"]]
    ev = pk.pileup_events(pos, cig, coff, seq, soff, qual, reverse=reverse, deletions=False, insertions=False,
                          ops={k: v[keep] for k, v in ops.items()})
    want = pk.pileup_counts_numpy(ev["ref_pos"], ev["base"], ev["qual"], ev["strand"], start, length,
                                  min_base_quality=mbq, stranded=stranded)
    assert got.shape == want.shape and got.dtype == np.int32
    np.testing.assert_array_equal(got, want)


def test_tiled_reads__cigar_must_cover_seq_without_padding():
    pos, cig, coff, seq, soff, qual = _reads([(0, "2S3M", "ACGTA", [30] * 5), (1, "3M", "", []),
                                              (2, "4M", "ACG", [30] * 3), (3, "1M1P2M", "ACG", [30] * 3)])
    ops = cov.expand_cigar(pos, cig, coff)
    assert pk.tiled_reads(ops, soff).tolist() == [True, False, False, False]


@settings(max_examples=80, deadline=None)
@given(rows=_random_reads(), data=st.data())
def test_count_aligned_bases__match_blocks_equal_counting_through_the_cigar(rows, data):
    # every used read whose CIGAR is one M/=/X op over its SEQ may be handed over as a block
    # (a matrix of base categories); the table must not change, whatever the chunking
    pos, cig, coff, seq, soff, qual = _reads(rows)
    n = len(pos)
    ops = cov.expand_cigar(pos, cig, coff)
    use, reverse, start, length, mbq, stranded, chunk = _count_case(data, n)
    want = pk.count_aligned_bases(ops, pos, soff, seq, qual, start, length, use=use, min_base_quality=mbq,
                                  reverse=reverse, stranded=stranded)
    qlen = np.diff(soff)
    single = (np.diff(coff) == 1) & np.isin(cig[np.minimum(coff[:-1], len(cig) - 1)] & 15, [0, 7, 8])
    single &= (cig[np.minimum(coff[:-1], len(cig) - 1)] >> 4) == qlen
    moved = single & use & (qlen > 0) & np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    blocks = []
    for width in np.unique(qlen[moved]).tolist():
        rows_w = np.flatnonzero(moved & (qlen == width))
        codes = np.stack([seq[soff[r]:soff[r + 1]] for r in rows_w])
        cat = np.frombuffer(codes.tobytes().translate(bytes(pk.CATEGORY_OF_CODE) * 16), np.uint8).reshape(codes.shape)
        q = np.stack([qual[soff[r]:soff[r + 1]] for r in rows_w])
        blocks.append((pos[rows_w], cat, q, reverse[rows_w]))
    got = pk.count_aligned_bases(ops, pos, soff, seq, qual, start, length, use=use & ~moved, min_base_quality=mbq,
                                 reverse=reverse, stranded=stranded, blocks=blocks, chunk_bases=chunk)
    assert got.shape == want.shape and got.dtype == np.int32
    np.testing.assert_array_equal(got, want)


def test_count_aligned_bases__blocks_cut_into_short_runs_count_the_same(monkeypatch):
    # blocks split into runs by span (_BLOCK_SPAN) and by chunk_bases give the same table as one run
    rng = np.random.default_rng(7)
    pos = np.sort(rng.integers(0, 5000, 40))
    cat = rng.integers(0, 5, (40, 30)).astype(np.uint8)
    rev = rng.random(40) < 0.5
    empty = cov.expand_cigar(np.zeros(0, np.int64), np.zeros(0, np.uint32), np.zeros(1, np.int64))
    args = (empty, np.zeros(0, np.int64), np.zeros(1, np.int64), np.zeros(0, np.uint8), np.zeros(0, np.uint8),
            100, 4000)
    for stranded in (False, True):
        want = pk.count_aligned_bases(*args, blocks=[(pos, cat, None, rev)], stranded=stranded)
        monkeypatch.setattr(pk, "_BLOCK_SPAN", 64)
        got = pk.count_aligned_bases(*args, blocks=[(pos, cat, None, rev)], stranded=stranded, chunk_bases=100)
        monkeypatch.undo()
        np.testing.assert_array_equal(got, want)
        # every base of every read, scattered one by one
        x = (pos[:, None] + np.arange(30)).ravel()
        inside = (x >= 100) & (x < 4100)
        strand = np.repeat(rev, 30) if stranded else np.zeros(x.size, bool)
        ref = np.zeros((4000, 2, 7), np.int32)
        np.add.at(ref, (x[inside] - 100, strand[inside].astype(int), cat.ravel()[inside]), 1)
        np.testing.assert_array_equal(want, ref if stranded else ref[:, 0])