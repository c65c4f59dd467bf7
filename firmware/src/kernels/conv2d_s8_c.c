/*
 * Conv2D in portable C (cores without DSP/MVE: kernels.h EQ_USE_C_OPT): output pixels two at a
 * time, their receptive fields gathered and packed per k into one int32 (kernels_opt.h eq_c_pack),
 * then multiplied by the filter through eq_c_gemm_pair (gemm_s8_c.c).
 *
 * The packed rows (4 bytes per k) go to the op's arena scratch when it holds them, else to the
 * stack when k <= EQ_C_STACK_K. Values are packed with the input offset added, and a tap outside
 * the image packs 0, the reference's skipped tap. The blob's folded bias is not used (the
 * offset is added while packing); both readers reject a folded bias that disagrees with its
 * filter, so the DSP/MVE paths that do use it give the same bytes. Declined (the reference runs): an input offset outside
 * [-127, 128] (the packing bounds), and long rows with no room for them (a 1x1 filter reading its
 * pixels in place then runs one row at a time through eq_c_gemm_row).
 */
#include "kernels_opt.h"

#if EQ_USE_C_OPT

#if defined(__GNUC__) && !defined(__clang__)
/* The Cortex-M3 has no code budget to meet: its images (built -Os) get these loops as -O2 builds them. */
#pragma GCC optimize("O2")
#endif

/* The input pixel (iy, ix) of the image, or NULL outside it. */
static inline const int8_t *tap(const eq_conv_params *p, const int8_t *image, int32_t iy, int32_t ix)
{
    if ((uint32_t)iy >= (uint32_t)p->in_h || (uint32_t)ix >= (uint32_t)p->in_w) return NULL;
    return image + (iy * p->in_w + ix) * p->in_c;
}

/* The receptive fields of output pixels (oy0, ox0) and (oy1, ox1), packed per k into x. */
static void gather_pair(const eq_conv_params *p, const int8_t *image, int32_t oy0, int32_t ox0, int32_t oy1, int32_t ox1,
                        int32_t add, int32_t *x)
{
    const int32_t cin = p->in_c;
    const int32_t iy0 = oy0 * p->stride_h - p->pad_top, ix0 = ox0 * p->stride_w - p->pad_left;
    const int32_t iy1 = oy1 * p->stride_h - p->pad_top, ix1 = ox1 * p->stride_w - p->pad_left;
    for (int32_t ky = 0; ky < p->k_h; ky++)
        for (int32_t kx = 0; kx < p->k_w; kx++) {
            const int8_t *a = tap(p, image, iy0 + ky * p->dilation_h, ix0 + kx * p->dilation_w);
            const int8_t *b = tap(p, image, iy1 + ky * p->dilation_h, ix1 + kx * p->dilation_w);
            int32_t *end = x + cin;
            if (a != NULL && b != NULL) {
                while (x != end) *x++ = eq_c_pack(*a++ + add, *b++ + add);
            } else if (a != NULL) {
                while (x != end) *x++ = eq_c_pack(*a++ + add, 0);
            } else if (b != NULL) {
                while (x != end) *x++ = eq_c_pack(0, *b++ + add);
            } else {
                while (x != end) *x++ = 0;
            }
        }
}

eq_status eq_conv2d_s8_c(const eq_conv_params *p)
{
    const int32_t k = p->k_h * p->k_w * p->in_c;
    const int32_t pixels = p->out_h * p->out_w, cout = p->out_c;
    const eq_c_gemm g = {
        p->filter, p->bias, p->multipliers, p->shifts, k, cout, p->input_offset, p->output_offset, p->act_min, p->act_max,
    };
    /* 1x1 filters whose every output pixel reads one pixel inside the image (no padding reached). */
    const int in_place = p->k_h == 1 && p->k_w == 1 && p->pad_top == 0 && p->pad_left == 0 &&
                         (p->out_h - 1) * p->stride_h < p->in_h && (p->out_w - 1) * p->stride_w < p->in_w;
    int32_t stack_rows[EQ_C_STACK_K];
    int32_t *packed = NULL;
    if (p->input_offset < -127 || p->input_offset > 128) return EQ_OPT_DECLINED;
    if (p->scratch != NULL && ((uintptr_t)p->scratch & 3u) == 0 && p->scratch_bytes / 4u >= (uint32_t)k)
        packed = (int32_t *)(void *)p->scratch;
    else if (k <= EQ_C_STACK_K)
        packed = stack_rows;
    else if (!in_place)
        return EQ_OPT_DECLINED;

    for (int32_t b = 0; b < p->batches; b++) {
        const int8_t *image = p->input + b * p->in_h * p->in_w * p->in_c;
        int8_t *out = p->output + b * pixels * cout;
        int32_t oy = 0, ox = 0;
        for (int32_t px = 0; px < pixels; px += 2, out += 2 * cout) {
            int32_t oy1 = oy, ox1 = ox + 1;
            if (ox1 == p->out_w) { ox1 = 0; oy1++; }
            const int pair = px + 1 < pixels;
            if (!pair) { oy1 = oy; ox1 = ox; }
            if (packed == NULL) {
                eq_c_gemm_row(&g, image + (oy * p->stride_h * p->in_w + ox * p->stride_w) * p->in_c, out);
                if (pair) eq_c_gemm_row(&g, image + (oy1 * p->stride_h * p->in_w + ox1 * p->stride_w) * p->in_c, out + cout);
            } else {
                gather_pair(p, image, oy, ox, oy1, ox1, g.input_offset, packed);
                eq_c_gemm_pair(&g, packed, out, pair ? out + cout : NULL);
            }
            oy = oy1;
            ox = ox1 + 1;
            if (ox == p->out_w) { ox = 0; oy++; }
        }
    }
    return EQ_OK;
}

#endif
