// The addon's bindings are split by concern; each part adds its functions to the exports.
#pragma once
#include <napi.h>

#include <cstdint>
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

// Element-wise, reduction and pooling kernels (addon_elementwise.cc).
void register_elementwise(Napi::Env env, Napi::Object exports);
// Batch-norm training and optimizer updates (addon_training.cc).
void register_training(Napi::Env env, Napi::Object exports);
}  // namespace ps_addon
