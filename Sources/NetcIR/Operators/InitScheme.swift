/// How weights are drawn when a model is created.
public enum InitScheme: String, Sendable, CaseIterable {
    /// d2l's `init_cnn`: Xavier-uniform weights for conv and linear layers; biases keep
    /// PyTorch's default `U(-1/√fan_in, 1/√fan_in)`.
    case xavier
    /// torchvision's ResNet init: conv weights `N(0, 2/fan_out)` (Kaiming normal, fan-out
    /// mode, ReLU gain); linear layers and all biases keep PyTorch's defaults.
    case kaiming
    /// PyTorch's module defaults everywhere: weights and biases `U(-1/√fan_in, 1/√fan_in)`
    /// (what `kaiming_uniform_(a=√5)` amounts to).
    case pytorch

    /// Fills a conv's or linear layer's parameter `index` (0: the weight, 1: the bias) under this
    /// scheme; `weightShape` is the weight's, `[out, in/groups, kh, kw]` or `[out, in]`.
    func fillWeightedLayer(_ index: Int, _ values: UnsafeMutableBufferPointer<Float>, weightShape w: [Int], isConv: Bool,
                           random: inout SplitMix64) {
        // PyTorch's _calculate_fan_in_and_fan_out.
        let receptive = w.dropFirst(2).reduce(1, *)
        let fanIn = w[1] * receptive, fanOut = w[0] * receptive
        let defaultBound = 1 / Double(fanIn).squareRoot()
        guard index == 0 else {
            for j in values.indices { values[j] = Float(random.uniform(-defaultBound, defaultBound)) }
            return
        }
        switch self {
        case .xavier:
            let bound = (6 / Double(fanIn + fanOut)).squareRoot()
            for j in values.indices { values[j] = Float(random.uniform(-bound, bound)) }
        case .kaiming where isConv:
            let std = (2 / Double(fanOut)).squareRoot()
            for j in values.indices { values[j] = Float(std * random.normal()) }
        case .kaiming, .pytorch:
            for j in values.indices { values[j] = Float(random.uniform(-defaultBound, defaultBound)) }
        }
    }
}
