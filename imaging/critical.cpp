// imaging/critical.cpp — population intervals and the critical-region rules; the definitions are
// written once in imaging/critical.h.
#include "imaging/critical.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "base/error.h"
#include "imaging/zeta_stats.h"  // student_t_quantile, student_t_two_sided_p, benjamini_hochberg

namespace imaging {

const char* const kCriticalRule = "robust";

namespace {

// The interval and p of an estimate with variance var and ν degrees of freedom (var = 0: a point).
void interval_of(double phi, double var, double df, double& low, double& high, double& p) {
  if (!(var > 0)) {
    low = high = phi;
    p = phi != 0 ? 0.0 : 1.0;
    return;
  }
  const double se = std::sqrt(var), half = student_t_quantile(0.975, df) * se;
  low = phi - half;
  high = phi + half;
  p = student_t_two_sided_p(phi / se, df);
}

double median_of(std::vector<double> v) {
  if (v.empty()) return 0;
  const size_t m = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + long(m), v.end());
  const double upper = v[m];
  if (v.size() % 2) return upper;
  return 0.5 * (upper + *std::max_element(v.begin(), v.begin() + long(m)));
}

// Regions whose flag is set, sorted by φ descending (ties in region order).
std::vector<int> sorted_by_phi(const std::vector<uint8_t>& flag, const std::vector<double>& phi) {
  std::vector<int> out;
  for (int g = 0; g < int(flag.size()); ++g)
    if (flag[g]) out.push_back(g);
  std::stable_sort(out.begin(), out.end(), [&](int a, int b) { return phi[a] > phi[b]; });
  return out;
}

double normal_upper_tail(double z) { return 0.5 * std::erfc(z / std::sqrt(2.0)); }

// log N(x; mean, var)
double log_normal_density(double x, double mean, double var) {
  return -0.5 * (std::log(2 * M_PI * var) + (x - mean) * (x - mean) / var);
}

// The mixture rule's flags (see critical.h).
std::vector<uint8_t> mixture_upper(const std::vector<double>& phi) {
  const int n = int(phi.size());
  std::vector<uint8_t> upper(size_t(n), 0);
  if (n < 4) return upper;  // 5 parameters need more points than that
  std::vector<double> sorted = phi;
  std::sort(sorted.begin(), sorted.end());
  double total_mean = 0, total_var = 0;
  for (double v : sorted) total_mean += v;
  total_mean /= n;
  for (double v : sorted) total_var += (v - total_mean) * (v - total_mean);
  total_var /= n;
  if (!(total_var > 0)) return upper;
  const double floor = 1e-6 * total_var;
  // Otsu: the split of the sorted values maximising w0·w1·(m0 − m1)².
  std::vector<double> prefix(size_t(n) + 1, 0.0);
  for (int i = 0; i < n; ++i) prefix[i + 1] = prefix[i] + sorted[i];
  int split = 1;
  double best = -1;
  for (int i = 1; i < n; ++i) {
    const double m0 = prefix[i] / i, m1 = (prefix[n] - prefix[i]) / (n - i);
    const double between = double(i) * (n - i) * (m0 - m1) * (m0 - m1);
    if (between > best) best = between, split = i;
  }
  double w[2], mean[2], var[2];
  for (int k = 0; k < 2; ++k) {
    const int lo = k == 0 ? 0 : split, hi = k == 0 ? split : n;
    mean[k] = (prefix[hi] - prefix[lo]) / (hi - lo);
    double s = 0;
    for (int i = lo; i < hi; ++i) s += (sorted[i] - mean[k]) * (sorted[i] - mean[k]);
    var[k] = std::max(floor, s / (hi - lo));
    w[k] = double(hi - lo) / n;
  }
  std::vector<double> resp(static_cast<size_t>(n));  // posterior of the upper component (index 1)
  double log_likelihood = -INFINITY;
  for (int iteration = 0; iteration < 500; ++iteration) {
    double ll = 0;
    for (int i = 0; i < n; ++i) {
      const double l0 = std::log(w[0]) + log_normal_density(phi[i], mean[0], var[0]);
      const double l1 = std::log(w[1]) + log_normal_density(phi[i], mean[1], var[1]);
      const double top = std::max(l0, l1), sum = top + std::log(std::exp(l0 - top) + std::exp(l1 - top));
      resp[i] = std::exp(l1 - sum);
      ll += sum;
    }
    double r1 = 0;
    for (double r : resp) r1 += r;
    const double r0 = n - r1;
    if (r0 < 1e-9 || r1 < 1e-9) return upper;  // one component took everything: no split
    double s0 = 0, s1 = 0;
    for (int i = 0; i < n; ++i) s0 += (1 - resp[i]) * phi[i], s1 += resp[i] * phi[i];
    mean[0] = s0 / r0, mean[1] = s1 / r1;
    double q0 = 0, q1 = 0;
    for (int i = 0; i < n; ++i) {
      q0 += (1 - resp[i]) * (phi[i] - mean[0]) * (phi[i] - mean[0]);
      q1 += resp[i] * (phi[i] - mean[1]) * (phi[i] - mean[1]);
    }
    var[0] = std::max(floor, q0 / r0), var[1] = std::max(floor, q1 / r1);
    w[0] = r0 / n, w[1] = r1 / n;
    const bool converged = ll - log_likelihood < 1e-10 * std::max(1.0, std::fabs(ll));
    log_likelihood = ll;
    if (converged) break;
  }
  double ll1 = 0;
  for (double v : phi) ll1 += log_normal_density(v, total_mean, std::max(floor, total_var));
  const double bic1 = -2 * ll1 + 2 * std::log(double(n)), bic2 = -2 * log_likelihood + 5 * std::log(double(n));
  if (!(bic2 < bic1)) return upper;
  const int high = mean[1] >= mean[0] ? 1 : 0;
  for (int i = 0; i < n; ++i) {
    const double posterior = high == 1 ? resp[i] : 1 - resp[i];
    upper[i] = posterior > 0.5 && phi[i] > mean[1 - high];
  }
  return upper;
}

}  // namespace

PhiIntervals population_intervals(const std::vector<double>& per_image, size_t N, int n,
                                  const std::vector<uint8_t>& strata) {
  if (per_image.size() != N * size_t(n) || strata.size() != N)
    throw base::Error("population interval: " + std::to_string(per_image.size()) + " per-image values and " +
                      std::to_string(strata.size()) + " strata for " + std::to_string(N) + " images × " +
                      std::to_string(n) + " regions");
  PhiIntervals out;
  if (N < 2) return out;  // one image has no image-to-image spread: no population interval
  int classes = 0;
  for (uint8_t c : strata) classes = std::max(classes, int(c) + 1);
  std::vector<std::vector<size_t>> members(static_cast<size_t>(classes));
  for (size_t x = 0; x < N; ++x) members[strata[x]].push_back(x);
  bool stratified = true;
  for (const auto& m : members) stratified &= m.empty() || m.size() >= 2;
  if (!stratified) {  // one stratum: every image
    members.assign(1, {});
    for (size_t x = 0; x < N; ++x) members[0].push_back(x);
  }
  std::vector<double> weights;
  for (const auto& m : members) weights.push_back(double(m.size()) / double(N));
  return weighted_group_intervals(per_image, n, members, weights).intervals;
}

GroupEstimate weighted_group_intervals(const std::vector<double>& per_image, int n,
                                       const std::vector<std::vector<size_t>>& groups,
                                       const std::vector<double>& weights) {
  if (groups.size() != weights.size())
    throw base::Error("group interval: " + std::to_string(groups.size()) + " groups and " +
                      std::to_string(weights.size()) + " weights");
  GroupEstimate out;
  out.phi.assign(size_t(n), 0.0);
  out.intervals.ci_low.assign(size_t(n), -std::numeric_limits<double>::infinity());
  out.intervals.ci_high.assign(size_t(n), std::numeric_limits<double>::infinity());
  out.intervals.p_value.assign(size_t(n), 1.0);
  for (size_t c = 0; c < groups.size(); ++c)
    if (groups[c].size() == 1 && weights[c] != 0) out.spread_known = false;
  for (int g = 0; g < n; ++g) {
    double phi = 0, var = 0, df_denominator = 0;
    for (size_t c = 0; c < groups.size(); ++c) {
      const std::vector<size_t>& m = groups[c];
      if (m.empty()) continue;
      const double nc = double(m.size());
      double mean = 0, ss = 0;
      for (size_t x : m) mean += per_image[x * size_t(n) + g];
      mean /= nc;
      for (size_t x : m) ss += (per_image[x * size_t(n) + g] - mean) * (per_image[x * size_t(n) + g] - mean);
      const double weight = weights[c];
      phi += weight * mean;
      if (nc < 2) continue;
      const double a = weight * weight * (ss / (nc - 1)) / nc;
      var += a;
      df_denominator += a * a / (nc - 1);
    }
    const double df = df_denominator > 0 ? var * var / df_denominator : 1e6;
    out.phi[size_t(g)] = phi;
    if (!out.spread_known) continue;  // interval (−∞, ∞), p = 1
    interval_of(phi, var, df, out.intervals.ci_low[size_t(g)], out.intervals.ci_high[size_t(g)],
                out.intervals.p_value[size_t(g)]);
  }
  return out;
}

void validate_ci_kind(const std::string& kind) {
  if (kind != "sample" && kind != "population")
    throw base::Error("--zeta-ci '" + kind + "': expected sample or population");
}

std::vector<double> robust_scores(const std::vector<double>& phi, double* median_out, double* scale_out) {
  const double median = median_of(phi);
  std::vector<double> deviation(phi.size());
  for (size_t g = 0; g < phi.size(); ++g) deviation[g] = std::fabs(phi[g] - median);
  double scale = 1.4826 * median_of(deviation);
  if (!(scale > 0) && !deviation.empty()) {
    double mean_deviation = 0;
    for (double d : deviation) mean_deviation += d;
    scale = 1.2533 * mean_deviation / double(deviation.size());
  }
  std::vector<double> r(phi.size(), 0.0);
  if (scale > 0)
    for (size_t g = 0; g < phi.size(); ++g) r[g] = (phi[g] - median) / scale;
  if (median_out) *median_out = median;
  if (scale_out) *scale_out = scale;
  return r;
}

const std::vector<std::string>& critical_rule_names() {
  static const std::vector<std::string> names = {"zeta", "robust", "null", "mixture"};
  return names;
}

std::vector<int> critical_regions(const std::string& rule, const std::vector<double>& phi,
                                  const std::vector<double>& zeta, const std::vector<uint8_t>& significant) {
  const size_t n = phi.size();
  if (zeta.size() != n || significant.size() != n)
    throw base::Error("critical regions: " + std::to_string(n) + " φ, " + std::to_string(zeta.size()) + " ζ and " +
                      std::to_string(significant.size()) + " significance flags");
  std::vector<uint8_t> flag(n, 0);
  if (rule == "zeta") {
    for (size_t g = 0; g < n; ++g) flag[g] = zeta[g] >= 2;
  } else if (rule == "robust") {
    const std::vector<double> r = robust_scores(phi);
    for (size_t g = 0; g < n; ++g) flag[g] = r[g] >= 3.5;
  } else if (rule == "null") {
    const std::vector<double> r = robust_scores(phi);
    std::vector<double> q(n);
    for (size_t g = 0; g < n; ++g) q[g] = normal_upper_tail(r[g]);
    const std::vector<double> adjusted = benjamini_hochberg(q);
    for (size_t g = 0; g < n; ++g) flag[g] = adjusted[g] < 0.01 && r[g] > 0;
  } else if (rule == "mixture") {
    flag = mixture_upper(phi);
  } else {
    throw base::Error("critical regions: unknown rule '" + rule + "' (expected zeta, robust, null or mixture)");
  }
  for (size_t g = 0; g < n; ++g) flag[g] = flag[g] && significant[g];
  return sorted_by_phi(flag, phi);
}

}  // namespace imaging
