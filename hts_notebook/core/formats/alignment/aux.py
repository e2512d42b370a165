"""Optional (aux) fields: BAM binary codec and SAM text codec (SAMv1 §1.5, §4.2.4).

BAM stores each aux field as a 2-byte tag, a 1-byte type and a little-endian
value.  SAM writes them as ``TAG:TYPE:VALUE`` with all integer widths folded
into ``i``.  This module converts between the three views:

* binary ``bytes`` (what a BAM record carries, and ``AlignmentBatch.aux``),
* a list of ``(tag, type, value)`` Python tuples,
* SAM text (``\\t``-joined ``TAG:TYPE:VALUE`` bytes, as ``samtools view`` prints).
"""
from __future__ import annotations

import math
import re
import struct

import numpy as np

from hts_notebook.core.errors import FormatError

__all__ = [
    "decode_aux",
    "encode_aux",
    "aux_to_sam",
    "aux_from_sam",
    "format_float",
    "INT_TYPES",
]

#: BAM integer type chars -> (struct code, size, min, max)
INT_TYPES = {
    "c": ("b", 1, -(1 << 7), (1 << 7) - 1),
    "C": ("B", 1, 0, (1 << 8) - 1),
    "s": ("h", 2, -(1 << 15), (1 << 15) - 1),
    "S": ("H", 2, 0, (1 << 16) - 1),
    "i": ("i", 4, -(1 << 31), (1 << 31) - 1),
    "I": ("I", 4, 0, (1 << 32) - 1),
}
_ARRAY_TYPES = {
    "c": np.dtype("<i1"), "C": np.dtype("<u1"), "s": np.dtype("<i2"), "S": np.dtype("<u2"),
    "i": np.dtype("<i4"), "I": np.dtype("<u4"), "f": np.dtype("<f4"),
}
_SIZE = {"A": 1, "c": 1, "C": 1, "s": 2, "S": 2, "i": 4, "I": 4, "f": 4}
_STRUCT = {"c": struct.Struct("<b"), "C": struct.Struct("<B"), "s": struct.Struct("<h"),
           "S": struct.Struct("<H"), "i": struct.Struct("<i"), "I": struct.Struct("<I"),
           "f": struct.Struct("<f")}
_U32 = struct.Struct("<I")


def _err(msg, path, offset, field="aux"):
    return FormatError(msg, path=path, offset=offset, field=field)


def decode_aux(blob: bytes, *, path=None, offset=None) -> list[tuple[str, str, object]]:
    """Decode a BAM aux block into ``(tag, type, value)`` tuples.

    Parameters
    ----------
    blob : bytes
        The aux bytes of one BAM record (SAMv1 §4.2.4).
    path, offset : optional
        Echoed into raised errors.

    Returns
    -------
    list of (str, str, object)
        ``type`` is the BAM type char (``A c C s S i I f Z H``) or ``B`` plus
        the subtype (``Bc BC Bs BS Bi BI Bf``).  Values: ``int`` for integer
        types, ``float`` (the float32 value) for ``f``, ``str`` for ``A Z H``
        and ``list`` of int/float for ``B``.

    Raises
    ------
    FormatError
        ``field='aux'`` when the block is truncated or has an unknown type.
    """
    b = bytes(blob)
    n = len(b)
    out = []
    p = 0
    while p < n:
        if p + 3 > n:
            raise _err(f"aux field at byte {p} truncated ({n - p} bytes left, need 3)", path, offset)
        try:
            tag = b[p:p + 2].decode("ascii")
        except UnicodeDecodeError:
            raise _err(f"aux tag at byte {p} is not ASCII", path, offset) from None
        t = chr(b[p + 2])
        p += 3
        if t in _SIZE:
            size = _SIZE[t]
            if p + size > n:
                raise _err(f"aux {tag}:{t} value truncated", path, offset)
            if t == "A":
                val = chr(b[p])
            elif t == "f":
                val = float(_STRUCT["f"].unpack_from(b, p)[0])
            else:
                val = _STRUCT[t].unpack_from(b, p)[0]
            p += size
            out.append((tag, t, val))
        elif t in ("Z", "H"):
            q = b.find(b"\x00", p)
            if q < 0:
                raise _err(f"aux {tag}:{t} string not NUL-terminated", path, offset)
            val = b[p:q].decode("latin-1")
            p = q + 1
            out.append((tag, t, val))
        elif t == "B":
            if p + 5 > n:
                raise _err(f"aux {tag}:B header truncated", path, offset)
            sub = chr(b[p])
            if sub not in _ARRAY_TYPES:
                raise _err(f"aux {tag}:B has unknown subtype {sub!r}", path, offset)
            count = _U32.unpack_from(b, p + 1)[0]
            p += 5
            dt = _ARRAY_TYPES[sub]
            nbytes = count * dt.itemsize
            if p + nbytes > n:
                raise _err(f"aux {tag}:B:{sub} count {count} needs {nbytes} bytes, {n - p} left", path, offset)
            arr = np.frombuffer(b, dtype=dt, count=count, offset=p)
            p += nbytes
            out.append((tag, "B" + sub, [float(x) for x in arr.tolist()] if sub == "f" else arr.tolist()))
        else:
            raise _err(f"aux {tag} has unknown type {t!r}", path, offset)
    return out


def encode_aux(items) -> bytes:
    """Encode ``(tag, type, value)`` tuples into a BAM aux block.

    Parameters
    ----------
    items : iterable of (str, str, object)
        As returned by :func:`decode_aux`.  ``type`` may also be plain ``B``
        with a typed numpy array value (subtype taken from its dtype).

    Returns
    -------
    bytes

    Raises
    ------
    FormatError
        ``field`` = the tag, when a value does not fit its type.
    """
    parts = []
    for tag, t, val in items:
        tb = tag.encode("ascii") if isinstance(tag, str) else bytes(tag)
        if len(tb) != 2:
            raise FormatError(f"aux tag {tag!r} must be 2 characters", field="aux")
        if t == "B" and isinstance(val, np.ndarray):
            key = (val.dtype.kind, val.dtype.itemsize)
            subs = {("i", 1): "c", ("u", 1): "C", ("i", 2): "s", ("u", 2): "S", ("i", 4): "i",
                    ("u", 4): "I", ("f", 4): "f", ("f", 8): "f", ("b", 1): "C"}
            if key not in subs:
                raise FormatError(f"aux {tag}:B cannot store dtype {val.dtype}", field=tag)
            t = "B" + subs[key]
        if t == "A":
            v = val.encode("latin-1") if isinstance(val, str) else bytes([val]) if isinstance(val, int) else bytes(val)
            if len(v) != 1:
                raise FormatError(f"aux {tag}:A needs exactly one character", field=tag)
            parts.append(tb + b"A" + v)
        elif t in INT_TYPES:
            code, _, lo, hi = INT_TYPES[t]
            iv = int(val)
            if not lo <= iv <= hi:
                raise FormatError(f"aux {tag}:{t} value {iv} out of range", field=tag)
            parts.append(tb + t.encode() + _STRUCT[t].pack(iv))
        elif t == "f":
            parts.append(tb + b"f" + np.float32(val).tobytes())
        elif t in ("Z", "H"):
            v = val.encode("latin-1") if isinstance(val, str) else bytes(val)
            if b"\x00" in v:
                raise FormatError(f"aux {tag}:{t} contains NUL", field=tag)
            parts.append(tb + t.encode() + v + b"\x00")
        elif len(t) == 2 and t[0] == "B" and t[1] in _ARRAY_TYPES:
            sub = t[1]
            dt = _ARRAY_TYPES[sub]
            if sub == "f":
                arr = np.asarray(val, dtype=np.float64).astype(dt)
            else:
                a = np.asarray(val, dtype=np.int64) if len(val) else np.zeros(0, np.int64)
                _, _, lo, hi = INT_TYPES[sub]
                if a.size and (a.min() < lo or a.max() > hi):
                    raise FormatError(f"aux {tag}:B:{sub} value out of range", field=tag)
                arr = a.astype(dt)
            parts.append(tb + b"B" + sub.encode() + _U32.pack(len(arr)) + arr.tobytes())
        else:
            raise FormatError(f"aux {tag} has unknown type {t!r}", field=tag)
    return b"".join(parts)


# ---------------------------------------------------------------------------
# text side


def format_float(x: float) -> str:
    """Format a float32 value as htslib's ``kputd``/``%g`` does in SAM output.

    htslib prints ``f`` aux values with ``%g`` (6 significant digits,
    trailing zeros removed, exponent form outside ``1e-4 <= |x| < 1e6``).
    """
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return "%g" % x


def aux_to_sam(blob: bytes, *, path=None, offset=None) -> bytes:
    """BAM aux block -> SAM text, exactly as ``samtools view`` prints it.

    Parameters
    ----------
    blob : bytes
        BAM-encoded aux block.

    Returns
    -------
    bytes
        ``TAG:TYPE:VALUE`` fields joined by ``\\t`` (empty when no fields).
        Integer types print as ``i``, ``f`` with ``%g``, ``B`` arrays as
        ``B:<sub>,v1,v2`` (SAMv1 §1.5).

    Raises
    ------
    FormatError
        When the block is malformed (see :func:`decode_aux`).
    """
    fields = []
    for tag, t, val in decode_aux(blob, path=path, offset=offset):
        if t in INT_TYPES:
            fields.append(f"{tag}:i:{val}")
        elif t == "f":
            fields.append(f"{tag}:f:{format_float(val)}")
        elif t in ("A", "Z", "H"):
            fields.append(f"{tag}:{t}:{val}")
        else:
            sub = t[1]
            if sub == "f":
                body = "".join("," + format_float(v) for v in val)
            else:
                body = "".join("," + str(v) for v in val)
            fields.append(f"{tag}:B:{sub}{body}")
    return "\t".join(fields).encode("latin-1")


_TAG_RE = re.compile(rb"[A-Za-z][A-Za-z0-9]\Z")
_INT_RE = re.compile(rb"[-+]?[0-9]+\Z")
_FLOAT_RE = re.compile(rb"[-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?\Z")  # SAMv1 §1.5 regex
_A_RE = re.compile(rb"[!-~]\Z")
_Z_RE = re.compile(rb"[ !-~]*\Z")
_H_RE = re.compile(rb"(?:[0-9A-F][0-9A-F])*\Z")


def _smallest_int_type(v: int) -> str | None:
    # htslib sam_parse1: smallest type that fits; signed only when negative
    if v < 0:
        if v >= -128:
            return "c"
        if v >= -32768:
            return "s"
        if v >= -(1 << 31):
            return "i"
        return None
    if v <= 255:
        return "C"
    if v <= 65535:
        return "S"
    if v <= 0xFFFFFFFF:
        return "I"
    return None


_LENIENT_FLOAT = re.compile(
    rb"[-+]?(?:0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][-+]?[0-9]+)?"
    rb"|inf(?:inity)?|nan|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?)", re.I)
_LENIENT_INT = re.compile(rb"[-+]?[0-9]+")


def _parse_float_lenient(s: bytes) -> float:
    # like C strtod as htslib uses it: longest valid prefix, 0 when none
    m = _LENIENT_FLOAT.match(s)
    if not m:
        return 0.0
    txt = m.group(0).decode("ascii")
    if "x" in txt.lower() and "n" not in txt.lower():
        sign = -1.0 if txt.startswith("-") else 1.0
        body = txt.lstrip("+-")
        try:
            return sign * float.fromhex(body)
        except (ValueError, OverflowError):
            return 0.0
    try:
        return float(txt)
    except ValueError:
        # e.g. "1e" or "1e+": strtod stops before the incomplete exponent
        m2 = re.match(r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)", txt)
        return float(m2.group(0)) if m2 else 0.0


def _parse_int_lenient(s: bytes) -> int:
    # like C strtol (base 10) without leading-space skipping: prefix, 0 when none
    m = _LENIENT_INT.match(s)
    return int(m.group(0)) if m else 0


def _to_f32(values) -> np.ndarray:
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        return np.asarray(values, dtype=np.float64).astype("<f4")


def aux_from_sam(fields, *, strict: bool = False, path=None, offset=None, line=None) -> bytes:
    """SAM ``TAG:TYPE:VALUE`` text fields -> BAM aux binary.

    Parameters
    ----------
    fields : list of bytes
        The optional fields of one SAM line (columns 12 onward), unsplit.
        Empty fields (a trailing tab) are skipped, as htslib does.
    strict : bool
        When true, enforce SAMv1 §1.5: tag ``[A-Za-z][A-Za-z0-9]`` and unique
        per record, ``A`` ``[!-~]``, ``i`` ``[-+]?[0-9]+`` within
        ``[-2^31, 2^32)``, ``f`` the spec float regex (no ``nan``/``inf``/``10.``),
        ``Z`` ``[ !-~]*``, ``H`` ``([0-9A-F][0-9A-F])*``, ``B`` elements of the
        declared subtype and range.  When false, accept what htslib 1.16
        accepts (``strtol``/``strtod`` prefixes, ``B`` arrays re-typed to fit).
    path, offset, line : optional
        Echoed into raised errors (``line`` is the 1-based SAM line number).

    Returns
    -------
    bytes
        BAM aux block.  ``i`` integers get the smallest BAM type that fits, as
        htslib does: non-negative -> ``C/S/I``, negative -> ``c/s/i``.

    Raises
    ------
    FormatError
        ``field`` set to the tag name (``'aux'`` when the field cannot be split).
    """
    where = f"line {line}: " if line is not None else ""
    out = []
    seen = set()
    for f in fields:
        f = bytes(f)
        if not f:
            continue
        if len(f) < 5 or f[2:3] != b":" or f[4:5] != b":":
            head = f.split(b":", 1)[0]
            fname = head.decode("latin-1") if 0 < len(head) <= 8 and len(head) < len(f) else "aux"
            raise FormatError(f"{where}malformed aux field {f[:40]!r}", path=path, offset=offset, field=fname)
        tag = f[:2]
        tname = tag.decode("latin-1")
        t = f[3:4]
        val = f[5:]

        def bad(msg, _t=tname):
            return FormatError(f"{where}aux {_t}: {msg}", path=path, offset=offset, field=_t)

        if strict:
            if not _TAG_RE.match(tag):
                raise bad("tag does not match [A-Za-z][A-Za-z0-9]")
            if tag in seen:
                raise bad("tag occurs more than once")
            seen.add(tag)
        if t == b"i":
            if not val:
                raise bad("empty integer")
            if _INT_RE.match(val):
                v = int(val)
            elif strict:
                raise bad(f"{val[:40]!r} is not an integer")
            else:
                v = _parse_int_lenient(val)
            it = _smallest_int_type(v)
            if it is None:
                raise bad(f"integer {v} out of range [-2^31, 2^32)")
            out.append(tag + it.encode() + _STRUCT[it].pack(v))
        elif t == b"A":
            if not val:
                raise bad("empty A value")
            if strict and not _A_RE.match(val):
                raise bad(f"A value {val[:40]!r} must be one printable character")
            out.append(tag + b"A" + val[:1])
        elif t == b"f":
            if not val:
                raise bad("empty float")
            if _FLOAT_RE.match(val):
                v = float(val)
            elif strict:
                raise bad(f"{val[:40]!r} is not a float")
            else:
                v = _parse_float_lenient(val)
            out.append(tag + b"f" + _to_f32([v]).tobytes())
        elif t == b"Z":
            if strict and not _Z_RE.match(val):
                raise bad("Z value has characters outside [ !-~]")
            if b"\x00" in val:
                raise bad("Z value contains NUL")
            out.append(tag + b"Z" + val + b"\x00")
        elif t == b"H":
            if len(val) % 2:
                raise bad("H value has an odd number of hex digits")
            if strict and not _H_RE.match(val):
                raise bad("H value must be hex digits [0-9A-F]")
            if b"\x00" in val:
                raise bad("H value contains NUL")
            out.append(tag + b"H" + val + b"\x00")
        elif t == b"B":
            out.append(tag + b"B" + _parse_b_array(val, strict, bad))
        else:
            raise bad(f"unknown type {t.decode('latin-1')!r}")
    return b"".join(out)


def _parse_b_array(val: bytes, strict: bool, bad) -> bytes:
    if not val:
        raise bad("B array has no subtype")
    sub = chr(val[0])
    if sub not in _ARRAY_TYPES:
        raise bad(f"B array has unknown subtype {sub!r}")
    rest = val[1:]
    if rest and rest[:1] != b",":
        raise bad("B array subtype must be followed by ','")
    items = rest[1:].split(b",") if rest else []
    if sub == "f":
        vals = []
        for s in items:
            if _FLOAT_RE.match(s):
                vals.append(float(s))
            elif strict:
                raise bad(f"B:f element {s[:40]!r} is not a float")
            else:
                vals.append(_parse_float_lenient(s))
        arr = _to_f32(vals)
        return b"f" + _U32.pack(len(arr)) + arr.tobytes()
    _, _, lo, hi = INT_TYPES[sub]
    vals = []
    for s in items:
        if _INT_RE.match(s):
            iv = int(s)
        elif strict:
            raise bad(f"B:{sub} element {s[:40]!r} is not an integer")
        else:
            iv = _parse_int_lenient(s)
        if not -(1 << 31) <= iv <= 0xFFFFFFFF:
            raise bad(f"B:{sub} element {iv} out of range")
        vals.append(iv)
    if vals:
        mn, mx = min(vals), max(vals)
        if mn < lo or mx > hi:
            if strict:
                raise bad(f"B:{sub} element out of range [{lo}, {hi}]")
            # htslib 1.16 re-types the array so that every value fits
            if lo == 0 and mn < 0 and mx <= hi:
                vals = [max(v, 0) for v in vals]
            else:
                sub = _smallest_array_type(mn, mx)
                if sub is None:
                    raise bad("B array values do not fit one integer type")
    arr = np.asarray(vals, dtype=np.int64).astype(_ARRAY_TYPES[sub])
    return sub.encode() + _U32.pack(len(arr)) + arr.tobytes()


def _smallest_array_type(mn: int, mx: int) -> str | None:
    order = ("c", "s", "i") if mn < 0 else ("C", "S", "I")
    for t in order:
        _, _, lo, hi = INT_TYPES[t]
        if lo <= mn and mx <= hi:
            return t
    return None
