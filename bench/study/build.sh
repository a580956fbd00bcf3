#!/bin/bash
# bench/study/build.sh — builds the study programs of bench/study/*.cpp against build/libnnfmri.a
# (run `make` first).  They are one-off measurement tools, not part of `make`.
set -euo pipefail
cd "$(dirname "$0")/../.."
BLAS_INC=/usr/include/x86_64-linux-gnu/openblas-openmp
BLAS_LIB=/usr/lib/x86_64-linux-gnu/openblas-openmp
mkdir -p build/study
# winograd_ab compares the library's Winograd with nn/winograd.cpp as it was at ef03192 (F(2×2, 3×3)).
git show ef03192:nn/winograd.cpp > build/study/winograd_old.inc.new
cmp -s build/study/winograd_old.inc.new build/study/winograd_old.inc 2>/dev/null || mv build/study/winograd_old.inc.new build/study/winograd_old.inc
rm -f build/study/winograd_old.inc.new
for src in bench/study/*.cpp; do
  out=build/study/$(basename "$src" .cpp)
  if [ ! -x "$out" ] || [ "$src" -nt "$out" ] || [ build/libnnfmri.a -nt "$out" ]; then
    echo "+ $out"
    g++ -std=c++17 -O3 -march=native -fopenmp -Wall -Wextra -I. -Ibuild/study -isystem "$BLAS_INC" "$src" build/libnnfmri.a \
      -fopenmp -L"$BLAS_LIB" -Wl,-rpath,"$BLAS_LIB" -lopenblas -lstb -lz -lpthread -o "$out"
  fi
done
