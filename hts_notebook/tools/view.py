"""``view``: print or convert alignments, byte-identical to ``samtools view`` 1.16.

Usage: ``view [options] <in.bam>|<in.sam> [region ...]``

Supported options (samtools spellings, bundling and long forms included):

====================  ===========================================================
``-h``                header and records (``--with-header``)
``-H``                header only (``--header-only``); ``--no-header`` undoes both
``-c``                print the number of selected records (``--count``)
``-f INT``            keep records with all these FLAG bits (``--require-flags``)
``-F INT``            drop records with any of these bits (``--excl-flags``)
``-G INT``            drop records with all of these bits
``--rf INT``          keep records with any of these bits (``--incl-flags``)
``-q INT``            minimum MAPQ (``--min-MQ``)
``-m INT``            minimum query length (CIGAR M/I/S/=/X/H)
``-b``                BAM output (``--bam``); ``-O bam``/``-O sam`` also
``-u``, ``-1``        uncompressed / fast BAM (BAM unless ``-o x.sam``)
``-o FILE``           output file; ``x.bam`` means BAM as in samtools
``-M``                regions through one iterator: each record once, file order
``--no-PG``           do not add the ``@PG`` line
``-@ INT``, ``-S``    accepted and ignored
====================  ===========================================================

FLAG arguments are decimal, ``0x`` hex, ``0`` octal or names
(``PAIRED,UNMAP``), as samtools' ``bam_str2flag``.

Regions (BAM with ``.bai``/``.csi`` only) are printed one after the other,
so a record overlapping two regions is printed twice (samtools 1.16 without
``-M``).  An invalid region or unknown contig prints samtools' warning
``[main_samview] region "X" specifies an invalid region or unknown
reference. Continue anyway.`` and is skipped (exit status 0); ``*`` selects
the unplaced reads and ``.`` every record.  Regions on SAM input fail like
samtools (exit 1, after the header when ``-h``).

The ``@PG`` line
----------------
Unless ``--no-PG`` (or ``-c``), the header gets a ``@PG`` line exactly as
samtools' ``sam_hdr_add_pg`` writes it, and -- as in samtools -- it is added
even when the header is not printed, so a header htslib cannot parse fails the
command the same way:

* ``ID:samtools``; when that ID is taken, ``samtools.1``, ``samtools.2``, ...
  (one counter per header, the first free value);
* ``PN:samtools``, then ``PP:`` naming the end of each existing ``@PG``
  chain: every ``@PG`` line that is no other line's ``PP`` and is itself
  linked by ``PP``; if no line has a ``PP`` link, only the last ``@PG``
  line.  One new line is added per chain end (no ``PP`` without ``@PG``);
* ``VN:1.16.1`` and ``CL:samtools view`` followed by the arguments joined by
  single spaces *after* GNU getopt's permutation (options first, then the
  input file and regions), tabs replaced by spaces;
* inserted after the last ``@PG`` line, or at the end of the header.

Adding a line makes htslib rebuild the whole header text, so then ``@HD``
moves to the top, a bare ``@CO`` line disappears, and for BAM input every
binary reference is given an ``@SQ`` line (its ``LN`` taken from the binary
list, missing ones added after the last ``@SQ``).  Malformed lines
(fields not ``XX:value``, ``@SQ`` without ``SN``/``LN``, a duplicate ``@SQ``,
``@PG`` without ``ID``) make the command fail with "failed to add PG line to
the header", exit 1.
"""
from __future__ import annotations

from typing import BinaryIO, TextIO

import numpy as np

from . import UsageError
from ._args import GLOBAL_LONGOPTS, c_atoi, getopt, open_error_text, parse_flag, print_error

SAMTOOLS_VERSION = "1.16.1"

OPTSTRING = "SbBcCt:h1Ho:O:q:f:F:G:ul:r:T:R:N:d:D:L:s:@:m:x:U:MXe:pP?"

LONGOPTS = {
    **{k: v for k, v in GLOBAL_LONGOPTS.items() if k != "input-fmt"},
    "reference": (True, "T"),
    "add-flags": (True, "add-flags"),
    "bam": (False, "b"),
    "count": (False, "c"),
    "cram": (False, "C"),
    "customised-index": (False, "X"),
    "customized-index": (False, "X"),
    "excl-flags": (True, "F"),
    "exclude-flags": (True, "F"),
    "expr": (True, "e"),
    "expression": (True, "e"),
    "fai-reference": (True, "t"),
    "fast": (False, "1"),
    "fetch-pairs": (False, "P"),
    "header-only": (False, "H"),
    "help": (False, "help"),
    "incl-flags": (True, "rf"),
    "include-flags": (True, "rf"),
    "rf": (True, "rf"),
    "keep-tag": (True, "keep-tag"),
    "library": (True, "l"),
    "min-mapq": (True, "q"),
    "min-MQ": (True, "q"),
    "min-mq": (True, "q"),
    "min-qlen": (True, "m"),
    "no-header": (False, "no-header"),
    "no-PG": (False, "no-PG"),
    "output": (True, "o"),
    "output-unselected": (True, "U"),
    "QNAME-file": (True, "N"),
    "qname-file": (True, "N"),
    "read-group": (True, "r"),
    "read-group-file": (True, "R"),
    "readgroup": (True, "r"),
    "readgroup-file": (True, "R"),
    "region-file": (True, "region-file"),
    "regions-file": (True, "region-file"),
    "remove-B": (False, "B"),
    "remove-flags": (True, "remove-flags"),
    "remove-tag": (True, "x"),
    "require-flags": (True, "f"),
    "subsample": (True, "subsample"),
    "subsample-seed": (True, "subsample-seed"),
    "tag": (True, "d"),
    "tag-file": (True, "D"),
    "target-file": (True, "L"),
    "targets-file": (True, "L"),
    "uncompressed": (False, "u"),
    "unmap": (False, "p"),
    "unoutput": (True, "U"),
    "use-index": (False, "M"),
    "with-header": (False, "h"),
}

#: options samtools has that this implementation does not
_UNSUPPORTED = {"B", "C", "t", "l", "r", "T", "R", "N", "d", "D", "L", "s", "x", "U", "X", "e", "p", "P",
                "add-flags", "keep-tag", "region-file", "remove-flags", "subsample", "subsample-seed",
                "input-fmt-option", "output-fmt-option", "write-index"}

USAGE = (
    "Usage: samtools view [options] <in.bam>|<in.sam>|<in.cram> [region ...]\n"
    "(hts_notebook: -h -H -c -f -F -G --rf -q -m -b -u -1 -o -O -M --no-PG -@)\n"
)

BATCH_SIZE = 1 << 17


class HeaderError(Exception):
    """The header cannot be parsed into records (htslib ``sam_hrecs`` failure)."""


class _Settings:
    def __init__(self):
        self.is_count = False
        self.header = False
        self.header_only = False
        self.flag_on = 0
        self.flag_off = 0
        self.flag_alloff = 0
        self.flag_anyon = 0
        self.min_mapq = 0
        self.min_qlen = 0
        self.out_format = ""   # "" / "b" / "c"
        self.out_fmt_opt = None  # from -O
        self.level = -1
        self.fn_out = None
        self.no_pg = False
        self.multi_region = False


def run(argv: list[str], out: BinaryIO, err: TextIO) -> int:
    from . import vcf_view

    try:  # VCF / BCF input: bcftools view (see hts_notebook.tools.vcf_view)
        vargs = getopt(argv, vcf_view.OPTSTRING, vcf_view.LONGOPTS, tool="view")
        if vargs.operands and vcf_view.is_variant_input(vargs.operands[0]):
            return vcf_view.run(argv, out, err)
    except UsageError:
        pass
    try:
        args = getopt(argv, OPTSTRING, LONGOPTS, tool="view")
    except UsageError as exc:
        print_error(err, "view", str(exc))
        return 1
    s = _Settings()
    for key, val in args.options:
        if key in ("?", "help"):
            out.write(USAGE.encode())
            return 0
        if key in _UNSUPPORTED:
            raise UsageError(f"option {'-' + key if len(key) == 1 else '--' + key} is not supported")
        if key == "c":
            s.is_count = True
        elif key == "h":
            s.header = True
        elif key == "H":
            s.header_only = True
        elif key == "no-header":
            s.header = s.header_only = False
        elif key == "f":
            s.flag_on |= parse_flag(val)
        elif key == "F":
            s.flag_off |= parse_flag(val)
        elif key == "G":
            s.flag_alloff |= parse_flag(val)
        elif key == "rf":
            s.flag_anyon |= parse_flag(val)
        elif key == "q":
            s.min_mapq = c_atoi(val)
        elif key == "m":
            s.min_qlen = c_atoi(val)
        elif key == "b":
            s.out_format = "b"
        elif key == "u":
            s.level = 0
        elif key == "1":
            s.level = 1
        elif key == "o":
            s.fn_out = val
        elif key == "O":
            fmt = val.split(",", 1)[0].lower()
            if fmt not in ("sam", "bam"):
                raise UsageError(f"output format {val!r} is not supported (sam, bam)")
            s.out_fmt_opt = fmt
        elif key == "M":
            s.multi_region = True
        elif key == "no-PG":
            s.no_pg = True
        # "S", "@", "threads", "verbosity": accepted, ignored
    if s.header_only:
        s.header = True
    if not args.operands:
        print_error(err, "view", "No input provided or missing option argument.")
        return 1
    bam_out = _bam_output(s)
    fn_in = args.operands[0]
    regions = args.operands[1:]
    why = open_error_text(fn_in)
    if why is not None:
        print_error(err, "view", f'failed to open "{fn_in}" for reading', why)
        return 1

    from ..core.formats.alignment.reader import AlignmentFile

    af = AlignmentFile(fn_in)
    try:
        return _view(af, fn_in, regions, s, bam_out, args.permuted, out, err)
    finally:
        af.close()


def _bam_output(s: _Settings) -> bool:
    """Whether samtools would write BAM, from -b/-u/-1/-O and the -o file name."""
    ext = ""
    if s.fn_out:
        low = s.fn_out.lower()
        if low.endswith(".bam"):
            ext = "b"
        elif low.endswith(".cram"):
            raise UsageError("CRAM output is not supported")
    mode = ext
    if not s.out_format and s.level >= 0:
        if not (mode or (s.fn_out or "").lower().endswith(".sam")):
            mode = "b"
    elif s.out_format:
        mode = s.out_format
    if s.out_fmt_opt is not None:
        mode = "b" if s.out_fmt_opt == "bam" else ""
    return mode == "b"


def _view(af, fn_in, regions, s: _Settings, bam_out: bool, permuted, out: BinaryIO, err: TextIO) -> int:
    from ..core.formats.alignment.bam import BamWriter
    from ..core.formats.alignment.header import AlignmentHeader
    from ..core.formats.alignment.sam import format_sam_records

    header = af.header
    text = _header_text(header)
    if not s.is_count and not s.no_pg:
        cl = " ".join(["samtools", "view"] + list(permuted)).replace("\t", " ")
        try:
            text = add_pg(text, header.references if af.format == "bam" else None, cl)
        except HeaderError as exc:
            print_error(err, "view", f"failed to add PG line to the header ({exc})")
            return 1
    out_header = AlignmentHeader(text, list(header.references))

    count = 0
    fh = None
    writer = None
    sink = None
    if not s.is_count:
        fh = open(s.fn_out, "wb") if s.fn_out and s.fn_out != "-" else out
        if bam_out:
            level = 6 if s.level < 0 else s.level
            writer = BamWriter(fh, out_header, level=level)
        elif s.header:
            fh.write(text.encode("utf-8", "surrogateescape"))
        sink = writer.write_batch if writer is not None else (lambda b: fh.write(format_sam_records(b, header)))

    def emit(batch) -> None:
        nonlocal count
        keep = _select(batch, s)
        if keep is not None:
            batch = batch.take(keep)
        count += len(batch)
        if sink is not None and len(batch):
            sink(batch)

    rc = 0
    try:
        if not s.header_only:
            if regions or s.multi_region:
                rc = _view_regions(af, fn_in, regions, s, emit, err)
            else:
                for batch in af.iter_batches(BATCH_SIZE):
                    emit(batch)
    finally:
        if writer is not None:
            writer.close()
        if fh is not None and fh is not out:
            fh.close()
        elif fh is not None and hasattr(fh, "flush"):
            fh.flush()
    if s.is_count and rc == 0:
        line = f"{count}\n".encode()
        if s.fn_out and s.fn_out != "-":
            with open(s.fn_out, "wb") as cf:
                cf.write(line)
        else:
            out.write(line)
    return rc


def _view_regions(af, fn_in, regions, s: _Settings, emit, err) -> int:
    from ..core.errors import MissingIndexError, RegionError
    from ..core.region import parse_region

    if af.format != "bam" or not _has_index(af, fn_in):
        print_error(err, "view", "Random alignment retrieval only works for indexed SAM.gz, BAM or CRAM files.")
        return 1
    contigs = af.contigs
    try:
        # htslib looks contig names up in the parsed header: a header it cannot
        # parse makes every named region invalid
        add_pg(_header_text(af.header), af.header.references, "")
        header_ok = True
    except HeaderError:
        header_ok = False
    if s.multi_region:
        if not regions:
            print_error(err, "view", "No regions or BED file have been provided. Aborting.")
            return 1
        valid = []
        for r in regions:
            try:
                if not header_ok:
                    raise RegionError(f"cannot look up {r!r}: header not parseable")
                valid.append(parse_region(r, contigs))
            except RegionError:
                # htslib's multi-region iterator skips unknown contigs with a warning
                err.write(f'[W::hts_itr_regions] Region "{r}" specifies an unknown reference name. Continue anyway\n')
        if valid:
            emit(af.fetch_batches(valid, unique=True))
        return 0
    for r in regions:
        text = r.strip()
        try:
            if text == "*":
                batch = af.fetch_batch("*")
            elif text == ".":
                batch = af.fetch_batch(None)
            elif not header_ok:
                raise RegionError(f"cannot look up {r!r}: header not parseable")
            else:
                batch = af.fetch_batch(parse_region(r, contigs))
        except (RegionError, MissingIndexError):
            err.write(f'[main_samview] region "{r}" specifies an invalid region or unknown reference. Continue anyway.\n')
            continue
        emit(batch)
    return 0


def _has_index(af, fn_in) -> bool:
    if getattr(af, "index", None) is not None:
        return True
    from ..core.index import find_index

    return find_index(fn_in) is not None


def _select(batch, s: _Settings):
    """Boolean mask of records passing the filters (None when no filter applies)."""
    if not (s.min_mapq > 0 or s.flag_on or s.flag_off or s.flag_alloff or s.flag_anyon or s.min_qlen > 0):
        return None
    flag = batch.flag.astype(np.int64)
    keep = batch.mapq.astype(np.int64) >= s.min_mapq
    keep &= (flag & s.flag_on) == s.flag_on
    keep &= (flag & s.flag_off) == 0
    if s.flag_alloff:
        keep &= (flag & s.flag_alloff) != s.flag_alloff
    if s.flag_anyon:
        keep &= (flag & s.flag_anyon) != 0
    if s.min_qlen > 0:
        ops = batch.cigar
        op = ops & 15
        # query-consuming ops (M I S = X) and hard clips count, as samtools -m
        counted = np.isin(op, (0, 1, 4, 5, 7, 8))
        lens = np.where(counted, ops >> 4, 0).astype(np.int64)
        csum = np.concatenate([[0], np.cumsum(lens)])
        qlen = csum[batch.cigar_offsets[1:]] - csum[batch.cigar_offsets[:-1]]
        keep &= qlen >= s.min_qlen
    return keep


# ---------------------------------------------------------------- header text
def _header_text(header) -> str:
    """Header text as htslib keeps it: newline-terminated, @SQ from the binary list when absent."""
    text = header.text
    if text and not text.endswith("\n"):
        text += "\n"
    if header.references and not any(ln.startswith("@SQ\t") for ln in text.split("\n")):
        text += "".join(f"@SQ\tSN:{nm}\tLN:{ln}\n" for nm, ln in header.references)
    return text


def _tags(line: str) -> list[list[str]]:
    return [[f[:2], f[3:]] for f in line[4:].split("\t")]


def add_pg(text: str, references, cl: str, *, program: str = "samtools", version: str = SAMTOOLS_VERSION) -> str:
    """Header text with samtools' ``@PG`` line(s) added (see the module docstring).

    Parameters
    ----------
    text : str
        Header text, newline-terminated lines.
    references : list of (name, length) or None
        BAM binary reference list to reconcile ``@SQ`` lines with; ``None``
        for SAM input.
    cl : str
        Command line for ``CL:``.

    Raises
    ------
    HeaderError
        A line htslib would refuse.
    """
    lines = []  # [type, tags or comment]
    for lno, line in enumerate(text.split("\n"), 1):
        if not line:
            continue
        if len(line) < 3 or line[0] != "@":
            raise HeaderError(f"header line {lno} does not start with @XX")
        kind = line[1:3]
        if kind == "CO":
            if len(line) > 3:
                if line[3] != "\t":
                    raise HeaderError(f"missing tab at line {lno}")
                lines.append([kind, line[4:]])
            continue
        if len(line) == 3:
            lines.append([kind, []])
            continue
        if line[3] != "\t":
            raise HeaderError(f"missing tab at line {lno}")
        tags = _tags(line)
        for f in line[4:].split("\t"):
            if len(f) < 3 or f[2] != ":":
                raise HeaderError(f"malformed key:value pair at line {lno}")
        lines.append([kind, tags])

    def get(tags, key):
        for k, v in tags:
            if k == key:
                return v
        return None

    sq_names = {}
    for kind, tags in lines:
        if kind == "SQ":
            sn, ln = get(tags, "SN"), get(tags, "LN")
            if sn is None:
                raise HeaderError("@SQ line without SN tag")
            if ln is None:
                raise HeaderError(f'@SQ line "{sn}" without LN tag')
            if sn in sq_names:
                raise HeaderError(f'duplicate @SQ entry "{sn}"')
            sq_names[sn] = tags
        elif kind == "PG" and get(tags, "ID") is None:
            raise HeaderError("@PG line without ID tag")
    # @HD first
    hd = [ln for ln in lines if ln[0] == "HD"]
    if hd:
        lines = hd[:1] + [ln for ln in lines if ln is not hd[0]]
    # BAM: the binary reference list wins over @SQ text
    if references is not None:
        for name, length in references:
            tags = sq_names.get(name)
            if tags is not None:
                for t in tags:
                    if t[0] == "LN":
                        t[1] = str(length)
                        break
                continue
            new = ["SQ", [["SN", name], ["LN", str(length)]]]
            last_sq = max((i for i, ln in enumerate(lines) if ln[0] == "SQ"), default=None)
            if last_sq is None:
                lines.append(new)
            else:
                lines.insert(last_sq + 1, new)
            sq_names[name] = new[1]
    # chain ends of the @PG graph (htslib sam_hdr_link_pg)
    pgs = [tags for kind, tags in lines if kind == "PG"]
    ids = {}
    for i, tags in enumerate(pgs):
        ids.setdefault(get(tags, "ID"), i)
    is_end = [True] * len(pgs)
    chain = [0] * len(pgs)
    for i, tags in enumerate(pgs):
        pp = get(tags, "PP")
        if pp is None or pp not in ids or ids[pp] == i:
            continue
        j = ids[pp]
        is_end[j] = False
        chain[i] = chain[j] + 1
    ends = [i for i in range(len(pgs)) if is_end[i] and chain[i] > 0]
    if not ends and pgs:
        ends = [max(i for i in range(len(pgs)) if is_end[i])] if any(is_end) else []
    taken = set(ids)
    counter = 1

    def next_id() -> str:
        nonlocal counter
        if program not in taken:
            return program
        while True:
            cand = f"{program}.{counter}"
            counter += 1
            if cand not in taken:
                return cand

    new_lines = []
    targets = [get(pgs[i], "ID") for i in ends] or [None]
    for pp in targets:
        pid = next_id()
        taken.add(pid)
        tags = [["ID", pid], ["PN", program]]
        if pp is not None:
            tags.append(["PP", pp])
        tags += [["VN", version], ["CL", cl]]
        new_lines.append(["PG", tags])
    last_pg = max((i for i, ln in enumerate(lines) if ln[0] == "PG"), default=None)
    if last_pg is None:
        lines.extend(new_lines)
    else:
        lines[last_pg + 1:last_pg + 1] = new_lines
    outl = []
    for kind, body in lines:
        if kind == "CO":
            outl.append(f"@CO\t{body}")
        elif not body:
            outl.append(f"@{kind}")
        else:
            outl.append(f"@{kind}\t" + "\t".join(f"{k}:{v}" for k, v in body))
    return "".join(ln + "\n" for ln in outl)
