"""Binning arithmetic (SAMv1 §5.3, CSIv1) and htslib chunk merging."""
from __future__ import annotations

import numpy as np
import pytest

from hts_notebook.core.index.binning import (
    bin_bot,
    bin_first,
    bin_level,
    bin_limit,
    bin_parent,
    bin_range,
    csi_depth_for_length,
    max_position,
    optimize_chunks,
    pseudo_bin,
    reg2bin,
    reg2bins,
)


def test_bin_first__levels():
    assert [bin_first(level) for level in range(6)] == [0, 1, 9, 73, 585, 4681]


def test_bin_limit__bai_and_pseudo_bin():
    assert bin_limit(14, 5) == 37449
    assert pseudo_bin(5) == 37450
    assert bin_limit(14, 0) == 1
    assert pseudo_bin(0) == 2
    assert max_position(14, 5) == 1 << 29


def test_reg2bin__spec_values():
    assert reg2bin(0, 1) == 4681
    assert reg2bin(0, 16384) == 4681
    assert reg2bin(16383, 16385) == 585
    assert reg2bin(0, 1 << 17) == 585
    assert reg2bin(0, (1 << 17) + 1) == 73
    assert reg2bin(0, 1 << 29) == 0
    assert reg2bin(100_000_000, 100_000_100) == 4681 + (100_000_000 >> 14)


def test_reg2bin__empty_and_inverted_intervals_follow_htslib():
    # end <= beg: the last base is end-1, so [5,5) is [5,4] -> same bottom bin
    assert reg2bin(5, 5) == 4681
    # [0,0) -> last base -1 lies in another bin at every level -> root bin
    assert reg2bin(0, 0) == 0
    # unplaced records are pushed as [-1, 0): last bin of level 4
    assert reg2bin(-1, 0) == 4680
    assert reg2bin(16384, 16384) == 585 + 0  # [16384, 16383]: split at level 5, shared at level 4


def test_reg2bin__vectorised_equals_scalar():
    rng = np.random.default_rng(1)
    beg = rng.integers(0, 1 << 28, 2000)
    end = beg + rng.integers(-3, 1 << 20, 2000)
    got = reg2bin(beg, end)
    assert got.dtype == np.int64
    assert got.tolist() == [reg2bin(int(b), int(e)) for b, e in zip(beg, end)]
    got6 = reg2bin(beg.astype(np.int32), end, 12, 7)
    assert got6.tolist() == [reg2bin(int(b), int(e), 12, 7) for b, e in zip(beg, end)]


def test_reg2bin__matches_bin_range_for_any_parameters():
    rng = np.random.default_rng(2)
    for min_shift, depth in [(14, 5), (10, 3), (16, 7), (14, 0), (20, 2)]:
        top = max_position(min_shift, depth)
        for _ in range(200):
            b = int(rng.integers(0, top))
            e = int(min(top, b + rng.integers(1, max(2, top >> int(rng.integers(0, 3 * depth + 1))))))
            bin_ = reg2bin(b, e, min_shift, depth)
            lo, hi = bin_range(bin_, min_shift, depth)
            assert lo <= b and e <= hi
            # no child of it contains the interval
            if bin_level(bin_) < depth:
                for child in range(bin_ * 8 + 1, bin_ * 8 + 9):
                    clo, chi = bin_range(child, min_shift, depth)
                    assert not (clo <= b and e <= chi)


def test_reg2bins__brute_force_overlap():
    for min_shift, depth in [(14, 5), (8, 3), (14, 0)]:
        n = bin_limit(min_shift, depth)
        ranges = np.array([bin_range(b, min_shift, depth) for b in range(n)]) if n < 5000 else None
        for beg, end in [(0, 1), (100, 70000), (1 << 20, (1 << 20) + 1), (5, 5), (0, 1 << 40)]:
            got = reg2bins(beg, end, min_shift, depth)
            if ranges is not None:
                e = min(end, max_position(min_shift, depth))
                want = np.flatnonzero((ranges[:, 0] < e) & (ranges[:, 1] > beg)) if beg < e else []
                assert got.tolist() == list(want)
    assert reg2bins(0, 1).tolist() == [0, 1, 9, 73, 585, 4681]
    assert reg2bins(10, 10).tolist() == []


def test_bin_parent_and_bot__values():
    assert bin_parent(4681) == 585
    assert bin_parent(np.array([9, 16, 17])).tolist() == [1, 1, 2]
    assert bin_bot(585) == 0
    assert bin_bot(586) == 8
    assert bin_bot(0) == 0
    assert bin_level(37448) == 5


def test_csi_depth_for_length__samtools_rule():
    assert csi_depth_for_length(45) == 0
    assert csi_depth_for_length(16384 - 256) == 0
    assert csi_depth_for_length(16384 - 255) == 1
    assert csi_depth_for_length(248_956_422) == 5
    assert csi_depth_for_length(1 << 29) == 6


def test_optimize_chunks__drops_before_min_and_clips():
    ch = [(10 << 16, 20 << 16), (30 << 16, 40 << 16)]
    assert optimize_chunks(ch, min_off=25 << 16) == [(30 << 16, 40 << 16)]
    assert optimize_chunks(ch, min_off=15 << 16) == [(15 << 16, 20 << 16), (30 << 16, 40 << 16)]
    assert optimize_chunks(ch, max_off=35 << 16) == [(10 << 16, 20 << 16), (30 << 16, 35 << 16)]
    assert optimize_chunks(ch, max_off=10 << 16) == []


def test_optimize_chunks__contained_and_overlapping():
    a = (100 << 16, 200 << 16)
    inner = (120 << 16, 150 << 16)
    over = (180 << 16 | 5, 300 << 16)
    assert optimize_chunks([inner, a]) == [a]
    # overlap is cut at the next start, then joined as the boundary lies in one block
    assert optimize_chunks([a, over]) == [(100 << 16, 300 << 16)]


def test_optimize_chunks__joins_only_within_one_block():
    # previous chunk ends in block 0x50, next starts in block 0x50 -> joined
    assert optimize_chunks([(0x10 << 16, 0x50 << 16 | 8), (0x50 << 16 | 40, 0x90 << 16)]) == [(0x10 << 16, 0x90 << 16)]
    # next starts in the following block -> kept apart (no over-eager merging)
    assert optimize_chunks([(0x10 << 16, 0x50 << 16 | 8), (0x60 << 16, 0x90 << 16)]) == [
        (0x10 << 16, 0x50 << 16 | 8),
        (0x60 << 16, 0x90 << 16),
    ]


def test_bin_range__rejects_pseudo_bin():
    with pytest.raises(ValueError):
        bin_range(37450)
