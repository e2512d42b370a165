"""Throughput of :class:`hts_notebook.ml.TrackDataset` (batches per second).

Default: batch 256 x 1 kb x all tracks of ``/work/bench-data/full``
(``signal_0*.bw`` + ``ref.fa``), random windows over the whole genome (or
``--roi BED``), per-base values, float32 numpy output, 2 batches prefetched
in the background thread.  The first ``--warmup`` batches (JAX compilation,
first R-tree reads) are not timed.  Not a test; run by hand::

    python benchmarks/bench_ml_loader.py [--data DIR] [--roi BED] [--batches 30]
        [--output numpy|jax] [--dtype float32|bfloat16] [--window-size 1] [--prefetch 2]
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import time


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="/work/bench-data/full")
    ap.add_argument("--roi", default=None, help="BED of regions of interest (default: whole contigs of ref.fa)")
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--sequence-length", type=int, default=1000)
    ap.add_argument("--window-size", type=int, default=1)
    ap.add_argument("--batches", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--prefetch", type=int, default=2)
    ap.add_argument("--output", default="numpy", choices=("numpy", "jax"))
    ap.add_argument("--dtype", default="float32", choices=("float32", "bfloat16"))
    ap.add_argument("--no-reference", action="store_true")
    args = ap.parse_args(argv)

    from hts_notebook.core.formats.sequence.fasta import FastaFile
    from hts_notebook.ml import TrackDataset

    tracks = sorted(glob.glob(os.path.join(args.data, "signal_0*.bw")))
    if not tracks:
        raise SystemExit(f"no signal_0*.bw in {args.data}")
    ref = os.path.join(args.data, "ref.fa")
    if args.roi:
        roi = args.roi
    else:
        with FastaFile(ref) as fa:
            roi = [(c, 0, n) for c, n in fa.contigs.items()]
    n = args.warmup + args.batches
    ds = TrackDataset(roi, tracks, None if args.no_reference else ref, sequence_length=args.sequence_length,
                      batch_size=args.batch_size, window_size=args.window_size, seed=0, prefetch=args.prefetch,
                      output=args.output, dtype=args.dtype, batches_per_epoch=n)
    it = iter(ds.epoch(0))
    t0 = time.perf_counter()
    for _ in range(args.warmup):
        s, v = next(it)
    t1 = time.perf_counter()
    for _ in range(args.batches):
        s, v = next(it)
        if args.output == "jax":
            v.block_until_ready()
    t2 = time.perf_counter()
    it.close()
    ds.close()
    res = {
        "batches_per_s": round(args.batches / (t2 - t1), 3),
        "windows_per_s": round(args.batches * args.batch_size / (t2 - t1), 1),
        "warmup_s": round(t1 - t0, 3),
        "batch_size": args.batch_size, "sequence_length": args.sequence_length, "tracks": len(tracks),
        "window_size": args.window_size, "output": args.output, "dtype": args.dtype, "prefetch": args.prefetch,
        "roi": args.roi or "whole genome", "cpus": os.cpu_count(),
        "sequence_shape": None if s is None else list(s.shape), "values_shape": list(v.shape),
    }
    print(json.dumps(res, indent=1))
    return res


if __name__ == "__main__":
    main()
