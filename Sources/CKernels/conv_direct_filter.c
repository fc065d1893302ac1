#include "netc_kernels.h"
#include "instruction_set.h"
#include "conv_direct_rows.h"

// The direct convolution's weight gradient, dW[o, t] = Σ dy[o, oh, ow] x[tap t of (oh, ow)], for
// few input channels (ResNet's stem: 64 x 49 weights over 2,304 outputs an image). im2col would
// copy each input pixel 12x into a matrix and multiply it by dY; here the input rows are split
// once an image (`conv_direct_rows.h`), so that each tap's inputs for 16 adjacent outputs are one
// contiguous load, and a tile of RB channels x TB taps keeps 16 lane sums per weight in registers
// over a whole image, multiplying each loaded vector of dy by TB vectors of input. Between images
// the lane sums wait in memory; the caller adds up their lanes at the end. Compiled once per
// instruction set (AVX-512, AVX2, baseline) and chosen at run time.

/* Adds RB channels (dy planes `dy_stride` apart) x TB taps of one image to their lane sums
   (`partial`, rows of `partial_stride` floats per channel, 16 per tap). Lanes past the row's end
   count nothing: dy is read through a copy there, and the input masked (it may hold an inf). */
#define FILTER_TILE(NAME, TARGET, RB, TB)                                                              \
    TARGET static void NAME(const netc_conv_shape *s, const direct_layout *l, const long *offsets,     \
                            const float *rows, const float *dy, float *partial, long partial_stride) {  \
        long oh_count = s->out_height, ow = s->out_width, dy_stride = s->out_channel_stride;            \
        long row_step = s->stride_h * l->row_stride;                                                   \
        v16 acc[RB][TB];                                                                               \
        for (int r = 0; r < RB; r++)                                                                   \
            for (int t = 0; t < TB; t++) acc[r][t] = *(const v16 *)(partial + r * partial_stride + 16 * t); \
        for (long oh = 0; oh < oh_count; oh++) {                                                       \
            const float *in = rows + oh * row_step, *d = dy + oh * ow;                                 \
            long j = 0;                                                                                \
            for (; j + 16 <= ow; j += 16) {                                                            \
                v16 dv[RB];                                                                            \
                for (int r = 0; r < RB; r++) dv[r] = *(const v16 *)(d + r * dy_stride + j);            \
                for (int t = 0; t < TB; t++) {                                                         \
                    v16 xv = *(const v16 *)(in + offsets[t] + j);                                      \
                    for (int r = 0; r < RB; r++) acc[r][t] += dv[r] * xv;                              \
                }                                                                                      \
            }                                                                                          \
            if (j < ow) {                                                                              \
                v16 dv[RB];                                                                            \
                m16 live = {0};                                                                        \
                for (long c = 0; c < ow - j; c++) live[c] = -1;                                        \
                for (int r = 0; r < RB; r++) {                                                         \
                    dv[r] = (v16){0};                                                                  \
                    for (long c = 0; c < ow - j; c++) dv[r][c] = d[r * dy_stride + j + c];             \
                }                                                                                      \
                for (int t = 0; t < TB; t++) {                                                         \
                    v16 xv = (v16)((m16)*(const v16 *)(in + offsets[t] + j) & live);                   \
                    for (int r = 0; r < RB; r++) acc[r][t] += dv[r] * xv;                              \
                }                                                                                      \
            }                                                                                          \
        }                                                                                              \
        for (int r = 0; r < RB; r++)                                                                   \
            for (int t = 0; t < TB; t++) *(v16 *)(partial + r * partial_stride + 16 * t) = acc[r][t];   \
    }

/* Channels [first, end): blocks of RB channels, then one at a time; taps TB at a time, then one at
   a time. Each weight's lanes sum its products in the same order, whatever the split. */
#define FILTER_FAMILY(SUFFIX, TARGET, RB, TB)                                                          \
    FILTER_TILE(block_##SUFFIX, TARGET, RB, TB) FILTER_TILE(block_tap_##SUFFIX, TARGET, RB, 1)          \
    FILTER_TILE(row_##SUFFIX, TARGET, 1, TB) FILTER_TILE(row_tap_##SUFFIX, TARGET, 1, 1)                \
    TARGET static void filter_##SUFFIX(const netc_conv_shape *s, const direct_layout *l, const long *offsets,  \
                                       const float *rows, const float *dy, float *partial, long first,  \
                                       long end) {                                                     \
        long taps = l->taps, ps = taps * 16, ys = s->out_channel_stride;                               \
        long o = first;                                                                                \
        for (; o + RB <= end; o += RB) {                                                               \
            long t = 0;                                                                                \
            for (; t + TB <= taps; t += TB)                                                            \
                block_##SUFFIX(s, l, offsets + t, rows, dy + o * ys, partial + o * ps + 16 * t, ps);   \
            for (; t < taps; t++)                                                                      \
                block_tap_##SUFFIX(s, l, offsets + t, rows, dy + o * ys, partial + o * ps + 16 * t, ps); \
        }                                                                                              \
        for (; o < end; o++) {                                                                         \
            long t = 0;                                                                                \
            for (; t + TB <= taps; t += TB)                                                            \
                row_##SUFFIX(s, l, offsets + t, rows, dy + o * ys, partial + o * ps + 16 * t, ps);     \
            for (; t < taps; t++)                                                                      \
                row_tap_##SUFFIX(s, l, offsets + t, rows, dy + o * ys, partial + o * ps + 16 * t, ps); \
        }                                                                                              \
    }

// Registers: AVX-512 has 32 of 16 floats (24 sums + 4 of dy + input); AVX2 16 of 8 (2 x 2 x 2
// sums + 2 x 2 of dy + 2 of input); the baseline's SSE 16 of 4.
FILTER_FAMILY(avx512, __attribute__((target("avx512f"))), 4, 6)
FILTER_FAMILY(avx2, __attribute__((target("avx2,fma"))), 2, 2)
FILTER_FAMILY(baseline, , 1, 2)

void netc_conv_direct_filter(int instruction_set, const netc_conv_shape *shape, const float *x, const float *dy,
                             float *partial, long first_channel, long end_channel, void *scratch) {
    if (first_channel >= end_channel) return;
    direct_layout l = direct_layout_of(shape, shape->out_height);
    long *offsets = scratch;
    float *rows = (float *)(offsets + l.taps);
    split_input_rows(shape, &l, x, 0, rows, offsets);
    NETC_DISPATCH_AT(instruction_set, filter, shape, &l, offsets, rows, dy, partial, first_channel, end_channel);
}
