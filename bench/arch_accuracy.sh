#!/usr/bin/env bash
# bench/arch_accuracy.sh — test accuracy of nnfmri and PyTorch on the same net, recipe, data and seeds.
#
#   bash bench/arch_accuracy.sh [--models "reference resnet20"] [--seeds "1 2 3"] [--epochs 15] [--threads 1] [--data DIR] [--out DIR]
#
# For every model and seed: `nnfmri train --model M --seed S --epochs E` (the default recipe: SGD lr
# 0.02, momentum 0.9, weight decay 5e-4, batch 64, 1 warm-up epoch then cosine per iteration, output
# layer zero-initialised, crop + flip augmentation, no imaging) and `bench/torch_reference.py --mode
# accuracy` (the same recipe rebuilt in PyTorch), the two side by side (one process each, at the same
# time). A model PyTorch's script does not rebuild is trained by nnfmri only. Prints one line per run
# and a table of mean and spread (min–max) of the final test accuracy per model and side; the logs
# stay in OUT (default build/arch_accuracy).
set -euo pipefail
cd "$(dirname "$0")/.."
models="reference resnet20" seeds="1 2 3" epochs=15 threads=1 data=../shared/datasets/cifar10-subset out=build/arch_accuracy
while [ $# -gt 0 ]; do
  case "$1" in
    --models) models="${2:?}"; shift ;;
    --seeds) seeds="${2:?}"; shift ;;
    --epochs) epochs="${2:?}"; shift ;;
    --threads) threads="${2:?}"; shift ;;
    --data) data="${2:?}"; shift ;;
    --out) out="${2:?}"; shift ;;
    *) echo "arch_accuracy: unknown argument $1 (expected --models, --seeds, --epochs, --threads, --data, --out)" >&2; exit 2 ;;
  esac
  shift
done
[ -f "$data/test_batch.bin" ] || { echo "arch_accuracy: $data has no test_batch.bin (expected CIFAR-10 binary batches)" >&2; exit 2; }
python="${PEER_PYTHON:-/usr/bin/python3}"
nnfmri="${NNFMRI_BIN:-build/nnfmri}"
[ -x "$nnfmri" ] || make --no-print-directory "$nnfmri"
mkdir -p "$out"
rm -f "$out/results.txt"
torch_models="$("$python" - <<'PY' 2>/dev/null || true
import sys; sys.path.insert(0, "bench")
import torch_reference; print(" ".join(sorted(torch_reference.NETS)))
PY
)"
echo "arch_accuracy: models [$models], seeds [$seeds], $epochs epochs, $threads thread(s) per side, load $(cut -d' ' -f1-3 /proc/loadavg)"
for m in $models; do
  for s in $seeds; do
    run="$out/$m-s$s"
    rm -rf "$run"
    "$nnfmri" train --data "cifar10:$data" --model "$m" --seed "$s" --epochs "$epochs" --threads "$threads" \
      --out "$run" >"$run.nnfmri.log" 2>&1 &
    pid=$!
    if [[ " $torch_models " == *" $m "* ]]; then
      "$python" bench/torch_reference.py --mode accuracy --model "$m" --seed "$s" --epochs "$epochs" \
        --threads "$threads" --data "$data" >"$run.torch.log" 2>&1 || echo "arch_accuracy: torch $m seed $s failed (see $run.torch.log)" >&2
    fi
    wait "$pid" || { echo "arch_accuracy: nnfmri $m seed $s failed (see $run.nnfmri.log)" >&2; continue; }
    acc="$(tail -n 1 "$run/metrics.jsonl" | grep -o '"test_acc":[-0-9.eE+]*' | cut -d: -f2)"
    tacc="$(sed -n 's/^torch_test_acc //p' "$run.torch.log" 2>/dev/null || true)"
    echo "$m seed $s: nnfmri $acc  pytorch ${tacc:-none}  (load $(cut -d' ' -f1 /proc/loadavg))" | tee -a "$out/results.txt"
  done
done
echo "model | side | seeds | mean | min–max"
awk '{ m=$1; n=$5; t=$7; if (n != "") { s[m" nnfmri"]+=n; c[m" nnfmri"]++; if (!(m" nnfmri" in lo) || n<lo[m" nnfmri"]) lo[m" nnfmri"]=n; if (n>hi[m" nnfmri"]) hi[m" nnfmri"]=n }
       if (t != "none") { s[m" pytorch"]+=t; c[m" pytorch"]++; if (!(m" pytorch" in lo) || t<lo[m" pytorch"]) lo[m" pytorch"]=t; if (t>hi[m" pytorch"]) hi[m" pytorch"]=t } }
     END { for (k in s) printf "%s | %d | %.4f | %.4f–%.4f\n", k, c[k], s[k]/c[k], lo[k], hi[k] }' "$out/results.txt" | sort
