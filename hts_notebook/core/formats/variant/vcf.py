"""VCF text reader and writer (VCFv4.3 §1.5-1.6), plain, gzip or BGZF.

Reading is batch-vectorised in the bionumpy style:

* each record line is cut once into its eight fixed columns, FORMAT and the
  sample block (``bytes.split`` in C);
* the sample blocks of all records sharing a FORMAT string are joined into
  one ``uint8`` buffer; one pass over the separator bytes (``\\t`` ``:``)
  locates every per-sample value, and a second pass splits vectors
  (``,``) and genotypes (``/`` ``|``);
* integers are decoded from the digit bytes with one ``reduceat``; floats by
  one ``astype(float64)`` of a fixed-width byte matrix; genotypes for all
  samples at once.  No per-sample Python objects are made except for String
  values.

Strict mode (``strict=True``) additionally runs :mod:`.vcf_validate` and
raises :class:`FormatError` naming the field and line; the default lenient
mode reads such files with :func:`warnings.warn`.
"""
from __future__ import annotations

import gzip
import os
import warnings
import zlib

import numpy as np

from ...bgzf import BgzfReader, is_bgzf
from ...errors import FormatError, TruncatedFileError
from .batch import (FLOAT32_FILL, LazyFields, FLOAT32_MISSING, INT_FILL, INT_MISSING, STR_FILL, STR_MISSING,
                    VariantBatch, concat, float_is_fill, key_list_texts)
from .header import VariantHeader

__all__ = [
    "read_vcf",
    "iter_vcf_batches",
    "open_vcf_text",
    "read_vcf_header",
    "parse_vcf_lines",
    "write_vcf",
    "format_vcf_records",
    "format_float",
    "VcfWarning",
]

_TAB = 9
_MAX_LINE = 1 << 30


class VcfWarning(UserWarning):
    """A VCF spec violation read leniently."""


# ---------------------------------------------------------------------------- opening
def open_vcf_text(target, *, path=None):
    """Open a VCF (plain, gzip or BGZF) as a binary line stream.

    Parameters
    ----------
    target : str, os.PathLike or binary file object

    Returns
    -------
    (stream, path) : binary file object with ``readline``, and the name for errors.
    """
    if isinstance(target, (str, os.PathLike)):
        path = os.fspath(target)
        fh = open(path, "rb")
    else:
        fh = target
        path = path or getattr(target, "name", "<stream>")
    head = fh.read(2)
    fh.seek(0)
    if head == b"\x1f\x8b":
        if is_bgzf(fh):  # BGZF: block checks, CRC32 and the EOF marker (truncation is never silent)
            return BgzfReader(fh, path=str(path)).as_stream(), str(path)
        return gzip.GzipFile(fileobj=fh, mode="rb"), str(path)
    return fh, str(path)


class _Lines:
    """Line reader that converts decompression failures into HtsErrors and counts lines."""

    def __init__(self, stream, path):
        self.stream, self.path = stream, path
        self.lineno = 0

    def _wrap(self, fn, *a):
        try:
            return fn(*a)
        except EOFError as e:
            raise TruncatedFileError(f"compressed VCF ends early ({e})", path=self.path, field="gzip") from None
        except (OSError, zlib.error) as e:
            raise FormatError(f"cannot decompress VCF ({e})", path=self.path, field="gzip") from None

    def readline(self) -> bytes:
        line = self._wrap(self.stream.readline, _MAX_LINE)
        if line:
            self.lineno += 1
        return line

    def readlines(self, hint: int) -> list[bytes]:
        lines = self._wrap(self.stream.readlines, hint)
        self.lineno += len(lines)
        return lines


def read_vcf_header(lines: _Lines, path=None) -> tuple[VariantHeader, bytes | None]:
    """Read the header lines; returns the header and the first record line (or None)."""
    buf = []
    first = None
    while True:
        line = lines.readline()
        if not line:
            break
        if len(line) >= _MAX_LINE:
            raise FormatError(f"line {lines.lineno}: longer than {_MAX_LINE} bytes", path=path, field="line")
        if line.startswith(b"#"):
            buf.append(line)
            if line.startswith(b"#CHROM") or (line.startswith(b"#") and not line.startswith(b"##")):
                break
            continue
        first = line
        break
    if not buf:
        raise FormatError("no VCF header (file is empty or does not start with '##fileformat')", path=path,
                          offset=0, field="fileformat")
    if not buf[0].startswith(b"##fileformat=VCF") and not buf[0].startswith(b"##fileformat="):
        raise FormatError("first line is not '##fileformat=VCF...'", path=path, offset=0, field="fileformat")
    header = VariantHeader.parse(b"".join(buf), path=path)
    if first is None:
        first = lines.readline() or None
    return header, first


# ---------------------------------------------------------------------------- byte tools
def _gather(buf: np.ndarray, starts: np.ndarray, ends: np.ndarray):
    """Copy spans ``buf[s:e]`` into a new buffer, each followed by a TAB terminator."""
    n = len(starts)
    lengths = (ends - starts).astype(np.int64)
    off = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths + 1, out=off[1:])
    total = int(off[-1])
    if total == 0:
        return np.zeros(0, np.uint8), off[:-1], off[:-1]
    src = np.arange(total, dtype=np.int64) + np.repeat(starts.astype(np.int64) - off[:-1], lengths + 1)
    term = off[1:] - 1
    src[term] = 0
    sub = buf[src] if len(buf) else np.zeros(total, np.uint8)
    sub[term] = _TAB
    return sub, off[:-1], off[:-1] + lengths


def _split(sub: np.ndarray, seps: bytes, n_parent: int):
    """Tokens of TAB-terminated spans split at any byte of ``seps``.

    Returns ``(tok_start, tok_end, parent, rank, count)``; ``count[p]`` is
    the number of tokens of span ``p`` (at least 1), ``sep_before`` is the byte
    that preceded each token (0 for the first token of a span).
    """
    table = np.zeros(256, dtype=bool)
    table[_TAB] = True
    for c in seps:
        table[c] = True
    bpos = np.flatnonzero(table[sub])
    tok_end = bpos
    tok_start = np.empty_like(bpos)
    if len(bpos):
        tok_start[0] = 0
        tok_start[1:] = bpos[:-1] + 1
    is_term = sub[bpos] == _TAB
    parent = np.cumsum(is_term) - is_term
    first = np.zeros(n_parent + 1, dtype=np.int64)
    term_idx = np.flatnonzero(is_term)
    first[1:] = term_idx + 1
    rank = np.arange(len(bpos), dtype=np.int64) - first[parent]
    count = np.diff(first)
    sep_before = np.zeros(len(bpos), dtype=np.uint8)
    if len(bpos) > 1:
        sep_before[1:] = np.where(rank[1:] > 0, sub[bpos[:-1]], 0)
    return tok_start, tok_end, parent, rank, count, sep_before


def _is_dot(sub, ts, te):
    L = te - ts
    out = np.zeros(len(ts), dtype=bool)
    one = L == 1
    out[one] = sub[ts[one]] == ord(".")
    return out


#: sample cells parsed per step (bounds the size of the per-cell index arrays)
_SAMPLE_CELLS_PER_STEP = 1 << 19

_DIGIT = np.zeros(256, dtype=bool)
_DIGIT[48:58] = True


def _parse_ints(sub, ts, te):
    """Decode decimal integers in spans; returns (values int64, ok bool). '.' gives INT_MISSING, ok."""
    n = len(ts)
    vals = np.full(n, INT_MISSING, dtype=np.int64)
    ok = np.ones(n, dtype=bool)
    if n == 0:
        return vals, ok
    dot = _is_dot(sub, ts, te)
    L = te - ts
    first = np.where(L > 0, sub[np.minimum(ts, len(sub) - 1)], 0)
    neg = (first == ord("-")) & (L > 1)
    plus = (first == ord("+")) & (L > 1)
    ds = ts + (neg | plus)
    dl = te - ds
    work = ~dot
    ok &= ~(work & ((dl <= 0) | (dl > 18)))
    sel = np.flatnonzero(work & ok)
    if len(sel):
        s, l = ds[sel], dl[sel]
        off = np.zeros(len(sel) + 1, dtype=np.int64)
        np.cumsum(l, out=off[1:])
        pos = np.arange(off[-1], dtype=np.int64) + np.repeat(s - off[:-1], l)
        ch = sub[pos]
        good = _DIGIT[ch]
        bad_parent = np.zeros(len(sel), dtype=bool)
        if not good.all():
            owner = np.repeat(np.arange(len(sel)), l)
            bad_parent[owner[~good]] = True
        exp = np.repeat(s + l, l) - pos - 1
        pw = (10 ** np.minimum(exp, 18)).astype(np.int64)
        digit = (ch.astype(np.int64) - 48) * pw
        digit[~good] = 0
        v = np.add.reduceat(digit, off[:-1]) if len(digit) else np.zeros(len(sel), np.int64)
        v = np.where(neg[sel], -v, v)
        vals[sel] = v
        ok[sel] &= ~bad_parent
    vals[~ok] = INT_MISSING
    return vals, ok


def _tokens_bytes(sub, ts, te) -> list[bytes]:
    raw = sub.tobytes()
    return [raw[a:b] for a, b in zip(ts.tolist(), te.tolist())]


def _parse_floats(sub, ts, te):
    """Decode floats in spans; returns (values float32, ok bool). '.' gives the missing NaN."""
    n = len(ts)
    vals = np.full(n, FLOAT32_MISSING, dtype=np.float32)
    ok = np.ones(n, dtype=bool)
    if n == 0:
        return vals, ok
    dot = _is_dot(sub, ts, te)
    sel = np.flatnonzero(~dot)
    if len(sel):
        s, e = ts[sel], te[sel]
        L = e - s
        width = int(L.max()) if len(L) else 1
        if width == 0:
            ok[sel] = False
            return vals, ok
        mat = np.zeros((len(sel), width), dtype=np.uint8)
        col = np.arange(width)
        mask = col[None, :] < L[:, None]
        mat[mask] = sub[(s[:, None] + col[None, :])[mask]]
        arr = mat.view(f"S{width}").ravel()
        try:
            f = arr.astype(np.float64)
            good = L > 0
        except ValueError:
            f = np.zeros(len(sel))
            good = np.zeros(len(sel), dtype=bool)
            for i, b in enumerate(arr.tolist()):
                try:
                    f[i] = float(b) if b.strip() == b and b else np.nan
                    good[i] = bool(b) and b.strip() == b
                except ValueError:
                    pass
        with np.errstate(over="ignore"):
            vals[sel] = f.astype(np.float32)
        ok[sel] = good
        vals[sel[~good]] = FLOAT32_MISSING
    return vals, ok


# ---------------------------------------------------------------------------- value columns
def _width_for(fd, counts, n_allele_cells, ploidy_cells):
    """Axis width of a vector field (at least the declared count)."""
    obs = int(counts.max()) if len(counts) else 1
    if fd.number.isdigit():
        return max(int(fd.number), obs, 1)
    return max(obs, 1)


def _convert_values(buf, starts, ends, n_cells, fd, *, present=None, scalar=None, issue=None, where=None):
    """Turn one value span per cell into a typed array.

    Parameters
    ----------
    buf : uint8 array; starts, ends : spans (one per present cell)
    n_cells : int, number of cells (records, or records x samples)
    present : int array, cell index of each span
    scalar : bool, force a 1-D result (Number=1)
    issue : callable(cell, message, field) for bad values

    Returns
    -------
    values : ndarray (n_cells,) or (n_cells, k)
    counts : int array (n_cells,), values per cell (0 where absent)
    """
    t = fd.type
    counts = np.zeros(n_cells, dtype=np.int64)
    if t == "Flag":
        out = np.zeros(n_cells, dtype=bool)
        out[present] = True
        return out, counts
    sub, ss, se = _gather(buf, starts, ends)
    split_commas = not (t in ("String", "Character") and fd.number == "1")
    if split_commas:
        ts, te, parent, rank, cnt, _ = _split(sub, b",", len(starts))
    else:
        ts, te = ss, se
        parent = np.arange(len(starts))
        rank = np.zeros(len(starts), dtype=np.int64)
        cnt = np.ones(len(starts), dtype=np.int64)
    counts[present] = cnt
    if scalar is None:
        scalar = fd.number == "1"
    width = 1 if scalar else _width_for(fd, counts, None, None)
    if scalar and len(cnt) and cnt.max() > 1 and issue is not None:
        bad = present[np.flatnonzero(cnt > 1)[0]]
        issue(bad, f"{fd.id}: Number=1 but {int(counts[bad])} values", fd.id)
    keep = rank < width
    cell = present[parent[keep]]
    col = rank[keep]
    ts, te = ts[keep], te[keep]
    if t == "Integer":
        vals, ok = _parse_ints(sub, ts, te)
        if not ok.all() and issue is not None:
            i = np.flatnonzero(~ok)[0]
            issue(cell[i], f"{fd.id}: {bytes(sub[ts[i]:te[i]]).decode('utf-8', 'replace')!r} is not an Integer",
                  fd.id)
        big = (vals > 2**31 - 1) | (vals < -(2**31))
        if big.any():
            if issue is not None:
                i = np.flatnonzero(big)[0]
                issue(cell[i], f"{fd.id}: value {int(vals[i])} does not fit a 32-bit Integer", fd.id)
            vals[big] = INT_MISSING
        dtype, fillv, missv = np.int32, INT_FILL, INT_MISSING
    elif t == "Float":
        vals, ok = _parse_floats(sub, ts, te)
        if not ok.all() and issue is not None:
            i = np.flatnonzero(~ok)[0]
            issue(cell[i], f"{fd.id}: {bytes(sub[ts[i]:te[i]]).decode('utf-8', 'replace')!r} is not a Float",
                  fd.id)
        dtype, fillv, missv = np.float32, FLOAT32_FILL, FLOAT32_MISSING
    else:
        toks = _tokens_bytes(sub, ts, te)
        vals = np.empty(len(toks), dtype=object)
        try:
            vals[:] = [b.decode("utf-8") for b in toks]
        except UnicodeDecodeError:
            vals[:] = [b.decode("utf-8", "backslashreplace") for b in toks]
            if issue is not None:
                issue(cell[0], f"{fd.id}: value is not UTF-8", fd.id)
        if t == "Character" and issue is not None:
            lens = np.array([len(v) for v in vals.tolist()], dtype=np.int64)
            if (lens > 1).any():
                i = np.flatnonzero(lens > 1)[0]
                issue(cell[i], f"{fd.id}: {vals[i]!r} is not a single Character", fd.id)
        dtype, fillv, missv = object, STR_FILL, STR_MISSING
    if scalar:
        out = np.empty(n_cells, dtype=dtype) if dtype is object else np.empty(n_cells, dtype=dtype)
        out[...] = missv
        out[cell] = vals
    else:
        out = np.empty((n_cells, width), dtype=dtype)
        out[...] = fillv
        out[:, 0] = missv
        out[cell, col] = vals
    return out, counts


# ---------------------------------------------------------------------------- records
class _Ctx:
    def __init__(self, header, strict, path, first_lineno):
        self.header, self.strict, self.path, self.first_lineno = header, strict, path, first_lineno
        self.warned: set = set()

    def issue(self, rec: int, message: str, field: str, *, fatal: bool = True):
        line = self.first_lineno + int(rec)
        text = f"line {line}: {message}"
        if self.strict and fatal:
            raise FormatError(text, path=self.path, field=field)
        key = (field, message.split(":")[0])
        if key not in self.warned:
            self.warned.add(key)
            warnings.warn(f"{self.path}: {text}", VcfWarning, stacklevel=4)

    def error(self, rec: int, message: str, field: str):
        raise FormatError(f"line {self.first_lineno + int(rec)}: {message}", path=self.path, field=field)


def parse_vcf_lines(lines, header: VariantHeader, *, strict: bool = False, path=None, first_lineno: int = 1,
                    validator=None) -> VariantBatch:
    """Decode record lines into a :class:`VariantBatch` (VCFv4.3 §1.6).

    Parameters
    ----------
    lines : list of bytes
        Record lines (with or without ``\\n``), no header lines.
    header : VariantHeader
        Updated in place with dummy definitions for undeclared contigs,
        FILTERs and INFO/FORMAT keys (htslib does the same).
    strict : bool
        Raise :class:`FormatError` on spec violations instead of warning.
    path : str, optional
    first_lineno : int
        1-based line number of ``lines[0]`` in the file, for messages.
    validator : callable, optional
        ``validator(ctx, cols_list)`` run in strict mode for extra checks.

    Returns
    -------
    VariantBatch

    Raises
    ------
    FormatError
        Wrong column count, non-numeric POS, unparsable values (strict), ...
    """
    ctx = _Ctx(header, strict, path, first_lineno)
    n_samp = len(header.samples)
    rows = []
    for i, line in enumerate(lines):
        if line.endswith(b"\n"):
            line = line[:-1]
        if line.endswith(b"\r"):
            line = line[:-1]
        if not line:
            ctx.issue(i, "empty line", "line")
            continue
        cols = line.split(b"\t", 9)
        if len(cols) < 8:
            ctx.error(i, f"{len(cols)} tab-separated columns, a record needs at least 8", "line")
        if n_samp == 0 and len(cols) > 8:
            if len(cols) > 9 or cols[8] not in (b"",):
                ctx.issue(i, "sample columns present but the header lists no samples", "FORMAT")
        rows.append((i, cols))
    n = len(rows)
    recno = np.array([r[0] for r in rows], dtype=np.int64)
    if validator is not None:
        validator(ctx, rows)

    def dec(b: bytes, i, field) -> str:
        try:
            return b.decode("utf-8")
        except UnicodeDecodeError:
            ctx.issue(i, f"{field} is not UTF-8", field)
            return b.decode("utf-8", "backslashreplace")

    # CHROM
    contig = np.empty(n, dtype=np.int32)
    cmap = {name.encode("utf-8"): k for k, name in enumerate(header.contigs)}
    for j, (i, cols) in enumerate(rows):
        c = cmap.get(cols[0])
        if c is None:
            name = dec(cols[0], i, "CHROM")
            if not name:
                ctx.error(i, "CHROM is empty", "CHROM")
            ctx.issue(i, f"contig {name!r} is not defined in the header", "CHROM", fatal=False)
            header.declare_contig(name)
            c = cmap[cols[0]] = len(header.contigs) - 1
        contig[j] = c
    # POS
    pos_tok = [r[1][1] for r in rows]
    position = np.zeros(n, dtype=np.int64)
    if n:
        try:
            position = np.array(pos_tok, dtype=bytes).astype(np.int64)
            if any(not t.isdigit() for t in pos_tok):
                raise ValueError
        except (ValueError, OverflowError):
            for j, t in enumerate(pos_tok):
                if not t.isdigit() or len(t) > 18:
                    ctx.error(recno[j], f"POS {t.decode('utf-8', 'replace')!r} is not a non-negative integer",
                              "POS")
    # ID, REF, ALT, QUAL, FILTER
    ids = np.empty(n, dtype=object)
    allele_list: list[str] = []
    n_allele = np.zeros(n, dtype=np.int64)
    qual_tok = []
    fids = {f: k for k, f in enumerate(header.filters)}
    filter_hits: list[tuple[int, int]] = []
    filter_missing = np.zeros(n, dtype=bool)
    filter_order = np.empty(n, dtype=object)
    filter_order[:] = ""
    for j, (i, cols) in enumerate(rows):
        ids[j] = dec(cols[2], i, "ID")
        ref = dec(cols[3], i, "REF")
        alt = cols[4]
        if alt == b"." or alt == b"":
            alts = []
        else:
            alts = dec(alt, i, "ALT").split(",")
        allele_list.append(ref)
        allele_list.extend(alts)
        n_allele[j] = 1 + len(alts)
        qual_tok.append(cols[5])
        f = cols[6]
        if f == b"PASS":
            filter_hits.append((j, 0))
        elif f == b"." or f == b"":
            filter_missing[j] = True
        else:
            names = dec(f, i, "FILTER").split(";")
            if len(names) > 1:
                filter_order[j] = ";".join(names)
            for name in names:
                k = fids.get(name)
                if k is None:
                    ctx.issue(i, f"FILTER {name!r} is not defined in the header", "FILTER", fatal=False)
                    header.declare_filter(name)
                    k = fids[name] = len(fids)
                filter_hits.append((j, k))
    allele = np.empty(len(allele_list), dtype=object)
    allele[:] = allele_list
    allele_offset = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(n_allele, out=allele_offset[1:])
    filters = np.zeros((n, len(header.filters)), dtype=bool)
    if filter_hits:
        fh = np.array(filter_hits, dtype=np.int64)
        filters[fh[:, 0], fh[:, 1]] = True
    # QUAL: vectorised over the batch
    qbuf = np.frombuffer(b"\t".join(qual_tok) + b"\t", dtype=np.uint8) if n else np.zeros(0, np.uint8)
    if n:
        qts, qte, _, _, _, _ = _split(qbuf, b"", n)
        quality, qok = _parse_floats(qbuf, qts, qte)
        if not qok.all():
            j = np.flatnonzero(~qok)[0]
            ctx.issue(recno[j], f"QUAL {qual_tok[j].decode('utf-8', 'replace')!r} is not a number", "QUAL")
    else:
        quality = np.zeros(0, np.float32)
    ref_len = np.array([len(a) for a in allele[allele_offset[:-1]]], dtype=np.int64) if n else np.zeros(0,
                                                                                                       np.int64)
    # INFO
    info_keys = np.empty(n, dtype=object)
    info_keys[:] = ""
    with_info = [j for j, (_, cols) in enumerate(rows) if cols[7] not in (b".", b"")]
    texts = [rows[j][1][7] for j in with_info]
    ibuf = np.frombuffer(b"\t".join(texts) + b"\t", dtype=np.uint8) if texts else np.zeros(0, np.uint8)
    info_spans = _info_items(ctx, ibuf, np.array(with_info, dtype=np.int64), recno, info_keys) if texts else {}
    info = {}
    info_present = {}
    flag_values: dict = {}
    info_bare: dict = {}
    stop = position - 1 + ref_len
    for keyb, spans in info_spans.items():
        key = keyb.decode("utf-8", "backslashreplace")
        fd = header.info.get(key)
        arr = np.array(spans, dtype=np.int64)
        has_value = arr[:, 1] >= 0
        if fd is None:
            first_i = recno[arr[0, 0]]
            ctx.issue(first_i, f"INFO {key!r} is not defined in the header", "INFO", fatal=False)
            fd = header.declare_field("INFO", key, flag=not has_value.any())
            if strict:
                _use_reserved(header.info, key, "INFO")
        present = arr[:, 0]
        if len(np.unique(present)) != len(present):
            ctx.issue(recno[present[np.flatnonzero(np.diff(np.sort(present)) == 0)[0]]],
                      f"INFO {key} appears twice in a record", "INFO")
        if fd.type == "Flag":
            if has_value.any():
                k = np.flatnonzero(has_value)[0]
                j = arr[k, 0]
                val = bytes(ibuf[arr[k, 1]:arr[k, 2]])
                ctx.issue(recno[j], f"INFO {key} is a Flag but has the value {val.decode('utf-8', 'replace')!r}",
                          key, fatal=val not in (b"0", b"1"))
                # kept for writers: htslib prints such a Flag back with its value
                texts = np.empty(n, dtype=object)
                for rec, vs, ve in arr[has_value].tolist():
                    texts[rec] = bytes(ibuf[vs:ve]).decode("utf-8", "backslashreplace")
                flag_values[key] = texts
        else:
            if not has_value.all():
                j = arr[np.flatnonzero(~has_value)[0], 0]
                ctx.issue(recno[j], f"INFO {key} has no value", key)
                bare = np.zeros(n, dtype=bool)
                bare[arr[~has_value, 0]] = True  # htslib prints the key alone again
                info_bare[key] = bare
            arr = arr[has_value] if fd.type != "Flag" else arr
        def issue(cell, message, field, _r=recno):
            ctx.issue(_r[cell], "INFO " + message, field)
        vals, counts = _convert_values(ibuf, arr[:, 1], arr[:, 2], n, fd, present=arr[:, 0]
                                       if fd.type != "Flag" else present, issue=issue)
        info[key] = vals
        pres = np.zeros(n, dtype=bool)
        pres[present] = True
        info_present[key] = pres
        if fd.type != "Flag" and fd.number in ("A", "R"):
            exp = n_allele - (1 if fd.number == "A" else 0)
            bad = np.flatnonzero(pres & (counts != exp) & ~((counts == 1) & _first_missing(vals)) & (n_allele > 1))
            if len(bad):
                ctx.issue(recno[bad[0]], f"INFO {key}: Number={fd.number} expects {int(exp[bad[0]])} values, "
                                         f"found {int(counts[bad[0]])}", key)
        elif fd.type != "Flag" and fd.number.isdigit() and fd.number not in ("0",):
            bad = np.flatnonzero(pres & (counts != int(fd.number)) & ~((counts == 1) & _first_missing(vals)))
            if len(bad) and fd.number != "1":
                ctx.issue(recno[bad[0]], f"INFO {key}: Number={fd.number} but {int(counts[bad[0]])} values", key)
    if "END" in info and info["END"].dtype.kind in "iu":
        end = info["END"] if info["END"].ndim == 1 else info["END"][:, 0]
        use = info_present["END"] & (end >= 0)
        small = use & (end < position)
        if small.any():
            j = np.flatnonzero(small)[0]
            ctx.issue(recno[j], f"INFO/END={int(end[j])} is smaller than POS", "END", fatal=False)
        use &= ~small
        stop = np.where(use, end.astype(np.int64), stop)
    # FORMAT + samples
    format_keys = np.empty(n, dtype=object)
    format_keys[:] = ""
    fmt_out: dict[str, np.ndarray] = {}
    genotype = np.full((n, n_samp, 0), INT_FILL, dtype=np.int16)
    phased = np.zeros((n, n_samp), dtype=bool)
    if n_samp and n:
        groups: dict[bytes, list[int]] = {}
        for j, (i, cols) in enumerate(rows):
            if len(cols) < 10:
                if len(cols) == 9 and cols[8] not in (b"", b"."):
                    ctx.error(i, f"FORMAT present but {n_samp} sample column(s) missing", "FORMAT")
                elif len(cols) >= 9:
                    ctx.issue(i, f"no sample columns but the header lists {n_samp} samples", "FORMAT")
                continue
            if cols[8] == b".":
                continue
            groups.setdefault(cols[8], []).append(j)
        gt_parts = []
        fmt_pending = None if strict else {}
        for fkey, members in groups.items():
            mem = np.array(members, dtype=np.int64)
            keys = fkey.decode("utf-8", "backslashreplace").split(":")
            format_keys[mem] = fkey.decode("utf-8", "backslashreplace")
            # a few thousand records at a time: the per-cell arrays stay small enough to reuse memory
            step = max(1, _SAMPLE_CELLS_PER_STEP // n_samp)
            for k in range(0, len(mem), step):
                _parse_sample_block(ctx, rows, mem[k:k + step], recno, keys, n, n_samp, n_allele, fmt_out, gt_parts,
                                    fmt_pending)
        if fmt_pending:
            fmt_out = LazyFields(fmt_out, {key: _pending_format(parts, key, n, n_samp)
                                           for key, parts in fmt_pending.items()})
        if gt_parts:
            p = max(g[1].shape[2] for g in gt_parts)
            gmax = max(int(g[1].max()) if g[1].size else 0 for g in gt_parts)
            gdt = np.int8 if gmax < 127 else (np.int16 if gmax < 32767 else np.int32)
            genotype = np.full((n, n_samp, p), INT_FILL, dtype=gdt)
            for mem, g, ph in gt_parts:
                genotype[mem, :, :g.shape[2]] = g
                phased[mem] = ph
            nogt = np.ones(n, dtype=bool)
            for mem, _, _ in gt_parts:
                nogt[mem] = False
            genotype[nogt, :, 0] = INT_MISSING if p else INT_FILL
    # widen genotype for missing-GT records handled: int8 default
    if genotype.shape[2] == 0:
        genotype = genotype.astype(np.int8)
    return VariantBatch(contig=contig, position=position, stop=stop, id=ids, allele=allele,
                        allele_offset=allele_offset, quality=quality, filters=filters,
                        filter_ids=list(header.filters), filter_missing=filter_missing, info=info,
                        info_present=info_present, format=fmt_out, format_keys=format_keys, genotype=genotype,
                        phased=phased, samples=list(header.samples), info_keys=info_keys,
                        filter_order=filter_order, info_flag_values=flag_values, info_bare=info_bare)


def _info_items(ctx, ibuf, rec_of_text, recno, info_keys) -> dict:
    """Split every INFO column at once (VCFv4.3 §1.6.1 column 8): ``key -> (items, 3)`` rows ``(record, vs, ve)``.

    ``ibuf`` holds the INFO texts of the records ``rec_of_text``, each followed
    by a TAB.  ``vs, ve`` bound an item's value in ``ibuf`` (-1, -1 for a key
    without ``=``).  Keys are in order of first appearance; ``info_keys`` gets
    each record's keys joined by ``;`` (what writers reproduce).
    """
    ts, te, parent, rank, cnt, _ = _split(ibuf, b";", len(rec_of_text))
    eqpos = np.flatnonzero(ibuf == ord("="))
    if len(eqpos):
        k = np.searchsorted(eqpos, ts)
        cand = eqpos[np.minimum(k, len(eqpos) - 1)]
        has_eq = (k < len(eqpos)) & (cand < te)
    else:
        cand = ts
        has_eq = np.zeros(len(ts), dtype=bool)
    kend = np.where(has_eq, cand, te)
    klen = kend - ts
    empty = klen == 0
    if empty.any():
        for item in np.flatnonzero(empty).tolist():  # warns (or raises when strict) once per empty key
            ctx.issue(recno[rec_of_text[parent[item]]], "empty INFO key", "INFO")
        keep = ~empty
        ts, te, parent, has_eq, kend, klen = ts[keep], te[keep], parent[keep], has_eq[keep], kend[keep], klen[keep]
    out: dict = {}
    if not len(ts):
        return out
    # identify keys exactly: their bytes, zero-padded to a multiple of 8, plus their length
    width = (int(klen.max()) + 1 + 7) // 8 * 8
    cols = np.arange(width - 1, dtype=np.int64)
    mat = np.zeros((len(ts), width), dtype=np.uint8)
    inside = cols[None, :] < klen[:, None]
    mat[:, :-1] = np.where(inside, ibuf[np.minimum(ts[:, None] + cols[None, :], len(ibuf) - 1)], 0)
    mat[:, -1] = np.minimum(klen, 255)
    rows = mat.view(np.dtype((np.void, width))).ravel() if width > 8 else mat.view(np.uint64).ravel()
    uniq, first, code = np.unique(rows, return_index=True, return_inverse=True)
    code = code.reshape(-1)
    names = [bytes(ibuf[ts[i]:kend[i]]) for i in first.tolist()]
    rec = rec_of_text[parent]
    vs = np.where(has_eq, kend + 1, -1)
    ve = np.where(has_eq, te, -1)
    order = np.argsort(code, kind="stable")
    bounds = np.searchsorted(code[order], np.arange(len(uniq) + 1))
    for u in np.argsort(first, kind="stable").tolist():  # keys in order of first appearance
        sel = order[bounds[u]:bounds[u + 1]]
        out[names[u]] = np.stack([rec[sel], vs[sel], ve[sel]], axis=1)
    # each record's key list, as text (one string per distinct list)
    per = np.bincount(parent, minlength=len(rec_of_text))
    first_item = np.zeros(len(rec_of_text) + 1, dtype=np.int64)
    np.cumsum(per, out=first_item[1:])
    slot = np.arange(len(parent)) - first_item[parent]
    seq = np.full((len(rec_of_text), max(int(per.max()), 1)), -1, dtype=np.int32)
    seq[parent, slot] = code
    info_keys[rec_of_text] = key_list_texts(
        seq, lambda cs: b";".join(names[c] for c in cs).decode("utf-8", "backslashreplace"))
    return out


def _use_reserved(table, key, kind):
    """Strict mode: an undeclared reserved key gets its reserved Number/Type (VCFv4.3 §1.6.1-1.6.2)."""
    from .vcf_validate import RESERVED_FORMAT, RESERVED_INFO

    res = (RESERVED_INFO if kind == "INFO" else RESERVED_FORMAT).get(key)
    fd = table[key]
    if res is not None and res[1] is not None:
        fd.number, fd.type = res
        fd.attrs.update(Number=res[0], Type=res[1])
    return fd


def _first_missing(vals):
    v = vals if vals.ndim == 1 else vals[:, 0]
    if v.dtype.kind in "iu":
        return v == INT_MISSING
    if v.dtype.kind == "f":
        return np.isnan(v)
    if v.dtype.kind == "O":
        return np.array([x == STR_MISSING for x in v.tolist()], dtype=bool)
    return np.zeros(len(v), dtype=bool)


def _parse_sample_block(ctx, rows, mem, recno, keys, n, n_samp, n_allele, fmt_out, gt_parts, fmt_pending=None):
    """Decode the sample columns of records ``mem`` (all with FORMAT ``keys``).

    GT is decoded now (a fast path for one-character diploid calls such as
    ``0/1``, ``1|1`` or ``./.``).  The other keys go to ``fmt_pending`` as
    loaders (``key -> [(mem, load), ...]``) when it is given (not in strict
    mode), else they are decoded now into ``fmt_out``.
    """
    header = ctx.header
    m = len(mem)
    blob = b"\t".join(rows[j][1][9] for j in mem.tolist()) + b"\t"
    buf = np.frombuffer(blob, dtype=np.uint8)
    # sample boundaries
    tabs = np.flatnonzero(buf == _TAB)
    if len(tabs) != m * n_samp:
        # find the offending record
        is_tab = (buf == _TAB).astype(np.int64)
        per = np.add.reduceat(is_tab, np.r_[0, np.cumsum([len(rows[j][1][9]) + 1 for j in mem.tolist()])[:-1]])
        bad = np.flatnonzero(per != n_samp)[0]
        ctx.error(recno[mem[bad]], f"{int(per[bad])} sample columns, the header lists {n_samp}", "samples")
    n_cells = m * n_samp
    nk = len(keys)
    split_cache: list = []

    def split():
        """Subfield boundaries of every cell (computed once, when a field needs them)."""
        if not split_cache:
            ts, te, parent, rank, cnt, _ = _split(buf, b":", n_cells)
            if cnt.max() > nk:
                cell = int(np.flatnonzero(cnt > nk)[0])
                ctx.issue(recno[mem[cell // n_samp]], f"sample {header.samples[cell % n_samp]!r} has "
                                                      f"{int(cnt[cell])} fields but FORMAT lists {nk}", "FORMAT")
            split_cache.append((ts, te, parent, rank))
        return split_cache[0]

    if ctx.strict:
        split()
    seen = set()
    for k, key in enumerate(keys):
        if key in seen:
            ctx.issue(recno[mem[0]], f"FORMAT {key} listed twice", "FORMAT")
        seen.add(key)
        if not key:
            ctx.issue(recno[mem[0]], "empty FORMAT key", "FORMAT")
            continue
        if key == "GT":
            if k != 0:
                ctx.issue(recno[mem[0]], "GT is not the first FORMAT key", "GT")
            fast = None
            if k == 0 and not ctx.strict:
                cell_start = np.empty(n_cells, dtype=np.int64)
                cell_start[0] = 0
                cell_start[1:] = tabs[:-1] + 1
                fast = _fast_diploid_gt(ctx, buf, cell_start, recno[mem], n_samp, n_allele[mem])
            if fast is None:
                ts, te, parent, rank = split()
                sel = rank == k
                g, ph = _parse_gt(ctx, buf, ts[sel], te[sel], parent[sel], n_cells, recno[mem], n_samp,
                                  n_allele[mem])
            else:
                g, ph = fast
            gt_parts.append((mem, g.reshape(m, n_samp, -1), ph.reshape(m, n_samp)))
            if "GT" not in header.format:
                ctx.issue(recno[mem[0]], "FORMAT GT is not defined in the header", "GT", fatal=False)
                header.declare_field("FORMAT", "GT")
            continue
        fd = header.format.get(key)
        if fd is None:
            ctx.issue(recno[mem[0]], f"FORMAT {key!r} is not defined in the header", "FORMAT", fatal=False)
            fd = header.declare_field("FORMAT", key)
            if ctx.strict:
                fd = _use_reserved(header.format, key, "FORMAT")
        if fd.type == "Flag":
            ctx.issue(recno[mem[0]], f"FORMAT {key} has Type=Flag", key)
            fd = header.declare_field("FORMAT", key)

        def load(k=k, key=key, fd=fd):
            ts, te, parent, rank = split()
            sel = rank == k

            def issue(cell, message, field, _r=recno[mem]):
                ctx.issue(_r[int(cell) // n_samp], "FORMAT " + message, field)

            vals, counts = _convert_values(buf, ts[sel], te[sel], n_cells, fd, present=parent[sel], issue=issue)
            vals = vals.reshape((m, n_samp) + vals.shape[1:])
            if fd.number in ("A", "R") and ctx.strict:
                exp = np.repeat(n_allele[mem] - (1 if fd.number == "A" else 0), n_samp)
                fm = _first_missing(vals.reshape((n_cells,) + vals.shape[2:]))
                bad = np.flatnonzero((counts > 0) & (counts != exp) & ~((counts == 1) & fm))
                if len(bad):
                    issue(bad[0], f"{key}: Number={fd.number} expects {int(exp[bad[0]])} values, found "
                                  f"{int(counts[bad[0]])}", key)
            return vals

        if fmt_pending is not None:
            fmt_pending.setdefault(key, []).append((mem, load))
        else:
            _merge_format_block(fmt_out, key, mem, load(), n, n_samp)


def _merge_format_block(fmt_out, key, mem, vals, n, n_samp) -> None:
    """Put one FORMAT block's values (``mem`` records) into the batch-wide array ``fmt_out[key]``."""
    prev = fmt_out.get(key)
    if prev is None:
        shape = (n, n_samp) + vals.shape[2:]
        full = np.empty(shape, dtype=vals.dtype)
        mv = INT_MISSING if vals.dtype.kind in "iu" else (FLOAT32_MISSING if vals.dtype.kind == "f"
                                                          else STR_MISSING)
        fv = INT_FILL if vals.dtype.kind in "iu" else (FLOAT32_FILL if vals.dtype.kind == "f" else STR_FILL)
        full[...] = fv
        if len(shape) == 2:
            full[...] = mv
        else:
            full[..., 0] = mv
        fmt_out[key] = prev = full
    if prev.ndim == 3 and vals.ndim == 3 and vals.shape[2] > prev.shape[2]:
        from .batch import _pad_axis

        prev = fmt_out[key] = _pad_axis(prev, 2, vals.shape[2])
    if prev.ndim == 3 and vals.ndim == 3 and vals.shape[2] < prev.shape[2]:
        from .batch import _pad_axis

        vals = _pad_axis(vals, 2, prev.shape[2])
    prev[mem] = vals


def _pending_format(parts, key, n, n_samp):
    """Loader of one FORMAT key of a batch from its blocks' loaders."""
    def load():
        out: dict = {}
        for mem, block in parts:
            _merge_format_block(out, key, mem, block(), n, n_samp)
        return out[key]
    return load


def _allele_out_of_range(ctx, rec_lines, n_samp: int, cell: int, allele: int, n_alleles: int) -> None:
    """Report a GT allele index past the record's alleles (VCFv4.3 §1.6.2)."""
    ctx.issue(rec_lines[cell // n_samp], f"GT allele {allele} of sample {ctx.header.samples[cell % n_samp]!r} "
                                         f"is out of range ({n_alleles} alleles)", "GT")


def _fast_diploid_gt(ctx, buf, cs, rec_lines, n_samp, n_allele):
    """GT of every cell when all are ``a/b`` or ``a|b`` with one-character alleles (digit or ``.``).

    The four bytes from each cell start are read as one little-endian word
    (``a``, separator, ``b``, then ``:`` or the TAB ending the cell).
    Returns ``(alleles int32 (cells, 2), phased (cells,))``, or None when any
    cell has another shape (the general parser then takes the block).
    """
    if not len(cs) or len(buf) < 4 or int(cs[-1]) + 4 > len(buf):
        return None
    words = np.ndarray(buffer=buf, dtype="<u4", shape=(len(buf) - 3,), strides=(1,))[cs]
    sep = (words >> 8) & 0xFF
    end = words >> 24
    a0 = (words & 0xFF).astype(np.int32)
    a1 = ((words >> 16) & 0xFF).astype(np.int32)
    ok = ((sep == ord("/")) | (sep == ord("|"))) & ((end == ord(":")) | (end == _TAB))
    ok &= ((a0 - 48).astype(np.uint32) < 10) | (a0 == ord("."))
    ok &= ((a1 - 48).astype(np.uint32) < 10) | (a1 == ord("."))
    if not ok.all():
        return None
    g = np.empty((len(cs), 2), dtype=np.int32)
    g[:, 0] = np.where(a0 == ord("."), INT_MISSING, a0 - 48)
    g[:, 1] = np.where(a1 == ord("."), INT_MISSING, a1 - 48)
    na = np.repeat(n_allele, n_samp)
    over = (g >= na[:, None]) & (na[:, None] > 1)  # ALT '.' records: not checked
    if over.any():
        cell, side = np.argwhere(over)[0]
        _allele_out_of_range(ctx, rec_lines, n_samp, int(cell), int(g[cell, side]), int(na[cell]))
    return g, sep == ord("|")


def _parse_gt(ctx, buf, s, e, cells, n_cells, rec_lines, n_samp, n_allele):
    """Genotypes of all cells at once (VCFv4.3 §1.6.2 GT): returns (alleles (cells, p), phased (cells,))."""
    sub, ss, se = _gather(buf, s, e)
    ts, te, parent, rank, cnt, sep_before = _split(sub, b"/|", len(s))
    # VCF 4.4 leading phasing prefix: an empty first token followed by '/' or '|'
    lead = (rank == 0) & (te == ts) & (cnt[parent] > 1)
    if lead.any():
        lead_parent = parent[lead]
        keep = ~lead
        # the separator after the empty token is the phase of the first allele; drop the empty token
        ts, te, parent = ts[keep], te[keep], parent[keep]
        sep_before = sep_before[keep]
        first_tok = np.zeros(len(s) + 1, dtype=np.int64)
        cnt = cnt.copy()
        cnt[lead_parent] -= 1
        np.cumsum(cnt, out=first_tok[1:])
        rank = np.arange(len(ts)) - first_tok[parent]
        sep_before = np.where(rank == 0, 0, sep_before)
    vals, ok = _parse_ints(sub, ts, te)
    if not ok.all() or (vals < INT_MISSING).any():
        i = int(np.flatnonzero(~ok | (vals < INT_MISSING))[0])
        cell = cells[parent[i]]
        tok = bytes(buf[s[parent[i]]:e[parent[i]]]).decode("utf-8", "replace")
        ctx.issue(rec_lines[cell // n_samp], f"GT {tok!r} of sample {ctx.header.samples[cell % n_samp]!r} is not a "
                                             "genotype", "GT")
        vals[~ok] = INT_MISSING
    p = int(cnt.max()) if len(cnt) else 1
    g = np.full((n_cells, max(p, 1)), INT_FILL, dtype=np.int32)
    g[:, 0] = INT_MISSING
    g[cells[parent], rank] = vals
    ph = np.ones(n_cells, dtype=bool)
    unph = (rank > 0) & (sep_before != ord("|"))
    ph[cells[parent[unph]]] = False
    if len(cells) < n_cells:
        absent = np.ones(n_cells, dtype=bool)
        absent[cells] = False
    # allele range check
    na = np.repeat(n_allele, n_samp)
    over = (vals >= na[cells[parent]]) & (na[cells[parent]] > 1)  # ALT '.' records: not checked
    if over.any():
        i = int(np.flatnonzero(over)[0])
        cell = int(cells[parent[i]])
        _allele_out_of_range(ctx, rec_lines, n_samp, cell, int(vals[i]), int(na[cell]))
    return g, ph


# ---------------------------------------------------------------------------- public readers
def iter_vcf_batches(target, n: int = 100_000, *, strict: bool = False, path=None, header_only=False):
    """Read a VCF in batches of at most ``n`` records (bounded memory).

    Parameters
    ----------
    target : str, os.PathLike or binary file object
        Plain, gzip or BGZF VCF.
    n : int
        Records per batch.
    strict : bool
        Raise :class:`FormatError` on spec violations (see :mod:`.vcf_validate`).

    Yields
    ------
    VariantHeader
        First, the header.
    VariantBatch
        Then one batch per ``n`` records.

    Raises
    ------
    FormatError, TruncatedFileError
    """
    stream, path = open_vcf_text(target, path=path)
    lines = _Lines(stream, path)
    try:
        header, first = read_vcf_header(lines, path)
        validator = None
        if strict:
            from .vcf_validate import RecordValidator, check_header

            check_header(header, path=path)
            validator = RecordValidator(header)
        yield header
        if header_only:
            return
        pending = [first] if first else []
        lineno = lines.lineno - len(pending) + 1
        while True:
            while len(pending) < n:
                more = lines.readlines(1 << 22)
                if not more:
                    break
                pending.extend(more)
            if not pending:
                break
            chunk, pending = pending[:n], pending[n:]
            if chunk and not chunk[-1].endswith(b"\n") and pending:
                pass
            hdr_like = [k for k, ln in enumerate(chunk) if ln.startswith(b"#")]
            if hdr_like:
                raise FormatError(f"line {lineno + hdr_like[0]}: header line after the first record", path=path,
                                  field="header")
            batch = parse_vcf_lines(chunk, header, strict=strict, path=path, first_lineno=lineno,
                                    validator=validator)
            lineno += len(chunk)
            yield batch
        if validator is not None:
            validator.finish(path)
    finally:
        if stream is not target:
            stream.close()


def read_vcf(target, *, strict: bool = False, path=None) -> tuple[VariantHeader, VariantBatch]:
    """Read a whole VCF: returns ``(VariantHeader, VariantBatch)``; see :func:`iter_vcf_batches`."""
    it = iter_vcf_batches(target, 250_000, strict=strict, path=path)
    header = next(it)
    batches = list(it)
    if not batches:
        return header, VariantBatch.empty(list(header.filters), header.samples)
    b = concat(batches)
    b.filter_ids = list(header.filters)
    if b.filters.shape[1] < len(header.filters):
        from .batch import _pad_axis

        b.filters = _pad_axis(b.filters, 1, len(header.filters))
    return header, b


# ---------------------------------------------------------------------------- writer
def format_float(x) -> str:
    """Render a Float as htslib does (``%g``: 6 significant digits, ``-0`` kept).

    The missing NaN pattern gives ``.``; any other NaN gives ``nan``.
    """
    if np.isnan(x):
        bits = int(np.float32(x).view(np.uint32)) if isinstance(x, np.floating) else 0
        return "." if bits in (0, 0x7F800001) else "nan"
    if np.isinf(x):
        return "inf" if x > 0 else "-inf"
    return "%g" % x


def _fmt_scalar(v, kind) -> str:
    if kind == "i":
        return "." if v == INT_MISSING else str(int(v))
    if kind == "f":
        return format_float(v)
    return str(v)


def _fmt_vector(row, kind, bits=None) -> str:
    """Values of one cell: stop at the first fill; '.' for missing."""
    parts = []
    for k, v in enumerate(row):
        if kind == "i":
            if v == INT_FILL:
                break
            parts.append("." if v == INT_MISSING else str(int(v)))
        elif kind == "f":
            if bits is not None and bits[k]:
                break
            parts.append(format_float(v))
        else:
            if v == STR_FILL and k > 0:
                break
            parts.append(v)
    return ",".join(parts) if parts else "."


def format_vcf_records(header: VariantHeader, batch: VariantBatch) -> list[str]:
    """Render every record of ``batch`` as a VCF line (no newline), htslib style."""
    contigs = header.contig_names
    out = []
    n = len(batch)
    alle = batch.allele
    aoff = batch.allele_offset
    ifill = {k: float_is_fill(v) for k, v in batch.info.items() if v.dtype.kind == "f"}
    ffill = {k: float_is_fill(v) for k, v in batch.format.items() if v.dtype.kind == "f"}
    info_defs = header.info
    for i in range(n):
        a = alle[aoff[i]:aoff[i + 1]]
        ref = a[0] if len(a) else "."
        alt = ",".join(a[1:]) if len(a) > 1 else "."
        q = batch.quality[i]
        qual = format_float(q)
        filt = batch.filter_text(i)
        items = []
        order = batch.info.keys() if batch.info_keys is None else (batch.info_keys[i].split(";")
                                                                   if batch.info_keys[i] else ())
        for key in order:
            arr = batch.info.get(key)
            if arr is None or not batch.info_present[key][i]:
                continue
            fd = info_defs.get(key)
            if arr.dtype == bool and (fd is None or fd.type == "Flag"):
                given = batch.info_flag_values.get(key)
                items.append(key if given is None or given[i] is None else f"{key}={given[i]}")
                continue
            bare = batch.info_bare.get(key)
            if bare is not None and bare[i]:
                items.append(key)
                continue
            v = arr[i]
            if arr.ndim == 1:
                s = _fmt_scalar(v, arr.dtype.kind if arr.dtype.kind in "if" else "O")
            else:
                s = _fmt_vector(v, arr.dtype.kind if arr.dtype.kind in "if" else "O",
                                ifill[key][i] if key in ifill else None)
            items.append(f"{key}={s}")
        info = ";".join(items) if items else "."
        cols = [contigs[batch.contig[i]], str(int(batch.position[i])), batch.id[i], ref, alt, qual, filt, info]
        fk = batch.format_keys[i]
        if batch.n_samples:
            if fk:
                keys = fk.split(":")
                cols.append(fk)
                for sidx in range(batch.n_samples):
                    vals = []
                    for key in keys:
                        if key == "GT":
                            vals.append(_fmt_gt(batch.genotype[i, sidx], batch.phased[i, sidx]))
                            continue
                        arr = batch.format.get(key)
                        if arr is None:
                            vals.append(".")
                            continue
                        v = arr[i, sidx]
                        kind = arr.dtype.kind if arr.dtype.kind in "if" else "O"
                        if arr.ndim == 2:
                            vals.append(_fmt_scalar(v, kind))
                        else:
                            vals.append(_fmt_vector(v, kind, ffill[key][i, sidx] if key in ffill else None))
                    cols.append(":".join(vals))
            else:
                cols.append(".")
                cols.extend("." for _ in range(batch.n_samples))
        out.append("\t".join(cols))
    return out


def _fmt_gt(g, phased) -> str:
    parts = []
    for v in g:
        if v == INT_FILL:
            break
        parts.append("." if v == INT_MISSING else str(int(v)))
    if not parts:
        return "."
    return ("|" if phased else "/").join(parts)


def write_vcf(target, header: VariantHeader, batches, *, compress: bool | None = None,
              htslib_header: bool = False) -> None:
    """Write VCF text (plain or BGZF).

    Parameters
    ----------
    target : str, os.PathLike or binary file object
    header : VariantHeader
    batches : VariantBatch or iterable of VariantBatch
    compress : bool, optional
        BGZF-compress; default: when ``target`` is a path ending ``.gz``/``.bgz``.
    htslib_header : bool
        Add the ``PASS`` FILTER line and dummy definitions, as htslib does.
    """
    if isinstance(batches, VariantBatch):
        batches = [batches]
    if compress is None:
        compress = isinstance(target, (str, os.PathLike)) and os.fspath(target).endswith((".gz", ".bgz"))
    own = isinstance(target, (str, os.PathLike))
    fh = open(target, "wb") if own else target
    try:
        if compress:
            from ...bgzf import BgzfWriter

            w = BgzfWriter(fh)
        else:
            w = fh
        w.write(header.to_text(include_undeclared=htslib_header, add_pass=htslib_header).encode("utf-8"))
        for b in batches:
            lines = format_vcf_records(header, b)
            if lines:
                w.write(("\n".join(lines) + "\n").encode("utf-8"))
        if compress:
            w.close()
    finally:
        if own:
            fh.close()
