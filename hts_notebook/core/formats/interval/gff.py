"""GFF3 / GTF columns (GFF3 spec): source, type, score, strand, phase, attributes.

GFF start/end are 1-based closed; the dataset's ``interval_start``/``interval_stop``
are 0-based half-open (start - 1, end).
"""
from __future__ import annotations

import numpy as np

__all__ = ["GFF_COLUMNS", "gff_variables"]

GFF_COLUMNS = [
    (2, "interval_source", "str"),
    (3, "interval_type", "str"),
    (6, "interval_score", "float"),
    (7, "interval_strand", "str"),
    (8, "interval_phase", "int"),
    (9, "interval_attributes", "str"),
]


def gff_variables(rows: list[list[str]]) -> dict:
    """Typed GFF columns of split lines: ``name -> 1-D array``.

    ``interval_score`` float64 (NaN for ``.``), ``interval_phase`` int8 (-1 for ``.``),
    the others object arrays of str.
    """
    if not rows:
        return {}
    width = min(len(r) for r in rows)
    out = {}
    for col, name, kind in GFF_COLUMNS:
        if col > width:
            continue
        vals = [r[col - 1] for r in rows]
        if kind == "str":
            out[name] = np.array(vals, dtype=object)
        elif kind == "float":
            a = np.full(len(vals), np.nan)
            for i, v in enumerate(vals):
                try:
                    a[i] = float(v)
                except ValueError:
                    pass
            out[name] = a
        else:
            a = np.full(len(vals), -1, dtype=np.int8)
            for i, v in enumerate(vals):
                if v in ("0", "1", "2"):
                    a[i] = int(v)
            out[name] = a
    return out
