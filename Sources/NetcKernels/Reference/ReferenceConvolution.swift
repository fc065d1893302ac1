// Naive reference twins, used by tests only. Plain nested loops straight from the
// definitions, generic over the float type so finite differences can run in Double.
// Same CNHW layout as the fast kernels: element (n, c, h, w) sits at ((c*N + n)*H + h)*W + w.

/// Namespace for the obviously-correct reference implementations of every kernel.
public enum Reference {}

extension Reference {
    @inline(__always)
    static func at(_ c: Int, _ n: Int, _ h: Int, _ w: Int, _ N: Int, _ H: Int, _ W: Int) -> Int {
        ((c * N + n) * H + h) * W + w
    }

    /// Direct convolution; `weight` is `[Cout][Cin/g][KH][KW]`. Returns `[Cout][N][OH][OW]`.
    public static func convForward<T: BinaryFloatingPoint>(_ g: ConvGeometry, x: [T], weight: [T], bias: [T]?) -> [T] {
        let (N, H, W, OH, OW) = (g.n, g.height, g.width, g.outH, g.outW)
        var y = [T](repeating: 0, count: g.outputCount)
        for co in 0..<g.outChannels {
            let grp = co / g.groupOutChannels
            for n in 0..<N { for oh in 0..<OH { for ow in 0..<OW {
                var s: T = bias?[co] ?? 0
                for ci in 0..<g.groupInChannels { for kh in 0..<g.kernelH { for kw in 0..<g.kernelW {
                    let ih = oh * g.strideH - g.padH + kh, iw = ow * g.strideW - g.padW + kw
                    if ih < 0 || ih >= H || iw < 0 || iw >= W { continue }
                    let c = grp * g.groupInChannels + ci
                    s += weight[((co * g.groupInChannels + ci) * g.kernelH + kh) * g.kernelW + kw]
                        * x[at(c, n, ih, iw, N, H, W)]
                } } }
                y[at(co, n, oh, ow, N, OH, OW)] = s
            } } }
        }
        return y
    }

    /// Gradients of `Σ y * dy` for the direct convolution: (dx, dWeight, dBias).
    public static func convBackward<T: BinaryFloatingPoint>(_ g: ConvGeometry, x: [T], weight: [T], dy: [T])
        -> (dx: [T], dWeight: [T], dBias: [T]) {
        let (N, H, W, OH, OW) = (g.n, g.height, g.width, g.outH, g.outW)
        var dx = [T](repeating: 0, count: g.inputCount)
        var dw = [T](repeating: 0, count: g.weightCount)
        var db = [T](repeating: 0, count: g.outChannels)
        for co in 0..<g.outChannels {
            let grp = co / g.groupOutChannels
            for n in 0..<N { for oh in 0..<OH { for ow in 0..<OW {
                let d = dy[at(co, n, oh, ow, N, OH, OW)]
                db[co] += d
                for ci in 0..<g.groupInChannels { for kh in 0..<g.kernelH { for kw in 0..<g.kernelW {
                    let ih = oh * g.strideH - g.padH + kh, iw = ow * g.strideW - g.padW + kw
                    if ih < 0 || ih >= H || iw < 0 || iw >= W { continue }
                    let xi = at(grp * g.groupInChannels + ci, n, ih, iw, N, H, W)
                    let wi = ((co * g.groupInChannels + ci) * g.kernelH + kh) * g.kernelW + kw
                    dx[xi] += weight[wi] * d
                    dw[wi] += x[xi] * d
                } } }
            } } }
        }
        return (dx, dw, db)
    }

    /// `y[o, n] = Σ_i W[o, i] x[i, n] + b[o]`.
    public static func linearForward<T: BinaryFloatingPoint>(x: [T], weight: [T], bias: [T]?,
                                                             inFeatures: Int, outFeatures: Int, n: Int) -> [T] {
        var y = [T](repeating: 0, count: outFeatures * n)
        for o in 0..<outFeatures { for s in 0..<n {
            var acc: T = bias?[o] ?? 0
            for i in 0..<inFeatures { acc += weight[o * inFeatures + i] * x[i * n + s] }
            y[o * n + s] = acc
        } }
        return y
    }

    /// Gradients of `Σ y * dy` for the linear layer: (dx, dWeight, dBias).
    public static func linearBackward<T: BinaryFloatingPoint>(x: [T], weight: [T], dy: [T],
                                                              inFeatures: Int, outFeatures: Int, n: Int)
        -> (dx: [T], dWeight: [T], dBias: [T]) {
        var dx = [T](repeating: 0, count: inFeatures * n)
        var dw = [T](repeating: 0, count: outFeatures * inFeatures)
        var db = [T](repeating: 0, count: outFeatures)
        for o in 0..<outFeatures { for s in 0..<n {
            let d = dy[o * n + s]
            db[o] += d
            for i in 0..<inFeatures {
                dx[i * n + s] += weight[o * inFeatures + i] * d
                dw[o * inFeatures + i] += x[i * n + s] * d
            }
        } }
        return (dx, dw, db)
    }
}
