#!/usr/bin/env python3
"""bench/study/critical_table.py LOG [CI] — the table of bench/README.md from critical_study's RESULT,
ORACLE and '#' lines: per planted condition and rule, recall and precision over the data seeds
(min–max and mean), critical regions (min–max), false positives summed over seeds (in a cell next to an evidence cell,
8-neighbourhood / elsewhere; a distractor hit counts as elsewhere unless it is adjacent), distractor hits; and per rule the
worst F1 over conditions × seeds (README "Critical regions": the rule kept is the best worst F1).
CI: the interval kind (population, the default, or sample).
Logs with the receptive-field truth (RESULT lines with 12 fields, README "Critical regions") also get
recall and precision under that truth beside the cell truth, and the per-rule summary under both."""
import collections, sys

log, ci = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else "population")
rows = collections.defaultdict(list)   # (condition, rule) -> [(seed, recall, precision, critical, distractor, adjacent)]
oracle = collections.defaultdict(list)
accuracy = collections.defaultdict(list)
chance = collections.defaultdict(list)  # condition -> [(cell truth, RF truth)]: share of cells counted true
for line in open(log):
    f = line.split()
    if not f:
        continue
    if f[0] == "RESULT" and f[4] == ci:
        seed, _, cond = f[1].partition(",")
        rf = (float(f[11]), float(f[12])) if len(f) > 12 else None
        rows[(cond or "cells=5", f[3])].append((int(seed), float(f[5]), float(f[6]), int(f[7]), int(f[8]), int(f[10]), rf))
    elif f[0] == "CHANCE":
        seed, _, cond = f[1].partition(",")
        chance[cond or "cells=5"].append((eval(f[4]), eval(f[6])))  # a/n fractions
    elif f[0] == "ORACLE":
        seed, _, cond = f[1].partition(",")
        oracle[cond or "cells=5"].append((float(f[5]), float(f[7])))
    elif f[0] == "#" and "test accuracy" in line:
        seed, _, cond = f[1].partition(",")
        accuracy[cond or "cells=5"].append(float(f[5].rstrip(",")))

def f1(r, p):
    return 2 * r * p / (r + p) if r + p > 0 else 0.0

def span(v):
    return f"{min(v):.2f}–{max(v):.2f} ({sum(v) / len(v):.2f})" if min(v) != max(v) else f"{v[0]:.2f}"

conds = list(dict.fromkeys(c for c, _ in rows))
rules = list(dict.fromkeys(r for _, r in rows))
has_rf = all(x[6] is not None for v in rows.values() for x in v)
print(f"interval: {ci}\n")
rf_head = " recall, RF truth | precision, RF truth |" if has_rf else ""
print("| condition | seeds | test acc | rule | recall min–max (mean) | precision min–max (mean) |" + rf_head +
      " critical | FP next to evidence / elsewhere | distractor | best cut on φ: recall / precision |")
print("|---|---|---|---|---|---|" + ("---|---|" if has_rf else "") + "---|---|---|---|")
for c in conds:
    for r in rules:
        v = rows[(c, r)]
        if not v:
            continue
        seeds = ",".join(str(x[0]) for x in sorted(v))
        o = oracle[c]
        rf = f"{span([x[6][0] for x in v])} | {span([x[6][1] for x in v])} | " if has_rf else ""
        print(f"| {c} | {seeds} | {span(accuracy[c])} | {r} | {span([x[1] for x in v])} | {span([x[2] for x in v])} | {rf}"
              f"{min(x[3] for x in v)}–{max(x[3] for x in v)} | {sum(x[5] for x in v)} / "
              f"{sum(x[3] - round(x[2] * x[3]) - x[5] for x in v)} | {sum(x[4] for x in v)} | "
              f"{span([x[0] for x in o])} / {span([x[1] for x in o])} |")
if chance:
    print("\nChance precision (critical regions drawn at random from the cells) per condition, cell truth / RF truth:")
    for c in conds:
        if chance[c]:
            print(f"- {c}: {span([x[0] for x in chance[c]])} / {span([x[1] for x in chance[c]])}")
truths = [("cell", lambda x: (x[1], x[2]))] + ([("receptive field", lambda x: x[6])] if has_rf else [])
print("\n| truth | rule | worst F1 over conditions × seeds | mean F1 | runs with recall ≥ 0.95 and precision ≥ 0.95 |")
print("|---|---|---|---|---|")
for truth, pick in truths:
    for r in rules:
        v = [pick(x) for c in conds for x in rows[(c, r)]]
        fs = [f1(rc, pr) for rc, pr in v]
        ok = sum(1 for rc, pr in v if rc >= 0.95 and pr >= 0.95)
        print(f"| {truth} | {r} | {min(fs):.3f} | {sum(fs) / len(fs):.3f} | {ok} of {len(v)} |")
