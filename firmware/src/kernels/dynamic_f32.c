/* The dynamic-quantization ops (40-46): Kernels/DynamicQuantize.cs, DynamicConv2D.Reference.cs,
 * DynamicFullyConnected.Reference.cs and FloatOps.cs, with the same float operations in the same order
 * (build with -ffp-contract=off; clang is told below). Compiled in with EQ_WITH_DYNAMIC_OPS (edgequant.h). */
#include <math.h>
#include "kernels.h"

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

#if EQ_WITH_DYNAMIC_OPS

/* MathF.Round(v, ToEven) for |v| < 2^22 (the callers' range): truncation and the fraction are exact. */
static float round_even(float v)
{
    const int32_t t = (int32_t)v;
    const float frac = v - (float)t;
    int32_t r = t;
    if (frac > 0.5f || (frac == 0.5f && (t & 1) != 0)) r = t + 1;
    else if (frac < -0.5f || (frac == -0.5f && (t & 1) != 0)) r = t - 1;
    return (float)r;
}

/* DynamicQuantize.Saturate: v <= 0 gives 0, v >= 255 gives 255, else (int)v. */
static int32_t saturate_u8(float v) { return v <= 0.0f ? 0 : v >= 255.0f ? 255 : (int32_t)v; }

/* DynamicQuantize.QuantizeU8: range widened to 0 (NaN ignored), scale = (hi - lo) / 255, zero point
 * round_even(-lo / scale) saturated, codes round_even(x / scale) + zero point saturated (NaN: the zero
 * point). An empty or infinite range gives scale 0, zero point 0 and all codes 0. |x / scale| <= 255 and
 * a little, so round_even's range holds. */
static void quantize_u8(const float *x, uint32_t n, uint8_t *q, float *scale, int32_t *zero_point)
{
    float lo = 0.0f, hi = 0.0f, s;
    uint32_t i;
    int32_t zp;
    for (i = 0; i < n; i++)
    {
        const float v = x[i];
        if (v < lo) lo = v;
        if (v > hi) hi = v;
    }
    s = (hi - lo) / 255.0f;
    if (!(s > 0.0f) || s - s != 0.0f)
    {
        *scale = 0.0f;
        *zero_point = 0;
        for (i = 0; i < n; i++) q[i] = 0;
        return;
    }
    zp = saturate_u8(round_even(-lo / s));
    for (i = 0; i < n; i++)
    {
        const float v = x[i] / s;
        q[i] = (uint8_t)(v != v ? zp : saturate_u8(round_even(v) + (float)zp));
    }
    *scale = s;
    *zero_point = zp;
}

/* DynamicQuantize.Output: m = input_scale x weight_scale, y = (float)acc x m, y += bias, then the clamp. */
static float dyn_output(int32_t acc, float input_scale, float weight_scale, float bias, float lo, float hi)
{
    const float m = input_scale * weight_scale;
    float y = (float)acc * m;
    y += bias;
    return y < lo ? lo : y > hi ? hi : y;
}

void eq_dynamic_conv_f32_ref(const eq_dynamic_conv_params *p)
{
    const int32_t cin = p->in_c, cout = p->out_c, kh = p->k_h, kw = p->k_w;
    int32_t b, oy, ox, oc, ky, kx, ic, zp;
    float scale;
    quantize_u8(p->input, (uint32_t)p->batches * (uint32_t)p->in_h * (uint32_t)p->in_w * (uint32_t)cin, p->codes, &scale, &zp);
    for (b = 0; b < p->batches; b++)
        for (oy = 0; oy < p->out_h; oy++)
            for (ox = 0; ox < p->out_w; ox++)
                for (oc = 0; oc < cout; oc++)
                {
                    uint32_t acc = 0; /* C# int: wraps */
                    for (ky = 0; ky < kh; ky++)
                    {
                        const int32_t iy = oy * p->stride_h - p->pad_top + ky * p->dilation_h;
                        if (iy < 0 || iy >= p->in_h) continue;
                        for (kx = 0; kx < kw; kx++)
                        {
                            const int32_t ix = ox * p->stride_w - p->pad_left + kx * p->dilation_w;
                            const uint8_t *c;
                            if (ix < 0 || ix >= p->in_w) continue;
                            c = p->codes + ((int64_t)(b * p->in_h + iy) * p->in_w + ix) * cin;
                            if (p->depth_multiplier > 0)
                                acc += (uint32_t)(((int32_t)c[oc / p->depth_multiplier] - zp) * p->filter[(ky * kw + kx) * cout + oc]);
                            else
                            {
                                const int8_t *w = p->filter + ((int64_t)(oc * kh + ky) * kw + kx) * cin;
                                for (ic = 0; ic < cin; ic++) acc += (uint32_t)(((int32_t)c[ic] - zp) * w[ic]);
                            }
                        }
                    }
                    p->output[((int64_t)(b * p->out_h + oy) * p->out_w + ox) * cout + oc] =
                        dyn_output((int32_t)acc, scale, p->scales[p->scale_count == 1 ? 0 : oc], p->bias[oc], p->f_min, p->f_max);
                }
}

/* FloatOps.MaxPoolF32: the largest value of each window from -infinity; a NaN replaces the maximum. */
void eq_max_pool2d_f32(const eq_pool_params *p, const float *input, float *output)
{
    const int32_t c = p->channels;
    int32_t b, oy, ox, ch, y, x;
    for (b = 0; b < p->batches; b++)
        for (oy = 0; oy < p->out_h; oy++)
            for (ox = 0; ox < p->out_w; ox++)
            {
                const int32_t y0 = oy * p->stride_h - p->pad_top, x0 = ox * p->stride_w - p->pad_left;
                const int32_t ya = y0 > 0 ? y0 : 0, yb = y0 + p->filter_h < p->in_h ? y0 + p->filter_h : p->in_h;
                const int32_t xa = x0 > 0 ? x0 : 0, xb = x0 + p->filter_w < p->in_w ? x0 + p->filter_w : p->in_w;
                for (ch = 0; ch < c; ch++)
                {
                    float m = -INFINITY;
                    for (y = ya; y < yb; y++)
                        for (x = xa; x < xb; x++)
                        {
                            const float v = input[((int64_t)(b * p->in_h + y) * p->in_w + x) * c + ch];
                            if (v > m || v != v) m = v;
                        }
                    output[((int64_t)(b * p->out_h + oy) * p->out_w + ox) * c + ch] = m;
                }
            }
}

/* FloatOps.MeanF32: the float sum over H x W positions in order, divided by (float)(H x W). */
void eq_mean_f32(const float *input, int32_t batches, int32_t h, int32_t w, int32_t channels, float *output)
{
    const int32_t hw = h * w;
    const float count = (float)hw;
    int32_t b, ch, k;
    for (b = 0; b < batches; b++)
        for (ch = 0; ch < channels; ch++)
        {
            float sum = 0.0f;
            for (k = 0; k < hw; k++) sum += input[((int64_t)b * hw + k) * channels + ch];
            output[(int64_t)b * channels + ch] = sum / count;
        }
}

static int32_t bcast(const int32_t *s, int32_t d0, int32_t d1, int32_t d2, int32_t d3)
{
    const int32_t i0 = s[0] == 1 ? 0 : d0, i1 = s[1] == 1 ? 0 : d1, i2 = s[2] == 1 ? 0 : d2, i3 = s[3] == 1 ? 0 : d3;
    return ((i0 * s[1] + i1) * s[2] + i2) * s[3] + i3;
}

/* FloatOps.AddF32: a + b broadcast over the rank-4 views, clamped (NaN passes). */
void eq_add_f32(const float *a, const int32_t *as, const float *b, const int32_t *bs, float *output, const int32_t *os, float lo, float hi)
{
    int32_t d0, d1, d2, d3, i = 0;
    for (d0 = 0; d0 < os[0]; d0++)
        for (d1 = 0; d1 < os[1]; d1++)
            for (d2 = 0; d2 < os[2]; d2++)
                for (d3 = 0; d3 < os[3]; d3++, i++)
                {
                    const float y = a[bcast(as, d0, d1, d2, d3)] + b[bcast(bs, d0, d1, d2, d3)];
                    output[i] = y < lo ? lo : y > hi ? hi : y;
                }
}

/* FloatOps.TransposeF32: output dimension i is input dimension perm[i]. */
void eq_transpose_f32(const float *input, const int32_t *is, float *output, const int32_t *os, const int32_t *perm)
{
    const int32_t stride[4] = { is[1] * is[2] * is[3], is[2] * is[3], is[3], 1 };
    const int32_t s0 = stride[perm[0]], s1 = stride[perm[1]], s2 = stride[perm[2]], s3 = stride[perm[3]];
    int32_t a, b, c, d, i = 0;
    for (a = 0; a < os[0]; a++)
        for (b = 0; b < os[1]; b++)
            for (c = 0; c < os[2]; c++)
                for (d = 0; d < os[3]; d++)
                    output[i++] = input[a * s0 + b * s1 + c * s2 + d * s3];
}
#else
/* Not built (EQ_WITH_DYNAMIC_OPS is 0); ISO C wants a declaration in every translation unit. */
typedef int eq_dynamic_ops_not_built;
#endif
