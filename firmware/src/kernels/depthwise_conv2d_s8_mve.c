/*
 * DepthwiseConv2D (depth multiplier 1) with Helium (Cortex-M55). Eight channels per step in
 * int16 lanes: VLDRB.S16 widens eight inputs (the input offset is then added, |x + off| <= 255)
 * and eight filter taps; VMULLB/VMULLT multiply the even and the odd lanes into two int32x4
 * accumulators (channels 0,2,4,6 and 1,3,5,7), which are requantized four lanes at a time and
 * interleaved back by VMOVNB/VMOVNT before one narrowing store. The channel tail is the same step
 * predicated (VCTP). Taps outside the image are skipped by clipping each pixel's tap range, as in
 * the reference. Other depth multipliers are declined (the reference runs). No scratch.
 */
#include "kernels_opt.h"

#if EQ_USE_MVE

static void tap_range(int32_t start, int32_t dilation, int32_t taps, int32_t size, int32_t *lo, int32_t *hi)
{
    int32_t a = 0, b = taps;
    while (a < b && start + a * dilation < 0) a++;
    while (b > a && start + (b - 1) * dilation >= size) b--;
    *lo = a;
    *hi = b;
}

static inline int32x4_t requant_lanes(const eq_conv_params *p, int32x4_t acc, uint32x4_t idx, mve_pred16_t pred)
{
    int32x4_t m = vldrwq_gather_shifted_offset_z_s32(p->multipliers, idx, pred);
    int32x4_t s = vldrwq_gather_shifted_offset_z_s32(p->shifts, idx, pred);
    int32x4_t v = vaddq_n_s32(eq_opt_mbqm_mve(acc, m, s), p->output_offset);
    return vminq_s32(vmaxq_s32(v, vdupq_n_s32(p->act_min)), vdupq_n_s32(p->act_max));
}

eq_status eq_depthwise_conv2d_s8_mve(const eq_conv_params *p)
{
    if (p->depth_multiplier != 1) return EQ_OPT_DECLINED;
    const int32_t c = p->out_c;
    const int16_t off = (int16_t)p->input_offset;
    if (p->input_offset < -32768 + 128 || p->input_offset > 32767 - 127) return EQ_OPT_DECLINED;
    const int32_t row_stride = p->in_w * c, tap_x = p->dilation_w * c, tap_y = p->dilation_h * row_stride;
    const int32_t wtap_x = c, wtap_y = p->k_w * c;
    const uint32x4_t even = vmulq_n_u32(vidupq_n_u32(0, 1), 2), odd = vaddq_n_u32(even, 1);
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
                for (int32_t ch = 0; ch < c; ch += 8) {
                    const int32_t left = c - ch;
                    const mve_pred16_t p16 = vctp16q((uint32_t)left);
                    const mve_pred16_t pe = vctp32q((uint32_t)(left + 1) >> 1), po = vctp32q((uint32_t)left >> 1);
                    const uint32x4_t ie = vaddq_n_u32(even, (uint32_t)ch), io = vaddq_n_u32(odd, (uint32_t)ch);
                    int32x4_t acc_e = vldrwq_gather_shifted_offset_z_s32(p->bias, ie, pe);
                    int32x4_t acc_o = vldrwq_gather_shifted_offset_z_s32(p->bias, io, po);
                    const int8_t *xr = in0 + ch, *wr = w0 + ch;
                    for (int32_t ky = 0; ky < ny; ky++, xr += tap_y, wr += wtap_y) {
                        const int8_t *x = xr, *w = wr;
                        for (int32_t kx = 0; kx < nx; kx++, x += tap_x, w += wtap_x) {
                            int16x8_t xv = vaddq_n_s16(vldrbq_z_s16(x, p16), off);
                            int16x8_t wv = vldrbq_z_s16(w, p16);
                            acc_e = vaddq_s32(acc_e, vmullbq_int_s16(xv, wv));
                            acc_o = vaddq_s32(acc_o, vmulltq_int_s16(xv, wv));
                        }
                    }
                    int16x8_t r = vmovnbq_s32(vdupq_n_s16(0), requant_lanes(p, acc_e, ie, pe));
                    r = vmovntq_s32(r, requant_lanes(p, acc_o, io, po));
                    vstrbq_p_s16(out + ch, r, p16);
                }
            }
        }
    }
    return EQ_OK;
}

#endif
