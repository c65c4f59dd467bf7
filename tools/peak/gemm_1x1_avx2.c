/*
 * The AVX2 1x1-convolution GEMM of the runtime (runtime/EdgeQuant.Runtime/Kernels/Simd/Int8Gemm.Avx2.cs) written in C,
 * to tell how far the C# kernel is from what a C compiler makes of the same instructions: fashion_mobilenetv2's op 1
 * shape (784 rows, K = 16, 36 output channels) by default. Per 4 rows: the rows widened to int16 (doubled) on the stack,
 * a 4x16 tile and a 4x20 tile (16 channels + the last 4, two rows per vector through VPBLENDD), the int32 sums stored,
 * then the exact one-rounding requantization of the clamped form (VPMULDQ even/odd lanes, 64-bit constants, VPSRAVD)
 * narrowed four rows at a time. The data are arbitrary: this times instructions, it checks no arithmetic (the runtime's
 * tests do). A measurement tool, not a test.
 *
 *   gcc -O3 -mavx2 -o /tmp/gemm_1x1_avx2 tools/peak/gemm_1x1_avx2.c && /tmp/gemm_1x1_avx2 [K] [--no-requant]
 */
#include <immintrin.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ROWS 784
#define COUT 36
#define COUTP 40
#define MAXK 512

static int8_t input[ROWS * MAXK];
static int8_t output[ROWS * COUT];
static int16_t weights[(MAXK / 2) * COUTP * 2];
static int32_t mult[COUTP], right[COUTP];
static int64_t bias_even[COUTP / 2], bias_odd[COUTP / 2];

static double seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static inline __m256i pair(const int16_t *row, int p) { return _mm256_set1_epi32(*(const int32_t *)(row + 2 * p)); }

static inline __m256i requantize(__m256i d, __m256i m, __m256i m_odd, __m256i be, __m256i bo, __m256i r)
{
    __m256i even = _mm256_srli_epi64(_mm256_add_epi64(_mm256_mul_epi32(d, m), be), 32);
    __m256i odd = _mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(d, 32), m_odd), bo);
    return _mm256_srav_epi32(_mm256_blend_epi32(even, odd, 0xAA), r);
}

static inline void store4(int32_t *a, __m256i c) { _mm256_store_si256((__m256i *)a, c); }

__attribute__((noinline)) static void run(int k, int requant)
{
    int16_t staged[4 * MAXK] __attribute__((aligned(32)));
    int32_t acc[8 * COUTP] __attribute__((aligned(32)));
    const __m256i lo = _mm256_set1_epi8(-128), hi = _mm256_set1_epi8(127);
    int pairs = k / 2;
    for (int g = 0; g < ROWS; g += 8)
    {
        for (int t = 0; t < 8; t += 4)
        {
            for (int i = 0; i < 4; i++)
                for (int c = 0; c < k; c += 16)
                {
                    __m256i v = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(input + (g + t + i) * k + c)));
                    _mm256_store_si256((__m256i *)(staged + i * k + c), _mm256_add_epi16(v, v));
                }
            const int16_t *r0 = staged, *r1 = staged + k, *r2 = staged + 2 * k, *r3 = staged + 3 * k;
            int32_t *a = acc + t * COUTP;
            {
                __m256i c00 = _mm256_setzero_si256(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
                const int16_t *w = weights;
                for (int p = 0; p < pairs; p++, w += 2 * COUTP)
                {
                    __m256i w0 = _mm256_loadu_si256((const __m256i *)w), w1 = _mm256_loadu_si256((const __m256i *)(w + 16)), x;
                    x = pair(r0, p); c00 = _mm256_add_epi32(c00, _mm256_madd_epi16(x, w0)); c01 = _mm256_add_epi32(c01, _mm256_madd_epi16(x, w1));
                    x = pair(r1, p); c10 = _mm256_add_epi32(c10, _mm256_madd_epi16(x, w0)); c11 = _mm256_add_epi32(c11, _mm256_madd_epi16(x, w1));
                    x = pair(r2, p); c20 = _mm256_add_epi32(c20, _mm256_madd_epi16(x, w0)); c21 = _mm256_add_epi32(c21, _mm256_madd_epi16(x, w1));
                    x = pair(r3, p); c30 = _mm256_add_epi32(c30, _mm256_madd_epi16(x, w0)); c31 = _mm256_add_epi32(c31, _mm256_madd_epi16(x, w1));
                }
                store4(a, c00); store4(a + 8, c01); store4(a + COUTP, c10); store4(a + COUTP + 8, c11);
                store4(a + 2 * COUTP, c20); store4(a + 2 * COUTP + 8, c21); store4(a + 3 * COUTP, c30); store4(a + 3 * COUTP + 8, c31);
            }
            {
                __m256i c00 = _mm256_setzero_si256(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00, e01 = c00, e23 = c00;
                const int16_t *w = weights + 32;
                for (int p = 0; p < pairs; p++, w += 2 * COUTP)
                {
                    __m256i w0 = _mm256_loadu_si256((const __m256i *)w), w1 = _mm256_loadu_si256((const __m256i *)(w + 16));
                    __m256i w2 = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(w + 32)));
                    __m256i xa = pair(r0, p), xb = pair(r1, p);
                    c00 = _mm256_add_epi32(c00, _mm256_madd_epi16(xa, w0)); c01 = _mm256_add_epi32(c01, _mm256_madd_epi16(xa, w1));
                    c10 = _mm256_add_epi32(c10, _mm256_madd_epi16(xb, w0)); c11 = _mm256_add_epi32(c11, _mm256_madd_epi16(xb, w1));
                    e01 = _mm256_add_epi32(e01, _mm256_madd_epi16(_mm256_blend_epi32(xa, xb, 0xF0), w2));
                    xa = pair(r2, p); xb = pair(r3, p);
                    c20 = _mm256_add_epi32(c20, _mm256_madd_epi16(xa, w0)); c21 = _mm256_add_epi32(c21, _mm256_madd_epi16(xa, w1));
                    c30 = _mm256_add_epi32(c30, _mm256_madd_epi16(xb, w0)); c31 = _mm256_add_epi32(c31, _mm256_madd_epi16(xb, w1));
                    e23 = _mm256_add_epi32(e23, _mm256_madd_epi16(_mm256_blend_epi32(xa, xb, 0xF0), w2));
                }
                int32_t *b = a + 16;
                store4(b, c00); store4(b + 8, c01); _mm_store_si128((__m128i *)(b + 16), _mm256_castsi256_si128(e01));
                store4(b + COUTP, c10); store4(b + COUTP + 8, c11); _mm_store_si128((__m128i *)(b + COUTP + 16), _mm256_extracti128_si256(e01, 1));
                store4(b + 2 * COUTP, c20); store4(b + 2 * COUTP + 8, c21); _mm_store_si128((__m128i *)(b + 2 * COUTP + 16), _mm256_castsi256_si128(e23));
                store4(b + 3 * COUTP, c30); store4(b + 3 * COUTP + 8, c31); _mm_store_si128((__m128i *)(b + 3 * COUTP + 16), _mm256_extracti128_si256(e23, 1));
            }
        }
        if (!requant)
            continue;
        for (int j = 0; j < COUT; j += 8)
        {
            int four = COUT - j <= 4; /* the last 4 channels: two rows per vector, the constants in both halves */
            __m256i m, be, bo, r;
            if (four)
            {
                m = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(mult + j)));
                be = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(bias_even + j / 2)));
                bo = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(bias_odd + j / 2)));
                r = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(right + j)));
            }
            else
            {
                m = _mm256_loadu_si256((const __m256i *)(mult + j));
                be = _mm256_loadu_si256((const __m256i *)(bias_even + j / 2));
                bo = _mm256_loadu_si256((const __m256i *)(bias_odd + j / 2));
                r = _mm256_loadu_si256((const __m256i *)(right + j));
            }
            __m256i m_odd = _mm256_srli_epi64(m, 32);
            for (int i = 0; i < 8; i += 4)
            {
                const int32_t *a = acc + i * COUTP + j;
                int8_t *o = output + (g + i) * COUT + j;
                if (four)
                {
                    __m256i v01 = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_load_si128((const __m128i *)a)), _mm_load_si128((const __m128i *)(a + COUTP)), 1);
                    __m256i v23 = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_load_si128((const __m128i *)(a + 2 * COUTP))), _mm_load_si128((const __m128i *)(a + 3 * COUTP)), 1);
                    __m256i w = _mm256_packs_epi32(requantize(v01, m, m_odd, be, bo, r), requantize(v23, m, m_odd, be, bo, r));
                    __m128i b = _mm_packs_epi16(_mm256_castsi256_si128(w), _mm256_extracti128_si256(w, 1));
                    b = _mm_min_epi8(_mm_max_epi8(b, _mm256_castsi256_si128(lo)), _mm256_castsi256_si128(hi));
                    *(int32_t *)o = _mm_cvtsi128_si32(b);
                    *(int32_t *)(o + COUT) = _mm_extract_epi32(b, 2);
                    *(int32_t *)(o + 2 * COUT) = _mm_extract_epi32(b, 1);
                    *(int32_t *)(o + 3 * COUT) = _mm_extract_epi32(b, 3);
                    continue;
                }
                __m256i v0 = requantize(_mm256_load_si256((const __m256i *)a), m, m_odd, be, bo, r);
                __m256i v1 = requantize(_mm256_load_si256((const __m256i *)(a + COUTP)), m, m_odd, be, bo, r);
                __m256i v2 = requantize(_mm256_load_si256((const __m256i *)(a + 2 * COUTP)), m, m_odd, be, bo, r);
                __m256i v3 = requantize(_mm256_load_si256((const __m256i *)(a + 3 * COUTP)), m, m_odd, be, bo, r);
                __m256i b = _mm256_packs_epi16(_mm256_packs_epi32(v0, v1), _mm256_packs_epi32(v2, v3));
                b = _mm256_min_epi8(_mm256_max_epi8(b, lo), hi);
                __m128i l = _mm256_castsi256_si128(b), h = _mm256_extracti128_si256(b, 1);
                __m128i r01 = _mm_unpacklo_epi32(l, h), r23 = _mm_unpackhi_epi32(l, h);
                _mm_storel_epi64((__m128i *)o, r01);
                _mm_storeh_pd((double *)(o + COUT), _mm_castsi128_pd(r01));
                _mm_storel_epi64((__m128i *)(o + 2 * COUT), r23);
                _mm_storeh_pd((double *)(o + 3 * COUT), _mm_castsi128_pd(r23));
            }
        }
    }
}

int main(int argc, char **argv)
{
    int k = 16, requant = 1;
    for (int i = 1; i < argc; i++)
    {
        if (strcmp(argv[i], "--no-requant") == 0)
            requant = 0;
        else
            k = atoi(argv[i]);
    }
    if (k < 16 || k > MAXK || k % 16 != 0)
    {
        fprintf(stderr, "gemm_1x1_avx2: K must be a multiple of 16 in [16, %d], not %d\n", MAXK, k);
        return 2;
    }
    for (int i = 0; i < ROWS * k; i++) input[i] = (int8_t)(i * 7);
    for (int i = 0; i < (k / 2) * COUTP * 2; i++) weights[i] = (int16_t)((i * 13) % 255 - 127);
    for (int i = 0; i < COUTP; i++) { mult[i] = 1500000000 + i; right[i] = 5; }
    for (int i = 0; i < COUTP / 2; i++) bias_even[i] = bias_odd[i] = 1LL << 35;
    double macs = (double)ROWS * COUT * k;
    printf("1x1 GEMM, %d rows, K = %d, %d channels%s: best of 50 blocks of 200 runs, 5 times\n", ROWS, k, COUT,
        requant ? "" : ", sums only (no requantization)");
    for (int rep = 0; rep < 5; rep++)
    {
        double best = 1e9;
        for (int b = 0; b < 50; b++)
        {
            double t = seconds();
            for (int it = 0; it < 200; it++) run(k, requant);
            double dt = (seconds() - t) / 200;
            if (dt < best) best = dt;
        }
        printf("  %.2f us, %.1f GMAC/s\n", best * 1e6, macs / best / 1e9);
    }
    return output[5] == 42; /* keeps the stores */
}
