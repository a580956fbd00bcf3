#!/usr/bin/env python3
"""bench/cross_arch.py — the method's cross-architecture predictions, measured per imaged block.

    python3 bench/cross_arch.py LABEL TRAINED_ANALYSIS_DIR SHUFFLED_ANALYSIS_DIR [LABEL DIR DIR ...]

Each DIR holds grid.json and zeta.json of one `nnfmri analyze`. Definitions (README, "Residual
networks", "Across architectures"), written before the first measurement:
  spatial CV  — per spatial cell the mean over its channel blocks of the regions' density and of
                their mean |a|; the population standard deviation over cells of the density divided
                by the cells' mean of mean |a|; "—" for a 1×1 grid.
  critical    — zeta.json's critical_share (the report's rule) and critical_share_zeta (ζ ≥ 2).
  top-10%     — share of Σ max(φ_g, 0) carried by the ⌈n/10⌉ largest-φ regions ("—" if Σ is 0).
Prints one Markdown table per label: every block in network order, trained and (null) shuffled.
"""
import json
import math
import sys


def spatial_cv(layer):
    rows, cols, _ = layer["grid"]
    if rows * cols <= 1:
        return None
    cells, scale = {}, {}
    for name, r in layer["regions"].items():
        _, i, j, _ = name.split("_")
        cells.setdefault((i, j), []).append(r["density"])
        scale.setdefault((i, j), []).append(r["mean_abs"])
    means = [sum(v) / len(v) for v in cells.values()]
    mu = sum(means) / len(means)
    typical = sum(sum(v) / len(v) for v in scale.values()) / len(scale)
    if typical == 0:
        return None
    sd = math.sqrt(sum((m - mu) ** 2 for m in means) / len(means))
    return sd / typical


def top10_share(zlayer):
    phi = sorted((r["shapley"] for r in zlayer["regions"].values()), reverse=True)
    pos = sum(max(p, 0.0) for p in phi)
    if pos <= 0:
        return None
    k = math.ceil(len(phi) / 10)
    return sum(max(p, 0.0) for p in phi[:k]) / pos


def figures(d):
    grid = json.load(open(d + "/grid.json"))["layers"]
    zeta = json.load(open(d + "/zeta.json"))["layers"]
    out = {}
    for name, layer in grid.items():
        z = zeta.get(name)
        out[name] = {
            "grid": "×".join(str(x) for x in layer["grid"]),
            "cv": spatial_cv(layer),
            "crit": z["critical_share"] if z else None,
            "critz": z["critical_share_zeta"] if z else None,
            "top": top10_share(z) if z else None,
            "maxz": max(r["zeta_score"] for r in z["regions"].values()) if z else None,
            "stop": z["stopped_by"] if z else "",
        }
    return out


def fmt(x, pct=False):
    if x is None:
        return "—"
    return f"{100 * x:.1f}%" if pct else f"{x:.3f}"


def main(argv):
    if len(argv) < 3 or len(argv) % 3:
        sys.exit(__doc__)
    for i in range(0, len(argv), 3):
        label, trained, shuffled = argv[i:i + 3]
        t, s = figures(trained), figures(shuffled)
        print(f"\n**{label}** (trained / weights shuffled)\n")
        print("| block | grid | spatial CV of density | critical share (report's rule) | critical share (ζ ≥ 2) | top-10% share of φ | max ζ | ζ stopped by |")
        print("|---|---|---|---|---|---|---|---|")
        for name, a in t.items():
            b = s.get(name, {})
            print(f"| {name} | {a['grid']} | {fmt(a['cv'])} / {fmt(b.get('cv'))} | {fmt(a['crit'], True)} / {fmt(b.get('crit'), True)} | "
                  f"{fmt(a['critz'], True)} / {fmt(b.get('critz'), True)} | {fmt(a['top'])} / {fmt(b.get('top'))} | "
                  f"{fmt(a['maxz'])} / {fmt(b.get('maxz'))} | {a['stop']} / {b.get('stop', '')} |")


if __name__ == "__main__":
    main(sys.argv[1:])
