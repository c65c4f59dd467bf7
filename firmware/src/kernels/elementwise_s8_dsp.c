/*
 * Add/Sub with the DSP extension, and the broadcast walk shared with the Helium path
 * (elementwise_s8_mve.c). The output is walked in rows of its innermost dimension (the whole
 * tensor as one row when neither input broadcasts); each input steps 1 or 0 (broadcast) along the
 * row, so no per-element index arithmetic is left.
 *
 * Per element the reference does three requantizations (quant_math.h eq_mbqm). Its high multiply
 * srdhm(v, m) = floor((v * m + 2^30) / 2^31) equals SMMULR(2v, m) = floor((2v * m + 2^31) / 2^32)
 * whenever 2v fits int32 (and v is then never the saturating INT32_MIN). The row kernel takes its
 * SMMULR loop for the converter's common case (add_row_dsp: one input at one half, no Sub, right
 * shifts) after checking once per call that every value it will multiply is below 2^30 in
 * magnitude: inputs (x + offset) << left_shift with x any int8, and the sum of the two rescaled
 * inputs. Every other call runs the reference's arithmetic per element (eq_opt_add_one).
 */
#include "kernels_opt.h"

#if EQ_USE_DSP || EQ_USE_MVE

static int32_t bcast_base(const int32_t *s, int32_t d0, int32_t d1, int32_t d2)
{
    const int32_t i0 = s[0] == 1 ? 0 : d0, i1 = s[1] == 1 ? 0 : d1, i2 = s[2] == 1 ? 0 : d2;
    return ((i0 * s[1] + i1) * s[2] + i2) * s[3];
}

eq_status eq_opt_add_s8_rows(const eq_elementwise_params *p, int subtract, eq_opt_add_row_fn row)
{
    const eq_opt_add_ctx c = {
        p->input1_offset, p->input2_offset, p->left_shift, p->input1_multiplier, p->input1_shift, p->input2_multiplier,
        p->input2_shift, p->output_multiplier, p->output_shift, p->output_offset, p->act_min, p->act_max, subtract,
    };
    const int32_t *o = p->out_shape, *as = p->a_shape, *bs = p->b_shape;
    int same = 1;
    for (int d = 0; d < 4; d++) same &= as[d] == o[d] && bs[d] == o[d];
    if (same) {
        row(&c, p->a, 1, p->b, 1, p->output, o[0] * o[1] * o[2] * o[3]);
        return EQ_OK;
    }
    const int32_t sa = as[3] == 1 ? 0 : 1, sb = bs[3] == 1 ? 0 : 1;
    int8_t *y = p->output;
    for (int32_t d0 = 0; d0 < o[0]; d0++)
        for (int32_t d1 = 0; d1 < o[1]; d1++)
            for (int32_t d2 = 0; d2 < o[2]; d2++, y += o[3])
                row(&c, p->a + bcast_base(as, d0, d1, d2), sa, p->b + bcast_base(bs, d0, d1, d2), sb, y, o[3]);
    return EQ_OK;
}

#endif

#if EQ_USE_DSP

/* SMMULR: floor((a * m + 2^31) / 2^32), which is srdhm(v, m) for a = 2v, |v| < 2^30. */
static inline int32_t smmulr(int32_t a, int32_t m)
{
    int32_t r;
    __asm("smmulr %0, %1, %2" : "=r"(r) : "r"(a), "r"(m));
    return r;
}

/* Largest |x + off| over int8 x. */
static int64_t span(int32_t off) { return off >= 0 ? (int64_t)off + 128 : 128 - (int64_t)off; }

/*
 * Rows of an Add whose inputs both step along the row, in the converter's common case (as TFLite's parameters): the
 * input of the larger scale is one half (2^30, shift 0), the other and the output shift right. With v = (x + offset) <<
 * left_shift (even, left_shift >= 1), the half input's srdhm(v, 2^30) is v / 2 exactly, so it needs no multiply; the other
 * is SMMULR(2v, m) rounded by its shift e >= 1 as (t + 2^(e-1) - [t < 0]) >> e, which is rounding half away from zero
 * (quant_math.h eq_rounding_divide_by_pot) for |t| < 2^30. The output's srdhm takes twice the sum directly:
 * 2 (v_half / 2 + t) = (x_half << left_shift) + (offset_half << left_shift) + 2t. Anything else, and any call whose
 * operands could reach 2^30 (checked once, as before), runs the reference's arithmetic per element (eq_opt_add_one):
 * about as fast as the general SMMULR loop this replaced (some 66 instructions per element, its 16 scalars reloaded from
 * the stack), in less code.
 */
static void add_row_dsp(const eq_opt_add_ctx *c, const int8_t *a, int32_t sa, const int8_t *b, int32_t sb, int8_t *y, int32_t n)
{
    const int32_t ls = c->left_shift;
    const int h1 = eq_opt_add_half(c->m1, c->s1), h2 = eq_opt_add_half(c->m2, c->s2);
    const int64_t in1 = span(c->off1) << ls, in2 = span(c->off2) << ls;
    if (sa && sb && !c->subtract && h1 != h2 && ls >= 1 && ls <= 30 && (h1 ? c->s2 : c->s1) < 0 && c->so < 0
        && in1 < (1 << 30) && in2 < (1 << 30) && in1 + in2 < (1 << 30)) {
        /* h: the half input, g: the other (Add is symmetric). */
        const int8_t *h = h1 ? a : b, *g = h1 ? b : a;
        const int32_t offh = (int32_t)((uint32_t)(h1 ? c->off1 : c->off2) << ls), ls1 = ls + 1;
        const int32_t offg = (int32_t)((uint32_t)(h1 ? c->off2 : c->off1) << ls1), mg = h1 ? c->m2 : c->m1;
        const int32_t eg = -(h1 ? c->s2 : c->s1), rg = 1 << (eg - 1), mo = c->mo, eo = -c->so, ro = 1 << (eo - 1);
        const int32_t out_off = c->out_off, amin = c->act_min, amax = c->act_max;
        for (int32_t i = 0; i < n; i++) {
            int32_t t = smmulr((int32_t)((uint32_t)g[i] << ls1) + offg, mg);
            t = (t + rg - (int32_t)((uint32_t)t >> 31)) >> eg;
            int32_t v = smmulr((int32_t)((uint32_t)h[i] << ls) + offh + 2 * t, mo);
            v = ((v + ro - (int32_t)((uint32_t)v >> 31)) >> eo) + out_off;
            y[i] = (int8_t)eq_clamp(v, amin, amax);
        }
        return;
    }
    for (int32_t i = 0; i < n; i++, a += sa, b += sb) y[i] = eq_opt_add_one(c, *a, *b);
}

eq_status eq_add_s8_dsp(const eq_elementwise_params *p, int subtract)
{
    return eq_opt_add_s8_rows(p, subtract, add_row_dsp);
}
#endif
