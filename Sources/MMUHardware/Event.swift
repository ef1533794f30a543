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
    /// (spans nest: an access holds its walks and faults, a fault its
    /// handler's steps). An open set: the hardware names its own spans here,
    /// the software running on it adds its own (a syscall, a switch).
    public struct Span: Hashable, Sendable {
        /// The name events and timelines show.
        public let name: String
        /// The timeline category the span is drawn in.
        public let category: String
        public init(_ name: String, category: String) {
            self.name = name
            self.category = category
        }
        /// One memory access, from its first lookup to its retirement.
        public static let access = Span("access", category: "access")
        /// One page walk.
        public static let walk = Span("walk", category: "walk")
        /// A #PF (or #GP) from delivery to the return from its handler.
        public static let pageFault = Span("page fault", category: "fault")
    }

    public enum Kind: Sendable {
        case access(AccessKind, VirtualAddress)
        case tlbHit(TLBLevel, VirtualAddress)
        case tlbMiss(TLBLevel, VirtualAddress)
        /// A matching entry that did not permit the access was dropped.
        case tlbDropped(TLBLevel, VirtualAddress)
        case pscHit(PagingLevel, VirtualAddress)
        case walkReference(PageWalker.Step)
        /// An entry of the nested page tables read during a guest's walk.
        case nestedWalkReference(PageWalker.Step)
        /// A guest access the nested tables refused: a VM exit follows.
        case eptViolation(EPTViolation)
        case walkDone(VirtualAddress, Translation, accessedDirtyBitsSet: Int)
        case pageFault(PageFaultErrorCode, cr2: VirtualAddress)
        case generalProtection(VirtualAddress)
        case invlpg(VirtualAddress, PCID)
        /// What a broadcast invalidation (INVLPGB) removed on this core.
        case broadcastInvalidation(VirtualAddress, PCID)
        case flush(PCID?)
        case cr3Write(FrameNumber, PCID)
        case accessDone(AccessKind, VirtualAddress, PhysicalAddress, UInt64)
        /// A step of the software running on the core (the emulated kernel's).
        case software(any SoftwareEvent)
        /// A charge of `cycles` under `category`, stamped with the clock before it.
        case charge(CostKey, CycleCount, CycleCategory)
        /// The clock jumped forward to meet another core (stamped before the jump).
        case wait(CycleCount)
        case begin(Span)
        case end(Span)
    }
}

/// A step of the software on the machine, typed by the software (the kernel
/// declares its own), as the event log and the timeline show it.
public protocol SoftwareEvent: Sendable {
    /// What happened, in a few words ("cow reuse", "send IPI").
    var name: String { get }
    /// The virtual address it concerns (0 when none).
    var address: VirtualAddress { get }
    /// One number that says more (a frame, a core, a PTE value).
    var detail: UInt64 { get }
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
