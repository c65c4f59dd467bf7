/*
 * eq_run: runs a blob over many samples in one process.
 *
 *   eq_run MODEL.eqm INPUTS.bin OUTPUTS.bin [--float-in] [--float-out] [--expect EXPECTED.bin] [--max-samples N]
 *
 * INPUTS.bin holds, for each sample, every model input's bytes in input order: int8 tensor bytes
 * (as in tests/zoo/eqm/<name>.input.bin), or with --float-in float32 values (quantized like the
 * C# Interpreter.SetInput). OUTPUTS.bin receives every output's bytes per sample (int8, or float32
 * dequantized with --float-out). --expect compares the int8 outputs with a file byte for byte.
 * Prints one line: "eq_run: N samples, M mismatching bytes" (or the failure) and exits 0 only
 * when everything ran and matched.
 *
 * Only the four eq_run_io.h calls touch files, so a board port links the same main with its
 * own I/O. Buffers are static (sizes below, overridable at compile time): no heap.
 */
#include <string.h>
#include "edgequant.h"
#include "eq_run_io.h"

#ifndef EQ_RUN_MAX_BLOB
#define EQ_RUN_MAX_BLOB (1u << 20)
#endif
#ifndef EQ_RUN_MAX_ARENA
#define EQ_RUN_MAX_ARENA (1u << 20)
#endif
#ifndef EQ_RUN_MAX_IO
#define EQ_RUN_MAX_IO (1u << 18)
#endif

static uint32_t blob_words[EQ_RUN_MAX_BLOB / 4];
static uint32_t arena_words[EQ_RUN_MAX_ARENA / 4];
static uint32_t io_words[EQ_RUN_MAX_IO / 4];
static uint8_t expect_buf[EQ_RUN_MAX_IO];

static void log_num(const char *a, unsigned long v, const char *b)
{
    char digits[24];
    int n = 0;
    char out[160];
    size_t len;
    do { digits[n++] = (char)('0' + v % 10); v /= 10; } while (v > 0 && n < 23);
    len = strlen(a);
    if (len > 100) len = 100;
    memcpy(out, a, len);
    while (n > 0) out[len++] = digits[--n];
    {
        size_t bl = strlen(b);
        if (bl > 40) bl = 40;
        memcpy(out + len, b, bl);
        len += bl;
    }
    out[len] = '\0';
    eq_run_log(out);
}

static int fail_status(const char *what, eq_status s)
{
    eq_run_log("eq_run: ");
    eq_run_log(what);
    eq_run_log(": ");
    eq_run_log(eq_status_str(s));
    eq_run_log("\n");
    return 1;
}

int eq_run_main(int argc, char **argv)
{
    const char *model_path = NULL, *in_path = NULL, *out_path = NULL, *expect_path = NULL;
    int float_in = 0, float_out = 0, a;
    unsigned long max_samples = 0;
    eq_run_file *f, *fin, *fout, *fexp = NULL;
    size_t blob_size;
    eq_model_t model;
    eq_interpreter_t it;
    eq_status s;
    uint32_t n_in, n_out, k, in_bytes = 0, out_bytes = 0, arena;
    unsigned long samples = 0, mismatches = 0;
    uint8_t *io = (uint8_t *)io_words;

    for (a = 1; a < argc; a++)
    {
        if (strcmp(argv[a], "--float-in") == 0) float_in = 1;
        else if (strcmp(argv[a], "--float-out") == 0) float_out = 1;
        else if (strcmp(argv[a], "--expect") == 0 && a + 1 < argc) expect_path = argv[++a];
        else if (strcmp(argv[a], "--max-samples") == 0 && a + 1 < argc)
        {
            const char *d = argv[++a];
            for (max_samples = 0; *d >= '0' && *d <= '9'; d++) max_samples = max_samples * 10 + (unsigned long)(*d - '0');
        }
        else if (!model_path) model_path = argv[a];
        else if (!in_path) in_path = argv[a];
        else if (!out_path) out_path = argv[a];
        else { eq_run_log("eq_run: too many arguments\n"); return 2; }
    }
    if (!out_path)
    {
        eq_run_log("usage: eq_run MODEL.eqm INPUTS.bin OUTPUTS.bin [--float-in] [--float-out] [--expect EXPECTED.bin] [--max-samples N]\n");
        return 2;
    }
    if ((f = eq_run_open(model_path, "rb")) == NULL) { eq_run_log("eq_run: cannot open the model\n"); return 1; }
    blob_size = eq_run_read(f, blob_words, sizeof blob_words);
    eq_run_close(f);
    if (blob_size == sizeof blob_words) { eq_run_log("eq_run: the model is larger than EQ_RUN_MAX_BLOB\n"); return 1; }

    s = eq_model_init(&model, blob_words, blob_size);
    if (s != EQ_OK)
    {
        log_num("eq_run: invalid model: section ", model.error.section, "");
        log_num(", record ", (unsigned long)(model.error.record < 0 ? 0 : model.error.record), "");
        log_num(", byte ", (unsigned long)(model.error.byte_offset < 0 ? 0 : model.error.byte_offset), "\n");
        return fail_status("model", s);
    }
    eq_arena_bytes(&model, &arena);
    if (arena > sizeof arena_words) { log_num("eq_run: the model needs an arena of ", arena, " bytes, more than EQ_RUN_MAX_ARENA\n"); return 1; }
    if ((s = eq_interpreter_init(&it, &model, arena_words, sizeof arena_words)) != EQ_OK) return fail_status("interpreter", s);
    eq_input_count(&model, &n_in);
    eq_output_count(&model, &n_out);
    for (k = 0; k < n_in; k++)
    {
        eq_tensor_t v;
        eq_input(&it, k, &v);
        in_bytes += float_in && (v.type == EQ_TYPE_INT8 || v.type == EQ_TYPE_INT16) ? v.elements * 4u : v.bytes;
    }
    for (k = 0; k < n_out; k++)
    {
        eq_tensor_t v;
        eq_output(&it, k, &v);
        out_bytes += float_out && (v.type == EQ_TYPE_INT8 || v.type == EQ_TYPE_INT16) ? v.elements * 4u : v.bytes;
    }
    if (in_bytes > sizeof io_words || out_bytes > sizeof io_words) { eq_run_log("eq_run: inputs or outputs larger than EQ_RUN_MAX_IO\n"); return 1; }

    if ((fin = eq_run_open(in_path, "rb")) == NULL) { eq_run_log("eq_run: cannot open the inputs\n"); return 1; }
    if ((fout = eq_run_open(out_path, "wb")) == NULL) { eq_run_log("eq_run: cannot create the outputs\n"); return 1; }
    if (expect_path && (fexp = eq_run_open(expect_path, "rb")) == NULL) { eq_run_log("eq_run: cannot open the expected outputs\n"); return 1; }

    for (;;)
    {
        size_t got, off = 0;
        if (max_samples > 0 && samples >= max_samples) break;
        got = eq_run_read(fin, io, in_bytes);
        if (got == 0) break;
        if (got != in_bytes) { eq_run_log("eq_run: the inputs file is not a whole number of samples\n"); return 1; }
        for (k = 0; k < n_in; k++)
        {
            eq_tensor_t v;
            eq_input(&it, k, &v);
            if (float_in && (v.type == EQ_TYPE_INT8 || v.type == EQ_TYPE_INT16))
            {
                if ((s = eq_set_input_f32(&it, k, (const float *)(const void *)(io + off), v.elements)) != EQ_OK) return fail_status("input", s);
                off += v.elements * 4u;
            }
            else
            {
                memcpy(v.data, io + off, v.bytes);
                off += v.bytes;
            }
        }
        if ((s = eq_invoke(&it)) != EQ_OK) return fail_status("invoke", s);
        off = 0;
        for (k = 0; k < n_out; k++)
        {
            eq_tensor_t v;
            eq_output(&it, k, &v);
            if (float_out && (v.type == EQ_TYPE_INT8 || v.type == EQ_TYPE_INT16))
            {
                eq_get_output_f32(&it, k, (float *)(void *)(io + off), v.elements);
                off += v.elements * 4u;
            }
            else
            {
                memcpy(io + off, v.data, v.bytes);
                off += v.bytes;
            }
        }
        if (eq_run_write(fout, io, out_bytes) != out_bytes) { eq_run_log("eq_run: cannot write the outputs\n"); return 1; }
        if (fexp)
        {
            size_t e = eq_run_read(fexp, expect_buf, out_bytes), j;
            if (e != out_bytes) { eq_run_log("eq_run: the expected outputs file has fewer samples than the inputs\n"); return 1; }
            for (j = 0; j < out_bytes; j++) mismatches += expect_buf[j] != io[j];
        }
        samples++;
    }
    eq_run_close(fin);
    eq_run_close(fout);
    if (fexp)
    {
        if ((max_samples == 0 || samples < max_samples) && eq_run_read(fexp, expect_buf, 1) != 0) { eq_run_log("eq_run: the expected outputs file has more samples than the inputs\n"); return 1; }
        eq_run_close(fexp);
    }
    log_num("eq_run: ", samples, " samples, ");
    log_num("", mismatches, " mismatching bytes\n");
    return mismatches == 0 ? 0 : 1;
}

#ifndef EQ_RUN_NO_MAIN
int main(int argc, char **argv) { return eq_run_main(argc, argv); }
#endif
