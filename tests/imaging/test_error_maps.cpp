// tests/imaging/test_error_maps.cpp — the planted failure of issue #16 at small scale (README "Error
// analysis", tests/planted_failure.h): a patch that co-occurs with class A in training and sits on
// every class-B test image.  The B→A confusion map (value confusion:B:A, z_A − z_B, on class B's test
// images, each image's own Shapley estimate φ_g(x)) must find the patch and its lesion must remove the
// confusion; bench/study/error_study.cpp measures the same at full scale, with Grad-CAM beside it.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <numeric>
#include <string>
#include <vector>

#include "imaging/lesion_game.h"
#include "imaging/region_lesion.h"
#include "imaging/saliency.h"
#include "imaging/shapley.h"
#include "nn/rng.h"
#include "tests/planted_failure.h"
#include "tests/planted_net.h"

namespace {

// Regions in decreasing score order (ties by region index).
std::vector<int> ranked(const double* score, int n) {
  std::vector<int> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return score[a] > score[b]; });
  return order;
}

// Settings fixed before the test was first run, from the bench study (bench/README.md, Issue 16): the
// default planted set with data seed 3 (seed 1 gives the B→A mistake on only 6 of 50 images, too few
// for a rate), A = 0, B = 2, the patch at +2×signal on 90% of class A's training images, conv1 with the
// planted cell grid (8×8×1), 8 permutations per image, k = 3.
// Properties (the issue's, at small scale): among the affected images (class B predicted A),
//   1. hit rate: the patch's cell is among the image's top k regions of its own confusion map in ≥ 80%;
//   2. lesioning (zero ablation) the top k regions of the mean confusion map over the affected images
//      cuts the B→A count by more than k random regions do (mean cut over 20 seeded draws).
// Grad-CAM (target A, the same images) is printed beside them, not asserted: the study's 2× target
// over Grad-CAM is not met on every seed (bench/README.md).
// A wrong map fails both: with the value's sign flipped (z_B − z_A) or its two classes swapped, the
// top regions push towards B, the patch's cell is in none of the images' top 3 and their lesion
// raises B→A (checked by breaking imaging/lesion_game.cpp and imaging/zeta.cpp).
TEST(ErrorMaps, PlantedFailureConfusionMapFindsAndRemovesTheShortcut) {
  datasets::PlantedConfig cfg;
  cfg.seed = 3;
  const int A = 0, B = 2, k = 3;
  const PlantedFailure failure = make_planted_failure(cfg, A, B, 2.0);
  nn::Network net = train_planted_net(failure.planted);
  const nn::LabeledImages test = failure.planted.split.test.view();
  const int K = net.num_outputs();
  const imaging::LesionEvaluation intact = imaging::evaluate_lesioned(net, test, 64, nullptr);
  const long b_to_a = confusion_count(intact, K, B, A);
  ASSERT_GE(b_to_a, 10) << "the planted shortcut must cause the B->A mistake on enough images to measure";

  std::vector<uint32_t> b_images;
  for (size_t i = 0; i < test.count; ++i)
    if (test.labels[i] == B) b_images.push_back(uint32_t(i));
  imaging::ZetaSettings s;
  s.value = "confusion:" + std::to_string(B) + ":" + std::to_string(A);
  imaging::CoalitionValue confusion(net, 0, run::GridSpec{cfg.cell_rows, cfg.cell_cols, 1}, test, b_images, s);
  const imaging::ShapleyEstimate est = imaging::shapley_sampled(confusion, 0, 1e9, 8, 1);
  const int n = confusion.regions();
  ASSERT_EQ(n, cfg.cell_rows * cfg.cell_cols);
  ASSERT_EQ(est.per_image.size(), b_images.size() * size_t(n));
  const int patch = failure.patch_region(cfg.cell_cols);

  // Grad-CAM towards A on the same images (the baseline, printed).
  std::vector<uint8_t> towards(test.labels, test.labels + test.count);
  for (uint32_t i : b_images) towards[i] = uint8_t(A);
  nn::LabeledImages towards_a = test;
  towards_a.labels = towards.data();
  const imaging::SaliencyScores cam = imaging::saliency_scores(net, 0, confusion.grid(), towards_a, b_images);

  int affected = 0, hits = 0, cam_hits = 0;
  std::vector<double> mean_phi(size_t(n), 0.0), mean_cam(size_t(n), 0.0);
  auto in_top_k = [&](const std::vector<int>& order) { return std::find(order.begin(), order.begin() + k, patch) != order.begin() + k; };
  for (size_t x = 0; x < b_images.size(); ++x) {
    if (intact.predicted[b_images[x]] != A) continue;
    ++affected;
    hits += in_top_k(ranked(&est.per_image[x * size_t(n)], n));
    cam_hits += in_top_k(ranked(&cam.gradcam[x * size_t(n)], n));
    for (int g = 0; g < n; ++g) {
      mean_phi[size_t(g)] += est.per_image[x * size_t(n) + size_t(g)];
      mean_cam[size_t(g)] += cam.gradcam[x * size_t(n) + size_t(g)];
    }
  }
  ASSERT_EQ(affected, b_to_a);

  auto lesion = [&](std::vector<int> regions) {
    imaging::RegionLesion l;
    l.block = 0;
    l.grid = confusion.grid();
    std::sort(regions.begin(), regions.end());
    l.regions = regions;
    return imaging::evaluate_lesioned(net, test, 64, &l);
  };
  const std::vector<int> by_phi = ranked(mean_phi.data(), n), by_cam = ranked(mean_cam.data(), n);
  const imaging::LesionEvaluation zeta_lesion = lesion(std::vector<int>(by_phi.begin(), by_phi.begin() + k));
  const imaging::LesionEvaluation cam_lesion = lesion(std::vector<int>(by_cam.begin(), by_cam.begin() + k));
  const long zeta_cut = b_to_a - confusion_count(zeta_lesion, K, B, A);
  const long cam_cut = b_to_a - confusion_count(cam_lesion, K, B, A);
  double random_cut = 0;
  const int draws = 20;
  for (int d = 0; d < draws; ++d) {
    nn::Rng rng = nn::Rng::derive(1, 0xBAD, uint64_t(d));
    std::vector<int> perm(static_cast<size_t>(n));
    std::iota(perm.begin(), perm.end(), 0);
    rng.shuffle(perm.data(), perm.size());
    random_cut += double(b_to_a - confusion_count(lesion(std::vector<int>(perm.begin(), perm.begin() + k)), K, B, A)) / draws;
  }
  const double others = accuracy_without(intact, K, B);
  std::printf("planted failure (seed %llu, patch cell (%d, %d)): B->A on %ld of %zu class-B test images; patch among the top %d: "
              "confusion map %d/%d, Grad-CAM %d/%d; B->A cut by the top %d: confusion map %ld, Grad-CAM %ld, random %.2f "
              "(other classes' accuracy %.4f -> %.4f, %.4f)\n",
              static_cast<unsigned long long>(cfg.seed), failure.patch_row + 1, failure.patch_col + 1, b_to_a, b_images.size(), k,
              hits, affected, cam_hits, affected, k, zeta_cut, cam_cut, random_cut, others,
              accuracy_without(zeta_lesion, K, B), accuracy_without(cam_lesion, K, B));
  EXPECT_GE(hits, 0.8 * affected) << "patch cell among the top " << k << " of the confusion map in " << hits << " of " << affected;
  EXPECT_GT(double(zeta_cut), random_cut) << "top-" << k << " lesion of the confusion map: cut " << zeta_cut << ", random " << random_cut;
}

}  // namespace
