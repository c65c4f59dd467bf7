/* Conv2D with Helium: the shared pixel walk and im2col (conv2d_s8_dsp.c) over the MVE micro-kernels (gemm_s8_mve.c). */
#include "kernels_opt.h"

#if EQ_USE_MVE

#if defined(__GNUC__) && !defined(__clang__)
/* Helium paths build -O2 inside -Os images: the 24 KB code budget is the M4's (the Cortex-M55 has none). */
#pragma GCC optimize("O2")
#endif
eq_status eq_conv2d_s8_mve(const eq_conv_params *p)
{
    return eq_opt_conv2d_s8_gemm(p, eq_opt_gemm_s8_rows2_mve, eq_opt_gemm_s8_row1_mve);
}
#endif
