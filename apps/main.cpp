// nnfmri — train a CNN and image it.  `nnfmri <command> --help` lists each command's flags.
#include <sys/resource.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "apps/commands.h"
#include "base/error.h"
#include "base/memory.h"
#include "dist/world.h"

// Before the libraries start.  The executable's .preinit_array runs before the shared libraries'
// constructors: OpenBLAS and libgomp read their settings (app::library_settings) from the environment
// as they load, and OpenBLAS maps a 128 MiB buffer for each thread it starts with (one per core unless
// OPENBLAS_NUM_THREADS or OMP_NUM_THREADS says fewer) and retries a mapping that fails forever: under
// `ulimit -v 300000` nnfmri hung there, before main, on a 2-core machine; on 64 cores it would under any
// limit below 8 GiB.  So, here:
//  - under an address-space limit that leaves less room than one thread needs
//    (app::kAddressSpacePerThread): one error line, exit 2;
//  - when the environment lacks a setting nnfmri owns, nnfmri starts itself again with them, once
//    (NNFMRI_ENV_CHOSEN marks the second start), so that the libraries load with them.
// The C library has not finished starting: no stdio and no getenv or setenv (envp is read, and execve
// given a new environment); malloc works.
static void append(char* line, size_t size, const char* text) {
  const size_t used = std::strlen(line);
  std::strncat(line, text, size - used - 1);
}

static void append(char* line, size_t size, long long number) {
  char digits[24];
  int n = 0;
  do digits[n++] = char('0' + number % 10); while ((number /= 10) > 0 && n < 23);
  char text[24];
  for (int i = 0; i < n; ++i) text[i] = digits[n - 1 - i];
  text[n] = 0;
  append(line, size, text);
}

// The value of `name` in envp ("NAME=value"), null when unset.
static const char* find_env(char** envp, const char* name) {
  const size_t n = std::strlen(name);
  for (; *envp; ++envp)
    if (std::strncmp(*envp, name, n) == 0 && (*envp)[n] == '=') return *envp + n + 1;
  return nullptr;
}

static void before_the_libraries_start(int, char** argv, char** envp) {
  const long long left = base::address_space_left();
  if (left >= 0 && left < app::kAddressSpacePerThread) {
    struct rlimit limit {};
    getrlimit(RLIMIT_AS, &limit);
    char line[400] = "";
    append(line, sizeof line, "nnfmri: error: the address-space limit (ulimit -v ");
    append(line, sizeof line, (long long)(limit.rlim_cur / 1024));
    append(line, sizeof line, ") leaves ");
    append(line, sizeof line, left >> 20);
    append(line, sizeof line, " MiB beside what nnfmri maps as it loads, expected at least ");
    append(line, sizeof line, app::kAddressSpacePerThread >> 20);
    append(line, sizeof line, " MiB: one thread's room (OpenBLAS takes up to 256 MiB per thread)\n");
    const ssize_t written = write(STDERR_FILENO, line, std::strlen(line));
    (void)written;
    _exit(2);
  }
  if (find_env(envp, "NNFMRI_ENV_CHOSEN")) return;
  __builtin_cpu_init();
  app::LibraryEnvironment found;
  found.openblas_coretype = find_env(envp, "OPENBLAS_CORETYPE");
  found.nnfmri_blas_coretype = find_env(envp, "NNFMRI_BLAS_CORETYPE");
  found.omp_wait_policy = find_env(envp, "OMP_WAIT_POLICY");
  found.openblas_num_threads = find_env(envp, "OPENBLAS_NUM_THREADS");
  found.cpu_has_avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                         __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
  found.address_space_limited = left >= 0;
  const auto set = app::library_settings(found);
  if (set.empty()) return;
  // The new environment: envp without the variables set, then NAME=value for each, then the mark.
  std::vector<std::string> added;
  for (const auto& [name, value] : set) added.push_back(name + "=" + value);
  added.push_back("NNFMRI_ENV_CHOSEN=1");
  std::vector<char*> env;
  for (char** e = envp; *e; ++e) {
    bool replaced = false;
    for (const std::string& a : added) replaced = replaced || std::strncmp(*e, a.c_str(), a.find('=') + 1) == 0;
    if (!replaced) env.push_back(*e);
  }
  for (std::string& a : added) env.push_back(a.data());
  env.push_back(nullptr);
  execve("/proc/self/exe", argv, env.data());  // returns only on failure: then carry on as loaded
}
__attribute__((section(".preinit_array"), used)) static void (*const start_before_the_libraries)(int, char**, char**) =
    before_the_libraries_start;

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
  base::share_one_malloc_arena_under_an_address_limit();  // before the threads start (base/memory.h)
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
