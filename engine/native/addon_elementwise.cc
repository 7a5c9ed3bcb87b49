// N-API bindings of the element-wise, reduction and pooling kernels (elementwise.h). Every
// binding checks array types and lengths against the sizes it is told, so a wrong call from JS
// throws instead of reading or writing past an array.
#include <string>

#include "addon_parts.h"
#include "elementwise.h"

namespace ps_addon {
namespace {

int64_t i64(const Napi::Value& v, const char* what) {
  if (!v.IsNumber()) throw Napi::TypeError::New(v.Env(), std::string(what) + " must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0)) throw Napi::RangeError::New(v.Env(), std::string(what) + " must not be negative");
  if (d > (double)kMaxElements || d != (double)(int64_t)d) {
    throw Napi::RangeError::New(v.Env(), std::string(what) + " must be an integer size");
  }
  return (int64_t)d;
}

int64_t prod(const Napi::CallbackInfo& info, std::initializer_list<int64_t> f, const char* what) {
  return checked_product(info.Env(), f, what, kMaxElements);
}

int64_t length(const Napi::Value& v) {
  return v.IsTypedArray() ? (int64_t)v.As<Napi::TypedArray>().ElementLength() : 0;
}

// unary(op, x, y, p0): y[i] = op(x[i]) over y's length.
Napi::Value Unary(const Napi::CallbackInfo& info) {
  const int op = (int)i64(info[0], "op");
  if (op > ps_ew::U_RELU6) throw Napi::RangeError::New(info.Env(), "unknown unary op");
  const int64_t n = length(info[2]);
  const float* x = floats(info[1], "x", n);
  float* y = floats(info[2], "y", n);
  const double p0 = info[3].As<Napi::Number>().DoubleValue();
  run_kernel(info.Env(), [&] { ps_ew::unary(op, x, y, n, p0); });
  return info.Env().Undefined();
}

// binary(op, a, b, out, M, C, sa0, sa1, sb0, sb1)
Napi::Value Binary(const Napi::CallbackInfo& info) {
  const int op = (int)i64(info[0], "op");
  if (op > ps_ew::B_SQDIFF) throw Napi::RangeError::New(info.Env(), "unknown binary op");
  const int64_t M = i64(info[4], "M"), C = i64(info[5], "C");
  const int64_t sa0 = i64(info[6], "sa0"), sa1 = i64(info[7], "sa1");
  const int64_t sb0 = i64(info[8], "sb0"), sb1 = i64(info[9], "sb1");
  if (sa1 > 1 || sb1 > 1) throw Napi::RangeError::New(info.Env(), "inner strides must be 0 or 1");
  if (M == 0 || C == 0) return info.Env().Undefined();
  const float* a = floats(info[1], "a", prod(info, {M - 1, sa0}, "a") + (C - 1) * sa1 + 1);
  const float* b = floats(info[2], "b", prod(info, {M - 1, sb0}, "b") + (C - 1) * sb1 + 1);
  float* out = floats(info[3], "out", prod(info, {M, C}, "out"));
  run_kernel(info.Env(), [&] { ps_ew::binary(op, a, b, out, M, C, sa0, sa1, sb0, sb1); });
  return info.Env().Undefined();
}

// actGrad(op, dy, x, out, alpha) over out's length.
Napi::Value ActGrad(const Napi::CallbackInfo& info) {
  const int op = (int)i64(info[0], "op");
  if (op > ps_ew::G_LEAKY_RELU) throw Napi::RangeError::New(info.Env(), "unknown gradient op");
  const int64_t n = length(info[3]);
  const float* dy = floats(info[1], "dy", n);
  const float* x = floats(info[2], "x", n);
  float* out = floats(info[3], "out", n);
  const float alpha = info[4].As<Napi::Number>().FloatValue();
  run_kernel(info.Env(), [&] { ps_ew::act_grad(op, dy, x, out, n, alpha); });
  return info.Env().Undefined();
}

// reluGradBias(dy, y, out, bias, M, C[, alpha]): alpha > 0 for a leaky ReLU.
Napi::Value ReluGradBias(const Napi::CallbackInfo& info) {
  const int64_t M = i64(info[4], "M"), C = i64(info[5], "C");
  const int64_t n = prod(info, {M, C}, "y");
  const float* dy = floats(info[0], "dy", n);
  const float* y = floats(info[1], "y", n);
  float* out = floats(info[2], "out", n);
  float* bias = floats(info[3], "bias", C);
  const float alpha = info.Length() > 6 && info[6].IsNumber() ? info[6].As<Napi::Number>().FloatValue() : 0.f;
  if (!(alpha >= 0.f)) throw Napi::RangeError::New(info.Env(), "reluGradBias: alpha must be >= 0");
  run_kernel(info.Env(), [&] { ps_ew::relu_grad_bias(dy, y, out, bias, M, C, alpha); });
  return info.Env().Undefined();
}

// dropoutMask(out, threshold, scale, seed) over out's length.
Napi::Value DropoutMask(const Napi::CallbackInfo& info) {
  const int64_t n = length(info[0]);
  float* out = floats(info[0], "out", n);
  const int64_t threshold = i64(info[1], "threshold");
  if (threshold > (int64_t{1} << 32)) throw Napi::RangeError::New(info.Env(), "threshold above 2^32");
  const float scale = info[2].As<Napi::Number>().FloatValue();
  const int32_t seed = info[3].As<Napi::Number>().Int32Value();
  run_kernel(info.Env(), [&] { ps_ew::dropout_mask(out, n, (uint64_t)threshold, scale, seed); });
  return info.Env().Undefined();
}

// sum(x, out, outer, reduce, inner, divisor)
Napi::Value Sum(const Napi::CallbackInfo& info) {
  const int64_t outer = i64(info[2], "outer"), reduce = i64(info[3], "reduce"), inner = i64(info[4], "inner");
  const double divisor = info[5].As<Napi::Number>().DoubleValue();
  const float* x = floats(info[0], "x", prod(info, {outer, reduce, inner}, "x"));
  float* out = floats(info[1], "out", prod(info, {outer, inner}, "out"));
  if (reduce == 0) throw Napi::RangeError::New(info.Env(), "nothing to reduce");
  run_kernel(info.Env(), [&] { ps_ew::sum(x, out, outer, reduce, inner, divisor); });
  return info.Env().Undefined();
}

struct Pool {
  int N, H, W, C, OH, OW;
};

// [N, H, W, C, OH, OW] as numbers; only the 2x2 stride-2 unpadded windows are accepted.
Pool pool_geometry(const Napi::CallbackInfo& info, size_t first) {
  Pool p{};
  int* f[] = {&p.N, &p.H, &p.W, &p.C, &p.OH, &p.OW};
  for (size_t i = 0; i < 6; i++) {
    const int64_t v = i64(info[first + i], "pool size");
    if (v > (1 << 30)) throw Napi::RangeError::New(info.Env(), "pool size too large");
    *f[i] = (int)v;
  }
  if (2 * p.OH > p.H || 2 * p.OW > p.W) throw Napi::RangeError::New(info.Env(), "2x2 windows outside the input");
  return p;
}

// maxPool2x2(x, y, N, H, W, C, OH, OW)
Napi::Value MaxPool2x2(const Napi::CallbackInfo& info) {
  const Pool p = pool_geometry(info, 2);
  const float* x = floats(info[0], "x", prod(info, {p.N, p.H, p.W, p.C}, "x"));
  float* y = floats(info[1], "y", prod(info, {p.N, p.OH, p.OW, p.C}, "y"));
  run_kernel(info.Env(), [&] { ps_ew::max_pool_2x2(x, y, p.N, p.H, p.W, p.C, p.OH, p.OW); });
  return info.Env().Undefined();
}

// maxPool2x2Grad(x, dy, dx, N, H, W, C, OH, OW)
Napi::Value MaxPool2x2Grad(const Napi::CallbackInfo& info) {
  const Pool p = pool_geometry(info, 3);
  const int64_t nx = prod(info, {p.N, p.H, p.W, p.C}, "x");
  const float* x = floats(info[0], "x", nx);
  const float* dy = floats(info[1], "dy", prod(info, {p.N, p.OH, p.OW, p.C}, "dy"));
  float* dx = floats(info[2], "dx", nx);
  run_kernel(info.Env(), [&] { ps_ew::max_pool_2x2_grad(x, dy, dx, p.N, p.H, p.W, p.C, p.OH, p.OW); });
  return info.Env().Undefined();
}

}  // namespace

void register_elementwise(Napi::Env env, Napi::Object exports) {
  exports.Set("ewUnary", Napi::Function::New(env, Unary));
  exports.Set("ewBinary", Napi::Function::New(env, Binary));
  exports.Set("ewActGrad", Napi::Function::New(env, ActGrad));
  exports.Set("ewReluGradBias", Napi::Function::New(env, ReluGradBias));
  exports.Set("ewDropoutMask", Napi::Function::New(env, DropoutMask));
  exports.Set("ewSum", Napi::Function::New(env, Sum));
  exports.Set("ewMaxPool2x2", Napi::Function::New(env, MaxPool2x2));
  exports.Set("ewMaxPool2x2Grad", Napi::Function::New(env, MaxPool2x2Grad));
}

}  // namespace ps_addon
