// report/page/helpers.js — the functions report.html and monitor.html share: number formatting, region
// keys, colour ramps and scales, colour legends, axis ticks, 3-D rotation and picking, what a layer
// shows, the settings table, and the terms with a definition (their tooltips, Tab stops and descriptions).
//
// Promise: nothing here reaches for the page (no global document, no window, no state); every
// function depends only on its arguments.  The few that draw or wire up (sizeCanvas, drawRampBar,
// legendRow, termTips) act only on the canvas, element maker or document they are handed: they are
// here because both pages need them, one way.  report.html inlines this file before report.js,
// monitor.html before monitor.js, whose code calls these functions by name; Node loads it as a module
// (module.exports below) for tests/page/*.test.js.
"use strict";

// ---- numbers as the page shows them: "–" for a missing or non-finite value, "0" for zero,
// exponent notation when |v| ≥ 1e5 or < 1e-3, else `digits` (default 4) significant digits
// without trailing zeros.
function fmt(v, digits) {
  if (v === null || v === undefined || !isFinite(v)) return "–";
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(2);
  return String(Number(v.toPrecision(digits || 4)));
}
// A share in [0, 1] as a percentage with 3 significant digits.
function pct(v) {
  return v === null || v === undefined ? "–" : fmt(100 * v, 3) + "%";
}

// ---- regions: r = (i·GW + j)·GC + k over grid [GH, GW, GC] (run/region_grid.h), 0-based (i, j, k);
// the key names them 1-based, "grid_i_j_k".
function coordsOf(grid, r) {
  const gc = grid[2], gw = grid[1];
  return [Math.floor(r / (gc * gw)), Math.floor(r / gc) % gw, r % gc];
}
function keyOf(grid, r) {
  return "grid_" + coordsOf(grid, r).map((c) => c + 1).join("_");
}

// ---- colour: ramps over the stop tables of report/colormap.h ("#rrggbb" from low to high),
// interpolated as report/colormap.cpp does, so a figure and the page agree colour for colour.
function hexRgb(h) {
  return [parseInt(h.slice(1, 3), 16), parseInt(h.slice(3, 5), 16), parseInt(h.slice(5, 7), 16)];
}
// The colour at t ∈ [0, 1] (clamped; NaN → 0) of equally spaced stops [[r, g, b], ...].
function ramp(stops, t) {
  t = t > 0 ? Math.min(1, t) : 0;
  const x = t * (stops.length - 1), i = Math.min(Math.floor(x), stops.length - 2), f = x - i;
  return [0, 1, 2].map((k) => Math.round(stops[i][k] + (stops[i + 1][k] - stops[i][k]) * f));
}
// "rgb(r,g,b)" of a colour darkened by `shade` (default 1).
function css(c, shade) {
  shade = shade === undefined ? 1 : shade;
  return "rgb(" + Math.round(c[0] * shade) + "," + Math.round(c[1] * shade) + "," + Math.round(c[2] * shade) + ")";
}
// One scale per layer over all epochs, so colours compare across epochs: the density range
// [lo, hi] and the largest |ζ| (lo = ∞, hi = −∞, zmax = 0 when the layer was never measured).
// `epochs` is the page data's epochs; layer l's entry holds g.density and z.zeta when measured.
function layerScale(epochs, l) {
  let lo = Infinity, hi = -Infinity, zmax = 0;
  for (const ep of epochs) {
    const ly = ep.layers[l];
    if (ly.g) for (const v of ly.g.density) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    if (ly.z) for (const v of ly.z.zeta) zmax = Math.max(zmax, Math.abs(v));
  }
  return { lo, hi, zmax };
}
// Where v sits on its layer's ramp, t ∈ [0, 1]: ζ centred (−zmax → 0, 0 → ½, zmax → 1), density
// from lo to hi; ½ when the scale is a single value.
function scalePosition(scale, kind, v) {
  if (kind === "zeta") return scale.zmax > 0 ? (v / scale.zmax + 1) / 2 : 0.5;
  return scale.hi > scale.lo ? (v - scale.lo) / (scale.hi - scale.lo) : 0.5;
}
// How large a voxel is drawn, in [0, 1]: |ζ| / zmax (0 for a flat scale), or the density position.
function magnitude(scale, kind, v) {
  if (kind === "zeta") return scale.zmax > 0 ? Math.abs(v) / scale.zmax : 0;
  return scalePosition(scale, kind, v);
}

// ---- axes: about four steps of 1, 2 or 5 × 10^k covering [lo, hi] (lo < hi), ticks at the
// multiples of the step inside the range; a tick within 1e-12 of 0 is 0 exactly.
function ticks(lo, hi) {
  const raw = (hi - lo) / 4, mag = Math.pow(10, Math.floor(Math.log10(raw))), q = raw / mag;
  const step = mag * (q < 1.5 ? 1 : q < 3.5 ? 2 : q < 7.5 ? 5 : 10);
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9 * step; v += step) out.push(Math.abs(v) < 1e-12 ? 0 : v);
  return out;
}
// The epochs labelled on an axis from `first` to `last` with room for `most` labels: the multiples
// of the smallest step of 1, 2, 5, 10, 20, 50, … of which at most `most` fall in the range (every
// n-th epoch from `first` gave labels such as 50001, 100001, …); `first` alone when none does.
// figures.cpp's epoch_ticks keeps the same rule.
function epochTicks(first, last, most = 20) {
  const fit = Math.max(1, Math.floor(most)), count = (step) => Math.floor(last / step) - Math.ceil(first / step) + 1;
  let step = 1;
  for (let decade = 1; count(step) > fit; decade *= 10)
    for (const base of [1, 2, 5]) if (count(step) > fit) step = base * decade;
  const out = [];
  for (let e = Math.ceil(first / step) * step; e <= last; e += step) out.push(e);
  return out.length ? out : [first];
}

// ---- 3-D views: yaw about the vertical axis, then pitch about the horizontal one; the viewer
// looks along −z.
function rotate(p, yaw, pitch) {
  const cy = Math.cos(yaw), sy = Math.sin(yaw), cp = Math.cos(pitch), sp = Math.sin(pitch);
  const x1 = cy * p[0] + sy * p[2], z1 = -sy * p[0] + cy * p[2];
  return [x1, cp * p[1] - sp * z1, sp * p[1] + cp * z1];
}
// Even-odd rule: is (x, y) inside the polygon pts = [[x, y], ...]?
function insidePolygon(pts, x, y) {
  let inside = false;
  for (let i = 0, j = pts.length - 1; i < pts.length; j = i++) {
    const a = pts[i], b = pts[j];
    if ((a[1] > y) !== (b[1] > y) && x < ((b[0] - a[0]) * (y - a[1])) / (b[1] - a[1]) + a[0]) inside = !inside;
  }
  return inside;
}
// The region of the face drawn last (nearest the viewer) under (x, y); faces = [{r, pts}] in
// drawing order.  null when none.
function pickFace(faces, x, y) {
  for (let f = faces.length - 1; f >= 0; --f) if (insidePolygon(faces[f].pts, x, y)) return faces[f].r;
  return null;
}

// ---- the 2-D map view.  cut(b, size, blocks) = ⌊b·size/blocks⌋, the grid's boundaries
// (run/region_grid.h); channelRange gives channel block k's channels [begin, end), 0-based.
function cut(b, size, blocks) {
  return Math.floor(b * size / blocks);
}
function channelRange(channels, gc, k) {
  return [cut(k, channels, gc), cut(k + 1, channels, gc)];
}
// What a region is called beside its key: the class name for a region of the output layer (one
// region per logit, README "Region grid"), "channels a–b" (1-based) for a 1×1 grid, else "".
function regionLabel(grid, shape, r, classNames, isOutput) {
  if (grid[0] !== 1 || grid[1] !== 1) return "";
  const k = coordsOf(grid, r)[2];
  if (isOutput && classNames && classNames.length === grid[2]) return classNames[k];
  if (!shape) return "channel block " + (k + 1);
  const [a, b] = channelRange(shape[2], grid[2], k);
  return b - a === 1 ? "channel " + (a + 1) : "channels " + (a + 1) + "–" + b;
}
// Where the 2-D map view draws a layer of grid [GH, GW, GC] in a w × h box.
//  - A spatial grid (GH·GW > 1): one tile per channel block, GH × GW square cells each, tiles in
//    the arrangement of columns that gives the largest cell; each tile has `head` pixels above it
//    (a header line, then a line of column numbers) and `axis` pixels of row numbers on its left.
//  - A 1×1 grid (dense layers): one row per region, a label column, a swatch and the value ("list");
//    with more than 24 regions the list would be unreadable, so squares in rows ("squares").
// Returns { kind, cell, tiles: [{ k, x, y }], cells: [{ r, x, y, w, h }], height }: cells are the
// clickable rectangles in region order.
function mapLayout(grid, w, h) {
  const [gh, gw, gc] = grid, count = gh * gw * gc;
  const cells = [], tiles = [];
  if (gh === 1 && gw === 1 && gc <= 24) {
    const rowH = Math.max(8, Math.min(22, Math.floor(h / gc))), swatch = Math.min(60, Math.floor(w * 0.3));
    const labelW = Math.floor(w * 0.42);
    for (let r = 0; r < count; ++r) cells.push({ r, x: labelW, y: r * rowH + 1, w: swatch, h: rowH - 2 });
    return { kind: "list", cell: rowH, labelW, tiles, cells, height: gc * rowH };
  }
  if (gh === 1 && gw === 1) {
    const per = Math.ceil(Math.sqrt(gc * w / Math.max(1, h))), side = Math.max(2, Math.floor(Math.min(w / per, h / Math.ceil(gc / per))));
    for (let r = 0; r < count; ++r) cells.push({ r, x: (r % per) * side, y: Math.floor(r / per) * side, w: side - 1, h: side - 1 });
    return { kind: "squares", cell: side, tiles, cells, height: Math.ceil(gc / per) * side };
  }
  const head = 24, axis = 14, gap = 6;
  let best = null;
  for (let cols = 1; cols <= gc; ++cols) {
    const rows = Math.ceil(gc / cols);
    const cell = Math.floor(Math.min((w - cols * (axis + gap)) / (cols * gw), (h - rows * (head + gap)) / (rows * gh)));
    if (!best || cell > best.cell) best = { cols, rows, cell };
  }
  const cell = Math.max(1, best.cell), tileW = axis + gw * cell + gap, tileH = head + gh * cell + gap;
  for (let k = 0; k < gc; ++k) tiles.push({ k, x: (k % best.cols) * tileW + axis, y: Math.floor(k / best.cols) * tileH + head });
  for (let r = 0; r < count; ++r) {
    const [i, j, k] = coordsOf(grid, r), t = tiles[k];
    cells.push({ r, x: t.x + j * cell, y: t.y + i * cell, w: cell, h: cell });
  }
  return { kind: "tiles", cell, head, axis, tiles, cells, height: best.rows * tileH };
}
// The region whose cell holds (x, y), or null.
function pickCell(cells, x, y) {
  for (const c of cells) if (x >= c.x && x < c.x + c.w && y >= c.y && y < c.y + c.h) return c.r;
  return null;
}

// ---- a canvas drawn at its CSS size: its bitmap sized to the CSS box × devicePixelRatio and the
// context scaled, so 12 px text is 12 px on screen at any width (a fixed 1,200-pixel bitmap scaled
// to the page would have 3-pixel labels on a phone).  Returns
// { ctx, w, h } in CSS pixels, the canvas cleared.  The pages pass window.devicePixelRatio as `ratio`.
// canvasFits: whether the bitmap already has that size (a page redraws a canvas when it does not).
function canvasBox(canvas, ratio) {
  ratio = ratio || 1;
  const w = Math.max(50, canvas.clientWidth), h = Math.max(30, canvas.clientHeight);
  return { w, h, ratio, bw: Math.round(w * ratio), bh: Math.round(h * ratio) };
}
function canvasFits(canvas, ratio) {
  const { bw, bh } = canvasBox(canvas, ratio);
  return canvas.width === bw && canvas.height === bh;
}
// The ratio both pages pass: the screen's own (window.devicePixelRatio), and at least 3 while the page
// prints (288 dpi on paper, a CSS pixel being 1/96 in; at the screen's ratio the canvases would
// print at 96 dpi at 1: blurred).  Each page redraws its canvases on
// "beforeprint" and again on "afterprint".
function drawRatio(screenRatio, printing) {
  return printing ? Math.max(3, screenRatio) : screenRatio;
}
function sizeCanvas(canvas, ratio) {
  const box = canvasBox(canvas, ratio), { w, h } = box;
  if (!canvasFits(canvas, ratio)) {
    canvas.width = box.bw;
    canvas.height = box.bh;
  }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(box.ratio, 0, 0, box.ratio, 0, 0);
  ctx.clearRect(0, 0, w, h);
  return { ctx, w, h };
}

// ---- the keyboard in a layer's map (a focused map canvas): the region that key `key` moves the
// selection to from region r of a grid [GH, GW, GC] (run/region_grid.h's order), or null for a key
// that does not move it.  Arrows move one row or column block within the channel block's tile
// (stopping at its edge), Page Up / Page Down one channel block (the tile before / after), Home and
// End to the first and last region; in a 1×1 grid (a dense layer's list of channel blocks, the output's
// classes) every arrow steps through the list.
function regionStep(grid, r, key) {
  const [gh, gw, gc] = grid, count = gh * gw * gc;
  if (key === "Home") return 0;
  if (key === "End") return count - 1;
  const [i, j, k] = coordsOf(grid, r);
  const at = (ii, jj, kk) => (ii * gw + jj) * gc + kk;
  const clamp = (v, n) => Math.max(0, Math.min(n - 1, v));
  if (gh === 1 && gw === 1) {
    const step = { ArrowUp: -1, ArrowLeft: -1, PageUp: -1, ArrowDown: 1, ArrowRight: 1, PageDown: 1 }[key];
    return step === undefined ? null : clamp(k + step, gc);
  }
  switch (key) {
    case "ArrowUp": return at(clamp(i - 1, gh), j, k);
    case "ArrowDown": return at(clamp(i + 1, gh), j, k);
    case "ArrowLeft": return at(i, clamp(j - 1, gw), k);
    case "ArrowRight": return at(i, clamp(j + 1, gw), k);
    case "PageUp": return at(i, j, clamp(k - 1, gc));
    case "PageDown": return at(i, j, clamp(k + 1, gc));
    default: return null;
  }
}

// ---- the keyboard in the 3-D voxel views (a focused layer canvas in "3-D voxels"): the rotation and
// zoom that key `key` gives from { yaw, pitch, zoom }, or null for a key that does not turn or zoom.
// ArrowLeft / ArrowRight turn the views by VIEW_STEP about the vertical axis as a drag to the left /
// right does, ArrowUp / ArrowDown by VIEW_STEP about the horizontal one as a drag up / down (pitch kept
// within ±1.5, the drag's limits); + (or =) zooms in and − (or -, _) out by the factor ZOOM_STEP, within
// ZOOM_LIMITS (the wheel's).
const VIEW_STEP = Math.PI / 12, ZOOM_STEP = 1.25, ZOOM_LIMITS = [0.5, 4], PITCH_LIMIT = 1.5;
function clampZoom(z) {
  return Math.max(ZOOM_LIMITS[0], Math.min(ZOOM_LIMITS[1], z));
}
function clampPitch(p) {
  return Math.max(-PITCH_LIMIT, Math.min(PITCH_LIMIT, p));
}
function viewStep(view, key) {
  const { yaw, pitch, zoom } = view, tilt = clampPitch;
  switch (key) {
    case "ArrowLeft": return { yaw: yaw - VIEW_STEP, pitch, zoom };
    case "ArrowRight": return { yaw: yaw + VIEW_STEP, pitch, zoom };
    case "ArrowUp": return { yaw, pitch: tilt(pitch - VIEW_STEP), zoom };
    case "ArrowDown": return { yaw, pitch: tilt(pitch + VIEW_STEP), zoom };
    case "+": case "=": return { yaw, pitch, zoom: clampZoom(zoom * ZOOM_STEP) };
    case "-": case "_": return { yaw, pitch, zoom: clampZoom(zoom / ZOOM_STEP) };
    default: return null;
  }
}

// ---- the pathway view's chains: the (at most) five strongest of an epoch's chains, strongest first
// (score nearer 0), as the view draws and numbers them ("chain 1" the strongest).
function drawnChains(chains) {
  return chains.slice().sort((a, b) => b.score - a.score).slice(0, 5);
}
// The regions of a layer of grid [GH, GW, GC] in the order the pathway view draws its column: channel
// block tiles from the top, within a tile rows from the top, within a row columns from the left.
function columnOrder(grid) {
  const [gh, gw, gc] = grid, out = [];
  for (let k = 0; k < gc; ++k)
    for (let i = 0; i < gh; ++i)
      for (let j = 0; j < gw; ++j) out.push((i * gw + j) * gc + k);
  return out;
}
// The keyboard in the pathway view (a focused #pathways canvas): where key `key` moves the selection
// `at` = { l, r, chain } (chain: the index in drawnChains(chains) being followed, or null; `at` null
// when nothing is selected), or null for a key that does not move it.  `layers` is the epoch's layers
// ({ grid, in, out, in_from, out_to }: the strongest flows of each region, strongest first).
//  - nothing selected: an arrow, Page Up/Down, Home, End, Enter or Space selects the first region of
//    chain 1 (the strongest), or the first layer's first region when no chain is drawn;
//  - ArrowUp / ArrowDown: the region before / after in the selected column, in the order drawn;
//    Home / End: the column's first / last region;
//  - ArrowLeft / ArrowRight: the column before / after, along the chain being followed when the region
//    is on it, else along the region's strongest in-flow / out-flow (the black lines), else to the
//    region at the same place in that column's drawing order;
//  - Page Down / Page Up: the next / previous drawn chain (from none: chain 1 / the last), at its region
//    in the selected column (its first region if it does not pass there).
function pathwayStep(layers, chains, at, key) {
  const drawn = drawnChains(chains), L = layers.length;
  const chainAt = (c, l) => { const s = drawn[c].layers.indexOf(l); return s < 0 ? null : drawn[c].regions[s]; };
  if (!L) return null;
  if (!at) {
    if (!["ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight", "PageUp", "PageDown", "Home", "End", "Enter", " "].includes(key)) return null;
    return drawn.length ? { l: drawn[0].layers[0], r: drawn[0].regions[0], chain: 0 } : { l: 0, r: 0, chain: null };
  }
  const { l, r } = at, order = columnOrder(layers[l].grid), v = order.indexOf(r);
  switch (key) {
    case "ArrowUp": case "ArrowDown": {
      const w = Math.max(0, Math.min(order.length - 1, v + (key === "ArrowUp" ? -1 : 1)));
      return { l, r: order[w], chain: null };
    }
    case "Home": return { l, r: order[0], chain: null };
    case "End": return { l, r: order[order.length - 1], chain: null };
    case "ArrowLeft": case "ArrowRight": {
      const m = l + (key === "ArrowLeft" ? -1 : 1);
      if (m < 0 || m >= L) return { l, r, chain: at.chain };
      if (at.chain !== null && at.chain !== undefined && at.chain < drawn.length && chainAt(at.chain, l) === r && chainAt(at.chain, m) !== null)
        return { l: m, r: chainAt(at.chain, m), chain: at.chain };
      const ly = layers[l], list = key === "ArrowLeft" ? (ly.in_from === m && ly.in ? ly.in[r] : null) : (ly.out_to === m && ly.out ? ly.out[r] : null);
      if (list && list.length) return { l: m, r: list[0], chain: null };
      const there = columnOrder(layers[m].grid);
      return { l: m, r: there[Math.min(there.length - 1, Math.floor(v * there.length / order.length))], chain: null };
    }
    case "PageUp": case "PageDown": {
      if (!drawn.length) return null;
      const c = at.chain === null || at.chain === undefined ? (key === "PageDown" ? 0 : drawn.length - 1)
                                                             : Math.max(0, Math.min(drawn.length - 1, at.chain + (key === "PageDown" ? 1 : -1)));
      const here = chainAt(c, l);
      return here !== null ? { l, r: here, chain: c } : { l: drawn[c].layers[0], r: drawn[c].regions[0], chain: c };
    }
    default: return null;
  }
}

// ---- images (grid.json's images block): pixels in (C, H, W) order, 0–255, C = 1 (grey) or 3 (RGB; any other C
// shows its first channel as grey), as the RGBA bytes of an H × W ImageData.
function imageRGBA(pixels, shape) {
  const [c, h, w] = shape, plane = h * w, out = new Uint8ClampedArray(plane * 4);
  for (let p = 0; p < plane; ++p) {
    const g = pixels[p];
    out[4 * p] = c === 3 ? pixels[p] : g;
    out[4 * p + 1] = c === 3 ? pixels[plane + p] : g;
    out[4 * p + 2] = c === 3 ? pixels[2 * plane + p] : g;
    out[4 * p + 3] = 255;
  }
  return out;
}
// The ζ map of a layer on the image plane: pixel (y, x) takes the mean ζ over the channel blocks of
// spatial block (i, j) with i = the row block whose share of the image holds y when the layer's grid
// is laid over the image proportionally (rows ⌊i·H/GH⌋ … ⌊(i+1)·H/GH⌋ − 1, the grid's own cut
// applied to the image), j likewise.  Returns H·W values, row-major.
function zetaOnImage(grid, zeta, h, w) {
  const [gh, gw, gc] = grid, out = new Float64Array(h * w);
  for (let i = 0; i < gh; ++i)
    for (let j = 0; j < gw; ++j) {
      let sum = 0;
      for (let k = 0; k < gc; ++k) sum += zeta[(i * gw + j) * gc + k];
      const mean = sum / gc;
      for (let y = cut(i, h, gh); y < cut(i + 1, h, gh); ++y)
        for (let x = cut(j, w, gw); x < cut(j + 1, w, gw); ++x) out[y * w + x] = mean;
    }
  return out;
}

// ---- what a layer shows at an epoch: the wanted quantity ("zeta" or "density"), else the other
// one with a note saying so, else nothing.  `layerEpoch` has z (ζ) and g (density) or null.
function modeOf(layerEpoch, want) {
  const other = want === "zeta" ? "density" : "zeta";
  const has = (k) => (k === "zeta" ? !!layerEpoch.z : !!layerEpoch.g);
  const name = (k) => (k === "zeta" ? "ζ" : "density");
  if (has(want)) return { kind: want, note: "" };
  if (has(other)) return { kind: other, note: "no " + name(want) + " at this epoch: showing " + name(other) };
  return { kind: null, note: "not measured at this epoch" };
}

// ---- the run settings as [key, value] rows: config.json flattened to dotted keys (a list of
// scalars joined with ", "), then each definition as "definition.NAME".
// Settings whose number stands for something else (the flags' "< 0: automatic", "0: all"), said beside it.
const SETTING_MEANINGS = {
  "analysis.zeta.tolerance": (v) => (v < 0 ? "automatic: 0.05·max|φ|" : null),
  "analysis.tract.top": (v) => (v === 0 ? "all flows" : null),
};
function settingsRows(config, definitions) {
  const rows = [];
  function walk(prefix, v) {
    const meaning = SETTING_MEANINGS[prefix] && typeof v === "number" ? SETTING_MEANINGS[prefix](v) : null;
    if (meaning) { rows.push([prefix, String(v) + " (" + meaning + ")"]); return; }
    if (v === null || typeof v !== "object") { rows.push([prefix, v === null ? "null" : String(v)]); return; }
    if (Array.isArray(v) && v.every((x) => x === null || typeof x !== "object")) { rows.push([prefix, v.map(String).join(", ")]); return; }
    for (const k of Object.keys(v)) walk(prefix ? prefix + "." + k : k, v[k]);
  }
  if (config === null) rows.push(["config.json", "missing"]);
  else walk("", config);
  for (const k of Object.keys(definitions || {})) rows.push(["definition." + k, definitions[k]]);
  return rows;
}

// The settings compared runs differ in (serve's compare): given each run's settingsRows, [key, first run's
// value, second's, …] for every key whose values are not all the same or that a run lacks ("–"), the keys
// in the order they first appear (the first run's rows in their order, then each further run's own).
function settingsDifference(runs) {
  const maps = runs.map((rows) => new Map(rows)), out = [];
  for (const k of new Set(runs.flatMap((rows) => rows.map(([key]) => key)))) {  // a Set keeps first appearances' order
    const values = maps.map((m) => (m.has(k) ? m.get(k) : "–"));
    if (!maps.every((m) => m.has(k)) || values.some((v) => v !== values[0])) out.push([k, ...values]);
  }
  return out;
}

// The confusion matrix of the ζ sample (analyze --errors): counts[y][p] over paired labels and predictions,
// K×K with K = max(classes, largest label or prediction + 1).
function confusionCounts(labels, predicted, classes) {
  let K = classes || 0;
  for (let i = 0; i < labels.length; ++i) K = Math.max(K, labels[i] + 1, predicted[i] + 1);
  const m = Array.from({ length: K }, () => new Array(K).fill(0));
  for (let i = 0; i < labels.length; ++i) m[labels[i]][predicted[i]] += 1;
  return m;
}

// The bytes of a base64 string (RFC 4648; the page data's example pixels, report.cpp's base64).
function bytesOf(text) {
  const raw = atob(text), out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; ++i) out[i] = raw.charCodeAt(i);
  return out;
}

// The examples of confusion cell true y → predicted p (analyze --errors; epoch errors.examples): the
// indices of those with that label and prediction, the lowest p(true) first (ties by position), at
// most `cap`.
function cellExamples(examples, y, p, cap) {
  const picked = [];
  examples.forEach((x, i) => { if (x.label === y && x.predicted === p) picked.push(i); });
  picked.sort((a, b) => examples[a].p_true - examples[b].p_true || a - b);
  return picked.slice(0, cap);
}

// One layer's line under a picked class or confusion cell (analyze --errors; report.js renderErrors):
// `entry` is the layer's errors.classes or errors.confusions entry of the pick (undefined when it has
// none), `what` names the pick ("cat", "cat → dog"), `images` the images the layer's estimate covers
// (its ζ images: a --zeta-budget cut covers the first of the sample only), regionText(r) names region
// r.  Without an entry the line says that none of those images is of the pick; a cell's entry with no
// region (report.cpp lists only φ < 0) says that no region has a negative φ there.
function errorRegionsLine(layer, entry, what, images, regionText) {
  if (!entry) return layer + ": no image of " + what + " among the " + (images === null || images === undefined ? "" : images + " ") + "images its estimate covers";
  const head = layer + " (" + entry.images + " images): ";
  if (!entry.regions.length) return head + "no region with negative φ";
  return head + entry.regions.map((r, i) => regionText(r) + " (φ " + fmt(entry.phi[i]) + ")").join(", ");
}

// The caption under a confusion cell's example images (report.js cellExampleView): `layer` the chosen
// spatial layer's name (null: none has per-image φ), `covered` of the `shown` images have its φ
// (a --zeta-budget cut covers the sample's first images only), `largest` the overlay's scale.
// The line of layer l in the ζ stability chart (report/figures.h's layer_style, the same rule):
// colour l mod 10 of Tableau 10, dash pattern ⌊l/10⌋ mod 4 of solid, dashed, dotted, dash-dot, so 40
// layers have 40 different lines (by colour alone layers 1 and 11 would look alike).
const LAYER_COLOURS = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"];
const LAYER_DASHES = [[], [6, 3], [1.5, 2.5], [8, 3, 1.5, 3]];
function layerStyle(l) {
  return { colour: LAYER_COLOURS[l % LAYER_COLOURS.length], dash: LAYER_DASHES[Math.floor(l / LAYER_COLOURS.length) % LAYER_DASHES.length] };
}

// The error section when the epoch on the slider has no error maps: that the error analysis was not
// run — at this epoch (`anyEpoch`: another epoch has it) or for the whole run — and the one command
// that adds it for this epoch, so a newcomer need not find the checkpoint, the data and the output
// folder.
// `where`: { run: the run directory's name, epoch, analysisDir: an analyze output directory (its
// checkpoint in the command when its files record an absolute path, else CKPT, with the recorded
// path in the sentence), checkpoint: that recorded path (the files' checkpoint.path) or null, data:
// the data the maps were made from (config.json's data, or an analyze folder's files' meta.data: spec,
// absolute_spec), analysis: config.json's analysis (grid and eval_samples, so the maps are cut as the
// run's; zeta.method, since --errors needs shapley or exact; none for an analyze folder) }.
// Returns { text, command, after }: the sentence, the command (shown as code) and what follows it.
// A word for a POSIX shell: as it is when it holds only characters no shell reads specially, else in
// single quotes (a ' inside written '\''): the page's commands can be pasted whatever a run is named.
function shellWord(s) {
  return /^[A-Za-z0-9_.,:\/=+-]+$/.test(s) ? s : "'" + s.replace(/'/g, "'\\''") + "'";
}

// The `nnfmri compare` command (README "Comparing runs in figures") that writes the comparison the page
// shows as figures and compare.json: the runs' directories under `root` (serve's ROOT), A first, at
// `epoch`, into compare-A in the folder it runs from (not under ROOT, where it would be listed as a run).
function compareCommand(root, runA, others, epoch) {
  const dir = (name) => shellWord(root ? root.replace(/\/+$/, "") + "/" + name : name);
  return ["nnfmri", "compare", dir(runA), ...others.map(dir), "--epoch", String(epoch), "--out", shellWord("compare-" + runA)].join(" ");
}

function noErrorsHint(anyEpoch, where) {
  const w = where || {}, run = w.run || "RUN", a = w.analysis || {};
  const epoch = String(w.epoch === undefined || w.epoch === null ? 1 : w.epoch).padStart(3, "0");
  // the data spec with its folder absolute (data.absolute_spec): the command runs
  // from the folder that holds the run, wherever train ran; an older run's spec as typed
  const d = w.data || {}, spec = d.absolute_spec || d.spec || "SPEC";
  const recorded = w.analysisDir && typeof w.checkpoint === "string" && w.checkpoint ? w.checkpoint : null;
  const absolute = recorded && recorded.startsWith("/") ? recorded : null;
  const ckpt = w.analysisDir ? (absolute ? shellWord(absolute) : "CKPT") : run + "/checkpoints/epoch_" + epoch + ".ckpt";
  const args = ["nnfmri", "analyze", ckpt, "--data", shellWord(spec)];
  if (Array.isArray(a.grid) && a.grid.length === 3) args.push("--grid", a.grid.join("x"));
  if (Number.isFinite(a.eval_samples)) args.push("--eval-samples", String(a.eval_samples));
  if (a.zeta && a.zeta.method && a.zeta.method !== "shapley" && a.zeta.method !== "exact") args.push("--zeta-method", "shapley");
  args.push("--errors", "--out", w.analysisDir ? shellWord(run) : run + "/analysis/epoch_" + epoch);
  const text = (anyEpoch ? "The error analysis was not run at this epoch (epoch " + Number(epoch) + "; other epochs have it)."
                         : "The error analysis was not run for this " + (w.analysisDir ? "checkpoint" : "run") +
                           ": there is no confusion matrix and no error map.") +
               " To add it" + (!w.analysisDir ? " for epoch " + Number(epoch)
                               : absolute ? ""
                               : recorded ? " (CKPT: the checkpoint this folder was analysed from, given to analyze as " + recorded + ")"
                                          : " (CKPT: the checkpoint this folder was analysed from)") + ", run";
  return { text, command: args.join(" "), after: "then nnfmri report " + shellWord(run) + " again (from the folder that holds " + shellWord(run) + ")." };
}

function exampleCaption(layer, covered, shown, largest) {
  if (layer === null) return "no spatial layer with per-image φ: images without overlay";
  if (covered === 0) return layer + ": its estimate covers none of these images (a --zeta-budget cut to the sample's first images): no overlay";
  return layer + ": each image's own φ of the layer spread evenly over each region's receptive field; red supports the true class, " +
         "blue works against it; scale ±" + fmt(largest, 3) + " per pixel" +
         (covered < shown ? "; " + (shown - covered) + " of the " + shown + " images not covered by its estimate: no overlay" : "");
}

// A per-image map on the pixels (README "Per-image maps on the pixels"; run::project_to_pixels in
// C++): cells[i·GW + j] is φ_g(x) summed over the channel groups of cell (i, j), spread evenly over
// its receptive field rows[i] × cols[j] (half-open [first, end) spans); M(p) = Σ over the cells
// whose field holds p of sum / |field|, so Σ_p M(p) = Σ cells.  Returns H·W values, row-major.
function projectCells(cells, rows, cols, h, w) {
  const out = new Float64Array(h * w), gw = cols.length;
  for (let i = 0; i < rows.length; ++i)
    for (let j = 0; j < gw; ++j) {
      const [y0, y1] = rows[i], [x0, x1] = cols[j], share = cells[i * gw + j] / ((y1 - y0) * (x1 - x0));
      for (let y = y0; y < y1; ++y)
        for (let x = x0; x < x1; ++x) out[y * w + x] += share;
    }
  return out;
}

// ---- two runs compared (the page of `nnfmri serve`): ζ(A) − ζ(B) per region of one layer at one
// epoch (a and b: that layer's entries of the two runs' epochs), with the largest |difference| (the
// ends of its symmetric colour scale), the mean |difference| and `apart`: the regions whose two 95% ζ
// intervals do not overlap (lo_A > hi_B or lo_B > hi_A; a region without both intervals is not);
// null unless both measured ζ on the same grid.  report/compare.cpp's zeta_difference (`nnfmri compare`) keeps the same rule.
function zetaDifference(a, b) {
  if (!a || !b || !a.z || !b.z || a.grid.join("x") !== b.grid.join("x") || a.z.zeta.length !== b.z.zeta.length) return null;
  const values = a.z.zeta.map((v, r) => v - b.z.zeta[r]);
  let max = 0, sum = 0;
  for (const v of values) { max = Math.max(max, Math.abs(v)); sum += Math.abs(v); }
  const bound = (z, key, r) => (z[key] && Number.isFinite(z[key][r]) ? z[key][r] : null);
  const apart = values.map((v, r) => r).filter((r) => {
    const la = bound(a.z, "lo", r), ha = bound(a.z, "hi", r), lb = bound(b.z, "lo", r), hb = bound(b.z, "hi", r);
    return la !== null && ha !== null && lb !== null && hb !== null && (la > hb || lb > ha);
  });
  return { values, max, meanAbs: values.length ? sum / values.length : 0, apart };
}

// ---- NN-EEG (README "NN-EEG"): a block's lane values scaled to [0, 1] by their own min and max
// (a constant lane sits at 0.5; null and non-finite values stay null), as an EEG chart scales each trace.
function laneScaled(values) {
  const ok = values.filter((v) => v !== null && Number.isFinite(v));
  const lo = ok.length ? Math.min(...ok) : 0, hi = ok.length ? Math.max(...ok) : 0;
  return values.map((v) => (v === null || !Number.isFinite(v) ? null : hi > lo ? (v - lo) / (hi - lo) : 0.5));
}

// The band-power bars of one block in its cell of the NN-EEG band row (README "NN-EEG"): a box of 45 % of
// the cell and five bars (δ θ α β γ) that fill it, 2 px in from each side (bars at most 8 px
// wide would fill the left 40 px of a box of 200 in a wide cell, of few blocks).
function bandBars(cell) {
  const box = cell * 0.45;
  return { box, barW: Math.max(1, (box - 4) / 5) };
}

// Which of the five band letters (δ θ α β γ) to write under bars of width barW when a letter is
// letterW wide: all five when each bar has room for one, else δ and γ at the two ends when they keep
// 2 px apart, else none (the caption under the row names the order).  All five written whatever the width
// would pile into one smudge in a phone's 420-px page (bars of 3 px).
function bandLabelIndices(barW, letterW) {
  if (barW >= letterW + 2) return [0, 1, 2, 3, 4];
  return 4 * barW >= letterW + 2 ? [0, 4] : [];
}

// The index of the NN-EEG epoch to show with analysed epoch `epoch`: the same epoch, else the last
// one before it, else -1.
function eegEpochIndex(eegEpochs, epoch) {
  let best = -1;
  eegEpochs.forEach((e, i) => { if (e.epoch <= epoch && (best < 0 || e.epoch >= eegEpochs[best].epoch)) best = i; });
  return best;
}

// One consistency term of eeg.json as the cells [value, "[lo, hi]", "median [lo, hi]", items];
// "–" for what is undefined.
function termCells(term) {
  if (!term) return ["–", "–", "–", "0"];
  const range = (r) => (r ? "[" + fmt(r[0], 3) + ", " + fmt(r[1], 3) + "]" : "–");
  const nul = term.null_shuffled ? fmt(term.null_shuffled.median, 3) + " " + range(term.null_shuffled.range) : "–";
  return [fmt(term.value, 3), range(term.ci), nul, String(term.items)];
}

// ---- labels in rows: the entries of widths `widths`, in order, as rows of indices, each row as many
// entries as fit in `room` (an entry wider than room alone on its row).  The training chart's legend
// starts its rows at the plot's left edge, so its room is the plot's width (measured from the
// canvas's edge, the first row of resnet20's 30 layers would run past the right edge).
function wrapRows(widths, room) {
  const rows = [];
  let used = 0;
  widths.forEach((width, i) => {
    if (!rows.length || (rows[rows.length - 1].length && used + width > room)) { rows.push([]); used = 0; }
    rows[rows.length - 1].push(i);
    used += width;
  });
  return rows;
}

// The pathway view's bands: L layers as columns at least `minColumn` (110) px wide in a view `width` px
// wide, wrapped into as few bands (rows of columns) as that allows, as even as they can be (30 layers
// at 1,248 px: 3 bands of 10). Returns { perBand, bands, column }: columns per band and their width.
function pathwayBands(L, width, minColumn = 110) {
  const fit = Math.max(1, Math.floor(width / minColumn));
  const bands = Math.max(1, Math.ceil(L / fit)), perBand = Math.max(1, Math.ceil(L / bands));
  return { perBand, bands, column: width / perBand };
}

// How far to scroll the page (px, + down) so that a box from `top` to `bottom` (client coordinates)
// shows between `viewTop` (under the sticky controls: the page's scroll padding) and `viewBottom` (the
// window's bottom), `margin` px clear of either edge: 0 when it already shows, else only as far as
// needed (its top just under viewTop when it lies above, its bottom just over viewBottom when below);
// a box taller than the room shows from its top.
function revealScroll(top, bottom, viewTop, viewBottom, margin = 8) {
  const low = viewTop + margin, high = viewBottom - margin;
  if (top < low || bottom - top > high - low) return top - low;
  if (bottom > high) return bottom - high;
  return 0;
}

// The pathway view's header above its columns (one column of width `column` per layer; widthOf(text)
// measures a label): the layer names at the column centres, on line 0, or alternately on lines 0 and
// 1 when a name is wider than its column; above them the strengths of the pairs of adjacent layers
// between their two columns; above those, on a line of their own, a residual unit's shortcut
// strengths marked "skip" (as in pathways.png) between its two ends — a shortcut over two layers has
// its middle where the pair of its inner layers has its label (both drawn there would be one over
// the other).  Returns { lines, labels: [{ text, x, line, kind }], omitted }, lines
// counted upwards from the columns' top, omitted the number of labels left out for want of room.
function pathwayHeader(names, pairs, column, widthOf) {
  const stagger = names.some((name) => widthOf(name) > column - 4);
  const labels = names.map((name, l) => ({ text: name, x: (l + 0.5) * column, line: stagger ? l % 2 : 0, kind: "name" }));
  const nameLines = stagger ? 2 : names.length ? 1 : 0;
  let skips = false;
  for (const p of pairs) {
    if (p.strength === null || p.strength === undefined) continue;
    skips = skips || !!p.shortcut;
    labels.push({ text: (p.shortcut ? "skip " : "") + fmt(p.strength, 3), x: (p.from + p.to + 1) * column / 2,
                  line: nameLines + (p.shortcut ? 1 : 0), kind: p.shortcut ? "skip" : "strength" });
  }
  const strengths = labels.some((b) => b.kind === "strength") || skips;
  // where even so a line's labels would overlap (a phone's page: 32 columns of 11 px), a label is
  // left out when it would touch the last one kept on its line, left to right, as axis ticks thin
  // out; every strength is in the Summary's Pathways table
  const kept = [], lastRight = {}, width = names.length * column;
  for (const b of labels.slice().sort((a, c) => a.line - c.line || a.x - c.x)) {
    const half = widthOf(b.text) / 2;
    b.x = Math.max(half + 2, Math.min(width - half - 2, b.x));  // the first and last names inside the view
    if (lastRight[b.line] !== undefined && b.x - half < lastRight[b.line] + 4) continue;
    lastRight[b.line] = b.x + half;
    kept.push(b);
  }
  return { lines: nameLines + (strengths ? 1 : 0) + (skips ? 1 : 0), labels: kept, omitted: labels.length - kept.length };
}

// ---- colour legends: a bar canvas painted with a ramp from its low end (left) to its high end, one
// column per CSS pixel, each the colour at the column's centre; rampColumns gives those colours for a
// bar w pixels wide.  report.html's layer legends and monitor.html's region-map legends both draw
// theirs with drawRampBar in a legend row (legendRow: low value, bar, high value, what it shows; the
// row's elements are made by `make(tag, cls)`, the page's own element maker).
function rampColumns(stops, w) {
  const out = [];
  for (let x = 0; x < w; ++x) out.push(css(ramp(stops, (x + 0.5) / w)));
  return out;
}
function drawRampBar(bar, stops, ratio) {
  const { ctx, w, h } = sizeCanvas(bar, ratio);
  rampColumns(stops, w).forEach((colour, x) => { ctx.fillStyle = colour; ctx.fillRect(x, 0, 1, h); });
}
function legendRow(make) {
  const row = make("div", "legend-row"), low = make("span", "num"), bar = make("canvas"), high = make("span", "num"), what = make("span");
  row.append(low, bar, high, what);
  return { row, low, bar, high, what };
}

// ---- terms with a definition (both pages).  A term's definition is one line of the page's TIPS
// table, naming the README section that defines it.  The term shows it as its tooltip (title) for the
// pointer; for the keyboard it is a Tab stop that shows the same line in the hover box while it has
// the focus and, for a screen reader, is described by it (aria-describedby → #tip-KEY, a hidden
// element of the host box).  A term's name for a screen reader is its own text (aria-labelledby itself),
// not the title, which a span or div would otherwise be named by: the definition twice and not the value.
// One Tab stop per definition: the first shown term of each kind in the page's order (the report's
// cards repeat the same terms: one stop each made 122 stops on a 2-epoch `reference` report); the
// others keep the tooltip and the description.  termStops says which: terms = [{ key, shown }] in the
// page's order → true where the term is a Tab stop (a term in a hidden part keeps its stop for when it
// is shown).
function termStops(terms) {
  const seen = new Set();
  return terms.map(({ key, shown }) => {
    if (!shown) return true;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
// Where the hover box of a focused term goes: under it (`gap` px), above it when it would pass the
// window's bottom, its left edge at the term's within the window's width (8 px clear).  rect: the
// term's client box; box: { w, h } the hover box's size; view: { w, h } the window's.
function termTipPlace(rect, box, view, gap = 6) {
  return { left: Math.max(8, Math.min(view.w - box.w - 8, rect.left)),
           top: rect.bottom + gap + box.h > view.h ? rect.top - gap - box.h : rect.bottom + gap };
}
// The machinery on a page: `page` is the page's document, `tips` its table of definitions (read when
// a term is made or focused, so a page may rewrite a line once it knows its run's settings), `hover`
// the box that shows a focused term's line, `host` the hidden box that holds the descriptions.  A term
// reached by the keyboard (not a click: :focus-visible) shows its line under it (above it at the
// window's bottom) until the focus leaves it or Escape.  A render can replace the first term of a
// kind, so the stops are assigned again once the rendering that made a term is over (a microtask).
// Returns tip(node, key): makes node the term of tips[key], and returns it.
function termTips(page, tips, hover, host) {
  const view = page.defaultView;
  let made = 0, queued = false;
  function assignStops() {
    queued = false;
    const nodes = [...page.querySelectorAll("[data-tip]")];
    const stops = termStops(nodes.map((node) => ({ key: node.dataset.tip, shown: !node.closest("[hidden]") })));
    nodes.forEach((node, i) => { if (stops[i]) node.tabIndex = 0; else node.removeAttribute("tabindex"); });
  }
  function place(node) {
    const at = termTipPlace(node.getBoundingClientRect(), { w: hover.offsetWidth, h: hover.offsetHeight }, { w: view.innerWidth, h: view.innerHeight });
    hover.style.left = at.left + "px";
    hover.style.top = at.top + "px";
  }
  function show(node) {
    hover.textContent = tips[node.dataset.tip];
    hover.hidden = false;
    place(node);
    view.requestAnimationFrame(() => { if (page.activeElement === node && !hover.hidden) place(node); });  // after the scroll into view
  }
  const isTerm = (node) => node && node.dataset && node.dataset.tip;
  const focused = () => (isTerm(page.activeElement) && !hover.hidden ? page.activeElement : null);
  page.addEventListener("focusin", (ev) => { if (isTerm(ev.target) && ev.target.matches(":focus-visible")) show(ev.target); });
  page.addEventListener("focusout", (ev) => { if (isTerm(ev.target)) hover.hidden = true; });
  page.addEventListener("keydown", (ev) => { if (ev.key === "Escape" && focused()) hover.hidden = true; });
  view.addEventListener("scroll", () => { const t = focused(); if (t) place(t); }, { passive: true });
  return (node, key) => {
    node.title = tips[key];
    node.dataset.tip = key;
    if (!queued) { queued = true; view.queueMicrotask(assignStops); }
    if (!node.id) node.id = "term-" + ++made;
    node.setAttribute("aria-labelledby", node.id);
    let def = page.getElementById("tip-" + key);
    if (!def) { def = page.createElement("div"); def.id = "tip-" + key; host.append(def); }
    def.textContent = tips[key];
    node.setAttribute("aria-describedby", def.id);
    return node;
  };
}

if (typeof module === "object" && module && module.exports) {
  module.exports = { shellWord, compareCommand, settingsDifference, canvasFits, drawRatio, regionStep, viewStep, clampZoom, clampPitch, drawnChains, columnOrder, pathwayStep, pathwayBands, layerStyle, confusionCounts, bytesOf, cellExamples, errorRegionsLine, noErrorsHint, exampleCaption, projectCells, fmt, pct, coordsOf, keyOf, hexRgb, ramp, css, layerScale, scalePosition, magnitude, ticks, epochTicks,
                     rotate, insidePolygon, pickFace, modeOf, settingsRows, cut, channelRange, regionLabel, mapLayout, pickCell, imageRGBA, zetaOnImage,
                     zetaDifference, laneScaled, bandBars, eegEpochIndex, termCells, wrapRows, pathwayHeader, bandLabelIndices, revealScroll,
                     rampColumns, drawRampBar, legendRow, termStops, termTipPlace, termTips };
}
