#include "addon_parts.h"

namespace ps_addon {

void register_training(Napi::Env, Napi::Object) {}

}  // namespace ps_addon
