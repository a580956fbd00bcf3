// datasets/corrupt.h — CIFAR-10-C style shifts of an image set (`nnfmri corrupt`).
//
// Promise: corrupt_image changes one 0..255 image (C, H, W) in place, as Hendrycks & Dietterich
// (2019, make_cifar_c.py) do, on x = pixel / 255 and back with round(255 · clip(y, 0, 1)) (their
// np.uint8 truncates instead; rounding keeps a pixel the corruption leaves alone, such as a blurred
// constant image, unchanged, and adds no −0.5 bias).  c is the severity's parameter (1 … 5):
//   noise      y = x + c·n,  n ~ N(0, 1) per value;  c = 0.04, 0.06, 0.08, 0.09, 0.10
//   blur       y = G_c * x per channel: the separable Gaussian of σ = c, radius ⌊4σ + 0.5⌋, weights
//              exp(−t²/2σ²) normalised to sum 1, edges repeat the border pixel (scipy's mode
//              'nearest', what skimage.filters.gaussian uses);  c = 0.4, 0.6, 0.7, 0.8, 1.0
//   contrast   y = (x − m_ch)·c + m_ch, m_ch the mean of the channel over the image;
//              c = 0.75, 0.5, 0.4, 0.3, 0.15
//   occlusion  (ours; CIFAR-10-C has none) a black square (pixels 0 in every channel) of side
//              c = 4, 8, 12, 16, 20 pixels (at most the image's side) at a uniformly drawn position
//              wholly inside the image; its top-left corner and side are returned.
// Random draws come from the nn::Rng the caller passes (one per image, nn::Rng::derive(seed, split,
// image) in corrupt_dataset), so the result depends on the seed only, not on threads or order.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "datasets/dataset.h"
#include "nn/rng.h"

namespace datasets {

enum class CorruptionKind { noise, blur, contrast, occlusion };

const std::vector<std::string>& corruption_names();  // noise, blur, contrast, occlusion
// The kind named `name`; throws base::Error naming `flag`, the value and the names expected.
CorruptionKind corruption_kind(const std::string& name, const std::string& flag);
constexpr int kMaxSeverity = 5;
// c of `kind` at `severity` (1 … kMaxSeverity; else base::Error naming --severity).
double corruption_parameter(CorruptionKind kind, int severity);

struct Occlusion {
  int y = -1, x = -1, side = 0;  // top-left row and column, side in pixels; side 0: none
};

// image (C, H, W) 0..255, changed in place.  Returns the square for occlusion, else {}.
Occlusion corrupt_image(uint8_t* image, int channels, int height, int width, CorruptionKind kind, int severity,
                        nn::Rng& rng);

// Every image of d corrupted with nn::Rng::derive(seed, split, i) for image i; the squares of
// occlusion in image order (empty for the other kinds).
std::vector<Occlusion> corrupt_dataset(Dataset& d, CorruptionKind kind, int severity, uint64_t seed, uint64_t split);

}  // namespace datasets
