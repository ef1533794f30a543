import MMUHardware
import MMUKernel

/// The static check of a `.mmt` trace: follows which processes exist, what
/// each core runs and each process's regions, so that every directive is known
/// to refer to something that exists before the run starts.
struct Validator {
    let file: String
    var cores = 1
    /// The end of the user half: 2^47, or 2^56 with five-level paging.
    var userAddressLimit = Paging.userAddressLimit
    /// Live PIDs and their regions.
    var regions: [UInt64: RegionList] = [:]
    /// The PID each core runs (nil: idle).
    var running: [UInt64?] = []
    /// VMs declared so far, and the VM of each live guest process.
    var virtualMachines: Set<UInt64> = []
    /// Guest frames of every VM so far (their pools together are bounded as one machine's).
    var guestFrames: UInt64 = 0
    var processVM: [UInt64: UInt64] = [:]

    init(file: String) { self.file = file }

    mutating func start(_ configuration: Configuration) {
        userAddressLimit = Paging.userAddressLimit(levels: configuration.pagingLevels)
        cores = configuration.cores
        running = [UInt64?](repeating: nil, count: cores)
    }

    /// Largest number of processes alive at once (12-bit PCIDs, 0 reserved).
    static let maximumProcesses = Int(PCID.maximum)

    mutating func check(_ line: TraceLine) throws(TraceError) {
        func fail(_ field: Int, _ message: String) -> TraceError {
            TraceError(file: file, line: line.line, column: line.columns[min(field, line.columns.count - 1)], message: message)
        }
        func runningProcess(_ core: Int) throws(TraceError) -> UInt64 {
            guard core < cores else { throw fail(1, "core \(core) does not exist (cores \(cores))") }
            guard let pid = running[core] else { throw fail(1, "core \(core) is idle: it runs no process") }
            return pid
        }
        /// No hugetlb page may be cut by `range`.
        func wholeHugePages(_ range: Range<VirtualPageNumber>, _ pid: UInt64, _ address: VirtualAddress, _ pages: UInt64) throws(TraceError) {
            if let region = regions[pid]?.hugePageCut(by: range) {
                throw fail(2, "\(address) + \(pages) pages cuts a \(region.pageSize) page of a hugetlb region")
            }
        }
        /// A range that must be all mapped, cutting no hugetlb page.
        func coveredRange(_ pid: UInt64, _ address: VirtualAddress, _ pages: UInt64) throws(TraceError) -> Range<VirtualPageNumber> {
            let range = try pageRange(address, pages)
            guard regions[pid]?.covers(range) == true else {
                throw fail(2, "\(address) + \(pages) pages is not all mapped in process \(pid)")
            }
            try wholeHugePages(range, pid, address, pages)
            return range
        }
        func pageRange(_ address: VirtualAddress, _ pages: UInt64) throws(TraceError) -> Range<VirtualPageNumber> {
            guard address.isPageAligned else { throw fail(2, "VA \(address) is not page aligned") }
            guard address.rawValue < userAddressLimit else {
                throw fail(2, "VA \(address) is not a user address (below \(hex(userAddressLimit)))")
            }
            guard pages >= 1 else { throw fail(3, "PAGES must be at least 1") }
            let first = address.pageNumber
            let limit = userAddressLimit >> Paging.pageShift
            guard pages <= limit - first else {
                throw fail(3, "\(pages) pages from \(address) run past the user address space (\(hex(userAddressLimit)))")
            }
            return VirtualPageNumber(first)..<VirtualPageNumber(first + pages)
        }
        switch line.directive {
        case .set:
            break
        case .process(let pid, let vm):
            guard regions[pid] == nil else { throw fail(1, "process \(pid) already exists") }
            guard regions.count < Self.maximumProcesses else { throw fail(1, "more than \(Self.maximumProcesses) processes alive at once") }
            if let vm {
                guard virtualMachines.contains(vm) else { throw fail(3, "VM \(vm) does not exist (declare it with 'vm \(vm) FRAMES' first)") }
                processVM[pid] = vm
            }
            regions[pid] = RegionList()
        case .vm(let id, let frames):
            guard !virtualMachines.contains(id) else { throw fail(1, "VM \(id) already exists") }
            guard virtualMachines.count < Int(VirtualMachineControls.maximumVPID) else {
                throw fail(1, "more than \(VirtualMachineControls.maximumVPID) VMs (one VPID each)")
            }
            guard frames >= UInt64(Configuration.Limits.frames.lowerBound), frames <= UInt64(Configuration.Limits.frames.upperBound) else {
                throw fail(2, "FRAMES \(frames) must be \(Configuration.Limits.frames.lowerBound) to \(Configuration.Limits.frames.upperBound)")
            }
            let limit = UInt64(Configuration.Limits.frames.upperBound)
            guard frames <= limit - guestFrames else {
                throw fail(2, "the VMs' frames together would pass \(limit) (host memory for their frame tables is bounded as one machine's)")
            }
            guestFrames += frames
            virtualMachines.insert(id)
        case .ksm(let core):
            guard core < cores else { throw fail(1, "core \(core) does not exist (cores \(cores))") }
        case .switch(let core, let pid):
            guard core < cores else { throw fail(1, "core \(core) does not exist (cores \(cores))") }
            if let pid, regions[pid] == nil { throw fail(2, "process \(pid) does not exist") }
            running[core] = pid
        case .map(let core, let address, let pages, let permissions, let pageSize):
            let pid = try runningProcess(core)
            let range = try pageRange(address, pages)
            if pageSize != .size4K {
                let span = pageSize.bytes >> Paging.pageShift
                guard address.rawValue % pageSize.bytes == 0 else {
                    throw fail(2, "VA \(address) of a \(pageSize) hugetlb region is not aligned to \(pageSize)")
                }
                guard pages % span == 0 else {
                    throw fail(3, "PAGES \(pages) of a \(pageSize) hugetlb region is not a multiple of \(span)")
                }
            }
            guard regions[pid]?.overlaps(range) != true else {
                throw fail(2, "region \(address) + \(pages) pages overlaps a region of process \(pid)")
            }
            regions[pid]?.insert(Region(pages: range, permissions: permissions, pageSize: pageSize))
        case .unmap(let core, let address, let pages):
            let pid = try runningProcess(core)
            let range = try pageRange(address, pages)
            try wholeHugePages(range, pid, address, pages)
            regions[pid]?.remove(range)
        case .protect(let core, let address, let pages, let permissions):
            let pid = try runningProcess(core)
            let range = try coveredRange(pid, address, pages)
            regions[pid]?.setPermissions(range, permissions)
        case .madvise(let core, let address, let pages, let advice):
            let pid = try runningProcess(core)
            let range = try coveredRange(pid, address, pages)
            regions[pid]?.setAdvice(range, advice)
        case .fork(let core, let child):
            let pid = try runningProcess(core)
            guard regions[child] == nil else { throw fail(2, "process \(child) already exists") }
            guard regions.count < Self.maximumProcesses else { throw fail(2, "more than \(Self.maximumProcesses) processes alive at once") }
            regions[child] = regions[pid]
            processVM[child] = processVM[pid]
        case .exit(let core):
            let pid = try runningProcess(core)
            regions[pid] = nil
            processVM[pid] = nil
            for c in running.indices where running[c] == pid { running[c] = nil }
        case .tick(let core):
            guard core < cores else { throw fail(1, "core \(core) does not exist (cores \(cores))") }
        case .access(let core, _, _, _):
            _ = try runningProcess(core)
        case .expect(let key, _):
            guard System.isStatisticName(key, cores: cores) else { throw fail(1, "unknown statistic '\(key)'") }
            if let (vm, _) = Statistic.resolveGuest(key), !virtualMachines.contains(UInt64(vm)) {
                throw fail(1, "statistic '\(key)' names VM \(vm), which does not exist here")
            }
        }
    }
}
