#include <string.h>
#include "netc_kernels.h"
#include "instruction_set.h"
#include "conv_grouped_planes.h"

// Direct convolution of groups with few channels (ResNeXt's 16 in, 16 out per group), one image
// and group at a time on CNHW planes. The image's group of input planes is copied once into
// zero-padded scratch, split by stride into phase planes (stride 2: even and odd rows times even
// and odd columns), all of one width Wq. On that grid output pixel (oh, ow) sits at oh*Wq + ow and
// tap (ki, kj) of channel i reads its phase plane at that index plus a constant, so the sum over
// channels and taps is a shallow GEMM whose B rows are shifted views of the planes (an offset per
// row: im2col without the copy). A tile of RB output channels x NV*16 grid pixels stays in
// registers through all Cin*KH*KW products, loading NV vectors and broadcasting RB weights per
// step. The grid's Wq - OW columns past each row's end are computed and dropped when the epilogue
// (residual, bias, ReLU) copies the grid into the output planes. Compiled once per instruction set
// (AVX-512, AVX2, baseline) and chosen at run time.

long netc_grouped_conv_scratch(const struct netc_grouped_conv *s) {
    struct direct_layout l = direct_layout_of(s);
    return s->in_channels * l.phases * l.plane + s->out_channels * l.grid + l.depth * s->out_channels;
}

/// One tile: out[r, 0..<NV*16] = Σ_kk w[kk, r] x[offsets[kk] + 0..<NV*16], for RB rows.
#define DIRECT_TILE(NAME, TARGET, RB, NV)                                                              \
    TARGET static void NAME(long depth, const long *offsets, const float *x, const float *w, long ldw, \
                            float *out, long ldo) {                                                    \
        v16 acc[RB][NV];                                                                               \
        for (int r = 0; r < RB; r++)                                                                   \
            for (int v = 0; v < NV; v++) acc[r][v] = (v16){0};                                         \
        for (long kk = 0; kk < depth; kk++) {                                                          \
            const float *src = x + offsets[kk], *wk = w + kk * ldw;                                    \
            v16 xv[NV];                                                                                \
            for (int v = 0; v < NV; v++) xv[v] = *(const v16 *)(src + 16 * v);                        \
            for (int r = 0; r < RB; r++) {                                                             \
                float s = wk[r];                                                                       \
                for (int v = 0; v < NV; v++) acc[r][v] += s * xv[v];                                   \
            }                                                                                          \
        }                                                                                              \
        for (int r = 0; r < RB; r++)                                                                   \
            for (int v = 0; v < NV; v++) *(v16 *)(out + r * ldo + 16 * v) = acc[r][v];                 \
    }

/* The grid of `rows` output channels x `columns` pixels (a multiple of 16): blocks of NV*16
   columns, then of 16; within one, rows RB at a time, then 4, then one. Weights are k-major,
   w[kk * rows + r]; out is `[rows, columns]`. */
#define DIRECT_FAMILY(SUFFIX, TARGET, RB, NV)                                                          \
    DIRECT_TILE(wide_##SUFFIX, TARGET, RB, NV) DIRECT_TILE(wide_four_##SUFFIX, TARGET, 4, NV)          \
    DIRECT_TILE(wide_row_##SUFFIX, TARGET, 1, NV) DIRECT_TILE(narrow_##SUFFIX, TARGET, RB, 1)          \
    DIRECT_TILE(narrow_four_##SUFFIX, TARGET, 4, 1) DIRECT_TILE(narrow_row_##SUFFIX, TARGET, 1, 1)     \
    TARGET static void grid_##SUFFIX(long rows, long depth, const long *offsets, const float *x,       \
                                     const float *w, float *out, long columns) {                       \
        long j = 0;                                                                                    \
        for (; j + 16 * NV <= columns; j += 16 * NV) {                                                 \
            long r = 0;                                                                                \
            for (; r + RB <= rows; r += RB) wide_##SUFFIX(depth, offsets, x + j, w + r, rows, out + r * columns + j, columns); \
            for (; r + 4 <= rows; r += 4) wide_four_##SUFFIX(depth, offsets, x + j, w + r, rows, out + r * columns + j, columns); \
            for (; r < rows; r++) wide_row_##SUFFIX(depth, offsets, x + j, w + r, rows, out + r * columns + j, columns); \
        }                                                                                              \
        for (; j < columns; j += 16) {                                                                 \
            long r = 0;                                                                                \
            for (; r + RB <= rows; r += RB) narrow_##SUFFIX(depth, offsets, x + j, w + r, rows, out + r * columns + j, columns); \
            for (; r + 4 <= rows; r += 4) narrow_four_##SUFFIX(depth, offsets, x + j, w + r, rows, out + r * columns + j, columns); \
            for (; r < rows; r++) narrow_row_##SUFFIX(depth, offsets, x + j, w + r, rows, out + r * columns + j, columns); \
        }                                                                                              \
    }

// Registers: AVX-512 has 32 of 16 floats (24 results + 3 of the input); AVX2 16 of 8 (6 x 2 + 2).
DIRECT_FAMILY(avx512, __attribute__((target("avx512f"))), 8, 3)
DIRECT_FAMILY(avx2, __attribute__((target("avx2,fma"))), 6, 1)
DIRECT_FAMILY(baseline, , 4, 1)

typedef void grid_function(long rows, long depth, const long *offsets, const float *x, const float *w, float *out,
                           long columns);

/// Group `g`'s weights k-major (`packed[kk * Cout + r]`, kk = (i, ki, kj)); for a data gradient,
/// the forward's weights with input and output swapped and the taps reversed.
static void pack_weights(const struct netc_grouped_conv *s, const float *w, long g, float *packed) {
    long cin = s->in_channels, cout = s->out_channels, taps = s->kernel_h * s->kernel_w;
    for (long i = 0; i < cin; i++)
        for (long t = 0; t < taps; t++)
            for (long r = 0; r < cout; r++)
                packed[(i * taps + t) * cout + r] = s->data_gradient
                    ? w[((g * cin + i) * cout + r) * taps + (taps - 1 - t)]
                    : w[((g * cout + r) * cin + i) * taps + t];
}

/// The grid's valid pixels into the output planes: (+ the residual already there) + bias, ReLU.
static inline __attribute__((always_inline)) void finish(const struct netc_grouped_conv *s, const struct direct_layout *l, const float *grid, long g,
                   long image, const float *bias, float *y, int accumulate, int relu) {
    long oh_count = s->out_height, ow_count = s->out_width;
    for (long o = 0; o < s->out_channels; o++) {
        float b = bias ? bias[g * s->out_channels + o] : 0;
        float *dst = y + ((g * s->out_channels + o) * s->images + image) * oh_count * ow_count;
        for (long oh = 0; oh < oh_count; oh++) {
            const float *src = grid + o * l->grid + oh * l->plane_width;
            float *out = dst + oh * ow_count;
            for (long ow = 0; ow < ow_count; ow++) {
                float v = accumulate ? out[ow] + src[ow] : src[ow];
                if (bias) v += b;
                // max(v, 0) that keeps a NaN (the comparison is false) and turns -0 into +0.
                out[ow] = relu && v <= 0 ? 0 : v;
            }
        }
    }
}

static inline __attribute__((always_inline)) void direct_conv(const struct netc_grouped_conv *s, grid_function *grid, const float *x, const float *w,
                        const float *bias, float *y, int accumulate, int relu, long first_item, long end_item,
                        float *scratch) {
    struct direct_layout l = direct_layout_of(s);
    long cin = s->in_channels, cout = s->out_channels;
    float *phases = scratch, *out = phases + cin * l.phases * l.plane, *packed = out + cout * l.grid;
    memset(phases, 0, cin * l.phases * l.plane * sizeof(float));
    long offsets[l.depth];
    tap_offsets(s, &l, offsets);
    long packed_group = -1;
    for (long item = first_item; item < end_item; item++) {
        long g = item / s->images, image = item % s->images;
        if (g != packed_group) pack_weights(s, w, g, packed), packed_group = g;
        split_phases(s, &l, x, g, image, phases);
        grid(cout, l.depth, offsets, phases, packed, out, l.grid);
        finish(s, &l, out, g, image, bias, y, accumulate, relu);
    }
}

// Each copy inlines the driver, so its copies and epilogue are vectorised for that instruction set too.
#define DIRECT_ENTRY(SUFFIX, TARGET)                                                                   \
    TARGET static void direct_##SUFFIX(const struct netc_grouped_conv *s, const float *x, const float *w,      \
                                const float *bias, float *y, int accumulate, int relu, long first_item, \
                                long end_item, float *scratch) {                                        \
        direct_conv(s, grid_##SUFFIX, x, w, bias, y, accumulate, relu, first_item, end_item, scratch);  \
    }
DIRECT_ENTRY(avx512, __attribute__((target("avx512f"))))
DIRECT_ENTRY(avx2, __attribute__((target("avx2,fma"))))
DIRECT_ENTRY(baseline, )


void netc_grouped_conv(const struct netc_grouped_conv *s, const float *x, const float *w, const float *bias, float *y,
                      int accumulate, int relu, long first_item, long end_item, float *scratch, int instruction_set) {
    if (instruction_set < 0) {
        NETC_DISPATCH(direct, s, x, w, bias, y, accumulate, relu, first_item, end_item, scratch);
        return;
    }
    int level = instruction_set < netc_instruction_set() ? instruction_set : netc_instruction_set();
    if (level == 2) direct_avx512(s, x, w, bias, y, accumulate, relu, first_item, end_item, scratch);
    else if (level == 1) direct_avx2(s, x, w, bias, y, accumulate, relu, first_item, end_item, scratch);
    else direct_baseline(s, x, w, bias, y, accumulate, relu, first_item, end_item, scratch);
}
