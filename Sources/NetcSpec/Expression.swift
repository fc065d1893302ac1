import Foundation

/// A small arithmetic language for block parameters: `$channels * $bot_mul`,
/// `round($channels * $bot_mul)`, `$channels // 4`, `$stride_on == '1x1' ? $stride : 1`.
///
/// `/` divides exactly and `//` divides integers, rounding down, as in Python. `round` rounds half
/// to even, as Python's (and so d2l's `int(round(c * bot_mul))`) does.
public indirect enum Expression: Hashable, Sendable {
    case literal(Value)
    /// `$name`, with the reference's character offset in the source text.
    case reference(String, offset: Int)
    /// An operator applied to its operands, with the operator's character offset.
    case unary(String, Expression, offset: Int)
    case binary(String, Expression, Expression, offset: Int)
    case conditional(Expression, Expression, Expression)
    case call(String, [Expression], offset: Int)

    /// What went wrong, and where in the expression's text (character offset).
    public struct Failure: Error, Hashable, Sendable {
        public var message: String
        public var offset: Int
        public var help: String?
    }

    public static let functions = ["round", "floor", "ceil", "min", "max", "int"]

    /// Most operators, calls and parentheses one expression may hold. Parsing and evaluating
    /// recurse once per level, so this bounds the stack; real expressions use a handful.
    public static let maxOperations = 64

    /// Parses `text`; the whole text must be one expression.
    public static func parse(_ text: String) -> Result<Expression, Failure> {
        var parser = ExpressionParser(text)
        do {
            let e = try parser.expression()
            try parser.expectEnd()
            return .success(e)
        } catch {
            return .failure(error)
        }
    }

    /// The parameter names the expression refers to, in order of appearance.
    public var references: [(name: String, offset: Int)] {
        switch self {
        case .literal: []
        case .reference(let n, let o): [(n, o)]
        case .unary(_, let a, _): a.references
        case .binary(_, let a, let b, _): a.references + b.references
        case .conditional(let c, let a, let b): c.references + a.references + b.references
        case .call(_, let args, _): args.flatMap(\.references)
        }
    }

    /// Evaluates with parameter values looked up by `lookup` (nil: undefined).
    public func evaluate(_ lookup: (String) -> Value?) -> Result<Value, Failure> {
        do { return .success(try eval(lookup)) } catch { return .failure(error) }
    }

    private func eval(_ lookup: (String) -> Value?) throws(Failure) -> Value {
        switch self {
        case .literal(let v):
            return v
        case .reference(let name, let offset):
            guard let v = lookup(name) else {
                throw Failure(message: "undefined parameter '$\(name)'", offset: offset)
            }
            return v
        case .unary(let op, let a, let offset):
            let v = try a.eval(lookup)
            switch (op, v) {
            case ("-", .int(let i)):
                guard i != .min else { throw Self.overflow("-(\(i))", offset: offset) }
                return .int(-i)
            case ("-", .double(let d)): return .double(-d)
            case ("not", .bool(let b)): return .bool(!b)
            default: throw Failure(message: "cannot apply '\(op)' to \(v.typeName) \(v)", offset: offset)
            }
        case .binary(let op, let a, let b, let offset):
            return try Self.apply(op, try a.eval(lookup), try b.eval(lookup), offset: offset)
        case .conditional(let c, let a, let b):
            guard case .bool(let take) = try c.eval(lookup) else {
                throw Failure(message: "the condition before '?' must be true or false", offset: 0)
            }
            return try (take ? a : b).eval(lookup)
        case .call(let name, let args, let offset):
            return try Self.call(name, try args.map { a throws(Failure) in try a.eval(lookup) }, offset: offset)
        }
    }

    /// Integer arithmetic that leaves Int's range is an error, never a wrapped (wrong) value.
    private static func overflow(_ what: String, offset: Int) -> Failure {
        Failure(message: "\(what) overflows a 64-bit integer", offset: offset,
                help: "netc's sizes and counts go up to \(Compiler.maxValue); check the values this combines")
    }

    private static func apply(_ op: String, _ a: Value, _ b: Value, offset: Int) throws(Failure) -> Value {
        switch (op, a, b) {
        case ("==", _, _): return .bool(a == b || (a.asDouble != nil && a.asDouble == b.asDouble))
        case ("!=", _, _): return .bool(!(a == b || (a.asDouble != nil && a.asDouble == b.asDouble)))
        case ("and", .bool(let x), .bool(let y)): return .bool(x && y)
        case ("or", .bool(let x), .bool(let y)): return .bool(x || y)
        case (_, .int(let x), .int(let y)):
            let checked = { (r: (partialValue: Int, overflow: Bool)) throws(Failure) -> Value in
                guard !r.overflow else { throw overflow("\(x) \(op) \(y)", offset: offset) }
                return .int(r.partialValue)
            }
            switch op {
            case "+": return try checked(x.addingReportingOverflow(y))
            case "-": return try checked(x.subtractingReportingOverflow(y))
            case "*": return try checked(x.multipliedReportingOverflow(by: y))
            case "/":
                guard y != 0 else { throw Failure(message: "division by zero", offset: offset) }
                return .double(Double(x) / Double(y))
            case "//", "%":
                guard y != 0 else { throw Failure(message: "division by zero", offset: offset) }
                // Python's floor division and modulo, exactly (a Double quotient loses digits past 2^53).
                if op == "%" { return .int(y == -1 ? 0 : Self.floorModulo(x, y)) }
                let (t, overflowed) = x.dividedReportingOverflow(by: y)
                guard !overflowed else { throw overflow("\(x) // \(y)", offset: offset) }
                return .int(x % y != 0 && (x < 0) != (y < 0) ? t - 1 : t)
            case "<": return .bool(x < y)
            case "<=": return .bool(x <= y)
            case ">": return .bool(x > y)
            case ">=": return .bool(x >= y)
            default: break
            }
        default:
            if let x = a.asDouble, let y = b.asDouble {
                switch op {
                case "+": return .double(x + y)
                case "-": return .double(x - y)
                case "*": return .double(x * y)
                case "/":
                    guard y != 0 else { throw Failure(message: "division by zero", offset: offset) }
                    return .double(x / y)
                case "//":
                    guard y != 0 else { throw Failure(message: "division by zero", offset: offset) }
                    return .double((x / y).rounded(.down))
                case "<": return .bool(x < y)
                case "<=": return .bool(x <= y)
                case ">": return .bool(x > y)
                case ">=": return .bool(x >= y)
                default: break
                }
            }
        }
        throw Failure(message: "cannot apply '\(op)' to \(a.typeName) \(a) and \(b.typeName) \(b)", offset: offset)
    }

    /// `x % y` with the sign of `y`, as Python's; `y` is neither 0 nor -1.
    private static func floorModulo(_ x: Int, _ y: Int) -> Int {
        let r = x % y
        return r != 0 && (r < 0) != (y < 0) ? r + y : r
    }

    private static func call(_ name: String, _ args: [Value], offset: Int) throws(Failure) -> Value {
        func number(_ v: Value) throws(Failure) -> Double {
            guard let d = v.asDouble else {
                throw Failure(message: "\(name)() takes numbers, got \(v.typeName) \(v)", offset: offset)
            }
            return d
        }
        func whole(_ d: Double) throws(Failure) -> Value {
            guard d.isFinite, abs(d) < 1e15 else {
                throw Failure(message: "\(name)() of \(d) is not a representable integer", offset: offset)
            }
            return .int(Int(d))
        }
        switch (name, args.count) {
        case ("round", 1): return try whole(try number(args[0]).rounded(.toNearestOrEven))
        case ("floor", 1): return try whole(try number(args[0]).rounded(.down))
        case ("ceil", 1): return try whole(try number(args[0]).rounded(.up))
        case ("int", 1): return try whole(try number(args[0]).rounded(.towardZero))
        case ("min", 2...), ("max", 2...):
            if args.allSatisfy({ if case .int = $0 { true } else { false } }) {
                let ints = args.map { if case .int(let i) = $0 { i } else { 0 } }
                return .int(name == "min" ? ints.min()! : ints.max()!)
            }
            var ds: [Double] = []
            for a in args { ds.append(try number(a)) }
            return .double(name == "min" ? ds.min()! : ds.max()!)
        default:
            let arity = ["min", "max"].contains(name) ? "two or more arguments" : "one argument"
            throw Failure(message: "\(name)() takes \(arity), got \(args.count)", offset: offset)
        }
    }
}

/// Recursive descent over the expression text; precedence climbs from `?:` down to atoms.
struct ExpressionParser {
    private let chars: [Character]
    private var pos = 0
    /// Operators, calls and parentheses so far, against `Expression.maxOperations`.
    private var operations = 0

    init(_ text: String) { chars = Array(text) }

    mutating func expression() throws(Expression.Failure) -> Expression {
        let condition = try binary(level: 0)
        guard eat("?") else { return condition }
        try countOperation()
        let a = try expression()
        guard eat(":") else { throw fail("expected ':' in 'condition ? a : b'") }
        return .conditional(condition, a, try expression())
    }

    mutating func expectEnd() throws(Expression.Failure) {
        skipSpace()
        if pos < chars.count { throw fail("unexpected '\(chars[pos])'") }
    }

    private static let levels: [[String]] = [
        ["or"], ["and"], ["==", "!=", "<=", ">=", "<", ">"], ["+", "-"], ["*", "//", "/", "%"],
    ]

    private mutating func binary(level: Int) throws(Expression.Failure) -> Expression {
        guard level < Self.levels.count else { return try unary() }
        var lhs = try binary(level: level + 1)
        while let op = Self.levels[level].first(where: { peek($0) }) {
            let offset = pos
            try countOperation()
            _ = eat(op)
            lhs = .binary(op, lhs, try binary(level: level + 1), offset: offset)
        }
        return lhs
    }

    private mutating func unary() throws(Expression.Failure) -> Expression {
        skipSpace()
        let offset = pos
        if peek("-") || peekWord("not") {
            try countOperation()
            let op = eat("-") ? "-" : "not"
            if op == "not" { _ = eat("not") }
            return .unary(op, try unary(), offset: offset)
        }
        return try atom()
    }

    private mutating func atom() throws(Expression.Failure) -> Expression {
        skipSpace()
        guard pos < chars.count else { throw fail("expected a value") }
        let start = pos
        let c = chars[pos]
        if peek("(") {
            try countOperation()
            _ = eat("(")
            let e = try expression()
            guard eat(")") else { throw fail("expected ')'") }
            return e
        }
        if c == "$" {
            pos += 1
            let name = identifier()
            guard !name.isEmpty else { throw Expression.Failure(message: "expected a parameter name after '$'", offset: start) }
            return .reference(name, offset: start)
        }
        if c == "'" || c == "\"" {
            pos += 1
            var s = ""
            while pos < chars.count, chars[pos] != c { s.append(chars[pos]); pos += 1 }
            guard pos < chars.count else { throw Expression.Failure(message: "unterminated string", offset: start) }
            pos += 1
            return .literal(.string(s))
        }
        if c.isNumber || c == "." { return try number() }
        let name = identifier()
        switch name {
        case "": throw fail("unexpected '\(c)'")
        case "true": return .literal(.bool(true))
        case "false": return .literal(.bool(false))
        default:
            guard Expression.functions.contains(name) else {
                throw Expression.Failure(message: "unknown function '\(name)'", offset: start,
                                         help: "functions are \(Expression.functions.joined(separator: ", ")); parameters are written '$\(name)'")
            }
            guard eat("(") else { throw fail("expected '(' after \(name)") }
            try countOperation()
            var args: [Expression] = []
            if !eat(")") {
                repeat { args.append(try expression()) } while eat(",")
                guard eat(")") else { throw fail("expected ')' or ','") }
            }
            return .call(name, args, offset: start)
        }
    }

    private mutating func number() throws(Expression.Failure) -> Expression {
        let start = pos
        while pos < chars.count, chars[pos].isNumber || ".eE".contains(chars[pos])
                || ((chars[pos] == "-" || chars[pos] == "+") && "eE".contains(chars[pos - 1])) {
            pos += 1
        }
        let text = String(chars[start..<pos])
        if let i = Int(text) { return .literal(.int(i)) }
        if let d = Double(text), d.isFinite { return .literal(.double(d)) }
        throw Expression.Failure(message: "'\(text)' is not a number", offset: start)
    }

    private mutating func identifier() -> String {
        let start = pos
        while pos < chars.count, chars[pos].isLetter || chars[pos].isNumber || chars[pos] == "_" { pos += 1 }
        return String(chars[start..<pos])
    }

    private mutating func skipSpace() {
        while pos < chars.count, chars[pos].isWhitespace { pos += 1 }
    }

    private mutating func peek(_ token: String) -> Bool {
        skipSpace()
        if token.first!.isLetter { return peekWord(token) }
        let t = Array(token)
        // Operator tables list '//' before '/' and '<=' before '<', so the longer one wins.
        return pos + t.count <= chars.count && Array(chars[pos..<pos + t.count]) == t
    }

    private mutating func peekWord(_ word: String) -> Bool {
        skipSpace()
        let w = Array(word)
        guard pos + w.count <= chars.count, Array(chars[pos..<pos + w.count]) == w else { return false }
        let after = pos + w.count
        return after == chars.count || !(chars[after].isLetter || chars[after].isNumber || chars[after] == "_")
    }

    private mutating func eat(_ token: String) -> Bool {
        guard peek(token) else { return false }
        pos += token.count
        return true
    }

    private mutating func countOperation() throws(Expression.Failure) {
        operations += 1
        guard operations <= Expression.maxOperations else {
            throw Expression.Failure(message: "more than \(Expression.maxOperations) operators, calls and parentheses",
                                     offset: pos, help: "split the computation into several 'let:' values of the block")
        }
    }

    private func fail(_ message: String) -> Expression.Failure {
        Expression.Failure(message: message, offset: pos)
    }
}
