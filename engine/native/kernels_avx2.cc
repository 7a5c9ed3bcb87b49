// Built with -mavx2 -mfma; only called after the CPU was checked for both at load time.
#define PS_NS ps_avx2
#define PS_NAME "avx2"
#include "kernels_impl.h"
