// nn/checkpoint.h — versioned, checksummed model files, written atomically.
//
// Layout (little-endian):
//   "NNFMRIck"  u32 version(=1)  u64 header_bytes  header (JSON text)  float32 data  u32 crc32
// The header holds the spec, input shape, input normalisation, epoch, class names, the list of
// tensors (name, shape) in Network::named_params() order, and free-form metadata.  The crc32
// (zlib) covers every byte before it.  Loading re-builds the net from the spec and checks every
// name, shape and byte count; any mismatch throws base::Error naming the file.  The loader reads a
// regular file of at most base::kMaxCheckpointBytes, parses the header with base/json.h (size, depth and
// finite numbers bounded) and checks every header field's type and range before using it (input
// sides 1 … kMaxInputSide, normalisation within the bounds below; meta an object whose "model" and "spec" are
// strings and "data" an object with a string "spec"), naming the field's JSON pointer.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/limits.h"
#include "nn/network.h"
#include "nn/optim.h"
#include "nn/trainer.h"

namespace nn {

// The input normalisation a checkpoint may hold: |mean| ≤ kMaxNormMean, kMinNormStd ≤ std ≤ kMaxNormStd
// per channel.  The loader refuses anything else, and save_checkpoint will not write it (so `import`
// cannot leave a checkpoint that `info`, `eval` and `analyze` then refuse).
constexpr double kMaxNormMean = 1e6, kMinNormStd = 1e-12, kMaxNormStd = 1e6;
// "" when every channel's mean and std are within those bounds, else which is not ("std 0 of channel 1").
std::string normalization_problem(const std::vector<float>& mean, const std::vector<float>& stddev);

// "" when `names` can name the classes of a net with `outputs` outputs, else what is wrong ("class name
// 'a' appears twice, expected one name per class").  Class names go to terminals, figures and pages:
// one per output, each non-empty, valid UTF-8 without control characters, no name twice.  import checks its
// --classes and descriptions with it, save_checkpoint what it writes and load_checkpoint what it reads.
std::string class_names_problem(const std::vector<std::string>& names, int outputs);

struct Checkpoint {
  std::unique_ptr<Network> net;
  int epoch = 0;
  std::vector<std::string> class_names;
  nlohmann::json meta;  // whatever the writer stored (dataset, settings)
  std::string sha256;   // the file's, of the bytes loaded (nn/framed_file.h): what `analyze` and `monitor` record
};

// base::Error naming path when the net's normalisation is out of bounds (normalization_problem) or the
// class names are not one printable name per output (class_names_problem).
void save_checkpoint(const std::string& path, Network& net, int epoch, const std::vector<std::string>& class_names,
                     const nlohmann::json& meta = nlohmann::json::object());
// inference_only: the net is built so (nn::Network's constructor: no gradients allocated), for a
// command that never trains.
Checkpoint load_checkpoint(const std::string& path, bool inference_only = false);

// A resumable training state ("NNFMRIst", the same framing): the position (epoch, step, the epoch's
// running sums), the optimiser's step count, the net's random stream (dropout masks), the training's
// seed, then every tensor of the net (as in a checkpoint) and of the optimiser (momentum buffers or
// Adam moments).  Loading it into a net of the same spec and an optimiser of the same kind and
// continuing the training with the same seed from the returned position gives the same bytes as never
// having stopped.  The loader refuses a state of another seed (naming both): its weights are another
// training's.  A state without a seed (written before 2026-12-03) is taken as it is.
void save_training_state(const std::string& path, Network& net, Optimizer& optimizer, const TrainPosition& position,
                         uint64_t seed);
TrainPosition load_training_state(const std::string& path, Network& net, Optimizer& optimizer, uint64_t seed);

// The architecture as JSON: layers in order with kind, name, shapes, kernel/stride/padding, and
// the input normalisation (used by `export` and `info`).
nlohmann::json describe_network(const Network& net);

}  // namespace nn
