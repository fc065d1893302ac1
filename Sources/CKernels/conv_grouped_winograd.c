#include <string.h>
#include "netc_kernels.h"
#include "instruction_set.h"
#include "conv_lanes.h"

// Winograd F(2x2, 3x3) for grouped 3x3 stride-1 convolutions (ResNeXt's 16-channel groups on
// 24x24 to 6x6 maps), sixteen images a vector as in conv_grouped_lanes.c. Per group of 16 input
// and 16 output channels a GEMM is too small for Winograd's transforms to pay as separate passes
// over memory; with images in the lanes every transform is whole vectors, and a chunk of tiles is
// transformed, multiplied and transformed back while it sits in a core's cache. Per 2x2 output
// tile and pair of channels: 16 multiplies against direct convolution's 36, plus the transforms
// of the tile's input (per input channel) and output (per output channel), about a fifth of the
// multiplies with 16 channels. Error: as `winograd F(2x2,3x3)` (WinogradTests bounds it at 5 ulps
// of the output's scale), so inference only. Each output sums in one order whatever the split.

/// Tiles transformed and multiplied at once: the AVX-512 register tile's 3, so that their
/// transformed inputs and products (16 positions x 16 channels x 16 images, 16 KiB a tile each)
/// stay in L1 and the nearest L2. ResNeXt's first stage at batch 128: 12 at once 8.1-8.6 ms a
/// convolution, 6 7.6-8.0, 3 7.0-7.1 (the grouped direct kernel: 9.0).
#define TILES_AT_ONCE 3

/// A block's tiles, planes and chunks.
typedef struct {
    lanes_layout planes;     // input planes, padded to whole tiles; the output grid's pixels
    long tiles_h, tiles_w;   // 2x2 output tiles down and across
} winograd_layout;

static winograd_layout winograd_layout_of(const struct netc_grouped_conv *s) {
    winograd_layout l;
    l.tiles_h = (s->out_height + 1) / 2;
    l.tiles_w = (s->out_width + 1) / 2;
    // Tile (ty, tx) reads padded rows 2ty..2ty+3: whole tiles may reach past the padding.
    long padded_h = s->height + 2 * s->pad_h, padded_w = s->width + 2 * s->pad_w;
    l.planes.padded_h = padded_h > 2 * l.tiles_h + 2 ? padded_h : 2 * l.tiles_h + 2;
    l.planes.padded_w = padded_w > 2 * l.tiles_w + 2 ? padded_w : 2 * l.tiles_w + 2;
    l.planes.plane = l.planes.padded_h * l.planes.padded_w;
    l.planes.pixels = s->out_height * s->out_width;
    l.planes.depth = s->in_channels * 9;
    return l;
}

long netc_grouped_winograd_scratch(const struct netc_grouped_conv *s) {
    winograd_layout l = winograd_layout_of(s);
    long cin = s->in_channels, cout = s->out_channels;
    // Planes, the output grid (and 16 pixels of slack), the transformed filters [16][cin][cout],
    // transformed inputs [16][cin][tile] and products [16][cout][tile] (16 floats each), offsets.
    return 16 * (cin * l.planes.plane + cout * l.planes.pixels + 16) + 16 * cin * cout
           + 16 * 16 * TILES_AT_ONCE * (cin + cout) + 2 * (cin + TILES_AT_ONCE);
}

/// U = G g Gᵀ for every (input, output) channel pair of `group`: u[position][ci][co].
static void transform_filters(const struct netc_grouped_conv *s, const float *w, long group, float *u) {
    long cin = s->in_channels, cout = s->out_channels;
    for (long co = 0; co < cout; co++)
        for (long ci = 0; ci < cin; ci++) {
            const float *g = w + ((group * cout + co) * cin + ci) * 9;
            float t[4][3];  // G g: rows of the tile by columns of the kernel
            for (int j = 0; j < 3; j++) {
                t[0][j] = g[j];
                t[1][j] = 0.5f * (g[j] + g[3 + j] + g[6 + j]);
                t[2][j] = 0.5f * (g[j] - g[3 + j] + g[6 + j]);
                t[3][j] = g[6 + j];
            }
            for (int i = 0; i < 4; i++) {
                float row[4] = {t[i][0], 0.5f * (t[i][0] + t[i][1] + t[i][2]), 0.5f * (t[i][0] - t[i][1] + t[i][2]), t[i][2]};
                for (int j = 0; j < 4; j++) u[((i * 4 + j) * cin + ci) * cout + co] = row[j];
            }
        }
}

/// V = Bᵀ d B of the 4x4 patch at `d` (rows `row` floats apart, 16 images a pixel) into
/// `v[position * stride]`.
INLINE void transform_input(const float *d, long row, float *v, long stride) {
    v16 t[4][4];
    for (int j = 0; j < 4; j++) {
        v16 d0 = *(const v16 *)(d + 16 * j), d1 = *(const v16 *)(d + row + 16 * j);
        v16 d2 = *(const v16 *)(d + 2 * row + 16 * j), d3 = *(const v16 *)(d + 3 * row + 16 * j);
        t[0][j] = d0 - d2; t[1][j] = d1 + d2; t[2][j] = d2 - d1; t[3][j] = d1 - d3;
    }
    for (int i = 0; i < 4; i++) {
        *(v16 *)(v + (i * 4 + 0) * stride) = t[i][0] - t[i][2];
        *(v16 *)(v + (i * 4 + 1) * stride) = t[i][1] + t[i][2];
        *(v16 *)(v + (i * 4 + 2) * stride) = t[i][2] - t[i][1];
        *(v16 *)(v + (i * 4 + 3) * stride) = t[i][1] - t[i][3];
    }
}

/// Y = Aᵀ M A of the 16 products `m[position * stride]` into the 2x2 outputs at `y` (rows
/// `row` floats apart), those inside the map (`rows` x `columns` of them).
INLINE void transform_output(const float *m, long stride, float *y, long row, long rows, long columns) {
    v16 t[2][4];
    for (int j = 0; j < 4; j++) {
        v16 m0 = *(const v16 *)(m + j * stride), m1 = *(const v16 *)(m + (4 + j) * stride);
        v16 m2 = *(const v16 *)(m + (8 + j) * stride), m3 = *(const v16 *)(m + (12 + j) * stride);
        t[0][j] = m0 + m1 + m2;
        t[1][j] = m1 - m2 - m3;
    }
    for (long i = 0; i < rows; i++) {
        *(v16 *)(y + i * row) = t[i][0] + t[i][1] + t[i][2];
        if (columns > 1) *(v16 *)(y + i * row + 16) = t[i][1] - t[i][2] - t[i][3];
    }
}

/* One (group, block of 16 images): transpose in; per chunk of tiles, transform the inputs,
   multiply per position (the lanes tile over input channels), transform the products into the
   output grid; transpose out. */
#define WINOGRAD_ITEM(SUFFIX, TARGET)                                                                  \
    TARGET static void item_##SUFFIX(const struct netc_grouped_conv *s, const winograd_layout *l,      \
                                     const float *x, const float *u, const float *bias, float *y,      \
                                     long lanes, int accumulate, int relu, long *offsets, long *at,    \
                                     float *planes, float *grid, float *v, float *m) {                 \
        long cin = s->in_channels, cout = s->out_channels, tiles = l->tiles_h * l->tiles_w;           \
        long pw = l->planes.padded_w;                                                                  \
        fill_planes(s, &l->planes, x, lanes, planes);                                                  \
        for (long first = 0; first < tiles; first += TILES_AT_ONCE) {                                  \
            long count = tiles - first < TILES_AT_ONCE ? tiles - first : TILES_AT_ONCE;               \
            for (long t = 0; t < count; t++) {                                                         \
                long ty = (first + t) / l->tiles_w, tx = (first + t) % l->tiles_w;                     \
                for (long ci = 0; ci < cin; ci++)                                                      \
                    transform_input(planes + 16 * (ci * l->planes.plane + 2 * ty * pw + 2 * tx), 16 * pw, \
                                    v + 16 * (ci * count + t), 16 * cin * count);                      \
            }                                                                                          \
            for (long ci = 0; ci < cin; ci++) offsets[ci] = 16 * ci * count;                           \
            for (long t = 0; t < count; t++) at[t] = 16 * t;                                           \
            for (int position = 0; position < 16; position++)                                          \
                block_##SUFFIX(cout, count, cin, offsets, at, v + 16 * position * cin * count,         \
                               u + position * cin * cout, m + 16 * position * cout * count);           \
            for (long t = 0; t < count; t++) {                                                         \
                long ty = (first + t) / l->tiles_w, tx = (first + t) % l->tiles_w;                     \
                long rows = s->out_height - 2 * ty < 2 ? 1 : 2, columns = s->out_width - 2 * tx < 2 ? 1 : 2; \
                for (long co = 0; co < cout; co++)                                                     \
                    transform_output(m + 16 * (co * count + t), 16 * cout * count,                      \
                                     grid + 16 * (co * l->planes.pixels + 2 * ty * s->out_width + 2 * tx), \
                                     16 * s->out_width, rows, columns);                                \
            }                                                                                          \
        }                                                                                              \
        store_grid(s, &l->planes, grid, bias, lanes, y, accumulate, relu);                             \
    }

LANES_FAMILIES
WINOGRAD_ITEM(avx512, __attribute__((target("avx512f"))))
WINOGRAD_ITEM(avx2, __attribute__((target("avx2,fma"))))
WINOGRAD_ITEM(baseline, )

void netc_grouped_winograd(const struct netc_grouped_conv *s, const float *x, const float *w, const float *bias,
                           float *y, int accumulate, int relu, long first_item, long end_item, float *scratch,
                           int instruction_set) {
    winograd_layout l = winograd_layout_of(s);
    long cin = s->in_channels, cout = s->out_channels;
    float *planes = scratch, *grid = planes + 16 * cin * l.planes.plane;
    float *u = grid + 16 * (cout * l.planes.pixels + 16), *v = u + 16 * cin * cout;
    float *m = v + 16 * 16 * TILES_AT_ONCE * cin;
    long *offsets = (long *)(m + 16 * 16 * TILES_AT_ONCE * cout), *at = offsets + cin;
    // The padding stays zero: each block writes only the planes' insides.
    memset(planes, 0, sizeof(float) * 16 * cin * l.planes.plane);
    int level = instruction_set < 0 ? netc_instruction_set() : instruction_set;
    long transformed_group = -1;
    for (long item = first_item; item < end_item; item++) {
        group_block b = group_block_of(s, item, 16);
        long group = b.group, first = b.first, lanes = b.images;
        if (group != transformed_group) {
            transform_filters(s, w, group, u);
            transformed_group = group;
        }
        NETC_DISPATCH_AT(level, item, s, &l, x + (group * cin * s->images + first) * s->height * s->width, u,
                         bias ? bias + group * cout : 0, y + (group * cout * s->images + first) * l.planes.pixels, lanes,
                         accumulate, relu, offsets, at, planes, grid, v, m);
    }
}
