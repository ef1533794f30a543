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

    /// One level: `sets * ways` slots, each a line number and its LRU stamp
    /// side by side; the set index is a mask when `sets` is a power of two.
    struct Cache: Sendable {
        struct Slot: Sendable {
            /// The line held, or `UInt64.max` when empty.
            var line = UInt64.max
            /// LRU age: larger is more recent; 0 in a slot never filled.
            var lastUse: UInt64 = 0
        }

        let sets: Int
        let ways: Int
        private let setMask: UInt64
        private let setsArePowerOfTwo: Bool
        var slots: [Slot]
        var useCounter: UInt64 = 0

        init(lines count: Int, ways: Int) {
            self.ways = max(1, min(ways, max(count, 1)))
            sets = max(1, count / self.ways)
            setsArePowerOfTwo = sets & (sets - 1) == 0
            setMask = setsArePowerOfTwo ? UInt64(sets - 1) : 0
            slots = [Slot](repeating: Slot(), count: count == 0 ? 0 : sets * self.ways)
        }

        @inline(__always) private func setBase(_ line: UInt64) -> Int {
            let set = setsArePowerOfTwo ? line & setMask : line % UInt64(sets)
            return Int(truncatingIfNeeded: set) &* ways
        }

        /// What `probe` returns on a hit.
        static let hit = -1
        /// What `probe` returns for a level with no lines: a miss with nothing to fill.
        static let absent = -2

        /// Looks `line` up. On a hit the line becomes the most recent and the
        /// result is `hit`; on a miss the result is the slot a fill of `line`
        /// would take (the first least recently used slot of its set), or
        /// `absent` when the level holds no lines.
        @inline(__always) mutating func probe(_ line: UInt64) -> Int {
            guard !slots.isEmpty else { return Self.absent }
            let base = setBase(line)
            let ways = ways
            let (hit, victim) = slots.withUnsafeBufferPointer { buffer in
                var victim = base
                var victimUse = buffer[base].lastUse
                var slot = base
                let end = base &+ ways
                while slot < end {
                    let s = buffer[slot]
                    if s.line == line { return (slot, victim) }
                    if s.lastUse < victimUse { victimUse = s.lastUse; victim = slot }
                    slot &+= 1
                }
                return (-1, victim)
            }
            guard hit < 0 else {
                useCounter &+= 1
                slots[hit].lastUse = useCounter
                return Self.hit
            }
            return victim
        }

        /// Puts `line` in `slot`, a victim `probe` returned (nothing for `absent`).
        @inline(__always) mutating func fill(_ line: UInt64, at slot: Int) {
            guard slot >= 0 else { return }
            useCounter &+= 1
            slots[slot] = Slot(line: line, lastUse: useCounter)
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
    ///
    /// Each level is searched once: a miss remembers the victim slot, and the
    /// fill (after the levels below answered) goes there. The fill order is
    /// the levels' own order of misses reversed, LLC first, as before.
    public mutating func read(_ line: UInt64) -> Level {
        let v1 = l1d.probe(line)
        if v1 == Cache.hit { return .l1d }
        let v2 = l2.probe(line)
        let level: Level
        if v2 == Cache.hit {
            level = .l2
        } else {
            let v3 = llc.probe(line)
            if v3 == Cache.hit { level = .llc } else { llc.fill(line, at: v3); level = .dram }
            l2.fill(line, at: v2)
        }
        l1d.fill(line, at: v1)
        return level
    }

    /// A store by the kernel brings the line into every level (no charge: the
    /// store's cost is `cost.pte.write`).
    public mutating func write(_ line: UInt64) {
        l1d.fill(line, at: l1d.probe(line))
        l2.fill(line, at: l2.probe(line))
        llc.fill(line, at: llc.probe(line))
    }
}
