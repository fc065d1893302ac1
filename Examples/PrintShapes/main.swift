// Compiles a spec with the NetcSpec library and prints every layer's output shape.
//
//     swift run print-shapes Examples/wide-basic.yaml
import Foundation
import NetcIR
import NetcSpec

let path = CommandLine.arguments.dropFirst().first ?? "architectures/resnet18.yaml"
let compilation = Compiler.compile(path: path)
if !compilation.diagnostics.isEmpty {
    FileHandle.standardError.write(Data(compilation.renderDiagnostics().utf8))
}
guard let graph = compilation.graph else { exit(1) }

print("\(graph.name): input \(graph.inputShape)")
for node in graph.nodes where !(node.op is Input) {
    let parameters = node.parameters.filter { $0.role == .trainable }.reduce(0) { $0 + $1.elementCount }
    print(node.name.padding(toLength: 28, withPad: " ", startingAt: 0),
          node.op.kindName.padding(toLength: 18, withPad: " ", startingAt: 0),
          node.shape.description.padding(toLength: 12, withPad: " ", startingAt: 0),
          parameters > 0 ? "\(parameters) params" : "")
}
print("output \(graph.outputShape), \(graph.cost.parameters) parameters")
