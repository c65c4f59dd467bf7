/* MaxPool2D and AveragePool2D: the reference (mirrors Kernels/Pooling.Reference.cs) and dispatchers. */
#include "kernels.h"
#include "quant_math.h"

#define EQ_MAX(a, b) ((a) > (b) ? (a) : (b))
#define EQ_MIN(a, b) ((a) < (b) ? (a) : (b))

void eq_max_pool2d_s8_ref(const eq_pool_params *p)
{
    const int32_t in_h = p->in_h, in_w = p->in_w, c = p->channels;
    int32_t b, oy, ox, ch, y, x;
    for (b = 0; b < p->batches; b++)
        for (oy = 0; oy < p->out_h; oy++)
            for (ox = 0; ox < p->out_w; ox++)
            {
                const int32_t y0 = oy * p->stride_h - p->pad_top, x0 = ox * p->stride_w - p->pad_left;
                const int32_t ys = EQ_MAX(0, y0), ye = EQ_MIN(in_h, y0 + p->filter_h);
                const int32_t xs = EQ_MAX(0, x0), xe = EQ_MIN(in_w, x0 + p->filter_w);
                for (ch = 0; ch < c; ch++)
                {
                    int32_t m = -128;
                    for (y = ys; y < ye; y++)
                        for (x = xs; x < xe; x++)
                        {
                            const int32_t v = p->input[((b * in_h + y) * in_w + x) * c + ch];
                            m = EQ_MAX(m, v);
                        }
                    p->output[((b * p->out_h + oy) * p->out_w + ox) * c + ch] = (int8_t)eq_clamp(m, p->act_min, p->act_max);
                }
            }
}

void eq_average_pool2d_s8_ref(const eq_pool_params *p)
{
    const int32_t in_h = p->in_h, in_w = p->in_w, c = p->channels;
    int32_t b, oy, ox, ch, y, x;
    for (b = 0; b < p->batches; b++)
        for (oy = 0; oy < p->out_h; oy++)
            for (ox = 0; ox < p->out_w; ox++)
            {
                const int32_t y0 = oy * p->stride_h - p->pad_top, x0 = ox * p->stride_w - p->pad_left;
                const int32_t ys = EQ_MAX(0, y0), ye = EQ_MIN(in_h, y0 + p->filter_h);
                const int32_t xs = EQ_MAX(0, x0), xe = EQ_MIN(in_w, x0 + p->filter_w);
                /* Padding below the filter size (checked at load) keeps count >= 1. */
                const int32_t count = (ye - ys) * (xe - xs);
                for (ch = 0; ch < c; ch++)
                {
                    int32_t sum = 0, avg;
                    for (y = ys; y < ye; y++)
                        for (x = xs; x < xe; x++)
                            sum += p->input[((b * in_h + y) * in_w + x) * c + ch];
                    avg = sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
                    p->output[((b * p->out_h + oy) * p->out_w + ox) * c + ch] = (int8_t)eq_clamp(avg, p->act_min, p->act_max);
                }
            }
}

void eq_max_pool2d_s8(const eq_pool_params *p)
{
#if EQ_USE_MVE
    if (eq_max_pool2d_s8_mve(p) == EQ_OK) return;
#endif
#if EQ_USE_DSP
    /* The DSP path covers every case: the reference is not linked into DSP images. */
    (void)eq_max_pool2d_s8_dsp(p);
#else
    eq_max_pool2d_s8_ref(p);
#endif
}

void eq_average_pool2d_s8(const eq_pool_params *p)
{
#if EQ_USE_MVE
    if (eq_average_pool2d_s8_mve(p) == EQ_OK) return;
#endif
#if EQ_USE_DSP
    /* The DSP path covers every case: the reference is not linked into DSP images. */
    (void)eq_average_pool2d_s8_dsp(p);
#else
    eq_average_pool2d_s8_ref(p);
#endif
}
