"""Genotype-likelihood throughput (pileups = sites x samples per second) and end-to-end SNP calling.

usage: python benchmarks/bench_genotype.py [--pileups N] [--depth D] [--repeats R] [--data DIR] [--json]

* kernel: random pileups of ``--depth`` observations (bcftools' 16-bit words),
  timed for the JAX kernel (after one warm-up call that compiles) and the
  numpy reference; the throughput is pileups / second.
* calling (with ``--data``, e.g. /work/bench-data/small): ``call`` over the
  whole genome vs ``bcftools mpileup | bcftools call -m`` when bcftools is
  installed.
"""
from __future__ import annotations

import argparse
import json
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # this checkout, not another installed copy


def random_pileups(n: int, depth: int, seed: int = 0) -> np.ndarray:
    from hts_notebook.core.kernels.genotype import encode_observations

    rng = np.random.default_rng(seed)
    base = rng.choice(5, (n, depth), p=[0.6, 0.3, 0.05, 0.03, 0.02])
    qual = rng.integers(2, 45, (n, depth))
    strand = rng.integers(0, 2, (n, depth))
    return encode_observations(base, qual, strand)


def time_kernel(fn, words, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn(words)
        best = min(best, time.perf_counter() - t)
    return best


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pileups", type=int, default=1 << 16)
    ap.add_argument("--depth", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--data", default=None, help="bench-data directory (reads.bam, ref.fa) for end-to-end calling")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)

    from hts_notebook.core.kernels import genotype as gk

    gk.errmod_tables()
    words = random_pileups(a.pileups, a.depth)
    t0 = time.perf_counter()
    gk.genotype_phred_jax(words)
    compile_s = time.perf_counter() - t0
    jax_s = time_kernel(gk.genotype_phred_jax, words, a.repeats)
    np_s = time_kernel(gk.genotype_phred_numpy, words, max(1, a.repeats - 2))
    import jax

    res = dict(machine=platform.processor() or platform.machine(), jax_device=str(jax.devices()[0]),
               pileups=a.pileups, depth=a.depth, jax_first_call_s=round(compile_s, 3),
               jax_s=round(jax_s, 4), jax_pileups_per_s=round(a.pileups / jax_s),
               numpy_s=round(np_s, 4), numpy_pileups_per_s=round(a.pileups / np_s))
    if a.data:
        from hts_notebook.core.call import call_batch

        d = Path(a.data)
        t = time.perf_counter()
        _, batch = call_batch(d / "reads.bam", d / "ref.fa")
        res["call_genome_s"] = round(time.perf_counter() - t, 2)
        res["call_variants"] = len(batch)
        if shutil.which("bcftools"):
            t = time.perf_counter()
            mp = subprocess.Popen(["bcftools", "mpileup", "-f", str(d / "ref.fa"), str(d / "reads.bam")],
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            subprocess.run(["bcftools", "call", "-mv"], stdin=mp.stdout, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, check=True)
            mp.wait()
            res["bcftools_mpileup_call_s"] = round(time.perf_counter() - t, 2)
    if a.json:
        print(json.dumps(res))
    else:
        for k, v in res.items():
            print(f"{k:>26}: {v}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
