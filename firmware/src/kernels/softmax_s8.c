/* Softmax over the last axis, integer only from the blob's exp table (mirrors Kernels/Softmax.cs). */
#include "kernels.h"

void eq_softmax_s8(const eq_softmax_params *p)
{
    int32_t r, i;
    for (r = 0; r < p->rows; r++)
    {
        const int8_t *x = p->input + r * p->depth;
        int8_t *y = p->output + r * p->depth;
        int32_t max = -128;
        int64_t sum = 0, half;
        for (i = 0; i < p->depth; i++) if (x[i] > max) max = x[i];
        for (i = 0; i < p->depth; i++) sum += p->exp_table[max - x[i]];
        half = sum / 2;
        for (i = 0; i < p->depth; i++)
        {
            const int64_t q = ((int64_t)p->exp_table[max - x[i]] * 256 + half) / sum - 128;
            y[i] = (int8_t)(q < -128 ? -128 : (q > 127 ? 127 : q));
        }
    }
}
