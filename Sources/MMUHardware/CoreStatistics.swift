/// What one core's hardware counted (its performance counters, in effect):
/// lookups, walks, #PF deliveries, invalidations. The kernel keeps its own
/// counters apart.
public struct CoreStatistics: Hashable, Sendable {
    public var accesses: UInt64 = 0
    public var l1dHits: UInt64 = 0
    public var l1dMisses: UInt64 = 0
    public var l1iHits: UInt64 = 0
    public var l1iMisses: UInt64 = 0
    public var l2Hits: UInt64 = 0
    public var l2Misses: UInt64 = 0
    public var walks: UInt64 = 0
    public var walkRefs: UInt64 = 0
    public var pscHits: UInt64 = 0
    /// #PF exceptions delivered to the operating system.
    public var pageFaults: UInt64 = 0
    /// INVLPG instructions (not INVLPGB).
    public var invlpgs: UInt64 = 0
    /// Full flushes of non-global entries: CR3 writes with PCIDs off, INVPCID
    /// single-context, and a broadcast full flush as each core sees it.
    public var tlbFlushes: UInt64 = 0

    public init() {}
}
