/// The trace formats `mmusim run` reads (`--format mmt|lackey|champsim`).
public enum TraceFormat: String, CaseIterable, Hashable, Sendable {
    /// mmusim's own directive trace (docs/reference/trace-format.md), read whole and checked.
    case mmt
    /// Valgrind Lackey's `--trace-mem=yes` output, streamed (`LackeyReader`).
    case lackey
    /// ChampSim's 64-byte binary records, streamed (`ChampSimReader`).
    case champsim

    /// The format `--format NAME` names, or nil.
    public init?(name: String) { self.init(rawValue: name) }

    /// The name `--format` takes.
    public var name: String { rawValue }

    /// Whether records are streamed (read one at a time in constant memory)
    /// rather than read and checked whole.
    public var isStreamed: Bool { self != .mmt }

    /// How many leading bytes `detect` looks at.
    public static let detectionBytes = 4096

    /// The format of a trace from its path and its first bytes (up to
    /// `detectionBytes`), for a run without `--format`:
    ///
    /// 1. a `.mmt` extension: `mmt`;
    /// 2. text whose first non-blank line starts with `==`, `I `, ` L`, ` S` or
    ///    ` M`: `lackey`;
    /// 3. bytes that are not text (a NUL or another control byte besides tab,
    ///    CR, LF and form feed): `champsim`. Every ChampSim record has such
    ///    bytes: the top two bytes of a user address (below 2^47) are zero;
    /// 4. otherwise `mmt` (whose errors then say what is wrong).
    ///
    /// The size is not used: a text trace whose size happens to be a multiple
    /// of 64 is still text, and a binary one that is not is a truncated
    /// ChampSim trace, which its reader reports.
    public static func detect(path: String, firstBytes: some Collection<UInt8>) -> TraceFormat {
        if path.hasSuffix(".mmt") { return .mmt }
        var text = true
        for byte in firstBytes where byte < 0x20 || byte == 0x7F {
            if byte != UInt8(ascii: "\t") && byte != UInt8(ascii: "\n") && byte != UInt8(ascii: "\r") && byte != 0x0C {
                text = false
                break
            }
        }
        guard text else { return .champsim }
        return startsLikeLackey(Array(firstBytes)) ? .lackey : .mmt
    }

    /// The format of the trace `source` will read, from its path and first
    /// bytes (peeked, not consumed: standard input works too).
    public static func detect(_ source: ByteSource) throws(ByteSourceError) -> TraceFormat {
        detect(path: source.path, firstBytes: try source.peek(upTo: detectionBytes))
    }

    /// Whether the first non-blank line starts as a Lackey line does.
    static func startsLikeLackey(_ bytes: [UInt8]) -> Bool {
        var lineStart = 0
        while lineStart < bytes.count {
            var lineEnd = lineStart
            while lineEnd < bytes.count && bytes[lineEnd] != UInt8(ascii: "\n") { lineEnd += 1 }
            let line = bytes[lineStart..<lineEnd]
            let blank = line.allSatisfy { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") || $0 == UInt8(ascii: "\r") }
            if !blank {
                let prefixes = ["==", "I ", " L", " S", " M"].map { Array($0.utf8) }
                return prefixes.contains { line.starts(with: $0) }
            }
            lineStart = lineEnd + 1
        }
        return false
    }
}
