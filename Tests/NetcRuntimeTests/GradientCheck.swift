import Testing
import NetcIR
import NetcRuntime

/// Central finite differences of a scalar function of one Float coordinate.
func finiteDifference(_ p: UnsafeMutableBufferPointer<Float>, _ j: Int, eps: Float, _ f: () -> Double) -> Double {
    let saved = p[j]
    p[j] = saved + eps
    let plus = f()
    p[j] = saved - eps
    let minus = f()
    p[j] = saved
    return (plus - minus) / Double((saved + eps) - (saved - eps))
}

/// One gradient comparison.
struct GradientSample: CustomStringConvertible {
    var what: String
    var analytic: Double
    var numeric: Double
    var description: String { "\(what): analytic \(analytic), numeric \(numeric)" }
}

/// Samples whose analytic and numeric gradients disagree beyond `rtol` relative to the larger of
/// the two, with an absolute floor of `atol` times the largest gradient seen (Float forward
/// passes make tiny gradients noisy).
func mismatches(_ samples: [GradientSample], rtol: Double = 2e-2, atol: Double = 2e-3) -> [GradientSample] {
    let scale = samples.map { max(abs($0.analytic), abs($0.numeric)) }.max() ?? 0
    return samples.filter { s in
        abs(s.analytic - s.numeric) > rtol * max(abs(s.analytic), abs(s.numeric)) + atol * scale + 1e-6
    }
}

/// Up to `count` coordinates spread over `0..<n` (all when n is small), deterministic.
func sampleIndices(_ n: Int, _ count: Int, _ rng: inout SplitMix64) -> [Int] {
    if n <= count { return Array(0..<n) }
    return (0..<count).map { _ in Int(rng.next() % UInt64(n)) }
}

/// Compares the interpreter's gradients of `lossFunction` (which must run a training forward
/// and return the loss) with finite differences, for a sample of coordinates of every
/// trainable parameter and of the input.
func gradientCheck(interpreter: Interpreter, input original: [Float], perTensor: Int, eps: Float,
                   seed: UInt64, lossFunction: ([Float]) -> Double, backward: ([Float]) -> Void) -> [GradientSample] {
    let store = interpreter.store
    var input = original
    backward(input)
    var samples: [GradientSample] = []
    var rng = SplitMix64(seed: seed)
    var analyticGrads: [(Int, [Float])] = []
    for (i, e) in store.entries.enumerated() where e.role == .trainable {
        analyticGrads.append((i, Array(store.gradient(at: i))))
    }
    let inputGrad = interpreter.inputGradient()
    for (i, grad) in analyticGrads {
        let p = store.value(at: i)
        for j in sampleIndices(p.count, perTensor, &rng) {
            let numeric = finiteDifference(p, j, eps: eps) { lossFunction(input) }
            samples.append(GradientSample(what: "\(store.entries[i].name)[\(j)]", analytic: Double(grad[j]), numeric: numeric))
        }
    }
    let inputSamples = sampleIndices(input.count, perTensor * 2, &rng)
    input.withUnsafeMutableBufferPointer { x in
        let copy = UnsafeMutableBufferPointer(start: x.baseAddress, count: x.count)
        for j in inputSamples {
            let numeric = finiteDifference(copy, j, eps: eps) { lossFunction(Array(copy)) }
            samples.append(GradientSample(what: "input[\(j)]", analytic: Double(inputGrad[j]), numeric: numeric))
        }
    }
    return samples
}
