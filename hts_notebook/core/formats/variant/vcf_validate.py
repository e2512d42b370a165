"""Strict-mode VCF checks (VCFv4.1-4.3 §1.2-1.6) beyond what decoding needs.

:func:`check_header` validates the meta lines; :class:`RecordValidator` is
called by the reader on every batch of split record lines and, at the end,
checks order and duplicates across the file.  Each failure raises
:class:`FormatError` naming the field and the line.
"""
from __future__ import annotations

import re

from ...errors import FormatError

__all__ = ["check_header", "RecordValidator", "RESERVED_INFO", "RESERVED_FORMAT"]

#: reserved INFO keys (VCFv4.3 §1.6.1 table): ID -> (Number, Type)
RESERVED_INFO = {
    "AA": ("1", "String"), "AC": ("A", "Integer"), "AD": ("R", "Integer"), "ADF": ("R", "Integer"),
    "ADR": ("R", "Integer"), "AF": ("A", "Float"), "AN": ("1", "Integer"), "BQ": ("1", "Float"),
    "CIGAR": ("A", "String"), "DB": ("0", "Flag"), "DP": ("1", "Integer"), "END": ("1", "Integer"),
    "H2": ("0", "Flag"), "H3": ("0", "Flag"), "MQ": ("1", None), "MQ0": ("1", "Integer"),
    "NS": ("1", "Integer"), "SOMATIC": ("0", "Flag"), "VALIDATED": ("0", "Flag"),
    "1000G": ("0", "Flag"),
}
#: reserved FORMAT keys (VCFv4.3 §1.6.2 table)
RESERVED_FORMAT = {
    "AD": ("R", "Integer"), "ADF": ("R", "Integer"), "ADR": ("R", "Integer"), "DP": ("1", "Integer"),
    "EC": ("A", "Integer"), "FT": ("1", "String"), "GL": ("G", "Float"), "GP": ("G", "Float"),
    "GQ": ("1", "Integer"), "GT": ("1", "String"), "HQ": ("2", "Integer"), "MQ": ("1", "Integer"),
    "PL": ("G", "Integer"), "PQ": ("1", "Integer"), "PS": ("1", "Integer"), "GLE": ("G", "String"),
}
_NON_NEGATIVE_INFO = ("AC", "AN", "DP", "NS", "MQ0", "END", "AF")
_FIELD_ORDER = {"INFO": ["ID", "Number", "Type", "Description"], "FORMAT": ["ID", "Number", "Type", "Description"],
                "ALT": ["ID", "Description"], "FILTER": ["ID", "Description"]}
_META_KEY = re.compile(r"^[A-Za-z0-9_.\-]+$")
_ALT_PREFIXES = ("DEL", "INS", "DUP", "INV", "CNV", "BND")
_BASES = re.compile(r"^[ACGTNacgtn]+$")
_ALT_BASES = re.compile(r"^[ACGTNacgtn*]+$")
_SYMBOLIC = re.compile(r"^<[^<>\s,]+>$")
_BREAKEND = re.compile(r"^(?:[ACGTNacgtn]+[\[\]][^\[\]\s]+:\d+[\[\]]|[\[\]][^\[\]\s]+:\d+[\[\]][ACGTNacgtn]+"
                       r"|\.[ACGTNacgtn]+|[ACGTNacgtn]+\.)$")
_FORMAT_KEY = re.compile(r"^[A-Za-z_][0-9A-Za-z_.]*$")
_URL = re.compile(r"^(?:[A-Za-z][A-Za-z0-9+.\-]*://[A-Za-z0-9][A-Za-z0-9.\-]*[A-Za-z](?::\d+)?(?:/\S*)?|[^:\s]+)$")
_GENOME_ID = re.compile(r"^[A-Za-z0-9_.\-]+$")


def _fail(msg, path, line=None, field=None):
    where = f"header line {line}: " if line else ""
    raise FormatError(where + msg, path=path, field=field)


def check_header(header, path=None) -> None:
    """Validate header meta lines (strict mode).

    Raises
    ------
    FormatError
        Naming the meta line and the attribute at fault.
    """
    ff = header.fileformat
    if ff is None or not re.match(r"^VCFv4\.\d+$", ff):
        _fail(f"fileformat {ff!r} is not 'VCFv4.x'", path, 1, "fileformat")
    for lineno, field, msg in header.issues:
        if field == "Number" and "Flag must have Number=0" in msg or "defined twice" in msg:
            continue  # checked below for reserved keys only
        if field in ("INFO", "FORMAT", "FILTER", "contig", "ALT", "Number", "Type", "Description", "fileformat",
                     "meta", "length", "IDX", "sample") or "closing" in msg or "unterminated" in msg \
                or "quote" in msg:
            _fail(msg, path, lineno, field)
    if header.has_format_column and not header.samples:
        _fail("#CHROM line has a FORMAT column but no sample columns", path, None, "FORMAT")
    for lineno, m in enumerate(header.meta, 1):
        if not _META_KEY.match(m.key):
            _fail(f"meta key {m.key!r} is not valid", path, lineno, "meta")
        if m.value == "":
            _fail(f"##{m.key} has an empty value", path, lineno, m.key)
        if m.key == "pedigreeDB" and m.attrs is not None:
            _fail("##pedigreeDB must be a URL, not a structured value", path, lineno, "pedigreeDB")
        if m.attrs is None:
            if m.key in ("assembly", "pedigreeDB") and not _valid_url(m.value):
                _fail(f"##assembly {m.value!r} is not a valid URL", path, lineno, "assembly")
            continue
        if m.key in _FIELD_ORDER:
            order = _FIELD_ORDER[m.key]
            got = [k for k in m.attrs if k in order]
            if got != [k for k in order if k in m.attrs]:
                _fail(f"##{m.key} attributes out of order ({','.join(got)})", path, lineno, m.key)
            if "Description" in m.attrs and 'Description="' not in m.text:
                _fail(f"##{m.key} Description is not in double quotes", path, lineno, "Description")
        if m.key in ("INFO", "FORMAT") and "Type" in m.attrs:
            table = RESERVED_INFO if m.key == "INFO" else RESERVED_FORMAT
            rid = m.attrs.get("ID")
            if rid in table:
                num, typ = table[rid]
                if typ is not None and m.attrs.get("Type") != typ:
                    _fail(f"reserved {m.key} {rid} must have Type={typ}", path, lineno, "Type")
                if m.attrs.get("Number") != num:
                    _fail(f"reserved {m.key} {rid} must have Number={num}", path, lineno, "Number")
        if m.key == "ALT":
            aid = m.attrs.get("ID", "")
            if not aid or any(c in aid for c in " \t,<>"):
                _fail(f"##ALT ID {aid!r} has an invalid character", path, lineno, "ID")
            if aid.split(":")[0] not in _ALT_PREFIXES:
                _fail(f"##ALT ID {aid!r} does not start with {'/'.join(_ALT_PREFIXES)}", path, lineno, "ID")
            for k in ("Number", "Type"):
                if k in m.attrs:
                    _fail(f"##ALT line has a {k} attribute", path, lineno, k)
        if m.key == "contig":
            cid = m.attrs.get("ID", "")
            _check_contig_name(cid, path, f"header line {lineno}")
        if m.key == "PEDIGREE":
            for k, v in m.attrs.items():
                if not _GENOME_ID.match(v):
                    _fail(f"##PEDIGREE {k}={v!r} is not a valid genome ID", path, lineno, "PEDIGREE")
        if m.key == "SAMPLE":
            if "Genomes" in m.attrs and ";" in m.attrs["Genomes"] and '"' not in m.text.split("Genomes=")[1][:1]:
                pass
            for k, v in m.attrs.items():
                if k != "Description" and f'{k}="' in m.text:
                    _fail(f"##SAMPLE {k} value is quoted (only Description may be)", path, lineno, k)
            if "Genomes" not in m.attrs and "Mixture" in m.attrs:
                _fail("##SAMPLE line with Mixture but no Genomes", path, lineno, "Genomes")


def _valid_url(value: str) -> bool:
    """A URL whose host is a name or dotted address (not a bare number), or a plain path."""
    from urllib.parse import urlsplit

    if "://" not in value:
        return not any(c.isspace() for c in value)
    try:
        parts = urlsplit(value)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        return False
    return bool(host) and not host.isdigit() and not any(c.isspace() for c in value)


def _check_contig_name(name: str, path, where: str) -> None:
    bad = (not name or any(c in name for c in " \t,:") or ("<" in name or ">" in name) and not
           (name.startswith("<") and name.endswith(">") and name.count("<") == 1 and name.count(">") == 1))
    if bad:
        raise FormatError(f"{where}: contig name {name!r} is not valid", path=path, field="CHROM")


class RecordValidator:
    """Checks of record columns in strict mode; ``finish`` checks order and duplicates."""

    def __init__(self, header):
        self.header = header
        self.last = None  # (chrom, pos)
        self.done_contigs: set = set()
        self.seen_at_pos: dict = {}

    def __call__(self, ctx, rows) -> None:
        for i, cols in rows:
            def fail(msg, field, _i=i):
                ctx.error(_i, msg, field)

            try:
                chrom, pos, vid, ref, alt, qual, filt, info = (c.decode("utf-8") for c in cols[:8])
            except UnicodeDecodeError:
                fail("record is not UTF-8", "line")
            if chrom not in self.header.contigs or not self.header.contigs[chrom].declared:
                _check_contig_name(chrom, ctx.path, f"line {ctx.first_lineno + i}")
            if not pos.isdigit() or int(pos) < 1 and not ref == "":
                if not (pos.isdigit() and int(pos) == 0):
                    fail(f"POS {pos!r} is not a positive integer", "POS")
            if vid != "." and (any(c.isspace() for c in vid) or vid.startswith(";") or vid.endswith(";")
                              or ";;" in vid):
                fail(f"ID {vid!r} is malformed", "ID")
            if not _BASES.match(ref):
                fail(f"REF {ref!r} is not a base string", "REF")
            if alt != ".":
                for a in alt.split(","):
                    if not (_ALT_BASES.match(a) or _SYMBOLIC.match(a) or _BREAKEND.match(a)):
                        fail(f"ALT allele {a!r} is not valid", "ALT")
            if qual != ".":
                try:
                    q = float(qual)
                except ValueError:
                    fail(f"QUAL {qual!r} is not a number", "QUAL")
                if q < 0:
                    fail(f"QUAL {qual!r} is negative", "QUAL")
            if filt not in ("PASS", "."):
                parts = filt.split(";")
                for p in parts:
                    if not p or p in (".", "0") or any(c.isspace() for c in p):
                        fail(f"FILTER {filt!r} is malformed", "FILTER")
            if any(c.isspace() for c in info):
                fail("INFO contains whitespace", "INFO")
            if info != ".":
                for item in info.split(";"):
                    key, _, val = item.partition("=")
                    if key in _NON_NEGATIVE_INFO and val:
                        for v in val.split(","):
                            if v.startswith("-"):
                                fail(f"INFO {key}={val} is negative", key)
                    fd = self.header.info.get(key)
                    num, typ = (fd.number, fd.type) if fd is not None else RESERVED_INFO.get(key, (None, None))
                    if key in RESERVED_INFO and typ == "String" and num == "1" and "," in val:
                        fail(f"INFO {key}: Number=1 String contains a comma", key)
                    if key == "CIGAR" and val and not re.match(r"^(?:\d+[MIDNSHP=X])+(?:,(?:\d+[MIDNSHP=X])+)*$",
                                                              val):
                        fail(f"INFO CIGAR {val!r} is not a CIGAR", key)
            if len(cols) > 8:
                fmt = cols[8].decode("utf-8", "replace")
                keys = fmt.split(":")
                for k in keys:
                    if not _FORMAT_KEY.match(k):
                        fail(f"FORMAT key {k!r} is not valid", "FORMAT")
                if "GT" in keys and keys[0] != "GT":
                    fail("GT must be the first FORMAT key", "FORMAT")
                if len(cols) > 9 and alt != "." and "G" in {self._fnum(k) for k in keys}:
                    self._check_g(ctx, i, cols, keys, 1 + (0 if alt == "." else len(alt.split(","))))
            key = (chrom, int(pos) if pos.isdigit() else 0)
            if self.last is not None and chrom != self.last[0]:
                self.done_contigs.add(self.last[0])
                self.seen_at_pos = {}
                # names in angle brackets (assembly references) are not held to contiguity
                if chrom in self.done_contigs and not chrom.startswith("<") and not self.last[0].startswith("<"):
                    fail(f"contig {chrom} is not contiguous", "CHROM")
            elif self.last is not None and key[1] < self.last[1]:
                fail(f"records not sorted: POS {key[1]} after {self.last[1]}", "POS")
            if self.last is None or key[1] != self.last[1]:
                self.seen_at_pos = {k: v for k, v in self.seen_at_pos.items() if k[0] + 10 >= key[1]}
            alts = {a for a in alt.split(",") if not a.startswith("<")} if alt != "." else set()
            for (p0, r0), a0 in self.seen_at_pos.items():
                if p0 == key[1] and r0 == ref and alts & a0:
                    fail(f"duplicated variant {chrom}:{pos} {ref}>{alt}", "ALT")
                if _same_context(p0, r0, a0, key[1], ref, alts):
                    fail(f"duplicated variant {chrom}:{pos} {ref}>{alt} (same change as at {p0})", "ALT")
            self.seen_at_pos.setdefault((key[1], ref), set()).update(alts)
            self.last = key

    def _fnum(self, k):
        fd = self.header.format.get(k)
        if fd is not None and fd.declared:
            return fd.number
        return RESERVED_FORMAT.get(k, (None,))[0]

    def _check_g(self, ctx, i, cols, keys, n_allele):
        from math import comb

        gi = keys.index("GT") if "GT" in keys else None
        for sample in cols[9].decode("utf-8", "replace").split("\t"):
            vals = sample.split(":")
            if gi is None or gi >= len(vals):
                continue
            ploidy = len(re.split(r"[/|]", vals[gi]))
            exp = comb(n_allele + ploidy - 1, ploidy)
            for k, v in zip(keys, vals):
                if self._fnum(k) == "G" and v != ".":
                    if len(v.split(",")) != exp:
                        ctx.error(i, f"FORMAT {k} has {len(v.split(','))} values, Number=G expects {exp}", k)

    def finish(self, path) -> None:
        return None


def _same_context(p0, r0, a0, p1, r1, a1) -> bool:
    """Two SNV-like records describing the same base change at overlapping positions."""
    if p0 == p1 or not a0 or not a1:
        return False
    for x in a0:
        for y in a1:
            if len(x) == len(r0) and len(y) == len(r1) and not x.startswith("<") and not y.startswith("<"):
                d0 = [(p0 + k, r0[k], x[k]) for k in range(len(r0)) if r0[k] != x[k]]
                d1 = [(p1 + k, r1[k], y[k]) for k in range(len(r1)) if r1[k] != y[k]]
                if d0 and d0 == d1:
                    return True
    return False
