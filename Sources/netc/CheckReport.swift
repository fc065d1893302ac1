import Foundation
import NetcIR
import NetcSpec

/// What `netc check` says of one spec, as a line of text or a JSON object.
struct CheckReport: Encodable {
    var file: String
    var ok: Bool
    var name: String?
    var parameters: Int?
    /// Conv and linear MACs at the declared input, bias excluded (torchvision's GFLOPS convention).
    var macs: Int?
    var inputShape: [Int]?
    var outputShape: [Int]?
    var diagnostics: [Diagnostic]

    init(_ c: Compilation) {
        file = c.file
        ok = c.succeeded
        diagnostics = c.diagnostics
        if let g = c.graph, c.succeeded {
            let cost = g.cost
            name = g.name
            parameters = cost.parameters
            macs = cost.macs
            inputShape = g.inputShape.dims
            outputShape = g.outputShape.dims
        }
    }

    /// `architectures/resnet18.yaml: resnet18, 11,178,378 params, 0.32 GMACs at 1x96x96, output 10`.
    var line: String? {
        guard ok, let name, let parameters, let macs, let inputShape, let outputShape else { return nil }
        let shape = { (d: [Int]) in d.map(String.init).joined(separator: "x") }
        return "\(file): \(name), \(Summary.grouped(parameters)) params, "
            + String(format: "%.2f", Double(macs) / 1e9) + " GMACs (conv+linear) at \(shape(inputShape)), output \(shape(outputShape))"
    }

    static func json(_ reports: [CheckReport]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return String(decoding: try! encoder.encode(reports), as: UTF8.self)
    }
}
