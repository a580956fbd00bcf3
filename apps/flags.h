// apps/flags.h — the command line of `nnfmri`: one table of every flag, and its parser.
//
// Promise: every flag is defined once, in flag_table() (apps/flag_table.cpp), with its name, kind,
// default, range or allowed values, help text and the commands that take it.  Parsing, validation,
// defaults and `--help` all come from that table: a command never spells a default or a range.
// An unknown flag, a flag without its value, a value of the wrong form or out of range, a missing
// required flag or operand throws base::Error naming the flag (or operand) and what was expected.
// Flags take the form `--name value` or `--name=value`; switches take no value; the last of a
// repeated flag wins, except a flag of comma-separated values (List, or `comma_list`), which is
// refused given twice (the second would drop the first's values).
#pragma once
#include <map>
#include <string>
#include <vector>

namespace app {

// The commands, as bits: a flag lists the commands that take it.
enum Command : unsigned {
  kTrain = 1u << 0,
  kEval = 1u << 1,
  kInfo = 1u << 2,
  kExport = 1u << 3,
  kAnalyze = 1u << 4,
  kReport = 1u << 5,
  kImport = 1u << 6,
  kCorrupt = 1u << 7,
  kProfile = 1u << 8,
  kMonitor = 1u << 9,
  kServe = 1u << 10,
  kCompare = 1u << 11,
  kEveryCommand = (1u << 12) - 1,
};

enum class FlagKind {
  Switch,   // present or not
  Integer,  // a decimal integer in [min, max]
  Real,     // a finite number in [min, max] (min excluded with open_min, max with open_max)
  Choice,   // one of `choices`
  List,     // a comma-separated, non-empty subset of `choices`
  Text,     // any string (a path, a spec); non-empty when `nonempty`
};

struct FlagDef {
  std::string name;        // "--epochs"
  FlagKind kind;
  std::string metavar;     // "N" in `--epochs N` (Choice and List: the choices)
  std::string help;        // what it does, without the default
  unsigned commands;       // the commands that take it
  std::string default_value;  // parsed like a given value; "" = none (the flag is then absent unless given)
  std::string shown_default;  // the default as --help shows it when not default_value ("all cores")
  double min = 0, max = 0;    // Integer, Real
  bool open_min = false;      // Real: min itself excluded
  std::vector<std::string> choices;  // Choice, List
  unsigned required = 0;      // the commands that require it …
  std::string unless;         // … unless this flag is given (train's --data unless --resume)
  bool nonempty = false;      // Text: "" is refused
  bool comma_list = false;    // Text: comma-separated values (--inject, --lesion, --classes, --norm): refused given twice
  bool open_max = false;      // Real: max itself excluded
  // An imaging flag: it sets the analyses (imaging::AnalysisSettings) of analyze and of train's
  // --analyze-every N, so train refuses it with --analyze-every 0 (--grid: unless --eeg or --inject,
  // whose regions it sets too).  This mark is the one list of them (training_settings reads it).
  bool imaging = false;
};

// What a command is called, its operands, one line about it and what runs it.
struct CommandDef {
  Command id;
  std::string name;      // "analyze"
  std::string operands;  // "CKPT", "RUN_DIR" or "": one word per operand; words in [ ] may be left out ("A B [C D E]")
  std::string summary;
  int (*run)(int argc, char** argv);  // the arguments after the command's name
};

const std::vector<FlagDef>& flag_table();
const std::vector<CommandDef>& command_table();
const CommandDef& command_def(Command command);
// "usage: nnfmri <command> [flags]" and one line per command, from command_table().
std::string commands_usage();

class Flags {
 public:
  // Parses and validates argv against the flags `command` takes.  Unless --help is given, also
  // checks the required flags and the number of operands.
  Flags(Command command, int argc, char** argv);

  bool help() const { return has("--help"); }
  bool has(const std::string& name) const;  // given on the command line
  // The value given, else the table's default.  Asking for a flag the command does not take, of
  // another kind, or without a value or a default is a programming error (std::logic_error).
  long integer(const std::string& name) const;
  double real(const std::string& name) const;
  std::string text(const std::string& name) const;  // the value as given (or the default), of any kind but Switch
  std::vector<std::string> list(const std::string& name) const;
  const std::vector<std::string>& operands() const { return operands_; }
  // "usage: nnfmri analyze CKPT --data SPEC --out DIR [flags]" and one line per flag.
  std::string usage() const;
  std::string usage_line() const;  // "nnfmri analyze CKPT --data SPEC --out DIR [flags]"
  // The arguments that were given, flags as --name=value, in order (recorded to resume a run).
  const std::vector<std::string>& given() const { return given_; }

 private:
  const FlagDef& def(const std::string& name) const;
  const std::string& value(const std::string& name) const;
  const CommandDef& command_;
  std::vector<const FlagDef*> defs_;  // the flags this command takes, in table order
  std::map<std::string, std::string> values_;
  std::vector<std::string> operands_, given_;
};

}  // namespace app
