// The batch-norm passes of training_bn.inc built for AVX2/FMA: twice the lanes of the baseline
// SSE2 build for their double sums and float maps (training.cc calls them when the CPU has AVX2
// and the addon's SIMD path is not 'portable').
#pragma GCC optimize("no-trapping-math")
#if defined(__x86_64__) || defined(__i386__)
#pragma GCC target("avx2,fma")
#endif

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

#include "training.h"
#include "training_par.h"

namespace ps_train {
namespace bn_avx2 {
#include "training_bn.inc"
}  // namespace bn_avx2
}  // namespace ps_train
