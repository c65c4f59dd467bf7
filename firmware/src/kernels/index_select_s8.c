/* IndexSelect: data movement through one index table per dimension (mirrors Kernels/IndexSelect.cs, EvalS8Reference). */
#include "kernels.h"

#if EQ_WITH_EXTENDED_OPS

void eq_index_select_s8(const eq_index_select_params *p)
{
    const int32_t *is = p->in_shape, *os = p->out_shape;
    const int32_t *t0 = p->tables[0], *t1 = p->tables[1], *t2 = p->tables[2], *t3 = p->tables[3];
    int32_t a, b, c, d, o = 0;
    for (a = 0; a < os[0]; a++)
        for (b = 0; b < os[1]; b++)
            for (c = 0; c < os[2]; c++)
                for (d = 0; d < os[3]; d++, o++)
                {
                    const int32_t ia = t0[a], ib = t1[b], ic = t2[c], id = t3[d];
                    p->output[o] = (ia < 0 || ib < 0 || ic < 0 || id < 0)
                        ? (int8_t)p->fill
                        : p->input[((ia * is[1] + ib) * is[2] + ic) * is[3] + id];
                }
}
#else
/* Not built (EQ_WITH_EXTENDED_OPS is 0); ISO C wants a declaration in every translation unit. */
typedef int eq_index_select_not_built;
#endif
