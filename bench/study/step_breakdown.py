#!/usr/bin/env python3
# bench/study/step_breakdown.py PERF_DATA — a `perf record -e cpu-clock --call-graph dwarf` profile of
# `nnfmri train` grouped by the layer kind nearest the sample on its call chain (branch ref13e; batch norm,
# residual add, shortcut and plain relu since 2026-12-02, for resnet20), and
# within each kind by what the leaf was (OpenBLAS kernel, packing, memset, kernel/OpenMP, own code).
# Samples of OpenBLAS threads outside a parallel region of ours (Linear's multi-threaded SGEMM at 2
# threads) carry no layer on their stack and fall in "set-up, loading, other".
import subprocess, sys, collections, re
out = subprocess.run(['perf', 'script', '-i', sys.argv[1], '-F', 'ip,sym,dso'], capture_output=True, text=True).stdout
kinds = [  # (category, pattern on a frame's symbol), first match walking from the leaf up
  ('relu+pool fwd', 'Pool2d::forward_after_relu'), ('relu+pool bwd', 'Pool2d::backward_into_relu'),
  ('conv fwd (im2col)', 'Conv2d::forward_im2col'), ('conv bwd (im2col)', 'Conv2d::backward_im2col'),
  ('conv fwd (Winograd)', 'winograd::forward'), ('conv bwd (Winograd)', 'winograd::backward'),
  ('conv bias grad', 'Conv2d::backward'), ('conv (other)', 'Conv2d::'),
  ('batch norm fwd', 'BatchNorm2d::forward'), ('batch norm bwd', 'BatchNorm2d::backward'),
  ('residual add', 'Add::'), ('shortcut (pad)', 'PadShortcut::'), ('relu fwd', 'ReLU::forward'),
  ('relu bwd', 'ReLU::backward'), ('global average pool', 'GlobalAvgPool'),
  ('fc fwd', 'Linear::forward'), ('fc bwd', 'Linear::backward'),
  ('loss', 'softmax_cross_entropy'), ('batch building', 'make_batch'), ('optimizer', 'Optimizer::step'),
  ('zero_grad', 'Network::zero_grad'), ('network backward (other)', 'Network::backward'),
  ('network forward (other)', 'Network::'), ('evaluate (test)', 'nn::evaluate'), ('trainer (other)', 'Trainer::train'),
]
cnt = collections.Counter(); sub = collections.Counter(); total = 0; cut_in_blas = 0
for block in out.split('\n\n'):
    lines = [l.strip() for l in block.strip().split('\n') if l.strip()]
    if not lines: continue
    frames = lines[1:] if not re.match(r'^[0-9a-f]+ ', lines[0]) else lines
    syms = [' '.join(f.split(' ')[1:]) for f in frames]
    if not syms: continue
    total += 1
    cat = 'set-up, loading, other'
    if all('libopenblas' in f for f in frames): cut_in_blas += 1  # perf's unwind stopped inside OpenBLAS: no caller
    for s in syms:
        hit = next((c for c, p in kinds if p in s), None)
        if hit: cat = hit; break
    leaf = syms[0]
    if re.search(r'sgemm_(small_)?kernel', leaf): part = 'GEMM kernel'  # OpenBLAS ≥ 0.3.16 SkylakeX: sgemm_small_kernel_*
    elif re.search(r'sgemm_\w*copy|sgemm_beta', leaf): part = 'GEMM packing'
    elif 'libgomp' in leaf or 'GOMP' in leaf: part = 'OpenMP'
    elif '[kernel' in leaf: part = 'kernel'
    elif 'memset' in leaf: part = 'memset'
    elif 'memmove' in leaf or 'memcpy' in leaf: part = 'memcpy'
    else: part = 'own code'
    cnt[cat] += 1; sub[(cat, part)] += 1
step = sum(v for c, v in cnt.items() if c not in ('set-up, loading, other', 'evaluate (test)'))
print(f'samples {total}, in training steps {step}')
print('| part of the step | % of step samples | of which GEMM kernel / packing / memset / kernel+OpenMP |')
print('|---|---|---|')
for c, v in cnt.most_common():
    if c in ('set-up, loading, other', 'evaluate (test)'): continue
    g = sub[(c,'GEMM kernel')]; p = sub[(c,'GEMM packing')]; m = sub[(c,'memset')]; k = sub[(c,'kernel')] + sub[(c,'OpenMP')]
    print(f'| {c} | {100*v/step:.1f} | {100*g/step:.1f} / {100*p/step:.1f} / {100*m/step:.1f} / {100*k/step:.1f} |')
gk = sum(v for (c, part), v in sub.items() if part == 'GEMM kernel' and c not in ('set-up, loading, other', 'evaluate (test)'))
print(f'GEMM kernel share of the step: {100*gk/step:.1f}%')
for c in ('set-up, loading, other', 'evaluate (test)'): print(f'outside the steps: {c} {cnt[c]} samples')
if cut_in_blas:  # their layer is unknown: the shares above leave them out (seen with OpenBLAS 0.3.21's SkylakeX kernels)
    print(f'of those, {cut_in_blas} samples ({100*cut_in_blas/total:.1f}% of all) have a stack that ends inside OpenBLAS '
          '(perf could not unwind to a caller): their layer, in the steps or not, is unknown')
