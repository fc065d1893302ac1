#include <string.h>
#include "netc_kernels.h"
#include "instruction_set.h"

// Grouped convolution on small maps (ResNeXt's 3x3s on 6x6 and 3x3 maps), sixteen images at a
// time, one image per vector lane. On such maps a row holds too few pixels to fill a vector (the
// grouped direct kernel's grid is a quarter padding on 6x6, nearly half on 3x3) and im2col copies
// each pixel nine times for GEMMs of 16 rows; with images in the lanes every vector is full
// whatever the map. Per (group, block of 16 images): the block's input planes are copied once,
// transposed to [channel][row][column][image] with zero padding around; each output pixel is then
// a sum over the group's channels and taps of a broadcast weight times one vector of 16 images,
// RC output channels x RP pixels of those sums kept in registers. The epilogue (residual, bias,
// ReLU) is applied as the results are transposed back to CNHW. Each output sums its products in
// one order (channel, then tap row, then tap column) whatever the split. Compiled once per
// instruction set (AVX-512, AVX2, baseline) and chosen at run time.

typedef float v16 __attribute__((vector_size(64), aligned(4)));
typedef int m16 __attribute__((vector_size(64)));

/// Where one worker's scratch holds what.
typedef struct {
    long padded_h, padded_w, plane;  // padded input plane, in pixels (of 16 images each)
    long pixels;                     // output pixels a plane
    long depth;                      // products an output sums: in_channels x kernel taps
} lanes_layout;

static lanes_layout lanes_layout_of(const struct netc_grouped_conv *s) {
    lanes_layout l;
    l.padded_h = s->height + 2 * s->pad_h;
    l.padded_w = s->width + 2 * s->pad_w;
    l.plane = l.padded_h * l.padded_w;
    l.pixels = s->out_height * s->out_width;
    l.depth = s->in_channels * s->kernel_h * s->kernel_w;
    return l;
}

/// Floats of the packed weights, rounded up to even: the offsets after them are longs.
static long packed_count(const lanes_layout *l, const struct netc_grouped_conv *s) {
    return (l->depth * s->out_channels + 1) & ~1L;
}

long netc_grouped_lanes_scratch(const struct netc_grouped_conv *s) {
    lanes_layout l = lanes_layout_of(s);
    // Input planes and output grid (16 floats a pixel, and 16 pixels of slack), the weights
    // k-major, an offset per product and one per output pixel.
    return 16 * (s->in_channels * l.plane + s->out_channels * l.pixels + 16) + packed_count(&l, s)
           + 2 * (l.depth + l.pixels);
}

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
   those, channels RC at a time, then one at a time. */
#define LANES_FAMILY(SUFFIX, TARGET, RC, RP)                                                           \
    LANES_TILE(full_##SUFFIX, TARGET, RC, RP) LANES_TILE(channel_##SUFFIX, TARGET, 1, RP)             \
    LANES_TILE(pixel_##SUFFIX, TARGET, RC, 1) LANES_TILE(one_##SUFFIX, TARGET, 1, 1)                  \
    TARGET static void block_##SUFFIX(long channels, long pixels, long depth, const long *offsets,    \
                                      const long *at, const float *x, const float *w, float *out) {   \
        long p = 0;                                                                                    \
        for (; p + RP <= pixels; p += RP) {                                                            \
            long r = 0;                                                                                \
            for (; r + RC <= channels; r += RC)                                                        \
                full_##SUFFIX(depth, offsets, at + p, x, w + r, channels, out + 16 * (r * pixels + p), pixels); \
            for (; r < channels; r++)                                                                  \
                channel_##SUFFIX(depth, offsets, at + p, x, w + r, channels, out + 16 * (r * pixels + p), pixels); \
        }                                                                                              \
        for (; p < pixels; p++) {                                                                      \
            long r = 0;                                                                                \
            for (; r + RC <= channels; r += RC)                                                        \
                pixel_##SUFFIX(depth, offsets, at + p, x, w + r, channels, out + 16 * (r * pixels + p), pixels); \
            for (; r < channels; r++)                                                                  \
                one_##SUFFIX(depth, offsets, at + p, x, w + r, channels, out + 16 * (r * pixels + p), pixels); \
        }                                                                                              \
    }

// Registers: AVX-512 has 32 of 16 floats (24 sums, 3 inputs, a weight); AVX2 16 of 8, two a
// vector of 16 (6 x 1 sums, 1 input, a weight: 15); baseline 16 of 4, four a vector.
LANES_FAMILY(avx512, __attribute__((target("avx512f"))), 8, 3)
LANES_FAMILY(avx2, __attribute__((target("avx2,fma"))), 6, 1)
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

/// The grid's sums back to CNHW at `out` (channel r's first image at `out + r * images * pixels`),
/// 16 pixels of 16 images at a time: (residual +) sum, + bias, then ReLU as max(x, 0) that keeps a
/// NaN. The grid has 16 pixels of slack past its end for the last rows' loads.
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
            for (long lane = 0; lane < lanes; lane++) {
                float *dst = channel + lane * l->pixels + p;
                v16 sum = v[lane];
                if (accumulate) {
                    v16 residual;
                    load_partial(&residual, dst, count);
                    sum = residual + sum;
                }
                sum += b;
                if (relu) sum = (v16)((m16)sum & ~(m16)(sum <= 0));
                if (count == 16) *(v16 *)dst = sum;
                else for (long i = 0; i < count; i++) dst[i] = sum[i];
            }
        }
    }
}

/* One (group, block of 16 images): transpose in, sum, transpose out. */
#define LANES_ITEM(SUFFIX, TARGET)                                                                     \
    TARGET static void item_##SUFFIX(const struct netc_grouped_conv *s, const lanes_layout *l,         \
                                     const float *x, const float *packed, const float *bias, float *y, \
                                     long lanes, int accumulate, int relu, const long *offsets,        \
                                     const long *at, float *planes, float *grid) {                     \
        fill_planes(s, l, x, lanes, planes);                                                           \
        block_##SUFFIX(s->out_channels, l->pixels, l->depth, offsets, at, planes, packed, grid);      \
        store_grid(s, l, grid, bias, lanes, y, accumulate, relu);                                      \
    }
LANES_ITEM(avx512, __attribute__((target("avx512f"))))
LANES_ITEM(avx2, __attribute__((target("avx2,fma"))))
LANES_ITEM(baseline, )

void netc_grouped_lanes(const struct netc_grouped_conv *s, const float *x, const float *w, const float *bias,
                        float *y, int accumulate, int relu, long first_item, long end_item, float *scratch,
                        int instruction_set) {
    lanes_layout l = lanes_layout_of(s);
    long cin = s->in_channels, cout = s->out_channels, blocks = (s->images + 15) / 16;
    float *planes = scratch, *grid = planes + 16 * cin * l.plane, *packed = grid + 16 * (cout * l.pixels + 16);
    long *offsets = (long *)(packed + packed_count(&l, s)), *at = offsets + l.depth;
    for (long ci = 0, kk = 0; ci < cin; ci++)
        for (long ki = 0; ki < s->kernel_h; ki++)
            for (long kj = 0; kj < s->kernel_w; kj++) offsets[kk++] = 16 * (ci * l.plane + ki * l.padded_w + kj);
    for (long oh = 0, p = 0; oh < s->out_height; oh++)
        for (long ow = 0; ow < s->out_width; ow++) at[p++] = 16 * (oh * s->stride_h * l.padded_w + ow * s->stride_w);
    // The padding stays zero: each block writes only the planes' insides.
    memset(planes, 0, sizeof(float) * 16 * cin * l.plane);
    int level = instruction_set < 0 ? netc_instruction_set() : instruction_set;
    long packed_group = -1;
    for (long item = first_item; item < end_item; item++) {
        long group = item / blocks, first = item % blocks * 16;
        long lanes = s->images - first < 16 ? s->images - first : 16;
        if (group != packed_group) {  // the group's weights k-major: w[kk][r]
            for (long r = 0; r < cout; r++)
                for (long kk = 0; kk < l.depth; kk++) packed[kk * cout + r] = w[(group * cout + r) * l.depth + kk];
            packed_group = group;
        }
        NETC_DISPATCH_AT(level, item, s, &l, x + (group * cin * s->images + first) * s->height * s->width, packed,
                         bias ? bias + group * cout : 0, y + (group * cout * s->images + first) * l.pixels, lanes,
                         accumulate, relu, offsets, at, planes, grid);
    }
}
