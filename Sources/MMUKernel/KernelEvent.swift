import MMUHardware

/// The system calls a trace issues, as the event log names them.
public enum SystemCall: String, Sendable {
    case map, unmap, protect, madvise, fork, exit
}

/// A step of the emulated kernel, recorded in the event log of the core it
/// ran on (beside the hardware's own events) while logging is on.
public enum KernelEvent: SoftwareEvent, Equatable {
    case syscall(SystemCall, VirtualAddress, pages: UInt64)
    case contextSwitch(to: ProcessID?)
    case allocateFrame(FrameNumber)
    case zeroFrame(FrameNumber)
    case zeroFrames(FrameNumber, count: UInt64)
    case mapHugePage(VirtualAddress, FrameNumber)
    case mapHugeZeroPage(VirtualAddress)
    /// An eligible fault found no order-9 block: 4 KiB instead.
    case hugePageFallback(VirtualAddress)
    case splitHugePage(VirtualAddress)
    case copyFrame(into: FrameNumber, for: VirtualAddress)
    case pteWrite(VirtualAddress, PageTableEntry)
    case mapZeroPage(VirtualAddress)
    case copyOnWriteReuse(VirtualAddress, FrameNumber)
    /// A #PF on an entry that already allows the access (a stale translation).
    case spuriousFault(VirtualAddress, PageTableEntry)
    /// SIGSEGV delivered; the error code (0 for a #GP).
    case segmentationFault(VirtualAddress, errorCode: UInt32)
    /// The handler returned and the access is retried.
    case retry(VirtualAddress)
    case outOfMemoryKill(ProcessID)
    case sendIPI(to: CoreID)
    case ipiTaken(from: CoreID)
    case ackSent(to: CoreID)
    case acksReceived(count: Int)
    case broadcastInvalidation(pages: UInt64)
    case deferredInvalidationQueued(by: CoreID)

    public var name: String {
        switch self {
        case .syscall(let call, _, _): return "syscall \(call.rawValue)"
        case .contextSwitch: return "switch"
        case .allocateFrame: return "alloc frame"
        case .zeroFrame: return "zero frame"
        case .zeroFrames: return "zero frames"
        case .mapHugePage: return "map huge page"
        case .mapHugeZeroPage: return "map huge zero page"
        case .hugePageFallback: return "huge page fallback"
        case .splitHugePage: return "split huge page"
        case .copyFrame: return "copy frame"
        case .pteWrite: return "pte write"
        case .mapZeroPage: return "map zero page"
        case .copyOnWriteReuse: return "cow reuse"
        case .spuriousFault: return "spurious fault"
        case .segmentationFault: return "SIGSEGV"
        case .retry: return "retry"
        case .outOfMemoryKill: return "OOM kill"
        case .sendIPI: return "send IPI"
        case .ipiTaken: return "IPI taken"
        case .ackSent: return "ack sent"
        case .acksReceived: return "acks received"
        case .broadcastInvalidation: return "INVLPGB+TLBSYNC"
        case .deferredInvalidationQueued: return "deferred invalidation queued"
        }
    }

    public var address: VirtualAddress {
        switch self {
        case .mapHugePage(let va, _), .mapHugeZeroPage(let va), .hugePageFallback(let va), .splitHugePage(let va):
            return va
        case .syscall(_, let va, _), .copyFrame(_, let va), .pteWrite(let va, _), .mapZeroPage(let va),
             .copyOnWriteReuse(let va, _), .spuriousFault(let va, _), .segmentationFault(let va, _), .retry(let va):
            return va
        default:
            return VirtualAddress(0)
        }
    }

    public var detail: UInt64 {
        switch self {
        case .syscall(_, _, let pages): return pages
        case .contextSwitch(let process): return process.map { UInt64($0.rawValue) } ?? 0xFFFF
        case .allocateFrame(let frame), .zeroFrame(let frame), .copyFrame(let frame, _), .copyOnWriteReuse(_, let frame),
             .mapHugePage(_, let frame):
            return frame.rawValue
        case .zeroFrames(_, let count): return count
        case .mapHugeZeroPage, .hugePageFallback, .splitHugePage: return 0
        case .pteWrite(_, let entry), .spuriousFault(_, let entry): return entry.rawValue
        case .segmentationFault(_, let code): return UInt64(code)
        case .mapZeroPage, .retry: return 0
        case .outOfMemoryKill(let process): return UInt64(process.rawValue)
        case .sendIPI(let core), .ipiTaken(let core), .ackSent(let core), .deferredInvalidationQueued(let core):
            return UInt64(core.rawValue)
        case .acksReceived(let count): return UInt64(count)
        case .broadcastInvalidation(let pages): return pages
        }
    }
}

/// The spans of a core's time the kernel opens.
extension Event.Span {
    public static let syscall = Event.Span("syscall", category: "kernel")
    public static let contextSwitch = Event.Span("context switch", category: "switch")
    public static let tick = Event.Span("tick", category: "kernel")
    public static let shootdown = Event.Span("shootdown", category: "shootdown")
    public static let ipiHandler = Event.Span("IPI handler", category: "shootdown")
    public static let deferredInvalidation = Event.Span("deferred invalidation", category: "shootdown")
}

extension Machine {
    /// Records a kernel step in `core`'s event log (when logging is on).
    mutating func note(_ event: @autoclosure () -> KernelEvent, on core: CoreID) {
        if self[core].isLogging { self[core].note(.software(event())) }
    }
}
