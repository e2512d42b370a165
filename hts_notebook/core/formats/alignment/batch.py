"""Columnar alignment records: :class:`AlignmentBatch` (SAMv1 §1.4, §4.2).

A batch holds many alignments as numpy columns, never one Python object per
read.  Ragged fields (read name, CIGAR, sequence, qualities, aux tags) are
flat arrays plus ``(n + 1,)`` int64 offsets, so long reads are not padded.

Every reader (SAM, BAM, CRAM) produces batches and every writer consumes
them; the dataset builder turns a batch into an ``xarray.Dataset``.

Conventions (0-based like BAM):

=================  ========  =========================================================
column             dtype     meaning
=================  ========  =========================================================
``ref_id``         int32     index into the header's references, -1 for ``*``
``pos``            int64     0-based leftmost position, -1 when unset
``end``            int64     0-based exclusive reference end from the CIGAR
                             (``pos + 1`` when nothing consumes the reference, as htslib's
                             ``bam_endpos``; ``pos + 1`` too for unmapped placed reads)
``mapq``           uint8     MAPQ (255 = unavailable)
``bin``            uint16    BAI bin stored in / computed for the record
``flag``           uint16    FLAG
``next_ref_id``    int32     RNEXT as reference index, -1 for ``*``
``next_pos``       int64     PNEXT 0-based, -1 unset
``tlen``           int64     TLEN
``name``           uint8     QNAME bytes, flat, no NUL; ``name_offsets`` (n+1,)
``cigar``          uint32    BAM-encoded ops ``len << 4 | op``, flat; ``cigar_offsets``
``seq``            uint8     4-bit base codes (``=ACMGRSVTWYHKDBN`` index), flat;
                             ``seq_offsets`` (n+1,); length 0 means ``*``
``qual``           uint8     Phred scores, flat, same offsets as ``seq``; 0xFF = ``*``
``aux``            uint8     BAM-encoded aux fields (tag, type, value), flat;
                             ``aux_offsets`` (n+1,)
=================  ========  =========================================================
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Iterable, Sequence

import numpy as np

__all__ = [
    "AlignmentBatch",
    "SEQ_ALPHABET",
    "CIGAR_OPS",
    "cigar_to_string",
    "cigar_from_string",
    "encode_seq",
    "decode_seq",
    "ragged_index",
    "ragged_take",
    "row_block",
]

#: BAM 4-bit base codes (SAMv1 §4.2.3)
SEQ_ALPHABET = b"=ACMGRSVTWYHKDBN"
#: BAM CIGAR op codes (SAMv1 §4.2.2)
CIGAR_OPS = b"MIDNSHP=X"
#: ops that consume the reference: M D N = X
REF_CONSUMING = np.array([1, 0, 1, 1, 0, 0, 0, 1, 1] + [0] * 7, dtype=bool)
#: ops that consume the query: M I S = X
QUERY_CONSUMING = np.array([1, 1, 0, 0, 1, 0, 0, 1, 1] + [0] * 7, dtype=bool)

_SEQ_ENCODE = np.full(256, 15, dtype=np.uint8)
for _i, _c in enumerate(SEQ_ALPHABET):
    _SEQ_ENCODE[_c] = _i
    _SEQ_ENCODE[ord(chr(_c).lower())] = _i
_SEQ_DECODE = np.frombuffer(SEQ_ALPHABET, dtype=np.uint8)
_CIGAR_CODE = np.full(256, 255, dtype=np.uint8)
for _i, _c in enumerate(CIGAR_OPS):
    _CIGAR_CODE[_c] = _i


def encode_seq(text: bytes) -> np.ndarray:
    """ASCII bases -> 4-bit codes (unknown letters become ``N`` = 15)."""
    return _SEQ_ENCODE[np.frombuffer(text, dtype=np.uint8)]


def decode_seq(codes: np.ndarray) -> bytes:
    """4-bit codes -> ASCII bases."""
    return _SEQ_DECODE[np.asarray(codes, dtype=np.uint8) & 15].tobytes()


def cigar_to_string(ops: np.ndarray) -> str:
    """BAM-encoded CIGAR ops -> text (``*`` when empty)."""
    ops = np.asarray(ops, dtype=np.uint32)
    if ops.size == 0:
        return "*"
    lens = (ops >> 4).tolist()
    codes = (ops & 15).tolist()
    return "".join(f"{n}{'MIDNSHP=X???????'[c]}" for n, c in zip(lens, codes))


def cigar_from_string(text: str) -> np.ndarray:
    """CIGAR text -> BAM-encoded ops; raises ``ValueError`` on malformed text."""
    if text == "*":
        return np.zeros(0, dtype=np.uint32)
    out = []
    num = 0
    seen = False
    for ch in text:
        if "0" <= ch <= "9":
            num = num * 10 + (ord(ch) - 48)
            seen = True
            continue
        code = _CIGAR_CODE[ord(ch)] if ord(ch) < 256 else 255
        if code == 255 or not seen:
            raise ValueError(f"bad CIGAR operation {ch!r} in {text!r}")
        if num >= 1 << 28:
            raise ValueError(f"CIGAR length {num} exceeds 2^28-1")
        out.append((num << 4) | int(code))
        num, seen = 0, False
    if seen:
        raise ValueError(f"CIGAR {text!r} ends with a number")
    return np.array(out, dtype=np.uint32)


def ragged_index(offsets: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions in the flat values of rows ``idx`` of a ragged array, and the offsets of those rows.

    Returns ``(gather, new_offsets)``: ``values[gather]`` is the rows' values
    back to back (int64 indices), ``new_offsets`` their ``(len(idx) + 1,)`` offsets.
    """
    idx = np.asarray(idx, dtype=np.int64)
    starts = offsets[idx]
    lens = offsets[idx + 1] - starts
    new_off = np.zeros(len(idx) + 1, dtype=np.int64)
    np.cumsum(lens, out=new_off[1:])
    gather = np.repeat(starts - new_off[:-1], lens) + np.arange(new_off[-1], dtype=np.int64)
    return gather, new_off


def ragged_take(values: np.ndarray, offsets: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Select rows ``idx`` of a ragged (values, offsets) pair, vectorised."""
    gather, new_off = ragged_index(offsets, idx)
    if new_off[-1] == 0:
        return values[:0].copy(), new_off
    return values[gather], new_off


def row_block(u8: np.ndarray, starts: np.ndarray, width: int) -> np.ndarray:
    """``(len(starts), width)`` uint8 matrix whose row ``i`` is ``u8[starts[i]:starts[i] + width]``.

    One row copy per start, through a strided view of ``u8`` (no per-byte
    index array).  Starts must leave ``width`` bytes in ``u8``.
    """
    starts = np.asarray(starts, dtype=np.int64)
    u8 = np.ascontiguousarray(u8, dtype=np.uint8)
    if width <= 0 or not len(starts):
        return np.zeros((len(starts), max(int(width), 0)), dtype=np.uint8)
    if int(starts.min()) < 0 or int(starts.max()) + width > len(u8):
        raise IndexError("row_block: a row runs outside the data")
    src = np.ndarray(buffer=u8, dtype=np.uint8, shape=(len(u8) - width + 1, width), strides=(1, 1))
    return src[starts]


_FIXED = ("ref_id", "pos", "end", "mapq", "bin", "flag", "next_ref_id", "next_pos", "tlen")
_RAGGED = (("name", "name_offsets"), ("cigar", "cigar_offsets"), ("seq", "seq_offsets"), ("aux", "aux_offsets"))
_DTYPES = {
    "ref_id": np.int32, "pos": np.int64, "end": np.int64, "mapq": np.uint8, "bin": np.uint16,
    "flag": np.uint16, "next_ref_id": np.int32, "next_pos": np.int64, "tlen": np.int64,
    "name": np.uint8, "cigar": np.uint32, "seq": np.uint8, "qual": np.uint8, "aux": np.uint8,
    "name_offsets": np.int64, "cigar_offsets": np.int64, "seq_offsets": np.int64, "aux_offsets": np.int64,
}


@dataclass
class AlignmentBatch:
    """Many alignments as columns; see the module docstring for each field."""

    ref_id: np.ndarray
    pos: np.ndarray
    end: np.ndarray
    mapq: np.ndarray
    bin: np.ndarray
    flag: np.ndarray
    next_ref_id: np.ndarray
    next_pos: np.ndarray
    tlen: np.ndarray
    name: np.ndarray
    name_offsets: np.ndarray
    cigar: np.ndarray
    cigar_offsets: np.ndarray
    seq: np.ndarray
    seq_offsets: np.ndarray
    qual: np.ndarray
    aux: np.ndarray
    aux_offsets: np.ndarray

    def __post_init__(self):
        for f in fields(self):
            v = getattr(self, f.name)
            want = _DTYPES[f.name]
            if not isinstance(v, np.ndarray) or v.dtype != want:
                setattr(self, f.name, np.asarray(v, dtype=want))

    def __len__(self) -> int:
        return len(self.flag)

    @classmethod
    def empty(cls) -> "AlignmentBatch":
        z = {name: np.zeros(0, dtype=dt) for name, dt in _DTYPES.items()}
        for _, off in _RAGGED:
            z[off] = np.zeros(1, dtype=np.int64)
        return cls(**z)

    def take(self, idx) -> "AlignmentBatch":
        """Rows ``idx`` (int indices or boolean mask), in that order."""
        idx = np.asarray(idx)
        if idx.dtype == bool:
            idx = np.flatnonzero(idx)
        kw = {f: getattr(self, f)[idx] for f in _FIXED}
        for val, off in _RAGGED:
            kw[val], kw[off] = ragged_take(getattr(self, val), getattr(self, off), idx)
        kw["qual"], _ = ragged_take(self.qual, self.seq_offsets, idx)
        return AlignmentBatch(**kw)

    @classmethod
    def concat(cls, batches: Sequence["AlignmentBatch"]) -> "AlignmentBatch":
        batches = [b for b in batches if len(b)]
        if not batches:
            return AlignmentBatch.empty()
        if len(batches) == 1:
            return batches[0]
        kw = {f: np.concatenate([getattr(b, f) for b in batches]) for f in _FIXED}
        for val, off in _RAGGED:
            kw[val] = np.concatenate([getattr(b, val) for b in batches])
            parts = [np.zeros(1, dtype=np.int64)]
            base = 0
            for b in batches:
                o = getattr(b, off)
                parts.append(o[1:] - o[0] + base)
                base += int(o[-1] - o[0])
            kw[off] = np.concatenate(parts)
        kw["qual"] = np.concatenate([b.qual for b in batches])
        return AlignmentBatch(**kw)

    @property
    def seq_ascii(self) -> np.ndarray:
        """Read bases as ASCII codes (``=ACMGRSVTWYHKDBN``), uint8, flat, shape (sum of l_seq,).

        Same layout as :attr:`seq` (``seq_offsets``); a BAM reader may decode
        these straight from the packed bases without building :attr:`seq`.
        """
        return _SEQ_DECODE[self.seq & 15]

    def seq_matrix(self, rows, width: int, symbols: bytes | None = None) -> np.ndarray:
        """4-bit base codes of reads ``rows`` as a ``(len(rows), width)`` uint8 matrix.

        Every read in ``rows`` must have ``width`` bases (``l_seq``); row ``i``
        holds the codes (:data:`SEQ_ALPHABET` indices) of read ``rows[i]``, or
        ``symbols[code]`` when ``symbols`` (16 bytes) is given.  A BAM batch
        builds it straight from the packed bases, without decoding
        :attr:`seq` for the whole batch.
        """
        block = row_block(self.seq, self.seq_offsets[np.asarray(rows, dtype=np.int64)], width)
        if symbols is None:
            return block
        table = bytes(symbols[:16]) * 16
        return np.frombuffer(block.tobytes().translate(table), dtype=np.uint8).reshape(block.shape)

    def qual_matrix(self, rows, width: int) -> np.ndarray:
        """Qualities of reads ``rows`` (each of ``width`` bases) as a ``(len(rows), width)`` uint8 matrix."""
        return row_block(self.qual, self.seq_offsets[np.asarray(rows, dtype=np.int64)], width)

    # -- convenience views (not for hot paths) ------------------------
    def names(self) -> list[str]:
        blob = self.name.tobytes()
        o = self.name_offsets.tolist()
        return [blob[o[i]:o[i + 1]].decode("ascii", "replace") for i in range(len(self))]

    def cigar_ops(self, i: int) -> np.ndarray:
        return self.cigar[self.cigar_offsets[i]:self.cigar_offsets[i + 1]]

    def cigar_string(self, i: int) -> str:
        return cigar_to_string(self.cigar_ops(i))

    def seq_string(self, i: int) -> str:
        s = self.seq[self.seq_offsets[i]:self.seq_offsets[i + 1]]
        return decode_seq(s).decode("ascii") if len(s) else "*"

    def qual_array(self, i: int) -> np.ndarray:
        return self.qual[self.seq_offsets[i]:self.seq_offsets[i + 1]]

    def aux_bytes(self, i: int) -> bytes:
        return self.aux[self.aux_offsets[i]:self.aux_offsets[i + 1]].tobytes()


def batch_from_columns(**columns) -> AlignmentBatch:
    """Build a batch from per-record Python lists (tests, demo data).

    Ragged columns are given as lists: ``name`` (bytes), ``cigar`` (arrays of
    encoded ops), ``seq`` (arrays of codes), ``qual`` (arrays), ``aux`` (bytes).
    """
    kw = {f: np.asarray(columns[f], dtype=_DTYPES[f]) for f in _FIXED}
    for val, off in _RAGGED:
        items = [np.frombuffer(x, dtype=np.uint8) if isinstance(x, (bytes, bytearray)) else np.asarray(x, dtype=_DTYPES[val]) for x in columns[val]]
        lens = np.fromiter((len(x) for x in items), dtype=np.int64, count=len(items))
        o = np.zeros(len(items) + 1, dtype=np.int64)
        np.cumsum(lens, out=o[1:])
        kw[off] = o
        kw[val] = np.concatenate(items).astype(_DTYPES[val]) if items else np.zeros(0, dtype=_DTYPES[val])
    q = [np.asarray(x, dtype=np.uint8) for x in columns["qual"]]
    kw["qual"] = np.concatenate(q) if q else np.zeros(0, dtype=np.uint8)
    return AlignmentBatch(**kw)


def iter_concat(batches: Iterable[AlignmentBatch]) -> AlignmentBatch:
    return AlignmentBatch.concat(list(batches))


#: every field may be given as a loader; a BAM scan leaves all but a few of them unbuilt
_LAZY_FIELDS = tuple(_DTYPES)


class LazyAlignmentBatch(AlignmentBatch):
    """An :class:`AlignmentBatch` whose fields may be decoded on first use.

    Any field (``name``, ``seq``, ``end``, the ``*_offsets``, mate columns...)
    can be given as a loader callable, called the first time the field is read
    (then cached).  A whole-file scan that only needs positions and flags
    therefore never touches the sequence bytes nor builds offsets, and
    :meth:`take` on a lazy batch stays lazy, so a region query decodes the
    sequences of the records it keeps only.

    Parameters
    ----------
    loaders : dict of str to callable
        ``{"name": f, "seq": f, ...}`` for any of the fields (and optionally
        ``"seq_ascii"``); ``f(rows)`` returns the values of that field for the
        records ``rows`` (an int64 index array, increasing) or of all records
        when ``rows`` is None.  For an ``*_offsets`` field that is the offsets
        of the batch made of those rows (starting at 0).
    **eager
        Every other field of :class:`AlignmentBatch`.
    """

    def __init__(self, loaders, **eager):  # noqa: D107 - documented on the class
        d = self.__dict__
        d["_loaders"] = dict(loaders)
        for name, value in eager.items():
            # a lazy field given eagerly lives where its property looks for it
            key = "_value_" + name if name in _LAZY_FIELDS else name
            d[key] = np.asarray(value, dtype=_DTYPES[name])
        missing = [f.name for f in fields(AlignmentBatch)
                   if f.name not in eager and f.name not in d["_loaders"]]
        if missing:
            raise TypeError(f"LazyAlignmentBatch is missing {missing}")

    @property
    def seq_ascii(self) -> np.ndarray:  # noqa: D102 - documented on AlignmentBatch
        d = self.__dict__
        value = d.get("_value_seq_ascii")
        if value is None:
            loaders = d["_loaders"]
            direct = loaders.pop("seq_ascii", None)
            if direct is not None and "seq" in loaders:  # straight from the packed bases
                value = np.asarray(direct(None), dtype=np.uint8)
            else:
                value = _SEQ_DECODE[self.seq & 15]
            d["_value_seq_ascii"] = value
        return value

    def seq_matrix(self, rows, width: int, symbols: bytes | None = None) -> np.ndarray:  # noqa: D102
        d = self.__dict__
        direct = d["_loaders"].get("seq_matrix")
        if direct is not None and d.get("_value_seq") is None:
            return direct(np.asarray(rows, dtype=np.int64), int(width), symbols)
        return AlignmentBatch.seq_matrix(self, rows, width, symbols)

    def qual_matrix(self, rows, width: int) -> np.ndarray:  # noqa: D102 - documented on AlignmentBatch
        d = self.__dict__
        direct = d["_loaders"].get("qual_matrix")
        if direct is not None and d.get("_value_qual") is None:
            return direct(np.asarray(rows, dtype=np.int64), int(width))
        return AlignmentBatch.qual_matrix(self, rows, width)

    def __repr__(self) -> str:
        return f"LazyAlignmentBatch(n={len(self)}, pending={sorted(self.__dict__['_loaders'])})"

    def take(self, idx) -> "AlignmentBatch":
        idx = np.asarray(idx)
        if idx.dtype == bool:
            idx = np.flatnonzero(idx)
        idx = idx.astype(np.int64, copy=False)
        pending = self.__dict__["_loaders"]
        if not pending:
            return AlignmentBatch.take(self, idx)
        kw = {}
        # values already decoded: cut them (this builds their offsets)
        for val, off in _RAGGED + (("qual", "seq_offsets"),):
            if val not in pending:
                kw[val], o = ragged_take(getattr(self, val), getattr(self, off), idx)
                kw.setdefault(off, o)
        for f in _FIXED:
            if f not in pending:
                kw[f] = getattr(self, f)[idx]
        # offsets built but values pending: the kept rows' offsets
        for val, off in _RAGGED:
            if off not in pending and off not in kw:
                o = getattr(self, off)
                lens = o[idx + 1] - o[idx]
                kw[off] = np.zeros(len(idx) + 1, dtype=np.int64)
                np.cumsum(lens, out=kw[off][1:])
        loaders = {key: (lambda rows, *args, f=f, idx=idx: f(idx if rows is None else idx[rows], *args))
                   for key, f in pending.items() if key not in kw}
        for direct, field in (("seq_ascii", "seq"), ("seq_matrix", "seq"), ("qual_matrix", "qual")):
            if field not in loaders:
                loaders.pop(direct, None)
        return LazyAlignmentBatch(loaders, **kw)


def _lazy_property(name: str) -> property:
    key = "_value_" + name

    def get(self):
        d = self.__dict__
        value = d.get(key)
        if value is None:
            value = np.asarray(d["_loaders"].pop(name)(None), dtype=_DTYPES[name])
            d[key] = value
        return value

    def set(self, value):
        self.__dict__[key] = np.asarray(value, dtype=_DTYPES[name])
        self.__dict__["_loaders"].pop(name, None)

    return property(get, set, doc=f"``{name}`` values, decoded on first access")


for _name in _LAZY_FIELDS:
    setattr(LazyAlignmentBatch, _name, _lazy_property(_name))
