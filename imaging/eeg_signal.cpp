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

double Welch::bin_power(const std::vector<double>& y, int k) const {
  double re = 0, im = 0;
  for (int t = 0, m = 0; t < w_; ++t, m = (m + k) % w_) {
    re += y[size_t(t)] * cos_[size_t(m)];
    im -= y[size_t(t)] * sin_[size_t(m)];
  }
  return (k == 0 || k == w_ / 2 ? 1.0 : 2.0) * (re * re + im * im) / window_energy_;
}

std::vector<double> Welch::periodogram(const double* x) const {
  const std::vector<double> y = windowed(x);
  const int half = w_ / 2;
  std::vector<double> p(size_t(half + 1));
  for (int k = 0; k <= half; ++k) p[size_t(k)] = bin_power(y, k);
  return p;
}

double Welch::band_power(const double* x, Band band) const {
  const std::vector<double> y = windowed(x);
  double sum = 0;
  for (int k = 0; k <= w_ / 2; ++k)
    if (band_of(double(k) / double(w_)) == band) sum += bin_power(y, k);
  return sum;
}

std::vector<double> Welch::spectrum(const double* x, size_t n) const {
  if (n < size_t(w_))
    throw base::Error("EEG window " + std::to_string(w_) + " steps: longer than the " + std::to_string(n) +
                      " steps of signal");
  std::vector<double> sum(size_t(w_ / 2 + 1), 0.0);
  int segments = 0;
  for (size_t s = 0; s + size_t(w_) <= n; s += size_t(w_ / 2), ++segments) {
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
