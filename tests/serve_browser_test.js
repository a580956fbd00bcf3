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
//    error line and the others keep working.
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
const { makeRun, makeServedRun } = require("./synthetic_run.js");
const { Browser, sleep, attachSession } = require("./cdp.js");

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
    makeServedRun(path.join(root, "seed1"), 10, 1);
    makeServedRun(path.join(root, "seed2"), 10, 2);
    fs.cpSync(path.join(root, "seed1"), path.join(root, "seed1-copy"), { recursive: true });
    fs.mkdirSync(path.join(root, "broken"));
    fs.writeFileSync(path.join(root, "broken", "run.json"), "{ not json");
    const navigate = async (a, b) => {
      const loadedAgain = browser.waitFor("Page.loadEventFired", 30000);
      await cdp("Page.navigate", { url: url + "?run=" + a + "&compare=" + b });
      await loadedAgain;
    };
    // The comparison as drawn: per layer card its mean |Δζ| and tiles (which run, label, values, scale).
    const shownComparison = () => waitUntil("the comparison", 20000, () => evaluate(`(() => {
        const host = document.getElementById("compare-maps");
        if (document.getElementById("compare").hidden || !Number(host.dataset.layers)) return null;
        const cards = [...host.querySelectorAll(".layer-view")];
        return { layers: Number(host.dataset.layers), mean: cards.map((c) => Number(c.dataset.meanAbs || 0)),
                 tiles: cards.map((c) => ({ layer: c.dataset.layer, tiles: [...c.querySelectorAll(".compare-tile")].map((t) => ({
                   run: t.dataset.run, label: t.querySelector(".compare-label").textContent, values: JSON.parse(t.dataset.values),
                   scale: Number(t.dataset.scale), drawn: t.querySelector("canvas").width > 0 })) })),
                 title: document.getElementById("compare-title").textContent, epoch: host.dataset.epoch,
                 broken: document.querySelector("#runs tr[data-run=broken]").textContent }; })()`));
    const compare = async (a, b) => { await navigate(a, b); return shownComparison(); };
    const diff = await compare("seed1", "seed2");
    // the served page draws NN-EEG from the per-step rows too (eeg/epoch_NNN.npy of the synthetic run)
    const served = await evaluate(`(() => { const c = document.getElementById("eeg-chart");
      return { traces: c.dataset.traces, lanes: Number(c.dataset.lanes), geometry: c.dataset.geometry ? JSON.parse(c.dataset.geometry) : null }; })()`);
    check(served.traces === "steps" && served.lanes > 0 && served.geometry && served.geometry.first === 1 && served.geometry.last === 1000,
          "the served page's NN-EEG lanes are per step (steps 1 … 1000 of the rows)", JSON.stringify(served));
    check(diff.layers > 0 && diff.mean.some((m) => m > 0), "two runs side by side: ζ difference maps, nonzero for different seeds",
          diff.title + " at epoch " + diff.epoch + ", " + diff.layers + " layers, mean |Δζ| " + diff.mean.map((m) => m.toFixed(3)).join(" "));
    // A's and B's tiles hold each run's own ζ at the epoch (from the data endpoint, not the page), the
    // third their difference; A and B on one scale (the larger |ζ|), the difference on its own.
    const zetaAt = async (name, epoch) => {
      const data = await (await fetch(url + "api/runs/" + name + "/data")).json();
      const ep = data.epochs.find((e) => e.epoch === Number(epoch));
      return Object.fromEntries(data.layers.map((layer, l) => [layer.name, ep.layers[l].z ? ep.layers[l].z.zeta : null]));
    };
    const checkTiles = async (shown, a, b) => {
      const za = await zetaAt(a, shown.epoch), zb = await zetaAt(b, shown.epoch), problems = [];
      for (const card of shown.tiles.filter((c) => c.tiles.length)) {
        const [A, B, D] = card.tiles, want = [za[card.layer], zb[card.layer]];
        const zmax = Math.max(...want[0].map(Math.abs), ...want[1].map(Math.abs));
        const dmax = Math.max(...want[0].map((v, r) => Math.abs(v - want[1][r])));
        if (card.tiles.length !== 3 || A.run !== "A" || B.run !== "B" || D.run !== "diff") problems.push(card.layer + ": tiles " + card.tiles.map((t) => t.run));
        else if (!A.label.includes(a) || !B.label.includes(b) || D.label !== "A − B") problems.push(card.layer + ": labels " + [A.label, B.label, D.label]);
        else if (JSON.stringify(A.values) !== JSON.stringify(want[0]) || JSON.stringify(B.values) !== JSON.stringify(want[1])) problems.push(card.layer + ": A/B values differ from the runs' ζ");
        else if (D.values.some((v, r) => Math.abs(v - (want[0][r] - want[1][r])) > 1e-12)) problems.push(card.layer + ": A − B is not ζ(A) − ζ(B)");
        else if (A.scale !== zmax || B.scale !== zmax || Math.abs(D.scale - dmax) > 1e-12) problems.push(card.layer + ": scales " + [A.scale, B.scale, D.scale] + " expected " + [zmax, dmax]);
        else if (![A, B, D].every((t) => t.drawn)) problems.push(card.layer + ": a tile not drawn");
      }
      return problems;
    };
    const tileProblems = await checkTiles(diff, "seed1", "seed2");
    check(diff.tiles.filter((c) => c.tiles.length).length === diff.layers && tileProblems.length === 0,
          "side by side: per layer A's ζ, B's ζ (one shared scale) and A − B, the values each run's own at epoch " + diff.epoch, tileProblems.join("; ") || "ok");
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
    await waitUntil("seed1 drawn", 20000, () => evaluate("document.body.dataset.ready === '1' && window.nnfmriReport.epochCount === 10"));
    await evaluate("window.nnfmriReport.setEpoch(2)");
    const lacking = await waitUntil("the comparison with a 2-epoch run at epoch 3", 20000, () => evaluate(`(() => {
      const host = document.getElementById("compare-maps");
      return host.dataset.epoch === "3" && host.dataset.layers === "0" ? { text: host.textContent, tiles: host.querySelectorAll(".compare-tile").length } : null; })()`));
    check(lacking.tiles === 0 && /short has no analysed epoch 3/.test(lacking.text), "an epoch B lacks is said so, no stale maps", lacking.text);
    // the run list by keyboard: Enter on seed2's "compare" button compares it, and after the poll redraws
    // the list the focus is on the same button, now "uncompare" (before 2026-12-04 the redraw dropped the
    // focus to the page's start, at every committed epoch of a training run too)
    await evaluate(`[...document.querySelectorAll("#runs tr[data-run=seed2] button")].find((b) => b.textContent === "compare").focus()`);
    for (const type of ["keyDown", "keyUp"])  // keyDown with its text: a button acts on Enter's keypress
      await cdp("Input.dispatchKeyEvent", { type, key: "Enter", code: "Enter", windowsVirtualKeyCode: 13, text: type === "keyDown" ? "\r" : undefined });
    const kept = await waitUntil("seed2 compared", 20000, () => evaluate(`(() => { const b = [...document.querySelectorAll("#runs tr[data-run=seed2] button")];
      if (!b.some((x) => x.textContent === "uncompare")) return null;
      const e = document.activeElement;
      return { focus: e.tagName + (e.tagName === "BUTTON" ? ":" + e.closest("tr").dataset.run + ":" + e.textContent : ""), compare: document.getElementById("compare-title").textContent }; })()`));
    check(kept.focus === "BUTTON:seed2:uncompare" && /seed2/.test(kept.compare), "Enter on a run's compare button compares it and the focus stays on that button",
          JSON.stringify(kept));
    // "show" on the compared run: the page shows that run, and a run is not compared with itself (no
    // test clicked "show" before 2026-12-06: bench/study/js_coverage.js)
    await evaluate(`document.querySelector("#runs tr[data-run=seed2] button[data-action=show]").click()`);
    const switched = await waitUntil("seed2 shown", 20000, () => evaluate(`document.body.dataset.run === "seed2" && document.body.dataset.ready === "1" ?
      { run: document.body.dataset.run, title: document.getElementById("title").textContent, compareHidden: document.getElementById("compare").hidden,
        current: [...document.querySelectorAll("#runs tr.current")].map((r) => r.dataset.run) } : null`));
    check(switched.title.endsWith("seed2") && switched.compareHidden && switched.current.join() === "seed2",
          "'show' on a run of the list shows that run, marked current, and ends its comparison with itself", JSON.stringify(switched));
    // at a phone's width (375 × 667) the run list (six runs, one an error line) scrolls within its box,
    // not the page, and is inset like the rest of the page (before 2026-12-04 it sat at the window's
    // left edge at every width, and at 375 px this list pushed the page 257 px sideways)
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
    // Only a failure of the shown run had been seen before 2026-12-06 (bench/study/js_coverage.js).
    makeServedRun(path.join(root, "unreadable"), 2, 9);
    fs.writeFileSync(path.join(root, "unreadable", "analysis", "epoch_001", "grid.json"), "{ \"layers\": [");
    const before = problems.length;
    await navigate("seed1", "unreadable");
    const refused = await waitUntil("the compared run's error", 20000, () => evaluate(`(() => { const e = document.getElementById("live-error").textContent;
      return e ? { error: e, tiles: document.querySelectorAll("#compare-maps .compare-tile").length, ready: document.body.dataset.ready } : null; })()`));
    const answered = problems.splice(before).filter((p) => !/status of 422/.test(p));  // the browser logs the refused request itself
    check(/^unreadable: .*grid\.json/.test(refused.error) && refused.tiles === 0 && refused.ready === "1" && answered.length === 0,
          "a compared run whose data cannot be built: its name and the server's reason, no B maps, run A still drawn", JSON.stringify(refused));

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
    // says the server is not answering, and that it keeps trying (not seen before 2026-12-06)
    await navigate("seed1", "seed2");
    await waitUntil("seed1 drawn", 20000, () => evaluate("document.body.dataset.ready === '1' && document.body.dataset.run === 'seed1'"));
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
