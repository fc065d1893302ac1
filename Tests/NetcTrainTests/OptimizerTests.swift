import NetcIR
import NetcRuntime
import NetcSpec
import Testing
@testable import NetcTrain

/// Each optimizer against `torch.optim` (torch 2.15, float32): three steps on one tensor with
/// recorded gradients and a learning rate that changes each step, as a schedule changes it.
/// The expected values were printed by PyTorch (`scripts/optimizer_reference.py`).
@Suite struct OptimizerTests {
    static let start: [Float] = [0.5, -1.25, 2.0, 0.0, -0.75, 3.5e-3]
    static let gradients: [[Float]] = [[0.1, -0.2, 0.3, -0.4, 0.05, 1e-4], [0.2, 0.1, -0.3, 0.4, -0.05, -2e-4],
                                       [-0.05, 0.3, 0.01, -0.2, 0.5, 3e-4]]
    static let rates = [0.01, 0.02, 0.005]

    /// A store holding one trainable tensor of six values (a linear layer's weight), at `start`.
    static func store() -> ParameterStore {
        var b = GraphBuilder()
        let x = b.addInput(.vector(6), origin: nil)
        let fc = try! b.add(Linear(outFeatures: 1, bias: false), [x], name: "fc", origin: nil)
        let store = ParameterStore(graph: b.finish(name: "one", input: x, output: fc))
        _ = store.value("fc.weight").update(fromContentsOf: start)
        return store
    }

    /// The weights after each step of `recipe`'s optimizer.
    static func run(_ recipe: TrainSpec) -> [[Float]] {
        let store = store(), optimizer = makeOptimizer(recipe, for: store)
        return zip(gradients, rates).map { g, lr in
            _ = store.gradient("fc.weight").update(fromContentsOf: g)
            optimizer.step(learningRate: lr)
            return Array(store.value("fc.weight"))
        }
    }

    static func expectClose(_ got: [[Float]], _ want: [[Float]], _ what: String) {
        for (k, (g, w)) in zip(got, want).enumerated() {
            let worst = zip(g, w).map { abs($0 - $1) / max(abs($1), 1e-3) }.max()!
            #expect(worst <= 1e-6, "\(what) step \(k + 1): \(g) against PyTorch's \(w)")
        }
    }

    /// torch.optim.AdamW(lr=0.01, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01).
    @Test func adamwMatchesPyTorch() {
        var recipe = TrainSpec.defaults(for: .adamw)
        #expect(recipe.weightDecay == 0.01 && recipe.beta1 == 0.9 && recipe.beta2 == 0.999 && recipe.epsilon == 1e-8)
        recipe.lr = 0.01
        Self.expectClose(Self.run(recipe), [
            [0.4899500012397766, -1.2398749589920044, 1.989799976348877, 0.010000000707805157, -0.7599250078201294, -0.0064993491396307945],
            [0.4705483615398407, -1.2343002557754517, 1.9904546737670898, 0.008945370092988014, -0.7587203979492188, 0.0008235587738454342],
            [0.46758177876472473, -1.2361854314804077, 1.9904831647872925, 0.009818551130592823, -0.7618166208267212, -0.0008926084265112877],
        ], "AdamW")
    }

    /// torch.optim.SGD(lr=0.01, momentum=0.9, nesterov=True, weight_decay=1e-4).
    @Test func nesterovSGDMatchesPyTorch() {
        var recipe = TrainSpec()
        (recipe.momentum, recipe.nesterov, recipe.weightDecay) = (0.9, true, 1e-4)
        Self.expectClose(Self.run(recipe), [
            [0.49809905886650085, -1.2461975812911987, 1.9942961931228638, 0.007599999662488699, -0.7509485483169556, 0.003498093457892537],
            [0.4888763427734375, -1.246750831604004, 2.0008254051208496, -0.001120030297897756, -0.7498545050621033, 0.0035040543880313635],
            [0.48817598819732666, -1.249274730682373, 2.0008485317230225, 0.0006179676274769008, -0.754582941532135, 0.003501643892377615],
        ], "SGD (Nesterov)")
    }

    /// torch.optim.SGD(lr=0.01, momentum=0.9, weight_decay=0.01), worked by hand: the buffer
    /// starts as the first step's gradient (with decay), then decays by the momentum.
    @Test func sgdWithMomentumMatchesTorchSemantics() {
        var recipe = TrainSpec()
        (recipe.momentum, recipe.weightDecay) = (0.9, 0.01)
        let steps = Self.run(recipe)
        var p = Self.start.map(Double.init), buffer = [Double](repeating: 0, count: 6)
        for (k, (g, lr)) in zip(Self.gradients, Self.rates).enumerated() {
            for i in p.indices {
                let d = Double(g[i]) + 0.01 * p[i]
                buffer[i] = k == 0 ? d : 0.9 * buffer[i] + d
                p[i] -= lr * buffer[i]
            }
            let worst = zip(steps[k], p).map { abs(Double($0) - $1) }.max()!
            #expect(worst < 1e-6, "step \(k + 1)")
        }
    }

    /// `decay_norm_and_bias: false` spares one-dimensional tensors (biases, batch norms' scales
    /// and shifts) and decays the rest.
    @Test(arguments: TrainSpec.Optimizer.allCases)
    func normsAndBiasesCanBeSparedWeightDecay(_ kind: TrainSpec.Optimizer) throws {
        let graph = try #require(Compiler.compile(source: TrainerTests.spec, file: "tiny.yaml").graph)
        var recipe = TrainSpec.defaults(for: kind)
        (recipe.weightDecay, recipe.decayNormAndBias) = (0.5, false)
        let store = ParameterStore(graph: graph)
        store.initialize(.xavier, seed: 1, graph: graph)
        for e in store.entries where e.role == .trainable { _ = store.value(e.name).update(repeating: 1) }
        makeOptimizer(recipe, for: store).step(learningRate: 0.1)   // gradients are all 0
        for e in store.entries where e.role == .trainable {
            let moved = store.value(e.name).contains { $0 != 1 }
            #expect(moved == (e.shape.count > 1), "\(e.name) \(e.shape)")
        }
    }
}
