"""``view`` for VCF / BCF input: output byte-identical to ``bcftools view`` 1.16.

Usage: ``view [options] <in.vcf|in.vcf.gz|in.bcf> [region ...]``

====================  ===========================================================
``-h``                header only (``--header-only``)
``-H``                records only (``--no-header``); ``--with-header`` undoes both
``-r REG[,REG]``      regions (also as extra operands); needs a ``.tbi``/``.csi``
``-s [^]LIST``        keep (or, with ``^``, drop) these comma-separated samples
``-S [^]FILE``        the same, one sample per line in FILE
``--force-samples``   warn about unknown samples instead of failing
``-I``                do not recompute INFO/AC and INFO/AN after ``-s``
``-O v|z|b|u[0-9]``   VCF, BGZF VCF, BCF, uncompressed BCF (``-l`` level)
``-o FILE``           output file
``--no-version``      do not add the provenance header lines
``--threads N``       accepted and ignored
====================  ===========================================================

What ``bcftools view`` changes, and so do we
--------------------------------------------
The header is what htslib's parser keeps of the input, printed again:

* ``##FILTER=<ID=PASS,Description="All filters passed">`` becomes the second
  line; the file's own PASS definition is dropped;
* a structured line is printed ``##KEY=<K=V,...>`` with its values as parsed
  (spaces around keys and unquoted values trimmed, ``IDX=`` removed); a
  second definition of the same INFO / FORMAT / FILTER / contig ID, a contig
  with an unusable ``length``, a definition without ``ID``, a repeated plain
  ``##key=value`` line and lines that do not parse are dropped;
* the ``#CHROM`` line names ``FORMAT`` only when there are samples;
* definitions htslib invents for IDs first met in records are *not*
  printed (the header is written before the records are read).

Records are printed as htslib formats them (floats as ``%g``, missing
trailing FORMAT values filled in) -- see
:func:`hts_notebook.core.formats.variant.vcf.format_vcf_records`.

With ``-s`` (and without ``-I``) bcftools recomputes ``INFO/AC`` and
``INFO/AN`` from the kept genotypes of every record with a ``GT`` field
(values replaced in place, appended when absent, ``AC`` removed when there
is no ALT allele) and adds their definitions to the header when missing.
A record that uses an ID the header does not define stops ``-s`` with
"Undefined tags in the header, cannot proceed in the sample subset mode."

Provenance lines
----------------
Where bcftools writes ``##bcftools_viewVersion`` / ``##bcftools_viewCommand``
we write ``##hts_notebook_viewVersion=<version>`` and
``##hts_notebook_viewCommand=view <args>; Date=<date>`` at the same place;
``--no-version`` writes neither, which is what tests compare.
"""
from __future__ import annotations

import os
import re
import sys
import time
from typing import BinaryIO, TextIO

import numpy as np

from . import UsageError
from ._args import getopt

__all__ = ["run", "htslib_meta_lines", "header_text", "parse_regions", "iter_region_batches", "is_variant_input"]

OPTSTRING = "l:t:T:r:R:o:O:s:S:Gf:knv:V:m:M:auUhHc:C:Ii:e:xXpPq:Q:g:"

LONGOPTS = {
    "genotype": (True, "g"), "compression-level": (True, "l"), "threads": (True, "threads"),
    "header-only": (False, "h"), "no-header": (False, "H"), "with-header": (False, "with-header"),
    "exclude": (True, "e"), "include": (True, "i"), "trim-alt-alleles": (False, "a"),
    "no-update": (False, "I"), "drop-genotypes": (False, "G"), "private": (False, "x"),
    "exclude-private": (False, "X"), "uncalled": (False, "u"), "exclude-uncalled": (False, "U"),
    "apply-filters": (True, "f"), "known": (False, "k"), "novel": (False, "n"),
    "min-alleles": (True, "m"), "max-alleles": (True, "M"), "samples": (True, "s"),
    "samples-file": (True, "S"), "force-samples": (False, "force-samples"), "output-type": (True, "O"),
    "output-file": (True, "o"), "output": (True, "o"), "types": (True, "v"), "exclude-types": (True, "V"),
    "targets": (True, "t"), "targets-file": (True, "T"), "targets-overlap": (True, "targets-overlap"),
    "regions": (True, "r"), "regions-file": (True, "R"), "regions-overlap": (True, "regions-overlap"),
    "min-ac": (True, "c"), "max-ac": (True, "C"), "min-af": (True, "q"), "max-af": (True, "Q"),
    "phased": (False, "p"), "exclude-phased": (False, "P"), "no-version": (False, "no-version"),
}

_SUPPORTED = {"h", "H", "with-header", "r", "s", "S", "force-samples", "O", "o", "l", "no-version", "I",
              "threads"}

_VARIANT_FORMATS = ("vcf", "bgzf:vcf", "gzip:vcf", "bcf", "bgzf:bcf")

BATCH = 50_000

_PASS = '##FILTER=<ID=PASS,Description="All filters passed">'
_AC_LINE = '##INFO=<ID=AC,Number=A,Type=Integer,Description="Allele count in genotypes">'
_AN_LINE = '##INFO=<ID=AN,Number=1,Type=Integer,Description="Total number of alleles in called genotypes">'


class ToolFailure(Exception):
    """bcftools ``error()``: one message line on stderr, exit status 1 (output so far is kept)."""


# ---------------------------------------------------------------------------- header, htslib style
def _is_escaped(s: str, lo: int, i: int) -> bool:
    n = 0
    i -= 1
    while i >= lo and s[i] == "\\":
        n += 1
        i -= 1
    return n % 2 == 1


def _parse_meta(line: str):
    """One ``##`` line as htslib's header parser reads it.

    Returns ``(key, value, pairs)``: ``pairs`` is None for ``##key=value``
    lines, else the list of ``(attribute, value)`` with quotes kept; None for
    a line htslib cannot parse.
    """
    if not line.startswith("##"):
        return None
    body = line[2:]
    eq = body.find("=")
    if eq <= 0:
        return None
    key, s = body[:eq], body[eq + 1:]
    if not s.startswith("<"):
        return key, s, None
    n = len(s)
    i = 0
    nopen = 1
    pairs = []
    while i < n and nopen > 0:
        i += 1
        while i < n and s[i] == " ":
            i += 1
        p = i
        if i < n and (s[i].isascii() and (s[i].isalpha() or s[i] == "_")):
            i += 1
            while i < n and s[i].isascii() and (s[i].isalnum() or s[i] in "_."):
                i += 1
        klen = i - p
        while i < n and s[i] == " ":
            i += 1
        if i >= n or s[i] != "=" or klen == 0:
            return None
        attr = s[p:p + klen]
        i += 1
        while i < n and s[i] == " ":
            i += 1
        p = i
        quoted, ending = False, ""
        if i < n and s[i] == '"':
            quoted, ending = True, '"'
            p += 1
        elif i < n and s[i] == "[":
            quoted, ending = True, "]"
        if quoted:
            i += 1
        while i < n:
            c = s[i]
            if quoted:
                if c == ending and not _is_escaped(s, p, i):
                    break
            else:
                if c == "<":
                    nopen += 1
                elif c == ">":
                    nopen -= 1
                if nopen == 0 or (c == "," and nopen == 1):
                    break
            i += 1
        r = i
        if quoted and ending == "]":
            if i < n and s[i] == "]":
                r += 1
                i += 1
                quoted = False
            else:
                return None
        while r > p and s[r - 1] == " ":
            r -= 1
        val = s[p:r]
        pairs.append((attr, '"' + val + '"' if quoted else val))
        if quoted and i < n and s[i] == ending:
            i += 1
        if i < n and s[i] == ">":
            if nopen:
                nopen -= 1
            i += 1
    return key, None, pairs


_LEN_RE = re.compile(r"^\s*[+-]?\d+")
_KINDS = {"INFO", "FILTER", "FORMAT"}


class _HtsHeader:
    """The header lines htslib keeps, in order (its ``bcf_hdr_add_hrec`` rules)."""

    def __init__(self):
        self.recs = []          # (key, value, pairs)
        self.ids = set()        # (kind, ID) for INFO/FILTER/FORMAT
        self.contigs = set()

    def add_text(self, line: str) -> None:
        rec = _parse_meta(line)
        if rec is not None:
            self.add(rec)

    def add(self, rec) -> bool:
        key, value, pairs = rec
        if pairs is None or not pairs:
            for k, v, pr in self.recs:
                if (pr is None or not pr) and k == key and (key == "fileformat" or v == value):
                    return False
            self.recs.append(rec)
            return True
        attrs = {}
        for a, v in pairs:
            attrs.setdefault(a, v)
        if key == "contig":
            if "length" in attrs:
                m = _LEN_RE.match(attrs["length"])
                if not m or int(m.group(0)) < 0:
                    return False
            cid = attrs.get("ID")
            if cid is None or cid in self.contigs or not _idx_ok(attrs):
                return False
            self.contigs.add(cid)
        elif key in _KINDS:
            if not _idx_ok(attrs):
                return False
            fid = attrs.get("ID")
            if fid is None or (key, fid) in self.ids:
                return False
            self.ids.add((key, fid))
        self.recs.append(rec)
        return True

    def has(self, kind: str, id_: str) -> bool:
        return (kind, id_) in self.ids

    def lines(self) -> list[str]:
        out = []
        for key, value, pairs in self.recs:
            if pairs is None:
                out.append(f"##{key}={value}")
            else:
                out.append(f"##{key}=<" + ",".join(f"{a}={v}" for a, v in pairs if a != "IDX") + ">")
        return out


def _idx_ok(attrs) -> bool:
    if "IDX" not in attrs:
        return True
    return re.fullmatch(r"\s*[+-]?\d+", attrs["IDX"]) is not None and int(attrs["IDX"]) >= 0


def _hts_header(meta_texts) -> _HtsHeader:
    h = _HtsHeader()
    texts = list(meta_texts)
    if texts:
        h.add_text(texts[0])
    h.add_text(_PASS)
    for t in texts:
        h.add_text(t)
    return h


def htslib_meta_lines(header) -> list[str]:
    """The ``##`` lines ``bcftools view`` prints for a :class:`VariantHeader` (no newlines)."""
    return _hts_header(m.text for m in header.meta).lines()


def index_contig_names(vf) -> list[str]:
    """Sequence names of the tabix / CSI index next to a VCF ([] when none or BCF)."""
    if vf.is_bcf:
        return []
    try:
        index = vf._load_index()
    except Exception:  # noqa: BLE001 - htslib loads the index silently, or not at all
        return []
    if index is None:
        return []
    from ..core.index.tbi import index_sequence_names

    return index_sequence_names(index) or []


def reader_header(vf) -> _HtsHeader:
    """The header htslib reads from ``vf``: parsed lines, plus ``##contig=<ID=..>`` for each
    sequence of the index that the header does not define (htslib's ``vcf_hdr_read``)."""
    h = _hts_header(m.text for m in vf.header.meta)
    for name in index_contig_names(vf):
        if name not in h.contigs:
            h.add(("contig", None, [("ID", name)]))
    return h


def header_text(header, samples=None, *, extra=(), hts=None) -> str:
    """Full VCF header text as bcftools prints it, for ``samples`` (default: all) plus ``extra`` lines."""
    h = hts if hts is not None else _hts_header(m.text for m in header.meta)
    for line in extra:
        h.add_text(line)
    samples = list(header.samples if samples is None else samples)
    cols = "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"
    if samples:
        cols += "\tFORMAT" + "".join("\t" + s for s in samples)
    return "\n".join(h.lines() + [cols]) + "\n"


# ---------------------------------------------------------------------------- input and regions
def is_variant_input(path: str) -> bool:
    """Whether ``path`` is an existing VCF / BCF file (never raises)."""
    try:
        if not path or path == "-" or not os.path.isfile(path):
            return False
        from ..core.source import sniff_format

        return (sniff_format(path) or "") in _VARIANT_FORMATS
    except Exception:  # noqa: BLE001 - sniffing must not fail the caller
        return False


def _parse_decimal(s: str, i: int) -> tuple[int | None, int]:
    j = i
    while j < len(s) and s[j].isdigit():
        j += 1
    if j == i:
        return None, i
    return int(s[i:j]), j


_MAX_COOR = (1 << 44) - 1


def parse_regions(text: str) -> list[tuple[str, list[tuple[int, int]]]]:
    """``chr``, ``chr:pos``, ``chr:beg-[end]`` comma list as bcftools reads it.

    Returns ``[(contig, [(start0, end0_inclusive), ...]), ...]`` in order of
    first appearance, intervals sorted and merged.
    """
    seqs: dict[str, list] = {}
    sp = 0
    n = len(text)
    while True:
        ep = sp
        while ep < n and text[ep] not in ",:":
            ep += 1
        name = text[sp:ep]
        if ep < n and text[ep] == ":":
            beg, ep2 = _parse_decimal(text, ep + 1)
            if beg is None:
                raise ToolFailure(f"Failed to read the regions: {text}")
            if ep2 >= n or text[ep2] == ",":
                seqs.setdefault(name, []).append((beg - 1, beg - 1))
                sp = ep2
                if ep2 >= n:
                    break
                sp = ep2 + 1
                continue
            if text[ep2] != "-":
                raise ToolFailure(f"Failed to read the regions: {text}")
            end, ep3 = _parse_decimal(text, ep2 + 1)
            if ep3 < n and text[ep3] != ",":
                raise ToolFailure(f"Failed to read the regions: {text}")
            if end is None:
                end = _MAX_COOR
            seqs.setdefault(name, []).append((beg - 1, end - 1))
            if ep3 >= n:
                break
            sp = ep3 + 1
        else:
            if name:
                seqs.setdefault(name, []).append((0, _MAX_COOR - 1))
            if ep >= n:
                break
            sp = ep + 1
    out = []
    for name, regs in seqs.items():
        regs.sort()
        merged = []
        for s, e in regs:
            if merged and merged[-1][1] >= s:
                merged[-1] = (merged[-1][0], max(merged[-1][1], e))
            else:
                merged.append((s, e))
        out.append((name, merged))
    return out


def _has_index(vf) -> bool:
    if vf.is_bcf:
        return os.path.exists(vf.path + ".csi")
    if vf.format != "bgzf:vcf":
        return False
    return os.path.exists(vf.path + ".tbi") or os.path.exists(vf.path + ".csi")


def open_variant_input(fn_in: str):
    """Open a VCF/BCF for ``view``/``query``, failing with bcftools' messages (missing, not VCF/BCF)."""
    if not os.path.exists(fn_in):
        raise ToolFailure(f"Failed to read from {fn_in}: No such file or directory")
    if not is_variant_input(fn_in):
        raise ToolFailure(f"Failed to read from {fn_in}: unknown file type")
    from ..core.formats.variant.reader import VariantFile

    return VariantFile(fn_in)


def require_index(vf, fn_in: str) -> None:
    """Region queries need an index: bcftools' message when there is none."""
    if not _has_index(vf):
        raise ToolFailure(f"Failed to read from {fn_in}: could not load index")


def iter_region_batches(vf, regions):
    """Batches of records overlapping ``regions`` (see :func:`parse_regions`), each record once."""
    from ..core.formats.variant.batch import VariantBatch

    if not _has_index(vf):
        raise ToolFailure(f"Failed to read from {vf.path}: could not load index")
    for contig, ivs in regions:
        lo = ivs[0][0]
        hi = max(e for _, e in ivs)
        try:
            b = vf.fetch_batch(f"{contig}:{lo + 1}-{hi + 1}")
        except KeyError:
            continue
        if not len(b):
            continue
        start0 = b.position - 1
        end0 = np.maximum(b.stop, start0 + 1) - 1
        keep = np.zeros(len(b), dtype=bool)
        for s, e in ivs:
            keep |= (start0 <= e) & (end0 >= s)
        b = b.take(np.flatnonzero(keep))
        if len(b):
            yield b
    if False:  # pragma: no cover
        yield VariantBatch.empty()


def iter_batches(vf, regions):
    if regions is not None:
        yield from iter_region_batches(vf, regions)
    else:
        yield from vf.iter_chunks(BATCH)


def read_sample_list(spec: str, is_file: bool) -> tuple[list[str], bool]:
    """``[^]a,b`` or ``[^]FILE``: (names, exclude)."""
    exclude = spec.startswith("^")
    body = spec[1:] if exclude else spec
    if is_file:
        try:
            with open(body, encoding="utf-8") as fh:
                names = [ln.rstrip("\r\n") for ln in fh]
        except OSError:
            raise ToolFailure(f"Could not read the list: \"{body}\"") from None
        names = [x for x in names if x != ""]
    else:
        names = body.split(",") if body else []
    return names, exclude


def undeclared_record(header, batch, declared) -> int | None:
    """Index of the first record using a contig / FILTER / INFO / FORMAT ID the header did not define."""
    contigs, filters, info, fmt = declared
    names = header.contig_names
    for i in range(len(batch)):
        if names[batch.contig[i]] not in contigs:
            return i
        if not batch.filter_missing[i]:
            for k in np.flatnonzero(batch.filters[i]):
                if batch.filter_ids[k] not in filters:
                    return i
        keys = batch.info_keys[i].split(";") if batch.info_keys is not None and batch.info_keys[i] else \
            [k for k in batch.info if batch.info_present[k][i]]
        if any(k not in info for k in keys):
            return i
        fk = batch.format_keys[i]
        if fk and any(k not in fmt for k in fk.split(":")):
            return i
    return None


def empty_info_values(lines: list[str]) -> list[str]:
    """htslib prints an INFO value of length 0 as the bare key (``K=`` -> ``K``)."""
    out = []
    for line in lines:
        if "=;" in line or "=\t" in line:
            cols = line.split("\t", 8)
            if cols[7].endswith("=") or "=;" in cols[7]:
                cols[7] = ";".join(it[:-1] if it.find("=") == len(it) - 1 else it for it in cols[7].split(";"))
                line = "\t".join(cols)
        out.append(line)
    return out


# ---------------------------------------------------------------------------- AC / AN after -s
def _allele_counts(batch, i: int) -> np.ndarray:
    na = int(batch.n_allele[i])
    g = batch.genotype[i].reshape(-1)
    g = g[(g >= 0) & (g < max(na, 1))]
    return np.bincount(g.astype(np.int64), minlength=max(na, 1))


def _set_info(items: list[str], key: str, value: str | None) -> list[str]:
    for j, it in enumerate(items):
        if it == key or it.startswith(key + "="):
            if value is None:
                return items[:j] + items[j + 1:]
            items[j] = f"{key}={value}"
            return items
    if value is not None:
        items.append(f"{key}={value}")
    return items


def update_ac_an(lines: list[str], batch) -> list[str]:
    """Rewrite INFO/AC and INFO/AN of formatted records from their (subset) genotypes."""
    out = []
    for i, line in enumerate(lines):
        fk = batch.format_keys[i]
        if not fk or "GT" not in fk.split(":"):
            out.append(line)
            continue
        cols = line.split("\t", 8)
        items = [] if cols[7] == "." else cols[7].split(";")
        ac = _allele_counts(batch, i)
        na = int(batch.n_allele[i])
        items = _set_info(items, "AC", ",".join(str(int(x)) for x in ac[1:na]) if na > 1 else None)
        items = _set_info(items, "AN", str(int(ac.sum())))
        cols[7] = ";".join(items) if items else "."
        out.append("\t".join(cols))
    return out


# ---------------------------------------------------------------------------- main
def _version_lines(argv) -> list[str]:
    from .. import __version__

    date = time.strftime("%a %b %d %H:%M:%S %Y")
    return [f"##hts_notebook_viewVersion={__version__}",
            f"##hts_notebook_viewCommand=view {' '.join(argv)}; Date={date}"]


def _output_type(val: str, state: dict) -> None:
    c = val[:1]
    if c in ("b", "u", "z", "v"):
        state["type"] = c
        rest = val[1:]
    else:
        rest = val
    if rest:
        if not rest.isdigit() or int(rest) > 9:
            raise ToolFailure(f"The output type \"{val}\" not recognised")
        state["level"] = int(rest)


def run(argv: list[str], out: BinaryIO, err: TextIO) -> int:
    try:
        return _run(argv, out, err)
    except ToolFailure as exc:
        err.write(f"{exc}\n")
        return 1


def _run(argv, out, err) -> int:
    args = getopt(argv, OPTSTRING, LONGOPTS, tool="view")
    print_header, header_only, no_version, update_info = True, False, False, True
    regions_list = None
    sample_spec, sample_is_file, force = None, False, False
    state = {"type": "v", "level": -1}
    fn_out = None
    for key, val in args.options:
        if key not in _SUPPORTED:
            raise UsageError(f"option {'-' + key if len(key) == 1 else '--' + key} is not supported")
        if key == "h":
            header_only = True
        elif key == "H":
            print_header = False
        elif key == "with-header":
            print_header, header_only = True, False
        elif key == "r":
            regions_list = val
        elif key in ("s", "S"):
            sample_spec, sample_is_file = val, key == "S"
        elif key == "force-samples":
            force = True
        elif key == "O":
            _output_type(val, state)
        elif key == "l":
            if not val.lstrip("-").isdigit():
                raise ToolFailure(f"Could not parse argument: --compression-level {val}")
            state["level"] = int(val)
            if state["type"] == "v":
                state["type"] = "z"
            elif state["type"] == "u":
                state["type"] = "b"
        elif key == "o":
            fn_out = val
        elif key == "no-version":
            no_version = True
        elif key == "I":
            update_info = False
    if not args.operands:
        raise UsageError("no input file given")
    fn_in = args.operands[0]
    if regions_list is None and len(args.operands) > 1:
        regions_list = ",".join(args.operands[1:])
    regions = parse_regions(regions_list) if regions_list is not None else None
    vf = open_variant_input(fn_in)
    header = vf.header
    if regions is not None:
        require_index(vf, fn_in)
    hts = reader_header(vf)
    declared = (set(hts.contigs), {i for k, i in hts.ids if k == "FILTER"},
                {i for k, i in hts.ids if k == "INFO"}, {i for k, i in hts.ids if k == "FORMAT"})

    # samples
    out_samples = list(header.samples)
    subset = None
    calc_ac = False
    if sample_spec is not None:
        names, exclude = read_sample_list(sample_spec, sample_is_file)
        known = set(header.samples)
        what = "exclude" if exclude else "subset"
        for s in names:
            if s not in known:
                if force:
                    err.write(f"Warn: {what} called for sample that does not exist in header: \"{s}\"... "
                              "skipping\n")
                else:
                    raise ToolFailure(f"Error: {what} called for sample that does not exist in header: \"{s}\". "
                                      "Use \"--force-samples\" to ignore this error.")
        if exclude:
            drop = set(names)
            subset = [s for s in header.samples if s not in drop]
        else:
            subset = [s for s in names if s in known]
        if not subset:
            raise UsageError("subsetting removes all samples (not supported)")
        out_samples = subset
        calc_ac = update_info
    extra = []
    if calc_ac:
        extra += [_AC_LINE, _AN_LINE]
    if not no_version:
        extra += _version_lines(args.permuted)
    text = header_text(header, out_samples, extra=extra, hts=hts)

    otype = state["type"]
    bcf_out = otype in ("b", "u")
    if not print_header and bcf_out:
        raise ToolFailure("BCF output requires header, cannot proceed with -H")
    fh = open(fn_out, "wb") if fn_out and fn_out != "-" else out
    writer = None
    try:
        if bcf_out:
            from ..core.formats.variant.bcf import BcfWriter
            from ..core.formats.variant.header import VariantHeader

            out_header = VariantHeader.parse(text)
            level = 0 if otype == "u" else (6 if state["level"] < 0 else state["level"])
            writer = BcfWriter(fh, out_header, level=level)
            names_out = out_header.contig_names
            cmap = {}

            def sink(batch):
                names_in = header.contig_names
                for c in np.unique(batch.contig):
                    nm = names_in[c]
                    if nm not in cmap:
                        if nm not in out_header.contigs:
                            raise ToolFailure(f"contig '{nm}' is not defined in the header; "
                                              "cannot write it to BCF")
                        cmap[nm] = names_out.index(nm)
                lut = np.array([cmap.get(n, -1) for n in names_in], dtype=np.int32)
                batch.contig = lut[batch.contig]
                writer.write_batch(batch)
        else:
            from ..core.formats.variant.vcf import format_vcf_records

            if otype == "z":
                from ..core.bgzf import BgzfWriter

                writer = BgzfWriter(fh, level=6 if state["level"] < 0 else state["level"])
                w = writer
            else:
                w = fh

            def sink(batch):
                lines = empty_info_values(format_vcf_records(header, batch))
                if calc_ac:
                    lines = update_ac_an(lines, batch)
                if lines:
                    w.write(("\n".join(lines) + "\n").encode("utf-8", "surrogateescape"))

            if print_header:
                w.write(text.encode("utf-8", "surrogateescape"))
        if header_only:
            return 0
        for batch in iter_batches(vf, regions):
            header = vf.header
            if subset is not None:
                bad = undeclared_record(header, batch, declared)
                if bad is not None:
                    if bad:
                        sink(batch.take(np.arange(bad)).select_samples(subset))
                    raise ToolFailure("Undefined tags in the header, cannot proceed in the sample subset mode.")
                batch = batch.select_samples(subset)
            if len(batch):
                sink(batch)
        return 0
    finally:
        if writer is not None:
            writer.close()
        if fh is not out:
            fh.close()
        elif hasattr(fh, "flush"):
            fh.flush()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(run(sys.argv[1:], sys.stdout.buffer, sys.stderr))
