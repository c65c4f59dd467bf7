/*
 * libcount: a qemu TCG plugin counting executed guest instructions between markers.
 *
 * qemu 7.2 (Debian 12) ships no qemu-plugin.h, so the few v1 API entries used here are declared
 * by hand below; they match the ABI of qemu 7.2's include/qemu/qemu-plugin.h (API version 1).
 *
 * Counting: every translated block adds its instruction count to one u64 when it starts executing
 * (an inline add, no helper call). qemu ends a block at every branch and delivers interrupts only
 * between blocks, and the benches run with no interrupt source enabled, so the count is exact.
 * Marker: the guest calls a no-inline function whose address is given as `mark=0x...`; every time
 * the instruction at that address executes, the current count is recorded. At exit the plugin
 * prints one line per recorded mark, "eq-mark <index> <count>", to qemu's log (stderr by default).
 * The bench prints region k as the difference of marks 2k+1 and 2k, minus an empty calibration
 * region, so the marker's own call is not counted.
 *
 * Load: qemu-system-arm ... -plugin ./libcount.so,mark=0x1234 (any non-zero Thumb bit is ignored).
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
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
struct qemu_plugin_insn;
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_CB_R_REGS, QEMU_PLUGIN_CB_RW_REGS };
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 };
typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);
typedef void (*qemu_plugin_vcpu_udata_cb_t)(unsigned int vcpu_index, void *userdata);
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb *tb, enum qemu_plugin_op op, void *ptr, uint64_t imm);
void qemu_plugin_register_vcpu_insn_exec_cb(struct qemu_plugin_insn *insn, qemu_plugin_vcpu_udata_cb_t cb,
                                            enum qemu_plugin_cb_flags flags, void *userdata);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb, void *userdata);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *insn);
void qemu_plugin_outs(const char *string);
/* ---- end of the API declarations ---- */

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

#define MAX_MARKS 4096
static uint64_t executed;            /* guest instructions executed so far (single vCPU boards) */
static uint64_t mark_addr;           /* 0: no marker, count the whole run only */
static uint64_t marks[MAX_MARKS];
static unsigned n_marks;
static bool overflow;

static void on_mark(unsigned int vcpu, void *udata)
{
    (void)vcpu; (void)udata;
    if (n_marks < MAX_MARKS) marks[n_marks++] = executed;
    else overflow = true;
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    size_t n = qemu_plugin_tb_n_insns(tb);
    qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &executed, n);
    if (mark_addr == 0) return;
    for (size_t i = 0; i < n; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        if (qemu_plugin_insn_vaddr(insn) == mark_addr)
            qemu_plugin_register_vcpu_insn_exec_cb(insn, on_mark, QEMU_PLUGIN_CB_NO_REGS, NULL);
    }
}

static void on_plugin_exit(qemu_plugin_id_t id, void *udata)
{
    (void)id; (void)udata;
    char line[96];
    for (unsigned i = 0; i < n_marks; i++) {
        snprintf(line, sizeof line, "eq-mark %u %" PRIu64 "\n", i, marks[i]);
        qemu_plugin_outs(line);
    }
    if (overflow) qemu_plugin_outs("eq-mark overflow: more than 4096 marks, the rest were dropped\n");
    snprintf(line, sizeof line, "eq-total %" PRIu64 "\n", executed);
    qemu_plugin_outs(line);
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv)
{
    (void)info;
    for (int i = 0; i < argc; i++) {
        if (strncmp(argv[i], "mark=", 5) == 0) {
            char *end;
            mark_addr = strtoull(argv[i] + 5, &end, 0) & ~(uint64_t)1;
            if (*end != '\0') {
                fprintf(stderr, "libcount: bad argument '%s': expected mark=<address>\n", argv[i]);
                return -1;
            }
        } else {
            fprintf(stderr, "libcount: unknown argument '%s' (known: mark=<address>)\n", argv[i]);
            return -1;
        }
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
    qemu_plugin_register_atexit_cb(id, on_plugin_exit, NULL);
    return 0;
}
