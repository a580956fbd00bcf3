// serve/run_index.h — what `nnfmri serve ROOT` answers, without the network: the path rules, the run
// list and the JSON endpoints over the run directories under ROOT (serve/server.h puts them on HTTP).
//
// serve/ sits beside report/: it reads run directories (run/, report/report_data.h) and never the net;
// it is its own folder because it alone links the HTTP library (cpp-httplib, in serve/server.cpp only).
//
// Promise:
//  - A run is a direct subdirectory of ROOT that holds run.json (run/manifest.h), or one whose run.json
//    cannot be looked at (a directory without read or search permission: listed with its error); its
//    name is that subdirectory's name.  Names starting with '.' and symbolic links are not runs.  Runs may appear,
//    grow and disappear while serving: every request looks again.
//  - Path rules (relative_path_problem): a path inside ROOT is accepted only when it is relative,
//    at most kMaxPathBytes long, made of segments that are non-empty, not "." or "..", without '\',
//    '%' (a doubly encoded "%2e%2e" stays refused after the server's one decoding), ':' or control
//    characters; and no component below ROOT is a symbolic link (checked with lstat on the disk, so a
//    link planted in a run cannot lead out).  Nothing outside ROOT is ever opened.
//  - Only what a run's manifest commits is read: a run's files endpoint serves a file only when
//    run.json lists it (or run.json itself; metrics.jsonl up to its completed_epoch-th line), its
//    data endpoint reads the analysed epochs and metrics up to run.json's completed_epoch and the eeg
//    files it lists (report::load_run reads a run so: report::RunSelection).  Files are written atomically
//    (base/fileio.h) before run.json lists them, so a half-written file is never served.
//  - A malformed run (unreadable manifest, bad JSON, …) is one error line in its list entry and in
//    its data endpoint's answer (status 422); the other runs are unaffected.  Nothing throws out of
//    handle().
//
// Endpoints (GET; every body JSON unless said otherwise):
//   /                            the report page (report/page.h, PageSource::served)
//   /api/runs                    {"root", "runs": [entry…]} (run_entry below), names ascending
//   /api/runs/NAME/data          the page's data for that run: the JSON report.html inlines
//   /api/runs/NAME/files/PATH    a file run.json lists, as bytes (at most kMaxServedFileBytes)
// An error is {"error": "<one line>"} with status 400 (a path the rules refuse), 404 (no such run,
// endpoint or listed file), 413 (file too large), 422 (a malformed run) or 503 (ROOT gone or unlistable).
#pragma once
#include <cstddef>
#include <map>
#include <mutex>
#include <string>

#include "run/json.h"

namespace serve {

constexpr size_t kMaxPathBytes = 1024;
constexpr size_t kMaxServedFileBytes = size_t(256) << 20;

// "" when `relative` obeys the path rules' text part, else why not (one phrase).
std::string relative_path_problem(const std::string& relative);
// "" when no component of root/relative (below root) is a symbolic link and root/relative exists;
// else why not.  `relative` must already obey relative_path_problem.
std::string symlink_problem(const std::string& root, const std::string& relative);
// "" when none of the files of run directory `dir` that the run list reads (config.json,
// metrics.jsonl, run.json) or, when deep, that the data endpoint reads (also everything under analysis/
// and eeg/) is a symbolic link; else the one line that refuses the run, naming the first link (or the directory
// under analysis/ or eeg/ that cannot be listed, since it might hold one).  The report's readers open files as named, so a
// run holding such a link is refused (its list entry an error, its data a 400) rather than read
// through it: a link inside ROOT could point anywhere.
std::string link_refusal(const std::string& dir, bool deep);

struct Reply {
  int status = 200;
  std::string type = "application/json";
  std::string body;
};

// {"error": "<message as one line>"} with `status`: the body of every error answer.
Reply error_reply(int status, const std::string& message);

class RunIndex {
 public:
  // `root` must be a readable directory: base::Error naming it otherwise.
  explicit RunIndex(std::string root);
  const std::string& root() const { return root_; }

  // One entry per run: {"name", "status", "epochs", "completed_epoch", "model", "dataset",
  // "test_acc" (the last committed epoch's, or null), "analysed" (analysed epochs committed),
  // "updated" (run.json's modification time, seconds since 1970), "version" (changes whenever
  // run.json is rewritten), "error" (null, or the one line that makes the run unreadable)}.
  // base::Error naming ROOT when it is no longer a directory or cannot be listed (/api/runs: 503).
  run::Json run_list() const;
  // The answer to GET `path` (already percent-decoded, without the query string).
  Reply handle(const std::string& path) const;

 private:
  Reply run_data(const std::string& name) const;
  Reply run_file(const std::string& name, const std::string& relative) const;

  std::string root_;
  // The page data of each run at its version (run.json's time and size): rebuilt when it changes.
  struct Cached {
    std::string version, data;
  };
  mutable std::mutex mutex_;        // guards cache_
  mutable std::mutex build_mutex_;  // held while a run's data is built
  mutable std::map<std::string, Cached> cache_;
};

}  // namespace serve
