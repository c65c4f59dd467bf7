/*
 * The four reference layers of issue 8 (per-channel int8, input offset 128, output offset -128,
 * random data), each run through the runtime's dispatcher (eq_conv2d_s8 etc.: the optimized kernel
 * when the core has one, else the reference) and through the reference kernel (eq_*_s8_ref),
 * between counting markers. The output bytes of the two are compared, and the dispatcher's stack
 * high-water mark is measured by stack painting.
 *
 * Output, one line per counted region, in marker order (region i = marks 2i+2 and 2i+3; marks 0
 * and 1 are an empty calibration region):
 *   region <i> <layer> <opt|ref> macs=<n> match=<0|1> stack=<bytes>
 * run.sh joins these with the plugin's marker counts into instructions_per_mac.
 */
#include <stdio.h>
#include <string.h>
#include "board.h"
#include "kernels.h"

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
static int32_t bias[64], folded[64], mult[64], shift[64];

/* The blob's folded bias, as the converter writes it: bias + input_offset * sum of the channel's filter taps. */
static void fold(int32_t cout, int32_t taps, int32_t tap_stride, int32_t channel_stride, int32_t input_offset)
{
    for (int32_t oc = 0; oc < cout; oc++) {
        uint32_t s = 0;
        for (int32_t t = 0; t < taps; t++) s += (uint32_t)(int32_t)filter[oc * channel_stride + t * tap_stride];
        folded[oc] = (int32_t)((uint32_t)bias[oc] + (uint32_t)input_offset * s);
    }
}

static int region;

static void params(int32_t cout, int32_t shift_lo)
{
    for (int32_t i = 0; i < cout; i++) {
        bias[i] = (int32_t)(next() % 20001u) - 10000;
        mult[i] = (int32_t)(0x40000000u + (next() & 0x3FFFFFu) * 255u);
        shift[i] = shift_lo - (int32_t)(next() % 3u);
    }
}

static void report(const char *layer, const char *variant, int32_t macs, int match, size_t stack)
{
    printf("region %d %s %s macs=%ld match=%d stack=%lu\n", region++, layer, variant, (long)macs, match, (unsigned long)stack);
}

/* Runs the dispatcher once untimed with a painted stack (its high-water mark), then counted. */
#define RUN_MEASURED(call, stack_out)        \
    do {                                     \
        eq_board_stack_paint();              \
        call;                                \
        (stack_out) = eq_board_stack_used(); \
        eq_bench_mark();                     \
        call;                                \
        eq_bench_mark();                     \
    } while (0)

/* Same-size output (stride 1, the given symmetric padding), offsets of the layers. */
static eq_conv_params conv_params(int32_t h, int32_t w, int32_t cin, int32_t cout, int32_t k, int32_t pad)
{
    eq_conv_params p;
    memset(&p, 0, sizeof p);
    p.input = input; p.batches = 1; p.in_h = h; p.in_w = w; p.in_c = cin;
    p.filter = filter; p.k_h = k; p.k_w = k;
    p.bias = bias; p.multipliers = mult; p.shifts = shift; p.output = out_opt;
    p.out_h = h; p.out_w = w; p.out_c = cout;
    p.stride_h = p.stride_w = p.dilation_h = p.dilation_w = 1;
    p.pad_top = p.pad_left = p.pad_bottom = p.pad_right = pad;
    p.input_offset = 128; p.output_offset = -128; p.act_min = -128; p.act_max = 127;
    return p;
}

static void conv(const char *name, int32_t h, int32_t w, int32_t cin, int32_t cout, int32_t k, int32_t pad)
{
    fill_s8(input, h * w * cin);
    fill_s8(filter, cout * k * k * cin);
    params(cout, -9);
    eq_conv_params p = conv_params(h, w, cin, cout, k, pad);
    p.filter = filter;
    p.depth_multiplier = 1;
    fold(cout, k * k * cin, 1, k * k * cin, 128);
    p.folded_bias = folded;
    /* The arena scratch the converter plans for this op: KernelScratch.Conv2DBytes. */
    uint32_t kp = (uint32_t)((k * k * cin + 15) / 16 * 16);
    p.scratch_bytes = k * k == 1 ? 0u : kp * (uint32_t)(w < 8 ? w : 8);
    p.scratch = p.scratch_bytes ? scratch : NULL;
    int32_t macs = h * w * cout * k * k * cin;
    size_t stack;
    memset(out_opt, 0, sizeof out_opt);
    RUN_MEASURED(eq_conv2d_s8(&p), stack);
    p.output = out_ref;
    eq_bench_mark();
    eq_conv2d_s8_ref(&p);
    eq_bench_mark();
    int match = memcmp(out_opt, out_ref, (size_t)(h * w * cout)) == 0;
    report(name, "opt", macs, match, stack);
    report(name, "ref", macs, 1, 0);
}

static void depthwise(const char *name, int32_t h, int32_t w, int32_t c)
{
    fill_s8(input, h * w * c);
    fill_s8(filter, 9 * c);
    params(c, -7);
    eq_conv_params p = conv_params(h, w, c, c, 3, 1);
    p.depth_multiplier = 1;
    fold(c, 9, c, 1, 128);
    p.folded_bias = folded;
    int32_t macs = h * w * c * 9;
    size_t stack;
    memset(out_opt, 0, sizeof out_opt);
    RUN_MEASURED(eq_depthwise_conv2d_s8(&p), stack);
    p.output = out_ref;
    eq_bench_mark();
    eq_depthwise_conv2d_s8_ref(&p);
    eq_bench_mark();
    int match = memcmp(out_opt, out_ref, (size_t)(h * w * c)) == 0;
    report(name, "opt", macs, match, stack);
    report(name, "ref", macs, 1, 0);
}

static void fully_connected(const char *name, int32_t cin, int32_t cout)
{
    fill_s8(input, cin);
    fill_s8(filter, cin * cout);
    params(cout, -9);
    eq_fc_params p;
    memset(&p, 0, sizeof p);
    p.input = input; p.batches = 1; p.cin = cin; p.cout = cout; p.filter = filter;
    p.bias = bias; p.multipliers = mult; p.shifts = shift; p.output = out_opt;
    p.input_offset = 128; p.output_offset = -128; p.act_min = -128; p.act_max = 127;
    fold(cout, cin, 1, cin, 128);
    p.folded_bias = folded;
    size_t stack;
    memset(out_opt, 0, sizeof out_opt);
    RUN_MEASURED(eq_fully_connected_s8(&p), stack);
    p.output = out_ref;
    eq_bench_mark();
    eq_fully_connected_s8_ref(&p);
    eq_bench_mark();
    int match = memcmp(out_opt, out_ref, (size_t)cout) == 0;
    report(name, "opt", cin * cout, match, stack);
    report(name, "ref", cin * cout, 1, 0);
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    eq_board_init();
    eq_bench_mark();
    eq_bench_mark();
    conv("conv3x3", 14, 14, 16, 32, 3, 1);
    conv("conv1x1", 14, 14, 32, 64, 1, 0);
    depthwise("depthwise3x3", 14, 14, 32);
    fully_connected("fully_connected", 256, 64);
    return 0;
}
