// tests/fuzz/fuzz_spec.cpp — the spec parser (nn::Network's constructor) on hostile specs and inputs.
// Input: three bytes for the input shape (C = 1 + b0 % 4, H = 1 + b1 % 64, W = 1 + b2 % 64), then
// the spec text.  A spec that builds must rebuild from its layers' tokens to the same shapes, and a
// small one runs a forward and backward pass of two images (odd kernels, strides and paddings).
// Every refusal must be one line naming the spec, a token or the input shape.
#include <cstddef>
#include <cstdint>
#include <string>

#include "nn/checkpoint.h"
#include "nn/network.h"
#include "nn/rng.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

void check(const std::string& spec, int c, int h, int w) {
  nn::Network net(spec, c, h, w);
  (void)nn::describe_network(net);
  std::string tokens;
  size_t units = 0;
  for (size_t i = 0; i < net.num_layers(); ++i) {
    tokens += net.layer(i).token() + " ";
    units += net.layer(i).output_shape.per_sample();
  }
  nn::Network again(tokens, c, h, w);
  if (again.num_layers() != net.num_layers()) fuzz::finding("'" + tokens + "' rebuilds to another layer count");
  for (size_t i = 0; i < net.num_layers(); ++i)
    if (again.layer(i).output_shape != net.layer(i).output_shape)
      fuzz::finding("'" + tokens + "' rebuilds layer " + std::to_string(i) + " with another shape");
  if (units > 20000 || net.parameter_count() > 200000) return;  // keep every run fast
  net.init(1);
  nn::Tensor x(2, c, h, w);
  nn::Rng rng(2);
  for (size_t i = 0; i < x.size(); ++i) x[i] = float(rng.normal());
  const nn::Tensor& logits = net.forward(x, true);
  nn::Tensor dlogits(logits.shape());
  for (size_t i = 0; i < dlogits.size(); ++i) dlogits[i] = 0.1f;
  net.backward(dlogits);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  const int c = 1 + data[0] % 4, h = 1 + data[1] % 64, w = 1 + data[2] % 64;
  const std::string spec(reinterpret_cast<const char*>(data + 3), size - 3);
  fuzz::expect_clean([&] { check(spec, c, h, w); }, {"spec", "network input"});
  return 0;
}
