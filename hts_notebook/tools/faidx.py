"""``faidx``: index FASTA/FASTQ and print sub-sequences, output identical to ``samtools faidx`` 1.16.

Usage::

    faidx ref.fa                       # write ref.fa.fai (and ref.fa.gzi for BGZF)
    faidx ref.fa chr1:100-200 chr2     # print regions as FASTA, 60 bases a line
    faidx -f reads.fq read7:5-10       # FASTQ records from a FASTQ .fai

Options: ``-o/--output FILE``, ``-n/--length INT``, ``-c/--continue``,
``-r/--region-file FILE``, ``-i/--reverse-complement``, ``--mark-strand
rc|no|sign|custom,POS,NEG``, ``-f/--fastq``, ``--fai-idx FILE``,
``--gzi-idx FILE``, ``-h/--help``.

Regions use samtools' rules (1-based closed, see
:func:`hts_notebook.core.index.fai.parse_fai_region`).  A region naming an
unknown sequence prints its header line, a warning and ``Failed to fetch
sequence`` on stderr, and stops with status 1 (``-c`` carries on, status 0),
as samtools does.
"""
from __future__ import annotations

import os
from typing import BinaryIO, TextIO

from ..core.errors import FormatError, HtsError, RegionError
from . import UsageError

__all__ = ["run"]

DEFAULT_LINE = 60
_INT_MAX = (1 << 31) - 1

_PAIRS = "AT CG BV DH KM RY UA"
_COMP_FROM = bytearray(range(256))
for _pair in _PAIRS.split():
    a, b = ord(_pair[0]), ord(_pair[1])
    for x, y in ((a, b), (a + 32, b + 32)):
        _COMP_FROM[x] = y
        if _pair != "UA":
            _COMP_FROM[y] = x
_COMPLEMENT = bytes(_COMP_FROM)

_SHORT = {"h": False, "o": True, "n": True, "c": False, "r": True, "f": False, "i": False}
_LONG = {
    "output": ("o", True), "help": ("h", False), "length": ("n", True), "continue": ("c", False),
    "region-file": ("r", True), "fastq": ("f", False), "reverse-complement": ("i", False),
    "mark-strand": ("mark-strand", True), "fai-idx": ("fai-idx", True), "gzi-idx": ("gzi-idx", True),
}

_USAGE = """\
Usage: faidx <file.fa|file.fa.gz> [<reg> [...]]
Options:
 -o, --output FILE        write the output to FILE
 -n, --length INT         bases per output line [60]
 -c, --continue           keep going after a region that cannot be fetched
 -r, --region-file FILE   read regions (chr:from-to) from FILE, one a line
 -i, --reverse-complement print the reverse complement
     --mark-strand TYPE   strand tag appended to names: rc (/rc on the
                          reverse strand, default), no, sign ((+)/(-)),
                          or custom,<pos>,<neg>
     --fai-idx FILE       index file name [<file>.fai]
     --gzi-idx FILE       BGZF block index name [<file>.gzi]
 -f, --fastq              the file and index are FASTQ
 -h, --help               show this message
"""


def _getopt(argv):
    """GNU-style option parsing (options may follow operands; ``--`` ends options)."""
    opts, operands = [], []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            operands.extend(argv[i + 1:])
            break
        if arg.startswith("--"):
            key, eq, value = arg[2:].partition("=")
            matches = [k for k in _LONG if k == key] or [k for k in _LONG if k.startswith(key)]
            if len(matches) != 1:
                raise UsageError(f"{'ambiguous' if matches else 'unrecognized'} option '--{key}'")
            code, needs = _LONG[matches[0]]
            if needs and not eq:
                i += 1
                if i >= len(argv):
                    raise UsageError(f"option '--{matches[0]}' requires an argument")
                value = argv[i]
            elif not needs and eq:
                raise UsageError(f"option '--{matches[0]}' doesn't allow an argument")
            opts.append((code, value if needs else None))
        elif arg.startswith("-") and arg != "-":
            j = 1
            while j < len(arg):
                ch = arg[j]
                if ch not in _SHORT:
                    raise UsageError(f"invalid option -- '{ch}'")
                if _SHORT[ch]:
                    value = arg[j + 1:]
                    if not value:
                        i += 1
                        if i >= len(argv):
                            raise UsageError(f"option requires an argument -- '{ch}'")
                        value = argv[i]
                    opts.append((ch, value))
                    break
                opts.append((ch, None))
                j += 1
        else:
            operands.append(arg)
        i += 1
    return opts, operands


def _atoi(text: str) -> int:
    s = text.lstrip(" \t\n\r\f\v")
    sign = 1
    if s[:1] in ("+", "-"):
        sign = -1 if s[0] == "-" else 1
        s = s[1:]
    n = 0
    for ch in s:
        if not ("0" <= ch <= "9"):
            break
        n = n * 10 + ord(ch) - 48
    return sign * n


class _Fetcher:
    """Fetch sequences/qualities with samtools' clipping and diagnostics."""

    def __init__(self, path, fai, text, err):
        self.path, self.fai, self.text, self.err = path, fai, text, err

    def parse(self, name):
        from ..core.index.fai import parse_fai_region

        try:
            return parse_fai_region(name, self.fai.__contains__)
        except RegionError as exc:
            if exc.message.startswith(("Range is ambiguous", "Coordinates must", "Unexpected string", "Mismatching")):
                self.err.write(f"[E::hts_parse_region] {exc.message}\n")
            return None

    def fetch(self, name: str, quality: bool) -> tuple[bytes | None, int]:
        """Return ``(bytes, length)``; length -2 = unknown region, -1 = read error."""
        from ..core.formats.sequence.fasta import read_bases

        parsed = self.parse(name)
        if parsed is None:
            self.err.write(f"[W::fai_get_val] Reference {name} not found in FASTA file, returning empty sequence\n")
            return None, -2
        contig, beg, end = parsed
        entry = self.fai[contig]
        n = entry.length
        if beg < 0 or beg >= n:  # htslib compares unsigned: a negative start clips to the end
            beg = n
        end = min(end, n)
        beg = min(beg, end)
        try:
            data = read_bases(self.text, entry, beg, end, quality=quality).tobytes()
        except HtsError as exc:
            self.err.write(f"[E::fai_retrieve] Failed to retrieve block: {exc}\n")
            return None, -1
        return data, len(data)


def _write_lines(fetcher, out, err, data, name, ignore, width, seq_len) -> bool:
    if seq_len < 0:
        err.write(f"[faidx] Failed to fetch sequence in {name}\n")
        return bool(ignore and seq_len == -2)
    if seq_len == 0:
        err.write(f"[faidx] Zero length sequence: {name}\n")
    else:
        parsed = fetcher.parse(name)
        if parsed is not None and parsed[2] < _INT_MAX and seq_len != parsed[2] - parsed[1]:
            err.write(f"[faidx] Truncated sequence: {name}\n")
    pieces = []
    for i in range(0, seq_len, width):
        pieces.append(data[i: i + width])
        pieces.append(b"\n")
    out.write(b"".join(pieces))
    return True


def _write_region(fetcher, out, err, name, ignore, width, rev, pos_tag, neg_tag, fastq) -> bool:
    seq, n = fetcher.fetch(name, False)
    tag = neg_tag if rev else pos_tag
    out.write((("@" if fastq else ">") + name + tag + "\n").encode("utf-8", "surrogateescape"))
    if rev and n > 0:
        seq = seq[::-1].translate(_COMPLEMENT)
    if not _write_lines(fetcher, out, err, seq, name, ignore, width, n):
        return False
    if fastq:
        out.write(b"+\n")
        qual, n = fetcher.fetch(name, True)
        if rev and n > 0:
            qual = qual[::-1]
        if not _write_lines(fetcher, out, err, qual, name, ignore, width, n):
            return False
    return True


def _build(path, fai_path, gzi_path, err) -> bool:
    from ..core.bgzf import build_gzi, is_bgzf, write_gzi
    from ..core.index.fai import build_fai, write_fai

    try:
        index = build_fai(path)
        if is_bgzf(path):
            write_gzi(gzi_path, build_gzi(path))
        write_fai(index, fai_path)
    except (FormatError, OSError) as exc:
        msg = exc.message if isinstance(exc, HtsError) else f"{exc.filename or path}: {exc.strerror}"
        err.write(f"[E::fai_build_core] {msg}\n")
        return False
    return True


def _fail_index(err, fai_arg, path, gzi_arg, verb):
    text = f"[faidx] Could not {verb} fai index {fai_arg}" if fai_arg else f"[faidx] Could not build fai index {path}.fai"
    err.write(text + (f" or compressed index {gzi_arg}\n" if gzi_arg else "\n"))


def run(argv: list[str], out: BinaryIO, err: TextIO) -> int:
    """Run ``faidx`` (see module docstring); returns the exit status."""
    try:
        opts, operands = _getopt(argv)
    except UsageError as exc:
        err.write(f"faidx: {exc}\n")
        err.write(_USAGE)
        return 1
    width = DEFAULT_LINE
    output = region_file = fai_arg = gzi_arg = None
    ignore = rev = fastq = False
    pos_tag, neg_tag = "", "/rc"
    for code, value in opts:
        if code == "o":
            output = value
        elif code == "n":
            width = _atoi(value)
            if width < 1:
                err.write(f"[faidx] bad line length '{value}', using default:{DEFAULT_LINE}\n")
                width = DEFAULT_LINE
        elif code == "c":
            ignore = True
        elif code == "r":
            region_file = value
        elif code == "f":
            fastq = True
        elif code == "i":
            rev = True
        elif code == "h":
            out.write(_USAGE.encode())
            return 0
        elif code == "mark-strand":
            if value == "no":
                pos_tag = neg_tag = ""
            elif value == "sign":
                pos_tag, neg_tag = "(+)", "(-)"
            elif value == "rc":
                pos_tag, neg_tag = "", "/rc"
            elif value.startswith("custom,"):
                pos_tag, _, neg_tag = value[7:].partition(",")
            else:
                err.write(f'[faidx] Unknown --mark-strand option "{value}"\n')
                err.write(_USAGE)
                return 1
        elif code == "fai-idx":
            fai_arg = value
        elif code == "gzi-idx":
            gzi_arg = value
    if not operands:
        out.write(_USAGE.encode())
        return 0
    path = operands[0]
    regions = operands[1:]
    if not regions and not region_file:
        if output and not fai_arg:
            fai_arg = output
        if not _build(path, fai_arg or path + ".fai", gzi_arg or path + ".gzi", err):
            _fail_index(err, fai_arg, path, gzi_arg, "build")
            return 1
        return 0

    from ..core.bgzf import is_bgzf, read_gzi
    from ..core.formats.sequence.fasta import IndexedText
    from ..core.index.fai import read_fai

    fai_path = fai_arg or path + ".fai"
    gzi_path = gzi_arg or path + ".gzi"
    try:
        if not os.path.exists(path):
            err.write(f"[E::fai_load3_core] Failed to open FASTA file {path}\n")
            _fail_index(err, fai_arg, path, gzi_arg, "load")
            return 1
        bgzf = is_bgzf(path)
        if not os.path.exists(fai_path) or (bgzf and not os.path.exists(gzi_path)):
            if not _build(path, fai_path, gzi_path, err):
                _fail_index(err, fai_arg, path, gzi_arg, "load")
                return 1
        fai = read_fai(fai_path, kind="fastq" if fastq else None)
        if not fastq:
            fai.kind = "fasta"
        text = IndexedText(path, read_gzi(gzi_path) if bgzf else None)
    except HtsError as exc:
        err.write(f"[E::fai_read] {exc}\n")
        _fail_index(err, fai_arg, path, gzi_arg, "load")
        return 1

    close_out = False
    if output is not None:
        if output == path:
            err.write(f"[faidx] Same input/output : {output}\n")
            text.close()
            return 1
        try:
            out = open(output, "wb")
            close_out = True
        except OSError as exc:
            err.write(f'[faidx] Cannot open "{output}" for writing :{exc.strerror}.\n')
            text.close()
            return 1
    fetcher = _Fetcher(path, fai, text, err)
    ok = True
    try:
        if region_file:
            try:
                with open(region_file, "rb") as fh:
                    lines = fh.read().split(b"\n")
            except OSError:
                err.write(f'[faidx] Failed to open "{region_file}" for reading.\n')
                ok = False
                lines = []
            if lines and lines[-1] == b"":
                lines.pop()
            for raw in lines:
                line = raw[:-1] if raw.endswith(b"\r") else raw
                name = line.decode("utf-8", "surrogateescape")
                ok = _write_region(fetcher, out, err, name, ignore, width, rev, pos_tag, neg_tag, fastq)
                if not ok:
                    break
        for name in regions:
            if not ok:
                break
            ok = _write_region(fetcher, out, err, name, ignore, width, rev, pos_tag, neg_tag, fastq)
    finally:
        text.close()
        if close_out:
            out.close()
    return 0 if ok else 1
