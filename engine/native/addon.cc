// Node binding of the kernels: takes the Float32Arrays that the tfjs cpu backend keeps its tensors
// in (no copy) and picks the instruction set once, at load time.
#include <napi.h>
#include <omp.h>

#include <cstdlib>
#include <string>

#include "addon_parts.h"
#include "kernels.h"

namespace {

using ps_addon::floats;

const ps::KernelSet* K = nullptr;

const ps::KernelSet* choose_kernels_for_cpu() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return &ps_avx2::kernels;
#endif
  return &ps_portable::kernels;
}

const ps::KernelSet* choose_kernels() {
  const char* force = std::getenv("POSTER_STUDIO_SIMD");
  if (force && std::string(force) == "portable") return &ps_portable::kernels;
  return choose_kernels_for_cpu();
}

const float* optional_floats(const Napi::Value& v, const char* what, size_t need) {
  if (v.IsNull() || v.IsUndefined()) return nullptr;
  return floats(v, what, need);
}

ps::ConvGeom geom(const Napi::Value& v) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array ||
      v.As<Napi::Int32Array>().ElementLength() < 15) {
    throw Napi::TypeError::New(v.Env(), "geometry must be an Int32Array of 15 values");
  }
  const int32_t* d = v.As<Napi::Int32Array>().Data();
  ps::ConvGeom g{d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], d[8], d[9], d[10], d[11], d[12], d[13], d[14]};
  if (g.N < 0 || g.H <= 0 || g.W <= 0 || g.C <= 0 || g.KH <= 0 || g.KW <= 0 || g.CO <= 0 || g.OH <= 0 ||
      g.OW <= 0 || g.sh <= 0 || g.sw <= 0 || g.dh <= 0 || g.dw <= 0) {
    throw Napi::RangeError::New(v.Env(), "invalid convolution geometry");
  }
  return g;
}

size_t xsize(const ps::ConvGeom& g) { return (size_t)g.N * g.H * g.W * g.C; }
size_t ysize(const ps::ConvGeom& g) { return (size_t)g.N * g.OH * g.OW * g.CO; }
size_t wsize(const ps::ConvGeom& g) { return (size_t)g.KH * g.KW * g.C * g.CO; }

// conv2d(x, w, y, geom, bias|null, act, alpha)
Napi::Value Conv2d(const Napi::CallbackInfo& info) {
  ps::ConvGeom g = geom(info[3]);
  const float* x = floats(info[0], "x", xsize(g));
  const float* w = floats(info[1], "filter", wsize(g));
  float* y = floats(info[2], "output", ysize(g));
  const float* bias = optional_floats(info[4], "bias", g.CO);
  const int act = info[5].As<Napi::Number>().Int32Value();
  const float alpha = info[6].As<Napi::Number>().FloatValue();
  K->conv2d(x, w, y, g, bias, act, alpha);
  return info.Env().Undefined();
}

// conv2dBackpropInput(dy, w, dx, geom)
Napi::Value Conv2dBwdInput(const Napi::CallbackInfo& info) {
  ps::ConvGeom g = geom(info[3]);
  const float* dy = floats(info[0], "dy", ysize(g));
  const float* w = floats(info[1], "filter", wsize(g));
  float* dx = floats(info[2], "dx", xsize(g));
  K->conv2d_bwd_input(dy, w, dx, g);
  return info.Env().Undefined();
}

// conv2dBackpropFilter(x, dy, dw, geom)
Napi::Value Conv2dBwdFilter(const Napi::CallbackInfo& info) {
  ps::ConvGeom g = geom(info[3]);
  const float* x = floats(info[0], "x", xsize(g));
  const float* dy = floats(info[1], "dy", ysize(g));
  float* dw = floats(info[2], "dw", wsize(g));
  K->conv2d_bwd_filter(x, dy, dw, g);
  return info.Env().Undefined();
}

// matmul(a, b, c, batchA, batchB, M, N, K, transA, transB, bias|null, act, alpha)
Napi::Value Matmul(const Napi::CallbackInfo& info) {
  const int batchA = info[3].As<Napi::Number>().Int32Value();
  const int batchB = info[4].As<Napi::Number>().Int32Value();
  const int M = info[5].As<Napi::Number>().Int32Value();
  const int N = info[6].As<Napi::Number>().Int32Value();
  const int Kd = info[7].As<Napi::Number>().Int32Value();
  if (batchA <= 0 || batchB <= 0 || M < 0 || N < 0 || Kd < 0 || (batchA != batchB && batchA != 1 && batchB != 1)) {
    throw Napi::RangeError::New(info.Env(), "invalid matmul shape");
  }
  const int batch = batchA > batchB ? batchA : batchB;
  const float* a = floats(info[0], "a", (size_t)batchA * M * Kd);
  const float* b = floats(info[1], "b", (size_t)batchB * Kd * N);
  float* c = floats(info[2], "c", (size_t)batch * M * N);
  const bool ta = info[8].ToBoolean(), tb = info[9].ToBoolean();
  const float* bias = optional_floats(info[10], "bias", N);
  const int act = info[11].As<Napi::Number>().Int32Value();
  const float alpha = info[12].As<Napi::Number>().FloatValue();
  K->matmul(a, b, c, batch, batchA == 1 ? 0 : (int64_t)M * Kd, batchB == 1 ? 0 : (int64_t)Kd * N, M, N, Kd, ta, tb,
            bias, act, alpha);
  return info.Env().Undefined();
}

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  int n = info[0].As<Napi::Number>().Int32Value();
  if (n < 1) n = 1;
  omp_set_num_threads(n);
  return Napi::Number::New(info.Env(), omp_get_max_threads());
}

// setSimd('avx2' | 'portable'): switches instruction set (tests, benchmarks); refuses what the CPU lacks.
Napi::Value SetSimd(const Napi::CallbackInfo& info) {
  const std::string want = info[0].As<Napi::String>().Utf8Value();
  if (want == "portable") {
    K = &ps_portable::kernels;
  } else {
    const ps::KernelSet* best = choose_kernels_for_cpu();
    if (want != best->name) throw Napi::Error::New(info.Env(), "this CPU cannot run the '" + want + "' kernels");
    K = best;
  }
  return Napi::String::New(info.Env(), K->name);
}

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("simd", K->name);
  o.Set("threads", omp_get_max_threads());
  o.Set("cores", omp_get_num_procs());
  return o;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  K = choose_kernels();
  int threads = omp_get_num_procs();
  if (const char* t = std::getenv("POSTER_STUDIO_THREADS")) {
    const int v = std::atoi(t);
    if (v > 0) threads = v;
  }
  omp_set_num_threads(threads);
  exports.Set("conv2d", Napi::Function::New(env, Conv2d));
  exports.Set("conv2dBackpropInput", Napi::Function::New(env, Conv2dBwdInput));
  exports.Set("conv2dBackpropFilter", Napi::Function::New(env, Conv2dBwdFilter));
  exports.Set("matmul", Napi::Function::New(env, Matmul));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads));
  exports.Set("setSimd", Napi::Function::New(env, SetSimd));
  exports.Set("info", Napi::Function::New(env, Info));
  ps_addon::register_elementwise(env, exports);
  ps_addon::register_training(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(poster_studio_native, Init)
