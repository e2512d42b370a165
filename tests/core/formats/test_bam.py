"""BAM codec (SAMv1 §4.2): corpus oracles, exact-bytes edge cases, round trips through samtools."""
from __future__ import annotations

import hashlib
import struct
import subprocess

import numpy as np
import pytest

from hts_notebook.core.bgzf import BgzfReader, compress
from hts_notebook.core.errors import FormatError, TruncatedFileError
from hts_notebook.core.formats.alignment.bam import (
    BamWriter,
    decode_records,
    encode_bam_header,
    encode_records,
    read_bam_header,
    reference_end,
)
from hts_notebook.core.formats.alignment.batch import (
    AlignmentBatch,
    batch_from_columns,
    cigar_from_string,
    encode_seq,
)
from hts_notebook.core.formats.alignment.header import AlignmentHeader
from hts_notebook.core.formats.alignment.reader import AlignmentFile
from tests.conftest import CONFORMANCE, corpus_files, ids, oracle_for, requires_samtools, requires_shared

BAMS = corpus_files("bam", (".bam",))
LEVEL_BAMS = sorted((CONFORMANCE / "bam" / "passed").glob("*.bam")) if (CONFORMANCE / "bam").is_dir() else []


# ----------------------------------------------------------------- helpers
def _truncated_equal(got, want) -> bool:
    """Compare a value with an oracle value that may be truncated (corpus README "Truncation")."""
    if isinstance(want, dict) and want.get("_truncated"):
        if isinstance(got, str):
            return len(got) == want["length"] and hashlib.md5(got.encode()).hexdigest() == want["md5"]
        text = ",".join(repr(float(x)) if isinstance(x, float) else str(x) for x in got)
        return len(got) == want["length"] and hashlib.md5(text.encode()).hexdigest() == want["md5"]
    if isinstance(want, float) or (isinstance(want, list) and want and isinstance(want[0], float)):
        return np.allclose(np.float32(got), np.float32(want), rtol=1e-6, equal_nan=True)
    return got == want


def _strip(x):
    if isinstance(x, dict):
        return {k: _strip(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_strip(v) for v in x]
    return x.rstrip() if isinstance(x, str) else x


def _tags(batch, i):
    from hts_notebook.core.formats.alignment.aux import decode_aux

    out, types = {}, {}
    for tag, typ, val in decode_aux(batch.aux_bytes(i)):
        if typ in ("Z", "H"):
            val = val.encode("latin-1").decode("utf-8", "backslashreplace")
        out[tag], types[tag] = val, typ
    return out, types


def check_record(batch, header, i, want):
    ref = header.ref_name(int(batch.ref_id[i]))
    got = {
        "qname": batch.names()[i] if len(batch) < 5000 else batch.name[batch.name_offsets[i]:batch.name_offsets[i + 1]].tobytes().decode(),
        "flag": int(batch.flag[i]),
        "ref": None if ref == "*" else ref,
        "pos": int(batch.pos[i]),
        "mapq": int(batch.mapq[i]),
        "n_cigar_ops": int(batch.cigar_offsets[i + 1] - batch.cigar_offsets[i]),
        "rnext": None if batch.next_ref_id[i] < 0 else header.ref_name(int(batch.next_ref_id[i])),
        "pnext": int(batch.next_pos[i]),
        "tlen": int(batch.tlen[i]),
    }
    for k, v in got.items():
        assert v == want[k], (i, k, v, want[k])
    # pysam's reference_end is None for unmapped reads; ours is pos + 1 (htslib bam_endpos)
    want_end = want["end"] if want["end"] is not None else int(batch.pos[i]) + 1
    assert int(batch.end[i]) == want_end, (i, "end")
    cig = batch.cigar_string(i)
    assert _truncated_equal(None if cig == "*" else cig, want["cigar"]), (i, "cigar")
    seq = batch.seq_string(i)
    assert _truncated_equal(None if seq == "*" else seq, want["seq"]), (i, "seq")
    q = batch.qual_array(i)
    qual = None if (len(q) == 0 or q[0] == 0xFF) else q.tolist()
    assert _truncated_equal(qual, want["qual"]), (i, "qual")
    tags, types = _tags(batch, i)
    assert types == want["tag_types"], (i, "tag_types")
    for k, v in want["tags"].items():
        if types[k] == "I" and isinstance(v, int):  # pysam reads I through int32: 0xffffffff -> -1
            assert tags[k] % (1 << 32) == v % (1 << 32), (i, k)
            continue
        assert _truncated_equal(tags[k], v), (i, k, tags[k], v)


# ----------------------------------------------------------------- corpus
@requires_shared
@pytest.mark.parametrize("path", BAMS, ids=ids(BAMS))
def test_decode_records__corpus_matches_oracle(path):
    o = oracle_for(path)
    with AlignmentFile(path) as f:
        assert f.format == "bam"
        assert [list(r) for r in f.header.references] == o["header"]["references"]
        if "header_dict" in o["header"]:
            # pysam drops trailing blanks of header values; AlignmentHeader keeps them
            # and splits a PG CL value at tabs: compare @PG by ID only
            got, want = _strip(f.header.to_dict()), _strip(o["header"]["header_dict"])
            assert [p["ID"] for p in got.pop("PG", [])] == [p["ID"] for p in want.pop("PG", [])]
            assert got == want
        batch = f.fetch_batch()
        assert len(batch) == o["record_count"]
        flag = batch.flag.astype(np.int64)
        fc = o["flag_counts"]
        assert int(((flag & 4) != 0).sum()) == fc["unmapped_flag"]
        assert int(((flag & 0x100) != 0).sum()) == fc["secondary"]
        assert int(((flag & 0x800) != 0).sum()) == fc["supplementary"]
        assert int(((flag & 1) != 0).sum()) == fc["paired"]
        assert int(((batch.ref_id >= 0) & (batch.pos >= 0)).sum()) == fc["placed"]
        for i, want in enumerate(o["records"]):
            check_record(batch, f.header, i, want)


@requires_shared
@pytest.mark.parametrize("path", LEVEL_BAMS, ids=ids(LEVEL_BAMS))
def test_decode_records__conformance_passed_read_fully(path):
    with AlignmentFile(path) as f:
        batch = f.fetch_batch()
        assert len(batch) == 20000
        assert f.count() == 20000
        assert np.all(batch.end >= batch.pos)


@requires_shared
def test_decode_records__level1_equals_level9():
    if len(LEVEL_BAMS) < 2:
        pytest.skip("conformance BAMs absent")
    a, b = (AlignmentFile(p).fetch_batch() for p in LEVEL_BAMS)
    for col in ("pos", "end", "flag", "cigar", "seq", "qual", "aux", "name"):
        np.testing.assert_array_equal(getattr(a, col), getattr(b, col))


# ----------------------------------------------------------------- exact bytes
def _tiny_batch():
    return batch_from_columns(
        ref_id=[0, 0, -1], pos=[4, 9, -1], end=[0, 0, 0], mapq=[30, 0, 255], bin=[0, 0, 0],
        flag=[99, 16, 4], next_ref_id=[0, -1, -1], next_pos=[20, -1, -1], tlen=[25, 0, 0],
        name=[b"r1", b"read_two", b"u"],
        cigar=[cigar_from_string("3M1I2M2D1M"), cigar_from_string("5S4M"), cigar_from_string("*")],
        seq=[encode_seq(b"ACGTACG"), encode_seq(b"NNACGTACG"), encode_seq(b"ACG")],
        qual=[[30] * 7, [20] * 9, [255] * 3],
        aux=[b"NMC\x02", b"XZZhello\x00", b""],
    )


def test_encode_records__tiny_batch_roundtrip():
    b = _tiny_batch()
    data, sizes = encode_records(b)
    assert sizes.tolist() == [36 + 3 + 20 + 4 + 7 + 4, 36 + 9 + 8 + 5 + 9 + 9, 36 + 2 + 0 + 2 + 3 + 0]
    # fixed fields of record 0 as SAMv1 §4.2 lays them out
    bs, ref, pos, lrn, mapq, bin_, ncig, flag, lseq, nref, npos, tlen = struct.unpack_from("<iiiBBHHHiiii", data, 0)
    assert (bs, ref, pos, lrn, mapq, ncig, flag, lseq, nref, npos, tlen) == (sizes[0] - 4, 0, 4, 3, 30, 5, 99, 7, 0, 20, 25)
    assert bin_ == 4681  # reg2bin(4, 12)
    got, starts, consumed = decode_records(data, final=True)
    assert consumed == len(data) and starts.tolist() == [0, int(sizes[0]), int(sizes[0] + sizes[1])]
    assert got.names() == ["r1", "read_two", "u"]
    assert [got.cigar_string(i) for i in range(3)] == ["3M1I2M2D1M", "5S4M", "*"]
    assert [got.seq_string(i) for i in range(3)] == ["ACGTACG", "NNACGTACG", "ACG"]
    assert got.end.tolist() == [4 + 3 + 2 + 2 + 1, 13, 0]
    assert got.bin.tolist() == [4681, 4681, 4680]
    assert got.aux_bytes(1) == b"XZZhello\x00"
    np.testing.assert_array_equal(got.qual, b.qual)


def test_reference_end__htslib_endpos_rules():
    cig = np.concatenate([cigar_from_string("10M"), cigar_from_string("5S"), cigar_from_string("3M2N4D")])
    off = np.array([0, 1, 2, 5])
    end = reference_end(np.array([100, 100, 100]), np.array([0, 0, 4]), cig, off)
    assert end.tolist() == [110, 101, 101]  # unmapped: pos + 1 even with a CIGAR


def test_bam_writer__long_cigar_goes_to_cg_tag_and_back(tmp_path):
    n_ops = 70001
    ops = np.where(np.arange(n_ops) % 2 == 0, (1 << 4) | 0, (1 << 4) | 1).astype(np.uint32)  # 1M1I1M...
    qlen = n_ops
    b = batch_from_columns(
        ref_id=[0], pos=[10], end=[0], mapq=[60], bin=[0], flag=[0], next_ref_id=[-1], next_pos=[-1], tlen=[0],
        name=[b"long"], cigar=[ops], seq=[np.full(qlen, 1, np.uint8)], qual=[np.full(qlen, 40, np.uint8)],
        aux=[b"NMC\x05"],
    )
    data, _ = encode_records(b)
    ncig = struct.unpack_from("<H", data, 16)[0]
    assert ncig == 2  # kSmN placeholder
    got, _, _ = decode_records(data, final=True)
    np.testing.assert_array_equal(got.cigar, ops)
    assert got.aux_bytes(0) == b"NMC\x05"  # CG removed
    assert got.end.tolist() == [10 + 35001]
    header = AlignmentHeader("@SQ\tSN:c\tLN:100000\n", [("c", 100000)])
    out = tmp_path / "long.bam"
    with BamWriter(out, header) as w:
        w.write_batch(b)
    again = AlignmentFile(out).fetch_batch()
    np.testing.assert_array_equal(again.cigar, ops)


def test_read_bam_header__no_sq_text_gets_sq_lines():
    raw = encode_bam_header(AlignmentHeader("@CO\thi\n", [("a", 5), ("b", 7)]))
    h, first = read_bam_header(BgzfReader(compress(raw)))
    assert h.references == [("a", 5), ("b", 7)]
    assert h.text == "@CO\thi\n@SQ\tSN:a\tLN:5\n@SQ\tSN:b\tLN:7\n"
    r = BgzfReader(compress(raw))
    r.seek(first)
    assert r.read() == b""  # the first record would start right after the header


def test_read_bam_header__bad_magic():
    with pytest.raises(FormatError, match="magic"):
        read_bam_header(BgzfReader(compress(b"BAM\x02" + b"\x00" * 8)))


def test_read_bam_header__huge_l_text_rejected_before_allocation():
    raw = b"BAM\x01" + struct.pack("<i", 2_000_000_000)
    with pytest.raises(FormatError) as e:
        read_bam_header(BgzfReader(compress(raw)))
    assert e.value.field == "l_text"


def test_read_bam_header__negative_l_ref():
    raw = b"BAM\x01" + struct.pack("<i", 0) + struct.pack("<i", 1) + struct.pack("<i", 2) + b"a\x00" + struct.pack("<i", -5)
    with pytest.raises(FormatError) as e:
        read_bam_header(BgzfReader(compress(raw)))
    assert e.value.field == "l_ref"


def test_decode_records__block_size_below_minimum_names_record():
    data, sizes = encode_records(_tiny_batch())
    bad = bytearray(data)
    struct.pack_into("<i", bad, int(sizes[0]), 20)
    with pytest.raises(FormatError, match=r"bam record 1 at 0x[0-9a-f]+: block_size=20") as e:
        decode_records(bytes(bad), final=True)
    assert e.value.field == "block_size"


def test_decode_records__l_seq_larger_than_block():
    data, sizes = encode_records(_tiny_batch())
    bad = bytearray(data)
    struct.pack_into("<i", bad, 20, 151)
    with pytest.raises(FormatError, match=r"bam record 0 at .*l_seq=151 but block_size leaves \d+ bytes"):
        decode_records(bytes(bad), final=True)


def test_decode_records__voffset_in_message():
    data, sizes = encode_records(_tiny_batch())
    bad = bytearray(data)
    struct.pack_into("<i", bad, int(sizes[0]), 3)
    with pytest.raises(FormatError, match=r"bam record 7 at 0x1a2b:0x40") as e:
        decode_records(bytes(bad), voffset_of=lambda p: (0x1A2B << 16) | 0x40, first_record=6, final=True)
    assert e.value.virtual


def test_decode_records__cut_record_at_eof_is_truncation():
    data, sizes = encode_records(_tiny_batch())
    with pytest.raises(TruncatedFileError):
        decode_records(data[:-2], final=True)
    batch, starts, consumed = decode_records(data[:-2], final=False)
    assert len(batch) == 2 and consumed == int(sizes[0] + sizes[1])


def test_decode_records__bad_ref_id_and_cigar_op():
    data, _ = encode_records(_tiny_batch())
    with pytest.raises(FormatError, match="refID=0 outside"):
        decode_records(data, final=True, n_ref=0)
    bad = bytearray(data)
    bad[36 + 3] = (bad[36 + 3] & 0xF0) | 12  # first CIGAR op code 12
    batch, _, _ = decode_records(bytes(bad), final=True)  # CIGARs are decoded, and checked, on first use
    with pytest.raises(FormatError, match="CIGAR operation code 12"):
        batch.cigar
    with pytest.raises(FormatError, match="CIGAR operation code 12"):
        batch.end


def test_decode_records__empty_input():
    batch, starts, consumed = decode_records(b"", final=True)
    assert len(batch) == 0 and consumed == 0 and isinstance(batch, AlignmentBatch)


# ----------------------------------------------------------------- samtools round trip
def _samtools(*args) -> bytes:
    return subprocess.run(["samtools", *map(str, args)], capture_output=True, check=True).stdout


ROUNDTRIP = [p for p in BAMS if p.stat().st_size < 400_000]


@requires_shared
@requires_samtools
@pytest.mark.parametrize("path", ROUNDTRIP, ids=ids(ROUNDTRIP))
def test_bam_writer__samtools_view_identical(path, tmp_path):
    out = tmp_path / path.name
    with AlignmentFile(path) as f, BamWriter(out, f.header) as w:
        for b in f.iter_batches(batch_size=4000):
            w.write_batch(b)
    assert subprocess.run(["samtools", "quickcheck", str(out)]).returncode == 0
    assert _samtools("view", "--no-PG", "-h", out) == _samtools("view", "--no-PG", "-h", path)


@requires_shared
@requires_samtools
@pytest.mark.parametrize("name", ["bamjs-paired.bam", "htslib-range.bam", "samtools-ce_unmap2.bam"])
def test_bam_writer__samtools_index_and_region(name, tmp_path):
    src = next((p for p in BAMS if p.name == name), None)
    if src is None:
        pytest.skip("corpus file absent")
    o = oracle_for(src)
    out = tmp_path / name
    with AlignmentFile(src) as f, BamWriter(out, f.header) as w:
        w.write_batch(f.fetch_batch())
    _samtools("index", out)
    for win in o["regions"]:
        ours = _samtools("view", out, win["region"])
        theirs = _samtools("view", src, win["region"])
        assert ours == theirs
        assert len(ours.splitlines()) == win["count"]
    # and our reader answers the same through samtools' index of our file
    with AlignmentFile(out) as f:
        for win in o["regions"]:
            assert f.count((win["contig"], win["start"], win["stop"])) == win["count"]


@requires_shared
@requires_samtools
def test_bam_writer__level1_roundtrip(tmp_path):
    if not LEVEL_BAMS:
        pytest.skip("conformance BAMs absent")
    src = LEVEL_BAMS[0]
    out = tmp_path / "l1.bam"
    with AlignmentFile(src) as f, BamWriter(out, f.header, level=1) as w:
        for b in f.iter_batches(batch_size=7000):
            w.write_batch(b)
    assert _samtools("view", "--no-PG", out) == _samtools("view", "--no-PG", src)


def _all_match_batch(lengths, *, seed: int, random_qual: bool = False):
    """Reads of the given lengths, CIGAR ``<len>M``, random base codes (qualities 30 or random)."""
    gen = np.random.default_rng(seed)
    n = len(lengths)
    seq = [gen.integers(0, 16, k).astype(np.uint8) for k in lengths]
    qual = [gen.integers(0, 42, k).astype(np.uint8) if random_qual else np.full(k, 30, np.uint8) for k in lengths]
    return batch_from_columns(
        ref_id=[0] * n, pos=list(range(n)), end=[0] * n, mapq=[60] * n, bin=[0] * n, flag=[0] * n,
        next_ref_id=[-1] * n, next_pos=[-1] * n, tlen=[0] * n, name=[b"r%d" % i for i in range(n)],
        cigar=[cigar_from_string(f"{k}M") if k else np.zeros(0, np.uint32) for k in lengths],
        seq=seq, qual=qual, aux=[b""] * n,
    )


@pytest.mark.parametrize("lengths", [[150, 150, 150], [0, 1, 2, 3, 151, 7, 0, 64]])
def test_decode_records__seq_ascii_straight_from_packed_bases_equals_codes_lookup(lengths):
    n = len(lengths)
    b = _all_match_batch(lengths, seed=len(lengths))
    data, _ = encode_records(b)
    want = np.frombuffer(b"=ACMGRSVTWYHKDBN", np.uint8)[b.seq]
    lazy, _, _ = decode_records(data, final=True)
    assert lazy.seq_ascii.tobytes() == want.tobytes()  # packed -> ASCII, codes never built
    assert "seq" in lazy.__dict__["_loaders"]
    assert np.array_equal(lazy.seq, b.seq)
    rows = np.array([n - 1, 0, n // 2])
    again, _, _ = decode_records(data, final=True)
    sub = again.take(rows)  # still lazy: ASCII of the kept rows only
    start = b.seq_offsets
    assert sub.seq_ascii.tobytes() == b"".join(want[start[i]:start[i + 1]].tobytes() for i in rows)
    assert b.seq_ascii.tobytes() == want.tobytes()  # the eager batch's lookup agrees


@pytest.mark.parametrize("width", [1, 2, 7, 150, 151])
def test_decode_records__seq_and_qual_matrices_straight_from_packed_bytes(width):
    b = _all_match_batch([width, 3, width, width, 0, width], seed=width, random_qual=True)
    data, _ = encode_records(b)
    rows = np.array([5, 0, 3])
    want = np.stack([b.seq[b.seq_offsets[r]:b.seq_offsets[r + 1]] for r in rows])
    want_q = np.stack([b.qual[b.seq_offsets[r]:b.seq_offsets[r + 1]] for r in rows])
    symbols = bytes(range(100, 116))
    lazy, _, _ = decode_records(data, final=True)
    assert np.array_equal(lazy.seq_matrix(rows, width), want)
    assert np.array_equal(lazy.seq_matrix(rows, width, symbols), want + 100)
    assert np.array_equal(lazy.qual_matrix(rows, width), want_q)
    assert "seq" in lazy.__dict__["_loaders"] and "qual" in lazy.__dict__["_loaders"]  # nothing flat was built
    sub = lazy.take(np.array([0, 2, 3, 5]))  # still lazy; rows renumbered
    assert np.array_equal(sub.seq_matrix(np.array([3, 0, 2]), width), want)
    assert np.array_equal(b.seq_matrix(rows, width), want)  # the eager batch cuts its flat SEQ
    assert np.array_equal(b.seq_matrix(rows, width, symbols), want + 100)
    assert np.array_equal(b.qual_matrix(rows, width), want_q)
    assert np.array_equal(lazy.seq, b.seq)  # once decoded, the flat arrays serve the matrices
    assert np.array_equal(lazy.seq_matrix(rows, width, symbols), want + 100)
