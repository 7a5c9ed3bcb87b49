// Built with -mavx512f/bw/vl/dq -mfma; only called after cpuid and XGETBV (the OS saves the ZMM
// state) were checked at load time (addon.cc).
#define PS_NS ps_avx512
#define PS_NAME "avx512"
#include "kernels_impl.h"

namespace ps_avx512 {

#if defined(__AVX512F__)
static volatile float bf16_sink;

// Only called when cpuid shows AVX512_BF16: the rest of this file does not use it.
__attribute__((target("avx512bf16"))) double bf16_peak(double seconds) {
  constexpr int kChains = 24;
  const int T = omp_get_num_procs();
  double total = 0.0;
  float sink = 0.f;
#pragma omp parallel num_threads(T) reduction(+ : total, sink)
  {
    __m512 acc[kChains];
    for (int i = 0; i < kChains; i++) acc[i] = _mm512_set1_ps(0.001f * (float)i);
    const __m512bh a = _mm512_cvtne2ps_pbh(_mm512_set1_ps(0.5f), _mm512_set1_ps(0.25f));
    const __m512bh b = _mm512_cvtne2ps_pbh(_mm512_set1_ps(1e-3f), _mm512_set1_ps(-1e-3f));
    long rounds = 0;
    const double t0 = ps::thread_cpu_seconds();  // per CPU-second, as fma_peak (impl_peak.inc)
    double t;
    do {
      for (int r = 0; r < 4096; r++) {
#pragma GCC unroll 24
        for (int i = 0; i < kChains; i++) acc[i] = _mm512_dpbf16_ps(acc[i], a, b);
      }
      rounds += 4096;
      t = ps::thread_cpu_seconds() - t0;
    } while (t < seconds);
    for (int i = 0; i < kChains; i++) sink += _mm512_reduce_add_ps(acc[i]);
    total += 64.0 * kChains * (double)rounds / t;  // 16 lanes x 2 pairs x (multiply + add)
  }
  bf16_sink = sink;
  return total / 1e9;
}
#else
double bf16_peak(double) { return 0.0; }  // not x86: never called (the addon checks cpuid first)
#endif

}  // namespace ps_avx512
