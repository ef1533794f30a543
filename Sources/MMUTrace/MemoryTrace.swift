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

/// A record runs as a batch's record (`System.touch(core:_:observer:)`).
extension MemoryAccess: TouchRecord {}

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
    /// Reads up to `buffer.count` records into `buffer`, in order, and sets
    /// `count` to how many it read: `next()` for many records at once (the
    /// fast way; a format may decode its common records in bulk). `count` is
    /// 0 only at the end of the trace, or when it throws at the first record.
    /// When it throws, the first `count` records of `buffer` are those before
    /// the bad one, and the reader is as `next()` leaves it when it throws
    /// there. It consumes exactly the input `count` calls of `next()` would
    /// (so `bytesRead`, `skippedLines` and `recordsRead` agree with them).
    mutating func read(into buffer: UnsafeMutableBufferPointer<MemoryAccess>, count: inout Int) throws(TraceError)
}

extension MemoryTraceReader {
    public var recordsRead: UInt64? { nil }

    /// `read(into:count:)` one `next()` at a time.
    public mutating func read(into buffer: UnsafeMutableBufferPointer<MemoryAccess>, count: inout Int) throws(TraceError) {
        count = 0
        while count < buffer.count, let access = try next() {
            buffer[count] = access
            count &+= 1
        }
    }

    /// Opens `path` (`-`: standard input).
    public init(path: String) throws(ByteSourceError) {
        self.init(source: try ByteSource(path: path), file: nil)
    }
}

/// How many accesses took 1–2, 3–4, 5–8, 9–16, ... cycles (bucket k holds
/// 2^k + 1 ... 2^(k+1) cycles; bucket 0 holds 0–2).
public struct AccessHistogram: Hashable, Sendable {
    /// The buckets, inline (no heap buffer: counting needs no uniqueness check).
    var storage = InlineArray<64, UInt64>(repeating: 0)

    public init() {}

    /// The count of each bucket, 0 to 63.
    public var counts: [UInt64] { (0..<64).map { storage[$0] } }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        (0..<64).allSatisfy { lhs.storage[$0] == rhs.storage[$0] }
    }

    public func hash(into hasher: inout Hasher) {
        for k in 0..<64 { hasher.combine(storage[k]) }
    }

    @inlinable public static func bucket(_ cycles: UInt64) -> Int {
        cycles <= 2 ? 0 : 64 - (cycles - 1).leadingZeroBitCount - 1
    }

    /// Counts one access; a bucket saturates at 2^64 - 1 rather than wrapping to 0.
    @inline(__always)
    public mutating func record(_ cycles: UInt64) {
        let bucket = Self.bucket(cycles)
        if storage[bucket] != .max { storage[bucket] &+= 1 }
    }

    /// Counts `times` accesses of `cycles` each, saturating as `times` calls
    /// of `record(_:)` would.
    @inline(__always)
    public mutating func record(_ cycles: UInt64, times: UInt64) {
        let bucket = Self.bucket(cycles)
        let (sum, overflow) = storage[bucket].addingReportingOverflow(times)
        storage[bucket] = overflow ? .max : sum
    }

    /// The lowest and highest cycle count of bucket `k`.
    public static func range(_ k: Int) -> (low: UInt64, high: UInt64) {
        k == 0 ? (0, 2) : ((1 << UInt64(k)) + 1, k >= 63 ? UInt64.max : 1 << UInt64(k + 1))
    }

    /// The non-empty buckets, in order.
    public var buckets: [(low: UInt64, high: UInt64, count: UInt64)] {
        (0..<64).compactMap { k in storage[k] == 0 ? nil : (Self.range(k).low, Self.range(k).high, storage[k]) }
    }
}
