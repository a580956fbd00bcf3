#!/usr/bin/env python3
"""bench/zeta_agreement.py BUDGET.json CONVERGED.json OTHER.json — how far one zeta map is from another.

Definition (README "Imaging", "ζ in fewer epochs"; written before it was measured, 2026-12-05): per
block, the Spearman rank correlation (average ranks for ties) of the regions' φ (`shapley`) between
BUDGET (e.g. `make run`'s 1.5 s budget) and CONVERGED (the same checkpoint, images and seed, every block
stopped by tolerance), and between CONVERGED and OTHER (a tolerance-stopped run with another
--zeta-seed: another sample of images and other permutations); beside each, the overlap of the
critical sets (shared regions, and each set's size).  Prints a Markdown table.  Python's standard
library only.
"""
import json
import sys


def layers(path):
    with open(path) as f:
        return json.load(f)["layers"]


def ranks(xs):
    order = sorted(range(len(xs)), key=lambda i: xs[i])
    r = [0.0] * len(xs)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and xs[order[j + 1]] == xs[order[i]]:
            j += 1
        for k in range(i, j + 1):
            r[order[k]] = (i + j) / 2
        i = j + 1
    return r


def spearman(a, b):
    ra, rb = ranks(a), ranks(b)
    ma, mb = sum(ra) / len(ra), sum(rb) / len(rb)
    num = sum((x - ma) * (y - mb) for x, y in zip(ra, rb))
    den = (sum((x - ma) ** 2 for x in ra) * sum((y - mb) ** 2 for y in rb)) ** 0.5
    return num / den if den > 0 else float("nan")


def overlap(a, b):
    return f"{len(set(a) & set(b))} of {len(a)} and {len(b)}"


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: zeta_agreement.py BUDGET.json CONVERGED.json OTHER.json")
    budget, converged, other = (layers(p) for p in sys.argv[1:])
    print("| block | regions | permutations per image, budget / converged | stopped by | ρ budget vs converged "
          "| ρ converged vs other | critical: budget vs converged | converged vs other |")
    print("|---|---|---|---|---|---|---|---|")
    for name, block in budget.items():
        keys = sorted(block["regions"])
        phi = lambda d: [d[name]["regions"][k]["shapley"] for k in keys]
        crit = lambda d: d[name].get("critical_regions", [])
        print(f"| {name} | {len(keys)} | {block['permutations']} / {converged[name]['permutations']} "
              f"| {block['stopped_by']} / {converged[name]['stopped_by']} "
              f"| {spearman(phi(budget), phi(converged)):.3f} | {spearman(phi(converged), phi(other)):.3f} "
              f"| {overlap(crit(budget), crit(converged))} | {overlap(crit(converged), crit(other))} |")


if __name__ == "__main__":
    main()
