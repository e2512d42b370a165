"""Shared test fixtures: paths to ../shared (skipped cleanly when absent)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
CORPUS = SHARED / "corpus"
CONFORMANCE = SHARED / "conformance"
DATA = Path(__file__).resolve().parent / "data"


def corpus_files(folder: str, suffixes=()) -> list[Path]:
    """Data files of a corpus folder (empty list when ../shared is absent)."""
    d = CORPUS / folder
    if not d.is_dir():
        return []
    out = []
    for p in sorted(d.iterdir()):
        if p.is_file() and (not suffixes or any(p.name.endswith(s) for s in suffixes)):
            out.append(p)
    return out


def oracle_for(path: Path) -> dict:
    """The oracle JSON of a corpus data file."""
    rel = path.relative_to(CORPUS)
    name = str(rel).replace("/", "__")
    cand = [CORPUS / "oracle" / (name + ".json"), CORPUS / "oracle" / (path.name + ".json")]
    for c in cand:
        if c.exists():
            return json.loads(c.read_text())
    pytest.skip(f"no oracle for {rel}")


def ids(paths):
    return [p.name for p in paths]


requires_shared = pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus is absent")
requires_samtools = pytest.mark.skipif(shutil.which("samtools") is None, reason="samtools not installed")
