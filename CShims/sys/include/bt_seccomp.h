// libseccomp for the parent side (Swift builds the filter and exports it as BPF), with the
// argument-taking macros spelled as functions Swift can call.
#ifndef BT_SECCOMP_H
#define BT_SECCOMP_H

#include <seccomp.h>
#include <stdint.h>

static inline uint32_t bt_scmp_act_errno(uint16_t error) { return SCMP_ACT_ERRNO(error); }
static inline uint32_t bt_scmp_act_allow(void) { return SCMP_ACT_ALLOW; }
static inline uint32_t bt_scmp_act_kill_process(void) { return SCMP_ACT_KILL_PROCESS; }
static inline uint32_t bt_scmp_arch_native(void) { return SCMP_ARCH_NATIVE; }

/// A comparison of syscall argument `arg` (masked with `mask` when op is SCMP_CMP_MASKED_EQ).
static inline struct scmp_arg_cmp bt_scmp_arg(unsigned arg, enum scmp_compare op, uint64_t a, uint64_t b) {
    struct scmp_arg_cmp cmp = {arg, op, a, b};
    return cmp;
}

#endif
