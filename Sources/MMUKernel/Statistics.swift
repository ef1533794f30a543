import MMUHardware

extension System {
    /// Names of the statistics that are totals only (SPEC section 7).
    public static let frameStatisticNames = ["frames.free", "frames.data", "frames.pagetable", "frames.pending"]

    /// Per-core statistic names (each also a total over cores).
    public static var coreStatisticNames: [String] {
        CoreStatistics.named.map(\.name) + ["cycles"] + CycleCategory.allCases.map { "cycles.\($0)" }
    }

    /// Every statistic name this run reports: totals, then `coreN.KEY` per core.
    public var statisticNames: [String] {
        var names = Self.coreStatisticNames
        names.insert(contentsOf: Self.frameStatisticNames, at: CoreStatistics.named.firstIndex { $0.name == "pages.zeroed" } ?? names.count)
        for c in 0..<coreCount {
            names += Self.coreStatisticNames.map { "core\(c).\($0)" }
        }
        return names
    }

    /// Whether `name` is a statistic of a run with `cores` cores.
    public static func isStatisticName(_ name: String, cores: Int) -> Bool {
        if frameStatisticNames.contains(name) || coreStatisticNames.contains(name) { return true }
        guard name.hasPrefix("core"), let dot = name.firstIndex(of: ".") else { return false }
        guard let core = Int(name[name.index(name.startIndex, offsetBy: 4)..<dot]), core >= 0, core < cores,
              String(core) == name[name.index(name.startIndex, offsetBy: 4)..<dot] else { return false }
        return coreStatisticNames.contains(String(name[name.index(after: dot)...]))
    }

    /// The value of statistic `name`, or nil for an unknown name.
    public func statistic(_ name: String) -> UInt64? {
        switch name {
        case "frames.free": return UInt64(frames.freeFrames)
        case "frames.data": return UInt64(frames.dataFrames)
        case "frames.pagetable": return UInt64(frames.pageTableFrames)
        case "frames.pending": return UInt64(frames.pendingFrames)
        case "cycles": return machine.cores.map(\.clock).max() ?? 0
        default: break
        }
        if name.hasPrefix("core"), let dot = name.firstIndex(of: "."),
           let c = Int(name[name.index(name.startIndex, offsetBy: 4)..<dot]), c >= 0, c < coreCount {
            return coreStatistic(String(name[name.index(after: dot)...]), machine.cores[c])
        }
        var total: UInt64 = name == "pages.zeroed" ? setupPagesZeroed : 0
        for core in machine.cores {
            guard let value = coreStatistic(name, core) else { return nil }
            total &+= value
        }
        return total
    }

    func coreStatistic(_ name: String, _ core: Core) -> UInt64? {
        if name == "cycles" { return core.clock }
        if name.hasPrefix("cycles."), let category = CycleCategory.allCases.first(where: { "cycles.\($0)" == name }) {
            return core.account[category]
        }
        guard let field = CoreStatistics.named.first(where: { $0.name == name })?.field else { return nil }
        return core.statistics[keyPath: field]
    }
}

extension System {
    /// Checks the kernel's invariants and returns each violation found (empty
    /// when sound). Slow: for tests and `--check`, never the access path.
    ///
    /// - every data frame's reference count equals the PTEs mapping it;
    /// - every page-table frame is reachable from exactly one live process;
    /// - frames = free + data + pagetable + pending + 1;
    /// - no writable PTE maps a frame another PTE maps too (or the zero frame);
    /// - every present leaf lies in a region that allows what it grants;
    /// - per core, the cycle categories add up to the clock.
    public func invariantViolations() -> [String] {
        var problems: [String] = []
        var mappings = [Int](repeating: 0, count: frames.frameCount)
        var tableOwners = [Int](repeating: 0, count: frames.frameCount)
        var writable: [(FrameNumber, Int, UInt64)] = []
        for (p, space) in processes.enumerated() where space.isAlive {
            tableOwners[space.pml4.index] += 1
            func scan(_ table: FrameNumber, _ level: PagingLevel, _ basePage: UInt64) {
                let pagesPerEntry: UInt64 = 1 << (level.indexShift - Paging.pageShift)
                machine.memory.forEachPresentEntry(in: table) { index, entry in
                    let page = basePage + index * pagesPerEntry
                    guard entry.frame.rawValue < UInt64(frames.frameCount) else {
                        problems.append("process#\(p): entry for page \(hex(page)) points outside memory"); return
                    }
                    if level == .pt {
                        mappings[entry.frame.index] += 1
                        if entry.has(.writable) { writable.append((entry.frame, p, page)) }
                        if let region = space.regions.region(containing: page) {
                            if entry.has(.writable) && !region.permissions.contains(.write) {
                                problems.append("process#\(p): page \(hex(page << 12)) writable in a \(region.permissions) region")
                            }
                        } else {
                            problems.append("process#\(p): page \(hex(page << 12)) mapped outside every region")
                        }
                    } else if let below = level.below {
                        tableOwners[entry.frame.index] += 1
                        scan(entry.frame, below, page)
                    }
                }
            }
            scan(space.pml4, .pml4, 0)
        }
        var data = 0, tables = 0
        for f in 0..<frames.frameCount {
            let frame = FrameNumber(UInt64(f))
            switch frames.use(of: frame) {
            case .data:
                data += 1
                if frames.referenceCount(frame) != mappings[f] {
                    problems.append("frame \(f): reference count \(frames.referenceCount(frame)) but \(mappings[f]) PTEs map it")
                }
            case .pageTable:
                tables += 1
                if tableOwners[f] != 1 { problems.append("page-table frame \(f) is referenced \(tableOwners[f]) times") }
            case .free, .pending:
                if mappings[f] != 0 { problems.append("frame \(f) is \(frames.use(of: frame)) but \(mappings[f]) PTEs map it") }
                if tableOwners[f] != 0 { problems.append("frame \(f) is \(frames.use(of: frame)) but used as a page table") }
            case .zeroPage:
                if tableOwners[f] != 0 { problems.append("the zero frame is used as a page table") }
            }
        }
        if data != frames.dataFrames { problems.append("frames.data is \(frames.dataFrames) but \(data) frames hold data") }
        if tables != frames.pageTableFrames { problems.append("frames.pagetable is \(frames.pageTableFrames) but \(tables) frames are tables") }
        if frames.freeFrames + frames.dataFrames + frames.pageTableFrames + frames.pendingFrames + 1 != frames.frameCount {
            problems.append("frames do not add up: free \(frames.freeFrames) + data \(frames.dataFrames) + pagetable \(frames.pageTableFrames) + pending \(frames.pendingFrames) + 1 != \(frames.frameCount)")
        }
        for (frame, p, page) in writable where frame == .zeroPage || mappings[frame.index] > 1 {
            problems.append("process#\(p): page \(hex(page << 12)) is writable but its frame \(frame.rawValue) is shared (\(mappings[frame.index]) mappings)")
        }
        for core in machine.cores {
            let sum = CycleCategory.allCases.reduce(0) { $0 + core.account[$1] }
            if sum != core.clock { problems.append("\(core.id): categories add up to \(sum), clock is \(core.clock)") }
        }
        return problems
    }
}
