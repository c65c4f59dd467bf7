/* The board runner: one image runs every sample of one model.
 *
 * The model blob is linked into flash (section .eq_model, from the generated model.S), the
 * arena is a static buffer in RAM sized at build time (EQ_RUNNER_ARENA_BYTES, from the blob's
 * memory plan). Samples come from input.bin and results go to output.bin in the current
 * directory: the raw bytes of input 0, samples back to back; per sample, every output's raw bytes
 * in output order (the models it runs have one input; `edgequant firmware run` splits the outputs
 * apart). Files and console go through eq_run's I/O
 * interface (firmware/tools/eq_run_io.h; its stdio implementation is semihosting file I/O on
 * the emulated boards, in qemu's working directory). The stack is painted before each
 * eq_invoke and its high-water mark kept. Unlike eq_run, which loads a blob file into RAM, the
 * model here stays in flash, as on a device.
 *
 * The last console line is the result for the edgequant CLI:
 *   eq_run: samples=N stack_bytes=S      (exit code 0)
 *   eq_run: error: WHAT                  (exit code 1 or 2)
 */
#include <stdio.h>

#include "board.h"
#include "edgequant.h"
#include "eq_run_io.h"

#ifndef EQ_RUNNER_ARENA_BYTES
#error "EQ_RUNNER_ARENA_BYTES must be defined (the model's arena size, from the blob)"
#endif

extern const uint8_t eq_model_blob[];
extern const uint8_t eq_model_blob_end[];

/* The arena, and the model and interpreter state: named sections so the build can report the
 * RAM they take (".bss." keeps them zero-initialised and out of the image). */
static uint8_t arena[EQ_RUNNER_ARENA_BYTES] __attribute__((section(".bss.eq_arena"), aligned(16)));
static eq_model_t model __attribute__((section(".bss.eq_state")));
static eq_interpreter_t interp __attribute__((section(".bss.eq_state")));

static char line[200];

static int fail(int code, const char *what, const char *detail)
{
    snprintf(line, sizeof line, "eq_run: error: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    eq_run_log(line);
    return code;
}

int main(int argc, char **argv)
{
    (void)argc; /* the file names are fixed: input.bin and output.bin in the working directory */
    (void)argv;

    eq_status s = eq_model_init(&model, eq_model_blob, (size_t)(eq_model_blob_end - eq_model_blob));
    if (s != EQ_OK) {
        snprintf(line, sizeof line, "eq_run: error: the model blob is rejected: %s (section %s, record %ld, byte %ld)\n",
                 eq_status_str(s), eq_section_str(model.error.section), (long)model.error.record, (long)model.error.byte_offset);
        eq_run_log(line);
        return 2;
    }
    uint32_t need = 0;
    if ((s = eq_arena_bytes(&model, &need)) != EQ_OK) return fail(2, "eq_arena_bytes", eq_status_str(s));
    if (need > sizeof arena) {
        snprintf(line, sizeof line, "eq_run: error: the model needs an arena of %lu bytes, the image has %lu\n",
                 (unsigned long)need, (unsigned long)sizeof arena);
        eq_run_log(line);
        return 2;
    }
    if ((s = eq_interpreter_init(&interp, &model, arena, sizeof arena)) != EQ_OK) return fail(2, "eq_interpreter_init", eq_status_str(s));
    uint32_t inputs = 0;
    if ((s = eq_input_count(&model, &inputs)) != EQ_OK || inputs != 1) return fail(2, "the board runner feeds models with exactly one input", NULL);
    eq_tensor_t in;
    if ((s = eq_input(&interp, 0, &in)) != EQ_OK) return fail(2, "eq_input", eq_status_str(s));
    uint32_t outputs = 0;
    if ((s = eq_output_count(&model, &outputs)) != EQ_OK || outputs == 0) return fail(2, "the model has no output", NULL);

    eq_run_file *fi = eq_run_open("input.bin", "rb");
    if (!fi) return fail(1, "cannot open input.bin", NULL);
    eq_run_file *fo = eq_run_open("output.bin", "wb");
    if (!fo) return fail(1, "cannot create output.bin", NULL);

    unsigned long samples = 0;
    size_t stack_max = 0;
    for (;;) {
        size_t n = eq_run_read(fi, in.data, in.bytes);
        if (n == 0) break;
        if (n != in.bytes) {
            snprintf(line, sizeof line, "eq_run: error: input.bin ends inside sample %lu (%lu of %lu bytes)\n", samples,
                     (unsigned long)n, (unsigned long)in.bytes);
            eq_run_log(line);
            return 1;
        }
        eq_board_stack_paint();
        s = eq_invoke(&interp);
        size_t used = eq_board_stack_used();
        if (used > stack_max) stack_max = used;
        if (s != EQ_OK) {
            snprintf(line, sizeof line, "eq_run: error: eq_invoke failed on sample %lu: %s\n", samples, eq_status_str(s));
            eq_run_log(line);
            return 2;
        }
        for (uint32_t k = 0; k < outputs; k++) {
            eq_tensor_t out;
            if ((s = eq_output(&interp, k, &out)) != EQ_OK) return fail(2, "eq_output", eq_status_str(s));
            if (eq_run_write(fo, out.data, out.bytes) != out.bytes) return fail(1, "writing output.bin failed", NULL);
        }
        samples++;
    }
    eq_run_close(fi);
    if (eq_run_close(fo) != 0) return fail(1, "writing output.bin failed", NULL);
    snprintf(line, sizeof line, "eq_run: samples=%lu stack_bytes=%lu\n", samples, (unsigned long)stack_max);
    eq_run_log(line);
    return 0;
}
