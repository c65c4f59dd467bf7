/*
 * Conv2D and FullyConnected, optimized: every output pixel (FullyConnected: every batch row) is one
 * GEMM row against the [Cout][K] filter, two rows at a time through a micro-kernel: gemm_s8_dsp.c
 * (SMLAD) for eq_conv2d_s8_dsp here, gemm_s8_mve.c (VMLADAVA) for eq_conv2d_s8_mve in
 * conv2d_s8_mve.c. The pixel walk and im2col below are shared by both.
 *
 * 1x1 filters without padding read each pixel's channels in place (no scratch). Other filters
 * gather each pixel's receptive field into an im2col row in the op's arena scratch; taps outside
 * the image are filled with -input_offset, whose offset-added value is 0, exactly the reference's
 * skipped tap. That needs -input_offset to fit int8, true for every int8 zero point; otherwise,
 * or with too little scratch (fewer than K bytes), the reference runs.
 */
#include "kernels_opt.h"

#if EQ_USE_DSP || EQ_USE_MVE

static void im2col_row(const eq_conv_params *p, const int8_t *image, int32_t oy, int32_t ox, int8_t *col)
{
    const int8_t pad = (int8_t)(-p->input_offset);
    const int32_t cin = p->in_c, row_len = p->k_w * cin;
    const int32_t iy0 = oy * p->stride_h - p->pad_top, ix0 = ox * p->stride_w - p->pad_left;
    const int32_t ix_last = ix0 + (p->k_w - 1) * p->dilation_w;
    for (int32_t ky = 0; ky < p->k_h; ky++, col += row_len) {
        int32_t iy = iy0 + ky * p->dilation_h;
        if ((uint32_t)iy >= (uint32_t)p->in_h) {
            memset(col, pad, (size_t)row_len);
            continue;
        }
        const int8_t *src = image + iy * p->in_w * cin;
        if (p->dilation_w == 1 && ix0 >= 0 && ix_last < p->in_w) {
            memcpy(col, src + ix0 * cin, (size_t)row_len);
            continue;
        }
        int8_t *dst = col;
        for (int32_t kx = 0; kx < p->k_w; kx++, dst += cin) {
            int32_t ix = ix0 + kx * p->dilation_w;
            if ((uint32_t)ix >= (uint32_t)p->in_w) memset(dst, pad, (size_t)cin);
            else memcpy(dst, src + ix * cin, (size_t)cin);
        }
    }
}

eq_status eq_opt_conv2d_s8_gemm(const eq_conv_params *p, eq_opt_gemm_rows2_fn rows2_fn, eq_opt_gemm_row1_fn row1_fn)
{
    int8_t *scratch = p->scratch;
    const uint32_t scratch_bytes = p->scratch_bytes;
    const int32_t k = p->k_h * p->k_w * p->in_c;
    const int32_t pixels = p->out_h * p->out_w, cout = p->out_c;
    /* With the blob's folded bias (bias + input_offset * sum of the filter row) the micro-kernels
     * multiply the raw int8 inputs; a padding tap's -input_offset then cancels its share of the fold. */
    const eq_opt_gemm_s8 g = {
        p->filter, p->folded_bias ? p->folded_bias : p->bias, p->multipliers, p->shifts, k, cout,
        p->folded_bias ? 0 : p->input_offset, p->output_offset, p->act_min, p->act_max,
    };
    /* 1x1 in place only when every output pixel's one tap is inside the image (padding at the
     * bottom or right can add output pixels that read nothing but padding). */
    const int in_place = p->k_h == 1 && p->k_w == 1 && p->pad_top == 0 && p->pad_left == 0 &&
                         (p->out_h - 1) * p->stride_h < p->in_h && (p->out_w - 1) * p->stride_w < p->in_w;
    if (!in_place) {
        if (p->input_offset < -127 || p->input_offset > 128) return EQ_OPT_DECLINED;
        if (scratch == NULL || scratch_bytes < (uint32_t)k) return EQ_OPT_DECLINED;
    }
    const int rows2 = in_place || scratch_bytes >= 2u * (uint32_t)k;
    int8_t *col0 = scratch, *col1 = scratch + (rows2 && !in_place ? k : 0);

    for (int32_t b = 0; b < p->batches; b++) {
        const int8_t *image = p->input + b * p->in_h * p->in_w * p->in_c;
        int8_t *out = p->output + b * pixels * cout;
        int32_t oy = 0, ox = 0;
        for (int32_t px = 0; px < pixels;) {
            const int8_t *x0, *x1 = NULL;
            int32_t oy1 = oy, ox1 = ox + 1;
            if (ox1 == p->out_w) { ox1 = 0; oy1++; }
            const int pair = rows2 && px + 1 < pixels;
            if (in_place) {
                x0 = image + (oy * p->stride_h * p->in_w + ox * p->stride_w) * p->in_c;
                if (pair) x1 = image + (oy1 * p->stride_h * p->in_w + ox1 * p->stride_w) * p->in_c;
            } else {
                im2col_row(p, image, oy, ox, col0);
                if (pair) im2col_row(p, image, oy1, ox1, col1);
                x0 = col0;
                x1 = col1;
            }
            if (pair) {
                rows2_fn(&g, x0, x1, out, out + cout);
                out += 2 * cout;
                px += 2;
                oy = oy1;
                ox = ox1 + 1;
                if (ox == p->out_w) { ox = 0; oy++; }
            } else {
                row1_fn(&g, x0, out);
                out += cout;
                px += 1;
                oy = oy1;
                ox = ox1;
            }
        }
    }
    return EQ_OK;
}

eq_status eq_opt_fully_connected_s8_gemm(const eq_fc_params *p, eq_opt_gemm_rows2_fn rows2_fn, eq_opt_gemm_row1_fn row1_fn)
{
    const eq_opt_gemm_s8 g = {
        p->filter, p->folded_bias ? p->folded_bias : p->bias, p->multipliers, p->shifts, p->cin, p->cout,
        p->folded_bias ? 0 : p->input_offset, p->output_offset, p->act_min, p->act_max,
    };
    const int8_t *x = p->input;
    int8_t *y = p->output;
    int32_t b = 0;
    for (; b + 2 <= p->batches; b += 2, x += 2 * p->cin, y += 2 * p->cout)
        rows2_fn(&g, x, x + p->cin, y, y + p->cout);
    if (b < p->batches) row1_fn(&g, x, y);
    return EQ_OK;
}

#endif

#if EQ_USE_DSP
eq_status eq_conv2d_s8_dsp(const eq_conv_params *p)
{
    return eq_opt_conv2d_s8_gemm(p, eq_opt_gemm_s8_rows2_dsp, eq_opt_gemm_s8_row1_dsp);
}
#endif
