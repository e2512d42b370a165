"""``idxstats``: per-reference record counts, byte-identical to ``samtools idxstats`` 1.16.

Usage: ``idxstats [-@ INT] <in.bam>|<in.sam>``

Output: one line ``name<TAB>length<TAB>mapped<TAB>unmapped`` per reference in
header order, then ``*<TAB>0<TAB>...`` for records without a reference.

* BAM with an index (``.bai``/``.csi``): counts come from the index
  pseudo-bins, the last line is ``*\\t0\\t0\\t<n_no_coor>``; nothing is decoded.
* BAM without an index: a warning line, then the "slow method" below.
* SAM: the slow method directly: every record is read and counted by
  ``RNAME`` and FLAG 0x4; records without a reference go to the ``*`` line
  split into mapped / unmapped as well.  As in samtools, a file whose
  references are not grouped (a reference reappearing after another one)
  is rejected as "not position sorted".
"""
from __future__ import annotations

from typing import BinaryIO, TextIO

import numpy as np

from ..core.errors import FormatError
from ._args import GLOBAL_LONGOPTS, getopt, open_error_text, print_error

USAGE = (
    "Usage: samtools idxstats [options] <in.bam>\n"
    "      --input-fmt-option OPT[=VAL]\n"
    "               Specify a single input file format option in the form\n"
    "               of OPTION or OPTION=VALUE\n"
    "  -@, --threads INT\n"
    "               Number of additional threads to use [0]\n"
    "      --verbosity INT\n"
    "               Set level of verbosity\n"
)

_LONG = {k: v for k, v in GLOBAL_LONGOPTS.items() if k in ("input-fmt-option", "threads", "verbosity", "write-index")}

BATCH_SIZE = 1 << 18


def run(argv: list[str], out: BinaryIO, err: TextIO) -> int:
    args = getopt(argv, "@:", _LONG, tool="idxstats")
    if len(args.operands) != 1:
        if not args.operands:
            out.write(USAGE.encode())
            return 0
        err.write(USAGE)
        return 1
    path = args.operands[0]
    why = open_error_text(path)
    if why is not None:
        print_error(err, "idxstats", f'failed to open "{path}"', why)
        return 1
    out.write(idxstats_text(path, err).encode())
    return 0


def idxstats_text(path: str, err: TextIO | None = None) -> str:
    """The ``samtools idxstats`` output for ``path`` (warnings go to ``err``)."""
    from ..core.formats.alignment.reader import AlignmentFile

    af = AlignmentFile(path)
    try:
        refs = list(af.header.references)
        if af.format == "bam":
            index = _load_index(path)
            if index is not None:
                stats = index.stats()
                lines = []
                for i, (name, length) in enumerate(refs):
                    mapped, unmapped = stats[i] if i < len(stats) else (0, 0)
                    lines.append(f"{name}\t{length}\t{mapped}\t{unmapped}\n")
                lines.append(f"*\t0\t0\t{int(index.n_no_coor or 0)}\n")
                return "".join(lines)
            if err is not None:
                err.write(f'samtools idxstats: fail to load index for "{path}", reverting to slow method\n')
        counts = _slow_counts(af, len(refs), path)
    finally:
        close = getattr(af, "close", None)
        if close:
            close()
    lines = [f"{name}\t{length}\t{counts[i + 1, 0]}\t{counts[i + 1, 1]}\n" for i, (name, length) in enumerate(refs)]
    lines.append(f"*\t0\t{counts[0, 0]}\t{counts[0, 1]}\n")
    return "".join(lines)


def _load_index(path: str):
    from ..core import index as idx

    try:
        found = idx.find_index(path)
    except FileNotFoundError:
        return None
    if not found:
        return None
    return idx.load_index(found)


def _slow_counts(af, n_ref: int, path: str) -> np.ndarray:
    """``(n_ref + 1, 2)`` mapped/unmapped counts, row 0 for ``*``; checks grouping by reference."""
    counts = np.zeros((n_ref + 1, 2), dtype=np.int64)
    seen = np.zeros(n_ref + 1, dtype=bool)
    last = None
    for batch in af.iter_batches(BATCH_SIZE):
        if not len(batch):
            continue
        tid = batch.ref_id.astype(np.int64)
        if tid.max(initial=-1) >= n_ref or tid.min(initial=0) < -1:
            raise FormatError("reference id out of range", path=path, field="refID")
        # start of each run of equal reference ids (across batch boundaries too)
        change = np.ones(len(tid), dtype=bool)
        change[1:] = tid[1:] != tid[:-1]
        if last is not None and tid[0] == last:
            change[0] = False
        run_tids = tid[change] + 1
        if len(np.unique(run_tids)) != len(run_tids) or seen[run_tids].any():
            raise FormatError("file is not position sorted", path=path, field="refID")
        seen[run_tids] = True
        last = int(tid[-1])
        unmapped = (batch.flag & 0x4) != 0
        np.add.at(counts, (tid + 1, unmapped.astype(np.int64)), 1)
    return counts
