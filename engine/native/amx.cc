// AMX bf16 GEMM and peak. Built with -mamx-tile -mamx-bf16 -mavx512bf16 (and AVX-512), only
// called after addon_amx.cc found AMX-TILE, AMX-BF16, AVX512_BF16, the OS's tile state (XCR0
// bits 17-18) and the kernel's permission (arch_prctl), so no other path ever runs these
// instructions.
//
// Layout: C is computed in 32 x 32 blocks, four 16 x 16 fp32 accumulator tiles (tiles 0-3), from
// two A tiles (16 rows x 32 bf16, tiles 4-5) and two B tiles (16 pairs of rows x 16 columns, the
// VNNI layout TDPBF16PS reads, tiles 6-7) per 32 of depth. Both operands are packed once into
// bf16 with the sizes padded with zeros to whole tiles, so every tile is full (one tile config)
// and only C's edges need care.
#include "amx.h"

#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>

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
// Depth blocks of up to kKtb tiles (512): a 32-column panel of B (32 KB) stays in L1 while it
// meets up to 8 row blocks of A (256 x 512 bf16, 256 KB, in L2).
constexpr int kKtb = 16;
// The largest A (bytes of bf16) packed whole when several column groups read it.
constexpr double kWholeA = 32e6;

struct Scratch {
  uint16_t* p = nullptr;
  size_t n = 0;
  uint16_t* get(size_t want) {
    if (want > n) {
      std::free(p);
      p = static_cast<uint16_t*>(std::aligned_alloc(64, ((want * 2 + 63) / 64) * 64));
      n = p ? want : 0;
      if (!p) throw std::bad_alloc();
    }
    return p;
  }
};

#include "amx_pack.inc"

// C's rows x cols block (an edge) padded with zeros to a full 16 x 16 tile.
inline void pad_block(float* tmp, const float* C, long ldc, int rows, int cols) {
  for (int r = 0; r < 16; r++)
    for (int j = 0; j < 16; j++) tmp[r * 16 + j] = r < rows && j < cols ? C[r * ldc + j] : 0.f;
}

// Accumulator tile T (a literal: the intrinsics paste it into the instruction) starts at 0, or at
// C's block when accumulating; it ends stored into C (an edge through tmp).
#define PS_C_BEGIN(T, Cp, rows, cols)  \
  if (!acc) {                          \
    _tile_zero(T);                     \
  } else if (rows == 16 && cols == 16) { \
    _tile_loadd(T, Cp, ldc * 4);       \
  } else {                             \
    pad_block(tmp, Cp, ldc, rows, cols); \
    PS_BARRIER();                      \
    _tile_loadd(T, tmp, 64);           \
  }
#define PS_C_END(T, Cp, rows, cols)                                                            \
  if (rows == 16 && cols == 16) {                                                              \
    _tile_stored(T, Cp, ldc * 4);                                                              \
  } else {                                                                                     \
    _tile_stored(T, tmp, 64);                                                                  \
    for (int r = 0; r < rows; r++) std::memcpy(Cp + r * ldc, tmp + r * 16, sizeof(float) * cols); \
  }

// One block of C: MT (1-2) row tiles x NT (1-2) column tiles, `rows` x `cols` of it inside C.
template <int MT, int NT>
void block(const uint16_t* ap, const uint16_t* bp0, const uint16_t* bp1, int KT, float* C, float* C1, long ldc, int rows,
           int cols, bool acc) {
  alignas(64) float tmp[256];
  const int r0 = std::min(16, rows), r1 = rows - 16, c0 = std::min(16, cols), c1 = cols - 16;
  PS_BARRIER();
  PS_C_BEGIN(0, C, r0, c0)
  if (NT == 2) { PS_C_BEGIN(1, (C + 16), r0, c1) }
  if (MT == 2) { PS_C_BEGIN(2, C1, r1, c0) }
  if (MT == 2 && NT == 2) { PS_C_BEGIN(3, (C1 + 16), r1, c1) }
  for (int kt = 0; kt < KT; kt++) {
    const uint16_t* a = ap + (size_t)kt * 2 * kTileHalves;
    _tile_loadd(4, a, 64);
    if (MT == 2) _tile_loadd(5, a + kTileHalves, 64);
    _tile_loadd(6, bp0 + (size_t)kt * kTileHalves, 64);
    if (NT == 2) _tile_loadd(7, bp1 + (size_t)kt * kTileHalves, 64);
    _tile_dpbf16ps(0, 4, 6);
    if (NT == 2) _tile_dpbf16ps(1, 4, 7);
    if (MT == 2) _tile_dpbf16ps(2, 5, 6);
    if (MT == 2 && NT == 2) _tile_dpbf16ps(3, 5, 7);
  }
  PS_C_END(0, C, r0, c0)
  if (NT == 2) { PS_C_END(1, (C + 16), r0, c1) }
  if (MT == 2) { PS_C_END(2, C1, r1, c0) }
  if (MT == 2 && NT == 2) { PS_C_END(3, (C1 + 16), r1, c1) }
}

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

void gemm(int M, int N, int K, const float* a, long ars, long acs, const float* b, long brs, long bcs, float* c,
          long ldc, bool accumulate) {
  gemm(M, N, K, Operand{a, ars, acs, nullptr}, Operand{b, brs, bcs, nullptr}, c, ldc, accumulate);
}

void gemm(int M, int N, int K, const Operand& a, const Operand& b, float* c, long ldc, bool accumulate, int run,
          long run_stride) {
  if (M <= 0 || N <= 0) return;
  auto row = [&](int i) { return run > 0 ? c + (long)(i / run) * run_stride + (long)(i % run) * ldc : c + (long)i * ldc; };
  if (K <= 0) {
    if (!accumulate)
      for (int i = 0; i < M; i++) std::memset(row(i), 0, sizeof(float) * N);
    return;
  }
  const int KT = (K + 31) / 32, NTt = (N + 15) / 16, MB = (M + 31) / 32, NB = (NTt + 1) / 2;
  // Small products on one thread: waking a second core costs more than it saves (as the fp32 GEMM).
  const int T = 2.0 * M * N * K < 2e6 ? 1 : omp_get_max_threads();
  constexpr int kMaxRowBlocks = 16;
  const int nKb = (KT + kKtb - 1) / kKtb, ktb = (KT + nKb - 1) / nKb;
  // Work items of sb 32-row blocks (a superblock) by a group of 32-column blocks, at least `want`
  // of them to share. Each superblock reads all of packed B. With one group, each item packs its
  // own rows of A as it goes (they stay in cache); with more, A is packed once, whole (when that
  // fits kWholeA), and each group reads it. sb is the one that moves the fewest elements (times K):
  // B's and packed A's reads as bf16, an element of A packed from fp32 counting as kAPack of them.
  // Im2col transposed as A (the filter gradient) reads the whole image again for every
  // superblock: half as many items (still two per thread) measured 16.4 -> 13.6 CPU ms there.
  const int want = T == 1 ? 1 : (a.conv_t ? 2 : 4) * T;
  constexpr double kAPack = 2;  // an fp32 read (4 bytes) for each bf16 one (2)
  const bool wholeFits = (double)MB * 32 * KT * 32 * 2 <= kWholeA;
  auto groups_for = [&](int nsb) { return nsb >= want ? 1 : std::min(NB, (want + nsb - 1) / nsb); };
  int sb = 1;
  double best = 0;
  for (int s = 1; s <= std::min(MB, kMaxRowBlocks); s++) {
    const int ns = (MB + s - 1) / s, gr = groups_for(ns);
    const double aMoved = gr == 1 ? kAPack * M : wholeFits ? (kAPack + 1 + gr) * M : kAPack * gr * M;
    const double moved = (double)ns * N + aMoved;
    if (s == 1 || moved < best) best = moved, sb = s;
  }
  const int nSb = (MB + sb - 1) / sb;
  const int groups = groups_for(nSb);
  const bool wholeA = groups > 1 && wholeFits;
  const int perGroup = (NB + groups - 1) / groups;  // 32-column blocks per group
  static thread_local Scratch bbuf, abuf;
  uint16_t* bp = bbuf.get((size_t)NTt * KT * kTileHalves);
  // Per thread, a superblock's depth block of A; or A whole, ap[rb][kt].
  const size_t aStride = (size_t)sb * ktb * 2 * kTileHalves;
  uint16_t* ap = abuf.get(wholeA ? (size_t)MB * KT * 2 * kTileHalves : aStride * T);
  if (wholeA) {
#pragma omp parallel for num_threads(T) if (T > 1) schedule(static) collapse(2)
    for (int rb = 0; rb < MB; rb++)
      for (int kb = 0; kb < nKb; kb++) {
        const int kt0 = kb * ktb, kt1 = std::min(KT, kt0 + ktb);
        pack_a(ap + ((size_t)rb * KT + kt0) * 2 * kTileHalves, a, rb * 32, M, K, kt0, kt1);
      }
  }
  // B is read by every row block: packed once, whole, bp[jt][kt].
  if (b.conv && b.conv->C % 16 == 0) {
#pragma omp parallel for num_threads(T) if (T > 1) schedule(static)
    for (int kt = 0; kt < KT; kt++) pack_b_im2col(bp, KT, b.p, *b.conv, kt, K, N);
  } else if (b.conv) {
    // im2col: 32 rows (pixels) at a time, each looked up once, then cut into the column tiles.
    static thread_local std::vector<float> rows;
    rows.resize((size_t)T * 32 * N);
    float* stage = rows.data();
#pragma omp parallel for num_threads(T) if (T > 1) schedule(static)
    for (int kt = 0; kt < KT; kt++) {
      float* st = stage + (size_t)omp_get_thread_num() * 32 * N;
      const int kn = std::min(32, K - kt * 32);
      for (int k = 0; k < kn; k++) im2col_run(st + (size_t)k * N, b.p, *b.conv, kt * 32 + k, 0, N);
      for (int jt = 0; jt < NTt; jt++)
        pack_b_tile(bp + ((size_t)jt * KT + kt) * kTileHalves, Operand{st, N, 1, nullptr}, jt * 16, N, 0, kn);
    }
  } else {
#pragma omp parallel for num_threads(T) if (T > 1) schedule(static) collapse(2)
    for (int jt = 0; jt < NTt; jt++)
      for (int kt = 0; kt < KT; kt++)
        pack_b_tile(bp + ((size_t)jt * KT + kt) * kTileHalves, b, jt * 16, N, kt * 32, K);
  }
#pragma omp parallel num_threads(T) if (T > 1)
  {
    configure_tiles();  // per thread: the tile configuration is thread state
    uint16_t* mine = ap + aStride * omp_get_thread_num();
#pragma omp for schedule(dynamic, 1)
    for (int item = 0; item < nSb * groups; item++) {
      const int s0 = (item / groups) * sb, s1 = std::min(MB, s0 + sb), g = item % groups;
      const int nb0 = g * perGroup, nb1 = std::min(NB, nb0 + perGroup);
      for (int kb = 0; kb < nKb; kb++) {
        const int kt0 = kb * ktb, kt1 = std::min(KT, kt0 + ktb), nkt = kt1 - kt0;
        const bool acc = accumulate || kb > 0;
        if (!wholeA)
          for (int rb = s0; rb < s1; rb++)
            pack_a(mine + (size_t)(rb - s0) * nkt * 2 * kTileHalves, a, rb * 32, M, K, kt0, kt1);
        for (int nb = nb0; nb < nb1; nb++) {
          const int j0 = nb * 32, cols = std::min(32, N - j0);
          const uint16_t* b0 = bp + ((size_t)(2 * nb) * KT + kt0) * kTileHalves;
          const uint16_t* b1 = b0 + (size_t)KT * kTileHalves;
          for (int rb = s0; rb < s1; rb++) {
            const int i0 = rb * 32, rows = std::min(32, M - i0);
            const uint16_t* am = wholeA ? ap + ((size_t)rb * KT + kt0) * 2 * kTileHalves
                                        : mine + (size_t)(rb - s0) * nkt * 2 * kTileHalves;
            float *cb = row(i0) + j0, *cb1 = rows > 16 ? row(i0 + 16) + j0 : nullptr;  // each 16 rows in one run
            if (rows > 16 && cols > 16) block<2, 2>(am, b0, b1, nkt, cb, cb1, ldc, rows, cols, acc);
            else if (rows > 16) block<2, 1>(am, b0, b1, nkt, cb, cb1, ldc, rows, cols, acc);
            else if (cols > 16) block<1, 2>(am, b0, b1, nkt, cb, cb1, ldc, rows, cols, acc);
            else block<1, 1>(am, b0, b1, nkt, cb, cb1, ldc, rows, cols, acc);
          }
        }
      }
    }
    _tile_release();  // an idle thread keeps no 8 KB of tile state to save at every switch
  }
}

}  // namespace ps_amx

#else  // a compiler without AMX: the addon reports no AMX and never calls these

namespace ps_amx {
bool compiled() { return false; }
double peak(double) { return 0.0; }
void gemm(int, int, int, const float*, long, long, const float*, long, long, float*, long, bool) {}
void gemm(int, int, int, const Operand&, const Operand&, float*, long, bool, int, long) {}
}  // namespace ps_amx

#endif
