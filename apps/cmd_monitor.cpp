// nnfmri corrupt | profile | monitor — shifted copies of a data set, and the production monitor
// (README "Monitoring").
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <numeric>
#include <optional>

#include "apps/commands.h"
#include "base/error.h"
#include "base/format.h"
#include "datasets/cifar10.h"
#include "datasets/corrupt.h"
#include "base/fileio.h"
#include "base/stopwatch.h"
#include "base/text.h"
#include "imaging/monitor.h"
#include "imaging/net_view.h"
#include "nn/checkpoint.h"
#include "nn/trainer.h"
#include "report/colormap.h"
#include "report/page.h"
#include "report/report.h"
#include "run/json.h"
#include "run/manifest.h"

namespace app {

namespace {

run::Json squares_json(const std::vector<datasets::Occlusion>& squares) {
  run::Json list = run::Json::array();
  for (const datasets::Occlusion& o : squares) list.push_back({o.y, o.x, o.side});
  return list;
}

double short_number(double v) { return base::decimal(float(v)); }  // 7 significant digits in the JSON lines

// Every region's box on the input, per profile layer: [top, left, bottom, right) = the receptive field
// of the region's rows and columns (imaging::NetView::input_span, padding clipped), the same
// footprint grid.json's `receptive_field` and the report's overlays use.
using RegionBoxes = std::vector<std::vector<std::array<int, 4>>>;

RegionBoxes region_boxes(const imaging::Profile& profile, const nn::Network& net) {
  const imaging::NetView view(net);
  RegionBoxes boxes;
  for (const imaging::LayerProfile& layer : profile.layers) {
    const int b = net.find_block(layer.name);
    if (b < 0) throw base::Error("monitor: the profile's block " + layer.name + " is not in the checkpoint's net");
    const run::RegionGrid& grid = layer.grid;
    std::vector<std::array<int, 4>>& list = boxes.emplace_back();
    for (int region = 0; region < grid.count(); ++region) {
      int i, j, k;
      grid.coords(region, i, j, k);
      const std::array<int, 2> rows = view.input_span(b, true, grid.rows(i).begin, grid.rows(i).end);
      const std::array<int, 2> cols = view.input_span(b, false, grid.cols(j).begin, grid.cols(j).end);
      list.push_back({rows[0], cols[0], rows[1], cols[1]});
    }
  }
  return boxes;
}

// A region as the JSON lines show it: its block, key, z and its box on the input (region_boxes).
run::Json region_json(const imaging::Profile& profile, const RegionBoxes& boxes, int layer, int region, double z) {
  const std::array<int, 4>& box = boxes[size_t(layer)][size_t(region)];
  return {{"layer", profile.layers[size_t(layer)].name},
          {"region", profile.layers[size_t(layer)].grid.key(region)},
          {"z", short_number(z)},
          {"box", {box[0], box[1], box[2], box[3]}}};
}

// The detectors of a profile, in the order of the JSON lines and the page, the default score first
// (spatial_typ: README "Monitoring", its decision rule); spatial_zeta only when the profile has ζ weights,
// spatial_knn only when it has a bank (`profile --spatial-bank`).
std::vector<std::string> detector_names(const imaging::Profile& profile) {
  std::vector<std::string> names = {"spatial_typ", "spatial", "spatial_cov", "msp", "energy", "mahalanobis", "knn"};
  if (profile.spatial_bank.size()) names.insert(names.begin() + 3, "spatial_knn");
  if (!profile.zeta_file.empty()) names.insert(names.begin() + 2, "spatial_zeta");
  return names;
}

std::vector<double> detector_values(const imaging::Profile& profile, const imaging::ImageScores& s) {
  std::vector<double> values = {s.spatial_typ, s.spatial, s.spatial_cov, s.msp, s.energy, s.mahalanobis, s.knn};
  if (profile.spatial_bank.size()) values.insert(values.begin() + 3, s.spatial_knn);
  if (!profile.zeta_file.empty()) values.insert(values.begin() + 2, s.spatial_zeta);
  return values;
}

// The JSON text of region_json's object, cut around its z (which changes image by image): head is
// `{"layer":…,"region":…,"z":` and tail `,"box":[…]}`, both cut from json_text of the object itself, so
// head + json_text(z) + tail is json_text(region_json(…, z)) (checked when the texts are built).  Built
// once per region of the profile; the JSON lines join them instead of building 13 objects per image.
struct RegionText {
  std::string head, tail;
};
struct RegionTexts {
  std::vector<std::vector<RegionText>> regions;  // per profile block, per region
  std::vector<std::string> layer_keys;           // per profile block, json_text of its name
};

RegionTexts region_texts(const imaging::Profile& profile, const RegionBoxes& boxes) {
  RegionTexts texts;
  texts.regions.resize(profile.layers.size());
  const double probe = 0.5;  // any z: the text around it is the same
  const std::string z_text = base::json_text(run::Json(short_number(probe)), -1);
  const std::string z_key = base::json_text(run::Json("z"), -1) + ":";
  for (size_t l = 0; l < profile.layers.size(); ++l) {
    texts.layer_keys.push_back(base::json_text(run::Json(profile.layers[l].name), -1));
    for (int region = 0; region < profile.layers[l].grid.count(); ++region) {
      const std::string whole = base::json_text(region_json(profile, boxes, int(l), region, probe), -1);
      const size_t at = whole.rfind(z_key);  // the last key before the box, whose text has no key
      if (at == std::string::npos || whole.compare(at + z_key.size(), z_text.size(), z_text) != 0)
        throw base::Error("monitor: the JSON text of region " + std::to_string(region) + " has no z where expected");
      const size_t end = at + z_key.size();
      texts.regions[l].push_back({whole.substr(0, end), whole.substr(end + z_text.size())});
    }
  }
  return texts;
}

// json_text(region_json(profile, boxes, layer, region, z)) from the region's cut text.
void append_region(std::string& text, const RegionTexts& texts, int layer, int region, double z) {
  const RegionText& t = texts.regions[size_t(layer)][size_t(region)];
  text += t.head;
  text += base::json_text(run::Json(short_number(z)), -1);
  text += t.tail;
}

// One image's line of monitor.jsonl, newline included: {"image", "file" (an images:DIR input's, its path
// under DIR), "label", "prediction", "scores", "top_regions", "layer_top"} (README "Monitoring"); v =
// detector_values(profile, s).  The same text as json_text of the whole line built as one object: the
// members before "top_regions" are that object's text
// without its closing brace, the regions are joined from region_texts, each block's key is its json_text.
std::string image_line(const RegionTexts& texts, const std::vector<std::string>& detectors,
                       const imaging::ImageScores& s, const std::vector<double>& v, long image, const std::string* file,
                       std::optional<int> label) {
  run::Json line = {{"image", image}};
  if (file) line["file"] = base::utf8_escaped(*file);
  line["label"] = label ? run::Json(*label) : run::Json(nullptr);
  line["prediction"] = s.prediction;
  run::Json values = run::Json::object();
  for (size_t d = 0; d < v.size(); ++d) values[detectors[d]] = short_number(v[d]);
  line["scores"] = values;
  std::string text = base::json_text(line, -1);
  text.pop_back();  // the object's closing brace: the line goes on
  text += "," + base::json_text(run::Json("top_regions"), -1) + ":[";
  for (size_t k = 0; k < s.top.size(); ++k) {
    if (k) text += ',';
    append_region(text, texts, s.top[k].layer, s.top[k].region, s.top[k].z);
  }
  text += "]," + base::json_text(run::Json("layer_top"), -1) + ":{";
  for (size_t k = 0; k < s.layer_top.size(); ++k) {
    const imaging::RegionScore& r = s.layer_top[k];
    if (k) text += ',';
    text += texts.layer_keys[size_t(r.layer)];
    text += ':';
    append_region(text, texts, r.layer, r.region, r.z);
  }
  text += "}}\n";
  return text;
}

imaging::MonitorSettings monitor_settings(const Flags& flags) {
  imaging::MonitorSettings settings;
  settings.grid.grid = run::parse_grid_spec(flags.text("--grid"), "--grid");
  settings.grid.lambda = flags.real("--lambda");
  settings.grid.epsilon = flags.real("--epsilon");
  settings.quantiles = int(flags.integer("--quantiles"));
  settings.knn_k = int(flags.integer("--knn-k"));
  settings.knn_images = flags.integer("--knn-images");
  settings.spatial_bank = flags.integer("--spatial-bank");
  return settings;
}

// monitor.html shows the scores of the first kTimelineImages images and the region maps of the
// kSelectedImages images with the largest default score (spatial_typ).
constexpr size_t kTimelineImages = 100000;
constexpr size_t kSelectedImages = 8;

// What the page shows of one selected image, kept as numbers: its JSON (selected_json) is built for
// the kSelectedImages that remain at the end only, not for every image that entered the list early on.
struct SelectedImage {
  double score;  // spatial_typ
  long image;
  std::string file;          // an images:DIR input's path of the image under DIR, else empty
  std::optional<int> label;  // none for an unlabelled input (datasets::Dataset::labelled)
  int prediction = 0;
  std::vector<uint8_t> pixels;              // (channels, height, width) the input image
  std::vector<std::vector<float>> z;        // per profile block, z_g of every region (Monitor::region_z)
  std::optional<imaging::RegionScore> top;  // the most abnormal region, when the image has one
};

// {image, label, prediction, spatial_typ, channels, height, width, pixels, maps, top}: monitor.html's
// entry of a selected image; maps = the z of every block with rows and columns.
run::Json selected_json(const imaging::Profile& profile, const RegionBoxes& boxes, const datasets::Dataset& input,
                        const SelectedImage& image) {
  run::Json maps = run::Json::array();
  for (size_t l = 0; l < profile.layers.size(); ++l) {
    const run::RegionGrid& grid = profile.layers[l].grid;
    if (grid.height < 2) continue;  // the map of a block without rows and columns shows nothing
    run::Json values = run::Json::array();
    for (const float value : image.z[l]) values.push_back(short_number(value));
    maps.push_back({{"layer", profile.layers[l].name}, {"grid", {grid.gh, grid.gw, grid.gc}}, {"z", values}});
  }
  run::Json entry = {{"image", image.image}, {"file", base::utf8_escaped(image.file)},
                     {"label", image.label ? run::Json(*image.label) : run::Json(nullptr)}, {"prediction", image.prediction},
                     {"spatial_typ", short_number(image.score)}, {"channels", input.channels}, {"height", input.height},
                     {"width", input.width}, {"pixels", std::vector<int>(image.pixels.begin(), image.pixels.end())},
                     {"maps", maps}};
  if (image.top) entry["top"] = region_json(profile, boxes, image.top->layer, image.top->region, 0)["box"];
  return entry;
}

}  // namespace

int cmd_profile(int argc, char** argv) {
  Flags flags(kProfile, argc, argv);
  if (flags.help()) return std::fputs(flags.usage().c_str(), stdout), 0;
  set_threads(flags);
  const imaging::MonitorSettings settings = monitor_settings(flags);
  const std::string checkpoint = flags.operands()[0];
  std::vector<NamedFile> inputs = {{"the profiled checkpoint", checkpoint}};
  if (flags.has("--zeta")) inputs.push_back({"flag --zeta", flags.text("--zeta")});
  require_distinct_files(inputs, {{"flag --out", flags.text("--out")}});  // the profile never replaces what it reads
  std::error_code ec;
  if (std::filesystem::is_directory(flags.text("--out"), ec))  // before the fit, not after it
    throw base::Error("flag --out " + flags.text("--out") + ": a directory, expected the profile's file path");
  require_writable({"flag --out", flags.text("--out")});  // a missing folder, a device: said before the fit too
  nn::Checkpoint ck = nn::load_checkpoint(checkpoint, true);  // inference only: no backward follows
  std::optional<base::Json> zeta;  // its epoch and grid checked before the fit, its regions after it
  if (flags.has("--zeta"))
    in_file_of("flag --zeta", [&] {
      zeta = base::read_json(flags.text("--zeta"));
      imaging::check_zeta_file(*zeta, flags.text("--zeta"), settings.grid.grid, ck.epoch);
    });
  datasets::DataSplit data = load_data(flags, true, "--data", false);  // the fit reads the training half alone
  require_distinct_files(data_files(data), {{"flag --out", flags.text("--out")}});  // (read now: its files are known)
  check_net_fits(*ck.net, data.train, "the checkpoint's net");
  if (data.train.size() < 2)  // the fit's own check names no flag
    throw base::Error("flag --data " + flags.text("--data") + ": " + std::to_string(data.train.size()) + " training image" +
                      (flags.has("--limit-train") ? " (--limit-train " + flags.text("--limit-train") + ")" : "") +
                      ", expected at least 2 to fit a profile");
  const long batch = flags.integer("--batch");
  check_batch_fits(*ck.net, batch, data.train.size(), false);
  run::Json about = {{"checkpoint", {{"path", checkpoint}, {"spec", ck.net->spec()}, {"epoch", ck.epoch}}},
                     {"data", describe_data(flags.text("--data"), data, HalvesRead::train)}};
  const base::Stopwatch clock;
  imaging::Profile profile = imaging::fit_profile(*ck.net, data.train.view(), long(data.train.size()), int(batch), settings,
                                                  ck.sha256, about);
  if (zeta) in_file_of("flag --zeta", [&] { imaging::set_zeta_weights(profile, *zeta, flags.text("--zeta"), ck.epoch); });
  const double seconds = clock.seconds();
  imaging::save_profile(flags.text("--out"), profile);
  size_t regions = 0;
  for (const imaging::LayerProfile& l : profile.layers) regions += size_t(l.grid.count());
  std::printf("wrote %s: %ld training images, %zu regions in %zu blocks, %d features, %ld KNN vectors, %ld region maps for spatial_knn%s; fit in %.1f s\n",
              flags.text("--out").c_str(), profile.images, regions, profile.layers.size(), profile.features,
              long(profile.knn.shape().h), long(profile.spatial_bank.shape().h), zeta ? ", ζ weights" : "", seconds);
  return 0;
}

int cmd_monitor(int argc, char** argv) {
  Flags flags(kMonitor, argc, argv);
  if (flags.help()) return std::fputs(flags.usage().c_str(), stdout), 0;
  const int threads = set_threads(flags);
  base::require_directory_or_missing("--out", flags.text("--out"), "a directory for monitor.jsonl and monitor.html (created when missing)");
  const std::string checkpoint = flags.operands()[0], profile_path = flags.text("--profile");
  nn::Checkpoint ck = nn::load_checkpoint(checkpoint, true);  // inference only: no backward follows
  imaging::Profile profile;
  in_file_of("flag --profile", [&] { profile = imaging::load_profile(profile_path); });
  imaging::check_profile_fits(profile, profile_path, *ck.net, checkpoint, ck.sha256);
  // Streamed: memory holds one batch of input images, whatever their number (README "Monitoring").
  const std::unique_ptr<datasets::TestStream> stream = open_test_stream(flags, "--input", ck.net->channels());
  const datasets::Dataset& input = stream->header();
  check_net_fits(*ck.net, input, "the checkpoint's net", "--input", false);
  const long batch = flags.integer("--batch"), window = flags.integer("--window");
  check_batch_fits(*ck.net, batch, stream->size(), false);
  const size_t count_all = stream->size();
  const double alpha = flags.real("--alpha");
  const std::string out = flags.text("--out");
  imaging::Monitor monitor(profile, *ck.net, window, alpha);  // checks --window before anything is written
  refuse_output_in_data("--out", out, {&input}, "--input", "monitor writes nothing into its input");
  const RegionBoxes boxes = region_boxes(profile, *ck.net);
  const RegionTexts texts = region_texts(profile, boxes);
  base::NewDirectories out_folder(out);  // removed again if the stream fails and it is still empty
  // One writer per --out (as analyze's): two monitors in one DIR would leave one's monitor.jsonl beside
  // the other's monitor.html.  Held to the end, before anything in DIR is removed or written.
  const base::DirectoryLock lock(out, directory_in_use("--out", out));
  // What killed monitors left (a temporary as large as their lines), removed now that none can be running.
  for (const char* name : {"/monitor.jsonl", "/monitor.html"}) base::remove_stale_temporaries(out + name);
  base::AtomicFileWriter lines(out + "/monitor.jsonl");
  base::require_writable(out + "/monitor.html");  // a directory there is said now, not after the whole stream
  // Every check that needs no image is done: an earlier run's lines and page go now, so that a stream that
  // fails half-way (a record it refuses, a read error) leaves none of them to be read as this input's.
  run::remove_file(out + "/monitor.html");
  run::remove_file(out + "/monitor.jsonl");
  std::vector<uint32_t> index(std::min(static_cast<size_t>(batch), count_all));
  std::iota(index.begin(), index.end(), 0u);
  datasets::Dataset images;  // the current batch
  nn::Tensor x;
  std::vector<uint8_t> labels;
  std::vector<imaging::ImageScores> scores;
  std::vector<imaging::WindowDrift> windows;
  const std::vector<std::string> detectors = detector_names(profile);
  std::vector<double> window_sums(detectors.size(), 0.0);
  long window_count = 0, alarms = 0;
  run::Json timeline = run::Json::array(), window_rows = run::Json::array();
  std::vector<SelectedImage> selected;  // the largest spatial_typ scores so far, largest first
  std::vector<std::string> image_lines;  // (batch) the JSON line of each image of the batch
  std::vector<std::vector<double>> image_values;  // (batch) each image's detector_values
  const base::Stopwatch clock;
  for (size_t offset = 0; offset < count_all; offset += size_t(batch)) {
    // A record or file the stream refuses half-way names --input, as one refused before the first batch
    int count = 0;
    in_file_of("--input:", [&] { count = int(stream->next(size_t(batch), images)); });
    nn::make_batch(*ck.net, images.view(), index.data(), count, nullptr, 0, 0, 0, x, labels);
    monitor.score_batch(x, scores, windows);
    const auto label_of = [&](int i) { return input.labelled ? std::optional<int>(labels[size_t(i)]) : std::nullopt; };
    const auto file_of = [&](int i) { return images.image_names.empty() ? nullptr : &images.image_names[size_t(i)]; };
    // Each image's detector values and line depend on that image alone: they are computed side by
    // side, each into its own slot; the window sums, the timeline and the selected images, which depend on the order,
    // stay in the loop below (the same bytes whatever the thread count).
    image_lines.resize(size_t(count));
    image_values.resize(size_t(count));
#pragma omp parallel for schedule(static)
    for (int i = 0; i < count; ++i) {
      image_values[size_t(i)] = detector_values(profile, scores[size_t(i)]);
      image_lines[size_t(i)] =
          image_line(texts, detectors, scores[size_t(i)], image_values[size_t(i)], long(offset) + i, file_of(i), label_of(i));
    }
    // A value the lines write as a float (short_number) that is not a finite float would be written as
    // null: a profile whose tensors are finite but extreme (a μ or a precision near the float limit, a
    // checksummed file not written by a fit) gives no number.  Refused here, before the batch's lines are
    // kept: the temporary monitor.jsonl goes with the error.
    for (int i = 0; i < count; ++i) {
      const auto refuse = [&](const std::string& what, double value) {
        throw base::Error("--profile " + profile_path + ": image " + std::to_string(long(offset) + i) + " gets " + what +
                          " = " + base::shortest(value, false) + ", expected a finite number: its tensors are not those of " +
                          "a fit; fit it again with nnfmri profile");
      };
      const std::vector<double>& v = image_values[size_t(i)];
      for (size_t d = 0; d < v.size(); ++d)
        if (!std::isfinite(float(v[d]))) refuse(detectors[d], v[d]);
      for (const std::vector<imaging::RegionScore>* list : {&scores[size_t(i)].top, &scores[size_t(i)].layer_top})
        for (const imaging::RegionScore& r : *list)
          if (!std::isfinite(float(r.z)))
            refuse("z of " + profile.layers[size_t(r.layer)].name + " " + profile.layers[size_t(r.layer)].grid.key(r.region), r.z);
    }
    std::string text;
    size_t next_window = 0;
    for (int i = 0; i < count; ++i) {
      const imaging::ImageScores& s = scores[size_t(i)];
      const long image = long(offset) + i;
      const std::vector<double>& v = image_values[size_t(i)];
      for (size_t d = 0; d < v.size(); ++d) window_sums[d] += v[d];
      if (size_t(image) < kTimelineImages) {
        run::Json row = run::Json::array();
        for (const double value : v) row.push_back(short_number(value));
        timeline.push_back(row);
      }
      const auto comes_before = [](double score, long at, const SelectedImage& b) {  // larger score, then earlier image
        return score > b.score || (score == b.score && at < b.image);
      };
      const auto larger = [&](const SelectedImage& a, const SelectedImage& b) { return comes_before(a.score, a.image, b); };
      if (selected.size() < kSelectedImages || comes_before(s.spatial_typ, image, selected.back())) {
        const uint8_t* pixels = images.pixels.data() + size_t(i) * input.image_size();
        const std::string* file = file_of(i);
        SelectedImage entry{s.spatial_typ, image, file ? *file : std::string(), label_of(i), s.prediction,
                            std::vector<uint8_t>(pixels, pixels + input.image_size()), monitor.region_z(i), std::nullopt};
        if (!s.top.empty()) entry.top = s.top[0];
        selected.push_back(std::move(entry));
        std::sort(selected.begin(), selected.end(), larger);
        if (selected.size() > kSelectedImages) selected.pop_back();
      }
      text += image_lines[size_t(i)];
      ++window_count;
      if (next_window < windows.size() && windows[next_window].first + windows[next_window].images == image + 1) {
        const imaging::WindowDrift& w = windows[next_window++];
        run::Json drift = {{"window", w.first / window}, {"first", w.first}, {"images", w.images}, {"alarm", w.alarm},
                           {"alpha", alpha}, {"regions_tested", w.tested}, {"regions_drifting", w.drifting}};
        run::Json means = run::Json::object(), regions = run::Json::array();
        for (size_t d = 0; d < window_sums.size(); ++d) means[detectors[d]] = short_number(window_sums[d] / double(window_count));
        drift["mean_scores"] = means;
        for (const imaging::WindowDrift::Region& r : w.top) {
          run::Json region = region_json(profile, boxes, r.layer, r.region, 0);
          region.erase("z");
          region["ks_distance"] = short_number(r.distance);
          region["p"] = r.p;
          region["p_adjusted"] = r.adjusted;
          regions.push_back(region);
        }
        drift["top_regions"] = regions;
        // [first, images, alarm, drifting, tested, most drifting region, its KS distance, its BH-adjusted p]
        run::Json row = {w.first, w.images, w.alarm ? 1 : 0, w.drifting, w.tested, "–", nullptr, nullptr};
        if (!w.top.empty()) {
          const imaging::WindowDrift::Region& most = w.top.front();
          row[5] = profile.layers[size_t(most.layer)].name + " " + profile.layers[size_t(most.layer)].grid.key(most.region);
          row[6] = short_number(most.distance);
          row[7] = most.adjusted;
        }
        window_rows.push_back(row);
        text += base::json_text(drift, -1) + "\n";
        std::fill(window_sums.begin(), window_sums.end(), 0.0), window_count = 0;
        if (w.alarm) {
          ++alarms;
          const imaging::WindowDrift::Region& r = w.top.front();
          std::printf("monitor: ALARM window %ld (images %ld-%ld): %d of %d regions drift (BH-adjusted p < %s); most: %s %s, KS distance %.3f\n",
                      w.first / window, w.first, w.first + w.images - 1, w.drifting, w.tested,
                      base::shortest(alpha, false).c_str(), profile.layers[size_t(r.layer)].name.c_str(),
                      profile.layers[size_t(r.layer)].grid.key(r.region).c_str(), r.distance);
        }
      }
    }
    lines.append(text);
  }
  const double seconds = clock.seconds();
  run::Json page = {{"checkpoint", checkpoint}, {"profile", profile_path}, {"input", flags.text("--input")},
                    {"images", count_all}, {"window", window}, {"alpha", alpha},
                    {"colormaps", run::Json::parse(report::colormap_stops_json())},
                    {"detectors", detectors},
                    {"scores", timeline}, {"scores_cut", count_all > kTimelineImages}, {"windows", window_rows}};
  page["selected"] = run::Json::array();
  for (const SelectedImage& image : selected) page["selected"].push_back(selected_json(profile, boxes, input, image));
  // The lines first, the page after (the earlier page was removed before the stream).
  lines.commit();
  out_folder.keep();
  base::write_file_atomic(out + "/monitor.html", report::monitor_page_html(report::script_safe_json(base::json_text(page, -1))));
  std::printf("monitor: %s, %s of %ld, %s; %.0f images/s (%s); wrote %s/monitor.jsonl and monitor.html\n",
              base::counted(long(count_all), "image").c_str(), base::counted(long(count_all) / window, "full window").c_str(),
              window, base::counted(alarms, "alarm").c_str(), double(count_all) / std::max(seconds, 1e-9),
              base::counted(threads, "thread").c_str(), out.c_str());
  return 0;
}

int cmd_corrupt(int argc, char** argv) {
  Flags flags(kCorrupt, argc, argv);
  if (flags.help()) return std::fputs(flags.usage().c_str(), stdout), 0;
  const datasets::CorruptionKind kind = datasets::corruption_kind(flags.text("--kind"), "--kind");
  const int severity = int(flags.integer("--severity"));
  const uint64_t seed = uint64_t(flags.integer("--seed"));
  const std::string out = flags.text("--out");
  base::require_directory_or_missing("--out", out, "a directory for the corrupted CIFAR-10 files (created when missing)");
  datasets::DataSplit data = load_data(flags, true);
  // --out must end up holding only what corrupt writes: a CIFAR-10 reader reads every
  // data_batch_N.bin of a folder, so another batch there would be read with the new ones; and the
  // source is never rewritten in place.
  refuse_output_in_data("--out", out, {&data.train, &data.test}, "--data", "corrupt does not rewrite its source");
  for (const std::string& name : run::directory_entries(out))
    if (name.rfind("data_batch_", 0) == 0 && name != "data_batch_1.bin")
      throw base::Error("--out " + out + ": holds " + name + ", which corrupt does not write (a CIFAR-10 reader would read it "
                        "with the new batches); expected an empty folder or one corrupt wrote");
  for (const datasets::Dataset* d : {&data.train, &data.test}) {
    const std::string problem = datasets::cifar10_problem(*d);
    if (!problem.empty()) throw base::Error("--data " + flags.text("--data") + ": " + problem + " (corrupt writes CIFAR-10 files)");
  }
  const run::Json source = describe_data(flags.text("--data"), data);
  // Split 0 is the training half, 1 the test half: their images draw from different streams.
  const std::vector<datasets::Occlusion> train_squares = datasets::corrupt_dataset(data.train, kind, severity, seed, 0);
  const std::vector<datasets::Occlusion> test_squares = datasets::corrupt_dataset(data.test, kind, severity, seed, 1);
  // corruption.json says what the batches hold: removed before they are rewritten, written after them,
  // so a failure in between never leaves new batches under an old record.
  run::remove_file(out + "/corruption.json");
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
