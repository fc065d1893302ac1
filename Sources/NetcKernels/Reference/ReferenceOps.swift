#if canImport(Glibc)
import Glibc
#else
import Foundation
#endif

// Naive reference twins of the non-GEMM kernels (tests only). See ReferenceConvolution.swift.

extension Reference {
    /// Training batch norm over `[C, M]`: returns y, batch mean, biased and unbiased variance.
    public static func batchNormTraining<T: BinaryFloatingPoint>(x: [T], channels: Int, perChannel m: Int,
                                                                 gamma: [T], beta: [T], epsilon: T)
        -> (y: [T], mean: [T], variance: [T], unbiasedVariance: [T]) {
        var y = x, means = [T](repeating: 0, count: channels)
        var vars = means, unbiased = means
        for c in 0..<channels {
            var s: T = 0
            for i in 0..<m { s += x[c * m + i] }
            let mean = s / T(m)
            var q: T = 0
            for i in 0..<m { q += (x[c * m + i] - mean) * (x[c * m + i] - mean) }
            let v = q / T(m)
            means[c] = mean; vars[c] = v; unbiased[c] = m > 1 ? q / T(m - 1) : v
            for i in 0..<m { y[c * m + i] = (x[c * m + i] - mean) / (v + epsilon).squareRoot() * gamma[c] + beta[c] }
        }
        return (y, means, vars, unbiased)
    }

    /// Backward of training batch norm, from the textbook chain rule (dmean and dvar terms
    /// written out separately, unlike the fused fast kernel): (dx, dGamma, dBeta).
    public static func batchNormBackward<T: BinaryFloatingPoint>(x: [T], dy: [T], channels: Int, perChannel m: Int,
                                                                 gamma: [T], epsilon: T)
        -> (dx: [T], dGamma: [T], dBeta: [T]) {
        var dx = x, dg = [T](repeating: 0, count: channels), db = dg
        for c in 0..<channels {
            var mean: T = 0
            for i in 0..<m { mean += x[c * m + i] }
            mean /= T(m)
            var v: T = 0
            for i in 0..<m { v += (x[c * m + i] - mean) * (x[c * m + i] - mean) }
            v /= T(m)
            let std = (v + epsilon).squareRoot()
            var dvar: T = 0, dmean: T = 0
            for i in 0..<m {
                let xm = x[c * m + i] - mean, d = dy[c * m + i]
                dg[c] += d * xm / std
                db[c] += d
                let dxhat = d * gamma[c]
                dvar += dxhat * xm * (-1 / 2) / (std * std * std)
                dmean += -dxhat / std
            }
            var sumXm: T = 0
            for i in 0..<m { sumXm += x[c * m + i] - mean }
            dmean += dvar * (-2) * sumXm / T(m)
            for i in 0..<m {
                let xm = x[c * m + i] - mean
                dx[c * m + i] = dy[c * m + i] * gamma[c] / std + dvar * 2 * xm / T(m) + dmean / T(m)
            }
        }
        return (dx, dg, db)
    }

    public static func relu<T: BinaryFloatingPoint>(_ x: [T]) -> [T] { x.map { $0 > 0 ? $0 : 0 } }

    /// PyTorch's LeakyReLU and its derivative (`slope` at 0 and below).
    public static func leakyRelu(slope: Double, _ x: [Double]) -> [Double] { x.map { $0 > 0 ? $0 : slope * $0 } }
    public static func leakyReluBackward(slope: Double, x: [Double], dy: [Double]) -> [Double] {
        zip(x, dy).map { $0 > 0 ? $1 : slope * $1 }
    }

    /// The activations in double precision, written from PyTorch's documented definitions.
    public static func activation(_ f: ActivationFunction, _ x: [Double]) -> [Double] {
        func sigmoid(_ v: Double) -> Double { 1 / (1 + exp(-v)) }
        return x.map { v in
            switch f {
            case .sigmoid: sigmoid(v)
            case .silu: v * sigmoid(v)
            case .hardSigmoid: v <= -3 ? 0 : v >= 3 ? 1 : v / 6 + 0.5
            case .hardSwish: v <= -3 ? 0 : v >= 3 ? v : v * (v + 3) / 6
            case .relu6: v <= 0 ? 0 : v >= 6 ? 6 : v
            }
        }
    }

    /// `dy * f'(x)`, with PyTorch's choices at the kinks.
    public static func activationBackward(_ f: ActivationFunction, x: [Double], dy: [Double]) -> [Double] {
        func sigmoid(_ v: Double) -> Double { 1 / (1 + exp(-v)) }
        return zip(x, dy).map { v, g in
            let d: Double = switch f {
            case .sigmoid: sigmoid(v) * (1 - sigmoid(v))
            case .silu: sigmoid(v) + v * sigmoid(v) * (1 - sigmoid(v))
            case .hardSigmoid: v > -3 && v < 3 ? 1.0 / 6 : 0
            case .hardSwish: v < -3 ? 0 : v <= 3 ? (2 * v + 3) / 6 : 1
            case .relu6: v > 0 && v < 6 ? 1 : 0
            }
            return g * d
        }
    }

    /// Max pooling with -inf padding; also returns the winner's in-plane offset.
    public static func maxPool<T: BinaryFloatingPoint>(_ g: PoolGeometry, x: [T]) -> (y: [T], indices: [Int32]) {
        var y = [T](), idx = [Int32]()
        for p in 0..<g.planes { for oh in 0..<g.outH { for ow in 0..<g.outW {
            var best = -T.infinity, arg = -1
            for kh in 0..<g.kernelH { for kw in 0..<g.kernelW {
                let h = oh * g.strideH - g.padH + kh, w = ow * g.strideW - g.padW + kw
                guard h >= 0, h < g.height, w >= 0, w < g.width else { continue }
                let v = x[(p * g.height + h) * g.width + w]
                if v > best || arg < 0 { best = v; arg = h * g.width + w }
            } }
            y.append(best); idx.append(Int32(arg))
        } } }
        return (y, idx)
    }

    /// Average pooling, `count_include_pad = true`.
    public static func avgPool<T: BinaryFloatingPoint>(_ g: PoolGeometry, x: [T]) -> [T] {
        var y = [T]()
        for p in 0..<g.planes { for oh in 0..<g.outH { for ow in 0..<g.outW {
            var s: T = 0
            for kh in 0..<g.kernelH { for kw in 0..<g.kernelW {
                let h = oh * g.strideH - g.padH + kh, w = ow * g.strideW - g.padW + kw
                if h >= 0 && h < g.height && w >= 0 && w < g.width { s += x[(p * g.height + h) * g.width + w] }
            } }
            y.append(s / T(g.kernelH * g.kernelW))
        } } }
        return y
    }

    public static func globalAvgPool<T: BinaryFloatingPoint>(x: [T], planes: Int, spatial: Int) -> [T] {
        (0..<planes).map { p in (0..<spatial).reduce(T(0)) { $0 + x[p * spatial + $1] } / T(spatial) }
    }

    /// `[C][N][H*W] -> [C*H*W, N]`, element-by-element from the index formula.
    public static func flatten<T>(x: [T], channels: Int, n: Int, spatial: Int) -> [T] {
        var y = x
        for c in 0..<channels { for i in 0..<n { for s in 0..<spatial {
            y[(c * spatial + s) * n + i] = x[(c * n + i) * spatial + s]
        } } }
        return y
    }

    /// NCHW `[N][C][HW]` -> CNHW `[C][N][HW]`.
    public static func nchwToCnhw<T>(_ x: [T], n: Int, c: Int, spatial: Int) -> [T] {
        var y = x
        for i in 0..<n { for ch in 0..<c { for s in 0..<spatial {
            y[(ch * n + i) * spatial + s] = x[(i * c + ch) * spatial + s]
        } } }
        return y
    }

    /// Mean softmax cross-entropy over `[K, N]` logits, its gradient and #correct, in Double.
    public static func softmaxCrossEntropy<T: BinaryFloatingPoint>(logits: [T], labels: [Int32], classes k: Int, n: Int)
        -> (loss: Double, dLogits: [Double], correct: Int) {
        var loss = 0.0, correct = 0
        var d = [Double](repeating: 0, count: k * n)
        for s in 0..<n {
            let z = (0..<k).map { Double(logits[$0 * n + s]) }
            let m = z.max()!
            let e = z.map { exp($0 - m) }
            let sum = e.reduce(0, +)
            loss += -log(e[Int(labels[s])] / sum)
            if z.firstIndex(of: m)! == Int(labels[s]) { correct += 1 }
            for c in 0..<k { d[c * n + s] = (e[c] / sum - (c == Int(labels[s]) ? 1 : 0)) / Double(n) }
        }
        return (loss / Double(n), d, correct)
    }

    /// torch.optim.SGD step written as in PyTorch's `_single_tensor_sgd` (no dampening/nesterov).
    /// `buffer` is nil before the first momentum step (PyTorch's "buffer is None").
    public static func sgdStep(param: inout [Double], grad: [Double], buffer: inout [Double]?,
                               lr: Double, momentum: Double, weightDecay: Double) {
        let d = zip(grad, param).map { $0 + weightDecay * $1 }
        var step = d
        if momentum != 0 {
            if let b = buffer { buffer = zip(b, d).map { momentum * $0 + $1 } } else { buffer = d }
            step = buffer!
        }
        for i in param.indices { param[i] -= lr * step[i] }
    }
}
