#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include <cblas.h>

#include "apps/commands.h"
#include "base/sha256.h"
#include "dist/world.h"
#include "nn/checkpoint.h"
#include "run/region_grid.h"
#include "base/error.h"
#include "base/fileio.h"
#include "base/json.h"
#include "base/limits.h"
#include "base/memory.h"
#include "base/text.h"

namespace app {

const char* const kVersion = "0.1.0";

namespace {
// How many threads' address space (kAddressSpacePerThread) fits under RLIMIT_AS beside what the
// process already maps; kMaxThreads when there is no limit.
int threads_the_address_space_allows() {
  const long long left = base::address_space_left();
  if (left < 0) return kMaxThreads;
  return int(std::clamp<long long>(left / kAddressSpacePerThread, 1, kMaxThreads));
}
}  // namespace

int set_threads(const Flags& flags, int fallback) {
  const bool given = flags.has("--threads");
  long n = given ? flags.integer("--threads") : fallback > 0 ? fallback : omp_get_num_procs();
  const int allowed = threads_the_address_space_allows();
  if (n > allowed) {
    if ((given || fallback > 0) && dist::world().rank() == 0)  // the other ranks of an MPI job print nothing
      std::fprintf(stderr, "nnfmri: %ld threads capped at %d (%s)\n", n, allowed,
                   allowed == kMaxThreads ? "the most OpenBLAS is built for"
                                          : "what the address-space limit, ulimit -v, leaves room for");
    n = allowed;
  }
  // Teams of exactly n: with OMP_DYNAMIC=true libgomp would shrink a team by the load average, and
  // the per-thread partial sums of the weight gradients (added in thread order) would regroup, so
  // the same seed and --threads would no longer give the same bits.
  omp_set_dynamic(0);
  omp_set_num_threads(int(n));
  openblas_set_num_threads(int(n));
  return int(n);
}

std::vector<std::pair<std::string, std::string>> library_settings(const LibraryEnvironment& found) {
  std::vector<std::pair<std::string, std::string>> set;
  const auto is = [](const char* value, const char* text) { return value && std::strcmp(value, text) == 0; };
  const char* wanted = found.nnfmri_blas_coretype && *found.nnfmri_blas_coretype ? found.nnfmri_blas_coretype
                       : found.cpu_has_avx512                                    ? "SkylakeX"
                                                                                 : nullptr;
  if (wanted && !is(found.openblas_coretype, wanted))
    set.emplace_back("OPENBLAS_CORETYPE", wanted);
  if (!found.omp_wait_policy) set.emplace_back("OMP_WAIT_POLICY", "passive");
  if (found.address_space_limited && !is(found.openblas_num_threads, "1"))
    set.emplace_back("OPENBLAS_NUM_THREADS", "1");
  return set;
}

void warn_if_oversubscribed(const std::string& command, int threads) {
  const long cores = sysconf(_SC_NPROCESSORS_ONLN), ranks = dist::ranks_on_this_node();
  if (dist::world().rank() == 0 && ranks > 1 && ranks * threads > cores)
    std::fprintf(stderr, "nnfmri %s: warning: %ld ranks on this machine × --threads %d = %ld threads on %ld cores "
                 "(oversubscribed: slower, same results)\n", command.c_str(), ranks, threads, ranks * threads, cores);
}

std::string directory_in_use(const std::string& flag, const std::string& dir) {
  return flag + " " + dir + ": in use by another nnfmri train, analyze or monitor (it holds the directory's lock); " +
         "wait for it to end, or choose another directory";
}

namespace {
// Whether two paths name one file: both exist and are the same device and inode, or neither exists
// and they resolve to the same path.
bool same_file(const std::string& a, const std::string& b) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const bool has_a = fs::exists(a, ec), has_b = fs::exists(b, ec);
  if (has_a && has_b) return fs::equivalent(a, b, ec);
  if (has_a || has_b) return false;
  std::error_code ea, eb;
  const fs::path resolved_a = fs::weakly_canonical(fs::absolute(a, ea), ea),
                 resolved_b = fs::weakly_canonical(fs::absolute(b, eb), eb);
  return !ea && !eb && resolved_a == resolved_b;
}
}  // namespace

void refuse_output_in_data(const std::string& flag, const std::string& out, const std::vector<const datasets::Dataset*>& read,
                           const std::string& data_flag, const std::string& why) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path target = fs::weakly_canonical(fs::absolute(out, ec), ec);
  for (const datasets::Dataset* d : read)
    for (const std::string& file : d->files) {
      const bool whole = fs::is_directory(file, ec);
      const fs::path source = whole ? fs::path(file) : fs::absolute(file, ec).parent_path();
      for (fs::path at = target;; at = at.parent_path()) {
        if (fs::equivalent(at, source, ec))
          throw base::Error(flag + " " + out + (at == target ? ": " : ": inside " + source.string() + ", ") + "the folder " +
                            data_flag + " reads, expected another folder (" + why + ")");
        if (!whole || at == at.parent_path()) break;
      }
    }
}

void require_distinct_files(const std::vector<NamedFile>& inputs, const std::vector<NamedFile>& outputs) {
  for (size_t o = 0; o < outputs.size(); ++o) {
    std::vector<NamedFile> others = inputs;
    others.insert(others.end(), outputs.begin(), outputs.begin() + long(o));
    for (const NamedFile& other : others)
      if (same_file(outputs[o].path, other.path))
        throw base::Error(outputs[o].what + " " + outputs[o].path + ": the same file as " + other.what +
                          (other.path == outputs[o].path ? "" : " (" + other.path + ")") + ", expected another path");
  }
}

std::vector<NamedFile> data_files(const datasets::DataSplit& data, const std::string& data_flag) {
  std::vector<NamedFile> files;
  std::error_code ec;
  for (const datasets::Dataset* d : {&data.train, &data.test})
    for (const std::string& file : d->files)
      if (!std::filesystem::is_directory(file, ec)) files.push_back({"a file " + data_flag + " reads", file});
  return files;
}

void require_writable(const NamedFile& output) {
  in_file_of(output.what, [&] { base::require_writable(output.path); });
}

void in_file_of(const std::string& flag, const std::function<void()>& step) {
  try {
    step();
  } catch (const base::Error& e) {
    throw base::Error(flag + " " + e.what());
  }
}

std::vector<int> parse_sizes(const std::string& text, const std::string& flag, size_t count, const std::string& form) {
  const std::vector<std::string> parts = base::split(text, 'x');
  std::vector<int> sizes(parts.size());
  bool ok = parts.size() == count;
  for (size_t i = 0; ok && i < parts.size(); ++i) ok = base::parse_count(parts[i], base::kMaxInputSide, sizes[i]);
  if (!ok)
    throw base::Error("flag " + flag + " '" + text + "': expected " + form + ", " + std::to_string(count) +
                      " integers from 1 to " + std::to_string(base::kMaxInputSide) + " joined by x");
  return sizes;
}

namespace {

datasets::LoadOptions load_options(const Flags& flags, const std::string& data_flag) {
  datasets::LoadOptions options;
  // --resize, --split and --split-seed apply to image folders only; elsewhere they would be ignored
  // without a word
  for (const char* flag : {"--resize", "--split", "--split-seed"})
    if (flags.has(flag) && flags.text(data_flag).rfind("images:", 0) != 0)
      throw base::Error(std::string("flag ") + flag + ": applies to images:DIR only, not to " + data_flag + " " +
                        flags.text(data_flag));
  // … and --split, --split-seed to a folder of class folders only: a DIR with train/ or test/ is split
  // by them (datasets/image_folder.h), and the flags would be ignored without a word
  for (const char* flag : {"--split", "--split-seed"})
    if (flags.has(flag) && flags.text(data_flag).rfind("images:", 0) == 0) {
      const std::string dir = flags.text(data_flag).substr(7);
      std::error_code ec;
      for (const char* half : {"train", "test"})
        if (!dir.empty() && std::filesystem::is_directory(std::filesystem::path(dir) / half, ec))
          throw base::Error(std::string("flag ") + flag + ": applies to a folder of class folders only, not to " +
                            data_flag + " " + flags.text(data_flag) + ", whose " + half +
                            "/ folder makes the split (give --split with a folder of class folders)");
    }
  if (flags.has("--resize")) {
    const std::vector<int> size = parse_sizes(flags.text("--resize"), "--resize", 2, "HxW");
    options.resize_h = size[0], options.resize_w = size[1];
  }
  options.split = flags.real("--split");
  options.split_seed = uint64_t(flags.integer("--split-seed"));
  return options;
}

}  // namespace

std::unique_ptr<datasets::TestStream> open_test_stream(const Flags& flags, const std::string& data_flag, int net_channels) {
  const std::string spec = flags.text(data_flag);
  const long limit = flags.has("--limit-test") ? flags.integer("--limit-test") : 0;
  datasets::LoadOptions options = load_options(flags, data_flag);
  options.rgb = net_channels == 3;  // grayscale images for a net that takes RGB: replicated, as a folder of both kinds
  options.unlabelled_ok = true;  // a stream to score needs no labels: an images:DIR of images without class folders
  // datasets/ names the spec, option or file that failed; the line also names the flag that gave the spec
  // (--data, or monitor's --input): "--input: 'bogus:1': unknown dataset, expected …"
  std::unique_ptr<datasets::TestStream> stream;
  in_file_of(data_flag + ":", [&] { stream = std::make_unique<datasets::TestStream>(spec, options, size_t(std::max(limit, 0L))); });
  if (stream->size() == 0) throw base::Error(data_flag + " " + spec + ": no test images");
  // --split and --split-seed cut a folder of class folders; a folder of images alone is monitored whole, so
  // there they would be ignored without a word
  if (!stream->header().labelled)
    for (const char* flag : {"--split", "--split-seed"})
      if (flags.has(flag))
        throw base::Error(std::string("flag ") + flag + ": applies to a folder of class folders only, not to " + data_flag +
                          " " + spec + ", a folder of images without class folders (monitored whole, unlabelled)");
  return stream;
}

datasets::DataSplit load_data(const Flags& flags, bool need_train, const std::string& data_flag, bool need_test,
                              int net_channels) {
  const std::string spec = flags.text(data_flag);
  datasets::LoadOptions options = load_options(flags, data_flag);
  options.train_only = !need_test;
  options.test_only = !need_train;
  options.rgb = net_channels == 3;
  datasets::DataSplit split;
  in_file_of(data_flag + ":", [&] { split = datasets::load_dataset(spec, options); });  // as open_test_stream
  const long limit_train = need_train ? flags.integer("--limit-train") : 0;
  const long limit_test = flags.has("--limit-test") ? flags.integer("--limit-test") : 0;
  if (limit_train > 0) split.train.truncate(size_t(limit_train));
  if (limit_test > 0) split.test.truncate(size_t(limit_test));
  if (need_train && split.train.size() == 0) throw base::Error(data_flag + " " + spec + ": no training images");
  if (need_test && split.test.size() == 0) throw base::Error(data_flag + " " + spec + ": no test images");
  return split;
}

nlohmann::ordered_json describe_data(const std::string& spec, const datasets::DataSplit& data, HalvesRead read) {
  nlohmann::ordered_json files = nlohmann::ordered_json::array();
  auto add = [&](const datasets::Dataset& d) {
    if (!d.digest.empty()) {  // images:DIR: one digest over every image (datasets/image_folder.h)
      const nlohmann::ordered_json entry = {{"path", d.files.at(0)}, {"sha256", d.digest}, {"of", "the sha256sum listing of its images"}};
      if (files.empty() || files.back() != entry) files.push_back(entry);
      return;
    }
    // Each file once: the train and test halves of one folder share its class-name file.
    for (const auto& f : d.files)
      if (std::none_of(files.begin(), files.end(), [&](const nlohmann::ordered_json& e) { return e["path"] == f; }))
        files.push_back({{"path", f}, {"sha256", base::sha256_file(f)}});
  };
  add(data.train);
  add(data.test);
  nlohmann::ordered_json out = {{"spec", spec},
          {"absolute_spec", datasets::absolute_spec(spec)},
          {"name", data.test.name},
          {"files", files},
          {"train_images", data.train.size()},
          {"test_images", data.test.size()},
          {"image_shape", {data.test.channels, data.test.height, data.test.width}},
          {"classes", data.test.class_names}};
  if (!data.test.read_as.empty()) out["read_as"] = data.test.read_as;
  if (read == HalvesRead::test) out.erase("train_images");  // not 0: the training half was not looked at
  if (read == HalvesRead::train) out.erase("test_images");
  return out;
}

nlohmann::ordered_json data_identity(const nlohmann::ordered_json& described, const datasets::DataSplit& data) {
  nlohmann::ordered_json out = described;
  out.erase("spec");
  out.erase("absolute_spec");
  // each file's SHA-256 under its name (an image folder's digest under "images"): a difference names it
  nlohmann::ordered_json digests = nlohmann::ordered_json::object();
  for (const auto& f : described.at("files")) {
    const std::string path = f.at("path");
    digests[f.contains("of") ? std::string("images") : path.substr(path.find_last_of('/') + 1)] = f.at("sha256");
  }
  out["files"] = digests;
  // Generated images (planted: its seed and options are in the spec, which names no file) are
  // identified by what was generated: each split's SHA-256 of its pixels, then of its labels.
  if (data.test.name == "planted") {
    auto content = [](const datasets::Dataset& d) {
      return base::sha256_hex(d.pixels.data(), d.pixels.size()) + base::sha256_hex(d.labels.data(), d.labels.size());
    };
    out["generated"] = {{"train", content(data.train)}, {"test", content(data.test)}};
  }
  return out;
}

namespace {

// The first place where `here` differs from `there` (rank 0's): its JSON path and both values.
std::string first_difference(const nlohmann::ordered_json& here, const nlohmann::ordered_json& there,
                             const std::string& path) {
  const std::string at = path.empty() ? "the fingerprint" : path;
  if (here.is_object() && there.is_object()) {
    for (auto it = there.begin(); it != there.end(); ++it) {
      if (!here.contains(it.key())) return at + " has no \"" + it.key() + "\" here";
      if (here[it.key()] != it.value()) return first_difference(here[it.key()], it.value(), path + "/" + it.key());
    }
    for (auto it = here.begin(); it != here.end(); ++it)
      if (!there.contains(it.key())) return at + " has \"" + it.key() + "\" here, not on rank 0";
  } else if (here.is_array() && there.is_array() && here.size() == there.size()) {
    for (size_t i = 0; i < here.size(); ++i)
      if (here[i] != there[i]) return first_difference(here[i], there[i], path + "/" + std::to_string(i));
  }
  return at + " is " + base::json_text_capped(here, 48) + " here, " + base::json_text_capped(there, 48) + " on rank 0";
}

}  // namespace

void agree_to_end_early(const std::string& what) { agree_with_rank0(dist::world(), {{"--help or --version", what}}); }

void agree_with_rank0(nn::ShardGroup& world, const nlohmann::ordered_json& fingerprint) {
  if (world.ranks() == 1) return;
  // Its first key says whether this rank ends at once (agree_to_end_early; null: it does not), so a
  // rank that ends while another works is named by that: "/--help or --version is \"nnfmri train
  // --help\" here, null on rank 0".
  nlohmann::ordered_json keyed = {{"--help or --version", nullptr}};
  keyed.update(fingerprint);
  const std::string mine = base::json_text(keyed, -1);  // bad UTF-8 (a name from a file) as U+FFFD on every rank
  const std::string rank0 = world.text_from(0, mine);
  const int differing = world.lowest_rank_with(mine != rank0);
  if (differing < 0) return;
  const std::string theirs = world.text_from(differing, mine);
  throw dist::JointFailure("data or settings differ from rank 0's: " +
                               first_difference(nlohmann::ordered_json::parse(theirs),
                                                nlohmann::ordered_json::parse(rank0), "") +
                               " (every rank must read the same data with the same flags)",
                           world.rank() == differing);
}

void check_net_fits(const nn::Network& net, const datasets::Dataset& d, const std::string& what,
                    const std::string& data_flag, bool check_classes) {
  if (net.channels() != d.channels || net.height() != d.height || net.width() != d.width)
    throw base::Error(what + " takes " + std::to_string(net.channels()) + "x" + std::to_string(net.height()) + "x" +
                    std::to_string(net.width()) + " images but " + data_flag + " has " + std::to_string(d.channels) + "x" +
                    std::to_string(d.height) + "x" + std::to_string(d.width));
  if (check_classes && net.num_outputs() != d.num_classes())
    throw base::Error(what + " has " + std::to_string(net.num_outputs()) + " outputs but " + data_flag + " has " +
                    std::to_string(d.num_classes()) + " classes (end the spec with linear:" +
                    std::to_string(d.num_classes()) + ")");
  // the names a checkpoint will hold, checked before any work rather than at the first save
  if (const std::string problem = nn::class_names_problem(d.class_names, net.num_outputs()); check_classes && !problem.empty())
    throw base::Error(data_flag + ": the class names: " + problem);
}

void check_batch_fits(const nn::Network& net, long batch, size_t images, bool training) {
  const double images_in_batch = double(std::min<size_t>(size_t(std::max(batch, 1L)), std::max<size_t>(images, 1)));
  const double per_image = double(net.activation_floats_per_image()) * sizeof(float) * (training ? 2 : 1);
  const double need = per_image * images_in_batch;
  const double memory = double(sysconf(_SC_PHYS_PAGES)) * double(sysconf(_SC_PAGE_SIZE));
  if (memory > 0 && need > memory) {
    char text[256];
    std::snprintf(text, sizeof text,
                  "--batch %ld: a batch of %.0f images needs at least %.1f GiB for this net's activations%s "
                  "(%.1f MiB per image), more than this machine's %.1f GiB of memory; use a smaller --batch",
                  batch, images_in_batch, need / double(1 << 30), training ? " and their gradients" : "",
                  per_image / double(1 << 20), memory / double(1 << 30));
    throw base::Error(text);
  }
}

imaging::AnalysisSettings analysis_settings(const Flags& flags) {
  imaging::AnalysisSettings s;
  s.grid = run::parse_grid_spec(flags.text("--grid"), "--grid");
  s.lambda = flags.real("--lambda");
  s.epsilon = flags.real("--epsilon");
  s.eval_samples = size_t(flags.integer("--eval-samples"));
  s.stages = flags.list("--stages");
  s.zeta.method = flags.text("--zeta-method");
  s.zeta.value = flags.text("--zeta-value");
  s.zeta.ablation = flags.text("--zeta-ablation");
  s.zeta.samples = size_t(flags.integer("--zeta-samples"));
  s.zeta.tolerance = flags.real("--zeta-tol");
  s.zeta.budget_seconds = flags.real("--zeta-budget");
  s.zeta.seed = uint64_t(flags.integer("--zeta-seed"));
  s.zeta.max_permutations = int(flags.integer("--zeta-max-permutations"));
  s.zeta.ci = flags.text("--zeta-ci");
  s.zeta.errors = flags.has("--errors");
  if (s.zeta.errors && !s.stages.empty() && std::find(s.stages.begin(), s.stages.end(), "zeta") == s.stages.end())
    throw base::Error("--errors with --stages " + flags.text("--stages") +
                      ": expected the zeta stage among them (the error maps are the ζ stage's per-image Shapley values)");
  s.tract.samples = size_t(flags.integer("--tract-samples"));
  s.tract.top = int(flags.integer("--tract-top"));
  return s;
}

void draw_imaging_progress(const std::string& label, const imaging::AnalysisProgress& p) {
  const int width = 20, filled = std::clamp(int(width * p.fraction), 0, width);
  const std::string eta =
      p.remaining_seconds >= 0 ? "  ETA " + std::to_string(long(std::lround(std::min(p.remaining_seconds, 1e9)))) + "s" : "";
  const std::string line = label + ": imaging" + (p.stage.empty() ? "" : " " + p.stage) + (p.step.empty() ? "" : " " + p.step) + " [" +
                           std::string(size_t(filled), '#') + std::string(size_t(width - filled), '.') + "] " +
                           std::to_string(int(std::lround(100 * std::clamp(p.fraction, 0.0, 1.0)))) + "%" + eta;
  std::fprintf(stderr, "\r%-99s", base::utf8_prefix(line, 99).c_str());
  std::fflush(stderr);
}

void clear_progress_line() { std::fprintf(stderr, "\r%*s\r", 100, ""); }

}  // namespace app
