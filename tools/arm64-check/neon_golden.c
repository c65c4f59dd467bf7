/*
 * Golden vectors for the primitives of runtime/EdgeQuant.Runtime/Kernels/Simd/SimdOps.cs, computed by
 * the NEON instructions (or fixed instruction sequences) each primitive stands for on arm64.
 * Run by tools/arm64-check/check.sh under qemu-aarch64 -cpu cortex-a76 (built with +dotprod) and
 * -cpu cortex-a72 (built without); the output is checked by NeonGoldenFastPathTests.
 *
 * One line per case: NAME then space-separated decimal operands and results, lanes lowest first.
 */
#include <arm_neon.h>
#include <stdint.h>
#include <stdio.h>

static uint32_t state = 0x2545F491u;

static uint32_t next(void)
{
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    return state;
}

static const int32_t edges[] = {
    INT32_MIN, INT32_MIN + 1, -(1 << 30) - 1, -(1 << 30), -(1 << 30) + 1, -65536, -3, -2, -1, 0, 1, 2, 3,
    65536, (1 << 30) - 1, 1 << 30, (1 << 30) + 1, INT32_MAX - 1, INT32_MAX,
};
#define EDGES (int)(sizeof edges / sizeof edges[0])

static int32_t any32(int i)
{
    switch (next() % 4) {
    case 0: return edges[(i + next()) % EDGES];
    case 1: return (int32_t)(next() % 131072) - 65536;
    default: return (int32_t)next();
    }
}

static void bytes(int8_t *v, int i)
{
    for (int j = 0; j < 16; j++) v[j] = (int8_t)next();
    if (i == 0) for (int j = 0; j < 16; j++) v[j] = -128;
    if (i == 1) for (int j = 0; j < 16; j++) v[j] = 127;
}

static void print_s8(const int8_t *v) { for (int j = 0; j < 16; j++) printf(" %d", v[j]); }
static void print_s32(int32x4_t v)
{
    int32_t o[4];
    vst1q_s32(o, v);
    for (int j = 0; j < 4; j++) printf(" %d", o[j]);
}

static int32x4_t load4(const int32_t *v) { return vld1q_s32(v); }

/* SimdOps.RoundingDivideByPOT on arm64: AND, SSHR #31, SQADD, SRSHL by -e. */
static int32x4_t rdbpot(int32x4_t x, int32x4_t e)
{
    int32x4_t neg = vnegq_s32(e);
    int32x4_t fixup = vshrq_n_s32(vandq_s32(x, neg), 31);
    return vrshlq_s32(vqaddq_s32(x, fixup), neg);
}

/* SimdOps.MultiplyByQuantizedMultiplier on arm64. */
static int32x4_t mbqm(int32x4_t x, int32x4_t m, int32x4_t s)
{
    int32x4_t left = vmaxq_s32(s, vdupq_n_s32(0));
    int32x4_t right = vsubq_s32(left, s);
    return rdbpot(vqrdmulhq_s32(vshlq_s32(x, left), m), right);
}

int main(void)
{
    const int n = 24;
    int8_t a[16], b[16];
    int32_t acc[4], w[4], x[4], y[4], z[4];
    for (int i = 0; i < n; i++) {
        bytes(a, i);
        bytes(b, i / 2);
        for (int j = 0; j < 4; j++) acc[j] = any32(i + j);
        int8x16_t va = vld1q_s8(a), vb = vld1q_s8(b);
        int32x4_t vacc = load4(acc);
#ifdef __ARM_FEATURE_DOTPROD
        printf("sdot");
        print_s32(vacc); print_s8(a); print_s8(b);
        print_s32(vdotq_s32(vacc, va, vb));
        printf("\n");
#endif
        /* SimdOps.DotProduct without the dot product extension: SMULL/SMULL2, SADDLP, ADDP. */
        int32x4_t lo = vpaddlq_s16(vmull_s8(vget_low_s8(va), vget_low_s8(vb)));
        int32x4_t hi = vpaddlq_s16(vmull_high_s8(va, vb));
        printf("dot_smull");
        print_s32(vacc); print_s8(a); print_s8(b);
        print_s32(vaddq_s32(vacc, vpaddq_s32(lo, hi)));
        printf("\n");
        /* SimdOps.MultiplyAddPairs: SMULL + SADALP, SMULL2 + SADALP. */
        int32x4_t p = vpadalq_s16(vacc, vmull_s8(vget_low_s8(va), vget_low_s8(vb)));
        p = vpadalq_s16(p, vmull_high_s8(va, vb));
        printf("smull_sadalp");
        print_s32(vacc); print_s8(a); print_s8(b);
        print_s32(p);
        printf("\n");
    }
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < 4; j++) { x[j] = any32(i); y[j] = any32(i + 7); z[j] = any32(i + 3); w[j] = any32(i + 11); }
        int32x4_t r = vpaddq_s32(vpaddq_s32(load4(x), load4(y)), vpaddq_s32(load4(z), load4(w)));
        printf("addp4");
        print_s32(load4(x)); print_s32(load4(y)); print_s32(load4(z)); print_s32(load4(w)); print_s32(r);
        printf("\n");
    }
    for (int i = 0; i < 4 * n; i++) {
        int32_t e[4], s[4];
        for (int j = 0; j < 4; j++) {
            x[j] = any32(i + j);
            y[j] = any32(i + 5 + j);
            e[j] = (int32_t)(next() % 32);
            s[j] = (int32_t)(next() % 62) - 31;
        }
        if (i == 0) { x[0] = y[0] = INT32_MIN; x[1] = -(1 << 30); y[1] = 1 << 30; }
        if (i == 1) { x[0] = -6; e[0] = 2; x[1] = -2; e[1] = 2; x[2] = 6; e[2] = 2; x[3] = INT32_MIN; e[3] = 31; }
        printf("sqrdmulh");
        print_s32(load4(x)); print_s32(load4(y)); print_s32(vqrdmulhq_s32(load4(x), load4(y)));
        printf("\n");
        printf("rdbpot");
        print_s32(load4(x)); print_s32(load4(e)); print_s32(rdbpot(load4(x), load4(e)));
        printf("\n");
        int32_t ls[4];
        for (int j = 0; j < 4; j++) ls[j] = e[j];
        printf("sshl");
        print_s32(load4(x)); print_s32(load4(ls)); print_s32(vshlq_s32(load4(x), load4(ls)));
        printf("\n");
        printf("mbqm");
        print_s32(load4(x)); print_s32(load4(y)); print_s32(load4(s)); print_s32(mbqm(load4(x), load4(y), load4(s)));
        printf("\n");
    }
    return 0;
}
