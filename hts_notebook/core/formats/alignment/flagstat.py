"""FLAG statistics (``samtools flagstat``), vectorised over batch columns.

Every alignment is counted into one of two columns: QC-passed (FLAG 0x200
clear) and QC-failed (0x200 set).  The categories and their exact rules are
samtools 1.16's (SAMv1 §1.4.2 for the bits):

===============================  ==================================================
category                         counted when
===============================  ==================================================
``total``                        every record
``primary``                      neither secondary (0x100) nor supplementary (0x800)
``secondary``                    0x100
``supplementary``                0x800 and not 0x100
``duplicates``                   0x400
``primary duplicates``           primary and 0x400
``mapped``                       0x4 clear
``primary mapped``               primary and 0x4 clear
``paired in sequencing``         primary and 0x1
``read1`` / ``read2``            primary, 0x1 and 0x40 / 0x80
``properly paired``              primary, 0x1, 0x2, 0x4 clear
``with itself and mate mapped``  primary, 0x1, 0x4 and 0x8 clear
``singletons``                   primary, 0x1, 0x8 set, 0x4 clear
``with mate mapped to a
different chr``                  itself and mate mapped, RNEXT != RNAME
``... (mapQ>=5)``                the same with MAPQ >= 5
===============================  ==================================================

Percentages are computed as samtools does, in single precision
(``(float)n / total * 100.0``) and printed with two decimals, so the text
output is byte-identical.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np

__all__ = ["FlagStats", "CATEGORIES", "flagstat_counts", "format_flagstat"]

#: category keys in samtools output order
CATEGORIES = (
    "total", "primary", "secondary", "supplementary", "duplicates", "primary duplicates",
    "mapped", "primary mapped", "paired in sequencing", "read1", "read2", "properly paired",
    "with itself and mate mapped", "singletons", "with mate mapped to a different chr",
    "with mate mapped to a different chr (mapQ>=5)",
)

_PAIRED, _PROPER, _UNMAP, _MUNMAP = 0x1, 0x2, 0x4, 0x8
_READ1, _READ2, _SECONDARY, _QCFAIL, _DUP, _SUPP = 0x40, 0x80, 0x100, 0x200, 0x400, 0x800


def flagstat_counts(flag, mapq, ref_id, next_ref_id) -> np.ndarray:
    """Counts per category for one set of columns.

    Parameters
    ----------
    flag, mapq, ref_id, next_ref_id : array_like
        Equal-length columns (``AlignmentBatch`` fields of the same names).

    Returns
    -------
    numpy.ndarray
        int64 array of shape ``(len(CATEGORIES), 2)``: column 0 QC-passed,
        column 1 QC-failed, rows in :data:`CATEGORIES` order.
    """
    flag = np.asarray(flag, dtype=np.int64)
    mapq = np.asarray(mapq, dtype=np.int64)
    ref_id = np.asarray(ref_id, dtype=np.int64)
    next_ref_id = np.asarray(next_ref_id, dtype=np.int64)
    fail = (flag & _QCFAIL) != 0

    secondary = (flag & _SECONDARY) != 0
    supp = ((flag & _SUPP) != 0) & ~secondary
    primary = ~secondary & ~((flag & _SUPP) != 0)
    mapped = (flag & _UNMAP) == 0
    mate_mapped = (flag & _MUNMAP) == 0
    dup = (flag & _DUP) != 0
    paired = primary & ((flag & _PAIRED) != 0)
    both = paired & mapped & mate_mapped
    diffchr = both & (next_ref_id != ref_id)
    masks = (
        np.ones(len(flag), dtype=bool),
        primary,
        secondary,
        supp,
        dup,
        primary & dup,
        mapped,
        primary & mapped,
        paired,
        paired & ((flag & _READ1) != 0),
        paired & ((flag & _READ2) != 0),
        paired & ((flag & _PROPER) != 0) & mapped,
        both,
        paired & ~mate_mapped & mapped,
        diffchr,
        diffchr & (mapq >= 5),
    )
    out = np.zeros((len(CATEGORIES), 2), dtype=np.int64)
    for i, m in enumerate(masks):
        out[i, 0] = np.count_nonzero(m & ~fail)
        out[i, 1] = np.count_nonzero(m & fail)
    return out


@dataclass
class FlagStats:
    """Accumulated flagstat counts; add batches with :meth:`update`."""

    counts: np.ndarray = field(default_factory=lambda: np.zeros((len(CATEGORIES), 2), dtype=np.int64))

    def update(self, batch) -> "FlagStats":
        """Add the records of an ``AlignmentBatch`` (or any object with the four columns)."""
        self.counts += flagstat_counts(batch.flag, batch.mapq, batch.ref_id, batch.next_ref_id)
        return self

    def __getitem__(self, category: str) -> tuple[int, int]:
        i = CATEGORIES.index(category)
        return int(self.counts[i, 0]), int(self.counts[i, 1])

    def as_dict(self) -> dict:
        """``{"QC-passed reads": {...}, "QC-failed reads": {...}}`` like ``flagstat -O json``."""
        return json.loads(format_flagstat(self, "json"))

    def __str__(self) -> str:
        return format_flagstat(self)


def _percent(n: int, total: int, none: str, suffix: str) -> str:
    if total == 0:
        return none
    # samtools: (float)n / total * 100.0 -- a float division, then a double multiply
    val = float(np.float32(n) / np.float32(total)) * 100.0
    return f"{val:.2f}{suffix}"


def format_flagstat(stats: FlagStats, fmt: str = "default") -> str:
    """Render as ``samtools flagstat -O fmt`` (``default``, ``json``, ``tsv``).

    Unknown format names fall back to the default text, as samtools does.
    """
    c = {name: (int(stats.counts[i, 0]), int(stats.counts[i, 1])) for i, name in enumerate(CATEGORIES)}

    def pct(w, num, den, none="N/A", suffix="%"):
        return _percent(c[num][w], c[den][w], none, suffix)

    if fmt in ("json", "JSON"):
        parts = []
        for w, title in ((0, "QC-passed reads"), (1, "QC-failed reads")):
            rows = []
            for name in CATEGORIES:
                key = "with mate mapped to a different chr (mapQ >= 5)" if name.endswith("(mapQ>=5)") else name
                rows.append(f'  "{key}": {c[name][w]}')
                if name in ("mapped", "primary mapped", "properly paired", "singletons"):
                    den = {"mapped": "total", "primary mapped": "primary"}.get(name, "paired in sequencing")
                    rows.append(f'  "{name} %": {pct(w, name, den, "null", "")}')
            parts.append(f' "{title}": {{ \n' + ", \n".join(rows) + " \n }")
        return "{\n" + ",\n".join(parts) + "\n}\n"
    if fmt in ("tsv", "TSV"):
        lines = []
        for name in CATEGORIES:
            label = "total (QC-passed reads + QC-failed reads)" if name == "total" else name
            lines.append(f"{c[name][0]}\t{c[name][1]}\t{label}")
            if name in ("mapped", "primary mapped", "properly paired", "singletons"):
                den = {"mapped": "total", "primary mapped": "primary"}.get(name, "paired in sequencing")
                lines.append(f"{pct(0, name, den)}\t{pct(1, name, den)}\t{name} %")
        return "\n".join(lines) + "\n"
    lines = []
    for name in CATEGORIES:
        p, f = c[name]
        if name == "total":
            lines.append(f"{p} + {f} in total (QC-passed reads + QC-failed reads)")
        elif name in ("mapped", "primary mapped", "properly paired", "singletons"):
            den = {"mapped": "total", "primary mapped": "primary"}.get(name, "paired in sequencing")
            lines.append(f"{p} + {f} {name} ({pct(0, name, den)} : {pct(1, name, den)})")
        else:
            lines.append(f"{p} + {f} {name}")
    return "\n".join(lines) + "\n"
