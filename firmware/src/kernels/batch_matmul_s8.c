/* BatchMatMul: int8 x int8 matrix product of two activations (mirrors Kernels/BatchMatMul.Reference.cs). */
#include "kernels.h"
#include "quant_math.h"

#if EQ_WITH_EXTENDED_OPS

void eq_batch_matmul_s8(const eq_batch_matmul_params *p)
{
    const int32_t *as = p->a_shape, *bs = p->b_shape, *os = p->out_shape;
    const int32_t m = os[2], n = os[3], k = as[3];
    int32_t o0, o1, i, j, kk;
    for (o0 = 0; o0 < os[0]; o0++)
        for (o1 = 0; o1 < os[1]; o1++)
        {
            const int8_t *a = p->a + (((as[0] == 1 ? 0 : o0) * as[1]) + (as[1] == 1 ? 0 : o1)) * m * k;
            const int8_t *b = p->b + (((bs[0] == 1 ? 0 : o0) * bs[1]) + (bs[1] == 1 ? 0 : o1)) * n * k;
            int8_t *y = p->output + ((o0 * os[1]) + o1) * m * n;
            for (i = 0; i < m; i++)
                for (j = 0; j < n; j++)
                {
                    /* |x + offset| <= 383 and the reader's K x 383^2 < 2^31 keep the sum exact. */
                    int32_t acc = 0;
                    for (kk = 0; kk < k; kk++)
                        acc += ((int32_t)a[i * k + kk] + p->input1_offset) * ((int32_t)b[j * k + kk] + p->input2_offset);
                    y[i * n + j] = (int8_t)eq_clamp(eq_add_wrap(eq_mbqm_call(acc, p->output_multiplier, p->output_shift), p->output_offset), p->act_min, p->act_max);
                }
        }
}
#else
/* Not built (EQ_WITH_EXTENDED_OPS is 0); ISO C wants a declaration in every translation unit. */
typedef int eq_batch_matmul_not_built;
#endif
