#!/bin/bash
# bench/critical_study.sh — the measurements behind README's "Critical regions", "Two intervals" and
# "The default recipe" (issue 12), and bench/README.md's dated tables.
#
#   bash bench/critical_study.sh recipe|critical|intervals|cifar [OUT_DIR] [SEEDS]
#
# One thread, nice 10, one process at a time (the machine is shared).  Results go to OUT_DIR
# (build/critical_study), one log per part; the lines starting with RESULT / ORACLE / MARGIN / RECIPE
# are the figures bench/README.md quotes.  Runs go to runs/study/ and are reused when their
# model.ckpt exists.
#   recipe     test accuracy after training `reference` with the old start (--output-init he --warmup 0)
#              and the new defaults, on planted:S (10 epochs), the CIFAR-10 subset (15 epochs) and
#              Fashion-MNIST (2 epochs), seeds S in SEEDS (data seed = training seed for planted)
#   critical   `reference` trained on five planted conditions (CONDITIONS, a space-separated list of
#              planted options such as ",cells=10 ,moving", chooses fewer; data seeds SEEDS; README's planted recipe:
#              10 epochs --no-augment --lr 0.002 --schedule constant, with the start it was measured with
#              before issue 12: --output-init he --warmup 0), then every critical-region rule
#              with both intervals on conv1 (8x8x4, zero ablation, 256 images; build/study/critical_study)
#   backgrounds the same as `critical` on real-image backgrounds (planted:S,...,background=CIFAR_DIR:
#              CIFAR-10 crops instead of noise): 5 cells and 10 cells, data seeds SEEDS
#   intervals  coverage of both interval kinds against exact Shapley values on 16-region layers of a
#              CIFAR-10 `reference` (build/study/interval_study)
#   cifar      `analyze --stages zeta` of the CIFAR-10 nets of `recipe` (new defaults): critical share per
#              layer under the new and the old rule, ζ and robust-score ranges
set -euo pipefail
cd "$(dirname "$0")/.."
PART=${1:?usage: critical_study.sh recipe|critical|backgrounds|intervals|cifar [OUT_DIR] [SEEDS]}
OUT=${2:-build/critical_study}
SEEDS=${3:-1 2 3}
mkdir -p "$OUT" runs/study
export OMP_WAIT_POLICY=passive THREADS=1
CIFAR_DIR=${CIFAR_DIR:-/work/shared/datasets/cifar10-subset}
CIFAR=cifar10:$CIFAR_DIR
APP=build/nnfmri
N="nice -n 10"
make -s build/nnfmri build/libnnfmri.a
bash bench/study/build.sh

train() {  # train NAME ARGS...: trains runs/study/NAME unless its model.ckpt exists; prints the last metrics line
  local name=$1; shift
  [ -f runs/study/$name/model.ckpt ] ||
    $N $APP train --threads 1 --overwrite --out runs/study/$name "$@" > runs/study/$name.log 2>&1
  tail -1 runs/study/$name/metrics.jsonl
}
accuracy() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])["test_acc"])' "$1"; }

case $PART in
recipe)
  # One data set at a time (all seeds), so that a stopped study leaves whole data sets behind.
  for d in "planted 10" "cifar 15" "fmnist 2"; do
    set -- $d
    for s in $SEEDS; do
      case $1 in planted) data=planted:$s ;; cifar) data=$CIFAR ;; fmnist) data=fashion-mnist ;; esac
      for r in before after; do
        old=(); [ $r = before ] && old=(--output-init he --warmup 0)
        echo "RECIPE $1 $r seed $s epochs $2 test_acc $(accuracy "$(train ${r}_$1_$s --data $data --seed $s --epochs $2 "${old[@]}")")"
      done
    done
  done | tee -a "$OUT/recipe.log"
  ;;
critical)
  for s in $SEEDS; do
    for c in ${CONDITIONS:-"" ",cells=10" ",moving" ",cells=10,unequal=0.5" ",cells=10,distractor"}; do
      name=planted_$(echo "$s$c" | tr ',=' '_-')
      train $name --data "planted:$s$c" --seed 1 --epochs 10 --no-augment --lr 0.002 --schedule constant \
        --output-init he --warmup 0 > /dev/null
      $N build/study/critical_study "$s$c" zero runs/study/$name/model.ckpt 8x8x4 256
    done
  done | tee -a "$OUT/critical.log"
  ;;
backgrounds)
  for s in $SEEDS; do
    for c in "" ",cells=10"; do
      name=planted_real_$(echo "$s$c" | tr ',=' '_-')
      train $name --data "planted:$s$c,background=$CIFAR_DIR" --seed 1 --epochs 10 --no-augment --lr 0.002 \
        --schedule constant --output-init he --warmup 0 > /dev/null
      $N build/study/critical_study "$s$c,background=$CIFAR_DIR" zero runs/study/$name/model.ckpt 8x8x4 256
    done
  done | tee -a "$OUT/backgrounds.log"
  ;;
intervals)
  train after_cifar_1 --data $CIFAR --seed 1 --epochs 15 > /dev/null
  for block in conv3; do  # 16 regions at 4x4x1; ~18 min on one loaded thread
    $N build/study/interval_study runs/study/after_cifar_1/model.ckpt $CIFAR $block 20 64 16 1000
  done | tee -a "$OUT/intervals.log"
  ;;
cifar)
  for s in $SEEDS; do
    train after_cifar_$s --data $CIFAR --seed $s --epochs 15 > /dev/null
    [ -f runs/study/after_cifar_$s/analysis_final/zeta.json ] ||
      $N $APP analyze runs/study/after_cifar_$s/model.ckpt --data $CIFAR --threads 1 --stages zeta \
        --out runs/study/after_cifar_$s/analysis_final > /dev/null
    python3 - runs/study/after_cifar_$s/analysis_final/zeta.json <<'EOF'
import json, sys
layers = json.load(open(sys.argv[1]))["layers"]
for name, l in layers.items():
    z = [r["zeta_score"] for r in l["regions"].values()]
    r = [r["robust_score"] for r in l["regions"].values()]
    print(f"CIFAR {sys.argv[1]} {name}: regions {l['region_count']} critical share {l['critical_rule']} "
          f"{l['critical_share']:.3f} zeta {l['critical_share_zeta']:.3f}; zeta [{min(z):.2f}, {max(z):.2f}] "
          f"robust [{min(r):.1f}, {max(r):.1f}] stopped_by {l['stopped_by']}")
EOF
  done | tee -a "$OUT/cifar.log"
  ;;
*)
  echo "critical_study.sh: unknown part '$PART' (expected recipe, critical, backgrounds, intervals or cifar)" >&2
  exit 2
  ;;
esac
