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

    /// `next()` for up to `buffer.count` records at once: the common lines in
    /// bulk, straight from the source's buffer (`decodeCommon`), and any other
    /// line (a banner, a blank line, an unusual spelling, an error, a line the
    /// buffer holds only part of) through `next()`.
    public mutating func read(into buffer: UnsafeMutableBufferPointer<MemoryAccess>, count: inout Int) throws(TraceError) {
        count = 0
        guard let out = buffer.baseAddress else { return }
        let capacity = buffer.count
        while count < capacity {
            let filled = count
            let decoded: Int
            do throws(ByteSourceError) {
                decoded = try source.withBufferedBytes(atLeast: Self.bulkBytes) { bytes in
                    Self.decodeCommon(bytes, into: out + filled, capacity: capacity &- filled)
                }
            } catch {
                throw TraceError(file: file, line: line + 1, column: 1, message: error.message)
            }
            count &+= decoded
            line &+= decoded
            guard count < capacity else { return }
            guard let access = try next() else { return }
            out[count] = access
            count &+= 1
        }
    }

    /// Bytes `read(into:count:)` wants buffered before it decodes in bulk: it
    /// reads more only when the buffer is empty, so lines a pipe has already
    /// delivered run before it waits for more (a line the buffer holds only
    /// part of goes through `next()`, which reads the rest).
    static let bulkBytes = 1

    /// Decodes common lines (`decodeLine`) from the start of `bytes` into
    /// `out`, up to `capacity` records; stops at the first line that is not
    /// one, or not whole. Returns the bytes the records' lines take (with
    /// their `\n`s) and the number of records.
    @inline(__always)
    static func decodeCommon(_ bytes: UnsafeBufferPointer<UInt8>, into out: UnsafeMutablePointer<MemoryAccess>,
                             capacity: Int) -> (consumed: Int, result: Int) {
        guard let base = bytes.baseAddress else { return (0, 0) }
        let end = base + bytes.count
        var p = base
        var n = 0
        while n < capacity, let next = decodeLine(p, end, into: out + n) {
            p = next
            n &+= 1
        }
        return (base.distance(to: p), n)
    }

    // Eight bytes at a time in one word (SWAR); byte k of a word is the k-th byte of the input.
    static let ones: UInt64 = 0x0101_0101_0101_0101
    static let highs: UInt64 = 0x8080_8080_8080_8080

    @inline(__always) static func load(_ p: UnsafePointer<UInt8>) -> UInt64 {
        UInt64(littleEndian: UnsafeRawPointer(p).loadUnaligned(as: UInt64.self))
    }

    /// Bit 7 set in each byte of `x` that is `low...high` (ASCII bounds).
    @inline(__always) static func inRange(_ x: UInt64, _ low: UInt8, _ high: UInt8) -> UInt64 {
        let seven = x & ~highs
        let atLeastLow = seven &+ UInt64(0x80 &- low) &* ones
        let aboveHigh = seven &+ UInt64(0x80 &- (high &+ 1)) &* ones
        return atLeastLow & ~aboveHigh & ~x & highs
    }

    /// Eight hexadecimal digit values, one a byte (0...15), the first in the
    /// low byte, as one 32-bit number (the first digit the most significant).
    @inline(__always) static func packNibbles(_ x: UInt64) -> UInt64 {
        let pairs = ((x &* 0x1001) &>> 8) & 0x00FF_00FF_00FF_00FF
        let quads = ((pairs &* 0x0100_0001) &>> 16) & 0x0000_FFFF_0000_FFFF
        return (quads &* 0x0001_0000_0000_0001) &>> 32
    }

    /// The value of each byte of `x` read as a hexadecimal digit, 0...15
    /// (its low nibble, plus 9 for a letter); meaningless for other bytes.
    @inline(__always) static func nibbles(_ x: UInt64) -> UInt64 {
        ((x & (0x0F &* ones)) &+ ((x &>> 6) & ones) &* 9) & (0x0F &* ones)
    }

    /// The lowercase hexadecimal digit of each value 0...15 of `x`, a byte each.
    @inline(__always) static func hexSpelling(_ x: UInt64) -> UInt64 {
        let letters = ((x &+ 0x76 &* ones) & highs) &>> 7          // 1 where the value is 10 or more
        return x &+ 0x30 &* ones &+ letters &* 39                  // "0" + value, or "a" + value - 10
    }

    /// One common line at `p`, `I  ADDRESS,SIZE\n` or ` L|S|M ADDRESS,SIZE\n`
    /// (1 to 16 lowercase hex digits, 1 to 4 decimal ones, the size 1 to
    /// `maximumSize`), ending before `end`: the record goes to `out` and the
    /// next line's start comes back. Nil for anything else (`parse` decides
    /// it). It reads up to 29 bytes from `p` whatever the line holds, so
    /// `end` must be followed by `ByteSource.slack` readable bytes.
    ///
    /// Each field is read eight bytes at a time, without a branch per
    /// character: the digits run to the first byte that is not one, which
    /// must be the comma (or the newline); the value is the 16 digits of two
    /// words packed, shifted right past the ones after the field. A size of
    /// one digit (most of them) is read as the byte it is.
    @inline(__always)
    static func decodeLine(_ p: UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>,
                           into out: UnsafeMutablePointer<MemoryAccess>) -> UnsafePointer<UInt8>? {
        let kind: AccessKind
        switch load(p) & 0xFF_FFFF {
        case 0x20_2049: kind = .fetch                    // "I  "
        case 0x20_4C20: kind = .read                     // " L "
        case 0x20_5320, 0x20_4D20: kind = .write         // " S ", " M "
        default: return nil
        }
        // The address: 1 to 16 hex digits, then a comma.
        let digits = p + 3
        // A byte is a digit exactly when the digit of its value is spelled as it is.
        let a = load(digits)
        let valuesA = nibbles(a)
        let address: UInt64, sizeDigits: UnsafePointer<UInt8>
        if digits[8] == UInt8(ascii: ","), hexSpelling(valuesA) == a {
            // Exactly eight digits (Lackey's `%08lx` of an address below 4 GiB): one word.
            address = packNibbles(valuesA)
            sizeDigits = digits + 9
        } else {
            let b = load(digits + 8)
            let valuesB = nibbles(b)
            let notHexA = hexSpelling(valuesA) ^ a, notHexB = hexSpelling(valuesB) ^ b
            let n = notHexA != 0 ? notHexA.trailingZeroBitCount &>> 3 : 8 &+ (notHexB.trailingZeroBitCount &>> 3)
            guard n > 0, digits[n] == UInt8(ascii: ",") else { return nil }
            // Eight digits or fewer need one word packed.
            address = n <= 8 ? packNibbles(valuesA) &>> UInt64(truncatingIfNeeded: (8 &- n) &* 4)
                             : (packNibbles(valuesA) &<< 32 | packNibbles(valuesB)) &>> UInt64(truncatingIfNeeded: (16 &- n) &* 4)
            sizeDigits = digits + n + 1
        }
        // The size: 1 to 4 decimal digits, then the newline. Most are one digit.
        let size: UInt64, newline: UnsafePointer<UInt8>
        let first = UInt64(sizeDigits[0] &- 0x30)
        if sizeDigits[1] == UInt8(ascii: "\n") && first &- 1 < 9 {
            size = first
            newline = sizeDigits + 1
        } else {
            let c = load(sizeDigits)
            let m = (~inRange(c, 0x30, 0x39) & highs).trailingZeroBitCount &>> 3
            newline = sizeDigits + m
            guard UInt(bitPattern: m &- 1) < 4, newline.pointee == UInt8(ascii: "\n") else { return nil }
            // Right-aligned in the low four bytes, pairs of digits, then the pairs.
            let aligned = ((c & 0x0F0F_0F0F) &<< UInt64(truncatingIfNeeded: (4 &- m) &* 8)) & 0x0F0F_0F0F
            let pairs = (aligned &* 10 &+ (aligned &>> 8)) & 0x00FF_00FF
            size = (pairs & 0xFF) &* 100 &+ (pairs &>> 16)
            guard size &- 1 < maximumSize else { return nil }
        }
        guard newline < end else { return nil }
        out.initialize(to: MemoryAccess(kind: kind, address: VirtualAddress(address), bytes: size))
        return newline + 1
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
