import Foundation

/// The recipe and the run's position in a checkpoint's `__metadata__` (all values are strings,
/// as safetensors requires). A field that is there but does not parse is an error naming the
/// file and the field, never a silent default, since a resume would otherwise continue with
/// another recipe and rewrite the checkpoint with it. A missing recipe or position is fine for
/// weights only (`netc eval`/`run`/`step` on a file PyTorch wrote with just the spec): it reads
/// as nil, and a resume requires both (`Resumption`).
extension Checkpoint {
    static func metadata(options: TrainingOptions, state: TrainingState) throws -> [String: String] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        var m = [
            "options": String(decoding: try encoder.encode(options), as: UTF8.self),
            "step": String(state.step),
            "epoch": String(state.epoch),
            "step_in_epoch": String(state.stepInEpoch),
            // `String(Double)` round-trips exactly, so a resumed epoch's means are bit-identical.
            "epoch_loss_sum": String(state.epochLossSum),
            "epoch_correct": String(state.epochCorrect),
            "epoch_seen": String(state.epochSeen),
        ]
        if let length = state.metricsLength { m["metrics_bytes"] = String(length) }
        return m
    }

    /// The keys a resume needs besides the recipe.
    static let positionKeys = ["step", "epoch", "step_in_epoch"]

    static func options(in m: [String: String], of path: String) throws -> TrainingOptions? {
        guard let text = m["options"] else { return nil }
        let options: TrainingOptions
        do {
            options = try JSONDecoder().decode(TrainingOptions.self, from: Data(text.utf8))
        } catch let error as DecodingError {
            throw TrainingError("\(path): cannot read the training recipe in __metadata__ 'options': \(describe(error))",
                                help: "the file was edited or damaged; netc will not guess the recipe of a run")
        }
        // Refused here, where the file is known, rather than as a trap in the loop ('logEvery' 0).
        let problems = options.rangeProblems()
        guard problems.isEmpty else {
            throw TrainingError("\(path): __metadata__ 'options' is out of range: " + problems.joined(separator: "; "),
                                help: "the file was edited or damaged")
        }
        return options
    }

    /// The run's position; nil when any of `positionKeys` is absent (weights only).
    static func position(in m: [String: String], of path: String) throws -> TrainingState? {
        func whole(_ key: String) throws -> Int? {
            guard let text = m[key] else { return nil }
            guard let value = Int(text), value >= 0 else {
                throw TrainingError("\(path): __metadata__ '\(key)' is '\(text)', not a whole number", help: "the file was edited or damaged")
            }
            return value
        }
        let step = try whole("step"), epoch = try whole("epoch"), stepInEpoch = try whole("step_in_epoch")
        // Checkpoints from before these fields existed lack them: their epoch sums restart at zero
        // and their metrics log is not cut back, as netc did then.
        var state = TrainingState()
        state.epochCorrect = try whole("epoch_correct") ?? 0
        state.epochSeen = try whole("epoch_seen") ?? 0
        state.metricsLength = try whole("metrics_bytes")
        if let text = m["epoch_loss_sum"] {
            guard let sum = Double(text), sum.isFinite else {
                throw TrainingError("\(path): __metadata__ 'epoch_loss_sum' is '\(text)', not a finite number", help: "the file was edited or damaged")
            }
            state.epochLossSum = sum
        }
        guard let step, let epoch, let stepInEpoch else { return nil }
        (state.step, state.epoch, state.stepInEpoch) = (step, epoch, stepInEpoch)
        return state
    }

    /// The optimizer's step count; nil when the file has none. Checkpoints written before AdamW
    /// counted SGD's momentum steps as `momentum_steps`.
    static func optimizerSteps(in m: [String: String], of path: String) throws -> Int? {
        guard let key = ["optimizer_steps", "momentum_steps"].first(where: { m[$0] != nil }), let text = m[key] else { return nil }
        guard let steps = Int(text), steps >= 0 else {
            throw TrainingError("\(path): __metadata__ '\(key)' is '\(text)', not a whole number", help: "the file was edited or damaged")
        }
        return steps
    }

    /// "'recipe.lr': expected Double, found a string" rather than Foundation's nested dump.
    static func describe(_ error: DecodingError) -> String {
        func at(_ context: DecodingError.Context) -> String {
            let path = context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
            return path.isEmpty ? "" : "'\(path)': "
        }
        switch error {
        case .keyNotFound(let key, let context):
            return "\(at(context))missing '\(key.stringValue)'"
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            return at(context) + context.debugDescription
        @unknown default:
            return "\(error)"
        }
    }
}
