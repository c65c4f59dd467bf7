/*
 * Reading tests/golden/vectors.bin (written by tests/golden/Program.cs): "EQGV", version 1 and the case
 * count, then per case its name, blob, sample count, inputs and expected outputs, each length-prefixed
 * (u32, little-endian). Through eq_run_io.h, so a board runs it over semihosting. Shared by test_golden
 * and test_rounding.
 */
#ifndef EQ_GOLDEN_CASES_H
#define EQ_GOLDEN_CASES_H

#include <string.h>
#include <stdint.h>
#include "../tools/eq_run_io.h"

typedef struct eq_golden_case {
    char name[96];
    uint32_t blob_len, samples, in_len, out_len;
} eq_golden_case;

static inline int eq_golden_u32(eq_run_file *f, uint32_t *v)
{
    uint8_t b[4];
    if (eq_run_read(f, b, 4) != 4) return 0;
    *v = (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) | ((uint32_t)b[3] << 24);
    return 1;
}

/* The header: 1 and the case count, or 0 for a file that is not a version-1 vectors file. */
static inline int eq_golden_header(eq_run_file *f, uint32_t *count)
{
    uint8_t magic[4];
    uint32_t version;
    return f != NULL && eq_run_read(f, magic, 4) == 4 && memcmp(magic, "EQGV", 4) == 0 && eq_golden_u32(f, &version) && version == 1
        && eq_golden_u32(f, count);
}

/* The next case into the buffers (blob, inputs, expected outputs); 0 when the file ends early or a part does not
 * fit its buffer. */
static inline int eq_golden_next(eq_run_file *f, eq_golden_case *c, void *blob, uint32_t blob_cap, uint8_t *inputs, uint32_t in_cap,
    uint8_t *expected, uint32_t out_cap)
{
    uint32_t name_len;
    if (!eq_golden_u32(f, &name_len) || name_len >= sizeof c->name || eq_run_read(f, c->name, name_len) != name_len) return 0;
    c->name[name_len] = '\0';
    if (!eq_golden_u32(f, &c->blob_len) || c->blob_len > blob_cap || eq_run_read(f, blob, c->blob_len) != c->blob_len) return 0;
    if (!eq_golden_u32(f, &c->samples) || !eq_golden_u32(f, &c->in_len) || c->in_len > in_cap || eq_run_read(f, inputs, c->in_len) != c->in_len) return 0;
    return eq_golden_u32(f, &c->out_len) && c->out_len <= out_cap && eq_run_read(f, expected, c->out_len) == c->out_len;
}

#endif
