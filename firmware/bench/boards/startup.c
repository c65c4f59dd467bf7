/*
 * Minimal start-up for the bench and kernel-test images on the emulated mps2/mps3 boards
 * (qemu-system-arm). Bench-only: the product ports live in firmware/boards/. The vector table
 * holds the initial stack pointer and the reset handler; every fault ends the run through
 * semihosting with exit code 3 so a crash can never pass for a result.
 */
#include <stdint.h>
#include <stdlib.h>

extern uint32_t __data_load[], __data_start[], __data_end[], __bss_start[], __bss_end[], __stack_top[];
extern void initialise_monitor_handles(void);
extern int main(void);

void eq_bench_reset(void);
static void on_fault(void) { exit(3); }

__attribute__((section(".vectors"), used))
static void (*const vectors[16])(void) = {
    (void (*)(void))(uintptr_t)__stack_top, eq_bench_reset,
    on_fault, on_fault, on_fault, on_fault, on_fault, 0, 0, 0, 0, on_fault, on_fault, 0, on_fault, on_fault,
};

void eq_bench_reset(void)
{
#if defined(__ARM_FP) || defined(__ARM_FEATURE_MVE)
    /* CPACR: full access to CP10/CP11 (FPU and MVE) before any vector or FP instruction runs. */
    *(volatile uint32_t *)0xE000ED88u |= 0xFu << 20;
    __asm volatile("dsb\n\tisb" ::: "memory");
#endif
    for (uint32_t *s = __data_load, *d = __data_start; d < __data_end;) *d++ = *s++;
    for (uint32_t *d = __bss_start; d < __bss_end;) *d++ = 0;
    initialise_monitor_handles();
    exit(main());
}
