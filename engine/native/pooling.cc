// NHWC 2x2 max pooling at stride 2 and its gradient (see elementwise.h), built like
// elementwise.cc: baseline SSE2, memory-bound single passes.
#include "elementwise.h"

// As in elementwise.cc: the selects vectorise as blends only when FP operations may not trap.
#pragma GCC optimize("no-trapping-math")

#include <algorithm>
#include <cstring>

#include "elementwise_par.h"

namespace ps_ew {
namespace {

// GCC's vector extensions for the pooling gradient: written as plain selects, its mask logic
// defeats the auto-vectoriser at every formulation tried.
typedef float f4 __attribute__((vector_size(16)));
typedef int32_t i4 __attribute__((vector_size(16)));

inline f4 load4(const float* p) {
  f4 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store4(float* p, i4 bits) { std::memcpy(p, &bits, sizeof bits); }
inline f4 select4(i4 m, f4 a, f4 b) { return (f4)((m & (i4)a) | (~m & (i4)b)); }

// One 2x2 window of the pooling gradient over its C channels. g_k: value k raised the running
// maximum (from -inf; NaN never does); the winner is the last one that did.
inline void pool_grad_window(const float* p0, const float* p1, const float* p2, const float* p3, const float* gy,
                             float* q0, float* q1, float* q2, float* q3, int C) {
  int c = 0;
  const f4 ninf = {-kInf, -kInf, -kInf, -kInf};
  for (; c + 4 <= C; c += 4) {
    const f4 a0 = load4(p0 + c), a1 = load4(p1 + c), a2 = load4(p2 + c), a3 = load4(p3 + c);
    const i4 g0 = a0 > ninf;
    const f4 m0 = select4(g0, a0, ninf);
    const i4 g1 = a1 > m0;
    const f4 m1 = select4(g1, a1, m0);
    const i4 g2 = a2 > m1;
    const f4 m2 = select4(g2, a2, m1);
    const i4 g3 = a3 > m2;
    const i4 v = (i4)load4(gy + c);
    store4(q3 + c, g3 & v);
    store4(q2 + c, g2 & ~g3 & v);
    store4(q1 + c, g1 & ~(g2 | g3) & v);
    store4(q0 + c, g0 & ~(g1 | g2 | g3) & v);
  }
  for (; c < C; c++) {
    float m = -kInf;
    int at = -1;
    const float a[4] = {p0[c], p1[c], p2[c], p3[c]};
    for (int k = 0; k < 4; k++) {
      if (a[k] > m) {
        m = a[k];
        at = k;
      }
    }
    q0[c] = at == 0 ? gy[c] : 0.f;
    q1[c] = at == 1 ? gy[c] : 0.f;
    q2[c] = at == 2 ? gy[c] : 0.f;
    q3[c] = at == 3 ? gy[c] : 0.f;
  }
}
}  // namespace

void max_pool_2x2(const float* x, float* y, int N, int H, int W, int C, int OH, int OW) {
  const int64_t rowC = (int64_t)W * C;
  parallel_blocks((int64_t)N * OH, (int64_t)N * OH * 2 * rowC, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; r++) {
      const int64_t n = r / OH, oy = r % OH;
      const float* top = x + (n * H + 2 * oy) * rowC;
      float* o = y + r * OW * C;
      for (int ox = 0; ox < OW; ox++) {
        const float* p0 = top + 2 * ox * C;
        const float* p1 = p0 + C;
        const float* p2 = p0 + rowC;
        const float* p3 = p2 + C;
        float* q = o + (int64_t)ox * C;
        for (int c = 0; c < C; c++) {
          float m = -kInf;
          m = p0[c] > m ? p0[c] : m;
          m = p1[c] > m ? p1[c] : m;
          m = p2[c] > m ? p2[c] : m;
          m = p3[c] > m ? p3[c] : m;
          q[c] = m;
        }
      }
    }
  });
}

void max_pool_2x2_grad(const float* x, const float* dy, float* dx, int N, int H, int W, int C, int OH, int OW) {
  const int64_t rowC = (int64_t)W * C;
  // Windows do not overlap, so every dx element is written once: routed dy or zero.
  parallel_blocks((int64_t)N * H, (int64_t)N * H * rowC, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; r++) {
      const int64_t n = r / H, iy = r % H;
      float* d = dx + r * rowC;
      if (iy >= 2 * OH) {
        std::fill(d, d + rowC, 0.f);
        continue;
      }
      if (iy & 1) continue;  // written with the row above
      const int64_t oy = iy / 2;
      const float* top = x + r * rowC;
      const float* g = dy + (n * OH + oy) * OW * C;
      for (int ox = 0; ox < OW; ox++) {
        const int64_t off = 2 * (int64_t)ox * C;
        const float* p0 = top + off;
        float* q0 = d + off;
        pool_grad_window(p0, p0 + C, p0 + rowC, p0 + rowC + C, g + (int64_t)ox * C, q0, q0 + C, q0 + rowC,
                         q0 + rowC + C, C);
      }
      const int64_t tail = 2 * (int64_t)OW * C;
      std::fill(d + tail, d + rowC, 0.f);
      std::fill(d + rowC + tail, d + 2 * rowC, 0.f);
    }
  });
}
}  // namespace ps_ew
