#!/usr/bin/env node
// tests/report_browser_test.js — `make test-report`: report.html in headless Chromium, no npm packages.
//
// 1. Writes a synthetic run directory shaped like a 10-epoch run of the reference net (8 imaged
//    layers, 8×8×4 grids clamped as the real grid stage clamps them, grid/zeta/tract for every
//    epoch except a missing zeta.json at epoch 4 and a missing tract.json at epoch 7, a class
//    named "<script>alert(1)</script>") — or takes an existing one with --run DIR.
// 2. Runs `nnfmri report DIR`.
// 3. Opens DIR/report.html in Chromium over the DevTools protocol on a pipe (--remote-debugging-pipe:
//    NUL-separated JSON on file descriptors 3 and 4, so node needs no WebSocket client), fails on any
//    console error, uncaught exception or dialog, checks that the DOM shows every layer, region and
//    epoch, drives the slider (programmatically over every epoch and with a real key press), clicks
//    a voxel and checks the region panel, drags to rotate, and saves screenshots.
// Prints the page size and load time and ends with "report-browser-test: N passed, M failed".
//
// usage: node tests/report_browser_test.js [--nnfmri build/nnfmri] [--out build] [--run DIR] [--chromium /usr/bin/chromium]
"use strict";
const fs = require("fs");
const os = require("os");
const path = require("path");
const { spawn, execFileSync } = require("child_process");

const args = { nnfmri: "build/nnfmri", out: "build", run: null, chromium: process.env.CHROMIUM || "/usr/bin/chromium" };
for (let i = 2; i < process.argv.length; i += 2) {
  const key = process.argv[i].replace(/^--/, "");
  if (!(key in args) || i + 1 >= process.argv.length) {
    console.error("report-browser-test: error: unknown flag or missing value '" + process.argv[i] + "'");
    process.exit(2);
  }
  args[key] = process.argv[i + 1];
}

let passed = 0, failed = 0;
function check(ok, what, detail) {
  if (ok) passed++;
  else failed++;
  console.log((ok ? "  ok   " : "  FAIL ") + what + (detail !== undefined ? "  (" + detail + ")" : ""));
}

// ---- the synthetic run ---------------------------------------------------------------------
function mulberry32(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const REFERENCE = [["conv1", 32, 32, 32], ["pool1", 16, 16, 32], ["conv2", 16, 16, 64], ["pool2", 8, 8, 64],
                   ["conv3", 8, 8, 128], ["pool3", 4, 4, 128], ["fc1", 1, 1, 256], ["output", 1, 1, 10]];
const CLASSES = ["<script>alert(1)</script>", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];
const EPOCHS = 10;

function makeRun(dir) {
  const rand = mulberry32(12345);
  const normal = () => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
  // 8×8×4 clamped to each layer, the output layer one region per logit (README "Region grid")
  const layers = REFERENCE.map(([name, h, w, c]) => ({ name, h, w, c, gh: Math.min(8, h), gw: Math.min(8, w), gc: name === "output" ? c : Math.min(4, c) }));
  const key = (L, r) => "grid_" + (Math.floor(r / (L.gc * L.gw)) + 1) + "_" + (Math.floor(r / L.gc) % L.gw + 1) + "_" + (r % L.gc + 1);
  const count = (L) => L.gh * L.gw * L.gc;
  const span = (size, blocks, b) => Math.floor((b + 1) * size / blocks) - Math.floor(b * size / blocks);
  const units = (L, r) => span(L.h, L.gh, Math.floor(r / (L.gc * L.gw))) * span(L.w, L.gw, Math.floor(r / L.gc) % L.gw) * span(L.c, L.gc, r % L.gc);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify({
    version: "0.1.0", command: "train", model: "reference",
    spec: "conv3x3:32 relu maxpool2 conv3x3:64 relu maxpool2 conv3x3:128 relu maxpool2 linear:256 relu linear:10",
    data: { spec: "cifar10:synthetic", name: "cifar10", files: [{ path: "/data/<b>data_batch_1.bin", sha256: "0".repeat(64) }],
            train_images: 50000, test_images: 10000, classes: CLASSES },
    epochs: EPOCHS, batch: 64, seed: 1, threads: 2, optimizer: { kind: "sgd", lr: 0.02, momentum: 0.9 },
    schedule: { kind: "cosine" }, analyze_every: 1 }, null, 2));
  let metrics = "";
  for (let e = 1; e <= EPOCHS; ++e)
    metrics += JSON.stringify({ epoch: e, train_loss: 2.2 * Math.exp(-e / 5) + 0.3, train_acc: 0.85 - 0.6 * Math.exp(-e / 4),
      test_loss: 2.2 * Math.exp(-e / 6) + 0.5, test_acc: 0.7 - 0.5 * Math.exp(-e / 4), learning_rate: 0.02 * Math.cos(e / 7),
      seconds: 60, train_seconds: 55, train_images_per_s: 900 }) + "\n";
  fs.writeFileSync(path.join(dir, "metrics.jsonl"), metrics);
  // a per-region "true" importance that the epochs approach with noise, so that ζ stabilises
  const truth = layers.map((L) => Array.from({ length: count(L) }, () => normal()));
  for (let e = 1; e <= EPOCHS; ++e) {
    const edir = path.join(dir, "analysis", "epoch_" + String(e).padStart(3, "0"));
    fs.mkdirSync(edir, { recursive: true });
    const header = { model: "reference", epoch: e, dataset: { name: "cifar10" }, eval_samples: 1000 };
    const grid = Object.assign({}, header, { settings: { grid: [8, 8, 4], lambda: 0.1, epsilon: 1e-6, bins: 8 }, layers: {} });
    const zeta = Object.assign({}, header, { layers: {} });
    layers.forEach((L, l) => {
      const regions = {}, zregions = {}, dead = [], critical = [];
      const n = count(L), phi = [];
      for (let r = 0; r < n; ++r) {
        const active = rand() < 0.08 ? 0.02 : 0.3 + 0.7 * rand();
        if (active < 0.05) dead.push(key(L, r));
        const info = Math.max(0, 0.1 + 0.4 * rand() * (l + 1) / 8 + 0.05 * e / EPOCHS);
        regions[key(L, r)] = { density: -1.2 + 0.5 * rand() + 0.1 * l + 0.02 * e, variance: 0.1 + rand(), activation_count: units(L, r),
          mean_abs: 0.2 + rand(), active_fraction: active, information_bits: info, information_null_bits: 0.03 + 0.02 * rand() };
        phi.push(truth[l][r] * (0.3 + e / EPOCHS) + normal() * (1.5 - e / EPOCHS));
      }
      const mean = phi.reduce((a, b) => a + b, 0) / n, sd = Math.sqrt(phi.reduce((a, b) => a + (b - mean) * (b - mean), 0) / Math.max(1, n - 1)) || 1;
      const order = [];
      for (let r = 0; r < n; ++r) {
        const z = (phi[r] - mean) / sd, half = 0.3 + 0.3 * rand(), p = Math.min(1, Math.exp(-Math.abs(z) * 2.5));
        const significant = p < 0.01;
        zregions[key(L, r)] = { zeta_score: z, confidence_interval: [z - half, z + half], significance: significant, shapley: phi[r] * 0.01,
          shapley_ci: [phi[r] * 0.01 - 0.002, phi[r] * 0.01 + 0.002], p_value: p, p_adjusted: Math.min(1, p * 2), lesion: phi[r] * 0.012, taylor: phi[r] * 0.009 };
        if (z >= 2 && significant) order.push([z, key(L, r)]);
      }
      order.sort((a, b) => b[0] - a[0]);
      for (const [, k] of order) critical.push(k);
      // receptive fields: the grid's share of the 32×32 image widened by 2 pixels (clipped)
      const spans = (blocks) => Array.from({ length: blocks }, (_, b) => [Math.max(0, Math.floor(b * 32 / blocks) - 2), Math.min(32, Math.floor((b + 1) * 32 / blocks) + 2)]);
      grid.layers[L.name] = { shape: [L.h, L.w, L.c], grid: [L.gh, L.gw, L.gc], coverage: 1 - dead.length / n, dead_regions: dead, regions,
                              receptive_field: { rows: spans(L.gh), cols: spans(L.gw) } };
      zeta.layers[L.name] = { method: "shapley", value_function: "logprob", ablation: "zero", eval_samples: 256, permutations: 512, seconds: 3.2,
        stopped_by: "tolerance", v_all: -0.9, v_none: -2.3, regions: zregions, critical_regions: critical, critical_share: critical.length / n };
    });
    // flows between structurally connected region pairs: same or neighbouring spatial block, any channel block
    const pairs = {};
    let pathStrength = 0;
    for (let l = 0; l + 1 < layers.length; ++l) {
      const A = layers[l], B = layers[l + 1], flows = [];
      for (let b = 0; b < count(B); ++b)
        for (let a = 0; a < count(A); ++a) {
          const ai = Math.floor(a / (A.gc * A.gw)), aj = Math.floor(a / A.gc) % A.gw, bi = Math.floor(b / (B.gc * B.gw)), bj = Math.floor(b / B.gc) % B.gw;
          const dense = B.gh === 1 && B.gw === 1;
          const near = Math.abs(ai * B.gh / A.gh - bi) <= 1 && Math.abs(aj * B.gw / A.gw - bj) <= 1;
          const samePlane = B.name.startsWith("pool") ? a % A.gc === b % B.gc && ai === bi && aj === bj : true;
          if (dense || (near && samePlane)) flows.push([key(A, a), key(B, b), Math.pow(rand(), 3) * 10 * (l + 1)]);
        }
      const strength = flows.reduce((s, f) => s + f[2], 0);
      pathStrength += strength;
      flows.sort((x, y) => y[2] - x[2]);
      pairs["layer_" + l + "_to_" + (l + 1)] = { from: A.name, to: B.name, connection_strength: strength,
        critical_pathways: flows.slice(0, 3).map((f) => f[0] + " → " + f[1]), pathway_efficiency: 0.2 + 0.6 * rand(),
        connected_pairs: flows.length, flows, flows_total: flows.length, flows_omitted: 0 };
    }
    const chains = [];
    for (let c = 0; c < 5; ++c)
      chains.push({ regions: layers.map((L) => ({ layer: L.name, region: key(L, Math.floor(rand() * count(L))) })), score: -3 - c - rand() });
    const tract = { eval_samples: 256, settings: { grid: [8, 8, 4], top: 0, chains: 5, samples: 256 }, pairs,
                    network: { path_strength: pathStrength, chains } };
    const image = (seed) => Array.from({ length: 3 * 32 * 32 }, (_, v) => (v * 7 + seed * 31) % 256);
    grid.images = { shape: [3, 32, 32], mean: Array.from({ length: 3 * 32 * 32 }, () => 127.5),
                    examples: [0, 1, 2].map((i) => ({ index: i, label: i + 1, pixels: image(i) })) };
    fs.writeFileSync(path.join(edir, "grid.json"), JSON.stringify(grid));
    if (e !== 4) fs.writeFileSync(path.join(edir, "zeta.json"), JSON.stringify(zeta));
    if (e !== 7) fs.writeFileSync(path.join(edir, "tract.json"), JSON.stringify(tract));
  }
  // NN-EEG files (README "NN-EEG"): 100 steps per epoch, one event per epoch from epoch 3 on, conv2
  // unstable at epoch 5, an injected lr fault in config.json
  fs.mkdirSync(path.join(dir, "eeg"));
  for (let e = 1; e <= EPOCHS; ++e) {
    const bands = () => { const v = [1, 2, 3, 4, 5].map(() => rand() + 0.01), t = v.reduce((a, b) => a + b, 0);
      return { delta: v[0] / t, theta: v[1] / t, alpha: v[2] / t, beta: v[3] / t, gamma: v[4] / t }; };
    const blocks = {};
    for (const L of layers) {
      const regions = {};
      for (let r = 0; r < count(L); ++r) regions[key(L, r)] = { mean_activity: 0.1 + rand(), gamma: rand() };
      blocks[L.name] = { state: L.name === "conv2" && e === 5 ? "unstable" : e < 3 ? "learning" : "plateau",
                         activity_bands: bands(), grad_norm_bands: bands(), regions };
    }
    const events = e >= 3 ? [{ step: 100 * e - 50, block: layers[e % layers.length].name, region: "", channel: "activity", z: e % 2 ? 8.5 : -9 }] : [];
    fs.writeFileSync(path.join(dir, "eeg", "epoch_" + String(e).padStart(3, "0") + ".json"), JSON.stringify({
      epoch: e, steps: [100 * e - 99, 100 * e], window: 64, definitions: "README.md, NN-EEG", span: [Math.max(1, 100 * e - 127), 100 * e],
      loss: { bands: bands(), trend_t: -3 }, blocks, events }));
  }
  const config = JSON.parse(fs.readFileSync(path.join(dir, "config.json"), "utf8"));
  config.eeg = { window: 64, history: 128, refresh: 16, threshold: 6 };
  config.inject = [{ kind: "lr", step: 420, duration: 5, param: "10" }];
  fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify(config, null, 2));
  return { layers: layers.length, regions: layers.reduce((s, L) => s + count(L), 0), epochs: EPOCHS };
}

// ---- a DevTools-protocol client on Chromium's pipe ------------------------------------------
class Browser {
  constructor(executable, profile) {
    this.proc = spawn(executable, ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
      "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-extensions",
      "--user-data-dir=" + profile, "--remote-debugging-pipe", "--window-size=1400,1000", "about:blank"],
      { stdio: ["ignore", "ignore", "pipe", "pipe", "pipe"] });
    this.stderr = "";
    this.proc.stderr.on("data", (d) => { this.stderr += d; });
    this.next = 1;
    this.pending = new Map();
    this.listeners = [];
    let buffer = Buffer.alloc(0);
    this.proc.stdio[4].on("data", (chunk) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (let end = buffer.indexOf(0); end >= 0; end = buffer.indexOf(0)) {
        const message = JSON.parse(buffer.subarray(0, end).toString("utf8"));
        buffer = buffer.subarray(end + 1);
        if (message.id && this.pending.has(message.id)) {
          const { resolve, reject } = this.pending.get(message.id);
          this.pending.delete(message.id);
          if (message.error) reject(new Error(JSON.stringify(message.error)));
          else resolve(message.result);
        } else if (message.method) for (const listen of this.listeners) listen(message);
      }
    });
    this.exited = new Promise((resolve) => this.proc.on("exit", resolve));
  }
  send(method, params, sessionId) {
    const id = this.next++;
    const message = { id, method, params: params || {} };
    if (sessionId) message.sessionId = sessionId;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.proc.stdio[3].write(JSON.stringify(message) + "\0");
    });
  }
  waitFor(method, timeoutMs) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("timed out waiting for " + method)), timeoutMs);
      const listen = (m) => { if (m.method === method) { clearTimeout(timer); this.listeners.splice(this.listeners.indexOf(listen), 1); resolve(m.params); } };
      this.listeners.push(listen);
    });
  }
  async close() {
    try { await Promise.race([this.send("Browser.close"), new Promise((r) => setTimeout(r, 3000))]); } catch (e) { /* already gone */ }
    const timer = setTimeout(() => this.proc.kill("SIGKILL"), 5000);
    await this.exited;
    clearTimeout(timer);
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Slider, key press, colour toggle, voxel click, drag and play on a page with layers and ≥ 2 epochs.
async function interact(cdp, evaluate) {
    // every epoch through the slider's input event
    const epochNumbers = await evaluate("JSON.parse(document.getElementById('report-data').textContent).epochs.map((e) => e.epoch)");
    let allFollow = true;
    for (let i = 0; i < epochNumbers.length; ++i) {
      const shown = await evaluate(`(() => { const s = document.getElementById("epoch"); s.value = "${i}";
        s.dispatchEvent(new Event("input", { bubbles: true }));
        return [...document.querySelectorAll(".layer-view")].map((v) => v.dataset.epoch); })()`);
      allFollow = allFollow && shown.every((e) => Number(e) === epochNumbers[i]);
    }
    check(allFollow, "every view follows the slider over all epochs");
    // a real key press on the slider
    await evaluate("document.getElementById('epoch').focus()");
    const before = await evaluate("document.getElementById('epoch-label').textContent");
    for (const type of ["rawKeyDown", "keyUp"])
      await cdp("Input.dispatchKeyEvent", { type, key: "ArrowLeft", code: "ArrowLeft", windowsVirtualKeyCode: 37 });
    const after = await evaluate("document.getElementById('epoch-label').textContent");
    check(before !== after && after.startsWith("epoch " + epochNumbers[epochNumbers.length - 2] + " "), "ArrowLeft on the slider moves one epoch back", after);
    // the ζ/density toggle
    const toggled = await evaluate(`(() => { const d = document.querySelector("input[name=colour][value=density]"); d.click();
      const kinds = [...document.querySelectorAll(".layer-view")].map((v) => v.dataset.colour);
      document.querySelector("input[name=colour][value=zeta]").click(); return kinds; })()`);
    check(toggled.every((k) => k === "density"), "the colour toggle switches every view to density");

    // click the front voxel of the first layer, then drag to rotate
    // The 2-D map is the default view: one tile per channel block of a spatial layer; the output
    // layer lists its regions by class name; hovering a region shows its values.
    const maps = await evaluate(`(() => { const D = JSON.parse(document.getElementById("report-data").textContent);
      const last = D.epochs[window.nnfmriReport.state.e];
      return [...document.querySelectorAll(".layer-view")].map((v, l) => ({ view: v.dataset.view, tiles: Number(v.dataset.tiles),
        grid: last.layers[l].grid, labels: JSON.parse(v.dataset.labels || "[]") })); })()`);
    check(maps.every((m) => m.view === "map"), "the 2-D map is the default view");
    check(maps.every((m) => (m.grid[0] * m.grid[1] > 1 ? m.tiles === m.grid[2] : m.tiles === 0)),
          "the 2-D map draws one tile per channel block", maps.map((m) => m.tiles).join(" "));
    const outputLabels = maps[maps.length - 1].labels;
    check(outputLabels.length === CLASSES.length && outputLabels[1] === "automobile" && outputLabels[9] === "truck" || !!args.run && outputLabels.length > 0,
          "the output layer shows its regions by class name", outputLabels.join(", "));
    const firstName = await evaluate("document.querySelector('.layer-view').dataset.layer");
    await evaluate(`document.querySelector('.layer-view').scrollIntoView({ block: "center" })`);
    const cellPoint = await evaluate(`window.nnfmriReport.voxelPoint(${JSON.stringify(firstName)}, 5)`);
    await cdp("Input.dispatchMouseEvent", { type: "mouseMoved", x: cellPoint.x, y: cellPoint.y, button: "none", buttons: 0 });
    await sleep(30);
    const hover = await evaluate("(() => { const h = document.getElementById('hover'); return h.hidden ? '' : h.textContent; })()");
    const key5 = await evaluate(`(() => { const D = JSON.parse(document.getElementById('report-data').textContent);
      const g = D.epochs[window.nnfmriReport.state.e].layers[0].grid, r = 5;
      return "grid_" + (Math.floor(r / (g[2] * g[1])) + 1) + "_" + (Math.floor(r / g[2]) % g[1] + 1) + "_" + (r % g[2] + 1); })()`);
    check(hover.startsWith(firstName + " " + key5) && hover.includes("ζ"), "hovering a region of the 2-D map shows its values", hover);
    await cdp("Input.dispatchMouseEvent", { type: "mousePressed", x: cellPoint.x, y: cellPoint.y, button: "left", buttons: 1, clickCount: 1 });
    await cdp("Input.dispatchMouseEvent", { type: "mouseReleased", x: cellPoint.x, y: cellPoint.y, button: "left", buttons: 0, clickCount: 1 });
    await sleep(30);
    const mapDetails = await evaluate("document.getElementById('details-body').textContent");
    check(mapDetails.includes(firstName + " · " + key5), "clicking a region of the 2-D map selects it", key5);
    if (!args.run) {  // the synthetic run has images.json and receptive fields: region 5 of conv1 is row block 1, column block 2
      await sleep(50);
      const rf = await evaluate(`(() => { const strip = document.querySelector("#details-body .image-strip");
        if (!strip) return null;
        const canvas = strip.querySelector("canvas"), ctx = canvas.getContext("2d");
        const [y0, y1, x0, x1] = strip.dataset.rf.split(",").map(Number), s = canvas.width / 32;
        const at = (x, y) => Array.from(ctx.getImageData(Math.round(x), Math.round(y), 1, 1).data).slice(0, 3).join(",");
        return { rf: strip.dataset.rf, images: strip.querySelectorAll("canvas").length, edge: at(x0 * s + 1, (y0 + y1) / 2 * s), inside: at((x0 + x1) / 2 * s, (y0 + y1) / 2 * s) }; })()`);
      check(rf !== null && rf.rf === "0,6,2,10" && rf.images === 4 && rf.edge === "213,94,0" && rf.inside === "128,128,128",
            "the selected region's receptive field is drawn on the images", JSON.stringify(rf));
      const onImage = await evaluate(`(() => { const host = document.getElementById("onimage");
        return { layer: host.dataset.layer, images: host.querySelectorAll("canvas").length, choices: document.querySelectorAll("input[name=image-layer]").length }; })()`);
      check(onImage.layer === "conv1" && onImage.images === 4 && onImage.choices === 6, "ζ is laid over the mean and example images of a spatial layer", JSON.stringify(onImage));
    }
    const help = await evaluate(`(() => { const panel = document.getElementById("howto");
      const legends = [...document.querySelectorAll(".legend-row")];
      const heads = [...document.querySelectorAll("#summary th")];
      return { open: !!panel && panel.open, terms: panel ? [...panel.querySelectorAll("dt")].map((d) => d.textContent) : [],
               legends: legends.length, legendTips: legends.filter((n) => n.title.length > 20).length,
               heads: heads.length, headTips: heads.filter((n) => n.title.length > 20).length,
               detailTips: [...document.querySelectorAll("#details-body td[title]")].length }; })()`);
    check(help.open && ["Region", "ζ (zeta) and its interval", "Density and information", "Dead", "Critical", "Pathway and chain"].every((t) => help.terms.includes(t)),
          "the how-to-read panel explains region, ζ, density, dead, critical and pathways", help.terms.join("; "));
    check(help.legends > 0 && help.legendTips === help.legends && help.heads > 0 && help.headTips === help.heads && help.detailTips >= 8,
          "every legend, summary heading and region metric has a tooltip", JSON.stringify(help));

    await evaluate("window.nnfmriReport.setView('voxels')");
    const first = firstName;
    const region = await evaluate(`window.nnfmriReport.frontRegion(${JSON.stringify(first)})`);
    const point = await evaluate(`window.nnfmriReport.voxelPoint(${JSON.stringify(first)}, ${region})`);
    check(point !== null, "the front voxel has a visible face", JSON.stringify(point));
    const mouse = (type, x, y, buttons) => cdp("Input.dispatchMouseEvent", { type, x, y, button: "left", buttons, clickCount: 1 });
    await mouse("mouseMoved", point.x, point.y, 0);
    await mouse("mousePressed", point.x, point.y, 1);
    await mouse("mouseReleased", point.x, point.y, 0);
    await sleep(50);
    const details = await evaluate("document.getElementById('details-body').textContent");
    const expectedKey = await evaluate(`(() => { const D = JSON.parse(document.getElementById('report-data').textContent);
      const g = D.epochs[window.nnfmriReport.state.e].layers[0].grid, r = ${region};
      return "grid_" + (Math.floor(r / (g[2] * g[1])) + 1) + "_" + (Math.floor(r / g[2]) % g[1] + 1) + "_" + (r % g[2] + 1); })()`);
    check(details.includes(first + " · " + expectedKey) && details.includes("density") && details.includes("selectivity") && details.includes("ζ"),
          "clicking a voxel shows its region's numbers", first + " " + expectedKey);
    const yaw0 = await evaluate("window.nnfmriReport.state.yaw");
    await mouse("mousePressed", point.x, point.y, 1);
    for (let s = 1; s <= 6; ++s) await mouse("mouseMoved", point.x + 10 * s, point.y + 3 * s, 1);
    await mouse("mouseReleased", point.x + 60, point.y + 18, 0);
    await sleep(50);
    const yaw1 = await evaluate("window.nnfmriReport.state.yaw");
    check(Math.abs(yaw1 - yaw0) > 0.3, "dragging rotates the views", "yaw " + yaw0.toFixed(2) + " → " + yaw1.toFixed(2));
    // play, then pause
    const playing = await evaluate(`(() => { document.getElementById("play").click(); const t = document.getElementById("play").textContent;
      document.getElementById("play").click(); return t + "/" + document.getElementById("play").textContent; })()`);
    check(playing === "Pause/Play", "the play button starts and stops", playing);
    await evaluate("window.nnfmriReport.setView('map')");

}

async function main() {
  const outDir = path.resolve(args.out);
  fs.mkdirSync(outDir, { recursive: true });
  let runDir, expected = null;
  if (args.run) runDir = path.resolve(args.run);
  else {
    runDir = path.join(outDir, "report-test-run");
    expected = makeRun(runDir);
    console.log("report-browser-test: synthetic run " + runDir + " (" + expected.epochs + " epochs, " + expected.layers + " layers, " +
                expected.regions + " regions per epoch)");
  }
  const started = Date.now();
  const summary = execFileSync(path.resolve(args.nnfmri), ["report", runDir], { encoding: "utf8" });
  process.stdout.write(summary);
  console.log("report-browser-test: nnfmri report took " + (Date.now() - started) + " ms");
  const page = path.join(runDir, "report.html");
  const bytes = fs.statSync(page).size;
  console.log("report-browser-test: report.html is " + (bytes / 1e6).toFixed(2) + " MB");
  check(bytes < 8e6, "report.html is a few MB at most", (bytes / 1e6).toFixed(2) + " MB");
  const html = fs.readFileSync(page, "utf8");
  check(!html.includes("<script>alert"), "no raw <script>alert in the file");
  if (!expected) {  // the run's own numbers: analysed epochs from summary.json, layers and regions from the last grid.json
    const s = JSON.parse(fs.readFileSync(path.join(runDir, "summary.json"), "utf8"));
    expected = { epochs: s.analysed_epochs.length, layers: null, regions: null };
    const last = s.analysed_epochs.length ? path.join(runDir, "analysis", "epoch_" + String(s.analysed_epochs[s.analysed_epochs.length - 1]).padStart(3, "0"), "grid.json") : null;
    if (last && fs.existsSync(last)) {
      const layers = Object.values(JSON.parse(fs.readFileSync(last, "utf8")).layers);
      expected.layers = layers.length;
      expected.regions = layers.reduce((sum, l) => sum + l.grid[0] * l.grid[1] * l.grid[2], 0);
    }
  }

  if (!fs.existsSync(args.chromium)) throw new Error(args.chromium + " not found (apt-get install chromium, or --chromium PATH)");
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "nnfmri-chromium-"));
  const browser = new Browser(args.chromium, profile);
  const problems = [];
  try {
    const { targetId } = await browser.send("Target.createTarget", { url: "about:blank" });
    const { sessionId } = await browser.send("Target.attachToTarget", { targetId, flatten: true });
    const cdp = (method, params) => browser.send(method, params, sessionId);
    browser.listeners.push((m) => {
      if (m.sessionId !== sessionId) return;
      if (m.method === "Runtime.consoleAPICalled" && (m.params.type === "error" || m.params.type === "assert"))
        problems.push("console." + m.params.type + ": " + m.params.args.map((a) => a.value !== undefined ? a.value : a.description).join(" "));
      if (m.method === "Runtime.exceptionThrown")
        problems.push("exception: " + (m.params.exceptionDetails.exception ? m.params.exceptionDetails.exception.description : m.params.exceptionDetails.text));
      if (m.method === "Log.entryAdded" && m.params.entry.level === "error") problems.push("log: " + m.params.entry.text);
      if (m.method === "Page.javascriptDialogOpening") {
        problems.push("dialog: " + m.params.message);
        cdp("Page.handleJavaScriptDialog", { accept: false }).catch(() => {});
      }
      if (m.method === "Network.requestWillBeSent" && !/^(file|data|about):/.test(m.params.request.url)) problems.push("network request: " + m.params.request.url);
    });
    await Promise.all([cdp("Runtime.enable"), cdp("Page.enable"), cdp("Log.enable"), cdp("Network.enable")]);
    await cdp("Emulation.setDeviceMetricsOverride", { width: 1400, height: 1000, deviceScaleFactor: 1, mobile: false });
    const evaluate = async (expression) => {
      const r = await cdp("Runtime.evaluate", { expression, returnByValue: true, awaitPromise: true });
      if (r.exceptionDetails) throw new Error("evaluate failed: " + expression + ": " + JSON.stringify(r.exceptionDetails));
      return r.result.value;
    };

    const t0 = Date.now();
    const loaded = browser.waitFor("Page.loadEventFired", 60000);
    await cdp("Page.navigate", { url: "file://" + page });
    await loaded;
    while ((await evaluate("document.body.dataset.ready || ''")) !== "1") {
      if (Date.now() - t0 > 60000) throw new Error("the page never set body[data-ready]");
      await sleep(20);
    }
    const wall = Date.now() - t0;
    const inPage = await evaluate("Number(document.body.dataset.renderMs)");
    console.log("report-browser-test: page load time " + wall + " ms (navigation to drawn, measured by the test; " + inPage +
                " ms after navigation start, measured by the page)");
    check(inPage > 0, "the page reports when it was drawn", inPage + " ms");

    const dom = await evaluate(`(() => {
      const views = [...document.querySelectorAll(".layer-view")];
      return { views: views.length, regions: views.reduce((s, v) => s + Number(v.dataset.regions), 0),
               names: views.map((v) => v.dataset.layer), sliderMax: Number(document.getElementById("epoch").max),
               epochs: window.nnfmriReport.epochCount, scripts: document.querySelectorAll("script").length,
               settings: document.getElementById("settings").textContent, label: document.getElementById("epoch-label").textContent };
    })()`);
    check(dom.epochs === expected.epochs && dom.sliderMax === Math.max(0, expected.epochs - 1), "slider covers every analysed epoch",
          dom.epochs + " epochs, slider 0.." + dom.sliderMax);
    if (expected.layers !== null) {
      check(dom.views === expected.layers, "one view per layer", dom.views + " views: " + dom.names.join(" "));
      check(dom.regions === expected.regions, "every region drawn", dom.regions + " regions");
    }
    if (!args.run)
      check(dom.settings.includes("<script>alert(1)</script>") && dom.scripts === 3, "a class named <script>… shows as text",
            dom.scripts + " script elements");
    if (dom.views > 0 && expected.epochs > 1) await interact(cdp, evaluate);

    if (!args.run) {  // the synthetic run's epoch 4 has no zeta.json and epoch 7 no tract.json
      const missing = await evaluate(`(() => { const D = JSON.parse(document.getElementById("report-data").textContent);
        window.nnfmriReport.setEpoch(D.epochs.findIndex((e) => e.epoch === 4));
        const views = [...document.querySelectorAll(".layer-view")];
        const r = { colours: views.map((v) => v.dataset.colour), note: views[0].querySelector(".layer-note").textContent };
        window.nnfmriReport.setEpoch(D.epochs.findIndex((e) => e.epoch === 7));
        r.label = document.getElementById("epoch-label").textContent;
        return r; })()`);
      check(missing.colours.every((c) => c === "density") && missing.note.includes("no ζ at this epoch"),
            "an epoch without zeta.json falls back to density and says so", missing.note);
      check(missing.label.includes("tract ✗"), "an epoch without tract.json is marked", missing.label);
      await evaluate("document.getElementById('pathways').scrollIntoView()");
      await sleep(50);
      const shot = await cdp("Page.captureScreenshot", { format: "png" });
      fs.writeFileSync(path.join(outDir, "report-missing-tract.png"), Buffer.from(shot.data, "base64"));
      await evaluate("window.nnfmriReport.setEpoch(window.nnfmriReport.epochCount - 1)");
    }
    if (!args.run) {  // NN-EEG: one lane per block, the events, the slider's epoch, the consistency terms
      const eeg = await evaluate(`(() => { const R = window.nnfmriReport, D = JSON.parse(document.getElementById("report-data").textContent);
        R.setEpoch(4);
        const chart = document.getElementById("eeg-chart"), rows = [...document.querySelectorAll("#eeg-consistency tr[data-term]")];
        const r = { lanes: Number(chart.dataset.lanes), events: Number(chart.dataset.events), epoch: chart.dataset.epoch, want: String(D.epochs[4].epoch),
                    terms: rows.map((x) => x.dataset.term), cells: rows.length ? rows[0].children.length : 0, inject: D.eeg.inject.length };
        R.setEpoch(R.epochCount - 1);
        r.last = chart.dataset.epoch;
        return r; })()`);
      check(eeg.lanes === expected.layers && eeg.events === EPOCHS - 2 && eeg.inject === 1, "NN-EEG: one lane per block, every event and the injected fault",
            JSON.stringify(eeg));
      check(eeg.epoch === eeg.want && eeg.last === String(EPOCHS), "NN-EEG follows the epoch slider", eeg.epoch + " then " + eeg.last);
      check(eeg.terms.join(",") === "rho_gamma_zeta,rho_gamma_zeta_layer,kappa,f1,consistency" && eeg.cells === 5,
            "the consistency panel lists the five terms with value, CI, null and items", eeg.terms.join(","));
      await evaluate("document.getElementById('eeg-chart').scrollIntoView()");
      await sleep(50);
      const eegShot = await cdp("Page.captureScreenshot", { format: "png" });
      fs.writeFileSync(path.join(outDir, "report-eeg.png"), Buffer.from(eegShot.data, "base64"));
    }
    // screenshots: the layers with the top region selected (README "Reading the report"), the first
    // screen, and the whole page
    await evaluate(`(() => { const R = window.nnfmriReport, D = JSON.parse(document.getElementById("report-data").textContent);
      R.setView("map"); R.setEpoch(R.epochCount - 1);
      const top = D.epochs[R.epochCount - 1].summary.top_regions;
      const l = top && top.length ? D.layers.findIndex((x) => x.name === top[0].layer) : 0;
      const ly = D.epochs[R.epochCount - 1].layers[Math.max(0, l)];
      const r = top && top.length ? (top[0].grid[0] - 1) * ly.grid[1] * ly.grid[2] + (top[0].grid[1] - 1) * ly.grid[2] + top[0].grid[2] - 1 : 0;
      R.select(Math.max(0, l), r);
      document.getElementById("layers").scrollIntoView(); window.scrollBy(0, -document.getElementById("controls").offsetHeight - 8); })()`);
    await sleep(150);
    // at 3/4 scale: the README's screenshot (docs/report.png) is this file of a real run
    const layersShot = await cdp("Page.captureScreenshot", { format: "png", clip: { x: 0, y: await evaluate("window.scrollY"), width: 1400, height: 1000, scale: 0.75 } });
    fs.writeFileSync(path.join(outDir, "report-layers.png"), Buffer.from(layersShot.data, "base64"));
    await evaluate("document.getElementById('reset-view').click(); window.scrollTo(0, 0)");
    await sleep(100);
    const shot = await cdp("Page.captureScreenshot", { format: "png" });
    fs.writeFileSync(path.join(outDir, "report.png"), Buffer.from(shot.data, "base64"));
    const metrics = await cdp("Page.getLayoutMetrics");
    const size = metrics.cssContentSize || metrics.contentSize;
    const full = await cdp("Page.captureScreenshot", { format: "png", captureBeyondViewport: true,
      clip: { x: 0, y: 0, width: Math.ceil(size.width), height: Math.min(8000, Math.ceil(size.height)), scale: 1 } });
    fs.writeFileSync(path.join(outDir, "report-full.png"), Buffer.from(full.data, "base64"));
    console.log("report-browser-test: screenshots " + ["report.png", "report-layers.png", "report-full.png"].map((f) => path.join(outDir, f)).join(", "));
  } finally {
    await browser.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
  check(problems.length === 0, "no console error, exception, dialog or network request", problems.join(" | ") || "none");
}

main().then(() => {
  console.log("report-browser-test: " + passed + " passed, " + failed + " failed");
  process.exit(failed ? 1 : 0);
}, (error) => {
  console.log("  FAIL " + error.message);
  console.log("report-browser-test: " + passed + " passed, " + (failed + 1) + " failed");
  process.exit(1);
});
