// RegionBrowser front end: a plain ES module (no bundler, no CDN, works offline).
//
// Protocol (see region_browser.py): after a pan/zoom settles we send
//   {type: "request", id, region, pad}
// and Python answers {type: "reply", id, region, contig, start, stop,
// data_start, data_stop, tracks, arrays} with one binary buffer holding every
// array (each described by track, name, dtype, shape, offset, nbytes).
// Positions in the arrays are relative to data_start (0-based half-open).

const DTYPES = {
  i1: Int8Array, u1: Uint8Array, i2: Int16Array, u2: Uint16Array,
  i4: Int32Array, u4: Uint32Array, f4: Float32Array, f8: Float64Array,
};
const BASE_COLOURS = { A: "#1a9850", C: "#2b6cd6", G: "#e08a00", T: "#d62728", N: "#888888" };
const FORWARD = "#b7c7e8";
const REVERSE = "#e8b7c0";
const RULER_H = 22;
const REF_H = 14;
const COV_H = 48;
const MARK_H = 5;

let viewCounter = 0;

function decodeArrays(specs, buffers) {
  const out = {};
  if (!buffers || !buffers.length) return out;
  const dv = buffers[0];
  const base = dv.buffer ? dv : new DataView(dv);
  for (const s of specs) {
    const Ctor = DTYPES[s.dtype];
    if (!Ctor) continue;
    // copy into a fresh, aligned ArrayBuffer
    const bytes = new Uint8Array(base.buffer, base.byteOffset + s.offset, s.nbytes).slice();
    const key = String(s.track);
    (out[key] = out[key] || {})[s.name] = new Ctor(bytes.buffer, 0, s.nbytes / Ctor.BYTES_PER_ELEMENT);
  }
  return out;
}

function formatRegion(contig, start, stop) {
  return `${contig}:${(start + 1).toLocaleString("en-US")}-${stop.toLocaleString("en-US")}`;
}

function plainRegion(contig, start, stop) {
  return `${contig}:${start + 1}-${stop}`;
}

function niceStep(span, px) {
  const raw = span / Math.max(1, px / 90);
  const mag = Math.pow(10, Math.floor(Math.log10(Math.max(raw, 1))));
  for (const m of [1, 2, 5, 10]) if (m * mag >= raw) return m * mag;
  return 10 * mag;
}

function el(tag, cls, parent) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (parent) parent.appendChild(e);
  return e;
}

function render({ model, el: root }) {
  const viewId = `v${++viewCounter}-${Math.random().toString(36).slice(2, 8)}`;
  let seq = 0;
  let lastSent = null;
  let sentAt = 0;
  let data = null; // last reply: {meta, arrays}
  let view = null; // {contig, start, stop}
  let settleTimer = null;
  let snapTimer = null;
  let drag = null;

  root.classList.add("hts-rb");
  const bar = el("div", "hts-rb-toolbar", root);
  const input = el("input", "hts-rb-region", bar);
  input.type = "text";
  input.spellcheck = false;
  input.setAttribute("aria-label", "region");
  const go = el("button", "hts-rb-go", bar);
  go.textContent = "Go";
  const left = el("button", "hts-rb-left", bar);
  left.textContent = "\u25C0";
  left.title = "pan left (\u2190)";
  const right = el("button", "hts-rb-right", bar);
  right.textContent = "\u25B6";
  right.title = "pan right (\u2192)";
  const zoomOut = el("button", "hts-rb-zoom-out", bar);
  zoomOut.textContent = "\u2212";
  zoomOut.title = "zoom out (-)";
  const zoomIn = el("button", "hts-rb-zoom-in", bar);
  zoomIn.textContent = "+";
  zoomIn.title = "zoom in (+)";
  const status = el("span", "hts-rb-status", bar);

  const body = el("div", "hts-rb-body", root);
  body.tabIndex = 0;
  const rulerCanvas = el("canvas", "hts-rb-ruler", body);
  const refCanvas = el("canvas", "hts-rb-reference", body);
  const trackEls = [];
  for (const tr of model.get("tracks")) {
    const box = el("div", "hts-rb-track", body);
    const label = el("div", "hts-rb-label", box);
    label.textContent = tr.name;
    const cov = el("canvas", "hts-rb-coverage", box);
    const reads = el("canvas", "hts-rb-reads", box);
    trackEls.push({ box, label, cov, reads });
  }

  function width() {
    return Math.max(200, Math.floor(body.clientWidth || root.clientWidth || 900));
  }

  function setStatus(text, state) {
    status.textContent = text;
    root.dataset.status = state;
  }

  // ---- view maths ------------------------------------------------------
  function contigLength(contig) {
    const c = model.get("contigs");
    return c && contig in c ? c[contig] : Infinity;
  }

  function clampView(v) {
    const len = contigLength(v.contig);
    let span = Math.max(10, Math.round(v.stop - v.start));
    if (span > len) span = len;
    let start = Math.round(v.start);
    if (start < 0) start = 0;
    if (start + span > len) start = len - span;
    return { contig: v.contig, start, stop: start + span };
  }

  function pan(fraction) {
    if (!view) return;
    const span = view.stop - view.start;
    view = clampView({ contig: view.contig, start: view.start + span * fraction, stop: view.stop + span * fraction });
    draw();
    settle();
  }

  function zoom(factor, anchorFrac = 0.5) {
    if (!view) return;
    const span = view.stop - view.start;
    const anchor = view.start + span * anchorFrac;
    const newSpan = Math.max(10, span * factor);
    view = clampView({ contig: view.contig, start: anchor - newSpan * anchorFrac, stop: anchor - newSpan * anchorFrac + newSpan });
    draw();
    settle();
  }

  // ---- protocol ----------------------------------------------------------
  function request(regionText) {
    const id = `${viewId}:${++seq}`;
    lastSent = id;
    sentAt = performance.now();
    setStatus("loading\u2026", "loading");
    model.send({ type: "request", id, region: regionText, pad: 1.0 });
  }

  function settle(delay = 180) {
    clearTimeout(settleTimer);
    settleTimer = setTimeout(() => {
      if (!view) return;
      const text = plainRegion(view.contig, view.start, view.stop);
      root.dataset.region = text;
      input.value = formatRegion(view.contig, view.start, view.stop);
      if (model.get("region") !== text) {
        model.set("region", text);
        model.save_changes();
      }
      request(text);
    }, delay);
  }

  function onCustom(msg, buffers) {
    if (!msg || typeof msg.id !== "string" || !msg.id.startsWith(viewId + ":")) return;
    if (msg.id !== lastSent) return; // stale reply
    if (msg.type === "error") {
      setStatus(msg.message, "error");
      return;
    }
    if (msg.type !== "reply") return;
    data = { meta: msg, arrays: decodeArrays(msg.arrays || [], buffers) };
    if (!drag) {
      view = { contig: msg.contig, start: msg.start, stop: msg.stop };
      input.value = formatRegion(view.contig, view.start, view.stop);
      root.dataset.region = msg.region;
    }
    setStatus(msg.message || "", "ready");
    draw();
    // request -> buffers drawn, for benchmarks (benchmarks/bench_widget.py)
    root.dataset.roundTripMs = (performance.now() - sentAt).toFixed(1);
    scheduleSnapshot();
  }

  function onRegionChange() {
    const text = model.get("region");
    if (view && text === plainRegion(view.contig, view.start, view.stop)) return;
    request(text);
  }

  // ---- drawing ------------------------------------------------------------
  function sizeCanvas(c, w, h) {
    if (c.width !== w) c.width = w;
    if (c.height !== h) c.height = h;
    c.style.width = `${w}px`;
    c.style.height = `${h}px`;
    const ctx = c.getContext("2d");
    ctx.clearRect(0, 0, w, h);
    return ctx;
  }

  function draw() {
    if (!view) return;
    const w = width();
    const span = view.stop - view.start;
    const pxPerBase = w / span;
    const x = (pos) => ((pos - view.start) / span) * w; // absolute 0-based -> px
    const meta = data ? data.meta : null;
    const sameContig = meta && meta.contig === view.contig;
    const d0 = sameContig ? meta.data_start : 0;

    // ruler
    let ctx = sizeCanvas(rulerCanvas, w, RULER_H);
    ctx.fillStyle = "#333";
    ctx.font = "10px sans-serif";
    ctx.textBaseline = "top";
    const step = niceStep(span, w);
    ctx.fillRect(0, RULER_H - 1, w, 1);
    for (let p = Math.ceil(view.start / step) * step; p <= view.stop; p += step) {
      const px = Math.round(x(p - 1) + pxPerBase / 2);
      ctx.fillRect(px, RULER_H - 7, 1, 6);
      ctx.fillText(p.toLocaleString("en-US"), px + 2, 2);
    }

    // reference
    const ref = sameContig && data.arrays.reference ? data.arrays.reference.reference : null;
    const showRef = model.get("has_reference");
    refCanvas.style.display = showRef ? "" : "none";
    if (showRef) {
      ctx = sizeCanvas(refCanvas, w, REF_H);
      if (ref && pxPerBase >= 1) {
        const lo = Math.max(0, view.start - d0);
        const hi = Math.min(ref.length, view.stop - d0);
        ctx.font = "bold 11px monospace";
        ctx.textAlign = "center";
        ctx.textBaseline = "middle";
        for (let i = lo; i < hi; i++) {
          const b = String.fromCharCode(ref[i]);
          ctx.fillStyle = BASE_COLOURS[b] || "#888";
          const px = x(d0 + i);
          if (pxPerBase >= 8) ctx.fillText(b, px + pxPerBase / 2, REF_H / 2);
          else ctx.fillRect(px, 2, Math.max(1, pxPerBase), REF_H - 4);
        }
      } else {
        ctx.fillStyle = "#999";
        ctx.font = "10px sans-serif";
        ctx.textBaseline = "middle";
        ctx.fillText("zoom in to see the reference", 4, REF_H / 2);
      }
    }

    // tracks
    trackEls.forEach((te, ti) => {
      const tmeta = sameContig && meta.tracks ? meta.tracks[ti] : null;
      const arr = sameContig ? data.arrays[String(ti)] || {} : {};
      drawCoverage(te.cov, w, x, d0, tmeta, arr);
      drawReads(te.reads, w, x, pxPerBase, d0, tmeta, arr);
    });
  }

  function drawCoverage(canvas, w, x, d0, tmeta, arr) {
    const ctx = sizeCanvas(canvas, w, COV_H + MARK_H);
    const cov = arr.coverage;
    if (!tmeta || !cov) return;
    const bin = tmeta.coverage_bin || 1;
    // scale to the visible maximum
    let max = 1;
    const i0 = Math.max(0, Math.floor((view.start - d0) / bin));
    const i1 = Math.min(cov.length, Math.ceil((view.stop - d0) / bin));
    for (let i = i0; i < i1; i++) if (cov[i] > max) max = cov[i];
    ctx.fillStyle = "#9a9a9a";
    for (let i = i0; i < i1; i++) {
      if (!(cov[i] > 0)) continue;
      const px0 = x(d0 + i * bin);
      const px1 = x(d0 + (i + 1) * bin);
      const h = Math.max(1, Math.round((cov[i] / max) * (COV_H - 12)));
      ctx.fillRect(px0, COV_H - h, Math.max(1, px1 - px0), h);
    }
    ctx.fillStyle = "#444";
    ctx.font = "10px sans-serif";
    ctx.textBaseline = "top";
    ctx.fillText(`[0-${Math.round(max)}]`, 2, 1);
    // downsampling marks
    const hs = arr.hidden_start;
    const he = arr.hidden_end;
    if (hs && hs.length) {
      ctx.fillStyle = "#000";
      for (let i = 0; i < hs.length; i++) {
        const a = x(d0 + hs[i]);
        const b = x(d0 + he[i]);
        if (b < 0 || a > w) continue;
        ctx.fillRect(a, COV_H + 1, Math.max(2, b - a), MARK_H - 1);
      }
    }
  }

  function drawReads(canvas, w, x, pxPerBase, d0, tmeta, arr) {
    if (!tmeta || !tmeta.show_reads || !arr.read_start) {
      const ctx = sizeCanvas(canvas, w, 18);
      ctx.fillStyle = "#999";
      ctx.font = "10px sans-serif";
      ctx.textBaseline = "middle";
      ctx.fillText(tmeta ? "zoom in to see reads" : "", 4, 9);
      return;
    }
    const nRows = Math.max(1, tmeta.n_rows);
    const rowH = nRows > 60 ? 3 : nRows > 30 ? 6 : 10;
    const gapH = rowH >= 6 ? 1 : 0;
    const ctx = sizeCanvas(canvas, w, nRows * rowH + 2);
    const row = arr.read_row;
    const flag = arr.read_flag;
    const mapq = arr.read_mapq;
    const bRead = arr.block_read;
    const bs = arr.block_start;
    const be = arr.block_end;
    const bk = arr.block_kind;
    for (let i = 0; i < bRead.length; i++) {
      const r = bRead[i];
      const a = x(d0 + bs[i]);
      const b = x(d0 + be[i]);
      if (b < 0 || a > w) continue;
      const y = row[r] * rowH;
      if (bk[i] === 0) {
        ctx.globalAlpha = mapq[r] === 0 ? 0.35 : 1;
        ctx.fillStyle = flag[r] & 16 ? REVERSE : FORWARD;
        ctx.fillRect(a, y, Math.max(1, b - a), rowH - gapH);
      } else {
        ctx.globalAlpha = 1;
        ctx.fillStyle = bk[i] === 1 ? "#000" : "#bbb";
        ctx.fillRect(a, y + Math.floor((rowH - gapH) / 2), Math.max(1, b - a), 1);
      }
    }
    ctx.globalAlpha = 1;
    // mismatches
    const mr = arr.mm_read;
    if (mr && pxPerBase >= 0.2) {
      for (let i = 0; i < mr.length; i++) {
        const a = x(d0 + arr.mm_pos[i]);
        if (a + pxPerBase < 0 || a > w) continue;
        const b = String.fromCharCode(arr.mm_base[i]);
        const q = arr.mm_qual[i];
        ctx.globalAlpha = q !== 255 && q < 20 ? 0.4 : 1;
        ctx.fillStyle = BASE_COLOURS[b] || BASE_COLOURS.N;
        const y = row[mr[i]] * rowH;
        ctx.fillRect(a, y, Math.max(1, pxPerBase), rowH - gapH);
        if (pxPerBase >= 8 && rowH >= 10) {
          ctx.fillStyle = "#fff";
          ctx.font = "bold 9px monospace";
          ctx.textAlign = "center";
          ctx.textBaseline = "middle";
          ctx.fillText(b, a + pxPerBase / 2, y + (rowH - gapH) / 2);
        }
      }
      ctx.globalAlpha = 1;
    }
    // insertions: purple I-bars
    const ir = arr.ins_read;
    if (ir) {
      ctx.fillStyle = "#8a2be2";
      for (let i = 0; i < ir.length; i++) {
        const a = x(d0 + arr.ins_pos[i]);
        if (a < -2 || a > w + 2) continue;
        const y = row[ir[i]] * rowH;
        ctx.fillRect(a - 1, y, 2, rowH - gapH);
        if (rowH >= 6 && pxPerBase >= 3) {
          ctx.fillRect(a - 3, y, 6, 1);
          ctx.fillRect(a - 3, y + rowH - gapH - 1, 6, 1);
        }
      }
    }
  }

  // ---- snapshot for saved notebooks ----------------------------------------
  function scheduleSnapshot() {
    clearTimeout(snapTimer);
    snapTimer = setTimeout(() => {
      try {
        const canvases = [rulerCanvas, refCanvas].concat(...trackEls.map((t) => [t.cov, t.reads]))
          .filter((c) => c.style.display !== "none" && c.width && c.height);
        const w = Math.max(...canvases.map((c) => c.width));
        const h = canvases.reduce((s, c) => s + c.height, 0);
        const out = document.createElement("canvas");
        out.width = w;
        out.height = h;
        const ctx = out.getContext("2d");
        ctx.fillStyle = "#fff";
        ctx.fillRect(0, 0, w, h);
        let y = 0;
        for (const c of canvases) {
          ctx.drawImage(c, 0, y);
          y += c.height;
        }
        const url = out.toDataURL("image/png");
        if (url !== model.get("_snapshot")) {
          model.set("_snapshot", url);
          model.save_changes();
        }
        root.dataset.snapshots = String(Number(root.dataset.snapshots || 0) + 1);
      } catch (e) {
        /* snapshot is best effort */
      }
    }, 600);
  }

  // ---- interaction ------------------------------------------------------------
  function onDown(ev) {
    if (!view || ev.button !== 0) return;
    drag = { x0: ev.clientX, start0: view.start, stop0: view.stop, moved: false };
    body.focus({ preventScroll: true });
    ev.preventDefault();
  }
  function onMove(ev) {
    if (!drag) return;
    const dx = ev.clientX - drag.x0;
    if (Math.abs(dx) > 1) drag.moved = true;
    const bpp = (drag.stop0 - drag.start0) / width();
    view = clampView({ contig: view.contig, start: drag.start0 - dx * bpp, stop: drag.stop0 - dx * bpp });
    draw();
  }
  function onUp() {
    if (!drag) return;
    const moved = drag.moved;
    drag = null;
    if (moved) settle(0);
  }
  function onWheel(ev) {
    if (!view) return;
    ev.preventDefault();
    const rect = body.getBoundingClientRect();
    const frac = Math.min(1, Math.max(0, (ev.clientX - rect.left) / Math.max(1, rect.width)));
    zoom(ev.deltaY > 0 ? 1.25 : 0.8, frac);
  }
  function onKey(ev) {
    if (ev.target === input) return;
    if (ev.key === "ArrowLeft") pan(-0.2);
    else if (ev.key === "ArrowRight") pan(0.2);
    else if (ev.key === "+" || ev.key === "=") zoom(0.5);
    else if (ev.key === "-" || ev.key === "_") zoom(2);
    else return;
    ev.preventDefault();
    ev.stopPropagation(); // keep JupyterLab shortcuts out of it
  }
  function onInputKey(ev) {
    ev.stopPropagation();
    if (ev.key === "Enter") submitText();
  }
  function submitText() {
    const text = input.value.trim();
    if (text) request(text);
  }

  body.addEventListener("mousedown", onDown);
  window.addEventListener("mousemove", onMove);
  window.addEventListener("mouseup", onUp);
  body.addEventListener("wheel", onWheel, { passive: false });
  body.addEventListener("keydown", onKey);
  input.addEventListener("keydown", onInputKey);
  go.addEventListener("click", submitText);
  left.addEventListener("click", () => pan(-0.5));
  right.addEventListener("click", () => pan(0.5));
  zoomIn.addEventListener("click", () => zoom(0.5));
  zoomOut.addEventListener("click", () => zoom(2));
  model.on("msg:custom", onCustom);
  model.on("change:region", onRegionChange);
  let resizeObs = null;
  if (typeof ResizeObserver !== "undefined") {
    let lastW = 0;
    resizeObs = new ResizeObserver(() => {
      const w = width();
      if (w !== lastW) {
        lastW = w;
        draw();
      }
    });
    resizeObs.observe(body);
  }

  const initial = model.get("region");
  input.value = initial;
  root.dataset.region = initial;
  request(initial);

  return () => {
    clearTimeout(settleTimer);
    clearTimeout(snapTimer);
    window.removeEventListener("mousemove", onMove);
    window.removeEventListener("mouseup", onUp);
    model.off("msg:custom", onCustom);
    model.off("change:region", onRegionChange);
    if (resizeObs) resizeObs.disconnect();
  };
}

export default { render };
