/*
 * DepthwiseConv2D with the Cortex-M DSP extension, every case (the dispatcher needs no reference
 * behind it on DSP cores). Depth multiplier 1: channels are contiguous in both the input pixel and
 * the [Kh][Kw][C] filter, so four channels are handled per step: one LDR brings four inputs,
 * SXTAB16 widens them with the input offset added (channels 0,2 and, rotated, 1,3), the filter word
 * is widened likewise, and SMLABB/SMLATT do the four multiply-accumulates; a whole 3x3 window and
 * 3-tap rows are assembly blocks. Leftover channels, and every channel of other depth multipliers
 * (output channel ch reads input channel ch / multiplier), run one at a time. Taps outside the
 * image are skipped, as in the reference, by clipping each pixel's tap range once. Needs no scratch.
 */
#include "kernels_opt.h"

#if EQ_USE_DSP


/* Four channels of one tap into t0..t3: inputs widened with the offset, SMLABB/SMLATT per lane. */
#define TAP4(X, W)                                                                      \
    do {                                                                                \
        uint32_t xv_ = eq_opt_read32(X), wv_ = eq_opt_read32(W);                        \
        int16x2_t xe_ = __sxtab16(off2, (int8x4_t)xv_), xo_ = eq_opt_sxtab16_ror8(off2, xv_); \
        int16x2_t we_ = __sxtb16((int8x4_t)wv_), wo_ = eq_opt_sxtb16_ror8(wv_);         \
        t0 = __smlabb(xe_, we_, t0);                                                    \
        t2 = __smlatt(xe_, we_, t2);                                                    \
        t1 = __smlabb(xo_, wo_, t1);                                                    \
        t3 = __smlatt(xo_, wo_, t3);                                                    \
    } while (0)

/* Three adjacent taps (input and filter both c bytes apart) of four channels: TAP4 three times,
 * written out so the 12 live values stay in registers (GCC hoists the loads of the C version and
 * spills). [base, c, LSL #1] reaches the third tap without a pointer update. */
static inline __attribute__((always_inline)) void row3(const int8_t *x, const int8_t *w, int32_t c, int16x2_t off2,
                                                       int32_t *t0, int32_t *t1, int32_t *t2, int32_t *t3)
{
    uint32_t xa, xb, wa, wb;
#define EQ_DW_TAP(ADDR_X, ADDR_W)                           \
    "ldr %[xa], " ADDR_X "\n\t"                               \
    "ldr %[wa], " ADDR_W "\n\t"                               \
    "sxtab16 %[xb], %[off], %[xa]\n\t"                        \
    "sxtab16 %[xa], %[off], %[xa], ror #8\n\t"                \
    "sxtb16 %[wb], %[wa]\n\t"                                 \
    "sxtb16 %[wa], %[wa], ror #8\n\t"                         \
    "smlabb %[t0], %[xb], %[wb], %[t0]\n\t"                   \
    "smlatt %[t2], %[xb], %[wb], %[t2]\n\t"                   \
    "smlabb %[t1], %[xa], %[wa], %[t1]\n\t"                   \
    "smlatt %[t3], %[xa], %[wa], %[t3]\n\t"
    __asm(EQ_DW_TAP("[%[x]]", "[%[w]]")
          EQ_DW_TAP("[%[x], %[c]]", "[%[w], %[c]]")
          EQ_DW_TAP("[%[x], %[c], lsl #1]", "[%[w], %[c], lsl #1]")
          : [t0] "+r"(*t0), [t1] "+r"(*t1), [t2] "+r"(*t2), [t3] "+r"(*t3),
            [xa] "=&r"(xa), [xb] "=&r"(xb), [wa] "=&r"(wa), [wb] "=&r"(wb)
          : [x] "r"(x), [w] "r"(w), [c] "r"(c), [off] "r"(off2)
          : "memory");
#undef EQ_DW_TAP
}

/* A whole 3x3 window of four channels: row3 three times, rows tap_y (input) and 3c (filter) apart,
 * as one block of 13 live registers, without the row loop around it. */
static inline __attribute__((always_inline)) void window3x3(const int8_t *x, const int8_t *w, int32_t c, int32_t tap_y,
                                                            int16x2_t off2, int32_t *t0, int32_t *t1,
                                                            int32_t *t2, int32_t *t3)
{
    uint32_t xa, xb, wa, wb;
#define EQ_DW_TAP(ADDR_X, ADDR_W)                           \
    "ldr %[xa], " ADDR_X "\n\t"                               \
    "ldr %[wa], " ADDR_W "\n\t"                               \
    "sxtab16 %[xb], %[off], %[xa]\n\t"                        \
    "sxtab16 %[xa], %[off], %[xa], ror #8\n\t"                \
    "sxtb16 %[wb], %[wa]\n\t"                                 \
    "sxtb16 %[wa], %[wa], ror #8\n\t"                         \
    "smlabb %[t0], %[xb], %[wb], %[t0]\n\t"                   \
    "smlatt %[t2], %[xb], %[wb], %[t2]\n\t"                   \
    "smlabb %[t1], %[xa], %[wa], %[t1]\n\t"                   \
    "smlatt %[t3], %[xa], %[wa], %[t3]\n\t"
#define EQ_DW_ROW                                           \
    EQ_DW_TAP("[%[x]]", "[%[w]]")                             \
    EQ_DW_TAP("[%[x], %[c]]", "[%[w], %[c]]")                 \
    EQ_DW_TAP("[%[x], %[c], lsl #1]", "[%[w], %[c], lsl #1]")
    __asm(EQ_DW_ROW
          "add %[x], %[x], %[ty]\n\t"
          "add %[w], %[w], %[c], lsl #1\n\t"
          "add %[w], %[w], %[c]\n\t"
          EQ_DW_ROW
          "add %[x], %[x], %[ty]\n\t"
          "add %[w], %[w], %[c], lsl #1\n\t"
          "add %[w], %[w], %[c]\n\t"
          EQ_DW_ROW
          : [t0] "+r"(*t0), [t1] "+r"(*t1), [t2] "+r"(*t2), [t3] "+r"(*t3), [x] "+r"(x), [w] "+r"(w),
            [xa] "=&r"(xa), [xb] "=&r"(xb), [wa] "=&r"(wa), [wb] "=&r"(wb)
          : [c] "r"(c), [off] "r"(off2), [ty] "r"(tap_y)
          : "memory");
#undef EQ_DW_ROW
#undef EQ_DW_TAP
}

/* Valid taps k in [lo, hi) of one axis: 0 <= start + k * dilation < size. */
static void tap_range(int32_t start, int32_t dilation, int32_t taps, int32_t size, int32_t *lo, int32_t *hi)
{
    int32_t a = 0, b = taps;
    while (a < b && start + a * dilation < 0) a++;
    while (b > a && start + (b - 1) * dilation >= size) b--;
    *lo = a;
    *hi = b;
}

static void depthwise_body(const eq_conv_params *p)
{
    /* Output channel ch reads input channel ch / mult; with mult 1 (cin == c) four channels per step. */
    const int32_t c = p->out_c, cin = p->in_c, mult = p->depth_multiplier, off = p->input_offset;
    const int32_t row_stride = p->in_w * cin, tap_x = p->dilation_w * cin, tap_y = p->dilation_h * row_stride;
    const int32_t wtap_x = c, wtap_y = p->k_w * c;
    const int16x2_t off2 = (int16x2_t)(((uint32_t)off & 0xFFFFu) | ((uint32_t)off << 16));
    const int32_t *bias = p->bias;
    const eq_opt_requant_params rq = eq_opt_requant_of(p->multipliers, p->shifts, p->output_offset, p->act_min, p->act_max);
    int8_t *out = p->output;
    for (int32_t b = 0; b < p->batches; b++) {
        const int8_t *image = p->input + b * p->in_h * row_stride;
        for (int32_t oy = 0; oy < p->out_h; oy++) {
            const int32_t iy0 = oy * p->stride_h - p->pad_top;
            int32_t ky0, ky1;
            tap_range(iy0, p->dilation_h, p->k_h, p->in_h, &ky0, &ky1);
            for (int32_t ox = 0; ox < p->out_w; ox++, out += c) {
                const int32_t ix0 = ox * p->stride_w - p->pad_left;
                int32_t kx0 = 0, kx1 = p->k_w;
                if (ix0 < 0 || ix0 + (p->k_w - 1) * p->dilation_w >= p->in_w) tap_range(ix0, p->dilation_w, p->k_w, p->in_w, &kx0, &kx1);
                const int32_t ny = ky1 - ky0, nx = kx1 - kx0;
                const int8_t *in0 = image + (iy0 + ky0 * p->dilation_h) * row_stride + (ix0 + kx0 * p->dilation_w) * cin;
                const int8_t *w0 = p->filter + ky0 * wtap_y + kx0 * wtap_x;
                int32_t ch = 0;
                for (; mult == 1 && ch + 4 <= c; ch += 4) {
                    int32_t t0 = bias[ch], t1 = bias[ch + 1], t2 = bias[ch + 2], t3 = bias[ch + 3];
                    const int8_t *xr = in0 + ch, *wr = w0 + ch;
                    if (!EQ_OPT_NO_ASM && nx == 3 && ny == 3 && tap_x == wtap_x && wtap_y == 3 * c) {
                        window3x3(xr, wr, c, tap_y, off2, &t0, &t1, &t2, &t3);
                    } else if (!EQ_OPT_NO_ASM && nx == 3 && tap_x == wtap_x) {
                        for (int32_t ky = 0; ky < ny; ky++, xr += tap_y, wr += wtap_y) row3(xr, wr, c, off2, &t0, &t1, &t2, &t3);
                    } else {
                        for (int32_t ky = 0; ky < ny; ky++, xr += tap_y, wr += wtap_y) {
                            const int8_t *x = xr, *w = wr;
                            for (int32_t kx = 0; kx < nx; kx++, x += tap_x, w += wtap_x) TAP4(x, w);
                        }
                    }
                    eq_opt_requant4(&rq, ch, (uint32_t)t0, (uint32_t)t1, (uint32_t)t2, (uint32_t)t3, out + ch);
                }
                for (; ch < c; ch++) {
                    uint32_t s = (uint32_t)bias[ch];
                    const int8_t *xr = in0 + ch / mult, *wr = w0 + ch;
                    for (int32_t ky = 0; ky < ny; ky++, xr += tap_y, wr += wtap_y) {
                        const int8_t *x = xr, *w = wr;
                        for (int32_t kx = 0; kx < nx; kx++, x += tap_x, w += wtap_x) s += (uint32_t)((*x + off) * *w);
                    }
                    out[ch] = eq_opt_requant_one(&rq, ch, s);
                }
            }
        }
    }
}

eq_status eq_depthwise_conv2d_s8_dsp(const eq_conv_params *p)
{
    depthwise_body(p);
    return EQ_OK;
}

#endif
