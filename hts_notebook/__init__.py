"""hts_notebook: high-throughput-sequencing files as xarray datasets in Jupyter.

Importing this package is light: numpy only.  JAX, IPython and anywidget are
imported inside the functions that need them.
"""
from __future__ import annotations

from .core.errors import (
    ChecksumError,
    FormatError,
    HtsError,
    LimitExceededError,
    MissingIndexError,
    RegionError,
    TruncatedFileError,
)
from .core.region import Region, parse_region

__version__ = "0.1.0"

__all__ = [
    "open",
    "open_alignments",
    "open_fasta",
    "HtsError",
    "FormatError",
    "TruncatedFileError",
    "ChecksumError",
    "MissingIndexError",
    "RegionError",
    "LimitExceededError",
    "Region",
    "parse_region",
    "load_ipython_extension",
]


def open(path, *, index=None, reference=None, strict: bool = False):  # noqa: A001 - mirrors builtins.open on purpose
    """Open a sequencing file, sniffing its format from magic bytes.

    Parameters
    ----------
    path : str or os.PathLike
        SAM, BAM, FASTA (plain or BGZF) or FASTQ.
    index : str, optional
        Index path (``.bai``/``.csi``/``.fai``); found next to the file by default.
    reference : str, optional
        Reference FASTA (for CRAM and for mismatch colouring).
    strict : bool
        Reject spec violations (SAMv1) with :class:`FormatError`.

    Returns
    -------
    AlignmentFile, FastaFile or FastqFile

    Raises
    ------
    FormatError
        Unknown or unsupported format.
    """
    from .core.source import sniff_format

    fmt = sniff_format(path)
    if fmt in ("bam", "bgzf:bam", "sam", "gzip:sam", "bgzf:sam"):
        return open_alignments(path, index=index, reference=reference, strict=strict)
    if fmt in ("fasta", "bgzf:fasta", "gzip:fasta"):
        return open_fasta(path, index=index)
    if fmt in ("fastq", "bgzf:fastq", "gzip:fastq"):
        from .core.formats.sequence.fastq import FastqFile

        return FastqFile(path)
    raise FormatError(f"unsupported or unrecognised format ({fmt or 'unknown'})", path=str(path), offset=0, field="magic")


def open_alignments(path, *, index=None, reference=None, strict: bool = False):
    """Open a SAM or BAM file; see :class:`hts_notebook.core.formats.alignment.reader.AlignmentFile`."""
    from .core.formats.alignment.reader import AlignmentFile

    return AlignmentFile(path, index=index, reference=reference, strict=strict)


def open_fasta(path, *, index=None):
    """Open a FASTA file (plain or BGZF); see :class:`hts_notebook.core.formats.sequence.fasta.FastaFile`."""
    from .core.formats.sequence.fasta import FastaFile

    return FastaFile(path, index=index)


def load_ipython_extension(ipython):
    """``%load_ext hts_notebook``: register the ``%hts`` / ``%%hts`` magics."""
    from .magics import load_ipython_extension as _load

    _load(ipython)


def __getattr__(name):
    # lazy submodules: hts_notebook.demo, hts_notebook.tools
    if name in ("demo", "tools"):
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
