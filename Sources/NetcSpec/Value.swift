import Foundation
import NetcIR

/// A value in a spec after reading: what a YAML scalar means once the schema has typed it,
/// or what an expression evaluates to.
public enum Value: Hashable, Sendable, CustomStringConvertible {
    case int(Int)
    case double(Double)
    case string(String)
    case bool(Bool)

    public var description: String {
        switch self {
        case .int(let i): String(i)
        case .double(let d): Self.format(d)
        case .string(let s): "'\(s)'"
        case .bool(let b): String(b)
        }
    }

    /// The value's type, as messages name it.
    public var typeName: String {
        switch self {
        case .int: "integer"
        case .double: "number"
        case .string: "string"
        case .bool: "boolean"
        }
    }

    /// The value with its type, for messages: `the number 2.5`, `the string 'sixty-four'`.
    public var phrase: String {
        switch self {
        case .int, .double: "the number \(self)"
        case .string: "the string \(self)"
        case .bool: "the boolean \(self)"
        }
    }

    public var asDouble: Double? {
        switch self {
        case .int(let i): Double(i)
        case .double(let d): d
        case .string, .bool: nil
        }
    }

    static func format(_ d: Double) -> String {
        if d == d.rounded(), abs(d) < 1e15 { return String(format: "%.1f", d) }
        return String(d)
    }
}

/// The types a parameter or attribute can declare.
public enum ValueType: String, Hashable, Sendable, CaseIterable {
    case int, number, string, bool

    /// Converts `value` to this type where the conversion is a widening: an integer is a number,
    /// but a number (`1e3`, `64.0`) is never silently an integer; `round(...)` says so explicitly.
    func coerce(_ value: Value) -> Value? {
        switch (self, value) {
        case (.int, .int), (.number, .double), (.string, .string), (.bool, .bool): value
        case (.number, .int(let i)): .double(Double(i))
        default: nil
        }
    }
}
