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

// README *Monitoring*: the square is "uniformly placed wholly inside the image": every top-left corner
// from 0 to side − 1 past the edge, the last included (a draw one short, below(H − side), never touched
// the bottom or right edge and passed the test above).  A 4-pixel square in a 6×6 image: rows and columns
// 0, 1 and 2, each seen in 60 draws.
TEST(Corrupt, OcclusionReachesEveryPositionUpToTheFarEdges) {
  std::vector<int> rows(3, 0), columns(3, 0);
  for (uint64_t seed = 0; seed < 60; ++seed) {
    std::vector<uint8_t> image(36, 200);
    nn::Rng rng(seed);
    const datasets::Occlusion o = datasets::corrupt_image(image.data(), 1, 6, 6, CorruptionKind::occlusion, 1, rng);
    ASSERT_EQ(o.side, 4);
    ASSERT_TRUE(o.y >= 0 && o.y <= 2 && o.x >= 0 && o.x <= 2) << o.y << "," << o.x;
    ++rows[size_t(o.y)], ++columns[size_t(o.x)];
  }
  for (int k = 0; k < 3; ++k) {
    EXPECT_GT(rows[size_t(k)], 0) << "row " << k;
    EXPECT_GT(columns[size_t(k)], 0) << "column " << k;
  }
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

// Every kind at every severity on one 2×3×4 image, against values computed apart from this code with
// make_cifar_c.py's formulas in numpy/scipy (2026-12-05): x = image/255 as (H, W, C);
// noise  x + c·n, n the first 24 nn::Rng(11).normal() draws (a Python port of base::Rng), in (C, H, W) order;
// blur   scipy.ndimage.gaussian_filter(x, sigma=(c, c, 0), mode="nearest", truncate=4.0), what
//        skimage.filters.gaussian(x, sigma=c, multichannel=True) calls (mode "reflect" would give 88, 117, …
//        at severity 5, not 78, 118, …);
// contrast (x − m)·c + m, m = np.mean(x, axis=(0, 1)): a mean per channel (the whole image's mean would
//        give 52, 180, … at severity 2, not 63, 191, …);
// each back with floor(255·clip(y, 0, 1) + 0.5) (no value of these lies within 1e-6 of a half).
TEST(Corrupt, EveryKindAndSeverityMatchesAnIndependentRecomputation) {
  const std::vector<uint8_t> image = {0,  255, 30, 200, 90, 10, 250, 40, 255, 255, 0,  128,
                                      12, 12,  200, 201, 13, 14, 15, 16, 250, 3,   77, 190};
  const std::vector<std::vector<uint8_t>> expected[3] = {
      {{0, 245, 12, 204, 104, 9, 254, 40, 255, 255, 7, 121, 21, 12, 212, 204, 5, 26, 13, 26, 255, 4, 71, 187},
       {0, 241, 2, 206, 112, 9, 255, 40, 255, 255, 11, 117, 25, 12, 218, 205, 2, 32, 11, 30, 255, 4, 68, 186},
       {0, 236, 0, 208, 119, 9, 255, 40, 255, 255, 15, 113, 29, 12, 224, 207, 0, 38, 10, 35, 255, 5, 65, 185},
       {0, 233, 0, 209, 122, 9, 255, 40, 255, 255, 17, 112, 31, 12, 227, 207, 0, 40, 10, 37, 255, 5, 63, 184},
       {0, 231, 0, 210, 126, 9, 255, 40, 255, 255, 19, 110, 33, 12, 230, 208, 0, 43, 9, 40, 255, 5, 61, 183}},
      {{13, 227, 53, 187, 90, 40, 216, 57, 248, 236, 24, 120, 12, 19, 185, 193, 22, 14, 25, 30, 231, 16, 76, 179},
       {49, 156, 109, 156, 101, 107, 143, 96, 224, 188, 83, 102, 13, 39, 143, 170, 46, 26, 52, 73, 176, 50, 73, 145},
       {59, 138, 121, 148, 108, 120, 130, 105, 214, 175, 97, 99, 15, 45, 129, 161, 53, 35, 62, 87, 158, 61, 74, 135},
       {67, 128, 126, 144, 115, 126, 124, 110, 205, 168, 106, 100, 19, 49, 120, 154, 58, 43, 69, 97, 146, 69, 76, 128},
       {78, 118, 129, 140, 123, 130, 122, 115, 191, 160, 117, 104, 30, 58, 110, 145, 67, 58, 80, 109, 131, 82, 84, 122}},
      {{32, 223, 54, 182, 99, 39, 219, 62, 223, 223, 32, 128, 30, 30, 171, 172, 31, 31, 32, 33, 208, 23, 79, 163},
       {63, 191, 78, 163, 108, 68, 188, 83, 191, 191, 63, 127, 48, 48, 142, 142, 48, 49, 49, 50, 167, 43, 80, 137},
       {76, 178, 88, 156, 112, 80, 176, 92, 178, 178, 76, 127, 55, 55, 130, 131, 55, 56, 56, 57, 150, 51, 81, 126},
       {88, 165, 97, 148, 115, 91, 163, 100, 165, 165, 88, 127, 62, 62, 119, 119, 62, 63, 63, 63, 134, 59, 82, 116},
       {107, 145, 112, 137, 121, 109, 145, 113, 145, 145, 107, 126, 73, 73, 101, 101, 73, 73, 73, 73, 109, 71, 83, 100}}};
  const CorruptionKind kinds[3] = {CorruptionKind::noise, CorruptionKind::blur, CorruptionKind::contrast};
  for (int k = 0; k < 3; ++k)
    for (int severity = 1; severity <= 5; ++severity) {
      std::vector<uint8_t> y = image;
      nn::Rng rng(11);
      datasets::corrupt_image(y.data(), 2, 3, 4, kinds[k], severity, rng);
      EXPECT_EQ(y, expected[k][size_t(severity - 1)]) << datasets::corruption_names()[size_t(k)] << " " << severity;
    }
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

// batches.meta.txt holds one name per line, read back without its surrounding blanks (blank lines are
// padding): a class name that would not come back as written is refused before anything is written. A
// name holding a line break (an images:DIR folder "a\nb") shifted every later class's name by one, and
// one of blanks alone left the file a name short.
TEST_F(CifarWriter, AClassNameThatWouldNotReadBackIsRefused) {
  datasets::DataSplit split;
  for (datasets::Dataset* d : {&split.train, &split.test}) {
    d->name = "images", d->channels = 3, d->height = d->width = 32;
    for (int i = 0; i < 10; ++i) d->class_names.push_back("class" + std::to_string(i));
    d->labels = {3};
    d->pixels.assign(d->image_size(), 7);
  }
  for (const std::string& name : {std::string("a\nb"), std::string(" padded"), std::string("padded\t"), std::string(" ")}) {
    for (datasets::Dataset* d : {&split.train, &split.test}) d->class_names[3] = name;
    expect_error_naming([&] { datasets::write_cifar10(path("out"), split); },
                        "class 3 \"" + base::one_line(name) + "\" would not read back from batches.meta.txt");
    EXPECT_FALSE(std::filesystem::exists(path("out")));
  }
  for (datasets::Dataset* d : {&split.train, &split.test}) d->class_names[3] = "in\tner";  // inner blanks stay
  datasets::write_cifar10(path("out"), split);
  EXPECT_EQ(datasets::load_cifar10(path("out")).train.class_names, split.train.class_names);
}

}  // namespace
