"""Build TBI / CSI indexes of bgzipped text files, as ``tabix`` 1.16 does.

Each data line is turned into an interval by the column spec of a
:class:`~hts_notebook.core.index.tbi.TabixConfig` (``tbx_parse1`` rules):

* the begin column is read like C ``strtoll(s, NULL, 0)``; 1-based unless the
  ``TBX_UCSC`` flag (``-0``, BED) is set; begin is clamped to 0 and end to 1;
* generic files take the end from the end column (``col_end``; 0 = none, the
  interval is then one base);
* SAM: end = begin + reference length of the CIGAR (M/D/N; 1 if none);
* VCF: end = begin + ``len(REF)``, replaced by ``INFO/END`` when that is
  larger than the 0-based begin.

Lines starting with ``meta_char`` and the first ``line_skip`` lines are
skipped; lines that cannot be parsed are skipped too (htslib 1.16 logs them).
The per-line intervals and the virtual offsets htslib's ``bgzf_tell`` reports
after each line feed :func:`hts_notebook.core.index.model.build_index`.
Coordinates are 0-based half-open throughout.
"""
from __future__ import annotations

import re

import numpy as np

from ..bgzf import BgzfReader, make_voffset
from ..errors import FormatError
from .model import BinningIndex, build_index
from .tbi import TBX_SAM, TBX_UCSC, TBX_VCF, TabixConfig, pack_tabix_header

__all__ = ["parse_interval", "c_strtoll", "scan_lines", "build_tabix_index", "tabix_csi_depth", "TBX_MAX_SHIFT"]

TBX_MAX_SHIFT = 31
_LLONG_MAX = (1 << 63) - 1
_LLONG_MIN = -(1 << 63)
_STRTOLL = re.compile(rb"[ \t\n\v\f\r]*([+-]?)(0[xX](?=[0-9a-fA-F])|0)?([0-9a-fA-F]*)")
_CIGAR = re.compile(rb"(-?\d*)(.?)")


def c_strtoll(s: bytes) -> int | None:
    """C ``strtoll(s, &end, 0)``: the leading integer of ``s`` (decimal, ``0x`` hex, ``0`` octal).

    Returns ``None`` when no digits were consumed (``end == s``); out-of-range
    values saturate like C.
    """
    if s[:1].isdigit() and (s[:1] != b"0" or len(s) == 1 or not s[1:2].isalnum()):
        i = 0
        n = len(s)
        while i < n and 48 <= s[i] <= 57:
            i += 1
        v = int(s[:i])
        return v if v <= _LLONG_MAX else _LLONG_MAX
    m = _STRTOLL.match(s)
    sign, prefix, digits = m.group(1), m.group(2), m.group(3)
    if prefix and prefix[:1] == b"0" and len(prefix) == 2:
        base, allowed = 16, b"0123456789abcdefABCDEF"
    elif prefix == b"0":
        base, allowed = 8, b"01234567"
    else:
        base, allowed = 10, b"0123456789"
    k = 0
    while k < len(digits) and digits[k] in allowed:
        k += 1
    digits = digits[:k]
    if not digits:
        if prefix == b"0" or (prefix and len(prefix) == 2):
            return 0
        return None
    v = int(digits, base)
    if sign == b"-":
        v = -v
    return max(_LLONG_MIN, min(_LLONG_MAX, v))


def _strtol10(s: bytes, pos: int) -> tuple[int, int]:
    """``strtol(s+pos, &t, 10)`` -> (value, t)."""
    n = len(s)
    i = pos
    while i < n and s[i] in b" \t\n\v\f\r":
        i += 1
    j = i
    if j < n and s[j] in b"+-":
        j += 1
    k = j
    while k < n and 48 <= s[k] <= 57:
        k += 1
    if k == j:
        return 0, pos
    return int(s[i:k]), k


def _sam_reflen(cigar: bytes) -> int:
    length = 0
    s = 0
    n = len(cigar)
    while s < n:
        x, t = _strtol10(cigar, s)
        op = cigar[t: t + 1].upper()
        if op in (b"M", b"D", b"N"):
            length += x
        s = t + 1
    return length if length else 1


def parse_interval(conf: TabixConfig, line: bytes):
    """Interval of one data line by the tabix column spec (htslib ``tbx_parse1``, 1.16).

    Parameters
    ----------
    conf : TabixConfig
    line : bytes
        One line without its newline (a trailing ``\\r`` already removed).

    Returns
    -------
    (bytes, int, int) or None
        ``(sequence name, begin, end)``, 0-based half-open; ``None`` when the
        line cannot be parsed (missing columns, non-numeric begin/end).
    """
    fields = line.split(b"\t")
    name = None
    beg = end = -1
    kind = conf.preset & 0xFFFF
    sc, bc, ec = conf.col_seq, conf.col_beg, conf.col_end
    ucsc = conf.preset & TBX_UCSC
    for col, f in enumerate(fields, 1):
        if col == sc:
            name = f
        elif col == bc:
            v = c_strtoll(f)
            if v is None:
                return None
            beg = end = v
            if not ucsc:
                beg -= 1
            else:
                end += 1
            if beg < 0:
                beg = 0
            if end < 1:
                end = 1
        elif kind == 0:
            if col == ec:
                v = c_strtoll(f)
                if v is None:
                    return None
                end = v
        elif kind == TBX_SAM:
            if col == 6:
                end = beg + _sam_reflen(f)
        elif kind == TBX_VCF:
            if col == 4:
                if f:
                    end = beg + len(f)
            elif col == 8:
                s = f.find(b"END=")
                if s == 0:
                    s = 4
                elif s > 0:
                    s = f.find(b";END=")
                    s = s + 5 if s >= 0 else -1
                if s >= 0 and f[s: s + 1] != b"." and s <= len(f):
                    v = c_strtoll(f[s:])
                    v = 0 if v is None else v
                    if v > beg:
                        end = v
    if name is None or beg < 0 or end < 0:
        return None
    return name, beg, end


def scan_lines(reader: BgzfReader, chunk_bytes: int = 16 << 20):
    """Yield ``(line, voffset_after)`` for every line of a BGZF text file.

    ``line`` excludes the newline (and a trailing ``\\r``); ``voffset_after``
    is the virtual offset htslib's ``bgzf_tell`` reports after reading the
    line (normalised to the next block at a block end).  The last line may
    lack its newline.
    """
    tail = b""
    size = reader.size
    pos = 0
    while pos < size:
        rng = reader.inflate_range(pos, min(size, pos + chunk_bytes))
        if rng.end_coffset <= pos:
            break
        pos = rng.end_coffset
        data = tail + rng.data
        shift = len(tail)
        ends = []
        lines = data.split(b"\n")
        tail = lines.pop()
        p = -1
        for ln in lines:
            p += len(ln) + 1
            ends.append(p + 1 - shift)  # position after the newline, in rng.data
        vo = rng.voffsets(ends).tolist() if ends else []
        final = pos >= size
        n_data = len(rng.data)
        for ln, e, v in zip(lines, ends, vo):
            if e >= n_data:
                v = make_voffset(rng.end_coffset, 0) if not final else _end_voffset(rng)
            if ln[-1:] == b"\r":
                ln = ln[:-1]
            yield ln, v
    if tail:
        yield (tail[:-1] if tail[-1:] == b"\r" else tail), _END


_END = -1


def _end_voffset(rng) -> int:
    """Virtual offset of the end of the data of the last range: the last (EOF) block, offset 0."""
    sizes = np.diff(rng.block_uoffsets)
    nz = np.flatnonzero(sizes)
    if len(nz) == 0:
        return make_voffset(int(rng.block_coffsets[-1]) if len(rng.block_coffsets) else 0, 0)
    last = int(nz[-1])
    if last + 1 < len(rng.block_coffsets):
        return make_voffset(int(rng.block_coffsets[last + 1]), 0)
    return make_voffset(rng.end_coffset, 0)


def tabix_csi_depth(min_shift: int, max_ref_len: int = 0) -> int:
    """CSI depth tabix 1.16 uses: ``(31 - min_shift + 2) // 3`` grown until ``max_ref_len + 256`` fits."""
    n_lvls = (TBX_MAX_SHIFT - min_shift + 2) // 3
    s = 1 << (min_shift + n_lvls * 3)
    need = max_ref_len + 256
    while need > s:
        n_lvls += 1
        s <<= 3
    return n_lvls


def _header_len(conf: TabixConfig, line: bytes, cur: int) -> int:
    if conf.preset == TBX_VCF and line.startswith(b"##contig"):
        p = line.find(b"length", 8)
        if p >= 0:
            p += 6
            while line[p: p + 1] in (b" ", b"="):
                p += 1
            v = _strtol10(line, p)[0] if line[p:p + 1] else 0
            return max(cur, v)
    elif conf.preset == TBX_SAM and line.startswith(b"@SQ"):
        p = line.find(b"\tLN:", 3)
        if p >= 0:
            return max(cur, _strtol10(line, p + 4)[0])
    return cur


def build_tabix_index(path, conf: TabixConfig, *, min_shift: int = 0, warnings: list | None = None) -> BinningIndex:
    """Index a bgzipped text file: TBI (``min_shift=0``) or CSI, as ``tabix`` 1.16.

    Parameters
    ----------
    path : str or os.PathLike
        BGZF-compressed, position-sorted text file.
    conf : TabixConfig
        Column spec (``PRESETS["bed"]``, ...).
    min_shift : int
        0 for TBI; otherwise a CSI with this ``min_shift`` and the depth
        tabix picks (:func:`tabix_csi_depth`, grown by the longest
        ``##contig`` length for VCF or ``@SQ LN`` for SAM).
    warnings : list, optional
        Receives one text per line that could not be parsed (skipped).

    Returns
    -------
    BinningIndex
        ``fmt`` ``"tbi"`` or ``"csi"``; ``aux`` is the tabix header. Written
        with :func:`~hts_notebook.core.index.tbi.write_tbi` or
        :func:`~hts_notebook.core.index.csi.write_csi`, the decompressed
        bytes equal tabix 1.16's.

    Raises
    ------
    FormatError
        Not BGZF, unsorted lines, a contig's lines not contiguous, end < begin.
    LimitExceededError
        A TBI cannot hold a position beyond 2**29 (use CSI).
    """
    reader = BgzfReader(path)
    names: dict[bytes, int] = {}
    tids, begs, ends_, voffs = [], [], [], []
    first_off = None
    last_off = 0
    max_ref_len = 0
    meta = conf.meta_char
    csi = min_shift > 0
    lineno = 0
    try:
        for line, v in scan_lines(reader):
            if v == _END:
                v = _final_offset(reader)
            lineno += 1
            is_meta = bool(line) and line[0] == meta
            if is_meta and csi:
                max_ref_len = _header_len(conf, line, max_ref_len)
            if lineno <= conf.line_skip or is_meta:
                last_off = v
                continue
            if first_off is None:
                first_off = last_off
            iv = parse_interval(conf, line)
            if iv is None:
                if warnings is not None:
                    warnings.append(line.decode("utf-8", "replace"))
                continue
            name, b, e = iv
            tid = names.get(name)
            if tid is None:
                tid = names[name] = len(names)
            tids.append(tid)
            begs.append(b)
            ends_.append(e)
            voffs.append(v)
        final = _final_offset(reader)
    finally:
        reader.close()
    if first_off is None:
        first_off = last_off
    n = len(tids)
    ve = np.array(voffs, dtype=np.uint64)
    vb = np.empty(n, dtype=np.uint64)
    if n:
        vb[0] = first_off
        vb[1:] = ve[:-1]
    aux = pack_tabix_header(conf, list(names))
    if csi:
        depth = tabix_csi_depth(min_shift, max_ref_len)
        index = build_index(np.array(tids, dtype=np.int64), np.array(begs, dtype=np.int64),
                            np.array(ends_, dtype=np.int64), np.zeros(n, dtype=bool), vb, ve, len(names),
                            min_shift=min_shift, depth=depth, fmt="csi", final_offset=final, aux=aux, path=str(path))
    else:
        index = build_index(np.array(tids, dtype=np.int64), np.array(begs, dtype=np.int64),
                            np.array(ends_, dtype=np.int64), np.zeros(n, dtype=bool), vb, ve, len(names),
                            min_shift=14, depth=5, fmt="tbi", final_offset=final, aux=aux, path=str(path))
    index.n_no_coor = 0
    return index


def _final_offset(reader: BgzfReader) -> int:
    """``bgzf_tell`` once ``bgzf_getline`` has hit the end: the EOF block's offset."""
    if reader.has_eof:
        return make_voffset(reader.size - 28, 0)
    return make_voffset(reader.size, 0)


def is_bgzf_text(path) -> bool:
    from ..bgzf import is_bgzf

    return is_bgzf(path)


def _check_bgzf(path) -> None:
    from ..bgzf import is_bgzf

    if not is_bgzf(path):
        raise FormatError("the compression is not BGZF", path=str(path), offset=0, field="magic")
