#include "nn/loss.h"

#include <cmath>

namespace nn {

int predicted_class(const float* z, int k) {
  int best = 0;
  for (int j = 1; j < k; ++j)
    if (z[j] > z[best]) best = j;
  return best;
}

void log_prob_of_label(const Tensor& logits, const uint8_t* labels, double* out) {
  const int N = logits.n(), K = logits.c();
  for (int n = 0; n < N; ++n) {
    const float* z = logits.sample(n);
    float m = z[predicted_class(z, K)];
    double s = 0;
    for (int j = 0; j < K; ++j) s += std::exp(double(z[j]) - m);
    out[n] = double(z[labels[n]]) - m - std::log(s);
  }
}

double softmax_cross_entropy(const Tensor& logits, const uint8_t* labels, Tensor* dlogits, int* correct) {
  const int N = logits.n(), K = logits.c();
  if (dlogits) dlogits->resize(logits.shape());
  double total = 0;
  int hits = 0;
  for (int n = 0; n < N; ++n) {
    const float* z = logits.sample(n);
    int best = predicted_class(z, K);
    hits += best == labels[n];
    float m = z[best];
    double s = 0;
    for (int j = 0; j < K; ++j) s += std::exp(double(z[j]) - m);
    double log_s = std::log(s);
    total += -(double(z[labels[n]]) - m - log_s);
    if (dlogits) {
      float* d = dlogits->sample(n);
      for (int j = 0; j < K; ++j) d[j] = float((std::exp(double(z[j]) - m - log_s) - (j == labels[n])) / N);
    }
  }
  if (correct) *correct = hits;
  return total / N;
}

}  // namespace nn
