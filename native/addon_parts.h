// The addon's bindings are split by concern; each part adds its functions to the exports.
#pragma once
#include <napi.h>

namespace ps_addon {
// Element-wise, reduction and pooling kernels (addon_elementwise.cc).
void register_elementwise(Napi::Env env, Napi::Object exports);
// Batch-norm training and optimizer updates (addon_training.cc).
void register_training(Napi::Env env, Napi::Object exports);
}  // namespace ps_addon
