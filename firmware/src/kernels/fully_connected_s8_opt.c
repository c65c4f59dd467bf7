/*
 * FullyConnected, optimized: each batch row is one GEMM row against the [Cout][Cin] filter,
 * through the architecture's micro-kernel (gemm_s8_dsp.c / gemm_s8_mve.c): two rows at a time
 * when there are two, one row otherwise. Needs no scratch; covers every shape.
 */
#include "kernels_opt.h"

int eq_fully_connected_s8_opt(const eq_opt_fc_s8 *p)
{
    const eq_opt_gemm_s8 g = {
        p->filter, p->bias, p->multiplier, p->shift, p->in_c, p->out_c,
        p->input_offset, p->output_offset, p->act_min, p->act_max,
    };
    const int8_t *x = p->input;
    int8_t *y = p->output;
    int32_t b = 0;
    for (; b + 2 <= p->batches; b += 2, x += 2 * p->in_c, y += 2 * p->out_c)
        eq_opt_gemm_s8_rows2(&g, x, x + p->in_c, y, y + p->out_c);
    if (b < p->batches) eq_opt_gemm_s8_row1(&g, x, y);
    return 1;
}
