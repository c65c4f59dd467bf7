/* FullyConnected: the reference loop nest (mirrors Kernels/FullyConnected.Reference.cs) and its dispatcher. */
#include "kernels.h"
#include "quant_math.h"

void eq_fully_connected_s8_ref(const eq_fc_params *p)
{
    int32_t b, oc, ic;
    const int32_t cin = p->cin, cout = p->cout;
    for (b = 0; b < p->batches; b++)
    {
        const int8_t *in = p->input + b * cin;
        for (oc = 0; oc < cout; oc++)
        {
            const int8_t *f = p->filter + oc * cin;
            uint32_t acc = (uint32_t)p->bias[oc];
            int32_t v;
            for (ic = 0; ic < cin; ic++)
                acc += (uint32_t)(((int32_t)in[ic] + p->input_offset) * (int32_t)f[ic]);
            v = eq_add_wrap(eq_mbqm_call((int32_t)acc, p->multipliers[oc], p->shifts[oc]), p->output_offset);
            p->output[b * cout + oc] = (int8_t)eq_clamp(v, p->act_min, p->act_max);
        }
    }
}

void eq_fully_connected_s8(const eq_fc_params *p)
{
#if EQ_USE_MVE
    if (eq_fully_connected_s8_mve(p) == EQ_OK) return;
#endif
#if EQ_USE_DSP
    /* The DSP path covers every case: the reference is not linked into DSP images. */
    (void)eq_fully_connected_s8_dsp(p);
#else
#if EQ_USE_C_OPT
    if (eq_fully_connected_s8_c(p) == EQ_OK) return;
#endif
    eq_fully_connected_s8_ref(p);
#endif
}
