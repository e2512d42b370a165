"""hts-specs VCF conformance: valid files read in strict mode, >= 95% of invalid ones rejected."""
from __future__ import annotations

import csv
import warnings

import pytest

from hts_notebook.core.errors import HtsError
from hts_notebook.core.formats.variant.vcf import read_vcf
from tests.conftest import CONFORMANCE

ROWS = []
if (CONFORMANCE / "MANIFEST.tsv").exists():
    with open(CONFORMANCE / "MANIFEST.tsv", newline="") as fh:
        ROWS = [r for r in csv.DictReader(fh, delimiter="\t") if r["kind"] in ("vcf-valid", "vcf-invalid")]
VALID = [r["path"] for r in ROWS if r["kind"] == "vcf-valid"]
INVALID = [r for r in ROWS if r["kind"] == "vcf-invalid"]


@pytest.mark.parametrize("rel", VALID)
def test_read_vcf__conformance_valid_strict(rel):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        h, b = read_vcf(CONFORMANCE / rel, strict=True)
    n_lines = sum(1 for ln in open(CONFORMANCE / rel, "rb") if ln.strip() and not ln.startswith(b"#"))
    assert len(b) == n_lines


@pytest.mark.skipif(not INVALID, reason="conformance set absent")
def test_read_vcf__conformance_invalid_rejected_95_percent():
    accepted = []
    for r in INVALID:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                read_vcf(CONFORMANCE / r["path"], strict=True)
        except HtsError:
            continue
        accepted.append((r["path"], r["cause"]))
    assert 1 - len(accepted) / len(INVALID) >= 0.95, accepted
