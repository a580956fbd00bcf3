// imaging/eeg_signal.h — the signal processing of NN-EEG (README "NN-EEG"): linear detrending,
// Welch spectra, the five bands, the robust z-score.  Pure functions of numbers, no net.
//
// Definitions (the sampling rate is one sample per SGD step, so frequencies are in cycles/step):
//   detrend(x):   x minus its least-squares line a + b·t (t = 0 … n−1).
//   periodogram of one segment x of length W (W even): y = detrend(x) · w, w the periodic Hann
//     window w_t = ½ − ½cos(2πt/W); P_k = c_k |Σ_t y_t e^{−2πikt/W}|² / Σ_t w_t², k = 0 … W/2, at
//     frequency k/W, with c_k = 2 for 0 < k < W/2 and 1 at k = 0 and k = W/2 (one-sided).
//   welch(x, W):  the mean of the periodograms of the segments x[s … s+W) at hop W/2 (50 % overlap)
//     laid back from the newest sample, s = n − W, n − W − W/2, … ≥ 0 (a leftover shorter than W/2 is
//     the oldest samples); needs n ≥ W.
//   bands (cycles/step): δ [0, 1/64), θ [1/64, 1/32), α [1/32, 1/16), β [1/16, 1/4), γ [1/4, 1/2];
//     a bin belongs to the band holding its frequency k/W.  Relative band power = the band's sum of
//     P_k over the sum of all P_k (0 when that sum is 0).
//   robust_z(v, history) = (v − median(h)) / (1.4826 · MAD(h)), MAD the median absolute deviation;
//     the MAD is floored at 1e-3·|median| + 1e-12 so that a constant history gives a finite z.
// The DFT is the direct sum with a precomputed table (W = 128: 8,256 products per segment; no FFT
// library is needed at that size, and the sum is exact up to rounding).
#pragma once
#include <array>
#include <cstddef>
#include <vector>

#include "run/eeg_bands.h"

namespace imaging::eeg {

constexpr int kBands = run::kEegBands;
enum Band { delta_band = 0, theta_band = 1, alpha_band = 2, beta_band = 3, gamma_band = 4 };
constexpr std::array<const char*, kBands> kBandNames = run::kEegBandNames;
// The band of frequency f in cycles/step (0 ≤ f ≤ 1/2).
Band band_of(double frequency);

void detrend(std::vector<double>& x);

// A Welch estimator for one segment length W (even, ≥ 4): the window and DFT tables, built once.
class Welch {
 public:
  explicit Welch(int segment);
  int segment() const { return w_; }
  // P_0 … P_{W/2} of x[0 … n) (n ≥ W; base::Error otherwise).
  std::vector<double> spectrum(const double* x, size_t n) const;
  // P_0 … P_{W/2} of one segment of exactly W samples.
  std::vector<double> periodogram(const double* x) const;
  // Σ P_k over the bins of `band` of one segment of exactly W samples: the same numbers as summing
  // periodogram(x)'s bins of that band in order (bit-identical), computing only those bins.
  double band_power(const double* x, Band band) const;
  // Relative band powers of a spectrum from spectrum(): 5 numbers summing to 1 (or all 0).
  std::array<double, kBands> relative_bands(const std::vector<double>& power) const;

 private:
  int w_;
  std::vector<double> window_, cos_, sin_;
  // The windowed, detrended segment, and P_k of bins k = first … last from it into out[k − first].
  std::vector<double> windowed(const double* x) const;
  void bin_powers(const std::vector<double>& y, int first, int last, double* out) const;
  static constexpr int kMaxBandBins = 64;  // band_power's bins per bin_powers call
  double window_energy_ = 0;
};

double median(std::vector<double> v);
double robust_z(double value, const std::vector<double>& history);

}  // namespace imaging::eeg
