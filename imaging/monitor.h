// imaging/monitor.h — the production monitor: a profile of clean data, per-image abnormality
// scores (ours and four baselines) and per-window drift tests (README "Monitoring").
//
// Promise, with h(x) the penultimate features (the output block's input, D values), f(x) the
// logits (K values) and φ_g(x) the region statistic of the grid stage (imaging/grid_stats.h) for
// every region g of every imaged block l (run::RegionGrid):
//   Profile (fit_profile, on N clean images, labels y):
//     μ_g, σ_g   mean and population standard deviation of φ_g over the N images;
//     q_g,j      the sketch: exact quantiles of φ_g at p_j = j/(Q−1), j = 0 … Q−1 (linear
//                interpolation between order statistics, numpy's default);
//     m_k        class means of h;  Σ = (1/N) Σ_i (h_i − m_{y_i})(h_i − m_{y_i})ᵀ (tied), and its inverse
//                P = (Σ + δI)⁻¹, δ = 1e-6 · tr(Σ)/D + 1e-12 (numerical only: dead units have variance 0);
//     u_s        the unit vectors h/‖h‖ of the first min(N, knn_images) images.
//   Scores of one image, every one "higher = more abnormal":
//     msp          −max_k softmax(f)_k                               (Hendrycks & Gimpel 2017)
//     energy       −log Σ_k exp(f_k)                                  (Liu et al. 2020, T = 1)
//     mahalanobis  min_k (h − m_k)ᵀ P (h − m_k)                        (Lee et al. 2018, no input noise)
//     knn          ‖u − u_(k)‖, u = h/‖h‖ (0 when h = 0), u_(k) the k-th nearest stored u_s
//                                                                      (Sun et al. 2022)
//     spatial      (ours) S(x) = (1/L) Σ_l (1/|G_l|) Σ_{g∈G_l} z_g(x)²,  z_g = (φ_g(x) − μ_g)/σ_g,
//                  G_l the regions of block l with σ_g > kMinRegionSd (a region constant on the
//                  clean data has no scale), L the blocks with G_l non-empty: every block weighs the
//                  same whatever its number of regions.  Its region map is z_g.
//     spatial_zeta (ours, when the profile holds weights) S_ζ(x) = (1/L') Σ_l Σ_{g∈G_l} w_g z_g(x)²,
//                  w_g = |φ̂_g| / Σ_{g'∈G_l} |φ̂_g'|, φ̂_g the region's Shapley value from a zeta.json of
//                  the checkpoint (set_zeta_weights), L' the blocks with Σ_{G_l} |φ̂| > 0.
//     spatial_cov  (ours, always) per block l with z_l = (z_g)_{g∈G_l} (p values): at fit, c_i = z_l,i − z̄_l,
//                  S_l = (1/N) Σ c_i c_iᵀ, Ledoit–Wolf C_l = ρ m I + (1 − ρ) S_l, m = tr S_l / p,
//                  δ² = ‖S_l − mI‖²_F / p, β² = min(δ², Σ_i ‖c_i c_iᵀ − S_l‖²_F / (N² p)), ρ = β²/δ² (1 if δ² = 0),
//                  P_l = (C_l + δ'I)⁻¹ (δ' the ridge of the penultimate precision);
//                  d_l(x) = (z_l(x) − z̄_l)ᵀ P_l (z_l(x) − z̄_l), a_l, b_l its mean and population sd over
//                  the fit images;  spatial_cov(x) = (1/L_c) Σ_l (d_l(x) − a_l)/b_l over the blocks with
//                  G_l non-empty and b_l > 0.  It sees shifts that move many regions of a block a little
//                  in a way the clean images do not; its region map is z_g, as for spatial.
//     spatial_typ  (ours, always) the two-sided version of spatial_cov (typicality, Nalisnick et al. 2019):
//                  spatial_typ(x) = (1/L_c) Σ_l |d_l(x) − a_l|/b_l over the same blocks; a block counts
//                  when its distance is unusually large *or* unusually small.  On the fit images its mean
//                  is ≤ 1 (each |t_l| has mean ≤ sd = 1), and spatial_typ ≥ |spatial_cov| always.
//     spatial_knn  (ours, when the profile has a bank: `profile --spatial-bank B`; pre-registered 2026-12-02, Deep k-NN of Papernot & McDaniel 2018 on the
//                  region maps) v(x) = concatenation over blocks l of z_l(x)/√(|G_l|·L), z_l as block_z
//                  computes it (0 outside G_l), |G_l| and L as in spatial, so ‖v‖² = S(x);  the bank b_s:
//                  v of the first B = min(spatial_bank, N) fit images in file order;
//                  spatial_knn(x) = the k-th smallest ‖v(x) − b_s‖ (k = knn_k): the k nearest rows chosen by
//                  ‖v‖² + ‖b‖² − 2 v·b (one sgemm per batch), their distances summed from the vectors in
//                  double.  No unit-length normalisation.
//   Drift of a window of n images, per region g in G: the Kolmogorov–Smirnov distance
//     D_g = sup_v |F_n(v) − F_g(v)| between the window's φ_g and the profile's CDF F_g (the sketch,
//     linear between the q_g,j), p_g = Q_KS((√n_e + 0.12 + 0.11/√n_e)·D_g), n_e = nN/(n + N) (the
//     two-sample asymptotic), Q_KS(λ) = 2 Σ_{j≥1} (−1)^{j−1} e^{−2j²λ²};  Benjamini–Hochberg over
//     all tested regions: p̃_(i) = min_{j≥i} min(1, m·p_(j)/j);  the window alarms when min p̃ < α.
// Everything is in image order and per image, so the scores do not depend on the batch size or the
// thread count beyond the net's own forward (imaging/grid_stats.h) and the KNN product (OpenBLAS).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "base/json.h"
#include "imaging/grid_stats.h"
#include "nn/data.h"
#include "nn/network.h"
#include "nn/tensor.h"
#include "run/region_grid.h"

namespace imaging {

constexpr double kMinRegionSd = 1e-6;  // σ_g at or below this: the region is left out of S and of the tests

struct MonitorSettings {
  GridSettings grid;       // region grid, λ and ε of φ
  int quantiles = 101;     // Q: sketch points per region (percentiles)
  int knn_k = 10;          // k of the KNN score
  long knn_images = 5000;  // stored unit vectors u_s (the first images of the fit set)
  long spatial_bank = 0;   // B of spatial_knn: the first min(N, this) fit images' maps; 0: no bank, no spatial_knn
};

struct LayerProfile {
  std::string name;      // the block: conv1, pool1, ...
  run::RegionGrid grid;  // the block's output cut by settings.grid
  nn::Tensor mean, sd;   // (1, 1, 1, R) μ_g, σ_g
  nn::Tensor quantiles;  // (1, 1, R, Q) q_g,j
  nn::Tensor weight;     // (1, 1, 1, R) |φ̂_g| from zeta.json, when Profile::zeta_file is set; else empty
  // spatial_cov (README "Monitoring"), over the regions of G_l; 0 at every region outside G_l:
  nn::Tensor cov_centre;     // (1, 1, 1, R) z̄_l
  nn::Tensor cov_precision;  // (1, 1, R, R) P_l = (C_l + δ'I)⁻¹, C_l the Ledoit–Wolf covariance of z_l
  nn::Tensor cov_scale;      // (1, 1, 1, 2) a_l, b_l: mean and population sd of d_l over the fit images
};

struct Profile {
  std::string checkpoint_sha256;  // the identity of the checkpoint it was fitted with
  base::Json about;               // {"checkpoint": {path, spec, epoch}, "data": ...} as written
  long images = 0;                // N
  MonitorSettings settings;
  std::vector<LayerProfile> layers;  // one per imaged block, in block order
  int classes = 0, features = 0;     // K, D
  nn::Tensor class_means;            // (1, 1, K, D) m_k
  nn::Tensor precision;              // (1, 1, D, D) P
  nn::Tensor knn;                    // (1, 1, M, D) u_s
  nn::Tensor spatial_bank;           // (1, 1, B, ΣR_l) v of the first B fit images (spatial_knn); empty: B = 0
  std::string zeta_file;             // the zeta.json the weights came from; empty: no spatial_zeta
};

// The profile of images 0 … images−1 of data (needs every class present), streamed in batches.
// Memory: the φ of every (region, image) and h of every image are kept until the quantiles are taken.
Profile fit_profile(nn::Network& net, const nn::LabeledImages& data, long images, int batch,
                    const MonitorSettings& settings, const std::string& checkpoint_sha256, base::Json about);
// The weights of spatial_zeta: |shapley| of every region of every block from zeta (the parsed
// zeta.json at path, of the checkpoint of `epoch`); base::Error naming path and the JSON pointer when
// its epoch differs, its settings.grid is not the profile's grid, a block or region is missing, or a value
// is not finite.
void set_zeta_weights(Profile& profile, const base::Json& zeta, const std::string& path, int epoch);
// The checks of set_zeta_weights that need no fit (its epoch, its settings.grid against `grid`), for
// `profile` to make before the fit.
void check_zeta_file(const base::Json& zeta, const std::string& path, const run::GridSpec& grid, int epoch);
// Framed (nn/framed_file.h, magic "NNFMRIpf"), atomic.
void save_profile(const std::string& path, Profile& profile);
// Reads and checks a profile (framing, CRC, every header field and tensor shape); base::Error naming path.
Profile load_profile(const std::string& path);
constexpr size_t kMaxProfileBytes = size_t(1) << 30;
// Throws base::Error naming profile_path unless the profile was fitted with the checkpoint whose
// file has this SHA-256 and its blocks are the net's.
void check_profile_fits(const Profile& profile, const std::string& profile_path, const nn::Network& net,
                        const std::string& checkpoint_path, const std::string& checkpoint_sha256);

// ---- the scores, as pure functions (README "Monitoring"; tested on hand cases) ----
// Working buffers of mahalanobis_scores, knn_scores and block_distances.  A caller that scores batch
// after batch (Monitor) passes the same one each time, so that the buffers — several of them larger
// than glibc's mmap threshold (base/memory.h) — are allocated, mapped and faulted in once, not at
// every call.  Only where the scratch lives changes: every buffer is fully written before it is read.
struct ScoreScratch {
  std::vector<float> a, b;  // mahalanobis: d, e (count × D); knn: unit (count × D), dots (count × M); spatial_knn: b = dots (count × B)
};
double msp_score(const float* logits, int classes);
double energy_score(const float* logits, int classes);
// Per image of h (count, D): min over classes of (h − μ_k)ᵀ P (h − μ_k); means (K, D), precision (D, D).
std::vector<double> mahalanobis_scores(const float* h, int count, const float* means, const float* precision, int classes,
                                       int features, ScoreScratch* scratch = nullptr);
// Per image of h (count, D): the k-th smallest distance of h/‖h‖ to the bank (M, D) of unit vectors (a
// zero row: a fit image with h = 0), found as spatial_knn_scores finds it; k ≤ M.
std::vector<double> knn_scores(const float* h, int count, const float* bank, long bank_count, int features, int k,
                               ScoreScratch* scratch = nullptr);
// F_g(v) from the sketch q (Q ascending values at p_j = j/(Q−1)).
double sketch_cdf(const float* q, int count, double v);
// The exact quantiles of values at p_j = j/(Q−1) (linear between order statistics); values is sorted.
std::vector<float> sketch_quantiles(std::vector<double> values, int count);
// D = sup |F_n − F| of the window values against the sketch (F's jumps at repeated quantiles included).
double ks_distance(std::vector<double> window, const float* q, int count);
// p of D for a window of n against a reference of m (the asymptotic two-sample formula above).
// (Benjamini–Hochberg: imaging/zeta_stats.h, the one the ζ stage uses.)
double ks_p_value(double distance, double n, double m);
// The Ledoit–Wolf shrinkage covariance (p, p) of the rows of x (n, p) (README "spatial_cov"); centre
// gets the rows' mean, shrinkage ρ.  Needs n ≥ 1, p ≥ 1.
std::vector<double> ledoit_wolf(const std::vector<double>& x, long n, int p, std::vector<double>& centre, double& shrinkage);
// z_g = (φ_g − μ_g)/σ_g of `count` images of the block (φ and z: count × R), 0 where σ_g ≤ kMinRegionSd.
void block_z(const LayerProfile& layer, const float* phi, int count, float* z);
// d_l of `count` images from their z (count × R): (z − z̄_l)ᵀ P_l (z − z̄_l).
std::vector<double> block_distances(const LayerProfile& layer, const float* z, int count, ScoreScratch* scratch = nullptr);

// spatial_knn (README "Monitoring"): v of `count` images into v (count × ΣR_l, blocks in profile order),
// from z of each block (z[l]: count × R_l, as block_z writes it) and the block weights 1/√(|G_l|·L);
// ‖v‖² = S.
void spatial_vectors(const Profile& profile, const std::vector<const float*>& z, int count, float* v);
// Per row of v (count, dims): the k-th smallest Euclidean distance to the rows of bank (bank_count, dims);
// the k nearest rows are chosen by ‖v‖² + ‖b‖² − 2 v·b (v·b one sgemm), their distances summed from the
// vectors in double (a row equal to v is at 0); k ≤ bank_count.
std::vector<double> spatial_knn_scores(const float* v, int count, const float* bank, long bank_count, int dims, int k,
                                       ScoreScratch* scratch = nullptr);

// ---- scoring a stream ----
struct RegionScore {
  int layer = 0, region = 0;
  double z = 0;
};
struct ImageScores {
  int prediction = 0;
  double msp = 0, energy = 0, mahalanobis = 0, knn = 0, spatial = 0;
  double spatial_zeta = 0;  // 0 when the profile has no weights
  double spatial_cov = 0;   // 0 when no block has b_l > 0
  double spatial_typ = 0;   // 0 when no block has b_l > 0
  double spatial_knn = 0;   // 0 when the profile has no bank
  std::vector<RegionScore> top;        // the kTopRegions largest |z| over every block, largest first
  std::vector<RegionScore> layer_top;  // per block with G_l non-empty, its largest |z|
};
constexpr int kTopRegions = 5;

struct WindowDrift {
  long first = 0, images = 0;  // the window: images first … first + images − 1
  int tested = 0, drifting = 0;  // regions tested; with p̃ < α
  bool alarm = false;
  struct Region {
    int layer, region;
    double distance, p, adjusted;
  };
  std::vector<Region> top;  // the kTopRegions smallest p̃
};

// Scores batches of images one after the other, and tests each full window of `window` images.
class Monitor {
 public:
  Monitor(const Profile& profile, nn::Network& net, long window, double alpha);
  // Runs the net on x (count, C, H, W), normalised; fills one ImageScores per image and, after every
  // image that completes a window, that window's drift (on_window).  z of image i of this batch for
  // every region: region_z(i) (valid until the next call).
  void score_batch(const nn::Tensor& x, std::vector<ImageScores>& scores, std::vector<WindowDrift>& windows);
  // z_g of image i of the last batch: one vector per block (R values, 0 where σ_g ≤ kMinRegionSd).
  std::vector<std::vector<float>> region_z(int i) const;
  const Profile& profile() const { return profile_; }

 private:
  WindowDrift test_window();
  const Profile& profile_;
  nn::Network& net_;
  long window_;
  double alpha_;
  long seen_ = 0;
  std::vector<std::vector<float>> phi_;     // per block (count, R) φ of the last batch
  std::vector<std::vector<double>> pending_;  // per block (R, images of the open window) φ
  long pending_images_ = 0;
  std::vector<float> features_;             // (count, D) h of the last batch
  std::vector<std::vector<float>> z_;       // per block (count, R_l): z of the last batch (spatial_knn, spatial_cov)
  std::vector<float> spatial_v_;            // (count, ΣR_l) v of the last batch (spatial_knn)
  ScoreScratch scratch_;                    // mahalanobis_scores', knn_scores' and block_distances' buffers
};

}  // namespace imaging
