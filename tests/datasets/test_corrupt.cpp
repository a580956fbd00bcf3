// tests/datasets/test_corrupt.cpp — the CIFAR-10-C style corruptions on hand cases, and the CIFAR writer.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "datasets/cifar10.h"
#include "datasets/corrupt.h"
#include "tests/error_of.h"
#include "tests/temp_dir.h"

namespace {

using datasets::CorruptionKind;

TEST(Corrupt, ContrastIsTheAffineMapAroundTheChannelMean) {
  // One channel {0, 255, 0, 255}: mean 0.5; severity 2 has c = 0.5: y = (x − 0.5)·0.5 + 0.5.
  std::vector<uint8_t> image = {0, 255, 0, 255, /* second channel, constant: unchanged */ 40, 40, 40, 40};
  nn::Rng rng(1);
  datasets::corrupt_image(image.data(), 2, 2, 2, CorruptionKind::contrast, 2, rng);
  EXPECT_EQ(image, (std::vector<uint8_t>{64, 191, 64, 191, 40, 40, 40, 40}));  // 63.75 → 64, 191.25 → 191
}

TEST(Corrupt, OcclusionBlackensExactlyTheRecordedSquare) {
  const int c = 3, h = 32, w = 32;
  std::vector<int> rows_seen;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    std::vector<uint8_t> image(size_t(c) * h * w, 200);
    nn::Rng rng(seed);
    const datasets::Occlusion o = datasets::corrupt_image(image.data(), c, h, w, CorruptionKind::occlusion, 3, rng);
    ASSERT_EQ(o.side, 12);
    ASSERT_GE(o.y, 0);
    ASSERT_LE(o.y + o.side, h);
    ASSERT_GE(o.x, 0);
    ASSERT_LE(o.x + o.side, w);
    rows_seen.push_back(o.y);
    for (int ch = 0; ch < c; ++ch)
      for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
          const bool inside = y >= o.y && y < o.y + o.side && x >= o.x && x < o.x + o.side;
          ASSERT_EQ(image[(size_t(ch) * h + y) * w + x], inside ? 0 : 200) << ch << " " << y << " " << x;
        }
  }
  std::sort(rows_seen.begin(), rows_seen.end());
  EXPECT_GT(std::unique(rows_seen.begin(), rows_seen.end()) - rows_seen.begin(), 5);  // positions are drawn
}

TEST(Corrupt, BlurKeepsAConstantImageAndSpreadsAnImpulseByTheGaussian) {
  std::vector<uint8_t> constant(3 * 8 * 8, 137);
  nn::Rng rng(1);
  datasets::corrupt_image(constant.data(), 3, 8, 8, CorruptionKind::blur, 5, rng);
  for (const uint8_t v : constant) ASSERT_EQ(v, 137);
  // An impulse of 255 at the centre of a 9×9 zero plane, σ = 1 (severity 5), radius 4: the centre keeps
  // 255·w0², w0 = 1 / Σ_{t=−4..4} exp(−t²/2) = 0.398943…: 40.58 → 41; its 4-neighbours 255·w0·w1 → 25.
  std::vector<uint8_t> impulse(81, 0);
  impulse[40] = 255;
  datasets::corrupt_image(impulse.data(), 1, 9, 9, CorruptionKind::blur, 5, rng);
  double total = 0;
  for (int t = -4; t <= 4; ++t) total += std::exp(-0.5 * t * t);
  const double w0 = 1 / total, w1 = std::exp(-0.5) / total;
  EXPECT_EQ(impulse[40], std::lround(255 * w0 * w0));
  EXPECT_EQ(impulse[40], 41);
  EXPECT_EQ(impulse[39], std::lround(255 * w0 * w1));
  EXPECT_EQ(impulse[39], impulse[41]);
  EXPECT_EQ(impulse[31], impulse[49]);
  EXPECT_EQ(impulse[0], 0);
}

TEST(Corrupt, NoiseHasTheSeverityStandardDeviation) {
  for (int severity : {1, 5}) {
    datasets::Dataset d;
    d.channels = 3, d.height = d.width = 32;
    d.labels.assign(200, 0);
    d.pixels.assign(200 * d.image_size(), 128);
    datasets::corrupt_dataset(d, CorruptionKind::noise, severity, 7, 1);
    double sum = 0, squares = 0;
    for (const uint8_t v : d.pixels) {
      const double e = (v - 128.0) / 255.0;
      sum += e, squares += e * e;
    }
    const double n = double(d.pixels.size()), mean = sum / n, sd = std::sqrt(squares / n - mean * mean);
    const double c = datasets::corruption_parameter(CorruptionKind::noise, severity);
    EXPECT_NEAR(sd, c, 0.02 * c) << severity;  // 614,400 draws: the sampling error is 0.1%; rounding adds 1/255/√12
    EXPECT_NEAR(mean, 0, 0.002);
  }
}

TEST(Corrupt, SameSeedSameBytesOtherSeedOtherBytes) {
  datasets::Dataset a;
  a.channels = 3, a.height = a.width = 16;
  a.labels.assign(10, 0);
  a.pixels.assign(10 * a.image_size(), 100);
  datasets::Dataset b = a, c = a;
  const auto sa = datasets::corrupt_dataset(a, CorruptionKind::occlusion, 1, 5, 0);
  const auto sb = datasets::corrupt_dataset(b, CorruptionKind::occlusion, 1, 5, 0);
  datasets::corrupt_dataset(c, CorruptionKind::occlusion, 1, 6, 0);
  EXPECT_EQ(a.pixels, b.pixels);
  EXPECT_NE(a.pixels, c.pixels);
  ASSERT_EQ(sa.size(), 10u);
  EXPECT_EQ(sa[3].y, sb[3].y);
}

TEST(Corrupt, BadNamesAndSeveritiesAreRefused) {
  expect_error_naming([] { datasets::corruption_kind("fog", "--kind"); }, "--kind fog");
  expect_error_naming([] { datasets::corruption_parameter(CorruptionKind::blur, 0); }, "--severity 0");
  expect_error_naming([] { datasets::corruption_parameter(CorruptionKind::noise, 6); }, "--severity 6");
  EXPECT_EQ(datasets::corruption_parameter(CorruptionKind::contrast, 5), 0.15);
  EXPECT_EQ(datasets::corruption_parameter(CorruptionKind::blur, 3), 0.7);
}

class CifarWriter : public TempDirTest {};

TEST_F(CifarWriter, WritesWhatTheReaderReadsBack) {
  datasets::DataSplit split;
  for (datasets::Dataset* d : {&split.train, &split.test}) {
    d->name = "cifar10", d->channels = 3, d->height = d->width = 32;
    for (int i = 0; i < 10; ++i) d->class_names.push_back("class" + std::to_string(i));
    d->labels = {3, 9, 0};
    d->pixels.resize(3 * d->image_size());
    for (size_t i = 0; i < d->pixels.size(); ++i) d->pixels[i] = uint8_t(i * 7 + (d == &split.test));
  }
  datasets::write_cifar10(path("out"), split);
  const datasets::DataSplit back = datasets::load_cifar10(path("out"));
  EXPECT_EQ(back.train.pixels, split.train.pixels);
  EXPECT_EQ(back.test.pixels, split.test.pixels);
  EXPECT_EQ(back.test.labels, split.test.labels);
  EXPECT_EQ(back.train.class_names, split.train.class_names);
  split.test.channels = 1, split.test.height = split.test.width = 28;
  expect_error_naming([&] { datasets::write_cifar10(path("bad"), split); }, "1x28x28, expected 3x32x32");
  EXPECT_FALSE(std::filesystem::exists(path("bad")));
}

}  // namespace
