"""Damaged BCF files: truncations and bit flips raise HtsError subclasses, never hang or come back short."""
from __future__ import annotations

import io
import random
import struct

import pytest

from hts_notebook.core.bgzf import BgzfReader, BgzfWriter
from hts_notebook.core.errors import FormatError, HtsError, TruncatedFileError
from hts_notebook.core.formats.variant import bcf_types as bt
from hts_notebook.core.formats.variant.bcf import decode_bcf_records, iter_bcf_batches
from hts_notebook.core.formats.variant.header import VariantHeader
from tests.conftest import corpus_files, ids, requires_shared

BCF_FILES = corpus_files("bcf", (".bcf",))


def _inflated(path) -> bytes:
    return BgzfReader(path).read_all()


def _bgzf(data: bytes) -> bytes:
    out = io.BytesIO()
    with BgzfWriter(out) as w:
        w.write(data)
    return out.getvalue()


def _layout(data: bytes):
    """(header end, record starts, total records) of an inflated BCF."""
    l_text = struct.unpack_from("<I", data, 5)[0]
    hdr_end = 9 + l_text
    header = VariantHeader.parse(data[9:hdr_end].split(b"\x00", 1)[0])
    batch, starts, consumed = decode_bcf_records(data, hdr_end, header, final=True)
    return hdr_end, starts.tolist(), len(batch)


def _read_all(raw: bytes) -> int:
    return sum(len(b) for b in iter_bcf_batches(io.BytesIO(raw), batch_size=1000, chunk_bytes=4096))


def _block_offsets(raw: bytes) -> list[int]:
    offs, p = [], 0
    while p + 18 <= len(raw):
        offs.append(p)
        p += struct.unpack_from("<H", raw, p + 16)[0] + 1
    return offs


@requires_shared
@pytest.mark.parametrize("path", BCF_FILES, ids=ids(BCF_FILES))
def test_read_bcf__cut_at_every_bgzf_block_boundary_raises(path):
    raw = path.read_bytes()
    offs = _block_offsets(raw)
    assert offs[0] == 0
    for cut in offs[1:] + [len(raw) - 28]:  # the last one drops only the EOF marker
        with pytest.raises(TruncatedFileError):
            _read_all(raw[:cut])


@requires_shared
@pytest.mark.parametrize("path", BCF_FILES, ids=ids(BCF_FILES))
def test_read_bcf__cut_at_random_compressed_offsets_raises(path):
    raw = path.read_bytes()
    rnd = random.Random(path.name)
    for cut in sorted(rnd.sample(range(1, len(raw) - 1), min(25, len(raw) - 2))):
        with pytest.raises(HtsError):
            _read_all(raw[:cut])


@requires_shared
@pytest.mark.parametrize("path", BCF_FILES, ids=ids(BCF_FILES))
def test_read_bcf__inflated_stream_cut_anywhere_never_comes_back_short(path):
    """Cut the record stream (re-compressed with a proper EOF): whole records or TruncatedFileError."""
    data = _inflated(path)
    hdr_end, starts, n = _layout(data)
    rnd = random.Random(path.name)
    boundaries = set(starts) | {len(data)}
    cuts = set(rnd.sample(range(0, len(data)), min(40, len(data))))
    cuts |= {s + d for s in starts[:5] for d in (1, 7, 8, 31, 32, 33)}
    cuts |= set(starts[:5])
    for cut in sorted(cuts):
        raw = _bgzf(data[:cut])
        if cut < hdr_end:
            with pytest.raises(HtsError):
                _read_all(raw)
        elif cut in boundaries:
            assert _read_all(raw) == sum(1 for s in starts if s < cut)
        else:
            with pytest.raises(TruncatedFileError):
                _read_all(raw)


@requires_shared
@pytest.mark.parametrize("path", BCF_FILES, ids=ids(BCF_FILES))
def test_read_bcf__compressed_bit_flips_raise_hts_error(path):
    raw = bytearray(path.read_bytes())
    rnd = random.Random("flip" + path.name)
    for _ in range(30):
        bad = bytearray(raw)
        i = rnd.randrange(len(bad) - 28)  # keep the EOF marker
        bad[i] ^= 1 << rnd.randrange(8)
        try:
            n = _read_all(bytes(bad))
        except HtsError:
            continue
        # a flip in a BGZF header's extra/unused bytes can be harmless: then nothing may be lost
        assert n == _read_all(bytes(raw)), f"flip at {i} silently changed the record count"


@requires_shared
@pytest.mark.parametrize("path", BCF_FILES, ids=ids(BCF_FILES))
def test_read_bcf__inflated_bit_flips_raise_hts_error_or_decode(path):
    """Flips in the record bytes (CRC recomputed): an HtsError or a full-length decode, nothing else."""
    data = _inflated(path)
    hdr_end, starts, n = _layout(data)
    rnd = random.Random("inflated" + path.name)
    positions = [rnd.randrange(hdr_end, len(data)) for _ in range(40)]
    # the length and count fields of the first records
    positions += [s + d for s in starts[:3] for d in (0, 1, 3, 4, 7, 8, 24, 26, 28, 31, 32)]
    for i in positions:
        bad = bytearray(data)
        bad[i] ^= 1 << rnd.randrange(8)
        try:
            got = _read_all(_bgzf(bytes(bad)))
        except HtsError:
            continue
        rel = [s for s in starts if s <= i]
        in_lengths = rel and i - rel[-1] < 8
        if not in_lengths:
            assert got == n, f"flip at {i} changed the record count {n} -> {got}"


@requires_shared
@pytest.mark.parametrize("path", BCF_FILES, ids=ids(BCF_FILES))
def test_read_bcf__header_flips_raise_hts_error_or_decode(path):
    data = _inflated(path)
    hdr_end, starts, n = _layout(data)
    rnd = random.Random("hdr" + path.name)
    for _ in range(25):
        bad = bytearray(data)
        i = rnd.randrange(0, hdr_end)
        bad[i] ^= 1 << rnd.randrange(8)
        try:
            _read_all(_bgzf(bytes(bad)))
        except HtsError:
            pass


HEADER = (
    "##fileformat=VCFv4.2\n"
    '##INFO=<ID=DP,Number=1,Type=Integer,Description="Depth">\n'
    '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
    "##contig=<ID=chr1>\n"
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\ts1\ts2\n"
)


def _rec(shared: bytes, indiv: bytes, *, chrom=0, n_info=0, n_allele=1, n_sample=2, n_fmt=0, l_shared=None,
         l_indiv=None) -> bytes:
    fixed = struct.pack("<iIiIHHI", chrom, 10, 1, bt.FLOAT_MISSING_BITS, n_info, n_allele, n_sample | (n_fmt << 24))
    ls = 24 + len(shared) if l_shared is None else l_shared
    li = len(indiv) if l_indiv is None else l_indiv
    return struct.pack("<II", ls, li) + fixed + shared + indiv


BASE = bytes([0x07]) + bt.encode_chars("A") + bytes([0x00])


@pytest.mark.parametrize("rec, field", [
    (_rec(BASE, b"", l_shared=20), "l_shared"),
    (_rec(BASE, b"", chrom=5), "CHROM"),
    (_rec(BASE, b"", chrom=-1), "CHROM"),
    (_rec(BASE, b"", n_allele=3), "allele"),
    (_rec(BASE + bt.encode_int1(1), b"", n_info=2), "INFO"),
    (_rec(BASE + bt.encode_int1(9) + bt.encode_int1(3), b"", n_info=1), "INFO"),
    (_rec(BASE + bytes([0x15, 0, 0]) , b"", n_info=0), None),
    (_rec(bytes([0x07]) + bt.encode_chars("A") + bytes([0x17, 0x41]), b""), "FILTER"),
    (_rec(bytes([0x17]), b""), "ID"),
    (_rec(bytes([0x14]) + b"abcd" + bt.encode_chars("A") + bytes([0x00]), b""), "ID"),
    (_rec(BASE, bytes([0x11, 2, 0x21, 2, 2]), n_fmt=1), "l_indiv"),
    (_rec(BASE, bytes([0x11, 2, 0x21, 2, 2, 2, 2]), n_fmt=1, n_sample=3), "n_sample"),
    (_rec(BASE, bytes([0x11, 1, 0x21, 2, 2, 2, 2]), n_fmt=1), "FORMAT"),
    (_rec(BASE, bytes([0x11, 2, 0x25]) + b"\x00" * 16, n_fmt=1), "GT"),
    (_rec(BASE, bytes([0x11, 2, 0xF1, 0x11, 0x80]), n_fmt=1), "FORMAT"),
    (_rec(BASE, bytes([0x21, 2, 2]), n_fmt=1), "FORMAT"),
])
def test_decode_bcf_records__malformed_record_raises_format_error(rec, field):
    header = VariantHeader.parse(HEADER)
    if field is None:  # trailing bytes inside l_shared are tolerated, as htslib does
        batch, _, _ = decode_bcf_records(rec, 0, header, final=True)
        assert len(batch) == 1
        return
    with pytest.raises(FormatError) as e:
        decode_bcf_records(rec, 0, header, final=True)
    assert e.value.field == field


def test_decode_bcf_records__huge_counts_do_not_allocate():
    header = VariantHeader.parse(HEADER)
    # a 2**31-1 value count and 65535 alleles in a tiny record
    rec = _rec(bytes([0x07]) + bytes([0xF7, 0x13]) + struct.pack("<i", (1 << 31) - 1), b"")
    with pytest.raises(FormatError):
        decode_bcf_records(rec, 0, header, final=True)
    rec = _rec(BASE, b"", n_allele=65535)
    with pytest.raises(FormatError):
        decode_bcf_records(rec, 0, header, final=True)
    rec = _rec(BASE, bytes([0x11, 2, 0xF1, 0x13]) + struct.pack("<i", (1 << 31) - 1), n_fmt=1)
    with pytest.raises(FormatError):
        decode_bcf_records(rec, 0, header, final=True)


def test_decode_bcf_records__padding_blow_up_raises_limit(monkeypatch):
    from hts_notebook.core.errors import LimitExceededError
    from hts_notebook.core.formats.variant import bcf

    header = VariantHeader.parse(HEADER)
    small = _rec(BASE + bt.encode_int1(1) + bt.encode_int1(5), b"", n_info=1)
    wide = _rec(BASE + bt.encode_int1(1) + bt.encode_ints(list(range(2000))), b"", n_info=1)
    monkeypatch.setattr(bcf, "_ALLOC_FLOOR", 1000)
    with pytest.raises(LimitExceededError):
        decode_bcf_records(small * 50 + wide, 0, header, final=True)


def test_decode_bcf_records__negative_rlen_uses_ref_length_and_no_alleles_is_empty():
    header = VariantHeader.parse(HEADER)
    fixed = struct.pack("<iIiIHHI", 0, 10, -5, bt.FLOAT_MISSING_BITS, 0, 1, 2)
    shared = bytes([0x07]) + bt.encode_chars("ACG") + bytes([0x00])
    rec = struct.pack("<II", 24 + len(shared), 0) + fixed + shared
    fixed0 = struct.pack("<iIiIHHI", 0, 20, -1, bt.FLOAT_MISSING_BITS, 0, 0, 2)
    shared0 = bytes([0x07, 0x00])
    rec0 = struct.pack("<II", 24 + len(shared0), 0) + fixed0 + shared0
    batch, _, _ = decode_bcf_records(rec + rec0, 0, header, final=True)
    assert batch.stop.tolist() == [13, 20]
    assert batch.n_allele.tolist() == [1, 0]
