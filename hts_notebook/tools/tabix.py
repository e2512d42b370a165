"""``tabix``: index and query bgzipped text files, like ``tabix`` (htslib 1.16).

Usage::

    tabix [-0] [-p gff|bed|sam|vcf] [-s INT -b INT -e INT] [-c CHAR] [-S INT] [-C] [-m INT] [-f] file.gz
    tabix [-h|-H] [-R regions] file.gz [region ...]
    tabix -l file.gz

Indexes are built by :func:`hts_notebook.core.index.tabix_build.build_tabix_index`
(decompressed bytes equal to tabix 1.16's); queries go through
:class:`hts_notebook.core.formats.interval.TabixFile`.  Region strings are
1-based closed (``chr1:1,001-2,000``); ``.`` prints every data line.
Not supported: ``-r`` (reheader), ``-T`` (targets), BCF/BAM/CRAM querying.
"""
from __future__ import annotations

import os
from typing import BinaryIO, TextIO

from ..core.errors import HtsError
from . import UsageError
from ._args import getopt

USAGE = """
Version: 1.16
Usage:   tabix [OPTIONS] [FILE] [REGION [...]]

Indexing Options:
   -0, --zero-based           coordinates are zero-based
   -b, --begin INT            column number for region start [4]
   -c, --comment CHAR         skip comment lines starting with CHAR [null]
   -C, --csi                  generate CSI index for VCF (default is TBI)
   -e, --end INT              column number for region end (if no end, set INT to -b) [5]
   -f, --force                overwrite existing index without asking
   -m, --min-shift INT        set minimal interval size for CSI indices to 2^INT [14]
   -p, --preset STR           gff, bed, sam, vcf
   -s, --sequence INT         column number for sequence names (suppressed by -p) [1]
   -S, --skip-lines INT       skip first INT lines [0]

Querying and other options:
   -h, --print-header         print also the header lines
   -H, --only-header          print only the header lines
   -l, --list-chroms          list chromosome names
   -r, --reheader FILE        replace the header with the content of FILE
   -R, --regions FILE         restrict to regions listed in the file
   -T, --targets FILE         similar to -R but streams rather than index-jumps
   -D                         do not download the index file
       --cache INT            set cache size to INT megabytes (0 disables) [10]
       --separate-regions     separate the output by corresponding regions
       --verbosity INT        set verbosity [3]

"""

LONGOPTS = {
    "help": (False, "help"), "regions": (True, "R"), "targets": (True, "T"), "csi": (False, "C"),
    "zero-based": (False, "0"), "print-header": (False, "h"), "only-header": (False, "H"),
    "begin": (True, "b"), "comment": (True, "c"), "end": (True, "e"), "force": (False, "f"),
    "min-shift": (True, "m"), "preset": (True, "p"), "sequence": (True, "s"), "skip-lines": (True, "S"),
    "list-chroms": (False, "l"), "reheader": (True, "r"), "version": (False, "version"),
    "verbosity": (True, "verbosity"), "cache": (True, "cache"), "separate-regions": (False, "sep"),
}

HTS_POS_MAX = (1 << 63) - 1


class _Fail(Exception):
    pass


def _strtol_all(text: str, opt: str) -> int:
    try:
        return int(text, 10)
    except ValueError:
        raise _Fail(f"Could not parse argument: -{opt} {text}\n") from None


def _file_type(fname: str) -> str:
    low = fname.lower()
    for ext, kind in ((".gff.gz", "gff"), (".bed.gz", "bed"), (".sam.gz", "sam"), (".vcf.gz", "vcf")):
        if low.endswith(ext):
            return kind
    if low.endswith(".bcf"):
        return "bcf"
    if low.endswith(".bam"):
        return "bam"
    if low.endswith(".cram"):
        return "cram"
    from ..core.source import sniff_format

    if not os.path.exists(fname):
        raise _Fail(f'Couldn\'t open "{fname}": No such file or directory\n')
    fmt = sniff_format(fname) or ""
    inner = fmt.split(":")[-1]
    return {"bcf": "bcf", "bam": "bam", "cram": "cram", "vcf": "vcf"}.get(inner, "")


def run(argv: list[str], out: BinaryIO, err: TextIO) -> int:
    try:
        return _run(argv, out, err)
    except _Fail as exc:
        out.flush()
        err.write(str(exc))
        return 1


def _run(argv, out, err) -> int:
    from ..core.index.tbi import PRESETS, TBX_UCSC

    try:
        args = getopt(argv, "hH?0b:c:e:fm:p:s:S:lr:CR:T:D", LONGOPTS, tool="tabix")
    except UsageError as exc:
        err.write(f"tabix: {exc}\n" + USAGE)
        return 1
    conf = PRESETS["gff"]
    detect = True
    min_shift = 0
    force = list_chroms = do_csi = False
    print_header = header_only = separate = False
    regions_fname = None
    new_skip = -1
    for key, val in args.options:
        if key == "R":
            regions_fname = val
        elif key == "T":
            raise _Fail("tabix: -T is not supported\n")
        elif key == "r":
            raise _Fail("tabix: -r is not supported\n")
        elif key == "C":
            do_csi = True
        elif key == "h":
            print_header = True
        elif key == "H":
            print_header = header_only = True
        elif key == "l":
            list_chroms = True
        elif key == "0":
            conf = conf.replace(preset=conf.preset | TBX_UCSC)
            detect = False
        elif key == "b":
            conf = conf.replace(col_beg=_strtol_all(val, "b"))
            detect = False
        elif key == "e":
            conf = conf.replace(col_end=_strtol_all(val, "e"))
            detect = False
        elif key == "s":
            conf = conf.replace(col_seq=_strtol_all(val, "s"))
            detect = False
        elif key == "c":
            conf = conf.replace(meta_char=ord(val[:1]) if val else 0)
            detect = False
        elif key == "f":
            force = True
        elif key == "m":
            min_shift = _strtol_all(val, "m")
        elif key == "p":
            detect = False
            if val in PRESETS:
                conf = PRESETS[val]
            elif val in ("bcf", "bam"):
                detect = True
            else:
                raise _Fail(f"The preset string not recognised: '{val}'\n")
        elif key == "S":
            new_skip = _strtol_all(val, "S")
            detect = False
        elif key == "version":
            out.write(b"tabix (htslib) 1.16\nCopyright (C) 2022 Genome Research Ltd.\n")
            return 0
        elif key == "help":
            out.write(USAGE.encode())
            return 0
        elif key == "sep":
            separate = True
        elif key == "?":
            err.write(USAGE)
            return 1
    if new_skip >= 0:
        conf = conf.replace(line_skip=new_skip)
    files = args.operands
    if not files:
        err.write(USAGE)
        return 1
    fname = files[0]
    if list_chroms:
        return _list_chroms(fname, out)
    ftype = _file_type(fname)
    if detect:
        if ftype in ("gff", "bed", "sam"):
            conf = PRESETS[ftype]
        elif ftype == "vcf":
            conf = PRESETS["vcf"]
            if not min_shift and do_csi:
                min_shift = 14
        elif ftype in ("bcf", "bam") and not min_shift:
            min_shift = 14
    if len(files) > 1 or header_only or regions_fname:
        regs = [] if header_only else _parse_regions(regions_fname, files[1:])
        return _query(fname, conf, regs, print_header, header_only, separate, out)
    if do_csi and not min_shift:
        min_shift = 14
    if min_shift and not do_csi:
        do_csi = True
    suffix = ".csi" if do_csi else ".tbi"
    if ftype in ("bcf", "bam", "cram"):
        raise _Fail(f"tabix: indexing {ftype.upper()} is not supported here; use the index tool\n")
    idx_fname = fname + suffix
    if not force and os.path.exists(idx_fname):
        if os.stat(fname).st_mtime <= os.stat(idx_fname).st_mtime:
            raise _Fail("[tabix] the index file exists. Please use '-f' to overwrite.\n")
    return _build(fname, idx_fname, conf, min_shift if do_csi else 0, err)


def _build(fname, idx_fname, conf, min_shift, err) -> int:
    from ..core.bgzf import is_bgzf
    from ..core.index.csi import write_csi
    from ..core.index.tabix_build import build_tabix_index
    from ..core.index.tbi import write_tbi

    if not os.path.exists(fname):
        raise _Fail(f"tbx_index_build failed: {fname}\n")
    if not is_bgzf(fname):
        raise _Fail(f"[tabix] the compression of '{fname}' is not BGZF\n")
    warnings: list = []
    try:
        index = build_tabix_index(fname, conf, min_shift=min_shift, warnings=warnings)
    except HtsError as exc:
        for w in warnings:
            err.write(_parse_warning(conf, w))
        err.write(f"[E::hts_idx_push] {exc.message}\n")
        raise _Fail(f"tbx_index_build failed: {fname}\n") from None
    for w in warnings:
        err.write(_parse_warning(conf, w))
    try:
        (write_csi if min_shift else write_tbi)(index, idx_fname)
    except OSError:
        raise _Fail(f"tbx_index_build failed: {fname}\n") from None
    return 0


def _parse_warning(conf, line: str) -> str:
    kind = {1: "TBX_SAM", 2: "TBX_VCF"}.get(conf.kind, "TBX_GENERIC")
    return f'[E::get_intv] Failed to parse {kind}, was wrong -p [type] used?\nThe offending line was: "{line}"\n'


def _open(fname):
    from ..core.formats.interval.tabix_file import TabixFile

    if not os.path.exists(fname):
        raise _Fail(f'Could not open "{fname}": No such file or directory\n')
    try:
        return TabixFile(fname)
    except HtsError as exc:
        raise _Fail(f"Could not load .tbi/.csi index of {fname}: {exc.message}\n") from None


def _list_chroms(fname, out) -> int:
    tf = _open(fname)
    with tf:
        for name in tf.contigs:
            out.write(name.encode("utf-8", "surrogateescape") + b"\n")
    return 0


def _parse_regions(regions_fname, argv_regions) -> list[str]:
    regs = []
    if regions_fname:
        regs = _read_regions_file(regions_fname)
    if not regs and not argv_regions:
        return ["."]
    return regs + list(argv_regions)


def _read_regions_file(path) -> list[str]:
    """Regions of a ``-R`` file as htslib's regidx lists them: ``seq:beg-end`` 1-based, grouped by sequence."""
    import gzip

    is_bed = path.lower().endswith((".bed", ".bed.gz"))
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        raise _Fail(f'Could not build region list for "{path}": {exc.strerror}\n') from None
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    seqs: dict[str, list] = {}
    for line in raw.decode("utf-8", "surrogateescape").splitlines():
        if not line or line.startswith("#"):
            continue
        cols = line.split("\t")
        if len(cols) < 2:
            raise _Fail(f'Could not build region list for "{path}"\n')
        try:
            beg = int(cols[1])
            end = int(cols[2]) if len(cols) > 2 and cols[2] else None
        except ValueError:
            raise _Fail(f'Could not build region list for "{path}"\n') from None
        if is_bed:
            end = beg + 1 if end is None else end
            beg, end = beg, end - 1  # 0-based closed
        else:
            end = beg if end is None else end
            beg, end = beg - 1, end - 1
        seqs.setdefault(cols[0], []).append((beg, end))
    out = []
    for name, lst in seqs.items():
        for beg, end in sorted(lst):
            out.append(f"{name}:{beg + 1}-{end + 1}")
    return out


def _parse_region(text: str, name2id):
    """htslib ``hts_parse_region`` (thousands separators allowed) -> (tid, beg, end) or None."""
    if text.startswith("{"):
        close = text.find("}")
        if close < 0:
            return None
        name = text[1:close]
        rest = text[close + 1:]
        if not rest:
            tid = name2id(name)
            return (tid, 0, HTS_POS_MAX) if tid >= 0 else None
        if not rest.startswith(":"):
            return None
        coords = rest[1:]
    else:
        colon = text.rfind(":")
        if colon < 0:
            tid = name2id(text)
            return (tid, 0, HTS_POS_MAX) if tid >= 0 else None
        tid = name2id(text)
        if tid >= 0:
            if name2id(text[:colon]) >= 0:
                return None  # ambiguous
            return tid, 0, HTS_POS_MAX
        name, coords = text[:colon], text[colon + 1:]
    tid = name2id(name)
    if tid < 0:
        return None
    beg, rest = _parse_decimal(coords)
    beg -= 1
    if beg < 0:
        if beg != -1 and rest[:1] == "-" and coords:
            return None
        if rest[:1].isdigit() or rest == "" or rest[:1] == ",":
            end = HTS_POS_MAX if beg == -1 else -(beg + 1)
            return tid, 0, end
        if beg < -1:
            return None
    if rest == "":
        end = HTS_POS_MAX
    elif rest[:1] == "-":
        end, rest2 = _parse_decimal(rest[1:])
        if rest2 not in ("",) and not rest2.startswith(","):
            return None
    else:
        return None
    if end == 0:
        end = HTS_POS_MAX
    if beg >= end:
        return None
    return tid, beg, end


def _parse_decimal(s: str) -> tuple[int, str]:
    """``hts_parse_decimal`` with thousands separators: leading integer (k/M/G suffix) and the rest."""
    i = 0
    n = len(s)
    while i < n and s[i] == " ":
        i += 1
    sign = 1
    if i < n and s[i] in "+-":
        sign = -1 if s[i] == "-" else 1
        i += 1
    digits = ""
    while i < n and (s[i].isdigit() or (s[i] == "," and digits)):
        if s[i] != ",":
            digits += s[i]
        i += 1
    frac = ""
    if i < n and s[i] == ".":
        j = i + 1
        while j < n and s[j].isdigit():
            frac += s[j]
            j += 1
        i = j
    mult = 1
    if i < n and s[i] in "kKmMgG":
        mult = {"k": 10**3, "m": 10**6, "g": 10**9}[s[i].lower()]
        i += 1
    if not digits and not frac:
        return 0, s
    from fractions import Fraction

    v = int(Fraction(f"{digits or 0}.{frac or 0}") * mult)
    return sign * v, s[i:]


def _query(fname, conf, regs, print_header, header_only, separate, out) -> int:
    tf = _open(fname)
    with tf:
        if print_header:
            for line in tf.header_lines:
                out.write(line.encode("utf-8", "surrogateescape") + b"\n")
        if header_only:
            return 0
        try:
            for reg in regs:
                if reg == ".":
                    recs = tf.iter_all(pseudo_bins_only=True)
                else:
                    parsed = _parse_region(reg, tf.name2id)
                    if parsed is None:
                        continue
                    recs = tf.iter_query(*parsed)
                found = False
                for rec in recs:
                    if not found:
                        if separate:
                            out.write(bytes([conf.meta_char & 0xFF]) + reg.encode() + b"\n")
                        found = True
                    out.write(rec[0] + b"\n")
        except HtsError as exc:
            raise _Fail(f'Reading "{fname}" failed: {exc.message}\n') from None
    return 0
