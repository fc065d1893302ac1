import Foundation
import NetcSpec

/// The learning rate at each step: linear warmup, then constant, step decay or cosine decay.
public struct LearningRateSchedule: Sendable {
    public var base: Double
    public var kind: TrainSpec.Schedule
    public var stepsPerEpoch: Int
    public var epochs: Int
    public var warmupEpochs: Int

    public init(_ recipe: TrainSpec, stepsPerEpoch: Int) {
        base = recipe.lr
        kind = recipe.schedule
        self.stepsPerEpoch = max(1, stepsPerEpoch)
        epochs = recipe.epochs
        warmupEpochs = recipe.warmupEpochs
    }

    /// The rate for global step `step` (0-based).
    public func rate(at step: Int) -> Double {
        let warmupSteps = warmupEpochs * stepsPerEpoch
        if step < warmupSteps { return base * Double(step + 1) / Double(warmupSteps) }
        switch kind {
        case .constant:
            return base
        case .step(let every, let gamma):
            return base * pow(gamma, Double(step / stepsPerEpoch / max(1, every)))
        case .cosine:
            let total = max(1, epochs * stepsPerEpoch - warmupSteps)
            let t = Double(step - warmupSteps) / Double(total)
            return base * 0.5 * (1 + cos(Double.pi * min(1, t)))
        }
    }
}
