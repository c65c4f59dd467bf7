/*
 * One fuzz step, shared by the libFuzzer target (fuzz_model.c) and the deterministic mutation
 * loop (test_fuzz.c): the blob is copied into an exactly sized heap block and the arena is an
 * exactly sized heap block, so AddressSanitizer sees any read or write outside them. (The heap is
 * the test harness's; the runtime allocates nothing.) Returns 1 if the blob was accepted and run,
 * 0 if it was rejected (with a status), -1 on a contract violation (e.g. invoke failed after a
 * successful init, or a status without a name).
 */
#ifndef EQ_FUZZ_ONE_H
#define EQ_FUZZ_ONE_H
#include <stdlib.h>
#include <string.h>
#include "edgequant.h"

#ifndef EQ_FUZZ_MAX_ARENA
#define EQ_FUZZ_MAX_ARENA (256u << 10)
#endif

static int eq_fuzz_one(const uint8_t *data, size_t size)
{
    eq_model_t model;
    eq_interpreter_t it;
    eq_status st;
    uint8_t *blob, *arena;
    uint32_t n_in, n_out, k, j = 0, arena_bytes;
    int result = 1;
    blob = (uint8_t *)malloc(size > 0 ? size : 1);
    if (!blob) return 0;
    if (size > 0) memcpy(blob, data, size);
    st = eq_model_init(&model, blob, size);
    if (eq_status_str(st) == NULL) { free(blob); return -1; }
    if (st != EQ_OK) { free(blob); return 0; }
    eq_arena_bytes(&model, &arena_bytes);
    if (arena_bytes > EQ_FUZZ_MAX_ARENA) { free(blob); return 0; }
    arena = (uint8_t *)malloc(arena_bytes > 0 ? arena_bytes : 4);
    if (!arena) { free(blob); return 0; }
    memset(arena, 0, arena_bytes);
    if (eq_interpreter_init(&it, &model, arena, arena_bytes) != EQ_OK) result = -1;
    else
    {
        eq_input_count(&model, &n_in);
        eq_output_count(&model, &n_out);
        for (k = 0; k < n_in; k++)
        {
            eq_tensor_t v;
            uint32_t b;
            if (eq_input(&it, k, &v) != EQ_OK) { result = -1; break; }
            for (b = 0; b < v.bytes; b++, j++) ((uint8_t *)v.data)[b] = (uint8_t)((7u * j + 3u) & 0xFFu);
        }
        if (result == 1 && eq_invoke(&it) != EQ_OK) result = -1;
        for (k = 0; k < n_out && result == 1; k++)
        {
            eq_tensor_t v;
            if (eq_output(&it, k, &v) != EQ_OK) result = -1;
        }
    }
    free(arena);
    free(blob);
    return result;
}
#endif
