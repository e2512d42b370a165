"""Alignment workloads of ../shared/bench/peers.py, with hts_notebook timed beside the peers.

usage: python benchmarks/bench_alignment.py DATADIR [--workloads a,b] [--repeats N] [--tools x,y]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # this checkout, not another installed copy
PEERS = HERE.parent.parent / "shared" / "bench"


def _ours_fetch_region_1mb(ctx):
    import hts_notebook as hts

    n = ps = sl = 0
    with hts.open(ctx.p("reads.bam")) as f:
        for c, s, e in ctx.regions["regions_1mb"]:
            b = f.fetch_batch((c, s, e))
            # materialise what the workload asks: POS, FLAG, MAPQ, CIGAR pairs, SEQ text
            ops = b.cigar & 15
            lens = b.cigar >> 4
            seq = b.seq  # codes; text via one lookup
            text = np.frombuffer(b"=ACMGRSVTWYHKDBN", dtype=np.uint8)[seq]
            n += len(b)
            ps += int(b.pos.sum())
            sl += int(len(text))
            del ops, lens
    return dict(items=n, check=[n, ps % 2**32, sl])


def _ours_full_scan(ctx):
    import hts_notebook as hts

    P, F, M = [], [], []
    with hts.open(ctx.p("reads.bam")) as f:
        for b in f.iter_batches():
            P.append(b.pos)
            F.append(b.flag)
            M.append(b.mapq)
    pos = np.concatenate(P)
    flag = np.concatenate(F).astype(np.int64)
    mapq = np.concatenate(M).astype(np.int64)
    return dict(items=int(pos.size), check=[int(pos.size), int(pos[pos >= 0].sum()) % 2**32, int(flag.sum()), int(mapq.sum())])


OURS = {
    "bam_fetch_region_1mb": _ours_fetch_region_1mb,
    "bam_full_scan": _ours_full_scan,
}


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("datadir")
    ap.add_argument("--workloads", default=",".join(OURS))
    ap.add_argument("--tools", default="")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(PEERS))
    import peers

    man = os.path.join(args.datadir, "manifest.json")
    scale = json.load(open(man))["params"]["scale"] if os.path.exists(man) else "small"
    ctx = peers.Ctx(args.datadir, scale, peers.write_regions(args.datadir, scale))
    pargs = argparse.Namespace(repeats=args.repeats, min_repeats=min(3, args.repeats), budget=300.0, warm_threshold=0.0)
    rows = []
    for name in [w for w in args.workloads.split(",") if w]:
        factory, unit, files = peers.WORKLOADS[name]

        def merged(factory=factory, name=name):
            tools = factory()
            tools["hts_notebook"] = OURS[name]
            return tools

        peers.WORKLOADS[name] = (merged, unit, files)
        tf = set(t for t in args.tools.split(",") if t) or None
        if tf:
            tf.add("hts_notebook")
        for row in peers.bench_workload(ctx, name, pargs, tf):
            rows.append(row)
            print(json.dumps(row), flush=True)
    if args.out:
        with open(args.out, "a") as fh:
            fh.writelines(json.dumps(r) + "\n" for r in rows)
    print("\n| workload | peer | peer s (median) | ours s | ours / peer |\n|---|---|---|---|---|")
    by = {}
    for r in rows:
        by.setdefault(r["workload"], {})[r["tool"]] = r
    for wl, tools in by.items():
        ours = tools.get("hts_notebook")
        if not ours:
            continue
        for t, r in tools.items():
            if t == "hts_notebook":
                continue
            ratio = ours["ratio_vs_baseline_median"] / r["ratio_vs_baseline_median"]
            print(f"| {wl} | {t} | {r['seconds_median']:.3f} | {ours['seconds_median']:.3f} | {ratio:.2f} |")
        chk = {t: r["check"] for t, r in tools.items()}
        print(f"checks {wl}: {chk}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
