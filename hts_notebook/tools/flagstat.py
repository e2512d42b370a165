"""``flagstat``: FLAG statistics, byte-identical to ``samtools flagstat`` 1.16.

Usage: ``flagstat [-@ INT] [-O default|json|tsv] <in.bam>|<in.sam>``

The counting rules live in :mod:`hts_notebook.core.formats.alignment.flagstat`;
this module handles the command line and output.  ``-@`` is accepted and
ignored (decoding is already batch-vectorised).
"""
from __future__ import annotations

from typing import BinaryIO, TextIO

from ._args import GLOBAL_LONGOPTS, getopt, open_error_text, print_error

USAGE = (
    "Usage: samtools flagstat [options] <in.bam>\n"
    "      --input-fmt-option OPT[=VAL]\n"
    "               Specify a single input file format option in the form\n"
    "               of OPTION or OPTION=VALUE\n"
    "  -@, --threads INT\n"
    "               Number of additional threads to use [0]\n"
    "      --verbosity INT\n"
    "               Set level of verbosity\n"
    "  -O, --output-fmt FORMAT[,OPT[=VAL]]...\n"
    "               Specify output format (json, tsv)\n"
)

_LONG = {k: v for k, v in GLOBAL_LONGOPTS.items() if k in ("input-fmt-option", "output-fmt", "threads", "verbosity", "write-index")}

#: records decoded per batch
BATCH_SIZE = 1 << 18


def run(argv: list[str], out: BinaryIO, err: TextIO) -> int:
    from ..core.formats.alignment.flagstat import format_flagstat

    args = getopt(argv, "@:O:", _LONG, tool="flagstat")
    fmt = args.last("O", "default")
    if len(args.operands) != 1:
        if not args.operands:
            out.write(USAGE.encode())
            return 0
        err.write(USAGE)
        return 1
    path = args.operands[0]
    why = open_error_text(path)
    if why is not None:
        print_error(err, "flagstat", f'Cannot open input file "{path}"', why)
        return 1
    stats = flagstat_file(path)
    out.write(format_flagstat(stats, fmt).encode())
    return 0


def flagstat_file(path: str):
    """:class:`FlagStats` of every record of a SAM/BAM file."""
    from ..core.formats.alignment.flagstat import FlagStats
    from ..core.formats.alignment.reader import AlignmentFile

    stats = FlagStats()
    af = AlignmentFile(path)
    try:
        for batch in af.iter_batches(BATCH_SIZE):
            stats.update(batch)
    finally:
        close = getattr(af, "close", None)
        if close:
            close()
    return stats
