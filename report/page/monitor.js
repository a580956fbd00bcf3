// report/page/monitor.js — monitor.html: the score timeline with the windows that alarm, the alarm
// table, and the region map (max |z| over channel blocks per cell, README "Monitoring") of one of
// the most abnormal images beside the image itself, with its colour legend.  Every score, column and
// test the page names has its definition (TIPS, README "Monitoring"'s words and formulas), shown as the
// report shows its own (helpers.js termTips), and the selected score's definition is a line under the
// selector.  Reads only the page's own JSON (apps/cmd_monitor.cpp writes it); text goes in through
// textContent only.
"use strict";
(function () {
  const D = JSON.parse(document.getElementById("monitor-data").textContent);
  const SEQ = D.colormaps.sequential.map(hexRgb);
  const el = (tag, text) => {
    const e = document.createElement(tag);
    if (text !== undefined) e.textContent = text;
    return e;
  };
  // The canvases' pixels per CSS pixel (helpers.js drawRatio): the screen's, at least 3 while printing;
  // the timeline and the legends are drawn again on "beforeprint" and "afterprint" (the maps are
  // pixelated blocks, drawn at their own size).
  let printing = false;
  const pixelRatio = () => drawRatio(window.devicePixelRatio, printing);
  const M = "(README \"Monitoring\").";
  // One line per score, column and test the page names, from README "Monitoring" (its formulas are the
  // specification; each line names the section).  A score's line starts with its name.
  const TIPS = {
    spatial_typ: "spatial_typ = (1/L_c) Σ_l |d_l(x) − a_l|/b_l: per block l, d_l the distance of its vector of region z's from the clean centre under the clean data's covariance, a_l and b_l its mean and sd over the profile's images; a block counts when its distance is unusual in either tail; the default score " + M,
    spatial: "spatial = S(x) = (1/L) Σ_l (1/|G_l|) Σ_{g∈G_l} z_g(x)²: the mean squared z of a block's regions, averaged over the blocks, every block weighing the same " + M,
    spatial_cov: "spatial_cov = (1/L_c) Σ_l (d_l(x) − a_l)/b_l, d_l(x) = (z_l(x) − z̄_l)ᵀ P_l (z_l(x) − z̄_l) with P_l the inverse Ledoit–Wolf covariance of the block's region z's on the clean images: each block's distance in units of its clean spread " + M,
    spatial_zeta: "spatial_zeta = S_ζ(x) = (1/L') Σ_l Σ_{g∈G_l} w_g z_g(x)², w_g = |φ̂_g| / Σ_{g'∈G_l} |φ̂_g'|, φ̂_g region g's Shapley value (profile --zeta): the regions whose lesion moves the output most weigh most " + M,
    spatial_knn: "spatial_knn = the Euclidean distance from v(x), the image's region z's of every block scaled so that ‖v‖² = spatial, to its k-th nearest map of the profile's bank of training images " + M,
    msp: "msp = −max_k softmax(f)_k, f the logits: minus the confidence of the predicted class (Hendrycks & Gimpel 2017) " + M,
    energy: "energy = −log Σ_k exp(f_k), f the logits (temperature 1; Liu et al. 2020) " + M,
    mahalanobis: "mahalanobis = min_k (h − m_k)ᵀ P (h − m_k): h the penultimate features, m_k the clean class means, P the inverse of their tied covariance (Lee et al. 2018) " + M,
    knn: "knn = ‖u − u_(k)‖, u = h/‖h‖ the unit vector of the penultimate features, u_(k) the k-th nearest (k = 10) of the clean images' unit vectors (Sun et al. 2022) " + M,
    z: "z of a region g on an image: z_g = (φ_g(x) − μ_g)/σ_g, φ_g = m_g + λ·ln(v_g + ε) the region's activity statistic, μ_g and σ_g its mean and sd over the profile's clean images " + M,
    region_map: "region map: a block's grid cells (rows × columns), each coloured by the largest |z_g| over its channel blocks, on the sequential map from 0 to the block's largest |z| " + M,
    window_test: "The window test: for each region g, the Kolmogorov–Smirnov distance D_g = sup_v |F_n(v) − F_g(v)| between the window's φ_g values and the profile's distribution of φ_g, its p-value, then Benjamini–Hochberg over all tested regions; the window alarms when any adjusted p is below α " + M,
    bh: "BH-adjusted p: a region's KS p-value after the Benjamini–Hochberg adjustment over all the regions tested in the window, so that with no drift a window alarms with probability at most α " + M,
    window: "window: the window's number w; it holds the n images w·n … w·n + n − 1 of the stream, n = --window " + M,
    images: "images: the first and last image of the window, in stream order " + M,
    drifting: "regions drifting: the regions whose BH-adjusted p is below α, of all the regions tested (those of σ_g > 10⁻⁶) " + M,
    ks: "KS distance of a region in a window: D_g = sup_v |F_n(v) − F_g(v)|, the largest gap between the distribution function of the window's φ_g values and the profile's (0 … 1) " + M,
    most: "most drifting region: the smallest BH-adjusted p (ties broken by the raw p, then the larger KS distance D_g); its block and region key " + M,
  };
  const tip = termTips(document, TIPS, document.getElementById("hover"), document.getElementById("tips"));
  const term = (text, key) => tip(el("span", text), key);
  const fill = (host, parts) => host.append(...parts.map((p) => (typeof p === "string" ? document.createTextNode(p) : p)));
  fill(document.getElementById("subtitle"), [D.checkpoint + " · profile " + D.profile + " · input " + D.input +
    " · " + D.images + " images, " + D.windows.length + " windows of " + D.window + ", " +
    D.windows.filter((w) => w[2]).length + " alarms (", term("BH-adjusted p", "bh"), " < " + D.alpha + ")"]);
  // every score of this monitor as a term (a score this page has no line for stays plain text)
  fill(document.getElementById("score-terms"), ["Scores of each image, higher = more abnormal: "].concat(
    ...D.detectors.map((name, i) => [i ? ", " : "", TIPS[name] ? term(name, name) : name]), ["."]));
  fill(document.getElementById("window-test"), ["A window of " + D.window + " images alarms by ",
    term("the window test: KS per region, Benjamini–Hochberg at α = " + D.alpha, "window_test"), "."]);

  // ---- timeline: one dot per image, alarmed windows shaded
  const select = document.getElementById("detector");
  D.detectors.forEach((name, i) => {
    const o = el("option", name);
    o.value = String(i);
    select.appendChild(o);
  });
  function drawTimeline() {
    const d = Number(select.value), canvas = document.getElementById("timeline");
    const { ctx, w: W, h: H } = sizeCanvas(canvas, pixelRatio()), pad = 30, n = D.scores.length;
    if (!n) return;
    let lo = Infinity, hi = -Infinity;
    for (const s of D.scores) { lo = Math.min(lo, s[d]); hi = Math.max(hi, s[d]); }
    if (hi === lo) hi = lo + 1;
    const x = (i) => pad + (W - 2 * pad) * (n > 1 ? i / (n - 1) : 0.5), y = (v) => H - pad - (H - 2 * pad) * (v - lo) / (hi - lo);
    ctx.fillStyle = "rgba(220,40,40,0.15)";
    for (const w of D.windows) if (w[2]) ctx.fillRect(x(w[0]), pad, Math.max(1, x(w[0] + w[1] - 1) - x(w[0])), H - 2 * pad);
    // dots of 2 px for a long stream, up to 6 px for a short one (10 images from a folder: 2 px dots
    // were hard to find on a 1,300 px line)
    const dot = Math.max(2, Math.min(6, (W - 2 * pad) / n / 3));
    ctx.fillStyle = "#333";
    for (let i = 0; i < n; ++i) ctx.fillRect(x(i) - dot / 2, y(D.scores[i][d]) - dot / 2, dot, dot);
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
  // the selected score's definition, under the selector (the selector is described by it)
  const defineScore = () => {
    const name = D.detectors[Number(select.value)];
    document.getElementById("detector-definition").textContent = TIPS[name] || name + ": no definition on this page " + M;
  };
  select.addEventListener("change", () => { defineScore(); drawTimeline(); });
  defineScore();
  drawTimeline();
  // Redrawn whenever its bitmap no longer matches its box: a window resize, and also a change no resize
  // event reports (a vertical scroll bar that appears once the page below, or drawTimeline's own note,
  // is laid out takes 15 px; the bitmap would then stay 15 px wider than its box, scaled
  // down).  Sizing the bitmap does not change the box (CSS gives its width and height), so a redraw
  // does not observe itself.
  const timeline = document.getElementById("timeline");
  new ResizeObserver(() => {
    if (!canvasFits(timeline, pixelRatio())) drawTimeline();
  }).observe(timeline);

  // ---- alarms
  const alarms = D.windows.filter((w) => w[2]);
  const host = document.getElementById("alarms");
  if (!D.windows.length)  // a stream shorter than one window: nothing was tested, so nothing can have alarmed
    host.appendChild(el("p", "No window was tested: the stream's " + D.images + " image" + (D.images === 1 ? " is" : "s are") +
                              " fewer than one window of " + D.window + "."));
  else if (!alarms.length) host.appendChild(el("p", "No window alarmed."));
  else {
    const table = el("table"), head = el("tr");
    [["window", "window"], ["images", "images"], ["regions drifting", "drifting"], ["most drifting region", "most"],
     ["its KS distance", "ks"], ["its BH-adjusted p", "bh"]].forEach(([h, key]) => head.appendChild(tip(el("th", h), key)));
    table.appendChild(head);
    for (const w of alarms) {
      const tr = el("tr");
      [String(Math.round(w[0] / D.window)), w[0] + "–" + (w[0] + w[1] - 1), w[3] + " of " + w[4], w[5], fmt(w[6], 3), fmt(w[7], 3)]
        .forEach((t) => tr.appendChild(el("td", t)));
      table.appendChild(tr);
    }
    host.appendChild(table);
  }

  // ---- region maps of a selected image
  const imageSelect = document.getElementById("image");
  D.selected.forEach((s, i) => {
    const o = el("option", "image " + s.image + (s.file ? " " + s.file : "") + " (spatial_typ " + fmt(s.spatial_typ) + (s.label === null ? ", unlabelled" : ", label " + s.label) + ", predicted " + s.prediction + ")");
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
    const caption = el("figcaption");
    fill(caption, ["the image; red: its most abnormal region (largest ", term("|z|", "z"), ")"]);
    figure.appendChild(caption);
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
      const mapCaption = el("figcaption");
      fill(mapCaption, [m.layer + ": ", term("max |z| over " + gc + " channel blocks", "region_map")]);
      // the colour legend, drawn as the report's layer legends are (helpers.js legendRow, drawRampBar)
      const legend = legendRow((tag, cls) => { const e = el(tag); if (cls) e.className = cls; return e; });
      legend.low.textContent = "0";
      legend.high.textContent = fmt(zmax, 3);
      legend.what.textContent = "|z|";
      f.append(mapCaption, legend.row);
      maps.appendChild(f);
      drawRampBar(legend.bar, SEQ, pixelRatio());  // once in the page: sized to its CSS box
    }
    const note = document.getElementById("image-note");
    note.textContent = "";
    fill(note, ["the " + D.selected.length + " images with the largest ", term("spatial_typ", "spatial_typ"), " score (the default)"]);
  }
  imageSelect.addEventListener("change", drawImage);
  drawImage();
  const printCanvases = (on) => { printing = on; drawTimeline(); drawImage(); };
  window.addEventListener("beforeprint", () => printCanvases(true));
  window.addEventListener("afterprint", () => printCanvases(false));
})();
