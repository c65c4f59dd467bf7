/*
 * Add/Sub with the DSP extension: not optimized yet. Each element needs three requantizations
 * (quant_math.h eq_mbqm), which dominate and have no DSP shortcut that stays bit-exact; declined,
 * the reference runs. Present because the dispatcher (elementwise_s8.c) links this entry point.
 */
#include "kernels_opt.h"

#if EQ_USE_DSP
eq_status eq_add_s8_dsp(const eq_elementwise_params *p, int subtract)
{
    (void)p;
    (void)subtract;
    return EQ_OPT_DECLINED;
}
#endif
