"""VariantHeader: byte-identical round trip, typed definitions, BCF dictionary order."""
from __future__ import annotations

import pytest

from hts_notebook.core.errors import FormatError
from hts_notebook.core.formats.variant.header import VariantHeader, parse_structured
from tests.conftest import corpus_files, ids

TEXT = ('##fileformat=VCFv4.3\n'
        '##FILTER=<ID=q10,Description="Quality below 10">\n'
        '##contig=<ID=20,length=62435964,assembly=B36>\n'
        '##INFO=<ID=DP,Number=1,Type=Integer,Description="Total \\"depth\\", all">\n'
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
        '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Read depth">\n'
        '##INFO=<ID=AF,Number=A,Type=Float,Description="Allele frequency">\n'
        '##source=myprog\n'
        '#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tNA1\tNA2\n')


def test_variant_header__round_trip_exact():
    assert VariantHeader.parse(TEXT).to_text() == TEXT


def test_variant_header__typed_definitions():
    h = VariantHeader.parse(TEXT)
    assert h.fileformat == "VCFv4.3"
    assert h.samples == ["NA1", "NA2"]
    assert h.contigs["20"].length == 62435964 and h.contigs["20"].attrs["assembly"] == "B36"
    assert (h.info["AF"].number, h.info["AF"].type) == ("A", "Float")
    assert h.info["DP"].description == 'Total "depth", all'
    assert list(h.filters) == ["PASS", "q10"]


def test_variant_header__bcf_dictionary_htslib_order():
    h = VariantHeader.parse(TEXT)
    # PASS 0, then FILTER/INFO/FORMAT IDs in header order, one shared numbering
    assert h.string_dictionary() == ["PASS", "q10", "DP", "GT", "AF"]
    assert h.info["DP"].idx == h.format["DP"].idx == 2
    assert h.contig_dictionary() == ["20"]


def test_variant_header__idx_attributes_honoured():
    t = TEXT.replace('##INFO=<ID=AF,Number=A,Type=Float,Description="Allele frequency">',
                     '##INFO=<ID=AF,Number=A,Type=Float,Description="Allele frequency",IDX=7>')
    h = VariantHeader.parse(t)
    assert h.info["AF"].idx == 7 and h.string_dictionary()[7] == "AF"


def test_variant_header__add_helpers():
    h = VariantHeader()
    h.add_contig("chr1", 100)
    h.add_info("NS", 1, "Integer", "Samples")
    h.add_sample("s1")
    t = h.to_text()
    assert t.splitlines()[-1] == "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\ts1"
    assert VariantHeader.parse(t).info["NS"].type == "Integer"


def test_variant_header__no_chrom_line_raises():
    with pytest.raises(FormatError, match="#CHROM"):
        VariantHeader.parse("##fileformat=VCFv4.3\n")


def test_variant_header__duplicate_sample_raises():
    with pytest.raises(FormatError, match="sample"):
        VariantHeader.parse("##fileformat=VCFv4.3\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\ta\ta\n")


def test_parse_structured__unterminated_quote_reported():
    attrs, problem = parse_structured('<ID=X,Description="oops>')
    assert attrs["ID"] == "X" and "quote" in problem


@pytest.mark.parametrize("path", [p for p in corpus_files("vcf", (".vcf",))], ids=ids(corpus_files("vcf", (".vcf",))))
def test_variant_header__corpus_round_trip(path):
    text = "".join(ln for ln in path.read_text(encoding="utf-8").splitlines(True) if ln.startswith("#"))
    assert VariantHeader.parse(text).to_text() == text
