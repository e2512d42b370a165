"""PileupInspector: per-base counts and reads at a clicked position, checked against pysam's pileup."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("anywidget")

import hts_notebook  # noqa: E402
from hts_notebook import demo  # noqa: E402
from hts_notebook.widgets import RegionBrowser  # noqa: E402
from hts_notebook.widgets.pileup_inspector import PileupInspector, inspect_position  # noqa: E402

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"


def _pysam_counts(path, contig, pos1):
    """Independent count: pysam pileup (default filters), per strand x A C G T N del ins, and read names."""
    pysam = pytest.importorskip("pysam")
    counts = np.zeros((2, 7), dtype=np.int64)
    names = []
    with pysam.AlignmentFile(str(path)) as af:
        for col in af.pileup(contig, pos1 - 1, pos1, truncate=True):
            for pr in col.pileups:
                if pr.is_refskip:
                    continue
                s = int(pr.alignment.is_reverse)
                names.append(pr.alignment.query_name)
                if pr.is_del:
                    counts[s, 5] += 1
                else:
                    b = pr.alignment.query_sequence[pr.query_position]
                    counts[s, "ACGT".index(b) if b in "ACGT" else 4] += 1
                if pr.indel > 0:
                    counts[s, 6] += 1
    return counts, names


@pytest.fixture(scope="module")
def demo_files():
    return demo.files()


def _truth_positions(vcf_path, n=6):
    """Positions of simulated SNPs and indels (het and hom) of the demo truth VCF."""
    vf = hts_notebook.open(vcf_path)
    b = vf.fetch_batch("chr1:1-60000")
    pos = b.position.tolist()
    return pos[:n]


def test_inspect_position__counts_equal_pysam_pileup_on_demo_variants(demo_files):
    rd = hts_notebook.open(demo_files["bam"])
    positions = _truth_positions(demo_files["truth_vcf"]) + [10001, 150000]
    nonref_seen = 0
    for pos in positions:
        d = inspect_position(rd, "chr1", pos)
        exp, names = _pysam_counts(demo_files["bam"], "chr1", pos)
        assert d["counts"].tolist() == exp.tolist(), pos
        assert d["depth"] == int(exp[:, :6].sum())
        counted = [n for n, c in zip(d["reads"]["name"].tolist(), d["reads"]["counted"].tolist()) if c]
        assert sorted(counted) == sorted(names), pos
        nonref_seen += int((d["counts"][:, :6] > 0).sum(axis=1).max() > 1)
    assert nonref_seen >= 2  # het sites show two alleles


def test_inspect_position__reads_table_and_quality_histogram(demo_files):
    rd = hts_notebook.open(demo_files["bam"])
    pos = _truth_positions(demo_files["truth_vcf"])[0]
    d = inspect_position(rd, "chr1", pos)
    r = d["reads"]
    n = len(r["name"])
    assert n == len(r["flag"]) == len(r["mapq"]) == len(r["base"]) == len(r["qual"]) == len(r["strand"])
    assert set(bytes(r["base"].tolist()).decode()) <= set("ACGTN*")
    assert r["strand"].tolist() == ((r["flag"] & 16) != 0).astype(int).tolist()
    assert int(d["qual_hist"].sum()) == int((r["base"] != ord("*")).sum())
    assert (r["qual"][r["counted"]] >= 13).all() and (r["qual"][~r["counted"]] < 13).all()
    # every base of the counted reads agrees with the counts table
    labels = "ACGTN"
    for k, ch in enumerate(labels):
        assert int(((r["base"] == ord(ch)) & r["counted"]).sum()) == int(d["counts"][:, k].sum())
    # stricter filters count fewer bases
    d30 = inspect_position(rd, "chr1", pos, min_base_quality=30)
    assert d30["depth"] <= d["depth"]


@pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus not present")
def test_inspect_position__corpus_spliced_bam_matches_pysam():
    path = CORPUS / "bam" / "jbrowse-volvox-rnasim.bam"
    rd = hts_notebook.open(str(path))
    contig = next(iter(rd.contigs))
    checked = 0
    for pos in (21000, 22500, 25000, 30000, 35000, 40000, 45000):
        if pos > rd.contigs[contig]:
            continue
        d = inspect_position(rd, contig, pos)
        exp, _ = _pysam_counts(path, contig, pos)
        assert d["counts"].tolist() == exp.tolist(), pos
        checked += d["depth"] > 0
    assert checked >= 2


def test_pileup_inspector__follows_browser_clicks_and_sends_binary(demo_files, monkeypatch):
    b = RegionBrowser([demo_files["bam"]], demo_files["region"])
    insp = b.inspector
    assert isinstance(insp, PileupInspector) and b.inspector is insp and insp.position == 0
    sent = []
    monkeypatch.setattr(insp, "send", lambda content, buffers=None: sent.append((content, buffers)))
    b._on_custom_msg(b, {"type": "click", "contig": "chr1", "position": 10500}, [])
    assert b.selected == "chr1:10500" and (insp.contig, insp.position) == ("chr1", 10500)
    content, buffers = sent[-1]
    assert content["type"] == "inspection" and content["position"] == 10500
    exp, _ = _pysam_counts(demo_files["bam"], "chr1", 10500)
    spec = {s["name"]: s for s in content["arrays"]}
    s = spec["counts"]
    raw = bytes(buffers[0])[s["offset"]:s["offset"] + s["nbytes"]]
    assert np.frombuffer(raw, dtype=s["dtype"]).reshape(s["shape"]).tolist() == exp.tolist()
    assert content["depth"] == int(exp[:, :6].sum()) and len(content["names"]) == content["n_shown"]
    # setting the position from Python recomputes; a view asking gets the current one
    insp.position = 10501
    assert sent[-1][0]["position"] == 10501
    insp._on_custom_msg(insp, {"type": "request"}, [])
    assert sent[-1][0]["position"] == 10501
    # out-of-contig position: a message, no data
    insp.position = 10**9
    assert insp.data is None and "outside" in insp.message


def test_pileup_inspector__needs_an_alignment_track(tmp_path):
    vcf = tmp_path / "a.vcf"
    vcf.write_text("##fileformat=VCFv4.3\n##contig=<ID=chr1,length=100>\n"
                   "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\nchr1\t5\t.\tA\tC\t.\t.\t.\n")
    b = RegionBrowser([str(vcf)], "chr1:1-100")
    with pytest.raises(TypeError):
        PileupInspector(b)
