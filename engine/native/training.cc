// Batch-norm training passes and optimizer updates. The optimizer updates compute in double and
// round on store, as the JS loops they replace (engine/ops/optimizers.ts) do: the two agree bit
// for bit (training_opt.inc). Batch norm sums its statistics in double and maps the elements in
// float.
#include "training.h"
#include "training_par.h"

// The batch-norm activations are selects; GCC only turns them into vector blends when it may
// assume FP operations do not trap (as elementwise.cc). Results are unchanged.
#pragma GCC optimize("no-trapping-math")

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace ps_train {

namespace bn_base {
#include "training_bn.inc"
}  // namespace bn_base

// training_bn_avx2.cc: the same passes built for AVX2/FMA.
namespace bn_avx2 {
void bn_forward(const float* x, const float* bias, const float* gamma, const float* beta, float* y, float* mean,
                float* var, int64_t M, int64_t C, double eps, int act, double alpha);
void bn_backward(const float* dy, const float* x, const float* bias, const float* gamma, const float* beta,
                 const float* mean, const float* var, float* dx, float* dgamma, float* dbeta, float* dbias, int64_t M,
                 int64_t C, double eps, int act, double alpha);
}  // namespace bn_avx2

// training_opt.inc's loops, built for the baseline (SSE2, below) and AVX2 (training_opt_avx2.cc).
// No AVX-512 build: the loops are bound by the double square root and division, whose throughput
// per element was no better in 512-bit vectors than in 128-bit ones on the Xeon (AMX) measured,
// while the AVX2 build updated 8-10% faster than SSE2 there.
namespace opt_base {
#if defined(__SSE2__)
namespace {
using V = __m128d;
constexpr int64_t kVec = 2;
inline V ld(const float* p) { return _mm_cvtps_pd(_mm_castsi128_ps(_mm_loadl_epi64((const __m128i*)p))); }
inline void st(float* p, V v) { _mm_storel_epi64((__m128i*)p, _mm_castps_si128(_mm_cvtpd_ps(v))); }
inline V f32(V v) { return _mm_cvtps_pd(_mm_cvtpd_ps(v)); }
inline V k(double x) { return _mm_set1_pd(x); }
inline V vsqrt(V a) { return _mm_sqrt_pd(a); }
}  // namespace
#define PS_OPT_VECTOR
#endif
#include "training_opt.inc"
#undef PS_OPT_VECTOR
}  // namespace opt_base

#if defined(__x86_64__) || defined(__i386__)
namespace opt_avx2 {
extern const OptLoops loops;
}
#endif

namespace {
bool cpu_has_avx2() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return false;
#endif
}
bool bn_wide = cpu_has_avx2();
const OptLoops* opt = &opt_base::loops;
}  // namespace

void bn_set_wide(bool on) {
  bn_wide = on && cpu_has_avx2();
#if defined(__x86_64__) || defined(__i386__)
  opt = bn_wide ? &opt_avx2::loops : &opt_base::loops;
#endif
}

void bn_forward(const float* x, const float* bias, const float* gamma, const float* beta, float* y, float* mean,
                float* var, int64_t M, int64_t C, double eps, int act, double alpha) {
  (bn_wide ? bn_avx2::bn_forward : bn_base::bn_forward)(x, bias, gamma, beta, y, mean, var, M, C, eps, act, alpha);
}

void bn_backward(const float* dy, const float* x, const float* bias, const float* gamma, const float* beta,
                 const float* mean, const float* var, float* dx, float* dgamma, float* dbeta, float* dbias, int64_t M,
                 int64_t C, double eps, int act, double alpha) {
  (bn_wide ? bn_avx2::bn_backward : bn_base::bn_backward)(dy, x, bias, gamma, beta, mean, var, dx, dgamma, dbeta,
                                                          dbias, M, C, eps, act, alpha);
}

namespace {

// Splits [0, n) in one contiguous block per thread, cut at multiples of 16 elements (whole
// cache lines: the threads never write the same line).
template <class F>
void over_range(int64_t n, F f) {
  const int T = threads_for(n);
  if (T <= 1) {
    f(0, n);
    return;
  }
#pragma omp parallel num_threads(T)
  {
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
    const int64_t blocks = (n + 15) / 16;
    f(std::min(n, blocks * t / nt * 16), std::min(n, blocks * (t + 1) / nt * 16));
  }
}

}  // namespace

void adam(const float* w, float* w_out, float* m, float* v, const float* g, int64_t n, const AdamParams& p) {
  over_range(n, [&](int64_t j0, int64_t j1) {
    (p.tf1 ? opt->adam_tf1 : opt->adam_tfjs)(w, w_out, m, v, g, j0, j1, p);
  });
}

void rmsprop(const float* w, float* w_out, float* ms, float* mom, float* mg, const float* g, int64_t n,
             const RmsParams& p) {
  over_range(n, [&](int64_t j0, int64_t j1) {
    if (mg) opt->rms_centered(w, w_out, ms, mom, mg, g, j0, j1, p);
    else opt->rms_plain(w, w_out, ms, mom, g, j0, j1, p);
  });
}

}  // namespace ps_train
