"""SAM validation: header rules (SAMv1 §1.3) and strict record rules (SAMv1 §1.4).

:func:`check_header` always applies the checks htslib itself enforces (every
line type known, ``@SQ`` with SN and LN, no duplicate ``@SQ SN``, ``@RG`` /
``@PG`` with ID) and, with ``strict=True``, every SAMv1 header rule.
:func:`check_records` applies the per-column regular expressions and ranges of
SAMv1 §1.4 to split SAM lines.  Errors are :class:`FormatError` whose
``field`` names the offending field (``'@SQ LN'``, ``'QNAME'``, ...).
"""
from __future__ import annotations

import re

from hts_notebook.core.errors import FormatError

__all__ = ["check_header", "check_records", "RNAME_RE", "QNAME_RE"]

#: SAMv1 §1.2.1 reference name
_RNAME = r"[0-9A-Za-z!#$%&+./:;?@^_|~-][0-9A-Za-z!#$%&*+./:;=?@^_|~-]*"
RNAME_RE = re.compile(_RNAME + r"\Z")
RNAME_B = re.compile(_RNAME.encode() + rb"\Z")
QNAME_RE = re.compile(rb"[!-?A-~]{1,254}\Z")
_TAG_RE = re.compile(r"[A-Za-z][A-Za-z0-9]\Z")
_VALUE_ASCII = re.compile(r"[ -~]+\Z")
_VALUE_ANY = re.compile(r"[^\t\n\r\x00-\x1f\x7f]+\Z")
_UTF8_TAGS = {"DS", "CL", "CN", "LB", "SM", "PM", "PU", "PN", "AS", "SP", "UR", "VN", "PI", "KS", "BC"}

_HD_VN = re.compile(r"[0-9]+\.[0-9]+\Z")
_HD_SO = {"unknown", "unsorted", "queryname", "coordinate"}
_HD_GO = {"none", "query", "reference"}
_HD_SS = re.compile(r"(?:coordinate|queryname|unsorted)(?::[A-Za-z0-9_-]+)+\Z")
_SQ_M5 = re.compile(r"[0-9a-f]{32}\Z")
_SQ_TP = {"linear", "circular"}
_SQ_AH = re.compile(r"\*\Z|(" + _RNAME + r")(?::[0-9]+-[0-9]+)?\Z")
_RG_FO = re.compile(r"\*\Z|[ACMGRSVTWYHKDBN]+\Z")
_RG_BC = re.compile(r"[A-Za-z=.]+(?:-[A-Za-z=.]+)*\Z")
_RG_KS = re.compile(r"[A-Za-z=.]+\Z")
_RG_PL = {"CAPILLARY", "DNBSEQ", "ELEMENT", "HELICOS", "ILLUMINA", "IONTORRENT", "LS454", "ONT",
          "PACBIO", "SINGULAR", "SOLID", "ULTIMA"}
_RG_PI = re.compile(r"[-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?\Z")
# ISO 8601 date or date-time
_ISO_DATE = re.compile(
    r"[0-9]{4}-?(?:[01][0-9])-?(?:[0-3][0-9])"
    r"(?:[T ](?:[0-2][0-9])(?::?[0-5][0-9](?::?[0-6][0-9](?:[.,][0-9]+)?)?)?"
    r"(?:Z|[+-][0-2][0-9](?::?[0-5][0-9])?)?)?\s*\Z")


def _herr(msg, line, field, path):
    return FormatError(f"SAM header line {line}: {msg}", path=path, field=field)


def check_header(text: str, *, strict: bool = False, path=None) -> list:
    """Validate SAM header text (SAMv1 §1.3).

    Parameters
    ----------
    text : str
        Header lines, each starting with ``@``.
    strict : bool
        ``False``: only what htslib 1.16 rejects (unknown record type, ``@SQ``
        without SN or LN, duplicate ``@SQ SN``, ``@RG``/``@PG`` without ID).
        ``True``: every SAMv1 rule (``@HD`` first and once with VN; SO, GO,
        SS values; tag syntax; SN/AN names and uniqueness; LN in
        ``[1, 2^31-1]``; M5, TP, AH; RG ID unique, DT, FO, PL, BC, KS;
        PG ID unique and PP pointing at a PG ID).

    Returns
    -------
    list of FormatError
        Strict-mode errors the caller raises after checking the records
        (an invalid ``@SQ SN`` name, so records using it are blamed first).

    Raises
    ------
    FormatError
        ``field`` is ``'@<type> <TAG>'`` (``'@SQ LN'``) or ``'@<type>'``.
    """
    deferred: list = []
    sq_names: dict[str, int] = {}
    an_names: set[str] = set()
    rg_ids: set[str] = set()
    pg_ids: set[str] = set()
    pp_refs: list[tuple[str, int]] = []
    seen_hd = False
    for ln, line in enumerate(text.split("\n"), start=1):
        if line == "":
            continue
        kind = line[:3]
        if kind not in ("@HD", "@SQ", "@RG", "@PG", "@CO"):
            raise _herr(f"unknown header record type {line[:3]!r} (must be @HD/@SQ/@RG/@PG/@CO)", ln, line[:3], path)
        if kind == "@CO":
            if strict and len(line) > 3 and line[3] != "\t":
                raise _herr("@CO must be followed by a TAB", ln, "@CO", path)
            continue
        if len(line) > 3 and line[3] != "\t":
            raise _herr(f"{kind} must be followed by a TAB", ln, kind, path)
        tags: dict[str, str] = {}
        for item in line.split("\t")[1:]:
            if len(item) < 3 or item[2] != ":":
                raise _herr(f"{kind} field {item[:40]!r} is not TAG:VALUE", ln, kind, path)
            k, v = item[:2], item[3:]
            if strict:
                if not _TAG_RE.match(k):
                    raise _herr(f"{kind} tag {k!r} does not match [A-Za-z][A-Za-z0-9]", ln, f"{kind} {k}", path)
                if k in tags:
                    raise _herr(f"{kind} tag {k} occurs twice", ln, f"{kind} {k}", path)
                pat = _VALUE_ANY if k in _UTF8_TAGS else _VALUE_ASCII
                if not pat.match(v):
                    raise _herr(f"{kind} {k} value {v[:40]!r} is empty or has illegal characters", ln, f"{kind} {k}", path)
            tags.setdefault(k, v)

        if kind == "@HD":
            if strict:
                if ln != 1:
                    raise _herr("@HD must be the first line", ln, "@HD", path)
                if seen_hd:
                    raise _herr("@HD occurs twice", ln, "@HD", path)
                if "VN" not in tags:
                    raise _herr("@HD without VN", ln, "@HD VN", path)
                if not _HD_VN.match(tags["VN"]):
                    raise _herr(f"@HD VN {tags['VN']!r} is not /[0-9]+\\.[0-9]+/", ln, "@HD VN", path)
                if "SO" in tags and tags["SO"] not in _HD_SO:
                    raise _herr(f"@HD SO {tags['SO']!r} is not one of {sorted(_HD_SO)}", ln, "@HD SO", path)
                if "GO" in tags and tags["GO"] not in _HD_GO:
                    raise _herr(f"@HD GO {tags['GO']!r} is not one of {sorted(_HD_GO)}", ln, "@HD GO", path)
                if "SS" in tags and not _HD_SS.match(tags["SS"]):
                    raise _herr(f"@HD SS {tags['SS']!r} is malformed", ln, "@HD SS", path)
            seen_hd = True
        elif kind == "@SQ":
            if "SN" not in tags:
                raise _herr("@SQ without SN", ln, "@SQ SN", path)
            sn = tags["SN"]
            if "LN" not in tags:
                raise _herr(f"@SQ {sn!r} without LN", ln, "@SQ LN", path)
            lv = tags["LN"]
            if strict and (not re.fullmatch(r"[1-9][0-9]*", lv) or int(lv) > (1 << 31) - 1):
                raise _herr(f"@SQ {sn!r} LN {lv[:40]!r} is not an integer in [1, 2^31-1]", ln, "@SQ LN", path)
            if sn in sq_names:
                raise _herr(f"duplicate @SQ SN {sn!r}", ln, "@SQ SN", path)
            sq_names[sn] = ln
            if strict:
                if not RNAME_RE.match(sn):
                    # reported after the records, so a record using the name is
                    # blamed on its RNAME/RNEXT column first
                    deferred.append(_herr(f"@SQ SN {sn!r} is not a valid reference name", ln, "@SQ SN", path))
                if "M5" in tags and not _SQ_M5.match(tags["M5"]):
                    raise _herr(f"@SQ M5 {tags['M5']!r} is not 32 lowercase hex digits", ln, "@SQ M5", path)
                if "TP" in tags and tags["TP"] not in _SQ_TP:
                    raise _herr(f"@SQ TP {tags['TP']!r} is not linear or circular", ln, "@SQ TP", path)
                if "AH" in tags:
                    if not _SQ_AH.match(tags["AH"]):
                        raise _herr(f"@SQ AH {tags['AH']!r} is not chr:start-end, chr or *", ln, "@SQ AH", path)
                if "AN" in tags:
                    for a in tags["AN"].split(","):
                        if not RNAME_RE.match(a):
                            raise _herr(f"@SQ AN name {a!r} is not a valid reference name", ln, "@SQ AN", path)
                        if a in an_names or a == sn:
                            raise _herr(f"@SQ AN name {a!r} is not unique", ln, "@SQ AN", path)
                        an_names.add(a)
        elif kind == "@RG":
            if "ID" not in tags:
                raise _herr("@RG without ID", ln, "@RG ID", path)
            if strict:
                rid = tags["ID"]
                if rid in rg_ids:
                    raise _herr(f"duplicate @RG ID {rid!r}", ln, "@RG ID", path)
                rg_ids.add(rid)
                if "DT" in tags and not _ISO_DATE.match(tags["DT"]):
                    raise _herr(f"@RG DT {tags['DT']!r} is not an ISO 8601 date", ln, "@RG DT", path)
                if "FO" in tags and not _RG_FO.match(tags["FO"]):
                    raise _herr(f"@RG FO {tags['FO']!r} is not * or IUPAC bases", ln, "@RG FO", path)
                if "PL" in tags and tags["PL"].upper() not in _RG_PL:
                    raise _herr(f"@RG PL {tags['PL']!r} is not a known platform", ln, "@RG PL", path)
                if "BC" in tags and not _RG_BC.match(tags["BC"]):
                    raise _herr(f"@RG BC {tags['BC']!r} is not a barcode sequence", ln, "@RG BC", path)
                if "KS" in tags and not _RG_KS.match(tags["KS"]):
                    raise _herr(f"@RG KS {tags['KS']!r} is not a base sequence", ln, "@RG KS", path)
                if "PI" in tags and not _RG_PI.match(tags["PI"].strip()):
                    raise _herr(f"@RG PI {tags['PI']!r} is not a number", ln, "@RG PI", path)
        elif kind == "@PG":
            if "ID" not in tags:
                raise _herr("@PG without ID", ln, "@PG ID", path)
            if strict:
                pid = tags["ID"]
                if pid in pg_ids:
                    raise _herr(f"duplicate @PG ID {pid!r}", ln, "@PG ID", path)
                pg_ids.add(pid)
                if "PP" in tags:
                    pp_refs.append((tags["PP"], ln))
    if strict:
        for pp, ln in pp_refs:
            if pp not in pg_ids:
                raise _herr(f"@PG PP {pp!r} names no @PG ID", ln, "@PG PP", path)
        for a in sorted(an_names & set(sq_names)):
            raise _herr(f"@SQ AN name {a!r} is also an @SQ SN", sq_names[a], "@SQ AN", path)
    return deferred


# ---------------------------------------------------------------------------
# records

_FLAG_RE = re.compile(rb"(?:0|[1-9][0-9]{0,4})\Z")  # no leading zeros (octal trap)
_UINT_RE = re.compile(rb"(?:0|[1-9][0-9]{0,9})\Z")
_INT_RE = re.compile(rb"[-+]?(?:0|[1-9][0-9]{0,9})\Z")
_RNEXT_RE = re.compile(rb"\*\Z|=\Z|" + _RNAME.encode() + rb"\Z")
_RNAME_COL = re.compile(rb"\*\Z|" + _RNAME.encode() + rb"\Z")
_CIGAR_RE = re.compile(rb"\*\Z|(?:[0-9]+[MIDNSHP=X])+\Z")
# SAMv1 §1.4 item 6: H only first/last, S only at the ends or next to H
_CIGAR_CLIPS = re.compile(rb"\*\Z|(?:[0-9]+H)?(?:[0-9]+S)?(?:[0-9]+[MIDNP=X])*(?:[0-9]+S)?(?:[0-9]+H)?\Z")
_SEQ_RE = re.compile(rb"\*\Z|[A-Za-z=.]+\Z")
_QUAL_RE = re.compile(rb"[!-~]+\Z")


def _rerr(msg, line, field, path):
    return FormatError(f"SAM line {line}: {msg}", path=path, field=field)


def check_records(rows, header, line_no, *, path=None) -> None:
    """Strict per-column checks of split SAM lines (SAMv1 §1.4).

    Parameters
    ----------
    rows : list of list of bytes
        Each line split on TAB (at least 11 columns).
    header : AlignmentHeader
    line_no : list of int
        1-based line numbers, parallel to ``rows``.

    Raises
    ------
    FormatError
        ``field`` is the column name (QNAME FLAG RNAME POS MAPQ CIGAR RNEXT
        PNEXT TLEN SEQ QUAL) or the aux tag.
    """
    lengths = {nm.encode("utf-8", "surrogateescape"): ln for nm, ln in header.references}
    pmax = (1 << 31) - 1
    for r, ln in zip(rows, line_no):
        qn, fl, rn, ps, mq, cg, rx, px, tl, sq, ql = r[:11]
        if not QNAME_RE.match(qn) and qn != b"*":
            raise _rerr(f"QNAME {qn[:60]!r} does not match [!-?A-~]{{1,254}}", ln, "QNAME", path)
        if not _FLAG_RE.match(fl) or int(fl) > 0xFFFF:
            raise _rerr(f"FLAG {fl[:40]!r} is not an integer in [0, 65535]", ln, "FLAG", path)
        if not _RNAME_COL.match(rn):
            raise _rerr(f"RNAME {rn[:60]!r} is not a valid reference name", ln, "RNAME", path)
        if rn != b"*" and rn not in lengths:
            raise _rerr(f"RNAME {rn[:60]!r} is not in the @SQ header", ln, "RNAME", path)
        if not _UINT_RE.match(ps) or int(ps) > pmax:
            raise _rerr(f"POS {ps[:40]!r} is not an integer in [0, 2^31-1]", ln, "POS", path)
        if not _UINT_RE.match(mq) or int(mq) > 255:
            raise _rerr(f"MAPQ {mq[:40]!r} is not an integer in [0, 255]", ln, "MAPQ", path)
        if not _CIGAR_RE.match(cg):
            raise _rerr(f"CIGAR {cg[:60]!r} is malformed", ln, "CIGAR", path)
        if not _CIGAR_CLIPS.match(cg):
            raise _rerr(f"CIGAR {cg[:60]!r} has H or S clips inside the alignment", ln, "CIGAR", path)
        if not _RNEXT_RE.match(rx):
            raise _rerr(f"RNEXT {rx[:60]!r} is not a valid reference name", ln, "RNEXT", path)
        if rx not in (b"*", b"=") and rx not in lengths:
            raise _rerr(f"RNEXT {rx[:60]!r} is not in the @SQ header", ln, "RNEXT", path)
        if not _UINT_RE.match(px) or int(px) > pmax:
            raise _rerr(f"PNEXT {px[:40]!r} is not an integer in [0, 2^31-1]", ln, "PNEXT", path)
        if not _INT_RE.match(tl) or not -pmax <= int(tl) <= pmax:
            raise _rerr(f"TLEN {tl[:40]!r} is not an integer in [-2^31+1, 2^31-1]", ln, "TLEN", path)
        if not _SEQ_RE.match(sq):
            raise _rerr(f"SEQ {sq[:60]!r} has characters outside [A-Za-z=.]", ln, "SEQ", path)
        if not _QUAL_RE.match(ql):
            raise _rerr(f"QUAL {ql[:60]!r} has characters outside [!-~]", ln, "QUAL", path)
        if ql != b"*":
            if sq == b"*":
                raise _rerr("QUAL given while SEQ is '*'", ln, "QUAL", path)
            if len(ql) != len(sq):
                raise _rerr(f"QUAL length {len(ql)} differs from SEQ length {len(sq)}", ln, "QUAL", path)
        for f in r[11:]:
            if f == b"":
                raise _rerr("empty optional field", ln, "aux", path)
