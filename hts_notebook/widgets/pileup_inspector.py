"""``PileupInspector``: what the reads say at one reference base (linked to a :class:`RegionBrowser`).

Clicking a base in the browser (the browser sends ``{"type": "click",
"contig", "position"}``) sets ``browser.selected``; the inspector follows it and
shows, for the chosen alignment track: base counts ``A C G T N del ins`` per
strand (after the pileup filters, as :func:`hts_notebook.core.pileup.pileup`
counts them), a base-quality histogram and mean quality per base, and the
reads covering the position (name, FLAG, MAPQ, strand, base, quality, whether
it was counted, inserted bases after it).

Counts come from :func:`inspect_position`, which reads the same reads the
pileup API reads (``select_reads`` / ``engine_reads`` of
:mod:`hts_notebook.core.pileup`: flag filter, orphans, depth cap, overlapping
mates) and walks each read's CIGAR to the position.  Without that module it
falls back to the flag/MAPQ filters alone (no overlap or depth handling).

Data crosses to the browser as one binary buffer (per-read columns, counts)
with names in the JSON metadata, capped at ``max_reads``.
"""
from __future__ import annotations

from pathlib import Path

import anywidget
import numpy as np
import traitlets as t

from ..core.errors import RegionError
from ..core.kernels.coverage import DEFAULT_EXCLUDE_FLAGS, expand_cigar

__all__ = ["PileupInspector", "inspect_position", "BASE_LABELS", "QUAL_BIN_EDGES"]

STATIC = Path(__file__).parent / "static"
BASE_LABELS = ("A", "C", "G", "T", "N", "del", "ins")
#: base-quality histogram bins: [0,5), [5,10), ... [55,60), [60, inf)
QUAL_BIN_EDGES = tuple(range(0, 65, 5))
_CAT = np.full(16, 4, dtype=np.int8)
_CAT[[1, 2, 4, 8]] = [0, 1, 2, 3]
_SEQ_ASCII = np.frombuffer(b"=ACMGRSVTWYHKDBN", dtype=np.uint8)


def _select(batch, ref_id, *, flag_filter, min_mapping_quality, ignore_orphans, ignore_overlaps, max_depth):
    """Reads the pileup engine keeps, and their (overlap-adjusted) qualities."""
    try:
        from ..core.pileup import engine_reads, select_reads
    except ImportError:  # pileup module absent: flags and MAPQ only
        flag = batch.flag.astype(np.int64)
        keep = (batch.ref_id == ref_id) & ((flag & (int(flag_filter) | 4)) == 0)
        keep &= batch.mapq.astype(np.int64) >= int(min_mapping_quality)
        if ignore_orphans:
            keep &= ~(((flag & 1) != 0) & ((flag & 2) == 0))
        return keep, batch.qual
    cand = select_reads(batch, ref_id, flag_filter=flag_filter, min_mapping_quality=min_mapping_quality,
                        ignore_orphans=ignore_orphans)
    return engine_reads(batch, cand, max_depth=max_depth, ignore_overlaps=ignore_overlaps)


def inspect_position(reader, contig: str, position: int, *, min_base_quality: int = 13,
                     min_mapping_quality: int = 0, flag_filter: int = DEFAULT_EXCLUDE_FLAGS,
                     ignore_overlaps: bool = True, ignore_orphans: bool = True, max_depth: int = 8000) -> dict:
    """Per-base counts, qualities and reads at one reference base.

    Parameters
    ----------
    reader : AlignmentFile or BatchReader
        ``.fetch_batch(region)``, ``.header.ref_id(contig)``.
    contig : str
    position : int
        1-based reference position.
    min_base_quality, min_mapping_quality, flag_filter, ignore_overlaps, ignore_orphans, max_depth
        The pileup filters, with :func:`hts_notebook.core.pileup.pileup`'s defaults
        (those of pysam's ``pileup`` and samtools mpileup).

    Returns
    -------
    dict
        ``contig``, ``position``; ``counts`` int32 ``(2, 7)`` (forward, reverse
        × ``A C G T N del ins``, bases passing the filters); ``depth``
        (A+C+G+T+N+del of both strands); ``qual_hist`` int32 (len(QUAL_BIN_EDGES),)
        qualities of the aligned bases of all kept reads; ``mean_qual`` float32
        (5,) per base A C G T N (NaN if none); ``reads``: dict of (r,) arrays
        ``name`` (str), ``flag`` u2, ``mapq`` u1, ``strand`` u1 (1 reverse),
        ``base`` u1 (ASCII, ``*`` deletion), ``qual`` u1 (for a deletion the next
        base's, as htslib), ``counted`` bool, ``ins`` i4 (inserted bases after
        this one, 0 none), in file order.

    Raises
    ------
    RegionError
        Unknown contig or position outside it.
    """
    contigs = dict(reader.contigs)
    if contig not in contigs:
        raise RegionError(f"unknown contig {contig!r}", field="contig")
    p0 = int(position) - 1
    if p0 < 0 or (contigs[contig] is not None and p0 >= int(contigs[contig])):
        raise RegionError(f"position {position} outside {contig}", field="position")
    batch = reader.fetch_batch(f"{contig}:{p0 + 1}-{p0 + 1}")
    ref_id = reader.header.ref_id(contig)
    kept, qual = _select(batch, ref_id, flag_filter=flag_filter, min_mapping_quality=min_mapping_quality,
                         ignore_orphans=ignore_orphans, ignore_overlaps=ignore_overlaps, max_depth=max_depth)
    idx = np.flatnonzero(kept)
    for field in ("name", "seq", "qual", "aux"):  # decode every lazy field first: take() of a half-decoded
        getattr(batch, field)                      # LazyAlignmentBatch loses the decoded ones
    sub = batch.take(idx)
    # qualities of the kept reads, overlap-adjusted when the engine changed them
    if qual is batch.qual:
        squal = sub.qual
    else:
        offs = batch.seq_offsets
        squal = np.concatenate([qual[offs[i]:offs[i + 1]] for i in idx.tolist()]) if len(idx) else sub.qual
    ops = expand_cigar(sub.pos, sub.cigar, sub.cigar_offsets)
    op, rs, ln, qs, rd = ops["op"], ops["ref_start"], ops["length"], ops["query_start"], ops["read"]
    cover = ((op == 0) | (op == 7) | (op == 8) | (op == 2)) & (rs <= p0) & (rs + ln > p0) & (ln > 0)
    rows = np.flatnonzero(cover)
    read = rd[rows]
    is_del = op[rows] == 2
    qpos = np.where(is_del, qs[rows], qs[rows] + (p0 - rs[rows]))
    qlen = np.diff(sub.seq_offsets)[read]
    inside = qpos < qlen
    flat = np.where(inside, sub.seq_offsets[read] + qpos, 0)
    has = len(sub.seq) > 0
    code = np.where(inside, sub.seq[flat] & 15, 15) if has else np.full(len(rows), 15, np.uint8)
    q = np.where(inside, squal[flat], 0).astype(np.int64) if len(squal) else np.zeros(len(rows), np.int64)
    q = np.where(inside & (squal[flat] == 255) if len(squal) else False, 0, q)
    cat = np.where(is_del, 5, _CAT[code]).astype(np.int64)
    base = np.where(is_del, ord("*"), _SEQ_ASCII[code]).astype(np.uint8)
    # insertion after this base: the read's next non-padding op is I and this op ends here
    ins = np.zeros(len(rows), dtype=np.int32)
    last = rs[rows] + ln[rows] - 1 == p0
    for k in np.flatnonzero(last).tolist():
        j = rows[k] + 1
        while j < len(op) and rd[j] == read[k] and op[j] == 6:
            j += 1
        if j < len(op) and rd[j] == read[k] and op[j] == 1:
            ins[k] = int(ln[j])
    strand = ((sub.flag[read] & 16) != 0).astype(np.int64)
    counted = q >= int(min_base_quality)
    counts = np.zeros((2, 7), dtype=np.int32)
    np.add.at(counts, (strand[counted], cat[counted]), 1)
    np.add.at(counts, (strand[counted & (ins > 0)], np.full(int((counted & (ins > 0)).sum()), 6)), 1)
    aligned = ~is_del
    hist = np.zeros(len(QUAL_BIN_EDGES), dtype=np.int32)
    if aligned.any():
        b = np.minimum(q[aligned] // 5, len(QUAL_BIN_EDGES) - 1)
        np.add.at(hist, b, 1)
    mean_q = np.full(5, np.nan, dtype=np.float32)
    for c in range(5):
        m = aligned & (cat == c)
        if m.any():
            mean_q[c] = float(q[m].mean())
    names = [sub.name[sub.name_offsets[i]:sub.name_offsets[i + 1]].tobytes().decode("ascii", "replace")
             for i in read.tolist()]
    return {
        "contig": contig, "position": int(position),
        "counts": counts, "depth": int(counts[:, :6].sum()),
        "qual_hist": hist, "mean_qual": mean_q,
        "reads": {
            "name": np.array(names, dtype=object),
            "flag": sub.flag[read].astype(np.uint16), "mapq": sub.mapq[read].astype(np.uint8),
            "strand": strand.astype(np.uint8), "base": base, "qual": np.minimum(q, 255).astype(np.uint8),
            "counted": counted, "ins": ins,
        },
        "filters": {"min_base_quality": int(min_base_quality), "min_mapping_quality": int(min_mapping_quality),
                    "flag_filter": int(flag_filter), "ignore_overlaps": bool(ignore_overlaps),
                    "ignore_orphans": bool(ignore_orphans), "max_depth": int(max_depth)},
    }


class PileupInspector(anywidget.AnyWidget):
    """Per-base counts, qualities and reads at the base last clicked in a :class:`RegionBrowser`.

    Parameters
    ----------
    browser : RegionBrowser
        The browser to follow (its first alignment track unless ``track`` says).
    track : int, optional
        Track index (into ``browser.tracks``) of an alignment track.
    max_reads : int
        Most reads listed (counts always use every read).
    **filters
        Passed to :func:`inspect_position` (``min_base_quality`` ...).

    Attributes
    ----------
    contig : str
    position : int
        1-based position shown (0 = none yet); follows clicks in the browser,
        and can be set from Python.
    data : dict or None
        The last :func:`inspect_position` result.
    """

    _esm = STATIC / "pileup_inspector.js"
    _css = STATIC / "pileup_inspector.css"

    contig = t.Unicode("").tag(sync=True)
    position = t.Int(0).tag(sync=True)
    track = t.Int(0).tag(sync=True)
    track_name = t.Unicode("").tag(sync=True)
    message = t.Unicode("").tag(sync=True)

    def __init__(self, browser, track: int | None = None, max_reads: int = 300, **filters):
        tracks = browser.alignment_readers()
        if not tracks:
            raise TypeError("the browser has no alignment track to inspect")
        if track is None:
            track = tracks[0][0]
        readers = dict(tracks)
        if track not in readers:
            raise ValueError(f"track {track} is not an alignment track (alignment tracks: {sorted(readers)})")
        self._browser = browser
        self._reader = readers[track]
        self.max_reads = int(max_reads)
        self.filters = dict(filters)
        self.data = None
        self._busy = False
        super().__init__(track=int(track), track_name=str(browser.tracks[track]["name"]))
        self.on_msg(self._on_custom_msg)
        self.observe(self._on_position, names=["position", "contig"])
        browser.observe(self._on_selected, names="selected")
        if browser.selected:
            self._on_selected({"new": browser.selected})

    def _on_selected(self, change):
        text = change["new"]
        if not text or ":" not in text:
            return
        contig, _, pos = text.rpartition(":")
        try:
            self.show_position(contig, int(pos))
        except ValueError:
            pass

    def show_position(self, contig: str, position: int) -> dict | None:
        """Inspect ``position`` (1-based) of ``contig`` and send it to the views."""
        self._busy = True
        try:
            self.contig = contig
            self.position = int(position)
        finally:
            self._busy = False
        return self._refresh()

    def _on_position(self, change):
        if not self._busy:
            self._refresh()

    def _refresh(self) -> dict | None:
        if not self.contig or self.position <= 0:
            return None
        try:
            self.data = inspect_position(self._reader, self.contig, self.position, **self.filters)
            self.message = ""
        except (RegionError, KeyError, ValueError) as exc:
            self.data = None
            self.message = str(exc)
        self._push()
        return self.data

    # -- protocol ---------------------------------------------------------------
    def _reply(self) -> tuple[dict, list]:
        from .region_browser import RegionBrowser

        d = self.data
        meta = {"type": "inspection", "contig": self.contig, "position": self.position, "message": self.message}
        if d is None:
            meta["arrays"] = []
            return meta, [memoryview(b"\0")]
        r = d["reads"]
        n = len(r["name"])
        shown = min(n, self.max_reads)
        arrays = {("p", "counts"): d["counts"], ("p", "qual_hist"): d["qual_hist"],
                  ("p", "mean_qual"): d["mean_qual"]}
        for k in ("flag", "mapq", "strand", "base", "qual", "ins"):
            arrays[("p", f"read_{k}")] = r[k][:shown]
        arrays[("p", "read_counted")] = r["counted"][:shown].astype(np.uint8)
        specs, blob = RegionBrowser._pack(arrays)
        meta.update(arrays=specs, depth=d["depth"], n_reads=n, n_shown=shown,
                    names=[str(x)[:60] for x in r["name"][:shown].tolist()], labels=list(BASE_LABELS),
                    qual_edges=list(QUAL_BIN_EDGES), filters=d["filters"])
        return meta, [memoryview(blob if blob else b"\0")]

    def _push(self):
        meta, buffers = self._reply()
        self.send(meta, buffers=buffers)

    def _on_custom_msg(self, widget, content, buffers):
        if isinstance(content, dict) and content.get("type") == "request":
            self._push()

    def __repr__(self) -> str:
        return f"PileupInspector(track={self.track_name!r}, position={self.contig}:{self.position})"
