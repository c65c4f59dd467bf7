/* Per-core int8 multiply-accumulate peak of VPDPBUSD (unsigned x signed bytes, 4 products summed into each
 * int32 lane, the accumulation included) at the widths a program can use:
 *  - 256-bit: what .NET 10 exposes (System.Runtime.Intrinsics.X86.AvxVnni), 32 MACs per instruction;
 *  - 512-bit (AVX512-VNNI): what native libraries such as ONNX Runtime's MLAS use where the CPU has it, 64 MACs per
 *    instruction; .NET 10 has no class for it on CPUs that do not report AVX10 (Avx10v1.IsSupported false);
 *  - 256-bit VPDPBUSD interleaved with 512-bit VPMADDWD + VPADDD: whether the two forms the runtime can use reach
 *    more together than either alone (different pipes) or not (the same ones).
 * Inline assembly, 8 independent chains per iteration, timed in short bursts and the best burst kept (on a shared
 * machine: the rate of an unpreempted core). Each form runs only where the CPU reports it.
 * Build: gcc -O2 -o peak_vnni tools/peak/peak_vnni.c */
#include <stdio.h>
#include <time.h>

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }

#define ITERS 20000L
#define BURSTS 3000

static double busd256(void) {
    double best = 0;
    for (int rep = 0; rep < BURSTS; rep++) {
        double t0 = now();
        for (long i = 0; i < ITERS; i++)
            __asm__ volatile(
                "%{vex%} vpdpbusd %%ymm14, %%ymm15, %%ymm0\n\t%{vex%} vpdpbusd %%ymm13, %%ymm15, %%ymm1\n\t"
                "%{vex%} vpdpbusd %%ymm12, %%ymm15, %%ymm2\n\t%{vex%} vpdpbusd %%ymm14, %%ymm13, %%ymm3\n\t"
                "%{vex%} vpdpbusd %%ymm14, %%ymm12, %%ymm4\n\t%{vex%} vpdpbusd %%ymm13, %%ymm12, %%ymm5\n\t"
                "%{vex%} vpdpbusd %%ymm15, %%ymm15, %%ymm6\n\t%{vex%} vpdpbusd %%ymm14, %%ymm14, %%ymm7\n\t"
                ::: "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7");
        double g = ITERS * 8.0 * 32.0 / (now() - t0) / 1e9;
        if (g > best) best = g;
    }
    return best;
}

static double busd512(void) {
    double best = 0;
    for (int rep = 0; rep < BURSTS; rep++) {
        double t0 = now();
        for (long i = 0; i < ITERS; i++)
            __asm__ volatile(
                "vpdpbusd %%zmm14, %%zmm15, %%zmm0\n\tvpdpbusd %%zmm13, %%zmm15, %%zmm1\n\t"
                "vpdpbusd %%zmm12, %%zmm15, %%zmm2\n\tvpdpbusd %%zmm14, %%zmm13, %%zmm3\n\t"
                "vpdpbusd %%zmm14, %%zmm12, %%zmm4\n\tvpdpbusd %%zmm13, %%zmm12, %%zmm5\n\t"
                "vpdpbusd %%zmm15, %%zmm15, %%zmm6\n\tvpdpbusd %%zmm14, %%zmm14, %%zmm7\n\t"
                ::: "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7");
        double g = ITERS * 8.0 * 64.0 / (now() - t0) / 1e9;
        if (g > best) best = g;
    }
    return best;
}

__attribute__((target("avx512f"))) static double mixed(void) {
    double best = 0;
    for (int rep = 0; rep < BURSTS; rep++) {
        double t0 = now();
        for (long i = 0; i < ITERS; i++)
            __asm__ volatile(
                "%{vex%} vpdpbusd %%ymm14, %%ymm15, %%ymm0\n\tvpmaddwd %%zmm14, %%zmm15, %%zmm8\n\t"
                "%{vex%} vpdpbusd %%ymm13, %%ymm15, %%ymm1\n\tvpaddd %%zmm8, %%zmm16, %%zmm16\n\t"
                "%{vex%} vpdpbusd %%ymm12, %%ymm15, %%ymm2\n\tvpmaddwd %%zmm13, %%zmm15, %%zmm9\n\t"
                "%{vex%} vpdpbusd %%ymm14, %%ymm13, %%ymm3\n\tvpaddd %%zmm9, %%zmm17, %%zmm17\n\t"
                "%{vex%} vpdpbusd %%ymm14, %%ymm12, %%ymm4\n\tvpmaddwd %%zmm12, %%zmm15, %%zmm10\n\t"
                "%{vex%} vpdpbusd %%ymm13, %%ymm12, %%ymm5\n\tvpaddd %%zmm10, %%zmm18, %%zmm18\n\t"
                "%{vex%} vpdpbusd %%ymm15, %%ymm15, %%ymm6\n\tvpmaddwd %%zmm14, %%zmm13, %%zmm11\n\t"
                "%{vex%} vpdpbusd %%ymm14, %%ymm14, %%ymm7\n\tvpaddd %%zmm11, %%zmm19, %%zmm19\n\t"
                ::: "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm16", "xmm17", "xmm18", "xmm19");
        double g = ITERS * (8.0 * 32.0 + 4.0 * 32.0) / (now() - t0) / 1e9;
        if (g > best) best = g;
    }
    return best;
}

int main(void) {
    __builtin_cpu_init();
    int vnni256 = __builtin_cpu_supports("avxvnni"), vnni512 = __builtin_cpu_supports("avx512vnni");
    int bw = __builtin_cpu_supports("avx512bw");
    if (vnni256) printf("VPDPBUSD 256-bit (AVX-VNNI, .NET AvxVnni):          %.1f GMAC/s\n", busd256());
    else printf("VPDPBUSD 256-bit: not run (no AVX-VNNI)\n");
    if (vnni512) printf("VPDPBUSD 512-bit (AVX512-VNNI, native libraries):   %.1f GMAC/s\n", busd512());
    else printf("VPDPBUSD 512-bit: not run (no AVX512-VNNI)\n");
    if (vnni256 && bw) printf("VPDPBUSD 256-bit with VPMADDWD 512-bit interleaved: %.1f GMAC/s\n", mixed());
    return 0;
}
