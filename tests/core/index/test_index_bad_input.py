"""Damaged BAI/CSI files raise HtsError subclasses, never anything else."""
from __future__ import annotations

import struct

import numpy as np
import pytest

from hts_notebook.core.bgzf import BgzfReader, compress
from hts_notebook.core.errors import FormatError, HtsError, LimitExceededError, TruncatedFileError
from hts_notebook.core.index import load_index, parse_bai, parse_csi, read_csi
from hts_notebook.core.index.bai import bai_bytes
from hts_notebook.core.index.csi import csi_bytes
from tests.conftest import corpus_files, ids

INDEXES = corpus_files("bam", (".bai", ".csi"))


def _exercise(index):
    """Use a parsed index the ways callers do; only HtsError may come out."""
    index.stats()
    for ref_id in range(min(index.n_ref, 3)):
        for start, stop in [(0, 1000), (0, 1 << 29), (123456, 223456)]:
            chunks = index.query_chunks(ref_id, start, stop)
            assert all(u <= v for u, v in chunks)
    if index.fmt == "csi":
        csi_bytes(index)
    else:
        bai_bytes(index)


def _content(path):
    return BgzfReader(str(path)).read_all() if path.name.endswith(".csi") else path.read_bytes()


def _parse(path, data):
    return parse_csi(data, path=path.name) if path.name.endswith(".csi") else parse_bai(data, path=path.name)


def _cuts(n):
    return sorted(set(np.linspace(0, n - 1, 30).astype(int).tolist()) | {0, 1, 3, 4, 7, 8, 11, n - 8, n - 1})


@pytest.mark.parametrize("path", INDEXES, ids=ids(INDEXES))
def test_parse__truncated_content_raises_truncated(path):
    data = _content(path)
    for cut in _cuts(len(data)):
        if cut < 0:
            continue
        try:
            idx = _parse(path, data[:cut])
        except HtsError:
            continue
        # n_no_coor is optional: only a cut exactly before it may parse
        assert cut == len(data) - 8, cut
        _exercise(idx)


@pytest.mark.parametrize("path", INDEXES, ids=ids(INDEXES))
def test_load_index__truncated_file_raises_hts_error(path, tmp_path):
    raw = path.read_bytes()
    for cut in _cuts(len(raw)):
        p = tmp_path / path.name
        p.write_bytes(raw[:cut])
        try:
            _exercise(load_index(p))
        except HtsError:
            pass


@pytest.mark.parametrize("path", INDEXES, ids=ids(INDEXES))
def test_parse__bit_flips_raise_hts_error_or_parse(path):
    data = _content(path)
    rng = np.random.default_rng(len(data))
    positions = rng.integers(0, len(data), 60).tolist() + list(range(min(len(data), 24)))
    for pos in positions:
        for bit in (0, 7) if pos < 24 else (int(rng.integers(0, 8)),):
            bad = bytearray(data)
            bad[pos] ^= 1 << bit
            try:
                _exercise(_parse(path, bytes(bad)))
            except HtsError:
                pass


@pytest.mark.parametrize("path", [p for p in INDEXES if p.name.endswith(".csi")], ids=ids([p for p in INDEXES if p.name.endswith(".csi")]))
def test_read_csi__flipped_compressed_bytes_raise_hts_error(path, tmp_path):
    raw = path.read_bytes()
    for pos in range(0, len(raw), max(1, len(raw) // 30)):
        bad = bytearray(raw)
        bad[pos] ^= 0x10
        p = tmp_path / path.name
        p.write_bytes(bytes(bad))
        try:
            _exercise(read_csi(p))
        except HtsError:
            pass


def test_parse_bai__huge_counts_are_refused_before_allocating():
    with pytest.raises(LimitExceededError):
        parse_bai(b"BAI\x01" + struct.pack("<i", 0x7FFFFFFF) + b"\0" * 16)
    with pytest.raises(LimitExceededError):
        parse_bai(b"BAI\x01" + struct.pack("<ii", 1, 0x7FFFFFF0) + b"\0" * 16)
    # n_chunk larger than the bytes left
    data = b"BAI\x01" + struct.pack("<iiIi", 1, 1, 4681, 1000) + b"\0" * 40
    with pytest.raises((TruncatedFileError, LimitExceededError)):
        parse_bai(data)
    with pytest.raises(FormatError):
        parse_bai(b"BAI\x01" + struct.pack("<i", -1))
    with pytest.raises(FormatError):
        parse_bai(b"BAM\x01" + struct.pack("<i", 0))


def test_parse_bai__duplicate_and_out_of_range_bins():
    one = struct.pack("<Ii", 4681, 1) + struct.pack("<QQ", 1 << 16, 2 << 16)
    with pytest.raises(FormatError):
        parse_bai(b"BAI\x01" + struct.pack("<ii", 1, 2) + one + one + struct.pack("<i", 0))
    bad = struct.pack("<Ii", 40000, 0)
    with pytest.raises(FormatError):
        parse_bai(b"BAI\x01" + struct.pack("<ii", 1, 1) + bad + struct.pack("<i", 0))
    meta = struct.pack("<Ii", 37450, 1) + struct.pack("<QQ", 0, 0)
    with pytest.raises(FormatError):
        parse_bai(b"BAI\x01" + struct.pack("<ii", 1, 1) + meta + struct.pack("<i", 0))


def test_parse_csi__bad_header_fields():
    with pytest.raises(FormatError):
        parse_csi(b"CSI\x01" + struct.pack("<iiii", 14, 40, 0, 0))
    with pytest.raises(FormatError):
        parse_csi(b"CSI\x01" + struct.pack("<iiii", -3, 5, 0, 0))
    with pytest.raises(LimitExceededError):
        parse_csi(b"CSI\x01" + struct.pack("<iiii", 14, 5, 1 << 30, 0))
    with pytest.raises(TruncatedFileError):
        parse_csi(b"CSI\x01" + struct.pack("<ii", 14, 5))
    with pytest.raises(HtsError):
        read_csi(compress(b"CSI\x01" + struct.pack("<iii", 14, 5, 0)))


def test_query_chunks__wide_query_on_deep_index_stays_small():
    data = b"CSI\x01" + struct.pack("<iiii", 0, 10, 0, 1) + struct.pack("<i", 1)
    data += struct.pack("<IQi", 1, 0, 1) + struct.pack("<QQ", 5 << 16, 6 << 16)
    idx = parse_csi(data)
    assert idx.query_chunks(0, 0, 1 << 30) == [(5 << 16, 6 << 16)]
