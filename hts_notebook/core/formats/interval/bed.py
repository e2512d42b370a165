"""BED columns (UCSC BED spec): names and types of the columns after chrom/start/end.

BED start is 0-based, end exclusive, like ``interval_start``/``interval_stop``.
"""
from __future__ import annotations

import numpy as np

__all__ = ["BED_COLUMNS", "bed_variables"]

#: (column number, variable name, kind) for BED columns 4-12; kind: str, float, int.
BED_COLUMNS = [
    (4, "interval_name", "str"),
    (5, "interval_score", "float"),
    (6, "interval_strand", "str"),
    (7, "interval_thick_start", "int"),
    (8, "interval_thick_stop", "int"),
    (9, "interval_item_rgb", "str"),
    (10, "interval_block_count", "int"),
    (11, "interval_block_sizes", "str"),
    (12, "interval_block_starts", "str"),
]


def _convert(values, kind):
    if kind == "str":
        return np.array(values, dtype=object)
    out = np.empty(len(values), dtype=np.float64 if kind == "float" else np.int64)
    miss = np.nan if kind == "float" else -1
    for i, v in enumerate(values):
        try:
            out[i] = float(v) if kind == "float" else int(v)
        except (TypeError, ValueError):
            out[i] = miss
    return out


def bed_variables(rows: list[list[str]]) -> dict:
    """Typed BED columns 4.. of split lines: ``name -> 1-D array`` (only columns present in every row).

    Missing/unparsable numbers are NaN (score) or -1 (integers); strings stay as object arrays.
    """
    if not rows:
        return {}
    width = min(len(r) for r in rows)
    out = {}
    for col, name, kind in BED_COLUMNS:
        if col <= width:
            out[name] = _convert([r[col - 1] for r in rows], kind)
    for col in range(13, width + 1):
        out[f"interval_column_{col}"] = np.array([r[col - 1] for r in rows], dtype=object)
    return out
