"""Aux-field codec: BAM binary <-> tuples <-> SAM text (SAMv1 §1.5, §4.2.4)."""
from __future__ import annotations

import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hts_notebook.core.errors import FormatError
from hts_notebook.core.formats.alignment.aux import (
    aux_from_sam,
    aux_to_sam,
    decode_aux,
    encode_aux,
    format_float,
)

# ---------------------------------------------------------------------------
# exact bytes


def test_decode_aux__every_type_from_exact_bytes():
    blob = (
        b"XAAx" + b"XcC\xff" + b"Xcc\xff" + b"XsS" + struct.pack("<H", 65535) + b"Xss" + struct.pack("<h", -2)
        + b"XiI" + struct.pack("<I", 4294967295) + b"Xii" + struct.pack("<i", -(1 << 31))
        + b"Xff" + struct.pack("<f", 0.1) + b"XZZhello\x00" + b"XHH1AE3\x00"
        + b"XBBs" + struct.pack("<I", 2) + struct.pack("<hh", -1, 300)
        + b"YBBf" + struct.pack("<I", 0)
    )
    assert decode_aux(blob) == [
        ("XA", "A", "x"), ("Xc", "C", 255), ("Xc", "c", -1), ("Xs", "S", 65535), ("Xs", "s", -2),
        ("Xi", "I", 4294967295), ("Xi", "i", -(1 << 31)), ("Xf", "f", float(np.float32(0.1))),
        ("XZ", "Z", "hello"), ("XH", "H", "1AE3"), ("XB", "Bs", [-1, 300]), ("YB", "Bf", []),
    ]
    assert encode_aux(decode_aux(blob)) == blob


@pytest.mark.parametrize(
    "blob",
    [
        b"NM",                                  # no type
        b"NMi\x01\x00",                         # short int32
        b"XZZabc",                              # no NUL
        b"XBBc\x05\x00\x00\x00\x01\x02",        # count larger than bytes
        b"XBBc\x01\x00",                        # short count
        b"XBBq\x00\x00\x00\x00",                # bad subtype
        b"XXq\x00",                             # bad type
        b"XBBi\xff\xff\xff\xff",                # huge count, no data
    ],
)
def test_decode_aux__garbled_raises_format_error(blob):
    with pytest.raises(FormatError) as ei:
        decode_aux(blob, path="x.bam", offset=7)
    assert ei.value.field == "aux"
    assert ei.value.path == "x.bam"


def test_encode_aux__out_of_range_raises():
    with pytest.raises(FormatError):
        encode_aux([("XX", "c", 200)])
    with pytest.raises(FormatError):
        encode_aux([("XX", "Bc", [1, 200])])
    with pytest.raises(FormatError):
        encode_aux([("XXX", "Z", "a")])


def test_encode_aux__typed_numpy_array_for_plain_b():
    blob = encode_aux([("XB", "B", np.array([1, 2], dtype=np.uint16))])
    assert decode_aux(blob) == [("XB", "BS", [1, 2])]


# ---------------------------------------------------------------------------
# text side (expected strings checked against samtools 1.16 `view`)


@pytest.mark.parametrize(
    "text, binary_type, sam_text",
    [
        (b"XX:i:0", "C", b"XX:i:0"),
        (b"XX:i:255", "C", b"XX:i:255"),
        (b"XX:i:256", "S", b"XX:i:256"),
        (b"XX:i:65536", "I", b"XX:i:65536"),
        (b"XX:i:4294967295", "I", b"XX:i:4294967295"),
        (b"XX:i:-1", "c", b"XX:i:-1"),
        (b"XX:i:-129", "s", b"XX:i:-129"),
        (b"XX:i:-32769", "i", b"XX:i:-32769"),
        (b"XX:i:+5", "C", b"XX:i:5"),
        (b"XX:i:12abc", "C", b"XX:i:12"),      # strtol prefix (lenient)
        (b"XX:f:3.14159265", "f", b"XX:f:3.14159"),
        (b"XX:f:1e-5", "f", b"XX:f:1e-05"),
        (b"XX:f:1234567", "f", b"XX:f:1.23457e+06"),
        (b"XX:f:123456.7", "f", b"XX:f:123457"),
        (b"XX:f:1e40", "f", b"XX:f:inf"),
        (b"XX:f:10.", "f", b"XX:f:10"),
        (b"XX:f:0x10", "f", b"XX:f:16"),
        (b"XX:A:ab", "A", b"XX:A:a"),
        (b"XX:Z:", "Z", b"XX:Z:"),
        (b"XX:H:1AE3", "H", b"XX:H:1AE3"),
        (b"XX:B:c,-1,2", "Bc", b"XX:B:c,-1,2"),
        (b"XX:B:c", "Bc", b"XX:B:c"),
        (b"XX:B:c,", "Bc", b"XX:B:c,0"),
        (b"XX:B:c,200", "BC", b"XX:B:C,200"),   # htslib re-types to fit
        (b"XX:B:S,-1,70000", "Bi", b"XX:B:i,-1,70000"),
        (b"XX:B:C,-1", "BC", b"XX:B:C,0"),
        (b"XX:B:f,1.5,1e-5,1234567", "Bf", b"XX:B:f,1.5,1e-05,1.23457e+06"),
    ],
)
def test_aux_from_sam__lenient_matches_samtools(text, binary_type, sam_text):
    blob = aux_from_sam([text])
    assert decode_aux(blob)[0][1] == binary_type
    assert aux_to_sam(blob) == sam_text


@pytest.mark.parametrize(
    "text",
    [b"XX:i:4294967296", b"XX:i:-2147483649", b"XX:i:", b"XX:A:", b"XX:f:", b"XX:H:abc", b"XX:Z",
     b"XX:B:x,1", b"XX:B:c1", b"XX:B:c,5000000000", b"XX:z:a", b"XXX:Z:a", b"X:Z:a"],
)
def test_aux_from_sam__rejected_in_both_modes(text):
    for strict in (False, True):
        with pytest.raises(FormatError):
            aux_from_sam([text], strict=strict)


@pytest.mark.parametrize(
    "text",
    [b"0A:i:1", b"A_:i:1", b"XX:f:10.", b"XX:f:e", b"XX:f:nan", b"XX:f:inf", b"XX:i:10.999", b"XX:A: ",
     b"XX:H:ab", b"XX:Z:\x01", b"XX:B:c,200", b"XX:B:c,1.5", b"XX:B:f,nan"],
)
def test_aux_from_sam__strict_rejects_spec_violations(text):
    aux_from_sam([text])  # htslib accepts
    with pytest.raises(FormatError) as ei:
        aux_from_sam([text], strict=True, line=3)
    assert ei.value.field == text[:2].decode()
    assert "line 3" in str(ei.value)


def test_aux_from_sam__strict_rejects_duplicate_tag():
    aux_from_sam([b"XX:i:1", b"XX:i:2"])
    with pytest.raises(FormatError) as ei:
        aux_from_sam([b"XX:i:1", b"XX:i:2"], strict=True)
    assert ei.value.field == "XX"


def test_format_float__percent_g():
    assert [format_float(float(np.float32(x))) for x in (1.0, 0.1, 1e-40, 999999.5, -0.0)] == [
        "1", "0.1", "9.99995e-41", "1e+06", "-0"]
    assert format_float(float("nan")) == "nan"
    assert format_float(float("-inf")) == "-inf"


# ---------------------------------------------------------------------------
# property tests

_tags = st.from_regex(r"[A-Za-z][A-Za-z0-9]", fullmatch=True)
_ranges = {"c": (-128, 127), "C": (0, 255), "s": (-32768, 32767), "S": (0, 65535),
           "i": (-(1 << 31), (1 << 31) - 1), "I": (0, (1 << 32) - 1)}
_f32 = st.floats(width=32, allow_nan=False)


def _item():
    ints = st.sampled_from(sorted(_ranges)).flatmap(
        lambda t: st.tuples(_tags, st.just(t), st.integers(*_ranges[t])))
    flt = st.tuples(_tags, st.just("f"), _f32)
    a = st.tuples(_tags, st.just("A"), st.characters(min_codepoint=33, max_codepoint=126))
    z = st.tuples(_tags, st.just("Z"), st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=20))
    h = st.tuples(_tags, st.just("H"), st.binary(max_size=8).map(lambda b: b.hex().upper()))
    barr_i = st.sampled_from(sorted(_ranges)).flatmap(
        lambda t: st.tuples(_tags, st.just("B" + t), st.lists(st.integers(*_ranges[t]), max_size=6)))
    barr_f = st.tuples(_tags, st.just("Bf"), st.lists(_f32, max_size=6))
    return st.one_of(ints, flt, a, z, h, barr_i, barr_f)


@settings(max_examples=200, deadline=None)
@given(st.lists(_item(), max_size=6))
def test_encode_decode__round_trip(items):
    blob = encode_aux(items)
    back = decode_aux(blob)
    assert [(t, ty) for t, ty, _ in back] == [(t, ty) for t, ty, _ in items]
    for (_, ty, v), (_, _, w) in zip(back, items):
        if ty == "f":
            assert np.float32(v) == np.float32(w)
        elif ty == "Bf":
            assert np.array_equal(np.float32(v), np.float32(w))
        else:
            assert v == w
    assert encode_aux(back) == blob


@settings(max_examples=200, deadline=None)
@given(st.lists(_item(), max_size=6))
def test_text_binary_text__round_trip(items):
    # binary -> SAM text -> binary -> SAM text is stable (integers may narrow)
    text = aux_to_sam(encode_aux(items))
    fields = text.split(b"\t") if text else []
    blob2 = aux_from_sam(fields)
    assert aux_to_sam(blob2) == text
    back = decode_aux(blob2)
    for (_, ty, v), (_, ty0, w) in zip(back, items):
        if ty0 in _ranges:
            assert v == w
        elif ty0 == "f":
            # %g keeps 6 significant digits
            assert np.isclose(v, w, rtol=1e-5, atol=0) or (np.isinf(v) and abs(w) > 3.4e38)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=40))
def test_decode_aux__random_bytes_never_escape(blob):
    try:
        decode_aux(blob)
    except FormatError:
        pass
