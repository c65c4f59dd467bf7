/* ArgMax along one axis (mirrors Kernels/ArgMax.Reference.cs, EvalS8Reference). */
#include "kernels.h"
#include "quant_math.h"

#if EQ_WITH_EXTENDED_OPS

void eq_argmax_s8(const eq_argmax_params *p)
{
    int32_t o, i, k;
    for (o = 0; o < p->outer; o++)
        for (i = 0; i < p->inner; i++)
        {
            const int8_t *x = p->input + (int64_t)o * p->n * p->inner + i;
            int32_t best = 0, best_value = x[0];
            for (k = 1; k < p->n; k++)
            {
                const int32_t v = x[(int64_t)k * p->inner];
                if (v > best_value || (p->select_last && v == best_value))
                {
                    best = k;
                    best_value = v;
                }
            }
            p->output[(int64_t)o * p->inner + i] = (int8_t)eq_add_wrap(best, p->output_offset); /* C# wraps */
        }
}
#else
/* Not built (EQ_WITH_EXTENDED_OPS is 0); ISO C wants a declaration in every translation unit. */
typedef int eq_argmax_not_built;
#endif
