/*
 * libcountthreads: a qemu TCG plugin for user-mode qemu (qemu-aarch64, qemu-x86_64) counting the
 * executed guest instructions of each guest thread.
 *
 * firmware/bench/plugin/count.c counts into one global with an inline add, exact on the single-core
 * boards it was written for. A .NET process has several threads (the finalizer, the GC, the
 * runtime's own), which user-mode qemu runs in parallel: unsynchronised adds to one counter lose
 * updates, and the other threads' work varies from run to run. This plugin counts per vCPU (in user
 * mode one vCPU per guest thread, the main thread being vCPU 0) from a per-block callback: each
 * counter is only written by its own thread, so no update is lost, and the main thread's count does
 * not include the others'. The bench reads the main thread's count.
 *
 * qemu 7.2 (Debian 12) ships no qemu-plugin.h; the few v1 API entries used here are declared by hand
 * below, matching qemu 7.2's include/qemu/qemu-plugin.h (API version 1).
 *
 * Marks: with `syscall=<number>`, every time a guest thread makes that system call (the bench's
 * runner calls getppid, which nothing else in the process calls: 173 on aarch64, 110 on x86_64), the
 * calling thread's count so far is recorded. The runner brackets each measured loop with two calls,
 * so a loop's count is the difference of two marks, from one run; the few hundred instructions of the
 * call itself are spread over the loop's iterations.
 *
 * Output at exit (to qemu's log, -d plugin -D FILE): "eq-mark <index> <vcpu> <count>" per mark,
 * "eq-thread <vcpu> <count>" per thread that ran, then "eq-total <count>".
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
void qemu_plugin_outs(const char *string);
/* ---- end of the API declarations ---- */

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

#define MAX_THREADS 256
/* One counter per vCPU, each on its own cache line; written only by its own thread. */
static struct { uint64_t n; char pad[56]; } executed[MAX_THREADS];
static uint64_t lost;                 /* blocks of threads beyond MAX_THREADS (reported, never expected) */
#define MAX_MARKS 4096
static int64_t mark_syscall = -1;     /* -1: no marks */
static struct { unsigned vcpu; uint64_t count; } marks[MAX_MARKS];
static unsigned n_marks;              /* guarded by the atomic increment below */
static bool overflow;

static void on_syscall(qemu_plugin_id_t id, unsigned int vcpu, int64_t num, uint64_t a1, uint64_t a2,
                       uint64_t a3, uint64_t a4, uint64_t a5, uint64_t a6, uint64_t a7, uint64_t a8)
{
    (void)id; (void)a1; (void)a2; (void)a3; (void)a4; (void)a5; (void)a6; (void)a7; (void)a8;
    if (num != mark_syscall || vcpu >= MAX_THREADS) return;
    unsigned i = __atomic_fetch_add(&n_marks, 1, __ATOMIC_RELAXED);
    if (i >= MAX_MARKS) { overflow = true; return; }
    marks[i].vcpu = vcpu;
    marks[i].count = executed[vcpu].n;
}

static void on_block(unsigned int vcpu, void *udata)
{
    uint64_t n = (uint64_t)(uintptr_t)udata;
    if (vcpu < MAX_THREADS) executed[vcpu].n += n;
    else __atomic_fetch_add(&lost, n, __ATOMIC_RELAXED);
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    qemu_plugin_register_vcpu_tb_exec_cb(tb, on_block, QEMU_PLUGIN_CB_NO_REGS,
                                         (void *)(uintptr_t)qemu_plugin_tb_n_insns(tb));
}

static void on_plugin_exit(qemu_plugin_id_t id, void *udata)
{
    (void)id; (void)udata;
    char line[96];
    uint64_t total = lost;
    for (unsigned i = 0; i < n_marks && i < MAX_MARKS; i++) {
        snprintf(line, sizeof line, "eq-mark %u %u %" PRIu64 "\n", i, marks[i].vcpu, marks[i].count);
        qemu_plugin_outs(line);
    }
    if (overflow) qemu_plugin_outs("eq-mark overflow: more than 4096 marks, the rest were dropped\n");
    for (unsigned i = 0; i < MAX_THREADS; i++) {
        if (executed[i].n == 0) continue;
        snprintf(line, sizeof line, "eq-thread %u %" PRIu64 "\n", i, executed[i].n);
        qemu_plugin_outs(line);
        total += executed[i].n;
    }
    if (lost) {
        snprintf(line, sizeof line, "eq-lost %" PRIu64 " (threads beyond %d)\n", lost, MAX_THREADS);
        qemu_plugin_outs(line);
    }
    snprintf(line, sizeof line, "eq-total %" PRIu64 "\n", total);
    qemu_plugin_outs(line);
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv)
{
    (void)info;
    for (int i = 0; i < argc; i++) {
        char *end;
        if (strncmp(argv[i], "syscall=", 8) == 0 && (mark_syscall = strtoll(argv[i] + 8, &end, 0), *end == '\0' && end != argv[i] + 8))
            continue;
        fprintf(stderr, "libcountthreads: bad argument '%s' (known: syscall=<number>)\n", argv[i]);
        return -1;
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
    if (mark_syscall >= 0) qemu_plugin_register_vcpu_syscall_cb(id, on_syscall);
    qemu_plugin_register_atexit_cb(id, on_plugin_exit, NULL);
    return 0;
}
