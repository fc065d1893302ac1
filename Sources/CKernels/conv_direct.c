#include <string.h>
#include "netc_kernels.h"
#include "instruction_set.h"

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

static struct direct_layout direct_layout_of(const struct netc_direct_conv *s) {
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

long netc_direct_conv_scratch(const struct netc_direct_conv *s) {
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
static void pack_weights(const struct netc_direct_conv *s, const float *w, long g, float *packed) {
    long cin = s->in_channels, cout = s->out_channels, taps = s->kernel_h * s->kernel_w;
    for (long i = 0; i < cin; i++)
        for (long t = 0; t < taps; t++)
            for (long r = 0; r < cout; r++)
                packed[(i * taps + t) * cout + r] = s->data_gradient
                    ? w[((g * cin + i) * cout + r) * taps + (taps - 1 - t)]
                    : w[((g * cout + r) * cin + i) * taps + t];
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
static inline __attribute__((always_inline)) void split_phases(const struct netc_direct_conv *s, const struct direct_layout *l, const float *x, long g,
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

/// The grid's valid pixels into the output planes: (+ the residual already there) + bias, ReLU.
static inline __attribute__((always_inline)) void finish(const struct netc_direct_conv *s, const struct direct_layout *l, const float *grid, long g,
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

static inline __attribute__((always_inline)) void direct_conv(const struct netc_direct_conv *s, grid_function *grid, const float *x, const float *w,
                        const float *bias, float *y, int accumulate, int relu, long first_item, long end_item,
                        float *scratch) {
    struct direct_layout l = direct_layout_of(s);
    long cin = s->in_channels, cout = s->out_channels, kh = s->kernel_h, kw = s->kernel_w;
    long sh = s->stride_h, sw = s->stride_w;
    float *phases = scratch, *out = phases + cin * l.phases * l.plane, *packed = out + cout * l.grid;
    memset(phases, 0, cin * l.phases * l.plane * sizeof(float));
    // Tap (ki, kj) of channel i reads phase (ki % sh, kj % sw), shifted by (ki / sh, kj / sw).
    long offsets[l.depth];
    for (long i = 0; i < cin; i++)
        for (long ki = 0; ki < kh; ki++)
            for (long kj = 0; kj < kw; kj++)
                offsets[(i * kh + ki) * kw + kj] = (i * l.phases + (ki % sh) * sw + kj % sw) * l.plane
                                                   + (ki / sh) * l.plane_width + kj / sw;
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
    TARGET static void direct_##SUFFIX(const struct netc_direct_conv *s, const float *x, const float *w,      \
                                const float *bias, float *y, int accumulate, int relu, long first_item, \
                                long end_item, float *scratch) {                                        \
        direct_conv(s, grid_##SUFFIX, x, w, bias, y, accumulate, relu, first_item, end_item, scratch);  \
    }
DIRECT_ENTRY(avx512, __attribute__((target("avx512f"))))
DIRECT_ENTRY(avx2, __attribute__((target("avx2,fma"))))
DIRECT_ENTRY(baseline, )

int netc_widest_instruction_set(void) { return netc_instruction_set(); }

void netc_direct_conv(const struct netc_direct_conv *s, const float *x, const float *w, const float *bias, float *y,
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
