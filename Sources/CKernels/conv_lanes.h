#ifndef NETC_CONV_LANES_H
#define NETC_CONV_LANES_H

// What the grouped convolutions with images in vector lanes share (conv_grouped_lanes.c explains
// the layout): the transposes of 16 images into the lanes and back with the epilogue, and the
// register tile that sums broadcast weights times vectors of 16 images.

#include "netc_kernels.h"

typedef float v16 __attribute__((vector_size(64), aligned(4)));
typedef int m16 __attribute__((vector_size(64)));

/// A block's input planes and output grid.
typedef struct {
    long padded_h, padded_w, plane;  // zero-padded input plane, in pixels (of 16 images each)
    long pixels;                     // output pixels a plane
    long depth;                      // products an output sums: in_channels x kernel taps
} lanes_layout;

/// out[r][p] (16 images each) = Σ_kk w[kk][r] · x[at[p] + offsets[kk]] for RC channels, RP pixels.
#define LANES_TILE(NAME, TARGET, RC, RP)                                                               \
    TARGET static void NAME(long depth, const long *offsets, const long *at, const float *x,          \
                            const float *w, long ldw, float *out, long pixels) {                      \
        v16 acc[RC][RP];                                                                               \
        _Pragma("clang loop unroll(full)") for (int r = 0; r < RC; r++)                                \
            _Pragma("clang loop unroll(full)") for (int p = 0; p < RP; p++) acc[r][p] = (v16){0};      \
        for (long kk = 0; kk < depth; kk++) {                                                          \
            v16 xv[RP];                                                                                \
            _Pragma("clang loop unroll(full)") for (int p = 0; p < RP; p++)                            \
                xv[p] = *(const v16 *)(x + at[p] + offsets[kk]);                                       \
            _Pragma("clang loop unroll(full)") for (int r = 0; r < RC; r++) {                          \
                float s = w[kk * ldw + r];                                                             \
                _Pragma("clang loop unroll(full)") for (int p = 0; p < RP; p++) acc[r][p] += s * xv[p]; \
            }                                                                                          \
        }                                                                                              \
        _Pragma("clang loop unroll(full)") for (int r = 0; r < RC; r++)                                \
            _Pragma("clang loop unroll(full)") for (int p = 0; p < RP; p++)                            \
                *(v16 *)(out + 16 * (r * pixels + p)) = acc[r][p];                                     \
    }

/* Every output channel and pixel of one block: pixels RP at a time, then one at a time; within
   those, channels RC at a time, then four at a time (where RC is wider), then one at a time.
   AVX2's 16-channel groups are 6 + 6 + 4: the last four one at a time, a quarter of the sums at
   a third of the multiplies a load, made its Winograd kernel 11-17% slower on one core. */
#define LANES_FAMILY(SUFFIX, TARGET, RC, RP)                                                           \
    LANES_TILE(full_##SUFFIX, TARGET, RC, RP) LANES_TILE(channel_##SUFFIX, TARGET, 1, RP)             \
    LANES_TILE(pixel_##SUFFIX, TARGET, RC, 1) LANES_TILE(one_##SUFFIX, TARGET, 1, 1)                  \
    LANES_TILE(four_##SUFFIX, TARGET, 4, RP) LANES_TILE(fourpixel_##SUFFIX, TARGET, 4, 1)             \
    TARGET static void block_##SUFFIX(long channels, long pixels, long depth, const long *offsets,    \
                                      const long *at, const float *x, const float *w, float *out) {   \
        long p = 0;                                                                                    \
        for (; p + RP <= pixels; p += RP) {                                                            \
            long r = 0;                                                                                \
            for (; r + RC <= channels; r += RC)                                                        \
                full_##SUFFIX(depth, offsets, at + p, x, w + r, channels, out + 16 * (r * pixels + p), pixels); \
            for (; RC > 4 && r + 4 <= channels; r += 4)                                                \
                four_##SUFFIX(depth, offsets, at + p, x, w + r, channels, out + 16 * (r * pixels + p), pixels); \
            for (; r < channels; r++)                                                                  \
                channel_##SUFFIX(depth, offsets, at + p, x, w + r, channels, out + 16 * (r * pixels + p), pixels); \
        }                                                                                              \
        for (; p < pixels; p++) {                                                                      \
            long r = 0;                                                                                \
            for (; r + RC <= channels; r += RC)                                                        \
                pixel_##SUFFIX(depth, offsets, at + p, x, w + r, channels, out + 16 * (r * pixels + p), pixels); \
            for (; RC > 4 && r + 4 <= channels; r += 4)                                                \
                fourpixel_##SUFFIX(depth, offsets, at + p, x, w + r, channels, out + 16 * (r * pixels + p), pixels); \
            for (; r < channels; r++)                                                                  \
                one_##SUFFIX(depth, offsets, at + p, x, w + r, channels, out + 16 * (r * pixels + p), pixels); \
        }                                                                                              \
    }

/// `block_avx512`, `block_avx2` and `block_baseline`. Registers: AVX-512 has 32 of 16 floats (24
/// sums, 3 inputs, a weight); AVX2 16 of 8, two a vector of 16 (6 x 1 sums, 1 input, a weight:
/// 15); baseline 16 of 4, four a vector.
#define LANES_FAMILIES                                                                                 \
    LANES_FAMILY(avx512, __attribute__((target("avx512f"))), 8, 3)                                     \
    LANES_FAMILY(avx2, __attribute__((target("avx2,fma"))), 6, 1)                                      \
    LANES_FAMILY(baseline, , 2, 1)

/// Swaps the off-diagonal S x S blocks of each 2S x 2S block of rows R[I..] (bit S of I clear)
/// and R[I + S..]: done for S = 8, 4, 2, 1, a 16 x 16 transpose.
#define SWAP_BLOCKS(R, I, S)                                                                           \
    do {                                                                                               \
        v16 a_ = R[I], b_ = R[(I) + (S)];                                                              \
        R[I] = __builtin_shufflevector(a_, b_, LOW_##S);                                               \
        R[(I) + (S)] = __builtin_shufflevector(a_, b_, HIGH_##S);                                      \
    } while (0)
// Row i keeps its columns with bit S clear and takes row i + S's columns shifted down by S; row
// i + S takes row i's columns shifted up by S and keeps its own with bit S set.
#define LOW_8 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23
#define HIGH_8 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31
#define LOW_4 0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27
#define HIGH_4 4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31
#define LOW_2 0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29
#define HIGH_2 2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31
#define LOW_1 0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30
#define HIGH_1 1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31

#define INLINE static inline __attribute__((always_inline))

INLINE void transpose16(v16 r[16]) {
    for (int i = 0; i < 16; i++)
        if (!(i & 8)) SWAP_BLOCKS(r, i, 8);
    for (int i = 0; i < 16; i++)
        if (!(i & 4)) SWAP_BLOCKS(r, i, 4);
    for (int i = 0; i < 16; i++)
        if (!(i & 2)) SWAP_BLOCKS(r, i, 2);
    for (int i = 0; i < 16; i++)
        if (!(i & 1)) SWAP_BLOCKS(r, i, 1);
}

/// One task of a grouped kernel: a group and a block of up to `per_block` of its images.
typedef struct {
    long group, first, images;  // the group, its block's first image, and the block's images
} group_block;

/// Task `item` of the grouped kernels' numbering, `item = group * blocks + block`, with blocks of
/// `per_block` images (the last one shorter when the batch does not divide).
INLINE group_block group_block_of(const struct netc_grouped_conv *s, long item, long per_block) {
    long blocks = (s->images + per_block - 1) / per_block, first = item % blocks * per_block;
    return (group_block){item / blocks, first, s->images - first < per_block ? s->images - first : per_block};
}

/// Sixteen floats from `src` into `v`, or the first `count` and zeros (an out-parameter: a
/// returned vector of 16 would take the baseline ABI).
INLINE void load_partial(v16 *v, const float *src, long count) {
    if (count >= 16) {
        *v = *(const v16 *)src;
        return;
    }
    *v = (v16){0};
    for (long i = 0; i < count; i++) (*v)[i] = src[i];
}

/// One channel of the block, `lanes` images of `count` pixels from `src` (an image every
/// `in_plane` floats), transposed: pixel q's 16 images to `dst[at(q)]`, zeros past the last image.
INLINE void transpose_in(const float *src, long in_plane, long lanes, long count, long first_pixel, long width,
                         long padded_w, float *dst) {
    v16 r[16];
    for (int lane = 0; lane < 16; lane++) {
        if (lane < lanes) load_partial(&r[lane], src + lane * in_plane + first_pixel, count);
        else r[lane] = (v16){0};
    }
    transpose16(r);
    for (long q = 0; q < count; q++) {
        long pixel = first_pixel + q;
        *(v16 *)(dst + 16 * (pixel / width * padded_w + pixel % width)) = r[q];
    }
}

/// The input's 16 images of channels [0, cin) into `planes` ([channel][row][column][image]
/// inside the padding), from `src`'s first image of channel 0.
INLINE void fill_planes(const struct netc_grouped_conv *s, const lanes_layout *l, const float *src, long lanes,
                        float *planes) {
    long in_plane = s->height * s->width;
    for (long ci = 0; ci < s->in_channels; ci++) {
        float *inside = planes + 16 * (ci * l->plane + s->pad_h * l->padded_w + s->pad_w);
        for (long q = 0; q < in_plane; q += 16)
            transpose_in(src + ci * s->images * in_plane, in_plane, lanes, in_plane - q < 16 ? in_plane - q : 16, q,
                         s->width, l->padded_w, inside);
    }
}

/// `count` results (of the 16 at `result`) to `dst`: (the residual there +) result, + bias, then
/// ReLU as max(x, 0) that keeps a NaN. (By address, as `load_partial`: a vector of 16 passed by
/// value would take the baseline ABI.)
INLINE void finish_store(const v16 *result, float bias, int accumulate, int relu, float *dst, long count) {
    v16 sum = *result;
    if (accumulate) {
        v16 residual;
        load_partial(&residual, dst, count);
        sum = residual + sum;
    }
    sum += bias;
    if (relu) sum = (v16)((m16)sum & ~(m16)(sum <= 0));
    if (count == 16) *(v16 *)dst = sum;
    else for (long i = 0; i < count; i++) dst[i] = sum[i];
}

/// The grid's sums back to CNHW at `out` (channel r's first image at `out + r * images * pixels`),
/// 16 pixels of 16 images at a time, through `finish_store`. The grid has 16 pixels of slack past
/// its end for the last rows' loads.
INLINE void store_grid(const struct netc_grouped_conv *s, const lanes_layout *l, const float *grid, const float *bias,
                       long lanes, float *out, int accumulate, int relu) {
    for (long r = 0; r < s->out_channels; r++) {
        float b = bias ? bias[r] : 0;
        float *channel = out + r * s->images * l->pixels;
        for (long p = 0; p < l->pixels; p += 16) {
            long count = l->pixels - p < 16 ? l->pixels - p : 16;
            v16 v[16];
            for (int q = 0; q < 16; q++) v[q] = *(const v16 *)(grid + 16 * (r * l->pixels + p + q));
            transpose16(v);
            for (long lane = 0; lane < lanes; lane++)
                finish_store(&v[lane], b, accumulate, relu, channel + lane * l->pixels + p, count);
        }
    }
}

#endif
