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
///
/// Kept as a sorted sequence cut into chunks of at most `chunkCapacity`
/// regions (a two-level B+ tree, as Linux's maple tree keeps VMAs ordered in
/// wide nodes): a lookup is two binary searches, and `insert`, `remove`,
/// `overlaps`, `setPermissions` and `setAdvice` find the affected span the
/// same way and move at most one chunk's regions (plus the chunk index when a
/// chunk splits or empties), so hundreds of thousands of regions stay cheap
/// whatever order they come in.
public struct RegionList: Sendable {
    /// The most regions one chunk holds before it splits in two.
    static let chunkCapacity = 256

    /// Non-empty chunks, each sorted; every region of a chunk ends before the
    /// next chunk's first one begins.
    private var chunks: [[Region]] = []
    /// Binary-search probes plus regions and chunk slots moved, since this
    /// list was made: what the operations cost, for the scaling test.
    public private(set) var work = 0

    public init() {}

    /// Every region, in order.
    public var regions: [Region] { Array(chunks.joined()) }

    /// How many regions there are.
    public var count: Int { chunks.reduce(0) { $0 + $1.count } }

    /// Where a region sits: its chunk and its place in that chunk.
    private struct Position {
        var chunk: Int
        var offset: Int
    }

    /// The first region that ends after `page` (the end when none does).
    private func firstEnding(after page: VirtualPageNumber) -> (Position, probes: Int) {
        var low = 0, high = chunks.count, probes = 0
        while low < high {
            let mid = (low + high) / 2
            probes += 1
            if chunks[mid][chunks[mid].count - 1].endPage <= page { low = mid + 1 } else { high = mid }
        }
        guard low < chunks.count else { return (Position(chunk: low, offset: 0), probes) }
        let chunk = chunks[low]
        var first = 0, last = chunk.count
        while first < last {
            let mid = (first + last) / 2
            probes += 1
            if chunk[mid].endPage <= page { first = mid + 1 } else { last = mid }
        }
        return (Position(chunk: low, offset: first), probes)
    }

    private func region(at position: Position) -> Region? {
        position.chunk < chunks.count ? chunks[position.chunk][position.offset] : nil
    }

    /// The position after `position`.
    private func next(_ position: Position) -> Position {
        position.offset + 1 < chunks[position.chunk].count ? Position(chunk: position.chunk, offset: position.offset + 1)
            : Position(chunk: position.chunk + 1, offset: 0)
    }

    public func region(containing page: VirtualPageNumber) -> Region? {
        guard let region = region(at: firstEnding(after: page).0), region.contains(page) else { return nil }
        return region
    }

    public func overlaps(_ pages: Range<VirtualPageNumber>) -> Bool {
        guard !pages.isEmpty, let region = region(at: firstEnding(after: pages.lowerBound).0) else { return false }
        return region.firstPage < pages.upperBound
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

    /// Adds `region` after every region that begins at or before it (the
    /// caller has checked that it overlaps none).
    public mutating func insert(_ region: Region) {
        guard !chunks.isEmpty else {
            chunks = [[region]]
            return
        }
        // The last chunk whose first region begins at or before `region`.
        var low = 0, high = chunks.count
        while low < high {
            let mid = (low + high) / 2
            work += 1
            if chunks[mid][0].firstPage <= region.firstPage { low = mid + 1 } else { high = mid }
        }
        let chunk = max(0, low - 1)
        var first = 0, last = chunks[chunk].count
        while first < last {
            let mid = (first + last) / 2
            work += 1
            if chunks[chunk][mid].firstPage <= region.firstPage { first = mid + 1 } else { last = mid }
        }
        replace(from: Position(chunk: chunk, offset: first), count: 0, with: [region])
    }

    /// Removes `pages` from every region, splitting where needed.
    public mutating func remove(_ pages: Range<VirtualPageNumber>) {
        edit(pages) { _ in nil }
    }

    /// Gives `pages` new permissions (the range must be covered).
    public mutating func setPermissions(_ pages: Range<VirtualPageNumber>, _ permissions: RegionPermissions) {
        edit(pages) { part in
            var part = part
            part.permissions = permissions
            return part
        }
    }

    /// Gives `pages` new huge-page advice (the range must be covered).
    public mutating func setAdvice(_ pages: Range<VirtualPageNumber>, _ advice: HugePageAdvice) {
        edit(pages) { part in
            var part = part
            part.advice = advice
            return part
        }
    }

    /// Replaces every region that overlaps `pages` by its parts outside
    /// `pages` and by what `body` makes of its part inside (nil: dropped).
    private mutating func edit(_ pages: Range<VirtualPageNumber>, _ body: (Region) -> Region?) {
        guard !pages.isEmpty else { return }
        let (start, probes) = firstEnding(after: pages.lowerBound)
        work += probes
        var position = start, affected = 0
        var replacement: [Region] = []
        while let region = region(at: position), region.firstPage < pages.upperBound {
            if region.firstPage < pages.lowerBound { replacement.append(region.part(region.firstPage..<pages.lowerBound)) }
            if let inside = body(region.part(region.pages.clamped(to: pages))) { replacement.append(inside) }
            if region.endPage > pages.upperBound { replacement.append(region.part(pages.upperBound..<region.endPage)) }
            affected += 1
            position = next(position)
        }
        guard affected > 0 else { return }
        replace(from: start, count: affected, with: replacement)
    }

    /// Replaces `count` regions from `start` on by `replacement`, then splits
    /// an overfull chunk and drops emptied ones.
    private mutating func replace(from start: Position, count: Int, with replacement: [Region]) {
        let chunk = start.chunk
        let inFirst = min(count, chunks[chunk].count - start.offset)
        work += chunks[chunk].count - start.offset + replacement.count
        chunks[chunk].replaceSubrange(start.offset..<(start.offset + inFirst), with: replacement)
        // Later chunks the span covers: whole ones dropped, the last one's head cut.
        var remaining = count - inFirst, end = chunk + 1
        while remaining > 0 && remaining >= chunks[end].count {
            remaining -= chunks[end].count
            end += 1
        }
        if remaining > 0 {
            work += chunks[end].count
            chunks[end].removeFirst(remaining)
        }
        if end > chunk + 1 {
            work += chunks.count - chunk
            chunks.removeSubrange((chunk + 1)..<end)
        }
        if chunks[chunk].isEmpty {
            work += chunks.count - chunk
            chunks.remove(at: chunk)
        } else if chunks[chunk].count > Self.chunkCapacity {
            let whole = chunks[chunk]
            let half = Self.chunkCapacity / 2
            let pieces = stride(from: 0, to: whole.count, by: half).map { Array(whole[$0..<min($0 + half, whole.count)]) }
            work += chunks.count - chunk + whole.count
            chunks.replaceSubrange(chunk...chunk, with: pieces)
        }
    }

    /// A hugetlb region that `pages` begins or ends inside of a huge page of, if any.
    public func hugePageCut(by pages: Range<VirtualPageNumber>) -> Region? {
        // Only the regions holding the range's two ends can be cut.
        let candidates = [region(containing: pages.lowerBound), region(containing: pages.upperBound)].compactMap { $0 }
        return candidates.first { region in
            guard region.isHugeTLB, region.overlaps(pages) else { return false }
            let span = region.pageSize.bytes >> Paging.pageShift
            func inside(_ page: VirtualPageNumber) -> Bool {
                region.pages.contains(page) && page != region.firstPage && (page.rawValue - region.firstPage.rawValue) % span != 0
            }
            return inside(pages.lowerBound) || inside(pages.upperBound)
        }
    }
}

extension RegionList: Hashable {
    /// Equal when they hold the same regions, however they are chunked.
    public static func == (lhs: RegionList, rhs: RegionList) -> Bool {
        lhs.chunks.joined().elementsEqual(rhs.chunks.joined())
    }

    public func hash(into hasher: inout Hasher) {
        for region in chunks.joined() { hasher.combine(region) }
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
