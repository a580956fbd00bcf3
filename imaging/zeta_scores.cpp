// imaging/zeta_scores.cpp — ζ, robust scores, significance and critical regions (imaging/zeta_scores.h).
#include "imaging/zeta_scores.h"

#include <cmath>

namespace imaging {

ZetaScores zeta_scores(const ShapleyEstimate& est, const std::string& ci) {
  validate_ci_kind(ci);
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
  z.robust = robust_scores(phi);
  const bool population = ci == "population" && est.population.p_value.size() == phi.size();
  const PhiIntervals chosen = population ? est.population : PhiIntervals{est.ci_low, est.ci_high, est.p_value};
  z.ci = population ? "population" : "sample";
  z.ci_low = chosen.ci_low;
  z.ci_high = chosen.ci_high;
  z.p_value = chosen.p_value;
  z.p_adjusted = benjamini_hochberg(z.p_value);
  z.significant.resize(size_t(n));
  for (int g = 0; g < n; ++g) z.significant[g] = z.p_adjusted[g] < 0.01;
  z.critical = critical_regions(kCriticalRule, phi, z.zeta, z.significant);
  z.critical_zeta = critical_regions("zeta", phi, z.zeta, z.significant);
  return z;
}

}  // namespace imaging
