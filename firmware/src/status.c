#include "edgequant.h"

const char *eq_status_str(eq_status status)
{
    switch (status)
    {
    case EQ_OK: return "EQ_OK: success";
    case EQ_ERR_ARGUMENT: return "EQ_ERR_ARGUMENT: a NULL pointer, an index out of range or a buffer of the wrong size";
    case EQ_ERR_ALIGNMENT: return "EQ_ERR_ALIGNMENT: the blob or the arena is not 4-byte aligned in memory";
    case EQ_ERR_HEADER: return "EQ_ERR_HEADER: not an EdgeQuant blob, or its header (size, section count, section table) is wrong";
    case EQ_ERR_VERSION: return "EQ_ERR_VERSION: the blob's format major version is not supported (this runtime reads 1.x)";
    case EQ_ERR_CRC: return "EQ_ERR_CRC: CRC-32 mismatch; the blob is corrupt";
    case EQ_ERR_SECTION_TABLE: return "EQ_ERR_SECTION_TABLE: a section is misaligned, outside the blob, overlaps another or appears twice";
    case EQ_ERR_MISSING_SECTION: return "EQ_ERR_MISSING_SECTION: a required section is missing";
    case EQ_ERR_SECTION_SIZE: return "EQ_ERR_SECTION_SIZE: a section's record count does not match its length";
    case EQ_ERR_MEMORY_PLAN: return "EQ_ERR_MEMORY_PLAN: the MemoryPlan record is invalid (arena too large, lower bound above it)";
    case EQ_ERR_QUANTIZATION: return "EQ_ERR_QUANTIZATION: a Quantization record breaks a rule";
    case EQ_ERR_TENSORS: return "EQ_ERR_TENSORS: a Tensors record breaks a rule";
    case EQ_ERR_IO: return "EQ_ERR_IO: an IO record breaks a rule, or the model has no input or no output";
    case EQ_ERR_METADATA: return "EQ_ERR_METADATA: a Metadata string lies outside the Strings section";
    case EQ_ERR_OPS: return "EQ_ERR_OPS: an Ops record breaks a rule (counts, tensor slots, parameter or scratch range)";
    case EQ_ERR_OP_UNKNOWN: return "EQ_ERR_OP_UNKNOWN: an op code this runtime does not know";
    case EQ_ERR_OP_OPERANDS: return "EQ_ERR_OP_OPERANDS: an op's operands do not fit it (arity, type, storage, rank, shape or quantization)";
    case EQ_ERR_OP_PARAMS: return "EQ_ERR_OP_PARAMS: an op's parameter record, or the constant data it names, breaks a rule";
    case EQ_ERR_DATAFLOW: return "EQ_ERR_DATAFLOW: a tensor is read before it is written, written twice, or a model output is never written";
    case EQ_ERR_ARENA_OVERLAP: return "EQ_ERR_ARENA_OVERLAP: two buffers live at the same time share arena bytes";
    case EQ_ERR_ARENA_TOO_SMALL: return "EQ_ERR_ARENA_TOO_SMALL: the arena is smaller than eq_arena_bytes";
    case EQ_ERR_NOT_INT8: return "EQ_ERR_NOT_INT8: the tensor is not int8";
    case EQ_ERR_NOT_FLOAT: return "EQ_ERR_NOT_FLOAT: the tensor is neither int8 nor float32";
    case EQ_ERR_ROUNDING_MODE: return "EQ_ERR_ROUNDING_MODE: the FPU does not round to nearest";
    }
    return "EQ_ERR_UNKNOWN: not an eq_status value";
}

const char *eq_section_str(uint32_t section)
{
    switch (section)
    {
    case EQ_SECTION_HEADER: return "header";
    case EQ_SECTION_TENSORS: return "Tensors";
    case EQ_SECTION_QUANTIZATION: return "Quantization";
    case EQ_SECTION_OPS: return "Ops";
    case EQ_SECTION_OPPARAMS: return "OpParams";
    case EQ_SECTION_CONSTANT_DATA: return "ConstantData";
    case EQ_SECTION_MEMORY_PLAN: return "MemoryPlan";
    case EQ_SECTION_IO: return "IO";
    case EQ_SECTION_STRINGS: return "Strings";
    case EQ_SECTION_METADATA: return "Metadata";
    case EQ_SECTION_TABLE: return "section table";
    default: return "unknown section";
    }
}
