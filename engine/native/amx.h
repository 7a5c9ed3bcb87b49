// AMX bf16 tiles (Intel Sapphire Rapids and later): the only code built with -mamx-tile -mamx-bf16
// (amx.cc). The addon checks the CPU, the OS and the Linux permission first (addon_amx.cc) and
// calls nothing here without them.
#pragma once

namespace ps_amx {

// Whether this build holds the AMX code (false when the compiler lacked -mamx-tile/-mamx-bf16).
bool compiled();

// GFLOP/s of TDPBF16PS (16x32 bf16 by 32x16 bf16 into 16x16 fp32 tiles) on every core at once,
// per CPU-second of each thread, as the other peaks.
double peak(double seconds);

}  // namespace ps_amx
