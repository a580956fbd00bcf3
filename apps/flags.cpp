#include "apps/flags.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

#include "base/error.h"
#include "base/text.h"

namespace app {

namespace {

std::string number_text(double x) {
  char s[32];
  std::snprintf(s, sizeof s, "%g", x);
  return s;
}

std::string joined(const std::vector<std::string>& words, const std::string& last_separator) {
  std::string out;
  for (size_t i = 0; i < words.size(); ++i)
    out += (i == 0 ? "" : i + 1 == words.size() ? last_separator : ", ") + words[i];
  return out;
}

bool is_choice(const FlagDef& d, const std::string& word) {
  for (const auto& c : d.choices)
    if (c == word) return true;
  return false;
}

// "[1, 100000]", "(0, 1e+07]": the range of an Integer or Real flag.
std::string range_text(const FlagDef& d) {
  auto bound = [&](double x) { return d.kind == FlagKind::Integer ? std::to_string(long(x)) : number_text(x); };
  return (d.open_min ? "(" : "[") + bound(d.min) + ", " + bound(d.max) + (d.open_max ? ")" : "]");
}

// What a value of this flag must look like, for error lines.
std::string expected(const FlagDef& d) {
  switch (d.kind) {
    case FlagKind::Switch:
      return "no value";
    case FlagKind::Integer:
      return "an integer in " + range_text(d);
    case FlagKind::Real:
      return "a finite number in " + range_text(d);
    case FlagKind::Choice:
      return joined(d.choices, " or ");
    case FlagKind::List:
      return "a comma-separated list of " + joined(d.choices, " and ");
    case FlagKind::Text:
      return d.metavar + " (" + d.help + ")";
  }
  return "";
}


// Whether `v` is written as the command line's numbers are: an optional '-', decimal digits and, for
// a real, an optional fraction and exponent ("-0.5", ".5", "1e-6").  No blank, '+', hex, inf or nan:
// strtol and strtod alone take " 7", "+3" and "0x1p-3".
bool number_form(const std::string& v, bool real) {
  size_t i = !v.empty() && v[0] == '-' ? 1 : 0;
  const auto digits = [&] {
    const size_t from = i;
    while (i < v.size() && v[i] >= '0' && v[i] <= '9') ++i;
    return i - from;
  };
  size_t mantissa = digits();
  if (real && i < v.size() && v[i] == '.') {
    ++i;
    mantissa += digits();
  }
  if (mantissa == 0) return false;
  if (real && i < v.size() && (v[i] == 'e' || v[i] == 'E')) {
    ++i;
    if (i < v.size() && (v[i] == '+' || v[i] == '-')) ++i;
    if (digits() == 0) return false;
  }
  return i == v.size();
}

// Throws base::Error naming the flag and the value unless `value` is of the flag's form and range.
void check_value(const FlagDef& d, const std::string& value) {
  auto fail = [&](const std::string& what) {
    throw base::Error("flag " + d.name + " '" + value + "': expected " + what);
  };
  switch (d.kind) {
    case FlagKind::Switch:
      return;
    case FlagKind::Integer: {
      char* end = nullptr;
      errno = 0;
      long x = std::strtol(value.c_str(), &end, 10);
      if (!number_form(value, false) || *end != '\0' || errno == ERANGE || double(x) < d.min || double(x) > d.max)
        fail(expected(d));
      return;
    }
    case FlagKind::Real: {
      char* end = nullptr;
      errno = 0;
      double x = std::strtod(value.c_str(), &end);
      if (!number_form(value, true) || *end != '\0' || !std::isfinite(x) || x < d.min || x > d.max ||
          (d.open_min && x == d.min) || (d.open_max && x == d.max))
        fail(expected(d));
      // A nonzero value below a double's normal range (1e-400 reads as 0, 1e-310 loses digits).
      if (errno == ERANGE) fail(expected(d) + ", not one below 2.2e-308 in magnitude (give 0 for zero)");
      return;
    }
    case FlagKind::Choice:
      if (!is_choice(d, value)) fail(expected(d));
      return;
    case FlagKind::List: {
      const std::vector<std::string> words = base::split(value, ',');
      for (size_t i = 0; i < words.size(); ++i) {
        const std::string& word = words[i];
        if (!is_choice(d, word))
          throw base::Error("flag " + d.name + " '" + value + "': unknown " + (word.empty() ? "empty entry" : "'" + word + "'") +
                            " (expected a comma-separated list of " + joined(d.choices, " and ") + ")");
        // A name given twice is most likely a slip for another (grid,grid for grid,zeta): refused, not merged.
        if (std::find(words.begin(), words.begin() + long(i), word) != words.begin() + long(i))
          throw base::Error("flag " + d.name + " '" + value + "': '" + word + "' named twice (expected each of " +
                            joined(d.choices, " and ") + " at most once)");
      }
      return;
    }
    case FlagKind::Text:
      if (d.nonempty && value.empty()) fail("a non-empty " + d.metavar + " (" + d.help + ")");
      return;
  }
}

std::string flag_usage(const FlagDef& d) {
  return d.name + (d.kind == FlagKind::Switch ? "" : " " + d.metavar);
}

}  // namespace

const CommandDef& command_def(Command command) {
  for (const CommandDef& c : command_table())
    if (c.id == command) return c;
  throw std::logic_error("command_def: unknown command");
}

std::string commands_usage() {
  std::string u = "usage: nnfmri <command> [operands] [flags]   (nnfmri <command> --help lists its flags)\n";
  size_t width = 0;
  for (const CommandDef& c : command_table()) width = std::max(width, c.name.size() + 1 + c.operands.size());
  for (const CommandDef& c : command_table()) {
    std::string left = c.name + (c.operands.empty() ? "" : " " + c.operands);
    left.resize(width + 2, ' ');
    u += "  " + left + c.summary + "\n";
  }
  return u;
}

Flags::Flags(Command command, int argc, char** argv) : command_(command_def(command)) {
  for (const FlagDef& d : flag_table())
    if (d.commands & command) defs_.push_back(&d);
  const std::string who = "nnfmri " + command_.name;
  auto find = [&](const std::string& name) -> const FlagDef* {
    for (const FlagDef* d : defs_)
      if (d->name == name) return d;
    return nullptr;
  };
  bool flags_ended = false;  // after "--" every argument is an operand ("report -- -odd-name")
  for (int i = 0; i < argc; ++i) {
    if (!flags_ended && std::string(argv[i]) == "--") {
      flags_ended = true;
      continue;
    }
    // -h is --help, as for `nnfmri -h`
    const std::string a = !flags_ended && std::string(argv[i]) == "-h" ? "--help" : argv[i];
    if (flags_ended || a.rfind("--", 0) != 0) {
      operands_.push_back(a);
      given_.push_back(a);
      continue;
    }
    std::string name = a, v;
    const size_t eq = a.find('=');
    const bool inline_value = eq != std::string::npos;
    if (inline_value) {
      name = a.substr(0, eq);
      v = a.substr(eq + 1);
    }
    const FlagDef* d = find(name);
    if (!d) throw base::Error(who + ": unknown flag '" + name + "' (see '" + who + " --help')");
    if (d->kind != FlagKind::Switch && !inline_value) {
      // The next argument is the value, unless there is none or it is another of this command's flags.
      // One that starts with "--" is refused too (a mistyped flag, "--out --overwrit", would become
      // the value): such a value is given as --flag=--value.  Numbers start with a single '-'.
      const std::string next = i + 1 < argc ? argv[i + 1] : "";
      const size_t next_eq = next.find('=');
      if (i + 1 >= argc || (next.rfind("--", 0) == 0 && find(next.substr(0, next_eq)) != nullptr))
        throw base::Error("flag " + name + ": missing value (expected " + expected(*d) + ")");
      if (next.rfind("--", 0) == 0)
        throw base::Error("flag " + name + ": expected a value, got the flag-like '" + next + "' (a value that starts with -- is given as " +
                          name + "=" + next + ")");
      v = argv[++i];
    } else if (d->kind == FlagKind::Switch && inline_value) {
      throw base::Error("flag " + name + ": takes no value, got '" + v + "'");
    }
    check_value(*d, v);
    // A flag of comma-separated values (--stages, --inject, --lesion, --classes, ...) takes them all at
    // once: given again, the last would silently drop the first's values.
    if ((d->kind == FlagKind::List || d->comma_list) && values_.count(name))
      throw base::Error("flag " + name + ": given twice, expected one " + name + " with every value, separated by commas");
    values_[name] = v;
    given_.push_back(d->kind == FlagKind::Switch ? name : name + "=" + v);
  }
  if (help()) return;
  for (const FlagDef* d : defs_)
    if ((d->required & command) && !has(d->name) && !(!d->unless.empty() && has(d->unless)))
      throw base::Error(who + ": flag " + flag_usage(*d) + " is required (usage: " + usage_line() + ")");
  // One operand per word of command_.operands; the words inside [ ] may be left out ("A B [C D E]").
  size_t wanted = 0, needed = 0;
  bool optional = false;
  for (size_t i = 0; i < command_.operands.size(); ++i) {
    if (command_.operands[i] == '[') optional = true;
    if (command_.operands[i] != ' ' && command_.operands[i] != '[' && (i == 0 || command_.operands[i - 1] == ' ' || command_.operands[i - 1] == '[')) {
      ++wanted;
      if (!optional) ++needed;
    }
    if (command_.operands[i] == ']') optional = false;
  }
  if (operands_.size() > wanted)
    throw base::Error(who + ": unexpected argument '" + operands_[wanted] + "' (usage: " + usage_line() + ")");
  if (operands_.size() < needed)
    throw base::Error(who + ": missing " + command_.operands + " (usage: " + usage_line() + ")");
}

const FlagDef& Flags::def(const std::string& name) const {
  for (const FlagDef* d : defs_)
    if (d->name == name) return *d;
  throw std::logic_error("nnfmri " + command_.name + " does not take " + name);
}

bool Flags::has(const std::string& name) const { return values_.count(name) > 0; }

const std::string& Flags::value(const std::string& name) const {
  const FlagDef& d = def(name);
  auto it = values_.find(name);
  if (it != values_.end()) return it->second;
  if (d.default_value.empty() && d.kind != FlagKind::Text)
    throw std::logic_error(name + " has no default: check has() first");
  return d.default_value;
}

long Flags::integer(const std::string& name) const {
  if (def(name).kind != FlagKind::Integer) throw std::logic_error(name + " is not an integer flag");
  return std::strtol(value(name).c_str(), nullptr, 10);
}

double Flags::real(const std::string& name) const {
  if (def(name).kind != FlagKind::Real) throw std::logic_error(name + " is not a real flag");
  return std::strtod(value(name).c_str(), nullptr);
}

std::string Flags::text(const std::string& name) const {
  if (def(name).kind == FlagKind::Switch) throw std::logic_error(name + " is a switch");
  return value(name);
}

std::vector<std::string> Flags::list(const std::string& name) const {
  if (def(name).kind != FlagKind::List) throw std::logic_error(name + " is not a list flag");
  return base::split(value(name), ',');
}

std::string Flags::usage_line() const {
  std::string line = "nnfmri " + command_.name;
  if (!command_.operands.empty()) line += " " + command_.operands;
  for (const FlagDef* d : defs_)
    if (d->required & command_.id) line += " " + flag_usage(*d);
  return line + " [flags]";
}

std::string Flags::usage() const {
  std::string u = "usage: " + usage_line() + "\n";
  size_t width = 0;
  for (const FlagDef* d : defs_) width = std::max(width, flag_usage(*d).size());
  for (const FlagDef* d : defs_) {
    std::string left = flag_usage(*d);
    left.resize(width + 2, ' ');
    std::string right = d->help;
    if (d->required & command_.id)
      right += " (required)";
    else if (!d->shown_default.empty())
      right += " (" + d->shown_default + ")";
    else if (!d->default_value.empty())
      right += " (" + d->default_value + ")";
    if (d->kind == FlagKind::Integer || d->kind == FlagKind::Real) right += " " + range_text(*d);
    u += "  " + left + right + "\n";
  }
  return u;
}

}  // namespace app
