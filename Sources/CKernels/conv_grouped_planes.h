#ifndef NETC_CONV_GROUPED_PLANES_H
#define NETC_CONV_GROUPED_PLANES_H

// What the direct grouped convolution's forward and filter gradient share: one image's group of
// input planes copied into zero-padded phase planes (conv_direct.c explains the grid).

#include "netc_kernels.h"

/// Sixteen floats, loaded from and stored to any float's address.
typedef float v16 __attribute__((vector_size(64), aligned(4)));

/// Floats after each phase plane: a tile's last vector reads up to 15 past the grid's end.
#define PLANE_SLACK 16

/// Where each part of a worker's scratch lies, for one shape.
struct direct_layout {
    long plane_width, plane;  // phase planes: Wq wide, `plane` floats apart (rows x Wq + slack)
    long phases;              // stride_h * stride_w phase planes per input channel
    long grid;                // output grid pixels, (OH - 1) * Wq + OW, computed in whole vectors
    long depth;               // products per output: Cin * KH * KW
};

static struct direct_layout direct_layout_of(const struct netc_grouped_conv *s) {
    struct direct_layout l;
    long padded_h = s->height + 2 * s->pad_h, padded_w = s->width + 2 * s->pad_w;
    long plane_h = (padded_h + s->stride_h - 1) / s->stride_h;
    l.plane_width = (padded_w + s->stride_w - 1) / s->stride_w;
    l.plane = plane_h * l.plane_width + PLANE_SLACK;
    l.phases = s->stride_h * s->stride_w;
    l.grid = ((s->out_height - 1) * l.plane_width + s->out_width + 15) / 16 * 16;
    l.depth = s->in_channels * s->kernel_h * s->kernel_w;
    return l;
}

/// Where tap (ki, kj) of channel i reads, relative to a grid pixel: phase (ki % sh, kj % sw),
/// shifted by (ki / sh, kj / sw); `offsets[(i * kh + ki) * kw + kj]`, `l->depth` of them.
static inline void tap_offsets(const struct netc_grouped_conv *s, const struct direct_layout *l, long *offsets) {
    long kh = s->kernel_h, kw = s->kernel_w, sh = s->stride_h, sw = s->stride_w;
    for (long i = 0; i < s->in_channels; i++)
        for (long ki = 0; ki < kh; ki++)
            for (long kj = 0; kj < kw; kj++)
                offsets[(i * kh + ki) * kw + kj] = (i * l->phases + (ki % sh) * sw + kj % sw) * l->plane
                                                   + (ki / sh) * l->plane_width + kj / sw;
}

typedef float v8 __attribute__((vector_size(32), aligned(4)));
typedef float v4 __attribute__((vector_size(16), aligned(4)));

/// dst[0..<count] = src[0..<count], inline in vectors of 16, 8 and 4 (rows here are 3 to 48 floats
/// long: a call to memcpy costs as much as the copy).
static inline __attribute__((always_inline)) void copy_row(const float *src, long count, float *dst) {
    long i = 0;
    for (; i + 16 <= count; i += 16) *(v16 *)(dst + i) = *(const v16 *)(src + i);
    for (; i + 8 <= count; i += 8) *(v8 *)(dst + i) = *(const v8 *)(src + i);
    for (; i + 4 <= count; i += 4) *(v4 *)(dst + i) = *(const v4 *)(src + i);
    for (; i < count; i++) dst[i] = src[i];
}

/// even[t] = src[2t], odd[t] = src[2t + 1] over a row of `w` floats: a stride-2 row's two column
/// phases, in vectors of 16, 8 and 4 (one at a time, the copy took as long as the sums it feeds).
static inline __attribute__((always_inline)) void deinterleave(const float *src, long w, float *even, float *odd) {
    long t = 0;
    for (; 2 * t + 32 <= w; t += 16) {
        v16 a = *(const v16 *)(src + 2 * t), b = *(const v16 *)(src + 2 * t + 16);
        *(v16 *)(even + t) = __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
        *(v16 *)(odd + t) = __builtin_shufflevector(a, b, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    }
    for (; 2 * t + 16 <= w; t += 8) {
        v8 a = *(const v8 *)(src + 2 * t), b = *(const v8 *)(src + 2 * t + 8);
        *(v8 *)(even + t) = __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14);
        *(v8 *)(odd + t) = __builtin_shufflevector(a, b, 1, 3, 5, 7, 9, 11, 13, 15);
    }
    for (; 2 * t + 8 <= w; t += 4) {
        v4 a = *(const v4 *)(src + 2 * t), b = *(const v4 *)(src + 2 * t + 4);
        *(v4 *)(even + t) = __builtin_shufflevector(a, b, 0, 2, 4, 6);
        *(v4 *)(odd + t) = __builtin_shufflevector(a, b, 1, 3, 5, 7);
    }
    for (; 2 * t + 1 < w; t++) even[t] = src[2 * t], odd[t] = src[2 * t + 1];
    if (2 * t < w) even[t] = src[2 * t];
}

/// Copies one image's group of input planes into the phase planes' interiors (the padding
/// around them stays zero from the start of the call).
static inline __attribute__((always_inline)) void split_phases(const struct netc_grouped_conv *s, const struct direct_layout *l, const float *x, long g,
                         long image, float *phases) {
    long sh = s->stride_h, sw = s->stride_w, h = s->height, w = s->width;
    for (long i = 0; i < s->in_channels; i++) {
        const float *src = x + ((g * s->in_channels + i) * s->images + image) * h * w;
        float *channel = phases + i * l->phases * l->plane;
        for (long ih = 0; ih < h; ih++) {
            long r = ih + s->pad_h;
            float *row = channel + (r % sh) * sw * l->plane + (r / sh) * l->plane_width;
            if (sw == 1) {
                copy_row(src + ih * w, w, row + s->pad_w);
                continue;
            }
            if (sw == 2) {
                deinterleave(src + ih * w, w, row + (s->pad_w & 1) * l->plane + s->pad_w / 2,
                             row + ((s->pad_w + 1) & 1) * l->plane + (s->pad_w + 1) / 2);
                continue;
            }
            // Column phase b holds the input columns iw with (iw + pad_w) % sw == b.
            for (long b = 0; b < sw; b++) {
                long iw = ((b - s->pad_w) % sw + sw) % sw;
                float *phase = row + b * l->plane;
                for (long cc = (iw + s->pad_w) / sw; iw < w; iw += sw, cc++) phase[cc] = src[ih * w + iw];
            }
        }
    }
}

#endif
