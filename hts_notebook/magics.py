"""``%hts`` / ``%%hts``: a thin notebook layer over :mod:`hts_notebook.tools` and the widgets.

Line magic forms::

    %hts <tool> ARGS...              # run a samtools-style tool, print its output exactly
    %hts view FILE REGION            # one file + one region, no flags: a RegionBrowser (BAM/SAM/CRAM,
                                     # VCF/BCF, bgzipped+indexed BED/GFF, bigWig, bigBed)
    %hts view --reference REF.fa FILE REGION   # the same, with mismatch colouring
    %hts view --sam FILE [ARGS...]   # force text output of the view tool
    ds = %hts query FILE [REGION]    # hts_notebook.open(FILE).query(REGION) -> xarray.Dataset

Cell magic::

    %%hts view REGION [--reference REF.fa]
    a.bam
    calls.vcf.gz
    genes.bed.gz
    signal.bw                        # one browser, one track per file

Bad arguments raise :class:`IPython.core.error.UsageError` (shown without a
traceback); a tool's non-zero exit becomes a ``UsageError`` carrying its
stderr.  ``$var`` and ``{expr}`` are expanded by IPython before parsing.
"""
from __future__ import annotations

import os
import shlex
import sys

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class

__all__ = ["HtsMagics", "load_ipython_extension"]

_USAGE = """usage:
  %hts <tool> ARGS...            run a tool ({tools})
  %hts view FILE REGION          region browser (BAM/SAM/CRAM, VCF/BCF, BED/GFF.gz, bigWig, bigBed)
  %hts view --sam FILE ARGS...   SAM text from the view tool
  %hts query FILE [REGION]       xarray.Dataset of the region
  %%hts view REGION              (cell: one file per line, one track each)"""

_ALIGNMENT_FORMATS = {"bam", "sam", "cram", "bgzf:bam", "bgzf:sam", "gzip:sam"}
#: formats that open as browser tracks (bgzipped text also needs a tabix/CSI index)
_TRACK_FORMATS = _ALIGNMENT_FORMATS | {"vcf", "bgzf:vcf", "gzip:vcf", "bcf", "bgzf:bcf", "bigwig", "bigbed"}


def _tools() -> dict:
    from .tools import TOOLS

    return TOOLS


def _split(line: str) -> list[str]:
    try:
        return shlex.split(line, posix=True)
    except ValueError as exc:
        raise UsageError(f"%hts: cannot parse arguments: {exc}") from None


def _is_alignment_file(path: str) -> bool:
    if not os.path.isfile(path):
        return False
    from .core.source import sniff_format

    try:
        return sniff_format(path) in _ALIGNMENT_FORMATS
    except OSError:
        return False


def _is_track_file(path: str) -> bool:
    """A file the region browser draws: alignments, variants, indexed BED/GFF, bigWig, bigBed."""
    if not os.path.isfile(path):
        return False
    from .core.source import sniff_format

    try:
        fmt = sniff_format(path)
    except OSError:
        return False
    if path.lower().endswith((".bed.gz", ".bed.bgz", ".gff.gz", ".gff3.gz", ".gtf.gz", ".bedgraph.gz", ".bdg.gz")):
        from .core.index import find_index

        return fmt.startswith("bgzf") and find_index(path, "tbi") is not None
    if fmt in _TRACK_FORMATS:
        return True
    if fmt in ("bgzf:text", "bgzf:data"):
        from .core.index import find_index

        return find_index(path, "tbi") is not None
    return False


def _take_reference(args: list[str]) -> tuple[list[str], str | None]:
    """Remove ``--reference X`` / ``--reference=X`` / ``-T X`` from args."""
    out, ref, i = [], None, 0
    while i < len(args):
        a = args[i]
        if a in ("--reference", "-T"):
            if i + 1 >= len(args):
                raise UsageError(f"%hts view: {a} needs a FASTA path")
            ref = args[i + 1]
            i += 2
            continue
        if a.startswith("--reference="):
            ref = a.split("=", 1)[1]
        else:
            out.append(a)
        i += 1
    return out, ref


@magics_class
class HtsMagics(Magics):
    """The ``%hts`` line and ``%%hts`` cell magic."""

    @line_cell_magic
    def hts(self, line: str, cell: str | None = None):
        """Run an hts tool, open a region browser, or query a file; see the module docstring."""
        args = _split(line)
        if not args or args[0] in ("-h", "--help", "help"):
            raise UsageError(_USAGE.format(tools=", ".join(sorted(_tools()))))
        name, rest = args[0], args[1:]
        if cell is not None:
            return self._cell(name, rest, cell)
        if name == "query":
            if any(a.startswith("-") for a in rest):  # `query -f FORMAT ...`: the bcftools-style tool
                return self._run("query", rest)
            return self._query(rest)
        if name == "view":
            if "--sam" in rest:
                return self._run("view", [a for a in rest if a != "--sam"])
            browser = self._maybe_browser(rest)
            if browser is not None:
                return browser
        return self._run(name, rest)

    # -- tools ------------------------------------------------------------------
    def _run(self, name: str, argv: list[str]):
        from .tools import run_tool_capture

        if name not in _tools():
            raise UsageError(f"%hts: unknown tool {name!r} (tools: {', '.join(sorted(_tools()))}, query)")
        try:
            rc, out, err = run_tool_capture(name, argv)
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith("hts_notebook.tools."):
                raise UsageError(f"%hts: tool {name!r} is not available in this installation") from None
            raise
        if out:
            try:
                text = out.decode("utf-8")
            except UnicodeDecodeError:
                text = f"<{len(out)} bytes of binary output; write it to a file with -o FILE>\n"
            sys.stdout.write(text)
            sys.stdout.flush()
        if rc != 0:
            raise UsageError(err.strip() or f"{name} exited with status {rc}")
        if err:
            sys.stderr.write(err)
            sys.stderr.flush()
        return None

    # -- widgets ----------------------------------------------------------------
    def _maybe_browser(self, rest: list[str]):
        """``view FILE REGION`` (no other flags, a track file) -> RegionBrowser, else None."""
        try:
            args, ref = _take_reference(rest)
        except UsageError:
            return None
        if len(args) != 2 or any(a.startswith("-") for a in args) or not _is_track_file(args[0]):
            return None
        return self._browser([args[0]], args[1], ref)

    def _browser(self, files: list[str], region: str, reference: str | None):
        from .core.errors import HtsError
        from .widgets.region_browser import RegionBrowser

        for f in files + ([reference] if reference else []):
            if not os.path.exists(f):
                raise UsageError(f"%hts view: no such file: {f}")
        try:
            browser = RegionBrowser(files, region, reference=reference)
        except (HtsError, OSError, TypeError) as exc:
            raise UsageError(f"%hts view: {exc}") from None
        if self.shell is not None and getattr(self.shell, "display_pub", None) is not None:
            browser.show()  # shown even when assigned (`b = %hts view ...`); not shown twice otherwise
        return browser

    def _cell(self, name: str, rest: list[str], cell: str):
        if name != "view":
            raise UsageError("%%hts: only 'view REGION' is a cell magic (one file per line)")
        args, ref = _take_reference(rest)
        if len(args) != 1:
            raise UsageError("%%hts view REGION [--reference REF.fa]: give exactly one region")
        files = [ln.strip() for ln in cell.splitlines() if ln.strip() and not ln.strip().startswith("#")]
        if not files:
            raise UsageError("%%hts view: list one file per line in the cell")
        files = [os.path.expanduser(self.shell.var_expand(f)) if self.shell else f for f in files]
        return self._browser(files, args[0], ref)

    # -- datasets ---------------------------------------------------------------
    def _query(self, rest: list[str]):
        import hts_notebook
        from .core.errors import HtsError

        if len(rest) not in (1, 2) or any(a.startswith("-") for a in rest):
            raise UsageError("usage: %hts query FILE [REGION]")
        path = rest[0]
        if not os.path.exists(path):
            raise UsageError(f"%hts query: no such file: {path}")
        try:
            reader = hts_notebook.open(path)
            if not hasattr(reader, "query"):
                raise UsageError(f"%hts query: {path} cannot be queried (a {type(reader).__name__})")
            return reader.query(rest[1]) if len(rest) == 2 else reader.query()
        except HtsError as exc:
            raise UsageError(f"%hts query: {exc}") from None


def load_ipython_extension(ipython) -> None:
    """Register ``%hts`` / ``%%hts`` (``%load_ext hts_notebook``)."""
    ipython.register_magics(HtsMagics)
