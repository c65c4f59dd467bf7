/*
 * Holds the C reader and interpreter to the C# ones on mutated blobs: tests/golden/mutations.bin
 * (written by tests/golden/Mutations.cs) lists recipes applied to golden and zoo blobs, with the
 * C# reader's verdict (accept, or the section of the first failed rule) and, for accepted blobs,
 * a CRC-32 of the outputs of one invoke. This program applies each recipe and compares.
 *
 *   test_mutations MUTATIONS.bin VECTORS.bin ZOO_EQM_DIR
 *
 * Prints the disagreements (up to 20) and a closing "N passed, N failed" (one test: the campaign).
 * Host only (2 MB of static buffers).
 */
#include <stdio.h>
#include <string.h>
#include "edgequant.h"
#include "crc32.h"

#define MAX_SOURCES 1024
#define POOL_BYTES (4u << 20)
#define MAX_BLOB (256u << 10)
#define MAX_ARENA (1u << 20)

static uint8_t pool[POOL_BYTES];
static uint32_t pool_used;
static char names[MAX_SOURCES][128];
static uint32_t src_off[MAX_SOURCES], src_len[MAX_SOURCES];
static uint32_t n_loaded;
static uint32_t blob_words[MAX_BLOB / 4];
static uint32_t arena_words[MAX_ARENA / 4];
static uint8_t outbuf[MAX_ARENA];

static uint32_t u32(const uint8_t *p) { return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24); }

static long read_file(const char *path, uint8_t *dst, uint32_t cap)
{
    FILE *f = fopen(path, "rb");
    size_t n;
    if (!f) return -1;
    n = fread(dst, 1, cap, f);
    fclose(f);
    return n == cap ? -1 : (long)n;
}

/* Adds a named blob to the pool. */
static int add_source(const char *name, const uint8_t *data, uint32_t len)
{
    if (n_loaded >= MAX_SOURCES || pool_used + len + 16 > POOL_BYTES) return 0;
    pool_used = (pool_used + 15u) & ~15u;
    memcpy(pool + pool_used, data, len);
    {
        size_t nl = strlen(name);
        if (nl >= sizeof names[0]) nl = sizeof names[0] - 1;
        memcpy(names[n_loaded], name, nl);
        names[n_loaded][nl] = '\0';
    }
    src_off[n_loaded] = pool_used;
    src_len[n_loaded] = len;
    pool_used += len;
    n_loaded++;
    return 1;
}

static int find_source(const char *name)
{
    uint32_t i;
    for (i = 0; i < n_loaded; i++)
        if (strcmp(names[i], name) == 0) return (int)i;
    return -1;
}

static uint8_t vectors[2u << 20];
static uint8_t muts[1u << 20];
static uint8_t zoo_tmp[MAX_BLOB];

int main(int argc, char **argv)
{
    long vlen, mlen;
    uint32_t p, count, i, n_sources, k;
    int map[MAX_SOURCES];
    unsigned long agree = 0, disagree = 0, accepted = 0, ran = 0;
    if (argc < 4) { fprintf(stderr, "usage: test_mutations MUTATIONS.bin VECTORS.bin ZOO_EQM_DIR\n0 passed, 1 failed\n"); return 2; }
    mlen = read_file(argv[1], muts, sizeof muts);
    vlen = read_file(argv[2], vectors, sizeof vectors);
    if (mlen < 16 || vlen < 12 || memcmp(muts, "EQMV", 4) != 0 || memcmp(vectors, "EQGV", 4) != 0)
    {
        fprintf(stderr, "test_mutations: cannot read the input files\n0 passed, 1 failed\n");
        return 1;
    }
    /* Golden blobs from vectors.bin. */
    count = u32(vectors + 8);
    p = 12;
    for (i = 0; i < count; i++)
    {
        char name[140];
        uint32_t nl = u32(vectors + p), bl;
        p += 4;
        memcpy(name, "golden:", 7);
        memcpy(name + 7, vectors + p, nl < 120 ? nl : 120);
        name[7 + (nl < 120 ? nl : 120)] = '\0';
        p += nl;
        bl = u32(vectors + p);
        p += 4;
        add_source(name, vectors + p, bl);
        p += bl + 4;
        p += 4 + u32(vectors + p);
        p += 4 + u32(vectors + p);
    }
    /* Sources named in the mutation file. */
    n_sources = u32(muts + 8);
    p = 12;
    if (n_sources > MAX_SOURCES) { fprintf(stderr, "too many sources\n0 passed, 1 failed\n"); return 1; }
    for (i = 0; i < n_sources; i++)
    {
        uint32_t nl = u32(muts + p);
        p += 4;
        if (nl >= sizeof names[0]) { fprintf(stderr, "bad source name\n0 passed, 1 failed\n"); return 1; }
        memcpy(names[MAX_SOURCES - 1], muts + p, nl); /* scratch slot for the lookup */
        names[MAX_SOURCES - 1][nl] = '\0';
        p += nl;
        {
            char name[128];
            strcpy(name, names[MAX_SOURCES - 1]);
            names[MAX_SOURCES - 1][0] = '\0';
            map[i] = find_source(name);
            if (map[i] < 0 && strncmp(name, "zoo:", 4) == 0)
            {
                char path[1024];
                long zl;
                snprintf(path, sizeof path, "%s/%s", argv[3], name + 4);
                zl = read_file(path, zoo_tmp, sizeof zoo_tmp);
                if (zl > 0 && add_source(name, zoo_tmp, (uint32_t)zl)) map[i] = (int)n_loaded - 1;
            }
            if (map[i] < 0) { fprintf(stderr, "test_mutations: source %s not found\n0 passed, 1 failed\n", name); return 1; }
        }
    }
    count = u32(muts + p);
    p += 4;
    for (i = 0; i < count; i++)
    {
        const uint32_t src = (uint32_t)(muts[p] | (muts[p + 1] << 8));
        const uint8_t flags = muts[p + 2], edits = muts[p + 3];
        const uint32_t new_len = u32(muts + p + 4);
        uint8_t *blob = (uint8_t *)blob_words;
        uint8_t want_accept, want_section, want_ran;
        uint32_t want_crc, got_section;
        eq_model_t model;
        eq_status st;
        int ok = 1;
        const uint8_t *e;
        p += 8;
        e = muts + p;
        p += 5u * edits;
        want_accept = muts[p];
        want_section = muts[p + 1];
        want_ran = muts[p + 2];
        want_crc = u32(muts + p + 3);
        p += 7;
        if (src >= n_sources || new_len > src_len[map[src]] || new_len > MAX_BLOB) { fprintf(stderr, "bad recipe %u\n", i); disagree++; continue; }
        memcpy(blob, pool + src_off[map[src]], new_len);
        for (k = 0; k < edits; k++)
        {
            const uint32_t off = u32(e + 5 * k);
            if (off < new_len) blob[off] = e[5 * k + 4];
        }
        if ((flags & 2) && new_len >= 12) { blob[8] = (uint8_t)new_len; blob[9] = (uint8_t)(new_len >> 8); blob[10] = (uint8_t)(new_len >> 16); blob[11] = (uint8_t)(new_len >> 24); }
        if ((flags & 1) && new_len >= 16)
        {
            const uint32_t c = eq_crc32(blob + 16, new_len - 16);
            blob[12] = (uint8_t)c; blob[13] = (uint8_t)(c >> 8); blob[14] = (uint8_t)(c >> 16); blob[15] = (uint8_t)(c >> 24);
        }
        st = eq_model_init(&model, blob, new_len);
        got_section = st == EQ_OK ? 255u : model.error.section;
        if ((st == EQ_OK) != (want_accept == 1) || got_section != want_section) ok = 0;
        if (ok && st == EQ_OK && want_ran)
        {
            eq_interpreter_t it;
            uint32_t n_in, n_out, j = 0, total = 0;
            accepted++;
            memset(arena_words, 0, model.arena_bytes);
            if (eq_interpreter_init(&it, &model, arena_words, sizeof arena_words) != EQ_OK) ok = 0;
            else
            {
                eq_input_count(&model, &n_in);
                eq_output_count(&model, &n_out);
                for (k = 0; k < n_in; k++)
                {
                    eq_tensor_t v;
                    uint32_t b;
                    eq_input(&it, k, &v);
                    for (b = 0; b < v.bytes; b++, j++) ((uint8_t *)v.data)[b] = (uint8_t)((7u * j + 3u) & 0xFFu);
                }
                if (eq_invoke(&it) != EQ_OK) ok = 0;
                for (k = 0; k < n_out && ok; k++)
                {
                    eq_tensor_t v;
                    eq_output(&it, k, &v);
                    memcpy(outbuf + total, v.data, v.bytes);
                    total += v.bytes;
                }
                if (ok && eq_crc32(outbuf, total) != want_crc) ok = 0;
                ran++;
            }
        }
        if (ok) agree++;
        else
        {
            if (disagree < 20)
                fprintf(stderr, "mutation %u (source %s): C# %s section %u, C %s (%s) section %u record %d byte %d\n", i, names[map[src]],
                        want_accept ? "accepts" : "rejects", want_section, st == EQ_OK ? "accepts" : "rejects", eq_status_str(st),
                        got_section, model.error.record, model.error.byte_offset);
            disagree++;
        }
    }
    printf("test_mutations: %u mutated blobs, %lu agree with the C# reader (%lu accepted and run, outputs identical), %lu disagree\n",
           count, agree, ran, disagree);
    (void)accepted;
    printf("%d passed, %d failed\n", disagree == 0 ? 1 : 0, disagree == 0 ? 0 : 1);
    return disagree == 0 ? 0 : 1;
}
