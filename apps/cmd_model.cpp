// nnfmri eval | info | export — what can be done with a checkpoint besides imaging it.
#include <cstdio>
#include <numeric>

#include "apps/commands.h"
#include "nn/checkpoint.h"
#include "base/error.h"
#include "base/fileio.h"
#include "base/npz.h"
#include "nn/tensor_file.h"
#include "base/json.h"
#include "imaging/region_lesion.h"
#include "run/region_grid.h"
#include "nn/trainer.h"
#include "run/json.h"
#include "run/manifest.h"

namespace app {

namespace {
// A confusion matrix (K×K, rows true classes, columns predicted) as a table with class names.
void print_confusion(const std::vector<long>& m, const std::vector<std::string>& names) {
  const size_t K = names.size();
  std::printf("%12s", "true\\pred");
  for (const std::string& n : names) std::printf(" %9.9s", n.c_str());
  std::printf("\n");
  for (size_t y = 0; y < K; ++y) {
    std::printf("%12.12s", names[y].c_str());
    for (size_t p = 0; p < K; ++p) std::printf(" %9ld", m[y * K + p]);
    std::printf("\n");
  }
}

// A K×K row-major matrix as K rows.
run::Json matrix_rows(const std::vector<long>& m, size_t K) {
  run::Json rows = run::Json::array();
  for (size_t y = 0; y < K; ++y) rows.push_back(std::vector<long>(m.begin() + long(y * K), m.begin() + long((y + 1) * K)));
  return rows;
}

// eval --lesion: accuracy and confusion matrix of the intact and of the lesioned net, per class and
// overall, and the change of every confusion cell; printed, and returned as --lesion-json's document
// (schema: README, "eval --lesion").
run::Json print_lesion_effect(nn::Network& net, const nn::LabeledImages& test, int batch, imaging::RegionLesion& lesion,
                              const std::string& ablation, const std::string& text, std::vector<std::string> names) {
  if (ablation == "mean") lesion.baseline = imaging::block_mean(net, test, batch, lesion.block);
  const int K = net.num_outputs();
  if (int(names.size()) != K) {
    names.clear();
    for (int k = 0; k < K; ++k) names.push_back(std::to_string(k));
  }
  const imaging::LesionEvaluation before = imaging::evaluate_lesioned(net, test, batch, nullptr);
  const imaging::LesionEvaluation after = imaging::evaluate_lesioned(net, test, batch, &lesion);
  std::string keys;
  for (int r : lesion.regions) keys += (keys.empty() ? "" : " ") + lesion.grid.key(r);
  std::printf("lesion %s (%s ablation): %zu of %d regions of %s: %s\n", text.c_str(), ablation.c_str(),
              lesion.regions.size(), lesion.grid.count(), net.blocks()[size_t(lesion.block)].name.c_str(), keys.c_str());
  std::printf("accuracy before %.4f  after %.4f  change %+.4f  (%zu images)\n", before.accuracy, after.accuracy,
              after.accuracy - before.accuracy, before.count);
  std::printf("per class (true class: accuracy before -> after)\n");
  run::Json per_class = run::Json::array();
  for (int y = 0; y < K; ++y) {
    long total = 0;
    for (int p = 0; p < K; ++p) total += before.confusion[size_t(y) * K + p];
    if (total == 0) continue;
    const double acc_before = double(before.confusion[size_t(y) * K + y]) / double(total);
    const double acc_after = double(after.confusion[size_t(y) * K + y]) / double(total);
    std::printf("  %-12s %.4f -> %.4f  (%ld images)\n", names[size_t(y)].c_str(), acc_before, acc_after, total);
    per_class.push_back({{"class", y}, {"name", names[size_t(y)]}, {"images", total}, {"before", acc_before}, {"after", acc_after}});
  }
  std::printf("confusion matrix before (rows: true class, columns: predicted class)\n");
  print_confusion(before.confusion, names);
  std::printf("confusion matrix after\n");
  print_confusion(after.confusion, names);
  std::vector<long> change(before.confusion.size());
  for (size_t i = 0; i < change.size(); ++i) change[i] = after.confusion[i] - before.confusion[i];
  std::printf("change (after - before)\n");
  print_confusion(change, names);
  run::Json regions = run::Json::array();
  for (int r : lesion.regions) regions.push_back(lesion.grid.key(r));
  return {{"lesion", text},
          {"block", net.blocks()[size_t(lesion.block)].name},
          {"ablation", ablation},
          {"grid", {lesion.grid.gh, lesion.grid.gw, lesion.grid.gc}},
          {"regions", regions},
          {"images", before.count},
          {"classes", names},
          {"accuracy", {{"before", before.accuracy}, {"after", after.accuracy}, {"change", after.accuracy - before.accuracy}}},
          {"per_class", per_class},
          {"confusion", {{"before", matrix_rows(before.confusion, size_t(K))},
                         {"after", matrix_rows(after.confusion, size_t(K))},
                         {"change", matrix_rows(change, size_t(K))}}}};
}
}  // namespace

int cmd_eval(int argc, char** argv) {
  Flags flags(kEval, argc, argv);
  if (flags.help()) return std::fputs(flags.usage().c_str(), stdout), 0;
  set_threads(flags);
  std::vector<NamedFile> outputs;
  for (const char* flag : {"--dump", "--lesion-json"})
    if (flags.has(flag)) outputs.push_back({std::string("flag ") + flag, flags.text(flag)});
  require_distinct_files({{"the evaluated checkpoint", flags.operands()[0]}}, outputs);
  for (const NamedFile& out : outputs) require_writable(out);  // a folder, a device: said before the evaluation
  nn::Checkpoint ck = nn::load_checkpoint(flags.operands()[0], true);  // inference only: no backward follows
  datasets::DataSplit data = load_data(flags, false, "--data", true, ck.net->channels());  // the test half alone
  require_distinct_files(data_files(data), outputs);  // (read now: its files are known)
  check_net_fits(*ck.net, data.test, "the checkpoint's net");
  check_batch_fits(*ck.net, flags.integer("--batch"), data.test.size(), false);
  // The lesion is resolved before any work, so that a bad --lesion is an error line and nothing else.
  imaging::RegionLesion lesion;
  // The lesion's own flags mean nothing without it (they were ignored): refused.
  for (const char* flag : {"--lesion-json", "--lesion-ablation", "--grid"})
    if (flags.has(flag) && !flags.has("--lesion"))
      throw base::Error(std::string(flag) + " '" + flags.text(flag) + "': needs --lesion BLOCK:PATTERN (" +
                        (flag == std::string("--lesion-json") ? "it records that lesion's effect" : "it sets that lesion") + ")");
  if (flags.has("--lesion"))
    lesion = imaging::parse_region_lesion(flags.text("--lesion"), *ck.net, run::parse_grid_spec(flags.text("--grid"), "--grid"),
                                          "--lesion");
  // --dump's arrays, their size checked before the evaluation (a zip without zip64: under 4 GiB)
  const nn::LabeledImages v = data.test.view();
  const nn::Network& net = *ck.net;
  const int n = int(v.count);
  std::vector<base::NpyArray> arrays = {{"input", {n, net.channels(), net.height(), net.width()}, nullptr},
                                        {"logits", {n, net.num_outputs()}, nullptr},
                                        {"labels", {n}, nullptr}};
  if (const std::string problem = base::npz_size_problem(arrays); flags.has("--dump") && !problem.empty())
    throw base::Error("flag --dump " + flags.text("--dump") + ": " + problem);
  nn::EvaluationRecord record;  // --dump: every image's input and logits, from the same batches
  const nn::Evaluation ev = nn::evaluate(*ck.net, data.test.view(), int(flags.integer("--batch")),
                                         flags.has("--dump") ? &record : nullptr);
  std::printf("test loss %.6f  accuracy %.4f  (%zu images, epoch %d)\n", ev.loss, ev.accuracy, ev.count, ck.epoch);
  run::Json effect;
  if (flags.has("--lesion"))
    effect = print_lesion_effect(*ck.net, data.test.view(), int(flags.integer("--batch")), lesion,
                                 flags.text("--lesion-ablation"), flags.text("--lesion"), ck.class_names);
  // Both outputs are written before either is announced, and a --dump that cannot be written removes
  // the --lesion-json this eval wrote (a full disk at --dump left it, with "wrote" printed).
  bool lesion_written = false;
  try {
    if (flags.has("--lesion-json")) {
      run::write_json(flags.text("--lesion-json"), effect, 1);
      lesion_written = true;
    }
    if (flags.has("--dump")) {
      std::vector<float> labels(v.labels, v.labels + v.count);
      arrays[0].data = record.input.data();
      arrays[1].data = record.logits.data();
      arrays[2].data = labels.data();
      base::write_npz(flags.text("--dump"), arrays);
    }
  } catch (...) {
    if (lesion_written) run::remove_file(flags.text("--lesion-json"));
    throw;
  }
  for (const char* flag : {"--lesion-json", "--dump"})
    if (flags.has(flag)) std::printf("wrote %s\n", flags.text(flag).c_str());
  return 0;
}

int cmd_info(int argc, char** argv) {
  Flags flags(kInfo, argc, argv);
  if (flags.help()) return std::fputs(flags.usage().c_str(), stdout), 0;
  const std::string path = flags.operands()[0];
  nn::Checkpoint ck = nn::load_checkpoint(path, true);  // read, never trained: no gradients
  nn::Network& net = *ck.net;
  std::printf("%s: nnfmri checkpoint, epoch %d\n", path.c_str(), ck.epoch);
  // Shapes in the order of the checkpoint header and export's model.json: [C, H, W] (PyTorch's).
  std::printf("spec: %s\ninput: [%d, %d, %d] (C, H, W), %zu parameters, classes: %zu\n", net.spec().c_str(),
              net.channels(), net.height(), net.width(), net.parameter_count(), ck.class_names.size());
  for (const nn::Block& b : net.blocks()) {
    std::string layers;
    for (int i = b.first; i <= b.last; ++i) layers += (i > b.first ? " " : "") + net.layer(i).token();
    std::printf("  %-8s %-28s -> [%d, %d, %d] (C, H, W)\n", b.name.c_str(), layers.c_str(), b.output_shape.c,
                b.output_shape.h, b.output_shape.w);
  }
  // a string from the file: control characters escaped, as error lines have them (base::one_line)
  if (ck.meta.contains("data"))
    std::printf("trained on: %s\n", base::one_line(ck.meta["data"].value("spec", "?")).c_str());
  std::printf("sha256: %s (the file's, as an analysis of it records it)\n", ck.sha256.c_str());
  return 0;
}

int cmd_export(int argc, char** argv) {
  Flags flags(kExport, argc, argv);
  if (flags.help()) return std::fputs(flags.usage().c_str(), stdout), 0;
  if (!flags.has("--npz") && !flags.has("--safetensors"))
    throw base::Error("export: expected --npz OUT.npz or --safetensors OUT.safetensors (or both)");
  const std::string npz = flags.has("--npz") ? flags.text("--npz") : "", description = nn::npz_description_path(npz);
  std::vector<NamedFile> outputs;
  if (flags.has("--npz")) outputs = {{"flag --npz", npz}, {"the description of flag --npz", description}};
  if (flags.has("--safetensors")) outputs.push_back({"flag --safetensors", flags.text("--safetensors")});
  require_distinct_files({{"the exported checkpoint", flags.operands()[0]}}, outputs);
  // both outputs said before either is written (a --safetensors that cannot be written came after the
  // .npz pair was); the description is checked where it is replaced, before the weights are written
  for (const char* flag : {"--npz", "--safetensors"})
    if (flags.has(flag)) require_writable({std::string("flag ") + flag, flags.text(flag)});
  nn::Checkpoint ck = nn::load_checkpoint(flags.operands()[0], true);  // read, never trained: no gradients
  // Names and shapes as PyTorch has them (nn/tensor_file.h), and the architecture beside them, so
  // that `import` (or bench/rebuild_from_npz.py) rebuilds the very same net.
  const std::vector<nn::TensorRef> tensors = nn::torch_tensors(*ck.net);
  nlohmann::json model = nn::describe_network(*ck.net);
  model["class_names"] = ck.class_names;
  model["epoch"] = ck.epoch;
  // Every output is written before any is announced, and a write that fails removes the ones this
  // export wrote before it: a full disk at --safetensors left the new .npz pair behind, whole-looking.
  std::vector<std::string> written;
  try {
    if (flags.has("--npz")) {
      std::vector<base::NpyArray> arrays;
      for (const nn::TensorRef& t : tensors) arrays.push_back({t.name, std::vector<int>(t.shape.begin(), t.shape.end()), t.values});
      // An earlier description goes before the new weights are written: `import` would pair them.
      run::remove_file(description);
      base::write_npz(npz, arrays);
      written.push_back(npz);
      run::write_json(description, model, 2);
      written.push_back(description);
    }
    if (flags.has("--safetensors")) {
      nn::write_safetensors(flags.text("--safetensors"), tensors, {{"nnfmri", base::json_text(model, -1)}});
      written.push_back(flags.text("--safetensors"));
    }
  } catch (...) {
    for (const std::string& file : written) run::remove_file(file);
    throw;
  }
  if (flags.has("--npz")) std::printf("wrote %s and %s\n", npz.c_str(), description.c_str());
  if (flags.has("--safetensors")) std::printf("wrote %s\n", flags.text("--safetensors").c_str());
  return 0;
}

}  // namespace app
