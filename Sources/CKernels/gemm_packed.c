#include "netc_kernels.h"
#include "instruction_set.h"

// One panel of 16 rows of A against NB columns of B: 16 x NB results in NB vector accumulators
// (one vector per column), each step of k loading one vector of A and broadcasting NB values of B.
// Compiled once per instruction set (AVX-512, AVX2, baseline) and chosen at run time.

/// Sixteen floats, loaded from any float's address.
typedef float v16 __attribute__((vector_size(64), aligned(4)));

#define PANEL_KERNEL(SUFFIX, TARGET, NB)                                                          \
    TARGET static void panel_##SUFFIX##_##NB(long k, const float *panel, const float *b, long ldb,  \
                                              float *c, long ldc, long rows, int accumulate,       \
                                              const float *bias, int relu) {                       \
        v16 acc[NB];                                                                              \
        for (int j = 0; j < NB; j++) acc[j] = (v16){0};                                           \
        for (long kk = 0; kk < k; kk++) {                                                         \
            v16 a = *(const v16 *)(panel + kk * NETC_PANEL_ROWS);                                 \
            const float *row = b + kk * ldb;                                                      \
            for (int j = 0; j < NB; j++) acc[j] += a * row[j];                                    \
        }                                                                                         \
        for (long r = 0; r < rows; r++)                                                           \
            for (int j = 0; j < NB; j++) {                                                        \
                float s = accumulate ? c[r * ldc + j] + acc[j][r] : acc[j][r];                    \
                if (bias) s += bias[r];                                                           \
                c[r * ldc + j] = relu && s <= 0 ? 0 : s; /* max(s, 0), a NaN kept */              \
            }                                                                                     \
    }

#define PANEL_FAMILY(SUFFIX, TARGET, NB_MAX)                                                      \
    PANEL_KERNEL(SUFFIX, TARGET, 1) PANEL_KERNEL(SUFFIX, TARGET, 2) PANEL_KERNEL(SUFFIX, TARGET, 3)  \
    PANEL_KERNEL(SUFFIX, TARGET, 4) PANEL_KERNEL(SUFFIX, TARGET, 5) PANEL_KERNEL(SUFFIX, TARGET, 6)  \
    PANEL_KERNEL(SUFFIX, TARGET, 7) PANEL_KERNEL(SUFFIX, TARGET, 8) PANEL_KERNEL(SUFFIX, TARGET, 9)  \
    PANEL_KERNEL(SUFFIX, TARGET, 10) PANEL_KERNEL(SUFFIX, TARGET, 11) PANEL_KERNEL(SUFFIX, TARGET, 12) \
    typedef void (*panel_##SUFFIX##_t)(long, const float *, const float *, long, float *, long, long, int, \
                                       const float *, int);                                       \
    static const panel_##SUFFIX##_t panels_##SUFFIX[13] = {                                        \
        0, panel_##SUFFIX##_1, panel_##SUFFIX##_2, panel_##SUFFIX##_3, panel_##SUFFIX##_4,         \
        panel_##SUFFIX##_5, panel_##SUFFIX##_6, panel_##SUFFIX##_7, panel_##SUFFIX##_8,            \
        panel_##SUFFIX##_9, panel_##SUFFIX##_10, panel_##SUFFIX##_11, panel_##SUFFIX##_12};        \
    /* Blocks of NB_MAX columns, then the rest in one block: each panel streams ceil(n / NB_MAX) \
       times. */                                                                                  \
    TARGET static void gemm_##SUFFIX(long m, long n, long k, const float *packed, const float *b,  \
                                     long ldb, float *c, long ldc, int accumulate, const float *bias, \
                                     int relu, long p0, long p1) {                                \
        for (long p = p0; p < p1; p++) {                                                          \
            const float *panel = packed + p * k * NETC_PANEL_ROWS;                                \
            long left = m - p * NETC_PANEL_ROWS;                                                  \
            long rows = left < NETC_PANEL_ROWS ? left : NETC_PANEL_ROWS;                          \
            float *cp = c + p * NETC_PANEL_ROWS * ldc;                                            \
            for (long j = 0; j < n; j += NB_MAX) {                                                \
                long nb = n - j < NB_MAX ? n - j : NB_MAX;                                        \
                panels_##SUFFIX[nb](k, panel, b + j, ldb, cp + j, ldc, rows, accumulate,          \
                                    bias ? bias + p * NETC_PANEL_ROWS : 0, relu);                 \
            }                                                                                     \
        }                                                                                         \
    }

// As many columns as leave the accumulators in registers: a vector of 16 floats is one register
// of AVX-512's 32, two of AVX2's 16 and four of SSE's 16, and A's vector takes one more of them
// (AVX2's at 12 spilled them: one core, 512 x 4,608 x 9 ran at 56 GFLOP/s, 256 x 2,304 x 36 at 37;
// at 6, 78 and 78).
PANEL_FAMILY(avx512, __attribute__((target("avx512f"))), 12)
PANEL_FAMILY(avx2, __attribute__((target("avx2,fma"))), 6)
PANEL_FAMILY(baseline, , 3)

void netc_gemm_packed(int instruction_set, long m, long n, long k, const float *packed, const float *b, long ldb,
                      float *c, long ldc, int accumulate, const float *bias, int relu, long first_panel, long end_panel) {
    NETC_DISPATCH_AT(instruction_set, gemm, m, n, k, packed, b, ldb, c, ldc, accumulate, bias, relu, first_panel, end_panel);
}

void netc_pack_panels(long m, long k, const float *a, long lda, float *packed) {
    for (long p = 0; p * NETC_PANEL_ROWS < m; p++)
        for (long kk = 0; kk < k; kk++)
            for (long r = 0; r < NETC_PANEL_ROWS; r++) {
                long row = p * NETC_PANEL_ROWS + r;
                packed[(p * k + kk) * NETC_PANEL_ROWS + r] = row < m ? a[row * lda + kk] : 0;
            }
}
