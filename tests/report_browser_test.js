#!/usr/bin/env node
// tests/report_browser_test.js — `make test-report`: report.html in headless Chromium, no npm packages.
//
// 1. Writes a synthetic run directory shaped like a 10-epoch run of the reference net (8 imaged
//    layers, 8×8×4 grids clamped as the real grid stage clamps them, grid/zeta/tract for every
//    epoch except a missing zeta.json at epoch 4 and a missing tract.json at epoch 7, a class
//    named "<script>alert(1)</script>") — or takes an existing one with --run DIR.
// 2. Runs `nnfmri report DIR`.
// 3. Opens DIR/report.html in Chromium over the DevTools protocol on a pipe (--remote-debugging-pipe:
//    NUL-separated JSON on file descriptors 3 and 4, so node needs no WebSocket client), fails on any
//    console error, uncaught exception or dialog, checks that the DOM shows every layer, region and
//    epoch, drives the slider (programmatically over every epoch and with a real key press), clicks
//    a voxel and checks the region panel, drags to rotate, and saves screenshots; reads back what the
//    maps, legends, pathway view, curves, summary, confusion matrix and NN-EEG draw and compares it with
//    the run's data (drawnAgainstData).
// Prints the page size and load time and ends with "report-browser-test: N passed, M failed".
//
// usage: node tests/report_browser_test.js [--nnfmri build/nnfmri] [--out build] [--run DIR] [--chromium /usr/bin/chromium]
//                                          [--only monitor]
// --only monitor runs monitorPage alone (monitor.html's checks, about 5 s instead of 90: the mutation
// audit of monitor.js, bench/study/monitor_mutants.py); the default, --only all, runs everything.
"use strict";
const fs = require("fs");
const os = require("os");
const path = require("path");
const { execFileSync } = require("child_process");

const { parseArgs, checks } = require("./cli.js");
const args = parseArgs({ nnfmri: "build/nnfmri", out: "build", run: null, chromium: process.env.CHROMIUM || "/usr/bin/chromium", only: "all" },
                       "report-browser-test");
if (args.only !== "all" && args.only !== "monitor") {
  console.error("report-browser-test: error: --only " + args.only + ": expected all or monitor");
  process.exit(2);
}
const { check, finish } = checks("report-browser-test");

const { makeRun, metricsLines, CLASSES, PLANTED, PLANTED_CELL } = require("./synthetic_run.js");
const { Browser, sleep, attachSession, CANVAS_RECORDER } = require("./cdp.js");

// Slider, key press, colour toggle, voxel click, drag and play on a page with layers and ≥ 2 epochs.
async function interact(cdp, evaluate) {
    // every epoch through the slider's input event
    const epochNumbers = await evaluate("JSON.parse(document.getElementById('report-data').textContent).epochs.map((e) => e.epoch)");
    let allFollow = true;
    for (let i = 0; i < epochNumbers.length; ++i) {
      const shown = await evaluate(`(() => { const s = document.getElementById("epoch"); s.value = "${i}";
        s.dispatchEvent(new Event("input", { bubbles: true }));
        return [...document.querySelectorAll(".layer-view")].map((v) => v.dataset.epoch); })()`);
      allFollow = allFollow && shown.every((e) => Number(e) === epochNumbers[i]);
    }
    check(allFollow, "every view follows the slider over all epochs");
    // a layer whose ζ is a later layer's game says so in its card, at exactly the epochs zeta.json does
    let sameGame = 0, sameGameRight = true, sameGameTop = 0;
    for (let i = 0; i < epochNumbers.length; ++i) {
      const seen = await evaluate(`(() => { const s = document.getElementById("epoch"); s.value = "${i}";
        s.dispatchEvent(new Event("input", { bubbles: true }));
        const D = JSON.parse(document.getElementById("report-data").textContent), ep = D.epochs[${i}];
        return [...document.querySelectorAll(".layer-view")].map((v, l) => ({ info: v.querySelector(".layer-info").textContent,
          same: ep.layers[l].z ? ep.layers[l].z.same_game_as : null })); })()`);
      for (const v of seen) {
        sameGame += v.same ? 1 : 0;
        sameGameRight = sameGameRight && (v.same ? v.info.includes("ζ: " + v.same + "'s game") : !v.info.includes("'s game"));
      }
      // the summary's top regions rank each game once: no row of a layer that plays another's game,
      // and a row of the layer whose game it is names the other ("pool1 (= conv1)")
      const top = await evaluate(`(() => { const D = JSON.parse(document.getElementById("report-data").textContent), ep = D.epochs[${i}];
        const copies = ep.layers.filter((x) => x.z && x.z.same_game_as).map((x) => ({ name: D.layers[ep.layers.indexOf(x)].name, of: x.z.same_game_as }));
        const box = [...document.querySelectorAll("#summary h3")].find((h) => h.textContent.startsWith("Top regions"));
        const rows = box ? [...box.parentNode.querySelectorAll("tr")].slice(1).map((tr) => tr.cells[0].textContent.replace(/\u00a0/g, " ")) : [];
        return { copies, rows }; })()`);
      for (const row of top.rows)
        for (const c of top.copies) {
          sameGameRight = sameGameRight && !row.startsWith(c.name + " ") && row !== c.name;
          if (row.startsWith(c.of + " ") || row === c.of) sameGameRight = sameGameRight && row.includes("(= " + c.name + ")");
        }
      sameGameTop += top.copies.length && top.rows.some((row) => row.includes("(= ")) ? 1 : 0;
    }
    check(sameGameRight && (sameGame > 0 || !!args.run) && (sameGameTop > 0 || !!args.run),
      "a layer scored with a later layer's game (same_game_as) says so in its card, and the top regions rank that game once", sameGame + " labelled, " + sameGameTop + " epochs' top regions name the other layer");
    // a real key press on the slider
    await evaluate("document.getElementById('epoch').focus()");
    const before = await evaluate("document.getElementById('epoch-label').textContent");
    for (const type of ["rawKeyDown", "keyUp"])
      await cdp("Input.dispatchKeyEvent", { type, key: "ArrowLeft", code: "ArrowLeft", windowsVirtualKeyCode: 37 });
    const after = await evaluate("document.getElementById('epoch-label').textContent");
    check(before !== after && after.startsWith("epoch " + epochNumbers[epochNumbers.length - 2] + " "), "ArrowLeft on the slider moves one epoch back", after);
    // the ζ/density toggle
    const toggled = await evaluate(`(() => { const d = document.querySelector("input[name=colour][value=density]"); d.click();
      const kinds = [...document.querySelectorAll(".layer-view")].map((v) => v.dataset.colour);
      document.querySelector("input[name=colour][value=zeta]").click(); return kinds; })()`);
    check(toggled.every((k) => k === "density"), "the colour toggle switches every view to density");

    // click the front voxel of the first layer, then drag to rotate
    // The 2-D map is the default view: one tile per channel block of a spatial layer; the output
    // layer lists its regions by class name; hovering a region shows its values.
    const maps = await evaluate(`(() => { const D = JSON.parse(document.getElementById("report-data").textContent);
      const last = D.epochs[window.nnfmriReport.state.e];
      return [...document.querySelectorAll(".layer-view")].map((v, l) => ({ view: v.dataset.view, tiles: Number(v.dataset.tiles),
        grid: last.layers[l].grid, labels: JSON.parse(v.dataset.labels || "[]") })); })()`);
    check(maps.every((m) => m.view === "map"), "the 2-D map is the default view");
    check(maps.every((m) => (m.grid[0] * m.grid[1] > 1 ? m.tiles === m.grid[2] : m.tiles === 0)),
          "the 2-D map draws one tile per channel block", maps.map((m) => m.tiles).join(" "));
    const outputLabels = maps[maps.length - 1].labels;
    check(outputLabels.length === CLASSES.length && outputLabels[1] === "automobile" && outputLabels[9] === "truck" || !!args.run && outputLabels.length > 0,
          "the output layer shows its regions by class name", outputLabels.join(", "));
    const firstName = await evaluate("document.querySelector('.layer-view').dataset.layer");
    await evaluate(`document.querySelector('.layer-view').scrollIntoView({ block: "center" })`);
    const cellPoint = await evaluate(`window.nnfmriReport.voxelPoint(${JSON.stringify(firstName)}, 5)`);
    await cdp("Input.dispatchMouseEvent", { type: "mouseMoved", x: cellPoint.x, y: cellPoint.y, button: "none", buttons: 0 });
    await sleep(30);
    const hover = await evaluate("(() => { const h = document.getElementById('hover'); return h.hidden ? '' : h.textContent; })()");
    const key5 = await evaluate(`(() => { const D = JSON.parse(document.getElementById('report-data').textContent);
      const g = D.epochs[window.nnfmriReport.state.e].layers[0].grid, r = 5;
      return "grid_" + (Math.floor(r / (g[2] * g[1])) + 1) + "_" + (Math.floor(r / g[2]) % g[1] + 1) + "_" + (r % g[2] + 1); })()`);
    check(hover.startsWith(firstName + " " + key5) && hover.includes("ζ"), "hovering a region of the 2-D map shows its values", hover);
    await cdp("Input.dispatchMouseEvent", { type: "mousePressed", x: cellPoint.x, y: cellPoint.y, button: "left", buttons: 1, clickCount: 1 });
    await cdp("Input.dispatchMouseEvent", { type: "mouseReleased", x: cellPoint.x, y: cellPoint.y, button: "left", buttons: 0, clickCount: 1 });
    await sleep(30);
    const mapDetails = await evaluate("document.getElementById('details-body').textContent");
    check(mapDetails.includes(firstName + " · " + key5), "clicking a region of the 2-D map selects it", key5);
    if (!args.run) {  // the synthetic run has grid.json images and receptive fields: region 5 of conv1 is row block 1, column block 2
      await sleep(50);
      const rf = await evaluate(`(() => { const strip = document.querySelector("#details-body .image-strip");
        if (!strip) return null;
        const canvas = strip.querySelector("canvas"), ctx = canvas.getContext("2d");
        const [y0, y1, x0, x1] = strip.dataset.rf.split(",").map(Number), s = canvas.width / 32;
        const at = (x, y) => Array.from(ctx.getImageData(Math.round(x), Math.round(y), 1, 1).data).slice(0, 3).join(",");
        return { rf: strip.dataset.rf, images: strip.querySelectorAll("canvas").length, edge: at(x0 * s + 1, (y0 + y1) / 2 * s), inside: at((x0 + x1) / 2 * s, (y0 + y1) / 2 * s) }; })()`);
      check(rf !== null && rf.rf === "0,6,2,10" && rf.images === 4 && rf.edge === "213,94,0" && rf.inside === "128,128,128",
            "the selected region's receptive field is drawn on the images", JSON.stringify(rf));
      const onImage = await evaluate(`(() => { const host = document.getElementById("onimage");
        return { layer: host.dataset.layer, images: host.querySelectorAll("canvas").length, choices: document.querySelectorAll("input[name=image-layer]").length }; })()`);
      check(onImage.layer === "conv1" && onImage.images === 4 && onImage.choices === 6, "ζ is laid over the mean and example images of a spatial layer", JSON.stringify(onImage));
      // another layer picked above the images: its ζ is laid over them instead
      const picked = await evaluate(`(() => { const host = document.getElementById("onimage"), first = host.querySelector("canvas").toDataURL();
        const radio = [...document.querySelectorAll("input[name=image-layer]")].find((r) => !r.checked); radio.click();
        const r = { layer: host.dataset.layer, label: radio.parentElement.textContent.trim(), images: host.querySelectorAll("canvas").length,
                    redrawn: host.querySelector("canvas").toDataURL() !== first };
        document.querySelector("input[name=image-layer]").click();
        r.back = host.dataset.layer;
        return r; })()`);
      check(picked.layer !== "conv1" && picked.label.startsWith(picked.layer) && picked.images === 4 && picked.redrawn && picked.back === "conv1",
            "picking another layer over the images lays its ζ over them", JSON.stringify(picked));
    }
    const help = await evaluate(`(() => { const panel = document.getElementById("howto");
      const legends = [...document.querySelectorAll(".legend-row")];
      const heads = [...document.querySelectorAll("#summary th")];
      return { open: !!panel && panel.open, terms: panel ? [...panel.querySelectorAll("dt")].map((d) => d.textContent) : [],
               legends: legends.length, legendTips: legends.filter((n) => n.title.length > 20).length,
               heads: heads.length, headTips: heads.filter((n) => n.title.length > 20).length,
               detailTips: [...document.querySelectorAll("#details-body td[title]")].length }; })()`);
    check(help.open && ["Region", "ζ (zeta) and its interval", "Density and information", "Dead", "Critical", "Pathway and chain"].every((t) => help.terms.includes(t)),
          "the how-to-read panel explains region, ζ, density, dead, critical and pathways", help.terms.join("; "));
    // the glossary's λ and value function are the run's (config.json: --lambda 0.25, --zeta-value margin)
    const fitted = await evaluate(`(() => ({ lambda: document.getElementById("def-lambda").textContent,
      value: document.getElementById("def-value").textContent,
      tolerance: [...document.querySelectorAll("#settings tr")].map((r) => r.textContent).find((t) => t.startsWith("analysis.zeta.tolerance")) }))()`);
    // (a --run DIR: its own config.json's λ, not the synthetic run's 0.25)
    const configPath = args.run ? path.join(path.resolve(args.run), "config.json") : null;
    const config = configPath && fs.existsSync(configPath) ? JSON.parse(fs.readFileSync(configPath, "utf8")) : null;
    if (!args.run)
      check(fitted.lambda === "0.25" && fitted.value === "margin of the true class's logit over the largest other" &&
            fitted.tolerance === "analysis.zeta.tolerance-1 (automatic: 0.05·max|φ|)",
            "the glossary says the run's λ and ζ value function, the settings what -1 stands for", JSON.stringify(fitted));
    else if (config && config.analysis && typeof config.analysis.lambda === "number")
      check(fitted.lambda === String(config.analysis.lambda), "the glossary says the run's λ (its config.json's)", JSON.stringify(fitted));
    check(help.legends > 0 && help.legendTips === help.legends && help.heads > 0 && help.headTips === help.heads && help.detailTips >= 8,
          "every legend, summary heading and region metric has a tooltip", JSON.stringify(help));

    await evaluate("window.nnfmriReport.setView('voxels')");
    const first = firstName;
    const region = await evaluate(`window.nnfmriReport.frontRegion(${JSON.stringify(first)})`);
    const point = await evaluate(`window.nnfmriReport.voxelPoint(${JSON.stringify(first)}, ${region})`);
    check(point !== null, "the front voxel has a visible face", JSON.stringify(point));
    const mouse = (type, x, y, buttons) => cdp("Input.dispatchMouseEvent", { type, x, y, button: "left", buttons, clickCount: 1 });
    await mouse("mouseMoved", point.x, point.y, 0);
    await mouse("mousePressed", point.x, point.y, 1);
    await mouse("mouseReleased", point.x, point.y, 0);
    await sleep(50);
    const details = await evaluate("document.getElementById('details-body').textContent");
    const expectedKey = await evaluate(`(() => { const D = JSON.parse(document.getElementById('report-data').textContent);
      const g = D.epochs[window.nnfmriReport.state.e].layers[0].grid, r = ${region};
      return "grid_" + (Math.floor(r / (g[2] * g[1])) + 1) + "_" + (Math.floor(r / g[2]) % g[1] + 1) + "_" + (r % g[2] + 1); })()`);
    check(details.includes(first + " · " + expectedKey) && details.includes("density") && details.includes("selectivity") && details.includes("ζ"),
          "clicking a voxel shows its region's numbers", first + " " + expectedKey);
    const yaw0 = await evaluate("window.nnfmriReport.state.yaw");
    await mouse("mousePressed", point.x, point.y, 1);
    for (let s = 1; s <= 6; ++s) await mouse("mouseMoved", point.x + 10 * s, point.y + 3 * s, 1);
    await mouse("mouseReleased", point.x + 60, point.y + 18, 0);
    await sleep(50);
    const yaw1 = await evaluate("window.nnfmriReport.state.yaw");
    check(Math.abs(yaw1 - yaw0) > 0.3, "dragging rotates the views", "yaw " + yaw0.toFixed(2) + " → " + yaw1.toFixed(2));
    // play, then pause
    const playing = await evaluate(`(() => { document.getElementById("play").click(); const t = document.getElementById("play").textContent;
      document.getElementById("play").click(); return t + "/" + document.getElementById("play").textContent; })()`);
    check(playing === "Pause/Play", "the play button starts and stops", playing);
    // what play does: from the last
    // but one epoch it steps to the last and stops by itself; from the last it starts again at the first
    const E = await evaluate("window.nnfmriReport.epochCount");
    await evaluate(`(() => { window.nnfmriReport.setEpoch(${E - 2}); document.getElementById("play").click(); })()`);
    let played = null;
    for (const t0 = Date.now(); Date.now() - t0 < 5000 && !played; await sleep(100))
      played = await evaluate(`document.getElementById("play").textContent === "Play" ? { e: window.nnfmriReport.state.e, label: document.getElementById("epoch-label").textContent } : null`);
    const restart = await evaluate(`(() => { const R = window.nnfmriReport, b = document.getElementById("play"); b.click();
      const r = { e: R.state.e, text: b.textContent, slider: Number(document.getElementById("epoch").value) }; b.click(); return r; })()`);
    check(played && played.e === E - 1 && played.label.startsWith("epoch " + E + " (" + E + "/" + E + ")") && restart.e === 0 && restart.text === "Pause" && restart.slider === 0,
          "play steps to the last epoch and stops there; play at the last epoch starts again from the first", JSON.stringify({ played, restart }));
    // the 3-D view's two other controls: "size by |value|" redraws the voxels (and back), "Reset view"
    // returns the turned and zoomed views to the first angle and zoom
    const voxelPixels = `document.querySelector(".layer-view canvas.voxels").toDataURL()`;
    const sized = await evaluate(`(() => { const R = window.nnfmriReport, box = document.getElementById("size-by-value"), p0 = ${voxelPixels};
      box.click(); const p1 = ${voxelPixels}, flat = R.state.sizeByValue; box.click(); const p2 = ${voxelPixels};
      R.state.zoom = 2; document.getElementById("reset-view").click();
      return { changed: p1 !== p0, back: p2 === p0, flat, sized: R.state.sizeByValue, yaw: R.state.yaw, pitch: R.state.pitch, zoom: R.state.zoom }; })()`);
    check(sized.changed && sized.back && sized.flat === false && sized.sized === true && sized.yaw === -0.6 && sized.pitch === 0.5 && sized.zoom === 1,
          "'size by |value|' redraws the 3-D views and back; 'Reset view' returns to the first angle and zoom", JSON.stringify(sized));
    await evaluate("window.nnfmriReport.setView('map')");

}

// What report.html draws, read back from its canvases and tables and compared with the run's data (the
// synthetic run). The mutation audit of report.js (bench/study/report_mutants.py) found
// that the checks above read the page's text and sizes but seldom what it draws against the data.
// A recorder wraps the 2-D context's fillText, fillRect, strokeRect and arc, so a check can ask which
// text, rectangle or dot a canvas got; pixels are read where a colour is the point.
async function drawnAgainstData(cdp, evaluate, names, openedOn) {
  await evaluate(CANVAS_RECORDER);
  await evaluate(`(() => {
    // the page's own numbers, as it would write them (helpers.js, checked by tests/page/*.test.js)
    window.__want = (D) => ({ DIV: D.colormaps.diverging.map(hexRgb), SEQ: D.colormaps.sequential.map(hexRgb) });
    window.__near = (a, b, tol) => a.length >= 3 && [0, 1, 2].every((k) => Math.abs(a[k] - b[k]) <= (tol || 2));
    window.__px = (canvas, x, y) => { const s = canvas.width / canvas.clientWidth;
      return Array.from(canvas.getContext("2d").getImageData(Math.floor(x * s), Math.floor(y * s), 1, 1).data).slice(0, 3); };
  })()`);
  const press = async (key, code, keyCode, modifiers) => {
    for (const type of ["rawKeyDown", "keyUp"]) await cdp("Input.dispatchKeyEvent", { type, key, code, windowsVirtualKeyCode: keyCode, modifiers: modifiers || 0 });
  };

  // the epoch label and the missing-input notes
  const label = await evaluate(`(() => { const R = window.nnfmriReport, D = JSON.parse(document.getElementById("report-data").textContent);
    const want = (i) => { const ep = D.epochs[i], m = D.metrics.epoch.indexOf(ep.epoch), mark = (ok) => (ok ? "✓" : "✗");
      return "epoch " + ep.epoch + " (" + (i + 1) + "/" + D.epochs.length + ")" + (m >= 0 ? " · test acc " + pct(D.metrics.test_acc[m]) : "") +
             " · grid " + mark(ep.has.grid) + " ζ " + mark(ep.has.zeta) + " tract " + mark(ep.has.tract); };
    const bad = [];
    for (let i = 0; i < D.epochs.length; ++i) { R.setEpoch(i); const got = document.getElementById("epoch-label").textContent; if (got !== want(i)) bad.push([got, want(i)]); }
    R.setEpoch(D.epochs.length - 1);
    const notes = document.getElementById("notes");
    return { bad, newest: want(D.epochs.length - 1), heading: notes.querySelector("strong") ? notes.querySelector("strong").textContent : null,
             notes: [...notes.querySelectorAll("li")].map((li) => li.textContent), want: D.notes }; })()`);
  check(openedOn === label.newest, "report.html opens on the newest analysed epoch", openedOn);
  check(label.bad.length === 0, "the epoch label of every epoch: its number and place, its test accuracy, which of grid, ζ and tract it has", JSON.stringify(label.bad.slice(0, 2)));
  check(label.heading === "Missing inputs" && label.want.length === 2 && JSON.stringify(label.notes) === JSON.stringify(label.want),
        "every missing input is noted under \"Missing inputs\"", JSON.stringify(label));

  // the 2-D maps: every cell's colour on its layer's scale (ζ at the last epoch, density at epoch 4,
  // φ of class 3 on ±the largest |φ| over every class), critical cells outlined black, dead ones crossed;
  // each legend's ends, name and ramp
  const maps = await evaluate(`(() => { const R = window.nnfmriReport, D = JSON.parse(document.getElementById("report-data").textContent), W = __want(D);
    R.setView("map"); R.state.sel = null;
    const out = [];
    const look = (i, classMap) => {
      R.setEpoch(i);
      const ep = D.epochs[i];
      if (classMap !== null) { const s = document.getElementById("class-map"); s.value = String(classMap); s.dispatchEvent(new Event("change")); }
      document.querySelectorAll(".layer-view").forEach((view, l) => {
        const ly = ep.layers[l], canvas = view.querySelector("canvas.voxels"), rect = canvas.getBoundingClientRect(), sc = layerScale(D.epochs, l);
        const lay = mapLayout(ly.grid, canvas.clientWidth - 8, canvas.clientHeight - 8);
        const kind = ly.z ? "zeta" : "density", entry = classMap === null ? null : ly.errors.classes.find((c) => c.class === classMap);
        const max = classMap === null ? 0 : Math.max(...ly.errors.classes.flatMap((c) => (c.map || []).map(Math.abs)));
        const colour = (r) => (entry ? ramp(W.DIV, (entry.map[r] / max + 1) / 2) : ramp(kind === "zeta" ? W.DIV : W.SEQ, scalePosition(sc, kind, kind === "zeta" ? ly.z.zeta[r] : ly.g.density[r])));
        let cells = 0; const bad = [];
        for (const c of lay.cells) {
          const p = R.voxelPoint(D.layers[l].name, c.r), x = p.x - rect.left - c.w / 2, y = p.y - rect.top - c.h / 2;
          const want = colour(c.r), fill = __px(canvas, x + 0.75 * c.w, y + 0.25 * c.h), centre = __px(canvas, x + c.w / 2, y + c.h / 2), edge = __px(canvas, x + 0.8, y + c.h * 0.75);
          const dead = ly.g.dead.includes(c.r), critical = ly.z ? ly.z.critical.includes(c.r) : false;
          if (!__near(fill, want, 3)) bad.push([c.r, "fill", fill, want]);
          if (dead !== (centre.reduce((a, b) => a + b) < 0.92 * fill.reduce((a, b) => a + b) - 2)) bad.push([c.r, "dead", dead, centre, fill]);
          if (critical && edge.reduce((a, b) => a + b) > 120) bad.push([c.r, "critical", edge]);
          ++cells;
        }
        const bar = view.querySelector(".legend-row canvas"), ends = [__px(bar, 0, 2), __px(bar, bar.clientWidth - 1, 2)];
        const stops = entry || kind === "zeta" ? W.DIV : W.SEQ;
        const legend = { low: view.querySelector(".legend-row").children[0].textContent, high: view.querySelector(".legend-row").children[2].textContent,
                         what: view.querySelector(".legend-row").children[3].textContent };
        const wantLegend = entry ? { low: fmt(-max, 3), high: fmt(max, 3), what: "φ of " + D.meta.classes[classMap] }
                         : kind === "zeta" ? { low: fmt(-sc.zmax, 3), high: fmt(sc.zmax, 3), what: "ζ" } : { low: fmt(sc.lo, 3), high: fmt(sc.hi, 3), what: "density" };
        if (JSON.stringify(legend) !== JSON.stringify(wantLegend)) bad.push(["legend", legend, wantLegend]);
        if (!__near(ends[0], stops[0], 8) || !__near(ends[1], stops[stops.length - 1], 8)) bad.push(["ramp", ends]);
        out.push({ epoch: ep.epoch, layer: D.layers[l].name, kind: entry ? "class" : kind, cells, size: lay.cell, bad: bad.slice(0, 3) });
      });
      if (classMap !== null) { const s = document.getElementById("class-map"); s.value = ""; s.dispatchEvent(new Event("change")); }
    };
    look(D.epochs.length - 1, null);
    look(D.epochs.findIndex((e) => e.epoch === 4), null);
    look(D.epochs.length - 1, 3);
    R.setEpoch(D.epochs.length - 1);
    return out; })()`);
  const badMaps = maps.filter((m) => m.bad.length);
  check(maps.length === 3 * names.length && maps.every((m) => m.cells > 0) && badMaps.length === 0,
        "each 2-D map cell is coloured by its value on the layer's scale (ζ, density, φ of a class), critical cells outlined, dead ones crossed; each legend's ends, name and ramp",
        maps.length + " maps; " + JSON.stringify(badMaps.slice(0, 2)));
  // the selection ring only in the selected region's layer; the first tile's row numbers 1…gh
  const ring = await evaluate(`(() => { const R = window.nnfmriReport, c = [...document.querySelectorAll(".layer-view canvas.voxels")];
    R.state.sel = null; __rec.length = 0; R.setEpoch(R.epochCount - 1);
    const rows = __rec.filter((e) => e.cv === c[0] && e.name === "fillText" && e.align === "right").map((e) => e.a[0]);
    const before = c[1].toDataURL(); R.select(0, 5); const other = c[1].toDataURL(), own = c[0].toDataURL(); R.select(1, 5);
    const r = { rows: rows.slice(0, 8), tiles: rows.length, same: other === before, moved: c[1].toDataURL() !== other && c[0].toDataURL() !== own };
    R.state.sel = null; R.setEpoch(R.epochCount - 1); return r; })()`);
  check(ring.same && ring.moved && ring.rows.join(",") === "1,2,3,4,5,6,7,8",
        "a selection is ringed in its own layer's map only; the map's rows are numbered from 1", JSON.stringify(ring));

  // the hover line and the region panel of pool3's regions: its first dead one, its first critical one,
  // a significant one that is not critical (pool3 reads conv3's 8×8×4 grid and feeds fc1's 1×1×4)
  const panel = await evaluate(`(() => { const R = window.nnfmriReport, D = JSON.parse(document.getElementById("report-data").textContent);
    const e = D.epochs.length - 1, l = D.layers.findIndex((x) => x.name === "pool3"), ly = D.epochs[e].layers[l], name = D.layers[l].name;
    const picks = [ly.g.dead[0], ly.z.critical[0], ly.z.sig.findIndex((s, r) => s && !ly.z.critical.includes(r))];
    const flows = (which, t) => { const list = ly[which][r]; if (t === null) return "–"; const g = D.epochs[e].layers[t].grid, out = [];
      for (let i = 0; i < list.length; i += 2) out.push(D.layers[t].name + " " + keyOf(g, list[i]) + " (" + fmt(list[i + 1], 3) + ")");
      return out.length ? out.join("; ") : "none listed"; };
    let r = 0;
    const bad = [];
    R.setView("map"); R.setEpoch(e);
    for (r of picks) {
      R.select(l, r);
      const [i, j, k] = coordsOf(ly.grid, r), dead = ly.g.dead.includes(r), critical = ly.z.critical.includes(r);
      const rows = Object.fromEntries([...document.querySelectorAll("#details-body table.kv tr")].map((tr) => [tr.cells[0].textContent, tr.cells[1].textContent]));
      const want = { "row / column / channel block": (i + 1) + " / " + (j + 1) + " / " + (k + 1), density: fmt(ly.g.density[r]), dead: dead ? "yes" : "no",
                     "ζ": fmt(ly.z.zeta[r]) + "  [" + fmt(ly.z.lo[r]) + ", " + fmt(ly.z.hi[r]) + "]", significant: ly.z.sig[r] ? "yes" : "no",
                     critical: critical ? "yes" : "no", "strongest in-flows": flows("in", ly.in_from), "strongest out-flows": flows("out", ly.out_to) };
      for (const key in want) if (rows[key] !== want[key]) bad.push([r, key, rows[key], want[key]]);
      const canvas = document.querySelectorAll(".layer-view canvas.voxels")[l], p = R.voxelPoint(name, r);
      canvas.dispatchEvent(new PointerEvent("pointermove", { clientX: p.x, clientY: p.y, bubbles: true }));
      const hover = document.getElementById("hover").textContent;
      const wantHover = name + " " + keyOf(ly.grid, r) + " · ζ " + fmt(ly.z.zeta[r]) + " [" + fmt(ly.z.lo[r]) + ", " + fmt(ly.z.hi[r]) + "] · density " + fmt(ly.g.density[r]) +
                        (critical ? " · critical" : "") + (dead ? " · dead" : "");
      if (hover !== wantHover) bad.push([r, "hover", hover, wantHover]);
    }
    document.getElementById("hover").hidden = true;
    // the region's ζ by epoch: the slider's epoch (index 5) marked orange, the others blue
    R.setEpoch(5);
    const spark = document.querySelector("#details-body > canvas"), hint = [...document.querySelectorAll("#details-body > .hint")].map((h) => h.textContent).pop();
    const series = D.epochs.map((x) => (x.layers[l].z ? x.layers[l].z.zeta[r] : null)), known = series.filter((v) => v !== null);
    const lo = Math.min(0, ...known), hi = Math.max(0, ...known), w = spark.clientWidth, h = spark.clientHeight;
    const at = (i) => __px(spark, 6 + (w - 12) * i / (D.epochs.length - 1), h - 6 - (h - 12) * (series[i] - lo) / (hi - lo));
    const dots = { here: at(5), other: at(8), last: at(D.epochs.length - 1) };
    R.state.sel = null; R.setEpoch(e);
    return { picks, bad, hint, dots }; })()`);
  check(panel.picks.every((r) => r >= 0) && panel.bad.length === 0,
        "the region panel and the hover line of a dead, a critical and a significant region: block numbers, density, ζ and interval, flags, flows to and from other grids",
        JSON.stringify({ picks: panel.picks, bad: panel.bad.slice(0, 3) }));
  check(panel.hint === "ζ of this region by analysed epoch" && nearRgb(panel.dots.here, [213, 94, 0]) && nearRgb(panel.dots.other, [0, 114, 178]) &&
        nearRgb(panel.dots.last, [0, 114, 178]),
        "the region's ζ by analysed epoch (one epoch without ζ): the slider's epoch marked", JSON.stringify(panel.dots) + " " + panel.hint);

  // the 3-D voxels seen straight on (yaw 0, pitch 0): column blocks left to right, row blocks top to
  // bottom, and at each the nearest channel block (the last) drawn over the others (painter's algorithm)
  const voxels = await evaluate(`(() => { const R = window.nnfmriReport, D = JSON.parse(document.getElementById("report-data").textContent);
    R.setView("voxels"); R.state.yaw = 0; R.state.pitch = 0; R.setEpoch(R.epochCount - 1);
    const g = D.epochs[R.state.e].layers[0].grid, at = (i, j, k) => R.voxelPoint(D.layers[0].name, (i * g[1] + j) * g[2] + k);
    const r = { corner: at(0, 0, g[2] - 1), right: at(0, g[1] - 1, g[2] - 1), down: at(g[0] - 1, 0, g[2] - 1), far: at(0, 0, 0),
                front: coordsOf(g, R.frontRegion(D.layers[0].name))[2], last: g[2] - 1 };
    R.state.yaw = -0.6; R.state.pitch = 0.5; R.setView("map"); return r; })()`);
  check(voxels.corner && voxels.right && voxels.down && voxels.right.x > voxels.corner.x + 20 && Math.abs(voxels.right.y - voxels.corner.y) < 1 &&
        voxels.down.y > voxels.corner.y + 20 && Math.abs(voxels.down.x - voxels.corner.x) < 1 && voxels.far === null && voxels.front === voxels.last,
        "the 3-D view straight on: x = column block, y = row block, the nearest channel block drawn over the others", JSON.stringify(voxels));

  // the pathway view: a layer's tile has its column blocks left to right and row blocks top to bottom;
  // chain 1 (the strongest) is drawn through every step; "no tract.json" at epoch 7 only
  const paths = await evaluate(`(() => { const R = window.nnfmriReport, D = JSON.parse(document.getElementById("report-data").textContent);
    R.state.sel = null; R.setEpoch(R.epochCount - 1);
    const canvas = document.getElementById("pathways"), rect = canvas.getBoundingClientRect(), g = D.epochs[R.state.e].layers[0].grid;
    const box = (i, j) => R.pathCell(0, (i * g[1] + j) * g[2]);
    const chain = drawnChains(D.epochs[R.state.e].chains)[0];
    const centre = (s) => { const b = R.pathCell(chain.layers[s], chain.regions[s]), side = b.bottom - b.top; return [b.left - rect.left + side / 2, b.top - rect.top + side / 2]; };
    // each step's dot, and the line halfway to the next step
    const steps = chain.layers.flatMap((l, s) => [__px(canvas, ...centre(s))].concat(s ? [__px(canvas, (centre(s - 1)[0] + centre(s)[0]) / 2, (centre(s - 1)[1] + centre(s)[1]) / 2)] : []));
    const texts = (epoch) => { R.setEpoch(D.epochs.findIndex((e) => e.epoch === epoch)); __rec.length = 0; R.setEpoch(R.state.e);
      return __rec.filter((e) => e.cv === canvas && e.name === "fillText").map((e) => e.a[0]); };
    const r = { a: box(0, 0), right: box(0, 1), down: box(1, 0), steps, missing7: texts(7).filter((t) => t.startsWith("no tract.json")), missing4: texts(4).filter((t) => t.startsWith("no tract.json")) };
    R.setEpoch(R.epochCount - 1); return r; })()`);
  check(paths.right.left > paths.a.left && paths.right.top === paths.a.top && paths.down.top > paths.a.top && paths.down.left === paths.a.left,
        "the pathway view's tiles: column blocks left to right, row blocks top to bottom", JSON.stringify([paths.a, paths.right, paths.down]));
  check(paths.steps.length >= 2 && paths.steps.every((p) => nearRgb(p, [0, 114, 178])),
        "the strongest chain is drawn through each of its steps: a dot at each, a line between", JSON.stringify(paths.steps));
  check(paths.missing7.length === 1 && paths.missing4.length === 0, "the pathway view says \"no tract.json\" at the epoch without one only", JSON.stringify([paths.missing7, paths.missing4]));

  // the training curves: each series' dots where its own values put them (an affine map, higher value
  // higher up), and the slider's epoch named by its number
  const curves = await evaluate(`(() => { const R = window.nnfmriReport, D = JSON.parse(document.getElementById("report-data").textContent), M = D.metrics;
    const canvas = document.getElementById("curves");
    R.setEpoch(3); __rec.length = 0; R.setEpoch(3);
    const arcs = __rec.filter((e) => e.cv === canvas && e.name === "arc"), n = M.epoch.length;
    const fits = ["train_loss", "test_loss", "train_acc", "test_acc", "learning_rate"].map((key, s) => {
      const ys = arcs.slice(s * n, (s + 1) * n).map((e) => e.a[1]), xs = arcs.slice(s * n, (s + 1) * n).map((e) => e.a[0]), v = M[key];
      const a = v.indexOf(Math.min(...v)), b = v.indexOf(Math.max(...v)), slope = (ys[b] - ys[a]) / (v[b] - v[a]);
      return { key, ok: slope < 0 && ys.every((y, i) => Math.abs(y - (ys[a] + slope * (v[i] - v[a]))) < 0.5) && xs.every((x, i) => !i || x > xs[i - 1]) };
    });
    const slider = __rec.filter((e) => e.cv === canvas && e.name === "fillText" && / \\(slider\\)$/.test(e.a[0])).map((e) => e.a[0]);
    const titles = __rec.filter((e) => e.cv === canvas && e.name === "fillText").map((e) => e.a[0]);
    R.setEpoch(R.epochCount - 1);
    return { fits, slider, want: "epoch " + D.epochs[3].epoch + " (slider)", rates: M.learning_rate.length,
             order: ["loss", "accuracy", "learning rate", "ζ stability"].map((t) => titles.findIndex((x) => x.startsWith(t))) }; })()`);
  check(curves.fits.every((f) => f.ok) && curves.slider.length === 1 && curves.slider[0] === curves.want,
        "the training curves: each series' dots where its own values put them; the slider's epoch named by its number", JSON.stringify(curves));
  check(curves.rates > 1 && curves.order.every((i, k) => i >= 0 && (!k || i > curves.order[k - 1])),
        "the training chart has a learning-rate panel between accuracy and ζ stability", JSON.stringify(curves.order));

  // the summary at an epoch that is not the last: its top regions, pathways and layers are that epoch's
  const summary = await evaluate(`(() => { const R = window.nnfmriReport, D = JSON.parse(document.getElementById("report-data").textContent);
    R.setEpoch(5);
    const s = D.epochs[5].summary, tables = [...document.querySelectorAll("#summary table")].map((t) => [...t.rows].slice(1).map((tr) => [...tr.cells].map((c) => c.textContent)));
    const want = [s.top_regions.map((r) => [r.same_game_layers ? r.layer + " (=\\u00a0" + r.same_game_layers.join(", ") + ")" : r.layer, r.region, fmt(r.zeta),
                                            r.zeta_ci ? "[" + fmt(r.zeta_ci[0]) + ", " + fmt(r.zeta_ci[1]) + "]" : "–", r.role.replace(/_/g, " "), r.selectivity === undefined ? "–" : pct(r.selectivity)]),
                  s.critical_pathways.map((p) => [p.path, fmt(p.strength), fmt(p.pathway_efficiency), p.strongest_flow || "–"]),
                  D.layers.map((x) => [x.name, pct(s.coverage[x.name]), pct(s.critical_share[x.name]),
                                       s.zeta_stability && s.zeta_stability.layers[x.name] !== undefined ? fmt(s.zeta_stability.layers[x.name], 3) : "–"])];
    R.setEpoch(R.epochCount - 1);
    return { same: JSON.stringify(tables) === JSON.stringify(want), rows: want.map((t) => t.length), got: JSON.stringify(tables).slice(0, 300), perUnit: s.critical_pathways.every((p) => p.strength !== undefined) }; })()`);
  check(summary.same && summary.perUnit && summary.rows.every((n) => n > 0), "the summary at epoch 6 (not the last): its top regions, pathways (strength per receiving unit) and layers",
        JSON.stringify(summary));

  // the confusion matrix: each count in its true row and predicted column; a cell's regions are that
  // confusion's, not its transpose's
  const confusion = await evaluate(`(() => { const R = window.nnfmriReport, D = JSON.parse(document.getElementById("report-data").textContent);
    R.setEpoch(R.epochCount - 1);
    const ep = D.epochs[R.state.e], K = D.meta.classes.length, m = Array.from({ length: K }, () => new Array(K).fill(0));
    ep.errors.labels.forEach((y, i) => { m[y][ep.errors.predicted[i]] += 1; });
    const shown = [...document.querySelectorAll("#errors table.confusion tr")].slice(1).map((tr) => [...tr.cells].slice(1).map((td) => Number(td.textContent || 0)));
    const y = ${PLANTED_CELL.true}, p = ${PLANTED_CELL.predicted}, what = D.meta.classes[y] + " → " + D.meta.classes[p];
    document.querySelector('#errors td[data-y="' + y + '"][data-p="' + p + '"]').click();
    const lines = [...document.querySelectorAll("#errors .error-regions p")].map((x) => x.textContent);
    const want = ep.layers.filter((ly) => ly.errors).map((ly) => { const l = ep.layers.indexOf(ly);
      return errorRegionsLine(D.layers[l].name, ly.errors.confusions.find((c) => c.true === y && c.predicted === p), what, ly.z ? ly.z.images : null,
                              (r) => keyOf(ly.grid, r) + (regionLabel(ly.grid, ly.shape, r, D.meta.classes, l === D.layers.length - 1) ? " " + regionLabel(ly.grid, ly.shape, r, D.meta.classes, l === D.layers.length - 1) : "")); });
    R.state.errorPick = null; R.setEpoch(R.epochCount - 1);
    return { counts: JSON.stringify(shown) === JSON.stringify(m), lines: JSON.stringify(lines) === JSON.stringify(want), n: lines.length, first: lines[0], want: want[0] }; })()`);
  check(confusion.counts && confusion.lines && confusion.n > 0, "the confusion matrix's counts by true row and predicted column; a cell lists that confusion's regions", JSON.stringify(confusion));

  // NN-EEG at epoch index 5: the consistency terms and the band-power bars are that epoch's; a region's
  // own lane ticks only its own block's events (conv1 grid_2_1_1 has one; pool1 grid_2_1_1 none)
  const eeg = await evaluate(`(() => { const R = window.nnfmriReport, D = JSON.parse(document.getElementById("report-data").textContent), EEG = D.eeg;
    R.state.sel = null; R.setEpoch(5); __rec.length = 0; R.setEpoch(5);
    const bars = document.getElementById("eeg-bands"), cur = eegEpochIndex(EEG.epochs, D.epochs[5].epoch);
    const blue = __rec.filter((e) => e.cv === bars && e.name === "fillRect" && e.fill === "#0072b2").map((e) => e.a[3] / 80);
    const want = EEG.blocks.flatMap((_, b) => EEG.epochs[cur].bands[b]);
    const rows = [...document.querySelectorAll("#eeg-consistency tr[data-term]")].map((tr) => [...tr.cells].slice(1).map((c) => c.textContent));
    const terms = ["rho_gamma_zeta", "rho_gamma_zeta_layer", "kappa", "f1", "consistency"].map((k) => termCells(EEG.consistency[5][k]));
    const chart = document.getElementById("eeg-chart");
    const l = D.layers.findIndex((x) => x.name === "pool1"), grid = D.epochs[5].layers[l].grid;
    R.select(l, 1 * grid[1] * grid[2]);  // pool1 grid_2_1_1: conv1's event region's key in another block
    const g = JSON.parse(chart.dataset.geometry), ratio = chart.width / chart.clientWidth, step = EEG.epochs.flatMap((e) => e.events).find((e) => e[4] === "grid_2_1_1")[0];
    const x = Math.round((g.left + (g.width - g.left - g.right) * (step - g.first) / (g.last - g.first)) * ratio);
    const top = g.top + (EEG.blocks.length + 1) * g.laneH, img = chart.getContext("2d").getImageData(x - 2, Math.round(top * ratio), 5, Math.round(g.laneH * ratio)).data;
    let red = 0;
    for (let i = 0; i < img.length; i += 4) red += img[i] > 150 && img[i + 1] < 60 && img[i + 2] < 60 ? 1 : 0;
    const region = chart.dataset.region;
    R.state.sel = null; R.setEpoch(R.epochCount - 1);
    return { bars: blue.length === want.length && blue.every((v, i) => Math.abs(v - want[i]) < 1e-6), n: blue.length, terms: JSON.stringify(rows) === JSON.stringify(terms),
             region, red }; })()`);
  check(eeg.bars && eeg.n > 0 && eeg.terms, "NN-EEG at epoch 6: its band-power bars and consistency terms are that epoch's", JSON.stringify(eeg));
  check(eeg.region === "pool1 grid_2_1_1" && eeg.red === 0, "a region's own NN-EEG lane ticks no event of another block's region of the same key", JSON.stringify(eeg));

  // ζ on the image: each image pixel gets the colour of its own place in the layer's ζ map (zetaOnImage)
  const onImage = await evaluate(`new Promise((done) => { const R = window.nnfmriReport, D = JSON.parse(document.getElementById("report-data").textContent), W = __want(D);
    R.setEpoch(R.epochCount - 1); __rec.length = 0; R.setEpoch(R.epochCount - 1);
    requestAnimationFrame(() => requestAnimationFrame(() => {
      const host = document.getElementById("onimage"), canvas = host.querySelector("canvas"), l = D.layers.findIndex((x) => x.name === host.dataset.layer);
      const ly = D.epochs[R.state.e].layers[l], [, h, w] = D.images.shape, map = zetaOnImage(ly.grid, ly.z.zeta, h, w), sc = layerScale(D.epochs, l);
      const cells = __rec.filter((e) => e.cv === canvas && e.name === "fillRect" && e.alpha === 0.5);
      const step = cells.length ? cells[1].a[0] - cells[0].a[0] : 1;
      let bad = 0;
      for (const e of cells) { const x = Math.round(e.a[0] / step), y = Math.round(e.a[1] / step);
        if (e.fill !== __norm(css(ramp(W.DIV, scalePosition(sc, "zeta", map[y * w + x]))))) ++bad; }
      done({ layer: host.dataset.layer, cells: cells.length, want: h * w, bad });
    })); })`);
  check(onImage.cells === onImage.want && onImage.bad === 0, "ζ on the image: each pixel coloured by its own place in the layer's ζ map", JSON.stringify(onImage));

  // the keyboard: an arrow on a map with no selection in its layer selects that layer's first region,
  // whatever is selected in another layer
  const keys = await evaluate(`(() => { const R = window.nnfmriReport; R.setView("map"); R.setEpoch(R.epochCount - 1); R.select(0, 5);
    const c = document.querySelectorAll(".layer-view canvas.voxels")[1]; c.scrollIntoView({ block: "center" }); c.focus(); return true; })()`);
  await press("ArrowRight", "ArrowRight", 39);
  const moved = await evaluate(`(() => { const s = window.nnfmriReport.state.sel; window.nnfmriReport.state.sel = null; document.activeElement.blur();
    window.nnfmriReport.setEpoch(window.nnfmriReport.epochCount - 1); return s; })()`);
  check(keys && moved && moved.l === 1 && moved.r === 0, "an arrow on a map without a selection in its layer selects its first region (another layer's selection aside)", JSON.stringify(moved));
}

// Two [r, g, b] colours within tol (3) per channel.
const nearRgb = (a, b, tol) => Array.isArray(a) && [0, 1, 2].every((k) => Math.abs(a[k] - b[k]) <= (tol || 3));

// A w×h RGB PNG (filter 0 rows, zlib) whose value at (x, y, channel c) is value(x, y, c): the test's own
// images for an images:DIR input.
function pngBytes(w, h, value) {
  const crcTable = Array.from({ length: 256 }, (_, n) => { let c = n; for (let k = 0; k < 8; ++k) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1; return c >>> 0; });
  const crc = (buf) => { let c = 0xffffffff; for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8); return (c ^ 0xffffffff) >>> 0; };
  const chunk = (type, data) => { const len = Buffer.alloc(4), sum = Buffer.alloc(4), body = Buffer.concat([Buffer.from(type), data]);
    len.writeUInt32BE(data.length); sum.writeUInt32BE(crc(body)); return Buffer.concat([len, body, sum]); };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(w, 0); header.writeUInt32BE(h, 4); header[8] = 8; header[9] = 2;
  const rows = Buffer.alloc(h * (1 + 3 * w));
  for (let y = 0; y < h; ++y) for (let x = 0; x < w; ++x) for (let c = 0; c < 3; ++c) rows[y * (1 + 3 * w) + 1 + 3 * x + c] = value(x, y, c);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk("IHDR", header),
                        chunk("IDAT", require("zlib").deflateSync(rows)), chunk("IEND", Buffer.alloc(0))]);
}

// monitor.html (`nnfmri monitor`) of a tiny net trained on the planted data, watching a noisy copy
// (every window alarms): at a phone's width (375 px) nothing scrolls sideways, even with a region name
// too long for the alarm table, and the timeline is drawn at its own size, 1920 px too (not a
// fixed 1,200-pixel bitmap scaled to the page, its labels 3 px high on a phone, nor an alarm table
// that widens the page).
async function monitorPage(browser, problems, outDir) {
  const dir = path.join(outDir, "monitor-test"), app = path.resolve(args.nnfmri);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const run = (argv) => execFileSync(app, argv, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  run(["train", "--data", "planted", "--model", "conv3x3:4 relu maxpool2 linear:10", "--epochs", "1", "--limit-train", "200", "--limit-test", "100",
       "--threads", "2", "--out", path.join(dir, "run")]);
  // ζ weights from the checkpoint's own analysis, so that the page also shows spatial_zeta (and its definition)
  run(["analyze", path.join(dir, "run", "model.ckpt"), "--data", "planted", "--eval-samples", "100", "--stages", "grid,zeta", "--zeta-samples", "16",
       "--zeta-budget", "2", "--threads", "2", "--out", path.join(dir, "zeta")]);
  run(["profile", path.join(dir, "run", "model.ckpt"), "--data", "planted", "--limit-train", "200", "--knn-images", "100", "--threads", "2",
       "--zeta", path.join(dir, "zeta", "zeta.json"), "--out", path.join(dir, "profile.bin")]);
  run(["corrupt", "--data", "planted", "--kind", "noise", "--severity", "5", "--limit-train", "10", "--limit-test", "100", "--out", path.join(dir, "noisy")]);
  run(["monitor", path.join(dir, "run", "model.ckpt"), "--profile", path.join(dir, "profile.bin"), "--input", "cifar10:" + path.join(dir, "noisy"),
       "--window", "20", "--threads", "2", "--out", path.join(dir, "monitor")]);
  const { cdp, evaluate } = await attachSession(browser, problems, /^(file|data|about):/);
  const open = async (width, height, page = path.join(dir, "monitor", "monitor.html")) => {
    await cdp("Emulation.setDeviceMetricsOverride", { width, height, deviceScaleFactor: 1, mobile: false });
    const loaded = browser.waitFor("Page.loadEventFired", 30000);
    await cdp("Page.navigate", { url: "file://" + page });
    await loaded;
    await sleep(200);
  };
  const measure = `new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(() => { const t = document.getElementById("timeline");
    done({ inner: document.documentElement.clientWidth, scroll: document.scrollingElement.scrollWidth, alarms: document.querySelectorAll("#alarms tr").length - 1,
           css: t.clientWidth, bitmap: t.width, ratio: window.devicePixelRatio,
           alarmsScroll: document.getElementById("alarms").scrollWidth - document.getElementById("alarms").clientWidth }); })))`;
  await open(375, 667);
  const phone = await evaluate(measure);
  check(phone.alarms > 0 && phone.scroll <= phone.inner && phone.bitmap === Math.round(phone.css * phone.ratio) && phone.css < phone.inner,
        "monitor.html at 375 px: no sideways scroll, the timeline drawn at its own width", JSON.stringify(phone));
  // The timeline's box can change width without a window resize (a vertical scroll bar that appears once
  // the page below it is laid out takes 15 px: a bitmap of 333 px for a 318-px box): it is
  // redrawn at its new width all the same.
  const narrowed = await evaluate(`new Promise((done) => { document.body.style.paddingRight = "60px";
    setTimeout(() => requestAnimationFrame(() => requestAnimationFrame(() => { const t = document.getElementById("timeline");
      const out = { css: t.clientWidth, bitmap: t.width, ratio: window.devicePixelRatio }; document.body.style.paddingRight = ""; done(out); })), 300); })`);
  check(narrowed.css < phone.css && narrowed.bitmap === Math.round(narrowed.css * narrowed.ratio),
        "monitor.html: the timeline is redrawn at its box's width when the layout changes without a window resize", JSON.stringify(narrowed));
  const long = await evaluate(`(() => { const td = document.querySelector("#alarms td:last-child");
    td.textContent = "stage3.block2.residual_conv2 grid_16_16_4".repeat(2); return document.scrollingElement.scrollWidth; })()`);
  check(long <= phone.inner, "monitor.html at 375 px: a long region name scrolls within the alarm table, not the page", long + " > " + phone.inner + "?");
  await open(1920, 1000);
  const wide = await evaluate(measure);
  check(wide.bitmap === Math.round(wide.css * wide.ratio) && wide.css > 1200, "monitor.html at 1920 px: the timeline drawn at its own width", JSON.stringify(wide));
  // the alarm table's six columns at the page's width, nothing scrolled out of view (as it would be in
  // the report's 340-px side column)
  check(wide.alarmsScroll <= 1, "monitor.html at 1920 px: the alarm table shows every column without scrolling", JSON.stringify(wide));
  // What the page names is defined on it: the selected
  // score's line under the selector, for every score the selector offers; every term (a table heading,
  // "BH-adjusted p", the window test, |z|, the region map) with its tooltip, one Tab stop per definition
  // that shows it in the hover box, and its description for a screen reader; each region map's legend.
  const scores = await evaluate(`(() => { const s = document.getElementById("detector"), line = document.getElementById("detector-definition");
    if (!line) return { options: s.options.length, missing: ["no definition line"] };
    const missing = [];
    for (const o of s.options) {
      s.value = o.value; s.dispatchEvent(new Event("change"));
      const t = line.textContent;
      if (!t.startsWith(o.textContent + " ") || !t.includes('README "Monitoring"') || t.includes("no definition") || !line.getClientRects().length) missing.push(o.textContent);
    }
    s.value = "0"; s.dispatchEvent(new Event("change"));
    return { options: s.options.length, names: [...s.options].map((o) => o.textContent), missing, described: s.getAttribute("aria-describedby") === line.id }; })()`);
  check(scores.options >= 8 && scores.names.includes("spatial_zeta") && scores.missing.length === 0 && scores.described,
        "monitor.html: every score in the selector (spatial_zeta too) has its definition shown under it, and the selector is described by it", JSON.stringify(scores));
  const terms = await evaluate(`(() => { const all = [...document.querySelectorAll("[data-tip]")], keys = [...new Set(all.map((e) => e.dataset.tip))];
    return { keys, terms: all.length,
             bad: keys.filter((k) => { const s = all.filter((e) => e.dataset.tip === k && e.tabIndex === 0); return s.length !== 1 || s[0] !== all.find((e) => e.dataset.tip === k); }),
             undescribed: all.filter((e) => { const d = document.getElementById(e.getAttribute("aria-describedby") || "");
                                              return !d || d.textContent !== e.title || !e.title.includes('README "Monitoring"'); }).map((e) => e.dataset.tip) }; })()`);
  const needed = ["bh", "window_test", "window", "images", "drifting", "most", "ks", "z", "region_map"].concat(scores.names || []);
  check(needed.every((k) => terms.keys.includes(k)) && terms.terms > terms.keys.length && terms.bad.length === 0 && terms.undescribed.length === 0,
        "monitor.html: every term it names (each score too) has a definition (README \"Monitoring\"), one Tab stop per definition, each described", JSON.stringify(terms));
  // the list under the timeline's heading names each of the run's scores, in the selector's order, as a term
  const scoreTerms = await evaluate(`[...document.querySelectorAll("#score-terms [data-tip]")].map((e) => e.dataset.tip + "=" + e.textContent)`);
  check(scoreTerms.join(" ") === (scores.names || []).map((n) => n + "=" + n).join(" "),
        "monitor.html: the list under the timeline's heading names every score of the run as a term with its definition", JSON.stringify(scoreTerms));
  const press = async (key, code, keyCode) => {
    await cdp("Input.dispatchKeyEvent", { type: "rawKeyDown", key, code, windowsVirtualKeyCode: keyCode });
    await cdp("Input.dispatchKeyEvent", { type: "keyUp", key, code, windowsVirtualKeyCode: keyCode });
  };
  await evaluate(`document.activeElement.blur(); window.scrollTo(0, 0)`);
  const visited = [];
  let axDescription = null;
  for (let tabs = 0; tabs < 60; ++tabs) {
    await press("Tab", "Tab", 9);
    await sleep(20);
    const at = await evaluate(`(() => { const e = document.activeElement, box = document.getElementById("hover");
      return { tip: e.dataset.tip || null, title: e.title, text: !box || box.hidden ? null : box.textContent, id: e.id || e.tagName }; })()`);
    if (visited.length && at.id === visited[0].id) break;  // round the page once
    visited.push(at);
    if (at.tip && axDescription === null) {
      const { result: node } = await cdp("Runtime.evaluate", { expression: "document.activeElement" });
      const ax = await cdp("Accessibility.getPartialAXTree", { objectId: node.objectId, fetchRelatives: false });
      const n = ax.nodes.find((x) => !x.ignored) || ax.nodes[0];
      axDescription = n && n.description ? n.description.value === at.title : false;
    }
  }
  const tipStops = visited.filter((v) => v.tip), tipKeys = tipStops.map((v) => v.tip);
  check(tipKeys.length >= needed.length && terms.keys.every((k) => tipKeys.filter((t) => t === k).length === 1) && tipStops.every((v) => v.text === v.title) && axDescription === true,
        "monitor.html: Tab reaches each definition once, shows it beside the term, and a screen reader reads it as the term's description",
        JSON.stringify({ tipKeys, keys: terms.keys, axDescription, shown: tipStops.filter((v) => v.text !== v.title).map((v) => v.tip) }));
  await evaluate(`document.activeElement.blur(); window.scrollTo(0, 0)`);
  const legends = await evaluate(`(() => { const figs = [...document.querySelectorAll("#maps figure")].slice(1);  // the first: the image itself
    return { maps: figs.length, legends: figs.map((f) => { const row = f.querySelector(".legend-row"); if (!row) return null;
      const bar = row.querySelector("canvas"), ctx = bar.getContext("2d"), at = (x) => [...ctx.getImageData(x, Math.floor(bar.height / 2), 1, 1).data].join(",");
      return { low: row.children[0].textContent, high: row.children[2].textContent, what: row.children[3].textContent, left: at(0), right: at(bar.width - 1),
               width: bar.clientWidth, fits: bar.width === Math.round(bar.clientWidth * devicePixelRatio) }; }) }; })()`);
  check(legends.maps > 0 && legends.legends.every((l) => l && l.low === "0" && Number(l.high) > 0 && l.what === "|z|" && l.left !== l.right &&
                                                       l.left.endsWith(",255") && l.right.endsWith(",255") && l.width >= 60 && l.fits),
        "monitor.html: every region map has its colour legend, 0 … the block's largest |z| on the sequential map", JSON.stringify(legends));
  // The alarm table of the page open now against MONITOR's monitor.jsonl: one row per window that alarmed, in
  // stream order, with the window's number, its first–last image, its regions drifting "of" those tested, and
  // its first top region with that region's KS distance and BH-adjusted p at 3 significant digits (every
  // column checked, the first three included)
  const alarmRows = async (monitor) => {
    const lines = fs.readFileSync(path.join(monitor, "monitor.jsonl"), "utf8").split("\n").filter((l) => l.startsWith('{"window"')).map((l) => JSON.parse(l));
    const rows = await evaluate(`[...document.querySelectorAll("#alarms tr")].slice(1).map((tr) => [...tr.children].map((td) => td.textContent))`);
    const alarmed = lines.filter((w) => w.alarm), three = (v) => Number(v.toPrecision(3));
    const ok = rows.length === alarmed.length && rows.every((cells, i) => {
      const w = alarmed[i], top = w.top_regions[0];
      return cells.length === 6 && cells[0] === String(w.window) && cells[1] === w.first + "–" + (w.first + w.images - 1) &&
             cells[2] === w.regions_drifting + " of " + w.regions_tested && cells[3] === top.layer + " " + top.region &&
             Number(cells[4]) === three(top.ks_distance) && Number(cells[5]) === three(top.p_adjusted);
    });
    return { ok, windows: lines.length, alarmed: alarmed.map((w) => w.window), rows: rows.slice(0, 3), lines: alarmed.slice(0, 3).map((w) => w.top_regions[0]) };
  };
  const noisyRows = await alarmRows(path.join(dir, "monitor"));
  check(noisyRows.ok && noisyRows.alarmed.length > 0,
        "monitor.html: each alarm's row gives its window, images, regions drifting, most drifting region, KS distance and BH-adjusted p as monitor.jsonl does",
        JSON.stringify(noisyRows));
  // The timeline of the page open now, drawn for score d (chosen in the selector): n dots of max(2, min(6,
  // (W − 60)/n/3)) CSS px at x = 30 + (W − 60)·i/(n − 1) (the middle for one image), from the score's lowest
  // 30 px above the bottom to its highest 30 px below the top (a constant score: at the bottom, on a scale of
  // lo … lo + 1); the scale's ends written at its left (fmt(hi) at the top, fmt(lo) at the bottom), "image 0"
  // and "image n−1" under it; the note names the score.  `missing`: the images without their dot.
  const timelineOf = (d) => evaluate(`(() => {
    const c = document.getElementById("timeline"), s = document.getElementById("detector"), D = JSON.parse(document.getElementById("monitor-data").textContent);
    const texts = [], fillText = CanvasRenderingContext2D.prototype.fillText;
    CanvasRenderingContext2D.prototype.fillText = function (t, x, y) { if (this.canvas === c) texts.push([t, Math.round(x), Math.round(y)].join()); return fillText.apply(this, arguments); };
    s.value = "${d}"; s.dispatchEvent(new Event("change"));
    CanvasRenderingContext2D.prototype.fillText = fillText;
    const px = c.getContext("2d").getImageData(0, 0, c.width, c.height).data, r = c.width / c.clientWidth, W = c.clientWidth, H = c.clientHeight, pad = 30;
    const v = D.scores.map((x) => x[${d}]), n = v.length, lo = Math.min(...v), hi = Math.max(...v) > lo ? Math.max(...v) : lo + 1;
    const dot = Math.max(2, Math.min(6, (W - 2 * pad) / n / 3)), missing = [];
    v.forEach((val, i) => {
      const cx = n > 1 ? pad + (W - 2 * pad) * i / (n - 1) : W / 2, cy = H - pad - (H - 2 * pad) * (val - lo) / (hi - lo);
      let dark = 0;
      for (let y = Math.round((cy - 5) * r); y < Math.round((cy + 5) * r); ++y) for (let x = Math.round((cx - 5) * r); x < Math.round((cx + 5) * r); ++x) {
        const k = 4 * (y * c.width + x); if (x >= 0 && x < c.width && px[k + 3] > 0 && px[k] < 80 && px[k + 1] < 80 && px[k + 2] < 80) ++dark; }
      if (dark / (r * r) < 0.5 * dot * dot) missing.push(i);
    });
    const scale = [[fmt(hi), 2, pad], [fmt(lo), 2, H - pad], ["image 0", pad, H - 8], ["image " + (n - 1), W - pad, H - 8]].map((e) => e.join());
    return { score: D.detectors[${d}], images: n, missing, scale: scale.every((e) => texts.includes(e)), texts,
             note: document.getElementById("timeline-note").textContent.startsWith(D.detectors[${d}] + ":") }; })()`);
  const timelines = [];
  for (let d = 0; d < scores.options; ++d) timelines.push(await timelineOf(d));
  await timelineOf(0);
  check(timelines.length >= 8 && timelines.every((t) => t.missing.length === 0 && t.scale && t.note),
        "monitor.html: the timeline draws the chosen score, each image's dot where its score puts it, the scale's ends and the first and last image named",
        JSON.stringify(timelines.filter((t) => t.missing.length || !t.scale || !t.note).slice(0, 2)));
  // The image chosen in the selector (its change event) and its region maps: every pixel of the image as the
  // data has it (planes R, G, B); every cell of a block's map coloured ramp(sequential, m/zmax), m the largest
  // |z| over the cell's channel blocks (region r = (i·GW + j)·GC + k) and zmax the block's largest |z|, which
  // its legend writes at 3 significant digits.  `bad`: what differs.
  const imageShown = (k) => evaluate(`(() => {
    const D = JSON.parse(document.getElementById("monitor-data").textContent), choice = document.getElementById("image"), s = D.selected[${k}];
    choice.value = "${k}"; choice.dispatchEvent(new Event("change"));
    const figures = [...document.querySelectorAll("#maps figure")], SEQ = D.colormaps.sequential.map(hexRgb), bad = [];
    const img = figures[0].querySelector("canvas"), q = img.width / s.width, ip = img.getContext("2d").getImageData(0, 0, img.width, img.height).data;
    const plane = s.width * s.height;
    for (let y = 0; y < s.height && !bad.length; ++y) for (let x = 0; x < s.width; ++x) {
      const a = 4 * (Math.floor((y + 0.5) * q) * img.width + Math.floor((x + 0.5) * q)), p = y * s.width + x;
      const want = s.channels === 3 ? [s.pixels[p], s.pixels[plane + p], s.pixels[2 * plane + p]] : [s.pixels[p], s.pixels[p], s.pixels[p]];
      if (want.some((v, c) => ip[a + c] !== v)) { bad.push("image pixel " + x + "," + y + ": " + [...ip.slice(a, a + 3)] + " for " + want); break; }
    }
    s.maps.forEach((m, b) => {
      const [gh, gw, gc] = m.grid, canvas = figures[1 + b] && figures[1 + b].querySelector("canvas");
      if (!canvas) return bad.push(m.layer + ": no map");
      const cell = new Array(gh * gw).fill(0);
      let zmax = 0;
      m.z.forEach((z, r) => { cell[Math.floor(r / gc)] = Math.max(cell[Math.floor(r / gc)], Math.abs(z)); zmax = Math.max(zmax, Math.abs(z)); });
      const kk = canvas.width / gw, mp = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
      for (let i = 0; i < gh; ++i) for (let j = 0; j < gw; ++j) {
        const a = 4 * (Math.floor((i + 0.5) * kk) * canvas.width + Math.floor((j + 0.5) * kk)), want = ramp(SEQ, zmax > 0 ? cell[i * gw + j] / zmax : 0);
        if (want.some((v, c) => Math.abs(mp[a + c] - v) > 1)) { bad.push(m.layer + " cell " + i + "," + j + ": " + [...mp.slice(a, a + 3)] + " for " + want); i = gh; break; }
      }
      const high = figures[1 + b].querySelector(".legend-row").children[2].textContent;
      if (high !== fmt(zmax, 3)) bad.push(m.layer + "'s legend: " + high + " for " + zmax);
    });
    return { image: s.image, maps: s.maps.length, figures: figures.length, bad }; })()`);
  const shownImages = [await imageShown(2), await imageShown(0)];
  check(shownImages.every((v) => v.maps > 0 && v.figures === v.maps + 1 && v.bad.length === 0),
        "monitor.html: the chosen image is drawn as its data has it, each region map cell by cell as the largest |z| of its channel blocks over the block's largest",
        JSON.stringify(shownImages));
  // the image list names each image, its label (label 0 too: the noisy test set has such an image among the
  // 8) and its prediction
  const named = await evaluate(`(() => { const D = JSON.parse(document.getElementById("monitor-data").textContent);
    return [...document.querySelectorAll("#image option")].map((o, i) => ({ text: o.textContent, ok: o.textContent.startsWith("image " + D.selected[i].image + " (") &&
      o.textContent.endsWith(", label " + D.selected[i].label + ", predicted " + D.selected[i].prediction + ")") })); })()`);
  check(named.length === 8 && named.every((o) => o.ok), "monitor.html: the image list names each image by its number, label and prediction",
        JSON.stringify(named.filter((o) => !o.ok)));
  // on paper the two choices stay shown, so a printout names its score and its image (hidden by the
  // report's print rules, the printed maps would not say whose image they are)
  await cdp("Emulation.setEmulatedMedia", { media: "print" });
  const paperChoices = await evaluate(`["detector", "image", "image-note"].map((id) => document.getElementById(id).getClientRects().length > 0)`);
  await cdp("Emulation.setEmulatedMedia", { media: "" });
  check(paperChoices.every((shown) => shown), "monitor.html printed: the score and the image shown stay named", JSON.stringify(paperChoices));
  // printing draws the timeline and the legends at 3 pixels per CSS pixel, then at the screen's 1 again
  // (printed at 1 they are blurred)
  const bitmaps = `(() => { const drawn = [document.getElementById("timeline"), ...document.querySelectorAll("#maps .legend-row canvas")];
    const ratios = drawn.map((c) => c.width / Math.max(50, c.clientWidth));
    return { canvases: drawn.length, low: Math.min(...ratios), high: Math.max(...ratios), maps: document.querySelectorAll("#maps figure").length }; })()`;
  await evaluate(`window.dispatchEvent(new Event("beforeprint"))`);
  const printed = await evaluate(bitmaps);
  await evaluate(`window.dispatchEvent(new Event("afterprint"))`);
  const after = await evaluate(bitmaps);
  check(printed.canvases >= 2 && printed.low > 2.95 && printed.high < 3.05 && printed.maps === legends.maps + 1 &&
        after.low > 0.95 && after.high < 1.05 && after.maps === printed.maps,
        "monitor.html: printing draws the timeline and the legends at 3 pixels per CSS pixel, then the screen's 1 again", JSON.stringify({ printed, after }));
  const shot = await cdp("Page.captureScreenshot", { format: "png" });
  fs.writeFileSync(path.join(outDir, "monitor.png"), Buffer.from(shot.data, "base64"));
  // a stream shorter than one window (10 images, windows of 20) from a folder of PNGs without class
  // folders (unlabelled): the page says no window was tested, not "no window alarmed", draws the 10
  // scores as dots a person can find (6 px, not 2), and lists each image by its file, unlabelled
  const few = path.join(dir, "few");
  fs.mkdirSync(few, { recursive: true });
  for (let i = 0; i < 10; ++i)
    fs.writeFileSync(path.join(few, "photo" + i + ".png"), pngBytes(32, 32, (x, y, c) => (x * 7 + y * 3 + c * 50 + i * 25) % 256));
  run(["monitor", path.join(dir, "run", "model.ckpt"), "--profile", path.join(dir, "profile.bin"), "--input", "images:" + few,
       "--window", "20", "--threads", "2", "--out", path.join(dir, "monitor-few")]);
  const shortLoad = browser.waitFor("Page.loadEventFired", 30000);
  await cdp("Page.navigate", { url: "file://" + path.join(dir, "monitor-few", "monitor.html") });
  await shortLoad;
  await sleep(200);
  const shown = await evaluate(`(() => { const c = document.getElementById("timeline"), D = JSON.parse(document.getElementById("monitor-data").textContent);
    const px = c.getContext("2d").getImageData(0, 0, c.width, c.height).data, r = c.width / c.clientWidth, W = c.clientWidth, H = c.clientHeight, pad = 30;
    const s = D.scores.map((x) => x[0]), lo = Math.min(...s), hi = Math.max(...s);
    // dark pixels in the 10 × 10 CSS px box around each image's point (the scale's drawing: monitor.js)
    const dots = s.map((v, i) => { const cx = pad + (W - 2 * pad) * i / (s.length - 1), cy = H - pad - (H - 2 * pad) * (v - lo) / (hi - lo);
      let dark = 0;
      for (let y = Math.round((cy - 5) * r); y < Math.round((cy + 5) * r); ++y) for (let x = Math.round((cx - 5) * r); x < Math.round((cx + 5) * r); ++x) {
        const k = 4 * (y * c.width + x); if (px[k + 3] > 0 && px[k] < 80 && px[k + 1] < 80 && px[k + 2] < 80) ++dark; }
      return dark / (r * r); });
    return { alarms: document.getElementById("alarms").textContent, subtitle: document.getElementById("subtitle").textContent, dots: dots.map(Math.round),
             options: [...document.querySelectorAll("#image option")].map((o) => o.textContent) }; })()`);
  check(shown.alarms === "No window was tested: the stream's 10 images are fewer than one window of 20." && /10 images, 0 windows of 20/.test(shown.subtitle) &&
        shown.dots.length === 10 && shown.dots.slice(1, 9).every((d) => d >= 25) &&
        shown.options.length === 8 && shown.options.every((o) => /^image (\d) photo\1\.png \(spatial_typ [^,]+, unlabelled, predicted \d\)$/.test(o)),
        "monitor.html of an unlabelled folder shorter than one window: no window was tested, its 10 dots drawn large, each image by its file", JSON.stringify(shown));
  // at a phone's width the folder's image list, its files named, shrinks within the page (else
  // its select is 395 px wide at 375 px and the page scrolls sideways; the mutation audit of monitor.js
  // found it: a mutant that wrote "unlabelled" for label 0 lengthened the noisy page's list by 3 letters and
  // the 375-px check failed)
  await open(375, 667, path.join(dir, "monitor-few", "monitor.html"));
  const fewPhone = await evaluate(`({ inner: document.documentElement.clientWidth, scroll: document.scrollingElement.scrollWidth,
                                      list: document.getElementById("image").getBoundingClientRect().width })`);
  check(fewPhone.scroll <= fewPhone.inner, "monitor.html of a folder at 375 px: its image list naming the files shrinks, no sideways scroll", JSON.stringify(fewPhone));
  // One image (a folder of one PNG): its dot in the timeline's middle, at the bottom of a scale lo … lo + 1
  // (its score alone gives no range), and "the stream's 1 image is" fewer than one window
  const one = path.join(dir, "one");
  fs.mkdirSync(one, { recursive: true });
  fs.writeFileSync(path.join(one, "photo.png"), pngBytes(32, 32, (x, y, c) => (x * 5 + y * 9 + c * 70) % 256));
  run(["monitor", path.join(dir, "run", "model.ckpt"), "--profile", path.join(dir, "profile.bin"), "--input", "images:" + one,
       "--window", "20", "--threads", "2", "--out", path.join(dir, "monitor-one")]);
  await open(1920, 1000, path.join(dir, "monitor-one", "monitor.html"));
  const alone = { timeline: await timelineOf(0), alarms: await evaluate(`document.getElementById("alarms").textContent`) };
  check(alone.timeline.images === 1 && alone.timeline.missing.length === 0 && alone.timeline.scale &&
        alone.alarms === "No window was tested: the stream's 1 image is fewer than one window of 20.",
        "monitor.html of one image: its dot in the timeline's middle, the scale's ends written, no window tested", JSON.stringify(alone));
  // A stream whose windows 1 and 4 are the noisy copy's and 0, 2 and 3 a copy with a 4-px black square
  // (occlusion, severity 1), which alarms less (window 3 only, 1 region at BH-adjusted p 0.0085: bench/README.md):
  // only the windows that alarm are counted, listed and shaded, each shaded from its first image's dot to its
  // last's (not over the gap to the next window's first); a stream of that copy's first 40 images: windows
  // tested, none alarmed.
  run(["corrupt", "--data", "planted", "--kind", "occlusion", "--severity", "1", "--limit-train", "10", "--limit-test", "100", "--out", path.join(dir, "occluded")]);
  const record = 3073, noisy = fs.readFileSync(path.join(dir, "noisy", "test_batch.bin")), occluded = fs.readFileSync(path.join(dir, "occluded", "test_batch.bin"));
  const stream = (name, bytes) => {
    fs.mkdirSync(path.join(dir, name), { recursive: true });
    for (const f of ["batches.meta.txt", "data_batch_1.bin"]) fs.copyFileSync(path.join(dir, "noisy", f), path.join(dir, name, f));
    fs.writeFileSync(path.join(dir, name, "test_batch.bin"), bytes);
    run(["monitor", path.join(dir, "run", "model.ckpt"), "--profile", path.join(dir, "profile.bin"), "--input", "cifar10:" + path.join(dir, name),
         "--window", "20", "--threads", "2", "--out", path.join(dir, "monitor-" + name)]);
  };
  stream("mixed", Buffer.concat([0, 1, 2, 3, 4].map((w) => (w === 1 || w === 4 ? noisy : occluded).subarray(w * 20 * record, (w + 1) * 20 * record))));
  stream("calm", occluded.subarray(0, 40 * record));
  await open(1920, 1000, path.join(dir, "monitor-mixed", "monitor.html"));
  const mixedRows = await alarmRows(path.join(dir, "monitor-mixed"));
  const shading = await evaluate(`(() => { const c = document.getElementById("timeline"), D = JSON.parse(document.getElementById("monitor-data").textContent);
    const px = c.getContext("2d").getImageData(0, 0, c.width, c.height).data, r = c.width / c.clientWidth, W = c.clientWidth, H = c.clientHeight, pad = 30, n = D.scores.length;
    const x = (i) => pad + (W - 2 * pad) * i / (n - 1), half = (W - 2 * pad) / (n - 1) / 2;
    const red = (cx) => { const X = Math.round(cx * r); let k = 0, m = 0;  // the share of the plot's height shaded red at CSS x
      for (let Y = Math.round(pad * r) + 1; Y < Math.round((H - pad) * r) - 1; ++Y, ++m) { const a = 4 * (Y * c.width + X); if (px[a + 3] > 0 && px[a] > 150 && px[a + 1] < 120) ++k; }
      return Math.round(100 * k / m) / 100; };
    return { subtitle: document.getElementById("subtitle").textContent,
             windows: D.windows.map((w) => ({ first: w[0], alarm: w[2], inside: red((x(w[0]) + x(w[0] + w[1] - 1)) / 2),
                                              edges: (w[0] > 0 ? red(x(w[0]) - half) : 0) + (w[0] + w[1] < n ? red(x(w[0] + w[1] - 1) + half) : 0) })) }; })()`);
  const alarmedCount = shading.windows.filter((w) => w.alarm).length;
  check(mixedRows.ok && mixedRows.windows === 5 && mixedRows.alarmed.length > 0 && mixedRows.alarmed.length < 5 && mixedRows.alarmed[0] > 0 &&
        shading.subtitle.includes("100 images, 5 windows of 20, " + alarmedCount + " alarm") &&
        shading.windows.every((w) => (w.alarm ? w.inside > 0.8 : w.inside === 0) && w.edges === 0),
        "monitor.html of a stream with windows that alarm and windows that do not: only those that alarm are counted, listed and shaded, each over its own images",
        JSON.stringify({ mixedRows, shading }));
  await open(1920, 1000, path.join(dir, "monitor-calm", "monitor.html"));
  const calm = await evaluate(`({ alarms: document.getElementById("alarms").textContent, subtitle: document.getElementById("subtitle").textContent })`);
  check(calm.alarms === "No window alarmed." && calm.subtitle.includes("40 images, 2 windows of 20, 0 alarms"),
        "monitor.html of a stream whose windows were tested and none alarmed says so", JSON.stringify(calm));
  // a block whose largest |z| is a negative z (this page's 8th image's conv1 on 2026-12-06; none of the noisy
  // page's 8): its legend and its colours scale by |z| all the same
  const negative = await evaluate(`JSON.parse(document.getElementById("monitor-data").textContent).selected
    .findIndex((s) => s.maps.some((m) => Math.max(...m.z) < Math.max(...m.z.map(Math.abs))))`);
  const negativeShown = negative >= 0 ? await imageShown(negative) : null;
  check(negativeShown && negativeShown.bad.length === 0, "monitor.html: a region map whose largest |z| is negative is scaled, and its legend written, by |z|",
        JSON.stringify(negativeShown));
  // The image's most abnormal region outlined red over its box, [top, left, bottom, right) in input pixels
  // (README "monitor"'s `box`).  This tiny net's largest |z| is always an output region, whose box is the whole
  // image, so the page is the noisy one with its first image's box set to pool1 grid_5_6_2's of the mixed
  // stream's window 3, [15, 19, 21, 25]: its right edge, top edge and left edge are red at their middles.
  const boxed = path.join(dir, "monitor", "boxed.html"), pageText = fs.readFileSync(path.join(dir, "monitor", "monitor.html"), "utf8");
  fs.writeFileSync(boxed, pageText.replace('"top":[0,0,32,32]', '"top":[15,19,21,25]'));
  await open(1920, 1000, boxed);
  const outline = await evaluate(`(() => { const c = document.querySelector("#maps figure canvas"), k = c.width / 32, ctx = c.getContext("2d");
    const red = (x, y) => { const p = ctx.getImageData(Math.round(x * k), Math.round(y * k), 1, 1).data; return p[0] > 200 && p[1] < 80 && p[2] < 80; };
    return { k, right: red(25 - 0.5 / k, 18), top: red(22, 15 - 0.5 / k), left: red(19 - 0.5 / k, 18) }; })()`);
  check(pageText.includes('"top":[0,0,32,32]') && outline.right && outline.top && outline.left,
        "monitor.html: the image's most abnormal region outlined red over its box [top, left, bottom, right)", JSON.stringify(outline));
}

// `nnfmri report DIR`, then DIR/report.html in a new page session, drawn (body[data-ready]).
async function openReport(browser, problems, dir) {
  execFileSync(path.resolve(args.nnfmri), ["report", dir], { encoding: "utf8" });
  const session = await attachSession(browser, problems, /^(file|data|about):/);
  const loaded = browser.waitFor("Page.loadEventFired", 60000);
  await session.cdp("Page.navigate", { url: "file://" + path.join(dir, "report.html") });
  await loaded;
  for (const t0 = Date.now(); (await session.evaluate("document.body.dataset.ready || ''")) !== "1";) {
    if (Date.now() - t0 > 60000) throw new Error(dir + "/report.html never set body[data-ready]");
    await sleep(20);
  }
  return session;
}

// The report of an `analyze` output directory (one imaged checkpoint, no training; README "Report"):
// monitorPage's analyze of its 1-epoch net, grid and ζ only. The subtitle says one analysed checkpoint,
// its epoch and the checkpoint's path its files record, the notes are headed "Notes" (a missing tract is
// a choice here, not a missing input), every layer is drawn, and the error section's command analyses
// that checkpoint (an absolute path: no CKPT to fill in).
async function analysisPage(browser, problems, outDir) {
  const dir = path.join(outDir, "monitor-test", "zeta");
  const { cdp, evaluate } = await openReport(browser, problems, dir);
  const got = await evaluate(`(() => { const D = JSON.parse(document.getElementById("report-data").textContent), R = window.nnfmriReport;
    R.select(0, 0);
    return { subtitle: document.getElementById("subtitle").textContent, notes: document.getElementById("notes").textContent.slice(0, 120),
             epochs: R.epochCount, layers: D.layers.length, drawn: [...document.querySelectorAll(".layer-view")].filter((v) => v.dataset.regions > 0).length,
             colours: [...document.querySelectorAll(".layer-view")].map((v) => v.dataset.colour), details: document.getElementById("details-body").textContent,
             command: (document.querySelector("#errors .no-errors code") || { textContent: "" }).textContent }; })()`);
  got.details = (got.details.match(/ζ[−-]?[0-9.]+ +\[[^\]]*\]/) || ["no ζ row"])[0];
  const checkpoint = path.join(outDir, "monitor-test", "run", "model.ckpt");
  check(got.subtitle.endsWith("one analysed checkpoint (epoch 1): " + checkpoint + " · " + got.layers + " imaged layers") &&
        got.command.startsWith("nnfmri analyze " + checkpoint + " --data planted ") && got.epochs === 1 && got.layers >= 2 && got.drawn === got.layers &&
        got.colours.every((c) => c === "zeta") && (got.notes === "" || got.notes.startsWith("Notes")) && got.details !== "no ζ row",
        "an analyze directory's report: one analysed checkpoint named by its path, every layer drawn in ζ, the region panel's ζ with its interval, the errors command with that checkpoint", JSON.stringify(got));
  // the value function's words follow the analysis (--zeta-value confusion:1:2 here; the synthetic run and
  // the analysis above are logprob's): the glossary and φ's definition say what φ is a drop of
  const confusion = path.join(outDir, "monitor-test", "zeta-confusion");
  execFileSync(path.resolve(args.nnfmri), ["analyze", path.join(outDir, "monitor-test", "run", "model.ckpt"), "--data", "planted", "--eval-samples", "100",
    "--stages", "grid,zeta", "--zeta-samples", "16", "--zeta-budget", "2", "--zeta-value", "confusion:1:2", "--threads", "2", "--out", confusion], { encoding: "utf8" });
  const words = await (await openReport(browser, problems, confusion)).evaluate(`document.getElementById("def-value").textContent`);
  check(words === "logit of class2 minus that of class1 (on images of class class1)",
        "a confusion:A:B analysis's page defines φ by that confusion, its class indices said by name", words);
}

// A run without NN-EEG's per-step rows (eeg/channels.json and eeg/epoch_NNN.npy removed: a run whose
// rows were deleted to save space): the chart falls back to one lane per block drawn from each epoch's
// mean activity, the epochs' states behind it. Each epoch's point is where the lane scales its activity
// (laneScaled: the block's minimum at the lane's bottom, 4 px in, its maximum at the top) and nothing of
// the line is at the other end of the lane there.
async function perEpochLanes(browser, problems, outDir, runDir) {
  const dir = path.join(outDir, "report-test-run-no-rows");
  fs.rmSync(dir, { recursive: true, force: true });
  fs.cpSync(runDir, dir, { recursive: true });
  for (const f of fs.readdirSync(path.join(dir, "eeg")))
    if (f === "channels.json" || f.endsWith(".npy")) fs.rmSync(path.join(dir, "eeg", f));
  const { cdp, evaluate } = await openReport(browser, problems, dir);
  const got = await evaluate(`(() => { const c = document.getElementById("eeg-chart"), g = JSON.parse(c.dataset.geometry);
    const eeg = JSON.parse(document.getElementById("report-data").textContent).eeg, ratio = c.width / c.clientWidth;
    const pixels = c.getContext("2d").getImageData(0, 0, c.width, c.height);
    // a pixel of the line (#0b3d91, anti-aliased, under the slider's blue tint: blue at least 70 above red)
    // within 1 CSS px of (x, y); no state colour, nor the tint over one, is that blue
    const line = (x, y) => { for (let dy = -1; dy <= 1; ++dy) for (let dx = -1; dx <= 1; ++dx) {
        const i = 4 * (Math.round((y + dy) * ratio) * c.width + Math.round((x + dx) * ratio)), [r, gr, b] = pixels.data.slice(i, i + 3);
        if (b - r >= 70 && b >= 120 && gr < b) return true; }
      return false; };
    const px = (step) => g.left + (g.width - g.left - g.right) * (step - g.first) / Math.max(1, g.last - g.first);
    let points = 0, onLine = 0, otherEnd = 0, ticked = 0; const missed = [];
    eeg.blocks.forEach((name, b) => {
      const a = eeg.epochs.map((e) => e.activity[b]), lo = Math.min(...a), hi = Math.max(...a), laneTop = g.top + (b + 1) * g.laneH;
      a.forEach((v, i) => {
        const s = hi > lo ? (v - lo) / (hi - lo) : 0.5, x = px((eeg.epochs[i].steps[0] + eeg.epochs[i].steps[1]) / 2);
        const y = laneTop + g.laneH - 4 - s * (g.laneH - 8), away = laneTop + g.laneH - 4 - (s < 0.5 ? 1 : 0) * (g.laneH - 8);
        // an event's red tick is drawn over the line at its step (here an epoch's mid-step): not counted
        if (eeg.epochs.some((e) => e.events.some(([step, at]) => at === b && Math.abs(px(step) - x) < 3))) { ++ticked; return; }
        ++points;
        if (line(x, y)) ++onLine; else missed.push([b, i]);
        if (Math.abs(away - y) > 8 && line(x, away)) ++otherEnd;
      });
    });
    return { traces: c.dataset.traces, lanes: Number(c.dataset.lanes), blocks: eeg.blocks.length, points, ticked, onLine, otherEnd, missed: missed.slice(0, 20) }; })()`);
  check(got.traces === "epochs" && got.lanes === got.blocks && got.points >= 70 && got.onLine === got.points && got.otherEnd === 0,
        "without per-step rows NN-EEG draws each block's lane from its epochs' activity, each point where the lane scales it", JSON.stringify(got));
  await evaluate("document.getElementById('eeg-chart').scrollIntoView({ block: 'center' })");
  await sleep(50);
  const shot = await cdp("Page.captureScreenshot", { format: "png" });
  fs.writeFileSync(path.join(outDir, "report-eeg-epochs.png"), Buffer.from(shot.data, "base64"));
}

// Chromium on a fresh profile; close() ends it and removes the profile.
function openBrowser() {
  if (!fs.existsSync(args.chromium)) throw new Error(args.chromium + " not found (apt-get install chromium, or --chromium PATH)");
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "nnfmri-chromium-"));
  const browser = new Browser(args.chromium, profile);
  return { browser, close: async () => { await browser.close(); fs.rmSync(profile, { recursive: true, force: true }); } };
}

async function main() {
  const outDir = path.resolve(args.out);
  fs.mkdirSync(outDir, { recursive: true });
  if (args.only === "monitor") {
    const { browser, close } = openBrowser(), problems = [];
    try {
      await monitorPage(browser, problems, outDir);
    } finally {
      await close();
    }
    check(problems.length === 0, "no console error, exception, dialog or network request", problems.join(" | ") || "none");
    return;
  }
  let runDir, expected = null;
  if (args.run) runDir = path.resolve(args.run);
  else {
    runDir = path.join(outDir, "report-test-run");
    expected = makeRun(runDir, 10, 12345, true);
    console.log("report-browser-test: synthetic run " + runDir + " (" + expected.epochs + " epochs, " + expected.layers + " layers, " +
                expected.regions + " regions per epoch)");
  }
  // the synthetic metrics stay within nnfmri's readers at any run length, not only the 10 epochs drawn
  // here (a learning rate that went negative from epoch 11 once broke bench/serve_load.js): metrics.jsonl
  // of runs of 1, 11, 40 and 500 epochs, read by `nnfmri report` (exit 0, its training figure written)
  const lengths = [1, 11, 40, 500].filter((epochs) => {
    const dir = path.join(outDir, "metrics-" + epochs);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, "metrics.jsonl"), metricsLines(epochs));
    try { execFileSync(path.resolve(args.nnfmri), ["report", dir, "--figures-only"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }); }
    catch (err) { console.log(String(err.stderr)); return false; }
    return fs.existsSync(path.join(dir, "figures", "training.png"));
  });
  check(lengths.length === 4, "the synthetic metrics of a run of 1, 11, 40 or 500 epochs are read by nnfmri report", lengths.join(" "));
  const started = Date.now();
  const summary = execFileSync(path.resolve(args.nnfmri), ["report", runDir], { encoding: "utf8" });
  process.stdout.write(summary);
  console.log("report-browser-test: nnfmri report took " + (Date.now() - started) + " ms");
  const page = path.join(runDir, "report.html");
  const bytes = fs.statSync(page).size;
  console.log("report-browser-test: report.html is " + (bytes / 1e6).toFixed(2) + " MB");
  check(bytes < 8e6, "report.html is a few MB at most", (bytes / 1e6).toFixed(2) + " MB");
  const html = fs.readFileSync(page, "utf8");
  check(!html.includes("<script>alert"), "no raw <script>alert in the file");
  if (!expected) {  // the run's own numbers: analysed epochs from summary.json, layers and regions from the last grid.json
    const s = JSON.parse(fs.readFileSync(path.join(runDir, "summary.json"), "utf8"));
    expected = { epochs: s.analysed_epochs.length, layers: null, regions: null };
    const last = s.analysed_epochs.length ? path.join(runDir, "analysis", "epoch_" + String(s.analysed_epochs[s.analysed_epochs.length - 1]).padStart(3, "0"), "grid.json") : null;
    if (last && fs.existsSync(last)) {
      const layers = Object.values(JSON.parse(fs.readFileSync(last, "utf8")).layers);
      expected.layers = layers.length;
      expected.regions = layers.reduce((sum, l) => sum + l.grid[0] * l.grid[1] * l.grid[2], 0);
    }
  }

  const { browser, close } = openBrowser(), problems = [];
  try {
    const { cdp, evaluate } = await attachSession(browser, problems, /^(file|data|about):/);

    const t0 = Date.now();
    const loaded = browser.waitFor("Page.loadEventFired", 60000);
    await cdp("Page.navigate", { url: "file://" + page });
    await loaded;
    while ((await evaluate("document.body.dataset.ready || ''")) !== "1") {
      if (Date.now() - t0 > 60000) throw new Error("the page never set body[data-ready]");
      await sleep(20);
    }
    const wall = Date.now() - t0;
    const inPage = await evaluate("Number(document.body.dataset.renderMs)");
    console.log("report-browser-test: page load time " + wall + " ms (navigation to drawn, measured by the test; " + inPage +
                " ms after navigation start, measured by the page)");
    check(inPage > 0, "the page reports when it was drawn", inPage + " ms");

    const dom = await evaluate(`(() => {
      const views = [...document.querySelectorAll(".layer-view")];
      return { views: views.length, regions: views.reduce((s, v) => s + Number(v.dataset.regions), 0),
               names: views.map((v) => v.dataset.layer), sliderMax: Number(document.getElementById("epoch").max),
               epochs: window.nnfmriReport.epochCount, scripts: document.querySelectorAll("script").length,
               settings: document.getElementById("settings").textContent, label: document.getElementById("epoch-label").textContent };
    })()`);
    check(dom.epochs === expected.epochs && dom.sliderMax === Math.max(0, expected.epochs - 1), "slider covers every analysed epoch",
          dom.epochs + " epochs, slider 0.." + dom.sliderMax);
    if (expected.layers !== null) {
      check(dom.views === expected.layers, "one view per layer", dom.views + " views: " + dom.names.join(" "));
      check(dom.regions === expected.regions, "every region drawn", dom.regions + " regions");
    }
    if (!args.run)
      check(dom.settings.includes("<script>alert(1)</script>") && dom.scripts === 3, "a class named <script>… shows as text",
            dom.scripts + " script elements");
    // the hidden attribute hides a panel whose id rule gives it display: block (an analyze directory's
    // training curves were an empty 640-pixel box)
    const shown = await evaluate(`["curves", "pathways", "eeg-chart"].filter((id) => { const e = document.getElementById(id), was = e.hidden;
      e.hidden = true; const display = getComputedStyle(e).display; e.hidden = was; return display !== "none"; })`);
    check(shown.length === 0, "a panel with the hidden attribute is not displayed", shown.join(" ") || "none");
    if (dom.views > 0 && expected.epochs > 1) await interact(cdp, evaluate);
    // the pathway view wraps its layers into bands where columns would be narrower than 110 px (a
    // deep net, a phone), not one row of columns whatever their width
    if (dom.views > 1) {
      const bands = await evaluate(`(() => { const R = window.nnfmriReport, c = document.getElementById("pathways");
        const wide = { bands: c.dataset.bands, cell: Number(c.dataset.cell), height: c.clientHeight };
        c.style.width = "300px"; R.setEpoch(R.epochCount - 1);
        const narrow = { bands: c.dataset.bands, cell: Number(c.dataset.cell), height: c.clientHeight };
        c.style.width = ""; R.setEpoch(R.epochCount - 1);
        return { wide, narrow, back: c.dataset.bands }; })()`);
      const want = Math.ceil(dom.views / Math.max(1, Math.floor((300 - 2) / 110)));
      check(bands.narrow.bands === String(want) && bands.narrow.height > bands.wide.height && bands.narrow.cell >= 4 && bands.back === bands.wide.bands,
            "the pathway view wraps its layers into bands of columns at least 110 px wide", JSON.stringify(bands));
    }
    // analyze --errors (a --run of such a directory): clicking an off-diagonal cell of the confusion
    // matrix lists, per layer, the regions of that confusion; choosing a class lists that class's.
    const errors = await evaluate(`(() => { const R = window.nnfmriReport, D = JSON.parse(document.getElementById("report-data").textContent);
      R.setEpoch(R.epochCount - 1);
      if (!D.epochs[R.epochCount - 1].errors) return null;
      const cell = document.querySelector("#errors td.cell");
      if (!cell) return { cells: 0 };
      cell.click();
      const afterCell = document.querySelectorAll("#errors .error-regions p").length;
      const select = document.querySelector("#errors-classes select");
      select.value = "0"; select.dispatchEvent(new Event("change"));
      return { cells: 1, afterCell, afterClass: document.querySelectorAll("#errors .error-regions p").length,
               text: document.querySelector("#errors .error-regions p") ? document.querySelector("#errors .error-regions p").textContent : "" }; })()`);
    if (errors !== null)
      check(errors.cells === 1 && errors.afterCell > 0 && errors.afterClass > 0 && /grid_\d+_\d+_\d+/.test(errors.text),
            "a confusion cell and a class list their regions (analyze --errors)", JSON.stringify(errors));
    check(args.run || errors !== null, "the synthetic run's last epoch has error maps");
    // the error analysis's example images (128 px) sit side by side in the strip, each inside its own
    // box (in boxes 100 px wide each image would run 18 px over the next one)
    if (errors !== null) {
      await evaluate(`document.querySelector("#errors td.cell").click()`);
      await sleep(200);
      const strip = await evaluate(`(() => { const out = [], views = [...document.querySelectorAll("#errors .image-strip canvas")];
        const r = views.map((c) => c.getBoundingClientRect());
        views.forEach((c, i) => {
          const box = c.closest("figure").getBoundingClientRect();
          if (r[i].right > box.right + 0.5) out.push("image " + i + " wider than its box by " + (r[i].right - box.right));
          if (i + 1 < r.length && r[i + 1].top === r[i].top && r[i].right > r[i + 1].left + 0.5) out.push("image " + i + " over image " + (i + 1));
        });
        return { images: views.length, out }; })()`);
      check(strip.images >= 2 && strip.out.length === 0, "the error examples sit side by side, each inside its box", JSON.stringify(strip));
    }
    // an epoch without error maps says the error analysis was not run there and gives the command
    // that adds it (not "No error maps at this epoch.", no command)
    const noErrors = await evaluate(`(() => { const R = window.nnfmriReport, D = JSON.parse(document.getElementById("report-data").textContent);
      const i = D.epochs.findIndex((e) => !e.errors);
      if (i < 0) return null;
      R.setEpoch(i);
      const p = document.querySelector("#errors .no-errors"), code = p ? p.querySelector("code") : null;
      const r = { epoch: D.epochs[i].epoch, text: p ? p.textContent : "", command: code ? code.textContent : "" };
      R.setEpoch(R.epochCount - 1);
      return r; })()`);
    if (noErrors !== null) {
      const pad = String(noErrors.epoch).padStart(3, "0");
      check(noErrors.text.includes("error analysis was not run") && noErrors.command.startsWith("nnfmri analyze ") &&
            noErrors.command.includes("/checkpoints/epoch_" + pad + ".ckpt") && noErrors.command.includes(" --errors --out ") &&
            noErrors.command.endsWith("/analysis/epoch_" + pad),
            "an epoch without error maps says the analysis was not run and gives the command that adds it", JSON.stringify(noErrors));
    }
    // the keyboard alone (a region and a confusion cell are picked without a
    // pointer): Tab reaches the first layer's map, which shows where the focus is; arrows and Page Down
    // move the selected region; Tab reaches a confusion cell, Enter picks it and the focus stays on it
    if (dom.views > 0) {
      const press = async (key, code, keyCode) => {
        await cdp("Input.dispatchKeyEvent", { type: "rawKeyDown", key, code, windowsVirtualKeyCode: keyCode });
        await cdp("Input.dispatchKeyEvent", { type: "keyUp", key, code, windowsVirtualKeyCode: keyCode });
      };
      await evaluate(`(() => { const R = window.nnfmriReport; R.state.sel = null; R.state.errorPick = null; R.setView("map");
        R.setEpoch(R.epochCount - 1); document.querySelector("#howto summary").focus(); window.scrollTo(0, 0); })()`);
      const focused = () => evaluate(`(() => { const e = document.activeElement;
        return { tag: e.tagName, map: e.matches("canvas.voxels") ? e.closest(".layer-view").dataset.layer : null,
                 cell: e.matches("#errors td.cell") ? e.dataset.y + "," + e.dataset.p : null, outline: getComputedStyle(e).outlineStyle }; })()`);
      let tabs = 0, at = null;
      for (; tabs < 200; ++tabs) { await press("Tab", "Tab", 9); at = await focused(); if (at.map) break; }
      check(at.map === dom.names[0] && at.outline !== "none", "Tab reaches the first layer's map and shows a focus ring", tabs + " Tabs: " + JSON.stringify(at));
      await press("ArrowRight", "ArrowRight", 39);  // no selection in this layer: its first region
      await press("ArrowRight", "ArrowRight", 39);  // one column block right
      await press("PageDown", "PageDown", 34);      // the next channel block
      const moved = await evaluate(`(() => { const R = window.nnfmriReport, D = JSON.parse(document.getElementById("report-data").textContent);
        const g = D.epochs[R.state.e].layers[0].grid;
        return { sel: R.state.sel, want: g[1] > 1 && g[2] > 1 ? g[2] + 1 : null, details: document.getElementById("details-body").textContent.slice(0, 60) }; })()`);
      check(moved.sel && moved.sel.l === 0 && (moved.want === null || moved.sel.r === moved.want) &&
            moved.details.includes(dom.names[0] + " · " + (moved.want === null ? "" : "grid_1_2_2")),
            "arrow keys and Page Down move the selected region of the focused map", JSON.stringify(moved));
      const hasCells = await evaluate(`document.querySelectorAll("#errors td.cell").length`);
      if (hasCells > 0) {
        for (at = null, tabs = 0; tabs < 400; ++tabs) { await press("Tab", "Tab", 9); at = await focused(); if (at.cell) break; }
        check(at.cell !== null && at.outline !== "none", "Tab reaches a confusion cell and shows a focus ring", tabs + " Tabs: " + JSON.stringify(at));
        await press("Enter", "Enter", 13);
        const picked = await evaluate(`(() => { const e = document.activeElement, p = document.querySelector("#errors td.picked");
          return { pick: window.nnfmriReport.state.errorPick, picked: p ? p.dataset.y + "," + p.dataset.p : null,
                   focus: e.matches("#errors td.cell") ? e.dataset.y + "," + e.dataset.p : e.tagName,
                   regions: document.querySelectorAll("#errors .error-regions p").length }; })()`);
        check(picked.pick && picked.picked === at.cell && picked.focus === at.cell && picked.regions > 0,
              "Enter on a confusion cell lists its regions and keeps the focus on the cell", JSON.stringify(picked));
      }
      // the pathway view by keyboard (its regions and chains without a pointer): Tab
      // reaches it with a focus ring; Enter selects chain 1's first region, ArrowRight follows chain 1 to
      // the next column, Page Down moves to chain 2 in that column, ArrowDown to the next region drawn below
      await evaluate(`(() => { const R = window.nnfmriReport; R.state.sel = null; R.state.errorPick = null; R.setEpoch(R.epochCount - 1);
        document.querySelector("#howto summary").focus(); window.scrollTo(0, 0); })()`);
      for (at = null, tabs = 0; tabs < 800; ++tabs) {
        await press("Tab", "Tab", 9);
        at = await evaluate(`(() => { const e = document.activeElement; return { id: e.id, outline: getComputedStyle(e).outlineStyle }; })()`);
        if (at.id === "pathways") break;
      }
      check(at.id === "pathways" && at.outline !== "none", "Tab reaches the pathway view and shows a focus ring", tabs + " Tabs: " + JSON.stringify(at));
      const pathSel = () => evaluate(`(() => { const R = window.nnfmriReport; return { sel: R.state.sel, chain: R.state.pathChain,
        focus: document.activeElement.id, details: document.getElementById("details-body").textContent.slice(0, 80) }; })()`);
      const chainsWant = await evaluate(`(() => { const R = window.nnfmriReport, D = JSON.parse(document.getElementById("report-data").textContent);
        const ep = D.epochs[R.state.e], drawn = ep.chains.slice().sort((a, b) => b.score - a.score).slice(0, 5);
        const g = ep.layers[drawn.length ? drawn[0].layers[1] : 0].grid, order = [];
        for (let k = 0; k < g[2]; ++k) for (let i = 0; i < g[0]; ++i) for (let j = 0; j < g[1]; ++j) order.push((i * g[1] + j) * g[2] + k);
        return { drawn: drawn.map((c) => ({ layers: c.layers, regions: c.regions })), order }; })()`);
      if (chainsWant.drawn.length >= 2) {
        const [c1, c2] = chainsWant.drawn;
        await press("Enter", "Enter", 13);
        const s0 = await pathSel();
        await press("ArrowRight", "ArrowRight", 39);
        const s1 = await pathSel();
        await press("PageDown", "PageDown", 34);
        const s2 = await pathSel();
        await press("ArrowDown", "ArrowDown", 40);
        const s3 = await pathSel();
        // a screen reader hears where the keys went (aria-live), the hover line of the region
        const said = await evaluate(`(() => { const a = document.getElementById("announce"); return a ? { live: a.getAttribute("aria-live"), text: a.textContent } : null; })()`);
        const sayKey = await evaluate(`(() => { const R = window.nnfmriReport, D = JSON.parse(document.getElementById("report-data").textContent), g = D.epochs[R.state.e].layers[R.state.sel.l].grid, r = R.state.sel.r;
          return D.layers[R.state.sel.l].name + " grid_" + (Math.floor(r / (g[2] * g[1])) + 1) + "_" + (Math.floor(r / g[2]) % g[1] + 1) + "_" + (r % g[2] + 1); })()`);
        check(said && said.live === "polite" && said.text.startsWith(sayKey + " ") && said.text.includes("ζ"),
              "a key that moves the selection in the pathway view is announced (aria-live): the region's line", JSON.stringify({ said, sayKey }));
        const below = chainsWant.order[Math.min(chainsWant.order.length - 1, chainsWant.order.indexOf(c2.regions[1]) + 1)];
        check(s0.sel && s0.sel.l === c1.layers[0] && s0.sel.r === c1.regions[0] && s0.chain === 0 &&
              s1.sel.l === c1.layers[1] && s1.sel.r === c1.regions[1] && s1.chain === 0 &&
              s2.sel.l === c2.layers[1] && s2.sel.r === c2.regions[1] && s2.chain === 1 &&
              s3.sel.l === c2.layers[1] && s3.sel.r === below && s3.chain === null && s3.focus === "pathways" &&
              s3.details.startsWith(dom.names[c2.layers[1]] + " · "),
              "Enter, arrows and Page Down in the pathway view follow chain 1, then chain 2, then the column",
              JSON.stringify({ s0, s1, s2, s3, c1, c2, below }));
        // the mouse: a click on a cell of the pathway view selects its region, a click between the columns
        // changes nothing
        const target = { l: c2.layers[0], r: c2.regions[0] };
        const box = await evaluate(`(() => { const c = document.getElementById("pathways"); c.scrollIntoView({ block: "center" });
          const r = c.getBoundingClientRect();
          return Object.assign(window.nnfmriReport.pathCell(${target.l}, ${target.r}), { corner: [r.left + 2, r.bottom - 2] }); })()`);
        const click = async (x, y) => {
          for (const type of ["mousePressed", "mouseReleased"]) await cdp("Input.dispatchMouseEvent", { type, x, y, button: "left", clickCount: 1 });
          await sleep(50);
          return pathSel();
        };
        const side = box.bottom - box.top;
        const m1 = await click(box.left + side / 2, box.top + side / 2);
        const m2 = await click(box.corner[0], box.corner[1]);  // the view's bottom-left corner: no cell there
        check(box && m1.sel && m1.sel.l === target.l && m1.sel.r === target.r && m2.sel && m2.sel.l === target.l && m2.sel.r === target.r,
              "a click on a pathway cell selects its region; a click off the cells changes nothing", JSON.stringify({ target, box, m1, m2 }));
      }
      // a tall pathway view (300 px wide: its layers wrapped into bands, taller than the window): a key
      // that moves the selection out of the window scrolls the selected cell back into it, only as far
      // as needed (just above the window's bottom going down, just below the sticky controls going up),
      // so following a chain to the last band does not leave the selection off the screen
      if (dom.views > 1) {
        await evaluate(`(() => { const R = window.nnfmriReport, c = document.getElementById("pathways");
          R.state.sel = null; R.state.pathChain = null; c.style.width = "300px"; R.setEpoch(R.epochCount - 1);
          c.scrollIntoView(); c.focus({ preventScroll: true }); })()`);
        const where = () => evaluate(`(() => { const R = window.nnfmriReport, s = R.state.sel, b = s ? R.pathCell(s.l, s.r) : null;
          return { l: s ? s.l : null, top: b ? b.top : null, bottom: b ? b.bottom : null, y: scrollY, under: document.getElementById("controls").getBoundingClientRect().bottom,
                   height: innerHeight, canvas: document.getElementById("pathways").clientHeight, focus: document.activeElement.id }; })()`);
        await press("Enter", "Enter", 13);
        const steps = [await where()];
        for (let k = 1; k < dom.views; ++k) { await press("ArrowRight", "ArrowRight", 39); steps.push(await where()); }
        const down = steps.length;
        for (let k = 1; k < dom.views; ++k) { await press("ArrowLeft", "ArrowLeft", 37); steps.push(await where()); }
        const shown = (s) => s.top !== null && s.top >= s.under - 1 && s.bottom <= s.height + 1;
        // a step that scrolled put the cell 8 px inside the edge it crossed: no further
        const snug = (s, prev, i) => s.y === prev.y || (i < down ? Math.abs(s.bottom - (s.height - 8)) <= 1 : Math.abs(s.top - (s.under + 16)) <= 1);
        const bad = steps.filter((s, i) => !shown(s) || (i > 0 && !snug(s, steps[i - 1], i)));
        const reached = steps[down - 1];
        check(steps[0].canvas > steps[0].height && reached.l === dom.views - 1 && reached.y > steps[0].y && steps[steps.length - 1].l === steps[0].l &&
              steps[steps.length - 1].y < reached.y && steps.every((s) => s.focus === "pathways") && bad.length === 0,
              "a key that moves the pathway selection off the window scrolls it back into view, only as far as needed",
              JSON.stringify({ first: steps[0], reached, last: steps[steps.length - 1], bad: bad.slice(0, 3) }));
        await evaluate(`(() => { const R = window.nnfmriReport; document.getElementById("pathways").style.width = ""; R.state.sel = null; R.state.pathChain = null;
          R.setEpoch(R.epochCount - 1); })()`);
      }
      // Shift+Tab back from the pathway view to the first map: each control it stops at is scrolled into
      // view below the sticky controls bar (a map or confusion cell reached upwards is not scrolled
      // to the window's top edge, under the bar's 80 px)
      await evaluate(`document.getElementById("pathways").focus()`);
      const hidden = [];
      for (tabs = 0; tabs < 100; ++tabs) {
        await cdp("Input.dispatchKeyEvent", { type: "rawKeyDown", key: "Tab", code: "Tab", windowsVirtualKeyCode: 9, modifiers: 8 });
        await cdp("Input.dispatchKeyEvent", { type: "keyUp", key: "Tab", code: "Tab", windowsVirtualKeyCode: 9, modifiers: 8 });
        await sleep(20);
        const seen = await evaluate(`(() => { const e = document.activeElement, r = e.getBoundingClientRect(), c = document.getElementById("controls").getBoundingClientRect();
          return { what: e.tagName + (e.id ? "#" + e.id : "") + "." + e.className, top: Math.round(r.top), under: Math.round(c.bottom),
                   first: e.matches(".layer-view canvas.voxels") && e.closest(".layer-view").dataset.layer === ${JSON.stringify(dom.names[0])} }; })()`);
        if (seen.top < seen.under - 1) hidden.push(seen);
        if (seen.first) break;
      }
      check(hidden.length === 0 && tabs < 100, "Shift+Tab back to the first map: no control it stops at is hidden under the sticky controls", tabs + " Shift+Tabs: " + JSON.stringify(hidden.slice(0, 3)));
      // the 3-D views by keyboard (not by drag and wheel only): on a focused view the arrow
      // keys turn every view by 15° and redraw it, + and − zoom, Shift + an arrow moves the selected region
      await evaluate(`(() => { const R = window.nnfmriReport; R.setView("voxels"); R.state.sel = null;
        R.state.yaw = -0.6; R.state.pitch = 0.5; R.state.zoom = 1; R.setEpoch(R.epochCount - 1);
        const c = document.querySelector(".layer-view canvas.voxels"); c.scrollIntoView({ block: "center" }); c.focus(); })()`);
      await sleep(50);
      const turn = () => evaluate(`(() => { const R = window.nnfmriReport, c = document.querySelector(".layer-view canvas.voxels");
        return { yaw: R.state.yaw, pitch: R.state.pitch, zoom: R.state.zoom, sel: R.state.sel, pixels: c.toDataURL().length + ":" + c.toDataURL().slice(-40),
                 label: c.getAttribute("aria-label") }; })()`);
      const v0 = await turn();
      await press("ArrowRight", "ArrowRight", 39);
      await sleep(60);
      const v1 = await turn();
      await press("ArrowUp", "ArrowUp", 38);
      // "+" as a US keyboard sends it: Shift with the = key
      await cdp("Input.dispatchKeyEvent", { type: "rawKeyDown", key: "+", code: "Equal", windowsVirtualKeyCode: 187, modifiers: 8 });
      await cdp("Input.dispatchKeyEvent", { type: "keyUp", key: "+", code: "Equal", windowsVirtualKeyCode: 187, modifiers: 8 });
      await sleep(60);
      const v2 = await turn();
      await press("-", "Minus", 189);
      await sleep(60);
      const v3 = await turn();
      const step = Math.PI / 12;
      check(Math.abs(v1.yaw - (v0.yaw + step)) < 1e-9 && v1.pitch === v0.pitch && v1.pixels !== v0.pixels && v1.sel === null &&
            Math.abs(v2.pitch - (v0.pitch - step)) < 1e-9 && Math.abs(v2.zoom - 1.25) < 1e-9 && v2.pixels !== v1.pixels &&
            Math.abs(v3.zoom - 1) < 1e-9 && /arrow keys turn the views/.test(v0.label),
            "arrow keys turn the focused 3-D view by 15° and redraw it, + (Shift and =) and − zoom",
            JSON.stringify([v0, v1, v2, v3].map((v) => ({ yaw: v.yaw, pitch: v.pitch, zoom: v.zoom, sel: v.sel }))));
      await cdp("Input.dispatchKeyEvent", { type: "rawKeyDown", key: "ArrowRight", code: "ArrowRight", windowsVirtualKeyCode: 39, modifiers: 8 });
      await cdp("Input.dispatchKeyEvent", { type: "keyUp", key: "ArrowRight", code: "ArrowRight", windowsVirtualKeyCode: 39, modifiers: 8 });
      const v4 = await turn();
      check(v4.sel && v4.sel.l === 0 && v4.sel.r === 0 && v4.yaw === v3.yaw, "Shift + an arrow in the 3-D view selects a region instead of turning", JSON.stringify(v4.sel));
      // the mouse wheel zooms the 3-D views: zoom × exp(−deltaY · 0.0015), clamped; on the 2-D map it
      // does nothing (the page scrolls).
      const wheel = async (deltaY) => {
        const at = await evaluate(`(() => { const r = document.querySelector(".layer-view canvas.voxels").getBoundingClientRect();
          return { x: r.left + r.width / 2, y: r.top + r.height / 2 }; })()`);
        await cdp("Input.dispatchMouseEvent", { type: "mouseWheel", x: at.x, y: at.y, deltaX: 0, deltaY });
        await sleep(80);
        return turn();
      };
      const w1 = await wheel(-200), w2 = await wheel(100000), w2b = await wheel(100000), least = await evaluate("ZOOM_LIMITS[0]");
      await evaluate(`window.nnfmriReport.setView("map")`);
      const w3 = await wheel(-200);
      check(Math.abs(w1.zoom - v4.zoom * Math.exp(0.3)) < 1e-9 && w1.pixels !== v4.pixels && w2.zoom === least && w2b.zoom === least &&
            w2.pixels !== w1.pixels && w3.zoom === least,
            "the wheel zooms the 3-D views by exp(−deltaY·0.0015), clamped at the smallest zoom, and leaves the 2-D map alone",
            JSON.stringify([v4.zoom, w1.zoom, w2.zoom, w2b.zoom, w3.zoom, least]));
      // the whole page by Tab: every enabled control is reached (a radio group at its checked radio),
      // each with a focus ring, in the page's reading order (top to bottom, left to right in a row; the
      // Region panel is the side column; a layer's card is read whole before the next card, so a stop in
      // it — its map, its terms with a definition — takes the card's place)
      await evaluate(`(() => { const R = window.nnfmriReport; R.state.sel = null; R.state.errorPick = null; R.setEpoch(R.epochCount - 1);
        document.querySelector("#howto summary").focus(); window.scrollTo(0, 0); })()`);
      const stops = [];
      for (tabs = 0; tabs < 300; ++tabs) {
        if (tabs) await press("Tab", "Tab", 9);  // the first stop: the page's first control, focused above
        const stop = await evaluate(`(() => { const e = document.activeElement;
          if (e === document.body) return null;
          if (!e.dataset.tabProbe) e.dataset.tabProbe = String(document.querySelectorAll("[data-tab-probe]").length);
          const r = (e.closest(".layer-view") || e).getBoundingClientRect();
          return { probe: e.dataset.tabProbe, what: e.tagName + (e.id ? "#" + e.id : "") + (e.name ? "[" + e.name + "]" : ""), y: Math.round(r.top + scrollY), x: Math.round(r.left),
                   h: Math.round(r.height), side: !!e.closest("#details"), ring: getComputedStyle(e).outlineStyle !== "none" && parseFloat(getComputedStyle(e).outlineWidth) > 0 }; })()`);
        if (stop === null || stops.some((x) => x.probe === stop.probe)) break;
        stops.push(stop);
      }
      const missed = await evaluate(`[...document.querySelectorAll("button, input, select, summary, [tabindex]")].filter((e) => {
          if (e.disabled || e.tabIndex < 0 || e.closest("[hidden]") || (e.offsetParent === null && e.tagName !== "SUMMARY")) return false;
          if (e.type === "radio") { const group = [...document.getElementsByName(e.name)]; return e === (group.find((r) => r.checked) || group[0]) && !e.dataset.tabProbe; }
          return !e.dataset.tabProbe; }).map((e) => e.tagName + (e.id ? "#" + e.id : "") + (e.name ? "[" + e.name + "]" : ""))`);
      const main = stops.filter((x) => !x.side), backwards = main.filter((x, i) => i > 0 && x.y < main[i - 1].y - 5 && x.y + x.h < main[i - 1].y + main[i - 1].h);
      check(stops.length > dom.views + 5 && missed.length === 0 && stops.every((x) => x.ring) && backwards.length === 0,
            "Tab visits every control of the page in reading order, each with a focus ring",
            stops.length + " stops; missed " + JSON.stringify(missed) + "; no ring " + JSON.stringify(stops.filter((x) => !x.ring).map((x) => x.what)) +
            "; out of order " + JSON.stringify(backwards.map((x) => x.what)));
      // a term's definition by keyboard (not only a tooltip, which a pointer alone shows): Tab reaches
      // the first term with a definition, which shows it in the hover box beside the term and gives it to
      // a screen reader as the term's description (the accessibility tree's); Escape hides the box
      await evaluate(`(() => { const R = window.nnfmriReport; R.state.sel = null; R.setEpoch(R.epochCount - 1);
        document.querySelector("#howto summary").focus(); window.scrollTo(0, 0); })()`);
      const termAt = () => evaluate(`(() => { const e = document.activeElement, box = document.getElementById("hover"), r = e.getBoundingClientRect(), b = box.getBoundingClientRect();
        return { tip: e.dataset.tip || null, title: e.title, text: box.hidden ? null : box.textContent, ring: getComputedStyle(e).outlineStyle !== "none",
                 near: !box.hidden && b.left < r.right && b.right > r.left && (Math.abs(b.top - r.bottom - 6) < 2 || Math.abs(b.bottom - r.top + 6) < 2) &&
                       b.top >= 0 && b.bottom <= innerHeight }; })()`);
      let term = null;
      for (tabs = 0; tabs < 100; ++tabs) { await press("Tab", "Tab", 9); await sleep(20); term = await termAt(); if (term.tip) break; }
      const { result: focusedNode } = await cdp("Runtime.evaluate", { expression: "document.activeElement" });
      const ax = await cdp("Accessibility.getPartialAXTree", { objectId: focusedNode.objectId, fetchRelatives: false });
      const axNode = ax.nodes.find((n) => !n.ignored) || ax.nodes[0];
      const described = axNode && axNode.description ? axNode.description.value : null, named = axNode && axNode.name ? axNode.name.value : null;
      const visible = await evaluate(`document.activeElement.textContent.replace(/\\s+/g, " ").trim()`);
      // every term on the page is named by its own text (a span or div with a title was named by the title)
      const terms = await evaluate(`document.querySelectorAll("[data-tip]").length`), misnamed = [];
      for (let i = 0; i < terms; ++i) {
        const { result: node } = await cdp("Runtime.evaluate", { expression: `document.querySelectorAll("[data-tip]")[${i}]` });
        const tree = await cdp("Accessibility.getPartialAXTree", { objectId: node.objectId, fetchRelatives: false });
        const own = await cdp("Runtime.callFunctionOn", { objectId: node.objectId, functionDeclaration: "function () { return this.textContent.replace(/\\s+/g, ' ').trim(); }", returnByValue: true });
        const n = tree.nodes.find((x) => !x.ignored) || tree.nodes[0];
        if (!n.name || n.name.value.replace(/\s+/g, "") !== own.result.value.replace(/\s+/g, "")) misnamed.push({ text: own.result.value, name: n.name ? n.name.value.slice(0, 40) : null });
      }
      await press("Escape", "Escape", 27);
      const escaped = await termAt();
      // one Tab stop per definition (the first shown term of each kind), every term described, also
      // after a render that replaced the cards (another epoch)
      const stopsOf = () => evaluate(`(() => { const shown = [...document.querySelectorAll("[data-tip]")].filter((e) => !e.closest("[hidden]"));
        const keys = [...new Set(shown.map((e) => e.dataset.tip))];
        return { keys: keys.length, bad: keys.filter((k) => { const s = shown.filter((e) => e.dataset.tip === k && e.tabIndex === 0);
                                                            return s.length !== 1 || s[0] !== shown.find((e) => e.dataset.tip === k); }),
                 undescribed: shown.filter((e) => !e.getAttribute("aria-describedby")).length, terms: shown.length }; })()`);
      const stopsHere = await stopsOf();
      await evaluate("window.nnfmriReport.setEpoch(0)");
      await sleep(20);
      const stopsThere = await stopsOf();
      await evaluate("window.nnfmriReport.setEpoch(window.nnfmriReport.epochCount - 1)");
      await sleep(20);
      check(stopsHere.keys > 5 && stopsHere.terms > stopsHere.keys && stopsHere.bad.length === 0 && stopsHere.undescribed === 0 &&
            stopsThere.bad.length === 0 && stopsThere.undescribed === 0,
            "one Tab stop per definition, the first term of its kind (the others described too), also after another epoch's render",
            JSON.stringify({ stopsHere, stopsThere }));
      check(term.tip && term.title.length > 20 && term.text === term.title && term.near && term.ring && described === term.title &&
            named === visible && terms > 0 && misnamed.length === 0 && escaped.tip === term.tip && escaped.text === null,
            "Tab reaches a term's definition: shown beside it while focused, its description for a screen reader (its name: its own text), hidden by Escape",
            tabs + " Tabs: " + JSON.stringify({ term, described, named, visible, escaped, terms, misnamed: misnamed.slice(0, 3) }));
      await evaluate(`document.activeElement.blur(); window.scrollTo(0, 0)`);
      await evaluate("document.activeElement.blur(); window.nnfmriReport.state.errorPick = null; window.scrollTo(0, 0)");
    }
    if (!args.run) {  // the planted cell 3 → 5 (tests/synthetic_run.js): its 4 worst images, each with an overlay
      const cell = await evaluate(`(() => { const R = window.nnfmriReport;
        R.setEpoch(R.epochCount - 1);
        document.querySelector('#errors td[data-y="${PLANTED_CELL.true}"][data-p="${PLANTED_CELL.predicted}"]').click();
        const box = document.querySelector("#errors .error-examples"), views = [...box.querySelectorAll(".image-box")];
        const r = { count: Number(box.dataset.examples), views: views.map((v) => [Number(v.dataset.label), Number(v.dataset.predicted), Number(v.dataset.slot), v.dataset.overlay]),
                    layer: box.dataset.layer, radios: box.querySelectorAll("input[name=error-layer]").length };
        const second = box.querySelectorAll("input[name=error-layer]")[1];
        second.click();
        r.switched = document.querySelector("#errors .error-examples").dataset.layer;
        document.querySelector('#errors td[data-y="${PLANTED_CELL.predicted}"][data-p="${PLANTED_CELL.true}"]').click();
        r.transposed = [...document.querySelectorAll("#errors .error-examples .image-box")].map((v) => Number(v.dataset.slot));
        return r; })()`);
      // class 3 is images 3, 13, …; its first 6 are the planted mistakes with p(true) falling, so the 4
      // worst are images 23, 33, 43, 53; the transposed cell 5 → 3 holds images 5 and 15
      check(cell.count === 4 && JSON.stringify(cell.views) === JSON.stringify([53, 43, 33, 23].map((x) => [3, 5, x, "1"])),
            "clicking a confusion cell shows its 4 worst images, worst first, each with an overlay", JSON.stringify(cell));
      check(cell.layer === "conv1" && cell.radios === 6 && cell.switched === "pool1", "the overlay's layer can be chosen among the spatial layers",
            cell.layer + " then " + cell.switched + ", " + cell.radios + " layers");
      check(JSON.stringify(cell.transposed) === "[5,15]", "the transposed cell shows its own images", JSON.stringify(cell.transposed));
      // the class map: choosing class 3 recolours every 2-D map by that class's φ (read back from the
      // zeta.json the synthetic run wrote: the region with the largest φ of class 3, per layer)
      const zeta = JSON.parse(fs.readFileSync(path.join(runDir, "analysis", "epoch_" + String(expected.epochs).padStart(3, "0"), "zeta.json"), "utf8"));
      const want = Object.values(zeta.layers).map((ly) => { const phi = ly.errors.per_class[3].phi; return phi.reduce((b, v, r) => (v > phi[b] ? r : b), 0); });
      const classMap = await evaluate(`(() => { const R = window.nnfmriReport; R.setEpoch(R.epochCount - 1);
        const select = document.getElementById("class-map"); select.value = "3"; select.dispatchEvent(new Event("change"));
        const views = [...document.querySelectorAll(".layer-view")];
        const r = { colours: views.map((v) => v.dataset.colour), tops: views.map((v) => Number(v.dataset.top)),
                    legend: views[views.length - 1].textContent.includes("φ of cat") };
        select.value = ""; select.dispatchEvent(new Event("change"));
        r.back = [...document.querySelectorAll(".layer-view")].map((v) => v.dataset.colour);
        return r; })()`);
      check(classMap.colours.every((c) => c === "class:3") && JSON.stringify(classMap.tops) === JSON.stringify(want) && classMap.legend,
            "choosing a class recolours every layer map (the output layer too) by that class's φ", JSON.stringify(classMap) + " want tops " + JSON.stringify(want));
      check(classMap.back.every((c) => c === "zeta"), "no class: back to ζ", classMap.back.join(","));
    }

    if (!args.run) {  // the synthetic run's epoch 4 has no zeta.json and epoch 7 no tract.json
      const missing = await evaluate(`(() => { const D = JSON.parse(document.getElementById("report-data").textContent);
        window.nnfmriReport.setEpoch(D.epochs.findIndex((e) => e.epoch === 4));
        const views = [...document.querySelectorAll(".layer-view")];
        const r = { colours: views.map((v) => v.dataset.colour), note: views[0].querySelector(".layer-note").textContent };
        window.nnfmriReport.select(0, 0);  // the region panel at that epoch
        r.details = document.getElementById("details-body").textContent;
        window.nnfmriReport.state.sel = null;
        window.nnfmriReport.setEpoch(D.epochs.findIndex((e) => e.epoch === 7));
        r.label = document.getElementById("epoch-label").textContent;
        return r; })()`);
      check(missing.colours.every((c) => c === "density") && missing.note.includes("no ζ at this epoch"),
            "an epoch without zeta.json falls back to density and says so", missing.note);
      check(/ζnot measured at this epoch/.test(missing.details) && /density[0-9.−-]/.test(missing.details),
            "the region panel at that epoch: density measured, ζ not measured at this epoch", missing.details.slice(0, 200));
      check(missing.label.includes("tract ✗"), "an epoch without tract.json is marked", missing.label);
      await evaluate("document.getElementById('pathways').scrollIntoView()");
      await sleep(50);
      const shot = await cdp("Page.captureScreenshot", { format: "png" });
      fs.writeFileSync(path.join(outDir, "report-missing-tract.png"), Buffer.from(shot.data, "base64"));
      await evaluate("window.nnfmriReport.setEpoch(window.nnfmriReport.epochCount - 1)");
      // ζ's cap (README "Critical regions"): with sd over n − 1, no ζ exceeds (n − 1)/√n, 1.5 for fc1's
      // 4 regions; a layer of 256 regions (cap 15.9) and the output's 10 (2.85) carry no such note.
      const notes = await evaluate(`Object.fromEntries([...document.querySelectorAll(".layer-view")].map((v) =>
        [v.dataset.layer, v.querySelector(".layer-note").textContent]))`);
      check(notes.fc1.includes("ζ ≤ (n−1)/√n = 1.5 with n = 4") && !notes.conv1.includes("(n−1)/√n") && !notes.output.includes("(n−1)/√n"),
            "the ζ cap note: (n−1)/√n on fc1's 4 regions only", JSON.stringify([notes.fc1, notes.output]));
    }
    if (!args.run) {  // NN-EEG: one lane per block, the events, the slider's epoch, the consistency terms
      const eeg = await evaluate(`(() => { const R = window.nnfmriReport, D = JSON.parse(document.getElementById("report-data").textContent);
        R.setEpoch(4);
        const chart = document.getElementById("eeg-chart"), rows = [...document.querySelectorAll("#eeg-consistency tr[data-term]")];
        const r = { lanes: Number(chart.dataset.lanes), events: Number(chart.dataset.events), epoch: chart.dataset.epoch, want: String(D.epochs[4].epoch),
                    terms: rows.map((x) => x.dataset.term), cells: rows.length ? rows[0].children.length : 0, inject: D.eeg.inject.length,
                    tips: rows.filter((x) => x.children[0].title.length > 40).length,
                    headTips: [...document.querySelectorAll("#eeg-consistency th[title]")].length };
        R.setEpoch(R.epochCount - 1);
        r.last = chart.dataset.epoch;
        return r; })()`);
      check(eeg.lanes === expected.layers && eeg.events === expected.epochs - 1 && eeg.inject === 1, "NN-EEG: one lane per block, every event (one a region's) and the injected fault",
            JSON.stringify(eeg));
      check(eeg.epoch === eeg.want && eeg.last === String(expected.epochs), "NN-EEG follows the epoch slider", eeg.epoch + " then " + eeg.last);
      check(eeg.terms.join(",") === "rho_gamma_zeta,rho_gamma_zeta_layer,kappa,f1,consistency" && eeg.cells === 5,
            "the consistency panel lists the five terms with value, CI, null and items", eeg.terms.join(","));
      // ρ_γζ, κ, F1 and the null are defined on the page, not only named
      check(eeg.tips === 5 && eeg.headTips === 2, "each consistency term, its CI and its null have a one-line definition as a tooltip",
            JSON.stringify({ tips: eeg.tips, headTips: eeg.headTips }));
      // per-step traces: the planted one-step spikes (tests/synthetic_run.js) are drawn at their steps;
      // found in the canvas's pixels (the topmost trace-coloured pixel of a lane), so lanes drawn per
      // epoch (a point at each epoch's middle) or shifted along the step axis fail
      const traced = await evaluate(`(() => { const R = window.nnfmriReport, D = JSON.parse(document.getElementById("report-data").textContent);
        const chart = document.getElementById("eeg-chart");
        const peakStep = (lane) => {
          const g = JSON.parse(chart.dataset.geometry), ratio = chart.width / chart.clientWidth;
          const y0 = Math.round((g.top + (lane + 1) * g.laneH) * ratio), y1 = Math.round((g.top + (lane + 2) * g.laneH) * ratio);
          const img = chart.getContext("2d").getImageData(0, y0, chart.width, y1 - y0).data;
          for (let y = 0; y < y1 - y0; ++y)
            for (let x = Math.ceil(g.left * ratio); x < chart.width; ++x) {
              const i = 4 * (y * chart.width + x);
              if (Math.abs(img[i] - 11) + Math.abs(img[i + 1] - 61) + Math.abs(img[i + 2] - 145) < 60)
                return g.first + (x / ratio - g.left) * (g.last - g.first) / (g.width - g.left - g.right);
            }
          return null;
        };
        R.state.sel = null;  // no region selected: the block lanes only
        R.setEpoch(R.epochCount - 1);
        const conv2 = D.eeg.blocks.indexOf("conv2"), l = D.layers.findIndex((x) => x.name === "conv1");
        const r = { traces: chart.dataset.traces, block: peakStep(conv2), every: D.eeg.trace.every, regionEvery: D.eeg.trace.region_every,
                    lanesBefore: chart.clientHeight, regionBefore: chart.dataset.region };
        const grid = D.epochs[R.epochCount - 1].layers[l].grid;
        R.select(l, 1 * grid[1] * grid[2]);  // grid_2_1_1
        r.region = chart.dataset.region; r.regionPeak = peakStep(D.eeg.blocks.length); r.lanesAfter = chart.clientHeight;
        // the region's event (conv1 grid_2_1_1 rises at PLANTED.region) is ticked in red on its own lane too,
        // above the lane's middle (a rise); none at that step on the lane of another region (grid_1_1_1)
        const g = JSON.parse(chart.dataset.geometry), ratio = chart.width / chart.clientWidth;
        const redAbove = () => { const x = Math.round((g.left + (g.width - g.left - g.right) * (${PLANTED.region} - g.first) / (g.last - g.first)) * ratio);
          const top = g.top + (D.eeg.blocks.length + 1) * g.laneH, img = chart.getContext("2d").getImageData(x - 2, Math.round(top * ratio), 5, Math.round(g.laneH * ratio)).data;
          let above = 0, below = 0;
          for (let i = 0; i < img.length; i += 4) if (img[i] > 150 && img[i + 1] < 60 && img[i + 2] < 60) (i / 4 / 5 < g.laneH * ratio / 2 ? ++above : ++below);
          return [above, below]; };
        r.tick = redAbove();
        R.select(l, 0);
        r.otherTick = redAbove();
        R.select(l, 1 * grid[1] * grid[2]);
        return r; })()`);
      check(traced.traces === "steps" && traced.every === 1 && Math.abs(traced.block - PLANTED.block) <= 3,
            "NN-EEG traces are per step: conv2's planted spike is drawn at step " + PLANTED.block, JSON.stringify(traced));
      check(traced.regionBefore === "" && traced.region === "conv1 grid_2_1_1" && traced.lanesAfter > traced.lanesBefore && traced.regionEvery > 1 &&
            Math.abs(traced.regionPeak - PLANTED.region) <= traced.regionEvery,
            "the selected region gets its own lane (a min-max envelope) with its planted spike at step " + PLANTED.region, JSON.stringify(traced));
      check(traced.tick[0] >= 4 && traced.tick[1] === 0 && traced.otherTick[0] + traced.otherTick[1] === 0,
            "the selected region's own events are ticked on its lane (a rise upwards), not on another region's", JSON.stringify([traced.tick, traced.otherTick]));
      // the state bands stay right of the lane labels (half a step before the first step was painted over
      // them on a short run), and the canvas holds the step caption's descenders
      const margin = await evaluate(`(() => { const chart = document.getElementById("eeg-chart"), g = JSON.parse(chart.dataset.geometry);
        const ratio = chart.width / chart.clientWidth, lanes = Number(chart.dataset.lanes) + (chart.dataset.region ? 2 : 1);
        const x = Math.floor((g.left - 1) * ratio), y0 = Math.round(g.top * ratio), y1 = Math.round((g.top + lanes * g.laneH) * ratio);
        const img = chart.getContext("2d").getImageData(x, y0, 1, y1 - y0).data;
        let painted = 0;
        for (let i = 0; i < img.length; i += 4) painted += img[i + 3] > 0 && img[i] + img[i + 1] + img[i + 2] < 3 * 250 ? 1 : 0;
        return { painted, below: chart.clientHeight - (g.top + lanes * g.laneH + 26) }; })()`);
      check(margin.painted === 0 && margin.below >= 6, "NN-EEG: nothing painted left of the plot, room under the step caption", JSON.stringify(margin));
      // the band-power canvas at 300 px (a phone's box; resnet20's 30 blocks at 768 px): the blocks wrap
      // into rows of columns at least 40 px wide and the caption into lines, nothing past the right edge
      const bandsNarrow = await evaluate(`(() => { const R = window.nnfmriReport, bars = document.getElementById("eeg-bands");
        const wide = { rows: bars.dataset.rows, lines: bars.dataset.captionLines, right: Number(bars.dataset.right), width: bars.clientWidth };
        bars.style.width = "300px"; R.setEpoch(R.epochCount - 1);
        const narrow = { rows: Number(bars.dataset.rows), lines: Number(bars.dataset.captionLines), right: Number(bars.dataset.right), width: bars.clientWidth,
                         height: bars.clientHeight };
        bars.style.width = ""; R.setEpoch(R.epochCount - 1);
        return { wide, narrow }; })()`);
      const perRow = Math.floor((300 - 20) / 40);
      check(bandsNarrow.wide.rows === "1" && bandsNarrow.wide.right <= bandsNarrow.wide.width &&
            bandsNarrow.narrow.rows === Math.ceil(expected.layers / perRow) && bandsNarrow.narrow.lines >= 3 && bandsNarrow.narrow.right <= 300 &&
            bandsNarrow.narrow.height >= bandsNarrow.narrow.rows * 120,
            "NN-EEG band powers: at 300 px the blocks wrap into rows and the caption into lines, nothing past the right edge", JSON.stringify(bandsNarrow));
      await evaluate("document.getElementById('eeg-chart').scrollIntoView()");
      await sleep(50);
      const eegShot = await cdp("Page.captureScreenshot", { format: "png" });
      fs.writeFileSync(path.join(outDir, "report-eeg.png"), Buffer.from(eegShot.data, "base64"));
    }
    if (!args.run && dom.views > 0) await drawnAgainstData(cdp, evaluate, dom.names, dom.label);
    // at a phone's width (420 px) nothing runs off the page's right edge: a table too wide for its box
    // scrolls within it (the Summary's "selectivity" column is not cut at the edge)
    await cdp("Emulation.setDeviceMetricsOverride", { width: 420, height: 900, deviceScaleFactor: 1, mobile: false });
    await sleep(200);
    const narrow = await evaluate(`(() => { const page = document.documentElement.clientWidth, out = [];
      for (const e of document.querySelectorAll("#summary *, #eeg-consistency *, #settings *, #errors *")) {
        let clipped = false;
        for (let p = e.parentElement; p && p !== document.body; p = p.parentElement) {
          const o = getComputedStyle(p).overflowX;
          if (o === "auto" || o === "scroll" || o === "hidden") { clipped = true; break; }
        }
        if (!clipped && e.getBoundingClientRect().right > page + 1) out.push(e.tagName + ":" + e.textContent.slice(0, 20));
      }
      return { page, scroll: document.documentElement.scrollWidth, out: out.slice(0, 5), count: out.length }; })()`);
    check(narrow.count === 0, "at 420 px no table or text runs off the page's right edge", JSON.stringify(narrow));
    // a phone held upright (375 × 667): the page does not scroll sideways, and scrolled to the maps the
    // controls do not cover them (a sticky bar here would wrap into 244 px, 37% of the screen)
    await cdp("Emulation.setDeviceMetricsOverride", { width: 375, height: 667, deviceScaleFactor: 1, mobile: false });
    await sleep(300);
    const phone = await evaluate(`(() => { document.getElementById("layers").scrollIntoView(); const c = document.getElementById("controls").getBoundingClientRect();
      return { inner: document.documentElement.clientWidth, scroll: document.scrollingElement.scrollWidth, controlsBottom: Math.round(c.bottom), height: window.innerHeight,
               layersTop: Math.round(document.getElementById("layers").getBoundingClientRect().top) }; })()`);
    check(phone.scroll <= phone.inner && phone.controlsBottom <= 0.25 * phone.height && phone.layersTop >= phone.controlsBottom,
          "at 375 × 667 nothing scrolls sideways and the controls leave the maps in view", JSON.stringify(phone));
    // and the run settings' values get the page's width under their keys (beside the keys: 100 px)
    const settingsWidth = await evaluate(`(() => { const page = document.getElementById("settings").parentElement.clientWidth;
      const values = [...document.querySelectorAll("#settings tr")].map((tr) => tr.children[1]).filter((td) => td);
      return { page, rows: values.length, narrowest: Math.min(...values.map((td) => td.getBoundingClientRect().width)) }; })()`);
    check(settingsWidth.rows > 0 && settingsWidth.narrowest >= 0.8 * (settingsWidth.page - 40),
          "at 375 px each run setting's value is nearly the page's width", JSON.stringify(settingsWidth));
    // on paper (print media, a letter page's 740 px): the controls that cannot be pressed are left out
    // but the epoch shown, and no table is cut at a scrolling box's edge or the page's (the Summary's
    // right-hand columns included)
    await cdp("Emulation.setDeviceMetricsOverride", { width: 740, height: 1000, deviceScaleFactor: 1, mobile: false });
    await cdp("Emulation.setEmulatedMedia", { media: "print" });
    await sleep(200);
    const paper = await evaluate(`(() => { const shown = (e) => e.getClientRects().length > 0 && getComputedStyle(e).visibility !== "hidden";
      const page = document.documentElement.clientWidth, cut = [], scrolls = [];
      for (const e of document.querySelectorAll("#summary, #summary *, #errors, #errors *, #eeg-consistency, #eeg-consistency *, #settings, #settings *")) {
        if (getComputedStyle(e).overflowX !== "visible" && e.scrollWidth > e.clientWidth + 1) scrolls.push(e.tagName + "." + e.className + ":" + e.scrollWidth + ">" + e.clientWidth);
        if (shown(e) && e.getBoundingClientRect().right > page + 1) cut.push(e.tagName + ":" + e.textContent.slice(0, 20));
      }
      return { controls: [...document.querySelectorAll("#controls button, #controls input, #controls select, #controls label")].filter(shown).map((e) => e.id || e.name || e.tagName),
               label: shown(document.getElementById("epoch-label")) && document.getElementById("epoch-label").textContent.startsWith("epoch "),
               scrolls: scrolls.slice(0, 4), cut: cut.slice(0, 4), cutCount: cut.length }; })()`);
    // a view taller than a page is scaled whole onto one (at most 7.5 in = 720 CSS px; the synthetic
    // run's pathway view is 842 px high at this width: unscaled it would be cut across two pages)
    const tall = await evaluate(`["pathways", "eeg-chart"].map((id) => { const c = document.getElementById(id);
      return { id, printed: Math.round(c.getBoundingClientRect().height), drawn: Math.round(parseFloat(c.style.height) || 0) }; })`);
    await cdp("Emulation.setEmulatedMedia", { media: "" });
    check(tall.every((t) => t.printed <= 720) && tall.some((t) => t.drawn > 720),
          "printed: a pathway view or NN-EEG chart taller than 7.5 in is scaled onto one page", JSON.stringify(tall));
    check(paper.controls.length === 0 && paper.label && paper.scrolls.length === 0 && paper.cutCount === 0,
          "printed: the controls left out but the epoch shown, no table cut at a scroll box's or the page's edge", JSON.stringify(paper));
    // printing redraws the maps and charts at 3 bitmap pixels per CSS pixel, leaves the images drawn,
    // and afterwards draws at the screen's 1 again (printed at 1 they are blurred)
    const bitmaps = `(() => { const drawn = [...document.querySelectorAll("canvas")].filter((c) => c.clientWidth > 0 && !c.closest("[hidden]"));
      const ratios = drawn.filter((c) => !c.classList.contains("on-image")).map((c) => c.width / Math.max(50, c.clientWidth));
      const images = drawn.filter((c) => c.classList.contains("on-image"));
      const blank = images.filter((c) => !c.getContext("2d").getImageData(0, 0, c.width, c.height).data.some((v) => v > 0)).length;
      return { canvases: ratios.length, low: Math.min(...ratios), high: Math.max(...ratios), images: images.length, blank }; })()`;
    // first the page settles: the resize to 740 px above queued a redraw 100 ms later (report.js's resize
    // handler), which under load can fire after the sleep, rebuilding the images' boxes, drawn a frame later,
    // in the middle of this check (seen once, in a helper's run at load average 4). A timer of the
    // page's own fires after any earlier-due one, and two frames later the images are drawn.
    await evaluate(`new Promise((done) => setTimeout(() => requestAnimationFrame(() => requestAnimationFrame(done)), 150))`);
    await evaluate(`window.dispatchEvent(new Event("beforeprint"))`);
    const printed = await evaluate(bitmaps);
    await evaluate(`window.dispatchEvent(new Event("afterprint"))`);
    const after = await evaluate(bitmaps);
    check(printed.canvases >= 10 && printed.low > 2.95 && printed.high < 3.05 && printed.images > 0 && printed.blank === 0 &&
          after.low > 0.95 && after.high < 1.05 && after.blank === 0,
          "printing draws the maps and charts at 3 pixels per CSS pixel, the images kept, then the screen's 1 again", JSON.stringify({ printed, after }));
    // the browser's own print (Page.printToPDF fires beforeprint and afterprint): a PDF, and the screen's bitmaps after it
    const pdf = await cdp("Page.printToPDF", { printBackground: true });
    const afterPdf = await evaluate(bitmaps);
    check(pdf.data.length > 10000 && afterPdf.low > 0.95 && afterPdf.high < 1.05 && afterPdf.blank === 0,
          "Page.printToPDF gives a PDF and leaves the screen's bitmaps", JSON.stringify({ bytes: pdf.data.length, afterPdf }));
    // the pages of that PDF (a letter page, as `chromium --print-to-pdf` prints): marks that take no room
    // (absolute, at their place in the flow: printed on the page where that place falls) at the top of
    // each figure's heading and just below the figure, and below the first layer card; pdftotext says
    // on which page each lands: whether page 1 ends 2 inches short, its first layer card on page 2, or
    // "Pathways" and "NN-EEG" with their captions are left at a page's foot, their views on the next
    // page.
    const figures = { "ζ on the image": "onimage", "Pathways": "pathways", "Training": "curves", "NN-EEG": "eeg-chart" };
    const marked = await evaluate(`(() => { const mark = (text, place) => { const m = document.createElement("span");
        m.className = "pdf-mark"; m.style.position = "absolute"; m.style.fontSize = "4px"; m.textContent = text; place(m); };
      const figures = ${JSON.stringify(figures)}, found = [];
      for (const h of document.querySelectorAll(".wrap h2")) {
        const id = figures[h.textContent]; if (!id || document.getElementById(id).getClientRects().length === 0) continue;
        mark("MARK-START-" + id, (m) => h.prepend(m)); mark("MARK-END-" + id, (m) => document.getElementById(id).after(m)); found.push(id);
      }
      const card = document.querySelector(".layer-view"); if (card) { mark("MARK-CARD", (m) => card.append(m)); found.push("card"); }
      return found; })()`);
    const pages = await cdp("Page.printToPDF", { printBackground: true });
    await evaluate(`document.querySelectorAll(".pdf-mark").forEach((m) => m.remove())`);
    const pdfPath = path.join(outDir, "report.pdf");
    fs.writeFileSync(pdfPath, Buffer.from(pages.data, "base64"));
    const pageText = execFileSync("pdftotext", ["-layout", pdfPath, "-"]).toString().split("\f").slice(0, -1);
    const pageOf = (text) => pageText.findIndex((t) => t.includes(text)) + 1;  // 0: not found
    const placed = { pages: pageText.length, card: pageOf("MARK-CARD") };
    for (const id of marked.filter((m) => m !== "card")) placed[id] = [pageOf("MARK-START-" + id), pageOf("MARK-END-" + id)];
    console.log("report-browser-test: printed " + pdfPath + ": " + JSON.stringify(placed));
    check(marked.includes("card") && placed.card === 1, "printed: page 1 holds the first row of layer cards (not 2 inches of blank)", JSON.stringify(placed));
    const split = marked.filter((m) => m !== "card" && (placed[m][0] === 0 || placed[m][0] !== placed[m][1]));
    check((args.run || marked.length === Object.keys(figures).length + 1) && split.length === 0,
          "printed: each figure's heading and caption on the figure's page", JSON.stringify({ marked, split, placed }));
    await cdp("Emulation.setDeviceMetricsOverride", { width: 1400, height: 1000, deviceScaleFactor: 1, mobile: false });
    await sleep(200);
    // screenshots: the layers with the top region selected (README "Reading the report"), the first
    // screen, and the whole page
    await evaluate(`(() => { const R = window.nnfmriReport, D = JSON.parse(document.getElementById("report-data").textContent);
      R.setView("map"); R.setEpoch(R.epochCount - 1);
      const top = D.epochs[R.epochCount - 1].summary.top_regions;
      const l = top && top.length ? D.layers.findIndex((x) => x.name === top[0].layer) : 0;
      const ly = D.epochs[R.epochCount - 1].layers[Math.max(0, l)];
      const r = top && top.length ? (top[0].grid[0] - 1) * ly.grid[1] * ly.grid[2] + (top[0].grid[1] - 1) * ly.grid[2] + top[0].grid[2] - 1 : 0;
      R.select(Math.max(0, l), r);
      document.getElementById("layers").scrollIntoView(); })()`);  // below the controls (the page's scroll padding)
    await sleep(150);
    // at 3/4 scale: the README's screenshot (docs/report.png) is this file of a real run
    const layersShot = await cdp("Page.captureScreenshot", { format: "png", clip: { x: 0, y: await evaluate("window.scrollY"), width: 1400, height: 1000, scale: 0.75 } });
    fs.writeFileSync(path.join(outDir, "report-layers.png"), Buffer.from(layersShot.data, "base64"));
    await evaluate("document.getElementById('reset-view').click(); window.scrollTo(0, 0)");
    await sleep(100);
    const shot = await cdp("Page.captureScreenshot", { format: "png" });
    fs.writeFileSync(path.join(outDir, "report.png"), Buffer.from(shot.data, "base64"));
    const metrics = await cdp("Page.getLayoutMetrics");
    const size = metrics.cssContentSize || metrics.contentSize;
    const full = await cdp("Page.captureScreenshot", { format: "png", captureBeyondViewport: true,
      clip: { x: 0, y: 0, width: Math.ceil(size.width), height: Math.min(8000, Math.ceil(size.height)), scale: 1 } });
    fs.writeFileSync(path.join(outDir, "report-full.png"), Buffer.from(full.data, "base64"));
    console.log("report-browser-test: screenshots " + ["report.png", "report-layers.png", "report-full.png"].map((f) => path.join(outDir, f)).join(", "));
    await monitorPage(browser, problems, outDir);
    await analysisPage(browser, problems, outDir);
    if (!args.run) await perEpochLanes(browser, problems, outDir, runDir);
  } finally {
    await close();
  }
  check(problems.length === 0, "no console error, exception, dialog or network request", problems.join(" | ") || "none");
}

finish(main());
