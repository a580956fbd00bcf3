// imaging/zeta_stats.cpp — the few statistics the ζ stage needs, with no dependency:
// Student-t tails and quantiles through the regularized incomplete beta function, and
// Benjamini–Hochberg adjusted p-values.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "imaging/zeta_stats.h"

namespace imaging {

namespace {

// Continued fraction of I_x(a, b) (modified Lentz), converging for x < (a+1)/(a+b+2).
double incomplete_beta_fraction(double a, double b, double x) {
  const double tiny = 1e-300, eps = 1e-15;
  double qab = a + b, qap = a + 1, qam = a - 1;
  double c = 1, d = 1 - qab * x / qap;
  if (std::fabs(d) < tiny) d = tiny;
  d = 1 / d;
  double h = d;
  for (int m = 1; m <= 1000; ++m) {
    const int m2 = 2 * m;
    double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (std::fabs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (std::fabs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (std::fabs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (std::fabs(c) < tiny) c = tiny;
    d = 1 / d;
    const double step = d * c;
    h *= step;
    if (std::fabs(step - 1) < eps) break;
  }
  return h;
}

}  // namespace

// I_x(a, b) = B(x; a, b)/B(a, b), by the continued fraction on whichever side converges.
double regularized_incomplete_beta(double a, double b, double x) {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const double front = std::exp(std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) +
                                b * std::log1p(-x));
  if (x < (a + 1) / (a + b + 2)) return front * incomplete_beta_fraction(a, b, x) / a;
  return 1 - front * incomplete_beta_fraction(b, a, 1 - x) / b;
}

namespace {
// Beyond 10⁶ degrees of freedom t is the normal to < 10⁻⁵, and the continued fraction slows down.
constexpr double kMaxDegreesOfFreedom = 1e6;
}  // namespace

// P(|T| ≥ |t|) for Student's t with df degrees of freedom = I_{df/(df+t²)}(df/2, 1/2).
double student_t_two_sided_p(double t, double df) {
  if (!std::isfinite(t)) return 0;
  df = std::min(df, kMaxDegreesOfFreedom);
  return regularized_incomplete_beta(df / 2, 0.5, df / (df + t * t));
}

// F⁻¹(p): bisection on the two-sided tail, which falls monotonically in |t|.
double student_t_quantile(double p, double df) {
  if (p == 0.5) return 0;
  const double upper = p > 0.5 ? p : 1 - p;
  const double tail = 2 * (1 - upper);
  double lo = 0, hi = 1;
  while (student_t_two_sided_p(hi, df) > tail && hi < 1e12) hi *= 2;
  for (int i = 0; i < 200 && hi - lo > 1e-12 * hi; ++i) {
    const double mid = 0.5 * (lo + hi);
    (student_t_two_sided_p(mid, df) > tail ? lo : hi) = mid;
  }
  const double t = 0.5 * (lo + hi);
  return p > 0.5 ? t : -t;
}

// Step-up: adjusted p_(i) = min_{j ≥ i} min(1, n·p_(j)/j), in the original order.
std::vector<double> benjamini_hochberg(const std::vector<double>& p) {
  const size_t n = p.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t(0));
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return p[a] < p[b]; });
  std::vector<double> adjusted(n);
  double running = 1;
  for (size_t r = n; r-- > 0;) {
    running = std::min(running, p[order[r]] * double(n) / double(r + 1));
    adjusted[order[r]] = std::min(1.0, running);
  }
  return adjusted;
}

}  // namespace imaging
