"""``VariantFile``: VCF / BCF files as batches and sgkit-compatible datasets.

Region queries use a TBI or CSI index when one is found (records are read
from the index's BGZF chunks), otherwise the file is scanned and filtered in
memory.  A record overlaps a window when its ``[POS - 1, stop)`` interval
intersects the 0-based half-open window, as htslib decides (``stop`` honours
INFO/END).
"""
from __future__ import annotations

import os

import numpy as np

from ...errors import MissingIndexError, RegionError
from ...region import parse_region
from .batch import VariantBatch, concat

__all__ = ["VariantFile"]


class VariantFile:
    """A VCF (plain, gzip, BGZF) or BCF file.

    Parameters
    ----------
    path : str or os.PathLike
    index : str, optional
        ``.tbi`` or ``.csi`` path; looked for next to the file by default.
    strict : bool
        Reject VCF spec violations (:class:`FormatError`) instead of warning.

    Attributes
    ----------
    header : VariantHeader
    contigs : dict of str to int or None
        Contig names and lengths in header order.
    samples : list of str
    """

    def __init__(self, path, *, index=None, strict: bool = False):
        from ...source import sniff_format

        self.path = os.fspath(path)
        self.strict = strict
        self.format = sniff_format(self.path) or ""
        self.is_bcf = "bcf" in self.format
        self._index_path = index
        self._index = None
        self._index_loaded = False
        if self.is_bcf:
            self.header, self._first_voffset = self._bcf_header()
        else:
            from .vcf import iter_vcf_batches

            it = iter_vcf_batches(self.path, 1, strict=strict, header_only=True)
            self.header = next(it)
            it.close()

    # ------------------------------------------------------------ metadata
    @property
    def contigs(self) -> dict:
        return {c.id: c.length for c in self.header.contigs.values()}

    @property
    def samples(self) -> list[str]:
        return list(self.header.samples)

    def __repr__(self) -> str:
        return f"VariantFile({self.path!r}, {len(self.header.contigs)} contigs, {len(self.samples)} samples)"

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ------------------------------------------------------------ BCF
    def _bcf_header(self):
        from ...bgzf import BgzfReader
        from . import bcf  # written by the BCF codec module

        with BgzfReader(self.path) as r:
            return bcf.read_bcf_header(r)

    def _bcf_batches(self, n: int):
        from . import bcf

        yield from bcf.iter_bcf_batches(self.path, n, header=self.header)

    # ------------------------------------------------------------ reading
    def iter_chunks(self, n: int = 100_000):
        """Yield :class:`VariantBatch` es of at most ``n`` records, in file order (bounded memory)."""
        if self.is_bcf:
            yield from self._bcf_batches(n)
            return
        from .vcf import iter_vcf_batches

        it = iter_vcf_batches(self.path, n, strict=self.strict)
        hdr = next(it)
        for b in it:
            self.header = hdr
            yield b

    def _load_index(self):
        if self._index_loaded:
            return self._index
        self._index_loaded = True
        path = self._index_path
        if path is None:
            for ext in (".tbi", ".csi"):
                if os.path.exists(self.path + ext):
                    path = self.path + ext
                    break
        if path is None:
            return None
        if not os.path.exists(path):
            raise MissingIndexError(f"index {path} not found", path=path)
        if path.endswith(".tbi"):
            try:
                from ...index.tbi import read_tbi
            except ImportError:
                return None
            self._index = read_tbi(path)
        else:
            from ...index.csi import read_csi

            self._index = read_csi(path)
        return self._index

    def _index_ref_id(self, index, contig: str) -> int | None:
        from ...index.tbi import index_sequence_names

        names = index_sequence_names(index)
        if names is not None:
            names = list(names)
            return names.index(contig) if contig in names else None
        # CSI for BCF / VCF without names: contig dictionary order
        d = self.header.contig_dictionary()
        return d.index(contig) if contig in d else None

    def fetch_batch(self, region=None, samples=None) -> VariantBatch:
        """Records overlapping ``region`` (1-based closed string or Region), all records when None.

        Raises
        ------
        RegionError
            Malformed region or unknown contig.
        """
        if region is None:
            batches = list(self.iter_chunks(250_000))
            b = concat(batches) if batches else VariantBatch.empty(list(self.header.filters), self.samples)
        else:
            reg = self._parse_region(region)
            b = None
            index = self._load_index()
            if index is not None and self.is_bcf:
                b = self._fetch_bcf_indexed(index, reg)
            elif index is not None and self.format.startswith("bgzf"):
                b = self._fetch_indexed(index, reg)
            if b is None:
                batches = []
                cid = self.header.contig_index(reg.contig)
                for chunk in self.iter_chunks(250_000):
                    cid = self.header.contig_index(reg.contig)
                    batches.append(chunk.take(self._overlap(chunk, cid, reg)))
                b = concat(batches) if batches else VariantBatch.empty(list(self.header.filters), self.samples)
        b = self._align_filters(b)
        if samples is not None:
            b = b.select_samples(samples)
        return b

    def _parse_region(self, region):
        """Parse with the header contigs; contigs used by records but not declared are allowed."""
        try:
            return parse_region(region, self.contigs)
        except RegionError:
            return parse_region(region)  # htslib also answers (emptily or not) for undeclared contigs

    def _align_filters(self, b: VariantBatch) -> VariantBatch:
        fids = list(self.header.filters)
        if b.filter_ids != fids:
            m = np.zeros((len(b), len(fids)), dtype=bool)
            for j, f in enumerate(b.filter_ids):
                m[:, fids.index(f)] = b.filters[:, j]
            b.filters, b.filter_ids = m, fids
        return b

    @staticmethod
    def _overlap(b: VariantBatch, cid: int, reg) -> np.ndarray:
        stop = reg.stop if reg.stop is not None else np.iinfo(np.int64).max
        start0 = b.position - 1
        end = np.maximum(b.stop, start0 + 1)
        return np.flatnonzero((b.contig == cid) & (start0 < stop) & (end > reg.start))

    def _fetch_bcf_indexed(self, index, reg) -> VariantBatch | None:
        from . import bcf

        if reg.contig not in self.header.contigs:
            return VariantBatch.empty(list(self.header.filters), self.samples)
        stop = reg.stop if reg.stop is not None else (1 << 62)
        try:
            return bcf.query_bcf(self.path, reg.contig, reg.start, min(stop, index.max_position), index=index,
                                 header=self.header)
        except RegionError:
            return None

    def _fetch_indexed(self, index, reg) -> VariantBatch | None:
        from ...bgzf import BgzfReader
        from .vcf import parse_vcf_lines

        rid = self._index_ref_id(index, reg.contig)
        if rid is None:
            return VariantBatch.empty(list(self.header.filters), self.samples)
        stop = reg.stop if reg.stop is not None else (1 << 62)
        try:
            chunks = index.query_chunks(rid, reg.start, min(stop, index.max_position))
        except Exception:  # noqa: BLE001 - index cannot answer (e.g. positions past its range)
            return None
        lines = []
        with BgzfReader(self.path) as r:
            for beg, end in chunks:
                r.seek(beg)
                while r.tell() < end:
                    line = r.readline()
                    if not line:
                        break
                    if not line.startswith(b"#"):
                        lines.append(line)
        if not lines:
            return VariantBatch.empty(list(self.header.filters), self.samples)
        b = parse_vcf_lines(lines, self.header, strict=self.strict, path=self.path, first_lineno=0)
        cid = self.header.contig_index(reg.contig)
        return b.take(self._overlap(b, cid, reg))

    def query(self, region=None, *, samples=None, fields=None):
        """Records overlapping ``region`` as an sgkit / VCF Zarr ``xarray.Dataset``.

        Parameters
        ----------
        region : str or Region, optional
            ``"chr1:100-200"`` (1-based closed) or a Region; all records when None.
        samples : list of str, optional
            Keep these samples, in this order.
        fields : list of str, optional
            INFO/FORMAT IDs to keep (``"INFO/DP"``, ``"FORMAT/AD"``, ``"GT"``).

        Returns
        -------
        xarray.Dataset
            See :func:`hts_notebook.core.dataset.variant.variant_dataset`.
        """
        from ...dataset.variant import variant_dataset

        b = self.fetch_batch(region, samples=samples)
        reg = "" if region is None else str(self._parse_region(region))
        return variant_dataset(b, self.header, region=reg, source=self.path, fields=fields)

    def to_dataset(self, **kw):
        return self.query(None, **kw)
