#if canImport(Glibc)
import Glibc
#else
import Foundation
#endif

/// Softmax + cross-entropy over class-major logits `[K, N]` (sample n's logits are the
/// strided column `logits[·, n]`).
///
/// Loss is the batch mean of `logsumexp(z) - z[label]`, computed in Double with the max
/// subtracted (stable for any logit range). If `dLogits` is given it receives the gradient
/// of the MEAN loss: `(softmax(z) - onehot(label)) / N`, overwritten.
/// - Returns: the mean loss and the number of samples whose argmax (first maximum) equals the label.
public func softmaxCrossEntropy(logits: UnsafeBufferPointer<Float>, labels: UnsafeBufferPointer<Int32>,
                                classes k: Int, n: Int,
                                dLogits: UnsafeMutableBufferPointer<Float>?) -> (loss: Double, correct: Int) {
    precondition(logits.count >= k * n && labels.count >= n && k >= 1, "softmax-ce: buffer too small")
    if let dLogits { precondition(dLogits.count >= k * n, "softmax-ce: dLogits too small") }
    let z = logits.baseAddress!
    var total = 0.0, correct = 0
    let invN = 1 / Double(n)
    for s in 0..<n {
        let label = Int(labels[s])
        precondition(label >= 0 && label < k, "softmax-ce: label out of range")
        var best = z[s], arg = 0
        for c in 1..<k where z[c * n + s] > best { best = z[c * n + s]; arg = c }
        if arg == label { correct += 1 }
        let m = Double(best)
        var sum = 0.0
        for c in 0..<k { sum += exp(Double(z[c * n + s]) - m) }
        let lse = m + log(sum)
        total += lse - Double(z[label * n + s])
        if let d = dLogits?.baseAddress {
            for c in 0..<k {
                let p = exp(Double(z[c * n + s]) - lse)
                d[c * n + s] = Float(((c == label ? p - 1 : p)) * invN)
            }
        }
    }
    return (total * invN, correct)
}
