// Convolutions and matrix products on the AMX bf16 GEMM (amx.cc), for `--precision bf16`: each
// is one or a few GEMMs of amx.cc with the image read in place as im2col, plus the cheap fp32 glue
// around them (bias and activation, col2im, a transpose). Only called when the addon found AMX.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "amx.h"

namespace ps_amx {
namespace {

float act_scalar(float v, int act, float alpha) {
  switch (act) {
    case ps::ACT_RELU: return v > 0.f ? v : 0.f;
    case ps::ACT_RELU6: return v < 0.f ? 0.f : (v > 6.f ? 6.f : v);
    case ps::ACT_LEAKYRELU: return v > 0.f ? v : alpha * v;
    case ps::ACT_ELU: return v > 0.f ? v : std::expm1(v);
    case ps::ACT_SIGMOID: return 1.f / (1.f + std::exp(-v));
    default: return v;
  }
}

// y[rows x n] += bias (per column), then the activation: the fused ops' epilogue, in fp32.
void epilogue(float* y, long rows, int n, const float* bias, int act, float alpha) {
  if (!bias && act == ps::ACT_LINEAR) return;
#pragma omp parallel for schedule(static) if (rows * n > 65536)
  for (long i = 0; i < rows; i++)
    for (int j = 0; j < n; j++) y[i * n + j] = act_scalar(y[i * n + j] + (bias ? bias[j] : 0.f), act, alpha);
}

// dst[i][j] = src[j][i] for `count` matrices of rows x cols (src[k] at src + soff[k], dst[k] at
// dst + doff[k], dst rows of `rows` floats): 32 x 32 blocks, so both sides are read and written a
// cache line at a time, the blocks of all matrices shared statically among the threads (a copy: no
// sums, so the threads change no bits).
void transpose_many(int count, const float* src, const long* soff, float* dst, const long* doff, int rows, int cols) {
  constexpr int B = 32;
  const int br = (rows + B - 1) / B, bc = (cols + B - 1) / B;
  const long items = (long)count * br * bc;
#pragma omp parallel for schedule(static) if (items * B * B > 65536)
  for (long it = 0; it < items; it++) {
    const int k = (int)(it / ((long)br * bc)), rem = (int)(it - (long)k * br * bc), i0 = rem / bc * B, j0 = rem % bc * B;
    const float* s = src + soff[k];
    float* d = dst + doff[k];
    const int i1 = std::min(rows, i0 + B), j1 = std::min(cols, j0 + B);
    for (int j = j0; j < j1; j++)
      for (int i = i0; i < i1; i++) d[(long)j * rows + i] = s[(long)i * cols + j];
  }
}

}  // namespace

void conv2d(const float* x, const float* w, float* y, const ps::ConvGeom& g, const float* bias, int act, float alpha) {
  const int M = g.N * g.OH * g.OW, N = g.CO, K = g.KH * g.KW * g.C;
  gemm(M, N, K, Operand{x, 0, 0, &g}, Operand{w, N, 1, nullptr}, y, N, false);
  epilogue(y, M, N, bias, act, alpha);
}

// dW (KK x CO) = im2col(x)^T (KK x P) dy (P x CO), the pixels the depth. With channels in whole
// 32s, im2col^T is the A operand, packed tile by tile as it is used, and the product is dW itself.
// Otherwise dW^T = dy^T im2col(x), im2col as B (packed whole), transposed into dW's layout.
void conv2d_bwd_filter(const float* x, const float* dy, float* dw, const ps::ConvGeom& g) {
  const int P = g.N * g.OH * g.OW, KK = g.KH * g.KW * g.C, CO = g.CO;
  if (g.C % 32 == 0) {
    gemm(KK, CO, P, Operand{x, 0, 0, &g, true}, Operand{dy, CO, 1, nullptr}, dw, CO, false);
    return;
  }
  static thread_local std::vector<float> t;
  t.resize((size_t)CO * KK);
  gemm(CO, KK, P, Operand{dy, 1, CO, nullptr}, Operand{x, 0, 0, &g}, t.data(), KK, false);
  const long zero = 0;
  transpose_many(1, t.data(), &zero, dw, &zero, CO, KK);
}

// dx as a gather, as the fp32 kernels do it (impl_kernels.inc): for stride s the input pixels split
// into s x s phases; within one phase every pixel sees the same taps (kh = r + s*j), so each phase
// is a stride-1 convolution of dy with a sub-filter read backwards (dilation -1): one AMX product
// with dy's im2col as A, written into its phase of dx. No col buffer, no scatter.
void conv2d_bwd_input(const float* dy, const float* w, float* dx, const ps::ConvGeom& g) {
  const int CO = g.CO, C = g.C;
  static thread_local std::vector<float> wpbuf, tbuf;
  const bool direct = g.sh == 1 && g.sw == 1;
  auto ceil_div = [](int a, int b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); };
  auto floor_div = [](int a, int b) { return a >= 0 ? a / b : -((-a + b - 1) / b); };
  struct Phase {
    int rh, rw, nth, ntw, q0h, q0w, nqh, nqw;
    long w0;  // its sub-filter's offset in wpbuf
  };
  std::vector<Phase> phases;
  // Every pixel belongs to one phase; a phase no tap reaches (KH < sh) stays 0, so only then is dx
  // cleared first.
  bool covered = true;
  long wsize = 0;
  for (int rh = 0; rh < g.sh; rh++)
    for (int rw = 0; rw < g.sw; rw++) {
      const int nth = rh < g.KH ? (g.KH - rh + g.sh - 1) / g.sh : 0;
      const int ntw = rw < g.KW ? (g.KW - rw + g.sw - 1) / g.sw : 0;
      const int q0h = ceil_div(g.pt - rh, g.sh), q1h = floor_div(g.H - 1 + g.pt - rh, g.sh);
      const int q0w = ceil_div(g.pl - rw, g.sw), q1w = floor_div(g.W - 1 + g.pl - rw, g.sw);
      const int nqh = q1h - q0h + 1, nqw = q1w - q0w + 1;
      if (nqh <= 0 || nqw <= 0) continue;  // no pixels
      if (nth == 0 || ntw == 0) {
        covered = false;
        continue;
      }
      phases.push_back({rh, rw, nth, ntw, q0h, q0w, nqh, nqw, wsize});
      wsize += (long)nth * ntw * CO * C;
    }
  if (!covered) std::memset(dx, 0, sizeof(float) * (size_t)g.N * g.H * g.W * C);
  // Each phase's sub-filter is a [(jh, jw, co) x c] matrix: its taps' C x CO blocks of w, each
  // transposed. With CO in whole 32s, every depth tile of it lies in one tap, and the GEMM packs
  // it straight from w (B in blocks, transposed); otherwise the blocks are transposed into wpbuf
  // first, all taps in one parallel pass.
  const bool inPlace = CO % 32 == 0;
  std::vector<long> soff, doff;
  for (const Phase& p : phases)
    for (int jh = 0; jh < p.nth; jh++)
      for (int jw = 0; jw < p.ntw; jw++) {
        soff.push_back(((long)(p.rh + g.sh * jh) * g.KW + (p.rw + g.sw * jw)) * C * CO);
        doff.push_back(p.w0 + (long)(jh * p.ntw + jw) * CO * C);
      }
  if (!inPlace) {
    wpbuf.resize((size_t)wsize);
    transpose_many((int)soff.size(), w, soff.data(), wpbuf.data(), doff.data(), C, CO);
  }
  size_t tap0 = 0;  // the phase's first tap in soff
  for (const Phase& p : phases) {
    const int M = g.N * p.nqh * p.nqw;
    // The phase's pixels (n, qh, qw) are rows of nqw at stride sw * C, one per sh image rows: when
    // the rows come in whole 16s and the phases tile the image rows (H = sh * nqh), the product
    // lands in dx as they are; otherwise in tbuf, copied back below.
    const bool runs = !direct && p.nqw % 16 == 0 && g.H == g.sh * p.nqh;
    float* out = dx;
    if (runs) out = dx + (((long)g.sh * p.q0h + p.rh - g.pt) * g.W + (long)g.sw * p.q0w + p.rw - g.pl) * C;
    else if (!direct) {
      tbuf.resize((size_t)M * C);
      out = tbuf.data();
    }
    const ps::ConvGeom sub{g.N, g.OH, g.OW, CO, p.nth, p.ntw, C, p.nqh, p.nqw, 1, 1, -p.q0h, -p.q0w, -1, -1};
    const Operand sf = inPlace ? Operand{w, 1, CO, nullptr, false, soff.data() + tap0, CO}
                               : Operand{wpbuf.data() + p.w0, C, 1, nullptr};
    tap0 += (size_t)p.nth * p.ntw;
    if (runs) {
      gemm(M, C, p.nth * p.ntw * CO, Operand{dy, 0, 0, &sub}, sf, out, (long)g.sw * C, false, p.nqw,
           (long)g.sh * g.W * C);
      continue;
    }
    gemm(M, C, p.nth * p.ntw * CO, Operand{dy, 0, 0, &sub}, sf, out, C, false);
    if (direct) continue;
    // The phase's rows of pixels back into dx, shared among the threads.
    const int rows = g.N * p.nqh;
#pragma omp parallel for schedule(static) if ((long)M * C > 65536)
    for (int r = 0; r < rows; r++) {
      const int n = r / p.nqh, qh = r - n * p.nqh, ih = g.sh * (p.q0h + qh) + p.rh - g.pt;
      const float* src = out + (size_t)r * p.nqw * C;
      float* dst = dx + (((long)n * g.H + ih) * g.W + g.sw * p.q0w + p.rw - g.pl) * C;
      for (int qw = 0; qw < p.nqw; qw++) std::memcpy(dst + (long)qw * g.sw * C, src + (size_t)qw * C, sizeof(float) * C);
    }
  }
}

void matmul(const float* a, const float* b, float* c, int batch, int64_t strideA, int64_t strideB, int M, int N, int K,
            bool transA, bool transB, const float* bias, int act, float alpha) {
  for (int i = 0; i < batch; i++) {
    float* ci = c + (long)i * M * N;
    gemm(M, N, K, Operand{a + i * strideA, transA ? 1 : K, transA ? M : 1, nullptr},
         Operand{b + i * strideB, transB ? 1 : N, transB ? K : 1, nullptr}, ci, N, false);
    epilogue(ci, M, N, bias, act, alpha);
  }
}

}  // namespace ps_amx
