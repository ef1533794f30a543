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

/// What `madvise` said of a range about transparent huge pages (Linux's
/// `VM_HUGEPAGE` / `VM_NOHUGEPAGE`).
public enum HugePageAdvice: String, Sendable, CaseIterable {
    case none
    case hugepage
    case nohugepage
}

/// A mapped range of whole pages (Linux's `vm_area_struct`, private anonymous).
public struct Region: Hashable, Sendable {
    public var pages: Range<VirtualPageNumber>
    public var permissions: RegionPermissions
    /// 4 KiB for anonymous memory; 2 MiB or 1 GiB for a hugetlb region.
    public var pageSize: PageSize
    public var advice: HugePageAdvice
    public init(pages: Range<VirtualPageNumber>, permissions: RegionPermissions,
                pageSize: PageSize = .size4K, advice: HugePageAdvice = .none) {
        self.pages = pages
        self.permissions = permissions
        self.pageSize = pageSize
        self.advice = advice
    }
    /// Whether this is a hugetlb region.
    public var isHugeTLB: Bool { pageSize != .size4K }
    public var firstPage: VirtualPageNumber { pages.lowerBound }
    public var endPage: VirtualPageNumber { pages.upperBound }
    public var pageCount: UInt64 { UInt64(pages.count) }
    public func contains(_ page: VirtualPageNumber) -> Bool { pages.contains(page) }
    public func overlaps(_ other: Range<VirtualPageNumber>) -> Bool { pages.overlaps(other) }
    /// The same region cut down to `part` of its pages.
    func part(_ part: Range<VirtualPageNumber>) -> Region {
        var region = self
        region.pages = part
        return region
    }
}

/// The regions of an address space, sorted and disjoint (Linux's VMA tree).
public struct RegionList: Hashable, Sendable {
    public private(set) var regions: [Region] = []
    public init() {}

    public func region(containing page: VirtualPageNumber) -> Region? {
        var low = 0, high = regions.count
        while low < high {
            let mid = (low + high) / 2
            if regions[mid].endPage <= page { low = mid + 1 } else { high = mid }
        }
        return low < regions.count && regions[low].contains(page) ? regions[low] : nil
    }

    public func overlaps(_ pages: Range<VirtualPageNumber>) -> Bool {
        regions.contains { $0.overlaps(pages) }
    }

    /// Whether every page of `pages` lies in some region.
    public func covers(_ pages: Range<VirtualPageNumber>) -> Bool {
        var page = pages.lowerBound
        while page < pages.upperBound {
            guard let region = region(containing: page) else { return false }
            page = region.endPage
        }
        return true
    }

    public mutating func insert(_ region: Region) {
        let index = regions.firstIndex { $0.firstPage > region.firstPage } ?? regions.count
        regions.insert(region, at: index)
    }

    /// Removes `pages` from every region, splitting where needed.
    public mutating func remove(_ pages: Range<VirtualPageNumber>) {
        var result: [Region] = []
        for region in regions {
            guard region.overlaps(pages) else { result.append(region); continue }
            if region.firstPage < pages.lowerBound { result.append(region.part(region.firstPage..<pages.lowerBound)) }
            if region.endPage > pages.upperBound { result.append(region.part(pages.upperBound..<region.endPage)) }
        }
        regions = result
    }

    /// Gives `pages` new permissions (the range must be covered).
    public mutating func setPermissions(_ pages: Range<VirtualPageNumber>, _ permissions: RegionPermissions) {
        change(pages) { $0.permissions = permissions }
    }

    /// Gives `pages` new huge-page advice (the range must be covered).
    public mutating func setAdvice(_ pages: Range<VirtualPageNumber>, _ advice: HugePageAdvice) {
        change(pages) { $0.advice = advice }
    }

    /// Applies `body` to the part of every region inside `pages`, splitting
    /// regions at its ends.
    private mutating func change(_ pages: Range<VirtualPageNumber>, _ body: (inout Region) -> Void) {
        let pieces = regions.filter { $0.overlaps(pages) }
        remove(pages)
        for piece in pieces {
            var part = piece.part(piece.pages.clamped(to: pages))
            body(&part)
            insert(part)
        }
    }

    /// A hugetlb region that `pages` begins or ends inside of a huge page of, if any.
    public func hugePageCut(by pages: Range<VirtualPageNumber>) -> Region? {
        regions.first { region in
            guard region.isHugeTLB, region.overlaps(pages) else { return false }
            let span = region.pageSize.bytes >> Paging.pageShift
            func inside(_ page: VirtualPageNumber) -> Bool {
                region.pages.contains(page) && page != region.firstPage && (page.rawValue - region.firstPage.rawValue) % span != 0
            }
            return inside(pages.lowerBound) || inside(pages.upperBound)
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
