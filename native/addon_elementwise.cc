#include "addon_parts.h"

namespace ps_addon {

void register_elementwise(Napi::Env, Napi::Object) {}

}  // namespace ps_addon
