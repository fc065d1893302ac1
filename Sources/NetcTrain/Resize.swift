import Foundation

/// Interpolation taps along one axis for bilinear resizing from `inSize` to
/// `outSize` samples, computed exactly as PyTorch's CPU kernel does for
/// `F.interpolate(mode="bilinear", align_corners=False, antialias=False)`:
///
///     ratio = Float(inSize) / Float(outSize)
///     src   = max(ratio * (Float(o) + 0.5) - 0.5, 0)       // half-pixel centres
///     i0    = min(floor(src), inSize - 1);  i1 = min(i0 + 1, inSize - 1)
///     l1    = clamp(src - i0, 0, 1);        l0 = 1 - l1
///
/// Arithmetic is in `Float` because PyTorch uses `float` as the op-math
/// type for float32 tensors; that keeps results bit-compatible for
/// upsampling. When `inSize == outSize` the taps are the identity.
///
/// For **downsampling** PyTorch's `antialias=True` (and PIL / torchvision
/// `Resize`) widen the filter support to the scale factor and average many
/// input pixels; these weights do not, so they only match the
/// `antialias=False` result.
public struct BilinearWeights: Sendable, Equatable {
    public let inSize: Int
    public let outSize: Int
    public let index0: [Int]
    public let index1: [Int]
    public let lambda0: [Float]
    public let lambda1: [Float]

    public init(inSize: Int, outSize: Int) {
        precondition(inSize > 0 && outSize > 0, "BilinearWeights: sizes must be positive")
        self.inSize = inSize
        self.outSize = outSize
        var i0 = [Int](), i1 = [Int](), l0 = [Float](), l1 = [Float]()
        let ratio = Float(inSize) / Float(outSize)
        for o in 0..<outSize {
            if inSize == outSize {
                i0.append(o); i1.append(o); l0.append(1); l1.append(0)
                continue
            }
            let src = max(ratio * (Float(o) + 0.5) - 0.5, 0)
            let base = min(Int(src.rounded(.down)), inSize - 1)
            let lam = min(max(src - Float(base), 0), 1)
            i0.append(base)
            i1.append(base + (base < inSize - 1 ? 1 : 0))
            l1.append(lam)
            l0.append(1 - lam)
        }
        index0 = i0; index1 = i1; lambda0 = l0; lambda1 = l1
    }
}

/// Bilinear resizer for planes of `inHeight`×`inWidth` floats to
/// `outHeight`×`outWidth`, with the taps precomputed once.
///
/// The computation is separable: each needed input row is interpolated
/// horizontally, then pairs of those rows are blended vertically. The
/// expression per output pixel, `h0 * (w0*a + w1*b) + h1 * (w0*c + w1*d)`,
/// has the same evaluation order as PyTorch's CPU kernel.
public struct BilinearResizer: Sendable {
    public let rows: BilinearWeights
    public let cols: BilinearWeights

    public var inHeight: Int { rows.inSize }
    public var inWidth: Int { cols.inSize }
    public var outHeight: Int { rows.outSize }
    public var outWidth: Int { cols.outSize }

    public init(inHeight: Int, inWidth: Int, outHeight: Int, outWidth: Int) {
        rows = BilinearWeights(inSize: inHeight, outSize: outHeight)
        cols = inHeight == inWidth && outHeight == outWidth
            ? rows : BilinearWeights(inSize: inWidth, outSize: outWidth)
    }

    /// A shared resizer for this size pair; the weights are built on first
    /// use and reused afterwards (the data loader asks once per batch).
    public static func cached(inHeight: Int, inWidth: Int, outHeight: Int, outWidth: Int) -> BilinearResizer {
        let key = [inHeight, inWidth, outHeight, outWidth]
        cacheLock.lock()
        defer { cacheLock.unlock() }
        if let r = cache[key] { return r }
        let r = BilinearResizer(inHeight: inHeight, inWidth: inWidth, outHeight: outHeight, outWidth: outWidth)
        cache[key] = r
        return r
    }

    private static let cacheLock = NSLock()
    nonisolated(unsafe) private static var cache: [[Int]: BilinearResizer] = [:]

    /// Resizes `planes` consecutive planes (e.g. N*C for an NCHW tensor)
    /// from `input` into `output`.
    ///
    /// - Precondition: `input.count >= planes*inHeight*inWidth` and
    ///   `output.count >= planes*outHeight*outWidth`.
    public func resize(_ input: UnsafeBufferPointer<Float>, into output: UnsafeMutableBufferPointer<Float>,
                       planes: Int) {
        let ih = inHeight, iw = inWidth, oh = outHeight, ow = outWidth
        precondition(input.count >= planes * ih * iw && output.count >= planes * oh * ow,
                     "BilinearResizer.resize: buffer too small")
        // One horizontally interpolated row per input row of the plane.
        var tmp = [Float](repeating: 0, count: ih * ow)
        tmp.withUnsafeMutableBufferPointer { t in
            for p in 0..<planes {
                let src = input.baseAddress! + p * ih * iw
                let dst = output.baseAddress! + p * oh * ow
                for y in 0..<ih {
                    let row = src + y * iw, trow = t.baseAddress! + y * ow
                    for x in 0..<ow {
                        trow[x] = cols.lambda0[x] * row[cols.index0[x]] + cols.lambda1[x] * row[cols.index1[x]]
                    }
                }
                for y in 0..<oh {
                    let r0 = t.baseAddress! + rows.index0[y] * ow, r1 = t.baseAddress! + rows.index1[y] * ow
                    let h0 = rows.lambda0[y], h1 = rows.lambda1[y]
                    let drow = dst + y * ow
                    for x in 0..<ow { drow[x] = h0 * r0[x] + h1 * r1[x] }
                }
            }
        }
    }

    /// Array convenience for ``resize(_:into:planes:)``.
    public func resize(_ input: [Float], planes: Int) -> [Float] {
        var out = [Float](repeating: 0, count: planes * outHeight * outWidth)
        input.withUnsafeBufferPointer { i in
            out.withUnsafeMutableBufferPointer { o in resize(i, into: o, planes: planes) }
        }
        return out
    }
}
