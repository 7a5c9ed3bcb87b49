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

}  // namespace

void conv2d(const float* x, const float* w, float* y, const ps::ConvGeom& g, const float* bias, int act, float alpha) {
  const int M = g.N * g.OH * g.OW, N = g.CO, K = g.KH * g.KW * g.C;
  gemm(M, N, K, Operand{x, 0, 0, &g}, Operand{w, N, 1, nullptr}, y, N, false);
  epilogue(y, M, N, bias, act, alpha);
}

// dW^T (CO x KK) = dy^T (CO x P) im2col(x) (P x KK): im2col is the B operand, whose rows (pixels)
// are the depth; the small result is transposed into dW's [KK x CO] layout.
void conv2d_bwd_filter(const float* x, const float* dy, float* dw, const ps::ConvGeom& g) {
  const int P = g.N * g.OH * g.OW, KK = g.KH * g.KW * g.C, CO = g.CO;
  static thread_local std::vector<float> t;
  t.resize((size_t)CO * KK);
  gemm(CO, KK, P, Operand{dy, 1, CO, nullptr}, Operand{x, 0, 0, &g}, t.data(), KK, false);
  for (int k = 0; k < KK; k++)
    for (int c = 0; c < CO; c++) dw[(long)k * CO + c] = t[(size_t)c * KK + k];
}

// dx as a gather, as the fp32 kernels do it (impl_kernels.inc): for stride s the input pixels split
// into s x s phases; within one phase every pixel sees the same taps (kh = r + s*j), so each phase
// is a stride-1 convolution of dy with a sub-filter read backwards (dilation -1): one AMX product
// with dy's im2col as A, written into its phase of dx. No col buffer, no scatter.
void conv2d_bwd_input(const float* dy, const float* w, float* dx, const ps::ConvGeom& g) {
  const int CO = g.CO, C = g.C;
  static thread_local std::vector<float> wpbuf, tbuf;
  const bool direct = g.sh == 1 && g.sw == 1;
  if (!direct) std::memset(dx, 0, sizeof(float) * (size_t)g.N * g.H * g.W * C);
  auto ceil_div = [](int a, int b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); };
  auto floor_div = [](int a, int b) { return a >= 0 ? a / b : -((-a + b - 1) / b); };
  for (int rh = 0; rh < g.sh; rh++) {
    for (int rw = 0; rw < g.sw; rw++) {
      const int nth = rh < g.KH ? (g.KH - rh + g.sh - 1) / g.sh : 0;
      const int ntw = rw < g.KW ? (g.KW - rw + g.sw - 1) / g.sw : 0;
      const int q0h = ceil_div(g.pt - rh, g.sh), q1h = floor_div(g.H - 1 + g.pt - rh, g.sh);
      const int q0w = ceil_div(g.pl - rw, g.sw), q1w = floor_div(g.W - 1 + g.pl - rw, g.sw);
      const int nqh = q1h - q0h + 1, nqw = q1w - q0w + 1;
      if (nqh <= 0 || nqw <= 0 || nth == 0 || ntw == 0) continue;  // no pixels, or none a tap reaches (stay 0)
      // The sub-filter as a [(jh, jw, co) x c] matrix.
      wpbuf.resize((size_t)nth * ntw * CO * C);
      float* wp = wpbuf.data();
      for (int jh = 0; jh < nth; jh++)
        for (int jw = 0; jw < ntw; jw++) {
          const float* src = w + ((long)(rh + g.sh * jh) * g.KW + (rw + g.sw * jw)) * C * CO;
          float* dst = wp + (size_t)(jh * ntw + jw) * CO * C;
          for (int c = 0; c < C; c++)
            for (int co = 0; co < CO; co++) dst[(size_t)co * C + c] = src[(size_t)c * CO + co];
        }
      const int M = g.N * nqh * nqw;
      float* out = dx;
      if (!direct) {
        tbuf.resize((size_t)M * C);
        out = tbuf.data();
      }
      const ps::ConvGeom sub{g.N, g.OH, g.OW, CO, nth, ntw, C, nqh, nqw, 1, 1, -q0h, -q0w, -1, -1};
      gemm(M, C, nth * ntw * CO, Operand{dy, 0, 0, &sub}, Operand{wp, C, 1, nullptr}, out, C, false);
      if (direct) continue;
      for (int n = 0; n < g.N; n++)
        for (int qh = 0; qh < nqh; qh++) {
          const int ih = g.sh * (q0h + qh) + rh - g.pt;
          for (int qw = 0; qw < nqw; qw++) {
            const int iw = g.sw * (q0w + qw) + rw - g.pl;
            std::memcpy(dx + (((long)n * g.H + ih) * g.W + iw) * C, out + (((size_t)n * nqh + qh) * nqw + qw) * C,
                        sizeof(float) * C);
          }
        }
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
