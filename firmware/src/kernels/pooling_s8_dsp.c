/*
 * MaxPool2D with the Cortex-M DSP extension: four channels per word; SSUB8 sets the per-byte GE
 * flags of a >= b and SEL picks those bytes, so one SSUB8+SEL pair is four signed maxima. The
 * window is clipped to the image as in the reference; leftover channels run one at a time, and the
 * activation clamp is applied per byte at the end. AveragePool2D: below.
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

/* The reference's rounded average of a window sum (half away from zero, C division), clamped. */
static inline int8_t average(int32_t sum, int32_t count, int32_t half, int32_t lo, int32_t hi)
{
    return (int8_t)eq_clamp((sum > 0 ? sum + half : sum - half) / count, lo, hi);
}

/* AveragePool2D: four channels per word summed as int16 pairs (SXTAB16: channels 0,2 and, rotated,
 * 1,3), exact while a window holds at most 256 values (|sum| <= 128 * 256); larger windows and
 * leftover channels are summed one channel at a time. The average divides once per channel (SDIV). */
eq_status eq_average_pool2d_s8_dsp(const eq_pool_params *p)
{
    const int32_t c = p->channels, row = p->in_w * c, lo = p->act_min, hi = p->act_max;
    const int wide = p->filter_h * p->filter_w <= 256;
    int8_t *out = p->output;
    for (int32_t b = 0; b < p->batches; b++) {
        const int8_t *image = p->input + b * p->in_h * row;
        for (int32_t oy = 0; oy < p->out_h; oy++) {
            const int32_t y0 = oy * p->stride_h - p->pad_top;
            const int32_t ys = y0 < 0 ? 0 : y0, ye = y0 + p->filter_h > p->in_h ? p->in_h : y0 + p->filter_h;
            for (int32_t ox = 0; ox < p->out_w; ox++, out += c) {
                const int32_t x0 = ox * p->stride_w - p->pad_left;
                const int32_t xs = x0 < 0 ? 0 : x0, xe = x0 + p->filter_w > p->in_w ? p->in_w : x0 + p->filter_w;
                const int32_t count = (ye - ys) * (xe - xs), half = count / 2;
                const int8_t *win = image + ys * row + xs * c;
                int32_t ch = 0;
                for (; wide && ch + 4 <= c; ch += 4) {
                    int16x2_t se = 0, so = 0;
                    for (int32_t y = ys; y < ye; y++) {
                        const int8_t *src = win + (y - ys) * row + ch;
                        for (int32_t x = xs; x < xe; x++, src += c) {
                            const uint32_t v = eq_opt_read32(src);
                            se = __sxtab16(se, (int8x4_t)v);
                            so = eq_opt_sxtab16_ror8(so, v);
                        }
                    }
                    out[ch] = average((int16_t)se, count, half, lo, hi);
                    out[ch + 1] = average((int16_t)so, count, half, lo, hi);
                    out[ch + 2] = average((int32_t)se >> 16, count, half, lo, hi);
                    out[ch + 3] = average((int32_t)so >> 16, count, half, lo, hi);
                }
                for (; ch < c; ch++) {
                    int32_t sum = 0;
                    for (int32_t y = ys; y < ye; y++) {
                        const int8_t *src = win + (y - ys) * row + ch;
                        for (int32_t x = xs; x < xe; x++, src += c) sum += *src;
                    }
                    out[ch] = average(sum, count, half, lo, hi);
                }
            }
        }
    }
    return EQ_OK;
}

#endif
