"""``AlignmentFile``: one reader for SAM and BAM, whole-file or by region.

Whole-file scans inflate large BGZF ranges at once (blocks inflated in
parallel threads) and decode their records in bulk; records that straddle a
range boundary are carried over to the next range.  Region queries go through
the BAI/CSI index (SAMv1 §5) and return exactly what htslib/pysam ``fetch``
returns: every record on the contig with ``pos < stop`` and ``end > start``
(unmapped reads placed on the contig count as covering ``[pos, pos + 1)``).
"""
from __future__ import annotations


import os
from typing import Iterable, Iterator

import numpy as np

from ...bgzf import BgzfReader, RecordStream, split_voffset
from ...errors import FormatError, MissingIndexError
from ...filecache import IdentityCache, file_identity
from ...region import MAX_POSITION, Region, parse_region
from ...source import sniff_format
from .bam import decode_records, read_bam_header
from .bam_starts import find_record_starts
from .batch import AlignmentBatch
from .header import AlignmentHeader

__all__ = ["AlignmentFile"]

_BAM_FORMATS = ("bam", "bgzf:bam")
#: header text, reference list and first-record offset of BAM files opened before
_BAM_HEADERS = IdentityCache(32)
_SAM_FORMATS = ("sam", "bgzf:sam", "gzip:sam")
#: compressed bytes inflated per step of a whole-file scan
SCAN_CHUNK = 16 << 20


def _bam_record_size(head: bytes) -> int | None:
    """Total bytes of the BAM record whose ``block_size`` field is ``head`` (None below the minimum)."""
    bs = int.from_bytes(head, "little", signed=True)
    return None if bs < 32 else 4 + bs


class AlignmentFile:
    """A SAM or BAM file.

    Parameters
    ----------
    path : str or os.PathLike
        BAM (BGZF), or SAM (plain, gzip or BGZF).
    index : str, optional
        BAI or CSI path; by default looked for next to the file
        (``x.bam.csi``, ``x.csi``, ``x.bam.bai``, ``x.bai``, htslib's order).
    reference : str, optional
        Reference FASTA (kept for CRAM and mismatch colouring; unused here).
    strict : bool
        SAM only: reject every SAMv1 violation instead of htslib's repairs.

    Attributes
    ----------
    path : str
    format : {"bam", "sam"}
    header : AlignmentHeader
    contigs : dict of str to int
        Reference name -> length, in header order.

    Raises
    ------
    FormatError
        Not SAM or BAM, or a malformed header.
    TruncatedFileError
        BAM without BGZF EOF marker, or a header cut short.

    Examples
    --------
    >>> with AlignmentFile("x.bam") as f:              # doctest: +SKIP
    ...     batch = f.fetch_batch("chr1:1,000-2,000")   # 1-based closed
    ...     ds = f.query("chr1:1,000-2,000")            # xarray.Dataset
    """

    def __init__(self, path, *, index=None, reference=None, strict: bool = False):
        self.path = os.fspath(path)
        self.reference = reference
        self.strict = strict
        self._index_path = None if index is None else os.fspath(index)
        self._index = None
        self._bgzf: BgzfReader | None = None
        self._sam_batch: AlignmentBatch | None = None
        identity = file_identity(self.path)
        seen = _BAM_HEADERS.get(identity)  # this very file was opened before: its header is known
        fmt = "bgzf:bam" if seen is not None else sniff_format(self.path)
        if fmt in _BAM_FORMATS:
            if fmt == "bam":
                raise FormatError("uncompressed BAM (no BGZF) is not supported", path=self.path, offset=0, field="magic")
            self.format = "bam"
            self._bgzf = BgzfReader(self.path)
            if seen is None:
                header, self._first_voffset = read_bam_header(self._bgzf)
                _BAM_HEADERS.put(identity, (header.text, tuple(header.references), self._first_voffset))
            else:
                text, refs, self._first_voffset = seen
                header = AlignmentHeader(text, list(refs))
            self.header = header
        elif fmt in _SAM_FORMATS or (fmt in ("text", None) and self.path.lower().endswith((".sam", ".sam.gz"))):
            from .sam import read_sam

            self.format = "sam"
            self.header, self._sam_batch = read_sam(self.path, strict=strict)
        else:
            raise FormatError(f"not a SAM or BAM file (sniffed {fmt or 'unknown'})", path=self.path, offset=0,
                              field="magic")

    # -- basics ------------------------------------------------------------
    @property
    def contigs(self) -> dict:
        """Reference name -> length, in header order."""
        return self.header.contigs

    def close(self) -> None:
        """Release the file handle."""
        if self._bgzf is not None:
            self._bgzf.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self) -> str:
        return f"AlignmentFile({self.path!r}, format={self.format!r}, contigs={len(self.contigs)})"

    # -- whole file ----------------------------------------------------------
    def _scan(self, batch_size: int, chunk_bytes: int | None = None, with_offsets: bool = False):
        """Yield ``(batch, voff_begin, voff_end)`` for the whole BAM, in file order.

        Chunks come from :class:`~hts_notebook.core.bgzf.RecordStream` (next
        range inflated in the background, records never split); record starts
        of a chunk are found once (:func:`find_record_starts`) and decoded in
        slices of ``batch_size``.
        """
        n_ref = len(self.header.references)
        rec_no = 0
        stream = RecordStream(self._bgzf, self._first_voffset, head_size=4, record_size=_bam_record_size,
                              chunk_bytes=chunk_bytes or SCAN_CHUNK)
        for chunk in stream:
            data, voffsets = chunk.data, chunk.voffsets
            all_starts, all_consumed = find_record_starts(data, chunk.start, len(data), n_ref=n_ref)
            k = 0
            while True:
                piece = all_starts[k: k + batch_size]
                last = k + batch_size >= len(all_starts)
                given = (piece, all_consumed if last else int(all_starts[k + batch_size]))
                batch, starts, consumed = decode_records(
                    data, chunk.start, path=self.path, voffset_of=chunk.voffset, final=chunk.final and last,
                    n_ref=n_ref, first_record=rec_no, max_records=batch_size, record_starts=given,
                )
                k += batch_size
                rec_no += len(batch)
                if len(batch):
                    if with_offsets:
                        ends = np.empty_like(starts)
                        ends[:-1] = starts[1:]
                        ends[-1] = consumed
                        yield batch, voffsets(starts), voffsets(ends)
                    else:
                        yield batch, None, None
                if last:
                    chunk.consumed = consumed
                    break

    def iter_batches(self, batch_size: int = 100_000) -> Iterator[AlignmentBatch]:
        """Stream the whole file in file order, at most ``batch_size`` records per batch.

        Memory stays bounded by ``batch_size`` records plus one inflated range
        (about 16 MiB compressed).  Unmapped reads are included.

        Yields
        ------
        AlignmentBatch
        """
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        if self.format == "sam":
            b = self._sam_batch
            for i in range(0, len(b), batch_size):
                yield b.take(np.arange(i, min(i + batch_size, len(b))))
            return
        for batch, _, _ in self._scan(batch_size):
            yield batch

    def iter_batches_with_offsets(self, batch_size: int = 100_000):
        """BAM only: like :meth:`iter_batches`, with each record's virtual offsets.

        Yields
        ------
        batch : AlignmentBatch
        voffset_begin, voffset_end : ndarray of uint64, shape (n,)
            Virtual offset of each record and of the byte just past it (what
            index builders store, SAMv1 §5.1).
        """
        if self.format != "bam":
            raise FormatError("virtual offsets exist only for BGZF BAM", path=self.path, field="format")
        yield from self._scan(batch_size, with_offsets=True)

    # -- regions ---------------------------------------------------------------
    def _load_index(self):
        if self._index is None:
            from ...index import find_index, load_index

            p = self._index_path or find_index(self.path)
            if p is None:
                raise MissingIndexError("region query needs a .bai or .csi index (run samtools index)",
                                        path=self.path, field="index")
            self._index = load_index(p)
        return self._index

    def _resolve(self, region) -> tuple[Region, int]:
        reg = parse_region(region, self.contigs)
        return reg, self.header.ref_id(reg.contig)

    def fetch_batch(self, region=None) -> AlignmentBatch:
        """Records of the whole file, or those overlapping a region.

        Parameters
        ----------
        region : str, Region or tuple, optional
            ``None``: every record in file order, unmapped included.
            ``"chr1:100-200"`` (1-based closed), a :class:`Region` or a
            ``(contig, start, stop)`` tuple (0-based half-open): the records
            htslib/pysam ``fetch`` returns, i.e. on that contig with
            ``pos < stop`` and ``end > start``, in file order; unmapped reads
            placed in the window are included.  ``"*"``: the unplaced reads.

        Returns
        -------
        AlignmentBatch

        Raises
        ------
        RegionError
            Malformed region or unknown contig.
        MissingIndexError
            BAM without a ``.bai``/``.csi`` index.
        """
        if region is None:
            if self.format == "sam":
                return self._sam_batch
            return AlignmentBatch.concat([b for b, _, _ in self._scan(1 << 62)])
        return self._fetch(region)[0]

    def _fetch(self, region) -> tuple[AlignmentBatch, np.ndarray]:
        """Records of one region and a file-order key for each (virtual offset, or row for SAM)."""
        if isinstance(region, str) and region.strip() == "*":
            return self._unplaced()
        reg, rid = self._resolve(region)
        start = reg.start
        stop = MAX_POSITION if reg.stop is None else reg.stop
        if self.format == "sam":
            b = self._sam_batch
            keep = np.flatnonzero((b.ref_id == rid) & (b.pos < stop) & (b.end > start))
            return b.take(keep), keep.astype(np.uint64)
        index = self._load_index()
        parts, keys = [], []
        n_ref = len(self.header.references)
        qstop = min(stop, 1 << 62)
        for beg, end in index.query_chunks(rid, start, qstop):
            batch, voffs = self._read_chunk(beg, end, n_ref)
            keep = (batch.ref_id == rid) & (batch.pos < stop) & (batch.end > start)
            parts.append(batch.take(keep) if not keep.all() else batch)
            keys.append(voffs[keep])
        keys = np.concatenate(keys) if keys else np.zeros(0, dtype=np.uint64)
        return AlignmentBatch.concat(parts), keys

    def _read_chunk(self, beg: int, end: int, n_ref: int) -> tuple[AlignmentBatch, np.ndarray]:
        """Decode the records starting in the virtual-offset chunk ``[beg, end)``.

        Like htslib, reading goes on while a record starts before ``end``, so
        a chunk end that is not at a block start (stale indexes) still works.
        """
        cb, _ = split_voffset(beg)
        ce, _ = split_voffset(end)
        size = self._bgzf.size
        cend = min(size, ce + 1)
        while True:
            rng = self._bgzf.inflate_range(cb, cend, writable=True)
            final = rng.end_coffset >= size
            p0 = rng.position(beg)
            batch, starts, consumed = decode_records(
                rng.data, p0, path=self.path, voffset_of=lambda p, r=rng: int(r.voffsets([p])[0]),
                final=final, n_ref=n_ref)
            voffs = rng.voffsets(starts)
            inside = voffs < np.uint64(end)
            if final or consumed >= len(rng.data) or int(rng.voffsets([consumed])[0]) >= end:
                break
            cend = min(size, max(cend, rng.end_coffset) + (1 << 20))
        if not inside.all():
            batch, voffs = batch.take(inside), voffs[inside]
        return batch, voffs

    def _unplaced(self) -> tuple[AlignmentBatch, np.ndarray]:
        if self.format == "sam":
            b = self._sam_batch
            keep = np.flatnonzero(b.ref_id < 0)
            return b.take(keep), keep.astype(np.uint64)
        parts, keys = [], []
        for b, vb, _ in self._scan(1 << 20, with_offsets=True):
            keep = b.ref_id < 0
            parts.append(b.take(keep))
            keys.append(vb[keep])
        keys = np.concatenate(keys) if keys else np.zeros(0, dtype=np.uint64)
        return AlignmentBatch.concat(parts), keys

    def fetch_batches(self, regions: Iterable, *, unique: bool = False) -> AlignmentBatch:
        """Records of several regions.

        Parameters
        ----------
        regions : iterable of region strings / Regions / tuples
        unique : bool
            ``False`` (``samtools view FILE r1 r2``): each region's records in
            turn, so a record overlapping two regions appears twice.
            ``True`` (``samtools view -M``): each record once, in file order.

        Returns
        -------
        AlignmentBatch
        """
        regions = list(regions)
        if not unique:
            return AlignmentBatch.concat([self.fetch_batch(r) for r in regions])
        # -M: union of the windows, each record once, in file order
        parts, keys = zip(*[self._fetch(r) for r in regions]) if regions else ((), ())
        allb = AlignmentBatch.concat(list(parts))
        if not len(allb):
            return allb
        keys = np.concatenate(keys)
        _, first = np.unique(keys, return_index=True)  # sorted by key = file order
        return allb.take(first)

    def count(self, region=None) -> int:
        """Number of records in the file or overlapping ``region`` (see :meth:`fetch_batch`)."""
        if region is None and self.format == "bam":
            return sum(len(b) for b, _, _ in self._scan(1 << 20))
        return len(self.fetch_batch(region))

    def query(self, region=None):
        """The records as an ``xarray.Dataset`` (see :func:`hts_notebook.core.dataset.alignment.alignment_dataset`).

        Parameters
        ----------
        region : str, Region or tuple, optional
            As for :meth:`fetch_batch`.

        Returns
        -------
        xarray.Dataset
            Dimension ``alignments``; ``attrs["region"]`` is the normalised
            1-based region string (``""`` for the whole file).
        """
        from ...dataset.alignment import alignment_dataset

        batch = self.fetch_batch(region)
        reg = None
        if region is not None and not (isinstance(region, str) and region.strip() == "*"):
            reg = parse_region(region, self.contigs)
        elif region is not None:
            reg = "*"
        return alignment_dataset(batch, self.header, region=reg, source=self.path)

    # -- pileup / coverage (hts_notebook.core.pileup) ----------------------------
    def pileup(self, region, **kwargs):
        """Per-position base counts; see :func:`hts_notebook.core.pileup.pileup`."""
        from ...pileup import pileup

        return pileup(self, region, **kwargs)

    def coverage(self, region, bins=None, **kwargs):
        """Per-position depth (or binned means); see :func:`hts_notebook.core.pileup.coverage`."""
        from ...pileup import coverage

        return coverage(self, region, bins, **kwargs)
