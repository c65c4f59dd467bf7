/*
 * libFuzzer target (clang -fsanitize=fuzzer,address,undefined), seeded with the zoo and golden
 * blobs. Each input runs twice: as given, and with blob_size and the CRC rewritten to match, so
 * mutations get past the header checks and reach the section, record, op and dataflow rules.
 */
#include <stddef.h>
#include <stdint.h>
#include "fuzz_one.h"
#include "crc32.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (eq_fuzz_one(data, size) < 0) abort();
    if (size >= 16 && size <= (1u << 20))
    {
        uint8_t *fixed = (uint8_t *)malloc(size);
        uint32_t crc;
        if (!fixed) return 0;
        memcpy(fixed, data, size);
        fixed[8] = (uint8_t)size; fixed[9] = (uint8_t)(size >> 8); fixed[10] = (uint8_t)(size >> 16); fixed[11] = (uint8_t)(size >> 24);
        crc = eq_crc32(fixed + 16, size - 16);
        fixed[12] = (uint8_t)crc; fixed[13] = (uint8_t)(crc >> 8); fixed[14] = (uint8_t)(crc >> 16); fixed[15] = (uint8_t)(crc >> 24);
        if (eq_fuzz_one(fixed, size) < 0) abort();
        free(fixed);
    }
    return 0;
}
