// bench/study/critical_study.cpp — recall and precision of every critical-region rule
// (imaging/critical.h) with both interval kinds on conv1 of a net that learned a planted set.
//
//   critical_study OPTIONS ABLATION [CKPT] [GRID] [SAMPLES] [VERBOSE]
//     OPTIONS   the planted data spec after "planted:", e.g. "1,cells=20,moving,unequal=0.5,distractor"
//     ABLATION  zero | mean
//     CKPT      a checkpoint trained on that data (nnfmri train); "-" or absent: the small net of
//               tests/planted_net.h trained here (Adam, 8 epochs, no augmentation)
//     GRID      conv1's grid (8x8x1); its spatial grid must be the planted cell grid (8×8)
//     SAMPLES   --zeta-samples (256)
// The ζ settings are nnfmri's defaults (shapley, logprob, tolerance 0.05·max|φ|, 4096 permutations
// per image); the budget is 600 s so that the stop is by tolerance (reproducible).
// Truth is per cell: a region is planted when its spatial block is an evidence cell.  recall = the
// share of evidence cells with at least one critical region; precision = the share of critical
// regions that lie in evidence cells; distractor = critical regions in the distractor's cell.
// One line per (rule, interval): "RESULT options ablation rule ci recall precision critical distractor
// accuracy adjacent recall_rf precision_rf", adjacent = false positives in cells next to
// (8-neighbourhood) an evidence cell; recall_rf and precision_rf under the receptive-field truth
// (README "Critical regions", written before it was measured): region g is a true positive when its
// receptive field on the input (NetView::input_span of its rows × its columns) holds an evidence
// pixel (PlantedSet::pattern_mask); recall_rf = share of evidence cells with an evidence pixel inside
// some critical region's receptive field.  "CHANCE options ablation cell-truth a/n rf-truth b/n": the
// cells (of n) each truth counts as true, the precision of critical regions drawn at random.
#include <omp.h>

#include <cblas.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cmath>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "datasets/dataset.h"
#include "datasets/planted.h"
#include "imaging/critical.h"
#include "imaging/net_view.h"
#include "imaging/zeta.h"
#include "nn/checkpoint.h"
#include "nn/network.h"
#include "nn/trainer.h"
#include "tests/planted_net.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: critical_study OPTIONS ABLATION [CKPT] [GRID] [SAMPLES] [VERBOSE]\n");
    return 2;
  }
  const std::string options = argv[1], ablation = argv[2];
  const std::string ckpt = argc > 3 ? argv[3] : "-";
  const run::GridSpec grid = run::parse_grid_spec(argc > 4 ? argv[4] : "8x8x1");
  const size_t samples = argc > 5 ? size_t(std::atol(argv[5])) : 256;
  const bool verbose = argc > 6 && std::atoi(argv[6]) != 0;
  const int threads = std::getenv("THREADS") ? std::atoi(std::getenv("THREADS")) : 1;
  omp_set_num_threads(threads);
  openblas_set_num_threads(threads);

  const datasets::PlantedSet planted = datasets::make_planted(datasets::planted_config_from(options));
  std::unique_ptr<nn::Network> owned;
  nn::Network* net = nullptr;
  nn::Checkpoint ck;
  if (ckpt == "-") {
    owned = std::make_unique<nn::Network>(train_planted_net(planted));
    net = owned.get();
  } else {
    ck = nn::load_checkpoint(ckpt);
    net = ck.net.get();
  }
  const nn::LabeledImages test = planted.split.test.view();
  const double accuracy = nn::evaluate(*net, test).accuracy;

  imaging::ZetaSettings s;
  s.samples = samples;
  s.ablation = ablation;
  s.budget_seconds = 600;
  const auto indices = imaging::stratified_sample(test, test.count, s.samples, s.seed);
  imaging::CoalitionValue game(*net, 0, grid, test, indices, s);
  if (game.grid().gh != planted.config.cell_rows || game.grid().gw != planted.config.cell_cols) {
    std::fprintf(stderr, "critical_study: conv1's grid is %dx%d, not the planted cell grid\n", game.grid().gh,
                 game.grid().gw);
    return 2;
  }
  std::set<std::pair<int, int>> cells;
  for (const auto& c : planted.class_cells) cells.insert(c.begin(), c.end());
  auto cell_of = [&](int r) {
    int i0, j0, k0;
    game.grid().coords(r, i0, j0, k0);
    return std::make_pair(i0, j0);
  };
  // Receptive-field truth: per region, its input box; per evidence cell, whether some pixel of it in
  // that box carries evidence.
  const imaging::NetView view(*net);
  const std::vector<uint8_t> evidence = planted.pattern_mask();
  const int width = planted.config.width;
  auto sees = [&](int g, const std::pair<int, int>& cell) {  // g's receptive field holds an evidence pixel of `cell`
    int i0, j0, k0;
    game.grid().coords(g, i0, j0, k0);
    const std::array<int, 2> ry = view.input_span(0, true, game.grid().rows(i0).begin, game.grid().rows(i0).end);
    const std::array<int, 2> rx = view.input_span(0, false, game.grid().cols(j0).begin, game.grid().cols(j0).end);
    const datasets::CellBox b = datasets::cell_box(planted.config, cell.first, cell.second);
    for (int y = std::max(ry[0], b.y0); y < std::min(ry[1], b.y1); ++y)
      for (int x = std::max(rx[0], b.x0); x < std::min(rx[1], b.x1); ++x)
        if (evidence[size_t(y) * width + x]) return true;
    return false;
  };
  {
    // Chance: the share of the grid's cells that each truth counts as true (a critical region drawn at
    // random from the cells is a true positive with this probability).
    int cell_true = 0, rf_true = 0;
    for (int i0 = 0; i0 < game.grid().gh; ++i0)
      for (int j0 = 0; j0 < game.grid().gw; ++j0) {
        cell_true += cells.count({i0, j0}) > 0;
        bool seen = false;
        for (const auto& cell : cells) seen |= sees(game.grid().index(i0, j0, 0), cell);
        rf_true += seen;
      }
    std::printf("CHANCE %s %s cell-truth %d/%d rf-truth %d/%d\n", options.c_str(), ablation.c_str(), cell_true,
                game.grid().gh * game.grid().gw, rf_true, game.grid().gh * game.grid().gw);
    std::fflush(stdout);
  }
  const uint64_t layer_seed = nn::Rng::derive(s.seed, 0x2E7A, 0).next();
  const imaging::ShapleyEstimate e =
      imaging::shapley_sampled(game, s.tolerance, s.budget_seconds, s.max_permutations, layer_seed);
  std::printf("# %s %s: test accuracy %.4f, %d regions, %d rounds (%s), %zu evidence cells\n", options.c_str(),
              ablation.c_str(), accuracy, game.regions(), e.rounds, e.stopped_by.c_str(), cells.size());
  {
    // The margin any cut on a score needs: the weakest evidence cell's best region against the
    // strongest region outside every evidence cell (and the distractor's best), for φ, ζ and r.
    const imaging::ZetaScores z = imaging::zeta_scores(e, "population");
    for (const auto& [name, score] : {std::make_pair(std::string("phi"), e.phi), std::make_pair(std::string("zeta"), z.zeta),
                                      std::make_pair(std::string("robust"), z.robust)}) {
      std::map<std::pair<int, int>, double> best;
      double outside = -1e300, distractor = -1e300;
      for (int g = 0; g < game.regions(); ++g) {
        const auto c = cell_of(g);
        if (cells.count(c)) {
          auto it = best.find(c);
          if (it == best.end() || score[g] > it->second) best[c] = score[g];
        } else {
          outside = std::max(outside, score[g]);
        }
        if (c == planted.distractor_cell) distractor = std::max(distractor, score[g]);
      }
      double weakest = 1e300;
      for (const auto& [c, v] : best) weakest = std::min(weakest, v);
      std::printf("MARGIN %s %s %s weakest-evidence-cell %.4g strongest-outside %.4g distractor %.4g\n", options.c_str(),
                  ablation.c_str(), name.c_str(), weakest, outside,
                  planted.distractor_cell.first >= 0 ? distractor : std::nan(""));
    }
  }
  {
    // The best any cut on φ could do: critical = the m largest φ among the significant regions
    // (population interval), best cell-level F1 over m = 1..n.
    const imaging::ZetaScores z = imaging::zeta_scores(e, "population");
    std::vector<int> order;
    for (int g = 0; g < game.regions(); ++g)
      if (z.significant[g]) order.push_back(g);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return e.phi[a] > e.phi[b]; });
    double best_f1 = 0, best_recall = 0, best_precision = 0;
    std::set<std::pair<int, int>> found;
    int inside = 0;
    for (size_t m = 0; m < order.size(); ++m) {
      const auto c = cell_of(order[m]);
      if (cells.count(c)) ++inside, found.insert(c);
      const double recall = double(found.size()) / cells.size(), precision = double(inside) / double(m + 1);
      const double f1 = recall + precision > 0 ? 2 * recall * precision / (recall + precision) : 0;
      if (f1 > best_f1) best_f1 = f1, best_recall = recall, best_precision = precision;
    }
    std::printf("ORACLE %s %s best-cut recall %.3f precision %.3f F1 %.3f\n", options.c_str(), ablation.c_str(),
                best_recall, best_precision, best_f1);
  }
  for (const std::string ci : {"sample", "population"}) {
    const imaging::ZetaScores z = imaging::zeta_scores(e, ci);
    if (verbose && ci == "population") {
      std::vector<int> order(size_t(game.regions()));
      for (int g = 0; g < game.regions(); ++g) order[g] = g;
      std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return e.phi[a] > e.phi[b]; });
      for (int r = 0; r < std::min(game.regions(), 40); ++r) {
        const int g = order[r];
        std::printf("#   %-14s phi %9.5f zeta %6.2f robust %7.2f p_adj %.2g %s%s\n", game.grid().key(g).c_str(),
                    e.phi[g], z.zeta[g], z.robust[g], z.p_adjusted[g], cells.count(cell_of(g)) ? "EVIDENCE" : "",
                    cell_of(g) == planted.distractor_cell ? "DISTRACTOR" : "");
      }
    }
    for (const std::string& rule : imaging::critical_rule_names()) {
      const std::vector<int> critical = imaging::critical_regions(rule, e.phi, z.zeta, z.significant);
      std::set<std::pair<int, int>> found, found_rf;
      int inside = 0, distractor = 0, adjacent = 0, inside_rf = 0;
      for (int g : critical) {
        bool true_rf = false;
        for (const auto& cell : cells)
          if (sees(g, cell)) true_rf = true, found_rf.insert(cell);
        inside_rf += true_rf;
        const auto c = cell_of(g);
        if (cells.count(c)) ++inside, found.insert(c);
        distractor += c == planted.distractor_cell;
        bool next_to_evidence = false;
        for (const auto& e : cells) next_to_evidence |= std::abs(e.first - c.first) <= 1 && std::abs(e.second - c.second) <= 1;
        adjacent += !cells.count(c) && next_to_evidence;
      }
      std::printf("RESULT %s %s %s %s %.3f %.3f %zu %d %.4f %d %.3f %.3f\n", options.c_str(), ablation.c_str(),
                  rule.c_str(), ci.c_str(), double(found.size()) / cells.size(),
                  critical.empty() ? 1.0 : double(inside) / critical.size(), critical.size(), distractor, accuracy,
                  adjacent, double(found_rf.size()) / cells.size(),
                  critical.empty() ? 1.0 : double(inside_rf) / critical.size());
    }
  }
  return 0;
}
