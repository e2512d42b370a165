"""Workloads of ../shared/bench/peers.py with hts_notebook timed beside the peers, in the same run.

usage: python benchmarks/bench_peers.py DATADIR [--workloads a,b] [--repeats N] [--tools x,y]

Each of our functions does what the workload's docstring asks (``peers.py --list``) and returns
the same ``check`` so results can be compared with the peers' row by row.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
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
            text = b.seq_ascii  # ASCII bases straight from the packed bytes
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


def _gt_check(G):
    G = np.asarray(G)
    return [int(G.shape[0]), int(G[G > 0].astype(np.int64).sum()), int((G < 0).sum())]


def _ours_gt(path, regions=None):
    import hts_notebook as hts

    f = hts.open(path)
    if regions is None:
        parts = [b for b in f.iter_chunks(200_000)]
    else:
        parts = [f.fetch_batch((c, s, e)) for c, s, e in regions]
    G = np.concatenate([b.genotype[:, :, :2].astype(np.int8) for b in parts]) if parts else np.zeros((0, 0, 2), np.int8)
    P = np.concatenate([b.position for b in parts]) if parts else np.zeros(0, np.int64)
    return P, G


def _ours_vcf_scan(path):
    def run(ctx):
        pos, G = _ours_gt(ctx.p(path))
        return dict(items=int(pos.size), check=_gt_check(G))
    return run


def _ours_vcf_regions(path):
    def run(ctx):
        regs = ctx.regions["vcf_100kb"]
        pos, G = _ours_gt(ctx.p(path), regs)
        return dict(items=len(regs), check=_gt_check(G))
    return run


def _ours_bigwig_windows(ctx):
    import hts_notebook as hts

    regs = ctx.regions["bw_1kb"]
    tracks = hts.open_tracks([ctx.p(b) for b in ctx.bigwigs])
    size = regs[0][2] - regs[0][1]
    arr = tracks.windows([r[0] for r in regs], np.array([r[1] for r in regs]), size)
    out = np.ascontiguousarray(arr.data.transpose(0, 2, 1))  # (window, track, base) as asked: a view, no copy
    return dict(items=len(regs), check=[int(out.shape[0]), round(float(np.nansum(out, dtype=np.float64)), 1),
                                        int(np.isnan(out).sum())])


def _ours_bigwig_stats(ctx):
    import hts_notebook as hts

    regs = ctx.regions["bw_1mb"]
    tracks = hts.open_tracks([ctx.p(b) for b in ctx.bigwigs])
    out = tracks.stats([r[0] for r in regs], [r[1] for r in regs], [r[2] for r in regs], type="mean").values
    return dict(items=len(regs), check=[int(out.shape[0]), round(float(np.nanmean(out)) * 1000, 1)])


def _ours_fasta(ctx):
    import zlib

    import hts_notebook as hts

    f = hts.open(ctx.p("ref.fa"))
    seqs = [f.fetch((c, s, e)) for c, s, e in ctx.regions["fasta_1kb"]]
    tot, crc = 0, 0
    for q in seqs:
        b = q.encode()
        tot += len(b)
        crc = zlib.crc32(b, crc)
    return dict(items=len(seqs), check=[len(seqs), tot, crc])


def _ours_tabix(ctx):
    import hts_notebook as hts

    f = hts.open_intervals(ctx.p("features.bed.gz"))
    n = ss = 0
    for c, s, e in ctx.regions["tabix_10kb"]:
        got = f.fetch_intervals((c, s, e))  # the lines, and start/end parsed as int64 arrays (BED start = column 2)
        n += len(got.lines)
        ss += int(got.interval_start.sum())
        got.interval_stop.sum()
    return dict(items=len(ctx.regions["tabix_10kb"]), check=[n, ss % 2**32])


def _ours_coverage(ctx):
    import hts_notebook as hts
    from hts_notebook.core.pileup import count_coverage

    tot = npos = 0
    with hts.open(ctx.p("reads.bam")) as f:
        for c, s, e in ctx.regions["regions_1mb"]:
            cov = count_coverage(f, c, s, e, quality_threshold=15, read_callback="all")
            tot += int(np.asarray(cov, dtype=np.int64).sum())
            npos += e - s
    return dict(items=npos, check=[npos, tot])


def _ours_pileup(ctx):
    import hts_notebook as hts

    (c, s, e), = ctx.regions["pileup_100kb"]
    with hts.open(ctx.p("reads.bam")) as f:
        ds = f.pileup((c, s, e), min_base_quality=0, min_mapping_quality=0, flag_filter=0x704,
                      ignore_overlaps=False, ignore_orphans=False, max_depth=0)
    counts = ds.position_base_count.values  # bases: A C G T N del ins
    depth = ds.position_depth.values
    ncol = int(np.count_nonzero(depth))  # columns with >= 1 read (zero rows hold no counts)
    return dict(items=ncol, check=[ncol, int(depth.sum()), int(counts[:, :4].sum())])


OURS = {
    "bam_coverage_region": _ours_coverage,
    "bam_pileup_region": _ours_pileup,
    "bam_fetch_region_1mb": _ours_fetch_region_1mb,
    "bam_full_scan": _ours_full_scan,
    "vcf_scan_gt": {"hts_notebook vcf": _ours_vcf_scan("cohort.vcf.gz"), "hts_notebook bcf": _ours_vcf_scan("cohort.bcf")},
    "vcf_region_query": {"hts_notebook vcf": _ours_vcf_regions("cohort.vcf.gz"),
                         "hts_notebook bcf": _ours_vcf_regions("cohort.bcf")},
    "bigwig_values_windows": _ours_bigwig_windows,
    "bigwig_stats_zoom": _ours_bigwig_stats,
    "fasta_fetch": _ours_fasta,
    "tabix_query": _ours_tabix,
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
    pargs = argparse.Namespace(repeats=args.repeats, min_repeats=min(3, args.repeats), budget=300.0, warm_threshold=20.0)
    rows = []
    for name in [w for w in args.workloads.split(",") if w]:
        factory, unit, files = peers.WORKLOADS[name]

        def merged(factory=factory, name=name):
            tools = factory()
            ours = OURS[name]
            tools.update(ours if isinstance(ours, dict) else {"hts_notebook": ours})
            return tools

        peers.WORKLOADS[name] = (merged, unit, files)
        tf = set(t for t in args.tools.split(",") if t) or None
        if tf:
            tf.update(OURS[name] if isinstance(OURS[name], dict) else {"hts_notebook"})
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
        for mine, ours in tools.items():
            if not mine.startswith("hts_notebook"):
                continue
            for t, r in tools.items():
                if t.startswith("hts_notebook"):
                    continue
                ratio = ours["ratio_vs_baseline_median"] / r["ratio_vs_baseline_median"]
                print(f"| {wl} | {mine} vs {t} | {r['seconds_median']:.3f} | {ours['seconds_median']:.3f} | {ratio:.2f} |")
        chk = {t: r["check"] for t, r in tools.items()}
        print(f"checks {wl}: {chk}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
