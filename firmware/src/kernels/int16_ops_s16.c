/* The int16-activation ops of mixed precision and the conversions at precision boundaries (ops 60-65,
 * 70-72): the reference loops of Kernels/Int16Ops.Reference.cs and QuantMath.QuantizeS16, in the same
 * order with the same integer arithmetic. Compiled in with EQ_WITH_MIXED_PRECISION (edgequant.h). */
#include "kernels.h"
#include "quant_math.h"

#if EQ_WITH_MIXED_PRECISION

/* Bias entry oc of a 16x8 op: an int64 read as two little-endian words (the blob is 4-byte aligned). */
static int64_t bias64(const uint8_t *b, int32_t oc)
{
    const uint8_t *e = b + 8 * oc;
    const uint64_t lo = (uint64_t)e[0] | ((uint64_t)e[1] << 8) | ((uint64_t)e[2] << 16) | ((uint64_t)e[3] << 24);
    const uint64_t hi = (uint64_t)e[4] | ((uint64_t)e[5] << 8) | ((uint64_t)e[6] << 16) | ((uint64_t)e[7] << 24);
    return (int64_t)(lo | (hi << 32));
}

/* Int16Ops.Output: the 16x8 requantization of one accumulator, clamped to [lo, hi]. */
static int16_t output16(int64_t acc, int32_t multiplier, int32_t shift, int32_t lo, int32_t hi)
{
    const int64_t v = eq_mbqm_16x8(acc, multiplier, shift);
    return (int16_t)(v < lo ? lo : v > hi ? hi : v);
}

/* ConvS16Reference (and FullyConnectedS16Reference as a 1x1 Conv2D): acc = bias[oc] + sum of input x filter
 * for ky, kx, ic ascending, in int64 (the reader bounds it below 2^47, so nothing wraps). */
void eq_conv_s16_ref(const eq_conv_mixed_params *p)
{
    const int16_t *in = (const int16_t *)p->input;
    const int8_t *f = (const int8_t *)p->filter;
    int16_t *out = (int16_t *)p->output;
    const int32_t cin = p->in_c, cout = p->out_c, kh = p->k_h, kw = p->k_w;
    int32_t b, oy, ox, oc, ky, kx, ic;
    for (b = 0; b < p->batches; b++)
        for (oy = 0; oy < p->out_h; oy++)
            for (ox = 0; ox < p->out_w; ox++)
            {
                const int32_t iy0 = oy * p->stride_h - p->pad_top, ix0 = ox * p->stride_w - p->pad_left;
                for (oc = 0; oc < cout; oc++)
                {
                    int64_t acc = bias64(p->bias, oc);
                    for (ky = 0; ky < kh; ky++)
                    {
                        const int32_t iy = iy0 + ky * p->dilation_h;
                        if ((uint32_t)iy >= (uint32_t)p->in_h) continue;
                        for (kx = 0; kx < kw; kx++)
                        {
                            const int32_t ix = ix0 + kx * p->dilation_w;
                            const int16_t *x;
                            if ((uint32_t)ix >= (uint32_t)p->in_w) continue;
                            x = in + ((int64_t)(b * p->in_h + iy) * p->in_w + ix) * cin;
                            if (p->depth_multiplier > 0)
                                acc += (int32_t)x[oc / p->depth_multiplier] * f[(ky * kw + kx) * cout + oc];
                            else
                            {
                                const int8_t *w = f + ((int64_t)(oc * kh + ky) * kw + kx) * cin;
                                for (ic = 0; ic < cin; ic++) acc += (int32_t)x[ic] * w[ic];
                            }
                        }
                    }
                    out[((int64_t)(b * p->out_h + oy) * p->out_w + ox) * cout + oc] =
                        output16(acc, p->multipliers[oc], p->shifts[oc], p->act_min, p->act_max);
                }
            }
}

static int32_t bcast_index(const int32_t *s, int32_t d0, int32_t d1, int32_t d2, int32_t d3)
{
    const int32_t i0 = s[0] == 1 ? 0 : d0, i1 = s[1] == 1 ? 0 : d1, i2 = s[2] == 1 ? 0 : d2, i3 = s[3] == 1 ? 0 : d3;
    return ((i0 * s[1] + i1) * s[2] + i2) * s[3] + i3;
}

/* AddS16Reference / AddOne: each input x 2^15 rescaled by its multiplier (below one), the wrapping
 * int32 sum rescaled by the output multiplier, clamped. */
void eq_add_s16_ref(const eq_add_s16_params *p)
{
    const int32_t *o = p->out_shape;
    int32_t d0, d1, d2, d3, i = 0;
    for (d0 = 0; d0 < o[0]; d0++)
        for (d1 = 0; d1 < o[1]; d1++)
            for (d2 = 0; d2 < o[2]; d2++)
                for (d3 = 0; d3 < o[3]; d3++, i++)
                {
                    const int32_t x = p->a[bcast_index(p->a_shape, d0, d1, d2, d3)];
                    const int32_t y = p->b[bcast_index(p->b_shape, d0, d1, d2, d3)];
                    const int32_t sa = eq_mbqm_call((int32_t)((uint32_t)x << p->left_shift), p->input1_multiplier, p->input1_shift);
                    const int32_t sb = eq_mbqm_call((int32_t)((uint32_t)y << p->left_shift), p->input2_multiplier, p->input2_shift);
                    const int32_t v = eq_mbqm_call(eq_add_wrap(sa, sb), p->output_multiplier, p->output_shift);
                    p->output[i] = (int16_t)eq_clamp(v, p->act_min, p->act_max);
                }
}

/* MaxPoolS16: the largest code of each window (padding ignored), starting from -32768, clamped. */
void eq_max_pool2d_s16_ref(const eq_pool_params *p, const int16_t *input, int16_t *output)
{
    const int32_t c = p->channels;
    int32_t b, oy, ox, ch, y, x;
    for (b = 0; b < p->batches; b++)
        for (oy = 0; oy < p->out_h; oy++)
            for (ox = 0; ox < p->out_w; ox++)
            {
                const int32_t y0 = oy * p->stride_h - p->pad_top, x0 = ox * p->stride_w - p->pad_left;
                const int32_t ys = y0 > 0 ? y0 : 0, ye = y0 + p->filter_h < p->in_h ? y0 + p->filter_h : p->in_h;
                const int32_t xs = x0 > 0 ? x0 : 0, xe = x0 + p->filter_w < p->in_w ? x0 + p->filter_w : p->in_w;
                for (ch = 0; ch < c; ch++)
                {
                    int32_t m = -32768;
                    for (y = ys; y < ye; y++)
                        for (x = xs; x < xe; x++)
                        {
                            const int32_t v = input[((int64_t)(b * p->in_h + y) * p->in_w + x) * c + ch];
                            if (v > m) m = v;
                        }
                    output[((int64_t)(b * p->out_h + oy) * p->out_w + ox) * c + ch] = (int16_t)eq_clamp(m, p->act_min, p->act_max);
                }
            }
}

void eq_mean_s16_ref(const int16_t *input, int32_t batches, int32_t hw, int32_t channels, int16_t *output, int32_t multiplier, int32_t shift)
{
    int32_t b, ch, i;
    for (b = 0; b < batches; b++)
        for (ch = 0; ch < channels; ch++)
        {
            int64_t acc = 0;
            for (i = 0; i < hw; i++) acc += input[((int64_t)b * hw + i) * channels + ch];
            output[(int64_t)b * channels + ch] = output16(acc, multiplier, shift, -32768, 32767);
        }
}

/* Requantize: clamp(MultiplyByQuantizedMultiplier(q + input_offset) + output_offset) to the output type. */
void eq_requantize_ref(const eq_requantize_params *p)
{
    const int32_t lo = p->out_s16 ? -32768 : -128, hi = p->out_s16 ? 32767 : 127;
    uint32_t i;
    for (i = 0; i < p->count; i++)
    {
        const int32_t q = p->in_s16 ? ((const int16_t *)p->input)[i] : ((const int8_t *)p->input)[i];
        const int32_t v = eq_clamp(eq_add_wrap(eq_mbqm_call(q + p->input_offset, p->multiplier, p->shift), p->output_offset), lo, hi);
        if (p->out_s16) ((int16_t *)p->output)[i] = (int16_t)v;
        else ((int8_t *)p->output)[i] = (int8_t)v;
    }
}

/* QuantMath.QuantizeS16: r = round_half_away(x / scale) (one IEEE single division); NaN gives 0;
 * r >= 32767 gives 32767 and r <= -32768 gives -32768, i.e. x / scale >= 32766.5 or <= -32767.5. */
void eq_quantize_f32_s16(const float *input, int16_t *output, uint32_t count, float scale)
{
    uint32_t i;
    for (i = 0; i < count; i++)
    {
        const float v = input[i] / scale;
        int32_t q;
        if (v != v) q = 0;
        else if (v >= 32766.5f) q = 32767;
        else if (v <= -32767.5f) q = -32768;
        else
        {
            /* |v| < 32768: truncation and the fraction are exact, so this is round-half-away exactly. */
            const int32_t t = (int32_t)v;
            const float frac = v - (float)t;
            q = frac >= 0.5f ? t + 1 : frac <= -0.5f ? t - 1 : t;
        }
        output[i] = (int16_t)q;
    }
}

/* DequantizeS16ToF32: q x scale, one IEEE single multiply. */
void eq_dequantize_s16_f32(const int16_t *input, float *output, uint32_t count, float scale)
{
    uint32_t i;
    for (i = 0; i < count; i++) output[i] = (float)input[i] * scale;
}
#else
/* Not built (EQ_WITH_MIXED_PRECISION is 0); ISO C wants a declaration in every translation unit. */
typedef int eq_int16_ops_not_built;
#endif
