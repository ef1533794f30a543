import MMUHardware

/// Where an entry of a page-table tree sits: its table, its index there, its
/// level, and the first virtual page it maps.
public struct PageTableSlot: Sendable {
    public var table: FrameNumber
    public var index: UInt64
    public var level: PagingLevel
    public var firstPage: VirtualPageNumber

    /// 4 KiB pages one entry at this level spans.
    public var pagesSpanned: UInt64 { 1 << (level.indexShift - Paging.pageShift) }
    /// The pages the entry spans.
    public var pages: Range<VirtualPageNumber> { firstPage..<firstPage.advanced(by: Int64(pagesSpanned)) }
    public var address: VirtualAddress { firstPage.address }

    /// Whether `entry`, stored here, maps memory (a PTE, or PS at the PD or
    /// PDPT level) rather than pointing to a table below.
    public func isLeaf(_ entry: PageTableEntry) -> Bool {
        level == .pt || (level.mayHoldLargePage && entry.has(.pageSize))
    }
}

/// Whatever page-table entries can be read from: physical memory itself, or
/// the machine around it while kernel code changes it.
public protocol PageTableMemory {
    func readEntry(_ table: FrameNumber, _ index: UInt64) -> PageTableEntry
}

extension PhysicalMemory: PageTableMemory {}

extension Machine: PageTableMemory {}
extension Machine.PageTables: PageTableMemory {}

/// The one walk over a page-table tree that fork, unmap, protect, exit,
/// freeing page tables and the checkers share: every present entry whose
/// span overlaps a range of pages, in address order, parents before their
/// children (`enter`) and after them (`leave`). Each entry is read just
/// before its `enter`, so the visit sees the tree as the callbacks leave it.
public enum PageTableVisitor {
    /// What to do after `enter`.
    public enum Decision: Sendable {
        /// Visit the table below (ignored for a leaf).
        case descend
        /// Visit the table below whole, whatever the range.
        case descendAll
        /// Do not go below this entry.
        case skip
        /// End the whole visit now (no more `enter` or `leave`).
        case stop
    }

    /// Every page a 57-bit address space has (a 48-bit one's too).
    public static let allPages = VirtualPageNumber(0)..<VirtualPageNumber(1 << 45)
    /// The user half under a root at `level`: its entries 0 ..< 256.
    public static func userPages(_ level: PagingLevel) -> Range<VirtualPageNumber> {
        VirtualPageNumber(0)..<VirtualPageNumber(UInt64(1) << (level.indexShift + 8 - Paging.pageShift))
    }

    /// Visits the tree rooted at `root` (a PML4, or a PML5 with five levels)
    /// over `pages`; the callbacks get `memory` to change as they go.
    ///
    /// The walk keeps its own stack of tables, one per level, rather than
    /// recursing: the function can then be inlined into its caller, and the
    /// callbacks with it (fork, exit and unmap visit every leaf of a space).
    @inline(__always)
    public static func visit<Memory: PageTableMemory>(
        _ memory: inout Memory, root: FrameNumber, level: PagingLevel = .pml4, pages: Range<VirtualPageNumber>,
        enter: (inout Memory, PageTableSlot, PageTableEntry) -> Decision,
        leave: (inout Memory, PageTableSlot, PageTableEntry) -> Void = { _, _, _ in }
    ) {
        var stack = Stack()
        stack.push(Stack.Table(table: root, level: level, base: VirtualPageNumber(0), pages: pages, parent: nil))
        while let top = stack.top {
            guard let index = stack.nextIndex() else {
                stack.pop()
                if let (slot, entry) = top.parent { leave(&memory, slot, entry) }
                continue
            }
            let slot = PageTableSlot(table: top.table, index: index, level: top.level,
                                     firstPage: top.base.advanced(by: Int64(index << (top.level.indexShift - Paging.pageShift))))
            let entry = memory.readEntry(top.table, index)
            guard entry.isPresent else { continue }
            let below: Range<VirtualPageNumber>?
            switch enter(&memory, slot, entry) {
            case .stop: return
            case .descend: below = top.pages
            case .descendAll: below = allPages
            case .skip: below = nil
            }
            if let below, !slot.isLeaf(entry), let lower = top.level.below {
                stack.push(Stack.Table(table: entry.frame, level: lower, base: slot.firstPage, pages: below, parent: (slot, entry)))
            } else {
                leave(&memory, slot, entry)
            }
        }
    }

    /// Read-only: calls `body` for every present entry under `root` over `pages`.
    @inline(__always)
    public static func forEach<Memory: PageTableMemory>(in memory: Memory, root: FrameNumber, level: PagingLevel = .pml4,
                               pages: Range<VirtualPageNumber> = allPages,
                               _ body: (PageTableSlot, PageTableEntry) -> Decision) {
        var memory = memory
        visit(&memory, root: root, level: level, pages: pages, enter: { _, slot, entry in body(slot, entry) })
    }

    /// The tables a visit is inside of, the root first: at most one per level.
    struct Stack {
        struct Table {
            var table: FrameNumber
            var level: PagingLevel
            var base: VirtualPageNumber
            var pages: Range<VirtualPageNumber>
            /// The entry that points to this table (nil for the root).
            var parent: (PageTableSlot, PageTableEntry)?
            var next: UInt64 = 0
            var end: UInt64 = 0
        }
        private var tables: [Table] = []

        init() { tables.reserveCapacity(PagingLevel.allCases.count) }

        var top: Table? { tables.last }

        mutating func push(_ table: Table) {
            var table = table
            let indices = PageTableVisitor.indices(level: table.level, base: table.base, pages: table.pages)
            table.next = indices.lowerBound
            table.end = indices.upperBound
            tables.append(table)
        }

        mutating func pop() { tables.removeLast() }

        /// The next index of the top table to visit, or nil when it is done.
        mutating func nextIndex() -> UInt64? {
            let last = tables.count - 1
            guard tables[last].next < tables[last].end else { return nil }
            defer { tables[last].next += 1 }
            return tables[last].next
        }
    }

    /// The indices of a table at `level` mapping from `base` whose entries overlap `pages`.
    static func indices(level: PagingLevel, base: VirtualPageNumber, pages: Range<VirtualPageNumber>) -> Range<UInt64> {
        let span: UInt64 = 1 << (level.indexShift - Paging.pageShift)
        let first = pages.lowerBound.rawValue, end = pages.upperBound.rawValue
        guard end > base.rawValue else { return 0..<0 }
        let low = first > base.rawValue ? (first - base.rawValue) / span : 0
        let high = min(Paging.entriesPerTable, (end - base.rawValue + span - 1) / span)
        return low < high ? low..<high : 0..<0
    }
}
