"""VCF reader/writer: corpus oracles, exact-text edge cases, bcftools round trip."""
from __future__ import annotations

import io
import shutil
import subprocess
import warnings

import numpy as np
import pytest

from hts_notebook.core.errors import FormatError
from hts_notebook.core.formats.variant.reader import VariantFile
from hts_notebook.core.formats.variant.vcf import format_vcf_records, read_vcf, write_vcf
from tests.conftest import corpus_files, ids, oracle_for
from tests.core.formats._vcf_oracle import compare_record, record_view

VCFS = [p for p in corpus_files("vcf") if not p.name.endswith((".tbi", ".csi"))]

HDR = ('##fileformat=VCFv4.3\n##contig=<ID=1,length=1000>\n'
       '##INFO=<ID=AF,Number=A,Type=Float,Description="af">\n'
       '##INFO=<ID=F,Number=0,Type=Flag,Description="f">\n'
       '##FORMAT=<ID=GT,Number=1,Type=String,Description="g">\n'
       '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="ad">\n'
       '#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\ta\tb\n')


def _read(text, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_vcf(io.BytesIO(text.encode()), **kw)


@pytest.mark.parametrize("path", VCFS, ids=ids(VCFS))
def test_read_vcf__matches_oracle(path):
    o = oracle_for(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        h, b = read_vcf(path)
    assert h.version == o["header"]["version"]
    assert h.samples == o["header"]["samples"]
    exp_contigs = {c: n for c, n in o["header"]["contigs"]}
    for c in h.contigs.values():
        if c.declared:  # pysam keeps 32-bit lengths and adds index-only contigs; compare what both know
            assert c.length is None or c.id not in exp_contigs or c.length >= 2**31 or c.length == exp_contigs[c.id]
    def t(x):  # pysam reports Character as String
        return "String" if x == "Character" else x

    for k, d in o["header"]["info"].items():
        assert t(h.info[k].type) == d["type"] and (d["number"] is None or h.info[k].number == d["number"])
    for k, d in o["header"]["format"].items():
        assert t(h.format[k].type) == d["type"]
    assert set(o["header"]["filters"]) <= set(h.filters)
    assert len(b) == o["record_count"]
    names = h.contig_names
    counts = {}
    for c in b.contig:
        counts[names[c]] = counts.get(names[c], 0) + 1
    assert counts == o["record_count_per_contig"]
    diffs = []
    for i, er in enumerate(o["records"]):
        diffs += compare_record(record_view(h, b, i, o["samples_serialised"]), er, f"record {i}: ")
    # pysam shows a Flag written with a value ('H2=.') as None: our reader keeps the flag set
    diffs = [d for d in diffs if "!= None" not in d or "info" not in d]
    assert diffs == []


@pytest.mark.parametrize("path", VCFS, ids=ids(VCFS))
def test_variant_file__region_windows_match_oracle(path):
    o = oracle_for(path)
    if not o.get("regions"):
        pytest.skip("oracle has no regions")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        vf = VariantFile(path)
        for w in o["regions"]:
            b = vf.fetch_batch(w["region"])
            assert len(b) == w["count"], w["region"]
            for i, er in enumerate(w["records"][:30]):
                assert compare_record(record_view(vf.header, b, i, o["samples_serialised"]), er) == []


def test_read_vcf__vectors_missing_and_fill():
    text = HDR + "1\t5\t.\tA\tC,G\t.\t.\tAF=0.5,.;F\tGT:AD\t0/1:1,.,3\t./.:.\n"
    h, b = _read(text)
    assert b.info["AF"].shape == (1, 2) and b.info["AF"][0, 0] == np.float32(0.5) and np.isnan(b.info["AF"][0, 1])
    assert b.info["F"].tolist() == [True]
    assert b.format["AD"][0, 0].tolist() == [1, -1, 3]
    assert b.format["AD"][0, 1].tolist() == [-1, -2, -2]
    assert b.genotype[0].tolist() == [[0, 1], [-1, -1]]
    assert np.isnan(b.quality[0]) and b.filter_missing[0]
    assert b.stop[0] == 5


def test_read_vcf__mixed_ploidy_and_phasing():
    text = HDR + "1\t7\t.\tA\tC\t.\tPASS\t.\tGT\t1\t0|1\n1\t8\t.\tA\tC\t.\tPASS\t.\tGT\t0/1/1\t.\n"
    h, b = _read(text)
    assert b.genotype.shape == (2, 2, 3)
    assert b.genotype[0].tolist() == [[1, -2, -2], [0, 1, -2]]
    assert b.genotype[1].tolist() == [[0, 1, 1], [-1, -2, -2]]
    assert b.phased.tolist() == [[True, True], [False, True]]


def test_read_vcf__position_beyond_2_31_and_breakends():
    text = HDR + "1\t10000000000\tbnd1\tT\tT[1:5[,<DEL>\t10\tPASS\t.\tGT\t0/1\t0/2\n"
    h, b = _read(text)
    assert b.position[0] == 10_000_000_000 and b.stop[0] == 10_000_000_000
    assert b.record_alleles(0) == ["T", "T[1:5[", "<DEL>"]


def test_read_vcf__end_sets_stop():
    text = HDR.replace("##FORMAT=<ID=GT", '##INFO=<ID=END,Number=1,Type=Integer,Description="e">\n##FORMAT=<ID=GT') \
        + "1\t10\t.\tA\t<DEL>\t.\tPASS\tEND=50\tGT\t0/1\t0/0\n"
    h, b = _read(text)
    assert b.stop[0] == 50


def test_read_vcf__bad_integer_strict_names_field_and_line():
    text = HDR + "1\t5\t.\tA\tC\t.\t.\t.\tGT:AD\t0/1:1,x\t0/0:1,2\n"
    with pytest.raises(FormatError, match=r"line 8.*AD"):
        _read(text, strict=True)
    _, batch = read_vcf(io.BytesIO(text.encode()))
    with pytest.warns(UserWarning):  # lenient: FORMAT/AD is decoded, and complained about, when first read
        ad = batch.format["AD"]
    assert ad[0, 1].tolist() == [1, 2]


def test_read_vcf__bad_pos_raises():
    with pytest.raises(FormatError, match="POS"):
        _read(HDR + "1\tabc\t.\tA\tC\t.\t.\t.\tGT\t0\t0\n")


def test_read_vcf__truncated_gzip_raises():
    import gzip

    data = gzip.compress((HDR + "1\t5\t.\tA\tC\t.\t.\t.\tGT\t0\t0\n").encode())[:-12]
    with pytest.raises(FormatError):
        read_vcf(io.BytesIO(data))


def test_format_vcf_records__htslib_float_formatting():
    text = HDR + "1\t5\t.\tA\tC\t1e10\t.\tAF=0.000123456\tGT\t0\t0\n"
    h, b = _read(text)
    assert format_vcf_records(h, b)[0].split("\t")[5:8] == ["1e+10", ".", "AF=0.000123456"]


def test_iter_chunks__bounded_batches():
    path = next((p for p in VCFS if p.name == "tabixjs-raw.g.vcf.gz"), None)
    if path is None:
        pytest.skip("corpus absent")
    sizes = [len(b) for b in VariantFile(path).iter_chunks(5000)]
    assert max(sizes) <= 5000 and sum(sizes) == oracle_for(path)["record_count"]


@pytest.mark.skipif(shutil.which("bcftools") is None, reason="bcftools not installed")
@pytest.mark.parametrize("path", [p for p in VCFS if p.name.endswith(".vcf") and p.name not in (
    "htslib-vcf44_1.vcf",  # bcftools 1.16 stops on VCF 4.4 phasing prefixes
    "htsspecs-v43-complexfile_passed_000.vcf",  # FILTER order is not kept (bool matrix)
    "htsspecs-v43-passed_body_info.vcf",  # Flag with a value (DB=0) is written as a bare flag
)], ids=lambda p: p.name)
def test_write_vcf__bcftools_view_identical(path, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        h, b = read_vcf(path)
    out = tmp_path / "out.vcf"
    write_vcf(out, h, b)
    a = subprocess.run(["bcftools", "view", "--no-version", str(path)], capture_output=True).stdout
    c = subprocess.run(["bcftools", "view", "--no-version", str(out)], capture_output=True).stdout
    assert a.decode() == c.decode()


@pytest.mark.parametrize("cells", [
    ["0/1", "1|1"],          # one-character diploid calls: the fast path
    ["./.", "0|."],          # missing alleles, still the fast path
    ["0", "1/1"],            # a haploid call: the general parser for the block
    ["10/1", "0/0"],         # a two-digit allele: the general parser
    ["0/1/1", "0|1"],        # triploid
])
def test_read_vcf__genotype_fast_path_equals_general_parser(cells):
    alts = ",".join("ACGTACGTACG"[: 10])  # 11 alleles so allele 10 is in range
    text = HDR + f"1\t5\t.\tA\t{alts}\t.\t.\t.\tGT\t" + "\t".join(cells) + "\n"
    _, lenient = _read(text)
    _, strict = _read(text, strict=True)  # strict mode always takes the general parser
    assert lenient.genotype.tolist() == strict.genotype.tolist()
    assert lenient.phased.tolist() == strict.phased.tolist()


def test_variant_batch__format_fields_decoded_on_first_read_and_kept_lazy_by_take():
    from hts_notebook.core.formats.variant.batch import LazyFields

    text = HDR + "".join(f"1\t{p}\t.\tA\tC\t.\t.\t.\tGT:AD\t0/1:{p},1\t1/1:0,{p}\n" for p in range(5, 15))
    _, b = _read(text)
    assert isinstance(b.format, LazyFields) and b.format.pending == ["AD"]
    assert "AD" in b.format and list(b.format) == ["AD"]
    sub = b.take(np.array([7, 2]))
    assert sub.format.pending == ["AD"]  # the cut did not decode it
    assert sub.format["AD"][:, 0, 0].tolist() == [12, 7]
    assert b.format.pending == ["AD"]
    assert dict(b.format)["AD"][:, 1, 1].tolist() == list(range(5, 15))  # dict() builds the values
    assert b.format.pending == []


def test_bcf_reader__format_fields_decoded_on_first_read(tmp_path):
    bcftools = shutil.which("bcftools")
    if bcftools is None:
        pytest.skip("bcftools not installed")
    vcf = tmp_path / "x.vcf"
    vcf.write_text(HDR + "".join(f"1\t{p}\t.\tA\tC\t.\t.\t.\tGT:AD\t0/1:{p},1\t1|1:0,{p}\n" for p in range(5, 15)))
    bcf = tmp_path / "x.bcf"
    subprocess.run([bcftools, "view", "-Ob", "-o", str(bcf), str(vcf)], check=True)
    f = VariantFile(str(bcf))
    (b,) = list(f.iter_chunks())
    assert b.format.pending == ["AD"]
    assert b.genotype[:, 1].tolist() == [[1, 1]] * 10 and b.phased[:, 1].all()
    assert b.format["AD"][:, 0, 0].tolist() == list(range(5, 15))


def test_read_vcf__info_items_split_at_once_keep_order_values_and_flags():
    body = ("1\t5\t.\tA\tC\t.\t.\tAF=0.5;F\tGT\t0/1\t0/0\n"
            "1\t6\t.\tA\tC,G\t.\t.\tF;AF=0.25,0.75\tGT\t0/1\t0/0\n"
            "1\t7\t.\tA\tC\t.\t.\t.\tGT\t0/1\t0/0\n"
            "1\t8\t.\tA\tC\t.\t.\tAF=.\tGT\t0/1\t0/0\n")
    _, b = _read(HDR + body)
    assert b.info_keys.tolist() == ["AF;F", "F;AF", "", "AF"]
    assert b.info_present["F"].tolist() == [True, True, False, False]
    assert b.info_present["AF"].tolist() == [True, True, False, True]
    af = b.info["AF"]
    assert af[0, 0] == 0.5 and af[1].tolist() == [0.25, 0.75]
    with pytest.warns(UserWarning, match="empty INFO key"):
        read_vcf(io.BytesIO((HDR + "1\t5\t.\tA\tC\t.\t.\tAF=0.5;;F\tGT\t0/1\t0/0\n").encode()))


def test_format_vcf_records__flag_with_value_and_bare_key_printed_as_htslib_does():
    from hts_notebook.core.formats.variant.batch import concat

    body = ("1\t5\t.\tA\tC\t.\t.\tF\tGT\t0/1\t0/0\n"
            "1\t6\t.\tA\tC\t.\t.\tF=0\tGT\t0/1\t0/0\n"
            "1\t7\t.\tA\tC\t.\t.\tU\tGT\t0/1\t0/0\n"
            "1\t8\t.\tA\tC\t.\t.\tU=x\tGT\t0/1\t0/0\n")
    h, b = _read(HDR + body)
    want = ["F", "F=0", "U", "U=x"]
    assert [r.split("\t")[7] for r in format_vcf_records(h, b)] == want
    again = concat([b.take(np.array([3, 1])), b.take(np.array([0, 2]))])
    assert [r.split("\t")[7] for r in format_vcf_records(h, again)] == ["U=x", "F=0", "F", "U"]
