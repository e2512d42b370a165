"""Command-line parsing shared by the samtools-style tools.

samtools parses its arguments with GNU ``getopt_long``; to be a drop-in
replacement (same accepted spellings, same ``@PG CL:`` text) we reproduce the
parts of its behaviour that are visible to users:

* short options may be bundled (``-hq30``, ``-ho out.sam``); an option that
  takes an argument uses the rest of its token or the next token;
* long options accept ``--name=value`` and ``--name value``, and any
  unambiguous prefix of a name (``--no-P`` for ``--no-PG``);
* options and operands may be mixed; GNU getopt *permutes* ``argv`` so
  that all options come first, operands last, in their original order.  The
  permuted ``argv`` is what samtools writes into the ``@PG CL:`` field, so
  :func:`getopt` returns it too;
* ``--`` ends option processing; ``-`` alone is an operand (stdin).

Numbers are converted like C does (:func:`c_atoi`, :func:`c_strtol`), and flag
arguments like samtools' ``bam_str2flag`` (:func:`parse_flag`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from . import UsageError

__all__ = ["getopt", "ParsedArgs", "c_atoi", "c_strtol", "parse_flag", "FLAG_NAMES"]


@dataclass
class ParsedArgs:
    """Result of :func:`getopt`.

    Attributes
    ----------
    options : list of (str, str or None)
        ``(key, value)`` in command-line order; ``key`` is the short option
        letter or the long option's key (see ``longopts``).
    operands : list of str
        Non-option arguments, in order.
    permuted : list of str
        ``argv`` as GNU getopt leaves it: option tokens first, then operands.
    """

    options: list = field(default_factory=list)
    operands: list = field(default_factory=list)
    permuted: list = field(default_factory=list)

    def has(self, key: str) -> bool:
        return any(k == key for k, _ in self.options)

    def last(self, key: str, default=None):
        val = default
        for k, v in self.options:
            if k == key:
                val = v
        return val


def _short_spec(optstring: str) -> dict:
    spec = {}
    i = 0
    while i < len(optstring):
        ch = optstring[i]
        takes = i + 1 < len(optstring) and optstring[i + 1] == ":"
        spec[ch] = takes
        i += 2 if takes else 1
    return spec


def getopt(argv: list[str], optstring: str, longopts: dict | None = None, *, tool: str = "") -> ParsedArgs:
    """Parse ``argv`` like GNU ``getopt_long`` with argument permutation.

    Parameters
    ----------
    argv : list of str
        Arguments after the tool name.
    optstring : str
        Short options, ``:`` after a letter that takes an argument
        (``"hHcbo:q:f:F:"``).
    longopts : dict, optional
        ``name -> (takes_argument, key)``; ``key`` is what appears in
        :attr:`ParsedArgs.options` (often the matching short letter).

    Raises
    ------
    UsageError
        Unknown option, missing argument, ambiguous long-option prefix.
    """
    shorts = _short_spec(optstring)
    longopts = longopts or {}
    res = ParsedArgs()
    opt_tokens: list[str] = []
    operands: list[str] = []
    i = 0
    n = len(argv)
    while i < n:
        tok = argv[i]
        if tok == "--":
            opt_tokens.append(tok)
            operands.extend(argv[i + 1:])
            break
        if tok.startswith("--"):
            body = tok[2:]
            name, eq, value = body.partition("=")
            if name in longopts:
                matches = [name]
            else:
                matches = [k for k in longopts if k.startswith(name)]
                # prefixes naming the same option twice (aliases) are not ambiguous
                if len({longopts[k] for k in matches}) == 1:
                    matches = matches[:1]
            if not matches:
                raise UsageError(f"unrecognised option '{tok}'")
            if len(matches) > 1:
                raise UsageError(f"option '{tok}' is ambiguous")
            takes, key = longopts[matches[0]]
            opt_tokens.append(tok)
            if takes:
                if not eq:
                    if i + 1 >= n:
                        raise UsageError(f"option '--{matches[0]}' requires an argument")
                    i += 1
                    value = argv[i]
                    opt_tokens.append(value)
                res.options.append((key, value))
            else:
                if eq:
                    raise UsageError(f"option '--{matches[0]}' doesn't allow an argument")
                res.options.append((key, None))
            i += 1
            continue
        if tok.startswith("-") and tok != "-":
            opt_tokens.append(tok)
            j = 1
            while j < len(tok):
                ch = tok[j]
                if ch not in shorts:
                    raise UsageError(f"invalid option -- '{ch}'")
                if shorts[ch]:
                    rest = tok[j + 1:]
                    if rest:
                        value = rest
                    else:
                        if i + 1 >= n:
                            raise UsageError(f"option requires an argument -- '{ch}'")
                        i += 1
                        value = argv[i]
                        opt_tokens.append(value)
                    res.options.append((ch, value))
                    break
                res.options.append((ch, None))
                j += 1
            i += 1
            continue
        operands.append(tok)
        i += 1
    res.operands = operands
    res.permuted = opt_tokens + operands
    return res


def c_strtol(text: str, base: int = 10) -> tuple[int, int]:
    """C ``strtol``: ``(value, characters consumed)``; consumed is 0 when no digits.

    Leading white space and a sign are accepted; base 0 recognises ``0x``
    (hex) and a leading ``0`` (octal).  The value saturates at the ``long``
    range like glibc.
    """
    s = text
    i = 0
    while i < len(s) and s[i] in " \t\n\v\f\r":
        i += 1
    neg = False
    if i < len(s) and s[i] in "+-":
        neg = s[i] == "-"
        i += 1
    b = base
    if (b in (0, 16)) and s[i:i + 2].lower() == "0x" and i + 2 < len(s) and s[i + 2] in "0123456789abcdefABCDEF":
        i += 2
        b = 16
    elif b == 0:
        b = 8 if s[i:i + 1] == "0" else 10
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"[:b]
    j = i
    while j < len(s) and s[j].lower() in digits:
        j += 1
    if j == i:
        # "0x" with no hex digit after it parses as 0 followed by "x"
        return 0, 0
    val = int(s[i:j], b)
    if neg:
        val = -val
    val = max(-(1 << 63), min((1 << 63) - 1, val))
    return val, j


def c_atoi(text: str) -> int:
    """C ``atoi``: leading integer of ``text`` (0 when none), wrapped to ``int``."""
    val, _ = c_strtol(text, 10)
    val &= 0xFFFFFFFF
    return val - (1 << 32) if val >= 1 << 31 else val


#: flag names accepted by samtools (``bam_str2flag``), SAMv1 §1.4.2
FLAG_NAMES = {
    "PAIRED": 0x1, "PROPER_PAIR": 0x2, "UNMAP": 0x4, "MUNMAP": 0x8, "REVERSE": 0x10,
    "MREVERSE": 0x20, "READ1": 0x40, "READ2": 0x80, "SECONDARY": 0x100, "QCFAIL": 0x200,
    "DUP": 0x400, "SUPPLEMENTARY": 0x800,
}


def parse_flag(text: str) -> int:
    """FLAG argument as samtools reads it: a number (decimal, ``0x`` hex, ``0`` octal)
    or comma-separated names (``PAIRED,UNMAP``, case-insensitive).

    Returns -1 (every bit set) for an unrecognised name, which is what
    samtools 1.16 ends up using in that case.
    """
    if not text:
        return 0
    val, used = c_strtol(text, 0)
    if used:
        val &= 0xFFFFFFFF
        return val - (1 << 32) if val >= 1 << 31 else val
    flag = 0
    for name in text.split(","):
        bit = FLAG_NAMES.get(name.upper())
        if bit is None:
            return -1
        flag |= bit
    return flag


#: samtools' "global" long options (``SAM_OPT_GLOBAL_OPTIONS``) that take an argument
GLOBAL_LONGOPTS = {
    "input-fmt": (True, "input-fmt"),
    "input-fmt-option": (True, "input-fmt-option"),
    "output-fmt": (True, "O"),
    "output-fmt-option": (True, "output-fmt-option"),
    "reference": (True, "reference"),
    "threads": (True, "@"),
    "write-index": (False, "write-index"),
    "verbosity": (True, "verbosity"),
}


def print_error(err, tool: str, message: str, errno_text: str | None = None) -> None:
    """One stderr line in samtools' ``print_error`` style: ``samtools TOOL: message[: strerror]``."""
    line = f"samtools {tool}: {message}" if tool else f"samtools: {message}"
    if errno_text:
        line += f": {errno_text}"
    err.write(line + "\n")


def open_error_text(path: str) -> str | None:
    """``strerror`` text for why ``path`` cannot be opened for reading, or None if it can."""
    try:
        with open(path, "rb"):
            return None
    except OSError as exc:
        return exc.strerror or str(exc)
