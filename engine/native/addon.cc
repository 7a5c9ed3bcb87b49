// Node binding of the kernels: takes the Float32Arrays that the tfjs cpu backend keeps its tensors
// in (no copy) and picks the instruction set once, at load time.
#include <napi.h>
#include <omp.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include <climits>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "addon_parts.h"
#include "amx.h"
#include "kernels.h"
#include "stride2.h"
#include "training.h"

#if defined(__x86_64__) || defined(__i386__)
// AVX-512 needs the CPU (cpuid: F, BW, VL, DQ, AVX2 and FMA) and the OS, which must save the opmask and
// the full ZMM registers on a context switch (XGETBV bits 5-7, with SSE and AVX state, bits 1-2).
static bool cpu_has_avx512() {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return false;
  const bool osxsave = c & (1u << 27), fma = c & (1u << 12);
  if (!osxsave || !fma) return false;
  unsigned lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  if ((lo & 0xE6) != 0xE6) return false;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
  // AVX2 too: the AVX-512 build is also compiled with -mavx2 (every AVX-512 CPU has it).
  const unsigned need = (1u << 5) | (1u << 16) | (1u << 17) | (1u << 30) | (1u << 31);  // AVX2, F, DQ, BW, VL
  return (b & need) == need;
}

// AVX512_BF16 (vdpbf16ps): cpuid leaf 7, subleaf 1, EAX bit 5; only with AVX-512 usable.
bool ps_addon::cpu_has_avx512_bf16() {
  unsigned a, b, c, d;
  return cpu_has_avx512() && __get_cpuid_count(7, 1, &a, &b, &c, &d) && (a & (1u << 5));
}
#else
bool ps_addon::cpu_has_avx512_bf16() { return false; }
#endif

namespace {

using ps_addon::amx_usable;
using ps_addon::checked_product;
using ps_addon::cpu_has_avx512_bf16;
using ps_addon::floats;
using ps_addon::run_kernel;

const ps::KernelSet* K = nullptr;

// setPrecision('bf16'): convolutions and matrix products on AMX bf16 tiles (fp32 sums), except the
// convolutions whose image has 1-4 channels (the RGB layers: few taps fill few tiles; they keep
// their fp32 row-buffer kernels) and dilated ones (the AMX input gradient's phase split assumes
// dilation 1). Everything else stays fp32.
bool bf16_products = false;
bool on_amx(const ps::ConvGeom& g) { return bf16_products && g.C > 4 && g.dh == 1 && g.dw == 1; }

// The kernel sets this CPU can run, fastest first; portable runs everywhere.
std::vector<const ps::KernelSet*> supported_sets() {
  std::vector<const ps::KernelSet*> sets;
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (cpu_has_avx512()) sets.push_back(&ps_avx512::kernels);
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) sets.push_back(&ps_avx2::kernels);
#endif
  sets.push_back(&ps_portable::kernels);
  return sets;
}

std::string supported_names() {
  std::string s;
  for (const ps::KernelSet* k : supported_sets()) s += (s.empty() ? "" : ", ") + std::string(k->name);
  return s;
}

// The set named `want`, or null when this CPU cannot run it.
const ps::KernelSet* find_set(const std::string& want) {
  for (const ps::KernelSet* k : supported_sets())
    if (want == k->name) return k;
  return nullptr;
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
  if (g.pt < 0 || g.pl < 0) throw Napi::RangeError::New(v.Env(), "invalid convolution geometry: negative padding");
  // Every size and pixel coordinate the kernels compute in int must fit in one.
  const Napi::Env env = v.Env();
  checked_product(env, {g.N, g.H, g.W, g.C}, "convolution input");
  checked_product(env, {g.N, g.OH, g.OW, g.CO}, "convolution output");
  checked_product(env, {g.KH, g.KW, g.C, g.CO}, "convolution filter");
  checked_product(env, {(int64_t)g.OH + 1, g.sh}, "convolution rows");
  checked_product(env, {(int64_t)g.OW + 1, g.sw}, "convolution columns");
  checked_product(env, {(int64_t)g.KH + 1, g.dh}, "convolution filter rows");
  checked_product(env, {(int64_t)g.KW + 1, g.dw}, "convolution filter columns");
  if ((int64_t)g.pt + g.H > INT32_MAX / 2 || (int64_t)g.pl + g.W > INT32_MAX / 2) {
    throw Napi::RangeError::New(env, "invalid convolution geometry: padding too large");
  }
  return g;
}

// Stride-2 convolutions run in block form (stride2.h) where that measured faster: in fp32 where
// Winograd then runs on the block map (its 3x3 stride-1 filter), i.e. outputs of 8x8 and more (4x4
// is one tile per image, and its 1024 x 512 transformed filter alone is 75 MB). Measured on the
// DCGAN's 5x5 layers, batch 60, 2 threads, ms direct -> blocks: 32x32x64 -> 128 forward 17.0 ->
// 11.4, input gradient 18.5 -> 11.9, filter gradient 24.6 -> 13.3; 16x16x128 -> 256 forward 17.8
// -> 12.5, input gradient 16.9 -> 14.8, filter gradient (CPU ms, loaded) 40 -> 26.5; 8x8x256 ->
// 512 17-20 -> 38-68 (left direct). POSTER_STUDIO_S2D=0 turns it off, =all forces it wherever it
// fits (benchmarks); read per call so that one process can A/B both.
bool blocked(const ps::ConvGeom& g, int act, bool amx, ps_s2::Blocks* b) {
  const char* e = std::getenv("POSTER_STUDIO_S2D");
  if (e && std::strcmp(e, "0") == 0) return false;
  if (g.C < 8 || g.CO < 8 || !ps_s2::blocks_of(g, b)) return false;
  if (e && std::strcmp(e, "all") == 0) return true;
  if (amx) return false;
  const int64_t pairs = (int64_t)4 * g.C * g.CO;
  const bool winograd = ps::winograd_act(act);
  // 4x4 taps (the small-data recipe's): 16 per output against the block filter's 36 at a quarter
  // of the multiplies; the direct form stays ahead (32x32x64 -> 128: 10.6 vs 11.5 ms).
  if (g.KH * g.KW <= 16 || g.OH < 8 || g.OW < 8 || !winograd) return false;
  return pairs <= ps::kWinogradFilterPairs;
}

ps_s2::ConvOps conv_ops(bool amx) {
  return amx ? ps_s2::ConvOps{ps_amx::conv2d, ps_amx::conv2d_bwd_filter, false}
             : ps_s2::ConvOps{K->conv2d, K->conv2d_bwd_filter, true};
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
  run_kernel(info.Env(), [&] {
    ps_s2::Blocks b;
    if (blocked(g, act, on_amx(g), &b)) ps_s2::conv2d(conv_ops(on_amx(g)), b, x, w, y, bias, act, alpha);
    else if (on_amx(g)) ps_amx::conv2d(x, w, y, g, bias, act, alpha);
    else K->conv2d(x, w, y, g, bias, act, alpha);
  });
  return info.Env().Undefined();
}

// conv2dBackpropInput(dy, w, dx, geom)
Napi::Value Conv2dBwdInput(const Napi::CallbackInfo& info) {
  ps::ConvGeom g = geom(info[3]);
  const float* dy = floats(info[0], "dy", ysize(g));
  const float* w = floats(info[1], "filter", wsize(g));
  float* dx = floats(info[2], "dx", xsize(g));
  run_kernel(info.Env(), [&] {
    ps_s2::Blocks b;
    if (blocked(g, ps::ACT_LINEAR, on_amx(g), &b)) ps_s2::conv2d_bwd_input(conv_ops(on_amx(g)), b, dy, w, dx);
    else if (on_amx(g)) ps_amx::conv2d_bwd_input(dy, w, dx, g);
    else K->conv2d_bwd_input(dy, w, dx, g);
  });
  return info.Env().Undefined();
}

// conv2dBackpropFilter(x, dy, dw, geom)
Napi::Value Conv2dBwdFilter(const Napi::CallbackInfo& info) {
  ps::ConvGeom g = geom(info[3]);
  const float* x = floats(info[0], "x", xsize(g));
  const float* dy = floats(info[1], "dy", ysize(g));
  float* dw = floats(info[2], "dw", wsize(g));
  run_kernel(info.Env(), [&] {
    ps_s2::Blocks b;
    if (blocked(g, ps::ACT_LINEAR, on_amx(g), &b)) ps_s2::conv2d_bwd_filter(conv_ops(on_amx(g)), b, x, dy, dw);
    else if (on_amx(g)) ps_amx::conv2d_bwd_filter(x, dy, dw, g);
    else K->conv2d_bwd_filter(x, dy, dw, g);
  });
  return info.Env().Undefined();
}

// A size argument: an integer in [0, 2^31) (Int32Value would wrap larger numbers into range).
int dim(const Napi::Value& v) {
  const double d = v.ToNumber().DoubleValue();
  if (!(d >= 0 && d <= INT32_MAX) || d != (double)(int64_t)d) throw Napi::RangeError::New(v.Env(), "invalid matmul shape");
  return (int)d;
}

// matmul(a, b, c, batchA, batchB, M, N, K, transA, transB, bias|null, act, alpha)
Napi::Value Matmul(const Napi::CallbackInfo& info) {
  const int batchA = dim(info[3]), batchB = dim(info[4]), M = dim(info[5]), N = dim(info[6]), Kd = dim(info[7]);
  if (batchA <= 0 || batchB <= 0 || M < 0 || N < 0 || Kd < 0 || (batchA != batchB && batchA != 1 && batchB != 1)) {
    throw Napi::RangeError::New(info.Env(), "invalid matmul shape");
  }
  const int batch = batchA > batchB ? batchA : batchB;
  const Napi::Env env = info.Env();
  checked_product(env, {M, Kd}, "matmul a");
  checked_product(env, {Kd, N}, "matmul b");
  checked_product(env, {M, N}, "matmul c");
  const float* a = floats(info[0], "a", checked_product(env, {batchA, M, Kd}, "matmul a", ps_addon::kMaxElements));
  const float* b = floats(info[1], "b", checked_product(env, {batchB, Kd, N}, "matmul b", ps_addon::kMaxElements));
  float* c = floats(info[2], "c", checked_product(env, {batch, M, N}, "matmul c", ps_addon::kMaxElements));
  const bool ta = info[8].ToBoolean(), tb = info[9].ToBoolean();
  const float* bias = optional_floats(info[10], "bias", N);
  const int act = info[11].As<Napi::Number>().Int32Value();
  const float alpha = info[12].As<Napi::Number>().FloatValue();
  run_kernel(env, [&] {
    const auto mm = bf16_products ? ps_amx::matmul : K->matmul;
    mm(a, b, c, batch, batchA == 1 ? 0 : (int64_t)M * Kd, batchB == 1 ? 0 : (int64_t)Kd * N, M, N, Kd, ta, tb, bias, act,
       alpha);
  });
  return info.Env().Undefined();
}

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  int n = info[0].As<Napi::Number>().Int32Value();
  if (n < 1) n = 1;
  omp_set_num_threads(n);
  return Napi::Number::New(info.Env(), omp_get_max_threads());
}

// setSimd('avx512' | 'avx2' | 'portable'): switches instruction set (tests, benchmarks); refuses what the CPU lacks.
Napi::Value SetSimd(const Napi::CallbackInfo& info) {
  const std::string want = info[0].As<Napi::String>().Utf8Value();
  const ps::KernelSet* k = find_set(want);
  if (!k) throw Napi::Error::New(info.Env(), "this CPU cannot run the '" + want + "' kernels (it runs: " + supported_names() + ")");
  K = k;
  ps_train::bn_set_wide(K != &ps_portable::kernels);
  return Napi::String::New(info.Env(), K->name);
}

// setPrecision('fp32' | 'bf16'): what the convolutions and matrix products compute in (see
// bf16_products); refuses bf16 without AMX.
Napi::Value SetPrecision(const Napi::CallbackInfo& info) {
  const std::string want = info[0].As<Napi::String>().Utf8Value();
  if (want != "fp32" && want != "bf16") throw Napi::Error::New(info.Env(), "precision must be fp32 or bf16, not '" + want + "'");
  if (want == "bf16" && !amx_usable()) throw Napi::Error::New(info.Env(), "bf16 needs AMX-BF16: this CPU (or OS) has no usable AMX-BF16");
  bf16_products = want == "bf16";
  return Napi::String::New(info.Env(), want);
}

// peak(set, seconds): GFLOP/s of the set's multiply-adds on every core at once; set is a kernel
// set's name, 'avx512_bf16' or 'amx_bf16'. Throws for a set this CPU lacks.
Napi::Value Peak(const Napi::CallbackInfo& info) {
  const std::string set = info[0].As<Napi::String>().Utf8Value();
  const double seconds = info[1].As<Napi::Number>().DoubleValue();
  if (!(seconds > 0 && seconds <= 60)) throw Napi::RangeError::New(info.Env(), "seconds must be in (0, 60]");
#if defined(__x86_64__) || defined(__i386__)
  if (set == "avx512_bf16") {
    if (!cpu_has_avx512_bf16()) throw Napi::Error::New(info.Env(), "this CPU has no AVX512_BF16");
    return Napi::Number::New(info.Env(), ps_avx512::bf16_peak(seconds));
  }
#endif
  if (set == "amx_bf16") {
    if (!amx_usable()) throw Napi::Error::New(info.Env(), "this CPU (or OS) has no usable AMX-BF16");
    return Napi::Number::New(info.Env(), ps_amx::peak(seconds));
  }
  const ps::KernelSet* k = find_set(set);
  if (!k) throw Napi::Error::New(info.Env(), "this CPU cannot run the '" + set + "' kernels (it runs: " + supported_names() + ")");
  return Napi::Number::New(info.Env(), k->fma_peak(seconds));
}

// addressMod64(view): where the view's first byte falls within a 64-byte line, so that the buffer
// pool can start its arrays on a line (vector stores that split lines cost; streaming stores need it).
Napi::Value AddressMod64(const Napi::CallbackInfo& info) {
  if (!info[0].IsTypedArray()) throw Napi::TypeError::New(info.Env(), "addressMod64 takes a typed array");
  const Napi::TypedArray t = info[0].As<Napi::TypedArray>();
  const auto* p = static_cast<const uint8_t*>(t.ArrayBuffer().Data()) + t.ByteOffset();
  return Napi::Number::New(info.Env(), (double)(reinterpret_cast<uintptr_t>(p) % 64));
}

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("simd", K->name);
  o.Set("threads", omp_get_max_threads());
  o.Set("cores", omp_get_num_procs());
  o.Set("threadLimit", omp_get_thread_limit());  // OMP_THREAD_LIMIT: parallel regions get at most this many
  Napi::Array supported = Napi::Array::New(info.Env());
  for (const ps::KernelSet* k : supported_sets()) supported.Set(supported.Length(), k->name);
  o.Set("supported", supported);
  o.Set("bf16", cpu_has_avx512_bf16());
  o.Set("amx", amx_usable());
  o.Set("precision", bf16_products ? "bf16" : "fp32");
  return o;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  K = supported_sets().front();
  if (const char* force = std::getenv("POSTER_STUDIO_SIMD"); force && *force) {
    const std::string want(force);
    if (want != "avx512" && want != "avx2" && want != "portable") {
      throw Napi::Error::New(env, "POSTER_STUDIO_SIMD=" + want + " is not a SIMD path (accepted: avx512, avx2, portable)");
    }
    K = find_set(want);
    if (!K) throw Napi::Error::New(env, "POSTER_STUDIO_SIMD=" + want + ": this CPU cannot run the " + want + " kernels (it runs: " + supported_names() + ")");
  }
  ps_train::bn_set_wide(K != &ps_portable::kernels);
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
  exports.Set("addressMod64", Napi::Function::New(env, AddressMod64));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads));
  exports.Set("setSimd", Napi::Function::New(env, SetSimd));
  exports.Set("info", Napi::Function::New(env, Info));
  exports.Set("peak", Napi::Function::New(env, Peak));
  exports.Set("setPrecision", Napi::Function::New(env, SetPrecision));
  ps_addon::register_elementwise(env, exports);
  ps_addon::register_training(env, exports);
  ps_addon::register_amx(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(poster_studio_native, Init)
