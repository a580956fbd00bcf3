#include "imaging/monitor.h"

#include <cblas.h>
#include <f77blas.h>
#include <omp.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <numeric>

#include "imaging/net_view.h"
#include "base/error.h"
#include "base/format.h"
#include "base/json.h"
#include "base/sha256.h"
#include "imaging/eval_stream.h"
#include "imaging/zeta_stats.h"
#include "nn/framed_file.h"

namespace imaging {

namespace {

const char kProfileMagic[8] = {'N', 'N', 'F', 'M', 'R', 'I', 'p', 'f'};
constexpr int kMaxQuantiles = 1001;
// Fewest sketch points a fit writes: with 2 (a region's min and max) the KS test alarmed on every clean
// window (30 of 30, a 2-epoch reference on the CIFAR-10 subset, 2026-12-02), from 5 on on none of 30.
// A profile file of 2 to 4 written before is still read.
constexpr int kMinFitQuantiles = 5;
constexpr int kMaxProfileClasses = 65536;
constexpr long kMaxKnnImages = 1L << 20;
// 2: spatial_cov's tensors (README "Monitoring"); a version-1 profile has none and is refused.
// 3: spatial_knn's bank; a version-2 profile has none and is refused.
constexpr int kProfileVersion = 3;

nn::Tensor row_tensor(int rows, int cols) { return nn::Tensor(1, 1, rows, cols); }

// The float32 values of a profile's tensors (profile_tensors): Mahalanobis's class means and D×D
// precision, KNN's bank, and per block its mean, sd, quantiles, ζ weights (`zeta`), covariance centre, R×R
// precision and scale, then spatial_knn's bank.  load_profile checks it against the file before
// allocating; fit_profile before fitting, so a profile no command could read is never written.
double profile_floats(const Profile& p, long knn_bank, long spatial_bank, bool zeta) {
  double floats = double(p.classes) * p.features + double(p.features) * p.features + double(knn_bank) * p.features;
  double dims = 0;  // ΣR_l: the width of spatial_knn's bank
  for (const LayerProfile& l : p.layers) {
    const double regions = l.grid.count();
    dims += regions;
    floats += regions * (3.0 + p.settings.quantiles + (zeta ? 1.0 : 0.0) + regions) + 2.0;
  }
  return floats + double(spatial_bank) * dims;
}

// (count, R) φ of every region of block output a (count, C, H, W).
void block_phi(const run::RegionGrid& grid, const float* a, int count, const MonitorSettings& settings,
               std::vector<float>& phi) {
  const int regions = grid.count();
  const size_t sample = size_t(grid.channels) * grid.height * grid.width;
  phi.resize(size_t(count) * regions);
#pragma omp parallel for schedule(static)
  for (int i = 0; i < count; ++i) {
    std::vector<double> image(static_cast<size_t>(regions));
    image_phi(grid, a + size_t(i) * sample, settings.grid.lambda, settings.grid.epsilon, image.data());
    for (int r = 0; r < regions; ++r) phi[size_t(i) * regions + r] = float(image[size_t(r)]);
  }
}

// While alive, OpenBLAS (and OpenMP, which openblas_set_num_threads also sets) runs on one thread: the
// profile's covariances and precisions are then summed in one order at any --threads, and a threaded
// factorisation of these sizes was no faster on 2 shared cores (bench/README.md).
struct OneBlasThread {
  const int threads = omp_get_max_threads();
  OneBlasThread() { openblas_set_num_threads(1); }
  ~OneBlasThread() { openblas_set_num_threads(threads); }
  OneBlasThread(const OneBlasThread&) = delete;
  OneBlasThread& operator=(const OneBlasThread&) = delete;
};

// (Σ + δI)⁻¹ through LAPACK's Cholesky (dpotrf) and inverse from it (dpotri), in double; δ = 10⁻⁶·tr Σ/n + 10⁻¹².
// Σ is symmetric, so its row-major array is its column-major one: both routines work on one triangle and
// the other is mirrored. what: the matrix, for the error when it is not positive definite.
std::vector<double> inverse_spd(std::vector<double> a, int n, const std::string& what) {
  double trace = 0;
  for (int i = 0; i < n; ++i) trace += a[size_t(i) * n + i];
  const double ridge = 1e-6 * trace / n + 1e-12;
  for (int i = 0; i < n; ++i) a[size_t(i) * n + i] += ridge;
  char lower = 'L';
  blasint order = n, factored = 0, inverted = 0;
  {
    const OneBlasThread one;
    dpotrf_(&lower, &order, a.data(), &order, &factored);
    if (factored == 0) dpotri_(&lower, &order, a.data(), &order, &inverted);
  }
  if (factored != 0) throw base::Error("monitor: " + what + " is not positive definite");
  if (inverted != 0) throw base::Error("monitor: " + what + " is singular");
  for (int c = 0; c < n; ++c)  // column-major lower triangle (row > c) → the upper one
    for (int r = c + 1; r < n; ++r) a[size_t(r) * n + c] = a[size_t(c) * n + r];
  return a;
}

// The penultimate block: the one whose output feeds the last block (the logits).
int output_block(const nn::Network& net) { return int(net.blocks().size()) - 1; }

}  // namespace

// ---- the scores ----

double msp_score(const float* logits, int classes) {
  const double top = *std::max_element(logits, logits + classes);
  double sum = 0;
  for (int k = 0; k < classes; ++k) sum += std::exp(double(logits[k]) - top);
  return -1.0 / sum;  // max_k softmax = e^0 / Σ e^{f_k − max}
}

double energy_score(const float* logits, int classes) {
  const double top = *std::max_element(logits, logits + classes);
  double sum = 0;
  for (int k = 0; k < classes; ++k) sum += std::exp(double(logits[k]) - top);
  return -(top + std::log(sum));
}

// d_k = h − μ_k for every image and class, E = D_k·P (one sgemm per class), q_k = Σ_j E_j d_j.
std::vector<double> mahalanobis_scores(const float* h, int count, const float* means, const float* precision, int classes,
                                       int features, ScoreScratch* scratch) {
  std::vector<double> best(size_t(count), std::numeric_limits<double>::infinity());
  ScoreScratch local;
  ScoreScratch& buffers = scratch ? *scratch : local;
  std::vector<float>& d = buffers.a;
  std::vector<float>& e = buffers.b;
  d.resize(size_t(count) * features);
  e.resize(size_t(count) * features);
  for (int k = 0; k < classes; ++k) {
    const float* mean = means + size_t(k) * features;
    for (int i = 0; i < count; ++i)
      for (int j = 0; j < features; ++j) d[size_t(i) * features + j] = h[size_t(i) * features + j] - mean[j];
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, count, features, features, 1.f, d.data(), features, precision,
                features, 0.f, e.data(), features);
    for (int i = 0; i < count; ++i) {
      double q = 0;
      for (int j = 0; j < features; ++j) q += double(e[size_t(i) * features + j]) * d[size_t(i) * features + j];
      best[size_t(i)] = std::min(best[size_t(i)], q);
    }
  }
  return best;
}

// u = h/‖h‖ (0 when h = 0), then the k-th nearest bank row as spatial_knn_scores finds it: a fit image whose
// features were all 0 left a zero row, at distance ‖u‖ (1, or 0 from u = 0) as the definition has it.
std::vector<double> knn_scores(const float* h, int count, const float* bank, long bank_count, int features, int k,
                               ScoreScratch* scratch) {
  ScoreScratch local;
  ScoreScratch& buffers = scratch ? *scratch : local;
  std::vector<float>& unit = buffers.a;
  unit.resize(size_t(count) * features);
  for (int i = 0; i < count; ++i) {
    const float* x = h + size_t(i) * features;
    double norm = 0;
    for (int j = 0; j < features; ++j) norm += double(x[j]) * x[j];
    norm = std::sqrt(norm);
    for (int j = 0; j < features; ++j) unit[size_t(i) * features + j] = norm > 0 ? float(x[j] / norm) : 0.f;
  }
  return spatial_knn_scores(unit.data(), count, bank, bank_count, features, k, &buffers);
}

namespace {

// F_g(v) for q_{j} ≤ float(v) < q_{j+1} known, q_0 ≤ v < q_{Q−1}: linear from q_j up to q_{j+1}.  j is at
// most Q − 2: a v just below q_{Q−1} whose float rounds up to it lies in the last interval.
double sketch_cdf_from(const float* q, int count, int j, double v) {
  j = std::min(j, count - 2);
  const double lo = q[j], hi = q[j + 1];
  const double within = hi > lo ? (v - lo) / (hi - lo) : 0.0;
  return (j + std::min(1.0, std::max(0.0, within))) / (count - 1);
}

}  // namespace

double sketch_cdf(const float* q, int count, double v) {
  if (v < q[0]) return 0;
  if (v >= q[count - 1]) return 1;
  // the last j with q_j ≤ v, then linear up to q_{j+1}
  return sketch_cdf_from(q, count, int(std::upper_bound(q, q + count, float(v)) - q) - 1, v);
}

std::vector<float> sketch_quantiles(std::vector<double> values, int count) {
  std::sort(values.begin(), values.end());
  std::vector<float> q(static_cast<size_t>(count));
  const double last = double(values.size() - 1);
  for (int j = 0; j < count; ++j) {
    const double position = last * j / (count - 1);
    const size_t below = size_t(std::floor(position));
    const size_t above = std::min(values.size() - 1, below + 1);
    q[size_t(j)] = float(values[below] + (position - double(below)) * (values[above] - values[below]));
  }
  return q;
}

// F_n is a step function and F continuous but where quantiles repeat (a point mass of the profile: a
// ReLU region that is 0 on most images), so the sup is at the sorted values v_i from either side:
// D = max_i max((i+1)/n − F(v_i), F(v_i−) − i/n), F(v−) the left limit: (the first j with q_j = v)/(Q−1)
// at a quantile's value, F(v) elsewhere.  With F(v_i) in place of F(v_i−) a point mass counted its whole
// jump as distance (D 0.59 for a window drawn like the profile, 60 % at one value).
double ks_distance(std::vector<double> window, const float* q, int count) {
  std::sort(window.begin(), window.end());
  const double n = double(window.size());
  double d = 0;
  int above = 0;  // q_0 … q_{above−1} ≤ float(v): sketch_cdf's upper bound, walked up with the sorted values
  int below = 0;  // q_0 … q_{below−1} < float(v): the left limit's lower bound
  for (size_t i = 0; i < window.size(); ++i) {
    const double v = window[i];
    const float vf = float(v);
    while (above < count && q[above] <= vf) ++above;
    while (below < count && q[below] < vf) ++below;
    double f = 1;
    if (v < q[0]) {
      f = 0;
    } else if (v < q[count - 1]) {
      f = sketch_cdf_from(q, count, above - 1, v);
    }
    // at a quantile's value the left limit is where its run of equal quantiles starts
    const double left = below < count && q[below] == vf ? double(below) / (count - 1) : f;
    d = std::max({d, double(i + 1) / n - f, left - double(i) / n});
  }
  return d;
}

double ks_p_value(double distance, double n, double m) {
  const double ne = n * m / (n + m), root = std::sqrt(ne);
  const double lambda = (root + 0.12 + 0.11 / root) * distance;
  if (lambda < 0.2) return 1.0;  // the series converges slowly there and the sum is 1 to 1e-9
  double sum = 0;
  for (int j = 1; j <= 100; ++j) {
    const double term = std::exp(-2.0 * j * j * lambda * lambda);
    sum += (j % 2 ? 2.0 : -2.0) * term;
    if (term < 1e-17) break;
  }
  return std::min(1.0, std::max(0.0, sum));
}

// S = (1/n) Σ c_i c_iᵀ with c_i = x_i − x̄; Σ_i ‖c_i c_iᵀ − S‖²_F = Σ_i ‖c_i‖⁴ − n‖S‖²_F (expand the square;
// Σ_i c_iᵀ S c_i = n tr S²), so β² = min(δ², (Σ_i ‖c_i‖⁴ / n − ‖S‖²_F) / (n p)), as sklearn's ledoit_wolf.
std::vector<double> ledoit_wolf(const std::vector<double>& x, long n, int p, std::vector<double>& centre, double& shrinkage) {
  centre.assign(size_t(p), 0.0);
  for (long i = 0; i < n; ++i)
    for (int a = 0; a < p; ++a) centre[size_t(a)] += x[size_t(i) * p + a];
  for (double& c : centre) c /= double(n);
  std::vector<double> c(size_t(n) * p), s(size_t(p) * p, 0.0);
  double fourth = 0;  // Σ_i ‖c_i‖⁴
  for (long i = 0; i < n; ++i) {
    double norm2 = 0;
    for (int a = 0; a < p; ++a) {
      const double v = x[size_t(i) * p + a] - centre[size_t(a)];
      c[size_t(i) * p + a] = v, norm2 += v * v;
    }
    fourth += norm2 * norm2;
  }
  cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, p, int(n), 1.0 / double(n), c.data(), p, 0.0, s.data(), p);
  for (int a = 0; a < p; ++a)
    for (int b = 0; b < a; ++b) s[size_t(a) * p + b] = s[size_t(b) * p + a];
  double trace = 0, frobenius2 = 0;
  for (int a = 0; a < p; ++a) trace += s[size_t(a) * p + a];
  for (const double v : s) frobenius2 += v * v;
  const double m = trace / p;
  double delta2 = 0;  // ‖S − mI‖²_F / p
  for (int a = 0; a < p; ++a)
    for (int b = 0; b < p; ++b) {
      const double v = s[size_t(a) * p + b] - (a == b ? m : 0.0);
      delta2 += v * v;
    }
  delta2 /= p;
  const double beta2 = std::min(delta2, std::max(0.0, (fourth / double(n) - frobenius2) / (double(n) * p)));
  shrinkage = delta2 > 0 ? beta2 / delta2 : 1.0;
  for (int a = 0; a < p; ++a)
    for (int b = 0; b < p; ++b) {
      double& v = s[size_t(a) * p + b];
      v = (1 - shrinkage) * v + (a == b ? shrinkage * m : 0.0);
    }
  return s;
}

void block_z(const LayerProfile& layer, const float* phi, int count, float* z) {
  const int regions = layer.grid.count();
  for (int i = 0; i < count; ++i)
    for (int r = 0; r < regions; ++r) {
      const float sd = layer.sd.data()[r];
      z[size_t(i) * regions + r] = sd > kMinRegionSd ? (phi[size_t(i) * regions + r] - layer.mean.data()[r]) / sd : 0.f;
    }
}

// The quadratic form of mahalanobis_scores with one "class", the block's centre.
std::vector<double> block_distances(const LayerProfile& layer, const float* z, int count, ScoreScratch* scratch) {
  return mahalanobis_scores(z, count, layer.cov_centre.data(), layer.cov_precision.data(), 1, layer.grid.count(), scratch);
}

// The block weights of v: 1/√(|G_l|·L) for a block with G_l non-empty (L of them), 0 otherwise.
void spatial_vectors(const Profile& profile, const std::vector<const float*>& z, int count, float* v) {
  std::vector<int> used(profile.layers.size(), 0);
  int blocks = 0;
  size_t dims = 0;
  for (size_t l = 0; l < profile.layers.size(); ++l) {
    const LayerProfile& layer = profile.layers[l];
    for (int r = 0; r < layer.grid.count(); ++r) used[l] += layer.sd.data()[r] > kMinRegionSd;
    blocks += used[l] > 0;
    dims += size_t(layer.grid.count());
  }
  size_t offset = 0;
  for (size_t l = 0; l < profile.layers.size(); ++l) {
    const int regions = profile.layers[l].grid.count();
    const double scale = used[l] > 0 ? 1.0 / std::sqrt(double(used[l]) * double(blocks)) : 0.0;
    for (int i = 0; i < count; ++i)
      for (int r = 0; r < regions; ++r) v[size_t(i) * dims + offset + size_t(r)] = float(double(z[l][size_t(i) * regions + r]) * scale);
    offset += size_t(regions);
  }
}

// The dot products with the bank in one sgemm: (count, dims)·(dims, M); d² ≈ ‖v‖² + ‖b_s‖² − 2 v·b_s in
// double picks the k nearest rows of each row of v in one pass, and their distances are then summed from
// the vectors in double, the largest of the k being the score.  The expansion only chooses the rows: its
// float cancellation, ~1e-7·(‖v‖² + ‖b‖²) in d², puts a bank row equal to v up to 1e-3 away once rooted,
// so the expansion's k-th value, clamped at 0, is not the score.
std::vector<double> spatial_knn_scores(const float* v, int count, const float* bank, long bank_count, int dims, int k,
                                       ScoreScratch* scratch) {
  std::vector<double> scores(static_cast<size_t>(count));
  if (count == 0) return scores;
  std::vector<double> bank_norm2(static_cast<size_t>(bank_count));
  for (long s = 0; s < bank_count; ++s) {
    double n2 = 0;
    for (int j = 0; j < dims; ++j) n2 += double(bank[size_t(s) * dims + j]) * bank[size_t(s) * dims + j];
    bank_norm2[size_t(s)] = n2;
  }
  ScoreScratch local;
  std::vector<float>& dots = (scratch ? *scratch : local).b;
  dots.resize(size_t(count) * size_t(bank_count));
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, count, int(bank_count), dims, 1.f, v, dims, bank, dims, 0.f,
              dots.data(), int(bank_count));
#pragma omp parallel for schedule(static)
  for (int i = 0; i < count; ++i) {
    const float* x = v + size_t(i) * dims;
    double n2 = 0;
    for (int j = 0; j < dims; ++j) n2 += double(x[j]) * x[j];
    const float* row = dots.data() + size_t(i) * size_t(bank_count);
    std::vector<std::pair<double, long>> nearest;  // the k smallest approximate d² so far with their rows, ascending
    nearest.reserve(size_t(k));
    for (long s = 0; s < bank_count; ++s) {
      const double d2 = n2 + bank_norm2[size_t(s)] - 2.0 * double(row[s]);
      if (long(nearest.size()) == k && !(d2 < nearest.back().first)) continue;
      if (long(nearest.size()) < k) nearest.emplace_back(d2, s);
      int at = int(nearest.size()) - 1;  // shift the larger ones up and put d2 in order
      for (; at > 0 && nearest[size_t(at - 1)].first > d2; --at) nearest[size_t(at)] = nearest[size_t(at - 1)];
      nearest[size_t(at)] = {d2, s};
    }
    double kth = 0;  // the largest exact d² of the k chosen rows
    for (const auto& [approximate, s] : nearest) {
      const float* b = bank + size_t(s) * dims;
      double d2 = 0;
      for (int j = 0; j < dims; ++j) {
        const double d = double(x[j]) - b[j];
        d2 += d * d;
      }
      kth = std::max(kth, d2);
    }
    scores[size_t(i)] = std::sqrt(kth);
  }
  return scores;
}

// ---- the profile ----

namespace {

// spatial_cov's part of the profile for one block (README "Monitoring"): z of the fit images from the
// block's stored μ, σ (block_z, as the monitor computes it), the Ledoit–Wolf covariance over G_l, its
// precision scattered into the (R, R) tensor, and a_l, b_l from block_distances of the same images.
void fit_block_covariance(LayerProfile& layer, const std::vector<float>& phi, long images) {
  const int regions = layer.grid.count();
  layer.cov_centre = row_tensor(1, regions);
  layer.cov_precision = row_tensor(regions, regions);
  layer.cov_scale = row_tensor(1, 2);
  for (nn::Tensor* t : {&layer.cov_centre, &layer.cov_precision, &layer.cov_scale}) t->zero();  // 0 outside G_l
  std::vector<int> used;  // G_l
  for (int r = 0; r < regions; ++r)
    if (layer.sd.data()[r] > kMinRegionSd) used.push_back(r);
  if (used.empty()) return;  // no region with a scale: a_l = b_l = 0, the block is left out
  const int p = int(used.size());
  std::vector<float> z(size_t(images) * regions);
  block_z(layer, phi.data(), int(images), z.data());
  std::vector<double> x(size_t(images) * p);
  for (long i = 0; i < images; ++i)
    for (int a = 0; a < p; ++a) x[size_t(i) * p + a] = z[size_t(i) * regions + used[size_t(a)]];
  std::vector<double> centre;
  double shrinkage = 0;
  const std::vector<double> covariance = ledoit_wolf(x, images, p, centre, shrinkage);
  const std::vector<double> precision = inverse_spd(covariance, p, "the region covariance of block " + layer.name);
  for (int a = 0; a < p; ++a) {
    layer.cov_centre.data()[used[size_t(a)]] = float(centre[size_t(a)]);
    for (int b = 0; b < p; ++b)
      layer.cov_precision.data()[size_t(used[size_t(a)]) * regions + used[size_t(b)]] = float(precision[size_t(a) * p + b]);
  }
  const std::vector<double> d = block_distances(layer, z.data(), int(images));
  double sum = 0, squares = 0;
  for (const double v : d) sum += v;
  const double mean = sum / double(images);
  for (const double v : d) squares += (v - mean) * (v - mean);
  layer.cov_scale.data()[0] = float(mean);
  layer.cov_scale.data()[1] = float(std::sqrt(squares / double(images)));
}

}  // namespace

Profile fit_profile(nn::Network& net, const nn::LabeledImages& data, long images, int batch,
                    const MonitorSettings& settings, const std::string& checkpoint_sha256, base::Json about) {
  if (images < 2) throw base::Error("monitor fit: " + std::to_string(images) + " images, expected at least 2");
  const long spatial_bank = std::min(images, settings.spatial_bank);  // B of spatial_knn; 0: none
  if (spatial_bank < 0) throw base::Error("monitor fit: spatial_knn's bank of " + std::to_string(settings.spatial_bank) + " images, expected ≥ 0");
  // k against each set a k-th nearest neighbour is searched in, before the pass over the images: the KNN
  // vectors kept and, with a bank, spatial_knn's bank, each the first images of the fit set.
  const auto check_k = [&](const char* flag, long wanted, const std::string& kept) {
    if (settings.knn_k > std::min(images, wanted))
      throw base::Error("flag --knn-k " + std::to_string(settings.knn_k) + ": more than the " + std::to_string(std::min(images, wanted)) +
                        " images " + kept + " (min(" + flag + " " + std::to_string(wanted) + ", the " + std::to_string(images) +
                        " fit images)), expected at most that many");
  };
  check_k("--knn-images", settings.knn_images, "KNN keeps");
  if (spatial_bank > 0) check_k("--spatial-bank", settings.spatial_bank, "of spatial_knn's bank");
  if (settings.quantiles < kMinFitQuantiles || settings.quantiles > kMaxQuantiles)
    throw base::Error("monitor fit: " + std::to_string(settings.quantiles) + " quantiles, expected " +
                      std::to_string(kMinFitQuantiles) + " to " + std::to_string(kMaxQuantiles));
  const std::vector<nn::Block>& blocks = net.blocks();
  const int last = output_block(net);
  if (last < 1) throw base::Error("monitor fit: the net has one block; the monitor needs features below the logits");
  const int features = int(blocks[size_t(last - 1)].output_shape.per_sample()), classes = int(blocks[size_t(last)].output_shape.per_sample());
  Profile profile;
  profile.checkpoint_sha256 = checkpoint_sha256;
  profile.about = std::move(about);
  profile.images = images;
  profile.settings = settings;
  profile.classes = classes;
  profile.features = features;
  size_t total_regions = 0;
  for (const nn::Block& b : blocks) {
    LayerProfile layer;
    layer.name = b.name;
    layer.grid = run::RegionGrid(b.output_shape.h, b.output_shape.w, b.output_shape.c,
                                 block_grid(net, int(profile.layers.size()), settings.grid.grid));
    total_regions += size_t(layer.grid.count());
    profile.layers.push_back(std::move(layer));
  }
  // The profile this fit writes (ζ weights counted, which --zeta may add): at most kMaxProfileBytes, as
  // load_profile reads it, said before the pass over the images.  D ≤ 16,384 features follow (D² floats).
  const long knn_bank = std::min(images, settings.knn_images);
  if (const double floats = profile_floats(profile, knn_bank, spatial_bank, true); floats * 4 > double(kMaxProfileBytes)) {
    size_t largest = 0;  // R of the block with the most regions
    for (const LayerProfile& l : profile.layers) largest = std::max(largest, size_t(l.grid.count()));
    throw base::Error("monitor fit: the profile would hold " + std::to_string((long long)(floats)) + " float32 values, more than a profile's " +
                      std::to_string(kMaxProfileBytes) + " bytes: " + std::to_string(features) + " features below the logits (" +
                      std::to_string((long long)(features) * features) + " for Mahalanobis), at most " +
                      std::to_string(largest * largest) + " per block for --grid's regions, " + std::to_string(spatial_bank) +
                      " × " + std::to_string(total_regions) + " for --spatial-bank; expected a coarser --grid, a smaller "
                      "--spatial-bank, or a net with fewer features below its logits");
  }
  // φ of every (region, image) and h of every image, checked against memory before allocating.
  const double floats = double(total_regions + size_t(features)) * double(images);
  if (floats > double(1L << 31))
    throw base::Error("monitor fit: " + std::to_string(images) + " images × " + std::to_string(total_regions + features) +
                      " values: more than 2^31 floats; use --limit-train");
  std::vector<std::vector<float>> phi(blocks.size());  // per block (images, R)
  for (size_t l = 0; l < blocks.size(); ++l) phi[l].resize(size_t(images) * profile.layers[l].grid.count());
  std::vector<float> h(size_t(images) * features);
  std::vector<float> scratch;
  std::vector<std::vector<float>> head(blocks.size());  // per block (B, R) φ, then z, of the bank's images
  stream_eval(net, data, size_t(images), batch, [&](const EvalBatch& eb, const nn::BlockView& view) {
    const LayerProfile& layer = profile.layers[size_t(view.index)];
    block_phi(layer.grid, view.a.data(), eb.count, settings, scratch);
    std::copy(scratch.begin(), scratch.end(), phi[size_t(view.index)].begin() + eb.offset * layer.grid.count());
    if (view.index == last)
      std::copy(view.input.data(), view.input.data() + size_t(eb.count) * features, h.begin() + eb.offset * features);
  }, nullptr, nullptr, nn::ProbeReads{false, false});  // z is not read
  for (size_t l = 0; l < blocks.size(); ++l) {
    LayerProfile& layer = profile.layers[l];
    const int regions = layer.grid.count();
    layer.mean = row_tensor(1, regions);
    layer.sd = row_tensor(1, regions);
    layer.quantiles = row_tensor(regions, settings.quantiles);
    std::vector<double> values(static_cast<size_t>(images));
    for (int r = 0; r < regions; ++r) {
      double sum = 0;
      for (long i = 0; i < images; ++i) sum += values[size_t(i)] = phi[l][size_t(i) * regions + r];
      const double mean = sum / double(images);
      double squares = 0;
      for (const double v : values) squares += (v - mean) * (v - mean);
      layer.mean.data()[r] = float(mean);
      layer.sd.data()[r] = float(std::sqrt(squares / double(images)));
      const std::vector<float> q = sketch_quantiles(values, settings.quantiles);
      std::copy(q.begin(), q.end(), layer.quantiles.data() + size_t(r) * settings.quantiles);
    }
    fit_block_covariance(layer, phi[l], images);
    head[l].assign(phi[l].begin(), phi[l].begin() + spatial_bank * regions);
    std::vector<float>().swap(phi[l]);
  }
  size_t dims = 0;
  std::vector<const float*> head_z;
  for (size_t l = 0; l < blocks.size(); ++l) {
    dims += size_t(profile.layers[l].grid.count());
    block_z(profile.layers[l], head[l].data(), int(spatial_bank), head[l].data());  // in place: element by element
    head_z.push_back(head[l].data());
  }
  if (spatial_bank > 0) {
    profile.spatial_bank = row_tensor(int(spatial_bank), int(dims));
    spatial_vectors(profile, head_z, int(spatial_bank), profile.spatial_bank.data());
  }
  std::vector<std::vector<float>>().swap(head);
  // Class means and the tied covariance, in double, in image order.
  std::vector<double> sums(size_t(classes) * features, 0.0);
  std::vector<long> counts(size_t(classes), 0);
  for (long i = 0; i < images; ++i) {
    const int y = data.labels[i];
    ++counts[size_t(y)];
    for (int d = 0; d < features; ++d) sums[size_t(y) * features + d] += h[size_t(i) * features + d];
  }
  for (int k = 0; k < classes; ++k)
    if (counts[size_t(k)] == 0)
      throw base::Error("monitor fit: class " + std::to_string(k) + " has no image among the " + std::to_string(images) +
                        " fit images (Mahalanobis needs every class mean: raise --limit-train, or fit on more images)");
  profile.class_means = row_tensor(classes, features);
  std::vector<double> means(sums.size());
  for (size_t i = 0; i < sums.size(); ++i) {
    means[i] = sums[i] / double(counts[i / size_t(features)]);
    profile.class_means.data()[i] = float(means[i]);
  }
  // Σ = (1/N) Σ_i c_i c_iᵀ, c_i = h_i − m_{y_i}: dsyrk adds CᵀC of chunks of 256 centred rows C into its
  // lower triangle (row-major, i.e. the column-major upper one), which is then mirrored.
  std::vector<double> covariance(size_t(features) * features, 0.0);
  {
    const long chunk = 256;
    std::vector<double> centred(size_t(std::min(images, chunk)) * features);
    const OneBlasThread one;
    for (long first = 0; first < images; first += chunk) {
      const long rows = std::min(chunk, images - first);
      for (long i = 0; i < rows; ++i) {
        const int y = data.labels[size_t(first + i)];
        for (int d = 0; d < features; ++d)
          centred[size_t(i) * features + d] = h[size_t(first + i) * features + d] - means[size_t(y) * features + d];
      }
      cblas_dsyrk(CblasRowMajor, CblasLower, CblasTrans, features, int(rows), 1.0, centred.data(), features, 1.0,
                  covariance.data(), features);
    }
  }
  for (int a = 0; a < features; ++a)
    for (int b = 0; b <= a; ++b) {
      double& c = covariance[size_t(a) * features + b];
      c /= double(images);
      covariance[size_t(b) * features + a] = c;
    }
  const std::vector<double> precision = inverse_spd(covariance, features, "the tied covariance of the penultimate features");
  profile.precision = row_tensor(features, features);
  for (size_t i = 0; i < precision.size(); ++i) profile.precision.data()[i] = float(precision[i]);
  profile.knn = row_tensor(int(knn_bank), features);  // ≥ k: checked above
  for (long i = 0; i < knn_bank; ++i) {
    double norm = 0;
    for (int d = 0; d < features; ++d) norm += double(h[size_t(i) * features + d]) * h[size_t(i) * features + d];
    norm = std::sqrt(norm);
    for (int d = 0; d < features; ++d)
      profile.knn.data()[size_t(i) * features + d] = norm > 0 ? float(h[size_t(i) * features + d] / norm) : 0.f;
  }
  return profile;
}

namespace {

std::vector<nn::FramedTensor> profile_tensors(Profile& p) {
  std::vector<nn::FramedTensor> tensors;
  for (LayerProfile& l : p.layers) {
    tensors.push_back({l.name + ".mean", &l.mean});
    tensors.push_back({l.name + ".sd", &l.sd});
    tensors.push_back({l.name + ".quantiles", &l.quantiles});
    if (!p.zeta_file.empty()) tensors.push_back({l.name + ".weight", &l.weight});
    tensors.push_back({l.name + ".cov_centre", &l.cov_centre});
    tensors.push_back({l.name + ".cov_precision", &l.cov_precision});
    tensors.push_back({l.name + ".cov_scale", &l.cov_scale});
  }
  tensors.push_back({"class_means", &p.class_means});
  tensors.push_back({"precision", &p.precision});
  tensors.push_back({"knn", &p.knn});
  if (p.spatial_bank.size()) tensors.push_back({"spatial_bank", &p.spatial_bank});
  return tensors;
}

}  // namespace

void check_zeta_file(const base::Json& zeta, const std::string& path, const run::GridSpec& g, int epoch) {
  const base::Node root(zeta, path);
  const long long file_epoch = root["epoch"].integer(0, 1 << 30);
  if (file_epoch != epoch)
    root["epoch"].reject("is " + std::to_string(file_epoch) + ", expected the checkpoint's epoch " + std::to_string(epoch) +
                         " (pass the zeta.json of this checkpoint)");
  // The regions are matched by key, and a finer grid's keys include the profile's (grid_1_1_1 of 16x16x4 is
  // rows 0-1, of 8x8x4 rows 0-3): a file made on another --grid would weigh other regions without a word.
  const std::array<int, 3> grid = root["settings"]["grid"].triple(base::kMaxGridAxis);
  if (grid != std::array<int, 3>{g.gh, g.gw, g.gc})
    root["settings"]["grid"].reject("is " + std::to_string(grid[0]) + "x" + std::to_string(grid[1]) + "x" +
                                    std::to_string(grid[2]) + ", expected the profile's --grid " + std::to_string(g.gh) +
                                    "x" + std::to_string(g.gw) + "x" + std::to_string(g.gc) +
                                    " (pass the zeta.json of an analysis on the same grid)");
}

void set_zeta_weights(Profile& profile, const base::Json& zeta, const std::string& path, int epoch) {
  check_zeta_file(zeta, path, profile.settings.grid.grid, epoch);
  const base::Node root(zeta, path);
  const base::Node layers = root["layers"];
  for (LayerProfile& l : profile.layers) {
    const base::Node regions = layers[l.name]["regions"];
    l.weight = row_tensor(1, l.grid.count());
    for (int r = 0; r < l.grid.count(); ++r) {
      const base::Node shapley = regions[l.grid.key(r)]["shapley"];
      l.weight.data()[r] = float(std::fabs(shapley.number()));  // finite as a double, perhaps not as a float
      if (!std::isfinite(l.weight.data()[r]))
        shapley.reject(base::json_text_capped(shapley.json(), 40) + ", expected a Shapley value a float holds (|φ| ≤ 3.4e38)");
    }
  }
  profile.zeta_file = path;
}

void save_profile(const std::string& path, Profile& p) {
  nlohmann::json layers = nlohmann::json::array();
  for (const LayerProfile& l : p.layers)
    layers.push_back({{"name", l.name},
                      {"shape", {l.grid.height, l.grid.width, l.grid.channels}},
                      {"grid", {l.grid.gh, l.grid.gw, l.grid.gc}}});
  nlohmann::json header = {
      {"format", "nnfmri monitor profile"},
      {"profile_version", kProfileVersion},
      {"checkpoint_sha256", p.checkpoint_sha256},
      {"about", nlohmann::json::parse(base::json_text(p.about, -1))},
      {"images", p.images},
      {"grid", {p.settings.grid.grid.gh, p.settings.grid.grid.gw, p.settings.grid.grid.gc}},
      {"lambda", p.settings.grid.lambda},
      {"epsilon", p.settings.grid.epsilon},
      {"quantiles", p.settings.quantiles},
      {"knn_k", p.settings.knn_k},
      {"knn_images", p.settings.knn_images},
      {"spatial_bank", p.spatial_bank.shape().h},
      {"classes", p.classes},
      {"features", p.features},
      {"layers", layers},
  };
  if (!p.zeta_file.empty()) header["zeta_file"] = p.zeta_file;
  nn::write_framed(path, kProfileMagic, header, profile_tensors(p));
}

Profile load_profile(const std::string& path) {
  const nn::FramedFile file(path, kProfileMagic, "nnfmri monitor profile", kMaxProfileBytes, nn::Fingerprint::none);
  const base::Node h(file.header, path);
  Profile p;
  if (h["format"].text() != "nnfmri monitor profile") h["format"].reject("expected \"nnfmri monitor profile\"");
  if (!h.has("profile_version") || h["profile_version"].integer(0, 1 << 30) != kProfileVersion)
    throw file.fail("profile version " + (h.has("profile_version") ? std::to_string(h["profile_version"].integer(0, 1 << 30)) : std::string("1")) +
                    ", this build reads version " + std::to_string(kProfileVersion) +
                    " (with spatial_cov and spatial_knn's bank); fit it again with `nnfmri profile`");
  p.checkpoint_sha256 = h["checkpoint_sha256"].text();
  if (const std::string problem = base::sha256_text_problem(p.checkpoint_sha256); !problem.empty())
    h["checkpoint_sha256"].reject(problem);
  p.about = h["about"].json();
  p.images = long(h["images"].integer(2, 1LL << 40));
  const std::array<int, 3> grid = h["grid"].triple(base::kMaxGridAxis);
  p.settings.grid.grid = {grid[0], grid[1], grid[2]};
  // The ranges of --lambda and --epsilon: a λ of 1e308 made every φ infinite and every spatial score null.
  p.settings.grid.lambda = h["lambda"].number(-kMaxLambda, kMaxLambda);
  p.settings.grid.epsilon = h["epsilon"].number(0, kMaxEpsilon);
  if (!(p.settings.grid.epsilon > 0)) h["epsilon"].reject("expected a positive number");
  p.settings.quantiles = int(h["quantiles"].integer(2, kMaxQuantiles));
  p.settings.knn_k = int(h["knn_k"].integer(1, kMaxKnnImages));
  p.settings.knn_images = long(h["knn_images"].integer(1, kMaxKnnImages));
  p.classes = int(h["classes"].integer(1, kMaxProfileClasses));
  p.features = int(h["features"].integer(1, 1 << 16));
  if (h.has("zeta_file")) {
    p.zeta_file = h["zeta_file"].text();
    if (p.zeta_file.empty()) h["zeta_file"].reject("expected the path of the zeta.json of the weights");
  }
  const long bank = std::min(p.images, p.settings.knn_images);
  if (bank < p.settings.knn_k) h["knn_k"].reject("exceeds the stored KNN vectors");
  const long spatial_bank = long(h["spatial_bank"].integer(0, std::min(p.images, kMaxKnnImages)));  // 0: no bank
  if (spatial_bank > 0 && spatial_bank < p.settings.knn_k) h["knn_k"].reject("exceeds the images of spatial_knn's bank");
  // Sizes are checked against the file before any tensor is allocated.
  double dims = 0;  // ΣR_l: the width of spatial_knn's bank
  const base::Node layers = h["layers"];
  for (size_t l = 0; l < layers.array_size(); ++l) {
    const base::Node layer = layers[l];
    LayerProfile lp;
    lp.name = layer["name"].text();
    const std::array<int, 3> shape = layer["shape"].triple(base::kMaxInputSide);
    const std::array<int, 3> cells = layer["grid"].triple(base::kMaxGridAxis);
    const run::GridSpec spec = block_grid(p.settings.grid.grid, l + 1 == layers.array_size(), shape[2]);
    const std::string problem = run::grid_limit_problem(shape[0], shape[1], shape[2], spec);
    if (!problem.empty()) layer.reject(problem);
    lp.grid = run::RegionGrid(shape[0], shape[1], shape[2], spec, false);
    if (lp.grid.gh != cells[0] || lp.grid.gw != cells[1] || lp.grid.gc != cells[2])
      layer["grid"].reject("is not the profile's grid clamped to the layer");
    dims += double(lp.grid.count());
    p.layers.push_back(std::move(lp));
  }
  if (p.layers.empty()) layers.reject("expected at least one layer");
  if (profile_floats(p, bank, spatial_bank, !p.zeta_file.empty()) * 4 > double(kMaxProfileBytes))
    throw file.fail("its tensors exceed the file");
  for (LayerProfile& l : p.layers) {
    l.mean = row_tensor(1, l.grid.count());
    l.sd = row_tensor(1, l.grid.count());
    l.quantiles = row_tensor(l.grid.count(), p.settings.quantiles);
    if (!p.zeta_file.empty()) l.weight = row_tensor(1, l.grid.count());
    l.cov_centre = row_tensor(1, l.grid.count());
    l.cov_precision = row_tensor(l.grid.count(), l.grid.count());
    l.cov_scale = row_tensor(1, 2);
  }
  p.class_means = row_tensor(p.classes, p.features);
  p.precision = row_tensor(p.features, p.features);
  p.knn = row_tensor(int(bank), p.features);
  if (spatial_bank > 0) p.spatial_bank = row_tensor(int(spatial_bank), int(dims));
  file.read_tensors(profile_tensors(p));  // every value finite (nn/framed_file.h)
  for (const LayerProfile& l : p.layers) {
    for (int r = 0; r < l.grid.count(); ++r) {
      const float* q = l.quantiles.data() + size_t(r) * p.settings.quantiles;
      if (!(l.sd.data()[r] >= 0) || !std::is_sorted(q, q + p.settings.quantiles))
        throw file.fail("layer " + l.name + " region " + std::to_string(r) + ": a negative sd or quantiles out of order");
      // q_0 and q_{Q−1} are the fit images' min and max: their mean lies between them and their population
      // sd is at most half the range (a μ of 3e38 beside a sketch of [0, 2] is no fit's, and its z no number).
      const double low = q[0], high = q[p.settings.quantiles - 1], slack = 1e-5 * (std::fabs(low) + std::fabs(high)) + 1e-30;
      if (!(l.mean.data()[r] >= low - slack && l.mean.data()[r] <= high + slack && l.sd.data()[r] <= 0.5 * (high - low) + slack))
        throw file.fail("layer " + l.name + " region " + std::to_string(r) + ": mean " + base::shortest(l.mean.data()[r], true) +
                        " and sd " + base::shortest(l.sd.data()[r], true) + " do not fit its sketch [" + base::shortest(low, true) +
                        ", " + base::shortest(high, true) + "] (the mean within it, the sd at most half its width)");
      if (!p.zeta_file.empty() && !(l.weight.data()[r] >= 0))
        throw file.fail("layer " + l.name + " region " + std::to_string(r) + ": a negative weight");
    }
    if (l.cov_scale.data()[0] < 0 || l.cov_scale.data()[1] < 0) throw file.fail("layer " + l.name + ": a negative cov_scale");
  }
  return p;
}

void check_profile_fits(const Profile& profile, const std::string& profile_path, const nn::Network& net,
                        const std::string& checkpoint_path, const std::string& checkpoint_sha256) {
  if (profile.checkpoint_sha256 != checkpoint_sha256)
    throw base::Error("--profile " + profile_path + ": made for the checkpoint with SHA-256 " +
                      profile.checkpoint_sha256.substr(0, 16) + "…, not for " + checkpoint_path + " (" +
                      checkpoint_sha256.substr(0, 16) + "…); fit a profile for this checkpoint with `nnfmri profile`");
  const std::vector<nn::Block>& blocks = net.blocks();
  bool same = blocks.size() == profile.layers.size();
  for (size_t l = 0; same && l < blocks.size(); ++l) {
    const LayerProfile& p = profile.layers[l];
    same = p.name == blocks[l].name && p.grid.height == blocks[l].output_shape.h &&
           p.grid.width == blocks[l].output_shape.w && p.grid.channels == blocks[l].output_shape.c;
  }
  same = same && blocks.size() >= 2 && profile.features == int(blocks[blocks.size() - 2].output_shape.per_sample()) &&
         profile.classes == int(blocks.back().output_shape.per_sample());
  if (!same) throw base::Error("--profile " + profile_path + ": its blocks are not those of " + checkpoint_path);
}

// ---- the monitor ----

Monitor::Monitor(const Profile& profile, nn::Network& net, long window, double alpha)
    : profile_(profile), net_(net), window_(window), alpha_(alpha), phi_(profile.layers.size()),
      pending_(profile.layers.size()) {
  double values = 0;  // the open window's φ: regions × window doubles, checked before allocating
  for (const LayerProfile& l : profile.layers) values += double(l.grid.count()) * double(window);
  if (values > double(1L << 28))
    throw base::Error("--window " + std::to_string(window) + ": the window would hold " + std::to_string(long(values)) +
                      " region values, expected at most 2^28 (2 GiB); use a smaller window");
  for (size_t l = 0; l < profile.layers.size(); ++l)
    pending_[l].assign(size_t(profile.layers[l].grid.count()) * size_t(window), 0.0);
}

std::vector<std::vector<float>> Monitor::region_z(int i) const {
  std::vector<std::vector<float>> z(profile_.layers.size());
  for (size_t l = 0; l < profile_.layers.size(); ++l) {
    const LayerProfile& layer = profile_.layers[l];
    const int regions = layer.grid.count();
    z[l].assign(size_t(regions), 0.f);
    block_z(layer, phi_[l].data() + size_t(i) * regions, 1, z[l].data());
  }
  return z;
}

void Monitor::score_batch(const nn::Tensor& x, std::vector<ImageScores>& scores, std::vector<WindowDrift>& windows) {
  const int count = x.shape().n, last = int(profile_.layers.size()) - 1, features = profile_.features;
  // An inference-only net keeps a block's output only while the forward reads it (nn/network.h): the
  // probe takes φ of the block's images then, in a loop over the images, and the per-image scores
  // follow the forward.
  const nn::Probe probe = [&](const nn::BlockView& view) {
    const size_t l = size_t(view.index);
    const run::RegionGrid& grid = profile_.layers[l].grid;
    const size_t sample = size_t(grid.channels) * grid.height * grid.width;
    phi_[l].resize(size_t(count) * grid.count());
    const float* a = view.a.data();
#pragma omp parallel
    {
      std::vector<double> image(size_t(grid.count()));  // φ of image i
#pragma omp for schedule(static)
      for (int i = 0; i < count; ++i) {
        image_phi(grid, a + size_t(i) * sample, profile_.settings.grid.lambda, profile_.settings.grid.epsilon, image.data());
        for (int r = 0; r < grid.count(); ++r) phi_[l][size_t(i) * grid.count() + r] = float(image[size_t(r)]);
      }
    }
    if (view.index == last) features_.assign(view.input.data(), view.input.data() + size_t(count) * features);
  };
  const nn::Tensor& logits = net_.forward(x, false, &probe, nullptr, nn::ProbeReads{false, false});  // z is not read
  scores.assign(size_t(count), ImageScores());
  windows.clear();
  const int classes = profile_.classes;
  const bool weighted = !profile_.zeta_file.empty();
#pragma omp parallel for schedule(static)
  for (int i = 0; i < count; ++i) {
    ImageScores& s = scores[size_t(i)];
    const float* f = logits.data() + size_t(i) * classes;
    s.prediction = int(std::max_element(f, f + classes) - f);
    s.msp = msp_score(f, classes);
    s.energy = energy_score(f, classes);
    // S(x) = (1/L) Σ_l (1/|G_l|) Σ_g z_g², S_ζ(x) when the profile has weights, and the largest |z|
    double total = 0, weighted_total = 0;
    int layers = 0, weighted_layers = 0;
    // The kTopRegions first regions in the order `before` (largest |z|, then block, then region), kept
    // while the regions go by: a region enters when it comes before the last one kept.
    const auto before = [](const RegionScore& a, const RegionScore& b) {
      return std::fabs(a.z) > std::fabs(b.z) ||
             (std::fabs(a.z) == std::fabs(b.z) && (a.layer < b.layer || (a.layer == b.layer && a.region < b.region)));
    };
    std::vector<RegionScore>& top = s.top;
    top.reserve(size_t(kTopRegions) + 1);
    for (size_t l = 0; l < profile_.layers.size(); ++l) {
      const LayerProfile& layer = profile_.layers[l];
      const int regions = layer.grid.count();
      double sum = 0;
      int used = 0;
      RegionScore best{int(l), -1, 0};
      for (int r = 0; r < regions; ++r) {
        const float sd = layer.sd.data()[r];
        if (!(sd > kMinRegionSd)) continue;
        const double z = (double(phi_[l][size_t(i) * regions + r]) - layer.mean.data()[r]) / sd;
        sum += z * z, ++used;
        if (best.region < 0 || std::fabs(z) > std::fabs(best.z)) best = {int(l), r, z};
        const RegionScore here{int(l), r, z};
        if (top.size() < size_t(kTopRegions) || before(here, top.back())) {
          top.insert(std::upper_bound(top.begin(), top.end(), here, before), here);
          if (top.size() > size_t(kTopRegions)) top.pop_back();
        }
      }
      if (used) {
        total += sum / used, ++layers;
        s.layer_top.push_back(best);
      }
      if (weighted) {  // S_ζ's term of block l: Σ_{g∈G_l} |φ̂_g| z_g² / Σ_{g∈G_l} |φ̂_g|
        double weighted_sum = 0, weights = 0;
        for (int r = 0; r < regions; ++r) {
          const float sd = layer.sd.data()[r];
          if (!(sd > kMinRegionSd)) continue;
          const double z = (double(phi_[l][size_t(i) * regions + r]) - layer.mean.data()[r]) / sd, w = layer.weight.data()[r];
          weighted_sum += w * z * z, weights += w;
        }
        if (weights > 0) weighted_total += weighted_sum / weights, ++weighted_layers;
      }
    }
    s.spatial = layers ? total / layers : 0.0;
    s.spatial_zeta = weighted_layers ? weighted_total / weighted_layers : 0.0;
  }
  const std::vector<double> mahalanobis = mahalanobis_scores(features_.data(), count, profile_.class_means.data(),
                                                             profile_.precision.data(), profile_.classes, features, &scratch_);
  const std::vector<double> knn = knn_scores(features_.data(), count, profile_.knn.data(), profile_.knn.shape().h, features,
                                             profile_.settings.knn_k, &scratch_);
  for (int i = 0; i < count; ++i) scores[size_t(i)].mahalanobis = mahalanobis[size_t(i)], scores[size_t(i)].knn = knn[size_t(i)];
  // z of every block, once: spatial_knn's v and spatial_cov's distances both read it.
  std::vector<const float*> z;
  z_.resize(profile_.layers.size());
  for (size_t l = 0; l < profile_.layers.size(); ++l) {
    z_[l].resize(size_t(count) * profile_.layers[l].grid.count());
    block_z(profile_.layers[l], phi_[l].data(), count, z_[l].data());
    z.push_back(z_[l].data());
  }
  // spatial_knn: v of the batch, then the k-th nearest bank map (README "Monitoring"), when the profile has a bank.
  if (profile_.spatial_bank.size()) {
    const int dims = profile_.spatial_bank.shape().w;
    spatial_v_.resize(size_t(count) * size_t(dims));
    spatial_vectors(profile_, z, count, spatial_v_.data());
    const std::vector<double> spatial_knn = spatial_knn_scores(spatial_v_.data(), count, profile_.spatial_bank.data(),
                                                               profile_.spatial_bank.shape().h, dims, profile_.settings.knn_k, &scratch_);
    for (int i = 0; i < count; ++i) scores[size_t(i)].spatial_knn = spatial_knn[size_t(i)];
  }
  // spatial_cov = (1/L_c) Σ_l (d_l − a_l)/b_l and spatial_typ = (1/L_c) Σ_l |d_l − a_l|/b_l over the blocks
  // with b_l > 0, block by block in block order.
  std::vector<double> cov_total(size_t(count), 0.0), typ_total(size_t(count), 0.0);
  int cov_layers = 0;
  for (size_t l = 0; l < profile_.layers.size(); ++l) {
    const LayerProfile& layer = profile_.layers[l];
    const double a = layer.cov_scale.data()[0], b = layer.cov_scale.data()[1];
    if (!(b > 0)) continue;
    const std::vector<double> d = block_distances(layer, z[l], count, &scratch_);
    for (int i = 0; i < count; ++i) {
      const double t = (d[size_t(i)] - a) / b;
      cov_total[size_t(i)] += t, typ_total[size_t(i)] += std::fabs(t);
    }
    ++cov_layers;
  }
  if (cov_layers)
    for (int i = 0; i < count; ++i) {
      scores[size_t(i)].spatial_cov = cov_total[size_t(i)] / cov_layers;
      scores[size_t(i)].spatial_typ = typ_total[size_t(i)] / cov_layers;
    }
  // The window: φ in image order; a full window is tested at once.  The images up to the window's end
  // (or the batch's) are copied in one step, block by block, each region's run of images into its own
  // row of pending_ (the threads write disjoint rows: the same values as one image at a time).
  for (int i = 0; i < count;) {
    const int run = int(std::min<long>(long(count - i), window_ - pending_images_));
    for (size_t l = 0; l < profile_.layers.size(); ++l) {
      const int regions = profile_.layers[l].grid.count();
      const float* phi = phi_[l].data() + size_t(i) * size_t(regions);
      double* rows = pending_[l].data() + size_t(pending_images_);
#pragma omp parallel for schedule(static) if (size_t(regions) * size_t(run) >= (size_t(1) << 14))
      for (int r = 0; r < regions; ++r)
        for (int k = 0; k < run; ++k) rows[size_t(r) * size_t(window_) + size_t(k)] = phi[size_t(k) * size_t(regions) + r];
    }
    i += run, pending_images_ += run, seen_ += run;
    if (pending_images_ == window_) {
      windows.push_back(test_window());
      pending_images_ = 0;
    }
  }
}

WindowDrift Monitor::test_window() {
  WindowDrift w;
  w.first = seen_ - window_;
  w.images = window_;
  std::vector<std::pair<int, int>> where;  // the tested regions (block, region), in block then region order
  const int q = profile_.settings.quantiles;
  for (size_t l = 0; l < profile_.layers.size(); ++l)
    for (int r = 0; r < profile_.layers[l].grid.count(); ++r)
      if (profile_.layers[l].sd.data()[r] > kMinRegionSd) where.push_back({int(l), r});
  // Each region's distance and p depend on its window values alone: computed side by side, each into
  // its own slot, so the same doubles whatever the thread count.
  const long tested = long(where.size());
  std::vector<double> p(where.size()), distance(where.size());
#pragma omp parallel for schedule(static)
  for (long i = 0; i < tested; ++i) {
    const auto [l, r] = where[size_t(i)];
    const LayerProfile& layer = profile_.layers[size_t(l)];
    const auto begin = pending_[size_t(l)].begin() + size_t(r) * size_t(window_);
    distance[size_t(i)] = ks_distance(std::vector<double>(begin, begin + window_), layer.quantiles.data() + size_t(r) * q, q);
    p[size_t(i)] = ks_p_value(distance[size_t(i)], double(window_), double(profile_.images));
  }
  const std::vector<double> adjusted = benjamini_hochberg(p);
  w.tested = int(p.size());
  std::vector<size_t> order(p.size());
  std::iota(order.begin(), order.end(), size_t(0));
  // Most drifting first: the adjusted p, whose step-up makes many equal, then the raw p, then the
  // larger KS distance; the region order last (a total order: the same list whatever the sort).
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (adjusted[a] != adjusted[b]) return adjusted[a] < adjusted[b];
    if (p[a] != p[b]) return p[a] < p[b];
    return distance[a] > distance[b];
  });
  for (size_t i = 0; i < order.size(); ++i) {
    if (adjusted[order[i]] < alpha_) ++w.drifting;
    if (i < size_t(kTopRegions))
      w.top.push_back({where[order[i]].first, where[order[i]].second, distance[order[i]], p[order[i]], adjusted[order[i]]});
  }
  w.alarm = w.drifting > 0;
  return w;
}

}  // namespace imaging
