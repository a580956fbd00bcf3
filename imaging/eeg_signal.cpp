#include "imaging/eeg_signal.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "base/error.h"

namespace imaging::eeg {

Band band_of(double f) {
  if (f < 1.0 / 64) return delta_band;
  if (f < 1.0 / 32) return theta_band;
  if (f < 1.0 / 16) return alpha_band;
  if (f < 1.0 / 4) return beta_band;
  return gamma_band;
}

void detrend(std::vector<double>& x) {
  const size_t n = x.size();
  if (n < 2) {
    if (n == 1) x[0] = 0;
    return;
  }
  double mean_t = (double(n) - 1) / 2, mean_x = 0;
  for (double v : x) mean_x += v;
  mean_x /= double(n);
  double stt = 0, stx = 0;
  for (size_t t = 0; t < n; ++t) {
    const double dt = double(t) - mean_t;
    stt += dt * dt;
    stx += dt * (x[t] - mean_x);
  }
  const double slope = stx / stt;
  for (size_t t = 0; t < n; ++t) x[t] -= mean_x + slope * (double(t) - mean_t);
}

Welch::Welch(int segment) : w_(segment) {
  if (segment < 4 || segment % 2 != 0)
    throw base::Error("EEG window " + std::to_string(segment) + ": expected an even number of steps, at least 4");
  const double pi = std::acos(-1.0);
  window_.resize(size_t(w_));
  for (int t = 0; t < w_; ++t) {
    window_[size_t(t)] = 0.5 - 0.5 * std::cos(2 * pi * t / w_);
    window_energy_ += window_[size_t(t)] * window_[size_t(t)];
  }
  // cos/sin of 2πm/W for m = 0 … W−1; the product kt is reduced mod W.
  cos_.resize(size_t(w_));
  sin_.resize(size_t(w_));
  for (int m = 0; m < w_; ++m) {
    cos_[size_t(m)] = std::cos(2 * pi * m / w_);
    sin_[size_t(m)] = std::sin(2 * pi * m / w_);
  }
}

std::vector<double> Welch::windowed(const double* x) const {
  std::vector<double> y(x, x + w_);
  detrend(y);
  for (int t = 0; t < w_; ++t) y[size_t(t)] *= window_[size_t(t)];
  return y;
}

// Every bin's re and im are sums over t in order (m = kt mod W, k ≤ W/2: no division); up to 8 bins
// are taken in one pass over t, so that their sums do not wait on one another.  Each bin's sums are
// the same operations in the same order as one bin at a time (the bits of the earlier loop).
void Welch::bin_powers(const std::vector<double>& y, int first, int last, double* out) const {
  constexpr int kBins = 8;
  for (int k0 = first; k0 <= last; k0 += kBins) {
    const int bins = std::min(kBins, last - k0 + 1);
    double re[kBins] = {}, im[kBins] = {};
    int m[kBins] = {};
    for (int t = 0; t < w_; ++t)
      for (int j = 0; j < bins; ++j) {
        re[j] += y[size_t(t)] * cos_[size_t(m[j])];
        im[j] -= y[size_t(t)] * sin_[size_t(m[j])];
        m[j] = m[j] + k0 + j < w_ ? m[j] + k0 + j : m[j] + k0 + j - w_;
      }
    for (int j = 0; j < bins; ++j) {
      const int k = k0 + j;
      out[k - first] = (k == 0 || k == w_ / 2 ? 1.0 : 2.0) * (re[j] * re[j] + im[j] * im[j]) / window_energy_;
    }
  }
}

std::vector<double> Welch::periodogram(const double* x) const {
  const std::vector<double> y = windowed(x);
  std::vector<double> p(size_t(w_ / 2 + 1));
  bin_powers(y, 0, w_ / 2, p.data());
  return p;
}

double Welch::band_power(const double* x, Band band) const {
  const std::vector<double> y = windowed(x);
  int first = 0;  // a band's bins are consecutive: [first, last]
  while (first <= w_ / 2 && band_of(double(first) / double(w_)) != band) ++first;
  int last = first;
  while (last + 1 <= w_ / 2 && band_of(double(last + 1) / double(w_)) == band) ++last;
  if (first > w_ / 2) return 0;
  double p[kMaxBandBins];
  double sum = 0;
  for (int k = first; k <= last; k += kMaxBandBins) {
    const int end = std::min(last, k + kMaxBandBins - 1);
    bin_powers(y, k, end, p);
    for (int j = 0; j <= end - k; ++j) sum += p[j];
  }
  return sum;
}

std::vector<double> Welch::spectrum(const double* x, size_t n) const {
  if (n < size_t(w_))
    throw base::Error("EEG window " + std::to_string(w_) + " steps: longer than the " + std::to_string(n) +
                      " steps of signal");
  std::vector<double> sum(size_t(w_ / 2 + 1), 0.0);
  int segments = 0;
  // Segments of W steps, half overlapping, laid back from the newest step: a leftover shorter than a
  // hop is the oldest steps, never the newest (README "NN-EEG": Welch over the last steps).
  for (size_t s = (n - size_t(w_)) % size_t(std::max(1, w_ / 2)); s + size_t(w_) <= n; s += size_t(std::max(1, w_ / 2)), ++segments) {
    const std::vector<double> p = periodogram(x + s);
    for (size_t k = 0; k < sum.size(); ++k) sum[k] += p[k];
  }
  for (double& v : sum) v /= segments;
  return sum;
}

std::array<double, kBands> Welch::relative_bands(const std::vector<double>& power) const {
  std::array<double, kBands> bands{};
  double total = 0;
  for (size_t k = 0; k < power.size(); ++k) {
    bands[band_of(double(k) / w_)] += power[k];
    total += power[k];
  }
  for (double& b : bands) b = total > 0 ? b / total : 0.0;
  return bands;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  const size_t mid = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + long(mid), v.end());
  const double upper = v[mid];
  if (v.size() % 2 == 1) return upper;
  return 0.5 * (upper + *std::max_element(v.begin(), v.begin() + long(mid)));
}

double robust_z(double value, const std::vector<double>& history) {
  const double m = median(history);
  std::vector<double> dev(history.size());
  for (size_t i = 0; i < history.size(); ++i) dev[i] = std::fabs(history[i] - m);
  const double mad = std::max(median(dev), 1e-3 * std::fabs(m) + 1e-12);
  return (value - m) / (1.4826 * mad);
}

}  // namespace imaging::eeg
