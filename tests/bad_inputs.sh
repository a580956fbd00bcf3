#!/usr/bin/env bash
# tests/bad_inputs.sh [NNFMRI] — the bad-input table of README "Robustness", run for real: each hostile
# file, flag or spec must give exit status 2 and ONE error line (nothing half-written), and each
# oversized-but-valid run must be reported (exit 0).  The error line must hold the words
# tests/bad_inputs.expected gives for the case (what it names and what was expected).  Prints the table
# as Markdown; exit status 1 when any case behaves otherwise.  Everything is written under a fresh
# temporary directory.
set -uo pipefail
nnfmri=$(realpath "${1:-build/nnfmri}")
expected_words=$(realpath "$(dirname "$0")/bad_inputs.expected")
sanitized=0
grep -qa __asan_init "$nnfmri" && sanitized=1
# A sanitized binary runs with address-space randomisation off, as make asan and make fuzz run theirs
# (Makefile, NO_ASLR): clang 14's ASan maps its shadow and allocator at fixed addresses, and on a kernel
# that randomises mmap with more bits it can start where they lie and crash with no fault of nnfmri's
# (llvm-project#57653, google/sanitizers#1614).  The whole script re-runs itself under setarch -R.
if [ "$sanitized" = 1 ] && [ -z "${NNFMRI_NO_ASLR:-}" ] && setarch "$(uname -m)" -R true 2> /dev/null; then
  NNFMRI_NO_ASLR=1 exec setarch "$(uname -m)" -R bash "$0" "$@"
fi
# memory_limit: the cases below marked (ulimit -v 600000) run under that limit.  A binary built with
# AddressSanitizer (make asan's build/san/nnfmri) cannot start under it (its shadow memory reserves
# terabytes of address space: "ReserveShadowMemoryRange failed", exit 134), so there the limit is
# ASan's own: no single allocation above 100 MB (one beyond it aborts with a report, exit 134).
memory_limit() {
  if [ "$sanitized" = 1 ]; then
    export ASAN_OPTIONS="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}max_allocation_size_mb=100:allocator_may_return_null=0"
  else
    ulimit -v 600000
  fi
}
work=$(mktemp -d /tmp/nnfmri_bad_inputs.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"
failed=0
echo "| input | exit | message (stderr, one line) |"
echo "|---|---|---|"

# case DESCRIPTION EXPECTED_EXIT ARGS... — runs nnfmri ARGS and adds a table row.
# Through a sanitized binary, a case whose run the sanitizer ended (a report on stderr, exit 1) or
# that died of SIGSEGV before the sanitizer could report (exit 139) runs once more: if that second run
# behaves as expected, the first run's stderr is printed as a warning and the case passes (the
# sanitizer's runtime itself can fail to start or to map its memory on a busy or differently
# configured machine; a fault of nnfmri's in these one-error-and-exit paths repeats).
case_() {
  local what=$1 expected=$2
  shift 2
  timeout 120 "$nnfmri" "$@" > out.txt 2> err.txt  # a hang (e.g. a second server that binds) fails, not waits
  local rc=$? lines
  if [ "$sanitized" = 1 ] && [ "$rc" -ne "$expected" ] && { grep -q "Sanitizer" err.txt || [ "$rc" -eq 139 ]; }; then
    cp err.txt err_first.txt
    local first_rc=$rc
    timeout 120 "$nnfmri" "$@" > out.txt 2> err.txt
    rc=$?
    if [ "$rc" -eq "$expected" ] && ! grep -q "Sanitizer" err.txt; then
      echo "bad_inputs: warning: '$what': its first run ended in a sanitizer report or SIGSEGV (exit $first_rc), not repeated on the second:" >&2
      head -n 60 err_first.txt | sed 's/^/  | /' >&2
    fi
  fi
  lines=$(wc -l < err.txt)
  local shown
  shown=$(head -c 300 err.txt | head -1)
  [ "$expected" -eq 0 ] && shown="(report written) $(grep -m1 'not drawn' out.txt | head -c 200)"
  echo "| $what | $rc | \`${shown//|/\\|}\` |"
  # base/error.h: a line is at most kMaxErrorLine (4,096) bytes after "nnfmri: error: " (15 bytes) and its newline
  if [ "$expected" -ne 0 ] && [ "$(head -n 1 err.txt | wc -c)" -gt 4112 ]; then
    echo "bad_inputs: '$what': its error line is $(head -n 1 err.txt | wc -c) bytes, expected at most 4112" >&2
    failed=1
  fi
  if [ "$rc" -ne "$expected" ] || { [ "$expected" -ne 0 ] && [ "$lines" -ne 1 ]; }; then
    echo "bad_inputs: '$what': exit $rc (expected $expected), $lines stderr lines:" >&2
    head -n 60 err.txt | sed 's/^/  | /' >&2  # a sanitizer's report, a stack: what CI's log must show
    failed=1
  fi
  if [ "$expected" -ne 0 ]; then
    local words
    words=$(W="$what" awk -F'\t' '!/^#/ && $1 == ENVIRON["W"] { print $2; exit }' "$expected_words")
    if [ -z "$words" ]; then
      echo "bad_inputs: '$what': no line in $expected_words (the words its error must say)" >&2
      failed=1
    elif ! grep -qF -- "$words" err.txt; then
      echo "bad_inputs: '$what': the error does not say '$words'" >&2
      failed=1
    fi
  fi
  # a report that must be written (exit 0) must have written its page
  if [ "$expected" -eq 0 ] && [ "$1" = report ] && [ ! -s "${@: -1}/report.html" ]; then
    echo "bad_inputs: '$what': exit 0 but no ${*: -1}/report.html" >&2
    failed=1
  fi
}
# need FILE...: the fixtures a generator was to make exist and are not empty (else the cases that read
# them would pass on "no such file")
need() {
  local f
  for f; do [ -s "$f" ] || { echo "bad_inputs: the fixture $f was not made" >&2; failed=1; }; done
}

# a small trained run (for checkpoints to corrupt and a run directory to report)
"$nnfmri" train --data planted --model "conv3x3:4 relu maxpool2 linear:10" --epochs 1 --limit-train 64 --limit-test 64 \
  --threads 2 --out run --analyze-every 1 --eval-samples 32 --zeta-samples 16 --zeta-budget 0.2 --tract-samples 16 > /dev/null 2>&1 ||
  { echo "bad_inputs: the small training run failed" >&2; exit 1; }

# framed_with SOURCE OUT PYTHON — a copy of the framed file SOURCE (a checkpoint or a profile: magic, header
# length, JSON header h listing its "tensors", the float32 tensors, CRC-32) with h or the tensors t[name]
# (array('f')) changed by PYTHON, CRC fixed: files that pass the checksum and that no nnfmri command writes
framed_with() {
  /usr/bin/python3 - "$1" "$2" "$3" <<'PY'
import json, struct, sys, zlib
from array import array
source, out, change = sys.argv[1], sys.argv[2], sys.argv[3]
b = open(source, "rb").read()
n = struct.unpack("<Q", b[12:20])[0]
h = json.loads(b[20:20 + n])
t, at = {}, 20 + n
for tensor in h["tensors"]:
    count = 1
    for side in tensor["shape"]:
        count *= side
    t[tensor["name"]] = array("f", b[at:at + 4 * count])
    at += 4 * count
assert at == len(b) - 4, f"{source}: the tensors do not end at the CRC"
exec(change)
header = json.dumps(h).encode()
body = b[:12] + struct.pack("<Q", len(header)) + header + b"".join(t[x["name"]].tobytes() for x in h["tensors"])
open(out, "wb").write(body + struct.pack("<I", zlib.crc32(body) & 0xFFFFFFFF))
PY
  need "$2"
}
with_header() { framed_with run/model.ckpt "$1" "$2"; }  # with_header FILE PYTHON: run/model.ckpt changed

run_with() {  # run_with DIR FILE TEXT: a copy of the run directory with one file replaced
  rm -rf "$1" && cp -r run "$1" && printf '%s' "$3" > "$1/$2"
}

run_with r1 analysis/epoch_001/zeta.json '{"layers":{"a":{"regions":{"grid_50000_1_1":{"zeta_score":1}}}}}'
case_ "report: zeta.json region key \`grid_50000_1_1\`" 2 report r1
run_with r2 analysis/epoch_001/zeta.json '{"layers":{"a":{"regions":{"grid_1300_1300_1300":{"zeta_score":1}}}}}'
case_ "report: zeta.json region key \`grid_1300_1300_1300\`" 2 report r2
run_with r3 analysis/epoch_001/grid.json '{"layers":{"a":{"shape":[50000,1,1],"grid":[50000,1,1],"coverage":1,"regions":{}}}}'
case_ "report: grid.json \`grid: [50000,1,1]\`" 2 report r3
rm -rf r4 && cp -r run r4 && /usr/bin/python3 -c "print('['*80000 + ']'*80000)" > r4/config.json
need r4/config.json
case_ "report: config.json nested 80,000 deep" 2 report r4
rm -rf r5 && cp -r run r5 && sed -i 's/"epochs": 1,/"epochs": 1e999,/' r5/config.json
case_ "report: \`1e999\` in config.json" 2 report r5
rm -rf r6 && cp -r run r6 && sed -i 's/"train_loss":[^,]*/"train_loss":-1e999/' r6/metrics.jsonl
case_ "report: \`-1e999\` in metrics.jsonl" 2 report r6
rm -rf r7 && cp -r run r7 && rm r7/analysis/epoch_001/grid.json && mkdir r7/analysis/epoch_001/grid.json
case_ "report: grid.json is a directory" 2 report r7
run_with r10 analysis/epoch_001/zeta.json '{"layers":{"a":{"grid":[100,100,1],"regions":{}}}}'
case_ "report: zeta.json layer \`grid: [100,100,1]\`" 2 report r10
rm -rf r11 && cp -r run r11 && sed -i 's/"test_acc":[^,}]*/"test_acc":7.5/' r11/metrics.jsonl
case_ "report: \`test_acc: 7.5\` in metrics.jsonl" 2 report r11
# compare (README "Comparing runs"): a run it cannot read, an epoch a run lacks, --out inside a run or
# over other files, too many runs; nothing is written
case_ "compare: a run with a bad zeta.json" 2 compare run r1 --out cmp
case_ "compare --epoch 9 (the runs have 1)" 2 compare run run --epoch 9 --out cmp
case_ "compare --out inside a run" 2 compare run run --out run/cmp
case_ "compare --out holding other files" 2 compare run run --out r4
case_ "compare: six runs" 2 compare run run run run run run --out cmp
[ -e cmp ] || [ -e run/cmp ] && { echo "bad_inputs: a refused compare wrote its --out" >&2; failed=1; }
# json_with SOURCE DIR FILE PYTHON: a copy DIR of the folder SOURCE whose JSON file FILE is changed by
# PYTHON (d the file's object)
json_with() {
  rm -rf "$2" && cp -r "$1" "$2" && /usr/bin/python3 -c "
import json; p = '$2/$3'; d = json.load(open(p))
$4
json.dump(d, open(p, 'w'))"
}
# zeta_with DIR PYTHON_ON_z: a copy of the run whose epoch-1 zeta.json is changed (z its layers' conv1)
zeta_with() { json_with run "$1" analysis/epoch_001/zeta.json "z = d['layers']['conv1']; $2"; }
zeta_with r12 "z['critical_regions'] = []; z['critical_share'] = 0.5"
case_ "report: zeta.json \`critical_share\` not the listed regions' share" 2 report r12
zeta_with r13 "z['regions']['grid_1_1_1']['significance'] = False; z['critical_regions'] = ['grid_1_1_1']; z['critical_share'] = 1 / 256"
case_ "report: zeta.json critical region with \`significance: false\`" 2 report r13
json_with run r14 analysis/epoch_001/grid.json "d['layers']['conv1']['regions']['grid_1_1_1']['variance'] = -0.5"
case_ "report: grid.json region \`variance: -0.5\`" 2 report r14
json_with run r15 analysis/epoch_001/grid.json "d['checkpoint'] = {'path': 'other.ckpt', 'sha256': 'b' * 64}"
case_ "report: a run epoch's grid.json naming another checkpoint than the run's" 2 report r15
# errors_with DIR PYTHON_ON_e: a copy of ef0 (analyze --errors of the run's checkpoint) whose zeta.json is
# changed (d the file, e its errors)
"$nnfmri" analyze run/model.ckpt --data planted --errors --stages zeta --eval-samples 32 --zeta-samples 16 \
  --zeta-budget 0.2 --threads 2 --out ef0 > /dev/null 2>&1 || echo "bad_inputs: analyze --errors failed" >&2
need ef0/zeta.json
errors_with() { json_with ef0 "$1" zeta.json "e = d['errors']; $2"; }
errors_with ef2 "d['errors'] = 'x'"
case_ "report: zeta.json \`errors: \"x\"\`" 2 report ef2
errors_with ef1 "e['gallery'][0]['probability_true'] = 5"
case_ "report: zeta.json gallery \`probability_true: 5\`" 2 report ef1
errors_with ef3 "g = e['gallery'][0]; g['label'] = (g['label'] + 1) % 10"
case_ "report: zeta.json gallery image labelled against its slot" 2 report ef3
case_ "info /dev/zero" 2 info /dev/zero
case_ "info DIRECTORY" 2 info run
printf '\xff\xff\xff\xff\x00\x00\x00\x00{}' > huge_header.safetensors
case_ "import: safetensors header length 4 GiB in a 10-byte file" 2 import huge_header.safetensors --out i1.ckpt --model reference
printf 'this is not a zip file at all, just text\n' > notzip.npz
case_ "import: a text file named .npz (neither a zip nor safetensors)" 2 import notzip.npz --out i8.ckpt --model reference
printf 'PK\x05\x06\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0' > nothing.npz  # numpy.savez of no arrays
case_ "import: an .npz of no arrays (numpy.savez())" 2 import nothing.npz --out i9.ckpt --model reference
"$nnfmri" export run/model.ckpt --safetensors run.safetensors > /dev/null 2>&1
head -c 300 run.safetensors > cut.safetensors
need run.safetensors cut.safetensors
case_ "import: a safetensors file cut inside its header" 2 import cut.safetensors --out i2.ckpt
case_ "import: exported tensors into another spec" 2 import run.safetensors --out i3.ckpt --model "conv3x3:2 relu maxpool2 linear:10"
case_ "import --model of 64.5 M values from a file of 10,362" 2 import run.safetensors --out i5.ckpt --model "linear:21000 linear:10"
case_ "import --model wider than the file at its first layer (the net 16 times the file)" 2 import run.safetensors --out hA1.ckpt --model "conv3x3:64 relu maxpool2 linear:10"
/usr/bin/python3 - <<'PY'
import json, struct
b = open("run.safetensors", "rb").read()
n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n])
for i in range(20000): h["x%d" % i] = {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]}
t = json.dumps(h, separators=(",", ":")).encode()
t += b" " * (-len(t) % 8)
open("many_keys.safetensors", "wb").write(struct.pack("<Q", len(t)) + t + b[8 + n:])
PY
need many_keys.safetensors
case_ "import: a safetensors header of 20,000 tensors (keys of one object)" 2 import many_keys.safetensors --out i4.ckpt --ignore-extra
/usr/bin/python3 - <<'PY'
import json, struct, numpy as np
b = open("run.safetensors", "rb").read()
n = struct.unpack("<Q", b[:8])[0]
h = {k: v for k, v in json.loads(b[8:8 + n]).items() if k != "__metadata__"}
arrays = {k: np.frombuffer(b[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]], "<f4").reshape(v["shape"]) for k, v in h.items()}
np.savez("ih_f64.npz", **{k: a.astype(np.float64) for k, a in arrays.items()})  # numpy's default dtype
PY
need ih_f64.npz
case_ "import: an .npz of float64 arrays (numpy's default dtype)" 2 import ih_f64.npz --out i10.ckpt --model "conv3x3:4 relu maxpool2 linear:10"
mkdir -p imgs/a imgs/b && printf 'not a png' > imgs/a/0.png && cp imgs/a/0.png imgs/b/0.png
case_ "train --data images:DIR, a PNG that is not one" 2 train --data images:imgs --epochs 1 --threads 2 --out t10
mkdir -p utf8/b "utf8/$(printf 'caf\xe9')"
case_ "train --data images:DIR, a class folder named in Latin-1 (not UTF-8)" 2 train --data images:utf8 --epochs 1 --threads 2 --out t30
[ -e t30 ] && { echo "bad_inputs: a class name that is not UTF-8 left a run directory" >&2; failed=1; }
mkdir -p loopd/a && ln -s selfloop loopd/selfloop
case_ "train --data images:DIR, a symbolic link that loops" 2 train --data images:loopd --epochs 1 --threads 2 --out t31
/usr/bin/python3 - <<'PY'
import os, struct, zlib
chunk = lambda kind, body: struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
for name, side in (("0", 4), ("1", 20000)):  # an RGB PNG whose IHDR claims side × side pixels
    os.makedirs("ihbig/a", exist_ok=True)
    open("ihbig/a/%s.png" % name, "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0))
                                            + chunk(b"IDAT", zlib.compress(b"\0" * 13 * 4)) + chunk(b"IEND", b""))
PY
need ihbig/a/1.png
case_ "train --data images:DIR, a PNG whose IHDR says 20000x20000 pixels" 2 train --data images:ihbig --split 0.5 --resize 4x4 --epochs 1 --threads 2 --out t32
# an output folder inside the images:DIR it reads (written there it would be a class folder without images,
# and the data would no longer load)
mkdir -p goodimg/a goodimg/b && for c in a b; do cp ihbig/a/0.png goodimg/$c/0.png && cp ihbig/a/0.png goodimg/$c/1.png; done
case_ "train --out inside the images:DIR --data reads" 2 train --data images:goodimg --split 0.5 --model "conv3x3:4 relu maxpool2 linear:2" --epochs 1 --threads 2 --out goodimg/run
[ -e goodimg/run ] && { echo "bad_inputs: train wrote a run into its images:DIR" >&2; failed=1; }
# a PNG cut inside its pixel data, and one with an unknown critical chunk whose type byte 0x81 stb_image
# quotes: "cannot be decoded (stb_image: ...)" in valid UTF-8 (the bare reason was the message: "outofdata", a raw 0x81)
mkdir -p cutpng/a chunkpng/a && cp ihbig/a/0.png cutpng/a/0.png && cp ihbig/a/0.png chunkpng/a/0.png
head -c -20 ihbig/a/0.png > cutpng/a/1.png
/usr/bin/python3 - <<'PY'
import struct, zlib
b = open("ihbig/a/0.png", "rb").read()
open("chunkpng/a/1.png", "wb").write(b[:33] + struct.pack(">I", 0) + b"\x81\x00\xfeA" + struct.pack(">I", zlib.crc32(b"\x81\x00\xfeA")) + b[33:])
PY
need chunkpng/a/1.png
case_ "train --data images:DIR, a PNG cut inside its pixel data" 2 train --data images:cutpng --split 0.5 --epochs 1 --threads 2 --out t34
case_ "train --data images:DIR, a PNG with an unknown critical chunk (type byte 0x81)" 2 train --data images:chunkpng --split 0.5 --epochs 1 --threads 2 --out t35
[ -e i1.ckpt ] || [ -e i2.ckpt ] || [ -e i3.ckpt ] || [ -e i5.ckpt ] || [ -e i10.ckpt ] || [ -e hA1.ckpt ] && { echo "bad_inputs: a failed import left a checkpoint" >&2; failed=1; }
mkfifo fifo
case_ "info FIFO (no writer)" 2 info fifo
case_ "import FIFO (no writer)" 2 import fifo --out i11.ckpt --model reference
[ -e i11.ckpt ] && { echo "bad_inputs: import of a FIFO left a checkpoint" >&2; failed=1; }
case_ "eval --dump FIFO (an output name that is not a file)" 2 eval run/model.ckpt --data planted --limit-test 2 --dump fifo
[ -p fifo ] || { echo "bad_inputs: eval --dump replaced the FIFO" >&2; failed=1; }
with_header ck1.ckpt 'h["input"] = [2147483647, 32, 32]'
case_ "info: checkpoint input \`[INT_MAX, 32, 32]\`" 2 info ck1.ckpt
with_header ck2.ckpt 'h["input"] = [3.5, 32, 32]'
case_ "info: checkpoint input \`[3.5, 32, 32]\`" 2 info ck2.ckpt
with_header ck3.ckpt 'h["meta"]["data"] = 5'
case_ "info: checkpoint \`meta.data\` a number" 2 info ck3.ckpt
with_header ck4.ckpt 'h["meta"]["model"] = ["x"]'
case_ "analyze: checkpoint \`meta.model\` an array" 2 analyze ck4.ckpt --data planted --out a4
with_header ck5.ckpt 'h["normalization"]["std"] = [0, 1, 1]'
case_ "info: checkpoint normalisation std 0" 2 info ck5.ckpt
with_header ck6.ckpt 'h["deep"] = eval("[" * 100 + "]" * 100)'
case_ "info: checkpoint header nested 100 deep" 2 info ck6.ckpt
# A header (or --model) naming a net of ~2^26 values over a file of 10,362: refused before the net is
# allocated, so even under a memory limit it is the one error line (it allocated 520 MB first: exit 3).
with_header ck7.ckpt 'h["spec"] = "linear:21000 linear:10"'
( memory_limit; case_ "info: a checkpoint header naming 64.7 M values, the file 10,362 (ulimit -v 600000)" 2 info ck7.ckpt
  exit $failed ) || failed=1
# A header whose spec or tensor list disagrees with the other (the CRC valid): the spec's first tensor the
# list lacks or holds in another shape is named with both shapes, before the net is allocated, whatever
# its size (a net over twice the file's values was refused by its size alone, naming no tensor).
with_header ck8.ckpt 'h["spec"] = "conv3x3:64 relu maxpool2 linear:10"'
case_ "info: a checkpoint header naming conv3x3:64 over the tensors of conv3x3:4 (the net 16 times the file)" 2 info ck8.ckpt
with_header ck9.ckpt 'h["tensors"][0]["shape"] = [3, 4, 3, 3]'
case_ "eval: a checkpoint listing conv1.weight as [3, 4, 3, 3] (its 108 values)" 2 eval ck9.ckpt --data planted --limit-test 8
with_header ck10.ckpt 'h["tensors"] = [x for x in h["tensors"] if x["name"] != "conv1.bias"]'
case_ "analyze: a checkpoint without conv1.bias (list and data)" 2 analyze ck10.ckpt --data planted --out a10
/usr/bin/python3 - <<'PY'
import json, struct
b = open("run.safetensors", "rb").read()
n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n])
about = json.loads(h["__metadata__"]["nnfmri"])
about["spec"] = "linear:21000 linear:10"
h["__metadata__"]["nnfmri"] = json.dumps(about)
t = json.dumps(h).encode()
t += b" " * (-len(t) % 8)
open("large_spec.safetensors", "wb").write(struct.pack("<Q", len(t)) + t + b[8 + n:])
PY
need large_spec.safetensors
( memory_limit; case_ "import: a description naming 64.7 M values, the file 10,362 (ulimit -v 600000)" 2 import \
  large_spec.safetensors --out i5.ckpt; exit $failed ) || failed=1
T="train --data planted --epochs 1 --limit-train 64 --limit-test 64 --threads 2"
case_ "train --model \`conv3x3:4:p999999 linear:10\`" 2 $T --out t1 --model "conv3x3:4:p999999 linear:10"
case_ "train --model \`conv3x3:999999 linear:10\`" 2 $T --out t2 --model "conv3x3:999999 linear:10"
case_ "train --model \`linear:999999 linear:10\`" 2 $T --out t3 --model "linear:999999 linear:10"
case_ "train --model with a newline" 2 $T --out t4 --model "$(printf 'conv3x3:8\nrelu')"
case_ "train --model: branch and identity shortcut cannot be added" 2 $T --out t5 --model "conv3x3:4 res(conv3x3:8) relu linear:10"
case_ "train --model: an unclosed res( group" 2 $T --out t6 --model "conv3x3:4 res(conv3x3:4 relu linear:10"
case_ "train --model: a repeat count of 0" 2 $T --out t7 --model "conv3x3:4 0*(res(conv3x3:4) relu) linear:10"
case_ "train --model: a res( ) with nothing inside" 2 $T --out t8 --model "conv3x3:4 res() relu linear:10"
case_ "train --model: groups nested 20,000 deep" 2 $T --out t11 --model "$(python3 -c 'print("conv3x3:4 " + "1*(" * 20000 + "conv3x3:4" + ")" * 20000 + " linear:10")')"
case_ "train --analyze-every: a linear inside a residual branch, every stage" 2 $T --out t12 --analyze-every 1 --model "conv3x3:4 gap res(linear:4) relu linear:10"
case_ "train --analyze-every on a residual net, every stage (tract along the skip edges; not an error)" 0 $T --out t10 --analyze-every 1 --eval-samples 32 --zeta-samples 16 --zeta-budget 0.2 --tract-samples 16 --model "conv3x3:4 res(conv3x3:4) relu linear:10"
case_ "train --batch 65536 on a net at the 2^22-unit layer limit (2,000 planted images)" 2 train --data planted --epochs 1 --threads 2 --out t9 --model "conv3x3:4096 relu linear:10" --batch 65536
[ -e t9 ] && { echo "bad_inputs: --batch 65536 left a run directory" >&2; failed=1; }
case_ "train --data planted:1,cells=0" 2 train --data planted:1,cells=0 --epochs 1 --out t11
case_ "train --data planted:1,cells=99 (more than one per class)" 2 train --data planted:1,cells=99 --epochs 1 --out t11
case_ "train --data planted:1,unequal=2" 2 train --data planted:1,unequal=2 --epochs 1 --out t12
case_ "train --data planted:1,sideways" 2 train --data planted:1,sideways --epochs 1 --out t13
case_ "train --data planted:1,cells=3,cells=5" 2 train --data planted:1,cells=3,cells=5 --epochs 1 --out t32
case_ "train --data planted --resize 8x8 (not an image folder)" 2 train --data planted --resize 8x8 --epochs 1 --out t32r
case_ "train --data planted --split 0.3 (not an image folder)" 2 train --data planted --split 0.3 --epochs 1 --out t32s
case_ "train --data planted:1,background=/nonexistent" 2 train --data planted:1,background=/nonexistent --epochs 1 --out t13b
case_ "train --output-init xavier" 2 $T --out t14 --output-init xavier
case_ "train --nesterov --momentum 0" 2 $T --out t15 --nesterov --momentum 0
case_ "train --optimizer adam --momentum 0.5" 2 $T --out t15a --optimizer adam --momentum 0.5
case_ "train --schedule onecycle --warmup 1" 2 $T --out t15w --schedule onecycle --warmup 1
case_ "train --warmup 5 --epochs 1" 2 $T --out t15v --warmup 5
case_ "train --model nonsense (neither a preset nor a spec)" 2 $T --out t15m --model nonsense
case_ "train --zeta-samples 5 without --analyze-every" 2 $T --out t15z --zeta-samples 5
case_ "train --zeta-every 2 without --analyze-every" 2 $T --out t15e --zeta-every 2
case_ "train --zeta-every 3 --analyze-every 2" 2 $T --out t15f --analyze-every 2 --zeta-every 3
case_ "train --zeta-every 2 --stages grid,tract" 2 $T --out t15g --analyze-every 1 --zeta-every 2 --stages grid,tract
case_ "train --zeta-every 0" 2 $T --out t15h --analyze-every 1 --zeta-every 0
# hold DIR: makes DIR and holds it with flock(1) for 60 s, as another nnfmri holds its --out; the
# holder's pid in $holder.  Waits up to 30 s for the lock to be taken (under a load average of 9.5 the 5 s
# once waited were not enough, and monitor ran unheld, exit 0; at 3.5 train's and analyze's twice).
hold() {
  mkdir "$1" && { flock -n "$1" sleep 60 & }
  holder=$!
  local _
  for _ in $(seq 600); do flock -n "$1" true 2> /dev/null || return 0; sleep 0.05; done
  echo "bad_inputs: flock(1) did not take $1 within 30 s (the machine too loaded?)" >&2
  failed=1
}
# a directory in use, as another nnfmri train or analyze holds its --out
hold held
case_ "train --out a directory another nnfmri train holds" 2 $T --out held
case_ "analyze --out a directory another nnfmri analyze holds" 2 analyze run/model.ckpt --data planted --out held
[ -z "$(ls -A held)" ] || { echo "bad_inputs: a refused --out was written" >&2; failed=1; }
kill "$holder" 2> /dev/null; wait "$holder" 2> /dev/null
case_ "train --zeta-ci both" 2 $T --out t15 --analyze-every 1 --zeta-ci both
case_ "report --scale 9" 2 report run --scale 9
case_ "train --inject spike@10" 2 $T --out t16 --inject spike@10
case_ "train --inject lr@999 (a 1-step run)" 2 $T --out t17 --inject lr@999
case_ "train --inject lr@1:5 (a 1-step run)" 2 $T --out t17b --inject lr@1:5
case_ "train --inject lr@1:1:2e6" 2 $T --out t17c --inject lr@1:1:2e6
case_ "train --inject lesion@1:1:conv1/grid_9_9_9" 2 $T --out t18 --inject lesion@1:1:conv1/grid_9_9_9
case_ "train --inject bias@1:1:conv9=1" 2 $T --out t19 --inject bias@1:1:conv9=1
case_ "train --eeg (window 128, a 1-step run)" 2 $T --out t20 --eeg
case_ "train --eeg --eeg-window 7" 2 $T --out t21 --eeg --eeg-window 7
case_ "train --eeg-window 64 without --eeg" 2 $T --out t22 --eeg-window 64
for d in t16 t17 t18 t19 t20 t21 t22; do [ -e $d ] && { echo "bad_inputs: $d left a run directory" >&2; failed=1; }; done
# a test set too small to image, refused before training (not after epoch 1's training, which would leave a
# run directory of config.json, run.json "running" and a checkpoint)
case_ "train --limit-test 4 --analyze-every 1 (4 test images, the analysis needs 8)" 2 $T --out hT1 --limit-test 4 --analyze-every 1
[ -e hT1 ] && { echo "bad_inputs: a refused train left hT1" >&2; failed=1; }
case_ "train --grid 9999x9999x9999" 2 $T --out t5 --analyze-every 1 --grid 9999x9999x9999
case_ "train --grid a 100 KB value (the line keeps the flag and what was expected)" 2 train --data planted --grid "$(head -c 100000 /dev/zero | tr '\0' 7)" --epochs 1 --out t_grid_big
case_ "train --grid 4096x4096x4096 --analyze-every 1" 2 $T --out t6 --analyze-every 1 --grid 4096x4096x4096
mkdir -p idx && /usr/bin/python3 - <<'PY'
import gzip, struct
images = struct.pack(">IIII", 0x803, 2, 28, 28) + bytes(2 * 784)
labels = struct.pack(">II", 0x801, 2) + bytes([1, 2])
for split in ("train", "t10k"):
    open("idx/%s-images-idx3-ubyte.gz" % split, "wb").write(gzip.compress(images))
    open("idx/%s-labels-idx1-ubyte.gz" % split, "wb").write(gzip.compress(labels) + b"trailing garbage")
PY
need idx/train-images-idx3-ubyte.gz idx/train-labels-idx1-ubyte.gz idx/t10k-images-idx3-ubyte.gz idx/t10k-labels-idx1-ubyte.gz
case_ "train --data mnist:DIR, a .gz with trailing garbage" 2 $T --out t7 --data mnist:idx
mkdir -p cifar && truncate -s 3073000000 cifar/data_batch_1.bin && truncate -s 3073 cifar/test_batch.bin
case_ "train --data cifar10:DIR, a 3 GB data_batch_1.bin" 2 $T --out t8 --data cifar10:cifar
mkdir -p cifar2 && truncate -s 921903073 cifar2/data_batch_1.bin cifar2/data_batch_2.bin && truncate -s 3073 cifar2/test_batch.bin
case_ "train --data cifar10:DIR, two 0.9 GB batches (600,002 records together)" 2 $T --out t8b --data cifar10:cifar2
# truncated and oversized IDX headers, a CIFAR-10 file of no whole number of records, labels out of range
mkdir -p djidx1 djidx2 djidx3 djcifar1 djcifar2 djbg && /usr/bin/python3 - <<'PY'
import struct
open("djidx1/train-images-idx3-ubyte", "wb").write(b"\x00\x00")
open("djidx1/train-labels-idx1-ubyte", "wb").write(struct.pack(">II", 0x801, 1) + b"\x01")
open("djidx2/train-images-idx3-ubyte", "wb").write(struct.pack(">IIII", 0x803, 0xFFFFFFFF, 28, 28))
open("djidx2/train-labels-idx1-ubyte", "wb").write(struct.pack(">II", 0x801, 0xFFFFFFFF))
open("djidx3/train-images-idx3-ubyte", "wb").write(struct.pack(">IIII", 0x803, 1, 28, 28) + bytes(784))
open("djidx3/train-labels-idx1-ubyte", "wb").write(struct.pack(">II", 0x801, 1) + b"\x0a")
open("djcifar1/data_batch_1.bin", "wb").write(bytes(3074))
open("djcifar2/data_batch_1.bin", "wb").write(b"\x0b" + bytes(3072))
for d in ("djcifar1", "djcifar2"):
    open(d + "/test_batch.bin", "wb").write(bytes(3073))
PY
need djidx1/train-images-idx3-ubyte djidx2/train-images-idx3-ubyte djidx3/train-labels-idx1-ubyte djcifar1/data_batch_1.bin djcifar2/test_batch.bin
case_ "train --data mnist:DIR, an images file of 2 bytes (a truncated header)" 2 $T --out djt1 --data mnist:djidx1
case_ "train --data mnist:DIR, a header announcing 4294967295 images" 2 $T --out djt2 --data mnist:djidx2
case_ "train --data mnist:DIR, a label 10" 2 $T --out djt3 --data mnist:djidx3
case_ "train --data cifar10:DIR, a data_batch_1.bin of 3,074 bytes" 2 $T --out djt4 --data cifar10:djcifar1
case_ "train --data cifar10:DIR, a record labelled 11" 2 $T --out djt5 --data cifar10:djcifar2
case_ "train --data cifar10:FILE (a file where the folder should be)" 2 $T --out djt6 --data cifar10:djcifar1/data_batch_1.bin
mkdir -p hD1cifar && head -c 3073 /dev/zero > hD1cifar/data_batch_1.bin && cp hD1cifar/data_batch_1.bin hD1cifar/test_batch.bin
ln -s moved.txt hD1cifar/batches.meta.txt
case_ "train --data cifar10:DIR, batches.meta.txt a link to nothing" 2 $T --out hD1t --data cifar10:hD1cifar
# NAME.gz a link to nothing beside a valid plain NAME: refused, not skipped for NAME
mkdir -p hE1idx && cp djidx3/train-images-idx3-ubyte djidx3/train-labels-idx1-ubyte hE1idx/ && ln -s moved.gz hE1idx/train-images-idx3-ubyte.gz
case_ "train --data fashion-mnist:DIR, train-images-idx3-ubyte.gz a link to nothing beside the plain file" 2 $T --out hE1t --data fashion-mnist:hE1idx
case_ "train --data planted:1,unequal=NaN" 2 train --data planted:1,unequal=NaN --epochs 1 --out djt6
case_ "train --data planted:1,background=DIR, a folder without images" 2 train --data planted:1,background=djbg --epochs 1 --out djt7
case_ "eval --data planted:1,background=DIR, a folder without images (the test half alone is read)" 2 eval run/model.ckpt --data planted:1,background=djbg
# a flat images:DIR of one image per class: --split 0.2 gives the test share none (its images are not read: not even PNGs)
mkdir -p djflat/a djflat/b && printf 'not a png' > djflat/a/0.png && cp djflat/a/0.png djflat/b/0.png
case_ "eval --data images:DIR, a flat folder whose --split test share holds no image" 2 eval run/model.ckpt --data images:djflat
for d in djt1 djt2 djt3 djt4 djt5 djt6 djt7; do [ -e $d ] && { echo "bad_inputs: $d left a run directory" >&2; failed=1; }; done
# the monitor (README "Monitoring"): a profile of the small run's checkpoint, then hostile profiles and inputs
"$nnfmri" profile run/model.ckpt --data planted --limit-train 200 --knn-images 100 --out ok.profile > /dev/null 2>&1 ||
  { echo "bad_inputs: profile of the small run failed" >&2; failed=1; }
head -c 1000 ok.profile > cut.profile
case_ "monitor: a truncated profile" 2 monitor run/model.ckpt --profile cut.profile --input planted --out m1
"$nnfmri" train --data planted --model "conv3x3:4 relu maxpool2 linear:10" --epochs 1 --limit-train 32 --limit-test 32 \
  --seed 2 --threads 2 --out other > /dev/null 2>&1 || { echo "bad_inputs: the second small run failed" >&2; failed=1; }
case_ "monitor: the profile of another checkpoint" 2 monitor other/model.ckpt --profile ok.profile --input planted --out m2
case_ "monitor --input fashion-mnist (1x28x28 images)" 2 monitor run/model.ckpt --profile ok.profile --input fashion-mnist --out m3
mkdir -p empty && : > empty/data_batch_1.bin && : > empty/test_batch.bin
case_ "monitor --input cifar10:DIR with empty files" 2 monitor run/model.ckpt --profile ok.profile --input cifar10:empty --out m4
case_ "monitor --input an unknown data set (the error names --input, not --data)" 2 monitor run/model.ckpt --profile ok.profile --input bogus:1 --out m4b
case_ "monitor --input planted:1,sideways (the error names --input)" 2 monitor run/model.ckpt --profile ok.profile --input planted:1,sideways --out m4c
# cifar10 without a folder where none is found (NNFMRI_DATA unset; no ./data here): the line says how to name
# one without naming a flag monitor does not take (not "… or pass --data cifar10:DIR")
( unset NNFMRI_DATA; case_ "monitor --input cifar10, no CIFAR-10 folder found (the advice names no --data)" 2 monitor run/model.ckpt \
  --profile ok.profile --input cifar10 --out m4d; exit $failed ) || failed=1
case_ "monitor --window 1" 2 monitor run/model.ckpt --profile ok.profile --input planted --window 1 --out m5
mkdir -p flatimg && cp goodimg/a/0.png flatimg/x.png
case_ "monitor --input images:DIR of images alone (monitored whole), --split 0.3" 2 monitor run/model.ckpt --profile ok.profile --input images:flatimg --split 0.3 --out m5b
# a monitor --out in use, as another nnfmri monitor holds it
hold held_m
case_ "monitor --out a directory another nnfmri monitor holds" 2 monitor run/model.ckpt --profile ok.profile --input planted --out held_m
[ -z "$(ls -A held_m)" ] || { echo "bad_inputs: a refused monitor --out was written" >&2; failed=1; }
kill "$holder" 2> /dev/null; wait "$holder" 2> /dev/null
case_ "profile --quantiles 2 (min and max only: every clean window alarmed)" 2 profile run/model.ckpt --data planted --limit-train 200 --quantiles 2 --out q2.profile
mkdir -p a_directory
case_ "profile --out DIRECTORY (refused before the fit)" 2 profile run/model.ckpt --data planted --limit-train 200 --out a_directory
# an --out that is a file profile reads (refused, not the checkpoint replaced by the profile, exit 0)
cp run/model.ckpt hP1.ckpt && cp run/analysis/epoch_001/zeta.json hP2.json
case_ "profile --out the checkpoint it profiles" 2 profile hP1.ckpt --data planted --limit-train 200 --out ./hP1.ckpt
case_ "profile --out the --zeta file it reads" 2 profile run/model.ckpt --data planted --limit-train 200 --zeta hP2.json --out hP2.json
cmp -s hP1.ckpt run/model.ckpt && cmp -s hP2.json run/analysis/epoch_001/zeta.json ||
  { echo "bad_inputs: a refused profile replaced a file it reads" >&2; failed=1; }
case_ "profile --knn-k 50 --knn-images 20" 2 profile run/model.ckpt --data planted --limit-train 200 --knn-k 50 --knn-images 20 --out k.profile
case_ "profile --knn-k 50 --spatial-bank 30" 2 profile run/model.ckpt --data planted --limit-train 200 --knn-k 50 --spatial-bank 30 --out k.profile
profile_with() { framed_with ok.profile "$1" "$2"; }  # profile_with FILE PYTHON: ok.profile changed
profile_with extreme.profile 't["precision"] = array("f", [3e38] * len(t["precision"])); t["class_means"] = array("f", [1e6] * len(t["class_means"]))'
case_ "monitor: a checksummed profile whose scores are no float (precision 3e38)" 2 monitor run/model.ckpt --profile extreme.profile --input planted --out m7
[ -e m7 ] && { echo "bad_inputs: a monitor refused mid-stream left m7" >&2; failed=1; }
profile_with lambda.profile 'h["lambda"] = 1e308'
case_ "monitor: a profile whose header says lambda 1e308" 2 monitor run/model.ckpt --profile lambda.profile --input planted --out m8
profile_with mean.profile 'm = t["conv1.mean"]; m[0] = 3e38'
case_ "monitor: a profile whose region mean lies outside its sketch (3e38)" 2 monitor run/model.ckpt --profile mean.profile --input planted --out m9
"$nnfmri" corrupt --data planted --limit-train 20 --limit-test 20 --kind noise --out c10 > /dev/null 2>&1 ||
  { echo "bad_inputs: corrupt of planted failed" >&2; failed=1; }
need c10/data_batch_1.bin
cp c10/data_batch_1.bin c10.before
case_ "corrupt --out the folder --data reads" 2 corrupt --data cifar10:c10 --kind noise --out c10
case_ "corrupt --out the folder of planted:1,background=DIR" 2 corrupt --data planted:1,background=c10 --kind noise --out c10
case_ "train --out the folder --data reads" 2 train --data cifar10:c10 --model "conv3x3:4 relu maxpool2 linear:10" --epochs 1 --threads 2 --out c10
case_ "analyze --out the folder --data reads" 2 analyze run/model.ckpt --data cifar10:c10 --stages grid --eval-samples 16 --out ./c10
case_ "monitor --out the folder --input reads" 2 monitor run/model.ckpt --profile ok.profile --input cifar10:c10 --out c10
[ -e c10/run.json ] || [ -e c10/grid.json ] || [ -e c10/monitor.jsonl ] && { echo "bad_inputs: a run, an analysis or a monitor was written into its data" >&2; failed=1; }
cmp -s c10/data_batch_1.bin c10.before || { echo "bad_inputs: corrupt rewrote its source" >&2; failed=1; }
# an output that is a file --data reads (refused, not replaced, exit 0: the data set destroyed)
cp -r c10 hD2
case_ "eval --dump the test_batch.bin --data reads" 2 eval run/model.ckpt --data cifar10:hD2 --dump hD2/test_batch.bin
case_ "profile --out the data_batch_1.bin --data reads" 2 profile run/model.ckpt --data cifar10:hD2 --knn-images 10 --knn-k 5 --out ./hD2/data_batch_1.bin
cmp -s hD2/test_batch.bin c10/test_batch.bin && cmp -s hD2/data_batch_1.bin c10/data_batch_1.bin ||
  { echo "bad_inputs: a refused eval or profile replaced a file --data reads" >&2; failed=1; }
# train --resume of a run whose data folder is gone: the line names --resume, the flag given, and the
# run's --data (not "--data: cifar10: …", a flag not on the command line)
cp -r c10 hR1c && "$nnfmri" train --data cifar10:hR1c --model "conv3x3:4 relu maxpool2 linear:10" --epochs 1 --threads 2 \
  --out hR1 > /dev/null 2>&1 || echo "bad_inputs: the run hR1 failed" >&2
need hR1/run.json
rm -rf hR1c
case_ "train --resume: the run's --data folder is gone" 2 train --resume hR1
# … and a recorded setting parsed below the flag layer names the run.json it is in, as one the flag layer refuses
# does (not "--grid 'abc': …" alone, a flag not on the command line)
json_with run hR2 run.json "d['arguments'] += ['--grid=abc']"
case_ "train --resume: run.json's arguments hold --grid=abc" 2 train --resume hR2
json_with run hR3 run.json "d['arguments'] = [a if not a.startswith('--model=') else '--model=conv3x3:4 relu' for a in d['arguments']]"
case_ "train --resume: run.json's arguments hold a --model that does not build" 2 train --resume hR3
# a complete run: nothing to resume, said of --resume (the line does not name the directory alone)
cp -r run hR4
case_ "train --resume: a complete run" 2 train --resume hR4
case_ "monitor --window 1048576 (a window of 2^20 images × every region)" 2 monitor run/model.ckpt --profile ok.profile --input planted --window 1048576 --out m6
/usr/bin/python3 -c "
import json; z = json.load(open('run/analysis/epoch_001/zeta.json')); z['epoch'] = 7; json.dump(z, open('zeta7.json', 'w'))
z['epoch'] = 1; del z['layers']['conv1']['regions']['grid_1_1_1']; json.dump(z, open('zeta_hole.json', 'w'))
z = json.load(open('run/analysis/epoch_001/zeta.json')); z['settings']['grid'] = [16, 16, 4]; json.dump(z, open('zeta_grid.json', 'w'))"
need zeta7.json zeta_hole.json zeta_grid.json
case_ "profile --zeta: the zeta.json of another epoch" 2 profile run/model.ckpt --data planted --limit-train 200 --zeta zeta7.json --out p1
case_ "profile --zeta: a zeta.json without a region of the profile" 2 profile run/model.ckpt --data planted --limit-train 200 --zeta zeta_hole.json --out p2
case_ "profile --zeta: the zeta.json of an analysis on another --grid" 2 profile run/model.ckpt --data planted --limit-train 200 --zeta zeta_grid.json --out p4
case_ "profile --zeta /nonexistent.json" 2 profile run/model.ckpt --data planted --limit-train 200 --zeta /nonexistent.json --out p3
case_ "corrupt --kind fog" 2 corrupt --data planted --kind fog --out c1
# an --out where a file stands: the flag named (not "out_file: is not a directory", nor, by analyze and
# corrupt, only after reading the data)
printf 'x' > out_file
case_ "analyze --out FILE" 2 analyze run/model.ckpt --data planted --out out_file
case_ "corrupt --out FILE" 2 corrupt --data planted --kind noise --out out_file
case_ "monitor --out FILE" 2 monitor run/model.ckpt --profile ok.profile --input planted --out out_file
# … and one under it, or a name longer than a file name may be: the flag named too (not the path alone,
# "out_file/sub: cannot create directory (Not a directory)")
case_ "analyze --out FILE/sub" 2 analyze run/model.ckpt --data planted --out out_file/sub
case_ "train --out of 300 bytes (a name longer than NAME_MAX)" 2 $T --out "$(printf 'n%.0s' {1..300})"
mkdir -p c_tb/test_batch.bin
case_ "corrupt --out DIR whose test_batch.bin is a directory" 2 corrupt --data planted --limit-train 20 --limit-test 20 --kind noise --out c_tb
[ -e c_tb/data_batch_1.bin ] || [ -e c_tb/batches.meta.txt ] && { echo "bad_inputs: a refused corrupt wrote into c_tb" >&2; failed=1; }
case_ "eval --lesion of a block not in the net" 2 eval run/model.ckpt --data planted --limit-test 32 --lesion conv9:grid_1_1_1
case_ "eval --lesion wildcard matching no region" 2 eval run/model.ckpt --data planted --limit-test 32 --lesion conv1:grid_9_*_*
case_ "eval --lesion region key with a letter" 2 eval run/model.ckpt --data planted --limit-test 32 --lesion conv1:grid_1_x_1
case_ "eval --lesion region key without its column and channel group" 2 eval run/model.ckpt --data planted --limit-test 32 --lesion conv1:grid_1
case_ "eval --lesion without a region" 2 eval run/model.ckpt --data planted --limit-test 32 --lesion conv1
case_ "eval --lesion naming a second block" 2 eval run/model.ckpt --data planted --limit-test 32 --lesion 'conv1:grid_1_1_1,pool1:grid_1_1_1'
case_ "eval --lesion-ablation median" 2 eval run/model.ckpt --data planted --limit-test 32 --lesion conv1:* --lesion-ablation median
case_ "eval --lesion-json without --lesion" 2 eval run/model.ckpt --data planted --limit-test 32 --lesion-json lj.json
case_ "eval --lesion-json into a missing directory" 2 eval run/model.ckpt --data planted --limit-test 32 --lesion conv1:* --lesion-json /nonexistent/dir/lj.json
case_ "eval --lesion-json into /proc (a folder no file can be created in)" 2 eval run/model.ckpt --data planted --limit-test 32 --lesion conv1:* --lesion-json /proc/hI1.json
case_ "eval --dump into /proc (a folder no file can be created in)" 2 eval run/model.ckpt --data planted --limit-test 32 --dump /proc/hI2.npz
# the output flags of import and export are named too (not the file alone: "a_directory: is a directory, …")
case_ "import --out into a missing directory" 2 import run.safetensors --out /nonexistent/dir/hI3.ckpt
mkdir -p a_directory
case_ "export --safetensors DIRECTORY" 2 export run/model.ckpt --safetensors a_directory
case_ "analyze --zeta-value confusion:A:A" 2 analyze run/model.ckpt --data planted --out za1 --zeta-value confusion:class3:class3
case_ "analyze --zeta-value confusion with an unknown class name" 2 analyze run/model.ckpt --data planted --out za2 --zeta-value confusion:class3:wolf
case_ "analyze --zeta-value odds" 2 analyze run/model.ckpt --data planted --out za3 --zeta-value odds
case_ "analyze --errors --zeta-method lesion" 2 analyze run/model.ckpt --data planted --out za4 --errors --zeta-method lesion
case_ "analyze --errors --stages grid (no zeta stage)" 2 analyze run/model.ckpt --data planted --out za5 --errors --stages grid
case_ "analyze --stages grid,grid (a stage named twice)" 2 analyze run/model.ckpt --data planted --out za6 --stages grid,grid
case_ "corrupt --severity 6" 2 corrupt --data planted --kind noise --severity 6 --out c2
case_ "corrupt --data 'planted: -1' (a blank and a sign before the seed)" 2 corrupt --data "planted: -1" --kind noise --out c4
# ten class folders of 32x32 PNGs, one named "c9<newline>x": batches.meta.txt could not hold it (one name per line)
/usr/bin/python3 - <<'PY'
import os, struct, zlib
chunk = lambda kind, body: struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 32, 32, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress((b"\0" + b"\x80" * 96) * 32)) + chunk(b"IEND", b"")
for k in range(10):
    d = "nlcls/c%d%s" % (k, "\nx" if k == 9 else "")
    os.makedirs(d, exist_ok=True)
    for i in range(2):
        open("%s/%d.png" % (d, i), "wb").write(png)
PY
need nlcls/c0/0.png
case_ "corrupt --data images:DIR, a class folder whose name holds a line break" 2 corrupt --data images:nlcls --split 0.5 --kind noise --out c5
[ -e c5 ] && { echo "bad_inputs: a refused corrupt wrote c5" >&2; failed=1; }
case_ "corrupt --data fashion-mnist (not 3x32x32)" 2 corrupt --data fashion-mnist --kind blur --out c3
for d in m1 m2 m3 m4 m5 m6 c1 c2 c3 p1 p2 p3; do
  [ -e "$d" ] && { echo "bad_inputs: a refused run left $d behind" >&2; failed=1; }
done
case_ "--version --bogus (an extra argument)" 2 --version --bogus
case_ "--help bogus (not a command)" 2 --help bogus
case_ "train --out --overwrit (a mistyped flag as the value)" 2 train --data planted --out --overwrit
[ -e ./--overwrit ] && { echo "bad_inputs: a refused run left --overwrit behind" >&2; failed=1; }
# serve (README "Watching runs live"): a root that is no directory, a bad port, a port in use
case_ "serve FILE (not a directory)" 2 serve ok.profile --port 0
case_ "serve DIR that does not exist" 2 serve no-such-dir --port 0
case_ "serve --port 70000" 2 serve . --port 70000
case_ "serve --threads 0" 2 serve . --threads 0 --port 0
case_ "serve --host ''" 2 serve . --host '' --port 0
case_ "serve --host 192.0.2.1 (not this machine's)" 2 serve . --host 192.0.2.1 --port 0
/usr/bin/python3 -c "
import socket, time
s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(1)
open('busy.port', 'w').write(str(s.getsockname()[1])); time.sleep(60)" &
holder=$!
for _ in $(seq 100); do [ -s busy.port ] && break; sleep 0.05; done
need busy.port
case_ "serve --port P, P in use" 2 serve . --port "$(cat busy.port)"
kill "$holder" 2> /dev/null; wait "$holder" 2> /dev/null
# the port held by another `nnfmri serve` (whose library asks for SO_REUSEPORT by default)
"$nnfmri" serve . --port 0 > first.out 2> /dev/null &
holder=$!
for _ in $(seq 200); do grep -q "http://" first.out 2> /dev/null && break; sleep 0.05; done
grep -q "http://127.0.0.1:[0-9]*/" first.out || { echo "bad_inputs: the first serve printed no port" >&2; failed=1; }
case_ "serve --port P, P served by another nnfmri serve" 2 serve . --port "$(sed -n 's|.*http://127.0.0.1:\([0-9]*\)/.*|\1|p' first.out)"
kill "$holder" 2> /dev/null; wait "$holder" 2> /dev/null
"$nnfmri" $T --out big --model "linear:4096 relu linear:10" --analyze-every 1 --grid 1x1x4096 --stages grid \
  --eval-samples 32 > /dev/null 2>&1 || { echo "bad_inputs: the linear:4096 run failed" >&2; failed=1; }
case_ "report of \`linear:4096\` trained with \`--grid 1x1x4096\`" 0 report big
json_with run r8 config.json "d['model'] = 'm' * 1000000"
[ "$(stat -c %s r8/config.json)" -gt 1000000 ] || { echo "bad_inputs: r8/config.json has no 1 MB model name" >&2; failed=1; }
case_ "report: a 1 MB model name in config.json" 0 report r8
mkdir -p r9/analysis/epoch_001 && /usr/bin/python3 -c "
import json
pairs = {'p%d' % l: {'from': 'l%d' % l, 'to': 'l%d' % (l + 1), 'connection_strength': 1.0,
                     'flows': [['grid_1_1_1', 'grid_1_1_1', 1.0]]} for l in range(2099)}
json.dump({'pairs': pairs}, open('r9/analysis/epoch_001/tract.json', 'w'))"
need r9/analysis/epoch_001/tract.json
# 2,100 layers: 210 bands of 10 columns, 21182 px tall (160 layers, which would be 21152 px wide in one
# row, wrap into 16 bands and are drawn, so they do not reach the limit)
case_ "report: tract.json of 2,100 layers (pathways 21182 px tall)" 0 report r9
# the figure left out must be said so (case_ shows the line but checks only the exit status)
grep -q 'pathways.png not drawn' out.txt || { echo "bad_inputs: report r9 printed no 'pathways.png not drawn' line" >&2; failed=1; }
# train --resume of a run whose state is the same net's trained with another --seed (copied in from a
# sibling run): rs1 is a 2-epoch run set back to epoch 1, its state the seed-2 run's
R=(train --data planted --model "conv3x3:4 relu maxpool2 linear:10" --limit-train 64 --limit-test 64 --threads 2)
"$nnfmri" "${R[@]}" --epochs 2 --out rs1 > /dev/null 2>&1 && "$nnfmri" "${R[@]}" --epochs 1 --seed 2 --out rs2 > /dev/null 2>&1 &&
  "$nnfmri" "${R[@]}" --epochs 1 --out rs3e > /dev/null 2>&1 || echo "bad_inputs: the runs rs1, rs2 (seed 2) and rs3e failed" >&2
cp -r rs1 rs3
# set_back RUN OTHER: the 2-epoch run RUN set back to epoch 1, interrupted, with the 1-epoch run OTHER's
# state (copied in beforehand) as its own
set_back() {
  /usr/bin/python3 -c "
import json
m, other = json.load(open('$1/run.json')), json.load(open('$2/run.json'))
m.update(status='interrupted', completed_epoch=1, state=other['state'])
m['files'] = sorted([f for f in m['files'] if 'epoch_002' not in f] + [other['state']['file']])
json.dump(m, open('$1/run.json', 'w'), indent=2)" 2> /dev/null
}
cp rs2/checkpoints/epoch_001.state rs1/checkpoints/ 2> /dev/null
set_back rs1 rs2
need rs1/checkpoints/epoch_001.state
case_ "train --resume: the state of the same net trained with --seed 2" 2 train --resume rs1
# rs3: the same, its state its own seed's without conv1.bias (list and data, the CRC valid)
framed_with rs3e/checkpoints/epoch_001.state rs3/checkpoints/epoch_001.state \
  'h["tensors"] = [x for x in h["tensors"] if x["name"] != "conv1.bias"]'
set_back rs3 rs3e
case_ "train --resume: a state without conv1.bias (list and data)" 2 train --resume rs3
# an NN-EEG epoch file whose span runs past its steps
"$nnfmri" "${R[@]}" --epochs 1 --batch 8 --eeg --eeg-window 4 --out re1 > /dev/null 2>&1 ||
  echo "bad_inputs: the --eeg run failed" >&2
# eeg/channels.json whose second and third channels swapped names (conv1/grad_norm, conv1/update_ratio)
json_with re1 rc1 eeg/channels.json "c = d['channels']; c[1]['name'], c[2]['name'] = c[2]['name'], c[1]['name']"
case_ "report: eeg/channels.json with two channels' names swapped" 2 report rc1
/usr/bin/python3 -c "
import json; p = 're1/eeg/epoch_001.json'; e = json.load(open(p)); e['span'] = [5, 99]; json.dump(e, open(p, 'w'))" 2> /dev/null
grep -q '"span": \[5, 99\]' re1/eeg/epoch_001.json || { echo "bad_inputs: re1's span was not changed" >&2; failed=1; }
case_ "report: an NN-EEG span [5, 99] of the steps [1, 8]" 2 report re1
# an NN-EEG rows file saved by np.save as float64 (numpy's default dtype): 32 steps of batch 2, so
# that the file is larger than the float32 rows may be and its header, not its size, is what is refused
"$nnfmri" "${R[@]}" --epochs 1 --batch 2 --eeg --eeg-window 4 --out eg1 > /dev/null 2>&1 ||
  echo "bad_inputs: the --eeg run eg1 failed" >&2
/usr/bin/python3 -c "
import numpy as np; p = 'eg1/eeg/epoch_001.npy'; np.save(p, np.load(p).astype('<f8'))" 2> /dev/null
grep -q "'<f8'" eg1/eeg/epoch_001.npy || { echo "bad_inputs: eg1's rows were not saved as float64" >&2; failed=1; }
case_ "report: NN-EEG rows saved as float64" 2 report eg1
# --split with an images:DIR whose train/ and test/ make the split
mkdir -p halves/train/a halves/test/a
case_ "train --data images:DIR with train/ and test/, --split 0.3" 2 train --data images:halves --split 0.3 --epochs 1 --out t33
exit $failed
