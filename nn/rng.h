// nn/rng.h — nn::Rng is base::Rng (base/rng.h), the one random number generator of the project.
#pragma once
#include "base/rng.h"

namespace nn {
using base::Rng;
}  // namespace nn
