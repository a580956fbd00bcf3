#!/usr/bin/env node
// bench/serve_load.js — a bounded load test of `nnfmri serve`, on loopback only (make bench-serve).
//
// Writes two synthetic 10-epoch runs (tests/synthetic_run.js) under build/serve-load/runs, starts
// `nnfmri serve` on a free 127.0.0.1 port and runs ROUNDS rounds of CLIENTS concurrent clients × REQUESTS
// requests each (keep-alive connections), cycling through the run list (4 in 10), listed files (3 in
// 10), the page (1 in 10) and a run's data (1 in 10; 2.2 MB).  Per round: requests/s, failed requests (connection errors or a status other than
// 200) and the server's resident memory after the round (VmRSS); at the end its peak (VmHWM).  Memory
// growth = RSS after the last round − RSS after the first (the first round fills the data cache).
// --mix file: the baseline, every request for one small listed file (run.json, 0.2 kB): the HTTP
// layer's own rate on this machine, without the run list's and the data's work.
// --mix epoch: instead of the load, the delay a newly committed epoch adds: for synthetic runs of 3 and
// 30 analysed epochs, run.json commits all but the last, the run's data is fetched (the first build),
// then run.json commits the last epoch and the data is fetched again, timed (ROUNDS times, going back
// to the previous epoch in between): the server's rebuild at a new version, on top of the page's poll.
// Stops by itself; exit status 1 when a request failed.
//
// usage: node bench/serve_load.js [--nnfmri build/nnfmri] [--clients 50] [--requests 200] [--rounds 3] [--mix page|file|epoch]
"use strict";
const fs = require("fs");
const path = require("path");
const http = require("http");
const { spawn } = require("child_process");
const { makeServedRun } = require("../tests/synthetic_run.js");

const { parseArgs } = require("../tests/cli.js");
const args = parseArgs({ nnfmri: "build/nnfmri", clients: "50", requests: "200", rounds: "3", threads: "8", mix: "page" }, "serve-load");
const CLIENTS = Number(args.clients), REQUESTS = Number(args.requests), ROUNDS = Number(args.rounds);

function memory(pid) {
  const status = fs.readFileSync("/proc/" + pid + "/status", "utf8");
  const kb = (key) => Number((status.match(new RegExp("^" + key + ":\\s+(\\d+) kB", "m")) || [0, NaN])[1]);
  return { rss: kb("VmRSS") / 1024, hwm: kb("VmHWM") / 1024 };
}

function get(agent, port, urlPath) {
  return new Promise((resolve) => {
    const req = http.get({ host: "127.0.0.1", port, path: urlPath, agent }, (res) => {
      let bytes = 0;
      res.on("data", (d) => { bytes += d.length; });
      res.on("end", () => resolve({ ok: res.statusCode === 200, bytes }));
      res.on("error", () => resolve({ ok: false, bytes }));
    });
    req.on("error", () => resolve({ ok: false, bytes: 0 }));
  });
}

async function main() {
  const base = path.resolve("build/serve-load"), root = path.join(base, "runs");
  fs.rmSync(base, { recursive: true, force: true });
  const epochRuns = [["epochs3", 3], ["epochs30", 30]];
  const commit = (name, epochs, completed) => {
    const file = path.join(root, name, "run.json"), doc = JSON.parse(fs.readFileSync(file, "utf8"));
    doc.completed_epoch = completed;
    fs.writeFileSync(file + ".tmp", JSON.stringify(doc));
    fs.renameSync(file + ".tmp", file);
  };
  if (args.mix === "epoch") for (const [name, epochs] of epochRuns) { makeServedRun(path.join(root, name), epochs, epochs); commit(name, epochs, epochs - 1); }
  else for (const [name, seed] of [["seed1", 1], ["seed2", 2]]) makeServedRun(path.join(root, name), 10, seed);
  const server = spawn(path.resolve(args.nnfmri), ["serve", root, "--port", "0", "--threads", args.threads], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  server.stdout.on("data", (d) => { out += d; });
  for (let i = 0; !/:(\d+)\//.test(out); ++i) {
    if (i > 400) throw new Error("serve did not start: " + out);
    await new Promise((r) => setTimeout(r, 25));
  }
  const port = Number(out.match(/127\.0\.0\.1:(\d+)\//)[1]);
  if (args.mix === "epoch") {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const timed = async (urlPath) => {
      const t0 = process.hrtime.bigint(), r = await get(agent, port, urlPath);
      if (!r.ok) throw new Error(urlPath + ": failed");
      return Number(process.hrtime.bigint() - t0) / 1e6;
    };
    for (const [name, epochs] of epochRuns) {
      const data = "/api/runs/" + name + "/data", first = await timed(data), delays = [];
      for (let round = 1; round <= ROUNDS; ++round) {
        commit(name, epochs, epochs);
        delays.push(await timed(data));
        commit(name, epochs, epochs - 1);
        await timed(data);
      }
      console.log("serve-load: " + name + ": first build of " + (epochs - 1) + " epochs " + first.toFixed(0) + " ms; epoch " + epochs +
                  " committed, data rebuilt in " + delays.map((ms) => ms.toFixed(0)).join(", ") + " ms; server RSS " + memory(server.pid).rss.toFixed(1) + " MB");
    }
    agent.destroy();
    server.kill("SIGTERM");
    await new Promise((resolve) => server.on("exit", resolve));
    fs.rmSync(base, { recursive: true, force: true });
    return;
  }
  console.log("serve-load: " + out.trim() + "; " + CLIENTS + " clients × " + REQUESTS + " requests, " + ROUNDS + " rounds, server threads " + args.threads + ", mix " + args.mix);
  console.log("serve-load: server RSS before the load " + memory(server.pid).rss.toFixed(1) + " MB");
  // One request in ten is a run's data (2.2 MB each), as a page polling the list and fetching a run now and then.
  const paths = args.mix === "file" ? ["/api/runs/seed1/files/run.json"] : ["/api/runs", "/api/runs/seed2/files/config.json", "/api/runs", "/", "/api/runs/seed1/files/run.json",
                 "/api/runs", "/api/runs/seed2/files/metrics.jsonl", "/api/runs", "/api/runs/seed1/data", "/api/runs"];
  let failedTotal = 0;
  const rss = [];
  for (let round = 1; round <= ROUNDS; ++round) {
    const t0 = process.hrtime.bigint();
    let failed = 0, bytes = 0, count = 0;
    await Promise.all(Array.from({ length: CLIENTS }, async (_, c) => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      for (let i = 0; i < REQUESTS; ++i) {
        const r = await get(agent, port, paths[(c + i) % paths.length]);
        ++count; bytes += r.bytes;
        if (!r.ok) ++failed;
      }
      agent.destroy();
    }));
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const m = memory(server.pid);
    rss.push(m.rss);
    failedTotal += failed;
    console.log("serve-load: round " + round + ": " + count + " requests in " + seconds.toFixed(2) + " s = " + (count / seconds).toFixed(0) +
                " requests/s, " + (bytes / 1e6 / seconds).toFixed(0) + " MB/s, " + failed + " failed, server RSS " + m.rss.toFixed(1) + " MB");
  }
  const m = memory(server.pid);
  console.log("serve-load: peak server RSS (VmHWM) " + m.hwm.toFixed(1) + " MB; RSS growth from round 1 to round " + ROUNDS + ": " +
              (rss[rss.length - 1] - rss[0]).toFixed(1) + " MB; failed requests " + failedTotal);
  server.kill("SIGTERM");
  await new Promise((resolve) => server.on("exit", resolve));
  fs.rmSync(base, { recursive: true, force: true });
  process.exit(failedTotal ? 1 : 0);
}

main().catch((e) => { console.error("serve-load: error: " + e.message); process.exit(1); });
