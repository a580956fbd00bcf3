#!/usr/bin/env python3
"""bench/eeg_consistency_table.py OUT — the table of bench/eeg_consistency.sh: for each run in OUT
(trained_S, frozen_S) the consistency terms of the last analysed epoch's analysis/epoch_N/eeg.json
(written by `nnfmri report`), with their bootstrap 95% CIs and the shuffled-label null, as Markdown."""
import glob, json, os, sys

out = sys.argv[1]
TERMS = [("rho_gamma_zeta", "ρ_γζ regions"), ("rho_gamma_zeta_layer", "ρ_γζ layer form"), ("kappa", "κ"), ("f1", "F1"),
         ("consistency", "Consistency")]


def fmt(v):
    return "–" if v is None else f"{v:.3g}"


def cell(t):
    if t["value"] is None:
        return "undefined"
    ci = f" [{fmt(t['ci'][0])}, {fmt(t['ci'][1])}]" if t["ci"] else ""
    null = t["null_shuffled"]
    n = f"; null {fmt(null['median'])}" + (f" [{fmt(null['range'][0])}, {fmt(null['range'][1])}]" if null["range"] else "") if null else ""
    return f"{fmt(t['value'])}{ci}{n}"


print("| run | test acc | " + " | ".join(name for _, name in TERMS) + " |")
print("|---|---|" + "---|" * len(TERMS))
for run in sorted(glob.glob(os.path.join(out, "*_*"))):
    if not os.path.isdir(run):
        continue
    docs = sorted(glob.glob(os.path.join(run, "analysis", "epoch_*", "eeg.json")))
    if not docs:
        print(f"| {os.path.basename(run)} | no eeg.json (run `nnfmri report`) |")
        continue
    d = json.load(open(docs[-1]))
    acc = [json.loads(l)["test_acc"] for l in open(os.path.join(run, "metrics.jsonl")) if l.strip()][-1]
    c = d["consistency"]
    print(f"| {os.path.basename(run)} (epoch {d['epoch']}) | {acc:.3f} | " + " | ".join(cell(c[k]) for k, _ in TERMS) + " |")
# per-epoch ρ_γζ (region form) of the trained runs, to show how it moves with training
print()
print("ρ_γζ (region form) per analysed epoch, value [95% CI]:")
for run in sorted(glob.glob(os.path.join(out, "*_*"))):
    if not os.path.isdir(run):
        continue
    row = []
    for f in sorted(glob.glob(os.path.join(run, "analysis", "epoch_*", "eeg.json"))):
        d = json.load(open(f))
        t = d["consistency"]["rho_gamma_zeta"]
        row.append(f"e{d['epoch']} {fmt(t['value'])}" + (f" [{fmt(t['ci'][0])}, {fmt(t['ci'][1])}]" if t["ci"] else ""))
    print(f"  {os.path.basename(run)}: " + "; ".join(row))
