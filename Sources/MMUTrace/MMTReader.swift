import MMUHardware
import MMUKernel

/// Reads a `.mmt` trace (docs/reference/trace-format.md) and checks it whole before it runs:
/// syntax, numbers and their ranges, and that every core, PID and access refers
/// to something that exists at that point.
public struct MMTReader {
    /// Longest line accepted (a longer one is an error, not a host-memory hazard).
    public static let maximumLineLength = 4096
    /// Most directives a trace may hold (8 Mi): it is read and checked whole,
    /// so this bounds host memory (about 1 GiB); longer runs stream as Lackey or ChampSim.
    public static let maximumDirectives = 1 << 23

    public let file: String
    /// Configuration settings that apply before the trace's own `set` lines
    /// (a config file or preset).
    public var base: Configuration
    /// Settings from the command line, applied after the trace's `set` lines.
    public var overrides: [(key: String, value: String)]
    /// Where each key of `base` that the command line set came from
    /// (`--cpu zen3`, `--config z.conf`), so that a `set` line overriding it
    /// can say so.
    public var origins: [String: String] = [:]
    /// How the notes name each of `overrides`, by index (`--shootdown ipi`);
    /// `--set KEY=VALUE` when missing.
    public var overrideNames: [String] = []

    public init(file: String, base: Configuration = Configuration(), overrides: [(key: String, value: String)] = [],
                origins: [String: String] = [:]) {
        self.file = file
        self.base = base
        self.overrides = overrides
        self.origins = origins
    }

    /// A parsed, checked trace: its configuration and its directives.
    public struct Trace: Sendable {
        public var file: String
        public var configuration: Configuration
        public var lines: [TraceLine]
        /// One line per setting that lost to another (the precedence is defaults,
        /// `--cpu`, `--config`, the trace's `set` lines, `--set`): a `set` line
        /// over a command-line value, or a command-line override over a `set`
        /// line. Commands print each as `note: ...` on standard error.
        public var notes: [String] = []
    }

    /// Parses and checks `text`. Throws the first error found.
    public func read(_ text: String) throws(TraceError) -> Trace {
        var lines: [TraceLine] = []
        var lineNumber = 0
        var configuration = base
        var configured = false
        var validator = Validator(file: file)
        var notes: [String] = []
        /// The trace's `set` lines that still hold: line, value and the value's
        /// column (a setting that fails only with the others is blamed on its own line).
        var setLines: [String: SetLine] = [:]
        var start = text.utf8.startIndex
        let utf8 = text.utf8
        while start < utf8.endIndex {
            lineNumber += 1
            let end = utf8[start...].firstIndex(of: UInt8(ascii: "\n")) ?? utf8.endIndex
            let raw = Substring(text[start..<end])
            start = end < utf8.endIndex ? utf8.index(after: end) : end
            if raw.utf8.count > Self.maximumLineLength {
                throw TraceError(file: file, line: lineNumber, column: Self.maximumLineLength + 1,
                                 message: "line longer than \(Self.maximumLineLength) characters")
            }
            let fields = Self.fields(of: raw)
            guard !fields.isEmpty else { continue }
            let traceLine = try parse(fields, line: lineNumber)
            if case .set(let key, let value) = traceLine.directive {
                if configured {
                    throw TraceError(file: file, line: lineNumber, column: fields[0].column,
                                     message: "'set' must come before every other directive")
                }
                do throws(ConfigurationError) {
                    try configuration.set(key, value)
                } catch {
                    throw TraceError(file: file, line: lineNumber, column: fields[error.part == .key ? 1 : 2].column, message: error.message)
                }
                let now = configuration.value(of: key) ?? value
                if let origin = origins[key], let lost = base.value(of: key), lost != now {
                    notes.append("\(file):\(lineNumber): set \(key) \(value) overrides \(origin)'s value \(lost)")
                }
                setLines[key] = SetLine(line: lineNumber, value: now, column: fields[2].column)
                continue
            }
            if !configured {
                try finish(&configuration, line: lineNumber, setLines: setLines, notes: &notes)
                configured = true
                validator.start(configuration)
            }
            try validator.check(traceLine)
            guard lines.count < Self.maximumDirectives else {
                throw TraceError(file: file, line: lineNumber, column: 1,
                                 message: "more than \(Self.maximumDirectives) directives, the limit for an .mmt trace")
            }
            lines.append(traceLine)
        }
        if !configured { try finish(&configuration, line: max(1, lineNumber), setLines: setLines, notes: &notes) }
        guard !lines.isEmpty else {
            throw TraceError(file: file, line: max(1, lineNumber), column: 1,
                             message: lineNumber == 0 ? "the trace is empty" : "the trace has no directives (only set lines, comments or blank lines)")
        }
        return Trace(file: file, configuration: configuration, lines: lines, notes: notes)
    }

    /// Applies the command line's settings and checks the whole configuration;
    /// notes each override that replaces a value one of `setLines` gave.
    func finish(_ configuration: inout Configuration, line: Int,
                setLines: [String: SetLine], notes: inout [String]) throws(TraceError) {
        var setLines = setLines
        for (index, (key, value)) in overrides.enumerated() {
            do throws(ConfigurationError) {
                try configuration.set(key, value)
            } catch {
                throw TraceError(file: "--set \(key)=\(value)", line: 1, column: error.part == .key ? 7 : 8 + key.count, message: error.message)
            }
            if let lost = setLines.removeValue(forKey: key), configuration.value(of: key) != lost.value {
                let name = index < overrideNames.count ? overrideNames[index] : "--set \(key)=\(value)"
                notes.append("\(name) overrides \(file):\(lost.line)'s value \(lost.value)")
            }
        }
        do throws(ConfigurationError) {
            try configuration.validate()
        } catch {
            // Blame the setting the message starts with: a --set, else its set line.
            if let (key, value) = overrides.last(where: { error.message.hasPrefix($0.key) }) {
                throw TraceError(file: "--set \(key)=\(value)", line: 1, column: 8 + key.count, message: error.message)
            }
            let blamed = setLines.filter { error.message.hasPrefix($0.key) }.values.max { $0.line < $1.line }
            if let set = blamed {
                throw TraceError(file: file, line: set.line, column: set.column, message: error.message)
            }
            throw TraceError(file: file, line: line, column: 1, message: error.message)
        }
    }

    /// A `set` line of the trace: where it is and the value it left.
    struct SetLine {
        var line: Int
        var value: String
        var column: Int
    }

    /// A whitespace-separated field and its 1-based column.
    struct Field {
        var text: Substring
        var column: Int
    }

    /// The fields of a line, with `#` comments removed.
    static func fields(of line: Substring) -> [Field] {
        var fields: [Field] = []
        var column = 0
        var current: Substring.Index? = nil
        var currentColumn = 0
        var index = line.startIndex
        while index < line.endIndex {
            let character = line[index]
            column += 1
            if character == "#" { break }
            if character == " " || character == "\t" || character == "\r" {
                if let begin = current { fields.append(Field(text: line[begin..<index], column: currentColumn)); current = nil }
            } else if current == nil {
                current = index
                currentColumn = column
            }
            index = line.index(after: index)
        }
        if let begin = current { fields.append(Field(text: line[begin..<index], column: currentColumn)) }
        return fields
    }

    func parse(_ fields: [Field], line: Int) throws(TraceError) -> TraceLine {
        let name = fields[0].text
        let columns = fields.map(\.column)
        func fail(_ field: Int, _ message: String) -> TraceError {
            let column = field < fields.count ? fields[field].column
                : (fields.last.map { $0.column + $0.text.count } ?? 1)
            return TraceError(file: file, line: line, column: column, message: message)
        }
        func arity(_ names: String, _ minimum: Int, _ maximum: Int? = nil) throws(TraceError) {
            let count = fields.count - 1
            if count < minimum { throw fail(fields.count, "'\(printable(name))' needs \(names)") }
            if count > (maximum ?? minimum) { throw fail(1 + (maximum ?? minimum), "unexpected '\(printable(fields[1 + (maximum ?? minimum)].text))': '\(name)' takes \(names)") }
        }
        func number(_ i: Int, _ what: String) throws(TraceError) -> UInt64 {
            guard let value = Configuration.parseNumber(fields[i].text) else {
                throw fail(i, "\(what) '\(printable(fields[i].text))' is not a number (decimal or 0x hex, below 2^64)")
            }
            return value
        }
        func core(_ i: Int) throws(TraceError) -> Int {
            let value = try number(i, "core")
            guard value <= UInt64(Configuration.Limits.cores.upperBound) else { throw fail(i, "core \(value) does not exist") }
            return Int(value)
        }
        func permissions(_ i: Int) throws(TraceError) -> RegionPermissions {
            guard let value = RegionPermissions(fields[i].text) else {
                throw fail(i, "permissions '\(printable(fields[i].text))' must be r, rw, rx or rwx")
            }
            return value
        }
        let directive: Directive
        switch name {
        case "set":
            try arity("KEY VALUE", 2)
            directive = .set(key: String(fields[1].text), value: String(fields[2].text))
        case "process":
            try arity("PID [vm VMID]", 1, 3)
            if fields.count == 2 {
                directive = .process(pid: try number(1, "PID"))
            } else {
                guard fields[2].text == "vm" else {
                    throw fail(2, "unexpected '\(printable(fields[2].text))': 'process' takes PID [vm VMID]")
                }
                guard fields.count == 4 else { throw fail(3, "'process PID vm' needs the VMID") }
                directive = .process(pid: try number(1, "PID"), vm: try number(3, "VMID"))
            }
        case "vm":
            try arity("VMID FRAMES", 2)
            directive = .vm(id: try number(1, "VMID"), frames: try number(2, "FRAMES"))
        case "ksm":
            try arity("[CORE]", 0, 1)
            directive = .ksm(core: fields.count == 2 ? try core(1) : 0)
        case "switch":
            try arity("CORE PID|idle", 2)
            directive = .switch(core: try core(1), pid: fields[2].text == "idle" ? nil : try number(2, "PID"))
        case "map":
            try arity("CORE VA PAGES PERM [2m|1g]", 4, 5)
            let (c, va, pages) = (try core(1), VirtualAddress(try number(2, "VA")), try number(3, "PAGES"))
            let perm = try permissions(4)
            var size = PageSize.size4K
            if fields.count == 6 {
                switch fields[5].text {
                case "2m": size = .size2M
                case "1g": size = .size1G
                default: throw fail(5, "page size '\(printable(fields[5].text))' must be 2m or 1g")
                }
            }
            directive = .map(core: c, address: va, pages: pages, permissions: perm, pageSize: size)
        case "protect":
            try arity("CORE VA PAGES PERM", 4)
            let (c, va, pages) = (try core(1), VirtualAddress(try number(2, "VA")), try number(3, "PAGES"))
            directive = .protect(core: c, address: va, pages: pages, permissions: try permissions(4))
        case "madvise":
            try arity("CORE VA PAGES hugepage|nohugepage", 4)
            let (c, va, pages) = (try core(1), VirtualAddress(try number(2, "VA")), try number(3, "PAGES"))
            guard let advice = HugePageAdvice(rawValue: String(fields[4].text)), advice != .none else {
                throw fail(4, "advice '\(printable(fields[4].text))' must be hugepage or nohugepage")
            }
            directive = .madvise(core: c, address: va, pages: pages, advice: advice)
        case "unmap":
            try arity("CORE VA PAGES", 3)
            directive = .unmap(core: try core(1), address: VirtualAddress(try number(2, "VA")), pages: try number(3, "PAGES"))
        case "fork":
            try arity("CORE CHILD", 2)
            directive = .fork(core: try core(1), child: try number(2, "PID"))
        case "exit":
            try arity("CORE", 1)
            directive = .exit(core: try core(1))
        case "tick":
            try arity("CORE", 1)
            directive = .tick(core: try core(1))
        case "r":
            try arity("CORE VA [=VALUE]", 2, 3)
            var expected: UInt64? = nil
            if fields.count == 4 {
                guard fields[3].text.hasPrefix("="), let value = Configuration.parseNumber(fields[3].text.dropFirst()) else {
                    throw fail(3, "expected '=VALUE' (a number), found '\(printable(fields[3].text))'")
                }
                expected = value
            }
            directive = .access(core: try core(1), kind: .read, address: VirtualAddress(try number(2, "VA")), value: expected)
        case "w":
            try arity("CORE VA VALUE", 3)
            directive = .access(core: try core(1), kind: .write, address: VirtualAddress(try number(2, "VA")), value: try number(3, "VALUE"))
        case "x":
            try arity("CORE VA", 2)
            directive = .access(core: try core(1), kind: .fetch, address: VirtualAddress(try number(2, "VA")), value: nil)
        case "expect":
            try arity("KEY VALUE", 2)
            directive = .expect(key: String(fields[1].text), value: try number(2, "VALUE"))
        default:
            throw fail(0, "unknown directive '\(printable(name))' (expected set, vm, process, switch, map, unmap, protect, madvise, fork, exit, tick, ksm, r, w, x or expect)")
        }
        return TraceLine(directive: directive, line: line, columns: columns)
    }
}

/// A field as a message shows it: control bytes and non-ASCII escaped, long
/// fields cut, so a binary file gives a readable one-line message.
func printable(_ text: Substring) -> String {
    var out = ""
    for scalar in text.unicodeScalars.prefix(40) {
        if scalar.value >= 0x20 && scalar.value < 0x7F {
            out.unicodeScalars.append(scalar)
        } else {
            out += "\\u{" + String(scalar.value, radix: 16) + "}"
        }
    }
    return text.unicodeScalars.count > 40 ? out + "..." : out
}
