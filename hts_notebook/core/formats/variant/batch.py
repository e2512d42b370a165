"""Columnar variant records (VCF and BCF decode to this; the dataset builder reads it).

Layout of a :class:`VariantBatch` of ``n`` records and ``s`` samples
(VCFv4.3 §1.6; sentinels follow VCF Zarr / sgkit):

==================  =====================  ===========================================================
attribute           dtype, shape           meaning
==================  =====================  ===========================================================
``contig``          int32 (n,)             index into ``header.contigs`` (CHROM)
``position``        int64 (n,)             1-based POS, as written in the file
``stop``            int64 (n,)             0-based exclusive end: ``POS - 1 + len(REF)``, or INFO/END
``id``              object (n,)            ID column text, ``'.'`` when missing
``allele``          object (m,)            REF and ALT alleles of all records, flat
``allele_offset``   int64 (n + 1,)         record i's alleles are ``allele[off[i]:off[i+1]]``
``quality``         float32 (n,)           QUAL; NaN (bit pattern 0x7F800001) when missing
``filters``         bool (n, f)            FILTER over ``filter_ids`` (header order, PASS first)
``filter_missing``  bool (n,)              FILTER was ``'.'``
``info[ID]``        see below (n[, k])     INFO value per record
``info_present``    bool (n,) per ID       the key appeared in the INFO column
``format[ID]``      see below (n, s[, k])  FORMAT value per record and sample (GT excluded)
``info_keys``       object (n,)            INFO keys in file order (``'AC;AF;DB'``), ``''`` for none;
                                           optional (None: writers use ``info`` order)
``filter_order``    object (n,)            FILTER names in file order (``'q10;PASS'``), ``''`` when the
                                           header order applies; optional (None: header order). Writers
                                           use it only while it names the same set as ``filters``
``format_keys``     object (n,)            FORMAT column text (``'GT:AD:DP'``), ``''`` when absent
``genotype``        int8/16/32 (n, s, p)   allele indices; -1 missing (``.``), -2 fill (lower ploidy)
``phased``          bool (n, s)            every separator of the call is ``|`` (haploid: True)
``samples``         list of str            sample names (columns of the format/genotype arrays)
==================  =====================  ===========================================================

Value arrays by header Type: Integer int32 (missing -1, fill -2); Float
float32 (missing NaN 0x7F800001, fill NaN 0x7F800002, as in BCF); Flag bool
(INFO only); String / Character object arrays of ``str`` (missing ``'.'``,
fill ``''``).  Fields with ``Number=1`` (or a Flag) are ``(n,)`` (INFO) or
``(n, s)`` (FORMAT); every other ``Number`` adds a trailing values axis ``k``
sized to the widest record of the batch, shorter vectors padded with fill.
A ``String`` with ``Number=1`` keeps its text whole (commas included).

A literal Integer value of -1 or -2 cannot be told from missing / fill (the
VCF Zarr convention); no corpus file has one.
"""
from __future__ import annotations

import numpy as np

__all__ = [
    "VariantBatch",
    "key_list_texts",
    "LazyFields",
    "INT_MISSING",
    "INT_FILL",
    "FLOAT32_MISSING",
    "FLOAT32_FILL",
    "FLOAT32_MISSING_BITS",
    "FLOAT32_FILL_BITS",
    "STR_MISSING",
    "STR_FILL",
    "float_is_missing",
    "float_is_fill",
    "fill_value",
    "missing_value",
    "concat",
]

INT_MISSING = -1
INT_FILL = -2
FLOAT32_MISSING_BITS = 0x7F800001
FLOAT32_FILL_BITS = 0x7F800002
FLOAT32_MISSING = np.array([FLOAT32_MISSING_BITS], dtype=np.uint32).view(np.float32)[0]
FLOAT32_FILL = np.array([FLOAT32_FILL_BITS], dtype=np.uint32).view(np.float32)[0]
STR_MISSING = "."
STR_FILL = ""


def float_is_fill(a) -> np.ndarray:
    """True where a float32 array holds the fill NaN (end of a shorter vector)."""
    a = np.ascontiguousarray(a, dtype=np.float32)
    return a.view(np.uint32) == FLOAT32_FILL_BITS


def float_is_missing(a) -> np.ndarray:
    """True where a float32 array is NaN but not the fill NaN."""
    a = np.ascontiguousarray(a, dtype=np.float32)
    return np.isnan(a) & ~float_is_fill(a)


def fill_value(dtype):
    """The fill sentinel for an array dtype (int -2, float fill NaN, str '', bool False)."""
    dt = np.dtype(dtype)
    if dt.kind in "iu":
        return INT_FILL
    if dt.kind == "f":
        return FLOAT32_FILL
    if dt.kind == "b":
        return False
    return STR_FILL


def missing_value(dtype):
    """The missing sentinel for an array dtype (int -1, float NaN, str '.', bool False)."""
    dt = np.dtype(dtype)
    if dt.kind in "iu":
        return INT_MISSING
    if dt.kind == "f":
        return FLOAT32_MISSING
    if dt.kind == "b":
        return False
    return STR_MISSING


def _full(shape, dtype):
    dt = np.dtype(dtype)
    if dt.kind == "O":
        a = np.empty(shape, dtype=object)
        a.fill(STR_FILL)
        return a
    return np.full(shape, fill_value(dt), dtype=dt)


def _pad_axis(a: np.ndarray, axis: int, width: int) -> np.ndarray:
    if a.shape[axis] >= width:
        return a
    shape = list(a.shape)
    shape[axis] = width
    out = _full(tuple(shape), a.dtype)
    sl = [slice(None)] * a.ndim
    sl[axis] = slice(0, a.shape[axis])
    out[tuple(sl)] = a
    return out


class LazyFields(dict):
    """A ``dict`` of field arrays whose values may be built on first access.

    ``pending`` maps keys to zero-argument loaders; a key is listed (``in``,
    iteration, ``len``) from the start and its loader runs the first time the
    value is read (``[]``, ``get``, ``items``, ``values``), then the value is
    kept.  Readers use it for FORMAT fields so a genotype scan never decodes
    the others; errors in a field's bytes are raised when it is read.
    """

    __slots__ = ("_pending",)

    def __init__(self, values=None, pending=None):
        super().__init__(values or {})
        self._pending = dict(pending or {})
        for key in self._pending:
            dict.__setitem__(self, key, None)

    def __getitem__(self, key):
        load = self._pending.pop(key, None)
        if load is not None:
            try:
                dict.__setitem__(self, key, load())
            except BaseException:
                self._pending[key] = load
                raise
        return dict.__getitem__(self, key)

    def __setitem__(self, key, value):
        self._pending.pop(key, None)
        dict.__setitem__(self, key, value)

    def __iter__(self):  # also makes dict(self) go through __getitem__
        return iter(list(dict.keys(self)))

    def get(self, key, default=None):
        return self[key] if key in self else default

    def items(self):
        return [(k, self[k]) for k in list(dict.keys(self))]

    def values(self):
        return [self[k] for k in list(dict.keys(self))]

    def copy(self):
        return LazyFields({k: dict.__getitem__(self, k) for k in dict.keys(self) if k not in self._pending},
                          self._pending)

    def map(self, fn) -> "LazyFields":
        """A new mapping of ``fn(value)`` per key, still lazy for keys not built yet."""
        done = {k: fn(dict.__getitem__(self, k)) for k in dict.keys(self) if k not in self._pending}
        pending = {k: (lambda load=load: fn(load())) for k, load in self._pending.items()}
        return LazyFields(done, pending)

    @property
    def pending(self) -> list:
        """Keys whose values are not built yet."""
        return list(self._pending)

    def __repr__(self) -> str:
        return "{" + ", ".join(f"{k!r}: " + ("<pending>" if k in self._pending else "array")
                               for k in dict.keys(self)) + "}"


def _map_fields(fields: dict, fn) -> dict:
    return fields.map(fn) if isinstance(fields, LazyFields) else {k: fn(v) for k, v in fields.items()}


class VariantBatch:
    """Columnar VCF/BCF records; see the module docstring for the layout.

    Parameters are the attributes of the same names.  ``info``/``format``
    map IDs (as in the header) to arrays; missing ``info_present`` entries
    are derived (present where the value is not all-missing).
    """

    def __init__(self, *, contig, position, stop, id, allele, allele_offset, quality, filters,
                 filter_ids, filter_missing=None, info=None, info_present=None, format=None,
                 format_keys=None, genotype=None, phased=None, samples=(), info_keys=None,
                 filter_order=None, info_flag_values=None, info_bare=None):
        self.contig = np.asarray(contig, dtype=np.int32)
        n = len(self.contig)
        self.position = np.asarray(position, dtype=np.int64)
        self.stop = np.asarray(stop, dtype=np.int64)
        self.id = _obj(id, n)
        self.allele = _obj(allele, None)
        self.allele_offset = np.asarray(allele_offset, dtype=np.int64)
        self.quality = np.asarray(quality, dtype=np.float32)
        self.filter_ids = list(filter_ids)
        self.filters = np.asarray(filters, dtype=bool).reshape(n, len(self.filter_ids))
        self.filter_missing = (np.zeros(n, bool) if filter_missing is None
                               else np.asarray(filter_missing, dtype=bool))
        self.info = dict(info or {})
        self.info_present = dict(info_present or {})
        for k, v in self.info.items():
            if k not in self.info_present:
                self.info_present[k] = _present(v)
        self.format = format if isinstance(format, LazyFields) else dict(format or {})
        # Flags written with a value (``DB=0``): the value text per record (None: none), as htslib keeps it
        self.info_flag_values = dict(info_flag_values or {})
        # keys of other types written without a value (``H2`` of a String key): True where bare, printed so
        self.info_bare = dict(info_bare or {})
        self.info_keys = None if info_keys is None else _obj(info_keys, n)
        self.filter_order = None if filter_order is None else _obj(filter_order, n)
        self.samples = list(samples)
        s = len(self.samples)
        self.format_keys = _obj(format_keys, n) if format_keys is not None else _obj([""] * n, n)
        if genotype is None:
            genotype = np.full((n, s, 0), INT_FILL, dtype=np.int8)
        self.genotype = np.asarray(genotype)
        if phased is None:
            phased = np.zeros((n, s), dtype=bool)
        self.phased = np.asarray(phased, dtype=bool)
        if len(self.allele_offset) != n + 1:
            raise ValueError(f"allele_offset has {len(self.allele_offset)} entries, expected {n + 1}")

    # ------------------------------------------------------------ sizes
    def __len__(self) -> int:
        return len(self.contig)

    @property
    def n_variants(self) -> int:
        return len(self.contig)

    @property
    def n_samples(self) -> int:
        return len(self.samples)

    @property
    def ploidy(self) -> int:
        """Width of the genotype ploidy axis (largest ploidy in the batch)."""
        return self.genotype.shape[2]

    @property
    def n_allele(self) -> np.ndarray:
        """int32 (n,): number of alleles (REF + ALTs; ALT '.' counts 0) per record."""
        return np.diff(self.allele_offset).astype(np.int32)

    @property
    def start(self) -> np.ndarray:
        """int64 (n,): 0-based start ``POS - 1``."""
        return self.position - 1

    def alleles_matrix(self, max_alleles: int | None = None) -> np.ndarray:
        """Alleles as an ``(n, max_alleles)`` object array of str, ``''`` fill.

        ``max_alleles`` defaults to the largest ``n_allele`` of the batch (at least 1).
        """
        na = self.n_allele
        width = max(int(na.max()) if len(na) else 1, 1) if max_alleles is None else int(max_alleles)
        out = np.empty((len(self), width), dtype=object)
        out.fill(STR_FILL)
        if len(self.allele):
            rows = np.repeat(np.arange(len(self)), na)
            cols = np.arange(len(self.allele)) - np.repeat(self.allele_offset[:-1], na)
            keep = cols < width
            out[rows[keep], cols[keep]] = self.allele[keep]
        return out

    def record_alleles(self, i: int) -> list[str]:
        return list(self.allele[self.allele_offset[i]:self.allele_offset[i + 1]])

    @property
    def ref(self) -> np.ndarray:
        """object (n,): REF alleles."""
        na = self.n_allele
        out = np.empty(len(self), dtype=object)
        out.fill("")
        has = na > 0
        out[has] = self.allele[self.allele_offset[:-1][has]]
        return out

    # ------------------------------------------------------------ selection
    def take(self, idx) -> "VariantBatch":
        """Records ``idx`` (int array, bool mask or slice), in that order."""
        idx = np.arange(len(self))[idx] if not (isinstance(idx, np.ndarray) and idx.dtype.kind in "iu") \
            else np.asarray(idx, dtype=np.int64)
        na = self.n_allele[idx]
        off = np.zeros(len(idx) + 1, dtype=np.int64)
        np.cumsum(na, out=off[1:])
        if len(idx):
            src = np.repeat(self.allele_offset[:-1][idx], na) + (np.arange(off[-1]) - np.repeat(off[:-1], na))
            allele = self.allele[src]
        else:
            allele = np.empty(0, dtype=object)
        return VariantBatch(
            contig=self.contig[idx], position=self.position[idx], stop=self.stop[idx], id=self.id[idx],
            allele=allele, allele_offset=off, quality=self.quality[idx], filters=self.filters[idx],
            filter_ids=self.filter_ids, filter_missing=self.filter_missing[idx],
            info={k: v[idx] for k, v in self.info.items()},
            info_present={k: v[idx] for k, v in self.info_present.items()},
            format=_map_fields(self.format, lambda v: v[idx]), format_keys=self.format_keys[idx],
            genotype=self.genotype[idx], phased=self.phased[idx], samples=self.samples,
            info_keys=None if self.info_keys is None else self.info_keys[idx],
            filter_order=None if self.filter_order is None else self.filter_order[idx],
            info_flag_values={k: v[idx] for k, v in self.info_flag_values.items()},
            info_bare={k: v[idx] for k, v in self.info_bare.items()})

    def filter_text(self, i: int) -> str:
        """The FILTER column of record ``i`` (``.``, ``PASS`` or ``;``-joined names), in file order when known."""
        if self.filter_missing[i]:
            return "."
        names = [self.filter_ids[k] for k in np.flatnonzero(self.filters[i])]
        if not names:
            return "."
        if self.filter_order is not None and self.filter_order[i]:
            order = self.filter_order[i].split(";")
            if sorted(order) == sorted(names):
                return self.filter_order[i]
        return ";".join(names)

    def select_samples(self, samples) -> "VariantBatch":
        """Keep the sample columns named (or indexed) by ``samples``, in that order."""
        names = list(samples)
        if names and isinstance(names[0], str):
            pos = {s: i for i, s in enumerate(self.samples)}
            missing = [s for s in names if s not in pos]
            if missing:
                from ...errors import RegionError

                raise RegionError(f"unknown sample(s): {', '.join(missing[:5])}", field="samples")
            cols = np.array([pos[s] for s in names], dtype=np.int64)
        else:
            cols = np.asarray(names, dtype=np.int64)
        out = self.take(np.arange(len(self)))
        out.samples = [self.samples[i] for i in cols]
        out.format = _map_fields(self.format, lambda v: v[:, cols])
        out.genotype = self.genotype[:, cols]
        out.phased = self.phased[:, cols]
        return out

    def __repr__(self) -> str:
        return (f"VariantBatch({len(self)} records, {self.n_samples} samples, ploidy {self.ploidy}, "
                f"INFO {list(self.info)}, FORMAT {list(self.format)})")

    @classmethod
    def empty(cls, filter_ids=("PASS",), samples=()) -> "VariantBatch":
        s = len(samples)
        return cls(contig=np.empty(0, np.int32), position=np.empty(0, np.int64), stop=np.empty(0, np.int64),
                   id=np.empty(0, object), allele=np.empty(0, object), allele_offset=np.zeros(1, np.int64),
                   quality=np.empty(0, np.float32), filters=np.zeros((0, len(filter_ids)), bool),
                   filter_ids=filter_ids, genotype=np.full((0, s, 0), INT_FILL, np.int8),
                   phased=np.zeros((0, s), bool), samples=samples)


def _obj(values, n) -> np.ndarray:
    if isinstance(values, np.ndarray) and values.dtype == object:
        return values
    out = np.empty(len(values) if n is None else n, dtype=object)
    out[:] = list(values)
    return out


def _present(v: np.ndarray) -> np.ndarray:
    n = v.shape[0]
    flat = v.reshape(n, -1)
    if v.dtype.kind == "b":
        return flat.any(axis=1)
    if v.dtype.kind in "iu":
        return ((flat != INT_MISSING) & (flat != INT_FILL)).any(axis=1)
    if v.dtype.kind == "f":
        return (~np.isnan(flat)).any(axis=1)
    return np.array([any(x not in (STR_MISSING, STR_FILL) for x in row) for row in flat], dtype=bool)


def concat(batches) -> VariantBatch:
    """Concatenate batches that share samples.

    Filters are aligned by ID (union, first-seen order); value arrays of
    fields missing from a batch are filled with the missing sentinel (the
    key is recorded absent), and trailing axes are padded to the widest batch.
    """
    batches = [b for b in batches]
    if not batches:
        return VariantBatch.empty()
    if len(batches) == 1:
        return batches[0]
    samples = batches[0].samples
    for b in batches[1:]:
        if b.samples != samples:
            raise ValueError("cannot concatenate batches with different samples")
    filter_ids: list[str] = []
    for b in batches:
        for f in b.filter_ids:
            if f not in filter_ids:
                filter_ids.append(f)
    filt = []
    for b in batches:
        m = np.zeros((len(b), len(filter_ids)), bool)
        for j, f in enumerate(b.filter_ids):
            m[:, filter_ids.index(f)] = b.filters[:, j]
        filt.append(m)
    offs = [np.zeros(1, np.int64)]
    base = 0
    for b in batches:
        offs.append(b.allele_offset[1:] + base)
        base += b.allele_offset[-1]

    def merge(getter, keys, tail_axis_from):
        out = {}
        for k in keys:
            arrs = [getter(b).get(k) for b in batches]
            proto = next(a for a in arrs if a is not None)
            fixed = [a for a in arrs]
            for i, a in enumerate(fixed):
                if a is None:
                    shape = (len(batches[i]),) + proto.shape[1:]
                    a = _full(shape, proto.dtype)
                    mv = missing_value(proto.dtype)
                    if proto.ndim == tail_axis_from:
                        a[...] = mv
                    else:
                        a[(slice(None),) * tail_axis_from + (0,)] = mv
                    fixed[i] = a
            if proto.ndim > tail_axis_from:
                w = max(a.shape[tail_axis_from] for a in fixed)
                fixed = [_pad_axis(a, tail_axis_from, w) for a in fixed]
            dt = np.result_type(*[a.dtype for a in fixed])
            out[k] = np.concatenate([a.astype(dt, copy=False) for a in fixed])
        return out

    info_keys = list(dict.fromkeys(k for b in batches for k in b.info))
    fmt_keys = list(dict.fromkeys(k for b in batches for k in b.format))
    info_present = {k: np.concatenate([b.info_present.get(k, np.zeros(len(b), bool)) for b in batches])
                    for k in info_keys}
    p = max(b.genotype.shape[2] for b in batches)
    gdt = np.result_type(*[b.genotype.dtype for b in batches])
    return VariantBatch(
        contig=np.concatenate([b.contig for b in batches]),
        position=np.concatenate([b.position for b in batches]),
        stop=np.concatenate([b.stop for b in batches]),
        id=np.concatenate([b.id for b in batches]),
        allele=np.concatenate([b.allele for b in batches]),
        allele_offset=np.concatenate(offs),
        quality=np.concatenate([b.quality for b in batches]),
        filters=np.concatenate(filt), filter_ids=filter_ids,
        filter_missing=np.concatenate([b.filter_missing for b in batches]),
        info=merge(lambda b: b.info, info_keys, 1), info_present=info_present,
        format=(LazyFields(pending={k: (lambda k=k: merge(lambda b: b.format, [k], 2)[k]) for k in fmt_keys})
                if any(isinstance(b.format, LazyFields) and b.format.pending for b in batches)
                else merge(lambda b: b.format, fmt_keys, 2)),
        format_keys=np.concatenate([b.format_keys for b in batches]),
        genotype=np.concatenate([_pad_axis(b.genotype.astype(gdt, copy=False), 2, p) for b in batches]),
        phased=np.concatenate([b.phased for b in batches]), samples=samples,
        info_keys=None if any(b.info_keys is None for b in batches)
        else np.concatenate([b.info_keys for b in batches]),
        filter_order=None if all(b.filter_order is None for b in batches)
        else np.concatenate([b.filter_order if b.filter_order is not None else _obj([""] * len(b), len(b))
                             for b in batches]),
        info_flag_values={k: np.concatenate([b.info_flag_values.get(k, _obj([None] * len(b), len(b)))
                                             for b in batches])
                          for k in dict.fromkeys(k for b in batches for k in b.info_flag_values)},
        info_bare={k: np.concatenate([b.info_bare.get(k, np.zeros(len(b), bool)) for b in batches])
                   for k in dict.fromkeys(k for b in batches for k in b.info_bare)})


def key_list_texts(rows: np.ndarray, join) -> np.ndarray:
    """One text per row of key codes, each distinct row joined once.

    Parameters
    ----------
    rows : (n, k) int array
        Key codes of each record in written order; ``-1`` pads.
    join : callable
        ``join(list of int) -> str``: the text of one row's codes.

    Returns
    -------
    (n,) object array of str
    """
    rows = np.ascontiguousarray(rows)
    if not rows.shape[0]:
        return np.empty(0, dtype=object)
    flat = rows.view(np.dtype((np.void, rows.shape[1] * rows.itemsize))).ravel()
    uniq, inv = np.unique(flat, return_inverse=True)
    texts = np.empty(len(uniq), dtype=object)
    texts[:] = [join([int(c) for c in np.frombuffer(u.tobytes(), dtype=rows.dtype) if c >= 0]) for u in uniq]
    return texts[inv.reshape(-1)]
