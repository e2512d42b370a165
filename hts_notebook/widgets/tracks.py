"""Turn alignments + a window into the flat arrays a browser track draws.

Everything here is numpy (no JAX except the coverage kernel, no widgets), so it
is usable and testable without a browser.  Positions in the arrays are
**relative to the window start** (0-based half-open, int32), so a window
anywhere on a 250 Mb contig stays in int32 and the JavaScript side adds
``data_start`` back.

Arrays of one alignment track (``k`` visible reads):

=================  ======  =====================================================
name               dtype   meaning
=================  ======  =====================================================
``coverage``       f4      mean depth per bin of ``coverage_bin`` bases
``read_start``     i4      (k,) first reference base of each drawn read
``read_end``       i4      (k,) exclusive reference end
``read_row``       i4      (k,) row from greedy packing (0 = top)
``read_flag``      u2      (k,) SAM FLAG (strand = ``flag & 16``)
``read_mapq``      u1      (k,) MAPQ
``block_read``     i4      index into the read arrays
``block_start``    i4      start of an aligned / deleted / skipped stretch
``block_end``      i4      its exclusive end
``block_kind``     u1      0 aligned (M = X), 1 deletion (D), 2 skip (N)
``ins_read``       i4      read of each insertion
``ins_pos``        i4      reference position the inserted bases precede
``ins_len``        i4      number of inserted bases
``mm_read``        i4      read of each mismatching base
``mm_pos``         i4      its reference position
``mm_base``        u1      the read's base (ASCII)
``mm_qual``        u1      its Phred quality (255 = unknown)
``hidden_start``   i4      merged intervals holding reads not drawn because
``hidden_end``     i4      the row cap (``max_depth``) was reached
=================  ======  =====================================================
"""
from __future__ import annotations

import heapq

import numpy as np

from ..core.formats.alignment.batch import encode_seq
from ..core.kernels.coverage import DEFAULT_EXCLUDE_FLAGS, aligned_blocks, expand_cigar

__all__ = ["pack_rows", "alignment_track", "reference_track", "READ_EXCLUDE_FLAGS", "SEQ_ASCII"]

#: reads not drawn in the read stack: UNMAP | QCFAIL | DUP (IGV's defaults)
READ_EXCLUDE_FLAGS = 0x4 | 0x200 | 0x400
#: 4-bit code -> ASCII
SEQ_ASCII = np.frombuffer(b"=ACMGRSVTWYHKDBN", dtype=np.uint8)

_BLOCK_KIND = np.full(16, 255, dtype=np.uint8)
_BLOCK_KIND[[0, 7, 8]] = 0
_BLOCK_KIND[2] = 1
_BLOCK_KIND[3] = 2


def pack_rows(starts, ends, gap: int = 2, max_rows: int | None = None) -> np.ndarray:
    """Greedy row packing: each read goes to the lowest row free at its start.

    Parameters
    ----------
    starts, ends : (n,) int
        Reference intervals (0-based half-open), in any order.
    gap : int
        Bases left empty between two reads on one row.
    max_rows : int, optional
        Cap; reads that would need a row ``>= max_rows`` get row ``-1``.

    Returns
    -------
    (n,) int32
        Row per read, in the input order.
    """
    starts = np.asarray(starts, dtype=np.int64)
    ends = np.asarray(ends, dtype=np.int64)
    order = np.argsort(starts, kind="stable")
    rows = np.full(len(starts), -1, dtype=np.int32)
    busy: list = []  # (free_from, row)
    free: list = []  # row indices free now (min-heap)
    n_rows = 0
    cap = max_rows if max_rows is not None else 1 << 30
    s_list = starts[order].tolist()
    e_list = ends[order].tolist()
    o_list = order.tolist()
    for i, s, e in zip(o_list, s_list, e_list):
        while busy and busy[0][0] <= s:
            heapq.heappush(free, heapq.heappop(busy)[1])
        if free:
            r = heapq.heappop(free)
        elif n_rows < cap:
            r = n_rows
            n_rows += 1
        else:
            continue
        rows[i] = r
        heapq.heappush(busy, (max(e, s + 1) + gap, r))
    return rows


def _merge_intervals(starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if len(starts) == 0:
        return starts.astype(np.int32), ends.astype(np.int32)
    order = np.argsort(starts, kind="stable")
    s, e = starts[order], ends[order]
    run_end = np.maximum.accumulate(e)
    new = np.ones(len(s), dtype=bool)
    new[1:] = s[1:] > run_end[:-1]
    idx = np.flatnonzero(new)
    last = np.append(idx[1:], len(s)) - 1
    return s[idx].astype(np.int32), run_end[last].astype(np.int32)


def reference_track(sequence: str | bytes | None) -> dict:
    """Reference bases of the window as an ASCII ``uint8`` array (upper case)."""
    if sequence is None:
        return {}
    raw = sequence.encode("ascii", "replace") if isinstance(sequence, str) else bytes(sequence)
    return {"reference": np.frombuffer(raw.upper(), dtype=np.uint8).copy()}


def alignment_track(batch, start: int, stop: int, *, reference: str | bytes | None = None,
                    ref_id: int | None = None, max_depth: int = 100, max_bins: int = 3000,
                    show_reads: bool = True, count_deletions: bool = False,
                    coverage_exclude_flags: int = DEFAULT_EXCLUDE_FLAGS,
                    read_exclude_flags: int = READ_EXCLUDE_FLAGS, backend: str = "jax") -> tuple[dict, dict]:
    """Arrays and metadata for one alignment track over ``[start, stop)``.

    Parameters
    ----------
    batch : AlignmentBatch
        Alignments overlapping the window (others are ignored).
    start, stop : int
        Window, 0-based half-open reference coordinates.
    reference : str or bytes, optional
        Reference bases of exactly ``[start, stop)``; enables mismatch colouring.
        Without it only CIGAR ``X`` bases are marked.
    ref_id : int, optional
        Keep only alignments on this reference index.
    max_depth : int
        Most read rows drawn; reads beyond are downsampled (dropped and
        reported through ``hidden_start`` / ``hidden_end``).
    max_bins : int
        Most coverage bins; the bin size is ``ceil((stop - start) / max_bins)``.
    show_reads : bool
        False skips the read stack (zoomed-out views draw coverage only).
    count_deletions : bool
        Count ``D`` as coverage.
    coverage_exclude_flags, read_exclude_flags : int
        FLAG bits excluded from the coverage / the read stack.
    backend : {"jax", "numpy"}
        Coverage kernel.

    Returns
    -------
    meta : dict
        JSON-able: ``coverage_bin``, ``coverage_max``, ``n_reads`` (drawn),
        ``n_hidden`` (downsampled), ``n_rows``, ``show_reads``.
    arrays : dict of str to ndarray
        See the module docstring.
    """
    from ..core.kernels.coverage import binned_mean_jax, binned_mean_numpy, coverage_jax, coverage_numpy

    start, stop = int(start), int(stop)
    length = stop - start
    if length < 0:
        raise ValueError(f"window end {stop} before start {start}")
    keep = (batch.end > start) & (batch.pos < stop) & (batch.pos >= 0)
    if ref_id is not None:
        keep &= batch.ref_id == ref_id
    batch = batch.take(keep) if not keep.all() else batch

    # coverage
    cmask = (batch.flag & coverage_exclude_flags) == 0
    cb = batch if cmask.all() else batch.take(cmask)
    bs, bl = aligned_blocks(cb.pos, cb.cigar, cb.cigar_offsets, count_deletions)
    depth = (coverage_jax if backend == "jax" else coverage_numpy)(bs, bl, start, length)
    bin_size = max(1, -(-length // max(1, int(max_bins))))
    if bin_size == 1:
        cov = depth.astype(np.float32)
    else:
        cov = (binned_mean_jax if backend == "jax" else binned_mean_numpy)(depth, bin_size)
    arrays: dict = {"coverage": cov}
    meta = {"coverage_bin": bin_size, "coverage_max": float(cov.max()) if len(cov) else 0.0,
            "show_reads": bool(show_reads), "n_reads": 0, "n_hidden": 0, "n_rows": 0}
    if not show_reads:
        return meta, arrays

    rmask = (batch.flag & read_exclude_flags) == 0
    rb = batch if rmask.all() else batch.take(rmask)
    order = np.argsort(rb.pos, kind="stable")
    if len(order) and not np.all(order == np.arange(len(order))):
        rb = rb.take(order)
    rows = pack_rows(rb.pos, rb.end, max_rows=max_depth)
    drawn = rows >= 0
    hid_s, hid_e = _merge_intervals(np.maximum(rb.pos[~drawn], start) - start, np.minimum(rb.end[~drawn], stop) - start)
    meta["n_hidden"] = int((~drawn).sum())
    rb = rb.take(drawn) if not drawn.all() else rb
    rows = rows[drawn]
    meta["n_reads"] = len(rb)
    meta["n_rows"] = int(rows.max()) + 1 if len(rows) else 0
    arrays.update(
        read_start=(rb.pos - start).astype(np.int32),
        read_end=(rb.end - start).astype(np.int32),
        read_row=rows.astype(np.int32),
        read_flag=rb.flag.astype(np.uint16),
        read_mapq=rb.mapq.astype(np.uint8),
        hidden_start=hid_s,
        hidden_end=hid_e,
    )

    ops = expand_cigar(rb.pos, rb.cigar, rb.cigar_offsets)
    kind = _BLOCK_KIND[ops["op"]]
    blk = (kind != 255) & (ops["length"] > 0)
    arrays.update(
        block_read=ops["read"][blk].astype(np.int32),
        block_start=(ops["ref_start"][blk] - start).astype(np.int32),
        block_end=(ops["ref_start"][blk] + ops["length"][blk] - start).astype(np.int32),
        block_kind=kind[blk],
    )
    ins = (ops["op"] == 1) & (ops["ref_start"] >= start) & (ops["ref_start"] <= stop)
    arrays.update(
        ins_read=ops["read"][ins].astype(np.int32),
        ins_pos=(ops["ref_start"][ins] - start).astype(np.int32),
        ins_len=ops["length"][ins].astype(np.int32),
    )
    arrays.update(_mismatches(rb, ops, start, stop, reference))
    return meta, arrays


def _mismatches(rb, ops, start: int, stop: int, reference) -> dict:
    """Per-base comparison of aligned bases inside the window with the reference."""
    op = ops["op"]
    has_seq = np.diff(rb.seq_offsets) > 0
    m = np.isin(op, (0, 7, 8)) & has_seq[ops["read"]] if reference is not None else (op == 8) & has_seq[ops["read"]]
    rs = ops["ref_start"][m]
    re_ = rs + ops["length"][m]
    lo = np.maximum(rs, start)
    hi = np.minimum(re_, stop)
    ok = hi > lo
    lo, hi, rs = lo[ok], hi[ok], rs[ok]
    read = ops["read"][m][ok]
    qs = ops["query_start"][m][ok]
    opk = op[m][ok]
    n = hi - lo
    total = int(n.sum())
    empty = {k: np.zeros(0, dtype=d) for k, d in
             (("mm_read", np.int32), ("mm_pos", np.int32), ("mm_base", np.uint8), ("mm_qual", np.uint8))}
    if total == 0:
        return empty
    # one flat entry per aligned base in the window; every per-block value is repeated once
    first = np.cumsum(n) - n
    step = np.arange(total, dtype=np.int64) - np.repeat(first, n)
    block = np.repeat(np.arange(len(n)), n)
    rel = (lo - start)[block] + step                      # window-relative reference position
    q = (rb.seq_offsets[read] + qs + (lo - rs))[block] + step
    np.minimum(q, max(len(rb.seq) - 1, 0), out=q)
    base = rb.seq[q] & 15
    kind = opk[block]
    if reference is not None:
        raw = reference.encode("ascii", "replace") if isinstance(reference, str) else bytes(reference)
        ref_codes = np.full(stop - start, 15, dtype=np.uint8)
        codes = encode_seq(raw)[: stop - start]
        ref_codes[: len(codes)] = codes
        rc = ref_codes[rel]
        mism = (kind == 8) | ((kind == 0) & (base != 0) & (base != rc) & (rc != 15))
    else:
        mism = kind == 8
    if not mism.any():
        return empty
    where = np.flatnonzero(mism)
    return {
        "mm_read": read[block[where]].astype(np.int32),
        "mm_pos": rel[where].astype(np.int32),
        "mm_base": SEQ_ASCII[base[where]],
        "mm_qual": rb.qual[q[where]] if len(rb.qual) == len(rb.seq) else np.full(len(where), 255, np.uint8),
    }
