#ifndef NETC_CONV_DIRECT_ROWS_H
#define NETC_CONV_DIRECT_ROWS_H

#include <string.h>
#include "netc_kernels.h"

// The input as the direct convolution kernels read it: each input row, padded with zeros, split
// by column into `stride_w` phases (phase q holds padded columns q, q + stride_w, ...), and zero
// rows for the padding above and below. Output column ow under kernel column kj then reads phase
// kj % stride_w at ow + kj / stride_w: every tap's inputs for 16 consecutive outputs are one
// contiguous load, and each tap is one fixed offset from the output row's start.

/// Sixteen floats, loaded from and stored to any float's address; and their comparison masks.
typedef float v16 __attribute__((vector_size(64), aligned(4)));
typedef int m16 __attribute__((vector_size(64)));

static inline long round_up16(long n) { return (n + 15) & ~15L; }

/// Where the split rows of one band of output rows lie in scratch.
typedef struct {
    long phase_width;      // floats of one phase: every output column rounded up to 16, plus the kernel's reach
    long row_stride;       // floats of one split row: stride_w phases
    long rows;             // padded input rows under the band
    long channel_stride;   // floats of one channel's split rows
    long taps;             // in_channels * KH * KW
} direct_layout;

static inline direct_layout direct_layout_of(const netc_conv_shape *s, long output_rows) {
    direct_layout l;
    l.phase_width = round_up16(s->out_width) + (s->kernel_w - 1) / s->stride_w;
    l.row_stride = s->stride_w * l.phase_width;
    l.rows = (output_rows - 1) * s->stride_h + s->kernel_h;
    l.channel_stride = l.rows * l.row_stride;
    l.taps = s->in_channels * s->kernel_h * s->kernel_w;
    return l;
}

/// Scratch: each tap's offset (longs), then the split rows (floats).
static inline long direct_scratch_bytes(const netc_conv_shape *s, long output_rows) {
    direct_layout l = direct_layout_of(s, output_rows);
    return l.taps * (long)sizeof(long) + s->in_channels * l.channel_stride * (long)sizeof(float);
}

/// Splits the input rows under output rows `[first_row, first_row + band)` into `rows` and writes
/// tap (c, ki, kj)'s offset from an output row's first input, `offsets[(c * KH + ki) * KW + kj]`.
static inline void split_input_rows(const netc_conv_shape *s, const direct_layout *l, const float *x, long first_row,
                                    float *rows, long *offsets) {
    for (long c = 0; c < s->in_channels; c++)
        for (long ki = 0; ki < s->kernel_h; ki++)
            for (long kj = 0; kj < s->kernel_w; kj++)
                offsets[(c * s->kernel_h + ki) * s->kernel_w + kj] =
                    c * l->channel_stride + ki * l->row_stride + (kj % s->stride_w) * l->phase_width + kj / s->stride_w;
    for (long c = 0; c < s->in_channels; c++)
        for (long r = 0; r < l->rows; r++) {
            float *dst = rows + c * l->channel_stride + r * l->row_stride;
            long ih = first_row * s->stride_h + r - s->pad_h;
            if (ih < 0 || ih >= s->height) {
                memset(dst, 0, (size_t)l->row_stride * sizeof(float));
                continue;
            }
            const float *src = x + c * s->in_channel_stride + ih * s->width;
            for (long q = 0; q < s->stride_w; q++)
                for (long j = 0; j < l->phase_width; j++) {
                    long col = j * s->stride_w + q - s->pad_w;
                    dst[q * l->phase_width + j] = col >= 0 && col < s->width ? src[col] : 0;
                }
        }
}

#endif
