// nnfmri — train a CNN and image it.  `nnfmri <command> --help` lists each command's flags.
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "apps/commands.h"
#include "base/error.h"
#include "base/memory.h"
#include "dist/world.h"

// The libraries' settings nnfmri owns (app::library_settings): set, then nnfmri re-executes itself
// once so that OpenBLAS and libgomp load with them.
static void choose_library_settings(char** argv) {
  if (std::getenv("NNFMRI_ENV_CHOSEN")) return;
  __builtin_cpu_init();
  const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
  const auto set = app::library_settings(std::getenv("OPENBLAS_CORETYPE"), std::getenv("NNFMRI_BLAS_CORETYPE"),
                                         std::getenv("OMP_WAIT_POLICY"), avx512);
  if (set.empty()) return;
  for (const auto& [name, value] : set) setenv(name.c_str(), value.c_str(), 1);
  setenv("NNFMRI_ENV_CHOSEN", "1", 1);
  execv("/proc/self/exe", argv);  // returns only on failure: then carry on with the libraries as loaded
}

// A failed command: one line "nnfmri: error: …" and its exit code; in an MPI job of several ranks the
// line names the rank and the command, and every rank ends (dist::fail).  A message that already
// begins with the command ("nnfmri train: unknown flag …", the flag parser's) names it once.
static int failure(const std::string& cmd, const std::string& what, int code) {
  std::string where = dist::rank_prefix();
  if (where.empty()) return dist::fail(what, code);
  const std::string named = "nnfmri " + cmd + ": ";
  return dist::fail(where + "in " + named + (what.rfind(named, 0) == 0 ? what.substr(named.size()) : what), code);
}

static int run_command(int argc, char** argv) {
  if (argc < 2) {  // the usage on stderr: under mpirun rank 0's copy alone, as on stdout
    if (dist::world().rank() == 0) std::fputs(app::commands_usage().c_str(), stderr);
    return 2;
  }
  std::string cmd = argv[1];
  try {
    std::string names;  // every command's name, for the error lines
    auto find_command = [&names](const std::string& name) {
      const app::CommandDef* found = nullptr;
      names.clear();
      for (const app::CommandDef& c : app::command_table()) {
        if (c.name == name) found = &c;
        names += (names.empty() ? "" : ", ") + c.name;
      }
      return found;
    };
    // Exit 0 at once, under mpirun only when every rank does (app::agree_to_end_early).
    if (cmd == "--help" || cmd == "-h") {
      if (argc > 2) {  // `nnfmri --help CMD` is `nnfmri CMD --help`; anything else is refused, not ignored
        const bool named = find_command(argv[2]) != nullptr;
        if (named && argc == 3) {
          static char help[] = "--help";
          char* args[] = {argv[0], argv[2], help, nullptr};
          return run_command(3, args);
        }
        if (named)
          return failure(cmd, cmd + " " + argv[2] + " takes no other argument, got '" + argv[3] + "'", 2);
        return failure(cmd, cmd + " takes a command name or nothing, got '" + argv[2] + "' (expected one of " + names + ")", 2);
      }
      app::agree_to_end_early("nnfmri " + cmd);
      std::fputs(app::commands_usage().c_str(), stdout);
      return 0;
    }
    if (cmd == "--version") {
      if (argc > 2) return failure(cmd, std::string("--version takes no argument, got '") + argv[2] + "'", 2);
      app::agree_to_end_early("nnfmri --version");
      std::printf("nnfmri %s\n", app::kVersion);
      return 0;
    }
    const app::CommandDef* command = find_command(cmd);
    if (!command) return failure(cmd, "unknown command '" + cmd + "' (expected one of " + names + ")", 2);
    // Under mpirun only the commands that share their work between ranks run (each rank of another
    // command would write the same files).
    const int ranks = dist::world().ranks();
    if (ranks > 1 && cmd != "train" && cmd != "analyze")
      return failure(cmd, "nnfmri " + cmd + " runs in one process, not on " + std::to_string(ranks) +
                              " MPI ranks (under mpirun: train, analyze)", 2);
    return command->run(argc - 2, argv + 2);
  } catch (const dist::JointFailure& e) {  // every rank is here: no abort, the line once
    if (e.print) {
      std::string where = dist::rank_prefix();
      if (!where.empty()) where += "in nnfmri " + cmd + ": ";
      std::fprintf(stderr, "nnfmri: error: %s%s\n", where.c_str(), e.what());
      std::fflush(stderr);
    }
    return 2;
  } catch (const base::Error& e) {
    return failure(cmd, e.what(), 2);
  } catch (const std::bad_alloc&) {
    return failure(cmd, "out of memory", 3);
  } catch (const std::exception& e) {
    return failure(cmd, e.what(), 3);
  }
}

int main(int argc, char** argv) {
  // A write past the file-size limit (ulimit -f) fails with EFBIG, which the writer reports as one
  // error line naming the file, instead of SIGXFSZ ending nnfmri with no word and a temporary left.
  std::signal(SIGXFSZ, SIG_IGN);
  // A reader of stdout that went away (`| head`, a `tee` ended by Ctrl-C) does not end a run by
  // SIGPIPE: the lines are dropped and the command finishes its work.
  std::signal(SIGPIPE, SIG_IGN);
  base::fix_malloc_thresholds();  // before the first allocation of a buffer (base/memory.h)
  choose_library_settings(argv);
  dist::start(&argc, &argv);  // joins the MPI job only when started by mpirun (dist/world.h)
  // Rank 0 alone speaks on stdout (--help, --version, the commands' lines); the other ranks' errors
  // still go to stderr.
  if (dist::world().rank() != 0) {
    std::FILE* quiet = std::freopen("/dev/null", "w", stdout);
    (void)quiet;
  }
  const int code = run_command(argc, argv);
  dist::finish();
  return code;
}
