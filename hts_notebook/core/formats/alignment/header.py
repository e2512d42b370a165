"""SAM header model: @HD/@SQ/@RG/@PG/@CO (SAMv1 §1.3) shared by SAM, BAM and CRAM."""
from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["AlignmentHeader"]


@dataclass
class AlignmentHeader:
    """Header text plus the reference dictionary.

    Attributes
    ----------
    text : str
        Header text exactly as stored (``@`` lines, each ending ``\\n``).
    references : list of (str, int)
        Reference names and lengths in index order.  For BAM these come from
        the binary reference list (which wins over ``@SQ`` text, as in htslib).
    """

    text: str = ""
    references: list = field(default_factory=list)

    def __post_init__(self):
        self._index = {name: i for i, (name, _) in enumerate(self.references)}

    @classmethod
    def from_text(cls, text: str) -> "AlignmentHeader":
        """Build from SAM header text; references come from ``@SQ SN/LN``."""
        refs = []
        for line in text.splitlines():
            if line.startswith("@SQ"):
                tags = dict(_split_tag(t) for t in line.split("\t")[1:] if len(t) >= 3 and t[2] == ":")
                if "SN" in tags:
                    try:
                        length = int(tags.get("LN", "0"))
                    except ValueError:
                        length = 0
                    refs.append((tags["SN"], length))
        return cls(text, refs)

    @property
    def contigs(self) -> dict:
        """Reference name -> length, in index order."""
        return dict(self.references)

    def ref_id(self, name: str) -> int:
        """Index of reference ``name`` (-1 for ``*``); ``KeyError`` when unknown."""
        if name == "*":
            return -1
        return self._index[name]

    def ref_name(self, ref_id: int) -> str:
        return "*" if ref_id < 0 else self.references[ref_id][0]

    def lines(self, kind: str | None = None) -> list[str]:
        out = [ln for ln in self.text.splitlines() if ln]
        return [ln for ln in out if kind is None or ln.startswith("@" + kind)]

    def to_dict(self) -> dict:
        """Like ``pysam.AlignmentHeader.to_dict()``: ``{"HD": {...}, "SQ": [...], "CO": [...]}``."""
        out: dict = {}
        for line in self.lines():
            kind = line[1:3]
            if kind == "CO":
                out.setdefault("CO", []).append(line[4:])
                continue
            rec = {}
            for t in line.split("\t")[1:]:
                k, v = _split_tag(t)
                if k in ("LN",) or (kind == "SQ" and k == "LN"):
                    try:
                        v = int(v)
                    except ValueError:
                        pass
                rec[k] = v
            if kind == "HD":
                out["HD"] = rec
            else:
                out.setdefault(kind, []).append(rec)
        return out


def _split_tag(t: str) -> tuple[str, str]:
    return (t[:2], t[3:]) if len(t) >= 3 and t[2] == ":" else (t, "")
