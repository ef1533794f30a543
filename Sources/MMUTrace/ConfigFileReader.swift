import MMUKernel

/// Reads a configuration file (`--config FILE`): one `KEY = VALUE` per line,
/// the keys of `set`, `#` comments and blank lines allowed.
public enum ConfigFileReader {
    /// Applies every setting of `text` (from `file`) to `configuration`;
    /// returns the keys it set, in order.
    @discardableResult
    public static func apply(_ text: String, file: String, to configuration: inout Configuration) throws(TraceError) -> [String] {
        var lineNumber = 0
        var keyLines: [(key: String, line: Int, column: Int)] = []
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let line = raw.prefix { $0 != "#" }
            guard line.contains(where: { !$0.isWhitespace }) else { continue }
            guard let equals = line.firstIndex(of: "=") else {
                let column = (line.firstIndex { !$0.isWhitespace }).map { line.distance(from: line.startIndex, to: $0) + 1 } ?? 1
                throw TraceError(file: file, line: lineNumber, column: column, message: "expected KEY = VALUE")
            }
            let keyPart = line[..<equals], valuePart = line[line.index(after: equals)...]
            let key = keyPart.trimmingWhitespace(), value = valuePart.trimmingWhitespace()
            let keyColumn = (keyPart.firstIndex { !$0.isWhitespace }).map { line.distance(from: line.startIndex, to: $0) + 1 } ?? 1
            let valueColumn = (valuePart.firstIndex { !$0.isWhitespace }).map { line.distance(from: line.startIndex, to: $0) + 1 }
                ?? line.distance(from: line.startIndex, to: equals) + 2
            guard !key.isEmpty else {
                throw TraceError(file: file, line: lineNumber, column: line.distance(from: line.startIndex, to: equals) + 1,
                                 message: "missing KEY before '='")
            }
            guard !value.isEmpty else { throw TraceError(file: file, line: lineNumber, column: valueColumn, message: "missing VALUE for '\(key)'") }
            do throws(ConfigurationError) {
                try configuration.set(key, value)
            } catch {
                throw TraceError(file: file, line: lineNumber, column: error.part == .key ? keyColumn : valueColumn, message: error.message)
            }
            keyLines.append((key, lineNumber, valueColumn))
        }
        do throws(ConfigurationError) {
            try configuration.validate()
        } catch {
            // Blame the key the message starts with on its own line.
            let place = keyLines.last { error.message.hasPrefix($0.key) }
            throw TraceError(file: file, line: place?.line ?? max(1, lineNumber), column: place?.column ?? 1, message: error.message)
        }
        return keyLines.map(\.key)
    }

    /// `configuration` as a config file: every key, `KEY = VALUE` (the page-table
    /// model's `cost.walk.ref` as a comment, since setting it makes it flat).
    public static func render(_ configuration: Configuration, header: [String]) -> String {
        var out = header.map { "# " + $0 }.joined(separator: "\n") + (header.isEmpty ? "" : "\n")
        let width = Configuration.keys.map(\.count).max() ?? 0
        for key in Configuration.keys {
            let value = configuration.value(of: key) ?? ""
            let padded = key + String(repeating: " ", count: width - key.count)
            out += value == "model" ? "# \(padded) = (not set: the page-table line cache prices each reference)\n"
                : "\(padded) = \(value)\n"
        }
        return out
    }
}

extension Substring {
    func trimmingWhitespace() -> String {
        String(drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }
}
