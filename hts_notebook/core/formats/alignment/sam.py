"""SAM text reader and writer (SAMv1 §1).

:func:`read_sam` parses plain, gzip or BGZF-compressed SAM into an
:class:`~hts_notebook.core.formats.alignment.header.AlignmentHeader` and one
:class:`~hts_notebook.core.formats.alignment.batch.AlignmentBatch`.  Columns
are decoded a whole file at a time: numeric columns are validated with one
regular expression over the joined column and converted by numpy; CIGAR,
SEQ and QUAL are concatenated and translated with lookup tables.  Only
malformed values fall back to a per-value path, which names the line.

The default (lenient) mode accepts what htslib 1.16 accepts and applies the
same repairs (an unknown RNAME makes the read unmapped, ...).  ``strict=True``
rejects every SAMv1 violation (see :mod:`.sam_validate`).

:func:`format_sam_header` / :func:`format_sam_records` write text that is
byte-identical to ``samtools view`` output for the same records.
"""
from __future__ import annotations

import gzip
import io
import os
import re
import zlib

import numpy as np

from hts_notebook.core.errors import FormatError, TruncatedFileError
from .aux import aux_from_sam, aux_to_sam
from .batch import (
    CIGAR_OPS,
    QUERY_CONSUMING,
    REF_CONSUMING,
    SEQ_ALPHABET,
    AlignmentBatch,
)
from .header import AlignmentHeader

__all__ = ["read_sam", "parse_sam_text", "format_sam_header", "format_sam_records", "SamWriter", "reg2bin"]

_COLS = ("QNAME", "FLAG", "RNAME", "POS", "MAPQ", "CIGAR", "RNEXT", "PNEXT", "TLEN", "SEQ", "QUAL")

_CIGAR_CODE = np.full(256, 255, dtype=np.uint8)
for _i, _c in enumerate(CIGAR_OPS):
    _CIGAR_CODE[_c] = _i
_SEQ_ENCODE = np.full(256, 15, dtype=np.uint8)
for _i, _c in enumerate(SEQ_ALPHABET):
    _SEQ_ENCODE[_c] = _i
    _SEQ_ENCODE[ord(chr(_c).lower())] = _i
_SEQ_DECODE = np.frombuffer(SEQ_ALPHABET, dtype=np.uint8)
_CIGAR_RE = re.compile(rb"(?:[0-9]+[MIDNSHP=X])+\Z")
_CIGAR_CHARS = np.array(list("MIDNSHP=X???????"))


def reg2bin(beg, end, min_shift: int = 14, depth: int = 5) -> np.ndarray:
    """Vectorised BAI/CSI bin of 0-based half-open ``[beg, end)`` (SAMv1 §5.3).

    Parameters
    ----------
    beg, end : array_like of int64, shape (n,)
    min_shift, depth : int
        14 and 5 for BAI.

    Returns
    -------
    numpy.ndarray of int64, shape (n,)
        ``beg = -1, end = 0`` (unplaced) gives 4680, as htslib.
    """
    beg = np.atleast_1d(np.asarray(beg, dtype=np.int64))
    last = np.atleast_1d(np.asarray(end, dtype=np.int64)) - 1
    out = np.zeros(beg.shape, dtype=np.int64)
    done = np.zeros(beg.shape, dtype=bool)
    s = min_shift
    t = ((1 << depth * 3) - 1) // 7
    for level in range(depth, 0, -1):
        hit = ~done & ((beg >> s) == (last >> s))
        out[hit] = t + (beg[hit] >> s)
        done |= hit
        s += 3
        t -= 1 << ((level - 1) * 3)
    return out


# ---------------------------------------------------------------------------
# input


def _load(source, path):
    """Return (uncompressed bytes, path) for a path, bytes or binary file object."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        raw = bytes(source)
    elif isinstance(source, (str, os.PathLike)):
        path = path or os.fspath(source)
        with open(source, "rb") as fh:
            raw = fh.read()
    else:
        raw = source.read()
        path = path or getattr(source, "name", None)
    if raw[:2] == b"\x1f\x8b":
        from hts_notebook.core.bgzf import BgzfReader, is_bgzf

        if is_bgzf(raw):
            raw = BgzfReader(raw, path=path, check_eof=False).read_all()
        else:
            try:
                raw = _gunzip(raw)
            except EOFError:
                raise TruncatedFileError("gzip stream ends early", path=path, field="gzip") from None
            except (OSError, zlib.error) as e:
                raise FormatError(f"bad gzip data: {e}", path=path, field="gzip") from None
    return raw, path


def _gunzip(raw: bytes) -> bytes:
    out = []
    with gzip.GzipFile(fileobj=io.BytesIO(raw)) as g:
        while True:
            chunk = g.read(1 << 24)
            if not chunk:
                break
            out.append(chunk)
    return b"".join(out)


def read_sam(source, *, strict: bool = False, path=None) -> tuple[AlignmentHeader, AlignmentBatch]:
    """Read a whole SAM file (SAMv1 §1).

    Parameters
    ----------
    source : str, os.PathLike, bytes or binary file object
        Plain, gzip or BGZF compressed SAM.
    strict : bool, default False
        ``False``: accept what htslib 1.16 accepts, with its repairs (RNAME not
        in ``@SQ``, POS 0 with an RNAME or CIGAR ``*`` on a mapped read make
        the read unmapped; an unknown RNEXT or PNEXT 0 with an RNEXT makes
        RNEXT ``*``; MAPQ > 255 and FLAG > 65535 are clamped).  ``True``:
        raise on every SAMv1 violation, header included.
    path : str, optional
        Name for error messages when ``source`` is not a path.

    Returns
    -------
    header : AlignmentHeader
        ``text`` is the header exactly as in the file.
    batch : AlignmentBatch
        All records, 0-based half-open coordinates (``pos`` = POS - 1,
        ``end`` = reference end, ``pos + 1`` when nothing consumes the
        reference or the read is unmapped).

    Raises
    ------
    FormatError
        Malformed header or record; the message names the line number and
        ``field`` the column (``QNAME`` ... ``QUAL``, an aux tag, or a header
        field such as ``'@SQ LN'``).
    TruncatedFileError
        A compressed stream ends early.
    """
    data, path = _load(source, path)
    return parse_sam_text(data, strict=strict, path=path)


def _split_header(data: bytes) -> tuple[bytes, int]:
    """Length of the header block (lines starting with '@') and its line count."""
    pos = 0
    n = 0
    while pos < len(data) and data[pos:pos + 1] == b"@":
        nl = data.find(b"\n", pos)
        pos = len(data) if nl < 0 else nl + 1
        n += 1
    return pos, n


def parse_sam_text(data: bytes, *, strict: bool = False, path=None) -> tuple[AlignmentHeader, AlignmentBatch]:
    """Parse uncompressed SAM bytes; see :func:`read_sam`."""
    hlen, nhead = _split_header(data)
    htext_b = data[:hlen]
    try:
        htext = htext_b.decode("utf-8")
    except UnicodeDecodeError:
        if strict:
            raise FormatError("header is not valid UTF-8", path=path, field="header") from None
        htext = htext_b.decode("utf-8", "surrogateescape")
    from .sam_validate import check_header

    deferred = check_header(htext, strict=strict, path=path)
    header = AlignmentHeader.from_text(htext)
    body = data[hlen:]
    batch = parse_records(body, header, strict=strict, path=path, first_line=nhead + 1)
    if deferred:
        raise deferred[0]
    return header, batch


# ---------------------------------------------------------------------------
# records


def _err(msg, line, field, path):
    return FormatError(f"SAM line {line}: {msg}", path=path, field=field)


_DIGITS = re.compile(rb"(?:[0-9]{1,18}\n)*[0-9]{1,18}\Z")
_LENIENT_UINT = re.compile(rb"\+?[0-9]+\Z")
_LENIENT_INT = re.compile(rb"[-+]?[0-9]+\Z")


def _int_column(values, name, lines, path, *, parse_one):
    """Convert a column of ASCII integers; fast path for plain digits."""
    if not values:
        return np.zeros(0, dtype=np.int64)
    joined = b"\n".join(values)
    if _DIGITS.match(joined):
        return np.array(values, dtype="S").astype(np.int64)
    out = np.empty(len(values), dtype=np.int64)
    for i, v in enumerate(values):
        out[i] = parse_one(v, lines[i], name, path)
    return out


def _parse_flag(v, line, name, path):
    # htslib parses FLAG as C strtol base 0 (0x.. hex, 0.. octal), clamps to 0xFFFF
    s = v.decode("latin-1")
    try:
        if re.fullmatch(r"0[xX][0-9a-fA-F]+", s):
            x = int(s, 16)
        elif re.fullmatch(r"0[0-7]+", s):
            x = int(s, 8)
        elif re.fullmatch(r"[0-9]+", s):
            x = int(s)
        else:
            raise ValueError
    except ValueError:
        raise _err(f"FLAG {v[:40]!r} is not a non-negative integer", line, name, path) from None
    return min(x, 0xFFFF)


def _parse_uint(v, line, name, path):
    if not _LENIENT_UINT.match(v):
        raise _err(f"{name} {v[:40]!r} is not a non-negative integer", line, name, path)
    x = int(v)
    if x >= 1 << 62:
        raise _err(f"{name} {x} out of range", line, name, path)
    return x


def _parse_int(v, line, name, path):
    if not _LENIENT_INT.match(v):
        raise _err(f"{name} {v[:40]!r} is not an integer", line, name, path)
    x = int(v)
    if abs(x) >= 1 << 62:
        raise _err(f"{name} {x} out of range", line, name, path)
    return x


def _offsets(lengths) -> np.ndarray:
    o = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=o[1:])
    return o


def parse_records(body: bytes, header: AlignmentHeader, *, strict=False, path=None, first_line=1) -> AlignmentBatch:
    """Parse SAM alignment lines into a batch (SAMv1 §1.4).

    Parameters
    ----------
    body : bytes
        The text after the header; one record per ``\\n``-terminated line.
    header : AlignmentHeader
        Reference names for RNAME/RNEXT.
    strict : bool
        Reject every SAMv1 violation.
    first_line : int
        1-based line number of the first line of ``body`` (for messages).

    Returns
    -------
    AlignmentBatch

    Raises
    ------
    FormatError
        ``field`` names the column.
    """
    if not body:
        return AlignmentBatch.empty()
    lines = body.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    n = len(lines)
    if n == 0:
        return AlignmentBatch.empty()
    line_no = np.arange(first_line, first_line + n, dtype=np.int64).tolist()
    rows = [ln.split(b"\t") for ln in lines]
    for i, r in enumerate(rows):
        if len(r) < 11:
            if len(lines[i]) == 0:
                raise _err("empty line", line_no[i], "QNAME", path)
            raise _err(f"{len(r)} columns, need 11 (missing {_COLS[len(r)]})", line_no[i], _COLS[len(r)], path)
    if strict:
        from .sam_validate import check_records

        check_records(rows, header, line_no, path=path)
    cols = list(zip(*[r[:11] for r in rows]))
    qn, fl, rn, ps, mq, cg, rx, px, tl, sq, ql = cols

    # -- QNAME
    name_lens = np.fromiter(map(len, qn), dtype=np.int64, count=n)
    if name_lens.size and name_lens.max() > 254:
        i = int(np.argmax(name_lens > 254))
        raise _err(f"QNAME of {name_lens[i]} characters exceeds 254", line_no[i], "QNAME", path)
    name = np.frombuffer(b"".join(qn), dtype=np.uint8).copy()

    # -- numeric columns
    flag = _int_column(fl, "FLAG", line_no, path, parse_one=_parse_flag)
    if flag.size and flag.max() > 0xFFFF:
        flag = np.minimum(flag, 0xFFFF)
    pos = _int_column(ps, "POS", line_no, path, parse_one=_parse_uint) - 1
    mapq = _int_column(mq, "MAPQ", line_no, path, parse_one=_parse_uint)
    np.minimum(mapq, 255, out=mapq)
    next_pos = _int_column(px, "PNEXT", line_no, path, parse_one=_parse_uint) - 1
    tlen = _int_column(tl, "TLEN", line_no, path, parse_one=_parse_int)

    # -- RNAME / RNEXT
    lut = {nm.encode("utf-8", "surrogateescape"): i for i, (nm, _) in enumerate(header.references)}
    lut[b"*"] = -1
    get = lut.get
    ref_id = np.fromiter((get(x, -2) for x in rn), dtype=np.int64, count=n)
    lut_next = dict(lut)
    lut_next[b"="] = -3
    get_n = lut_next.get
    next_ref_id = np.fromiter((get_n(x, -2) for x in rx), dtype=np.int64, count=n)
    if strict:
        bad = np.flatnonzero(ref_id == -2)
        if bad.size:
            i = int(bad[0])
            raise _err(f"RNAME {rn[i][:60]!r} is not in the @SQ header", line_no[i], "RNAME", path)
        bad = np.flatnonzero(next_ref_id == -2)
        if bad.size:
            i = int(bad[0])
            raise _err(f"RNEXT {rx[i][:60]!r} is not in the @SQ header", line_no[i], "RNEXT", path)
    # htslib: unknown RNAME -> unmapped; mapped query with POS 0 -> unmapped
    unknown = ref_id == -2
    flag[unknown] |= 4
    ref_id[unknown] = -1
    zero = (ref_id >= 0) & (pos < 0)
    flag[zero] |= 4
    ref_id[zero] = -1

    # -- CIGAR (one regex check per record, then vectorised over all ops)
    star = np.fromiter((c == b"*" for c in cg), dtype=bool, count=n)
    match = _CIGAR_RE.match
    for i in np.flatnonzero(~star).tolist():
        if not match(cg[i]):
            c = cg[i]
            msg = "unrecognised CIGAR operator" if re.search(rb"[^0-9MIDNSHP=X]", c) else "CIGAR operation without length"
            raise _err(f"{msg} in {c[:60]!r}", line_no[i], "CIGAR", path)
    cig_txt = b"".join(c for c in cg if c != b"*")
    if cig_txt:
        buf = np.frombuffer(cig_txt, dtype=np.uint8)
        letter = buf >= 0x3A  # not a digit
        op_code = _CIGAR_CODE[buf[letter]].astype(np.uint32)
        lens_txt = re.findall(rb"[0-9]+", cig_txt)
        if max(map(len, lens_txt)) > 9:
            op_len = np.array([int(x) for x in lens_txt], dtype=np.int64)
        else:
            op_len = np.array(lens_txt, dtype="S").astype(np.int64)
        if op_len.size and op_len.max() >= 1 << 28:
            k = int(np.argmax(op_len >= 1 << 28))
            rec = int(np.searchsorted(np.cumsum(_cig_counts(cg, star, n)), k, side="right"))
            raise _err("CIGAR operation length exceeds 2^28-1", line_no[rec], "CIGAR", path)
        cigar = (op_len.astype(np.uint32) << 4) | op_code
    else:
        cigar = np.zeros(0, dtype=np.uint32)
        op_len = np.zeros(0, dtype=np.int64)
        op_code = np.zeros(0, dtype=np.uint32)
    n_ops = _cig_counts(cg, star, n)
    cigar_offsets = _offsets(n_ops)
    rec_of_op = np.repeat(np.arange(n), n_ops)
    rlen = np.bincount(rec_of_op, weights=op_len * REF_CONSUMING[op_code], minlength=n).astype(np.int64)
    qlen = np.bincount(rec_of_op, weights=op_len * QUERY_CONSUMING[op_code], minlength=n).astype(np.int64)
    flag[star] |= 4  # htslib: a mapped query must have a CIGAR, else unmapped

    # -- RNEXT '=' and PNEXT 0 rules (after RNAME repairs, as htslib)
    eq = next_ref_id == -3
    next_ref_id[eq] = ref_id[eq]
    next_ref_id[next_ref_id == -2] = -1
    next_ref_id[(next_ref_id >= 0) & (next_pos < 0)] = -1  # htslib: mate at 0 -> RNEXT '*'

    # -- SEQ / QUAL
    seq_star = np.fromiter((s == b"*" for s in sq), dtype=bool, count=n)
    seq_lens = np.fromiter(map(len, sq), dtype=np.int64, count=n)
    seq_lens[seq_star] = 0
    has_ops = n_ops > 0
    bad = np.flatnonzero(has_ops & ~seq_star & (qlen != seq_lens))
    if bad.size:
        i = int(bad[0])
        raise _err(f"CIGAR query length {qlen[i]} differs from SEQ length {seq_lens[i]}", line_no[i],
                   "CIGAR" if strict else "SEQ", path)
    seq_txt = b"".join(s for s in sq if s != b"*")
    seq = _SEQ_ENCODE[np.frombuffer(seq_txt, dtype=np.uint8)]
    qual_star = np.fromiter((q == b"*" for q in ql), dtype=bool, count=n)
    qual_lens = np.fromiter(map(len, ql), dtype=np.int64, count=n)
    # QUAL '*' -> 0xFF fill; note a 1-base read with QUAL '*' is '*' (missing)
    bad = np.flatnonzero(~qual_star & (qual_lens != seq_lens))
    if bad.size:
        i = int(bad[0])
        raise _err(f"QUAL length {qual_lens[i]} differs from SEQ length {seq_lens[i]}", line_no[i], "QUAL", path)
    qual = np.full(int(seq_lens.sum()), 0xFF, dtype=np.uint8)
    seq_offsets = _offsets(seq_lens)
    if (~qual_star).any():
        qtxt = np.frombuffer(b"".join(q for q in ql if q != b"*"), dtype=np.uint8)
        idx = np.flatnonzero(~qual_star)
        lens = seq_lens[idx]
        tgt = np.repeat(seq_offsets[idx] - _offsets(lens)[:-1], lens) + np.arange(int(lens.sum()))
        qual[tgt] = qtxt - np.uint8(33)

    # -- aux
    aux_parts = []
    aux_lens = np.zeros(n, dtype=np.int64)
    for i, r in enumerate(rows):
        if len(r) > 11:
            b = aux_from_sam(r[11:], strict=strict, path=path, line=line_no[i])
            aux_parts.append(b)
            aux_lens[i] = len(b)
    aux = np.frombuffer(b"".join(aux_parts), dtype=np.uint8).copy()

    # -- derived: end (bam_endpos) and bin (SAMv1 §4.2.1)
    mapped_span = ((flag & 4) == 0) & has_ops & (rlen > 0)
    end = pos + np.where(mapped_span, rlen, 1)
    bins = reg2bin(pos, end)

    return AlignmentBatch(
        ref_id=ref_id.astype(np.int32), pos=pos, end=end, mapq=mapq.astype(np.uint8),
        bin=bins.astype(np.uint16), flag=flag.astype(np.uint16), next_ref_id=next_ref_id.astype(np.int32),
        next_pos=next_pos, tlen=tlen, name=name, name_offsets=_offsets(name_lens),
        cigar=cigar.astype(np.uint32), cigar_offsets=cigar_offsets, seq=seq, seq_offsets=seq_offsets,
        qual=qual, aux=aux, aux_offsets=_offsets(aux_lens),
    )


def _cig_counts(cg, star, n):
    counts = np.zeros(n, dtype=np.int64)
    for i in np.flatnonzero(~star).tolist():
        c = cg[i]
        counts[i] = len(c) - sum(c.count(d) for d in b"0123456789")
    return counts


# ---------------------------------------------------------------------------
# output


def format_sam_header(header: AlignmentHeader) -> bytes:
    """Header text as ``samtools view -h --no-PG`` prints it (SAMv1 §1.3).

    Parameters
    ----------
    header : AlignmentHeader

    Returns
    -------
    bytes
        The stored text, every line ``\\n``-terminated.  When the text has no
        ``@SQ`` lines but the header has references (BAM binary list), ``@SQ``
        lines are generated from them, as htslib does.
    """
    text = header.text
    if text and not text.endswith("\n"):
        text += "\n"
    if header.references and "@SQ\t" not in text:
        text += "".join(f"@SQ\tSN:{nm}\tLN:{ln}\n" for nm, ln in header.references)
    return text.encode("utf-8", "surrogateescape")


def _ragged_strings(blob: str, offsets: np.ndarray) -> list[str]:
    o = offsets.tolist()
    return [blob[o[i]:o[i + 1]] for i in range(len(o) - 1)]


def format_sam_records(batch: AlignmentBatch, header: AlignmentHeader) -> bytes:
    """Records as SAM text, byte-identical to ``samtools view`` (SAMv1 §1.4).

    Parameters
    ----------
    batch : AlignmentBatch
    header : AlignmentHeader
        Supplies reference names for RNAME/RNEXT.

    Returns
    -------
    bytes
        One ``\\n``-terminated line per record (empty for an empty batch).
        RNEXT is ``=`` when it equals a set RNAME; QUAL is ``*`` when the
        first quality is 0xFF; aux fields as :func:`.aux.aux_to_sam`.
    """
    n = len(batch)
    if n == 0:
        return b""
    # work in latin-1 text so that every byte maps to one character
    names = np.array([nm.encode("utf-8", "surrogateescape").decode("latin-1") for nm, _ in header.references]
                     + ["*"], dtype=object)
    rid = batch.ref_id.astype(np.int64)
    nid = batch.next_ref_id.astype(np.int64)
    rname = names[np.where(rid < 0, -1, rid)].tolist()
    rnext_arr = names[np.where(nid < 0, -1, nid)]
    rnext_arr[(nid >= 0) & (nid == rid)] = "="
    rnext = rnext_arr.tolist()
    qname = _ragged_strings(batch.name.tobytes().decode("latin-1"), batch.name_offsets)
    flag = batch.flag.astype(str).tolist()
    pos = (batch.pos + 1).astype(str).tolist()
    mapq = batch.mapq.astype(str).tolist()
    pnext = (batch.next_pos + 1).astype(str).tolist()
    tlen = batch.tlen.astype(str).tolist()

    # CIGAR: all ops rendered at once, then sliced per record
    if batch.cigar.size:
        ops = batch.cigar
        lens_s = (ops >> 4).astype(str)
        opstr = np.char.add(lens_s, _CIGAR_CHARS[ops & 15])
        widths = np.char.str_len(opstr).astype(np.int64)
        all_cig = "".join(opstr.tolist())
        char_off = np.concatenate([[0], np.cumsum(widths)])[batch.cigar_offsets]
        cigar = _ragged_strings(all_cig, char_off)
        cigar = [c or "*" for c in cigar]
    else:
        cigar = ["*"] * n

    so = batch.seq_offsets
    seq_all = _SEQ_DECODE[batch.seq & 15].tobytes().decode("ascii")
    seq = [s or "*" for s in _ragged_strings(seq_all, so)]
    qual_all = (batch.qual.astype(np.uint16) + 33).astype(np.uint8).tobytes().decode("latin-1")
    qual = _ragged_strings(qual_all, so)
    seq_len = np.diff(so)
    first = batch.qual[np.minimum(so[:-1], max(len(batch.qual) - 1, 0))] if len(batch.qual) else np.zeros(n, np.uint8)
    qstar = (seq_len == 0) | (first == 0xFF)
    for i in np.flatnonzero(qstar).tolist():
        qual[i] = "*"

    cols = list(zip(qname, flag, rname, pos, mapq, cigar, rnext, pnext, tlen, seq, qual))
    lines = ["\t".join(c) for c in cols]
    ao = batch.aux_offsets
    has_aux = np.flatnonzero(np.diff(ao) > 0).tolist()
    if has_aux:
        aux_blob = batch.aux.tobytes()
        a = ao.tolist()
        for i in has_aux:
            lines[i] += "\t" + aux_to_sam(aux_blob[a[i]:a[i + 1]]).decode("latin-1")
    lines.append("")
    return "\n".join(lines).encode("latin-1")


class SamWriter:
    """Write SAM text: the header once, then batches.

    Parameters
    ----------
    target : str, os.PathLike or binary file object
        Output; a path ending ``.gz`` is written as BGZF.
    header : AlignmentHeader

    Examples
    --------
    >>> with SamWriter("out.sam", header) as w:   # doctest: +SKIP
    ...     w.write_batch(batch)
    """

    def __init__(self, target, header: AlignmentHeader):
        self.header = header
        self._owns = False
        if isinstance(target, (str, os.PathLike)):
            p = os.fspath(target)
            if p.endswith(".gz") or p.endswith(".bgz"):
                from hts_notebook.core.bgzf import BgzfWriter

                self._fh = BgzfWriter(p)
            else:
                self._fh = open(p, "wb")
            self._owns = True
        else:
            self._fh = target
        self._fh.write(format_sam_header(header))

    def write_batch(self, batch: AlignmentBatch) -> None:
        """Append the records of ``batch`` as SAM lines."""
        self._fh.write(format_sam_records(batch, self.header))

    def close(self) -> None:
        """Flush and close (only closes what this writer opened)."""
        if self._owns:
            self._fh.close()
        elif hasattr(self._fh, "flush"):
            self._fh.flush()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
