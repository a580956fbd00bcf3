#!/usr/bin/env python3
"""bench/study/monitor_mutants.py — a mutation audit of report/page/monitor.js against the browser test's
monitor pages (tests/report_browser_test.js --only monitor: monitorPage, about 5 s a mutant here).

Each mutant is one plausible bug: one change to monitor.js that breaks a rule of README's "Monitoring"
section (and its paragraph on monitor.html) or of monitor.js's comments.  monitor.js is embedded in the
binary (report/page.cpp's .incbin), so each mutant is written into the tree, build/nnfmri relinked (1 s),
copied to build/mutants/ID/ and monitor.js restored (also on an error or Ctrl-C), then the monitor part of
the browser test run on that binary (a hang counts as killed after 180 s; the whole process group, Chromium
included, is killed): mutation.embedded_page_audit, two mutants at a time.  Prints one line per mutant and
the counts.  Run from the repository's root with build/nnfmri built:
python3 bench/study/monitor_mutants.py [--jobs N] [ID ...].  Results: bench/README.md, "Mutation audit of monitor.js".
"""
import sys

from mutation import embedded_page_audit

JS = "report/page/monitor.js"
M = [
# ---- timeline: one dot per image at x = pad + (W − 2·pad)·i/(n − 1), higher = more abnormal = up
("T1", "if (hi === lo) hi = lo + 1;", ""),
("T2", "(n > 1 ? i / (n - 1) : 0.5)", "(n > 1 ? i / n : 0.5)"),
("T3", "y = (v) => H - pad - (H - 2 * pad) * (v - lo) / (hi - lo)", "y = (v) => pad + (H - 2 * pad) * (v - lo) / (hi - lo)"),
("T4", "for (const w of D.windows) if (w[2]) ctx.fillRect", "for (const w of D.windows) ctx.fillRect"),
("T5", "Math.max(1, x(w[0] + w[1] - 1) - x(w[0]))", "Math.max(1, x(w[0] + w[1]) - x(w[0]))"),
("T7", "ctx.fillText(fmt(hi), 2, pad);\n    ctx.fillText(fmt(lo), 2, H - pad);", "ctx.fillText(fmt(lo), 2, pad);\n    ctx.fillText(fmt(hi), 2, H - pad);"),
("T8", "\"image \" + (n - 1), W - pad", "\"image \" + n, W - pad"),
("T9", "select.addEventListener(\"change\", () => { defineScore(); drawTimeline(); });", "select.addEventListener(\"change\", () => { defineScore(); });"),
("T10", "lo = Math.min(lo, s[d]); hi = Math.max(hi, s[d]);", "lo = Math.min(lo, s[0]); hi = Math.max(hi, s[0]);"),
("T12", "(n > 1 ? i / (n - 1) : 0.5)", "i / (n - 1)"),
("T13", "D.detectors[d] + \": higher = more abnormal", "D.detectors[0] + \": higher = more abnormal"),
# ---- definitions
("D1", "select.addEventListener(\"change\", () => { defineScore(); drawTimeline(); });", "select.addEventListener(\"change\", () => { drawTimeline(); });"),
("D3", "[\"its KS distance\", \"ks\"]", "[\"its KS distance\", \"most\"]"),
("D4", "...D.detectors.map((name, i) =>", "...D.detectors.slice(1).map((name, i) =>"),
("D7", "TIPS[name] ? term(name, name) : name", "TIPS[name] ? term(name, \"spatial_typ\") : name"),
# ---- the alarm table and the subtitle
("A1", "const alarms = D.windows.filter((w) => w[2]);", "const alarms = D.windows;"),
("A2", "String(Math.round(w[0] / D.window))", "String(Math.round(w[0] / D.window) + 1)"),
("A3", "w[0] + \"–\" + (w[0] + w[1] - 1)", "w[0] + \"–\" + (w[0] + w[1])"),
("A4", "w[3] + \" of \" + w[4]", "w[4] + \" of \" + w[3]"),
("A6", "fmt(w[6], 3), fmt(w[7], 3)", "fmt(w[6]), fmt(w[7])"),
("A7", "D.windows.filter((w) => w[2]).length + \" alarms (\"", "D.windows.length + \" alarms (\""),
("A8", "else if (!alarms.length) host.appendChild(el(\"p\", \"No window alarmed.\"));", "else if (!D.windows.length) host.appendChild(el(\"p\", \"No window alarmed.\"));"),
# ---- the image and its region maps
("R1", "cell[at] = Math.max(cell[at] || 0, Math.abs(m.z[r]));", "cell[at] = Math.abs(m.z[r]);"),
("R2", "zmax = Math.max(zmax, Math.abs(m.z[r]));", "zmax = Math.max(zmax, m.z[r]);"),
("R3", "const [i, j] = coordsOf(m.grid, r), at", "const [j, i] = coordsOf(m.grid, r), at"),
("R4", "ctx.fillRect(j * kk, i * kk, kk, kk);", "ctx.fillRect(i * kk, j * kk, kk, kk);"),
("R5", "    for (const m of s.maps) {\n      const [gh, gw, gc] = m.grid, cell = [];\n      let zmax = 0;", "    let zmax = 0;\n    for (const m of s.maps) {\n      const [gh, gw, gc] = m.grid, cell = [];"),
("R6", "s.pixels[plane + p], s.pixels[2 * plane + p]]", "s.pixels[2 * plane + p], s.pixels[plane + p]]"),
("R7", "ctx.strokeRect(s.top[1] * k, s.top[0] * k, (s.top[3] - s.top[1]) * k, (s.top[2] - s.top[0]) * k);",
       "ctx.strokeRect(s.top[0] * k, s.top[1] * k, (s.top[2] - s.top[0]) * k, (s.top[3] - s.top[1]) * k);"),
("R8", "(s.label === null ? \", unlabelled\"", "(!s.label ? \", unlabelled\""),
("R9", "imageSelect.addEventListener(\"change\", drawImage);", ""),
("R12", "legend.high.textContent = fmt(zmax, 3);", "legend.high.textContent = fmt(zmax);"),
# ---- printing: 3 bitmap pixels per CSS pixel while printing, the screen's ratio again afterwards
("P1", "window.addEventListener(\"afterprint\", () => printCanvases(false));", ""),
("P2", "const printCanvases = (on) => { printing = on; drawTimeline(); drawImage(); };", "const printCanvases = (on) => { printing = on; drawTimeline(); };"),
("P3", "drawRampBar(legend.bar, SEQ, pixelRatio());", "drawRampBar(legend.bar, SEQ, window.devicePixelRatio);"),
]


if __name__ == "__main__":
    embedded_page_audit("monitor_mutants", JS, M, ["node", "tests/report_browser_test.js", "--only", "monitor"], 180, sys.argv[1:])
