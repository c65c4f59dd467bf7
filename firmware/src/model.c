/*
 * The .eqm reader: every rule of docs/format.md section 8, in the order the C# reader
 * (Model.cs, Format/OpValidator.cs) applies them, so both accept and reject the same blobs.
 * Nothing is copied and nothing is allocated; validation needs O(1) memory (the dataflow and
 * arena-overlap checks recompute lifetimes instead of storing them).
 */
#include "eq_internal.h"
#include "crc32.h"
#include "kernels.h"

/* Ops 50-57 share the compressed-filter rules (ops 55-57: EQ_WITH_COMPRESSED_WEIGHTS; 50-52: that and
 * EQ_WITH_COMPRESSED_ARRAYS, EQ_WITH_OPS_50_52; 53-54: EQ_WITH_SPARSE_WEIGHTS). */
#define EQ_ANY_COMPRESSED (EQ_WITH_COMPRESSED_WEIGHTS || EQ_WITH_SPARSE_WEIGHTS)

#if defined(__GNUC__) && !defined(__clang__)
/* Validation runs once, at eq_model_init, and counts against the M4 code budget (24 KB): the
 * validate_* helpers stay out of line instead of being inlined into their single caller, which
 * makes the reader about 300 bytes smaller at -Os (docs/firmware-performance.md, code size). */
#pragma GCC optimize("no-inline-functions-called-once")
#endif

#define FLOAT_BITS_1_256 0x3B800000u /* 1f / 256 */
#define FLOAT_BITS_1 0x3F800000u /* 1f */
#define FLOAT_BITS_1_128 0x3C000000u /* 1f / 128 */

void eq_tget(const eq_model_t *m, uint32_t t, eq_tinfo *o)
{
    const uint8_t *r = m->blob + m->tensors_off + t * EQ_TENSOR_BYTES;
    int k;
    o->type = r[0];
    o->rank = r[1];
    o->storage = r[2];
    for (k = 0; k < 4; k++) o->d[k] = eq_rd_i32(r + 4 + 4 * k);
    o->off = eq_rd_u32(r + 20);
    o->len = eq_rd_u32(r + 24);
    o->qi = eq_rd_i32(r + 28);
}

/* record and byte arrive as int32_t: the eq_error fields are int32_t, and 64-bit arguments (the
 * callers compute offsets in int64_t) cost each of the ~60 calls stack stores at -Os. */
static eq_status fail(eq_model_t *m, eq_status s, uint32_t section, int32_t record, int32_t byte)
{
    /* A rejected model is unusable: every call taking it returns EQ_ERR_ARGUMENT. */
    m->blob = NULL;
    m->error.section = section;
    m->error.record = record;
    m->error.byte_offset = byte;
    return s;
}

/* Positive and finite (C#: s > 0 && float.IsFinite(s)). */
static int positive_finite(uint32_t bits)
{
    return (bits >> 31) == 0 && bits != 0 && ((bits >> 23) & 0xFFu) != 0xFFu;
}

static uint32_t element_size(uint8_t type)
{
#if EQ_WITH_COMPRESSED_WEIGHTS
    /* int4, index4, index8: the byte length rule of docs/format.md 5.10 (the tensor loop applies it). */
    if (type >= EQ_TYPE_INT4 && type <= EQ_TYPE_INDEX8) return 1u;
#endif
#if EQ_WITH_SPARSE_WEIGHTS
    /* SparseInt8: its byte length is checked against its content (sparse_rows). */
    if (type == EQ_TYPE_SPARSE_INT8) return 1u;
#endif
#if EQ_WITH_MIXED_PRECISION
    if (type == EQ_TYPE_INT16) return 2u;
    if (type == EQ_TYPE_INT64) return 8u;
#endif
    return type == EQ_TYPE_INT8 ? 1u : (type == EQ_TYPE_INT32 || type == EQ_TYPE_FLOAT32) ? 4u : 0u;
}

static int64_t elements(const eq_tinfo *t) { return (int64_t)t->d[0] * t->d[1] * t->d[2] * t->d[3]; }

static int same_shape(const eq_tinfo *a, const eq_tinfo *b)
{
    return a->d[0] == b->d[0] && a->d[1] == b->d[1] && a->d[2] == b->d[2] && a->d[3] == b->d[3];
}

#if EQ_WITH_SPARSE_WEIGHTS
/* C# CompressedWeights.ValidateSparse: rows of at most 2^16 elements; int32 row starts from 0, non-decreasing,
 * each row at most its length; the byte length 4 (rows + 1) + align4(2 nnz) + nnz; columns strictly increasing
 * in each row and below the row length. The tensor is inside ConstantData (checked before). */
static int sparse_rows(const eq_model_t *m, const eq_tinfo *t)
{
    const uint8_t *d = eq_const(m, t->off);
    const int64_t rows = t->d[0], k = (int64_t)t->d[1] * t->d[2] * t->d[3];
    int64_t prev, r, i;
    if (k > 65536 || (int64_t)t->len < 4 * (rows + 1)) return 0;
    prev = eq_rd_i32(d);
    if (prev != 0) return 0;
    for (r = 1; r <= rows; r++)
    {
        const int64_t s = eq_rd_i32(d + 4 * r);
        if (s < prev || s - prev > k) return 0;
        prev = s;
    }
    if (4 * (rows + 1) + ((2 * prev + 3) & ~(int64_t)3) + prev != (int64_t)t->len) return 0;
    for (r = 0; r < rows; r++)
    {
        int64_t last = -1;
        for (i = eq_rd_i32(d + 4 * r); i < eq_rd_i32(d + 4 * r + 4); i++)
        {
            const int64_t col = eq_rd_u16(d + 4 * (rows + 1) + 2 * i);
            if (col <= last || col >= k) return 0;
            last = col;
        }
    }
    return 1;
}
#endif

/* ---- Per-op validation (Format/OpValidator.cs) ---- */

typedef struct vctx {
    eq_model_t *m;
    uint32_t index;
    const eq_oinfo *op;
} vctx;

/* The two verdicts of the per-op rules, on the op's record; out of line: 62 call sites. */
static eq_status bad_op(const vctx *c, eq_status s)
{
    return fail(c->m, s, EQ_SECTION_OPS, (int32_t)c->index, (int32_t)((int64_t)c->m->ops_off + (int64_t)c->index * EQ_OP_BYTES));
}
#define BAD_OPERANDS(c) bad_op((c), EQ_ERR_OP_OPERANDS)
#define BAD_PARAMS(c) bad_op((c), EQ_ERR_OP_PARAMS)
#define CHECK(x) do { eq_status s_ = (x); if (s_ != EQ_OK) return s_; } while (0)

static eq_status arity(const vctx *c, uint8_t nin, uint8_t nout)
{
    if (c->op->nin != nin || c->op->nout != nout) return BAD_OPERANDS(c);
    return EQ_OK;
}

/* C# Act: int8, arena (unless allowed constant), the given rank, per-tensor quantization. */
static eq_status act(const vctx *c, int32_t t, int rank, int allow_constant, eq_tinfo *ti)
{
    eq_tget(c->m, (uint32_t)t, ti);
    if (ti->type != EQ_TYPE_INT8) return BAD_OPERANDS(c);
    if (!allow_constant && ti->storage != 0) return BAD_OPERANDS(c);
    if (ti->rank != rank) return BAD_OPERANDS(c);
    if (eq_qchannels(c->m, ti->qi) != 1) return BAD_OPERANDS(c);
    return EQ_OK;
}

/* C# ActAny: int8 arena tensor of any rank, per-tensor quantization. */
static eq_status act_any(const vctx *c, int32_t t, eq_tinfo *ti)
{
    eq_tget(c->m, (uint32_t)t, ti);
    if (ti->type != EQ_TYPE_INT8 || ti->storage != 0) return BAD_OPERANDS(c);
    if (eq_qchannels(c->m, ti->qi) != 1) return BAD_OPERANDS(c);
    return EQ_OK;
}

/* C# Broadcasts: each dimension of both inputs equals the output's or is 1 (Add/Sub/Mul in every element type). */
static eq_status broadcasts(const vctx *c, const eq_tinfo *a, const eq_tinfo *b, const eq_tinfo *o)
{
    int d;
    for (d = 0; d < 4; d++)
        if ((a->d[d] != o->d[d] && a->d[d] != 1) || (b->d[d] != o->d[d] && b->d[d] != 1)) return BAD_OPERANDS(c);
    return EQ_OK;
}

static eq_status params(const vctx *c, uint32_t size)
{
    if (c->op->pl != size) return BAD_PARAMS(c);
    return EQ_OK;
}

/* The common head of the one-input ops, in the C# reader's order: arity 1/1, a rank-4 int8
 * activation in (or a constant where allowed) and out, then the parameter record's size. */
static eq_status unary4(const vctx *c, int in_const, uint32_t params_bytes, eq_tinfo *in, eq_tinfo *out)
{
    CHECK(arity(c, 1, 1));
    CHECK(act(c, c->op->in[0], 4, in_const, in));
    CHECK(act(c, c->op->out[0], 4, 0, out));
    return params(c, params_bytes);
}

/* The same for the element-wise one-input ops: activations of any rank and the same shape. */
static eq_status unary_any(const vctx *c, uint32_t params_bytes, eq_tinfo *in, eq_tinfo *out)
{
    CHECK(arity(c, 1, 1));
    CHECK(act_any(c, c->op->in[0], in));
    CHECK(act_any(c, c->op->out[0], out));
    if (!same_shape(in, out)) return BAD_OPERANDS(c);
    return params(c, params_bytes);
}

static eq_status cdata(const vctx *c, int32_t offset, int64_t bytes, int32_t align)
{
    if (offset < 0 || offset % align != 0 || (int64_t)offset + bytes > (int64_t)c->m->const_len) return BAD_PARAMS(c);
    return EQ_OK;
}

static eq_status zp_offset(const vctx *c, int32_t v) { return (v < -255 || v > 255) ? BAD_PARAMS(c) : EQ_OK; }
static eq_status activation(const vctx *c, int32_t lo, int32_t hi) { return (lo < -128 || hi > 127 || lo > hi) ? BAD_PARAMS(c) : EQ_OK; }
static eq_status multiplier(const vctx *c, int32_t v) { return v < 0 ? BAD_PARAMS(c) : EQ_OK; }
static eq_status shift(const vctx *c, int32_t v) { return (v < -31 || v > 30) ? BAD_PARAMS(c) : EQ_OK; }

static eq_status pads(const vctx *c, int32_t t, int32_t l, int32_t b, int32_t r)
{
    if (t < 0 || l < 0 || b < 0 || r < 0 || t > 1024 || l > 1024 || b > 1024 || r > 1024) return BAD_PARAMS(c);
    return EQ_OK;
}

static eq_status per_channel(const vctx *c, int32_t mult_off, int32_t shift_off, int32_t count)
{
    int32_t k;
    CHECK(cdata(c, mult_off, 4 * (int64_t)count, 4));
    CHECK(cdata(c, shift_off, 4 * (int64_t)count, 4));
    for (k = 0; k < count; k++)
    {
        CHECK(multiplier(c, eq_rd_i32(eq_const(c->m, (uint32_t)mult_off + 4u * (uint32_t)k))));
        CHECK(shift(c, eq_rd_i32(eq_const(c->m, (uint32_t)shift_off + 4u * (uint32_t)k))));
    }
    return EQ_OK;
}

static eq_status bias_check(const vctx *c, int32_t t, int32_t cout)
{
    eq_tinfo b;
    eq_tget(c->m, (uint32_t)t, &b);
    if (b.type != EQ_TYPE_INT32 || b.storage != 1 || elements(&b) != cout) return BAD_OPERANDS(c);
    return EQ_OK;
}

/* Ops that move bytes unchanged: same zero point and scale (channel 0, compared as values). */
static eq_status same_quant(const vctx *c, int32_t a, int32_t b)
{
    eq_tinfo ta, tb;
    eq_tget(c->m, (uint32_t)a, &ta);
    eq_tget(c->m, (uint32_t)b, &tb);
    if (eq_qzp(c->m, ta.qi) != eq_qzp(c->m, tb.qi) || eq_qscale_bits(c->m, ta.qi) != eq_qscale_bits(c->m, tb.qi)) return BAD_OPERANDS(c);
    return EQ_OK;
}

static eq_status fixed_quant(const vctx *c, int32_t t, uint32_t scale_bits, int32_t zp)
{
    eq_tinfo ti;
    eq_tget(c->m, (uint32_t)t, &ti);
    if (eq_qscale_bits(c->m, ti.qi) != scale_bits || eq_qzp(c->m, ti.qi) != zp) return BAD_OPERANDS(c);
    return EQ_OK;
}

static int64_t out_size(int32_t in, int32_t k, int32_t stride, int32_t dilation, int32_t pa, int32_t pb)
{
    const int64_t eff = (int64_t)(k - 1) * dilation + 1;
    const int64_t span = (int64_t)in + pa + pb - eff;
    return span < 0 ? 0 : span / stride + 1;
}

/* A folded bias (C# OpValidator.FoldedBias): in bounds, and every entry exactly
 * bias[oc] + input_offset * sum(filter[oc]) in wrapping int32 arithmetic (computed here in uint32),
 * the value the DSP/MVE kernels add in place of the input offset. Conv2D [Cout, Kh, Kw, Cin] and
 * FullyConnected [Cout, Cin]: channel oc is filter row oc; depthwise [1, Kh, Kw, Cout]: every
 * Cout-th tap from oc. */
static eq_status folded_bias(const vctx *c, int32_t offset, int32_t input_offset, int dw, int32_t cout)
{
    eq_tinfo f, b;
    const uint8_t *w;
    uint32_t per, k;
    int32_t oc;
#if EQ_WITH_OPS_50_52 || EQ_WITH_SPARSE_WEIGHTS
    const uint16_t type = c->op->type;
#endif
#if EQ_WITH_OPS_50_52
    eq_compressed_params cf;
    int32_t row = 0;
#endif
    CHECK(cdata(c, offset, 4 * (int64_t)cout, 4));
    eq_tget(c->m, (uint32_t)c->op->in[1], &f);
    eq_tget(c->m, (uint32_t)c->op->in[2], &b);
    w = eq_const(c->m, f.off);
    per = f.len / (uint32_t)cout;
#if EQ_WITH_OPS_50_52
    if (type >= EQ_OP_CONV2D_COMPRESSED && type <= EQ_OP_FULLY_CONNECTED_COMPRESSED)
    {
        /* Ops 50-52 (CompressedPrepared.ForCompressed): the decoded weights of the channel's row, or every
         * Cout-th element of the one depthwise row, through the kernel's decoder. */
        row = (int32_t)(elements(&f) / f.d[0]);
        cf.filter = w;
        cf.filter_type = f.type;
        cf.row_bytes = f.type == EQ_TYPE_INDEX8 ? row : (row + 1) / 2;
        cf.codebook = NULL;
        cf.channels_per_group = cout;
        if (f.type != EQ_TYPE_INT4)
        {
            eq_tinfo cb;
            eq_tget(c->m, (uint32_t)c->op->in[3], &cb);
            cf.codebook = (const int8_t *)eq_const(c->m, cb.off);
            cf.channels_per_group = cout / cb.d[0] > 0 ? cout / cb.d[0] : 1;
        }
    }
#endif
    for (oc = 0; oc < cout; oc++)
    {
        uint32_t sum = 0;
#if EQ_WITH_OPS_50_52
        if (type >= EQ_OP_CONV2D_COMPRESSED && type <= EQ_OP_FULLY_CONNECTED_COMPRESSED)
        {
            int32_t t;
            if (dw)
                for (t = oc; t < row; t += cout) sum += (uint32_t)eq_compressed_weight(&cf, 0, t, oc);
            else
                for (t = 0; t < row; t++) sum += (uint32_t)eq_compressed_weight(&cf, oc, t, oc);
        }
        else
#endif
#if EQ_WITH_SPARSE_WEIGHTS
        if (type == EQ_OP_CONV2D_SPARSE || type == EQ_OP_FULLY_CONNECTED_SPARSE)
        {
            /* CompressedPrepared.ForSparse: the stored values of row oc (start[oc] .. start[oc + 1]). */
            const uint32_t nnz = eq_rd_u32(w + 4u * (uint32_t)cout);
            const int8_t *values = (const int8_t *)(w + 4u * ((uint32_t)cout + 1u) + ((2u * nnz + 3u) & ~3u));
            for (k = eq_rd_u32(w + 4u * (uint32_t)oc); k < eq_rd_u32(w + 4u * (uint32_t)oc + 4u); k++) sum += (uint32_t)(int32_t)values[k];
        }
        else
#endif
        if (dw)
            for (k = (uint32_t)oc; k < f.len; k += (uint32_t)cout) sum += (uint32_t)(int32_t)(int8_t)w[k];
        else
            for (k = 0; k < per; k++) sum += (uint32_t)(int32_t)(int8_t)w[(uint32_t)oc * per + k];
        if (eq_rd_u32(eq_const(c->m, (uint32_t)offset + 4u * (uint32_t)oc))
            != eq_rd_u32(eq_const(c->m, b.off + 4u * (uint32_t)oc)) + (uint32_t)input_offset * sum)
            return BAD_PARAMS(c);
    }
    return EQ_OK;
}

#if EQ_WITH_COMPRESSED_WEIGHTS
static int is_packed(uint16_t type) { return type >= EQ_OP_CONV2D_COMPRESSED_PACKED && type <= EQ_OP_FULLY_CONNECTED_COMPRESSED_PACKED; }
#else
#define is_packed(t) 0
#endif
/* Ops 50-54: a compressed or sparse filter with the bias tensor and int32 per-channel arrays of their base op. */
static int is_unpacked(uint16_t type)
{
#if EQ_WITH_OPS_50_52
    if (type >= EQ_OP_CONV2D_COMPRESSED && type <= EQ_OP_FULLY_CONNECTED_COMPRESSED) return 1;
#endif
#if EQ_WITH_SPARSE_WEIGHTS
    if (type == EQ_OP_CONV2D_SPARSE || type == EQ_OP_FULLY_CONNECTED_SPARSE) return 1;
#endif
    (void)type;
    return 0;
}
#if EQ_ANY_COMPRESSED

/* C# OpValidator.CompressedFilter for ops 50-57: a constant filter of the op's rank; ops 53-54 a SparseInt8
 * one and 3 inputs; the others int4, index4 or index8, with 3 inputs for int4 (ops 55-57: 2) and one more
 * for the index types, that one a constant int8 codebook [G, 16 or 256] whose G groups divide the output
 * channels. */
static eq_status compressed_filter(const vctx *c, const eq_tinfo *f, int rank, int32_t cout)
{
    eq_tinfo cb;
    const uint8_t only = is_packed(c->op->type) ? 2 : 3;
    if (f->storage != 1 || f->rank != rank) return BAD_OPERANDS(c);
#if EQ_WITH_SPARSE_WEIGHTS
    if (c->op->type == EQ_OP_CONV2D_SPARSE || c->op->type == EQ_OP_FULLY_CONNECTED_SPARSE)
        return f->type != EQ_TYPE_SPARSE_INT8 ? BAD_OPERANDS(c) : arity(c, 3, 1);
#endif
    if (f->type < EQ_TYPE_INT4 || f->type > EQ_TYPE_INDEX8) return BAD_OPERANDS(c);
    if (f->type == EQ_TYPE_INT4) return arity(c, only, 1);
    CHECK(arity(c, only + 1, 1));
    eq_tget(c->m, (uint32_t)c->op->in[only], &cb);
    if (cb.type != EQ_TYPE_INT8 || cb.storage != 1 || cb.rank != 2 || cb.d[1] != (f->type == EQ_TYPE_INDEX8 ? 256 : 16)) return BAD_OPERANDS(c);
    if (cout % cb.d[0] != 0) return BAD_OPERANDS(c);
    return EQ_OK;
}

#endif
#if EQ_WITH_COMPRESSED_WEIGHTS
/* C# OpValidator.PackedRequantRecord: bias width 2 or 4, (width + 3) x C bytes inside ConstantData at a
 * multiple of 4, every shift in [-31, 30]; any u16 multiplier is valid. */
static eq_status packed_record(const vctx *c, int32_t offset, uint32_t bias_bytes, int32_t cout)
{
    int32_t k;
    if (bias_bytes != 2 && bias_bytes != 4) return BAD_PARAMS(c);
    CHECK(cdata(c, offset, (int64_t)cout * (bias_bytes + 3), 4));
    for (k = 0; k < cout; k++)
        CHECK(shift(c, (int8_t)*eq_const(c->m, (uint32_t)offset + (bias_bytes + 2) * (uint32_t)cout + (uint32_t)k)));
    return EQ_OK;
}
#endif

static eq_status validate_conv(const vctx *c)
{
    const eq_oinfo *op = c->op;
    eq_tinfo in, f, out;
    int32_t cout, cin, kh, kw, i;
    int64_t oh, ow;
    int32_t p[16];
    const int packed = is_packed(op->type), unpacked = is_unpacked(op->type);
    const int dw = op->type == EQ_OP_DEPTHWISE_CONV2D || ((packed || unpacked)
        && (op->type == EQ_OP_DEPTHWISE_CONV2D_COMPRESSED_PACKED || op->type == EQ_OP_DEPTHWISE_CONV2D_COMPRESSED));
    /* C# ValidateCompressed: 2-3 inputs for ops 55-57, 3-4 for ops 50-54, then the Conv2D rules. */
    if (packed || unpacked) { if (op->nin < 3 - packed || op->nin > 4 - packed || op->nout != 1) return BAD_OPERANDS(c); }
    else CHECK(arity(c, 3, 1));
    CHECK(act(c, op->in[0], 4, 0, &in));
    eq_tget(c->m, (uint32_t)op->in[1], &f);
    CHECK(act(c, op->out[0], 4, 0, &out));
    cout = dw ? f.d[3] : f.d[0];
#if EQ_WITH_COMPRESSED_WEIGHTS
    if (packed)
    {
        /* Conv2DPackedParams: int16 geometry and offsets, int8 activation range, mapped onto the
         * Conv2DParams fields the checks below read (p[12], p[13], p[15] unused). */
        const uint8_t *pp;
        CHECK(compressed_filter(c, &f, 4, cout));
        CHECK(params(c, EQ_CONV_PACKED_PARAMS_BYTES));
        pp = op->params;
        for (i = 0; i < 10; i++) p[i] = (int16_t)eq_rd_u16(pp + 2 * i);
        p[10] = (int8_t)pp[20];
        p[11] = (int8_t)pp[21];
        p[14] = eq_rd_i32(pp + 28);
    }
    else
#endif
    {
#if EQ_ANY_COMPRESSED
        if (unpacked) CHECK(compressed_filter(c, &f, 4, cout));
        else
#endif
        if (f.type != EQ_TYPE_INT8 || f.storage != 1 || f.rank != 4) return BAD_OPERANDS(c);
        CHECK(params(c, EQ_CONV_PARAMS_BYTES));
        for (i = 0; i < 16; i++) p[i] = eq_param(op, (uint32_t)i);
    }
    cin = in.d[3];
    if (dw)
    {
        if (f.d[0] != 1) return BAD_OPERANDS(c);
        if (p[14] < 1 || (int64_t)cin * p[14] != cout) return BAD_OPERANDS(c);
    }
    else if (f.d[3] != cin) return BAD_OPERANDS(c);
    if (!packed) CHECK(bias_check(c, op->in[2], cout));
    if (p[0] < 1 || p[1] < 1 || p[2] < 1 || p[3] < 1 || p[0] > 64 || p[1] > 64 || p[2] > 64 || p[3] > 64) return BAD_PARAMS(c);
    CHECK(pads(c, p[4], p[5], p[6], p[7]));
    kh = f.d[1];
    kw = f.d[2];
    oh = out_size(in.d[1], kh, p[0], p[2], p[4], p[6]);
    ow = out_size(in.d[2], kw, p[1], p[3], p[5], p[7]);
    if (out.d[0] != in.d[0] || out.d[1] != (int32_t)oh || out.d[2] != (int32_t)ow || out.d[3] != cout) return BAD_OPERANDS(c);
    CHECK(zp_offset(c, p[8]));
    CHECK(zp_offset(c, p[9]));
    CHECK(activation(c, p[10], p[11]));
#if EQ_WITH_COMPRESSED_WEIGHTS
    if (packed) return packed_record(c, eq_rd_i32(op->params + 24), op->params[22], cout);
#endif
    CHECK(per_channel(c, p[12], p[13], cout));
    if (p[15] != -1) CHECK(folded_bias(c, p[15], p[8], dw, cout));
    return EQ_OK;
}

static eq_status validate_fc(const vctx *c)
{
    const eq_oinfo *op = c->op;
    eq_tinfo in, f, out;
    int32_t cout, cin, batch, i, p[8];
    const int packed = is_packed(op->type), unpacked = is_unpacked(op->type);
    if (packed || unpacked) { if (op->nin < 3 - packed || op->nin > 4 - packed || op->nout != 1) return BAD_OPERANDS(c); }
    else CHECK(arity(c, 3, 1));
    CHECK(act_any(c, op->in[0], &in));
    eq_tget(c->m, (uint32_t)op->in[1], &f);
    CHECK(act_any(c, op->out[0], &out));
    cout = f.d[0];
    cin = f.d[1];
#if EQ_ANY_COMPRESSED
    if (packed || unpacked) CHECK(compressed_filter(c, &f, 2, cout));
    else
#endif
    if (f.type != EQ_TYPE_INT8 || f.storage != 1 || f.rank != 2) return BAD_OPERANDS(c);
    if (elements(&in) % cin != 0) return BAD_OPERANDS(c);
    batch = (int32_t)(elements(&in) / cin);
    if (elements(&out) != (int64_t)batch * cout || out.d[out.rank - 1] != cout) return BAD_OPERANDS(c);
#if EQ_WITH_COMPRESSED_WEIGHTS
    if (packed)
    {
        /* FullyConnectedPackedParams: int16 offsets, int8 activation range, bias width, record offset. */
        const uint8_t *pp;
        CHECK(params(c, EQ_FC_PACKED_PARAMS_BYTES));
        pp = op->params;
        CHECK(zp_offset(c, (int16_t)eq_rd_u16(pp)));
        CHECK(zp_offset(c, (int16_t)eq_rd_u16(pp + 2)));
        CHECK(activation(c, (int8_t)pp[4], (int8_t)pp[5]));
        return packed_record(c, eq_rd_i32(pp + 8), pp[6], cout);
    }
#endif
    CHECK(bias_check(c, op->in[2], cout));
    CHECK(params(c, EQ_FC_PARAMS_BYTES));
    for (i = 0; i < 8; i++) p[i] = eq_param(op, (uint32_t)i);
    CHECK(zp_offset(c, p[0]));
    CHECK(zp_offset(c, p[1]));
    CHECK(activation(c, p[2], p[3]));
    CHECK(per_channel(c, p[4], p[5], cout));
    if (p[6] != -1) CHECK(folded_bias(c, p[6], p[0], 0, cout));
    return EQ_OK;
}

static eq_status validate_elementwise(const vctx *c)
{
    const eq_oinfo *op = c->op;
    eq_tinfo a, b, o;
    int32_t i, p[12];
    int rank;
    CHECK(arity(c, 2, 1));
    eq_tget(c->m, (uint32_t)op->out[0], &o);
    rank = o.rank;
    CHECK(act(c, op->in[0], rank, 1, &a));
    CHECK(act(c, op->in[1], rank, 1, &b));
    CHECK(act(c, op->out[0], rank, 0, &o));
    CHECK(broadcasts(c, &a, &b, &o));
    CHECK(params(c, EQ_ELEMENTWISE_PARAMS_BYTES));
    for (i = 0; i < 12; i++) p[i] = eq_param(op, (uint32_t)i);
    CHECK(zp_offset(c, p[0]));
    CHECK(zp_offset(c, p[1]));
    CHECK(zp_offset(c, p[2]));
    CHECK(activation(c, p[10], p[11]));
    if (p[3] < 0 || p[3] > 20) return BAD_PARAMS(c);
    CHECK(multiplier(c, p[8]));
    CHECK(shift(c, p[9]));
    if (op->type != EQ_OP_MUL)
    {
        CHECK(multiplier(c, p[4]));
        CHECK(shift(c, p[5]));
        CHECK(multiplier(c, p[6]));
        CHECK(shift(c, p[7]));
        if (p[5] > 0 || p[7] > 0) return BAD_PARAMS(c);
    }
    return EQ_OK;
}

static eq_status validate_pool(const vctx *c)
{
    const eq_oinfo *op = c->op;
    eq_tinfo in, out;
    int32_t i, p[12];
    int64_t oh, ow;
    CHECK(unary4(c, 0, EQ_POOL_PARAMS_BYTES, &in, &out));
    for (i = 0; i < 12; i++) p[i] = eq_param(op, (uint32_t)i);
    if (p[0] < 1 || p[1] < 1 || p[2] < 1 || p[3] < 1 || p[0] > 256 || p[1] > 256 || p[2] > 256 || p[3] > 256) return BAD_PARAMS(c);
    CHECK(pads(c, p[4], p[5], p[6], p[7]));
    if (p[4] >= p[2] || p[6] >= p[2] || p[5] >= p[3] || p[7] >= p[3]) return BAD_PARAMS(c);
    oh = out_size(in.d[1], p[2], p[0], 1, p[4], p[6]);
    ow = out_size(in.d[2], p[3], p[1], 1, p[5], p[7]);
    if (out.d[0] != in.d[0] || out.d[1] != (int32_t)oh || out.d[2] != (int32_t)ow || out.d[3] != in.d[3]) return BAD_OPERANDS(c);
    if (eq_qzp(c->m, in.qi) != eq_qzp(c->m, out.qi) || eq_qscale_bits(c->m, in.qi) != eq_qscale_bits(c->m, out.qi)) return BAD_OPERANDS(c);
    CHECK(activation(c, p[8], p[9]));
    return EQ_OK;
}

static eq_status validate_concat(const vctx *c)
{
    const eq_oinfo *op = c->op;
    eq_tinfo o, t;
    int32_t axis, k, d, p[16];
    int64_t sum = 0;
    if (op->nin < 1 || op->nout != 1) return BAD_OPERANDS(c);
    CHECK(act(c, op->out[0], 4, 0, &o));
    CHECK(params(c, EQ_CONCAT_PARAMS_BYTES));
    for (k = 0; k < 16; k++) p[k] = eq_param(op, (uint32_t)k);
    axis = p[0];
    if (axis < 0 || axis > 3) return BAD_PARAMS(c);
    if (p[1] != op->nin) return BAD_PARAMS(c);
    for (k = 0; k < op->nin; k++)
    {
        CHECK(act(c, op->in[k], 4, 1, &t));
        for (d = 0; d < 4; d++)
            if (d != axis && t.d[d] != o.d[d]) return BAD_OPERANDS(c);
        sum += t.d[axis];
    }
    if (sum != o.d[axis]) return BAD_OPERANDS(c);
    CHECK(zp_offset(c, p[2]));
    for (k = 0; k < op->nin; k++)
    {
        CHECK(zp_offset(c, p[4 + 3 * k]));
        CHECK(multiplier(c, p[5 + 3 * k]));
        CHECK(shift(c, p[6 + 3 * k]));
        if (p[5 + 3 * k] == 0) CHECK(same_quant(c, op->in[k], op->out[0]));
    }
    return EQ_OK;
}

#if EQ_WITH_MIXED_PRECISION || EQ_WITH_DYNAMIC_OPS
/* ---- Rules shared by the mixed-precision ops 60-72 and the dynamic ops 40-46 ---- */

/* C# Act / ActAny with an element type: of `type`, in the arena (unless allowed constant), of `rank`
 * (-1: any rank, arena only), quantized per tensor (type float32: no quantization rule). */
static eq_status act_typed(const vctx *c, int32_t t, int rank, int allow_constant, uint8_t type, eq_tinfo *ti)
{
    eq_tget(c->m, (uint32_t)t, ti);
    if (ti->type != type) return BAD_OPERANDS(c);
    if ((rank < 0 || !allow_constant) && ti->storage != 0) return BAD_OPERANDS(c);
    if (rank >= 0 && ti->rank != rank) return BAD_OPERANDS(c);
    if (type != EQ_TYPE_FLOAT32 && eq_qchannels(c->m, ti->qi) != 1) return BAD_OPERANDS(c);
    return EQ_OK;
}

/* C# FloatClamp: neither bound NaN, min <= max. */
static eq_status float_clamp(const vctx *c, const uint8_t *p)
{
    const float lo = eq_rd_f32(p), hi = eq_rd_f32(p + 4);
    return (lo != lo || hi != hi || lo > hi) ? BAD_PARAMS(c) : EQ_OK;
}

/* C# ConvChannels and ConvWindow on the first nine int32 fields of Conv2DParams / DynamicConvParams
 * (strides, dilations, pads) plus the depth multiplier; returns Cout in *cout. */
static eq_status conv_shape(const vctx *c, const eq_tinfo *in, const eq_tinfo *f, const eq_tinfo *out, int dw, int32_t dm, int32_t *cout)
{
    const eq_oinfo *op = c->op;
    int32_t p[8], k;
    int64_t oh, ow;
    *cout = dw ? f->d[3] : f->d[0];
    if (dw)
    {
        if (f->d[0] != 1) return BAD_OPERANDS(c);
        if (dm < 1 || (int64_t)in->d[3] * dm != *cout) return BAD_OPERANDS(c);
    }
    else if (f->d[3] != in->d[3]) return BAD_OPERANDS(c);
    for (k = 0; k < 8; k++) p[k] = eq_param(op, (uint32_t)k);
    if (p[0] < 1 || p[1] < 1 || p[2] < 1 || p[3] < 1 || p[0] > 64 || p[1] > 64 || p[2] > 64 || p[3] > 64) return BAD_PARAMS(c);
    CHECK(pads(c, p[4], p[5], p[6], p[7]));
    oh = out_size(in->d[1], f->d[1], p[0], p[2], p[4], p[6]);
    ow = out_size(in->d[2], f->d[2], p[1], p[3], p[5], p[7]);
    if (out->d[0] != in->d[0] || out->d[1] != (int32_t)oh || out->d[2] != (int32_t)ow || out->d[3] != *cout) return BAD_OPERANDS(c);
    return EQ_OK;
}

/* C# FullyConnected shape rule: input a whole number of rows of Cin, output [batch, Cout]. */
static eq_status fc_shape(const vctx *c, const eq_tinfo *in, const eq_tinfo *f, const eq_tinfo *out)
{
    const int64_t rows = elements(in) / f->d[1];
    if (elements(in) % f->d[1] != 0) return BAD_OPERANDS(c);
    if (elements(out) != rows * f->d[0] || out->d[out->rank - 1] != f->d[0]) return BAD_OPERANDS(c);
    return EQ_OK;
}

/* C# FloatBias: a constant float32 tensor of Cout elements. */
static eq_status float_bias(const vctx *c, int32_t t, int32_t cout)
{
    eq_tinfo b;
    eq_tget(c->m, (uint32_t)t, &b);
    if (b.type != EQ_TYPE_FLOAT32 || b.storage != 1 || elements(&b) != cout) return BAD_OPERANDS(c);
    return EQ_OK;
}

#endif

#if EQ_WITH_DYNAMIC_OPS
/* ---- Dynamic quantization, ops 40-46 (Format/OpValidator.Dynamic.cs, same checks in the same order) ---- */

/* C# SymmetricFilter: a quantization record with zero point 0 and 1 scale, or Cout on dimension `dim`. */
static eq_status symmetric_filter(const vctx *c, const eq_tinfo *f, int32_t cout, int32_t dim)
{
    uint32_t ch;
    if (f->qi < 0) return BAD_OPERANDS(c);
    if (eq_qzp(c->m, f->qi) != 0) return BAD_OPERANDS(c);
    ch = eq_qchannels(c->m, f->qi);
    if (ch != 1 && (ch != (uint32_t)cout || eq_rd_i32(c->m->blob + c->m->quant_off + (uint32_t)f->qi * EQ_QUANT_BYTES + 12) != dim)) return BAD_OPERANDS(c);
    return EQ_OK;
}

/* C# QuantizedInputScratch: the scratch holds one code per input element. */
static eq_status input_scratch(const vctx *c, const eq_tinfo *in) { return (int64_t)c->op->sl < elements(in) ? bad_op(c, EQ_ERR_OPS) : EQ_OK; }

static eq_status validate_dynamic(const vctx *c)
{
    const eq_oinfo *op = c->op;
    eq_tinfo i, o, f;
    int32_t cout, k;
    switch (op->type)
    {
    case EQ_OP_DYNAMIC_CONV2D:
    case EQ_OP_DYNAMIC_DEPTHWISE_CONV2D:
    {
        const int dw = op->type == EQ_OP_DYNAMIC_DEPTHWISE_CONV2D;
        CHECK(arity(c, 3, 1));
        CHECK(act_typed(c, op->in[0], 4, 0, EQ_TYPE_FLOAT32, &i));
        CHECK(act_typed(c, op->out[0], 4, 0, EQ_TYPE_FLOAT32, &o));
        eq_tget(c->m, (uint32_t)op->in[1], &f);
        CHECK(params(c, EQ_DYNAMIC_CONV_PARAMS_BYTES));
        if (f.type != EQ_TYPE_INT8 || f.storage != 1 || f.rank != 4) return BAD_OPERANDS(c);
        {
            const int32_t dm = eq_param(op, 8);
            cout = dw ? f.d[3] : f.d[0];
            if (dw ? (f.d[0] != 1 || dm < 1 || (int64_t)i.d[3] * dm != cout) : f.d[3] != i.d[3]) return BAD_OPERANDS(c);
            CHECK(symmetric_filter(c, &f, cout, dw ? 3 : 0));
            CHECK(float_bias(c, op->in[2], cout));
            CHECK(conv_shape(c, &i, &f, &o, dw, dm, &cout));
        }
        CHECK(float_clamp(c, op->params + 36));
        return input_scratch(c, &i);
    }
    case EQ_OP_DYNAMIC_FULLY_CONNECTED:
        CHECK(arity(c, 3, 1));
        CHECK(act_typed(c, op->in[0], -1, 0, EQ_TYPE_FLOAT32, &i));
        CHECK(act_typed(c, op->out[0], -1, 0, EQ_TYPE_FLOAT32, &o));
        eq_tget(c->m, (uint32_t)op->in[1], &f);
        if (f.type != EQ_TYPE_INT8 || f.storage != 1 || f.rank != 2) return BAD_OPERANDS(c);
        CHECK(fc_shape(c, &i, &f, &o));
        CHECK(symmetric_filter(c, &f, f.d[0], 0));
        CHECK(float_bias(c, op->in[2], f.d[0]));
        CHECK(params(c, EQ_FLOAT_CLAMP_PARAMS_BYTES));
        CHECK(float_clamp(c, op->params));
        return input_scratch(c, &i);
    case EQ_OP_MAX_POOL2D_F32:
    {
        int32_t p[8];
        int64_t oh, ow;
        CHECK(arity(c, 1, 1));
        CHECK(act_typed(c, op->in[0], 4, 0, EQ_TYPE_FLOAT32, &i));
        CHECK(act_typed(c, op->out[0], 4, 0, EQ_TYPE_FLOAT32, &o));
        CHECK(params(c, EQ_POOL_PARAMS_BYTES));
        for (k = 0; k < 8; k++) p[k] = eq_param(op, (uint32_t)k);
        if (p[0] < 1 || p[1] < 1 || p[2] < 1 || p[3] < 1 || p[0] > 256 || p[1] > 256 || p[2] > 256 || p[3] > 256) return BAD_PARAMS(c);
        CHECK(pads(c, p[4], p[5], p[6], p[7]));
        if (p[4] >= p[2] || p[6] >= p[2] || p[5] >= p[3] || p[7] >= p[3]) return BAD_PARAMS(c);
        oh = out_size(i.d[1], p[2], p[0], 1, p[4], p[6]);
        ow = out_size(i.d[2], p[3], p[1], 1, p[5], p[7]);
        if (o.d[0] != i.d[0] || o.d[1] != (int32_t)oh || o.d[2] != (int32_t)ow || o.d[3] != i.d[3]) return BAD_OPERANDS(c);
        return EQ_OK;
    }
    case EQ_OP_MEAN_F32:
        CHECK(arity(c, 1, 1));
        CHECK(act_typed(c, op->in[0], 4, 0, EQ_TYPE_FLOAT32, &i));
        CHECK(act_typed(c, op->out[0], 4, 0, EQ_TYPE_FLOAT32, &o));
        if (o.d[0] != i.d[0] || o.d[1] != 1 || o.d[2] != 1 || o.d[3] != i.d[3]) return BAD_OPERANDS(c);
        return params(c, 0);
    case EQ_OP_ADD_F32:
    {
        eq_tinfo b;
        int rank;
        CHECK(arity(c, 2, 1));
        eq_tget(c->m, (uint32_t)op->out[0], &o);
        rank = o.rank;
        CHECK(act_typed(c, op->in[0], rank, 1, EQ_TYPE_FLOAT32, &i));
        CHECK(act_typed(c, op->in[1], rank, 1, EQ_TYPE_FLOAT32, &b));
        CHECK(act_typed(c, op->out[0], rank, 0, EQ_TYPE_FLOAT32, &o));
        CHECK(broadcasts(c, &i, &b, &o));
        CHECK(params(c, EQ_FLOAT_CLAMP_PARAMS_BYTES));
        return float_clamp(c, op->params);
    }
    default: /* EQ_OP_TRANSPOSE_F32 */
    {
        uint32_t seen = 0;
        int32_t p;
        CHECK(arity(c, 1, 1));
        CHECK(act_typed(c, op->in[0], 4, 0, EQ_TYPE_FLOAT32, &i));
        CHECK(act_typed(c, op->out[0], 4, 0, EQ_TYPE_FLOAT32, &o));
        CHECK(params(c, EQ_TRANSPOSE_PARAMS_BYTES));
        for (k = 0; k < 4; k++)
        {
            p = eq_param(op, (uint32_t)k);
            if (p < 0 || p > 3 || (seen & (1u << p)) != 0) return BAD_PARAMS(c);
            seen |= 1u << p;
            if (o.d[k] != i.d[p]) return BAD_OPERANDS(c);
        }
        return EQ_OK;
    }
    }
}
#endif

#if EQ_WITH_MIXED_PRECISION
static eq_status activation16(const vctx *c, int32_t lo, int32_t hi) { return (lo < -32768 || hi > 32767 || lo > hi) ? BAD_PARAMS(c) : EQ_OK; }
static eq_status shift16x8(const vctx *c, int32_t v) { return (v < -31 || v > 14) ? BAD_PARAMS(c) : EQ_OK; }

/* C# Terms16x8: at most 2^24 products per output keep the int64 accumulator below 2^47. */
static eq_status terms16x8(const vctx *c, int64_t terms) { return terms > ((int64_t)1 << 24) ? BAD_OPERANDS(c) : EQ_OK; }

/* C# Common16x8: int64 constant bias of Cout entries within +-2^40, zero offsets, int16 clamp, per-channel
 * multipliers and shifts in [-31, 14]. */
static eq_status common16x8(const vctx *c, int32_t bias, int32_t cout, int32_t in_off, int32_t out_off, int32_t lo, int32_t hi, int32_t mult_off, int32_t shift_off)
{
    eq_tinfo b;
    int32_t k;
    eq_tget(c->m, (uint32_t)bias, &b);
    if (b.type != EQ_TYPE_INT64 || b.storage != 1 || elements(&b) != cout) return BAD_OPERANDS(c);
    for (k = 0; k < cout; k++)
    {
        const uint8_t *e = eq_const(c->m, b.off + 8u * (uint32_t)k);
        const int64_t v = (int64_t)((uint64_t)eq_rd_u32(e) | ((uint64_t)eq_rd_u32(e + 4) << 32));
        if (v > ((int64_t)1 << 40) || v < -((int64_t)1 << 40)) return BAD_PARAMS(c);
    }
    if (in_off != 0 || out_off != 0) return BAD_PARAMS(c);
    CHECK(activation16(c, lo, hi));
    CHECK(cdata(c, mult_off, 4 * (int64_t)cout, 4));
    CHECK(cdata(c, shift_off, 4 * (int64_t)cout, 4));
    for (k = 0; k < cout; k++)
    {
        CHECK(multiplier(c, eq_rd_i32(eq_const(c->m, (uint32_t)mult_off + 4u * (uint32_t)k))));
        CHECK(shift16x8(c, eq_rd_i32(eq_const(c->m, (uint32_t)shift_off + 4u * (uint32_t)k))));
    }
    return EQ_OK;
}

static eq_status validate_mixed(const vctx *c)
{
    const eq_oinfo *op = c->op;
    eq_tinfo i, o, f;
    int32_t cout, k, p[16];
    switch (op->type)
    {
    case EQ_OP_CONV2D_S16:
    case EQ_OP_DEPTHWISE_CONV2D_S16:
    {
        const int dw = op->type == EQ_OP_DEPTHWISE_CONV2D_S16;
        CHECK(arity(c, 3, 1));
        CHECK(act_typed(c, op->in[0], 4, 0, EQ_TYPE_INT16, &i));
        CHECK(act_typed(c, op->out[0], 4, 0, EQ_TYPE_INT16, &o));
        eq_tget(c->m, (uint32_t)op->in[1], &f);
        if (f.type != EQ_TYPE_INT8 || f.storage != 1 || f.rank != 4) return BAD_OPERANDS(c);
        CHECK(params(c, EQ_CONV_PARAMS_BYTES));
        for (k = 0; k < 16; k++) p[k] = eq_param(op, (uint32_t)k);
        CHECK(conv_shape(c, &i, &f, &o, dw, p[14], &cout));
        CHECK(terms16x8(c, (int64_t)f.d[1] * f.d[2] * (dw ? 1 : i.d[3])));
        CHECK(common16x8(c, op->in[2], cout, p[8], p[9], p[10], p[11], p[12], p[13]));
        return p[15] != -1 ? BAD_PARAMS(c) : EQ_OK;
    }
    case EQ_OP_FULLY_CONNECTED_S16:
        CHECK(arity(c, 3, 1));
        CHECK(act_typed(c, op->in[0], -1, 0, EQ_TYPE_INT16, &i));
        CHECK(act_typed(c, op->out[0], -1, 0, EQ_TYPE_INT16, &o));
        eq_tget(c->m, (uint32_t)op->in[1], &f);
        if (f.type != EQ_TYPE_INT8 || f.storage != 1 || f.rank != 2) return BAD_OPERANDS(c);
        CHECK(fc_shape(c, &i, &f, &o));
        CHECK(params(c, EQ_FC_PARAMS_BYTES));
        for (k = 0; k < 7; k++) p[k] = eq_param(op, (uint32_t)k);
        CHECK(terms16x8(c, f.d[1]));
        CHECK(common16x8(c, op->in[2], f.d[0], p[0], p[1], p[2], p[3], p[4], p[5]));
        return p[6] != -1 ? BAD_PARAMS(c) : EQ_OK;
    case EQ_OP_ADD_S16:
    {
        eq_tinfo b;
        int rank;
        CHECK(arity(c, 2, 1));
        eq_tget(c->m, (uint32_t)op->out[0], &o);
        rank = o.rank;
        CHECK(act_typed(c, op->in[0], rank, 1, EQ_TYPE_INT16, &i));
        CHECK(act_typed(c, op->in[1], rank, 1, EQ_TYPE_INT16, &b));
        CHECK(act_typed(c, op->out[0], rank, 0, EQ_TYPE_INT16, &o));
        CHECK(broadcasts(c, &i, &b, &o));
        CHECK(params(c, EQ_ELEMENTWISE_PARAMS_BYTES));
        for (k = 0; k < 12; k++) p[k] = eq_param(op, (uint32_t)k);
        if (p[0] != 0 || p[1] != 0 || p[2] != 0 || p[3] != 15) return BAD_PARAMS(c);
        CHECK(multiplier(c, p[4])); CHECK(shift(c, p[5])); CHECK(multiplier(c, p[6])); CHECK(shift(c, p[7]));
        if (p[5] > 0 || p[7] > 0) return BAD_PARAMS(c);
        CHECK(multiplier(c, p[8])); CHECK(shift(c, p[9]));
        return activation16(c, p[10], p[11]);
    }
    case EQ_OP_MAX_POOL2D_S16:
    {
        int64_t oh, ow;
        CHECK(arity(c, 1, 1));
        CHECK(act_typed(c, op->in[0], 4, 0, EQ_TYPE_INT16, &i));
        CHECK(act_typed(c, op->out[0], 4, 0, EQ_TYPE_INT16, &o));
        /* C# PoolGeometry, as validate_pool. */
        CHECK(params(c, EQ_POOL_PARAMS_BYTES));
        for (k = 0; k < 12; k++) p[k] = eq_param(op, (uint32_t)k);
        if (p[0] < 1 || p[1] < 1 || p[2] < 1 || p[3] < 1 || p[0] > 256 || p[1] > 256 || p[2] > 256 || p[3] > 256) return BAD_PARAMS(c);
        CHECK(pads(c, p[4], p[5], p[6], p[7]));
        if (p[4] >= p[2] || p[6] >= p[2] || p[5] >= p[3] || p[7] >= p[3]) return BAD_PARAMS(c);
        oh = out_size(i.d[1], p[2], p[0], 1, p[4], p[6]);
        ow = out_size(i.d[2], p[3], p[1], 1, p[5], p[7]);
        if (o.d[0] != i.d[0] || o.d[1] != (int32_t)oh || o.d[2] != (int32_t)ow || o.d[3] != i.d[3]) return BAD_OPERANDS(c);
        if (eq_qscale_bits(c->m, i.qi) != eq_qscale_bits(c->m, o.qi)) return BAD_OPERANDS(c);
        return activation16(c, p[8], p[9]);
    }
    case EQ_OP_MEAN_S16:
        CHECK(arity(c, 1, 1));
        CHECK(act_typed(c, op->in[0], 4, 0, EQ_TYPE_INT16, &i));
        CHECK(act_typed(c, op->out[0], 4, 0, EQ_TYPE_INT16, &o));
        CHECK(params(c, EQ_MEAN_PARAMS_BYTES));
        if (o.d[0] != i.d[0] || o.d[1] != 1 || o.d[2] != 1 || o.d[3] != i.d[3]) return BAD_OPERANDS(c);
        for (k = 0; k < 4; k++) p[k] = eq_param(op, (uint32_t)k);
        if (p[0] != 0 || p[1] != 0) return BAD_PARAMS(c);
        CHECK(multiplier(c, p[2]));
        return shift16x8(c, p[3]);
    case EQ_OP_CONV2D_F32:
    case EQ_OP_DEPTHWISE_CONV2D_F32:
        CHECK(arity(c, 3, 1));
        CHECK(act_typed(c, op->in[0], 4, 0, EQ_TYPE_FLOAT32, &i));
        CHECK(act_typed(c, op->out[0], 4, 0, EQ_TYPE_FLOAT32, &o));
        eq_tget(c->m, (uint32_t)op->in[1], &f);
        if (f.type != EQ_TYPE_FLOAT32 || f.storage != 1 || f.rank != 4) return BAD_OPERANDS(c);
        CHECK(params(c, EQ_DYNAMIC_CONV_PARAMS_BYTES));
        /* ConvChannels, FloatBias, ConvWindow: the channel rule first, as C#. */
        {
            const int dw = op->type == EQ_OP_DEPTHWISE_CONV2D_F32;
            const int32_t dm = eq_param(op, 8);
            cout = dw ? f.d[3] : f.d[0];
            if (dw ? (f.d[0] != 1 || dm < 1 || (int64_t)i.d[3] * dm != cout) : f.d[3] != i.d[3]) return BAD_OPERANDS(c);
            CHECK(float_bias(c, op->in[2], cout));
            CHECK(conv_shape(c, &i, &f, &o, dw, dm, &cout));
        }
        return float_clamp(c, op->params + 36);
    case EQ_OP_FULLY_CONNECTED_F32:
        CHECK(arity(c, 3, 1));
        CHECK(act_typed(c, op->in[0], -1, 0, EQ_TYPE_FLOAT32, &i));
        CHECK(act_typed(c, op->out[0], -1, 0, EQ_TYPE_FLOAT32, &o));
        eq_tget(c->m, (uint32_t)op->in[1], &f);
        if (f.type != EQ_TYPE_FLOAT32 || f.storage != 1 || f.rank != 2) return BAD_OPERANDS(c);
        CHECK(fc_shape(c, &i, &f, &o));
        CHECK(float_bias(c, op->in[2], f.d[0]));
        CHECK(params(c, EQ_FLOAT_CLAMP_PARAMS_BYTES));
        return float_clamp(c, op->params);
    case EQ_OP_QUANTIZE_S16:
    case EQ_OP_DEQUANTIZE_S16:
    {
        const int q = op->type == EQ_OP_QUANTIZE_S16;
        uint32_t scale_bits;
        CHECK(arity(c, 1, 1));
        eq_tget(c->m, (uint32_t)op->in[0], &i);
        eq_tget(c->m, (uint32_t)op->out[0], &o);
        if (i.type != (q ? EQ_TYPE_FLOAT32 : EQ_TYPE_INT16) || o.type != (q ? EQ_TYPE_INT16 : EQ_TYPE_FLOAT32)) return BAD_OPERANDS(c);
        if (i.storage != 0 || o.storage != 0) return BAD_OPERANDS(c);
        if (!same_shape(&i, &o)) return BAD_OPERANDS(c);
        CHECK(params(c, EQ_QUANTIZE_PARAMS_BYTES));
        scale_bits = eq_rd_u32(op->params);
        if (!positive_finite(scale_bits)) return BAD_PARAMS(c);
        if (eq_param(op, 1) != 0) return BAD_PARAMS(c);
        return fixed_quant(c, q ? op->out[0] : op->in[0], scale_bits, 0);
    }
    default: /* EQ_OP_REQUANTIZE */
        CHECK(arity(c, 1, 1));
        eq_tget(c->m, (uint32_t)op->in[0], &i);
        eq_tget(c->m, (uint32_t)op->out[0], &o);
        if ((i.type != EQ_TYPE_INT8 && i.type != EQ_TYPE_INT16) || (o.type != EQ_TYPE_INT8 && o.type != EQ_TYPE_INT16)) return BAD_OPERANDS(c);
        if (i.storage != 0 || o.storage != 0) return BAD_OPERANDS(c);
        if (!same_shape(&i, &o)) return BAD_OPERANDS(c);
        if (eq_qchannels(c->m, i.qi) != 1 || eq_qchannels(c->m, o.qi) != 1) return BAD_OPERANDS(c);
        CHECK(params(c, EQ_REQUANTIZE_PARAMS_BYTES));
        for (k = 0; k < 4; k++) p[k] = eq_param(op, (uint32_t)k);
        if (p[0] != -eq_qzp(c->m, i.qi) || p[1] != eq_qzp(c->m, o.qi)) return BAD_PARAMS(c);
        CHECK(multiplier(c, p[2]));
        return (p[3] < -31 || p[3] > 15) ? BAD_PARAMS(c) : EQ_OK;
    }
}
#endif

#if EQ_WITH_RECURRENT
/* C# OpValidator.ValidateRecurrent (ops 23-24) and ValidateRecurrentPacked (ops 25-26), in their order:
 * arity, x [T, B, I] and Y, the parameter record, hidden size 1-256, direction, I <= 16384, W and R
 * (int8 [D, G*H, I] / [D, G*H, H], or int4 [D*G*H, I] / [D*G*H, H]), the int32 bias [D, 2, G*H] of ops
 * 23-24, Y [T, D, B, H], the offsets, the output multiplier (ops 23-24) and shift, the cell shift
 * (LSTM 8-15, GRU 0), linear_before_reset (GRU 0 or 1, LSTM 0), the per-row multipliers and shifts or
 * the packed per-row record (inside ConstantData, 4-byte aligned, shifts in [-31, 30]), the scratch. */
static eq_status validate_recurrent(const vctx *c)
{
    const eq_oinfo *op = c->op;
    const int packed = op->type == EQ_OP_LSTM_PACKED || op->type == EQ_OP_GRU_PACKED;
    const int lstm = op->type == EQ_OP_LSTM || op->type == EQ_OP_LSTM_PACKED;
    const int32_t gates = lstm ? 4 : 3;
    eq_tinfo x, w, r, y;
    int32_t v[8], dirs, rows, k;
    const uint8_t *pp;
    CHECK(arity(c, packed ? 3 : 4, 1));
    CHECK(act(c, op->in[0], 3, 0, &x));
    eq_tget(c->m, (uint32_t)op->in[1], &w);
    eq_tget(c->m, (uint32_t)op->in[2], &r);
    CHECK(act(c, op->out[0], 4, 0, &y));
    CHECK(params(c, packed ? EQ_RECURRENT_PACKED_PARAMS_BYTES : EQ_RECURRENT_PARAMS_BYTES));
    pp = op->params;
    /* v: hidden, direction, input offset, output offset, output multiplier, output shift, cell shift,
     * linear_before_reset (RecurrentParams' order; RecurrentPackedParams mapped onto it). */
    if (packed)
    {
        v[0] = (int16_t)eq_rd_u16(pp); v[1] = pp[2]; v[7] = pp[3];
        v[2] = (int16_t)eq_rd_u16(pp + 4); v[3] = (int16_t)eq_rd_u16(pp + 6);
        v[4] = (int32_t)((uint32_t)eq_rd_u16(pp + 8) << 15); v[5] = (int8_t)pp[10]; v[6] = (int8_t)pp[11];
    }
    else
        for (k = 0; k < 8; k++) v[k] = eq_param(op, (uint32_t)k);
    if (v[0] < 1 || v[0] > 256) return BAD_PARAMS(c);
    if (v[1] < 0 || v[1] > 2) return BAD_PARAMS(c);
    dirs = v[1] == 2 ? 2 : 1;
    if (x.d[2] > 16384) return BAD_OPERANDS(c);
    rows = gates * v[0];
    if (packed)
    {
        rows *= dirs;
        if (w.type != EQ_TYPE_INT4 || w.storage != 1 || w.rank != 2 || w.d[0] != rows || w.d[1] != x.d[2] || w.d[2] != 1 || w.d[3] != 1) return BAD_OPERANDS(c);
        if (r.type != EQ_TYPE_INT4 || r.storage != 1 || r.rank != 2 || r.d[0] != rows || r.d[1] != v[0] || r.d[2] != 1 || r.d[3] != 1) return BAD_OPERANDS(c);
    }
    else
    {
        eq_tinfo b;
        eq_tget(c->m, (uint32_t)op->in[3], &b);
        if (w.type != EQ_TYPE_INT8 || w.storage != 1 || w.rank != 3 || w.d[0] != dirs || w.d[1] != rows || w.d[2] != x.d[2] || w.d[3] != 1) return BAD_OPERANDS(c);
        if (r.type != EQ_TYPE_INT8 || r.storage != 1 || r.rank != 3 || r.d[0] != dirs || r.d[1] != rows || r.d[2] != v[0] || r.d[3] != 1) return BAD_OPERANDS(c);
        if (b.type != EQ_TYPE_INT32 || b.storage != 1 || b.rank != 3 || b.d[0] != dirs || b.d[1] != 2 || b.d[2] != rows || b.d[3] != 1) return BAD_OPERANDS(c);
    }
    if (y.d[0] != x.d[0] || y.d[1] != dirs || y.d[2] != x.d[1] || y.d[3] != v[0]) return BAD_OPERANDS(c);
    CHECK(zp_offset(c, v[2]));
    CHECK(zp_offset(c, v[3]));
    if (!packed) CHECK(multiplier(c, v[4]));
    CHECK(shift(c, v[5]));
    if (lstm ? (v[6] < 8 || v[6] > 15) : v[6] != 0) return BAD_PARAMS(c);
    if (lstm ? v[7] != 0 : (v[7] != 0 && v[7] != 1)) return BAD_PARAMS(c);
    if (packed)
    {
        const int32_t at = eq_rd_i32(pp + 12);
        CHECK(cdata(c, at, 10 * (int64_t)rows, 4));
        for (k = 0; k < 2 * rows; k++) CHECK(shift(c, (int8_t)*eq_const(c->m, (uint32_t)at + 8u * (uint32_t)rows + (uint32_t)k)));
    }
    else
    {
        CHECK(per_channel(c, eq_param(op, 8), eq_param(op, 9), dirs * rows));
        CHECK(per_channel(c, eq_param(op, 10), eq_param(op, 11), dirs * rows));
    }
    /* Recurrent.ScratchBytes: the op record's scratch range (as the dynamic ops' scratch rule). */
    if ((int64_t)op->sl < 2 * (2 * (int64_t)gates * v[0] + 3 * (int64_t)v[0])) return bad_op(c, EQ_ERR_OPS);
    return EQ_OK;
}
#endif

static eq_status validate_op(eq_model_t *m, uint32_t index, const eq_oinfo *op)
{
    vctx cx;
    const vctx *c = &cx;
    eq_tinfo i, o;
    int32_t k, p[12];
    cx.m = m;
    cx.index = index;
    cx.op = op;
    switch (op->type)
    {
    case EQ_OP_CONV2D:
    case EQ_OP_DEPTHWISE_CONV2D:
        return validate_conv(c);
    case EQ_OP_FULLY_CONNECTED:
        return validate_fc(c);
#if EQ_WITH_OPS_50_52
    case EQ_OP_CONV2D_COMPRESSED:
    case EQ_OP_DEPTHWISE_CONV2D_COMPRESSED:
        return validate_conv(c);
    case EQ_OP_FULLY_CONNECTED_COMPRESSED:
        return validate_fc(c);
#endif
#if EQ_WITH_COMPRESSED_WEIGHTS
    case EQ_OP_CONV2D_COMPRESSED_PACKED:
    case EQ_OP_DEPTHWISE_CONV2D_COMPRESSED_PACKED:
        return validate_conv(c);
    case EQ_OP_FULLY_CONNECTED_COMPRESSED_PACKED:
        return validate_fc(c);
#endif
#if EQ_WITH_SPARSE_WEIGHTS
    case EQ_OP_CONV2D_SPARSE:
        return validate_conv(c);
    case EQ_OP_FULLY_CONNECTED_SPARSE:
        return validate_fc(c);
#endif
    case EQ_OP_ADD:
    case EQ_OP_SUB:
    case EQ_OP_MUL:
        return validate_elementwise(c);
    case EQ_OP_MAX_POOL2D:
    case EQ_OP_AVERAGE_POOL2D:
        return validate_pool(c);
    case EQ_OP_MEAN:
        CHECK(unary4(c, 0, EQ_MEAN_PARAMS_BYTES, &i, &o));
        if (o.d[0] != i.d[0] || o.d[1] != 1 || o.d[2] != 1 || o.d[3] != i.d[3]) return BAD_OPERANDS(c);
        if ((int64_t)i.d[1] * i.d[2] * 383 > INT32_MAX) return BAD_OPERANDS(c);
        for (k = 0; k < 4; k++) p[k] = eq_param(op, (uint32_t)k);
        CHECK(zp_offset(c, p[0]));
        CHECK(zp_offset(c, p[1]));
        CHECK(shift(c, p[3]));
        CHECK(multiplier(c, p[2]));
        return EQ_OK;
    case EQ_OP_CONCATENATION:
        return validate_concat(c);
    case EQ_OP_PAD:
        CHECK(unary4(c, 0, EQ_PAD_PARAMS_BYTES, &i, &o));
        for (k = 0; k < 9; k++) p[k] = eq_param(op, (uint32_t)k);
        for (k = 0; k < 4; k++)
        {
            if (p[k] < 0 || p[4 + k] < 0) return BAD_PARAMS(c);
            if ((int64_t)i.d[k] + p[k] + p[4 + k] != o.d[k]) return BAD_OPERANDS(c);
        }
        if (p[8] < -128 || p[8] > 127) return BAD_PARAMS(c);
        return same_quant(c, op->in[0], op->out[0]);
    case EQ_OP_RESHAPE:
        CHECK(arity(c, 1, 1));
        eq_tget(m, (uint32_t)op->in[0], &i);
        eq_tget(m, (uint32_t)op->out[0], &o);
        if (i.type != o.type || i.len != o.len) return BAD_OPERANDS(c);
        if (o.storage != 0) return BAD_OPERANDS(c);
        if (i.type == EQ_TYPE_INT8) return same_quant(c, op->in[0], op->out[0]);
        return EQ_OK;
    case EQ_OP_TRANSPOSE:
    {
        uint32_t seen = 0;
        CHECK(unary4(c, 0, EQ_TRANSPOSE_PARAMS_BYTES, &i, &o));
        for (k = 0; k < 4; k++) p[k] = eq_param(op, (uint32_t)k);
        for (k = 0; k < 4; k++)
        {
            if (p[k] < 0 || p[k] > 3 || (seen & (1u << p[k])) != 0) return BAD_PARAMS(c);
            seen |= 1u << p[k];
            if (o.d[k] != i.d[p[k]]) return BAD_OPERANDS(c);
        }
        return same_quant(c, op->in[0], op->out[0]);
    }
    case EQ_OP_SOFTMAX:
        CHECK(unary_any(c, EQ_SOFTMAX_PARAMS_BYTES, &i, &o));
        p[0] = eq_param(op, 0);
        p[1] = eq_param(op, 1);
        CHECK(cdata(c, p[0], 256 * 4, 4));
        CHECK(zp_offset(c, p[1]));
        for (k = 0; k < 256; k++)
        {
            const int32_t e = eq_rd_i32(eq_const(m, (uint32_t)p[0] + 4u * (uint32_t)k));
            if (e < 0 || e > (1 << 23)) return BAD_PARAMS(c);
        }
        if (eq_rd_i32(eq_const(m, (uint32_t)p[0])) < 1) return BAD_PARAMS(c);
        return fixed_quant(c, op->out[0], FLOAT_BITS_1_256, -128);
    case EQ_OP_LOGISTIC:
    case EQ_OP_TANH:
    case EQ_OP_LOOKUP:
        CHECK(unary_any(c, EQ_LOOKUP_PARAMS_BYTES, &i, &o));
        CHECK(cdata(c, eq_param(op, 0), 256, 1));
        if (op->type == EQ_OP_LOGISTIC) return fixed_quant(c, op->out[0], FLOAT_BITS_1_256, -128);
        if (op->type == EQ_OP_TANH) return fixed_quant(c, op->out[0], FLOAT_BITS_1_128, 0);
        return EQ_OK;
    case EQ_OP_QUANTIZE:
    case EQ_OP_DEQUANTIZE:
    {
        const int q = op->type == EQ_OP_QUANTIZE;
        uint32_t scale_bits;
        CHECK(arity(c, 1, 1));
        eq_tget(m, (uint32_t)op->in[0], &i);
        eq_tget(m, (uint32_t)op->out[0], &o);
        if (i.type != (q ? EQ_TYPE_FLOAT32 : EQ_TYPE_INT8) || o.type != (q ? EQ_TYPE_INT8 : EQ_TYPE_FLOAT32)) return BAD_OPERANDS(c);
        if (i.storage != 0 || o.storage != 0) return BAD_OPERANDS(c);
        if (!same_shape(&i, &o)) return BAD_OPERANDS(c);
        CHECK(params(c, EQ_QUANTIZE_PARAMS_BYTES));
        scale_bits = eq_rd_u32(op->params);
        if (!positive_finite(scale_bits)) return BAD_PARAMS(c);
        CHECK(zp_offset(c, eq_param(op, 1)));
        return fixed_quant(c, q ? op->out[0] : op->in[0], scale_bits, eq_param(op, 1));
    }
#if EQ_WITH_EXTENDED_OPS
    case EQ_OP_INDEX_SELECT:
        CHECK(unary4(c, 1, EQ_INDEX_SELECT_PARAMS_BYTES, &i, &o));
        for (k = 0; k < 4; k++)
        {
            int32_t e;
            p[k] = eq_param(op, (uint32_t)k);
            CHECK(cdata(c, p[k], 4 * (int64_t)o.d[k], 4));
            for (e = 0; e < o.d[k]; e++)
            {
                const int32_t v = eq_rd_i32(eq_const(m, (uint32_t)p[k] + 4u * (uint32_t)e));
                if (v < -1 || v >= i.d[k]) return BAD_PARAMS(c);
            }
        }
        p[4] = eq_param(op, 4);
        if (p[4] < -128 || p[4] > 127) return BAD_PARAMS(c);
        return same_quant(c, op->in[0], op->out[0]);
    case EQ_OP_BATCH_MATMUL:
    {
        eq_tinfo b;
        CHECK(arity(c, 2, 1));
        CHECK(act(c, op->in[0], 4, 1, &i));
        CHECK(act(c, op->in[1], 4, 1, &b));
        CHECK(act(c, op->out[0], 4, 0, &o));
        CHECK(params(c, EQ_BATCH_MATMUL_PARAMS_BYTES));
        if (i.d[3] != b.d[3] || o.d[2] != i.d[2] || o.d[3] != b.d[2]) return BAD_OPERANDS(c);
        for (k = 0; k < 2; k++)
            if ((i.d[k] != o.d[k] && i.d[k] != 1) || (b.d[k] != o.d[k] && b.d[k] != 1)) return BAD_OPERANDS(c);
        if ((int64_t)i.d[3] * 383 * 383 > INT32_MAX) return BAD_OPERANDS(c);
        for (k = 0; k < 7; k++) p[k] = eq_param(op, (uint32_t)k);
        CHECK(zp_offset(c, p[0])); CHECK(zp_offset(c, p[1])); CHECK(zp_offset(c, p[2]));
        CHECK(multiplier(c, p[3])); CHECK(shift(c, p[4])); CHECK(activation(c, p[5], p[6]));
        return EQ_OK;
    }
    case EQ_OP_ARGMAX:
        /* C# OpValidator.ValidateArgMax: the output is the input with dimension `axis` set to 1, scale 1. */
        CHECK(arity(c, 1, 1));
        CHECK(act_any(c, op->in[0], &i));
        CHECK(act_any(c, op->out[0], &o));
        CHECK(params(c, EQ_ARGMAX_PARAMS_BYTES));
        for (k = 0; k < 3; k++) p[k] = eq_param(op, (uint32_t)k);
        if (p[0] < 0 || p[0] > 3 || (p[1] != 0 && p[1] != 1)) return BAD_PARAMS(c);
        for (k = 0; k < 4; k++)
            if (o.d[k] != (k == p[0] ? 1 : i.d[k])) return BAD_OPERANDS(c);
        if (p[2] < -128 || (int64_t)p[2] + i.d[p[0]] - 1 > 127) return BAD_PARAMS(c);
        return fixed_quant(c, op->out[0], FLOAT_BITS_1, p[2]);
#endif
#if EQ_WITH_RECURRENT
    case EQ_OP_LSTM:
    case EQ_OP_GRU:
    case EQ_OP_LSTM_PACKED:
    case EQ_OP_GRU_PACKED:
        return validate_recurrent(c);
#endif
#if EQ_WITH_DYNAMIC_OPS
    case EQ_OP_DYNAMIC_CONV2D:
    case EQ_OP_DYNAMIC_DEPTHWISE_CONV2D:
    case EQ_OP_DYNAMIC_FULLY_CONNECTED:
    case EQ_OP_MAX_POOL2D_F32:
    case EQ_OP_MEAN_F32:
    case EQ_OP_ADD_F32:
    case EQ_OP_TRANSPOSE_F32:
        return validate_dynamic(c);
#endif
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
        return validate_mixed(c);
#endif
    default:
        return fail(m, EQ_ERR_OP_UNKNOWN, EQ_SECTION_OPS, index, (int64_t)m->ops_off + (int64_t)index * EQ_OP_BYTES);
    }
}

/* ---- Dataflow and memory plan (Model.ValidateDataflowAndPlan) ----
 *
 * Lifetimes per tensor (producer, last use, alias parent, alias-group interval) come from work
 * arrays when the caller's work memory (or a small stack area) holds them: one pass over the ops,
 * then O(buffers^2) interval tests. Without work memory they are recomputed from the blob on
 * demand (O(1) memory, slower); both paths give the same verdicts (tests run both). */

#define NONE INT32_MIN
#define NONE16 INT16_MIN
#define EQ_WORK_BYTES_PER_TENSOR 10u
#ifndef EQ_INIT_STACK_WORK_BYTES
#define EQ_INIT_STACK_WORK_BYTES 520u /* 52 tensors: every zoo model */
#endif

/* Light record accessors for the scans. */
static const uint8_t *op_rec(const eq_model_t *m, uint32_t i) { return m->blob + m->ops_off + i * EQ_OP_BYTES; }
static int32_t op_in(const uint8_t *r, uint32_t k) { return eq_rd_i32(r + 4 + 4 * k); }
static int32_t op_out(const uint8_t *r, uint32_t k) { return eq_rd_i32(r + 20 + 4 * k); }
static const uint8_t *t_rec(const eq_model_t *m, int32_t t) { return m->blob + m->tensors_off + (uint32_t)t * EQ_TENSOR_BYTES; }
static int t_arena(const eq_model_t *m, int32_t t) { return t_rec(m, t)[2] == 0; }
static uint32_t t_off(const eq_model_t *m, int32_t t) { return eq_rd_u32(t_rec(m, t) + 20); }
static uint32_t t_len(const eq_model_t *m, int32_t t) { return eq_rd_u32(t_rec(m, t) + 24); }

typedef struct flow {
    const eq_model_t *m;
    int16_t *prod, *last, *parent, *gfirst, *glast; /* NULL: recompute */
} flow;

static int is_io(const eq_model_t *m, int32_t t, uint8_t direction)
{
    uint32_t k;
    for (k = 0; k < m->io_count; k++)
    {
        const uint8_t *r = m->blob + m->io_off + k * EQ_IO_BYTES;
        if (r[12] == direction && eq_rd_i32(r) == t) return 1;
    }
    return 0;
}

/* Op i is a Reshape whose output shares its input's offset (the output aliases the input). */
static int aliasing_reshape(const eq_model_t *m, const uint8_t *r)
{
    return eq_rd_u16(r) == EQ_OP_RESHAPE && t_off(m, op_out(r, 0)) == t_off(m, op_in(r, 0));
}

/* The writer of t among ops [0, before): -1 for a model input, NONE if nobody. */
static int32_t producer_before(const eq_model_t *m, int32_t t, uint32_t before)
{
    uint32_t i, k;
    if (is_io(m, t, 0)) return -1;
    for (i = 0; i < before; i++)
    {
        const uint8_t *r = op_rec(m, i);
        for (k = 0; k < r[3]; k++)
            if (op_out(r, k) == t) return (int32_t)i;
    }
    return NONE;
}

static int32_t f_prod(const flow *f, int32_t t)
{
    if (f->prod) return f->prod[t] == NONE16 ? NONE : f->prod[t];
    return producer_before(f->m, t, f->m->op_count);
}

static int32_t f_last(const flow *f, int32_t t)
{
    uint32_t i, k;
    int32_t last = -1;
    if (f->last) return f->last[t];
    if (!t_arena(f->m, t)) return -1;
    for (i = 0; i < f->m->op_count; i++)
    {
        const uint8_t *r = op_rec(f->m, i);
        for (k = 0; k < r[2]; k++)
            if (op_in(r, k) == t) last = (int32_t)i;
    }
    return is_io(f->m, t, 1) ? (int32_t)f->m->op_count : last;
}

/* The aliasing Reshape's input if t is its output, else -1. */
static int32_t f_parent(const flow *f, int32_t t)
{
    int32_t p;
    const uint8_t *r;
    if (f->parent) return f->parent[t];
    p = f_prod(f, t);
    if (p < 0) return -1;
    r = op_rec(f->m, (uint32_t)p);
    return aliasing_reshape(f->m, r) && op_out(r, 0) == t ? op_in(r, 0) : -1;
}

static int32_t f_root(const flow *f, int32_t t)
{
    uint32_t guard = 0;
    int32_t parent;
    while ((parent = f_parent(f, t)) >= 0 && guard++ < f->m->tensor_count) t = parent;
    return t;
}

/* t's own contribution to its group's lifetime (C#: arena tensors with a producer). */
static void widen(const flow *f, int32_t t, int32_t *first, int32_t *last)
{
    int32_t prod, lu, end;
    if (!t_arena(f->m, t)) return;
    prod = f_prod(f, t);
    if (prod == NONE) return;
    lu = f_last(f, t);
    end = lu > prod ? lu : prod;
    if (prod < *first) *first = prod;
    if (end > *last) *last = end;
}

/* Lifetime [first, last] of the alias group rooted at r; first == INT32_MAX if never live. */
static void group_life(const flow *f, int32_t r, int32_t *first, int32_t *last)
{
    uint32_t i;
    int any = 0;
    if (f->gfirst)
    {
        *first = f->gfirst[r] == INT16_MAX ? INT32_MAX : f->gfirst[r];
        *last = f->glast[r];
        return;
    }
    *first = INT32_MAX;
    *last = INT32_MIN;
    widen(f, r, first, last);
    /* Other members exist only if an aliasing Reshape reads r itself. */
    for (i = 0; i < f->m->op_count && !any; i++)
    {
        const uint8_t *rec = op_rec(f->m, i);
        any = aliasing_reshape(f->m, rec) && op_in(rec, 0) == r;
    }
    if (!any) return;
    for (i = 0; i < f->m->op_count; i++)
    {
        const uint8_t *rec = op_rec(f->m, i);
        if (aliasing_reshape(f->m, rec) && op_out(rec, 0) != r && f_root(f, op_out(rec, 0)) == r)
            widen(f, op_out(rec, 0), first, last);
    }
}

typedef struct buffer { uint32_t start, end; int32_t first, last; } buffer;

/* Buffer k: tensors 0..T-1 (alias roots that are live), then scratch of ops 0..O-1. Returns 0 if k is no buffer. */
static int get_buffer(const flow *f, uint32_t k, buffer *b)
{
    const eq_model_t *m = f->m;
    if (k < m->tensor_count)
    {
        b->start = t_off(m, (int32_t)k);
        b->end = b->start + t_len(m, (int32_t)k);
        if (f_parent(f, (int32_t)k) >= 0) return 0;
        group_life(f, (int32_t)k, &b->first, &b->last);
        return b->first != INT32_MAX;
    }
    else
    {
        const uint8_t *r = op_rec(m, k - m->tensor_count);
        const uint32_t sl = eq_rd_u32(r + 40);
        if (sl == 0) return 0;
        b->start = eq_rd_u32(r + 36);
        b->end = b->start + sl;
        b->first = b->last = (int32_t)(k - m->tensor_count);
        return 1;
    }
}

/* Start and end of buffer k's bytes, for the cheap spatial prefilter. */
static void buffer_range(const eq_model_t *m, uint32_t k, uint32_t *start, uint32_t *end)
{
    if (k < m->tensor_count)
    {
        *start = t_off(m, (int32_t)k);
        *end = *start + t_len(m, (int32_t)k);
    }
    else
    {
        const uint8_t *r = op_rec(m, k - m->tensor_count);
        *start = eq_rd_u32(r + 36);
        *end = *start + eq_rd_u32(r + 40);
    }
}

/* Fills the work arrays in one pass over IO and ops (after the reads/writes checks passed). */
static void precompute(flow *f)
{
    const eq_model_t *m = f->m;
    uint32_t t, i, k;
    for (t = 0; t < m->tensor_count; t++)
    {
        f->prod[t] = NONE16;
        f->last[t] = -1;
        f->parent[t] = -1;
        f->gfirst[t] = INT16_MAX;
        f->glast[t] = INT16_MIN;
    }
    for (k = 0; k < m->io_count; k++)
    {
        const uint8_t *r = m->blob + m->io_off + k * EQ_IO_BYTES;
        if (r[12] == 0) f->prod[eq_rd_i32(r)] = -1;
    }
    for (i = 0; i < m->op_count; i++)
    {
        const uint8_t *r = op_rec(m, i);
        for (k = 0; k < r[2]; k++)
            if (t_arena(m, op_in(r, k))) f->last[op_in(r, k)] = (int16_t)i;
        for (k = 0; k < r[3]; k++) f->prod[op_out(r, k)] = (int16_t)i;
        if (aliasing_reshape(m, r)) f->parent[op_out(r, 0)] = (int16_t)op_in(r, 0);
    }
    for (k = 0; k < m->io_count; k++)
    {
        const uint8_t *r = m->blob + m->io_off + k * EQ_IO_BYTES;
        if (r[12] == 1) f->last[eq_rd_i32(r)] = (int16_t)m->op_count;
    }
    /* Group intervals need the per-tensor arrays only; compute them into locals, then publish. */
    {
        int16_t *gfirst = f->gfirst, *glast = f->glast;
        f->gfirst = f->glast = NULL;
        for (t = 0; t < m->tensor_count; t++)
        {
            int32_t first = INT32_MAX, last = INT32_MIN, r;
            widen(f, (int32_t)t, &first, &last);
            if (first == INT32_MAX) continue;
            r = f_root(f, (int32_t)t);
            if (first < gfirst[r]) gfirst[r] = (int16_t)first;
            if (last > glast[r]) glast[r] = (int16_t)last;
        }
        f->gfirst = gfirst;
        f->glast = glast;
    }
}

#define FLOW_BLOCK 16

static eq_status validate_dataflow(eq_model_t *m, void *work, size_t work_bytes)
{
    uint32_t i, k, x0, y, n;
    flow f;
    const int64_t ops_byte = (int64_t)m->ops_off;
    f.m = m;
    f.prod = f.last = f.parent = f.gfirst = f.glast = NULL;
    if (work != NULL && ((uintptr_t)work & 1u) == 0 && work_bytes >= (size_t)m->tensor_count * EQ_WORK_BYTES_PER_TENSOR)
    {
        f.prod = (int16_t *)work;
        f.last = f.prod + m->tensor_count;
        f.parent = f.last + m->tensor_count;
        f.gfirst = f.parent + m->tensor_count;
        f.glast = f.gfirst + m->tensor_count;
    }
    /* Reads before writes, single writers, outputs in the arena: in op order, as C#. */
    if (f.prod)
    {
        for (k = 0; k < m->tensor_count; k++) f.prod[k] = NONE16;
        for (k = 0; k < m->io_count; k++)
        {
            const uint8_t *r = m->blob + m->io_off + k * EQ_IO_BYTES;
            if (r[12] == 0) f.prod[eq_rd_i32(r)] = -1;
        }
    }
    for (i = 0; i < m->op_count; i++)
    {
        const uint8_t *r = op_rec(m, i);
        for (k = 0; k < r[2]; k++)
        {
            const int32_t t = op_in(r, k);
            if (!t_arena(m, t)) continue;
            if ((f.prod ? (f.prod[t] == NONE16 ? NONE : 0) : producer_before(m, t, i)) == NONE)
                return fail(m, EQ_ERR_DATAFLOW, EQ_SECTION_OPS, i, ops_byte + i * EQ_OP_BYTES);
        }
        for (k = 0; k < r[3]; k++)
        {
            const int32_t t = op_out(r, k);
            if (!t_arena(m, t)) return fail(m, EQ_ERR_DATAFLOW, EQ_SECTION_OPS, i, ops_byte + i * EQ_OP_BYTES);
            if (f.prod)
            {
                if (f.prod[t] != NONE16) return fail(m, EQ_ERR_DATAFLOW, EQ_SECTION_OPS, i, ops_byte + i * EQ_OP_BYTES);
                f.prod[t] = (int16_t)i;
            }
            else if (producer_before(m, t, i) != NONE || (k == 1 && op_out(r, 1) == op_out(r, 0)))
                return fail(m, EQ_ERR_DATAFLOW, EQ_SECTION_OPS, i, ops_byte + i * EQ_OP_BYTES);
        }
    }
    for (k = 0; k < m->io_count; k++)
    {
        const uint8_t *r = m->blob + m->io_off + k * EQ_IO_BYTES;
        const int32_t t = eq_rd_i32(r);
        if (r[12] == 1 && (f.prod ? f.prod[t] == NONE16 : producer_before(m, t, m->op_count) == NONE))
            return fail(m, EQ_ERR_DATAFLOW, EQ_SECTION_IO, k, (int64_t)m->io_off + k * EQ_IO_BYTES);
    }
    if (f.prod) precompute(&f);
    /* Aliases must have their root's byte length. */
    for (k = 0; k < m->tensor_count; k++)
        if (f_parent(&f, (int32_t)k) >= 0 && t_len(m, (int32_t)k) != t_len(m, f_root(&f, (int32_t)k)))
            return fail(m, EQ_ERR_TENSORS, EQ_SECTION_TENSORS, k, (int64_t)m->tensors_off + k * EQ_TENSOR_BYTES);
    /* No two buffers live at the same step may share a byte. Blocks of FLOW_BLOCK buffers keep
     * their lifetimes on the stack, so each later buffer's lifetime is computed once per block. */
    n = m->tensor_count + m->op_count;
    for (x0 = 0; x0 < n; x0 += FLOW_BLOCK)
    {
        buffer bx[FLOW_BLOCK];
        uint8_t valid[FLOW_BLOCK];
        const uint32_t count = n - x0 < FLOW_BLOCK ? n - x0 : FLOW_BLOCK;
        int any = 0;
        for (k = 0; k < count; k++)
        {
            valid[k] = (uint8_t)get_buffer(&f, x0 + k, &bx[k]);
            any |= valid[k];
        }
        if (!any) continue;
        for (y = x0 + 1; y < n; y++)
        {
            uint32_t ys, ye, limit = y - x0 < count ? y - x0 : count;
            buffer by;
            int overlap = 0;
            buffer_range(m, y, &ys, &ye);
            for (k = 0; k < limit && !overlap; k++)
                overlap = valid[k] && bx[k].start < ye && ys < bx[k].end;
            if (!overlap) continue;
            if (y - x0 < count)
            {
                if (!valid[y - x0]) continue;
                by = bx[y - x0];
            }
            else if (!get_buffer(&f, y, &by)) continue;
            for (k = 0; k < limit; k++)
                if (valid[k] && bx[k].start < by.end && by.start < bx[k].end && bx[k].first <= by.last && by.first <= bx[k].last)
                    return fail(m, EQ_ERR_ARENA_OVERLAP, EQ_SECTION_MEMORY_PLAN, -1, -1);
        }
    }
    return EQ_OK;
}

/* ---- The blob ---- */

const uint8_t *eq_io_record(const eq_model_t *m, uint32_t direction, uint32_t index)
{
    uint32_t k, seen = 0;
    for (k = 0; k < m->io_count; k++)
    {
        const uint8_t *r = m->blob + m->io_off + k * EQ_IO_BYTES;
        if (r[12] == direction && seen++ == index) return r;
    }
    return NULL;
}

eq_status eq_model_init(eq_model_t *model, const void *blob, size_t blob_size)
{
    return eq_model_init_ex(model, blob, blob_size, NULL);
}

eq_status eq_model_init_ex(eq_model_t *m, const void *blob_ptr, size_t size, const eq_load_options *options)
{
    const int skip_crc = options != NULL && options->skip_crc;
    uint32_t max_arena = options != NULL ? options->max_arena_bytes : 0;
    void *work = options != NULL ? options->work : NULL;
    size_t work_bytes = options != NULL ? options->work_bytes : 0;
    const uint8_t *b = (const uint8_t *)blob_ptr;
    uint32_t sec_off[10], sec_len[10], sec_cnt[10];
    uint32_t section_count, table_off, s, i, k;
    uint64_t table_end;
    const uint8_t *r;
    if (m == NULL) return EQ_ERR_ARGUMENT;
    memset(m, 0, sizeof *m);
    m->error.record = -1;
    m->error.byte_offset = -1;
    if (b == NULL) return fail(m, EQ_ERR_ARGUMENT, EQ_SECTION_HEADER, -1, -1);
    if (((uintptr_t)b & 3u) != 0) return fail(m, EQ_ERR_ALIGNMENT, EQ_SECTION_HEADER, -1, 0);
    if (max_arena == 0) max_arena = EQ_MAX_ARENA_BYTES;

    /* 8.1 Header. */
    if (size < EQ_HEADER_BYTES) return fail(m, EQ_ERR_HEADER, EQ_SECTION_HEADER, -1, 0);
    if (eq_rd_u32(b) != EQ_MAGIC) return fail(m, EQ_ERR_HEADER, EQ_SECTION_HEADER, -1, 0);
    m->version_major = eq_rd_u16(b + 4);
    m->version_minor = eq_rd_u16(b + 6);
    if (m->version_major != EQ_FORMAT_VERSION_MAJOR) return fail(m, EQ_ERR_VERSION, EQ_SECTION_HEADER, -1, 4);
    if (size > 0xFFFFFFFFu || eq_rd_u32(b + 8) != (uint32_t)size) return fail(m, EQ_ERR_HEADER, EQ_SECTION_HEADER, -1, 8);
    if (!skip_crc && eq_rd_u32(b + 12) != eq_crc32(b + 16, size - 16)) return fail(m, EQ_ERR_CRC, EQ_SECTION_HEADER, -1, 12);
    section_count = eq_rd_u32(b + 16);
    table_off = eq_rd_u32(b + 20);
    if (section_count == 0 || section_count > EQ_MAX_SECTIONS) return fail(m, EQ_ERR_HEADER, EQ_SECTION_HEADER, -1, 16);
    table_end = (uint64_t)table_off + (uint64_t)section_count * EQ_SECTION_ENTRY_BYTES;
    if (table_off < EQ_HEADER_BYTES || table_end > size) return fail(m, EQ_ERR_HEADER, EQ_SECTION_HEADER, -1, 20);
    m->blob = b;
    m->blob_size = (uint32_t)size;

    /* 8.2 Section table. */
    for (k = 0; k < 10; k++) sec_off[k] = sec_len[k] = sec_cnt[k] = 0;
    for (s = 0; s < section_count; s++)
    {
        const uint32_t e = table_off + s * EQ_SECTION_ENTRY_BYTES;
        const uint32_t kind = eq_rd_u32(b + e), off = eq_rd_u32(b + e + 4), len = eq_rd_u32(b + e + 8), cnt = eq_rd_u32(b + e + 12);
        if (off % 16 != 0 || off < table_end || (uint64_t)off + len > size) return fail(m, EQ_ERR_SECTION_TABLE, EQ_SECTION_TABLE, s, e);
        for (k = 0; k < s; k++)
        {
            const uint32_t e2 = table_off + k * EQ_SECTION_ENTRY_BYTES;
            const uint64_t o2 = eq_rd_u32(b + e2 + 4), l2 = eq_rd_u32(b + e2 + 8);
            if (off < o2 + l2 && o2 < (uint64_t)off + len) return fail(m, EQ_ERR_SECTION_TABLE, EQ_SECTION_TABLE, s, e);
        }
        if (kind == 0 || kind > 9) continue;
        if (sec_off[kind] != 0) return fail(m, EQ_ERR_SECTION_TABLE, EQ_SECTION_TABLE, s, e);
        sec_off[kind] = off;
        sec_len[kind] = len;
        sec_cnt[kind] = cnt;
    }

#define MISSING(kind) fail(m, EQ_ERR_MISSING_SECTION, (kind), -1, -1)
#define RECORDS(kind, size) ((uint64_t)sec_cnt[kind] * (size) != sec_len[kind] ? fail(m, EQ_ERR_SECTION_SIZE, (kind), -1, sec_off[kind]) : EQ_OK)
    /* Sections are looked up in the C# reader's order: Strings, ConstantData, OpParams, MemoryPlan, ... */
    m->strings_off = sec_off[EQ_SECTION_STRINGS];
    m->strings_len = sec_off[EQ_SECTION_STRINGS] ? sec_len[EQ_SECTION_STRINGS] : 0;
    if (!sec_off[EQ_SECTION_CONSTANT_DATA]) return MISSING(EQ_SECTION_CONSTANT_DATA);
    m->const_off = sec_off[EQ_SECTION_CONSTANT_DATA];
    m->const_len = sec_len[EQ_SECTION_CONSTANT_DATA];
    m->params_off = sec_off[EQ_SECTION_OPPARAMS];
    m->params_len = sec_off[EQ_SECTION_OPPARAMS] ? sec_len[EQ_SECTION_OPPARAMS] : 0;

    /* 8.3 MemoryPlan. */
    if (!sec_off[EQ_SECTION_MEMORY_PLAN]) return MISSING(EQ_SECTION_MEMORY_PLAN);
    CHECK(RECORDS(EQ_SECTION_MEMORY_PLAN, EQ_PLAN_BYTES));
    if (sec_cnt[EQ_SECTION_MEMORY_PLAN] != 1) return fail(m, EQ_ERR_MEMORY_PLAN, EQ_SECTION_MEMORY_PLAN, -1, sec_off[EQ_SECTION_MEMORY_PLAN]);
    r = b + sec_off[EQ_SECTION_MEMORY_PLAN];
    m->arena_bytes = eq_rd_u32(r);
    m->arena_lower_bound = eq_rd_u32(r + 4);
    if (m->arena_bytes > max_arena || m->arena_lower_bound > m->arena_bytes)
        return fail(m, EQ_ERR_MEMORY_PLAN, EQ_SECTION_MEMORY_PLAN, 0, sec_off[EQ_SECTION_MEMORY_PLAN]);

    /* Quantization. */
    if (sec_off[EQ_SECTION_QUANTIZATION]) CHECK(RECORDS(EQ_SECTION_QUANTIZATION, EQ_QUANT_BYTES));
    m->quant_off = sec_off[EQ_SECTION_QUANTIZATION];
    m->quant_count = sec_off[EQ_SECTION_QUANTIZATION] ? sec_cnt[EQ_SECTION_QUANTIZATION] : 0;
    for (i = 0; i < m->quant_count; i++)
    {
        const uint32_t at = m->quant_off + i * EQ_QUANT_BYTES;
        const uint32_t ch = eq_rd_u32(b + at), so = eq_rd_u32(b + at + 8);
        const int32_t zp = eq_rd_i32(b + at + 4), qd = eq_rd_i32(b + at + 12);
        if (ch == 0 || ch > 65536 || zp < -128 || zp > 127 || so % 4 != 0 || (uint64_t)so + 4ull * ch > m->const_len
            || qd < -1 || qd > 3 || (ch > 1 && qd < 0))
            return fail(m, EQ_ERR_QUANTIZATION, EQ_SECTION_QUANTIZATION, i, at);
        for (k = 0; k < ch; k++)
            if (!positive_finite(eq_rd_u32(b + m->const_off + so + 4 * k)))
                return fail(m, EQ_ERR_QUANTIZATION, EQ_SECTION_QUANTIZATION, i, at);
    }

    /* Tensors. */
    if (!sec_off[EQ_SECTION_TENSORS]) return MISSING(EQ_SECTION_TENSORS);
    CHECK(RECORDS(EQ_SECTION_TENSORS, EQ_TENSOR_BYTES));
    m->tensors_off = sec_off[EQ_SECTION_TENSORS];
    m->tensor_count = sec_cnt[EQ_SECTION_TENSORS];
    if (m->tensor_count > EQ_MAX_TENSORS) return fail(m, EQ_ERR_TENSORS, EQ_SECTION_TENSORS, -1, m->tensors_off);
    for (i = 0; i < m->tensor_count; i++)
    {
        eq_tinfo t;
        const uint32_t at = m->tensors_off + i * EQ_TENSOR_BYTES;
        const uint32_t es = (eq_tget(m, i, &t), element_size(t.type));
        int64_t elems = 1;
        uint64_t limit;
#define BAD_TENSOR fail(m, EQ_ERR_TENSORS, EQ_SECTION_TENSORS, i, at)
        if (es == 0 || t.rank < 1 || t.rank > 4 || t.storage > 1) return BAD_TENSOR;
        for (k = 0; k < 4; k++)
        {
            if (k >= t.rank && t.d[k] != 1) return BAD_TENSOR;
            if (t.d[k] < 1 || t.d[k] > (1 << 24)) return BAD_TENSOR;
            elems *= t.d[k];
            if (elems > INT32_MAX / 4) return BAD_TENSOR;
        }
#if EQ_WITH_COMPRESSED_WEIGHTS
        /* int4 and index4: dims[0] rows of ceil(row elements / 2) bytes; compressed filters are constants. */
        if (t.type == EQ_TYPE_INT4 || t.type == EQ_TYPE_INDEX4) elems = (int64_t)t.d[0] * ((elems / t.d[0] + 1) / 2);
        if (t.type >= EQ_TYPE_INT4 && t.type <= EQ_TYPE_INDEX8 && ((int64_t)t.len != elems || t.storage != 1)) return BAD_TENSOR;
#endif
#if EQ_WITH_SPARSE_WEIGHTS
        /* SparseInt8: any byte length here, checked against the content below; constant only. */
        if (t.type == EQ_TYPE_SPARSE_INT8) { elems = (int64_t)t.len; if (t.storage != 1) return BAD_TENSOR; }
#endif
        if ((int64_t)t.len != elems * es || t.off % 16 != 0) return BAD_TENSOR;
        limit = t.storage == 1 ? m->const_len : m->arena_bytes;
        if ((uint64_t)t.off + t.len > limit) return BAD_TENSOR;
#if EQ_WITH_SPARSE_WEIGHTS
        if (t.type == EQ_TYPE_SPARSE_INT8 && !sparse_rows(m, &t)) return BAD_TENSOR;
#endif
        if (t.qi < -1 || t.qi >= (int64_t)m->quant_count) return BAD_TENSOR;
        if (t.type == EQ_TYPE_INT8 && t.qi < 0) return BAD_TENSOR;
#if EQ_WITH_MIXED_PRECISION
        /* int16 activations are symmetric (zero point 0); int64 tensors are the 16x8 ops' constant biases. */
        if (t.type == EQ_TYPE_INT16 && (t.qi < 0 || eq_qzp(m, t.qi) != 0)) return BAD_TENSOR;
        if (t.type == EQ_TYPE_INT64 && t.storage != 1) return BAD_TENSOR;
#endif
        if (t.qi >= 0)
        {
            const uint32_t ch = eq_qchannels(m, t.qi);
            const int32_t qd = eq_rd_i32(b + m->quant_off + (uint32_t)t.qi * EQ_QUANT_BYTES + 12);
            if (ch > 1 && (qd >= t.rank || (uint32_t)t.d[qd] != ch)) return BAD_TENSOR;
        }
#undef BAD_TENSOR
    }

    /* IO. */
    if (!sec_off[EQ_SECTION_IO]) return MISSING(EQ_SECTION_IO);
    CHECK(RECORDS(EQ_SECTION_IO, EQ_IO_BYTES));
    m->io_off = sec_off[EQ_SECTION_IO];
    m->io_count = sec_cnt[EQ_SECTION_IO];
    for (i = 0; i < m->io_count; i++)
    {
        const uint32_t at = m->io_off + i * EQ_IO_BYTES;
        const int32_t ti = eq_rd_i32(b + at);
        const uint32_t no = eq_rd_u32(b + at + 4), nl = eq_rd_u32(b + at + 8);
        const uint8_t dir = b[at + 12], layout = b[at + 13];
        eq_tinfo t;
        if ((uint64_t)no + nl > m->strings_len || nl > (1u << 20)) return fail(m, EQ_ERR_IO, EQ_SECTION_IO, i, at);
        if (ti < 0 || (uint32_t)ti >= m->tensor_count) return fail(m, EQ_ERR_IO, EQ_SECTION_IO, i, at);
        eq_tget(m, (uint32_t)ti, &t);
        if (t.storage != 0 || dir > 1 || layout > 1 || (layout == 1 && t.rank != 4)) return fail(m, EQ_ERR_IO, EQ_SECTION_IO, i, at);
        if (dir == 0) m->input_count++;
        else m->output_count++;
    }
    if (m->input_count == 0 || m->output_count == 0) return fail(m, EQ_ERR_IO, EQ_SECTION_IO, -1, m->io_off);

    /* Metadata. */
    if (sec_off[EQ_SECTION_METADATA]) CHECK(RECORDS(EQ_SECTION_METADATA, EQ_META_BYTES));
    m->meta_off = sec_off[EQ_SECTION_METADATA];
    m->meta_count = sec_off[EQ_SECTION_METADATA] ? sec_cnt[EQ_SECTION_METADATA] : 0;
    for (i = 0; i < m->meta_count; i++)
    {
        const uint32_t at = m->meta_off + i * EQ_META_BYTES;
        for (k = 0; k < 2; k++)
        {
            const uint32_t so = eq_rd_u32(b + at + 8 * k), sl = eq_rd_u32(b + at + 8 * k + 4);
            if ((uint64_t)so + sl > m->strings_len || sl > (1u << 20)) return fail(m, EQ_ERR_METADATA, EQ_SECTION_METADATA, i, at);
        }
    }

    /* Ops. */
    if (!sec_off[EQ_SECTION_OPS]) return MISSING(EQ_SECTION_OPS);
    CHECK(RECORDS(EQ_SECTION_OPS, EQ_OP_BYTES));
    m->ops_off = sec_off[EQ_SECTION_OPS];
    m->op_count = sec_cnt[EQ_SECTION_OPS];
    if (m->op_count == 0 || m->op_count > EQ_MAX_OPS) return fail(m, EQ_ERR_OPS, EQ_SECTION_OPS, -1, m->ops_off);
    for (i = 0; i < m->op_count; i++)
    {
        const uint32_t at = m->ops_off + i * EQ_OP_BYTES;
        eq_oinfo op;
        eq_status st;
        const uint8_t *rec = b + at;
        const uint8_t nin = rec[2], nout = rec[3];
        if (nin > 4 || nout < 1 || nout > 2) return fail(m, EQ_ERR_OPS, EQ_SECTION_OPS, i, at);
        for (k = 0; k < 6; k++)
        {
            const int32_t v = eq_rd_i32(rec + 4 + 4 * k);
            const int used = k < 4 ? k < nin : k - 4 < nout;
            if (used && (v < 0 || (uint32_t)v >= m->tensor_count)) return fail(m, EQ_ERR_OPS, EQ_SECTION_OPS, i, at);
            if (!used && v != -1) return fail(m, EQ_ERR_OPS, EQ_SECTION_OPS, i, at);
        }
        {
            const uint32_t po = eq_rd_u32(rec + 28), pl = eq_rd_u32(rec + 32), so = eq_rd_u32(rec + 36), sl = eq_rd_u32(rec + 40);
            if (po % 4 != 0 || (uint64_t)po + pl > m->params_len) return fail(m, EQ_ERR_OPS, EQ_SECTION_OPS, i, at);
            if ((uint64_t)so + sl > m->arena_bytes || (sl > 0 && so % 16 != 0)) return fail(m, EQ_ERR_OPS, EQ_SECTION_OPS, i, at);
        }
        eq_oget(m, i, &op);
        st = validate_op(m, i, &op);
        if (st != EQ_OK) return st;
    }

    /* 8.5 Dataflow and the memory plan. */
    {
        /* Work memory for the lifetime arrays: the caller's, else a small stack area, else none. */
#if EQ_INIT_STACK_WORK_BYTES > 0
        uint16_t stack_work[EQ_INIT_STACK_WORK_BYTES / 2];
        if (work == NULL || work_bytes < (size_t)m->tensor_count * EQ_WORK_BYTES_PER_TENSOR)
        {
            work = stack_work;
            work_bytes = sizeof stack_work;
        }
#endif
        CHECK(validate_dataflow(m, work, work_bytes));
    }
    m->error.section = 0;
    m->error.record = -1;
    m->error.byte_offset = -1;
    return EQ_OK;
}
