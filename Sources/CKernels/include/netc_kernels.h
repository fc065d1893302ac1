#ifndef NETC_KERNELS_H
#define NETC_KERNELS_H

// Kernels in C where Swift cannot do what they need: pick an instruction set at run time (Swift
// compiles for the baseline x86-64, without AVX). Single-threaded: NetcKernels splits the work
// across the cores.

/// Rows of A per panel of `netc_pack_panels`.
#define NETC_PANEL_ROWS 16

/// Packs A `[m, k]` (row stride `lda`) into panels of 16 rows, each k-major: panel p holds
/// `packed[(p * k + kk) * 16 + r] = A[16p + r, kk]`, zero past row m. `packed` holds
/// `ceil(m / 16) * 16 * k` floats.
void netc_pack_panels(long m, long k, const float *a, long lda, float *packed);

/// `C[r, j] (+)= Σ_kk A[r, kk] B[kk, j]` for the rows of panels `[first_panel, end_panel)` of a
/// packed A (`netc_pack_panels`, m rows) and the `n` columns of B `[k, n]` (row stride `ldb`), into
/// C `[m, n]` (row stride `ldc`), added to it when `accumulate`, then `+ bias[r]` (when `bias` is not
/// null) and `max(·, 0)` (when `relu`; a NaN stays). Made for few columns (a batch of one image on
/// a small map): each panel streams once per 12 columns, each A value feeding up to 12 multiplies
/// from registers (AVX2: 6), where a general GEMM would repack A on every call.
void netc_gemm_packed(int instruction_set, long m, long n, long k, const float *packed, const float *b, long ldb,
                      float *c, long ldc, int accumulate, const float *bias, int relu, long first_panel, long end_panel);

/// `C[r, j] (+)= Σ_kk A[r, kk] B[kk, j]` for columns `[first_column, end_column)` of B `[k, n]` (row
/// stride `ldb`) and C `[m, n]` (row stride `ldc`), added to C when `accumulate`, then `+ bias[r]`
/// (when `bias` is not null) and `max(·, 0)` (when `relu`; a NaN stays); A's element (r, kk) is
/// `a[r * a_row_stride + kk * a_k_stride]` (so Aᵀ is A with the strides swapped). Made for shallow
/// products (k up to a few dozen) over many columns, where a general GEMM's packing costs as much
/// as the multiplies.
void netc_gemm_shallow(int instruction_set, long m, long k, const float *a, long a_row_stride, long a_k_stride,
                       const float *b, long ldb, float *c, long ldc, int accumulate, const float *bias, int relu,
                       long first_column, long end_column);

/// `C[i, j] (+)= Σ_kk A[i, kk] B[j, kk]` for rows `[first_row, end_row)` of C `[m, n]` (row stride
/// `ldc`), with A `[m, k]` and B `[n, k]` (row strides `lda`, `ldb`), added to C when `accumulate`.
/// Made for deep products with small results (k in the tens of thousands, n up to a few hundred):
/// convolutions' weight gradients.
void netc_gemm_deep(long n, long k, const float *a, long lda, const float *b, long ldb, float *c, long ldc,
                    int accumulate, long first_row, long end_row);

/// The widest instruction set this processor runs: 2 for AVX-512, 1 for AVX2 with FMA, 0 for
/// neither. Kernels that take an `instruction_set` run their copy for it (at most this one), so
/// tests can run every copy the processor has.
int netc_widest_instruction_set(void);

/// One group of a convolution as the direct kernels see it: CNHW planes, each channel's images
/// `channel_stride` floats apart (N*H*W in, N*OH*OW out), weights `[out_channels][in_channels][KH][KW]`.
typedef struct {
    long in_channels, height, width, in_channel_stride;
    long out_channels, out_height, out_width, out_channel_stride;
    long kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w;
} netc_conv_shape;

/// Bytes of scratch `netc_conv_direct` and `netc_conv_direct_filter` need for up to `rows`
/// output rows of one image at a time.
long netc_conv_direct_scratch_bytes(const netc_conv_shape *shape, long rows);

/// Direct convolution of one image (`x` and `y` at its first channel's plane) over output rows
/// `[first_row, end_row)`: `y = conv(x, w)`, onto `y` when `accumulate`, then `+ bias[o]` (when
/// not null) and `max(·, 0)` (when `relu`; a NaN stays). Made for few input channels (ResNet's
/// stem: one), where im2col's unfolded matrix is larger than the input it copies and a GEMM's
/// sum is too short to repay its packing. `scratch`: `netc_conv_direct_scratch_bytes` for the rows.
void netc_conv_direct(int instruction_set, const netc_conv_shape *shape, const float *x, const float *w,
                      const float *bias, float *y, int accumulate, int relu, long first_row, long end_row,
                      void *scratch);

/// Adds one image's share of a direct convolution's weight gradient for output channels
/// `[first_channel, end_channel)` into `partial` (`[out_channels][in_channels*KH*KW][16]`: 16 lane
/// sums per weight, which `netc_conv_direct_filter_sum` adds up): `Σ dy[o, oh, ow] x[c, ih, iw]`
/// over the image (`x`, `dy` at its first channel's plane). `scratch`: `netc_conv_direct_scratch_bytes`
/// for all the image's output rows.
void netc_conv_direct_filter(int instruction_set, const netc_conv_shape *shape, const float *x, const float *dy,
                             float *partial, long first_channel, long end_channel, void *scratch);

/// Max pooling of `planes` planes `[height][width]`, `x` and `y` (and `indices`) at the first:
/// each output the largest input in its window (padding never wins; the first NaN does), and
/// when `indices` is not null the winner's offset `h * width + w` in its plane (on ties the first
/// in row-major order, as PyTorch).
void netc_max_pool(int instruction_set, long planes, long height, long width, long kernel_h, long kernel_w,
                   long stride_h, long stride_w, long pad_h, long pad_w, long out_height, long out_width,
                   const float *x, float *y, int *indices);

/// The shape of a convolution as `netc_grouped_conv` takes it: per group `in_channels` input planes
/// `height x width` and `out_channels` output planes `out_height x out_width`, CNHW (channel c of
/// image n at `(c * images + n) * plane`), `groups` groups.
struct netc_grouped_conv {
    long images, groups, in_channels, out_channels;
    long height, width, out_height, out_width;
    long kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w;
    /// 0: weights `[groups * out_channels][in_channels][kernel_h][kernel_w]`, a forward convolution.
    /// 1: the data gradient of the forward convolution whose input is this one's output (stride 1,
    /// pad `kernel - 1 - its pad`): its weights `[groups * in_channels][out_channels][kh][kw]`, read
    /// transposed and with the taps reversed.
    int data_gradient;
};

/// Floats of scratch one worker of `netc_grouped_conv` needs for this shape.
long netc_grouped_conv_scratch(const struct netc_grouped_conv *shape);

/// `y (+)= conv(x, w)`, then `+ bias[c]` (when `bias` is not null) and `max(·, 0)` (when `relu`; a
/// NaN stays), for the (group, image) pairs `item = group * images + image` in
/// `[first_item, end_item)`; added to y when `accumulate`. `scratch` holds
/// `netc_grouped_conv_scratch(shape)` floats. `instruction_set`: -1 for the widest this processor
/// runs, else 0 (baseline), 1 (AVX2) or 2 (AVX-512), capped at the widest (for tests).
void netc_grouped_conv(const struct netc_grouped_conv *shape, const float *x, const float *w, const float *bias,
                      float *y, int accumulate, int relu, long first_item, long end_item, float *scratch,
                      int instruction_set);

/// Floats of scratch one worker of `netc_grouped_conv_filter` needs for this shape.
long netc_grouped_conv_filter_scratch(const struct netc_grouped_conv *shape);

/// `dw = ∂L/∂w` (overwritten) of the forward convolution `shape` (data_gradient 0) for groups
/// `[first_group, end_group)`, from its input `x` and output gradient `dy`; each group sums its
/// images in order. `scratch` and `instruction_set` as for `netc_grouped_conv`.
void netc_grouped_conv_filter(const struct netc_grouped_conv *shape, const float *x, const float *dy, float *dw,
                             long first_group, long end_group, float *scratch, int instruction_set);

/// Floats of scratch one worker of `netc_grouped_lanes` needs for this shape (data_gradient 0).
long netc_grouped_lanes_scratch(const struct netc_grouped_conv *shape);

/// `netc_grouped_conv`'s forward, sixteen images a vector (made for small maps): the same
/// arguments, except that an item is a group and a block of 16 images, `item = group *
/// ceil(images / 16) + block`, and `scratch` holds `netc_grouped_lanes_scratch(shape)` floats.
void netc_grouped_lanes(const struct netc_grouped_conv *shape, const float *x, const float *w, const float *bias,
                        float *y, int accumulate, int relu, long first_item, long end_item, float *scratch,
                        int instruction_set);

/// Floats of scratch one worker of `netc_grouped_channels` needs for this shape (data_gradient 0).
long netc_grouped_channels_scratch(const struct netc_grouped_conv *shape);

/// `netc_grouped_conv`'s forward with a group's output channels (up to 16) in the vector lanes:
/// the same arguments, except that an item is a group and a block of images, `item = group *
/// blocks + block` with `netc_grouped_channels_blocks(shape)` blocks a group, and `scratch` holds
/// `netc_grouped_channels_scratch(shape)` floats.
void netc_grouped_channels(const struct netc_grouped_conv *shape, const float *x, const float *w, const float *bias,
                           float *y, int accumulate, int relu, long first_item, long end_item, float *scratch,
                           int instruction_set);

/// Blocks of images a group of `netc_grouped_channels` splits the batch into.
long netc_grouped_channels_blocks(const struct netc_grouped_conv *shape);

/// Floats of scratch one worker of `netc_grouped_winograd` needs for this shape.
long netc_grouped_winograd_scratch(const struct netc_grouped_conv *shape);

/// `netc_grouped_lanes` by Winograd F(2x2, 3x3), for 3x3 kernels at stride 1: the same arguments.
void netc_grouped_winograd(const struct netc_grouped_conv *shape, const float *x, const float *w, const float *bias,
                           float *y, int accumulate, int relu, long first_item, long end_item, float *scratch,
                           int instruction_set);

#endif
