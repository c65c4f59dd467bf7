/* Internal helpers shared by the reader (model.c) and the interpreter (interpreter.c). */
#ifndef EQ_INTERNAL_H
#define EQ_INTERNAL_H

#include <stdint.h>
#include <string.h>
#include "edgequant.h"

#define EQ_HEADER_BYTES 32u
#define EQ_SECTION_ENTRY_BYTES 16u
#define EQ_TENSOR_BYTES 32u
#define EQ_QUANT_BYTES 16u
#define EQ_OP_BYTES 48u
#define EQ_IO_BYTES 16u
#define EQ_META_BYTES 16u
#define EQ_PLAN_BYTES 16u
#define EQ_MAX_TENSORS 4096u
#define EQ_MAX_OPS 4096u
#define EQ_MAX_SECTIONS 64u
#define EQ_MAGIC 0x424D5145u

/* Parameter record sizes (docs/format.md 5.4). */
#define EQ_CONV_PARAMS_BYTES 64u
#define EQ_FC_PARAMS_BYTES 32u
#define EQ_ELEMENTWISE_PARAMS_BYTES 48u
#define EQ_POOL_PARAMS_BYTES 48u
#define EQ_MEAN_PARAMS_BYTES 16u
#define EQ_CONCAT_PARAMS_BYTES 64u
#define EQ_PAD_PARAMS_BYTES 48u
#define EQ_TRANSPOSE_PARAMS_BYTES 16u
#define EQ_SOFTMAX_PARAMS_BYTES 16u
#define EQ_LOOKUP_PARAMS_BYTES 16u
#define EQ_QUANTIZE_PARAMS_BYTES 16u
#define EQ_INDEX_SELECT_PARAMS_BYTES 32u
#define EQ_BATCH_MATMUL_PARAMS_BYTES 32u
#define EQ_ARGMAX_PARAMS_BYTES 16u
#define EQ_CONV_PACKED_PARAMS_BYTES 32u
#define EQ_FC_PACKED_PARAMS_BYTES 16u
#define EQ_DYNAMIC_CONV_PARAMS_BYTES 48u
#define EQ_FLOAT_CLAMP_PARAMS_BYTES 16u
#define EQ_REQUANTIZE_PARAMS_BYTES 16u
#define EQ_RECURRENT_PARAMS_BYTES 64u
#define EQ_RECURRENT_PACKED_PARAMS_BYTES 16u

/* Ops 50-52 need both the compressed filter types and their own option. */
#define EQ_WITH_OPS_50_52 (EQ_WITH_COMPRESSED_WEIGHTS && EQ_WITH_COMPRESSED_ARRAYS)

/* Compressed filter element types (docs/format.md 5.10): constant only, ops 55-57. */
#define EQ_TYPE_INT4 10u
#define EQ_TYPE_INDEX4 11u
#define EQ_TYPE_INDEX8 12u
/* Sparse rows (docs/format.md 5.11): int32 row starts [rows + 1], u16 columns, int8 values; ops 53-54. */
#define EQ_TYPE_SPARSE_INT8 13u

/* Little-endian reads with byte loads: the blob may sit at any alignment inside a record. */
static inline uint32_t eq_rd_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline int32_t eq_rd_i32(const uint8_t *p) { return (int32_t)eq_rd_u32(p); }
static inline uint16_t eq_rd_u16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline float eq_rd_f32(const uint8_t *p)
{
    uint32_t u = eq_rd_u32(p);
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* A decoded tensor record. */
typedef struct eq_tinfo {
    uint8_t type, rank, storage;
    int32_t d[4];
    uint32_t off, len;
    int32_t qi;
} eq_tinfo;

/* A decoded op record; params points at the parameter record (NULL when params_length is 0). */
typedef struct eq_oinfo {
    uint16_t type;
    uint8_t nin, nout;
    int32_t in[4], out[2];
    uint32_t po, pl, so, sl;
    const uint8_t *params;
} eq_oinfo;

/* Decodes tensor record t (model.c: one copy for the reader and the interpreter). */
void eq_tget(const eq_model_t *m, uint32_t t, eq_tinfo *o);

static inline void eq_oget(const eq_model_t *m, uint32_t i, eq_oinfo *o)
{
    const uint8_t *r = m->blob + m->ops_off + i * EQ_OP_BYTES;
    int k;
    o->type = eq_rd_u16(r);
    o->nin = r[2];
    o->nout = r[3];
    for (k = 0; k < 4; k++) o->in[k] = eq_rd_i32(r + 4 + 4 * k);
    for (k = 0; k < 2; k++) o->out[k] = eq_rd_i32(r + 20 + 4 * k);
    o->po = eq_rd_u32(r + 28);
    o->pl = eq_rd_u32(r + 32);
    o->so = eq_rd_u32(r + 36);
    o->sl = eq_rd_u32(r + 40);
    o->params = o->pl == 0 ? NULL : m->blob + m->params_off + o->po;
}

/* Parameter field k (int32) of an op. */
static inline int32_t eq_param(const eq_oinfo *o, uint32_t k) { return eq_rd_i32(o->params + 4 * k); }

/* Pointer into ConstantData. */
static inline const uint8_t *eq_const(const eq_model_t *m, uint32_t off) { return m->blob + m->const_off + off; }

/* Quantization record qi: zero point and the bits of channel 0's scale. */
static inline int32_t eq_qzp(const eq_model_t *m, int32_t qi) { return eq_rd_i32(m->blob + m->quant_off + (uint32_t)qi * EQ_QUANT_BYTES + 4); }
static inline uint32_t eq_qchannels(const eq_model_t *m, int32_t qi) { return eq_rd_u32(m->blob + m->quant_off + (uint32_t)qi * EQ_QUANT_BYTES); }
static inline uint32_t eq_qscale_bits(const eq_model_t *m, int32_t qi)
{
    uint32_t so = eq_rd_u32(m->blob + m->quant_off + (uint32_t)qi * EQ_QUANT_BYTES + 8);
    return eq_rd_u32(eq_const(m, so));
}

/* The k-th IO record with a direction (0 input, 1 output); returns a pointer to the record or NULL. */
const uint8_t *eq_io_record(const eq_model_t *m, uint32_t direction, uint32_t index);

#endif
