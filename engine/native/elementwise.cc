// Element-wise and reduction kernels (see elementwise.h; the 2x2 max pooling is in pooling.cc).
// Every inner loop is branch-free (selects instead of ifs) so GCC vectorises it with the baseline
// SSE2 the file is built for; these loops are bound by memory bandwidth, so wider vectors would
// not pay.
#include "elementwise.h"

// The selects below compute both sides; GCC only turns them into vector blends when it may
// assume FP operations do not trap (nothing here reads the FP exception flags).
#pragma GCC optimize("no-trapping-math")

#include <omp.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "elementwise_par.h"

namespace ps_ew {
namespace {

// exp in float, branch-free (Cephes expf polynomial, ~1 ulp). The clamp keeps the integer part
// of x*log2(e) in [-150, 129]; the two-step scaling then overflows to inf and underflows to 0 (or
// a denormal) as expf does. NaN is carried through by the caller's final select.
inline float exp_f(float x) {
  float xc = x == x ? x : 0.f;
  xc = xc > 89.f ? 89.f : xc;
  xc = xc < -104.f ? -104.f : xc;
  float fx = xc * 1.44269504088896341f;
  fx = (fx + 12582912.f) - 12582912.f;  // round to nearest integer (|fx| < 2^22)
  float r = xc - fx * 0.693359375f;
  r = r - fx * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * (r * r) + r + 1.f;
  const int n = static_cast<int>(fx);
  const int n1 = n >> 1, n2 = n - n1;
  const float s1 = __builtin_bit_cast(float, (n1 + 127) << 23);
  const float s2 = __builtin_bit_cast(float, (n2 + 127) << 23);
  const float y = p * s1 * s2;
  return x == x ? y : x;
}

inline float tanh_f(float x) {
  const float ax = std::fabs(x);
  // Cephes tanhf: an odd polynomial below 0.625 (where 1 - 2/(e^2x + 1) cancels), else via exp.
  const float z = x * x;
  float p = -5.70498872745e-3f;
  p = p * z + 2.06390887954e-2f;
  p = p * z - 5.37397155531e-2f;
  p = p * z + 1.33314422036e-1f;
  p = p * z - 3.33332819422e-1f;
  const float small = p * z * x + x;
  const float t = 1.f - 2.f / (exp_f(2.f * ax) + 1.f);
  const float large = x < 0 ? -t : t;
  return ax < 0.625f ? small : large;
}

// floor without libm (not vectorised at SSE2): truncate, step down where that rounded up.
// |x| >= 2^23 (and inf, NaN) is already integral.
inline float floor_f(float x) {
  const bool in_range = std::fabs(x) < 8388608.f;
  const float xi = in_range ? x : 0.f;
  float t = static_cast<float>(static_cast<int>(xi));
  t = t > xi ? t - 1.f : t;
  return in_range ? t : x;
}

template <class F>
void map1(const float* x, float* y, int64_t n, const F& f) {
  parallel_blocks(n, n, [&](int64_t b, int64_t e) {
    const F g = f;  // a local copy: stores to y cannot alias its parameters, so they stay in registers
    for (int64_t i = b; i < e; i++) y[i] = g(x[i]);
  });
}

// Rows of the [M, C] broadcast; each flat range [b, e) may start and end inside a row.
template <class F>
void map2(const float* a, const float* b, float* out, int64_t M, int64_t C, int64_t sa0, int64_t sa1, int64_t sb0,
          int64_t sb1, const F& f) {
  auto segment = [&](int64_t m, int64_t c0, int64_t len) {
    const float* pa = a + m * sa0 + c0 * sa1;
    const float* pb = b + m * sb0 + c0 * sb1;
    float* po = out + m * C + c0;
    if (sa1 && sb1) {
      for (int64_t j = 0; j < len; j++) po[j] = f(pa[j], pb[j]);
    } else if (sa1) {
      const float bv = *pb;
      for (int64_t j = 0; j < len; j++) po[j] = f(pa[j], bv);
    } else if (sb1) {
      const float av = *pa;
      for (int64_t j = 0; j < len; j++) po[j] = f(av, pb[j]);
    } else {
      const float v = f(*pa, *pb);
      for (int64_t j = 0; j < len; j++) po[j] = v;
    }
  };
  const int64_t total = M * C;
  parallel_blocks(total, total, [&](int64_t lo, int64_t hi) {
    int64_t m = lo / C, c = lo % C, pos = lo;
    while (pos < hi) {
      const int64_t len = std::min(C - c, hi - pos);
      segment(m, c, len);
      pos += len;
      m++;
      c = 0;
    }
  });
}

template <class F>
void map2_tiled(const float* a, const float* b, float* out, int64_t M, int64_t C, int64_t sa0, int64_t sa1,
                int64_t sb0, int64_t sb1, const F& f) {
  // A short channel vector against a full tensor ([M, 3] + [3]) makes rows too short to
  // vectorise: view the full side as rows of k*C and repeat the vector k times.
  const bool a_full = sa0 == C && sa1 == 1, b_full = sb0 == C && sb1 == 1;
  const bool a_vec = sa0 == 0 && sa1 == 1, b_vec = sb0 == 0 && sb1 == 1;
  const int64_t k = C < 64 ? (64 + C - 1) / C : 1;
  if (k > 1 && M >= 4 * k && ((a_full && b_vec) || (a_vec && b_full))) {
    const int64_t L = k * C, rows = M / k;
    std::vector<float> rep(L);
    const float* v = a_vec ? a : b;
    for (int64_t j = 0; j < L; j++) rep[j] = v[j % C];
    if (a_vec) {
      map2(rep.data(), b, out, rows, L, 0, 1, L, 1, f);
    } else {
      map2(a, rep.data(), out, rows, L, L, 1, 0, 1, f);
    }
    const int64_t done = rows * k;
    if (done < M) {
      map2(a_vec ? a : a + done * C, a_vec ? b + done * C : b, out + done * C, M - done, C, sa0, sa1, sb0, sb1, f);
    }
    return;
  }
  map2(a, b, out, M, C, sa0, sa1, sb0, sb1, f);
}

// acc[0..L) += column sums of rows [r0, r1) of x viewed as [*, L], in double. Four rows at a
// time: the sums stay in registers through them, where a load and store of acc per row also
// stalled the next rows' loads sharing their address bits 4 KB apart. Rows are added in order.
void column_sums(const float* x, int64_t L, int64_t r0, int64_t r1, double* acc) {
  int64_t r = r0;
  for (; r + 4 <= r1; r += 4) {
    const float* row = x + r * L;
    for (int64_t j = 0; j < L; j++) acc[j] = (((acc[j] + row[j]) + row[L + j]) + row[2 * L + j]) + row[3 * L + j];
  }
  for (; r < r1; r++) {
    const float* row = x + r * L;
    for (int64_t j = 0; j < L; j++) acc[j] += row[j];
  }
}

double row_sum(const float* x, int64_t n) {
  double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int k = 0; k < 8; k++) s[k] += x[i + k];
  }
  double t = 0;
  for (; i < n; i++) t += x[i];
  return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7])) + t;
}

// Sum of one [reduce, inner] block into out (inner values), divided by `divisor`.
void block_sum(const float* x, int64_t reduce, int64_t inner, float* out, double divisor, bool parallel) {
  if (inner == 1) {
    const int T = parallel ? omp_get_max_threads() : 1;
    std::vector<double> part(T, 0.0);
    parallel_blocks(T, parallel ? reduce : 0, [&](int64_t b, int64_t e) {
      for (int64_t t = b; t < e; t++) part[t] = row_sum(x + reduce * t / T, reduce * (t + 1) / T - reduce * t / T);
    });
    double s = 0;
    for (double v : part) s += v;
    out[0] = static_cast<float>(s / divisor);
    return;
  }
  // Few channels: sum rows of k*inner values (k pixels at once), fold the k copies at the end.
  const int64_t k = inner < 64 ? std::max<int64_t>(1, std::min<int64_t>(reduce / 4, (64 + inner - 1) / inner)) : 1;
  const int64_t L = k * inner, rows = reduce / k;
  const int T = parallel && rows >= 2 ? omp_get_max_threads() : 1;
  std::vector<double> acc((size_t)T * L, 0.0);
  if (T > 1) {
#pragma omp parallel num_threads(T)
    {
      const int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
      column_sums(x, L, rows * t / nt, rows * (t + 1) / nt, acc.data() + t * L);
    }
  } else {
    column_sums(x, L, 0, rows, acc.data());
  }
  std::vector<double> tot(inner, 0.0);
  for (int64_t t = 0; t < T; t++) {
    for (int64_t j = 0; j < L; j++) tot[j % inner] += acc[t * L + j];
  }
  column_sums(x + rows * L, inner, 0, reduce - rows * k, tot.data());
  for (int64_t j = 0; j < inner; j++) out[j] = static_cast<float>(tot[j] / divisor);
}

// Integer multiplies that baseline SSE2 lacks (pmulld) make this loop compute-bound, unlike the
// others here: GCC builds AVX-512 and AVX2 clones and picks one at load time (x86-64 Linux).
#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__)
#define PS_EW_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define PS_EW_CLONES
#endif

PS_EW_CLONES void mask_block(float* out, int64_t b, int64_t e, uint32_t s0, uint32_t threshold, float scale) {
  for (int64_t i = b; i < e; i++) {
    uint32_t z = s0 + static_cast<uint32_t>(i + 1) * 0x9e3779b9u;
    z = (z ^ (z >> 16)) * 0x85ebca6bu;
    z = (z ^ (z >> 13)) * 0xc2b2ae35u;
    z ^= z >> 16;
    out[i] = z >= threshold ? scale : 0.f;
  }
}

}  // namespace

void unary(int op, const float* x, float* y, int64_t n, double p0) {
  switch (op) {
    case U_RELU: return map1(x, y, n, [](float v) { return v > 0 ? v : (v == v ? 0.f : v); });
    case U_RELU6: return map1(x, y, n, [](float v) { return v == v ? std::min(std::max(v, 0.f), 6.f) : v; });
    case U_LEAKY_RELU:
      // In double, as the cpu backend multiplies by the unrounded alpha before storing a float.
      return map1(x, y, n, [p0](float v) { return static_cast<float>(v * (v < 0 ? p0 : 1.0)); });
    case U_TANH: return map1(x, y, n, [](float v) { return tanh_f(v); });
    case U_SIGMOID: return map1(x, y, n, [](float v) { return 1.f / (1.f + exp_f(-v)); });
    case U_SQUARE: return map1(x, y, n, [](float v) { return v * v; });
    case U_NEG: return map1(x, y, n, [](float v) { return -v; });
    case U_ABS: return map1(x, y, n, [](float v) { return std::fabs(v); });
    case U_FLOOR: return map1(x, y, n, [](float v) { return floor_f(v); });
    case U_STEP: return map1(x, y, n, [a = (float)p0](float v) { return v == v ? (v > 0 ? 1.f : a) : v; });
    case U_EXP: return map1(x, y, n, [](float v) { return exp_f(v); });
    default: return;
  }
}

void binary(int op, const float* a, const float* b, float* out, int64_t M, int64_t C, int64_t sa0, int64_t sa1,
            int64_t sb0, int64_t sb1) {
  switch (op) {
    case B_ADD: return map2_tiled(a, b, out, M, C, sa0, sa1, sb0, sb1, [](float p, float q) { return p + q; });
    case B_SUB: return map2_tiled(a, b, out, M, C, sa0, sa1, sb0, sb1, [](float p, float q) { return p - q; });
    case B_MUL: return map2_tiled(a, b, out, M, C, sa0, sa1, sb0, sb1, [](float p, float q) { return p * q; });
    case B_DIV: return map2_tiled(a, b, out, M, C, sa0, sa1, sb0, sb1, [](float p, float q) { return p / q; });
    case B_SQDIFF:
      return map2_tiled(a, b, out, M, C, sa0, sa1, sb0, sb1, [](float p, float q) {
        const double d = (double)p - q;  // in double like the cpu backend: exact difference, one rounding
        return static_cast<float>(d * d);
      });
    default: return;
  }
}

void act_grad(int op, const float* dy, const float* x, float* out, int64_t n, float alpha) {
  parallel_blocks(n, n, [&](int64_t b, int64_t e) {
    if (op == G_RELU) {
      // dy * 0 below zero, not 0: an infinite or NaN dy stays NaN, as tfjs's dy * step(x).
      for (int64_t i = b; i < e; i++) {
        const float v = x[i], g = dy[i];
        out[i] = v == v ? g * (v > 0 ? 1.f : 0.f) : v;
      }
    } else {
      const float a = alpha;
      for (int64_t i = b; i < e; i++) out[i] = dy[i] * (x[i] > 0 ? 1.f : a);
    }
  });
}

void relu_grad_bias(const float* dy, const float* y, float* out, float* bias, int64_t M, int64_t C, float alpha) {
  // Few channels: k rows at once (as block_sum), so the inner loop is long enough to vectorise.
  const int64_t k = C < 64 ? std::max<int64_t>(1, std::min<int64_t>(M / 4, (64 + C - 1) / C)) : 1;
  const int64_t L = k * C, rows = M / k;
  const int T = rows >= 2 && M * C >= kParallelMin ? omp_get_max_threads() : 1;
  std::vector<double> acc((size_t)T * L, 0.0);
  // Rows [r0, r1) of width L: float partial sums over blocks of 32 rows, added into a (double):
  // the float adds vectorise, and 32 terms lose nothing that matters before the double.
  auto run = [&](int64_t r0, int64_t r1, double* a) {
    std::vector<float> part(L);
    float* pf = part.data();
    for (int64_t rb = r0; rb < r1; rb += 32) {
      const int64_t re = std::min(r1, rb + 32);
      std::fill(pf, pf + L, 0.f);
      for (int64_t r = rb; r < re; r++) {
        const float* g = dy + r * L;
        const float* v = y + r * L;
        float* o = out + r * L;
        int64_t j = 0;
        if (alpha > 0) {  // leaky: dy * (y > 0 ? 1 : alpha), then the next row
#if defined(__SSE2__)
          const __m128 one = _mm_set1_ps(1.f), slope = _mm_set1_ps(alpha);
          for (; j + 4 <= L; j += 4) {
            const __m128 pos = _mm_cmpgt_ps(_mm_loadu_ps(v + j), _mm_setzero_ps());
            const __m128 d = _mm_mul_ps(_mm_loadu_ps(g + j), _mm_or_ps(_mm_and_ps(pos, one), _mm_andnot_ps(pos, slope)));
            _mm_storeu_ps(o + j, d);
            _mm_storeu_ps(pf + j, _mm_add_ps(_mm_loadu_ps(pf + j), d));
          }
#endif
          for (; j < L; j++) {
            const float d = g[j] * (v[j] > 0 ? 1.f : alpha);
            o[j] = d;
            pf[j] += d;
          }
          continue;
        }
#if defined(__SSE2__)
        // Written with intrinsics: the NaN select defeats GCC's vectoriser (a 4x slower loop).
        for (; j + 4 <= L; j += 4) {
          const __m128 yv = _mm_loadu_ps(v + j), gv = _mm_loadu_ps(g + j);
          const __m128 pos = _mm_cmpgt_ps(yv, _mm_setzero_ps());
          const __m128 nan = _mm_cmpunord_ps(yv, yv);
          // dy * 0 below zero (an infinite dy gives NaN, as dy * step(x)); a NaN y passes on.
          const __m128 d0 = _mm_mul_ps(gv, _mm_and_ps(pos, _mm_set1_ps(1.f)));
          const __m128 d = _mm_or_ps(_mm_andnot_ps(nan, d0), _mm_and_ps(nan, yv));
          _mm_storeu_ps(o + j, d);
          _mm_storeu_ps(pf + j, _mm_add_ps(_mm_loadu_ps(pf + j), d));
        }
#endif
        for (; j < L; j++) {
          const float yj = v[j];
          const float d = yj == yj ? g[j] * (yj > 0 ? 1.f : 0.f) : yj;
          o[j] = d;
          pf[j] += d;
        }
      }
      for (int64_t j = 0; j < L; j++) a[j] += pf[j];
    }
  };
  if (T > 1) {
#pragma omp parallel num_threads(T)
    {
      const int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
      run(rows * t / nt, rows * (t + 1) / nt, acc.data() + t * L);
    }
  } else {
    run(0, rows, acc.data());
  }
  std::vector<double> tot(C, 0.0);
  for (int64_t t = 0; t < T; t++) {
    for (int64_t j = 0; j < L; j++) tot[j % C] += acc[t * L + j];
  }
  // The rows left over when M is not a multiple of k, one row of C at a time.
  for (int64_t i = rows * k * C; i < M * C; i++) {
    const float yj = y[i];
    const float d = alpha > 0 ? dy[i] * (yj > 0 ? 1.f : alpha) : yj == yj ? dy[i] * (yj > 0 ? 1.f : 0.f) : yj;
    out[i] = d;
    tot[i % C] += d;
  }
  for (int64_t j = 0; j < C; j++) bias[j] = static_cast<float>(tot[j]);
}

void dropout_mask(float* out, int64_t n, uint64_t threshold, float scale, int32_t seed) {
  // The JS loop steps a 32-bit counter by the golden ratio per element; its i-th state is
  // s0 + (i + 1) * golden (mod 2^32), so blocks of it can run on any thread.
  const uint32_t s0 = (static_cast<uint32_t>(seed) * 0x9e3779b1u) ^ 0x5bd1e995u;
  if (threshold > UINT32_MAX) {  // rate 1: the JS loop drops everything too
    std::fill(out, out + n, 0.f);
    return;
  }
  const uint32_t t = static_cast<uint32_t>(threshold);
  parallel_blocks(n, n, [&](int64_t b, int64_t e) { mask_block(out, b, e, s0, t, scale); });
}

void sum(const float* x, float* out, int64_t outer, int64_t reduce, int64_t inner, double divisor) {
  const int64_t block = reduce * inner;
  if (outer >= 2 && outer * block >= kParallelMin && omp_get_max_threads() > 1) {
    parallel_blocks(outer, outer * block, [&](int64_t b, int64_t e) {
      for (int64_t o = b; o < e; o++) block_sum(x + o * block, reduce, inner, out + o * inner, divisor, false);
    });
    return;
  }
  for (int64_t o = 0; o < outer; o++) {
    block_sum(x + o * block, reduce, inner, out + o * inner, divisor, block >= kParallelMin);
  }
}

}  // namespace ps_ew
