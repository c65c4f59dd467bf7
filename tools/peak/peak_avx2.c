/* Per-core int8 multiply-accumulate peak reachable with AVX2 (what .NET's Avx2 API exposes):
 * VPMADDUBSW (u8 x s8 -> pairs summed to s16) + VPMADDWD (s16 pairs -> s32) + VPADDD, the
 * sequence the AVX2 Conv2D / FullyConnected kernels use. 8 independent accumulator chains hide
 * latency; each iteration does 8 x 32 = 256 MACs. Prints GMAC/s. With AVX-VNNI the single
 * VPDPBUSD would replace the three instructions (not available on this CPU). */
#include <immintrin.h>
#include <stdio.h>
#include <stdint.h>
#include <time.h>

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }

int main(void) {
    __m256i a = _mm256_set1_epi8(3), b = _mm256_set1_epi8(-2), ones = _mm256_set1_epi16(1);
    __m256i acc[8];
    for (int i = 0; i < 8; i++) acc[i] = _mm256_setzero_si256();
    const long iters = 50000000;
    double best = 0;
    for (int rep = 0; rep < 3; rep++) {
        double t0 = now();
        for (long i = 0; i < iters; i++) {
            for (int k = 0; k < 8; k++) {
                __m256i p = _mm256_maddubs_epi16(a, b);
                acc[k] = _mm256_add_epi32(acc[k], _mm256_madd_epi16(p, ones));
            }
            __asm__ volatile("" : "+x"(a), "+x"(b));
        }
        double dt = now() - t0;
        double gmacs = iters * 8.0 * 32.0 / dt / 1e9;
        if (gmacs > best) best = gmacs;
    }
    int32_t sink[8];
    _mm256_storeu_si256((__m256i *)sink, acc[0]);
    printf("avx2 int8 peak: %.1f GMAC/s per core (check %d)\n", best, sink[0] != 0);
    return 0;
}
