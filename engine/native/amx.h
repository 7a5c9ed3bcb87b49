// AMX bf16 tiles (Intel Sapphire Rapids and later): the only code built with -mamx-tile -mamx-bf16
// (amx.cc). The addon checks the CPU, the OS and the Linux permission first (addon_amx.cc) and
// calls nothing here without them.
#pragma once

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

}  // namespace ps_amx
