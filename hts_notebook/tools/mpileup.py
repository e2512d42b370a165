"""``mpileup``: text pileup, byte-identical to ``samtools mpileup`` 1.16.

Usage: ``mpileup [options] in1.bam [in2.bam ...]``

Supported options (samtools spellings): ``-f/--fasta-ref`` (also
``--reference``), ``-r/--region``, ``-B/--no-BAQ``, ``-E/--redo-BAQ``,
``-Q/--min-BQ`` (13), ``-q/--min-MQ`` (0), ``-d/--max-depth`` (8000; 0 = no
limit), ``-A/--count-orphans``, ``-x/--ignore-overlaps-removal``,
``--rf``/``--ff`` (required / excluded flags), ``-s/--output-MQ``,
``-O/--output-BP``, ``--output-BP-5``, ``--output-QNAME``, ``-a``/``-aa``,
``--reverse-del``, ``--no-output-ins``, ``--no-output-del``,
``--no-output-ends``, ``-R/--ignore-RG`` (sample count), ``-o/--output``,
``-b/--bam-list``.  BAQ is on by default and needs ``-f``: without a
reference the qualities are printed as stored.

Not supported (usage error): ``-l``, ``-G``, ``-C`` above 0, ``-6``, ``-M``,
``-X``, ``--output-extra``.
"""
from __future__ import annotations

from typing import BinaryIO, TextIO

from . import UsageError
from ._args import GLOBAL_LONGOPTS, c_atoi, getopt, parse_flag

_LONG = dict(GLOBAL_LONGOPTS)
_LONG.update({
    "rf": (True, "rf"), "ff": (True, "ff"), "incl-flags": (True, "rf"), "excl-flags": (True, "ff"),
    "output": (True, "o"), "output-QNAME": (False, "qname"), "output-qname": (False, "qname"),
    "illumina1.3+": (False, "6"), "count-orphans": (False, "A"), "bam-list": (True, "b"),
    "no-BAQ": (False, "B"), "no-baq": (False, "B"), "adjust-MQ": (True, "C"), "adjust-mq": (True, "C"),
    "max-depth": (True, "d"), "redo-BAQ": (False, "E"), "redo-baq": (False, "E"),
    "fasta-ref": (True, "f"), "exclude-RG": (True, "G"), "exclude-rg": (True, "G"),
    "positions": (True, "l"), "region": (True, "r"), "ignore-RG": (False, "R"), "ignore-rg": (False, "R"),
    "min-MQ": (True, "q"), "min-mq": (True, "q"), "min-BQ": (True, "Q"), "min-bq": (True, "Q"),
    "ignore-overlaps-removal": (False, "x"), "disable-overlap-removal": (False, "x"),
    "output-mods": (False, "M"), "output-BP": (False, "O"), "output-bp": (False, "O"),
    "output-BP-5": (False, "bp5"), "output-bp-5": (False, "bp5"), "output-MQ": (False, "s"),
    "output-mq": (False, "s"), "customized-index": (False, "X"), "reverse-del": (False, "revdel"),
    "output-extra": (True, "extra"), "output-sep": (True, "sep"), "output-empty": (True, "empty"),
    "no-output-ins": (False, "noins"), "no-output-ins-mods": (False, "noinsmods"),
    "no-output-del": (False, "nodel"), "no-output-ends": (False, "noends"),
})

USAGE = "Usage: samtools mpileup [options] in1.bam [in2.bam [...]]\n"


def run(argv: list[str], out: BinaryIO, err: TextIO) -> int:
    from ..core.formats.alignment.reader import AlignmentFile
    from ..core.formats.sequence.fasta import FastaFile
    from ..core.mpileup import MpileupOptions, ReferenceCache, accept_reads, count_samples, file_columns, \
        materialise, mpileup_lines, select_reads
    from ..core.region import parse_region

    args = getopt(argv, "Af:r:l:q:Q:RC:Bd:b:o:EG:6OsxXaM", _LONG, tool="mpileup")
    o = MpileupOptions()
    fasta_path = None
    out_path = None
    bam_list = None
    ignore_rg = False
    for k, v in args.options:
        if k == "x":
            o.overlaps = False
        elif k == "rf":
            o.incl_flags = parse_flag(v)
            if o.incl_flags < 0:
                err.write(f"Could not parse --rf {v}\n")
                return 1
        elif k == "ff":
            o.excl_flags = parse_flag(v)
            if o.excl_flags < 0:
                err.write(f"Could not parse --ff {v}\n")
                return 1
        elif k == "o":
            out_path = v
        elif k == "qname":
            o.output_qname = True
        elif k == "revdel":
            o.rev_del = True
        elif k == "noins":
            o.no_ins += 1
        elif k == "nodel":
            o.no_del += 1
        elif k == "noends":
            o.no_ends = True
        elif k == "noinsmods":
            pass
        elif k in ("f", "reference"):
            fasta_path = v
        elif k == "d":
            o.max_depth = c_atoi(v)
        elif k == "r":
            o.region = v
        elif k == "B":
            o.baq = False
        elif k == "E":
            o.redo_baq = True
        elif k == "R":
            ignore_rg = True
        elif k == "s":
            o.output_mapq = True
        elif k == "O":
            o.output_qpos = True
        elif k == "bp5":
            o.output_qpos5 = True
        elif k == "C":
            if c_atoi(v) > 10:
                raise UsageError("-C (adjust MAPQ) is not supported")
        elif k == "q":
            o.min_mapq = c_atoi(v)
        elif k == "Q":
            o.min_baseq = c_atoi(v)
        elif k == "b":
            bam_list = v
        elif k == "A":
            o.count_orphans = True
        elif k == "a":
            o.all += 1
        elif k in ("@", "verbosity", "input-fmt-option", "input-fmt"):
            pass
        else:
            raise UsageError(f"option '{k}' is not supported")
    if not o.baq and o.redo_baq:
        err.write("Error: The -B option cannot be combined with -E\n")
        return 1
    paths = list(args.operands)
    if bam_list is not None:
        paths = []
        with open(bam_list) as fh:
            for line in fh:
                line = line.rstrip()
                if line:
                    paths.append(line)
    if not argv or not paths:
        err.write(USAGE)
        return 1
    fasta = FastaFile(fasta_path) if fasta_path else None
    refs = ReferenceCache(fasta, err)
    from ..core.errors import MissingIndexError, RegionError

    files = []
    for p in paths:
        try:
            af = AlignmentFile(p)
        except OSError as exc:
            err.write(f"[mpileup] failed to open {p}: {exc.strerror or exc}\n")
            return 1
        files.append(af)
        if o.region is not None:
            try:
                af._load_index()
            except MissingIndexError:
                err.write(f"[mpileup] fail to load index for {p}\n")
                return 1
            try:
                parse_region(o.region, af.contigs)
            except RegionError:
                err.write(f"[E::mpileup] fail to parse region '{o.region}' with {p}\n")
                return 1
    h = files[0].header
    names = [n for n, _ in h.references]
    lengths = [ln for _, ln in h.references]
    beg0, end0, tid0 = 0, 1 << 62, 0
    if o.region is not None:
        for p, af in zip(paths, files):
            bad = _malformed_header_line(af.header.text)
            if bad is not None:
                err.write(f'[E::sam_hrecs_error] Malformed key:value pair at line {bad[0]}: "{bad[1]}"\n')
                err.write(f"[E::mpileup] fail to parse region '{o.region}' with {p}\n")
                return 1
        reg = parse_region(o.region, files[0].contigs)
        tid0 = h.ref_id(reg.contig)
        beg0 = reg.start
        end0 = (1 << 62) if reg.stop is None else reg.stop
    err.write(f"[mpileup] {count_samples(paths, [f.header.text for f in files], ignore_rg)} samples in "
              f"{len(files)} input files\n")
    if o.max_depth == 0:
        err.write("[mpileup] Max depth set to maximum value (2147483647)\n")
    elif o.max_depth * len(files) > (1 << 20):
        err.write("[mpileup] Combined max depth is above 1M. Potential memory hog!\n")
    cols = []
    for af in files:
        batch = materialise(af.fetch_batch(o.region) if o.region is not None else af.fetch_batch(None))
        fnames = [n for n, _ in af.header.references]
        idx = select_reads(batch, o, fnames, refs, err)
        pre: dict = {}
        idx = accept_reads(batch, idx, o, pre)
        cols.append(file_columns(batch, idx, o, names, refs, beg0, end0,
                                 h.ref_id(parse_region(o.region, af.contigs).contig) if o.region else None, pre))
    sink = open(out_path, "wb") if out_path else out
    try:
        chunk = []
        size = 0
        for line in mpileup_lines(cols, o, names, lengths, refs, beg0, end0, tid0):
            chunk.append(line)
            size += len(line)
            if size > (1 << 20):
                sink.write(b"".join(chunk))
                chunk, size = [], 0
        sink.write(b"".join(chunk))
    finally:
        if out_path:
            sink.close()
    return 0


def _malformed_header_line(text: str):
    """(line number, line) of the first header line htslib's header parser rejects, or None.

    A region query makes htslib parse the header text into records; a tag that
    is not ``XX:value`` on an ``@HD/@SQ/@RG/@PG`` line fails that parse.
    """
    for n, line in enumerate(text.splitlines(), 1):
        if line[:3] in ("@HD", "@SQ", "@RG", "@PG"):
            for tag in line.split("\t")[1:]:
                if len(tag) < 3 or tag[2] != ":" or not tag[:2].isalnum():
                    return n, line
    return None
