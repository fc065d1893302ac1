#include "netc_kernels.h"
#include "instruction_set.h"
#include "conv_direct_rows.h"

// Direct convolution for few input channels (ResNet's stem: 1 -> 64, 7x7 stride 2). im2col
// copies each input pixel KH*KW/stride² times (12x for the stem) into a matrix whose GEMM then
// sums only Cin*KH*KW products per output, too few to repay packing. Here each input row is split
// once into stride phases (`conv_direct_rows.h`), so that every tap of 16 adjacent outputs is one
// contiguous load; a tile of RB output channels x RR output rows x NV*16 columns stays in
// registers across all the taps, each tap's weight broadcast from memory; the epilogue (residual,
// bias, ReLU) runs on the tile before it is stored. Compiled once per instruction set (AVX-512,
// AVX2, baseline) and chosen at run time.

// The epilogue on a result: + bias (if any), then ReLU as max(x, 0) that keeps a NaN (its comparison
// is false) and turns -0 into +0, as the Swift epilogue does.
#define FINISH(V, BIAS, RELU)                                                                          \
    do {                                                                                               \
        if (BIAS) V += *(BIAS);                                                                        \
        if (RELU) V = (__typeof__(V))((m16)(V) & ~(m16)(V <= 0));                                      \
    } while (0)

/// Stores `columns` (1...16 or more) results of ACC at P: onto what P holds when `accumulate`, then
/// the epilogue. A vector past the row's end goes through a copy, so nothing beyond it is touched.
#define STORE_FINISHED(P, ACC, COLUMNS, ACCUMULATE, BIAS, RELU)                                        \
    do {                                                                                               \
        v16 sum_ = (ACC);                                                                              \
        if ((COLUMNS) >= 16) {                                                                         \
            v16 *out_ = (v16 *)(P);                                                                    \
            if (ACCUMULATE) sum_ = *out_ + sum_;                                                       \
            FINISH(sum_, BIAS, RELU);                                                                  \
            *out_ = sum_;                                                                              \
        } else {                                                                                       \
            v16 old_ = {0};                                                                            \
            for (long l_ = 0; l_ < (COLUMNS); l_++) old_[l_] = (P)[l_];                                \
            if (ACCUMULATE) sum_ = old_ + sum_;                                                        \
            FINISH(sum_, BIAS, RELU);                                                                  \
            for (long l_ = 0; l_ < (COLUMNS); l_++) (P)[l_] = sum_[l_];                                \
        }                                                                                              \
    } while (0)

/* RB output channels (weights `w_stride` apart, outputs `y_stride` apart) x RR output rows (inputs
   `row_step` apart, outputs `ow`) x NV vectors, from split input rows starting at `in`: sums over
   every tap in order, then finishes. Each weight broadcast feeds RR*NV multiplies, each input
   load RB. */
#define DIRECT_TILE(NAME, TARGET, RB, RR, NV)                                                          \
    TARGET static void NAME(long taps, const long *offsets, const float *in, long row_step, const float *w,     \
                            long w_stride, float *y, long y_stride, long ow, long columns, int accumulate,       \
                            const float *bias, int relu) {                                             \
        v16 acc[RB][RR][NV];                                                                           \
        for (int r = 0; r < RB; r++)                                                                   \
            for (int q = 0; q < RR; q++)                                                               \
                for (int v = 0; v < NV; v++) acc[r][q][v] = (v16){0};                                  \
        for (long t = 0; t < taps; t++) {                                                              \
            const float *src = in + offsets[t];                                                        \
            v16 xv[RR][NV];                                                                            \
            for (int q = 0; q < RR; q++)                                                               \
                for (int v = 0; v < NV; v++) xv[q][v] = *(const v16 *)(src + q * row_step + 16 * v);   \
            for (int r = 0; r < RB; r++) {                                                             \
                float s = w[r * w_stride + t];                                                         \
                for (int q = 0; q < RR; q++)                                                           \
                    for (int v = 0; v < NV; v++) acc[r][q][v] += s * xv[q][v];                         \
            }                                                                                          \
        }                                                                                              \
        if (columns >= 16 * NV) {                                                                      \
            for (int r = 0; r < RB; r++)                                                               \
                for (int q = 0; q < RR; q++)                                                           \
                    for (int v = 0; v < NV; v++) {                                                     \
                        v16 *out_ = (v16 *)(y + r * y_stride + q * ow + 16 * v), sum_ = acc[r][q][v];  \
                        if (accumulate) sum_ = *out_ + sum_;                                           \
                        FINISH(sum_, bias ? bias + r : 0, relu);                                       \
                        *out_ = sum_;                                                                  \
                    }                                                                                  \
            return;                                                                                    \
        }                                                                                              \
        for (int r = 0; r < RB; r++)                                                                   \
            for (int q = 0; q < RR; q++)                                                               \
                for (int v = 0; v < NV; v++)                                                           \
                    STORE_FINISHED(y + r * y_stride + q * ow + 16 * v, acc[r][q][v], columns - 16 * v, \
                                   accumulate, bias ? bias + r : 0, relu);                             \
    }

/* Output rows [first_row, end_row) of channels [R, R + the tiles' RB) from row `oh` on, RR rows at
   a time: per row block, column blocks of NV vectors (the last may end past the row), then single
   vectors. */
#define DIRECT_ROWS(WIDE, NARROW, R, RR)                                                               \
    for (; oh + RR <= end_row; oh += RR) {                                                             \
        const float *in = rows + (oh - first_row) * row_step;                                          \
        float *out = y + (R) * ys + oh * ow;                                                           \
        long v = 0;                                                                                    \
        for (; v + nv <= vectors; v += nv)                                                             \
            WIDE(taps, offsets, in + 16 * v, row_step, w + (R) * taps, taps, out + 16 * v, ys, ow, ow - 16 * v, \
                 accumulate, bias ? bias + (R) : 0, relu);                                             \
        for (; v < vectors; v++)                                                                       \
            NARROW(taps, offsets, in + 16 * v, row_step, w + (R) * taps, taps, out + 16 * v, ys, ow, ow - 16 * v, \
                   accumulate, bias ? bias + (R) : 0, relu);                                           \
    }

/* Every output channel over output rows [first_row, end_row): channels RB at a time, then one at a
   time; per channel block its rows in order, RR at a time, then one at a time (each channel's
   outputs are written in order). Every output sums its taps in the same order, whatever the split. */
#define DIRECT_FAMILY(SUFFIX, TARGET, RB, RR, NV)                                                      \
    DIRECT_TILE(wide_##SUFFIX, TARGET, RB, RR, NV) DIRECT_TILE(wide_row_##SUFFIX, TARGET, RB, 1, NV)   \
    DIRECT_TILE(narrow_##SUFFIX, TARGET, RB, RR, 1) DIRECT_TILE(narrow_row_##SUFFIX, TARGET, RB, 1, 1) \
    DIRECT_TILE(wide_1_##SUFFIX, TARGET, 1, RR, NV) DIRECT_TILE(wide_row_1_##SUFFIX, TARGET, 1, 1, NV) \
    DIRECT_TILE(narrow_1_##SUFFIX, TARGET, 1, RR, 1) DIRECT_TILE(narrow_row_1_##SUFFIX, TARGET, 1, 1, 1) \
    TARGET static void direct_##SUFFIX(const netc_conv_shape *s, const direct_layout *l, const long *offsets,   \
                                       const float *rows, const float *w, const float *bias, float *y,  \
                                       int accumulate, int relu, long first_row, long end_row) {        \
        long ow = s->out_width, vectors = round_up16(ow) / 16, taps = l->taps, nv = NV;                \
        long m = s->out_channels, ys = s->out_channel_stride, row_step = s->stride_h * l->row_stride, r = 0; \
        for (; r + RB <= m; r += RB) {                                                                 \
            long oh = first_row;                                                                       \
            DIRECT_ROWS(wide_##SUFFIX, narrow_##SUFFIX, r, RR)                                         \
            DIRECT_ROWS(wide_row_##SUFFIX, narrow_row_##SUFFIX, r, 1)                                  \
        }                                                                                              \
        for (; r < m; r++) {                                                                           \
            long oh = first_row;                                                                       \
            DIRECT_ROWS(wide_1_##SUFFIX, narrow_1_##SUFFIX, r, RR)                                     \
            DIRECT_ROWS(wide_row_1_##SUFFIX, narrow_row_1_##SUFFIX, r, 1)                              \
        }                                                                                              \
    }

// Registers: AVX-512 has 32 of 16 floats (4 channels x 2 rows x 3 vectors of results + 6 of input:
// 105 GFLOP/s on one core here against 90 for 8 channels x 1 row, whose 8 broadcasts a tap took
// issue slots from the multiplies); AVX2 16 of 8 (4 x 2 + 2).
DIRECT_FAMILY(avx512, __attribute__((target("avx512f"))), 4, 2, 3)
DIRECT_FAMILY(avx2, __attribute__((target("avx2,fma"))), 4, 1, 1)
DIRECT_FAMILY(baseline, , 4, 1, 1)

long netc_conv_direct_scratch_bytes(const netc_conv_shape *shape, long rows) { return direct_scratch_bytes(shape, rows); }

void netc_conv_direct(int instruction_set, const netc_conv_shape *shape, const float *x, const float *w,
                      const float *bias, float *y, int accumulate, int relu, long first_row, long end_row,
                      void *scratch) {
    if (first_row >= end_row) return;
    direct_layout l = direct_layout_of(shape, end_row - first_row);
    long *offsets = scratch;
    float *rows = (float *)(offsets + l.taps);
    split_input_rows(shape, &l, x, first_row, rows, offsets);
    NETC_DISPATCH_AT(instruction_set, direct, shape, &l, offsets, rows, w, bias, y, accumulate, relu, first_row, end_row);
}
