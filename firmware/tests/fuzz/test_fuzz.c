/*
 * Deterministic mutation fuzzing of the reader and interpreter (run under ASan + UBSan by
 * tools/firmware-host/check.sh): seeds are the given .eqm files; each iteration picks a seed,
 * applies 1-3 mutations from a fixed-seed generator (byte sets, interesting 32-bit values over
 * record fields, truncation, extension, copying a block from elsewhere in the blob, splicing
 * with another seed), re-writes blob_size and the CRC most of the time so the deeper rules are
 * reached, and runs eq_fuzz_one. Every blob must be rejected with a status or run to completion.
 *
 *   test_fuzz ITERATIONS SEED FILE.eqm...
 */
#include <stdio.h>
#include "fuzz_one.h"
#include "crc32.h"

#define MAX_SEEDS 1024
#define MAX_BLOB (128u << 10)

static uint64_t rng_state;
static uint64_t next(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static uint32_t below(uint32_t n) { return n == 0 ? 0 : (uint32_t)(next() % n); }

static uint8_t *seeds[MAX_SEEDS];
static uint32_t seed_len[MAX_SEEDS];
static uint8_t work[MAX_BLOB];

static void put32(uint8_t *p, uint32_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24); }

int main(int argc, char **argv)
{
    static const uint32_t interesting[] = {0, 1, 2, 3, 4, 7, 8, 15, 16, 17, 31, 32, 33, 48, 63, 64, 65, 127, 128, 255, 256, 257,
        1023, 1024, 1025, 4095, 4096, 4097, 65535, 65536, 65537, 0x00FFFFFFu, 0x01000000u, 0x01000001u, 0x1FFFFFFFu,
        0x3FFFFFFFu, 0x40000000u, 0x7FFFFFFEu, 0x7FFFFFFFu, 0x80000000u, 0x80000001u, 0xFFFFFF80u, 0xFFFFFFE1u,
        0xFFFFFFFEu, 0xFFFFFFFFu};
    unsigned long iterations, i, accepted = 0, rejected = 0, violations = 0;
    uint32_t n = 0;
    int a;
    if (argc < 4) { fprintf(stderr, "usage: test_fuzz ITERATIONS SEED FILE.eqm...\n0 passed, 1 failed\n"); return 2; }
    iterations = strtoul(argv[1], NULL, 10);
    rng_state = strtoull(argv[2], NULL, 10);
    for (a = 3; a < argc && n < MAX_SEEDS; a++)
    {
        FILE *f = fopen(argv[a], "rb");
        long len;
        if (!f) continue;
        fseek(f, 0, SEEK_END);
        len = ftell(f);
        fseek(f, 0, SEEK_SET);
        if (len > 0 && (unsigned long)len <= MAX_BLOB / 2)
        {
            seeds[n] = (uint8_t *)malloc((size_t)len);
            if (seeds[n] && fread(seeds[n], 1, (size_t)len, f) == (size_t)len) seed_len[n++] = (uint32_t)len;
        }
        fclose(f);
    }
    if (n == 0) { fprintf(stderr, "test_fuzz: no seeds\n0 passed, 1 failed\n"); return 1; }
    for (i = 0; i < iterations; i++)
    {
        const uint32_t s = below(n);
        uint32_t len = seed_len[s], m, mutations = 1 + below(3);
        int r;
        memcpy(work, seeds[s], len);
        for (m = 0; m < mutations; m++)
        {
            /* Most structure lives in the first KB (header, table, records); aim there half the time. */
            const uint32_t span = below(2) ? (len < 1024 ? len : 1024) : len;
            switch (below(8))
            {
            case 0: case 1: case 2:
            {
                uint32_t k, count = 1 + below(8);
                for (k = 0; k < count && len > 0; k++) work[below(span)] = (uint8_t)next();
                break;
            }
            case 3: case 4:
                if (len >= 4)
                {
                    const uint32_t off = below(span / 4) * 4;
                    uint32_t v = interesting[below(sizeof interesting / sizeof interesting[0])];
                    if (below(4) == 0) v += below(5) - 2u;
                    if (off + 4 <= len) put32(work + off, v);
                }
                break;
            case 5:
                len = below(len + 1);
                break;
            case 6:
                if (len > 0)
                {
                    /* Copy a block within the blob (duplicates records, table entries, params). */
                    const uint32_t from = below(len), to = below(len), size = 1 + below(64);
                    if (from + size <= len && to + size <= len) memmove(work + to, work + from, size);
                }
                break;
            default:
            {
                /* Splice: the tail of another seed after this one's head. */
                const uint32_t o = below(n), cut = below(len + 1), ocut = below(seed_len[o] + 1);
                uint32_t tail = seed_len[o] - ocut;
                if (cut + tail > MAX_BLOB) tail = MAX_BLOB - cut;
                memcpy(work + cut, seeds[o] + ocut, tail);
                len = cut + tail;
                break;
            }
            }
        }
        if (below(10) != 0 && len >= 12) put32(work + 8, len);
        if (below(10) != 0 && len >= 16) put32(work + 12, eq_crc32(work + 16, len - 16));
        r = eq_fuzz_one(work, len);
        if (r > 0) accepted++;
        else if (r == 0) rejected++;
        else
        {
            violations++;
            fprintf(stderr, "test_fuzz: iteration %lu (seed %s) broke the contract\n", i, argv[3 + s]);
        }
    }
    printf("test_fuzz: %lu mutated blobs: %lu rejected with a status, %lu accepted and run, %lu contract violations\n",
           iterations, rejected, accepted, violations);
    printf("%d passed, %d failed\n", violations == 0 ? 1 : 0, violations == 0 ? 0 : 1);
    return violations == 0 ? 0 : 1;
}
