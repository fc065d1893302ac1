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
// as long). On the stem's pool (3x3 stride 2 pad 1, 48x48, one core) that is 1.9 us a plane with
// winners; at batch 128 on both cores of a loaded machine, 15-18 ms against 25-29 for the
// window-at-a-time Swift loop it replaced. Without winners that pool takes a path of its own (below).
// Compiled once per instruction set (AVX-512, AVX2, baseline) and chosen at run time.

typedef float v16 __attribute__((vector_size(64), aligned(4)));
typedef int m16 __attribute__((vector_size(64), aligned(4)));
typedef float v8 __attribute__((vector_size(32), aligned(4)));

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

/// BEST then VALUE, a later input of a scan without winners: VALUE if larger or NaN (so the last
/// NaN, else the first maximum). Two selects, so that the larger one compiles to a max instruction
/// (masked by VALUE being ordered: two instructions).
#define LATER_MAX(BEST, VALUE) SELECT((VALUE) != (VALUE), VALUE, SELECT((VALUE) > (BEST), VALUE, BEST))

/// `LATER_MAX` on one float.
static inline float later_max(float best, float value) { return value > best || value != value ? value : best; }

/// The input rows `[*lo, *hi)` of output row `i`'s window: `kh` rows from `i * sh - ph`, within `h`.
static inline void window_rows(long i, long sh, long ph, long kh, long h, long *lo, long *hi) {
    long first = i * sh - ph, end = first + kh;
    *lo = first < 0 ? 0 : first;
    *hi = end > h ? h : end;
}

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
                long lo, hi;                                                                           \
                window_rows(i, sh, ph, kh, h, &lo, &hi);                                               \
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
                long lo, hi;                                                                           \
                window_rows(i, sh, ph, kh, h, &lo, &hi);                                               \
                float *to = lines + i * lw + pw;                                                       \
                long c = 0;                                                                            \
                for (; c + 16 <= w; c += 16) {                                                         \
                    v16 best = *(const v16 *)(xs + lo * w + c);                                        \
                    for (long r = lo + 1; r < hi; r++) {                                               \
                        v16 value = *(const v16 *)(xs + r * w + c);                                    \
                        best = LATER_MAX(best, value);                                                 \
                    }                                                                                  \
                    *(v16 *)(to + c) = best;                                                           \
                }                                                                                      \
                for (; c < w; c++) {                                                                   \
                    float best = xs[lo * w + c];                                                       \
                    for (long r = lo + 1; r < hi; r++) {                                               \
                        float value = xs[r * w + c];                                                   \
                        best = later_max(best, value);                                                 \
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
                        best = LATER_MAX(best, value);                                                 \
                    }                                                                                  \
                    if (whole_vector(ow - 16 * v, (p * oh + i) * ow + 16 * v, planes * oh * ow))     \
                        *(v16 *)(yr + 16 * v) = best;                                                  \
                    else                                                                               \
                        for (long l = 0; l < ow - 16 * v; l++) yr[16 * v + l] = best[l];              \
                }                                                                                      \
            }                                                                                          \
        }                                                                                              \
    }

/* Without winners, a window 3 columns wide at stride 2 with one column of padding (the stem's
   pool): no scratch. Per output row, each 16 input columns' maxima over the window's rows (loads
   straight from the input), then for 16 outputs from 32 such columns: the even and the odd lanes
   (two shuffles), and the odd lanes moved up one with the previous block's last (the window's
   left column). Every combination keeps the scan order of POOL_VALUES (the step is associative:
   the last NaN, else the first maximum), so the outputs are the same to the bit, NaNs included.
   On the stem's pool, 0.22 us a plane on one core in cache against 0.63 through the scratch rows;
   at batch 128 (8192 planes, 75 MB in, 19 MB out), `netc bench resnext --infer --profile` 2.2-2.5
   ms against 3.1-3.3 on a quiet machine and 3.3-4.8 against 6.0-7.2 on a loaded one, alternating:
   near the ~2 ms streaming that much takes. Prefetching ahead and non-temporal stores gained nothing. */


/// 16 outputs from the maxima of 32 columns over the window's rows, COLUMNS[0] and [1]; LEFT holds
/// the column before them in lane 15, and becomes their last.
#define STRIDE2_OUTPUTS(BEST, COLUMNS, LEFT)                                                           \
    do {                                                                                               \
        v16 even_ = __builtin_shufflevector((COLUMNS)[0], (COLUMNS)[1], EVEN_LANES);                   \
        v16 odd_ = __builtin_shufflevector((COLUMNS)[0], (COLUMNS)[1], ODD_LANES);                     \
        v16 before_ = __builtin_shufflevector(LEFT, odd_, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30); \
        BEST = LATER_MAX(before_, LATER_MAX(even_, odd_));                                             \
        LEFT = odd_;                                                                                   \
    } while (0)

/// The maxima over three rows from TOP (a row apart by W) of the 16 columns at AT.
#define THREE_ROWS(TOP, W, AT)                                                                         \
    LATER_MAX(LATER_MAX(*(const v16 *)((TOP) + (AT)), *(const v16 *)((TOP) + (W) + (AT))),             \
              *(const v16 *)((TOP) + 2 * (W) + (AT)))

#define POOL_STRIDE2(NAME, TARGET)                                                                     \
    TARGET static void NAME(long planes, long h, long w, long kh, long sh, long ph, long oh, long ow,  \
                            const float *x, float *y) {                                                \
        long blocks = (ow + 15) / 16, whole = w / 32, total = planes * oh * ow;                        \
        /* Output rows whose three input rows all lie in the input: all but the edges. */             \
        long inner = (ph + sh - 1) / sh, inner_end = kh == 3 && h + ph >= 3 ? (h + ph - 3) / sh + 1 : 0;    \
        if (inner_end > oh) inner_end = oh;                                                            \
        /* A row 32 k + 16 wide ends in a block of one whole vector of columns and 8 outputs. */      \
        int half_tail = w % 32 == 16;                                                                  \
        for (long p = 0; p < planes; p++) {                                                            \
            const float *xs = x + p * h * w;                                                           \
            for (long i = 0; i < oh; i++) {                                                            \
                long lo, hi;                                                                           \
                window_rows(i, sh, ph, kh, h, &lo, &hi);                                               \
                const float *top = xs + lo * w;                                                        \
                long rows = hi - lo, at = (p * oh + i) * ow, b = 0;                                    \
                float *yr = y + at;                                                                    \
                v16 left = (v16){0} - INFINITY;   /* column 32 b - 1 in lane 15: padding at b = 0 */  \
                v16 columns[2], best;                                                                  \
                if (i >= inner && i < inner_end) {                                                     \
                    for (; b < whole; b++) {                                                           \
                        columns[0] = THREE_ROWS(top, w, 32 * b);                                       \
                        columns[1] = THREE_ROWS(top, w, 32 * b + 16);                                  \
                        STRIDE2_OUTPUTS(best, columns, left);                                          \
                        *(v16 *)(yr + 16 * b) = best;                                                  \
                    }                                                                                  \
                    if (half_tail) {                                                                   \
                        columns[0] = THREE_ROWS(top, w, 32 * b);                                       \
                        columns[1] = (v16){0} - INFINITY;                                              \
                        STRIDE2_OUTPUTS(best, columns, left);                                          \
                        *(v8 *)(yr + 16 * b) = __builtin_shufflevector(best, best, 0, 1, 2, 3, 4, 5, 6, 7); \
                        continue;                                                                      \
                    }                                                                                  \
                }                                                                                      \
                for (; b < blocks; b++) {                                                              \
                    for (int k = 0; k < 2; k++) {                                                      \
                        long c = 32 * b + 16 * k;                                                      \
                        v16 m = (v16){0} - INFINITY;   /* past the row: padding */                    \
                        if (c + 16 <= w) {                                                             \
                            m = *(const v16 *)(top + c);                                               \
                            for (long r = 1; r < rows; r++) m = LATER_MAX(m, *(const v16 *)(top + r * w + c)); \
                        } else {                                                                       \
                            for (long l = 0; c + l < w; l++) {                                         \
                                float e = top[c + l];                                                  \
                                for (long r = 1; r < rows; r++) e = later_max(e, top[r * w + c + l]);  \
                                m[l] = e;                                                              \
                            }                                                                          \
                        }                                                                              \
                        columns[k] = m;                                                                \
                    }                                                                                  \
                    STRIDE2_OUTPUTS(best, columns, left);                                              \
                    long count = ow - 16 * b;                                                          \
                    if (whole_vector(count, at + 16 * b, total))                                       \
                        *(v16 *)(yr + 16 * b) = best;                                                  \
                    else                                                                               \
                        for (long l = 0; l < count; l++) yr[16 * b + l] = best[l];                     \
                }                                                                                      \
            }                                                                                          \
        }                                                                                              \
    }

#define POOL_FAMILY(SUFFIX, TARGET)                                                                    \
    POOL_KERNEL(pool_indexed_##SUFFIX, TARGET) POOL_VALUES(pool_plain_##SUFFIX, TARGET)                \
    POOL_STRIDE2(pool_stride2_##SUFFIX, TARGET)                                                        \
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
    if (!indices && kernel_w == 3 && stride_w == 2 && pad_w == 1) {   // no scratch
        NETC_DISPATCH_AT(instruction_set, pool_stride2, planes, height, width, kernel_h, stride_h, pad_h, out_height,
                         out_width, x, y);
        return;
    }
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
