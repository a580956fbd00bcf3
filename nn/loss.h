// nn/loss.h — softmax cross-entropy, the training loss.
//
// Promise: for logits (N, K, 1, 1) and labels (N) in [0, K), returns the mean over the batch of
// −log softmax(logits)[label] (computed with the max subtracted, in double) and, when dlogits is
// not null, writes dL/dlogits = (softmax − onehot)/N.  `correct` (optional) counts argmax hits
// (the first maximum wins, as torch.argmax).
#pragma once
#include <cstdint>

#include "nn/tensor.h"

namespace nn {

double softmax_cross_entropy(const Tensor& logits, const uint8_t* labels, Tensor* dlogits, int* correct = nullptr);

// The predicted class of one sample's K logits: the first maximum (as torch.argmax).
int predicted_class(const float* logits, int k);

// log p(label | x) for every sample: out[n] = log softmax(logits[n])[labels[n]].
void log_prob_of_label(const Tensor& logits, const uint8_t* labels, double* out);

}  // namespace nn
