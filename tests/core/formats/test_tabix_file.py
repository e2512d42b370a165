"""TabixFile against the corpus tabix oracles (pysam.TabixFile) and the interval dataset."""
from __future__ import annotations

import numpy as np
import pytest

import hts_notebook
from hts_notebook.core.bgzf import compress
from hts_notebook.core.errors import MissingIndexError, RegionError
from hts_notebook.core.formats.interval import TabixFile
from hts_notebook.core.index.tabix_build import build_tabix_index
from hts_notebook.core.index.tbi import PRESETS, write_tbi
from tests.conftest import corpus_files, ids, oracle_for

TABIX_FILES = corpus_files("tabix", (".gz",))
VCF_GZ = corpus_files("vcf", (".vcf.gz",))


@pytest.mark.parametrize("path", TABIX_FILES, ids=ids(TABIX_FILES))
def test_tabix_file__matches_oracle(path):
    o = oracle_for(path)
    with TabixFile(path) as t:
        assert t.contigs == o["contigs"]
        assert t.header_lines == o["header_lines"]
        assert len(t.fetch()) == o["line_count"]
        assert {c: len(t.fetch(c)) for c in t.contigs} == o["line_count_per_contig"]
        for r in o["regions"]:
            got = [x.decode() for x in t.fetch((r["contig"], r["start"], r["stop"]))]
            assert len(got) == r["count"]
            assert got[: len(r["lines"])] == r["lines"]
            assert [x.decode() for x in t.fetch(r["region"])] == got


@pytest.mark.parametrize("path", TABIX_FILES, ids=ids(TABIX_FILES))
def test_tabix_file__each_shipped_index_agrees(path):
    o = oracle_for(path)
    for ext in o["indexes"]:
        with TabixFile(path, index=str(path) + ext) as t:
            for r in o["regions"]:
                assert len(t.fetch((r["contig"], r["start"], r["stop"]))) == r["count"]


@pytest.mark.parametrize("path", VCF_GZ, ids=ids(VCF_GZ))
def test_tabix_file__vcf_counts_match_oracle(path):
    o = oracle_for(path)
    with TabixFile(path) as t:
        assert len(t.fetch()) == o["record_count"]
        per = {c: len(t.fetch(c)) for c in t.contigs}
        assert {k: v for k, v in per.items() if v} == {k: v for k, v in o["record_count_per_contig"].items() if v}
        for r in o.get("regions", []):
            lines = t.fetch((r["contig"], r["start"], r["stop"]))
            assert len(lines) == r["count"]
            assert [int(x.split(b"\t")[1]) for x in lines][: len(r["records"])] == [x["pos"] for x in r["records"]]


def _bed(tmp_path, text: bytes, name="x.bed.gz"):
    p = tmp_path / name
    p.write_bytes(compress(text))
    write_tbi(build_tabix_index(p, PRESETS["bed"]), str(p) + ".tbi")
    return p


def test_tabix_file__query_bed_dataset(tmp_path):
    p = _bed(tmp_path, b"#track\nchr1\t10\t20\tgeneA\t5\t+\t12\t18\nchr1\t30\t40\tgeneB\t.\t-\t30\t40\n"
                       b"chr2\t0\t5\tgeneC\t1\t+\t0\t5\n")
    t = hts_notebook.open_intervals(p)
    ds = t.query("chr1:15-35")
    assert ds.sizes["intervals"] == 2
    assert list(ds.interval_start.values) == [10, 30] and list(ds.interval_stop.values) == [20, 40]
    assert list(ds.interval_contig.values) == ["chr1", "chr1"]
    assert list(ds.interval_name.values) == ["geneA", "geneB"]
    assert ds.interval_score.values[0] == 5.0 and np.isnan(ds.interval_score.values[1])
    assert list(ds.interval_thick_start.values) == [12, 30]
    assert ds.attrs["region"] == "chr1:15-35"
    assert t.header_lines == ["#track"]
    # region end is closed: chr1:21-30 (0-based [20,30)) overlaps nothing
    assert t.fetch("chr1:21-30") == []
    assert t.fetch(("chr1", 19, 20)) == [b"chr1\t10\t20\tgeneA\t5\t+\t12\t18"]


def test_tabix_file__query_gff_dataset(tmp_path):
    p = tmp_path / "a.gff.gz"
    p.write_bytes(compress(b"##gff-version 3\nc1\tsrc\tgene\t1\t100\t.\t+\t.\tID=g1\nc1\tsrc\tCDS\t10\t50\t2.5\t+\t0\tParent=g1\n"))
    write_tbi(build_tabix_index(p, PRESETS["gff"]), str(p) + ".tbi")
    ds = hts_notebook.open(p).query("c1")
    assert list(ds.interval_start.values) == [0, 9] and list(ds.interval_stop.values) == [100, 50]
    assert list(ds.interval_type.values) == ["gene", "CDS"]
    assert list(ds.interval_phase.values) == [-1, 0]
    assert list(ds.interval_attributes.values) == ["ID=g1", "Parent=g1"]


def test_tabix_file__errors(tmp_path):
    p = _bed(tmp_path, b"chr1\t1\t2\n")
    with TabixFile(p) as t:
        with pytest.raises(RegionError):
            t.fetch("chrZ:1-10")
    q = tmp_path / "noidx.bed.gz"
    q.write_bytes(compress(b"chr1\t1\t2\n"))
    with pytest.raises(MissingIndexError):
        TabixFile(q)


def _line_by_line(t: TabixFile) -> TabixFile:
    t._query_fast = lambda *a: None  # the htslib-style reader, one line at a time
    return t


@pytest.mark.parametrize("path", TABIX_FILES + VCF_GZ, ids=ids(TABIX_FILES + VCF_GZ))
def test_tabix_file__chunk_parser_equals_line_by_line_reader(path):
    with TabixFile(path) as fast, _line_by_line(TabixFile(path)) as slow:
        gen = np.random.default_rng(3)
        for contig in fast.contigs:
            tid = fast.name2id(contig)
            for _ in range(25):
                s = int(gen.integers(0, 300_000))
                e = s + int(gen.integers(1, 200_000))
                assert list(fast.iter_query(tid, s, e)) == list(slow.iter_query(tid, s, e)), (contig, s, e)


def test_tabix_file__chunk_parser_odd_lines_fall_back_or_agree(tmp_path):
    rows = [b"#meta"]
    rows += [b"chr1\t%d\t%d\tf%d" % (p, p + 50, p) for p in range(0, 300_000, 37)]
    rows += [b"chr1\t+300001\t300100\tsigned", b"chr1\t300200\t300300\tcr\r"]
    rows += [b"chr2\t%d\t%d\tg" % (p, p + 5) for p in range(0, 5000, 7)]
    rows.insert(rows.index(b"chr2\t7\t12\tg") + 1, b"chr2\t010\t20\toctal")  # strtoll reads 010 as 8
    p = _bed(tmp_path, b"\n".join(rows) + b"\n")
    with TabixFile(p) as fast, _line_by_line(TabixFile(p)) as slow:
        for contig, s, e in [("chr1", 0, 10), ("chr1", 1000, 90_000), ("chr1", 299_990, 400_000),
                             ("chr2", 0, 100), ("chr2", 4990, 10_000), ("chr1", 150_000, 150_001)]:
            tid = fast.name2id(contig)
            got = list(fast.iter_query(tid, s, e))
            assert got == list(slow.iter_query(tid, s, e)), (contig, s, e)
            assert all(type(rec[0]) is bytes for rec in got)


def _small_blocks(text: bytes, size: int) -> bytes:
    """BGZF with ``size``-byte blocks, so queries cross many blocks (lines split across blocks too)."""
    from hts_notebook.core.bgzf import BGZF_EOF, _compress_block

    return b"".join(_compress_block(text[i:i + size], 6) for i in range(0, len(text), size)) + BGZF_EOF


def _scan_fixture(tmp_path, conf, rows, name, block):
    from hts_notebook.core.index.tbi import TabixConfig

    p = tmp_path / name
    text = b"\n".join(rows)
    p.write_bytes(_small_blocks(text if name.endswith("nonl.gz") else text + b"\n", block))
    write_tbi(build_tabix_index(p, TabixConfig(*conf)), str(p) + ".tbi")
    return p


@pytest.mark.parametrize("conf,layout,name", [
    ((0x10000, 1, 2, 3, ord("#"), 0), "bed", "bed.gz"),  # BED: 0-based begin
    ((0, 1, 4, 5, ord("#"), 0), "gff", "gff.gz"),  # GFF: 1-based
    ((0, 2, 3, 0, ord("#"), 0), "seq2", "seq2.gz"),  # sequence in column 2, no end column
    ((0x10000, 1, 2, 3, ord("#"), 0), "bed", "bed.nonl.gz"),  # last line without a newline
])
@pytest.mark.parametrize("block", [900, 20_000])
def test_tabix_scan__random_queries_equal_line_reader(tmp_path, conf, layout, name, block):
    gen = np.random.default_rng(11)
    rows = [b"#header"]
    for contig in (b"chr1", b"chr10", b"c2"):
        starts = np.sort(gen.integers(1, 400_000, 3000))
        for k, s in enumerate(starts.tolist()):
            length = int(gen.integers(1, 40)) if k % 50 else int(gen.integers(5_000, 60_000))  # some long features
            if layout == "bed":
                rows.append(b"%s\t%d\t%d\tf%d\t0\t+" % (contig, s, s + length, k))
            elif layout == "gff":
                rows.append(b"%s\tsrc\tgene\t%d\t%d\t.\t+\t.\tID=%d" % (contig, s, s + length, k))
            else:
                rows.append(b"x%d\t%s\t%d" % (k, contig, s))
            if k % 997 == 5:
                rows.append(b"# a comment between data lines")
    p = _scan_fixture(tmp_path, conf, rows, name, block)
    with TabixFile(p) as fast, _line_by_line(TabixFile(p)) as slow:
        for contig in fast.contigs:
            tid = fast.name2id(contig)
            queries = [(0, 1), (0, 1 << 40), (399_990, 500_000)]
            queries += [(s, s + int(gen.integers(1, 50_000))) for s in gen.integers(0, 400_000, 40).tolist()]
            for s, e in queries:
                want = list(slow.iter_query(tid, s, e))
                assert list(fast.iter_query(tid, s, e)) == want, (contig, s, e)
                got = fast.fetch_intervals((contig, s, e))
                assert got.lines == [w[0] for w in want]
                assert got.interval_start.tolist() == [w[2] for w in want]
                assert got.interval_stop.tolist() == [w[3] for w in want]
                assert got.contig_index.tolist() == [tid] * len(want)


def test_tabix_scan__unusual_lines_take_the_line_reader(tmp_path):
    from hts_notebook.core.formats.interval.tabix_scan import query_lines

    rows = [b"chr1\t%d\t%d" % (p, p + 10) for p in range(100, 5000, 10)]
    p = _bed(tmp_path, b"\n".join(rows[:50] + [b"chr1\t600\t01750"] + rows[50:]) + b"\n")  # octal end: strtoll reads 1000
    with TabixFile(p) as t:
        chunks = t.index.query_chunks(0, 550, 650)
        assert query_lines(t, 0, 550, 650, chunks, t._blocks) is None
        assert t.fetch_intervals(("chr1", 595, 650)).interval_stop.tolist() == [600, 1000, 610, 620, 630, 640, 650]
