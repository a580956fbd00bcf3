// nnfmri corrupt | profile | monitor — shifted copies of a data set, and the production monitor
// (README "Monitoring").
#include <cstdio>

#include "apps/commands.h"
#include "base/error.h"
#include "base/format.h"
#include "datasets/cifar10.h"
#include "datasets/corrupt.h"
#include "run/json.h"

namespace app {

namespace {

run::Json squares_json(const std::vector<datasets::Occlusion>& squares) {
  run::Json list = run::Json::array();
  for (const datasets::Occlusion& o : squares) list.push_back({o.y, o.x, o.side});
  return list;
}

}  // namespace

int cmd_corrupt(int argc, char** argv) {
  Flags flags(kCorrupt, argc, argv);
  if (flags.help()) return std::fputs(flags.usage().c_str(), stdout), 0;
  const datasets::CorruptionKind kind = datasets::corruption_kind(flags.text("--kind"), "--kind");
  const int severity = int(flags.integer("--severity"));
  const uint64_t seed = uint64_t(flags.integer("--seed"));
  datasets::DataSplit data = load_data(flags, true);
  for (const datasets::Dataset* d : {&data.train, &data.test}) {
    const std::string problem = datasets::cifar10_problem(*d);
    if (!problem.empty()) throw base::Error("--data " + flags.text("--data") + ": " + problem + " (corrupt writes CIFAR-10 files)");
  }
  const run::Json source = describe_data(flags.text("--data"), data);
  // Split 0 is the training half, 1 the test half: their images draw from different streams.
  const std::vector<datasets::Occlusion> train_squares = datasets::corrupt_dataset(data.train, kind, severity, seed, 0);
  const std::vector<datasets::Occlusion> test_squares = datasets::corrupt_dataset(data.test, kind, severity, seed, 1);
  const std::string out = flags.text("--out");
  datasets::write_cifar10(out, data);
  run::Json record = {{"kind", flags.text("--kind")},
                      {"severity", severity},
                      {"parameter", datasets::corruption_parameter(kind, severity)},
                      {"seed", seed},
                      {"source", source}};
  if (kind == datasets::CorruptionKind::occlusion)
    record["occlusions"] = {{"format", "[row, column, side] of the top-left corner, in pixels, per image"},
                            {"train", squares_json(train_squares)},
                            {"test", squares_json(test_squares)}};
  run::write_json(out + "/corruption.json", record, 1);
  std::printf("wrote %s: %zu training and %zu test images, %s at severity %d (c = %s)\n", out.c_str(), data.train.size(),
              data.test.size(), flags.text("--kind").c_str(), severity,
              base::shortest(datasets::corruption_parameter(kind, severity), false).c_str());
  return 0;
}

}  // namespace app
