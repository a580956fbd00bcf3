// imaging/zeta_stats.h — the few statistics the ζ stage needs, implemented in zeta_stats.cpp to
// need no dependency: Student-t tails and quantiles, Benjamini–Hochberg adjusted p-values.
#pragma once
#include <vector>

namespace imaging {

double regularized_incomplete_beta(double a, double b, double x);  // I_x(a, b)
double student_t_two_sided_p(double t, double df);                  // P(|T_df| ≥ |t|), df capped at 10⁶
double student_t_quantile(double p, double df);                     // F⁻¹(p), 0 < p < 1, df capped at 10⁶
std::vector<double> benjamini_hochberg(const std::vector<double>& p);  // adjusted p-values

}  // namespace imaging
