/* FullyConnected with the DSP extension: batch rows times the filter through the SMLAD micro-kernels (gemm_s8_dsp.c). */
#include "kernels_opt.h"

#if EQ_USE_DSP
eq_status eq_fully_connected_s8_dsp(const eq_fc_params *p)
{
    return eq_opt_fully_connected_s8_gemm(p, eq_opt_gemm_s8_rows2_dsp, eq_opt_gemm_s8_row1_dsp);
}
#endif
