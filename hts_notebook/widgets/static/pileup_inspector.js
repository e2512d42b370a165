// PileupInspector front end: a plain ES module (no bundler, no CDN, works offline).
//
// On render it asks Python for the current inspection ({type: "request"});
// Python answers (and pushes after every click in the linked browser)
// {type: "inspection", contig, position, depth, names, labels, qual_edges,
//  arrays} with one binary buffer holding counts (2 x 7), qual_hist,
// mean_qual and the per-read columns (read_flag, read_mapq, read_strand,
// read_base, read_qual, read_counted, read_ins).

const DTYPES = {
  i1: Int8Array, u1: Uint8Array, i2: Int16Array, u2: Uint16Array,
  i4: Int32Array, u4: Uint32Array, f4: Float32Array, f8: Float64Array,
};
const BASE_COLOURS = { A: "#1a9850", C: "#2b6cd6", G: "#e08a00", T: "#d62728", N: "#888888", "*": "#000" };

function decodeArrays(specs, buffers) {
  const out = {};
  if (!buffers || !buffers.length) return out;
  const dv = buffers[0];
  const base = dv.buffer ? dv : new DataView(dv);
  for (const s of specs) {
    const Ctor = DTYPES[s.dtype];
    if (!Ctor) continue;
    const bytes = new Uint8Array(base.buffer, base.byteOffset + s.offset, s.nbytes).slice();
    out[s.name] = new Ctor(bytes.buffer, 0, s.nbytes / Ctor.BYTES_PER_ELEMENT);
  }
  return out;
}

function el(tag, cls, parent, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  if (parent) parent.appendChild(e);
  return e;
}

function render({ model, el: root }) {
  root.classList.add("hts-pi");
  root.dataset.position = "";
  const title = el("div", "hts-pi-title", root, "click a base in the browser");
  const message = el("div", "hts-pi-message", root);
  const row = el("div", "hts-pi-row", root);
  const countsBox = el("div", "hts-pi-counts", row);
  const histBox = el("div", "hts-pi-histbox", row);
  const readsBox = el("div", "hts-pi-reads-box", root);

  function drawCounts(msg, a) {
    countsBox.textContent = "";
    const t = el("table", "hts-pi-table", countsBox);
    const head = el("tr", null, t);
    el("th", null, head, "");
    for (const l of msg.labels) el("th", null, head, l);
    el("th", null, head, "total");
    const c = a.counts;
    const names = ["+", "\u2212", "all"];
    for (let s = 0; s < 3; s++) {
      const tr = el("tr", null, t);
      el("th", null, tr, names[s]);
      let tot = 0;
      for (let b = 0; b < 7; b++) {
        const v = s < 2 ? c[s * 7 + b] : c[b] + c[7 + b];
        if (b < 6) tot += v;
        const td = el("td", null, tr, String(v));
        td.dataset.base = msg.labels[b];
      }
      el("td", null, tr, String(tot));
    }
    const mq = el("tr", null, t);
    el("th", null, mq, "mean Q");
    for (let b = 0; b < 7; b++) {
      const v = b < 5 ? a.mean_qual[b] : NaN;
      el("td", null, mq, Number.isFinite(v) ? v.toFixed(1) : "");
    }
    el("td", null, mq, "");
  }

  function drawHist(msg, a) {
    histBox.textContent = "";
    el("div", null, histBox, "base quality");
    const canvas = el("canvas", "hts-pi-hist", histBox);
    const h = a.qual_hist;
    const w = 14 * h.length;
    const H = 60;
    canvas.width = w;
    canvas.height = H + 12;
    const ctx = canvas.getContext("2d");
    let max = 1;
    for (const v of h) if (v > max) max = v;
    for (let i = 0; i < h.length; i++) {
      const bh = Math.round((h[i] / max) * H);
      ctx.fillStyle = "#6a8fd0";
      ctx.fillRect(i * 14 + 1, H - bh, 12, bh);
    }
    ctx.fillStyle = "#444";
    ctx.font = "9px sans-serif";
    ctx.textBaseline = "top";
    for (let i = 0; i < h.length; i += 2) ctx.fillText(String(msg.qual_edges[i]), i * 14 + 1, H + 2);
  }

  function drawReads(msg, a) {
    readsBox.textContent = "";
    const t = el("table", "hts-pi-reads", readsBox);
    const head = el("tr", null, t);
    for (const l of ["read", "flag", "MAPQ", "strand", "base", "qual", "ins"]) el("th", null, head, l);
    for (let i = 0; i < msg.names.length; i++) {
      const tr = el("tr", a.read_counted[i] ? null : "hts-pi-filtered", t);
      el("td", "hts-pi-name", tr, msg.names[i]);
      el("td", null, tr, String(a.read_flag[i]));
      el("td", null, tr, String(a.read_mapq[i]));
      el("td", null, tr, a.read_strand[i] ? "\u2212" : "+");
      const b = String.fromCharCode(a.read_base[i]);
      const td = el("td", null, tr, b);
      td.style.color = BASE_COLOURS[b] || "#888";
      el("td", null, tr, String(a.read_qual[i]));
      el("td", null, tr, a.read_ins[i] ? `+${a.read_ins[i]}` : "");
    }
    if (msg.n_reads > msg.n_shown) el("div", null, readsBox, `\u2026 ${msg.n_reads - msg.n_shown} more reads`);
  }

  function onCustom(msg, buffers) {
    if (!msg || msg.type !== "inspection") return;
    message.textContent = msg.message || "";
    if (!msg.position) return;
    const where = `${msg.contig}:${Number(msg.position).toLocaleString("en-US")}`;
    if (!msg.arrays || !msg.arrays.length) {
      title.textContent = where;
      root.dataset.position = `${msg.contig}:${msg.position}`;
      return;
    }
    const a = decodeArrays(msg.arrays, buffers);
    title.textContent = `${where}  depth ${msg.depth}`;
    el("span", "hts-pi-track", title, model.get("track_name"));
    drawCounts(msg, a);
    drawHist(msg, a);
    drawReads(msg, a);
    root.dataset.depth = String(msg.depth);
    root.dataset.position = `${msg.contig}:${msg.position}`;
  }

  model.on("msg:custom", onCustom);
  model.send({ type: "request" });
  return () => model.off("msg:custom", onCustom);
}

export default { render };
