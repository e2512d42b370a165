"""BCF 2.2: binary variant records in BGZF (VCFv4.3 §6).

Reading is batch-vectorised.  One cheap pass walks the ``l_shared`` /
``l_indiv`` chain to find record starts; the 24 fixed bytes of every record
(CHROM, POS, rlen, QUAL, n_info/n_allele, n_fmt/n_sample) come out of one
numpy gather.  The typed values that follow (§6.3.3) are read *across
records*: step ``k`` reads the ``k``-th descriptor of every record that has
one with a few array operations (:func:`.bcf_types.read_descriptors`), so the
Python work grows with the number of fields, not the number of records.
Values of one INFO/FORMAT key are then grouped by stored layout (type, count)
and each group is decoded with one gather and one reshape; GT, one typed int8
vector per sample stored back to back, becomes the whole
``(variants, samples, ploidy)`` matrix that way.

Layout of one record (§6.3.1)::

    l_shared u32   l_indiv u32
    shared:  CHROM i32  POS u32 (0-based)  rlen i32  QUAL f32
             n_info u16  n_allele u16  n_sample u24  n_fmt u8
             ID (typed str)  n_allele x allele (typed str)  FILTER (typed ints)
             n_info x (key typed int, value typed)
    indiv:   n_fmt x (key typed int, descriptor, n_sample x count values)

Writing (:class:`BcfWriter`) encodes each record field with htslib's choice of
the smallest integer type, writes ``IDX=`` on every dictionary line of the
header as htslib does, and cuts BGZF blocks at record boundaries.
"""
from __future__ import annotations

import functools
import struct
from typing import Callable, Iterable, Iterator

import numpy as np

from ...bgzf import BgzfReader, RecordFileWriter, RecordStream, split_voffset
from ...errors import FormatError, HtsError, LimitExceededError, RegionError, TruncatedFileError, format_offset
from . import bcf_types as bt
from .batch import (FLOAT32_FILL, FLOAT32_MISSING, INT_FILL, INT_MISSING, STR_FILL, STR_MISSING, LazyFields,
                    VariantBatch, key_list_texts)
from .header import VariantHeader, parse_structured

__all__ = [
    "BCF_MAGIC",
    "read_bcf_header",
    "encode_bcf_header",
    "bcf_header_text",
    "decode_bcf_records",
    "iter_bcf_batches",
    "read_bcf",
    "query_bcf",
    "encode_bcf_records",
    "BcfWriter",
]

#: VCFv4.3 §6.1: "BCF" then major 2, minor 2
BCF_MAGIC = b"BCF\x02\x02"
#: l_shared + l_indiv + the six fixed shared words
FIXED_SIZE = 32
_U32 = struct.Struct("<I")
_LENS = struct.Struct("<II")
_FIXED_DTYPE = np.dtype(
    {
        "names": ["l_shared", "l_indiv", "chrom", "pos", "rlen", "qual", "n_info", "n_allele", "n_sample_fmt"],
        "formats": ["<u4", "<u4", "<i4", "<u4", "<i4", "<u4", "<u2", "<u2", "<u4"],
        "offsets": [0, 4, 8, 12, 16, 20, 24, 26, 28],
        "itemsize": FIXED_SIZE,
    }
)
_POS_TELOMERE = 0xFFFFFFFF  # htslib reads POS as u32; all ones means -1 (MT:0)
_MAX_POS = 0xFFFFFFFE
_SCAN_CHUNK = 8 << 20

# one-character strings for the common single-byte alleles
_CHAR_STR = np.array([chr(i) if i < 128 else bytes([i]).decode("utf-8", "surrogateescape") for i in range(256)]
                     + [None], dtype=object)[:-1]


# ---------------------------------------------------------------- header
def read_bcf_header(reader: BgzfReader) -> tuple[VariantHeader, int]:
    """Read the BCF header (VCFv4.3 §6.2: magic, ``l_text``, NUL-terminated text).

    Parameters
    ----------
    reader : BgzfReader
        Open reader; it is repositioned to virtual offset 0 first.

    Returns
    -------
    header : VariantHeader
        Parsed from the text (``IDX=`` attributes give the dictionaries).
    first_record : int
        Virtual offset of the first record.

    Raises
    ------
    FormatError
        Bad magic (BCF 2.1 and other versions are refused), an ``l_text``
        larger than the file can hold, or a header that does not parse.
    TruncatedFileError
        The file ends inside the header.
    """
    path = reader.path
    reader.seek(0)
    magic = reader.read(5)
    if magic != BCF_MAGIC:
        if len(magic) < 5:
            raise TruncatedFileError(f"BCF magic needs 5 bytes, file has {len(magic)}", path=path, offset=0,
                                     field="magic", virtual=True)
        if magic[:3] == b"BCF":
            raise FormatError(f"BCF version {magic[3]}.{magic[4]} is not supported (only 2.2)", path=path,
                              offset=0, field="magic", virtual=True)
        raise FormatError(f"bad BCF magic {magic!r}", path=path, offset=0, field="magic", virtual=True)
    l_text, _ = reader.read_length("l_text", "BCF", signed=False)
    voff = reader.tell()
    raw = reader.read_exact(l_text, "header text")
    text = raw.split(b"\x00", 1)[0]
    try:
        header = VariantHeader.parse(text, path=path)
    except HtsError:
        raise
    except Exception as e:  # the header parser must not leak builtins
        raise FormatError(f"BCF header text does not parse: {e}", path=path, offset=voff, field="header",
                          virtual=True) from None
    return header, reader.tell()


def _with_idx(line: str, idx: int) -> str:
    body = line.rstrip()
    if not body.endswith(">"):
        return line
    return body[:-1] + f",IDX={idx}>"


def bcf_header_text(header: VariantHeader) -> str:
    """Header text as htslib writes it into BCF (VCFv4.3 §6.2.1).

    Parameters
    ----------
    header : VariantHeader

    Returns
    -------
    str
        ``header.to_text(include_undeclared=True, add_pass=True)`` with
        ``,IDX=n`` appended to every FILTER/INFO/FORMAT line (string
        dictionary) and ``##contig`` line (contig dictionary) that lacks one.
        Text readers drop ``IDX`` again (``bcftools view`` prints none).
    """
    text = header.to_text(include_undeclared=True, add_pass=True)
    out = []
    for line in text.split("\n"):
        for key in ("FILTER", "INFO", "FORMAT", "contig"):
            pre = f"##{key}=<"
            if line.startswith(pre):
                attrs, _ = parse_structured(line[len(pre) - 1:])
                if "IDX" not in attrs and "ID" in attrs:
                    if key == "contig":
                        c = header.contigs.get(attrs["ID"])
                        if c is not None:
                            line = _with_idx(line, c.idx)
                    elif attrs["ID"] in header.string_ids:
                        line = _with_idx(line, header.string_ids[attrs["ID"]])
                break
        out.append(line)
    return "\n".join(out)


def encode_bcf_header(header: VariantHeader) -> bytes:
    """The bytes of a BCF header (VCFv4.3 §6.2).

    Returns
    -------
    bytes
        ``BCF\\2\\2``, ``l_text`` (u32, the NUL included) and the text of
        :func:`bcf_header_text` followed by one NUL.
    """
    text = bcf_header_text(header).encode("utf-8", "surrogateescape") + b"\x00"
    return BCF_MAGIC + _U32.pack(len(text)) + text


# ---------------------------------------------------------------- helpers
class _Dicts:
    """Lookup tables from BCF dictionary numbers to header entries (cached per header)."""

    def __init__(self, header: VariantHeader):
        sd = header.string_dictionary()
        self.strings = sd
        names = header.contig_names
        cd = header.contig_dictionary()
        pos = {n: i for i, n in enumerate(names)}
        self.contig = np.array([pos[n] for n in cd], dtype=np.int64)
        self.filter_ids = header.filter_ids
        fpos = {f: i for i, f in enumerate(self.filter_ids)}
        self.filter_col = np.array([fpos.get(s, -1) if s else -1 for s in sd] + [-1], dtype=np.int64)
        self.n_strings = len(sd)


_DICT_CACHE: dict[int, tuple[object, _Dicts]] = {}


def _dicts(header: VariantHeader) -> _Dicts:
    key = id(header)
    hit = _DICT_CACHE.get(key)
    sig = (len(header.string_ids), len(header.contigs), len(header.filters))
    if hit is not None and hit[0] == (header, sig):
        return hit[1]
    d = _Dicts(header)
    if len(_DICT_CACHE) > 64:
        _DICT_CACHE.clear()
    _DICT_CACHE[key] = ((header, sig), d)
    return d


def _ragged_strings(u8: np.ndarray, pos: np.ndarray, lens: np.ndarray, empty: str = "") -> np.ndarray:
    """Python strings of the byte ranges ``u8[pos:pos+len]`` (NUL-terminated inside), object (m,)."""
    m = len(pos)
    out = np.empty(m, dtype=object)
    if m == 0:
        return out
    out[:] = empty
    one = lens == 1
    if one.any():
        out[one] = _CHAR_STR[u8[pos[one]]]
        nul = one & (u8[np.minimum(pos, len(u8) - 1)] == 0)
        out[nul] = empty
    many = np.flatnonzero(lens > 1)
    if many.size:
        p = pos[many]
        ln = lens[many]
        offs = np.zeros(len(many) + 1, dtype=np.int64)
        np.cumsum(ln, out=offs[1:])
        idx = np.repeat(p - offs[:-1], ln) + np.arange(int(offs[-1]), dtype=np.int64)
        buf = u8[idx].tobytes()
        ol = offs.tolist()
        try:
            text = buf.decode("ascii")
            vals = [text[ol[i]:ol[i + 1]] for i in range(len(many))]
        except UnicodeDecodeError:
            vals = [buf[ol[i]:ol[i + 1]].decode("utf-8", "surrogateescape") for i in range(len(many))]
        if "\x00" in buf.decode("latin-1"):
            vals = [v.split("\x00", 1)[0] for v in vals]
        arr = np.empty(len(vals), dtype=object)
        arr[:] = vals
        arr[arr == ""] = empty
        out[many] = arr
    return out


def _split_strings(strs: np.ndarray, width: int | None = None) -> np.ndarray:
    """Split comma-joined strings into a trailing axis padded with ``''``; '' / '.' -> ['.']."""
    flat = strs.ravel()
    parts = [s.split(",") if s else [STR_FILL] for s in flat.tolist()]
    k = max((len(p) for p in parts), default=1)
    if width is not None:
        k = max(k, width)
    out = np.empty((len(parts), max(k, 1)), dtype=object)
    out.fill(STR_FILL)
    for i, p in enumerate(parts):
        out[i, :len(p)] = p
    return out.reshape(strs.shape + (out.shape[1],))


_GT_ALLELE = np.zeros(256, dtype=np.int64)
_GT_PHASE = np.zeros(256, dtype=bool)
for _b in range(256):
    _v = _b - 256 if _b >= 128 else _b
    if _v == bt.INT_EOV[bt.BT_INT8]:
        _GT_ALLELE[_b] = INT_FILL
        _GT_PHASE[_b] = True  # a fill slot has no separator: does not break phasing
    elif _v < 0:
        _GT_ALLELE[_b] = INT_MISSING
    else:
        _GT_ALLELE[_b] = (_v >> 1) - 1
        _GT_PHASE[_b] = bool(_v & 1)
_GT_ALLELE8 = _GT_ALLELE.astype(np.int8)


def _decode_gt(raw: np.ndarray, typ: int) -> tuple[np.ndarray, np.ndarray]:
    """GT typed values (m, s, p) -> (alleles with -1/-2, phased (m, s)); VCFv4.3 §6.3.3 GT encoding.

    A value ``v >= 0`` is ``(allele + 1) << 1 | phased``; ``v >> 1 == 0`` is a missing allele.  The
    end-of-vector value is odd, so it counts as phased (a shorter call has no separator there).
    """
    if typ == bt.BT_INT8:
        alleles = (raw >> 1) - np.int8(1)
        neg = raw < 0
        if neg.any():
            alleles[neg] = np.where(raw[neg] == bt.INT_EOV[typ], INT_FILL, INT_MISSING)
        bits = raw & np.int8(1)
    else:
        v = raw.astype(np.int64)
        lo = bt.INT_MIN_VALUE[typ]
        alleles = np.where(v < lo, INT_MISSING, (v >> 1) - 1)
        eov = v == bt.INT_EOV[typ]
        alleles[eov] = INT_FILL
        bits = ((v & 1) == 1) | eov
        alleles = alleles.astype(np.int16 if typ == bt.BT_INT16 else np.int32)
    if raw.shape[2] <= 1:
        phased = np.ones(raw.shape[:2], dtype=bool)
    elif raw.shape[2] == 2:
        phased = bits[:, :, 1].astype(bool)
    else:
        phased = bits[:, :, 1:].astype(bool).all(axis=2)
    return alleles, phased


def _type_name(t: int) -> str:
    return {0: "missing", 1: "int8", 2: "int16", 3: "int32", 5: "float", 7: "char"}.get(int(t), f"code {int(t)}")


# ---------------------------------------------------------------- decode
def _walk(data, start: int, stop: int, limit: int | None) -> tuple[list, int, int]:
    """Walk the l_shared/l_indiv chain: (record starts, position after last whole record, bad start or -1)."""
    unpack = _LENS.unpack_from
    starts: list = []
    append = starts.append
    p = start
    last = stop - 8
    count = 0
    while p <= last:
        ls, li = unpack(data, p)
        if ls < 24:
            return starts, p, p
        q = p + 8 + ls + li
        if q > stop:
            break
        append(p)
        p = q
        count += 1
        if limit is not None and count >= limit:
            break
    return starts, p, -1


def decode_bcf_records(
    data,
    start: int = 0,
    header: VariantHeader | None = None,
    *,
    samples=None,
    path=None,
    final: bool = False,
    stop: int | None = None,
    voffset_of: Callable[[int], int] | None = None,
    first_record: int = 0,
    max_records: int | None = None,
    info_fields: Iterable[str] | None = None,
    format_fields: Iterable[str] | None = None,
) -> tuple[VariantBatch, np.ndarray, int]:
    """Decode all whole BCF records in ``data[start:stop]`` (VCFv4.3 §6.3).

    Parameters
    ----------
    data : bytes-like
        Inflated BCF data (records only, the header already skipped).
    start, stop : int
        Byte range (``stop`` defaults to ``len(data)``).
    header : VariantHeader
        The file's header (dictionaries, field types, samples).
    samples : sequence of str or int, optional
        Keep only these samples (names or indices, in the order given); the
        other samples' bytes are never read.
    path : str, optional
        For error messages.
    final : bool
        ``data`` ends at the end of the file: an incomplete trailing record
        raises :class:`TruncatedFileError` instead of being left unconsumed.
    voffset_of : callable, optional
        Maps a position in ``data`` to a BGZF virtual offset (messages).
    first_record : int
        Number of the first record (messages).
    max_records : int, optional
        Stop after this many records.
    info_fields, format_fields : iterable of str, optional
        Decode only these INFO / FORMAT keys (``GT`` included in FORMAT);
        ``None`` decodes all.  Skipped keys are still bounds-checked.

    Returns
    -------
    batch : VariantBatch
        ``contig`` (int32, header order), ``position`` (int64, 1-based; POS
        is stored as u32, so up to 2**32 - 1), ``stop`` (int64, ``POS-1+rlen``),
        ``genotype`` (int8 unless a record needs wider alleles; shape
        (n, s, max ploidy), -1 missing, -2 fill), ``phased`` (n, s), INFO and
        FORMAT arrays as documented in :mod:`.batch`.
    record_starts : ndarray of int64, shape (n,)
        Position of each record's ``l_shared`` in ``data``.
    consumed : int
        Position just past the last decoded record.

    Raises
    ------
    FormatError
        ``l_shared < 24``, typed values that run past their section, invalid
        type codes, dictionary keys that are not in the header, a CHROM outside
        the contig dictionary, a FORMAT block whose ``n_sample`` differs from
        the header.
    TruncatedFileError
        ``final`` and the data ends inside a record.
    """
    if header is None:
        raise TypeError("decode_bcf_records needs the file's header")
    if stop is None:
        stop = len(data)
    starts_list, consumed, bad_at = _walk(data, start, stop, max_records)

    def where(p: int) -> tuple[int, bool]:
        if voffset_of is not None:
            return int(voffset_of(p)), True
        return p, False

    def fail(i: int, msg: str, field: str, cls=FormatError):
        off, virt = where(int(starts_list[i]) if i < len(starts_list) else consumed)
        raise cls(f"bcf record {first_record + i} at {format_offset(off, virt)}: {msg}", path=path, offset=off,
                  field=field, virtual=virt)

    if bad_at >= 0:
        ls = _LENS.unpack_from(data, bad_at)[0]
        off, virt = where(bad_at)
        raise FormatError(f"bcf record {first_record + len(starts_list)} at {format_offset(off, virt)}: "
                          f"l_shared={ls} is below the 24-byte minimum", path=path, offset=off,
                          field="l_shared", virtual=virt)
    if final and consumed < stop and (max_records is None or len(starts_list) < max_records):
        left = stop - consumed
        off, virt = where(consumed)
        if left < 8:
            msg = f"{left} bytes left, too few for l_shared/l_indiv"
        else:
            ls, li = _LENS.unpack_from(data, consumed)
            msg = f"l_shared={ls} + l_indiv={li} but only {left - 8} bytes follow"
        raise TruncatedFileError(f"bcf record {first_record + len(starts_list)} at {format_offset(off, virt)}: "
                                 f"{msg} (file truncated)", path=path, offset=off, field="l_shared", virtual=virt)

    dic = _dicts(header)
    all_samples = list(header.samples)
    n_hdr_samples = len(all_samples)
    if samples is None:
        sel = None
        out_samples = all_samples
    else:
        names = list(samples)
        if names and isinstance(names[0], str):
            pos_of = {s: i for i, s in enumerate(all_samples)}
            unknown = [s for s in names if s not in pos_of]
            if unknown:
                raise RegionError(f"unknown sample(s): {', '.join(unknown[:5])}", path=path, field="samples")
            sel = np.array([pos_of[s] for s in names], dtype=np.int64)
        else:
            sel = np.asarray(names, dtype=np.int64).reshape(-1)
            if sel.size and (sel.min() < 0 or sel.max() >= n_hdr_samples):
                raise RegionError("sample index outside the header's samples", path=path, field="samples")
        out_samples = [all_samples[i] for i in sel]
    n_out = len(out_samples)

    n = len(starts_list)
    rs = np.array(starts_list, dtype=np.int64)
    if n == 0:
        return VariantBatch.empty(filter_ids=dic.filter_ids, samples=out_samples), rs, consumed
    u8 = np.frombuffer(data, dtype=np.uint8)
    fixed = np.ascontiguousarray(bt.gather_rows(u8, rs, FIXED_SIZE)).view(_FIXED_DTYPE).reshape(n)
    l_shared = fixed["l_shared"].astype(np.int64)
    l_indiv = fixed["l_indiv"].astype(np.int64)
    shared_end = rs + 8 + l_shared
    indiv_end = shared_end + l_indiv
    n_info = fixed["n_info"].astype(np.int64)
    n_allele = fixed["n_allele"].astype(np.int64)
    nsf = fixed["n_sample_fmt"].astype(np.int64)
    n_sample = nsf & 0xFFFFFF
    n_fmt = nsf >> 24
    n_fmt[(l_indiv == 0) | (n_sample == 0)] = 0  # as htslib: no FORMAT without samples/bytes

    # every allele needs >= 1 byte, every INFO pair >= 3, every FORMAT entry >= 3: refuse counts the
    # section lengths cannot hold before any per-count work
    room = l_shared - 24
    for arr, per, what in ((n_allele, 1, "n_allele"), (n_info, 3, "n_info")):
        bad = arr * per > room
        if bad.any():
            i = int(np.argmax(bad))
            fail(i, f"{what}={arr[i]} cannot fit in l_shared={l_shared[i]}", "allele" if what == "n_allele" else "INFO")
    bad = n_fmt * 3 > l_indiv
    if bad.any():
        i = int(np.argmax(bad))
        fail(i, f"n_fmt={n_fmt[i]} cannot fit in l_indiv={l_indiv[i]}", "FORMAT")
    chrom = fixed["chrom"].astype(np.int64)
    bad = (chrom < 0) | (chrom >= len(dic.contig))
    if bad.any():
        i = int(np.argmax(bad))
        fail(i, f"CHROM={chrom[i]} outside the {len(dic.contig)} contigs of the header", "CHROM")
    contig = dic.contig[chrom].astype(np.int32)
    pos_raw = fixed["pos"].astype(np.int64)
    pos0 = np.where(pos_raw == _POS_TELOMERE, -1, pos_raw)
    rlen = fixed["rlen"].astype(np.int64)
    quality = fixed["qual"].view(np.float32).astype(np.float32)

    def check(bad_codes: np.ndarray, rec: np.ndarray, what: str, field: str):
        if bad_codes.any():
            j = int(np.argmax(bad_codes != 0))
            fail(int(rec[j]), f"{what}: {bt.DESCRIPTOR_PROBLEMS[int(bad_codes[j])]}", field)

    allr = np.arange(n, dtype=np.int64)
    # -- ID ----------------------------------------------------------------
    p = rs + FIXED_SIZE
    typ, cnt, dpos, nb, badc = bt.read_descriptors(u8, p, shared_end)
    check(badc, allr, "ID", "ID")
    wrong = (typ != bt.BT_CHAR) & ~((typ == bt.BT_NULL) & (cnt == 0))
    if wrong.any():
        i = int(np.argmax(wrong))
        fail(i, f"ID has type {_type_name(typ[i])}, expected char", "ID")
    ids = _ragged_strings(u8, dpos, nb, empty=STR_MISSING)
    p = dpos + nb
    # -- alleles -----------------------------------------------------------
    allele_offset = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(n_allele, out=allele_offset[1:])
    m_all = int(allele_offset[-1])
    a_pos = np.zeros(m_all, dtype=np.int64)
    a_len = np.zeros(m_all, dtype=np.int64)
    max_na = int(n_allele.max())
    for k in range(max_na):
        act = np.flatnonzero(n_allele > k) if k else allr[n_allele > 0]
        typ, cnt, dpos, nb, badc = bt.read_descriptors(u8, p[act], shared_end[act])
        check(badc, act, f"allele {k}", "allele")
        wrong = typ != bt.BT_CHAR
        if wrong.any() and not ((typ == bt.BT_NULL) & (cnt == 0) | ~wrong).all():
            j = int(np.argmax(wrong & ~((typ == bt.BT_NULL) & (cnt == 0))))
            fail(int(act[j]), f"allele {k} has type {_type_name(typ[j])}, expected char", "allele")
        slot = allele_offset[act] + k
        a_pos[slot] = dpos
        a_len[slot] = nb
        p[act] = dpos + nb
    allele = _ragged_strings(u8, a_pos, a_len, empty="")
    # -- FILTER ------------------------------------------------------------
    typ, cnt, dpos, nb, badc = bt.read_descriptors(u8, p, shared_end)
    check(badc, allr, "FILTER", "FILTER")
    wrong = (cnt > 0) & (typ != bt.BT_INT8) & (typ != bt.BT_INT16) & (typ != bt.BT_INT32)
    if wrong.any():
        i = int(np.argmax(wrong))
        fail(i, f"FILTER has type {_type_name(typ[i])}, expected an integer type", "FILTER")
    filter_missing = cnt == 0
    filters = np.zeros((n, len(dic.filter_ids)), dtype=bool)
    width = bt.TYPE_WIDTH[typ]
    max_nf = int(cnt.max()) if n else 0
    for k in range(max_nf):
        act = np.flatnonzero(cnt > k)
        val = bt._gather_le(u8, dpos[act] + k * width[act], width[act])
        col = dic.filter_col[np.clip(val, -1, dic.n_strings)]
        badf = col < 0
        if badf.any():
            j = int(np.argmax(badf))
            fail(int(act[j]), f"FILTER key {val[j]} is not a FILTER of the header", "FILTER")
        filters[act, col] = True
    p = dpos + nb
    # -- INFO: one key/value pair per record per step --------------------------
    e_rec, e_key, e_typ, e_cnt, e_pos = [], [], [], [], []
    max_ni = int(n_info.max())
    for k in range(max_ni):
        act = np.flatnonzero(n_info > k)
        key, kpos = _read_keys(u8, p[act], shared_end[act], act, "INFO", fail)
        typ, cnt, dpos, nb, badc = bt.read_descriptors(u8, kpos, shared_end[act])
        check(badc, act, f"INFO value {k}", "INFO")
        e_rec.append(act), e_key.append(key), e_typ.append(typ), e_cnt.append(cnt), e_pos.append(dpos)
        p[act] = dpos + nb
    info, info_present, info_keys = _decode_info(u8, n, header, dic, e_rec, e_key, e_typ, e_cnt, e_pos,
                                                 info_fields, fail)
    # -- FORMAT --------------------------------------------------------------
    has_fmt = n_fmt > 0
    bad = has_fmt & (n_sample != n_hdr_samples)
    if bad.any():
        i = int(np.argmax(bad))
        fail(i, f"n_sample={n_sample[i]} but the header has {n_hdr_samples} samples", "n_sample")
    p = shared_end.copy()
    f_rec, f_key, f_typ, f_cnt, f_pos = [], [], [], [], []
    max_nfmt = int(n_fmt.max())
    for k in range(max_nfmt):
        act = np.flatnonzero(n_fmt > k)
        end = indiv_end[act]
        key, kpos = _read_keys(u8, p[act], end, act, "FORMAT", fail)
        typ, cnt, dpos, nb, badc = bt.read_descriptors(u8, kpos, end)
        check(badc, act, f"FORMAT field {k}", "FORMAT")
        total = nb * n_hdr_samples
        over = dpos + total > end
        if over.any():
            j = int(np.argmax(over))
            fail(int(act[j]), f"FORMAT field {k}: {n_hdr_samples} samples x {cnt[j]} values of type "
                 f"{_type_name(typ[j])} run past l_indiv", "l_indiv")
        f_rec.append(act), f_key.append(key), f_typ.append(typ), f_cnt.append(cnt), f_pos.append(dpos)
        p[act] = dpos + total
    fmt, genotype, phased, format_keys = _decode_format(
        u8, n, header, dic, f_rec, f_key, f_typ, f_cnt, f_pos, sel, n_hdr_samples, n_out, format_fields, fail)
    # -- stop ------------------------------------------------------------------
    if (rlen < 0).any():  # htslib repairs a negative rlen from the REF length
        neg = rlen < 0
        ref_len = np.zeros(n, dtype=np.int64)
        has = n_allele > 0
        ref_len[has] = a_len[allele_offset[:-1][has]]
        rlen = np.where(neg, ref_len, rlen)
    batch = VariantBatch(
        contig=contig, position=pos0 + 1, stop=pos0 + rlen, id=ids, allele=allele, allele_offset=allele_offset,
        quality=quality, filters=filters, filter_ids=dic.filter_ids, filter_missing=filter_missing,
        info=info, info_present=info_present, format=fmt, format_keys=format_keys, genotype=genotype,
        phased=phased, samples=out_samples)
    # records that store INFO keys in different orders: keep each record's order for the writer
    # (``'DP;AF'`` per record; None when every record agrees with ``batch.info`` order)
    batch.info_keys = info_keys
    return batch, rs, consumed


def _read_keys(u8, pos, end, act, what, fail):
    """Typed-int dictionary keys at ``pos`` (one per entry): (key, position after it)."""
    b = u8[np.minimum(pos, len(u8) - 1)].astype(np.int64)
    typ = b & 15
    w = bt.TYPE_WIDTH[typ]
    ok = (pos < end) & ((b >> 4) == 1) & ((typ == bt.BT_INT8) | (typ == bt.BT_INT16) | (typ == bt.BT_INT32))
    ok &= pos + 1 + w <= end
    if not ok.all():
        j = int(np.argmax(~ok))
        fail(int(act[j]), f"{what} key is not a typed integer inside the record", what)
    key = bt._gather_le(u8, pos + 1, w)
    return key, pos + 1 + w


def _concat(parts, dtype=np.int64):
    return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)


def _key_groups(e_key):
    """Sorted entry index per dictionary key."""
    if not len(e_key):
        return {}
    order = np.argsort(e_key, kind="stable")
    ks = e_key[order]
    cuts = np.flatnonzero(np.diff(ks)) + 1
    return {int(ks[g[0]]): order[g] for g in np.split(np.arange(len(ks)), cuts)}


def _layout_groups(typ, cnt):
    code = typ * (1 << 40) + cnt
    uniq, inv = np.unique(code, return_inverse=True)
    for u_i, u in enumerate(uniq.tolist()):
        yield int(u >> 40), int(u & ((1 << 40) - 1)), np.flatnonzero(inv == u_i)


def _stored_order(e_rec, e_key) -> list:
    """Dictionary keys ordered as the records store them (a topological merge of every record's order).

    ``e_rec[k]`` / ``e_key[k]`` are the records and keys of step ``k`` (the k-th pair of each record).
    Keys that no record orders relative to each other keep the order of their first step, then key.
    """
    first: dict = {}
    for k, keys in enumerate(e_key):
        for x in np.unique(keys).tolist():
            first.setdefault(x, k)
    edges: dict = {x: set() for x in first}
    indeg = dict.fromkeys(first, 0)
    for k in range(len(e_key) - 1):
        nxt_rec, nxt_key = e_rec[k + 1], e_key[k + 1]
        if not len(nxt_rec):
            continue
        prev = e_key[k][np.searchsorted(e_rec[k], nxt_rec)]
        codes = np.unique((prev << 32) | (nxt_key & 0xFFFFFFFF)).tolist()
        for code in codes:
            a, b = code >> 32, code & 0xFFFFFFFF
            if a != b and b not in edges[a]:
                edges[a].add(b)
                indeg[b] += 1
    import heapq

    heap = [(first[x], x) for x in first if indeg[x] == 0]
    heapq.heapify(heap)
    out = []
    while heap:
        _, x = heapq.heappop(heap)
        out.append(x)
        for y in edges[x]:
            indeg[y] -= 1
            if indeg[y] == 0:
                heapq.heappush(heap, (first[y], y))
    if len(out) < len(first):  # records disagree (a cycle): the rest by first appearance
        done = set(out)
        out += sorted((x for x in first if x not in done), key=lambda x: (first[x], x))
    return out


def _decode_info(u8, n, header, dic, e_rec, e_key, e_typ, e_cnt, e_pos, only, fail):
    rec, key, typ, cnt, pos = (_concat(x) for x in (e_rec, e_key, e_typ, e_cnt, e_pos))
    info, present = {}, {}
    only = None if only is None else set(only)
    groups = _key_groups(key)
    for k, idx in groups.items():  # validate every key before anything uses it
        name = dic.strings[k] if 0 <= k < dic.n_strings else ""
        if not name or name not in header.info:
            fail(int(rec[idx[0]]), f"INFO key {k} ({name or 'not in the dictionary'}) is not an INFO "
                 "field of the header", "INFO")
    if only is not None and not only:  # nothing to decode
        return info, present, None
    order = _stored_order(e_rec, e_key) if len(groups) > 1 else list(groups)
    keys_text = _info_keys_text(n, dic, e_rec, e_key, order)
    for k in order:
        idx = groups[k]
        name = dic.strings[k] if 0 <= k < dic.n_strings else ""
        fd = header.info.get(name) if name else None
        if fd is None:
            fail(int(rec[idx[0]]), f"INFO key {k} ({name or 'not in the dictionary'}) is not an INFO field "
                 "of the header", "INFO")
        if only is not None and name not in only:
            continue
        r = rec[idx]
        pres = np.zeros(n, dtype=bool)
        pres[r] = True
        present[name] = pres
        if fd.type == "Flag":
            info[name] = pres.copy()
            continue
        t, c, ps = typ[idx], cnt[idx], pos[idx]
        scalar = fd.number == "1"
        if fd.type in ("String", "Character"):
            strs = np.empty(n, dtype=object)
            strs.fill(STR_MISSING)
            for gt_, gc, g in _layout_groups(t, c):
                if gt_ == bt.BT_CHAR and gc > 0:
                    vals = bt.decode_char_block(u8, ps[g], gc)[:, 0]
                    vals[vals == ""] = STR_MISSING
                elif gt_ in (bt.BT_NULL, bt.BT_CHAR):
                    vals = STR_FILL  # key without a value ("KEY" in the VCF text)
                else:
                    fail(int(r[g[0]]), f"INFO/{name} is Type={fd.type} but stored as {_type_name(gt_)}", "INFO")
                strs[r[g]] = vals
            info[name] = strs if scalar else _split_strings(strs)
            continue
        is_float = fd.type == "Float"
        kmax = max(int(c.max()), 1)
        dtype = np.float32 if is_float else np.int32
        _check_alloc(n * kmax * 4, len(u8), f"INFO/{name}", fail, int(r[np.argmax(c)]))
        out = np.full((n, kmax), FLOAT32_FILL if is_float else INT_FILL, dtype=dtype)
        out[:, 0] = FLOAT32_MISSING if is_float else INT_MISSING
        for gt_, gc, g in _layout_groups(t, c):
            if gc == 0 or gt_ == bt.BT_NULL:
                out[r[g], 0] = FLOAT32_FILL if is_float else INT_FILL  # key without a value: all fill
                continue
            if gt_ in bt.INT_TYPES:
                vals = bt.decode_int_block(u8, ps[g], gt_, gc)[:, 0, :]
                if is_float:
                    vals = _ints_as_floats(vals)
            elif gt_ == bt.BT_FLOAT:
                if not is_float:
                    fail(int(r[g[0]]), f"INFO/{name} is Type=Integer but stored as float", "INFO")
                vals = bt.decode_float_block(u8, ps[g], gc)[:, 0, :]
            else:
                fail(int(r[g[0]]), f"INFO/{name} is Type={fd.type} but stored as {_type_name(gt_)}", "INFO")
            out[r[g], :gc] = vals
        info[name] = out[:, 0].copy() if scalar else out
    return info, present, keys_text


def _info_keys_text(n, dic, e_rec, e_key, order):
    """Per-record INFO key order (``'DP;AF'``) when records disagree with ``order``; else None."""
    if len(order) < 2:
        return None
    lut_keys = np.array(order, dtype=np.int64)
    lut_rank = np.arange(len(order), dtype=np.int64)
    sorter = np.argsort(lut_keys)

    def ranks(keys):
        return lut_rank[sorter[np.searchsorted(lut_keys, keys, sorter=sorter)]]

    consistent = True
    for k in range(len(e_key) - 1):
        if not len(e_rec[k + 1]):
            continue
        prev = e_key[k][np.searchsorted(e_rec[k], e_rec[k + 1])]
        if (ranks(prev) >= ranks(e_key[k + 1])).any():
            consistent = False
            break
    if consistent:
        return None
    parts = [[] for _ in range(n)]
    for recs, keys in zip(e_rec, e_key):
        for r, kk in zip(recs.tolist(), keys.tolist()):
            parts[r].append(dic.strings[kk])
    out = np.empty(n, dtype=object)
    out[:] = [";".join(p) for p in parts]
    return out


#: padded value arrays may grow past the data (one long vector widens the whole batch) up to this
_ALLOC_FLOOR = 256 << 20


def _check_alloc(nbytes: int, data_len: int, what: str, fail, rec: int) -> None:
    """Refuse a padded array far larger than the bytes it is decoded from (LimitExceededError)."""
    if nbytes > max(_ALLOC_FLOOR, 16 * data_len):
        fail(rec, f"{what}: padding every record to this record's vector length needs {nbytes} bytes; "
             "decode with a smaller batch_size", what.split("/")[0], LimitExceededError)


def _ints_as_floats(vals):
    f = vals.astype(np.float32)
    f[vals == INT_MISSING] = FLOAT32_MISSING
    f[vals == INT_FILL] = FLOAT32_FILL
    return f


def _decode_format(u8, n, header, dic, f_rec, f_key, f_typ, f_cnt, f_pos, sel, ns, n_out, only, fail):
    rec, key, typ, cnt, pos = (_concat(x) for x in (f_rec, f_key, f_typ, f_cnt, f_pos))
    only = None if only is None else set(only)
    genotype = None
    phased = np.zeros((n, n_out), dtype=bool)
    # FORMAT column text: keys in stored order
    key_names = {}
    groups = _key_groups(key)
    for k, idx in groups.items():
        name = dic.strings[k] if 0 <= k < dic.n_strings else ""
        if not name or name not in header.format:
            fail(int(rec[idx[0]]), f"FORMAT key {k} ({name or 'not in the dictionary'}) is not a FORMAT field "
                 "of the header", "FORMAT")
        key_names[k] = name
    format_keys = np.empty(n, dtype=object)
    format_keys.fill("")
    if len(rec):
        # one row of keys per record (step order), then one text per distinct row
        mat = np.full((n, len(f_rec)), -1, dtype=np.int64)
        for step, (rr, kk) in enumerate(zip(f_rec, f_key)):
            mat[rr, step] = kk
        format_keys = key_list_texts(mat, lambda ks: ":".join(key_names[k] for k in ks))
    pending = {}
    for k, idx in groups.items():
        name = key_names[k]
        if only is not None and name not in only:
            continue
        if name == "GT":
            r, t, c, ps = rec[idx], typ[idx], cnt[idx], pos[idx]
            genotype, phased = _decode_gt_field(u8, n, r, t, c, ps, sel, ns, n_out, fail)
            continue
        # the other FORMAT fields are decoded when first read (a genotype scan never builds them)
        pending[name] = functools.partial(_decode_format_field, u8, n, header.format[name], name,
                                          rec[idx], typ[idx], cnt[idx], pos[idx], sel, ns, n_out, fail)
    fmt = LazyFields(pending=pending)
    if genotype is None:
        genotype = np.full((n, n_out, 0), INT_FILL, dtype=np.int8)
    return fmt, genotype, phased, format_keys


def _decode_format_field(u8, n, fd, name, r, t, c, ps, sel, ns, n_out, fail) -> np.ndarray:
    """One non-GT FORMAT field of a batch: (n, samples) or (n, samples, max count) (VCFv4.3 §6.3.3)."""
    scalar = fd.number == "1"
    if fd.type in ("String", "Character"):
        strs = np.empty((n, n_out), dtype=object)
        strs.fill(STR_MISSING)
        for gt_, gc, g in _layout_groups(t, c):
            if gt_ == bt.BT_CHAR:
                cols = bt.sample_columns(sel, ns, gc)
                vals = bt.decode_char_block(u8, ps[g], gc, n_out, cols)
                vals[vals == ""] = STR_MISSING
            elif gt_ == bt.BT_NULL or gc == 0:
                vals = STR_MISSING
            else:
                fail(int(r[g[0]]), f"FORMAT/{name} is Type={fd.type} but stored as {_type_name(gt_)}", "FORMAT")
            strs[r[g]] = vals
        return strs if scalar else _split_strings(strs)
    if fd.type not in ("Integer", "Float"):
        fail(int(r[0]), f"FORMAT/{name} has Type={fd.type}", "FORMAT")
    is_float = fd.type == "Float"
    kmax = max(int(c.max()), 1)
    dtype = np.float32 if is_float else np.int32
    _check_alloc(n * n_out * kmax * 4, len(u8), f"FORMAT/{name}", fail, int(r[np.argmax(c)]))
    out = np.full((n, n_out, kmax), FLOAT32_FILL if is_float else INT_FILL, dtype=dtype)
    out[:, :, 0] = FLOAT32_MISSING if is_float else INT_MISSING
    for gt_, gc, g in _layout_groups(t, c):
        if gc == 0 or gt_ == bt.BT_NULL:
            continue
        w = int(bt.TYPE_WIDTH[gt_])
        cols = bt.sample_columns(sel, ns, gc * w)
        if gt_ in bt.INT_TYPES:
            vals = bt.decode_int_block(u8, ps[g], gt_, gc, n_out, cols)
            if is_float:
                vals = _ints_as_floats(vals)
        elif gt_ == bt.BT_FLOAT:
            if not is_float:
                fail(int(r[g[0]]), f"FORMAT/{name} is Type=Integer but stored as float", "FORMAT")
            vals = bt.decode_float_block(u8, ps[g], gc, n_out, cols)
        else:
            fail(int(r[g[0]]), f"FORMAT/{name} is Type={fd.type} but stored as {_type_name(gt_)}", "FORMAT")
        out[r[g], :, :gc] = vals
    return out[:, :, 0].copy() if scalar else out


def _gather_blocks(u8: np.ndarray, dpos: np.ndarray, nbytes: int, sel, ns: int, per_sample: int) -> np.ndarray:
    """Bytes of ``len(dpos)`` blocks of ``nbytes`` each, shape (m, n_out * per_sample), samples selected."""
    raw = bt.gather_rows(u8, dpos, nbytes)
    m = len(dpos)
    if sel is not None:
        return raw.reshape(m, ns, per_sample)[:, sel].reshape(m, -1)
    return np.ascontiguousarray(raw)


def _decode_gt_field(u8, n, r, t, c, ps, sel, ns, n_out, fail):
    groups = list(_layout_groups(t, c))
    for gt_, gc, g in groups:
        if gt_ not in bt.INT_TYPES and not (gt_ == bt.BT_NULL or gc == 0):
            fail(int(r[g[0]]), f"FORMAT/GT stored as {_type_name(gt_)}, expected an integer type", "GT")
    wide = max((gt_ for gt_, gc, g in groups if gt_ in bt.INT_TYPES), default=bt.BT_INT8)
    dtype = {bt.BT_INT8: np.int8, bt.BT_INT16: np.int16, bt.BT_INT32: np.int32}[wide]
    pmax = max((gc for gt_, gc, g in groups if gt_ in bt.INT_TYPES), default=0)
    if len(groups) == 1 and len(r) == n and groups[0][0] in bt.INT_TYPES and np.array_equal(r, np.arange(n)):
        gt_, gc, g = groups[0]  # every record shares one layout: one gather, one reshape
        w = int(bt.TYPE_WIDTH[gt_])
        raw = _gather_blocks(u8, ps, ns * gc * w, sel, ns, gc * w)
        raw = raw.view(bt._INT_DTYPE[gt_]).reshape(n, n_out, gc)
        return _decode_gt(raw, gt_)
    _check_alloc(n * n_out * pmax * np.dtype(dtype).itemsize, len(u8), "FORMAT/GT", fail, int(r[np.argmax(c)]))
    genotype = np.full((n, n_out, pmax), INT_FILL, dtype=dtype)
    phased = np.zeros((n, n_out), dtype=bool)
    if pmax:
        genotype[:, :, 0] = INT_MISSING
    for gt_, gc, g in groups:
        if gc == 0 or gt_ == bt.BT_NULL:
            continue
        w = int(bt.TYPE_WIDTH[gt_])
        raw = _gather_blocks(u8, ps[g], ns * gc * w, sel, ns, gc * w)
        raw = raw.view(bt._INT_DTYPE[gt_]).reshape(len(g), n_out, gc)
        a, ph = _decode_gt(raw, gt_)
        genotype[r[g], :, :gc] = a
        phased[r[g]] = ph
    return genotype, phased


# ---------------------------------------------------------------- streaming
def _open(target) -> BgzfReader:
    return target if isinstance(target, BgzfReader) else BgzfReader(target)


def iter_bcf_batches(path, batch_size: int = 50_000, *, samples=None, info_fields=None, format_fields=None,
                     header: VariantHeader | None = None, chunk_bytes: int = _SCAN_CHUNK) -> Iterator[VariantBatch]:
    """Stream a whole BCF in file order, at most ``batch_size`` records per batch.

    Parameters
    ----------
    path : str, path-like, file object or BgzfReader
    batch_size : int
    samples, info_fields, format_fields
        As in :func:`decode_bcf_records`.
    header : VariantHeader, optional
        Already-read header (skips re-reading it).
    chunk_bytes : int
        Compressed bytes inflated at a time (the next range is inflated in a
        background thread while the current one is decoded).

    Yields
    ------
    VariantBatch

    Raises
    ------
    FormatError, TruncatedFileError
        As :func:`read_bcf_header` and :func:`decode_bcf_records`; a file
        that ends inside a record always raises.
    """
    reader = _open(path)
    try:
        hdr, first = read_bcf_header(reader)
        header = header or hdr
        yield from _scan(reader, header, first, batch_size, samples, info_fields, format_fields, chunk_bytes)
    finally:
        if reader is not path:
            reader.close()


def _bcf_record_size(head: bytes) -> int | None:
    """Total bytes of the BCF record starting with ``l_shared``/``l_indiv`` (None when ``l_shared`` < 24)."""
    l_shared = int.from_bytes(head[:4], "little")
    l_indiv = int.from_bytes(head[4:8], "little")
    return None if l_shared < 24 else 8 + l_shared + l_indiv


def _scan(reader, header, first, batch_size, samples, info_fields, format_fields, chunk_bytes):
    """Yield batches of the whole file from virtual offset ``first`` (VCFv4.3 §6.3).

    Chunks come from the shared :class:`~hts_notebook.core.bgzf.RecordStream`
    (next range inflated in the background; records never split).
    """
    rec_no = 0
    stream = RecordStream(reader, first, head_size=8, record_size=_bcf_record_size, chunk_bytes=chunk_bytes)
    for chunk in stream:
        pos = chunk.start
        while True:
            batch, starts, consumed = decode_bcf_records(
                chunk.data, pos, header, samples=samples, path=reader.path, final=chunk.final,
                voffset_of=chunk.voffset, first_record=rec_no, max_records=batch_size, info_fields=info_fields,
                format_fields=format_fields)
            rec_no += len(batch)
            if len(batch):
                yield batch
            pos = consumed
            if len(batch) < batch_size:
                break
        chunk.consumed = pos


def read_bcf(path, *, samples=None, info_fields=None, format_fields=None,
             batch_size: int = 200_000) -> tuple[VariantHeader, VariantBatch]:
    """Read a whole BCF into one batch (VCFv4.3 §6).

    Parameters
    ----------
    path : str, path-like, file object or BgzfReader
    samples, info_fields, format_fields
        As in :func:`decode_bcf_records`.
    batch_size : int
        Records decoded at a time before the batches are concatenated.

    Returns
    -------
    header : VariantHeader
    batch : VariantBatch
        Every record, file order (an empty batch for a file without records).

    Raises
    ------
    FormatError, TruncatedFileError, LimitExceededError
        As :func:`iter_bcf_batches`.
    """
    from .batch import concat

    reader = _open(path)
    try:
        header, first = read_bcf_header(reader)
        batches = list(_scan(reader, header, first, batch_size, samples, info_fields, format_fields, _SCAN_CHUNK))
    finally:
        if reader is not path:
            reader.close()
    if not batches:
        names = header.samples if samples is None else [
            s if isinstance(s, str) else header.samples[s] for s in samples]
        return header, VariantBatch.empty(filter_ids=header.filter_ids, samples=names)
    return header, concat(batches)


def query_bcf(path, contig: str, start: int, stop: int, *, index=None, header: VariantHeader | None = None,
              samples=None, info_fields=None, format_fields=None) -> VariantBatch:
    """Records overlapping ``[start, stop)`` (0-based half-open) of ``contig``, via the CSI index.

    A record overlaps when its ``[POS-1, stop)`` intersects the window
    (zero-length records at ``start`` included, as htslib does).

    Parameters
    ----------
    path : str or path-like
    contig : str
    start, stop : int
    index : BinningIndex or path, optional
        Defaults to ``path + '.csi'``.

    Raises
    ------
    RegionError
        Unknown contig.
    MissingIndexError
        No index.
    """
    from ...index import read_csi
    from ...index.model import BinningIndex
    from .batch import concat

    reader = _open(path)
    try:
        hdr, _ = read_bcf_header(reader)
        header = header or hdr
        if contig not in header.contigs:
            raise RegionError(f"unknown contig {contig!r}", path=reader.path, field="contig")
        if index is None:
            index = str(path) + ".csi"
        if not isinstance(index, BinningIndex):
            import os

            if not os.path.exists(str(index)):
                from ...errors import MissingIndexError

                raise MissingIndexError(f"no index {index}", path=reader.path, field="index")
            index = read_csi(index)
        rid = header.contigs[contig].idx
        want = header.contig_index(contig)
        out = []
        for beg, end in index.query_chunks(rid, start, stop):
            cb, ub = split_voffset(beg)
            ce, ue = split_voffset(end)
            rng = reader.inflate_range(cb, ce + 1)
            a = rng.position(beg)
            b = rng.position(end) if ce < rng.end_coffset else len(rng.data)
            batch, starts, consumed = decode_bcf_records(
                rng.data, a, header, stop=b, samples=samples, path=reader.path, final=True,
                voffset_of=lambda q, rng=rng: int(rng.voffsets([q])[0]), info_fields=info_fields,
                format_fields=format_fields)
            if len(batch):
                s0 = batch.position - 1
                end = np.maximum(batch.stop, s0 + 1)  # a zero-length record covers its POS
                keep = (batch.contig == want) & (end > start) & (s0 < stop)
                out.append(batch.take(np.flatnonzero(keep)))
    finally:
        if reader is not path:
            reader.close()
    if not out:
        names = header.samples if samples is None else list(samples)
        return VariantBatch.empty(filter_ids=header.filter_ids, samples=names)
    return concat(out)


# ---------------------------------------------------------------- encode
_INT_STORE = {bt.BT_INT8: np.dtype("<i1"), bt.BT_INT16: np.dtype("<i2"), bt.BT_INT32: np.dtype("<i4")}


def _row_counts(vals: np.ndarray, fill_mask: np.ndarray) -> np.ndarray:
    """Per leading-axis row: index just past the last non-fill value of the trailing axis (max over middle axes)."""
    k = vals.shape[-1]
    nonfill = ~fill_mask
    last = np.where(nonfill.any(axis=-1), k - np.argmax(nonfill[..., ::-1], axis=-1), 0)
    while last.ndim > 1:
        last = last.max(axis=-1)
    return last


def _int_types(vals: np.ndarray) -> np.ndarray:
    """htslib's smallest type per leading row.

    htslib takes min/max over the real values only; the in-memory sentinels
    (-1 missing, -2 fill) lie inside the int8 range, so including them never
    changes the choice and a plain min/max suffices.
    """
    n = vals.shape[0]
    flat = vals.reshape(n, -1)
    if flat.shape[1] == 0:
        return np.full(n, bt.BT_INT8, dtype=np.int64)
    lo = flat.min(axis=1).astype(np.int64)
    hi = flat.max(axis=1).astype(np.int64)
    if (lo < bt.INT_MIN_VALUE[bt.BT_INT32]).any() or (hi > bt.INT_MAX_VALUE[bt.BT_INT32]).any():
        raise LimitExceededError("integer value outside the BCF int32 range", field="value")
    t = np.full(n, bt.BT_INT32, dtype=np.int64)
    t[(lo >= bt.INT_MIN_VALUE[bt.BT_INT16]) & (hi <= bt.INT_MAX_VALUE[bt.BT_INT16])] = bt.BT_INT16
    t[(lo >= bt.INT_MIN_VALUE[bt.BT_INT8]) & (hi <= bt.INT_MAX_VALUE[bt.BT_INT8])] = bt.BT_INT8
    return t


def _stored_ints(vals: np.ndarray, typ: int) -> np.ndarray:
    out = vals.astype(_INT_STORE[typ])
    out[vals == INT_MISSING] = bt.INT_MISSING[typ]
    out[vals == INT_FILL] = bt.INT_EOV[typ]
    return out


def _enc_int_field(vals: np.ndarray, rows: np.ndarray, scalar_one: bool) -> dict:
    """Encode integer values of records ``rows``; vals (m, [s,] k). Returns {row: bytes}."""
    out = {}
    if not len(rows):
        return out
    counts = _row_counts(vals, vals == INT_FILL)
    empty = counts == 0  # INFO key without a value
    counts = np.maximum(counts, 1)
    types = _int_types(vals)
    sizes = {}
    for t in np.unique(types).tolist():
        g = np.flatnonzero(types == t)
        st = _stored_ints(vals[g], t)
        for j, i in enumerate(g.tolist()):
            c = int(counts[i])
            if scalar_one and empty[i]:
                out[int(rows[i])] = b"\x00"
                continue
            if scalar_one and vals.ndim == 2 and c == 1:
                head = bytes([0x10 | t])
            else:
                key = (c, t)
                head = sizes.get(key)
                if head is None:
                    head = sizes[key] = bt.encode_size(c, t)
            out[int(rows[i])] = head + st[j, ..., :c].tobytes()
    return out


def _enc_float_field(vals: np.ndarray, rows: np.ndarray, info: bool = False) -> dict:
    out = {}
    if not len(rows):
        return out
    v = np.ascontiguousarray(vals, dtype=np.float32)
    counts = _row_counts(v, v.view(np.uint32) == bt.FLOAT_EOV_BITS)
    empty = counts == 0
    counts = np.maximum(counts, 1)
    le = v.astype("<f4")
    heads = {}
    for i in range(len(rows)):
        c = int(counts[i])
        if info and empty[i]:
            out[int(rows[i])] = b"\x00"  # INFO key without a value
            continue
        head = heads.get(c)
        if head is None:
            head = heads[c] = bt.encode_size(c, bt.BT_FLOAT)
        out[int(rows[i])] = head + le[i, ..., :c].tobytes()
    return out


def _join_str(v, scalar: bool) -> str:
    """One value's text: vectors comma-joined without fill; '' when there is no value at all."""
    if scalar:
        return v
    return ",".join([x for x in v if x != STR_FILL])


def _gt_stored(alleles: np.ndarray, phased: np.ndarray) -> np.ndarray:
    """Genotype alleles (m, s, p) and phasing (m, s) -> int64 GT encoding with -2 for end of vector."""
    a = alleles.astype(np.int64)
    bit = np.zeros(a.shape, dtype=np.int64)
    if a.shape[2] > 1:
        bit[:, :, 1:] = phased[:, :, None]
    enc = ((a + 1) << 1) | bit
    enc[a == INT_MISSING] = bit[a == INT_MISSING]
    enc[a == INT_FILL] = INT_FILL
    return enc


def encode_bcf_records(batch: VariantBatch, header: VariantHeader) -> tuple[bytes, np.ndarray]:
    """Encode the records of ``batch`` as BCF 2.2 (VCFv4.3 §6.3), htslib's type choices.

    Parameters
    ----------
    batch : VariantBatch
        Its ``samples`` must be the header's samples; INFO keys are written in
        ``batch.info`` order, FORMAT keys in each record's ``format_keys`` order.
    header : VariantHeader
        Gives the dictionaries (``string_ids``, contig ``idx``) and field types.

    Returns
    -------
    data : bytes
    sizes : ndarray of int64, shape (n,)
        Byte size of each record.

    Raises
    ------
    FormatError
        A key, filter or contig not in the header; samples that differ from
        the header's.
    LimitExceededError
        POS beyond 2**32 - 2, an rlen or integer outside int32.
    """
    n = len(batch)
    if n == 0:
        return b"", np.zeros(0, dtype=np.int64)
    if list(batch.samples) != list(header.samples):
        raise FormatError("batch samples differ from the header's samples", field="samples")
    ns = len(header.samples)
    contigs = list(header.contigs.values())
    cidx = np.array([c.idx for c in contigs], dtype=np.int64)
    if batch.contig.min() < 0 or batch.contig.max() >= len(contigs):
        raise FormatError("contig index outside the header's contigs", field="CHROM")
    rid = cidx[batch.contig]
    pos0 = batch.position.astype(np.int64) - 1
    if pos0.min() < -1 or pos0.max() > _MAX_POS:
        raise LimitExceededError("POS outside the BCF range 0..4294967295", field="POS")
    rlen = batch.stop.astype(np.int64) - pos0
    if rlen.min() < -(1 << 31) or rlen.max() >= (1 << 31):
        raise LimitExceededError("rlen outside int32", field="rlen")
    pos_u = np.where(pos0 < 0, _POS_TELOMERE, pos0)
    qual = np.ascontiguousarray(batch.quality, dtype=np.float32).view(np.uint32)
    sid = header.string_ids
    # -- ID, alleles, FILTER --------------------------------------------------
    enc_chars = bt.encode_chars
    ids = [b"\x07" if s == STR_MISSING or s == "" else enc_chars(s) for s in batch.id.tolist()]
    na = batch.n_allele.astype(np.int64)
    allele_bytes = [enc_chars(a) for a in batch.allele.tolist()]
    aoff = batch.allele_offset.tolist()
    fcodes = []
    for f in batch.filter_ids:
        if f not in sid or f not in header.filters:
            raise FormatError(f"FILTER {f} is not in the header", field="FILTER")
        fcodes.append(sid[f])
    fcodes = np.array(fcodes, dtype=np.int64)
    filt = []
    fm = batch.filter_missing.tolist()
    for i in range(n):
        if fm[i]:
            filt.append(b"\x00")
        else:
            on = fcodes[batch.filters[i]]
            filt.append(bt.encode_ints(on) if len(on) else b"\x00")
    # -- INFO -----------------------------------------------------------------
    info_cols = {}  # name -> (key bytes, {row: bytes})
    n_info = np.zeros(n, dtype=np.int64)
    for name, arr in batch.info.items():
        fd = header.info.get(name)
        if fd is None or name not in sid:
            raise FormatError(f"INFO/{name} is not in the header", field="INFO")
        pres = np.asarray(batch.info_present.get(name, np.ones(n, bool)), dtype=bool)
        rows = np.flatnonzero(pres)
        if not len(rows):
            continue
        keyb = bt.encode_int1(sid[name])
        if fd.type == "Flag":
            col = {int(r): b"\x00" for r in rows}
        elif fd.type in ("String", "Character"):
            scalar = arr.ndim == 1
            col = {}
            for r in rows.tolist():
                text = _join_str(arr[r], scalar)
                col[r] = enc_chars(text) if text else b"\x00"  # '' = key without a value
        elif fd.type == "Float":
            v = arr[rows]
            col = _enc_float_field(v if v.ndim == 2 else v[:, None], rows, info=True)
        else:
            v = arr[rows]
            col = _enc_int_field(v if v.ndim == 2 else v[:, None], rows, True)
        n_info[rows] += 1
        info_cols[name] = (keyb, col)
    info_keys = getattr(batch, "info_keys", None)
    info_keys = info_keys.tolist() if info_keys is not None and len(info_keys) == n else None
    default_order = list(info_cols.values())
    # -- FORMAT ---------------------------------------------------------------
    fkeys = batch.format_keys.tolist()
    uniq = {}
    for i, fk in enumerate(fkeys):
        if fk:
            uniq.setdefault(fk, []).append(i)
    fmt_enc = {}  # name -> {row: bytes}
    used = {}
    for fk, rows in uniq.items():
        for name in fk.split(":"):
            used.setdefault(name, []).extend(rows)
    for name, rows in used.items():
        fd = header.format.get(name)
        if fd is None or name not in sid:
            raise FormatError(f"FORMAT/{name} is not in the header", field="FORMAT")
        rows = np.array(sorted(rows), dtype=np.int64)
        if name == "GT":
            g = batch.genotype[rows]
            if g.shape[2] == 0:
                g = np.full((len(rows), ns, 1), INT_MISSING, dtype=np.int64)
            enc = _gt_stored(g, batch.phased[rows])
            col = _enc_int_field(enc, rows, False)
        else:
            arr = batch.format.get(name)
            if arr is None:
                raise FormatError(f"FORMAT/{name} is listed in format_keys but has no values", field="FORMAT")
            v = arr[rows]
            if fd.type in ("String", "Character"):
                scalar = v.ndim == 2
                col = {}
                for j, r in enumerate(rows.tolist()):
                    strs = [(_join_str(v[j, s], scalar) or STR_MISSING).encode("utf-8", "surrogateescape")
                            for s in range(ns)]
                    w = max((len(s) for s in strs), default=1)
                    col[r] = bt.encode_size(w, bt.BT_CHAR) + b"".join(s.ljust(w, b"\x00") for s in strs)
            elif fd.type == "Float":
                col = _enc_float_field(v if v.ndim == 3 else v[:, :, None], rows)
            else:
                col = _enc_int_field(v if v.ndim == 3 else v[:, :, None], rows, False)
        fmt_enc[name] = (bt.encode_int1(sid[name]), col)
    # -- assemble ---------------------------------------------------------------
    pack = struct.Struct("<IIiIiIHHI").pack
    parts = []
    sizes = np.zeros(n, dtype=np.int64)
    for i in range(n):
        sh = [ids[i]]
        sh.extend(allele_bytes[aoff[i]:aoff[i + 1]])
        sh.append(filt[i])
        order = default_order if info_keys is None or not info_keys[i] else \
            [info_cols[k] for k in info_keys[i].split(";") if k in info_cols]
        for keyb, col in order:
            b = col.get(i)
            if b is not None:
                sh.append(keyb)
                sh.append(b)
        shared = b"".join(sh)
        if fkeys[i]:
            names = fkeys[i].split(":")
            ind = b"".join(fmt_enc[k][0] + fmt_enc[k][1][i] for k in names)
            nf = len(names)
        else:
            ind, nf = b"", 0
        if na[i] > 0xFFFF or n_info[i] > 0xFFFF or nf > 0xFF:
            raise LimitExceededError(f"record {i}: too many alleles, INFO or FORMAT fields for BCF", field="n_allele")
        head = pack(24 + len(shared), len(ind), int(rid[i]), int(pos_u[i]), int(rlen[i]), int(qual[i]),
                    int(n_info[i]), int(na[i]), ns | (nf << 24))
        rec = head + shared + ind
        parts.append(rec)
        sizes[i] = len(rec)
    return b"".join(parts), sizes


class BcfWriter(RecordFileWriter):
    """Write a BCF 2.2 file: header, records in batches, BGZF EOF marker (VCFv4.3 §6).

    Parameters
    ----------
    target : path or binary file object
    header : VariantHeader
        Written with ``IDX=`` on every FILTER/INFO/FORMAT/contig line and a
        PASS line, as htslib writes BCF headers.
    level : int
        DEFLATE level (0-9).

    Notes
    -----
    The header ends its own BGZF block and blocks are cut at record
    boundaries whenever a record fits in one block, so ``bcftools index``
    gives record-aligned chunks.
    """

    def _encode_header(self, header: VariantHeader) -> bytes:
        return encode_bcf_header(header)

    def _encode_records(self, batch: VariantBatch):
        return encode_bcf_records(batch, self.header)
