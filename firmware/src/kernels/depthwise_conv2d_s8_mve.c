/*
 * DepthwiseConv2D (depth multiplier 1) with Helium (Cortex-M55). Eight channels per step in
 * int16 lanes: VLDRB.S16 widens eight inputs (the input offset is then added, |x + off| <= 255)
 * and eight filter taps; VMULLB/VMULLT multiply the even and the odd lanes into two int32x4
 * accumulators (channels 0,2,4,6 and 1,3,5,7), which are requantized four lanes at a time and
 * interleaved back by VMOVNB/VMOVNT before one narrowing store. The channel tail is the same step
 * predicated (VCTP). Pixels whose taps are all inside the image use the blob's folded bias and skip
 * the offset add. Taps outside the image are skipped by clipping each pixel's tap range, as in
 * the reference. Other depth multipliers are declined (the reference runs). No scratch.
 */
#include "kernels_opt.h"

#if EQ_USE_MVE

#if defined(__GNUC__) && !defined(__clang__)
/* Helium paths build -O2 inside -Os images: the 24 KB code budget is the M4's (the Cortex-M55 has none). */
#pragma GCC optimize("O2")
#endif

static void tap_range(int32_t start, int32_t dilation, int32_t taps, int32_t size, int32_t *lo, int32_t *hi)
{
    int32_t a = 0, b = taps;
    while (a < b && start + a * dilation < 0) a++;
    while (b > a && start + (b - 1) * dilation >= size) b--;
    *lo = a;
    *hi = b;
}

/* Per-call constants of the channel loop. */
typedef struct {
    const int32_t *bias, *folded, *multiplier, *shift;
    int32_t c, tap_x, tap_y, wtap_x, wtap_y, output_offset, act_min, act_max;
    int16_t offset;
    uint32x4_t even, odd;
} dw_ctx;

/* Requantized even and odd lanes with the output offset added (wrapping, as the reference), then
 * interleaved into eight int16 by saturating narrows and clamped there: saturating to int16 keeps
 * the order, so clamping afterwards to the int8 activation range gives the reference's values. */
static inline int16x8_t requant8(const dw_ctx *d, int32x4_t acc_e, int32x4_t acc_o, int32x4_t m_e, int32x4_t m_o,
                                 int32x4_t s_e, int32x4_t s_o)
{
    int32x4_t e = vaddq_n_s32(eq_opt_mbqm_mve(acc_e, m_e, s_e), d->output_offset);
    int32x4_t o = vaddq_n_s32(eq_opt_mbqm_mve(acc_o, m_o, s_o), d->output_offset);
    int16x8_t r = vqmovntq_s32(vqmovnbq_s32(vreinterpretq_s16_s32(e), e), o);
    return vminq_s16(vmaxq_s16(r, vdupq_n_s16((int16_t)d->act_min)), vdupq_n_s16((int16_t)d->act_max));
}

/* All nine taps of a 3x3 window (dilation 1) for eight channels, inputs without offset (folded
 * bias): written out because GCC hoists the loads of the C version and spills Q registers.
 * Input taps step c bytes within a row and row_skip to the next row; filter taps step c bytes. */
static inline __attribute__((always_inline)) void taps3x3(const int8_t *x, const int8_t *w, int32_t c, int32_t row_skip,
                                                          int32x4_t *acc_e, int32x4_t *acc_o)
{
    int16x8_t xv, wv;
    int32x4_t pr;
#define EQ_DW_TAP_ASM                                      \
    "vldrb.s16 %q[xv], [%[x]]\n\t"                         \
    "vldrb.s16 %q[wv], [%[w]]\n\t"                         \
    "vmullb.s16 %q[pr], %q[xv], %q[wv]\n\t"                \
    "vadd.i32 %q[e], %q[e], %q[pr]\n\t"                    \
    "vmullt.s16 %q[pr], %q[xv], %q[wv]\n\t"                \
    "vadd.i32 %q[o], %q[o], %q[pr]\n\t"
#define EQ_DW_NEXT_X "add %[x], %[x], %[c]\n\tadd %[w], %[w], %[c]\n\t"
#define EQ_DW_NEXT_ROW "add %[x], %[x], %[skip]\n\tadd %[w], %[w], %[c]\n\t"
    __asm(EQ_DW_TAP_ASM EQ_DW_NEXT_X EQ_DW_TAP_ASM EQ_DW_NEXT_X EQ_DW_TAP_ASM EQ_DW_NEXT_ROW
          EQ_DW_TAP_ASM EQ_DW_NEXT_X EQ_DW_TAP_ASM EQ_DW_NEXT_X EQ_DW_TAP_ASM EQ_DW_NEXT_ROW
          EQ_DW_TAP_ASM EQ_DW_NEXT_X EQ_DW_TAP_ASM EQ_DW_NEXT_X EQ_DW_TAP_ASM
          : [e] "+w"(*acc_e), [o] "+w"(*acc_o), [xv] "=&w"(xv), [wv] "=&w"(wv), [pr] "=&w"(pr),
            [x] "+r"(x), [w] "+r"(w)
          : [c] "r"(c), [skip] "r"(row_skip)
          : "memory");
#undef EQ_DW_TAP_ASM
#undef EQ_DW_NEXT_X
#undef EQ_DW_NEXT_ROW
}

/* One group of eight channels (fewer when tail: then every load and the store are predicated) of one
 * output pixel. folded: the pixel has every tap inside the image and the blob's folded bias is
 * used, so no offset is added to the inputs. Full groups load bias, multipliers and shifts with
 * VLD2 (de-interleaved into the even and odd lanes' order); the tail gathers them. */
static inline __attribute__((always_inline)) void dw_group(const dw_ctx *d, const int8_t *xr, const int8_t *wr, int8_t *out,
                                                           int32_t ch, int32_t ny, int32_t nx, int tail, int folded)
{
    const int32_t left = d->c - ch;
    const mve_pred16_t p16 = vctp16q((uint32_t)left);
    const mve_pred16_t pe = vctp32q((uint32_t)(left + 1) >> 1), po = vctp32q((uint32_t)left >> 1);
    const int32_t *bias = folded ? d->folded : d->bias;
    int32x4_t acc_e, acc_o, m_e, m_o, s_e, s_o;
    if (!tail) {
        int32x4x2_t v = vld2q_s32(bias + ch);
        acc_e = v.val[0];
        acc_o = v.val[1];
    } else {
        const uint32x4_t ie = vaddq_n_u32(d->even, (uint32_t)ch), io = vaddq_n_u32(d->odd, (uint32_t)ch);
        acc_e = vldrwq_gather_shifted_offset_z_s32(bias, ie, pe);
        acc_o = vldrwq_gather_shifted_offset_z_s32(bias, io, po);
    }
#define EQ_DW_TAP(X, W)                                                                       \
    do {                                                                                      \
        int16x8_t xv_ = tail ? vldrbq_z_s16(X, p16) : vldrbq_s16(X);                          \
        if (!folded) xv_ = vaddq_n_s16(xv_, d->offset);                                       \
        int16x8_t wv_ = tail ? vldrbq_z_s16(W, p16) : vldrbq_s16(W);                          \
        acc_e = vaddq_s32(acc_e, vmullbq_int_s16(xv_, wv_));                                  \
        acc_o = vaddq_s32(acc_o, vmulltq_int_s16(xv_, wv_));                                  \
    } while (0)
    if (!EQ_OPT_NO_ASM && !tail && folded && nx == 3 && ny == 3 && d->tap_x == d->wtap_x) {
        taps3x3(xr, wr, d->c, d->tap_y - 2 * d->c, &acc_e, &acc_o);
    } else if (nx == 3 && d->tap_x == d->wtap_x) {
        const int32_t c = d->c;
        for (int32_t ky = 0; ky < ny; ky++, xr += d->tap_y, wr += d->wtap_y) {
            EQ_DW_TAP(xr, wr);
            EQ_DW_TAP(xr + c, wr + c);
            EQ_DW_TAP(xr + 2 * c, wr + 2 * c);
        }
    } else {
        for (int32_t ky = 0; ky < ny; ky++, xr += d->tap_y, wr += d->wtap_y) {
            const int8_t *x = xr, *w = wr;
            for (int32_t kx = 0; kx < nx; kx++, x += d->tap_x, w += d->wtap_x) EQ_DW_TAP(x, w);
        }
    }
#undef EQ_DW_TAP
    if (!tail) {
        int32x4x2_t m = vld2q_s32(d->multiplier + ch), s = vld2q_s32(d->shift + ch);
        m_e = m.val[0]; m_o = m.val[1]; s_e = s.val[0]; s_o = s.val[1];
    } else {
        const uint32x4_t ie = vaddq_n_u32(d->even, (uint32_t)ch), io = vaddq_n_u32(d->odd, (uint32_t)ch);
        m_e = vldrwq_gather_shifted_offset_z_s32(d->multiplier, ie, pe);
        m_o = vldrwq_gather_shifted_offset_z_s32(d->multiplier, io, po);
        s_e = vldrwq_gather_shifted_offset_z_s32(d->shift, ie, pe);
        s_o = vldrwq_gather_shifted_offset_z_s32(d->shift, io, po);
    }
    int16x8_t r = requant8(d, acc_e, acc_o, m_e, m_o, s_e, s_o);
    if (!tail) vstrbq_s16(out + ch, r);
    else vstrbq_p_s16(out + ch, r, p16);
}

eq_status eq_depthwise_conv2d_s8_mve(const eq_conv_params *p)
{
    if (p->depth_multiplier != 1) return EQ_OPT_DECLINED;
    if (p->input_offset < -32768 + 128 || p->input_offset > 32767 - 127) return EQ_OPT_DECLINED;
    const int32_t c = p->out_c, row_stride = p->in_w * c;
    dw_ctx d;
    d.bias = p->bias;
    d.folded = p->folded_bias;
    d.multiplier = p->multipliers;
    d.shift = p->shifts;
    d.c = c;
    d.tap_x = p->dilation_w * c;
    d.tap_y = p->dilation_h * row_stride;
    d.wtap_x = c;
    d.wtap_y = p->k_w * c;
    d.output_offset = p->output_offset;
    d.act_min = p->act_min;
    d.act_max = p->act_max;
    d.offset = (int16_t)p->input_offset;
    d.even = vmulq_n_u32(vidupq_n_u32(0, 1), 2);
    d.odd = vaddq_n_u32(d.even, 1);
    const int32_t c8 = c & ~7;
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
                const int8_t *w0 = p->filter + ky0 * d.wtap_y + kx0 * d.wtap_x;
                const int folded = d.folded != NULL && ny == p->k_h && nx == p->k_w;
                int32_t ch = 0;
                if (folded)
                    for (; ch < c8; ch += 8) dw_group(&d, in0 + ch, w0 + ch, out, ch, ny, nx, 0, 1);
                else
                    for (; ch < c8; ch += 8) dw_group(&d, in0 + ch, w0 + ch, out, ch, ny, nx, 0, 0);
                if (ch < c) dw_group(&d, in0 + ch, w0 + ch, out, ch, ny, nx, 1, 0);
            }
        }
    }
    return EQ_OK;
}

#endif
