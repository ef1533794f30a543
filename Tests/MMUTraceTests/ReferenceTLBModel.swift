import MMUHardware

/// An independent model of what the reference (docs/reference/) says a streamed trace does to core 0's
/// TLBs and fault counters, written from its rules alone (machine, kernel, trace format and
/// cycle accounting), page-granular, with none of the emulator's code:
///
/// - loads and stores look up the L1 DTLB, fetches the L1 ITLB; on an L1 miss
///   the unified L2; on an L2 miss a walk. Set index = page number mod sets,
///   true LRU. An L2 hit refills the L1; a successful walk fills L2 and L1.
/// - An entry that does not permit the access (a write to a read-only entry)
///   is dropped and counts as a miss at that level.
/// - Pages are unmapped (page 0 and everything from 0x800000000000: no
///   region, SIGSEGV), untouched, the zero page (read-only), or writable.
/// - A walk to a page that does not allow the access raises #PF: the faulting
///   attempt has counted its L1 and L2 misses and its walk; the #PF
///   invalidates the page in L1D, L1I and L2; the handler maps the page (zero
///   page for a read or fetch when `zero_page` is on, otherwise a writable
///   frame; a write to the zero page gets a writable frame) and the retry
///   looks the page up again from L1, counting again.
/// - A non-canonical access is a #GP: SIGSEGV, no lookup, no #PF.
/// - An access translates each page it touches, in order; it counts in
///   `accesses` only when every page translated.
struct ReferenceTLBModel {
    /// One set-associative true-LRU TLB of page numbers.
    struct TLB {
        struct Entry { var page: UInt64; var writable: Bool }
        enum Lookup { case hit(writable: Bool), miss }
        let sets: Int
        let ways: Int
        /// Per set, least recently used first.
        var contents: [[Entry]]

        init(entries: Int, ways: Int) {
            self.ways = ways
            sets = entries / ways
            contents = Array(repeating: [], count: sets)
        }

        mutating func lookup(_ page: UInt64, write: Bool) -> Lookup {
            let s = Int(page % UInt64(sets))
            guard let i = contents[s].firstIndex(where: { $0.page == page }) else { return .miss }
            let entry = contents[s].remove(at: i)
            if write && !entry.writable { return .miss }   // dropped
            contents[s].append(entry)
            return .hit(writable: entry.writable)
        }

        mutating func insert(_ page: UInt64, writable: Bool) {
            let s = Int(page % UInt64(sets))
            contents[s].removeAll { $0.page == page }
            if contents[s].count == ways { contents[s].removeFirst() }
            contents[s].append(Entry(page: page, writable: writable))
        }

        mutating func invalidate(_ page: UInt64) {
            contents[Int(page % UInt64(sets))].removeAll { $0.page == page }
        }
    }

    enum PageState { case untouched, zeroPage, writable }

    var l1d: TLB
    var l1i: TLB
    var l2: TLB
    let zeroPage: Bool
    var pages: [UInt64: PageState] = [:]
    /// Statistic name to value, for the names this model predicts.
    var statistics: [String: UInt64] = [:]

    static let statisticNames = [
        "accesses", "tlb.l1d.hits", "tlb.l1d.misses", "tlb.l1i.hits", "tlb.l1i.misses",
        "tlb.l2.hits", "tlb.l2.misses", "walks", "faults.pf", "faults.demand_zero",
        "faults.zero_page", "faults.cow_copy", "faults.cow_reuse", "faults.segv", "faults.oom",
    ]

    init(l1d: (Int, Int), l1i: (Int, Int), l2: (Int, Int), zeroPage: Bool = true) {
        self.l1d = TLB(entries: l1d.0, ways: l1d.1)
        self.l1i = TLB(entries: l1i.0, ways: l1i.1)
        self.l2 = TLB(entries: l2.0, ways: l2.1)
        self.zeroPage = zeroPage
        for name in Self.statisticNames { statistics[name] = 0 }
    }

    mutating func count(_ name: String) { statistics[name, default: 0] += 1 }

    static func isCanonical(_ address: UInt64) -> Bool {
        let top = address >> 47
        return top == 0 || top == 0x1FFFF
    }

    /// Mapped rwx by the stream runner: pages 1 ..< 0x800000000.
    static func inRegion(_ page: UInt64) -> Bool { page >= 1 && page < 0x8_0000_0000 }

    mutating func access(_ kind: AccessKind, _ address: UInt64, bytes: UInt64) {
        let (last, overflow) = address.addingReportingOverflow(max(bytes, 1) - 1)
        guard !overflow, Self.isCanonical(address), Self.isCanonical(last) else {
            count("faults.segv")
            return
        }
        for page in (address >> 12)...(last >> 12) {
            guard translate(page, kind) else { return }
        }
        count("accesses")
    }

    /// Translates one page; false on SIGSEGV.
    mutating func translate(_ page: UInt64, _ kind: AccessKind) -> Bool {
        let write = kind == .write
        let (l1Hits, l1Misses) = kind == .fetch ? ("tlb.l1i.hits", "tlb.l1i.misses") : ("tlb.l1d.hits", "tlb.l1d.misses")
        while true {
            let first = kind == .fetch ? l1i.lookup(page, write: write) : l1d.lookup(page, write: write)
            if case .hit = first {
                count(l1Hits)
                return true
            }
            count(l1Misses)
            if case .hit(let writable) = l2.lookup(page, write: write) {
                count("tlb.l2.hits")
                fillL1(page, kind, writable: writable)
                return true
            }
            count("tlb.l2.misses")
            count("walks")
            let state = pages[page, default: .untouched]
            if Self.inRegion(page) && (state == .writable || (state == .zeroPage && !write)) {
                l2.insert(page, writable: state == .writable)
                fillL1(page, kind, writable: state == .writable)
                return true
            }
            // #PF: the page's entries go on every TLB of the core.
            count("faults.pf")
            l1d.invalidate(page)
            l1i.invalidate(page)
            l2.invalidate(page)
            guard Self.inRegion(page) else {
                count("faults.segv")
                return false
            }
            if state == .untouched && !write && zeroPage {
                count("faults.zero_page")
                pages[page] = .zeroPage
            } else {
                count("faults.demand_zero")
                pages[page] = .writable
            }
        }
    }

    mutating func fillL1(_ page: UInt64, _ kind: AccessKind, writable: Bool) {
        if kind == .fetch { l1i.insert(page, writable: writable) } else { l1d.insert(page, writable: writable) }
    }
}
