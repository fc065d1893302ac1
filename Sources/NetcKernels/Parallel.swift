import Foundation

/// Number of chunks `parallelFor` splits work into: one per core this process owns. Under
/// mpirun the ranks on one machine share its cores (Open MPI tells each how many ranks it
/// placed there), so that N ranks do not oversubscribe them.
public let kernelThreadCount: Int = {
    let ranksHere = ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_LOCAL_SIZE"].flatMap { Int($0) } ?? 1
    return max(1, ProcessInfo.processInfo.activeProcessorCount / max(1, ranksHere))
}()

/// Below this many units of work (≈ floats touched) a loop runs inline: dispatching to
/// other threads costs a few microseconds, more than the work itself.
public let parallelWorkThreshold = 1 << 15

/// Runs `body` over `0..<count` split into at most `kernelThreadCount` contiguous chunks, on
/// the calling thread and the workers of `WorkerPool`, which spin briefly between loops instead
/// of sleeping. Against Dispatch's `concurrentPerform`, which wakes sleeping threads for every
/// loop, that took ResNet-18's training step at 28x28 from 860-870 to 1008-1011 img/s and its
/// batch-1 latency from 7.0 to 4.9 ms, and the loaded machine's slow phases hurt it less
/// (latency 10.8 -> 8.6 ms in one). `workPerItem` is the approximate cost of one index (e.g.
/// floats touched); when `count * workPerItem` is small the whole range runs inline on the
/// calling thread, as does a loop started while the pool runs another (from inside a chunk,
/// or from a second thread). Chunks are disjoint, so `body` may write to per-index outputs freely.
@inline(__always)
public func parallelFor(_ count: Int, workPerItem: Int = 1, _ body: (Range<Int>) -> Void) {
    if count <= 0 { return }
    let chunks = min(kernelThreadCount, count)
    if chunks == 1 || count &* workPerItem < parallelWorkThreshold {
        body(0..<count)
        return
    }
    // Balanced split: the first `count % chunks` chunks get one extra index.
    let base = count / chunks, extra = count % chunks
    func chunk(_ c: Int) {
        let lo = c * base + min(c, extra)
        body(lo..<lo + base + (c < extra ? 1 : 0))
    }
    if !WorkerPool.shared.run(chunks, chunk) {
        // The pool is busy: this loop was started from inside another one.
        body(0..<count)
    }
}

/// `parallelFor`, or the whole range on the calling thread when `parallel` is false: the caller
/// is itself one of several workers, each with a share of a larger loop.
@inline(__always)
public func parallelFor(_ count: Int, workPerItem: Int = 1, parallel: Bool, _ body: (Range<Int>) -> Void) {
    if parallel {
        parallelFor(count, workPerItem: workPerItem, body)
    } else if count > 0 {
        body(0..<count)
    }
}
