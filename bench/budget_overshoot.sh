#!/bin/sh
# bench/budget_overshoot.sh CKPT [BINARY...] — how far each ζ block runs past its --zeta-budget.
# For every binary (default build/nnfmri) and budget 0.5, 1.5 and 5 s it runs the zeta stage of
# `analyze` on CKPT with the default settings (256 images) and prints, for the first two blocks
# that walk their own game (pool1 and pool2 on `reference`; a block with `same_game_as` in zeta.json,
# conv1 and conv2 there, plays the next block's game and its `seconds` hold no
# budgeted steps, only its setup and Taylor terms), the block's budget B (its own plus the time later blocks left: `budget_seconds` in zeta.json), the
# seconds it took, the overshoot (seconds − B), its setup and Taylor pass (the dense forwards of the
# sample and one backward: outside the budgeted steps), the overshoot of the steps (seconds −
# max(B, setup + Taylor)), the images covered and what stopped it.  Results: bench/README.md,
# "ζ budget overshoot".
set -eu
ckpt=$1; shift
[ $# -gt 0 ] || set -- build/nnfmri
data=${DATA:-cifar10:../shared/datasets/cifar10-subset}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
printf '%-24s %6s %-6s %7s %8s %9s %8s %10s %6s %s\n' binary budget block B seconds overshoot setup+T past_steps images stopped_by
for binary in "$@"; do
  for budget in 0.5 1.5 5; do
    rm -rf "$out/z"
    "$binary" analyze "$ckpt" --data "$data" --out "$out/z" --stages zeta --zeta-budget "$budget" >/dev/null
    python3 - "$out/z/zeta.json" "$binary" "$budget" <<'PY'
import json, sys
z = json.load(open(sys.argv[1]))
for name in [n for n, L in z["layers"].items() if "same_game_as" not in L][:2]:
    L = z["layers"][name]
    B, t = L["budget_seconds"], L["seconds"]
    fixed = L["timing"]["setup"] + L["timing"]["taylor"]
    print("%-24s %6s %-6s %7.2f %8.2f %9.2f %8.2f %10.2f %6d %s" % (sys.argv[2][-24:], sys.argv[3], name, B, t, t - B, fixed,
          t - max(B, fixed), L["eval_samples"], L["stopped_by"]))
PY
  done
done
