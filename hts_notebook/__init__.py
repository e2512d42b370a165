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
from .core.memory import tune_allocator
from .core.region import Region, parse_region

tune_allocator()  # reuse freed temporaries instead of faulting in fresh pages (see core/memory.py)

__version__ = "0.1.0"

__all__ = [
    "open",
    "open_alignments",
    "open_fasta",
    "open_variants",
    "open_bigwig",
    "open_bigbed",
    "open_tracks",
    "open_intervals",
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
        SAM, BAM, FASTA (plain or BGZF), FASTQ, bigWig or bigBed.
    index : str, optional
        Index path (``.bai``/``.csi``/``.fai``); found next to the file by default.
    reference : str, optional
        Reference FASTA (for CRAM and for mismatch colouring).
    strict : bool
        Reject spec violations (SAMv1) with :class:`FormatError`.

    Returns
    -------
    AlignmentFile, FastaFile, FastqFile, BigWigFile or BigBedFile

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
    if fmt in ("vcf", "bgzf:vcf", "gzip:vcf", "bcf", "bgzf:bcf"):
        return open_variants(path, index=index, strict=strict)
    if fmt in ("fastq", "bgzf:fastq", "gzip:fastq"):
        from .core.formats.sequence.fastq import FastqFile

        return FastqFile(path)
    if fmt in ("bgzf:text", "bgzf:data"):
        from .core.index import find_index

        if index is not None or find_index(path, "tbi") is not None:
            return open_intervals(path, index=index)
    if fmt == "bigwig":
        return open_bigwig(path)
    if fmt == "bigbed":
        return open_bigbed(path)
    raise FormatError(f"unsupported or unrecognised format ({fmt or 'unknown'})", path=str(path), offset=0, field="magic")


def open_alignments(path, *, index=None, reference=None, strict: bool = False):
    """Open a SAM or BAM file; see :class:`hts_notebook.core.formats.alignment.reader.AlignmentFile`."""
    from .core.formats.alignment.reader import AlignmentFile

    return AlignmentFile(path, index=index, reference=reference, strict=strict)


def open_variants(path, *, index=None, strict: bool = False):
    """Open a VCF (plain, gzip, BGZF) or BCF file; see :class:`hts_notebook.core.formats.variant.reader.VariantFile`."""
    from .core.formats.variant.reader import VariantFile

    return VariantFile(path, index=index, strict=strict)


def open_fasta(path, *, index=None):
    """Open a FASTA file (plain or BGZF); see :class:`hts_notebook.core.formats.sequence.fasta.FastaFile`."""
    from .core.formats.sequence.fasta import FastaFile

    return FastaFile(path, index=index)


def open_intervals(path, *, index=None):
    """Open a bgzipped, tabix-indexed text file (BED, GFF3, GTF, VCF, TSV).

    Parameters
    ----------
    path : str or os.PathLike
    index : str, optional
        ``.tbi`` or ``.csi``; found next to the file by default.

    Returns
    -------
    hts_notebook.core.formats.interval.TabixFile
        ``.contigs``, ``.header_lines``, ``.fetch(region)`` (raw lines),
        ``.query(region)`` (xarray Dataset on dim ``intervals``, 0-based
        half-open ``interval_start``/``interval_stop``).

    Raises
    ------
    MissingIndexError
        No index.
    FormatError
        Not BGZF or a malformed index.
    """
    from .core.formats.interval import TabixFile

    return TabixFile(path, index=index)


def open_bigwig(path):
    """Open a bigWig file; see :class:`hts_notebook.core.formats.bbi.bigwig.BigWigFile`.

    Returns
    -------
    BigWigFile
        ``.contigs``, ``.header``, ``.zoom_levels``, ``.values(region)``,
        ``.stats(region, type, bins, exact)``, ``.intervals(region)``.

    Raises
    ------
    FormatError
        Not a bigWig, or a malformed header.
    """
    from .core.formats.bbi.bigwig import BigWigFile

    return BigWigFile(path)


def open_bigbed(path):
    """Open a bigBed file; see :class:`hts_notebook.core.formats.bbi.bigbed.BigBedFile`."""
    from .core.formats.bbi.bigbed import BigBedFile

    return BigBedFile(path)


def open_tracks(paths_or_dir, names=None):
    """Open several bigWig files as one track set for batched window queries.

    Parameters
    ----------
    paths_or_dir : path-like or list of path-like
        bigWig files, or a directory whose ``*.bw`` / ``*.bigWig`` /
        ``*.bigwig`` files are taken in name order.
    names : list of str, optional
        Track names (default: file names without extension).

    Returns
    -------
    TrackSet
        ``.windows(contigs, starts, length)`` -> DataArray ``(windows, positions, tracks)``.

    Raises
    ------
    FormatError
        A file is not a bigWig.
    FileNotFoundError
        A path does not exist, or the directory holds no bigWig.
    """
    import os

    from .core.formats.bbi.bigwig import TrackSet

    if isinstance(paths_or_dir, (str, os.PathLike)) and os.path.isdir(paths_or_dir):
        d = os.fspath(paths_or_dir)
        paths = sorted(os.path.join(d, f) for f in os.listdir(d)
                       if f.lower().endswith((".bw", ".bigwig")) and os.path.isfile(os.path.join(d, f)))
        if not paths:
            raise FileNotFoundError(f"no bigWig files in {d}")
    elif isinstance(paths_or_dir, (str, os.PathLike)):
        paths = [paths_or_dir]
    else:
        paths = list(paths_or_dir)
    return TrackSet(paths, names=names)


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
