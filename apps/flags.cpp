#include "apps/flags.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "base/error.h"

namespace app {

Flags::Flags(const std::string& command, int argc, char** argv, const std::vector<FlagDef>& defs)
    : command_(command), defs_(defs) {
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--", 0) != 0 || a == "--") {
      positional_.push_back(a);
      continue;
    }
    std::string name = a, value;
    bool inline_value = false;
    if (auto eq = a.find('='); eq != std::string::npos) {
      name = a.substr(0, eq);
      value = a.substr(eq + 1);
      inline_value = true;
    }
    const FlagDef* def = nullptr;
    for (const auto& d : defs_)
      if (d.name == name) def = &d;
    if (!def) throw base::Error("nnfmri " + command_ + ": unknown flag '" + name + "' (see 'nnfmri " + command_ + " --help')");
    if (def->takes_value && !inline_value) {
      if (i + 1 >= argc) throw base::Error("flag " + name + ": missing value (" + def->help + ")");
      value = argv[++i];
    } else if (!def->takes_value && inline_value) {
      throw base::Error("flag " + name + ": takes no value, got '" + value + "'");
    }
    values_[name] = value;
  }
}

std::string Flags::str(const std::string& name, const std::string& fallback) const {
  auto it = values_.find(name);
  return it == values_.end() ? fallback : it->second;
}

long Flags::integer(const std::string& name, long fallback, long min, long max) const {
  auto it = values_.find(name);
  if (it == values_.end()) return fallback;
  const std::string& v = it->second;
  char* end = nullptr;
  errno = 0;
  long x = std::strtol(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || errno == ERANGE || x < min || x > max)
    throw base::Error("flag " + name + " '" + v + "': expected an integer in [" + std::to_string(min) + ", " +
                    std::to_string(max) + "]");
  return x;
}

double Flags::real(const std::string& name, double fallback, double min, double max) const {
  auto it = values_.find(name);
  if (it == values_.end()) return fallback;
  const std::string& v = it->second;
  char* end = nullptr;
  double x = std::strtod(v.c_str(), &end);
  if (v.empty() || *end != '\0' || !std::isfinite(x) || x < min || x > max) {
    char range[96];
    std::snprintf(range, sizeof range, "[%g, %g]", min, max);
    throw base::Error("flag " + name + " '" + v + "': expected a finite number in " + range);
  }
  return x;
}

std::string Flags::usage() const {
  std::string u = "usage: nnfmri " + command_ + " [flags]\n";
  for (const auto& d : defs_) u += "  " + d.name + (d.takes_value ? " " : "") + d.help + "\n";
  return u;
}

}  // namespace app
