/* Cortex-M startup shared by the mps2/mps3 ports: vector table, reset handler and fault
 * handler. The reset handler copies .data from flash, zeroes .bss, enables the FPU (and MVE on
 * Armv8.1-M, which shares the CP10/CP11 enables), opens the semihosting console as C stdio and
 * calls main with the semihosting command line (qemu's -semihosting-config arg=...) as
 * argc/argv; main's return value leaves through the semihosting exit call, which qemu turns
 * into its exit code. */
#include <stdint.h>
#include <stdlib.h>

#include "board.h"

extern uint32_t __data_load__[], __data_start__[], __data_end__[];
extern uint32_t __bss_start__[], __bss_end__[];
extern uint32_t __stack_top__[];

extern int main(int argc, char **argv);
extern void __libc_init_array(void);
extern void initialise_monitor_handles(void);
void eq_reset_handler(void);
void eq_fault_handler(void);

void eq_board_init(void)
{
    static int opened;
    if (!opened) {
        initialise_monitor_handles(); /* stdin/stdout/stderr on the semihosting console */
        opened = 1;
    }
}

/* -nostartfiles drops crti/crtn; the C library's init/fini arrays still call these. */
void _init(void) {}
void _fini(void) {}

#define SCB_CPACR (*(volatile uint32_t *)0xE000ED88u)
#define EQ_BOARD_MAX_ARGS 15

/* The semihosting command line (SYS_GET_CMDLINE) split at spaces into argv; argc 0 without one. */
static int board_args(char **argv)
{
    static char line[256];
    struct { char *buffer; uint32_t length; } block = { line, sizeof line - 1 };
    register uint32_t r0 __asm("r0") = 0x15; /* SYS_GET_CMDLINE */
    register void *r1 __asm("r1") = &block;
    __asm volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    int argc = 0;
    if (r0 != 0) return 0;
    line[block.length < sizeof line ? block.length : sizeof line - 1] = '\0';
    for (char *p = line; *p && argc < EQ_BOARD_MAX_ARGS;) {
        while (*p == ' ') *p++ = '\0';
        if (!*p) break;
        argv[argc++] = p;
        while (*p && *p != ' ') p++;
    }
    argv[argc] = 0;
    return argc;
}

/* Architectural exceptions only: the ports use no peripherals and no interrupts. */
__attribute__((section(".vectors"), used))
static void (*const vector_table[16])(void) = {
    (void (*)(void))(uintptr_t)__stack_top__,
    eq_reset_handler,
    eq_fault_handler, /* NMI */
    eq_fault_handler, /* HardFault */
    eq_fault_handler, /* MemManage */
    eq_fault_handler, /* BusFault */
    eq_fault_handler, /* UsageFault */
    eq_fault_handler, /* SecureFault (Armv8-M) */
    0, 0, 0,
    eq_fault_handler, /* SVCall */
    eq_fault_handler, /* DebugMonitor */
    0,
    eq_fault_handler, /* PendSV */
    eq_fault_handler, /* SysTick */
};

__attribute__((noreturn)) void eq_reset_handler(void)
{
#if defined(__ARM_FP) || defined(__ARM_FEATURE_MVE)
    /* CP10 and CP11 full access: the FPU, and on Armv8.1-M the MVE (Helium) unit too. Must
     * happen before any floating-point or vector instruction, including the compiler's. */
    SCB_CPACR |= (0xFu << 20);
    __asm volatile("dsb\n\tisb" ::: "memory");
#endif
    /* Word loops, not memcpy/memset: the C library may not be usable before .data/.bss exist. */
    for (uint32_t *s = __data_load__, *d = __data_start__; d < __data_end__;) *d++ = *s++;
    for (uint32_t *d = __bss_start__; d < __bss_end__;) *d++ = 0;
    __libc_init_array();
    eq_board_init();
    static char *argv[EQ_BOARD_MAX_ARGS + 1];
    exit(main(board_args(argv), argv));
}

/* Any fault or unexpected exception: say so on the semihosting console (SYS_WRITE0, which
 * needs no C library state) and stop with exit code 3, so a crash never looks like success. */
__attribute__((noreturn)) void eq_fault_handler(void)
{
    static const char msg[] = "edgequant board: fault or unexpected exception\n";
    register uint32_t r0 __asm("r0") = 0x04; /* SYS_WRITE0 */
    register const char *r1 __asm("r1") = msg;
    __asm volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    /* SYS_EXIT with ADP_Stopped_RunTimeErrorUnknown (0x20023): qemu exits with status 1. */
    static const uint32_t block[2] = {0x20023u, 3u};
    register uint32_t e0 __asm("r0") = 0x18; /* SYS_EXIT */
    register const uint32_t *e1 __asm("r1") = block;
    __asm volatile("bkpt 0xab" : "+r"(e0) : "r"(e1) : "memory");
    for (;;) {}
}
