/*
 * Unit tests of the C runtime's API contract and arithmetic helpers.
 *
 *   test_unit ZOO_DIR LABELS.eqm      (ZOO_DIR: tests/zoo, holding eqm/ and the .npy test data)
 *
 * Each check prints on failure; the closing line is "N passed, N failed" (one per check).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "edgequant.h"
#include "crc32.h"
#include "quant_math.h"
#include "eq_internal.h"
#include "kernels.h"

static int passed, failed;

#define CHECK(cond) do { if (cond) passed++; else { failed++; fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); } } while (0)

static uint8_t *load(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    long n;
    uint8_t *p;
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    /* +4 so a deliberately misaligned copy fits; malloc gives 8+-byte alignment. */
    p = (uint8_t *)malloc((size_t)n + 4);
    if (p && fread(p, 1, (size_t)n, f) != (size_t)n) { free(p); p = NULL; }
    fclose(f);
    *size = (size_t)n;
    return p;
}

static void put32(uint8_t *p, uint32_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24); }
static void fix_crc(uint8_t *b, size_t n) { put32(b + 12, eq_crc32(b + 16, n - 16)); }

static void test_math(void)
{
    CHECK(eq_crc32((const uint8_t *)"123456789", 9) == 0xCBF43926u);
    CHECK(eq_crc32((const uint8_t *)"", 0) == 0u);
    /* SaturatingRoundingDoublingHighMul: the one overflow case, and ties toward +infinity. */
    CHECK(eq_srdhm(INT32_MIN, INT32_MIN) == INT32_MAX);
    CHECK(eq_srdhm(1 << 30, 1 << 30) == 1 << 29);
    CHECK(eq_srdhm(1, 1 << 30) == 1);          /* 0.5 -> 1 */
    CHECK(eq_srdhm(-1, 1 << 30) == 0);         /* -0.5 -> 0 */
    CHECK(eq_srdhm(-3, 1 << 30) == -1);        /* -1.5 -> -1 */
    CHECK(eq_srdhm(INT32_MAX, INT32_MAX) == INT32_MAX - 1);
    CHECK(eq_srdhm(INT32_MIN, INT32_MAX) == -INT32_MAX);
    /* RoundingDivideByPOT: half away from zero. */
    CHECK(eq_rounding_divide_by_pot(3, 1) == 2);
    CHECK(eq_rounding_divide_by_pot(-3, 1) == -2);
    CHECK(eq_rounding_divide_by_pot(5, 2) == 1);
    CHECK(eq_rounding_divide_by_pot(-5, 2) == -1);
    CHECK(eq_rounding_divide_by_pot(-6, 2) == -2);
    CHECK(eq_rounding_divide_by_pot(INT32_MIN, 31) == -1);
    CHECK(eq_rounding_divide_by_pot(INT32_MAX, 31) == 1);
    CHECK(eq_rounding_divide_by_pot(7, 0) == 7);
    /* MultiplyByQuantizedMultiplier: a left shift wraps as C#'s unchecked int does. */
    CHECK(eq_mbqm(100, 1 << 30, 0) == 50);
    CHECK(eq_mbqm(100, 1 << 30, 1) == 100);
    CHECK(eq_mbqm(3, 1 << 30, 30) == eq_srdhm((int32_t)(3u << 30), 1 << 30));
    CHECK(eq_mbqm(1000, INT32_MAX, -31) == 0);
    CHECK(eq_add_wrap(INT32_MAX, 1) == INT32_MIN);
    /* Quantize: round half away from zero, NaN to the zero point, saturation. */
    CHECK(eq_quantize_s8(0.5f, 1.0f, 0) == 1);
    CHECK(eq_quantize_s8(-0.5f, 1.0f, 0) == -1);
    CHECK(eq_quantize_s8(2.5f, 1.0f, 0) == 3);
    CHECK(eq_quantize_s8(-2.4999998f, 1.0f, 0) == -2);
    CHECK(eq_quantize_s8(0.0f / 0.0f, 1.0f, 5) == 5);
    CHECK(eq_quantize_s8(1.0f / 0.0f, 1.0f, -255) == 127);
    CHECK(eq_quantize_s8(-1.0f / 0.0f, 1.0f, 255) == -128);
    CHECK(eq_quantize_s8(1e30f, 1e-30f, 0) == 127);
    CHECK(eq_quantize_s8(0.3f, 0.1f, -128) == -125);
    CHECK(eq_dequantize_s8(-128, 0.5f, -128) == 0.0f);
    CHECK(eq_dequantize_s8(127, 0.25f, 1) == 31.5f);
}

static void test_status_names(void)
{
    int s, t;
    for (s = 0; s <= EQ_ERR_ROUNDING_MODE; s++)
    {
        const char *a = eq_status_str((eq_status)s);
        CHECK(a != NULL && strncmp(a, "EQ_", 3) == 0);
        for (t = 0; t < s; t++) CHECK(strcmp(a, eq_status_str((eq_status)t)) != 0);
    }
    CHECK(strncmp(eq_status_str((eq_status)999), "EQ_ERR_UNKNOWN", 14) == 0);
    CHECK(strcmp(eq_section_str(EQ_SECTION_TENSORS), "Tensors") == 0);
}

static void test_reader_and_api(const char *zoo)
{
    char path[1024];
    size_t n;
    uint8_t *b, *copy;
    eq_model_t m;
    eq_interpreter_t it;
    eq_tensor_t v;
    uint32_t arena_bytes, count;
    static uint32_t arena[64 << 10];
    snprintf(path, sizeof path, "%s/eqm/digits_mlp.eqm", zoo);
    b = load(path, &n);
    CHECK(b != NULL);
    if (!b) return;
    copy = (uint8_t *)malloc(n + 4);
    CHECK(eq_model_init(NULL, b, n) == EQ_ERR_ARGUMENT);
    CHECK(eq_model_init(&m, NULL, n) == EQ_ERR_ARGUMENT);
    CHECK(eq_model_init(&m, b, n) == EQ_OK);
    CHECK(eq_arena_bytes(&m, &arena_bytes) == EQ_OK && arena_bytes == 96);
    CHECK(eq_input_count(&m, &count) == EQ_OK && count == 1);
    CHECK(eq_output_count(&m, &count) == EQ_OK && count == 1);
    /* Misaligned blob: a placement problem, reported as such. */
    memcpy(copy + 1, b, n);
    CHECK(eq_model_init(&m, copy + 1, n) == EQ_ERR_ALIGNMENT);
    /* Header rules, each naming the header. */
    CHECK(eq_model_init(&m, b, 31) == EQ_ERR_HEADER && m.error.section == EQ_SECTION_HEADER);
    CHECK(eq_model_init(&m, b, n - 16) == EQ_ERR_HEADER && m.error.byte_offset == 8);
    memcpy(copy, b, n); copy[0] = 'X';
    CHECK(eq_model_init(&m, copy, n) == EQ_ERR_HEADER && m.error.byte_offset == 0);
    memcpy(copy, b, n); copy[4] = 2;
    CHECK(eq_model_init(&m, copy, n) == EQ_ERR_VERSION);
    memcpy(copy, b, n); copy[6] = 9; /* any minor version is accepted */
    CHECK(eq_model_init(&m, copy, n) == EQ_OK);
    memcpy(copy, b, n); copy[24] ^= 1; /* a reserved header byte: covered by the CRC, otherwise unchecked */
    CHECK(eq_model_init(&m, copy, n) == EQ_ERR_CRC && m.error.byte_offset == 12);
    {
        eq_load_options o;
        memset(&o, 0, sizeof o);
        o.skip_crc = 1;
        CHECK(eq_model_init_ex(&m, copy, n, &o) == EQ_OK); /* SkipCrc */
    }
    memcpy(copy, b, n); put32(copy + 16, 0); fix_crc(copy, n);
    CHECK(eq_model_init(&m, copy, n) == EQ_ERR_HEADER && m.error.byte_offset == 16);
    /* Section table: entry 0 misaligned. */
    memcpy(copy, b, n); put32(copy + 32 + 4, 40); fix_crc(copy, n);
    CHECK(eq_model_init(&m, copy, n) == EQ_ERR_SECTION_TABLE && m.error.section == EQ_SECTION_TABLE && m.error.record == 0);
    /* An unknown section kind is ignored: Metadata (entry 8 in writer order) renamed still loads;
     * Strings (entry 7) renamed leaves the IO names outside an absent Strings section. */
    memcpy(copy, b, n); put32(copy + 32 + 16 * 8, 77); fix_crc(copy, n);
    CHECK(eq_model_init(&m, copy, n) == EQ_OK && m.meta_count == 0);
    memcpy(copy, b, n); put32(copy + 32 + 16 * 7, 77); fix_crc(copy, n);
    CHECK(eq_model_init(&m, copy, n) == EQ_ERR_IO && m.error.section == EQ_SECTION_IO && m.error.record == 0);
    /* Tensors: record 0's rank set to 5. */
    memcpy(copy, b, n);
    {
        uint32_t toff = (uint32_t)copy[36] | ((uint32_t)copy[37] << 8);
        copy[toff + 1] = 5;
        fix_crc(copy, n);
        CHECK(eq_model_init(&m, copy, n) == EQ_ERR_TENSORS && m.error.section == EQ_SECTION_TENSORS && m.error.record == 0
              && m.error.byte_offset == (int32_t)toff);
    }
    /* A rejected model cannot be used. */
    memcpy(copy, b, n); copy[24] ^= 1;
    CHECK(eq_model_init(&m, copy, n) == EQ_ERR_CRC);
    CHECK(eq_interpreter_init(&it, &m, arena, sizeof arena) == EQ_ERR_ARGUMENT);
    CHECK(eq_arena_bytes(&m, &arena_bytes) == EQ_ERR_ARGUMENT);
    CHECK(eq_model_init(&m, b, n) == EQ_OK && eq_interpreter_init(&it, &m, arena, sizeof arena) == EQ_OK);
    CHECK(eq_model_init(&m, copy, n) == EQ_ERR_CRC); /* the same model struct re-initialized with a bad blob */
    CHECK(eq_invoke(&it) == EQ_ERR_ARGUMENT && eq_input(&it, 0, &v) == EQ_ERR_ARGUMENT);
    /* Arena cap. */
    {
        eq_load_options o;
        memset(&o, 0, sizeof o);
        o.max_arena_bytes = 64;
        CHECK(eq_model_init_ex(&m, b, n, &o) == EQ_ERR_MEMORY_PLAN);
        o.max_arena_bytes = 96;
        CHECK(eq_model_init_ex(&m, b, n, &o) == EQ_OK);
    }

    CHECK(eq_model_init(&m, b, n) == EQ_OK);
    CHECK(eq_interpreter_init(&it, &m, arena, 95) == EQ_ERR_ARENA_TOO_SMALL);
    CHECK(eq_interpreter_init(&it, &m, (uint8_t *)arena + 2, 200) == EQ_ERR_ALIGNMENT);
    CHECK(eq_interpreter_init(&it, &m, arena, 96) == EQ_OK);
    CHECK(eq_input(&it, 1, &v) == EQ_ERR_ARGUMENT);
    CHECK(eq_output(&it, 1, &v) == EQ_ERR_ARGUMENT);
    CHECK(eq_invoke_op(&it, 99) == EQ_ERR_ARGUMENT);
    CHECK(eq_input(&it, 0, &v) == EQ_OK && v.type == EQ_TYPE_INT8 && v.rank == 2 && v.dims[0] == 1 && v.dims[1] == 64
          && v.bytes == 64 && v.has_quant && v.scale > 0.0f && v.name_length == 5 && memcmp(v.name, "input", 5) == 0);
    CHECK(eq_output(&it, 0, &v) == EQ_OK && v.elements == 10 && v.name_length == 6 && memcmp(v.name, "logits", 6) == 0);
    {
        const char *val;
        uint32_t len;
        CHECK(eq_metadata(&m, "source_model", &val, &len) == EQ_OK && len == 15 && memcmp(val, "digits_mlp.onnx", 15) == 0);
        CHECK(eq_metadata(&m, "nope", &val, &len) == EQ_ERR_ARGUMENT);
        CHECK(eq_class_name(&m, 0, &val, &len) == EQ_ERR_ARGUMENT); /* no labels in this blob */
    }
    {
        float f[64], out[10];
        int k;
        for (k = 0; k < 64; k++) f[k] = (float)k / 4.0f;
        CHECK(eq_set_input_f32(&it, 0, f, 63) == EQ_ERR_ARGUMENT);
        CHECK(eq_set_input_f32(&it, 0, f, 64) == EQ_OK);
        CHECK(eq_invoke(&it) == EQ_OK);
        CHECK(eq_get_output_f32(&it, 0, out, 10) == EQ_OK);
    }
    free(copy);
    free(b);
}

static void test_labels(const char *labels_path)
{
    size_t n;
    uint8_t *b = load(labels_path, &n);
    eq_model_t m;
    const char *v;
    uint32_t len;
    eq_interpreter_t it;
    eq_tensor_t t;
    static uint32_t arena[256];
    CHECK(b != NULL);
    if (!b) return;
    CHECK(eq_model_init(&m, b, n) == EQ_OK);
    CHECK(eq_class_name(&m, 0, &v, &len) == EQ_OK && len == 3 && memcmp(v, "cat", 3) == 0);
    CHECK(eq_class_name(&m, 2, &v, &len) == EQ_OK && len == 4 && memcmp(v, "bird", 4) == 0);
    CHECK(eq_class_name(&m, 3, &v, &len) == EQ_ERR_ARGUMENT);
    CHECK(eq_metadata(&m, "key", &v, &len) == EQ_OK && len == 6 && memcmp(v, "second", 6) == 0);
    CHECK(eq_metadata(&m, "empty", &v, &len) == EQ_OK && len == 0);
    CHECK(eq_interpreter_init(&it, &m, arena, sizeof arena) == EQ_OK);
    CHECK(eq_input(&it, 0, &t) == EQ_OK && t.source_layout == 1 && t.rank == 4 && t.zero_point == 3 && t.scale == 0.5f);
    free(b);
}

/* The C float quantization (eq_set_input_f32) reproduces the C# Interpreter.SetInput bytes of the zoo's golden inputs. */
static void test_float_inputs(const char *zoo)
{
    static const char *const models[][2] = {
        {"digits_mlp", "digits_mlp.test.npy"}, {"mnist_cnn", "mnist_cnn.test.npy"}, {"fashion_mobilenet", "fashion_mobilenet.test.npy"},
        {"quirk_mlp_softmax", "quirks/mlp_softmax.input.npy"}, {"quirk_nhwc_input", "quirks/nhwc_input.input.npy"},
        {"quirk_unary_mix", "quirks/unary_mix.input.npy"},
    };
    static uint32_t arena[64 << 10];
    size_t k;
    for (k = 0; k < sizeof models / sizeof models[0]; k++)
    {
        char path[1024];
        size_t bn, nn, qn, s, mismatches = 0, samples;
        uint8_t *blob, *npy, *q;
        eq_model_t m;
        eq_interpreter_t it;
        eq_tensor_t v;
        uint32_t header;
        snprintf(path, sizeof path, "%s/eqm/%s.eqm", zoo, models[k][0]);
        blob = load(path, &bn);
        snprintf(path, sizeof path, "%s/%s", zoo, models[k][1]);
        npy = load(path, &nn);
        snprintf(path, sizeof path, "%s/eqm/%s.input.bin", zoo, models[k][0]);
        q = load(path, &qn);
        CHECK(blob && npy && q);
        if (!blob || !npy || !q) continue;
        CHECK(eq_model_init(&m, blob, bn) == EQ_OK);
        CHECK(eq_interpreter_init(&it, &m, arena, sizeof arena) == EQ_OK);
        eq_input(&it, 0, &v);
        header = 10u + (uint32_t)(npy[8] | (npy[9] << 8)); /* NPY v1: magic(6) version(2) header_len(2) header */
        samples = qn / v.bytes;
        CHECK((nn - header) == samples * v.elements * 4u);
        for (s = 0; s < samples && (nn - header) == samples * v.elements * 4u; s++)
        {
            float f[4096];
            memcpy(f, npy + header + s * v.elements * 4u, v.elements * 4u);
            eq_set_input_f32(&it, 0, f, v.elements);
            if (memcmp(v.data, q + s * v.bytes, v.bytes) != 0) mismatches++;
        }
        if (mismatches) fprintf(stderr, "%s: %lu of %lu samples quantize differently from C#\n", models[k][0], (unsigned long)mismatches, (unsigned long)samples);
        CHECK(mismatches == 0);
        free(blob);
        free(npy);
        free(q);
    }
}

/* The folded-bias rule (docs/format.md 5.4): in zoo blobs (the converter folds every dense Conv2D,
 * DepthwiseConv2D and FullyConnected) each fold passes; one changed entry, CRC fixed, is rejected as
 * EQ_ERR_OP_PARAMS naming the Ops section and the op; near the int32 limits the fold must wrap
 * (computed here in 64 bits), a saturated fold is rejected. */
static void test_folded_bias(const char *zoo)
{
    static const char *const models[] = { "digits_mlp", "mnist_cnn", "fashion_mobilenet", "fashion_resnet", "fashion_mobilenetv2" };
    size_t k;
    int folds = 0, depthwise = 0, fc = 0, wraps = 0;
    for (k = 0; k < sizeof models / sizeof models[0]; k++)
    {
        char path[1024];
        size_t n;
        uint8_t *b, *copy;
        eq_model_t m;
        uint32_t i;
        snprintf(path, sizeof path, "%s/eqm/%s.eqm", zoo, models[k]);
        b = load(path, &n);
        CHECK(b != NULL);
        if (!b) continue;
        copy = (uint8_t *)malloc(n);
        CHECK(eq_model_init(&m, b, n) == EQ_OK);
        for (i = 0; i < m.op_count; i++)
        {
            eq_oinfo op;
            eq_tinfo f, bias;
            int32_t fo, off, cout, oc, picked = -1;
            int64_t exact = 0;
            uint32_t at, bias_at;
            int dw;
            eq_oget(&m, i, &op);
            if (op.type != EQ_OP_CONV2D && op.type != EQ_OP_DEPTHWISE_CONV2D && op.type != EQ_OP_FULLY_CONNECTED) continue;
            dw = op.type == EQ_OP_DEPTHWISE_CONV2D;
            fo = eq_param(&op, op.type == EQ_OP_FULLY_CONNECTED ? 6 : 15);
            off = eq_param(&op, op.type == EQ_OP_FULLY_CONNECTED ? 0 : 8);
            if (fo == -1) continue;
            folds++;
            depthwise += dw;
            fc += op.type == EQ_OP_FULLY_CONNECTED;
            eq_tget(&m, (uint32_t)op.in[1], &f);
            eq_tget(&m, (uint32_t)op.in[2], &bias);
            cout = (int32_t)bias.len / 4;
            /* One changed entry. */
            oc = (int32_t)((i * 7u) % (uint32_t)cout);
            at = m.const_off + (uint32_t)fo + 4u * (uint32_t)oc;
            memcpy(copy, b, n);
            copy[at + (i % 4)] ^= (uint8_t)(1u << (i % 8));
            fix_crc(copy, n);
            CHECK(eq_model_init(&m, copy, n) == EQ_ERR_OP_PARAMS && m.error.section == EQ_SECTION_OPS && m.error.record == (int32_t)i);
            /* The wrap: a channel whose input_offset x sum is beyond +-3, its bias moved to 3 from the limit. */
            for (oc = 0; oc < cout && picked < 0; oc++)
            {
                int64_t sum = 0;
                uint32_t t;
                if (dw) for (t = (uint32_t)oc; t < f.len; t += (uint32_t)cout) sum += (int8_t)b[m.const_off + f.off + t];
                else for (t = 0; t < f.len / (uint32_t)cout; t++) sum += (int8_t)b[m.const_off + f.off + (uint32_t)oc * (f.len / (uint32_t)cout) + t];
                if ((int64_t)off * sum > 3 || (int64_t)off * sum < -3)
                {
                    picked = oc;
                    exact = ((int64_t)off * sum > 0 ? (int64_t)INT32_MAX - 3 : (int64_t)INT32_MIN + 3) + (int64_t)off * sum;
                }
            }
            if (picked < 0) continue;
            wraps++;
            at = m.const_off + (uint32_t)fo + 4u * (uint32_t)picked;
            bias_at = m.const_off + bias.off + 4u * (uint32_t)picked;
            memcpy(copy, b, n);
            put32(copy + bias_at, exact > 0 ? (uint32_t)INT32_MAX - 3u : (uint32_t)INT32_MIN + 3u);
            put32(copy + at, (uint32_t)exact);
            fix_crc(copy, n);
            CHECK(eq_model_init(&m, copy, n) == EQ_OK);
            put32(copy + at, exact > 0 ? (uint32_t)INT32_MAX : (uint32_t)INT32_MIN);
            fix_crc(copy, n);
            CHECK(eq_model_init(&m, copy, n) == EQ_ERR_OP_PARAMS && m.error.record == (int32_t)i);
            CHECK(eq_model_init(&m, b, n) == EQ_OK);
        }
        free(copy);
        free(b);
    }
    CHECK(folds >= 10 && depthwise > 0 && fc > 0 && wraps > 0);
}

/* Output offsets the blob sets near the int32 limits: the C# kernels add them with wrapping int arithmetic, so C
 * must wrap too (eq_add_wrap), never overflow (undefined behaviour, which the libFuzzer campaign under UBSan found in
 * BatchMatMul on 2026-12-06). Checked under ASan+UBSan too (tools/firmware-host/check.sh). */
static void test_wrapping_offsets(void)
{
#if EQ_WITH_EXTENDED_OPS
    const int8_t a[2] = { 1, 2 }, b[2] = { 3, 4 };
    int8_t y[1] = { 7 };
    eq_batch_matmul_params mm;
    memset(&mm, 0, sizeof mm);
    mm.a = a; mm.b = b; mm.output = y;
    mm.a_shape[0] = mm.a_shape[1] = mm.a_shape[2] = 1; mm.a_shape[3] = 2;
    mm.b_shape[0] = mm.b_shape[1] = mm.b_shape[2] = 1; mm.b_shape[3] = 2;
    mm.out_shape[0] = mm.out_shape[1] = mm.out_shape[2] = mm.out_shape[3] = 1;
    mm.output_multiplier = 1 << 30; /* x 0.5 with shift 1: the accumulator 1 x 3 + 2 x 4 = 11 back as 11 */
    mm.output_shift = 1;
    mm.output_offset = INT32_MAX;   /* 11 + INT32_MAX wraps to INT32_MIN + 10: clamped to the minimum */
    mm.act_min = -128; mm.act_max = 127;
    eq_batch_matmul_s8(&mm);
    CHECK(y[0] == -128);
    mm.output_offset = INT32_MIN + 5; /* no wrap: far below the minimum */
    eq_batch_matmul_s8(&mm);
    CHECK(y[0] == -128);
    mm.output_offset = -11 + 100;
    eq_batch_matmul_s8(&mm);
    CHECK(y[0] == 100);

    {
        const int8_t x[3] = { 0, 5, -3 };
        int8_t out[1] = { 9 };
        eq_argmax_params am;
        memset(&am, 0, sizeof am);
        am.input = x; am.output = out; am.outer = 1; am.n = 3; am.inner = 1;
        am.output_offset = INT32_MAX; /* index 1 + INT32_MAX wraps to INT32_MIN, whose low byte is 0 as in C#'s (sbyte) */
        eq_argmax_s8(&am);
        CHECK(out[0] == 0);
        am.output_offset = -129; /* 1 - 129 = -128 */
        eq_argmax_s8(&am);
        CHECK(out[0] == -128);
    }
#endif
}

int main(int argc, char **argv)
{
    if (argc < 3) { fprintf(stderr, "usage: test_unit ZOO_DIR LABELS.eqm\n0 passed, 1 failed\n"); return 2; }
    test_math();
    test_wrapping_offsets();
    test_status_names();
    test_reader_and_api(argv[1]);
    test_labels(argv[2]);
    test_float_inputs(argv[1]);
    test_folded_bias(argv[1]);
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
