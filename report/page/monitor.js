// report/page/monitor.js — monitor.html: the score timeline with the windows that alarm, the alarm
// table, and the region map (max |z| over channel blocks per cell, README "Monitoring") of one of
// the most abnormal images beside the image itself.  Reads only the page's own JSON
// (apps/cmd_monitor.cpp writes it); text goes in through textContent only.
"use strict";
(function () {
  const D = JSON.parse(document.getElementById("monitor-data").textContent);
  const SEQ = D.colormaps.sequential.map(hexRgb);
  const el = (tag, text) => {
    const e = document.createElement(tag);
    if (text !== undefined) e.textContent = text;
    return e;
  };
  document.getElementById("subtitle").textContent = D.checkpoint + " · profile " + D.profile + " · input " + D.input +
    " · " + D.images + " images, " + D.windows.length + " windows of " + D.window + ", " +
    D.windows.filter((w) => w[2]).length + " alarms (BH-adjusted p < " + D.alpha + ")";

  // ---- timeline: one dot per image, alarmed windows shaded
  const select = document.getElementById("detector");
  D.detectors.forEach((name, i) => {
    const o = el("option", name);
    o.value = String(i);
    select.appendChild(o);
  });
  function drawTimeline() {
    const d = Number(select.value), canvas = document.getElementById("timeline");
    const { ctx, w: W, h: H } = sizeCanvas(canvas, window.devicePixelRatio), pad = 30, n = D.scores.length;
    if (!n) return;
    let lo = Infinity, hi = -Infinity;
    for (const s of D.scores) { lo = Math.min(lo, s[d]); hi = Math.max(hi, s[d]); }
    if (hi === lo) hi = lo + 1;
    const x = (i) => pad + (W - 2 * pad) * (n > 1 ? i / (n - 1) : 0.5), y = (v) => H - pad - (H - 2 * pad) * (v - lo) / (hi - lo);
    ctx.fillStyle = "rgba(220,40,40,0.15)";
    for (const w of D.windows) if (w[2]) ctx.fillRect(x(w[0]), pad, Math.max(1, x(w[0] + w[1] - 1) - x(w[0])), H - 2 * pad);
    ctx.fillStyle = "#333";
    for (let i = 0; i < n; ++i) ctx.fillRect(x(i) - 1, y(D.scores[i][d]) - 1, 2, 2);
    ctx.font = "12px sans-serif";
    ctx.fillText(fmt(hi), 2, pad);
    ctx.fillText(fmt(lo), 2, H - pad);
    ctx.fillText("image 0", pad, H - 8);
    ctx.textAlign = "right";
    ctx.fillText("image " + (n - 1), W - pad, H - 8);
    ctx.textAlign = "left";
    document.getElementById("timeline-note").textContent = D.detectors[d] + ": higher = more abnormal; red: windows that alarm" +
      (D.scores_cut ? "; the first " + n + " images only" : "");
  }
  select.addEventListener("change", drawTimeline);
  drawTimeline();
  // Redrawn whenever its bitmap no longer matches its box: a window resize, and also a change no resize
  // event reports (a vertical scroll bar that appears once the page below, or drawTimeline's own note,
  // is laid out takes 15 px; before 2026-12-04 the bitmap then stayed 15 px wider than its box, scaled
  // down).  Sizing the bitmap does not change the box (CSS gives its width and height), so a redraw
  // does not observe itself.
  const timeline = document.getElementById("timeline");
  new ResizeObserver(() => {
    if (!canvasFits(timeline, window.devicePixelRatio)) drawTimeline();
  }).observe(timeline);

  // ---- alarms
  const alarms = D.windows.filter((w) => w[2]);
  const host = document.getElementById("alarms");
  if (!alarms.length) host.appendChild(el("p", "No window alarmed."));
  else {
    const table = el("table"), head = el("tr");
    ["window", "images", "regions drifting", "most drifting region"].forEach((h) => head.appendChild(el("th", h)));
    table.appendChild(head);
    for (const w of alarms) {
      const tr = el("tr");
      [String(Math.round(w[0] / D.window)), w[0] + "–" + (w[0] + w[1] - 1), w[3] + " of " + w[4], w[5]].forEach((t) => tr.appendChild(el("td", t)));
      table.appendChild(tr);
    }
    host.appendChild(table);
  }

  // ---- region maps of a selected image
  const imageSelect = document.getElementById("image");
  D.selected.forEach((s, i) => {
    const o = el("option", "image " + s.image + " (spatial_typ " + fmt(s.spatial_typ) + ", label " + s.label + ", predicted " + s.prediction + ")");
    o.value = String(i);
    imageSelect.appendChild(o);
  });
  function canvasOf(width, height, scale, paint) {
    const c = el("canvas");
    c.width = width * scale;
    c.height = height * scale;
    paint(c.getContext("2d"), scale);
    return c;
  }
  function drawImage() {
    const maps = document.getElementById("maps");
    maps.textContent = "";
    const s = D.selected[Number(imageSelect.value)];
    if (!s) return;
    const scale = Math.max(1, Math.floor(192 / Math.max(s.height, s.width)));
    const figure = el("figure");
    figure.appendChild(canvasOf(s.width, s.height, scale, (ctx, k) => {
      const plane = s.height * s.width;
      for (let yy = 0; yy < s.height; ++yy)
        for (let xx = 0; xx < s.width; ++xx) {
          const p = yy * s.width + xx, c = s.channels === 3 ? [s.pixels[p], s.pixels[plane + p], s.pixels[2 * plane + p]] : [s.pixels[p], s.pixels[p], s.pixels[p]];
          ctx.fillStyle = css(c);
          ctx.fillRect(xx * k, yy * k, k, k);
        }
      if (s.top) {
        ctx.strokeStyle = "#ff2020";
        ctx.lineWidth = 2;
        ctx.strokeRect(s.top[1] * k, s.top[0] * k, (s.top[3] - s.top[1]) * k, (s.top[2] - s.top[0]) * k);
      }
    }));
    figure.appendChild(el("figcaption", "the image; red: its most abnormal region"));
    maps.appendChild(figure);
    for (const m of s.maps) {
      const [gh, gw, gc] = m.grid, cell = [];
      let zmax = 0;
      for (let r = 0; r < m.z.length; ++r) {
        const [i, j] = coordsOf(m.grid, r), at = i * gw + j;
        cell[at] = Math.max(cell[at] || 0, Math.abs(m.z[r]));
        zmax = Math.max(zmax, Math.abs(m.z[r]));
      }
      const f = el("figure");
      const k = Math.max(1, Math.floor(192 / Math.max(gh, gw)));
      f.appendChild(canvasOf(gw, gh, k, (ctx, kk) => {
        for (let i = 0; i < gh; ++i)
          for (let j = 0; j < gw; ++j) {
            ctx.fillStyle = css(ramp(SEQ, zmax > 0 ? cell[i * gw + j] / zmax : 0));
            ctx.fillRect(j * kk, i * kk, kk, kk);
          }
      }));
      f.appendChild(el("figcaption", m.layer + ": max |z| over " + gc + " channel blocks, 0 … " + fmt(zmax)));
      maps.appendChild(f);
    }
    document.getElementById("image-note").textContent = "the " + D.selected.length + " images with the largest spatial_typ score (the default)";
  }
  imageSelect.addEventListener("change", drawImage);
  drawImage();
})();
