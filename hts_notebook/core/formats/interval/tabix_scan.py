"""Vectorised region queries over bgzipped text with a generic tabix column spec (BED, GFF, bedGraph...).

:func:`query_lines` answers what htslib's ``hts_itr_next`` answers for a
region (every line of the index's chunks whose interval overlaps, in file
order, stopping at the first line of another sequence or starting at or past
the region's end), without a Python step per line:

1. blocks are inflated one at a time through a small cache (a region query
   usually needs one or two 64 KiB blocks), then in growing groups;
2. the first stopping line of the text held is bracketed by bisection on byte
   offsets, one line parsed per step, so the lines after the region are never
   split or parsed;
3. the lines before it are split into columns with numpy, begin/end parsed as
   decimals and tested for overlap at once.

Anything unusual (CR line ends, empty lines, a missing column, a number that
is not a plain decimal, a sequence unknown to the index) makes it return
``None``; the caller then reads line by line and reports what it finds.
"""
from __future__ import annotations

from collections import OrderedDict

import numpy as np

from ...index.tbi import TBX_UCSC

__all__ = ["BlockCache", "query_lines"]

_AR = np.arange(32)
_POW10 = [10.0 ** np.arange(w - 1, -1, -1) for w in range(19)]
_BISECT_MIN = 8192  # bytes of text below which every line is simply parsed


class BlockCache:
    """Inflated BGZF blocks by file offset (least recently used dropped first).

    Parameters
    ----------
    reader : BgzfReader
    size : int
        Blocks kept.
    """

    def __init__(self, reader, size: int = 32):
        self.reader = reader
        self.size = size
        self._blocks: OrderedDict = OrderedDict()

    def block(self, coffset: int) -> tuple[bytes, int]:
        """``(inflated data, offset of the next block)`` of the block at file offset ``coffset``."""
        hit = self._blocks.get(coffset)
        if hit is not None:
            self._blocks.move_to_end(coffset)
            return hit
        data, nxt = self.reader.read_block(coffset)
        hit = (bytes(data), nxt)
        self._blocks[coffset] = hit
        if len(self._blocks) > self.size:
            self._blocks.popitem(last=False)
        return hit


class _Spec:
    """The column spec of one query, and the predicate that stops it."""

    __slots__ = ("sc", "bc", "ec", "ucsc", "meta", "name", "tid_of", "split_at", "meta_byte", "name_tab",
                 "newline_name_tab")

    def __init__(self, conf, name: bytes, tid_of):
        self.sc, self.bc, self.ec = conf.col_seq, conf.col_beg, conf.col_end
        self.ucsc = bool(conf.preset & TBX_UCSC)
        self.meta = conf.meta_char
        self.name = name
        self.tid_of = tid_of
        self.split_at = max(self.sc, self.bc)
        self.meta_byte = bytes([self.meta])
        self.name_tab = name + b"\t"
        self.newline_name_tab = b"\n" + name + b"\t"

    def stops(self, line: bytes, end: int):
        """Whether a data line ends the query (another sequence, or begin >= ``end``); None if unsure."""
        if not line or line[0] == self.meta:
            return None
        parts = line.split(b"\t", self.split_at)
        if len(parts) < self.split_at:
            return None
        v = parts[self.bc - 1]
        if not v.isdigit() or len(v) > 18 or (len(v) > 1 and v[0] == 48):
            return None
        if parts[self.sc - 1] != self.name:
            return True
        b = int(v) if self.ucsc else int(v) - 1
        return max(b, 0) >= end


def query_lines(tf, tid: int, beg: int, end: int, chunks, cache: BlockCache):
    """Lines of ``chunks`` overlapping ``[beg, end)`` of reference ``tid``, or None when unusual.

    Parameters
    ----------
    tf : TabixFile
        Supplies ``config``, ``contigs``, ``name2id`` and the BGZF reader.
    tid, beg, end : int
        Reference id and 0-based half-open region.
    chunks : list of (int, int)
        Virtual-offset chunks from the index.
    cache : BlockCache

    Returns
    -------
    (list of bytes, list of numpy.ndarray, list of numpy.ndarray) or None
        The lines (no newline), and the int64 begins and ends (0-based
        half-open, by the column spec) of those lines in pieces.
    """
    conf = tf.config
    sc, bc, ec = conf.col_seq, conf.col_beg, conf.col_end
    if conf.preset & 0xFFFF or sc < 1 or bc <= sc or (ec and ec <= bc):
        return None
    spec = _Spec(conf, tf.contigs[tid].encode("utf-8", "surrogateescape"), tf.name2id)
    out = ([], [], [])
    i, n = 0, len(chunks)
    while i < n:
        j = i
        while j + 1 < n and chunks[j][1] == chunks[j + 1][0]:  # read on without a seek, as htslib
            j += 1
        done = _scan_chunk(tf._reader, cache, int(chunks[i][0]), int(chunks[j][1]), spec, beg, end, out)
        if done is None:
            return None
        if done:
            break
        i = j + 1
    return out


def _scan_chunk(reader, cache, cb: int, ce: int, spec, beg: int, end: int, out):
    """Lines starting in ``[cb, ce)`` (virtual offsets); True when a line ended the query, None if unusual."""
    coff, ce_block, ce_in = cb >> 16, ce >> 16, ce & 0xFFFF
    data, nxt = cache.block(coff)
    pos = cb & 0xFFFF
    if pos > len(data):
        return None
    lim = ce_in if coff == ce_block else None  # index in ``data`` where lines stop being read
    loaded = 1
    size = reader.size
    while True:
        if lim is not None and pos >= lim:
            return False
        nl_end = data.rfind(b"\n", pos) + 1  # end of the whole lines held
        if lim is not None and lim <= nl_end:
            stop = lim if data[lim - 1] == 10 else data.find(b"\n", lim) + 1  # the line across ``lim`` is read whole
            return _scan_text(data, pos, stop, False, spec, beg, end, out)
        if nl_end > pos:
            done = _scan_text(data, pos, nl_end, False, spec, beg, end, out)
            if done is None or done:
                return done
            pos = nl_end
        if lim is None and nxt == ce_block and ce_in == 0:
            lim = len(data)
            if pos >= lim:
                return False
        if nxt >= size:  # end of file: a last line without a newline
            if pos < len(data) and (lim is None or pos < lim):
                return _scan_text(data, pos, len(data), True, spec, beg, end, out)
            return False
        # the next block(s); text already scanned is dropped
        data = data[pos:]
        pos = 0
        if loaded < 4:
            more, nxt2 = cache.block(nxt)
            starts, coffs = [0], [nxt]
        else:  # a long chunk: bigger steps through the threaded range inflater
            rng = reader.inflate_range(nxt, min(size, nxt + (min(loaded, 256) << 14)))
            more, nxt2 = rng.data, rng.end_coffset
            starts, coffs = rng.block_uoffsets[:-1].tolist(), rng.block_coffsets.tolist()
            if nxt2 <= nxt:
                return None
        loaded += len(coffs)
        if lim is None:
            if ce_block in coffs:
                lim = len(data) + starts[coffs.index(ce_block)] + ce_in
            elif nxt2 > ce_block:
                return None  # the chunk end is not at a block start: an odd index
        data = data + more
        nxt = nxt2


def _scan_text(data: bytes, a: int, z: int, tail: bool, spec, beg: int, end: int, out):
    """Scan the whole lines of ``data[a:z]`` (the last one without newline when ``tail``).

    Appends the overlapping lines; True when a line ends the query, False
    when none does, None when a line needs the line-by-line reader.
    """
    hi = z
    if z - a > _BISECT_MIN:
        hi = _bisect_stop(data, a, z, spec, end)
    if data.find(b"\r", a, hi) >= 0:
        return None  # CR line ends: the line reader decides (empty lines fail the column count below)
    seg = np.frombuffer(data, dtype=np.uint8, count=hi - a, offset=a)
    nl = np.flatnonzero(seg == 10)
    if tail and hi == z:
        nl = np.append(nl, hi - a)
    n = len(nl)
    if not n:
        return False
    ls = np.empty(n, dtype=np.int64)
    ls[0] = 0
    np.add(nl[:-1], 1, out=ls[1:])
    le = nl
    keep = None
    if data.find(spec.meta_byte, a, hi) >= 0:  # the meta character somewhere: are there meta lines?
        is_data = seg[ls] != spec.meta
        if not is_data.all():
            keep = np.flatnonzero(is_data)
            if not len(keep):
                return False
    cols = _columns(seg, ls, le, keep, spec)
    if cols is None:
        return None
    f_seq, fs, fe, m = cols[:4]
    vals = _decimal(seg, fs, fe)
    if vals is None:
        return None
    if spec.ec:
        vb, e = vals[:m], vals[m:]
    else:
        vb = vals
    if spec.ucsc:
        b = vb
        if not spec.ec:
            e = np.maximum(vb + 1, 1)
    else:
        b = np.maximum(vb - 1, 0)
        if not spec.ec:
            e = np.maximum(vb, 1)
    same = True
    if not (spec.sc == 1 and keep is None and data.startswith(spec.name_tab, a)
            and data.count(spec.newline_name_tab, a, hi) == n - 1):  # else: every line starts with the name and a TAB
        if f_seq is None:
            f_seq = _field(seg, spec.sc, *cols[4:])
        same = _same_name(seg, f_seq, spec.name)
    stop = b >= end
    if same is not True:
        stop |= ~same
    k = int(np.argmax(stop)) if stop.any() else m
    hit = np.flatnonzero(e[:k] > beg)
    if len(hit):
        rows = hit if keep is None else keep[hit]
        _emit_lines(data, a, ls, le, rows, out[0])
        out[1].append(b[hit])
        out[2].append(e[hit])
    if k < m:
        if same is not True and not same[k]:  # a sequence absent from the index is an error the line reader reports
            other = bytes(seg[f_seq[0][k]:f_seq[1][k]]).decode("utf-8", "surrogateescape")
            if spec.tid_of(other) < 0:
                return None
        return True
    return False if hi == z else None  # None: the bisection and the scan disagree (cannot happen)


def _emit_lines(data: bytes, a: int, ls, le, rows, out: list) -> None:
    """Append lines ``rows`` (ascending) of ``data[a:]`` as bytes: scattered ones sliced, the last run split at once."""
    gaps = np.flatnonzero(np.diff(rows) != 1)
    j = int(gaps[-1]) + 1 if len(gaps) else 0
    if j:
        out.extend([data[x:y] for x, y in zip((ls[rows[:j]] + a).tolist(), (le[rows[:j]] + a).tolist())])
    out.extend(data[a + int(ls[rows[j]]):a + int(le[rows[-1]])].split(b"\n"))


def _bisect_stop(data: bytes, a: int, z: int, spec, end: int) -> int:
    """Start of a line in ``(a, z)`` that ends the query, or ``z``: an upper bound for the line scan.

    Lines are sorted in a valid file, so bisection on byte offsets (one line
    parsed per step) finds the first stopping line; on an unsorted file the
    scan that follows still finds the first one before the bound.  The
    returned bound includes that stopping line itself.
    """
    lo, hi, bound = a, z, z
    while hi - lo > _BISECT_MIN:
        mid = (lo + hi) >> 1
        s = data.find(b"\n", mid, hi) + 1
        if not s or s >= hi:
            hi = mid
            continue
        e = data.find(b"\n", s, z)
        if e < 0:
            return bound
        stop = spec.stops(data[s:e], end)
        if stop is None:
            return bound
        if stop:
            bound = e + 1
            hi = mid
        else:
            lo = s
    return bound


def _columns(seg, ls, le, keep, spec):
    """Where the seq, begin and end columns of the data lines are; None if a line lacks one.

    Returns ``(seq, starts, ends, m, tabs, t0, count)``: ``seq`` is the
    ``(start, end)`` arrays of the sequence column, or None when it is not
    needed yet; ``starts``/``ends`` hold the begin column of the ``m`` data
    lines, then their end column (when the spec has one); ``tabs``, ``t0``
    and ``count`` (each line's first TAB and TAB count) let :func:`_field`
    find any other column.
    """
    tabs = np.flatnonzero(seg == 9)
    if keep is not None:
        ls, le = ls[keep], le[keep]
        t0 = np.searchsorted(tabs, ls)
        count = np.searchsorted(tabs, le) - t0
    else:
        t0 = np.searchsorted(tabs, ls)
        count = np.empty_like(t0)
        np.subtract(t0[1:], t0[:-1], out=count[:-1])
        count[-1] = len(tabs) - t0[-1]
    need = max(spec.sc, spec.bc, spec.ec) - 1
    if int(count.min()) < need:
        return None
    geo = (ls, le, tabs, t0, count)
    fb = _field(seg, spec.bc, *geo)
    f_seq = _field(seg, spec.sc, *geo) if spec.sc != 1 else None
    if spec.ec:
        fe = _field(seg, spec.ec, *geo)
        return f_seq, np.concatenate((fb[0], fe[0])), np.concatenate((fb[1], fe[1])), len(ls), *geo
    return f_seq, fb[0], fb[1], len(ls), *geo


def _field(seg, col, ls, le, tabs, t0, count):
    """``(start, end)`` index arrays of column ``col`` (1-based) of lines that all have it."""
    fs = ls if col == 1 else tabs[t0 + (col - 2)] + 1
    if int(count.min()) >= col:
        return fs, tabs[t0 + (col - 1)]
    return fs, np.where(count >= col, tabs[np.minimum(t0 + (col - 1), len(tabs) - 1)], le)


def _same_name(seg, f_seq, name: bytes):
    """Per line, whether its sequence column equals ``name`` (bool array)."""
    fs, fe = f_seq
    same = (fe - fs) == len(name)
    if same.any():
        rows = np.flatnonzero(same)
        got = seg[fs[rows, None] + np.arange(len(name))[None, :]]
        same[rows] = (got == np.frombuffer(name, np.uint8)[None, :]).all(axis=1)
    return same


def _decimal(u8: np.ndarray, fs: np.ndarray, fe: np.ndarray):
    """Values of plain decimal fields ``u8[fs:fe]`` (what C ``strtoll(s, &end, 0)`` reads from them), or None.

    Only 1-18 digits without a leading zero (a leading zero means octal to
    ``strtoll``) take this path.
    """
    lens = fe - fs
    if not len(lens):
        return np.zeros(0, dtype=np.int64)
    lo, w = int(lens.min()), int(lens.max())
    if lo < 1 or w > 18:
        return None
    idx = (fe - w)[:, None] + _AR[None, :w]  # right-aligned digits
    if lo == w:
        digits = u8[idx] - np.uint8(48)  # uint8: anything not a digit wraps above 9
        if int(digits.max()) > 9 or (w > 1 and not digits[:, 0].all()):
            return None
    else:
        digits = u8[np.maximum(idx, 0)] - np.uint8(48)
        digits[idx < fs[:, None]] = 0
        if int(digits.max()) > 9 or np.any((u8[fs] == 48) & (lens > 1)):
            return None
    if w <= 15:
        return (digits @ _POW10[w]).astype(np.int64)  # exact below 2**53
    return digits.astype(np.int64) @ (10 ** np.arange(w - 1, -1, -1, dtype=np.int64))
