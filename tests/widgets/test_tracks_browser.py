"""Variant / feature / signal tracks and the pileup inspector in a real JupyterLab + headless chromium.

A notebook shows a BAM + VCF + bigWig + BED browser: each track's canvas draws
pixels; clicking a base updates the inspector (its position shows in the DOM
and in the kernel); no request leaves loopback.
"""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
HERE = Path(__file__).parent
STEP_MS = 60_000

if not os.path.exists(CHROMIUM):
    pytest.skip("Debian chromium (/usr/bin/chromium) is not installed", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")
pytest.importorskip("jupyterlab")
pytest.importorskip("anywidget")

sys.path.insert(0, str(HERE))
from jupyter_harness import JupyterLab  # noqa: E402
from test_region_browser_browser import (  # noqa: E402
    COUNT_PIXELS, KERNEL_EXEC, LAUNCH_ARGS, _guard_external, _open_notebook,
)

INITIAL = "chr1:10001-10300"


def _write_tracks(root: Path) -> dict:
    from hts_notebook import demo
    from hts_notebook.core.bgzf import BgzfWriter
    from hts_notebook.core.formats.bbi.writer import write_bigwig
    from hts_notebook.tools import run_tool_capture

    d = demo.files(root / "demo")
    starts = np.arange(9000, 12000, 5, dtype=np.int64)
    vals = (np.sin(starts / 40.0) + 1.5).astype(np.float32)
    bw = root / "signal.bw"
    write_bigwig(str(bw), {"chr1": 200_000, "chr2": 100_000}, {"chr1": (starts, starts + 5, vals)})
    bed = root / "genes.bed.gz"
    lines = ["chr1\t10020\t10260\tGENE1\t0\t+\t10060\t10220\t0\t3\t40,50,60,\t0,100,180,",
             "chr1\t10100\t10150\tBOX2\t0\t-"]
    with BgzfWriter(str(bed)) as w:
        w.write(("\n".join(lines) + "\n").encode())
    rc, _, err = run_tool_capture("tabix", ["-p", "bed", str(bed)])
    assert rc == 0, err
    return {"bam": d["bam"], "vcf": d["truth_vcf"], "bw": str(bw), "bed": str(bed)}


@pytest.fixture(scope="module")
def lab():
    with JupyterLab() as server:
        shutil.copy(HERE / "jupyter_harness.py", server.root / "jupyter_harness.py")
        f = _write_tracks(server.root)
        server.write_notebook("tracks.ipynb", [
            "from hts_notebook.widgets import RegionBrowser\n"
            f"browser = RegionBrowser([{f['bam']!r}, {f['vcf']!r}, {f['bw']!r}, {f['bed']!r}], '{INITIAL}')\n"
            "browser",
            "browser.inspector",
        ])
        yield server


def test_tracks_browser__all_kinds_draw_and_click_updates_inspector(lab):
    external = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1200})
            page.set_default_timeout(STEP_MS)
            _guard_external(page, external)
            _open_notebook(page, lab, "tracks.ipynb", 2)
            page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
            root = page.locator(".hts-rb")
            sync_api.expect(root).to_have_attribute("data-status", "ready", timeout=STEP_MS)
            assert root.get_attribute("data-region") == INITIAL
            kinds = page.evaluate("() => [...document.querySelectorAll('.hts-rb-track')].map(e => e.dataset.kind)")
            assert kinds == ["alignments", "variants", "signal", "features"]
            px = {sel: page.evaluate(COUNT_PIXELS, f".hts-rb canvas.{sel}")
                  for sel in ("hts-rb-coverage", "hts-rb-reads", "hts-rb-variants", "hts-rb-signal",
                              "hts-rb-features")}
            assert px["hts-rb-coverage"] > 500 and px["hts-rb-reads"] > 5000, px
            assert px["hts-rb-variants"] > 20, px
            assert px["hts-rb-signal"] > 2000, px
            assert px["hts-rb-features"] > 300, px

            # click (no drag) on the read stack: the browser marks the base, the inspector shows it
            insp = page.locator(".hts-pi")
            sync_api.expect(insp).to_have_count(1)
            box = page.locator(".hts-rb canvas.hts-rb-reads").bounding_box()
            page.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + 10)
            page.wait_for_function("() => document.querySelector('.hts-rb').dataset.selected !== ''")
            selected = root.get_attribute("data-selected")
            contig, pos = selected.split(":")
            assert contig == "chr1" and 10001 <= int(pos) <= 10300
            sync_api.expect(insp).to_have_attribute("data-position", selected, timeout=STEP_MS)
            depth = int(insp.get_attribute("data-depth"))
            assert depth > 0
            assert page.locator(".hts-pi-reads tr").count() > 1  # header + reads
            out = page.evaluate(KERNEL_EXEC, "print(browser.selected, browser.inspector.contig,"
                                             " browser.inspector.position, browser.inspector.data['depth'])")
            assert out.split() == [selected, "chr1", pos, str(depth)]

            # moving the inspector from Python updates its view
            page.evaluate(KERNEL_EXEC, "browser.inspector.position = 10150")
            sync_api.expect(insp).to_have_attribute("data-position", "chr1:10150", timeout=STEP_MS)
        finally:
            browser.close()
    assert external == [], external
