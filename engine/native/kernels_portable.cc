// Built for the baseline x86-64 (SSE2) or any other target: the fallback for CPUs without AVX2/FMA.
#define PS_NS ps_portable
#define PS_NAME "portable"
#include "kernels_impl.h"
