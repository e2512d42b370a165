"""Damaged FASTA / .fai / .gzi: always an HtsError, never another exception or a short sequence."""
from __future__ import annotations

import hashlib
import shutil
import warnings

import pytest

from hts_notebook.core.errors import HtsError, TruncatedFileError
from hts_notebook.core.formats.sequence.fasta import FastaFile
from tests.conftest import corpus_files, ids, oracle_for, requires_shared

FASTA = [p for p in corpus_files("fasta") if not p.name.endswith((".fai", ".gzi"))]
SMALL = [p for p in FASTA if p.with_name(p.name + ".fai").stat().st_size < 4096]


def _copy(tmp_path, path):
    for ext in ("", ".fai", ".gzi"):
        src = path.with_name(path.name + ext)
        if src.exists():
            shutil.copy(src, tmp_path / src.name)
    return tmp_path / path.name


def _check_all(path, oracle, *, exact: bool):
    """Open and fetch every sequence; return normally only if every result is whole.

    ``exact``: the index is intact, so sequences must equal the oracle's.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fa = FastaFile(path, build_index=False)
    with fa:
        for entry in fa.index:
            seq = fa.fetch(contig=entry.name)
            assert len(seq) == entry.length, "silently short sequence"
            md5 = oracle["sequence_md5"].get(entry.name)
            if exact and md5 is not None:
                assert hashlib.md5(seq.encode()).hexdigest() == md5


@requires_shared
@pytest.mark.parametrize("path", FASTA, ids=ids(FASTA))
def test_fasta_file__truncated_data_raises(tmp_path, path):
    oracle = oracle_for(path)
    p = _copy(tmp_path, path)
    full = path.read_bytes()
    cuts = sorted({len(full) * k // 11 for k in range(11)} | {len(full) - 1, len(full) - 2, len(full) - 29})
    for cut in cuts:
        if cut < 0:
            continue
        p.write_bytes(full[:cut])
        try:
            _check_all(p, oracle, exact=True)
        except HtsError:
            continue
        # only a missing final newline / trailing text may go unnoticed
        assert full[:cut].rstrip(b"\r\n") == full.rstrip(b"\r\n") or cut >= len(full) - 2


@requires_shared
@pytest.mark.parametrize("path", FASTA, ids=ids(FASTA))
def test_fasta_file__truncated_index_raises_or_is_consistent(tmp_path, path):
    oracle = oracle_for(path)
    p = _copy(tmp_path, path)
    for ext in (".fai", ".gzi"):
        idx = tmp_path / (path.name + ext)
        if not idx.exists():
            continue
        full = idx.read_bytes()
        for cut in sorted({0, 1, 7, 9, len(full) // 2, len(full) - 1, len(full) - 3}):
            if cut < 0 or cut >= len(full):
                continue
            idx.write_bytes(full[:cut])
            try:
                _check_all(p, oracle, exact=False)
            except HtsError:
                pass
        idx.write_bytes(full)


@requires_shared
@pytest.mark.parametrize("path", SMALL, ids=ids(SMALL))
def test_fasta_file__bit_flipped_fai_raises_or_is_consistent(tmp_path, path):
    oracle = oracle_for(path)
    p = _copy(tmp_path, path)
    fai = tmp_path / (path.name + ".fai")
    full = fai.read_bytes()
    raised = 0
    for i in range(min(len(full), 120)):
        for bit in range(8):
            damaged = bytearray(full)
            damaged[i] ^= 1 << bit
            fai.write_bytes(bytes(damaged))
            try:
                _check_all(p, oracle, exact=False)
            except HtsError:
                raised += 1
    assert raised > 0


@requires_shared
def test_fasta_file__bgzf_without_eof_marker(tmp_path):
    path = [p for p in FASTA if p.name.endswith(".gz")][0]
    p = _copy(tmp_path, path)
    p.write_bytes(path.read_bytes()[:-28])
    with pytest.raises(TruncatedFileError):
        FastaFile(p, build_index=False)


def test_fasta_file__index_longer_than_file(tmp_path):
    p = tmp_path / "x.fa"
    p.write_bytes(b">a\nACGT\nAC\n")
    (tmp_path / "x.fa.fai").write_bytes(b"a\t9\t3\t4\t5\n")
    with pytest.raises(TruncatedFileError):
        FastaFile(p)


def test_fasta_file__index_layout_mismatch(tmp_path):
    p = tmp_path / "x.fa"
    p.write_bytes(b">a\nACGT\nAC\n>b\nGG\n")
    (tmp_path / "x.fa.fai").write_bytes(b"a\t6\t3\t3\t4\nb\t2\t14\t2\t3\n")
    with FastaFile(p) as fa:
        with pytest.raises(HtsError):
            fa.fetch(contig="a")
        assert fa.fetch(contig="b") == "GG"
    (tmp_path / "x.fa.fai").write_bytes(b"a\t8\t3\t4\t5\n")
    with FastaFile(p) as fa:
        with pytest.raises(HtsError):
            fa.fetch(contig="a")
