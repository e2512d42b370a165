"""``RegionBrowser``: an anywidget genome browser for alignments (DESIGN.md §1).

The browser side (``static/region_browser.js``) is a plain ES module drawing on
canvases.  Data never crosses as JSON lists: after a pan or zoom settles the
browser sends ``{"type": "request", "id", "region"}``; Python answers
``{"type": "reply", "id", "region", "contig", "start", "stop", "data_start",
"data_stop", "tracks", "arrays"}`` with the numeric arrays packed into one
binary buffer (``arrays`` gives each one's track, name, dtype, shape, byte
offset).  Errors come back as ``{"type": "error", "id", "message"}``.
"""
from __future__ import annotations

import base64
import os
from pathlib import Path

import anywidget
import numpy as np
import traitlets as t

from ..core.errors import RegionError
from ..core.region import Region, parse_region
from .tracks import alignment_track, reference_track

__all__ = ["RegionBrowser", "BatchReader", "SequenceReader"]

STATIC = Path(__file__).parent / "static"


class BatchReader:
    """An in-memory alignment "file": the reader interface over an :class:`AlignmentBatch`.

    Parameters
    ----------
    batch : AlignmentBatch
        Alignments, any order.
    header : AlignmentHeader
        Reference names and lengths (``batch.ref_id`` indexes them).
    name : str
        Track label.
    """

    def __init__(self, batch, header, name: str = "alignments"):
        self.batch = batch
        self.header = header
        self.name = name

    @property
    def contigs(self) -> dict:
        return dict(self.header.references)

    def fetch_batch(self, region=None):
        """Alignments overlapping ``region`` (str, 1-based closed, or :class:`Region`)."""
        if region is None:
            return self.batch
        r = parse_region(region, self.contigs)
        r = r.resolved(self.contigs[r.contig])
        rid = self.header.ref_id(r.contig)
        b = self.batch
        keep = (b.ref_id == rid) & (b.pos < r.stop) & (b.end > r.start)
        return b.take(np.flatnonzero(keep))


class SequenceReader:
    """An in-memory reference: ``{name: sequence}`` with the FASTA reader interface."""

    def __init__(self, sequences: dict):
        self.sequences = {k: (v.decode() if isinstance(v, bytes) else str(v)) for k, v in sequences.items()}

    @property
    def contigs(self) -> dict:
        return {k: len(v) for k, v in self.sequences.items()}

    def fetch(self, region) -> str:
        r = parse_region(region, self.contigs).resolved(None)
        seq = self.sequences[r.contig]
        return seq[r.start: len(seq) if r.stop is None else r.stop]


def _open(obj, kind: str):
    if isinstance(obj, (str, os.PathLike)):
        import hts_notebook

        return hts_notebook.open(os.fspath(obj))
    need = "fetch_batch" if kind == "alignments" else "fetch"
    if not hasattr(obj, need):
        raise TypeError(f"{kind} source must be a path or have .{need}(region); got {type(obj).__name__}")
    return obj


def _track_name(obj, reader, i: int) -> str:
    if isinstance(obj, (str, os.PathLike)):
        return os.path.basename(os.fspath(obj))
    for attr in ("name", "path", "filename"):
        v = getattr(reader, attr, None)
        if isinstance(v, (str, os.PathLike)) and str(v):
            return os.path.basename(os.fspath(v))
    return f"track{i + 1}"


class RegionBrowser(anywidget.AnyWidget):
    """Interactive coverage + read-stack browser for one or more alignment files.

    Parameters
    ----------
    files_or_readers : path, reader, or list of them
        SAM/BAM paths (opened with :func:`hts_notebook.open`) or objects with
        ``.contigs`` (name -> length) and ``.fetch_batch(region) -> AlignmentBatch``.
        One track per item.
    region : str or Region, optional
        Initial view, 1-based closed (``"chr1:1,000-2,000"``).  Default: the
        first 2 kb of the first contig.
    reference : path or reader, optional
        FASTA path or object with ``.fetch(region) -> str``; shows reference
        bases at base-level zoom and colours mismatching read bases.
    max_depth : int
        Most read rows per track; deeper reads are downsampled (marked in black
        under the coverage).
    max_read_span : int
        Widest view (bases) that still shows individual reads.
    max_span : int
        Widest view (bases) drawn at all; wider views ask to zoom in.

    Attributes
    ----------
    region : str
        Current view, 1-based closed, synced both ways: set it from Python to
        move the browser; pans and zooms in the browser update it.
    tracks : list of dict
        Track metadata (``name``, ``kind``).

    Raises
    ------
    RegionError
        Initial region malformed or naming an unknown contig.
    TypeError
        An item is neither a path nor a reader.
    """

    _esm = STATIC / "region_browser.js"
    _css = STATIC / "region_browser.css"

    region = t.Unicode("").tag(sync=True)
    tracks = t.List(t.Dict()).tag(sync=True)
    contigs = t.Dict().tag(sync=True)
    max_depth = t.Int(100).tag(sync=True)
    max_read_span = t.Int(60_000).tag(sync=True)
    max_span = t.Int(2_000_000).tag(sync=True)
    has_reference = t.Bool(False).tag(sync=True)
    _snapshot = t.Unicode("").tag(sync=True)

    def __init__(self, files_or_readers, region=None, reference=None, max_depth: int = 100,
                 max_read_span: int = 60_000, max_span: int = 2_000_000, **kwargs):
        items = list(files_or_readers) if isinstance(files_or_readers, (list, tuple)) else [files_or_readers]
        if not items:
            raise TypeError("RegionBrowser needs at least one alignment file or reader")
        self._readers = [_open(x, "alignments") for x in items]
        self._reference = _open(reference, "reference") if reference is not None else None
        contigs: dict = {}
        for r in self._readers:
            for name, length in dict(r.contigs).items():
                contigs.setdefault(name, int(length))
        names = [_track_name(x, r, i) for i, (x, r) in enumerate(zip(items, self._readers))]
        self._display_handles: list = []
        self._published = False
        self._shown_in = None
        super().__init__(
            contigs=contigs,
            tracks=[{"name": n, "kind": "alignments"} for n in names],
            max_depth=int(max_depth), max_read_span=int(max_read_span), max_span=int(max_span),
            has_reference=self._reference is not None,
            **kwargs,
        )
        self.region = str(self._resolve(region if region is not None else self._default_region()))
        self.on_msg(self._on_custom_msg)
        self.observe(self._on_snapshot, names="_snapshot")

    # -- regions ----------------------------------------------------------
    def _default_region(self) -> Region:
        if not self.contigs:
            raise RegionError("no contigs to browse", field="contig")
        name, length = next(iter(self.contigs.items()))
        return Region(name, 0, min(int(length), 2000))

    def _resolve(self, region) -> Region:
        r = parse_region(region, self.contigs)
        length = self.contigs[r.contig]
        r = r.resolved(length)
        if r.stop == r.start:  # keep at least one base in view
            r = Region(r.contig, max(0, min(r.start, length - 1)), max(1, min(r.start, length - 1) + 1))
        return r

    @t.validate("region")
    def _validate_region(self, proposal):
        value = proposal["value"]
        if not self.contigs:
            return value
        return str(self._resolve(value))

    # -- data ---------------------------------------------------------------
    def fetch(self, region, pad: float = 0.0) -> tuple[dict, dict]:
        """Compute the reply for a view: JSON metadata and the arrays of every track.

        Parameters
        ----------
        region : str or Region
            View, 1-based closed string or :class:`Region`.
        pad : float
            Extra data fetched on each side, in view widths (for smooth panning).

        Returns
        -------
        meta : dict
            ``region`` (normalised view string), ``contig``, ``start``, ``stop``
            (view, 0-based half-open), ``data_start``, ``data_stop`` (0-based
            window the arrays cover; array positions are relative to
            ``data_start``), ``tracks`` (per-track metadata), ``message``.
        arrays : dict of (track index or "reference", name) -> ndarray
        """
        view = self._resolve(region)
        length = self.contigs[view.contig]
        width = view.stop - view.start
        extra = int(width * max(0.0, float(pad)))
        d0, d1 = max(0, view.start - extra), min(length, view.stop + extra)
        meta = {"region": str(view), "contig": view.contig, "start": view.start, "stop": view.stop,
                "data_start": d0, "data_stop": d1, "tracks": [], "message": ""}
        arrays: dict = {}
        if width > self.max_span:
            meta["message"] = f"zoom in to below {self.max_span:,} bp to see data"
            meta["data_start"] = meta["data_stop"] = view.start
            return meta, arrays
        show_reads = width <= self.max_read_span
        if not show_reads:
            meta["message"] = f"zoom in to below {self.max_read_span:,} bp to see reads"
        fetch_region = str(Region(view.contig, d0, d1))
        ref_seq = None
        if self._reference is not None and show_reads:
            try:
                ref_seq = self._reference.fetch(fetch_region)
            except (KeyError, ValueError):  # contig missing from the FASTA: no mismatches
                ref_seq = None
            if ref_seq is not None:
                arrays[("reference", "reference")] = reference_track(ref_seq)["reference"]
        for i, reader in enumerate(self._readers):
            if view.contig not in reader.contigs:
                meta["tracks"].append({"n_reads": 0, "n_hidden": 0, "n_rows": 0, "coverage_bin": 1,
                                       "coverage_max": 0.0, "show_reads": show_reads})
                continue
            batch = reader.fetch_batch(fetch_region)
            ref_id = None
            header = getattr(reader, "header", None)
            if header is not None and hasattr(header, "ref_id"):
                try:
                    ref_id = header.ref_id(view.contig)
                except KeyError:
                    ref_id = None
            tmeta, tarr = alignment_track(batch, d0, d1, reference=ref_seq, ref_id=ref_id,
                                          max_depth=self.max_depth, show_reads=show_reads)
            meta["tracks"].append(tmeta)
            for name, arr in tarr.items():
                arrays[(i, name)] = arr
        return meta, arrays

    @staticmethod
    def _pack(arrays: dict) -> tuple[list, bytes]:
        """Pack arrays into one little-endian buffer with 8-byte aligned offsets."""
        specs, parts, offset = [], [], 0
        for (track, name), arr in arrays.items():
            a = np.ascontiguousarray(arr)
            if a.dtype.byteorder == ">":
                a = a.astype(a.dtype.newbyteorder("<"))
            raw = a.tobytes()
            specs.append({"track": track, "name": name, "dtype": a.dtype.str.lstrip("<|="),
                          "shape": list(a.shape), "offset": offset, "nbytes": len(raw)})
            pad = (-len(raw)) % 8
            parts.append(raw + b"\0" * pad)
            offset += len(raw) + pad
        return specs, b"".join(parts)

    def _on_custom_msg(self, widget, content, buffers):
        if not isinstance(content, dict) or content.get("type") != "request":
            return
        rid = content.get("id")
        try:
            meta, arrays = self.fetch(content.get("region", ""), pad=float(content.get("pad", 1.0)))
        except (RegionError, ValueError, KeyError) as exc:
            self.send({"type": "error", "id": rid, "message": str(exc)})
            return
        specs, blob = self._pack(arrays)
        meta.update(type="reply", id=rid, arrays=specs)
        self.send(meta, buffers=[memoryview(blob if blob else b"\0")])
        if self.region != meta["region"]:  # after the reply, so the view already shows it
            self.region = meta["region"]

    # -- static image for saved notebooks -----------------------------------
    def _snapshot_png(self) -> bytes | None:
        prefix = "data:image/png;base64,"
        if self._snapshot.startswith(prefix):
            try:
                return base64.b64decode(self._snapshot[len(prefix):])
            except ValueError:
                return None
        return None

    def _repr_mimebundle_(self, **kwargs):
        bundle = super()._repr_mimebundle_(**kwargs)
        if bundle is None:
            return None
        data, metadata = bundle
        if self._snapshot.startswith("data:image/png;base64,"):
            data["image/png"] = self._snapshot[len("data:image/png;base64,"):]
        return data, metadata

    def show(self):
        """Display the browser (same as leaving it as a cell's last expression)."""
        from IPython.display import display

        display(self)

    def _ipython_display_(self, **kwargs):
        """Display through a display handle, so the first drawing can be saved with the output.

        After the browser has drawn, the output is updated once with an
        ``image/png`` fallback: notebooks saved and opened without a kernel
        (nbviewer, GitHub, JupyterLab without the widget state) still show a
        picture of the region.
        """
        from IPython import get_ipython
        from IPython.display import display

        ip = get_ipython()
        count = getattr(ip, "execution_count", None)
        if count is not None and count == self._shown_in:
            return  # already shown by this cell (e.g. by the %hts magic that returned it)
        self._shown_in = count
        bundle = self._repr_mimebundle_()
        if bundle is None:
            return
        data, metadata = bundle
        self._display_handles.append(display(data, metadata=metadata, raw=True, display_id=True))

    def _on_snapshot(self, change):
        if self._published or not change["new"] or not self._display_handles:
            return
        self._published = True
        bundle = self._repr_mimebundle_()
        if bundle is None:
            return
        data, metadata = bundle
        for h in self._display_handles:
            h.update(data, metadata=metadata, raw=True)

    def __repr__(self) -> str:
        return f"RegionBrowser(region={self.region!r}, tracks={[tr['name'] for tr in self.tracks]})"
