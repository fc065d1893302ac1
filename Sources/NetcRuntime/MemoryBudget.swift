import Foundation
import NetcIR

/// The memory a run needs, known before anything is allocated: the execution plan (`PlanLayout`),
/// parameters with their gradients and momentum, and one batch of input. A batch or image size
/// that cannot fit is refused with the figure and the largest batch that does, instead of
/// aborting in an allocation (`--batch 100000`, `--resize 4000`) or overflowing the byte count.
public enum MemoryBudget {
    /// Bytes a run of `graph` at `batch` needs, or nil if the figure overflows an Int.
    public static func bytes(_ graph: Graph, batch: Int, training: Bool) -> (plan: Int, parameters: Int, data: Int)? {
        guard let plan = ExecutionPlan.bytes(graph: graph, batchSize: batch, training: training) else { return nil }
        // Each image's input floats and its label (4 bytes either way).
        let (floatsPerImage, o1) = graph.inputShape.elementCount.addingReportingOverflow(1)
        let (bytesPerImage, o2) = floatsPerImage.multipliedReportingOverflow(by: MemoryLayout<Float>.stride)
        let (data, o3) = bytesPerImage.multipliedReportingOverflow(by: batch)
        guard !o1, !o2, !o3 else { return nil }
        return (plan, ParameterStore.bytes(of: graph), data)
    }

    /// The sum of `bytes`, or nil on overflow.
    static func total(_ graph: Graph, batch: Int, training: Bool) -> Int? {
        guard let b = bytes(graph, batch: batch, training: training) else { return nil }
        let (x, o1) = b.plan.addingReportingOverflow(b.parameters)
        let (y, o2) = x.addingReportingOverflow(b.data)
        return o1 || o2 ? nil : y
    }

    /// The machine's physical memory in bytes.
    public static func physicalBytes() -> Int {
        Int(sysconf(Int32(_SC_PHYS_PAGES))) * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// The largest batch whose run fits in `limit` bytes; 0 if not even one image does.
    public static func largestBatch(_ graph: Graph, training: Bool, within limit: Int) -> Int {
        func fits(_ n: Int) -> Bool { total(graph, batch: n, training: training).map { $0 <= limit } ?? false }
        guard fits(1) else { return 0 }
        var lo = 1, hi = 2
        while fits(hi) { lo = hi; hi *= 2 }
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2
            if fits(mid) { lo = mid } else { hi = mid }
        }
        return lo
    }

    /// Throws unless a run of `graph` at `batch` fits in `limit` bytes (the physical memory by
    /// default). `batchFlag` names where the batch size came from, for the advice.
    public static func check(_ graph: Graph, batch: Int, training: Bool, batchFlag: String = "--batch",
                             limit: Int = physicalBytes()) throws {
        let need = total(graph, batch: batch, training: training)
        if let need, need <= limit { return }
        let what = "\(training ? "training" : "running") \(graph.name) on \(graph.inputShape) images in batches of \(batch)"
        let figure = bytes(graph, batch: batch, training: training).map {
            " needs \(gib(need ?? .max)) (plan \(gib($0.plan)), parameters and optimizer state \(gib($0.parameters)), input batch \(gib($0.data)))"
        } ?? " needs more bytes than an Int counts"
        let largest = largestBatch(graph, training: training, within: limit)
        let help = largest > 0
            ? "the largest batch that fits is \(largest) (\(batchFlag) \(largest))"
            : "not even one \(graph.inputShape) image fits: use smaller images (--resize) or a smaller network"
        throw MemoryBudgetError(message: what + figure + ", but this machine has \(gib(limit)) of memory", help: help)
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
