import CKernels

// A GEMM for products with few columns, C[m, n] (+)= A[m, k] x B[k, n] with n up to a few dozen:
// a convolution's weights times one image's unfolded patches on a small map. OpenBLAS repacks A
// on every call and its micro-kernel runs mostly empty on 9 columns (ResNet-18's last stage at
// batch 1: 512 x 4608 x 9 at 37 GFLOP/s on one core here); with A packed once into panels of 16
// rows (`PackedPanels`, the weights, packed when they change) the C kernel (`netc_gemm_packed`,
// AVX-512 or AVX2 chosen at run time) keeps 16 x 12 results in registers (AVX2: 16 x 6) and runs
// the same product at 97-110 GFLOP/s (AVX2, on another machine: 78).

/// Whether `gemmPacked` beats OpenBLAS on a product with this many columns and this depth (k):
/// up to 144 columns (a 12x12 map of one image), while B (`k x columns`) stays in a core's cache
/// (1 MiB) as the panels of A stream past it.
public func packedGemmFits(columns: Int, depth: Int) -> Bool {
    columns <= 144 && columns * depth <= 1 << 18
}

/// A matrix `[m, k]` packed for `gemmPacked`: panels of 16 rows, each k-major, zero past row m.
public enum PackedPanels {
    /// Floats of the packed form of an `[m, k]` matrix.
    public static func count(m: Int, k: Int) -> Int { (m + 15) / 16 * 16 * k }

    /// Packs `a` (`[m, k]`, row stride `lda`) into `packed` (`count(m:k:)` floats).
    public static func pack(m: Int, k: Int, a: UnsafePointer<Float>, lda: Int, into packed: UnsafeMutablePointer<Float>) {
        netc_pack_panels(m, k, a, lda, packed)
    }
}

/// `C (+)= A x B`, then `+ bias` per row and ReLU if asked as each result is stored; A packed
/// (`PackedPanels`), row-major B `[k, n]` and C `[m, n]` with row strides `ldb` and `ldc`; split
/// across the cores by panels of A unless `parallel` is false (the caller is itself one of several
/// workers). Each element sums over k in order, whatever the split. `instructionSet`: the copy to run.
public func gemmPacked(m: Int, n: Int, k: Int, packed: UnsafePointer<Float>, b: UnsafePointer<Float>, ldb: Int,
                       c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool, bias: UnsafePointer<Float>? = nil,
                       relu: Bool = false, parallel: Bool = true, instructionSet: InstructionSet = .widest) {
    guard m > 0, n > 0 else { return }
    parallelFor((m + 15) / 16, workPerItem: 16 * n * k, parallel: parallel) { panels in
        netc_gemm_packed(instructionSet.rawValue, m, n, k, packed, b, ldb, c, ldc, accumulate ? 1 : 0, bias, relu ? 1 : 0,
                         panels.lowerBound, panels.upperBound)
    }
}
