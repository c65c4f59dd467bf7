/* EdgeQuant board ports: the little a board port provides to the programs built on it.
 *
 * A port is startup code (vector table, reset handler: data/bss set-up, FPU/MVE enable),
 * a linker script and the console (the startup code opens it as C stdio before main, and
 * passes the semihosting command line as argc/argv). Everything else (the runtime, the
 * kernels, the runner, the tests) is board-independent: a plain C main runs unchanged. */
#ifndef EQ_BOARD_H
#define EQ_BOARD_H

#include <stddef.h>
#include <stdint.h>

/* Opens the console: semihosting stdin/stdout/stderr on the emulated boards, nothing on host.
 * The startup code calls it before main; calling it again does nothing. */
void eq_board_init(void);

/* Fills the unused stack below the caller's frame with a known pattern. Call it right before
 * the code to measure, then eq_board_stack_used() right after. Returns 0 on host (no painted
 * stack there). */
void eq_board_stack_paint(void);

/* Bytes of stack used below the point where eq_board_stack_paint was called, found as the
 * deepest word that no longer holds the pattern (a high-water mark; a lower bound only if
 * code wrote the pattern value itself, which the pattern makes unlikely). */
size_t eq_board_stack_used(void);

/* Total stack reserved by the linker script, for reports (0 on host). */
size_t eq_board_stack_size(void);

#endif
