/* Logistic, Tanh and Lookup: a 256-entry int8 table indexed by x + 128 (mirrors Kernels/Lookup.cs). */
#include "kernels.h"

void eq_lookup_s8(const eq_lookup_params *p)
{
    uint32_t i;
    for (i = 0; i < p->count; i++)
        p->output[i] = p->table[p->input[i] + 128];
}
