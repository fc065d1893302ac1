import NetcRuntime

/// A step's loss, accuracy and stop request over the whole batch, all ranks' shares together.
struct CombinedStep {
    var loss: Double
    var correct: Int
    var stop: Bool
}

/// Data-parallel training: each rank computes its share of every batch, then they agree on the
/// whole batch's gradient (so every rank takes the same step and keeps the same weights), loss,
/// accuracy and whether to stop. In one process each is the identity.
extension Trainer {
    /// Sums this rank's share of a step (`n` of the batch's `batchCount` images) with the others'.
    /// `share`: its loss, the mean over its images, and how many it classified right.
    /// Throws, on every rank at once, when any rank's loss is not finite, naming that rank.
    func combineRanks(_ share: (loss: Double, correct: Int), n: Int, of batchCount: Int,
                      images: UnsafeBufferPointer<Float>, buckets: GradientBuckets?) throws -> CombinedStep {
        guard let buckets else { return CombinedStep(loss: share.loss, correct: share.correct, stop: Interrupt.wasRequested) }
        // Each share's gradient is of the whole batch's mean loss (`loss(labels:batchOf:)`), over its
        // own images: the batch's is their sum, which the buckets started during backward.
        buckets.finish()
        let finite = n == 0 || share.loss.isFinite
        var mine = [n > 0 && finite ? share.loss * Double(n) : 0, Double(share.correct), Interrupt.wasRequested ? 1 : 0]
        mine += (0..<communicator.size).map { $0 == communicator.rank && !finite ? 1 : 0 }
        let all = communicator.sum(mine)
        if let rank = (0..<communicator.size).first(where: { all[3 + $0] > 0 }) {
            if rank == communicator.rank { throw nonFinite(share.loss, images: Array(images), n: n, rank: rank) }
            throw TrainingError("the loss became non-finite at step \(state.step + 1) (epoch \(state.epoch + 1)) on rank \(rank) of \(communicator.size)",
                                help: "\(keptCheckpoint); lower the learning rate (--lr) and resume or restart")
        }
        return CombinedStep(loss: all[0] / Double(batchCount), correct: Int(all[1]), stop: all[2] > 0)
    }

    /// Test loss and accuracy over the first `count` test images. Ranks evaluate a share each with
    /// rank 0's batch-norm statistics (those its checkpoint saves) and add up; nil when Ctrl-C
    /// stops a single process's evaluation (ranks finish theirs and stop after it).
    func evaluate(_ batcher: ImageBatcher, count: Int, progress: (Int) -> Void) -> (loss: Double, accuracy: Double)? {
        guard communicator.size > 1 else {
            return Self.evaluate(interpreter, batcher, images: 0..<count, batch: options.batch,
                                 shouldStop: { Interrupt.wasRequested || stopDuringEvaluation }, progress: progress)
        }
        for (i, entry) in store.entries.enumerated() where entry.role == .buffer { communicator.broadcast(store.value(at: i)) }
        let share = communicator.share(of: 0..<count)
        let mine = Self.evaluate(interpreter, batcher, images: share, batch: options.batch,
                                 progress: { progress(min(count, $0 * communicator.size)) })!
        let sums = communicator.sum([mine.loss * Double(share.count), (mine.accuracy * Double(share.count)).rounded()])
        return (sums[0] / Double(max(count, 1)), sums[1] / Double(max(count, 1)))
    }
}
