/* The model bench runner: `edgequant firmware bench MODEL.eqm --board BOARD` links it in place of
 * the board runner (firmware/boards/runner/board_runner.c), with the same model placement (the
 * blob in flash, section .eq_model) and the same static arena.
 *
 * For every sample of input.bin (the raw bytes of input 0, back to back) it runs the model twice
 * on the same input, between calls to eq_bench_mark(), a no-inline function whose first
 * instruction the qemu counting plugin (firmware/bench/plugin/count.c, `mark=ADDR`) watches:
 *
 *   mark 0, mark 1                          an empty region: the cost of the marker calls themselves
 *   per sample s, per op k (k = 0..ops-1):  mark, eq_invoke_op(&it, k), mark
 *   per sample s:                           mark, eq_invoke(&it), mark
 *
 * so each sample adds 2 * ops + 2 marks. Region = difference of its two marks minus the empty
 * region. The ops run one by one read what the op before them wrote (the dataflow of eq_invoke);
 * the input is restored before the whole eq_invoke, since later ops may reuse its arena bytes, so
 * both passes see the same data, and their outputs must be the same bytes (checked here).
 *
 * Console (the CLI parses it):
 *   eq_bench: ops=N samples=S               (exit code 0)
 *   eq_bench: error: WHAT                   (exit code 1 or 2)
 * output.bin receives every output (in output order) of the whole eq_invoke of every sample.
 */
#include <stdio.h>
#include <string.h>

#include "edgequant.h"
#include "eq_run_io.h"

#ifndef EQ_RUNNER_ARENA_BYTES
#error "EQ_RUNNER_ARENA_BYTES must be defined (the model's arena size, from the blob)"
#endif
#ifndef EQ_BENCH_INPUT_BYTES
#error "EQ_BENCH_INPUT_BYTES must be defined (bytes of input 0)"
#endif
#ifndef EQ_BENCH_OUTPUT_BYTES
#error "EQ_BENCH_OUTPUT_BYTES must be defined (bytes of all outputs together)"
#endif

extern const uint8_t eq_model_blob[];
extern const uint8_t eq_model_blob_end[];

static uint8_t arena[EQ_RUNNER_ARENA_BYTES] __attribute__((section(".bss.eq_arena"), aligned(16)));
static eq_model_t model __attribute__((section(".bss.eq_state")));
static eq_interpreter_t interp __attribute__((section(".bss.eq_state")));
static uint8_t sample[EQ_BENCH_INPUT_BYTES] __attribute__((aligned(16)));
static uint8_t by_op[EQ_BENCH_OUTPUT_BYTES] __attribute__((aligned(16)));

static char line[200];

/* The marker: its address is given to the plugin; it must stay a real call. */
__attribute__((noinline)) void eq_bench_mark(void) { __asm volatile("" ::: "memory"); }

static int fail(int code, const char *what, const char *detail)
{
    snprintf(line, sizeof line, "eq_bench: error: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    eq_run_log(line);
    return code;
}

/* Every output's bytes, in output order, into buf (sized EQ_BENCH_OUTPUT_BYTES, checked in main). */
static void gather(uint32_t outputs, uint8_t *buf)
{
    for (uint32_t k = 0; k < outputs; k++) {
        eq_tensor_t out;
        (void)eq_output(&interp, k, &out); /* checked for every k in main */
        memcpy(buf, out.data, out.bytes);
        buf += out.bytes;
    }
}

/* Whether every output's bytes equal buf's (as gather wrote them). */
static int same_as(uint32_t outputs, const uint8_t *buf)
{
    for (uint32_t k = 0; k < outputs; k++) {
        eq_tensor_t out;
        (void)eq_output(&interp, k, &out);
        if (memcmp(buf, out.data, out.bytes) != 0) return 0;
        buf += out.bytes;
    }
    return 1;
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;

    eq_status s = eq_model_init(&model, eq_model_blob, (size_t)(eq_model_blob_end - eq_model_blob));
    if (s != EQ_OK) {
        snprintf(line, sizeof line, "eq_bench: error: the model blob is rejected: %s (section %s, record %ld, byte %ld)\n",
                 eq_status_str(s), eq_section_str(model.error.section), (long)model.error.record, (long)model.error.byte_offset);
        eq_run_log(line);
        return 2;
    }
    if ((s = eq_interpreter_init(&interp, &model, arena, sizeof arena)) != EQ_OK) return fail(2, "eq_interpreter_init", eq_status_str(s));
    uint32_t inputs = 0;
    if ((s = eq_input_count(&model, &inputs)) != EQ_OK || inputs != 1) return fail(2, "the bench runner feeds models with exactly one input", NULL);
    eq_tensor_t in;
    if ((s = eq_input(&interp, 0, &in)) != EQ_OK) return fail(2, "eq_input", eq_status_str(s));
    uint32_t outputs = 0, out_bytes = 0;
    if ((s = eq_output_count(&model, &outputs)) != EQ_OK || outputs == 0) return fail(2, "the model has no output", NULL);
    for (uint32_t k = 0; k < outputs; k++) {
        eq_tensor_t out;
        if ((s = eq_output(&interp, k, &out)) != EQ_OK) return fail(2, "eq_output", eq_status_str(s));
        out_bytes += out.bytes;
    }
    if (in.bytes != sizeof sample || out_bytes != sizeof by_op) return fail(2, "input or output size differs from the one the image was built for", NULL);
    const uint32_t ops = model.op_count;

    eq_run_file *fi = eq_run_open("input.bin", "rb");
    if (!fi) return fail(1, "cannot open input.bin", NULL);
    eq_run_file *fo = eq_run_open("output.bin", "wb");
    if (!fo) return fail(1, "cannot create output.bin", NULL);

    eq_bench_mark();
    eq_bench_mark();
    unsigned long samples = 0;
    for (;;) {
        size_t n = eq_run_read(fi, sample, sizeof sample);
        if (n == 0) break;
        if (n != sizeof sample) {
            snprintf(line, sizeof line, "eq_bench: error: input.bin ends inside sample %lu (%lu of %lu bytes)\n", samples,
                     (unsigned long)n, (unsigned long)sizeof sample);
            eq_run_log(line);
            return 1;
        }
        memcpy(in.data, sample, sizeof sample);
        for (uint32_t k = 0; k < ops; k++) {
            eq_bench_mark();
            s = eq_invoke_op(&interp, k);
            eq_bench_mark();
            if (s != EQ_OK) {
                snprintf(line, sizeof line, "eq_bench: error: eq_invoke_op(%lu) failed on sample %lu: %s\n", (unsigned long)k, samples, eq_status_str(s));
                eq_run_log(line);
                return 2;
            }
        }
        gather(outputs, by_op);
        memcpy(in.data, sample, sizeof sample);
        eq_bench_mark();
        s = eq_invoke(&interp);
        eq_bench_mark();
        if (s != EQ_OK) {
            snprintf(line, sizeof line, "eq_bench: error: eq_invoke failed on sample %lu: %s\n", samples, eq_status_str(s));
            eq_run_log(line);
            return 2;
        }
        if (!same_as(outputs, by_op)) {
            snprintf(line, sizeof line, "eq_bench: error: sample %lu: the ops run one by one and eq_invoke gave different outputs\n", samples);
            eq_run_log(line);
            return 2;
        }
        if (eq_run_write(fo, by_op, sizeof by_op) != sizeof by_op) return fail(1, "writing output.bin failed", NULL);
        samples++;
    }
    eq_run_close(fi);
    if (eq_run_close(fo) != 0) return fail(1, "writing output.bin failed", NULL);
    snprintf(line, sizeof line, "eq_bench: ops=%lu samples=%lu\n", (unsigned long)ops, samples);
    eq_run_log(line);
    return 0;
}
