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

    struct Cache: Sendable {
        let sets: Int
        let ways: Int
        var lines: [UInt64]
        var lastUse: [UInt64]
        var useCounter: UInt64 = 0

        init(lines count: Int, ways: Int) {
            self.ways = max(1, min(ways, max(count, 1)))
            sets = max(1, count / self.ways)
            let slots = count == 0 ? 0 : sets * self.ways
            lines = [UInt64](repeating: UInt64.max, count: slots)
            lastUse = [UInt64](repeating: 0, count: slots)
        }

        /// Looks `line` up, refreshing it on a hit.
        mutating func lookup(_ line: UInt64) -> Bool {
            guard !lines.isEmpty else { return false }
            let base = Int(truncatingIfNeeded: line % UInt64(sets)) &* ways
            for slot in base..<(base &+ ways) where lines[slot] == line {
                useCounter &+= 1
                lastUse[slot] = useCounter
                return true
            }
            return false
        }

        mutating func fill(_ line: UInt64) {
            guard !lines.isEmpty else { return }
            let base = Int(truncatingIfNeeded: line % UInt64(sets)) &* ways
            var victim = base
            for slot in base..<(base &+ ways) {
                if lines[slot] == line { victim = slot; break }
                if lastUse[slot] < lastUse[victim] { victim = slot }
            }
            useCounter &+= 1
            lines[victim] = line
            lastUse[victim] = useCounter
        }
    }

    var l1d: Cache
    var l2: Cache
    var llc: Cache

    public init(geometry: TLBGeometry) {
        l1d = Cache(lines: geometry.pageTableLinesL1D, ways: 8)
        l2 = Cache(lines: geometry.pageTableLinesL2, ways: 16)
        llc = Cache(lines: geometry.pageTableLinesLLC, ways: 16)
    }

    /// The 64-byte line holding entry `index` of the table in `frame`.
    @inlinable public static func line(_ frame: FrameNumber, _ index: UInt64) -> UInt64 {
        (frame.rawValue << Paging.pageShift | index << 3) >> 6
    }

    /// A read of `line`: where it hit, and the line filled into the levels above.
    public mutating func read(_ line: UInt64) -> Level {
        if l1d.lookup(line) { return .l1d }
        defer { l1d.fill(line) }
        if l2.lookup(line) { return .l2 }
        defer { l2.fill(line) }
        if llc.lookup(line) { return .llc }
        llc.fill(line)
        return .dram
    }

    /// A store by the kernel brings the line into every level (no charge: the
    /// store's cost is `cost.pte.write`).
    public mutating func write(_ line: UInt64) {
        if !l1d.lookup(line) { l1d.fill(line) }
        if !l2.lookup(line) { l2.fill(line) }
        if !llc.lookup(line) { llc.fill(line) }
    }
}
