#!/usr/bin/env node
// bench/study/serve_compare_cost.js — what comparing more runs costs the served page (not run by CI).
//
// Writes five synthetic 10-epoch runs (tests/synthetic_run.js: 8 layers each) under
// build/serve-compare-cost/runs, starts `nnfmri serve` on them and opens the page in headless Chromium
// with 0 (the null: the shown run alone), 1, 2, 3 and 4 runs compared. For each it times, in the page,
// MOVES moves of the epoch slider (window.nnfmriReport.setEpoch: the layer views, the comparison's
// tiles and the Training chart drawn again, synchronously) and reports the median and the slowest in
// ms, with the number of canvases drawn.
//
// usage: node bench/study/serve_compare_cost.js [--nnfmri build/nnfmri] [--moves 40]
"use strict";
const fs = require("fs");
const os = require("os");
const path = require("path");
const { spawn } = require("child_process");
const { makeServedRun } = require("../../tests/synthetic_run.js");
const { Browser, sleep, attachSession } = require("../../tests/cdp.js");
const { parseArgs } = require("../../tests/cli.js");

const args = parseArgs({ nnfmri: "build/nnfmri", moves: "40", chromium: process.env.CHROMIUM || "/usr/bin/chromium" }, "serve-compare-cost");

async function main() {
  const base = path.resolve("build/serve-compare-cost"), root = path.join(base, "runs");
  fs.rmSync(base, { recursive: true, force: true });
  const names = ["a", "b", "c", "d", "e"];
  names.forEach((name, i) => makeServedRun(path.join(root, name), 10, i + 1));
  const server = spawn(path.resolve(args.nnfmri), ["serve", root, "--port", "0"], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  server.stdout.on("data", (d) => { out += d; });
  while (!/http:\/\/127\.0\.0\.1:\d+\//.test(out)) await sleep(50);
  const url = out.match(/http:\/\/127\.0\.0\.1:\d+\//)[0];
  const browser = new Browser(args.chromium, fs.mkdtempSync(path.join(os.tmpdir(), "nnfmri-chromium-")));
  try {
    const { cdp, evaluate } = await attachSession(browser, [], /./);
    await cdp("Emulation.setDeviceMetricsOverride", { width: 1280, height: 900, deviceScaleFactor: 1, mobile: false });
    for (let k = 0; k <= 4; ++k) {
      const loaded = browser.waitFor("Page.loadEventFired", 30000);
      await cdp("Page.navigate", { url: url + "?run=a" + names.slice(1, 1 + k).map((n) => "&compare=" + n).join("") });
      await loaded;
      const want = k === 0 ? "document.getElementById('compare').hidden" : "!!document.getElementById('compare-maps').dataset.epoch && Number(document.getElementById('compare-maps').dataset.layers) > 0";
      for (let t = 0; !(await evaluate(`document.body.dataset.ready === "1" && window.nnfmriReport.epochCount === 10 && ${want}`)); ++t) {
        if (t > 400) throw new Error("the page with " + k + " runs compared was not drawn in 20 s");
        await sleep(50);
      }
      const r = await evaluate(`(() => { const R = window.nnfmriReport, ms = [];
        for (let i = 0; i < ${Number(args.moves)}; ++i) { const t0 = performance.now(); R.setEpoch(i % 10); ms.push(performance.now() - t0); }
        ms.sort((x, y) => x - y);
        return { median: ms[Math.floor((ms.length - 1) / 2)], max: ms[ms.length - 1], canvases: document.querySelectorAll("canvas").length,
                 tiles: document.querySelectorAll("#compare-maps .compare-tile").length }; })()`);
      console.log("serve-compare-cost: " + k + " compared: slider move median " + r.median.toFixed(1) + " ms, slowest " + r.max.toFixed(1) +
                  " ms; " + r.tiles + " comparison tiles, " + r.canvases + " canvases in the page");
    }
  } finally {
    await browser.close();
    server.kill("SIGTERM");
  }
}
main().catch((err) => { console.error("serve-compare-cost: " + err.message); process.exit(1); });
