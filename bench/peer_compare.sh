#!/usr/bin/env bash
# bench/peer_compare.sh — nnfmri against PyTorch on the same net, recipe, data and thread count.
#
#   bash bench/peer_compare.sh [DATA_DIR] [--accuracy] [--epochs N] [--threads N] [--steps N] [--model reference|bn|resnet20] [--batch N] [--limit-train N]
#
# --model (reference) and --batch (64) choose the net and the batch of both; --limit-train N trains
# nnfmri's speed run on the first N train images only (a slow net's 2 epochs on the whole subset take
# long; PyTorch's speed run times --steps steps whatever the set's size).
# Speed (always): PyTorch times --steps training steps of `reference` at batch 64 after 10 warm-up
# steps (bench/torch_reference.py --mode speed); nnfmri trains `reference` for 2 epochs and its
# metrics.jsonl gives train_images_per_s per epoch: the LAST epoch's figure is used (the first
# includes warm-up: page faults of fresh buffers, thread start-up).  Both figures include building
# the batch (normalisation + random crop + flip).  Prints both, the ratio nnfmri/PyTorch, and
# appends one line to build/peer_compare.txt (with the load average: the figures are only
# comparable on an otherwise idle machine).
# --accuracy: both also train for --epochs (15) epochs on the train split; prints both final test
# accuracies and seconds per epoch (training + test evaluation).
# DATA_DIR holds the CIFAR-10 binary batches (data_batch_1..5.bin, test_batch.bin); default: the
# first of $NNFMRI_DATA/cifar-10-batches-bin, ../shared/datasets/cifar10-subset, data/cifar-10-batches-bin.
# Without PyTorch in /usr/bin/python3 (or $PEER_PYTHON) only nnfmri's figure is reported (exit 0).
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { sed -n '4p' "$0" | sed 's/^# *//'; exit 2; }
data="" accuracy=0 epochs=15 threads=2 steps=100 model=reference batch=64 limit_train=""
while [ $# -gt 0 ]; do
  case "$1" in
    --accuracy) accuracy=1 ;;
    --epochs) epochs="${2:?--epochs needs a value}"; shift ;;
    --threads) threads="${2:?--threads needs a value}"; shift ;;
    --steps) steps="${2:?--steps needs a value}"; shift ;;
    --model) model="${2:?--model needs a value}"; shift ;;
    --batch) batch="${2:?--batch needs a value}"; shift ;;
    --limit-train) limit_train="${2:?--limit-train needs a value}"; shift ;;
    -h|--help) usage ;;
    -*) echo "peer_compare: unknown flag $1" >&2; usage ;;
    *) data="$1" ;;
  esac
  shift
done
if [ -z "$data" ]; then
  for d in ${NNFMRI_DATA:+"$NNFMRI_DATA/cifar-10-batches-bin"} ../shared/datasets/cifar10-subset data/cifar-10-batches-bin; do
    if [ -f "$d/test_batch.bin" ]; then data="$d"; break; fi
  done
  if [ -z "$data" ]; then
    echo "peer_compare: error: CIFAR-10 binary batches not found (give DATA_DIR, or get them with 'make cifar10')" >&2
    exit 1
  fi
fi
if [ ! -f "$data/test_batch.bin" ]; then
  echo "peer_compare: error: DATA_DIR $data has no test_batch.bin (expected the CIFAR-10 binary batches)" >&2
  exit 1
fi
python="${PEER_PYTHON:-/usr/bin/python3}"
nnfmri="${NNFMRI_BIN:-build/nnfmri}"  # NNFMRI_BIN: another binary (an old build, side by side with the new)
[ -x "$nnfmri" ] || make --no-print-directory "$nnfmri"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/peer_compare.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

# the value of "key" in the line of metrics.jsonl for epoch N (N = last: the last line)
metric() {  # metric FILE KEY N|last
  local line
  if [ "$3" = last ]; then line="$(tail -n 1 "$1")"; else line="$(sed -n "$3p" "$1")"; fi
  echo "$line" | grep -o "\"$2\":[-0-9.eE+]*" | cut -d: -f2
}
# nnfmri train with the reference recipe; its epoch lines are shown, the whole log only on failure
train_nnfmri() {  # train_nnfmri OUT EPOCHS [FLAGS...]
  local out=$1 epochs=$2
  shift 2
  if ! "$nnfmri" train --data "cifar10:$data" --model "$model" --epochs "$epochs" --batch "$batch" --threads "$threads" \
      --out "$out" --lr 0.02 "$@" >"$out.log" 2>&1; then
    cat "$out.log" >&2
    echo "peer_compare: error: nnfmri train failed (log above)" >&2
    exit 1
  fi
  grep '^epoch' "$out.log" | sed 's/^/  nnfmri  /'
}

have_torch=1
"$python" -c 'import torch' 2>/dev/null || have_torch=0

echo "peer_compare: $model net, batch $batch, $threads threads, data $data (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
torch_ips=""
if [ "$have_torch" = 1 ]; then
  torch_ips="$("$python" bench/torch_reference.py --mode speed --steps "$steps" --warmup 10 --threads "$threads" --model "$model" --batch "$batch" \
    --data "$data" | sed -n 's/^torch_images_per_s //p')"
fi
train_nnfmri "$tmp/speed" 2 ${limit_train:+--limit-train "$limit_train"}
nnfmri_ips="$(printf %.1f "$(metric "$tmp/speed/metrics.jsonl" train_images_per_s last)")"
nnfmri_first="$(printf %.1f "$(metric "$tmp/speed/metrics.jsonl" train_images_per_s 1)")"
printf 'nnfmri   %8.1f images/s  (training, epoch 2 of 2; epoch 1 with warm-up: %.1f)\n' "$nnfmri_ips" "$nnfmri_first"
stamp="$(date -u +%Y-%m-%dT%H:%M:%SZ) bin=$nnfmri model=$model threads=$threads batch=$batch data=$data load=$(cut -d' ' -f1 /proc/loadavg)"
if [ "$have_torch" = 0 ]; then
  echo "peer_compare: $python has no torch: install python3-torch to compare (nnfmri's figure only)"
  echo "$stamp nnfmri_images_per_s=$nnfmri_ips torch_images_per_s=none" >>build/peer_compare.txt
  exit 0
fi
ratio="$(awk -v a="$nnfmri_ips" -v b="$torch_ips" 'BEGIN { printf "%.2f", a / b }')"
printf 'pytorch  %8.1f images/s  (%d training steps after 10 warm-up steps)\n' "$torch_ips" "$steps"
echo "ratio nnfmri/pytorch: $ratio"
echo "$stamp nnfmri_images_per_s=$nnfmri_ips torch_images_per_s=$torch_ips ratio=$ratio" >>build/peer_compare.txt

if [ "$accuracy" = 1 ]; then
  echo "peer_compare: accuracy, $epochs epochs each"
  "$python" bench/torch_reference.py --mode accuracy --epochs "$epochs" --threads "$threads" --data "$data" \
    --model "$model" --batch "$batch" \
    >"$tmp/torch_accuracy.log"
  grep '^epoch' "$tmp/torch_accuracy.log" | sed 's/^/  pytorch /'
  torch_acc="$(sed -n 's/^torch_test_acc //p' "$tmp/torch_accuracy.log")"
  torch_spe="$(sed -n 's/^torch_seconds_per_epoch //p' "$tmp/torch_accuracy.log")"
  train_nnfmri "$tmp/accuracy" "$epochs"
  nnfmri_acc="$(printf %.4f "$(metric "$tmp/accuracy/metrics.jsonl" test_acc last)")"
  nnfmri_spe="$(grep -o '"seconds":[-0-9.eE+]*' "$tmp/accuracy/metrics.jsonl" | cut -d: -f2 |
    awk '{ s += $1 } END { printf "%.2f", s / NR }')"
  printf 'nnfmri   test accuracy %.4f  %6.2f s/epoch\n' "$nnfmri_acc" "$nnfmri_spe"
  printf 'pytorch  test accuracy %.4f  %6.2f s/epoch\n' "$torch_acc" "$torch_spe"
  echo "$stamp epochs=$epochs nnfmri_test_acc=$nnfmri_acc torch_test_acc=$torch_acc" \
    "nnfmri_s_per_epoch=$nnfmri_spe torch_s_per_epoch=$torch_spe" >>build/peer_compare.txt
fi
