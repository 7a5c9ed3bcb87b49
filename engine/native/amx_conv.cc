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

// dx = col2im(dy W^T), a few images at a time: the product gives each output pixel's contribution
// to every tap of its window, added into dx image by image (images never overlap: in parallel).
void conv2d_bwd_input(const float* dy, const float* w, float* dx, const ps::ConvGeom& g) {
  const int KK = g.KH * g.KW * g.C, CO = g.CO, ohw = g.OH * g.OW;
  std::memset(dx, 0, sizeof(float) * (size_t)g.N * g.H * g.W * g.C);
  const size_t perImage = (size_t)ohw * KK;
  const int chunk = std::max(1, std::min(g.N, (int)((size_t)(8u << 20) / std::max<size_t>(perImage, 1))));
  static thread_local std::vector<float> cols;
  cols.resize(perImage * chunk);
  const float* colsp = cols.data();  // thread_local: the region's other threads must not name it
  for (int n0 = 0; n0 < g.N; n0 += chunk) {
    const int nb = std::min(chunk, g.N - n0);
    // B = W^T: (co, tap) at w[tap * CO + co].
    gemm(nb * ohw, KK, CO, Operand{dy + (long)n0 * ohw * CO, CO, 1, nullptr}, Operand{w, 1, CO, nullptr}, cols.data(),
         KK, false);
#pragma omp parallel for schedule(static) if (nb > 1)
    for (int b = 0; b < nb; b++) {
      float* img = dx + (long)(n0 + b) * g.H * g.W * g.C;
      const float* cb = colsp + (size_t)b * perImage;
      for (int oh = 0; oh < g.OH; oh++)
        for (int ow = 0; ow < g.OW; ow++) {
          const float* row = cb + ((size_t)oh * g.OW + ow) * KK;
          for (int kh = 0; kh < g.KH; kh++) {
            const int ih = oh * g.sh - g.pt + kh * g.dh;
            if (ih < 0 || ih >= g.H) continue;
            for (int kw = 0; kw < g.KW; kw++) {
              const int iw = ow * g.sw - g.pl + kw * g.dw;
              if (iw < 0 || iw >= g.W) continue;
              float* o = img + ((long)ih * g.W + iw) * g.C;
              const float* s = row + (kh * g.KW + kw) * g.C;
              for (int c = 0; c < g.C; c++) o[c] += s[c];
            }
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
