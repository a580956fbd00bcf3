// tests/serve/test_serve.cpp — serve/run_index.h without sockets: the path rules (traversal, encoded
// "..", symbolic links out of the root), the run list, and the endpoints against run directories the
// test writes (only what run.json commits is read; a malformed run is its own error).  ServeHttp: what
// `nnfmri serve` (the built binary, in a child process) answers on the wire to raw requests.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "base/error.h"
#include "base/fileio.h"
#include "report/page.h"
#include "report/report.h"
#include "report/report_data.h"
#include "run/json.h"
#include "serve/run_index.h"
#include "serve/server.h"
#include "tests/nnfmri_binary.h"
#include "tests/report/synthetic_run.h"
#include "tests/sanitizer.h"
#include "tests/temp_dir.h"

namespace {

namespace fs = std::filesystem;
using run::Json;

// RUN/run.json committing `completed` of 3 epochs and listing `files`.
void write_manifest(const std::string& dir, int completed, const std::vector<std::string>& files) {
  const Json doc = {{"format", "nnfmri run"}, {"version", 1}, {"status", completed == 3 ? "complete" : "running"},
                    {"epochs", 3}, {"completed_epoch", completed}, {"state", nullptr}, {"threads", 1},
                    {"arguments", Json::array()}, {"files", files}};
  run::write_json(dir + "/run.json", doc, 2);
}

const std::vector<std::string> kCommitted2 = {"analysis/epoch_001/grid.json", "analysis/epoch_001/tract.json",
                                              "analysis/epoch_001/zeta.json", "analysis/epoch_002/grid.json",
                                              "analysis/epoch_002/tract.json", "analysis/epoch_002/zeta.json",
                                              "config.json", "metrics.jsonl"};

class Serve : public TempDirTest {
 protected:
  std::string run(const std::string& name) const { return path(name); }
  void make_run(const std::string& name, int completed, const std::vector<std::string>& files = kCommitted2) {
    synthetic::write_run(run(name));
    write_manifest(run(name), completed, files);
  }
  static Json body(const serve::Reply& reply) { return run::parse_json(reply.body, "reply"); }
};

TEST(ServePaths, TheTextRulesRefuseEveryWayOut) {
  for (const std::string ok : {"config.json", "analysis/epoch_001/grid.json", "a..b", "...x"})
    EXPECT_EQ(serve::relative_path_problem(ok), "") << ok;
  const std::pair<std::string, std::string> refused[] = {
      {"", "empty"},
      {"/etc/passwd", "absolute"},
      {"..", "'..'"},
      {"../secret", "'..'"},
      {"analysis/../../secret", "'..'"},
      {"a/./b", "'.'"},
      {"a//b", "empty path segment"},
      {"a/", "empty path segment"},
      {"%2e%2e/secret", "'%'"},       // left encoded after the server's one decoding (a double encoding)
      {"..%2fsecret", "'%'"},
      {"..\\secret", "'\\'"},
      {"C:secret", "':'"},
      {std::string("a\0b", 3), "control"},
      {"a\nb", "control"},
      {"a\x1f" "b", "control"},  // the last control character below the space, and DEL
      {"a\x7f" "b", "control"},
      {std::string(serve::kMaxPathBytes + 1, 'a'), "longer than"},
  };
  for (const auto& [path, why] : refused) {
    const std::string problem = serve::relative_path_problem(path);
    EXPECT_NE(problem.find(why), std::string::npos) << "'" << path << "' → '" << problem << "'";
  }
}

TEST_F(Serve, SymbolicLinksOutOfTheRootAreRefused) {
  make_run("a", 2);
  fs::create_directories(path("outside"));
  base::write_file_atomic(path("outside/secret.json"), "{\"secret\": 1}\n");
  fs::create_symlink(path("outside"), run("a") + "/checkpoints");
  fs::create_symlink(path("outside/secret.json"), run("a") + "/leak.json");
  EXPECT_EQ(serve::symlink_problem(run("a"), "config.json"), "");
  EXPECT_EQ(serve::symlink_problem(run("a"), "checkpoints/secret.json"), "a symbolic link");
  EXPECT_EQ(serve::symlink_problem(run("a"), "leak.json"), "a symbolic link");
  EXPECT_EQ(serve::symlink_problem(run("a"), "missing.json"), "no such file");

  // Even when run.json lists them, the files endpoint does not follow the links.
  write_manifest(run("a"), 2, {"config.json", "checkpoints/secret.json", "leak.json"});
  const serve::RunIndex index(dir_);
  for (const std::string file : {"checkpoints/secret.json", "leak.json"}) {
    const serve::Reply reply = index.handle("/api/runs/a/files/" + file);
    EXPECT_EQ(reply.status, 400) << file;
    EXPECT_EQ(reply.body.find("secret\": 1"), std::string::npos);
    EXPECT_NE(body(reply)["error"].get<std::string>().find("symbolic link"), std::string::npos) << reply.body;
  }
  // A run directory that is a link is not a run.
  fs::create_symlink(run("a"), path("linked"));
  EXPECT_EQ(index.handle("/api/runs/linked/data").status, 404);
}

// run.json itself a link: the files endpoint refuses the run before reading the manifest through it (a
// manifest outside ROOT would decide which files are served).  A listed file larger than
// kMaxServedFileBytes is refused by its size (413), before any byte is read (a sparse file here).
TEST_F(Serve, TheFilesEndpointRefusesALinkedManifestAndAFileTooLarge) {
  make_run("a", 2, {"config.json", "big.bin"});
  fs::create_directories(path("outside"));
  fs::rename(run("a") + "/run.json", path("outside/run.json"));
  fs::create_symlink(path("outside/run.json"), run("a") + "/run.json");
  const serve::RunIndex index(dir_);
  const serve::Reply linked = index.handle("/api/runs/a/files/config.json");
  EXPECT_EQ(linked.status, 400) << linked.body;
  EXPECT_NE(body(linked)["error"].get<std::string>().find("symbolic link"), std::string::npos) << linked.body;
  make_run("b", 2, {"config.json", "big.bin"});
  base::write_file_atomic(run("b") + "/big.bin", "");
  fs::resize_file(run("b") + "/big.bin", serve::kMaxServedFileBytes + 1);
  const serve::Reply large = index.handle("/api/runs/b/files/big.bin");
  EXPECT_EQ(large.status, 413) << large.body.substr(0, 200);
  EXPECT_NE(body(large)["error"].get<std::string>().find("larger than 256 MiB"), std::string::npos) << large.body.substr(0, 200);
  EXPECT_EQ(index.handle("/api/runs/b/files/config.json").status, 200);
}

// The run list and the data endpoint read through the report's readers, which open files as named: a
// link inside a run (config.json, metrics.jsonl, an analysis epoch, an eeg file) pointing outside ROOT
// makes the run an error, and nothing of the outside file is shown.
TEST_F(Serve, RunsHoldingSymbolicLinksAreRefusedByTheListAndTheData) {
  fs::create_directories(path("outside/epoch_009"));
  base::write_file_atomic(path("outside/secret.json"), "{\"model\": \"SECRET\", \"data\": {\"spec\": \"SECRET\"}}\n");
  make_run("config", 2);
  fs::remove(run("config") + "/config.json");
  fs::create_symlink(path("outside/secret.json"), run("config") + "/config.json");
  make_run("epoch", 2);
  fs::create_symlink(path("outside/epoch_009"), run("epoch") + "/analysis/epoch_002b");
  make_run("plain", 2);
  const serve::RunIndex index(dir_);
  const Json list = index.run_list();
  ASSERT_EQ(list["runs"].size(), 3u);
  EXPECT_EQ(list.dump().find("SECRET"), std::string::npos) << list.dump();
  const std::string error = list["runs"][0]["error"];  // "config": its config.json is a link
  EXPECT_NE(error.find("symbolic link"), std::string::npos) << error;
  EXPECT_TRUE(list["runs"][2]["error"].is_null()) << list["runs"][2].dump();
  for (const char* name : {"config", "epoch"}) {
    const serve::Reply reply = index.handle(std::string("/api/runs/") + name + "/data");
    EXPECT_EQ(reply.status, 400) << name << " " << reply.body;
    EXPECT_EQ(reply.body.find("SECRET"), std::string::npos);
  }
  EXPECT_EQ(index.handle("/api/runs/plain/data").status, 200);
  EXPECT_EQ(serve::link_refusal(run("plain"), true), "");
  EXPECT_EQ(serve::link_refusal(run("epoch"), false), "");  // the list reads no analysis file
  EXPECT_EQ(serve::link_refusal(run("epoch"), true),
            run("epoch") + "/analysis/epoch_002b: a symbolic link (serve reads no file through a link)");
}

// A directory under analysis/ that the link check cannot list might hold a link (audit D, finding 1:
// the walk stopped there and reported none, and the data endpoint then read an epoch through a link
// listed after it).  The run's data is refused instead.  The walk is made to fail by a directory
// without permission (not for root, whom permissions do not stop) and by running out of file
// descriptors as it enters a subdirectory.
TEST_F(Serve, ADirectoryTheLinkCheckCannotListRefusesTheRun) {
  if (NNFMRI_UNDER_ASAN) GTEST_SKIP() << "UBSan's vptr check trips on libstdc++'s std::error_category of the error it provokes";
  make_run("a", 2);
  const std::string analysis = run("a") + "/analysis";
  fs::create_directories(analysis + "/epoch_002/deeper");
  const serve::RunIndex index(dir_);
  if (geteuid() != 0) {
    fs::create_directories(analysis + "/locked");
    fs::permissions(analysis + "/locked", fs::perms::none);
    const serve::Reply reply = index.handle("/api/runs/a/data");
    fs::permissions(analysis + "/locked", fs::perms::owner_all);
    EXPECT_EQ(reply.status, 400) << reply.body;
    EXPECT_NE(reply.body.find("cannot be checked for symbolic links"), std::string::npos) << reply.body;
    fs::remove(analysis + "/locked");
  }
  // Room for exactly one more descriptor: the walk opens analysis/, then fails to open a subdirectory.
  const int first = ::open("/dev/null", O_RDONLY), second = ::open("/dev/null", O_RDONLY);
  ASSERT_GE(first, 0);
  ASSERT_GT(second, first);
  ::close(first);
  ::close(second);
  struct rlimit saved;
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &saved), 0);
  struct rlimit one_more = {rlim_t(second), saved.rlim_max};
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &one_more), 0);
  const std::string refusal = serve::link_refusal(run("a"), true);
  setrlimit(RLIMIT_NOFILE, &saved);
  EXPECT_EQ(refusal.rfind(analysis + ": cannot be checked for symbolic links (", 0), 0u) << refusal;
  EXPECT_EQ(serve::link_refusal(run("a"), true), "");
  EXPECT_EQ(index.handle("/api/runs/a/data").status, 200);
}

// What f() returns, computed as the user nobody (65534) when the test runs as root, whom permissions
// do not stop (in a child process: the result comes back through a pipe).
std::string as_unprivileged_user(const std::function<std::string()>& f) {
  if (geteuid() != 0) return f();
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) return "pipe failed";
  const pid_t pid = fork();
  if (pid == 0) {
    close(pipe_fds[0]);
    std::string result = setgid(65534) == 0 && setuid(65534) == 0 ? f() : "setuid failed";
    if (write(pipe_fds[1], result.data(), result.size()) != ssize_t(result.size())) _exit(1);
    _exit(0);
  }
  close(pipe_fds[1]);
  std::string result;
  char buffer[4096];
  for (ssize_t n; (n = read(pipe_fds[0], buffer, sizeof buffer)) > 0;) result.append(buffer, size_t(n));
  close(pipe_fds[0]);
  waitpid(pid, nullptr, 0);
  return result;
}

// Audit D, finding 10: a run directory nnfmri may not read was listed as "run.json: vanished" and its
// data was a 404 "no run.json"; both now say permission denied, and the data is a 422.
TEST_F(Serve, AnUnreadableRunSaysPermissionDenied) {
  if (NNFMRI_UNDER_ASAN) GTEST_SKIP() << "UBSan's vptr check trips on libstdc++'s std::error_category of the error it provokes";
  make_run("a", 2);
  make_run("x", 2);
  fs::permissions(run("x"), fs::perms::none);
  const std::string seen = as_unprivileged_user([&] {
    const serve::RunIndex index(dir_);
    const Json list = index.run_list();
    const serve::Reply data = index.handle("/api/runs/x/data");
    const serve::Reply file = index.handle("/api/runs/x/files/config.json");
    return list["runs"][1]["error"].dump() + "\n" + std::to_string(data.status) + " " + data.body + "\n" +
           std::to_string(file.status) + " " + file.body + "\n" + std::to_string(index.handle("/api/runs/a/data").status);
  });
  fs::permissions(run("x"), fs::perms::owner_all);
  const std::string manifest = run("x") + "/run.json";
  EXPECT_EQ(seen, "\"" + manifest + ": cannot open (Permission denied)\"\n" +
                      "422 {\"error\":\"" + manifest + ": cannot be read (Permission denied)\"}\n" +
                      "422 {\"error\":\"" + manifest + ": cannot open (Permission denied)\"}\n200");
}

TEST_F(Serve, TheRunListHasEveryRunAndOnlyRuns) {
  make_run("b-running", 2);
  make_run("a-done", 3, {"config.json", "metrics.jsonl", "analysis/epoch_001/grid.json"});
  make_run(".hidden", 2);
  synthetic::write_run(run("no-manifest"));
  fs::create_directories(run("broken"));
  base::write_file_atomic(run("broken") + "/run.json", "{\"format\": \"nnfmri run\", \"version\": 7}\n");
  fs::create_symlink(run("a-done"), path("link"));
  base::write_file_atomic(path("file.txt"), "not a run\n");

  const serve::RunIndex index(dir_);
  const Json list = index.run_list();
  std::vector<std::string> names;
  for (const Json& r : list["runs"]) names.push_back(r["name"]);
  EXPECT_EQ(names, (std::vector<std::string>{"a-done", "b-running", "broken"}));
  const Json& done = list["runs"][0];
  EXPECT_EQ(done["status"], "complete");
  EXPECT_EQ(done["completed_epoch"], 3);
  EXPECT_EQ(done["model"], "tiny");
  EXPECT_EQ(done["dataset"], "synthetic");
  EXPECT_DOUBLE_EQ(done["test_acc"].get<double>(), 0.45);  // metrics.jsonl line 3
  EXPECT_EQ(done["analysed"], 1);                          // the grid.json files run.json lists
  const Json& running = list["runs"][1];
  EXPECT_EQ(running["status"], "running");
  EXPECT_DOUBLE_EQ(running["test_acc"].get<double>(), 0.3);  // line 2, not the uncommitted line 3
  EXPECT_EQ(running["analysed"], 2);
  EXPECT_TRUE(running["error"].is_null());
  const std::string error = list["runs"][2]["error"];
  EXPECT_NE(error.find("broken/run.json"), std::string::npos) << error;
  EXPECT_NE(error.find("version"), std::string::npos) << error;

  // The list follows the directory: a run deleted and one created while serving.
  fs::remove_all(run("b-running"));
  make_run("c-new", 1);
  names.clear();
  const Json after = index.run_list();
  for (const Json& r : after["runs"]) names.push_back(r["name"]);
  EXPECT_EQ(names, (std::vector<std::string>{"a-done", "broken", "c-new"}));
}

// The list reads the committed line's test accuracy as the report does: out of 0 … 1 it is the run's error.
TEST_F(Serve, ATestAccuracyOutOfRangeIsTheRunsErrorInTheList) {
  make_run("a", 1);
  std::string text = base::read_file(run("a") + "/metrics.jsonl");
  text.replace(text.find("\"test_acc\":0.15"), 15, "\"test_acc\":7.5");
  base::write_file_atomic(run("a") + "/metrics.jsonl", text);
  const Json list = serve::RunIndex(dir_).run_list();
  ASSERT_EQ(list["runs"].size(), 1u);
  const std::string error = list["runs"][0]["error"];
  EXPECT_NE(error.find("metrics.jsonl:1: /test_acc: expected a number from 0 to 1, found the number 7.5"), std::string::npos)
      << error;
}

TEST_F(Serve, TheDataEndpointReadsOnlyWhatTheManifestCommits) {
  make_run("a", 1);  // analysis/epoch_002 and metrics line 2-3 are on disk, run.json says epoch 1
  const serve::RunIndex index(dir_);
  serve::Reply reply = index.handle("/api/runs/a/data");
  ASSERT_EQ(reply.status, 200) << reply.body;
  Json data = body(reply);
  EXPECT_EQ(data["epochs"].size(), 1u);
  EXPECT_EQ(data["metrics"]["epoch"], Json::array({1}));
  // The same data report.html inlines for that run (one code path).
  EXPECT_EQ(reply.body, report::page_data_text(report::load_run(run("a"))));

  write_manifest(run("a"), 2, kCommitted2);  // the next epoch commits: a new version, read again
  reply = index.handle("/api/runs/a/data");
  ASSERT_EQ(reply.status, 200);
  data = body(reply);
  EXPECT_EQ(data["epochs"].size(), 2u);
  EXPECT_EQ(data["metrics"]["epoch"], Json::array({1, 2}));
  EXPECT_EQ(data["meta"]["run"], "a");
}

// ROOT removed (or moved) while serving was answered as an empty directory, so the page said "no runs
// under this directory yet" of a directory that was gone.  The run list is now a 503 naming ROOT until
// it is back.
TEST_F(Serve, ARootRemovedWhileServingIsSaidSo) {
  make_run("a", 2);
  const serve::RunIndex index(dir_);
  EXPECT_EQ(index.handle("/api/runs").status, 200);
  fs::rename(dir_, dir_ + ".moved");
  const serve::Reply gone = index.handle("/api/runs");
  EXPECT_EQ(gone.status, 503);
  EXPECT_EQ(body(gone)["error"], dir_ + ": no longer a directory (removed or moved while serving; its runs are listed again when it is back)");
  EXPECT_EQ(index.handle("/api/runs/a/data").status, 404);
  fs::rename(dir_ + ".moved", dir_);
  const serve::Reply back = index.handle("/api/runs");
  EXPECT_EQ(back.status, 200);
  EXPECT_EQ(body(back)["runs"].size(), 1u);
}

TEST_F(Serve, AMalformedRunIsItsOwnErrorAndTheOthersWork) {
  make_run("good", 2);
  make_run("bad", 2);
  base::write_file_atomic(run("bad") + "/analysis/epoch_002/zeta.json", "{\"layers\": [1, 2");
  const serve::RunIndex index(dir_);
  const serve::Reply bad = index.handle("/api/runs/bad/data");
  EXPECT_EQ(bad.status, 422);
  EXPECT_NE(body(bad)["error"].get<std::string>().find("bad/analysis/epoch_002/zeta.json"), std::string::npos) << bad.body;
  EXPECT_EQ(index.handle("/api/runs/good/data").status, 200);
  EXPECT_EQ(index.run_list()["runs"].size(), 2u);
}

TEST_F(Serve, TheFilesEndpointServesListedFilesOnly) {
  make_run("a", 2, {"config.json", "analysis/epoch_001/grid.json"});
  const serve::RunIndex index(dir_);
  serve::Reply reply = index.handle("/api/runs/a/files/config.json");
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.type, "application/json");
  EXPECT_EQ(reply.body, base::read_file(run("a") + "/config.json"));
  EXPECT_EQ(index.handle("/api/runs/a/files/run.json").body, base::read_file(run("a") + "/run.json"));
  EXPECT_EQ(index.handle("/api/runs/a/files/analysis/epoch_001/grid.json").status, 200);
  // On disk but not listed (an uncommitted epoch's file), and not on disk at all.
  EXPECT_EQ(index.handle("/api/runs/a/files/metrics.jsonl").status, 404);
  EXPECT_EQ(index.handle("/api/runs/a/files/analysis/epoch_002/grid.json").status, 404);
  EXPECT_EQ(index.handle("/api/runs/a/files/nothing.json").status, 404);
  // metrics.jsonl, once listed, is served up to the committed epoch's line: on disk it already holds
  // the line of epoch 3 (written before run.json commits them)
  write_manifest(run("a"), 2, {"config.json", "metrics.jsonl"});
  const std::string metrics = base::read_file(run("a") + "/metrics.jsonl");
  reply = index.handle("/api/runs/a/files/metrics.jsonl");
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.body, metrics.substr(0, metrics.find('\n', metrics.find('\n') + 1) + 1));
  EXPECT_EQ(std::count(reply.body.begin(), reply.body.end(), '\n'), 2);
  write_manifest(run("a"), 3, {"config.json", "metrics.jsonl"});
  EXPECT_EQ(index.handle("/api/runs/a/files/metrics.jsonl").body, metrics);
  // Ways out of the run and of the root.
  for (const std::string attempt : {"/api/runs/a/files/../../outside", "/api/runs/a/files//etc/passwd",
                                    "/api/runs/a/files/%2e%2e/%2e%2e/etc/passwd", "/api/runs/../data",
                                    "/api/runs/a/files/analysis/./epoch_001/grid.json"}) {
    const serve::Reply refused = index.handle(attempt);
    EXPECT_EQ(refused.status, 400) << attempt << " → " << refused.body;
    EXPECT_TRUE(body(refused)["error"].is_string());
  }
}

TEST_F(Serve, EndpointsAndThePage) {
  make_run("a", 2);
  const serve::RunIndex index(dir_);
  EXPECT_EQ(index.handle("/api/runs/missing/data").status, 404);
  EXPECT_EQ(index.handle("/api/runs/a/nothing").status, 404);
  EXPECT_EQ(index.handle("/etc/passwd").status, 404);
  const Json list = body(index.handle("/api/runs"));
  EXPECT_EQ(list["root"], dir_);
  EXPECT_EQ(list["runs"].size(), 1u);

  const serve::Reply page = index.handle("/");
  EXPECT_EQ(page.status, 200);
  EXPECT_EQ(page.type, "text/html; charset=utf-8");
  // The served page is report.html with {"serve": …} in the data slot and connect-src 'self' in its
  // CSP; report.html itself may fetch nothing.
  EXPECT_NE(page.body.find("connect-src 'self'"), std::string::npos);
  EXPECT_NE(page.body.find("{\"serve\":{\"poll_ms\":1000}}"), std::string::npos);
  EXPECT_EQ(page.body.find("/*@"), std::string::npos);
  const std::string inlined = report::page_html("{}");
  EXPECT_EQ(inlined.find("connect-src"), std::string::npos);
  const std::string data = "{\"serve\":{\"poll_ms\":1000}}";
  std::string served = page.body.substr(page.body.find("<body>"));
  served.replace(served.find(data), data.size(), "{}");
  EXPECT_EQ(inlined.substr(inlined.find("<body>")), served);
}

TEST_F(Serve, ARootThatIsNotADirectoryIsOneError) {
  base::write_file_atomic(path("file"), "x");
  for (const auto& [root, what] : {std::pair<std::string, std::string>{path("file"), "is a file, not a directory"}, {path("missing"), "does not exist"}}) {
    try {
      serve::RunIndex index(root);
      ADD_FAILURE() << root << " accepted";
    } catch (const base::Error& e) {
      EXPECT_NE(std::string(e.what()).find(root + ": " + what + " (expected a directory of run directories)"), std::string::npos) << e.what();
    }
  }
}

// A child `nnfmri serve ARGS` with stdout and stderr in files, stopped with SIGTERM at the end.
struct ServeChild {
  pid_t pid = -1;
  std::string out, err;
  ServeChild(std::vector<std::string> args, const std::string& log) : out(log + ".out"), err(log + ".err") {
    args.insert(args.begin(), "serve");
    pid = spawn_nnfmri(args, out, err);
  }
  ~ServeChild() { stop(); }
  // The exit status once it ended by itself, or -1 while it still runs.
  int ended() {
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, WNOHANG) != pid) return -1;
    pid = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  // The port of the "serving … at http://HOST:PORT/" line, or 0 when the child ended or 20 s passed.
  int port() {
    for (int i = 0; i < 2000 && pid > 0; ++i) {
      const std::string text = base::file_exists(out) ? base::read_file(out) : "";
      const size_t at = text.find("(Ctrl-C stops)");
      if (at != std::string::npos) return std::atoi(text.c_str() + text.rfind(':', at) + 1);
      if (ended() >= 0) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return 0;
  }
  int stop() {
    if (pid < 0) return -1;
    kill(pid, SIGTERM);
    int status = 0;
    waitpid(pid, &status, 0);
    pid = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
};

struct HttpReply {
  int status = 0;
  std::string head, body;  // head: the status line and the header lines
  // Whether a header line starts with `start` ("Content-Range:", "Content-Type: application/json").
  bool has(const std::string& start) const { return head.find("\r\n" + start) != std::string::npos; }
};

// Connects to ip:port (an IPv4 address; reads time out after 10 s) and sends `request` (raw bytes):
// the connected socket, or -1 (closed) when either fails.
int send_to_server(int port, const std::string& request, const std::string& ip = "127.0.0.1") {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(uint16_t(port));
  inet_pton(AF_INET, ip.c_str(), &address.sin_addr);
  timeval timeout = {10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      send(fd, request.data(), request.size(), MSG_NOSIGNAL) != ssize_t(request.size())) {
    if (fd >= 0) close(fd);
    return -1;
  }
  return fd;
}

// Reads one reply from the connected socket fd: its head, then Content-Length bytes of body (the
// connection stays open; a reply arrives in as many pieces as the machine's load makes it).
HttpReply read_reply(int fd) {
  HttpReply reply;
  std::string bytes;
  char buffer[65536];
  size_t head_end = std::string::npos, length = 0;
  while (head_end == std::string::npos || bytes.size() < head_end + 4 + length) {
    const ssize_t n = recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    bytes.append(buffer, size_t(n));
    if (head_end == std::string::npos && (head_end = bytes.find("\r\n\r\n")) != std::string::npos) {
      const size_t at = bytes.substr(0, head_end).find("Content-Length: ");
      length = at == std::string::npos ? 0 : std::strtoul(bytes.c_str() + at + 16, nullptr, 10);
    }
  }
  if (head_end == std::string::npos) return reply;
  reply.head = bytes.substr(0, head_end + 2);
  reply.body = bytes.substr(head_end + 4);
  if (reply.head.rfind("HTTP/1.1 ", 0) == 0) reply.status = std::atoi(reply.head.c_str() + 9);
  return reply;
}

// Sends `request` (raw bytes) to 127.0.0.1:port and reads one reply (read_reply).
HttpReply http(int port, const std::string& request) {
  const int fd = send_to_server(port, request);
  if (fd < 0) return HttpReply{};
  HttpReply reply = read_reply(fd);
  close(fd);
  return reply;
}

// A GET of `target` with the given extra header lines (each ending in \r\n).
HttpReply get(int port, const std::string& target, const std::string& headers = "") {
  return http(port, "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) + "\r\n" + headers +
                        "Connection: close\r\n\r\n");
}

// Sends `request` (raw bytes, maybe several requests) to 127.0.0.1:port and returns every byte the
// server sends until it closes the connection (or 10 s pass without any).
std::string converse(int port, const std::string& request) {
  std::string bytes;
  const int fd = send_to_server(port, request);
  if (fd < 0) return bytes;
  char buffer[65536];
  for (ssize_t n; (n = recv(fd, buffer, sizeof buffer, 0)) > 0;) bytes.append(buffer, size_t(n));
  close(fd);
  return bytes;
}

class ServeHttp : public Serve {
 protected:
  void SetUp() override {
    Serve::SetUp();
    if (!base::file_exists(nnfmri_binary())) GTEST_SKIP() << nnfmri_binary() << " is not built";
    fs::create_directories(path("root"));
    root_ = path("root");
  }
  std::string root_;
};

// Audit D, finding 2: the library answered a Range header with the partial body under status 200, and
// a header of many overlapping ranges with one copy of the file per range (memory without bound).
// serve ignores Range: the whole file, once.
TEST_F(ServeHttp, RangeHeadersAreIgnored) {
  synthetic::write_run(root_ + "/a");
  write_manifest(root_ + "/a", 2, {"config.json"});
  ServeChild serve({root_, "--port", "0", "--threads", "2"}, path("serve"));
  const int port = serve.port();
  ASSERT_GT(port, 0) << base::read_file(serve.err);
  const std::string config = base::read_file(root_ + "/a/config.json");
  std::string many = "bytes=0-";
  for (int i = 0; i < 50; ++i) many += ",0-";
  for (const std::string& range : {std::string("bytes=0-10"), many}) {
    const HttpReply reply = get(port, "/api/runs/a/files/config.json", "Range: " + range + "\r\n");
    EXPECT_EQ(reply.status, 200) << reply.head;
    EXPECT_EQ(reply.body.size(), config.size()) << range;
    EXPECT_TRUE(reply.body == config) << range;
    EXPECT_FALSE(reply.has("Content-Range:")) << reply.head;
  }
}

// Audit D, finding 3: any Host was answered, so a page of another site whose name is made to
// resolve to 127.0.0.1 (DNS rebinding) could read every run.  Only localhost, IP addresses and the
// --host value are answered (whatever the port: an ssh tunnel forwards another port).
TEST_F(ServeHttp, OnlyLocalHostNamesAreAnswered) {
  ServeChild serve({root_, "--port", "0", "--threads", "2"}, path("serve"));
  const int port = serve.port();
  ASSERT_GT(port, 0) << base::read_file(serve.err);
  const auto with_host = [&](const std::string& host) {
    return http(port, "GET /api/runs HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n");
  };
  const std::string p = std::to_string(port);
  for (const std::string& host : std::vector<std::string>{"localhost:" + p, "LocalHost:8080", "127.0.0.1:" + p, "[::1]:" + p, "10.1.2.3",
                                                          "localhost"})
    EXPECT_EQ(with_host(host).status, 200) << host;
  for (const std::string& host : std::vector<std::string>{"attacker.example:" + p, "attacker.example",
                                                          "localhost.attacker.example", "127.0.0.1.nip.io:" + p, "[evil]"}) {
    const HttpReply reply = with_host(host);
    EXPECT_EQ(reply.status, 403) << host;
    EXPECT_NE(reply.body.find("{\"error\":\"Host '" + host + "': not localhost"), std::string::npos) << reply.body;
    EXPECT_EQ(reply.body.find("\"runs\""), std::string::npos) << reply.body;
  }
  EXPECT_EQ(http(port, "GET /api/runs HTTP/1.0\r\n\r\n").status, 200);  // no Host: not a browser
  EXPECT_EQ(get(port, "/api/runs").status, 200);
  const HttpReply post = http(port, "POST /api/runs HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(post.status, 405);
  EXPECT_TRUE(post.has("Allow: GET, HEAD\r\n")) << post.head;  // a 405 names the methods that are answered (RFC 9110)
  EXPECT_EQ(post.body, "{\"error\":\"read-only: only GET and HEAD\"}");
}

// Audit D, finding 4: what the library refuses itself (an unknown method, a request line it cannot
// parse, a URI over 8 KiB, an unparsable Range) came with an empty body; it is the JSON error of every
// other answer.
TEST_F(ServeHttp, TheLibrarysOwnRefusalsAreJsonErrors) {
  ServeChild serve({root_, "--port", "0", "--threads", "2"}, path("serve"));
  const int port = serve.port();
  ASSERT_GT(port, 0) << base::read_file(serve.err);
  const std::string end = " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
  const std::pair<std::string, int> requests[] = {
      {"FOO /" + end, 400},
      {"get /" + end, 400},
      {"GET / HTTP/9.9\r\nHost: localhost\r\nConnection: close\r\n\r\n", 400},
      {"GET /" + std::string(9000, 'a') + end, 414},
      {"GET /api/runs HTTP/1.1\r\nHost: localhost\r\nRange: bytes=x\r\nConnection: close\r\n\r\n", 416},
  };
  for (const auto& [request, status] : requests) {
    const HttpReply reply = http(port, request);
    EXPECT_EQ(reply.status, status) << request.substr(0, 40);
    EXPECT_TRUE(reply.has("Content-Type: application/json")) << reply.head;
    EXPECT_EQ(reply.body.rfind("{\"error\":\"", 0), 0u) << request.substr(0, 40) << " → " << reply.body;
  }
}

// Audit hC: cpp-httplib 0.11 bounds each header line (8 KiB) but neither their count nor a request's
// total time, so one client's endless header lines grew the server by ~40 MB/s, and a client that
// trickled a line every few seconds (each read within the 5 s timeout) held a worker thread for as
// long as it liked.  A request's line, headers and body are at most kMaxHeadBytes (431) and the whole
// request must arrive within kTimeoutSeconds of its first byte (408); both are JSON errors.
TEST_F(ServeHttp, ARequestsHeadersAreBoundedInBytes) {
  ServeChild serve({root_, "--port", "0", "--threads", "1"}, path("serve"));
  const int port = serve.port();
  ASSERT_GT(port, 0) << base::read_file(serve.err);
  std::string request = "GET /api/runs HTTP/1.1\r\nHost: localhost\r\n";
  for (size_t i = 0; request.size() <= serve::kMaxHeadBytes; ++i) request += "X-" + std::to_string(i) + ": " + std::string(1000, 'a') + "\r\n";
  request += "Connection: close\r\n\r\n";
  const HttpReply reply = http(port, request);
  EXPECT_EQ(reply.status, 431) << reply.head;
  EXPECT_EQ(reply.body.rfind("{\"error\":\"a request line, headers and body over 64 KiB in all", 0), 0u) << reply.body;
  // one line of the same size (the library read a line whole before checking its length)
  const HttpReply line = http(port, "GET /" + std::string(serve::kMaxHeadBytes + 10, 'a') + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(line.status, 431) << line.head;
  EXPECT_EQ(get(port, "/api/runs").status, 200);  // and the server answers the next client
  // the bound is exact: a request of kMaxHeadBytes bytes is answered, one of a byte more is not
  const auto sized = [](size_t bytes) {
    std::string request = "GET /api/runs HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n";
    while (bytes - request.size() - 2 > 2000) request += "X-Pad: " + std::string(991, 'p') + "\r\n";  // 1,000 bytes a line
    request += "X-End: " + std::string(bytes - request.size() - 2 - 9, 'p') + "\r\n\r\n";
    EXPECT_EQ(request.size(), bytes);
    return request;
  };
  EXPECT_EQ(http(port, sized(serve::kMaxHeadBytes)).status, 200);
  EXPECT_EQ(http(port, sized(serve::kMaxHeadBytes + 1)).status, 431);
}

TEST_F(ServeHttp, ARequestTrickledOverTheTimeoutIsCutOff) {
  ServeChild serve({root_, "--port", "0", "--threads", "1"}, path("serve"));
  const int port = serve.port();
  ASSERT_GT(port, 0) << base::read_file(serve.err);
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(uint16_t(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  // a header line every 0.5 s: each read well within the 5 s timeout, the request never complete by then
  const std::string head = "GET /api/runs HTTP/1.1\r\nHost: localhost\r\n";
  ASSERT_EQ(send(fd, head.data(), head.size(), MSG_NOSIGNAL), ssize_t(head.size()));
  for (int i = 0; i < 4 * serve::kTimeoutSeconds; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    pollfd answered = {fd, POLLIN, 0};
    if (poll(&answered, 1, 0) > 0) break;  // the server has answered (or closed)
    const std::string line = "X-" + std::to_string(i) + ": b\r\n";
    if (send(fd, line.data(), line.size(), MSG_NOSIGNAL) != ssize_t(line.size())) break;  // cut off
  }
  send(fd, "\r\n", 2, MSG_NOSIGNAL);
  std::string bytes;
  char buffer[4096];
  timeval timeout = {10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  for (ssize_t n; (n = recv(fd, buffer, sizeof buffer, 0)) > 0;) bytes.append(buffer, size_t(n));
  close(fd);
  EXPECT_EQ(bytes.rfind("HTTP/1.1 408 ", 0), 0u) << bytes;
  EXPECT_NE(bytes.find("{\"error\":\"the request did not arrive within "), std::string::npos) << bytes;
}

// Audit hC: requests sent back to back on one connection (pipelining) got one answer: the library
// read the next request's bytes ahead into a buffer it then dropped, and the connection hung.  Each
// gets its answer, in order.
TEST_F(ServeHttp, PipelinedRequestsAreEachAnswered) {
  ServeChild serve({root_, "--port", "0", "--threads", "1"}, path("serve"));
  const int port = serve.port();
  ASSERT_GT(port, 0) << base::read_file(serve.err);
  const std::string one = "GET /api/runs HTTP/1.1\r\nHost: localhost\r\n\r\n";
  const std::string all = converse(port, one + one + "GET /nowhere HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
  const size_t first = all.find("HTTP/1.1 200 OK"), second = all.find("HTTP/1.1 200 OK", first + 1), third = all.find("HTTP/1.1 404 ");
  EXPECT_EQ(first, 0u) << all;
  EXPECT_NE(second, std::string::npos) << all;
  EXPECT_NE(third, std::string::npos) << all;
  EXPECT_LT(second, third) << all;
  // a request saying "Connection: close" is its connection's last: a request after it is not answered
  const auto started = std::chrono::steady_clock::now();
  const std::string closing = converse(port, "GET /api/runs HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n" + one);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  EXPECT_EQ(closing.rfind("HTTP/1.1 200 OK", 0), 0u) << closing;
  EXPECT_EQ(closing.find("HTTP/1.1 ", 1), std::string::npos) << "answered after Connection: close: " << closing;
  EXPECT_LT(seconds, 0.5 * serve::kTimeoutSeconds) << "the connection was kept open";
}

// A request the server refuses before reading it whole (a request line it cannot parse, a method it
// does not answer, whose body it does not read) left the rest of its bytes on the connection, read as
// further requests: "FOO / HTTP/1.1" with two header lines got four 400s, and a POST's body (or a GET's,
// which the library never reads) was answered request by request.  Each such request gets one answer
// and ends its connection; a GET or HEAD with a body is refused (serve reads none).
TEST_F(ServeHttp, ARefusedRequestGetsOneAnswerAndEndsTheConnection) {
  ServeChild serve({root_, "--port", "0", "--threads", "1"}, path("serve"));
  const int port = serve.port();
  ASSERT_GT(port, 0) << base::read_file(serve.err);
  const std::string next = "GET /api/runs HTTP/1.1\r\nHost: localhost\r\n\r\n";
  const std::pair<std::string, int> requests[] = {
      {"FOO / HTTP/1.1\r\nHost: localhost\r\nX-A: b\r\n\r\n", 400},
      {"GET / HTTP/9.9\r\nHost: localhost\r\nX-A: b\r\n\r\n", 400},
      {"POST /api/runs HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100000\r\n\r\n" + next + next, 405},
      {"DELETE /api/runs HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n" + next, 405},
      {"PUT /api/runs HTTP/1.1\r\nHost: localhost\r\n\r\n", 405},  // nothing after it: the connection still ends at once
      {"GET /api/runs HTTP/1.1\r\nHost: localhost\r\nContent-Length: " + std::to_string(next.size()) + "\r\n\r\n" + next, 400},
      {"HEAD /api/runs HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n" + next, 400},
      {"GET /" + std::string(9000, 'a') + " HTTP/1.1\r\nHost: localhost\r\n\r\n" + next, 414},
  };
  for (const auto& [request, status] : requests) {
    const auto started = std::chrono::steady_clock::now();
    const std::string all = converse(port, request);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    EXPECT_EQ(all.rfind("HTTP/1.1 " + std::to_string(status) + " ", 0), 0u) << request.substr(0, 40) << " → " << all.substr(0, 200);
    EXPECT_EQ(all.find("HTTP/1.1 ", 1), std::string::npos) << request.substr(0, 40) << ": more than one answer: " << all;
    EXPECT_NE(all.find("Connection: close\r\n"), std::string::npos) << all.substr(0, 300);
    EXPECT_LT(seconds, 0.5 * serve::kTimeoutSeconds) << request.substr(0, 40) << ": the connection was kept open";
  }
  const HttpReply with_body = http(port, "GET /api/runs HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\n\r\nabc");
  EXPECT_EQ(with_body.body, "{\"error\":\"a GET or HEAD request with a body (serve reads none)\"}");
  // a GET saying its body is empty is an ordinary GET, and the connection serves the next request
  const std::string two = converse(port, "GET /api/runs HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n" + next.substr(0, next.size() - 2) +
                                             "Connection: close\r\n\r\n");
  EXPECT_EQ(two.rfind("HTTP/1.1 200 ", 0), 0u) << two;
  EXPECT_NE(two.find("HTTP/1.1 200 ", 1), std::string::npos) << two;
}

// Connections that sent nothing each held a worker thread for kTimeoutSeconds while others waited in
// the queue: with --threads 1, 12 idle connections (a browser's spare ones, or a careless client's)
// kept a GET waiting a minute.  A connection that has sent nothing now gives its thread up after
// kIdleGraceMs when other connections are waiting (and keeps it up to kTimeoutSeconds otherwise).
TEST_F(ServeHttp, IdleConnectionsGiveWayToWaitingOnes) {
  ServeChild serve({root_, "--port", "0", "--threads", "1"}, path("serve"));
  const int port = serve.port();
  ASSERT_GT(port, 0) << base::read_file(serve.err);
  std::vector<int> idle;
  for (int i = 0; i < 12; ++i) idle.push_back(send_to_server(port, ""));
  for (const int fd : idle) ASSERT_GE(fd, 0);
  const auto started = std::chrono::steady_clock::now();
  const HttpReply reply = get(port, "/api/runs");
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  EXPECT_EQ(reply.status, 200) << "after " << seconds << " s";
  EXPECT_LT(seconds, serve::kTimeoutSeconds);
  for (const int fd : idle) close(fd);
  // alone, an idle keep-alive connection is still served after a pause well past the grace
  const int fd = send_to_server(port, "GET /api/runs HTTP/1.1\r\nHost: localhost\r\n\r\n");
  ASSERT_GE(fd, 0);
  EXPECT_EQ(read_reply(fd).status, 200);  // the whole reply, however many pieces it comes in
  std::this_thread::sleep_for(std::chrono::milliseconds(10 * serve::kIdleGraceMs));
  const std::string again = "GET /api/runs HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
  ASSERT_EQ(send(fd, again.data(), again.size(), MSG_NOSIGNAL), ssize_t(again.size()));
  EXPECT_EQ(read_reply(fd).status, 200);
  close(fd);
  // alone, a connection that waits past the grace before its first request is served too
  const int late = send_to_server(port, "");
  ASSERT_GE(late, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(10 * serve::kIdleGraceMs));
  ASSERT_EQ(send(late, again.data(), again.size(), MSG_NOSIGNAL), ssize_t(again.size()));
  EXPECT_EQ(read_reply(late).status, 200) << "a lone connection was given up after the grace";
  close(late);
  // the grace is for a connection's first request: one idle between its requests keeps its thread
  // while another connection waits for it (README: "a keep-alive connection idle between its requests still may")
  const int kept = send_to_server(port, "GET /api/runs HTTP/1.1\r\nHost: localhost\r\n\r\n");
  ASSERT_GE(kept, 0);
  EXPECT_EQ(read_reply(kept).status, 200);
  const int queued = send_to_server(port, again);
  ASSERT_GE(queued, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(10 * serve::kIdleGraceMs));
  send(kept, again.data(), again.size(), MSG_NOSIGNAL);
  EXPECT_EQ(read_reply(kept).status, 200) << "a keep-alive connection was given up between its requests";
  close(kept);
  EXPECT_EQ(read_reply(queued).status, 200);
  close(queued);
}

// A SIGTERM right after the start-up line was lost when the listening loop had not started yet
// (cpp-httplib's stop() does nothing before it), and serve never ended.
TEST_F(ServeHttp, ASignalRightAfterStartUpStopsIt) {
  for (int attempt = 0; attempt < 20; ++attempt) {
    ServeChild serve({root_, "--port", "0"}, path("serve"));
    ASSERT_GT(serve.port(), 0) << base::read_file(serve.err);
    kill(serve.pid, SIGTERM);
    int status = -1;
    for (int i = 0; i < 500 && (status = serve.ended()) < 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (status < 0) kill(serve.pid, SIGKILL);
    ASSERT_EQ(status, 0) << "attempt " << attempt << ": still running 5 s after SIGTERM";
  }
}

// Audit D, finding 6: `--host ::1` printed http://::1:PORT/, loopback names were warned about as
// "beyond loopback", and an address of no interface here was blamed on --port.
TEST_F(ServeHttp, TheStartUpLinesNameTheHostRightly) {
  for (const std::string host : {"::1", "localhost", "127.0.0.2"}) {
    ServeChild serve({root_, "--port", "0", "--host", host}, path("serve"));
    ASSERT_GT(serve.port(), 0) << host << ": " << base::read_file(serve.err);
    EXPECT_EQ(serve.stop(), 0);
    EXPECT_EQ(base::read_file(serve.err), "") << host;  // no WARNING
    if (host == "::1") {
      EXPECT_NE(base::read_file(serve.out).find(" at http://[::1]:"), std::string::npos) << base::read_file(serve.out);
    }
  }
  for (const std::string host : {"0.0.0.0", "::"}) {
    ServeChild wide({root_, "--port", "0", "--host", host}, path("wide" + std::to_string(host.size())));
    ASSERT_GT(wide.port(), 0) << host << ": " << base::read_file(wide.err);
    EXPECT_NE(base::read_file(wide.err).find("WARNING: --host " + host + ": listening beyond this machine's loopback"), std::string::npos)
        << host << ": " << base::read_file(wide.err);
  }
  ServeChild elsewhere({root_, "--port", "18999", "--host", "192.0.2.1"}, path("elsewhere"));  // TEST-NET-1: no interface here
  EXPECT_EQ(elsewhere.port(), 0);
  EXPECT_EQ(base::read_file(elsewhere.err), "nnfmri: error: flag --host '192.0.2.1': expected an address of this machine (none it names can be listened on)\n");
}

// Mutation audit hS: serve listening on every address instead of --host's passed every test (all
// served 127.0.0.1 and connected there).  It listens on --host's address alone, with --port P and with
// --port 0.
TEST_F(ServeHttp, ItListensOnTheHostAddressAlone) {
  const int probe = socket(AF_INET, SOCK_STREAM, 0);  // a port free a moment ago, for --port P
  sockaddr_in address{};
  address.sin_family = AF_INET;
  inet_pton(AF_INET, "127.0.0.2", &address.sin_addr);
  socklen_t length = sizeof address;
  ASSERT_EQ(bind(probe, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(getsockname(probe, reinterpret_cast<sockaddr*>(&address), &length), 0);
  close(probe);
  for (const std::string& given : {std::to_string(ntohs(address.sin_port)), std::string("0")}) {
    ServeChild serve({root_, "--port", given, "--host", "127.0.0.2"}, path("serve" + given));
    const int port = serve.port();
    ASSERT_GT(port, 0) << base::read_file(serve.err);
    const std::string request = "GET /api/runs HTTP/1.1\r\nHost: 127.0.0.2\r\nConnection: close\r\n\r\n";
    const int elsewhere = send_to_server(port, request, "127.0.0.1");
    EXPECT_LT(elsewhere, 0) << "--port " << given << ": a connection to 127.0.0.1 was taken";
    if (elsewhere >= 0) close(elsewhere);
    const int fd = send_to_server(port, request, "127.0.0.2");
    ASSERT_GE(fd, 0);
    EXPECT_EQ(read_reply(fd).status, 200);
    close(fd);
  }
}

// Mutation audit hS: dropping the --host value from the answered Host names passed (every test's
// --host was an IP address or localhost, answered anyway).  This machine's name as --host is answered
// under that name, and another name is not.
TEST_F(ServeHttp, TheHostValueIsAnAnsweredName) {
  char name[256] = "";
  gethostname(name, sizeof name - 1);
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (std::string(name) == "localhost" || getaddrinfo(name, nullptr, &hints, &found) != 0)
    GTEST_SKIP() << "this machine's name '" << name << "' is localhost or has no IPv4 address";
  char ip[INET_ADDRSTRLEN] = "";
  inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(found->ai_addr)->sin_addr, ip, sizeof ip);
  freeaddrinfo(found);
  ServeChild serve({root_, "--port", "0", "--host", name}, path("serve"));
  const int port = serve.port();
  if (port == 0) GTEST_SKIP() << "cannot serve on " << name << ": " << base::read_file(serve.err);
  const auto with_host = [&](const std::string& host) {
    const int fd = send_to_server(port, "GET /api/runs HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n", ip);
    if (fd < 0) return 0;
    const int status = read_reply(fd).status;
    close(fd);
    return status;
  };
  EXPECT_EQ(with_host(std::string(name) + ":" + std::to_string(port)), 200) << name << " at " << ip;
  EXPECT_EQ(with_host(name), 200) << name;
  EXPECT_EQ(with_host(std::string("x") + name), 403) << name;
}

// Mutation audit hS: answers compressed on request (Accept-Encoding kept) passed every test; README:
// "Responses are never compressed" (Debian's library compresses with brotli at its slowest setting).
TEST_F(ServeHttp, AnswersAreNeverCompressed) {
  synthetic::write_run(root_ + "/a");
  write_manifest(root_ + "/a", 2, {"config.json"});
  ServeChild serve({root_, "--port", "0", "--threads", "2"}, path("serve"));
  const int port = serve.port();
  ASSERT_GT(port, 0) << base::read_file(serve.err);
  for (const std::string target : {"/", "/api/runs", "/api/runs/a/data", "/api/runs/a/files/config.json"}) {
    const HttpReply plain = get(port, target);
    for (const std::string encodings : {"gzip", "br", "gzip, deflate, br"}) {
      const HttpReply asked = get(port, target, "Accept-Encoding: " + encodings + "\r\n");
      EXPECT_EQ(asked.status, 200) << target;
      EXPECT_FALSE(asked.has("Content-Encoding:")) << target << ", " << encodings << ": " << asked.head;
      EXPECT_TRUE(asked.body == plain.body) << target << ", " << encodings;
    }
  }
}

// Mutation audit hS: the server's request path taken undecoded and with its query (req.target)
// passed every ServeHttp test; the page is opened as /?run=NAME, and the rules apply after the
// server's one decoding (README).
TEST_F(ServeHttp, ThePathIsDecodedOnceAndTheQueryIsNotPartOfIt) {
  synthetic::write_run(root_ + "/a");
  write_manifest(root_ + "/a", 2, {"config.json"});
  ServeChild serve({root_, "--port", "0", "--threads", "2"}, path("serve"));
  const int port = serve.port();
  ASSERT_GT(port, 0) << base::read_file(serve.err);
  const HttpReply page = get(port, "/");
  ASSERT_EQ(page.status, 200);
  const HttpReply opened = get(port, "/?run=a&compare=a");
  EXPECT_EQ(opened.status, 200) << opened.body.substr(0, 200);
  EXPECT_TRUE(opened.body == page.body);
  const HttpReply file = get(port, "/api/runs/%61/files/config%2Ejson");
  EXPECT_EQ(file.status, 200) << file.body;
  EXPECT_TRUE(file.body == base::read_file(root_ + "/a/config.json"));
  EXPECT_EQ(get(port, "/api/runs/a/files/%252e%252e/run.json").status, 400);  // decoded once: "%2e%2e", refused
}

// Mutation audit hS: the bound of 100 requests per connection (and the "Connection: close" of the
// last) and the 64 KiB budget being per request, not per connection, ran in no test.
TEST_F(ServeHttp, AConnectionServesAHundredRequestsTheLastWithConnectionClose) {
  ServeChild serve({root_, "--port", "0", "--threads", "1"}, path("serve"));
  const int port = serve.port();
  ASSERT_GT(port, 0) << base::read_file(serve.err);
  const int fd = send_to_server(port, "");
  ASSERT_GE(fd, 0);
  // 1 KiB of headers each: the hundred together are well over the 64 KiB one request may have
  const std::string request = "GET /api/runs HTTP/1.1\r\nHost: localhost\r\nX-Pad: " + std::string(1000, 'p') + "\r\n\r\n";
  for (int i = 1; i <= serve::kKeepAliveRequests; ++i) {
    ASSERT_EQ(send(fd, request.data(), request.size(), MSG_NOSIGNAL), ssize_t(request.size())) << "request " << i;
    const HttpReply reply = read_reply(fd);
    ASSERT_EQ(reply.status, 200) << "request " << i << ": " << reply.head << reply.body;
    EXPECT_EQ(reply.has("Connection: close\r\n"), i == serve::kKeepAliveRequests) << "request " << i << ": " << reply.head;
  }
  send(fd, request.data(), request.size(), MSG_NOSIGNAL);  // the connection has ended: no answer
  EXPECT_EQ(read_reply(fd).status, 0);
  close(fd);
}

// Mutation audit hS: no test held a connection that sends nothing past kTimeoutSeconds, nor stopped
// the server while one was open, nor stopped it with SIGINT (Ctrl-C).  Alone, such a connection is
// closed after kTimeoutSeconds without an answer; a stopping server does not wait for it; SIGINT stops
// it with exit 0 as SIGTERM does.
TEST_F(ServeHttp, AnIdleConnectionIsClosedAndDoesNotDelayCtrlC) {
  ServeChild serve({root_, "--port", "0", "--threads", "1"}, path("serve"));
  const int port = serve.port();
  ASSERT_GT(port, 0) << base::read_file(serve.err);
  const int idle = send_to_server(port, "");
  ASSERT_GE(idle, 0);
  auto started = std::chrono::steady_clock::now();
  char byte;
  EXPECT_EQ(recv(idle, &byte, 1, 0), 0) << "not closed within 10 s";
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  EXPECT_LT(seconds, serve::kTimeoutSeconds + 3);
  close(idle);
  const int held = send_to_server(port, "");
  ASSERT_GE(held, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(2 * serve::kIdleGraceMs));  // a worker thread has taken it
  started = std::chrono::steady_clock::now();
  kill(serve.pid, SIGINT);
  int status = -1;
  for (int i = 0; i < 1000 && (status = serve.ended()) < 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  const double stopping = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  EXPECT_EQ(status, 0);
  EXPECT_LT(stopping, 0.5 * serve::kTimeoutSeconds) << "the stop waited for the idle connection";
  close(held);
}

}  // namespace
