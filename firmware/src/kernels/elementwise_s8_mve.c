/*
 * Add/Sub with Helium: not optimized yet (a four-lane form of the three requantizations per element,
 * like eq_opt_mbqm_mve, is the way); declined, the reference runs. Present because the dispatcher
 * (elementwise_s8.c) links this entry point.
 */
#include "kernels_opt.h"

#if EQ_USE_MVE
eq_status eq_add_s8_mve(const eq_elementwise_params *p, int subtract)
{
    (void)p;
    (void)subtract;
    return EQ_OPT_DECLINED;
}
#endif
