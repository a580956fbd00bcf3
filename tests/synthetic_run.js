// tests/synthetic_run.js — a synthetic run directory for the browser tests (make test-report):
// shaped like a run of the reference net (8 imaged layers, 8×8×4 grids clamped as the real grid stage
// clamps them, grid/zeta/tract for every epoch except a missing zeta.json at epoch 4 and a missing
// tract.json at epoch 7, a class named "<script>alert(1)</script>"), deterministic (its own PRNG).
"use strict";
const fs = require("fs");
const path = require("path");

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

// The steps of the planted one-step spikes of the NN-EEG rows (away from their epochs' middles).
const PLANTED = { block: 215, region: 612 };

// A float32 C-order 2-D array as a NumPy .npy v1.0 file (the bytes base/npz.cpp writes).
function npy(rows, cols, values) {
  let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + rows + "," + cols + "), }";
  header += " ".repeat((64 - (10 + header.length + 1) % 64) % 64) + "\n";
  const head = Buffer.alloc(10);
  head.write("\x93NUMPY", 0, "latin1");
  head[6] = 1; head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  const data = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => data.writeFloatLE(v, 4 * i));
  return Buffer.concat([head, Buffer.from(header, "latin1"), data]);
}

// metrics.jsonl of a synthetic run of `epochs` epochs. learning_rate: the cosine schedule config.json
// names (never negative, as nnfmri's: report/report_data.cpp refuses a negative rate). The report
// browser test reads a run of hundreds of epochs back through `nnfmri report`, so a run of any length
// stays readable.
function metricsLines(epochs) {
  let metrics = "";
  for (let e = 1; e <= epochs; ++e)
    metrics += JSON.stringify({ epoch: e, train_loss: 2.2 * Math.exp(-e / 5) + 0.3, train_acc: 0.85 - 0.6 * Math.exp(-e / 4),
      test_loss: 2.2 * Math.exp(-e / 6) + 0.5, test_acc: 0.7 - 0.5 * Math.exp(-e / 4), learning_rate: 0.01 * (1 + Math.cos(Math.PI * e / epochs)),
      seconds: 60, train_seconds: 55, train_images_per_s: 900 }) + "\n";
  return metrics;
}

// A synthetic run directory in `dir` with `epochs` analysed epochs (10 unless given), its random
// numbers from `seed`; with `errors`, analyze --errors maps in the last two epochs' zeta.json
// (syntheticErrors below): returns {layers, regions (per epoch), epochs}.
function makeRun(dir, epochs = 10, seed = 12345, errors = false) {
  const EPOCHS = epochs;
  const rand = mulberry32(seed);
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
    schedule: { kind: "cosine" }, analyze_every: 1,
    analysis: { grid: [8, 8, 4], lambda: 0.25, epsilon: 1e-6, zeta: { method: "shapley", value: "margin", samples: 256, tolerance: -1 } } },
    null, 2));
  fs.writeFileSync(path.join(dir, "metrics.jsonl"), metricsLines(EPOCHS));
  // a per-region "true" importance that the epochs approach with noise, so that ζ stabilises
  const truth = layers.map((L) => Array.from({ length: count(L) }, () => normal()));
  for (let e = 1; e <= EPOCHS; ++e) {
    const edir = path.join(dir, "analysis", "epoch_" + String(e).padStart(3, "0"));
    fs.mkdirSync(edir, { recursive: true });
    const header = { model: "reference", epoch: e, dataset: { name: "cifar10" }, eval_samples: 1000 };
    // the settings as train writes them: the λ of its config.json (--lambda 0.25)
    const grid = Object.assign({}, header, { settings: { grid: [8, 8, 4], lambda: 0.25, epsilon: 1e-6, bins: 8 }, layers: {} });
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
    // analyze scores conv1 with pool1's game when the two games are one (zeta.json "same_game_as", README
    // "One game, two blocks"): conv1's layer is then pool1's renamed. Here at the odd epochs.
    if (e % 2 === 1) zeta.layers.conv1 = Object.assign(JSON.parse(JSON.stringify(zeta.layers.pool1)), { same_game_as: "pool1" });
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
    if (errors && e >= EPOCHS - 1) {
      const made = syntheticErrors(layers, count, mulberry32(seed + 1000 * e), image);  // its own stream: the rest is unchanged
      zeta.errors = made.errors;
      layers.forEach((L, l) => { zeta.layers[L.name].errors = made.layerErrors[l]; });
    }
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
    // one region's event: conv1 grid_2_1_1 rises at its planted spike (the step lies in epoch 7)
    if (e === Math.ceil(PLANTED.region / 100)) events.unshift({ step: PLANTED.region, block: "conv1", region: "grid_2_1_1", channel: "region", z: 9.5 });
    fs.writeFileSync(path.join(dir, "eeg", "epoch_" + String(e).padStart(3, "0") + ".json"), JSON.stringify({
      epoch: e, steps: [100 * e - 99, 100 * e], window: 64, definitions: "README.md, NN-EEG", span: [Math.max(1, 100 * e - 127), 100 * e],
      loss: { bands: bands(), trend_t: -3 }, blocks, events }));
  }
  // the per-step rows (eeg/channels.json, eeg/epoch_NNN.npy): smooth channels with two planted
  // one-step spikes, conv2's activity at step PLANTED.block and conv1 grid_2_1_1 at PLANTED.region
  const channels = [{ name: "loss", block: "", region: "", channel: "loss" }];
  for (const L of layers) {
    for (const kind of ["grad_norm", "update_ratio", "activity"]) channels.push({ name: L.name + "/" + kind, block: L.name, region: "", channel: kind });
    for (let r = 0; r < count(L); ++r) channels.push({ name: L.name + "/" + key(L, r), block: L.name, region: key(L, r), channel: "region" });
  }
  fs.writeFileSync(path.join(dir, "eeg", "channels.json"), JSON.stringify({ format: "nnfmri eeg channels", version: 1,
    rows: "one per SGD step, float32", columns: channels.length, channels }));
  const noise = mulberry32(seed + 1);
  for (let e = 1; e <= EPOCHS; ++e) {
    const values = [];
    for (let t = 100 * e - 99; t <= 100 * e; ++t)
      for (const ch of channels) {
        let v = ch.channel === "loss" ? 2.3 * Math.exp(-t / 400) + 0.05 * noise() : ch.channel === "activity" ? 1 + 0.1 * Math.sin(t / 30) + 0.02 * noise()
          : ch.channel === "region" ? 0.5 + 0.1 * noise() : 0.01 + 0.001 * noise();
        if (t === PLANTED.block && ch.name === "conv2/activity") v = 3;
        if (t === PLANTED.region && ch.name === "conv1/grid_2_1_1") v = 5;
        values.push(v);
      }
    fs.writeFileSync(path.join(dir, "eeg", "epoch_" + String(e).padStart(3, "0") + ".npy"), npy(100, channels.length, values));
  }
  const config = JSON.parse(fs.readFileSync(path.join(dir, "config.json"), "utf8"));
  config.eeg = { window: 64, history: 128, refresh: 16, threshold: 6 };
  config.inject = [{ kind: "lr", step: 420, duration: 5, param: "10" }];
  fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify(config, null, 2));
  return { layers: layers.length, regions: layers.reduce((s, L) => s + count(L), 0), epochs: EPOCHS };
}

// analyze --errors in zeta.json (README "Error analysis"; only the keys the report reads): a sample of
// 80 images, image x of class x % 10; planted mistakes: 6 images of class 3 predicted 5 (PLANTED_CELL,
// p(true) falling with x, so its 4 worst are its last 4) and 2 of class 5 predicted 3 (the transposed
// cell), the rest correct.  The gallery holds every mistake (as imaging/error_maps.h would: a cell's
// 4 worst at least); its pixels are image(x).  Per layer: per-image φ rows, per-class and per-cell maps.
const PLANTED_CELL = { true: 3, predicted: 5 };
function syntheticErrors(layers, count, rand, image) {
  const N = 80, labels = [], predicted = [], pTrue = [];
  let planted = 0;
  for (let x = 0; x < N; ++x) {
    const y = x % 10;
    labels.push(y);
    if (y === 3 && planted < 6) { predicted.push(5); pTrue.push(0.3 - 0.04 * planted++); }
    else if (y === 5 && x < 20) { predicted.push(3); pTrue.push(0.2); }
    else { predicted.push(y); pTrue.push(0.6 + 0.3 * rand()); }
  }
  const gallery = [];
  for (let x = 0; x < N; ++x)
    if (labels[x] !== predicted[x])
      gallery.push({ slot: x, index: 100 + x, kind: "cell", label: labels[x], predicted: predicted[x], probability_true: pTrue[x], pixels: image(x) });
  const errors = { eval_indices: Array.from({ length: N }, (_, x) => 100 + x), labels, predicted, probability_true: pTrue,
                   accuracy: labels.filter((y, x) => y === predicted[x]).length / N, shape: [3, 32, 32], gallery };
  const layerErrors = layers.map((L) => {
    const n = count(L), perImage = Array.from({ length: N }, () => Array.from({ length: n }, () => rand() - 0.5));
    const mean = (members) => Array.from({ length: n }, (_, g) => members.reduce((a, x) => a + perImage[x][g], 0) / members.length);
    const group = (members) => { const phi = mean(members); return { images: members.length, phi, ci_low: phi.map((v) => v - 0.1), ci_high: phi.map((v) => v + 0.1) }; };
    const perClass = [], confusions = [];
    for (let c = 0; c < 10; ++c) perClass.push(Object.assign({ class: c }, group(labels.map((y, x) => x).filter((x) => labels[x] === c))));
    for (const [a, b] of [[3, 5], [5, 3]])
      confusions.push(Object.assign({ true: a, predicted: b }, group(labels.map((y, x) => x).filter((x) => labels[x] === a && predicted[x] === b))));
    return { images: N, interval: "population", per_class: perClass, confusions, per_image: perImage };
  });
  return { errors, layerErrors };
}

// The same run as `nnfmri serve` lists it: plus a run.json saying all its epochs are committed and
// listing every file the run holds, as train's does (the eeg/ files are read only where it lists them).
function makeServedRun(dir, epochs = 10, seed = 12345) {
  const made = makeRun(dir, epochs, seed);
  const files = [];
  const walk = (rel) => {
    for (const name of fs.readdirSync(path.join(dir, rel)).sort()) {
      const child = rel ? rel + "/" + name : name;
      if (fs.statSync(path.join(dir, child)).isDirectory()) walk(child);
      else files.push(child);
    }
  };
  walk("");
  fs.writeFileSync(path.join(dir, "run.json"), JSON.stringify({ format: "nnfmri run", version: 1, status: "complete", epochs,
    completed_epoch: epochs, state: null, threads: 1, arguments: [], files }));
  return made;
}

module.exports = { makeRun, makeServedRun, metricsLines, CLASSES, PLANTED, PLANTED_CELL };
