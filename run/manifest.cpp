#include "run/manifest.h"

#include <cstring>
#include <filesystem>
#include <system_error>

#include "base/error.h"
#include "run/json.h"

namespace run {

namespace fs = std::filesystem;

void write_manifest(const Layout& layout, const Manifest& m) {
  Json state = nullptr;
  if (!m.state_file.empty()) state = {{"file", m.state_file}, {"epoch", m.state_epoch}, {"step", m.state_step}};
  const Json doc = {{"format", "nnfmri run"},  {"version", 1},         {"status", m.status},
                    {"epochs", m.epochs},      {"completed_epoch", m.completed_epoch},
                    {"state", state},          {"threads", m.threads}, {"arguments", m.arguments},
                    {"files", m.files}};
  write_json(layout.manifest(), doc, 2);
}

std::optional<Manifest> read_manifest(const Layout& layout) {
  const std::optional<Json> doc = read_optional_json(layout.manifest());
  if (!doc) return std::nullopt;
  const Node root(*doc, layout.manifest());
  if (root["format"].text() != "nnfmri run") root["format"].fail("\"nnfmri run\"");
  root["version"].integer(1, 1);
  Manifest m;
  m.status = root["status"].text();
  if (m.status != "running" && m.status != "interrupted" && m.status != "complete")
    root["status"].fail("running, interrupted or complete");
  m.epochs = int(root["epochs"].integer(1, 100000));
  m.completed_epoch = int(root["completed_epoch"].integer(0, m.epochs));
  const Node state = root["state"];
  if (!state.json().is_null()) {
    m.state_file = state["file"].text();
    m.state_epoch = int(state["epoch"].integer(1, m.epochs));
    m.state_step = long(state["step"].integer(1, 1LL << 40));
  }
  m.threads = int(root["threads"].integer(1, 1 << 20));
  const Node arguments = root["arguments"];
  for (size_t i = 0; i < arguments.array_size(); ++i) m.arguments.push_back(arguments[i].text());
  const Node files = root["files"];
  for (size_t i = 0; i < files.array_size(); ++i) m.files.push_back(files[i].text());
  return m;
}

std::vector<std::string> run_entries(const Layout& layout) {
  const std::string figures = layout.dir + "/" + Layout::figures();
  std::vector<std::string> paths = {layout.config(),      layout.metrics(),     layout.model(),
                                    layout.manifest(),    layout.summary(),     layout.report_page(),
                                    layout.checkpoints(), layout.analyses(),    figures,
                                    layout.eeg()};
  for (std::string& p : paths) p = layout.relative(p);
  return paths;
}

std::vector<std::string> directory_entries(const std::string& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) return {};
  if (!fs::is_directory(dir, ec)) throw base::Error(dir + ": is not a directory");
  std::vector<std::string> names;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    names.push_back(it->path().filename().string());
  if (ec) throw base::Error(dir + ": cannot list (" + ec.message() + ")");
  return names;
}

void remove_path(const std::string& path) {
  std::error_code ec;
  fs::remove_all(path, ec);
  if (ec) throw base::Error(path + ": cannot remove (" + ec.message() + ")");
}

void remove_file(const std::string& path) {
  std::error_code ec;
  const fs::file_status status = fs::symlink_status(path, ec);
  if (status.type() == fs::file_type::not_found) return;
  if (status.type() == fs::file_type::directory)
    throw base::Error(path + ": is a directory, expected nnfmri's own file there (remove or rename the directory)");
  if (!fs::remove(path, ec) && ec) throw base::Error(path + ": cannot remove (" + ec.message() + ")");
}

void clear_run(const Layout& layout) {
  for (const std::string& entry : run_entries(layout)) remove_path(layout.dir + "/" + entry);
  std::error_code ec;
  std::vector<fs::path> stale;  // *.tmp.<digits>, collected first: removing while iterating is unspecified
  for (fs::recursive_directory_iterator it(layout.dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    const size_t at = name.rfind(".tmp.");
    if (at != std::string::npos && at + 5 < name.size() &&
        name.find_first_not_of("0123456789", at + 5) == std::string::npos && it->is_regular_file(ec))
      stale.push_back(it->path());
  }
  for (const fs::path& p : stale) fs::remove(p, ec);
}

}  // namespace run
