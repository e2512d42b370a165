"""The VCF / BCF header model (VCFv4.3 §1.2-1.5, BCFv2.2 §6.2.1-6.2.2).

One :class:`VariantHeader` serves both the text VCF reader/writer and the
BCF codec.  It keeps every meta-information line exactly as it was read (so
:meth:`VariantHeader.to_text` reproduces the input byte for byte) and derives
from them:

* ``fileformat`` (``VCFv4.3`` ...),
* ``contigs``: :class:`ContigDef` in header order (the BCF contig dictionary),
* ``info`` / ``format``: :class:`FieldDef` by ID, in header order,
* ``filters``: :class:`FilterDef` by ID, ``PASS`` always first,
* ``samples``: names from the ``#CHROM`` line,
* ``string_ids``: the BCF string dictionary (BCFv2.2 §6.2.1): ``IDX=``
  attributes are honoured; otherwise ``PASS`` is 0 and FILTER / INFO / FORMAT
  IDs follow in header order, one shared numbering (an ID defined as both
  INFO and FORMAT has one index), as htslib assigns them.

Problems found while parsing (a malformed structured line, a bad ``Number``
or ``Type``) are collected in :attr:`VariantHeader.issues` as
``(line_number, field, message)``; the VCF reader turns them into errors
(strict mode) or warnings.  Structural failures that make the header
unusable (no ``#CHROM`` line) raise :class:`FormatError` directly.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field as dc_field

from ...errors import FormatError

__all__ = [
    "VariantHeader",
    "FieldDef",
    "FilterDef",
    "ContigDef",
    "MetaLine",
    "parse_structured",
    "format_structured",
    "FIXED_COLUMNS",
    "VALID_TYPES",
]

#: the eight fixed columns of the ``#CHROM`` line (VCFv4.3 §1.5)
FIXED_COLUMNS = ("CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO")
#: INFO / FORMAT ``Type`` values (VCFv4.3 §1.4.2, §1.4.4)
VALID_TYPES = ("Integer", "Float", "Flag", "Character", "String")
_NUMBER_RE = re.compile(r"^(?:[0-9]+|A|R|G|\.)$")

_PASS_LINE = '##FILTER=<ID=PASS,Description="All filters passed">'


@dataclass
class MetaLine:
    """One ``##`` meta-information line.

    Attributes
    ----------
    key : str
        Text between ``##`` and the first ``=`` (``INFO``, ``contig`` ...).
    value : str
        Raw text after the first ``=``.
    attrs : dict or None
        Parsed ``<K=V,...>`` attributes (quotes removed, ``\\"`` unescaped) for
        structured lines; ``None`` for unstructured ones.
    text : str
        The whole line as read, without the line terminator.
    """

    key: str
    value: str
    attrs: dict | None
    text: str


@dataclass
class FieldDef:
    """An INFO or FORMAT definition (VCFv4.3 §1.4.2 / §1.4.4).

    Attributes
    ----------
    id : str
    number : str
        ``'0'``... digits, ``'A'``, ``'R'``, ``'G'`` or ``'.'``.
    type : str
        ``'Integer'``, ``'Float'``, ``'Flag'``, ``'String'`` or ``'Character'``.
    description : str
    idx : int
        Index in the BCF string dictionary.
    attrs : dict
        All attributes of the line (``Source``, ``Version`` ...).
    declared : bool
        False for definitions invented for IDs used in records but not declared.
    """

    id: str
    number: str
    type: str
    description: str = ""
    idx: int = -1
    attrs: dict = dc_field(default_factory=dict)
    declared: bool = True

    @property
    def fixed_count(self) -> int | None:
        """The value count for numeric ``Number``; ``None`` for A/R/G/.."""
        return int(self.number) if self.number.isdigit() else None


@dataclass
class FilterDef:
    """A FILTER definition (VCFv4.3 §1.4.3)."""

    id: str
    description: str = ""
    idx: int = -1
    attrs: dict = dc_field(default_factory=dict)
    declared: bool = True


@dataclass
class ContigDef:
    """A ``##contig`` definition (VCFv4.3 §1.4.7).

    Attributes
    ----------
    id : str
    length : int or None
    attrs : dict
        Every attribute, ``ID`` and ``length`` included, in line order.
    idx : int
        Index in the BCF contig dictionary (``IDX=`` honoured).
    declared : bool
        False for contigs added because a record used them.
    """

    id: str
    length: int | None = None
    attrs: dict = dc_field(default_factory=dict)
    idx: int = -1
    declared: bool = True


def parse_structured(value: str) -> tuple[dict, str | None]:
    """Parse ``<K=V,K="quoted, \\"text\\"",...>`` into an ordered dict.

    Returns
    -------
    attrs : dict
    problem : str or None
        Description of a syntax problem (unterminated quote, missing ``>``,
        key without ``=``, junk after ``>``) or None.
    """
    attrs: dict = {}
    problem = None
    s = value
    if not s.startswith("<"):
        return attrs, "structured value does not start with '<'"
    i, n = 1, len(s)
    closed = False
    while i < n:
        j = i
        while j < n and s[j] not in "=,>":
            j += 1
        key = s[i:j]
        if j >= n:
            problem = problem or "missing closing '>'"
            if key:
                attrs[key] = ""
            break
        if s[j] in ",>":
            if key or s[j] == ",":
                problem = problem or f"attribute {key!r} has no '='"
                if key:
                    attrs[key] = ""
            i = j + 1
            if s[j] == ">":
                closed = True
                break
            continue
        i = j + 1  # past '='
        if i < n and s[i] == '"':
            i += 1
            buf = []
            while i < n and s[i] != '"':
                if s[i] == "\\" and i + 1 < n:
                    buf.append(s[i + 1])
                    i += 2
                    continue
                buf.append(s[i])
                i += 1
            if i >= n:
                problem = problem or f"unterminated quote in {key}"
                attrs[key] = "".join(buf)
                break
            i += 1  # closing quote
            val = "".join(buf)
            if i < n and s[i] not in ",>":
                problem = problem or f"text after the closing quote of {key}"
                while i < n and s[i] not in ",>":
                    i += 1
        else:
            j = i
            while j < n and s[j] not in ",>":
                if s[j] == '"':
                    problem = problem or f"quote inside unquoted value of {key}"
                j += 1
            val = s[i:j]
            i = j
        if key in attrs:
            problem = problem or f"duplicate attribute {key}"
        attrs[key] = val
        if i >= n:
            problem = problem or "missing closing '>'"
            break
        if s[i] == ">":
            closed = True
            i += 1
            break
        i += 1  # ','
    if closed and i < n and s[i:].strip():
        problem = problem or "text after the closing '>'"
    if not closed and problem is None:
        problem = "missing closing '>'"
    return attrs, problem


def _quote(v: str) -> str:
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'


def format_structured(key: str, attrs: dict) -> str:
    """Render ``##key=<...>``; ``Description`` (and values with ``,`` ``>`` ``"``) are quoted."""
    parts = []
    for k, v in attrs.items():
        v = str(v)
        if k in ("Description", "Source", "Version") or any(c in v for c in ',<>" '):
            v = _quote(v)
        parts.append(f"{k}={v}")
    return f"##{key}=<" + ",".join(parts) + ">"


class VariantHeader:
    """A parsed VCF header; see the module docstring for what it holds.

    Build one with :meth:`parse` (from text), or ``VariantHeader()`` and the
    ``add_*`` helpers.  Definitions for IDs first seen in records are added
    with ``declared=False`` and do not change :meth:`to_text` unless
    ``include_undeclared=True``.
    """

    def __init__(self, fileformat: str = "VCFv4.3"):
        self.meta: list[MetaLine] = []
        self.fileformat: str | None = None
        self.contigs: dict[str, ContigDef] = {}
        self.info: dict[str, FieldDef] = {}
        self.format: dict[str, FieldDef] = {}
        self.filters: dict[str, FilterDef] = {"PASS": FilterDef("PASS", "All filters passed", 0, {}, False)}
        self.samples: list[str] = []
        self.column_line: str | None = None  # the '#CHROM ...' line as read
        self.has_format_column: bool = False
        self.issues: list[tuple[int, str, str]] = []
        self.string_ids: dict[str, int] = {"PASS": 0}
        self._next_idx = 1
        self.path = None
        if fileformat:
            self.add_meta(f"##fileformat={fileformat}")

    # ------------------------------------------------------------ parsing
    @classmethod
    def parse(cls, text, *, path=None) -> "VariantHeader":
        """Parse header text (``##`` lines and the ``#CHROM`` line).

        Parameters
        ----------
        text : str or bytes
            The header; lines end in ``\\n`` (a ``\\r\\n`` is tolerated).
        path : str, optional
            File name for error messages.

        Returns
        -------
        VariantHeader

        Raises
        ------
        FormatError
            No ``#CHROM`` line, or a line that is neither ``##`` nor ``#CHROM``.
        """
        if isinstance(text, (bytes, bytearray, memoryview)):
            try:
                text = bytes(text).decode("utf-8")
            except UnicodeDecodeError as e:
                raise FormatError(f"header is not UTF-8 ({e.reason} at byte {e.start})", path=path,
                                  offset=e.start, field="header") from None
        h = cls(fileformat=None)
        h.path = path
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        for lineno, line in enumerate(lines, 1):
            if line.endswith("\r"):
                line = line[:-1]
            if line.startswith("##"):
                h._add_meta(line, lineno)
            elif line.startswith("#"):
                if h.column_line is not None:
                    raise FormatError(f"header line {lineno}: second '#CHROM' line", path=path, field="#CHROM")
                h._parse_column_line(line, lineno)
            else:
                raise FormatError(f"header line {lineno}: not a '##' meta line nor the '#CHROM' line",
                                  path=path, field="header")
        if h.column_line is None:
            raise FormatError("header has no '#CHROM' line", path=path, field="#CHROM")
        if h.fileformat is None:
            h.issues.append((1, "fileformat", "first line is not '##fileformat='"))
        return h

    def _parse_column_line(self, line: str, lineno: int) -> None:
        self.column_line = line
        cols = line[1:].split("\t")
        if len(cols) < 8 or tuple(cols[:8]) != FIXED_COLUMNS:
            raise FormatError(
                f"header line {lineno}: '#CHROM' line must start with the 8 tab-separated columns "
                + "\\t".join(FIXED_COLUMNS), path=self.path, field="#CHROM")
        if len(cols) > 8:
            if cols[8] != "FORMAT":
                raise FormatError(f"header line {lineno}: column 9 is {cols[8]!r}, expected FORMAT",
                                  path=self.path, field="FORMAT")
            self.has_format_column = True
            self.samples = cols[9:]
            seen = set()
            for s in self.samples:
                if s in seen:
                    raise FormatError(f"header line {lineno}: duplicated sample name {s!r}", path=self.path,
                                      field="sample")
                if s == "":
                    self.issues.append((lineno, "sample", "empty sample name"))
                seen.add(s)

    def _add_meta(self, line: str, lineno: int = 0) -> MetaLine:
        body = line[2:]
        eq = body.find("=")
        if eq < 0:
            self.issues.append((lineno, "meta", f"meta line without '=': {line[:60]!r}"))
            ml = MetaLine(body, "", None, line)
            self.meta.append(ml)
            return ml
        key, value = body[:eq], body[eq + 1:]
        attrs = None
        if value.startswith("<"):
            attrs, problem = parse_structured(value)
            if problem:
                self.issues.append((lineno, key, f"##{key} line: {problem}"))
        elif key in ("INFO", "FORMAT", "FILTER", "contig", "ALT"):
            self.issues.append((lineno, key, f"##{key} line is not structured (<...>)"))
        ml = MetaLine(key, value, attrs, line)
        self.meta.append(ml)
        if key == "fileformat":
            if lineno not in (0, 1) and self.fileformat is None:
                self.issues.append((lineno, "fileformat", "##fileformat is not the first line"))
            if self.fileformat is not None:
                self.issues.append((lineno, "fileformat", "second ##fileformat line"))
            else:
                self.fileformat = value
        elif attrs is not None and key in ("INFO", "FORMAT", "FILTER", "contig"):
            self._register(key, attrs, lineno)
        return ml

    def _dict_index(self, id_: str, attrs: dict, lineno: int) -> int:
        if "IDX" in attrs:
            try:
                idx = int(attrs["IDX"])
            except ValueError:
                self.issues.append((lineno, "IDX", f"IDX={attrs['IDX']!r} is not an integer"))
                idx = None
            if idx is not None:
                if id_ in self.string_ids and self.string_ids[id_] != idx:
                    self.issues.append((lineno, "IDX", f"{id_}: IDX={idx} disagrees with an earlier IDX"))
                self.string_ids[id_] = idx
                self._next_idx = max(self._next_idx, idx + 1)
                return idx
        if id_ not in self.string_ids:
            self.string_ids[id_] = self._next_idx
            self._next_idx += 1
        return self.string_ids[id_]

    def _register(self, key: str, attrs: dict, lineno: int) -> None:
        id_ = attrs.get("ID")
        if id_ is None or id_ == "":
            self.issues.append((lineno, key, f"##{key} line without ID"))
            return
        if key == "contig":
            length = None
            if "length" in attrs:
                try:
                    length = int(attrs["length"])
                    if length < 0:
                        raise ValueError
                except ValueError:
                    self.issues.append((lineno, "length", f"contig {id_}: length={attrs['length']!r} is not a "
                                                          "non-negative integer"))
                    length = None
            if id_ in self.contigs:
                self.issues.append((lineno, "contig", f"contig {id_} defined twice"))
                return
            idx = len(self.contigs)
            if "IDX" in attrs:
                try:
                    idx = int(attrs["IDX"])
                except ValueError:
                    pass
            self.contigs[id_] = ContigDef(id_, length, dict(attrs), idx)
            return
        if key == "FILTER":
            if id_ == "PASS":
                f = self.filters["PASS"]
                f.description = attrs.get("Description", f.description)
                f.attrs = dict(attrs)
                f.declared = True
                return
            if id_ in self.filters:
                self.issues.append((lineno, "FILTER", f"FILTER {id_} defined twice"))
                return
            idx = self._dict_index(id_, attrs, lineno)
            self.filters[id_] = FilterDef(id_, attrs.get("Description", ""), idx, dict(attrs))
            return
        table = self.info if key == "INFO" else self.format
        if id_ in table:
            self.issues.append((lineno, key, f"{key} {id_} defined twice"))
            return
        number = attrs.get("Number")
        type_ = attrs.get("Type")
        if type_ is None:
            self.issues.append((lineno, "Type", f"{key} {id_}: no Type"))
            type_ = "String"
        elif type_ not in VALID_TYPES or (key == "FORMAT" and type_ == "Flag"):
            self.issues.append((lineno, "Type", f"{key} {id_}: Type={type_} is not valid"))
            type_ = "String"
        if number is None:
            self.issues.append((lineno, "Number", f"{key} {id_}: no Number"))
            number = "."
        elif not _NUMBER_RE.match(number):
            self.issues.append((lineno, "Number", f"{key} {id_}: Number={number} is not valid"))
            number = "."
        if type_ == "Flag" and number != "0":
            self.issues.append((lineno, "Number", f"{key} {id_}: Flag must have Number=0"))
            number = "0"
        if number == "0" and type_ != "Flag":
            self.issues.append((lineno, "Number", f"{key} {id_}: Number=0 is only for Type=Flag"))
        if "Description" not in attrs:
            self.issues.append((lineno, "Description", f"{key} {id_}: no Description"))
        idx = self._dict_index(id_, attrs, lineno)
        table[id_] = FieldDef(id_, number, type_, attrs.get("Description", ""), idx, dict(attrs))

    # ------------------------------------------------------------ building
    def add_meta(self, line: str) -> MetaLine:
        """Append a ``##`` meta line (text without newline) and register what it defines."""
        if not line.startswith("##"):
            line = "##" + line
        if line.startswith("##fileformat=") and self.fileformat is None and not self.meta:
            return self._add_meta(line, 1)
        return self._add_meta(line, 0)

    def add_contig(self, id_: str, length: int | None = None, **attrs) -> ContigDef:
        """Declare a contig (``##contig=<ID=..,length=..>``)."""
        a = {"ID": id_}
        if length is not None:
            a["length"] = str(int(length))
        a.update({k: str(v) for k, v in attrs.items()})
        self.add_meta(format_structured("contig", a))
        return self.contigs[id_]

    def add_info(self, id_: str, number, type_: str, description: str = "", **attrs) -> FieldDef:
        """Declare an INFO field."""
        a = {"ID": id_, "Number": str(number), "Type": type_, "Description": description}
        a.update({k: str(v) for k, v in attrs.items()})
        self.add_meta(format_structured("INFO", a))
        return self.info[id_]

    def add_format(self, id_: str, number, type_: str, description: str = "", **attrs) -> FieldDef:
        """Declare a FORMAT field."""
        a = {"ID": id_, "Number": str(number), "Type": type_, "Description": description}
        a.update({k: str(v) for k, v in attrs.items()})
        self.add_meta(format_structured("FORMAT", a))
        return self.format[id_]

    def add_filter(self, id_: str, description: str = "", **attrs) -> FilterDef:
        """Declare a FILTER."""
        a = {"ID": id_, "Description": description}
        a.update({k: str(v) for k, v in attrs.items()})
        self.add_meta(format_structured("FILTER", a))
        return self.filters[id_]

    def add_sample(self, name: str) -> None:
        """Append a sample column."""
        if name in self.samples:
            raise FormatError(f"duplicated sample name {name!r}", path=self.path, field="sample")
        self.samples.append(name)
        self.has_format_column = True
        self.column_line = None

    # undeclared IDs met in records (htslib adds dummy definitions too)
    def declare_contig(self, id_: str) -> ContigDef:
        c = ContigDef(id_, None, {"ID": id_}, len(self.contigs), declared=False)
        self.contigs[id_] = c
        return c

    def declare_filter(self, id_: str) -> FilterDef:
        f = FilterDef(id_, "Dummy", self._dict_index(id_, {}, 0), {"ID": id_, "Description": "Dummy"},
                      declared=False)
        self.filters[id_] = f
        return f

    def declare_field(self, kind: str, id_: str, *, flag: bool = False) -> FieldDef:
        """Invent a definition for an undeclared INFO/FORMAT ID (``Number=.,Type=String``; Flag if valueless).

        Values of undeclared keys are split at commas (as pysam reports them); GT keeps ``Number=1``.
        """
        number, type_ = ("0", "Flag") if flag else ("1" if id_ == "GT" else ".", "String")
        attrs = {"ID": id_, "Number": number, "Type": type_, "Description": "Dummy"}
        fd = FieldDef(id_, number, type_, "Dummy", self._dict_index(id_, {}, 0), attrs, declared=False)
        (self.info if kind == "INFO" else self.format)[id_] = fd
        return fd

    # ------------------------------------------------------------ views
    @property
    def version(self) -> str | None:
        """The ``##fileformat`` value (``VCFv4.3``)."""
        return self.fileformat

    @property
    def contig_names(self) -> list[str]:
        return list(self.contigs)

    @property
    def contig_lengths(self) -> list[int | None]:
        return [c.length for c in self.contigs.values()]

    @property
    def filter_ids(self) -> list[str]:
        """FILTER IDs in dictionary order, ``PASS`` first."""
        return list(self.filters)

    def contig_index(self, name: str) -> int:
        """Position of ``name`` in :attr:`contigs` (-1 when absent)."""
        try:
            return self.contig_names.index(name)
        except ValueError:
            return -1

    def string_dictionary(self) -> list[str]:
        """BCF string dictionary as a list: entry ``i`` is the ID with index ``i`` ('' for gaps)."""
        n = max(self.string_ids.values()) + 1 if self.string_ids else 0
        out = [""] * n
        for k, v in self.string_ids.items():
            out[v] = k
        return out

    def contig_dictionary(self) -> list[str]:
        """BCF contig dictionary: names ordered by contig index (``IDX=`` honoured)."""
        items = sorted(self.contigs.values(), key=lambda c: c.idx)
        return [c.id for c in items]

    def copy(self) -> "VariantHeader":
        return VariantHeader.parse(self.to_text(include_undeclared=True), path=self.path)

    def subset_samples(self, samples) -> "VariantHeader":
        """A copy keeping only ``samples`` (in the order given)."""
        h = self.copy()
        h.samples = list(samples)
        h.has_format_column = self.has_format_column or bool(h.samples)
        h.column_line = None
        return h

    # ------------------------------------------------------------ output
    def _column_text(self) -> str:
        if self.column_line is not None:
            return self.column_line
        cols = "#" + "\t".join(FIXED_COLUMNS)
        if self.has_format_column or self.samples:
            cols += "\tFORMAT" + "".join("\t" + s for s in self.samples)
        return cols

    def to_text(self, *, include_undeclared: bool = False, add_pass: bool = False) -> str:
        """The header as VCF text, ending in a newline.

        Parameters
        ----------
        include_undeclared : bool
            Also write definitions invented for IDs used in records but absent
            from the header (as htslib does when it writes).
        add_pass : bool
            Insert ``##FILTER=<ID=PASS,...>`` after ``##fileformat`` when the
            input has none (htslib's behaviour when it writes).

        Returns
        -------
        str
            The meta lines exactly as read (byte-identical round trip), then
            any additions, then the ``#CHROM`` line.
        """
        lines = [m.text for m in self.meta]
        if add_pass and not self.filters["PASS"].declared:
            pos = 1 if lines and lines[0].startswith("##fileformat=") else 0
            lines.insert(pos, _PASS_LINE)
        if include_undeclared:
            for f in self.filters.values():
                if not f.declared and f.id != "PASS":
                    lines.append(format_structured("FILTER", f.attrs))
            for kind, table in (("INFO", self.info), ("FORMAT", self.format)):
                for fd in table.values():
                    if not fd.declared:
                        lines.append(format_structured(kind, fd.attrs))
            for c in self.contigs.values():
                if not c.declared:
                    lines.append(format_structured("contig", c.attrs))
        lines.append(self._column_text())
        return "\n".join(lines) + "\n"

    def __repr__(self) -> str:
        return (f"VariantHeader({self.fileformat}, {len(self.contigs)} contigs, {len(self.info)} INFO, "
                f"{len(self.format)} FORMAT, {len(self.filters)} FILTER, {len(self.samples)} samples)")
