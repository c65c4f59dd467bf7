/*
 * DepthwiseConv2D (depth multiplier 1) with the Cortex-M DSP extension. Channels are contiguous in both the
 * input pixel and the [Kh][Kw][C] filter, so four channels are handled per step: with the DSP
 * extension one LDR brings four inputs, SXTAB16 widens them with the input offset added (channels
 * 0,2 and, rotated, 1,3), the filter word is widened likewise, and SMLABB/SMLATT do the four
 * multiply-accumulates; leftover channels run one at a time. Taps outside the image
 * are skipped, as in the reference, by clipping each pixel's tap range once. Other depth
 * multipliers are declined (the reference runs). Needs no scratch.
 */
#include "kernels_opt.h"

#if EQ_USE_DSP

#include <arm_acle.h>

/* Valid taps k in [lo, hi) of one axis: 0 <= start + k * dilation < size. */
static void tap_range(int32_t start, int32_t dilation, int32_t taps, int32_t size, int32_t *lo, int32_t *hi)
{
    int32_t a = 0, b = taps;
    while (a < b && start + a * dilation < 0) a++;
    while (b > a && start + (b - 1) * dilation >= size) b--;
    *lo = a;
    *hi = b;
}

eq_status eq_depthwise_conv2d_s8_dsp(const eq_conv_params *p)
{
    if (p->depth_multiplier != 1) return EQ_OPT_DECLINED;
    const int32_t c = p->out_c, off = p->input_offset;
    const int32_t row_stride = p->in_w * c, tap_x = p->dilation_w * c, tap_y = p->dilation_h * row_stride;
    const int32_t wtap_x = c, wtap_y = p->k_w * c;
    const int16x2_t off2 = (int16x2_t)(((uint32_t)off & 0xFFFFu) | ((uint32_t)off << 16));
    int8_t *out = p->output;
    for (int32_t b = 0; b < p->batches; b++) {
        const int8_t *image = p->input + b * p->in_h * row_stride;
        for (int32_t oy = 0; oy < p->out_h; oy++) {
            const int32_t iy0 = oy * p->stride_h - p->pad_top;
            int32_t ky0, ky1;
            tap_range(iy0, p->dilation_h, p->k_h, p->in_h, &ky0, &ky1);
            for (int32_t ox = 0; ox < p->out_w; ox++, out += c) {
                const int32_t ix0 = ox * p->stride_w - p->pad_left;
                int32_t kx0, kx1;
                tap_range(ix0, p->dilation_w, p->k_w, p->in_w, &kx0, &kx1);
                const int32_t ny = ky1 - ky0, nx = kx1 - kx0;
                const int8_t *in0 = image + (iy0 + ky0 * p->dilation_h) * row_stride + (ix0 + kx0 * p->dilation_w) * c;
                const int8_t *w0 = p->filter + ky0 * wtap_y + kx0 * wtap_x;
                int32_t ch = 0;
                for (; ch + 4 <= c; ch += 4) {
                    uint32_t s0 = (uint32_t)p->bias[ch], s1 = (uint32_t)p->bias[ch + 1];
                    uint32_t s2 = (uint32_t)p->bias[ch + 2], s3 = (uint32_t)p->bias[ch + 3];
                    int32_t t0 = (int32_t)s0, t1 = (int32_t)s1, t2 = (int32_t)s2, t3 = (int32_t)s3;
                    const int8_t *xr = in0 + ch, *wr = w0 + ch;
                    for (int32_t ky = 0; ky < ny; ky++, xr += tap_y, wr += wtap_y) {
                        const int8_t *x = xr, *w = wr;
                        for (int32_t kx = 0; kx < nx; kx++, x += tap_x, w += wtap_x) {
                            uint32_t xv = eq_opt_read32(x), wv = eq_opt_read32(w);
                            int16x2_t xe = __sxtab16(off2, (int8x4_t)xv), xo = __sxtab16(off2, (int8x4_t)eq_opt_ror8(xv));
                            int16x2_t we = __sxtb16((int8x4_t)wv), wo = __sxtb16((int8x4_t)eq_opt_ror8(wv));
                            t0 = __smlabb(xe, we, t0);
                            t2 = __smlatt(xe, we, t2);
                            t1 = __smlabb(xo, wo, t1);
                            t3 = __smlatt(xo, wo, t3);
                        }
                    }
                    s0 = (uint32_t)t0; s1 = (uint32_t)t1; s2 = (uint32_t)t2; s3 = (uint32_t)t3;
                    out[ch] = eq_opt_requantize((int32_t)s0, p->multipliers[ch], p->shifts[ch], p->output_offset, p->act_min, p->act_max);
                    out[ch + 1] = eq_opt_requantize((int32_t)s1, p->multipliers[ch + 1], p->shifts[ch + 1], p->output_offset, p->act_min, p->act_max);
                    out[ch + 2] = eq_opt_requantize((int32_t)s2, p->multipliers[ch + 2], p->shifts[ch + 2], p->output_offset, p->act_min, p->act_max);
                    out[ch + 3] = eq_opt_requantize((int32_t)s3, p->multipliers[ch + 3], p->shifts[ch + 3], p->output_offset, p->act_min, p->act_max);
                }
                for (; ch < c; ch++) {
                    uint32_t s = (uint32_t)p->bias[ch];
                    const int8_t *xr = in0 + ch, *wr = w0 + ch;
                    for (int32_t ky = 0; ky < ny; ky++, xr += tap_y, wr += wtap_y) {
                        const int8_t *x = xr, *w = wr;
                        for (int32_t kx = 0; kx < nx; kx++, x += tap_x, w += wtap_x) s += (uint32_t)((*x + off) * *w);
                    }
                    out[ch] = eq_opt_requantize((int32_t)s, p->multipliers[ch], p->shifts[ch], p->output_offset, p->act_min, p->act_max);
                }
            }
        }
    }
    return EQ_OK;
}

#endif
