import Foundation

/// `value` as the JSON netc prints (`summary` and `diff --format json`): pretty-printed, keys
/// sorted and in snake_case, slashes unescaped, and a final newline.
func renderedJSON(_ value: some Encodable) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    encoder.keyEncodingStrategy = .convertToSnakeCase
    return String(decoding: try! encoder.encode(value), as: UTF8.self) + "\n"
}
