#include <immintrin.h>
#include <string.h>
#include "netc_kernels.h"
#include "instruction_set.h"
#include "conv_lanes.h"

// Grouped convolution with a group's output channels in the vector lanes (ResNeXt's groups of 16
// channels: one vector), as ONNX Runtime's NCHWc kernels lay them out, but on CNHW. Per (group,
// block of images): the block's input planes are copied once, a row a vector, inside zero
// padding; each output pixel is then a sum over the group's input channels and taps of one input
// value, broadcast, times a vector of that tap's weights for the 16 output channels, RR x RW
// pixels of those sums kept in registers. Nothing is transposed on the way in, which is where the
// images-in-lanes kernel spends its time at stride 2 (its input is four times its output). The
// sums land pixel-major in a grid; a channel's pixels of consecutive images are consecutive in
// CNHW, so the grid goes back 16 pixels at a time through one 16 x 16 transpose, with the epilogue
// (residual, bias, ReLU). Each output sums its products in one order (channel, then tap row, then
// tap column), the images-in-lanes kernel's, whatever the split. Strides 1 and 2, compiled in (a
// tap's pixels then lie a constant apart); once per instruction set (AVX-512, AVX2, baseline),
// chosen at run time.

typedef struct {
    long padded_w, plane;  // a padded input plane's row and size
    long image;            // floats of one image's padded planes
    long images;           // images per block
    long pixels;           // output pixels of a block
    long depth;            // products an output sums: in_channels x kernel taps
} channels_layout;

/// The next item's input, fetched into L2 a share at a time while this item computes: copying it
/// at its turn would wait on memory with nothing else to do (a stride-2 layer's input is four
/// times its output). Runs of `run` floats, `stride` apart, `lines` cache lines in all, walked
/// without a division a line (two divisions a line took 6-11% of the kernel's time).
typedef struct {
    const float *at;   // the current run
    long offset;       // the next line's, in the run
    long run, stride;
    long lines;        // lines still to fetch
} prefetcher;

INLINE void prefetch_some(prefetcher *p, long count) {
    for (; count > 0 && p->lines > 0; count--, p->lines--) {
        __builtin_prefetch(p->at + p->offset, 0, 2);
        for (p->offset += 16; p->offset >= p->run; p->offset -= p->run) p->at += p->stride;
    }
}

static channels_layout channels_layout_of(const struct netc_grouped_conv *s) {
    channels_layout l;
    l.padded_w = s->width + 2 * s->pad_w;
    l.plane = (s->height + 2 * s->pad_h) * l.padded_w;
    l.image = s->in_channels * l.plane;
    // Blocks of images whose planes fit in 128 KiB of L2: three images of 16 channels at 24x24,
    // up to sixteen on smaller maps, whose few rows would leave a tile's rows half empty.
    long fit = 32768 / l.image;
    l.images = fit < 1 ? 1 : fit > 16 ? 16 : fit;
    if (l.images > s->images) l.images = s->images;
    l.pixels = l.images * s->out_height * s->out_width;
    l.depth = s->in_channels * s->kernel_h * s->kernel_w;
    return l;
}

long netc_grouped_channels_blocks(const struct netc_grouped_conv *s) {
    channels_layout l = channels_layout_of(s);
    return (s->images + l.images - 1) / l.images;
}

long netc_grouped_channels_scratch(const struct netc_grouped_conv *s) {
    channels_layout l = channels_layout_of(s);
    // Planes, the output grid (16 floats a pixel, 16 pixels of slack for the last transpose), the
    // weights as 16-float vectors, and an offset (a long) per product.
    return l.images * l.image + 16 * (l.pixels + 16) + 16 * l.depth + 2 * l.depth;
}

/// out[r][c] (16 channels each) = Σ_kk w[kk] · in[r][offsets[kk] + SW·c] for RR rows of RW pixels.
#define CHANNELS_TILE(NAME, TARGET, RR, RW, SW)                                                        \
    TARGET static void NAME(long depth, const long *offsets, const float *const *in, const float *w,  \
                            float *const *out) {                                                       \
        v16 acc[RR][RW];                                                                               \
        _Pragma("clang loop unroll(full)") for (int r = 0; r < RR; r++)                                \
            _Pragma("clang loop unroll(full)") for (int c = 0; c < RW; c++) acc[r][c] = (v16){0};      \
        const float *row[RR];                                                                          \
        _Pragma("clang loop unroll(full)") for (int r = 0; r < RR; r++) row[r] = in[r];                \
        for (long kk = 0; kk < depth; kk++) {                                                          \
            long o = offsets[kk];                                                                      \
            v16 wv = *(const v16 *)(w + 16 * kk);                                                      \
            _Pragma("clang loop unroll(full)") for (int r = 0; r < RR; r++)                            \
                _Pragma("clang loop unroll(full)") for (int c = 0; c < RW; c++)                        \
                    acc[r][c] += row[r][o + (SW) * c] * wv;                                            \
        }                                                                                              \
        _Pragma("clang loop unroll(full)") for (int r = 0; r < RR; r++)                                \
            _Pragma("clang loop unroll(full)") for (int c = 0; c < RW; c++)                            \
                *(v16 *)(out[r] + 16 * c) = acc[r][c];                                                 \
    }

/// A block's rows (image, output row) `first` to `first + HEIGHT`: RW pixels at a time by `TILE`,
/// then one at a time by `NARROW`.
#define CHANNELS_ROWS(TILE, NARROW, HEIGHT, RW, SW)                                                    \
    do {                                                                                               \
        for (long k = 0; k < (HEIGHT); k++) {                                                          \
            long image = (first + k) / s->out_height, oh = (first + k) % s->out_height;               \
            in[k] = planes + image * l->image + oh * s->stride_h * l->padded_w;                        \
            out[k] = grid + 16 * (first + k) * s->out_width;                                           \
        }                                                                                              \
        long c = 0;                                                                                    \
        for (; c + (RW) <= s->out_width; c += (RW)) {                                                  \
            TILE(l->depth, offsets, in, w, out);                                                       \
            for (long k = 0; k < (HEIGHT); k++) in[k] += (SW) * (RW), out[k] += 16 * (RW);             \
        }                                                                                              \
        for (; c < s->out_width; c++) {                                                                \
            NARROW(l->depth, offsets, in, w, out);                                                     \
            for (long k = 0; k < (HEIGHT); k++) in[k] += (SW), out[k] += 16;                           \
        }                                                                                              \
    } while (0)

/* One family per stride SW and row width RW, with RR = BUDGET / RW rows (BUDGET: the sums that
   fit in registers): a block's rows RR at a time, then one at a time. */
#define CHANNELS_FAMILY(SUFFIX, TARGET, BUDGET, SW, RW)                                                \
    CHANNELS_TILE(full_##SUFFIX##_##SW##_##RW, TARGET, (BUDGET) / (RW), RW, SW)                        \
    CHANNELS_TILE(column_##SUFFIX##_##SW##_##RW, TARGET, (BUDGET) / (RW), 1, SW)                       \
    CHANNELS_TILE(row_##SUFFIX##_##SW##_##RW, TARGET, 1, RW, SW)                                       \
    CHANNELS_TILE(one_##SUFFIX##_##SW##_##RW, TARGET, 1, 1, SW)                                        \
    TARGET static void block_##SUFFIX##_##SW##_##RW(const struct netc_grouped_conv *s,                 \
                                                    const channels_layout *l, long images,             \
                                                    const long *offsets, const float *planes,          \
                                                    const float *w, float *grid, prefetcher *next) {   \
        enum { RR = (BUDGET) / (RW) };                                                                 \
        long rows = images * s->out_height, first = 0;                                                 \
        long share = next->lines / ((rows + RR - 1) / RR) + 1;                                         \
        const float *in[RR];                                                                           \
        float *out[RR];                                                                                \
        for (; first + RR <= rows; first += RR) {                                                      \
            prefetch_some(next, share);                                                                \
            CHANNELS_ROWS(full_##SUFFIX##_##SW##_##RW, column_##SUFFIX##_##SW##_##RW, RR, RW, SW);     \
        }                                                                                              \
        for (; first < rows; first++) {                                                                \
            prefetch_some(next, share);                                                                \
            CHANNELS_ROWS(row_##SUFFIX##_##SW##_##RW, one_##SUFFIX##_##SW##_##RW, 1, RW, SW);          \
        }                                                                                              \
    }

/// The widest of the row widths within `budget` sums (those `WIDTHS_*` compiles) that covers a
/// row of `out_width` pixels in the fewest tiles (a row's remainder goes a pixel at a time).
static long row_width(long out_width, long budget) {
    long best = 0, best_tiles = 0;
    static const long widths[] = {12, 8, 6, 4, 3};
    for (unsigned i = 0; i < sizeof widths / sizeof *widths; i++) {
        long width = widths[i], tiles = out_width / width + out_width % width;
        if (width <= budget && (!best || tiles < best_tiles)) best = width, best_tiles = tiles;
    }
    return best;
}

/// The row widths each instruction set's families are compiled for: those whose sums fit its
/// registers (see the budgets below), as `row_width` chooses among them. F(..., RW) for each.
#define WIDTHS_avx512(F, ...) F(__VA_ARGS__, 12) F(__VA_ARGS__, 8) F(__VA_ARGS__, 6) F(__VA_ARGS__, 4) F(__VA_ARGS__, 3)
#define WIDTHS_avx2(F, ...) F(__VA_ARGS__, 6) F(__VA_ARGS__, 4) F(__VA_ARGS__, 3)
#define WIDTHS_baseline(F, ...) F(__VA_ARGS__, 3)

#define CHANNELS_CASE(SUFFIX, SW, RW)                                                                  \
    case RW: block_##SUFFIX##_##SW##_##RW(s, l, images, offsets, planes, w, grid, next); break;

#define CHANNELS_STRIDE(SUFFIX, TARGET, BUDGET, SW)                                                    \
    WIDTHS_##SUFFIX(CHANNELS_FAMILY, SUFFIX, TARGET, BUDGET, SW)                                       \
    TARGET static void block_##SUFFIX##_##SW(const struct netc_grouped_conv *s, const channels_layout *l, \
                                             long images, const long *offsets, const float *planes,    \
                                             const float *w, float *grid, prefetcher *next) {          \
        switch (row_width(s->out_width, BUDGET)) { WIDTHS_##SUFFIX(CHANNELS_CASE, SUFFIX, SW) }        \
    }

/// `count` floats from `src` to `dst`: a padded row's neighbours must keep their zeros, and nothing
/// past `src`'s row may be read. AVX-512 with masked moves; AVX2 in 8s, then a 4, a 2 and a 1, as
/// its masked store is slow on AMD (stage 4's 6-float rows, one core: 5.4 -> 4.6 ms a convolution;
/// with the prefetcher's walk above, 4.5 -> 3.7-3.9).
__attribute__((target("avx512f"))) static void copy_row_avx512(const float *src, long count, float *dst) {
    for (long j = 0; j < count; j += 16) {
        __mmask16 mask = count - j >= 16 ? 0xffff : (__mmask16)((1u << (count - j)) - 1);
        _mm512_mask_storeu_ps(dst + j, mask, _mm512_maskz_loadu_ps(mask, src + j));
    }
}
__attribute__((target("avx2,fma"))) static void copy_row_avx2(const float *src, long count, float *dst) {
    long j = 0;
    for (; j + 8 <= count; j += 8) _mm256_storeu_ps(dst + j, _mm256_loadu_ps(src + j));
    if (j + 4 <= count) _mm_storeu_ps(dst + j, _mm_loadu_ps(src + j)), j += 4;
    if (j + 2 <= count) { double d; memcpy(&d, src + j, 8); memcpy(dst + j, &d, 8); j += 2; }
    if (j < count) dst[j] = src[j];
}
static void copy_row_baseline(const float *src, long count, float *dst) { memcpy(dst, src, sizeof(float) * (size_t)count); }

/// The grid's sums (pixel-major, 16 channels a pixel) back to CNHW at `out` (channel r's first
/// pixel at `out + r * channel_stride`; a block's pixels are consecutive there), 16 pixels at a
/// time, through `finish_store`.
INLINE void store_channels(const struct netc_grouped_conv *s, long pixels, const float *grid, const float *bias,
                           float *out, long channel_stride, int accumulate, int relu) {
    for (long p = 0; p < pixels; p += 16) {
        long count = pixels - p < 16 ? pixels - p : 16;
        v16 v[16];
        for (int q = 0; q < 16; q++) v[q] = *(const v16 *)(grid + 16 * (p + q));
        transpose16(v);
        for (long r = 0; r < s->out_channels; r++)
            finish_store(&v[r], bias ? bias[r] : 0, accumulate, relu, out + r * channel_stride + p, count);
    }
}

/* One (group, block of images): copy the input rows inside the padding (which stays zero from the
   start of the call), sum, store. */
#define CHANNELS_ITEM(SUFFIX, TARGET, BUDGET)                                                          \
    CHANNELS_STRIDE(SUFFIX, TARGET, BUDGET, 1) CHANNELS_STRIDE(SUFFIX, TARGET, BUDGET, 2)              \
    TARGET static void item_##SUFFIX(const struct netc_grouped_conv *s, const channels_layout *l,     \
                                     const float *x, long images, const long *offsets, float *planes,  \
                                     const float *w, float *grid, const float *bias, float *y,         \
                                     int accumulate, int relu, prefetcher *next) {                     \
        long in_plane = s->height * s->width;                                                          \
        for (long b = 0; b < images; b++)                                                              \
            for (long ci = 0; ci < s->in_channels; ci++) {                                             \
                const float *src = x + (ci * s->images + b) * in_plane;                                \
                float *inside = planes + b * l->image + ci * l->plane + s->pad_h * l->padded_w + s->pad_w; \
                for (long iy = 0; iy < s->height; iy++)                                                \
                    copy_row_##SUFFIX(src + iy * s->width, s->width, inside + iy * l->padded_w);       \
            }                                                                                          \
        if (s->stride_w == 1) block_##SUFFIX##_1(s, l, images, offsets, planes, w, grid, next);        \
        else block_##SUFFIX##_2(s, l, images, offsets, planes, w, grid, next);                         \
        long out_plane = s->out_height * s->out_width;                                                 \
        store_channels(s, images * out_plane, grid, bias, y, s->images * out_plane, accumulate, relu); \
    }

// Registers: AVX-512 has 32 of 16 floats (24 sums, a weight vector); AVX2 16 of 8, two a vector of
// 16 (6 sums: 12, and the weights' 2); baseline 16 of 4, four a vector (3 sums: 12, and 4).
CHANNELS_ITEM(avx512, __attribute__((target("avx512f"))), 24)
CHANNELS_ITEM(avx2, __attribute__((target("avx2,fma"))), 6)
CHANNELS_ITEM(baseline, , 3)

/// Where group `group`'s input channels begin for image `first`.
static const float *input(const struct netc_grouped_conv *s, const float *x, long group, long first) {
    return x + (group * s->in_channels * s->images + first) * s->height * s->width;
}

void netc_grouped_channels(const struct netc_grouped_conv *s, const float *x, const float *w, const float *bias,
                           float *y, int accumulate, int relu, long first_item, long end_item, float *scratch,
                           int instruction_set) {
    channels_layout l = channels_layout_of(s);
    long cin = s->in_channels, cout = s->out_channels;
    long in_plane = s->height * s->width, out_plane = s->out_height * s->out_width;
    float *planes = scratch, *grid = planes + l.images * l.image, *packed = grid + 16 * (l.pixels + 16);
    long *offsets = (long *)(packed + 16 * l.depth);
    for (long ci = 0, kk = 0; ci < cin; ci++)
        for (long ki = 0; ki < s->kernel_h; ki++)
            for (long kj = 0; kj < s->kernel_w; kj++) offsets[kk++] = ci * l.plane + ki * l.padded_w + kj;
    memset(planes, 0, sizeof(float) * l.images * l.image);
    int level = instruction_set < 0 ? netc_instruction_set() : instruction_set;
    long packed_group = -1;
    for (long item = first_item; item < end_item; item++) {
        group_block b = group_block_of(s, item, l.images);
        long group = b.group, first = b.first, images = b.images;
        if (group != packed_group) {  // the group's weights as vectors of its output channels: w[kk][r]
            memset(packed, 0, sizeof(float) * 16 * l.depth);
            for (long r = 0; r < cout; r++)
                for (long kk = 0; kk < l.depth; kk++) packed[kk * 16 + r] = w[(group * cout + r) * l.depth + kk];
            packed_group = group;
        }
        prefetcher next = {0};
        if (item + 1 < end_item) {
            group_block n = group_block_of(s, item + 1, l.images);
            next = (prefetcher){.at = input(s, x, n.group, n.first), .run = n.images * in_plane,
                                .stride = s->images * in_plane};
            next.lines = (cin * next.run + 15) / 16;
        }
        NETC_DISPATCH_AT(level, item, s, &l, input(s, x, group, first), images, offsets, planes, packed, grid,
                         bias ? bias + group * cout : 0, y + (group * cout * s->images + first) * out_plane,
                         accumulate, relu, &next);
    }
}
