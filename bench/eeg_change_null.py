#!/usr/bin/python3
# bench/eeg_change_null.py — the change rule's false alarms under a white-noise null (README "NN-EEG",
# "The change rule's threshold against its own null"; issue 15).  The null: ln|x_c(t)| is white
# Gaussian noise (scale-free: z does not depend on its σ; ε taken as 0).  Then d(t) = n(t) − n(t−1),
# scored against (m̂, ŝ) = the median and 1.4826·MAD of the 128 changes of a baseline (simulated, B =
# 4,096 baselines of 129 values); an event at t needs d(t) ≥ c = m̂ + θŝ and the confirmation
# n(t+1) − n(t−1) ≥ c (or both ≤ m̂ − θŝ).  Given a = n(t−1) the two are independent, so
# p(θ) = mean over baselines of ∫ φ(a) [Q(c + a)² + Q(−c' − a)²] da (Gauss–Hermite, 40 nodes), the
# onset condition and the overlap of n(t−1) with the baseline at t = r + 1 left out (an upper bound
# for the first, a 1-in-16 approximation for the second).  θ_c(C, F) = the smallest θ (to 10^-3) with
# C·F·p(θ) ≤ 0.5 — the band rule's α and F.  A Monte Carlo of the full rule (fresh baselines)
# checks p at θ = 2.5 and 3.  Needs numpy.  Prints p(θ), θ_c for the two bench sets and the expected
# noise events per 10 epochs at θ = 6.
import math
import numpy as np

erfc = np.frompyfunc(math.erfc, 1, 1)
def Q(x):
    return 0.5 * erfc(np.asarray(x) / math.sqrt(2)).astype(float)

rng = np.random.default_rng(15)
n = rng.standard_normal((4096, 129))
d = np.diff(n, axis=1)
m = np.median(d, axis=1)
s = 1.4826 * np.maximum(np.median(np.abs(d - m[:, None]), axis=1), 1e-3)
x, w = np.polynomial.hermite_e.hermegauss(40)
w = w / w.sum()

def p(theta):
    cu, cl = m + theta * s, m - theta * s
    up = (Q(cu[:, None] + x[None, :]) ** 2) @ w
    lo = (Q(-(cl[:, None] + x[None, :])) ** 2) @ w
    return float(np.mean(up + lo))

def p_onset(theta):  # without the confirmation step
    cu, cl = m + theta * s, m - theta * s
    return float(np.mean(Q(cu / math.sqrt(2)) + Q(-cl / math.sqrt(2))))

def threshold(channels, steps, alpha=0.5):
    lo, hi = 1.0, 12.0
    while hi - lo > 1e-3:
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if channels * steps * p(mid) <= alpha else (mid, hi)
    return hi

print("| θ | p(θ), event (confirmed) | p(θ), onset only |")
print("|---|---|---|")
for th in (3, 4, 5, 6, 7):
    print(f"| {th} | {p(th):.3g} | {p_onset(th):.3g} |")
for name, c, f in (("reference, CIFAR-10 subset", 1383, 810), ("planted bench net", 84, 500)):
    print(f"{name}: C = {c}, F = {f}: θ_c = {threshold(c, f):.3f}; expected noise events per 10 epochs "
          f"at θ = 6: {c * f * p(6):.3g}")
mc = 200000
nn_ = rng.standard_normal((mc, 131))
dd = np.diff(nn_[:, :129], axis=1)
mm = np.median(dd, axis=1)
ss = 1.4826 * np.maximum(np.median(np.abs(dd - mm[:, None]), axis=1), 1e-3)
a, b, c = nn_[:, 129], nn_[:, 130], rng.standard_normal(mc)
z, z2 = (b - a - mm) / ss, (c - a - mm) / ss
for th in (2.5, 3.0):
    ev = ((z >= th) & (z2 >= th)) | ((z <= -th) & (z2 <= -th))
    print(f"Monte Carlo, {mc} draws, θ = {th}: {ev.mean():.3g} ± {math.sqrt(ev.mean() / mc):.2g}; p(θ) {p(th):.3g}")
