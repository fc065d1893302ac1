#include "netc_kernels.h"
#include "instruction_set.h"

// A GEMM for deep products with a small result, C[m, n] (+)= A[m, k] x B[n, k]ᵀ with k in the
// tens of thousands: a convolution's weight gradient, dY `[Cout, N*OH*OW]` times its unfolded
// input `[Cin*KH*KW, N*OH*OW]`ᵀ (ResNet's stem: 64 x 49 over 20,736 columns a chunk; a ResNeXt
// group: 16 x 144). Both operands are read along k, where they are contiguous: each tile of
// RB x RN results keeps RB*RN vectors of partial sums (lanes over k) while a block of k streams
// through, then adds their lane sums to C. OpenBLAS transposes and packs B for such a product and
// runs its kernel on a 49- or 144-wide result at a fraction of its rate. Compiled once per
// instruction set (AVX-512, AVX2, baseline) and chosen at run time.

typedef float v16 __attribute__((vector_size(64), aligned(4)));

/// Columns of k per block: a block of every row of B (up to a few hundred) stays in L2 while the
/// row tiles of A pass over it. Each block ends in a sum of lanes per result, so longer blocks
/// spend less on those: 1,024 measured faster than 512 and 2,048 on the shapes above.
#define K_BLOCK 1024

#define DEEP_TILE(NAME, TARGET, RB, RN)                                                                \
    TARGET static void NAME(long kb, const float *a, long lda, const float *b, long ldb, float *c,     \
                            long ldc, int add) {                                                       \
        v16 acc[RB][RN];                                                                               \
        for (int r = 0; r < RB; r++)                                                                   \
            for (int s = 0; s < RN; s++) acc[r][s] = (v16){0};                                         \
        long kk = 0;                                                                                   \
        for (; kk + 16 <= kb; kk += 16) {                                                              \
            v16 av[RB], bv[RN];                                                                        \
            for (int r = 0; r < RB; r++) av[r] = *(const v16 *)(a + r * lda + kk);                     \
            for (int s = 0; s < RN; s++) bv[s] = *(const v16 *)(b + s * ldb + kk);                     \
            for (int r = 0; r < RB; r++)                                                               \
                for (int s = 0; s < RN; s++) acc[r][s] += av[r] * bv[s];                               \
        }                                                                                              \
        for (int r = 0; r < RB; r++)                                                                   \
            for (int s = 0; s < RN; s++) {                                                             \
                float sum = 0;                                                                         \
                for (int l = 0; l < 16; l++) sum += acc[r][s][l];                                      \
                for (long t = kk; t < kb; t++) sum += a[r * lda + t] * b[s * ldb + t];                 \
                c[r * ldc + s] = add ? c[r * ldc + s] + sum : sum;                                     \
            }                                                                                          \
    }

/* Rows [i0, i1) of C: per block of k, tiles of RB rows x RN columns, then the leftover rows and
   columns one at a time. Each element sums its blocks in order, each block's lanes in order. */
#define DEEP_FAMILY(SUFFIX, TARGET, RB, RN)                                                            \
    DEEP_TILE(deep_full_##SUFFIX, TARGET, RB, RN) DEEP_TILE(deep_row_##SUFFIX, TARGET, 1, RN)          \
    DEEP_TILE(deep_column_##SUFFIX, TARGET, RB, 1) DEEP_TILE(deep_one_##SUFFIX, TARGET, 1, 1)          \
    TARGET static void deep_##SUFFIX(long n, long k, const float *a, long lda, const float *b, long ldb, \
                                     float *c, long ldc, int accumulate, long i0, long i1) {           \
        for (long k0 = 0; k0 < k; k0 += K_BLOCK) {                                                     \
            long kb = k - k0 < K_BLOCK ? k - k0 : K_BLOCK;                                             \
            int add = accumulate || k0 > 0;                                                            \
            long i = i0;                                                                               \
            for (; i + RB <= i1; i += RB) {                                                            \
                long j = 0;                                                                            \
                for (; j + RN <= n; j += RN)                                                           \
                    deep_full_##SUFFIX(kb, a + i * lda + k0, lda, b + j * ldb + k0, ldb, c + i * ldc + j, ldc, add); \
                for (; j < n; j++)                                                                     \
                    deep_column_##SUFFIX(kb, a + i * lda + k0, lda, b + j * ldb + k0, ldb, c + i * ldc + j, ldc, add); \
            }                                                                                          \
            for (; i < i1; i++) {                                                                      \
                long j = 0;                                                                            \
                for (; j + RN <= n; j += RN)                                                           \
                    deep_row_##SUFFIX(kb, a + i * lda + k0, lda, b + j * ldb + k0, ldb, c + i * ldc + j, ldc, add); \
                for (; j < n; j++)                                                                     \
                    deep_one_##SUFFIX(kb, a + i * lda + k0, lda, b + j * ldb + k0, ldb, c + i * ldc + j, ldc, add); \
            }                                                                                          \
        }                                                                                              \
    }

// Registers: AVX-512 has 32 of 16 floats (16 sums + 4 + 4 operands); AVX2 16 of 8 (2 x 2 x 2 + 4 + 4).
DEEP_FAMILY(avx512, __attribute__((target("avx512f"))), 4, 4)
DEEP_FAMILY(avx2, __attribute__((target("avx2,fma"))), 2, 2)
DEEP_FAMILY(baseline, , 2, 2)

void netc_gemm_deep(long n, long k, const float *a, long lda, const float *b, long ldb, float *c, long ldc,
                    int accumulate, long first_row, long end_row) {
    NETC_DISPATCH(deep, n, k, a, lda, b, ldb, c, ldc, accumulate, first_row, end_row);
}
