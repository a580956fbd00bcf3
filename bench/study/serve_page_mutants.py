#!/usr/bin/env python3
"""bench/study/serve_page_mutants.py — a mutation audit of the parts of report/page/report.js that run only
when `nnfmri serve` serves the page (the run list and its show / compare buttons, polling and the version
check, the user's place kept across a refresh, ?run= and ?compare=, the status and error lines, the compare
view) against tests/serve_browser_test.js (`make test-serve`, all of it; about 35 s a mutant here).

Each mutant is one plausible bug: one change to report.js that breaks a rule of README's `nnfmri serve`
section ("watching runs live") or of report.js's comments.  As report_mutants.py (its pattern): report.js is
embedded in the binary (report/page.cpp's .incbin), so each mutant is written into the tree, build/nnfmri
relinked, copied to build/mutants/ID/ and report.js restored (also on an error or Ctrl-C), then the serve
browser test run on that binary (a hang counts as killed after 300 s; the whole process group, Chromium
and the server included, is killed).  Prints one line per mutant and the counts.  Run from the repository's
root with build/nnfmri built: python3 bench/study/serve_page_mutants.py [--jobs N] [ID ...].
Results: bench/README.md, "Mutation audit of report.js's served parts".
"""
import sys

from mutation import embedded_page_audit

JS = "report/page/report.js"
M = [
# ---- the run list: a row per run, show / compare buttons for the runs that are neither shown nor errors
("L1", "if (r.name !== live.run && !r.error) {", "if (r.name !== live.run) {"),
("L2", "if (r.name !== live.run && !r.error) {", "if (!r.error) {"),
("L3", "live.compare = live.compare === r.name ? null : r.name;", "live.compare = r.name;"),
("L4", "r.status === \"running\" ? \"training\" : r.status === \"complete\" ? \"finished\" : r.status", "r.status === \"complete\" ? \"finished\" : \"training\""),
("L5", "(r.analysed ? \" (\" + r.analysed + \" imaged)\" : \"\")", "(r.analysed ? \" (\" + r.completed_epoch + \" imaged)\" : \"\")"),
("L6", "r.name === live.compare ? \"uncompare\" : \"compare\"", "r.name === live.run ? \"uncompare\" : \"compare\""),
("L7", "if (live.compare === r.name) live.compare = null; poll();", "poll();"),
# ---- the focus kept on the same run's same button across a redraw, else the list's first button
("F1", "|| buttons[0];", ";"),
("F2", "b.closest(\"tr\").dataset.run === had.run && b.dataset.action === had.action", "b.dataset.action === had.action"),
# ---- polling: a run's data fetched again only when its version changes; redrawn only on a change
("P1", "else if (current && current.version !== live.version) {", "else if (current) {"),
("P2", "else if (current && current.version !== live.version) {", "else if (current && live.version === null) {"),
("P3", "if (other && other.version !== live.compareVersion) {", "if (other) {"),
("P4", "if (other && other.version !== live.compareVersion) {", "if (other && live.compareVersion === null) {"),
("P5", "const key = JSON.stringify([live.runs, live.run,", "const key = JSON.stringify([live.run,"),
("P6", "if (key !== shownKey) {", "if (true) {"),
# ---- the status and error lines
("P7", "$(\"live-error\").textContent = message;", "if (message) $(\"live-error\").textContent = message;"),
("P8", "(err.answered ? err.message : \"server not answering (\" + err.message + \")\")", "(\"server not answering (\" + err.message + \")\")"),
("P9", "document.body.dataset.version = live.version || \"\";\n    } catch (err) {\n      $(\"live-status\").textContent = (err.answered ? err.message : \"server not answering (\" + err.message + \")\") + \"; trying again\";\n    }\n    polling = false;\n    pollTimer = setTimeout(poll, LIVE.poll_ms);",
       "document.body.dataset.version = live.version || \"\";\n      polling = false;\n      pollTimer = setTimeout(poll, LIVE.poll_ms);\n    } catch (err) {\n      $(\"live-status\").textContent = (err.answered ? err.message : \"server not answering (\" + err.message + \")\") + \"; trying again\";\n    }"),
("P10", "if (current && current.error) message = live.run + \": \" + current.error;", "if (current && current.error) message = \"\";"),
("P11", "throw Object.assign(new Error(body && body.error ? body.error : url + \": HTTP \" + res.status)", "throw Object.assign(new Error(url + \": HTTP \" + res.status)"),
# ---- which runs: ?run= / ?compare=, the newest readable run, runs that vanish or break
("Q1", "const live = { run: query.get(\"run\"),", "const live = { run: null,"),
("Q2", "compare: query.get(\"compare\"), compareVersion", "compare: null, compareVersion"),
("Q3", "runs.filter((r) => !r.error).reduce", "runs.reduce"),
("Q4", "r.updated > a.updated", "r.updated < a.updated"),
("Q5", "if (live.run && !live.runs.some((r) => r.name === live.run)) { live.run = null; live.version = null; }\n", ""),
("Q6", "live.runs.some((r) => r.name === live.compare && !r.error)", "live.runs.some((r) => r.name === live.compare)"),
("Q7", "if (live.compare && !live.runs.some((r) => r.name === live.compare && !r.error)) { live.compare = null; live.B = null; }\n", ""),
# ---- the user's place across a refresh (adopt)
("K1", "state.e = Math.max(0, !sameRun || atEnd || same < 0 ? E - 1 : same);", "state.e = Math.max(0, E - 1);"),
("K2", "const atEnd = !D || state.e >= E - 1,", "const atEnd = !D,"),
("K3", "if (!sameRun || (state.sel && (state.sel.l >= L", "if (true || (state.sel && (state.sel.l >= L"),
("K4", "if (!sameRun || !spatialLayers.includes(state.imageLayer))", "if (true)"),
# ---- the compare view
("C1", "const zmax = Math.max(0, ...a.z.zeta.map(Math.abs), ...b.z.zeta.map(Math.abs));", "const zmax = Math.max(0, ...a.z.zeta.map(Math.abs));"),
("C2", "scalePosition({ zmax: diff.max }, \"zeta\", v)", "scalePosition({ zmax }, \"zeta\", v)"),
("C3", "tile(\"B\", \"B: \" + nameB, b, b.z.zeta", "tile(\"B\", \"B: \" + nameB, a, b.z.zeta"),
("C4", "zetaDifference(a, b)", "zetaDifference(b, a)"),
("C5", "const be = B.epochs.find((ep) => ep.epoch === epoch);", "const be = B.epochs[state.e];"),
("C6", "const m = B.layers.findIndex((x) => x.name === layer.name);", "const m = l < B.layers.length ? l : -1;"),
("C7", "fmt(diff.meanAbs, 3)", "fmt(diff.max, 3)"),
("C8", "    if (LIVE) renderCompare();\n", ""),
]


if __name__ == "__main__":
    embedded_page_audit("serve_page_mutants", JS, M, ["node", "tests/serve_browser_test.js"], 300, sys.argv[1:])
