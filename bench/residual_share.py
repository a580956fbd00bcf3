#!/usr/bin/env python3
"""Share of the tractography flow into each residual unit that arrives through its shortcut.

Definition (README "Residual networks", shortcut share): a unit res<k> has two incoming pairs in tract.json,
the branch pair (kind "branch", from the branch's last block) and the shortcut pair (kind
"shortcut", from the block before the unit).  Both end on the same receiving units, so their
connection strengths S = sum_{A,B} C_{A->B} compare directly:

    shortcut share of res<k> = S_shortcut / (S_shortcut + S_branch).

Usage: residual_share.py RUN_DIR [RUN_DIR ...]  -- one row per analysed epoch of each run.
Reads analysis/epoch_*/tract.json only (no torch, no numpy)."""
import glob
import json
import os
import re
import sys


def shares(tract):
    into = {}
    for pair in tract["pairs"].values():
        kind = pair.get("kind")
        if kind in ("branch", "shortcut"):
            into.setdefault(pair["to"], {})[kind] = pair["connection_strength"]
    out = {}
    for unit, s in into.items():
        if "branch" in s and "shortcut" in s and s["branch"] + s["shortcut"] > 0:
            out[unit] = s["shortcut"] / (s["shortcut"] + s["branch"])
    return out


def main(runs):
    if not runs:
        sys.exit("usage: residual_share.py RUN_DIR [RUN_DIR ...]")
    units = None
    rows = []
    for run in runs:
        paths = glob.glob(os.path.join(run, "analysis", "epoch_*", "tract.json"))
        if not paths:
            sys.exit(f"{run}: no analysis/epoch_*/tract.json")
        for path in sorted(paths, key=lambda p: int(re.search(r"epoch_(\d+)", p).group(1))):
            epoch = int(re.search(r"epoch_(\d+)", path).group(1))
            with open(path) as f:
                s = shares(json.load(f))
            units = units or sorted(s, key=lambda u: int(re.sub(r"\D", "", u) or 0))
            rows.append((os.path.basename(os.path.normpath(run)), epoch, s))
    print("| run | epoch | " + " | ".join(units) + " | mean |")
    print("|---|---|" + "---|" * (len(units) + 1))
    for run, epoch, s in rows:
        values = [s.get(u) for u in units]
        known = [v for v in values if v is not None]
        mean = sum(known) / len(known) if known else float("nan")
        print(f"| {run} | {epoch} | " + " | ".join("—" if v is None else f"{v:.3f}" for v in values) + f" | {mean:.3f} |")


if __name__ == "__main__":
    main(sys.argv[1:])
