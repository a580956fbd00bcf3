// tests/fuzz/fuzz_serve.cpp — serve::RunIndex::handle (what `nnfmri serve` answers, README "nnfmri
// serve") on hostile request paths.
// Input: the request path as the server passes it (percent-decoded once, query string removed).
// The root, made once per process, holds a run `r1` (tests/report/synthetic_run.h) whose run.json
// commits its analysed epochs and config.json, a file of r1 run.json does not list, a symbolic link
// in r1 to a file outside the root, a run that is a link to a folder outside the root, and that
// outside folder.  The rule (serve/run_index.h's promise): nothing throws; every answer has one of the
// documented statuses; an error's body is {"error": one line}; and no answer ever holds a byte of a
// file outside the root or of a file run.json does not list (each such file holds a marker).
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

#include "run/json.h"
#include "serve/run_index.h"
#include "tests/fuzz/fuzz_util.h"
#include "tests/report/synthetic_run.h"

namespace {

const char kOutside[] = "MARKER-OUTSIDE-THE-ROOT", kUnlisted[] = "MARKER-NOT-IN-RUN-JSON";

const serve::RunIndex& index() {
  static const serve::RunIndex* made = [] {
    namespace fs = std::filesystem;
    const std::string root = fuzz::scratch() + "/root", outside = fuzz::scratch() + "/outside";
    fuzz::write("outside/secret.json", std::string("{\"x\": \"") + kOutside + "\"}");
    fuzz::write("outside/run.json", std::string("{\"x\": \"") + kOutside + "\"}");
    synthetic::write_run(root + "/r1");
    const run::Json manifest = {{"format", "nnfmri run"}, {"version", 1}, {"status", "running"}, {"epochs", 3},
                                {"completed_epoch", 2}, {"state", nullptr}, {"threads", 1}, {"arguments", run::Json::array()},
                                {"files", {"analysis/epoch_001/grid.json", "analysis/epoch_001/tract.json",
                                           "analysis/epoch_001/zeta.json", "analysis/epoch_002/grid.json",
                                           "analysis/epoch_002/tract.json", "analysis/epoch_002/zeta.json", "config.json",
                                           "metrics.jsonl", "link.json"}}};
    run::write_json(root + "/r1/run.json", manifest, 2);
    fuzz::write("root/r1/unlisted.json", std::string("{\"x\": \"") + kUnlisted + "\"}");
    std::error_code ec;
    fs::create_symlink(outside + "/secret.json", root + "/r1/link.json", ec);
    fs::create_directory_symlink(outside, root + "/out", ec);
    return new serve::RunIndex(root);
  }();
  return *made;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path(reinterpret_cast<const char*>(data), size);
  const serve::Reply reply = index().handle(path);  // handle() promises to throw nothing
  for (const char* marker : {kOutside, kUnlisted})  // (an error line may quote a path that holds one)
    if (path.find(marker) == std::string::npos && reply.body.find(marker) != std::string::npos)
      fuzz::finding("GET " + path + " answered with bytes of a file it must not serve (" + marker + ")");
  const int s = reply.status;
  if (s != 200 && s != 400 && s != 404 && s != 413 && s != 422 && s != 503)
    fuzz::finding("GET " + path + " answered status " + std::to_string(s));
  if (s != 200) {
    const run::Json body = run::parse_json(reply.body, "the error body");
    if (!body.is_object() || body.size() != 1 || !body.contains("error") || !body["error"].is_string() ||
        body["error"].get<std::string>().find('\n') != std::string::npos)
      fuzz::finding("GET " + path + " answered an error body that is not {\"error\": one line}: " + reply.body);
  }
  return 0;
}
