// Element-wise, reduction and pooling kernels of a training step (activations and their
// gradients, bias adds, bias gradients, 2x2 max pooling). All are memory-bound single passes;
// they split across the OpenMP threads only above a size where waking a second thread pays.
#pragma once
#include <cstdint>

namespace ps_ew {

// Codes shared with engine/native/elementwise.ts.
enum Unary : int {
  U_RELU = 0, U_LEAKY_RELU = 1, U_TANH = 2, U_SIGMOID = 3, U_SQUARE = 4, U_NEG = 5, U_ABS = 6,
  U_FLOOR = 7, U_STEP = 8, U_SQRT = 9, U_EXP = 10, U_RELU6 = 11,
};
enum Binary : int { B_ADD = 0, B_SUB = 1, B_MUL = 2, B_DIV = 3, B_SQDIFF = 4 };
enum ActGrad : int { G_RELU = 0, G_LEAKY_RELU = 1 };

// y[i] = op(x[i]); p0 is the op's parameter (LeakyRelu/Step alpha).
void unary(int op, const float* x, float* y, int64_t n, double p0);

// out[m, c] = op(a[m*sa0 + c*sa1], b[m*sb0 + c*sb1]) for m < M, c < C; sa1, sb1 are 0 or 1.
// Covers same shape, scalar on either side and [M, C] op [C] (the bias add), either order.
void binary(int op, const float* a, const float* b, float* out, int64_t M, int64_t C, int64_t sa0, int64_t sa1,
            int64_t sb0, int64_t sb1);

// Activation gradient from the forward input x: relu: NaN x -> x, else dy * (x > 0);
// leaky: dy * (x > 0 ? 1 : alpha).
void act_grad(int op, const float* dy, const float* x, float* out, int64_t n, float alpha);

// The ReLU gradient from the forward output y (y > 0 exactly where the input was; a NaN y is
// passed on) and its sum over every row: out = dy * (y > 0), bias[c] = sum_m out[m, c] in
// double, y viewed as [M, C]. One pass where the gradient and the bias gradient took two. With
// alpha > 0 the leaky ReLU's: out = dy * (y > 0 ? 1 : alpha) (y has the input's sign), as
// act_grad's leaky gradient.
void relu_grad_bias(const float* dy, const float* y, float* out, float* bias, int64_t M, int64_t C, float alpha);

// The dropout mask of engine/ops/dropout.ts, bit for bit: value i is `scale` when the 32-bit
// hash of (seed, i) is at least `threshold`, else 0.
void dropout_mask(float* out, int64_t n, uint64_t threshold, float scale, int32_t seed);

// x viewed as [outer, reduce, inner]; out[o, i] = sum_r x[o, r, i] / divisor, added in double.
void sum(const float* x, float* out, int64_t outer, int64_t reduce, int64_t inner, double divisor);

// NHWC 2x2 max pooling at stride 2, no padding, OH <= H/2, OW <= W/2. NaN never wins; a window
// without any value > -inf gives -inf.
void max_pool_2x2(const float* x, float* y, int N, int H, int W, int C, int OH, int OW);

// Its gradient: each dy goes to the first (row-major) strict maximum of its window; dx is
// written entirely (zero where no window routes anything).
void max_pool_2x2_grad(const float* x, const float* dy, float* dx, int N, int H, int W, int C, int OH, int OW);

}  // namespace ps_ew
