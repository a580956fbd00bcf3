// bench/study/error_study.cpp — the error-analysis measurements of README "Error analysis" (issue #16):
// deletion and insertion curves, the pointing game, the planted-failure study, seconds per image, for
// ζ/Shapley, lesion, Taylor, Grad-CAM, gradient×activation and random regions.
//
//   error_study planted K SAMPLES [STRENGTH]  the planted set with a planted failure (below), conv1 8x8x1
//   error_study ckpt CKPT DATA BLOCK GRID SAMPLES   deletion/insertion on a trained checkpoint (e.g. reference
//                                            on cifar10:DIR, block conv3, grid 8x8x1)
// THREADS (1) sets the thread count.  Every number depends only on the seeds (1) and the thread count.
//
// Per-image scores of each method on one block, region g, image x (the target is the true class):
//   shapley   m_xg of shapley_sampled (logprob value, 8 permutations per image, 4 antithetic rounds)
//   lesion    Δ_g(x) = v_x(all) − v_x(all∖{g})           taylor  Σ_{u∈g} (a_u − b_u)·∂log p/∂a_u
//   gradcam   Grad-CAM's region share (imaging/saliency.h)  gxa  Σ_{u∈g} a_u·∂y^c/∂a_u
//   random    a seeded uniform permutation per image (the null)
// Deletion curve of an image: regions lesioned (zero ablation) one by one in decreasing score order, p(y|x)
// after each step (j = 0 … n); deletion AUC = the mean of the n + 1 values (lower is better).  Insertion:
// from every region lesioned, regions restored in the same order; AUC the mean (higher is better).  Both
// walk the lesion game's incremental walker (the same states a dense forward gives, to float rounding).
// Pointing game (planted): the image's top region is its class's evidence cell.
//
// Planted failure (mode `planted`): the default planted set (10 classes, 5 evidence cells); a shortcut
// patch, pattern 7 at +STRENGTH·signal (default 2: more salient than the evidence, as a shortcut is) in a
// cell that holds no evidence (tests/planted_failure.h), is added to 90% of the training images
// of class A = 0 and to every test image of class B = 2 (B's own evidence stays).  The net of
// tests/planted_net.h is trained on it.  Affected images: test images of B predicted A.  The confusion
// map is φ of the game with value confusion:B:A (z_A − z_B) on the test images of class B; per image,
// a hit = the patch's cell among the image's top 3 regions.  Then the top-k regions of the mean
// confusion map, the top-k of the mean Grad-CAM map (target A, the same images) and k random regions
// (mean over 20 draws) are lesioned (zero ablation) and the B→A count and the accuracy on the other
// classes are compared with the intact net.  Two alternatives (bench/README.md, defined before being
// measured): the contrast ranking s_g = φ̄_g(confusion B→A over the affected images) − φ̄_g(margin over the
// test images of every class but B), top k lesioned with zero ablation; and the confusion map's top k
// with mean ablation (each unit's mean over the test images).  SEED (default 1) is the planted data's.
#include <omp.h>

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <numeric>
#include <string>
#include <vector>

#include "base/stopwatch.h"
#include "datasets/dataset.h"
#include "datasets/planted.h"
#include "imaging/lesion_game.h"
#include "imaging/net_view.h"
#include "imaging/region_lesion.h"
#include "imaging/saliency.h"
#include "imaging/shapley.h"
#include "nn/checkpoint.h"
#include "nn/rng.h"
#include "tests/planted_failure.h"
#include "tests/planted_net.h"

namespace {

struct Method {
  std::string name;
  std::vector<double> scores;  // (N, n)
  double seconds = 0;
  bool interval = false;
};

std::vector<int> order_of(const double* score, int n) {
  std::vector<int> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return score[a] > score[b]; });
  return order;
}

// Per-image scores of every method on the game's block; seconds per image for each.
std::vector<Method> score_all(const imaging::CoalitionValue& game, const nn::LabeledImages& data,
                              const std::vector<uint32_t>& indices) {
  const int n = game.regions();
  const size_t N = game.images();
  std::vector<Method> methods;
  base::Stopwatch clock;
  imaging::ShapleyEstimate e = imaging::shapley_sampled(game, 0, 1e9, 8, 1);
  methods.push_back({"shapley", e.per_image, clock.seconds() / double(N), true});
  clock = base::Stopwatch();
  methods.push_back({"lesion", imaging::lesion_terms(game), 0, false});
  methods.back().seconds = clock.seconds() / double(N);
  clock = base::Stopwatch();
  methods.push_back({"taylor", imaging::taylor_terms(game), 0, false});
  methods.back().seconds = clock.seconds() / double(N);
  clock = base::Stopwatch();
  const imaging::SaliencyScores s = imaging::saliency_scores(game.net(), game.block(), game.grid(), data, indices);
  const double saliency_seconds = clock.seconds() / double(N);
  methods.push_back({"gradcam", s.gradcam, saliency_seconds, false});
  methods.push_back({"gradxact", s.grad_times_activation, saliency_seconds, false});
  std::vector<double> random(N * size_t(n));
  for (size_t x = 0; x < N; ++x) {
    nn::Rng rng = nn::Rng::derive(1, 0xD00D, x);
    std::vector<int> perm(static_cast<size_t>(n));
    std::iota(perm.begin(), perm.end(), 0);
    rng.shuffle(perm.data(), perm.size());
    for (int r = 0; r < n; ++r) random[x * size_t(n) + size_t(perm[size_t(r)])] = double(n - r);
  }
  methods.push_back({"random", random, 0, false});
  return methods;
}

// Deletion and insertion AUC of p(y|x) (game value logprob), per image, averaged.
void curves(const imaging::CoalitionValue& game, const Method& m, double& deletion, double& insertion,
            std::vector<double>* per_class_deletion, int classes) {
  const int n = game.regions();
  const size_t N = game.images();
  std::vector<double> del(N), ins(N);
#pragma omp parallel
  {
    imaging::CoalitionWalker walker(game);
#pragma omp for schedule(dynamic, 1)
    for (long xi = 0; xi < long(N); ++xi) {
      const size_t x = size_t(xi);
      const std::vector<int> order = order_of(&m.scores[x * size_t(n)], n);
      walker.start_full(x);
      double sum = std::exp(walker.value());
      for (int g : order) sum += std::exp(walker.remove(g));
      del[x] = sum / (n + 1);
      walker.start_empty(x);
      sum = std::exp(walker.value());
      for (int g : order) sum += std::exp(walker.add(g));
      ins[x] = sum / (n + 1);
    }
  }
  deletion = std::accumulate(del.begin(), del.end(), 0.0) / double(N);
  insertion = std::accumulate(ins.begin(), ins.end(), 0.0) / double(N);
  if (per_class_deletion) {
    per_class_deletion->assign(size_t(classes), 0.0);
    std::vector<int> count(size_t(classes), 0);
    for (size_t x = 0; x < N; ++x) (*per_class_deletion)[game.labels()[x]] += del[x], ++count[game.labels()[x]];
    for (int c = 0; c < classes; ++c) (*per_class_deletion)[size_t(c)] /= std::max(1, count[size_t(c)]);
  }
}

void table(const imaging::CoalitionValue& game, const std::vector<Method>& methods, const char* title,
           const std::function<double(const Method&)>& pointing) {
  std::printf("\n%s\n| method | deletion AUC (lower better) | insertion AUC (higher better) | pointing game | s/image | interval |\n|---|---|---|---|---|---|\n", title);
  for (const Method& m : methods) {
    double del = 0, ins = 0;
    curves(game, m, del, ins, nullptr, 0);
    const double point = pointing ? pointing(m) : NAN;
    std::printf("| %s | %.4f | %.4f | %s | %.5f | %s |\n", m.name.c_str(), del, ins,
                std::isnan(point) ? "—" : (std::to_string(point).substr(0, 5)).c_str(), m.seconds,
                m.interval ? "yes" : "no");
  }
}

int planted_mode(int k, size_t samples, double strength, uint64_t seed) {
  datasets::PlantedConfig cfg;
  cfg.seed = seed;
  const int A = 0, B = 2;
  PlantedFailure failure = make_planted_failure(cfg, A, B, strength);
  const datasets::PlantedSet& planted = failure.planted;
  const int pr = failure.patch_row, pc = failure.patch_col;
  std::printf("planted failure: patch (+%.2g x signal) in cell (%d, %d) on %zu of %zu class-%d training images and on every class-%d test image\n",
              strength, pr + 1, pc + 1, failure.stamped, failure.of_a, A, B);
  nn::Network net = train_planted_net(planted);
  const nn::LabeledImages test = planted.split.test.view();
  const imaging::LesionEvaluation intact = imaging::evaluate_lesioned(net, test, 64, nullptr);
  const int K = net.num_outputs();
  auto others_accuracy = [&](const imaging::LesionEvaluation& ev) { return accuracy_without(ev, K, B); };
  const long b_to_a = intact.confusion[size_t(B) * K + A];
  long b_total = 0;
  for (int p = 0; p < K; ++p) b_total += intact.confusion[size_t(B) * K + p];
  std::printf("intact: accuracy %.4f, B->A %ld of %ld class-B test images, other classes' accuracy %.4f\n", intact.accuracy,
              b_to_a, b_total, others_accuracy(intact));

  const run::GridSpec grid{cfg.cell_rows, cfg.cell_cols, 1};
  const int patch_region = failure.patch_region(cfg.cell_cols);
  // The confusion game on class B's test images.
  std::vector<uint32_t> b_images, affected_slots;
  for (size_t i = 0; i < test.count; ++i)
    if (test.labels[i] == B) b_images.push_back(uint32_t(i));
  imaging::ZetaSettings s;
  s.value = "confusion:" + std::to_string(B) + ":" + std::to_string(A);
  imaging::CoalitionValue confusion(net, 0, grid, test, b_images, s);
  const imaging::ShapleyEstimate est = imaging::shapley_sampled(confusion, 0, 1e9, 8, 1);
  const int n = confusion.regions();
  // Grad-CAM towards A on the same images.
  std::vector<uint8_t> relabelled(test.labels, test.labels + test.count);
  for (uint32_t i : b_images) relabelled[i] = uint8_t(A);
  nn::LabeledImages towards_a = test;
  towards_a.labels = relabelled.data();
  const imaging::SaliencyScores cam = imaging::saliency_scores(net, 0, confusion.grid(), towards_a, b_images);
  std::vector<double> mean_phi(size_t(n), 0.0), mean_cam(size_t(n), 0.0);
  int hits = 0, cam_hits = 0, affected = 0;
  for (size_t x = 0; x < b_images.size(); ++x) {
    if (intact.predicted[b_images[x]] != A) continue;
    ++affected;
    const std::vector<int> top = order_of(&est.per_image[x * size_t(n)], n);
    const std::vector<int> top_cam = order_of(&cam.gradcam[x * size_t(n)], n);
    hits += std::find(top.begin(), top.begin() + 3, patch_region) != top.begin() + 3;
    cam_hits += std::find(top_cam.begin(), top_cam.begin() + 3, patch_region) != top_cam.begin() + 3;
    for (int g = 0; g < n; ++g) {
      mean_phi[size_t(g)] += est.per_image[x * size_t(n) + size_t(g)];
      mean_cam[size_t(g)] += cam.gradcam[x * size_t(n) + size_t(g)];
    }
  }
  std::printf("affected images (B predicted A): %d; patch cell among the top 3 of the confusion map: %d (%.1f%%); of Grad-CAM (target A): %d (%.1f%%)\n",
              affected, hits, affected ? 100.0 * hits / affected : 0.0, cam_hits, affected ? 100.0 * cam_hits / affected : 0.0);
  auto lesion_top = [&](const std::vector<int>& regions, const char* what, bool mean = false) {
    imaging::RegionLesion l;
    l.block = 0;
    l.grid = confusion.grid();
    l.regions = regions;
    std::sort(l.regions.begin(), l.regions.end());
    if (mean) l.baseline = imaging::block_mean(net, test, 64, 0);
    const imaging::LesionEvaluation ev = imaging::evaluate_lesioned(net, test, 64, &l);
    std::printf("| %s | %ld | %ld | %.4f | %+.2f |\n", what, ev.confusion[size_t(B) * K + A], b_to_a - ev.confusion[size_t(B) * K + A],
                others_accuracy(ev), 100 * (others_accuracy(ev) - others_accuracy(intact)));
    return b_to_a - ev.confusion[size_t(B) * K + A];
  };
  std::printf("\nlesion of k = %d regions of conv1 (zero ablation)\n| regions | B->A after | cut | other classes' accuracy | change (points) |\n|---|---|---|---|---|\n", k);
  std::printf("| none | %ld | 0 | %.4f | 0 |\n", b_to_a, others_accuracy(intact));
  const std::vector<int> by_phi = order_of(mean_phi.data(), n), by_cam = order_of(mean_cam.data(), n);
  lesion_top(std::vector<int>(by_phi.begin(), by_phi.begin() + k), "top-k of the confusion map (zeta/Shapley)");
  lesion_top(std::vector<int>(by_cam.begin(), by_cam.begin() + k), "top-k of Grad-CAM (target A)");
  lesion_top(std::vector<int>(by_phi.begin(), by_phi.begin() + k), "top-k of the confusion map, mean ablation", true);
  {  // the contrast ranking: the confusion map minus each region's φ for the other classes' margins
    std::vector<uint32_t> others;
    for (size_t i = 0; i < test.count; ++i)
      if (test.labels[i] != B) others.push_back(uint32_t(i));
    imaging::ZetaSettings ms;
    ms.value = "margin";
    imaging::CoalitionValue margin(net, 0, grid, test, others, ms);
    const imaging::ShapleyEstimate mest = imaging::shapley_sampled(margin, 0, 1e9, 8, 1);
    std::vector<double> contrast(size_t(n), 0.0);
    for (int g = 0; g < n; ++g) contrast[size_t(g)] = (affected ? mean_phi[size_t(g)] / affected : 0.0) - mest.phi[size_t(g)];
    const std::vector<int> by_contrast = order_of(contrast.data(), n);
    lesion_top(std::vector<int>(by_contrast.begin(), by_contrast.begin() + k), "top-k of the contrast ranking (zero ablation)");
  }
  double random_cut = 0, random_others = 0;
  for (int draw = 0; draw < 20; ++draw) {
    nn::Rng r = nn::Rng::derive(1, 0xBAD, uint64_t(draw));
    std::vector<int> perm(static_cast<size_t>(n));
    std::iota(perm.begin(), perm.end(), 0);
    r.shuffle(perm.data(), perm.size());
    imaging::RegionLesion l;
    l.block = 0;
    l.grid = confusion.grid();
    l.regions.assign(perm.begin(), perm.begin() + k);
    std::sort(l.regions.begin(), l.regions.end());
    const imaging::LesionEvaluation ev = imaging::evaluate_lesioned(net, test, 64, &l);
    random_cut += double(b_to_a - ev.confusion[size_t(B) * K + A]) / 20;
    random_others += others_accuracy(ev) / 20;
  }
  std::printf("| k random (mean of 20 draws) | %.1f | %.1f | %.4f | %+.2f |\n", double(b_to_a) - random_cut, random_cut,
              random_others, 100 * (random_others - others_accuracy(intact)));
  // Which cells each top-k holds: (row, col) 1-based, "patch" or the classes whose evidence cell it is.
  auto describe = [&](const std::vector<int>& order) {
    std::string text;
    for (int j = 0; j < k; ++j) {
      const int g = order[size_t(j)], r = g / cfg.cell_cols, c = g % cfg.cell_cols;
      text += (j ? ", (" : "(") + std::to_string(r + 1) + ", " + std::to_string(c + 1) + ")";
      if (g == patch_region) text += " patch";
      for (size_t cls = 0; cls < planted.class_cells.size(); ++cls)
        for (const auto& [er, ec] : planted.class_cells[cls])
          if (er == r && ec == c) text += " class-" + std::to_string(cls);
    }
    return text;
  };
  std::printf("top-%d cells: confusion map %s; Grad-CAM %s\n", k, describe(by_phi).c_str(), describe(by_cam).c_str());

  // Faithfulness and the pointing game on the planted test set (a stratified sample, logprob value).
  imaging::ZetaSettings plain;
  const std::vector<uint32_t> idx = imaging::stratified_sample(test, test.count, samples, 1);
  imaging::CoalitionValue game(net, 0, grid, test, idx, plain);
  const std::vector<Method> methods = score_all(game, test, idx);
  table(game, methods, "planted set (with the failure), conv1 8x8x1, regions = cells", [&](const Method& m) {
    int hit = 0;
    for (size_t x = 0; x < game.images(); ++x) {
      const int top = order_of(&m.scores[x * size_t(n)], n)[0];
      for (const auto& [r, c] : planted.class_cells[game.labels()[x]]) hit += top == r * cfg.cell_cols + c;
    }
    return double(hit) / double(game.images());
  });
  return 0;
}

int checkpoint_mode(const std::string& path, const std::string& data_spec, const std::string& block_name,
                    const std::string& grid_text, size_t samples) {
  nn::Checkpoint ck = nn::load_checkpoint(path);
  const datasets::DataSplit data = datasets::load_dataset(data_spec);
  const nn::LabeledImages test = data.test.view();
  const int block = ck.net->find_block(block_name);
  if (block < 0) return std::fprintf(stderr, "no block %s\n", block_name.c_str()), 2;
  const std::vector<uint32_t> idx = imaging::stratified_sample(test, test.count, samples, 1);
  imaging::ZetaSettings plain;
  imaging::CoalitionValue game(*ck.net, block, run::parse_grid_spec(grid_text), test, idx, plain);
  const std::vector<Method> methods = score_all(game, test, idx);
  table(game, methods, (path + ", block " + block_name + " " + grid_text + ", " + std::to_string(idx.size()) + " test images").c_str(), nullptr);
  std::printf("\nper-class deletion AUC\n| method |");
  for (const std::string& c : ck.class_names) std::printf(" %s |", c.c_str());
  std::printf("\n|---|");
  for (size_t c = 0; c < ck.class_names.size(); ++c) std::printf("---|");
  std::printf("\n");
  for (const Method& m : methods) {
    double del, ins;
    std::vector<double> per_class;
    curves(game, m, del, ins, &per_class, ck.net->num_outputs());
    std::printf("| %s |", m.name.c_str());
    for (double v : per_class) std::printf(" %.3f |", v);
    std::printf("\n");
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const int threads = std::getenv("THREADS") ? std::atoi(std::getenv("THREADS")) : 1;
  omp_set_num_threads(threads);
  openblas_set_num_threads(threads);
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "planted" && argc >= 4)
    return planted_mode(std::atoi(argv[2]), size_t(std::atol(argv[3])), argc > 4 ? std::atof(argv[4]) : 2.0,
                        argc > 5 ? uint64_t(std::atoll(argv[5])) : 1);
  if (mode == "ckpt" && argc >= 7)
    return checkpoint_mode(argv[2], argv[3], argv[4], argv[5], size_t(std::atol(argv[6])));
  std::fprintf(stderr, "usage: error_study planted K SAMPLES [STRENGTH [SEED]] | error_study ckpt CKPT DATA BLOCK GRID SAMPLES\n");
  return 2;
}
