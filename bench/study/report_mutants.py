#!/usr/bin/env python3
"""bench/study/report_mutants.py — a mutation audit of report/page/report.js against the browser test
(tests/report_browser_test.js, all of it: report.html of the synthetic run, the analyze directory's page,
the per-epoch NN-EEG lanes; about 45 s a mutant here).

Each mutant is one plausible bug: one change to report.js that breaks a rule of README's "Report" section
(and its paragraphs on report.html) or of report.js's and helpers.js's comments.  As in monitor_mutants.py
(its pattern): report.js is embedded in the binary (report/page.cpp's .incbin), so each mutant is written
into the tree, build/nnfmri relinked, the browser test run (a hang counts as killed after 240 s; the whole
process group, Chromium included, is killed), and report.js restored (also on an error or Ctrl-C).  Prints
one line per mutant and the counts.  Run from the repository's root with build/nnfmri built:
python3 bench/study/report_mutants.py [--jobs N] [ID ...].  Results: bench/README.md, "Mutation audit of report.js".
"""
import sys

from mutation import embedded_page_audit

JS = "report/page/report.js"
M = [
# ---- header and missing-input notes
("H1", "for (const n of D.notes) ul.append(el(\"li\", null, n));", "for (const n of D.notes.slice(1)) ul.append(el(\"li\", null, n));"),
("H2", "D.meta.analysis_dir ? \"Notes\" : \"Missing inputs\"", "D.meta.analysis_dir ? \"Missing inputs\" : \"Notes\""),
# ---- the epoch label
("E1", "\" ζ \" + mark(ep.has.zeta)", "\" ζ \" + mark(ep.has.grid)"),
("E2", "\" · test acc \" + pct(D.metrics.test_acc[m])", "\" · test acc \" + pct(D.metrics.train_acc[m])"),
# ---- hover line
("V1", "if (ly.z && ly.z.critical.indexOf(r) >= 0) text += \" · critical\";", "if (ly.g && ly.g.dead.indexOf(r) >= 0) text += \" · critical\";"),
# ---- legends: ζ on ±zmax, density lo…hi, the class map ±max
("G1", "view.low.textContent = kind === \"zeta\" ? fmt(-s.zmax, 3) : fmt(s.lo, 3);", "view.low.textContent = kind === \"zeta\" ? fmt(0, 3) : fmt(s.lo, 3);"),
("G2", "view.high.textContent = kind === \"zeta\" ? fmt(s.zmax, 3) : fmt(s.hi, 3);", "view.high.textContent = fmt(s.zmax, 3);"),
("G3", "drawRampBar(view.bar, kind === \"zeta\" ? DIV : SEQ, ratio);", "drawRampBar(view.bar, kind === \"zeta\" ? SEQ : DIV, ratio);"),
("G4", "view.low.textContent = fmt(-classMap.max, 3);", "view.low.textContent = fmt(0, 3);"),
("G5", "\"φ of \" + (CLASSES[state.classMap] || state.classMap)", "\"φ of \" + (CLASSES[state.classMap + 1] || state.classMap)"),
# ---- the class map: φ of the chosen class, scale ±(largest |φ| of the layer over every class)
("C1", "const entry = ly.errors.classes.find((c) => c.class === state.classMap);", "const entry = ly.errors.classes.find((c) => c.class === state.classMap + 1);"),
("C2", "for (const c of ly.errors.classes) if (c.map) for (const v of c.map) m = Math.max(m, Math.abs(v));", "for (const v of entry.map) m = Math.max(m, Math.abs(v));"),
("C3", "(v / classMap.max + 1) / 2", "(1 - v / classMap.max) / 2"),
# ---- the 2-D map
("M1", "const critical = new Set(ly.z ? ly.z.critical : []);\n    const dead = new Set(ly.g ? ly.g.dead : []);", "const dead = new Set(ly.z ? ly.z.critical : []);\n    const critical = new Set(ly.g ? ly.g.dead : []);"),
("M2", "const valuesOf = (ly, kind) => (kind === \"zeta\" ? ly.z.zeta : ly.g.density);", "const valuesOf = (ly, kind) => (kind === \"zeta\" ? ly.z.zeta : ly.g.mean_abs);"),
("M3", "const colourOf = (l, kind, v) => ramp(kind === \"zeta\" ? DIV : SEQ,", "const colourOf = (l, kind, v) => ramp(DIV,"),
("M4", "String(i + 1), ox + t.x - 2", "String(i), ox + t.x - 2"),
("M6", "if (state.sel && state.sel.l === l && state.sel.r === c.r) {", "if (state.sel && state.sel.r === c.r) {"),
# ---- the 3-D voxels: x = column block j, y = row block i; far to near
("X1", "order.sort((a, b) => a.c[2] - b.c[2] || a.r - b.r);", "order.sort((a, b) => b.c[2] - a.c[2] || a.r - b.r);"),
("X2", "turn([j - (gw - 1) / 2, i - (gh - 1) / 2,", "turn([i - (gh - 1) / 2, j - (gw - 1) / 2,"),
# ---- the region panel
("P1", "(i + 1) + \" / \" + (j + 1) + \" / \" + (k + 1)", "i + \" / \" + j + \" / \" + k"),
("P2", "row(\"density\", fmt(g.density[r]), \"density\");", "row(\"density\", fmt(g.mean_abs[r]), \"density\");"),
("P3", "row(\"dead\", g.dead.indexOf(r) >= 0 ? \"yes\" : \"no\", \"dead\");", "row(\"dead\", g.dead.indexOf(r) > 0 ? \"yes\" : \"no\", \"dead\");"),
("P4", "row(\"critical\", z.critical.indexOf(r) >= 0 ? \"yes\" : \"no\", \"critical\");", "row(\"critical\", z.sig[r] ? \"yes\" : \"no\", \"critical\");"),
("P5", "const tgrid = D.epochs[state.e].layers[targetLayer].grid", "const tgrid = D.epochs[state.e].layers[state.sel.l].grid"),
("P6", "row(\"strongest in-flows\", flowList(ly, \"in\", ly.in_from));", "row(\"strongest in-flows\", flowList(ly, \"in\", ly.out_to));"),
("P7", "ctx.fillStyle = e === state.e ? \"#d55e00\" : \"#0072b2\";", "ctx.fillStyle = e === E - 1 ? \"#d55e00\" : \"#0072b2\";"),
("P8", "const kind = D.epochs.some((e) => e.layers[l].z) ? \"zeta\" : \"density\";", "const kind = D.epochs.every((e) => e.layers[l].z) ? \"zeta\" : \"density\";"),
# ---- the pathway view
("W1", "return [o.x + (j + 0.5) * o.cell, o.y + k * (o.tileH + 6) + (i + 0.5) * o.cell];", "return [o.x + (i + 0.5) * o.cell, o.y + k * (o.tileH + 6) + (j + 0.5) * o.cell];"),
("W2", "ch.layers.forEach((l, s) => { const P = centre(l, ch.regions[s]); if (s)", "ch.layers.slice(0, -1).forEach((l, s) => { const P = centre(l, ch.regions[s]); if (s)"),
("W4", "if (!ep.has.tract) {", "if (!ep.has.zeta) {"),
# ---- training curves: the slider's epoch (a number, not an index), each series its own field
("K1", "const cur = D.epochs.length ? D.epochs[state.e].epoch : null;", "const cur = D.epochs.length ? state.e : null;"),
("K2", "{ label: \"test\", points: pts(\"test_loss\")", "{ label: \"test\", points: pts(\"train_loss\")"),
# ---- the summary
("S1", "\"[\" + fmt(r.zeta_ci[0]) + \", \" + fmt(r.zeta_ci[1]) + \"]\"", "\"[\" + fmt(r.zeta_ci[1]) + \", \" + fmt(r.zeta_ci[0]) + \"]\""),
("S2", "pct(s.critical_share[layer.name])", "pct(s.coverage[layer.name])"),
("S3", "fmt(p.strength === undefined ? p.connection_strength : p.strength)", "fmt(p.connection_strength)"),
("S4", "const s = D.epochs[state.e].summary;", "const s = D.epochs[E - 1].summary;"),
# ---- the confusion matrix
("R1", "m[y][p] ? String(m[y][p]) : \"\"", "m[p][y] ? String(m[p][y]) : \"\""),
("R2", "c.true === pick.y && c.predicted === pick.p", "c.true === pick.p && c.predicted === pick.y"),
# ---- NN-EEG
("N1", "const c = E && EEG.consistency[state.e] ? EEG.consistency[state.e] : null;", "const c = E && EEG.consistency[E - 1] ? EEG.consistency[E - 1] : null;"),
("N2", "const powers = cur >= 0 ? EEG.epochs[cur].bands[b] : null;", "const powers = cur >= 0 ? EEG.epochs[0].bands[b] : null;"),
("N3", "if (regionTrace && region === selKey && EEG.blocks[b] === selName)", "if (regionTrace && region === selKey)"),
# ---- ζ on the image
("I1", "css(colourOf(l, \"zeta\", map[y * w + x]))", "css(colourOf(l, \"zeta\", map[x * h + y]))"),
# ---- keyboard and opening
("Y1", "regionStep(grid, 0, ev.key) !== null ? 0 : null", "regionStep(grid, 0, ev.key) !== null ? 1 : null"),
("Y2", "const here = state.sel && state.sel.l === view.l", "const here = state.sel && true"),
("A1", "state.e = Math.max(0, !sameRun || atEnd || same < 0 ? E - 1 : same);", "state.e = Math.max(0, !sameRun || atEnd || same < 0 ? 0 : same);"),
]


if __name__ == "__main__":
    embedded_page_audit("report_mutants", JS, M, ["node", "tests/report_browser_test.js"], 240, sys.argv[1:])
