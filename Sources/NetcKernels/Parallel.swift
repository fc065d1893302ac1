import Dispatch
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

/// Runs `body` over `0..<count` split into at most `kernelThreadCount` contiguous chunks.
///
/// Elementwise kernels run between GEMMs, so using every core here does not fight
/// OpenBLAS's own thread pool for work, though OpenBLAS's idle workers keep spinning for a
/// while after each GEMM. Running the bandwidth-bound kernels on the calling thread only
/// (so they never share a core with a spinning worker) was measured on ResNet-18 b128
/// (2 cores) and was not faster — batch norm, ReLU and add took as long or longer — so
/// they stay parallel. `workPerItem` is the approximate cost of one index (e.g.
/// floats touched); when `count * workPerItem` is small the whole range runs inline on the
/// calling thread. Chunks are disjoint, so `body` may write to per-index outputs freely.
@inline(__always)
public func parallelFor(_ count: Int, workPerItem: Int = 1, _ body: (Range<Int>) -> Void) {
    if count <= 0 { return }
    let chunks = min(kernelThreadCount, count)
    if chunks == 1 || count &* workPerItem < parallelWorkThreshold {
        body(0..<count)
        return
    }
    withoutActuallyEscaping(body) { body in
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            // Balanced split: the first `count % chunks` chunks get one extra index.
            let base = count / chunks, extra = count % chunks
            let lo = chunk * base + min(chunk, extra)
            let hi = lo + base + (chunk < extra ? 1 : 0)
            body(lo..<hi)
        }
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
