"""Region strings (DESIGN.md §2).

Region strings are 1-based closed (``chr1:1,000-2,000``) as samtools, IGV and
VCF write them; :class:`Region` stores 0-based half-open integers as BAM, BAI,
BED and bigWig do.  This module and the dataset builders are the only places
where the two conventions meet.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping

from .errors import RegionError

__all__ = ["Region", "parse_region", "MAX_POSITION"]

#: largest end used for "to the end of the contig" when the length is unknown
MAX_POSITION = (1 << 63) - 1

_NUM = r"[0-9][0-9,]*"
_RANGE = re.compile(rf"^(?P<beg>{_NUM})?(?:-(?P<end>{_NUM})?)?$")


@dataclass(frozen=True)
class Region:
    """A genomic interval, 0-based half-open.

    Attributes
    ----------
    contig : str
        Reference sequence name (``RNAME`` / ``CHROM``).
    start : int
        0-based first position (inclusive).
    stop : int or None
        0-based end (exclusive); ``None`` means "to the end of the contig".
    """

    contig: str
    start: int = 0
    stop: int | None = None

    def __post_init__(self):
        if self.start < 0:
            raise RegionError(f"region {self.contig}: start {self.start} < 0", field="start")
        if self.stop is not None and self.stop < self.start:
            raise RegionError(
                f"region {self.contig}: end {self.stop} before start {self.start + 1}", field="stop"
            )

    @property
    def whole_contig(self) -> bool:
        return self.start == 0 and self.stop is None

    def resolved(self, length: int | None) -> "Region":
        """Return a copy whose ``stop`` is clipped to the contig ``length``."""
        stop = self.stop
        if length is not None and (stop is None or stop > length):
            stop = length
        return Region(self.contig, min(self.start, stop) if stop is not None else self.start, stop)

    def __str__(self) -> str:  # 1-based closed
        if self.whole_contig:
            return self.contig
        if self.stop is None:
            return f"{self.contig}:{self.start + 1}"
        return f"{self.contig}:{self.start + 1}-{self.stop}"

    @classmethod
    def parse(cls, text, contigs: Mapping[str, int] | None = None) -> "Region":
        return parse_region(text, contigs)


def _int(text: str) -> int:
    return int(text.replace(",", ""))


def parse_region(text, contigs: Mapping[str, int] | None = None) -> Region:
    """Parse a samtools-style region string.

    Parameters
    ----------
    text : str or Region or tuple
        ``"chr1"``, ``"chr1:100"`` (100 to the end), ``"chr1:100-200"``
        (1-based closed, commas allowed), ``"chr1:-200"``, ``"{chr:1}:5-6"``
        (braces quote names containing colons), or a ``(contig, start, stop)``
        tuple already 0-based half-open.
    contigs : mapping of str to int, optional
        Known contig names and lengths.  When given, an unknown contig raises
        :class:`RegionError`, and a name that itself contains ``:`` is matched
        whole first (htslib's rule for names like ``HLA-A*01:01``).

    Returns
    -------
    Region
        0-based half-open.

    Raises
    ------
    RegionError
        Malformed text, start after end, or unknown contig.
    """
    if isinstance(text, Region):
        region = text
    elif isinstance(text, tuple):
        contig, start, stop = (tuple(text) + (None, None))[:3]
        region = Region(str(contig), int(start or 0), None if stop is None else int(stop))
    else:
        region = _parse_text(str(text).strip(), contigs)
    if contigs is not None and region.contig not in contigs:
        raise RegionError(f"unknown contig {region.contig!r} in region {text!s}", field="contig")
    return region


def _parse_text(text: str, contigs) -> Region:
    if not text:
        raise RegionError("empty region string", field="region")
    if text.startswith("{"):
        close = text.find("}")
        if close < 0:
            raise RegionError(f"unbalanced brace in region {text!r}", field="contig")
        name, rest = text[1:close], text[close + 1:]
        if rest and not rest.startswith(":"):
            raise RegionError(f"malformed region {text!r}", field="region")
        return _with_range(name, rest[1:] if rest else "", text)
    if contigs is not None and text in contigs:
        return Region(text)
    colon = text.rfind(":")
    if colon < 0:
        return Region(text)
    name, rng = text[:colon], text[colon + 1:]
    if contigs is not None and name not in contigs and text in contigs:
        return Region(text)
    if not _RANGE.match(rng):
        if contigs is None or text in contigs:
            return Region(text)
        raise RegionError(f"malformed coordinates in region {text!r}", field="region")
    return _with_range(name, rng, text)


def _with_range(name: str, rng: str, text: str) -> Region:
    if not name:
        raise RegionError(f"missing contig in region {text!r}", field="contig")
    if not rng:
        return Region(name)
    m = _RANGE.match(rng)
    if not m:
        raise RegionError(f"malformed coordinates in region {text!r}", field="region")
    beg = _int(m.group("beg")) if m.group("beg") else 1
    end = _int(m.group("end")) if m.group("end") else None
    if beg < 1:
        beg = 1
    if end is not None and end < beg:
        raise RegionError(f"end before start in region {text!r}", field="stop")
    return Region(name, beg - 1, end)
