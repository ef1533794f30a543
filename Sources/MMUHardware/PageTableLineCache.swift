/// Where the walker's page-table reads hit: a per-core model of the data-cache
/// hierarchy as the page walker sees it (SDM 4.10.3: paging-structure entries
/// are fetched through the data caches). Three set-associative true-LRU levels
/// of 64-byte lines (L1D, L2, LLC); a line found nowhere comes from DRAM. A hit
/// at a level fills the levels above it; a miss everywhere fills all three.
///
/// The line counts stand for the share of each cache that page-table lines get
/// while the program's own data competes for it (see docs/cost-model.md).
public struct PageTableLineCache: Sendable {
    /// The level a page-table read was served from.
    public enum Level: Int, Sendable, CaseIterable {
        case l1d, l2, llc, dram
        /// The cost key a reference served here is charged under.
        public var cost: CostKey {
            switch self {
            case .l1d: return .walkL1D
            case .l2: return .walkL2
            case .llc: return .walkLLC
            case .dram: return .walkDRAM
            }
        }
    }

    /// One cached 64-byte line.
    struct Line: CacheEntry {
        /// The line number plus one (line numbers are below 2^58), 0 in an
        /// empty slot.
        var tag: UInt64 = 0
        init() {}
        init(number: UInt64) { tag = number &+ 1 }
        var number: UInt64 { tag &- 1 }
        static var empty: Line { Line() }
        static var emptyIsZeroBits: Bool { true }
        var isValid: Bool { tag != 0 }
        var indexTag: UInt64 { number }
    }

    /// One level of the hierarchy.
    typealias Cache = SetAssociativeArray<Line, LeastRecentlyUsed>

    var l1d: Cache
    var l2: Cache
    var llc: Cache

    public init(geometry: TLBGeometry) {
        l1d = Cache(capacity: geometry.pageTableLinesL1D, ways: 8)
        l2 = Cache(capacity: geometry.pageTableLinesL2, ways: 16)
        llc = Cache(capacity: geometry.pageTableLinesLLC, ways: 16)
    }

    /// The 64-byte line holding entry `index` of the table in `frame`.
    @inlinable public static func line(_ frame: FrameNumber, _ index: UInt64) -> UInt64 {
        (frame.rawValue << Paging.pageShift | index << 3) >> 6
    }

    /// A read of `line`: where it hit, and the line filled into the levels
    /// above. Each level is searched once: a miss remembers its victim, and
    /// the fills (after the levels below answered) go there, LLC first.
    public mutating func read(_ line: UInt64) -> Level {
        let fillL1D: Cache.Slot?
        switch Self.lookUp(line, in: &l1d) {
        case .hit: return .l1d
        case .miss(let victim): fillL1D = victim
        }
        let level: Level
        switch Self.lookUp(line, in: &l2) {
        case .hit:
            level = .l2
        case .miss(let fillL2):
            switch Self.lookUp(line, in: &llc) {
            case .hit: level = .llc
            case .miss(let fillLLC):
                Self.fill(line, in: &llc, at: fillLLC)
                level = .dram
            }
            Self.fill(line, in: &l2, at: fillL2)
        }
        Self.fill(line, in: &l1d, at: fillL1D)
        return level
    }

    /// A store by the kernel brings the line into every level (no charge: the
    /// store's cost is `cost.pte.write`).
    public mutating func write(_ line: UInt64) {
        Self.bring(line, into: &l1d)
        Self.bring(line, into: &l2)
        Self.bring(line, into: &llc)
    }

    @inline(__always) static func bring(_ line: UInt64, into cache: inout Cache) {
        if case .miss(let victim) = lookUp(line, in: &cache) { fill(line, in: &cache, at: victim) }
    }

    /// Probes one level for `line`; a hit becomes the most recent.
    @inline(__always) static func lookUp(_ line: UInt64, in cache: inout Cache) -> Cache.Probe {
        let tag = Line(number: line).tag  // never 0, which only an empty slot holds
        let probe = cache.probe(set: line) { $0.tag == tag }
        if case .hit(let slot) = probe { cache.touch(slot) }
        return probe
    }

    @inline(__always) static func fill(_ line: UInt64, in cache: inout Cache, at slot: Cache.Slot?) {
        if let slot { cache.fill(slot, with: Line(number: line)) }
    }
}
