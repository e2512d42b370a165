"""BGZF reader/writer: round trips, htslib interop, truncation and corruption."""
import hashlib
import io
import shutil
import subprocess

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from hts_notebook.core import bgzf
from hts_notebook.core.errors import ChecksumError, FormatError, HtsError, TruncatedFileError

bgzip = shutil.which("bgzip")


def _data(n=300_000, seed=1):
    rng = np.random.default_rng(seed)
    words = rng.choice([b"ACGT", b"chr1\t", b"\n", b"NNNN", b"12345"], size=n // 4)
    return b"".join(words.tolist())


@given(st.binary(max_size=200_000))
@settings(max_examples=30, deadline=None)
def test_bgzf__write_read_round_trip(data):
    blob = bgzf.compress(data)
    assert blob.endswith(bgzf.BGZF_EOF)
    assert bgzf.BgzfReader(io.BytesIO(blob)).read_all() == data


def test_bgzf_writer__tell_gives_virtual_offsets_reader_can_seek(tmp_path):
    path = tmp_path / "x.gz"
    w = bgzf.BgzfWriter(path)
    marks = []
    for i in range(3000):
        marks.append((w.tell(), i))
        w.write(f"line {i}\n".encode())
    w.close()
    r = bgzf.BgzfReader(path)
    for voff, i in marks[::97]:
        r.seek(voff)
        assert r.readline() == f"line {i}\n".encode()


@pytest.mark.skipif(bgzip is None, reason="bgzip not installed")
def test_bgzf_reader__reads_htslib_bgzip_output(tmp_path):
    data = _data()
    (tmp_path / "a.txt").write_bytes(data)
    subprocess.run(["bgzip", "-i", str(tmp_path / "a.txt")], check=True)
    r = bgzf.BgzfReader(tmp_path / "a.txt.gz")
    assert hashlib.md5(r.read_all()).hexdigest() == hashlib.md5(data).hexdigest()
    assert bgzf.build_gzi(tmp_path / "a.txt.gz") == [tuple(map(int, e)) for e in bgzf.read_gzi(tmp_path / "a.txt.gz.gzi")[1:]]


@pytest.mark.skipif(bgzip is None, reason="bgzip not installed")
def test_bgzf_writer__output_decompresses_with_htslib(tmp_path):
    data = _data(seed=2)
    (tmp_path / "b.gz").write_bytes(bgzf.compress(data))
    out = subprocess.run(["bgzip", "-dc", str(tmp_path / "b.gz")], capture_output=True, check=True)
    assert out.stdout == data
    assert subprocess.run(["bgzip", "-t", str(tmp_path / "b.gz")]).returncode == 0


def test_bgzf_gzi__write_read_round_trip(tmp_path):
    data = _data(seed=3)
    w = bgzf.BgzfWriter(tmp_path / "c.gz", record_gzi=True)
    w.write(data)
    w.close()
    bgzf.write_gzi(tmp_path / "c.gz.gzi", w.gzi_entries())
    table = bgzf.read_gzi(tmp_path / "c.gz.gzi")
    assert [tuple(map(int, e)) for e in table[1:]] == bgzf.build_gzi(tmp_path / "c.gz")
    r = bgzf.BgzfReader(tmp_path / "c.gz")
    coff, uoff = map(int, table[2])
    r.seek(bgzf.make_voffset(coff, 0))
    assert r.read(100) == data[uoff: uoff + 100]


def test_bgzf_reader__missing_eof_marker_is_truncation():
    blob = bgzf.compress(_data(50_000))[:-28]
    with pytest.raises(TruncatedFileError) as exc:
        bgzf.BgzfReader(io.BytesIO(blob))
    assert exc.value.field == "EOF"


def test_bgzf_reader__plain_gzip_is_format_error():
    import gzip

    with pytest.raises(FormatError) as exc:
        bgzf.BgzfReader(io.BytesIO(gzip.compress(b"hello")))
    assert exc.value.field == "FLG"


def test_bgzf_reader__truncated_at_every_block_boundary_raises():
    data = _data(200_000, seed=4)
    blob = bgzf.compress(data)
    r = bgzf.BgzfReader(io.BytesIO(blob))
    rng = r.inflate_range(0)
    cuts = list(rng.block_coffsets[1:]) + [5, 17, 100, len(blob) - 29, len(blob) - 1]
    for cut in cuts:
        with pytest.raises(TruncatedFileError):
            bgzf.BgzfReader(io.BytesIO(blob[: int(cut)])).read_all()
        # ignoring the EOF check still never returns a silently shorter stream
        try:
            got = bgzf.BgzfReader(io.BytesIO(blob[: int(cut)]), check_eof=False).read_all()
        except HtsError:
            continue
        assert data.startswith(got)
        assert int(cut) in set(int(c) for c in rng.block_coffsets) or int(cut) == len(blob) - 28


def _bit_flipped(blob: bytes, seed: int, n: int = 60):
    """``n`` copies of ``blob``, each with one bit flipped before the EOF marker."""
    gen = np.random.default_rng(seed)
    for _ in range(n):
        bad = bytearray(blob)
        i = int(gen.integers(0, len(bad) - 28))
        bad[i] ^= 1 << int(gen.integers(0, 8))
        yield bytes(bad)


def test_bgzf_reader__bit_flips_raise_hts_errors():
    data = _data(100_000, seed=5)
    for bad in _bit_flipped(bgzf.compress(data), seed=7):
        try:
            out = bgzf.BgzfReader(io.BytesIO(bad)).read_all()
        except HtsError:
            continue
        # a flip in MTIME/XFL/OS leaves the data intact
        assert out == data


def test_bgzf_reader__crc_mismatch_is_checksum_error():
    blob = bytearray(bgzf.compress(b"A" * 1000))
    blob[-28 - 8] ^= 0xFF  # first byte of CRC32 of block 0
    with pytest.raises(ChecksumError) as exc:
        bgzf.BgzfReader(io.BytesIO(bytes(blob))).read_all()
    assert exc.value.field == "CRC32"


def test_inflated_range__voffsets_round_trip_positions():
    data = _data(300_000, seed=6)
    r = bgzf.BgzfReader(io.BytesIO(bgzf.compress(data)))
    rng = r.inflate_range(0)
    pos = np.array([0, 1, 65279, 65280, 70000, len(data) - 1])
    vo = rng.voffsets(pos)
    assert [rng.position(int(v)) for v in vo] == pos.tolist()


@pytest.mark.parametrize("size", [0, 1, 65280, 65281, 300_000])
def test_inflate_range__in_place_into_recycled_buffer_equals_data(size):
    data = _data(size, seed=8)[:size]
    r = bgzf.BgzfReader(io.BytesIO(bgzf.compress(data)))
    for spare in (None, bytearray(b"x" * 10), bytearray(b"y" * (size + 70_000))):
        rng = r.inflate_range(0, writable=True, out=spare)
        assert isinstance(rng.data, bytearray) and bytes(rng.data) == data
        if spare is not None:
            assert rng.data is spare


def test_inflate_range__in_place_bit_flips_and_crc_raise_hts_errors():
    data = _data(200_000, seed=9)
    blob = bytearray(bgzf.compress(data))
    for bad in _bit_flipped(blob, seed=11):
        try:
            out = bgzf.BgzfReader(io.BytesIO(bad)).inflate_range(0, writable=True).data
        except HtsError:
            continue
        assert bytes(out) == data
    bad = bytearray(blob)
    bad[-28 - 8] ^= 0xFF  # CRC32 of the last data block
    with pytest.raises(ChecksumError) as exc:
        bgzf.BgzfReader(io.BytesIO(bytes(bad))).inflate_range(0, writable=True)
    assert exc.value.field == "CRC32" and exc.value.offset > 0


def test_deflate_backend__inflate_into_rejects_wrong_isize():
    from hts_notebook.core import deflate_backend as dfl

    if dfl.inflate_into is None:
        pytest.skip("libdeflate not loaded")
    data = _data(50_000, seed=10)
    cdata = dfl.deflate(data, 6)
    src = np.frombuffer(cdata, np.uint8)
    for isize in (len(data) - 1, len(data) + 1):
        out = np.zeros(isize, np.uint8)
        with pytest.raises(ValueError):
            dfl.inflate_into(src.ctypes.data, len(cdata), out.ctypes.data, isize)
    out = np.zeros(len(data), np.uint8)
    dfl.inflate_into(src.ctypes.data, len(cdata), out.ctypes.data, len(data))
    assert out.tobytes() == data and dfl.crc32_at(out.ctypes.data, len(data)) == dfl.crc32(data)


def test_record_stream__held_chunks_are_never_refilled():
    # records: 4-byte length + payload; small chunks so buffers would be recycled
    gen = np.random.default_rng(12)
    recs = [bytes(gen.integers(65, 91, int(n), dtype=np.uint8)) for n in gen.integers(1, 400, 20_000)]
    raw = b"".join(len(x).to_bytes(4, "little") + x for x in recs)
    r = bgzf.BgzfReader(io.BytesIO(bgzf.compress(raw)))
    size = lambda head: 4 + int.from_bytes(head[:4], "little")
    held, views = [], []
    for chunk in bgzf.RecordStream(r, 0, head_size=4, record_size=size, chunk_bytes=20_000):
        p, out = chunk.start, []
        while p + 4 <= len(chunk.data) and p + size(chunk.data[p:p + 4]) <= len(chunk.data):
            out.append((p, size(chunk.data[p:p + 4])))
            p += out[-1][1]
        chunk.consumed = p
        u8 = np.frombuffer(chunk.data, np.uint8)  # a consumer keeping views into the chunk
        views.extend(u8[a + 4: a + n] for a, n in out)
        held.extend(bytes(chunk.data[a + 4: a + n]) for a, n in out)
    assert len(views) == len(recs)
    assert [v.tobytes() for v in views] == held == recs
