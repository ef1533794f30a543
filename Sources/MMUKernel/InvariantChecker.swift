import MMUHardware

extension System {
    /// Checks the kernel's invariants and returns each violation found (empty
    /// when sound). Slow: for tests and checks, never the access path.
    ///
    /// - every data frame's reference count equals the PTEs mapping it;
    /// - every page-table frame is reachable from exactly one live process;
    /// - frames = free + data + pagetable + pending + reserved;
    /// - no writable PTE maps a frame another PTE maps too (or the zero frame);
    /// - every present leaf lies in a region that allows what it grants;
    /// - per core, the cycle categories add up to the clock.
    ///
    /// With VMs the host's frames are checked with the nested tables as one
    /// more owner of tables and mappings (a nested leaf maps its host frame,
    /// and one that is writable must not share it), and each guest's kernel
    /// is checked the same way on its own guest-physical frames.
    public func invariantViolations() -> [String] {
        var problems = Self.invariantViolations(of: kernel, tables: machine.memory, nested: kernel.hypervisor.machines.map(\.controls))
        for (vm, guest) in guests.enumerated() {
            guard let controls = guest.guest?.controls else { continue }
            problems += Self.invariantViolations(of: guest, tables: Machine.PageTables(memory: machine.memory, view: controls), nested: [])
                .map { "vm\(vmIDs[vm]): \($0)" }
        }
        for core in machine.cores {
            let sum = CycleCategory.allCases.reduce(0) { $0 + core.account[$1] }
            if sum != core.clock { problems.append("\(core.id): categories add up to \(sum), clock is \(core.clock)") }
        }
        return problems
    }

    static func invariantViolations(of kernel: Kernel, tables: some PageTableMemory, nested: [VirtualMachineControls]) -> [String] {
        var problems: [String] = []
        let frames = kernel.frames
        var mappings = [Int](repeating: 0, count: frames.frameCount)
        var tableOwners = [Int](repeating: 0, count: frames.frameCount)
        var writable: [(FrameNumber, Int, UInt64)] = []
        for (vm, controls) in nested.enumerated() {
            tableOwners[controls.nestedRoot.index] += 1
            PageTableVisitor.forEach(in: tables, root: controls.nestedRoot, level: controls.nestedRootLevel) { slot, entry in
                guard entry.frame.rawValue < UInt64(frames.frameCount) else {
                    problems.append("nested tables of VM \(vm): an entry points outside memory")
                    return .skip
                }
                guard slot.isLeaf(entry) else {
                    tableOwners[entry.frame.index] += 1
                    return .descend
                }
                mappings[entry.frame.index] += 1
                // A guest frame's number is its nested "page": negative process numbers name VMs.
                if entry.has(.writable) { writable.append((entry.frame, -1 - vm, slot.firstPage.rawValue)) }
                return .skip
            }
        }
        for p in kernel.processes.ids where kernel.processes[p].isAlive {
            let space = kernel.processes[p]
            tableOwners[space.pml4.index] += 1
            PageTableVisitor.forEach(in: tables, root: space.pml4, level: kernel.rootLevel) { slot, entry in
                let page = slot.firstPage.rawValue
                guard entry.frame.rawValue < UInt64(frames.frameCount) else {
                    problems.append("process#\(p.rawValue): entry for page \(hex(page)) points outside memory")
                    return .skip
                }
                guard slot.isLeaf(entry) else {
                    tableOwners[entry.frame.index] += 1
                    return .descend
                }
                for frame in Kernel.frames(of: entry, at: slot) where frame.rawValue < UInt64(frames.frameCount) {
                    mappings[frame.index] += 1
                    if entry.has(.writable) { writable.append((frame, p.rawValue, page)) }
                }
                if let region = space.regions.region(containing: slot.firstPage), region.pages.upperBound >= slot.pages.upperBound {
                    if entry.has(.writable) && !region.permissions.contains(.write) {
                        problems.append("process#\(p.rawValue): page \(hex(page << 12)) writable in a \(region.permissions) region")
                    }
                } else {
                    problems.append("process#\(p.rawValue): page \(hex(page << 12)) mapped outside every region")
                }
                return .skip
            }
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
            case .zeroPage, .reserved:
                if tableOwners[f] != 0 { problems.append("reserved frame \(f) is used as a page table") }
            }
        }
        if data != frames.dataFrames { problems.append("frames.data is \(frames.dataFrames) but \(data) frames hold data") }
        if tables != frames.pageTableFrames { problems.append("frames.pagetable is \(frames.pageTableFrames) but \(tables) frames are tables") }
        if frames.freeFrames + frames.dataFrames + frames.pageTableFrames + frames.pendingFrames + frames.reservedFrames != frames.frameCount {
            problems.append("frames do not add up: free \(frames.freeFrames) + data \(frames.dataFrames) + pagetable \(frames.pageTableFrames) + pending \(frames.pendingFrames) + reserved \(frames.reservedFrames) != \(frames.frameCount)")
        }
        for (frame, p, page) in writable where frames.use(of: frame) != .data || mappings[frame.index] > 1 {
            let owner = p >= 0 ? "process#\(p): page \(hex(page << 12))" : "VM \(-1 - p): guest frame \(page)"
            problems.append("\(owner) is writable but its frame \(frame.rawValue) is shared (\(mappings[frame.index]) mappings)")
        }
        return problems
    }
}
