"""Text pileup (``samtools mpileup``) built from whole-region columns.

For every input file the reads of the region are filtered as samtools does,
their qualities capped by BAQ (:mod:`.kernels.baq`) and, for overlapping mates,
adjusted like htslib's overlap removal.  The kept reads' CIGARs are expanded
(:func:`~.kernels.coverage.expand_cigar`) into one *entry* per (read,
reference position) they cover -- aligned base, deletion or reference skip --
and the entries are sorted by position, read order breaking ties, which is the
order htslib's pileup buffer lists them.  Each entry's text (``^`` + MAPQ at a
read start, base or ``.``/``,``/``*``/``#``/``>``/``<``, ``+2AC``/``-2NN``
indel text, ``$`` at a read end) is written into one flat byte buffer, so a
column's bases are a single slice of it; a line is a few slices joined.

Behaviour matched on purpose (samtools 1.16.1 / htslib 1.16):

* reads skipped: unmapped / no reference, ``--rf`` / ``--ff`` flags (default
  UNMAP, SECONDARY, QCFAIL, DUP), MAPQ below ``-q``, paired but not properly
  paired unless ``-A``, reads starting beyond the reference end (with ``-f``);
* ``-d``: a read is dropped when it starts at the same position as the
  previous kept read and the pileup buffer already holds ``-d`` reads (reads
  whose alignment ends at that position still count -- htslib's rule);
* overlapping mates (unless ``-x``): matching bases get the summed quality
  (at most 200) on one mate and 0 on the other, the mate chosen from a hash
  of the read name; mismatching bases keep 80 % of the better quality;
* ``-Q`` filters entries by the quality at the entry's query position (for
  deletions and skips the base after them), after BAQ and overlap changes.

All coordinates here are 0-based (DESIGN.md §2); only text output is 1-based.
"""
from __future__ import annotations

import heapq
import os
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np

from .formats.alignment.batch import SEQ_ALPHABET, AlignmentBatch
from .kernels.coverage import expand_cigar

__all__ = ["materialise", "select_reads", "accept_reads", "MpileupOptions", "ReferenceCache", "FileColumns", "file_columns", "mpileup_lines", "count_samples"]

UNMAP, PAIRED, PROPER, MUNMAP, REVERSE = 0x4, 0x1, 0x2, 0x8, 0x10
DEFAULT_EXCLUDE = 0x4 | 0x100 | 0x200 | 0x400

_NT16 = np.full(256, 15, dtype=np.uint8)
for _i, _c in enumerate(SEQ_ALPHABET):
    _NT16[_c] = _i
    _NT16[ord(chr(_c).lower())] = _i
_ALPHA = np.frombuffer(SEQ_ALPHABET, dtype=np.uint8)
_LOWER = np.arange(256, dtype=np.uint8)
_LOWER[65:91] += 32
_UPPER = np.arange(256, dtype=np.uint8)
_UPPER[97:123] -= 32


@dataclass
class MpileupOptions:
    """``samtools mpileup`` settings (defaults as samtools 1.16)."""

    min_baseq: int = 13
    min_mapq: int = 0
    max_depth: int = 8000
    baq: bool = True
    redo_baq: bool = False
    count_orphans: bool = False
    overlaps: bool = True
    incl_flags: int = 0
    excl_flags: int = DEFAULT_EXCLUDE
    region: str | None = None
    all: int = 0
    output_mapq: bool = False
    output_qpos: bool = False
    output_qpos5: bool = False
    output_qname: bool = False
    rev_del: bool = False
    no_ins: int = 0
    no_del: int = 0
    no_ends: bool = False
    baq_backend: str = "numpy"


class ReferenceCache:
    """Whole-contig reference bytes by name (``None`` when the FASTA lacks it)."""

    def __init__(self, fasta, err=None):
        self.fasta = fasta
        self.err = err
        self._cache: dict = {}

    def get(self, name: str):
        if self.fasta is None:
            return None
        if name not in self._cache:
            if name in self.fasta:
                self._cache[name] = self.fasta.fetch_array(contig=name, start=0)
            else:
                if self.err is not None:
                    self.err.write(f'[E::fai_retrieve] The sequence "{name}" was not found\n')
                self._cache[name] = None
        return self._cache[name]


def count_samples(paths, headers, ignore_rg: bool = False) -> int:
    """Number of samples samtools reports (``@RG`` SM values, else one per file)."""
    names: list = []

    def add(v):
        if v not in names:
            names.append(v)

    for path, text in zip(paths, headers):
        if ignore_rg:
            add(path)
            continue
        n = 0
        first = None
        p = 0
        while True:
            q = text.find("@RG", p)
            if q < 0:
                break
            p = q + 3
            qi = text.find("\tID:", p)
            ri = text.find("\tSM:", p)
            if qi < 0 or ri < 0:
                break
            qi += 4
            ri += 4
            sm = _field_end(text, ri)
            add(sm)
            if first is None:
                first = sm
            p = max(qi, ri)
            n += 1
        if n == 0:
            add(path)
        elif n == 1 and first is not None:
            add(first)
    return len(names)


def _field_end(text: str, i: int) -> str:
    j = i
    while j < len(text) and text[j] not in "\t\n":
        j += 1
    return text[i:j]


def _name_hash_bit(name: bytes) -> int:
    """khash X31 string hash then Wang integer hash, low bit (htslib's mate choice)."""
    h = name[0] if name else 0
    if h:
        for c in name[1:]:
            h = ((h << 5) - h + c) & 0xFFFFFFFF
    k = h
    k = (k + (~(k << 15) & 0xFFFFFFFF)) & 0xFFFFFFFF
    k ^= k >> 10
    k = (k + (k << 3)) & 0xFFFFFFFF
    k ^= k >> 6
    k = (k + (~(k << 11) & 0xFFFFFFFF)) & 0xFFFFFFFF
    k ^= k >> 16
    return k & 1


def _match_bases(batch: AlignmentBatch, r: int):
    """(ref positions, query positions) of read r's M/=/X bases, in order."""
    ops = batch.cigar[batch.cigar_offsets[r]:batch.cigar_offsets[r + 1]]
    refs, qs = [], []
    x, y = int(batch.pos[r]), 0
    for c in ops.tolist():
        op, ln = c & 15, c >> 4
        if op in (0, 7, 8):
            refs.append(np.arange(x, x + ln))
            qs.append(np.arange(y, y + ln))
            x += ln
            y += ln
        elif op in (1, 4):
            y += ln
        elif op in (2, 3):
            x += ln
    if not refs:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(refs), np.concatenate(qs)


def tweak_overlap(batch: AlignmentBatch, qual: np.ndarray, a: int, b: int) -> None:
    """Adjust qualities of overlapping mates a (left) and b (right) in place (htslib rules)."""
    ra, qa = _match_bases(batch, a)
    rb, qb = _match_bases(batch, b)
    start = int(batch.pos[b])
    ia = int(np.searchsorted(ra, start))
    ib = int(np.searchsorted(rb, start))
    if ia >= len(ra) or ib >= len(rb):
        return
    amul = _name_hash_bit(batch.name[batch.name_offsets[a]:batch.name_offsets[a + 1]].tobytes())
    bmul = 1 - amul
    sa, sb = int(batch.seq_offsets[a]), int(batch.seq_offsets[b])
    la = int(batch.seq_offsets[a + 1]) - sa
    lb = int(batch.seq_offsets[b + 1]) - sb
    # pairs of (qpos in a, qpos in b) htslib visits, in order
    pa, pb = [], []
    ra_t, rb_t = ra.tolist(), rb.tolist()
    gapless = (ra[-1] - ra[ia] == len(ra) - 1 - ia) and (rb[-1] - rb[ib] == len(rb) - 1 - ib)
    if gapless:
        lo = max(ra_t[ia], rb_t[ib])
        hi = min(ra_t[-1], rb_t[-1])
        if hi >= lo:
            pa = qa[ia + (lo - ra_t[ia]): ia + (hi - ra_t[ia]) + 1]
            pb = qb[ib + (lo - rb_t[ib]): ib + (hi - rb_t[ib]) + 1]
    else:
        iref = start
        na, nb = len(ra_t), len(rb_t)
        while True:
            while ia < na and ra_t[ia] < iref:
                ia += 1
            if ia >= na:
                break
            iref = max(iref, ra_t[ia])
            while ib < nb and rb_t[ib] < iref:
                ib += 1
            if ib >= nb:
                break
            iref = max(iref, rb_t[ib])
            iref += 1
            if ra_t[ia] != rb_t[ib]:
                continue
            pa.append(int(qa[ia]))
            pb.append(int(qb[ib]))
        pa, pb = np.asarray(pa, np.int64), np.asarray(pb, np.int64)
    if len(pa) == 0:
        return
    pa = np.asarray(pa)
    pb = np.asarray(pb)
    ok = (pa < la) & (pb < lb)
    pa, pb = pa[ok], pb[ok]
    xa = qual[sa + pa].astype(np.int64)
    xb = qual[sb + pb].astype(np.int64)
    same = batch.seq[sa + pa] == batch.seq[sb + pb]
    tot = np.minimum(xa + xb, 200)
    a_hi = xa > xb
    b_hi = xa < xb
    a08 = np.floor(0.8 * xa).astype(np.int64)
    b08 = np.floor(0.8 * xb).astype(np.int64)
    na_ = np.where(same, amul * tot, np.where(a_hi, a08, np.where(b_hi, 0, amul * a08)))
    nb_ = np.where(same, bmul * tot, np.where(a_hi, 0, np.where(b_hi, b08, bmul * b08)))
    qual[sa + pa] = na_.astype(np.uint8)
    qual[sb + pb] = nb_.astype(np.uint8)


@dataclass
class FileColumns:
    """Pileup entries of one input file, sorted by (contig, position, read order).

    ``keys`` are the distinct ``tid << 40 | pos`` of positions with at least one
    read; ``starts``/``stops`` index the entries of each key; ``kstarts``/``kstops``
    the entries that passed ``-Q`` (``kept``).  ``tok`` is the flat text of kept
    entries with ``tok_off`` offsets; ``qual`` their quality characters.
    """

    keys: np.ndarray
    starts: np.ndarray
    stops: np.ndarray
    kstarts: np.ndarray
    kstops: np.ndarray
    tok: bytes
    tok_off: np.ndarray
    qual: bytes
    extras: list = field(default_factory=list)  # (kind, bytes, offsets or None)


def _empty_columns() -> FileColumns:
    z = np.zeros(0, np.int64)
    return FileColumns(z, z, z, z, z, b"", np.zeros(1, np.int64), b"")


def materialise(batch) -> AlignmentBatch:
    """A plain (eager, writable) copy-free :class:`AlignmentBatch` of any batch-like object."""
    from dataclasses import fields as _fields

    kw = {f.name: np.array(getattr(batch, f.name)) for f in _fields(AlignmentBatch)}
    return AlignmentBatch(**kw)


def select_reads(batch: AlignmentBatch, opts: MpileupOptions, names: list, refs: ReferenceCache, err) -> np.ndarray:
    """Indices of reads samtools' read filter keeps, and BAQ applied to ``batch.qual`` (in place)."""
    flag = batch.flag.astype(np.int64)
    keep = (batch.ref_id >= 0) & ((flag & UNMAP) == 0)
    if opts.incl_flags:
        keep &= (flag & opts.incl_flags) != 0
    if opts.excl_flags:
        keep &= (flag & opts.excl_flags) == 0
    idx = np.flatnonzero(keep)
    if refs.fasta is not None and len(idx):
        out = []
        for tid in np.unique(batch.ref_id[idx]).tolist():
            rows = idx[batch.ref_id[idx] == tid]
            ref = refs.get(names[tid]) if tid < len(names) else None
            if ref is None:
                continue
            bad = batch.pos[rows] >= len(ref)
            for r in rows[bad].tolist():
                err.write(f"[mplp_func] Skipping because {int(batch.pos[r])} is outside of {len(ref)} [ref:{tid}]\n")
            if bad.any():
                keep[rows[bad]] = False
            out.append((tid, rows[~bad], ref))
        post = keep & (batch.mapq.astype(np.int64) >= opts.min_mapq)
        if not opts.count_orphans:
            post &= ~(((flag & PAIRED) != 0) & ((flag & PROPER) == 0))
        if opts.baq:
            from .kernels.baq import baq_qualities

            for tid, rows, ref in out:
                rows = rows[post[rows]]
                if opts.redo_baq is False:
                    rows = _baq_tag_rows(batch, rows)
                backend = os.environ.get("HTS_NOTEBOOK_BAQ_BACKEND", opts.baq_backend)
                new = baq_qualities(batch, rows, ref, backend=backend)
                for r, qv in new.items():
                    batch.qual[batch.seq_offsets[r]:batch.seq_offsets[r + 1]] = qv
        keep = post
    else:
        keep &= batch.mapq.astype(np.int64) >= opts.min_mapq
        if not opts.count_orphans:
            keep &= ~(((flag & PAIRED) != 0) & ((flag & PROPER) == 0))
    return np.flatnonzero(keep)


def _baq_tag_rows(batch: AlignmentBatch, rows: np.ndarray) -> np.ndarray:
    """Apply existing BQ tags (htslib: BQ -> cap qualities, ZQ -> leave as is); return rows still to realign."""
    if len(rows) == 0 or len(batch.aux) == 0:
        return rows
    blob = batch.aux.tobytes()
    if b"BQZ" not in blob and b"ZQZ" not in blob:
        return rows
    from .formats.alignment.aux import decode_aux

    todo = []
    for r in rows.tolist():
        items = {t: v for t, ty, v in decode_aux(batch.aux_bytes(r)) if ty == "Z"}
        s0, s1 = batch.seq_offsets[r], batch.seq_offsets[r + 1]
        if "BQ" in items and len(items["BQ"]) == s1 - s0:
            bq = np.frombuffer(items["BQ"].encode("latin-1"), np.uint8).astype(np.int64)
            q = batch.qual[s0:s1].astype(np.int64)
            batch.qual[s0:s1] = np.where(q + 64 < bq, 0, q - (bq - 64)).astype(np.uint8)
        elif "ZQ" in items:
            pass
        else:
            todo.append(r)
    return np.asarray(todo, dtype=np.int64)


def accept_reads(batch: AlignmentBatch, idx: np.ndarray, opts: MpileupOptions, pre_tweak: dict | None = None) -> np.ndarray:
    """Reads the pileup engine keeps (max depth), applying overlap quality changes in place.

    ``pre_tweak`` (optional dict) receives, for each left mate whose qualities
    the overlap rule changed, ``read -> (position, qualities before)``: pileup
    columns before ``position`` were printed before the change.
    """
    n = len(idx)
    if n == 0:
        return idx
    tid = batch.ref_id[idx].astype(np.int64)
    pos = batch.pos[idx]
    end = pos + _rlen(batch, idx)
    maxcnt = opts.max_depth if opts.max_depth != 0 else (1 << 31) - 1
    need_seq = _may_drop(tid, pos, end, maxcnt)
    flag = batch.flag[idx].astype(np.int64)
    cand = np.zeros(n, bool)
    if opts.overlaps:
        mtid = batch.next_ref_id[idx].astype(np.int64)
        mpos = batch.next_pos[idx]
        tlen = np.abs(batch.tlen[idx])
        lseq = np.diff(batch.seq_offsets)[idx]
        cand = ((flag & MUNMAP) == 0) & ((flag & PROPER) != 0)
        cand &= ~(((mtid >= 0) & (tid != mtid)) | ((tlen >= 2 * lseq) & (mpos >= end)))
    if not need_seq and not cand.any():
        return idx
    names = None
    if cand.any() or need_seq:
        names = [batch.name[batch.name_offsets[r]:batch.name_offsets[r + 1]].tobytes() for r in idx.tolist()]
    acc = np.ones(n, bool)
    olap: dict = {}
    heap: list = []
    it_tid, it_pos = 0, 0
    tl, pl, el, cl = tid.tolist(), pos.tolist(), end.tolist(), cand.tolist()
    mposl = batch.next_pos[idx].tolist() if opts.overlaps else None
    qual = batch.qual
    for i in range(n):
        t, p, e = tl[i], pl[i], el[i]
        if need_seq:
            if t == it_tid and p == it_pos and 1 + len(heap) > maxcnt:
                acc[i] = False
                if names is not None:
                    olap.pop(names[i], None)
                continue
        # push: buffered (for the next read) if it ends after the current position
        if e > it_pos or t > it_tid:
            if need_seq:
                heapq.heappush(heap, (e, i))
            if cl[i]:
                nm = names[i]
                j = olap.get(nm)
                if j is not None and not (tl[j] == it_tid and el[j] >= it_pos):
                    del olap[nm]  # htslib removed it when its read left the buffer
                    j = None
                if j is None:
                    if mposl[i] >= p or ((flag[i] & PAIRED) and mposl[i] == -1):
                        olap[nm] = i
                else:
                    ra = int(idx[j])
                    s0, s1 = int(batch.seq_offsets[ra]), int(batch.seq_offsets[ra + 1])
                    before = qual[s0:s1].copy()
                    tweak_overlap(batch, qual, ra, int(idx[i]))
                    # columns before the current pileup position were printed already
                    # (matters for deletions of the left mate, which show the next base's quality)
                    if pre_tweak is not None:
                        pre_tweak[ra] = (it_pos, before)
                    del olap[nm]
        if t != it_tid:
            if need_seq:
                heap = [(ee, k) for ee, k in heap if tl[k] == t]
                heapq.heapify(heap)
        it_tid, it_pos = t, p
        if need_seq:
            while heap and heap[0][0] < it_pos:
                heapq.heappop(heap)
    return idx[acc]


def _rlen(batch: AlignmentBatch, idx: np.ndarray) -> np.ndarray:
    off = batch.cigar_offsets
    cig = batch.cigar
    counts = (off[idx + 1] - off[idx]).astype(np.int64)
    gather = np.repeat(off[idx] - np.concatenate([[0], np.cumsum(counts)[:-1]]), counts) + np.arange(counts.sum())
    c = cig[gather]
    op = c & 15
    ln = (c >> 4).astype(np.int64)
    refc = np.isin(op, (0, 2, 3, 7, 8))
    owner = np.repeat(np.arange(len(idx)), counts)
    out = np.zeros(len(idx), np.int64)
    np.add.at(out, owner[refc], ln[refc])
    return out


def _may_drop(tid, pos, end, maxcnt) -> bool:
    """Cheap test: could any read find ``maxcnt`` reads already buffered?"""
    if len(pos) <= maxcnt:
        return False
    key_s = tid * (1 << 42) + pos
    key_e = tid * (1 << 42) + end
    se = np.sort(key_e)
    started = np.arange(1, len(pos) + 1)  # reads at or before this one (file order is sorted)
    ended = np.searchsorted(se, key_s, side="left")  # ends strictly before this start
    return bool(((started - ended) >= maxcnt).any())


def file_columns(batch: AlignmentBatch, idx: np.ndarray, opts: MpileupOptions, names: list,
                 refs: ReferenceCache, beg0: int = 0, end0: int = 1 << 62, region_tid: int | None = None,
                 pre_tweak: dict | None = None) -> FileColumns:
    """Pileup entries (and their text) for reads ``idx`` of ``batch``, in htslib's order."""
    if len(idx) == 0:
        return _empty_columns()
    sub = batch.take(idx)
    ex = expand_cigar(sub.pos, sub.cigar, sub.cigar_offsets)
    op = ex["op"]
    ln = ex["length"]
    nops = np.diff(sub.cigar_offsets)
    n_rows = len(op)
    row_in_read = np.arange(n_rows) - np.repeat(sub.cigar_offsets[:-1], nops)
    # next op of the same read (for the indel peek at an op's last position)
    has_next = row_in_read + 1 < np.repeat(nops, nops)
    nxt_op = np.full(n_rows, 255, np.int64)
    nxt_ln = np.zeros(n_rows, np.int64)
    nxt_op[:-1] = np.where(has_next[:-1], op[1:], 255)
    nxt_ln[:-1] = np.where(has_next[:-1], ln[1:], 0)
    refop = np.isin(op, (0, 2, 3, 7, 8)) & (ln > 0)
    rows = np.flatnonzero(refop)
    lens = ln[rows]
    total = int(lens.sum())
    erow = np.repeat(rows, lens)
    within = np.arange(total) - np.repeat(np.cumsum(lens) - lens, lens)
    read = ex["read"][erow]
    epos = ex["ref_start"][erow] + within
    eop = op[erow]
    is_del = (eop == 2) | (eop == 3)
    qpos = ex["query_start"][erow] + np.where(is_del, 0, within)
    last = within == ln[erow] - 1
    # indel at an op's last position
    indel = np.zeros(total, np.int64)
    lr = last & (nxt_op[erow] == 2)
    indel[lr] = -nxt_ln[erow][lr]
    li = last & (nxt_op[erow] == 1)
    indel[li] = nxt_ln[erow][li]
    for e in np.flatnonzero(last & (nxt_op[erow] == 6)).tolist():
        r_ = erow[e]
        rd = read[e]
        stop = sub.cigar_offsets[rd + 1]
        l3 = 0
        k = r_ + 2
        while k < stop:
            if op[k] == 1:
                l3 += ln[k]
            elif op[k] in (0, 2, 3, 7, 8):
                break
            k += 1
        if r_ + 2 < stop and l3 > 0:
            indel[e] = l3
    tid = sub.ref_id[read].astype(np.int64)
    rpos = sub.pos[read]
    rend = sub.pos + _rlen(sub, np.arange(len(sub)))
    is_head = epos == rpos
    is_tail = epos == rend[read] - 1
    # region window
    inwin = (epos >= beg0) & (epos < end0)
    if region_tid is not None:
        inwin &= tid == region_tid
    order = np.flatnonzero(inwin)
    key = tid[order] * (1 << 40) + epos[order]
    srt = order[np.argsort(key, kind="stable")]
    read, epos, qpos, is_del, indel, tid = read[srt], epos[srt], qpos[srt], is_del[srt], indel[srt], tid[srt]
    eop, is_head, is_tail, erow = eop[srt], is_head[srt], is_tail[srt], erow[srt]
    keys = tid * (1 << 40) + epos
    n = len(keys)
    if n == 0:
        return _empty_columns()
    # qualities and bases
    soff = sub.seq_offsets
    lseq = np.diff(soff)[read]
    inseq = qpos < lseq
    gq = np.where(inseq, soff[read] + qpos, 0)
    q = np.where(inseq, sub.qual[gq] if len(sub.qual) else 0, 0).astype(np.int64)
    if pre_tweak:
        idx_l = np.asarray(idx)
        for e in np.flatnonzero(is_del & inseq).tolist():
            ent = pre_tweak.get(int(idx_l[read[e]]))
            if ent is not None and epos[e] < ent[0]:
                q[e] = int(ent[1][qpos[e]])
    kept = q >= opts.min_baseq
    # distinct positions
    bound = np.flatnonzero(np.diff(keys)) + 1
    starts = np.concatenate([[0], bound])
    stops = np.concatenate([bound, [n]])
    ukeys = keys[starts]
    kcum = np.concatenate([[0], np.cumsum(kept)])
    kstarts, kstops = kcum[starts], kcum[stops]
    ki = np.flatnonzero(kept)
    read, epos, qpos, is_del, indel, tid = read[ki], epos[ki], qpos[ki], is_del[ki], indel[ki], tid[ki]
    eop, is_head, is_tail, erow, q, inseq, gq = eop[ki], is_head[ki], is_tail[ki], erow[ki], q[ki], inseq[ki], gq[ki]
    flag = sub.flag[read].astype(np.int64)
    rev = (flag & REVERSE) != 0
    code = np.where(inseq, sub.seq[gq] if len(sub.seq) else 15, 15).astype(np.int64)
    base = _ALPHA[code]
    # reference base at each entry
    rb = np.full(len(read), 15, np.int64)
    refarrs = {}
    if refs.fasta is not None:
        for t in np.unique(tid).tolist():
            ref = refs.get(names[t]) if t < len(names) else None
            refarrs[t] = ref
            if ref is None:
                continue
            m = tid == t
            p = epos[m]
            ok = p < len(ref)
            vals = np.full(len(p), 15, np.int64)
            vals[ok] = _NT16[ref[p[ok]]]
            rb[m] = vals
        has_ref = np.array([refarrs.get(t) is not None for t in tid.tolist()], bool) if len(tid) else np.zeros(0, bool)
    else:
        has_ref = np.zeros(len(read), bool)
    match = (code == 0) | (has_ref & (code == rb))
    ch = np.where(match, np.where(rev, ord(","), ord(".")), np.where(rev, _LOWER[base], _UPPER[base]))
    refskip = eop == 3
    delch = np.where(refskip, np.where(rev, ord("<"), ord(">")), np.where(rev & opts.rev_del, ord("#"), ord("*")))
    ch = np.where(is_del, delch, ch).astype(np.uint8)
    # indel text (rare): Python per entry
    itext = {}
    for e in np.flatnonzero(indel != 0).tolist():
        itext[e] = _indel_text(sub, op, ln, int(read[e]), int(erow[e]), int(indel[e]), bool(is_del[e]), int(qpos[e]),
                               int(epos[e]), bool(rev[e]), refarrs.get(int(tid[e])), opts)
    head = is_head & (not opts.no_ends)
    tail = is_tail & (not opts.no_ends)
    tlen = 1 + 2 * head.astype(np.int64) + tail.astype(np.int64)
    ilen = np.zeros(len(read), np.int64)
    for e, txt in itext.items():
        ilen[e] = len(txt)
    tlen = tlen + ilen
    tok_off = np.zeros(len(read) + 1, np.int64)
    np.cumsum(tlen, out=tok_off[1:])
    buf = np.zeros(int(tok_off[-1]), np.uint8)
    o = tok_off[:-1]
    h = np.flatnonzero(head)
    buf[o[h]] = ord("^")
    mq = sub.mapq[read].astype(np.int64)
    buf[o[h] + 1] = np.where(mq[h] > 93, 126, mq[h] + 33)
    bpos = o + 2 * head
    buf[bpos] = ch
    for e, txt in itext.items():
        s = int(bpos[e]) + 1
        buf[s:s + len(txt)] = np.frombuffer(txt, np.uint8)
    t_ = np.flatnonzero(tail)
    buf[tok_off[1:][t_] - 1] = ord("$")
    qchars = np.minimum(q + 33, 126).astype(np.uint8)
    cols = FileColumns(ukeys, starts, stops, kstarts, kstops, buf.tobytes(), tok_off, qchars.tobytes())
    # extra columns, in samtools' order
    if opts.output_mapq:
        cols.extras.append(("char", np.minimum(mq + 33, 126).astype(np.uint8).tobytes(), None))
    if opts.output_qpos:
        cols.extras.append(_joined([str(v + 1) for v in qpos.tolist()]))
    if opts.output_qname:
        nm = [sub.name[sub.name_offsets[r]:sub.name_offsets[r + 1]].tobytes().decode("latin-1") for r in read.tolist()]
        cols.extras.append(_joined(nm))
    if opts.output_qpos5:
        lq = np.diff(soff)[read]
        p5 = np.where(rev, lq - qpos + is_del.astype(np.int64), qpos + 1)
        cols.extras.append(_joined([str(v) for v in p5.tolist()]))
    return cols


def _joined(items: list):
    data = [s.encode("latin-1") + b"," for s in items]
    off = np.zeros(len(data) + 1, np.int64)
    np.cumsum([len(d) for d in data], out=off[1:]) if data else None
    return ("list", b"".join(data), off)


def _indel_text(sub, op, ln, rd, row, indel, is_del, qpos, pos, rev, ref, opts) -> bytes:
    out = []
    del_len = -indel
    if indel > 0:
        stop = int(sub.cigar_offsets[rd + 1])
        chars = []
        del_len = 0
        k = row + 1
        j = 1
        s0 = int(sub.seq_offsets[rd])
        nb = 0
        while k < stop:
            o = int(op[k])
            if o == 6:
                chars.extend("*" * int(ln[k]))
                nb += int(ln[k])
            elif o == 1:
                for _ in range(int(ln[k])):
                    qi = qpos + j - int(is_del)
                    chars.append(chr(SEQ_ALPHABET[sub.seq[s0 + qi] & 15]))
                    j += 1
                nb += int(ln[k])
            else:
                if o == 2:
                    del_len = int(ln[k])
                break
            k += 1
        if opts.no_ins < 2:
            out.append(f"+{nb}")
        if not opts.no_ins:
            if rev:
                pad = "#" if opts.rev_del else "*"
                out.append("".join(pad if c == "*" else c.lower() for c in chars))
            else:
                out.append("".join(chars).upper())
    if del_len > 0:
        if opts.no_del < 2:
            out.append(f"-{del_len}")
        if not opts.no_del:
            s = []
            for j in range(1, del_len + 1):
                c = chr(ref[pos + j]) if (ref is not None and pos + j < len(ref)) else "N"
                s.append(c.lower() if rev else c.upper())
            out.append("".join(s))
    return "".join(out).encode("latin-1")


def _n_extra(opts: MpileupOptions) -> int:
    return int(opts.output_mapq) + int(opts.output_qpos) + int(opts.output_qname) + int(opts.output_qpos5)


def mpileup_lines(files: list, opts: MpileupOptions, names: list, lengths: list, refs: ReferenceCache,
                  beg0: int = 0, end0: int = 1 << 62, tid0: int = 0) -> Iterator[bytes]:
    """Output lines (bytes, with newline) for per-file :class:`FileColumns`, as samtools prints them."""
    nfile = len(files)
    nx = _n_extra(opts)
    empty_one = b"\t0\t*\t*" + b"\t*" * nx
    allkeys = np.unique(np.concatenate([f.keys for f in files])) if files else np.zeros(0, np.int64)
    where = []
    for f in files:
        j = np.searchsorted(f.keys, allkeys)
        jj = np.minimum(j, max(len(f.keys) - 1, 0))
        hit = (j < len(f.keys)) & (f.keys[jj] == allkeys) if len(f.keys) else np.zeros(len(allkeys), bool)
        where.append(np.where(hit, j, -1).tolist())
    cur_ref = None
    cur_ref_tid = None

    def ref_for(t):
        nonlocal cur_ref, cur_ref_tid
        if cur_ref_tid != t:
            cur_ref_tid = t
            cur_ref = refs.get(names[t]) if refs.fasta is not None else None
        return cur_ref

    def refch(ref, p):
        return bytes([ref[p]]) if ref is not None and p < len(ref) else b"N"

    def empty_line(t, p, ref):
        return names[t].encode() + b"\t%d\t" % (p + 1) + refch(ref, p) + empty_one * nfile + b"\n"

    last_tid, last_pos = -1, -1
    fdata = [(f, f.tok, f.qual, f.tok_off.tolist(), f.kstarts.tolist(), f.kstops.tolist(),
              [(kind, data, off.tolist() if off is not None else None) for kind, data, off in f.extras]) for f in files]
    keys_l = allkeys.tolist()
    for ui, key in enumerate(keys_l):
        t, p = key >> 40, key & ((1 << 40) - 1)
        ref = ref_for(t)
        if opts.all:
            while t > last_tid:
                if last_tid >= 0 and opts.region is None:
                    last_pos += 1
                    while last_pos < lengths[last_tid]:
                        yield empty_line(last_tid, last_pos, ref)
                        last_pos += 1
                last_tid += 1
                last_pos = -1
                if opts.all < 2:
                    break
            last_pos += 1
            while last_pos < p:
                if not (opts.region is not None and last_pos < beg0):
                    yield empty_line(t, last_pos, ref)
                last_pos += 1
            last_tid, last_pos = t, p
        parts = [names[t].encode(), b"\t%d\t" % (p + 1), refch(ref, p)]
        for fi, (f, tok, qual, toff, ks, ke, extras) in enumerate(fdata):
            j = where[fi][ui]
            if j < 0:
                parts.append(empty_one)
                continue
            a, b = ks[j], ke[j]
            parts.append(b"\t%d\t" % (b - a))
            if b == a:
                parts.append(b"*\t*" + b"\t*" * nx)
                continue
            parts.append(tok[toff[a]:toff[b]])
            parts.append(b"\t")
            parts.append(qual[a:b])
            for kind, data, off in extras:
                parts.append(b"\t")
                if kind == "char":
                    parts.append(data[a:b])
                else:
                    parts.append(data[off[a]:off[b] - 1])
        parts.append(b"\n")
        yield b"".join(parts)
    if opts.all:
        if last_tid < 0 and opts.region is not None and opts.all > 1:
            last_tid = tid0
            last_pos = beg0 - 1
            ref_for(tid0)
        while 0 <= last_tid < len(names):
            last_pos += 1
            while last_pos < lengths[last_tid]:
                if last_pos >= end0:
                    break
                yield empty_line(last_tid, last_pos, cur_ref)
                last_pos += 1
            last_tid += 1
            last_pos = -1
            if opts.all < 2 or opts.region is not None:
                break
