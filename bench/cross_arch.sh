#!/usr/bin/env bash
# bench/cross_arch.sh — the method's cross-architecture predictions, measured (README, "Across architectures").
#
#   bash bench/cross_arch.sh OUT DATA LABEL CKPT [LABEL CKPT ...]
#
# For every checkpoint: a copy with every weight tensor's values shuffled (numpy permutation, seed 12,
# as bench/chain_edges.sh: the null), then `nnfmri analyze --stages grid,zeta $ANALYZE_FLAGS` of both
# (default imaging settings unless ANALYZE_FLAGS says otherwise), the trained one under
# /usr/bin/time -v (wall, user CPU and peak RSS: the imaging cost of one analysed epoch), and
# bench/cross_arch.py's table of every block. Needs python3 with numpy.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: bench/cross_arch.sh OUT DATA LABEL CKPT [LABEL CKPT ...]}; data=${2:?DATA}; shift 2
[ $# -ge 2 ] && [ $(( $# % 2 )) -eq 0 ] || { echo "cross_arch: expected LABEL CKPT pairs after OUT DATA" >&2; exit 2; }
py=${PEER_PYTHON:-/usr/bin/python3}
nnfmri="${NNFMRI_BIN:-build/nnfmri}"
mkdir -p "$out"
args=()
while [ $# -gt 0 ]; do
  label=$1 ckpt=$2; shift 2
  d="$out/$label"; mkdir -p "$d"
  "$nnfmri" export "$ckpt" --npz "$d/trained.npz" > /dev/null
  "$py" - "$d" <<'PY'
import shutil, sys
import numpy as np
d = sys.argv[1]
rng = np.random.default_rng(12)
w = dict(np.load(d + "/trained.npz"))
np.savez(d + "/shuffled.npz", **{k: rng.permutation(v.ravel()).reshape(v.shape).astype(v.dtype) for k, v in w.items()})
shutil.copy(d + "/trained.model.json", d + "/shuffled.model.json")
PY
  rm -f "$d/shuffled.ckpt"
  "$nnfmri" import "$d/shuffled.npz" --out "$d/shuffled.ckpt" > /dev/null
  rm -rf "$d/trained" "$d/shuffled"
  echo "cross_arch: $label: analyze (load $(cut -d' ' -f1 /proc/loadavg))"
  # shellcheck disable=SC2086
  /usr/bin/time -v "$nnfmri" analyze "$ckpt" --data "$data" --out "$d/trained" --stages grid,zeta ${ANALYZE_FLAGS:-} \
    > "$d/trained.log" 2> "$d/trained.time"
  grep -E "Elapsed|User time|Maximum resident" "$d/trained.time" | sed "s/^/  $label trained: /"
  # shellcheck disable=SC2086
  "$nnfmri" analyze "$d/shuffled.ckpt" --data "$data" --out "$d/shuffled" --stages grid,zeta ${ANALYZE_FLAGS:-} > "$d/shuffled.log"
  args+=("$label" "$d/trained" "$d/shuffled")
done
"$py" bench/cross_arch.py "${args[@]}"
