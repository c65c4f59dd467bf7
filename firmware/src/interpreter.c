/*
 * The interpreter: binds a validated model to a caller-owned arena and runs its ops in order
 * (mirrors Interpreter.cs). Op records are decoded from the blob on every step into a small
 * parameter struct on the stack; nothing is cached, so RAM beyond the arena is this struct.
 */
#include "eq_internal.h"
#include "quant_math.h"
#include "kernels/kernels.h"

eq_status eq_arena_bytes(const eq_model_t *model, uint32_t *bytes)
{
    if (model == NULL || bytes == NULL || model->blob == NULL) return EQ_ERR_ARGUMENT;
    *bytes = model->arena_bytes;
    return EQ_OK;
}

eq_status eq_input_count(const eq_model_t *model, uint32_t *count)
{
    if (model == NULL || count == NULL || model->blob == NULL) return EQ_ERR_ARGUMENT;
    *count = model->input_count;
    return EQ_OK;
}

eq_status eq_output_count(const eq_model_t *model, uint32_t *count)
{
    if (model == NULL || count == NULL || model->blob == NULL) return EQ_ERR_ARGUMENT;
    *count = model->output_count;
    return EQ_OK;
}

eq_status eq_metadata(const eq_model_t *m, const char *key, const char **value, uint32_t *value_length)
{
    uint32_t i, key_len = 0;
    int found = 0;
    if (m == NULL || key == NULL || value == NULL || value_length == NULL || m->blob == NULL) return EQ_ERR_ARGUMENT;
    while (key[key_len] != '\0') key_len++;
    for (i = 0; i < m->meta_count; i++)
    {
        const uint8_t *r = m->blob + m->meta_off + i * EQ_META_BYTES;
        const uint32_t ko = eq_rd_u32(r), kl = eq_rd_u32(r + 4);
        if (kl == key_len && (kl == 0 || memcmp(m->blob + m->strings_off + ko, key, kl) == 0))
        {
            const uint32_t vl = eq_rd_u32(r + 12);
            *value = vl == 0 ? "" : (const char *)(m->blob + m->strings_off + eq_rd_u32(r + 8));
            *value_length = vl;
            found = 1; /* the last record wins */
        }
    }
    return found ? EQ_OK : EQ_ERR_ARGUMENT;
}

eq_status eq_class_name(const eq_model_t *model, uint32_t index, const char **name, uint32_t *name_length)
{
    const char *v;
    uint32_t len, start = 0, i, k = 0;
    eq_status s;
    if (name == NULL || name_length == NULL) return EQ_ERR_ARGUMENT;
    s = eq_metadata(model, "labels", &v, &len);
    if (s != EQ_OK) return s;
    for (i = 0; i <= len; i++)
    {
        if (i == len || v[i] == '\n')
        {
            if (k == index)
            {
                *name = v + start;
                *name_length = i - start;
                return EQ_OK;
            }
            k++;
            start = i + 1;
        }
    }
    return EQ_ERR_ARGUMENT;
}

eq_status eq_interpreter_init(eq_interpreter_t *it, const eq_model_t *model, void *arena, size_t arena_size)
{
    if (it == NULL || model == NULL || model->blob == NULL || (arena == NULL && model->arena_bytes > 0)) return EQ_ERR_ARGUMENT;
    if (((uintptr_t)arena & 3u) != 0) return EQ_ERR_ALIGNMENT;
    if (arena_size < model->arena_bytes) return EQ_ERR_ARENA_TOO_SMALL;
    it->model = model;
    it->arena = (uint8_t *)arena;
    it->arena_size = (uint32_t)(arena_size > 0xFFFFFFFFu ? 0xFFFFFFFFu : arena_size);
    return EQ_OK;
}

static eq_status view(const eq_interpreter_t *it, uint32_t direction, uint32_t index, eq_tensor_t *v)
{
    const eq_model_t *m;
    const uint8_t *r;
    eq_tinfo t;
    int k;
    if (it == NULL || v == NULL || it->model == NULL || it->model->blob == NULL) return EQ_ERR_ARGUMENT;
    m = it->model;
    r = eq_io_record(m, direction, index);
    if (r == NULL) return EQ_ERR_ARGUMENT;
    eq_tget(m, (uint32_t)eq_rd_i32(r), &t);
    v->data = it->arena + t.off;
    v->bytes = t.len;
#if EQ_WITH_MIXED_PRECISION
    v->elements = t.len / (t.type == EQ_TYPE_INT8 ? 1u : t.type == EQ_TYPE_INT16 ? 2u : 4u);
#else
    v->elements = t.len / (t.type == EQ_TYPE_INT8 ? 1u : 4u);
#endif
    for (k = 0; k < 4; k++) v->dims[k] = t.d[k];
    v->rank = t.rank;
    v->type = t.type;
    v->source_layout = r[13];
    v->has_quant = t.qi >= 0;
    v->scale = t.qi >= 0 ? eq_rd_f32(m->blob + m->const_off + eq_rd_u32(m->blob + m->quant_off + (uint32_t)t.qi * EQ_QUANT_BYTES + 8)) : 0.0f;
    v->zero_point = t.qi >= 0 ? eq_qzp(m, t.qi) : 0;
    v->name_length = eq_rd_u32(r + 8);
    v->name = v->name_length == 0 ? "" : (const char *)(m->blob + m->strings_off + eq_rd_u32(r + 4));
    return EQ_OK;
}

eq_status eq_input(const eq_interpreter_t *it, uint32_t index, eq_tensor_t *v) { return view(it, 0, index, v); }
eq_status eq_output(const eq_interpreter_t *it, uint32_t index, eq_tensor_t *v) { return view(it, 1, index, v); }

/* Whether the FPU rounds to nearest (ties to even), the mode every float32 result of the C# runtime
 * assumes. 1 + 3 x 2^-25 (three quarters of the step to the next float, 1 + 2^-23) comes out as
 * 1 + 2^-23 to nearest and upward, and as 1 downward and toward zero; 1 + 2^-25 (a quarter) as 1 in
 * every mode but upward. Their difference (exact) is 2^-23 to nearest and zero, +0 or -0, in the three
 * other modes. The operands are volatile, so the sums are computed here, in the current mode, not
 * folded by the compiler; the difference is tested as bits, sign dropped (no float comparison to link
 * in). A soft-float build always rounds to nearest. */
static int rounds_to_nearest(void)
{
    static volatile float probe[3] = { 1.0f, 8.94069671630859375e-08f, 2.98023223876953125e-08f }; /* 1, 3 x 2^-25, 2^-25 */
    union { float f; uint32_t u; } d;
    d.f = (float)(probe[0] + probe[1]) - (float)(probe[0] + probe[2]); /* casts round even with excess precision (x87) */
    return (d.u << 1) != 0;
}

eq_status eq_set_input_f32(const eq_interpreter_t *it, uint32_t index, const float *values, uint32_t count)
{
    eq_tensor_t v;
    uint32_t i;
    eq_status s = eq_input(it, index, &v);
    if (s != EQ_OK) return s;
    if (values == NULL || count != v.elements) return EQ_ERR_ARGUMENT;
    if (v.type == EQ_TYPE_FLOAT32)
    {
        memcpy(v.data, values, (size_t)count * 4u);
        return EQ_OK;
    }
    if (v.type != EQ_TYPE_INT8 && v.type != EQ_TYPE_INT16) return EQ_ERR_NOT_FLOAT;
    if (!rounds_to_nearest()) return EQ_ERR_ROUNDING_MODE;
#if EQ_WITH_MIXED_PRECISION
    /* An int16 input (zero point 0): QuantizeS16, as the C# SetInput. */
    if (v.type == EQ_TYPE_INT16)
    {
        eq_quantize_f32_s16(values, (int16_t *)v.data, count, v.scale);
        return EQ_OK;
    }
#endif
    if (v.type != EQ_TYPE_INT8) return EQ_ERR_NOT_FLOAT;
    for (i = 0; i < count; i++) ((int8_t *)v.data)[i] = eq_quantize_s8(values[i], v.scale, v.zero_point);
    return EQ_OK;
}

eq_status eq_get_output_f32(const eq_interpreter_t *it, uint32_t index, float *values, uint32_t count)
{
    eq_tensor_t v;
    uint32_t i;
    eq_status s = eq_output(it, index, &v);
    if (s != EQ_OK) return s;
    if (values == NULL || count != v.elements) return EQ_ERR_ARGUMENT;
    if (v.type == EQ_TYPE_FLOAT32)
    {
        memcpy(values, v.data, (size_t)count * 4u);
        return EQ_OK;
    }
    if (v.type != EQ_TYPE_INT8 && v.type != EQ_TYPE_INT16) return EQ_ERR_NOT_FLOAT;
    if (!rounds_to_nearest()) return EQ_ERR_ROUNDING_MODE;
#if EQ_WITH_MIXED_PRECISION
    /* An int16 output: DequantizeS16 (q x scale), as the C# GetOutput. */
    if (v.type == EQ_TYPE_INT16)
    {
        eq_dequantize_s16_f32((const int16_t *)v.data, values, count, v.scale);
        return EQ_OK;
    }
#endif
    if (v.type != EQ_TYPE_INT8) return EQ_ERR_NOT_FLOAT;
    for (i = 0; i < count; i++) values[i] = eq_dequantize_s8(((const int8_t *)v.data)[i], v.scale, v.zero_point);
    return EQ_OK;
}

/* Where a tensor's bytes are: the arena (storage 0) or the blob's constant data. */
static const uint8_t *tbytes(const eq_interpreter_t *it, const eq_tinfo *t)
{
    return t->storage == 0 ? it->arena + t->off : eq_const(it->model, t->off);
}

static void shape4(int32_t *dst, const eq_tinfo *t)
{
    dst[0] = t->d[0]; dst[1] = t->d[1]; dst[2] = t->d[2]; dst[3] = t->d[3];
}

static const int32_t *const_i32(const eq_model_t *m, int32_t off) { return (const int32_t *)(const void *)eq_const(m, (uint32_t)off); }

static void run_conv(const eq_interpreter_t *it, const eq_oinfo *op)
{
    const eq_model_t *m = it->model;
    eq_conv_params p;
    eq_tinfo in, f, b, o;
    eq_tget(m, (uint32_t)op->in[0], &in);
    eq_tget(m, (uint32_t)op->in[1], &f);
    eq_tget(m, (uint32_t)op->in[2], &b);
    eq_tget(m, (uint32_t)op->out[0], &o);
    p.input = (const int8_t *)tbytes(it, &in);
    p.batches = in.d[0]; p.in_h = in.d[1]; p.in_w = in.d[2]; p.in_c = in.d[3];
    p.filter = (const int8_t *)tbytes(it, &f);
    p.k_h = f.d[1]; p.k_w = f.d[2];
    p.bias = (const int32_t *)(const void *)tbytes(it, &b);
    p.output = (int8_t *)(it->arena + o.off);
    p.out_h = o.d[1]; p.out_w = o.d[2]; p.out_c = o.d[3];
    p.stride_h = eq_param(op, 0); p.stride_w = eq_param(op, 1);
    p.dilation_h = eq_param(op, 2); p.dilation_w = eq_param(op, 3);
    p.pad_top = eq_param(op, 4); p.pad_left = eq_param(op, 5);
    p.pad_bottom = eq_param(op, 6); p.pad_right = eq_param(op, 7);
    p.input_offset = eq_param(op, 8); p.output_offset = eq_param(op, 9);
    p.act_min = eq_param(op, 10); p.act_max = eq_param(op, 11);
    p.multipliers = const_i32(m, eq_param(op, 12));
    p.shifts = const_i32(m, eq_param(op, 13));
    p.depth_multiplier = eq_param(op, 14);
    p.folded_bias = eq_param(op, 15) == -1 ? NULL : const_i32(m, eq_param(op, 15));
    p.scratch = op->sl > 0 ? (int8_t *)(it->arena + op->so) : NULL;
    p.scratch_bytes = op->sl;
    if (op->type == EQ_OP_CONV2D) eq_conv2d_s8(&p);
    else eq_depthwise_conv2d_s8(&p);
}

static void run_fc(const eq_interpreter_t *it, const eq_oinfo *op)
{
    const eq_model_t *m = it->model;
    eq_fc_params p;
    eq_tinfo in, f, b, o;
    eq_tget(m, (uint32_t)op->in[0], &in);
    eq_tget(m, (uint32_t)op->in[1], &f);
    eq_tget(m, (uint32_t)op->in[2], &b);
    eq_tget(m, (uint32_t)op->out[0], &o);
    p.input = (const int8_t *)tbytes(it, &in);
    p.cout = f.d[0];
    p.cin = f.d[1];
    p.batches = (int32_t)(in.len / (uint32_t)p.cin);
    p.filter = (const int8_t *)tbytes(it, &f);
    p.bias = (const int32_t *)(const void *)tbytes(it, &b);
    p.output = (int8_t *)(it->arena + o.off);
    p.input_offset = eq_param(op, 0); p.output_offset = eq_param(op, 1);
    p.act_min = eq_param(op, 2); p.act_max = eq_param(op, 3);
    p.multipliers = const_i32(m, eq_param(op, 4));
    p.shifts = const_i32(m, eq_param(op, 5));
    p.folded_bias = eq_param(op, 6) == -1 ? NULL : const_i32(m, eq_param(op, 6));
    eq_fully_connected_s8(&p);
}

#if EQ_WITH_COMPRESSED_WEIGHTS || EQ_WITH_SPARSE_WEIGHTS
/* Ops 50-57: the filter (and the packed record of ops 55-57) stay in the blob; FullyConnected runs as a
 * 1x1 Conv2D. Ops 50-54 read the Conv2DParams / FullyConnectedParams of their base op, the bias tensor and
 * the int32 per-channel arrays; ops 55-57 their packed parameter records. */
static void run_compressed(const eq_interpreter_t *it, const eq_oinfo *op)
{
    const eq_model_t *m = it->model;
    const uint8_t *pp = op->params;
    const uint16_t type = op->type;
    const int packed = type >= 55;
    const int fc = type == 52 || type == 54 || type == 57;
    const int dw = type == 51 || type == 56;
    const int sparse = type == 53 || type == 54;
    eq_compressed_params p;
    eq_tinfo in, f, o;
    int32_t row, groups = 1;
    eq_tget(m, (uint32_t)op->in[0], &in);
    eq_tget(m, (uint32_t)op->in[1], &f);
    eq_tget(m, (uint32_t)op->out[0], &o);
    p.input = (const int8_t *)tbytes(it, &in);
    p.filter = eq_const(m, f.off);
    p.filter_type = f.type;
    row = (int32_t)(((int64_t)f.d[0] * f.d[1] * f.d[2] * f.d[3]) / f.d[0]);
    p.row_bytes = f.type == EQ_TYPE_INDEX8 ? row : (row + 1) / 2;
    p.codebook = NULL;
    if (!sparse && f.type != EQ_TYPE_INT4)
    {
        eq_tinfo cb;
        eq_tget(m, (uint32_t)op->in[packed ? 2 : 3], &cb);
        p.codebook = (const int8_t *)eq_const(m, cb.off);
        groups = cb.d[0];
    }
    p.output = (int8_t *)(it->arena + o.off);
    p.record = NULL;
    p.bias = p.multipliers = p.shifts = NULL;
    p.bias_bytes = 4;
    if (!packed)
    {
        eq_tinfo b;
        eq_tget(m, (uint32_t)op->in[2], &b);
        p.bias = const_i32(m, (int32_t)b.off);
    }
    if (fc)
    {
        p.in_c = f.d[1];
        p.batches = (int32_t)(in.len / (uint32_t)p.in_c);
        p.in_h = p.in_w = p.k_h = p.k_w = p.out_h = p.out_w = 1;
        p.out_c = f.d[0];
        p.stride_h = p.stride_w = p.dilation_h = p.dilation_w = 1;
        p.pad_top = p.pad_left = 0;
        p.depth_multiplier = 0;
        if (packed)
        {
            p.input_offset = (int16_t)eq_rd_u16(pp); p.output_offset = (int16_t)eq_rd_u16(pp + 2);
            p.act_min = (int8_t)pp[4]; p.act_max = (int8_t)pp[5];
            p.bias_bytes = pp[6];
            p.record = eq_const(m, eq_rd_u32(pp + 8));
        }
        else
        {
            p.input_offset = eq_param(op, 0); p.output_offset = eq_param(op, 1);
            p.act_min = eq_param(op, 2); p.act_max = eq_param(op, 3);
            p.multipliers = const_i32(m, eq_param(op, 4));
            p.shifts = const_i32(m, eq_param(op, 5));
        }
    }
    else
    {
        p.batches = in.d[0]; p.in_h = in.d[1]; p.in_w = in.d[2]; p.in_c = in.d[3];
        p.k_h = f.d[1]; p.k_w = f.d[2];
        p.out_h = o.d[1]; p.out_w = o.d[2]; p.out_c = o.d[3];
        if (packed)
        {
            p.stride_h = (int16_t)eq_rd_u16(pp); p.stride_w = (int16_t)eq_rd_u16(pp + 2);
            p.dilation_h = (int16_t)eq_rd_u16(pp + 4); p.dilation_w = (int16_t)eq_rd_u16(pp + 6);
            p.pad_top = (int16_t)eq_rd_u16(pp + 8); p.pad_left = (int16_t)eq_rd_u16(pp + 10);
            p.input_offset = (int16_t)eq_rd_u16(pp + 16); p.output_offset = (int16_t)eq_rd_u16(pp + 18);
            p.act_min = (int8_t)pp[20]; p.act_max = (int8_t)pp[21];
            p.bias_bytes = pp[22];
            p.record = eq_const(m, eq_rd_u32(pp + 24));
            p.depth_multiplier = dw ? eq_rd_i32(pp + 28) : 0;
        }
        else
        {
            p.stride_h = eq_param(op, 0); p.stride_w = eq_param(op, 1);
            p.dilation_h = eq_param(op, 2); p.dilation_w = eq_param(op, 3);
            p.pad_top = eq_param(op, 4); p.pad_left = eq_param(op, 5);
            p.input_offset = eq_param(op, 8); p.output_offset = eq_param(op, 9);
            p.act_min = eq_param(op, 10); p.act_max = eq_param(op, 11);
            p.multipliers = const_i32(m, eq_param(op, 12));
            p.shifts = const_i32(m, eq_param(op, 13));
            p.depth_multiplier = dw ? eq_param(op, 14) : 0;
        }
    }
    /* CompressedFilter: channels / max(1, groups), at least 1. */
    p.channels_per_group = p.out_c / groups > 0 ? p.out_c / groups : 1;
#if EQ_WITH_SPARSE_WEIGHTS
    if (sparse) { eq_sparse_conv_s8_ref(&p); return; }
#endif
#if EQ_WITH_COMPRESSED_WEIGHTS
    eq_compressed_conv_s8_ref(&p);
#endif
}
#endif

#if EQ_WITH_RECURRENT
/* Ops 23-26: weights, biases, per-row arrays and the packed record stay in the blob; the state and
 * the gate parts live in the op's arena scratch. */
static void run_recurrent(const eq_interpreter_t *it, const eq_oinfo *op)
{
    const eq_model_t *m = it->model;
    const uint8_t *pp = op->params;
    const int packed = op->type == EQ_OP_LSTM_PACKED || op->type == EQ_OP_GRU_PACKED;
    eq_recurrent_params p;
    eq_tinfo x, w, r, y;
    eq_tget(m, (uint32_t)op->in[0], &x);
    eq_tget(m, (uint32_t)op->in[1], &w);
    eq_tget(m, (uint32_t)op->in[2], &r);
    eq_tget(m, (uint32_t)op->out[0], &y);
    p.x = (const int8_t *)tbytes(it, &x);
    p.steps = x.d[0]; p.batch = x.d[1]; p.inputs = x.d[2];
    p.gates = op->type == EQ_OP_LSTM || op->type == EQ_OP_LSTM_PACKED ? 4 : 3;
    p.w = eq_const(m, w.off);
    p.r = eq_const(m, r.off);
    p.y = (int8_t *)(it->arena + y.off);
    p.scratch = (int16_t *)(void *)(it->arena + op->so);
    p.int4 = packed;
    p.bias = NULL;
    p.input_multipliers = p.input_shifts = p.recurrent_multipliers = p.recurrent_shifts = NULL;
    p.record = NULL;
    if (packed)
    {
        p.hidden = (int16_t)eq_rd_u16(pp); p.direction = pp[2]; p.linear_before_reset = pp[3];
        p.input_offset = (int16_t)eq_rd_u16(pp + 4); p.output_offset = (int16_t)eq_rd_u16(pp + 6);
        p.output_multiplier = (int32_t)((uint32_t)eq_rd_u16(pp + 8) << 15);
        p.output_shift = (int8_t)pp[10]; p.cell_shift = (int8_t)pp[11];
        p.record = eq_const(m, eq_rd_u32(pp + 12));
    }
    else
    {
        eq_tinfo b;
        eq_tget(m, (uint32_t)op->in[3], &b);
        p.bias = const_i32(m, (int32_t)b.off);
        p.hidden = eq_param(op, 0); p.direction = eq_param(op, 1);
        p.input_offset = eq_param(op, 2); p.output_offset = eq_param(op, 3);
        p.output_multiplier = eq_param(op, 4); p.output_shift = eq_param(op, 5);
        p.cell_shift = eq_param(op, 6); p.linear_before_reset = eq_param(op, 7);
        p.input_multipliers = const_i32(m, eq_param(op, 8)); p.input_shifts = const_i32(m, eq_param(op, 9));
        p.recurrent_multipliers = const_i32(m, eq_param(op, 10)); p.recurrent_shifts = const_i32(m, eq_param(op, 11));
    }
    p.directions = p.direction == 2 ? 2 : 1;
    eq_recurrent_s8_ref(&p);
}
#endif

static void run_elementwise(const eq_interpreter_t *it, const eq_oinfo *op)
{
    const eq_model_t *m = it->model;
    eq_elementwise_params p;
    eq_tinfo a, b, o;
    eq_tget(m, (uint32_t)op->in[0], &a);
    eq_tget(m, (uint32_t)op->in[1], &b);
    eq_tget(m, (uint32_t)op->out[0], &o);
    p.a = (const int8_t *)tbytes(it, &a);
    p.b = (const int8_t *)tbytes(it, &b);
    p.output = (int8_t *)(it->arena + o.off);
    shape4(p.a_shape, &a);
    shape4(p.b_shape, &b);
    shape4(p.out_shape, &o);
    p.input1_offset = eq_param(op, 0); p.input2_offset = eq_param(op, 1);
    p.output_offset = eq_param(op, 2); p.left_shift = eq_param(op, 3);
    p.input1_multiplier = eq_param(op, 4); p.input1_shift = eq_param(op, 5);
    p.input2_multiplier = eq_param(op, 6); p.input2_shift = eq_param(op, 7);
    p.output_multiplier = eq_param(op, 8); p.output_shift = eq_param(op, 9);
    p.act_min = eq_param(op, 10); p.act_max = eq_param(op, 11);
    if (op->type == EQ_OP_ADD) eq_add_s8(&p);
    else if (op->type == EQ_OP_SUB) eq_sub_s8(&p);
    else eq_mul_s8(&p);
}

static void run_pool(const eq_interpreter_t *it, const eq_oinfo *op)
{
    const eq_model_t *m = it->model;
    eq_pool_params p;
    eq_tinfo in, o;
    eq_tget(m, (uint32_t)op->in[0], &in);
    eq_tget(m, (uint32_t)op->out[0], &o);
    p.input = (const int8_t *)tbytes(it, &in);
    p.batches = in.d[0]; p.in_h = in.d[1]; p.in_w = in.d[2]; p.channels = in.d[3];
    p.output = (int8_t *)(it->arena + o.off);
    p.out_h = o.d[1]; p.out_w = o.d[2];
    p.stride_h = eq_param(op, 0); p.stride_w = eq_param(op, 1);
    p.filter_h = eq_param(op, 2); p.filter_w = eq_param(op, 3);
    p.pad_top = eq_param(op, 4); p.pad_left = eq_param(op, 5);
    p.pad_bottom = eq_param(op, 6); p.pad_right = eq_param(op, 7);
    p.act_min = eq_param(op, 8); p.act_max = eq_param(op, 9);
    if (op->type == EQ_OP_MAX_POOL2D) eq_max_pool2d_s8(&p);
    else eq_average_pool2d_s8(&p);
}

static void run_concat(const eq_interpreter_t *it, const eq_oinfo *op)
{
    const eq_model_t *m = it->model;
    eq_concat_input_params p;
    eq_tinfo t, o;
    int32_t k, axis_offset = 0;
    eq_tget(m, (uint32_t)op->out[0], &o);
    p.output = (int8_t *)(it->arena + o.off);
    shape4(p.out_shape, &o);
    p.axis = eq_param(op, 0);
    p.output_offset = eq_param(op, 2);
    for (k = 0; k < op->nin; k++)
    {
        eq_tget(m, (uint32_t)op->in[k], &t);
        p.input = (const int8_t *)tbytes(it, &t);
        shape4(p.in_shape, &t);
        p.axis_offset = axis_offset;
        p.input_offset = eq_param(op, 4 + 3 * (uint32_t)k);
        p.multiplier = eq_param(op, 5 + 3 * (uint32_t)k);
        p.shift = eq_param(op, 6 + 3 * (uint32_t)k);
        eq_concatenation_input_s8(&p);
        axis_offset += t.d[p.axis];
    }
}

#if EQ_WITH_MIXED_PRECISION
/* Ops 60-72 (Interpreter.Mixed.cs): FullyConnectedS16 / F32 run as a 1x1 Conv2D over [batches, 1, 1, Cin]. */
static void run_mixed(const eq_interpreter_t *it, const eq_oinfo *op, const eq_tinfo *i, const eq_tinfo *o, const uint8_t *x, uint8_t *y)
{
    const eq_model_t *m = it->model;
    switch (op->type)
    {
    case EQ_OP_CONV2D_S16:
    case EQ_OP_DEPTHWISE_CONV2D_S16:
    case EQ_OP_FULLY_CONNECTED_S16:
    case EQ_OP_CONV2D_F32:
    case EQ_OP_DEPTHWISE_CONV2D_F32:
    case EQ_OP_FULLY_CONNECTED_F32:
    {
        const int s16 = op->type <= EQ_OP_FULLY_CONNECTED_S16;
        const int fc = op->type == EQ_OP_FULLY_CONNECTED_S16 || op->type == EQ_OP_FULLY_CONNECTED_F32;
        eq_conv_mixed_params p;
        eq_tinfo f, b;
        eq_tget(m, (uint32_t)op->in[1], &f);
        eq_tget(m, (uint32_t)op->in[2], &b);
        p.input = x;
        p.filter = eq_const(m, f.off);
        p.bias = eq_const(m, b.off);
        p.output = y;
        p.multipliers = NULL;
        p.shifts = NULL;
        p.act_min = p.act_max = 0;
        p.f_min = p.f_max = 0.0f;
        if (fc)
        {
            p.in_c = f.d[1];
            p.batches = (int32_t)(i->len / (s16 ? 2u : 4u) / (uint32_t)p.in_c);
            p.in_h = p.in_w = p.k_h = p.k_w = p.out_h = p.out_w = 1;
            p.out_c = f.d[0];
            p.stride_h = p.stride_w = p.dilation_h = p.dilation_w = 1;
            p.pad_top = p.pad_left = 0;
            p.depth_multiplier = 0;
        }
        else
        {
            p.batches = i->d[0]; p.in_h = i->d[1]; p.in_w = i->d[2]; p.in_c = i->d[3];
            p.k_h = f.d[1]; p.k_w = f.d[2];
            p.out_h = o->d[1]; p.out_w = o->d[2]; p.out_c = o->d[3];
            p.stride_h = eq_param(op, 0); p.stride_w = eq_param(op, 1);
            p.dilation_h = eq_param(op, 2); p.dilation_w = eq_param(op, 3);
            p.pad_top = eq_param(op, 4); p.pad_left = eq_param(op, 5);
            p.depth_multiplier = op->type == EQ_OP_DEPTHWISE_CONV2D_S16 ? eq_param(op, 14)
                               : op->type == EQ_OP_DEPTHWISE_CONV2D_F32 ? eq_param(op, 8) : 0;
        }
        if (s16)
        {
            /* Conv2DParams fields 10-13, FullyConnectedParams fields 2-5: clamp, multipliers, shifts. */
            const uint32_t k = fc ? 2u : 10u;
            p.act_min = eq_param(op, k); p.act_max = eq_param(op, k + 1);
            p.multipliers = const_i32(m, eq_param(op, k + 2));
            p.shifts = const_i32(m, eq_param(op, k + 3));
            eq_conv_s16_ref(&p);
        }
        else
        {
            /* DynamicConvParams floats at bytes 36-43, FloatClampParams at 0-7. */
            p.f_min = eq_rd_f32(op->params + (fc ? 0 : 36));
            p.f_max = eq_rd_f32(op->params + (fc ? 4 : 40));
            eq_conv_f32_ref(&p);
        }
        break;
    }
    case EQ_OP_ADD_S16:
    {
        eq_add_s16_params p;
        eq_tinfo b;
        eq_tget(m, (uint32_t)op->in[1], &b);
        p.a = (const int16_t *)(const void *)x;
        p.b = (const int16_t *)(const void *)tbytes(it, &b);
        p.output = (int16_t *)(void *)y;
        shape4(p.a_shape, i);
        shape4(p.b_shape, &b);
        shape4(p.out_shape, o);
        p.left_shift = eq_param(op, 3);
        p.input1_multiplier = eq_param(op, 4); p.input1_shift = eq_param(op, 5);
        p.input2_multiplier = eq_param(op, 6); p.input2_shift = eq_param(op, 7);
        p.output_multiplier = eq_param(op, 8); p.output_shift = eq_param(op, 9);
        p.act_min = eq_param(op, 10); p.act_max = eq_param(op, 11);
        eq_add_s16_ref(&p);
        break;
    }
    case EQ_OP_MAX_POOL2D_S16:
    {
        eq_pool_params p;
        p.input = NULL;
        p.output = NULL;
        p.batches = i->d[0]; p.in_h = i->d[1]; p.in_w = i->d[2]; p.channels = i->d[3];
        p.out_h = o->d[1]; p.out_w = o->d[2];
        p.stride_h = eq_param(op, 0); p.stride_w = eq_param(op, 1);
        p.filter_h = eq_param(op, 2); p.filter_w = eq_param(op, 3);
        p.pad_top = eq_param(op, 4); p.pad_left = eq_param(op, 5);
        p.pad_bottom = eq_param(op, 6); p.pad_right = eq_param(op, 7);
        p.act_min = eq_param(op, 8); p.act_max = eq_param(op, 9);
        eq_max_pool2d_s16_ref(&p, (const int16_t *)(const void *)x, (int16_t *)(void *)y);
        break;
    }
    case EQ_OP_MEAN_S16:
        eq_mean_s16_ref((const int16_t *)(const void *)x, i->d[0], i->d[1] * i->d[2], i->d[3], (int16_t *)(void *)y, eq_param(op, 2), eq_param(op, 3));
        break;
    case EQ_OP_QUANTIZE_S16:
        eq_quantize_f32_s16((const float *)(const void *)x, (int16_t *)(void *)y, i->len / 4u, eq_rd_f32(op->params));
        break;
    case EQ_OP_DEQUANTIZE_S16:
        eq_dequantize_s16_f32((const int16_t *)(const void *)x, (float *)(void *)y, i->len / 2u, eq_rd_f32(op->params));
        break;
    default: /* EQ_OP_REQUANTIZE */
    {
        eq_requantize_params p;
        p.input = x;
        p.output = y;
        p.in_s16 = i->type == EQ_TYPE_INT16;
        p.out_s16 = o->type == EQ_TYPE_INT16;
        p.count = p.in_s16 ? i->len / 2u : i->len;
        p.input_offset = eq_param(op, 0); p.output_offset = eq_param(op, 1);
        p.multiplier = eq_param(op, 2); p.shift = eq_param(op, 3);
        eq_requantize_ref(&p);
        break;
    }
    }
}
#endif

#if EQ_WITH_DYNAMIC_OPS
/* Ops 40-46 (Interpreter.Dynamic.cs): float activations; the quantized input in the op's scratch.
 * DynamicFullyConnected runs as a 1x1 Conv2D over [batches, 1, 1, Cin]. */
static void run_dynamic(const eq_interpreter_t *it, const eq_oinfo *op, const eq_tinfo *i, const eq_tinfo *o, const uint8_t *x, uint8_t *y)
{
    const eq_model_t *m = it->model;
    const float *xf = (const float *)(const void *)x;
    float *yf = (float *)(void *)y;
    switch (op->type)
    {
    case EQ_OP_DYNAMIC_CONV2D:
    case EQ_OP_DYNAMIC_DEPTHWISE_CONV2D:
    case EQ_OP_DYNAMIC_FULLY_CONNECTED:
    {
        const int fc = op->type == EQ_OP_DYNAMIC_FULLY_CONNECTED;
        eq_dynamic_conv_params p;
        eq_tinfo f, b;
        const uint8_t *q;
        eq_tget(m, (uint32_t)op->in[1], &f);
        eq_tget(m, (uint32_t)op->in[2], &b);
        q = m->blob + m->quant_off + (uint32_t)f.qi * EQ_QUANT_BYTES;
        p.input = xf;
        p.filter = (const int8_t *)eq_const(m, f.off);
        p.scales = (const float *)(const void *)eq_const(m, eq_rd_u32(q + 8));
        p.scale_count = eq_rd_u32(q);
        p.bias = (const float *)(const void *)eq_const(m, b.off);
        p.codes = it->arena + op->so;
        p.output = yf;
        if (fc)
        {
            p.in_c = f.d[1];
            p.batches = (int32_t)(i->len / 4u / (uint32_t)p.in_c);
            p.in_h = p.in_w = p.k_h = p.k_w = p.out_h = p.out_w = 1;
            p.out_c = f.d[0];
            p.stride_h = p.stride_w = p.dilation_h = p.dilation_w = 1;
            p.pad_top = p.pad_left = 0;
            p.depth_multiplier = 0;
            p.f_min = eq_rd_f32(op->params);
            p.f_max = eq_rd_f32(op->params + 4);
        }
        else
        {
            p.batches = i->d[0]; p.in_h = i->d[1]; p.in_w = i->d[2]; p.in_c = i->d[3];
            p.k_h = f.d[1]; p.k_w = f.d[2];
            p.out_h = o->d[1]; p.out_w = o->d[2]; p.out_c = o->d[3];
            p.stride_h = eq_param(op, 0); p.stride_w = eq_param(op, 1);
            p.dilation_h = eq_param(op, 2); p.dilation_w = eq_param(op, 3);
            p.pad_top = eq_param(op, 4); p.pad_left = eq_param(op, 5);
            p.depth_multiplier = op->type == EQ_OP_DYNAMIC_DEPTHWISE_CONV2D ? eq_param(op, 8) : 0;
            p.f_min = eq_rd_f32(op->params + 36);
            p.f_max = eq_rd_f32(op->params + 40);
        }
        eq_dynamic_conv_f32_ref(&p);
        break;
    }
    case EQ_OP_MAX_POOL2D_F32:
    {
        eq_pool_params p;
        p.input = NULL;
        p.output = NULL;
        p.batches = i->d[0]; p.in_h = i->d[1]; p.in_w = i->d[2]; p.channels = i->d[3];
        p.out_h = o->d[1]; p.out_w = o->d[2];
        p.stride_h = eq_param(op, 0); p.stride_w = eq_param(op, 1);
        p.filter_h = eq_param(op, 2); p.filter_w = eq_param(op, 3);
        p.pad_top = eq_param(op, 4); p.pad_left = eq_param(op, 5);
        p.pad_bottom = eq_param(op, 6); p.pad_right = eq_param(op, 7);
        p.act_min = p.act_max = 0;
        eq_max_pool2d_f32(&p, xf, yf);
        break;
    }
    case EQ_OP_MEAN_F32:
        eq_mean_f32(xf, i->d[0], i->d[1], i->d[2], i->d[3], yf);
        break;
    case EQ_OP_ADD_F32:
    {
        eq_tinfo b;
        int32_t as[4], bs[4], os[4];
        eq_tget(m, (uint32_t)op->in[1], &b);
        shape4(as, i);
        shape4(bs, &b);
        shape4(os, o);
        eq_add_f32(xf, as, (const float *)(const void *)tbytes(it, &b), bs, yf, os, eq_rd_f32(op->params), eq_rd_f32(op->params + 4));
        break;
    }
    default: /* EQ_OP_TRANSPOSE_F32 */
    {
        int32_t is[4], os[4], perm[4], k;
        shape4(is, i);
        shape4(os, o);
        for (k = 0; k < 4; k++) perm[k] = eq_param(op, (uint32_t)k);
        eq_transpose_f32(xf, is, yf, os, perm);
        break;
    }
    }
}
#endif

eq_status eq_invoke_op(eq_interpreter_t *it, uint32_t index)
{
    const eq_model_t *m;
    eq_oinfo op;
    eq_tinfo i, o;
    const uint8_t *x;
    uint8_t *y;
    if (it == NULL || it->model == NULL || it->model->blob == NULL) return EQ_ERR_ARGUMENT;
    m = it->model;
    if (index >= m->op_count) return EQ_ERR_ARGUMENT;
    eq_oget(m, index, &op);
    /* Every op has a first input and a first output (the reader checks each op's arity): decoded
     * once here for the ops handled inline below, which keeps this dispatch small. */
    eq_tget(m, (uint32_t)op.in[0], &i);
    eq_tget(m, (uint32_t)op.out[0], &o);
    /* Every op that computes in float has a float32 first input or output (Quantize, Dequantize, the
     * float layers, ops 40-46); integer ops do not depend on the FPU's rounding mode. */
    if ((i.type == EQ_TYPE_FLOAT32 || o.type == EQ_TYPE_FLOAT32) && !rounds_to_nearest()) return EQ_ERR_ROUNDING_MODE;
    x = tbytes(it, &i);
    y = it->arena + o.off;
    switch (op.type)
    {
    case EQ_OP_CONV2D:
    case EQ_OP_DEPTHWISE_CONV2D:
        run_conv(it, &op);
        break;
    case EQ_OP_FULLY_CONNECTED:
        run_fc(it, &op);
        break;
#if EQ_WITH_OPS_50_52
    case EQ_OP_CONV2D_COMPRESSED:
    case EQ_OP_DEPTHWISE_CONV2D_COMPRESSED:
    case EQ_OP_FULLY_CONNECTED_COMPRESSED:
        run_compressed(it, &op);
        break;
#endif
#if EQ_WITH_COMPRESSED_WEIGHTS
    case EQ_OP_CONV2D_COMPRESSED_PACKED:
    case EQ_OP_DEPTHWISE_CONV2D_COMPRESSED_PACKED:
    case EQ_OP_FULLY_CONNECTED_COMPRESSED_PACKED:
        run_compressed(it, &op);
        break;
#endif
#if EQ_WITH_SPARSE_WEIGHTS
    case EQ_OP_CONV2D_SPARSE:
    case EQ_OP_FULLY_CONNECTED_SPARSE:
        run_compressed(it, &op);
        break;
#endif
#if EQ_WITH_RECURRENT
    case EQ_OP_LSTM:
    case EQ_OP_GRU:
    case EQ_OP_LSTM_PACKED:
    case EQ_OP_GRU_PACKED:
        run_recurrent(it, &op);
        break;
#endif
    case EQ_OP_ADD:
    case EQ_OP_SUB:
    case EQ_OP_MUL:
        run_elementwise(it, &op);
        break;
    case EQ_OP_MAX_POOL2D:
    case EQ_OP_AVERAGE_POOL2D:
        run_pool(it, &op);
        break;
    case EQ_OP_MEAN:
    {
        eq_mean_params p;
        p.input = (const int8_t *)x;
        p.batches = i.d[0]; p.in_h = i.d[1]; p.in_w = i.d[2]; p.channels = i.d[3];
        p.output = (int8_t *)y;
        p.input_offset = eq_param(&op, 0); p.output_offset = eq_param(&op, 1);
        p.multiplier = eq_param(&op, 2); p.shift = eq_param(&op, 3);
        eq_mean_s8(&p);
        break;
    }
    case EQ_OP_CONCATENATION:
        run_concat(it, &op);
        break;
    case EQ_OP_PAD:
    {
        eq_pad_params p;
        int k;
        p.input = (const int8_t *)x;
        p.output = (int8_t *)y;
        shape4(p.in_shape, &i);
        shape4(p.out_shape, &o);
        for (k = 0; k < 4; k++) p.before[k] = eq_param(&op, (uint32_t)k);
        p.pad_value = eq_param(&op, 8);
        eq_pad_s8(&p);
        break;
    }
    case EQ_OP_TRANSPOSE:
    {
        eq_transpose_params p;
        int k;
        p.input = (const int8_t *)x;
        p.output = (int8_t *)y;
        shape4(p.in_shape, &i);
        shape4(p.out_shape, &o);
        for (k = 0; k < 4; k++) p.perm[k] = eq_param(&op, (uint32_t)k);
        eq_transpose_s8(&p);
        break;
    }
    case EQ_OP_RESHAPE:
        if (i.storage != 0 || i.off != o.off) memmove(y, x, o.len);
        break;
#if EQ_WITH_EXTENDED_OPS
    case EQ_OP_ARGMAX:
    {
        eq_argmax_params p;
        int32_t in[4], k, axis = eq_param(&op, 0);
        shape4(in, &i);
        p.input = (const int8_t *)x;
        p.output = (int8_t *)y;
        p.outer = 1;
        p.inner = 1;
        for (k = 0; k < axis; k++) p.outer *= in[k];
        for (k = axis + 1; k < 4; k++) p.inner *= in[k];
        p.n = in[axis];
        p.select_last = eq_param(&op, 1);
        p.output_offset = eq_param(&op, 2);
        eq_argmax_s8(&p);
        break;
    }
    case EQ_OP_INDEX_SELECT:
    {
        eq_index_select_params p;
        int k;
        p.input = (const int8_t *)x;
        p.output = (int8_t *)y;
        shape4(p.in_shape, &i);
        shape4(p.out_shape, &o);
        for (k = 0; k < 4; k++) p.tables[k] = const_i32(m, eq_param(&op, (uint32_t)k));
        p.fill = eq_param(&op, 4);
        eq_index_select_s8(&p);
        break;
    }
    case EQ_OP_BATCH_MATMUL:
    {
        eq_batch_matmul_params p;
        eq_tinfo b;
        eq_tget(m, (uint32_t)op.in[1], &b);
        p.a = (const int8_t *)x;
        p.b = (const int8_t *)tbytes(it, &b);
        p.output = (int8_t *)y;
        shape4(p.a_shape, &i);
        shape4(p.b_shape, &b);
        shape4(p.out_shape, &o);
        p.input1_offset = eq_param(&op, 0); p.input2_offset = eq_param(&op, 1); p.output_offset = eq_param(&op, 2);
        p.output_multiplier = eq_param(&op, 3); p.output_shift = eq_param(&op, 4);
        p.act_min = eq_param(&op, 5); p.act_max = eq_param(&op, 6);
        eq_batch_matmul_s8(&p);
        break;
    }
#endif
    case EQ_OP_SOFTMAX:
    {
        eq_softmax_params p;
        p.input = (const int8_t *)x;
        p.output = (int8_t *)y;
        p.depth = i.d[i.rank - 1];
        p.rows = (int32_t)(i.len / (uint32_t)p.depth);
        p.exp_table = const_i32(m, eq_param(&op, 0));
        eq_softmax_s8(&p);
        break;
    }
    case EQ_OP_LOGISTIC:
    case EQ_OP_TANH:
    case EQ_OP_LOOKUP:
    {
        eq_lookup_params p;
        p.input = (const int8_t *)x;
        p.output = (int8_t *)y;
        p.count = i.len;
        p.table = (const int8_t *)eq_const(m, (uint32_t)eq_param(&op, 0));
        eq_lookup_s8(&p);
        break;
    }
    case EQ_OP_QUANTIZE:
    case EQ_OP_DEQUANTIZE:
    {
        eq_quantize_params p;
        p.input_f32 = (const float *)(const void *)x;
        p.input_s8 = (const int8_t *)x;
        p.output_f32 = (float *)(void *)y;
        p.output_s8 = (int8_t *)y;
        p.scale = eq_rd_f32(op.params);
        p.zero_point = eq_param(&op, 1);
        if (op.type == EQ_OP_QUANTIZE)
        {
            p.count = i.len / 4u;
            eq_quantize_f32_s8(&p);
        }
        else
        {
            p.count = i.len;
            eq_dequantize_s8_f32(&p);
        }
        break;
    }
#if EQ_WITH_MIXED_PRECISION
    case EQ_OP_CONV2D_S16:
    case EQ_OP_DEPTHWISE_CONV2D_S16:
    case EQ_OP_FULLY_CONNECTED_S16:
    case EQ_OP_ADD_S16:
    case EQ_OP_MAX_POOL2D_S16:
    case EQ_OP_MEAN_S16:
    case EQ_OP_CONV2D_F32:
    case EQ_OP_DEPTHWISE_CONV2D_F32:
    case EQ_OP_FULLY_CONNECTED_F32:
    case EQ_OP_QUANTIZE_S16:
    case EQ_OP_DEQUANTIZE_S16:
    case EQ_OP_REQUANTIZE:
        run_mixed(it, &op, &i, &o, x, y);
        break;
#endif
#if EQ_WITH_DYNAMIC_OPS
    case EQ_OP_DYNAMIC_CONV2D:
    case EQ_OP_DYNAMIC_DEPTHWISE_CONV2D:
    case EQ_OP_DYNAMIC_FULLY_CONNECTED:
    case EQ_OP_MAX_POOL2D_F32:
    case EQ_OP_MEAN_F32:
    case EQ_OP_ADD_F32:
    case EQ_OP_TRANSPOSE_F32:
        run_dynamic(it, &op, &i, &o, x, y);
        break;
#endif
    default:
        return EQ_ERR_OP_UNKNOWN; /* unreachable for a validated model */
    }
    return EQ_OK;
}

eq_status eq_invoke(eq_interpreter_t *it)
{
    uint32_t i;
    if (it == NULL || it->model == NULL || it->model->blob == NULL) return EQ_ERR_ARGUMENT;
    for (i = 0; i < it->model->op_count; i++)
    {
        eq_status s = eq_invoke_op(it, i);
        if (s != EQ_OK) return s;
    }
    return EQ_OK;
}
