/*
 * EdgeQuant C99 micro runtime: the whole public API.
 *
 * Runs the same .eqm blobs as the C# runtime (docs/format.md) with the same int8 arithmetic
 * (docs/quantization.md), byte for byte. No heap, no globals holding model state, nothing
 * printed, nothing aborted: every function returns an eq_status.
 *
 *   eq_model_t model;                       // validated view of the blob (read in place, e.g. flash)
 *   eq_model_init(&model, blob, blob_size); // checks every rule the C# reader checks
 *   uint32_t need; eq_arena_bytes(&model, &need);
 *   eq_interpreter_t it;
 *   eq_interpreter_init(&it, &model, arena, arena_size);   // arena: >= need bytes, 4-byte aligned
 *   eq_tensor_t in;  eq_input(&it, 0, &in);  ... write in.data (int8, NHWC) ...
 *   eq_invoke(&it);
 *   eq_tensor_t out; eq_output(&it, 0, &out); ... read out.data ...
 *
 * The blob must stay unchanged and in place while the model is used; it must start at a
 * 4-byte aligned address (16 recommended, so constant tensors are 16-byte aligned).
 */
#ifndef EDGEQUANT_H
#define EDGEQUANT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EQ_FORMAT_VERSION_MAJOR 1
#define EQ_FORMAT_VERSION_MINOR 0

/* Largest arena a blob may ask for (the C# reader's default ModelLoadOptions.MaxArenaBytes). */
#ifndef EQ_MAX_ARENA_BYTES
#define EQ_MAX_ARENA_BYTES (256u << 20)
#endif

/* Status of every call. Values are stable; new ones are only appended. */
typedef enum eq_status {
    EQ_OK = 0,
    EQ_ERR_ARGUMENT = 1,        /* a NULL pointer, an index out of range, a buffer too small */
    EQ_ERR_ALIGNMENT = 2,       /* blob or arena not 4-byte aligned in memory */
    EQ_ERR_HEADER = 3,          /* blob shorter than the header, bad magic, blob_size, section count/table */
    EQ_ERR_VERSION = 4,         /* format major version is not 1 */
    EQ_ERR_CRC = 5,             /* CRC-32 of bytes [16, blob_size) does not match */
    EQ_ERR_SECTION_TABLE = 6,   /* a section misaligned, outside the blob, overlapping, or twice */
    EQ_ERR_MISSING_SECTION = 7, /* a required section (Tensors, Ops, ConstantData, MemoryPlan, IO) is absent */
    EQ_ERR_SECTION_SIZE = 8,    /* count x record size != length */
    EQ_ERR_MEMORY_PLAN = 9,     /* MemoryPlan record: arena too large, lower bound above the arena */
    EQ_ERR_QUANTIZATION = 10,   /* a Quantization record breaks a rule */
    EQ_ERR_TENSORS = 11,        /* a Tensors record breaks a rule */
    EQ_ERR_IO = 12,             /* an IO record breaks a rule, or no input / no output */
    EQ_ERR_METADATA = 13,       /* a Metadata string outside Strings */
    EQ_ERR_OPS = 14,            /* an Ops record: counts, tensor slots, params or scratch range */
    EQ_ERR_OP_UNKNOWN = 15,     /* an op code this runtime does not know */
    EQ_ERR_OP_OPERANDS = 16,    /* an op's arity, operand types, storage, ranks, shapes, quantization */
    EQ_ERR_OP_PARAMS = 17,      /* an op's parameter record or the constant data it names */
    EQ_ERR_DATAFLOW = 18,       /* a tensor read before written, written twice, output never written */
    EQ_ERR_ARENA_OVERLAP = 19,  /* two buffers live at the same step share arena bytes */
    EQ_ERR_ARENA_TOO_SMALL = 20,/* the arena given to eq_interpreter_init is smaller than eq_arena_bytes */
    EQ_ERR_NOT_INT8 = 21,       /* an int8 view was asked of a float32 tensor (use eq_*_f32) */
    EQ_ERR_NOT_FLOAT = 22,      /* a float view was asked of an int8 tensor */
    EQ_ERR_ROUNDING_MODE = 23   /* float arithmetic asked while the FPU does not round to nearest (fesetround) */
} eq_status;

/* Blob sections (docs/format.md section 4), as named in error details. 0: header. */
typedef enum eq_section {
    EQ_SECTION_HEADER = 0,
    EQ_SECTION_TENSORS = 1,
    EQ_SECTION_QUANTIZATION = 2,
    EQ_SECTION_OPS = 3,
    EQ_SECTION_OPPARAMS = 4,
    EQ_SECTION_CONSTANT_DATA = 5,
    EQ_SECTION_MEMORY_PLAN = 6,
    EQ_SECTION_IO = 7,
    EQ_SECTION_STRINGS = 8,
    EQ_SECTION_METADATA = 9,
    EQ_SECTION_TABLE = 100
} eq_section;

/* Where the first failed rule was found: section, record (-1: none) and blob byte offset (-1: unknown). */
typedef struct eq_error {
    uint32_t section;   /* an eq_section */
    int32_t record;
    int32_t byte_offset;
} eq_error;

/* Element types and op codes, as in the blob (docs/format.md sections 5.1 and 6). */
typedef enum eq_type {
    EQ_TYPE_INT8 = 1,
    EQ_TYPE_INT32 = 2,
    EQ_TYPE_FLOAT32 = 3,
    EQ_TYPE_INT16 = 4,          /* EQ_WITH_MIXED_PRECISION: symmetric int16 activations (zero point 0) */
    EQ_TYPE_INT64 = 18          /* EQ_WITH_MIXED_PRECISION: constant 16x8 biases */
} eq_type;

/* Op codes 20 (IndexSelect), 21 (BatchMatMul) and 22 (ArgMax), docs/format.md 6.1 and 6.3: compiled in by default
 * (every op counts in the Cortex-M4's 24 KB code budget, and the runtime fits it with them).
 * -DEQ_WITH_EXTENDED_OPS=0 leaves them out of an image that never needs them (about 1.7 KB less on
 * the M4); such a build refuses a blob using any of them with EQ_ERR_OP_UNKNOWN. */
#ifndef EQ_WITH_EXTENDED_OPS
#define EQ_WITH_EXTENDED_OPS 1
#endif

/* Op codes 55-57 (Conv2D, DepthwiseConv2D, FullyConnected with an int4, index4 or index8 filter and a
 * packed per-channel record; docs/format.md 5.10, 5.12) and the element types 10-12 of their filters:
 * compiled in by default. Weights are decoded where they are used; nothing is expanded into the arena.
 * -DEQ_WITH_COMPRESSED_WEIGHTS=0 leaves them out; such a build refuses those blobs at their first
 * compressed filter with EQ_ERR_TENSORS. */
#ifndef EQ_WITH_COMPRESSED_WEIGHTS
#define EQ_WITH_COMPRESSED_WEIGHTS 1
#endif

/* Op codes 50-52 (Conv2DCompressed, DepthwiseConv2DCompressed, FullyConnectedCompressed: the filters of ops 55-57
 * with the int8 ops' int32 bias tensor and per-channel multiplier and shift arrays; the converter no longer writes
 * them, older blobs have them): compiled in by default when EQ_WITH_COMPRESSED_WEIGHTS is (one decoder for both).
 * -DEQ_WITH_COMPRESSED_ARRAYS=0 leaves them out (edgequant firmware build does for a model without them, so an
 * int4 image keeps its size); such a build refuses them with EQ_ERR_OP_UNKNOWN. */
#ifndef EQ_WITH_COMPRESSED_ARRAYS
#define EQ_WITH_COMPRESSED_ARRAYS 1
#endif

/* Op codes 53-54 (Conv2DSparse, FullyConnectedSparse: pruned filters stored as sparse rows, element type
 * SparseInt8 13, docs/format.md 5.11; what `edgequant convert --prune` writes where sparse storage is
 * faster): compiled in by default. -DEQ_WITH_SPARSE_WEIGHTS=0 leaves them out (edgequant firmware build does
 * for a model without them); such a build refuses those blobs at their first sparse tensor with EQ_ERR_TENSORS. */
#ifndef EQ_WITH_SPARSE_WEIGHTS
#define EQ_WITH_SPARSE_WEIGHTS 1
#endif

/* Op codes 60-72, mixed precision (docs/format.md 6.4): the 16x8 Conv2D, DepthwiseConv2D, FullyConnected,
 * Add, MaxPool2D and Mean (int16 activations, int8 weights, int64 biases), the float32 Conv2D,
 * DepthwiseConv2D and FullyConnected, and QuantizeS16, DequantizeS16 and Requantize at precision
 * boundaries, with the element types int16 (4) and int64 (18): compiled in by default.
 * -DEQ_WITH_MIXED_PRECISION=0 leaves them out (edgequant firmware build does for a model without
 * them: the M4 code budget is the int8 runtime's); such a build refuses those blobs at their first
 * int16 or int64 tensor with EQ_ERR_TENSORS, or at the first such op with EQ_ERR_OP_UNKNOWN. */
#ifndef EQ_WITH_MIXED_PRECISION
#define EQ_WITH_MIXED_PRECISION 1
#endif

/* Op codes 40-46, dynamic quantization (docs/format.md 6.1): DynamicConv2D, DynamicDepthwiseConv2D and
 * DynamicFullyConnected (float32 in and out, the input quantized to uint8 per inference, int8 weights)
 * and MaxPool2DF32, MeanF32, AddF32, TransposeF32 between them: compiled in by default.
 * -DEQ_WITH_DYNAMIC_OPS=0 leaves them out (edgequant firmware build does for a model without them); such
 * a build refuses those blobs with EQ_ERR_OP_UNKNOWN. */
#ifndef EQ_WITH_DYNAMIC_OPS
#define EQ_WITH_DYNAMIC_OPS 1
#endif

/* Op codes 23-26, the recurrent ops (docs/format.md 6.3, 6.3.1): Lstm and Gru with int8 weights and
 * LstmPacked and GruPacked with int4 weights, integer gate arithmetic (Q3.12 pre-activations, 257-entry
 * sigmoid/tanh tables, Q0.15 state): compiled in by default. -DEQ_WITH_RECURRENT=0 leaves them out
 * (edgequant firmware build does for a model without them: the M4 code budget is the int8 runtime's);
 * such a build refuses those blobs with EQ_ERR_OP_UNKNOWN. */
#ifndef EQ_WITH_RECURRENT
#define EQ_WITH_RECURRENT 1
#endif

typedef enum eq_op {
    EQ_OP_CONV2D = 1,
    EQ_OP_DEPTHWISE_CONV2D = 2,
    EQ_OP_FULLY_CONNECTED = 3,
    EQ_OP_ADD = 4,
    EQ_OP_MUL = 5,
    EQ_OP_MAX_POOL2D = 6,
    EQ_OP_AVERAGE_POOL2D = 7,
    EQ_OP_MEAN = 8,
    EQ_OP_CONCATENATION = 9,
    EQ_OP_PAD = 10,
    EQ_OP_RESHAPE = 11,
    EQ_OP_SOFTMAX = 12,
    EQ_OP_LOGISTIC = 13,
    EQ_OP_TANH = 14,
    EQ_OP_QUANTIZE = 15,
    EQ_OP_DEQUANTIZE = 16,
    EQ_OP_TRANSPOSE = 17,
    EQ_OP_SUB = 18,
    EQ_OP_LOOKUP = 19,
    EQ_OP_INDEX_SELECT = 20,
    EQ_OP_BATCH_MATMUL = 21,
    EQ_OP_ARGMAX = 22,          /* extended op (EQ_WITH_EXTENDED_OPS) */
    EQ_OP_LSTM = 23,                                /* 23-26: EQ_WITH_RECURRENT */
    EQ_OP_GRU = 24,
    EQ_OP_LSTM_PACKED = 25,
    EQ_OP_GRU_PACKED = 26,
    EQ_OP_DYNAMIC_CONV2D = 40,                      /* 40-46: EQ_WITH_DYNAMIC_OPS */
    EQ_OP_DYNAMIC_DEPTHWISE_CONV2D = 41,
    EQ_OP_DYNAMIC_FULLY_CONNECTED = 42,
    EQ_OP_MAX_POOL2D_F32 = 43,
    EQ_OP_MEAN_F32 = 44,
    EQ_OP_ADD_F32 = 45,
    EQ_OP_TRANSPOSE_F32 = 46,
    EQ_OP_CONV2D_COMPRESSED = 50,                   /* 50-52: EQ_WITH_COMPRESSED_WEIGHTS and EQ_WITH_COMPRESSED_ARRAYS */
    EQ_OP_DEPTHWISE_CONV2D_COMPRESSED = 51,
    EQ_OP_FULLY_CONNECTED_COMPRESSED = 52,
    EQ_OP_CONV2D_SPARSE = 53,                       /* 53-54: EQ_WITH_SPARSE_WEIGHTS */
    EQ_OP_FULLY_CONNECTED_SPARSE = 54,
    EQ_OP_CONV2D_COMPRESSED_PACKED = 55,            /* EQ_WITH_COMPRESSED_WEIGHTS */
    EQ_OP_DEPTHWISE_CONV2D_COMPRESSED_PACKED = 56,  /* EQ_WITH_COMPRESSED_WEIGHTS */
    EQ_OP_FULLY_CONNECTED_COMPRESSED_PACKED = 57,   /* EQ_WITH_COMPRESSED_WEIGHTS */
    EQ_OP_CONV2D_S16 = 60,                          /* 60-72: EQ_WITH_MIXED_PRECISION */
    EQ_OP_DEPTHWISE_CONV2D_S16 = 61,
    EQ_OP_FULLY_CONNECTED_S16 = 62,
    EQ_OP_ADD_S16 = 63,
    EQ_OP_MAX_POOL2D_S16 = 64,
    EQ_OP_MEAN_S16 = 65,
    EQ_OP_CONV2D_F32 = 66,
    EQ_OP_DEPTHWISE_CONV2D_F32 = 67,
    EQ_OP_FULLY_CONNECTED_F32 = 68,
    EQ_OP_QUANTIZE_S16 = 70,
    EQ_OP_DEQUANTIZE_S16 = 71,
    EQ_OP_REQUANTIZE = 72
} eq_op;

/* A validated model: a view over the blob (104 bytes on 32-bit targets); holds no copy of the blob. */
typedef struct eq_model {
    const uint8_t *blob;
    uint32_t blob_size;
    uint16_t version_major, version_minor;
    /* Absolute blob offsets and lengths / record counts of the known sections (offset 0: absent). */
    uint32_t tensors_off, tensor_count;
    uint32_t quant_off, quant_count;
    uint32_t ops_off, op_count;
    uint32_t params_off, params_len;
    uint32_t const_off, const_len;
    uint32_t io_off, io_count;
    uint32_t strings_off, strings_len;
    uint32_t meta_off, meta_count;
    uint32_t arena_bytes, arena_lower_bound;
    uint32_t input_count, output_count;
    eq_error error;     /* filled by eq_model_init when it fails */
} eq_model_t;

typedef struct eq_interpreter {
    const eq_model_t *model;
    uint8_t *arena;
    uint32_t arena_size;
} eq_interpreter_t;

/* A view of an input or output tensor inside the arena. */
typedef struct eq_tensor {
    void *data;           /* int8_t* (type EQ_TYPE_INT8), int16_t* (EQ_TYPE_INT16) or float* (EQ_TYPE_FLOAT32), NHWC */
    uint32_t bytes;
    uint32_t elements;
    int32_t dims[4];      /* the `rank` used dimensions, then 1s */
    uint8_t rank;
    uint8_t type;         /* an eq_type */
    uint8_t source_layout;/* 0 as is (NHWC or [N, C]); 1 the source model used NCHW */
    uint8_t has_quant;    /* 0 for an unquantized (float32) tensor */
    float scale;          /* real = scale * (q - zero_point) */
    int32_t zero_point;
    const char *name;     /* UTF-8, not NUL-terminated: name_length bytes */
    uint32_t name_length;
} eq_tensor_t;

/* Options of eq_model_init_ex; zero-initialize and set what you need. */
typedef struct eq_load_options {
    int skip_crc;              /* nonzero: skip the CRC check (ModelLoadOptions.SkipCrc) */
    uint32_t max_arena_bytes;  /* largest arena a blob may ask for; 0: EQ_MAX_ARENA_BYTES */
    void *work;                /* optional scratch for validation (e.g. the future arena), 2-byte aligned */
    size_t work_bytes;         /* EQ_VALIDATION_WORK_BYTES_PER_TENSOR per tensor of the blob */
} eq_load_options;

/* Work memory that makes validation fast: this many bytes per tensor. Without it (and beyond the
 * small stack area eq_model_init uses, enough for about 50 tensors) lifetimes are recomputed from
 * the blob: same verdicts, O(1) memory, slower on models with hundreds of tensors. */
#define EQ_VALIDATION_WORK_BYTES_PER_TENSOR 10u

/* Validates the blob (every rule of docs/format.md section 8, as the C# reader) and fills
 * `model`. Copies nothing: the blob is read in place for the model's lifetime. On failure
 * model->error says where. */
eq_status eq_model_init(eq_model_t *model, const void *blob, size_t blob_size);
/* As eq_model_init with options (NULL: the defaults). */
eq_status eq_model_init_ex(eq_model_t *model, const void *blob, size_t blob_size, const eq_load_options *options);

/* Bytes of arena one interpreter of this model needs (activations and kernel scratch). */
eq_status eq_arena_bytes(const eq_model_t *model, uint32_t *bytes);
eq_status eq_input_count(const eq_model_t *model, uint32_t *count);
eq_status eq_output_count(const eq_model_t *model, uint32_t *count);
/* Metadata value of `key` (the last record wins, as in C#); EQ_ERR_ARGUMENT if absent. The value
 * is UTF-8 inside the blob, not NUL-terminated. Class names are under "labels" when the blob has them. */
eq_status eq_metadata(const eq_model_t *model, const char *key, const char **value, uint32_t *value_length);
/* Class name `index` from the "labels" metadata (names separated by '\n', as the converter's
 * --labels writes them); EQ_ERR_ARGUMENT if the blob has no labels or fewer names. */
eq_status eq_class_name(const eq_model_t *model, uint32_t index, const char **name, uint32_t *name_length);

/* Binds a model to a caller-owned arena (>= eq_arena_bytes, 4-byte aligned; 16 recommended).
 * Several interpreters may share one model, each with its own arena. */
eq_status eq_interpreter_init(eq_interpreter_t *it, const eq_model_t *model, void *arena, size_t arena_size);

/* Views of input / output `index` (k-th IO record with that direction). Input data is written
 * before eq_invoke; output data is valid until the next eq_invoke. */
eq_status eq_input(const eq_interpreter_t *it, uint32_t index, eq_tensor_t *view);
eq_status eq_output(const eq_interpreter_t *it, uint32_t index, eq_tensor_t *view);

/* Runs every op in order. On a model that passed eq_model_init it fails only with EQ_ERR_ROUNDING_MODE:
 * an op with a float32 operand (Quantize, Dequantize, the float and dynamic layers) computes with the
 * FPU, whose results depend on its rounding mode; when something has set a mode other than
 * round-to-nearest (fesetround, FPSCR.RMode), that op refuses to run rather than give other bytes
 * than the C# runtime. Integer ops do not depend on the mode and do not check it. */
eq_status eq_invoke(eq_interpreter_t *it);
/* Runs op `index` only (per-layer measurements). */
eq_status eq_invoke_op(eq_interpreter_t *it, uint32_t index);

/* Float helpers with the C# Interpreter's exact arithmetic (SetInput / GetOutput):
 * q = clamp(round_half_away(x / scale) + zero_point); x = (q - zero_point) * scale. An int16 tensor
 * (EQ_WITH_MIXED_PRECISION) uses the QuantizeS16 / DequantizeS16 arithmetic (zero point 0). Converting
 * (not copying a float32 tensor) needs round-to-nearest: else EQ_ERR_ROUNDING_MODE, nothing written. */
eq_status eq_set_input_f32(const eq_interpreter_t *it, uint32_t index, const float *values, uint32_t count);
eq_status eq_get_output_f32(const eq_interpreter_t *it, uint32_t index, float *values, uint32_t count);

/* A static English name of a status ("EQ_ERR_TENSORS: a Tensors record breaks a rule"). */
const char *eq_status_str(eq_status status);
/* A static name of a section ("Tensors"). */
const char *eq_section_str(uint32_t section);

#ifdef __cplusplus
}
#endif
#endif
