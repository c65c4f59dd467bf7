/* DepthwiseConv2D: the reference loop nest (mirrors Kernels/DepthwiseConv2D.Reference.cs) and its dispatcher. */
#include "kernels.h"
#include "quant_math.h"

void eq_depthwise_conv2d_s8_ref(const eq_conv_params *p)
{
    const int32_t in_h = p->in_h, in_w = p->in_w, cin = p->in_c;
    const int32_t kh = p->k_h, kw = p->k_w;
    const int32_t out_h = p->out_h, out_w = p->out_w, cout = p->out_c;
    const int32_t mult = p->depth_multiplier;
    int32_t b, oy, ox, oc, ky, kx;
    for (b = 0; b < p->batches; b++)
        for (oy = 0; oy < out_h; oy++)
            for (ox = 0; ox < out_w; ox++)
            {
                const int32_t iy0 = oy * p->stride_h - p->pad_top, ix0 = ox * p->stride_w - p->pad_left;
                for (oc = 0; oc < cout; oc++)
                {
                    const int32_t ic = oc / mult;
                    uint32_t acc = (uint32_t)p->bias[oc];
                    int32_t v;
                    for (ky = 0; ky < kh; ky++)
                    {
                        const int32_t iy = iy0 + ky * p->dilation_h;
                        if ((uint32_t)iy >= (uint32_t)in_h) continue;
                        for (kx = 0; kx < kw; kx++)
                        {
                            const int32_t ix = ix0 + kx * p->dilation_w;
                            if ((uint32_t)ix >= (uint32_t)in_w) continue;
                            acc += (uint32_t)(((int32_t)p->input[((b * in_h + iy) * in_w + ix) * cin + ic] + p->input_offset)
                                              * (int32_t)p->filter[(ky * kw + kx) * cout + oc]);
                        }
                    }
                    v = eq_add_wrap(eq_mbqm_call((int32_t)acc, p->multipliers[oc], p->shifts[oc]), p->output_offset);
                    p->output[((b * out_h + oy) * out_w + ox) * cout + oc] = (int8_t)eq_clamp(v, p->act_min, p->act_max);
                }
            }
}

void eq_depthwise_conv2d_s8(const eq_conv_params *p)
{
#if EQ_USE_MVE
    if (eq_depthwise_conv2d_s8_mve(p) == EQ_OK) return;
#endif
#if EQ_USE_DSP
    /* The DSP path covers every case: the reference is not linked into DSP images. */
    (void)eq_depthwise_conv2d_s8_dsp(p);
#else
#if EQ_USE_C_OPT
    if (eq_depthwise_conv2d_s8_c(p) == EQ_OK) return;
#endif
    eq_depthwise_conv2d_s8_ref(p);
#endif
}
