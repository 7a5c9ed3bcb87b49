// The optimizer updates of training_opt.inc on AVX2: 4 doubles a vector, twice the baseline SSE2
// build's lanes. training.cc calls them unless the addon's SIMD path is 'portable'.
#include <immintrin.h>

#include <cmath>
#include <cstdint>

#include "training.h"

// After the includes, so that no inline function of a shared header is compiled for AVX2 here and
// then picked by the linker for every caller. Without "fma" in the target nothing can fuse a * b + c
// (which would change the rounding the JS loop has); fp-contract=off says so anyway.
#if defined(__x86_64__) || defined(__i386__)
#pragma GCC target("avx2")
#pragma GCC optimize("fp-contract=off")

namespace ps_train {
namespace opt_avx2 {
namespace {
using V = __m256d;
constexpr int64_t kVec = 4;
inline V ld(const float* p) { return _mm256_cvtps_pd(_mm_loadu_ps(p)); }
inline void st(float* p, V v) { _mm_storeu_ps(p, _mm256_cvtpd_ps(v)); }
inline V f32(V v) { return _mm256_cvtps_pd(_mm256_cvtpd_ps(v)); }
inline V k(double x) { return _mm256_set1_pd(x); }
inline V vsqrt(V a) { return _mm256_sqrt_pd(a); }
}  // namespace
#define PS_OPT_VECTOR
#include "training_opt.inc"
#undef PS_OPT_VECTOR
}  // namespace opt_avx2
}  // namespace ps_train
#endif
