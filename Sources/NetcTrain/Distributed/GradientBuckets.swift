import CMPI
import Foundation
import NetcIR
import NetcRuntime

/// Sums the gradients over the ranks in buckets (contiguous runs of the gradient buffer), each
/// started as soon as backward has finished every gradient in it, so that the sums travel while
/// the earlier layers' backward still runs, as PyTorch's DDP does. Parameters lie in the buffer
/// in node order and backward visits nodes in reverse, so buckets complete from the end, in the
/// same order on every rank (which MPI's collectives require).
final class GradientBuckets {
    private let communicator: Communicator
    private let gradients: UnsafeMutableBufferPointer<Float>
    /// Bucket boundaries, ascending: bucket b is `bounds[b]..<bounds[b + 1]`.
    private let bounds: [Int]
    /// For each node, where the gradients final after its backward begin: every one from there on.
    private let finalFrom: [Int]
    /// The lowest bucket not yet started (buckets start from the last one down).
    private var nextToStart = 0
    private var requests: [MPI_Request?]
    /// Seconds blocked waiting for sums after backward: the communication the overlap did not hide.
    private(set) var waitSeconds = 0.0

    /// `bucketFloats`: the size of a bucket; 0 for a single sum after backward.
    init(communicator: Communicator, store: ParameterStore, graph: Graph, bucketFloats: Int) {
        self.communicator = communicator
        gradients = store.allGradients
        // MPI counts are Int32.
        let total = gradients.count, size = min(bucketFloats > 0 ? bucketFloats : max(total, 1), Int(Int32.max))
        bounds = Array(stride(from: 0, to: total, by: size)) + [total]
        var from = [Int](repeating: total, count: graph.nodes.count + 1)
        for entry in store.entries.reversed() { from[entry.node] = min(from[entry.node], entry.offset) }
        for id in stride(from: graph.nodes.count - 1, through: 0, by: -1) { from[id] = min(from[id], from[id + 1]) }
        finalFrom = bucketFloats > 0 ? from : [Int](repeating: total, count: graph.nodes.count + 1)
        requests = [MPI_Request?](repeating: nil, count: bounds.count - 1)
    }

    /// Before each backward.
    func reset() { nextToStart = bounds.count - 1 }

    /// After node `id`'s backward: starts the buckets it completed and lets MPI progress the others.
    func finished(_ id: Node.ID) {
        startBuckets(from: finalFrom[id])
        for b in nextToStart..<requests.count where requests[b] != nil {
            var done: Int32 = 0
            communicator.check(netc_mpi_test(&requests[b], &done), "sum gradients")
        }
    }

    /// After backward (or instead of it, for a rank without images in this batch): starts what is
    /// left and waits until every bucket is summed.
    func finish() {
        startBuckets(from: 0)
        let start = DispatchTime.now().uptimeNanoseconds
        for b in requests.indices where requests[b] != nil { communicator.check(netc_mpi_wait(&requests[b]), "sum gradients") }
        waitSeconds += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    private func startBuckets(from offset: Int) {
        while nextToStart > 0 && bounds[nextToStart - 1] >= offset {
            let b = nextToStart - 1, lo = bounds[b]
            communicator.check(netc_mpi_start_sum_floats(gradients.baseAddress! + lo, Int32(bounds[b + 1] - lo), &requests[b]),
                               "sum gradients")
            nextToStart = b
        }
    }
}
