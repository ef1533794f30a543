import MMUHardware

/// The kernel's handle of a process: its slot in the process table.
public struct ProcessID: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }
    public var description: String { "process#\(rawValue)" }
}

/// Every process the kernel has made, alive or not, and the PCIDs they hold.
/// A PCID goes back to the pool only when its process has ended and its
/// entries were dropped everywhere.
public struct ProcessTable: Sendable {
    public private(set) var spaces: [AddressSpace] = []
    private var freePCIDs: [UInt16] = []
    private var nextPCID: UInt16 = 1
    let pcidEnabled: Bool
    let cores: Int
    /// The VPID a guest kernel's PCIDs are tagged with (0 on the host).
    let vpid: UInt16

    init(pcidEnabled: Bool, cores: Int, vpid: UInt16 = 0) {
        self.pcidEnabled = pcidEnabled
        self.cores = cores
        self.vpid = vpid
    }

    public var count: Int { spaces.count }
    public var ids: [ProcessID] { spaces.indices.map(ProcessID.init(rawValue:)) }

    public subscript(id: ProcessID) -> AddressSpace {
        get { spaces[id.rawValue] }
        set { spaces[id.rawValue] = newValue }
    }

    public func isAlive(_ process: ProcessID) -> Bool {
        spaces.indices.contains(process.rawValue) && spaces[process.rawValue].isAlive
    }

    /// A live process with root table `pml4` and a fresh PCID.
    mutating func add(pml4: FrameNumber, regions: RegionList = RegionList()) -> ProcessID {
        var space = AddressSpace(pml4: pml4, pcid: allocatePCID(), cores: cores)
        space.regions = regions
        spaces.append(space)
        return ProcessID(rawValue: spaces.count - 1)
    }

    /// A process that never ran: created when no frame was left for its PML4
    /// (its root is never read).
    mutating func addDead() -> ProcessID {
        var dead = AddressSpace(pml4: .zeroPage, pcid: allocatePCID(), cores: cores)
        dead.isAlive = false
        releasePCID(dead.pcid)
        spaces.append(dead)
        return ProcessID(rawValue: spaces.count - 1)
    }

    /// Marks `process` dead and gives its PCID back.
    mutating func end(_ process: ProcessID) {
        spaces[process.rawValue].isAlive = false
        spaces[process.rawValue].mayCache = [Bool](repeating: false, count: cores)
        releasePCID(spaces[process.rawValue].pcid)
    }

    private mutating func allocatePCID() -> PCID {
        guard pcidEnabled else { return VirtualMachineControls.tag(vpid: vpid, pcid: .none) }
        if let reused = freePCIDs.popLast() { return VirtualMachineControls.tag(vpid: vpid, pcid: PCID(reused)) }
        let pcid = PCID(nextPCID)
        if nextPCID < PCID.maximum { nextPCID += 1 }
        return VirtualMachineControls.tag(vpid: vpid, pcid: pcid)
    }

    private mutating func releasePCID(_ pcid: PCID) {
        let own = pcid.rawValue & PCID.maximum
        if pcidEnabled && own != 0 { freePCIDs.append(own) }
    }
}
