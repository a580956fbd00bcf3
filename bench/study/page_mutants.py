#!/usr/bin/env python3
"""bench/study/page_mutants.py — a mutation audit of report/page/helpers.js against tests/page/helpers.test.js.

Each mutant is one plausible bug (a line of helpers.js changed so that it breaks the rule its comment states).
For each, a scratch copy of report/page and tests/page gets the change alone and `node --test` runs the page's
unit tests; a mutant is killed when a test fails (or hangs: 30 s). Prints one line per mutant and the counts.
Run from the repository's root: python3 bench/study/page_mutants.py [ID ...]. Results: bench/README.md,
"Mutation audit of the page's helpers".
"""
import os, re, shutil, sys, tempfile

from mutation import audit, run

M = [
("F1","a >= 1e5 || a < 1e-3","a > 1e5 || a < 1e-3"),
("F2","digits || 4","digits || 3"),
("F3","fmt(100 * v, 3)","fmt(v, 3)"),
("R1","Math.floor(r / gc) % gw","Math.floor(r / gw) % gc"),
("R2","map((c) => c + 1)","map((c) => c)"),
("C1","Math.min(Math.floor(x), stops.length - 2)","Math.floor(x)"),
("C2","Math.round(stops[i][k]","Math.floor(stops[i][k]"),
("C3","t = t > 0 ? Math.min(1, t) : 0;","t = Math.min(1, t);"),
("C4","shade = shade === undefined ? 1 : shade;","shade = shade === undefined ? 0.9 : shade;"),
("S1","zmax = Math.max(zmax, Math.abs(v))","zmax = Math.max(zmax, v)"),
("S2","(v / scale.zmax + 1) / 2","v / scale.zmax"),
("S3","(v - scale.lo) / (scale.hi - scale.lo) : 0.5","(v - scale.lo) / (scale.hi - scale.lo) : 0"),
("S4","Math.abs(v) / scale.zmax : 0","v / scale.zmax : 0"),
("T1","q < 1.5 ? 1 : q < 3.5 ? 2","q < 2 ? 1 : q < 5 ? 2"),
("T2","let v = Math.ceil(lo / step) * step","let v = Math.floor(lo / step) * step"),
("T3","let e = Math.ceil(first / step) * step","let e = first"),
("T4","for (let decade = 1; count(step) > fit;","for (let decade = 1; count(step) >= fit;"),
("T5","Math.abs(v) < 1e-12 ? 0 : v","v"),
("V1","z1 = -sy * p[0] + cy * p[2]","z1 = sy * p[0] + cy * p[2]"),
("V2","for (let f = faces.length - 1; f >= 0; --f)","for (let f = 0; f < faces.length; ++f)"),
("V3","return Math.floor(b * size / blocks);","return Math.round(b * size / blocks);"),
("L1","b - a === 1 ? \"channel \" + (a + 1)","b - a === 1 ? \"channel \" + a"),
("L2","\"channels \" + (a + 1) + \"–\" + b","\"channels \" + (a + 1) + \"–\" + (b + 1)"),
("L3","if (gh === 1 && gw === 1 && gc <= 24)","if (gh === 1 && gw === 1 && gc < 24)"),
("L4","if (!best || cell > best.cell)","if (!best || cell >= best.cell)"),
("L5","x < c.x + c.w && y >= c.y","x <= c.x + c.w && y >= c.y"),
("L6","if (isOutput && classNames && classNames.length === grid[2])","if (isOutput && classNames)"),
("K1","case \"PageUp\": return at(i, j, clamp(k - 1, gc));","case \"PageUp\": return at(i, j, clamp(k + 1, gc));"),
("K2","if (key === \"End\") return count - 1;","if (key === \"End\") return count;"),
("K3","return { yaw, pitch: tilt(pitch - VIEW_STEP), zoom };","return { yaw, pitch: pitch - VIEW_STEP, zoom };"),
("K4","case \"-\": case \"_\": return { yaw, pitch, zoom: clampZoom(zoom / ZOOM_STEP) };","case \"-\": return { yaw, pitch, zoom: clampZoom(zoom / ZOOM_STEP) };"),
("K5","return step === undefined ? null : clamp(k + step, gc);","return step === undefined ? null : k + step;"),
("P1","sort((a, b) => b.score - a.score)","sort((a, b) => a.score - b.score)"),
("P2",".slice(0, 5);",".slice(0, 4);"),
("P3","""    for (let i = 0; i < gh; ++i)
      for (let j = 0; j < gw; ++j) out.push""","""    for (let j = 0; j < gw; ++j)
      for (let i = 0; i < gh; ++i) out.push"""),
("P4","Math.floor(v * there.length / order.length)","v"),
("P5","(key === \"PageDown\" ? 0 : drawn.length - 1)","(key === \"PageDown\" ? 0 : 0)"),
("P6","if (m < 0 || m >= L) return { l, r, chain: at.chain };","if (m < 0 || m >= L) return null;"),
("P7","ly.in_from === m && ly.in ? ly.in[r] : null","ly.in ? ly.in[r] : null"),
("I1","pixels[2 * plane + p]","pixels[plane + p]"),
("I2","const mean = sum / gc;","const mean = sum;"),
("I3","for (let y = cut(i, h, gh); y < cut(i + 1, h, gh); ++y)","for (let y = cut(i, h, gh); y <= cut(i + 1, h, gh) && y < h; ++y)"),
("D1","if (has(other)) return","if (false) return"),
("D2","(v < 0 ? \"automatic: 0.05·max|φ|\" : null)","(v <= 0 ? \"automatic: 0.05·max|φ|\" : null)"),
("D3","if (config === null) rows.push([\"config.json\", \"missing\"]);","if (config === null) {}"),
("D4","rows.push([prefix, v.map(String).join(\", \")]); return;","rows.push([prefix, v.map(String).join(\",\")]); return;"),
("E1","m[labels[i]][predicted[i]] += 1","m[predicted[i]][labels[i]] += 1"),
("E2","K = Math.max(K, labels[i] + 1, predicted[i] + 1)","K = Math.max(K, labels[i] + 1)"),
("E3","examples[a].p_true - examples[b].p_true || a - b","examples[a].p_true - examples[b].p_true || b - a"),
("E4","examples[a].p_true - examples[b].p_true","examples[b].p_true - examples[a].p_true"),
("E5","return picked.slice(0, cap);","return picked;"),
("E6","if (!entry.regions.length) return head + \"no region with negative φ\";",""),
("X1","share = cells[i * gw + j] / ((y1 - y0) * (x1 - x0))","share = cells[i * gw + j] / ((y1 - y0) * (x1 - x0) + 1)"),
("X2","out[y * w + x] += share;","out[y * w + x] = share;"),
("Z1","meanAbs: values.length ? sum / values.length : 0","meanAbs: values.length ? sum / Math.max(1, values.length - 1) : 0"),
("Z2","a.grid.join(\"x\") !== b.grid.join(\"x\") || ",""),
("Z3","max = Math.max(max, Math.abs(v))","max = Math.max(max, v)"),
("G1","hi > lo ? (v - lo) / (hi - lo) : 0.5","hi > lo ? (v - lo) / (hi - lo) : 0"),
("G2","barW: Math.max(1, (box - 4) / 5)","barW: Math.max(1, box / 5)"),
("G3","return 4 * barW >= letterW + 2 ? [0, 4] : [];","return 4 * barW > letterW + 2 ? [0, 4] : [];"),
("G4","if (e.epoch <= epoch && (best < 0 || e.epoch >= eegEpochs[best].epoch))","if (e.epoch <= epoch)"),
("G5","if (e.epoch <= epoch &&","if (e.epoch < epoch &&"),
("G6","return [fmt(term.value, 3), range(term.ci), nul, String(term.items)];","return [fmt(term.value, 3), range(term.ci), nul, String(term.items || 0)];"),
("W1","used + width > room","used + width >= room"),
("W2","perBand = Math.max(1, Math.ceil(L / bands))","perBand = Math.max(1, Math.floor(L / bands))"),
("W3","if (top < low || bottom - top > high - low) return top - low;","if (top < low) return top - low;"),
("W4","if (!shown) return true;","if (!shown) return false;"),
("W5","rect.bottom + gap + box.h > view.h","rect.bottom + box.h > view.h"),
("W6","Math.max(8, Math.min(view.w - box.w - 8, rect.left))","Math.min(view.w - box.w - 8, rect.left)"),
("N1","padStart(3, \"0\")","padStart(2, \"0\")"),
("N2","if (Number.isFinite(a.eval_samples)) args.push","if (a.eval_samples) args.push"),
("N3","a.zeta.method !== \"shapley\" && a.zeta.method !== \"exact\"","a.zeta.method !== \"shapley\""),
("N4","(shown - covered) + \" of the \"","covered + \" of the \""),
("N5","/^[A-Za-z0-9_.,:\\/=+-]+$/","/^[A-Za-z0-9_.,:\\/=+ -]+$/"),
("Y1","dash: LAYER_DASHES[Math.floor(l / LAYER_COLOURS.length) % LAYER_DASHES.length]","dash: LAYER_DASHES[l % LAYER_DASHES.length]"),
("Y2","widthOf(name) > column - 4","widthOf(name) > column"),
("Y3","line: nameLines + (p.shortcut ? 1 : 0)","line: nameLines"),
("Y4","x: (p.from + p.to + 1) * column / 2","x: (p.from + p.to) * column / 2"),
("Y5","b.x - half < lastRight[b.line] + 4","b.x - half < lastRight[b.line]"),
("Y6","return printing ? Math.max(3, screenRatio) : screenRatio;","return printing ? 3 : screenRatio;"),
("Y7","css(ramp(stops, (x + 0.5) / w))","css(ramp(stops, x / w))"),
("Y8","return [cut(k, channels, gc), cut(k + 1, channels, gc)];","return [cut(k, channels, gc), cut(k + 1, channels, gc) - 1];"),
("Y9","parseInt(h.slice(3, 5), 16), parseInt(h.slice(5, 7), 16)","parseInt(h.slice(5, 7), 16), parseInt(h.slice(3, 5), 16)"),
("Y10","const w = Math.max(50, canvas.clientWidth), h = Math.max(30, canvas.clientHeight);","const w = canvas.clientWidth, h = canvas.clientHeight;"),
("Y11","return canvas.width === bw && canvas.height === bh;","return canvas.width === bw;"),
]


def main():
    work = tempfile.mkdtemp(prefix="page_mutants.")
    try:
        for part in ("report/page", "tests/page"):
            shutil.copytree(part, os.path.join(work, part))
        path = os.path.join(work, "report/page/helpers.js")

        def try_one(mid, text):
            open(path, "w", encoding="utf-8").write(text)
            # node --test runs the file in a child process, which a hang leaves spinning unless its whole
            # process group is killed (mutation.run)
            rc, out = run(["node", "--test", "tests/page/helpers.test.js"], 30, cwd=work)
            return rc != 0, re.findall(r"^not ok \d+ - (.*)$", out, re.M) if rc is not None else ["a hang (30 s)"]

        audit("page_mutants", M, open(path, encoding="utf-8").read(), try_one, set(sys.argv[1:]))
    finally:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
