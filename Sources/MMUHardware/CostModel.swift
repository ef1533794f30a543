/// The categories every charged cycle falls in (SPEC section 6).
public enum CycleCategory: Int, CaseIterable, Sendable, CustomStringConvertible {
    case access, tlb, walk, fault, kernel, zero, copy, shootdown, `switch`, wait
    public var description: String {
        switch self {
        case .access: return "access"
        case .tlb: return "tlb"
        case .walk: return "walk"
        case .fault: return "fault"
        case .kernel: return "kernel"
        case .zero: return "zero"
        case .copy: return "copy"
        case .shootdown: return "shootdown"
        case .switch: return "switch"
        case .wait: return "wait"
        }
    }
}

/// One priced step of the model: each `cost.*` key of SPEC section 6.
public enum CostKey: Int, CaseIterable, Sendable, CustomStringConvertible {
    case access
    case tlbL1, tlbL2
    case walkPSC, walkRef, walkAD
    case faultEntry, faultExit
    case kernelFault
    case frameAlloc, frameZero, frameCopy
    case pteWrite
    case invlpg, tlbFlush
    case syscall
    case forkPTE
    case contextSwitch
    case ipiSend, ipiLatency, ipiHandler
    case invlpgb, tlbsync

    /// The configuration key, as SPEC section 6 names it.
    public var name: String {
        switch self {
        case .access: return "cost.access"
        case .tlbL1: return "cost.tlb.l1"
        case .tlbL2: return "cost.tlb.l2"
        case .walkPSC: return "cost.walk.psc"
        case .walkRef: return "cost.walk.ref"
        case .walkAD: return "cost.walk.ad"
        case .faultEntry: return "cost.fault.entry"
        case .faultExit: return "cost.fault.exit"
        case .kernelFault: return "cost.kernel.fault"
        case .frameAlloc: return "cost.frame.alloc"
        case .frameZero: return "cost.frame.zero"
        case .frameCopy: return "cost.frame.copy"
        case .pteWrite: return "cost.pte.write"
        case .invlpg: return "cost.invlpg"
        case .tlbFlush: return "cost.tlb.flush"
        case .syscall: return "cost.syscall"
        case .forkPTE: return "cost.fork.pte"
        case .contextSwitch: return "cost.switch"
        case .ipiSend: return "cost.ipi.send"
        case .ipiLatency: return "cost.ipi.latency"
        case .ipiHandler: return "cost.ipi.handler"
        case .invlpgb: return "cost.invlpgb"
        case .tlbsync: return "cost.tlbsync"
        }
    }
    public var description: String { name }

    /// The category a charge of this key is filed under when a core does the
    /// work for itself (a target invalidating for another core files its
    /// INVLPG and flush under `shootdown` instead).
    public var category: CycleCategory {
        switch self {
        case .access: return .access
        case .tlbL1, .tlbL2: return .tlb
        case .walkPSC, .walkRef, .walkAD: return .walk
        case .faultEntry, .faultExit: return .fault
        case .kernelFault, .frameAlloc, .pteWrite, .syscall, .forkPTE, .invlpg, .tlbFlush: return .kernel
        case .frameZero: return .zero
        case .frameCopy: return .copy
        case .contextSwitch: return .switch
        case .ipiSend, .ipiLatency, .ipiHandler, .invlpgb, .tlbsync: return .shootdown
        }
    }

    /// The key a configuration name stands for.
    public init?(name: String) {
        guard let key = CostKey.allCases.first(where: { $0.name == name }) else { return nil }
        self = key
    }
}

/// Cycles of every priced step: the one cost model all charges go through.
///
/// The defaults are provisional figures for a Skylake-class core; docs/cost-model.md
/// gives each its source and the issue that will replace them with cited presets.
public struct CostModel: Hashable, Sendable {
    private var cycles: [CycleCount]

    public init() {
        cycles = CostKey.allCases.map(CostModel.defaultCycles)
    }

    @inlinable public subscript(key: CostKey) -> CycleCount {
        get { value(key) }
        set { setValue(key, newValue) }
    }

    @usableFromInline func value(_ key: CostKey) -> CycleCount { cycles[key.rawValue] }
    @usableFromInline mutating func setValue(_ key: CostKey, _ value: CycleCount) { cycles[key.rawValue] = value }

    /// The provisional default of each key (see docs/cost-model.md).
    public static func defaultCycles(_ key: CostKey) -> CycleCount {
        switch key {
        case .access: return 4
        case .tlbL1: return 1
        case .tlbL2: return 9
        case .walkPSC: return 1
        case .walkRef: return 20
        case .walkAD: return 10
        case .faultEntry: return 150
        case .faultExit: return 100
        case .kernelFault: return 500
        case .frameAlloc: return 200
        case .frameZero: return 300
        case .frameCopy: return 500
        case .pteWrite: return 5
        case .invlpg: return 200
        case .tlbFlush: return 500
        case .syscall: return 100
        case .forkPTE: return 20
        case .contextSwitch: return 2000
        case .ipiSend: return 300
        case .ipiLatency: return 1500
        case .ipiHandler: return 800
        case .invlpgb: return 100
        case .tlbsync: return 1000
        }
    }
}

/// A core's clock and the categories it is split into.
///
/// Every charge goes through `charge`, which files it under its category, so
/// the categories add up to the clock by construction.
public struct CycleAccount: Sendable {
    public private(set) var clock: CycleCount = 0
    private var byCategory = [CycleCount](repeating: 0, count: CycleCategory.allCases.count)

    public init() {}

    @inlinable public mutating func charge(_ cycles: CycleCount, to category: CycleCategory) {
        add(cycles, category)
    }
    @usableFromInline mutating func add(_ cycles: CycleCount, _ category: CycleCategory) {
        clock &+= cycles
        byCategory[category.rawValue] &+= cycles
    }

    /// Moves the clock forward to `time` (if it is behind), filing the gap as `wait`.
    public mutating func wait(until time: CycleCount) {
        if time > clock { add(time - clock, .wait) }
    }

    public subscript(category: CycleCategory) -> CycleCount { byCategory[category.rawValue] }
}
