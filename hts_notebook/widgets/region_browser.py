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
from .feature_tracks import bins_for, read_features, feature_track, signal_track, track_kind, variant_track
from .tracks import alignment_track, reference_track

__all__ = ["RegionBrowser", "BatchReader", "SequenceReader", "UNKNOWN_LENGTH"]

#: contig length used when no track knows it (tabix indexes and some VCF headers carry none)
UNKNOWN_LENGTH = (1 << 31) - 1

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


#: bgzipped text that is opened as an interval (tabix) track whatever its first line looks like
INTERVAL_SUFFIXES = (".bed.gz", ".bed.bgz", ".gff.gz", ".gff3.gz", ".gtf.gz", ".bedgraph.gz", ".bdg.gz")


def open_track(path):
    """Open a file for a browser track: :func:`hts_notebook.open`, except that a bgzipped
    ``.bed/.gff/.gff3/.gtf/.bedgraph`` with a tabix or CSI index always opens as intervals
    (a BED line can look like the start of a SAM record to the sniffer)."""
    import hts_notebook

    path = os.fspath(path)
    if path.lower().endswith(INTERVAL_SUFFIXES):
        from ..core.index import find_index

        if find_index(path, "tbi") is not None:
            return hts_notebook.open_intervals(path)
    return hts_notebook.open(path)


def _open(obj, kind: str):
    if isinstance(obj, (str, os.PathLike)):
        if kind == "tracks":
            return open_track(obj)
        import hts_notebook

        return hts_notebook.open(os.fspath(obj))
    if kind == "tracks":
        track_kind(obj)  # raises TypeError for what cannot be drawn
        return obj
    need = "fetch_batch" if kind == "alignments" else "fetch"
    if not hasattr(obj, need):
        raise TypeError(f"{kind} source must be a path or have .{need}(region); got {type(obj).__name__}")
    return obj


def _reader_contigs(reader) -> dict:
    """name -> length (None when unknown) of any track reader."""
    c = reader.contigs
    if isinstance(c, dict):
        return {str(k): (int(v) if v is not None else None) for k, v in c.items()}
    return {str(k): None for k in c}


def _track_name(obj, reader, i: int) -> str:
    if isinstance(obj, (str, os.PathLike)):
        return os.path.basename(os.fspath(obj))
    for attr in ("name", "path", "filename"):
        v = getattr(reader, attr, None)
        if isinstance(v, (str, os.PathLike)) and str(v):
            return os.path.basename(os.fspath(v))
    return f"track{i + 1}"


class RegionBrowser(anywidget.AnyWidget):
    """Interactive genome browser: alignments, variants, features and signals.

    Parameters
    ----------
    files_or_readers : path, reader, or list of them
        One track per item, its kind found from the opened reader: SAM/BAM/CRAM
        (or an object with ``.contigs`` and ``.fetch_batch(region) ->
        AlignmentBatch``) give an alignment track (coverage + reads); VCF/BCF a
        variant track (sites coloured by type, one genotype row per sample);
        bgzipped+indexed BED/GFF/GTF and bigBed a feature track (gene models);
        bigWig a signal track (per-base values, zoom-level means when zoomed out).
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
    max_samples : int
        Most genotype rows of a variant track.

    Attributes
    ----------
    region : str
        Current view, 1-based closed, synced both ways: set it from Python to
        move the browser; pans and zooms in the browser update it.
    tracks : list of dict
        Track metadata (``name``, ``kind``).
    selected : str
        Last clicked base, ``"chr1:1234"`` (1-based), ``""`` before any click;
        synced both ways (the browser marks it with a vertical line).
    inspector : PileupInspector
        A pileup inspector linked to this browser (made on first use).

    Raises
    ------
    RegionError
        Initial region malformed or naming an unknown contig.
    TypeError
        An item is neither a path nor a reader of a drawable kind.
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
    selected = t.Unicode("").tag(sync=True)
    _snapshot = t.Unicode("").tag(sync=True)

    def __init__(self, files_or_readers, region=None, reference=None, max_depth: int = 100,
                 max_read_span: int = 60_000, max_span: int = 2_000_000, max_samples: int = 64, **kwargs):
        items = list(files_or_readers) if isinstance(files_or_readers, (list, tuple)) else [files_or_readers]
        if not items:
            raise TypeError("RegionBrowser needs at least one file or reader")
        self._readers = [_open(x, "tracks") for x in items]
        self._kinds = [track_kind(r) for r in self._readers]
        self._reference = _open(reference, "reference") if reference is not None else None
        self.max_samples = int(max_samples)
        known: dict = {}
        order: list = []
        for r in self._readers:
            for name, length in _reader_contigs(r).items():
                if name not in known:
                    order.append(name)
                    known[name] = length
                elif known[name] is None and length is not None:
                    known[name] = length
        contigs = {n: (known[n] if known[n] is not None else UNKNOWN_LENGTH) for n in order}
        names = [_track_name(x, r, i) for i, (x, r) in enumerate(zip(items, self._readers))]
        self._display_handles: list = []
        self._published = False
        self._shown_in = None
        self._click_callbacks: list = []
        self._inspector = None
        super().__init__(
            contigs=contigs,
            tracks=[{"name": n, "kind": k} for n, k in zip(names, self._kinds)],
            max_depth=int(max_depth), max_read_span=int(max_read_span), max_span=int(max_span),
            has_reference=self._reference is not None,
            **kwargs,
        )
        self.region = str(self._resolve(region if region is not None else self._default_region()))
        self.on_msg(self._on_custom_msg)
        self.observe(self._on_snapshot, names="_snapshot")

    @property
    def readers(self) -> list:
        """The opened reader of each track, in track order."""
        return list(self._readers)

    def alignment_readers(self) -> list:
        """``(track index, reader)`` of the alignment tracks."""
        return [(i, r) for i, (r, k) in enumerate(zip(self._readers, self._kinds)) if k == "alignments"]

    @property
    def inspector(self):
        """The :class:`~hts_notebook.widgets.pileup_inspector.PileupInspector` linked to this browser."""
        if self._inspector is None:
            from .pileup_inspector import PileupInspector

            self._inspector = PileupInspector(self)
        return self._inspector

    def on_click(self, callback, remove: bool = False) -> None:
        """Call ``callback(contig, position)`` (1-based) when a base is clicked in the browser."""
        if remove:
            self._click_callbacks = [c for c in self._click_callbacks if c is not callback]
        else:
            self._click_callbacks.append(callback)

    def click(self, contig: str, position: int) -> None:
        """Act as if base ``position`` (1-based) of ``contig`` was clicked: sets :attr:`selected`."""
        if contig not in self.contigs:
            raise RegionError(f"unknown contig {contig!r}", field="contig")
        position = int(position)
        if not 1 <= position <= self.contigs[contig]:
            raise RegionError(f"position {position} outside {contig} (1-{self.contigs[contig]})", field="position")
        self.selected = f"{contig}:{position}"
        for cb in list(self._click_callbacks):
            cb(contig, position)

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
    def fetch(self, region, pad: float = 0.0, width: int = 1000) -> tuple[dict, dict]:
        """Compute the reply for a view: JSON metadata and the arrays of every track.

        Parameters
        ----------
        region : str or Region
            View, 1-based closed string or :class:`Region`.
        pad : float
            Extra data fetched on each side, in view widths (for smooth panning).
        width : int
            Pixels the view spans in the browser (signal tracks bin to it).

        Returns
        -------
        meta : dict
            ``region`` (normalised view string), ``contig``, ``start``, ``stop``
            (view, 0-based half-open), ``data_start``, ``data_stop`` (0-based
            window the arrays cover; array positions are relative to
            ``data_start``), ``tracks`` (per-track metadata, with ``kind``), ``message``.
        arrays : dict of (track index or "reference", name) -> ndarray
        """
        view = self._resolve(region)
        length = self.contigs[view.contig]
        span = view.stop - view.start
        extra = int(span * max(0.0, float(pad)))
        d0, d1 = max(0, view.start - extra), min(length, view.stop + extra)
        meta = {"region": str(view), "contig": view.contig, "start": view.start, "stop": view.stop,
                "data_start": d0, "data_stop": d1, "tracks": [], "message": ""}
        arrays: dict = {}
        if span > self.max_span:
            meta["message"] = f"zoom in to below {self.max_span:,} bp to see data"
            meta["data_start"] = meta["data_stop"] = view.start
            return meta, arrays
        show_reads = span <= self.max_read_span
        if not show_reads and "alignments" in self._kinds:
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
        pixels = bins_for(span, d1 - d0, int(width) if width else 1000)
        for i, (reader, kind) in enumerate(zip(self._readers, self._kinds)):
            if kind == "alignments":
                tmeta, tarr = self._alignment(reader, view.contig, fetch_region, d0, d1, ref_seq, show_reads)
            elif kind == "variants":
                tmeta, tarr = self._variants(reader, view.contig, d0, d1)
            elif kind == "features":
                try:
                    feats = read_features(reader, view.contig, d0, d1)
                except RegionError:
                    feats = []
                tmeta, tarr = feature_track(feats, d0, d1)
            else:
                tmeta, tarr = signal_track(reader, view.contig, d0, d1, pixels=pixels)
            tmeta["kind"] = kind
            meta["tracks"].append(tmeta)
            for name, arr in tarr.items():
                arrays[(i, name)] = arr
        return meta, arrays

    def _alignment(self, reader, contig, fetch_region, d0, d1, ref_seq, show_reads):
        if contig not in reader.contigs:
            return ({"n_reads": 0, "n_hidden": 0, "n_rows": 0, "coverage_bin": 1, "coverage_max": 0.0,
                     "show_reads": show_reads}, {})
        batch = reader.fetch_batch(fetch_region)
        ref_id = None
        header = getattr(reader, "header", None)
        if header is not None and hasattr(header, "ref_id"):
            try:
                ref_id = header.ref_id(contig)
            except KeyError:
                ref_id = None
        return alignment_track(batch, d0, d1, reference=ref_seq, ref_id=ref_id, max_depth=self.max_depth,
                               show_reads=show_reads)

    def _variants(self, reader, contig, d0, d1):
        from ..core.formats.variant.batch import VariantBatch

        try:
            batch = reader.fetch_batch((contig, d0, d1))
        except (RegionError, KeyError):
            batch = VariantBatch.empty(list(reader.header.filters), list(reader.samples))
        return variant_track(batch, d0, d1, max_samples=self.max_samples)

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
        if not isinstance(content, dict):
            return
        if content.get("type") == "click":
            try:
                self.click(str(content.get("contig", "")), int(content.get("position", 0)))
            except (RegionError, ValueError, TypeError):
                pass
            return
        if content.get("type") != "request":
            return
        rid = content.get("id")
        try:
            width = int(content.get("width", 1000) or 1000)
            meta, arrays = self.fetch(content.get("region", ""), pad=float(content.get("pad", 1.0)), width=width)
        except Exception as exc:  # noqa: BLE001 - any failure must reach the browser, or it waits forever
            self.send({"type": "error", "id": rid, "message": f"{type(exc).__name__}: {exc}"})
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
