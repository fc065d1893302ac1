import Foundation

/// The recipe and the run's position in a checkpoint's `__metadata__` (all values are strings,
/// as safetensors requires). Reading is strict: a field that is missing or does not parse is an
/// error naming the file and the field, never a silent default, since a resume would otherwise
/// continue with another recipe and rewrite the checkpoint with it.
extension Checkpoint {
    static func metadata(options: TrainingOptions, state: TrainingState) throws -> [String: String] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return [
            "options": String(decoding: try encoder.encode(options), as: UTF8.self),
            "step": String(state.step),
            "epoch": String(state.epoch),
            "step_in_epoch": String(state.stepInEpoch),
        ]
    }

    static func options(in m: [String: String], of path: String) throws -> TrainingOptions {
        guard let text = m["options"] else {
            throw TrainingError("\(path): __metadata__ has no 'options' (the training recipe)",
                                help: "netc writes it into every checkpoint; was the file written by another program?")
        }
        do {
            return try JSONDecoder().decode(TrainingOptions.self, from: Data(text.utf8))
        } catch let error as DecodingError {
            throw TrainingError("\(path): cannot read the training recipe in __metadata__ 'options': \(describe(error))",
                                help: "the file was edited or damaged; netc will not guess the recipe of a run")
        }
    }

    static func state(in m: [String: String], of path: String) throws -> TrainingState {
        func whole(_ key: String) throws -> Int {
            guard let text = m[key] else {
                throw TrainingError("\(path): __metadata__ has no '\(key)'", help: "netc writes it into every checkpoint; was the file written by another program?")
            }
            guard let value = Int(text), value >= 0 else {
                throw TrainingError("\(path): __metadata__ '\(key)' is '\(text)', not a whole number", help: "the file was edited or damaged")
            }
            return value
        }
        return TrainingState(step: try whole("step"), epoch: try whole("epoch"), stepInEpoch: try whole("step_in_epoch"))
    }

    static func momentumSteps(in m: [String: String], of path: String) throws -> Int {
        guard let text = m["momentum_steps"] else { return 0 }  // no momentum was used
        guard let steps = Int(text), steps >= 0 else {
            throw TrainingError("\(path): __metadata__ 'momentum_steps' is '\(text)', not a whole number", help: "the file was edited or damaged")
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
