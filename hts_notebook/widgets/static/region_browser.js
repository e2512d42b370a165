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
const SITE_H = 12;
const GT_ROW_MAX = 10;
const FEAT_ROW_H = 24;
const SIGNAL_H = 50;
const VARIANT_COLOURS = ["#1f77b4", "#d62728", "#9467bd", "#aaaaaa"]; // SNP, indel, other, no ALT
const GT_COLOURS = ["#c8c8c8", "#2b8cbe", "#08306b", "#ffffff"]; // hom-ref, het, hom-alt, missing

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
  let retryTimer = null;
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
    const kind = tr.kind || "alignments";
    const box = el("div", `hts-rb-track hts-rb-track-${kind}`, body);
    box.dataset.kind = kind;
    const label = el("div", "hts-rb-label", box);
    label.textContent = tr.name;
    if (kind === "alignments") {
      const cov = el("canvas", "hts-rb-coverage", box);
      const reads = el("canvas", "hts-rb-reads", box);
      trackEls.push({ kind, box, label, cov, reads });
    } else {
      const canvas = el("canvas", `hts-rb-${kind}`, box);
      trackEls.push({ kind, box, label, canvas });
    }
  }
  let selected = null; // {contig, pos} 0-based

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
  function request(regionText, attempt = 0) {
    const id = `${viewId}:${++seq}`;
    lastSent = id;
    sentAt = performance.now();
    setStatus("loading\u2026", "loading");
    model.send({ type: "request", id, region: regionText, pad: 1.0, width: width() });
    // a reply can be lost (kernel restarted, comm busy): ask again, a few times
    clearTimeout(retryTimer);
    retryTimer = setTimeout(() => {
      if (lastSent === id && attempt < 3) request(regionText, attempt + 1);
    }, 4000 * (attempt + 1));
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
    clearTimeout(retryTimer); // answered: no re-ask
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
      if (te.kind === "alignments") {
        drawCoverage(te.cov, w, x, d0, tmeta, arr);
        drawReads(te.reads, w, x, pxPerBase, d0, tmeta, arr);
        drawSelection(te.cov, x, pxPerBase);
        drawSelection(te.reads, x, pxPerBase);
      } else {
        if (te.kind === "variants") drawVariants(te.canvas, w, x, pxPerBase, d0, tmeta, arr);
        else if (te.kind === "features") drawFeatures(te.canvas, w, x, pxPerBase, d0, tmeta, arr);
        else if (te.kind === "signal") drawSignal(te.canvas, w, x, d0, tmeta, arr);
        drawSelection(te.canvas, x, pxPerBase);
      }
    });
    root.dataset.selected = selected ? `${selected.contig}:${selected.pos + 1}` : "";
  }

  function drawSelection(canvas, x, pxPerBase) {
    if (!selected || !view || selected.contig !== view.contig) return;
    const a = x(selected.pos);
    if (a + pxPerBase < 0 || a > canvas.width) return;
    const ctx = canvas.getContext("2d");
    ctx.globalAlpha = 1;
    ctx.strokeStyle = "rgba(255, 140, 0, 0.9)";
    ctx.lineWidth = 1;
    if (pxPerBase >= 3) ctx.strokeRect(Math.round(a) + 0.5, 0.5, Math.max(1, Math.round(pxPerBase) - 1), canvas.height - 1);
    else {
      ctx.fillStyle = "rgba(255, 140, 0, 0.9)";
      ctx.fillRect(Math.round(a), 0, 1, canvas.height);
    }
  }

  function emptyNote(canvas, w, text) {
    const ctx = sizeCanvas(canvas, w, 18);
    ctx.fillStyle = "#999";
    ctx.font = "10px sans-serif";
    ctx.textBaseline = "middle";
    ctx.fillText(text, 4, 9);
    return ctx;
  }

  function drawVariants(canvas, w, x, pxPerBase, d0, tmeta, arr) {
    if (!tmeta || !arr.var_start) return void emptyNote(canvas, w, "");
    const n = arr.var_start.length;
    const ns = tmeta.n_samples || 0;
    const rowH = ns > 40 ? 2 : ns > 20 ? 4 : GT_ROW_MAX;
    const H = SITE_H + 3 + ns * rowH + 2;
    const ctx = sizeCanvas(canvas, w, Math.max(H, 18));
    const vs = arr.var_start;
    const ve = arr.var_end;
    const vt = arr.var_type;
    const gt = arr.gt_class;
    for (let i = 0; i < n; i++) {
      let a = x(d0 + vs[i]);
      let b = x(d0 + ve[i]);
      if (b < 0 || a > w) continue;
      if (b - a < 3) {
        const mid = (a + b) / 2;
        a = mid - 1.5;
        b = mid + 1.5;
      }
      ctx.fillStyle = VARIANT_COLOURS[vt[i]] || VARIANT_COLOURS[2];
      ctx.fillRect(a, 1, b - a, SITE_H);
      for (let s = 0; s < ns; s++) {
        const c = gt[i * ns + s];
        const y = SITE_H + 3 + s * rowH;
        ctx.fillStyle = GT_COLOURS[c];
        ctx.fillRect(a, y, b - a, rowH - (rowH > 3 ? 1 : 0));
        if (c === 3) {
          ctx.strokeStyle = "#bbb";
          ctx.strokeRect(a + 0.5, y + 0.5, Math.max(1, b - a - 1), Math.max(1, rowH - 2));
        }
      }
    }
    if (n === 0) {
      ctx.fillStyle = "#999";
      ctx.font = "10px sans-serif";
      ctx.textBaseline = "middle";
      ctx.fillText("no variants here", 4, SITE_H / 2 + 1);
    }
    if (rowH >= 8 && tmeta.samples) {
      ctx.font = "9px sans-serif";
      ctx.textBaseline = "middle";
      ctx.fillStyle = "#555";
      tmeta.samples.forEach((nm, s) => ctx.fillText(nm, 2, SITE_H + 3 + s * rowH + rowH / 2));
    }
  }

  function drawFeatures(canvas, w, x, pxPerBase, d0, tmeta, arr) {
    if (!tmeta || !arr.feat_start) return void emptyNote(canvas, w, "");
    const n = arr.feat_start.length;
    if (n === 0) return void emptyNote(canvas, w, "no features here");
    const nRows = Math.max(1, tmeta.n_rows);
    const names = tmeta.names;
    const rowH = nRows > 12 ? 10 : FEAT_ROW_H;
    const showNames = names && rowH >= FEAT_ROW_H;
    const ctx = sizeCanvas(canvas, w, nRows * rowH + 2);
    const fs = arr.feat_start;
    const fe = arr.feat_end;
    const fr = arr.feat_row;
    const st = arr.feat_strand;
    const boxH = rowH >= FEAT_ROW_H ? 10 : 6;
    const mid = (r) => r * rowH + 1 + boxH / 2;
    // backbone + strand arrows
    for (let i = 0; i < n; i++) {
      const a = Math.max(-2, x(d0 + fs[i]));
      const b = Math.min(w + 2, x(d0 + fe[i]));
      if (b < 0 || a > w) continue;
      const y = Math.round(mid(fr[i]));
      ctx.fillStyle = "#1c3f8c";
      ctx.fillRect(a, y, Math.max(1, b - a), 1);
      if (st[i] !== 0 && b - a > 14) {
        ctx.strokeStyle = "#1c3f8c";
        ctx.beginPath();
        for (let p = a + 6; p < b - 4; p += 14) {
          const d = st[i] > 0 ? 2.5 : -2.5;
          ctx.moveTo(p - d, y - 2.5);
          ctx.lineTo(p + d, y + 0.5);
          ctx.lineTo(p - d, y + 3.5);
        }
        ctx.stroke();
      }
    }
    // blocks: thin (UTR / non-coding) then thick (coding)
    const bf = arr.block_feat;
    for (let pass = 0; pass < 2; pass++) {
      for (let i = 0; i < bf.length; i++) {
        if (arr.block_thick[i] !== pass) continue;
        const a = x(d0 + arr.block_start[i]);
        const b = x(d0 + arr.block_end[i]);
        if (b < 0 || a > w) continue;
        const h = pass ? boxH : Math.round(boxH / 2);
        const y = mid(fr[bf[i]]) - h / 2;
        ctx.fillStyle = "#1c3f8c";
        ctx.fillRect(a, y, Math.max(1, b - a), h);
      }
    }
    if (showNames) {
      ctx.font = "10px sans-serif";
      ctx.textAlign = "center";
      ctx.textBaseline = "top";
      ctx.fillStyle = "#222";
      let lastEnd = {};
      for (let i = 0; i < n; i++) {
        if (!names[i]) continue;
        const a = Math.max(0, x(d0 + fs[i]));
        const b = Math.min(w, x(d0 + fe[i]));
        if (b < 0 || a > w) continue;
        const cx = (a + b) / 2;
        const tw = ctx.measureText(names[i]).width;
        const r = fr[i];
        if ((lastEnd[r] || -1e9) > cx - tw / 2) continue;
        ctx.fillText(names[i], cx, r * rowH + 2 + boxH);
        lastEnd[r] = cx + tw / 2 + 4;
      }
      ctx.textAlign = "start";
    }
  }

  function drawSignal(canvas, w, x, d0, tmeta, arr) {
    const ctx = sizeCanvas(canvas, w, SIGNAL_H);
    if (!tmeta) return;
    const lo = Math.min(0, tmeta.min || 0);
    let hi = Math.max(0, tmeta.max || 0);
    if (hi === lo) hi = lo + 1;
    const y = (v) => SIGNAL_H - 1 - ((v - lo) / (hi - lo)) * (SIGNAL_H - 12);
    const y0 = y(0);
    ctx.fillStyle = "#2a7f62";
    if (tmeta.mode === "bins" && arr.sig_start) {
      const s = arr.sig_start;
      const e = arr.sig_end;
      const v = arr.sig_value;
      for (let i = 0; i < s.length; i++) {
        const a = x(d0 + s[i]);
        const b = x(d0 + e[i]);
        if (b < 0 || a > w || !Number.isFinite(v[i])) continue;
        const yy = y(v[i]);
        ctx.fillRect(a, Math.min(yy, y0), Math.max(1, b - a), Math.max(1, Math.abs(y0 - yy)));
      }
    } else if (arr.signal) {
      const v = arr.signal;
      const i0 = Math.max(0, Math.floor(view.start - d0));
      const i1 = Math.min(v.length, Math.ceil(view.stop - d0));
      for (let i = i0; i < i1; i++) {
        if (!Number.isFinite(v[i])) continue;
        const a = x(d0 + i);
        const b = x(d0 + i + 1);
        const yy = y(v[i]);
        ctx.fillRect(a, Math.min(yy, y0), Math.max(1, b - a), Math.max(1, Math.abs(y0 - yy)));
      }
    }
    ctx.fillStyle = "#444";
    ctx.font = "10px sans-serif";
    ctx.textBaseline = "top";
    const fmt = (v) => (Math.abs(v) >= 100 || Number.isInteger(v) ? String(Math.round(v)) : v.toPrecision(3));
    ctx.fillText(`[${fmt(lo)}-${fmt(hi)}]${tmeta.mode === "bins" ? " mean" : ""}`, 2, 1);
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
        const canvases = [rulerCanvas, refCanvas].concat(...trackEls.map((t) => (t.canvas ? [t.canvas] : [t.cov, t.reads])))
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
  function onUp(ev) {
    if (!drag) return;
    const moved = drag.moved;
    drag = null;
    if (moved) settle(0);
    else if (view && ev) clickAt(ev.clientX);
  }
  function clickAt(clientX) {
    const rect = body.getBoundingClientRect();
    const frac = (clientX - rect.left) / Math.max(1, rect.width);
    if (frac < 0 || frac > 1) return;
    const pos = Math.min(view.stop - 1, Math.floor(view.start + frac * (view.stop - view.start)));
    selected = { contig: view.contig, pos };
    draw();
    model.send({ type: "click", contig: view.contig, position: pos + 1 });
  }
  function onSelectedChange() {
    const text = model.get("selected") || "";
    const i = text.lastIndexOf(":");
    const next = i > 0 ? { contig: text.slice(0, i), pos: Number(text.slice(i + 1)) - 1 } : null;
    if (next && selected && next.contig === selected.contig && next.pos === selected.pos) return;
    selected = next;
    draw();
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
  model.on("change:selected", onSelectedChange);
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

  onSelectedChange();
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
    model.off("change:selected", onSelectedChange);
    if (resizeObs) resizeObs.disconnect();
  };
}

export default { render };
