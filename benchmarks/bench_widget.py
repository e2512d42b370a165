"""Region-browser latency in a real JupyterLab + headless chromium (run by hand).

Measures, on the quickstart notebook and the demo BAM:
* cold first ``%hts view``: from "run all cells" in a fresh kernel (fresh JAX
  cache directory, so JIT compilation is included) until the widget is drawn;
* pan round trips in a 20 kb window: request sent -> reply buffers drawn, as
  the widget itself records it (``data-round-trip-ms``), over 10 drags.

usage: python benchmarks/bench_widget.py
"""
from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # this checkout, not another installed copy
sys.path.insert(0, str(HERE.parent / "tests" / "widgets"))

from jupyter_harness import JupyterLab  # noqa: E402
from playwright.sync_api import sync_playwright, expect  # noqa: E402

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def main() -> int:
    cache = tempfile.mkdtemp(prefix="hts-jax-cache-")
    quick = json.loads((HERE.parent / "example_notebooks" / "01_quickstart.ipynb").read_text())
    for cell in quick["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
    n_cells = len(quick["cells"])
    results = {}
    with JupyterLab(env={"HTS_NOTEBOOK_JAX_CACHE": cache}) as lab:
        (lab.root / "q.ipynb").write_text(json.dumps(quick))
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(120_000)
            page.goto(lab.lab_url("q.ipynb").replace("?", "?reset&"), wait_until="domcontentloaded")
            page.wait_for_function(
                "(n) => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
                " const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;"
                " return !!k && k.status === 'idle' && w.content && w.content.widgets.length === n; }", arg=n_cells)
            # run up to (not including) the browser cell, then time the %hts view cell alone
            t0 = time.perf_counter()
            page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
            root = page.locator(".hts-rb")
            expect(root).to_have_attribute("data-status", "ready", timeout=120_000)
            results["cold_run_all_until_drawn_s"] = round(time.perf_counter() - t0, 3)
            # a 20 kb window, then pan by dragging
            page.evaluate("""async () => {
              const k = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
              await k.requestExecute({code: "browser.region = 'chr1:50,001-70,000'"}).done; }""")
            expect(root).to_have_attribute("data-region", "chr1:50001-70000", timeout=60_000)
            expect(root).to_have_attribute("data-status", "ready", timeout=60_000)
            trips = []
            canvas = page.locator(".hts-rb canvas.hts-rb-reads").first
            for i in range(10):
                before = root.get_attribute("data-region")
                box = canvas.bounding_box()
                x0, y = box["x"] + box["width"] * 0.6, box["y"] + 20
                page.mouse.move(x0, y)
                page.mouse.down()
                page.mouse.move(x0 - 100, y, steps=3)
                page.mouse.up()
                page.wait_for_function(
                    f"() => {{ const r = document.querySelector('.hts-rb');"
                    f" return r.dataset.region !== '{before}' && r.dataset.status === 'ready'; }}")
                trips.append(float(root.get_attribute("data-round-trip-ms")))
            results["pan_round_trip_ms_20kb"] = {"median": statistics.median(trips), "max": max(trips),
                                                  "all": trips}
            browser.close()
    print(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
