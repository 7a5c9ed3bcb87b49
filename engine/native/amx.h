// AMX bf16 tiles (Intel Sapphire Rapids and later): the only code built with -mamx-tile -mamx-bf16
// (amx.cc). The addon checks the CPU, the OS and the Linux permission first (addon_amx.cc) and
// calls nothing here without them.
#pragma once

#include "kernels.h"

namespace ps_amx {

// Whether this build holds the AMX code (false when the compiler lacked -mamx-tile/-mamx-bf16).
bool compiled();

// GFLOP/s of TDPBF16PS (16x32 bf16 by 32x16 bf16 into 16x16 fp32 tiles) on every core at once,
// per CPU-second of each thread, as the other peaks.
double peak(double seconds);

// C[M x N] (row stride ldc) = A[M x K] * B[K x N], or += with accumulate. A's element (i, k) is
// a[i * ars + k * acs], B's (k, j) is b[k * brs + j * bcs] (a transposed operand is a stride swap).
// A and B are rounded to bf16 (round to nearest even) as they are packed, products are summed in
// fp32. Threads: the engine's OpenMP count. Scratch that cannot be allocated throws std::bad_alloc.
void gemm(int M, int N, int K, const float* a, long ars, long acs, const float* b, long brs, long bcs, float* c,
          long ldc, bool accumulate);

// A GEMM operand: element (r, c) at p[r * rs + c * cs]; or, when conv is set, im2col of the NHWC
// image p under that geometry (row r = output pixel, column c = filter tap (kh, kw, channel)),
// read in place as it is packed; with conv_t, that im2col transposed (row = tap, column = pixel),
// only as A and only with channels in whole 32s. With blocks (only as B, block_rows a multiple of
// 32), rows come in blocks of block_rows, block t at p + blocks[t] (its row r at r * rs there).
struct Operand {
  const float* p;
  long rs, cs;
  const ps::ConvGeom* conv;
  bool conv_t = false;
  const long* blocks = nullptr;
  int block_rows = 0;
};
// C's rows may come in runs: with run > 0 (a multiple of 16), row i is at
// c + (i / run) * run_stride + (i % run) * ldc, so a product can land straight in a strided view.
void gemm(int M, int N, int K, const Operand& a, const Operand& b, float* c, long ldc, bool accumulate, int run = 0,
          long run_stride = 0);

// The convolutions as AMX products (amx_conv.cc), same contracts as ps::KernelSet's: forward
// (+ bias and activation), input gradient (col2im of dy W^T), filter gradient (im2col(x)^T dy).
void conv2d(const float* x, const float* w, float* y, const ps::ConvGeom& g, const float* bias, int act, float alpha);
void conv2d_bwd_input(const float* dy, const float* w, float* dx, const ps::ConvGeom& g);
void conv2d_bwd_filter(const float* x, const float* dy, float* dw, const ps::ConvGeom& g);
// c[b] = op(a[b]) op(b[b]) (+ bias, activation) for each of `batch` products (stride 0 broadcasts).
void matmul(const float* a, const float* b, float* c, int batch, int64_t strideA, int64_t strideB, int M, int N, int K,
            bool transA, bool transB, const float* bias, int act, float alpha);

}  // namespace ps_amx
