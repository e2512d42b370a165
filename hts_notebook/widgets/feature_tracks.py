"""Variant, feature and signal tracks: readers + a window -> the flat arrays the browser draws.

numpy only (no widgets, no JAX), testable without a browser.  As in
:mod:`.tracks`, positions in the arrays are **relative to the window start**
(0-based half-open, int32).  Text (feature names, sample names) travels in the
JSON metadata only, and is capped.

Variant track (``kind="variants"``, ``v`` variants, ``s`` samples drawn):

=================  =======  ====================================================
``var_start``      i4 (v,)  0-based first reference base (POS - 1)
``var_end``        i4 (v,)  exclusive end (at least ``var_start + 1``)
``var_type``       u1 (v,)  0 SNP, 1 indel, 2 other (MNP, symbolic, breakend), 3 no ALT
``gt_class``       u1 (v,s) 0 hom-ref, 1 het, 2 hom-alt, 3 missing (row-major)
=================  =======  ====================================================

Feature track (``kind="features"``, BED / BED12 / GFF3 / GTF / bigBed):

=================  =======  ====================================================
``feat_start``     i4 (f,)  feature start
``feat_end``       i4 (f,)  feature end (exclusive)
``feat_row``       i4 (f,)  row from greedy packing
``feat_strand``    i1 (f,)  1 ``+``, -1 ``-``, 0 none
``block_feat``     i4 (b,)  feature of each block (exon / CDS / BED12 block)
``block_start``    i4 (b,)
``block_end``      i4 (b,)
``block_thick``    u1 (b,)  1 coding (thick: CDS, inside thickStart-thickEnd), 0 UTR / non-coding
=================  =======  ====================================================

Signal track (``kind="signal"``, bigWig): at most ``max_bases_per_pixel``
bases per pixel the per-base values (``signal`` f4, NaN = no data, one per
base of the window); wider views the zoom-level means from
``BigWigFile.stats(..., bins=pixels)`` (``sig_start``, ``sig_end`` i4,
``sig_value`` f4).
"""
from __future__ import annotations

import math
import re

import numpy as np

from .tracks import pack_rows

__all__ = [
    "VARIANT_SNP", "VARIANT_INDEL", "VARIANT_OTHER", "VARIANT_REF",
    "GT_HOM_REF", "GT_HET", "GT_HOM_ALT", "GT_MISSING",
    "variant_types", "genotype_classes", "variant_track",
    "Feature", "features_from_bed_lines", "features_from_gff_lines", "features_from_bigbed", "feature_track",
    "read_features", "signal_track", "track_kind",
]

VARIANT_SNP, VARIANT_INDEL, VARIANT_OTHER, VARIANT_REF = 0, 1, 2, 3
GT_HOM_REF, GT_HET, GT_HOM_ALT, GT_MISSING = 0, 1, 2, 3

_BASES_RE = re.compile(r"^[ACGTNacgtn]+$")


# ----------------------------------------------------------------------------- variants
def variant_types(batch) -> np.ndarray:
    """Type of each record: SNP / indel / other / no ALT (``VARIANT_*`` codes), uint8 (n,)."""
    n = len(batch)
    out = np.full(n, VARIANT_OTHER, dtype=np.uint8)
    alleles = batch.allele
    off = np.asarray(batch.allele_offset)
    for i in range(n):
        a0, a1 = int(off[i]), int(off[i + 1])
        ref = str(alleles[a0]) if a1 > a0 else ""
        alts = [str(a) for a in alleles[a0 + 1:a1] if str(a) not in (".", "", "<*>", "<NON_REF>", "*")]
        if not alts:
            out[i] = VARIANT_REF
        elif not _BASES_RE.match(ref) or not all(_BASES_RE.match(a) for a in alts):
            out[i] = VARIANT_OTHER
        elif len(ref) == 1 and all(len(a) == 1 for a in alts):
            out[i] = VARIANT_SNP
        elif any(len(a) != len(ref) for a in alts):
            out[i] = VARIANT_INDEL
        else:
            out[i] = VARIANT_OTHER  # MNP
    return out


def genotype_classes(genotype: np.ndarray) -> np.ndarray:
    """Call class per (variant, sample) from allele indices ``(n, s, ploidy)`` (-1 missing, -2 fill).

    A call with any missing allele (or no allele at all) is ``GT_MISSING``;
    otherwise all-zero is hom-ref, all-equal non-zero hom-alt, else het.
    """
    g = np.asarray(genotype)
    if g.ndim == 2:
        g = g[..., None]
    if g.size == 0:
        return np.zeros(g.shape[:2], dtype=np.uint8)
    present = g != -2
    missing = ((g == -1) & present).any(axis=-1) | ~present.any(axis=-1)
    big = np.iinfo(np.int32).max
    gi = g.astype(np.int32)
    lo = np.where(present, gi, big).min(axis=-1)
    hi = np.where(present, gi, -1).max(axis=-1)
    out = np.where(lo != hi, GT_HET, np.where(lo == 0, GT_HOM_REF, GT_HOM_ALT)).astype(np.uint8)
    out[missing] = GT_MISSING
    return out


def variant_track(batch, start: int, stop: int, *, max_samples: int = 64) -> tuple[dict, dict]:
    """Arrays and metadata of a variant track over ``[start, stop)``.

    Parameters
    ----------
    batch : VariantBatch
        Records of one contig overlapping the window (others are clipped out).
    start, stop : int
        Window, 0-based half-open.
    max_samples : int
        Most genotype rows (the first samples of the file).

    Returns
    -------
    meta : dict
        ``n_variants``, ``n_samples`` (drawn), ``n_samples_total``, ``samples``
        (names of the drawn rows), ``counts`` ({"snp", "indel", "other"}).
    arrays : dict of str to ndarray
        See the module docstring.
    """
    start, stop = int(start), int(stop)
    s0 = np.asarray(batch.position, dtype=np.int64) - 1
    e0 = np.maximum(np.asarray(batch.stop, dtype=np.int64), s0 + 1)
    keep = (s0 < stop) & (e0 > start)
    idx = np.flatnonzero(keep)
    if len(idx) != len(batch):
        batch = batch.take(idx)
        s0, e0 = s0[idx], e0[idx]
    order = np.argsort(s0, kind="stable")
    if len(order) and not np.all(order == np.arange(len(order))):
        batch = batch.take(order)
        s0, e0 = s0[order], e0[order]
    samples = list(getattr(batch, "samples", []) or [])
    ns = min(len(samples), max(0, int(max_samples)))
    vt = variant_types(batch)
    gt = getattr(batch, "genotype", None)
    if gt is not None and ns and np.asarray(gt).ndim >= 2 and np.asarray(gt).shape[1] >= ns:
        cls = genotype_classes(np.asarray(gt)[:, :ns])
    else:
        ns = 0
        cls = np.zeros((len(batch), 0), dtype=np.uint8)
    arrays = {
        "var_start": (s0 - start).astype(np.int32),
        "var_end": (e0 - start).astype(np.int32),
        "var_type": vt,
        "gt_class": np.ascontiguousarray(cls, dtype=np.uint8),
    }
    meta = {
        "n_variants": int(len(batch)), "n_samples": int(ns), "n_samples_total": len(samples),
        "samples": [str(s) for s in samples[:ns]],
        "counts": {"snp": int((vt == VARIANT_SNP).sum()), "indel": int((vt == VARIANT_INDEL).sum()),
                   "other": int(((vt == VARIANT_OTHER) | (vt == VARIANT_REF)).sum())},
    }
    return meta, arrays


# ----------------------------------------------------------------------------- features
class Feature:
    """One drawn feature: a box or a gene model (blocks = exons / CDS pieces, 0-based half-open)."""

    __slots__ = ("start", "end", "strand", "name", "blocks")

    def __init__(self, start: int, end: int, strand: int = 0, name: str = "", blocks=None):
        self.start, self.end, self.strand, self.name = int(start), int(end), int(strand), name
        #: list of (start, end, thick)
        self.blocks = list(blocks) if blocks else []

    def __repr__(self) -> str:
        return f"Feature({self.start}, {self.end}, strand={self.strand}, name={self.name!r}, blocks={self.blocks})"


def _strand(s: str) -> int:
    return 1 if s == "+" else -1 if s == "-" else 0


def _int(s, default=None):
    try:
        return int(s)
    except (TypeError, ValueError):
        return default


def _split_thick(blocks, thick_start, thick_end):
    """Cut (start, end) blocks at the thick (coding) range into (start, end, thick) pieces."""
    out = []
    for a, b in blocks:
        if thick_start is None or thick_end is None:
            out.append((a, b, 1))
            continue
        lo, hi = max(a, thick_start), min(b, thick_end)
        if hi <= lo:
            out.append((a, b, 0))
            continue
        if a < lo:
            out.append((a, lo, 0))
        out.append((lo, hi, 1))
        if hi < b:
            out.append((hi, b, 0))
    return out


def _bed_feature(start: int, end: int, cols: list[str]) -> Feature:
    """cols: BED columns 4.. (name, score, strand, thickStart, thickEnd, rgb, count, sizes, starts)."""
    name = cols[0] if len(cols) > 0 else ""
    strand = _strand(cols[2]) if len(cols) > 2 else 0
    ts = _int(cols[3]) if len(cols) > 3 else None
    te = _int(cols[4]) if len(cols) > 4 else None
    if ts is not None and te is not None and ts == te:  # BED: thickStart == thickEnd -> no coding part
        ts = te = start
    raw = [(start, end)]
    if len(cols) > 8:
        count = _int(cols[6], 0) or 0
        sizes = [_int(x) for x in cols[7].strip(",").split(",") if x != ""]
        starts = [_int(x) for x in cols[8].strip(",").split(",") if x != ""]
        if count > 0 and len(sizes) >= count and len(starts) >= count and None not in sizes[:count] + starts[:count]:
            raw = [(start + starts[k], start + starts[k] + sizes[k]) for k in range(count)]
    return Feature(start, end, strand, name, _split_thick(raw, ts, te))


def features_from_bed_lines(lines) -> list[Feature]:
    """BED lines (bytes or str; 3 to 12+ columns; header/track lines skipped) -> features."""
    out = []
    for ln in lines:
        text = ln.decode("utf-8", "replace") if isinstance(ln, (bytes, bytearray)) else str(ln)
        text = text.rstrip("\r\n")
        if not text or text.startswith(("#", "track", "browser")):
            continue
        c = text.split("\t")
        if len(c) < 3:
            continue
        s, e = _int(c[1]), _int(c[2])
        if s is None or e is None:
            continue
        out.append(_bed_feature(s, e, c[3:]))
    return out


_PART_TYPES = {"exon", "cds", "five_prime_utr", "three_prime_utr", "utr", "5utr", "3utr", "start_codon",
               "stop_codon", "noncoding_exon", "pseudogenic_exon"}
_GTF_ATTR = re.compile(r'\s*([^\s;]+)\s+"?([^";]*)"?\s*;?')


def _gff_attrs(text: str) -> dict:
    out = {}
    if "=" in text.split(";")[0]:  # GFF3
        for part in text.strip().strip(";").split(";"):
            if "=" in part:
                k, v = part.split("=", 1)
                out[k.strip()] = v.strip()
        return out
    for m in _GTF_ATTR.finditer(text):  # GTF: key "value";
        out.setdefault(m.group(1), m.group(2))
    return out


def features_from_gff_lines(lines) -> list[Feature]:
    """GFF3 / GTF lines -> features; exon / CDS / UTR children become the blocks of their parent.

    Parents are found by GFF3 ``Parent`` (first one) or GTF ``transcript_id``;
    a parent missing from the lines is made from its children's extent.  A
    gene whose transcripts are drawn is not drawn itself.  CDS pieces are thick
    blocks, exons / UTRs thin ones (exon stretches covered by CDS become thick).
    """
    items: dict = {}      # key -> dict(start, end, strand, name, type)
    order: list = []
    parts: dict = {}      # parent key -> list of (start, end, type)
    parent_of: dict = {}  # child key -> parent key
    anon = 0
    for ln in lines:
        text = ln.decode("utf-8", "replace") if isinstance(ln, (bytes, bytearray)) else str(ln)
        text = text.rstrip("\r\n")
        if not text or text.startswith("#"):
            continue
        c = text.split("\t")
        if len(c) < 8:
            continue
        s, e = _int(c[3]), _int(c[4])
        if s is None or e is None:
            continue
        s -= 1  # GFF is 1-based closed
        ftype = c[2]
        attrs = _gff_attrs(c[8]) if len(c) > 8 else {}
        fid = attrs.get("ID")
        parent = attrs.get("Parent", "").split(",")[0] or None
        if "transcript_id" in attrs and "=" not in (c[8] if len(c) > 8 else "="):  # GTF
            if ftype.lower() in ("transcript", "mrna"):
                fid = "tx:" + attrs["transcript_id"]
                parent = "gene:" + attrs["gene_id"] if "gene_id" in attrs else None
            elif ftype.lower() == "gene":
                fid = "gene:" + attrs.get("gene_id", "")
            else:
                parent = "tx:" + attrs["transcript_id"]
        name = attrs.get("Name") or attrs.get("gene_name") or attrs.get("transcript_name") or attrs.get(
            "transcript_id") or attrs.get("gene_id") or attrs.get("ID") or ""
        if ftype.lower() in _PART_TYPES and parent:
            parts.setdefault(parent, []).append((s, e, ftype.lower(), _strand(c[6]), name))
            continue
        if fid is None:
            anon += 1
            fid = f"\0anon{anon}"
        if fid in items:  # multi-line feature (same ID): extend
            it = items[fid]
            it["start"], it["end"] = min(it["start"], s), max(it["end"], e)
            continue
        items[fid] = {"start": s, "end": e, "strand": _strand(c[6]), "name": name, "type": ftype}
        order.append(fid)
        if parent:
            parent_of[fid] = parent
    for key, ps in parts.items():  # parents missing from the window: from their parts
        if key not in items:
            items[key] = {"start": min(p[0] for p in ps), "end": max(p[1] for p in ps), "strand": ps[0][3],
                          "name": ps[0][4] if not key.startswith("tx:") else key[3:], "type": "transcript"}
            order.append(key)
    has_child = {parent_of[k] for k in order if k in parent_of and parent_of[k] in items}
    out = []
    for key in order:
        it = items[key]
        if key in has_child and key not in parts:
            continue  # a gene drawn through its transcripts
        ps = parts.get(key, [])
        cds = sorted((p[0], p[1]) for p in ps if p[2] == "cds")
        exons = sorted((p[0], p[1]) for p in ps if p[2] in ("exon", "noncoding_exon", "pseudogenic_exon"))
        if not exons:  # no exon lines: UTR pieces are the non-coding blocks
            exons = sorted((p[0], p[1]) for p in ps if p[2] not in ("cds", "start_codon", "stop_codon"))
            if exons and cds:
                exons = sorted(exons + cds)
        if exons and cds:
            ts, te = cds[0][0], cds[-1][1]
            blocks = _split_thick(exons, ts, te)
        elif cds:
            blocks = [(a, b, 1) for a, b in cds]
        elif exons:
            blocks = [(a, b, 0 if it["type"].lower() not in ("mrna",) else 1) for a, b in exons]
        else:
            blocks = [(it["start"], it["end"], 1)]
        out.append(Feature(it["start"], it["end"], it["strand"], it["name"], blocks))
    return out


def features_from_bigbed(reader, region) -> list[Feature]:
    """Records of a bigBed overlapping ``region`` -> features (columns found by their autoSql names)."""
    names = [f.name for f in getattr(reader, "fields", [])][3:]
    std = ["name", "score", "strand", "thickStart", "thickEnd", "reserved", "blockCount", "blockSizes",
           "chromStarts"]
    alias = {"itemRgb": "reserved", "exonCount": "blockCount", "exonSizes": "blockSizes",
             "exonStarts": "chromStarts", "blockStarts": "chromStarts"}
    pos = {alias.get(n, n): i for i, n in enumerate(names)}
    out = []
    for s, e, rest in reader.entries(region):
        cols = rest.split("\t") if rest else []
        if pos and names[: len(std)] != std[: len(names)]:
            cols = [cols[pos[k]] if k in pos and pos[k] < len(cols) else "" for k in std]
        out.append(_bed_feature(int(s), int(e), cols))
    return out


def feature_track(features: list, start: int, stop: int, *, max_rows: int = 40, max_names: int = 1000,
                  gap: int | None = None) -> tuple[dict, dict]:
    """Arrays and metadata of a feature track over ``[start, stop)``.

    Parameters
    ----------
    features : list of Feature
    start, stop : int
        Window, 0-based half-open; features not overlapping it are dropped.
    max_rows : int
        Row cap; features beyond are counted in ``n_hidden``.
    max_names : int
        Names go to ``meta["names"]`` only when at most this many features are drawn.
    gap : int, optional
        Bases kept free between features of a row (default 1% of the window).

    Returns
    -------
    meta : dict
        ``n_features``, ``n_hidden``, ``n_rows``, ``names`` (list or None).
    arrays : dict of str to ndarray
    """
    start, stop = int(start), int(stop)
    feats = sorted((f for f in features if f.end > start and f.start < stop and f.end >= f.start),
                   key=lambda f: (f.start, f.end))
    fs = np.array([f.start for f in feats], dtype=np.int64)
    fe = np.array([max(f.end, f.start + 1) for f in feats], dtype=np.int64)
    g = max(1, (stop - start) // 100) if gap is None else int(gap)
    rows = pack_rows(fs, fe, gap=g, max_rows=max_rows) if len(feats) else np.zeros(0, np.int32)
    drawn = np.flatnonzero(rows >= 0)
    feats = [feats[i] for i in drawn.tolist()]
    bf, bs, be, bt = [], [], [], []
    for k, f in enumerate(feats):
        for a, b, thick in f.blocks:
            if b > start and a < stop and b > a:
                bf.append(k), bs.append(a), be.append(b), bt.append(thick)
    arrays = {
        "feat_start": (fs[drawn] - start).astype(np.int32),
        "feat_end": (fe[drawn] - start).astype(np.int32),
        "feat_row": rows[drawn].astype(np.int32),
        "feat_strand": np.array([f.strand for f in feats], dtype=np.int8),
        "block_feat": np.array(bf, dtype=np.int32),
        "block_start": (np.array(bs, dtype=np.int64) - start).astype(np.int32),
        "block_end": (np.array(be, dtype=np.int64) - start).astype(np.int32),
        "block_thick": np.array(bt, dtype=np.uint8),
    }
    meta = {
        "n_features": len(feats), "n_hidden": int(len(rows) - len(drawn)),
        "n_rows": int(rows[drawn].max()) + 1 if len(drawn) else 0,
        "names": [str(f.name)[:40] for f in feats] if len(feats) <= max_names else None,
    }
    return meta, arrays


def read_features(reader, contig: str, start: int, stop: int) -> list[Feature]:
    """Features of a BED / GFF (tabix) or bigBed reader overlapping ``[start, stop)`` of ``contig``."""
    if hasattr(reader, "entries"):  # bigBed
        if contig not in reader.contigs:
            return []
        return features_from_bigbed(reader, (contig, start, stop))
    names = reader.contigs
    if contig not in names:
        return []
    lines = reader.fetch((contig, start, stop))
    kind = getattr(reader, "kind", "bed")
    if kind == "gff":
        return features_from_gff_lines(lines)
    return features_from_bed_lines(lines)


# ----------------------------------------------------------------------------- signal
def signal_track(reader, contig: str, start: int, stop: int, *, pixels: int = 1000,
                 max_bases_per_pixel: float = 2.0, max_bins: int = 20_000) -> tuple[dict, dict]:
    """Arrays and metadata of a bigWig signal track over ``[start, stop)``.

    Parameters
    ----------
    reader : BigWigFile
    contig : str
    start, stop : int
        Window, 0-based half-open.
    pixels : int
        Screen pixels the window spans.
    max_bases_per_pixel : float
        Above this, draw zoom-level means (``stats(..., bins=pixels)``) instead of per-base values.
    max_bins : int
        Cap on the number of bins.

    Returns
    -------
    meta : dict
        ``mode`` (``"bases"`` or ``"bins"``), ``zoom_level`` (-1 raw data),
        ``min``, ``max`` (finite values of the window; 0 when none).
    arrays : dict
        ``signal`` (bases mode) or ``sig_start``/``sig_end``/``sig_value`` (bins mode).
    """
    start, stop = int(start), int(stop)
    span = stop - start
    meta = {"mode": "bases", "zoom_level": -1, "min": 0.0, "max": 0.0}
    if span <= 0 or contig not in reader.contigs:
        return meta, {"signal": np.zeros(0, np.float32)}
    length = reader.contigs[contig]
    stop_c = min(stop, int(length)) if length else stop
    if stop_c <= start:
        return meta, {"signal": np.zeros(0, np.float32)}
    pixels = max(1, int(pixels))
    if span / pixels <= max_bases_per_pixel:
        vals = np.asarray(reader.values((contig, start, stop_c)).values, dtype=np.float32)
        arrays = {"signal": vals}
        fin = vals[np.isfinite(vals)]
    else:
        bins = int(min(max_bins, pixels, stop_c - start))
        da = reader.stats((contig, start, stop_c), type="mean", bins=bins)
        v = np.asarray(da.values, dtype=np.float32)
        bs = np.asarray(da["bin_start"].values, dtype=np.int64)
        be = np.asarray(da["bin_stop"].values, dtype=np.int64)
        ok = np.isfinite(v)
        arrays = {"sig_start": (bs[ok] - start).astype(np.int32), "sig_end": (be[ok] - start).astype(np.int32),
                  "sig_value": v[ok]}
        meta["mode"] = "bins"
        meta["zoom_level"] = int(da.attrs.get("zoom_level", -1))
        fin = v[ok]
    if len(fin):
        meta["min"], meta["max"] = float(fin.min()), float(fin.max())
    return meta, arrays


# ----------------------------------------------------------------------------- dispatch
def track_kind(reader) -> str:
    """``"alignments"``, ``"variants"``, ``"features"`` or ``"signal"`` for an opened reader."""
    cls = type(reader).__name__
    if cls == "BigWigFile" or (hasattr(reader, "values") and hasattr(reader, "stats")):
        return "signal"
    if cls in ("BigBedFile", "TabixFile") or hasattr(reader, "entries"):
        return "features"
    if cls == "VariantFile" or (hasattr(reader, "samples") and hasattr(reader, "fetch_batch")):
        return "variants"
    if hasattr(reader, "fetch_batch"):
        return "alignments"
    raise TypeError(f"cannot draw a {cls} as a browser track")


def bins_for(view_span: int, data_span: int, width: int) -> int:
    """Pixels a data window spans when ``view_span`` bases fill ``width`` pixels."""
    return max(1, int(math.ceil(data_span / max(1, view_span) * max(1, width))))
