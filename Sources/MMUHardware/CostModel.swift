/// The categories every charged cycle falls in (docs/reference/cycle-accounting.md).
public enum CycleCategory: Int, CaseIterable, Sendable, CustomStringConvertible {
    case access, tlb, walk, fault, kernel, zero, copy, shootdown, `switch`, wait
    /// VM exits, entries and switches between virtual machines (`cost.vm.*`).
    case vm
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
        case .vm: return "vm"
        }
    }
}

/// One priced step of the model: each `cost.*` key of docs/reference/cycle-accounting.md.
public enum CostKey: Int, CaseIterable, Sendable, CustomStringConvertible {
    case access
    case tlbL1, tlbL2
    case walkPSC, walkRef, walkAD
    case walkL1D, walkL2, walkLLC, walkDRAM
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
    case thpSplit
    case vmExit, vmEntry, vmSwitch
    case invept
    case ksmPage

    /// The configuration key, as docs/reference/cycle-accounting.md names it.
    public var name: String {
        switch self {
        case .access: return "cost.access"
        case .tlbL1: return "cost.tlb.l1"
        case .tlbL2: return "cost.tlb.l2"
        case .walkPSC: return "cost.walk.psc"
        case .walkRef: return "cost.walk.ref"
        case .walkAD: return "cost.walk.ad"
        case .walkL1D: return "cost.walk.l1d"
        case .walkL2: return "cost.walk.l2"
        case .walkLLC: return "cost.walk.llc"
        case .walkDRAM: return "cost.walk.dram"
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
        case .thpSplit: return "cost.thp.split"
        case .vmExit: return "cost.vm.exit"
        case .vmEntry: return "cost.vm.entry"
        case .vmSwitch: return "cost.vm.switch"
        case .invept: return "cost.invept"
        case .ksmPage: return "cost.ksm.page"
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
        case .walkPSC, .walkRef, .walkAD, .walkL1D, .walkL2, .walkLLC, .walkDRAM: return .walk
        case .faultEntry, .faultExit: return .fault
        case .kernelFault, .frameAlloc, .pteWrite, .syscall, .forkPTE, .invlpg, .tlbFlush, .thpSplit, .invept, .ksmPage:
            return .kernel
        case .vmExit, .vmEntry, .vmSwitch: return .vm
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
///
/// The cycles sit in fixed-size inline storage indexed by `CostKey.rawValue`:
/// a charge reads one word at a constant offset, with no heap buffer to reach
/// through (docs/performance.md).
public struct CostModel: Hashable, Sendable {
    @usableFromInline var cycles: InlineArray<33, CycleCount>
    /// True once `cost.walk.ref` is set: every page-table reference then costs
    /// exactly that (docs/reference/cycle-accounting.md). Otherwise a reference costs what the level of the
    /// page-table line cache it hits costs (`cost.walk.l1d` ... `cost.walk.dram`).
    public private(set) var flatWalkReference = false

    public init() {
        precondition(CostKey.allCases.count == 33, "CostModel's storage holds one word per CostKey")
        cycles = InlineArray { CostModel.defaultCycles(CostKey(rawValue: $0)!) }
    }

    @inlinable public subscript(key: CostKey) -> CycleCount {
        get { cycles[key.rawValue] }
        set { setValue(key, newValue) }
    }

    @usableFromInline mutating func setValue(_ key: CostKey, _ value: CycleCount) {
        cycles[key.rawValue] = value
        if key == .walkRef { flatWalkReference = true }
    }

    public static func == (a: CostModel, b: CostModel) -> Bool {
        a.flatWalkReference == b.flatWalkReference && CostKey.allCases.allSatisfy { a[$0] == b[$0] }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(flatWalkReference)
        for key in CostKey.allCases { hasher.combine(self[key]) }
    }

    /// The provisional default of each key (see docs/cost-model.md).
    public static func defaultCycles(_ key: CostKey) -> CycleCount {
        switch key {
        case .access: return 4             // [IntelOpt] Skylake L1D load-to-use latency, 4 cycles (DTLB hit included)
        case .tlbL1: return 0              // [IntelOpt] L1 DTLB/ITLB looked up in parallel with L1D; no cycles beyond cost.access
        case .tlbL2: return 9              // [TMA] Mem_STLB_Hit_Cost = 9 cycles on Skylake (ITLB-side STLB hit: 14)
        case .walkPSC: return 2            // [PCWatch13] STLB-miss walk with upper levels cached ~8 cycles over STLB hit, minus one cost.walk.ref
        case .walkRef: return 6            // [IntelOpt] PT read hitting L1D (4) + walker steps; 4 refs = 24 cycles (20-30); later issue models where PT reads hit
        case .walkL1D: return 5            // [IntelOpt] L1D load-to-use 4-5 cycles; one walker step
        case .walkL2: return 14            // [IntelOpt] Skylake L2 hit 14 cycles
        case .walkLLC: return 50           // [IntelOpt] Skylake L3 hit ~40-70 cycles depending on slice distance
        case .walkDRAM: return 250         // [IntelOpt] ~80 ns loaded DRAM latency at 3 GHz
        case .walkAD: return 9             // [TMA-ICX][Perfmon] A/D set by microcode assist: TMA 4.8 Avg_Assist_Cost 34 slots / 4-wide = 8.5
        case .faultEntry: return 770       // [Shan19][DF25] #PF delivery 440-461 cycles (~450) + kernel entry state save ~320
        case .faultExit: return 320        // [DF25][Shan19] state restore ~60 + IRET 255-270 (~260)
        case .kernelFault: return 460      // [DF25] VMA lookup 158 + fault handling 308, less the PTE write charged separately
        case .frameAlloc: return 250       // [Brouer16][Brouer23] order-0 alloc_pages+free 143-272 cycles; 246 most recent
        case .frameZero: return 1300       // [Arora22] REP STOSB in 4 KiB chunks 9.4 GB/s -> 434 ns -> 1300 cycles @ 3 GHz (cold frame)
        case .frameCopy: return 2600       // [Arora22] derived: copy moves 2x the bytes of a zero (read + write of 4 KiB), 2 x 1300
        case .pteWrite: return 5           // [IntelOpt] one 8-byte store to a cache-hot PTE line, ~L1D latency (4 cycles)
        case .invlpg: return 260           // [Molnar15] __flush_tlb_one 260 cycles; [Hansen14] ~227/page; [LinuxTLB] ~100 ns = 300
        case .tlbFlush: return 100         // [Molnar15] __flush_tlb (CR3 reload) 96 cycles; refill cost comes from simulated misses
        case .syscall: return 300          // estimate: entry/exit ~100 ns; [DF25] kernel save+restore ~380 is an upper bound (see doc)
        case .forkPTE: return 100          // estimate: 3 locked RMWs ~19 each [uopsinfo] + struct page line from L3 44 [IntelOpt]
        case .contextSwitch: return 3000   // estimate: ~1 us direct switch cost @ 3 GHz (see doc; no Skylake figure verified)
        case .ipiSend: return 250          // [IntelForumC2C] cross-core line transfer ~40 ns = 120 cycles + locked RMW + ICR write (derived)
        case .ipiLatency: return 350       // [Amit19] 1-target shootdown adds 775 ns = 2325 cycles; remainder after send+handler+INVLPG, halved
        case .ipiHandler: return 1100      // [Shan19][DF25] interrupt delivery ~450 + save ~320 + restore/IRET ~320 (as for #PF)
        case .invlpgb: return 100          // [AMDAPM3][vanRiel25] asynchronous broadcast, issue cost below local INVLPG (estimate)
        case .tlbsync: return 600          // [vanRiel25] estimate between one core-to-core round trip (~240) and an IPI round trip (~2300)
        case .thpSplit: return 32000       // [Calib26] measured here: child write after fork (split + 4 KiB copy) 14.1-14.7 us at 3 GHz, less the model of everything else (docs/calibration.md)
        case .vmExit: return 650           // [Dall16] half of the 1,300-cycle x86 KVM hypercall round trip
        case .vmEntry: return 650          // [Dall16] the other half of the round trip
        case .vmSwitch: return 2000        // estimate: VMPTRLD and guest state load, on top of cost.switch (docs/cost-model.md)
        case .invept: return 600           // estimate: INVEPT single-context, between INVLPG (260) and a flush with its refills [SDM3C] 29.4.3
        case .ksmPage: return 1500         // [Arcangeli09] KSM compares a page (memcmp of 4 KiB against a tree node) and checksums it: ~0.5 us at 3 GHz (estimate, see doc)
        }
    }
}

/// A core's clock and the categories it is split into.
///
/// Every charge goes through `charge`, which files it under its category, so
/// the categories add up to the clock by construction.
public struct CycleAccount: Sendable {
    @usableFromInline var total: CycleCount = 0
    /// Cycles per category, indexed by `CycleCategory.rawValue`, stored inline.
    @usableFromInline var byCategory = InlineArray<11, CycleCount>(repeating: 0)

    public init() {
        precondition(CycleCategory.allCases.count == 11, "CycleAccount's storage holds one word per CycleCategory")
    }

    /// The core's clock: the sum of every category.
    @inlinable public var clock: CycleCount { total }

    @inlinable public mutating func charge(_ cycles: CycleCount, to category: CycleCategory) {
        total &+= cycles
        byCategory[category.rawValue] &+= cycles
    }

    /// Moves the clock forward to `time` (if it is behind), filing the gap as `wait`.
    public mutating func wait(until time: CycleCount) {
        if time > clock { charge(time - clock, to: .wait) }
    }

    @inlinable public subscript(category: CycleCategory) -> CycleCount { byCategory[category.rawValue] }
}
