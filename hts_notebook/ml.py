"""Training batches from bigWig tracks and a reference: :class:`TrackDataset`.

A loader in the spirit of bigwig-loader's ``BigWigDataset``, built on our own
readers: windows are sampled inside regions of interest, the signal of every
track is read for a whole batch with one :meth:`TrackSet.windows` call (the
JAX interval -> dense kernel), and the reference is one-hot encoded through a
256-entry lookup table.

>>> ds = TrackDataset("roi.bed", "tracks/", "ref.fa", sequence_length=1000,
...                   batch_size=256, seed=1)                       # doctest: +SKIP
>>> for sequence, values in ds:                                     # doctest: +SKIP
...     sequence.shape, values.shape   # (256, 1000, 4), (256, 1000, n_tracks)

Importing this module is light (numpy only); JAX is imported when a batch
is built, torch only for ``output="torch"``.
"""
from __future__ import annotations

import math
import os
import queue
import threading
from typing import NamedTuple

import numpy as np

from .core.errors import FormatError, RegionError

__all__ = ["TrackDataset", "Batch", "Windows", "read_regions", "one_hot", "ONE_HOT_LUT"]

#: (256, 4) uint8 lookup table: A/C/G/T (either case) -> one-hot rows in ACGT order, anything else -> zeros
ONE_HOT_LUT = np.zeros((256, 4), dtype=np.uint8)
for _i, _b in enumerate("ACGT"):
    ONE_HOT_LUT[ord(_b), _i] = 1
    ONE_HOT_LUT[ord(_b.lower()), _i] = 1
_KNOWN = ONE_HOT_LUT.any(axis=1)

_OUTPUTS = ("numpy", "jax", "torch")
_DTYPES = ("float32", "bfloat16")


class Batch(NamedTuple):
    """One training batch (unpacks as ``sequence, values``).

    Attributes
    ----------
    sequence : (batch, sequence_length, 4) array or None
        One-hot reference (A, C, G, T channels; N and other codes all zero),
        in the dataset's ``dtype``; ``None`` without a reference.
    values : (batch, value_length // window_size, tracks) array
        Track signal (``value_length`` = ``center_bin_to_predict`` or
        ``sequence_length``), channel-last, in the dataset's ``dtype``;
        ``default_value`` where the tracks have no data.
    """

    sequence: object
    values: object


class Windows(NamedTuple):
    """The genomic windows of one batch.

    Attributes
    ----------
    contigs : (batch,) str
    starts : (batch,) int64
        0-based starts of the sequence windows.
    stops : (batch,) int64
        0-based exclusive ends (``starts + sequence_length``).
    tracks : (tracks,) int64
        Indices (into the track set) of the tracks in this batch, in order.
    """

    contigs: np.ndarray
    starts: np.ndarray
    stops: np.ndarray
    tracks: np.ndarray


def one_hot(codes: np.ndarray, dtype=np.float32) -> np.ndarray:
    """One-hot encode ASCII bases.

    Parameters
    ----------
    codes : (..., n) uint8
        ASCII codes (``FastaFile.fetch_array``).
    dtype : numpy dtype
        Output dtype.

    Returns
    -------
    (..., n, 4) array of ``dtype``
        Channels A, C, G, T; lower case counts; N and every other code give
        all zeros.
    """
    return ONE_HOT_LUT[np.asarray(codes, dtype=np.uint8)].astype(dtype, copy=False)


def read_regions(regions) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Regions of interest as flat arrays.

    Parameters
    ----------
    regions : path-like or iterable
        A BED file (plain or gzip; ``track``/``browser``/``#`` lines skipped;
        the first three columns, 0-based half-open), or an iterable of
        ``(contig, start, stop)`` tuples (0-based half-open) and/or region
        strings (``"chr1:1,001-2,000"``, 1-based closed).

    Returns
    -------
    contigs : (n,) str
    starts, stops : (n,) int64
        0-based half-open.

    Raises
    ------
    FormatError
        A BED line with fewer than three columns or non-integer coordinates.
    RegionError
        A malformed region string or ``stop <= start``.
    """
    from .core.region import parse_region

    contigs, starts, stops = [], [], []
    if isinstance(regions, (str, os.PathLike)):
        path = os.fspath(regions)
        with open(path, "rb") as fh:
            gz = fh.read(2) == b"\x1f\x8b"
        if gz:
            import gzip

            fh = gzip.open(path, "rt")
        else:
            fh = open(path, "rt")
        with fh:
            for lineno, line in enumerate(fh, 1):
                if not line.strip() or line.startswith(("#", "track", "browser")):
                    continue
                cols = line.rstrip("\r\n").split("\t")
                if len(cols) < 3:
                    cols = line.split()
                try:
                    c, s, e = cols[0], int(cols[1]), int(cols[2])
                except (ValueError, IndexError):
                    raise FormatError(f"BED line {lineno}: needs chrom, chromStart, chromEnd", path=path,
                                      field="chromStart") from None
                contigs.append(c), starts.append(s), stops.append(e)
    else:
        for r in regions:
            if isinstance(r, str):
                reg = parse_region(r)
                if reg.stop is None:
                    raise RegionError(f"region {r!r} needs an end", field="region")
                c, s, e = reg.contig, reg.start, reg.stop
            else:
                c, s, e = r
            contigs.append(str(c)), starts.append(int(s)), stops.append(int(e))
    starts_a = np.asarray(starts, dtype=np.int64)
    stops_a = np.asarray(stops, dtype=np.int64)
    bad = np.flatnonzero((stops_a <= starts_a) | (starts_a < 0))
    if len(bad):
        i = int(bad[0])
        raise RegionError(f"region {contigs[i]}:{starts[i]}-{stops[i]} (0-based) is empty or negative",
                          field="region")
    return np.asarray(contigs, dtype=str), starts_a, stops_a


class TrackDataset:
    """Batches of (one-hot sequence, track values) windows from regions of interest.

    Parameters
    ----------
    regions_of_interest : path-like or iterable
        BED file or ``(contig, start, stop)`` tuples / region strings (see
        :func:`read_regions`).  Windows are drawn from these regions.
    tracks : path-like, list of path-like or TrackSet
        bigWig files, a directory of them, or an open
        :class:`~hts_notebook.core.formats.bbi.bigwig.TrackSet`.
    reference : path-like or FastaFile, optional
        Reference FASTA (indexed; a ``.fai`` is built when missing).  Without
        it batches carry ``sequence=None`` and no N filter applies.
    sequence_length : int
        Window length in bases.
    batch_size : int
        Windows per batch.
    window_size : int
        Values are means over consecutive bins of this many bases (bases with
        data only; a bin with none gets ``default_value``).  Must divide the
        value length.  1 = per-base values.
    center_bin_to_predict : int, optional
        Read values only for the central this-many bases of each window
        (starting at ``start + (sequence_length - center) // 2``).
    sampling : {"random", "tiled"}
        ``random``: each window is centred on a base drawn uniformly from all
        bases of the regions (longer regions are drawn more often), then
        shifted to lie inside its contig.  ``tiled``: windows start at
        ``region_start + k * stride`` for every region, in file order (shifted
        to lie inside the contig), so an epoch covers every region.
    stride : int, optional
        Step of ``tiled`` windows (default ``sequence_length``).
    shuffle : bool
        ``tiled`` only: visit the tiles in a seeded random order per epoch.
    drop_last : bool
        ``tiled`` only: drop a last batch smaller than ``batch_size``.
    batches_per_epoch : int, optional
        ``random``: batches per epoch (default: total region bases //
        (batch_size * sequence_length), at least 1).  Ignored for ``tiled``.
    sub_sample_tracks : int, optional
        Each batch uses this many tracks drawn at random (in track order).
    default_value : float
        Value where the tracks have no data (0.0; NaN keeps the gaps).
    dtype : {"float32", "bfloat16"}
        Dtype of ``values`` and of the one-hot ``sequence``.
    seed : int, optional
        Seed; batch ``i`` of epoch ``e`` depends only on ``(seed, e, i)``.
        ``None`` draws one (kept in :attr:`seed`).
    maximum_unknown_bases_fraction : float
        Windows whose fraction of non-ACGT bases exceeds this are redrawn
        (``random``) or skipped (``tiled``).
    prefetch : int
        Batches built ahead in a background thread (0 = build on demand).
    output : {"numpy", "jax", "torch"}
        Array type of the batches (torch only when installed).
    track_names : list of str, optional
        Names when ``tracks`` are paths.

    Attributes
    ----------
    track_set : TrackSet
    seed : int
    last_windows : Windows or None
        Windows of the batch most recently yielded.
    n_tracks : int
        Tracks per batch (``sub_sample_tracks`` or all).
    value_length : int
        Bases of values per window (``center_bin_to_predict`` or ``sequence_length``).

    Raises
    ------
    ValueError
        Inconsistent sizes, unknown ``sampling`` / ``dtype`` / ``output``.
    RegionError
        A region on a contig the tracks (or the reference) lack, or a contig
        shorter than ``sequence_length``.
    ImportError
        ``output="torch"`` without torch.

    Notes
    -----
    Iterating the dataset runs the next epoch (the first ``iter`` is epoch 0,
    the next epoch 1, ...); :meth:`epoch` runs a given one.  Two datasets
    with the same arguments and seed yield identical batches.
    """

    def __init__(self, regions_of_interest, tracks, reference=None, *, sequence_length: int = 1000,
                 batch_size: int = 256, window_size: int = 1, center_bin_to_predict: int | None = None,
                 sampling: str = "random", stride: int | None = None, shuffle: bool = False,
                 drop_last: bool = False, batches_per_epoch: int | None = None,
                 sub_sample_tracks: int | None = None, default_value: float = 0.0, dtype: str = "float32",
                 seed: int | None = None, maximum_unknown_bases_fraction: float = 0.1, prefetch: int = 2,
                 output: str = "numpy", track_names=None):
        self.sequence_length = int(sequence_length)
        self.batch_size = int(batch_size)
        self.window_size = int(window_size)
        self.value_length = int(center_bin_to_predict) if center_bin_to_predict else self.sequence_length
        if self.sequence_length < 1 or self.batch_size < 1 or self.window_size < 1:
            raise ValueError("sequence_length, batch_size and window_size must be >= 1")
        if not 0 < self.value_length <= self.sequence_length:
            raise ValueError(f"center_bin_to_predict={center_bin_to_predict} must lie in [1, sequence_length]")
        if self.value_length % self.window_size:
            raise ValueError(f"window_size={window_size} does not divide the value length {self.value_length}")
        if sampling not in ("random", "tiled"):
            raise ValueError(f"sampling={sampling!r} (random, tiled)")
        dtype = np.dtype(dtype).name if not isinstance(dtype, str) else dtype
        if dtype not in _DTYPES:
            raise ValueError(f"dtype={dtype!r} ({', '.join(_DTYPES)})")
        if output not in _OUTPUTS:
            raise ValueError(f"output={output!r} ({', '.join(_OUTPUTS)})")
        if output == "torch":
            import importlib.util

            if importlib.util.find_spec("torch") is None:
                raise ImportError("output='torch' needs PyTorch, which is not installed")
        self.sampling = sampling
        self.stride = int(stride) if stride else self.sequence_length
        if self.stride < 1:
            raise ValueError("stride must be >= 1")
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.default_value = float(default_value)
        self.dtype = dtype
        self.output = output
        self.maximum_unknown_bases_fraction = float(maximum_unknown_bases_fraction)
        self.prefetch = max(0, int(prefetch))
        self.seed = int(np.random.SeedSequence().entropy % (1 << 63)) if seed is None else int(seed)
        self.last_windows: Windows | None = None
        self._next_epoch = 0
        self._lock = threading.Lock()
        self._owned = []

        # tracks
        from .core.formats.bbi.bigwig import TrackSet

        if isinstance(tracks, TrackSet):
            self.track_set = tracks
        else:
            from . import open_tracks

            self.track_set = open_tracks(tracks, names=track_names)
            self._owned.append(self.track_set)
        n_all = len(self.track_set)
        self.n_tracks = n_all if sub_sample_tracks is None else int(sub_sample_tracks)
        if not 1 <= self.n_tracks <= n_all:
            raise ValueError(f"sub_sample_tracks={sub_sample_tracks} must lie in [1, {n_all}]")
        self.sub_sample_tracks = sub_sample_tracks

        # reference
        self.reference = None
        if reference is not None:
            from .core.formats.sequence.fasta import FastaFile

            if isinstance(reference, FastaFile):
                self.reference = reference
            else:
                self.reference = FastaFile(reference)
                self._owned.append(self.reference)

        # regions
        contigs, starts, stops = read_regions(regions_of_interest)
        if not len(contigs):
            raise RegionError("no regions of interest", field="region")
        lengths = {}
        for c in np.unique(contigs).tolist():
            if c not in self.track_set.contigs:
                raise RegionError(f"region contig {c!r} is in none of the tracks", field="contig")
            if self.reference is not None:
                if c not in self.reference.contigs:
                    raise RegionError(f"region contig {c!r} is not in the reference", field="contig")
                lengths[c] = self.reference.contigs[c]
            else:
                lengths[c] = self.track_set.contigs[c]
            if lengths[c] < self.sequence_length:
                raise RegionError(f"contig {c!r} ({lengths[c]} bases) is shorter than sequence_length="
                                  f"{self.sequence_length}", field="contig")
        self.contig_lengths = lengths
        self.regions = Windows(contigs, starts, stops, np.arange(n_all, dtype=np.int64))
        self._region_len = np.array([lengths[c] for c in contigs.tolist()], dtype=np.int64)
        stops = np.minimum(stops, self._region_len)
        if np.any(stops <= starts):
            raise RegionError("a region of interest lies past its contig's end", field="region")
        self._r_contigs, self._r_starts, self._r_stops = contigs, starts, stops
        self._cum = np.cumsum(stops - starts)
        self.total_bases = int(self._cum[-1])
        self._tiles = None
        if sampling == "random":
            self.batches_per_epoch = (int(batches_per_epoch) if batches_per_epoch else
                                      max(1, self.total_bases // (self.batch_size * self.sequence_length)))
        else:
            self._tiles = self._make_tiles()
            n = len(self._tiles[0])
            self.batches_per_epoch = n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    # ------------------------------------------------------------------ basics
    def __repr__(self):
        return (f"TrackDataset({len(self._r_contigs)} regions, {len(self.track_set)} tracks, "
                f"sequence_length={self.sequence_length}, batch_size={self.batch_size}, "
                f"window_size={self.window_size}, sampling={self.sampling!r}, output={self.output!r})")

    def __len__(self) -> int:
        return self.batches_per_epoch

    def close(self) -> None:
        """Close the files this dataset opened (not a TrackSet or FastaFile passed in)."""
        for obj in self._owned:
            obj.close()
        self._owned = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def track_names(self) -> list[str]:
        """Names of all tracks of the track set."""
        return list(self.track_set.names)

    # ------------------------------------------------------------------ windows
    def _clip_starts(self, contigs: np.ndarray, starts: np.ndarray) -> np.ndarray:
        top = np.array([self.contig_lengths[c] for c in contigs.tolist()], dtype=np.int64) - self.sequence_length
        return np.clip(starts, 0, top)

    def _too_unknown(self, codes: np.ndarray) -> np.ndarray:
        """(n,) bool: windows with more than ``maximum_unknown_bases_fraction`` non-ACGT bases (exact count)."""
        unknown = codes.shape[-1] - np.count_nonzero(_KNOWN[codes], axis=-1)
        return unknown > self.maximum_unknown_bases_fraction * codes.shape[-1] + 1e-9

    def _fetch_codes(self, contigs, starts) -> np.ndarray:
        L = self.sequence_length
        out = np.empty((len(starts), L), dtype=np.uint8)
        ref = self.reference
        for i, (c, s) in enumerate(zip(contigs.tolist(), starts.tolist())):
            out[i] = ref.fetch_array(contig=c, start=s, stop=s + L)
        return out

    def _make_tiles(self):
        L = self.sequence_length
        cs, ss = [], []
        for c, a, b in zip(self._r_contigs.tolist(), self._r_starts.tolist(), self._r_stops.tolist()):
            st = np.arange(a, b, self.stride, dtype=np.int64)
            st = np.unique(np.clip(st, 0, self.contig_lengths[c] - L))
            cs.append(np.full(len(st), c, dtype=object)), ss.append(st)
        contigs = np.concatenate(cs).astype(str)
        starts = np.concatenate(ss)
        if self.reference is not None and self.maximum_unknown_bases_fraction < 1.0:
            keep = np.ones(len(starts), dtype=bool)
            step = 4096
            for a in range(0, len(starts), step):
                sub_c, sub_s = contigs[a:a + step], starts[a:a + step]
                with self._lock:
                    codes = self._fetch_codes(sub_c, sub_s)
                keep[a:a + step] = ~self._too_unknown(codes)
            contigs, starts = contigs[keep], starts[keep]
        if not len(starts):
            raise RegionError("no tile of the regions of interest passes maximum_unknown_bases_fraction",
                              field="region")
        return contigs, starts

    def _rng(self, epoch: int, index: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, int(epoch), int(index)])

    def _sample(self, epoch: int, index: int):
        """(Windows, codes or None) of batch ``index`` of ``epoch``."""
        rng = self._rng(epoch, index)
        n_all = len(self.track_set)
        if self.n_tracks < n_all:
            tracks = np.sort(rng.choice(n_all, size=self.n_tracks, replace=False)).astype(np.int64)
        else:
            tracks = np.arange(n_all, dtype=np.int64)
        L = self.sequence_length
        codes = None
        if self.sampling == "tiled":
            t_contigs, t_starts = self._tiles
            order = (np.random.default_rng([self.seed, int(epoch)]).permutation(len(t_starts)) if self.shuffle
                     else None)
            sel = np.arange(index * self.batch_size, min((index + 1) * self.batch_size, len(t_starts)))
            if order is not None:
                sel = order[sel]
            contigs, starts = t_contigs[sel], t_starts[sel]
            if self.reference is not None:
                codes = self._fetch_codes(contigs, starts)
        else:
            n = self.batch_size
            contigs = np.empty(n, dtype=self._r_contigs.dtype)
            starts = np.zeros(n, dtype=np.int64)
            todo = np.arange(n)
            if self.reference is not None:
                codes = np.empty((n, L), dtype=np.uint8)
            for _attempt in range(100):
                u = rng.integers(0, self.total_bases, size=len(todo))
                r = np.searchsorted(self._cum, u, side="right")
                centre = self._r_starts[r] + (u - (self._cum[r] - (self._r_stops[r] - self._r_starts[r])))
                c = self._r_contigs[r]
                s = self._clip_starts(c, centre - L // 2)
                contigs[todo], starts[todo] = c, s
                if codes is None:
                    todo = todo[:0]
                    break
                got = self._fetch_codes(c, s)
                codes[todo] = got
                bad = self._too_unknown(got)
                todo = todo[bad]
                if not len(todo):
                    break
            if len(todo):
                raise RegionError(f"after 100 draws, {len(todo)} windows still have more than "
                                  f"{self.maximum_unknown_bases_fraction:.0%} unknown bases; check the regions",
                                  field="region")
        return Windows(contigs, starts, starts + L, tracks), codes

    def sample_windows(self, epoch: int, index: int) -> Windows:
        """The windows batch ``index`` of ``epoch`` will use (no values are read)."""
        self._check_index(index)
        with self._lock:
            return self._sample(epoch, index)[0]

    def _check_index(self, index: int):
        if not 0 <= index < self.batches_per_epoch:
            raise IndexError(f"batch {index} out of range (batches_per_epoch={self.batches_per_epoch})")

    # ------------------------------------------------------------------ batches
    def _np_dtype(self):
        if self.dtype == "bfloat16":
            import ml_dtypes

            return np.dtype(ml_dtypes.bfloat16)
        return np.dtype(np.float32)

    def _values(self, windows: Windows) -> np.ndarray:
        """(B, value_length // window_size, k) float32, NaN filled with default_value."""
        ts = self.track_set
        if len(windows.tracks) != len(ts):
            import copy

            ts = copy.copy(ts)
            ts.tracks = [self.track_set.tracks[i] for i in windows.tracks.tolist()]
            ts.names = [self.track_set.names[i] for i in windows.tracks.tolist()]
        offset = (self.sequence_length - self.value_length) // 2
        dense = np.asarray(ts.windows(windows.contigs, windows.starts + offset, self.value_length).data)
        if self.window_size > 1:
            from .core.kernels.bigwig import binned_mean_jax

            dense = binned_mean_jax(dense, self.value_length // self.window_size)
        if not math.isnan(self.default_value):
            dense = np.where(np.isnan(dense), np.float32(self.default_value), dense)
        return dense

    def _convert(self, a):
        if a is None:
            return None
        dt = self._np_dtype()
        if self.output == "torch":
            import torch

            t = torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))
            return t.to(torch.bfloat16) if self.dtype == "bfloat16" else t
        a = np.ascontiguousarray(a).astype(dt, copy=False)
        if self.output == "jax":
            from .core.kernels._jax import get_jax

            return get_jax().device_put(a)
        return a

    def _build(self, epoch: int, index: int) -> tuple[Batch, Windows]:
        with self._lock:
            windows, codes = self._sample(epoch, index)
            values = self._values(windows)
        seq = None if codes is None else ONE_HOT_LUT[codes]
        return Batch(self._convert(seq), self._convert(values)), windows

    def batch(self, epoch: int, index: int) -> Batch:
        """Build batch ``index`` of ``epoch`` directly (no prefetch); sets :attr:`last_windows`.

        Returns
        -------
        Batch
            ``sequence`` (batch, sequence_length, 4) and ``values``
            (batch, value_length // window_size, tracks), both in ``dtype``.
        """
        self._check_index(index)
        b, w = self._build(epoch, index)
        self.last_windows = w
        return b

    def batch_for_windows(self, contigs, starts, tracks=None) -> Batch:
        """A batch for explicit windows (0-based starts; ``tracks`` = indices, default all).

        The windows are used as given: no clipping, no N filter.
        """
        starts = np.atleast_1d(np.asarray(starts, dtype=np.int64))
        contigs = np.asarray([contigs] * len(starts) if isinstance(contigs, str) else contigs, dtype=str)
        tracks = np.arange(len(self.track_set)) if tracks is None else np.asarray(tracks, dtype=np.int64)
        w = Windows(contigs, starts, starts + self.sequence_length, tracks)
        with self._lock:
            codes = self._fetch_codes(contigs, starts) if self.reference is not None else None
            values = self._values(w)
        return Batch(self._convert(None if codes is None else ONE_HOT_LUT[codes]), self._convert(values))

    def epoch(self, n: int):
        """Iterate over the batches of epoch ``n`` (deterministic for the seed).

        Yields
        ------
        Batch
            ``(sequence, values)``; :attr:`last_windows` is set to the
            windows of each batch as it is yielded.  With ``prefetch > 0`` the
            next batches are built in a background thread meanwhile.
        """
        n = int(n)
        if self.prefetch == 0:
            for i in range(self.batches_per_epoch):
                b, w = self._build(n, i)
                self.last_windows = w
                yield b
            return
        q: queue.Queue = queue.Queue(maxsize=self.prefetch)
        stop = threading.Event()
        done = object()

        def produce():
            try:
                for i in range(self.batches_per_epoch):
                    item = self._build(n, i)
                    while not stop.is_set():
                        try:
                            q.put(item, timeout=0.1)
                            break
                        except queue.Full:
                            continue
                    if stop.is_set():
                        return
                item = done
            except BaseException as exc:  # handed to the consumer, raised there
                item = exc
            while not stop.is_set():
                try:
                    q.put(item, timeout=0.1)
                    return
                except queue.Full:
                    continue

        worker = threading.Thread(target=produce, name="hts-trackdataset-prefetch", daemon=True)
        worker.start()
        try:
            while True:
                item = q.get()
                if item is done:
                    return
                if isinstance(item, BaseException):
                    raise item
                b, w = item
                self.last_windows = w
                yield b
        finally:
            stop.set()
            worker.join()

    def __iter__(self):
        n = self._next_epoch
        self._next_epoch += 1
        return self.epoch(n)
