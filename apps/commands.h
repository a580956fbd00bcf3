// apps/commands.h — the subcommands of `nnfmri`, and what they share.
//
// apps/ only parses flags and wires nn/, datasets/ and imaging/ together.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "apps/flags.h"
#include "apps/training_run.h"
#include "datasets/dataset.h"
#include "imaging/analysis.h"
#include "nn/network.h"

namespace app {

int cmd_train(int argc, char** argv);
int cmd_eval(int argc, char** argv);
int cmd_info(int argc, char** argv);
int cmd_export(int argc, char** argv);
int cmd_import(int argc, char** argv);
int cmd_analyze(int argc, char** argv);
int cmd_report(int argc, char** argv);
int cmd_compare(int argc, char** argv);
int cmd_corrupt(int argc, char** argv);
int cmd_profile(int argc, char** argv);
int cmd_monitor(int argc, char** argv);
int cmd_serve(int argc, char** argv);

extern const char* const kVersion;

// The most threads nnfmri uses: OpenBLAS is built for at most 64 (Debian's MAX_THREADS=64: its
// table of per-thread buffers has that many slots).
constexpr int kMaxThreads = 64;
// Address space a thread needs.  OpenBLAS 0.3.21 (Debian 12) maps a 128 MiB buffer (BUFFER_SIZE of its
// DYNAMIC_ARCH build) for each thread of its pool when its thread count is set, and another whenever
// an SGEMM is called inside one of nnfmri's parallel loops (the convolutions' im2col products) while
// the free ones are taken; when a mapping fails it retries forever (fixed upstream in 0.3.30, PR 5303).
// So a thread's share is two buffers (256 MiB: its pool buffer and the one its own calls take) and its
// stack (8 MiB by default), 320 MiB with its share of the work.  Under an address-space limit the
// thread count is capped so that this much per thread fits in what the limit leaves (and the threads
// share one malloc arena: base::share_one_malloc_arena_under_an_address_limit).  At 256 MiB, with an
// arena per thread, `--threads 256` under `ulimit -v 3000000` ran 10 threads and, about once in a few
// hundred runs, spun in OpenBLAS's mapping: 17 buffers and 9 arenas filled the 3 GB (2026-12-06).
// apps/main.cpp also refuses to start under a limit that leaves less than this for one thread.
constexpr long long kAddressSpacePerThread = 320LL << 20;

// The settings the libraries read once, when they load, from the environment: before they load
// (apps/main.cpp, the executable's .preinit_array) nnfmri sets what this returns and starts itself
// again, once (NNFMRI_ENV_CHOSEN marks the second start):
//  - OPENBLAS_CORETYPE, OpenBLAS's kernels.  On AVX-512 machines its AVX2 "Haswell" SGEMM is about 1.5×
//    slower than its AVX-512 "SkylakeX" one, OpenBLAS 0.3.21 (Debian 12) does not recognise recent
//    AVX-512 CPUs such as AMD Zen 4, and machine images may carry OPENBLAS_CORETYPE=Haswell.  So nnfmri
//    owns the choice: NNFMRI_BLAS_CORETYPE if set and not empty, else SkylakeX when the CPU has the
//    AVX-512 subsets that kernel needs (F, BW, DQ, VL), else whatever the environment says.
//  - OMP_WAIT_POLICY, libgomp's: passive unless the environment sets one.  A thread that reaches a join
//    then sleeps instead of spinning; where other processes use the cores too, spinning threads take
//    the time slices the working thread needs (README "Threads on a busy machine").  Results do not
//    depend on it.
//  - OPENBLAS_NUM_THREADS=1 under an address-space limit (RLIMIT_AS) alone: OpenBLAS maps a 128 MiB
//    buffer for each thread it starts with (one per core) and retries a failed mapping forever, so it
//    starts with one thread's; app::set_threads then sets the count the limit leaves room for.
// Each pair (name, value) is a variable to set; empty: start as is.
struct LibraryEnvironment {
  const char* openblas_coretype = nullptr;  // the variables as found; null: unset
  const char* nnfmri_blas_coretype = nullptr;
  const char* omp_wait_policy = nullptr;
  const char* openblas_num_threads = nullptr;
  bool cpu_has_avx512 = false;
  bool address_space_limited = false;
};
std::vector<std::pair<std::string, std::string>> library_settings(const LibraryEnvironment& found);
// --threads N, else `fallback` when > 0, else all cores; capped at kMaxThreads and at what an
// address-space limit (RLIMIT_AS) leaves room for, with a note on stderr when a given count is cut;
// set for OpenMP and OpenBLAS alike (one owner of threads).  Returns the count in force.
int set_threads(const Flags& flags, int fallback = 0);
// Under mpirun, rank 0's warning on stderr when the ranks on this machine × `threads` exceed its
// cores ("nnfmri COMMAND: warning: … oversubscribed: slower, same results"); nothing otherwise.
void warn_if_oversubscribed(const std::string& command, int threads);
// The refusal of a directory whose lock (base::DirectoryLock) another process holds, for `flag`
// (--out, --resume) and `dir`: train, analyze and monitor each lock the directory they write, and the
// lock does not say which of them holds it, so the line names none in particular.
std::string directory_in_use(const std::string& flag, const std::string& dir);
// The dataset named by --data, limited by --limit-train / --limit-test where the command takes them;
// with need_test false its test half is neither read nor required (profile fits on the training half),
// with need_train false its training half (eval and analyze read the test half alone:
// datasets::LoadOptions::test_only).  net_channels 3: an images:DIR whose images are all grayscale is
// read as RGB (replicated), as it is beside colour images (the half read may be all grayscale).
datasets::DataSplit load_data(const Flags& flags, bool need_train, const std::string& data_flag = "--data",
                              bool need_test = true, int net_channels = 0);
// The test half of data_flag's spec, batch by batch (datasets::TestStream: CIFAR-10 streamed from its
// file), --limit-test applied; base::Error when it holds no image.  net_channels 3: an images:DIR whose
// images are all grayscale is read as RGB (replicated), as it is beside colour images.  An images:DIR of
// images without class folders is read as unlabelled (datasets::LoadOptions::unlabelled_ok).
std::unique_ptr<datasets::TestStream> open_test_stream(const Flags& flags, const std::string& data_flag, int net_channels = 0);
// "32x32" → {32, 32}: `count` integers from 1 to base::kMaxInputSide joined by 'x'; else one error
// naming the flag and `form` ("HxW").
std::vector<int> parse_sizes(const std::string& text, const std::string& flag, size_t count, const std::string& form);
// A file a command reads or writes, and how an error line names it ("flag --npz", "the imported file").
struct NamedFile {
  std::string what, path;
};
// Throws base::Error unless every output is a file apart from every input and from every other
// output, however the paths are spelled (./a, a symbolic or a hard link): files that exist are
// compared by device and inode (std::filesystem::equivalent); two outputs that do not exist yet by
// their resolved paths.  One line: "flag --out ./a.safetensors: the same file as the imported file (a.safetensors),
// expected another path".
// Called before any work, so that no command writes over what it reads.
void require_distinct_files(const std::vector<NamedFile>& inputs, const std::vector<NamedFile>& outputs);
// The files `data` was read from (both halves' `files`; a folder read whole, images:DIR, left out), each
// named "a file --data reads": inputs for require_distinct_files once the data is read.
std::vector<NamedFile> data_files(const datasets::DataSplit& data, const std::string& data_flag = "--data");
// base::require_writable(output.path) (a folder, a device, a missing or read-only folder: refused before
// any work), its line naming the flag too: "flag --dump fifo: not a regular file …".
void require_writable(const NamedFile& output);
// Runs `step`; a base::Error it throws, about the file or data spec a flag names, gets the flag in front:
// in_file_of("flag --zeta", …) turns "z.json: /epoch: is 7, …" into "flag --zeta z.json: /epoch: is 7, …",
// in_file_of("--input:", …) "planted: cells=99 exceeds 10 …" into "--input: planted: cells=99 exceeds 10 …".
void in_file_of(const std::string& flag, const std::function<void()>& step);
// An output folder (`flag`, --out) never is a folder the data of `data_flag` was read from, nor lies inside a
// folder read whole (images:DIR: a new subfolder there would be read as a class without images, and the
// data would no longer load): `out` is compared, as a file system object (links and other spellings
// included), with the folder of every file of `read` (datasets::Dataset::files; cifar10 through
// $NNFMRI_DATA and planted:…,background=DIR included).  Else one line, "--out DIR: [inside SOURCE, ]the
// folder --data reads, expected another folder (WHY)".  Called once the data is read, before anything is
// written (corrupt, train's new runs, analyze, monitor run).
void refuse_output_in_data(const std::string& flag, const std::string& out, const std::vector<const datasets::Dataset*>& read,
                           const std::string& data_flag, const std::string& why);
// Which halves of --data a command read (load_data's need_train / need_test).
enum class HalvesRead { both, train, test };
// {"spec", "name", "files": [{"path", "sha256"}], "train_images", "test_images", "classes"}; a half
// not read (analyze reads the test half alone, profile the training half) has no count, not 0, and
// `files` are those read.
nlohmann::ordered_json describe_data(const std::string& spec, const datasets::DataSplit& data, HalvesRead read = HalvesRead::both);
// The part of describe_data that says what the data is, not where it was read: the files' SHA-256
// under its file name (no directories, no spec), the image counts, shape, classes, and for generated
// data (planted, whose seed and options no file holds) the SHA-256 of each split's pixels and labels
// under "generated" (every rank of an MPI job compares it).
nlohmann::ordered_json data_identity(const nlohmann::ordered_json& described, const datasets::DataSplit& data);
// Under mpirun (`group`, dist::world()): every rank compares `fingerprint` (its data and settings, data_identity for the data)
// with rank 0's, which rank 0 broadcasts.  When some rank's differs, every rank throws
// dist::JointFailure "data or settings differ from rank 0's: …" naming the first difference of
// the lowest such rank, which alone prints it: one line, exit 2 on every rank, no rank left waiting.
// One process: nothing.
void agree_with_rank0(nn::ShardGroup& group, const nlohmann::ordered_json& fingerprint);
// Before a command ends at once with exit 0 (`what`: "nnfmri train --help", "nnfmri --version"):
// under mpirun every rank agrees with rank 0 (agree_with_rank0, the first collective of train and
// analyze too), so a rank that ends early cannot leave the others waiting forever for it; a rank
// that differs gets the one line "… /--help or --version is \"nnfmri train --help\" here, null on
// rank 0", exit 2 on every rank.  One process: nothing.
void agree_to_end_early(const std::string& what);
// Throws base::Error unless the net takes the data's images and has an output per class.
// data_flag names the data in the message; without check_classes only the image shape is checked.
void check_net_fits(const nn::Network& net, const datasets::Dataset& d, const std::string& what,
                    const std::string& data_flag = "--data", bool check_classes = true);
// Throws base::Error naming --batch when a batch of min(batch, images) images cannot fit in this
// machine's memory: its activations (and, when training, as many gradients) alone, from
// nn::Network::activation_floats_per_image, against the physical memory.  Checked before anything
// is allocated or written.
void check_batch_fits(const nn::Network& net, long batch, size_t images, bool training);

// The settings of `train` from its flags (the spec of --model resolved, --out defaulted).  `recorded`:
// the flags are a resumed run's, read back from its run.json — the imaging flags an nnfmri before
// 2026-12-03 took without --analyze-every (and ignored) are ignored again, not refused, so that run resumes.
TrainingSettings training_settings(const Flags& flags, int threads, bool recorded = false);

// The imaging flags shared by `train --analyze-every` and `analyze`.
imaging::AnalysisSettings analysis_settings(const Flags& flags);

// A progress bar over the imaging stages, redrawn in place on stderr ("epoch 3: imaging zeta conv1
// [#####...............]  25%  ETA 12s"; `label` is its start), for terminals only: callers draw it
// when isatty(STDERR_FILENO), so that logs stay as they were.  clear_progress_line() erases it.
void draw_imaging_progress(const std::string& label, const imaging::AnalysisProgress& p);
void clear_progress_line();

}  // namespace app
