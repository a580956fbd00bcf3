// imaging/eval_stream.h — stream the first N images of a labelled set through a net, batch by batch.
//
// Promise: images 0 … N−1 of `data` (always the same ones, in order) are normalised without
// augmentation and run through net.forward(x, training = false) in batches of `batch` images
// (the last one may be smaller).  For every block of every batch `on_block` sees the block's
// tensors together with the batch's labels and the global index of its first image, so an
// analysis accumulates over the evaluation set without ever holding all its activations.
// After each batch's forward `on_batch_end` (optional) sees the logits; the net still holds
// that batch's activations then, so a stage may run lesions (net.forward_from) from there.
// Bad arguments (N > data.count, batch < 1) throw base::Error.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>

#include "nn/data.h"
#include "nn/network.h"
#include "nn/tensor.h"

namespace imaging {

struct EvalBatch {
  size_t offset;            // index of the batch's first image in the evaluation set
  int count;                // images in this batch
  const uint8_t* labels;    // (count)
  const nn::Tensor& input;  // (count, C, H, W), normalised
};

using EvalBlockProbe = std::function<void(const EvalBatch&, const nn::BlockView&)>;
using EvalBatchEnd = std::function<void(const EvalBatch&, const nn::Tensor& logits)>;

// wanted (optional): false for a batch (by the index of its first image) that nobody reads; it is
// then not forwarded (the other batches are the same: each is forwarded on its own).
// reads: what on_block reads (nn::ProbeReads: a probe that never reads z lets the forward keep the
// conv→relu fusion and skip the z buffers; the tensors it sees are the same bits).
void stream_eval(nn::Network& net, const nn::LabeledImages& data, size_t images, int batch,
                 const EvalBlockProbe& on_block, const EvalBatchEnd& on_batch_end = nullptr,
                 const std::function<bool(size_t offset)>& wanted = nullptr, nn::ProbeReads reads = {});

}  // namespace imaging
