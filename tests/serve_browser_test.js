#!/usr/bin/env node
// tests/serve_browser_test.js — `make test-serve`: the page of `nnfmri serve` in headless Chromium
// while a run trains (tests/cdp.js drives Chromium; no npm packages).
//
// 1. Starts `nnfmri serve ROOT --port 0` on an empty ROOT (build/serve-test/runs) and opens its page:
//    it must say there are no runs yet.
// 2. Starts a short training into ROOT/live (planted data, imaging every epoch, 3 epochs) and waits
//    for the page to show epoch 1, then epoch 2, without a reload (a marker set in the page survives);
//    a region selected at epoch 1 stays selected.  Then the slider is moved back to epoch 1 and must
//    stay there when epoch 3 arrives.  For each epoch it measures the delay from run.json committing
//    the epoch (watched by this script every 20 ms) to the page showing it.
// 3. Compares two runs: synthetic runs "seed1" and "seed2" (tests/synthetic_run.js, different seeds)
//    and "seed1-copy" (the same files as seed1): the page must draw ζ-difference maps, with mean
//    |Δζ| > 0 against seed2 and exactly 0 against the copy.  A run with a malformed run.json shows its
//    error line and the others keep working.  Then what the mutation audit of the served page
//    (bench/study/serve_page_mutants.py) found unchecked, each against what the server sends:
//    the tiles' colours and critical outlines, the note; no data fetched again and nothing redrawn while
//    no run changes; the run list's rows and buttons; B's epochs matched by number and layers by name
//    ("gappy"); uncompare, and the focus after "show"; a compared run mended, runs that grow, appear,
//    break or vanish; the newest readable run opened without ?run=; ?run= of a malformed run; a shown
//    run with no analysed epoch yet; ROOT moved away and back.
// 4. With --load30 yes (bench/README's figure; a minute more, for the static report's figures): the
//    page load time of a synthetic 30-epoch run, served (?run=NAME) and, as the baseline, the same
//    run's static report.html.
// Fails on any console error, exception, dialog or request other than to the server (or the static
// baseline's file); ends with
// "serve-browser-test: N passed, M failed".
//
// usage: node tests/serve_browser_test.js [--nnfmri build/nnfmri] [--out build] [--chromium /usr/bin/chromium] [--load30 yes]
//        [--epochs N]   (N ≥ 3 epochs of the training run, 3 by default: more delay samples)
"use strict";
const fs = require("fs");
const os = require("os");
const path = require("path");
const { spawn, execFileSync } = require("child_process");
const { makeRun, makeServedRun, metricsLines } = require("./synthetic_run.js");
const { Browser, sleep, attachSession, CANVAS_RECORDER } = require("./cdp.js");
const h = require("../report/page/helpers.js");  // the page's own number formatting (fmt, pct)

const { parseArgs, checks } = require("./cli.js");
const args = parseArgs({ nnfmri: "build/nnfmri", out: "build", chromium: process.env.CHROMIUM || "/usr/bin/chromium", load30: "no", epochs: "3" }, "serve-browser-test");
const { check, finish } = checks("serve-browser-test");

async function waitUntil(what, timeoutMs, probe) {
  const t0 = Date.now();
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() - t0 > timeoutMs) throw new Error("timed out after " + timeoutMs + " ms waiting for " + what);
    await sleep(20);
  }
}

// Polls probe until done(value) or timeoutMs, then gives its last value (no throw: the check that follows
// fails with what the page showed, and the rest of the test still runs).
async function settle(timeoutMs, probe, done) {
  const t0 = Date.now();
  for (;;) {
    const value = await probe();
    if (done(value) || Date.now() - t0 > timeoutMs) return value;
    await sleep(50);
  }
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.floor((s.length - 1) / 2)] : NaN; };

async function main() {
  const nnfmri = path.resolve(args.nnfmri);
  const base = path.resolve(args.out, "serve-test"), root = path.join(base, "runs");
  fs.rmSync(base, { recursive: true, force: true });
  fs.mkdirSync(root, { recursive: true });
  const children = [];
  const server = spawn(nnfmri, ["serve", root, "--port", "0"], { stdio: ["ignore", "pipe", "pipe"] });
  children.push(server);
  let serverOut = "";
  server.stdout.on("data", (d) => { serverOut += d; });
  server.stderr.on("data", (d) => { serverOut += d; });
  const url = await waitUntil("the serve line", 20000, async () => (serverOut.match(/serving 0 runs at (http:\/\/127\.0\.0\.1:\d+\/)/) || [])[1]);
  check(serverOut.includes("no runs in " + root + " yet"), "an empty directory is said so", serverOut.split("\n")[0]);
  console.log("serve-browser-test: " + url);

  if (!fs.existsSync(args.chromium)) throw new Error(args.chromium + " not found (apt-get install chromium, or --chromium PATH)");
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "nnfmri-chromium-"));
  const browser = new Browser(args.chromium, profile);
  const problems = [];
  try {
    const origin = url.replace(/\/$/, "");
    const { cdp, evaluate } = await attachSession(browser, problems, new RegExp("^(" + origin.replace(/[.]/g, "\\.") + "/|data:|about:|file:)"));  // file: the static baseline
    const loaded = browser.waitFor("Page.loadEventFired", 30000);
    await cdp("Page.navigate", { url });
    await loaded;
    await waitUntil("the run list", 10000, () => evaluate("document.getElementById('runs').textContent.includes('no runs under this directory yet')"));
    check(true, "the page says there are no runs yet");
    await evaluate("window.__notReloaded = 42");

    // ---- a run that trains while the page watches
    const runDir = path.join(root, "live");
    const trainer = spawn(nnfmri, ["train", "--data", "planted", "--limit-train", "1000", "--epochs", args.epochs, "--analyze-every", "1",
      "--zeta-budget", "0.2", "--threads", "1", "--out", runDir], { stdio: ["ignore", "ignore", "pipe"] });
    children.push(trainer);
    let trainErr = "";
    trainer.stderr.on("data", (d) => { trainErr += d; });
    const committed = {};  // epoch → when run.json first said completed_epoch ≥ epoch
    const watcher = setInterval(() => {
      try {
        const m = JSON.parse(fs.readFileSync(path.join(runDir, "run.json"), "utf8"));
        for (let e = 1; e <= m.completed_epoch; ++e) if (!(e in committed)) committed[e] = Date.now();
      } catch (e) { /* not there yet, or being renamed */ }
    }, 20);
    const delays = [];
    const shown = async (epoch) => {
      await waitUntil("epoch " + epoch + " on the page", 120000, () => evaluate("document.body.dataset.shownEpoch === '" + epoch + "' || document.body.dataset.epochs >= " + epoch));
      const t = Date.now();
      await waitUntil("run.json of epoch " + epoch, 5000, async () => epoch in committed);
      delays.push(t - committed[epoch]);
    };
    await shown(1);
    const first = await evaluate(`(() => { const R = window.nnfmriReport; R.select(2, 5);
      return { epochs: R.epochCount, label: document.getElementById("epoch-label").textContent, views: document.querySelectorAll("#layers .layer-view").length }; })()`);
    check(first.epochs === 1 && /^epoch 1 /.test(first.label) && first.views > 0, "the page shows epoch 1 while the run trains", first.label + ", " + first.views + " layers");
    await shown(2);
    const second = await evaluate(`(() => ({ epochs: window.nnfmriReport.epochCount, label: document.getElementById("epoch-label").textContent,
      sel: window.nnfmriReport.state.sel, marker: window.__notReloaded, region: document.getElementById("details-body").textContent }))()`);
    check(second.epochs === 2 && /^epoch 2 /.test(second.label), "then epoch 2, following the newest epoch", second.label);
    check(second.marker === 42, "without a reload (a value set in the page survives)");
    check(second.sel && second.sel.l === 2 && second.sel.r === 5 && second.region.length > 0, "the selected region stays selected", JSON.stringify(second.sel));
    await evaluate("window.nnfmriReport.setEpoch(0)");  // back to epoch 1: must stay there when epoch 3 arrives
    await waitUntil("epoch 3 in the page's data", 120000, () => evaluate("document.body.dataset.epochs === '3'"));
    await waitUntil("run.json of epoch 3", 5000, async () => 3 in committed);
    delays.push(Date.now() - committed[3]);
    const third = await evaluate(`(() => ({ label: document.getElementById("epoch-label").textContent, max: document.getElementById("epoch").max }))()`);
    check(/^epoch 1 \(1\/3\)/.test(third.label) && third.max === "2", "a slider moved back stays on its epoch when a new one arrives", third.label);
    for (let e = 4; e <= Number(args.epochs); ++e) {  // --epochs N: more delays for bench/README.md
      await waitUntil("epoch " + e + " in the page's data", 120000, () => evaluate("document.body.dataset.epochs === '" + e + "'"));
      await waitUntil("run.json of epoch " + e, 5000, async () => e in committed);
      delays.push(Date.now() - committed[e]);
    }
    clearInterval(watcher);
    await new Promise((resolve) => trainer.exitCode !== null ? resolve() : trainer.on("exit", resolve));
    check(trainer.exitCode === 0, "the training run finished", trainErr.trim().split("\n").pop());
    console.log("serve-browser-test: delay from run.json committing an epoch to the page showing it: median " + median(delays) +
                " ms, max " + Math.max(...delays) + " ms over " + delays.length + " epochs (" + delays.join(", ") + " ms; the page polls every 1000 ms)");
    await waitUntil("the run list to say finished", 10000, () => evaluate("document.querySelector('#runs tr[data-run=live]').textContent.includes('finished')"));
    check(true, "the run list says the run finished");

    // ---- error maps in the served page: a copy of the trained run whose last epoch is analysed again
    // with `analyze --errors` (its final checkpoint, a deterministic stop), moved into ROOT when
    // complete.  The net is barely trained, so most of the sample is misclassified: the cell with the
    // most images is clicked; its regions and its worst images (with overlays) must appear, as
    // zeta.json says (computed here from the file, not from the page).
    const epochs = Number(args.epochs), lastDir = path.join("analysis", "epoch_" + String(epochs).padStart(3, "0"));
    const staging = path.join(base, "errors-staging");
    fs.cpSync(runDir, staging, { recursive: true });
    execFileSync(nnfmri, ["analyze", path.join(runDir, "model.ckpt"), "--data", "planted", "--out", path.join(staging, lastDir), "--errors",
      "--threads", "1", "--stages", "zeta", "--zeta-samples", "64", "--zeta-tol", "0", "--zeta-max-permutations", "4", "--zeta-budget", "1000"],
      { stdio: ["ignore", "ignore", "pipe"] });
    fs.renameSync(staging, path.join(root, "errors"));
    const zeta = JSON.parse(fs.readFileSync(path.join(root, "errors", lastDir, "zeta.json"), "utf8"));
    const E = zeta.errors, cells = new Map();
    E.labels.forEach((y, slot) => { if (E.predicted[slot] !== y) { const key = y + ":" + E.predicted[slot]; cells.set(key, [...(cells.get(key) || []), slot]); } });
    let pick = null;  // the cell with the most images, the first in row order among equals
    for (const [key, slots] of cells) {
      const [y, p] = key.split(":").map(Number);
      if (!pick || slots.length > pick.slots.length || (slots.length === pick.slots.length && (y < pick.y || (y === pick.y && p < pick.p)))) pick = { y, p, slots };
    }
    check(pick !== null, "analyze --errors on the barely trained net finds mistakes", E.labels.length + " images");
    // the cell's min(4, count) lowest p(true), ties by sample position (imaging/error_maps.h gallery_slots)
    const worst = [...pick.slots].sort((a, b) => E.probability_true[a] - E.probability_true[b] || a - b).slice(0, 4);
    const firstLayer = Object.keys(zeta.layers)[0], entry = zeta.layers[firstLayer].errors.confusions.find((c) => c.true === pick.y && c.predicted === pick.p);
    const keys = Object.keys(zeta.layers[firstLayer].regions), mostNegative = keys[entry.phi.reduce((b, v, r) => (v < entry.phi[b] ? r : b), 0)];
    const layersWithCell = Object.values(zeta.layers).filter((ly) => ly.errors && ly.errors.confusions.some((c) => c.true === pick.y && c.predicted === pick.p)).length;
    const loadedErrors = browser.waitFor("Page.loadEventFired", 30000);
    await cdp("Page.navigate", { url: url + "?run=errors" });
    await loadedErrors;
    await waitUntil("the confusion matrix of the errors run", 30000, () => evaluate(`document.body.dataset.ready === '1' && window.nnfmriReport.epochCount === ${epochs} && !!document.querySelector("#errors td.cell")`));
    const errorView = await evaluate(`(() => { const R = window.nnfmriReport; R.setEpoch(R.epochCount - 1);
      const td = document.querySelector('#errors td[data-y="${pick.y}"][data-p="${pick.p}"]');
      if (!td) return null;
      const count = Number(td.textContent);
      td.click();
      const regions = [...document.querySelectorAll("#errors .error-regions p")].map((p) => p.textContent);
      const box = document.querySelector("#errors .error-examples");
      return { count, regions, examples: box ? Number(box.dataset.examples) : -1, layer: box ? box.dataset.layer : "",
               views: box ? [...box.querySelectorAll(".image-box")].map((v) => [Number(v.dataset.label), Number(v.dataset.predicted), Number(v.dataset.slot), v.dataset.overlay]) : [] }; })()`);
    check(errorView !== null && errorView.count === pick.slots.length, "the served page's confusion matrix holds the cell with zeta.json's count",
          JSON.stringify({ cell: pick.y + "→" + pick.p, want: pick.slots.length, got: errorView && errorView.count }));
    check(errorView.regions.length === layersWithCell && errorView.regions[0].startsWith(firstLayer + " (" + pick.slots.length + " images): " + mostNegative + " "),
          "clicking it lists each layer's regions, the first layer's most negative φ first", errorView.regions[0] + " (want " + mostNegative + ", " + layersWithCell + " layers)");
    check(errorView.examples === worst.length && JSON.stringify(errorView.views) === JSON.stringify(worst.map((s) => [pick.y, pick.p, s, "1"])) && errorView.layer === firstLayer,
          "and its " + worst.length + " worst images, lowest p(true) first, each with its " + firstLayer + " overlay", JSON.stringify(errorView) + " want slots " + JSON.stringify(worst));

    // ---- two runs compared, and a malformed run beside them
    const apiRuns = async () => (await fetch(url + "api/runs")).json();
    // the run the page opens without ?run= (README): the most recently updated one that is readable
    const newestReadable = (runs) => runs.filter((r) => !r.error).reduce((a, r) => (!a || r.updated > a.updated ? r : a), null).name;
    // run.json rewritten whole (a new version, as a training run commits an epoch): text into a file beside
    // it, renamed over it
    const commit = (name, text) => {
      const file = path.join(root, name, "run.json");
      fs.writeFileSync(file + ".new", text === undefined ? fs.readFileSync(file) : text);
      fs.renameSync(file + ".new", file);
    };
    makeServedRun(path.join(root, "seed1"), 10, 1);
    makeServedRun(path.join(root, "seed2"), 10, 2);
    fs.cpSync(path.join(root, "seed1"), path.join(root, "seed1-copy"), { recursive: true });
    fs.mkdirSync(path.join(root, "broken"));
    fs.writeFileSync(path.join(root, "broken", "run.json"), "{ not json");
    // "gappy" (seed 3): interrupted, its epoch 2 not imaged (9 of 10), and its conv2 called "conv2x"
    const gappy = path.join(root, "gappy");
    makeServedRun(gappy, 10, 3);
    const jsonFiles = (dir) => fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => e.isDirectory() ? jsonFiles(path.join(dir, e.name)) : e.name.endsWith(".json") ? [path.join(dir, e.name)] : []);
    for (const file of jsonFiles(gappy)) fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace(/"conv2([/"])/g, "\"conv2x$1"));
    fs.rmSync(path.join(gappy, "analysis", "epoch_002"), { recursive: true });
    const gappyManifest = JSON.parse(fs.readFileSync(path.join(gappy, "run.json"), "utf8"));
    commit("gappy", JSON.stringify({ ...gappyManifest, status: "interrupted", files: gappyManifest.files.filter((f) => !f.startsWith("analysis/epoch_002/")) }));
    const navigate = async (a, b) => {  // b: the compared run's name, or a list of them
      const loadedAgain = browser.waitFor("Page.loadEventFired", 30000);
      await cdp("Page.navigate", { url: url + "?run=" + a + [].concat(b).map((name) => "&compare=" + name).join("") });
      await loadedAgain;
    };
    // A layer card of the comparison as drawn (a page-side function): its layer, text, note and tiles
    // (which run, label, values, scale, drawn)
    const CARD = `(c) => ({ layer: c.dataset.layer, text: c.textContent, note: (c.querySelector(".layer-note") || {}).textContent || "",
      tiles: [...c.querySelectorAll(".compare-tile")].map((t) => ({ run: t.dataset.run, label: t.querySelector(".compare-label").textContent,
        values: JSON.parse(t.dataset.values), scale: Number(t.dataset.scale), drawn: t.querySelector("canvas").width > 0 })) })`;
    // The comparison as drawn: per layer card its mean |Δζ| and the card.
    const shownComparison = () => waitUntil("the comparison", 20000, () => evaluate(`(() => {
        const host = document.getElementById("compare-maps");
        if (document.getElementById("compare").hidden || !Number(host.dataset.layers)) return null;
        const cards = [...host.querySelectorAll(".layer-view")];
        return { layers: Number(host.dataset.layers), mean: cards.map((c) => Number(c.dataset.meanAbs || 0)), tiles: cards.map(${CARD}),
                 title: document.getElementById("compare-title").textContent, epoch: host.dataset.epoch,
                 broken: document.querySelector("#runs tr[data-run=broken]").textContent }; })()`));
    const compare = async (a, b) => { await navigate(a, b); return shownComparison(); };
    const seed1Drawn = () => waitUntil("seed1 drawn", 20000, () => evaluate("document.body.dataset.ready === '1' && window.nnfmriReport.epochCount === 10"));
    const diff = await compare("seed1", "seed2");
    // the served page draws NN-EEG from the per-step rows too (eeg/epoch_NNN.npy of the synthetic run)
    const served = await evaluate(`(() => { const c = document.getElementById("eeg-chart");
      return { traces: c.dataset.traces, lanes: Number(c.dataset.lanes), geometry: c.dataset.geometry ? JSON.parse(c.dataset.geometry) : null }; })()`);
    check(served.traces === "steps" && served.lanes > 0 && served.geometry && served.geometry.first === 1 && served.geometry.last === 1000,
          "the served page's NN-EEG lanes are per step (steps 1 … 1000 of the rows)", JSON.stringify(served));
    check(diff.layers > 0 && diff.mean.some((m) => m > 0), "two runs side by side: ζ difference maps, nonzero for different seeds",
          diff.title + " at epoch " + diff.epoch + ", " + diff.layers + " layers, mean |Δζ| " + diff.mean.map((m) => m.toFixed(3)).join(" "));
    // the settings table above the maps: what config.json differs in; two seeds of one synthetic run,
    // written with one config.json, differ in nothing
    const settingsTable = () => evaluate(`[...document.querySelectorAll("#compare-settings tr")].map((tr) => [...tr.children].map((c) => c.textContent))`);
    const sameSettings = await settingsTable();
    check(JSON.stringify(sameSettings) === JSON.stringify([["settings", "A: seed1", "B: seed2"], ["the same", "", ""]]),
          "two runs compared with one config.json: the settings table says they are the same", JSON.stringify(sameSettings));
    // A's and B's tiles hold each run's own ζ at the epoch (from the data endpoint, not the page), the
    // third their difference; A and B on one scale (the larger |ζ|), the difference on its own.
    // (zAt: each layer's z of the data — ζ, its interval lo … hi —, zetaAt its ζ)
    const zAt = async (name, epoch) => {
      const data = await (await fetch(url + "api/runs/" + name + "/data")).json();
      const ep = data.epochs.find((e) => e.epoch === Number(epoch));
      return Object.fromEntries(data.layers.map((layer, l) => [layer.name, ep.layers[l].z]));
    };
    const zetaAt = async (name, epoch) => Object.fromEntries(Object.entries(await zAt(name, epoch)).map(([k, z]) => [k, z ? z.zeta : null]));
    // the regions of two z whose 95% intervals do not overlap (README: outlined on A − B)
    const apartOf = (za, zb) => za.zeta.map((v, r) => r).filter((r) => za.lo[r] > zb.hi[r] || zb.lo[r] > za.hi[r]);
    // (X: the compared run's letter, B for the first compared run)
    const checkTiles = async (shown, a, b, X = "B") => {
      const za = await zAt(a, shown.epoch), zb = await zAt(b, shown.epoch), problems = [];
      for (const card of shown.tiles.filter((c) => c.tiles.length)) {
        const [A, B, D] = card.tiles;
        if (!za[card.layer] || !zb[card.layer]) { problems.push(card.layer + ": drawn, but not a layer with ζ in both runs"); continue; }
        const want = [za[card.layer].zeta, zb[card.layer].zeta], apart = apartOf(za[card.layer], zb[card.layer]);
        const zmax = Math.max(...want[0].map(Math.abs), ...want[1].map(Math.abs));
        const dmax = Math.max(...want[0].map((v, r) => Math.abs(v - want[1][r])));
        const mean = want[0].reduce((sum, v, r) => sum + Math.abs(v - want[1][r]), 0) / want[0].length;
        const note = "A and " + X + ": ζ, ends ±" + h.fmt(zmax, 3) + " · A − " + X + ": ends ±" + h.fmt(dmax, 3) + "; mean |Δζ| " + h.fmt(mean, 3) +
                     "; " + apart.length + " of " + want[0].length + " regions' intervals apart (outlined)";
        if (card.tiles.length !== 3 || A.run !== "A" || B.run !== X || D.run !== "diff") problems.push(card.layer + ": tiles " + card.tiles.map((t) => t.run));
        else if (A.label !== "A: " + a || B.label !== X + ": " + b || D.label !== "A − " + X) problems.push(card.layer + ": labels " + [A.label, B.label, D.label]);
        else if (JSON.stringify(A.values) !== JSON.stringify(want[0]) || JSON.stringify(B.values) !== JSON.stringify(want[1])) problems.push(card.layer + ": A/B values differ from the runs' ζ");
        else if (D.values.some((v, r) => Math.abs(v - (want[0][r] - want[1][r])) > 1e-12)) problems.push(card.layer + ": A − B is not ζ(A) − ζ(B)");
        else if (A.scale !== zmax || B.scale !== zmax || Math.abs(D.scale - dmax) > 1e-12) problems.push(card.layer + ": scales " + [A.scale, B.scale, D.scale] + " expected " + [zmax, dmax]);
        else if (![A, B, D].every((t) => t.drawn)) problems.push(card.layer + ": a tile not drawn");
        else if (card.note !== note) problems.push(card.layer + ": the note says '" + card.note + "', not '" + note + "'");
      }
      return problems;
    };
    const tileProblems = await checkTiles(diff, "seed1", "seed2");
    check(diff.tiles.filter((c) => c.tiles.length).length === diff.layers && tileProblems.length === 0,
          "side by side: per layer A's ζ, B's ζ (one shared scale) and A − B, the values each run's own at epoch " + diff.epoch + ", the note their ends and mean |Δζ|", tileProblems.join("; ") || "ok");
    // What the tiles draw (a recorder over the 2-D context's fillRect and strokeRect, the page redrawn):
    // region r's cell in the colour of its value, A's and B's ζ on the shared scale, A − B on its own, and
    // an outline (lineWidth 1.6) around each run's own critical regions, none on A − B
    await evaluate(CANVAS_RECORDER);
    const painted = await evaluate(`(async () => {
      const get = async (name) => (await fetch("api/runs/" + name + "/data")).json();
      const runA = await get("seed1"), runB = await get("seed2");
      const R = window.nnfmriReport; __rec.length = 0; R.setEpoch(R.state.e);
      const host = document.getElementById("compare-maps"), epoch = Number(host.dataset.epoch), DIV = runA.colormaps.diverging.map(hexRgb);
      const at = (run, name) => run.epochs.find((e) => e.epoch === epoch).layers[run.layers.findIndex((x) => x.name === name)];
      const problems = [], apartOf = ${apartOf}; let cells = 0, apartCells = 0;
      for (const card of host.querySelectorAll(".compare-row")) {
        const tiles = [...card.querySelectorAll(".compare-tile")];
        if (!tiles.length) continue;
        const a = at(runA, card.dataset.layer), b = at(runB, card.dataset.layer), d = a.z.zeta.map((v, r) => v - b.z.zeta[r]);
        const zmax = Math.max(...a.z.zeta.map(Math.abs), ...b.z.zeta.map(Math.abs)), dmax = Math.max(...d.map(Math.abs));
        const apart = apartOf(a.z, b.z);
        apartCells += apart.length;
        const want = { A: [a.z.zeta, zmax, a.z.critical], B: [b.z.zeta, zmax, b.z.critical], diff: [d, dmax, apart] };
        for (const t of tiles) {
          const [values, scale, critical] = want[t.dataset.run], cv = t.querySelector("canvas"), fills = [], outlined = [];
          for (const e of __rec.filter((e) => e.cv === cv)) if (e.name === "fillRect") fills.push(e.fill); else if (e.name === "strokeRect" && Math.abs(e.width - 1.6) < 1e-6) outlined.push(fills.length - 1);  // lineWidth reads back as a float
          const bad = values.filter((v, r) => fills[r] !== __norm(css(ramp(DIV, scalePosition({ zmax: scale }, "zeta", v))))).length;
          cells += fills.length;
          if (fills.length !== values.length || bad) problems.push(card.dataset.layer + " " + t.dataset.run + ": " + bad + " of " + values.length + " cells in another colour (" + fills.length + " drawn)");
          const sorted = [...critical].sort((x, y) => x - y);
          if (outlined.join() !== sorted.join()) problems.push(card.dataset.layer + " " + t.dataset.run + ": outlined " + outlined.join(" ") + ", critical " + sorted.join(" "));
        }
      }
      return { cells, apartCells, problems };
    })()`);
    check(painted.cells > 0 && painted.apartCells > 0 && painted.problems.length === 0,
          "the tiles draw each region in its value's colour (A, B: ±the larger |ζ|; A − B: ±its largest |Δζ|) and outline each run's own critical regions on A and B, the regions whose intervals are apart on A − B",
          painted.cells + " cells, " + painted.apartCells + " apart; " + (painted.problems.slice(0, 4).join("; ") || "as the data says"));
    // The version check: while no run changes, the page asks for the run list every poll (poll_ms 1000),
    // fetches neither run's data again (the page's resource timing entries over 3.5 s) and redraws
    // nothing: the list's buttons and the tiles are the same elements as before
    await evaluate(`performance.clearResourceTimings(); window.__kept = [document.querySelector("#runs button"), document.querySelector("#compare-maps canvas")]`);
    await sleep(3500);
    const requests = await evaluate(`performance.getEntriesByType("resource").map((e) => new URL(e.name).pathname)`);
    const lists = requests.filter((p) => p === "/api/runs").length, refetched = requests.filter((p) => p.endsWith("/data"));
    const unchanged = await evaluate(`window.__kept.map((e) => e !== null && e.isConnected)`);
    check(lists >= 2 && refetched.length === 0 && unchanged.join() === "true,true", "while no run changes the page asks for the run list every poll, fetches no run's data again and redraws nothing",
          lists + " run lists, data fetched again: " + (refetched.join(" ") || "none") + "; a button and a tile still in the page: " + unchanged.join());
    // The run list as api/runs says (README): name, model, data, epochs committed of planned and how many
    // imaged, the test accuracy, training / finished / interrupted or the error line; "show" and "compare"
    // ("uncompare" for the compared run) only for runs that are neither shown nor errors
    const listed = await apiRuns();
    const rows = await evaluate(`[...document.querySelectorAll("#runs tr[data-run]")].map((tr) => ({ run: tr.dataset.run, current: tr.classList.contains("current"),
      cells: [...tr.querySelectorAll("td")].slice(0, 6).map((td) => td.textContent), buttons: [...tr.querySelectorAll("button")].map((b) => b.textContent) }))`);
    const wantRows = listed.runs.map((r) => ({ run: r.name, current: r.name === "seed1",
      cells: [r.name, r.model, r.dataset, r.epochs === null ? "–" : r.completed_epoch + "/" + r.epochs + (r.analysed ? " (" + r.analysed + " imaged)" : ""),
              r.test_acc === null ? "–" : h.pct(r.test_acc), r.error ? "error: " + r.error : ({ running: "training", complete: "finished" })[r.status] || r.status],
      buttons: r.name === "seed1" || r.error ? [] : ["show", r.name === "seed2" ? "uncompare" : "compare"] }));
    const badRows = wantRows.filter((want, i) => JSON.stringify(want) !== JSON.stringify(rows[i]));
    check(rows.length === wantRows.length && badRows.length === 0 && listed.runs.some((r) => r.status === "interrupted" && r.analysed < r.completed_epoch),
          "the run list as api/runs says (gappy: interrupted, 9 of 10 epochs imaged), show and compare only for runs neither shown nor errors",
          badRows.map((want) => JSON.stringify(rows.find((r) => r.run === want.run)) + " want " + JSON.stringify(want)).join("; ") || rows.length + " rows");
    check(/error: .*run\.json/.test(diff.broken), "a malformed run shows its error line, the others work", diff.broken);
    const same = await compare("seed1", "seed1-copy");
    check(same.layers === diff.layers && same.mean.every((m) => m === 0), "against an identical copy every ζ difference is 0", same.mean.join(" "));
    await compare("seed1", "seed2");
    await evaluate("window.nnfmriReport.setEpoch(2)");
    const moved = await shownComparison();
    const movedProblems = await checkTiles(moved, "seed1", "seed2");
    check(moved.epoch === "3" && moved.layers === diff.layers && movedProblems.length === 0 &&
          JSON.stringify(moved.tiles) !== JSON.stringify(diff.tiles), "the epoch slider moves all three tiles (A, B, A − B) to epoch 3",
          "epoch " + moved.epoch + "; " + (movedProblems.join("; ") || "values match"));
    const shot = await cdp("Page.captureScreenshot", { format: "png", clip: await evaluate(`(() => {
      const r = document.getElementById("compare").getBoundingClientRect();
      return { x: 0, y: r.top + window.scrollY, width: Math.max(1, r.width + 40), height: Math.min(1400, r.height), scale: 1 }; })()`), captureBeyondViewport: true });
    fs.writeFileSync(path.resolve(args.out, "serve_compare.png"), Buffer.from(shot.data, "base64"));
    makeServedRun(path.join(root, "short"), 2, 7);
    await navigate("seed1", "short");
    await seed1Drawn();
    await evaluate("window.nnfmriReport.setEpoch(2)");
    const lacking = await waitUntil("the comparison with a 2-epoch run at epoch 3", 20000, () => evaluate(`(() => {
      const host = document.getElementById("compare-maps");
      return host.dataset.epoch === "3" && host.dataset.layers === "0" ? { text: host.textContent, tiles: host.querySelectorAll(".compare-tile").length } : null; })()`));
    check(lacking.tiles === 0 && /short has no analysed epoch 3/.test(lacking.text), "an epoch B lacks is said so, no stale maps", lacking.text);
    // B's epochs matched by number and its layers by name: at epoch 3 (gappy's second analysed epoch)
    // every layer but conv2 is compared with gappy's epoch 3; conv2 is "not in gappy"
    await navigate("seed1", "gappy");
    await seed1Drawn();
    await evaluate("window.nnfmriReport.setEpoch(2)");
    const matched = await settle(20000, () => evaluate(`(() => { const host = document.getElementById("compare-maps");
      return { epoch: host.dataset.epoch, layers: Number(host.dataset.layers), tiles: [...host.querySelectorAll(".layer-view")].map(${CARD}) }; })()`),
      (v) => v.epoch === "3");
    const zGappy = await zetaAt("gappy", 3), matchProblems = await checkTiles(matched, "seed1", "gappy");
    const notIn = matched.tiles.filter((c) => !(c.layer in zGappy));
    check(matched.epoch === "3" && matched.layers === matched.tiles.length - notIn.length && matchProblems.length === 0 && notIn.length === 1 && notIn[0].layer === "conv2" &&
          !notIn[0].tiles.length && / · epoch 3not in gappy$/.test(notIn[0].text),
          "B's epochs matched by number (gappy has no epoch 2: its epoch 3 at epoch 3) and its layers by name (conv2 is not in gappy, which has conv2x)",
          "epoch " + matched.epoch + ", " + matched.layers + " layers; " + (matchProblems.join("; ") || "values match") + "; " + notIn.map((c) => c.text).join(" | "));
    await navigate("seed1", []);  // no run compared
    await seed1Drawn();
    // the run list by keyboard: Enter on seed2's "compare" button compares it, and after the poll redraws
    // the list the focus is on the same button, now "uncompare" (the redraw, which comes at every committed
    // epoch of a training run too, does not drop the focus to the page's start)
    await evaluate(`[...document.querySelectorAll("#runs tr[data-run=seed2] button")].find((b) => b.textContent === "compare").focus()`);
    const enter = async () => {
      for (const type of ["keyDown", "keyUp"])  // keyDown with its text: a button acts on Enter's keypress
        await cdp("Input.dispatchKeyEvent", { type, key: "Enter", code: "Enter", windowsVirtualKeyCode: 13, text: type === "keyDown" ? "\r" : undefined });
    };
    await enter();
    const kept = await waitUntil("seed2 compared", 20000, () => evaluate(`(() => { const b = [...document.querySelectorAll("#runs tr[data-run=seed2] button")];
      if (!b.some((x) => x.textContent === "uncompare")) return null;
      const e = document.activeElement;
      return { focus: e.tagName + (e.tagName === "BUTTON" ? ":" + e.closest("tr").dataset.run + ":" + e.textContent : ""), compare: document.getElementById("compare-title").textContent }; })()`));
    check(kept.focus === "BUTTON:seed2:uncompare" && /seed2/.test(kept.compare), "Enter on a run's compare button compares it and the focus stays on that button",
          JSON.stringify(kept));
    // Enter again, on "uncompare": the comparison ends, the focus on the same button, "compare" again
    const focusOf = `(() => { const e = document.activeElement; return e.tagName + (e.tagName === "BUTTON" ? ":" + e.closest("tr").dataset.run + ":" + e.textContent : ""); })()`;
    await enter();
    const ended = await settle(10000, () => evaluate(`({ hidden: document.getElementById("compare").hidden, focus: ${focusOf} })`), (v) => v.hidden && v.focus.endsWith(":compare"));
    check(ended.hidden && ended.focus === "BUTTON:seed2:compare", "Enter on its uncompare button ends the comparison, the focus still on that button", JSON.stringify(ended));
    await enter();  // compared again, for "show" below
    await settle(10000, () => evaluate(focusOf), (f) => f === "BUTTON:seed2:uncompare");
    // "show" on the compared run (Enter on its button): the page shows that run, and a run is not compared
    // with itself; its buttons go
    // with it, so the focus goes to the list's first button
    await evaluate(`document.querySelector("#runs tr[data-run=seed2] button[data-action=show]").focus()`);
    await enter();
    const switched = await waitUntil("seed2 shown", 20000, () => evaluate(`document.body.dataset.run === "seed2" && document.body.dataset.ready === "1" ?
      { run: document.body.dataset.run, title: document.getElementById("title").textContent, compareHidden: document.getElementById("compare").hidden,
        current: [...document.querySelectorAll("#runs tr.current")].map((r) => r.dataset.run),
        focusFirst: document.activeElement === document.querySelector("#runs button[data-action]"), focus: ${focusOf}, address: location.search } : null`));
    check(switched.title.endsWith("seed2") && switched.compareHidden && switched.current.join() === "seed2" && switched.focusFirst && switched.address === "?run=seed2",
          "'show' on a run of the list (Enter) shows that run, marked current, ends its comparison with itself, names it in the address, and the focus goes to the list's first button", JSON.stringify(switched));
    // at a phone's width (375 × 667) the run list (six runs, one an error line) scrolls within its box,
    // not the page, and is inset like the rest of the page (not at the window's left
    // edge; unboxed, at 375 px this list would push the page 257 px sideways)
    await cdp("Emulation.setDeviceMetricsOverride", { width: 375, height: 667, deviceScaleFactor: 1, mobile: false });
    await sleep(300);
    const phone = await evaluate(`(() => { const live = document.getElementById("live").getBoundingClientRect(), wrap = document.querySelector(".wrap");
      return { client: document.documentElement.clientWidth, scroll: document.scrollingElement.scrollWidth, rows: document.querySelectorAll("#runs tr[data-run]").length,
               liveLeft: Math.round(live.left), textLeft: Math.round(wrap.getBoundingClientRect().left + parseFloat(getComputedStyle(wrap).paddingLeft)) }; })()`);
    check(phone.rows >= 5 && phone.scroll <= phone.client && phone.liveLeft === phone.textLeft,
          "at 375 px the run list scrolls within its box and is inset like the page", JSON.stringify(phone));
    await cdp("Emulation.clearDeviceMetricsOverride");
    // a compared run the list shows (its run.json is sound) whose data the server cannot build (a
    // grid.json cut short): the page says which run and the server's reason, and draws no B maps.
    makeServedRun(path.join(root, "unreadable"), 2, 9);
    const cutGrid = path.join(root, "unreadable", "analysis", "epoch_001", "grid.json"), wholeGrid = fs.readFileSync(cutGrid);
    fs.writeFileSync(cutGrid, "{ \"layers\": [");
    const before = problems.length;
    await navigate("seed1", "unreadable");
    const refused = await waitUntil("the compared run's error", 20000, () => evaluate(`(() => { const e = document.getElementById("live-error").textContent;
      return e ? { error: e, tiles: document.querySelectorAll("#compare-maps .compare-tile").length, ready: document.body.dataset.ready } : null; })()`));
    const answered = problems.splice(before).filter((p) => !/status of 422/.test(p));  // the browser logs the refused request itself
    check(/^unreadable: .*grid\.json/.test(refused.error) && refused.tiles === 0 && refused.ready === "1" && answered.length === 0,
          "a compared run whose data cannot be built: its name and the server's reason, no B maps, run A still drawn", JSON.stringify(refused));
    // mended (grid.json whole again, then run.json rewritten: a new version): the error line is cleared
    // and the run is compared (at epoch 2: it has two)
    const beforeMend = problems.length;
    await evaluate("window.nnfmriReport.setEpoch(1)");
    fs.writeFileSync(cutGrid, wholeGrid);
    commit("unreadable");
    const mended = await settle(10000, () => evaluate(`({ error: document.getElementById("live-error").textContent, layers: Number(document.getElementById("compare-maps").dataset.layers) })`),
      (v) => v.error === "" && v.layers > 0);  // data-layers: set once B's data is there
    const mendedOther = problems.splice(beforeMend).filter((p) => !/status of 422/.test(p));  // refused again until mended
    check(mended.error === "" && mended.layers > 0 && mendedOther.length === 0, "the compared run mended: its error line is cleared and it is compared", JSON.stringify(mended));
    // the training chart of a comparison: loss, accuracy and learning rate each with the compared run's
    // curve beside the shown run's, named by its run: seed1 (10 epochs) and unreadable (2 epochs, so
    // another cosine: its rates differ), every dot where its own run's value puts it on the panel's
    // one axis (train: A's then B's, then test likewise, as each panel's legend lists them), B's epochs under A's
    await evaluate(CANVAS_RECORDER);
    const overlay = await evaluate(`(() => { const R = window.nnfmriReport, canvas = document.getElementById("curves");
      __rec.length = 0; R.setEpoch(R.state.e);
      return { arcs: __rec.filter((e) => e.cv === canvas && e.name === "arc").map((e) => [e.a[0], e.a[1]]),
               texts: __rec.filter((e) => e.cv === canvas && e.name === "fillText").map((e) => e.a[0]) }; })()`);
    const rowsOf = (epochs) => metricsLines(epochs).trim().split("\n").map((line) => JSON.parse(line));
    const mA = rowsOf(10), mB = rowsOf(2);
    const panels = [["train_loss", "test_loss"], ["train_acc", "test_acc"], ["learning_rate"]];
    let at = 0;
    const fits = panels.map((keys) => {
      // each series' dots in order: for each key A's then B's
      const dots = keys.flatMap((key) => [mA, mB].map((rows) => rows.map((r) => { const a = overlay.arcs[at++] || [NaN, NaN]; return { v: r[key], x: a[0], y: a[1], e: r.epoch }; })));
      const all = dots.flat(), lo = all.reduce((a, d) => (d.v < a.v ? d : a)), hi = all.reduce((a, d) => (d.v > a.v ? d : a));
      const slope = (hi.y - lo.y) / (hi.v - lo.v);
      const xOf = (e) => dots[0].find((d) => d.e === e).x;
      return slope < 0 && all.every((d) => Math.abs(d.y - (lo.y + slope * (d.v - lo.v))) < 0.5 && Math.abs(d.x - xOf(d.e)) < 0.5);
    });
    const named = ["train · seed1", "test · seed1", "train · unreadable", "test · unreadable", "learning rate · seed1", "learning rate · unreadable"]
      .filter((label) => !overlay.texts.includes(label));
    const differ = await settingsTable();  // unreadable's config.json: 2 epochs, the rest as seed1's
    check(JSON.stringify(differ) === JSON.stringify([["setting", "A: seed1", "B: unreadable"], ["epochs", "10", "2"]]),
          "two runs compared: the settings table lists the one setting they differ in, each run's value", JSON.stringify(differ));
    check(fits.every(Boolean) && named.length === 0 && mB[0].learning_rate !== mA[0].learning_rate,
          "a comparison's training chart: the compared run's loss, accuracy and learning rate beside the shown run's, each dot on the panel's one axis, named by run",
          JSON.stringify({ fits, missing: named, arcs: overlay.arcs.length }));

    // Several runs compared at once (?compare= repeated, up to four): each compared run lettered in the
    // order given (B, C, …), its own group of tiles (its ζ against A's at the slider's epoch, or a line
    // saying it lacks the epoch), one settings table with a column per run, and the Training chart naming
    // every run, each in its own dash pattern (A's lines solid). At epoch 2: seed2 and unreadable have
    // it, gappy (epoch 2 not imaged) does not.
    const groupsShown = () => evaluate(`[...document.querySelectorAll("#compare-maps .compare-run")].map((g) => ({ run: g.dataset.run, letter: g.dataset.letter,
      title: g.querySelector("h3").textContent, text: g.textContent, epoch: document.getElementById("compare-maps").dataset.epoch,
      tiles: [...g.querySelectorAll(".layer-view")].map(${CARD}) }))`);
    await navigate("seed1", ["seed2", "unreadable", "gappy"]);
    await seed1Drawn();
    await evaluate("window.nnfmriReport.setEpoch(1)");
    const groups = await settle(20000, groupsShown, (gs) => gs.length === 3 && gs[0].epoch === "2" && gs.slice(0, 2).every((g) => g.tiles.some((c) => c.tiles.length)));
    const groupProblems = [];
    for (const [i, [name, X]] of [["seed2", "B"], ["unreadable", "C"]].entries()) {
      const g = groups[i];
      if (g.run !== name || g.letter !== X || g.title !== "A: seed1 | " + X + ": " + name + " | difference A − " + X) { groupProblems.push("group " + i + ": " + g.run + " " + g.letter + " '" + g.title + "'"); continue; }
      const drawn = g.tiles.filter((c) => c.tiles.length).length;
      if (drawn !== g.tiles.length) groupProblems.push(name + ": " + drawn + " of " + g.tiles.length + " layers drawn");
      groupProblems.push(...(await checkTiles(g, "seed1", name, X)).map((p) => name + " " + p));
    }
    const lacks = groups[2];
    if (lacks.run !== "gappy" || lacks.letter !== "D" || lacks.tiles.length || !/gappy has no analysed epoch 2/.test(lacks.text)) groupProblems.push("gappy: " + JSON.stringify(lacks).slice(0, 200));
    check(groupProblems.length === 0, "three runs compared: lettered B, C, D in the order given, each its own tiles against A (each run's own ζ at epoch 2), D's lack of epoch 2 said",
          groupProblems.slice(0, 4).join("; ") || groups.map((g) => g.letter + " " + g.run + ": " + g.tiles.filter((c) => c.tiles.length).length + " layers").join(", "));
    // The page's `nnfmri compare` command writes the same comparison as files: run as shown (from a folder
    // of its own), its compare.json counts, for each layer of B and C, the regions apart that the page's
    // notes count; gappy, without epoch 2, is left out of the command (which would refuse it).
    const commandText = await evaluate(`(document.querySelector("#compare-maps .compare-command code") || {}).textContent || ""`);
    const commandDir = path.join(base, "compare-command");
    fs.rmSync(commandDir, { recursive: true, force: true });
    fs.mkdirSync(commandDir);
    const commandProblems = [];
    const words = commandText.split(" ");  // ROOT and the run names hold no blank here
    if (commandText !== ["nnfmri", "compare", ...["seed1", "seed2", "unreadable"].map((n) => path.join(root, n)), "--epoch", "2", "--out", "compare-seed1"].join(" "))
      commandProblems.push("the command: " + commandText);
    else {
      try {
        execFileSync(nnfmri, words.slice(1), { cwd: commandDir, stdio: "ignore" });
        const written = JSON.parse(fs.readFileSync(path.join(commandDir, "compare-seed1", "compare.json"), "utf8"));
        for (const [i, X] of [[0, "B"], [1, "C"]]) {
          for (const card of groups[i].tiles) {
            const shown = /(\d+) of (\d+) regions' intervals apart/.exec(card.note);
            const layer = written.layers.find((l) => l.layer === card.layer);
            const counted = layer && layer.compared.find((c) => c.run === X);
            if (!shown || !counted || Number(shown[1]) !== counted.apart || Number(shown[2]) !== layer.regions)
              commandProblems.push(X + " " + card.layer + ": page '" + card.note.slice(-60) + "', compare.json " + JSON.stringify(counted));
          }
        }
      } catch (e) { commandProblems.push(String(e).slice(0, 200)); }
    }
    check(commandProblems.length === 0, "the comparison's nnfmri compare command runs as shown and its compare.json counts the regions apart the page outlines, layer by layer",
          commandProblems.slice(0, 3).join("; ") || commandText);
    const threeSettings = await settingsTable();
    check(JSON.stringify(threeSettings) === JSON.stringify([["setting", "A: seed1", "B: seed2", "C: unreadable", "D: gappy"], ["epochs", "10", "10", "2", "10"]]),
          "several runs compared: the settings table has a column per run and lists the setting one of them differs in", JSON.stringify(threeSettings));
    await evaluate(CANVAS_RECORDER);
    const legend = await evaluate(`(() => { const R = window.nnfmriReport, canvas = document.getElementById("curves");
      __rec.length = 0; R.setEpoch(R.state.e);
      const calls = __rec.filter((e) => e.cv === canvas), out = {};
      calls.forEach((e, i) => { if (e.name === "fillText" && / · /.test(e.a[0]) && i > 0 && calls[i - 1].name === "stroke") out[e.a[0]] = calls[i - 1].dash.join(","); });
      return out; })()`);
    const dashes = ["seed1", "seed2", "unreadable", "gappy"].map((name) => legend["train · " + name]);
    // every panel names each run in the run's dash; ζ stability draws each run's mean over layers
    const legendOk = ["test", "learning rate", "mean"].every((label) => ["seed1", "seed2", "unreadable", "gappy"].every((name, i) => legend[label + " · " + name] === dashes[i])) &&
      dashes[0] === "" && dashes.slice(1).every((d) => d) && new Set(dashes).size === 4;
    check(legendOk, "several runs compared: the Training chart's legend names every run in every panel (ζ stability: each run's mean), A solid and each compared run in a dash pattern of its own", JSON.stringify(legend));
    // a fourth compared run fills the comparison: the runs not compared then offer a disabled "compare"
    // (its title says why) until one is uncompared
    // the run list gives each run its letter in the comparison, beside its buttons
    const lettersOf = `Object.fromEntries([...document.querySelectorAll("#runs tr[data-run] .run-letter")].map((l) => [l.closest("tr").dataset.run, l.textContent]))`;
    const listLetters = await evaluate(lettersOf);
    check(JSON.stringify(listLetters) === JSON.stringify(Object.fromEntries((await apiRuns()).runs.map((r) => [r.name, { seed1: "A", seed2: "B", unreadable: "C", gappy: "D" }[r.name]]).filter((p) => p[1]))),
          "several runs compared: the run list shows each run's letter (A the shown run)", JSON.stringify(listLetters));
    const buttonsOf = `Object.fromEntries([...document.querySelectorAll("#runs tr[data-run]")].filter((tr) => tr.querySelector("button[data-action=compare]"))
      .map((tr) => { const b = tr.querySelector("button[data-action=compare]"); return [tr.dataset.run, b.textContent + (b.getAttribute("aria-disabled") === "true" ? " (disabled: " + b.title + ")" : "")]; }))`;
    await evaluate(`document.querySelector("#runs tr[data-run=short] button[data-action=compare]").click()`);
    const full = await settle(10000, () => evaluate(buttonsOf), (b) => b.short === "uncompare");
    const fullGroups = await settle(10000, groupsShown, (gs) => gs.length === 4);
    check(fullGroups.map((g) => g.letter + g.run).join() === "Bseed2,Cunreadable,Dgappy,Eshort" &&
          ["seed2", "unreadable", "gappy", "short"].every((n) => full[n] === "uncompare") && /^compare \(disabled: 4 runs are compared already/.test(full["seed1-copy"]),
          "four runs compared: the fourth lettered E, and a run not compared offers a disabled compare button saying why", JSON.stringify(full));
    // the disabled button still takes the focus (a keyboard user reaches it and hears its title) and a
    // press does nothing
    const pressed = await evaluate(`(() => { const b = document.querySelector("#runs tr[data-run='seed1-copy'] button[data-action=compare]"); b.focus(); b.click();
      return document.activeElement === b; })()`);
    await sleep(1500);
    const unchanged4 = await groupsShown();
    check(pressed && unchanged4.length === 4, "the disabled compare button takes the focus and a press compares nothing", JSON.stringify({ pressed, groups: unchanged4.length }));
    await evaluate(`document.querySelector("#runs tr[data-run=seed2] button[data-action=compare]").click()`);
    const freed = await settle(10000, () => evaluate(buttonsOf), (b) => b.seed2 === "compare");
    const freedGroups = await settle(10000, groupsShown, (gs) => gs.length === 3);
    check(freed["seed1-copy"] === "compare" && freedGroups.map((g) => g.letter + g.run).join() === "Bunreadable,Cgappy,Dshort",
          "one of four uncompared: the others lettered again in their order, and compare offered again", JSON.stringify({ freed, groups: freedGroups.map((g) => g.letter + g.run) }));
    // the address follows the choices (no reload): the shown run and the compared runs in order, so a
    // reload opens the same comparison
    const address = await evaluate("location.search");
    const reloaded = browser.waitFor("Page.loadEventFired", 30000);
    await cdp("Page.reload", {});
    await reloaded;
    const afterReload = await settle(20000, groupsShown, (gs) => gs.length === 3);
    check(address === "?run=seed1&compare=unreadable&compare=gappy&compare=short" && afterReload.map((g) => g.letter + g.run).join() === "Bunreadable,Cgappy,Dshort",
          "the address names the shown run and the compared runs as chosen, and a reload opens the same comparison", address + " → " + afterReload.map((g) => g.letter + g.run).join());
    // an address naming a run that is not there, the shown run itself and more than four: the first four
    // runs that can be compared are, and the address is rewritten to say so
    await navigate("seed1", ["nosuch", "seed1", "seed2", "unreadable", "gappy", "short", "seed1-copy"]);
    const trimmed = await settle(20000, groupsShown, (gs) => gs.length === 4);
    const trimmedAddress = await evaluate("location.search");
    check(trimmed.map((g) => g.letter + g.run).join() === "Bseed2,Cunreadable,Dgappy,Eshort" && trimmedAddress === "?run=seed1&compare=seed2&compare=unreadable&compare=gappy&compare=short",
          "an address with a missing run, the shown run and six more: the first four comparable runs are compared and the address says so", trimmed.map((g) => g.letter + g.run).join() + " " + trimmedAddress);

    // A run shown and a run compared that grow while the page is open (an epoch committed: new files, then
    // run.json): the slider on the newest epoch follows it, the layer of "ζ on the image" stays, and the
    // compared run is fetched again, so the new epoch is compared
    makeServedRun(path.join(root, "growA"), 2, 11);
    makeServedRun(path.join(root, "growB"), 2, 12);
    const grow = (name, epochs, seed) => {
      const staging = path.join(base, "staging-" + name), dir = path.join(root, name);
      makeServedRun(staging, epochs, seed);
      fs.cpSync(staging, dir, { recursive: true, filter: (src) => src !== path.join(staging, "run.json") });
      commit(name, fs.readFileSync(path.join(staging, "run.json")));
      fs.rmSync(staging, { recursive: true, force: true });
    };
    await navigate("growA", "growB");
    await waitUntil("growA compared with growB", 20000, () => evaluate(`document.body.dataset.ready === "1" && document.getElementById("compare-maps").dataset.epoch === "2" &&
      Number(document.getElementById("compare-maps").dataset.layers) > 0`));
    const picked = await evaluate(`(() => { const radios = [...document.querySelectorAll("input[name=image-layer]")];
      if (radios.length < 2) return null; radios[1].click(); return window.nnfmriReport.state.imageLayer; })()`);
    grow("growA", 3, 11);
    grow("growB", 3, 12);
    const grown = await settle(20000, () => evaluate(`(() => { const host = document.getElementById("compare-maps");
      return { epochs: document.body.dataset.epochs, epoch: host.dataset.epoch, layers: Number(host.dataset.layers), imageLayer: window.nnfmriReport.state.imageLayer,
               checked: (document.querySelector("input[name=image-layer]:checked") || {}).value }; })()`), (v) => v.epochs === "3" && v.epoch === "3" && v.layers > 0);
    check(picked !== null && grown.epochs === "3" && grown.imageLayer === picked && grown.checked === String(picked),
          "a shown run that grows: the layer of ζ on the image stays (" + picked + ")", JSON.stringify(grown));
    const grownProblems = grown.layers > 0 ? await checkTiles(await shownComparison(), "growA", "growB") : ["not compared"];
    check(grown.epoch === "3" && grown.layers > 0 && grownProblems.length === 0, "a compared run that grows is fetched again: its new epoch is compared",
          "epoch " + grown.epoch + ", " + grown.layers + " layers; " + (grownProblems.join("; ") || "values match"));

    // Runs that come and go while the page is open (every poll lists them again): a new run is listed; the
    // compared run broken (run.json malformed) ends the comparison; the shown run deleted: the page opens
    // the newest readable run
    fs.cpSync(path.join(root, "seed1"), path.join(root, "doomed"), { recursive: true });
    fs.cpSync(path.join(root, "seed2"), path.join(root, "victim"), { recursive: true });
    await navigate("doomed", "victim");
    await shownComparison();
    fs.cpSync(path.join(root, "seed2"), path.join(base, "newcomer"), { recursive: true });
    fs.renameSync(path.join(base, "newcomer"), path.join(root, "newcomer"));
    const appeared = await settle(10000, () => evaluate(`!!document.querySelector("#runs tr[data-run=newcomer]")`), (v) => v);
    check(appeared, "a run that appears while the page is open is listed without a reload");
    commit("victim", "{ not json");
    const dropped = await settle(10000, () => evaluate(`(() => { const tr = document.querySelector("#runs tr[data-run=victim]");
      return { hidden: document.getElementById("compare").hidden, row: tr ? tr.textContent : null, buttons: tr ? tr.querySelectorAll("button").length : -1,
               error: document.getElementById("live-error").textContent }; })()`), (v) => v.hidden && /error:/.test(v.row));
    check(dropped.hidden && /error: .*run\.json/.test(dropped.row) && dropped.buttons === 0 && dropped.error === "",
          "the compared run broken (run.json malformed): the comparison ends, its row shows the error line and offers no buttons", JSON.stringify(dropped));
    fs.rmSync(path.join(root, "doomed"), { recursive: true });
    const reopened = await settle(10000, () => evaluate(`({ run: document.body.dataset.run, ready: document.body.dataset.ready, title: document.getElementById("title").textContent })`),
      (v) => v.run !== "doomed");
    const newestNow = newestReadable((await apiRuns()).runs);
    check(reopened.run === newestNow && reopened.title.endsWith(newestNow), "the shown run deleted: the page opens the newest readable run, " + newestNow, JSON.stringify(reopened));
    // A shown run with no analysed epoch yet (a training run before its first one), compared: it says so
    // (not "seed1 has no analysed epoch null (its epochs: 1, …, 10)")
    const fresh = path.join(root, "fresh");
    fs.mkdirSync(fresh);
    fs.copyFileSync(path.join(root, "seed1", "config.json"), path.join(fresh, "config.json"));
    fs.writeFileSync(path.join(fresh, "run.json"), JSON.stringify({ format: "nnfmri run", version: 1, status: "running", epochs: 3, completed_epoch: 0,
                                                                    state: null, threads: 1, arguments: [], files: [] }));
    await navigate("fresh", "seed1");
    const none = await settle(20000, () => evaluate(`(() => { const host = document.getElementById("compare-maps");
      return { ready: document.body.dataset.ready, layers: host.dataset.layers, text: host.textContent, tiles: host.querySelectorAll(".compare-tile").length }; })()`),
      (v) => v.ready === "1" && v.layers === "0");
    check(none.layers === "0" && none.tiles === 0 && none.text === "fresh has no analysed epoch yet", "a shown run with no analysed epoch yet, compared: it says so", JSON.stringify(none));
    // No ?run=: the page opens the most recently updated readable run, not a malformed one rewritten
    // after it; ?run= of a malformed run says its name and error line
    commit("broken", "{ not json, again");
    const openPlain = browser.waitFor("Page.loadEventFired", 30000);
    await cdp("Page.navigate", { url });
    await openPlain;
    const opened = await settle(20000, () => evaluate(`document.body.dataset.ready === "1" ? document.body.dataset.run : ""`), (v) => v);
    const runsNow = (await apiRuns()).runs, newestOfAll = runsNow.reduce((a, r) => (r.updated > a.updated ? r : a)).name;
    check(opened === newestReadable(runsNow) && newestOfAll === "broken", "without ?run= the page opens the most recently updated readable run (" + newestReadable(runsNow) + "), not a newer malformed one",
          "opened " + JSON.stringify(opened) + ", newest of all " + newestOfAll);
    const plainAddress = await evaluate("location.search");
    check(plainAddress === "", "the newest run opened without ?run= is not written into the address (a reload opens the newest again)", JSON.stringify(plainAddress));
    const openBroken = browser.waitFor("Page.loadEventFired", 30000);
    await cdp("Page.navigate", { url: url + "?run=broken" });
    await openBroken;
    const brokenLine = await settle(10000, () => evaluate(`document.getElementById("live-error").textContent`), (v) => v);
    const brokenError = runsNow.find((r) => r.name === "broken").error;
    check(brokenLine === "broken: " + brokenError, "?run= of a malformed run: its name and error line", JSON.stringify(brokenLine));

    // ---- page load time of a 30-epoch run: served, then its static report.html (the baseline)
    if (args.load30 === "yes") {
      makeServedRun(path.join(root, "epochs30"), 30, 30);
      const loadTime = async (target, readyProbe) => {
        const t0 = Date.now();
        const done = browser.waitFor("Page.loadEventFired", 60000);
        await cdp("Page.navigate", { url: target });
        await done;
        await waitUntil("the page to be drawn", 60000, () => evaluate(readyProbe));
        return Date.now() - t0;
      };
      const served = [], inlined = [];
      const staticDir = path.join(base, "static30");
      makeRun(staticDir, 30, 30);
      execFileSync(nnfmri, ["report", staticDir], { stdio: "ignore" });
      for (let i = 0; i < 3; ++i) {
        served.push(await loadTime(url + "?run=epochs30", "document.body.dataset.ready === '1' && window.nnfmriReport.epochCount === 30"));
        inlined.push(await loadTime("file://" + path.join(staticDir, "report.html"), "document.body.dataset.ready === '1'"));
      }
      console.log("serve-browser-test: page load time of a 30-epoch run (navigation to drawn, 3 loads each): served median " + median(served) +
                  " ms (" + served.join(", ") + "; the first builds the data, later ones come from the cache), static report.html median " + median(inlined) + " ms (" + inlined.join(", ") + ")");
      check(served.every((ms) => ms > 0), "the 30-epoch run loads in the served page");
    }
    // the server gone (stopped here with SIGTERM, as a user's Ctrl-C): the page keeps run A drawn and
    // says the server is not answering, and that it keeps trying
    await navigate("seed1", "seed2");
    await waitUntil("seed1 drawn", 20000, () => evaluate("document.body.dataset.ready === '1' && document.body.dataset.run === 'seed1'"));
    // ROOT moved away while serving: api/runs answers 503 with the server's reason, which the status line
    // gives with "; trying again"; ROOT back: the runs are listed again (README)
    const beforeAway = problems.length, rowsBefore = await evaluate(`document.querySelectorAll("#runs tr[data-run]").length`);
    fs.renameSync(root, root + "-away");
    const reason = (await (await fetch(url + "api/runs")).json()).error;
    const away = await settle(10000, () => evaluate(`document.getElementById("live-status").textContent`), (s) => !s.startsWith("updated"));
    fs.renameSync(root + "-away", root);
    const back = await settle(10000, () => evaluate(`({ status: document.getElementById("live-status").textContent, rows: document.querySelectorAll("#runs tr[data-run]").length })`),
      (v) => v.status.startsWith("updated"));
    const awayOther = problems.splice(beforeAway).filter((p) => !/status of 503/.test(p));  // the browser logs each refused list itself
    check(away === reason + "; trying again" && back.status.startsWith("updated ") && back.rows === rowsBefore && awayOther.length === 0,
          "ROOT moved away: the status line gives the server's reason and that the page tries again; ROOT back: the runs are listed again",
          JSON.stringify({ away, back, awayOther }));
    const beforeStop = problems.length;
    server.kill("SIGTERM");
    const gone = await waitUntil("the page to notice", 20000, () => evaluate(`(() => { const s = document.getElementById("live-status").textContent;
      return /not answering/.test(s) ? { status: s, epochs: window.nnfmriReport.epochCount } : null; })()`));
    await sleep(1500);  // one more poll: still trying
    const again = await evaluate(`document.getElementById("live-status").textContent`);
    const other = problems.splice(beforeStop).filter((p) => !/ERR_CONNECTION_REFUSED/.test(p));  // the browser logs each refused poll itself
    check(/^server not answering \(.+\); trying again$/.test(gone.status) && gone.epochs === 10 && /not answering/.test(again) && other.length === 0,
          "the server stopped: run A stays drawn, the status says the server is not answering and that the page keeps trying", JSON.stringify({ gone, again, other }));
  } finally {
    await browser.close();
    fs.rmSync(profile, { recursive: true, force: true });
    for (const child of children) if (child.exitCode === null) child.kill("SIGTERM");
  }
  await new Promise((resolve) => server.exitCode !== null ? resolve() : server.on("exit", resolve));
  check(server.exitCode === 0, "serve stops cleanly on SIGTERM", "exit " + server.exitCode);
  // static report.html pages make no request: only the served ones reach the server
  check(problems.length === 0, "no console error, exception, dialog or request elsewhere", problems.join(" | ") || "none");
}

finish(main());
