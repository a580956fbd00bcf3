// tests/page/helpers.test.js — report/page/helpers.js, the pure functions of report.html, under
// Node's built-in test runner (`node --test tests/page/`, run by `make test`): the strings the page
// shows, region keys in run/region_grid.h's order, colour ramps equal to report/colormap.cpp (through
// tests/page/colormap_samples.json, which tests/report/test_report_page.cpp checks against the C++), the
// layer scales, axis ticks, rotation and picking, the fallback when a quantity is missing, the
// settings rows, the ζ difference of two runs, and that the file also runs as the page's classic script.
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const vm = require("node:vm");

const HELPERS = path.join(__dirname, "..", "..", "report", "page", "helpers.js");
const h = require(HELPERS);
const samples = JSON.parse(fs.readFileSync(path.join(__dirname, "colormap_samples.json"), "utf8"));
const SEQ = samples.stops.sequential.map(h.hexRgb), DIV = samples.stops.diverging.map(h.hexRgb);
const hexOf = (c) => "#" + c.map((v) => v.toString(16).padStart(2, "0")).join("");

// Points spread evenly over [0, 1) by the golden-ratio sequence from a seed: every run tests the same values.
function random(seed) {
  let x = (seed * 0.7548776662466927) % 1;
  return () => (x = (x + 0.6180339887498949) % 1);
}

test("fmt shows missing and non-finite values as a dash and zero as 0", () => {
  for (const v of [null, undefined, NaN, Infinity, -Infinity]) assert.equal(h.fmt(v), "–");
  assert.equal(h.fmt(0), "0");
  assert.equal(h.fmt(-0), "0");
});

test("fmt: 4 significant digits (or `digits`) without trailing zeros, exponent outside [1e-3, 1e5)", () => {
  const cases = [[3.14159, undefined, "3.142"], [3.14159, 3, "3.14"], [2.5, undefined, "2.5"], [100, undefined, "100"],
                 [0.1 + 0.2, undefined, "0.3"], [-1234.5678, undefined, "-1235"], [0.001, undefined, "0.001"],
                 [99994, undefined, "99990"], [99999, undefined, "100000"], [123456, undefined, "1.23e+5"], [-0.000123, undefined, "-1.23e-4"],
                 [0.00099, 3, "9.90e-4"], [1e5, 3, "1.00e+5"], [0.9329, 3, "0.933"], [-3.66, 3, "-3.66"]];
  for (const [v, digits, shown] of cases) assert.equal(h.fmt(v, digits), shown, "fmt(" + v + ", " + digits + ")");
});

test("fmt keeps 4 significant digits of every value in range", () => {
  const rand = random(1);
  for (let n = 0; n < 2000; ++n) {
    const v = (rand() < 0.5 ? -1 : 1) * Math.pow(10, -3 + 8 * rand());
    if (Math.abs(v) >= 1e5) continue;
    const shown = h.fmt(v);
    assert.doesNotMatch(shown, /e|\.\d*0$/, shown);
    assert.ok(Math.abs(Number(shown) - v) <= 5.0001e-4 * Math.abs(v), v + " shown as " + shown);
    assert.equal(h.fmt(Number(shown)), shown, "a shown value shows the same again");
  }
});

test("pct shows a share as a percentage with 3 significant digits", () => {
  assert.equal(h.pct(0.1234), "12.3%");
  assert.equal(h.pct(0.5), "50%");
  assert.equal(h.pct(1), "100%");
  assert.equal(h.pct(0), "0%");
  assert.equal(h.pct(0.0418), "4.18%");
  assert.equal(h.pct(null), "–");
  assert.equal(h.pct(undefined), "–");
});

test("region keys: r = (i·GW + j)·GC + k, key grid_{i+1}_{j+1}_{k+1}, parsed back to r", () => {
  for (const grid of [[8, 8, 4], [4, 4, 4], [1, 1, 10], [3, 5, 2], [1, 1, 1]]) {
    const [gh, gw, gc] = grid, count = gh * gw * gc, keys = new Set();
    for (let r = 0; r < count; ++r) {
      const [i, j, k] = h.coordsOf(grid, r);
      assert.ok(i >= 0 && i < gh && j >= 0 && j < gw && k >= 0 && k < gc, grid + " r=" + r);
      assert.equal((i * gw + j) * gc + k, r);
      const key = h.keyOf(grid, r);
      assert.equal(key, "grid_" + (i + 1) + "_" + (j + 1) + "_" + (k + 1));
      const m = /^grid_(\d+)_(\d+)_(\d+)$/.exec(key);
      assert.ok(m, key);
      assert.equal(((Number(m[1]) - 1) * gw + (Number(m[2]) - 1)) * gc + (Number(m[3]) - 1), r, "round trip of " + key);
      keys.add(key);
    }
    assert.equal(keys.size, count, "one key per region of " + grid);
  }
});

test("hexRgb reads #rrggbb back to what the C++ wrote", () => {
  assert.deepEqual(h.hexRgb("#440154"), [0x44, 0x01, 0x54]);
  for (const hex of samples.stops.sequential.concat(samples.stops.diverging)) assert.equal(hexOf(h.hexRgb(hex)), hex);
});

test("ramp: its ends are the colormap's first and last stops, clamped outside [0, 1], NaN → first", () => {
  for (const stops of [SEQ, DIV]) {
    const first = stops[0], last = stops[stops.length - 1];
    assert.deepEqual(h.ramp(stops, 0), first);
    assert.deepEqual(h.ramp(stops, 1), last);
    assert.deepEqual(h.ramp(stops, -0.5), first);
    assert.deepEqual(h.ramp(stops, 7), last);
    assert.deepEqual(h.ramp(stops, NaN), first);
    assert.deepEqual(h.ramp(stops, Infinity), last);
    assert.deepEqual(h.ramp(stops, -Infinity), first);
  }
});

test("ramp passes through every stop and stays between neighbouring stops", () => {
  const rand = random(2);
  for (const stops of [SEQ, DIV]) {
    const n = stops.length;
    for (let i = 0; i < n; ++i) assert.deepEqual(h.ramp(stops, i / (n - 1)), stops[i], "stop " + i);
    for (let s = 0; s < 500; ++s) {
      const t = rand(), i = Math.min(Math.floor(t * (n - 1)), n - 2), c = h.ramp(stops, t);
      for (let k = 0; k < 3; ++k) {
        assert.ok(Number.isInteger(c[k]));
        assert.ok(c[k] >= Math.min(stops[i][k], stops[i + 1][k]) && c[k] <= Math.max(stops[i][k], stops[i + 1][k]), "t=" + t);
      }
    }
  }
});

test("ramp equals report/colormap.cpp: sequential_color(t), and diverging_color(s) the way the page places ζ", () => {
  assert.ok(samples.sequential.length >= 10 && samples.diverging.length >= 10);
  for (const [t, hex] of samples.sequential) assert.equal(hexOf(h.ramp(SEQ, t)), hex, "sequential t=" + t);
  // the page colours ζ = v with its layer's largest |ζ| = zmax at scalePosition; zmax = 1 makes v = s
  for (const [s, hex] of samples.diverging) assert.equal(hexOf(h.ramp(DIV, h.scalePosition({ zmax: 1 }, "zeta", s))), hex, "diverging s=" + s);
});

test("css writes rgb() of a colour, darkened by a shade", () => {
  assert.equal(h.css([10, 20, 30]), "rgb(10,20,30)");
  assert.equal(h.css([100, 200, 51], 0.5), "rgb(50,100,26)");
  assert.equal(h.css([255, 255, 255], 1), "rgb(255,255,255)");
});

// Two layers over three epochs: layer 0 has density at every epoch and ζ except at the second;
// layer 1 was never measured.
const EPOCHS = [
  { layers: [{ g: { density: [0.5, -1, 2] }, z: { zeta: [1, -3, 0.5] } }, { g: null, z: null }] },
  { layers: [{ g: { density: [4, 0, 1] }, z: null }, { g: null, z: null }] },
  { layers: [{ g: { density: [3, 3, 3] }, z: { zeta: [2.5, 0, -1] } }, { g: null, z: null }] },
];

test("layerScale: density range and largest |ζ| over all epochs; nothing for a layer never measured", () => {
  assert.deepEqual(h.layerScale(EPOCHS, 0), { lo: -1, hi: 4, zmax: 3 });
  assert.deepEqual(h.layerScale(EPOCHS, 1), { lo: Infinity, hi: -Infinity, zmax: 0 });
  assert.deepEqual(h.layerScale([], 0), { lo: Infinity, hi: -Infinity, zmax: 0 });
});

test("scalePosition and magnitude place values on their layer's scale", () => {
  const s = h.layerScale(EPOCHS, 0);
  assert.equal(h.scalePosition(s, "density", -1), 0);
  assert.equal(h.scalePosition(s, "density", 4), 1);
  assert.equal(h.scalePosition(s, "density", 1.5), 0.5);
  assert.equal(h.scalePosition(s, "zeta", -3), 0);
  assert.equal(h.scalePosition(s, "zeta", 0), 0.5);
  assert.equal(h.scalePosition(s, "zeta", 3), 1);
  assert.equal(h.magnitude(s, "zeta", -3), 1);
  assert.equal(h.magnitude(s, "zeta", 1.5), 0.5);
  assert.equal(h.magnitude(s, "zeta", 0), 0);
  assert.equal(h.magnitude(s, "density", 4), 1);
  for (const v of [-3, -1, 0, 0.5, 2, 3]) assert.equal(h.magnitude(s, "zeta", v), h.magnitude(s, "zeta", -v), "|ζ| is symmetric");
  const flat = { lo: 2, hi: 2, zmax: 0 }, never = h.layerScale(EPOCHS, 1);
  for (const scale of [flat, never]) {
    assert.equal(h.scalePosition(scale, "density", 2), 0.5);
    assert.equal(h.scalePosition(scale, "zeta", 2), 0.5);
    assert.equal(h.magnitude(scale, "zeta", 2), 0);
  }
});

test("ticks: increasing by one step of 1, 2 or 5 × 10^k, inside and covering [lo, hi]", () => {
  const rand = random(3), ranges = [[0, 1], [-1, 1], [0.3, 0.7], [-0.3, 0.7], [2.05, 2.3], [0, 1e-6], [-5e4, 1e6], [0.9, 1.1], [-7, -3]];
  for (let n = 0; n < 1000; ++n) {
    const lo = (rand() - 0.5) * Math.pow(10, 6 * rand() - 2);
    ranges.push([lo, lo + Math.pow(10, 8 * rand() - 4)]);
  }
  for (const [lo, hi] of ranges) {
    const t = h.ticks(lo, hi), what = "ticks(" + lo + ", " + hi + ") = " + t;
    assert.ok(t.length >= 2 && t.length <= 8, what);
    const step = t[1] - t[0], mantissa = step / Math.pow(10, Math.floor(Math.log10(step) + 1e-9));
    assert.ok([1, 2, 5, 10].some((m) => Math.abs(mantissa - m) < 1e-6), what + ": step " + step);
    for (let i = 1; i < t.length; ++i) assert.ok(Math.abs(t[i] - t[i - 1] - step) <= 1e-9 * step, what + ": uneven");
    assert.ok(t[0] >= lo - 1e-9 * step && t[t.length - 1] <= hi + 1e-9 * step, what + ": outside");
    assert.ok(t[0] - lo < step && hi - t[t.length - 1] < step * (1 + 1e-9), what + ": does not cover");
    if (lo <= 0 && hi >= 0) assert.ok(t.some((v) => Object.is(v, 0)), what + ": no tick at exactly 0");
  }
});

test("ticks of the ζ-stability panel and their labels", () => {
  assert.deepEqual(h.ticks(-1, 1), [-1, -0.5, 0, 0.5, 1]);
  assert.deepEqual(h.ticks(-0.3, 0.7).map((v) => h.fmt(v, 3)), ["-0.2", "0", "0.2", "0.4", "0.6"]);
});

test("epochTicks labels every epoch that fits, else the multiples of a 1-2-5 step", () => {
  assert.deepEqual(h.epochTicks(1, 10), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.deepEqual(h.epochTicks(3, 3), [3]);
  assert.deepEqual(h.epochTicks(1, 100).slice(0, 3), [5, 10, 15]);
  assert.deepEqual(h.epochTicks(1, 1000000, 12), [100000, 200000, 300000, 400000, 500000, 600000, 700000, 800000, 900000, 1000000]);
  assert.deepEqual(h.epochTicks(101, 104, 1), [101]);  // no multiple of the step in range: the first epoch
  const steps = [];
  for (let d = 1; d <= 1e7; d *= 10) steps.push(d, 2 * d, 5 * d);
  for (const most of [1, 3, 7, 20])
    for (let first = 0; first <= 2; ++first)
      for (let last = first; last < first + 500; last += 7) {
        const t = h.epochTicks(first, last, most), every = t.length > 1 ? t[1] - t[0] : 1;
        assert.ok(t.length >= 1 && t.length <= most && t[0] >= first && t[t.length - 1] <= last, most + ": " + first + ".." + last);
        assert.ok(steps.includes(every) && (t.length === 1 || t.every((e) => e % every === 0)), most + ": " + first + ".." + last + ": " + t);
        for (let i = 1; i < t.length; ++i) assert.equal(t[i] - t[i - 1], every);
      }
});

test("rotate keeps lengths, is the identity at yaw = pitch = 0, yaw keeps y and pitch keeps x", () => {
  const rand = random(4), close = (a, b) => a.every((v, i) => Math.abs(v - b[i]) < 1e-12);
  for (let n = 0; n < 200; ++n) {
    const p = [rand() - 0.5, rand() - 0.5, rand() - 0.5].map((v) => 10 * v), yaw = 7 * rand() - 3.5, pitch = 3 * rand() - 1.5;
    assert.ok(Math.abs(Math.hypot(...h.rotate(p, yaw, pitch)) - Math.hypot(...p)) < 1e-12);
    assert.ok(close(h.rotate(p, 0, 0), p));
    assert.ok(Math.abs(h.rotate(p, yaw, 0)[1] - p[1]) < 1e-12);
    assert.ok(Math.abs(h.rotate(p, 0, pitch)[0] - p[0]) < 1e-12);
  }
  assert.ok(close(h.rotate([1, 0, 0], Math.PI / 2, 0), [0, 0, -1]));
});

test("insidePolygon and pickFace find the face drawn last under a point", () => {
  const square = [[0, 0], [2, 0], [2, 2], [0, 2]], shifted = [[1, 1], [3, 1], [3, 3], [1, 3]];
  const ell = [[0, 0], [3, 0], [3, 1], [1, 1], [1, 3], [0, 3]];  // an L: (2, 2) is in its notch
  assert.ok(h.insidePolygon(square, 1, 1));
  assert.ok(!h.insidePolygon(square, 3, 1));
  assert.ok(!h.insidePolygon(square, 1, -0.1));
  assert.ok(h.insidePolygon(ell, 0.5, 2.5) && h.insidePolygon(ell, 2.5, 0.5));
  assert.ok(!h.insidePolygon(ell, 2, 2));
  const faces = [{ r: 7, pts: square }, { r: 9, pts: shifted }];
  assert.equal(h.pickFace(faces, 1.5, 1.5), 9);
  assert.equal(h.pickFace(faces, 0.5, 0.5), 7);
  assert.equal(h.pickFace(faces, 2.5, 2.5), 9);
  assert.equal(h.pickFace(faces, 5, 5), null);
  assert.equal(h.pickFace([], 0, 0), null);
});

test("modeOf shows the wanted quantity, else the other one with a note, else nothing", () => {
  const both = { g: {}, z: {} }, densityOnly = { g: {}, z: null }, zetaOnly = { g: null, z: {} }, none = { g: null, z: null };
  assert.deepEqual(h.modeOf(both, "zeta"), { kind: "zeta", note: "" });
  assert.deepEqual(h.modeOf(both, "density"), { kind: "density", note: "" });
  assert.deepEqual(h.modeOf(densityOnly, "zeta"), { kind: "density", note: "no ζ at this epoch: showing density" });
  assert.deepEqual(h.modeOf(zetaOnly, "density"), { kind: "zeta", note: "no density at this epoch: showing ζ" });
  assert.deepEqual(h.modeOf(none, "zeta"), { kind: null, note: "not measured at this epoch" });
});

test("settingsRows flattens config.json to dotted keys, then the definitions", () => {
  const config = { model: "reference", optimizer: { kind: "sgd", lr: 0.02 }, epochs: 2, seed: null,
                   data: { classes: ["<b>cat</b>", "dog"], files: [{ path: "/x", sha256: "00" }] }, empty: [] };
  assert.deepEqual(h.settingsRows(config, { role: "band of the depth" }), [
    ["model", "reference"], ["optimizer.kind", "sgd"], ["optimizer.lr", "0.02"], ["epochs", "2"], ["seed", "null"],
    ["data.classes", "<b>cat</b>, dog"], ["data.files.0.path", "/x"], ["data.files.0.sha256", "00"], ["empty", ""],
    ["definition.role", "band of the depth"]]);
  assert.deepEqual(h.settingsRows(null, undefined), [["config.json", "missing"]]);
});

test("settingsDifference lists the settings compared runs differ in, and those a run lacks", () => {
  const a = h.settingsRows({ model: "reference", epochs: 6, schedule: { kind: "cosine", warmup: 1 }, seed: 1 }, { role: "r" });
  const b = h.settingsRows({ model: "reference", epochs: 4, schedule: { kind: "onecycle" }, seed: 1, resumed: true }, { role: "r" });
  assert.deepEqual(h.settingsDifference([a, b]), [["epochs", "6", "4"], ["schedule.kind", "cosine", "onecycle"],
                                                  ["schedule.warmup", "1", "–"], ["resumed", "–", "true"]]);
  assert.deepEqual(h.settingsDifference([a, a]), []);
  // a value that reads alike but is another string ("1" against "1.0") is a difference
  assert.deepEqual(h.settingsDifference([[["lr", "1"]], [["lr", "1.0"]]]), [["lr", "1", "1.0"]]);
  // three runs: a key is listed when any run differs from the others or lacks it, with every run's value;
  // the first two alike and the third different is a difference, all three alike is not
  const c = h.settingsRows({ model: "reference", epochs: 6, schedule: { kind: "cosine", warmup: 1 }, seed: 2 }, { role: "r" });
  assert.deepEqual(h.settingsDifference([a, a, c]), [["seed", "1", "1", "2"]]);
  assert.deepEqual(h.settingsDifference([a, b, c]), [["epochs", "6", "4", "6"], ["schedule.kind", "cosine", "onecycle", "cosine"],
                                                     ["schedule.warmup", "1", "–", "1"], ["seed", "1", "1", "2"], ["resumed", "–", "true", "–"]]);
  // a key the first run lacks but every other has alike is still a difference (the first lacks it)
  assert.deepEqual(h.settingsDifference([[], [["x", "1"]], [["x", "1"]]]), [["x", "–", "1", "1"]]);
});

test("helpers.js also runs as the page's classic script: no module, document or window needed", () => {
  const source = fs.readFileSync(HELPERS, "utf8");
  const page = {};
  vm.runInNewContext(source, page, { filename: HELPERS });
  for (const name of Object.keys(h)) assert.equal(typeof page[name], "function", name + " is a global of the page");
  assert.equal(page.fmt(0.1 + 0.2), "0.3");
  const code = source.replace(/\/\/.*$/gm, "");  // without its comments
  assert.doesNotMatch(code, /\b(document|window|require|state)\b/);
});

test("channelRange uses the grid's own cut, and regionLabel names classes and channel blocks", () => {
  assert.deepEqual([0, 1, 2, 3].map((k) => h.channelRange(10, 4, k)), [[0, 2], [2, 5], [5, 7], [7, 10]]);
  const classes = ["cat", "dog", "ship"];
  assert.equal(h.regionLabel([1, 1, 3], [1, 1, 3], 1, classes, true), "dog");
  assert.equal(h.regionLabel([1, 1, 3], [1, 1, 3], 1, classes, false), "channel 2");
  assert.equal(h.regionLabel([1, 1, 4], [1, 1, 256], 2, classes, true), "channels 129–192");  // names do not fit: channels
  assert.equal(h.regionLabel([2, 2, 4], [8, 8, 16], 0, classes, true), "");                     // a spatial grid: the key says it
});

test("mapLayout puts one tile per channel block and every region's cell where pickCell finds it", () => {
  for (const grid of [[8, 8, 4], [4, 4, 4], [3, 5, 2], [2, 2, 7]]) {
    const lay = h.mapLayout(grid, 300, 240);
    const count = grid[0] * grid[1] * grid[2];
    assert.equal(lay.kind, "tiles");
    assert.equal(lay.tiles.length, grid[2]);
    assert.equal(lay.cells.length, count);
    for (const c of lay.cells) {
      assert.equal(h.pickCell(lay.cells, c.x + c.w / 2, c.y + c.h / 2), c.r);
      assert.ok(c.x >= 0 && c.y >= 0 && c.x + c.w <= 300 && c.y + c.h <= 240, JSON.stringify([grid, c]));
      const [i, j, k] = h.coordsOf(grid, c.r), t = lay.tiles[k];
      assert.equal(c.x, t.x + j * lay.cell);  // columns across, rows down, inside the region's channel tile
      assert.equal(c.y, t.y + i * lay.cell);
    }
  }
  const list = h.mapLayout([1, 1, 10], 300, 240);
  assert.equal(list.kind, "list");
  assert.equal(list.tiles.length, 0);
  assert.deepEqual(list.cells.map((c) => c.r), [...Array(10).keys()]);
  assert.ok(list.cells.every((c, r) => r === 0 || c.y > list.cells[r - 1].y));
  assert.equal(h.mapLayout([1, 1, 100], 300, 240).kind, "squares");
  assert.equal(h.pickCell(list.cells, -5, -5), null);
});

test("imageRGBA reads (C, H, W) pixels, and zetaOnImage lays the grid over the image proportionally", () => {
  const rgb = h.imageRGBA([1, 2, 3, 4, 10, 20, 30, 40, 100, 200, 250, 255], [3, 2, 2]);
  assert.deepEqual(Array.from(rgb), [1, 10, 100, 255, 2, 20, 200, 255, 3, 30, 250, 255, 4, 40, 255, 255]);
  assert.deepEqual(Array.from(h.imageRGBA([7, 9], [1, 1, 2])), [7, 7, 7, 255, 9, 9, 9, 255]);
  // grid 2×2×2 over a 3×4 image: row blocks [0,1) [1,3), column blocks [0,2) [2,4); ζ mean over k
  const zeta = [1, 3, 5, 7, -2, 0, 10, 20];  // r = (i·2 + j)·2 + k
  const map = Array.from(h.zetaOnImage([2, 2, 2], zeta, 3, 4));
  assert.deepEqual(map, [2, 2, 6, 6, -1, -1, 15, 15, -1, -1, 15, 15]);
});

test("confusionCounts counts each (true, predicted) pair and sizes the matrix to the classes", () => {
  const m = h.confusionCounts([0, 1, 1, 2, 2, 2], [0, 1, 2, 2, 0, 2], 4);
  assert.equal(m.length, 4);
  assert.deepEqual(m[2], [1, 0, 2, 0]);
  assert.deepEqual(m[1], [0, 1, 1, 0]);
  assert.equal(m.flat().reduce((a, b) => a + b, 0), 6);
  assert.equal(h.confusionCounts([5], [0], 2).length, 6);  // a label beyond the named classes widens it
});

test("bytesOf decodes base64 (RFC 4648's vectors and every byte value)", () => {
  const text = (b) => String.fromCharCode(...b);
  assert.equal(text(h.bytesOf("Zm9vYmFy")), "foobar");
  assert.equal(text(h.bytesOf("Zm9vYg==")), "foob");
  assert.equal(text(h.bytesOf("Zg==")), "f");
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  assert.deepEqual(Array.from(h.bytesOf(Buffer.from(all).toString("base64"))), Array.from(all));
});

test("errorRegionsLine lists a layer's regions of a pick, or says why there are none", () => {
  const text = (r) => "grid_1_1_" + (r + 1);
  assert.equal(h.errorRegionsLine("conv1", { images: 4, regions: [2, 0], phi: [-0.1465, -0.0623] }, "cat → dog", 60, text),
               "conv1 (4 images): grid_1_1_3 (φ -0.1465), grid_1_1_1 (φ -0.0623)");
  // a class (or cell) with no image among those the layer's estimate covers: said, not an empty line
  assert.equal(h.errorRegionsLine("conv1", undefined, "cat", 60, text), "conv1: no image of cat among the 60 images its estimate covers");
  assert.equal(h.errorRegionsLine("pool1", undefined, "cat → dog", null, text), "pool1: no image of cat → dog among the images its estimate covers");
  // a cell whose regions all have φ ≥ 0 (report.cpp lists only φ < 0)
  assert.equal(h.errorRegionsLine("output", { images: 3, regions: [], phi: [] }, "cat → dog", 60, text), "output (3 images): no region with negative φ");
});

// A run never analysed with --errors: not "No error maps at this epoch." (the epoch's line in place of the
// run's), nor "No error maps in this run (run nnfmri analyze --errors)", which names neither the checkpoint,
// the data nor where the output goes, but: not run, and the one command for this epoch.
test("noErrorsHint says the error analysis was not run and gives the one command that adds it", () => {
  const config = { data: { spec: "cifar10:/data/cifar 10" }, analysis: { grid: [8, 8, 4], eval_samples: 1000, zeta: { method: "shapley" } } };
  const none = h.noErrorsHint(false, { run: "main", epoch: 6, analysisDir: false, ...config });
  assert.equal(none.text, "The error analysis was not run for this run: there is no confusion matrix and no error map. To add it for epoch 6, run");
  assert.equal(none.command, "nnfmri analyze main/checkpoints/epoch_006.ckpt --data 'cifar10:/data/cifar 10' --grid 8x8x4 --eval-samples 1000 --errors --out main/analysis/epoch_006");
  assert.equal(none.after, "then nnfmri report main again (from the folder that holds main).");
  const other = h.noErrorsHint(true, { run: "main", epoch: 2, ...config });
  assert.equal(other.text, "The error analysis was not run at this epoch (epoch 2; other epochs have it). To add it for epoch 2, run");
  assert.equal(other.command, "nnfmri analyze main/checkpoints/epoch_002.ckpt --data 'cifar10:/data/cifar 10' --grid 8x8x4 --eval-samples 1000 --errors --out main/analysis/epoch_002");
  // --errors needs shapley or exact: a run imaged with lesion ζ gets --zeta-method shapley
  const lesion = h.noErrorsHint(false, { run: "r", epoch: 1, data: { spec: "planted" }, analysis: { zeta: { method: "lesion" } } });
  assert.equal(lesion.command, "nnfmri analyze r/checkpoints/epoch_001.ckpt --data planted --zeta-method shapley --errors --out r/analysis/epoch_001");
  // an analyze output directory: its checkpoint is not known, the output is the folder itself
  const dir = h.noErrorsHint(false, { run: "ana", epoch: 3, analysisDir: true, data: null, analysis: null });
  assert.equal(dir.text, "The error analysis was not run for this checkpoint: there is no confusion matrix and no error map. To add it (CKPT: the checkpoint this folder was analysed from), run");
  assert.equal(dir.command, "nnfmri analyze CKPT --data SPEC --errors --out ana");
  // its files record the checkpoint (analyze since 2026-12-07): an absolute path goes into the command,
  // a relative one (relative to where analyze ran) is named in the sentence beside CKPT
  const abs = h.noErrorsHint(false, { run: "ana", epoch: 3, analysisDir: true, checkpoint: "/runs/main 1/model.ckpt", data: null });
  assert.equal(abs.text, "The error analysis was not run for this checkpoint: there is no confusion matrix and no error map. To add it, run");
  assert.equal(abs.command, "nnfmri analyze '/runs/main 1/model.ckpt' --data SPEC --errors --out ana");
  const rel = h.noErrorsHint(false, { run: "ana", epoch: 3, analysisDir: true, checkpoint: "main/model.ckpt", data: null });
  assert.equal(rel.text, "The error analysis was not run for this checkpoint: there is no confusion matrix and no error map. To add it (CKPT: the checkpoint this folder was analysed from, given to analyze as main/model.ckpt), run");
  assert.equal(rel.command, "nnfmri analyze CKPT --data SPEC --errors --out ana");
  // a run's epoch ignores a checkpoint field: its own checkpoints/ file
  assert.equal(h.noErrorsHint(false, { run: "r", epoch: 1, checkpoint: "/x.ckpt", data: { spec: "planted" } }).command,
               "nnfmri analyze r/checkpoints/epoch_001.ckpt --data planted --errors --out r/analysis/epoch_001");
});

// The spec as typed is relative to where train ran ("cifar10:../shared/…" in make run), not to the folder that
// holds the run, where the hint says to run the command (given the typed spec, the command would read
// ../shared from runs/: no such folder). config.json's data.absolute_spec is the one to give.
test("noErrorsHint gives the data's absolute spec when config.json has it, the typed one otherwise", () => {
  const hint = (data) => h.noErrorsHint(false, { run: "main", epoch: 6, data, analysis: {} }).command;
  assert.equal(hint({ spec: "cifar10:../shared/c", absolute_spec: "cifar10:/work/shared/c" }),
               "nnfmri analyze main/checkpoints/epoch_006.ckpt --data cifar10:/work/shared/c --errors --out main/analysis/epoch_006");
  assert.equal(hint({ spec: "cifar10:../shared/c" }),
               "nnfmri analyze main/checkpoints/epoch_006.ckpt --data cifar10:../shared/c --errors --out main/analysis/epoch_006");
  // an analyze output directory: the page passes its files' data (meta.data), and no analysis settings
  assert.equal(h.noErrorsHint(false, { run: "ana", epoch: 3, analysisDir: true, data: { spec: "planted:2", absolute_spec: "planted:2" }, analysis: null }).command,
               "nnfmri analyze CKPT --data planted:2 --errors --out ana");
  assert.equal(hint({ spec: "images:my pics", absolute_spec: "images:/home/u/my pics" }),
               "nnfmri analyze main/checkpoints/epoch_006.ckpt --data 'images:/home/u/my pics' --errors --out main/analysis/epoch_006");
});

test("exampleCaption states the overlay's scale, or that the layer's estimate covers none or only some of the images", () => {
  assert.equal(h.exampleCaption(null, 0, 3, 0), "no spatial layer with per-image φ: images without overlay");
  // none covered: said, not "scale ±0 per pixel"
  assert.equal(h.exampleCaption("conv1", 0, 3, 0), "conv1: its estimate covers none of these images (a --zeta-budget cut to the sample's first images): no overlay");
  const all = h.exampleCaption("conv1", 3, 3, 0.0455);
  assert.ok(all.startsWith("conv1: each image's own φ of the layer") && all.endsWith("scale ±0.0455 per pixel"), all);
  assert.ok(h.exampleCaption("conv1", 1, 3, 0.0455).endsWith("scale ±0.0455 per pixel; 2 of the 3 images not covered by its estimate: no overlay"));
});

test("cellExamples picks one cell's examples, worst first, capped", () => {
  const ex = [{ label: 1, predicted: 2, p_true: 0.3 }, { label: 2, predicted: 1, p_true: 0.01 }, { label: 1, predicted: 2, p_true: 0.1 },
              { label: 1, predicted: 0, p_true: 0.05 }, { label: 1, predicted: 2, p_true: 0.1 }, { label: 1, predicted: 2, p_true: 0.2 }];
  assert.deepEqual(h.cellExamples(ex, 1, 2, 4), [2, 4, 5, 0]);  // ties by position
  assert.deepEqual(h.cellExamples(ex, 1, 2, 2), [2, 4]);
  assert.deepEqual(h.cellExamples(ex, 2, 1, 4), [1]);             // not the transposed cell's images
  assert.deepEqual(h.cellExamples(ex, 0, 1, 4), []);
});

test("projectCells spreads each cell's sum evenly over its receptive field and keeps the total", () => {
  // 2×2 cells on a 3×4 image, overlapping fields: rows [0,2) [1,3), columns [0,3) [1,4)
  const cells = [6, 12, -6, 3];
  const map = Array.from(h.projectCells(cells, [[0, 2], [1, 3]], [[0, 3], [1, 4]], 3, 4));
  // by hand: cell (0,0) adds 1 on rows 0–1 × cols 0–2; (0,1) adds 2 on rows 0–1 × cols 1–3;
  // (1,0) adds −1 on rows 1–2 × cols 0–2; (1,1) adds 0.5 on rows 1–2 × cols 1–3
  assert.deepEqual(map, [1, 3, 3, 2,
                         0, 2.5, 2.5, 2.5,
                         -1, -0.5, -0.5, 0.5]);
  assert.ok(Math.abs(map.reduce((a, b) => a + b, 0) - cells.reduce((a, b) => a + b, 0)) < 1e-12);
});

test("zetaDifference is ζ(A) − ζ(B) per region, 0 for a copy, and null when the layers do not compare", () => {
  const layer = (grid, zeta) => ({ grid, z: zeta ? { zeta } : null });
  const d = h.zetaDifference(layer([1, 1, 3], [1, -2, 0.5]), layer([1, 1, 3], [0, 1, 0.5]));
  assert.deepEqual(d.values, [1, -3, 0]);
  assert.equal(d.max, 3);
  assert.ok(Math.abs(d.meanAbs - 4 / 3) < 1e-12);
  const same = h.zetaDifference(layer([2, 1, 1], [0.3, -0.7]), layer([2, 1, 1], [0.3, -0.7]));
  assert.deepEqual(same.values, [0, 0]);
  assert.equal(same.max, 0);
  assert.equal(same.meanAbs, 0);
  assert.equal(h.zetaDifference(layer([1, 1, 3], [1, 2, 3]), layer([3, 1, 1], [1, 2, 3])), null);  // another grid
  assert.equal(h.zetaDifference(layer([1, 1, 2], [1, 2]), layer([1, 1, 2], null)), null);          // no ζ in B
  assert.equal(h.zetaDifference(null, layer([1, 1, 2], [1, 2])), null);
  // apart: the regions whose two 95% intervals do not overlap, either way round; touching intervals,
  // overlapping ones and a missing bound (null, as JSON writes a NaN) are not apart
  const withCI = (zeta, lo, hi) => ({ grid: [1, 1, zeta.length], z: { zeta, lo, hi } });
  const A = withCI([2, -2, 1, 0, 1, 1], [1.5, -2.5, 0.2, -0.5, 0.5, null], [2.5, -1.5, 1.8, 0.5, 1.5, 1.5]);
  const B = withCI([0, 0, 1, 0, 3, 3], [-0.5, -0.5, 0.0, -1.0, 1.5, 2.0], [0.5, 0.5, 2.0, 0.5, 4.0, 4.0]);
  assert.deepEqual(h.zetaDifference(A, B).apart, [0, 1]);  // 0: A above B; 1: B above A; 4: touching at 1.5; 5: A's lo missing
  assert.deepEqual(h.zetaDifference(B, A).apart, [0, 1]);  // symmetric
  assert.deepEqual(h.zetaDifference(A, A).apart, []);      // a copy: nothing apart
  assert.deepEqual(d.apart, []);                          // no intervals at all: nothing apart
});

test("laneScaled: each lane by its own min and max, a constant lane at 0.5, missing values stay null", () => {
  assert.deepEqual(h.laneScaled([2, 4, 3]), [0, 1, 0.5]);
  assert.deepEqual(h.laneScaled([7, 7]), [0.5, 0.5]);
  assert.deepEqual(h.laneScaled([null, 1, NaN, 3]), [null, 0, null, 1]);
  assert.deepEqual(h.laneScaled([]), []);
});

test("bandBars: the five band bars fill their box in a narrow and a wide cell", () => {
  for (const cell of [40, 170, 455, 1300]) {
    const { box, barW } = h.bandBars(cell);
    assert.equal(box, cell * 0.45);
    assert.ok(Math.abs(4 + 5 * barW - box) < 1e-9, cell + ": bars of " + barW + " px in a box of " + box);
  }
});

test("eegEpochIndex: the same epoch, else the last one before it, else -1", () => {
  const epochs = [{ epoch: 1 }, { epoch: 2 }, { epoch: 4 }];
  assert.equal(h.eegEpochIndex(epochs, 2), 1);
  assert.equal(h.eegEpochIndex(epochs, 3), 1);
  assert.equal(h.eegEpochIndex(epochs, 9), 2);
  assert.equal(h.eegEpochIndex(epochs, 0), -1);
  assert.equal(h.eegEpochIndex([], 1), -1);
});

test("termCells: value, CI, null median and range, items; a dash for what is undefined", () => {
  assert.deepEqual(h.termCells({ value: 0.07338, ci: [-0.1224, 0.2499], null_shuffled: { median: -0.02006, range: [-0.144, 0.1486] }, items: 1358 }),
                   ["0.0734", "[-0.122, 0.25]", "-0.0201 [-0.144, 0.149]", "1358"]);
  assert.deepEqual(h.termCells({ value: null, ci: null, null_shuffled: null, items: 0 }), ["–", "–", "–", "0"]);
  assert.deepEqual(h.termCells(undefined), ["–", "–", "–", "0"]);
});

test("wrapRows: every row fits its room, entries in order, a too-wide entry alone", () => {
  const widths = [60, 80, 45, 120, 70, 300, 50];
  const rows = h.wrapRows(widths, 200);
  assert.deepEqual(rows.flat(), widths.map((_, i) => i));
  for (const row of rows) {
    const used = row.reduce((sum, i) => sum + widths[i], 0);
    assert.ok(row.length === 1 || used <= 200, JSON.stringify(row) + " takes " + used);
  }
  assert.deepEqual(rows, [[0, 1, 2], [3, 4], [5], [6]]);
  assert.deepEqual(h.wrapRows([], 100), []);
});

// resnet20's first unit: conv1 → conv2 → conv3 → res1, with the shortcut conv1 → res1 (README *Residual networks*).
test("pathwayHeader: no two labels of a line overlap; a shortcut's strength is marked skip on a line of its own", () => {
  const names = ["conv1", "conv2", "conv3", "res1", "conv4", "conv5", "res2"];
  const pairs = [{ from: 0, to: 1, strength: 2.49 }, { from: 1, to: 2, strength: 4.97 }, { from: 2, to: 3, strength: 0.327 },
                 { from: 0, to: 3, strength: 0.32, shortcut: true }, { from: 3, to: 4, strength: 2.98 }, { from: 4, to: 5, strength: 5.18 },
                 { from: 5, to: 6, strength: 0.352 }, { from: 3, to: 6, strength: 0.526, shortcut: true }, { from: 6, to: 7, strength: null }];
  const widthOf = (text) => 7 * text.length;
  for (const column of [120, 41, 30, 11]) {
    const { lines, labels, omitted } = h.pathwayHeader(names, pairs, column, widthOf);
    for (let line = 0; line < lines; ++line) {
      const spans = labels.filter((b) => b.line === line).map((b) => [b.x - widthOf(b.text) / 2, b.x + widthOf(b.text) / 2, b.text])
        .sort((a, b) => a[0] - b[0]);
      for (let i = 1; i < spans.length; ++i)
        assert.ok(spans[i - 1][1] <= spans[i][0], "column " + column + ", line " + line + ": " + spans[i - 1][2] + " overlaps " + spans[i][2]);
      // labels of different kinds never share a line
      assert.equal(new Set(labels.filter((b) => b.line === line).map((b) => b.kind)).size, 1, "line " + line);
    }
    for (const b of labels)
      assert.ok(b.x - widthOf(b.text) / 2 >= 0 && b.x + widthOf(b.text) / 2 <= names.length * column, "column " + column + ": " + b.text + " leaves the view");
    if (column >= 41) {  // room for every label
      assert.equal(omitted, 0, "column " + column);
      assert.deepEqual(labels.filter((b) => b.kind === "skip").map((b) => b.text), ["skip 0.32", "skip 0.526"]);
      assert.equal(labels.filter((b) => b.kind === "strength").length, 6);  // the pair without a strength has no label
      assert.equal(labels.filter((b) => b.kind === "name").length, names.length);
    } else {  // too narrow: some labels left out, the first of each kind kept
      assert.ok(omitted > 0 && labels.length + omitted === 7 + 6 + 2, "column " + column + ": " + labels.length + " + " + omitted);
      for (const kind of ["name", "strength", "skip"]) assert.ok(labels.some((b) => b.kind === kind), kind);
    }
    assert.equal(lines, (column >= 41 ? 1 : 2) + 2, "column " + column);  // names staggered when wider than a column (35 > 30 − 4)
  }
  // a plain net: one line of names, one of strengths
  assert.equal(h.pathwayHeader(["a", "b"], [{ from: 0, to: 1, strength: 1 }], 100, widthOf).lines, 2);
  assert.equal(h.pathwayHeader(["a", "b"], [], 100, widthOf).lines, 1);
});

test("bandLabelIndices: the band letters written under the bars never overlap", () => {
  const letterW = 7;
  for (const barW of [1, 2, 2.4, 3, 5, 8, 9, 20, 80]) {
    const shown = h.bandLabelIndices(barW, letterW);
    for (let i = 1; i < shown.length; ++i)
      assert.ok((shown[i] - shown[i - 1]) * barW >= letterW + 2, "bars of " + barW + ": letters " + shown[i - 1] + " and " + shown[i] + " overlap");
    if (barW >= letterW + 2) assert.deepEqual(shown, [0, 1, 2, 3, 4]);
  }
  assert.deepEqual(h.bandLabelIndices(3, 7), [0, 4]);  // a phone's page: δ and γ at the ends
  assert.deepEqual(h.bandLabelIndices(2, 7), []);
});

// Coloured by l mod 10 alone, the ζ stability chart would draw resnet20's 30 layers as 10 lines, three
// layers to each. Colour and dash pattern together tell 40 layers apart.
test("layerStyle gives 40 layers 40 different lines, and repeats after", () => {
  const key = (l) => { const s = h.layerStyle(l); return s.colour + "/" + s.dash.join(","); };
  const seen = new Set();
  for (let l = 0; l < 40; ++l) seen.add(key(l));
  assert.equal(seen.size, 40);
  assert.notEqual(key(0), key(10));
  assert.equal(h.layerStyle(0).colour, h.layerStyle(10).colour);  // same colour, another pattern
  assert.deepEqual(h.layerStyle(0).dash, []);                      // the first ten solid
  assert.equal(key(40), key(0));
});

// In one row the pathway view would give resnet20's 30 layers columns of 41 px at 1,248 px, tiles of
// 2 px; instead columns of at least 110 px, the layers wrapped into even bands.
test("pathwayBands wraps the layers into even bands of columns at least the minimum wide", () => {
  assert.deepEqual(h.pathwayBands(30, 1248), { perBand: 10, bands: 3, column: 124.8 });
  assert.deepEqual(h.pathwayBands(8, 1248), { perBand: 8, bands: 1, column: 156 });  // reference: one row, as before
  const phone = h.pathwayBands(8, 390);
  assert.equal(phone.bands, 3);
  assert.equal(phone.perBand, 3);
  for (const [L, w] of [[1, 50], [30, 400], [32, 1400], [160, 1248], [7, 770]]) {
    const b = h.pathwayBands(L, w);
    assert.ok(b.perBand * b.bands >= L && (b.bands - 1) * b.perBand < L, JSON.stringify([L, w, b]));
    assert.ok(b.column >= Math.min(w, 110), JSON.stringify([L, w, b]));
  }
});

test("regionStep: arrows move a row or column block within the tile, Page Up/Down a channel block, a list steps", () => {
  const grid = [8, 8, 4];
  const r = (i, j, k) => (i * 8 + j) * 4 + k;
  assert.equal(h.regionStep(grid, r(2, 3, 1), "ArrowRight"), r(2, 4, 1));
  assert.equal(h.regionStep(grid, r(2, 3, 1), "ArrowLeft"), r(2, 2, 1));
  assert.equal(h.regionStep(grid, r(2, 3, 1), "ArrowDown"), r(3, 3, 1));
  assert.equal(h.regionStep(grid, r(2, 3, 1), "ArrowUp"), r(1, 3, 1));
  assert.equal(h.regionStep(grid, r(2, 3, 1), "PageDown"), r(2, 3, 2));
  assert.equal(h.regionStep(grid, r(2, 3, 1), "PageUp"), r(2, 3, 0));
  // at the tile's edges it stays (never into the next channel block's tile)
  assert.equal(h.regionStep(grid, r(2, 7, 1), "ArrowRight"), r(2, 7, 1));
  assert.equal(h.regionStep(grid, r(0, 3, 1), "ArrowUp"), r(0, 3, 1));
  assert.equal(h.regionStep(grid, r(2, 3, 3), "PageDown"), r(2, 3, 3));
  assert.equal(h.regionStep(grid, r(2, 3, 1), "Home"), 0);
  assert.equal(h.regionStep(grid, r(2, 3, 1), "End"), 255);
  assert.equal(h.regionStep(grid, 5, "a"), null);
  // a dense layer's list (the output's classes): every arrow steps, clamped at the ends
  assert.equal(h.regionStep([1, 1, 10], 4, "ArrowDown"), 5);
  assert.equal(h.regionStep([1, 1, 10], 4, "ArrowUp"), 3);
  assert.equal(h.regionStep([1, 1, 10], 9, "ArrowRight"), 9);
  assert.equal(h.regionStep([1, 1, 10], 0, "ArrowLeft"), 0);
  // every step stays inside the grid
  for (const g of [[1, 1, 1], [2, 3, 5], [4, 4, 1]])
    for (let x = 0; x < g[0] * g[1] * g[2]; ++x)
      for (const key of ["ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight", "PageUp", "PageDown", "Home", "End"]) {
        const y = h.regionStep(g, x, key);
        assert.ok(Number.isInteger(y) && y >= 0 && y < g[0] * g[1] * g[2], JSON.stringify([g, x, key, y]));
      }
});

test("viewStep: arrows turn the 3-D views by a fixed step as a drag does, + and - zoom within the wheel's limits", () => {
  const at = { yaw: -0.6, pitch: 0.5, zoom: 1 }, s = Math.PI / 12;  // 15°
  assert.deepEqual(h.viewStep(at, "ArrowRight"), { yaw: -0.6 + s, pitch: 0.5, zoom: 1 });  // a drag to the right: yaw grows
  assert.deepEqual(h.viewStep(at, "ArrowLeft"), { yaw: -0.6 - s, pitch: 0.5, zoom: 1 });
  assert.deepEqual(h.viewStep(at, "ArrowUp"), { yaw: -0.6, pitch: 0.5 - s, zoom: 1 });    // a drag up: pitch falls
  assert.deepEqual(h.viewStep(at, "ArrowDown"), { yaw: -0.6, pitch: 0.5 + s, zoom: 1 });
  assert.equal(h.viewStep(at, "+").zoom, 1.25);
  assert.equal(h.viewStep(at, "=").zoom, 1.25);
  assert.equal(h.viewStep(at, "-").zoom, 0.8);
  assert.equal(h.viewStep(at, "_").zoom, 0.8);
  // the pitch stays within the drag's ±1.5, the zoom within the wheel's [0.5, 4]
  assert.equal(h.viewStep({ yaw: 0, pitch: 1.4, zoom: 1 }, "ArrowDown").pitch, 1.5);
  assert.equal(h.viewStep({ yaw: 0, pitch: -1.4, zoom: 1 }, "ArrowUp").pitch, -1.5);
  assert.equal(h.viewStep({ yaw: 0, pitch: 0, zoom: 3.9 }, "+").zoom, 4);
  assert.equal(h.viewStep({ yaw: 0, pitch: 0, zoom: 0.55 }, "-").zoom, 0.5);
  assert.equal(h.clampZoom(9), 4);
  assert.equal(h.clampZoom(0.1), 0.5);
  for (const key of ["a", "Enter", " ", "PageDown", "Home", "Tab"]) assert.equal(h.viewStep(at, key), null, key);
});

test("columnOrder and drawnChains: the pathway column's drawing order and its five strongest chains", () => {
  // grid [2, 2, 2]: r = (i·2 + j)·2 + k; drawn tile k = 0 first (rows, then columns), then k = 1
  assert.deepEqual(h.columnOrder([2, 2, 2]), [0, 2, 4, 6, 1, 3, 5, 7]);
  assert.deepEqual(h.columnOrder([1, 1, 3]), [0, 1, 2]);
  for (const g of [[3, 2, 4], [1, 1, 10], [4, 4, 1]]) {
    const o = h.columnOrder(g);
    assert.deepEqual(o.slice().sort((a, b) => a - b), Array.from({ length: g[0] * g[1] * g[2] }, (_, i) => i), JSON.stringify(g));
  }
  const chains = [-5, -1, -7, -2, -3, -9, -4].map((score, n) => ({ score, n }));
  assert.deepEqual(h.drawnChains(chains).map((c) => c.score), [-1, -2, -3, -4, -5]);
  assert.equal(chains[0].score, -5);  // the epoch's own list is left as it was
});

test("pathwayStep: up/down the column, left/right along the chain or the strongest flow, Page Up/Down the chains", () => {
  // three layers: [2, 2, 1] → [2, 2, 1] → [1, 1, 3]; flows listed strongest first as [region, value, ...]
  const layers = [
    { grid: [2, 2, 1], in_from: null, in: null, out_to: 1, out: [[3, 0.9, 0, 0.1], [1, 0.5], [], [2, 0.4]] },
    { grid: [2, 2, 1], in_from: 0, in: [[0, 0.1], [1, 0.5], [3, 0.4], [0, 0.9]], out_to: 2, out: [[2, 1], [0, 1], [1, 1], [1, 1]] },
    { grid: [1, 1, 3], in_from: 1, in: [[1, 1], [2, 1], [0, 1]], out_to: null, out: null },
  ];
  const chains = [{ layers: [0, 1, 2], regions: [2, 3, 0], score: -4 }, { layers: [0, 1, 2], regions: [1, 0, 2], score: -2 }];
  // nothing selected: the strongest chain's first region (chain 1 = the one with score −2)
  assert.deepEqual(h.pathwayStep(layers, chains, null, "Enter"), { l: 0, r: 1, chain: 0 });
  assert.deepEqual(h.pathwayStep(layers, chains, null, "ArrowDown"), { l: 0, r: 1, chain: 0 });
  assert.equal(h.pathwayStep(layers, chains, null, "a"), null);
  assert.equal(h.pathwayStep(layers, chains, { l: 0, r: 1, chain: 0 }, "a"), null);  // a key it does not use, with a selection
  assert.deepEqual(h.pathwayStep(layers, [], null, " "), { l: 0, r: 0, chain: null });
  // along the chain being followed
  assert.deepEqual(h.pathwayStep(layers, chains, { l: 0, r: 1, chain: 0 }, "ArrowRight"), { l: 1, r: 0, chain: 0 });
  assert.deepEqual(h.pathwayStep(layers, chains, { l: 1, r: 0, chain: 0 }, "ArrowRight"), { l: 2, r: 2, chain: 0 });
  assert.deepEqual(h.pathwayStep(layers, chains, { l: 2, r: 2, chain: 0 }, "ArrowLeft"), { l: 1, r: 0, chain: 0 });
  // off any chain: the strongest out-flow / in-flow
  assert.deepEqual(h.pathwayStep(layers, chains, { l: 0, r: 0, chain: null }, "ArrowRight"), { l: 1, r: 3, chain: null });
  assert.deepEqual(h.pathwayStep(layers, chains, { l: 1, r: 1, chain: null }, "ArrowLeft"), { l: 0, r: 1, chain: null });
  // a chain index whose chain does not hold the region: the flow, not the chain
  assert.deepEqual(h.pathwayStep(layers, chains, { l: 0, r: 0, chain: 0 }, "ArrowRight"), { l: 1, r: 3, chain: null });
  // no listed flow (region 2 of layer 0 sends none): the same place in the next column's order
  assert.deepEqual(h.pathwayStep(layers, chains, { l: 0, r: 2, chain: null }, "ArrowRight"), { l: 1, r: 2, chain: null });
  // a layer without tract.json (in/out null): the same place too
  const bare = layers.map((ly) => Object.assign({}, ly, { in: null, out: null }));
  assert.deepEqual(h.pathwayStep(bare, [], { l: 1, r: 3, chain: null }, "ArrowRight"), { l: 2, r: 2, chain: null });
  // at the first and last column it stays
  assert.deepEqual(h.pathwayStep(layers, chains, { l: 0, r: 2, chain: null }, "ArrowLeft"), { l: 0, r: 2, chain: null });
  assert.deepEqual(h.pathwayStep(layers, chains, { l: 2, r: 1, chain: 1 }, "ArrowRight"), { l: 2, r: 1, chain: 1 });
  // up and down the column in drawing order ([2, 2, 1]: 0, 1, 2, 3), clamped; Home and End
  assert.deepEqual(h.pathwayStep(layers, chains, { l: 1, r: 1, chain: 0 }, "ArrowDown"), { l: 1, r: 2, chain: null });
  assert.deepEqual(h.pathwayStep(layers, chains, { l: 1, r: 0, chain: null }, "ArrowUp"), { l: 1, r: 0, chain: null });
  assert.deepEqual(h.pathwayStep(layers, chains, { l: 1, r: 1, chain: null }, "End"), { l: 1, r: 3, chain: null });
  assert.deepEqual(h.pathwayStep(layers, chains, { l: 1, r: 2, chain: null }, "Home"), { l: 1, r: 0, chain: null });
  // Page Down / Up: the chains at the selected column
  assert.deepEqual(h.pathwayStep(layers, chains, { l: 1, r: 1, chain: null }, "PageDown"), { l: 1, r: 0, chain: 0 });
  assert.deepEqual(h.pathwayStep(layers, chains, { l: 1, r: 0, chain: 0 }, "PageDown"), { l: 1, r: 3, chain: 1 });
  assert.deepEqual(h.pathwayStep(layers, chains, { l: 1, r: 3, chain: 1 }, "PageDown"), { l: 1, r: 3, chain: 1 });
  assert.deepEqual(h.pathwayStep(layers, chains, { l: 1, r: 3, chain: 1 }, "PageUp"), { l: 1, r: 0, chain: 0 });
  assert.deepEqual(h.pathwayStep(layers, chains, { l: 2, r: 1, chain: null }, "PageUp"), { l: 2, r: 0, chain: 1 });
  assert.equal(h.pathwayStep(layers, [], { l: 1, r: 1, chain: null }, "PageDown"), null);
  // a chain that does not pass the selected column: its first region
  const partial = [{ layers: [1, 2], regions: [2, 1], score: -1 }];
  assert.deepEqual(h.pathwayStep(layers, partial, { l: 0, r: 0, chain: null }, "PageDown"), { l: 1, r: 2, chain: 0 });
  // every step stays inside the net
  for (let l = 0; l < 3; ++l)
    for (const r of h.columnOrder(layers[l].grid))
      for (const key of ["ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight", "PageUp", "PageDown", "Home", "End"])
        for (const chain of [null, 0, 1]) {
          const to = h.pathwayStep(layers, chains, { l, r, chain }, key);
          const n = to ? layers[to.l].grid.reduce((a, b) => a * b, 1) : 0;
          assert.ok(to && to.l >= 0 && to.l < 3 && to.r >= 0 && to.r < n, JSON.stringify([l, r, chain, key, to]));
        }
});

test("revealScroll scrolls only as far as needed to show a box under the sticky controls", () => {
  // view: 100 (the controls' bottom) to 700, 8 px margin: room 108..692
  assert.equal(h.revealScroll(300, 320, 100, 700), 0);                      // already shown: no scroll
  assert.equal(h.revealScroll(108, 692, 100, 700), 0);                      // exactly fits
  assert.equal(h.revealScroll(900, 920, 100, 700), 920 - 692);              // below: its bottom at 692
  assert.equal(h.revealScroll(50, 70, 100, 700), 50 - 108);                 // above (under the controls): its top at 108
  assert.equal(h.revealScroll(-400, -380, 100, 700), -400 - 108);
  assert.equal(h.revealScroll(690, 710, 0, 700, 0), 10);                    // no controls, no margin
  assert.equal(h.revealScroll(600, 1400, 100, 700), 600 - 108);             // taller than the room: from its top
});

test("termStops: one Tab stop per definition, the first shown term of its kind; a hidden term keeps its stop", () => {
  const shown = (key) => ({ key, shown: true }), hidden = (key) => ({ key, shown: false });
  assert.deepEqual(h.termStops([shown("z"), shown("bh"), shown("z"), shown("z"), shown("bh")]), [true, true, false, false, false]);
  // a hidden term (a part of the page not shown) keeps its stop and does not take the shown one's
  assert.deepEqual(h.termStops([hidden("z"), shown("z"), shown("z"), hidden("z")]), [true, true, false, true]);
  assert.deepEqual(h.termStops([]), []);
});

test("termTipPlace: the definition box under the term, above it at the window's bottom, inside the window's width", () => {
  const view = { w: 400, h: 300 }, box = { w: 200, h: 50 };
  assert.deepEqual(h.termTipPlace({ left: 20, top: 100, bottom: 120 }, box, view), { left: 20, top: 126 });
  assert.deepEqual(h.termTipPlace({ left: 20, top: 240, bottom: 260 }, box, view), { left: 20, top: 240 - 6 - 50 });  // 266 + 50 > 300: above
  assert.deepEqual(h.termTipPlace({ left: 350, top: 100, bottom: 120 }, box, view), { left: 400 - 200 - 8, top: 126 });  // kept inside on the right
  assert.deepEqual(h.termTipPlace({ left: -30, top: 100, bottom: 120 }, box, view), { left: 8, top: 126 });
});

test("rampColumns: a legend bar's colours, one per pixel column at its centre, from the low end to the high end", () => {
  assert.deepEqual(h.rampColumns([[0, 0, 0], [255, 255, 255]], 4), ["rgb(32,32,32)", "rgb(96,96,96)", "rgb(159,159,159)", "rgb(223,223,223)"]);
  assert.deepEqual(h.rampColumns(SEQ, 1), [h.css(h.ramp(SEQ, 0.5))]);
  const bar = h.rampColumns(SEQ, 100);
  assert.equal(bar.length, 100);
  assert.equal(bar[0], h.css(h.ramp(SEQ, 0.005)));
  assert.equal(bar[99], h.css(h.ramp(SEQ, 0.995)));
});

test("legendRow: low value, bar, high value and what it shows, in that order, made by the page's element maker", () => {
  const make = (tag, cls) => ({ tag, className: cls || "", children: [], append(...c) { this.children.push(...c); } });
  const legend = h.legendRow(make);
  assert.equal(legend.row.className, "legend-row");
  assert.deepEqual(legend.row.children, [legend.low, legend.bar, legend.high, legend.what]);
  assert.deepEqual(legend.row.children.map((c) => c.tag + "." + c.className), ["span.num", "canvas.", "span.num", "span."]);
});

test("drawRatio: the screen's ratio on screen, at least 3 while printing", () => {
  assert.equal(h.drawRatio(1, false), 1);
  assert.equal(h.drawRatio(2.5, false), 2.5);
  assert.equal(h.drawRatio(1, true), 3);
  assert.equal(h.drawRatio(2, true), 3);
  assert.equal(h.drawRatio(4, true), 4);  // a finer screen keeps its own
});

// Boundaries and cases the tests above leave open (a mutation audit of helpers.js, bench/README.md: each of
// these fails on a one-line change of the function that breaks its comment's rule, and passes on the code).
test("mapLayout: a list up to 24 regions, squares from 25; pickCell's cells are half-open", () => {
  assert.equal(h.mapLayout([1, 1, 24], 300, 240).kind, "list");
  assert.equal(h.mapLayout([1, 1, 25], 300, 240).kind, "squares");
  const lay = h.mapLayout([2, 2, 1], 300, 240), [a, b] = lay.cells;  // regions 0 and 1 side by side in one row
  assert.equal(b.x, a.x + a.w);
  assert.equal(h.pickCell(lay.cells, a.x + a.w, a.y + 1), b.r);         // the shared edge belongs to the right cell
  assert.equal(h.pickCell(lay.cells, a.x, a.y), a.r);
  assert.equal(h.pickCell(lay.cells, lay.cells[3].x + lay.cells[3].w, lay.cells[3].y), null);  // past the last cell
});

test("pathwayStep: off a chain and without a flow, the same place in a column of another size; flows only from the column they come from", () => {
  // 64 regions, then 4: region 63 (the last drawn) goes to the last of 4, region 16 (a quarter down) to the second
  const big = [{ grid: [4, 4, 4], in_from: null, in: null, out_to: null, out: null },
               { grid: [1, 1, 4], in_from: null, in: null, out_to: null, out: null }];
  const order = h.columnOrder([4, 4, 4]);
  assert.deepEqual(h.pathwayStep(big, [], { l: 0, r: order[63], chain: null }, "ArrowRight"), { l: 1, r: 3, chain: null });
  assert.deepEqual(h.pathwayStep(big, [], { l: 0, r: order[16], chain: null }, "ArrowRight"), { l: 1, r: 1, chain: null });
  assert.deepEqual(h.pathwayStep(big, [], { l: 1, r: 3, chain: null }, "ArrowLeft"), { l: 0, r: order[48], chain: null });
  // in-flows listed from a layer that is not the column to the left (in_from: null here) are not followed there
  const other = [{ grid: [1, 1, 4], in_from: null, in: null, out_to: null, out: null },
                 { grid: [1, 1, 4], in_from: null, in: [[3, 1], [3, 1], [3, 1], [3, 1]], out_to: null, out: null }];
  assert.deepEqual(h.pathwayStep(other, [], { l: 1, r: 0, chain: null }, "ArrowLeft"), { l: 0, r: 0, chain: null });
  other[1].in_from = 0;  // now they come from it: its strongest in-flow
  assert.deepEqual(h.pathwayStep(other, [], { l: 1, r: 0, chain: null }, "ArrowLeft"), { l: 0, r: 3, chain: null });
});

test("settingsRows: a ζ tolerance below 0 is automatic, 0 itself is not", () => {
  const rows = (tol) => h.settingsRows({ analysis: { zeta: { tolerance: tol } } }, {});
  assert.deepEqual(rows(-1), [["analysis.zeta.tolerance", "-1 (automatic: 0.05·max|φ|)"]]);
  assert.deepEqual(rows(0), [["analysis.zeta.tolerance", "0"]]);
  assert.deepEqual(h.settingsRows({ analysis: { tract: { top: 0 } } }, {}), [["analysis.tract.top", "0 (all flows)"]]);
});

test("confusionCounts: a prediction beyond the named classes and the labels widens the matrix too", () => {
  const m = h.confusionCounts([0, 1], [0, 3], 2);
  assert.equal(m.length, 4);
  assert.ok(m.every((row) => row.length === 4));
  assert.equal(m[1][3], 1);
});

test("bandLabelIndices: δ and γ written when exactly 2 px apart; wrapRows: an entry that exactly fills its row's room stays on it", () => {
  assert.deepEqual(h.bandLabelIndices(3, 10), [0, 4]);      // 4 · 3 = 10 + 2
  assert.deepEqual(h.bandLabelIndices(12, 10), [0, 1, 2, 3, 4]);
  assert.deepEqual(h.wrapRows([60, 40, 100], 100), [[0, 1], [2]]);
});

test("eegEpochIndex: the last epoch before, by epoch, whatever the order of the list", () => {
  assert.equal(h.eegEpochIndex([{ epoch: 4 }, { epoch: 2 }, { epoch: 1 }], 3), 1);
  assert.equal(h.eegEpochIndex([{ epoch: 2 }, { epoch: 1 }], 5), 0);
});

test("termTipPlace: above the term when the box and its gap would pass the window's bottom", () => {
  const view = { w: 400, h: 300 }, box = { w: 100, h: 50 };
  // 246 + 50 = 296 fits without the gap, 246 + 6 + 50 = 302 does not
  assert.deepEqual(h.termTipPlace({ left: 20, top: 230, bottom: 246 }, box, view), { left: 20, top: 230 - 6 - 50 });
  assert.deepEqual(h.termTipPlace({ left: 20, top: 228, bottom: 244 }, box, view), { left: 20, top: 250 });  // 244 + 56 = 300
});

test("noErrorsHint: a run imaged with exact ζ needs no --zeta-method, one imaged with Taylor's gets shapley", () => {
  const hint = (zeta, evalSamples) => h.noErrorsHint(false, { run: "r", epoch: 1,
    data: { spec: "planted" }, analysis: { eval_samples: evalSamples, zeta: { method: zeta } } }).command;
  assert.equal(hint("exact", 16), "nnfmri analyze r/checkpoints/epoch_001.ckpt --data planted --eval-samples 16 --errors --out r/analysis/epoch_001");
  assert.equal(hint("taylor", 64), "nnfmri analyze r/checkpoints/epoch_001.ckpt --data planted --eval-samples 64 --zeta-method shapley --errors --out r/analysis/epoch_001");
});

test("pathwayHeader: a pair's strength sits midway between its two columns' centres", () => {
  const widthOf = (text) => 6 * text.length;
  const { labels } = h.pathwayHeader(["a", "b", "c"], [{ from: 1, to: 2, strength: 1.5 }], 100, widthOf);
  assert.deepEqual(labels.filter((b) => b.kind === "name").map((b) => b.x), [50, 150, 250]);
  assert.deepEqual(labels.filter((b) => b.kind === "strength").map((b) => [b.text, b.x]), [["1.5", 200]]);
});

test("canvasFits: the bitmap fits when both its width and its height are the CSS box × the ratio", () => {
  const canvas = (width, height) => ({ clientWidth: 120, clientHeight: 40, width, height });
  assert.equal(h.canvasFits(canvas(240, 80), 2), true);
  assert.equal(h.canvasFits(canvas(240, 60), 2), false);
  assert.equal(h.canvasFits(canvas(120, 80), 2), false);
});

test("compareCommand names every run under ROOT, A first, at the epoch, each word safe for a shell", () => {
  assert.equal(h.compareCommand("/data/runs/", "seed1", ["seed2", "onecycle"], 3),
               "nnfmri compare /data/runs/seed1 /data/runs/seed2 /data/runs/onecycle --epoch 3 --out compare-seed1");
  // a name with a space, a quote or a $ is one single-quoted word (the quote written '\'')
  assert.equal(h.compareCommand("/r", "it's $x", ["b c"], 1),
               "nnfmri compare '/r/it'\\''s $x' '/r/b c' --epoch 1 --out 'compare-it'\\''s $x'");
  assert.equal(h.shellWord("a-b_c.d/e:f=g+h,i"), "a-b_c.d/e:f=g+h,i");
  assert.equal(h.shellWord(""), "''");
});
