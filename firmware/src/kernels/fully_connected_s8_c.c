/*
 * FullyConnected in portable C (cores without DSP/MVE: kernels.h EQ_USE_C_OPT): batch rows two at a
 * time packed per k on the stack (k <= EQ_C_STACK_K) through eq_c_gemm_pair, else one row at a time
 * through eq_c_gemm_row (gemm_s8_c.c), the input offset added to every value as the reference does
 * (the blob's folded bias is not used, see conv2d_s8_c.c). Declined (the reference runs) for an input offset
 * outside [-127, 128], the packing bounds.
 */
#include "kernels_opt.h"

#if EQ_USE_C_OPT

#if defined(__GNUC__) && !defined(__clang__)
/* The Cortex-M3 has no code budget to meet: its images (built -Os) get these loops as -O2 builds them. */
#pragma GCC optimize("O2")
#endif

eq_status eq_fully_connected_s8_c(const eq_fc_params *p)
{
    const eq_c_gemm g = {
        p->filter, p->bias, p->multipliers, p->shifts, p->cin, p->cout, p->input_offset, p->output_offset, p->act_min, p->act_max,
    };
    const int8_t *x = p->input;
    int8_t *y = p->output;
    int32_t b = 0;
    if (p->input_offset < -127 || p->input_offset > 128) return EQ_OPT_DECLINED;
    if (p->cin <= EQ_C_STACK_K) {
        int32_t packed[EQ_C_STACK_K];
        for (; b + 2 <= p->batches; b += 2, x += 2 * p->cin, y += 2 * p->cout) {
            eq_c_pack_rows(&g, x, x + p->cin, packed);
            eq_c_gemm_pair(&g, packed, y, y + p->cout);
        }
    }
    for (; b < p->batches; b++, x += p->cin, y += p->cout) eq_c_gemm_row(&g, x, y);
    return EQ_OK;
}

#endif
