#include <string.h>
#include "netc_kernels.h"
#include "instruction_set.h"
#include "conv_grouped_planes.h"

// The weight gradient of the direct grouped convolution (conv_direct.c), per group:
// dW[o, kk] = Σ_images Σ_p dy[o, p] x[offsets[kk] + p] over the output grid, where dy is laid on
// the grid with zeros in the columns past each row's end (so those pixels add nothing) and x is
// the image's phase planes. A tile of RB output channels x RK taps keeps RB*RK vectors of partial
// sums (lanes over p) in registers across a chunk of images whose planes stay in L2, then adds
// them to the group's partial sums in scratch; their lanes are summed once, at the end. One group
// per task, its images in order: the result does not depend on the number of threads.

/// Floats of one chunk's images (planes and dy grids) kept in scratch at once (256 KiB).
#define CHUNK_FLOATS 65536

static long chunk_images(const struct netc_grouped_conv *s, const struct direct_layout *l) {
    long per_image = s->in_channels * l->phases * l->plane + s->out_channels * l->grid;
    long chunk = CHUNK_FLOATS / per_image;
    return chunk < 1 ? 1 : chunk > s->images ? s->images : chunk;
}

static long image_floats(const struct netc_grouped_conv *s, const struct direct_layout *l) {
    return s->in_channels * l->phases * l->plane + s->out_channels * l->grid;
}

long netc_grouped_conv_filter_scratch(const struct netc_grouped_conv *s) {
    struct direct_layout l = direct_layout_of(s);
    return chunk_images(s, &l) * image_floats(s, &l) + s->out_channels * l.depth * 16;
}

/// sums[r * depth + t] += Σ_images Σ_p dy[r * grid + p] x[offsets[t] + p] for RB rows and RK taps.
#define FILTER_TILE(NAME, TARGET, RB, RK)                                                              \
    TARGET static void NAME(long images, long image_stride, long grid, const long *offsets,           \
                            const float *planes, const float *dy, v16 *sums, long depth) {             \
        v16 acc[RB][RK];                                                                               \
        for (int r = 0; r < RB; r++)                                                                   \
            for (int t = 0; t < RK; t++) acc[r][t] = sums[r * depth + t];                              \
        for (long m = 0; m < images; m++) {                                                            \
            const float *x = planes + m * image_stride, *d = dy + m * image_stride;                    \
            for (long p = 0; p < grid; p += 16) {                                                      \
                v16 dv[RB];                                                                            \
                for (int r = 0; r < RB; r++) dv[r] = *(const v16 *)(d + r * grid + p);                 \
                for (int t = 0; t < RK; t++) {                                                         \
                    v16 xv = *(const v16 *)(x + offsets[t] + p);                                       \
                    for (int r = 0; r < RB; r++) acc[r][t] += dv[r] * xv;                              \
                }                                                                                      \
            }                                                                                          \
        }                                                                                              \
        for (int r = 0; r < RB; r++)                                                                   \
            for (int t = 0; t < RK; t++) sums[r * depth + t] = acc[r][t];                              \
    }

/* One chunk: tiles of RB rows x RK taps, then the leftover taps and rows one at a time. */
#define FILTER_FAMILY(SUFFIX, TARGET, RB, RK)                                                          \
    FILTER_TILE(filter_full_##SUFFIX, TARGET, RB, RK) FILTER_TILE(filter_row_##SUFFIX, TARGET, 1, RK)  \
    FILTER_TILE(filter_tap_##SUFFIX, TARGET, RB, 1) FILTER_TILE(filter_one_##SUFFIX, TARGET, 1, 1)     \
    TARGET static void filter_chunk_##SUFFIX(long rows, long depth, long images, long image_stride,    \
                                             long grid, const long *offsets, const float *planes,      \
                                             const float *dy, v16 *sums) {                             \
        long r = 0;                                                                                    \
        for (; r + RB <= rows; r += RB) {                                                              \
            long t = 0;                                                                                \
            for (; t + RK <= depth; t += RK)                                                           \
                filter_full_##SUFFIX(images, image_stride, grid, offsets + t, planes, dy + r * grid, sums + r * depth + t, depth); \
            for (; t < depth; t++)                                                                     \
                filter_tap_##SUFFIX(images, image_stride, grid, offsets + t, planes, dy + r * grid, sums + r * depth + t, depth); \
        }                                                                                              \
        for (; r < rows; r++) {                                                                        \
            long t = 0;                                                                                \
            for (; t + RK <= depth; t += RK)                                                           \
                filter_row_##SUFFIX(images, image_stride, grid, offsets + t, planes, dy + r * grid, sums + r * depth + t, depth); \
            for (; t < depth; t++)                                                                     \
                filter_one_##SUFFIX(images, image_stride, grid, offsets + t, planes, dy + r * grid, sums + r * depth + t, depth); \
        }                                                                                              \
    }

// Registers: AVX-512 has 32 of 16 floats (24 sums + 4 of dy + 1 of x); AVX2 16 of 8 (2 x 2 x 2 + 4 + 2).
FILTER_FAMILY(avx512, __attribute__((target("avx512f"))), 4, 6)
FILTER_FAMILY(avx2, __attribute__((target("avx2,fma"))), 2, 2)
FILTER_FAMILY(baseline, , 2, 2)

typedef void chunk_function(long rows, long depth, long images, long image_stride, long grid, const long *offsets,
                            const float *planes, const float *dy, v16 *sums);

static inline __attribute__((always_inline)) void direct_filter(const struct netc_grouped_conv *s, chunk_function *chunk_sums,
                                                                const float *x, const float *dy, float *dw,
                                                                long first_group, long end_group, float *scratch) {
    struct direct_layout l = direct_layout_of(s);
    long cin = s->in_channels, cout = s->out_channels, chunk = chunk_images(s, &l), stride = image_floats(s, &l);
    long planes_size = cin * l.phases * l.plane, oh_count = s->out_height, ow_count = s->out_width;
    // Padding and the grid's dropped columns stay zero: each image writes only interiors.
    memset(scratch, 0, chunk * stride * sizeof(float));
    v16 *sums = (v16 *)(scratch + chunk * stride);
    long offsets[l.depth];
    tap_offsets(s, &l, offsets);
    for (long g = first_group; g < end_group; g++) {
        memset(sums, 0, cout * l.depth * sizeof(v16));
        for (long n0 = 0; n0 < s->images; n0 += chunk) {
            long count = s->images - n0 < chunk ? s->images - n0 : chunk;
            for (long m = 0; m < count; m++) {
                float *planes = scratch + m * stride, *grid = planes + planes_size;
                split_phases(s, &l, x, g, n0 + m, planes);
                for (long o = 0; o < cout; o++) {
                    const float *src = dy + ((g * cout + o) * s->images + n0 + m) * oh_count * ow_count;
                    for (long oh = 0; oh < oh_count; oh++)
                        copy_row(src + oh * ow_count, ow_count, grid + o * l.grid + oh * l.plane_width);
                }
            }
            chunk_sums(cout, l.depth, count, stride, l.grid, offsets, scratch, scratch + planes_size, sums);
        }
        for (long o = 0; o < cout; o++)
            for (long t = 0; t < l.depth; t++) {
                float sum = 0;
                for (int lane = 0; lane < 16; lane++) sum += sums[o * l.depth + t][lane];
                dw[(g * cout + o) * l.depth + t] = sum;
            }
    }
}

#define FILTER_ENTRY(SUFFIX, TARGET)                                                                   \
    TARGET static void filter_##SUFFIX(const struct netc_grouped_conv *s, const float *x, const float *dy, \
                                       float *dw, long first_group, long end_group, float *scratch) {  \
        direct_filter(s, filter_chunk_##SUFFIX, x, dy, dw, first_group, end_group, scratch);          \
    }
FILTER_ENTRY(avx512, __attribute__((target("avx512f"))))
FILTER_ENTRY(avx2, __attribute__((target("avx2,fma"))))
FILTER_ENTRY(baseline, )

void netc_grouped_conv_filter(const struct netc_grouped_conv *s, const float *x, const float *dy, float *dw,
                             long first_group, long end_group, float *scratch, int instruction_set) {
    if (instruction_set < 0) {
        NETC_DISPATCH(filter, s, x, dy, dw, first_group, end_group, scratch);
        return;
    }
    int level = instruction_set < netc_instruction_set() ? instruction_set : netc_instruction_set();
    if (level == 2) filter_avx512(s, x, dy, dw, first_group, end_group, scratch);
    else if (level == 1) filter_avx2(s, x, dy, dw, first_group, end_group, scratch);
    else filter_baseline(s, x, dy, dw, first_group, end_group, scratch);
}
