#include "serve/run_index.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>
#include <filesystem>
#include <optional>
#include <sstream>
#include <vector>

#include "base/error.h"
#include "base/fileio.h"
#include "report/page.h"
#include "report/report.h"
#include "report/report_data.h"
#include "run/layout.h"
#include "run/manifest.h"

namespace serve {

namespace fs = std::filesystem;
using run::Json;

namespace {

// run.json's lstat, or false when it cannot be read (errno then says why; 0 for no regular file).
bool manifest_stat(const std::string& run_dir, struct stat& st) {
  if (::lstat(run::Layout(run_dir).manifest().c_str(), &st) != 0) return false;
  errno = 0;
  return S_ISREG(st.st_mode);
}

std::string version_of(const struct stat& st) {
  return std::to_string(static_cast<long long>(st.st_mtim.tv_sec)) + "." + std::to_string(long(st.st_mtim.tv_nsec)) + "." +
         std::to_string(static_cast<long long>(st.st_size));
}

// The names of the runs under root (see run_index.h), ascending.
std::vector<std::string> run_names(const std::string& root) {
  std::vector<std::string> names;
  for (const std::string& name : run::directory_entries(root)) {
    if (name.empty() || name[0] == '.' || !relative_path_problem(name).empty()) continue;
    struct stat st;
    if (::lstat((root + "/" + name).c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;  // not a link, a directory
    // No run.json: not a run.  Any other failure (a directory nnfmri may not read) lists it, and its
    // entry then carries the error line.
    if (::lstat(run::Layout(root + "/" + name).manifest().c_str(), &st) != 0 && errno == ENOENT) continue;
    names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

bool is_run(const std::string& root, const std::string& name) {
  const std::vector<std::string> names = run_names(root);
  return std::binary_search(names.begin(), names.end(), name);
}

std::string content_type(const std::string& path) {
  const auto ends = [&](const char* suffix) {
    const size_t n = std::strlen(suffix);
    return path.size() >= n && path.compare(path.size() - n, n, suffix) == 0;
  };
  if (ends(".json")) return "application/json";
  if (ends(".jsonl")) return "text/plain; charset=utf-8";
  if (ends(".png")) return "image/png";
  if (ends(".svg")) return "image/svg+xml";
  return "application/octet-stream";
}

}  // namespace

Reply error_reply(int status, const std::string& message) {
  return {status, "application/json", run::json_text(Json{{"error", base::one_line(message)}}, -1)};
}

std::string relative_path_problem(const std::string& relative) {
  if (relative.empty()) return "an empty path";
  if (relative.size() > kMaxPathBytes) return "longer than " + std::to_string(kMaxPathBytes) + " bytes";
  if (relative[0] == '/') return "an absolute path";
  size_t start = 0;
  while (true) {
    const size_t end = std::min(relative.find('/', start), relative.size());
    const std::string segment = relative.substr(start, end - start);
    if (segment.empty()) return "an empty path segment";
    if (segment == "." || segment == "..") return "a '" + segment + "' segment";
    for (const char c : segment) {
      const unsigned char u = static_cast<unsigned char>(c);
      if (u < 0x20 || u == 0x7f) return "a control character";
      if (c == '\\' || c == '%' || c == ':') return std::string("a '") + c + "'";
    }
    if (end == relative.size()) break;
    start = end + 1;
  }
  return "";
}

std::string symlink_problem(const std::string& root, const std::string& relative) {
  std::string path = root;
  size_t start = 0;
  while (start <= relative.size()) {
    const size_t end = std::min(relative.find('/', start), relative.size());
    path += "/" + relative.substr(start, end - start);
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) return "no such file";
    if (S_ISLNK(st.st_mode)) return "a symbolic link";
    start = end + 1;
  }
  return "";
}

std::string link_refusal(const std::string& dir, bool deep) {
  const auto refusal = [](const std::string& link) { return link + ": a symbolic link (serve reads no file through a link)"; };
  const run::Layout layout(dir);
  struct stat st;
  for (const std::string& file : {layout.config(), layout.metrics(), layout.manifest()})
    if (::lstat(file.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) return refusal(file);
  if (!deep) return "";
  for (const std::string& top : {layout.analyses(), layout.eeg()}) {
    if (::lstat(top.c_str(), &st) != 0) continue;
    if (S_ISLNK(st.st_mode)) return refusal(top);
    std::error_code ec;  // the iterator lists a link without following it
    fs::recursive_directory_iterator it(top, ec), end;
    for (; !ec && it != end; it.increment(ec))
      if (it->is_symlink(ec)) return refusal(it->path().string());
    // A directory the walk cannot list (no permission, no file descriptor left) might hold a link: the
    // run is refused, not read.
    if (ec) return top + ": cannot be checked for symbolic links (" + ec.message() + ")";
  }
  return "";
}

RunIndex::RunIndex(std::string root) : root_(std::move(root)) {
  while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
  std::error_code ec;
  if (!fs::is_directory(root_, ec)) throw base::Error(root_ + ": " + base::not_a_directory(root_) + " (expected a directory of run directories)");
  run::directory_entries(root_);  // throws when it cannot be listed
}

Json RunIndex::run_list() const {
  Json runs = Json::array();
  // ROOT removed or moved while serving is said so (directory_entries lists a missing directory as
  // empty), as is one that cannot be listed: not "no runs yet".
  std::error_code ec;
  if (!fs::is_directory(root_, ec))
    throw base::Error(root_ + ": no longer a directory (removed or moved while serving; its runs are listed again when it is back)");
  const std::vector<std::string> names = run_names(root_);
  for (const std::string& name : names) {
    const std::string dir = root_ + "/" + name;
    const run::Layout layout(dir);
    Json entry = {{"name", name},          {"status", nullptr},  {"epochs", nullptr},  {"completed_epoch", nullptr},
                  {"model", "unknown"},    {"dataset", "unknown"}, {"test_acc", nullptr}, {"analysed", 0},
                  {"updated", nullptr},    {"version", ""},      {"error", nullptr}};
    struct stat st;
    if (manifest_stat(dir, st)) {
      entry["updated"] = double(st.st_mtim.tv_sec) + 1e-9 * double(st.st_mtim.tv_nsec);
      entry["version"] = version_of(st);
    }
    try {
      if (const std::string refusal = link_refusal(layout.dir, false); !refusal.empty()) throw base::Error(refusal);
      const std::optional<run::Manifest> m = run::read_manifest(layout);
      if (!m) throw base::Error(layout.manifest() + ": vanished");
      entry["status"] = m->status;
      entry["epochs"] = m->epochs;
      entry["completed_epoch"] = m->completed_epoch;
      int analysed = 0;
      for (const std::string& file : m->files) {
        const size_t slash = file.find('/', 9);
        if (file.rfind("analysis/", 0) == 0 && slash != std::string::npos &&
            file.compare(slash, std::string::npos, std::string("/") + run::kGridFile) == 0)
          ++analysed;
      }
      entry["analysed"] = analysed;
      report::RunData head;
      if (base::file_exists(layout.config())) head.config = run::read_json(layout.config());
      entry["model"] = head.model();
      entry["dataset"] = head.dataset();
      // The test accuracy on line completed_epoch of metrics.jsonl (one line per committed epoch).
      if (m->completed_epoch > 0 && base::file_exists(layout.metrics())) {
        std::istringstream lines(base::read_file(layout.metrics()));
        std::string line;
        int number = 0;
        while (number < m->completed_epoch && std::getline(lines, line)) ++number;
        if (number == m->completed_epoch) {
          const std::string where = layout.metrics() + ":" + std::to_string(number);
          const Json row = run::parse_json(line, where);
          entry["test_acc"] = run::Node(row, where)["test_acc"].number(0, 1);  // as the report reads it
        }
      }
    } catch (const std::exception& e) {
      entry["error"] = base::one_line(e.what());
    }
    runs.push_back(entry);
  }
  return {{"root", root_}, {"runs", runs}};
}

Reply RunIndex::run_data(const std::string& name) const {
  const std::string dir = root_ + "/" + name;
  struct stat st;
  if (!manifest_stat(dir, st)) {
    // A run directory nnfmri may not look into is a malformed run, named with why (it is listed so).
    if (errno == EACCES) return error_reply(422, run::Layout(dir).manifest() + ": cannot be read (" + std::strerror(errno) + ")");
    return error_reply(404, dir + ": no run.json");
  }
  const std::string version = version_of(st);
  const auto cached = [&]() -> std::optional<Reply> {
    const std::lock_guard<std::mutex> lock(mutex_);
    const auto hit = cache_.find(name);
    if (hit != cache_.end() && hit->second.version == version) return Reply{200, "application/json", hit->second.data};
    return std::nullopt;
  };
  if (std::optional<Reply> hit = cached()) return *hit;
  // One build at a time: concurrent requests for a new version wait for the first one's build
  // instead of each building it (memory and time), and then find it in the cache.
  const std::lock_guard<std::mutex> building(build_mutex_);
  if (std::optional<Reply> hit = cached()) return *hit;
  try {
    if (const std::string refusal = link_refusal(dir, true); !refusal.empty()) return error_reply(400, refusal);
    // load_run reads what run.json commits (report::RunSelection); committed_files is set only when it
    // read one (a run.json removed since the check above: the run is gone, not a whole-directory read).
    const report::RunData run = report::load_run(dir);
    if (!run.committed_files) return error_reply(404, dir + ": no run.json");
    const std::string data = report::page_data_text(run);
    const std::lock_guard<std::mutex> lock(mutex_);
    // Keep only runs that still exist, so that the cache cannot outgrow the runs under ROOT.
    for (auto it = cache_.begin(); it != cache_.end();)
      it = ::lstat(run::Layout(root_ + "/" + it->first).manifest().c_str(), &st) == 0 ? std::next(it) : cache_.erase(it);
    cache_[name] = {version, data};
    return {200, "application/json", data};
  } catch (const std::exception& e) {
    return error_reply(422, e.what());
  }
}

Reply RunIndex::run_file(const std::string& name, const std::string& relative) const {
  const std::string dir = root_ + "/" + name;
  if (const std::string problem = relative_path_problem(relative); !problem.empty())
    return error_reply(400, "file path '" + relative + "': " + problem);
  try {
    if (const std::string refusal = link_refusal(dir, false); !refusal.empty()) return error_reply(400, refusal);
    const std::optional<run::Manifest> m = run::read_manifest(run::Layout(dir));
    if (!m) return error_reply(404, dir + ": no run.json");
    const bool listed = relative == "run.json" || std::find(m->files.begin(), m->files.end(), relative) != m->files.end();
    if (!listed) return error_reply(404, dir + "/run.json: does not list " + relative);
    if (const std::string problem = symlink_problem(dir, relative); !problem.empty())
      return error_reply(problem == "a symbolic link" ? 400 : 404, dir + "/" + relative + ": " + problem);
    const std::string path = dir + "/" + relative;
    struct stat st;
    if (::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && size_t(st.st_size) > kMaxServedFileBytes)
      return error_reply(413, path + ": larger than " + std::to_string(kMaxServedFileBytes >> 20) + " MiB");
    std::string bytes = base::read_file(path, kMaxServedFileBytes);
    // metrics.jsonl may already hold the line of an epoch run.json does not commit yet (written just
    // before it): only its first completed_epoch lines, one per committed epoch, are served.
    if (relative == "metrics.jsonl") {
      size_t end = 0;
      for (int line = 0; line < m->completed_epoch && end < bytes.size(); ++line) {
        const size_t newline = bytes.find('\n', end);
        end = newline == std::string::npos ? bytes.size() : newline + 1;
      }
      bytes.resize(end);
    }
    return {200, content_type(relative), bytes};
  } catch (const std::exception& e) {
    return error_reply(422, e.what());
  }
}

Reply RunIndex::handle(const std::string& path) const {
  try {
    if (path == "/") return {200, "text/html; charset=utf-8", report::page_html("{\"serve\":{\"poll_ms\":1000}}", report::PageSource::served)};
    if (path == "/api/runs") {
      try {
        return {200, "application/json", run::json_text(run_list(), -1)};
      } catch (const base::Error& e) {
        return error_reply(503, e.what());
      }
    }
    const std::string prefix = "/api/runs/";
    if (path.rfind(prefix, 0) != 0) return error_reply(404, path + ": no such endpoint (/, /api/runs, /api/runs/NAME/...)");
    const size_t slash = path.find('/', prefix.size());
    const std::string name = path.substr(prefix.size(), slash == std::string::npos ? std::string::npos : slash - prefix.size());
    if (const std::string problem = relative_path_problem(name); !problem.empty() || name.find('/') != std::string::npos)
      return error_reply(400, "run name '" + name + "': " + (problem.empty() ? "a '/'" : problem));
    if (!is_run(root_, name)) return error_reply(404, root_ + "/" + name + ": no such run (a subdirectory with run.json)");
    const std::string rest = slash == std::string::npos ? "" : path.substr(slash);
    if (rest == "/data") return run_data(name);
    if (rest.rfind("/files/", 0) == 0) return run_file(name, rest.substr(7));
    return error_reply(404, path + ": no such endpoint (/api/runs/NAME/data, /api/runs/NAME/files/PATH)");
  } catch (const std::exception& e) {
    return error_reply(500, e.what());
  }
}

}  // namespace serve
