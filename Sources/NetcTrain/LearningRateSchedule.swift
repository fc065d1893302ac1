import Foundation

/// The learning rate at each step: linear warmup, then constant, step decay or cosine decay.
public struct LearningRateSchedule: Sendable {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        case constant, step, cosine
    }

    public var base: Double
    public var kind: Kind
    public var stepsPerEpoch: Int
    public var epochs: Int
    public var warmupEpochs: Int
    public var stepEvery: Int
    public var stepGamma: Double

    public init(_ o: TrainingOptions, stepsPerEpoch: Int) {
        base = o.lr
        kind = o.schedule
        self.stepsPerEpoch = max(1, stepsPerEpoch)
        epochs = o.epochs
        warmupEpochs = o.warmupEpochs
        stepEvery = max(1, o.stepEvery)
        stepGamma = o.stepGamma
    }

    /// The rate for global step `step` (0-based).
    public func rate(at step: Int) -> Double {
        let warmupSteps = warmupEpochs * stepsPerEpoch
        if step < warmupSteps { return base * Double(step + 1) / Double(warmupSteps) }
        switch kind {
        case .constant:
            return base
        case .step:
            return base * pow(stepGamma, Double(step / stepsPerEpoch / stepEvery))
        case .cosine:
            let total = max(1, epochs * stepsPerEpoch - warmupSteps)
            let t = Double(step - warmupSteps) / Double(total)
            return base * 0.5 * (1 + cos(Double.pi * min(1, t)))
        }
    }
}
