/*
 * libprofileblocks: a qemu TCG plugin for user-mode qemu that attributes the main thread's executed
 * instructions to guest code addresses, for bench/profile.sh (which names the .NET methods at those
 * addresses through the runtime's perf map).
 *
 * Counting happens on vCPU 0 (the main thread) only, and only inside a window opened and closed by the
 * marks of bench/EdgeQuant.InstructionCount (getppid system calls, `syscall=<number>`): with
 * `window=<k>`, between mark k and mark k + 1 (the runner's marks 2-3 bracket its Invokes, then two per
 * op with --per-op). Each translated block gets its own record (start address, instructions) and an
 * execution counter written only by vCPU 0's callback.
 *
 * Output at exit (qemu's log, -d plugin -D FILE): "eq-block <address hex> <instructions> <executions>"
 * for every block executed in the window.
 *
 * As count_threads.c, the few qemu 7.2 plugin API v1 entries used are declared by hand.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- qemu 7.2 plugin API v1, declared by hand ---- */
#define QEMU_PLUGIN_EXPORT __attribute__((visibility("default")))
#define QEMU_PLUGIN_VERSION 1
typedef uint64_t qemu_plugin_id_t;
typedef struct {
    const char *target_name;
    struct { int min; int cur; } version;
    bool system_emulation;
    union { struct { int smp_vcpus; int max_vcpus; } system; };
} qemu_info_t;
struct qemu_plugin_tb;
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_CB_R_REGS, QEMU_PLUGIN_CB_RW_REGS };
typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);
typedef void (*qemu_plugin_vcpu_udata_cb_t)(unsigned int vcpu_index, void *userdata);
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
typedef void (*qemu_plugin_vcpu_syscall_cb_t)(qemu_plugin_id_t id, unsigned int vcpu_index, int64_t num,
                                              uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4,
                                              uint64_t a5, uint64_t a6, uint64_t a7, uint64_t a8);
void qemu_plugin_register_vcpu_syscall_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_syscall_cb_t cb);
void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
void qemu_plugin_register_vcpu_tb_exec_cb(struct qemu_plugin_tb *tb, qemu_plugin_vcpu_udata_cb_t cb,
                                          enum qemu_plugin_cb_flags flags, void *userdata);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb, void *userdata);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *tb);
void qemu_plugin_outs(const char *string);
/* ---- end of the API declarations ---- */

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

struct block { uint64_t vaddr; uint64_t insns; uint64_t executed; struct block *next; };
static struct block *blocks;          /* every translated block; pushed under the lock-free CAS below */
static int64_t mark_syscall = -1;
static long window = 2;               /* count between mark `window` and mark `window` + 1 */
static long marks_seen;               /* vCPU 0's marks */
static bool active;

static void on_syscall(qemu_plugin_id_t id, unsigned int vcpu, int64_t num, uint64_t a1, uint64_t a2,
                       uint64_t a3, uint64_t a4, uint64_t a5, uint64_t a6, uint64_t a7, uint64_t a8)
{
    (void)id; (void)a1; (void)a2; (void)a3; (void)a4; (void)a5; (void)a6; (void)a7; (void)a8;
    if (num != mark_syscall || vcpu != 0) return;
    active = marks_seen == window;
    marks_seen++;
}

static void on_block(unsigned int vcpu, void *udata)
{
    if (vcpu != 0 || !active) return;
    ((struct block *)udata)->executed++;
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    struct block *b = calloc(1, sizeof *b);
    if (!b) return;
    b->vaddr = qemu_plugin_tb_vaddr(tb);
    b->insns = qemu_plugin_tb_n_insns(tb);
    b->next = __atomic_load_n(&blocks, __ATOMIC_ACQUIRE);
    while (!__atomic_compare_exchange_n(&blocks, &b->next, b, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {}
    qemu_plugin_register_vcpu_tb_exec_cb(tb, on_block, QEMU_PLUGIN_CB_NO_REGS, b);
}

static void on_plugin_exit(qemu_plugin_id_t id, void *udata)
{
    (void)id; (void)udata;
    char line[96];
    for (struct block *b = blocks; b; b = b->next) {
        if (b->executed == 0) continue;
        snprintf(line, sizeof line, "eq-block %" PRIx64 " %" PRIu64 " %" PRIu64 "\n", b->vaddr, b->insns, b->executed);
        qemu_plugin_outs(line);
    }
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv)
{
    (void)info;
    for (int i = 0; i < argc; i++) {
        char *end;
        if (strncmp(argv[i], "syscall=", 8) == 0 && (mark_syscall = strtoll(argv[i] + 8, &end, 0), *end == '\0' && end != argv[i] + 8))
            continue;
        if (strncmp(argv[i], "window=", 7) == 0 && (window = strtol(argv[i] + 7, &end, 0), *end == '\0' && end != argv[i] + 7 && window >= 0))
            continue;
        fprintf(stderr, "libprofileblocks: bad argument '%s' (known: syscall=<number>, window=<mark index>)\n", argv[i]);
        return -1;
    }
    if (mark_syscall < 0) {
        fprintf(stderr, "libprofileblocks: syscall=<number> is required (the marks open and close the window)\n");
        return -1;
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
    qemu_plugin_register_vcpu_syscall_cb(id, on_syscall);
    qemu_plugin_register_atexit_cb(id, on_plugin_exit, NULL);
    return 0;
}
