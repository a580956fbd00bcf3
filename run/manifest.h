// run/manifest.h — RUN/run.json, the state of a run directory, and the directory's housekeeping.
//
// Promise: a training run rewrites run.json (atomically) after everything else of an epoch — or of
// the step a signal stopped it at — is on disk, and only then.  So whatever a kill interrupts, the
// manifest describes a complete state: the files it lists exist and hold epoch `completed_epoch`
// (metrics.jsonl has that many lines, model.ckpt is that epoch), and `state` names the resumable
// training state to continue from.  Anything else in checkpoints/ or analysis/ (a later epoch's
// files, a *.tmp.<pid> of a write that never reached its rename) is left over from the interruption;
// `nnfmri train --resume` removes it.
//
//   {"format": "nnfmri run", "version": 1, "status": "running" | "interrupted" | "complete",
//    "epochs": E, "completed_epoch": k,
//    "state": {"file": "checkpoints/epoch_003.state", "epoch": 3, "step": 31} | null,
//    "threads": N, "arguments": ["--data=planted", …], "files": ["config.json", …]}
// "state" stands after `step` steps of `epoch` (all of them at an epoch's end); "arguments" are the
// train flags that made the run (without --out, --resume, --overwrite, --threads: a run resumes
// wherever its directory now is, with the threads recorded here), "files" the run's files relative
// to the directory.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "run/layout.h"

namespace run {

struct Manifest {
  std::string status = "running";  // "running", "interrupted" (by a signal), "complete"
  int epochs = 0;                  // planned
  int completed_epoch = 0;
  std::string state_file;          // relative; "" before the first epoch ends
  int state_epoch = 0;
  long state_step = 0;
  int threads = 0;
  std::vector<std::string> arguments;
  std::vector<std::string> files;  // relative
};

// Written last and atomically (run::write_json).
void write_manifest(const Layout& layout, const Manifest& manifest);
// Nothing when RUN/run.json does not exist; base::Error naming the file and the field if malformed.
std::optional<Manifest> read_manifest(const Layout& layout);

// What a run and its report write at the top of a run directory: config.json, metrics.jsonl,
// model.ckpt, run.json, summary.json, report.html, checkpoints/, analysis/, figures/, eeg/.
std::vector<std::string> run_entries(const Layout& layout);
// The names in `dir` (empty when it does not exist); base::Error if it is not a directory.
std::vector<std::string> directory_entries(const std::string& dir);
// Removes a file or a directory tree if it exists; base::Error naming the path if it cannot.
void remove_path(const std::string& path);
// Removes the file (or the symbolic link itself) at path if anything is there; a directory there is
// refused — base::Error naming it — since what nnfmri replaces is always its own file, and a user's
// directory of that name is not (`export --npz notes.npz` beside a folder notes.model.json/).
void remove_file(const std::string& path);
// Removes what run_entries() names (recursively) and every *.tmp.<digits> file below the run
// directory (left by writes killed before their rename); other files stay.  base::Error naming a
// path that cannot be removed.
void clear_run(const Layout& layout);

}  // namespace run
