// AMX bf16 (amx.cc): whether this process may use it, and its bindings. Everything AMX needs is
// checked once, and any failure means "no AMX", never a crash: the CPU (cpuid), the OS's saving
// of the tile state (XCR0) and, on Linux, the kernel's permission for the 8 KB of tile data.
#if defined(__x86_64__) && defined(__linux__)
#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include <cstdlib>
#include <cstring>

#include "addon_parts.h"
#include "amx.h"

namespace ps_addon {

bool amx_usable() {
  static const bool ok = [] {
    // POSTER_STUDIO_AMX=0: behave as on a CPU without AMX (tests of that path, A/B benchmarks).
    if (const char* e = std::getenv("POSTER_STUDIO_AMX"); e && std::strcmp(e, "0") == 0) return false;
#if defined(__x86_64__) && defined(__linux__)
    // The packing converts with AVX-512 BF16 (every AMX CPU has it): so AVX-512 usable, plus BF16.
    if (!ps_amx::compiled() || !cpu_has_avx512_bf16()) return false;
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
    const unsigned amx = (1u << 22) | (1u << 24);  // EDX: AMX-BF16, AMX-TILE
    if ((d & amx) != amx) return false;
    unsigned lo, hi;  // OSXSAVE was checked with AVX-512
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & (3u << 17)) != (3u << 17)) return false;  // XTILECFG, XTILEDATA
    // Linux 5.16+ gives a process the tile data only once it asks (ARCH_REQ_XCOMP_PERM); older
    // kernels and sandboxes refuse, which is "no AMX" (the first tile instruction would fault).
    constexpr int kReqPerm = 0x1023, kGetPerm = 0x1022, kXtiledata = 18;
    if (syscall(SYS_arch_prctl, kReqPerm, kXtiledata) != 0) return false;
    unsigned long perm = 0;
    if (syscall(SYS_arch_prctl, kGetPerm, &perm) != 0 || !(perm & (1ul << kXtiledata))) return false;
    return true;
#else
    return false;
#endif
  }();
  return ok;
}

namespace {

int dim(const Napi::Value& v, const char* what) {
  const double d = v.ToNumber().DoubleValue();
  if (!(d >= 0 && d <= INT32_MAX) || d != (double)(int64_t)d)
    throw Napi::RangeError::New(v.Env(), std::string("amxMatmul: invalid ") + what);
  return (int)d;
}

// amxMatmul(a, b, c, M, N, K, transA, transB, accumulate): c[M x N] (+)= op(a) op(b) with bf16
// inputs (rounded to nearest even) and fp32 sums; a is M x K (K x M transposed), b K x N (N x K).
Napi::Value AmxMatmul(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  if (!amx_usable()) throw Napi::Error::New(env, "this CPU (or OS) has no usable AMX-BF16");
  const int M = dim(info[3], "M"), N = dim(info[4], "N"), K = dim(info[5], "K");
  const float* a = floats(info[0], "a", checked_product(env, {M, K}, "amxMatmul a"));
  const float* b = floats(info[1], "b", checked_product(env, {K, N}, "amxMatmul b"));
  float* c = floats(info[2], "c", checked_product(env, {M, N}, "amxMatmul c"));
  const bool ta = info[6].ToBoolean(), tb = info[7].ToBoolean(), acc = info[8].ToBoolean();
  run_kernel(env, [&] {
    ps_amx::gemm(M, N, K, a, ta ? 1 : K, ta ? M : 1, b, tb ? 1 : N, tb ? K : 1, c, N, acc);
  });
  return env.Undefined();
}

}  // namespace

void register_amx(Napi::Env env, Napi::Object exports) {
  exports.Set("amxMatmul", Napi::Function::New(env, AmxMatmul));
}

}  // namespace ps_addon
