/*
 * Kernel interface: one plain parameter struct per op family, shared by the reference kernels
 * (<op>_s8.c, the definition of the arithmetic, mirroring the C# Kernels/<Op>.Reference.cs files)
 * and the optimized paths (<op>_s8_dsp.c for __ARM_FEATURE_DSP, <op>_s8_mve.c for __ARM_FEATURE_MVE).
 *
 * Conventions (keep stable: the optimized kernels take these same structs):
 * - Activations are int8 NHWC; shapes are rank-4 [N, H, W, C] (lower ranks padded with 1s).
 * - Every pointer is valid for the whole tensor; constant data (filters, biases, multipliers,
 *   shifts, tables) points into the blob, 4-byte aligned. Kernels never validate: eq_model_init did.
 * - `eq_<op>_s8` is the dispatcher: it tries the optimized entry points compiled in (each returns
 *   EQ_OK when it handled the call, anything else to fall back) and ends in `eq_<op>_s8_ref`.
 * - An optimized path is compiled in when the target has the feature AND the build defines
 *   EQ_WITH_DSP_KERNELS=1 (or EQ_WITH_MVE_KERNELS=1), i.e. when the *_dsp.c / *_mve.c files are built.
 * - Scratch: only the op's planned arena scratch (`scratch`, `scratch_bytes`, possibly 0); no
 *   static buffers, no large locals (Cortex-M stack budget during eq_invoke: 2 KB).
 */
#ifndef EQ_KERNELS_H
#define EQ_KERNELS_H

#include <stdint.h>
#include "edgequant.h"

#if defined(__ARM_FEATURE_MVE) && defined(EQ_WITH_MVE_KERNELS) && EQ_WITH_MVE_KERNELS
#define EQ_USE_MVE 1
#else
#define EQ_USE_MVE 0
#endif
#if defined(__ARM_FEATURE_DSP) && defined(EQ_WITH_DSP_KERNELS) && EQ_WITH_DSP_KERNELS
#define EQ_USE_DSP 1
#else
#define EQ_USE_DSP 0
#endif
/* Portable-C fast paths (<op>_s8_c.c) where neither extension is: Thumb-2 cores without DSP
 * (Cortex-M3) by default, or any target whose build defines EQ_WITH_C_KERNELS=1 (the CMake build
 * does, so the host tests run them); EQ_WITH_C_KERNELS=0 turns them off. */
#if EQ_USE_DSP || EQ_USE_MVE
#define EQ_USE_C_OPT 0
#elif defined(EQ_WITH_C_KERNELS)
#define EQ_USE_C_OPT (EQ_WITH_C_KERNELS)
#elif defined(__ARM_ARCH_ISA_THUMB) && __ARM_ARCH_ISA_THUMB >= 2
#define EQ_USE_C_OPT 1
#else
#define EQ_USE_C_OPT 0
#endif

/* Conv2D and DepthwiseConv2D (Conv2DParams). Conv2D filter [Cout, Kh, Kw, Cin]; depthwise [1, Kh, Kw, Cout]. */
typedef struct eq_conv_params {
    const int8_t *input;
    int32_t batches, in_h, in_w, in_c;
    const int8_t *filter;
    int32_t k_h, k_w;
    const int32_t *bias;          /* int32[Cout] */
    const int32_t *folded_bias;   /* int32[Cout] bias + input_offset * sum(filter[oc]); NULL if the blob has none */
    const int32_t *multipliers;   /* int32[Cout], Q0.31 >= 0 */
    const int32_t *shifts;        /* int32[Cout], [-31, 30] */
    int8_t *output;
    int32_t out_h, out_w, out_c;
    int32_t stride_h, stride_w, dilation_h, dilation_w;
    int32_t pad_top, pad_left, pad_bottom, pad_right;
    int32_t input_offset, output_offset, act_min, act_max;
    int32_t depth_multiplier;     /* depthwise: Cout / Cin; Conv2D: 1 */
    int8_t *scratch;              /* the op's planned arena scratch; NULL when scratch_bytes is 0 */
    uint32_t scratch_bytes;
} eq_conv_params;

/* FullyConnected: input [batches, cin], filter [cout, cin], output [batches, cout]. */
typedef struct eq_fc_params {
    const int8_t *input;
    int32_t batches, cin, cout;
    const int8_t *filter;
    const int32_t *bias;
    const int32_t *folded_bias;   /* NULL if absent */
    const int32_t *multipliers;
    const int32_t *shifts;
    int8_t *output;
    int32_t input_offset, output_offset, act_min, act_max;
} eq_fc_params;

/* Ops 50-52 and 55-57: Conv2D, DepthwiseConv2D and FullyConnected (as a 1x1 Conv2D over [batches, 1, 1, cin])
 * with a compressed filter (docs/format.md 5.10), read in place: every weight is decoded where it is used;
 * ops 55-57 take each channel's bias, multiplier and shift from their packed per-channel record (5.12), ops
 * 50-52 from int32 arrays. Ops 53-54 (sparse rows, 5.11) take the same struct with the sparse tensor as
 * `filter`. Mirrors Kernels/CompressedKernels.Reference.cs (CompressedFilter, PackedRequant.Decode) and
 * Kernels/SparseKernels.Reference.cs. */
typedef struct eq_compressed_params {
    const int8_t *input;
    int32_t batches, in_h, in_w, in_c;
    const uint8_t *filter;        /* dims[0] rows of row_bytes bytes */
    uint32_t filter_type;         /* EQ_TYPE_INT4, EQ_TYPE_INDEX4 or EQ_TYPE_INDEX8 */
    int32_t row_bytes;
    const int8_t *codebook;       /* [groups, 16 or 256]; NULL for int4 */
    int32_t channels_per_group;
    int32_t k_h, k_w;
    const uint8_t *record;        /* ops 55-57: packed per-channel record: bias[C], u16 multiplier[C], i8 shift[C]; NULL for ops 50-54 */
    const int32_t *bias, *multipliers, *shifts;   /* ops 50-54: int32[C] each (the bias tensor, the op's arrays) */
    int32_t bias_bytes;           /* 2 or 4 */
    int8_t *output;
    int32_t out_h, out_w, out_c;
    int32_t stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left;
    int32_t input_offset, output_offset, act_min, act_max;
    int32_t depth_multiplier;     /* depthwise: Cout / Cin; 0 for Conv2D and FullyConnected */
} eq_compressed_params;

/* Add, Sub, Mul with broadcasting over rank-4 shapes (a dimension of 1 repeats). */
typedef struct eq_elementwise_params {
    const int8_t *a;
    int32_t a_shape[4];
    const int8_t *b;
    int32_t b_shape[4];
    int8_t *output;
    int32_t out_shape[4];
    int32_t input1_offset, input2_offset, output_offset, left_shift;
    int32_t input1_multiplier, input1_shift, input2_multiplier, input2_shift;
    int32_t output_multiplier, output_shift, act_min, act_max;
} eq_elementwise_params;

/* MaxPool2D and AveragePool2D; input [N, H, W, C], output [N, out_h, out_w, C]. */
typedef struct eq_pool_params {
    const int8_t *input;
    int32_t batches, in_h, in_w, channels;
    int8_t *output;
    int32_t out_h, out_w;
    int32_t stride_h, stride_w, filter_h, filter_w;
    int32_t pad_top, pad_left, pad_bottom, pad_right;
    int32_t act_min, act_max;
} eq_pool_params;

/* Mean over H and W: input [N, H, W, C], output [N, C]. */
typedef struct eq_mean_params {
    const int8_t *input;
    int32_t batches, in_h, in_w, channels;
    int8_t *output;
    int32_t input_offset, output_offset, multiplier, shift;
} eq_mean_params;

/* One input of a Concatenation, copied (multiplier 0) or rescaled into its slot of the output. */
typedef struct eq_concat_input_params {
    const int8_t *input;
    int32_t in_shape[4];
    int8_t *output;
    int32_t out_shape[4];
    int32_t axis, axis_offset;
    int32_t input_offset, multiplier, shift, output_offset;
} eq_concat_input_params;

typedef struct eq_pad_params {
    const int8_t *input;
    int32_t in_shape[4];
    int8_t *output;
    int32_t out_shape[4];
    int32_t before[4];
    int32_t pad_value;
} eq_pad_params;

typedef struct eq_transpose_params {
    const int8_t *input;
    int32_t in_shape[4];
    int8_t *output;
    int32_t out_shape[4];
    int32_t perm[4];
} eq_transpose_params;

/* Softmax over rows of `depth`; exp_table int32[256] (Q23 of exp(-beta * scale * d)). */
typedef struct eq_softmax_params {
    const int8_t *input;
    int8_t *output;
    int32_t rows, depth;
    const int32_t *exp_table;
} eq_softmax_params;

/* Logistic, Tanh, Lookup: out[i] = table[in[i] + 128]. */
typedef struct eq_lookup_params {
    const int8_t *input;
    int8_t *output;
    uint32_t count;
    const int8_t *table;
} eq_lookup_params;

/* Quantize (float32 -> int8) and Dequantize (int8 -> float32). */
typedef struct eq_quantize_params {
    const float *input_f32;
    const int8_t *input_s8;
    float *output_f32;
    int8_t *output_s8;
    uint32_t count;
    float scale;
    int32_t zero_point;
} eq_quantize_params;

/* IndexSelect: output[i0, i1, i2, i3] = input[t0[i0], t1[i1], t2[i2], t3[i3]], or fill where an index is -1. */
typedef struct eq_index_select_params {
    const int8_t *input;
    int32_t in_shape[4];
    int8_t *output;
    int32_t out_shape[4];
    const int32_t *tables[4];     /* int32[out_shape[d]] each, in the blob */
    int32_t fill;
} eq_index_select_params;

/* BatchMatMul: a [A0, A1, M, K] x b [B0, B1, N, K] (b transposed) -> [O0, O1, M, N], batch dims broadcast. */
typedef struct eq_batch_matmul_params {
    const int8_t *a;
    int32_t a_shape[4];
    const int8_t *b;
    int32_t b_shape[4];
    int8_t *output;
    int32_t out_shape[4];
    int32_t input1_offset, input2_offset, output_offset;
    int32_t output_multiplier, output_shift, act_min, act_max;
} eq_batch_matmul_params;

/* ArgMax along one axis of the rank-4 view: output = index of the largest code (first, or last when
 * select_last is 1) + output_offset; outer x n x inner around the axis. */
typedef struct eq_argmax_params {
    const int8_t *input;
    int8_t *output;
    int32_t outer, n, inner;
    int32_t select_last, output_offset;
} eq_argmax_params;

#if EQ_WITH_MIXED_PRECISION
/* The mixed-precision convolutions (ops 60-62 and 66-68; docs/format.md 6.4): Conv2D (filter
 * [Cout, Kh, Kw, Cin]) or DepthwiseConv2D (depth_multiplier >= 1, filter [1, Kh, Kw, Cout]);
 * FullyConnected runs as a 1x1 Conv2D over [batches, 1, 1, Cin] (same products in the same order).
 * 16x8: int16 input/output, int8 filter, int64 bias (read as two words: the blob is only 4-byte
 * aligned), per-channel multipliers and shifts, clamp [act_min, act_max]. Float: float32 input,
 * filter, bias and output, clamp [f_min, f_max]. */
typedef struct eq_conv_mixed_params {
    const void *input;            /* int16_t (S16) or float (F32) */
    int32_t batches, in_h, in_w, in_c;
    const void *filter;           /* int8_t (S16) or float (F32) */
    int32_t k_h, k_w;
    const uint8_t *bias;          /* int64 little-endian words (S16) or float (F32), Cout entries */
    const int32_t *multipliers;   /* S16 only: int32[Cout], Q0.31 >= 0 */
    const int32_t *shifts;        /* S16 only: int32[Cout], [-31, 14] */
    void *output;                 /* int16_t (S16) or float (F32) */
    int32_t out_h, out_w, out_c;
    int32_t stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left;
    int32_t depth_multiplier;     /* 0: Conv2D; >= 1: depthwise */
    int32_t act_min, act_max;     /* S16 */
    float f_min, f_max;           /* F32 */
} eq_conv_mixed_params;

/* AddS16 (the int8 Add arithmetic on int16 codes, zero points 0), broadcasting over rank-4 views. */
typedef struct eq_add_s16_params {
    const int16_t *a;
    int32_t a_shape[4];
    const int16_t *b;
    int32_t b_shape[4];
    int16_t *output;
    int32_t out_shape[4];
    int32_t left_shift, input1_multiplier, input1_shift, input2_multiplier, input2_shift;
    int32_t output_multiplier, output_shift, act_min, act_max;
} eq_add_s16_params;

/* Requantize: int8 or int16 in, int8 or int16 out (in_s16 / out_s16). */
typedef struct eq_requantize_params {
    const void *input;
    void *output;
    uint32_t count;
    int in_s16, out_s16;
    int32_t input_offset, output_offset, multiplier, shift;
} eq_requantize_params;

void eq_conv_s16_ref(const eq_conv_mixed_params *p);
void eq_conv_f32_ref(const eq_conv_mixed_params *p);
void eq_add_s16_ref(const eq_add_s16_params *p);
/* MaxPool2DS16 with the int8 pooling geometry (eq_pool_params; input/output are int16_t). */
void eq_max_pool2d_s16_ref(const eq_pool_params *p, const int16_t *input, int16_t *output);
/* MeanS16: per (batch, channel), the int64 sum of H x W codes, requantized 16x8 to [-32768, 32767]. */
void eq_mean_s16_ref(const int16_t *input, int32_t batches, int32_t hw, int32_t channels, int16_t *output, int32_t multiplier, int32_t shift);
void eq_requantize_ref(const eq_requantize_params *p);
void eq_quantize_f32_s16(const float *input, int16_t *output, uint32_t count, float scale);
void eq_dequantize_s16_f32(const int16_t *input, float *output, uint32_t count, float scale);
#endif

#if EQ_WITH_DYNAMIC_OPS
/* The dynamic-quantization ops (40-46; docs/format.md 6.1): float32 activations; DynamicConv2D,
 * DynamicDepthwiseConv2D (depth_multiplier >= 1) and DynamicFullyConnected (a 1x1 Conv2D over
 * [batches, 1, 1, Cin]) quantize their whole input per inference into `codes` (uint8, the op's scratch),
 * accumulate (code - zero point) x filter in wrapping int32, and write float32 outputs. */
typedef struct eq_dynamic_conv_params {
    const float *input;
    int32_t batches, in_h, in_w, in_c;
    const int8_t *filter;
    int32_t k_h, k_w;
    const float *scales;          /* the filter's scales: 1 or Cout (the blob's Quantization record) */
    uint32_t scale_count;
    const float *bias;            /* float32[Cout] */
    uint8_t *codes;               /* scratch: one byte per input element */
    float *output;
    int32_t out_h, out_w, out_c;
    int32_t stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left;
    int32_t depth_multiplier;     /* 0: Conv2D; >= 1: depthwise */
    float f_min, f_max;
} eq_dynamic_conv_params;

void eq_dynamic_conv_f32_ref(const eq_dynamic_conv_params *p);
/* MaxPool2DF32 with the int8 pooling geometry (eq_pool_params' pointers unused). */
void eq_max_pool2d_f32(const eq_pool_params *p, const float *input, float *output);
void eq_mean_f32(const float *input, int32_t batches, int32_t h, int32_t w, int32_t channels, float *output);
void eq_add_f32(const float *a, const int32_t *a_shape, const float *b, const int32_t *b_shape, float *output, const int32_t *out_shape, float min, float max);
void eq_transpose_f32(const float *input, const int32_t *in_shape, float *output, const int32_t *out_shape, const int32_t *perm);
#endif

#if EQ_WITH_RECURRENT
/* Ops 23-26: one LSTM (4 gates i, o, f, c) or GRU (3 gates z, r, h) layer over x [T, B, I], writing
 * Y [T, D, B, H]. Ops 23-24: int8 W [D, G*H, I] and R [D, G*H, H], int32 bias [D, 2, G*H] and int32
 * per-row multipliers and shifts [D*G*H] (record NULL). Ops 25-26: int4 W [D*G*H, I] and R [D*G*H, H]
 * (rows start on a byte) and the packed per-row record (bias and the arrays unused). Mirrors
 * Kernels/Recurrent.Reference.cs. */
typedef struct eq_recurrent_params {
    const int8_t *x;
    int32_t steps, batch, inputs, hidden;
    int32_t gates;                /* 4: LSTM, 3: GRU */
    int32_t direction;            /* 0 forward, 1 reverse, 2 bidirectional */
    int32_t directions;           /* D: 2 when bidirectional, else 1 */
    int32_t int4;                 /* 1: int4 rows (ops 25-26) */
    const uint8_t *w, *r;
    const int32_t *bias;
    const int32_t *input_multipliers, *input_shifts, *recurrent_multipliers, *recurrent_shifts;
    const uint8_t *record;        /* ops 25-26: PackedRecurrent record; NULL for ops 23-24 */
    int8_t *y;
    int32_t input_offset, output_offset, output_multiplier, output_shift, cell_shift, linear_before_reset;
    int16_t *scratch;             /* 2 * (2 * G*H + 3 * H) bytes of the op's arena scratch */
} eq_recurrent_params;

void eq_recurrent_s8_ref(const eq_recurrent_params *p);
#endif

/* Dispatchers (optimized path when compiled in, else the reference). */
void eq_conv2d_s8(const eq_conv_params *p);
void eq_depthwise_conv2d_s8(const eq_conv_params *p);
void eq_fully_connected_s8(const eq_fc_params *p);
void eq_compressed_conv_s8_ref(const eq_compressed_params *p);
/* Element (row, col) of output channel oc of a compressed filter as int8 (CompressedFilter.At): the kernel's
 * decoder, shared with the reader's folded-bias rule. */
int32_t eq_compressed_weight(const eq_compressed_params *p, int32_t row, int32_t col, int32_t oc);
/* Ops 53-54: the stored weights of each output channel's sparse row (FullyConnected as a 1x1 Conv2D). */
void eq_sparse_conv_s8_ref(const eq_compressed_params *p);
void eq_add_s8(const eq_elementwise_params *p);
void eq_sub_s8(const eq_elementwise_params *p);
void eq_mul_s8(const eq_elementwise_params *p);
void eq_max_pool2d_s8(const eq_pool_params *p);
void eq_average_pool2d_s8(const eq_pool_params *p);
void eq_mean_s8(const eq_mean_params *p);
void eq_concatenation_input_s8(const eq_concat_input_params *p);
void eq_pad_s8(const eq_pad_params *p);
void eq_transpose_s8(const eq_transpose_params *p);
void eq_softmax_s8(const eq_softmax_params *p);
void eq_lookup_s8(const eq_lookup_params *p);
void eq_quantize_f32_s8(const eq_quantize_params *p);
void eq_dequantize_s8_f32(const eq_quantize_params *p);
void eq_index_select_s8(const eq_index_select_params *p);
void eq_batch_matmul_s8(const eq_batch_matmul_params *p);
void eq_argmax_s8(const eq_argmax_params *p);

/* The reference kernels: the definition every optimized path must reproduce byte for byte. */
void eq_conv2d_s8_ref(const eq_conv_params *p);
void eq_depthwise_conv2d_s8_ref(const eq_conv_params *p);
void eq_fully_connected_s8_ref(const eq_fc_params *p);
void eq_add_s8_ref(const eq_elementwise_params *p, int subtract);
void eq_mul_s8_ref(const eq_elementwise_params *p);
void eq_max_pool2d_s8_ref(const eq_pool_params *p);
void eq_average_pool2d_s8_ref(const eq_pool_params *p);
void eq_mean_s8_ref(const eq_mean_params *p);
/* The Mean accumulator pre-shift (C# Mean.HeadroomShift). */
int32_t eq_mean_headroom_shift(int32_t hw, int32_t shift);

/* Optimized entry points: return EQ_OK when handled, anything else to fall back to the reference. */
#if EQ_USE_DSP
eq_status eq_conv2d_s8_dsp(const eq_conv_params *p);
eq_status eq_depthwise_conv2d_s8_dsp(const eq_conv_params *p);
eq_status eq_fully_connected_s8_dsp(const eq_fc_params *p);
eq_status eq_add_s8_dsp(const eq_elementwise_params *p, int subtract);
eq_status eq_max_pool2d_s8_dsp(const eq_pool_params *p);
eq_status eq_average_pool2d_s8_dsp(const eq_pool_params *p);
#endif
#if EQ_USE_C_OPT
eq_status eq_conv2d_s8_c(const eq_conv_params *p);
eq_status eq_depthwise_conv2d_s8_c(const eq_conv_params *p);
eq_status eq_fully_connected_s8_c(const eq_fc_params *p);
#endif
#if EQ_USE_MVE
eq_status eq_conv2d_s8_mve(const eq_conv_params *p);
eq_status eq_depthwise_conv2d_s8_mve(const eq_conv_params *p);
eq_status eq_fully_connected_s8_mve(const eq_fc_params *p);
eq_status eq_add_s8_mve(const eq_elementwise_params *p, int subtract);
eq_status eq_max_pool2d_s8_mve(const eq_pool_params *p);
eq_status eq_average_pool2d_s8_mve(const eq_pool_params *p);
#endif

#endif
