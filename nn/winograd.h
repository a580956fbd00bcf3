// nn/winograd.h — 3×3, stride 1, padding 1 convolutions by Winograd's minimal filtering F(4×4, 3×3)
// (Lavin & Gray 2016, "Fast Algorithms for Convolutional Neural Networks").
//
// The map: the output is cut into 4×4 tiles; tile t reads the 6×6 input patch d_t starting one pixel
// above and left of it (zeros outside the image) and computes
//     Y_t = Aᵀ [ Σ_c U_c ⊙ V_{c,t} ] A,   U = G g Gᵀ (6×6 per (oc, c)),   V = Bᵀ d B,
// which equals the direct convolution exactly in real arithmetic with 36 multiplications per 4×4
// outputs instead of 144.  For each of the 36 positions ξ of the 6×6 transformed tile the channel sum
// is one GEMM:  M[ξ] (OC × P) = U[ξ] (OC × C) · V[ξ] (C × P),  P = tiles of a chunk of images.
// In float the result differs from the direct sum by up to ~1e-5 of the map's largest value (F(2×2,
// 3×3) ~1e-6): the transforms' constants (4, 5, 8, ⅙, 1/24) grow rounding.
//
// Backward is the exact adjoint of that linear map (so it is the gradient of what forward computed):
//     dM[ξ] = (A dY_t Aᵀ)[ξ]                  the adjoint of the output transform
//     dU[ξ] += dM[ξ] · V[ξ]ᵀ  →  dg = Gᵀ dU G   the weight gradient (adjoint of the weight transform)
//     dV[ξ]  = U[ξ]ᵀ · dM[ξ]  →  dd_t = B dV Bᵀ, added into the overlapping input patches
// Two GEMMs of the same size as forward's, again 4× fewer multiplications than im2col's.
//
// Threads: images are split into one contiguous range per OpenMP thread; each thread walks its range
// in chunks of 8 images and calls single-threaded SGEMM.  Forward and backward go through a chunk's
// tiles one 128-column block at a time (transform, 36 GEMMs, transform back) so that the block's
// transformed arrays stay in cache; the weight gradient's GEMMs take one block at a time too.
// Weight-gradient partials are summed in thread order: same thread count ⇒ same bits.
#pragma once
#include <cstddef>

namespace nn::winograd {

// The geometry this file computes: a 3×3 kernel, stride 1, padding 1.
bool fits(int kh, int kw, int stride, int pad);
// Whether Conv2d uses it by default: fits, and enough channels for the GEMMs to be efficient (with 3
// input channels, conv1, im2col's single K = 27 GEMM is faster).
bool suits(int kh, int kw, int stride, int pad, int in_channels, int out_channels);

// U: 36 planes (OC, C), each followed by a small skew (see winograd.cpp), transformed_size() floats.
size_t transformed_size(int OC, int C);
// U from weight (OC, C, 3, 3).
void transform_weights(const float* weight, int OC, int C, float* U);

// y (N, OC, H, W) = conv(x (N, C, H, W)) + bias (OC, may be null); U from transform_weights.
void forward(const float* x, int N, int C, int H, int W, const float* U, int OC, const float* bias, float* y);

// From dy (N, OC, H, W): dx (N, C, H, W) overwritten when not null; when dweight is not null,
// dweight (OC, C, 3, 3) += the weight gradient.  (The bias gradient is Conv2d's, as for im2col.)
void backward(const float* x, const float* dy, int N, int C, int H, int W, const float* U, int OC, float* dx,
              float* dweight);

}  // namespace nn::winograd
