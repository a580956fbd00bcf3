// report/page/report.js — what report.html does with the run's data (report/page/helpers.js holds
// its pure functions, inlined before this file; report/page.h says how the page is assembled).
//
// The page draws:
//  - an epoch slider and a play button that drive every view;
//  - per layer, a 3-D view of the region grid as voxels (x = column block j, y = row block i,
//    depth = channel block k, spread apart so inner slices show), coloured by ζ (RdBu, centred on
//    0) or density (viridis) with one scale per layer over all epochs, optionally sized by |value|,
//    critical regions outlined; drag rotates every view (orthographic projection, painter's
//    algorithm), a click selects a region;
//  - the selected region's numbers (density, information, ζ with interval, significance, Shapley,
//    p, lesion, Taylor, strongest in/out flows) and its ζ across epochs;
//  - the pathway view (layers as columns of channel-block tiles, tract.json's chains and strongest
//    flows), the training curves (loss, accuracy, learning rate) with ζ stability, the epoch's summary
//    and the run's settings;
//  - NN-EEG (with eeg/ files): one lane per block over steps, the loss and the selected region (state
//    timeline, per-step trace or its min–max envelope, event and injection markers), band-power bars
//    and band spectrograms, the consistency terms.
// Served by `nnfmri serve` (its data slot holds {"serve": …}), it also lists the runs, follows the shown
// run as epochs are committed (keeping the user's place) and compares runs by their ζ difference
// (and their training curves, side by side);
// body[data-epochs], data-shown-epoch, data-run and data-version say what it shows.
// Data is shown only through textContent.  For tests it exposes window.nnfmriReport {epochCount,
// layerCount, setEpoch(i), select(l, r), state, frontRegion(layer), voxelPoint(layer, r)} and sets
// body[data-ready="1"] and data-render-ms once drawn; every .layer-view carries data-layer,
// data-regions (voxels drawn), data-epoch and data-colour.
"use strict";
(function () {
  // The data source: report.html inlines its run; the page `nnfmri serve` sends inlines {"serve": {...}}
  // instead and fetches its runs from the server (startLive below).  Everything else is one code path:
  // adopt(data) (re)builds the views from a run's data, keeping the user's place.
  const RAW = JSON.parse(document.getElementById("report-data").textContent);
  const LIVE = RAW.serve || null;
  let D = null;
  let compared = [];  // the compared runs' data (serve's compare, in their order; null: not read): their curves beside D's
  // At most four runs are compared with the shown one at once (serve), lettered B, C, D, E in the order
  // they were added, each drawn on the Training chart in its own dash pattern (the shown run A solid).
  const RUN_DASHES = [[7, 4], [2, 3], [12, 3, 2, 3], [5, 2, 1, 2, 1, 2]];
  const letterOf = (i) => "BCDE"[i];
  const $ = (id) => document.getElementById(id);
  let L = 0, E = 0;
  const state = { e: 0, colour: "zeta", view: "map", sizeByValue: true, yaw: -0.6, pitch: 0.5, zoom: 1, sel: null, pathChain: null, timer: null };
  let CLASSES = [];
  const isOutput = (l) => l === L - 1;  // the output block: one region per logit (README "Region grid")
  const labelOf = (l, r) => { const ly = D.epochs[state.e].layers[l]; return regionLabel(ly.grid, ly.shape, r, CLASSES, isOutput(l)); };
  // The canvases' pixels per CSS pixel (sizeCanvas's ratio; helpers.js drawRatio): the screen's, at
  // least 3 while the page prints (printCanvases, below).
  let printing = false;
  const pixelRatio = () => drawRatio(window.devicePixelRatio, printing);

  // One line per quantity, shown as the tooltip of every legend, metric and table heading; the
  // README section that defines it is named at the end (the same words as the "How to read" panel).
  const TIPS = {
    region: "A region is one block of a layer's activations: a range of rows × columns × channels (README \"Region grid\").",
    zeta: "ζ = (φ − mean φ) / sd φ over the layer's regions, φ the region's Shapley lesion impact: above 0 = more important than the layer's average, below 0 = less important (not harmful) (README \"ζ-scores\").",
    interval: "95% interval of ζ. Significant is a separate test: φ differs from 0, p adjusted for the layer's many regions (Benjamini–Hochberg) < 0.01 (README \"Two intervals\").",
    p_value: "p-value of φ = 0 before the adjustment for the layer's many regions, from the interval kind the layer uses (sample or population) (README \"Two intervals\").",
    robust: "robust score = (φ − median φ) / (1.4826·MAD φ) over the layer's regions; critical needs ≥ 3.5 and significant (README \"Critical regions\").",
    lesion: "lesion Δ = v(all) − v(all without this region): the drop when this region alone is silenced, the others kept (README \"ζ-scores\").",
    taylor: "Taylor = Σ over the region's units of (a − baseline)·∂v/∂a from one backward pass: the first-order estimate of the lesion Δ (README \"ζ-scores\").",
    zeta_images: "The images φ is averaged over, and why the permutation sampling stopped: tolerance (every interval narrow enough), budget (time), max_permutations (README \"ζ-scores\").",
    shapley: "Shapley value φ: the mean drop of the log-likelihood of the true class when this region is lesioned, over all orders of lesioning the layer's regions (README \"ζ-scores\").",
    density: "density = mean |a| + 0.1·ln(variance + 1e-6) of the region's activations, averaged over images (README \"Region grid\").",
    information: "information = mutual information in bits between the region's density and the class, with a shuffled-label null beside it (README \"Region grid\").",
    selectivity: "selectivity = (information − null) / log2(classes), clamped to [0, 1] (README \"Reading the report\").",
    dead: "dead: the region is active (|a| > 1e-6) for fewer than 5% of unit-image pairs (README \"Region grid\").",
    coverage: "coverage = share of the layer's regions that are not dead (README \"Region grid\").",
    critical: "critical: robust score (φ − median φ)/(1.4826·MAD) ≥ 3.5 and significant (README \"Critical regions\").",
    strength: "strength per receiving unit = connection_strength / units of the receiving layer: mean absolute input drive (README \"Tractography\").",
    efficiency: "pathway efficiency = 1 − H(p)/ln n of the flow shares p over the connected region pairs: 1 when one pathway carries all (README \"Tractography\").",
    chain: "chain score = Σ log(C_step / connection_strength of its pair): always ≤ 0; nearer 0 = a larger share of each pair's flow follows the chain (README \"Tractography\").",
    stability: "ζ stability = Spearman rank correlation of a layer's region ζ with the previous analysed epoch (README \"Reading the report\").",
    layer: "An imaged layer: one block of the network (a convolution, pool or dense layer with its batch norm and ReLU) (README \"Imaging\"). In the top regions, \"pool1 (= conv1)\": conv1 plays pool1's lesion game, so its ζ is pool1's and is listed once (README \"One game, two blocks\").",
    path: "A pair of consecutive imaged layers, from → to (README \"Tractography\").",
    flow: "The pair's strongest region-to-region flow C_{A→B} (README \"Tractography\").",
    same_game: "This layer's lesion game is the named later layer's: every coalition of its regions leaves the network's output exactly as the same coalition of that layer's regions does (a conv + ReLU read only by a max pool, zero ablation), so the ζ stage scored the game once and both maps show the same φ, intervals and critical regions; the Taylor terms are each layer's own (README \"One game, two blocks\").",
    role: "role: the layer's third of the network: feature extraction, pattern recognition, decision (README \"Reading the report\").",
    // NN-EEG's cross-modal consistency terms (README "Cross-modal consistency")
    rho_gamma_zeta: "ρ_γζ (region form): per block, Spearman's ρ between each region's relative γ power (the share of its fastest step-to-step fluctuation, cycles/step 1/4 … 1/2) over the epoch and its ζ; the mean over the blocks (README \"Cross-modal consistency\").",
    rho_gamma_zeta_layer: "ρ_γζ (layer form): Spearman's ρ over (block, analysed epoch) points between the block's relative γ power and the largest ζ of its regions (README \"Cross-modal consistency\").",
    kappa: "κ: Cohen's kappa between each block's EEG state (learning and plateau → ok, unstable, dead) and its state in the maps (a ζ-map jump → unstable, a coverage collapse → dead) over blocks × epochs: 1 = they always agree, 0 = no better than chance (README \"Cross-modal consistency\").",
    f1: "F1 = 2TP/(2TP + FP + FN): how well the EEG's events find the maps' anomalies (a ζ-map jump or a coverage drop) over blocks × epochs; 0 or undefined when neither side has one, as in a clean run: it is meant for runs with injected faults (README \"Cross-modal consistency\").",
    consistency: "Consistency = (max(0, ρ_γζ region form) + max(0, κ) + max(0, F1)) / 3: a negative or undefined term counts 0 (README \"Cross-modal consistency\").",
    bootstrap: "95% CI: the 2.5 and 97.5 percentiles of the term over 1,000 bootstrap resamples of its items; null: the term with the spatial side shuffled, what it reads when the two sides are unrelated (README \"Cross-modal consistency\").",
  };
  // A term with a definition (helpers.js termTips: its tooltip, its one Tab stop per definition, the
  // hover box while it has the keyboard's focus, its description for a screen reader).
  const tip = termTips(document, TIPS, $("hover"), $("tips"));

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  // ---- the evaluation images of grid.json's images block (mean image first, then the examples), each
  // drawn once at its own size on a canvas that views scale up without smoothing.
  let IMAGES = [];
  const makeImages = () => {
    const I = D.images;
    if (!I || !I.shape) return [];
    const list = [];
    if (I.mean) list.push({ title: "mean of the evaluation images", pixels: I.mean });
    for (const ex of I.examples) list.push({ title: "test image " + ex.index + " · " + (CLASSES[ex.label] !== undefined ? CLASSES[ex.label] : "class " + ex.label), pixels: ex.pixels });
    const [, h, w] = I.shape;
    return list.map((item) => {
      const c = document.createElement("canvas");
      c.width = w; c.height = h;
      c.getContext("2d").putImageData(new ImageData(imageRGBA(item.pixels, I.shape), w, h), 0, 0);
      return { title: item.title, canvas: c, h, w };
    });
  };
  // An image scaled to `size` CSS pixels wide; draw(ctx, s) then adds marks in image pixels × s.
  function imageView(img, size, draw) {
    const canvas = el("canvas", "on-image");
    canvas.title = img.title;
    canvas.setAttribute("role", "img"); canvas.setAttribute("aria-label", img.title);  // a screen reader's alt text
    canvas.style.width = size + "px"; canvas.style.height = Math.round(size * img.h / img.w) + "px";
    const box = el("figure", "image-box");
    box.append(canvas, el("figcaption", null, img.title));
    requestAnimationFrame(() => {
      const { ctx } = sizeCanvas(canvas, pixelRatio()), s = size / img.w;
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(img.canvas, 0, 0, img.w * s, img.h * s);
      if (draw) draw(ctx, s);
    });
    return box;
  }

  // ---- colour scales: the stop tables of report/colormap.h, one scale per layer over all epochs
  let SEQ = [], DIV = [], scales = [];
  const colourOf = (l, kind, v) => ramp(kind === "zeta" ? DIV : SEQ, scalePosition(scales[l], kind, v));
  // What a layer shows at the current epoch: the chosen quantity, else the other one, else nothing.
  const layerMode = (l) => modeOf(D.epochs[state.e].layers[l], state.colour);
  const valuesOf = (ly, kind) => (kind === "zeta" ? ly.z.zeta : ly.g.density);

  // ---- header, notes, settings
  function buildHeader() {
    $("notes").replaceChildren();
    document.title = "nnfmri report: " + D.meta.run;
    $("title").textContent = "nnfmri report — " + D.meta.run;
    const trained = D.metrics.epoch.length;
    // An analyze output directory is one imaged checkpoint: no training to count; the checkpoint's path
    // as analyze was given it, where its files record it.
    const imaged = D.meta.analysis_dir && D.epochs[0].checkpoint ? ": " + D.epochs[0].checkpoint.path : "";
    $("subtitle").textContent = D.meta.model + " on " + D.meta.dataset + " · " +
      (D.meta.analysis_dir ? "one analysed checkpoint (epoch " + D.epochs[0].epoch + ")" + imaged
                           : trained + " epoch" + (trained === 1 ? "" : "s") + " trained · " + E + " analysed") +
      " · " + L + " imaged layers";
    const notes = $("notes");
    if (D.notes.length) {
      notes.append(el("strong", null, D.meta.analysis_dir ? "Notes" : "Missing inputs"));
      const ul = el("ul");
      for (const n of D.notes) ul.append(el("li", null, n));
      notes.append(ul);
    }
  }
  function buildSettings() {
    const table = $("settings");
    table.replaceChildren();
    for (const [k, v] of settingsRows(D.config, D.definitions)) {
      const tr = el("tr");
      tr.append(el("td", null, k), el("td", null, v));
      table.append(tr);
    }
  }

  // ---- 3-D voxel views
  const CORNERS = [[-1, -1, -1], [1, -1, -1], [1, 1, -1], [-1, 1, -1], [-1, -1, 1], [1, -1, 1], [1, 1, 1], [-1, 1, 1]];
  const FACES = [[[0, 0, -1], [0, 1, 2, 3]], [[0, 0, 1], [4, 5, 6, 7]], [[0, -1, 0], [0, 1, 5, 4]],
                 [[0, 1, 0], [3, 2, 6, 7]], [[-1, 0, 0], [0, 3, 7, 4]], [[1, 0, 0], [1, 2, 6, 5]]];
  const LIGHT = (() => { const v = [-0.4, -0.6, 0.75], n = Math.hypot(v[0], v[1], v[2]); return v.map((x) => x / n); })();
  const turn = (p) => rotate(p, state.yaw, state.pitch);  // the views' common rotation
  const views = [];
  function buildLayerViews() {
    const host = $("layers");
    host.replaceChildren();
    views.length = 0;
    if (!L) host.append(el("p", "hint", "No imaged layers: the run has no analysis/epoch_N/grid.json, zeta.json or tract.json."));
    D.layers.forEach((layer, l) => {
      const card = el("div", "layer-view");
      card.dataset.layer = layer.name;
      const head = el("div", "layer-head");
      head.append(el("h3", null, layer.name), el("span", "role", layer.role.replace(/_/g, " ")));
      const info = el("div", "layer-info"), note = el("div", "layer-note");
      const canvas = el("canvas", "voxels");
      canvas.tabIndex = 0;  // the keyboard reaches every map (attachPointer's keydown moves the selection; its aria-label: renderView)
      const { row: legend, low, bar, high, what } = legendRow(el);
      tip(legend, "zeta");
      tip(head.lastChild, "role");
      card.append(head, info, canvas, legend, note);
      host.append(card);
      const view = { l, card, info, note, canvas, bar, low, high, what, faces: [], cells: [] };
      attachPointer(view);
      views.push(view);
    });
  }
  // The region under a point of a view's canvas (2-D cells or 3-D faces), or null.
  const regionAt = (view, x, y) => (state.view === "map" ? pickCell(view.cells, x, y) : pickFace(view.faces, x, y));
  function attachPointer(view) {
    let start = null;
    const local = (ev) => { const rect = view.canvas.getBoundingClientRect(); return [ev.clientX - rect.left, ev.clientY - rect.top]; };
    view.canvas.addEventListener("pointerdown", (ev) => {
      start = { x: ev.clientX, y: ev.clientY, yaw: state.yaw, pitch: state.pitch, moved: false };
      try { view.canvas.setPointerCapture(ev.pointerId); } catch (e) { /* synthetic pointer */ }
    });
    view.canvas.addEventListener("pointermove", (ev) => {
      if (!start) { showTip(view, ev); return; }
      const dx = ev.clientX - start.x, dy = ev.clientY - start.y;
      if (Math.abs(dx) + Math.abs(dy) > 3) start.moved = true;
      if (!start.moved || state.view === "map") return;
      hideTip();
      state.yaw = start.yaw + dx * 0.01;
      state.pitch = clampPitch(start.pitch + dy * 0.01);
      scheduleVoxels();
    });
    const end = (ev) => {
      if (start && !start.moved && ev.type === "pointerup") {
        const [x, y] = local(ev), r = regionAt(view, x, y);
        if (r !== null) select(view.l, r);
      }
      start = null;
    };
    // the keyboard: Enter, Space or an arrow on a map without a selection in it selects its first
    // region; then arrows, Page Up/Down, Home and End move it (regionStep).  In the 3-D views the arrows
    // turn every view and + / − zoom (viewStep), as a drag and the wheel do; Shift + an arrow moves the region.
    view.canvas.addEventListener("keydown", (ev) => {
      if (ev.ctrlKey || ev.altKey || ev.metaKey) return;
      // (Shift with an arrow moves the region; Shift with = is "+" on many keyboards and zooms)
      const turned = state.view === "map" || (ev.shiftKey && ev.key.startsWith("Arrow")) ? null : viewStep(state, ev.key);
      if (turned) {
        ev.preventDefault();
        Object.assign(state, turned);
        scheduleVoxels();
        return;
      }
      const here = state.sel && state.sel.l === view.l, grid = D.epochs[state.e].layers[view.l].grid;
      const next = here ? regionStep(grid, state.sel.r, ev.key)
                        : ev.key === "Enter" || ev.key === " " || regionStep(grid, 0, ev.key) !== null ? 0 : null;
      if (next === null) return;
      ev.preventDefault();
      if (!here || next !== state.sel.r) select(view.l, next);
      announce();
    });
    view.canvas.addEventListener("pointerup", end);
    view.canvas.addEventListener("pointercancel", end);
    view.canvas.addEventListener("pointerleave", hideTip);
    view.canvas.addEventListener("wheel", (ev) => {  // zoom the 3-D views (all together, like rotation)
      if (state.view === "map") return;
      ev.preventDefault();
      state.zoom = clampZoom(state.zoom * Math.exp(-ev.deltaY * 0.0015));
      scheduleVoxels();
    }, { passive: false });
  }
  // The hover line: layer, region, its label, ζ with interval, density, and what it is flagged as.
  function hoverText(l, r) {
    const ly = D.epochs[state.e].layers[l], label = labelOf(l, r);
    let text = D.layers[l].name + " " + keyOf(ly.grid, r) + (label ? " (" + label + ")" : "");
    if (ly.z) text += " · ζ " + fmt(ly.z.zeta[r]) + " [" + fmt(ly.z.lo[r]) + ", " + fmt(ly.z.hi[r]) + "]";
    if (ly.g) text += " · density " + fmt(ly.g.density[r]);
    if (ly.z && ly.z.critical.indexOf(r) >= 0) text += " · critical";
    if (ly.g && ly.g.dead.indexOf(r) >= 0) text += " · dead";
    return text;
  }
  function showTip(view, ev) {
    const rect = view.canvas.getBoundingClientRect(), r = regionAt(view, ev.clientX - rect.left, ev.clientY - rect.top);
    const box = $("hover");
    if (r === null) { hideTip(); return; }
    box.textContent = hoverText(view.l, r);
    box.hidden = false;
    box.style.left = Math.min(window.innerWidth - box.offsetWidth - 8, ev.clientX + 14) + "px";
    box.style.top = ev.clientY + 16 + "px";
  }
  function hideTip() { $("hover").hidden = true; }
  function drawLegendBar(view, kind, classMap) {
    const s = scales[view.l], ratio = pixelRatio();
    if (classMap) {
      drawRampBar(view.bar, DIV, ratio);
      view.low.textContent = fmt(-classMap.max, 3); view.high.textContent = fmt(classMap.max, 3);
      view.what.textContent = "φ of " + (CLASSES[state.classMap] || state.classMap);
      return;
    }
    if (!kind) { sizeCanvas(view.bar, ratio); view.low.textContent = ""; view.high.textContent = ""; view.what.textContent = ""; return; }
    drawRampBar(view.bar, kind === "zeta" ? DIV : SEQ, ratio);
    view.low.textContent = kind === "zeta" ? fmt(-s.zmax, 3) : fmt(s.lo, 3);
    view.high.textContent = kind === "zeta" ? fmt(s.zmax, 3) : fmt(s.hi, 3);
    view.what.textContent = kind === "zeta" ? "ζ" : "density";
  }
  // The class map (analyze --errors; the "φ of class" choice in Controls): a layer's φ over the images
  // of class c at this epoch (zeta.json's per_class, in full), on RdBu centred on 0 with the scale
  // ±(largest |φ| of the layer over every class at this epoch), so that classes compare within a layer.
  state.classMap = null;
  function classMapOf(ly) {
    if (state.classMap === null || !ly.errors || !ly.errors.classes) return null;
    const entry = ly.errors.classes.find((c) => c.class === state.classMap);
    if (!entry || !entry.map) return null;
    let m = 0;
    for (const c of ly.errors.classes) if (c.map) for (const v of c.map) m = Math.max(m, Math.abs(v));
    return { values: entry.map, max: m };
  }
  function buildClassMapPick() {
    const host = $("class-map-pick");
    host.replaceChildren();
    const any = D.epochs.some((ep) => ep.layers.some((ly) => ly.errors && ly.errors.classes && ly.errors.classes.some((c) => c.map)));
    if (!any) { state.classMap = null; return; }
    const select = el("select");
    select.id = "class-map";
    select.append(new Option("(no class: ζ or density)", ""));
    const K = Math.max(CLASSES.length, ...D.epochs.flatMap((ep) => ep.layers.flatMap((ly) => (ly.errors && ly.errors.classes ? ly.errors.classes.map((c) => c.class + 1) : []))));
    for (let c = 0; c < K; ++c) select.append(new Option(CLASSES[c] !== undefined ? CLASSES[c] : String(c), String(c)));
    if (state.classMap !== null && state.classMap < K) select.value = String(state.classMap); else state.classMap = null;
    select.addEventListener("change", () => { state.classMap = select.value === "" ? null : Number(select.value); renderAll(); });
    host.append(" · φ of class ", select);
  }
  function renderView(view) {
    const l = view.l, ep = D.epochs[state.e], ly = ep.layers[l], grid = ly.grid;
    const [gh, gw, gc] = grid, count = gh * gw * gc;
    const mode = layerMode(l);
    const classMap = state.view === "map" ? classMapOf(ly) : null;
    const values = classMap ? classMap.values : mode.kind ? valuesOf(ly, mode.kind) : null;
    const colour = classMap ? (v) => ramp(DIV, classMap.max > 0 ? (v / classMap.max + 1) / 2 : 0.5) : undefined;
    const critical = new Set(ly.z ? ly.z.critical : []);
    const dead = new Set(ly.g ? ly.g.dead : []);
    const { ctx, w, h } = sizeCanvas(view.canvas, pixelRatio());
    view.canvas.style.cursor = state.view === "map" ? "pointer" : "grab";
    view.canvas.setAttribute("aria-label", D.layers[l].name + (state.view === "map"
      ? " regions, 2-D map: arrow keys, Page Up and Page Down, Home and End move the selected region"
      : " regions, 3-D voxels: arrow keys turn the views, + and − zoom; Shift with an arrow key, Page Up and Page Down move the selected region"));
    if (state.view === "map") drawMap(view, ctx, w, h, { ly, grid, mode, values, critical, dead, colour });
    else drawVoxels(view, ctx, w, h, { grid, mode, values, critical });
    view.card.dataset.regions = String(count);
    view.card.dataset.epoch = String(ep.epoch);
    view.card.dataset.colour = classMap ? "class:" + state.classMap : mode.kind || "none";
    if (classMap) view.card.dataset.top = String(classMap.values.reduce((b, v, r) => (v > classMap.values[b] ? r : b), 0));
    else delete view.card.dataset.top;
    view.card.dataset.view = state.view;
    const shape = ly.shape ? ly.shape.join("×") + " · " : "";
    view.info.replaceChildren();
    const part = (text, key) => { const span = el("span", null, text); if (key) tip(span, key); view.info.append(span); };
    part(shape + "grid " + grid.join("×"));
    if (ly.g) { view.info.append(" · "); part("coverage " + pct(ly.g.coverage), "coverage"); }
    if (ly.z) { view.info.append(" · "); part(ly.z.critical.length + " critical", "critical"); }
    if (ly.z && ly.z.images) {
      view.info.append(" · ");
      part("ζ from " + ly.z.images + " image" + (ly.z.images === 1 ? "" : "s") + (ly.z.stopped_by ? ", stopped by " + ly.z.stopped_by.replace(/_/g, " ") : ""), "zeta_images");
    }
    if (ly.z && ly.z.same_game_as) { view.info.append(" · "); part("ζ: " + ly.z.same_game_as + "'s game", "same_game"); }
    // ζ (sd with n − 1) over n regions reaches at most (n − 1)/√n (Samuelson's inequality: one region
    // against n − 1 equal ones), below 2 for n ≤ 5.
    const cap = (count - 1) / Math.sqrt(count);
    const capped = ly.z && count >= 2 && cap < 2
      ? "ζ ≤ (n−1)/√n = " + fmt(cap, 3) + " with n = " + count + " regions: the method's ζ ≥ 2 cannot occur here; “critical” uses the robust score. " : "";
    view.note.textContent = capped + (classMap ? "φ over the images of class " + (CLASSES[state.classMap] || state.classMap) + " (analyze --errors), not ζ. " : state.classMap !== null && state.view === "map" ? "no φ of that class for this layer at this epoch. " : "") + mode.note;
    drawLegendBar(view, mode.kind, classMap);
  }
  // The 2-D map: the same tiles as the PNG figures (mapLayout), row numbers on the left of each
  // tile, column numbers above the first row of tiles, a channel-block header per tile; critical
  // regions outlined in black, dead ones crossed, the selected one ringed.
  // `colour` (value → rgb) replaces the layer's own scale (the comparison's shared and difference scales).
  function drawMap(view, ctx, w, h, { ly, grid, mode, values, critical, dead, colour }) {
    const l = view.l, [gh, gw, gc] = grid;
    const lay = mapLayout(grid, w - 8, h - 8);
    const ox = 4, oy = 4 + Math.max(0, Math.floor((h - 8 - lay.height) / 2));
    view.cells = lay.cells.map((c) => ({ r: c.r, x: c.x + ox, y: c.y + oy, w: c.w, h: c.h }));
    const rgb = colour || ((v) => colourOf(l, mode.kind, v));
    const fill = (r) => (values ? css(rgb(values[r])) : "#e4e4e4");
    ctx.textBaseline = "middle";
    if (lay.kind === "tiles") {
      ctx.font = "10px system-ui, sans-serif";
      for (const t of lay.tiles) {
        const [a, b] = ly.shape ? channelRange(ly.shape[2], gc, t.k) : [t.k, t.k + 1];
        ctx.fillStyle = "#444"; ctx.textAlign = "left";
        ctx.fillText(ly.shape ? "ch " + (a + 1) + "–" + b : "block " + (t.k + 1), ox + t.x, oy + t.y - 17);
        ctx.fillStyle = "#888"; ctx.textAlign = "right";
        if (lay.cell >= 9) for (let i = 0; i < gh; ++i) if (gh <= 8 || i % 2 === 0) ctx.fillText(String(i + 1), ox + t.x - 2, oy + t.y + (i + 0.5) * lay.cell);
      }
      ctx.textAlign = "center"; ctx.fillStyle = "#888";
      if (lay.cell >= 9)  // column numbers above every tile, under its header
        for (const t of lay.tiles)
          for (let j = 0; j < gw; ++j) if (gw <= 8 || j % 2 === 0) ctx.fillText(String(j + 1), ox + t.x + (j + 0.5) * lay.cell, oy + t.y - 6);
    }
    for (const c of view.cells) {
      ctx.fillStyle = fill(c.r);
      ctx.fillRect(c.x, c.y, c.w, c.h);
      if (lay.kind === "tiles" && lay.cell >= 6) { ctx.strokeStyle = "rgba(255,255,255,0.5)"; ctx.lineWidth = 0.5; ctx.strokeRect(c.x + 0.25, c.y + 0.25, c.w - 0.5, c.h - 0.5); }
      if (dead.has(c.r)) {
        ctx.strokeStyle = "rgba(0,0,0,0.45)"; ctx.lineWidth = 1;
        ctx.beginPath(); ctx.moveTo(c.x + 1, c.y + 1); ctx.lineTo(c.x + c.w - 1, c.y + c.h - 1); ctx.stroke();
      }
      if (critical.has(c.r)) { ctx.strokeStyle = "#000"; ctx.lineWidth = 1.6; ctx.strokeRect(c.x + 0.8, c.y + 0.8, c.w - 1.6, c.h - 1.6); }
      if (state.sel && state.sel.l === l && state.sel.r === c.r) {
        ctx.lineWidth = 3; ctx.strokeStyle = "#000"; ctx.strokeRect(c.x - 1.5, c.y - 1.5, c.w + 3, c.h + 3);
        ctx.lineWidth = 1.2; ctx.strokeStyle = "#fff"; ctx.strokeRect(c.x - 1.5, c.y - 1.5, c.w + 3, c.h + 3);
      }
    }
    const labels = [];
    if (lay.kind === "list") {
      ctx.font = "11px system-ui, sans-serif";
      for (const c of view.cells) {
        const label = labelOf(l, c.r) || keyOf(grid, c.r);
        labels.push(label);
        ctx.fillStyle = "#222"; ctx.textAlign = "right";
        ctx.fillText(label.length > 18 ? label.slice(0, 17) + "…" : label, c.x - 6, c.y + c.h / 2);
        ctx.fillStyle = "#555"; ctx.textAlign = "left";
        if (values) ctx.fillText((mode.kind === "zeta" ? "ζ " : "") + fmt(values[c.r]), c.x + c.w + 6, c.y + c.h / 2);
      }
    }
    ctx.textBaseline = "alphabetic";
    view.card.dataset.tiles = String(lay.tiles.length);
    view.card.dataset.labels = JSON.stringify(labels);
  }
  // An orientation triad in the 3-D view's corner: the axes of columns, rows and channel blocks.
  function drawAxes(ctx, h) {
    const o = [26, h - 24], names = [["col", [1, 0, 0]], ["row", [0, 1, 0]], ["ch", [0, 0, 1]]];
    ctx.font = "10px system-ui, sans-serif"; ctx.textAlign = "center"; ctx.textBaseline = "middle";
    for (const [name, axis] of names) {
      const p = turn(axis);
      ctx.strokeStyle = "#777"; ctx.lineWidth = 1.2;
      ctx.beginPath(); ctx.moveTo(o[0], o[1]); ctx.lineTo(o[0] + 14 * p[0], o[1] + 14 * p[1]); ctx.stroke();
      ctx.fillStyle = "#555"; ctx.fillText(name, o[0] + 22 * p[0], o[1] + 22 * p[1]);
    }
    ctx.textBaseline = "alphabetic";
  }
  function drawVoxels(view, ctx, w, h, { grid, mode, values, critical }) {
    const l = view.l, [gh, gw, gc] = grid, count = gh * gw * gc;
    const spread = gc > 1 ? 1.8 : 1;
    const radius = 0.5 * Math.hypot(gw, gh, gc * spread) + 0.5;
    const scale = (state.zoom * Math.min(w, h) * 0.56) / radius, cx = w / 2, cy = h / 2;
    const rc = CORNERS.map(turn), faces = FACES.map(([n, v]) => ({ n: turn(n), v }));
    const order = [];
    for (let r = 0; r < count; ++r) {
      const [i, j, k] = coordsOf(grid, r);
      order.push({ r, c: turn([j - (gw - 1) / 2, i - (gh - 1) / 2, (k - (gc - 1) / 2) * spread]) });
    }
    order.sort((a, b) => a.c[2] - b.c[2] || a.r - b.r);  // far to near
    view.faces = [];
    const polygons = (item, half) => faces.filter((f) => f.n[2] > 1e-6).map((f) => ({
      f, pts: f.v.map((c) => [cx + scale * (item.c[0] + half * rc[c][0]), cy + scale * (item.c[1] + half * rc[c][1])]) }));
    const path = (pts) => { ctx.beginPath(); ctx.moveTo(pts[0][0], pts[0][1]); for (let p = 1; p < 4; ++p) ctx.lineTo(pts[p][0], pts[p][1]); ctx.closePath(); };
    let selectedItem = null;
    for (const item of order) {
      const v = values ? values[item.r] : null;
      const base = values ? colourOf(l, mode.kind, v) : [200, 200, 200];
      const half = 0.42 * (values && state.sizeByValue ? 0.3 + 0.7 * magnitude(scales[l], mode.kind, v) : 1);
      for (const { f, pts } of polygons(item, half)) {
        const light = 0.62 + 0.38 * Math.max(0, f.n[0] * LIGHT[0] + f.n[1] * LIGHT[1] + f.n[2] * LIGHT[2]);
        path(pts);
        ctx.fillStyle = css(base, light);
        ctx.fill();
        ctx.lineWidth = critical.has(item.r) ? 1.6 : 0.6;
        ctx.strokeStyle = critical.has(item.r) ? "#000" : "rgba(0,0,0,0.22)";
        ctx.stroke();
        view.faces.push({ r: item.r, pts });
      }
      if (state.sel && state.sel.l === l && state.sel.r === item.r) selectedItem = { item, half };
    }
    if (selectedItem) {  // drawn again on top so a hidden selection is still seen
      for (const { pts } of polygons(selectedItem.item, Math.max(selectedItem.half, 0.3))) {
        path(pts);
        ctx.lineWidth = 3; ctx.strokeStyle = "#000"; ctx.stroke();
        ctx.lineWidth = 1.2; ctx.strokeStyle = "#fff"; ctx.stroke();
      }
    }
    drawAxes(ctx, h);
    view.card.dataset.tiles = "0";
  }
  let voxelFrame = 0;
  function scheduleVoxels() {
    if (voxelFrame) return;
    voxelFrame = requestAnimationFrame(() => { voxelFrame = 0; views.forEach(renderView); });
  }

  // ---- details of the selected region
  // `chain`: the pathway view's chain being followed by the keyboard (pathwayStep), else none
  function select(l, r, chain) {
    state.sel = { l, r };
    state.pathChain = chain === undefined ? null : chain;
    renderAll();
  }
  function flowList(ly, which, targetLayer) {
    const list = ly[which] ? ly[which][state.sel.r] : null;
    if (!list || targetLayer === null || targetLayer === undefined) return "–";
    const tgrid = D.epochs[state.e].layers[targetLayer].grid, name = D.layers[targetLayer].name;
    const parts = [];
    for (let i = 0; i < list.length; i += 2) parts.push(name + " " + keyOf(tgrid, list[i]) + " (" + fmt(list[i + 1], 3) + ")");
    return parts.length ? parts.join("; ") : "none listed";
  }
  function renderDetails() {
    const body = $("details-body");
    body.replaceChildren();
    if (!state.sel) { body.append(el("p", "hint", "Click a region (in a map, the 3-D view or the pathway view), or Tab to a map or the pathway view and press an arrow key, to see its numbers.")); return; }
    const { l, r } = state.sel, ep = D.epochs[state.e], ly = ep.layers[l], grid = ly.grid;
    const [i, j, k] = coordsOf(grid, r);
    const label = labelOf(l, r);
    body.append(el("h3", null, D.layers[l].name + " · " + keyOf(grid, r) + (label ? " · " + label : "")));
    // The region's receptive field (grid.json: the input pixels its units read) on the images.
    const rf = D.layers[l].rf;
    if (rf && IMAGES.length && rf.rows.length === grid[0] && rf.cols.length === grid[1]) {
      const [y0, y1] = rf.rows[i], [x0, x1] = rf.cols[j];
      const head = tip(el("div", "hint", "receptive field: rows " + (y0 + 1) + "–" + y1 + ", columns " + (x0 + 1) + "–" + x1 + " of the input"), "region");
      const strip = el("div", "image-strip");
      strip.dataset.rf = [y0, y1, x0, x1].join(",");
      for (const img of IMAGES.slice(0, 4))
        strip.append(imageView(img, 96, (ctx, sc) => {
          // 2-pixel lines on whole pixels: orange just inside the field, white just outside it
          const X = Math.round(x0 * sc), Y = Math.round(y0 * sc), W = Math.round(x1 * sc) - X, H = Math.round(y1 * sc) - Y;
          ctx.lineWidth = 2; ctx.strokeStyle = "#fff"; ctx.strokeRect(X - 1, Y - 1, W + 2, H + 2);
          ctx.strokeStyle = "#d55e00"; ctx.strokeRect(X + 1, Y + 1, W - 2, H - 2);
        }));
      body.append(strip, head);
    }
    const table = el("table", "kv");
    const row = (name, value, key) => {
      const tr = el("tr"), head = el("td", null, name);
      if (key) tip(head, key);
      tr.append(head, el("td", "num", value));
      table.append(tr);
    };
    row("epoch", String(ep.epoch));
    row("row / column / channel block", (i + 1) + " / " + (j + 1) + " / " + (k + 1), "region");
    row("role (layer depth)", D.layers[l].role.replace(/_/g, " "), "role");
    if (ly.g) {
      const g = ly.g;
      row("units", String(g.units[r]));
      row("density", fmt(g.density[r]), "density");
      row("variance", fmt(g.variance[r]));
      row("mean |a|", fmt(g.mean_abs[r]));
      row("active fraction", pct(g.active[r]), "dead");
      row("information (bits)", fmt(g.info[r]) + " (null " + fmt(g.info_null[r]) + ")", "information");
      if (g.selectivity) row("selectivity", pct(g.selectivity[r]), "selectivity");
      row("dead", g.dead.indexOf(r) >= 0 ? "yes" : "no", "dead");
    } else row("density, information", "not measured at this epoch");
    if (ly.z) {
      const z = ly.z;
      row("ζ", fmt(z.zeta[r]) + "  [" + fmt(z.lo[r]) + ", " + fmt(z.hi[r]) + "]", "zeta");
      row("significant", z.sig[r] ? "yes" : "no", "interval");
      row("critical", z.critical.indexOf(r) >= 0 ? "yes" : "no", "critical");
      if (z.robust) row("robust score", fmt(z.robust[r]), "robust");
      const kindOf = z.ci ? " (" + z.ci + " 95% interval)" : "";
      if (z.shapley) row("Shapley φ" + (z.shapley_lo ? kindOf : ""), fmt(z.shapley[r]) + (z.shapley_lo ? "  [" + fmt(z.shapley_lo[r]) + ", " + fmt(z.shapley_hi[r]) + "]" : ""), "shapley");
      if (z.p) row("p-value of φ = 0 (unadjusted)", fmt(z.p[r]), "p_value");
      if (z.lesion) row("lesion Δ", fmt(z.lesion[r]), "lesion");
      if (z.taylor) row("Taylor", fmt(z.taylor[r]), "taylor");
      if (z.method) row("ζ method", z.method);
      if (z.same_game_as) row("ζ game", z.same_game_as + "'s: φ and intervals are those of its matching region", "same_game");
    } else row("ζ", "not measured at this epoch");
    row("strongest in-flows", flowList(ly, "in", ly.in_from));
    row("strongest out-flows", flowList(ly, "out", ly.out_to));
    body.append(table);
    // the region's ζ (or density) over the analysed epochs
    const kind = D.epochs.some((e) => e.layers[l].z) ? "zeta" : "density";
    const series = D.epochs.map((e) => { const y = e.layers[l]; const src = kind === "zeta" ? y.z && y.z.zeta : y.g && y.g.density;
      return src && src.length > r ? src[r] : null; });
    body.append(el("div", "hint", (kind === "zeta" ? "ζ" : "density") + " of this region by analysed epoch"));
    const spark = el("canvas");
    spark.style.width = "100%"; spark.style.height = "60px"; spark.style.display = "block";
    body.append(spark);
    const { ctx, w, h } = sizeCanvas(spark, pixelRatio());
    const known = series.filter((v) => v !== null);
    if (known.length) {
      let lo = Math.min(...known), hi = Math.max(...known);
      if (kind === "zeta") { lo = Math.min(lo, 0); hi = Math.max(hi, 0); }
      if (hi <= lo) { hi = lo + 1; }
      const px = (e) => (E > 1 ? 6 + (w - 12) * e / (E - 1) : w / 2), py = (v) => h - 6 - (h - 12) * (v - lo) / (hi - lo);
      if (kind === "zeta") { ctx.strokeStyle = "#bbb"; ctx.beginPath(); ctx.moveTo(0, py(0)); ctx.lineTo(w, py(0)); ctx.stroke(); }
      ctx.strokeStyle = "#0072b2"; ctx.lineWidth = 1.5; ctx.beginPath();
      let started = false;
      series.forEach((v, e) => { if (v === null) { started = false; return; } if (!started) ctx.moveTo(px(e), py(v)); else ctx.lineTo(px(e), py(v)); started = true; });
      ctx.stroke();
      series.forEach((v, e) => { if (v === null) return; ctx.fillStyle = e === state.e ? "#d55e00" : "#0072b2"; ctx.beginPath(); ctx.arc(px(e), py(v), e === state.e ? 4 : 2.5, 0, 7); ctx.fill(); });
    }
  }

  // ---- pathway view
  const pathCells = [];
  function renderPathways() {
    const canvas = $("pathways");
    pathCells.length = 0;
    const ep = D.epochs[state.e];
    // layers wrap into bands of columns at least 110 px wide (pathwayBands): in one row
    // resnet20's 30 layers would have tiles of 2 px at 1,280 px
    const { perBand, bands, column } = pathwayBands(L, Math.max(50, canvas.clientWidth));
    const measure = canvas.getContext("2d");
    measure.font = "12px system-ui, sans-serif";
    const bandOf = (l) => Math.floor(l / perBand);
    const headers = [];
    for (let b = 0; b < bands; ++b) {
      const first = b * perBand, names = D.layers.slice(first, first + perBand).map((layer) => layer.name);
      // a pair whose receiving layer is in this band, its sender's column counted from the band's first
      const pairs = ep.pairs.filter((p) => bandOf(p.to) === b).map((p) => Object.assign({}, p, { from: p.from - first, to: p.to - first }));
      headers.push(pathwayHeader(names, pairs, column, (text) => measure.measureText(text).width));
    }
    const lineH = 16, stackLimit = bands === 1 ? null : 360;
    const cellOf = (ly, stack) => {
      const [gh, gw, gc] = ly.grid;
      return Math.max(2, Math.min(18, Math.floor((column - 20) / gw), Math.floor((stack - gc * 6) / (gc * gh))));
    };
    const heightOf = (ly, cell) => ly.grid[2] * ly.grid[0] * cell + (ly.grid[2] - 1) * 6;
    // the bands' tops (their header's) and stacks; one band keeps the stylesheet's height
    const tops = [], stacks = [];
    let y = 0;
    for (let b = 0; b < bands; ++b) {
      const head = b === 0 ? Math.max(60, 26 + lineH * headers[b].lines) : 14 + lineH * headers[b].lines;
      let stack = 0;
      if (stackLimit !== null)
        for (let l = b * perBand; l < Math.min(L, (b + 1) * perBand); ++l) stack = Math.max(stack, heightOf(ep.layers[l], cellOf(ep.layers[l], stackLimit)));
      tops.push(y + head); stacks.push(stack);
      y += head + stack + 8;
    }
    canvas.style.height = bands === 1 ? "" : Math.ceil(y + 44) + "px";
    const { ctx, w, h } = sizeCanvas(canvas, pixelRatio());
    if (bands === 1) stacks[0] = h - tops[0] - 20;
    ctx.font = "12px system-ui, sans-serif";
    const layout = ep.layers.map((ly, l) => {
      const b = bandOf(l), cell = cellOf(ly, stacks[b]);
      const [gh, gw] = ly.grid, tileH = gh * cell, width = gw * cell, height = heightOf(ly, cell);
      return { cell, tileH, x: (l - b * perBand) * column + (column - width) / 2, y: tops[b] + (bands === 1 ? Math.max(0, (stacks[b] - height) / 2) : 0) };
    });
    const centre = (l, r) => {
      const [i, j, k] = coordsOf(ep.layers[l].grid, r), o = layout[l];
      return [o.x + (j + 0.5) * o.cell, o.y + k * (o.tileH + 6) + (i + 0.5) * o.cell];
    };
    // the path of one step A → B: a line, or, between two bands, out to the right edge and in from the left
    const segment = (la, ra, lb, rb) => {
      const A = centre(la, ra), B = centre(lb, rb);
      ctx.moveTo(A[0], A[1]);
      if (bandOf(la) === bandOf(lb)) { ctx.lineTo(B[0], B[1]); return; }
      ctx.lineTo(w - 1, A[1]); ctx.moveTo(1, B[1]); ctx.lineTo(B[0], B[1]);
    };
    ctx.textAlign = "center";
    headers.forEach((header, b) => {
      for (const lb of header.labels) {  // names, pair strengths and shortcut ("skip") strengths, each on its line
        ctx.fillStyle = lb.kind === "name" ? "#222" : "#666";
        ctx.fillText(lb.text, lb.x, tops[b] - 10 - lineH * lb.line);
      }
    });
    ep.layers.forEach((ly, l) => {
      const mode = layerMode(l), values = mode.kind ? valuesOf(ly, mode.kind) : null, o = layout[l];
      const count = ly.grid[0] * ly.grid[1] * ly.grid[2];
      for (let r = 0; r < count; ++r) {
        const [x, y] = centre(l, r);
        ctx.fillStyle = values ? css(colourOf(l, mode.kind, values[r])) : "#e4e4e4";
        ctx.fillRect(x - o.cell / 2, y - o.cell / 2, o.cell, o.cell);
        pathCells.push({ l, r, x: x - o.cell / 2, y: y - o.cell / 2, s: o.cell });
      }
    });
    canvas.dataset.bands = String(bands);
    canvas.dataset.cell = String(Math.min(...layout.map((o) => o.cell)));
    if (!ep.has.tract) {
      ctx.fillStyle = "#8a5a00"; ctx.textAlign = "left"; ctx.font = "13px system-ui, sans-serif";
      ctx.fillText("no tract.json at this epoch: flows and chains not shown", 10, 18);
      ctx.font = "12px system-ui, sans-serif";
    }
    ctx.textAlign = "center";
    for (const p of ep.pairs) {
      const max = p.top.length ? p.top[0][2] : 0;
      for (const [a, b, v] of p.top) {
        ctx.strokeStyle = "rgba(90,90,90," + (0.15 + 0.5 * (max > 0 ? v / max : 0)).toFixed(3) + ")";
        ctx.lineWidth = 1;
        ctx.setLineDash(p.shortcut ? [5, 4] : []);  // a residual unit's skip edge: dashed
        ctx.beginPath(); segment(p.from, a, p.to, b); ctx.stroke();
      }
    }
    ctx.setLineDash([]);
    const palette = ["#0072b2", "#d55e00", "#009e73", "#cc79a7", "#56b4e9"];
    const chains = drawnChains(ep.chains);
    for (let c = chains.length - 1; c >= 0; --c) {
      const ch = chains[c];
      ctx.strokeStyle = palette[c]; ctx.fillStyle = palette[c]; ctx.lineWidth = c === 0 ? 3.5 : 2;
      ctx.beginPath();
      if (bands === 1)
        ch.layers.forEach((l, s) => { const P = centre(l, ch.regions[s]); if (s) ctx.lineTo(P[0], P[1]); else ctx.moveTo(P[0], P[1]); });
      else
        for (let s = 1; s < ch.layers.length; ++s) segment(ch.layers[s - 1], ch.regions[s - 1], ch.layers[s], ch.regions[s]);
      ctx.stroke();
      ch.layers.forEach((l, s) => { const P = centre(l, ch.regions[s]); ctx.beginPath(); ctx.arc(P[0], P[1], 3, 0, 7); ctx.fill(); });
    }
    ctx.textAlign = "left";
    // the chains' labels left to right, wrapped into rows (upwards) when the canvas is narrow
    // the chain the keyboard follows (Page Up/Down in the view) is marked ▸
    const labels = chains.map((ch, c) => (state.pathChain === c ? "▸ " : "") + "chain " + (c + 1) + ": score " + fmt(ch.score));
    const rows = [[]];
    let used = 10;
    labels.forEach((text, c) => {
      const width = ctx.measureText(text).width + 24;
      if (rows[rows.length - 1].length && used + width > w - 10) { rows.push([]); used = 10; }
      rows[rows.length - 1].push([c, used]);
      used += width;
    });
    rows.forEach((row, k) => row.forEach(([c, x]) => {
      ctx.fillStyle = palette[c]; ctx.fillText(labels[c], x, h - 22 - (rows.length - 1 - k) * 14);
    }));
    if (chains.length) {
      ctx.fillStyle = "#555";
      const long = "chain score = Σ over steps of log(share of the pair's flow that the step carries): ≤ 0, nearer 0 = a stronger chain";
      ctx.fillText(ctx.measureText(long).width > w - 20 ? "chain score ≤ 0; nearer 0 = a stronger chain" : long, 10, h - 6);
    }
    if (state.sel) {
      const { l, r } = state.sel, ly = ep.layers[l];
      ctx.strokeStyle = "#000"; ctx.lineWidth = 1.5;
      const S = centre(l, r);
      for (const [which, other] of [["in", ly.in_from], ["out", ly.out_to]]) {
        const list = ly[which] ? ly[which][r] : null;
        if (!list || other === null) continue;
        for (let i = 0; i < list.length; i += 2) {
          ctx.beginPath();
          if (which === "in") segment(other, list[i], l, r); else segment(l, r, other, list[i]);
          ctx.stroke();
        }
      }
      const o = layout[l];
      ctx.lineWidth = 2.5; ctx.strokeRect(S[0] - o.cell / 2 - 1.5, S[1] - o.cell / 2 - 1.5, o.cell + 3, o.cell + 3);
    }
  }
  $("pathways").addEventListener("click", (ev) => {
    const rect = ev.currentTarget.getBoundingClientRect(), x = ev.clientX - rect.left, y = ev.clientY - rect.top;
    for (const c of pathCells) if (x >= c.x && x < c.x + c.s && y >= c.y && y < c.y + c.s) { select(c.l, c.r); return; }
  });
  // the keyboard (pathwayStep): Up/Down the selected column, Left/Right to the next column along the
  // chain being followed or the strongest flow, Page Up/Down the drawn chains, Home/End the column's ends
  $("pathways").addEventListener("keydown", (ev) => {
    if (!E || ev.ctrlKey || ev.altKey || ev.metaKey) return;
    const ep = D.epochs[state.e], at = state.sel ? { l: state.sel.l, r: state.sel.r, chain: state.pathChain } : null;
    const next = pathwayStep(ep.layers, ep.chains, at, ev.key);
    if (next === null) return;
    ev.preventDefault();
    if (!at || next.l !== at.l || next.r !== at.r || next.chain !== at.chain) select(next.l, next.r, next.chain);
    revealPathCell(next.l, next.r);
    announce();
  });
  // The selected cell of a tall pathway view (its layers wrapped into bands) scrolled into the window
  // when a key moved it out, only as far as needed, below the sticky controls (the page's scroll
  // padding, padForControls); otherwise the focus stays on the canvas while the selection walks off
  // the screen.
  function revealPathCell(l, r) {
    const box = pathCellBox(l, r);
    if (!box) return;
    const padTop = parseFloat(getComputedStyle(document.documentElement).scrollPaddingTop) || 0;
    const dy = revealScroll(box.top, box.bottom, padTop, window.innerHeight);
    if (dy) window.scrollBy(0, dy);
  }
  // The client box of region r's cell of layer l in the pathway view, or null when it is not drawn.
  function pathCellBox(l, r) {
    const c = pathCells.find((cell) => cell.l === l && cell.r === r), rect = $("pathways").getBoundingClientRect();
    return c ? { top: rect.top + c.y, bottom: rect.top + c.y + c.s, left: rect.left + c.x } : null;
  }
  // What a screen reader says after a key moved the selection (the focus stays on the canvas): the
  // region's hover line, with the chain the pathway view follows (#announce, aria-live).
  function announce() {
    if (!state.sel) return;
    $("announce").textContent = hoverText(state.sel.l, state.sel.r) + (state.pathChain !== null ? " · on chain " + (state.pathChain + 1) : "");
  }

  // ---- training curves and ζ stability, on one epoch axis
  function renderCurves() {
    const canvas = $("curves");
    const M = D.metrics;
    // an analyze output directory has no training curves and one epoch (no ζ stability): no section
    const none = !M.epoch.length && !D.stability.length;
    canvas.hidden = none; $("curves-heading").hidden = none;
    if (none) return;
    const { ctx, w, h } = sizeCanvas(canvas, pixelRatio());
    // compared runs (serve): their loss, accuracy and learning rate beside the shown run's, on the same
    // axes, each run in its own dash pattern (RUN_DASHES, by its place in the comparison), each legend
    // entry named by its run
    const epochs = M.epoch.concat(D.epochs.map((e) => e.epoch), ...compared.map((R) => (R ? R.metrics.epoch.concat(R.epochs.map((e) => e.epoch)) : [])));
    const x0 = epochs.length ? Math.min(...epochs) : 1, x1 = epochs.length ? Math.max(...epochs) : 1;
    const left = 60, right = 20, gap = 48, rowH = 14;
    const px = (e) => (x1 > x0 ? left + (w - left - right) * (e - x0) / (x1 - x0) : (left + w - right) / 2);
    const colours = ["#0072b2", "#d55e00", "#009e73"];
    // a metric's (epoch, value) points, the epochs without a value (a learning rate not logged) left out
    const pointsOf = (Mx, key) => Mx.epoch.map((e, i) => [e, Mx[key][i]]).filter((p) => p[1] !== null && p[1] !== undefined);
    // one series per run (the shown run's solid, each compared run's in its dash), a run without points
    // left out (an analyze output directory has no metrics; a hand-made metrics.jsonl may lack a rate)
    const perRun = (label, pointsFn, colour, width) => [D, ...compared].map((R, i) => R && {
      label: compared.some(Boolean) ? label + " · " + R.meta.run : label, points: pointsFn(R), colour, width, dash: i ? RUN_DASHES[i - 1] : undefined,
    }).filter((ser) => ser && ser.points.length);
    const curve = (label, key, colour) => perRun(label, (R) => pointsOf(R.metrics, key), colour, 2);
    // one line per layer: colour and dash pattern (layerStyle), so no two of 40 layers look alike
    const stab = D.layers.map((layer, l) => ({ label: layer.name, colour: layerStyle(l).colour, dash: layerStyle(l).dash, width: 1.5,
      points: D.stability.filter((s) => s.layers[l] !== null).map((s) => [s.to, s.layers[l]]) })).filter((s) => s.points.length);
    // the mean over layers, black, of every run (the compared runs' layers are not drawn: 40 layers
    // each would bury the shown run's)
    stab.push(...perRun("mean", (R) => R.stability.filter((s) => s.mean !== null).map((s) => [s.to, s.mean]), "#000", 2.5));
    const panels = [
      { title: "loss (cross-entropy)", series: curve("train", "train_loss", colours[0]).concat(curve("test", "test_loss", colours[1])) },
      { title: "accuracy", series: curve("train", "train_acc", colours[0]).concat(curve("test", "test_acc", colours[1])) }];
    // the schedule's rate at each epoch's last step (metrics.jsonl's learning_rate), from 0 up, as in training.png;
    // no panel when no row has one
    const rates = curve("learning rate", "learning_rate", colours[2]);
    const rateValues = rates.flatMap((ser) => ser.points.map((p) => p[1]));
    if (rateValues.length) {
      const high = Math.max(...rateValues);
      panels.push({ title: "learning rate (at each epoch's last step)", series: rates, range: [0, high > 0 ? 1.1 * high : 1] });
    }
    panels.push(
      { title: "ζ stability: Spearman ρ of each layer's region ζ with the previous analysed epoch", series: stab, range: [-1, 1] });
    // A panel's legend sits on its title's line, right-aligned, when both fit; else in rows of their own
    // under the title, wrapped to the width (a phone's), and the panels shrink to make room.
    const sample = 26;  // a legend entry's line, long enough to show its dash pattern
    const entryWidth = (ser) => { ctx.font = "11px system-ui, sans-serif"; return ctx.measureText(ser.label).width + sample + 18; };
    for (const pn of panels) {
      ctx.font = "13px system-ui, sans-serif";
      const titleEnd = left + ctx.measureText(pn.title).width + 12;
      const total = pn.series.reduce((sum, ser) => sum + entryWidth(ser), 0);
      pn.rows = titleEnd > w - right - total  // rows from the plot's left edge to its right edge
        ? wrapRows(pn.series.map(entryWidth), w - right - left).map((row) => row.map((i) => pn.series[i])) : [];
    }
    const extra = panels.reduce((sum, pn) => sum + pn.rows.length * rowH, 0);
    // the panels from y 44 down to 36 px above the foot (the last axis's labels, then "epoch"), gap apart
    const panelH = (h - 44 - 36 - extra - (panels.length - 1) * gap) / panels.length;
    function panel(index, top, { title, series, range, rows }) {
      const pts = series.flatMap((s) => s.points.map((p) => p[1]));
      let lo = range ? range[0] : Math.min(...pts), hi = range ? range[1] : Math.max(...pts);
      if (!pts.length && !range) { lo = 0; hi = 1; }
      if (hi <= lo) hi = lo + 1;
      if (!range) { const pad = 0.05 * (hi - lo); lo -= pad; hi += pad; }
      const py = (v) => top + panelH - panelH * (v - lo) / (hi - lo);
      ctx.font = "13px system-ui, sans-serif"; ctx.textAlign = "left"; ctx.fillStyle = "#222";
      // a title wider than the panel keeps its words before the colon (the rest is in its tooltip's README)
      const shown = ctx.measureText(title).width > w - left - right ? title.split(":")[0] : title;
      ctx.fillText(shown, left, top - 8 - rows.length * rowH);
      ctx.font = "11px system-ui, sans-serif";
      ctx.textAlign = "right";
      for (const v of ticks(lo, hi)) {
        ctx.strokeStyle = "#eee"; ctx.lineWidth = 1; ctx.beginPath(); ctx.moveTo(left, py(v)); ctx.lineTo(w - right, py(v)); ctx.stroke();
        ctx.fillStyle = "#666"; ctx.fillText(fmt(v, 3), left - 6, py(v) + 4);
      }
      ctx.textAlign = "center";
      // as many labels as fit side by side, each as wide as the last epoch's and 12 px apart
      const room = Math.floor((w - left - right) / (ctx.measureText(String(x1)).width + 12));
      for (const e of epochTicks(x0, x1, Math.min(20, room))) ctx.fillText(String(e), px(e), top + panelH + 14);
      ctx.strokeStyle = "#ccc"; ctx.strokeRect(left, top, w - left - right, panelH);
      const cur = D.epochs.length ? D.epochs[state.e].epoch : null;
      // the slider's epoch: a dashed grey line (not a curve's colour), labelled in the top panel
      if (cur !== null) {
        ctx.save(); ctx.strokeStyle = "rgba(0,0,0,0.35)"; ctx.lineWidth = 1.5; ctx.setLineDash([4, 3]);
        ctx.beginPath(); ctx.moveTo(px(cur), top); ctx.lineTo(px(cur), top + panelH); ctx.stroke(); ctx.restore();
        if (index === 0) {  // beside the line, on the side with room
          const onRight = px(cur) > (left + w) / 2;
          ctx.save(); ctx.fillStyle = "#666"; ctx.textAlign = onRight ? "right" : "left";
          ctx.fillText("epoch " + cur + " (slider)", px(cur) + (onRight ? -5 : 5), top + 12); ctx.restore();
        }
      }
      if (!pts.length) { ctx.fillStyle = "#888"; ctx.fillText("no data", (left + w - right) / 2, top + panelH / 2); }
      for (const ser of series) {
        ctx.strokeStyle = ser.colour; ctx.fillStyle = ser.colour; ctx.lineWidth = ser.width;
        ctx.setLineDash(ser.dash || []);
        ctx.beginPath();
        ser.points.forEach((p, i) => { if (i) ctx.lineTo(px(p[0]), py(p[1])); else ctx.moveTo(px(p[0]), py(p[1])); });
        ctx.stroke();
        ctx.setLineDash([]);
        for (const p of ser.points) { ctx.beginPath(); ctx.arc(px(p[0]), py(p[1]), ser.width + 0.5, 0, 7); ctx.fill(); }
      }
      // legend entries: a line in the series' colour, then its label
      const entry = (ser, x, y) => {
        ctx.strokeStyle = ser.colour; ctx.lineWidth = ser.width; ctx.setLineDash(ser.dash || []);
        ctx.beginPath(); ctx.moveTo(x, y - 4); ctx.lineTo(x + sample, y - 4); ctx.stroke(); ctx.setLineDash([]);
        ctx.fillStyle = "#222"; ctx.textAlign = "left"; ctx.fillText(ser.label, x + sample + 6, y);
      };
      ctx.font = "11px system-ui, sans-serif";
      if (!rows.length) {
        let x = w - right - series.reduce((sum, ser) => sum + entryWidth(ser), 0) + 12;
        for (const ser of series) { entry(ser, x, top - 8); x += entryWidth(ser); }
      } else {
        rows.forEach((row, r) => {
          let x = left;
          for (const ser of row) { entry(ser, x, top - 8 - (rows.length - 1 - r) * rowH); x += entryWidth(ser); }
        });
      }
    }
    let top = 44;
    panels.forEach((pn, index) => {
      top += pn.rows.length * rowH;
      panel(index, top, pn);
      top += panelH + gap;
    });
    ctx.font = "11px system-ui, sans-serif"; ctx.textAlign = "center"; ctx.fillStyle = "#666";
    ctx.fillText("epoch", (left + w - right) / 2, h - 6);
  }

  // ---- ζ on the image: for a spatial layer, its ζ map (mean over channel blocks, zetaOnImage) laid
  // over the mean image and the example images at 50% opacity, coloured like the maps.
  let spatialLayers = [];
  function buildOnImage() {
    const bar = $("onimage-layers");
    bar.replaceChildren();
    $("onimage").replaceChildren();
    if (!IMAGES.length || state.imageLayer === null) {
      $("onimage").append(el("p", "hint", "No images block in this run's grid.json, or no spatial layer with a receptive_field there."));
      return;
    }
    layerRadios(bar, spatialLayers, "image-layer", state.imageLayer, (l) => { state.imageLayer = l; renderOnImage(); });
  }
  // One radio button per layer of `layers` (by name) into `host`, `current` checked; pick(l) on a change.
  function layerRadios(host, layers, name, current, pick) {
    for (const l of layers) {
      const label = el("label"), radio = el("input");
      radio.type = "radio"; radio.name = name; radio.value = String(l); radio.checked = l === current;
      radio.addEventListener("change", () => pick(l));
      label.append(radio, " " + D.layers[l].name);
      host.append(label);
    }
  }
  function renderOnImage() {
    const host = $("onimage");
    if (!IMAGES.length || state.imageLayer === null) return;
    host.replaceChildren();
    const l = state.imageLayer, ly = D.epochs[state.e].layers[l];
    if (!ly.z) { host.append(el("p", "hint", "no ζ for " + D.layers[l].name + " at this epoch")); return; }
    const [h, w] = [IMAGES[0].h, IMAGES[0].w], map = zetaOnImage(ly.grid, ly.z.zeta, h, w);
    for (const img of IMAGES)
      host.append(imageView(img, 160, (ctx, sc) => {
        ctx.globalAlpha = 0.5;
        for (let y = 0; y < h; ++y)
          for (let x = 0; x < w; ++x) { ctx.fillStyle = css(colourOf(l, "zeta", map[y * w + x])); ctx.fillRect(x * sc, y * sc, sc, sc); }
        ctx.globalAlpha = 1;
      }));
    host.dataset.layer = D.layers[l].name;
    host.dataset.images = String(IMAGES.length);
  }

  // ---- error analysis (analyze --errors): the confusion matrix; a cell or a class lists the regions
  // that drive it per layer (report.cpp's layer errors: kErrorRegions per class and per cell).
  state.errorPick = null;  // { kind: "cell", y, p } or { kind: "class", c }
  function buildErrors() {
    const bar = $("errors-classes"), names = D.meta.classes || [];
    bar.replaceChildren();  // built again for every new version of the run (nnfmri serve)
    const withErrors = D.epochs.some((ep) => ep.errors);
    if (!withErrors) { $("errors").replaceChildren(noErrorsView(false)); return; }
    const select = el("select");
    select.append(new Option("(choose a class)", ""));
    const K = Math.max(names.length, ...D.epochs.filter((ep) => ep.errors).map((ep) => confusionCounts(ep.errors.labels, ep.errors.predicted, 0).length));
    for (let c = 0; c < K; ++c) select.append(new Option(names[c] || String(c), String(c)));
    if (state.errorPick && state.errorPick.kind === "class" && state.errorPick.c < K) select.value = String(state.errorPick.c);
    select.addEventListener("change", () => { state.errorPick = select.value === "" ? null : { kind: "class", c: Number(select.value) }; renderErrors(); });
    bar.append(select);
  }
  // That the error analysis was not run (at this epoch or at all), and the command that adds it.
  function noErrorsView(anyEpoch) {
    const ep = D.epochs[state.e] || D.epochs[D.epochs.length - 1];
    const hint = noErrorsHint(anyEpoch, { run: D.meta.run, epoch: ep ? ep.epoch : 1, analysisDir: D.meta.analysis_dir,
                                             checkpoint: ep && ep.checkpoint ? ep.checkpoint.path : null,
                                             data: D.config ? D.config.data : D.meta.data, analysis: D.config ? D.config.analysis : null });
    const p = el("p", "no-errors", hint.text + " ");
    p.append(el("code", null, hint.command), " — " + hint.after);
    return p;
  }
  // A confusion cell picked (a click, or Enter or Space on it): its regions listed, the matrix drawn
  // again; returns the cell as drawn again (the keyboard keeps its focus there).
  function pickConfusion(y, p) {
    state.errorPick = { kind: "cell", y, p };
    renderErrors();
    return $("errors").querySelector('td[data-y="' + y + '"][data-p="' + p + '"]');
  }
  function renderErrors() {
    const host = $("errors"), ep = D.epochs[state.e];
    // (a run without error maps says so, not "at this epoch": renderErrors runs after buildErrors)
    if (!ep || !ep.errors) { if (ep) host.replaceChildren(noErrorsView(D.epochs.some((e) => e.errors))); return; }
    host.replaceChildren();
    const names = D.meta.classes || [], name = (k) => names[k] || String(k);
    const m = confusionCounts(ep.errors.labels, ep.errors.predicted, names.length), table = el("table", "confusion");
    const head = el("tr");
    head.append(el("th", "", "true \\ predicted"));
    for (let p = 0; p < m.length; ++p) head.append(el("th", "", name(p)));
    table.append(head);
    for (let y = 0; y < m.length; ++y) {
      const row = el("tr");
      row.append(el("th", "", name(y)));
      for (let p = 0; p < m.length; ++p) {
        const td = el("td", y === p ? "diag" : m[y][p] ? "cell" : "", m[y][p] ? String(m[y][p]) : "");
        td.dataset.y = String(y); td.dataset.p = String(p);
        if (y !== p && m[y][p]) {
          // a button for the keyboard too: Tab reaches it, Enter or Space picks it and keeps the focus on it
          td.tabIndex = 0;
          td.setAttribute("role", "button");
          td.setAttribute("aria-label", "true " + name(y) + ", predicted " + name(p) + ": " + m[y][p] + " images");
          td.addEventListener("click", () => pickConfusion(y, p));
          td.addEventListener("keydown", (ev) => {
            if (ev.key !== "Enter" && ev.key !== " ") return;
            ev.preventDefault();
            const again = pickConfusion(y, p);
            if (again) again.focus();
          });
        }
        if (state.errorPick && state.errorPick.kind === "cell" && state.errorPick.y === y && state.errorPick.p === p) td.classList.add("picked");
        row.append(td);
      }
      table.append(row);
    }
    host.append(table);
    const pick = state.errorPick;
    if (!pick) return;
    const list = el("div", "error-regions");
    list.append(el("h3", "", pick.kind === "cell" ? name(pick.y) + " → " + name(pick.p) + ": regions with the most negative φ on those mistakes"
                                                 : name(pick.c) + ": regions with the largest φ over its images"));
    const what = pick.kind === "cell" ? name(pick.y) + " → " + name(pick.p) : name(pick.c);
    ep.layers.forEach((ly, l) => {
      if (!ly.errors) return;
      const entry = pick.kind === "cell" ? ly.errors.confusions.find((c) => c.true === pick.y && c.predicted === pick.p)
                                         : ly.errors.classes.find((c) => c.class === pick.c);
      const regionText = (r) => keyOf(ly.grid, r) + (labelOf(l, r) ? " " + labelOf(l, r) : "");
      list.append(el("p", entry ? "" : "hint", errorRegionsLine(D.layers[l].name, entry, what, ly.z ? ly.z.images : null, regionText)));
    });
    host.append(list);
    host.dataset.pick = pick.kind;
    if (pick.kind === "cell") host.append(cellExampleView(ep, pick, name));
  }
  // A confusion cell's example images (epoch errors.examples: at most CELL_EXAMPLES per cell, the
  // lowest p(true) first; imaging/error_maps.h kCellExamples) with, for a chosen spatial layer, each
  // image's own φ_g(x) projected onto its pixels (projectCells over the layer's receptive fields), RdBu
  // over the grey image, one scale [−m, m] over the images shown (m the largest |value|).
  const CELL_EXAMPLES = 4;
  state.errorLayer = null;
  function cellExampleView(ep, pick, name) {
    const box = el("div", "error-examples"), E = ep.errors;
    const picked = E.examples ? cellExamples(E.examples, pick.y, pick.p, CELL_EXAMPLES) : [];
    box.dataset.examples = String(picked.length);
    box.dataset.cell = pick.y + ":" + pick.p;
    if (!picked.length) { box.append(el("p", "hint", "No example images of this cell in zeta.json (analyze --errors writes them).")); return box; }
    const usable = spatialLayers.filter((l) => ep.layers[l].errors && ep.layers[l].errors.example_cells);
    if (state.errorLayer === null || !usable.includes(state.errorLayer)) state.errorLayer = usable.length ? usable[0] : null;
    const bar = el("p", "error-layers", "overlay: ");
    layerRadios(bar, usable, "error-layer", state.errorLayer, (l) => { state.errorLayer = l; renderErrors(); });
    box.append(bar);
    const [, h, w] = E.shape, l = state.errorLayer, rf = l === null ? null : D.layers[l].rf;
    const maps = picked.map((i) => {
      const cells = l === null ? null : ep.layers[l].errors.example_cells[i];
      return cells ? projectCells(cells, rf.rows, rf.cols, h, w) : null;
    });
    let largest = 0;
    for (const m of maps) if (m) for (const v of m) largest = Math.max(largest, Math.abs(v));
    const strip = el("div", "image-strip");
    picked.forEach((i, n) => {
      const x = E.examples[i], c = document.createElement("canvas");
      c.width = w; c.height = h;
      c.getContext("2d").putImageData(new ImageData(imageRGBA(bytesOf(x.pixels), E.shape), w, h), 0, 0);
      const img = { title: "sample image " + (x.slot + 1) + ": true " + name(x.label) + " → predicted " + name(x.predicted) +
                           ", p(true) " + fmt(x.p_true, 2) + (maps[n] ? "" : " (not covered by this layer's estimate)"), canvas: c, h, w };
      const view = imageView(img, 128, maps[n] && largest > 0 ? (ctx, sc) => {
        for (let yy = 0; yy < h; ++yy)
          for (let xx = 0; xx < w; ++xx) {
            const t = maps[n][yy * w + xx] / largest;
            ctx.globalAlpha = 0.6 * Math.min(1, Math.abs(t) * 1.5);
            ctx.fillStyle = css(ramp(DIV, (t + 1) / 2)); ctx.fillRect(xx * sc, yy * sc, sc, sc);
          }
        ctx.globalAlpha = 1;
      } : null);
      view.dataset.overlay = maps[n] && largest > 0 ? "1" : "0";
      view.dataset.label = String(x.label); view.dataset.predicted = String(x.predicted); view.dataset.slot = String(x.slot);
      strip.append(view);
    });
    box.append(strip);
    box.append(el("p", "hint", exampleCaption(l === null ? null : D.layers[l].name, maps.filter((m) => m).length, maps.length, largest)));
    box.dataset.layer = l === null ? "" : D.layers[l].name;
    return box;
  }

  // ---- NN-EEG: lanes per block over steps, band-power bars and per-block band spectrograms, the
  // consistency terms of the analysed epoch on the slider (README "NN-EEG").
  let EEG = null;  // D.eeg, set by adopt()
  const STATE_COLOURS = { learning: "#d9f0d3", plateau: "#e6e6e6", unstable: "#fdd0a2", dead: "#444", diverged: "#f4a3a3", warming_up: "#fff" };
  const BAND_NAMES = ["δ", "θ", "α", "β", "γ"];
  function renderEeg() {
    const chart = $("eeg-chart"), bars = $("eeg-bands"), host = $("eeg-consistency");
    host.replaceChildren();
    // without NN-EEG only the line saying so: no description of charts that are not there
    for (const id of ["eeg-hint", "eeg-consistency-heading", "eeg-consistency-hint"]) $(id).hidden = !EEG || !EEG.epochs.length;
    if (!EEG || !EEG.epochs.length) {
      chart.style.height = "40px"; bars.style.display = "none";
      const { ctx } = sizeCanvas(chart, pixelRatio());
      ctx.font = "13px system-ui, sans-serif"; ctx.fillStyle = "#8a5a00";
      ctx.fillText("no NN-EEG in this run (train with --eeg)", 12, 24);
      chart.dataset.lanes = "0";
      return;
    }
    // per-step traces (EEG.trace, from eeg/epoch_NNN.npy) when the run has them, else per-epoch lanes
    const T = EEG.trace || null;
    const B = EEG.blocks.length, laneH = 34, top = 24, left = 70, right = 12;
    // the selected region's own lane (its block's trace of that region), below the blocks
    const selName = state.sel && E && D.layers[state.sel.l] ? D.layers[state.sel.l].name : null;
    const selKey = selName ? keyOf(D.epochs[state.e].layers[state.sel.l].grid, state.sel.r) : null;
    const regionTrace = T && selName && T.regions[selName] ? T.regions[selName][selKey] || null : null;
    const lanes = B + 1 + (regionTrace ? 1 : 0);
    chart.style.height = (top + lanes * laneH + 36) + "px";  // the step caption's baseline at +26, its descenders below
    const { ctx, w } = sizeCanvas(chart, pixelRatio());
    const first = T ? T.first : EEG.epochs[0].steps[0], last = T ? T.last : EEG.epochs[EEG.epochs.length - 1].steps[1];
    const px = (step) => left + (w - left - right) * (step - first) / Math.max(1, last - first);
    const laneTop = (b) => top + (b + 1) * laneH;  // lane −1 (the loss) at the top, lane B the region
    const cur = E ? eegEpochIndex(EEG.epochs, D.epochs[state.e].epoch) : -1;
    // a trace's envelope (bucket i: steps first + i·every …, min lo and max hi) in lane b, scaled to the lane
    const drawTrace = (trace, every, b) => {
      const hi = trace.hi || trace.lo, scaled = laneScaled(trace.lo.concat(hi)), n = trace.lo.length;
      const y = (v) => laneTop(b) + laneH - 4 - v * (laneH - 8);
      const x = (i) => px(first + i * every + (Math.min(every, last - first + 1 - i * every) - 1) / 2);
      const runs = [];  // stretches of buckets with values
      for (let i = 0; i < n; ++i) {
        if (scaled[i] === null) continue;
        if (!runs.length || runs[runs.length - 1][1] !== i - 1) runs.push([i, i]); else runs[runs.length - 1][1] = i;
      }
      for (const halo of [true, false]) {
        ctx.strokeStyle = halo ? "#fff" : "#0b3d91"; ctx.fillStyle = ctx.strokeStyle; ctx.lineWidth = halo ? 3.5 : 1.2;
        for (const [a, z] of runs) {
          ctx.beginPath();
          for (let i = a; i <= z; ++i) (i === a ? ctx.moveTo : ctx.lineTo).call(ctx, x(i), y(scaled[n + i]));
          for (let i = z; i >= a; --i) ctx.lineTo(x(i), y(scaled[i]));
          ctx.closePath(); ctx.stroke();
          if (!halo && every > 1) ctx.fill();
        }
      }
    };
    ctx.font = "11px system-ui, sans-serif";
    ctx.fillStyle = "#222"; ctx.textAlign = "right";
    for (let b = -1; b < lanes - 1; ++b) {
      const isRegion = b === B;
      ctx.fillText(b < 0 ? "loss" : isRegion ? selKey : EEG.blocks[b], left - 6, laneTop(b) + laneH / 2 + (isRegion ? 10 : 4));
      if (isRegion) ctx.fillText(selName, left - 6, laneTop(b) + laneH / 2 - 4);
    }
    // lanes, bands and events inside the plot: an epoch's band reaches half a step before its first step,
    // which on a short run is over the lane labels
    ctx.save();
    ctx.beginPath(); ctx.rect(left, 0, w - left - right, top + lanes * laneH); ctx.clip();
    for (let b = -1; b < lanes - 1; ++b) {
      const isRegion = b === B;
      const stateLane = isRegion ? EEG.blocks.indexOf(selName) : b;
      if (stateLane >= 0)
        for (const ep of EEG.epochs) {  // state timeline
          ctx.fillStyle = STATE_COLOURS[ep.states[stateLane]] || "#fff";
          ctx.fillRect(px(ep.steps[0] - 0.5), laneTop(b) + 2, px(ep.steps[1] + 0.5) - px(ep.steps[0] - 0.5), laneH - 4);
        }
      if (T) {
        const trace = b < 0 ? T.loss : isRegion ? regionTrace : T.blocks[b];
        if (trace) drawTrace(trace, isRegion ? T.region_every : T.every, b);
        continue;
      }
      if (b < 0) continue;
      const scaled = laneScaled(EEG.epochs.map((ep) => ep.activity[b]));
      ctx.beginPath();
      let moved = false;
      EEG.epochs.forEach((ep, i) => {
        if (scaled[i] === null) { moved = false; return; }
        const x = px((ep.steps[0] + ep.steps[1]) / 2), y = laneTop(b) + laneH - 4 - scaled[i] * (laneH - 8);
        if (moved) ctx.lineTo(x, y); else ctx.moveTo(x, y);
        moved = true;
      });
      ctx.strokeStyle = "#fff"; ctx.lineWidth = 3.5; ctx.stroke();  // a halo: visible on a dead (black) lane too
      ctx.strokeStyle = "#0b3d91"; ctx.lineWidth = 1.5; ctx.stroke();
    }
    if (cur >= 0) {
      const ep = EEG.epochs[cur];
      ctx.fillStyle = "rgba(0,114,178,0.15)";
      ctx.fillRect(px(ep.steps[0] - 0.5), top, px(ep.steps[1] + 0.5) - px(ep.steps[0] - 0.5), lanes * laneH);
    }
    let events = 0;
    ctx.strokeStyle = "#c00"; ctx.lineWidth = 1.5;
    const tick = (x, mid, z) => { ctx.beginPath(); ctx.moveTo(x, mid); ctx.lineTo(x, z > 0 ? mid - laneH / 2 + 2 : mid + laneH / 2 - 2); ctx.stroke(); };
    for (const ep of EEG.epochs)
      for (const [step, b, , z, region] of ep.events) {
        tick(px(step), laneTop(b) + laneH / 2, z);
        if (regionTrace && region === selKey && EEG.blocks[b] === selName) tick(px(step), laneTop(B) + laneH / 2, z);
        ++events;
      }
    ctx.restore();
    ctx.strokeStyle = "#7b2cbf"; ctx.fillStyle = "#7b2cbf"; ctx.setLineDash([4, 3]); ctx.textAlign = "left";
    for (const f of EEG.inject) {
      const x0 = px(f.step - 0.5), x1 = px(f.step + f.duration - 0.5);
      ctx.beginPath(); ctx.moveTo(x0, top); ctx.lineTo(x0, top + lanes * laneH); ctx.stroke();
      if (x1 - x0 > 2) { ctx.beginPath(); ctx.moveTo(x1, top); ctx.lineTo(x1, top + lanes * laneH); ctx.stroke(); }
      ctx.fillText(f.kind, x0 + 3, top - 6);
    }
    ctx.setLineDash([]);
    ctx.fillStyle = "#666"; ctx.textAlign = "center";
    for (const t of ticks(first, last)) if (Number.isInteger(t)) ctx.fillText(String(t), px(t), top + lanes * laneH + 14);
    ctx.fillText(T ? "step" + (T.every > 1 || (regionTrace && T.region_every > 1) ? " (min–max envelope of " + T.every + (regionTrace ? " / " + T.region_every : "") + " steps)" : "") : "step (lanes per epoch: no eeg/channels.json)",
                 (left + w - right) / 2, top + lanes * laneH + 26);
    chart.dataset.lanes = String(B);
    chart.dataset.traces = T ? "steps" : "epochs";
    chart.dataset.region = regionTrace ? selName + " " + selKey : "";
    // where a step and a lane are drawn (CSS pixels), for the browser test
    chart.dataset.geometry = JSON.stringify({ left, right, top, laneH, first, last, width: w });
    chart.dataset.events = String(events);
    chart.dataset.epoch = cur >= 0 ? String(EEG.epochs[cur].epoch) : "";
    // band powers: bars of the selected epoch, then each block's band spectrogram over the epochs
    bars.style.display = "block";
    // the blocks in rows of columns at least 40 px wide (pathwayBands), the caption's words wrapped to
    // the width, the canvas as tall as they need (in one row whatever the width, at 768 px resnet20's
    // blocks past the 18th would fall off the canvas's right edge)
    const bctx0 = bars.getContext("2d");
    bctx0.font = "11px system-ui, sans-serif";
    const room = Math.max(50, bars.clientWidth) - 20, { perBand, bands: rows, column: cell } = pathwayBands(B, room, 40);
    const words = ("bars: relative band power at the slider's epoch (δ θ α β γ) · squares: the same per epoch (x) and band (y, δ at the bottom)").split(" ");
    const lines = wrapRows(words.map((word) => bctx0.measureText(word + " ").width), room).map((row) => row.map((i) => words[i]).join(" "));
    const barH = 80, rowH = 20 + barH + 20;
    bars.style.height = rows * rowH + lines.length * 14 + 12 + "px";
    const bb = sizeCanvas(bars, pixelRatio()), bctx = bb.ctx;
    const { box, barW } = bandBars(cell);
    bctx.font = "11px system-ui, sans-serif"; bctx.textAlign = "center";
    let drawnRight = 0;
    EEG.blocks.forEach((name, b) => {
      const x0 = 10 + (b % perBand) * cell, y0 = Math.floor(b / perBand) * rowH;
      drawnRight = Math.max(drawnRight, x0 + cell);
      bctx.save(); bctx.translate(0, y0);
      bctx.fillStyle = "#222"; bctx.fillText(name, x0 + cell / 2, 14);
      const powers = cur >= 0 ? EEG.epochs[cur].bands[b] : null;
      bctx.strokeStyle = "#ccc"; bctx.strokeRect(x0 + 2, 20, box, barH);
      if (powers) powers.forEach((v, k) => { bctx.fillStyle = "#0072b2"; bctx.fillRect(x0 + 4 + k * barW, 20 + barH * (1 - v), barW - 1, barH * v); });
      else { bctx.fillStyle = "#888"; bctx.fillText("–", x0 + 2 + box / 2, 20 + barH / 2); }
      const letterW = Math.max(...BAND_NAMES.map((n) => bctx.measureText(n).width));
      for (const k of bandLabelIndices(barW, letterW)) { bctx.fillStyle = "#666"; bctx.fillText(BAND_NAMES[k], x0 + 4 + k * barW + barW / 2, 20 + barH + 12); }
      const sx = x0 + cell * 0.5, sw = cell * 0.45, cw = sw / EEG.epochs.length, ch = barH / 5;
      EEG.epochs.forEach((ep, i) => {
        const p = ep.bands[b];
        for (let k = 0; k < 5; ++k) {
          bctx.fillStyle = p ? css(ramp(SEQ, Math.min(1, p[k]))) : "#fff";
          bctx.fillRect(sx + i * cw, 20 + barH - (k + 1) * ch, Math.ceil(cw), Math.ceil(ch));
        }
      });
      bctx.strokeStyle = "#ccc"; bctx.strokeRect(sx, 20, sw, barH);
      if (cur >= 0) { bctx.strokeStyle = "#0072b2"; bctx.strokeRect(sx + cur * cw, 20, cw, barH); }
      bctx.restore();
    });
    bctx.textAlign = "left"; bctx.fillStyle = "#666";
    lines.forEach((line, i) => { bctx.fillText(line, 10, rows * rowH + 12 + 14 * i); drawnRight = Math.max(drawnRight, 10 + bctx.measureText(line).width); });
    // what the browser test reads: rows of blocks, caption lines, the rightmost pixel drawn (CSS px)
    bars.dataset.rows = String(rows); bars.dataset.captionLines = String(lines.length); bars.dataset.right = String(Math.ceil(drawnRight));
    // the consistency panel
    const c = E && EEG.consistency[state.e] ? EEG.consistency[state.e] : null;
    if (!c) { host.append(el("p", "hint", "no consistency at this epoch (it needs ζ and the epoch's NN-EEG file)")); return; }
    const t = el("table"), head = el("tr");
    for (const hcell of ["term", "value", "95% CI", "null (shuffled labels): median [range]", "items"]) {
      const th = el("th", null, hcell);
      head.append(hcell === "95% CI" || hcell.startsWith("null") ? tip(th, "bootstrap") : th);
    }
    t.append(head);
    const names = [["rho_gamma_zeta", "ρ_γζ (regions, mean over blocks)"], ["rho_gamma_zeta_layer", "ρ_γζ (blocks × epochs, max ζ)"],
                   ["kappa", "κ (EEG vs spatial states)"], ["f1", "F1 (events vs spatial anomalies)"], ["consistency", "Consistency"]];
    for (const [key, label] of names) {
      const row = el("tr");
      row.append(tip(el("td", null, label), key));  // its one-line definition as a tooltip
      for (const cellText of termCells(c[key])) row.append(el("td", "num", cellText));
      row.dataset.term = key;
      t.append(row);
    }
    host.append(t);
  }

  // ---- the epoch's summary
  const HEAD_TIPS = { layer: "layer", path: "path", "strongest flow": "flow", "ζ": "zeta", interval: "interval", role: "role", selectivity: "selectivity", region: "region",
    "strength per receiving unit": "strength", efficiency: "efficiency", coverage: "coverage", "critical share": "critical",
    "ζ stability": "stability" };
  function renderSummary() {
    const host = $("summary");
    host.replaceChildren();
    if (!E) { host.append(el("p", "hint", "No analysed epochs.")); return; }
    const s = D.epochs[state.e].summary;
    const table = (title, head, rows) => {
      const box = el("div");
      box.append(el("h3", null, title));
      const t = el("table");
      const tr = el("tr");
      for (const hcell of head) {
        const th = el("th", null, hcell), key = HEAD_TIPS[hcell];
        if (key) tip(th, key);
        tr.append(th);
      }
      t.append(tr);
      for (const r of rows) { const row = el("tr"); for (const c of r) row.append(el("td", "num", c)); t.append(row); }
      if (!rows.length) { const row = el("tr"); row.append(el("td", "hint", "none")); t.append(row); }
      box.append(t);
      host.append(box);
    };
    table("Top regions (by " + s.top_regions_ranked_by + ")", ["layer", "region", "ζ", "interval", "role", "selectivity"],
      s.top_regions.map((r) => [r.same_game_layers ? r.layer + " (=\u00a0" + r.same_game_layers.join(", ") + ")" : r.layer, r.region, fmt(r.zeta), r.zeta_ci ? "[" + fmt(r.zeta_ci[0]) + ", " + fmt(r.zeta_ci[1]) + "]" : "–",
                                r.role.replace(/_/g, " "), r.selectivity === undefined ? "–" : pct(r.selectivity)]));
    // Two named quantities: strength = connection_strength / units of the receiving layer (README).
    const perUnit = s.critical_pathways.every((p) => p.strength !== undefined);
    table("Pathways", ["path", perUnit ? "strength per receiving unit" : "connection_strength (all receiving units)", "efficiency", "strongest flow"],
      s.critical_pathways.map((p) => [p.path, fmt(p.strength === undefined ? p.connection_strength : p.strength), fmt(p.pathway_efficiency), p.strongest_flow || "–"]));
    table("Layers", ["layer", "coverage", "critical share", "ζ stability"],
      D.layers.map((layer, l) => [layer.name, pct(s.coverage[layer.name]), pct(s.critical_share[layer.name]),
        s.zeta_stability && s.zeta_stability.layers[layer.name] !== undefined ? fmt(s.zeta_stability.layers[layer.name], 3) : "–"]));
  }

  // ---- the epoch control
  function epochLabel() {
    if (!E) return "no analysed epochs";
    const ep = D.epochs[state.e], mark = (ok) => (ok ? "✓" : "✗");
    const m = D.metrics.epoch.indexOf(ep.epoch);
    return "epoch " + ep.epoch + " (" + (state.e + 1) + "/" + E + ")" + (m >= 0 ? " · test acc " + pct(D.metrics.test_acc[m]) : "") +
      " · grid " + mark(ep.has.grid) + " ζ " + mark(ep.has.zeta) + " tract " + mark(ep.has.tract);
  }
  function renderAll() {
    if (!D) return;  // served page before its first run arrives
    $("epoch-label").textContent = epochLabel();
    renderCanvases();
    renderOnImage();
    renderErrors();
    renderSummary();
  }
  // Every view drawn on a canvas at once (not imageView's images, drawn a frame later).
  function renderCanvases() {
    if (E) { views.forEach(renderView); renderPathways(); }
    else {
      const { ctx } = sizeCanvas($("pathways"), pixelRatio());
      ctx.font = "13px system-ui, sans-serif"; ctx.fillStyle = "#8a5a00";
      ctx.fillText("no analysed epochs: nothing to trace (train with --analyze-every N)", 12, 24);
    }
    renderDetails();
    renderCurves();
    renderEeg();
  }
  // Printing redraws renderCanvases's views at the print's pixelRatio, and afterwards at the screen's.
  // The images are left as they are: they are drawn a frame after their boxes are made, and the print
  // is taken before that frame, so redrawing them would print empty boxes.
  const printCanvases = (on) => { printing = on; if (D) renderCanvases(); };
  window.addEventListener("beforeprint", () => printCanvases(true));
  window.addEventListener("afterprint", () => printCanvases(false));
  function setEpoch(i) {
    state.e = Math.max(0, Math.min(E - 1, i));
    $("epoch").value = String(state.e);
    renderAll();
    if (LIVE) renderCompare();
  }

  // Takes a run's data (the first or a newer version of it) and draws it.  The user's place is kept:
  // the epoch slider stays on the same epoch number unless it stood on the newest epoch (then it
  // follows the new newest one), the selected region, layer of "ζ on the image", colour, view and
  // rotation stay as long as the run still has them.
  // The glossary's and the tooltips' λ, ε and value function as the run computed them (D.meta.glossary:
  // the newest grid.json and zeta.json settings, else config.json's; with config.json's alone an
  // analyze directory, which has none, would state logprob's words of a confusion:A:B analysis).
  const VALUE_WORDS = { logprob: "log-likelihood of the true class", accuracy: "accuracy (1 when the true class wins, else 0)",
                        margin: "margin of the true class's logit over the largest other" };
  function fitGlossary() {
    const a = D.meta.glossary || {};
    const lambda = typeof a.lambda === "number" ? a.lambda : 0.1, epsilon = typeof a.epsilon === "number" ? a.epsilon : 1e-6;
    $("def-lambda").textContent = String(lambda);
    TIPS.density = "density = mean |a| + " + lambda + "·ln(variance + " + epsilon + ") of the region's activations, averaged over images (README \"Region grid\").";
    const value = typeof a.value_function === "string" ? a.value_function : "logprob";
    // confusion:A:B names its classes by name or by index: an index is said by its class's name
    const classes = D.meta.classes || [], named = (c) => (/^\d+$/.test(c) && classes[Number(c)] !== undefined ? classes[Number(c)] : c);
    const confusion = value.split(":").map(named);
    const words = VALUE_WORDS[value] || (value.startsWith("confusion:") && confusion.length === 3
      ? "logit of " + confusion[2] + " minus that of " + confusion[1] + " (on images of class " + confusion[1] + ")" : value);
    $("def-value").textContent = words;
    TIPS.shapley = "Shapley value φ: the mean drop of the " + words + " when this region is lesioned, over all orders of lesioning the layer's regions (README \"ζ-scores\").";
  }

  function adopt(data) {
    const sameRun = D && D.meta.run === data.meta.run;
    const atEnd = !D || state.e >= E - 1, shownEpoch = D && E ? D.epochs[state.e].epoch : null;
    D = data;
    L = D.layers.length; E = D.epochs.length;
    CLASSES = D.meta.classes || [];
    fitGlossary();
    EEG = D.eeg || null;
    IMAGES = makeImages();
    SEQ = D.colormaps.sequential.map(hexRgb); DIV = D.colormaps.diverging.map(hexRgb);
    scales = D.layers.map((_, l) => layerScale(D.epochs, l));
    spatialLayers = D.layers.map((_, l) => l).filter((l) => D.layers[l].rf && D.layers[l].rf.grid[0] * D.layers[l].rf.grid[1] > 1);
    const same = D.epochs.findIndex((ep) => ep.epoch === shownEpoch);
    state.e = Math.max(0, !sameRun || atEnd || same < 0 ? E - 1 : same);
    if (!sameRun || (state.sel && (state.sel.l >= L || !E || state.sel.r >= D.epochs[state.e].layers[state.sel.l].grid.reduce((a, b) => a * b, 1))))
      state.sel = null;
    if (!sameRun || !spatialLayers.includes(state.imageLayer)) state.imageLayer = spatialLayers.length ? spatialLayers[0] : null;
    buildHeader();
    buildSettings();
    buildLayerViews();
    buildOnImage();
    buildErrors();
    buildClassMapPick();
    syncSlider();
    renderAll();
    document.body.dataset.epochs = String(E);
    document.body.dataset.shownEpoch = E ? String(D.epochs[state.e].epoch) : "";
  }
  function stop() { clearInterval(state.timer); state.timer = null; $("play").textContent = "Play"; }
  function syncSlider() {
    const slider = $("epoch");
    slider.max = String(Math.max(0, E - 1));
    slider.value = String(state.e);
    slider.disabled = E < 2;
    $("play").disabled = E < 2;
  }
  function buildControls() {
    const slider = $("epoch");
    slider.addEventListener("input", () => setEpoch(Number(slider.value)));
    $("play").addEventListener("click", () => {
      if (state.timer) { stop(); return; }
      if (state.e >= E - 1) setEpoch(0);
      $("play").textContent = "Pause";
      state.timer = setInterval(() => { if (state.e >= E - 1) stop(); else setEpoch(state.e + 1); }, 900);
    });
    for (const radio of document.querySelectorAll("input[name=colour]"))
      radio.addEventListener("change", () => { state.colour = radio.value; renderAll(); });
    $("size-by-value").addEventListener("change", (ev) => { state.sizeByValue = ev.target.checked; renderAll(); });
    $("reset-view").addEventListener("click", () => { state.yaw = -0.6; state.pitch = 0.5; state.zoom = 1; renderAll(); });
    for (const radio of document.querySelectorAll("input[name=view]"))
      radio.addEventListener("change", () => { state.view = radio.value; $("reset-view").disabled = state.view === "map"; renderAll(); });
    $("reset-view").disabled = state.view === "map";
    let resize = 0;
    window.addEventListener("resize", () => { clearTimeout(resize); resize = setTimeout(renderAll, 100); });
    // While the controls follow the page (sticky), whatever the browser scrolls into view — a control
    // reached by Tab or Shift+Tab, a section — stops below them: the page's scroll padding is their
    // height (they wrap into one to three rows; on a phone they stay at the top and need none).  Without
    // it a map or confusion cell reached upwards would be scrolled under them.
    const controls = $("controls");
    const padForControls = () => {
      document.documentElement.style.scrollPaddingTop = getComputedStyle(controls).position === "sticky" ? controls.offsetHeight + 8 + "px" : "";
    };
    padForControls();
    new ResizeObserver(padForControls).observe(controls);
    window.addEventListener("resize", padForControls);
  }

  buildControls();
  if (!LIVE) adopt(RAW);
  window.nnfmriReport = {
    get epochCount() { return E; },
    get layerCount() { return L; },
    setEpoch,
    select,
    state,
    // The region drawn nearest the viewer in a layer's view, and a client point where a click selects region r.
    setView(kind) { document.querySelector("input[name=view][value=" + kind + "]").click(); },
    frontRegion(layerName) {
      const view = views.find((v) => D.layers[v.l].name === layerName);
      if (view && state.view === "map") return view.cells.length ? view.cells[view.cells.length - 1].r : null;
      return view && view.faces.length ? view.faces[view.faces.length - 1].r : null;
    },
    pathCell: pathCellBox,
    // A client point over region r in a layer's view (the cell's centre in the 2-D map, a visible face in 3-D).
    voxelPoint(layerName, r) {
      const view = views.find((v) => D.layers[v.l].name === layerName);
      if (!view) return null;
      if (state.view === "map") {
        const c = view.cells.find((cell) => cell.r === r), rect = view.canvas.getBoundingClientRect();
        return c ? { x: rect.left + c.x + c.w / 2, y: rect.top + c.y + c.h / 2 } : null;
      }
      for (let f = view.faces.length - 1; f >= 0; --f) {
        if (view.faces[f].r !== r) continue;
        const pts = view.faces[f].pts, x = pts.reduce((a, p) => a + p[0], 0) / pts.length, y = pts.reduce((a, p) => a + p[1], 0) / pts.length;
        if (pickFace(view.faces, x, y) !== r) continue;
        const rect = view.canvas.getBoundingClientRect();
        return { x: rect.left + x, y: rect.top + y };
      }
      return null;
    },
  };
  function ready() {
    const ms = performance.now();
    document.body.dataset.ready = "1";
    document.body.dataset.renderMs = ms.toFixed(0);
    $("status").textContent = "nnfmri report · " + L + " layers · " + E + " analysed epochs · drawn " + ms.toFixed(0) + " ms after navigation start";
  }
  if (!LIVE) { ready(); return; }

  // ---- served by `nnfmri serve` (README "Watching runs live"): the run list from api/runs every
  // poll_ms; a run's data (api/runs/NAME/data) is fetched again only when its version (run.json
  // rewritten) changes.  A run that cannot be read shows its error line; the others keep working.
  // ?run=NAME opens that run instead of the newest; ?compare=NAME (repeated for more, up to four)
  // compares it. live.chosen: the run was named (by ?run= or a "show" button), not the newest picked;
  // live.others: each compared run's data and the version it was read at; live.root: serve's ROOT.
  const query = new URLSearchParams(location.search);
  const live = { run: query.get("run"), chosen: query.has("run"), version: null, compare: [...new Set(query.getAll("compare"))],
                 others: new Map(), runs: [], root: "" };
  // The address says what the user chose (history.replaceState, no reload): ?run= the run shown when it
  // was named, not when it is the newest (so a reload still opens the newest), and ?compare= each
  // compared run in order; a reload or a shared link opens the same view.
  function syncAddress() {
    const q = new URLSearchParams(location.search);
    q.delete("run"); q.delete("compare");
    if (live.chosen && live.run) q.set("run", live.run);
    for (const name of live.compare) q.append("compare", name);
    if (q.toString() !== new URLSearchParams(location.search).toString())
      history.replaceState(null, "", location.pathname + (q.toString() ? "?" + q : "") + location.hash);
  }
  $("live").hidden = false;
  syncSlider();
  async function getJSON(url) {
    const res = await fetch(url, { cache: "no-store" });
    const body = await res.json();
    if (!res.ok) throw Object.assign(new Error(body && body.error ? body.error : url + ": HTTP " + res.status), { answered: true });
    return body;
  }
  const runURL = (name) => "api/runs/" + encodeURIComponent(name) + "/data";
  // Drawn again whenever a run changes (every committed epoch of a training run): a button that had the
  // focus gives it to the same run's same button (show, or compare / uncompare), else to the list's first
  // button (a run just shown loses its own), so a keyboard user keeps their place in the list (the
  // focus does not fall back to the page's start at every redraw).
  function renderRunList() {
    const table = $("runs"), active = document.activeElement;
    const had = table.contains(active) && active.dataset.action ? { run: active.closest("tr").dataset.run, action: active.dataset.action } : null;
    table.replaceChildren();
    const head = el("tr");
    for (const h of ["run", "model", "data", "epochs", "test acc", "state", ""]) head.append(el("th", null, h));
    table.append(head);
    for (const r of live.runs) {
      const tr = el("tr", r.name === live.run ? "current" : null);
      tr.dataset.run = r.name;
      const epochs = r.epochs === null ? "–" : r.completed_epoch + "/" + r.epochs + (r.analysed ? " (" + r.analysed + " imaged)" : "");
      const stateText = r.error ? "error: " + r.error : r.status === "running" ? "training" : r.status === "complete" ? "finished" : r.status;
      tr.append(el("td", null, r.name), el("td", null, r.model), el("td", null, r.dataset), el("td", "num", epochs),
                el("td", "num", r.test_acc === null ? "–" : pct(r.test_acc)), el("td", r.error ? "error" : null, stateText));
      // the last cell: the run's letter in the comparison (A: the shown run, while any is compared), then its buttons
      const cell = el("td"), at = live.compare.indexOf(r.name);
      const letter = at >= 0 ? letterOf(at) : r.name === live.run && live.compare.length ? "A" : "";
      if (letter) cell.append(el("span", "run-letter", letter), " ");
      if (r.name !== live.run && !r.error) {
        const on = live.compare.includes(r.name), full = !on && live.compare.length >= RUN_DASHES.length;
        const show = el("button", null, "show"), cmp = el("button", null, on ? "uncompare" : "compare");
        show.type = cmp.type = "button";
        show.dataset.action = "show"; cmp.dataset.action = "compare";
        // full: aria-disabled, not disabled, so that Tab still reaches the button and a screen reader reads why
        if (full) { cmp.setAttribute("aria-disabled", "true"); cmp.title = RUN_DASHES.length + " runs are compared already: uncompare one first"; }
        show.addEventListener("click", () => { live.run = r.name; live.chosen = true; live.version = null; live.compare = live.compare.filter((n) => n !== r.name); poll(); });
        cmp.addEventListener("click", () => { if (full) return; live.compare = on ? live.compare.filter((n) => n !== r.name) : live.compare.concat(r.name); poll(); });
        cell.append(show, " ", cmp);
      }
      tr.append(cell);
      table.append(tr);
    }
    if (!live.runs.length) { const tr = el("tr"); tr.append(el("td", "hint", "no runs under this directory yet: they appear here when written")); table.append(tr); }
    if (had) {
      const buttons = [...table.querySelectorAll("button[data-action]")];
      const same = buttons.find((b) => b.closest("tr").dataset.run === had.run && b.dataset.action === had.action) || buttons[0];
      if (same) same.focus();
    }
  }
  // The run to open: the most recently updated one that is readable.
  const newest = (runs) => runs.filter((r) => !r.error).reduce((a, r) => (!a || r.updated > a.updated ? r : a), null);
  let polling = false, pollTimer = 0, shownKey = "";
  async function poll() {
    clearTimeout(pollTimer);
    if (polling) { pollTimer = setTimeout(poll, 50); return; }
    polling = true;
    try {
      const list = await getJSON("api/runs");
      live.runs = list.runs;
      live.root = list.root;
      $("live-root").textContent = list.root;
      if (live.run && !live.runs.some((r) => r.name === live.run)) { live.run = null; live.chosen = false; live.version = null; }
      if (!live.run) { const n = newest(live.runs); if (n) live.run = n.name; }
      // a run is compared while it is listed, readable and not the shown run itself; the first four such
      live.compare = live.compare.filter((name) => name !== live.run && live.runs.some((r) => r.name === name && !r.error)).slice(0, RUN_DASHES.length);
      for (const name of [...live.others.keys()]) if (!live.compare.includes(name)) live.others.delete(name);
      syncAddress();
      const current = live.runs.find((r) => r.name === live.run);
      let message = "";
      if (current && current.error) message = live.run + ": " + current.error;
      else if (current && current.version !== live.version) {
        const version = current.version;
        try {
          adopt(await getJSON(runURL(live.run)));
          live.version = version;
          if (document.body.dataset.ready !== "1") ready();
        } catch (err) { message = live.run + ": " + err.message; }
      }
      for (const name of live.compare) {  // each compared run's data read again when its version changes
        const version = live.runs.find((r) => r.name === name).version;
        if (live.others.has(name) && live.others.get(name).version === version) continue;
        try { live.others.set(name, { version, data: await getJSON(runURL(name)) }); }
        catch (err) { message = message || name + ": " + err.message; live.others.delete(name); }
      }
      // Redrawn only when something changed: the table's buttons stay put between polls.
      const key = JSON.stringify([live.runs, live.run, live.version, live.compare.map((n) => (live.others.has(n) ? live.others.get(n).version : null))]);
      if (key !== shownKey) { shownKey = key; renderRunList(); renderCompare(); renderCompareSettings(); }
      // the curves follow the compared runs (and their ends)
      const next = live.compare.map((n) => (live.others.has(n) ? live.others.get(n).data : null));
      if (next.length !== compared.length || next.some((R, i) => R !== compared[i])) { compared = next; if (D) renderCurves(); }
      $("live-error").textContent = message;
      $("live-status").textContent = "updated " + new Date().toLocaleTimeString() + " · " + live.runs.length + " run" + (live.runs.length === 1 ? "" : "s");
      document.body.dataset.run = live.run || "";
      document.body.dataset.version = live.version || "";
    } catch (err) {
      $("live-status").textContent = (err.answered ? err.message : "server not answering (" + err.message + ")") + "; trying again";
    }
    polling = false;
    pollTimer = setTimeout(poll, LIVE.poll_ms);
  }
  // ---- runs compared: first what their settings differ in (config.json as the Run settings list
  // it, settingsDifference), so a difference in the maps can be read against its cause; drawn when the
  // runs or their versions change (not at every slider move, as the maps are). A column per run read.
  function renderCompareSettings() {
    const table = $("compare-settings");
    table.replaceChildren();
    const runs = live.compare.map((name, i) => [letterOf(i), live.others.has(name) ? live.others.get(name).data : null]).filter((p) => p[1]);
    if (!runs.length || !D) return;
    const diff = settingsDifference([D, ...runs.map((p) => p[1])].map((R) => settingsRows(R.config, R.definitions)));
    const head = el("tr");
    head.append(el("th", null, diff.length ? "setting" : "settings"), el("th", null, "A: " + D.meta.run), ...runs.map(([letter, R]) => el("th", null, letter + ": " + R.meta.run)));
    table.append(head);
    if (!diff.length) { const tr = el("tr"); tr.append(el("td", null, "the same"), ...Array.from({ length: runs.length + 1 }, () => el("td"))); table.append(tr); }
    for (const row of diff) { const tr = el("tr"); tr.append(...row.map((v) => el("td", null, v))); table.append(tr); }
  }
  // ---- runs compared: for each compared run X (B, C, …) and every layer both it and the shown run A
  // have (same name, same grid) at the shown epoch number, three 2-D maps side by side (drawMap, as in
  // the layer views): ζ of A, ζ of X — both on one diverging scale whose ends are ±the larger |ζ| of the
  // two — and A − X on its own scale symmetric about 0 (zetaDifference in helpers.js). A tile's canvas is
  // kept from one drawing to the next (tileCanvases, by run, layer and tile): a new canvas at every move
  // of the slider costs its bitmap and a layout each, ten times the drawing (bench/README.md). Every
  // card is put in the page first and the tiles drawn after (draws), so the layout is read once.
  let tileCanvases = new Map();
  function renderCompare() {
    const host = $("compare-maps");
    $("compare").hidden = !live.compare.length;
    host.replaceChildren();
    if (!live.compare.length || !D) return;
    const nameA = D.meta.run;
    $("compare-title").textContent = "ζ compared: A " + nameA + live.compare.map((name, i) => " · " + letterOf(i) + " " + name).join("");
    if (!E) {  // the shown run has no analysed epoch yet (a training run before its first one): nothing to compare
      host.append(el("p", "hint", nameA + " has no analysed epoch yet"));
      host.dataset.epoch = "";
      host.dataset.layers = "0";
      return;
    }
    // data-epoch: the epoch compared, once every compared run is read ("" while one is not)
    const epoch = D.epochs[state.e].epoch;
    host.dataset.epoch = live.compare.every((name) => live.others.has(name)) ? String(epoch) : "";
    // the command that writes this comparison as figures and compare.json (nnfmri compare), with the
    // compared runs that have ζ at this epoch (the command refuses an epoch a run lacks)
    const withZeta = (ep) => ep && ep.layers.some((l) => l.z);
    const ready = live.compare.filter((n) => live.others.has(n) && withZeta(live.others.get(n).data.epochs.find((ep) => ep.epoch === epoch)));
    if (withZeta(D.epochs[state.e]) && ready.length) {
      const command = el("p", "hint compare-command", "The same comparison as figures (PNG or SVG) and compare.json, for a paper: ");
      command.append(el("code", null, compareCommand(live.root, nameA, ready, epoch)),
                     " (one colour scale for every run's ζ" + (ready.length < live.compare.length ? "; the runs without ζ at epoch " + epoch + " left out" : "") +
                     "; README \"Comparing runs in figures\").");
      host.append(command);
    }
    let shown = 0;
    const draws = [], kept = new Map();
    live.compare.forEach((nameB, i) => {
      const X = letterOf(i), group = el("div", "compare-run");
      group.dataset.run = nameB;
      group.dataset.letter = X;
      group.append(el("h3", null, "A: " + nameA + " | " + X + ": " + nameB + " | difference A − " + X));
      host.append(group);
      const B = live.others.has(nameB) ? live.others.get(nameB).data : null;
      if (!B) { group.append(el("p", "hint", "loading " + nameB + "…")); return; }
      const be = B.epochs.find((ep) => ep.epoch === epoch);
      if (!be) { group.append(el("p", "hint", nameB + " has no analysed epoch " + epoch + " (its epochs: " + B.epochs.map((ep) => ep.epoch).join(", ") + ")")); return; }
      D.layers.forEach((layer, l) => {
        const m = B.layers.findIndex((x) => x.name === layer.name);
        const a = D.epochs[state.e].layers[l], b = m >= 0 ? be.layers[m] : null;
        const diff = b ? zetaDifference(a, b) : null;
        const card = el("div", "layer-view compare-row");
        card.dataset.layer = layer.name;
        card.append(el("h4", null, layer.name + " · epoch " + epoch));
        group.append(card);
        if (!diff) { card.append(el("p", "hint", b ? "not comparable: no ζ in one run, or different grids" : "not in " + nameB)); return; }
        const zmax = Math.max(0, ...a.z.zeta.map(Math.abs), ...b.z.zeta.map(Math.abs));
        const shared = (v) => ramp(DIV, scalePosition({ zmax }, "zeta", v));
        const spread = (v) => ramp(DIV, scalePosition({ zmax: diff.max }, "zeta", v));
        const tiles = el("div", "compare-tiles");
        card.append(tiles, el("div", "layer-note", "A and " + X + ": ζ, ends ±" + fmt(zmax, 3) + " · A − " + X + ": ends ±" + fmt(diff.max, 3) + "; mean |Δζ| " + fmt(diff.meanAbs, 3) +
                                                   "; " + diff.apart.length + " of " + diff.values.length + " regions' intervals apart (outlined)"));
        const tile = (run, label, outlined, values, colour, kind) => {
          const key = JSON.stringify([nameB, layer.name, run]), canvas = tileCanvases.get(key) || el("canvas", "voxels"), box = el("div", "compare-tile");
          kept.set(key, canvas);
          box.dataset.run = run;
          box.dataset.values = JSON.stringify(values);
          box.dataset.scale = String(colour === spread ? diff.max : zmax);
          box.append(el("div", "compare-label", label), canvas);
          tiles.append(box);
          draws.push(() => {
            const { ctx, w, h } = sizeCanvas(canvas, pixelRatio());
            drawMap({ l, card: box }, ctx, w, h, { ly: a, grid: a.grid, mode: { kind }, values, colour,
                                                  critical: new Set(outlined), dead: new Set() });
          });
        };
        // outlined: each run's critical regions on its own map, the regions apart on the difference
        tile("A", "A: " + nameA, a.z.critical, a.z.zeta, shared, "zeta");
        tile(X, X + ": " + nameB, b.z.critical, b.z.zeta, shared, "zeta");
        tile("diff", "A − " + X, diff.apart, diff.values, spread, "difference");
        card.dataset.meanAbs = String(diff.meanAbs);
        ++shown;
      });
    });
    for (const draw of draws) draw();
    tileCanvases = kept;
    host.dataset.layers = String(shown);
  }
  poll();
})();
