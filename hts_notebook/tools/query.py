"""``query -f FORMAT``: one line of text per VCF / BCF record, as ``bcftools query`` 1.16.

Usage: ``query -f FORMAT [-H] [-s [^]LIST | -S FILE] [-r REGIONS] [-o FILE] <in.vcf|in.vcf.gz|in.bcf>``

FORMAT is text with ``\\n`` / ``\\t`` escapes and these fields:

* ``%CHROM %POS %POS0 %END %END0 %ID %REF %ALT %ALT{i} %FIRST_ALT %QUAL %FILTER``;
* ``%INFO`` (the whole column), ``%INFO/TAG``, ``%INFO/TAG{i}`` and, outside
  brackets, ``%TAG`` (an INFO tag): the value as VCF prints it, ``1`` for a
  Flag that is set, ``.`` when absent;
* ``[ ... ]`` repeats its content for every sample: ``%SAMPLE``, ``%GT``,
  ``%TAG`` / ``%TAG{i}`` (a FORMAT field; fixed fields and INFO tags may
  appear inside too).

``-H`` prints bcftools' column header line (``# [1]CHROM\\t[2]POS ...``).
``-s`` keeps samples in the order given (``^`` drops them, header order kept),
``-r`` restricts to regions (needs an index), like ``view``.  A tag the header
does not define stops the command like bcftools ("no such tag defined in the
VCF header"), unless ``-u``.  Filtering expressions (``-i`` / ``-e``) and the
other ``%`` fields are not supported (usage error).
"""
from __future__ import annotations

from typing import BinaryIO, TextIO


from . import UsageError
from ._args import getopt
from .vcf_view import ToolFailure, empty_info_values, iter_batches, parse_regions, reader_header

__all__ = ["run", "parse_format"]

OPTSTRING = "hlr:R:f:a:s:S:Ht:T:c:v:i:e:o:u"
LONGOPTS = {
    "help": (False, "h"), "list-samples": (False, "l"), "include": (True, "i"), "exclude": (True, "e"),
    "format": (True, "f"), "force-samples": (False, "force-samples"), "output-file": (True, "o"),
    "output": (True, "o"), "regions": (True, "r"), "regions-file": (True, "R"),
    "regions-overlap": (True, "regions-overlap"), "targets": (True, "t"), "targets-file": (True, "T"),
    "targets-overlap": (True, "targets-overlap"), "annots": (True, "a"), "samples": (True, "s"),
    "samples-file": (True, "S"), "print-header": (False, "H"), "collapse": (True, "c"),
    "vcf-list": (True, "v"), "allow-undef-tags": (False, "u"),
}
_SUPPORTED = {"f", "H", "r", "s", "S", "o", "u", "force-samples", "l"}

_FIXED = {"CHROM", "POS", "POS0", "END", "END0", "ID", "REF", "FIRST_ALT", "QUAL", "FILTER"}
_UNSUPPORTED_FIXED = {"TYPE", "IS_TS", "MASK", "LINE", "_CHROM_POS_ID", "_GT_TO_PROB3", "_PL_TO_PROB3",
                      "_GP_TO_PROB3", "_GT_TO_HAP", "_GT_TO_HAP2", "RSX", "VKX", "N_PASS", "PBINOM",
                      "TGT", "TBCSQ", "IUPACGT"}


class _Tok:
    __slots__ = ("kind", "key", "gt", "sub")

    def __init__(self, kind, key, gt, sub=-1):
        self.kind, self.key, self.gt, self.sub = kind, key, gt, sub


def _is_tagchar(c: str) -> bool:
    return c.isascii() and (c.isalnum() or c in "_.")


def _subscript(fmt: str, q: int) -> tuple[int, int]:
    if q < len(fmt) and fmt[q] == "{":
        r = q + 1
        while r < len(fmt) and fmt[r].isdigit():
            r += 1
        if r < len(fmt) and fmt[r] == "}":
            return int(fmt[q + 1:r] or 0), r + 1
    return -1, q


def parse_format(fmt: str, header) -> list[_Tok]:
    """Tokens of a bcftools query format string (see the module docstring)."""
    def bad():
        return ToolFailure(f"Could not parse format string: {fmt}")

    toks: list[_Tok] = []
    gt = False
    i, n = 0, len(fmt)
    fmt_ids = {k for k, f in header.format.items() if f.declared}
    info_ids = {k for k, f in header.info.items() if f.declared}
    while i < n:
        c = fmt[i]
        if c == "[":
            gt = True
            i += 1
        elif c == "]":
            gt = False
            toks.append(_Tok("sep", None, False))
            i += 1
        elif c == "%":
            q = i + 1
            while q < n and _is_tagchar(fmt[q]):
                q += 1
            name = fmt[i + 1:q]
            if not name:
                raise bad()
            if name in _UNSUPPORTED_FIXED:
                raise UsageError(f"query: %{name} is not supported")
            if name == "INFO" and q < n and fmt[q] == "/":
                p = q + 1
                q = p
                while q < n and _is_tagchar(fmt[q]):
                    q += 1
                if q == p:
                    raise bad()
                tag = fmt[p:q]
                sub, q = _subscript(fmt, q)
                toks.append(_Tok("info", tag, gt, sub))
            elif gt:
                if name == "INFO":
                    raise ToolFailure(f"Could not parse format string: {fmt}")
                if name == "SAMPLE":
                    toks.append(_Tok("sample", "SAMPLE", True))
                elif name == "GT":
                    toks.append(_Tok("gt", "GT", True))
                else:
                    sub, q = _subscript(fmt, q)
                    if name in fmt_ids:
                        toks.append(_Tok("format", name, True, sub))
                    elif name in _FIXED:
                        toks.append(_Tok(name, name, True))
                    elif name == "ALT":
                        toks.append(_Tok("ALT", name, True, sub))
                    elif name in info_ids:
                        toks.append(_Tok("info", name, True, sub))
                    else:
                        toks.append(_Tok("format", name, True, sub))
            else:
                if name in _FIXED:
                    toks.append(_Tok(name, name, False))
                elif name == "ALT":
                    sub, q = _subscript(fmt, q)
                    toks.append(_Tok("ALT", name, False, sub))
                elif name == "INFO":
                    toks.append(_Tok("info_all", None, False))
                elif name == "FORMAT":
                    raise UsageError("query: %FORMAT is not supported")
                else:
                    sub, q = _subscript(fmt, q)
                    toks.append(_Tok("info", name, False, sub))
            i = q
        else:
            buf = []
            while i < n and fmt[i] not in "[]%":
                if fmt[i] == "\\":
                    i += 1
                    ch = fmt[i] if i < n else ""
                    buf.append("\n" if ch == "n" else "\t" if ch == "t" else ch)
                else:
                    buf.append(fmt[i])
                i += 1
            if not buf:
                raise bad()
            toks.append(_Tok("sep", "".join(buf), gt))
    if gt:
        raise ToolFailure(f"Could not parse the format string, missing the square bracket \"]\": {fmt}")
    return toks


def header_line(toks: list[_Tok], samples: list[str]) -> str:
    out = ["# "]
    col = 0
    i = 0
    while i < len(toks):
        t = toks[i]
        if t.gt:
            j = i
            while j < len(toks) and toks[j].gt:
                j += 1
            for s in samples:
                for k in range(i, j):
                    u = toks[k]
                    if u.kind == "sep":
                        out.append(u.key or "")
                    elif u.kind == "sample":
                        col += 1
                        out.append(f"[{col}]SAMPLE")
                    else:
                        col += 1
                        out.append(f"[{col}]{s}:{u.key}")
            i = j
            continue
        if t.kind == "sep":
            out.append(t.key or "")
        else:
            col += 1
            out.append(f"[{col}]{t.key if t.key is not None else '(null)'}")
        i += 1
    return "".join(out)


def _kputw(x: int) -> str:
    """bcftools prints positions through a C ``int`` (wraps past 2**31)."""
    x &= 0xFFFFFFFF
    return str(x - (1 << 32) if x >= 1 << 31 else x)


def _pick(text: str, sub: int) -> str:
    if sub < 0:
        return text
    parts = text.split(",")
    if sub >= len(parts) or parts[sub] == "":
        return "."
    return parts[sub]


def _info_value(items: dict, key: str, sub: int, header) -> str:
    if key not in items:
        return "."
    v = items[key]
    if v is None or v == "":
        return "1"
    if sub >= 0 and "," not in v:
        # a single stored value is printed whatever the subscript (bcftools' len == 1 case)
        fd = header.info.get(key)
        is_str = fd is None or fd.type in ("String", "Character")
        if not is_str or len(v) == 1:
            return v
        return v if sub == 0 else "."
    return _pick(v, sub)


def run(argv: list[str], out: BinaryIO, err: TextIO) -> int:
    try:
        return _run(argv, out, err)
    except ToolFailure as exc:
        err.write(f"{exc}\n")
        return 1


def _run(argv, out, err) -> int:
    args = getopt(argv, OPTSTRING, LONGOPTS, tool="query")
    fmt = None
    print_header = allow_undef = force = False
    regions_list = fn_out = sample_spec = None
    sample_is_file = False
    list_samples = False
    for key, val in args.options:
        if key not in _SUPPORTED:
            raise UsageError(f"query: option {'-' + key if len(key) == 1 else '--' + key} is not supported")
        if key == "f":
            fmt = val
        elif key == "H":
            print_header = True
        elif key == "r":
            regions_list = val
        elif key in ("s", "S"):
            sample_spec, sample_is_file = val, key == "S"
        elif key == "o":
            fn_out = val
        elif key == "u":
            allow_undef = True
        elif key == "force-samples":
            force = True
        elif key == "l":
            list_samples = True
    if not args.operands:
        raise UsageError("query: no input file given")
    if len(args.operands) > 1:
        raise UsageError("query: more than one input file is not supported (use -r for regions)")
    fn_in = args.operands[0]
    from ..core.formats.variant.vcf import format_vcf_records
    from .vcf_view import open_variant_input, read_sample_list, require_index

    vf = open_variant_input(fn_in)
    header = vf.header
    hts = reader_header(vf)
    regions = parse_regions(regions_list) if regions_list is not None else None
    if regions is not None:
        require_index(vf, fn_in)

    all_samples = list(header.samples)
    samples = all_samples
    if sample_spec is not None and sample_spec != "-":
        names, exclude = read_sample_list(sample_spec, sample_is_file)
        known = set(all_samples)
        for k, s in enumerate(names):
            if s not in known and not force:
                raise ToolFailure(f"Error: sample #{k + 1} not found in the header, user --force-samples "
                                  "to proceed anyway")
        samples = [s for s in all_samples if s not in set(names)] if exclude else [s for s in names if s in known]
    if list_samples:
        out.write("".join(s + "\n" for s in samples).encode())
        return 0
    if fmt is None:
        raise ToolFailure("Error: Missing the --format option")
    toks = parse_format(fmt, header)
    info_ids = {i for k, i in hts.ids if k == "INFO"}
    fmt_ids = {i for k, i in hts.ids if k == "FORMAT"}
    fmt_known = set(fmt_ids)
    undef_info = next((t.key for t in toks if t.kind == "info" and t.key not in info_ids), None)
    sidx = [all_samples.index(s) for s in samples]

    fh = open(fn_out, "wb") if fn_out and fn_out != "-" else out
    try:
        if print_header:
            fh.write(header_line(toks, samples).encode("utf-8", "surrogateescape"))
        for batch in iter_batches(vf, regions):
            header = vf.header
            if undef_info is not None and not allow_undef:
                msg = f"Error: no such tag defined in the VCF header: INFO/{undef_info}"
                if undef_info in fmt_ids:
                    msg += f". FORMAT fields must be enclosed in square brackets, e.g. \"[ %{undef_info}]\""
                raise ToolFailure(msg)
            lines = empty_info_values(format_vcf_records(header, batch))
            buf = []
            for i, line in enumerate(lines):
                buf.append(_format_line(toks, line, batch, i, sidx, samples, fmt_known, allow_undef, header))
            if buf:
                fh.write("".join(buf).encode("utf-8", "surrogateescape"))
        return 0
    finally:
        if fh is not out:
            fh.close()


def _format_line(toks, line, batch, i, sidx, samples, fmt_ids, allow_undef, header) -> str:
    cols = line.split("\t")
    info = {}
    if cols[7] != ".":
        for it in cols[7].split(";"):
            k, eq, v = it.partition("=")
            info.setdefault(k, v if eq else None)
    fkeys = cols[8].split(":") if len(cols) > 8 else []
    fmt_ids.update(fkeys)  # htslib defines FORMAT IDs met in records before bcftools looks them up
    out = []

    def fixed(t) -> str:
        k = t.kind
        if k == "CHROM":
            return cols[0]
        if k == "POS":
            return _kputw(int(cols[1]))
        if k == "POS0":
            return _kputw(int(cols[1]) - 1)
        if k == "END":
            return _kputw(int(max(batch.stop[i], batch.position[i])))
        if k == "END0":
            return _kputw(int(max(batch.stop[i], batch.position[i])) - 1)
        if k == "ID":
            return cols[2]
        if k == "REF":
            return cols[3]
        if k == "ALT":
            return cols[4] if cols[4] == "." else _pick(cols[4], t.sub)
        if k == "FIRST_ALT":
            return cols[4].split(",")[0]
        if k == "QUAL":
            return cols[5]
        if k == "FILTER":
            return cols[6]
        if k == "info_all":
            return cols[7]
        if k == "info":
            return _info_value(info, t.key, t.sub, header)
        if k == "sep":
            return t.key or ""
        raise ToolFailure(f"[E::query] unsupported format tag kind {k!r}")

    j = 0
    n = len(toks)
    while j < n:
        t = toks[j]
        if not t.gt:
            out.append(fixed(t))
            j += 1
            continue
        e = j
        while e < n and toks[e].gt:
            e += 1
        for s, name in zip(sidx, samples):
            vals = cols[9 + s].split(":") if len(cols) > 9 + s else []
            for u in toks[j:e]:
                if u.kind == "sample":
                    out.append(name)
                elif u.kind in ("gt", "format"):
                    if u.key not in fmt_ids and not allow_undef:
                        raise ToolFailure(f"Error: no such tag defined in the VCF header: FORMAT/{u.key}")
                    if u.key in fkeys:
                        k = fkeys.index(u.key)
                        v = vals[k] if k < len(vals) else "."
                        out.append(_pick(v, u.sub) if u.kind == "format" else v)
                    else:
                        out.append(".")
                else:
                    out.append(fixed(u))
        j = e
    return "".join(out)
