/*
 * Bit-exactness of the optimized kernels against the reference kernels (eq_*_s8_ref), on the board
 * it is built for: every optimized entry point compiled there (M4/M33: *_dsp; M55: *_mve and
 * *_dsp) and the dispatcher the runtime calls. Random shapes with odd channel counts and every
 * tail length, padding, strides and dilations, random offsets and activation ranges, extreme
 * multipliers and shifts (wrapping left shifts, the saturating INT32_MIN case, right shifts up to
 * 31), full-range biases, and every scratch size from none to the planned one. A case an
 * entry point declines (returns other than EQ_OK) must leave the output untouched.
 * On MVE the four-lane requantization is also compared with the scalar helper on extreme values.
 *
 * Prints one line per failing case, a summary per kernel, and "N passed, N failed" last.
 * The seed can be changed at build time with -DEQ_TEST_SEED=<n>.
 */
#include <stdio.h>
#include <string.h>
#include "board.h"
#include "kernels_opt.h"

#ifndef EQ_TEST_SEED
#define EQ_TEST_SEED 20261203u
#endif
#ifndef EQ_TEST_CASES
#define EQ_TEST_CASES 250
#endif

static uint32_t rng = EQ_TEST_SEED;
static uint32_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}
static int32_t range(int32_t lo, int32_t hi) { return lo + (int32_t)(next() % (uint32_t)(hi - lo + 1)); }

#define IN_MAX 8192
#define F_MAX 16384
#define OUT_MAX 8192
#define CH_MAX 160
static int8_t input[IN_MAX], filter[F_MAX], out_opt[OUT_MAX], out_ref[OUT_MAX];
static int8_t scratch[8192] __attribute__((aligned(16)));
static int32_t bias[CH_MAX], folded[CH_MAX], mult[CH_MAX], shift[CH_MAX];

/* The blob's folded bias (bias + input_offset * sum of the channel's taps, wrapping), present in
 * two cases out of three as blobs may omit it. */
static const int32_t *maybe_fold(int32_t cout, int32_t taps, int32_t tap_stride, int32_t channel_stride, int32_t input_offset,
                                 int fold)
{
    if (fold == 0 || (fold < 0 && next() % 3 == 0)) return NULL;
    for (int32_t oc = 0; oc < cout; oc++) {
        uint32_t s = 0;
        for (int32_t t = 0; t < taps; t++) s += (uint32_t)(int32_t)filter[oc * channel_stride + t * tap_stride];
        folded[oc] = (int32_t)((uint32_t)bias[oc] + (uint32_t)input_offset * s);
    }
    return folded;
}

static int passed, failed, declined;

static void fill(int8_t *p, int32_t n)
{
    for (int32_t i = 0; i < n; i++) p[i] = (int8_t)next();
    if (next() % 8 == 0) /* saturated inputs and weights */
        for (int32_t i = 0; i < n; i++) p[i] = (next() & 1) ? 127 : -128;
}

static int32_t extreme_multiplier(void)
{
    switch (next() % 10) {
    case 0: return INT32_MIN;
    case 1: return INT32_MAX;
    case 2: return 0;
    case 3: return 1 << 30;
    case 4: return -(int32_t)(next() >> 1);
    default: return (int32_t)(0x40000000u | (next() & 0x3FFFFFFFu));
    }
}

static void channel_params(int32_t n, int extreme)
{
    for (int32_t i = 0; i < n; i++) {
        bias[i] = (next() % 4 == 0) ? (int32_t)next() : range(-40000, 40000);
        mult[i] = extreme ? extreme_multiplier() : (int32_t)(0x40000000u | (next() & 0x3FFFFFFFu));
        shift[i] = extreme ? range(-31, 30) : range(-12, -4);
    }
}

static void offsets(int32_t *in_off, int32_t *out_off, int32_t *amin, int32_t *amax)
{
    *in_off = (next() % 3 == 0) ? 128 : range(-127, 128);
    *out_off = (next() % 3 == 0) ? -128 : range(-128, 127);
    *amin = -128;
    *amax = 127;
    if (next() % 4 == 0) {
        *amin = range(-128, 0);
        *amax = range(*amin, 127);
    }
}

static void check(const char *kernel, int32_t id, int done, int32_t n, const char *shape)
{
    if (!done) {
        if (n == 0) { passed++; return; }
        declined++;
        for (int32_t i = 0; i < n; i++)
            if (out_opt[i] != (int8_t)0x5A) {
                failed++;
                printf("FAIL %s case %ld: declined but wrote the output (%s)\n", kernel, (long)id, shape);
                return;
            }
        passed++;
        return;
    }
    for (int32_t i = 0; i < n; i++)
        if (out_opt[i] != out_ref[i]) {
            failed++;
            printf("FAIL %s case %ld: byte %ld is %d, reference %d (%s)\n", kernel, (long)id, (long)i, out_opt[i], out_ref[i], shape);
            return;
        }
    passed++;
}

static int32_t out_size(int32_t in, int32_t k, int32_t stride, int32_t dil, int32_t pad_total)
{
    int32_t eff = (k - 1) * dil + 1;
    if (in + pad_total < eff) return 0;
    return (in + pad_total - eff) / stride + 1;
}

typedef eq_status (*conv_fn)(const eq_conv_params *p);
typedef eq_status (*fc_fn)(const eq_fc_params *p);
typedef eq_status (*pool_fn)(const eq_pool_params *p);
typedef eq_status (*add_fn)(const eq_elementwise_params *p, int subtract);
/* One entry per optimized path compiled in, then the dispatcher (dispatch 1); a NULL kernel: the
 * path has none for that op (skipped). */
static const struct {
    const char *name;
    int dispatch;
    conv_fn conv, depthwise;
    fc_fn fc;
    pool_fn max_pool, avg_pool;
    add_fn add;
} paths[] = {
#if EQ_USE_MVE
    { "mve", 0, eq_conv2d_s8_mve, eq_depthwise_conv2d_s8_mve, eq_fully_connected_s8_mve, eq_max_pool2d_s8_mve,
      eq_average_pool2d_s8_mve, eq_add_s8_mve },
#endif
#if EQ_USE_DSP
    { "dsp", 0, eq_conv2d_s8_dsp, eq_depthwise_conv2d_s8_dsp, eq_fully_connected_s8_dsp, eq_max_pool2d_s8_dsp,
      eq_average_pool2d_s8_dsp, eq_add_s8_dsp },
#endif
#if EQ_USE_C_OPT
    { "c", 0, eq_conv2d_s8_c, eq_depthwise_conv2d_s8_c, eq_fully_connected_s8_c, NULL, NULL, NULL },
#endif
    { "dispatch", 1, NULL, NULL, NULL, NULL, NULL, NULL },
};
#define N_PATHS ((int)(sizeof paths / sizeof paths[0]))

static void run_conv_case(int32_t id, int depthwise, eq_conv_params p, int fold);

static void test_conv(int32_t id, int depthwise)
{
    static const int32_t odd_channels[] = { 1, 2, 3, 4, 5, 7, 8, 15, 16, 17, 20, 31, 32, 33, 40 };
    eq_conv_params p;
    for (;;) {
        memset(&p, 0, sizeof p);
        p.batches = range(1, 2);
        p.in_h = range(1, 9);
        p.in_w = range(1, 9);
        p.in_c = (next() & 1) ? odd_channels[next() % 15] : range(1, 48);
        int32_t k = (next() % 4 == 0) ? range(1, 5) : ((next() & 1) ? 3 : 1);
        p.k_h = k;
        p.k_w = (next() % 5 == 0) ? range(1, 3) : k;
        p.stride_h = range(1, 3);
        p.stride_w = range(1, 3);
        p.dilation_h = (next() % 4 == 0) ? 2 : 1;
        p.dilation_w = (next() % 4 == 0) ? 2 : 1;
        /* Padding up to 2 on every side whatever the kernel (as the converter's golden cases):
         * output rows and columns of padding only. */
        p.pad_top = (next() & 1) ? range(0, 2) : range(0, p.k_h - 1);
        p.pad_left = (next() & 1) ? range(0, 2) : range(0, p.k_w - 1);
        if (next() % 3 == 0) p.pad_top = p.pad_left = 0;
        p.pad_bottom = (next() & 1) ? range(0, 2) : range(0, p.k_h - 1);
        p.pad_right = (next() & 1) ? range(0, 2) : range(0, p.k_w - 1);
        p.out_h = out_size(p.in_h, p.k_h, p.stride_h, p.dilation_h, p.pad_top + p.pad_bottom);
        p.out_w = out_size(p.in_w, p.k_w, p.stride_w, p.dilation_w, p.pad_left + p.pad_right);
        p.depth_multiplier = 1;
        if (depthwise && next() % 6 == 0) p.depth_multiplier = range(2, 3);
        p.out_c = depthwise ? p.in_c * p.depth_multiplier : range(1, 40);
        int32_t fsize = depthwise ? p.k_h * p.k_w * p.out_c : p.out_c * p.k_h * p.k_w * p.in_c;
        if (p.out_h < 1 || p.out_w < 1 || p.out_c > CH_MAX || fsize > F_MAX) continue;
        if (p.batches * p.in_h * p.in_w * p.in_c > IN_MAX || p.batches * p.out_h * p.out_w * p.out_c > OUT_MAX) continue;
        break;
    }
    run_conv_case(id, depthwise, p, -1);
}

/* Random data, parameters and scratch for the shape in p; fold: 1/0 force the folded bias on/off, -1 random. */
static void run_conv_case(int32_t id, int depthwise, eq_conv_params p, int fold)
{
    int extreme = next() % 3 == 0;
    fill(input, p.batches * p.in_h * p.in_w * p.in_c);
    fill(filter, depthwise ? p.k_h * p.k_w * p.out_c : p.out_c * p.k_h * p.k_w * p.in_c);
    channel_params(p.out_c, extreme);
    offsets(&p.input_offset, &p.output_offset, &p.act_min, &p.act_max);
    p.input = input; p.filter = filter; p.bias = bias; p.multipliers = mult; p.shifts = shift;
    /* Depthwise: channel oc's taps at oc + t * out_c (multiplier > 1 maps several oc to one input channel). */
    if (depthwise) p.folded_bias = maybe_fold(p.out_c, p.k_h * p.k_w, p.out_c, 1, p.input_offset, fold);
    else p.folded_bias = maybe_fold(p.out_c, p.k_h * p.k_w * p.in_c, 1, p.k_h * p.k_w * p.in_c, p.input_offset, fold);
    if (!depthwise) {
        /* Scratch: none, one im2col row, two, or what the converter plans (KernelScratch.Conv2DBytes). */
        uint32_t k = (uint32_t)(p.k_h * p.k_w * p.in_c), planned = (k + 15u) / 16u * 16u * (uint32_t)(p.out_w < 8 ? p.out_w : 8);
        uint32_t sizes[4] = { 0u, k, 2u * k, p.k_h * p.k_w == 1 ? 0u : planned };
        p.scratch_bytes = sizes[next() % 4];
        if (p.scratch_bytes > sizeof scratch) p.scratch_bytes = sizeof scratch;
        p.scratch = p.scratch_bytes ? scratch : NULL;
    }
    int32_t n = p.batches * p.out_h * p.out_w * p.out_c;
    char shape[160];
    snprintf(shape, sizeof shape, "n%ld %ldx%ldx%ld k%ldx%ld s%ld,%ld d%ld,%ld pad%ld,%ld cout%ld mult%ld off%ld scratch%lu%s%s",
             (long)p.batches, (long)p.in_h, (long)p.in_w, (long)p.in_c, (long)p.k_h, (long)p.k_w, (long)p.stride_h,
             (long)p.stride_w, (long)p.dilation_h, (long)p.dilation_w, (long)p.pad_top, (long)p.pad_left,
             (long)p.out_c, (long)p.depth_multiplier, (long)p.input_offset, (unsigned long)p.scratch_bytes,
             p.folded_bias ? " folded" : "", extreme ? " extreme" : "");
    p.output = out_ref;
    if (depthwise) eq_depthwise_conv2d_s8_ref(&p);
    else eq_conv2d_s8_ref(&p);
    p.output = out_opt;
    for (int i = 0; i < N_PATHS; i++) {
        char name[48];
        snprintf(name, sizeof name, "%s_%s", depthwise ? "depthwise_conv2d" : "conv2d", paths[i].name);
        memset(out_opt, 0x5A, (size_t)n);
        int done = 1;
        if (paths[i].dispatch) {
            if (depthwise) eq_depthwise_conv2d_s8(&p);
            else eq_conv2d_s8(&p);
        } else {
            done = (depthwise ? paths[i].depthwise(&p) : paths[i].conv(&p)) == EQ_OK;
        }
        check(name, id, done, n, shape);
    }
}

static void test_pool(int32_t id, int average)
{
    eq_pool_params p;
    memset(&p, 0, sizeof p);
    do {
        p.batches = range(1, 2);
        p.in_h = range(1, 10);
        p.in_w = range(1, 10);
        p.channels = (next() & 1) ? range(1, 40) : range(1, 7);
        p.filter_h = (average && next() % 8 == 0) ? range(1, 10) : range(1, 3);
        p.filter_w = (average && next() % 8 == 0) ? range(1, 10) : range(1, 3);
        p.stride_h = range(1, 3);
        p.stride_w = range(1, 3);
        p.pad_top = range(0, p.filter_h - 1);
        p.pad_left = range(0, p.filter_w - 1);
        p.pad_bottom = range(0, p.filter_h - 1);
        p.pad_right = range(0, p.filter_w - 1);
        p.out_h = out_size(p.in_h, p.filter_h, p.stride_h, 1, p.pad_top + p.pad_bottom);
        p.out_w = out_size(p.in_w, p.filter_w, p.stride_w, 1, p.pad_left + p.pad_right);
    } while (p.out_h < 1 || p.out_w < 1 || p.batches * p.in_h * p.in_w * p.channels > IN_MAX);
    int32_t unused;
    offsets(&unused, &unused, &p.act_min, &p.act_max);
    fill(input, p.batches * p.in_h * p.in_w * p.channels);
    p.input = input;
    int32_t n = p.batches * p.out_h * p.out_w * p.channels;
    char shape[120];
    snprintf(shape, sizeof shape, "n%ld %ldx%ldx%ld f%ldx%ld s%ld,%ld pad%ld,%ld act[%ld,%ld]", (long)p.batches,
             (long)p.in_h, (long)p.in_w, (long)p.channels, (long)p.filter_h, (long)p.filter_w, (long)p.stride_h,
             (long)p.stride_w, (long)p.pad_top, (long)p.pad_left, (long)p.act_min, (long)p.act_max);
    p.output = out_ref;
    if (average) eq_average_pool2d_s8_ref(&p);
    else eq_max_pool2d_s8_ref(&p);
    p.output = out_opt;
    for (int i = 0; i < N_PATHS; i++) {
        char name[48];
        snprintf(name, sizeof name, "%s_%s", average ? "average_pool2d" : "max_pool2d", paths[i].name);
        pool_fn fn = average ? paths[i].avg_pool : paths[i].max_pool;
        memset(out_opt, 0x5A, (size_t)n);
        int done = 1;
        if (paths[i].dispatch) {
            if (average) eq_average_pool2d_s8(&p);
            else eq_max_pool2d_s8(&p);
        } else if (fn == NULL) {
            continue;
        } else {
            done = fn(&p) == EQ_OK;
        }
        check(name, id, done, n, shape);
    }
}

static void run_fc_case(int32_t id, eq_fc_params p, int fold);

static void test_fc(int32_t id)
{
    eq_fc_params p;
    memset(&p, 0, sizeof p);
    do {
        p.batches = range(1, 4);
        p.cin = (next() & 1) ? range(1, 40) : range(1, 400);
        p.cout = range(1, 70);
    } while (p.cin * p.cout > F_MAX || p.batches * p.cin > IN_MAX);
    run_fc_case(id, p, -1);
}

static void run_fc_case(int32_t id, eq_fc_params p, int fold)
{
    int extreme = next() % 3 == 0;
    fill(input, p.batches * p.cin);
    fill(filter, p.cin * p.cout);
    channel_params(p.cout, extreme);
    offsets(&p.input_offset, &p.output_offset, &p.act_min, &p.act_max);
    p.input = input; p.filter = filter; p.bias = bias; p.multipliers = mult; p.shifts = shift;
    p.folded_bias = maybe_fold(p.cout, p.cin, 1, p.cin, p.input_offset, fold);
    int32_t n = p.batches * p.cout;
    char shape[96];
    snprintf(shape, sizeof shape, "batches %ld cin %ld cout %ld off %ld%s%s", (long)p.batches, (long)p.cin,
             (long)p.cout, (long)p.input_offset, p.folded_bias ? " folded" : "", extreme ? " extreme" : "");
    p.output = out_ref;
    eq_fully_connected_s8_ref(&p);
    p.output = out_opt;
    for (int i = 0; i < N_PATHS; i++) {
        char name[48];
        snprintf(name, sizeof name, "fully_connected_%s", paths[i].name);
        memset(out_opt, 0x5A, (size_t)n);
        int done = 1;
        if (paths[i].dispatch) eq_fully_connected_s8(&p);
        else done = paths[i].fc(&p) == EQ_OK;
        check(name, id, done, n, shape);
    }
}

/* Add/Sub: random rank-4 shapes where each input dimension is the output's or 1 (broadcasts of
 * every kind, scalars included), parameters within what eq_model_init accepts (offsets +-255, left
 * shift 0..20, input shifts <= 0, output shift -31..30, multipliers >= 0 including 0 and
 * INT32_MAX), random activation ranges. */
static void test_add(int32_t id, int subtract)
{
    eq_elementwise_params p;
    memset(&p, 0, sizeof p);
    int32_t n, na, nb;
    do {
        n = 1;
        na = nb = 1;
        for (int d = 0; d < 4; d++) {
            p.out_shape[d] = (d == 3 && next() % 2) ? range(1, 40) : range(1, d == 0 ? 2 : 5);
            p.a_shape[d] = (next() % 4 == 0) ? 1 : p.out_shape[d];
            p.b_shape[d] = (next() % 4 == 0) ? 1 : p.out_shape[d];
            n *= p.out_shape[d];
            na *= p.a_shape[d];
            nb *= p.b_shape[d];
        }
        if (next() % 6 == 0) for (int d = 0; d < 4; d++) p.a_shape[d] = p.b_shape[d] = p.out_shape[d], na = nb = n;
    } while (n > OUT_MAX || na + nb > IN_MAX);
    fill(input, na + nb);
    p.a = input;
    p.b = input + na;
    p.input1_offset = range(-255, 255);
    p.input2_offset = range(-255, 255);
    p.output_offset = range(-255, 255);
    p.left_shift = (next() % 3) ? 20 : range(0, 20);
    int32_t m[3];
    for (int i = 0; i < 3; i++) {
        switch (next() % 6) {
        case 0: m[i] = 0; break;
        case 1: m[i] = INT32_MAX; break;
        default: m[i] = (int32_t)(0x40000000u | (next() & 0x3FFFFFFFu)); break;
        }
    }
    p.input1_multiplier = m[0];
    p.input2_multiplier = m[1];
    p.output_multiplier = m[2];
    p.input1_shift = range(-31, 0);
    p.input2_shift = range(-31, 0);
    p.output_shift = (next() % 3) ? range(-25, -15) : range(-31, 30);
    if (next() % 2) {
        /* Small values at every stage, so each rounding reaches the output bytes. */
        p.left_shift = range(0, 4);
        p.input1_shift = range(-6, 0);
        p.input2_shift = range(-6, 0);
        p.output_shift = range(-2, 4);
    }
    if (next() % 3 == 0) {
        /* The converter's pattern (the Helium path's fast loop): the input of the larger scale at one half (2^30,
         * shift 0), sometimes both (equal scales). */
        int which = (int)(next() % 3);
        if (next() % 2) {
            /* Small right shifts everywhere, so that values land exactly halfway between two results (the rounding's
             * sign term decides them) several times per case. */
            p.left_shift = range(1, 4);
            p.input1_shift = range(-3, -1);
            p.input2_shift = range(-3, -1);
            p.output_shift = range(-3, -1);
        }
        if (which != 1) p.input1_multiplier = 1 << 30, p.input1_shift = 0;
        if (which != 0) p.input2_multiplier = 1 << 30, p.input2_shift = 0;
    }
    int32_t unused;
    offsets(&unused, &unused, &p.act_min, &p.act_max);
    char shape[256];
    snprintf(shape, sizeof shape, "out %ldx%ldx%ldx%ld a %ldx%ldx%ldx%ld b %ldx%ldx%ldx%ld ls %ld shifts %ld,%ld,%ld",
             (long)p.out_shape[0], (long)p.out_shape[1], (long)p.out_shape[2], (long)p.out_shape[3], (long)p.a_shape[0],
             (long)p.a_shape[1], (long)p.a_shape[2], (long)p.a_shape[3], (long)p.b_shape[0], (long)p.b_shape[1],
             (long)p.b_shape[2], (long)p.b_shape[3], (long)p.left_shift, (long)p.input1_shift, (long)p.input2_shift,
             (long)p.output_shift);
    p.output = out_ref;
    eq_add_s8_ref(&p, subtract);
    p.output = out_opt;
    for (int i = 0; i < N_PATHS; i++) {
        char name[48];
        snprintf(name, sizeof name, "%s_%s", subtract ? "sub" : "add", paths[i].name);
        memset(out_opt, 0x5A, (size_t)n);
        int done = 1;
        if (paths[i].dispatch) {
            if (subtract) eq_sub_s8(&p);
            else eq_add_s8(&p);
        } else if (paths[i].add == NULL) {
            continue;
        } else {
            done = paths[i].add(&p, subtract) == EQ_OK;
        }
        check(name, id, done, n, shape);
    }
}

static void test_add_case(int32_t id, int subtract) { test_add(id, subtract); }

#if EQ_USE_MVE
static int32_t extreme_value(void)
{
    switch (next() % 8) {
    case 0: return INT32_MIN;
    case 1: return INT32_MAX;
    case 2: return range(-4, 4);
    case 3: return (int32_t)(next() >> range(0, 31)) * ((next() & 1) ? -1 : 1);
    default: return (int32_t)next();
    }
}

static void test_requantize_mve(void)
{
    int bad = 0;
    for (int32_t i = 0; i < 4000 && !bad; i++) {
        int32_t x[4], m[4], s[4], r[4];
        for (int j = 0; j < 4; j++) {
            x[j] = extreme_value();
            m[j] = (next() & 1) ? extreme_multiplier() : extreme_value();
            s[j] = range(-31, 30);
            /* Ties: values whose dropped bits are exactly one half after the high multiply. */
            if (next() % 8 == 0) { m[j] = INT32_MAX; x[j] = (int32_t)((uint32_t)range(-1000, 1000) << 8 | 0x80u); s[j] = -8; }
        }
        vstrwq_s32(r, eq_opt_mbqm_mve(vldrwq_s32(x), vldrwq_s32(m), vldrwq_s32(s)));
        for (int j = 0; j < 4; j++)
            if (r[j] != eq_mbqm(x[j], m[j], s[j])) {
                printf("FAIL requantize_mve: x=%ld m=%ld shift=%ld gives %ld, scalar %ld\n", (long)x[j], (long)m[j],
                       (long)s[j], (long)r[j], (long)eq_mbqm(x[j], m[j], s[j]));
                bad = 1;
            }
    }
    if (bad) failed++;
    else passed++;
    printf("requantize_mve: 16000 lanes %s\n", bad ? "FAILED" : "match the scalar helper");
}
#endif

/* quant_math.h's eq_srdhm (one 64-bit multiply-add and a shift) against the C# definition written
 * out (QuantMath.SaturatingRoundingDoublingHighMul: nudge by +-2^30, divide truncating toward
 * zero), and eq_mbqm against the same with the C# rounding divide: every pair of 64 edge values
 * (0, +-1, +-2^k, +-(2^k - 1), the extremes) and 20,000 random pairs, every shift for the edges. */
static int32_t srdhm_cs(int32_t a, int32_t b)
{
    int64_t v;
    if (a == b && a == INT32_MIN) return INT32_MAX;
    v = (int64_t)a * (int64_t)b;
    v += v >= 0 ? ((int64_t)1 << 30) : ((int64_t)1 - ((int64_t)1 << 30));
    return (int32_t)(v >= 0 ? (v >> 31) : -((-v) >> 31));
}

static int32_t mbqm_cs(int32_t x, int32_t m, int32_t shift)
{
    int left = shift > 0 ? (int)shift : 0, right = shift > 0 ? 0 : (int)-shift;
    int32_t v = srdhm_cs((int32_t)((uint32_t)x << left), m);
    int32_t mask = (int32_t)(((int64_t)1 << right) - 1), rem = v & mask, thr = (mask >> 1) + (v < 0 ? 1 : 0);
    return (v >> right) + (rem > thr ? 1 : 0);
}

static void test_quant_math(void)
{
    int32_t edge[64];
    int n = 0, bad = 0;
    long checks = 0;
    edge[n++] = 0; edge[n++] = 1; edge[n++] = -1; edge[n++] = INT32_MIN; edge[n++] = INT32_MAX; edge[n++] = INT32_MIN + 1;
    for (int k = 1; k < 30 && n + 2 <= 64; k += 1) {
        edge[n++] = (int32_t)(1u << k) - (k & 1);
        edge[n++] = -(int32_t)(1u << k) + (k % 3 == 0);
    }
    while (n < 64) edge[n++] = (int32_t)next();
    for (int i = 0; i < 64; i++)
        for (int j = 0; j < 64; j++) {
            checks++;
            if (eq_srdhm(edge[i], edge[j]) != srdhm_cs(edge[i], edge[j]) && bad++ < 5)
                printf("FAIL srdhm(%ld, %ld) = %ld, C# form %ld\n", (long)edge[i], (long)edge[j], (long)eq_srdhm(edge[i], edge[j]),
                       (long)srdhm_cs(edge[i], edge[j]));
            for (int32_t s = -31; s <= 30; s += (i + j) % 5 + 1) {
                checks++;
                if (eq_mbqm(edge[i], edge[j], s) != mbqm_cs(edge[i], edge[j], s) && bad++ < 5)
                    printf("FAIL mbqm(%ld, %ld, %ld) differs from the C# form\n", (long)edge[i], (long)edge[j], (long)s);
            }
        }
    for (int i = 0; i < 20000; i++) {
        int32_t a = (int32_t)next(), b = (int32_t)next(), s = range(-31, 30);
        if (i & 1) a >>= range(0, 31);
        checks += 2;
        if ((eq_srdhm(a, b) != srdhm_cs(a, b) || eq_mbqm(a, b, s) != mbqm_cs(a, b, s)) && bad++ < 5)
            printf("FAIL srdhm/mbqm(%ld, %ld, %ld) differ from the C# form\n", (long)a, (long)b, (long)s);
    }
    if (bad) failed++;
    else passed++;
    printf("quant_math: %ld values of eq_srdhm/eq_mbqm %s\n", checks, bad ? "FAILED" : "equal the C# form");
}

/* Fixed shapes: the bench layers scaled down and the block/tail boundaries of every micro-kernel
 * (k of 16, 32, 33, 48; channel counts around the 2-, 4- and 8-wide blocks; 3x3 interiors), each
 * with and without the folded bias. */
static void edge_cases(void)
{
    static const int32_t conv[][8] = { /* h, w, cin, cout, k, pad, stride, depthwise */
        { 6, 6, 16, 32, 3, 1, 1, 0 }, { 5, 7, 3, 8, 3, 1, 2, 0 }, { 4, 4, 40, 20, 3, 1, 1, 0 }, { 5, 5, 32, 64, 1, 0, 1, 0 },
        { 3, 3, 16, 8, 1, 0, 1, 0 }, { 4, 4, 33, 5, 1, 0, 1, 0 }, { 5, 5, 32, 7, 1, 0, 2, 0 }, { 4, 5, 48, 9, 1, 0, 1, 0 },
        { 6, 6, 32, 32, 3, 1, 1, 1 }, { 5, 5, 24, 24, 3, 1, 1, 1 }, { 4, 4, 8, 8, 3, 1, 1, 1 }, { 7, 7, 40, 40, 3, 1, 2, 1 },
        { 5, 5, 17, 17, 3, 1, 1, 1 }, { 3, 3, 9, 9, 3, 0, 1, 1 },
    };
    static const int32_t fc_cin[] = { 1, 4, 15, 16, 17, 31, 32, 33, 47, 48, 64, 144, 159, 160, 161, 256 };
    int p0 = passed, f0 = failed;
    int32_t id = 0;
    for (int fold = 0; fold < 2; fold++) {
        for (size_t i = 0; i < sizeof conv / sizeof conv[0]; i++) {
            const int32_t *c = conv[i];
            eq_conv_params p;
            memset(&p, 0, sizeof p);
            p.batches = 1; p.in_h = c[0]; p.in_w = c[1]; p.in_c = c[2]; p.out_c = c[3];
            p.k_h = p.k_w = c[4];
            p.pad_top = p.pad_left = p.pad_bottom = p.pad_right = c[5];
            p.stride_h = p.stride_w = c[6];
            p.dilation_h = p.dilation_w = 1;
            p.depth_multiplier = 1;
            p.out_h = out_size(p.in_h, p.k_h, p.stride_h, 1, 2 * c[5]);
            p.out_w = out_size(p.in_w, p.k_w, p.stride_w, 1, 2 * c[5]);
            run_conv_case(id++, c[7], p, fold);
        }
        for (size_t i = 0; i < sizeof fc_cin / sizeof fc_cin[0]; i++)
            for (int32_t batches = 1; batches <= 3; batches++) {
                eq_fc_params p;
                memset(&p, 0, sizeof p);
                p.batches = batches; p.cin = fc_cin[i]; p.cout = 4 + (int32_t)i;
                run_fc_case(id++, p, fold);
            }
    }
    printf("edge cases: %d checks passed, %d failed\n", passed - p0, failed - f0);
}

static void run(const char *what, void (*test)(int32_t id, int flag), int flag, int32_t cases)
{
    int p0 = passed, f0 = failed, d0 = declined;
    for (int32_t i = 0; i < cases; i++) test(i, flag);
    printf("%s: %d checks passed, %d failed (%d declined to the reference)\n", what, passed - p0, failed - f0, declined - d0);
}

static void test_fc_case(int32_t id, int flag) { (void)flag; test_fc(id); }
static void test_pool_case(int32_t id, int average) { test_pool(id, average); }

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    eq_board_init();
    printf("optimized paths compiled in:");
    for (int i = 0; i + 1 < N_PATHS; i++) printf(" %s", paths[i].name);
    printf("%s (each checked, then the dispatcher)\n", N_PATHS == 1 ? " none" : "");
    test_quant_math();
#if EQ_USE_MVE
    test_requantize_mve();
#endif
    edge_cases();
    run("conv2d", test_conv, 0, EQ_TEST_CASES);
    run("depthwise_conv2d", test_conv, 1, EQ_TEST_CASES);
    run("fully_connected", test_fc_case, 0, EQ_TEST_CASES);
    run("max_pool2d", test_pool_case, 0, EQ_TEST_CASES);
    run("average_pool2d", test_pool_case, 1, EQ_TEST_CASES);
    run("add", test_add_case, 0, EQ_TEST_CASES);
    run("sub", test_add_case, 1, EQ_TEST_CASES);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
