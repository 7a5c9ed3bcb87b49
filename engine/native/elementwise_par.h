// The thread split shared by the element-wise and pooling kernels (elementwise.cc, pooling.cc).
#pragma once
#include <omp.h>

#include <cstdint>
#include <limits>

namespace ps_ew {
namespace {

// Below this many elements one thread finishes before a sleeping second one (OMP_WAIT_POLICY
// is PASSIVE) wakes up: a 64K-element ReLU takes ~20 us on one core.
#ifndef PS_EW_PARALLEL_MIN
#define PS_EW_PARALLEL_MIN (1 << 16)
#endif
constexpr int64_t kParallelMin = PS_EW_PARALLEL_MIN;  // a macro so a benchmark can measure below it
constexpr float kInf = std::numeric_limits<float>::infinity();

// Runs f(begin, end) over [0, n) split into one contiguous block per thread (boundaries on
// 16-element multiples, so threads do not share cache lines of the output), or inline when the
// work (`cost` elements) is too small for a second thread to pay.
template <class F>
void parallel_blocks(int64_t n, int64_t cost, const F& f) {
  if (cost < kParallelMin || n < 2 || omp_get_max_threads() < 2) {
    f(int64_t{0}, n);
    return;
  }
#pragma omp parallel
  {
    const int64_t T = omp_get_num_threads(), t = omp_get_thread_num();
    const int64_t align = n >= 64 * T ? 16 : 1;
    const int64_t b = t == 0 ? 0 : (n * t / T) / align * align;
    const int64_t e = t == T - 1 ? n : (n * (t + 1) / T) / align * align;
    if (b < e) f(b, e);
  }
}
}  // namespace
}  // namespace ps_ew
