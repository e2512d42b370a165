import pytest

from hts_notebook.core.errors import RegionError
from hts_notebook.core.region import Region, parse_region


@pytest.mark.parametrize(
    "text, expected",
    [
        ("chr1", Region("chr1", 0, None)),
        ("chr1:100", Region("chr1", 99, None)),
        ("chr1:1,000-2,000", Region("chr1", 999, 2000)),
        ("chr1:-200", Region("chr1", 0, 200)),
        ("{HLA:1}:5-6", Region("HLA:1", 4, 6)),
        ("chr1:1-1", Region("chr1", 0, 1)),
    ],
)
def test_parse_region__samtools_strings(text, expected):
    assert parse_region(text) == expected


def test_parse_region__colon_in_known_contig_name():
    contigs = {"HLA-A*01:01": 3000, "chr1": 100}
    assert parse_region("HLA-A*01:01", contigs) == Region("HLA-A*01:01")
    assert parse_region("HLA-A*01:01:10-20", contigs) == Region("HLA-A*01:01", 9, 20)


def test_parse_region__unknown_contig_raises_region_error():
    with pytest.raises(RegionError) as exc:
        parse_region("chrZ:1-10", {"chr1": 10})
    assert isinstance(exc.value, KeyError)
    assert exc.value.field == "contig"


def test_parse_region__end_before_start_raises():
    with pytest.raises(RegionError):
        parse_region("chr1:200-100")


def test_region__str_is_one_based_closed():
    assert str(Region("chr1", 999, 2000)) == "chr1:1000-2000"
    assert str(Region("chr1")) == "chr1"
    assert str(Region("chr1", 0, 50).resolved(30)) == "chr1:1-30"
