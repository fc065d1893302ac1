import Testing
@testable import NetcTrain

/// Loading ahead gives the batches loading in turn gives, in order, each intact while the next loads.
@Test func prefetchedBatchesEqualBatchesLoadedInTurn() throws {
    let pixels = (0..<10 * 4 * 4).map { UInt8($0 % 251) }
    let data = try ImageSet(pixels: .bytes(pixels), labels: (0..<10).map { Int32($0) }, channels: 1, height: 4, width: 4, source: "t")
    let batcher = ImageBatcher(dataset: data, resizeTo: 6)
    let order = [7, 2, 9, 0, 4, 1, 8, 3, 6, 5]
    let prefetcher = BatchPrefetcher(batcher, batch: 3)
    prefetcher.request(order[0..<3])
    for lo in stride(from: 0, to: 10, by: 3) {
        let indices = order[lo..<min(lo + 3, 10)]
        let (images, labels) = prefetcher.take()
        if lo + 3 < 10 { prefetcher.request(order[lo + 3 ..< min(lo + 6, 10)]) }
        let expected = batcher.batch(indices: indices)
        #expect(Array(images[0..<expected.images.count]) == expected.images, "batch at \(lo)")
        #expect(Array(labels[0..<indices.count]) == expected.labels)
    }
}

/// The loading time is counted on the loading thread and the waiting time on the caller's, each
/// since the last report: a caller that waits for every batch waits about as long as loading took.
@Test func prefetchReportsLoadingAndWaitingTime() throws {
    let pixels = [UInt8](repeating: 7, count: 64 * 28 * 28)
    let data = try ImageSet(pixels: .bytes(pixels), labels: [Int32](repeating: 0, count: 64), channels: 1, height: 28, width: 28, source: "t")
    let prefetcher = BatchPrefetcher(ImageBatcher(dataset: data, resizeTo: 96), batch: 64)
    prefetcher.request(Array(0..<64)[...])
    _ = prefetcher.take()
    let first = prefetcher.takeTimes()
    #expect(first.loading > 0 && first.waiting > 0 && first.waiting <= first.loading * 1.5 + 0.01)
    let second = prefetcher.takeTimes()
    #expect(second.loading == 0 && second.waiting == 0, "each report covers the time since the last")
}
