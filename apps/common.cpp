#include <omp.h>

#include <cblas.h>

#include "apps/commands.h"
#include "datasets/sha256.h"
#include "run/region_grid.h"
#include "base/error.h"

namespace app {

const char* const kVersion = "0.1.0";

int set_threads(long n) {
  if (n <= 0) n = omp_get_num_procs();
  omp_set_num_threads(int(n));
  openblas_set_num_threads(int(n));
  return int(n);
}

datasets::DataSplit load_data(const Flags& flags, bool need_train) {
  if (!flags.has("--data"))
    throw base::Error("flag --data: missing (expected cifar10[:DIR], fashion-mnist[:DIR], mnist:DIR or planted[:SEED])");
  datasets::DataSplit split = datasets::load_dataset(flags.str("--data", ""));
  long limit_train = flags.integer("--limit-train", 0, 0, 1L << 40);
  long limit_test = flags.integer("--limit-test", 0, 0, 1L << 40);
  if (limit_train > 0) split.train.truncate(size_t(limit_train));
  if (limit_test > 0) split.test.truncate(size_t(limit_test));
  if (need_train && split.train.size() == 0) throw base::Error("--data " + flags.str("--data", "") + ": no training images");
  if (split.test.size() == 0) throw base::Error("--data " + flags.str("--data", "") + ": no test images");
  return split;
}

nlohmann::ordered_json describe_data(const std::string& spec, const datasets::DataSplit& data) {
  nlohmann::ordered_json files = nlohmann::ordered_json::array();
  auto add = [&](const datasets::Dataset& d) {
    for (const auto& f : d.files) files.push_back({{"path", f}, {"sha256", datasets::sha256_file(f)}});
  };
  add(data.train);
  add(data.test);
  return {{"spec", spec},
          {"name", data.test.name},
          {"files", files},
          {"train_images", data.train.size()},
          {"test_images", data.test.size()},
          {"image_shape", {data.test.channels, data.test.height, data.test.width}},
          {"classes", data.test.class_names}};
}

void check_net_fits(const nn::Network& net, const datasets::Dataset& d, const std::string& what) {
  if (net.channels() != d.channels || net.height() != d.height || net.width() != d.width)
    throw base::Error(what + " takes " + std::to_string(net.channels()) + "x" + std::to_string(net.height()) + "x" +
                    std::to_string(net.width()) + " images but --data has " + std::to_string(d.channels) + "x" +
                    std::to_string(d.height) + "x" + std::to_string(d.width));
  if (net.num_outputs() != d.num_classes())
    throw base::Error(what + " has " + std::to_string(net.num_outputs()) + " outputs but --data has " +
                    std::to_string(d.num_classes()) + " classes (end the spec with linear:" +
                    std::to_string(d.num_classes()) + ")");
}

std::vector<FlagDef> analysis_flag_defs() {
  return {{"--grid", true, "GHxGWxGC  region grid per layer (8x8x4)"},
          {"--lambda", true, "X  weight of the log-variance term of the density (0.1)"},
          {"--epsilon", true, "X  variance floor inside the log (1e-6)"},
          {"--eval-samples", true, "N  first N test images imaged (1000)"},
          {"--stages", true, "LIST  imaging stages, comma-separated: grid,zeta,tract (all)"},
          {"--zeta-method", true, "shapley|exact|lesion|taylor  impact estimator (shapley)"},
          {"--zeta-value", true, "logprob|accuracy  value of a coalition (logprob)"},
          {"--zeta-ablation", true, "zero|mean  what a lesioned region is set to (zero)"},
          {"--zeta-samples", true, "N  class-balanced images for the lesion game (256)"},
          {"--zeta-tol", true, "X  95% CI half-width target of the sampled Shapley values (0.05 max|phi|)"},
          {"--zeta-budget", true, "SECONDS  time for each layer's zeta work; unused time passes to the next layers (5)"},
          {"--zeta-seed", true, "N  seed of the sample and the permutations (1)"},
          {"--zeta-max-permutations", true, "N  cap on permutations per image: with a large --zeta-budget, a reproducible stop (4096)"},
          {"--tract-samples", true, "N  first N images for tractography (256)"},
          {"--tract-top", true, "N  list only the N strongest flows per layer pair (0: all)"}};
}

imaging::AnalysisSettings analysis_settings(const Flags& flags) {
  imaging::AnalysisSettings s;
  s.grid = run::parse_grid_spec(flags.str("--grid", "8x8x4"), "--grid");
  s.lambda = flags.real("--lambda", s.lambda, -1e6, 1e6);
  s.epsilon = flags.real("--epsilon", s.epsilon, 1e-30, 1e6);
  s.eval_samples = size_t(flags.integer("--eval-samples", long(s.eval_samples), 8, 1L << 30));
  std::string stages = flags.str("--stages", "grid,zeta,tract");
  s.run_zeta = s.run_tract = false;
  for (size_t start = 0; start <= stages.size();) {
    size_t end = std::min(stages.find(',', start), stages.size());
    std::string stage = stages.substr(start, end - start);
    if (stage == "zeta")
      s.run_zeta = true;
    else if (stage == "tract")
      s.run_tract = true;
    else if (stage != "grid")
      throw base::Error("flag --stages '" + stages + "': unknown stage '" + stage + "' (expected grid, zeta, tract)");
    start = end + 1;
  }
  s.zeta.method = flags.str("--zeta-method", s.zeta.method);
  s.zeta.value = flags.str("--zeta-value", s.zeta.value);
  s.zeta.ablation = flags.str("--zeta-ablation", s.zeta.ablation);
  s.zeta.samples = size_t(flags.integer("--zeta-samples", long(s.zeta.samples), 1, 1L << 30));
  s.zeta.tolerance = flags.real("--zeta-tol", s.zeta.tolerance, -1, 1e9);
  s.zeta.budget_seconds = flags.real("--zeta-budget", s.zeta.budget_seconds, 0, 1e7);
  s.zeta.seed = uint64_t(flags.integer("--zeta-seed", long(s.zeta.seed), 0, 1L << 62));
  s.zeta.max_permutations = int(flags.integer("--zeta-max-permutations", s.zeta.max_permutations, 2, 1L << 30));
  s.tract.samples = size_t(flags.integer("--tract-samples", long(s.tract.samples), 1, 1L << 30));
  s.tract.top = int(flags.integer("--tract-top", s.tract.top, 0, 1L << 30));
  return s;
}

}  // namespace app
