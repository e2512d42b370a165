"""bigBed reader against the corpus oracles (pyBigWig entries) and autoSql parsing."""
from __future__ import annotations

import numpy as np
import pytest

import hts_notebook
from hts_notebook.core.errors import FormatError
from hts_notebook.core.formats.bbi.bigbed import BigBedFile, parse_autosql
from tests.conftest import corpus_files, ids, oracle_for, requires_shared

BIGBEDS = corpus_files("bigbed")


@requires_shared
@pytest.mark.parametrize("path", BIGBEDS, ids=ids(BIGBEDS))
def test_bigbed__corpus_header_chroms_autosql(path):
    oracle = oracle_for(path)
    bb = hts_notebook.open(path)
    assert isinstance(bb, BigBedFile)
    assert [[k, v] for k, v in bb.contigs.items()] == oracle["chroms"]
    assert bb.autosql == oracle["autosql"]
    for key, value in oracle["header"].items():
        assert int(bb.header[key]) == value, key
    assert len(bb.zoom_levels) == oracle["pybbi_info"]["zoomLevels"]


@requires_shared
@pytest.mark.parametrize("path", BIGBEDS, ids=ids(BIGBEDS))
def test_bigbed__corpus_entries(path):
    oracle = oracle_for(path)
    bb = BigBedFile(path)
    for reg in oracle["regions"]:
        got = bb.entries((reg["chrom"], reg["start"], reg["stop"]))
        assert len(got) == reg["count"]
        assert [list(x) for x in got[: len(reg["entries"])]] == reg["entries"]


@requires_shared
@pytest.mark.parametrize("path", BIGBEDS, ids=ids(BIGBEDS))
def test_bigbed__corpus_entry_counts(path):
    oracle = oracle_for(path)
    bb = BigBedFile(path)
    for chrom, count in oracle["entry_count_per_chrom"].items():
        assert len(bb.entries(chrom, with_string=False)) == count


@requires_shared
@pytest.mark.parametrize("path", BIGBEDS, ids=ids(BIGBEDS))
def test_bigbed__query_typed_fields_match_entries(path):
    oracle = oracle_for(path)
    bb = BigBedFile(path)
    reg = oracle["regions"][0]
    ds = bb.query((reg["chrom"], reg["start"], reg["stop"]))
    assert ds.sizes["intervals"] == reg["count"]
    assert ds["interval_start"].dtype == np.int64
    names = ds["contig_id"].values[ds["interval_contig"].values]
    assert set(names.tolist()) <= {reg["chrom"]}
    extra = [f for f in bb.fields[3:]]
    for i, (start, end, rest) in enumerate(reg["entries"]):
        assert ds["interval_start"].values[i] == start and ds["interval_stop"].values[i] == end
        parts = rest.split("\t") if rest else []
        for f, text in zip(extra, parts):
            got = ds[f.name].values[i]
            if ds[f.name].dtype.kind in "iu":
                assert got == int(text), f.name
            elif ds[f.name].dtype.kind == "f":
                assert np.float32(got) == np.float32(float(text)) if ds[f.name].dtype == np.float32 \
                    else got == float(text)
            else:
                assert got == text, f.name


@requires_shared
def test_bigbed__typed_columns_of_rna_elements():
    bb = BigBedFile(next(p for p in BIGBEDS if p.name == "pybigwig-test.bigBed"))
    ds = bb.query("chr1:10,009,334-10,029,133")
    assert ds["score"].dtype == np.int64 and ds["level"].dtype == np.float32
    assert ds["name"].values[0] == "61035" and ds["strand"].values[0] == "-"
    assert ds["score2"].values[2] == 2672399
    assert ds.attrs["region"] == "chr1:10009334-10029133"


@requires_shared
def test_bigbed__extra_name_index_search():
    bb = BigBedFile(next(p for p in BIGBEDS if p.name == "bbijs-chr22_with_name_index.bb"))
    assert "name" in bb.extra_indexes
    ds = bb.search("ENST00000612732.1")
    assert ds.sizes["intervals"] == 1
    assert ds["interval_start"].values[0] == 11249808 and ds["geneName"].values[0] == "5_8S_rRNA"
    assert bb.search("no-such-name").sizes["intervals"] == 0


def test_autosql__parses_arrays_enums_and_comments():
    text = ('table t\n"desc (with parens)"\n(\n string chrom; "c"\n uint chromStart; "s"\n uint chromEnd; "e"\n'
            ' int[blockCount] sizes; "list"\n enum(a, b) kind; "an enum"\n double x; "value"\n lstring z; "long"\n)\n')
    name, fields = parse_autosql(text)
    assert name == "t"
    assert [(f.type, f.name) for f in fields][3:] == [("int[blockCount]", "sizes"), ("enum(a,b)", "kind"),
                                                      ("double", "x"), ("lstring", "z")]
    assert fields[5].dtype == np.float64 and fields[3].dtype.kind == "U"


def test_autosql__garbage_raises_format_error():
    with pytest.raises(FormatError):
        parse_autosql("table t (string chrom \"no semicolon\" ???)")
