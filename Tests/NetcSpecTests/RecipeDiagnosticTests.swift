import NetcIR
import Testing
@testable import NetcSpec

/// Recipe values the training loop cannot use are refused in the spec, at the value, before any
/// training starts (momentum 1 and negative seeds used to reach the loop: divergence or a trap).
struct RecipeDiagnosticTests {
    /// A small spec with `train` as its recipe.
    func compiled(_ train: String) -> Compilation {
        Compiler.compile(source: """
            netc: 1
            name: t
            input: {channels: 1, size: 8}
            classes: 10
            stages: [{block: residual, depth: 1, channels: 4}]
            head: [global_avgpool, flatten, {linear: {out: $classes}}]
            train: \(train)

            """, file: "spec.yaml")
    }

    func rendered(_ train: String) -> (text: String, succeeded: Bool) {
        let c = compiled(train)
        return (c.renderDiagnostics(), c.succeeded)
    }

    @Test func outOfRangeRecipeValuesAreLocated() {
        let r = rendered("{seed: -5, warmup_epochs: -1, optimizer: {sgd: {lr: 0, momentum: 1, weight_decay: -0.1}}}")
        #expect(r.succeeded == false)
        #expect(r.text == """
            spec.yaml:7:15: error: 'seed' must be at least 0, got -5
              7 | train: {seed: -5, warmup_epochs: -1, optimizer: {sgd: {lr: 0, momentum: 1, weight_decay: -0.1}}}
                |               ^~
            spec.yaml:7:34: error: 'warmup_epochs' must be at least 0, got -1
              7 | train: {seed: -5, warmup_epochs: -1, optimizer: {sgd: {lr: 0, momentum: 1, weight_decay: -0.1}}}
                |                                  ^~
            spec.yaml:7:60: error: 'lr' must be a positive finite number, got 0.0
              7 | train: {seed: -5, warmup_epochs: -1, optimizer: {sgd: {lr: 0, momentum: 1, weight_decay: -0.1}}}
                |                                                            ^
            spec.yaml:7:73: error: 'momentum' must be at least 0 and below 1, got 1.0
              7 | train: {seed: -5, warmup_epochs: -1, optimizer: {sgd: {lr: 0, momentum: 1, weight_decay: -0.1}}}
                |                                                                         ^
            help: d2l and torchvision use 'momentum: 0.9'
            spec.yaml:7:90: error: 'weight_decay' must be a finite number at least 0, got -0.1
              7 | train: {seed: -5, warmup_epochs: -1, optimizer: {sgd: {lr: 0, momentum: 1, weight_decay: -0.1}}}
                |                                                                                          ^~~~

            """)
    }

    /// Counts are refused in the same words as the command line's `--batch 0`.
    @Test func countsBelowOneAreLocated() {
        let r = rendered("{batch: 0, epochs: -2, resize: 0}")
        #expect(r.succeeded == false)
        #expect(r.text == """
            spec.yaml:7:16: error: 'batch' must be at least 1, got 0
              7 | train: {batch: 0, epochs: -2, resize: 0}
                |                ^
            spec.yaml:7:27: error: 'epochs' must be at least 1, got -2
              7 | train: {batch: 0, epochs: -2, resize: 0}
                |                           ^~
            spec.yaml:7:39: error: 'resize' must be at least 1, got 0
              7 | train: {batch: 0, epochs: -2, resize: 0}
                |                                       ^

            """)
    }

    @Test func usableRecipeValuesPass() {
        let r = rendered("{seed: 0, warmup_epochs: 0, optimizer: {sgd: {lr: 0.1, momentum: 0.9, weight_decay: 0}}}")
        #expect(r.text == "")
        #expect(r.succeeded)
    }

    /// AdamW's section: its own defaults where silent (lr 0.001, weight decay 0.01, as
    /// torch.optim.AdamW), its values read, and each bad one located.
    @Test func adamwIsReadWithItsOwnDefaults() throws {
        func recipe(_ train: String) throws -> TrainSpec { try #require(compiled(train).spec?.train) }
        let silent = try recipe("{optimizer: {adamw: {}}}")
        #expect(silent.optimizer == .adamw && silent.lr == 0.001 && silent.weightDecay == 0.01 && silent.decayNormAndBias)
        let given = try recipe("{optimizer: {adamw: {lr: 0.003, betas: [0.8, 0.99], eps: 1e-6, weight_decay: 0.05, decay_norm_and_bias: false}}}")
        #expect(given.lr == 0.003 && given.beta1 == 0.8 && given.beta2 == 0.99 && given.epsilon == 1e-6)
        #expect(given.weightDecay == 0.05 && !given.decayNormAndBias)
        let nesterov = try recipe("{optimizer: {sgd: {momentum: 0.9, nesterov: true}}}")
        #expect(nesterov.optimizer == .sgd && nesterov.nesterov && nesterov.lr == 0.01)

        let r = rendered("{optimizer: {adamw: {betas: [0.9, 1.5], eps: 0, momentum: 0.9}}}")
        #expect(r.succeeded == false)
        #expect(r.text.contains("spec.yaml:7:42: error: 'betas' must be at least 0 and below 1, got 1.5"), "\(r.text)")
        #expect(r.text.contains("error: 'eps' must be a positive finite number, got 0.0"), "\(r.text)")
        #expect(r.text.contains("'momentum'"), "an SGD key under adamw is unknown there: \(r.text)")
        let short = rendered("{optimizer: {adamw: {betas: [0.9]}}}")
        #expect(short.text.contains("error: 'betas' has 1 value(s); it takes two"), "\(short.text)")
    }

    @Test func normalisationAndAugmentationAreReadAndChecked() throws {
        let ok = compiled("{normalize: {mean: [0.286], std: [0.353]}, augment: {crop_padding: 4, flip: true}}")
        #expect(ok.spec?.train?.normalize == .given(mean: [0.286], std: [0.353]))
        #expect(ok.spec?.train?.augment == TrainSpec.Augmentation(cropPadding: 4, flip: true))
        let r = rendered("{normalize: {mean: [0.5, 0.5], std: [0]}, augment: {crop_padding: -1}}")
        #expect(r.succeeded == false)
        #expect(r.text.contains("error: 'std' must be positive, got 0.0"), "\(r.text)")
        #expect(r.text.contains("error: 'crop_padding' must be from 0 to"), "\(r.text)")
        let word = rendered("{normalize: yes}")
        #expect(word.text.contains("error: 'normalize' is 'yes'; it takes 'computed' or '{mean: [...], std: [...]}'"), "\(word.text)")
    }
}
