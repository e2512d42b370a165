"""Damaged BAMs (truncated, bit-flipped) raise HtsError subclasses, never raw Python errors."""
from __future__ import annotations

import random

import pytest

from hts_notebook.core.bgzf import _parse_header
from hts_notebook.core.errors import HtsError
from hts_notebook.core.formats.alignment.reader import AlignmentFile
from tests.conftest import corpus_files, requires_shared

NAMES = ["htslib-range.bam", "bamjs-paired.bam", "samtools-11_target.bam"]
FILES = [p for p in corpus_files("bam", (".bam",)) if p.name in NAMES]


def _block_offsets(raw: bytes) -> list:
    out, pos = [], 0
    while pos < len(raw):
        size, _ = _parse_header(raw, pos, None, pos)
        out.append(pos)
        pos += size
    return out


def _read_all(path):
    """Whole-file decode: header, every record, and the tag dataset."""
    with AlignmentFile(path) as f:
        b = f.fetch_batch()
        from hts_notebook.core.dataset.alignment import scan_aux

        scan_aux(b.aux, b.aux_offsets)
        return len(b)


def _outcome(path):
    try:
        return _read_all(path)
    except HtsError as exc:
        return exc


@requires_shared
@pytest.mark.parametrize("src", FILES, ids=[p.name for p in FILES])
def test_bam_reader__truncated_copies_raise(src, tmp_path):
    raw = src.read_bytes()
    n = _read_all(src)
    rnd = random.Random(1234)
    cuts = set(_block_offsets(raw)[1:]) | {rnd.randrange(1, len(raw) - 1) for _ in range(20)} | {len(raw) - 28, 5}
    dst = tmp_path / "cut.bam"
    for cut in sorted(cuts):
        dst.write_bytes(raw[:cut])
        out = _outcome(dst)
        assert isinstance(out, HtsError), f"cut at {cut}: read {out} of {n} records without error"


@requires_shared
@pytest.mark.parametrize("src", FILES, ids=[p.name for p in FILES])
def test_bam_reader__bit_flips_raise_or_read_everything(src, tmp_path):
    raw = src.read_bytes()
    n = _read_all(src)
    rnd = random.Random(99)
    dst = tmp_path / "flip.bam"
    blocks = _block_offsets(raw)
    # ~20 random flips plus one in the first bytes of each of a few block headers
    spots = [rnd.randrange(len(raw)) for _ in range(20)] + [b + rnd.randrange(18) for b in blocks[:5]]
    for off in spots:
        bad = bytearray(raw)
        bad[off] ^= 1 << rnd.randrange(8)
        dst.write_bytes(bytes(bad))
        out = _outcome(dst)
        assert isinstance(out, HtsError) or out == n, f"flip at {off}: {out!r}"


@requires_shared
def test_bam_reader__flipped_header_fields_raise(tmp_path):
    from hts_notebook.core.bgzf import compress, BgzfReader

    src = next((p for p in FILES if p.name == "htslib-range.bam"), None)
    if src is None:
        pytest.skip("corpus file absent")
    data = BgzfReader(src).read_all()
    rnd = random.Random(7)
    dst = tmp_path / "hdr.bam"
    l_text = int.from_bytes(data[4:8], "little")
    # flips in the uncompressed header/record fields, recompressed so the CRC is valid
    spots = list(range(0, 12)) + [8 + l_text + k for k in range(8)] + [rnd.randrange(len(data)) for _ in range(20)]
    n = _read_all(src)
    for off in spots:
        bad = bytearray(data)
        bad[off] ^= 1 << rnd.randrange(8)
        dst.write_bytes(compress(bytes(bad)))
        out = _outcome(dst)
        # a flip in a value (base, quality, name byte) can leave a valid file; counts must still be whole
        assert isinstance(out, HtsError) or out == n, f"flip at {off}: {out!r} of {n}"
