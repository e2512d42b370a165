"""Truncated and bit-flipped corpus .tbi/.csi files raise HtsError subclasses, never hang."""
from __future__ import annotations

import random

import pytest

from hts_notebook.core.errors import HtsError
from hts_notebook.core.formats.interval.tabix_file import load_tabix_index
from hts_notebook.core.index.tbi import parse_tbi
from tests.conftest import corpus_files, ids

INDEXES = [p for p in corpus_files("tabix", (".tbi", ".csi")) + corpus_files("vcf", (".tbi", ".csi"))]


@pytest.mark.parametrize("path", INDEXES, ids=ids(INDEXES))
def test_load_tabix_index__truncated_raises(path, tmp_path):
    raw = path.read_bytes()
    for cut in sorted({1, 10, 27, len(raw) // 2, len(raw) - 29, len(raw) - 1}):
        bad = tmp_path / ("t" + path.suffix)
        bad.write_bytes(raw[:cut])
        with pytest.raises(HtsError):
            load_tabix_index(bad)


@pytest.mark.parametrize("path", INDEXES, ids=ids(INDEXES))
def test_load_tabix_index__bitflips_raise(path, tmp_path):
    raw = path.read_bytes()
    rng = random.Random(path.name)
    for _ in range(20):
        i = rng.randrange(len(raw) - 28)  # keep the EOF marker; flip inside the data
        buf = bytearray(raw)
        buf[i] ^= 1 << rng.randrange(8)
        bad = tmp_path / ("f" + path.suffix)
        bad.write_bytes(bytes(buf))
        try:
            load_tabix_index(bad)
        except HtsError:
            pass  # a flip in the gzip header's unused fields (MTIME, OS) may pass unnoticed


def test_parse_tbi__decompressed_truncations_raise():
    import gzip

    tbis = [p for p in INDEXES if p.suffix == ".tbi"]
    if not tbis:
        pytest.skip("no corpus")
    data = gzip.open(tbis[0]).read()
    for cut in range(0, len(data) - 8, max(1, len(data) // 200)):
        with pytest.raises(HtsError):
            parse_tbi(data[:cut])


def test_parse_tbi__huge_counts_raise_before_allocating():
    import struct

    hdr = b"TBI\x01" + struct.pack("<i", 1) + struct.pack("<7i", 0, 1, 4, 5, 35, 0, 2) + b"a\x00"
    with pytest.raises(HtsError):
        parse_tbi(hdr + struct.pack("<i", 2**31 - 1))
    with pytest.raises(HtsError):
        parse_tbi(b"TBI\x01" + struct.pack("<i", 1) + struct.pack("<7i", 0, 1, 4, 5, 35, 0, 2**31 - 1))
    with pytest.raises(HtsError):
        parse_tbi(b"TBI\x01" + struct.pack("<i", -1) + struct.pack("<7i", 0, 1, 4, 5, 35, 0, 0))
    with pytest.raises(HtsError):
        parse_tbi(b"XXXX" + bytes(40))
