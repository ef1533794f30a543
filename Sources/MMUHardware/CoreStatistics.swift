/// The event counters of one core (SPEC section 7), hardware and kernel alike:
/// each counts what happened on that core.
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
    public var pageFaults: UInt64 = 0
    public var demandZeroFaults: UInt64 = 0
    public var zeroPageFaults: UInt64 = 0
    public var cowCopyFaults: UInt64 = 0
    public var cowReuseFaults: UInt64 = 0
    public var segmentationFaults: UInt64 = 0
    public var outOfMemoryKills: UInt64 = 0
    public var pagesZeroed: UInt64 = 0
    public var pagesCopied: UInt64 = 0
    public var shootdowns: UInt64 = 0
    public var ipis: UInt64 = 0
    public var invlpgs: UInt64 = 0
    public var tlbFlushes: UInt64 = 0
    public var switches: UInt64 = 0
    /// Cycles this core spent initiating shootdowns (sends, local invalidation,
    /// waiting for acks; INVLPGB and TLBSYNC), for `mmusim compare`.
    public var shootdownInitiatorCycles: UInt64 = 0
    /// Cycles this core spent as a target of other cores' shootdowns (interrupt
    /// handler and invalidations, deferred ones included), for `mmusim compare`.
    public var shootdownTargetCycles: UInt64 = 0

    public init() {}

    /// Each counter with its SPEC name, in the order reports list them.
    public static var named: [(name: String, field: KeyPath<CoreStatistics, UInt64>)] { [
        ("accesses", \.accesses),
        ("tlb.l1d.hits", \.l1dHits), ("tlb.l1d.misses", \.l1dMisses),
        ("tlb.l1i.hits", \.l1iHits), ("tlb.l1i.misses", \.l1iMisses),
        ("tlb.l2.hits", \.l2Hits), ("tlb.l2.misses", \.l2Misses),
        ("walks", \.walks), ("walk.refs", \.walkRefs), ("psc.hits", \.pscHits),
        ("faults.pf", \.pageFaults), ("faults.demand_zero", \.demandZeroFaults),
        ("faults.zero_page", \.zeroPageFaults), ("faults.cow_copy", \.cowCopyFaults),
        ("faults.cow_reuse", \.cowReuseFaults), ("faults.segv", \.segmentationFaults),
        ("faults.oom", \.outOfMemoryKills),
        ("pages.zeroed", \.pagesZeroed), ("pages.copied", \.pagesCopied),
        ("shootdowns", \.shootdowns), ("ipis", \.ipis), ("invlpg", \.invlpgs),
        ("tlb.flushes", \.tlbFlushes), ("switches", \.switches),
    ] }
}
