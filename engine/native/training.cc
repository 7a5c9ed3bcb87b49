// Batch-norm training passes and optimizer updates. The optimizer updates compute in double and
// round on store, as the JS loops they replace (engine/ops/optimizers.ts) do: the two agree
// bit for bit. Batch norm sums its statistics in double and maps the elements in float.
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
}  // namespace

void bn_set_wide(bool on) { bn_wide = on && cpu_has_avx2(); }

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

// The expressions below mirror optimizers.ts term for term (same association, double
// intermediates): the native and JS updates then agree bit for bit. GCC does not vectorise
// std::sqrt without -fno-math-errno (which the shared build flags do not set, and which the
// optimize attribute does not reach), so on x86 the loops take two elements at a time with SSE2
// intrinsics (the same IEEE operations) and leave the tail to the scalar form.
namespace {

#if defined(__SSE2__)
using V2 = __m128d;  // GNU vector type: + - * / are the IEEE lane-wise operations
inline V2 ld(const float* p) { return _mm_cvtps_pd(_mm_castsi128_ps(_mm_loadl_epi64((const __m128i*)p))); }
inline void st(float* p, V2 v) { _mm_storel_epi64((__m128i*)p, _mm_castps_si128(_mm_cvtpd_ps(v))); }
inline V2 f32(V2 v) { return _mm_cvtps_pd(_mm_cvtpd_ps(v)); }  // (float) and back
inline V2 k(double x) { return _mm_set1_pd(x); }
inline V2 sqrt2(V2 a) { return _mm_sqrt_pd(a); }
constexpr int64_t kVec = 2;
#else
constexpr int64_t kVec = 0;
#endif

void adam_tf1(const float* w, float* w_out, float* m, float* v, const float* g, int64_t j, int64_t j1,
              const AdamParams& p) {
  const double b1 = p.b1, b2 = p.b2, c1 = p.c1, c2 = p.c2, lr = p.lr, eps = p.eps;
#if defined(__SSE2__)
  for (; j + kVec <= j1; j += kVec) {
    const V2 gj = ld(g + j);
    const V2 mj = f32(k(b1) * ld(m + j) + k(c1) * gj);
    const V2 vj = f32(k(b2) * ld(v + j) + k(c2) * gj * gj);
    st(m + j, mj);
    st(v + j, vj);
    st(w_out + j, ld(w + j) - (mj / (sqrt2(vj) + k(eps))) * k(lr));
  }
#endif
  for (; j < j1; j++) {
    const double gj = g[j];
    const float mj = (float)(b1 * m[j] + c1 * gj);
    const float vj = (float)(b2 * v[j] + c2 * gj * gj);
    m[j] = mj;
    v[j] = vj;
    w_out[j] = (float)(w[j] - (mj / (std::sqrt((double)vj) + eps)) * lr);
  }
}

void adam_tfjs(const float* w, float* w_out, float* m, float* v, const float* g, int64_t j, int64_t j1,
               const AdamParams& p) {
  const double b1 = p.b1, b2 = p.b2, c1 = p.c1, c2 = p.c2, eps = p.eps, sm = p.scale_m, sv = p.scale_v;
#if defined(__SSE2__)
  for (; j + kVec <= j1; j += kVec) {
    const V2 gj = ld(g + j);
    const V2 mj = k(b1) * ld(m + j) + k(c1) * gj;
    const V2 vj = k(b2) * ld(v + j) + k(c2) * gj * gj;
    st(m + j, mj);
    st(v + j, vj);
    st(w_out + j, ld(w + j) - (mj * k(sm)) / (sqrt2(vj * k(sv)) + k(eps)));
  }
#endif
  for (; j < j1; j++) {
    const double gj = g[j];
    const double mj = b1 * m[j] + c1 * gj;
    const double vj = b2 * v[j] + c2 * gj * gj;
    m[j] = (float)mj;
    v[j] = (float)vj;
    w_out[j] = (float)(w[j] - (mj * sm) / (std::sqrt(vj * sv) + eps));
  }
}

void rms_plain(const float* w, float* w_out, float* ms, float* mom, const float* g, int64_t j, int64_t j1,
               const RmsParams& p) {
  const double decay = p.decay, c = p.c, mo = p.momentum, lr = p.lr, eps = p.eps;
#if defined(__SSE2__)
  for (; j + kVec <= j1; j += kVec) {
    const V2 gj = ld(g + j);
    const V2 msj = k(decay) * ld(ms + j) + k(c) * gj * gj;
    const V2 moj = k(mo) * ld(mom + j) + (gj * k(lr)) / sqrt2(msj + k(eps));
    st(ms + j, msj);
    st(mom + j, moj);
    st(w_out + j, ld(w + j) - moj);
  }
#endif
  for (; j < j1; j++) {
    const double gj = g[j];
    const double msj = decay * ms[j] + c * gj * gj;
    const double moj = mo * mom[j] + (gj * lr) / std::sqrt(msj + eps);
    ms[j] = (float)msj;
    mom[j] = (float)moj;
    w_out[j] = (float)(w[j] - moj);
  }
}

void rms_centered(const float* w, float* w_out, float* ms, float* mom, float* mg, const float* g, int64_t j,
                  int64_t j1, const RmsParams& p) {
  const double decay = p.decay, c = p.c, mo = p.momentum, lr = p.lr, eps = p.eps;
#if defined(__SSE2__)
  for (; j + kVec <= j1; j += kVec) {
    const V2 gj = ld(g + j);
    const V2 msj = k(decay) * ld(ms + j) + k(c) * gj * gj;
    const V2 mgj = k(decay) * ld(mg + j) + k(c) * gj;
    const V2 moj = k(mo) * ld(mom + j) + (gj * k(lr)) / sqrt2(msj - (mgj * mgj + k(eps)));
    st(ms + j, msj);
    st(mg + j, mgj);
    st(mom + j, moj);
    st(w_out + j, ld(w + j) - moj);
  }
#endif
  for (; j < j1; j++) {
    const double gj = g[j];
    const double msj = decay * ms[j] + c * gj * gj;
    const double mgj = decay * mg[j] + c * gj;
    const double moj = mo * mom[j] + (gj * lr) / std::sqrt(msj - (mgj * mgj + eps));
    ms[j] = (float)msj;
    mg[j] = (float)mgj;
    mom[j] = (float)moj;
    w_out[j] = (float)(w[j] - moj);
  }
}

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
    if (p.tf1) adam_tf1(w, w_out, m, v, g, j0, j1, p);
    else adam_tfjs(w, w_out, m, v, g, j0, j1, p);
  });
}

void rmsprop(const float* w, float* w_out, float* ms, float* mom, float* mg, const float* g, int64_t n,
             const RmsParams& p) {
  over_range(n, [&](int64_t j0, int64_t j1) {
    if (mg) rms_centered(w, w_out, ms, mom, mg, g, j0, j1, p);
    else rms_plain(w, w_out, ms, mom, g, j0, j1, p);
  });
}

}  // namespace ps_train
