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

/// F(..., 1) to F(..., N): the column counts of a copy whose widest block is N columns.
#define COLUMNS_3(F, ...) F(__VA_ARGS__, 1) F(__VA_ARGS__, 2) F(__VA_ARGS__, 3)
#define COLUMNS_6(F, ...) COLUMNS_3(F, __VA_ARGS__) F(__VA_ARGS__, 4) F(__VA_ARGS__, 5) F(__VA_ARGS__, 6)
#define COLUMNS_12(F, ...)                                                                        \
    COLUMNS_6(F, __VA_ARGS__) F(__VA_ARGS__, 7) F(__VA_ARGS__, 8) F(__VA_ARGS__, 9) F(__VA_ARGS__, 10) \
    F(__VA_ARGS__, 11) F(__VA_ARGS__, 12)
#define PANEL_ENTRY(SUFFIX, NB) panel_##SUFFIX##_##NB,

#define PANEL_FAMILY(SUFFIX, TARGET, NB_MAX)                                                      \
    COLUMNS_##NB_MAX(PANEL_KERNEL, SUFFIX, TARGET)                                                \
    typedef void (*panel_##SUFFIX##_t)(long, const float *, const float *, long, float *, long, long, int, \
                                       const float *, int);                                       \
    static const panel_##SUFFIX##_t panels_##SUFFIX[NB_MAX + 1] = {0, COLUMNS_##NB_MAX(PANEL_ENTRY, SUFFIX)}; \
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
