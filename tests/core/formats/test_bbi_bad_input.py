"""Damaged bigWig / bigBed files: always an HtsError subclass, never another exception or a hang."""
from __future__ import annotations

import struct

import numpy as np
import pytest

from hts_notebook.core.errors import FormatError, HtsError, LimitExceededError, TruncatedFileError
from hts_notebook.core.formats.bbi.bigbed import BigBedFile
from hts_notebook.core.formats.bbi.bigwig import BigWigFile
from hts_notebook.core.formats.bbi.header import RTREE_MAGIC
from hts_notebook.core.formats.bbi.writer import write_bigwig
from tests.conftest import corpus_files, ids, requires_shared

FILES = [p for p in corpus_files("bigwig") + corpus_files("bigbed") if p.stat().st_size < 500_000]


def _exercise(data: bytes, is_bigwig: bool):
    """Open and query everything; any failure must be an HtsError."""
    f = (BigWigFile if is_bigwig else BigBedFile)(data)
    for name, length in list(f.contigs.items())[:3]:
        stop = min(length, 20_000)
        if is_bigwig:
            f.values((name, 0, stop))
            f.intervals((name, 0, stop))
            f.stats((name, 0, stop), "mean", 4)
            f.stats((name, 0, stop), "max", 2, exact=True)
        else:
            f.entries((name, 0, stop))
            f.query((name, 0, stop))


@requires_shared
@pytest.mark.parametrize("path", FILES, ids=ids(FILES))
def test_bbi__truncated_copies_raise_hts_error(path):
    data = path.read_bytes()
    is_bw = path.parent.name == "bigwig"
    cuts = sorted({0, 3, 10, 63, 64, 100, len(data) // 3, len(data) // 2, len(data) - 200, len(data) - 1})
    for cut in cuts:
        if 0 <= cut < len(data):
            try:
                _exercise(data[:cut], is_bw)
            except HtsError:
                pass


@requires_shared
@pytest.mark.parametrize("path", FILES, ids=ids(FILES))
def test_bbi__bit_flipped_copies_raise_hts_error(path):
    data = path.read_bytes()
    is_bw = path.parent.name == "bigwig"
    rng = np.random.default_rng(len(data))
    # flips inside the header and trees are the interesting ones: bias towards the first kilobytes
    positions = np.concatenate([rng.integers(0, min(len(data), 2048), 25), rng.integers(0, len(data), 15)])
    for pos in positions.tolist():
        bad = bytearray(data)
        bad[pos] ^= 1 << int(rng.integers(0, 8))
        try:
            _exercise(bytes(bad), is_bw)
        except HtsError:
            pass


def _small_bigwig(tmp_path) -> bytes:
    out = tmp_path / "s.bw"
    write_bigwig(out, {"c": 1000}, {"c": ([0, 10], [5, 20], [1.0, 2.0])}, zoom_levels=0)
    return bytearray(out.read_bytes())


def _header(data):
    return struct.unpack_from("<IHHQQQHHQQIQ", data, 0)


def test_bbi__rtree_cycle_raises(tmp_path):
    data = _small_bigwig(tmp_path)
    index = _header(data)[5]
    root = index + 48
    # turn the root (a leaf) into an internal node whose only child is itself
    struct.pack_into("<BBH", data, root, 0, 0, 1)
    struct.pack_into("<IIIIQ", data, root + 4, 0, 0, 0, 1000, root)
    with pytest.raises(FormatError, match="cycle"):
        BigWigFile(bytes(data)).values("c:1-100")


def test_bbi__data_offset_past_end_raises(tmp_path):
    data = _small_bigwig(tmp_path)
    index = _header(data)[5]
    struct.pack_into("<Q", data, index + 48 + 4 + 16, len(data) + 10)
    with pytest.raises(TruncatedFileError):
        BigWigFile(bytes(data)).values("c:1-100")


def test_bbi__header_offsets_past_end_raise(tmp_path):
    data = _small_bigwig(tmp_path)
    struct.pack_into("<Q", data, 8, len(data) + 1)  # chromTreeOffset
    with pytest.raises(FormatError):
        BigWigFile(bytes(data))


def test_bbi__absurd_counts_raise(tmp_path):
    data = _small_bigwig(tmp_path)
    index = _header(data)[5]
    struct.pack_into("<H", data, index + 48 + 2, 65535)  # leaf item count far past the end of file
    with pytest.raises(TruncatedFileError):
        BigWigFile(bytes(data)).values("c:1-100")
    data = _small_bigwig(tmp_path)
    struct.pack_into("<I", data, 52, 1 << 31)  # uncompressBufSize
    with pytest.raises(LimitExceededError):
        BigWigFile(bytes(data))
    data = _small_bigwig(tmp_path)
    struct.pack_into("<H", data, 6, 5000)  # zoomLevels
    with pytest.raises(HtsError):
        BigWigFile(bytes(data))


def test_bbi__wrong_rtree_magic_raises(tmp_path):
    data = _small_bigwig(tmp_path)
    index = _header(data)[5]
    assert struct.unpack_from("<I", data, index)[0] == RTREE_MAGIC
    struct.pack_into("<I", data, index, 0xDEADBEEF)
    with pytest.raises(FormatError, match="magic"):
        BigWigFile(bytes(data)).values("c:1-100")


def test_bbi__bad_magic_and_empty_file():
    with pytest.raises(FormatError):
        BigWigFile(b"\0" * 100)
    with pytest.raises(TruncatedFileError):
        BigWigFile(b"")


def test_bbi__chrom_tree_cycle_raises(tmp_path):
    data = _small_bigwig(tmp_path)
    chrom = _header(data)[3]
    node = chrom + 32
    key_size = struct.unpack_from("<I", data, chrom + 8)[0]
    struct.pack_into("<BBH", data, node, 0, 0, 1)
    struct.pack_into("<Q", data, node + 4 + key_size, node)
    with pytest.raises(FormatError):
        BigWigFile(bytes(data))
