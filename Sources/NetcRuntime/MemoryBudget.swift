import Foundation
import NetcIR

/// The memory a run needs, known before anything is allocated: the execution plan (`PlanLayout`),
/// parameters with their gradients and momentum, and one batch of input. A batch or image size
/// that cannot fit is refused with the figure and the largest batch that does, instead of
/// aborting in an allocation (`--batch 100000`, `--resize 4000`) or overflowing the byte count.
public enum MemoryBudget {
    /// Bytes a run of `graph` at `batch` needs, or nil if the figure overflows an Int.
    public static func bytes(_ graph: Graph, batch: Int, training: Bool) -> (plan: Int, parameters: Int, data: Int)? {
        Footprint(graph, training: training).bytes(batch: batch)
    }

    /// The sum of `bytes`, or nil on overflow.
    static func total(_ graph: Graph, batch: Int, training: Bool) -> Int? {
        Footprint(graph, training: training).total(batch: batch)
    }

    /// The machine's physical memory in bytes.
    public static func physicalBytes() -> Int {
        Int(sysconf(Int32(_SC_PHYS_PAGES))) * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// The largest batch whose run fits in `limit` bytes; 0 if not even one image does.
    public static func largestBatch(_ graph: Graph, training: Bool, within limit: Int) -> Int {
        Footprint(graph, training: training).largestBatch(within: limit)
    }

    /// Throws unless a run of `graph` at `batch` fits in `limit` bytes (the physical memory by
    /// default). `advice` says how the caller's user asks for a batch or images that fit.
    ///
    ///     try MemoryBudget.check(graph, batch: 128, training: true, advice: .flags(batch: "--batch", resize: "--resize"))
    public static func check(_ graph: Graph, batch: Int, training: Bool, limit: Int = physicalBytes(),
                             advice: MemoryAdvice) throws {
        let footprint = Footprint(graph, training: training)
        let bytes = footprint.bytes(batch: batch)
        let need = bytes.flatMap(Footprint.sum)
        if let need, need <= limit { return }
        let what = "\(training ? "training" : "running") \(graph.name) on \(graph.inputShape) images in batches of \(batch)"
        let figure = bytes.map {
            " needs \(gib(need ?? .max)) (plan \(gib($0.plan)), parameters and optimizer state \(gib($0.parameters)), input batch \(gib($0.data)))"
        } ?? " needs more bytes than an Int counts"
        let largest = footprint.largestBatch(within: limit)
        let help = largest > 0
            ? "the largest batch that fits is \(largest) (\(advice.batch(largest)))"
            : "not even one \(graph.inputShape) image fits: \(advice.smallerImages) or use a smaller network"
        throw MemoryBudgetError(message: what + figure + ", but this machine has \(gib(limit)) of memory", help: help)
    }

    /// What a run of one graph needs at any batch size: the parameters do not depend on the
    /// batch, nor does a training plan's layout, so they are built once and a batch size costs a
    /// multiplication (`largestBatch` probes about 2·log2(batch) sizes). An inference run needs the
    /// compiled program's plan, whose convolution algorithms (and so workspace) depend on the
    /// batch: it is compiled anew for each size asked about, a few passes over the graph.
    struct Footprint {
        let planBytes: (Int) -> Int?
        let parameters: Int
        /// Each image's input floats and its label (4 bytes either way); nil on overflow.
        let bytesPerImage: Int?

        init(_ graph: Graph, training: Bool) {
            if training {
                let layout = PlanLayout(graph: graph, training: true, inputGradient: false)
                planBytes = { layout.bytes(capacity: $0) }
            } else {
                planBytes = { InferencePlan.bytes(program: Program.inference(graph, batch: $0), batchSize: $0) }
            }
            parameters = ParameterStore.bytes(of: graph)
            let (floatsPerImage, o1) = graph.inputShape.elementCount.addingReportingOverflow(1)
            let (bytes, o2) = floatsPerImage.multipliedReportingOverflow(by: MemoryLayout<Float>.stride)
            bytesPerImage = o1 || o2 ? nil : bytes
        }

        func bytes(batch: Int) -> (plan: Int, parameters: Int, data: Int)? {
            guard let plan = planBytes(batch), let bytesPerImage else { return nil }
            let (data, overflow) = bytesPerImage.multipliedReportingOverflow(by: batch)
            return overflow ? nil : (plan, parameters, data)
        }

        func total(batch: Int) -> Int? { bytes(batch: batch).flatMap(Self.sum) }

        static func sum(_ b: (plan: Int, parameters: Int, data: Int)) -> Int? {
            let (x, o1) = b.plan.addingReportingOverflow(b.parameters)
            let (y, o2) = x.addingReportingOverflow(b.data)
            return o1 || o2 ? nil : y
        }

        func largestBatch(within limit: Int) -> Int {
            func fits(_ n: Int) -> Bool { total(batch: n).map { $0 <= limit } ?? false }
            guard fits(1) else { return 0 }
            var lo = 1, hi = 2
            while fits(hi) { lo = hi; hi *= 2 }
            while hi - lo > 1 {
                let mid = lo + (hi - lo) / 2
                if fits(mid) { lo = mid } else { hi = mid }
            }
            return lo
        }
    }

    /// `13.9 GiB`, `247.9 MiB`, `33.4 KiB`.
    static func gib(_ bytes: Int) -> String {
        let (unit, scale) = bytes >= 1 << 30 ? ("GiB", 1 << 30) : bytes >= 1 << 20 ? ("MiB", 1 << 20) : ("KiB", 1 << 10)
        return String(format: "%.1f %@", Double(bytes) / Double(scale), unit)
    }
}

/// A run refused because it cannot fit in memory: the figure, and what would fit.
public struct MemoryBudgetError: Error, CustomStringConvertible {
    public var message: String
    public var help: String
    public var description: String { "\(message)\nhelp: \(help)" }
}

/// How a refused run's user asks for what fits, in the words of the command they ran: a flag,
/// a new run on resume, a smaller input file for `netc run` and `netc step`.
public struct MemoryAdvice {
    /// The way to ask for a batch of the given size: `--batch 64`.
    public var batch: (Int) -> String
    /// The way to ask for smaller images, to follow "not even one image fits: ".
    public var smallerImages: String

    public init(batch: @escaping (Int) -> String, smallerImages: String) {
        self.batch = batch
        self.smallerImages = smallerImages
    }

    /// A command whose flags choose the batch and the image size.
    ///
    ///     MemoryAdvice.flags(batch: "--batch", resize: "--resize").batch(64)   // "--batch 64"
    public static func flags(batch: String, resize: String) -> MemoryAdvice {
        MemoryAdvice(batch: { "\(batch) \($0)" }, smallerImages: "use smaller images (\(resize))")
    }
}
