import Testing
import NetcIR
import NetcRuntime
import NetcSpec
@testable import NetcTrain

/// A minimal reader of the protobuf wire format, independent of the writer: each field of a
/// message as (number, wire value).
private enum Field { case varint(UInt64), bytes([UInt8]), fixed32(UInt32) }

private func fields(_ b: [UInt8]) -> [(Int, Field)] {
    var i = 0, out: [(Int, Field)] = []
    func varint() -> UInt64 {
        var v: UInt64 = 0, shift: UInt64 = 0
        while true { let byte = b[i]; i += 1; v |= UInt64(byte & 0x7F) << shift; if byte < 0x80 { return v }; shift += 7 }
    }
    while i < b.count {
        let key = varint()
        switch key & 7 {
        case 0: out.append((Int(key >> 3), .varint(varint())))
        case 2: let n = Int(varint()); out.append((Int(key >> 3), .bytes(Array(b[i..<i + n])))); i += n
        case 5: out.append((Int(key >> 3), .fixed32(UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 3]) << 24))); i += 4
        default: Issue.record("unexpected wire type \(key & 7)"); return out
        }
    }
    return out
}

private func strings(_ f: [(Int, Field)], _ number: Int) -> [String] {
    f.compactMap { if $0.0 == number, case .bytes(let b) = $0.1 { String(decoding: b, as: UTF8.self) } else { nil } }
}
private func messages(_ f: [(Int, Field)], _ number: Int) -> [[(Int, Field)]] {
    f.compactMap { if $0.0 == number, case .bytes(let b) = $0.1 { fields(b) } else { nil } }
}
private func ints(_ f: [(Int, Field)], _ number: Int) -> [Int] {
    f.compactMap { if $0.0 == number, case .varint(let v) = $0.1 { Int(Int64(bitPattern: v)) } else { nil } }
}

struct ONNXExportTests {
    @Test func theWireFormatIsProtobufs() {
        var w = ProtobufWriter()
        w.int(1, 150)       // the protobuf documentation's example: 08 96 01
        w.string(2, "testing")
        w.int(3, -1)        // int64 -1: ten bytes
        w.float(4, 1)
        #expect(w.bytes == [0x08, 0x96, 0x01, 0x12, 0x07] + Array("testing".utf8) + [0x18] + [UInt8](repeating: 0xFF, count: 9) + [0x01]
                + [0x25, 0x00, 0x00, 0x80, 0x3F])
    }

    static let spec = """
        netc: 1
        name: tiny
        input: {channels: 2, size: 5}
        classes: 3
        layers:
          - conv: {out: 4, kernel: 3, stride: 2, pad: 1}
          - batchnorm
          - relu6
          - flatten
          - linear: {out: $classes}
        """

    /// The model's structure read back without ONNX's own tools: version, opset, one node per
    /// layer with its attributes, initializers with shapes, and the batch norm folded exactly as
    /// the runtime folds it (or kept as BatchNormalization).
    @Test(arguments: [false, true])
    func aTinyModelReadsBack(keepBatchNorm: Bool) throws {
        let graph = try #require(Compiler.compile(source: Self.spec, file: "tiny.yaml").graph)
        let store = ParameterStore(graph: graph)
        store.initialize(.xavier, seed: 3, graph: graph)
        for (k, v) in ["layers.bn1.weight": [1.5, 0.5, 2, 1], "layers.bn1.running_var": [4, 1, 0.25, 9],
                       "layers.bn1.running_mean": [1, -1, 0.5, 0], "layers.bn1.bias": [0.1, 0.2, 0.3, 0.4]] as [String: [Float]] {
            store.value(k).update(fromContentsOf: v)
        }
        let model = fields(ONNXExport(graph: graph, store: store, keepBatchNorm: keepBatchNorm).encoded(producerVersion: "test"))
        #expect(ints(model, 1) == [8] && strings(model, 2) == ["netc"])
        let opset = try #require(messages(model, 8).first)
        #expect(ints(opset, 2) == [17])
        let g = try #require(messages(model, 7).first)
        let nodes = messages(g, 1)
        #expect(nodes.flatMap { strings($0, 4) } == (keepBatchNorm ? ["Conv", "BatchNormalization", "Clip", "Flatten", "Gemm"]
                                                                  : ["Conv", "Clip", "Flatten", "Gemm"]))
        #expect(nodes.flatMap { strings($0, 3) } == (keepBatchNorm ? ["layers.conv1", "layers.bn1", "layers.relu6_1", "layers.flatten1", "layers.fc1"]
                                                                  : ["layers.conv1", "layers.relu6_1", "layers.flatten1", "layers.fc1"]))
        let conv = nodes[0], attributes = messages(conv, 5)
        let named = Dictionary(uniqueKeysWithValues: attributes.map { (strings($0, 1)[0], ints($0, 8)) })
        #expect(named["strides"] == [2, 2] && named["pads"] == [1, 1, 1, 1] && named["kernel_shape"] == [3, 3])
        // The folded conv writes the batch norm's tensor, which the ReLU6 reads.
        #expect(strings(conv, 2) == [keepBatchNorm ? "layers.conv1" : "layers.bn1"] && strings(nodes[1], 1).first == (keepBatchNorm ? "layers.conv1" : "layers.bn1"))
        let initializers = Dictionary(uniqueKeysWithValues: messages(g, 5).map { (strings($0, 8)[0], $0) })
        let weight = try #require(initializers["layers.conv1.weight"])
        #expect(ints(weight, 1) == [4, 2, 3, 3] && ints(weight, 2) == [1])
        guard case .bytes(let raw)? = weight.first(where: { $0.0 == 9 })?.1 else { Issue.record("no raw_data"); return }
        let values = stride(from: 0, to: raw.count, by: 4).map {
            Float(bitPattern: UInt32(raw[$0]) | UInt32(raw[$0 + 1]) << 8 | UInt32(raw[$0 + 2]) << 16 | UInt32(raw[$0 + 3]) << 24)
        }
        let w = Array(store.value("layers.conv1.weight"))
        // Channel 2: gamma 2, var 0.25, so the scale is 2 / sqrt(0.25 + 1e-5).
        let scale = keepBatchNorm ? 1 : Float(2 / (0.25 + 1e-5).squareRoot())
        #expect(abs(values[2 * 18 + 5] - w[2 * 18 + 5] * scale) <= 1e-6 * abs(w[2 * 18 + 5] * scale))
        #expect((initializers["layers.bn1.running_var"] != nil) == keepBatchNorm)
        let input = try #require(messages(g, 11).first), output = try #require(messages(g, 12).first)
        #expect(strings(input, 1) == ["input"] && strings(output, 1) == ["layers.fc1"])
    }
}
