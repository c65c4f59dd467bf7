/*
 * DepthwiseConv2D in portable C (cores without DSP/MVE: kernels.h EQ_USE_C_OPT), any depth
 * multiplier. Output channel oc reads input channel oc / multiplier; channels are innermost in the
 * input pixel and in the [Kh][Kw][Cout] filter. Each output pixel's taps are clipped to the image
 * once (the reference skips taps outside it). A 3x3 window wholly inside the image (stride any,
 * dilation 1, multiplier 1) runs its nine taps written out on raw int8 inputs from bias +
 * input_offset * (sum of the nine taps), computed per call: 9 LDRSB pairs and 9 MLA per output;
 * other pixels add the offset per tap as the reference does. Accumulators are gathered for up to
 * EQ_C_DW_RUN channels and requantized in one loop (quant_math.h's eq_mbqm).
 */
#include "kernels_opt.h"

#if EQ_USE_C_OPT

#if defined(__GNUC__) && !defined(__clang__)
/* The Cortex-M3 has no code budget to meet: its images (built -Os) get these loops as -O2 builds them. */
#pragma GCC optimize("O2")
#endif

/* Valid taps k in [lo, hi) of one axis: 0 <= start + k * dilation < size. */
static void tap_range(int32_t start, int32_t dilation, int32_t taps, int32_t size, int32_t *lo, int32_t *hi)
{
    int32_t a = 0, b = taps;
    while (a < b && start + a * dilation < 0) a++;
    while (b > a && start + (b - 1) * dilation >= size) b--;
    *lo = a;
    *hi = b;
}

/* Nine taps of channels [0, count) of an interior 3x3 window into acc, starting from bias[]
 * (the offset already folded in; depth multiplier 1): rows x, x + row, x + 2 row, taps c apart; filter rows w, w + 3c, w + 6c. Out of
 * line so the loop has the registers to itself. */
static __attribute__((noinline)) void taps9_folded(const int8_t *x, int32_t row, int32_t c, const int8_t *w,
                                                   const int32_t *bias, int32_t count, int32_t *acc)
{
    const int8_t *x1 = x + row, *x2 = x1 + row, *w1 = w + 3 * c, *w2 = w1 + 3 * c;
    const int32_t *end = bias + count;
    do {
        /* The nine products are small; the start value is any int32 (added modulo 2^32). */
        int32_t s = x[0] * w[0] + x[c] * w[c] + x[2 * c] * w[2 * c];
        s += x1[0] * w1[0] + x1[c] * w1[c] + x1[2 * c] * w1[2 * c];
        s += x2[0] * w2[0] + x2[c] * w2[c] + x2[2 * c] * w2[2 * c];
        *acc++ = (int32_t)((uint32_t)*bias++ + (uint32_t)s);
        x++, x1++, x2++, w++, w1++, w2++;
    } while (bias != end);
}

/* One filter row (three taps, c apart) of two horizontally adjacent interior windows (stride 1),
 * channels [0, count): ab[2i] += x[0]w[0] + x[c]w[c] + x[2c]w[2c] and ab[2i+1] += x[c]w[0] +
 * x[2c]w[c] + x[3c]w[2c]: four input and three filter loads for six MLA. Without GCC's induction
 * variable rewrite the taps stay register offsets of two pointers and nothing spills. */
static __attribute__((noinline)) EQ_OPT_GCC_OPTIMIZE("no-ivopts") void row3_pair(const int8_t *x, int32_t c, const int8_t *w,
                                                                       int32_t count, int32_t *ab)
{
    const int32_t *end = ab + 2 * count;
    const int32_t c3 = 3 * c;
    do {
        const int32_t w0 = w[0], w1 = w[c], w2 = w[2 * c];
        /* Wrapping sums (the start values are any int32). */
        uint32_t a = (uint32_t)ab[0], b = (uint32_t)ab[1];
        int32_t v;
        v = x[0];
        a += (uint32_t)(v * w0);
        v = x[c];
        a += (uint32_t)(v * w1);
        b += (uint32_t)(v * w0);
        v = x[2 * c];
        a += (uint32_t)(v * w2);
        b += (uint32_t)(v * w1);
        v = x[c3];
        b += (uint32_t)(v * w2);
        ab[0] = (int32_t)a;
        ab[1] = (int32_t)b;
        ab += 2;
        x++;
        w++;
    } while (ab != end);
}

/* acc[i] += (x[i] + off) * w[i] for one tap of channels [0, count) (depth multiplier 1). */
static __attribute__((noinline)) void tap_pass(const int8_t *x, const int8_t *w, int32_t off, int32_t count, int32_t *acc)
{
    const int32_t *end = acc + count;
    do {
        *acc = (int32_t)((uint32_t)*acc + (uint32_t)((*x++ + off) * *w++));
        acc++;
    } while (acc != end);
}

/* Requantizes acc[0..count) of channels oc0.. into y (quant_math.h's eq_mbqm); with a second
 * output y2 (not NULL), acc holds pairs (y's, y2's) sharing each channel's parameters. */
static __attribute__((noinline)) void requant_run(const eq_c_requant *r, int32_t oc0, const int32_t *acc, int32_t count,
                                                  int8_t *y, int8_t *y2)
{
    const int32_t *m = r->multiplier + oc0, *sh = r->shift + oc0;
    const int32_t off = r->output_offset, lo = r->act_min, hi = r->act_max;
    if (y2 == NULL) {
        for (int32_t i = 0; i < count; i++) y[i] = (int8_t)eq_clamp(eq_add_wrap(eq_mbqm(acc[i], m[i], sh[i]), off), lo, hi);
        return;
    }
    for (int32_t i = 0; i < count; i++, acc += 2) {
        const int32_t shift = sh[i], mul = m[i];
        const int left = shift > 0 ? (int)shift : 0, right = shift > 0 ? 0 : (int)-shift;
        const int32_t mask = (int32_t)((1u << right) - 1u), half = mask >> 1;
        int32_t va = eq_srdhm((int32_t)((uint32_t)acc[0] << left), mul), vb = eq_srdhm((int32_t)((uint32_t)acc[1] << left), mul);
        va = (va >> right) + ((va & mask) > half + (int32_t)((uint32_t)va >> 31) ? 1 : 0);
        vb = (vb >> right) + ((vb & mask) > half + (int32_t)((uint32_t)vb >> 31) ? 1 : 0);
        y[i] = (int8_t)eq_clamp(eq_add_wrap(va, off), lo, hi);
        y2[i] = (int8_t)eq_clamp(eq_add_wrap(vb, off), lo, hi);
    }
}

/* Channels per accumulator run (stack: 4 bytes each). */
#define EQ_C_DW_RUN 32

eq_status eq_depthwise_conv2d_s8_c(const eq_conv_params *p)
{
    const int32_t cin = p->in_c, cout = p->out_c, mult = p->depth_multiplier, off = p->input_offset;
    const int32_t row = p->in_w * cin, tap_x = p->dilation_w * cin, tap_y = p->dilation_h * row;
    const int32_t wtap_y = p->k_w * cout;
    const eq_c_requant rq = { p->multipliers, p->shifts, p->output_offset, p->act_min, p->act_max };
    const int32_t *bias = p->bias;
    const int nine = p->k_h == 3 && p->k_w == 3 && p->dilation_h == 1 && p->dilation_w == 1 && mult == 1;
    int32_t acc[EQ_C_DW_RUN], fold[EQ_C_DW_RUN], acc2[2 * EQ_C_DW_RUN];
    for (int32_t c0 = 0; c0 < cout; c0 += EQ_C_DW_RUN) {
        const int32_t count = cout - c0 < EQ_C_DW_RUN ? cout - c0 : EQ_C_DW_RUN;
        /* bias + input_offset * (sum of the nine taps), wrapping: the reference's accumulator
         * start for a window wholly inside the image, so those multiply raw inputs. Computed here
         * from the filter (the blob's folded bias is not used: the reference never reads it). */
        if (nine)
            for (int32_t i = 0; i < count; i++) {
                uint32_t t = 0;
                for (int32_t j = 0; j < 9; j++) t += (uint32_t)(int32_t)p->filter[j * cout + c0 + i];
                fold[i] = (int32_t)((uint32_t)bias[c0 + i] + (uint32_t)off * t);
            }
        int8_t *out = p->output + c0;
        for (int32_t b = 0; b < p->batches; b++) {
            const int8_t *image = p->input + b * p->in_h * row;
            for (int32_t oy = 0; oy < p->out_h; oy++) {
                const int32_t iy0 = oy * p->stride_h - p->pad_top;
                int32_t ky0, ky1;
                tap_range(iy0, p->dilation_h, p->k_h, p->in_h, &ky0, &ky1);
                for (int32_t ox = 0; ox < p->out_w; ox++, out += cout) {
                    const int32_t ix0 = ox * p->stride_w - p->pad_left;
                    int32_t kx0, kx1;
                    tap_range(ix0, p->dilation_w, p->k_w, p->in_w, &kx0, &kx1);
                    const int32_t ny = ky1 - ky0, nx = kx1 - kx0;
                    const int8_t *in0 = image + (iy0 + ky0 * p->dilation_h) * row + (ix0 + kx0 * p->dilation_w) * cin;
                    const int8_t *w0 = p->filter + ky0 * wtap_y + kx0 * cout;
                    if (nine && ny == 3 && nx == 3) {
                        if (p->stride_w == 1 && ox + 1 < p->out_w && ix0 + 4 <= p->in_w) {
                            /* This window and the next, both inside the image: three row passes. */
                            for (int32_t i = 0; i < count; i++) acc2[2 * i] = acc2[2 * i + 1] = fold[i];
                            for (int32_t ky = 0; ky < 3; ky++) row3_pair(in0 + c0 + ky * row, cin, w0 + c0 + ky * wtap_y, count, acc2);
                            requant_run(&rq, c0, acc2, count, out, out + cout);
                            ox++;
                            out += cout;
                            continue;
                        }
                        taps9_folded(in0 + c0, row, cin, w0 + c0, fold, count, acc);
                    } else if (mult == 1) {
                        for (int32_t i = 0; i < count; i++) acc[i] = bias[c0 + i];
                        for (int32_t ky = 0; ky < ny; ky++)
                            for (int32_t kx = 0; kx < nx; kx++)
                                tap_pass(in0 + c0 + ky * tap_y + kx * tap_x, w0 + c0 + ky * wtap_y + kx * cout, off, count, acc);
                    } else {
                        for (int32_t i = 0; i < count; i++) {
                            const int32_t oc = c0 + i;
                            uint32_t s = (uint32_t)bias[oc];
                            const int8_t *xr = in0 + oc / mult, *wr = w0 + oc;
                            for (int32_t ky = 0; ky < ny; ky++, xr += tap_y, wr += wtap_y) {
                                const int8_t *x = xr, *w = wr;
                                for (int32_t kx = 0; kx < nx; kx++, x += tap_x, w += cout) s += (uint32_t)((*x + off) * *w);
                            }
                            acc[i] = (int32_t)s;
                        }
                    }
                    requant_run(&rq, c0, acc, count, out, NULL);
                }
            }
        }
    }
    return EQ_OK;
}

#endif
