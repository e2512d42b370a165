"""Variant, feature and signal tracks of the RegionBrowser, without a browser."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("anywidget")

import hts_notebook  # noqa: E402
from hts_notebook.core.bgzf import BgzfWriter  # noqa: E402
from hts_notebook.core.formats.bbi.writer import write_bigwig  # noqa: E402
from hts_notebook.tools import run_tool_capture  # noqa: E402
from hts_notebook.widgets import RegionBrowser  # noqa: E402
from hts_notebook.widgets.region_browser import open_track  # noqa: E402
from hts_notebook.widgets.feature_tracks import (  # noqa: E402
    GT_HET, GT_HOM_ALT, GT_HOM_REF, GT_MISSING, VARIANT_INDEL, VARIANT_OTHER, VARIANT_REF, VARIANT_SNP,
    feature_track, features_from_bed_lines, features_from_gff_lines, genotype_classes, read_features,
    signal_track, track_kind, variant_track,
)

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus not present")

VCF = """##fileformat=VCFv4.3
##contig=<ID=chr1,length=5000>
##contig=<ID=chr2,length=3000>
##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">
##ALT=<ID=DEL,Description="Deletion">
##INFO=<ID=END,Number=1,Type=Integer,Description="End">
#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\ts1\ts2\ts3
chr1\t101\t.\tA\tG\t50\tPASS\t.\tGT\t0/0\t0/1\t1/1
chr1\t201\t.\tAT\tA\t50\tPASS\t.\tGT\t./.\t1|0\t0/.
chr1\t301\t.\tC\tCTT,G\t50\tPASS\t.\tGT\t1/2\t2/2\t0|0
chr1\t401\t.\tG\t<DEL>\t50\tPASS\tEND=450\tGT\t0/1\t.\t1
chr1\t501\t.\tAC\tGT\t50\tPASS\t.\tGT\t0/0\t0/0\t0/0
chr1\t601\t.\tT\t.\t50\tPASS\t.\tGT\t0/0\t0/0\t0/0
chr2\t10\t.\tA\tC\t50\tPASS\t.\tGT\t0/1\t0/1\t0/1
"""

BED12 = [
    # gene with 3 exons, coding 1150-1800
    "chr1\t1000\t2000\tgeneA\t0\t+\t1150\t1800\t0\t3\t200,100,300,\t0,400,700,",
    # plain BED6 box, minus strand
    "chr1\t1500\t1600\tboxB\t0\t-",
    # non-coding (thickStart == thickEnd) two-exon transcript
    "chr1\t2500\t3000\tncC\t0\t-\t2500\t2500\t0\t2\t100,100,\t0,400,",
    "chr2\t100\t200\tother\t0\t+",
]

GFF = """##gff-version 3
chr1\tt\tgene\t1001\t2000\t.\t+\t.\tID=g1;Name=GENE1
chr1\tt\tmRNA\t1001\t2000\t.\t+\t.\tID=t1;Parent=g1;Name=TX1
chr1\tt\texon\t1001\t1200\t.\t+\t.\tParent=t1
chr1\tt\tCDS\t1151\t1200\t.\t+\t0\tParent=t1
chr1\tt\texon\t1401\t1500\t.\t+\t.\tParent=t1
chr1\tt\tCDS\t1401\t1500\t.\t+\t1\tParent=t1
chr1\tt\texon\t1701\t2000\t.\t+\t.\tParent=t1
chr1\tt\tCDS\t1701\t1800\t.\t+\t0\tParent=t1
chr1\tt\tregion\t2501\t2600\t.\t.\t.\tID=r1;Name=REG
"""


def _bgzip_index(path: Path, text: str, preset: str) -> Path:
    gz = Path(str(path) + ".gz")
    with BgzfWriter(str(gz)) as w:
        w.write(text.encode())
    rc, _, err = run_tool_capture("tabix", ["-p", preset, str(gz)])
    assert rc == 0, err
    return gz


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("tracks")
    vcf = d / "calls.vcf"
    vcf.write_text(VCF)
    bed = _bgzip_index(d / "genes.bed", "\n".join(BED12) + "\n", "bed")
    gff = _bgzip_index(d / "genes.gff", GFF, "gff")
    bw = d / "signal.bw"
    rng = np.random.default_rng(5)
    starts = np.arange(0, 5000, 10, dtype=np.int64)
    vals = rng.random(len(starts)).astype(np.float32) * 10
    write_bigwig(str(bw), {"chr1": 5000, "chr2": 3000}, {"chr1": (starts, starts + 10, vals)})
    return {"vcf": vcf, "bed": bed, "gff": gff, "bw": bw, "bw_starts": starts, "bw_vals": vals}


# --------------------------------------------------------------------------- variants
def test_genotype_classes__hom_ref_het_hom_alt_missing_and_fill():
    g = np.array([[[0, 0], [0, 1], [1, 1], [-1, -1], [1, 2], [2, 2], [0, -1], [1, -2], [-2, -2]]], dtype=np.int8)
    assert genotype_classes(g)[0].tolist() == [GT_HOM_REF, GT_HET, GT_HOM_ALT, GT_MISSING, GT_HET, GT_HOM_ALT,
                                                GT_MISSING, GT_HOM_ALT, GT_MISSING]


def test_variant_track__types_and_genotype_rows_from_vcf(files):
    vf = hts_notebook.open(str(files["vcf"]))
    assert track_kind(vf) == "variants"
    meta, arr = variant_track(vf.fetch_batch("chr1:1-5000"), 50, 1050)
    assert meta["n_variants"] == 6 and meta["n_samples"] == 3 and meta["samples"] == ["s1", "s2", "s3"]
    assert arr["var_start"].tolist() == [50, 150, 250, 350, 450, 550]
    assert arr["var_end"].tolist() == [51, 152, 251, 400, 452, 551]  # <DEL> ends at INFO/END
    assert arr["var_type"].tolist() == [VARIANT_SNP, VARIANT_INDEL, VARIANT_INDEL, VARIANT_OTHER, VARIANT_OTHER,
                                        VARIANT_REF]
    assert arr["gt_class"].tolist() == [[0, 1, 2], [3, 1, 3], [1, 2, 0], [1, 3, 2], [0, 0, 0], [0, 0, 0]]
    assert meta["counts"] == {"snp": 1, "indel": 2, "other": 3}
    assert arr["var_start"].dtype == np.int32 and arr["gt_class"].dtype == np.uint8


def test_variant_track__sample_cap_and_window_clip(files):
    vf = hts_notebook.open(str(files["vcf"]))
    meta, arr = variant_track(vf.fetch_batch("chr1:1-5000"), 180, 320, max_samples=2)
    assert meta["n_variants"] == 2 and meta["n_samples"] == 2 and meta["n_samples_total"] == 3
    assert arr["gt_class"].shape == (2, 2)


@needs_corpus
def test_variant_track__corpus_vcf_matches_pysam(tmp_path):
    pysam = pytest.importorskip("pysam")
    path = CORPUS / "vcf" / "pysam-ex1.vcf.gz"
    vf = hts_notebook.open(str(path))
    contig = next(iter(vf.contigs))
    meta, arr = variant_track(vf.fetch_batch(contig), 0, vf.contigs[contig])
    with pysam.VariantFile(str(path)) as pv:
        recs = list(pv.fetch(contig))
        samples = list(pv.header.samples)
    assert meta["n_variants"] == len(recs) > 0
    assert arr["var_start"].tolist() == [r.start for r in recs]
    expect = []
    for r in recs:
        row = []
        for s in samples[: meta["n_samples"]]:
            gt = r.samples[s]["GT"] if "GT" in r.format else None
            if gt is None or not len(gt) or any(a is None for a in gt):
                row.append(GT_MISSING)
            elif len(set(gt)) > 1:
                row.append(GT_HET)
            else:
                row.append(GT_HOM_REF if gt[0] == 0 else GT_HOM_ALT)
        expect.append(row)
    assert arr["gt_class"].tolist() == expect
    snp = [len(r.ref) == 1 and all(len(a) == 1 and a in "ACGTN" for a in (r.alts or ())) and bool(r.alts)
           for r in recs]
    assert (arr["var_type"] == VARIANT_SNP).tolist() == snp


# --------------------------------------------------------------------------- features
def test_features_from_bed_lines__bed12_blocks_split_at_thick_range():
    f = features_from_bed_lines(BED12)
    assert [x.name for x in f] == ["geneA", "boxB", "ncC", "other"]
    assert [x.strand for x in f] == [1, -1, -1, 1]
    assert f[0].blocks == [(1000, 1150, 0), (1150, 1200, 1), (1400, 1500, 1), (1700, 1800, 1), (1800, 2000, 0)]
    assert f[1].blocks == [(1500, 1600, 1)]
    assert f[2].blocks == [(2500, 2600, 0), (2900, 3000, 0)]


def test_features_from_gff_lines__exons_cds_by_parent_gene_not_drawn():
    f = features_from_gff_lines(GFF.splitlines())
    assert [x.name for x in f] == ["TX1", "REG"]
    tx = f[0]
    assert (tx.start, tx.end, tx.strand) == (1000, 2000, 1)
    assert tx.blocks == [(1000, 1150, 0), (1150, 1200, 1), (1400, 1500, 1), (1700, 1800, 1), (1800, 2000, 0)]
    assert f[1].blocks == [(2500, 2600, 1)] and f[1].strand == 0


def test_feature_track__tabix_bed_arrays_rows_and_names(files):
    tb = open_track(files["bed"])
    assert track_kind(tb) == "features"
    feats = read_features(tb, "chr1", 900, 3100)
    meta, arr = feature_track(feats, 900, 3100, gap=0)
    assert meta["names"] == ["geneA", "boxB", "ncC"] and meta["n_rows"] == 2
    assert arr["feat_start"].tolist() == [100, 600, 1600]
    assert arr["feat_end"].tolist() == [1100, 700, 2100]
    assert arr["feat_row"].tolist() == [0, 1, 0]
    assert arr["feat_strand"].tolist() == [1, -1, -1]
    assert arr["block_feat"].tolist() == [0, 0, 0, 0, 0, 1, 2, 2]
    assert arr["block_start"].tolist() == [100, 250, 500, 800, 900, 600, 1600, 2000]
    assert arr["block_thick"].tolist() == [0, 1, 1, 1, 0, 1, 0, 0]
    # names only when few enough
    meta2, _ = feature_track(feats, 900, 3100, max_names=2)
    assert meta2["names"] is None


def test_feature_track__tabix_gff_and_row_cap(files):
    tg = open_track(files["gff"])
    feats = read_features(tg, "chr1", 0, 5000)
    meta, arr = feature_track(feats, 0, 5000)
    assert meta["names"] == ["TX1", "REG"] and arr["block_thick"].tolist() == [0, 1, 1, 1, 0, 1]
    many = features_from_bed_lines([f"chr1\t{10 * i}\t{10 * i + 500}\tf{i}" for i in range(60)])
    meta, arr = feature_track(many, 0, 2000, max_rows=10)
    assert meta["n_rows"] == 10 and meta["n_features"] + meta["n_hidden"] == 60 and meta["n_hidden"] > 0


@needs_corpus
def test_feature_track__corpus_gtf_transcripts_have_their_exons():
    path = CORPUS / "tabix" / "pysam-example.gtf.gz"
    tb = hts_notebook.open_intervals(str(path))
    contig = tb.contigs[0]
    lines = tb.fetch(contig)
    exons: dict = {}
    for ln in lines:
        c = ln.decode().split("\t")
        if c[2] == "exon":
            tid = c[8].split('transcript_id "')[1].split('"')[0]
            exons.setdefault(tid, []).append((int(c[3]) - 1, int(c[4])))
    feats = features_from_gff_lines(lines)
    assert exons
    drawn = []
    for f in feats:
        merged = []
        for a, b, _ in sorted(f.blocks):
            if merged and merged[-1][1] == a:
                merged[-1] = (merged[-1][0], b)
            else:
                merged.append((a, b))
        drawn.append(merged)
    for tid, ex in exons.items():
        assert sorted(ex) in drawn, tid
    assert len(feats) == len(exons)


@needs_corpus
def test_feature_track__corpus_bigbed_bed12_matches_pybigwig():
    pbw = pytest.importorskip("pyBigWig")
    path = CORPUS / "bigbed" / "bbijs-transcripts.bb"
    bb = hts_notebook.open(str(path))
    assert track_kind(bb) == "features"
    contig, length = next(iter(bb.contigs.items()))
    feats = read_features(bb, contig, 0, length)
    with pbw.open(str(path)) as ref:
        entries = ref.entries(contig, 0, length)
    assert len(feats) == len(entries) > 0
    names = [x.name for x in bb.fields][3:]  # this file's autoSql: no score, blockStarts
    for f, (s, e, rest) in zip(feats, entries):
        col = dict(zip(names, rest.split("\t")))
        assert (f.start, f.end, f.name, f.strand) == (s, e, col["name"], 1 if col["strand"] == "+" else -1)
        sizes = [int(x) for x in col["blockSizes"].strip(",").split(",")]
        starts = [int(x) for x in col["blockStarts"].strip(",").split(",")]
        assert len(sizes) == int(col["blockCount"])
        merged = []
        for a, b, _ in sorted(f.blocks):
            if merged and merged[-1][1] == a:
                merged[-1] = (merged[-1][0], b)
            else:
                merged.append((a, b))
        assert merged == [(s + st, s + st + sz) for st, sz in zip(starts, sizes)]
        thick = [(a, b) for a, b, k in f.blocks if k]
        ts, te = int(col["thickStart"]), int(col["thickEnd"])
        assert all(ts <= a and b <= te for a, b in thick) and (bool(thick) == (ts < te))


# --------------------------------------------------------------------------- signal
def test_signal_track__per_base_values_when_zoomed_in(files):
    bw = hts_notebook.open(str(files["bw"]))
    assert track_kind(bw) == "signal"
    meta, arr = signal_track(bw, "chr1", 95, 135, pixels=800)
    assert meta["mode"] == "bases" and meta["zoom_level"] == -1
    v = files["bw_vals"]
    np.testing.assert_array_equal(arr["signal"], np.repeat(v[9:14], 10)[5:45])
    assert meta["max"] == pytest.approx(float(v[9:14].max()))


def test_signal_track__zoom_levels_when_zoomed_out(files):
    bw = hts_notebook.open(str(files["bw"]))
    assert [z.reduction_level for z in bw.zoom_levels][0] == 100
    meta, arr = signal_track(bw, "chr1", 0, 5000, pixels=25)  # 200 bases per pixel: zoom level 0
    assert meta["mode"] == "bins" and meta["zoom_level"] == 0
    assert len(arr["sig_value"]) == 25
    assert arr["sig_start"].tolist() == list(range(0, 5000, 200))
    exact = files["bw_vals"].reshape(25, 20).mean(axis=1)
    np.testing.assert_allclose(arr["sig_value"], exact, rtol=1e-5)
    # a contig without data, and one the file lacks
    meta, arr = signal_track(bw, "chr2", 0, 3000, pixels=30)
    assert len(arr["sig_value"]) == 0 and meta["max"] == 0.0
    meta, arr = signal_track(bw, "chrZ", 0, 10, pixels=30)
    assert len(arr["signal"]) == 0


# --------------------------------------------------------------------------- browser
def test_region_browser__mixed_tracks_fetch_and_binary_reply(files, monkeypatch):
    from hts_notebook import demo

    d = demo.files()
    b = RegionBrowser([d["bam"], str(files["vcf"]), str(files["bed"]), str(files["bw"])], "chr1:1-3100")
    assert [t["kind"] for t in b.tracks] == ["alignments", "variants", "features", "signal"]
    meta, arrays = b.fetch("chr1:1-3100", pad=0.0, width=1000)
    kinds = [t["kind"] for t in meta["tracks"]]
    assert kinds == ["alignments", "variants", "features", "signal"]
    assert meta["tracks"][0]["n_reads"] > 100
    assert meta["tracks"][1]["n_variants"] == 6
    assert meta["tracks"][2]["names"] == ["geneA", "boxB", "ncC"]
    assert meta["tracks"][3]["mode"] == "bins"  # 3.1 bases per pixel
    assert arrays[(2, "feat_start")].tolist() == [1000, 1500, 2500]
    assert arrays[(1, "var_start")].tolist() == [100, 200, 300, 400, 500, 600]
    meta, arrays = b.fetch("chr1:901-1000", pad=0.0, width=1000)
    assert meta["tracks"][3]["mode"] == "bases" and len(arrays[(3, "signal")]) == 100
    sent = []
    monkeypatch.setattr(b, "send", lambda content, buffers=None: sent.append((content, buffers)))
    b._on_custom_msg(b, {"type": "request", "id": "v:1", "region": "chr1:1-3100", "pad": 0, "width": 500}, [])
    content, buffers = sent[-1]
    assert content["type"] == "reply" and len(buffers) == 1
    spec = {(s["track"], s["name"]): s for s in content["arrays"]}
    s = spec[(1, "gt_class")]
    got = np.frombuffer(bytes(buffers[0])[s["offset"]:s["offset"] + s["nbytes"]], dtype=s["dtype"])
    assert got.reshape(s["shape"]).tolist()[0] == [0, 1, 2]
    s = spec[(3, "sig_value")]
    assert s["dtype"] == "f4" and s["shape"] == [500]


def test_region_browser__unknown_contig_lengths_and_click(files):
    b = RegionBrowser([str(files["bed"])], "chr1:1-3000")
    assert b.contigs["chr1"] == 2**31 - 1  # a tabix index carries no lengths
    b.click("chr1", 1234)
    assert b.selected == "chr1:1234"
    seen = []
    b.on_click(lambda c, p: seen.append((c, p)))
    b._on_custom_msg(b, {"type": "click", "contig": "chr1", "position": 77}, [])
    assert b.selected == "chr1:77" and seen == [("chr1", 77)]
    b._on_custom_msg(b, {"type": "click", "contig": "chrZ", "position": 5}, [])  # ignored
    assert b.selected == "chr1:77"
    with pytest.raises(TypeError):
        RegionBrowser([object()])


def test_hts_view__track_files_open_a_browser(files):
    pytest.importorskip("IPython")
    from hts_notebook.magics import HtsMagics

    m = HtsMagics(shell=None)  # no shell: nothing displayed, the browser is returned
    for key, kind in (("vcf", "variants"), ("bed", "features"), ("gff", "features"), ("bw", "signal")):
        b = m.hts(f"view {files[key]} chr1:1-2000")
        assert isinstance(b, RegionBrowser) and b.tracks[0]["kind"] == kind, key
    b = m.hts("view chr1:1-2000", f"{files['vcf']}\n{files['bed']}\n{files['bw']}\n")
    assert [t["kind"] for t in b.tracks] == ["variants", "features", "signal"]
    assert os.path.basename(str(files["bed"])) == b.tracks[1]["name"]
