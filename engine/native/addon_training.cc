// Bindings of training.cc: batch-norm training passes and in-place optimizer updates on
// the Float32Arrays the tfjs cpu backend keeps its tensors in (no copies).
#include <string>

#include "addon_parts.h"
#include "training.h"

namespace ps_addon {
namespace {

const double* doubles(const Napi::Value& v, const char* what, size_t need) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array ||
      v.As<Napi::Float64Array>().ElementLength() < need) {
    throw Napi::TypeError::New(v.Env(), std::string(what) + " must be a Float64Array of " + std::to_string(need));
  }
  return v.As<Napi::Float64Array>().Data();
}

size_t length(const Napi::Value& v, const char* what) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    throw Napi::TypeError::New(v.Env(), std::string(what) + " must be a Float32Array");
  }
  return v.As<Napi::Float32Array>().ElementLength();
}

int64_t count(const Napi::Value& v, const char* what) {
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d <= (double)kMaxElements) || d != (double)(int64_t)d) {
    throw Napi::RangeError::New(v.Env(), std::string(what) + " must be a count");
  }
  return (int64_t)d;
}

// The optional activation arguments: BnAct code (default linear) and alpha.
int bn_act_arg(const Napi::CallbackInfo& info, size_t i) {
  if (info.Length() <= i || info[i].IsUndefined()) return ps_train::BN_LINEAR;
  const int act = info[i].As<Napi::Number>().Int32Value();
  if (act != ps_train::BN_LINEAR && act != ps_train::BN_RELU && act != ps_train::BN_LEAKY_RELU)
    throw Napi::RangeError::New(info.Env(), "batch norm activation must be 0 (linear), 1 (relu) or 2 (leaky relu)");
  return act;
}

double bn_alpha_arg(const Napi::CallbackInfo& info, size_t i) {
  return info.Length() <= i || info[i].IsUndefined() ? 0.0 : info[i].As<Napi::Number>().DoubleValue();
}

const float* optional_floats(const Napi::Value& v, const char* what, int64_t need) {
  return v.IsNull() || v.IsUndefined() ? nullptr : floats(v, what, need);
}

// bnTrainForward(x, bias | null, gamma, beta, y, mean, variance, M, C, eps, act, alpha)
Napi::Value BnTrainForward(const Napi::CallbackInfo& info) {
  const int64_t M = count(info[7], "M"), C = count(info[8], "C");
  const double eps = info[9].As<Napi::Number>().DoubleValue();
  const int act = bn_act_arg(info, 10);
  const double alpha = bn_alpha_arg(info, 11);
  if (M <= 0 || C <= 0) throw Napi::RangeError::New(info.Env(), "batch norm needs M, C > 0");
  const int64_t MC = checked_product(info.Env(), {M, C}, "batch norm", kMaxElements);
  const float* bias = optional_floats(info[1], "bias", C);
  float *x = floats(info[0], "x", MC), *gamma = floats(info[2], "gamma", C), *beta = floats(info[3], "beta", C);
  float *y = floats(info[4], "y", MC), *mean = floats(info[5], "mean", C), *var = floats(info[6], "variance", C);
  run_kernel(info.Env(), [&] { ps_train::bn_forward(x, bias, gamma, beta, y, mean, var, M, C, eps, act, alpha); });
  return info.Env().Undefined();
}

// bnTrainBackward(dy, x, bias | null, gamma, beta, mean, variance, dx, dgamma, dbeta, dbias | null, M, C, eps,
//                 act, alpha)
Napi::Value BnTrainBackward(const Napi::CallbackInfo& info) {
  const int64_t M = count(info[11], "M"), C = count(info[12], "C");
  const double eps = info[13].As<Napi::Number>().DoubleValue();
  const int act = bn_act_arg(info, 14);
  const double alpha = bn_alpha_arg(info, 15);
  if (M <= 0 || C <= 0) throw Napi::RangeError::New(info.Env(), "batch norm needs M, C > 0");
  const int64_t MC = checked_product(info.Env(), {M, C}, "batch norm", kMaxElements);
  float *dy = floats(info[0], "dy", MC), *x = floats(info[1], "x", MC);
  const float* bias = optional_floats(info[2], "bias", C);
  float *gamma = floats(info[3], "gamma", C), *beta = floats(info[4], "beta", C);
  float *mean = floats(info[5], "mean", C), *var = floats(info[6], "variance", C), *dx = floats(info[7], "dx", MC);
  float *dgamma = floats(info[8], "dgamma", C), *dbeta = floats(info[9], "dbeta", C);
  float* dbias = info[10].IsNull() || info[10].IsUndefined() ? nullptr : floats(info[10], "dbias", C);
  run_kernel(info.Env(), [&] {
    ps_train::bn_backward(dy, x, bias, gamma, beta, mean, var, dx, dgamma, dbeta, dbias, M, C, eps, act, alpha);
  });
  return info.Env().Undefined();
}

// adamUpdate(w, wOut, m, v, g, [b1, b2, c1, c2, lr, eps, lr / (1 - b1^t), 1 / (1 - b2^t)], tf1)
Napi::Value AdamUpdate(const Napi::CallbackInfo& info) {
  const size_t n = length(info[0], "w");
  const double* p = doubles(info[5], "params", 8);
  ps_train::AdamParams a{p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], info[6].ToBoolean()};
  ps_train::adam(floats(info[0], "w", n), floats(info[1], "wOut", n), floats(info[2], "m", n), floats(info[3], "v", n),
                 floats(info[4], "g", n), (int64_t)n, a);
  return info.Env().Undefined();
}

// rmspropUpdate(w, wOut, ms, mom, mg | null, g, [decay, 1 - decay, momentum, lr, eps])
Napi::Value RmspropUpdate(const Napi::CallbackInfo& info) {
  const size_t n = length(info[0], "w");
  const double* p = doubles(info[6], "params", 5);
  float* mg = info[4].IsNull() || info[4].IsUndefined() ? nullptr : floats(info[4], "mg", n);
  ps_train::rmsprop(floats(info[0], "w", n), floats(info[1], "wOut", n), floats(info[2], "ms", n),
                    floats(info[3], "mom", n), mg, floats(info[5], "g", n), (int64_t)n,
                    ps_train::RmsParams{p[0], p[1], p[2], p[3], p[4]});
  return info.Env().Undefined();
}

}  // namespace

void register_training(Napi::Env env, Napi::Object exports) {
  exports.Set("bnTrainForward", Napi::Function::New(env, BnTrainForward));
  exports.Set("bnTrainBackward", Napi::Function::New(env, BnTrainBackward));
  exports.Set("adamUpdate", Napi::Function::New(env, AdamUpdate));
  exports.Set("rmspropUpdate", Napi::Function::New(env, RmspropUpdate));
}

}  // namespace ps_addon
