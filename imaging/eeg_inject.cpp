#include "imaging/eeg_inject.h"

#include <algorithm>
#include <cmath>
#include <memory>

#include "imaging/net_view.h"
#include "imaging/region_lesion.h"
#include "base/error.h"
#include "base/format.h"
#include "base/text.h"
#include "nn/rng.h"

namespace imaging::eeg {

namespace {
base::Error bad(const std::string& entry, const std::string& what) {
  return base::Error("flag --inject '" + entry + "': " + what);
}

long parse_count(const std::string& entry, const std::string& text, const char* what) {
  if (text.empty() || text.size() > 12 || text.find_first_not_of("0123456789") != std::string::npos)
    throw bad(entry, std::string("expected ") + what + " as a positive whole number, found '" + text + "'");
  const long v = std::stol(text);
  if (v < 1) throw bad(entry, std::string("expected ") + what + " of at least 1");
  return v;
}

double parse_real(const std::string& entry, const std::string& text, double min, double max) {
  char* end = nullptr;
  const double v = text.empty() ? NAN : std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !std::isfinite(v) || v < min || v > max)
    throw bad(entry, "expected a number in [" + base::format("%g", min) + ", " + base::format("%g", max) + "], found '" + text + "'");
  return v;
}
}  // namespace

const std::vector<std::string>& injection_kinds() {
  static const std::vector<std::string> kinds = {"lr", "labels", "lesion", "noise", "bias", "dead"};
  return kinds;
}

std::vector<Injection> parse_injections(const std::string& text) {
  std::vector<Injection> out;
  for (const std::string& entry : base::split(text, ',')) {
    const size_t at = entry.find('@');
    if (at == std::string::npos) throw bad(entry, "expected KIND@STEP[:DURATION[:PARAM]]");
    Injection f;
    f.text = entry;
    f.kind = entry.substr(0, at);
    const std::vector<std::string>& kinds = injection_kinds();
    if (std::find(kinds.begin(), kinds.end(), f.kind) == kinds.end())
      throw bad(entry, "unknown kind '" + f.kind + "', expected one of lr, labels, lesion, noise, bias, dead");
    const std::string rest = entry.substr(at + 1);
    const size_t c1 = rest.find(':');
    f.step = parse_count(entry, rest.substr(0, c1), "STEP");
    if (c1 != std::string::npos) {
      const size_t c2 = rest.find(':', c1 + 1);
      f.duration = parse_count(entry, rest.substr(c1 + 1, c2 == std::string::npos ? std::string::npos : c2 - c1 - 1),
                               "DURATION");
      if (c2 != std::string::npos) f.param = rest.substr(c2 + 1);
    }
    if (f.kind == "labels" && !f.param.empty()) throw bad(entry, "labels takes no PARAM");
    if ((f.kind == "lesion" || f.kind == "bias" || f.kind == "dead") && f.param.empty())
      throw bad(entry, f.kind == "lesion" ? "expected PARAM BLOCK/grid_i_j_k" : f.kind == "bias" ? "expected PARAM BLOCK=X" : "expected PARAM BLOCK");
    out.push_back(f);
  }
  return out;
}

void resolve(std::vector<Injection>& injections, const nn::Network& net, const run::GridSpec& grid, long total_steps) {
  for (Injection& f : injections) {
    const std::string& entry = f.text;
    if (f.step > total_steps)
      throw bad(entry, "step " + std::to_string(f.step) + " is outside the run's steps 1 … " + std::to_string(total_steps));
    // a fault must end within the run: its last step step + duration − 1 ≤ the run's steps (not clipped)
    if (f.duration - 1 > total_steps - f.step)
      throw bad(entry, "steps " + std::to_string(f.step) + " … " + std::to_string(f.step + f.duration - 1) +
                           " run past the run's last step " + std::to_string(total_steps));
    if (f.kind == "lr") f.value = f.param.empty() ? 10 : parse_real(entry, f.param, 0, 1e6);
    if (f.kind == "noise") f.value = f.param.empty() ? 1 : parse_real(entry, f.param, 0, 1e3);
    if (f.kind == "dead") {
      f.block = net.find_block(f.param);
      if (f.block < 0) throw bad(entry, "no block '" + f.param + "' in the net");
    }
    if (f.kind == "lesion" || f.kind == "bias") {
      const size_t cut = f.param.find(f.kind == "lesion" ? '/' : '=');
      const std::string block = f.param.substr(0, cut);
      f.block = net.find_block(block);
      if (f.block < 0) throw bad(entry, "no block '" + block + "' in the net");
      if (cut == std::string::npos)
        throw bad(entry, f.kind == "lesion" ? "expected PARAM BLOCK/grid_i_j_k" : "expected PARAM BLOCK=X");
      const std::string rest = f.param.substr(cut + 1);
      if (f.kind == "bias") {
        f.value = parse_real(entry, rest, -1e3, 1e3);
      } else {
        const nn::Shape& s = net.blocks()[size_t(f.block)].output_shape;
        const run::RegionGrid g(s.h, s.w, s.c, block_grid(net, f.block, grid), false);
        std::vector<bool> chosen(size_t(g.count()), false);
        mark_regions(g, block, rest, "flag --inject '" + entry + "': ", chosen);
        for (int r = 0; r < g.count(); ++r)
          if (chosen[size_t(r)]) f.regions.push_back(r);
      }
    }
  }
}

nlohmann::ordered_json injections_json(const std::vector<Injection>& injections) {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const Injection& f : injections)
    out.push_back({{"kind", f.kind}, {"step", f.step}, {"duration", f.duration}, {"param", f.param}});
  return out;
}

nn::StepIntervention make_intervention(const std::vector<Injection>& injections, const nn::Network& net,
                                       const run::GridSpec& grid, uint64_t seed) {
  auto faults = std::make_shared<std::vector<Injection>>(injections);
  auto grids = std::make_shared<std::vector<run::RegionGrid>>();
  for (const nn::Block& b : net.blocks())
    grids->emplace_back(b.output_shape.h, b.output_shape.w, b.output_shape.c, block_grid(net, int(grids->size()), grid), false);
  nn::StepIntervention iv;
  // The random stream of the k-th fault of a kind (k = 0, 1, … in --inject order) at step t:
  // Rng::derive(seed, tag + k·2^32, t), so that overlapping faults of one kind draw independently
  // (noise@20,noise@20 added the same draw twice); k = 0 is the stream a single fault always had.
  auto nth = std::make_shared<std::vector<uint64_t>>();
  for (size_t i = 0; i < faults->size(); ++i) {
    uint64_t k = 0;
    for (size_t j = 0; j < i; ++j) k += (*faults)[j].kind == (*faults)[i].kind;
    nth->push_back(k << 32);
  }
  iv.batch = [faults, nth, seed](long t, nn::Tensor& x, std::vector<uint8_t>& y) {
    for (size_t i = 0; i < faults->size(); ++i) {
      const Injection& f = (*faults)[i];
      if (!f.active(t)) continue;
      if (f.kind == "labels") nn::Rng::derive(seed, 0x1ABE1 + (*nth)[i], uint64_t(t)).shuffle(y.data(), y.size());
      if (f.kind == "noise") {
        nn::Rng rng = nn::Rng::derive(seed, 0x0015E + (*nth)[i], uint64_t(t));
        for (size_t i = 0; i < x.size(); ++i) x.data()[i] += float(f.value * rng.normal());
      }
    }
  };
  iv.rate = [faults](long t, double rate) {
    for (const Injection& f : *faults)
      if (f.kind == "lr" && f.active(t)) rate *= f.value;
    return rate;
  };
  iv.cut = [faults](long t, int block) {  // a dead block's output is a constant: no gradient passes it
    for (const Injection& f : *faults)
      if (f.kind == "dead" && f.block == block && f.active(t)) return true;
    return false;
  };
  iv.block = [faults, grids](long t, int block, nn::Tensor& a) {
    for (const Injection& f : *faults) {
      if (f.block != block || !f.active(t)) continue;
      if (f.kind == "bias")
        for (size_t i = 0; i < a.size(); ++i) a.data()[i] += float(f.value);
      if (f.kind == "dead") std::fill(a.data(), a.data() + a.size(), 0.f);
      if (f.kind == "lesion") lesion_regions((*grids)[size_t(block)], f.regions, nullptr, a);
    }
  };
  return iv;
}

}  // namespace imaging::eeg
