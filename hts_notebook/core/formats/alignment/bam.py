"""BAM: binary alignment records in BGZF (SAMv1 §4.2).

Reading is batch-vectorised: one cheap pass walks the ``block_size`` chain to
find record starts, then every fixed field is gathered with a single numpy
fancy index over a ``uint8`` view, and every ragged field (read name, CIGAR,
sequence, qualities, aux) with one gather over concatenated ranges.

Writing builds the records of a whole batch in one buffer the same way (a
scatter instead of a gather) and hands it to :class:`BgzfWriter`, cutting BGZF
blocks at record boundaries where a record fits in a block (as htslib does).

Layout of one record (SAMv1 §4.2, offsets from the ``block_size`` field)::

    0 block_size i32   4 refID i32      8 pos i32      12 l_read_name u8
   13 mapq u8         14 bin u16       16 n_cigar_op u16  18 flag u16
   20 l_seq u32       24 next_refID i32 28 next_pos i32  32 tlen i32
   36 read_name[l_read_name] cigar[n_cigar_op] u32  seq[(l_seq+1)/2]  qual[l_seq]  aux...
"""
from __future__ import annotations

import struct
from typing import Callable

import numpy as np

from ...bgzf import BgzfReader, RecordFileWriter
from ...errors import FormatError, LimitExceededError, TruncatedFileError, format_offset
from .bam_starts import find_record_starts, sequential_record_starts
from .batch import REF_CONSUMING, AlignmentBatch, LazyAlignmentBatch, ragged_take, row_block
from .header import AlignmentHeader

__all__ = [
    "BAM_MAGIC",
    "read_bam_header",
    "encode_bam_header",
    "decode_records",
    "encode_records",
    "reference_end",
    "compute_bin",
    "BamWriter",
]

#: SAMv1 §4.2 magic string
BAM_MAGIC = b"BAM\x01"
#: bytes of the fixed part of a record, ``block_size`` included
FIXED_SIZE = 36
_VOID_FIXED = np.dtype((np.void, FIXED_SIZE))
#: BAM stores positions and lengths as int32
_INT32_MAX = (1 << 31) - 1

# structured view of the 36 fixed bytes (SAMv1 §4.2)
_FIXED_DTYPE = np.dtype(
    {
        "names": ["block_size", "ref_id", "pos", "l_read_name", "mapq", "bin", "n_cigar_op", "flag",
                  "l_seq", "next_ref_id", "next_pos", "tlen"],
        "formats": ["<i4", "<i4", "<i4", "u1", "u1", "<u2", "<u2", "<u2", "<i4", "<i4", "<i4", "<i4"],
        "offsets": [0, 4, 8, 12, 13, 14, 16, 18, 20, 24, 28, 32],
        "itemsize": FIXED_SIZE,
    }
)
_I32 = struct.Struct("<i")
_U32 = struct.Struct("<I")
_AUX_FIXED = {ord("A"): 1, ord("c"): 1, ord("C"): 1, ord("s"): 2, ord("S"): 2, ord("i"): 4, ord("I"): 4, ord("f"): 4}
_CIG_S, _CIG_N = 4, 3


# ---------------------------------------------------------------- header
def read_bam_header(reader: BgzfReader) -> tuple[AlignmentHeader, int]:
    """Read the BAM header (SAMv1 §4.2: magic, text, reference list).

    Parameters
    ----------
    reader : BgzfReader
        Open reader; it is repositioned to virtual offset 0 first.

    Returns
    -------
    header : AlignmentHeader
        Header text (NUL padding stripped; when the text has no ``@SQ`` lines
        they are synthesised from the binary list, as htslib does) and the
        binary reference list ``[(name, length), ...]``.
    first_record : int
        Virtual offset of the first alignment record.

    Raises
    ------
    FormatError
        Bad magic, negative or implausible ``l_text`` / ``n_ref`` /
        ``l_name`` / ``l_ref``, names without NUL terminator.
    TruncatedFileError
        The header runs past the end of the data.
    """
    path = reader.path
    reader.seek(0)
    magic = reader.read(4)
    if magic != BAM_MAGIC:
        if len(magic) < 4:
            raise TruncatedFileError(f"BAM magic needs 4 bytes, file has {len(magic)}", path=path, offset=0, field="magic")
        raise FormatError(f"bad BAM magic {magic!r}", path=path, offset=0, field="magic", virtual=True)
    bound = reader.inflated_bound()

    def read_int(field: str, signed: bool = True) -> tuple[int, int]:
        voff = reader.tell()
        raw = reader.read_exact(4, field)
        return (_I32 if signed else _U32).unpack(raw)[0], voff

    l_text, _ = reader.read_length("l_text", "BAM")
    raw_text = reader.read_exact(l_text, "text")
    text = raw_text.split(b"\x00", 1)[0].decode("utf-8", "surrogateescape")
    n_ref, voff = read_int("n_ref")
    if n_ref < 0 or n_ref * 9 > bound:
        raise FormatError(f"BAM n_ref={n_ref} is impossible for a file of {reader.size} bytes",
                          path=path, offset=voff, field="n_ref", virtual=True)
    refs = []
    for i in range(n_ref):
        l_name, voff = read_int("l_name")
        if l_name < 1 or l_name > bound:
            raise FormatError(f"BAM reference {i}: l_name={l_name} (must be >= 1)", path=path, offset=voff,
                              field="l_name", virtual=True)
        name = reader.read_exact(l_name, "name")
        if name[-1] != 0:
            raise FormatError(f"BAM reference {i}: name is not NUL-terminated", path=path, offset=voff,
                              field="name", virtual=True)
        l_ref, voff = read_int("l_ref")
        if l_ref < 0:
            raise FormatError(f"BAM reference {i}: l_ref={l_ref} is negative", path=path, offset=voff,
                              field="l_ref", virtual=True)
        refs.append((name[:-1].split(b"\x00", 1)[0].decode("utf-8", "surrogateescape"), l_ref))
    first = reader.tell()
    if refs and not any(line.startswith("@SQ") for line in text.splitlines()):
        # htslib fills @SQ from the binary list when the text has none
        if text and not text.endswith("\n"):
            text += "\n"
        text += "".join(f"@SQ\tSN:{n}\tLN:{ln}\n" for n, ln in refs)
    return AlignmentHeader(text, refs), first


def encode_bam_header(header: AlignmentHeader) -> bytes:
    """The bytes of a BAM header (magic, text, references), SAMv1 §4.2."""
    text = header.text.encode("utf-8", "surrogateescape")
    parts = [BAM_MAGIC, _I32.pack(len(text)), text, _I32.pack(len(header.references))]
    for name, length in header.references:
        nb = str(name).encode("utf-8", "surrogateescape") + b"\x00"
        parts += [_I32.pack(len(nb)), nb, _I32.pack(int(length))]
    return b"".join(parts)


# ---------------------------------------------------------------- helpers
def _ragged_index(starts: np.ndarray, lens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flat indices of the ranges ``[starts[i], starts[i] + lens[i])`` and their (n+1,) offsets."""
    offsets = np.zeros(len(lens) + 1, dtype=np.int64)
    np.cumsum(lens, out=offsets[1:])
    total = int(offsets[-1])
    if total == 0:
        return np.zeros(0, dtype=np.int64), offsets
    idx = np.repeat(starts - offsets[:-1], lens) + np.arange(total, dtype=np.int64)
    return idx, offsets


def _take_ranges(u8: np.ndarray, starts: np.ndarray, lens: np.ndarray) -> np.ndarray:
    """Concatenate ``u8[starts[i]:starts[i]+lens[i]]`` (any order, any overlap).

    Records of equal length are copied as rows of a strided view (one row
    copy per record, much faster than per-byte index arrays); short-read
    files have one or a few distinct lengths.  Many distinct lengths (long
    reads: few records) are gathered slice by slice.
    """
    n = len(starts)
    if n == 0:
        return np.zeros(0, dtype=np.uint8)
    starts = np.asarray(starts, dtype=np.int64)
    lens = np.asarray(lens, dtype=np.int64)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lens, out=offsets[1:])
    total = int(offsets[-1])
    out = np.empty(total, dtype=np.uint8)
    if total == 0:
        return out
    uniq = np.unique(lens)
    if len(uniq) > 32:
        for s, e, o in zip(starts.tolist(), (starts + lens).tolist(), offsets[:-1].tolist()):
            out[o: o + e - s] = u8[s:e]
        return out
    for length in uniq.tolist():
        if length == 0:
            continue
        if len(uniq) == 1:
            return row_block(u8, starts, length).reshape(-1)
        sel = np.flatnonzero(lens == length)
        dst = np.ndarray(buffer=out, dtype=np.uint8, shape=(total - length + 1, length), strides=(1, 1))
        dst[offsets[sel]] = row_block(u8, starts[sel], length)
    return out


def reference_end(pos: np.ndarray, flag: np.ndarray, cigar: np.ndarray, cigar_offsets: np.ndarray) -> np.ndarray:
    """0-based exclusive reference end of each alignment (htslib ``bam_endpos``).

    ``pos`` + the summed lengths of M/D/N/=/X operations; ``pos + 1`` when the
    read is unmapped (flag 0x4) or no operation consumes the reference.

    Returns
    -------
    ndarray of int64, shape (n,)
    """
    pos = np.asarray(pos, dtype=np.int64)
    ops = cigar & 15
    lens = (cigar >> 4).astype(np.int64)
    lens[~REF_CONSUMING[ops]] = 0
    cs = np.zeros(len(lens) + 1, dtype=np.int64)
    np.cumsum(lens, out=cs[1:])
    rlen = cs[cigar_offsets[1:]] - cs[cigar_offsets[:-1]]
    rlen[(np.asarray(flag) & 4) != 0] = 0
    rlen[rlen == 0] = 1
    return pos + rlen


def compute_bin(beg: np.ndarray, end: np.ndarray) -> np.ndarray:
    """BAI bin (``reg2bin(beg, end, 14, 5)``, SAMv1 §5.3), truncated to uint16 as htslib stores it."""
    try:
        from ...index.binning import reg2bin  # index helper's shared implementation
    except ImportError:  # pragma: no cover - until the index package lands
        reg2bin = _reg2bin
    out = np.asarray(reg2bin(np.asarray(beg, dtype=np.int64), np.asarray(end, dtype=np.int64)), dtype=np.int64)
    return (out & 0xFFFF).astype(np.uint16)


def _reg2bin(beg, end, min_shift: int = 14, depth: int = 5):
    beg = np.asarray(beg, dtype=np.int64)
    end = np.asarray(end, dtype=np.int64) - 1
    out = np.zeros(np.broadcast(beg, end).shape, dtype=np.int64)
    done = np.zeros(out.shape, dtype=bool)
    s, t = min_shift, ((1 << depth * 3) - 1) // 7
    for level in range(depth, 0, -1):
        hit = ~done & ((beg >> s) == (end >> s))
        out[hit] = (t + (beg >> s))[hit] if out.ndim else t + (beg >> s)
        done |= hit
        s += 3
        t -= 1 << ((level - 1) * 3)
    return out


def _scan_aux_tag(blob: bytes, tag: bytes) -> tuple[int, int, int] | None:
    """Find ``tag`` in one record's aux bytes: ``(field_start, field_end, type)`` or None."""
    p, n = 0, len(blob)
    while p + 3 <= n:
        t, typ = blob[p:p + 2], blob[p + 2]
        q = p + 3
        if typ in _AUX_FIXED:
            q += _AUX_FIXED[typ]
        elif typ in (ord("Z"), ord("H")):
            z = blob.find(b"\x00", q)
            if z < 0:
                return None
            q = z + 1
        elif typ == ord("B"):
            if q + 5 > n:
                return None
            sub = blob[q]
            size = _AUX_FIXED.get(sub)
            if size is None or sub == ord("A"):
                return None
            q += 5 + size * _U32.unpack_from(blob, q + 1)[0]
        else:
            return None
        if q > n:
            return None
        if t == tag:
            return p, q, typ
        p = q
    return None


# ---------------------------------------------------------------- decode
def decode_records(
    data,
    start: int = 0,
    *,
    stop: int | None = None,
    path=None,
    voffset_of: Callable[[int], int] | None = None,
    final: bool = False,
    n_ref: int | None = None,
    first_record: int = 0,
    max_records: int | None = None,
    record_starts: tuple | None = None,
) -> tuple[AlignmentBatch, np.ndarray, int]:
    """Decode all whole BAM records in ``data[start:stop]`` (SAMv1 §4.2).

    Parameters
    ----------
    data : bytes-like
        Inflated BAM data.
    start, stop : int
        Byte range to decode (``stop`` defaults to ``len(data)``).
    path : str, optional
        For error messages.
    voffset_of : callable, optional
        Maps a position in ``data`` to its BGZF virtual offset (messages).
    final : bool
        ``data`` ends at end of file: an incomplete trailing record raises
        :class:`TruncatedFileError` instead of being left unconsumed.
    n_ref : int, optional
        Number of references; ``refID``/``next_refID`` must be below it.
    first_record : int
        Number of the first record (0-based), for messages.
    max_records : int, optional
        Stop after this many records.
    record_starts : (starts, consumed), optional
        Record starts already found (by :func:`find_record_starts`) for
        exactly this ``start``/``stop``/``max_records``.

    Returns
    -------
    batch : AlignmentBatch
        With ``end`` computed (htslib ``bam_endpos``) and CG-tag CIGARs
        restored (SAMv1 §4.2.2).
    record_starts : ndarray of int64, shape (n,)
        Position of each record's ``block_size`` field in ``data``.
    consumed : int
        Position just past the last decoded record.

    Raises
    ------
    FormatError
        ``block_size < 32``, sizes that do not fit ``block_size``, bad
        reference ids, unknown CIGAR operations, unterminated read names.
    TruncatedFileError
        ``final`` and the data ends inside a record.
    """
    if stop is None:
        stop = len(data)
    if record_starts is not None:
        starts_list, consumed = record_starts
    elif max_records is None:
        starts_list, consumed = find_record_starts(data, start, stop, n_ref=n_ref)
    else:
        starts_list, consumed = sequential_record_starts(data, start, stop, max_records)

    def where(pos_in_data: int) -> tuple[int, bool]:
        if voffset_of is not None:
            return int(voffset_of(pos_in_data)), True
        return pos_in_data, False

    def fail(i: int, msg: str, field: str, cls=FormatError):
        off, virt = where(int(starts_list[i]) if i < len(starts_list) else consumed)
        raise cls(f"bam record {first_record + i} at {format_offset(off, virt)}: {msg}",
                  path=path, offset=off, field=field, virtual=virt)

    if consumed < 0:  # block_size < 32 at the last start
        i = len(starts_list) - 1
        bs = _I32.unpack_from(data, starts_list[i])[0]
        fail(i, f"block_size={bs} is below the 32-byte minimum", "block_size")
    if final and consumed < stop and (max_records is None or len(starts_list) < max_records):
        left = stop - consumed
        off, virt = where(consumed)
        if left < 4:
            msg = f"{left} bytes left, too few for block_size"
        else:
            msg = f"block_size={_I32.unpack_from(data, consumed)[0]} but only {left - 4} bytes follow"
        raise TruncatedFileError(f"bam record {first_record + len(starts_list)} at {format_offset(off, virt)}: "
                                 f"{msg} (file truncated)", path=path, offset=off, field="block_size", virtual=virt)
    n = len(starts_list)
    starts = np.array(starts_list, dtype=np.int64)
    if n == 0:
        return AlignmentBatch.empty(), starts, consumed
    u8 = np.frombuffer(data, dtype=np.uint8)
    fixed = _gather_fixed(data, starts)
    block_size = fixed["block_size"].astype(np.int64)
    l_read_name = fixed["l_read_name"].astype(np.int64)
    n_cigar = fixed["n_cigar_op"].astype(np.int64)
    l_seq = fixed["l_seq"].astype(np.int64)

    # -- validation: one vectorised test per group, the first bad record diagnosed --
    packed_len = (l_seq + 1) >> 1
    bad = (l_read_name < 1) | (l_seq < 0)
    bad |= l_read_name + 4 * n_cigar + packed_len + l_seq > block_size - (FIXED_SIZE - 4)
    if bad.any():
        _diagnose_sizes(int(np.argmax(bad)), block_size, l_read_name, n_cigar, l_seq, fail)
    ref_lim = n_ref if n_ref is not None else 1 << 31
    bad = (fixed["ref_id"] < -1) | (fixed["ref_id"] >= ref_lim) | (fixed["next_ref_id"] < -1)
    bad |= (fixed["next_ref_id"] >= ref_lim) | (fixed["pos"] < -1) | (fixed["next_pos"] < -1)
    if bad.any():
        i = int(np.argmax(bad))
        for field, name in (("ref_id", "refID"), ("next_ref_id", "next_refID")):
            v = int(fixed[field][i])
            if v < -1 or v >= ref_lim:
                fail(i, f"{name}={v} outside the {n_ref if n_ref is not None else '?'} references", name)
        for field in ("pos", "next_pos"):
            v = int(fixed[field][i])
            if v < -1:
                fail(i, f"{field}={v} is below -1", field)
    pos = fixed["pos"].astype(np.int64)
    flag = fixed["flag"].astype(np.uint16)

    # -- where each part of a record starts: computed on first use ---------
    geom: dict = {}

    def at(part):
        if not geom:
            geom["name"] = starts + FIXED_SIZE
            geom["cigar"] = geom["name"] + l_read_name
            geom["seq"] = geom["cigar"] + 4 * n_cigar
            geom["qual"] = geom["seq"] + packed_len
            geom["aux"] = geom["qual"] + l_seq
            geom["aux_len"] = starts + 4 + block_size - geom["aux"]  # CG-tag records are shortened below
        return geom[part]

    def pick(rows, *arrays):
        return arrays if rows is None else tuple(a[rows] for a in arrays)

    cigar_memo: dict = {}

    def load_cigar(rows):  # all rows once (``end`` and ``cigar`` both need them), cut for subsets
        whole = cigar_memo.get("all")
        if whole is not None:
            return whole if rows is None else ragged_take(whole, offsets_of(lambda: n_cigar)(None), rows)[0]
        cig = decode_cigar(rows)
        if rows is None:
            cigar_memo["all"] = cig
        return cig

    def decode_cigar(rows):
        cs, nc = pick(rows, at("cigar"), n_cigar)
        idx, offs = _ragged_index(cs, nc)  # one index per op; ops are 4 bytes apart
        if not idx.size:
            return np.zeros(0, dtype=np.uint32)
        op_no = np.arange(idx.size, dtype=np.int64) - np.repeat(offs[:-1], nc)
        cig = _gather_u32(data, idx + 3 * op_no).astype(np.uint32)
        if int((cig & 15).max()) > 8:
            k = int(np.argmax((cig & 15) > 8))
            i = int(np.searchsorted(offs, k, side="right") - 1)
            fail(i if rows is None else int(rows[i]),
                 f"CIGAR operation code {int(cig[k] & 15)} is not one of MIDNSHP=X", "cigar")
        return cig

    def offsets_of(lengths):
        def load(rows):
            lens = lengths() if rows is None else lengths()[rows]
            o = np.zeros(len(lens) + 1, dtype=np.int64)
            np.cumsum(lens, out=o[1:])
            return o
        return load

    # -- CG tag: long CIGARs stored as kSmN + CG:B,I (SAMv1 §4.2.2) -------
    # only records of exactly two ops can carry one: look at those eagerly; CIGARs stay lazy otherwise
    aux_override: dict = {}
    eager = {}
    two = np.flatnonzero(n_cigar == 2)
    if two.size:
        cs = starts[two] + FIXED_SIZE + l_read_name[two]
        c0 = _gather_u32(data, cs)
        c1 = _gather_u32(data, cs + 4)
        cand = two[((c0 & 15) == _CIG_S) & ((c0 >> 4) == l_seq[two]) & ((c1 & 15) == _CIG_N)]
        if cand.size:
            cigar, cigar_offsets, aux_override = _apply_cg(
                data, load_cigar(None), offsets_of(lambda: n_cigar)(None), at("aux"), at("aux_len"), cand, fail)
            for k, blob in aux_override.items():
                at("aux_len")[k] = len(blob)
            eager.update(cigar=cigar, cigar_offsets=cigar_offsets,
                         end=reference_end(pos, flag, cigar, cigar_offsets))

    def load_name(rows):
        nul = u8[pick(rows, at("cigar"))[0] - 1]  # read_name must end in NUL (SAMv1 §4.2)
        if nul.any():
            k = int(np.argmax(nul != 0))
            fail(k if rows is None else int(rows[k]), "read_name is not NUL-terminated", "read_name")
        s, ln = pick(rows, at("name"), l_read_name - 1)
        return _take_ranges(u8, s, ln)

    def seq_loader(pairs):
        def load(rows):
            s, pl, ls = pick(rows, at("seq"), packed_len, l_seq)
            return _unpack_seq(_take_ranges(u8, s, pl), ls, pl, pairs)
        return load

    def seq_matrix(rows, width, symbols=None):  # reads of ``width`` bases, straight from the packed bytes
        packed = row_block(u8, at("seq")[rows], (width + 1) // 2)
        pairs = _PAIR_CODES if symbols is None else _pair_table(bytes(symbols[:16]))
        return np.take(pairs, packed).view(np.uint8).reshape(len(rows), -1)[:, :width]

    def qual_matrix(rows, width):
        return row_block(u8, at("qual")[rows], width)

    def load_qual(rows):
        s, ls = pick(rows, at("qual"), l_seq)
        return _take_ranges(u8, s, ls)

    def load_aux(rows):
        if not aux_override:
            s, ln = pick(rows, at("aux"), at("aux_len"))
            return _take_ranges(u8, s, ln)
        which = np.arange(n, dtype=np.int64) if rows is None else rows
        parts = []
        aux_start, aux_len = at("aux"), at("aux_len")
        for i in which.tolist():  # rare: only files with CG tags
            blob = aux_override.get(i)
            parts.append(np.frombuffer(blob, dtype=np.uint8) if blob is not None
                         else u8[aux_start[i]: aux_start[i] + aux_len[i]])
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint8)

    def load_end(rows):
        p, f = pick(rows, pos, flag)
        return reference_end(p, f, load_cigar(rows), offsets_of(lambda: n_cigar)(rows))

    def column(field):
        return lambda rows: np.ascontiguousarray(fixed[field] if rows is None else fixed[field][rows])

    loaders = {
        "name": load_name, "seq": seq_loader(_PAIR_CODES), "seq_ascii": seq_loader(_PAIR_ASCII),
        "qual": load_qual, "aux": load_aux, "seq_matrix": seq_matrix, "qual_matrix": qual_matrix,
        "cigar": load_cigar, "end": load_end,
        "name_offsets": offsets_of(lambda: l_read_name - 1), "cigar_offsets": offsets_of(lambda: n_cigar),
        "seq_offsets": offsets_of(lambda: l_seq), "aux_offsets": offsets_of(lambda: at("aux_len")),
        "bin": column("bin"), "next_ref_id": column("next_ref_id"), "next_pos": column("next_pos"),
        "tlen": column("tlen"),
    }
    for key in eager:
        loaders.pop(key)
    batch = LazyAlignmentBatch(
        loaders, ref_id=np.ascontiguousarray(fixed["ref_id"]), pos=pos, mapq=np.ascontiguousarray(fixed["mapq"]),
        flag=flag, **eager,
    )
    return batch, starts, consumed


def _diagnose_sizes(i: int, block_size, l_read_name, n_cigar, l_seq, fail) -> None:
    """Report why record ``i``'s name/CIGAR/sequence lengths do not fit its ``block_size`` (SAMv1 §4.2)."""
    room = int(block_size[i]) - (FIXED_SIZE - 4)
    ln, nc, ls = int(l_read_name[i]), int(n_cigar[i]), int(l_seq[i])
    if ln < 1:
        fail(i, "l_read_name=0 (the name needs at least its NUL)", "l_read_name")
    if ln + 4 * nc > room:
        fail(i, f"l_read_name={ln} + 4*n_cigar_op={4 * nc} but block_size leaves {room} bytes",
             "n_cigar_op" if ln <= room else "l_read_name")
    if ls < 0:
        fail(i, f"l_seq={ls} is negative", "l_seq")
    fail(i, f"l_seq={ls} but block_size leaves {room - ln - 4 * nc} bytes", "l_seq")


def _pair_table(alphabet: bytes) -> np.ndarray:
    """uint16 per packed byte: the symbol of its high nibble in the low byte, of its low nibble in the high byte."""
    table = _PAIR_TABLES.get(alphabet)
    if table is None:
        a = np.frombuffer(alphabet, dtype=np.uint8).astype(np.uint16)
        b = np.arange(256)
        table = _PAIR_TABLES[alphabet] = (a[b >> 4] | (a[b & 15] << 8)).astype("<u2")
    return table


_PAIR_TABLES: dict = {}


#: packed byte -> its two base codes / its two ASCII bases, as one little-endian uint16
_PAIR_CODES = _pair_table(bytes(range(16)))
_PAIR_ASCII = _pair_table(b"=ACMGRSVTWYHKDBN")


def _unpack_seq(packed: np.ndarray, l_seq: np.ndarray, packed_len: np.ndarray, pairs: np.ndarray = _PAIR_CODES) -> np.ndarray:
    """4-bit packed bases -> one symbol per base (SAMv1 §4.2.3), dropping each odd-length read's pad nibble.

    ``pairs`` maps a packed byte to its two symbols (codes by default, or ASCII).
    """
    if not packed.size:
        return np.zeros(0, dtype=np.uint8)
    both = pairs[packed].view(np.uint8)
    if not (l_seq & 1).any():
        return both
    starts = np.zeros(len(packed_len), dtype=np.int64)
    np.cumsum(2 * packed_len[:-1], out=starts[1:])
    return _take_ranges(both, starts, l_seq)


def _unaligned_u32(data, n_words: int) -> np.ndarray:
    """A read-only view: row ``p`` holds the ``n_words`` little-endian uint32 words starting at byte ``p``."""
    rows = len(data) - 4 * n_words + 1
    if rows <= 0:
        return np.zeros((0, n_words), dtype="<u4")
    return np.ndarray(buffer=data, dtype="<u4", shape=(rows, n_words), strides=(1, 4))


def _gather_u32(data, positions: np.ndarray) -> np.ndarray:
    """Little-endian 32-bit words at arbitrary byte ``positions`` (one strided gather)."""
    return _unaligned_u32(data, 1)[positions, 0]


def _gather_fixed(data, starts: np.ndarray) -> np.ndarray:
    """The 36 fixed bytes of every record as a structured array (SAMv1 §4.2).

    One gather of a 36-byte item per record from a view in which item ``p``
    is the 36 bytes starting at byte ``p``.
    """
    rows = max(len(data) - FIXED_SIZE + 1, 0)
    view = np.ndarray(buffer=data, dtype=_VOID_FIXED, shape=(rows,), strides=(1,))
    return view[starts].view(_FIXED_DTYPE)


def _apply_cg(data, cigar, cigar_offsets, aux_start, aux_len, cand, fail):
    """Replace ``kSmN`` CIGARs by their ``CG:B,I`` tag and drop the tag (as htslib).

    Returns the new ``(cigar, cigar_offsets, aux_override)`` where
    ``aux_override`` maps record index -> its aux bytes without the CG tag.
    """
    new_cigar, new_aux = {}, {}
    for i in cand.tolist():
        blob = bytes(data[int(aux_start[i]): int(aux_start[i] + aux_len[i])])
        found = _scan_aux_tag(blob, b"CG")
        if found is None:
            continue
        s, e, typ = found
        if typ != ord("B") or blob[s + 3] != ord("I"):
            continue
        count = _U32.unpack_from(blob, s + 4)[0]
        ops = np.frombuffer(blob, dtype="<u4", count=count, offset=s + 8).astype(np.uint32)
        if ops.size and int((ops & 15).max()) > 8:
            fail(i, "CG tag holds an unknown CIGAR operation code", "CG")
        new_cigar[i] = ops
        new_aux[i] = blob[:s] + blob[e:]
    if not new_cigar:
        return cigar, cigar_offsets, {}
    n = len(cigar_offsets) - 1
    lens = np.diff(cigar_offsets)
    parts = []
    prev = 0
    for i in sorted(new_cigar):
        parts.append(cigar[cigar_offsets[prev]:cigar_offsets[i]])
        parts.append(new_cigar[i])
        lens[i] = len(new_cigar[i])
        prev = i + 1
    parts.append(cigar[cigar_offsets[prev]:cigar_offsets[n]])
    off = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lens, out=off[1:])
    return np.concatenate(parts).astype(np.uint32), off, new_aux


# ---------------------------------------------------------------- encode
def _scatter(buf: np.ndarray, dest_starts: np.ndarray, values: np.ndarray, lens: np.ndarray) -> None:
    idx, _ = _ragged_index(dest_starts, lens)
    if idx.size:
        buf[idx] = values


def _long_cigars_to_cg(batch: AlignmentBatch) -> AlignmentBatch:
    """Move CIGARs of more than 65535 operations into a CG:B,I tag (SAMv1 §4.2.2, as htslib)."""
    n_cigar = np.diff(batch.cigar_offsets)
    long = np.flatnonzero(n_cigar > 0xFFFF)
    if not long.size:
        return batch
    kw = {f: getattr(batch, f) for f in batch.__dataclass_fields__}
    lseq = np.diff(batch.seq_offsets)
    rlen = reference_end(np.zeros(len(batch), dtype=np.int64), np.zeros(len(batch), dtype=np.uint16),
                         batch.cigar, batch.cigar_offsets)
    cig_parts, aux_parts = [], []
    cig_lens, aux_lens = n_cigar.copy(), np.diff(batch.aux_offsets)
    prev = 0
    for i in long.tolist():
        cig_parts.append(batch.cigar[batch.cigar_offsets[prev]:batch.cigar_offsets[i]])
        aux_parts.append(batch.aux[batch.aux_offsets[prev]:batch.aux_offsets[i]])
        ops = batch.cigar[batch.cigar_offsets[i]:batch.cigar_offsets[i + 1]]
        if int(lseq[i]) >= 1 << 28 or int(rlen[i]) >= 1 << 28:
            raise LimitExceededError(f"record {i}: CIGAR too long to store as kSmN", field="cigar")
        cig_parts.append(np.array([int(lseq[i]) << 4 | _CIG_S, int(rlen[i]) << 4 | _CIG_N], dtype=np.uint32))
        cg = b"CGBI" + _U32.pack(len(ops)) + ops.astype("<u4").tobytes()
        blob = batch.aux[batch.aux_offsets[i]:batch.aux_offsets[i + 1]]
        aux_parts.append(np.concatenate([blob, np.frombuffer(cg, dtype=np.uint8)]))
        cig_lens[i] = 2
        aux_lens[i] = len(blob) + len(cg)
        prev = i + 1
    cig_parts.append(batch.cigar[batch.cigar_offsets[prev]:])
    aux_parts.append(batch.aux[batch.aux_offsets[prev]:])
    kw["cigar"] = np.concatenate(cig_parts)
    kw["aux"] = np.concatenate(aux_parts)
    kw["cigar_offsets"] = np.concatenate([[0], np.cumsum(cig_lens)]).astype(np.int64)
    kw["aux_offsets"] = np.concatenate([[0], np.cumsum(aux_lens)]).astype(np.int64)
    return AlignmentBatch(**kw)


def encode_records(batch: AlignmentBatch) -> tuple[bytes, np.ndarray]:
    """Encode a batch as consecutive BAM records (SAMv1 §4.2).

    ``bin`` is recomputed from ``pos`` and the CIGAR (``reg2bin``), CIGARs of
    more than 65535 operations are stored as ``kSmN`` plus a ``CG:B,I`` tag.

    Returns
    -------
    data : bytes
        The records.
    sizes : ndarray of int64, shape (n,)
        Byte size of each record (``block_size + 4``).

    Raises
    ------
    FormatError
        A value does not fit its BAM field (read name > 254 bytes, position
        beyond int32, qualities of the wrong length ...).
    """
    n = len(batch)
    if n == 0:
        return b"", np.zeros(0, dtype=np.int64)
    if len(batch.qual) != len(batch.seq):
        raise FormatError(f"qual holds {len(batch.qual)} values for {len(batch.seq)} bases", field="qual")
    batch = _long_cigars_to_cg(batch)
    name_len = np.diff(batch.name_offsets)
    if name_len.max() > 254:
        i = int(np.argmax(name_len > 254))
        raise FormatError(f"record {i}: read name of {name_len[i]} bytes exceeds 254", field="read_name")
    for col in ("pos", "next_pos", "tlen"):
        v = getattr(batch, col)
        if v.size and (v.max() > _INT32_MAX or v.min() < -_INT32_MAX - 1):
            raise FormatError(f"{col} does not fit BAM's int32", field=col)
    n_cigar = np.diff(batch.cigar_offsets)
    l_seq = np.diff(batch.seq_offsets)
    aux_len = np.diff(batch.aux_offsets)
    packed_len = (l_seq + 1) // 2
    sizes = FIXED_SIZE + name_len + 1 + 4 * n_cigar + packed_len + l_seq + aux_len
    if sizes.max() - 4 > _INT32_MAX:
        raise FormatError("record larger than 2 GiB", field="block_size")
    rs = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(sizes, out=rs[1:])
    buf = np.zeros(int(rs[-1]), dtype=np.uint8)
    end = reference_end(batch.pos, batch.flag, batch.cigar, batch.cigar_offsets)
    fixed = np.zeros(n, dtype=_FIXED_DTYPE)
    fixed["block_size"] = sizes - 4
    fixed["ref_id"] = batch.ref_id
    fixed["pos"] = batch.pos
    fixed["l_read_name"] = name_len + 1
    fixed["mapq"] = batch.mapq
    fixed["bin"] = compute_bin(batch.pos, end)
    fixed["n_cigar_op"] = n_cigar
    fixed["flag"] = batch.flag
    fixed["l_seq"] = l_seq
    fixed["next_ref_id"] = batch.next_ref_id
    fixed["next_pos"] = batch.next_pos
    fixed["tlen"] = batch.tlen
    starts = rs[:-1]
    buf[(starts[:, None] + np.arange(FIXED_SIZE, dtype=np.int64)).ravel()] = fixed.view(np.uint8).reshape(-1)
    p = starts + FIXED_SIZE
    _scatter(buf, p, batch.name, name_len)
    p = p + name_len + 1
    _scatter(buf, p, batch.cigar.astype("<u4").view(np.uint8), 4 * n_cigar)
    p = p + 4 * n_cigar
    # pack 4-bit codes two per byte, high nibble first
    pad_len = 2 * packed_len
    idx, pad_off = _ragged_index(np.zeros(n, dtype=np.int64), l_seq)
    if idx.size:
        nib = np.zeros(int(pad_len.sum()), dtype=np.uint8)
        pad_starts = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(pad_len, out=pad_starts[1:])
        dest, _ = _ragged_index(pad_starts[:-1], l_seq)
        nib[dest] = batch.seq & 15
        packed = (nib[0::2] << 4) | nib[1::2]
        _scatter(buf, p, packed, packed_len)
    p = p + packed_len
    _scatter(buf, p, batch.qual, l_seq)
    p = p + l_seq
    _scatter(buf, p, batch.aux, aux_len)
    return buf.tobytes(), sizes


class BamWriter(RecordFileWriter):
    """Write a BAM file: header, records in batches, BGZF EOF marker (SAMv1 §4.2).

    Parameters
    ----------
    target : path or binary file object
    header : AlignmentHeader
    level : int
        DEFLATE level (0-9).

    Notes
    -----
    The header ends its own BGZF block, and blocks are cut at record
    boundaries whenever a record fits in one block, as htslib writes them, so
    indexes built by ``samtools index`` have record-aligned chunks.
    """

    def _encode_header(self, header: AlignmentHeader) -> bytes:
        return encode_bam_header(header)

    def _encode_records(self, batch: AlignmentBatch):
        n_ref = len(self.header.references)
        if batch.ref_id.size and (batch.ref_id.max() >= n_ref or batch.next_ref_id.max() >= n_ref):
            raise FormatError(f"reference id beyond the header's {n_ref} references", field="refID")
        return encode_records(batch)
