// imaging/zeta_scores.cpp — ζ, significance and critical regions (imaging/zeta_scores.h).
#include "imaging/zeta_scores.h"

#include <algorithm>
#include <cmath>


namespace imaging {

ZetaScores zeta_scores(const ShapleyEstimate& est) {
  ZetaScores z;
  const std::vector<double>& phi = est.phi;
  const int n = int(phi.size());
  double var = 0;
  for (double p : phi) z.mean += p;
  z.mean /= n;
  for (double p : phi) var += (p - z.mean) * (p - z.mean);
  z.sd = n > 1 ? std::sqrt(var / (n - 1)) : 0;
  z.zeta.resize(size_t(n));
  for (int g = 0; g < n; ++g) z.zeta[g] = z.sd > 0 ? (phi[g] - z.mean) / z.sd : 0;
  z.p_adjusted = benjamini_hochberg(est.p_value);
  z.significant.resize(size_t(n));
  for (int g = 0; g < n; ++g) {
    z.significant[g] = z.p_adjusted[g] < 0.01;
    if (z.zeta[g] >= 2 && z.significant[g]) z.critical.push_back(g);
  }
  std::stable_sort(z.critical.begin(), z.critical.end(), [&](int a, int b) { return z.zeta[a] > z.zeta[b]; });
  return z;
}

}  // namespace imaging
