/*
 * The reference loop nests, transcribed from the C# definitions (Conv2D.Reference.cs,
 * DepthwiseConv2D.Reference.cs, FullyConnected.Reference.cs) for the bench and the bit-exactness
 * tests. TODO(fw-core merge): replace with the core's reference kernels (firmware/src/kernels, the *_s8.c files)
 * once they land, so the tests compare against the kernels the runtime actually falls back to.
 */
#include "oracle_s8.h"

void oracle_conv2d_s8(const eq_opt_conv_s8 *p)
{
    for (int32_t b = 0; b < p->batches; b++)
        for (int32_t oy = 0; oy < p->out_h; oy++)
            for (int32_t ox = 0; ox < p->out_w; ox++) {
                int32_t iy0 = oy * p->stride_h - p->pad_top, ix0 = ox * p->stride_w - p->pad_left;
                for (int32_t oc = 0; oc < p->out_c; oc++) {
                    uint32_t acc = (uint32_t)p->bias[oc];
                    for (int32_t ky = 0; ky < p->k_h; ky++) {
                        int32_t iy = iy0 + ky * p->dilation_h;
                        if ((uint32_t)iy >= (uint32_t)p->in_h) continue;
                        for (int32_t kx = 0; kx < p->k_w; kx++) {
                            int32_t ix = ix0 + kx * p->dilation_w;
                            if ((uint32_t)ix >= (uint32_t)p->in_w) continue;
                            int32_t in_base = ((b * p->in_h + iy) * p->in_w + ix) * p->in_c;
                            int32_t f_base = ((oc * p->k_h + ky) * p->k_w + kx) * p->in_c;
                            for (int32_t ic = 0; ic < p->in_c; ic++)
                                acc += (uint32_t)((p->input[in_base + ic] + p->input_offset) * p->filter[f_base + ic]);
                        }
                    }
                    p->output[((b * p->out_h + oy) * p->out_w + ox) * p->out_c + oc] = eq_opt_requantize(
                        (int32_t)acc, p->multiplier[oc], p->shift[oc], p->output_offset, p->act_min, p->act_max);
                }
            }
}

void oracle_depthwise_conv2d_s8(const eq_opt_conv_s8 *p)
{
    for (int32_t b = 0; b < p->batches; b++)
        for (int32_t oy = 0; oy < p->out_h; oy++)
            for (int32_t ox = 0; ox < p->out_w; ox++) {
                int32_t iy0 = oy * p->stride_h - p->pad_top, ix0 = ox * p->stride_w - p->pad_left;
                for (int32_t oc = 0; oc < p->out_c; oc++) {
                    int32_t ic = oc / p->depth_multiplier;
                    uint32_t acc = (uint32_t)p->bias[oc];
                    for (int32_t ky = 0; ky < p->k_h; ky++) {
                        int32_t iy = iy0 + ky * p->dilation_h;
                        if ((uint32_t)iy >= (uint32_t)p->in_h) continue;
                        for (int32_t kx = 0; kx < p->k_w; kx++) {
                            int32_t ix = ix0 + kx * p->dilation_w;
                            if ((uint32_t)ix >= (uint32_t)p->in_w) continue;
                            acc += (uint32_t)((p->input[((b * p->in_h + iy) * p->in_w + ix) * p->in_c + ic] + p->input_offset)
                                              * p->filter[(ky * p->k_w + kx) * p->out_c + oc]);
                        }
                    }
                    p->output[((b * p->out_h + oy) * p->out_w + ox) * p->out_c + oc] = eq_opt_requantize(
                        (int32_t)acc, p->multiplier[oc], p->shift[oc], p->output_offset, p->act_min, p->act_max);
                }
            }
}

void oracle_fully_connected_s8(const eq_opt_fc_s8 *p)
{
    for (int32_t b = 0; b < p->batches; b++)
        for (int32_t oc = 0; oc < p->out_c; oc++) {
            uint32_t acc = (uint32_t)p->bias[oc];
            for (int32_t ic = 0; ic < p->in_c; ic++)
                acc += (uint32_t)((p->input[b * p->in_c + ic] + p->input_offset) * p->filter[oc * p->in_c + ic]);
            p->output[b * p->out_c + oc] = eq_opt_requantize(
                (int32_t)acc, p->multiplier[oc], p->shift[oc], p->output_offset, p->act_min, p->act_max);
        }
}
