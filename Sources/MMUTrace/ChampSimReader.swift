import MMUHardware

/// Reads a ChampSim trace: a stream of 64-byte `input_instr` records, as
/// ChampSim's Pin tracer writes them, little-endian, no header:
///
/// | offset | field |
/// | --- | --- |
/// | 0 | `ip`, u64 |
/// | 8 | `is_branch`, u8 |
/// | 9 | `branch_taken`, u8 |
/// | 10 | `destination_registers[2]`, u8 each |
/// | 12 | `source_registers[4]`, u8 each |
/// | 16 | `destination_memory[2]`, u64 each |
/// | 32 | `source_memory[4]`, u64 each |
///
/// Each record yields, in this order: a fetch of `ip`, a load for each
/// non-zero `source_memory` (in index order), then a store for each non-zero
/// `destination_memory` (in index order); a zero operand is an unused slot.
/// Branch and register fields are ignored.
///
/// The record carries no access sizes, so we choose them: a fetch is 1 byte
/// (as a `.mmt` `x`: it looks up the page of the instruction's first byte)
/// and each load or store is 8 bytes (as a `.mmt` `r`/`w`, and ChampSim's own
/// cache model, which treats each operand as one access at its address). An
/// 8-byte operand that crosses a page translates both pages.
///
/// ChampSim traces are usually distributed xz-compressed; decompress on the
/// way in: `xz -dc t.champsimtrace.xz | mmusim run --format champsim -`.
/// A truncated last record (1 to 63 bytes) stops the trace with a
/// `TraceError` whose line is the record number (1-based) and whose message
/// gives the record's byte offset.
public struct ChampSimReader: MemoryTraceReader {
    /// Bytes in one `input_instr` record.
    public static let recordSize = 64
    /// Bytes a fetch touches.
    public static let fetchBytes: UInt64 = 1
    /// Bytes a load or store touches.
    public static let operandBytes: UInt64 = 8

    /// The name errors give (the path; `<stdin>` for `-`).
    public let file: String
    let source: ByteSource
    /// Records read so far.
    public private(set) var records: UInt64 = 0
    public var recordsRead: UInt64? { records }
    /// A binary trace has no lines to skip.
    public var skippedLines: UInt64 { 0 }
    public var bytesRead: UInt64 { source.bytesRead }

    /// The current record's accesses, and the next one to hand out: 0 is the
    /// fetch, 1...4 the source operands, 5...6 the destinations; 7 is done.
    var record = Record()
    var step = Record.steps

    struct Record {
        static let steps = 7
        var ip: UInt64 = 0
        var source: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        var destination: (UInt64, UInt64) = (0, 0)

        /// The operand address at `step` (1...6); 0 when unused.
        @inline(__always) func operand(_ step: Int) -> UInt64 {
            switch step {
            case 1: return source.0
            case 2: return source.1
            case 3: return source.2
            case 4: return source.3
            case 5: return destination.0
            default: return destination.1
            }
        }
    }

    /// A reader over `source`; errors name `file` (default: the source's name).
    public init(source: ByteSource, file: String? = nil) {
        self.source = source
        self.file = file ?? source.name
    }

    public mutating func next() throws(TraceError) -> MemoryAccess? {
        while true {
            if step >= Record.steps {
                guard try readRecord() else { return nil }
                step = 1
                return MemoryAccess(kind: .fetch, address: VirtualAddress(record.ip), bytes: Self.fetchBytes)
            }
            let current = step
            step &+= 1
            let address = record.operand(current)
            if address != 0 {
                return MemoryAccess(kind: current <= 4 ? .read : .write, address: VirtualAddress(address), bytes: Self.operandBytes)
            }
        }
    }

    /// `next()` for up to `buffer.count` accesses at once: whole records
    /// decoded straight from the source's buffer while there is room for
    /// all seven of a record's accesses; a record split by the end of
    /// `buffer`, or by the end of the source's buffer or of the input,
    /// goes through `next()`.
    public mutating func read(into buffer: UnsafeMutableBufferPointer<MemoryAccess>, count: inout Int) throws(TraceError) {
        count = 0
        guard let out = buffer.baseAddress else { return }
        let capacity = buffer.count
        while count < capacity {
            // The record in hand may have only unused operands left (`next()` skips them).
            while step < Record.steps && record.operand(step) == 0 { step &+= 1 }
            if step >= Record.steps && capacity &- count >= Record.steps {
                let filled = count
                let (accesses, whole): (Int, UInt64)
                do throws(ByteSourceError) {
                    (accesses, whole) = try source.withBufferedBytes(atLeast: Self.recordSize) { bytes in
                        Self.decode(bytes, into: out + filled, capacity: capacity &- filled)
                    }
                } catch {
                    throw TraceError(file: file, line: Int(records) + 1, column: 1, message: "record \(records + 1): \(error.message)")
                }
                count &+= accesses
                records &+= whole
                if whole > 0 { continue }
            }
            guard let access = try next() else { return }
            out[count] = access
            count &+= 1
        }
    }

    /// Decodes whole records from the start of `bytes` into `out` while
    /// `capacity` leaves room for seven accesses; returns the bytes consumed
    /// and the accesses and records decoded. A record's unused operands (0)
    /// are written and then overwritten: no branch per operand.
    @inline(__always)
    static func decode(_ bytes: UnsafeBufferPointer<UInt8>, into out: UnsafeMutablePointer<MemoryAccess>,
                       capacity: Int) -> (consumed: Int, result: (Int, UInt64)) {
        guard let base = bytes.baseAddress else { return (0, (0, 0)) }
        let raw = UnsafeRawPointer(base)
        let whole = min(bytes.count / recordSize, capacity / Record.steps)
        guard whole > 0 else { return (0, (0, 0)) }
        var n = 0
        for r in 0..<whole {
            let record = raw + r &* recordSize
            @inline(__always) func u64(_ at: Int) -> UInt64 {
                UInt64(littleEndian: record.loadUnaligned(fromByteOffset: at, as: UInt64.self))
            }
            (out + n).initialize(to: MemoryAccess(kind: .fetch, address: VirtualAddress(u64(0)), bytes: fetchBytes))
            n &+= 1
            @inline(__always) func operand(_ address: UInt64, _ kind: AccessKind) {
                (out + n).initialize(to: MemoryAccess(kind: kind, address: VirtualAddress(address), bytes: operandBytes))
                n &+= address != 0 ? 1 : 0
            }
            operand(u64(32), .read)
            operand(u64(40), .read)
            operand(u64(48), .read)
            operand(u64(56), .read)
            operand(u64(16), .write)
            operand(u64(24), .write)
        }
        return (whole &* recordSize, (n, UInt64(whole)))
    }

    /// Reads the next record into `record`; false at the end of the trace.
    mutating func readRecord() throws(TraceError) -> Bool {
        let offset = source.bytesRead
        let decoded: Record?
        let count: Int
        do throws(ByteSourceError) {
            (decoded, count) = try source.withNextBytes(Self.recordSize) { bytes in
                guard bytes.count == Self.recordSize else { return (nil, bytes.count) }
                @inline(__always) func u64(_ at: Int) -> UInt64 {
                    UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: UInt64.self))
                }
                return (Record(ip: u64(0), source: (u64(32), u64(40), u64(48), u64(56)),
                               destination: (u64(16), u64(24))), bytes.count)
            }
        } catch {
            throw TraceError(file: file, line: Int(records) + 1, column: 1, message: "record \(records + 1): \(error.message)")
        }
        guard let decoded else {
            guard count == 0 else {
                throw TraceError(file: file, line: Int(records) + 1, column: 1,
                                 message: "record \(records + 1) at byte offset \(offset) is truncated: \(count) of \(Self.recordSize) bytes")
            }
            return false
        }
        record = decoded
        records &+= 1
        return true
    }
}
