import CZlib
import Foundation
import NetcRuntime
import NetcSpec

/// Where a run stands: enough to continue it exactly.
public struct TrainingState: Equatable, Sendable {
    /// Optimizer steps taken since the run began.
    public var step = 0
    /// The epoch in progress (0-based) and the steps of it already taken.
    public var epoch = 0
    public var stepInEpoch = 0
    /// The epoch in progress so far (summed loss, correct predictions, images), so that a
    /// resumed epoch reports the same train loss and accuracy as one that never stopped.
    public var epochLossSum = 0.0
    public var epochCorrect = 0
    public var epochSeen = 0
    /// Bytes of metrics.jsonl written up to this state; a resume cuts the log back to them, so
    /// lines written after the checkpoint (and before a kill) are not repeated. Nil: unknown
    /// (a checkpoint that no training run wrote, e.g. `netc step`'s), and nothing is cut.
    public var metricsLength: Int?

    public init(step: Int = 0, epoch: Int = 0, stepInEpoch: Int = 0) {
        self.step = step
        self.epoch = epoch
        self.stepInEpoch = stepInEpoch
    }
}

/// Checkpoints as safetensors files that PyTorch and numpy read: every parameter and batch-norm
/// statistic under its hierarchical name (`stages.1.0.conv1.weight`, the `state_dict` key),
/// `num_batches_tracked` for each batch norm (so `load_state_dict(strict=True)` accepts them),
/// the optimizer's state per parameter under `optimizer.<slot>.<name>` (`momentum_buffer`,
/// `exp_avg`, `exp_avg_sq`), and in `__metadata__` the spec, its CRC-32, the recipe, the
/// optimizer's step count and the position in the run.
public enum Checkpoint {
    public static let format = "netc-checkpoint-1"
    static let optimizerPrefix = "optimizer."

    /// Writes atomically (temp file, fsync, rename): a crash or SIGKILL leaves the previous checkpoint whole.
    public static func save(to path: String, store: ParameterStore, optimizer: Optimizer?, spec: String,
                            options: TrainingOptions, state: TrainingState) throws {
        var file = SafetensorsFile()
        for (i, e) in store.entries.enumerated() {
            let names = TensorNames(e)
            file.tensors[names.value] = try SafeTensor(Array(store.value(at: i)), shape: e.shape)
            if let tracked = names.batchesTracked {
                file.tensors[tracked] = try SafeTensor([Int64(state.step)], shape: [])
            }
            if let optimizer, optimizer.steps > 0, e.role == .trainable {
                for slot in optimizer.slots {
                    file.tensors[optimizerTensorName(slot: slot, parameter: e.name)] =
                        try SafeTensor(Array(optimizer.state(slot, entry: i)), shape: e.shape)
                }
            }
        }
        file.metadata = try metadata(options: options, state: state)
        file.metadata["format"] = format
        file.metadata["spec"] = spec
        file.metadata["spec_crc32"] = crc32Hex(spec)
        file.metadata["optimizer_steps"] = String(optimizer?.steps ?? 0)
        try file.write(to: path)
    }

    /// What a checkpoint holds besides the tensors.
    public struct Contents {
        /// The spec the weights were trained with; nil in a plain `state_dict` another tool
        /// wrote (no netc metadata), whose tensors load by name and shape alone.
        public var spec: String?
        /// The recipe; nil in a file with weights only (which cannot be resumed).
        public var options: TrainingOptions?
        /// Where the run stands; nil in a file with weights only.
        public var position: TrainingState?
        /// The `__metadata__` keys a resume needs that the file lacks: none in a checkpoint netc
        /// trained, all of them in weights only.
        public var missingForResume: [String]
        /// Steps the optimizer whose state the file holds had taken (0: no state).
        public var optimizerSteps: Int
        public var file: SafetensorsFile
    }

    /// Reads a checkpoint and checks that its spec text still matches its recorded hash.
    public static func read(_ path: String) throws -> Contents {
        try read(bytes: BinaryFile.read(path), source: path)
    }

    /// `read(_:)` for a checkpoint's bytes (the fuzzer's way in); `source` names it in errors.
    public static func read(bytes: [UInt8], source path: String) throws -> Contents {
        let file = try SafetensorsFile.parse(bytes, source: path)
        let m = file.metadata
        // Weights written by other tools (scripts/compare_pytorch.py) carry no format; a format
        // netc does not know may lay tensors out differently, so it is refused, not guessed at.
        if let found = m["format"], found != format {
            throw TrainingError("\(path) is a '\(found)' checkpoint; this netc reads '\(format)'",
                                help: "load it with the netc that wrote it, or train again")
        }
        let spec = m["spec"]
        if spec == nil && m["format"] != nil {
            throw TrainingError("\(path) has no spec in its metadata", help: "is it a netc checkpoint? netc writes 'spec' into __metadata__")
        }
        if let spec, let crc = m["spec_crc32"], crc != crc32Hex(spec) {
            throw TrainingError("\(path): the spec in the metadata does not match its recorded CRC-32 (\(crc))",
                                help: "the file was edited or damaged")
        }
        let options = try options(in: m, of: path), position = try position(in: m, of: path)
        let missing = (options == nil ? ["options"] : []) + (position == nil ? positionKeys.filter { m[$0] == nil } : [])
        var steps = try optimizerSteps(in: m, of: path)
        // Optimizer state without the count (a PyTorch optimizer's, written by another tool) is
        // the optimizer's state all the same: it used to be dropped in silence, the next step
        // starting it afresh as a first step does.
        if steps == nil, file.tensors.keys.contains(where: { $0.hasPrefix(optimizerPrefix) }) { steps = 1 }
        return Contents(spec: spec, options: options, position: position, missingForResume: missing,
                        optimizerSteps: steps ?? 0, file: file)
    }

    /// Copies the checkpoint's tensors into `store`, and into `optimizer` its state (none given:
    /// the file's optimizer state, if any, is left unread). Every parameter must be there with its
    /// shape, and every tensor there must be one the spec uses: a tensor left over means the
    /// weights were saved from another network, whose results these would not be. Problems are
    /// listed all at once.
    public static func load(_ contents: Contents, into store: ParameterStore, optimizer: Optimizer? = nil,
                            source: String) throws {
        let trainable = store.entries.filter { $0.role == .trainable }
        let stateNames = trainable.map { e in (e, (optimizer?.slots ?? []).map { optimizerTensorName(slot: $0, parameter: e.name) }) }
        let used = Set(store.entries.flatMap { TensorNames($0).all } + stateNames.flatMap(\.1))
        // After steps that used it, every trainable tensor has its state: one missing would restart at 0.
        let missing = store.entries.filter { contents.file.tensors[$0.name] == nil }.map(\.name)
            + (contents.optimizerSteps > 0 ? stateNames.flatMap(\.1).filter { contents.file.tensors[$0] == nil } : [])
        let misshapen = stateNames.flatMap { e, names in
            ([e.name] + names).compactMap { name in
                contents.file.tensors[name].flatMap { $0.shape == e.shape ? nil : "'\(name)' is \($0.shape), the spec needs \(e.shape)" }
            }
        } + store.entries.filter { $0.role != .trainable }.compactMap { e in
            contents.file.tensors[e.name].flatMap { $0.shape == e.shape ? nil : "'\(e.name)' is \($0.shape), the spec needs \(e.shape)" }
        }
        // Without an optimizer to take it, a file's optimizer state is not weights and not unused.
        let unused = contents.file.tensors.keys.filter { !used.contains($0) && (optimizer != nil || !$0.hasPrefix(optimizerPrefix)) }.sorted()
        let problems = [missing.isEmpty ? nil : "\(missing.count) tensor(s) the spec needs are missing: " + missing.joined(separator: ", "),
                        misshapen.isEmpty ? nil : "\(misshapen.count) tensor(s) have another shape: " + misshapen.joined(separator: "; "),
                        unused.isEmpty ? nil : "\(unused.count) tensor(s) are not used by the spec: " + unused.joined(separator: ", ")]
            .compactMap { $0 }
        guard problems.isEmpty else {
            throw TrainingError("\(source) does not hold this spec's weights: " + problems.joined(separator: "; "),
                                help: "load the weights with the spec they were trained with")
        }
        for (i, e) in store.entries.enumerated() {
            let values = try contents.file.tensors[e.name]!.floats()
            // NaN weights make every logit NaN: `netc eval` reported the accuracy of argmax over NaN.
            if let j = values.firstIndex(where: { !$0.isFinite }) {
                throw TrainingError("\(source): tensor '\(e.name)' holds \(values[j]) at index \(j)",
                                    help: "the weights diverged or the file was damaged; use an earlier checkpoint")
            }
            // A variance below 0 has no square root: every output of the batch norm is NaN.
            if e.name.hasSuffix(".running_var"), let j = values.firstIndex(where: { $0 < 0 }) {
                throw TrainingError("\(source): tensor '\(e.name)' holds the negative variance \(values[j]) at index \(j)",
                                    help: "a running variance is 0 or more; the file was made wrongly or damaged")
            }
            _ = store.value(at: i).update(fromContentsOf: values)
            guard let optimizer, e.role == .trainable else { continue }
            for slot in optimizer.slots {
                if let tensor = contents.file.tensors[optimizerTensorName(slot: slot, parameter: e.name)] {
                    _ = optimizer.state(slot, entry: i).update(fromContentsOf: try tensor.floats())
                }
            }
        }
        store.noteChange()
        optimizer?.restore(steps: contents.optimizerSteps)
    }

    /// The tensors a checkpoint holds for one parameter-store entry, named as PyTorch's
    /// `state_dict` and netc's optimizer name them: written by `save`, expected by `load`.
    struct TensorNames {
        /// The entry's values: `stem.bn1.running_var`.
        let value: String
        /// Beside a batch norm's running variance, its step count: `stem.bn1.num_batches_tracked`
        /// (PyTorch's `load_state_dict(strict=True)` requires it).
        let batchesTracked: String?

        init(_ entry: ParameterStore.Entry) {
            value = entry.name
            let runningVar = ".running_var"
            batchesTracked = entry.name.hasSuffix(runningVar) ? entry.name.dropLast(runningVar.count) + ".num_batches_tracked" : nil
        }

        var all: [String] { [value, batchesTracked].compactMap { $0 } }
    }

    /// A plain state_dict's tensors under netc's names: each tensor whose name is the PyTorch name
    /// (by `naming`) of one of the store's is renamed to it; others keep theirs, so `load` lists
    /// what is missing or left over by name.
    public static func netcNames(_ tensors: [String: SafeTensor], store: ParameterStore,
                                 naming: TensorNaming) throws -> [String: SafeTensor] {
        let netcName = Dictionary(uniqueKeysWithValues: try foreignNames(store, naming).map { ($1, $0) })
        var out: [String: SafeTensor] = [:], from: [String: String] = [:]
        for (name, tensor) in tensors.sorted(by: { $0.key < $1.key }) {
            let ours = netcName[name] ?? name
            if let other = from[ours] {
                throw TrainingError("the file holds both '\(other)' and '\(name)', which are both '\(ours)'",
                                    help: "keep one of them: a state_dict holds each tensor once")
            }
            (out[ours], from[ours]) = (tensor, name)
        }
        return out
    }

    /// The store as a PyTorch `state_dict` under `naming`'s names: weights and batch-norm
    /// statistics (with `num_batches_tracked`, which `load_state_dict(strict=True)` wants), no
    /// optimizer state, no netc metadata.
    public static func stateDict(_ store: ParameterStore, naming: TensorNaming?, batchesTracked: Int) throws -> SafetensorsFile {
        var file = SafetensorsFile()
        let foreign = try foreignNames(store, naming ?? .identity)
        for (i, e) in store.entries.enumerated() {
            let names = TensorNames(e)
            file.tensors[foreign[names.value]!] = try SafeTensor(Array(store.value(at: i)), shape: e.shape)
            if let tracked = names.batchesTracked { file.tensors[foreign[tracked]!] = try SafeTensor([Int64(batchesTracked)], shape: []) }
        }
        return file
    }

    /// Each tensor a checkpoint of `store` holds, with its name under `naming`; two given one name are an error.
    private static func foreignNames(_ store: ParameterStore, _ naming: TensorNaming) throws -> [String: String] {
        switch naming.foreignNames(store.entries.flatMap { TensorNames($0).all }) {
        case .success(let names): return names
        case .failure(let clash): throw TrainingError("\(clash)", help: "give each tensor its own PyTorch name")
        }
    }

    static func crc32Hex(_ text: String) -> String {
        let bytes = Array(text.utf8)
        let crc = bytes.withUnsafeBufferPointer { CZlib.crc32(0, $0.baseAddress, uInt($0.count)) }
        return String(format: "%08x", UInt32(truncatingIfNeeded: crc))
    }
}
