"""Alignment batches as ``xarray.Dataset`` (DESIGN.md §3; names in :mod:`.variables`).

Everything is vectorised: read names are padded into an ``(n, maxlen)``
byte matrix viewed as fixed-width strings, CIGAR / sequence / qualities stay
ragged (flat arrays plus ``n + 1`` offsets, so long reads are not padded),
and aux tags are decoded by :func:`scan_aux`, which walks the tags of all
records at once (one numpy step per tag slot, not one Python step per tag).
"""
from __future__ import annotations

import numpy as np

from ..errors import FormatError
from ..formats.alignment.batch import AlignmentBatch
from ..formats.alignment.header import AlignmentHeader

__all__ = ["alignment_dataset", "scan_aux", "AuxFields", "aux_columns"]

_FIXED_SIZE = np.zeros(256, dtype=np.int64)
for _c, _n in zip(b"AcCsSiIf", (1, 1, 1, 2, 2, 4, 4, 4)):
    _FIXED_SIZE[_c] = _n
_INT_DTYPES = {ord("c"): "<i1", ord("C"): "<u1", ord("s"): "<i2", ord("S"): "<u2", ord("i"): "<i4", ord("I"): "<u4"}
_ARRAY_DTYPES = dict(_INT_DTYPES)
_ARRAY_DTYPES[ord("f")] = "<f4"


class AuxFields:
    """Every aux field of a batch, as parallel arrays (one entry per field).

    Attributes
    ----------
    record : ndarray of int64
        Alignment index of the field.
    tag : ndarray of 'S2'
        Two-character tag.
    type : ndarray of uint8
        BAM type char (``A c C s S i I f Z H B``).
    subtype : ndarray of uint8
        ``B`` arrays: element type char; 0 otherwise.
    value_start : ndarray of int64
        Position in the batch's flat ``aux`` of the value (B: of the first element).
    value_len : ndarray of int64
        Bytes of the value (Z/H without the NUL; B: element count).
    """

    def __init__(self, record, tag, type_, subtype, value_start, value_len):
        self.record, self.tag, self.type, self.subtype = record, tag, type_, subtype
        self.value_start, self.value_len = value_start, value_len

    def __len__(self) -> int:
        return len(self.record)


def scan_aux(aux: np.ndarray, aux_offsets: np.ndarray, *, path=None) -> AuxFields:
    """Locate every aux field of every record (SAMv1 §4.2.4), vectorised over records.

    Parameters
    ----------
    aux : ndarray of uint8
        Flat aux bytes of a batch.
    aux_offsets : ndarray of int64, shape (n + 1,)

    Returns
    -------
    AuxFields

    Raises
    ------
    FormatError
        A field runs past its record's aux bytes, an unknown type or B
        subtype, a Z/H string without NUL.
    """
    aux = np.asarray(aux, dtype=np.uint8)
    cursor = np.asarray(aux_offsets[:-1], dtype=np.int64).copy()
    end = np.asarray(aux_offsets[1:], dtype=np.int64)
    nul = np.flatnonzero(aux == 0)
    out = {k: [] for k in ("record", "tag", "type", "subtype", "start", "len")}
    active = np.flatnonzero(cursor < end)

    def bad(rec_idx, msg):
        raise FormatError(f"aux of alignment {int(rec_idx)}: {msg}", path=path, field="aux")

    while active.size:
        c = cursor[active]
        e = end[active]
        short = c + 3 > e
        if short.any():
            bad(active[np.argmax(short)], "field header truncated")
        typ = aux[c + 2]
        tag = (aux[c].astype(np.uint16) << 8) | aux[c + 1]
        vstart = c + 3
        size = _FIXED_SIZE[typ]
        vlen = size.copy()
        sub = np.zeros(len(c), dtype=np.uint8)
        is_str = (typ == ord("Z")) | (typ == ord("H"))
        if is_str.any():
            k = np.searchsorted(nul, vstart[is_str])
            ok = k < len(nul)
            z = np.where(ok, nul[np.minimum(k, max(len(nul) - 1, 0))] if len(nul) else 0, -1)
            missing = ~ok | (z >= e[is_str])
            if missing.any():
                bad(active[is_str][np.argmax(missing)], "Z/H string is not NUL-terminated")
            vlen[is_str] = z - vstart[is_str]
            size[is_str] = vlen[is_str] + 1
        is_arr = typ == ord("B")
        if is_arr.any():
            ai = np.flatnonzero(is_arr)
            if (vstart[ai] + 5 > e[ai]).any():
                bad(active[ai][np.argmax(vstart[ai] + 5 > e[ai])], "B array header truncated")
            st = aux[vstart[ai]]
            esz = _FIXED_SIZE[st]
            unknown = (esz == 0) | (st == ord("A"))
            if unknown.any():
                bad(active[ai][np.argmax(unknown)], f"B array subtype {chr(int(st[np.argmax(unknown)]))!r}")
            cnt_idx = vstart[ai][:, None] + 1 + np.arange(4)
            count = aux[cnt_idx].copy().view("<u4").ravel().astype(np.int64)
            sub[ai] = st
            vlen[ai] = count
            size[ai] = 5 + count * esz
            vstart = vstart.copy()
            vstart[ai] += 5
        unknown = (size == 0) & ~is_str
        if unknown.any():
            i = np.argmax(unknown)
            bad(active[i], f"unknown aux type {chr(int(typ[i]))!r}")
        fend = c + 3 + size
        over = fend > e
        if over.any():
            bad(active[np.argmax(over)], "field runs past the record")
        out["record"].append(active)
        out["tag"].append(tag)
        out["type"].append(typ)
        out["subtype"].append(sub)
        out["start"].append(vstart)
        out["len"].append(vlen)
        cursor[active] = fend
        active = active[fend < e]
    if not out["record"]:
        z = np.zeros(0, dtype=np.int64)
        return AuxFields(z, np.zeros(0, dtype="S2"), np.zeros(0, np.uint8), np.zeros(0, np.uint8), z, z)
    rec = np.concatenate(out["record"]).astype(np.int64)
    order = np.argsort(rec, kind="stable")  # record order, field order within record
    tag16 = np.concatenate(out["tag"])[order]
    tags = np.empty(len(tag16), dtype="S2")
    tb = tags.view(np.uint8).reshape(-1, 2)
    tb[:, 0] = tag16 >> 8
    tb[:, 1] = tag16 & 0xFF
    return AuxFields(rec[order], tags, np.concatenate(out["type"])[order], np.concatenate(out["subtype"])[order],
                     np.concatenate(out["start"])[order], np.concatenate(out["len"])[order])


def _gather(aux: np.ndarray, starts: np.ndarray, width: int) -> np.ndarray:
    return aux[starts[:, None] + np.arange(width, dtype=np.int64)]


def _pad_strings(values: np.ndarray, starts: np.ndarray, lens: np.ndarray) -> np.ndarray:
    """Ragged bytes -> fixed-width ``U`` strings (vectorised pad + view)."""
    n = len(starts)
    width = max(int(lens.max()) if n else 0, 1)
    mat = np.zeros((n, width), dtype=np.uint8)
    if n:
        cols = np.arange(width, dtype=np.int64)
        mask = cols[None, :] < lens[:, None]
        src = (starts[:, None] + cols[None, :])[mask]
        mat[mask] = values[src]
    s = mat.view(f"S{width}").ravel()
    try:
        return s.astype(f"U{width}")
    except UnicodeDecodeError:
        return np.char.decode(s, "latin-1")


def aux_columns(batch: AlignmentBatch, *, path=None) -> dict:
    """Aux tags with one type family across the batch, as columns.

    Returns
    -------
    dict of str to tuple
        ``tag -> ("scalar", values)`` with values shape (n,) (int64 with -1,
        float32 with NaN, ``U`` strings with ''), or ``tag -> ("array",
        values, offsets)`` for B arrays.  Tags whose type differs between
        records are left out.
    """
    n = len(batch)
    f = scan_aux(batch.aux, batch.aux_offsets, path=path)
    out = {}
    if not len(f):
        return out
    family = np.full(len(f), 0, dtype=np.uint8)  # 1 int, 2 float, 3 char, 4 string, 5 int array, 6 float array
    t = f.type
    family[np.isin(t, np.frombuffer(b"cCsSiI", np.uint8))] = 1
    family[t == ord("f")] = 2
    family[t == ord("A")] = 3
    family[(t == ord("Z")) | (t == ord("H"))] = 4
    family[(t == ord("B")) & (f.subtype != ord("f"))] = 5
    family[(t == ord("B")) & (f.subtype == ord("f"))] = 6
    aux = batch.aux
    for tag in np.unique(f.tag).tolist():
        sel = np.flatnonzero(f.tag == tag)
        fam = np.unique(family[sel])
        if len(fam) != 1:
            continue
        fam = int(fam[0])
        rec = f.record[sel]
        # a tag repeated inside one record (invalid): keep the first
        first = np.ones(len(sel), dtype=bool)
        first[1:] = rec[1:] != rec[:-1]
        sel, rec = sel[first], rec[first]
        name = tag.decode("latin-1")
        if fam == 1:
            vals = np.full(n, -1, dtype=np.int64)
            for code, dt in _INT_DTYPES.items():
                k = sel[f.type[sel] == code]
                if k.size:
                    w = np.dtype(dt).itemsize
                    vals[f.record[k]] = _gather(aux, f.value_start[k], w).copy().view(dt).ravel()
            out[name] = ("scalar", vals)
        elif fam == 2:
            vals = np.full(n, np.nan, dtype=np.float32)
            vals[rec] = _gather(aux, f.value_start[sel], 4).copy().view("<f4").ravel()
            out[name] = ("scalar", vals)
        elif fam in (3, 4):
            starts = np.zeros(n, dtype=np.int64)
            lens = np.zeros(n, dtype=np.int64)
            starts[rec] = f.value_start[sel]
            lens[rec] = f.value_len[sel]
            out[name] = ("scalar", _pad_strings(aux, starts, lens))
        else:
            counts = np.zeros(n, dtype=np.int64)
            counts[rec] = f.value_len[sel]
            offsets = np.zeros(n + 1, dtype=np.int64)
            np.cumsum(counts, out=offsets[1:])
            parts = np.zeros(int(offsets[-1]), dtype=np.int64 if fam == 5 else np.float32)
            for code, dt in _ARRAY_DTYPES.items():
                k = sel[f.subtype[sel] == code]
                if not k.size:
                    continue
                w = np.dtype(dt).itemsize
                cnt = f.value_len[k]
                tot = int(cnt.sum())
                if not tot:
                    continue
                co = np.zeros(len(k) + 1, dtype=np.int64)
                np.cumsum(cnt, out=co[1:])
                elem = np.arange(tot, dtype=np.int64) - np.repeat(co[:-1], cnt)
                byte0 = np.repeat(f.value_start[k], cnt) + elem * w
                vals = _gather(aux, byte0, w).copy().view(dt).ravel()
                dest = np.repeat(offsets[f.record[k]], cnt) + elem
                parts[dest] = vals
            out[name] = ("array", parts, offsets)
    return out


def alignment_dataset(batch: AlignmentBatch, header: AlignmentHeader, *, region=None, source=None, tags: bool = True):
    """Build the alignment ``xarray.Dataset`` of a batch (DESIGN.md §3).

    Parameters
    ----------
    batch : AlignmentBatch
    header : AlignmentHeader
    region : str or Region, optional
        The query window; stored normalised (1-based closed) in
        ``attrs["region"]``; ``""`` means the whole file.
    source : str, optional
        File path, stored in ``attrs["source"]``.
    tags : bool
        Decode aux tags into ``alignment_tag_<XX>`` variables.

    Returns
    -------
    xarray.Dataset
        Dims ``alignments`` (n), ``alignments_offsets`` (n + 1),
        ``cigar_ops``, ``bases``, ``contigs`` and ``tag_<XX>_values`` for
        B-array tags; variables documented in
        :data:`hts_notebook.core.dataset.variables.VARIABLES`.  Coordinates
        follow DESIGN.md §2: ``alignment_start``/``alignment_stop`` 0-based
        half-open, ``alignment_position`` 1-based.

    Raises
    ------
    FormatError
        Malformed aux data.
    """
    import xarray as xr

    n = len(batch)
    A, AO = ("alignments",), ("alignments_offsets",)
    name_lens = np.diff(batch.name_offsets)
    names = _pad_strings(batch.name, batch.name_offsets[:-1], name_lens)
    cig = batch.cigar
    refs = header.references
    data = {
        "alignment_name": (A, names),
        "alignment_flag": (A, batch.flag),
        "alignment_contig": (A, batch.ref_id.astype(np.int32)),
        "alignment_start": (A, batch.pos.astype(np.int64)),
        "alignment_stop": (A, batch.end.astype(np.int64)),
        "alignment_position": (A, batch.pos.astype(np.int64) + 1),
        "alignment_mapping_quality": (A, batch.mapq),
        "alignment_mate_contig": (A, batch.next_ref_id.astype(np.int32)),
        "alignment_mate_start": (A, batch.next_pos.astype(np.int64)),
        "alignment_template_length": (A, batch.tlen.astype(np.int64)),
        "alignment_cigar_op": (("cigar_ops",), (cig & 15).astype(np.uint8)),
        "alignment_cigar_length": (("cigar_ops",), (cig >> 4).astype(np.uint32)),
        "alignment_cigar_offset": (AO, batch.cigar_offsets.astype(np.int64)),
        "alignment_sequence": (("bases",), batch.seq_ascii),
        "alignment_quality": (("bases",), batch.qual),
        "alignment_sequence_offset": (AO, batch.seq_offsets.astype(np.int64)),
        "contig_id": (("contigs",), np.array([r[0] for r in refs], dtype=str) if refs else np.zeros(0, dtype="U1")),
        "contig_length": (("contigs",), np.array([r[1] for r in refs], dtype=np.int64)),
    }
    if tags and n:
        for tag, col in aux_columns(batch, path=source).items():
            if col[0] == "scalar":
                data[f"alignment_tag_{tag}"] = (A, col[1])
            else:
                data[f"alignment_tag_{tag}"] = ((f"tag_{tag}_values",), col[1])
                data[f"alignment_tag_{tag}_offset"] = (AO, col[2])
    if region is None:
        region_text = ""
    else:
        region_text = str(region)
    ds = xr.Dataset(data, attrs={"region": region_text, "source": "" if source is None else str(source)})
    ds["alignment_cigar_op"].attrs["codes"] = "MIDNSHP=X"
    return ds
