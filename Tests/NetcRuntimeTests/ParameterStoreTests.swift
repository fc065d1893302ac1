import Testing
import NetcIR
import NetcRuntime

@Test func storeNamesParametersLikePyTorchInGraphOrder() {
    let graph = compile(tinySpec)
    let store = ParameterStore(graph: graph)
    let expected = graph.nodes.flatMap { node in node.parameters.map { "\(node.name).\($0.name)" } }
    #expect(store.names == expected)
    #expect(store.names.contains("stages.1.0.conv1.weight"))
    #expect(store.trainableCount == graph.cost.parameters)
}

@Test func initialisationIsSeededAndFollowsTheSchemes() {
    let graph = architecture("resnet18")
    let a = ParameterStore(graph: graph), b = ParameterStore(graph: graph)
    a.initialize(.xavier, seed: 42, graph: graph)
    b.initialize(.xavier, seed: 42, graph: graph)
    #expect(Array(a.value("stages.1.0.conv1.weight")) == Array(b.value("stages.1.0.conv1.weight")))
    b.initialize(.xavier, seed: 43, graph: graph)
    #expect(Array(a.value("stages.1.0.conv1.weight")) != Array(b.value("stages.1.0.conv1.weight")))

    // Xavier-uniform: conv 64 -> 128, 3x3: bound sqrt(6 / (576 + 1152)); variance bound²/3.
    let w = a.value("stages.1.0.conv1.weight")
    let bound = (6.0 / Double(64 * 9 + 128 * 9)).squareRoot()
    #expect(w.allSatisfy { abs(Double($0)) <= bound })
    let variance = w.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(w.count)
    #expect(abs(variance / (bound * bound / 3) - 1) < 0.05)
    // Biases keep PyTorch's default U(±1/sqrt(fan_in)).
    let bias = a.value("stages.1.0.conv1.bias")
    #expect(bias.allSatisfy { abs(Double($0)) <= 1 / (64.0 * 9).squareRoot() })
    #expect(a.value("stages.1.0.bn1.weight").allSatisfy { $0 == 1 })
    #expect(a.value("stages.1.0.bn1.bias").allSatisfy { $0 == 0 })
    #expect(a.value("stages.1.0.bn1.running_var").allSatisfy { $0 == 1 })

    // Kaiming normal, fan-out: std sqrt(2 / (128 * 9)).
    a.initialize(.kaiming, seed: 1, graph: graph)
    let k = a.value("stages.1.0.conv1.weight")
    let kv = k.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(k.count)
    #expect(abs(kv / (2.0 / (128 * 9)) - 1) < 0.05)
}
