/* Stack painting for the emulated boards: the unused stack is filled with a pattern before
 * the measured call, and the deepest overwritten word afterwards gives the high-water mark. */
#include "board.h"

extern uint32_t __stack_limit__[], __stack_top__[];

#define EQ_STACK_PATTERN 0xC5A5C5A5u

static uint32_t *painted_top; /* the caller's stack pointer at painting time */

__attribute__((noinline)) void eq_board_stack_paint(void)
{
    uintptr_t sp;
    __asm volatile("mov %0, sp" : "=r"(sp));
    /* Below this function's stack pointer (less a margin for the loop itself) nothing is in
     * use. The caller's stack pointer is at most this function's small frame above it: the
     * reference point is rounded up by 32 bytes, so a reported figure errs high, never low. */
    uint32_t *top = (uint32_t *)(sp & ~(uintptr_t)3u) - 16;
    painted_top = (uint32_t *)(sp & ~(uintptr_t)3u) + 8;
    for (uint32_t *p = __stack_limit__; p < top; p++) *(volatile uint32_t *)p = EQ_STACK_PATTERN;
}

size_t eq_board_stack_used(void)
{
    uint32_t *p = __stack_limit__;
    while (p < painted_top && *p == EQ_STACK_PATTERN) p++;
    if (p == __stack_limit__) return eq_board_stack_size(); /* overflowed the painted area */
    return (size_t)((uintptr_t)painted_top - (uintptr_t)p);
}

size_t eq_board_stack_size(void)
{
    return (size_t)((uintptr_t)__stack_top__ - (uintptr_t)__stack_limit__);
}
