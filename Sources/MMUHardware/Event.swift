/// One step of the emulation, stamped with the clock of the core it happened on.
/// Recorded only while event logging is on (`mmusim run --events`).
public struct Event: Sendable {
    public var core: CoreID
    public var clock: CycleCount
    public var kind: Kind

    public init(core: CoreID, clock: CycleCount, kind: Kind) {
        self.core = core
        self.clock = clock
        self.kind = kind
    }

    public enum TLBLevel: String, Sendable { case l1d, l1i, l2 }

    /// A stretch of one core's time that encloses the charges made inside it
    /// (spans nest: an access holds its walks and faults, a fault its handler's steps).
    public enum Span: String, Sendable {
        case access, walk
        case pageFault = "page fault"
        case syscall, contextSwitch = "context switch", tick
        case shootdown
        case ipiHandler = "IPI handler"
        case deferredInvalidation = "deferred invalidation"
    }

    public enum Kind: Sendable {
        case access(AccessKind, VirtualAddress)
        case tlbHit(TLBLevel, VirtualAddress)
        case tlbMiss(TLBLevel, VirtualAddress)
        /// A matching entry that did not permit the access was dropped.
        case tlbDropped(TLBLevel, VirtualAddress)
        case pscHit(PagingLevel, VirtualAddress)
        case walkReference(PageWalker.Step)
        case walkDone(VirtualAddress, Translation, accessedDirtyBitsSet: Int)
        case pageFault(PageFaultErrorCode, cr2: VirtualAddress)
        case generalProtection(VirtualAddress)
        case invlpg(VirtualAddress, PCID)
        case flush(PCID?)
        case cr3Write(FrameNumber, PCID)
        case accessDone(AccessKind, VirtualAddress, PhysicalAddress, UInt64)
        /// A step of the emulated kernel (named by the kernel).
        case kernel(StaticString, VirtualAddress, UInt64)
        /// A charge of `cycles` under `category`, stamped with the clock before it.
        case charge(CostKey, CycleCount, CycleCategory)
        /// The clock jumped forward to meet another core (stamped before the jump).
        case wait(CycleCount)
        case begin(Span)
        case end(Span)
    }
}

/// Events of one core, in order. Costs one branch per call site when off.
public struct EventLog: Sendable {
    public var isEnabled: Bool
    public private(set) var events: [Event] = []

    public init(enabled: Bool = false) { isEnabled = enabled }

    @inlinable public mutating func record(_ core: CoreID, _ clock: CycleCount, _ kind: @autoclosure () -> Event.Kind) {
        if isEnabled { append(Event(core: core, clock: clock, kind: kind())) }
    }
    @usableFromInline mutating func append(_ event: Event) { events.append(event) }

    /// Hands over the events recorded so far and starts afresh.
    public mutating func drain() -> [Event] {
        defer { events.removeAll(keepingCapacity: true) }
        return events
    }
}
