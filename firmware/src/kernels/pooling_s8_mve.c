/*
 * MaxPool2D with Helium: sixteen channels per step, VMAX.S8 over the clipped window, the
 * activation clamp as one more VMAX/VMIN, and a predicated (VCTP8) step for the channel tail.
 * AveragePool2D: below.
 */
#include "kernels_opt.h"

#if EQ_USE_MVE

#if defined(__GNUC__) && !defined(__clang__)
/* Helium paths build -O2 inside -Os images: the 24 KB code budget is the M4's (the Cortex-M55 has none). */
#pragma GCC optimize("O2")
#endif

eq_status eq_max_pool2d_s8_mve(const eq_pool_params *p)
{
    const int32_t c = p->channels, row = p->in_w * c;
    const int8x16_t lo = vdupq_n_s8((int8_t)p->act_min), hi = vdupq_n_s8((int8_t)p->act_max);
    if (p->act_min < -128 || p->act_max > 127 || p->act_min > p->act_max) return EQ_OPT_DECLINED;
    int8_t *out = p->output;
    for (int32_t b = 0; b < p->batches; b++) {
        const int8_t *image = p->input + b * p->in_h * row;
        for (int32_t oy = 0; oy < p->out_h; oy++) {
            const int32_t y0 = oy * p->stride_h - p->pad_top;
            const int32_t ys = y0 < 0 ? 0 : y0, ye = y0 + p->filter_h > p->in_h ? p->in_h : y0 + p->filter_h;
            for (int32_t ox = 0; ox < p->out_w; ox++, out += c) {
                const int32_t x0 = ox * p->stride_w - p->pad_left;
                const int32_t xs = x0 < 0 ? 0 : x0, xe = x0 + p->filter_w > p->in_w ? p->in_w : x0 + p->filter_w;
                for (int32_t ch = 0; ch < c; ch += 16) {
                    const mve_pred16_t pr = vctp8q((uint32_t)(c - ch));
                    int8x16_t m = vdupq_n_s8(-128);
                    for (int32_t y = ys; y < ye; y++) {
                        const int8_t *src = image + y * row + xs * c + ch;
                        for (int32_t x = xs; x < xe; x++, src += c) m = vmaxq_s8(m, vldrbq_z_s8(src, pr));
                    }
                    vstrbq_p_s8(out + ch, vminq_s8(vmaxq_s8(m, lo), hi), pr);
                }
            }
        }
    }
    return EQ_OK;
}

/* AveragePool2D: eight channels per step summed in int16 lanes (VLDRB.S16 widens, exact while a
 * window holds at most 256 values), then the reference's rounded division per channel (no vector
 * divide); larger windows are declined (the DSP path runs). */
eq_status eq_average_pool2d_s8_mve(const eq_pool_params *p)
{
    const int32_t c = p->channels, row = p->in_w * c, lo = p->act_min, hi = p->act_max;
    if (p->filter_h * p->filter_w > 256) return EQ_OPT_DECLINED;
    int8_t *out = p->output;
    int16_t sums[8];
    for (int32_t b = 0; b < p->batches; b++) {
        const int8_t *image = p->input + b * p->in_h * row;
        for (int32_t oy = 0; oy < p->out_h; oy++) {
            const int32_t y0 = oy * p->stride_h - p->pad_top;
            const int32_t ys = y0 < 0 ? 0 : y0, ye = y0 + p->filter_h > p->in_h ? p->in_h : y0 + p->filter_h;
            for (int32_t ox = 0; ox < p->out_w; ox++, out += c) {
                const int32_t x0 = ox * p->stride_w - p->pad_left;
                const int32_t xs = x0 < 0 ? 0 : x0, xe = x0 + p->filter_w > p->in_w ? p->in_w : x0 + p->filter_w;
                const int32_t count = (ye - ys) * (xe - xs), half = count / 2;
                for (int32_t ch = 0; ch < c; ch += 8) {
                    const mve_pred16_t pr = vctp16q((uint32_t)(c - ch));
                    int16x8_t acc = vdupq_n_s16(0);
                    for (int32_t y = ys; y < ye; y++) {
                        const int8_t *src = image + y * row + xs * c + ch;
                        for (int32_t x = xs; x < xe; x++, src += c) acc = vaddq_s16(acc, vldrbq_z_s16(src, pr));
                    }
                    vst1q_s16(sums, acc);
                    const int32_t n = c - ch < 8 ? c - ch : 8;
                    for (int32_t i = 0; i < n; i++) {
                        const int32_t s = sums[i];
                        out[ch + i] = (int8_t)eq_clamp((s > 0 ? s + half : s - half) / count, lo, hi);
                    }
                }
            }
        }
    }
    return EQ_OK;
}

#endif
