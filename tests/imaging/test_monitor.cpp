// tests/imaging/test_monitor.cpp — the monitor's scores on hand cases, its profile file, and its drift
// test on a clean stream (no alarm) and a planted shift (alarms).
#include <gtest/gtest.h>

#include <cblas.h>
#include <omp.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "base/fileio.h"
#include "datasets/corrupt.h"
#include "datasets/dataset.h"
#include "imaging/monitor.h"
#include "imaging/zeta_stats.h"
#include "nn/network.h"
#include "nn/rng.h"
#include "nn/trainer.h"
#include "tests/error_of.h"
#include "tests/temp_dir.h"

namespace {

// A checkpoint digest for a profile these tests fit without a checkpoint file (64 hex digits, as the
// profile's reader requires).
const std::string kAnyDigest(64, 'a');

TEST(MonitorScores, MspAndEnergyOnHandLogits) {
  const float logits[2] = {0.f, float(std::log(3.0))};  // softmax {1/4, 3/4}
  EXPECT_NEAR(imaging::msp_score(logits, 2), -0.75, 1e-7);
  EXPECT_NEAR(imaging::energy_score(logits, 2), -std::log(4.0), 1e-7);
  const float big[3] = {1000.f, 1000.f, -5.f};  // no overflow: softmax max 1/2, energy −(1000 + ln 2)
  EXPECT_NEAR(imaging::msp_score(big, 3), -0.5, 1e-9);
  EXPECT_NEAR(imaging::energy_score(big, 3), -(1000 + std::log(2.0)), 1e-9);
}

TEST(MonitorScores, MahalanobisIsTheNearestClassUnderThePrecision) {
  const float means[4] = {0, 0, 4, 0}, precision[4] = {1, 0, 0, 0.25f};
  // image 0 (1, 2): class 0: 1·1 + 0.25·4 = 2, class 1: 1·9 + 0.25·4 = 10;  image 1 (3.5, 0): class 1: 0.25
  const float h[4] = {1, 2, 3.5f, 0};
  EXPECT_EQ(imaging::mahalanobis_scores(h, 2, means, precision, 2, 2), (std::vector<double>{2.0, 0.25}));
}

// A batch of 300 images with the scratch of an earlier, larger call left in it (NaNs): the same doubles
// at 1 and 2 threads (the sgemm's threads) and with or without the reused scratch, and each the quadratic
// form of its image (Monitor keeps one ScoreScratch across batches: imaging/monitor.h).
TEST(MonitorScores, MahalanobisOfALargeBatchIsTheSameAtAnyThreadCountWithAReusedScratch) {
  const int classes = 3, features = 64, count = 300;
  std::vector<float> means(classes * features), h(count * features), precision(features * features, 0.f);
  for (size_t i = 0; i < means.size(); ++i) means[i] = float(std::sin(1.3 * double(i)));
  for (size_t i = 0; i < h.size(); ++i) h[i] = float(std::cos(0.7 * double(i) + 0.2));
  for (int i = 0; i < features; ++i) precision[size_t(i) * features + i] = 1.f + float(i % 5);
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  const std::vector<double> alone = imaging::mahalanobis_scores(h.data(), count, means.data(), precision.data(), classes, features);
  omp_set_num_threads(2);
  imaging::ScoreScratch scratch;
  scratch.a.assign(size_t(count + 7) * features, std::nanf(""));
  scratch.b.assign(size_t(count + 7) * features, std::nanf(""));
  const std::vector<double> reused =
      imaging::mahalanobis_scores(h.data(), count, means.data(), precision.data(), classes, features, &scratch);
  omp_set_num_threads(threads);
  ASSERT_EQ(alone.size(), size_t(count));
  for (int n = 0; n < count; ++n) {
    EXPECT_EQ(std::memcmp(&alone[size_t(n)], &reused[size_t(n)], sizeof(double)), 0) << "image " << n;
    double best = 1e300;
    for (int c = 0; c < classes; ++c) {
      double q = 0;
      for (int i = 0; i < features; ++i) {
        const double d = double(h[size_t(n) * features + i]) - means[size_t(c) * features + i];
        q += d * precision[size_t(i) * features + i] * d;
      }
      best = std::min(best, q);
    }
    EXPECT_NEAR(alone[size_t(n)], best, 1e-5 * std::max(1.0, best)) << "image " << n;
  }
}

TEST(MonitorScores, MahalanobisOfABatchIsTheQuadraticFormOfEachImage) {
  // A full (non-diagonal) precision and 5 images: the batched sgemm path against the quadratic form
  // written out in double for each image alone.
  const int classes = 3, features = 4, count = 5;
  std::vector<float> means(classes * features), h(count * features), a(features * features), precision(features * features);
  for (size_t i = 0; i < means.size(); ++i) means[i] = float(std::sin(1.3 * double(i)));
  for (size_t i = 0; i < h.size(); ++i) h[i] = float(std::cos(0.7 * double(i) + 0.2));
  for (size_t i = 0; i < a.size(); ++i) a[i] = float(std::sin(2.1 * double(i) + 1));
  for (int i = 0; i < features; ++i)  // P = AᵀA + I: symmetric positive definite
    for (int j = 0; j < features; ++j) {
      double s = i == j ? 1 : 0;
      for (int k = 0; k < features; ++k) s += double(a[k * features + i]) * a[k * features + j];
      precision[i * features + j] = float(s);
    }
  const std::vector<double> batch = imaging::mahalanobis_scores(h.data(), count, means.data(), precision.data(), classes, features);
  for (int n = 0; n < count; ++n) {
    double best = 1e300;
    for (int c = 0; c < classes; ++c) {
      double q = 0;
      for (int i = 0; i < features; ++i)
        for (int j = 0; j < features; ++j)
          q += (double(h[n * features + i]) - means[c * features + i]) * precision[i * features + j] *
               (double(h[n * features + j]) - means[c * features + j]);
      best = std::min(best, q);
    }
    EXPECT_NEAR(batch[size_t(n)], best, 1e-5 * std::max(1.0, best)) << "image " << n;
  }
}

TEST(MonitorScores, KnnIsTheKthDistanceOfTheNormalisedFeatures) {
  const float bank[6] = {1, 0, 0, 1, -1, 0};
  const float h[4] = {2, 0, 0, 0};  // u = (1, 0): distances 0, √2, 2;  h = 0: u = 0, every distance 1
  const std::vector<std::pair<int, std::vector<double>>> expected = {{1, {0.0, 1.0}}, {2, {std::sqrt(2.0), 1.0}}, {3, {2.0, 1.0}}};
  for (const auto& [k, want] : expected) {
    const std::vector<double> got = imaging::knn_scores(h, 2, bank, 3, 2, k);
    ASSERT_EQ(got.size(), 2u);
    for (size_t i = 0; i < 2; ++i) EXPECT_NEAR(got[i], want[i], 1e-6) << "k " << k << " image " << i;
  }
  // A fit image whose features were all 0 left a zero row in the bank: its distance to u is ‖u‖ = 1
  // (and 0 to u = 0), not √2.
  const float with_zero[6] = {0, 0, 0.6f, 0.8f, -1, 0};
  const std::vector<std::pair<int, std::vector<double>>> to_zero = {{1, {std::sqrt(0.8), 0.0}}, {2, {1.0, 1.0}}, {3, {2.0, 1.0}}};
  for (const auto& [k, want] : to_zero) {
    const std::vector<double> got = imaging::knn_scores(h, 2, with_zero, 3, 2, k);
    for (size_t i = 0; i < 2; ++i) EXPECT_NEAR(got[i], want[i], 1e-6) << "zero row, k " << k << " image " << i;
  }
}

// knn_scores takes the dot products of the unit vectors with the bank in one sgemm and keeps the k
// largest of each row in one pass; brute force: every distance ‖u − b_s‖ in double, sorted, the k-th.
// Random features (some rows 0, a bank with repeated vectors so that ties occur), several k.
TEST(MonitorScores, KnnOfABatchEqualsBruteForceDistances) {
  const int count = 37, features = 19, bank_count = 300;
  nn::Rng rng(5);
  const auto value = [&] { return float(int(rng.below(2001)) - 1000) / 250.f; };
  std::vector<float> h(size_t(count) * features), bank(size_t(bank_count) * features);
  for (float& v : h) v = value();
  for (int j = 0; j < features; ++j) h[size_t(3) * features + j] = 0.f;  // h = 0: u = 0
  for (int s = 0; s < bank_count; ++s) {
    if (s % 7 == 6) {  // a copy of an earlier vector: equal distances
      std::copy(bank.begin() + size_t(s - 3) * features, bank.begin() + size_t(s - 2) * features, bank.begin() + size_t(s) * features);
      continue;
    }
    double norm = 0;
    for (int j = 0; j < features; ++j) bank[size_t(s) * features + j] = value(), norm += double(bank[size_t(s) * features + j]) * bank[size_t(s) * features + j];
    for (int j = 0; j < features; ++j) bank[size_t(s) * features + j] = float(bank[size_t(s) * features + j] / std::sqrt(norm));
  }
  for (const int k : {1, 2, 10, 77, bank_count}) {
    const std::vector<double> fast = imaging::knn_scores(h.data(), count, bank.data(), bank_count, features, k);
    ASSERT_EQ(fast.size(), size_t(count));
    for (int i = 0; i < count; ++i) {
      double norm = 0;
      for (int j = 0; j < features; ++j) norm += double(h[size_t(i) * features + j]) * h[size_t(i) * features + j];
      norm = std::sqrt(norm);
      std::vector<double> distances;
      for (int s = 0; s < bank_count; ++s) {
        double d2 = 0;
        for (int j = 0; j < features; ++j) {
          const double u = norm > 0 ? h[size_t(i) * features + j] / norm : 0.0;
          d2 += (u - bank[size_t(s) * features + j]) * (u - bank[size_t(s) * features + j]);
        }
        distances.push_back(std::sqrt(d2));
      }
      std::sort(distances.begin(), distances.end());
      EXPECT_NEAR(fast[size_t(i)], distances[size_t(k - 1)], 2e-6) << "k " << k << " image " << i;
    }
  }
}

TEST(MonitorSketch, QuantilesAreNumpysAndTheCdfInvertsThem) {
  EXPECT_EQ(imaging::sketch_quantiles({4, 1, 3, 2}, 5), (std::vector<float>{1, 1.75f, 2.5f, 3.25f, 4}));
  // A known sample: 10,001 values 0 … 1 in steps of 1e-4 (shuffled): the sketch's percentiles are exact.
  std::vector<double> values;
  for (int i = 0; i <= 10000; ++i) values.push_back(((i * 7919) % 10001) / 10000.0);
  const std::vector<float> q = imaging::sketch_quantiles(values, 101);
  for (int j = 0; j <= 100; ++j) EXPECT_NEAR(q[size_t(j)], j / 100.0, 1e-6);
  EXPECT_NEAR(imaging::sketch_cdf(q.data(), 101, 0.255), 0.255, 1e-6);
  EXPECT_EQ(imaging::sketch_cdf(q.data(), 101, -1), 0.0);
  EXPECT_EQ(imaging::sketch_cdf(q.data(), 101, 2), 1.0);
}

TEST(MonitorSketch, KolmogorovSmirnovDistanceAndPValue) {
  const float uniform[2] = {0, 1};
  EXPECT_DOUBLE_EQ(imaging::ks_distance({0.5}, uniform, 2), 0.5);
  EXPECT_NEAR(imaging::ks_distance({0.1, 0.2, 0.3, 0.4}, uniform, 2), 0.6, 1e-12);  // at 0.4: 1 − 0.4
  // Q_KS(1) = 0.2699996716735…: D chosen so that (√n_e + 0.12 + 0.11/√n_e)·D = 1 for n = m = 200.
  const double ne = 100, d = 1 / (std::sqrt(ne) + 0.12 + 0.11 / std::sqrt(ne));
  EXPECT_NEAR(imaging::ks_p_value(d, 200, 200), 0.2699996716735, 1e-9);
  EXPECT_EQ(imaging::ks_p_value(0, 100, 1000), 1.0);
  EXPECT_LT(imaging::ks_p_value(0.5, 100, 1000), 1e-15);
}

// ks_distance walks the sketch upwards with the sorted window; the definition: D = sup_x |F_n(x) − F(x)|,
// here brute force: at every window value and every quantile, and just left of each (F_n(x−) counted
// exactly, F(x−) read 1e-5 below x: the values lie on grids of 1/80 and 1/8, so nothing is in between).
// Random windows (ties, values outside the sketch, values equal to a quantile) against sketches with
// repeated quantiles (jumps of F).
TEST(MonitorSketch, KolmogorovSmirnovWalkIsTheSupOfTheDifference) {
  nn::Rng rng(11);
  for (int trial = 0; trial < 200; ++trial) {
    const int count = 2 + int(rng.below(40)), n = 1 + int(rng.below(150));
    std::vector<float> q(static_cast<size_t>(count));
    for (float& v : q) v = float(int(rng.below(41)) - 20) / 8.f;  // steps of 1/8: repeated quantiles
    std::sort(q.begin(), q.end());
    std::vector<double> window(static_cast<size_t>(n));
    for (double& v : window) v = rng.below(3) == 0 ? double(q[rng.below(uint64_t(count))]) : double(int(rng.below(1001)) - 500) / 80.0;
    std::vector<double> points = window;
    points.insert(points.end(), q.begin(), q.end());
    double d = 0;
    for (double x : points) {
      const double at = double(std::count_if(window.begin(), window.end(), [&](double w) { return w <= x; })) / n;
      const double left = double(std::count_if(window.begin(), window.end(), [&](double w) { return w < x; })) / n;
      d = std::max({d, std::fabs(at - imaging::sketch_cdf(q.data(), count, x)),
                    std::fabs(left - imaging::sketch_cdf(q.data(), count, x - 1e-5))});
    }
    ASSERT_NEAR(imaging::ks_distance(window, q.data(), count), d, 1e-3) << "trial " << trial;
  }
}

// A profile with a point mass (60 % of its values at 0: a ReLU region silent on most images) and a window
// drawn the same way: D is small (the sketch's resolution and the window's sampling), not the point
// mass's 0.6 (what the walk gave when it used F(v) for F's left limit at v).
TEST(MonitorSketch, APointMassOfTheProfileIsNotDistance) {
  nn::Rng rng(5);
  std::vector<double> fit(1000, 0.0), window(100, 0.0);
  for (size_t i = 600; i < fit.size(); ++i) fit[i] = 0.001 + rng.uniform();
  for (size_t i = 60; i < window.size(); ++i) window[i] = 0.001 + rng.uniform();
  const std::vector<float> q = imaging::sketch_quantiles(fit, 101);
  const double d = imaging::ks_distance(window, q.data(), 101);
  EXPECT_LT(d, 0.15) << d;
  EXPECT_GT(imaging::ks_p_value(d, 100, 1000), 0.01);
}

// Ledoit–Wolf against its definition written out term by term (README "spatial_cov"): S, m, δ², and
// β² through the sum Σ_i ‖c_i c_iᵀ − S‖²_F itself (the code uses the expanded form).  With many
// images and few variables the shrinkage is small; with fewer images than variables it is larger.
TEST(MonitorScores, LedoitWolfIsTheDefinitionsShrinkage) {
  for (const auto& [n, p] : std::vector<std::pair<long, int>>{{7, 3}, {200, 4}, {5, 12}}) {
    std::vector<double> x(size_t(n) * p);
    nn::Rng rng(uint64_t(n * 100 + p));
    for (long i = 0; i < n; ++i) {
      const double shared = rng.uniform() - 0.5;  // a direction every variable shares
      for (int a = 0; a < p; ++a) x[size_t(i) * p + a] = (a + 1) * shared + 0.3 * (rng.uniform() - 0.5) + a;
    }
    std::vector<double> centre(size_t(p), 0.0), s(size_t(p) * p, 0.0);
    for (long i = 0; i < n; ++i)
      for (int a = 0; a < p; ++a) centre[size_t(a)] += x[size_t(i) * p + a] / double(n);
    for (long i = 0; i < n; ++i)
      for (int a = 0; a < p; ++a)
        for (int b = 0; b < p; ++b)
          s[size_t(a) * p + b] += (x[size_t(i) * p + a] - centre[size_t(a)]) * (x[size_t(i) * p + b] - centre[size_t(b)]) / double(n);
    double m = 0, delta2 = 0, sum = 0;
    for (int a = 0; a < p; ++a) m += s[size_t(a) * p + a] / p;
    for (int a = 0; a < p; ++a)
      for (int b = 0; b < p; ++b) delta2 += std::pow(s[size_t(a) * p + b] - (a == b ? m : 0.0), 2) / p;
    for (long i = 0; i < n; ++i)
      for (int a = 0; a < p; ++a)
        for (int b = 0; b < p; ++b)
          sum += std::pow((x[size_t(i) * p + a] - centre[size_t(a)]) * (x[size_t(i) * p + b] - centre[size_t(b)]) - s[size_t(a) * p + b], 2);
    const double rho = std::min(delta2, sum / (double(n) * n * p)) / delta2;
    std::vector<double> got_centre;
    double got_rho = -1;
    const std::vector<double> c = imaging::ledoit_wolf(x, n, p, got_centre, got_rho);
    ASSERT_NEAR(got_rho, rho, 1e-12) << n << "x" << p;
    EXPECT_GT(rho, 0.0);
    EXPECT_LT(rho, 1.0);
    for (int a = 0; a < p; ++a) {
      ASSERT_NEAR(got_centre[size_t(a)], centre[size_t(a)], 1e-12);
      for (int b = 0; b < p; ++b)
        ASSERT_NEAR(c[size_t(a) * p + b], (1 - rho) * s[size_t(a) * p + b] + (a == b ? rho * m : 0.0), 1e-12) << a << "," << b;
    }
  }
  // One variable: S is already m·I, δ² = 0, ρ = 1, and C = S.
  std::vector<double> centre;
  double rho = 0;
  EXPECT_EQ(imaging::ledoit_wolf({1, 2, 3, 6}, 4, 1, centre, rho), (std::vector<double>{3.5}));
  EXPECT_EQ(rho, 1.0);
}

// A tiny untrained net and images of a known distribution: pixels 128 ± 40 (uniform), three classes.
class Monitor : public TempDirTest {
 protected:
  static datasets::Dataset images(size_t n, uint64_t seed) {
    datasets::Dataset d;
    d.name = "test", d.channels = 3, d.height = d.width = 16;
    d.class_names = {"a", "b", "c"};
    nn::Rng rng(seed);
    for (size_t i = 0; i < n; ++i) d.labels.push_back(uint8_t(i % 3));
    for (size_t i = 0; i < n * d.image_size(); ++i) d.pixels.push_back(uint8_t(88 + rng.below(81)));
    return d;
  }
  static nn::Network net() {
    nn::Network n("conv3x3:4 relu maxpool2 conv3x3:4 relu maxpool2 linear:8 relu linear:3", 3, 16, 16);
    n.init(3);
    n.input_mean.assign(3, 0.5f);
    n.input_std.assign(3, 0.25f);
    return n;
  }
  static imaging::MonitorSettings settings() {
    imaging::MonitorSettings s;
    s.grid.grid = {4, 4, 2};
    s.knn_images = 300;
    s.knn_k = 5;
    return s;
  }
  // The first `count` images of d scored by `monitor` in one batch.
  static std::vector<imaging::ImageScores> score_first(imaging::Monitor& monitor, nn::Network& n, const datasets::Dataset& d,
                                                       int count) {
    std::vector<uint32_t> index(static_cast<size_t>(count));
    for (int i = 0; i < count; ++i) index[size_t(i)] = uint32_t(i);
    nn::Tensor x;
    std::vector<uint8_t> y;
    std::vector<imaging::ImageScores> scores;
    std::vector<imaging::WindowDrift> windows;
    nn::make_batch(n, d.view(), index.data(), count, nullptr, 0, 0, 0, x, y);
    monitor.score_batch(x, scores, windows);
    return scores;
  }
  // φ_g of the first `count` images of a probed block appended to phi[block][region] (rounded to float,
  // as the monitor keeps it, when as_float).
  static void append_phi(const imaging::Profile& p, const nn::BlockView& v, int count, bool as_float,
                         std::vector<std::vector<std::vector<double>>>& phi) {
    const run::RegionGrid& grid = p.layers[size_t(v.index)].grid;
    const size_t sample = size_t(grid.channels) * grid.height * grid.width;
    std::vector<double> values(size_t(grid.count()));
    for (int i = 0; i < count; ++i) {
      imaging::image_phi(grid, v.a.data() + size_t(i) * sample, p.settings.grid.lambda, p.settings.grid.epsilon, values.data());
      for (int r = 0; r < grid.count(); ++r)
        phi[size_t(v.index)][size_t(r)].push_back(as_float ? double(float(values[size_t(r)])) : values[size_t(r)]);
    }
  }
  // Windows of `window` images of d through a Monitor; the number that alarm.
  static int alarms(const imaging::Profile& profile, nn::Network& n, const datasets::Dataset& d, long window,
                    std::vector<imaging::ImageScores>* all = nullptr) {
    imaging::Monitor monitor(profile, n, window, 0.01);
    const nn::LabeledImages view = d.view();
    std::vector<uint32_t> index(view.count);
    for (size_t i = 0; i < index.size(); ++i) index[i] = uint32_t(i);
    nn::Tensor x;
    std::vector<uint8_t> y;
    std::vector<imaging::ImageScores> scores;
    std::vector<imaging::WindowDrift> windows;
    int count = 0;
    for (size_t offset = 0; offset < view.count; offset += 64) {
      const int batch = int(std::min<size_t>(64, view.count - offset));
      nn::make_batch(n, view, index.data() + offset, batch, nullptr, 0, 0, 0, x, y);
      monitor.score_batch(x, scores, windows);
      for (const imaging::WindowDrift& w : windows) count += w.alarm;
      if (all) all->insert(all->end(), scores.begin(), scores.end());
    }
    return count;
  }
};

// The profile holds the statistics of the fit images themselves, recomputed here from a second forward
// of the same batches: per region μ_g and the population σ_g of φ_g (a sample sd, a variance, or a
// subset of the images would be off), the sketch's quantiles at p = j/(Q−1) (numpy's linear rule), the
// class means of the penultimate features h, the tied precision P with P·(Σ + δI) = I for the
// class-centred Σ (an uncentred or untied Σ would not do), the KNN bank the unit vectors of the first
// images; and z_g = (φ_g − μ_g)/σ_g is what the monitor scores.
TEST_F(Monitor, ProfileHoldsTheFitImagesStatistics) {
  nn::Network n = net();
  const datasets::Dataset fit = images(300, 4);
  const imaging::Profile p = imaging::fit_profile(n, fit.view(), 300, 64, settings(), kAnyDigest, {});
  const nn::LabeledImages view = fit.view();
  const int N = 300, Q = p.settings.quantiles, D = p.features, K = p.classes;
  ASSERT_EQ(D, 8);
  std::vector<std::vector<std::vector<double>>> phi(p.layers.size());  // [block][region][image]
  for (size_t l = 0; l < p.layers.size(); ++l) phi[l].resize(size_t(p.layers[l].grid.count()));
  std::vector<double> h;  // (N, D)
  std::vector<uint32_t> index(static_cast<size_t>(N));
  for (int i = 0; i < N; ++i) index[size_t(i)] = uint32_t(i);
  nn::Tensor x;
  std::vector<uint8_t> y;
  for (int offset = 0; offset < N; offset += 64) {
    const int count = std::min(64, N - offset);
    nn::make_batch(n, view, index.data() + offset, count, nullptr, 0, 0, 0, x, y);
    const nn::Probe probe = [&](const nn::BlockView& v) {
      append_phi(p, v, count, false, phi);
      if (size_t(v.index) + 1 == p.layers.size())
        for (int i = 0; i < count * D; ++i) h.push_back(v.input.data()[i]);
    };
    n.forward(x, false, &probe);
  }
  ASSERT_EQ(h.size(), size_t(N) * D);
  int regions_checked = 0;
  for (size_t l = 0; l < p.layers.size(); ++l)
    for (int r = 0; r < p.layers[l].grid.count(); ++r) {
      std::vector<double> v = phi[l][size_t(r)];
      ASSERT_EQ(v.size(), size_t(N));
      double mean = 0, var = 0;
      for (double a : v) mean += a / N;
      for (double a : v) var += (a - mean) * (a - mean) / N;
      const double scale = std::max(1.0, std::fabs(mean));
      ASSERT_NEAR(p.layers[l].mean.data()[r], mean, 1e-5 * scale) << p.layers[l].name << " region " << r;
      ASSERT_NEAR(p.layers[l].sd.data()[r], std::sqrt(var), 1e-5 * scale) << p.layers[l].name << " region " << r;
      std::sort(v.begin(), v.end());
      for (int j : {0, 1, 25, 50, 99, 100}) {
        const double at = double(N - 1) * j / (Q - 1);
        const size_t lo = size_t(std::floor(at));
        const double want = lo + 1 < v.size() ? v[lo] + (at - double(lo)) * (v[lo + 1] - v[lo]) : v[lo];
        ASSERT_NEAR(p.layers[l].quantiles.data()[size_t(r) * Q + j], want, 1e-5 * scale) << p.layers[l].name << " q" << j;
      }
      regions_checked += var > 1e-6;
    }
  EXPECT_GT(regions_checked, 20);  // regions that vary: the σ check is not a check of zeros
  // Class means, the class-centred tied covariance and its inverse.
  std::vector<double> means(size_t(K) * D, 0.0), counts(size_t(K), 0.0), sigma(size_t(D) * D, 0.0);
  for (int i = 0; i < N; ++i) {
    counts[view.labels[i]] += 1;
    for (int d = 0; d < D; ++d) means[size_t(view.labels[i]) * D + d] += h[size_t(i) * D + d];
  }
  for (int k = 0; k < K; ++k)
    for (int d = 0; d < D; ++d) {
      means[size_t(k) * D + d] /= counts[size_t(k)];
      ASSERT_NEAR(p.class_means.data()[size_t(k) * D + d], means[size_t(k) * D + d], 1e-5) << "class " << k << " feature " << d;
    }
  for (int i = 0; i < N; ++i)
    for (int a = 0; a < D; ++a)
      for (int b = 0; b < D; ++b)
        sigma[size_t(a) * D + b] += (h[size_t(i) * D + a] - means[size_t(view.labels[i]) * D + a]) *
                                    (h[size_t(i) * D + b] - means[size_t(view.labels[i]) * D + b]) / N;
  double trace = 0;
  for (int d = 0; d < D; ++d) trace += sigma[size_t(d) * D + d];
  ASSERT_GT(trace, 0);
  const double delta = 1e-6 * trace / D + 1e-12;
  for (int a = 0; a < D; ++a)
    for (int b = 0; b < D; ++b) {
      double product = 0;
      for (int c = 0; c < D; ++c) product += double(p.precision.data()[size_t(a) * D + c]) * (sigma[size_t(c) * D + b] + (c == b ? delta : 0));
      ASSERT_NEAR(product, a == b ? 1.0 : 0.0, 2e-3) << "(P·(Σ + δI))[" << a << "][" << b << "]";
    }
  // The KNN bank: the unit vectors of the first images.
  ASSERT_EQ(p.knn.shape().h, 300);
  for (int i = 0; i < 300; ++i) {
    double norm = 0;
    for (int d = 0; d < D; ++d) norm += h[size_t(i) * D + d] * h[size_t(i) * D + d];
    norm = std::sqrt(norm);
    for (int d = 0; d < D; ++d)
      ASSERT_NEAR(p.knn.data()[size_t(i) * D + d], norm > 0 ? h[size_t(i) * D + d] / norm : 0.0, 1e-6) << "image " << i;
  }
  // z of a scored image: (φ − μ)/σ with the profile's μ and σ.
  imaging::Monitor monitor(p, n, 1000, 0.01);
  score_first(monitor, n, fit, 3);
  const std::vector<std::vector<float>> z = monitor.region_z(2);
  for (size_t l = 0; l < p.layers.size(); ++l)
    for (int r = 0; r < p.layers[l].grid.count(); ++r) {
      const double sd = p.layers[l].sd.data()[r];
      if (sd <= imaging::kMinRegionSd) continue;
      ASSERT_NEAR(z[l][size_t(r)], (phi[l][size_t(r)][2] - p.layers[l].mean.data()[r]) / sd, 1e-3) << p.layers[l].name << " region " << r;
    }
}

// An image's region lists (README "Monitoring"): `top` the kTopRegions largest |z_g| over every region
// of every block with σ_g > kMinRegionSd, largest first (ties: block, then region), `layer_top` each such
// block's largest |z_g|; recomputed from the monitor's own z (region_z) for images of a shifted stream
// (large z of both signs).
TEST_F(Monitor, TopRegionsAreTheLargestAbsoluteZ) {
  nn::Network n = net();
  const datasets::Dataset fit = images(400, 1);
  const imaging::Profile p = imaging::fit_profile(n, fit.view(), 400, 64, settings(), kAnyDigest, {});
  datasets::Dataset stream = images(64, 2), faded = images(32, 3);  // 32 noisy images, then 32 of low contrast
  datasets::corrupt_dataset(stream, datasets::CorruptionKind::noise, 5, 1, 0);
  datasets::corrupt_dataset(faded, datasets::CorruptionKind::contrast, 5, 1, 0);
  std::copy(faded.pixels.begin(), faded.pixels.end(), stream.pixels.begin() + long(32 * stream.image_size()));
  imaging::Monitor monitor(p, n, 1000, 0.01);
  const std::vector<imaging::ImageScores> scores = score_first(monitor, n, stream, 64);
  int negative = 0, positive = 0;
  for (int i = 0; i < 64; ++i) {
    const std::vector<std::vector<float>> z = monitor.region_z(i);
    std::vector<imaging::RegionScore> every, best;
    for (size_t l = 0; l < p.layers.size(); ++l) {
      imaging::RegionScore top{int(l), -1, 0};
      for (int r = 0; r < p.layers[l].grid.count(); ++r) {
        if (!(p.layers[l].sd.data()[r] > imaging::kMinRegionSd)) continue;
        every.push_back({int(l), r, z[l][size_t(r)]});
        if (top.region < 0 || std::fabs(z[l][size_t(r)]) > std::fabs(top.z)) top = every.back();
      }
      if (top.region >= 0) best.push_back(top);
    }
    std::stable_sort(every.begin(), every.end(),
                     [](const imaging::RegionScore& a, const imaging::RegionScore& b) { return std::fabs(a.z) > std::fabs(b.z); });
    const imaging::ImageScores& s = scores[size_t(i)];
    ASSERT_EQ(s.top.size(), size_t(imaging::kTopRegions)) << "image " << i;
    for (size_t k = 0; k < s.top.size(); ++k) {
      EXPECT_EQ(s.top[k].layer, every[k].layer) << "image " << i << " entry " << k;
      EXPECT_EQ(s.top[k].region, every[k].region) << "image " << i << " entry " << k;
      EXPECT_NEAR(s.top[k].z, every[k].z, 1e-4 * std::max(1.0, std::fabs(every[k].z))) << "image " << i << " entry " << k;
      negative += s.top[k].z < 0, positive += s.top[k].z > 0;
    }
    ASSERT_EQ(s.layer_top.size(), best.size()) << "image " << i;
    for (size_t l = 0; l < best.size(); ++l) {
      EXPECT_EQ(s.layer_top[l].layer, best[l].layer) << "image " << i;
      EXPECT_EQ(s.layer_top[l].region, best[l].region) << "image " << i << " block " << best[l].layer;
    }
  }
  EXPECT_GT(negative, 0);  // listed z of both signs: the order is by |z|, not by z
  EXPECT_GT(positive, 0);
}

// S(x) = (1/L) Σ_l (1/|G_l|) Σ_{g∈G_l} z_g², G_l the regions of block l with σ_g > kMinRegionSd (README
// "spatial"): a region without spread is left out of its block's mean, not counted as a z of 0.  Block 0
// gets two such regions here (σ set to 0 in the profile).
TEST_F(Monitor, SpatialIsTheMeanOverBlocksOfEachBlocksMeanZSquared) {
  nn::Network n = net();
  const datasets::Dataset fit = images(400, 1), stream = images(32, 2);
  imaging::Profile p = imaging::fit_profile(n, fit.view(), 400, 64, settings(), kAnyDigest, {});
  p.layers[0].sd.data()[0] = 0.f;
  p.layers[0].sd.data()[3] = 0.f;
  imaging::Monitor monitor(p, n, 1000, 0.01);
  const std::vector<imaging::ImageScores> scores = score_first(monitor, n, stream, 32);
  int left_out = 0;
  for (int i = 0; i < 32; ++i) {
    const std::vector<std::vector<float>> z = monitor.region_z(i);
    double total = 0;
    int blocks = 0;
    for (size_t l = 0; l < p.layers.size(); ++l) {
      double sum = 0;
      int used = 0;
      for (int r = 0; r < p.layers[l].grid.count(); ++r) {
        if (!(p.layers[l].sd.data()[r] > imaging::kMinRegionSd)) {
          left_out += i == 0;
          continue;
        }
        sum += double(z[l][size_t(r)]) * z[l][size_t(r)];
        ++used;
      }
      if (used) total += sum / used, ++blocks;
    }
    ASSERT_GT(blocks, 0);
    EXPECT_NEAR(scores[size_t(i)].spatial, total / blocks, 1e-4 * std::max(1.0, total / blocks)) << "image " << i;
  }
  EXPECT_GE(left_out, 2);
}

// A net whose block below the logits has 16,384 features: Mahalanobis's precision alone is 2^28 floats,
// the whole of what a profile may hold.  The fit allocated its D×D doubles (and a 65,536-feature net's
// 34 GB: out of memory, exit 3) or wrote a profile over the limit that monitor refused; now it is one
// line before the pass over the images, naming what makes the profile that large.
TEST_F(Monitor, AProfileLargerThanAProfileMayBeIsRefusedBeforeTheFit) {
  nn::Network wide("conv3x3:64 relu linear:3", 3, 16, 16);
  wide.init(3);
  const datasets::Dataset fit = images(6, 1);
  const std::string m = error_of([&] { imaging::fit_profile(wide, fit.view(), 6, 6, settings(), kAnyDigest, {}); });
  EXPECT_NE(m.find("monitor fit: the profile would hold "), std::string::npos) << m;
  EXPECT_NE(m.find("more than a profile's 1073741824 bytes: 16384 features below the logits (268435456 for Mahalanobis)"),
            std::string::npos) << m;
}

TEST_F(Monitor, ProfileRoundTripAndRefusals) {
  nn::Network n = net();
  const datasets::Dataset fit = images(600, 1);
  imaging::Profile p = imaging::fit_profile(n, fit.view(), 600, 64, settings(), std::string(64, 'a'), {{"test", 1}});
  ASSERT_EQ(p.layers.size(), 6u);  // conv1 pool1 conv2 pool2 fc1 output
  EXPECT_EQ(p.features, 8);
  EXPECT_EQ(p.knn.shape().h, 300);
  imaging::save_profile(path("a.profile"), p);
  imaging::Profile back = imaging::load_profile(path("a.profile"));
  imaging::save_profile(path("b.profile"), back);
  EXPECT_EQ(base::read_file(path("a.profile")), base::read_file(path("b.profile")));
  EXPECT_EQ(back.checkpoint_sha256, std::string(64, 'a'));
  for (size_t i = 0; i < p.precision.size(); ++i) ASSERT_EQ(back.precision.data()[i], p.precision.data()[i]);
  // The tied precision inverts the covariance: P·Σ ≈ I is checked through the hand case above; here
  // each region's sketch brackets its mean.
  for (const imaging::LayerProfile& l : back.layers)
    for (int r = 0; r < l.grid.count(); ++r) {
      EXPECT_LE(l.quantiles.data()[size_t(r) * 101], l.mean.data()[r] + 1e-5f);
      EXPECT_GE(l.quantiles.data()[size_t(r) * 101 + 100], l.mean.data()[r] - 1e-5f);
    }
  imaging::check_profile_fits(back, "a.profile", n, "model.ckpt", std::string(64, 'a'));
  expect_error_naming([&] { imaging::check_profile_fits(back, "a.profile", n, "other.ckpt", std::string(64, 'b')); },
                      "--profile a.profile: made for the checkpoint");
  nn::Network other("conv3x3:4 relu maxpool2 linear:3", 3, 16, 16);
  expect_error_naming([&] { imaging::check_profile_fits(back, "a.profile", other, "m.ckpt", std::string(64, 'a')); },
                      "its blocks are not those of m.ckpt");
  // A recorded digest that is none (no nnfmri profile holds one) is refused at load, quoted whole: it was
  // compared and then cut at 16 bytes into the error line, through a character (the 'é' here).
  {
    imaging::Profile bad = back;
    bad.checkpoint_sha256 = std::string(15, 'a') + "\xc3\xa9";
    imaging::save_profile(path("sha.profile"), bad);
    expect_error_naming([&] { imaging::load_profile(path("sha.profile")); },
                        "sha.profile: /checkpoint_sha256: 'aaaaaaaaaaaaaaa\xc3\xa9', expected 64 lower-case hex digits (a SHA-256)");
  }
  // Truncated, one byte flipped, another kind of file: one error naming the file.
  const std::string bytes = base::read_file(path("a.profile"));
  base::write_file_atomic(path("cut.profile"), bytes.substr(0, bytes.size() / 2));
  expect_error_naming([&] { imaging::load_profile(path("cut.profile")); }, "cut.profile: not a valid nnfmri monitor profile");
  std::string flipped = bytes;
  flipped[flipped.size() / 2] ^= 1;
  base::write_file_atomic(path("flip.profile"), flipped);
  expect_error_naming([&] { imaging::load_profile(path("flip.profile")); }, "checksum mismatch");
  base::write_file_atomic(path("ck.profile"), "NNFMRIck" + bytes.substr(8));
  expect_error_naming([&] { imaging::load_profile(path("ck.profile")); }, "bad magic");
  // A checksummed profile with a NaN inside a sketch (is_sorted passes NaN) or an infinite sd: refused
  // (a NaN quantile made every window alarm; an infinite sd tested the region with z = 0); quantiles out
  // of order, a negative sd.
  for (int what = 0; what < 4; ++what) {
    imaging::Profile bad = back;
    float* q = bad.layers[1].quantiles.data();
    if (what == 0) q[50] = std::nanf("");
    if (what == 1) bad.layers[1].sd.data()[0] = std::numeric_limits<float>::infinity();
    if (what == 2) std::swap(q[0], q[100]);
    if (what == 3) bad.layers[1].sd.data()[0] = -1;
    if (what == 2 && q[0] == q[100]) continue;  // a constant region: nothing to put out of order
    imaging::save_profile(path("bad.profile"), bad);
    const char* expected[] = {"tensor pool1.quantiles holds nan at element 50, expected finite numbers",
                              "tensor pool1.sd holds inf at element 0, expected finite numbers",
                              "layer pool1 region 0: a negative sd or quantiles out of order",
                              "layer pool1 region 0: a negative sd or quantiles out of order"};
    expect_error_naming([&] { imaging::load_profile(path("bad.profile")); }, expected[what]);
  }
  // A μ outside its region's sketch [q_0, q_{Q−1}] (the fit images' min and max), or a σ above half its
  // width: no fit writes them (a μ of 3e38 gave every spatial score and z as null in monitor.jsonl).
  for (int what = 0; what < 2; ++what) {
    imaging::Profile bad = back;
    imaging::LayerProfile& l = bad.layers[1];
    int r = 0;
    while (r < l.grid.count() && !(l.quantiles.data()[size_t(r) * 101 + 100] > l.quantiles.data()[size_t(r) * 101])) ++r;
    ASSERT_LT(r, l.grid.count()) << "a region of pool1 that varies";
    const float width = l.quantiles.data()[size_t(r) * 101 + 100] - l.quantiles.data()[size_t(r) * 101];
    if (what == 0) l.mean.data()[r] = 3e38f;
    if (what == 1) l.sd.data()[r] = 0.6f * width;
    imaging::save_profile(path("bad.profile"), bad);
    expect_error_naming([&] { imaging::load_profile(path("bad.profile")); },
                        "layer pool1 region " + std::to_string(r) + ": mean ");
    expect_error_naming([&] { imaging::load_profile(path("bad.profile")); }, "do not fit its sketch");
  }
  // A λ or ε outside the --lambda and --epsilon flags' ranges: a λ of 1e308 made every φ infinite and
  // every spatial score null in monitor.jsonl.
  for (int what = 0; what < 2; ++what) {
    imaging::Profile bad = back;
    (what == 0 ? bad.settings.grid.lambda : bad.settings.grid.epsilon) = 1e308;
    imaging::save_profile(path("bad.profile"), bad);
    expect_error_naming([&] { imaging::load_profile(path("bad.profile")); },
                        what == 0 ? "bad.profile: /lambda: expected a number from -1000000 to 1000000"
                                  : "bad.profile: /epsilon: expected a number from 0 to 1000000");
  }
}

// The tied precision adds no thread dependence (README "Monitoring": it is inverted on one thread): with
// 512 penultimate features from a pool, whose forward does not depend on the thread count, a profile is the
// same bytes at 1 and 2 threads (LAPACK's Cholesky on 2 threads splits its sums otherwise).
TEST_F(Monitor, AProfileIsTheSameBytesAtOneAndTwoThreads) {
  nn::Network n("conv3x3:8 relu maxpool2 linear:3", 3, 16, 16);
  n.init(5);
  n.input_mean.assign(3, 0.5f);
  n.input_std.assign(3, 0.25f);
  const datasets::Dataset fit = images(500, 6);
  const int saved = omp_get_max_threads();
  std::vector<std::string> bytes;
  for (const int threads : {1, 2}) {
    omp_set_num_threads(threads);
    openblas_set_num_threads(threads);
    imaging::Profile p = imaging::fit_profile(n, fit.view(), 500, 64, settings(), kAnyDigest, {});
    ASSERT_EQ(p.precision.size(), 512u * 512u);
    imaging::save_profile(path("p.profile"), p);
    bytes.push_back(base::read_file(path("p.profile")));
  }
  omp_set_num_threads(saved);
  openblas_set_num_threads(saved);
  EXPECT_TRUE(bytes[0] == bytes[1]);
}

// `nnfmri profile` and `monitor` run the net inference-only (nn::Network::set_inference_only: no
// max-pool argmax) and their probes read no z (the conv→relu fusion stays on): the profile's bytes
// and every score of every image are those of the full net.
TEST_F(Monitor, AnInferenceOnlyNetGivesTheSameProfileAndScores) {
  nn::Network full = net(), lean = net();
  lean.set_inference_only(true);
  imaging::MonitorSettings s = settings();
  s.spatial_bank = 100;
  const datasets::Dataset fit = images(400, 1), test = images(150, 2);
  imaging::Profile p = imaging::fit_profile(full, fit.view(), 400, 64, s, std::string(64, 'a'), {{"test", 1}});
  imaging::Profile q = imaging::fit_profile(lean, fit.view(), 400, 64, s, std::string(64, 'a'), {{"test", 1}});
  imaging::save_profile(path("full.profile"), p);
  imaging::save_profile(path("lean.profile"), q);
  EXPECT_EQ(base::read_file(path("full.profile")), base::read_file(path("lean.profile")));
  std::vector<imaging::ImageScores> a, b;
  EXPECT_EQ(alarms(p, full, test, 50, &a), alarms(p, lean, test, 50, &b));
  ASSERT_EQ(a.size(), 150u);
  ASSERT_EQ(b.size(), a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].prediction, b[i].prediction) << i;
    const std::vector<double> x = {a[i].msp, a[i].energy, a[i].mahalanobis, a[i].knn, a[i].spatial, a[i].spatial_cov, a[i].spatial_typ, a[i].spatial_knn};
    const std::vector<double> y = {b[i].msp, b[i].energy, b[i].mahalanobis, b[i].knn, b[i].spatial, b[i].spatial_cov, b[i].spatial_typ, b[i].spatial_knn};
    EXPECT_EQ(x, y) << i;
    ASSERT_EQ(a[i].top.size(), b[i].top.size()) << i;
    for (size_t k = 0; k < a[i].top.size(); ++k)
      EXPECT_TRUE(a[i].top[k].layer == b[i].top[k].layer && a[i].top[k].region == b[i].top[k].region && a[i].top[k].z == b[i].top[k].z) << i;
  }
  EXPECT_GT(a[0].spatial_knn, 0.0);  // the bank is in play
}

TEST_F(Monitor, CleanWindowsDoNotAlarmAShiftedStreamDoes) {
  nn::Network n = net();
  const datasets::Dataset fit = images(1200, 1);
  const imaging::Profile p = imaging::fit_profile(n, fit.view(), 1200, 64, settings(), kAnyDigest, {});
  std::vector<imaging::ImageScores> clean_scores, shifted_scores;
  EXPECT_EQ(alarms(p, n, images(500, 2), 100, &clean_scores), 0);  // five clean windows of new images
  datasets::Dataset shifted = images(500, 3);
  datasets::corrupt_dataset(shifted, datasets::CorruptionKind::contrast, 5, 1, 0);
  EXPECT_EQ(alarms(p, n, shifted, 100, &shifted_scores), 5);  // every window of the contrast shift
  // The spatial score sees the shift image by image: every shifted image above the clean median.
  std::vector<double> clean;
  for (const auto& s : clean_scores) clean.push_back(s.spatial);
  ASSERT_EQ(clean.size(), 500u);
  ASSERT_EQ(shifted_scores.size(), 500u);
  std::nth_element(clean.begin(), clean.begin() + 250, clean.end());
  for (const auto& s : shifted_scores) ASSERT_GT(s.spatial, clean[250]);
  // Distances between unit vectors lie in [0, 2]; the MSP in [−1, −1/K].
  ASSERT_EQ(clean_scores.size(), 500u);
  for (const auto& s : clean_scores) {
    ASSERT_GE(s.knn, 0);
    ASSERT_LE(s.knn, 2 + 1e-6);
    ASSERT_GE(s.msp, -1 - 1e-12);
    ASSERT_LE(s.msp, -1.0 / 3 + 1e-12);
  }
}

// Each window's KS distance and p are those of its own images' φ against the region's sketch, when the
// windows end inside a batch and a batch ends inside a window (the open window is filled a run of
// images at a time, and the regions are tested side by side): φ recomputed here from a second forward
// of the same batches (the same activations), as float like the monitor keeps it, to the bit.
TEST_F(Monitor, WindowDistancesAreTheKsOfTheWindowsOwnPhiAcrossBatches) {
  nn::Network n = net();
  const datasets::Dataset fit = images(600, 1);
  const imaging::Profile p = imaging::fit_profile(n, fit.view(), 600, 64, settings(), kAnyDigest, {});
  datasets::Dataset stream = images(330, 3);
  datasets::corrupt_dataset(stream, datasets::CorruptionKind::contrast, 3, 1, 0);
  const long window = 70;  // 4 windows ending at images 69, 139, 209, 279; batches of 64
  imaging::Monitor monitor(p, n, window, 0.01);
  std::vector<std::vector<std::vector<double>>> phi(p.layers.size());  // [block][region]: φ in image order
  for (size_t l = 0; l < p.layers.size(); ++l) phi[l].resize(size_t(p.layers[l].grid.count()));
  const nn::LabeledImages view = stream.view();
  std::vector<uint32_t> index(view.count);
  for (size_t i = 0; i < index.size(); ++i) index[i] = uint32_t(i);
  nn::Tensor x;
  std::vector<uint8_t> y;
  std::vector<imaging::ImageScores> scores;
  std::vector<imaging::WindowDrift> windows, all;
  for (size_t offset = 0; offset < view.count; offset += 64) {
    const int count = int(std::min<size_t>(64, view.count - offset));
    nn::make_batch(n, view, index.data() + offset, count, nullptr, 0, 0, 0, x, y);
    monitor.score_batch(x, scores, windows);
    all.insert(all.end(), windows.begin(), windows.end());
    const nn::Probe probe = [&](const nn::BlockView& v) { append_phi(p, v, count, true, phi); };
    n.forward(x, false, &probe);
  }
  ASSERT_EQ(all.size(), 4u);
  const int q = p.settings.quantiles;
  int compared = 0;
  for (size_t k = 0; k < all.size(); ++k) {
    ASSERT_EQ(all[k].first, long(k) * window);
    ASSERT_EQ(all[k].top.size(), size_t(imaging::kTopRegions));
    for (const imaging::WindowDrift::Region& g : all[k].top) {
      const std::vector<double>& values = phi[size_t(g.layer)][size_t(g.region)];
      const std::vector<double> own(values.begin() + all[k].first, values.begin() + all[k].first + window);
      const double d = imaging::ks_distance(own, p.layers[size_t(g.layer)].quantiles.data() + size_t(g.region) * q, q);
      ASSERT_EQ(g.distance, d) << "window " << k << " block " << g.layer << " region " << g.region;
      ASSERT_EQ(g.p, imaging::ks_p_value(d, double(window), double(p.images)));
      ++compared;
    }
  }
  EXPECT_EQ(compared, 4 * imaging::kTopRegions);
  EXPECT_GT(all[0].top[0].distance, 0.2);  // the shift is seen: not a comparison of zeros
  EXPECT_TRUE(all[0].alarm);
  // The list is the most drifting regions of ALL tested ones, in the order (adjusted p, p, larger D):
  // recomputed here over every region of every block (regions with σ = 0 are not tested).
  for (size_t k = 0; k < all.size(); ++k) {
    struct Key { double adjusted, p, d; };
    std::vector<double> ps, ds;
    for (size_t l = 0; l < p.layers.size(); ++l)
      for (int r = 0; r < p.layers[l].grid.count(); ++r) {
        if (!(p.layers[l].sd.data()[r] > imaging::kMinRegionSd)) continue;
        const std::vector<double>& values = phi[l][size_t(r)];
        const std::vector<double> own(values.begin() + all[k].first, values.begin() + all[k].first + window);
        ds.push_back(imaging::ks_distance(own, p.layers[l].quantiles.data() + size_t(r) * q, q));
        ps.push_back(imaging::ks_p_value(ds.back(), double(window), double(p.images)));
      }
    ASSERT_EQ(int(ps.size()), all[k].tested);
    const std::vector<double> adjusted = imaging::benjamini_hochberg(ps);
    // The alarm rule: regions drifting = adjusted p below α (0.01), and the window alarms when any does.
    const int drifting = int(std::count_if(adjusted.begin(), adjusted.end(), [](double a) { return a < 0.01; }));
    EXPECT_EQ(all[k].drifting, drifting) << "window " << k;
    EXPECT_EQ(all[k].alarm, drifting > 0) << "window " << k;
    std::vector<Key> keys;
    for (size_t i = 0; i < ps.size(); ++i) keys.push_back({adjusted[i], ps[i], ds[i]});
    const auto before = [](const Key& a, const Key& b) {
      return a.adjusted != b.adjusted ? a.adjusted < b.adjusted : a.p != b.p ? a.p < b.p : a.d > b.d;
    };
    std::sort(keys.begin(), keys.end(), before);
    for (size_t i = 0; i < all[k].top.size(); ++i) {
      const imaging::WindowDrift::Region& g = all[k].top[i];
      EXPECT_EQ(g.adjusted, keys[i].adjusted) << "window " << k << " entry " << i;
      EXPECT_EQ(g.p, keys[i].p) << "window " << k << " entry " << i;
      EXPECT_EQ(g.distance, keys[i].d) << "window " << k << " entry " << i;
    }
  }
}

// A zeta.json for the profile's blocks: |shapley| of region r of block l is weight(l, r).
template <class Weight>
base::Json zeta_file(const imaging::Profile& p, int epoch, Weight weight) {
  base::Json layers = base::Json::object();
  for (size_t l = 0; l < p.layers.size(); ++l) {
    base::Json regions = base::Json::object();
    for (int r = 0; r < p.layers[l].grid.count(); ++r)
      regions[p.layers[l].grid.key(r)] = {{"shapley", (r % 2 ? -1 : 1) * weight(l, r)}, {"zeta_score", 0}};
    layers[p.layers[l].name] = {{"regions", regions}};
  }
  const run::GridSpec& g = p.settings.grid.grid;
  return {{"epoch", epoch}, {"settings", {{"grid", {g.gh, g.gw, g.gc}}}}, {"layers", layers}};
}

// S_ζ with equal weights is S; with one region per block carrying all the weight it is the mean over
// blocks of that region's z² (the sign of the Shapley value does not matter).  The weights survive
// the file; a zeta.json of another epoch or without a region is one error naming it.
TEST_F(Monitor, ZetaWeightedScoreIsTheWeightedMeanOfZSquared) {
  nn::Network n = net();
  const datasets::Dataset fit = images(600, 1), stream = images(200, 2);
  imaging::Profile equal = imaging::fit_profile(n, fit.view(), 600, 64, settings(), kAnyDigest, {});
  imaging::Profile single = equal;
  imaging::set_zeta_weights(equal, zeta_file(equal, 4, [](size_t, int) { return 0.25; }), "z.json", 4);
  imaging::set_zeta_weights(single, zeta_file(single, 4, [](size_t, int r) { return r == 1 ? 0.5 : 0.0; }), "z.json", 4);
  std::vector<imaging::ImageScores> a, b;
  alarms(equal, n, stream, 100, &a);
  alarms(single, n, stream, 100, &b);
  ASSERT_EQ(a.size(), 200u);
  for (const imaging::ImageScores& s : a) ASSERT_NEAR(s.spatial_zeta, s.spatial, 1e-9 * std::max(1.0, s.spatial));
  // single: region 1 of each block (σ > 0 in this net: checked), z from the profile by hand.
  imaging::Monitor monitor(single, n, 100, 0.01);
  const std::vector<imaging::ImageScores> scores = score_first(monitor, n, stream, 64);
  for (int i = 0; i < 64; ++i) {
    const std::vector<std::vector<float>> z = monitor.region_z(i);
    double sum = 0;
    for (size_t l = 0; l < single.layers.size(); ++l) {
      ASSERT_GT(single.layers[l].sd.data()[1], imaging::kMinRegionSd);
      sum += double(z[l][1]) * z[l][1];
    }
    ASSERT_NEAR(scores[size_t(i)].spatial_zeta, sum / double(single.layers.size()), 1e-4 * std::max(1.0, sum));
    ASSERT_NEAR(scores[size_t(i)].spatial_zeta, b[size_t(i)].spatial_zeta, 1e-12);
  }
  imaging::save_profile(path("w.profile"), single);
  const imaging::Profile back = imaging::load_profile(path("w.profile"));
  EXPECT_EQ(back.zeta_file, "z.json");
  for (size_t l = 0; l < back.layers.size(); ++l)
    for (int r = 0; r < back.layers[l].grid.count(); ++r)
      ASSERT_EQ(back.layers[l].weight.data()[r], r == 1 ? 0.5f : 0.f);
  imaging::Profile p = equal;
  expect_error_naming([&] { imaging::set_zeta_weights(p, zeta_file(p, 3, [](size_t, int) { return 1.0; }), "z3.json", 4); },
                      "z3.json: /epoch: is 3, expected the checkpoint's epoch 4");
  base::Json missing = zeta_file(p, 4, [](size_t, int) { return 1.0; });
  missing["layers"]["conv2"]["regions"].erase(p.layers[2].grid.key(5));
  expect_error_naming([&] { imaging::set_zeta_weights(p, missing, "m.json", 4); }, "m.json: /layers/conv2/regions");
  // finite as a double, not as a float: the weight would be written inf, a profile monitor refuses
  base::Json huge = zeta_file(p, 4, [](size_t, int) { return 1.0; });
  huge["layers"]["conv2"]["regions"][p.layers[2].grid.key(5)]["shapley"] = -1e39;
  expect_error_naming([&] { imaging::set_zeta_weights(p, huge, "h.json", 4); },
                      "h.json: /layers/conv2/regions/" + p.layers[2].grid.key(5) +
                          "/shapley: -1e+39, expected a Shapley value a float holds");
  // The zeta.json of an analysis on a finer grid holds every key of the profile's (grid_1_1_1 … of 4x4x2
  // are among 8x8x2's) but they name other regions: refused by its settings' grid, not read as weights.
  imaging::MonitorSettings fine_settings = settings();
  fine_settings.grid.grid = {8, 8, 2};
  const imaging::Profile fine = imaging::fit_profile(n, fit.view(), 600, 64, fine_settings, kAnyDigest, {});
  expect_error_naming([&] { imaging::set_zeta_weights(p, zeta_file(fine, 4, [](size_t, int) { return 1.0; }), "f.json", 4); },
                      "f.json: /settings/grid: is 8x8x2, expected the profile's --grid 4x4x2");
}

// spatial_cov against the definition computed by hand from the profile and the monitor's z of each
// image: (1/L_c) Σ_l ((z_l − z̄_l)ᵀ P_l (z_l − z̄_l) − a_l)/b_l in double.  On the fit images themselves
// each block's term has mean 0 and population sd 1 (a_l, b_l are in-sample), so spatial_cov averages
// 0 there.  spatial_typ against (1/L_c) Σ_l |d_l − a_l|/b_l by hand, and its properties on the fit
// images (README "spatial_typ").  P_l is zero outside G_l; the profile's cov tensors survive the file; a version-1 profile
// (no spatial_cov tensors) is refused by name.
TEST_F(Monitor, CovarianceScoreIsTheStandardisedBlockDistance) {
  nn::Network n = net();
  const datasets::Dataset fit = images(600, 1), stream = images(128, 2);
  const imaging::Profile p = imaging::fit_profile(n, fit.view(), 600, 64, settings(), kAnyDigest, {});
  int layers = 0;
  for (const imaging::LayerProfile& l : p.layers) {
    const int regions = l.grid.count();
    ASSERT_EQ(l.cov_precision.size(), size_t(regions) * regions);
    for (int r = 0; r < regions; ++r) {
      if (l.sd.data()[r] > imaging::kMinRegionSd) continue;
      ASSERT_EQ(l.cov_centre.data()[r], 0.f);
      for (int k = 0; k < regions; ++k) ASSERT_EQ(l.cov_precision.data()[size_t(r) * regions + k], 0.f);
    }
    layers += l.cov_scale.data()[1] > 0;
  }
  ASSERT_GE(layers, 4);
  imaging::Monitor monitor(p, n, 1000, 0.01);
  const std::vector<imaging::ImageScores> scores = score_first(monitor, n, stream, 128);
  for (int i = 0; i < 128; ++i) {
    const std::vector<std::vector<float>> z = monitor.region_z(i);
    double total = 0, two_sided = 0;
    for (size_t l = 0; l < p.layers.size(); ++l) {
      const imaging::LayerProfile& layer = p.layers[l];
      if (!(layer.cov_scale.data()[1] > 0)) continue;
      const int regions = layer.grid.count();
      double d = 0;
      for (int a = 0; a < regions; ++a)
        for (int b = 0; b < regions; ++b)
          d += (double(z[l][size_t(a)]) - layer.cov_centre.data()[a]) * layer.cov_precision.data()[size_t(a) * regions + b] *
               (double(z[l][size_t(b)]) - layer.cov_centre.data()[b]);
      total += (d - layer.cov_scale.data()[0]) / layer.cov_scale.data()[1];
      two_sided += std::fabs(d - layer.cov_scale.data()[0]) / layer.cov_scale.data()[1];
    }
    ASSERT_NEAR(scores[size_t(i)].spatial_cov, total / layers, 1e-4 * std::max(1.0, std::fabs(total))) << "image " << i;
    ASSERT_NEAR(scores[size_t(i)].spatial_typ, two_sided / layers, 1e-4 * std::max(1.0, two_sided)) << "image " << i;
  }
  std::vector<imaging::ImageScores> own;
  alarms(p, n, fit, 100, &own);
  double mean = 0;
  for (const imaging::ImageScores& s : own) mean += s.spatial_cov / double(own.size());
  EXPECT_NEAR(mean, 0.0, 1e-3);
  // spatial_typ on the fit images: each block's |t_l| averages ≤ 1 (t_l has mean 0, sd 1), so the
  // score's mean is ≤ 1; it is ≥ |spatial_cov| image by image; and it is not spatial_cov (some fit
  // images lie below a_l in some block, so the two-sided sum differs).
  double typ_mean = 0;
  int differs = 0;
  for (const imaging::ImageScores& s : own) {
    typ_mean += s.spatial_typ / double(own.size());
    ASSERT_GE(s.spatial_typ, std::fabs(s.spatial_cov) - 1e-12);
    differs += s.spatial_typ > std::fabs(s.spatial_cov) + 1e-9;
  }
  EXPECT_GT(typ_mean, 0.0);
  EXPECT_LE(typ_mean, 1.0 + 1e-6);
  EXPECT_GT(differs, 0);
  // A contrast shift moves every region together: the shifted images score above the clean median.
  datasets::Dataset shifted = images(128, 3);
  datasets::corrupt_dataset(shifted, datasets::CorruptionKind::contrast, 5, 1, 0);
  std::vector<imaging::ImageScores> clean_scores, shifted_scores;
  alarms(p, n, stream, 1000, &clean_scores);
  alarms(p, n, shifted, 1000, &shifted_scores);
  std::vector<double> clean;
  for (const auto& s : clean_scores) clean.push_back(s.spatial_cov);
  ASSERT_GT(clean.size(), 64u);
  ASSERT_EQ(shifted_scores.size(), 128u);
  std::nth_element(clean.begin(), clean.begin() + 64, clean.end());
  for (const auto& s : shifted_scores) ASSERT_GT(s.spatial_cov, clean[64]);
  // The file: cov tensors round-trip; without "profile_version" (a version-1 profile) it is refused.
  imaging::Profile copy = p;
  imaging::save_profile(path("c.profile"), copy);
  const imaging::Profile back = imaging::load_profile(path("c.profile"));
  for (size_t l = 0; l < p.layers.size(); ++l) {
    for (size_t k = 0; k < p.layers[l].cov_precision.size(); ++k)
      ASSERT_EQ(back.layers[l].cov_precision.data()[k], p.layers[l].cov_precision.data()[k]);
    ASSERT_EQ(back.layers[l].cov_scale.data()[1], p.layers[l].cov_scale.data()[1]);
  }
  const std::string bytes = base::read_file(path("c.profile"));
  const size_t at = bytes.find("\"profile_version\":3,");
  ASSERT_NE(at, std::string::npos);
  std::string old = bytes.substr(0, at) + "\"profile_version\":1," + bytes.substr(at + 20);
  const uint32_t crc = uint32_t(crc32(0L, reinterpret_cast<const Bytef*>(old.data()), uInt(old.size() - 4)));
  std::memcpy(&old[old.size() - 4], &crc, 4);  // the framing's CRC (little-endian, as written)
  base::write_file_atomic(path("v1.profile"), old);
  expect_error_naming([&] { imaging::load_profile(path("v1.profile")); }, "profile version 1, this build reads version 3");
}

// ---- spatial_knn (README "Monitoring", pre-registered 2026-12-02) ----

// The k-th nearest bank row, brute force: every ‖v − b_s‖² in double, sorted.  Compared as squares (the
// sgemm expansion ‖v‖² + ‖b‖² − 2 v·b loses float digits near 0, where the root magnifies them).
std::vector<double> brute_knn2(const std::vector<float>& v, int count, const std::vector<float>& bank, int bank_count, int dims,
                               int k) {
  std::vector<double> out;
  for (int i = 0; i < count; ++i) {
    std::vector<double> d2;
    for (int s = 0; s < bank_count; ++s) {
      double sum = 0;
      for (int j = 0; j < dims; ++j) {
        const double d = double(v[size_t(i) * dims + j]) - bank[size_t(s) * dims + j];
        sum += d * d;
      }
      d2.push_back(sum);
    }
    std::sort(d2.begin(), d2.end());
    out.push_back(d2[size_t(k - 1)]);
  }
  return out;
}

// spatial_knn_scores against brute force: random maps (not unit length: the magnitude counts), a bank
// with repeated rows (ties) and a query equal to a bank row (distance 0 at k = 1), several k.
TEST(MonitorScores, SpatialKnnEqualsBruteForceDistances) {
  const int count = 23, dims = 31, bank_count = 150;
  nn::Rng rng(11);
  const auto value = [&] { return float(int(rng.below(2001)) - 1000) / 300.f; };
  std::vector<float> v(size_t(count) * dims), bank(size_t(bank_count) * dims);
  for (float& x : bank) x = value();
  for (int s = 5; s < bank_count; s += 9)  // copies of earlier rows: equal distances
    std::copy(bank.begin() + size_t(s - 5) * dims, bank.begin() + size_t(s - 4) * dims, bank.begin() + size_t(s) * dims);
  for (float& x : v) x = value() * (1.0f + float(&x - v.data()) / float(v.size()));  // growing magnitudes
  std::copy(bank.begin() + size_t(7) * dims, bank.begin() + size_t(8) * dims, v.begin() + size_t(4) * dims);
  double largest = 0;  // the largest ‖v‖² + ‖b‖²: the scale of the expansion's rounding
  for (int i = 0; i < count + bank_count; ++i) {
    const float* row = i < count ? v.data() + size_t(i) * dims : bank.data() + size_t(i - count) * dims;
    double n2 = 0;
    for (int j = 0; j < dims; ++j) n2 += double(row[j]) * row[j];
    largest = std::max(largest, n2);
  }
  for (const int k : {1, 2, 10, 40, bank_count}) {
    const std::vector<double> fast = imaging::spatial_knn_scores(v.data(), count, bank.data(), bank_count, dims, k);
    const std::vector<double> brute = brute_knn2(v, count, bank, bank_count, dims, k);
    ASSERT_EQ(fast.size(), size_t(count));
    for (int i = 0; i < count; ++i) {
      EXPECT_GE(fast[size_t(i)], 0.0);
      EXPECT_NEAR(fast[size_t(i)] * fast[size_t(i)], brute[size_t(i)], 2e-6 * 2 * largest) << "k " << k << " image " << i;
    }
  }
  // The query that is bank row 7: at k = 1 its distance is 0 (summed from the vectors, not the expansion).
  EXPECT_EQ(imaging::spatial_knn_scores(v.data(), count, bank.data(), bank_count, dims, 1)[4], 0.0);
  EXPECT_GT(imaging::spatial_knn_scores(v.data(), count, bank.data(), bank_count, dims, 2)[4], 0.5);
}

// A query equal to a bank row is at distance 0 from it (README "Monitoring": k = 1 gives a bank image 0),
// for knn (h a fit image's features, the bank its unit vector as the fit stores it) and spatial_knn (v a
// bank map): the distance of the chosen row is summed from the vectors, not taken from
// the sgemm expansion ‖x‖² + ‖b‖² − 2 x·b, whose float cancellation leaves such a query up to ~1e-3 away
// (1.3e-3 for spatial_knn, 7.7e-4 for knn, on a 2-epoch reference's own fit images: bench/README.md).
TEST(MonitorScores, KnnAndSpatialKnnOfABankRowAreZero) {
  const int count = 40, dims = 97, bank_count = 60;
  nn::Rng rng(21);
  const auto value = [&] { return float(int(rng.below(2001)) - 1000) / 200.f; };
  std::vector<float> x(size_t(bank_count) * dims), unit(x.size());
  for (float& v : x) v = value();
  for (int s = 0; s < bank_count; ++s) {  // the fit's unit vectors: float(h / ‖h‖), ‖h‖ in double
    double norm = 0;
    for (int j = 0; j < dims; ++j) norm += double(x[size_t(s) * dims + j]) * x[size_t(s) * dims + j];
    norm = std::sqrt(norm);
    for (int j = 0; j < dims; ++j) unit[size_t(s) * dims + j] = float(x[size_t(s) * dims + j] / norm);
  }
  // query i is bank row 3 + i: the k = 1 distance is 0, the k = 2 one that of the nearest other row
  const std::vector<double> knn = imaging::knn_scores(x.data() + size_t(3) * dims, count, unit.data(), bank_count, dims, 1);
  const std::vector<double> map = imaging::spatial_knn_scores(x.data() + size_t(3) * dims, count, x.data(), bank_count, dims, 1);
  for (int i = 0; i < count; ++i) {
    EXPECT_EQ(knn[size_t(i)], 0.0) << "knn, query " << i;
    EXPECT_EQ(map[size_t(i)], 0.0) << "spatial_knn, query " << i;
  }
  EXPECT_GT(imaging::spatial_knn_scores(x.data() + size_t(3) * dims, count, x.data(), bank_count, dims, 2)[0], 1.0);
  EXPECT_GT(imaging::knn_scores(x.data() + size_t(3) * dims, count, unit.data(), bank_count, dims, 2)[0], 0.5);
}

// A hand profile of two blocks (μ = 0, σ = 1, so z = φ; block 0 has one dead region, σ = 0), and a
// planted shift that `spatial` cannot see: the same images with block 0's z-map flipped in sign.  ‖v‖² is
// S (the mean over the blocks of each block's mean z² over G_l) and does not change under the flip;
// spatial_knn puts every flipped image above every clean one.
TEST(MonitorScores, SpatialKnnSeesASignFlipThatSpatialCannot) {
  imaging::Profile p;
  for (const int side : {4, 2}) {
    imaging::LayerProfile l;
    l.name = side == 4 ? "a" : "b";
    l.grid = run::RegionGrid(side, side, 1, {2, 2, 1}, false);  // 4 regions each
    l.mean = nn::Tensor(1, 1, 1, 4);
    l.sd = nn::Tensor(1, 1, 1, 4);
    l.mean.zero();
    for (int r = 0; r < 4; ++r) l.sd.data()[r] = 1.f;
    p.layers.push_back(std::move(l));
  }
  p.layers[0].sd.data()[3] = 0.f;  // left out: z = 0, |G_0| = 3
  const int bank_count = 200, count = 20, dims = 8, k = 5;
  nn::Rng rng(3);
  const auto noise = [&] { return float(int(rng.below(2001)) - 1000) / 1000.f; };  // uniform [−1, 1]
  const float pattern[4] = {2.f, -1.5f, 1.f, 0.f};
  const auto draw = [&](int n) {  // φ of n images: block 0 = the pattern scaled ±20% plus noise 0.2; block 1 noise
    std::vector<float> a(size_t(n) * 4), b(size_t(n) * 4);
    for (int i = 0; i < n; ++i) {
      const float scale = 1.f + 0.2f * noise();
      for (int r = 0; r < 4; ++r) a[size_t(i) * 4 + r] = pattern[r] * scale + 0.2f * noise(), b[size_t(i) * 4 + r] = noise();
    }
    return std::make_pair(a, b);
  };
  // v of n images from φ of both blocks: z by block_z (z = φ here, 0 at the dead region), then the weights.
  const auto vectors = [&](const std::vector<float>& a, const std::vector<float>& b, int n, float* v) {
    std::vector<float> za(a.size()), zb(b.size());
    imaging::block_z(p.layers[0], a.data(), n, za.data());
    imaging::block_z(p.layers[1], b.data(), n, zb.data());
    imaging::spatial_vectors(p, {za.data(), zb.data()}, n, v);
  };
  const auto [bank_a, bank_b] = draw(bank_count);
  std::vector<float> bank(size_t(bank_count) * dims);
  vectors(bank_a, bank_b, bank_count, bank.data());
  auto [clean_a, clean_b] = draw(count);
  std::vector<float> flipped_a = clean_a;
  for (float& x : flipped_a) x = -x;
  std::vector<float> clean(size_t(count) * dims), flipped(size_t(count) * dims);
  vectors(clean_a, clean_b, count, clean.data());
  vectors(flipped_a, clean_b, count, flipped.data());
  for (int i = 0; i < count; ++i) {
    double n_clean = 0, n_flipped = 0, s0 = 0, s1 = 0;
    for (int j = 0; j < dims; ++j)
      n_clean += double(clean[size_t(i) * dims + j]) * clean[size_t(i) * dims + j],
          n_flipped += double(flipped[size_t(i) * dims + j]) * flipped[size_t(i) * dims + j];
    for (int r = 0; r < 3; ++r) s0 += double(clean_a[size_t(i) * 4 + r]) * clean_a[size_t(i) * 4 + r];
    for (int r = 0; r < 4; ++r) s1 += double(clean_b[size_t(i) * 4 + r]) * clean_b[size_t(i) * 4 + r];
    EXPECT_EQ(n_clean, n_flipped) << "image " << i;                        // spatial is blind to the flip
    EXPECT_NEAR(n_clean, (s0 / 3 + s1 / 4) / 2, 1e-6 * n_clean) << "image " << i;  // ‖v‖² = S
    EXPECT_EQ(clean[size_t(i) * dims + 3], 0.f);                             // the dead region
  }
  const std::vector<double> c = imaging::spatial_knn_scores(clean.data(), count, bank.data(), bank_count, dims, k);
  const std::vector<double> f = imaging::spatial_knn_scores(flipped.data(), count, bank.data(), bank_count, dims, k);
  EXPECT_LT(*std::max_element(c.begin(), c.end()), *std::min_element(f.begin(), f.end()));
}

// Through fit_profile and the Monitor: the bank is v of the first B = min(--spatial-bank, N) fit images
// in file order (row i is the v the monitor computes for fit image i, to the bit); the monitor's
// spatial_knn is the brute-force k-th distance from v (built from region_z) to the bank; ‖v‖² is
// spatial; the bank round-trips through the file; a version-2 profile and a header without
// "spatial_bank" are refused, naming the file; without --spatial-bank there is no bank and no score.
TEST_F(Monitor, SpatialKnnIsTheKthDistanceToTheFitImagesMaps) {
  nn::Network n = net();
  const datasets::Dataset fit = images(600, 1), stream = images(64, 2);
  imaging::MonitorSettings with_bank = settings();
  with_bank.spatial_bank = 1000;
  imaging::Profile p = imaging::fit_profile(n, fit.view(), 600, 64, with_bank, kAnyDigest, {});
  int dims = 0;
  for (const imaging::LayerProfile& l : p.layers) dims += l.grid.count();
  ASSERT_EQ(p.spatial_bank.shape().h, 600);  // min(1000, 600)
  ASSERT_EQ(p.spatial_bank.shape().w, dims);
  std::vector<float> bank(p.spatial_bank.data(), p.spatial_bank.data() + p.spatial_bank.size());
  // v of image i from the monitor's z (region_z) with the block weights 1/√(|G_l|·L)
  const auto v_of = [&](const imaging::Monitor& m, int i) {
    const std::vector<std::vector<float>> z = m.region_z(i);
    int blocks = 0;
    std::vector<int> used;
    for (const imaging::LayerProfile& l : p.layers) {
      int u = 0;
      for (int r = 0; r < l.grid.count(); ++r) u += l.sd.data()[r] > imaging::kMinRegionSd;
      used.push_back(u), blocks += u > 0;
    }
    std::vector<float> v;
    for (size_t l = 0; l < p.layers.size(); ++l)
      for (const float x : z[l]) v.push_back(used[l] ? float(double(x) / std::sqrt(double(used[l]) * blocks)) : 0.f);
    return v;
  };
  {
    imaging::Monitor m(p, n, 1000, 0.01);
    const std::vector<imaging::ImageScores> own = score_first(m, n, fit, 64);
    for (int i = 0; i < 64; ++i) {
      const std::vector<float> v = v_of(m, i);
      for (int j = 0; j < dims; ++j) ASSERT_EQ(v[size_t(j)], bank[size_t(i) * dims + j]) << "fit image " << i << " value " << j;
    }
  }
  imaging::Monitor m(p, n, 1000, 0.01);
  const std::vector<imaging::ImageScores> scores = score_first(m, n, stream, 64);
  std::vector<float> v;
  for (int i = 0; i < 64; ++i) {
    const std::vector<float> row = v_of(m, i);
    double n2 = 0;
    for (const float x : row) n2 += double(x) * x;
    EXPECT_NEAR(n2, scores[size_t(i)].spatial, 1e-5 * std::max(1.0, n2)) << "image " << i;
    v.insert(v.end(), row.begin(), row.end());
  }
  const std::vector<double> brute = brute_knn2(v, 64, bank, 600, dims, p.settings.knn_k);
  for (int i = 0; i < 64; ++i) {
    const double got = scores[size_t(i)].spatial_knn;
    EXPECT_GT(got, 0.0);
    EXPECT_NEAR(got * got, brute[size_t(i)], 1e-4 * std::max(1.0, brute[size_t(i)])) << "image " << i;
  }
  // The file.
  imaging::save_profile(path("k.profile"), p);
  const imaging::Profile back = imaging::load_profile(path("k.profile"));
  ASSERT_EQ(back.spatial_bank.size(), p.spatial_bank.size());
  for (size_t i = 0; i < p.spatial_bank.size(); ++i) ASSERT_EQ(back.spatial_bank.data()[i], p.spatial_bank.data()[i]);
  const std::string bytes = base::read_file(path("k.profile"));
  // the header with `key` replaced by `by`, the framing's header length and CRC fixed
  const auto edited = [&](const std::string& key, const std::string& by) {
    const size_t at = bytes.find(key);
    EXPECT_NE(at, std::string::npos) << key;
    std::string b = bytes.substr(0, at) + by + bytes.substr(at + key.size());
    uint64_t header = 0;
    std::memcpy(&header, &b[12], 8);
    header = header + by.size() - key.size();
    std::memcpy(&b[12], &header, 8);
    const uint32_t crc = uint32_t(crc32(0L, reinterpret_cast<const Bytef*>(b.data()), uInt(b.size() - 4)));
    std::memcpy(&b[b.size() - 4], &crc, 4);
    return b;
  };
  base::write_file_atomic(path("v2.profile"), edited("\"profile_version\":3,", "\"profile_version\":2,"));
  expect_error_naming([&] { imaging::load_profile(path("v2.profile")); }, "v2.profile");
  expect_error_naming([&] { imaging::load_profile(path("v2.profile")); }, "profile version 2, this build reads version 3");
  base::write_file_atomic(path("nobank.profile"), edited("\"spatial_bank\":600,", ""));
  expect_error_naming([&] { imaging::load_profile(path("nobank.profile")); }, "nobank.profile");
  expect_error_naming([&] { imaging::load_profile(path("nobank.profile")); }, "spatial_bank");
  base::write_file_atomic(path("more.profile"), edited("\"spatial_bank\":600,", "\"spatial_bank\":601,"));  // > images
  expect_error_naming([&] { imaging::load_profile(path("more.profile")); }, "spatial_bank");
  base::write_file_atomic(path("small.profile"), edited("\"spatial_bank\":600,", "\"spatial_bank\":500,"));  // ≠ the tensor
  expect_error_naming([&] { imaging::load_profile(path("small.profile")); }, "small.profile");
  // k beyond the bank (1,100 fit images, B = 1,000; the KNN baseline's own bank would hold 1,100): refused.
  imaging::MonitorSettings big = with_bank;
  big.knn_images = 5000, big.knn_k = 1001;
  const datasets::Dataset many = images(1100, 4);
  expect_error_naming([&] { imaging::fit_profile(n, many.view(), 1100, 64, big, kAnyDigest, {}); },
                      "flag --knn-k 1001: more than the 1000 images of spatial_knn's bank (min(--spatial-bank 1000, the 1100 fit images))");
  // Without a bank (the default): no tensor, "spatial_bank":0 in the file, spatial_knn 0, the other scores
  // those of the profile with a bank (the bank is read by nothing else).
  imaging::Profile plain = imaging::fit_profile(n, fit.view(), 600, 64, settings(), kAnyDigest, {});
  ASSERT_EQ(plain.spatial_bank.size(), 0u);
  imaging::save_profile(path("plain.profile"), plain);
  EXPECT_NE(base::read_file(path("plain.profile")).find("\"spatial_bank\":0,"), std::string::npos);
  const imaging::Profile plain_back = imaging::load_profile(path("plain.profile"));
  EXPECT_EQ(plain_back.spatial_bank.size(), 0u);
  imaging::Monitor without(plain_back, n, 1000, 0.01);
  const std::vector<imaging::ImageScores> bare = score_first(without, n, stream, 64);
  for (int i = 0; i < 64; ++i) {
    EXPECT_EQ(bare[size_t(i)].spatial_knn, 0.0);
    EXPECT_EQ(bare[size_t(i)].spatial_typ, scores[size_t(i)].spatial_typ) << "image " << i;
    EXPECT_EQ(bare[size_t(i)].knn, scores[size_t(i)].knn) << "image " << i;
  }
}

}  // namespace
