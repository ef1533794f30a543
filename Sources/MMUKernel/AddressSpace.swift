import MMUHardware

/// A region's rights, as a trace's PERM names them (`r`, `rw`, `rx`, `rwx`).
public struct RegionPermissions: OptionSet, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let read = RegionPermissions(rawValue: 1)
    public static let write = RegionPermissions(rawValue: 2)
    public static let execute = RegionPermissions(rawValue: 4)

    /// Parses `r`, `rw`, `rx` or `rwx`.
    public init?(_ text: Substring) {
        switch text {
        case "r": self = [.read]
        case "rw": self = [.read, .write]
        case "rx": self = [.read, .execute]
        case "rwx": self = [.read, .write, .execute]
        default: return nil
        }
    }

    public func permits(_ kind: AccessKind) -> Bool {
        switch kind {
        case .read: return contains(.read)
        case .write: return contains(.write)
        case .fetch: return contains(.execute)
        }
    }

    public var description: String {
        (contains(.read) ? "r" : "") + (contains(.write) ? "w" : "") + (contains(.execute) ? "x" : "")
    }
}

/// A mapped range of whole pages (Linux's `vm_area_struct`, private anonymous).
public struct Region: Hashable, Sendable {
    /// First 4 KiB page number.
    public var firstPage: UInt64
    public var pageCount: UInt64
    public var permissions: RegionPermissions
    public init(firstPage: UInt64, pageCount: UInt64, permissions: RegionPermissions) {
        self.firstPage = firstPage
        self.pageCount = pageCount
        self.permissions = permissions
    }
    public var endPage: UInt64 { firstPage + pageCount }
    public func contains(page: UInt64) -> Bool { page >= firstPage && page < endPage }
    public func overlaps(_ first: UInt64, _ end: UInt64) -> Bool { firstPage < end && first < endPage }
}

/// The regions of an address space, sorted and disjoint (Linux's VMA tree).
public struct RegionList: Hashable, Sendable {
    public private(set) var regions: [Region] = []
    public init() {}

    public func region(containing page: UInt64) -> Region? {
        var low = 0, high = regions.count
        while low < high {
            let mid = (low + high) / 2
            if regions[mid].endPage <= page { low = mid + 1 } else { high = mid }
        }
        return low < regions.count && regions[low].contains(page: page) ? regions[low] : nil
    }

    public func overlaps(_ first: UInt64, _ end: UInt64) -> Bool {
        regions.contains { $0.overlaps(first, end) }
    }

    /// Whether every page of [first, end) lies in some region.
    public func covers(_ first: UInt64, _ end: UInt64) -> Bool {
        var page = first
        while page < end {
            guard let region = region(containing: page) else { return false }
            page = region.endPage
        }
        return true
    }

    public mutating func insert(_ region: Region) {
        let index = regions.firstIndex { $0.firstPage > region.firstPage } ?? regions.count
        regions.insert(region, at: index)
    }

    /// Removes [first, end) from every region, splitting where needed.
    public mutating func remove(_ first: UInt64, _ end: UInt64) {
        var result: [Region] = []
        for region in regions {
            guard region.overlaps(first, end) else { result.append(region); continue }
            if region.firstPage < first {
                result.append(Region(firstPage: region.firstPage, pageCount: first - region.firstPage, permissions: region.permissions))
            }
            if region.endPage > end {
                result.append(Region(firstPage: end, pageCount: region.endPage - end, permissions: region.permissions))
            }
        }
        regions = result
    }

    /// Gives [first, end) new permissions (the range must be covered).
    public mutating func setPermissions(_ first: UInt64, _ end: UInt64, _ permissions: RegionPermissions) {
        let pieces = regions.filter { $0.overlaps(first, end) }
        remove(first, end)
        for piece in pieces {
            let start = max(piece.firstPage, first), stop = min(piece.endPage, end)
            insert(Region(firstPage: start, pageCount: stop - start, permissions: permissions))
        }
    }
}

/// A process's address space (Linux's `mm_struct`): its root table, PCID and regions.
public struct AddressSpace: Sendable {
    public var pml4: FrameNumber
    public var pcid: PCID
    public var regions = RegionList()
    /// Cores that may hold translations of this address space (Linux's `mm_cpumask`).
    public var mayCache: [Bool]
    /// False once the process has exited or was killed.
    public var isAlive = true

    public init(pml4: FrameNumber, pcid: PCID, cores: Int) {
        self.pml4 = pml4
        self.pcid = pcid
        self.mayCache = [Bool](repeating: false, count: cores)
    }

    public var cr3: ControlRegister3 { ControlRegister3(pml4: pml4, pcid: pcid) }
}
