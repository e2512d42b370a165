"""``python -m hts_notebook <tool> [args...]`` (also the ``hts`` console script)."""
from __future__ import annotations

import sys

from .tools import TOOLS, run_tool


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help", "help"):
        sys.stderr.write("usage: python -m hts_notebook <tool> [options]\n\ntools: " + " ".join(sorted(TOOLS)) + "\n")
        return 0 if argv else 1
    try:
        return run_tool(argv[0], argv[1:], sys.stdout.buffer, sys.stderr)
    finally:
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            pass


if __name__ == "__main__":
    sys.exit(main())
