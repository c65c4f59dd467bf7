/* Per-core int8 multiply-accumulate peak of the exact sequence the channels-in-lanes kernels use
 * (Int8Gemm.Avx2.cs / Int8Gemm.Avx512.cs, Conv2D.Rows.Avx2.cs): activations and weights widened to
 * int16, VPMADDWD (int16 pairs -> int32) + VPADDD into the accumulator: 2 MACs per int32 lane, so
 * 16 MACs per 256-bit and 32 per 512-bit instruction pair. Written in inline assembly (8 independent
 * multiply-add chains per iteration, nothing a compiler could share or hoist). Timed in short bursts,
 * the best burst kept: on a shared machine that is the rate of an unpreempted core. Prints GMAC/s for
 * the 256-bit (AVX2) and, on a CPU with AVX-512BW, the 512-bit form: the ceilings the kernels'
 * GMAC/s (edgequant bench --per-op) are read against.
 * Build: gcc -O2 -o peak_vpmaddwd tools/peak/peak_vpmaddwd.c */
#include <stdio.h>
#include <time.h>

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }

#define ITERS 20000L
#define BURSTS 3000

static double peak256(void) {
    double best = 0;
    for (int rep = 0; rep < BURSTS; rep++) {
        double t0 = now();
        for (long i = 0; i < ITERS; i++)
            __asm__ volatile(
                "vpmaddwd %%ymm14, %%ymm15, %%ymm8\n\tvpaddd %%ymm8, %%ymm0, %%ymm0\n\t"
                "vpmaddwd %%ymm13, %%ymm15, %%ymm9\n\tvpaddd %%ymm9, %%ymm1, %%ymm1\n\t"
                "vpmaddwd %%ymm12, %%ymm15, %%ymm10\n\tvpaddd %%ymm10, %%ymm2, %%ymm2\n\t"
                "vpmaddwd %%ymm14, %%ymm13, %%ymm11\n\tvpaddd %%ymm11, %%ymm3, %%ymm3\n\t"
                "vpmaddwd %%ymm14, %%ymm12, %%ymm8\n\tvpaddd %%ymm8, %%ymm4, %%ymm4\n\t"
                "vpmaddwd %%ymm13, %%ymm12, %%ymm9\n\tvpaddd %%ymm9, %%ymm5, %%ymm5\n\t"
                "vpmaddwd %%ymm15, %%ymm15, %%ymm10\n\tvpaddd %%ymm10, %%ymm6, %%ymm6\n\t"
                "vpmaddwd %%ymm14, %%ymm14, %%ymm11\n\tvpaddd %%ymm11, %%ymm7, %%ymm7\n\t"
                ::: "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11");
        double g = ITERS * 8.0 * 16.0 / (now() - t0) / 1e9;
        if (g > best) best = g;
    }
    return best;
}

static double peak512(void) {
    double best = 0;
    for (int rep = 0; rep < BURSTS; rep++) {
        double t0 = now();
        for (long i = 0; i < ITERS; i++)
            __asm__ volatile(
                "vpmaddwd %%zmm14, %%zmm15, %%zmm8\n\tvpaddd %%zmm8, %%zmm0, %%zmm0\n\t"
                "vpmaddwd %%zmm13, %%zmm15, %%zmm9\n\tvpaddd %%zmm9, %%zmm1, %%zmm1\n\t"
                "vpmaddwd %%zmm12, %%zmm15, %%zmm10\n\tvpaddd %%zmm10, %%zmm2, %%zmm2\n\t"
                "vpmaddwd %%zmm14, %%zmm13, %%zmm11\n\tvpaddd %%zmm11, %%zmm3, %%zmm3\n\t"
                "vpmaddwd %%zmm14, %%zmm12, %%zmm8\n\tvpaddd %%zmm8, %%zmm4, %%zmm4\n\t"
                "vpmaddwd %%zmm13, %%zmm12, %%zmm9\n\tvpaddd %%zmm9, %%zmm5, %%zmm5\n\t"
                "vpmaddwd %%zmm15, %%zmm15, %%zmm10\n\tvpaddd %%zmm10, %%zmm6, %%zmm6\n\t"
                "vpmaddwd %%zmm14, %%zmm14, %%zmm11\n\tvpaddd %%zmm11, %%zmm7, %%zmm7\n\t"
                ::: "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11");
        double g = ITERS * 8.0 * 32.0 / (now() - t0) / 1e9;
        if (g > best) best = g;
    }
    return best;
}

/* The exact sign trick: |x| (0..128) as VPMADDUBSW's unsigned operand and sign(x) * w (VPSIGNB) as its
 * signed one. With weights in [-127, 127] a pair sum is at most 2 x 128 x 127 = 32512, so nothing
 * saturates; VPMADDWD against ones then widens the pairs to int32. 32 MACs per 4 instructions, 8
 * chains, the VPSIGNB redone per product as a kernel with a broadcast activation would have to. */
static double peakSign256(void) {
    double best = 0;
    for (int rep = 0; rep < BURSTS; rep++) {
        double t0 = now();
        for (long i = 0; i < ITERS; i++)
            __asm__ volatile(
                "vpsignb %%ymm13, %%ymm14, %%ymm8\n\tvpmaddubsw %%ymm8, %%ymm12, %%ymm8\n\tvpmaddwd %%ymm15, %%ymm8, %%ymm8\n\tvpaddd %%ymm8, %%ymm0, %%ymm0\n\t"
                "vpsignb %%ymm13, %%ymm14, %%ymm9\n\tvpmaddubsw %%ymm9, %%ymm12, %%ymm9\n\tvpmaddwd %%ymm15, %%ymm9, %%ymm9\n\tvpaddd %%ymm9, %%ymm1, %%ymm1\n\t"
                "vpsignb %%ymm13, %%ymm14, %%ymm10\n\tvpmaddubsw %%ymm10, %%ymm12, %%ymm10\n\tvpmaddwd %%ymm15, %%ymm10, %%ymm10\n\tvpaddd %%ymm10, %%ymm2, %%ymm2\n\t"
                "vpsignb %%ymm13, %%ymm14, %%ymm11\n\tvpmaddubsw %%ymm11, %%ymm12, %%ymm11\n\tvpmaddwd %%ymm15, %%ymm11, %%ymm11\n\tvpaddd %%ymm11, %%ymm3, %%ymm3\n\t"
                "vpsignb %%ymm12, %%ymm14, %%ymm8\n\tvpmaddubsw %%ymm8, %%ymm13, %%ymm8\n\tvpmaddwd %%ymm15, %%ymm8, %%ymm8\n\tvpaddd %%ymm8, %%ymm4, %%ymm4\n\t"
                "vpsignb %%ymm12, %%ymm14, %%ymm9\n\tvpmaddubsw %%ymm9, %%ymm13, %%ymm9\n\tvpmaddwd %%ymm15, %%ymm9, %%ymm9\n\tvpaddd %%ymm9, %%ymm5, %%ymm5\n\t"
                "vpsignb %%ymm12, %%ymm13, %%ymm10\n\tvpmaddubsw %%ymm10, %%ymm14, %%ymm10\n\tvpmaddwd %%ymm15, %%ymm10, %%ymm10\n\tvpaddd %%ymm10, %%ymm6, %%ymm6\n\t"
                "vpsignb %%ymm14, %%ymm13, %%ymm11\n\tvpmaddubsw %%ymm11, %%ymm12, %%ymm11\n\tvpmaddwd %%ymm15, %%ymm11, %%ymm11\n\tvpaddd %%ymm11, %%ymm7, %%ymm7\n\t"
                ::: "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11");
        double g = ITERS * 8.0 * 32.0 / (now() - t0) / 1e9;
        if (g > best) best = g;
    }
    return best;
}

int main(void) {
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx2")) { puts("no AVX2 on this CPU"); return 1; }
    printf("VPMADDWD+VPADDD 256-bit (AVX2):      %.1f GMAC/s\n", peak256());
    printf("VPSIGNB+VPMADDUBSW+VPMADDWD+VPADDD 256-bit (exact |x| x sign(x)w): %.1f GMAC/s\n", peakSign256());
    if (__builtin_cpu_supports("avx512bw"))
        printf("VPMADDWD+VPADDD 512-bit (AVX-512BW): %.1f GMAC/s\n", peak512());
    else
        puts("VPMADDWD+VPADDD 512-bit (AVX-512BW): not run, this CPU has no AVX-512BW");
    return 0;
}
