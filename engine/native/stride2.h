// Stride-2 convolutions as 3x3 stride-1 ones on space-to-depth maps.
#pragma once
#include "kernels.h"

namespace ps_s2 {

// The block form of a stride-2 convolution g: each 2x2 block of input pixels becomes one pixel of
// 4C channels (channel (py * 2 + px) * C + c), and the k x k taps (k <= 6) become a 3x3 filter on
// those blocks, zero where a block position holds no tap. Output rows and columns are unchanged.
struct Blocks {
  ps::ConvGeom g;   // the original convolution
  ps::ConvGeom bg;  // the 3x3 stride-1 convolution on the block map
};

// True, with *b filled in, when g is stride 2 (undilated) and its taps span at most 3 blocks each way.
bool blocks_of(const ps::ConvGeom& g, Blocks* b);

// x [N][H][W][C] -> xb [N][Hb][Wb][4C]; pixels past an odd edge are zeros.
void to_blocks(const float* x, float* xb, const Blocks& b);
// xb [N][Hb][Wb][4C] -> x [N][H][W][C], dropping the pixels past an odd edge.
void from_blocks(const float* xb, float* x, const Blocks& b);
// w [KH][KW][C][CO] -> wb [3][3][4C][CO].
void filter_to_blocks(const float* w, float* wb, const Blocks& b);
// wb [3][3][4C][CO] -> w [KH][KW][C][CO] (the inverse of filter_to_blocks on its nonzero entries).
void filter_from_blocks(const float* wb, float* w, const Blocks& b);

// The three convolutions of a kernel set (ps::KernelSet's or AMX's), to run the block form on.
struct ConvOps {
  void (*conv2d)(const float* x, const float* w, float* y, const ps::ConvGeom& g, const float* bias, int act,
                 float alpha);
  void (*conv2d_bwd_filter)(const float* x, const float* dy, float* dw, const ps::ConvGeom& g);
  // Whether they read and write block views in place (ConvGeom::blocksIn / blocksOut) when they
  // run Winograd: the fp32 kernel sets do, AMX does not.
  bool views;
};

// The convolution of b.g and its gradients through the block form: forward; input gradient (a
// forward convolution of dy with the block filter rotated and transposed, then back to pixels);
// filter gradient (the block filter's, then back to taps).
void conv2d(const ConvOps& ops, const Blocks& b, const float* x, const float* w, float* y, const float* bias, int act,
            float alpha);
void conv2d_bwd_input(const ConvOps& ops, const Blocks& b, const float* dy, const float* w, float* dx);
void conv2d_bwd_filter(const ConvOps& ops, const Blocks& b, const float* x, const float* dy, float* dw);

}  // namespace ps_s2
