// The addon's bindings are split by concern; each part adds its functions to the exports.
#pragma once
#include <napi.h>


#include <climits>
#include <cstdint>
#include <initializer_list>
#include <new>
#include <stdexcept>
#include <string>

namespace ps_addon {

// The Float32Array argument `what`, holding at least `need` floats; anything else throws a JS
// TypeError/RangeError, so a wrong call from JS never reads or writes past an array.
inline float* floats(const Napi::Value& v, const char* what, int64_t need) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    throw Napi::TypeError::New(v.Env(), std::string(what) + " must be a Float32Array");
  }
  auto a = v.As<Napi::Float32Array>();
  if (need < 0 || (int64_t)a.ElementLength() < need) {
    throw Napi::RangeError::New(v.Env(), std::string(what) + " is too short for the shape given");
  }
  return a.Data();
}

// The product of sizes given from JS (each >= 0), or a RangeError naming `what` when it exceeds
// `limit`: the conv/matmul kernels index with int, the others with int64; overflow is caught
// before it can wrap into a small size that the array-length checks would accept.
inline int64_t checked_product(Napi::Env env, std::initializer_list<int64_t> factors, const char* what,
                               int64_t limit = INT32_MAX) {
  int64_t p = 1;
  for (int64_t f : factors) {
    if (f < 0) throw Napi::RangeError::New(env, std::string(what) + ": negative size");
    if (__builtin_mul_overflow(p, f, &p) || p > limit) {
      throw Napi::RangeError::New(env, std::string(what) + ": sizes too large (more than " + std::to_string(limit) + " elements)");
    }
  }
  return p;
}

// Most elements of one array the element-wise and training kernels take (2^40: far above any
// Float32Array V8 allocates, far below where int64 index arithmetic could overflow).
constexpr int64_t kMaxElements = (int64_t)1 << 40;

// Runs a kernel; scratch memory it could not allocate becomes a JS error (not a crash).
template <class F>
void run_kernel(Napi::Env env, F&& f) {
  try {
    f();
  } catch (const std::bad_alloc&) {
    throw Napi::Error::New(env, "native engine: out of memory for its scratch buffers");
  } catch (const std::logic_error& e) {  // an engine bug: a JS error, not a crash
    throw Napi::Error::New(env, std::string("native engine: ") + e.what());
  }
}

// Element-wise, reduction and pooling kernels (addon_elementwise.cc).
void register_elementwise(Napi::Env env, Napi::Object exports);
// Batch-norm training and optimizer updates (addon_training.cc).
void register_training(Napi::Env env, Napi::Object exports);
// AVX-512 with BF16 dot products usable (cpuid, XGETBV; addon.cc).
bool cpu_has_avx512_bf16();
// AMX bf16 tiles usable in this process: CPU, OS and permission, checked once (addon_amx.cc).
bool amx_usable();
// The AMX bf16 matrix product (addon_amx.cc).
void register_amx(Napi::Env env, Napi::Object exports);

}  // namespace ps_addon
