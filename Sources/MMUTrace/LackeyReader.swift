import MMUHardware

/// Reads the memory trace Valgrind's Lackey tool writes with
/// `valgrind --tool=lackey --trace-mem=yes --log-file=FILE PROGRAM`
/// (docs/trace-formats-streamed.md), one record a line:
///
/// ```
/// ==21575== Lackey, an example Valgrind tool
/// I  0401ab70,3
///  S 1fff000698,8
///  L 04029e30,8
///  M 0402a0c8,4
/// ```
///
/// `I` is an instruction fetch, `L` a load, `S` a store and `M` a modify
/// (read-modify-write: one access with write intent, `.write`). The address is
/// hexadecimal without `0x`, the size decimal (Lackey's `%08lx,%lu`). Lackey
/// puts `I` in column 1 and the data letters in column 2; any run of spaces
/// before the letter and between the letter and the address is accepted.
/// Lines starting with `==` (Valgrind's `==PID==` banner and summary) are
/// skipped and counted in `skippedLines`; blank lines are skipped and not
/// counted. Anything else stops the trace with a `TraceError` naming the line
/// and the column of the offending field.
public struct LackeyReader: MemoryTraceReader {
    /// Largest size accepted. Lackey never prints more than 512 (its
    /// `MAX_DSIZE`); a size above a page is certainly not Lackey output.
    public static let maximumSize: UInt64 = 4096

    /// The name errors give (the path; `<stdin>` for `-`).
    public let file: String
    let source: ByteSource
    /// The last line read (1-based).
    public private(set) var line = 0
    public private(set) var skippedLines: UInt64 = 0
    public var bytesRead: UInt64 { source.bytesRead }

    /// A reader over `source`; errors name `file` (default: the source's name).
    public init(source: ByteSource, file: String? = nil) {
        self.source = source
        self.file = file ?? source.name
    }

    public mutating func next() throws(TraceError) -> MemoryAccess? {
        while true {
            let parsed: Parsed?
            do throws(ByteSourceError) {
                parsed = try source.withNextLine(Self.parse)
            } catch {
                let column = error.reason == .lineTooLong ? ByteSource.maximumLineLength + 1 : 1
                throw TraceError(file: file, line: line + 1, column: column, message: error.message)
            }
            guard let parsed else { return nil }
            line += 1
            switch parsed {
            case .record(let access):
                return access
            case .banner:
                skippedLines &+= 1
            case .blank:
                continue
            case .problem(let column, let problem):
                throw TraceError(file: file, line: line, column: column, message: problem.message)
            }
        }
    }

    /// What a line holds. No allocation: the message is made only on error.
    enum Parsed {
        case record(MemoryAccess)
        case banner
        case blank
        case problem(column: Int, Problem)
    }

    enum Problem {
        case kind, address, addressTooLong, comma, size, sizeRange(String), trailing
        var message: String {
            switch self {
            case .kind: return "expected a Lackey record ('I', ' L', ' S' or ' M' then ADDRESS,SIZE) or a Valgrind '==' line"
            case .address: return "expected a hexadecimal address (without 0x)"
            case .addressTooLong: return "address does not fit in 64 bits"
            case .comma: return "expected ',' and a size after the address"
            case .size: return "expected a decimal size"
            case .sizeRange(let size): return "size \(size) is out of range (1 to \(maximumSize))"
            case .trailing: return "unexpected text after the size"
            }
        }
    }

    @inline(__always) static func isBlank(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\r")
    }

    @inline(__always) static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte &- UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte &- UInt8(ascii: "a") &+ 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte &- UInt8(ascii: "A") &+ 10
        default: return nil
        }
    }

    @inline(__always) static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || ((byte | 0x20) >= UInt8(ascii: "a") && (byte | 0x20) <= UInt8(ascii: "z"))
    }

    /// Parses one line (without its `\n`). Columns are 1-based bytes.
    ///
    /// The common line (`I  0401ab70,3`, ` L 04029e30,8`: the letter, spaces,
    /// hex digits, a comma, decimal digits) is read in one pass with no bounds
    /// checks; anything else, errors included, goes the careful way.
    @inline(__always)
    static func parse(_ text: UnsafeBufferPointer<UInt8>) -> Parsed {
        if let access = parseCommon(text) { return .record(access) }
        return parseCarefully(text)
    }

    /// The common record, or nil to let `parseCarefully` decide.
    @inline(__always)
    static func parseCommon(_ text: UnsafeBufferPointer<UInt8>) -> MemoryAccess? {
        guard let base = text.baseAddress else { return nil }
        let end = base + text.count
        var p = base
        while p < end && p.pointee == UInt8(ascii: " ") { p += 1 }
        guard p < end else { return nil }
        let kind: AccessKind
        switch p.pointee {
        case UInt8(ascii: "I"): kind = .fetch
        case UInt8(ascii: "L"): kind = .read
        case UInt8(ascii: "S"), UInt8(ascii: "M"): kind = .write
        default: return nil
        }
        p += 1
        guard p < end && p.pointee == UInt8(ascii: " ") else { return nil }
        while p < end && p.pointee == UInt8(ascii: " ") { p += 1 }
        var address: UInt64 = 0
        let digits = p
        while p < end {
            let byte = p.pointee
            let decimal = byte &- UInt8(ascii: "0")
            let letter = (byte | 0x20) &- UInt8(ascii: "a")
            let value: UInt8
            if decimal < 10 { value = decimal } else if letter < 6 { value = letter &+ 10 } else { break }
            address = address << 4 | UInt64(value)
            p += 1
        }
        // At most 16 digits, then the comma.
        guard p > digits, p - digits <= 16, p < end, p.pointee == UInt8(ascii: ",") else { return nil }
        p += 1
        var size: UInt64 = 0
        let sizeDigits = p
        while p < end {
            let decimal = p.pointee &- UInt8(ascii: "0")
            guard decimal < 10 else { break }
            size = size &* 10 &+ UInt64(decimal)
            p += 1
        }
        guard p == end, p > sizeDigits, p - sizeDigits <= 4, size >= 1, size <= maximumSize else { return nil }
        return MemoryAccess(kind: kind, address: VirtualAddress(address), bytes: size)
    }

    /// Parses a line that is not a plain record: banners, blank lines, tabs,
    /// carriage returns, leading zeros past 16 digits, and every error.
    static func parseCarefully(_ text: UnsafeBufferPointer<UInt8>) -> Parsed {
        let n = text.count
        if n >= 2 && text[0] == UInt8(ascii: "=") && text[1] == UInt8(ascii: "=") { return .banner }
        var i = 0
        while i < n && isBlank(text[i]) { i &+= 1 }
        if i == n { return .blank }

        let kind: AccessKind
        switch text[i] {
        case UInt8(ascii: "I"): kind = .fetch
        case UInt8(ascii: "L"): kind = .read
        case UInt8(ascii: "S"), UInt8(ascii: "M"): kind = .write
        default: return .problem(column: i + 1, .kind)
        }
        guard i + 1 < n, text[i + 1] == UInt8(ascii: " ") || text[i + 1] == UInt8(ascii: "\t") else {
            return .problem(column: i + 1, .kind)
        }
        i &+= 1
        while i < n && isBlank(text[i]) { i &+= 1 }

        let addressColumn = i + 1
        var address: UInt64 = 0
        var digits = 0
        while i < n, let value = hexValue(text[i]) {
            if address >> 60 != 0 { return .problem(column: addressColumn, .addressTooLong) }
            address = address << 4 | UInt64(value)
            digits &+= 1
            i &+= 1
        }
        // A letter or digit run into the address (`0x...`, `12g4`) spoils the
        // field; anything else where the comma belongs is a missing comma.
        guard digits > 0, i == n || !isAlphanumeric(text[i]) else { return .problem(column: addressColumn, .address) }
        guard i < n, text[i] == UInt8(ascii: ",") else { return .problem(column: i + 1, .comma) }
        i &+= 1

        let sizeStart = i, sizeColumn = i + 1
        var size: UInt64 = 0
        while i < n, text[i] >= UInt8(ascii: "0"), text[i] <= UInt8(ascii: "9") {
            if size <= maximumSize { size = size &* 10 &+ UInt64(text[i] &- UInt8(ascii: "0")) }
            i &+= 1
        }
        guard i > sizeStart, i == n || !isAlphanumeric(text[i]) else { return .problem(column: sizeColumn, .size) }
        guard size >= 1 && size <= maximumSize else {
            let digits = String(decoding: UnsafeBufferPointer(rebasing: text[sizeStart..<i]), as: UTF8.self)
            return .problem(column: sizeColumn, .sizeRange(digits))
        }
        while i < n && isBlank(text[i]) { i &+= 1 }
        guard i == n else { return .problem(column: i + 1, .trailing) }
        return .record(MemoryAccess(kind: kind, address: VirtualAddress(address), bytes: size))
    }
}
