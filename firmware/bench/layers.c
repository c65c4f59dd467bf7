/*
 * The four reference layers of issue 8 (per-channel int8, input offset 128, output offset -128,
 * random data), each run through the optimized kernel the runtime dispatches to and through the
 * reference loop nest, between counting markers. The output bytes of the two are compared.
 *
 * Output, one line per counted region, in marker order (region i = marks 2i+2 and 2i+3; marks 0
 * and 1 are an empty calibration region):
 *   region <i> <layer> <opt|ref> macs=<n> match=<0|1>
 * run.sh joins these with the plugin's marker counts into instructions_per_mac.
 */
#include <stdio.h>
#include <string.h>
#include "oracle_s8.h"

__attribute__((noinline)) void eq_bench_mark(void) { __asm volatile("" ::: "memory"); }

static uint32_t rng = 0x12345678u;
static uint32_t next(void) { rng = rng * 1664525u + 1013904223u; return rng >> 8; }
static void fill_s8(int8_t *p, int32_t n) { for (int32_t i = 0; i < n; i++) p[i] = (int8_t)(next() & 0xFF); }

/* Largest layer: conv1x1 14x14x32->64 output 12544 B; conv3x3 filter 4608 B; scratch for 8 im2col rows. */
static int8_t input[14 * 14 * 32] __attribute__((aligned(16)));
static int8_t filter[64 * 256] __attribute__((aligned(16)));
static int8_t out_opt[14 * 14 * 64] __attribute__((aligned(16)));
static int8_t out_ref[14 * 14 * 64] __attribute__((aligned(16)));
static int8_t scratch[8 * 144] __attribute__((aligned(16)));
static int32_t bias[64], mult[64], shift[64];

static int region;

static void params(int32_t cout, int32_t shift_lo)
{
    for (int32_t i = 0; i < cout; i++) {
        bias[i] = (int32_t)(next() % 20001u) - 10000;
        mult[i] = (int32_t)(0x40000000u + (next() & 0x3FFFFFu) * 255u);
        shift[i] = shift_lo - (int32_t)(next() % 3u);
    }
}

static void report(const char *layer, const char *variant, int32_t macs, int match)
{
    printf("region %d %s %s macs=%ld match=%d\n", region++, layer, variant, (long)macs, match);
}

static void conv(const char *name, int32_t h, int32_t w, int32_t cin, int32_t cout, int32_t k, int32_t pad)
{
    fill_s8(input, h * w * cin);
    fill_s8(filter, cout * k * k * cin);
    params(cout, -9);
    eq_opt_conv_s8 p = { input, filter, bias, mult, shift, out_opt, 1, h, w, cin, k, k, h, w, cout,
                         1, 1, 1, 1, pad, pad, 1, 128, -128, -128, 127 };
    /* The arena scratch the converter plans for this op: KernelScratch.Conv2DBytes. */
    uint32_t kp = (uint32_t)((k * k * cin + 15) / 16 * 16);
    uint32_t scratch_bytes = k * k == 1 ? 0u : kp * (uint32_t)(w < 8 ? w : 8);
    int32_t macs = h * w * cout * k * k * cin;
    memset(out_opt, 0, sizeof out_opt);
    eq_bench_mark();
    int done = eq_conv2d_s8_opt(&p, scratch, scratch_bytes);
    eq_bench_mark();
    p.output = out_ref;
    eq_bench_mark();
    oracle_conv2d_s8(&p);
    eq_bench_mark();
    int match = done && memcmp(out_opt, out_ref, (size_t)(h * w * cout)) == 0;
    report(name, "opt", macs, match);
    report(name, "ref", macs, 1);
}

static void depthwise(const char *name, int32_t h, int32_t w, int32_t c)
{
    fill_s8(input, h * w * c);
    fill_s8(filter, 9 * c);
    params(c, -7);
    eq_opt_conv_s8 p = { input, filter, bias, mult, shift, out_opt, 1, h, w, c, 3, 3, h, w, c,
                         1, 1, 1, 1, 1, 1, 1, 128, -128, -128, 127 };
    int32_t macs = h * w * c * 9;
    memset(out_opt, 0, sizeof out_opt);
    eq_bench_mark();
    int done = eq_depthwise_conv2d_s8_opt(&p);
    eq_bench_mark();
    p.output = out_ref;
    eq_bench_mark();
    oracle_depthwise_conv2d_s8(&p);
    eq_bench_mark();
    int match = done && memcmp(out_opt, out_ref, (size_t)(h * w * c)) == 0;
    report(name, "opt", macs, match);
    report(name, "ref", macs, 1);
}

static void fully_connected(const char *name, int32_t cin, int32_t cout)
{
    fill_s8(input, cin);
    fill_s8(filter, cin * cout);
    params(cout, -9);
    eq_opt_fc_s8 p = { input, filter, bias, mult, shift, out_opt, 1, cin, cout, 128, -128, -128, 127 };
    memset(out_opt, 0, sizeof out_opt);
    eq_bench_mark();
    int done = eq_fully_connected_s8_opt(&p);
    eq_bench_mark();
    p.output = out_ref;
    eq_bench_mark();
    oracle_fully_connected_s8(&p);
    eq_bench_mark();
    int match = done && memcmp(out_opt, out_ref, (size_t)cout) == 0;
    report(name, "opt", cin * cout, match);
    report(name, "ref", cin * cout, 1);
}

int main(void)
{
    eq_bench_mark();
    eq_bench_mark();
    conv("conv3x3", 14, 14, 16, 32, 3, 1);
    conv("conv1x1", 14, 14, 32, 64, 1, 0);
    depthwise("depthwise3x3", 14, 14, 32);
    fully_connected("fully_connected", 256, 64);
    return 0;
}
