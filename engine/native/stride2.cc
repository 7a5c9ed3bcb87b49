// Stride-2 convolutions as 3x3 stride-1 ones on space-to-depth maps (see stride2.h). Output pixel
// o reads input rows 2o - pt + t for taps t < k, which lie in the 2-row blocks o + floor((t - pt) / 2):
// for 5x5 'same' (pt = 1) blocks o-1, o, o+1, so the block filter is 3x3 and the block map is
// padded by 1. Where the kernels run Winograd, they read and write the image in place as its
// block view; elsewhere the image is copied into (and out of) the block map.
#include "stride2.h"

#include <omp.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace ps_s2 {
namespace {

int floor_div2(int v) { return v >= 0 ? v / 2 : -((1 - v) / 2); }

// The block offsets of taps 0..k-1 after padding p: [lo, hi]; false past 3 blocks, or when the
// block map would need more than 2 blocks of padding (the input gradient pads by 2 minus that).
bool span(int k, int p, int* lo) {
  *lo = floor_div2(-p);
  return *lo >= -2 && floor_div2(k - 1 - p) - *lo <= 2;
}

// Parallel over (image, row) when the pass is large enough to pay for the threads.
int threads_for_copy(size_t floats) { return floats >= ((size_t)1 << 16) ? omp_get_max_threads() : 1; }

}  // namespace

bool blocks_of(const ps::ConvGeom& g, Blocks* b) {
  if (g.sh != 2 || g.sw != 2 || g.dh != 1 || g.dw != 1 || g.KH > 6 || g.KW > 6) return false;
  int loh, low;
  if (!span(g.KH, g.pt, &loh) || !span(g.KW, g.pl, &low)) return false;
  b->g = g;
  b->bg = ps::ConvGeom{g.N, (g.H + 1) / 2, (g.W + 1) / 2, 4 * g.C, 3, 3, g.CO, g.OH, g.OW, 1, 1, -loh, -low, 1, 1};
  return true;
}

namespace {
// Copies between the image and its block map, one block row of one image a work item; pixels of
// the block map past an odd edge are zeros one way and dropped the other.
template <bool kToBlocks>
void copy_blocks(const float* src, float* dst, const Blocks& b) {
  const ps::ConvGeom &g = b.g, &bg = b.bg;
  const int C = g.C, rows = g.N * bg.H;
  const size_t cb = sizeof(float) * C;
#pragma omp parallel for num_threads(threads_for_copy((size_t)rows * bg.W * bg.C)) schedule(static)
  for (int r = 0; r < rows; r++) {
    const int n = r / bg.H, bh = r % bg.H;
    const size_t block0 = (size_t)r * bg.W * bg.C;
    for (int bw = 0; bw < bg.W; bw++)
      for (int ph = 0; ph < 4; ph++) {
        const size_t at = block0 + ((size_t)bw * 4 + ph) * C;
        const int ih = 2 * bh + ph / 2, iw = 2 * bw + ph % 2;
        const bool inside = ih < g.H && iw < g.W;
        const size_t pixel = (((size_t)n * g.H + ih) * g.W + iw) * C;
        if (kToBlocks) {
          if (inside) std::memcpy(dst + at, src + pixel, cb);
          else std::memset(dst + at, 0, cb);
        } else if (inside) {
          std::memcpy(dst + pixel, src + at, cb);
        }
      }
  }
}
}  // namespace

void to_blocks(const float* x, float* xb, const Blocks& b) { copy_blocks<true>(x, xb, b); }
void from_blocks(const float* xb, float* x, const Blocks& b) { copy_blocks<false>(xb, x, b); }

namespace {
// The tap held by each block position (i, j) and phase (py, px) of the block filter, at
// (i * 3 + j) * 4 + py * 2 + px: tap (2 (i - bpt) + py + pt, 2 (j - bpl) + px + pl), -1 where none.
std::array<int, 36> tap_table(const Blocks& b) {
  const ps::ConvGeom &g = b.g, &bg = b.bg;
  std::array<int, 36> taps;
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 3; j++)
      for (int py = 0; py < 2; py++)
        for (int px = 0; px < 2; px++) {
          const int kh = 2 * (i - bg.pt) + py + g.pt, kw = 2 * (j - bg.pl) + px + g.pl;
          const bool inside = kh >= 0 && kh < g.KH && kw >= 0 && kw < g.KW;
          taps[(i * 3 + j) * 4 + py * 2 + px] = inside ? kh * g.KW + kw : -1;
        }
  return taps;
}
}  // namespace

// On both cores: the 16x16x128 -> 256 layer's block filter is 4.7 MB, and a serial copy left the
// other core idle before every forward and after every filter gradient.
void filter_to_blocks(const float* w, float* wb, const Blocks& b) {
  const size_t tap = (size_t)b.g.C * b.g.CO;
  const auto taps = tap_table(b);
#pragma omp parallel for num_threads(threads_for_copy(36 * tap)) schedule(static)
  for (int pp = 0; pp < 36; pp++) {
    if (taps[pp] >= 0) std::memcpy(wb + pp * tap, w + (size_t)taps[pp] * tap, sizeof(float) * tap);
    else std::memset(wb + pp * tap, 0, sizeof(float) * tap);
  }
}

void filter_from_blocks(const float* wb, float* w, const Blocks& b) {
  const size_t tap = (size_t)b.g.C * b.g.CO;
  const auto taps = tap_table(b);
#pragma omp parallel for num_threads(threads_for_copy(36 * tap)) schedule(static)
  for (int pp = 0; pp < 36; pp++)
    if (taps[pp] >= 0) std::memcpy(w + (size_t)taps[pp] * tap, wb + pp * tap, sizeof(float) * tap);
}

namespace {
// Per-thread scratch, grown as needed and kept: the same shapes come back every training step.
float* scratch(int which, size_t n) {
  static thread_local std::vector<float> bufs[3];
  if (bufs[which].size() < n) bufs[which].resize(n);
  return bufs[which].data();
}
size_t map_size(const ps::ConvGeom& g) { return (size_t)g.N * g.H * g.W * g.C; }
size_t filter_size(const ps::ConvGeom& g) { return (size_t)9 * g.C * g.CO; }

// Whether the kernels can read (or write) the image in place as its block view instead of a copy:
// only Winograd takes views (ConvGeom::blocksIn), so this mirrors where it runs on the block map
// (impl_winograd.inc winograd_fits, impl_kernels.inc's filter-gradient limit); the view needs
// whole 2x2 blocks and channel quarters of whole vectors. Skipping the copy saves a pass over the
// image each way (the DCGAN's 32x32x64 and 16x16x128 maps: 16 and 8 MB).
bool viewable(const ConvOps& ops, const Blocks& b, int act) {
  const char* wg = std::getenv("POSTER_STUDIO_WINOGRAD");
  const ps::ConvGeom& g = b.g;
  return ops.views && !(wg && std::strcmp(wg, "0") == 0) && g.H % 2 == 0 && g.W % 2 == 0 && g.C % 16 == 0 &&
         ps::winograd_act(act);
}
}  // namespace

void conv2d(const ConvOps& ops, const Blocks& b, const float* x, const float* w, float* y, const float* bias, int act,
            float alpha) {
  float* wb = scratch(1, filter_size(b.bg));
  filter_to_blocks(w, wb, b);
  if (viewable(ops, b, act)) {
    ps::ConvGeom bg = b.bg;
    bg.blocksIn = b.g.C;
    ops.conv2d(x, wb, y, bg, bias, act, alpha);
    return;
  }
  float* xb = scratch(0, map_size(b.bg));
  to_blocks(x, xb, b);
  ops.conv2d(xb, wb, y, b.bg, bias, act, alpha);
}

void conv2d_bwd_input(const ConvOps& ops, const Blocks& b, const float* dy, const float* w, float* dx) {
  const ps::ConvGeom &g = b.g, &bg = b.bg;
  // wr[2 - i][2 - j][co][(phase, c)] = wb[i][j][(phase, c)][co]: the input gradient of a 3x3
  // stride-1 convolution is the convolution of dy with this filter, padded by 2 - p. Built from w
  // tap by tap, each C x CO matrix transposed in 16 x 16 blocks (read and written a line at a time).
  float* wr = scratch(1, filter_size(bg));
  const auto taps = tap_table(b);
  const int C = g.C, CO = g.CO;
#pragma omp parallel for num_threads(threads_for_copy(filter_size(bg))) schedule(static)
  for (int pp = 0; pp < 36; pp++) {
    const int pos = pp / 4, phase = pp % 4, t = taps[pp];
    float* dst = wr + (size_t)(8 - pos) * CO * bg.C + (size_t)phase * C;
    if (t < 0) {
      for (int co = 0; co < CO; co++) std::memset(dst + (size_t)co * bg.C, 0, sizeof(float) * C);
      continue;
    }
    const float* src = w + (size_t)t * C * CO;
    for (int c0 = 0; c0 < C; c0 += 16)
      for (int o0 = 0; o0 < CO; o0 += 16)
        for (int c = c0; c < std::min(C, c0 + 16); c++)
          for (int co = o0; co < std::min(CO, o0 + 16); co++) dst[(size_t)co * bg.C + c] = src[(size_t)c * CO + co];
  }
  ps::ConvGeom rg{bg.N, bg.OH, bg.OW, bg.CO, 3, 3, bg.C, bg.H, bg.W, 1, 1, 2 - bg.pt, 2 - bg.pl, 1, 1};
  if (viewable(ops, b, ps::ACT_LINEAR)) {
    rg.blocksOut = g.C;
    ops.conv2d(dy, wr, dx, rg, nullptr, ps::ACT_LINEAR, 0.f);
    return;
  }
  float* dxb = scratch(0, map_size(bg));
  ops.conv2d(dy, wr, dxb, rg, nullptr, ps::ACT_LINEAR, 0.f);
  from_blocks(dxb, dx, b);
}

void conv2d_bwd_filter(const ConvOps& ops, const Blocks& b, const float* x, const float* dy, float* dw) {
  float* dwb = scratch(1, filter_size(b.bg));
  if (viewable(ops, b, ps::ACT_LINEAR) && (int64_t)b.bg.C * b.bg.CO <= ps::kWinogradFilterPairs) {
    ps::ConvGeom bg = b.bg;
    bg.blocksIn = b.g.C;
    ops.conv2d_bwd_filter(x, dy, dwb, bg);
  } else {
    float* xb = scratch(0, map_size(b.bg));
    to_blocks(x, xb, b);
    ops.conv2d_bwd_filter(xb, dy, dwb, b.bg);
  }
  filter_from_blocks(dwb, dw, b);
}

}  // namespace ps_s2
