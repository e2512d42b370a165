"""``depth``: per-position read depth, byte-identical to ``samtools depth`` 1.16.

Usage: ``depth [options] in.bam [in.bam ...]``

What samtools 1.16 counts (its 2021 rewrite, ``bam2depth.c``), reproduced here:

* Reads: placed (``RNAME`` not ``*``), none of the ``-G``/``-g``-adjusted flag
  bits (default UNMAP|SECONDARY|QCFAIL|DUP), MAPQ ``>= -Q``, and with ``-l``
  at least that many query bases between the outer soft clips.
* Depth at a position: reads whose ``M = X`` bases sit there with base
  quality ``>= -q`` (bases beyond SEQ, e.g. SEQ ``*``, always count);
  with ``-J`` deletions count too, judged by the quality of the next base.
  ``N`` never counts.  No per-position cap (``-d``/``-m`` are ignored).
* ``-s``: for a pair whose first-seen read may overlap its mate (mate
  position unknown or not past the read's end), the second read's bases
  left of the first read's end are not counted.
* Rows: without ``-a``, every position inside the span ``[POS, end)`` of at
  least one counted read of any file, even when the depth there is 0
  (deletions, low qualities).  ``-a`` adds every position of each contig
  that has reads (of the region with ``-r``, even without reads); ``-aa``
  also prints contigs without reads (not with ``-r``).  ``-b`` keeps the
  rows inside the BED intervals.  With several files, one depth column each;
  ``-H`` adds ``#CHROM POS <file names>``.

Not reproduced (samtools reads uninitialised or stale memory there): ``-q``
on reads without SEQ, ``-s`` combined with ``-q`` on CIGAR operations that
wrap samtools' ring buffer, and reads included with ``-g UNMAP`` that have a
CIGAR (their bases past ``POS + 1`` are counted here).
"""
from __future__ import annotations

from typing import BinaryIO, TextIO

import numpy as np

from ._args import GLOBAL_LONGOPTS, c_atoi, getopt, parse_flag, print_error

USAGE = (
    "Usage: samtools depth [options] in.bam [in.bam ...]\n"
    "\nOptions:\n"
    "  -a           Output all positions (including zero depth)\n"
    "  -a -a, -aa   Output absolutely all positions, including unused ref seqs\n"
    "  -r REG       Specify a region in chr or chr:from-to syntax\n"
    "  -b FILE      Use bed FILE for list of regions\n"
    "  -f FILE      Specify list of input BAM/SAM/CRAM filenames\n"
    "  -X           Use custom index files (in -X *.bam *.bam.bai order)\n"
    "  -g INT       Remove specified flags from default flag filter\n"
    "  -G INT       Add specified flags to the default flag filter\n"
    "  -H           Print a file header line\n"
    "  -l INT       Minimum read length [0]\n"
    "  -o FILE      Write output to FILE [stdout]\n"
    "  -q, --min-BQ INT\n"
    "               Filter bases with base quality smaller than INT [0]\n"
    "  -Q, --min-MQ INT\n"
    "               Filter alignments with mapping quality smaller than INT [0]\n"
    "  -H           Print a file header\n"
    "  -J           Include reads with deletions in depth computation\n"
    "  -s           Do not count overlapping reads within a template\n"
    "      --input-fmt-option OPT[=VAL]\n"
    "               Specify a single input file format option in the form\n"
    "               of OPTION or OPTION=VALUE\n"
    "      --reference FILE\n"
    "               Reference sequence FASTA FILE [null]\n"
    "  -@, --threads INT\n"
    "               Number of additional threads to use [0]\n"
    "      --verbosity INT\n"
    "               Set level of verbosity\n"
)

_LONG = {
    "min-MQ": (True, "Q"), "min-mq": (True, "Q"), "min-BQ": (True, "q"), "min-bq": (True, "q"),
    **{k: v for k, v in GLOBAL_LONGOPTS.items() if k in ("input-fmt-option", "reference", "threads", "verbosity")},
}

_DEFAULT_FLAG = 0x4 | 0x100 | 0x400 | 0x200
#: reads handled per step when per-base qualities are needed
CHUNK_READS = 1 << 17
#: rows formatted per step
CHUNK_ROWS = 1 << 20
#: largest dense window (positions) handled at once
DENSE_LIMIT = 1 << 24


class _Opts:
    flag = _DEFAULT_FLAG
    min_qual = 0
    min_mqual = 0
    min_len = 0
    skip_del = True
    header = False
    all_pos = 0
    remove_overlaps = False
    reg = None
    bed = None


def run(argv: list[str], out: BinaryIO, err: TextIO) -> int:
    args = getopt(argv, "@:q:Q:JHd:m:l:g:G:o:ar:Xf:b:s", _LONG, tool="depth")
    o = _Opts()
    out_file = None
    file_list = None
    has_index = False
    for key, val in args.options:
        if key == "a":
            o.all_pos += 1
        elif key == "b":
            o.bed = _read_bed(val, err)
            if o.bed is None:
                return 1
        elif key == "f":
            file_list = val
        elif key == "g":
            o.flag &= ~parse_flag(val)
        elif key == "G":
            o.flag |= parse_flag(val)
        elif key == "l":
            o.min_len = c_atoi(val)
        elif key == "H":
            o.header = True
        elif key == "q":
            o.min_qual = c_atoi(val)
        elif key == "Q":
            o.min_mqual = c_atoi(val)
        elif key == "J":
            o.skip_del = False
        elif key == "o":
            if out_file is None:
                out_file = val
        elif key == "r":
            o.reg = val
        elif key == "s":
            o.remove_overlaps = True
        elif key == "X":
            has_index = True
    files = list(args.operands)
    if not files and not file_list:
        if not argv:
            out.write(USAGE.encode())
            return 0
        err.write(USAGE)
        return 1
    if file_list:
        if has_index:
            print_error(err, "depth", "The -f option cannot be combined with -X")
            return 1
        try:
            with open(file_list) as fh:
                files = [ln.strip() for ln in fh if ln.strip()]
        except OSError as exc:
            print_error(err, "depth", f'Could not read file "{file_list}"', exc.strerror)
            return 1
    indexes = [None] * len(files)
    if has_index:
        half = len(files) // 2
        files, indexes = files[:half], files[half:half * 2]
    if out_file is not None:
        try:
            sink = open(out_file, "wb")
        except OSError as exc:
            print_error(err, "depth", f'Cannot open "{out_file}" for writing.', exc.strerror)
            return 1
    else:
        sink = out
    try:
        return _depth(o, files, indexes, sink, err)
    finally:
        if sink is not out:
            sink.close()


def _read_bed(path: str, err: TextIO):
    """BED as samtools' bed_read: ``{contig: (starts, ends)}`` merged, or None on error."""
    import gzip

    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        print_error(err, "depth", f'Could not read file "{path}"', exc.strerror)
        return None
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    regs: dict = {}
    for lineno, raw in enumerate(data.split(b"\n"), 1):
        line = raw.decode("latin-1").lstrip()
        if not line or line.startswith("#"):
            continue
        fields = line.split(None, 1)
        name = fields[0]
        nums = []
        if len(fields) > 1:
            for tok in fields[1].split()[:2]:
                if not tok.isdigit():
                    break
                nums.append(int(tok))
        if len(nums) == 1:
            beg, end = nums[0] - 1, nums[0]
        elif len(nums) == 2:
            beg, end = nums
        else:
            beg = end = None
        if beg is None or end < beg:
            if name in ("browser", "track"):
                continue
            print_error(err, "depth", f'Could not read file "{path}"')
            return None
        regs.setdefault(name, []).append((beg, end))
    out = {}
    for name, ivs in regs.items():
        a = np.array(sorted(ivs), dtype=np.int64).reshape(-1, 2)
        out[name] = (a[:, 0], a[:, 1])
    return out


def _bed_mask(bed, name: str, lo: int, hi: int) -> np.ndarray:
    mask = np.zeros(hi - lo, dtype=bool)
    if bed is None or name not in bed:
        return mask
    s, e = bed[name]
    diff = np.zeros(hi - lo + 1, dtype=np.int32)
    s = np.clip(s - lo, 0, hi - lo)
    e = np.clip(e - lo, 0, hi - lo)
    np.add.at(diff, s, 1)
    np.add.at(diff, e, -1)
    return np.cumsum(diff[:-1]) > 0


def _qlen_used(batch, ops) -> np.ndarray:
    """samtools' qlen_used: query bases minus outer soft clips (or M/I/=/X sum without SEQ)."""
    n = len(batch)
    lseq = np.diff(batch.seq_offsets)
    op, ln, rd = ops["op"], ops["length"], ops["read"]
    counts = np.bincount(rd, minlength=n)
    is_s = op == 4
    nons = (~is_s).astype(np.int64)
    csum = np.cumsum(nons)
    start = np.concatenate([[0], np.cumsum(counts)[:-1]])
    before = csum - nons - np.repeat((csum - nons)[start[counts > 0]] if len(op) else csum[:0], counts[counts > 0])
    total = np.bincount(rd, weights=nons, minlength=n).astype(np.int64)
    after = total[rd] - before - nons
    leading = is_s & (before == 0)
    trailing = is_s & (after == 0) & ~leading & (total[rd] > 0)
    clip = np.bincount(rd, weights=np.where(leading | trailing, ln, 0), minlength=n).astype(np.int64)
    qcons = np.isin(op, (0, 1, 7, 8))
    qsum = np.bincount(rd, weights=np.where(qcons, ln, 0), minlength=n).astype(np.int64)
    return np.where(lseq > 0, lseq - clip, qsum)


def _load(path, index, o: _Opts, err):
    from ..core.formats.alignment.reader import AlignmentFile

    rd = AlignmentFile(path, index=index)
    return rd


def _depth(o: _Opts, files, indexes, out, err) -> int:
    from ..core.errors import HtsError, MissingIndexError
    from ..core.kernels.coverage import expand_cigar
    from ..core.region import parse_region

    readers = []
    for path, idx in zip(files, indexes):
        try:
            readers.append(_load(path, idx, o, err))
        except FileNotFoundError as exc:
            print_error(err, "depth", f'Cannot open input file "{path}"', exc.strerror or "No such file or directory")
            return 1
        except HtsError:
            print_error(err, "depth", f'Cannot open input file "{path}"', "Exec format error")
            return 1
    header = readers[0].header
    refs = list(header.references)
    reg = None
    if o.reg is not None:
        for rd in readers:
            try:
                rd._load_index()
            except MissingIndexError:
                print_error(err, "depth", f'cannot load index for "{rd.path}"')
                return 1
        try:
            reg = parse_region(o.reg, readers[0].contigs)
        except HtsError:
            print_error(err, "depth", f'cannot parse region "{o.reg}"')
            return 1
    if o.header:
        out.write(("#CHROM\tPOS" + "".join("\t" + f for f in files) + "\n").encode())
    # reads per file, filtered, with their per-read info
    per_file = []
    for rd in readers:
        batch = rd.fetch_batch(None if reg is None else reg)
        keep = (batch.ref_id >= 0) & ((batch.flag.astype(np.int64) & o.flag) == 0)
        if o.min_mqual:
            keep &= batch.mapq.astype(np.int64) >= o.min_mqual
        if o.min_len and len(batch):
            ops = expand_cigar(batch.pos, batch.cigar, batch.cigar_offsets)
            keep &= _qlen_used(batch, ops) >= o.min_len
        batch = batch.take(keep) if not keep.all() else batch
        _check_sorted(batch)
        clip = _overlap_clips(batch) if o.remove_overlaps else None
        per_file.append((batch, clip))
    nfiles = len(readers)
    beg = -1 if reg is None else reg.start
    endr = -1 if reg is None else (reg.stop if reg.stop is not None else (1 << 62))
    tids = sorted(set().union(*[set(np.unique(b.ref_id).tolist()) for b, _ in per_file]))
    if reg is not None:
        rtid = header.ref_id(reg.contig)
        todo = [rtid]
    elif o.all_pos > 1:
        todo = list(range(len(refs)))
    else:
        todo = tids
    for tid in todo:
        name, length = refs[tid]
        has_reads = tid in tids
        if not has_reads and not o.all_pos:
            continue
        _contig_rows(o, name, length, tid, per_file, beg, endr, nfiles, out)
    return 0


def _check_sorted(batch):
    from ..core.errors import FormatError

    if len(batch) < 2:
        return
    tid = batch.ref_id.astype(np.int64)
    bad_tid = tid[1:] < np.maximum.accumulate(tid)[:-1]
    base = (tid + 1) << 40  # running maximum of the position within each contig
    run = np.maximum.accumulate(base + batch.pos)[:-1]
    bad_pos = (base[1:] + batch.end[1:]) < run
    if bad_tid.any() or bad_pos.any():
        raise FormatError("Data is not position sorted", field="pos")


def _overlap_clips(batch) -> np.ndarray:
    """``-s``: per read, the reference position below which its bases are dropped (0 = none)."""
    clip = np.zeros(len(batch), dtype=np.int64)
    flag = batch.flag
    cand = np.flatnonzero(((flag & 0x1) != 0) & ((flag & 0x8) == 0))
    if not len(cand):
        return clip
    seen: dict = {}
    names = batch.name
    noff = batch.name_offsets
    end, tid, mtid, mpos = batch.end, batch.ref_id, batch.next_ref_id, batch.next_pos
    for i in cand.tolist():
        nm = names[noff[i]:noff[i + 1]].tobytes()
        got = seen.pop(nm, None)
        if got is None:
            e = int(end[i])
            if mpos[i] == -1 or (tid[i] == mtid[i] and mpos[i] <= e):
                seen[nm] = e
        else:
            clip[i] = got
    return clip


def _file_depth(o: _Opts, batch, clip, lo: int, hi: int) -> np.ndarray:
    """Depth of one file's reads (one contig) over ``[lo, hi)``."""
    from ..core.kernels.coverage import expand_cigar

    depth = np.zeros(hi - lo + 1, dtype=np.int64)
    n = len(batch)
    for c0 in range(0, n, CHUNK_READS):
        idx = np.arange(c0, min(n, c0 + CHUNK_READS))
        sub = batch.take(idx) if (c0 or len(idx) < n) else batch
        ops = expand_cigar(sub.pos, sub.cigar, sub.cigar_offsets)
        op, ln = ops["op"], ops["length"]
        want = np.isin(op, (0, 7, 8)) | ((op == 2) & (not o.skip_del))
        if clip is not None:
            cl = clip[idx][ops["read"]]
        else:
            cl = np.zeros(len(op), dtype=np.int64)
        rs = ops["ref_start"]
        if not o.min_qual:
            # blocks: difference array over [max(start, clip), end)
            s = np.maximum(rs, cl)[want]
            e = (rs + ln)[want]
            ok = e > s
            s = np.clip(s[ok] - lo, 0, hi - lo)
            e = np.clip(e[ok] - lo, 0, hi - lo)
            np.add.at(depth, s, 1)
            np.add.at(depth, e, -1)
            continue
        sel = np.flatnonzero(want & (ln > 0))
        lens = ln[sel]
        tot = int(lens.sum())
        rows = np.repeat(sel, lens)
        within = np.arange(tot, dtype=np.int64) - np.repeat(np.cumsum(lens) - lens, lens)
        refpos = rs[rows] + within
        is_del = op[rows] == 2
        spos = ops["query_start"][rows] + np.where(is_del, 0, within)
        rd = ops["read"][rows]
        lseq = np.diff(sub.seq_offsets)[rd]
        inseq = spos < lseq
        q = np.where(inseq, sub.qual[np.where(inseq, sub.seq_offsets[rd] + spos, 0)] if len(sub.qual) else 0, 255)
        good = (refpos >= cl[rows]) & ((q >= o.min_qual) | ~inseq)
        rel = refpos[good] - lo
        rel = rel[(rel >= 0) & (rel < hi - lo)]
        cnt = np.bincount(rel, minlength=hi - lo)
        depth[: hi - lo] += _to_diff(cnt)
    return np.cumsum(depth[:-1])


def _to_diff(cnt: np.ndarray) -> np.ndarray:
    """Counts -> difference-array form (so a final cumsum restores them)."""
    d = cnt.astype(np.int64).copy()
    d[1:] -= cnt[:-1]
    return d


def _contig_rows(o: _Opts, name: str, length: int, tid: int, per_file, beg: int, endr: int, nfiles: int, out):
    spans = []
    for batch, _ in per_file:
        on = batch.ref_id == tid
        if on.any():
            s = batch.pos[on]
            e = batch.end[on]
            if beg >= 0:
                s = np.maximum(s, beg)
                e = np.minimum(e, endr)
            spans.append((s, e))
    lo_all = hi_all = None
    if o.all_pos:
        lo_all = max(0, beg) if beg >= 0 else 0
        hi_all = min(length, endr) if endr >= 0 else length
    if lo_all is not None and spans:
        # samtools fills holes between reads with zero rows even past the contig's length
        hi_all = max(hi_all, max(int(e.max()) for _, e in spans if len(e)))
    ivs_s = [s for s, _ in spans]
    ivs_e = [e for _, e in spans]
    if lo_all is not None and hi_all > lo_all:
        ivs_s.append(np.array([lo_all], dtype=np.int64))
        ivs_e.append(np.array([hi_all], dtype=np.int64))
    if not ivs_s:
        return
    s_all = np.concatenate(ivs_s).astype(np.int64)
    e_all = np.concatenate(ivs_e).astype(np.int64)
    ok = e_all > s_all
    s_all, e_all = s_all[ok], e_all[ok]
    if not len(s_all):
        return
    order = np.argsort(s_all, kind="stable")
    s_all, e_all = s_all[order], e_all[order]
    run_end = np.maximum.accumulate(e_all)
    new = np.ones(len(s_all), dtype=bool)
    new[1:] = s_all[1:] > run_end[:-1]
    comp_lo = s_all[new]
    comp_hi = np.append(run_end[np.flatnonzero(new)[1:] - 1], run_end[-1])
    # group neighbouring components into dense windows of bounded size
    groups = []
    g0 = 0
    for k in range(1, len(comp_lo) + 1):
        if k == len(comp_lo) or comp_hi[k] - comp_lo[g0] > DENSE_LIMIT:
            groups.append((int(comp_lo[g0]), int(comp_hi[k - 1])))
            g0 = k
    for lo, hi in groups:
        _window_rows(o, name, tid, per_file, spans, lo_all, hi_all, lo, hi, out)


def _window_rows(o, name, tid, per_file, spans, lo_all, hi_all, lo, hi, out):
    diff = np.zeros(hi - lo + 1, dtype=np.int32)
    for s, e in spans:
        ok = (e > s) & (s < hi) & (e > lo)
        np.add.at(diff, np.clip(s[ok] - lo, 0, hi - lo), 1)
        np.add.at(diff, np.clip(e[ok] - lo, 0, hi - lo), -1)
    rows = np.cumsum(diff[:-1]) > 0
    if lo_all is not None and hi_all > lo_all:
        a, b = max(lo_all, lo), min(hi_all, hi)
        if b > a:
            rows[a - lo: b - lo] = True
    if o.bed is not None:
        rows &= _bed_mask(o.bed, name, lo, hi)
    where = np.flatnonzero(rows)
    if not len(where):
        return
    depths = []
    for batch, clip in per_file:
        on = (batch.ref_id == tid) & (batch.pos < hi) & (batch.end > lo)
        if on.any():
            sub = batch.take(on) if not on.all() else batch
            d = _file_depth(o, sub, None if clip is None else clip[on], lo, hi)
        else:
            d = np.zeros(hi - lo, dtype=np.int64)
        depths.append(d)
    prefix = (name + "\t").encode()
    for c0 in range(0, len(where), CHUNK_ROWS):
        w = where[c0:c0 + CHUNK_ROWS]
        out.write(format_rows(prefix, w + lo + 1, [d[w] for d in depths]))


def _digit_block(x: np.ndarray):
    x = np.asarray(x, dtype=np.int64)
    nd = max(1, len(str(int(x.max())))) if len(x) else 1
    pw = 10 ** np.arange(nd - 1, -1, -1, dtype=np.int64)
    mat = ((x[:, None] // pw) % 10 + 48).astype(np.uint8)
    width = np.ones(len(x), dtype=np.int64)
    for k in range(1, nd):
        width += x >= 10 ** k
    mask = np.arange(nd)[None, :] >= (nd - width)[:, None]
    return mat, mask


def format_rows(prefix: bytes, positions: np.ndarray, columns: list) -> bytes:
    """``prefix + pos + ('\\t' + value)... + '\\n'`` for every row, vectorised."""
    n = len(positions)
    if n == 0:
        return b""
    blocks, masks = [], []
    pre = np.frombuffer(prefix, dtype=np.uint8)
    blocks.append(np.broadcast_to(pre, (n, len(pre))))
    masks.append(np.ones((n, len(pre)), dtype=bool))
    m, k = _digit_block(positions)
    blocks.append(m)
    masks.append(k)
    tab = np.full((n, 1), 9, dtype=np.uint8)
    one = np.ones((n, 1), dtype=bool)
    for col in columns:
        blocks.append(tab)
        masks.append(one)
        m, k = _digit_block(col)
        blocks.append(m)
        masks.append(k)
    blocks.append(np.full((n, 1), 10, dtype=np.uint8))
    masks.append(one)
    mat = np.concatenate(blocks, axis=1)
    mask = np.concatenate(masks, axis=1)
    return mat[mask].tobytes()
