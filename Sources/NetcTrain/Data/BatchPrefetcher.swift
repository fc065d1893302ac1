import Dispatch

/// Loads the next training batch on a background thread while the current one trains: the
/// loading (8-bit pixels to floats, resizing, decoding) and the training step overlap. Two
/// buffers take turns: the step reads one while the other fills. The batches are the same,
/// in the same order, as loading each in turn would give.
final class BatchPrefetcher {
    /// One batch's memory. Handed to the loading thread and back: `filled.wait()` orders every
    /// access, so no two threads touch one buffer at once.
    private struct Buffers: @unchecked Sendable {
        let images: UnsafeMutableBufferPointer<Float>, labels: UnsafeMutableBufferPointer<Int32>
    }

    private let batcher: ImageBatcher
    private let buffers: [Buffers]
    private let queue = DispatchQueue(label: "netc.prefetch")
    private let filled = DispatchGroup()
    /// The buffer the batch requested last is filling (or filled) into.
    private var next = 0
    /// Seconds spent loading, on the loading thread (written there; read after `filled.wait()`).
    private let loading = Clock()
    /// Seconds the training thread waited in `take` for a batch still loading.
    private var waited = 0.0

    private final class Clock: @unchecked Sendable { var seconds = 0.0 }

    init(_ batcher: ImageBatcher, batch: Int) {
        self.batcher = batcher
        let size = batch * batcher.sampleShape.reduce(1, *)
        buffers = (0..<2).map { _ in Buffers(images: .allocate(capacity: size), labels: .allocate(capacity: batch)) }
    }

    deinit {
        filled.wait()   // a fill still running writes into the buffers
        for b in buffers {
            b.images.deallocate()
            b.labels.deallocate()
        }
    }

    /// Starts loading the images at `indices` (at most `batch` of them) of `epoch` into the free buffer.
    func request(_ indices: ArraySlice<Int>, epoch: Int = 0) {
        filled.wait()
        next = 1 - next
        let (b, batcher, loading) = (buffers[next], batcher, loading)
        queue.async(group: filled) {
            let start = DispatchTime.now().uptimeNanoseconds
            batcher.fill(indices: indices, images: b.images, labels: b.labels, epoch: epoch)
            loading.seconds += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        }
    }

    /// The batch requested last, once loaded; valid until the request after the next one.
    func take() -> (images: UnsafeMutableBufferPointer<Float>, labels: UnsafeMutableBufferPointer<Int32>) {
        let start = DispatchTime.now().uptimeNanoseconds
        filled.wait()
        waited += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return (buffers[next].images, buffers[next].labels)
    }

    /// Seconds spent loading batches and seconds the training thread waited for them since the
    /// last call: loading minus waiting is the time prefetching hid behind the steps.
    func takeTimes() -> (loading: Double, waiting: Double) {
        filled.wait()
        defer { loading.seconds = 0; waited = 0 }
        return (loading.seconds, waited)
    }
}
