/* The float32 fallback layers of mixed precision (ops 66-68): Kernels/FloatLayers.Reference.cs. Float
 * sums depend on their order, so the order is the definition: acc starts at bias[oc], then adds each
 * product x * w, rounded to float32 on its own (never fused into a multiply-add: build with
 * -ffp-contract=off; GCC's ISO C modes default to it, clang is told below), for ky, kx, ic ascending
 * (Conv2D; FullyConnected as a 1x1 Conv2D), ky then kx (depthwise); out = min(max(acc, min), max) with
 * NaN passing. Compiled in with EQ_WITH_MIXED_PRECISION (edgequant.h). */
#include "kernels.h"

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

#if EQ_WITH_MIXED_PRECISION

void eq_conv_f32_ref(const eq_conv_mixed_params *p)
{
    const float *in = (const float *)p->input;
    const float *f = (const float *)p->filter;
    const float *bias = (const float *)(const void *)p->bias;
    float *out = (float *)p->output;
    const int32_t cin = p->in_c, cout = p->out_c, kh = p->k_h, kw = p->k_w;
    int32_t b, oy, ox, oc, ky, kx, ic;
    for (b = 0; b < p->batches; b++)
        for (oy = 0; oy < p->out_h; oy++)
            for (ox = 0; ox < p->out_w; ox++)
            {
                const int32_t iy0 = oy * p->stride_h - p->pad_top, ix0 = ox * p->stride_w - p->pad_left;
                for (oc = 0; oc < cout; oc++)
                {
                    float acc = bias[oc];
                    for (ky = 0; ky < kh; ky++)
                    {
                        const int32_t iy = iy0 + ky * p->dilation_h;
                        if ((uint32_t)iy >= (uint32_t)p->in_h) continue;
                        for (kx = 0; kx < kw; kx++)
                        {
                            const int32_t ix = ix0 + kx * p->dilation_w;
                            const float *x;
                            if ((uint32_t)ix >= (uint32_t)p->in_w) continue;
                            x = in + ((int64_t)(b * p->in_h + iy) * p->in_w + ix) * cin;
                            if (p->depth_multiplier > 0)
                            {
                                const float prod = x[oc / p->depth_multiplier] * f[(ky * kw + kx) * cout + oc];
                                acc += prod;
                            }
                            else
                            {
                                const float *w = f + ((int64_t)(oc * kh + ky) * kw + kx) * cin;
                                for (ic = 0; ic < cin; ic++)
                                {
                                    const float prod = x[ic] * w[ic];
                                    acc += prod;
                                }
                            }
                        }
                    }
                    out[((int64_t)(b * p->out_h + oy) * p->out_w + ox) * cout + oc] = acc < p->f_min ? p->f_min : acc > p->f_max ? p->f_max : acc;
                }
            }
}
#else
/* Not built (EQ_WITH_MIXED_PRECISION is 0); ISO C wants a declaration in every translation unit. */
typedef int eq_float_layers_not_built;
#endif
