/* Transpose: permutation of a rank-4 tensor (mirrors Kernels/Transpose.cs). */
#include "kernels.h"

void eq_transpose_s8(const eq_transpose_params *p)
{
    int32_t stride[4], s0, s1, s2, s3, a, b, c, d, i = 0;
    const int32_t *os = p->out_shape;
    stride[3] = 1;
    for (d = 2; d >= 0; d--) stride[d] = stride[d + 1] * p->in_shape[d + 1];
    s0 = stride[p->perm[0]]; s1 = stride[p->perm[1]]; s2 = stride[p->perm[2]]; s3 = stride[p->perm[3]];
    for (a = 0; a < os[0]; a++)
        for (b = 0; b < os[1]; b++)
            for (c = 0; c < os[2]; c++)
            {
                const int32_t base = a * s0 + b * s1 + c * s2;
                for (d = 0; d < os[3]; d++, i++)
                    p->output[i] = p->input[base + d * s3];
            }
}
