"""samtools-style tools: ``argv -> bytes on stdout``.

Each tool is a module ``hts_notebook.tools.<name>`` exposing
``run(argv: list[str], out: BinaryIO, err: TextIO) -> int`` (exit status).
Tools never call ``sys.exit`` and never print tracebacks for bad input:
an :class:`~hts_notebook.core.errors.HtsError` or a usage error becomes one
line on ``err`` and a non-zero status.  The same tools back the CLI
(``python -m hts_notebook <tool>``, console script ``hts``) and the ``%hts``
magics.
"""
from __future__ import annotations

import importlib
import io
import sys
from typing import BinaryIO, TextIO

__all__ = ["TOOLS", "run_tool", "run_tool_capture", "UsageError"]

#: tool name -> module under hts_notebook.tools
TOOLS = {
    "view": "view",
    "index": "index",
    "faidx": "faidx",
    "flagstat": "flagstat",
    "idxstats": "idxstats",
    "depth": "depth",
    "tabix": "tabix",
    "mpileup": "mpileup",
    "query": "query",
    "call": "call",
}


class UsageError(Exception):
    """Bad command-line arguments (exit status 1, message on stderr)."""


def run_tool(name: str, argv: list[str], out: BinaryIO | None = None, err: TextIO | None = None) -> int:
    """Run tool ``name`` with ``argv``; write its output to ``out`` (bytes) and messages to ``err``.

    Returns
    -------
    int
        Exit status: 0 on success, 1 on usage or input errors.
    """
    from ..core.errors import HtsError

    out = out if out is not None else sys.stdout.buffer
    err = err if err is not None else sys.stderr
    if name not in TOOLS:
        err.write(f"hts: unknown tool '{name}' (tools: {', '.join(sorted(TOOLS))})\n")
        return 1
    module = importlib.import_module(f"{__name__}.{TOOLS[name]}")
    try:
        return int(module.run(list(argv), out, err) or 0)
    except UsageError as exc:
        err.write(f"{name}: {exc}\n")
        return 1
    except HtsError as exc:
        err.write(f"[{name}] error: {exc}\n")
        return 1
    except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        err.write(f"[{name}] error: {exc.filename or ''}: {exc.strerror}\n")
        return 1
    except BrokenPipeError:
        return 1


def run_tool_capture(name: str, argv: list[str]) -> tuple[int, bytes, str]:
    """Run a tool and return ``(status, stdout_bytes, stderr_text)``."""
    out, err = io.BytesIO(), io.StringIO()
    rc = run_tool(name, argv, out, err)
    return rc, out.getvalue(), err.getvalue()
