// Batch-norm training passes and optimizer updates. The optimizer updates compute in double and
// round on store, as the JS loops they replace (engine/ops/optimizers.ts) do: the two agree
// bit for bit. Batch norm sums its statistics in double and maps the elements in float.
#include "training.h"

// The batch-norm activations are selects; GCC only turns them into vector blends when it may
// assume FP operations do not trap (as elementwise.cc). Results are unchanged.
#pragma GCC optimize("no-trapping-math")

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace ps_train {
namespace {

// Below this many elements a pass takes tens of microseconds, about what waking the second
// (sleeping, OMP_WAIT_POLICY=PASSIVE) thread costs.
constexpr int64_t kParallelMin = 1 << 16;

int threads_for(int64_t elements) { return elements >= kParallelMin ? omp_get_max_threads() : 1; }

// Runs f(t, row0, row1) on contiguous row ranges, one per thread. Thread t sums its rows into its
// own C channel accumulators (part[t*C..]), so there are no atomics; combine() adds them in thread
// order, which makes the result independent of scheduling.
template <class F>
void over_rows(int64_t M, int threads, F f) {
  if (threads <= 1) {
    f(0, 0, M);
    return;
  }
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
    f(t, M * t / nt, M * (t + 1) / nt);
  }
}

void combine(const std::vector<double>& part, int threads, int64_t C, double* out) {
  for (int64_t c = 0; c < C; c++) out[c] = 0;
  for (int t = 0; t < threads; t++) {
    const double* p = part.data() + (size_t)t * C;
    for (int64_t c = 0; c < C; c++) out[c] += p[c];
  }
}

// The normalised value, written once for both passes: the backward pass recomputes exactly the
// forward's z, so the activation's gradient sees the same sign.
inline float bn_z(float x, float mean, float scale, float beta) { return (x - mean) * scale + beta; }

// As elementwise.cc's relu and leaky relu (leaky in double: the cpu backend's unrounded alpha).
inline float bn_act(float z, int act, double alpha) {
  if (act == BN_RELU) return z > 0 ? z : (z == z ? 0.f : z);
  if (act == BN_LEAKY_RELU) return static_cast<float>(z * (z < 0 ? alpha : 1.0));
  return z;
}

// dy * act'(z), as elementwise.cc's act_grad (relu: a NaN z stays NaN; leaky: alpha as a float).
inline float bn_act_grad(float g, float z, int act, float alpha) {
  if (act == BN_RELU) return z == z ? g * (z > 0 ? 1.f : 0.f) : z;
  if (act == BN_LEAKY_RELU) return g * (z > 0 ? 1.f : alpha);
  return g;
}

float bn_scale(float gamma, float var, double eps) { return (float)(gamma / std::sqrt((double)var + eps)); }

}  // namespace

void bn_forward(const float* x, const float* gamma, const float* beta, float* y, float* mean, float* var,
                int64_t M, int64_t C, double eps, int act, double alpha) {
  const int T = threads_for(M * C);
  std::vector<double> part((size_t)T * C, 0.0), tot(C);
  std::vector<float> scale(C);
  over_rows(M, T, [&](int t, int64_t r0, int64_t r1) {
    double* s = part.data() + (size_t)t * C;
    for (int64_t r = r0; r < r1; r++) {
      const float* xr = x + r * C;
      for (int64_t c = 0; c < C; c++) s[c] += xr[c];
    }
  });
  combine(part, T, C, tot.data());
  for (int64_t c = 0; c < C; c++) mean[c] = (float)(tot[c] / M);
  // Second pass around the float mean (as tf.moments): no cancellation for large means.
  std::fill(part.begin(), part.end(), 0.0);
  over_rows(M, T, [&](int t, int64_t r0, int64_t r1) {
    double* s = part.data() + (size_t)t * C;
    for (int64_t r = r0; r < r1; r++) {
      const float* xr = x + r * C;
      for (int64_t c = 0; c < C; c++) {
        const double d = (double)xr[c] - mean[c];
        s[c] += d * d;
      }
    }
  });
  combine(part, T, C, tot.data());
  for (int64_t c = 0; c < C; c++) {
    var[c] = (float)(tot[c] / M);
    scale[c] = bn_scale(gamma[c], var[c], eps);
  }
  over_rows(M, T, [&](int, int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
      const float* xr = x + r * C;
      float* yr = y + r * C;
      // In float: the statistics need double sums, this map does not. x - mean first, so a mean
      // far from 0 cancels exactly instead of in the products. One loop per activation, each
      // vectorised without a branch per element.
      switch (act) {
        case BN_RELU:
          for (int64_t c = 0; c < C; c++) yr[c] = bn_act(bn_z(xr[c], mean[c], scale[c], beta[c]), BN_RELU, alpha);
          break;
        case BN_LEAKY_RELU:
          for (int64_t c = 0; c < C; c++)
            yr[c] = bn_act(bn_z(xr[c], mean[c], scale[c], beta[c]), BN_LEAKY_RELU, alpha);
          break;
        default:
          for (int64_t c = 0; c < C; c++) yr[c] = bn_z(xr[c], mean[c], scale[c], beta[c]);
      }
    }
  });
}

namespace {

// Sums of g and g (x - mean) over rows [r0, r1), g = dy * act'(z).
template <int Act>
void bn_grad_sums(const float* dy, const float* x, const float* mean, const float* scale, const float* beta,
                  float alpha, int64_t r0, int64_t r1, int64_t C, double* s1, double* s2) {
  for (int64_t r = r0; r < r1; r++) {
    const float* gr = dy + r * C;
    const float* xr = x + r * C;
    for (int64_t c = 0; c < C; c++) {
      const double g = Act == BN_LINEAR ? gr[c] : bn_act_grad(gr[c], bn_z(xr[c], mean[c], scale[c], beta[c]), Act, alpha);
      s1[c] += g;
      s2[c] += g * ((double)xr[c] - mean[c]);
    }
  }
}

template <int Act>
void bn_grad_dx(const float* dy, const float* x, const float* mean, const float* scale, const float* beta,
                float alpha, const float* a, const float* b, const float* off, int64_t r0, int64_t r1, int64_t C,
                float* dx) {
  for (int64_t r = r0; r < r1; r++) {
    const float* gr = dy + r * C;
    const float* xr = x + r * C;
    float* o = dx + r * C;
    for (int64_t c = 0; c < C; c++) {
      const float g = Act == BN_LINEAR ? gr[c] : bn_act_grad(gr[c], bn_z(xr[c], mean[c], scale[c], beta[c]), Act, alpha);
      o[c] = a[c] * g - off[c] - b[c] * (xr[c] - mean[c]);
    }
  }
}

}  // namespace

void bn_backward(const float* dy, const float* x, const float* gamma, const float* beta, const float* mean,
                 const float* var, float* dx, float* dgamma, float* dbeta, int64_t M, int64_t C, double eps, int act,
                 double alpha) {
  const int T = threads_for(M * C);
  std::vector<double> part((size_t)T * 2 * C, 0.0), sdy(C), sdyx(C);
  std::vector<float> a(C), b(C), off(C), scale(C);
  for (int64_t c = 0; c < C; c++) scale[c] = bn_scale(gamma[c], var[c], eps);
  const float af = (float)alpha;
  over_rows(M, T, [&](int t, int64_t r0, int64_t r1) {
    double* s1 = part.data() + (size_t)t * 2 * C;
    double* s2 = s1 + C;
    if (act == BN_RELU) bn_grad_sums<BN_RELU>(dy, x, mean, scale.data(), beta, af, r0, r1, C, s1, s2);
    else if (act == BN_LEAKY_RELU) bn_grad_sums<BN_LEAKY_RELU>(dy, x, mean, scale.data(), beta, af, r0, r1, C, s1, s2);
    else bn_grad_sums<BN_LINEAR>(dy, x, mean, scale.data(), beta, af, r0, r1, C, s1, s2);
  });
  for (int64_t c = 0; c < C; c++) sdy[c] = sdyx[c] = 0;
  for (int t = 0; t < T; t++) {
    const double* s1 = part.data() + (size_t)t * 2 * C;
    for (int64_t c = 0; c < C; c++) {
      sdy[c] += s1[c];
      sdyx[c] += s1[C + c];
    }
  }
  // dx = gamma r (g - sum(g)/M - (x - mean) r^2 sum(g (x - mean))/M), r = 1/sqrt(var + eps)
  for (int64_t c = 0; c < C; c++) {
    const double rr = 1 / std::sqrt((double)var[c] + eps);
    const double ac = gamma[c] * rr, bc = ac * rr * rr * sdyx[c] / M;
    a[c] = (float)ac;
    b[c] = (float)bc;
    off[c] = (float)(ac * sdy[c] / M);
    dgamma[c] = (float)(rr * sdyx[c]);
    dbeta[c] = (float)sdy[c];
  }
  over_rows(M, T, [&](int, int64_t r0, int64_t r1) {
    const float *sc = scale.data(), *pa = a.data(), *pb = b.data(), *po = off.data();
    if (act == BN_RELU) bn_grad_dx<BN_RELU>(dy, x, mean, sc, beta, af, pa, pb, po, r0, r1, C, dx);
    else if (act == BN_LEAKY_RELU) bn_grad_dx<BN_LEAKY_RELU>(dy, x, mean, sc, beta, af, pa, pb, po, r0, r1, C, dx);
    else bn_grad_dx<BN_LINEAR>(dy, x, mean, sc, beta, af, pa, pb, po, r0, r1, C, dx);
  });
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
