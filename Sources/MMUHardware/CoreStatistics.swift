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
    /// L1D hits on 2 MiB and 1 GiB entries, L2 hits on them (parts of the hits).
    public var l1dHits2M: UInt64 = 0
    public var l1dHits1G: UInt64 = 0
    public var l2Hits2M: UInt64 = 0
    public var l2Hits1G: UInt64 = 0
    public var walks: UInt64 = 0
    public var walkRefs: UInt64 = 0
    /// The part of `walkRefs` read from nested page tables (guests only).
    public var walkNestedRefs: UInt64 = 0
    public var pscHits: UInt64 = 0
    /// Walks whose last entry read was a present 2 MiB or 1 GiB leaf.
    public var walks2M: UInt64 = 0
    public var walks1G: UInt64 = 0
    /// #PF exceptions delivered to the operating system.
    public var pageFaults: UInt64 = 0
    /// INVLPG instructions (not INVLPGB).
    public var invlpgs: UInt64 = 0
    /// Full flushes of non-global entries: CR3 writes with PCIDs off, INVPCID
    /// single-context, and a broadcast full flush as each core sees it.
    public var tlbFlushes: UInt64 = 0

    public init() {}
}
