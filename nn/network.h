// nn/network.h — a sequential CNN built from a text spec, with named blocks and probes.
//
// The spec is a list of tokens separated by spaces (darknet's idea: a net a student can read):
//   conv<KH>x<KW>:<C>[:s<S>][:p<P>]   convolution, stride S (1), zero padding P on both axes (default
//                                     KH/2, which is "same" for odd square kernels at stride 1)
//   linear:<N>                        fully connected (the input is flattened in (C,H,W) order)
//   relu | bn | dropout:<p>           attach to the preceding conv/linear block
//   maxpool<K>[:s<S>] | avgpool<K>[:s<S>] | gap     pooling (stride defaults to K)
// e.g. the `reference` preset:
//   conv3x3:32 relu maxpool2 conv3x3:64 relu maxpool2 conv3x3:128 relu maxpool2 linear:256 relu linear:10
//
// Residual units and repeats (README "Residual networks"); groups are bracketed, never relative offsets:
//   res( … )        a residual unit: out = branch(x) + x, the identity shortcut (shapes must match)
//   res:pad( … )    option A of He et al. 2016: the shortcut subsamples x by the branch's stride and
//                   pads zero channels up to the branch's channels (nn::PadShortcut, no parameters)
//   res:proj( … )   option B: the shortcut is a 1×1 conv (stride as the branch's) + bn
//   N*( … )         the tokens inside, N ≥ 1 times (a macro: expanded before anything else)
// The tokens inside res( … ) are the branch; a relu right after the ')' is the unit's activation.
// e.g. one stage of resnet20:  3*(res(conv3x3:16 bn relu conv3x3:16 bn) relu)
//
// Blocks: a conv or linear token opens a block that also holds the bn/relu/dropout after it;
// a pooling token is a block of its own; a res group's ')' closes a block `res<k>` (kind "res") that
// holds the shortcut's layers (res<k>.pad, or res<k>.proj and res<k>.proj_bn), the add (layer `res<k>`)
// and the relu after it.  Branch blocks are numbered with the others (conv2, conv3, …).  Blocks are named conv1.., pool1.., fc1.., and the last
// linear block is `output` (the logits).  A conv followed by bn has no bias (the bn shift is one).
// Parameters are named as a PyTorch state_dict would: conv1.weight, conv1.bias, bn1.weight,
// bn1.running_mean, fc1.weight, output.bias, ...
//
// Limits (base/limits.h), checked before anything is allocated, a violation being base::Error naming
// the input shape or the token: input sides 1 … 65,536 and at most 2^22 values per image; every
// layer's output at most 2^22 units per image; at most 2^26 stored float32 values (weights, biases,
// batch-norm statistics) in the network; a convolution's im2col matrix at most 2^26 values per image.
//
// Probes: forward() takes an optional callback that sees, for every block, its input, its
// pre-activation z (the tensor the block's relu reads; = a when it has none) and its output a.
// With no probe the cost is one null-pointer test per block.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "nn/layers.h"

namespace nn {

struct Block {
  std::string name;             // conv1, pool1, fc1, output
  std::string kind;             // "conv", "pool", "fc", "output", "res"
  int first = 0, last = 0;      // layer indices [first, last]
  int main = 0;                 // the conv/linear/pool layer; a res block's add
  // The blocks it reads (−1: the network input): one, or for a res block {branch's last block,
  // the block whose output the shortcut reads}.
  std::vector<int> inputs;
  int shortcut_layer = -1;      // res block: the pad or projection conv layer, or −1 (identity)
  int batchnorm = -1;           // its bn layer, or -1
  int activation = -1;          // its relu layer, or -1
  int pre_activation = 0;       // the layer whose output is z
  Shape output_shape;           // per sample
};

struct BlockView {
  int index;
  const Block& block;
  const Tensor& input;  // (N, ...) the block's input (a res block: the branch's output)
  const Tensor& z;      // pre-activation (= a where the probe said it does not read z: ProbeReads)
  const Tensor& a;      // output
  // Null, or (when the probe asked for them: ProbeReads::unit_sums) u_e = Σ_i |a_ie| for every unit e
  // of a sample (C·H·W floats, (c, h, w) order): a float sum over the batch's samples in order,
  // u_e = 0, then u_e += |a_ie| for i = 0 … n−1.  Taken where the layer writing a already streams it
  // (a relu fused with the pool after it, and that pool's output); null for the other blocks.
  const float* unit_sums = nullptr;
};
using Probe = std::function<void(const BlockView&)>;
// What a forward probe reads, so that the forward does no work for it that it does not need.
// z = false: the probe never reads BlockView::z, and a conv/linear whose output only a relu fused
// with a pool reads keeps writing z into the relu's buffer (as without a probe; BlockView::z is then
// a).  unit_sums = true: fill BlockView::unit_sums where the forward can.  The net computes the same
// numbers either way (the probe only sees them).
struct ProbeReads {
  bool z = true;
  bool unit_sums = false;
};
// An edit of a block's output during a forward, before the layers after it read it (the fault
// injection of `train --inject`: a lesion zeroes a region, a bias shift adds a constant).  Unlike a
// probe it changes what the net computes.
using BlockEdit = std::function<void(int block, Tensor& a)>;

// How init() starts the output block's weights (its biases start at 0 like every layer's):
// He-normal like every other layer, or zero.  Zero is the training recipe's default (nn::TrainConfig,
// README "Training"): He-normal logits of `reference` start with a standard deviation of a few
// units, the first loss is far above ln K and the first SGD steps at lr 0.02 can kill most of
// conv2's units; with zero weights the logits start at 0 (loss ln K) and the layers below receive
// gradient only once the output layer has learned something.  init() draws the output layer's
// He-normal weights either way, so every other layer gets the same weights for both choices.
enum class OutputInit { he, zero };

struct NamedParam {
  std::string name;  // "conv1.weight"
  Param* param;
};

class Network {
 public:
  // Builds and shape-checks the net for per-sample input (C, H, W); throws base::Error on a bad spec.
  // max_values (below base::kMaxParameters) is for a reader of weights from a file: the values the file
  // holds.  The spec may then create at most file_net_limit(max_values) stored float32 values (twice
  // them, nn/layers.h), checked layer by layer before each allocates.
  // inference_only: the net is built so (set_inference_only), its parameters' gradients never
  // allocated (a command that never trains: eval, profile, monitor, info, export, import).
  Network(const std::string& spec, int channels, int height, int width, int64_t max_values = base::kMaxParameters,
          bool inference_only = false);
  // The net of the spec with its layers set up and no parameter allocated: each Param has its name and
  // shape (Param::shape) and an empty value, for comparing a file's tensors with it before a net is
  // allocated (nn::torch_tensors gives them, values null).  Not to be run.  Refused as the constructor
  // refuses (kMaxParameters per network).
  static Network planned(const std::string& spec, int channels, int height, int width);
  static std::string preset(const std::string& name);  // "reference", "bn", "resnet20", "resnet56"; "" if unknown

  void init(uint64_t seed, OutputInit output = OutputInit::he);  // He initialisation from a seeded stream

  // Input normalisation applied by the caller's batch builder: x = (pixel/255 − mean[c]) / std[c].
  std::vector<float> input_mean, input_std;

  // x (N, C, H, W) → logits (N, classes, 1, 1), returned by reference (owned by the net).
  // `reads`: what the probe reads (ProbeReads; ignored without a probe).
  const Tensor& forward(const Tensor& x, bool training, const Probe* probe = nullptr, const BlockEdit* edit = nullptr,
                        ProbeReads reads = {});
  // Runs the layers after block b, with `a` standing for block b's output (an imaging lesion).
  // A shortcut that passes block b (crossed_by_shortcut) carries an output of a layer before it: that
  // output is read from the last forward(), which must have been of the same images (same batch),
  // and — when the shortcut reads the network input — whose input tensor must still be alive (it is
  // kept by pointer, as for backward()).
  const Tensor& forward_from(int b, const Tensor& a, const Probe* probe = nullptr);
  // True when a layer after block b reads the output of a layer before block b's output (a shortcut
  // around a block inside a residual branch): block b's output is then not all the net downstream sees.
  bool crossed_by_shortcut(int b) const;
  // True when the net has a residual unit.
  bool is_residual() const { return residual_; }
  // The layer whose output layer i reads (−1: the network input); an add's second input is shortcut_source(i).
  int layer_source(size_t i) const { return source_[i]; }
  int shortcut_source(size_t i) const { return shortcut_source_[i]; }
  // dlogits → gradients of every layer output; ADDS to parameter grads when param_grads.
  // Reads the activations of the last forward()/forward_from(), including the input tensor passed
  // to it (kept by pointer: it must still be alive).
  // Stops after block `stop_block`'s output gradient is known (−1: all the way down).
  // keep_output_grads = false (the trainer, which reads only the parameter gradients): a layer's
  // output gradient lives only while the backward needs it — its buffer goes back to a pool once
  // the layer's own backward has read it, and the next gradient written takes the smallest pooled
  // buffer that holds it — and a relu fused with the pool after it writes its input gradient in
  // place of its output gradient.  The parameter gradients are the same bits either way (every
  // kernel overwrites its output); only output_grad() is then unspecified.
  // `cut` (one flag per block, or null): blocks whose output gradient is set to 0 once it is known,
  // before the block's layers run backward — an output a BlockEdit made a constant (a dead block).
  void backward(const Tensor& dlogits, bool param_grads = true, int stop_block = -1, bool keep_output_grads = true,
                const std::vector<bool>* cut = nullptr);
  // dL/d(block b's output) after backward() with keep_output_grads.
  const Tensor& output_grad(int b) const { return grads_[blocks_[b].last]; }
  // Block b's output of the last forward (on an inference-only net: the output block's alone; the
  // other blocks' outputs are seen by a probe during the forward).
  const Tensor& output(int b) const { return acts_[blocks_[b].last]; }

  // Frees the activation and gradient buffers (and the gradient pool), which keep the size of the
  // largest batch run; the next forward allocates them again.  For a caller that goes on with
  // smaller batches.
  void release_buffers();
  // Inference only (on): a forward keeps nothing that only a backward reads — the max pools record
  // no argmax (nn::Pool2d::set_record_argmax), which also leaves imaging's tractography, a reader of
  // the argmax, unable to run — and forward(training = true) and backward() throw std::logic_error;
  // the parameters' gradients are freed (off again: zero, as in a new net).  A layer's output lives
  // only while a later layer or the probe (at its block's end) reads it: its buffer then goes to a
  // pool from which the next output written takes the smallest buffer that holds it, so a forward
  // holds the outputs alive at one time instead of every layer's (the logits are kept; output(b) of
  // another block is unspecified after the forward, and forward_from past a shortcut throws
  // std::logic_error).
  // For a caller that only reads the logits and, in a probe, the block tensors (nnfmri eval, profile,
  // monitor): those are the same bits either way.  Off by default; off again restores it all.  A change
  // of mode empties the pool (kept, it grew by the net's outputs at every change).
  void set_inference_only(bool on);
  bool inference_only() const { return inference_only_; }
  void zero_grad();
  std::vector<NamedParam> named_params();  // learnable and buffers, in a fixed order
  size_t parameter_count() const;          // learnable scalars
  // Floats one image occupies in the buffers a forward fills: the outputs of every layer (block
  // outputs and the intermediate ones such as a conv's pre-activation); on an inference-only net,
  // which pools them, the largest of a layer's output plus its input.  Training keeps as many again
  // for their gradients.  A lower bound of a batch's memory, known before anything runs.
  size_t activation_floats_per_image() const;
  // Floats the net's activation buffers hold now (every layer output's and the pooled ones'
  // capacity): what a forward left allocated.
  size_t activation_floats_held() const;

  const std::string& spec() const { return spec_; }
  int channels() const { return in_c_; }
  int height() const { return in_h_; }
  int width() const { return in_w_; }
  int num_outputs() const { return layers_.back()->output_shape.c; }
  const std::vector<Block>& blocks() const { return blocks_; }
  int find_block(const std::string& name) const;  // −1 if none
  size_t num_layers() const { return layers_.size(); }
  Layer& layer(size_t i) { return *layers_[i]; }
  const Layer& layer(size_t i) const { return *layers_[i]; }
  std::string layer_name(size_t i) const;  // "conv1", "bn1", "conv1.relu", "pool1", ...
  Rng& rng() { return rng_; }

 private:
  Network(const std::string& spec, int channels, int height, int width, int64_t max_values, bool allocate, bool gradients);
  // Runs layers from `from` on: each reads source_output(source_[i]) (the input of the last forward()).
  void run(size_t from, bool training, const Probe* probe, const BlockEdit* edit = nullptr, ProbeReads reads = {});
  std::string spec_;
  int in_c_, in_h_, in_w_;
  std::vector<std::unique_ptr<Layer>> layers_;
  std::vector<std::string> layer_names_;
  std::vector<Block> blocks_;
  std::vector<int> block_of_layer_;
  std::vector<int> source_;           // per layer: the layer whose output it reads, −1 the input
  std::vector<int> shortcut_source_;  // per add layer: the layer its shortcut reads (else −2)
  bool residual_ = false;
  bool inference_only_ = false;
  std::vector<Tensor> acts_, grads_;  // output of layer i, dL/d(output of layer i)
  Tensor scratch_;                     // an input gradient to be added to one already written
  std::vector<char> grad_written_;     // per layer: grads_[i] holds a first contribution
  std::vector<char> relu_then_pool_;   // per layer: a relu whose output only the next layer, a pool, reads
  std::vector<char> bn_then_relu_;     // per layer: a bn whose output only the next layer, a relu, reads
  // Per layer: a conv/linear whose output only the next layer, a relu fused with a pool, reads, in a
  // net without residual units.  A forward with no probe and no edit writes such a layer's output
  // straight into the relu's buffer and rectifies it there (the pre-activation z is not kept: only a
  // probe sees it, and neither Conv2d::backward nor Linear::backward reads its own output).
  std::vector<char> z_in_relu_;
  // Network::backward: the plane sums of conv layer plane_sums_for_'s bias gradient, taken by the fused
  // relu + pool backward above it (Pool2d::backward_into_relu's dz_plane_sums); −1: none pending.
  std::vector<float> plane_sums_;
  int plane_sums_for_ = -1;
  std::vector<std::vector<float>> unit_sums_;  // per layer: BlockView::unit_sums of its output, when taken
  std::vector<Tensor> spare_;          // buffers not in use (backward without keep_output_grads; inference-only forwards)
  std::vector<int> last_read_;         // inference-only run(): per layer, the last layer after which its output is read
  Tensor take_spare(size_t need);      // the smallest spare holding `need` floats, else the largest, else none
  const Tensor* input_ = nullptr;      // the network input of the last forward()
  size_t start_layer_ = 0;             // first layer run by the last forward (0, or the one after a forward_from block)
  const Tensor& source_output(int layer) const { return layer < 0 ? *input_ : acts_[size_t(layer)]; }
  Rng rng_;  // dropout masks
};

}  // namespace nn
