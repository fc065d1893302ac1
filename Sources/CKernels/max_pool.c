#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "netc_kernels.h"
#include "instruction_set.h"

// Max pooling, 16 outputs of a row at a time, rows first: each output row's column maxima over
// its window's rows (contiguous loads of the input, no padding), into a row padded with -inf;
// then over each window's columns, whose inputs for 16 adjacent outputs are one load (stride 1),
// the even or odd lanes of two (stride 2: one shuffle), or gathered (larger strides). The
// winner is the first largest input in row-major order, or the first NaN, as in PyTorch (which a
// scan of each window in order finds); padding never wins, and a window of -inf keeps its first
// input. The padded rows are read only once all are written: a load spanning two recent,
// differently aligned stores waits for them (reading each row right after writing it took twice
// as long). On the stem's pool (3x3 stride 2 pad 1, 48x48, one core) that is 0.8 us a plane
// without winners and 1.9 with; at batch 128 on both cores of a loaded machine, 7-10 ms against
// 21-22 for the window-at-a-time Swift loop it replaces, and 15-18 against 25-29 with winners.
// Compiled once per instruction set (AVX-512, AVX2, baseline) and chosen at run time.

typedef float v16 __attribute__((vector_size(64), aligned(4)));
typedef int m16 __attribute__((vector_size(64), aligned(4)));

/// Where one call's rows lie in its scratch.
typedef struct {
    long vectors;       // 16-output vectors per output row (the last may end past it)
    long line_width;    // floats of a padded input row: every column the vectors' windows read
} pool_layout;

// A stride of 2 takes 16 even or odd columns of 32 with one shuffle.
#define EVEN_LANES 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30
#define ODD_LANES 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31

/// Kernel column KJ's inputs for the 16 outputs whose windows start at padded column AT[0], AT[SW], ...
#define TAP_VALUES(VALUE, AT, KJ, SW)                                                                  \
    do {                                                                                               \
        typedef __typeof__(VALUE) vector_;                                                             \
        if ((SW) == 1) {                                                                               \
            VALUE = *(const vector_ *)((AT) + (KJ));                                                   \
        } else if ((SW) == 2) {                                                                        \
            vector_ a_ = *(const vector_ *)((AT) + ((KJ) & ~1L)), b_ = *(const vector_ *)((AT) + ((KJ) & ~1L) + 16); \
            VALUE = (KJ) & 1 ? __builtin_shufflevector(a_, b_, ODD_LANES) : __builtin_shufflevector(a_, b_, EVEN_LANES); \
        } else {                                                                                       \
            for (int l_ = 0; l_ < 16; l_++) VALUE[l_] = (AT)[l_ * (SW) + (KJ)];                        \
        }                                                                                              \
    } while (0)

/// Whether 16 outputs may be stored whole at offset `at` of the call's `total` when only `count`
/// are this row's: the rest land on the next output rows, which are written after it.
static inline int whole_vector(long count, long at, long total) { return count >= 16 || at + 16 <= total; }

/// Whether B beats or replaces A: larger, or the first NaN.
#define WINS(B, A) (((B) > (A)) | (((B) != (B)) & ((A) == (A))))
#define SELECT(MASK, B, A) ((__typeof__(A))(((m16)(B) & (MASK)) | ((m16)(A) & ~(MASK))))

/* With winners, rows first too: each output row's column maxima over its window's rows and the
   row of each (the first largest, or the first NaN), then over each window's columns the one
   first in row-major order: the largest (or a NaN) with the smallest offset. Padding columns hold
   -inf at the largest offset, so they never win. */
#define POOL_KERNEL(NAME, TARGET)                                                                      \
    TARGET static void NAME(const pool_layout *pl, long planes, long h, long w, long kh, long kw,     \
                            long sh, long sw, long ph, long pw, long oh, long ow, const float *x,      \
                            float *y, int *indices, float *lines, int *line_args) {                    \
        long vectors = pl->vectors, lw = pl->line_width;                                               \
        m16 lane = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};                           \
        for (long c = 0; c < oh * lw; c++) lines[c] = -INFINITY, line_args[c] = INT_MAX;              \
        for (long p = 0; p < planes; p++) {                                                            \
            const float *xs = x + p * h * w;                                                           \
            for (long i = 0; i < oh; i++) {                                                            \
                long lo = i * sh - ph, hi = lo + kh;                                                   \
                lo = lo < 0 ? 0 : lo;                                                                  \
                hi = hi > h ? h : hi;                                                                  \
                float *to = lines + i * lw + pw;                                                       \
                int *to_arg = line_args + i * lw + pw;                                                 \
                long c = 0;                                                                            \
                for (; c + 16 <= w; c += 16) {                                                         \
                    v16 best = *(const v16 *)(xs + lo * w + c);                                        \
                    m16 arg = lane + (int)(lo * w + c);                                                \
                    for (long r = lo + 1; r < hi; r++) {                                               \
                        v16 value = *(const v16 *)(xs + r * w + c);                                    \
                        m16 wins = WINS(value, best);                                                  \
                        best = SELECT(wins, value, best);                                              \
                        arg = SELECT(wins, lane + (int)(r * w + c), arg);                              \
                    }                                                                                  \
                    *(v16 *)(to + c) = best;                                                           \
                    *(m16 *)(to_arg + c) = arg;                                                        \
                }                                                                                      \
                for (; c < w; c++) {                                                                   \
                    float best = xs[lo * w + c];                                                       \
                    int arg = (int)(lo * w + c);                                                       \
                    for (long r = lo + 1; r < hi; r++) {                                               \
                        float value = xs[r * w + c];                                                   \
                        if (value > best || (value != value && best == best)) best = value, arg = (int)(r * w + c); \
                    }                                                                                  \
                    to[c] = best;                                                                      \
                    to_arg[c] = arg;                                                                   \
                }                                                                                      \
            }                                                                                          \
            /* Read once every row is written: see above. */                                           \
            for (long i = 0; i < oh; i++) {                                                            \
                const float *line = lines + i * lw;                                                    \
                const int *line_arg = line_args + i * lw;                                              \
                float *yr = y + (p * oh + i) * ow;                                                     \
                int *ir = indices + (p * oh + i) * ow;                                                 \
                for (long v = 0; v < vectors; v++) {                                                   \
                    const float *at = line + 16 * v * sw;                                              \
                    const int *at_arg = line_arg + 16 * v * sw;                                        \
                    v16 best = (v16){0} - INFINITY;                                                    \
                    m16 arg = (m16){0} + INT_MAX;                                                      \
                    for (long kj = 0; kj < kw; kj++) {                                                 \
                        v16 value;                                                                     \
                        m16 offset;                                                                    \
                        TAP_VALUES(value, at, kj, sw);                                                 \
                        TAP_VALUES(offset, at_arg, kj, sw);                                            \
                        m16 earlier = offset < arg;                                                    \
                        m16 wins = (value > best) | ((value == best) & earlier)                        \
                                 | ((value != value) & ((best == best) | earlier));                    \
                        best = SELECT(wins, value, best);                                              \
                        arg = SELECT(wins, offset, arg);                                               \
                    }                                                                                  \
                    if (whole_vector(ow - 16 * v, (p * oh + i) * ow + 16 * v, planes * oh * ow)) {   \
                        *(v16 *)(yr + 16 * v) = best;                                                  \
                        *(m16 *)(ir + 16 * v) = arg;                                                   \
                    } else {                                                                           \
                        long count = ow - 16 * v;                                                      \
                        for (long l = 0; l < count; l++) yr[16 * v + l] = best[l], ir[16 * v + l] = arg[l]; \
                    }                                                                                  \
                }                                                                                      \
            }                                                                                          \
        }                                                                                              \
    }

/* Without winners, rows first: each output row's column maxima over its window's rows (contiguous
   loads, no padding), then over each window's columns: about half the work, and no winner to keep
   in row-major order. Any NaN in a window makes its output NaN. */
#define POOL_VALUES(NAME, TARGET)                                                                      \
    TARGET static void NAME(const pool_layout *pl, long planes, long h, long w, long kh, long kw,     \
                            long sh, long sw, long ph, long pw, long oh, long ow, const float *x,      \
                            float *y, float *lines) {                                                  \
        long vectors = pl->vectors, lw = pl->line_width;                                               \
        for (long c = 0; c < oh * lw; c++) lines[c] = -INFINITY;                                      \
        for (long p = 0; p < planes; p++) {                                                            \
            const float *xs = x + p * h * w;                                                           \
            for (long i = 0; i < oh; i++) {                                                            \
                long lo = i * sh - ph, hi = lo + kh;                                                   \
                lo = lo < 0 ? 0 : lo;                                                                  \
                hi = hi > h ? h : hi;                                                                  \
                float *to = lines + i * lw + pw;                                                       \
                long c = 0;                                                                            \
                for (; c + 16 <= w; c += 16) {                                                         \
                    v16 best = *(const v16 *)(xs + lo * w + c);                                        \
                    for (long r = lo + 1; r < hi; r++) {                                               \
                        v16 value = *(const v16 *)(xs + r * w + c);                                    \
                        best = SELECT((value > best) | (value != value), value, best);                 \
                    }                                                                                  \
                    *(v16 *)(to + c) = best;                                                           \
                }                                                                                      \
                for (; c < w; c++) {                                                                   \
                    float best = xs[lo * w + c];                                                       \
                    for (long r = lo + 1; r < hi; r++) {                                               \
                        float value = xs[r * w + c];                                                   \
                        if (value > best || value != value) best = value;                              \
                    }                                                                                  \
                    to[c] = best;                                                                      \
                }                                                                                      \
            }                                                                                          \
            /* Read once every row is written: see above. */                                           \
            for (long i = 0; i < oh; i++) {                                                            \
                const float *line = lines + i * lw;                                                    \
                float *yr = y + (p * oh + i) * ow;                                                     \
                for (long v = 0; v < vectors; v++) {                                                   \
                    const float *at = line + 16 * v * sw;                                              \
                    v16 best = (v16){0} - INFINITY;                                                    \
                    for (long kj = 0; kj < kw; kj++) {                                                 \
                        v16 value;                                                                     \
                        TAP_VALUES(value, at, kj, sw);                                                 \
                        best = SELECT((value > best) | (value != value), value, best);                 \
                    }                                                                                  \
                    if (whole_vector(ow - 16 * v, (p * oh + i) * ow + 16 * v, planes * oh * ow))     \
                        *(v16 *)(yr + 16 * v) = best;                                                  \
                    else                                                                               \
                        for (long l = 0; l < ow - 16 * v; l++) yr[16 * v + l] = best[l];              \
                }                                                                                      \
            }                                                                                          \
        }                                                                                              \
    }

#define POOL_FAMILY(SUFFIX, TARGET)                                                                    \
    POOL_KERNEL(pool_indexed_##SUFFIX, TARGET) POOL_VALUES(pool_plain_##SUFFIX, TARGET)                \
    TARGET static void pool_##SUFFIX(const pool_layout *pl, long planes, long h, long w, long kh, long kw, \
                                     long sh, long sw, long ph, long pw, long oh, long ow, const float *x, \
                                     float *y, int *indices, float *lines, int *line_args) {          \
        if (indices)                                                                                   \
            pool_indexed_##SUFFIX(pl, planes, h, w, kh, kw, sh, sw, ph, pw, oh, ow, x, y, indices, lines, line_args); \
        else                                                                                           \
            pool_plain_##SUFFIX(pl, planes, h, w, kh, kw, sh, sw, ph, pw, oh, ow, x, y, lines);        \
    }

POOL_FAMILY(avx512, __attribute__((target("avx512f"))))
POOL_FAMILY(avx2, __attribute__((target("avx2"))))
POOL_FAMILY(baseline, )

void netc_max_pool(int instruction_set, long planes, long height, long width, long kernel_h, long kernel_w,
                   long stride_h, long stride_w, long pad_h, long pad_w, long out_height, long out_width,
                   const float *x, float *y, int *indices) {
    if (planes <= 0) return;
    pool_layout pl;
    pl.vectors = (out_width + 15) / 16;
    // Every column a vector's windows read: up to stride_w * 16 * vectors + kernel_w, and a stride
    // of 2 loads 32 from each kernel column pair.
    pl.line_width = stride_w * 16 * pl.vectors + kernel_w + 16;
    if (pl.line_width < pad_w + width) pl.line_width = pad_w + width;
    pl.line_width = (pl.line_width + 15) / 16 * 16;
    float *lines = malloc((size_t)(out_height * pl.line_width) * sizeof(float));
    int *line_args = indices ? malloc((size_t)(out_height * pl.line_width) * sizeof(int)) : 0;
    if (!lines || (indices && !line_args)) abort();   // out of memory: stop, as Swift's allocations do
    NETC_DISPATCH_AT(instruction_set, pool, &pl, planes, height, width, kernel_h, kernel_w, stride_h, stride_w, pad_h,
                     pad_w, out_height, out_width, x, y, indices, lines, line_args);
    free(lines);
    free(line_args);
}
