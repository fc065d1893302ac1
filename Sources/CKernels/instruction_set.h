#ifndef NETC_INSTRUCTION_SET_H
#define NETC_INSTRUCTION_SET_H

// Every kernel here is compiled once per instruction set (suffixes _avx512, _avx2, _baseline);
// the processor's widest is asked once and each call goes to its copy.

/// 2 for AVX-512, 1 for AVX2 with FMA, 0 for neither.
static inline int netc_instruction_set(void) {
    static int level = -1;
    if (level < 0) {
        __builtin_cpu_init();
        level = __builtin_cpu_supports("avx512f") ? 2 : __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? 1 : 0;
    }
    return level;
}

/// Calls `NAME_avx512(...)`, `NAME_avx2(...)` or `NAME_baseline(...)`, whichever this processor runs.
#define NETC_DISPATCH(NAME, ...)                                                                       \
    do {                                                                                               \
        int level_ = netc_instruction_set();                                                           \
        if (level_ == 2) NAME##_avx512(__VA_ARGS__);                                                   \
        else if (level_ == 1) NAME##_avx2(__VA_ARGS__);                                                \
        else NAME##_baseline(__VA_ARGS__);                                                             \
    } while (0)

/// Calls the copy for `LEVEL` (numbered as `netc_instruction_set` numbers them), or for the
/// processor's widest if `LEVEL` is wider: a test may ask for each copy, never for one that faults.
#define NETC_DISPATCH_AT(LEVEL, NAME, ...)                                                             \
    do {                                                                                               \
        int widest_ = netc_instruction_set(), asked_ = (LEVEL);                                        \
        int level_ = asked_ < widest_ ? asked_ : widest_;                                              \
        if (level_ == 2) NAME##_avx512(__VA_ARGS__);                                                   \
        else if (level_ == 1) NAME##_avx2(__VA_ARGS__);                                                \
        else NAME##_baseline(__VA_ARGS__);                                                             \
    } while (0)

#endif
