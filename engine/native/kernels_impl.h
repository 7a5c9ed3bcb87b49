// The kernels, written once with GCC vector extensions and compiled once per instruction set
// (kernels_avx512.cc, kernels_avx2.cc, kernels_portable.cc): the same source becomes AVX-512,
// AVX2/FMA or SSE2 code.
//
// Everything is a blocked GEMM (BLIS loop order: NC / KC / MC, then a 6 x 32 register tile on
// AVX-512, 6 x 16 on AVX2, 6 x 8 on SSE2). Convolutions never materialise im2col: the forward pass and the input
// gradient's A operand are read in place from the image (runs of pixels as broadcast sources),
// the filter gradient packs im2col blocks straight from the image; matrices that would be read
// once anyway (the dense layer's weights) are not packed either. Convolutions whose output rows
// are long enough, and the RGB layers, skip the GEMM for row-buffer kernels (impl_smallc.inc).
#include <omp.h>
#if defined(__SSE__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>
#include <vector>

#include "kernels.h"

namespace PS_NS {
using ps::ConvGeom;

// The parts are textual pieces of this one namespace (kept apart only for size); order matters.
#include "impl_gemm.inc"
#include "impl_pack_plain.inc"
#include "impl_pack_im2col.inc"
#include "impl_smallc.inc"
#include "impl_winograd.inc"
#include "impl_winograd_filter.inc"
#include "impl_kernels.inc"
#include "impl_skinny.inc"
#include "impl_peak.inc"

extern const ps::KernelSet kernels = {PS_NAME, conv2d, conv2d_bwd_input, conv2d_bwd_filter, matmul_any, fma_peak};

}  // namespace PS_NS
