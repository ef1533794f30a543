/// A parsed JSON value: enough of RFC 8259 to read back the files mmusim
/// writes (cell results, Chrome trace-event timelines). Numbers keep their
/// text, so 64-bit counters survive exactly.
public enum JSONValue: Hashable, Sendable {
    case null
    case bool(Bool)
    case number(String)
    case string(String)
    case array([JSONValue])
    /// Members in the order written (duplicates kept; `member` finds the first).
    case object([(String, JSONValue)])

    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case (.bool(let x), .bool(let y)): return x == y
        case (.number(let x), .number(let y)), (.string(let x), .string(let y)): return x == y
        case (.array(let x), .array(let y)): return x == y
        case (.object(let x), .object(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    public func hash(into hasher: inout Hasher) {
        switch self {
        case .null: hasher.combine(0)
        case .bool(let x): hasher.combine(x)
        case .number(let x), .string(let x): hasher.combine(x)
        case .array(let x): hasher.combine(x)
        case .object(let x): for (key, value) in x { hasher.combine(key); hasher.combine(value) }
        }
    }

    public subscript(_ key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.0 == key }?.1
    }

    public var string: String? { if case .string(let s) = self { return s } else { return nil } }
    public var array: [JSONValue]? { if case .array(let a) = self { return a } else { return nil } }
    public var uint64: UInt64? { if case .number(let n) = self { return UInt64(n) } else { return nil } }
    public var int: Int? { if case .number(let n) = self { return Int(n) } else { return nil } }
    public var double: Double? { if case .number(let n) = self { return Double(n) } else { return nil } }

    /// Parses `text` as one JSON value; nil names the byte offset of the first problem.
    public static func parse(_ text: String) -> Result<JSONValue, JSONSyntaxError> {
        var parser = Parser(bytes: Array(text.utf8))
        do throws(JSONSyntaxError) {
            let value = try parser.value(depth: 0)
            parser.skipSpace()
            guard parser.position == parser.bytes.count else { throw parser.error("text after the value") }
            return .success(value)
        } catch {
            return .failure(error)
        }
    }

    struct Parser {
        let bytes: [UInt8]
        var position = 0
        static let maximumDepth = 256

        func error(_ message: String) -> JSONSyntaxError { JSONSyntaxError(offset: position, message: message) }

        mutating func skipSpace() {
            while position < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[position]) { position += 1 }
        }

        mutating func expect(_ literal: String) throws(JSONSyntaxError) {
            for byte in literal.utf8 {
                guard position < bytes.count, bytes[position] == byte else { throw error("expected '\(literal)'") }
                position += 1
            }
        }

        mutating func value(depth: Int) throws(JSONSyntaxError) -> JSONValue {
            guard depth < Self.maximumDepth else { throw error("nested too deeply") }
            skipSpace()
            guard position < bytes.count else { throw error("unexpected end") }
            switch bytes[position] {
            case UInt8(ascii: "{"):
                position += 1
                var members: [(String, JSONValue)] = []
                skipSpace()
                if position < bytes.count, bytes[position] == UInt8(ascii: "}") { position += 1; return .object(members) }
                while true {
                    skipSpace()
                    let key = try string()
                    skipSpace()
                    try expect(":")
                    members.append((key, try value(depth: depth + 1)))
                    skipSpace()
                    guard position < bytes.count else { throw error("unexpected end") }
                    position += 1
                    if bytes[position - 1] == UInt8(ascii: "}") { return .object(members) }
                    guard bytes[position - 1] == UInt8(ascii: ",") else { throw error("expected ',' or '}'") }
                }
            case UInt8(ascii: "["):
                position += 1
                var elements: [JSONValue] = []
                skipSpace()
                if position < bytes.count, bytes[position] == UInt8(ascii: "]") { position += 1; return .array(elements) }
                while true {
                    elements.append(try value(depth: depth + 1))
                    skipSpace()
                    guard position < bytes.count else { throw error("unexpected end") }
                    position += 1
                    if bytes[position - 1] == UInt8(ascii: "]") { return .array(elements) }
                    guard bytes[position - 1] == UInt8(ascii: ",") else { throw error("expected ',' or ']'") }
                }
            case UInt8(ascii: "\""):
                return .string(try string())
            case UInt8(ascii: "t"): try expect("true"); return .bool(true)
            case UInt8(ascii: "f"): try expect("false"); return .bool(false)
            case UInt8(ascii: "n"): try expect("null"); return .null
            default:
                let start = position
                while position < bytes.count, "+-0123456789.eE".utf8.contains(bytes[position]) { position += 1 }
                guard position > start else { throw error("unexpected character") }
                return .number(String(decoding: bytes[start..<position], as: UTF8.self))
            }
        }

        mutating func string() throws(JSONSyntaxError) -> String {
            try expect("\"")
            var out: [UInt8] = []
            while position < bytes.count {
                let byte = bytes[position]
                position += 1
                switch byte {
                case UInt8(ascii: "\""):
                    return String(decoding: out, as: UTF8.self)
                case UInt8(ascii: "\\"):
                    guard position < bytes.count else { throw error("unexpected end") }
                    let escaped = bytes[position]
                    position += 1
                    switch escaped {
                    case UInt8(ascii: "n"): out.append(0x0A)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "r"): out.append(0x0D)
                    case UInt8(ascii: "b"): out.append(0x08)
                    case UInt8(ascii: "f"): out.append(0x0C)
                    case UInt8(ascii: "u"):
                        guard position + 4 <= bytes.count,
                              let code = UInt32(String(decoding: bytes[position..<position + 4], as: UTF8.self), radix: 16)
                        else { throw error("bad \\u escape") }
                        position += 4
                        out += Array(String(Unicode.Scalar(code).map(Character.init) ?? "\u{FFFD}").utf8)
                    default: out.append(escaped)
                    }
                default:
                    out.append(byte)
                }
            }
            throw error("unterminated string")
        }
    }
}

/// Where a JSON text stops making sense.
public struct JSONSyntaxError: Error, Hashable, Sendable, CustomStringConvertible {
    public var offset: Int
    public var message: String
    public var description: String { "byte \(offset): \(message)" }
}
