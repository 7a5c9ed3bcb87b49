// The kernels, written once with GCC vector extensions and compiled once per instruction set
// (kernels_avx2.cc, kernels_portable.cc): the same source becomes AVX2/FMA or SSE2 code.
//
// Everything is a packed, blocked GEMM (BLIS loop order: NC / KC / MC, then an MR x NR register
// tile). Convolutions never materialise im2col: the packing routines read the image directly.
#include <omp.h>
#if defined(__SSE__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "kernels.h"

namespace PS_NS {
using ps::ConvGeom;

#if defined(__AVX2__) && defined(__FMA__)
#define VW_IS_AVX 1
constexpr int VW = 8;  // floats per vector register
#else
#define VW_IS_AVX 0
constexpr int VW = 4;
#endif
constexpr int MR = 6;          // rows of the register tile: 6 x 2 accumulators + 2 B + 1 A = 15 registers
constexpr int NR = 2 * VW;     // columns of the register tile
constexpr int KC = 384;        // most depth of a packed block: an NR x KC panel of B stays in L1
constexpr int MC = 24 * MR;    // most rows of a packed A block (144 x 384 floats = 216 KB, in L2)
constexpr int NC = 128 * NR;   // columns of a packed B block (shared by the threads, L2/L3)

typedef float vf __attribute__((vector_size(VW * 4)));
typedef float vfu __attribute__((vector_size(VW * 4), aligned(4)));

// A scalar broadcast to all lanes in one instruction ("vf{} + x" costs an extra add).
static inline vf bcast(const float* p) {
#if VW_IS_AVX
  return reinterpret_cast<vf>(_mm256_broadcast_ss(p));
#elif defined(__SSE__)
  return reinterpret_cast<vf>(_mm_load1_ps(p));
#else
  const float v = *p;
  return vf{v, v, v, v};
#endif
}

struct Epi {
  const float* bias;  // per column, may be null
  int act;
  float alpha;
};

static inline float act_scalar(float v, int act, float alpha) {
  switch (act) {
    case ps::ACT_RELU: return v > 0.f ? v : 0.f;
    case ps::ACT_RELU6: return v < 0.f ? 0.f : (v > 6.f ? 6.f : v);
    case ps::ACT_LEAKYRELU: return v > 0.f ? v : alpha * v;
    case ps::ACT_ELU: return v > 0.f ? v : std::expm1(v);
    case ps::ACT_SIGMOID: return 1.f / (1.f + std::exp(-v));
    default: return v;
  }
}

static inline vf act_vec(vf v, int act, float alpha) {
  const vf zero = {};
  switch (act) {
    case ps::ACT_RELU: return v > zero ? v : zero;
    case ps::ACT_LEAKYRELU: return v > zero ? v : v * alpha;
    default: return v;
  }
}

// Scratch memory that grows and is reused: allocation is costly at these sizes.
struct Buf {
  float* p = nullptr;
  size_t n = 0;
  float* get(size_t want) {
    if (want > n) {
      std::free(p);
      n = want;
      p = static_cast<float*>(std::aligned_alloc(64, ((want * 4 + 63) / 64) * 64));
    }
    return p;
  }
};

static Buf& thread_abuf() {
  static thread_local Buf b;
  return b;
}

// Adds/stores an MR x NR tile of accumulators into C, with the epilogue on the last K block.
static inline __attribute__((always_inline)) void store_tile(vf c00, vf c01, vf c10, vf c11, vf c20, vf c21, vf c30,
                                                             vf c31, vf c40, vf c41, vf c50, vf c51, float* C,
                                                             long ldc, int mr, int nr, bool add, const Epi* epi,
                                                             int j0) {
  const bool fastEpi = !epi || epi->act == ps::ACT_LINEAR || epi->act == ps::ACT_RELU || epi->act == ps::ACT_LEAKYRELU;
  if (mr == MR && nr == NR && fastEpi) {
    vf bias0 = {}, bias1 = {};
    if (epi && epi->bias) {
      bias0 = *reinterpret_cast<const vfu*>(epi->bias + j0);
      bias1 = *reinterpret_cast<const vfu*>(epi->bias + j0 + VW);
    }
#define PS_STORE_ROW(i, x0, x1)                                          \
  {                                                                      \
    vfu* p0 = reinterpret_cast<vfu*>(C + (i) * ldc);                     \
    vfu* p1 = reinterpret_cast<vfu*>(C + (i) * ldc + VW);                \
    vf v0 = x0, v1 = x1;                                                 \
    if (add) { v0 += *p0; v1 += *p1; }                                   \
    if (epi) {                                                           \
      v0 = act_vec(v0 + bias0, epi->act, epi->alpha);                    \
      v1 = act_vec(v1 + bias1, epi->act, epi->alpha);                    \
    }                                                                    \
    *p0 = v0;                                                            \
    *p1 = v1;                                                            \
  }
    PS_STORE_ROW(0, c00, c01)
    PS_STORE_ROW(1, c10, c11)
    PS_STORE_ROW(2, c20, c21)
    PS_STORE_ROW(3, c30, c31)
    PS_STORE_ROW(4, c40, c41)
    PS_STORE_ROW(5, c50, c51)
#undef PS_STORE_ROW
    return;
  }
  alignas(64) float t[MR * NR];
  vf* tv = reinterpret_cast<vf*>(t);
  tv[0] = c00; tv[1] = c01; tv[2] = c10; tv[3] = c11; tv[4] = c20; tv[5] = c21;
  tv[6] = c30; tv[7] = c31; tv[8] = c40; tv[9] = c41; tv[10] = c50; tv[11] = c51;
  for (int i = 0; i < mr; i++) {
    for (int j = 0; j < nr; j++) {
      float v = t[i * NR + j];
      if (add) v += C[i * ldc + j];
      if (epi) v = act_scalar(v + (epi->bias ? epi->bias[j0 + j] : 0.f), epi->act, epi->alpha);
      C[i * ldc + j] = v;
    }
  }
}

// C[mr x nr] (+)= A_panel * B_panel, then the epilogue on the last K block.
static inline void ukernel(int kc, const float* __restrict A, const float* __restrict B, long bs, float* C, long ldc,
                           int mr, int nr, bool add, const Epi* epi, int j0) {
  vf c00 = {}, c01 = {}, c10 = {}, c11 = {}, c20 = {}, c21 = {};
  vf c30 = {}, c31 = {}, c40 = {}, c41 = {}, c50 = {}, c51 = {};
#pragma GCC unroll 4
  for (int k = 0; k < kc; k++) {
    const vf b0 = *reinterpret_cast<const vfu*>(B);  // packed (bs == NR) or rows of B read in place
    const vf b1 = *reinterpret_cast<const vfu*>(B + VW);
    vf a;
    a = bcast(A + 0); c00 += a * b0; c01 += a * b1;
    a = bcast(A + 1); c10 += a * b0; c11 += a * b1;
    a = bcast(A + 2); c20 += a * b0; c21 += a * b1;
    a = bcast(A + 3); c30 += a * b0; c31 += a * b1;
    a = bcast(A + 4); c40 += a * b0; c41 += a * b1;
    a = bcast(A + 5); c50 += a * b0; c51 += a * b1;
    A += MR;
    B += bs;
  }
  store_tile(c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51, C, ldc, mr, nr, add, epi, j0);
}

// A panel read in place (no packing): runs of MR rows, each run contiguous per row in the input.
struct ASeg {
  const float* s[MR];
  int len, koff;
};

static inline void ukernel_seg(int nseg, const ASeg* segs, const float* __restrict B, float* C, long ldc, int mr,
                               int nr, bool add, const Epi* epi, int j0) {
  vf c00 = {}, c01 = {}, c10 = {}, c11 = {}, c20 = {}, c21 = {};
  vf c30 = {}, c31 = {}, c40 = {}, c41 = {}, c50 = {}, c51 = {};
  for (int si = 0; si < nseg; si++) {
    const float* a0 = segs[si].s[0];
    const float* a1 = segs[si].s[1];
    const float* a2 = segs[si].s[2];
    const float* a3 = segs[si].s[3];
    const float* a4 = segs[si].s[4];
    const float* a5 = segs[si].s[5];
    const float* b = B + (size_t)segs[si].koff * NR;
    const int len = segs[si].len;
#pragma GCC unroll 4
    for (int j = 0; j < len; j++) {
      const vf b0 = *reinterpret_cast<const vf*>(b);
      const vf b1 = *reinterpret_cast<const vf*>(b + VW);
      vf a;
      a = bcast(a0 + j); c00 += a * b0; c01 += a * b1;
      a = bcast(a1 + j); c10 += a * b0; c11 += a * b1;
      a = bcast(a2 + j); c20 += a * b0; c21 += a * b1;
      a = bcast(a3 + j); c30 += a * b0; c31 += a * b1;
      a = bcast(a4 + j); c40 += a * b0; c41 += a * b1;
      a = bcast(a5 + j); c50 += a * b0; c51 += a * b1;
      b += NR;
    }
  }
  store_tile(c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51, C, ldc, mr, nr, add, epi, j0);
}

// Fewer threads for small products: waking a second core costs more than it saves.
static int threads_for(double flops) {
  int t = omp_get_max_threads();
  if (flops < 2e6) return 1;
  return t;
}

// C[i0:i1, j0:j1] over the depth range [k0, k1), serially: packs each B block once (unless all of B
// was packed once for everyone: sharedB) and each A block per B block. No synchronisation inside.
template <class PA, class PB>
static void gemm_serial(int i0, int i1, int j0, int j1, int k0, int k1, int K, int kcb, int mcb, const PA& packA, const PB& packB,
                        const float* sharedB, float* C, long ldc, bool add0, const Epi* epi) {
  float* abuf = thread_abuf().get((size_t)MC * KC);
  static thread_local Buf bown;
  for (int jc = j0; jc < j1; jc += NC) {
    const int nc = std::min(NC, j1 - jc);
    const int npanels = (nc + NR - 1) / NR;
    for (int pc = k0; pc < k1; pc += kcb) {
      const int kc = std::min(kcb, k1 - pc);
      const float* bblk;
      long bs = NR, pstride = (long)NR * kc;  // k step within a panel, distance between panels
      if (sharedB) {
        bblk = sharedB + (size_t)jc * K + (size_t)pc * npanels * NR;
      } else if (packB.inplace) {
        bblk = packB.b + (long)pc * packB.rs + jc;
        bs = packB.rs;
        pstride = NR;
      } else {
        float* b = bown.get((size_t)KC * NC);
        packB.block(b, jc, nc, pc, kc);
        bblk = b;
      }
      const bool add = add0 || pc > k0;
      const Epi* e = pc + kc == k1 ? epi : nullptr;
      for (int ic = i0; ic < i1; ic += mcb) {
        const int mc = std::min(mcb, i1 - ic);
        if constexpr (PA::kSegments) {
          static thread_local Buf segBuf;
          const int npan = (mc + MR - 1) / MR;
          int start[MC / MR + 1], count[MC / MR + 1];
          ASeg* segs = reinterpret_cast<ASeg*>(segBuf.get((size_t)npan * (kc + 2) * (sizeof(ASeg) / sizeof(float) + 1)));
          packA.segments(segs, start, count, abuf, ic, mc, pc, kc);
          for (int p = 0; p < npanels; p++) {
            const int j = jc + p * NR, nr = std::min(NR, jc + nc - j);
            for (int ir = 0; ir < mc; ir += MR) {
              ukernel_seg(count[ir / MR], segs + start[ir / MR], bblk + (size_t)p * NR * kc,
                          C + (long)(ic + ir) * ldc + j, ldc, std::min(MR, mc - ir), nr, add, e, j);
            }
          }
        } else {
          packA(abuf, ic, mc, pc, kc);
          for (int p = 0; p < npanels; p++) {
            const int j = jc + p * NR, nr = std::min(NR, jc + nc - j);
            for (int ir = 0; ir < mc; ir += MR) {
              ukernel(kc, abuf + (size_t)ir * kc, bblk + p * pstride, bs, C + (long)(ic + ir) * ldc + j, ldc,
                      std::min(MR, mc - ir), nr, add, e, j);
            }
          }
        }
      }
    }
  }
}

// C[M x N] (ldc) = A[M x K] * B[K x N]; packA(dst, i0, mc, k0, kc) writes MR-row panels,
// packB(dst, j0, nr, k0, kc) one NR-column panel. accumulate: add to C's contents.
//
// Threads share no mutable state while they compute and take work dynamically: on a machine
// shared with other processes a descheduled thread must not hold the other one at a barrier.
// Blocks of C are the work items; when there are too few of them and K is long (filter gradients,
// the dense layer's forward pass) the K range is split instead and private sums are added at the end.
template <class PA, class PB>
static void gemm(int M, int N, int K, const PA& packA, const PB& packB, float* C, long ldc, bool accumulate,
                 const Epi* epi) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    for (int i = 0; i < M; i++)
      for (int j = 0; j < N; j++) {
        float v = accumulate ? C[(long)i * ldc + j] : 0.f;
        if (epi) v = act_scalar(v + (epi->bias ? epi->bias[j] : 0.f), epi->act, epi->alpha);
        C[(long)i * ldc + j] = v;
      }
    return;
  }
  const int T = threads_for(2.0 * M * N * K);
  const int nIc = (M + MC - 1) / MC;
  // Even row blocks too: 128 rows as one block, not 120 + 8.
  const int mcb = std::min(MC, ((M + nIc - 1) / nIc + MR - 1) / MR * MR);
  // Even depth blocks: K = 288 as 288, not 256 + 32 (a short block pays the C tile's load/store).
  const int kcb = (K + (K + KC - 1) / KC - 1) / ((K + KC - 1) / KC);
  const int nKc = (K + kcb - 1) / kcb;
  if (T == 1) {
    gemm_serial(0, M, 0, N, 0, K, K, kcb, mcb, packA, packB, nullptr, C, ldc, accumulate, epi);
    return;
  }
  const int nJcFull = (N + NC - 1) / NC;
  if (nIc * nJcFull < 4 * T && nKc >= 4 * T) {
    static thread_local Buf parts;
    float* part = parts.get((size_t)T * M * N);
    const int nChunks = 4 * T, per = (nKc + nChunks - 1) / nChunks * kcb;
#pragma omp parallel num_threads(T)
    {
      float* mine = part + (size_t)omp_get_thread_num() * M * N;
      std::memset(mine, 0, sizeof(float) * (size_t)M * N);
#pragma omp for schedule(dynamic, 1)
      for (int ch = 0; ch < nChunks; ch++) {
        const int k0 = ch * per, k1 = std::min(K, k0 + per);
        if (k0 >= k1) continue;
        gemm_serial(0, M, 0, N, k0, k1, K, kcb, mcb, packA, packB, nullptr, mine, N, true, nullptr);
      }
    }
#pragma omp parallel for num_threads(T) if ((long)M * N > 65536) schedule(static)
    for (int i = 0; i < M; i++)
      for (int j = 0; j < N; j++) {
        float v = accumulate ? C[(long)i * ldc + j] : 0.f;
        for (int t = 0; t < T; t++) v += part[(size_t)t * M * N + (size_t)i * N + j];
        if (epi) v = act_scalar(v + (epi->bias ? epi->bias[j] : 0.f), epi->act, epi->alpha);
        C[(long)i * ldc + j] = v;
      }
    return;
  }
  int ncb = NC;
  if (nIc < 4 * T) {
    const int want = (4 * T + nIc - 1) / nIc;
    ncb = std::min(NC, std::max(NR, ((N + want - 1) / want + NR - 1) / NR * NR));
  }
  const int nJc = (N + ncb - 1) / ncb;
  // B is reused by every row block: pack it once, whole, in the items' column blocks.
  const bool share = nIc > 1;
  static thread_local Buf bfull;
  float* bp = nullptr;
  if (share) {
    bp = bfull.get((size_t)nJc * ncb * K);
    const int maxPanels = ncb / NR;
#pragma omp parallel for num_threads(T) if (T > 1) schedule(dynamic, 8) collapse(2)
    for (int blk = 0; blk < nJc * nKc; blk++) {
      for (int p = 0; p < maxPanels; p++) {
        const int jc = (blk / nKc) * ncb, pc = (blk % nKc) * kcb;
        const int nc = std::min(ncb, N - jc), kc = std::min(kcb, K - pc);
        const int npanels = (nc + NR - 1) / NR;
        if (p >= npanels) continue;
        float* dst = bp + (size_t)jc * K + (size_t)pc * npanels * NR + (size_t)p * NR * kc;
        packB(dst, jc + p * NR, std::min(NR, nc - p * NR), pc, kc);
      }
    }
  }
#pragma omp parallel for num_threads(T) if (T > 1) schedule(dynamic, 1)
  for (int item = 0; item < nIc * nJc; item++) {
    const int ic = (item / nJc) * mcb, jc = (item % nJc) * ncb;
    gemm_serial(ic, std::min(M, ic + mcb), jc, std::min(N, jc + ncb), 0, K, K, kcb, mcb, packA, packB, bp, C, ldc, accumulate, epi);
  }
}

// ---- packing of plain strided matrices: element (i, k) at m[i * rs + k * cs] ----

struct PackAStrided {
  static constexpr bool kSegments = false;
  const float* a;
  long rs, cs;
  void operator()(float* dst, int i0, int mc, int k0, int kc) const {
    for (int ip = 0; ip < mc; ip += MR) {
      const int mr = std::min(MR, mc - ip);
      float* d = dst + (size_t)ip * kc;
      if (rs == 1) {
        for (int k = 0; k < kc; k++) {
          const float* s = a + (long)(k0 + k) * cs + i0 + ip;
          int r = 0;
          for (; r < mr; r++) d[k * MR + r] = s[r];
          for (; r < MR; r++) d[k * MR + r] = 0.f;
        }
      } else {
        for (int r = 0; r < MR; r++) {
          if (r < mr) {
            const float* s = a + (long)(i0 + ip + r) * rs + (long)k0 * cs;
            for (int k = 0; k < kc; k++) d[k * MR + r] = s[(long)k * cs];
          } else {
            for (int k = 0; k < kc; k++) d[k * MR + r] = 0.f;
          }
        }
      }
    }
  }
};

struct PackBStrided {
  const float* b;
  long rs, cs;
  // Rows read where they are (cs == 1, N a multiple of NR): for few rows of A, packing B would
  // cost a full extra pass over memory for little reuse (the dense layer's 60800 x 512 weights).
  bool inplace = false;
  void block(float* d, int jc, int nc, int k0, int kc) const {
    for (int p = 0; p * NR < nc; p++) (*this)(d + (size_t)p * NR * kc, jc + p * NR, std::min(NR, nc - p * NR), k0, kc);
  }
  void operator()(float* d, int j0, int nr, int k0, int kc) const {
    if (cs == 1) {
      for (int k = 0; k < kc; k++) {
        const float* s = b + (long)(k0 + k) * rs + j0;
        int j = 0;
        for (; j < nr; j++) d[k * NR + j] = s[j];
        for (; j < NR; j++) d[k * NR + j] = 0.f;
      }
    } else {
      for (int j = 0; j < NR; j++) {
        if (j < nr) {
          const float* s = b + (long)(j0 + j) * cs + (long)k0 * rs;
          for (int k = 0; k < kc; k++) d[k * NR + j] = s[(long)k * rs];
        } else {
          for (int k = 0; k < kc; k++) d[k * NR + j] = 0.f;
        }
      }
    }
  }
};

static const float* zeros_of(int n) {
  static thread_local Buf z;
  static thread_local size_t filled = 0;
  float* p = z.get((size_t)n);
  if (filled < (size_t)n) {
    std::memset(p, 0, sizeof(float) * (size_t)n);
    filled = (size_t)n;
  }
  return p;
}

// A plain row-major matrix read in place: one run of kc floats per row.
struct PackARows {
  static constexpr bool kSegments = true;
  const float* a;
  long lda;
  int M;
  int segments(ASeg* out, int* start, int* count, float* /*scratch*/, int i0, int mc, int k0, int kc) const {
    const float* zero = zeros_of(kc);
    int nseg = 0;
    for (int ip = 0; ip < mc; ip += MR) {
      ASeg& sg = out[nseg];
      for (int r = 0; r < MR; r++) sg.s[r] = ip + r < mc ? a + (long)(i0 + ip + r) * lda + k0 : zero;
      sg.len = kc;
      sg.koff = 0;
      start[ip / MR] = nseg++;
      count[ip / MR] = 1;
    }
    return nseg;
  }
  void operator()(float*, int, int, int, int) const {}
};

// ---- implicit im2col: row i = output pixel (n, oh, ow), column k = (kh, kw, c) ----


struct PackAIm2col {
  static constexpr bool kSegments = true;
  const float* x;
  ConvGeom g;

  // Instead of packing: for each MR-row panel, the runs of the block [k0, k0+kc) as pointers into
  // x (or a zero run); only runs that cross the image's left/right edge are copied, into scratch
  // (mc x kc floats). Returns the number of segments; start/count index them per panel.
  int segments(ASeg* out, int* start, int* count, float* scratch, int i0, int mc, int k0, int kc) const {
    const int C = g.C, ohw = g.OH * g.OW;
    const int run = g.dw == 1 ? g.KW * C : C;
    const float* zero = zeros_of(run);
    int nseg = 0;
    for (int ip = 0; ip < mc; ip += MR) {
      const int mr = std::min(MR, mc - ip);
      const float* base[MR];
      int ih0[MR], iw0[MR];
      for (int r = 0; r < MR; r++) {
        if (r < mr) {
          const int i = i0 + ip + r, n = i / ohw, rem = i - n * ohw, oh = rem / g.OW, ow = rem - oh * g.OW;
          base[r] = x + (long)n * g.H * g.W * C;
          ih0[r] = oh * g.sh - g.pt;
          iw0[r] = ow * g.sw - g.pl;
        } else {
          base[r] = nullptr;
          ih0[r] = iw0[r] = 0;
        }
      }
      start[ip / MR] = nseg;
      for (int k = k0; k < k0 + kc;) {
        int kh, kwa, kwb, off, len;
        if (g.dw == 1) {
          kh = k / run;
          off = k - kh * run;
          len = std::min(run - off, k0 + kc - k);
          kwa = off / C;
          kwb = (off + len - 1) / C;
        } else {
          const int t = k / C, c0 = k - t * C;
          kh = t / g.KW;
          kwa = kwb = t - kh * g.KW;
          off = c0;
          len = std::min(C - c0, k0 + kc - k);
        }
        ASeg& sg = out[nseg++];
        sg.len = len;
        sg.koff = k - k0;
        for (int r = 0; r < MR; r++) {
          const int ih = ih0[r] + kh * g.dh, iwa = iw0[r] + kwa * g.dw, iwb = iw0[r] + kwb * g.dw;
          if (!base[r] || ih < 0 || ih >= g.H || iwb < 0 || iwa >= g.W) {
            sg.s[r] = zero;
          } else if (iwa >= 0 && iwb < g.W) {
            sg.s[r] = g.dw == 1 ? base[r] + ((long)ih * g.W + iw0[r]) * C + off : base[r] + ((long)ih * g.W + iwa) * C + off;
          } else {
            float* sc = scratch + (size_t)(ip + r) * kc + (k - k0);
            for (int j = 0; j < len; j++) {
              const int kw = (off + j) / C, c = (off + j) - kw * C;  // only reached with dw == 1
              const int iw = iw0[r] + kw;
              sc[j] = (iw >= 0 && iw < g.W) ? base[r][((long)ih * g.W + iw) * C + c] : 0.f;
            }
            sg.s[r] = sc;
          }
        }
        k += len;
      }
      count[ip / MR] = nseg - start[ip / MR];
    }
    return nseg;
  }

  void operator()(float* dst, int i0, int mc, int k0, int kc) const {
    const int C = g.C, ohw = g.OH * g.OW;
    // With dilation 1 the taps of one kernel row read adjacent pixels: one run of KW*C floats.
    const int run = g.dw == 1 ? g.KW * C : C;
    const float* zero = zeros_of(run);
    for (int ip = 0; ip < mc; ip += MR) {
      const int mr = std::min(MR, mc - ip);
      const float* base[MR];
      int ih0[MR], iw0[MR];
      for (int r = 0; r < MR; r++) {
        if (r < mr) {
          const int i = i0 + ip + r, n = i / ohw, rem = i - n * ohw, oh = rem / g.OW, ow = rem - oh * g.OW;
          base[r] = x + (long)n * g.H * g.W * C;
          ih0[r] = oh * g.sh - g.pt;
          iw0[r] = ow * g.sw - g.pl;
        } else {
          base[r] = nullptr;
          ih0[r] = iw0[r] = 0;
        }
      }
      float* d = dst + (size_t)ip * kc;
      for (int k = k0; k < k0 + kc;) {
        int kh, kwa, kwb, off, len;
        if (g.dw == 1) {
          kh = k / run;
          off = k - kh * run;
          len = std::min(run - off, k0 + kc - k);
          kwa = off / C;
          kwb = (off + len - 1) / C;
        } else {
          const int t = k / C, c0 = k - t * C;
          kh = t / g.KW;
          kwa = kwb = t - kh * g.KW;
          off = c0;
          len = std::min(C - c0, k0 + kc - k);
        }
        const float* s[MR];
        bool partial = false;
        for (int r = 0; r < MR; r++) {
          const int ih = ih0[r] + kh * g.dh, iwa = iw0[r] + kwa * g.dw, iwb = iw0[r] + kwb * g.dw;
          if (!base[r] || ih < 0 || ih >= g.H || iwb < 0 || iwa >= g.W) {
            s[r] = zero;
          } else if (iwa >= 0 && iwb < g.W) {
            s[r] = g.dw == 1 ? base[r] + ((long)ih * g.W + iw0[r]) * C + off : base[r] + ((long)ih * g.W + iwa) * C + off;
          } else {
            s[r] = nullptr;  // the run crosses the image's left or right edge
            partial = true;
          }
        }
        float* dd = d + (size_t)(k - k0) * MR;
        if (!partial) {
          for (int j = 0; j < len; j++) {
            dd[j * MR + 0] = s[0][j];
            dd[j * MR + 1] = s[1][j];
            dd[j * MR + 2] = s[2][j];
            dd[j * MR + 3] = s[3][j];
            dd[j * MR + 4] = s[4][j];
            dd[j * MR + 5] = s[5][j];
          }
        } else {
          for (int r = 0; r < MR; r++) {
            if (s[r]) {
              for (int j = 0; j < len; j++) dd[j * MR + r] = s[r][j];
              continue;
            }
            const int ih = ih0[r] + kh * g.dh;
            for (int j = 0; j < len; j++) {
              const int kw = (off + j) / C, c = (off + j) - kw * C;  // only reached with dw == 1
              const int iw = iw0[r] + kw;
              dd[j * MR + r] = (iw >= 0 && iw < g.W) ? base[r][((long)ih * g.W + iw) * C + c] : 0.f;
            }
          }
        }
        k += len;
      }
    }
  }
};

// B = im2col(x): row k = output pixel (n, oh, ow), column j = (kh, kw, c). For filter gradients.
struct PackBIm2col {
  const float* x;
  ConvGeom g;
  static constexpr bool inplace = false;
  static constexpr const float* b = nullptr;
  static constexpr long rs = 0;
  // All panels of a block at once: each pixel's runs are read once and split across the panels
  // (panel by panel, the pixel's position and bounds were recomputed for every 16 columns).
  template <int PW = NR>
  void block(float* d, int jc, int nc, int k0, int kc) const {
    const int C = g.C, ohw = g.OH * g.OW;
    const int run = g.dw == 1 ? g.KW * C : C;
    const int npanels = (nc + PW - 1) / PW;
    if (nc % PW) {
      float* last = d + (size_t)(npanels - 1) * PW * kc;
      for (int k = 0; k < kc; k++) std::memset(last + (size_t)k * PW + nc % PW, 0, sizeof(float) * (PW - nc % PW));
    }
    struct Piece { int off, len; size_t dst; };
    struct Run { int kh, kwa, kwb, off, len, p0, p1; };
    static thread_local Buf pieceBuf, runBuf;
    Piece* pieces = reinterpret_cast<Piece*>(pieceBuf.get((size_t)(nc + npanels + 8) * sizeof(Piece) / sizeof(float) + 1));
    Run* runs = reinterpret_cast<Run*>(runBuf.get((size_t)(nc + 8) * sizeof(Run) / sizeof(float) + 1));
    int nruns = 0, npieces = 0;
    for (int j = jc; j < jc + nc;) {
      Run r;
      if (g.dw == 1) {
        r.kh = j / run;
        r.off = j - r.kh * run;
        r.len = std::min(run - r.off, jc + nc - j);
        r.kwa = r.off / C;
        r.kwb = (r.off + r.len - 1) / C;
      } else {
        const int t = j / C;
        r.kh = t / g.KW;
        r.kwa = r.kwb = t - r.kh * g.KW;
        r.off = j - t * C;
        r.len = std::min(C - r.off, jc + nc - j);
      }
      r.p0 = npieces;
      for (int q = j; q < j + r.len;) {
        const int col = q - jc, panel = col / PW, inpanel = col - panel * PW;
        const int len = std::min(PW - inpanel, j + r.len - q);
        pieces[npieces++] = {r.off + (q - j), len, (size_t)panel * PW * kc + inpanel};
        q += len;
      }
      r.p1 = npieces;
      runs[nruns++] = r;
      j += r.len;
    }
    int n = k0 / ohw, rem = k0 - n * ohw, oh = rem / g.OW, ow = rem - oh * g.OW;
    for (int k = 0; k < kc; k++) {
      const float* img = x + (long)n * g.H * g.W * C;
      const int ihb = oh * g.sh - g.pt, iwb = ow * g.sw - g.pl;
      for (int ri = 0; ri < nruns; ri++) {
        const Run& r = runs[ri];
        const int ih = ihb + r.kh * g.dh, iwa = iwb + r.kwa * g.dw, iwz = iwb + r.kwb * g.dw;
        if (ih < 0 || ih >= g.H || iwz < 0 || iwa >= g.W) {
          for (int pi = r.p0; pi < r.p1; pi++) {
            float* o = d + pieces[pi].dst + (size_t)k * PW;
            for (int j = 0; j < pieces[pi].len; j++) o[j] = 0.f;
          }
        } else if (iwa >= 0 && iwz < g.W) {
          // Offsets in the run count from the kernel row's first tap (dw == 1) or from the tap.
          const float* src = g.dw == 1 ? img + ((long)ih * g.W + iwb) * C : img + ((long)ih * g.W + iwa) * C - r.off;
          for (int pi = r.p0; pi < r.p1; pi++) {
            float* o = d + pieces[pi].dst + (size_t)k * PW;
            const float* s2 = src + pieces[pi].off;
            if (PW == NR && pieces[pi].len == NR) {
              // The common case, a whole panel row: two vector moves, no loop.
              reinterpret_cast<vfu*>(o)[0] = reinterpret_cast<const vfu*>(s2)[0];
              reinterpret_cast<vfu*>(o + VW)[0] = reinterpret_cast<const vfu*>(s2 + VW)[0];
              continue;
            }
            for (int j = 0; j < pieces[pi].len; j++) o[j] = s2[j];
          }
        } else {
          for (int pi = r.p0; pi < r.p1; pi++) {
            float* o = d + pieces[pi].dst + (size_t)k * PW;
            for (int j = 0; j < pieces[pi].len; j++) {
              const int e = pieces[pi].off + j, kw = e / C, c = e - kw * C;
              const int iw = iwb + kw;
              o[j] = (iw >= 0 && iw < g.W) ? img[((long)ih * g.W + iw) * C + c] : 0.f;
            }
          }
        }
      }
      if (++ow == g.OW) {
        ow = 0;
        if (++oh == g.OH) {
          oh = 0;
          ++n;
        }
      }
    }
  }
  void operator()(float* d, int j0, int nr, int k0, int kc) const {
    const int C = g.C, ohw = g.OH * g.OW;
    const int run = g.dw == 1 ? g.KW * C : C;  // as in PackAIm2col: one kernel row is one run
    // The panel's columns as runs that are contiguous in x (when inside the image).
    struct Seg { int kh, kwa, kwb, off, len, dst; } segs[NR];
    int ns = 0;
    for (int j = j0; j < j0 + nr;) {
      Seg sg;
      if (g.dw == 1) {
        sg.kh = j / run;
        sg.off = j - sg.kh * run;
        sg.len = std::min(run - sg.off, j0 + nr - j);
        sg.kwa = sg.off / C;
        sg.kwb = (sg.off + sg.len - 1) / C;
      } else {
        const int t = j / C;
        sg.kh = t / g.KW;
        sg.kwa = sg.kwb = t - sg.kh * g.KW;
        sg.off = j - t * C;
        sg.len = std::min(C - sg.off, j0 + nr - j);
      }
      sg.dst = j - j0;
      segs[ns++] = sg;
      j += sg.len;
    }
    int n = k0 / ohw, rem = k0 - n * ohw, oh = rem / g.OW, ow = rem - oh * g.OW;
    for (int k = 0; k < kc; k++) {
      float* dd = d + (size_t)k * NR;
      if (nr < NR) std::memset(dd + nr, 0, sizeof(float) * (NR - nr));
      const float* img = x + (long)n * g.H * g.W * C;
      const int ihb = oh * g.sh - g.pt, iwb = ow * g.sw - g.pl;
      for (int si = 0; si < ns; si++) {
        const Seg& sg = segs[si];
        const int ih = ihb + sg.kh * g.dh, iwa = iwb + sg.kwa * g.dw, iwz = iwb + sg.kwb * g.dw;
        float* o = dd + sg.dst;
        if (ih < 0 || ih >= g.H || iwz < 0 || iwa >= g.W) {
          for (int j = 0; j < sg.len; j++) o[j] = 0.f;
        } else if (iwa >= 0 && iwz < g.W) {
          const float* src = g.dw == 1 ? img + ((long)ih * g.W + iwb) * C + sg.off : img + ((long)ih * g.W + iwa) * C + sg.off;
          for (int j = 0; j < sg.len; j++) o[j] = src[j];
        } else {
          for (int j = 0; j < sg.len; j++) {
            const int kw = (sg.off + j) / C, c = (sg.off + j) - kw * C;
            const int iw = iwb + kw;
            o[j] = (iw >= 0 && iw < g.W) ? img[((long)ih * g.W + iw) * C + c] : 0.f;
          }
        }
      }
      if (++ow == g.OW) {
        ow = 0;
        if (++oh == g.OH) {
          oh = 0;
          ++n;
        }
      }
    }
  }
};

// ---- kernels ----

static void conv2d(const float* x, const float* w, float* y, const ConvGeom& g, const float* bias, int act,
                   float alpha) {
  const int M = g.N * g.OH * g.OW, N = g.CO, K = g.KH * g.KW * g.C;
  Epi epi{bias, act, alpha};
  const bool useEpi = bias || act != ps::ACT_LINEAR;
  gemm(M, N, K, PackAIm2col{x, g}, PackBStrided{w, N, 1}, y, N, false, useEpi ? &epi : nullptr);
}

// dW[K x CO] = im2col(x)^T dy, computed as dW^T = dy^T im2col(x) so that both operands pack with
// contiguous copies, then transposed (the result is small).
// A = im2col(x)^T: row i = column (kh, kw, c) of im2col, k = output pixel.
struct PackAIm2colT {
  static constexpr bool kSegments = false;
  PackBIm2col im2col;
  void operator()(float* dst, int i0, int mc, int k0, int kc) const { im2col.template block<MR>(dst, i0, mc, k0, kc); }
  int segments(ASeg*, int*, int*, float*, int, int, int, int) const { return 0; }
};

static void conv2d_bwd_filter(const float* x, const float* dy, float* dw, const ConvGeom& g) {
  const int P = g.N * g.OH * g.OW, KK = g.KH * g.KW * g.C, CO = g.CO;
  static const char* force = std::getenv("POSTER_STUDIO_BWD_FILTER");
  // Measured (GFLOP per core-second): KK = 27 (classifier conv1) 20-24 vs 16-17, KK = 75 (the
  // generator's RGB layer) 32-41 vs 33-34; with KK = 288..576 the 6-wide A panels cost more
  // (35-47 vs 42-58), so only for small KK.
  bool direct = CO % NR == 0 && KK <= 128;
  if (force) direct = std::strcmp(force, "direct") == 0 && CO % NR == 0;
  if (direct) {
    // Few filter taps (RGB input layers): dW = im2col(x)^T dy, dy's rows read in place as B, the
    // result already in dW's layout; the tile fills better (KK x CO rather than CO x KK).
    PackBStrided pb{dy, CO, 1};
    pb.inplace = true;
    gemm(KK, CO, P, PackAIm2colT{PackBIm2col{x, g}}, pb, dw, CO, false, nullptr);
    return;
  }
  static thread_local Buf tbuf;
  float* t = tbuf.get((size_t)CO * KK);
  gemm(CO, KK, P, PackAStrided{dy, 1, CO}, PackBIm2col{x, g}, t, KK, false, nullptr);
  for (int k = 0; k < KK; k++)
    for (int c = 0; c < CO; c++) dw[(long)k * CO + c] = t[(long)c * KK + k];
}

// dx = col2im(dy W^T): the GEMM gives, per output pixel, its contribution to every input tap, which
// is then added into dx image by image (images never overlap, so the scatter runs in parallel).
static void conv2d_bwd_input_scatter(const float* dy, const float* w, float* dx, const ConvGeom& g) {
  const int KK = g.KH * g.KW * g.C, CO = g.CO, ohw = g.OH * g.OW;
  static thread_local Buf wtbuf, colbuf;
  float* wt = wtbuf.get((size_t)CO * KK);
  for (int k = 0; k < KK; k++)
    for (int c = 0; c < CO; c++) wt[(long)c * KK + k] = w[(long)k * CO + c];
  std::memset(dx, 0, sizeof(float) * (size_t)g.N * g.H * g.W * g.C);
  const size_t perImage = (size_t)ohw * KK;
  const int chunk = std::max(1, std::min(g.N, (int)((size_t)(4u << 20) / std::max<size_t>(perImage, 1))));
  float* cols = colbuf.get(perImage * chunk);
  for (int n0 = 0; n0 < g.N; n0 += chunk) {
    const int nb = std::min(chunk, g.N - n0);
    gemm(nb * ohw, KK, CO, PackAStrided{dy + (long)n0 * ohw * CO, CO, 1}, PackBStrided{wt, KK, 1}, cols, KK, false,
         nullptr);
    const int T = threads_for(2.0 * nb * perImage);
#pragma omp parallel for num_threads(T) if (T > 1 && nb > 1) schedule(static)
    for (int b = 0; b < nb; b++) {
      float* img = dx + (long)(n0 + b) * g.H * g.W * g.C;
      const float* cb = cols + (size_t)b * perImage;
      for (int oh = 0; oh < g.OH; oh++)
        for (int ow = 0; ow < g.OW; ow++) {
          const float* row = cb + ((size_t)oh * g.OW + ow) * KK;
          for (int kh = 0; kh < g.KH; kh++) {
            const int ih = oh * g.sh - g.pt + kh * g.dh;
            if (ih < 0 || ih >= g.H) continue;
            const int iw0 = ow * g.sw - g.pl;
            if (g.dw == 1 && iw0 >= 0 && iw0 + g.KW <= g.W) {
              // The kernel row lands on adjacent pixels: one run of KW*C floats.
              float* o = img + ((long)ih * g.W + iw0) * g.C;
              const float* s = row + kh * g.KW * g.C;
              for (int e = 0; e < g.KW * g.C; e++) o[e] += s[e];
              continue;
            }
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

// dx as a gather: for stride s, the input pixels split into s x s phases; within one phase every
// pixel sees the same taps (kh = r + s*j), so each phase is a stride-1 convolution of dy with a
// sub-filter read backwards (dilation -1). No col buffer, no scatter races, no wasted taps.
static void conv2d_bwd_input_gather(const float* dy, const float* w, float* dx, const ConvGeom& g) {
  const int CO = g.CO, C = g.C;
  static thread_local Buf wpbuf, tbuf;
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
      if (nqh <= 0 || nqw <= 0 || nth == 0 || ntw == 0) continue;  // no pixels, or pixels no tap reaches (stay 0)
      // Sub-filter as a [(jh, jw, co) x c] matrix.
      float* wp = wpbuf.get((size_t)nth * ntw * CO * C);
      for (int jh = 0; jh < nth; jh++)
        for (int jw = 0; jw < ntw; jw++) {
          const float* src = w + ((long)(rh + g.sh * jh) * g.KW + (rw + g.sw * jw)) * C * CO;
          float* dst = wp + (size_t)(jh * ntw + jw) * CO * C;
          for (int c = 0; c < C; c++)
            for (int co = 0; co < CO; co++) dst[(size_t)co * C + c] = src[(size_t)c * CO + co];
        }
      const ConvGeom sub{g.N, g.OH, g.OW, CO, nth, ntw, C, nqh, nqw, 1, 1, -q0h, -q0w, -1, -1};
      const int M = g.N * nqh * nqw;
      float* out = direct ? dx : tbuf.get((size_t)M * C);
      gemm(M, C, nth * ntw * CO, PackAIm2col{dy, sub}, PackBStrided{wp, C, 1}, out, C, false, nullptr);
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

// Gather wins when the input channels fill the register tile's columns; with few (the generator's
// RGB output) the scatter form's wide GEMM does better. POSTER_STUDIO_BWD_INPUT forces one (benchmarks).
static void conv2d_bwd_input(const float* dy, const float* w, float* dx, const ConvGeom& g) {
  static const char* force = std::getenv("POSTER_STUDIO_BWD_INPUT");
  bool gather = g.C >= NR && g.dh == 1 && g.dw == 1;
  if (force && std::strcmp(force, "scatter") == 0) gather = false;
  if (force && std::strcmp(force, "gather") == 0 && g.dh == 1 && g.dw == 1) gather = true;
  if (gather) conv2d_bwd_input_gather(dy, w, dx, g);
  else conv2d_bwd_input_scatter(dy, w, dx, g);
}

static void matmul(const float* a, const float* b, float* c, int batch, int64_t strideA, int64_t strideB, int M,
                   int N, int K, bool transA, bool transB, const float* bias, int act, float alpha) {
  Epi epi{bias, act, alpha};
  const bool useEpi = bias || act != ps::ACT_LINEAR;
  static thread_local Buf tbuf;
  for (int i = 0; i < batch; i++) {
    const float* ai = a + i * strideA;
    const float* bi = b + i * strideB;
    float* ci = c + (long)i * M * N;
    if (!transA && transB && M <= MC && N >= 4 * MC) {
      // a * b^T with few rows of a (the dense layer's input gradient): as c^T = b * a^T, b's rows
      // are read in place and only the small a is packed; c^T is transposed back with the epilogue.
      float* ct = tbuf.get((size_t)N * M);
      gemm(N, M, K, PackARows{bi, K, N}, PackBStrided{ai, 1, K}, ct, M, false, nullptr);
      for (int m = 0; m < M; m++)
        for (int n = 0; n < N; n++) {
          float v = ct[(size_t)n * M + m];
          if (useEpi) v = act_scalar(v + (bias ? bias[n] : 0.f), act, alpha);
          ci[(long)m * N + n] = v;
        }
      continue;
    }
    PackAStrided pa{ai, transA ? 1 : K, transA ? M : 1};
    PackBStrided pb{bi, transB ? 1 : N, transB ? K : 1};
    pb.inplace = !transB && N % NR == 0 && M <= MC;
    gemm(M, N, K, pa, pb, ci, N, false, useEpi ? &epi : nullptr);
  }
}

extern const ps::KernelSet kernels = {PS_NAME, conv2d, conv2d_bwd_input, conv2d_bwd_filter, matmul};

}  // namespace PS_NS
