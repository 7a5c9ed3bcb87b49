// Interface shared by the SIMD builds of the kernels (one per instruction set) and the addon.
#pragma once
#include <time.h>

#include <cstdint>

namespace ps {

// NHWC convolution geometry; filter is [KH, KW, C, CO] (the tfjs layout).
struct ConvGeom {
  int N, H, W, C;
  int KH, KW, CO;
  int OH, OW;
  int sh, sw;
  int pt, pl;
  int dh, dw;
  // Nonzero: the input (blocksIn) or output (blocksOut) is read or written in place as the 2x2
  // block view of an image of twice the height and width and this many channels (a multiple of
  // 16): block channel (py * 2 + px) * n + c is pixel (2h + py, 2w + px), channel c (stride2.h).
  // Only the Winograd kernels take views; the others refuse them.
  int blocksIn = 0, blocksOut = 0;
};

// Winograd's filter gradient runs up to this many input x output channel pairs (its sums are 36
// such matrices; impl_kernels.inc measures why); the stride-2 block form relies on it.
constexpr int64_t kWinogradFilterPairs = 131072;

// CPU time of the calling thread, in seconds (the peak loops count per CPU-second).
inline double thread_cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

enum Act { ACT_LINEAR = 0, ACT_RELU = 1, ACT_RELU6 = 2, ACT_LEAKYRELU = 3, ACT_ELU = 4, ACT_SIGMOID = 5 };

// The activations Winograd's output transform applies (act_vec); with others a convolution stays
// direct. The stride-2 block form (addon.cc, stride2.cc) asks the same question.
inline bool winograd_act(int act) { return act == ACT_LINEAR || act == ACT_RELU || act == ACT_LEAKYRELU; }

struct KernelSet {
  const char* name;
  void (*conv2d)(const float* x, const float* w, float* y, const ConvGeom& g, const float* bias, int act,
                 float alpha);
  void (*conv2d_bwd_input)(const float* dy, const float* w, float* dx, const ConvGeom& g);
  void (*conv2d_bwd_filter)(const float* x, const float* dy, float* dw, const ConvGeom& g);
  // c[b] = op(a[b]) * op(b[b]) (+ bias[N], activation); strideA/strideB = 0 broadcast one matrix.
  void (*matmul)(const float* a, const float* b, float* c, int batch, int64_t strideA, int64_t strideB, int M,
                 int N, int K, bool transA, bool transB, const float* bias, int act, float alpha);
  // GFLOP/s of this instruction set's vector multiply-adds on every core at once, per CPU-second
  // of each thread (impl_peak.inc).
  double (*fma_peak)(double seconds);
};

}  // namespace ps

namespace ps_avx512 {
extern const ps::KernelSet kernels;
// GFLOP/s of AVX-512 BF16 dot products (vdpbf16ps: 2 multiply-adds per fp32 lane) on every core,
// per CPU-second of each thread.
double bf16_peak(double seconds);
}
namespace ps_avx2 { extern const ps::KernelSet kernels; }
namespace ps_portable { extern const ps::KernelSet kernels; }
