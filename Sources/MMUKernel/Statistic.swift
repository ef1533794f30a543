import MMUHardware

/// One statistic a run reports: its name, unit and meaning, whether it is
/// kept per core (`coreN.NAME`, and a total over cores) or only for the
/// machine, and where its value comes from. Reports, `expect` lines, and
/// the reference in docs/ all come from `Statistic.all`.
public struct Statistic: Sendable {
    public enum Scope: String, Sendable {
        /// Kept per core as `coreN.NAME`; `NAME` is the total over cores.
        case perCore = "per core and total"
        /// One value for the whole machine.
        case total = "total only"
    }

    enum Source: Sendable {
        /// A hardware counter of each core.
        case hardware(KeyPath<CoreStatistics, UInt64> & Sendable)
        /// A kernel counter of each core.
        case kernel(KeyPath<KernelStatistics, UInt64> & Sendable)
        /// A core's clock; the total is the largest clock, not the sum.
        case clock
        /// A core's cycles in one category.
        case category(CycleCategory)
        /// A count of the frame allocator's.
        case frames(KeyPath<FrameAllocator, Int> & Sendable)
    }

    public let name: String
    public let unit: String
    public let meaning: String
    public let scope: Scope
    let source: Source

    init(_ name: String, _ unit: String, _ source: Source, _ meaning: String) {
        self.name = name
        self.unit = unit
        self.source = source
        self.meaning = meaning
        if case .frames = source { scope = .total } else { scope = .perCore }
    }

    /// Every statistic, in the order reports list them.
    public static let all: [Statistic] = [
        Statistic("accesses", "accesses", .hardware(\.accesses), "Accesses that completed (a SIGSEGV'd or killed one does not count); a trace record counts once whatever pages it touches."),
        Statistic("tlb.l1d.hits", "lookups", .hardware(\.l1dHits), "L1 data TLB lookups that hit (loads and stores)."),
        Statistic("tlb.l1d.hits.2m", "lookups", .hardware(\.l1dHits2M), "L1 data TLB hits on 2 MiB entries (part of tlb.l1d.hits; a fractured 4 KiB piece counts as 4 KiB)."),
        Statistic("tlb.l1d.hits.1g", "lookups", .hardware(\.l1dHits1G), "L1 data TLB hits on 1 GiB entries (part of tlb.l1d.hits)."),
        Statistic("tlb.l1d.misses", "lookups", .hardware(\.l1dMisses), "L1 data TLB lookups that missed, or found an entry that did not permit the access (dropped)."),
        Statistic("tlb.l1i.hits", "lookups", .hardware(\.l1iHits), "L1 instruction TLB lookups that hit (fetches)."),
        Statistic("tlb.l1i.misses", "lookups", .hardware(\.l1iMisses), "L1 instruction TLB lookups that missed or dropped their entry."),
        Statistic("tlb.l2.hits", "lookups", .hardware(\.l2Hits), "L2 TLB (STLB) lookups that hit, after an L1 miss."),
        Statistic("tlb.l2.hits.2m", "lookups", .hardware(\.l2Hits2M), "L2 TLB hits on 2 MiB entries (part of tlb.l2.hits)."),
        Statistic("tlb.l2.hits.1g", "lookups", .hardware(\.l2Hits1G), "L2 TLB hits on 1 GiB entries (part of tlb.l2.hits)."),
        Statistic("tlb.l2.misses", "lookups", .hardware(\.l2Misses), "L2 TLB lookups that missed or dropped their entry (each is followed by a walk)."),
        Statistic("walks", "walks", .hardware(\.walks), "Page walks, including those that ended in a #PF."),
        Statistic("walks.2m", "walks", .hardware(\.walks2M), "Walks whose last entry read was a present 2 MiB leaf (PS in a PD entry)."),
        Statistic("walks.1g", "walks", .hardware(\.walks1G), "Walks whose last entry read was a present 1 GiB leaf (PS in a PDPT entry)."),
        Statistic("walk.refs", "entries", .hardware(\.walkRefs), "Paging-structure entries the walker read from memory (levels skipped by a paging-structure-cache hit are not read)."),
        Statistic("psc.hits", "walks", .hardware(\.pscHits), "Walks that started below the root thanks to a paging-structure-cache hit."),
        Statistic("faults.pf", "faults", .hardware(\.pageFaults), "#PF exceptions delivered to the kernel."),
        Statistic("faults.demand_zero", "faults", .kernel(\.demandZeroFaults), "Faults that gave a page a fresh zeroed frame (a first write, or a write to the zero page's mapping)."),
        Statistic("faults.zero_page", "faults", .kernel(\.zeroPageFaults), "First-touch reads or fetches that mapped the shared zero frame read-only."),
        Statistic("faults.cow_copy", "faults", .kernel(\.cowCopyFaults), "Copy-on-write faults that copied the page into a new frame."),
        Statistic("faults.cow_reuse", "faults", .kernel(\.cowReuseFaults), "Copy-on-write faults where the writer held the frame's last mapping and kept it, with no copy."),
        Statistic("faults.segv", "faults", .kernel(\.segmentationFaults), "Accesses answered with SIGSEGV (no region, the region forbids it, or a non-canonical address)."),
        Statistic("faults.oom", "processes", .kernel(\.outOfMemoryKills), "Processes killed because no frame was left."),
        Statistic("faults.thp", "faults", .kernel(\.thpFaults), "Faults that allocated a transparent huge page (a first touch, or a write to the huge zero page)."),
        Statistic("faults.thp_fallback", "faults", .kernel(\.thpFallbacks), "Faults eligible for a transparent huge page that found no free order-9 block and took the 4 KiB path."),
        Statistic("faults.huge_zero_page", "faults", .kernel(\.hugeZeroPageFaults), "Read faults that mapped the huge zero page with one 2 MiB entry."),
        Statistic("thp.splits", "splits", .kernel(\.thpSplits), "2 MiB mappings split into 512 PTEs (a COW write to a shared huge page, a partial unmap or protect)."),
        Statistic("frames.free", "frames", .frames(\.freeFrames), "Frames in the free pool at this point."),
        Statistic("frames.data", "frames", .frames(\.dataFrames), "Frames mapped by processes (the zero frame excluded)."),
        Statistic("frames.pagetable", "frames", .frames(\.pageTableFrames), "Frames holding page tables."),
        Statistic("frames.pending", "frames", .frames(\.pendingFrames), "Frames unmapped or freed but held until a deferred invalidation completes."),
        Statistic("frames.reserved", "frames", .frames(\.reservedFrames), "The zero frame, and the huge zero page's 512 frames once taken. Always frames = free + data + pagetable + pending + reserved."),
        Statistic("pages.zeroed", "pages", .kernel(\.pagesZeroed), "Frames zeroed, page-table pages included (the total also counts each process's PML4, set-up work no core pays for)."),
        Statistic("pages.copied", "pages", .kernel(\.pagesCopied), "4 KiB copies (COW breaks, and every page of a `fork copy`)."),
        Statistic("shootdowns", "operations", .kernel(\.shootdowns), "Kernel operations that needed other cores to invalidate (counted on the initiator)."),
        Statistic("ipis", "interrupts", .kernel(\.ipis), "Shootdown IPIs sent (counted on the sender)."),
        Statistic("invlpg", "instructions", .hardware(\.invlpgs), "INVLPG instructions executed on any core (INVLPGB not included)."),
        Statistic("tlb.flushes", "flushes", .hardware(\.tlbFlushes), "Full flushes: CR3 writes with PCIDs off, fork's, over-ceiling ones, targets', and a broadcast full flush once on every core."),
        Statistic("switches", "switches", .kernel(\.switches), "`switch` directives, to idle and to the process already running included."),
        Statistic("cycles", "cycles", .clock, "A core's clock; the total is the largest clock, the run's length."),
    ] + CycleCategory.allCases.filter { $0 != .vm }.map(cycles)

    static func cycles(_ category: CycleCategory) -> Statistic {
        Statistic("cycles.\(category)", "cycles", .category(category), "Cycles charged under category `\(category)` (summed over cores for the total).")
    }

    /// The statistics of virtual machines, reported (after `all`) by runs
    /// that have any; a run without VMs reports exactly `all`.
    public static let virtualization: [Statistic] = [
        Statistic("walk.nested_refs", "entries", .hardware(\.walkNestedRefs), "The part of walk.refs read from nested page tables (guests' two-dimensional walks)."),
        Statistic("faults.ept", "faults", .kernel(\.eptFaults), "EPT violations the hypervisor handled (VM exits): guest accesses and guest-kernel stores the nested tables did not allow."),
        Statistic("faults.ept_demand_zero", "faults", .kernel(\.eptDemandZeroFaults), "EPT violations that backed a guest frame with a fresh zeroed host frame."),
        Statistic("faults.ept_cow_copy", "faults", .kernel(\.eptCowCopyFaults), "Host copy-on-write breaks that copied a shared host frame (after same-page merging)."),
        Statistic("faults.ept_cow_reuse", "faults", .kernel(\.eptCowReuseFaults), "Host copy-on-write breaks where the guest page held the frame's last mapping and kept it."),
        Statistic("ksm.scanned", "pages", .kernel(\.ksmScanned), "Guest pages same-page merging compared (each costs cost.ksm.page)."),
        Statistic("ksm.merged", "pages", .kernel(\.ksmMerged), "Guest pages merged into another page's host frame (a host frame freed each)."),
        cycles(.vm),
    ]

    /// The statistics a guest kernel keeps of its own, reported as `vmN.KEY`
    /// for VM N (its faults, frames and shootdowns: what its kernel counted).
    public static var guestKernel: [Statistic] {
        all.filter {
            switch $0.source {
            case .kernel, .frames: return true
            case .hardware, .clock, .category: return false
            }
        }
    }

    /// The index of each statistic of `all` and `virtualization`, by name.
    static let indexByName: [String: Int] = Dictionary(uniqueKeysWithValues: (all + virtualization).enumerated().map { ($1.name, $0) })

    /// The statistic called `name`.
    public static func named(_ name: String) -> Statistic? { indexByName[name].map { (all + virtualization)[$0] } }

    /// The statistics kept per core, in report order.
    public static var perCore: [Statistic] { all.filter { $0.scope == .perCore } }
    /// The machine-wide ones.
    public static var totalOnly: [Statistic] { all.filter { $0.scope == .total } }

    /// This statistic's value on `core`, or its total when `core` is nil
    /// (nil for a total-only statistic asked per core).
    public func value(in system: System, core: CoreID? = nil) -> UInt64? {
        let machine = system.machine, kernel = system.kernel
        func perCore(_ read: (Int) -> UInt64) -> UInt64 {
            if let core { return read(core.rawValue) }
            return Self.total(machine.cores.indices.lazy.map(read))
        }
        switch source {
        case .hardware(let field): return perCore { machine.cores[$0].statistics[keyPath: field] }
        case .kernel(let field):
            // The host's kernel and every guest's.
            var parts: [UInt64] = []
            for k in [kernel] + system.guests {
                parts.append(perCore { k.statistics[$0][keyPath: field] })
                if core == nil && field == \KernelStatistics.pagesZeroed { parts.append(k.setupPagesZeroed) }
            }
            return Self.total(parts)
        case .clock:
            if let core { return machine[core].clock }
            return machine.cores.map(\.clock).max() ?? 0
        case .category(let category): return perCore { machine.cores[$0].account[category] }
        case .frames(let field): return core == nil ? UInt64(kernel.frames[keyPath: field]) : nil
        }
    }

    /// The sum of `values`, saturating: a total over cores that would pass
    /// 2^64 - 1 stays at 2^64 - 1 (`UInt64.max`) instead of wrapping, so a
    /// report never shows a small number for a huge one (docs/robustness.md).
    /// Each core's own counters are 64-bit and would need 2^64 events to wrap.
    public static func total(_ values: some Sequence<UInt64>) -> UInt64 {
        var total: UInt64 = 0
        for value in values {
            let (sum, overflow) = total.addingReportingOverflow(value)
            total = overflow ? .max : sum
        }
        return total
    }

    /// This statistic of VM `vm`'s kernel (a `guestKernel` one), its total over cores.
    public func value(in system: System, vm: Int) -> UInt64? {
        guard system.guests.indices.contains(vm) else { return nil }
        let guest = system.guests[vm]
        switch source {
        case .kernel(let field):
            let setup = field == \KernelStatistics.pagesZeroed ? guest.setupPagesZeroed : 0
            return Self.total(guest.statistics.map { $0[keyPath: field] } + [setup])
        case .frames(let field): return UInt64(guest.frames[keyPath: field])
        case .hardware, .clock, .category: return nil
        }
    }

    /// The VM and statistic a name such as `vm0.faults.cow_copy` stands for.
    public static func resolveGuest(_ name: String) -> (vm: Int, statistic: Statistic)? {
        guard name.hasPrefix("vm"), let dot = name.firstIndex(of: ".") else { return nil }
        let digits = name[name.index(name.startIndex, offsetBy: 2)..<dot]
        guard let vm = Int(digits), vm >= 0, String(vm) == digits,
              let statistic = named(String(name[name.index(after: dot)...])),
              guestKernel.contains(where: { $0.name == statistic.name }) else { return nil }
        return (vm, statistic)
    }

    /// The statistic and core a name such as `tlb.l2.hits` or `core3.walks`
    /// stands for in a run of `cores` cores; nil when it names none.
    public static func resolve(_ name: String, cores: Int) -> (statistic: Statistic, core: CoreID?)? {
        if let statistic = named(name) { return (statistic, nil) }
        guard name.hasPrefix("core"), let dot = name.firstIndex(of: ".") else { return nil }
        let digits = name[name.index(name.startIndex, offsetBy: 4)..<dot]
        guard let core = Int(digits), core >= 0, core < cores, String(core) == digits,
              let statistic = named(String(name[name.index(after: dot)...])), statistic.scope == .perCore else { return nil }
        return (statistic, CoreID(core))
    }
}

// MARK: The reference table

extension Statistic {
    /// The Markdown table of every statistic, in report order: statistic,
    /// unit, per core or total, meaning. docs/reference/statistics.md holds a
    /// copy, which a test keeps equal to this.
    public static func referenceTable(_ statistics: [Statistic] = all + virtualization) -> String {
        MarkdownTable.render(
            [("statistic", .left), ("unit", .left), ("per core or total", .left), ("meaning", .left)],
            rows: statistics.map { ["`\($0.name)`", $0.unit, $0.scope.rawValue, $0.meaning] })
    }
}
