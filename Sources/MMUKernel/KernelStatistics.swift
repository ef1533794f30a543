/// What the kernel counted on one core: the faults it handled by kind, the
/// frames it zeroed and copied, the shootdowns it ran, the switches it made.
public struct KernelStatistics: Hashable, Sendable {
    public var demandZeroFaults: UInt64 = 0
    public var zeroPageFaults: UInt64 = 0
    public var cowCopyFaults: UInt64 = 0
    public var cowReuseFaults: UInt64 = 0
    public var segmentationFaults: UInt64 = 0
    public var outOfMemoryKills: UInt64 = 0
    /// Huge pages allocated at fault (a first touch, or a write to the huge zero page).
    public var thpFaults: UInt64 = 0
    /// Eligible faults that found no order-9 block and took 4 KiB.
    public var thpFallbacks: UInt64 = 0
    public var hugeZeroPageFaults: UInt64 = 0
    public var thpSplits: UInt64 = 0
    public var pagesZeroed: UInt64 = 0
    public var pagesCopied: UInt64 = 0
    /// Kernel operations that needed other cores to invalidate.
    public var shootdowns: UInt64 = 0
    public var ipis: UInt64 = 0
    public var switches: UInt64 = 0
    /// Cycles this core spent initiating shootdowns (sends, local invalidation,
    /// waiting for acks; INVLPGB and TLBSYNC), for `mmusim compare`.
    public var shootdownInitiatorCycles: UInt64 = 0
    /// Cycles this core spent as a target of other cores' shootdowns (interrupt
    /// handler and invalidations, deferred ones included), for `mmusim compare`.
    public var shootdownTargetCycles: UInt64 = 0
    /// The hypervisor's counts (the host kernel's only): EPT violations
    /// handled, by outcome, and same-page merging.
    public var eptFaults: UInt64 = 0
    public var eptDemandZeroFaults: UInt64 = 0
    public var eptCowCopyFaults: UInt64 = 0
    public var eptCowReuseFaults: UInt64 = 0
    public var ksmScanned: UInt64 = 0
    public var ksmMerged: UInt64 = 0

    public init() {}
}
