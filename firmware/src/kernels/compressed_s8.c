/* Ops 50-52 and 55-57, the reference loop nest (mirrors Kernels/CompressedKernels.Reference.cs, with the
 * weights read through CompressedFilter.At and, for ops 55-57, the per-channel data through
 * PackedRequant.Decode; ops 50-52 read the int32 bias tensor and per-channel arrays).
 * One loop nest serves the three ops: FullyConnected is a 1x1 Conv2D over [batches, 1, 1, cin]
 * (same products, same wrapping accumulation, same requantization), DepthwiseConv2D reads one
 * filter row with column (ky * Kw + kx) * Cout + oc and input channel oc / depth_multiplier. */
#include "kernels.h"
#include "quant_math.h"
#include "eq_internal.h"

#if EQ_WITH_COMPRESSED_WEIGHTS

/* The int8 value of element (row, col) of output channel oc (docs/format.md 5.10). */
int32_t eq_compressed_weight(const eq_compressed_params *p, int32_t row, int32_t col, int32_t oc)
{
    const uint8_t *r = p->filter + row * p->row_bytes;
    const int32_t group = oc / p->channels_per_group;
    uint32_t nibble;
    if (p->filter_type == EQ_TYPE_INDEX8) return p->codebook[group * 256 + r[col]];
    nibble = ((uint32_t)r[col >> 1] >> ((col & 1) << 2)) & 15u;
    return p->filter_type == EQ_TYPE_INT4 ? (int32_t)(nibble ^ 8u) - 8 : p->codebook[group * 16 + (int32_t)nibble];
}

void eq_compressed_conv_s8_ref(const eq_compressed_params *p)
{
    const int32_t in_h = p->in_h, in_w = p->in_w, cin = p->in_c;
    const int32_t kh = p->k_h, kw = p->k_w;
    const int32_t out_h = p->out_h, out_w = p->out_w, cout = p->out_c;
    const int32_t bb = p->bias_bytes, dm = p->depth_multiplier;
    int32_t b, oy, ox, oc, ky, kx, ic;
    for (b = 0; b < p->batches; b++)
        for (oy = 0; oy < out_h; oy++)
            for (ox = 0; ox < out_w; ox++)
            {
                const int32_t iy0 = oy * p->stride_h - p->pad_top, ix0 = ox * p->stride_w - p->pad_left;
                for (oc = 0; oc < cout; oc++)
                {
                    /* The channel's record entries (PackedRequant.Decode: multiplier = m16 << 15), or its array entries. */
                    const uint8_t *rec = p->record;
                    uint32_t acc;
                    int32_t mult, sh, v;
#if EQ_WITH_OPS_50_52
                    if (rec == NULL)
                    {
                        acc = (uint32_t)p->bias[oc];
                        mult = p->multipliers[oc];
                        sh = p->shifts[oc];
                    }
                    else
#endif
                    {
                        acc = bb == 2 ? (uint32_t)(int32_t)(int16_t)eq_rd_u16(rec + 2 * oc) : eq_rd_u32(rec + 4 * oc);
                        mult = (int32_t)((uint32_t)eq_rd_u16(rec + bb * cout + 2 * oc) << 15);
                        sh = (int8_t)rec[(bb + 2) * cout + oc];
                    }
                    for (ky = 0; ky < kh; ky++)
                    {
                        const int32_t iy = iy0 + ky * p->dilation_h;
                        if ((uint32_t)iy >= (uint32_t)in_h) continue;
                        for (kx = 0; kx < kw; kx++)
                        {
                            const int32_t ix = ix0 + kx * p->dilation_w;
                            const int8_t *in;
                            if ((uint32_t)ix >= (uint32_t)in_w) continue;
                            in = p->input + ((b * in_h + iy) * in_w + ix) * cin;
                            /* The accumulator wraps modulo 2^32 as C#'s int does. */
                            if (dm > 0)
                                acc += (uint32_t)(((int32_t)in[oc / dm] + p->input_offset) * eq_compressed_weight(p, 0, (ky * kw + kx) * cout + oc, oc));
                            else
                                for (ic = 0; ic < cin; ic++)
                                    acc += (uint32_t)(((int32_t)in[ic] + p->input_offset) * eq_compressed_weight(p, oc, (ky * kw + kx) * cin + ic, oc));
                        }
                    }
                    v = eq_add_wrap(eq_mbqm_call((int32_t)acc, mult, sh), p->output_offset);
                    p->output[((b * out_h + oy) * out_w + ox) * cout + oc] = (int8_t)eq_clamp(v, p->act_min, p->act_max);
                }
            }
}

#endif

#if EQ_WITH_SPARSE_WEIGHTS
/* Ops 53-54 (mirrors Kernels/SparseKernels.Reference.cs): row oc's stored entries [start[oc], start[oc + 1])
 * of the u16 columns and int8 values (docs/format.md 5.11); column c is tap c / Cin (ky = tap / Kw,
 * kx = tap % Kw) and input channel c % Cin. FullyConnected is the 1x1 case (c < Cin: tap 0, always inside). */
void eq_sparse_conv_s8_ref(const eq_compressed_params *p)
{
    const int32_t in_h = p->in_h, in_w = p->in_w, cin = p->in_c, kw = p->k_w;
    const int32_t out_h = p->out_h, out_w = p->out_w, cout = p->out_c;
    const uint8_t *starts = p->filter;
    const uint8_t *cols = starts + 4 * (cout + 1);
    const int32_t nnz = eq_rd_i32(starts + 4 * cout);
    const int8_t *values = (const int8_t *)(cols + ((2 * nnz + 3) & ~3));
    int32_t b, oy, ox, oc, i;
    for (b = 0; b < p->batches; b++)
        for (oy = 0; oy < out_h; oy++)
            for (ox = 0; ox < out_w; ox++)
            {
                const int32_t iy0 = oy * p->stride_h - p->pad_top, ix0 = ox * p->stride_w - p->pad_left;
                for (oc = 0; oc < cout; oc++)
                {
                    uint32_t acc = (uint32_t)p->bias[oc];
                    const int32_t end = eq_rd_i32(starts + 4 * (oc + 1));
                    int32_t v;
                    for (i = eq_rd_i32(starts + 4 * oc); i < end; i++)
                    {
                        const int32_t c = eq_rd_u16(cols + 2 * i);
                        const int32_t tap = c / cin, ic = c - tap * cin;
                        const int32_t ky = tap / kw, kx = tap - ky * kw;
                        const int32_t iy = iy0 + ky * p->dilation_h, ix = ix0 + kx * p->dilation_w;
                        if ((uint32_t)iy >= (uint32_t)in_h || (uint32_t)ix >= (uint32_t)in_w) continue;
                        acc += (uint32_t)(((int32_t)p->input[((b * in_h + iy) * in_w + ix) * cin + ic] + p->input_offset) * values[i]);
                    }
                    v = eq_add_wrap(eq_mbqm_call((int32_t)acc, p->multipliers[oc], p->shifts[oc]), p->output_offset);
                    p->output[((b * out_h + oy) * out_w + ox) * cout + oc] = (int8_t)eq_clamp(v, p->act_min, p->act_max);
                }
            }
}
#endif
