"""Caches keyed by file identity: BAM headers and indexes are parsed once per unchanged file."""
from __future__ import annotations

import os

from hts_notebook.core.filecache import IdentityCache, file_identity
from hts_notebook.core.formats.alignment import reader as reader_mod
from hts_notebook.core.formats.alignment.bam import BamWriter
from hts_notebook.core.formats.alignment.header import AlignmentHeader
from hts_notebook.core.formats.alignment.reader import AlignmentFile
from tests.core.formats.test_bam import _all_match_batch


def _bam(path, text: str):
    header = AlignmentHeader(text, [("c", 100000)])
    with BamWriter(path, header) as w:
        w.write_batch(_all_match_batch([150, 150], seed=1))
    return path


def test_file_identity__changes_with_size_and_is_none_for_missing_or_directories(tmp_path):
    p = tmp_path / "f"
    p.write_bytes(b"abc")
    first = file_identity(p)
    assert first[0] == os.path.realpath(p) and first[2] == 3
    p.write_bytes(b"abcd")
    assert file_identity(p) != first
    assert file_identity(tmp_path / "missing") is None
    assert file_identity(tmp_path) is None


def test_identity_cache__keeps_the_most_recent_entries():
    cache = IdentityCache(2)
    cache.put(("a",), 1)
    cache.put(("b",), 2)
    assert cache.get(("a",)) == 1  # "a" is now the most recent
    cache.put(("c",), 3)
    assert cache.get(("b",)) is None and cache.get(("a",)) == 1 and cache.get(("c",)) == 3
    cache.put(None, 4)  # no identity, nothing stored
    assert cache.get(None) is None


def test_alignment_file__second_open_reuses_the_header_and_a_rewritten_file_is_read_again(tmp_path):
    path = _bam(tmp_path / "x.bam", "@HD\tVN:1.6\tSO:coordinate\n@SQ\tSN:c\tLN:100000\n")
    with AlignmentFile(path) as f:
        first = f.header
        n = len(f.fetch_batch())
    assert reader_mod._BAM_HEADERS.get(file_identity(path)) is not None
    with AlignmentFile(path) as g:
        assert g.header is not first and g.header.text == first.text and g.header.references == first.references
        g.header.references.append(("extra", 1))  # a copy: the cached header is untouched
        assert len(g.fetch_batch()) == n
    with AlignmentFile(path) as h:
        assert h.header.references == [("c", 100000)]
    _bam(path, "@HD\tVN:1.6\tSO:coordinate\n@SQ\tSN:c\tLN:100000\n@CO\tlonger header now\n")
    with AlignmentFile(path) as f:
        assert f.header.text.endswith("@CO\tlonger header now\n")
        assert len(f.fetch_batch()) == n
