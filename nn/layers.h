// nn/layers.h — the layers of a CNN, each a forward/backward pair.
//
// Promise of every Layer:
//  - setup(in) checks that the layer can take an input of per-sample shape
//    `in` (n is ignored), creates its parameters, and returns the per-sample
//    output shape; an impossible shape throws base::Error naming the layer, and so
//    does a size over the limits of base/limits.h (output units, stored values,
//    im2col columns), checked before anything is allocated.
//  - forward(in, out) resizes `out` and fills it.  In training mode layers that
//    behave differently (batchnorm, dropout) use batch statistics / masks.
//  - backward(in, out, dout, din) reads the tensors of the last forward,
//    OVERWRITES *din (if din is not null) with dL/din, and ADDS (+=) dL/dθ into
//    each parameter's grad when param_grads is true.
// Shapes in comments are (N, C, H, W); a fully connected activation is (N, C, 1, 1).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "base/aligned.h"
#include "base/limits.h"
#include "nn/rng.h"
#include "nn/tensor.h"

namespace nn {

// The kinds of layer.  Every per-kind table is a `switch` over this enum without a `default`
// (nn/checkpoint.cpp's description, imaging/net_view.cpp's reading of a net), so that -Wswitch
// lists each place a new kind must be handled.
enum class LayerKind { conv2d, linear, relu, maxpool, avgpool, gap, batchnorm2d, dropout, add, pad_shortcut };
const char* layer_kind_name(LayerKind kind);  // "conv2d", "linear", "relu", "maxpool", ..., "add", "pad_shortcut"

// A learnable tensor (or a saved buffer such as batch-norm running statistics,
// which has trainable == false and no gradient).
struct Param {
  std::string name;  // PyTorch-style suffix: "weight", "bias", "running_mean", "running_var"
  Tensor value, grad;
  Shape shape;  // value's; a planned net's (nn::Network::planned) has this shape and no value
  bool trainable = true;
};

// The stored float32 values a net built from a file holding `file_values` of them may create: twice
// that, at most kMaxParameters.  A header naming a large net allocates at most twice what its file
// brings, while a file short of a tensor, or holding one of a smaller shape (`res1.proj.weight`
// [8, 2, 1, 1] for [8, 4, 1, 1]), builds and its reader names that tensor and both shapes.
inline int64_t file_net_limit(int64_t file_values) {
  return file_values < base::kMaxParameters / 2 ? 2 * file_values : base::kMaxParameters;
}

class Layer {
 public:
  virtual ~Layer() = default;
  virtual LayerKind layer_kind() const = 0;
  std::string kind() const { return layer_kind_name(layer_kind()); }  // "conv2d", "linear", "relu", ...
  virtual std::string token() const = 0;  // the spec token that builds this layer (a res group makes `add`, `shortcut:pad`)
  virtual Shape setup(Shape in) = 0;
  virtual void forward(const Tensor& in, Tensor& out, bool training, Rng& rng) = 0;
  virtual void backward(const Tensor& in, const Tensor& out, const Tensor& dout, Tensor* din,
                        bool param_grads) = 0;
  virtual std::vector<Param*> params() { return {}; }
  virtual void init(Rng& /*rng*/) {}  // He initialisation of weights, zero biases
  Shape input_shape, output_shape;    // per sample (n = 1), set by setup()
  // The float32 values setup() may still create: the network's limit less what the layers before it
  // hold (set by Network before setup).  value_limit is kMaxParameters, or fewer for a net built from a
  // file: the values the file holds (nn::Network's max_values); that net's limit is file_net_limit of it.
  int64_t value_budget = base::kMaxParameters, value_limit = base::kMaxParameters;
  // false (nn::Network::planned): setup() names its params and gives their shapes, allocating none
  bool allocate = true;
  // false (a net built inference-only): setup() allocates the params' values but not their gradients
  bool gradients = true;

 protected:
  // Throws base::Error naming token() when `out` has more than kMaxLayerUnits units, `values` exceeds
  // value_budget or `columns` (one image's im2col matrix) exceeds kMaxConvColumns.  Counts as doubles:
  // products of spec numbers overflow 64-bit integers.
  void check_sizes(const Shape& out, double values, double columns = 0) const;
};

// 2-D convolution, any kernel/stride/zero padding.  Two algorithms, same results up to float rounding:
//  - im2col + SGEMM per image, images shared out among the OpenMP threads (any geometry);
//  - Winograd F(4×4, 3×3) (nn/winograd.h) for 3×3, stride 1, padding 1: 4× fewer multiplications.
// `algorithm` picks one; `automatic` uses Winograd where winograd::suits() says it pays.
//   in (N, C, H, W) → out (N, OC, OH, OW), OH = (H + 2P − KH)/S + 1
//   weight (OC, C, KH, KW), bias (OC)
enum class ConvAlgorithm { automatic, im2col, winograd };

class Conv2d : public Layer {
 public:
  Conv2d(int out_channels, int kh, int kw, int stride, int pad, bool bias);
  LayerKind layer_kind() const override { return LayerKind::conv2d; }
  std::string token() const override;
  Shape setup(Shape in) override;
  void forward(const Tensor& in, Tensor& out, bool training, Rng& rng) override;
  void backward(const Tensor& in, const Tensor& out, const Tensor& dout, Tensor* din, bool param_grads) override;
  // backward() with the bias gradient's per-plane sums given (dout_plane_sums[n·OC + oc] = the sum_of
  // of dout's plane (n, oc), as Pool2d::backward_into_relu writes them; null: read from dout): the
  // same bits, one read of dout fewer.
  void backward_given_plane_sums(const Tensor& in, const Tensor& dout, Tensor* din, bool param_grads,
                                 const float* dout_plane_sums);
  std::vector<Param*> params() override;
  void init(Rng& rng) override;

  int out_channels, kh, kw, stride, pad;
  bool has_bias;
  Param weight, bias;
  ConvAlgorithm algorithm = ConvAlgorithm::automatic;
  bool uses_winograd() const;  // after setup(); forcing winograd on another geometry throws

 private:
  void forward_im2col(const Tensor& in, Tensor& out);
  void backward_im2col(const Tensor& in, const Tensor& dout, Tensor* din, bool param_grads);
  const float* transformed_weights();  // Winograd's U, rebuilt from weight into transformed_
  base::AlignedVector<float> transformed_;  // on cache lines, as the GEMMs and transforms read it
};

// Fully connected: in (N, C, H, W) flattened in (C, H, W) order → out (N, OUT, 1, 1)
//   weight (OUT, IN), bias (OUT)
class Linear : public Layer {
 public:
  explicit Linear(int out_features);
  LayerKind layer_kind() const override { return LayerKind::linear; }
  std::string token() const override { return "linear:" + std::to_string(out_features); }
  Shape setup(Shape in) override;
  void forward(const Tensor& in, Tensor& out, bool training, Rng& rng) override;
  void backward(const Tensor& in, const Tensor& out, const Tensor& dout, Tensor* din, bool param_grads) override;
  std::vector<Param*> params() override { return {&weight, &bias}; }
  void init(Rng& rng) override;

  int out_features, in_features = 0;
  Param weight, bias;
};

// out = max(0, in), elementwise; the gradient at 0 is 0 (as PyTorch).
class ReLU : public Layer {
 public:
  LayerKind layer_kind() const override { return LayerKind::relu; }
  std::string token() const override { return "relu"; }
  Shape setup(Shape in) override { return in; }
  void forward(const Tensor& in, Tensor& out, bool training, Rng& rng) override;
  void backward(const Tensor& in, const Tensor& out, const Tensor& dout, Tensor* din, bool param_grads) override;
};

// Max or average pooling with a K×K window and stride S, no padding, floor mode (PyTorch defaults).
//   in (N, C, H, W) → out (N, C, (H−K)/S+1, (W−K)/S+1)
// Max pooling remembers, per output, the flat index h·W+w of the input it selected
// (the first maximum in row-major order): backward routes the gradient there, and
// imaging reads it through argmax().
class Pool2d : public Layer {
 public:
  enum Mode { Max, Average };
  Pool2d(Mode mode, int k, int stride);
  LayerKind layer_kind() const override { return mode == Max ? LayerKind::maxpool : LayerKind::avgpool; }
  std::string token() const override;
  Shape setup(Shape in) override;
  void forward(const Tensor& in, Tensor& out, bool training, Rng& rng) override;
  void backward(const Tensor& in, const Tensor& out, const Tensor& dout, Tensor* din, bool param_grads) override;
  // (N, C, OH, OW), max mode only; std::logic_error while the argmax is not recorded (below).
  const std::vector<int>& argmax() const;
  // Off: forward() and forward_after_relu() record no argmax (inference only: nn::Network::
  // set_inference_only), its memory is freed, and backward(), backward_into_relu() and argmax()
  // throw std::logic_error.  The pooled values are the same either way.  On by default.
  void set_record_argmax(bool on);

  // A relu and this pool fused (nn::Network uses them when the pool alone reads a relu's output): one
  // pass over the planes instead of two, each plane still in the cache for the second operation.
  // Per element the same arithmetic as the two layers one after the other, so bit-identical results.
  //   forward_after_relu: a = ReLU(z) and out = pool(a);
  //   backward_into_relu: da = the pool's input gradient (as backward() writes into din) and, when dz
  //   is not null, dz = ReLU::backward's input gradient from a and da.
  // With a_sums and out_sums (not null; C·H·W and C·OH·OW floats) it also writes the per-unit sums
  // over the samples of a and of out (nn::BlockView::unit_sums: u = 0, then u += |value| for samples
  // 0 … N−1 in order, whatever the thread count), each plane's sums added while it is in the cache;
  // a and out are the same either way.
  void forward_after_relu(const Tensor& z, Tensor& a, Tensor& out, float* a_sums = nullptr, float* out_sums = nullptr);
  // With dz_plane_sums (dz not null; N·C floats) it also writes each dz plane's sum_of (the 16-lane sum
  // of nn::Conv2d's bias gradient), for Conv2d::backward_given_plane_sums.
  void backward_into_relu(const Tensor& a, const Tensor& dout, Tensor& da, Tensor* dz, float* dz_plane_sums = nullptr);

  Mode mode;
  int k, stride;

 private:
  void forward_plane(const float* src, int W, float* dst, int* arg) const;
  void backward_plane(const float* g, const int* arg, int W, int H, float* d) const;
  int* argmax_plane(long plane, long plane_size) { return mode == Max && record_argmax_ ? argmax_.data() + plane * plane_size : nullptr; }
  void check_argmax(const char* what) const;
  std::vector<int> argmax_;
  bool record_argmax_ = true;
};

// Global average pooling: in (N, C, H, W) → out (N, C, 1, 1)
class GlobalAvgPool : public Layer {
 public:
  LayerKind layer_kind() const override { return LayerKind::gap; }
  std::string token() const override { return "gap"; }
  Shape setup(Shape in) override {
    input_shape = Shape{1, in.c, in.h, in.w};
    return output_shape = Shape{1, in.c, 1, 1};
  }
  void forward(const Tensor& in, Tensor& out, bool training, Rng& rng) override;
  void backward(const Tensor& in, const Tensor& out, const Tensor& dout, Tensor* din, bool param_grads) override;
};

// Batch normalisation over (N, H, W) per channel, PyTorch semantics: training uses the
// batch mean and biased variance and updates running_mean/var (unbiased) with momentum
// 0.1; evaluation uses the running statistics.  eps = 1e-5.
//   weight (C), bias (C), running_mean (C), running_var (C)
class BatchNorm2d : public Layer {
 public:
  LayerKind layer_kind() const override { return LayerKind::batchnorm2d; }
  std::string token() const override { return "bn"; }
  Shape setup(Shape in) override;
  void forward(const Tensor& in, Tensor& out, bool training, Rng& rng) override;
  void backward(const Tensor& in, const Tensor& out, const Tensor& dout, Tensor* din, bool param_grads) override;
  std::vector<Param*> params() override { return {&weight, &bias, &running_mean, &running_var}; }
  void init(Rng& rng) override;
  // y = scale·x + shift per channel, the evaluation-mode affine map (for folding into a conv).
  void eval_affine(std::vector<float>& scale, std::vector<float>& shift) const;

  // This bn and a relu after it fused (nn::Network uses them when the relu alone reads the bn's output),
  // as Pool2d::forward_after_relu: the same arithmetic per element as the two layers, so the same bits.
  //   forward_then_relu: z = bn(in) and a = ReLU(z) in the same pass over each plane;
  //   backward_from_relu: dz = ReLU::backward's input gradient from a and da, then backward() from dz.
  void forward_then_relu(const Tensor& in, Tensor& z, Tensor& a, bool training);
  void backward_from_relu(const Tensor& in, const Tensor& a, const Tensor& da, Tensor& dz, Tensor* din, bool param_grads);

  float momentum = 0.1f, eps = 1e-5f;
  Param weight, bias, running_mean, running_var;

 private:
  void forward_impl(const Tensor& in, Tensor& out, Tensor* relu_out, bool training);
  void backward_impl(const Tensor& in, const Tensor* a, const Tensor& dout, Tensor* dz, Tensor* din, bool param_grads);
  std::vector<float> batch_mean_, batch_inv_std_;
  std::vector<double> plane_stats_, channel_sums_;  // work arrays (see layers.cpp)
  bool last_training_ = false;
};

// Inverted dropout: in training each unit is kept with probability 1−p and scaled by 1/(1−p).
class Dropout : public Layer {
 public:
  explicit Dropout(float p);
  LayerKind layer_kind() const override { return LayerKind::dropout; }
  std::string token() const override;
  Shape setup(Shape in) override { return in; }
  void forward(const Tensor& in, Tensor& out, bool training, Rng& rng) override;
  void backward(const Tensor& in, const Tensor& out, const Tensor& dout, Tensor* din, bool param_grads) override;
  float p;

 private:
  std::vector<float> mask_;  // 0 or 1/(1−p), per element of the last training forward
  bool last_training_ = false;
};

// The add of a residual unit (He et al. 2016): out = branch + shortcut, element-wise.
// It has two inputs: `in` of forward/backward is the branch (the layer before it), the shortcut is the
// tensor the network points `shortcut` at before each forward (nn::Network keeps the graph).
//   branch (N, C, H, W) + shortcut (N, C, H, W) → out (N, C, H, W)
// backward: dL/dbranch = dL/dshortcut = dout; din receives the branch's, the network adds the same
// dout into the shortcut's gradient.
class Add : public Layer {
 public:
  LayerKind layer_kind() const override { return LayerKind::add; }
  std::string token() const override { return "add"; }  // no token of its own: a res group's ')' makes it
  // The branch's shape must equal shortcut_shape (set by the network before setup).
  Shape setup(Shape in) override;
  void forward(const Tensor& in, Tensor& out, bool training, Rng& rng) override;
  void backward(const Tensor& in, const Tensor& out, const Tensor& dout, Tensor* din, bool param_grads) override;
  Shape shortcut_shape;
  const Tensor* shortcut = nullptr;  // (N, C, H, W), set by the network before forward
};

// Option A shortcut of He et al. 2016: spatial subsampling by `stride` (every stride-th row and
// column from the first, as x[:, :, ::s, ::s]) and zero channel padding, no parameters.
//   in (N, C, H, W) → out (N, OC, ⌈H/S⌉, ⌈W/S⌉), out[n][c + front][y][x] = in[n][c][y·S][x·S],
//   front = ⌊(OC − C)/2⌋ zero channels before, OC − C − front after (PyTorch:
//   F.pad(x[:, :, ::s, ::s], (0, 0, 0, 0, front, OC − C − front))).
class PadShortcut : public Layer {
 public:
  PadShortcut(int out_channels, int stride);
  LayerKind layer_kind() const override { return LayerKind::pad_shortcut; }
  std::string token() const override { return "shortcut:pad"; }  // made by a res:pad( group
  Shape setup(Shape in) override;  // OC ≥ C, else base::Error
  void forward(const Tensor& in, Tensor& out, bool training, Rng& rng) override;
  void backward(const Tensor& in, const Tensor& out, const Tensor& dout, Tensor* din, bool param_grads) override;
  int front() const { return (out_channels - input_shape.c) / 2; }
  int out_channels, stride;
};

}  // namespace nn
