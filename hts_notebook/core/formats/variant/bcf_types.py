"""BCF typed values (VCFv4.3 §6.3.3): decode to numpy arrays, encode like htslib.

A typed value starts with one *type descriptor* byte: the low nibble is the
type, the high nibble the number of values.  A count of 15 means "15 or
more": the real count follows as a typed integer (itself one descriptor byte
with count 1 and an int8/int16/int32 value).  Types (§6.3.3 table)::

    0  MISSING (no value; a Flag in INFO)     1  int8     2  int16
    3  int32                                  5  float32  7  char

Integers reserve their eight most negative values: the smallest is *missing*,
the next one *end of vector* (the padding of a shorter per-sample vector).
Floats use two NaN bit patterns: ``0x7F800001`` missing and ``0x7F800002``
end of vector.  Characters pad with NUL; a string whose first byte is
``0x07`` is missing as a whole.

In memory we follow the VCF Zarr conventions (DESIGN.md §3):

* integers decode to ``int32`` with ``-1`` = missing and ``-2`` = fill
  (end of vector, or padding to a wider batch-wide shape);
* floats decode to ``float32`` keeping the two NaN bit patterns, so
  :data:`FLOAT_MISSING` and :data:`FLOAT_FILL` are both NaN yet stay
  distinguishable (``values.view(np.uint32)``);
* strings decode to Python ``str`` (NUL padding removed); vectors of strings
  are one comma-joined string, as the VCF text has them.

Everything here works on whole arrays: one descriptor per record is read with
a single gather (:func:`read_descriptors`), and the values of many records
that share a layout with one reshape (:func:`decode_int_block`, ...).
"""
from __future__ import annotations

import struct

import numpy as np

from ...errors import FormatError, LimitExceededError

__all__ = [
    "BT_NULL", "BT_INT8", "BT_INT16", "BT_INT32", "BT_FLOAT", "BT_CHAR",
    "TYPE_WIDTH", "VALID_TYPE", "INT_TYPES", "INT_MISSING", "INT_EOV", "INT_MIN_VALUE",
    "MISSING", "FILL", "FLOAT_MISSING_BITS", "FLOAT_EOV_BITS", "FLOAT_MISSING", "FLOAT_FILL",
    "TypedValue", "decode_typed", "read_descriptors",
    "decode_ints", "decode_floats", "decode_int_block", "decode_float_block", "decode_char_block",
    "int_type_for_range", "encode_size", "encode_int1", "encode_ints", "encode_floats", "encode_chars",
    "encode_typed", "float_is_missing", "float_is_fill",
]

BT_NULL, BT_INT8, BT_INT16, BT_INT32, BT_FLOAT, BT_CHAR = 0, 1, 2, 3, 5, 7
#: byte width of each type code (0 for codes that are not valid in BCF 2.2)
TYPE_WIDTH = np.array([0, 1, 2, 4, 0, 4, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0], dtype=np.int64)
#: which of the 16 type codes are valid in BCF 2.2 (§6.3.3)
VALID_TYPE = np.zeros(16, dtype=bool)
VALID_TYPE[[BT_NULL, BT_INT8, BT_INT16, BT_INT32, BT_FLOAT, BT_CHAR]] = True
INT_TYPES = (BT_INT8, BT_INT16, BT_INT32)
_INT_DTYPE = {BT_INT8: np.dtype("<i1"), BT_INT16: np.dtype("<i2"), BT_INT32: np.dtype("<i4")}
#: per integer type: the stored *missing* value, the *end of vector* value, the smallest real value
INT_MISSING = {BT_INT8: -128, BT_INT16: -32768, BT_INT32: -(1 << 31)}
INT_EOV = {BT_INT8: -127, BT_INT16: -32767, BT_INT32: -(1 << 31) + 1}
INT_MIN_VALUE = {BT_INT8: -120, BT_INT16: -32760, BT_INT32: -(1 << 31) + 8}
INT_MAX_VALUE = {BT_INT8: 127, BT_INT16: 32767, BT_INT32: (1 << 31) - 1}

#: in-memory integer missing / fill (VCF Zarr)
MISSING = -1
FILL = -2
FLOAT_MISSING_BITS = 0x7F800001
FLOAT_EOV_BITS = 0x7F800002
FLOAT_MISSING = np.array([FLOAT_MISSING_BITS], dtype=np.uint32).view(np.float32)[0]
FLOAT_FILL = np.array([FLOAT_EOV_BITS], dtype=np.uint32).view(np.float32)[0]
STR_MISSING = 0x07


def float_is_missing(a) -> np.ndarray:
    """True where a float32 array holds the BCF *missing* bit pattern."""
    return np.asarray(a, dtype=np.float32).view(np.uint32) == FLOAT_MISSING_BITS


def float_is_fill(a) -> np.ndarray:
    """True where a float32 array holds the BCF *end of vector* (fill) bit pattern."""
    return np.asarray(a, dtype=np.float32).view(np.uint32) == FLOAT_EOV_BITS


# ------------------------------------------------------------------ decoding
class TypedValue(tuple):
    """``(type, count, value, end)`` of one decoded typed value (see :func:`decode_typed`)."""

    __slots__ = ()

    def __new__(cls, type_, count, value, end):
        return tuple.__new__(cls, (type_, count, value, end))

    type = property(lambda s: s[0])
    count = property(lambda s: s[1])
    value = property(lambda s: s[2])
    end = property(lambda s: s[3])


def _bad(msg, path, offset, field):
    return FormatError(msg, path=path, offset=offset, field=field)


def decode_typed(data, pos: int = 0, end: int | None = None, *, path=None, field: str = "typed value") -> TypedValue:
    """Decode one typed value at ``data[pos]`` (VCFv4.3 §6.3.3).

    Parameters
    ----------
    data : bytes-like
    pos : int
        Position of the type descriptor byte.
    end : int, optional
        Bytes from ``end`` on do not belong to the value's container.

    Returns
    -------
    TypedValue
        ``type`` (0-7), ``count``, ``value`` and ``end`` (position after the
        value).  ``value`` is ``None`` for type 0, an ``int32`` array with -1
        missing / -2 fill for integers, a ``float32`` array (NaN bit patterns
        kept) for floats, and ``str`` for characters (NUL padding removed).

    Raises
    ------
    FormatError
        Invalid type code, a negative overflow count, or a value that runs
        past ``end`` (the bytes are checked before anything is allocated).
    """
    n = len(data) if end is None else end
    if pos >= n:
        raise _bad(f"{field}: no type byte (needs 1, 0 left)", path, pos, field)
    b = data[pos]
    typ, cnt = b & 15, b >> 4
    q = pos + 1
    if cnt == 15:
        if q >= n:
            raise _bad(f"{field}: overflow count has no type byte", path, q, field)
        t2 = data[q] & 15
        if t2 not in INT_TYPES:
            raise _bad(f"{field}: overflow count has type {t2}, expected an integer type", path, q, field)
        w = int(TYPE_WIDTH[t2])
        if q + 1 + w > n:
            raise _bad(f"{field}: overflow count needs {w} bytes, {n - q - 1} left", path, q, field)
        cnt = int.from_bytes(bytes(data[q + 1:q + 1 + w]), "little", signed=True)
        q += 1 + w
        if cnt < 0:
            raise _bad(f"{field}: negative value count {cnt}", path, pos, field)
    if not VALID_TYPE[typ]:
        raise _bad(f"{field}: type code {typ} is not a BCF 2.2 type", path, pos, field)
    nbytes = cnt * int(TYPE_WIDTH[typ])
    if q + nbytes > n:
        raise _bad(f"{field}: {cnt} values of type {typ} need {nbytes} bytes, {n - q} left", path, pos, field)
    raw = bytes(data[q:q + nbytes])
    if typ == BT_NULL:
        value = None
    elif typ in INT_TYPES:
        value = decode_ints(np.frombuffer(raw, dtype=_INT_DTYPE[typ]), typ)
    elif typ == BT_FLOAT:
        value = np.frombuffer(raw, dtype="<f4").astype(np.float32)
    else:
        value = _chars_to_str(raw)
    return TypedValue(typ, cnt, value, q + nbytes)


def _chars_to_str(raw: bytes) -> str:
    raw = raw.split(b"\x00", 1)[0]
    if raw[:1] == b"\x07":
        return ""
    return raw.decode("utf-8", "surrogateescape")


def gather_rows(u8: np.ndarray, pos: np.ndarray, length: int) -> np.ndarray:
    """``u8[pos[i]:pos[i]+length]`` for every ``i`` as an (m, length) uint8 array.

    Rows are copied through a sliding-window view, which is several times
    faster than a per-byte fancy index.  Every ``pos + length`` must be
    ``<= len(u8)`` (callers check bounds first).
    """
    m = len(pos)
    if length <= 0 or m == 0:
        return np.zeros((m, max(length, 0)), dtype=np.uint8)
    return np.lib.stride_tricks.sliding_window_view(u8, length)[pos]


def _gather_le(u8: np.ndarray, pos: np.ndarray, width: np.ndarray) -> np.ndarray:
    """Signed little-endian integers of ``width`` (1, 2 or 4 bytes) at ``pos`` (int64 result).

    Positions too close to the end give garbage (never an IndexError): callers validate.
    """
    n = len(u8)
    out = u8[np.minimum(pos, n - 1)].view(np.int8).astype(np.int64)
    for w, dt in ((2, "<i2"), (4, "<i4")):
        sel = np.flatnonzero(width == w)
        if sel.size and n >= w:
            q = np.clip(pos[sel], 0, n - w)
            out[sel] = np.ascontiguousarray(gather_rows(u8, q, w)).view(dt).ravel()
    return out


def read_descriptors(u8: np.ndarray, pos: np.ndarray, end: np.ndarray):
    """Read one type descriptor (with its overflow count) per entry, vectorised.

    Parameters
    ----------
    u8 : ndarray of uint8
        The inflated data.
    pos : ndarray of int64, shape (m,)
        Position of each descriptor byte.
    end : ndarray of int64, shape (m,)
        End of the container each value must fit in (record section end).

    Returns
    -------
    typ, count, data_pos, nbytes : ndarray of int64, shape (m,)
        Type code, value count, position of the first value byte, and the
        byte size of the values (``count * width``).
    bad : ndarray of int64, shape (m,)
        0 where the descriptor is valid, else a problem code:
        1 no byte left, 2 overflow count malformed, 3 negative count,
        4 invalid type code, 5 values run past ``end``.
    """
    m = len(pos)
    bad = np.zeros(m, dtype=np.int64)
    if m == 0:
        z = np.zeros(0, dtype=np.int64)
        return z, z, z, z, bad
    bad[pos >= end] = 1
    b = u8[np.minimum(pos, len(u8) - 1)].astype(np.int64)
    typ = b & 15
    cnt = b >> 4
    dpos = pos + 1
    ov = np.flatnonzero((cnt == 15) & (bad == 0))
    if ov.size:
        p = pos[ov] + 1
        e = end[ov]
        t2 = u8[np.minimum(p, len(u8) - 1)].astype(np.int64) & 15
        w = TYPE_WIDTH[t2]
        okt = (p < e) & ((t2 == BT_INT8) | (t2 == BT_INT16) | (t2 == BT_INT32)) & (p + 1 + w <= e)
        val = _gather_le(u8, p + 1, w)
        bad[ov[~okt]] = 2
        neg = okt & (val < 0)
        bad[ov[neg]] = 3
        cnt[ov] = np.where(okt, val, 0)
        dpos[ov] = p + 1 + w
    bad[(bad == 0) & ~VALID_TYPE[typ]] = 4
    nbytes = cnt * TYPE_WIDTH[typ]
    bad[(bad == 0) & (dpos + nbytes > end)] = 5
    return typ, cnt, dpos, nbytes, bad


DESCRIPTOR_PROBLEMS = {
    1: "no bytes left for the type descriptor",
    2: "malformed overflow count (needs a typed int8/int16/int32)",
    3: "negative value count",
    4: "type code is not a BCF 2.2 type (0,1,2,3,5,7)",
    5: "values run past the end of the record section",
}


def decode_ints(raw: np.ndarray, typ: int) -> np.ndarray:
    """Map stored integers of type ``typ`` to int32 with -1 missing and -2 fill.

    Parameters
    ----------
    raw : ndarray of int8, int16 or int32 (any shape)
    typ : int
        ``BT_INT8``, ``BT_INT16`` or ``BT_INT32``.

    Returns
    -------
    ndarray of int32, same shape.

    Notes
    -----
    The other six reserved values (§6.3.3) also read as missing; a stored
    ``-1`` reads as missing too (the VCF Zarr convention cannot tell them apart).
    """
    out = raw.astype(np.int32)
    lo = INT_MIN_VALUE[typ]
    sent = out < lo
    if sent.any():
        eov = out == INT_EOV[typ]
        out[sent] = MISSING
        out[eov] = FILL
    return out


def decode_floats(raw: np.ndarray) -> np.ndarray:
    """float32 copy of stored floats (missing/fill NaN bit patterns kept)."""
    return np.asarray(raw).view(np.float32).astype(np.float32, copy=True)


def _block(u8: np.ndarray, dpos: np.ndarray, row_bytes: int, cols: np.ndarray | None) -> np.ndarray:
    """(m, row_bytes) block bytes, or the byte columns ``cols`` of each block (sample subsetting)."""
    if cols is None:
        return np.ascontiguousarray(gather_rows(u8, dpos, row_bytes))
    if len(cols) and int(cols.max()) + 1 <= 4 * len(cols):  # dense selection: rows, then columns
        return np.ascontiguousarray(gather_rows(u8, dpos, int(cols.max()) + 1)[:, cols])
    return u8[dpos[:, None] + cols[None, :]]


def sample_columns(n_sample_sel: np.ndarray | None, n_samples: int, value_bytes: int) -> np.ndarray | None:
    """Byte columns of the selected samples inside one FORMAT block (None = all)."""
    if n_sample_sel is None:
        return None
    return (n_sample_sel[:, None] * value_bytes + np.arange(value_bytes, dtype=np.int64)[None, :]).ravel()


def decode_int_block(u8: np.ndarray, dpos: np.ndarray, typ: int, n_values: int, n_rows: int = 1,
                     cols: np.ndarray | None = None) -> np.ndarray:
    """Gather and decode ``len(dpos)`` blocks of ``n_rows * n_values`` integers.

    Parameters
    ----------
    u8 : ndarray of uint8
    dpos : ndarray of int64, shape (m,)
        First byte of each block (bounds already checked).
    typ : int
        Integer type code of every block.
    n_values : int
        Values per row (per sample for FORMAT, 1 row for INFO).
    n_rows : int
        Rows per block (selected samples when ``cols`` is given).
    cols : ndarray of int64, optional
        Byte offsets inside a block to take (sample subsetting).

    Returns
    -------
    ndarray of int32, shape (m, n_rows, n_values)
    """
    w = int(TYPE_WIDTH[typ])
    raw = _block(u8, dpos, n_rows * n_values * w, cols)
    vals = raw.view(_INT_DTYPE[typ]) if w > 1 else raw.view(np.int8)
    return decode_ints(vals.reshape(len(dpos), n_rows, n_values), typ)


def decode_float_block(u8: np.ndarray, dpos: np.ndarray, n_values: int, n_rows: int = 1,
                       cols: np.ndarray | None = None) -> np.ndarray:
    """Like :func:`decode_int_block` for float32 values; shape (m, n_rows, n_values)."""
    raw = _block(u8, dpos, n_rows * n_values * 4, cols)
    return raw.view("<f4").astype(np.float32).reshape(len(dpos), n_rows, n_values)


def decode_char_block(u8: np.ndarray, dpos: np.ndarray, n_chars: int, n_rows: int = 1,
                      cols: np.ndarray | None = None) -> np.ndarray:
    """Gather ``n_rows`` NUL-padded strings of ``n_chars`` bytes per block.

    Returns
    -------
    ndarray of object (str), shape (m, n_rows)
        Padding removed; a string starting with byte 0x07 (missing) is ``""``.
    """
    m = len(dpos)
    if n_chars == 0:
        out = np.empty((m, n_rows), dtype=object)
        out[...] = ""
        return out
    raw = _block(u8, dpos, n_rows * n_chars, cols)
    raw = np.ascontiguousarray(raw).reshape(m * n_rows, n_chars)
    missing = raw[:, 0] == STR_MISSING
    fixed = raw.view(f"S{n_chars}").reshape(m * n_rows)  # numpy strips trailing NULs
    # an embedded NUL ends the string, as in htslib
    strs = np.array([(s.split(b"\x00", 1)[0] if b"\x00" in s else s).decode("utf-8", "surrogateescape")
                     for s in fixed.tolist()] + [None], dtype=object)[:-1]
    strs[missing] = ""
    return strs.reshape(m, n_rows)


# ------------------------------------------------------------------ encoding
_SIZE_I8 = struct.Struct("<Bb")
_SIZE_I16 = struct.Struct("<Bh")
_SIZE_I32 = struct.Struct("<Bi")


def encode_size(count: int, typ: int) -> bytes:
    """Type descriptor for ``count`` values of ``typ`` (VCFv4.3 §6.3.3).

    Counts below 15 share the descriptor byte; larger ones write ``0xF`` in
    the count nibble followed by a typed int8/int16/int32 count, the
    smallest that holds it (htslib ``bcf_enc_size``).

    Raises
    ------
    ValueError
        ``count < 0``.
    LimitExceededError
        ``count`` beyond int32.
    """
    if count < 0:
        raise ValueError("count must be >= 0")
    if count < 15:
        return bytes([(count << 4) | typ])
    head = bytes([0xF0 | typ])
    if count < 128:
        return head + _SIZE_I8.pack(0x10 | BT_INT8, count)
    if count < 32768:
        return head + _SIZE_I16.pack(0x10 | BT_INT16, count)
    if count > INT_MAX_VALUE[BT_INT32]:
        raise LimitExceededError(f"{count} values do not fit a BCF typed vector", field="count")
    return head + _SIZE_I32.pack(0x10 | BT_INT32, count)


def int_type_for_range(lo: int, hi: int) -> int:
    """Smallest integer type code holding every real value in ``[lo, hi]`` (VCFv4.3 §6.3.3).

    The eight most negative values of each width are reserved, so int8 holds
    -120..127 and int16 -32760..32767 (htslib ``BCF_MIN_BT_INT8`` ...).
    """
    if lo >= INT_MIN_VALUE[BT_INT8] and hi <= INT_MAX_VALUE[BT_INT8]:
        return BT_INT8
    if lo >= INT_MIN_VALUE[BT_INT16] and hi <= INT_MAX_VALUE[BT_INT16]:
        return BT_INT16
    return BT_INT32


def _to_stored(values: np.ndarray, typ: int) -> np.ndarray:
    """int64 values with -1 missing / -2 fill -> stored array of ``typ``."""
    v = np.asarray(values, dtype=np.int64)
    out = v.copy()
    out[v == MISSING] = INT_MISSING[typ]
    out[v == FILL] = INT_EOV[typ]
    return out.astype(_INT_DTYPE[typ])


def _check_int_range(v: np.ndarray) -> None:
    real = v[(v != MISSING) & (v != FILL)]
    if real.size and (int(real.min()) < INT_MIN_VALUE[BT_INT32] or int(real.max()) > INT_MAX_VALUE[BT_INT32]):
        raise LimitExceededError("integer value outside the BCF int32 range", field="value")


def encode_int1(x: int) -> bytes:
    """One typed integer, its width chosen by magnitude (VCFv4.3 §6.3.3).

    ``-1`` writes the int8 *missing* value and ``-2`` the int8 *end of
    vector* value, as htslib's ``bcf_enc_int1`` does.

    Raises
    ------
    LimitExceededError
        ``x`` outside the int32 range.
    """
    if x == MISSING:
        return bytes([0x10 | BT_INT8, 0x80])
    if x == FILL:
        return bytes([0x10 | BT_INT8, 0x81])
    typ = int_type_for_range(x, x)
    if x < INT_MIN_VALUE[BT_INT32] or x > INT_MAX_VALUE[BT_INT32]:
        raise LimitExceededError(f"integer {x} outside the BCF int32 range", field="value")
    return bytes([0x10 | typ]) + int(x).to_bytes(int(TYPE_WIDTH[typ]), "little", signed=True)


def encode_ints(values, *, per_row: int | None = None) -> bytes:
    """A typed integer vector (``bcf_enc_vint``), -1 = missing, -2 = fill.

    Parameters
    ----------
    values : array-like of int
        All values (for FORMAT: every sample's vector, concatenated).
    per_row : int, optional
        Count written in the descriptor (per-sample vector length for
        FORMAT); defaults to ``len(values)``.

    Returns
    -------
    bytes
        Empty input gives the MISSING type (``0x00``); one value uses
        :func:`encode_int1` (unless ``per_row`` is given); otherwise the
        smallest type that holds the real values.
    """
    v = np.asarray(values, dtype=np.int64).ravel()
    if per_row is None:
        if v.size == 0:
            return bytes([BT_NULL])
        if v.size == 1:
            return encode_int1(int(v[0]))
        per_row = v.size
    _check_int_range(v)
    real = v[(v != MISSING) & (v != FILL)]
    typ = int_type_for_range(int(real.min()), int(real.max())) if real.size else BT_INT8
    return encode_size(per_row, typ) + _to_stored(v, typ).tobytes()


def encode_floats(values, *, per_row: int | None = None) -> bytes:
    """A typed float32 vector (VCFv4.3 §6.3.3).

    NaN bit patterns are written as given, so :data:`FLOAT_MISSING` and
    :data:`FLOAT_FILL` stay *missing* and *end of vector*.  ``per_row``
    overrides the count in the descriptor (per-sample width in FORMAT).
    """
    v = np.asarray(values, dtype=np.float32).ravel()
    return encode_size(v.size if per_row is None else per_row, BT_FLOAT) + v.astype("<f4").tobytes()


def encode_chars(text, *, width: int | None = None) -> bytes:
    """A typed char vector (VCFv4.3 §6.3.3); ``width`` pads with NUL bytes (FORMAT strings)."""
    raw = text.encode("utf-8", "surrogateescape") if isinstance(text, str) else bytes(text)
    if width is None:
        width = len(raw)
    return encode_size(width, BT_CHAR) + raw.ljust(width, b"\x00")


def encode_typed(value) -> bytes:
    """Encode a Python/numpy value: None -> MISSING type, str -> chars, ints, floats."""
    if value is None:
        return bytes([BT_NULL])
    if isinstance(value, (str, bytes)):
        return encode_chars(value)
    a = np.asarray(value)
    if a.dtype.kind == "f":
        return encode_floats(a)
    if a.dtype.kind in "iub":
        return encode_ints(a.astype(np.int64))
    raise TypeError(f"cannot encode {type(value).__name__} as a BCF typed value")
