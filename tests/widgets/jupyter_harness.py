"""Test helpers: a real JupyterLab server in a temp root, and synthetic alignments.

``JupyterLab`` starts ``jupyter lab`` on 127.0.0.1 with a random free port and
a random token, in an isolated temporary root/config/runtime dir, and tears it
down (process group killed, dirs removed) on exit.  Nothing here reaches the
network: update checks and news are disabled in the generated config.

``synthetic_alignments`` builds an in-memory reference + AlignmentBatch (with
mismatches, deletions, insertions, spliced reads and one deep pile-up) so the
widget can be tested before/without the BAM reader.  This file is copied next
to the browser test's notebook so its kernel can import it.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_CONFIG = """
c.ServerApp.ip = "127.0.0.1"
c.ServerApp.open_browser = False
c.ServerApp.allow_remote_access = False
c.LabApp.news_url = None
c.LabApp.check_for_updates_class = "jupyterlab.NeverCheckForUpdate"
c.LanguageServerManager.autodetect = False
c.LabApp.extension_manager = "readonly"
c.LabApp.expose_app_in_browser = True
"""


class JupyterLab:
    """Context manager running ``jupyter lab`` for one test.

    Attributes
    ----------
    root : pathlib.Path
        Server root directory (put notebooks here).  Kernels get a fresh
        ``HTS_NOTEBOOK_JAX_CACHE`` in the temp dir (cold JIT, nothing written
        to ``~/.cache``) unless ``env`` overrides it.
    url : str
        ``http://127.0.0.1:PORT``.
    token : str
    """

    def __init__(self, startup_timeout: float = 60.0, env: dict | None = None):
        self.startup_timeout = startup_timeout
        self.extra_env = dict(env or {})
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.url = f"http://127.0.0.1:{self.port}"
        self._tmp = Path(tempfile.mkdtemp(prefix="hts_jlab_"))
        self.root = self._tmp / "root"
        self.root.mkdir()
        self.proc = None
        self.log_path = self._tmp / "server.log"

    def lab_url(self, path: str = "") -> str:
        return f"{self.url}/lab/tree/{path}?token={self.token}"

    def __enter__(self) -> "JupyterLab":
        cfg = self._tmp / "config"
        cfg.mkdir()
        (cfg / "jupyter_server_config.py").write_text(_CONFIG)
        env = dict(os.environ)
        env.update(
            JUPYTER_CONFIG_DIR=str(cfg),
            JUPYTER_RUNTIME_DIR=str(self._tmp / "runtime"),
            IPYTHONDIR=str(self._tmp / "ipython"),
            JUPYTERLAB_WORKSPACES_DIR=str(self._tmp / "workspaces"),
            JUPYTERLAB_SETTINGS_DIR=str(self._tmp / "settings"),
            HTS_NOTEBOOK_JAX_CACHE=str(self._tmp / "jax_cache"),
            PYTHONPATH=os.pathsep.join([str(self.root)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])),
        )
        env.update(self.extra_env)
        cmd = [
            sys.executable, "-m", "jupyterlab",
            "--no-browser", f"--port={self.port}", "--port-retries=0", "--ServerApp.ip=127.0.0.1",
            f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={self.root}",
            f"--LabApp.workspaces_dir={self._tmp / 'workspaces'}",
            f"--LabApp.user_settings_dir={self._tmp / 'settings'}",
            "--LabApp.expose_app_in_browser=True",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, cwd=self.root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        self._ready = threading.Event()
        self._listening = False
        self._pump = threading.Thread(target=self._read_output, daemon=True)
        self._pump.start()
        # the server prints its URL once it listens; wait on that event (no polling sleeps)
        if not self._ready.wait(self.startup_timeout) or not self._listening:
            log = self.log()
            self.__exit__(None, None, None)
            raise TimeoutError(f"jupyter lab did not start in {self.startup_timeout}s:\n{log}")
        # the URL line can precede the listening socket by a few ms: bounded retry on refusal
        deadline = time.monotonic() + self.startup_timeout
        backoff = threading.Event()  # never set; its wait() paces the retries
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/api/status?token={self.token}", timeout=10) as resp:
                    if resp.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError) as exc:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    log = self.log()
                    self.__exit__(None, None, None)
                    raise RuntimeError(f"jupyter lab not reachable ({exc}):\n{log}") from None
            backoff.wait(0.05)

    def _read_output(self):
        marker = f"127.0.0.1:{self.port}/".encode()
        for line in iter(self.proc.stdout.readline, b""):
            self._log.write(line)
            self._log.flush()
            if marker in line:
                self._listening = True
                self._ready.set()
        self._ready.set()  # process ended: stop waiting

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-5000:]
        except OSError:
            return ""

    def write_notebook(self, name: str, cells: list[str]) -> Path:
        nb = {
            "cells": [
                {"cell_type": "code", "execution_count": None, "id": f"c{i}", "metadata": {}, "outputs": [],
                 "source": src}
                for i, src in enumerate(cells)
            ],
            "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                         "language_info": {"name": "python"}},
            "nbformat": 4, "nbformat_minor": 5,
        }
        path = self.root / name
        path.write_text(json.dumps(nb))
        return path

    def __exit__(self, *exc):
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=15)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(timeout=10)
        if getattr(self, "_pump", None) is not None:
            self._pump.join(timeout=10)
        if getattr(self, "_log", None):
            self._log.close()
        shutil.rmtree(self._tmp, ignore_errors=True)
        return False


# ---------------------------------------------------------------------------
# synthetic data

def synthetic_alignments(seed: int = 7, n_reads: int = 400, read_len: int = 100, contig_len: int = 20_000,
                         pile_up: tuple = (3000, 3300, 250)):
    """Reference + alignments for widget tests.

    Returns
    -------
    reads : hts_notebook.widgets.BatchReader
        Reads on ``chr1`` (length ``contig_len``) and a few on ``chr2`` (5 kb):
        plain matches, ~1% substitutions, 2-base deletions, 3-base insertions,
        200-base spliced gaps, soft clips, both strands; plus ``pile_up[2]``
        reads starting inside ``[pile_up[0], pile_up[1])`` to exceed the row cap.
    reference : hts_notebook.widgets.SequenceReader
    """
    import numpy as np

    from hts_notebook.core.formats.alignment.batch import batch_from_columns, cigar_from_string, encode_seq
    from hts_notebook.core.formats.alignment.header import AlignmentHeader
    from hts_notebook.widgets.region_browser import BatchReader, SequenceReader

    rng = np.random.default_rng(seed)
    lens = {"chr1": contig_len, "chr2": 5000}
    ref = {k: "".join(rng.choice(list("ACGT"), n)) for k, n in lens.items()}
    header = AlignmentHeader(
        "@HD\tVN:1.6\tSO:coordinate\n" + "".join(f"@SQ\tSN:{k}\tLN:{n}\n" for k, n in lens.items()),
        list(lens.items()),
    )
    L = read_len
    shapes = [f"{L}M", f"{L // 2}M2D{L - L // 2}M", f"{L // 2 - 10}M3I{L - L // 2 + 7}M",
              f"{L // 3}M200N{L - L // 3}M", f"5S{L - 5}M"]
    recs = []
    starts = list(rng.integers(0, contig_len - 400, n_reads))
    starts += list(rng.integers(pile_up[0], pile_up[1], pile_up[2]))
    for s in sorted(starts):
        recs.append(("chr1", int(s)))
    for s in sorted(rng.integers(0, 4600, 40)):
        recs.append(("chr2", int(s)))
    cols = {k: [] for k in ("ref_id", "pos", "end", "mapq", "bin", "flag", "next_ref_id", "next_pos", "tlen",
                            "name", "cigar", "seq", "qual", "aux")}
    for i, (contig, pos) in enumerate(recs):
        shape = shapes[int(rng.integers(0, len(shapes)))] if rng.random() < 0.5 else shapes[0]
        cig = cigar_from_string(shape)
        r = ref[contig]
        q, rp = [], pos
        for op in cig.tolist():
            n, code = op >> 4, op & 15
            if code in (0, 7, 8):
                q.append(r[rp:rp + n]); rp += n
            elif code in (2, 3):
                rp += n
            elif code in (1, 4):
                q.append("".join(rng.choice(list("ACGT"), n)))
        seq = np.frombuffer("".join(q).encode(), dtype=np.uint8).copy()
        flip = rng.random(len(seq)) < 0.01
        seq[flip] = np.frombuffer(b"ACGT", dtype=np.uint8)[rng.integers(0, 4, int(flip.sum()))]
        cols["ref_id"].append(header.ref_id(contig))
        cols["pos"].append(pos)
        cols["end"].append(rp)
        cols["mapq"].append(60 if rng.random() > 0.05 else 0)
        cols["bin"].append(0)
        cols["flag"].append(16 if rng.random() < 0.5 else 0)
        cols["next_ref_id"].append(-1)
        cols["next_pos"].append(-1)
        cols["tlen"].append(0)
        cols["name"].append(b"read%d" % i)
        cols["cigar"].append(cig)
        cols["seq"].append(encode_seq(seq.tobytes()))
        cols["qual"].append(np.full(len(seq), 30, dtype=np.uint8))
        cols["aux"].append(b"")
    batch = batch_from_columns(**cols)
    return BatchReader(batch, header, name="synthetic.bam"), SequenceReader(ref)
