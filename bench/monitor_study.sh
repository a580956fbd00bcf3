#!/usr/bin/env bash
# bench/monitor_study.sh [WORK] — the monitor study of README "Monitoring" (figures in bench/README.md).
# Environment: MODEL (reference) the preset trained; SEED (1) the seed of `corrupt`; ZETA_BUDGET (60) the
# ζ budget of step 2, 0 for no ζ run (the profile then has no weights and the lines no spatial_zeta);
# SPATIAL_BANK (1000) the profile's `--spatial-bank` (0: no spatial_knn column).
#
# 1. trains MODEL on the shared CIFAR-10 subset for 15 epochs once (WORK/ref, reused when present),
# 2. images its last epoch once (`nnfmri analyze --zeta-budget ZETA_BUDGET`: WORK/zeta/zeta.json, reused when
#    present) and fits the profile on its 5,170 training images with those ζ weights (`nnfmri profile --zeta`,
#    timed, peak RSS): the JSON lines then carry spatial_zeta beside spatial,
# 3. runs `nnfmri monitor` on the 1,017 clean test images and on each corruption (noise, blur, contrast,
#    occlusion) at severities 1, 3 and 5 (`nnfmri corrupt --seed SEED`), 2 threads, window 100,
# 4. runs `nnfmri monitor` once more on a longer stream, the subset's 5,170 training images followed by
#    its 1,017 test images (6,187 images, one CIFAR-10 file in WORK/stream): throughput once the first
#    batch's start-up (page faults of fresh buffers, thread start) is spread over 25 batches, not 4,
# 5. prints, from the JSON lines (bench/monitor_metrics.py): AUROC of every detector for clean test vs
#    corrupted test images, window alarms (power; false alarms on the clean windows), occlusion
#    localisation, throughput (the clean test, the 12 corrupted sets, the long stream) and peak RSS.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
nnfmri="$here/build/nnfmri"
data="${NNFMRI_SUBSET:-$here/../shared/datasets/cifar10-subset}"
work=${1:-/tmp/nnfmri_monitor_study}
model=${MODEL:-reference}
seed=${SEED:-1}
budget=${ZETA_BUDGET:-60}
mkdir -p "$work"
cd "$work"
timed() {  # timed NAME ARGS...: runs nnfmri, keeps its stdout and /usr/bin/time's report in NAME.{out,time}
  local name=$1
  shift
  /usr/bin/time -v "$nnfmri" "$@" > "$name.out" 2> "$name.time"
}
[ -f ref/model.ckpt ] || "$nnfmri" train --data "cifar10:$data" --model "$model" --epochs 15 --threads 2 --out ref --overwrite
zeta=()
if [ "$budget" != 0 ]; then
  [ -f zeta/zeta.json ] || "$nnfmri" analyze ref/model.ckpt --data "cifar10:$data" --threads 2 --stages grid,zeta --zeta-budget "$budget" --out zeta > zeta.out
  zeta=(--zeta zeta/zeta.json)
fi
timed fit profile ref/model.ckpt --data "cifar10:$data" --threads 2 --spatial-bank "${SPATIAL_BANK:-1000}" "${zeta[@]}" --out ref.profile
timed clean monitor ref/model.ckpt --profile ref.profile --input "cifar10:$data" --threads 2 --window 100 --out clean
for kind in noise blur contrast occlusion; do
  for severity in 1 3 5; do
    "$nnfmri" corrupt --data "cifar10:$data" --kind $kind --severity $severity --seed "$seed" --out "data_${kind}_$severity" > /dev/null
    timed "${kind}_$severity" monitor ref/model.ckpt --profile ref.profile --input "cifar10:data_${kind}_$severity" \
      --threads 2 --window 100 --out "${kind}_$severity"
  done
done
mkdir -p stream
cat "$data"/data_batch_[1-5].bin "$data/test_batch.bin" > stream/test_batch.bin
cp "$data/batches.meta.txt" stream/
timed stream monitor ref/model.ckpt --profile ref.profile --input "cifar10:stream" --threads 2 --window 100 --out stream_out
/usr/bin/python3 "$here/bench/monitor_metrics.py" "$work"
