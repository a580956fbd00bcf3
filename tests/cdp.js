// tests/cdp.js — headless Chromium driven over the DevTools protocol on a pipe (--remote-debugging-pipe:
// NUL-separated JSON on file descriptors 3 and 4, so node needs no WebSocket client or npm package),
// shared by the browser tests (report_browser_test.js, serve_browser_test.js).
// NNFMRI_JS_COVERAGE=FILE: every page session records V8's precise (block) coverage; before each
// navigation and when the browser closes, each script's source and V8's coverage of its functions are
// appended to FILE, one JSON line per script ({source, functions}); bench/study/js_coverage.js maps
// them onto report/page/*.js.  Off by default.
"use strict";
const fs = require("fs");
const { spawn } = require("child_process");

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
    this.coverageTakers = [];
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
    for (const take of this.coverageTakers) await take().catch(() => {});
    try { await Promise.race([this.send("Browser.close"), new Promise((r) => setTimeout(r, 3000))]); } catch (e) { /* already gone */ }
    const timer = setTimeout(() => this.proc.kill("SIGKILL"), 5000);
    await this.exited;
    clearTimeout(timer);
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A page session of `browser`: {cdp(method, params), evaluate(expression)}.  Every console error,
// uncaught exception, error log entry, dialog and request to a URL that `allowedURL` does not match is
// pushed onto `problems` as one line.
async function attachSession(browser, problems, allowedURL) {
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
    if (m.method === "Network.requestWillBeSent" && !allowedURL.test(m.params.request.url)) problems.push("network request: " + m.params.request.url);
  });
  await Promise.all([cdp("Runtime.enable"), cdp("Page.enable"), cdp("Log.enable"), cdp("Network.enable")]);
  await cdp("Emulation.setDeviceMetricsOverride", { width: 1400, height: 1000, deviceScaleFactor: 1, mobile: false });
  const send = process.env.NNFMRI_JS_COVERAGE ? await recordCoverage(browser, cdp, process.env.NNFMRI_JS_COVERAGE) : cdp;
  const evaluate = async (expression) => {
    const r = await cdp("Runtime.evaluate", { expression, returnByValue: true, awaitPromise: true });
    if (r.exceptionDetails) throw new Error("evaluate failed: " + expression + ": " + JSON.stringify(r.exceptionDetails));
    return r.result.value;
  };
  return { cdp: send, evaluate };
}

// The cdp() of attachSession's session with precise coverage on: it takes the coverage before each
// Page.navigate (a navigation drops the page's scripts), and the browser's close() takes the last.
async function recordCoverage(browser, cdp, file) {
  await cdp("Profiler.enable");
  await cdp("Debugger.enable");
  await cdp("Profiler.startPreciseCoverage", { callCount: true, detailed: true });
  const take = async () => {
    const { result } = await cdp("Profiler.takePreciseCoverage");
    for (const script of result) {
      if (!/^(file|http):/.test(script.url)) continue;
      const { scriptSource } = await cdp("Debugger.getScriptSource", { scriptId: script.scriptId });
      fs.appendFileSync(file, JSON.stringify({ source: scriptSource, functions: script.functions }) + "\n");
    }
  };
  browser.coverageTakers.push(take);
  return async (method, params) => {
    if (method === "Page.navigate") await take();
    return cdp(method, params);
  };
}

// A page-side script for the checks of what a page's canvases draw (both browser tests): window.__rec
// records every fillText, fillRect, strokeRect, arc and stroke call of a 2-D context (its canvas, the
// styles then, the line dash, the arguments); window.__norm(css) is a CSS colour as a canvas writes it back.  Once per page:
// await evaluate(CANVAS_RECORDER).
const CANVAS_RECORDER = `(() => { if (window.__rec) return; window.__rec = [];
  const P = CanvasRenderingContext2D.prototype;
  for (const name of ["fillText", "fillRect", "strokeRect", "arc", "stroke"]) {
    const f = P[name];
    P[name] = function (...a) {
      window.__rec.push({ cv: this.canvas, name, fill: this.fillStyle, stroke: this.strokeStyle, width: this.lineWidth,
                          align: this.textAlign, alpha: this.globalAlpha, dash: this.getLineDash(), a });
      return f.apply(this, a);
    };
  }
  window.__norm = (css) => { const c = document.createElement("canvas").getContext("2d"); c.fillStyle = css; return c.fillStyle; };
})()`;

module.exports = { Browser, sleep, attachSession, CANVAS_RECORDER };
