#include "imaging/eval_stream.h"

#include <algorithm>
#include <numeric>
#include <string>
#include <vector>

#include "base/error.h"
#include "nn/trainer.h"

namespace imaging {

void stream_eval(nn::Network& net, const nn::LabeledImages& data, size_t images, int batch,
                 const EvalBlockProbe& on_block, const EvalBatchEnd& on_batch_end,
                 const std::function<bool(size_t offset)>& wanted, nn::ProbeReads reads) {
  if (batch < 1) throw base::Error("evaluation batch " + std::to_string(batch) + ": expected a positive batch size");
  if (images > data.count)
    throw base::Error("evaluation set of " + std::to_string(images) + " images requested but the data has only " +
                    std::to_string(data.count));
  std::vector<uint32_t> index(images);
  std::iota(index.begin(), index.end(), 0u);
  nn::Tensor x;
  std::vector<uint8_t> labels;
  for (size_t offset = 0; offset < images; offset += size_t(batch)) {
    const int count = int(std::min(size_t(batch), images - offset));
    if (wanted && !wanted(offset)) continue;
    nn::make_batch(net, data, index.data() + offset, count, nullptr, 0, 0, 0, x, labels);
    const EvalBatch current{offset, count, labels.data(), x};
    const nn::Probe probe = [&](const nn::BlockView& view) { on_block(current, view); };
    const nn::Tensor& logits = net.forward(x, false, on_block ? &probe : nullptr, nullptr, reads);
    if (on_batch_end) on_batch_end(current, logits);
  }
}

}  // namespace imaging
