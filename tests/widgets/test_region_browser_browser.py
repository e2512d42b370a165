"""RegionBrowser in a real JupyterLab + headless Debian chromium (playwright).

Starts JupyterLab on 127.0.0.1 (random port/token, temp root), opens a
notebook that builds a RegionBrowser on synthetic in-memory alignments, runs
all cells, checks the canvases drew, drags the read stack and checks the new
region reached the kernel, and that no request left localhost.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
HERE = Path(__file__).parent
EXAMPLES = HERE.parents[1] / "example_notebooks"
STEP_MS = 60_000

if not os.path.exists(CHROMIUM):
    pytest.skip("Debian chromium (/usr/bin/chromium) is not installed", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")
pytest.importorskip("jupyterlab")
pytest.importorskip("anywidget")

sys.path.insert(0, str(HERE))
from jupyter_harness import JupyterLab  # noqa: E402

INITIAL = "chr1:2901-3400"
CELLS = [
    "import sys\nsys.path.insert(0, '.')\n"
    "from jupyter_harness import synthetic_alignments\n"
    "from hts_notebook.widgets import RegionBrowser\n"
    "reads, ref = synthetic_alignments()\n"
    f"browser = RegionBrowser(reads, '{INITIAL}', reference=ref, max_depth=40)\n"
    "browser",
    "print('REGION=' + browser.region)",
]

LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]

COUNT_PIXELS = """(sel) => {
  const c = document.querySelector(sel);
  if (!c || !c.width || !c.height) return -1;
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
  return n;
}"""

KERNEL_EXEC = """async (code) => {
  const panel = window.jupyterapp.shell.currentWidget;
  const kernel = panel.sessionContext.session.kernel;
  let text = '';
  const future = kernel.requestExecute({ code });
  future.onIOPub = (msg) => {
    if (msg.header.msg_type === 'stream') text += msg.content.text;
  };
  await future.done;
  return text;
}"""


def _guard_external(page, external: list) -> None:
    """Abort and record any request that leaves loopback."""

    def guard(route):
        url = urlparse(route.request.url)
        if url.scheme in ("http", "https", "ws", "wss") and url.hostname not in ("127.0.0.1", "localhost"):
            external.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    page.route("**/*", guard)
    page.on("request", lambda r: external.append(r.url)
            if urlparse(r.url).scheme in ("http", "https") and urlparse(r.url).hostname not in
            ("127.0.0.1", "localhost") else None)


def _open_notebook(page, lab, name: str, n_cells: int) -> None:
    """Open a notebook in JupyterLab and wait for an idle kernel and all cells."""
    page.goto(lab.lab_url(name).replace("?", "?reset&"), wait_until="domcontentloaded")
    page.wait_for_function(
        "(n) => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
        " const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;"
        " return !!k && k.status === 'idle' && w.content && w.content.widgets.length === n; }",
        arg=n_cells,
        timeout=STEP_MS,
    )


def _drag(page, selector: str, dx: float) -> None:
    box = page.locator(selector).bounding_box()
    x0, y = box["x"] + box["width"] * 0.7, box["y"] + min(40, box["height"] / 2)
    page.mouse.move(x0, y)
    page.mouse.down()
    page.mouse.move(x0 + dx / 2, y, steps=5)
    page.mouse.move(x0 + dx, y, steps=5)
    page.mouse.up()


@pytest.fixture(scope="module")
def lab():
    with JupyterLab() as server:
        shutil.copy(HERE / "jupyter_harness.py", server.root / "jupyter_harness.py")
        server.write_notebook("browser.ipynb", CELLS)
        quick = json.loads((EXAMPLES / "01_quickstart.ipynb").read_text())
        for cell in quick["cells"]:
            if cell["cell_type"] == "code":
                cell["outputs"], cell["execution_count"] = [], None
        (server.root / "01_quickstart.ipynb").write_text(json.dumps(quick))
        server.n_quickstart_cells = len(quick["cells"])
        yield server


def test_region_browser__draws_pans_and_syncs_in_jupyterlab(lab, tmp_path):
    external = []
    timings = {}
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(STEP_MS)

            _guard_external(page, external)
            _open_notebook(page, lab, "browser.ipynb", 2)
            t0 = time.perf_counter()
            page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
            root = page.locator(".hts-rb")
            sync_api.expect(root).to_have_attribute("data-status", "ready", timeout=STEP_MS)
            timings["cold_first_view_s"] = time.perf_counter() - t0

            assert root.get_attribute("data-region") == INITIAL
            assert page.locator(".hts-rb-region").input_value() == "chr1:2,901-3,400"
            cov_px = page.evaluate(COUNT_PIXELS, ".hts-rb canvas.hts-rb-coverage")
            read_px = page.evaluate(COUNT_PIXELS, ".hts-rb canvas.hts-rb-reads")
            ref_px = page.evaluate(COUNT_PIXELS, ".hts-rb canvas.hts-rb-reference")
            assert cov_px > 500, cov_px
            assert read_px > 5000, read_px
            assert ref_px > 100, ref_px

            # drag the read stack 300 px to the left: the view moves right
            _drag(page, ".hts-rb canvas.hts-rb-reads", -300)
            page.wait_for_function(
                f"() => {{ const r = document.querySelector('.hts-rb');"
                f" return r.dataset.region !== '{INITIAL}' && r.dataset.status === 'ready'; }}",
                timeout=STEP_MS,
            )
            if os.environ.get("HTS_BROWSER_SCREENSHOT"):
                root.screenshot(path=os.environ["HTS_BROWSER_SCREENSHOT"])
            new_region = root.get_attribute("data-region")
            start, stop = (int(v) for v in new_region.split(":")[1].split("-"))
            assert stop - start == 499  # same width, 500 bases
            assert start > 2901
            # the kernel sees the same region (synced trait)
            out = page.evaluate(KERNEL_EXEC, "print(browser.region)")
            assert out.strip() == new_region
            assert page.evaluate(COUNT_PIXELS, ".hts-rb canvas.hts-rb-reads") > 5000

            # keyboard pan + zoom buttons, and Python -> browser region changes
            page.locator(".hts-rb-zoom-out").click()
            page.wait_for_function(
                f"() => document.querySelector('.hts-rb').dataset.region !== '{new_region}'"
                " && document.querySelector('.hts-rb').dataset.status === 'ready'", timeout=STEP_MS)
            zr = root.get_attribute("data-region")
            zs, ze = (int(v) for v in zr.split(":")[1].split("-"))
            assert ze - zs + 1 == 1000
            page.evaluate(KERNEL_EXEC, "browser.region = 'chr2:101-300'")
            sync_api.expect(root).to_have_attribute("data-region", "chr2:101-300", timeout=STEP_MS)
            sync_api.expect(root).to_have_attribute("data-status", "ready", timeout=STEP_MS)
            assert page.evaluate(COUNT_PIXELS, ".hts-rb canvas.hts-rb-coverage") > 100

            # the static snapshot reached Python
            page.wait_for_function("() => Number(document.querySelector('.hts-rb').dataset.snapshots || 0) > 0",
                                   timeout=STEP_MS)
            # the browser counts a snapshot when it sends it; the kernel handles the comm message between cells,
            # so ask again (each ask is one round trip) until it has arrived
            for _ in range(50):
                snap = page.evaluate(KERNEL_EXEC, "print(browser._snapshot[:22], len(browser._snapshot) > 1000)")
                if snap.strip() == "data:image/png;base64, True":
                    break
            assert snap.strip() == "data:image/png;base64, True"
        finally:
            browser.close()
    assert external == [], external
    print(json.dumps(timings))
    (Path(os.environ.get("HTS_BROWSER_TIMINGS", tmp_path / "timings.json"))).write_text(json.dumps(timings))


def test_region_browser__quickstart_view_cell_draws_and_pans(lab):
    """The quickstart's `%hts view` cell on the demo BAM draws, pans, and syncs to Python."""
    external = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(STEP_MS)
            _guard_external(page, external)
            _open_notebook(page, lab, "01_quickstart.ipynb", lab.n_quickstart_cells)
            page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
            root = page.locator(".hts-rb")
            sync_api.expect(root).to_have_attribute("data-status", "ready", timeout=STEP_MS)
            first = root.get_attribute("data-region")
            assert first == "chr1:10001-12000"
            assert page.evaluate(COUNT_PIXELS, ".hts-rb canvas.hts-rb-coverage") > 500
            assert page.evaluate(COUNT_PIXELS, ".hts-rb canvas.hts-rb-reads") > 5000
            _drag(page, ".hts-rb canvas.hts-rb-reads", -300)
            page.wait_for_function(
                f"() => {{ const r = document.querySelector('.hts-rb');"
                f" return r.dataset.region !== '{first}' && r.dataset.status === 'ready'; }}",
                timeout=STEP_MS,
            )
            new_region = root.get_attribute("data-region")
            start, stop = (int(v) for v in new_region.split(":")[1].split("-"))
            assert start > 10001 and stop - start == 1999
            out = page.evaluate(KERNEL_EXEC, "print(browser.region)")
            assert out.strip() == new_region
            # after its first drawing the output also carries a PNG, so a saved notebook keeps a picture
            page.wait_for_function(
                """() => {
                  const cells = window.jupyterapp.shell.currentWidget.content.model.cells;
                  for (let i = 0; i < cells.length; i++) {
                    const outs = cells.get(i).outputs;
                    if (!outs) continue;
                    for (let j = 0; j < outs.length; j++) {
                      const d = outs.get(j).data;
                      if (d && d['image/png'] && d['application/vnd.jupyter.widget-view+json']) return true;
                    }
                  }
                  return false;
                }""",
                timeout=STEP_MS,
            )
        finally:
            browser.close()
    assert external == [], external
