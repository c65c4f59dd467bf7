/*
 * Add/Sub with Helium: not optimized yet (a four-lane form of the three requantizations per element,
 * like eq_opt_mbqm_mve, is the way); declined, the reference runs. Present because the dispatcher
 * (elementwise_s8.c) links this entry point.
 */
#include "kernels_opt.h"

#if EQ_USE_MVE

#if defined(__GNUC__) && !defined(__clang__)
/* Helium paths build -O2 inside -Os images: the 24 KB code budget is the M4's (the Cortex-M55 has none). */
#pragma GCC optimize("O2")
#endif
eq_status eq_add_s8_mve(const eq_elementwise_params *p, int subtract)
{
    (void)p;
    (void)subtract;
    return EQ_OPT_DECLINED;
}
#endif
