#include <string.h>
#include "netc_kernels.h"
#include "instruction_set.h"
#include "conv_lanes.h"

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

LANES_FAMILIES

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
    long cin = s->in_channels, cout = s->out_channels;
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
        group_block b = group_block_of(s, item, 16);
        long group = b.group, first = b.first, lanes = b.images;
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
