// Row-parallel helpers of the batch-norm and optimizer passes (training.cc, training_bn.inc).
#pragma once
#include <omp.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace ps_train {
// Internal linkage: training_bn_avx2.cc builds its copies for AVX2, which must not replace the
// baseline ones elsewhere at link time.
namespace {

// Below this many elements a pass takes tens of microseconds, about what waking the second
// (sleeping, OMP_WAIT_POLICY=PASSIVE) thread costs.
inline constexpr int64_t kParallelMin = 1 << 16;

inline int threads_for(int64_t elements) { return elements >= kParallelMin ? omp_get_max_threads() : 1; }

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

inline void combine(const std::vector<double>& part, int threads, int64_t C, double* out) {
  for (int64_t c = 0; c < C; c++) out[c] = 0;
  for (int t = 0; t < threads; t++) {
    const double* p = part.data() + (std::size_t)t * C;
    for (int64_t c = 0; c < C; c++) out[c] += p[c];
  }
}

}  // namespace
}  // namespace ps_train
