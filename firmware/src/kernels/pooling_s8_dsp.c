/*
 * MaxPool2D with the Cortex-M DSP extension: four channels per word; SSUB8 sets the per-byte GE
 * flags of a >= b and SEL picks those bytes, so one SSUB8+SEL pair is four signed maxima. The
 * window is clipped to the image as in the reference; leftover channels run one at a time, and the
 * activation clamp is applied per byte at the end. AveragePool2D is not optimized: declined, the
 * reference runs.
 */
#include "kernels_opt.h"

#if EQ_USE_DSP

#include <arm_acle.h>

eq_status eq_max_pool2d_s8_dsp(const eq_pool_params *p)
{
    const int32_t c = p->channels, row = p->in_w * c;
    int8_t *out = p->output;
    for (int32_t b = 0; b < p->batches; b++) {
        const int8_t *image = p->input + b * p->in_h * row;
        for (int32_t oy = 0; oy < p->out_h; oy++) {
            const int32_t y0 = oy * p->stride_h - p->pad_top;
            const int32_t ys = y0 < 0 ? 0 : y0, ye = y0 + p->filter_h > p->in_h ? p->in_h : y0 + p->filter_h;
            for (int32_t ox = 0; ox < p->out_w; ox++, out += c) {
                const int32_t x0 = ox * p->stride_w - p->pad_left;
                const int32_t xs = x0 < 0 ? 0 : x0, xe = x0 + p->filter_w > p->in_w ? p->in_w : x0 + p->filter_w;
                int32_t ch = 0;
                for (; ch + 4 <= c; ch += 4) {
                    uint32_t m = 0x80808080u; /* -128 in every byte, the reference's start */
                    for (int32_t y = ys; y < ye; y++) {
                        const int8_t *src = image + y * row + xs * c + ch;
                        for (int32_t x = xs; x < xe; x++, src += c) {
                            uint32_t v = eq_opt_read32(src);
                            (void)__ssub8((int8x4_t)v, (int8x4_t)m);
                            m = (uint32_t)__sel((uint8x4_t)v, (uint8x4_t)m);
                        }
                    }
                    for (int32_t i = 0; i < 4; i++)
                        out[ch + i] = (int8_t)eq_clamp((int8_t)(m >> (8 * i)), p->act_min, p->act_max);
                }
                for (; ch < c; ch++) {
                    int32_t m = -128;
                    for (int32_t y = ys; y < ye; y++)
                        for (int32_t x = xs; x < xe; x++) {
                            int32_t v = image[y * row + x * c + ch];
                            m = v > m ? v : m;
                        }
                    out[ch] = (int8_t)eq_clamp(m, p->act_min, p->act_max);
                }
            }
        }
    }
    return EQ_OK;
}

eq_status eq_average_pool2d_s8_dsp(const eq_pool_params *p)
{
    (void)p;
    return EQ_OPT_DECLINED;
}

#endif
