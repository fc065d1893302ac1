#include "netc_kernels.h"
#include "instruction_set.h"
#include <stdlib.h>

// A GEMM for shallow products: C[m, n] (+)= A[m, k] x B[k, n] with k small (a 7x7 stem on one
// channel: 49) and n large. Each tile of RB rows x NV*16 columns keeps its results in registers
// for the whole sum over k, loading NV vectors of a row of B and broadcasting RB values of A per
// step; the B tile (k x NV*16) stays in L1 while every row block of A passes over it. OpenBLAS
// packs both matrices first, which a sum of 49 products does not repay. Compiled once per
// instruction set (AVX-512, AVX2, baseline) and chosen at run time.

/// Sixteen floats, loaded from and stored to any float's address; and their comparison masks.
typedef float v16 __attribute__((vector_size(64), aligned(4)));
typedef int m16 __attribute__((vector_size(64)));

// The epilogue on a result: + bias (if any), then ReLU as max(x, 0) that keeps a NaN (its comparison
// is false) and turns -0 into +0, as the Swift epilogue does.
#define FINISH(V, BIAS, RELU)                                                                          \
    do {                                                                                               \
        if (BIAS) V += *(BIAS);                                                                        \
        if (RELU) V = (__typeof__(V))((m16)(V) & ~(m16)(V <= 0));                                      \
    } while (0)

#define TILE(NAME, TARGET, RB, NV)                                                                     \
    TARGET static void NAME(long k, const float *a, long ars, long aks,         \
                                                   const float *b, long ldb, float *c, long ldc,       \
                                                   int accumulate, const float *bias, int relu) {      \
        v16 acc[RB][NV];                                                                               \
        for (int r = 0; r < RB; r++)                                                                   \
            for (int v = 0; v < NV; v++) acc[r][v] = (v16){0};                                         \
        for (long kk = 0; kk < k; kk++) {                                                              \
            v16 bv[NV];                                                                                \
            for (int v = 0; v < NV; v++) bv[v] = *(const v16 *)(b + kk * ldb + 16 * v);               \
            /* The next tile's B, a row per step: rows of B lie far apart, too many streams for the \
               hardware prefetcher to follow. */                                                       \
            for (int v = 0; v < NV; v++) __builtin_prefetch(b + kk * ldb + 16 * (NV + v));            \
            for (int r = 0; r < RB; r++) {                                                             \
                float s = a[r * ars + kk * aks];                                                       \
                for (int v = 0; v < NV; v++) acc[r][v] += s * bv[v];                                   \
            }                                                                                          \
        }                                                                                              \
        /* Unrolled whole, or the compiler indexes acc in memory: a stack copy of every tile. */    \
        _Pragma("clang loop unroll(full)") for (int r = 0; r < RB; r++)                                \
            _Pragma("clang loop unroll(full)") for (int v = 0; v < NV; v++) {                          \
                v16 *out = (v16 *)(c + r * ldc + 16 * v);                                              \
                v16 sum = accumulate ? *out + acc[r][v] : acc[r][v];                                   \
                FINISH(sum, bias ? bias + r : 0, relu);                                                 \
                *out = sum;                                                                            \
            }                                                                                          \
    }

/* Columns [j0, j1): blocks of NV*16, then of 16, then one at a time; within a block, rows RB at a
   time, then 4, then one at a time (a lone row's few sums wait on each other's latency). Every
   element sums over k in order, whatever the split.
   The row blocks of A are first packed so that each step of the sum reads its RB values from one
   place ([block][k][RB]): read where they lie, they are RB rows apart, and once A outgrows L1
   beside the B tile (128 x 64 does) every step waits on RB lines from L2 (80 GFLOP/s against 120).
   With PACK_B each wide block of B is also copied to a buffer of its own first: a tile of one line
   a row (AVX2's 16 columns) reads k lines that lie a 4 KiB multiple apart when B is a CNHW
   activation (ResNeXt's 128 x 576 pixels a channel), which share one L1 set and a few L2 sets and
   are fetched again for every row block (one core, 64 x 64 over 36,864 columns: 41 -> 66 GFLOP/s).
   The copy prefetches the next block's lines into L2 only: into L1, the same sets, they evicted
   each other (64 x 64 over 73,728 columns 5-8% faster). AVX-512's tile reads three lines a row in
   8 rows a block, and ran slower packed. */
#define SHALLOW_FAMILY(SUFFIX, TARGET, RB, NV, PACK_B)                                                 \
    TILE(wide_##SUFFIX, TARGET, RB, NV) TILE(wide_four_##SUFFIX, TARGET, 4, NV)                        \
    TILE(wide_row_##SUFFIX, TARGET, 1, NV)                                                             \
    TILE(narrow_##SUFFIX, TARGET, RB, 1) TILE(narrow_row_##SUFFIX, TARGET, 1, 1)                       \
    TARGET static void shallow_##SUFFIX(long m, long k, const float *a, long ars, long aks,            \
                                        const float *b, long ldb, float *c, long ldc, int accumulate,  \
                                        const float *bias, int relu, long j0, long j1) {               \
        long blocks = m / RB;                                                                          \
        float *packed = blocks ? malloc(sizeof(float) * (size_t)(blocks * RB * k)) : 0;               \
        if (packed)                                                                                    \
            for (long rb = 0; rb < blocks; rb++)                                                       \
                for (long kk = 0; kk < k; kk++)                                                        \
                    for (int i = 0; i < RB; i++) packed[(rb * k + kk) * RB + i] = a[(rb * RB + i) * ars + kk * aks]; \
        long j = j0;                                                                                   \
        float *tile = PACK_B ? malloc(sizeof(float) * (size_t)(k * 16 * NV)) : 0;                      \
        for (; j + 16 * NV <= j1; j += 16 * NV) {                                                      \
            /* B's block as it lies, or its copy (prefetching the next block's lines meanwhile). */  \
            const float *bj = b + j;                                                                   \
            long ldbj = ldb;                                                                           \
            if (tile) {                                                                                \
                for (long kk = 0; kk < k; kk++)                                                        \
                    for (int v = 0; v < NV; v++) {                                                     \
                        *(v16 *)(tile + (kk * NV + v) * 16) = *(const v16 *)(bj + kk * ldb + 16 * v);  \
                        __builtin_prefetch(bj + kk * ldb + 16 * (NV + v), 0, 2);                       \
                    }                                                                                  \
                bj = tile, ldbj = 16 * NV;                                                             \
            }                                                                                          \
            long r = 0;                                                                                \
            for (; r + RB <= m; r += RB) {                                                             \
                /* The row block packed, or where it lies if there was no memory to pack it. */        \
                wide_##SUFFIX(k, packed ? packed + r * k : a + r * ars, packed ? 1 : ars, packed ? RB : aks, \
                               bj, ldbj, c + r * ldc + j, ldc, accumulate, bias ? bias + r : 0, relu); \
            }                                                                                          \
            if (RB > 4)                                                                                \
                for (; r + 4 <= m; r += 4)                                                             \
                    wide_four_##SUFFIX(k, a + r * ars, ars, aks, bj, ldbj, c + r * ldc + j, ldc, accumulate, \
                                       bias ? bias + r : 0, relu);                                      \
            for (; r < m; r++)                                                                         \
                wide_row_##SUFFIX(k, a + r * ars, ars, aks, bj, ldbj, c + r * ldc + j, ldc, accumulate, bias ? bias + r : 0, relu); \
        }                                                                                              \
        free(tile);                                                                                    \
        for (; j + 16 <= j1; j += 16) {                                                                \
            long r = 0;                                                                                \
            for (; r + RB <= m; r += RB) {                                                             \
                narrow_##SUFFIX(k, packed ? packed + r * k : a + r * ars, packed ? 1 : ars, packed ? RB : aks, \
                                 b + j, ldb, c + r * ldc + j, ldc, accumulate, bias ? bias + r : 0, relu); \
            }                                                                                          \
            for (; r < m; r++)                                                                         \
                narrow_row_##SUFFIX(k, a + r * ars, ars, aks, b + j, ldb, c + r * ldc + j, ldc, accumulate, bias ? bias + r : 0, relu); \
        }                                                                                              \
        for (; j < j1; j++)                                                                            \
            for (long r = 0; r < m; r++) {                                                             \
                float s = 0;                                                                           \
                for (long kk = 0; kk < k; kk++) s += a[r * ars + kk * aks] * b[kk * ldb + j];        \
                s = accumulate ? c[r * ldc + j] + s : s;                                               \
                if (bias) s += bias[r];                                                                \
                c[r * ldc + j] = relu && s <= 0 ? 0 : s;                                               \
            }                                                                                          \
        free(packed);                                                                                  \
    }

// Registers: AVX-512 has 32 of 16 floats (24 results + 3 of B); AVX2 16 of 8 (6 x 2 + 2).
SHALLOW_FAMILY(avx512, __attribute__((target("avx512f"))), 8, 3, 0)
SHALLOW_FAMILY(avx2, __attribute__((target("avx2,fma"))), 6, 1, 1)
SHALLOW_FAMILY(baseline, , 4, 1, 1)

void netc_gemm_shallow(int instruction_set, long m, long k, const float *a, long a_row_stride, long a_k_stride,
                       const float *b, long ldb, float *c, long ldc, int accumulate, const float *bias, int relu,
                       long first_column, long end_column) {
    NETC_DISPATCH_AT(instruction_set, shallow, m, k, a, a_row_stride, a_k_stride, b, ldb, c, ldc, accumulate, bias, relu, first_column, end_column);
}
