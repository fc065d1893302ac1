import CKernels

// A GEMM for shallow products, C[m, n] (+)= A[m, k] x B[k, n] over many columns with a short sum
// (a stem's 7x7 convolution of one channel: k = 49) or few rows (a group of ResNeXt's grouped
// convolutions: 16 x 144). OpenBLAS packs A and B on every call, which such products do not
// repay. `netc_gemm_shallow` (C, AVX-512 or AVX2 chosen at run time) keeps an 8 x 48 tile of C in
// registers across the whole sum, reading B where it lies (AVX2: 6 x 16, from a copy of each
// 16-column block of B; on an AVX2 machine 74-86 GFLOP/s a core on ResNeXt's 1x1s against
// OpenBLAS's 64-84). On one core here (GFLOP/s, 4,608
// columns): 64 x 49 at 100-103 against OpenBLAS's 86-92; 16 x 144 at 106-110 against 66, and at
// 95-104 against 41-59 over 18,432 columns; 32 x 288 at 111 against 82.

/// Whether `gemmShallow` beats OpenBLAS on this product: at least 8 rows and enough columns to
/// fill its tiles on every core, and a sum of 64 products or fewer, or up to 32 rows summing up to
/// 1,152 products. (Deeper sums with more rows: see `pointwiseShallowGemmFits`.)
public func shallowGemmFits(m: Int, n: Int, k: Int) -> Bool {
    m >= 8 && n >= 1024 && (k <= 64 || m <= 32 && k <= 1152)
}

/// Whether `gemmShallow` beats OpenBLAS on a 1x1 convolution's product, whose right-hand matrix is
/// the input as it lies: at least 8 rows, 1,024 columns, and a sum of up to 2,304 products, whose
/// k x 48 tile of B stays in a core's L2. With A packed and the epilogue (bias, residual, ReLU)
/// finished in registers, on both cores here (GFLOP/s, against OpenBLAS and its second pass):
/// ResNeXt's 64 x 64 over 73,728 columns 186 / 143, 256 x 128 over 18,432 212 / 177, 512 x 512
/// over 1,152 217 / 206; ResNeXt's inference 148 -> 125 ms. It beats OpenBLAS on im2col's
/// products too (64 x 576 over 73,728: 177 / 154), but a ResNet-18 training step ran no faster
/// with it (111-113 img/s either way, alternating builds), so those keep OpenBLAS and its rounding.
/// Over 4,608 products B spills from L2 (512 x 4608: 142 / 190).
public func pointwiseShallowGemmFits(m: Int, n: Int, k: Int) -> Bool {
    m >= 8 && n >= 1024 && k <= 2304
}

/// `C (+)= A x B`, then `+ bias` per row and ReLU if asked, while each tile is in registers
/// (`A` `[m, k]` with row stride `lda`, or with `transA` its transpose read from a `[k, m]`
/// matrix; row-major B `[k, n]` and C `[m, n]` with row strides `ldb` and `ldc`); split across the
/// cores by columns unless `parallel` is false (the caller is itself one of several workers).
/// Each element sums over k in order, whatever the split. `instructionSet`: the copy to run.
public func gemmShallow(transA: Bool = false, m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
                        b: UnsafePointer<Float>, ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int,
                        accumulate: Bool, bias: UnsafePointer<Float>? = nil, relu: Bool = false, parallel: Bool = true,
                        instructionSet: InstructionSet = .widest) {
    guard m > 0, n > 0 else { return }
    let block = 48   // the AVX-512 tile's width: splits fall between tiles
    parallelFor((n + block - 1) / block, workPerItem: block * m * k, parallel: parallel) { blocks in
        netc_gemm_shallow(instructionSet.rawValue, m, k, a, transA ? 1 : lda, transA ? lda : 1, b, ldb, c, ldc, accumulate ? 1 : 0,
                          bias, relu ? 1 : 0, blocks.lowerBound * block, min(n, blocks.upperBound * block))
    }
}
