/* Conv2D with Helium: the shared pixel walk and im2col (conv2d_s8_dsp.c) over the MVE micro-kernels (gemm_s8_mve.c). */
/* Hot loops: -O2 even when the firmware is built with -Os (the bench figures hold for both builds).
 * Before the includes, so the inline helpers they define (quant_math.h) get the same options and
 * are inlined. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O2")
#endif
#include "kernels_opt.h"

#if EQ_USE_MVE
eq_status eq_conv2d_s8_mve(const eq_conv_params *p)
{
    return eq_opt_conv2d_s8_gemm(p, eq_opt_gemm_s8_rows2_mve, eq_opt_gemm_s8_row1_mve);
}
#endif
