import NetcIR

/// A layer call's attributes, evaluated in its block's environment.
struct LayerAttributes {
    var call: LayerCall
    var env: Lowering.Environment
    var context: Lowering.Context
}

/// Typed attribute access for lowering: each getter evaluates, checks the type and range,
/// reports what is wrong at the place the value was written, and returns nil then.
extension Lowering {
    /// The attribute's value, or nil when absent (or written `$p` for an unset optional parameter).
    mutating func value(_ a: LayerAttributes, _ name: String) -> Binding?? {
        guard let arg = a.call.arguments[name] else { return .some(nil) }
        if case .expression(.reference(let p, _), _) = arg.content, a.context.unset.contains(p) { return .some(nil) }
        guard let b = evaluate(arg, a.env, callSite: a.context.callSite) else { return nil }
        return .some(b)
    }

    mutating func int(_ a: LayerAttributes, _ name: String, min: Int, default fallback: Int? = nil) -> Int? {
        guard let found = value(a, name) else { return nil }
        guard let b = found else {
            // A key that was written but did not parse has been reported already.
            if fallback == nil, a.call.keyLocations[name] == nil {
                report(.error("'\(a.call.kind)' needs '\(name)'", at: a.call.location, help: "add '\(name): ...'"), a.context)
            }
            return fallback
        }
        guard case .int(let i)? = ValueType.int.coerce(b.value) else {
            let help: String? = if case .double = b.value { "wrap the expression in round(...), floor(...) or ceil(...), or use '//' for integer division" } else { nil }
            report(.error("'\(name)' of \(layerName(a)) must be an integer, got \(b.value.phrase)", at: b.origin, help: help), a.context)
            return nil
        }
        guard i <= Compiler.maxValue else {
            report(.error("'\(name)' of \(layerName(a)) is \(i); netc takes values up to \(Compiler.maxValue)", at: b.origin), a.context)
            return nil
        }
        guard i >= min else {
            let help = b.derivation.map { "\($0); change the values so that it is at least \(min)" }
            report(.error("'\(name)' of \(layerName(a)) must be \(min > 0 ? "positive" : "non-negative"), got \(i)", at: b.origin, help: help), a.context)
            return nil
        }
        return i
    }

    /// A number in `range`, with the same bounds `defaults:` puts on the spec-wide value: a
    /// batch norm's `eps: 0` divides by zero on a constant channel, and a `momentum` above 1
    /// turns the running variance negative.
    mutating func number(_ a: LayerAttributes, _ name: String, default fallback: Double, _ range: NumberRange, help: String) -> Double? {
        guard let found = value(a, name) else { return nil }
        guard let b = found else { return fallback }
        guard let d = b.value.asDouble, d.isFinite else {
            report(.error("'\(name)' of \(layerName(a)) must be a number, got \(b.value.phrase)", at: b.origin), a.context)
            return nil
        }
        switch range {
        case .positive where d <= 0:
            report(.error("'\(name)' of \(layerName(a)) must be positive, got \(Value.format(d))", at: b.origin, help: help), a.context)
            return nil
        case .unit where !(0...1).contains(d):
            report(.error("'\(name)' of \(layerName(a)) must be between 0 and 1, got \(Value.format(d))", at: b.origin, help: help), a.context)
            return nil
        case .probability where !(0..<1).contains(d):
            report(.error("'\(name)' of \(layerName(a)) must be at least 0 and below 1, got \(Value.format(d))", at: b.origin, help: help), a.context)
            return nil
        case .positive, .unit, .probability:
            return d
        }
    }

    /// `unit`: 0 to 1; `probability`: 0 and above, below 1 (dropping every value leaves nothing to scale).
    mutating func bool(_ a: LayerAttributes, _ name: String, default fallback: Bool) -> Bool? {
        guard let found = value(a, name) else { return nil }
        guard let b = found else { return fallback }
        guard case .bool(let v) = b.value else {
            report(.error("'\(name)' of \(layerName(a)) must be true or false, got \(b.value.phrase)", at: b.origin), a.context)
            return nil
        }
        return v
    }

    /// `groups` (cardinality, torchvision's meaning) or `group_width` (channels per group, what
    /// d2l's ResNeXtBlock calls `groups`), never both; either must divide the channels.
    mutating func groups(_ a: LayerAttributes, inChannels: Int?, outChannels: Int?) -> Int? {
        guard let g = value(a, "groups"), let w = value(a, "group_width") else { return nil }
        switch (g, w) {
        case (let g?, let w?):
            report(.error("\(layerName(a)) gets both 'groups' (\(g.value)) and 'group_width' (\(w.value))", at: w.origin,
                          help: "give one: 'groups' counts groups, 'group_width' counts channels per group",
                          notes: [.init("'groups' is given here", at: g.origin)]), a.context)
            return nil
        case (nil, nil):
            return 1
        case (let g?, nil):
            guard case .int(let groups)? = ValueType.int.coerce(g.value), groups >= 1 else {
                report(.error("'groups' must be a positive integer, got \(g.value)", at: g.origin), a.context)
                return nil
            }
            for (what, c) in [("input", inChannels), ("output", outChannels)] {
                if let c, c % groups != 0 {
                    report(.error("\(groups) groups do not divide the \(c) \(what) channels of \(layerName(a))", at: g.origin,
                                  help: "choose groups that divide \(c)"), a.context)
                    return nil
                }
            }
            return groups
        case (nil, let w?):
            guard case .int(let width)? = ValueType.int.coerce(w.value), width >= 1 else {
                report(.error("'group_width' must be a positive integer, got \(w.value)", at: w.origin), a.context)
                return nil
            }
            guard let c = inChannels else { return nil }
            guard c % width == 0 else {
                report(.error("group_width \(width) does not divide the \(c) channels of \(layerName(a))", at: w.origin,
                              help: "choose a group width that divides \(c), e.g. \(divisors(c).filter { $0 <= width }.last ?? 1)"), a.context)
                return nil
            }
            if let out = outChannels, out % (c / width) != 0 {
                report(.error("\(c / width) groups (group_width \(width)) do not divide the \(out) output channels of \(layerName(a))",
                              at: w.origin), a.context)
                return nil
            }
            return c / width
        }
    }

    private func layerName(_ a: LayerAttributes) -> String {
        a.context.blocks.last.map { "'\(a.call.kind)' in block '\($0)'" } ?? "'\(a.call.kind)'"
    }

    private func divisors(_ n: Int) -> [Int] { (1...max(1, n)).filter { n % $0 == 0 } }
}

/// The attributes of one layer call, read on behalf of its op's `make` (`Operator.make`).
struct SpecAttributeReader: LayerAttributeReader {
    /// The lowering whose diagnostics the reads report into; valid while the op is made.
    let lowering: UnsafeMutablePointer<Lowering>
    let attributes: LayerAttributes
    let inputShape: Shape?

    var defaults: LayerDefaults {
        let d = lowering.pointee.spec.defaults
        return LayerDefaults(bias: d.bias, bnEps: d.bnEps, bnMomentum: d.bnMomentum)
    }

    mutating func int(_ name: String, min: Int, default fallback: Int?) -> Int? {
        lowering.pointee.int(attributes, name, min: min, default: fallback)
    }

    mutating func number(_ name: String, default fallback: Double, _ range: NumberRange, help: String) -> Double? {
        lowering.pointee.number(attributes, name, default: fallback, range, help: help)
    }

    mutating func bool(_ name: String, default fallback: Bool) -> Bool? {
        lowering.pointee.bool(attributes, name, default: fallback)
    }

    mutating func groups(outChannels: Int?) -> Int? {
        lowering.pointee.groups(attributes, inChannels: inputShape?.channels, outChannels: outChannels)
    }
}
