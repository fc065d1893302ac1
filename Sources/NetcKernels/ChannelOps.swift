// Per-channel helpers over `[C, plane]` blocks (conv and linear bias, their gradients, and
// the blocked float sums batch norm and pooling reduce with).

/// `y[c, :] += bias[c]` over `[C, plane]`.
func addChannelBias(y: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>, channels: Int, plane: Int) {
    parallelFor(channels, workPerItem: plane) { range in
        for c in range {
            let b = bias[c], row = y + c * plane
            for i in 0..<plane { row[i] += b }
        }
    }
}

/// `out[c] = Σ x[c, :]` over `[C, plane]`, accumulated in Double (planes can be ~10⁶ long).
func channelSums(_ x: UnsafePointer<Float>, channels: Int, plane: Int, into out: UnsafeMutablePointer<Float>) {
    parallelFor(channels, workPerItem: plane) { range in
        for c in range { out[c] = Float(sumDouble(x + c * plane, plane)) }
    }
}

/// Sum of `count` floats: 8 Float lanes per 1024-element block, blocks combined in Double,
/// so the result is accurate for long runs and the inner loop still vectorizes.
@inline(__always)
func sumDouble(_ p: UnsafePointer<Float>, _ count: Int) -> Double {
    var total = 0.0, i = 0
    while i < count {
        let end = min(count, i + 1024)
        var acc = SIMD8<Float>()
        while i + 8 <= end {
            acc += UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<Float>.self)
            i += 8
        }
        var part = Double(acc.sum())
        while i < end { part += Double(p[i]); i += 1 }
        total += part
    }
    return total
}
