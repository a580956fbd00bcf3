// apps/flags.h — the command line of one `nnfmri` subcommand.
//
// Promise: every flag must be declared; an unknown flag, a flag without its value, or a value
// of the wrong form throws base::Error naming the flag, the value and what was expected.
// Flags take the form `--name value` or `--name=value`; switches take no value.
#pragma once
#include <map>
#include <set>
#include <string>
#include <vector>

namespace app {

struct FlagDef {
  std::string name;   // "--epochs"
  bool takes_value;   // false for switches such as --nesterov
  std::string help;   // "N  epochs to train (15)"
};

class Flags {
 public:
  Flags(const std::string& command, int argc, char** argv, const std::vector<FlagDef>& defs);
  bool has(const std::string& name) const { return values_.count(name) > 0; }
  std::string str(const std::string& name, const std::string& fallback) const;
  long integer(const std::string& name, long fallback, long min, long max) const;
  double real(const std::string& name, double fallback, double min, double max) const;
  const std::vector<std::string>& positional() const { return positional_; }
  std::string usage() const;

 private:
  std::string command_;
  std::vector<FlagDef> defs_;
  std::map<std::string, std::string> values_;
  std::vector<std::string> positional_;
};

}  // namespace app
