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


_BENCH_SMALL: list = []


def bench_small() -> Path:
    """The ``make_data.py --scale small`` bench data set (reads.bam, ref.fa, truth.vcf.gz ...).

    ``$HTS_BENCH_SMALL`` or ``/work/bench-data/small`` when they hold it;
    otherwise it is generated once (seeded, about 5 s) with
    ``../shared/bench/make_data.py`` into ``.pytest_cache/bench-small``.
    Without ``../shared`` the returned folder is empty and the tests that need
    it skip.
    """
    if _BENCH_SMALL:
        return _BENCH_SMALL[0]
    import os
    import subprocess
    import sys

    found = None
    for cand in (os.environ.get("HTS_BENCH_SMALL"), "/work/bench-data/small"):
        if cand and (Path(cand) / "manifest.json").exists():
            found = Path(cand)
            break
    if found is None:
        found = ROOT / ".pytest_cache" / "bench-small"
        gen = SHARED / "bench" / "make_data.py"
        if not (found / "manifest.json").exists() and gen.exists():  # written last: a whole set
            found.parent.mkdir(parents=True, exist_ok=True)
            done = subprocess.run([sys.executable, str(gen), str(found), "--scale", "small"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            if done.returncode != 0:  # the tests that need it skip; say why once
                print(f"bench data generation failed: {done.stderr[-500:]}", file=sys.stderr)
    _BENCH_SMALL.append(found)
    return found


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
