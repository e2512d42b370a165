"""Compare VariantBatch records with the pysam-made VCF oracle records (test helper)."""
from __future__ import annotations

import math

import numpy as np

from hts_notebook.core.formats.variant.batch import FLOAT32_FILL_BITS, INT_FILL, INT_MISSING


def _val(x):
    """A stored value as the oracle writes it (None for missing)."""
    if isinstance(x, (np.floating, float)):
        return None if not math.isfinite(x) else float(x)  # the oracle writes NaN/inf as null
    if isinstance(x, (np.integer, int)) and not isinstance(x, (bool, np.bool_)):
        return None if x == INT_MISSING else int(x)
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    return x


def _vec(arr, fd_number, is_string):
    if arr.ndim == 0:
        return _val(arr.item() if hasattr(arr, "item") else arr)
    out = []
    for k, x in enumerate(arr):
        if isinstance(x, (np.floating,)) and np.float32(x).view(np.uint32) == FLOAT32_FILL_BITS:
            break
        if isinstance(x, (np.integer,)) and x == INT_FILL:
            break
        if is_string and x == "":
            break
        out.append(_val(x))
    return out


def same(a, b):
    if isinstance(a, list) and isinstance(b, list) and all(isinstance(x, str) for x in a + b):
        return ",".join(a) == ",".join(b)  # Number=1 Strings keep their commas; pysam may split them
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is None and b is None
        return np.float32(a) == np.float32(b)
    return a == b


def record_view(header, batch, i, sample_names):
    """Record ``i`` of ``batch`` as an oracle-like dict."""
    alle = batch.record_alleles(i)
    filt = [] if batch.filter_missing[i] else [batch.filter_ids[k] for k in np.flatnonzero(batch.filters[i])]
    info = {}
    for key, arr in batch.info.items():
        if not batch.info_present[key][i]:
            continue
        fd = header.info[key]
        if fd.type == "Flag":
            info[key] = True
            continue
        v = arr[i]
        info[key] = _val(v) if arr.ndim == 1 else _vec(v, fd.number, arr.dtype == object)
    fk = batch.format_keys[i].split(":") if batch.format_keys[i] else []
    samples = {}
    for name in sample_names:
        s = batch.samples.index(name)
        d = {}
        for key in fk:
            if key == "GT":
                g = [int(x) for x in batch.genotype[i, s] if x != INT_FILL]
                g = [x if x < len(alle) else INT_MISSING for x in g]  # htslib: out-of-range allele = missing
                d["GT"] = [None if x == INT_MISSING else x for x in g]
                d["phased"] = bool(batch.phased[i, s])
                continue
            arr = batch.format[key]
            v = arr[i, s]
            d[key] = _val(v) if arr.ndim == 2 else _vec(v, header.format[key].number, arr.dtype == object)
        samples[name] = d
    return {
        "chrom": header.contig_names[batch.contig[i]],
        "pos": int(batch.position[i]),
        "start": int(batch.position[i]) - 1,
        "stop": int(batch.stop[i]),
        "id": None if batch.id[i] == "." else batch.id[i],
        "ref": alle[0],
        "alts": alle[1:] or None,
        "qual": None if not np.isfinite(batch.quality[i]) else float(batch.quality[i]),
        "filter": filt,
        "info": info,
        "format_keys": fk,
        "samples": samples,
    }


def compare_record(got, exp, where=""):
    """Return a list of difference descriptions (empty when equal)."""
    diffs = []
    if sorted(got["filter"]) != sorted(exp["filter"]):  # FILTER is a bool matrix: order not kept
        diffs.append(f"{where}filter: {got['filter']!r} != {exp['filter']!r}")
    for k in ("chrom", "pos", "start", "stop", "id", "ref", "alts", "format_keys"):
        if got[k] != exp[k]:
            diffs.append(f"{where}{k}: {got[k]!r} != {exp[k]!r}")
    if not same(got["qual"], exp["qual"]):
        diffs.append(f"{where}qual: {got['qual']!r} != {exp['qual']!r}")
    for key, ev in exp["info"].items():
        if isinstance(ev, dict) and "_error" in ev:
            continue
        gv = got["info"].get(key, "<absent>")
        if isinstance(ev, list) and not isinstance(gv, list):
            gv = [gv]
        if isinstance(gv, list) and len(gv) == 1 and not isinstance(ev, list):
            gv = gv[0]  # pysam unwraps single values of undeclared keys
        if not same(gv, ev):
            diffs.append(f"{where}info {key}: {gv!r} != {ev!r}")
    for name, es in exp["samples"].items():
        gs = got["samples"].get(name, {})
        for key, ev in es.items():
            if isinstance(ev, dict) and "_error" in ev:
                continue
            gv = gs.get(key, "<absent>")
            if isinstance(ev, list) and not isinstance(gv, list):
                gv = [gv]
            if isinstance(gv, list) and len(gv) == 1 and not isinstance(ev, list):
                gv = gv[0]
            if not same(gv, ev):
                diffs.append(f"{where}sample {name} {key}: {gv!r} != {ev!r}")
    return diffs
