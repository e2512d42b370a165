"""Truncated and bit-flipped copies of every corpus VCF.gz: HtsError subclasses only, never a silently shorter result."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from hts_notebook.core.bgzf import BgzfReader
from hts_notebook.core.errors import HtsError
from hts_notebook.core.formats.variant.reader import VariantFile
from tests.conftest import corpus_files, ids

VCFGZ = corpus_files("vcf", (".vcf.gz",))


def _records(path) -> int:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sum(len(b) for b in VariantFile(str(path)).iter_chunks(10_000))


@pytest.mark.parametrize("path", VCFGZ, ids=ids(VCFGZ))
def test_variant_file__truncated_vcf_gz_raises_hts_error(path, tmp_path):
    data = path.read_bytes()
    blocks = BgzfReader(str(path)).inflate_range(0).block_coffsets.tolist()
    rng = np.random.default_rng(11)
    cuts = sorted(set(int(c) for c in blocks[1:]) | set(int(c) for c in rng.integers(1, len(data) - 1, 8)))
    for cut in cuts:
        bad = tmp_path / f"cut{cut}.vcf.gz"
        bad.write_bytes(data[:cut])
        with pytest.raises(HtsError):
            _records(bad)


@pytest.mark.parametrize("path", VCFGZ, ids=ids(VCFGZ))
def test_variant_file__bit_flipped_vcf_gz_raises_hts_error_or_reads_all(path, tmp_path):
    data = path.read_bytes()
    whole = _records(path)
    rng = np.random.default_rng(12)
    for k in range(12):
        bad = bytearray(data)
        i = int(rng.integers(0, len(bad) - 28))
        bad[i] ^= 1 << int(rng.integers(0, 8))
        target = tmp_path / f"flip{k}.vcf.gz"
        target.write_bytes(bytes(bad))
        try:
            n = _records(target)
        except HtsError:
            continue
        # a flip in an unchecked gzip header byte (MTIME, XFL, OS) leaves the data intact
        assert n == whole
