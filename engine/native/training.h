// Batch-norm training passes and in-place optimizer updates (native/training.cc).
// All tensors are channels-last float32: x is M rows of C channels (NHWC: M = N*H*W).
#pragma once
#include <cstdint>

namespace ps_train {

// Batch norm's passes on AVX2/FMA and the optimizer updates on AVX2 (when the CPU has them), or
// their baseline builds: the addon follows its SIMD path ('portable' = baseline), so tests cover
// both.
void bn_set_wide(bool on);

// The activation batch norm may apply in its own pass (the DCGAN's ReLU and leaky ReLU): the
// values and gradients equal the separate unary and gradient kernels' (elementwise.cc).
enum BnAct { BN_LINEAR = 0, BN_RELU = 1, BN_LEAKY_RELU = 2 };

// y = act((v - mean) * gamma / sqrt(var + eps) + beta), v = x + bias (bias per channel, may be
// null), with the batch statistics of each channel; mean and var (biased, as tf.moments) are
// outputs of C floats.
void bn_forward(const float* x, const float* bias, const float* gamma, const float* beta, float* y, float* mean,
                float* var, int64_t M, int64_t C, double eps, int act, double alpha);

// dv through the activation and the batch statistics (dx: as x + bias has gradient 1),
// dgamma = sum(g * vhat), dbeta = sum(g) with g = dy * act'(z), and dbias = sum(dx) when dbias is
// not null, from the forward's mean and var; z is recomputed from x, bias and beta as the forward
// computed it.
void bn_backward(const float* dy, const float* x, const float* bias, const float* gamma, const float* beta,
                 const float* mean, const float* var, float* dx, float* dgamma, float* dbeta, float* dbias, int64_t M,
                 int64_t C, double eps, int act, double alpha);

// Constants of one Adam step, already rounded to float32 by the caller as the JS reference does.
struct AdamParams {
  double b1, b2, c1, c2;  // beta1, beta2, 1 - beta1, 1 - beta2
  double lr, eps;
  double scale_m, scale_v;  // tfjs form only: lr / (1 - beta1^t), 1 / (1 - beta2^t)
  bool tf1;               // TF1 form: lr already bias-corrected, m and v rounded before use
};

// m, v updated in place; w_out may be w.
void adam(const float* w, float* w_out, float* m, float* v, const float* g, int64_t n, const AdamParams& p);

struct RmsParams {
  double decay, c, momentum, lr, eps;  // c = 1 - decay
};

// ms, mom (and mg when centered, else null) updated in place; w_out may be w.
void rmsprop(const float* w, float* w_out, float* ms, float* mom, float* mg, const float* g, int64_t n,
             const RmsParams& p);

// The optimizer loops over [j0, j1) of one instruction-set build (training_opt.inc).
struct OptLoops {
  void (*adam_tf1)(const float* w, float* w_out, float* m, float* v, const float* g, int64_t j0, int64_t j1,
                   const AdamParams& p);
  void (*adam_tfjs)(const float* w, float* w_out, float* m, float* v, const float* g, int64_t j0, int64_t j1,
                    const AdamParams& p);
  void (*rms_plain)(const float* w, float* w_out, float* ms, float* mom, const float* g, int64_t j0, int64_t j1,
                    const RmsParams& p);
  void (*rms_centered)(const float* w, float* w_out, float* ms, float* mom, float* mg, const float* g, int64_t j0,
                       int64_t j1, const RmsParams& p);
};

}  // namespace ps_train
