"""BCF typed values (VCFv4.3 §6.3.3): exact bytes and hypothesis round trips."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hts_notebook.core.errors import FormatError
from hts_notebook.core.formats.variant import bcf_types as bt


def test_encode_ints__smallest_type_like_htslib():
    assert bt.encode_ints([1, 2, 3]) == bytes([0x31, 1, 2, 3])
    assert bt.encode_ints([-120, 127]) == bytes([0x21, 0x88, 0x7F])
    assert bt.encode_ints([-121, 0])[0] == 0x22  # -121 is reserved in int8
    assert bt.encode_ints([0, 32767])[0] == 0x22
    assert bt.encode_ints([0, 32768])[0] == 0x23
    assert bt.encode_ints([-32761, 0])[0] == 0x23
    assert bt.encode_ints([]) == bytes([0x00])
    assert bt.encode_ints([-1, -2]) == bytes([0x21, 0x80, 0x81])  # missing, end of vector


def test_encode_int1__missing_and_widths():
    assert bt.encode_int1(-1) == bytes([0x11, 0x80])
    assert bt.encode_int1(-2) == bytes([0x11, 0x81])
    assert bt.encode_int1(300) == bytes([0x12, 0x2C, 0x01])
    assert bt.encode_int1(70000) == bytes([0x13]) + (70000).to_bytes(4, "little")


def test_encode_size__overflow_count_uses_typed_int():
    assert bt.encode_size(14, bt.BT_INT8) == bytes([0xE1])
    assert bt.encode_size(15, bt.BT_CHAR) == bytes([0xF7, 0x11, 15])
    assert bt.encode_size(300, bt.BT_FLOAT) == bytes([0xF5, 0x12, 0x2C, 0x01])
    assert bt.encode_size(40000, bt.BT_INT8) == bytes([0xF1, 0x13]) + (40000).to_bytes(4, "little")


def test_decode_typed__sentinels_per_width():
    for typ, dt in ((1, "<i1"), (2, "<i2"), (3, "<i4")):
        raw = np.array([bt.INT_MISSING[typ], bt.INT_EOV[typ], 5, bt.INT_MIN_VALUE[typ]], dtype=dt).tobytes()
        v = bt.decode_typed(bytes([0x40 | typ]) + raw)
        assert v.type == typ and v.count == 4 and v.end == 1 + len(raw)
        assert v.value.tolist() == [-1, -2, 5, bt.INT_MIN_VALUE[typ]]
        assert v.value.dtype == np.int32


def test_decode_typed__float_missing_and_end_of_vector_bits():
    raw = np.array([bt.FLOAT_MISSING_BITS, bt.FLOAT_EOV_BITS, 0x3F800000], dtype="<u4").tobytes()
    v = bt.decode_typed(bytes([0x35]) + raw)
    assert np.isnan(v.value[:2]).all() and v.value[2] == 1.0
    assert bt.float_is_missing(v.value).tolist() == [True, False, False]
    assert bt.float_is_fill(v.value).tolist() == [False, True, False]


def test_decode_typed__char_padding_and_missing_string():
    assert bt.decode_typed(bytes([0x57]) + b"ab\x00\x00\x00").value == "ab"
    assert bt.decode_typed(bytes([0x17, 0x07])).value == ""
    assert bt.decode_typed(bytes([0x07])).value == ""


@pytest.mark.parametrize("data, what", [
    (b"", "no type byte"),
    (bytes([0x34]), "type code 4"),
    (bytes([0x31, 1, 2]), "need 3 bytes"),
    (bytes([0xF1, 0x15, 0, 0, 0, 0]), "overflow count has type 5"),
    (bytes([0xF1, 0x11, 0xFF]), "negative"),
    (bytes([0xF1, 0x12, 1]), "overflow count needs 2 bytes"),
])
def test_decode_typed__malformed_raises_format_error(data, what):
    with pytest.raises(FormatError, match=what):
        bt.decode_typed(data)


def test_read_descriptors__vectorised_matches_scalar():
    blobs = [bt.encode_ints([1, 2]), bt.encode_chars("x" * 20), bt.encode_floats([1.0] * 200), bytes([0x00]),
             bytes([0x34]), bytes([0x31])]
    data = b"".join(blobs)
    starts = np.cumsum([0] + [len(b) for b in blobs[:-1]])
    ends = np.cumsum([len(b) for b in blobs])
    u8 = np.frombuffer(data, np.uint8)
    typ, cnt, dpos, nb, bad = bt.read_descriptors(u8, starts.astype(np.int64), ends.astype(np.int64))
    assert typ.tolist()[:4] == [1, 7, 5, 0]
    assert cnt.tolist()[:4] == [2, 20, 200, 0]
    assert bad.tolist() == [0, 0, 0, 0, 4, 5]
    for i in range(4):
        v = bt.decode_typed(data, int(starts[i]))
        assert v.end == dpos[i] + nb[i]


ints = st.integers(min_value=-(1 << 31) + 8, max_value=(1 << 31) - 1).filter(lambda x: x not in (-1, -2))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(ints, st.sampled_from([-1, -2])), min_size=0, max_size=300))
def test_encode_ints__round_trip(values):
    data = bt.encode_ints(values)
    v = bt.decode_typed(data)
    assert v.end == len(data)
    if not values:
        assert v.type == bt.BT_NULL and v.value is None
    else:
        assert v.value.tolist() == values
        real = [x for x in values if x not in (-1, -2)]
        lo, hi = (min(real), max(real)) if real else (0, 0)
        assert v.type == bt.int_type_for_range(lo, hi)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(width=32, allow_nan=False), max_size=100))
def test_encode_floats__round_trip(values):
    data = bt.encode_floats(np.array(values, dtype=np.float32))
    v = bt.decode_typed(data)
    assert v.type == bt.BT_FLOAT and v.count == len(values)
    assert v.value.tolist() == np.array(values, dtype=np.float32).tolist()


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=60),
       st.integers(min_value=0, max_value=20))
def test_encode_chars__round_trip_with_padding(text, pad):
    raw = text.encode()
    data = bt.encode_chars(text, width=len(raw) + pad)
    v = bt.decode_typed(data)
    assert v.type == bt.BT_CHAR and v.count == len(raw) + pad and v.end == len(data)
    assert v.value == ("" if text.startswith("\x07") else text)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(st.one_of(st.integers(-120, 127), st.just(-1)), min_size=1, max_size=4),
                min_size=1, max_size=20))
def test_decode_int_block__many_records_one_gather(rows):
    width = max(len(r) for r in rows)
    padded = [r + [-2] * (width - len(r)) for r in rows]
    blobs = [bt.encode_ints(r, per_row=width) for r in padded]
    data = b"".join(blobs)
    u8 = np.frombuffer(data, np.uint8)
    starts = np.cumsum([0] + [len(b) for b in blobs[:-1]]).astype(np.int64)
    typ, cnt, dpos, nb, bad = bt.read_descriptors(u8, starts, starts + np.array([len(b) for b in blobs]))
    assert not bad.any()
    for t in np.unique(typ).tolist():
        g = np.flatnonzero(typ == t)
        out = bt.decode_int_block(u8, dpos[g], t, width)
        assert out[:, 0, :].tolist() == [padded[i] for i in g]
