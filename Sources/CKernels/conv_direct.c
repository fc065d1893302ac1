#include "netc_kernels.h"
#include "instruction_set.h"
#include "conv_direct_rows.h"

// Direct convolution for few input channels (ResNet's stem: 1 -> 64, 7x7 stride 2). im2col
// copies each input pixel KH*KW/stride² times (12x for the stem) into a matrix whose GEMM then
// sums only Cin*KH*KW products per output, too few to repay packing. Here each input row is split
// once into stride phases (`conv_direct_rows.h`), so that every tap of 16 adjacent outputs is one
// contiguous load; a tile of RB output channels x NV*16 columns of one output row stays in
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

/* RB output channels (weights `w_stride` apart, outputs `y_stride` apart) x NV vectors of one output
   row, from split input rows starting at `in`: sums over every tap in order, then finishes. */
#define DIRECT_TILE(NAME, TARGET, RB, NV)                                                              \
    TARGET static void NAME(long taps, const long *offsets, const float *in, const float *w, long w_stride,      \
                            float *y, long y_stride, long columns, int accumulate, const float *bias, int relu) { \
        v16 acc[RB][NV];                                                                               \
        for (int r = 0; r < RB; r++)                                                                   \
            for (int v = 0; v < NV; v++) acc[r][v] = (v16){0};                                         \
        for (long t = 0; t < taps; t++) {                                                              \
            const float *src = in + offsets[t];                                                        \
            v16 xv[NV];                                                                                \
            for (int v = 0; v < NV; v++) xv[v] = *(const v16 *)(src + 16 * v);                         \
            for (int r = 0; r < RB; r++) {                                                             \
                float s = w[r * w_stride + t];                                                         \
                for (int v = 0; v < NV; v++) acc[r][v] += s * xv[v];                                   \
            }                                                                                          \
        }                                                                                              \
        for (int r = 0; r < RB; r++)                                                                   \
            for (int v = 0; v < NV; v++)                                                               \
                STORE_FINISHED(y + r * y_stride + 16 * v, acc[r][v], columns - 16 * v, accumulate,     \
                               bias ? bias + r : 0, relu);                                             \
    }

/* Output rows [first_row, end_row) of every output channel: channels RB at a time, then one at a
   time; per block every row in turn (each channel's outputs are written in order: the planes of
   64 channels lie a multiple of 4 KiB apart, and a row of each at a time thrashes the caches' sets);
   per row, column blocks of NV vectors (the last may end past the row), then single vectors.
   Every output sums its taps in the same order, whatever the split. */
#define DIRECT_ROWS(WIDE, NARROW, R)                                                                   \
    for (long oh = first_row; oh < end_row; oh++) {                                                    \
        const float *in = rows + (oh - first_row) * s->stride_h * l->row_stride;                       \
        float *out = y + (R) * ys + oh * ow;                                                           \
        long v = 0;                                                                                    \
        for (; v + nv <= vectors; v += nv)                                                             \
            WIDE(taps, offsets, in + 16 * v, w + (R) * taps, taps, out + 16 * v, ys, ow - 16 * v, accumulate, \
                 bias ? bias + (R) : 0, relu);                                                         \
        for (; v < vectors; v++)                                                                       \
            NARROW(taps, offsets, in + 16 * v, w + (R) * taps, taps, out + 16 * v, ys, ow - 16 * v, accumulate, \
                   bias ? bias + (R) : 0, relu);                                                       \
    }

#define DIRECT_FAMILY(SUFFIX, TARGET, RB, NV)                                                          \
    DIRECT_TILE(wide_##SUFFIX, TARGET, RB, NV) DIRECT_TILE(wide_row_##SUFFIX, TARGET, 1, NV)           \
    DIRECT_TILE(narrow_##SUFFIX, TARGET, RB, 1) DIRECT_TILE(narrow_row_##SUFFIX, TARGET, 1, 1)         \
    TARGET static void direct_##SUFFIX(const netc_conv_shape *s, const direct_layout *l, const long *offsets,   \
                                       const float *rows, const float *w, const float *bias, float *y,  \
                                       int accumulate, int relu, long first_row, long end_row) {        \
        long ow = s->out_width, vectors = round_up16(ow) / 16, taps = l->taps, nv = NV;                \
        long m = s->out_channels, ys = s->out_channel_stride, r = 0;                                   \
        for (; r + RB <= m; r += RB) DIRECT_ROWS(wide_##SUFFIX, narrow_##SUFFIX, r)                    \
        for (; r < m; r++) DIRECT_ROWS(wide_row_##SUFFIX, narrow_row_##SUFFIX, r)                      \
    }

// Registers: AVX-512 has 32 of 16 floats (24 results + 3 of input); AVX2 16 of 8 (4 x 2 + 2).
DIRECT_FAMILY(avx512, __attribute__((target("avx512f"))), 8, 3)
DIRECT_FAMILY(avx2, __attribute__((target("avx2,fma"))), 4, 1)
DIRECT_FAMILY(baseline, , 4, 1)

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
