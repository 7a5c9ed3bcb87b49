// AMX bf16 peak. Built with -mamx-tile -mamx-bf16 -mavx512bf16 (and AVX-512), only
// called after addon_amx.cc found AMX-TILE, AMX-BF16, AVX512_BF16, the OS's tile state (XCR0
// bits 17-18) and the kernel's permission (arch_prctl), so no other path ever runs these
// instructions.

#include "amx.h"

#include <omp.h>

#include <cstdint>
#include <cstring>

#include "kernels.h"

#if defined(__AMX_TILE__) && defined(__AMX_BF16__) && defined(__AVX512BF16__)
#include <immintrin.h>

namespace ps_amx {
namespace {

// The tile intrinsics are asm that GCC does not see read memory (tileloadd, ldtilecfg): a barrier
// makes the C++ stores to what they read (packed blocks, C's padded edges, the config) happen first.
#define PS_BARRIER() __asm__ volatile("" ::: "memory")


struct TileConfig {
  uint8_t palette, start_row, reserved[14];
  uint16_t colsb[16];
  uint8_t rows[16];
};
static_assert(sizeof(TileConfig) == 64, "the tile configuration is 64 bytes");

// Every tile of the eight is 16 rows of 64 bytes.
void configure_tiles() {
  alignas(64) TileConfig c;
  std::memset(&c, 0, sizeof c);
  c.palette = 1;
  for (int t = 0; t < 8; t++) {
    c.rows[t] = 16;
    c.colsb[t] = 64;
  }
  PS_BARRIER();
  _tile_loadconfig(&c);
}

constexpr int kTileHalves = 512;  // bf16 values in one tile (16 x 64 bytes)

volatile float peak_sink;

}  // namespace

bool compiled() { return true; }

double peak(double seconds) {
  const int T = omp_get_num_procs();
  double total = 0.0;
  float sink = 0.f;
#pragma omp parallel num_threads(T) reduction(+ : total, sink)
  {
    configure_tiles();
    alignas(64) uint16_t a[kTileHalves], b[kTileHalves];
    alignas(64) float out[256];
    for (int i = 0; i < kTileHalves; i++) {
      a[i] = 0x3f00;  // 0.5
      b[i] = 0x3a83;  // ~0.001
    }
    PS_BARRIER();
    _tile_zero(0);
    _tile_zero(1);
    _tile_zero(2);
    _tile_zero(3);
    _tile_loadd(4, a, 64);
    _tile_loadd(5, a, 64);
    _tile_loadd(6, b, 64);
    _tile_loadd(7, b, 64);
    long rounds = 0;
    const double t0 = ps::thread_cpu_seconds();
    double t;
    do {
      for (int r = 0; r < 4096; r++) {
        _tile_dpbf16ps(0, 4, 6);
        _tile_dpbf16ps(1, 4, 7);
        _tile_dpbf16ps(2, 5, 6);
        _tile_dpbf16ps(3, 5, 7);
      }
      rounds += 4096;
      t = ps::thread_cpu_seconds() - t0;
    } while (t < seconds);
    _tile_stored(0, out, 64);
    _tile_release();
    sink += out[0];
    total += 4.0 * 16 * 16 * 32 * 2 * (double)rounds / t;  // 4 tiles x 16x16 outputs x 32 products x 2
  }
  peak_sink = sink;
  return total / 1e9;
}

}  // namespace ps_amx

#else  // a compiler without AMX: the addon reports no AMX and never calls these

namespace ps_amx {
bool compiled() { return false; }
double peak(double) { return 0.0; }
}  // namespace ps_amx

#endif
