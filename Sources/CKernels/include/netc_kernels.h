#ifndef NETC_KERNELS_H
#define NETC_KERNELS_H

// Kernels in C where Swift cannot do what they need: pick an instruction set at run time (Swift
// compiles for the baseline x86-64, without AVX). Single-threaded: NetcKernels splits the work
// across the cores.

/// Rows of A per panel of `netc_pack_panels`.
#define NETC_PANEL_ROWS 16

/// Packs A `[m, k]` (row stride `lda`) into panels of 16 rows, each k-major: panel p holds
/// `packed[(p * k + kk) * 16 + r] = A[16p + r, kk]`, zero past row m. `packed` holds
/// `ceil(m / 16) * 16 * k` floats.
void netc_pack_panels(long m, long k, const float *a, long lda, float *packed);

/// `C[r, j] (+)= Σ_kk A[r, kk] B[kk, j]` for the rows of panels `[first_panel, end_panel)` of a
/// packed A (`netc_pack_panels`, m rows) and the `n` columns of B `[k, n]` (row stride `ldb`), into
/// C `[m, n]` (row stride `ldc`), added to it when `accumulate`. Made for few columns (a batch of
/// one image on a small map): each panel streams once per 12 columns, each A value feeding up to
/// 12 multiplies from registers, where a general GEMM would repack A on every call.
void netc_gemm_packed(long m, long n, long k, const float *packed, const float *b, long ldb, float *c, long ldc,
                      int accumulate, long first_panel, long end_panel);

/// `C[r, j] (+)= Σ_kk A[r, kk] B[kk, j]` for columns `[first_column, end_column)` of B `[k, n]` (row
/// stride `ldb`) and C `[m, n]` (row stride `ldc`), added to C when `accumulate`, then `+ bias[r]`
/// (when `bias` is not null) and `max(·, 0)` (when `relu`; a NaN stays); A's element (r, kk) is
/// `a[r * a_row_stride + kk * a_k_stride]` (so Aᵀ is A with the strides swapped). Made for shallow
/// products (k up to a few dozen) over many columns, where a general GEMM's packing costs as much
/// as the multiplies.
void netc_gemm_shallow(long m, long k, const float *a, long a_row_stride, long a_k_stride, const float *b, long ldb,
                       float *c, long ldc, int accumulate, const float *bias, int relu, long first_column,
                       long end_column);

/// `C[i, j] (+)= Σ_kk A[i, kk] B[j, kk]` for rows `[first_row, end_row)` of C `[m, n]` (row stride
/// `ldc`), with A `[m, k]` and B `[n, k]` (row strides `lda`, `ldb`), added to C when `accumulate`.
/// Made for deep products with small results (k in the tens of thousands, n up to a few hundred):
/// convolutions' weight gradients.
void netc_gemm_deep(long n, long k, const float *a, long lda, const float *b, long ldb, float *c, long ldc,
                    int accumulate, long first_row, long end_row);

/// The widest instruction set this processor runs: 2 for AVX-512, 1 for AVX2 with FMA, 0 for
/// neither. Kernels that take an `instruction_set` run their copy for it (at most this one), so
/// tests can run every copy the processor has.
int netc_widest_instruction_set(void);

#endif
