#!/usr/bin/env bash
# bench/chain_edges.sh CKPT DATA OUT — the tractography border study (issue 12; README "Tractography").
# Images CKPT and a copy of it whose every weight tensor is shuffled (the values of each tensor
# permuted by a fixed seed: same magnitudes, no learned structure; needs /usr/bin/python3 with numpy),
# with `analyze --stages tract` (grid runs too), then prints bench/chain_edges.py for both.
set -euo pipefail
cd "$(dirname "$0")/.."
ckpt=${1:?usage: bench/chain_edges.sh CKPT DATA OUT}; data=${2:?DATA}; out=${3:?OUT}
py=${PEER_PYTHON:-/usr/bin/python3}
mkdir -p "$out"
build/nnfmri export "$ckpt" --npz "$out/trained.npz" > /dev/null
"$py" - "$out" <<'PY'
import json, shutil, sys
import numpy as np
out = sys.argv[1]
rng = np.random.default_rng(12)
d = dict(np.load(out + "/trained.npz"))
shuffled = {k: rng.permutation(v.ravel()).reshape(v.shape).astype(np.float32) for k, v in d.items()}
np.savez(out + "/shuffled.npz", **shuffled)
shutil.copy(out + "/trained.model.json", out + "/shuffled.model.json")
PY
build/nnfmri import "$out/shuffled.npz" --out "$out/shuffled.ckpt" > /dev/null
for net in trained shuffled; do
  src=$ckpt; [ "$net" = shuffled ] && src=$out/shuffled.ckpt
  build/nnfmri analyze "$src" --data "$data" --out "$out/$net" --stages tract > /dev/null
done
for k in 5 20; do python3 bench/chain_edges.py --k $k "$out/trained" "$out/shuffled"; done
