/// The ranges a training recipe's numbers must lie in. The spec reader (errors located in the
/// YAML) and the command line (errors naming the flag) both ask here, so a value is refused the
/// same way wherever it comes from, and nothing out of range reaches the training loop.
///
/// Each check returns nil for a usable value, or what is wrong with it, written to follow the
/// value's name: `"'momentum' " + problem` or `"--momentum " + problem`.
///
///     RecipeLimits.momentum(1)   // "must be at least 0 and below 1, got 1.0"
public enum RecipeLimits {
    /// SGD's step size: a NaN or infinite rate turns every weight into NaN on the first step.
    public static func learningRate(_ lr: Double) -> String? {
        lr.isFinite && lr > 0 ? nil : "must be a positive finite number, got \(Value.format(lr))"
    }

    /// Momentum 1 or more never forgets a gradient, so the steps grow without bound.
    public static func momentum(_ m: Double) -> String? {
        m >= 0 && m < 1 ? nil : "must be at least 0 and below 1, got \(Value.format(m))"
    }

    /// A negative L2 penalty pushes weights away from zero: the loss diverges.
    public static func weightDecay(_ w: Double) -> String? {
        w.isFinite && w >= 0 ? nil : "must be a finite number at least 0, got \(Value.format(w))"
    }

    /// An Adam moment's decay rate: 1 or more never forgets, and its bias correction divides by 0.
    public static func beta(_ b: Double) -> String? {
        b >= 0 && b < 1 ? nil : "must be at least 0 and below 1, got \(Value.format(b))"
    }

    /// Adam's denominator term: 0 divides by zero where a gradient has always been 0.
    public static func epsilon(_ e: Double) -> String? {
        e.isFinite && e > 0 ? nil : "must be a positive finite number, got \(Value.format(e))"
    }

    /// Epochs, batch size, image size, steps: a count of 0 or fewer does nothing or divides by zero.
    public static func count(_ n: Int) -> String? {
        n >= 1 ? nil : "must be at least 1, got \(n)"
    }

    public static func warmupEpochs(_ e: Int) -> String? {
        e >= 0 ? largest(e) : "must be at least 0, got \(e)"
    }

    /// The largest epoch count and image size, as for every size and count in a spec: epochs times
    /// steps per epoch (the schedule's arithmetic) and a size squared stay far from overflowing.
    public static let maxCount = Compiler.maxValue

    /// A count or size from 1 to `maxCount`: `--epochs`, `--resize`, `bench --size`.
    public static func boundedCount(_ n: Int) -> String? {
        n >= 1 ? largest(n) : "must be at least 1, got \(n)"
    }

    private static func largest(_ n: Int) -> String? {
        n <= maxCount ? nil : "is \(n); netc takes values up to \(maxCount)"
    }

    /// Seeds feed an unsigned random generator; a negative one has no meaning there.
    public static func seed(_ s: Int) -> String? {
        s >= 0 ? nil : "must be at least 0, got \(s)"
    }
}
