import MMUHardware

/// One record of a streamed memory trace (Lackey, ChampSim): an access of
/// `bytes` bytes by the traced program, run on core 0.
public struct MemoryAccess: Hashable, Sendable {
    public var kind: AccessKind
    public var address: VirtualAddress
    public var bytes: UInt64
    public init(kind: AccessKind, address: VirtualAddress, bytes: UInt64) {
        self.kind = kind
        self.address = address
        self.bytes = bytes
    }
}

/// A reader of a streamed trace: hands out records one at a time in constant
/// memory, and stops at the first bad record with a `TraceError` naming it.
public protocol MemoryTraceReader {
    /// A reader over `source`; errors name `file` (default: the source's name).
    init(source: ByteSource, file: String?)
    /// The next record, or nil at the end of the trace.
    mutating func next() throws(TraceError) -> MemoryAccess?
    /// Input lines that are not records and were skipped (Valgrind's `==PID==` banner lines).
    var skippedLines: UInt64 { get }
    /// Bytes consumed so far (for progress).
    var bytesRead: UInt64 { get }
    /// Records read so far, where the format's records are not one access
    /// each (a ChampSim record holds several); nil where they are, and the
    /// accesses run are the records.
    var recordsRead: UInt64? { get }
}

extension MemoryTraceReader {
    public var recordsRead: UInt64? { nil }

    /// Opens `path` (`-`: standard input).
    public init(path: String) throws(ByteSourceError) {
        self.init(source: try ByteSource(path: path), file: nil)
    }
}

/// How many accesses took 1–2, 3–4, 5–8, 9–16, ... cycles (bucket k holds
/// 2^k + 1 ... 2^(k+1) cycles; bucket 0 holds 0–2).
public struct AccessHistogram: Hashable, Sendable {
    public private(set) var counts = [UInt64](repeating: 0, count: 64)

    public init() {}

    @inlinable public static func bucket(_ cycles: UInt64) -> Int {
        cycles <= 2 ? 0 : 64 - (cycles - 1).leadingZeroBitCount - 1
    }

    /// Counts one access; a bucket saturates at 2^64 - 1 rather than wrapping to 0.
    public mutating func record(_ cycles: UInt64) {
        let bucket = Self.bucket(cycles)
        if counts[bucket] != .max { counts[bucket] += 1 }
    }

    /// The lowest and highest cycle count of bucket `k`.
    public static func range(_ k: Int) -> (low: UInt64, high: UInt64) {
        k == 0 ? (0, 2) : ((1 << UInt64(k)) + 1, k >= 63 ? UInt64.max : 1 << UInt64(k + 1))
    }

    /// The non-empty buckets, in order.
    public var buckets: [(low: UInt64, high: UInt64, count: UInt64)] {
        counts.indices.compactMap { k in counts[k] == 0 ? nil : (Self.range(k).low, Self.range(k).high, counts[k]) }
    }
}
