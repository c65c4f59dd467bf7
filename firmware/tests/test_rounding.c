/*
 * The C runtime under the FPU rounding modes other than round-to-nearest (host only: fesetround).
 *
 *   test_rounding VECTORS.bin ZOO_EQM_DIR
 *
 * Under each of FE_UPWARD, FE_DOWNWARD and FE_TOWARDZERO, every golden case (tests/golden/vectors.bin,
 * the C# reference kernels' bytes) must either give the expected bytes or be refused with
 * EQ_ERR_ROUNDING_MODE, and only a model with a float32 tensor may be refused (the float ops compute
 * with the FPU; the integer ops do not depend on the mode). Every zoo blob (tests/zoo/eqm, int8) must
 * give its committed outputs (its first 100 samples) in every mode, and the float helpers must refuse to convert (writing
 * nothing) and work again once the mode is back. One check per case and mode; a closing line
 * "N passed, N failed".
 */
#include <fenv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "edgequant.h"
#include "golden_cases.h"

#define MAX_BLOB (1u << 20)
#define MAX_IO (1u << 20)
#define MAX_SAMPLES 100u
#define MAX_ARENA (1u << 20)

static uint32_t blob_words[MAX_BLOB / 4];
static uint32_t arena_words[MAX_ARENA / 4];
static uint8_t inputs[MAX_IO], expected[MAX_IO], actual[MAX_IO];
static float values[1u << 16];
static uint8_t before[1u << 16];
static int passed, failed;

static const int modes[3] = { FE_UPWARD, FE_DOWNWARD, FE_TOWARDZERO };
static const char *const mode_names[3] = { "upward", "downward", "toward zero" };

static void check(int ok, const char *what, const char *name, const char *mode)
{
    if (ok) passed++;
    else { failed++; fprintf(stderr, "FAIL %s (%s): %s\n", name, mode, what); }
}

static size_t load(const char *path, void *to, size_t cap)
{
    FILE *f = fopen(path, "rb");
    size_t n;
    if (!f) return 0;
    n = fread(to, 1, cap, f);
    fclose(f);
    return n;
}

/* Whether any input or output of the model is float32. */
static int has_float_io(const eq_model_t *m, const eq_interpreter_t *it)
{
    uint32_t n_in = 0, n_out = 0, k;
    eq_tensor_t v;
    eq_input_count(m, &n_in);
    eq_output_count(m, &n_out);
    for (k = 0; k < n_in; k++)
        if (eq_input(it, k, &v) == EQ_OK && v.type == EQ_TYPE_FLOAT32) return 1;
    for (k = 0; k < n_out; k++)
        if (eq_output(it, k, &v) == EQ_OK && v.type == EQ_TYPE_FLOAT32) return 1;
    return 0;
}

/* Runs `samples` samples (inputs concatenated per sample) into `actual`; the first failing status. */
static eq_status run(eq_interpreter_t *it, const eq_model_t *m, uint32_t samples, uint32_t in_per, uint32_t out_per)
{
    uint32_t n_in = 0, n_out = 0, s, k;
    eq_input_count(m, &n_in);
    eq_output_count(m, &n_out);
    for (s = 0; s < samples; s++)
    {
        uint32_t off = 0;
        eq_status st;
        for (k = 0; k < n_in; k++)
        {
            eq_tensor_t v;
            eq_input(it, k, &v);
            if (off + v.bytes > in_per) return EQ_ERR_ARGUMENT;
            memcpy(v.data, inputs + s * in_per + off, v.bytes);
            off += v.bytes;
        }
        st = eq_invoke(it);
        if (st != EQ_OK) return st;
        off = 0;
        for (k = 0; k < n_out; k++)
        {
            eq_tensor_t v;
            eq_output(it, k, &v);
            if (off + v.bytes > out_per) return EQ_ERR_ARGUMENT;
            memcpy(actual + s * out_per + off, v.data, v.bytes);
            off += v.bytes;
        }
    }
    return EQ_OK;
}

static void golden(const char *path)
{
    eq_run_file *f = eq_run_open(path, "rb");
    uint32_t count, i;
    int refused[3] = { 0, 0, 0 }, md;
    if (!eq_golden_header(f, &count))
    {
        check(0, "cannot read the vectors file", path, "-");
        if (f) eq_run_close(f);
        return;
    }
    for (i = 0; i < count; i++)
    {
        eq_golden_case c;
        const char *name = c.name;
        uint32_t in_per, out_per;
        eq_model_t m;
        eq_interpreter_t it;
        int floats;
        if (!eq_golden_next(f, &c, blob_words, sizeof blob_words, inputs, sizeof inputs, expected, sizeof expected)) break;
        if (eq_model_init(&m, (const uint8_t *)blob_words, c.blob_len) != EQ_OK
            || eq_interpreter_init(&it, &m, arena_words, sizeof arena_words) != EQ_OK || c.samples == 0)
        {
            check(0, "the case does not load", name, "-");
            continue;
        }
        in_per = c.in_len / c.samples;
        out_per = c.out_len / c.samples;
        floats = has_float_io(&m, &it);
        for (md = 0; md < 3; md++)
        {
            eq_status st;
            memset(actual, 0, c.out_len);
            fesetround(modes[md]);
            st = run(&it, &m, c.samples, in_per, out_per);
            fesetround(FE_TONEAREST);
            if (st == EQ_ERR_ROUNDING_MODE)
            {
                refused[md]++;
                check(floats, "refused a model without float32 tensors", name, mode_names[md]);
            }
            else
                check(st == EQ_OK && memcmp(actual, expected, c.out_len) == 0,
                    st == EQ_OK ? "ran and gave other bytes than the C# reference" : eq_status_str(st), name, mode_names[md]);
        }
        /* Back to nearest, the same interpreter runs the case again. */
        check(run(&it, &m, c.samples, in_per, out_per) == EQ_OK && memcmp(actual, expected, c.out_len) == 0,
            "wrong after the mode was restored", name, "to nearest");
    }
    check(i == count, "the vectors file is truncated", path, "-");
    eq_run_close(f);
    /* The float cases exist in the file, so each mode must have refused some (the guard is live). */
    for (md = 0; md < 3; md++) check(refused[md] > 0, "no case refused: the float cases ran", path, mode_names[md]);
    printf("golden cases: %d, %d and %d refused (upward, downward, toward zero) of %u\n", refused[0], refused[1], refused[2], (unsigned)count);
}

static void zoo(const char *dir)
{
    static const char *const names[] = { "digits_mlp", "mnist_cnn", "fashion_mobilenet", "imu_gesture", "fashion_resnet", "fashion_mobilenetv2", "mnist_qat" };
    char path[1024];
    size_t k;
    for (k = 0; k < sizeof names / sizeof names[0]; k++)
    {
        eq_model_t m;
        eq_interpreter_t it;
        eq_tensor_t in, out;
        size_t blob_len, in_len, out_len;
        uint32_t samples;
        int md;
        snprintf(path, sizeof path, "%s/%s.eqm", dir, names[k]);
        blob_len = load(path, blob_words, sizeof blob_words);
        snprintf(path, sizeof path, "%s/%s.input.bin", dir, names[k]);
        in_len = load(path, inputs, sizeof inputs);
        snprintf(path, sizeof path, "%s/%s.output.bin", dir, names[k]);
        out_len = load(path, expected, sizeof expected);
        if (blob_len == 0 || eq_model_init(&m, (const uint8_t *)blob_words, (uint32_t)blob_len) != EQ_OK
            || eq_interpreter_init(&it, &m, arena_words, sizeof arena_words) != EQ_OK
            || eq_input(&it, 0, &in) != EQ_OK || eq_output(&it, 0, &out) != EQ_OK || in.bytes == 0 || in_len % in.bytes != 0)
        {
            check(0, "the zoo blob does not load", names[k], "-");
            continue;
        }
        samples = (uint32_t)(in_len / in.bytes);
        if (out_len != samples * out.bytes)
        {
            check(0, "the outputs file does not match the inputs", names[k], "-");
            continue;
        }
        if (samples > MAX_SAMPLES) samples = MAX_SAMPLES; /* the first 100: enough, and quick */
        if (in.elements > sizeof values / sizeof values[0] || out.elements > sizeof values / sizeof values[0] || in.bytes > sizeof before)
        {
            check(0, "the test's float buffer is too small for the model", names[k], "-");
            continue;
        }
        for (md = 0; md < 3; md++)
        {
            eq_status st, sa, s2, s3;
            uint32_t e;
            for (e = 0; e < in.elements; e++) values[e] = 0.25f * (float)(e % 9) - 1.0f;
            fesetround(modes[md]);
            st = run(&it, &m, samples, in.bytes, out.bytes);
            /* The float helpers convert: refused, nothing written; a wrong argument is still reported as such. */
            memcpy(before, in.data, in.bytes);
            sa = eq_set_input_f32(&it, 0, NULL, in.elements);
            s2 = eq_set_input_f32(&it, 0, values, in.elements);
            s3 = eq_get_output_f32(&it, 0, values, out.elements);
            fesetround(FE_TONEAREST);
            check(st == EQ_OK && memcmp(actual, expected, samples * out.bytes) == 0, st == EQ_OK ? "other bytes" : eq_status_str(st), names[k], mode_names[md]);
            check(sa == EQ_ERR_ARGUMENT, "a NULL buffer was not EQ_ERR_ARGUMENT", names[k], mode_names[md]);
            check(s2 == EQ_ERR_ROUNDING_MODE && s3 == EQ_ERR_ROUNDING_MODE && memcmp(before, in.data, in.bytes) == 0,
                "eq_set_input_f32 / eq_get_output_f32 converted under another mode", names[k], mode_names[md]);
            check(eq_set_input_f32(&it, 0, values, in.elements) == EQ_OK && eq_get_output_f32(&it, 0, values, out.elements) == EQ_OK,
                "the float helpers refused after the mode was restored", names[k], mode_names[md]);
        }
    }
}

int main(int argc, char **argv)
{
    if (argc < 3)
    {
        fprintf(stderr, "usage: test_rounding VECTORS.bin ZOO_EQM_DIR\n");
        printf("0 passed, 1 failed\n");
        return 2;
    }
    golden(argv[1]);
    zoo(argv[2]);
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
