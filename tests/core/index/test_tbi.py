"""TBI read/write and building TBI/CSI from bgzipped text, byte-identical to tabix 1.16."""
from __future__ import annotations

import gzip
import shutil
import subprocess

import pytest

from hts_notebook.core.bgzf import compress
from hts_notebook.core.index.csi import csi_bytes, parse_csi
from hts_notebook.core.index.tabix_build import build_tabix_index, c_strtoll, parse_interval
from hts_notebook.core.index.tbi import (PRESETS, TabixConfig, pack_tabix_header, parse_tabix_header, parse_tbi,
                                        read_tbi, tbi_bytes)
from tests.conftest import corpus_files, ids

TABIX = shutil.which("tabix")
TBIS = [p for p in corpus_files("tabix", (".tbi",)) + corpus_files("vcf", (".tbi",))]

# (data file, tabix args, conf, csi min_shift)
BUILD_CASES = []
for _p in corpus_files("tabix", (".gz",)):
    if "roh" in _p.name:
        BUILD_CASES.append((_p, ["-s1", "-b2", "-e2"], PRESETS["gff"].replace(col_beg=2, col_end=2), 0))
    elif ".bed" in _p.name:
        BUILD_CASES += [(_p, ["-p", "bed"], PRESETS["bed"], 0), (_p, ["-p", "bed", "-C"], PRESETS["bed"], 14)]
    else:
        if "large" not in _p.name:
            BUILD_CASES.append((_p, ["-p", "gff"], PRESETS["gff"], 0))
        BUILD_CASES.append((_p, ["-p", "gff", "-C"], PRESETS["gff"], 14))
for _p in corpus_files("vcf", (".vcf.gz",)):
    BUILD_CASES += [(_p, ["-p", "vcf"], PRESETS["vcf"], 0), (_p, ["-p", "vcf", "-C"], PRESETS["vcf"], 14),
                    (_p, ["-p", "vcf", "-m", "12"], PRESETS["vcf"], 12)]


@pytest.mark.parametrize("path", TBIS, ids=ids(TBIS))
def test_read_tbi__corpus_roundtrip_bytes(path):
    raw = gzip.open(path).read()
    index = read_tbi(path)
    assert index.fmt == "tbi"
    assert tbi_bytes(index) == raw


@pytest.mark.skipif(TABIX is None, reason="tabix not installed")
@pytest.mark.parametrize("case", BUILD_CASES, ids=[f"{c[0].name}{''.join(c[1])}" for c in BUILD_CASES])
def test_build_tabix_index__equals_tabix(case, tmp_path):
    src, args, conf, shift = case
    data = tmp_path / src.name
    shutil.copy(src, data)
    data.chmod(0o644)
    subprocess.run([TABIX, "-f", *args, str(data)], check=True, capture_output=True)
    want = gzip.open(str(data) + (".csi" if shift else ".tbi")).read()
    index = build_tabix_index(data, conf, min_shift=shift)
    got = csi_bytes(index) if shift else tbi_bytes(index)
    assert got == want


def test_tabix_header__pack_parse_roundtrip():
    conf = TabixConfig(0x10000, 1, 2, 3, ord("#"), 2)
    aux = pack_tabix_header(conf, ["chr1", "chrX"])
    assert len(aux) == 28 + 10
    assert parse_tabix_header(aux) == (conf, ["chr1", "chrX"])


def test_parse_interval__presets():
    assert parse_interval(PRESETS["bed"], b"chr1\t10\t20\tx") == (b"chr1", 10, 20)
    assert parse_interval(PRESETS["gff"], b"c\ts\tt\t11\t20") == (b"c", 10, 20)
    # VCF: REF length, INFO/END larger than POS wins, END <= POS ignored
    assert parse_interval(PRESETS["vcf"], b"1\t100\t.\tACG\tA\t.\t.\tDP=3") == (b"1", 99, 102)
    assert parse_interval(PRESETS["vcf"], b"1\t100\t.\tA\t<DEL>\t.\t.\tEND=500") == (b"1", 99, 500)
    assert parse_interval(PRESETS["vcf"], b"1\t100\t.\tA\t<DEL>\t.\t.\tX=1;END=50") == (b"1", 99, 100)
    assert parse_interval(PRESETS["vcf"], b"1\t100\t.\tA\t<DEL>\t.\t.\tSVEND=900") == (b"1", 99, 100)
    # SAM: CIGAR M/D/N length
    sam = b"r\t0\tchr1\t5\t60\t3M2I4D1N\t*\t0\t0\tACGTA\t*"
    assert parse_interval(PRESETS["sam"], sam) == (b"chr1", 4, 12)
    assert parse_interval(PRESETS["bed"], b"chr1\tx\t20") is None
    assert parse_interval(PRESETS["bed"], b"chr1") is None


def test_c_strtoll__bases_and_failures():
    assert c_strtoll(b"123abc") == 123
    assert c_strtoll(b"0x10") == 16
    assert c_strtoll(b"010") == 8
    assert c_strtoll(b" -5") == -5
    assert c_strtoll(b"abc") is None
    assert c_strtoll(b"") is None


def test_build_tabix_index__skip_meta_and_empty_file(tmp_path):
    p = tmp_path / "x.bed.gz"
    p.write_bytes(compress(b"#h\nskip\nc1\t0\t5\nc1\t3\t9\nc2\t1\t2\n"))
    index = build_tabix_index(p, PRESETS["bed"].replace(line_skip=2))
    conf, names = parse_tabix_header(index.aux)
    assert names == ["c1", "c2"] and conf.line_skip == 2
    assert index.stats() == [(2, 0), (1, 0)]
    e = tmp_path / "e.bed.gz"
    e.write_bytes(compress(b"#only header\n"))
    empty = build_tabix_index(e, PRESETS["bed"])
    assert empty.n_ref == 0 and parse_tbi(tbi_bytes(empty)).n_ref == 0


def test_build_tabix_index__unsorted_raises(tmp_path):
    from hts_notebook.core.errors import FormatError

    p = tmp_path / "u.bed.gz"
    p.write_bytes(compress(b"c1\t10\t20\nc1\t5\t8\n"))
    with pytest.raises(FormatError):
        build_tabix_index(p, PRESETS["bed"])


def test_build_tabix_index__tbi_limit_raises_csi_ok(tmp_path):
    from hts_notebook.core.errors import LimitExceededError

    p = tmp_path / "big.bed.gz"
    p.write_bytes(compress(b"c1\t600000000\t600000010\n"))
    with pytest.raises(LimitExceededError):
        build_tabix_index(p, PRESETS["bed"])
    index = build_tabix_index(p, PRESETS["bed"], min_shift=14)
    assert parse_csi(csi_bytes(index)).depth == 6
