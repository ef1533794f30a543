/// The 4-level page walker (Intel SDM vol. 3A, 4.5): reads 8-byte entries out of
/// physical memory from a starting table down to the leaf, checks presence,
/// reserved bits and rights, and on success sets the A and D bits it must.
public enum PageWalker {
    /// One entry the walker read.
    public struct Step: Sendable {
        public var level: PagingLevel
        public var table: FrameNumber
        public var index: UInt64
        public var entry: PageTableEntry

        /// Placeholder for a slot of `Walk` no entry was read into.
        static let none = Step(level: .pml4, table: FrameNumber(0), index: 0, entry: .empty)
    }

    /// Where a walk starts: the root (CR3) or, after a paging-structure-cache
    /// hit, a lower table with the rights accumulated above it.
    public struct Start: Sendable {
        public var level: PagingLevel
        public var table: FrameNumber
        public var rights: AccessRights
        @inlinable public init(level: PagingLevel, table: FrameNumber, rights: AccessRights) {
            self.level = level
            self.table = table
            self.rights = rights
        }
        @inlinable public static func root(_ table: FrameNumber, level: PagingLevel = .pml4) -> Start {
            Start(level: level, table: table, rights: .all)
        }
    }

    public enum Outcome: Sendable {
        case translation(Translation)
        case fault(PageFaultErrorCode)

        /// Whether the walk ended in a translation.
        @inlinable public var isTranslation: Bool {
            if case .translation = self { return true }
            return false
        }
    }

    /// The result of one walk: outcome, the entries read (at most 5), and the
    /// number of A/D bits it set.
    public struct Walk: Sendable {
        public var outcome: Outcome
        public var references = 0
        public var accessedDirtyBitsSet = 0
        // Fixed storage for the path: no heap allocation per walk.
        var s0 = Step.none, s1 = Step.none, s2 = Step.none, s3 = Step.none, s4 = Step.none

        init(outcome: Outcome) { self.outcome = outcome }

        /// Entry `i` read (0 is the first, `references - 1` the last).
        @inline(__always) subscript(i: Int) -> Step {
            switch i {
            case 0: return s0
            case 1: return s1
            case 2: return s2
            case 3: return s3
            default: return s4
            }
        }

        public func step(_ i: Int) -> Step? {
            i >= 0 && i < references ? self[i] : nil
        }
        @inline(__always) mutating func record(_ step: Step) {
            switch references {
            case 0: s0 = step
            case 1: s1 = step
            case 2: s2 = step
            case 3: s3 = step
            default: s4 = step
            }
            references += 1
        }
        /// The entries read, root first.
        public var steps: [Step] { (0..<references).map { self[$0] } }
    }

    /// Bits that must be zero in a leaf of each large size (PAT is bit 12).
    static let reserved1G: UInt64 = 0x3FFF_E000   // bits 29:13
    static let reserved2M: UInt64 = 0x001F_E000   // bits 20:13

    /// What one entry read means for the walk.
    @usableFromInline enum Verdict {
        /// A table entry: go on to the table in this frame.
        case next(FrameNumber)
        /// A leaf that permits the access: the translation.
        case leaf(Translation)
        /// A #PF with this error code.
        case fault(PageFaultErrorCode)
    }

    /// The error code a fault of an access of `kind` starts from.
    @inline(__always) static func errorCode(for kind: AccessKind) -> PageFaultErrorCode {
        var code: PageFaultErrorCode = .user
        if kind == .write { code.insert(.write) }
        if kind == .fetch { code.insert(.instructionFetch) }
        return code
    }

    /// Checks `entry`, read at `level` for an access of `kind`: presence,
    /// reserved bits, and at a leaf the rights accumulated in `rights`.
    @inline(__always)
    static func examine(_ entry: PageTableEntry, at level: PagingLevel, _ kind: AccessKind, code: PageFaultErrorCode,
                        rights: inout AccessRights) -> Verdict {
        guard entry.isPresent else { return .fault(code) }
        let isLeaf = level == .pt || (entry.has(.pageSize) && level.mayHoldLargePage)
        if !isLeaf && level != .pt && entry.has(.pageSize)
            || isLeaf && level == .pdpt && entry.rawValue & reserved1G != 0
            || isLeaf && level == .pd && entry.rawValue & reserved2M != 0 {
            return .fault(code.union([.protection, .reservedBit]))
        }
        rights.formIntersection(AccessRights.granted(by: entry))
        guard isLeaf else { return .next(entry.frame) }
        if entry.has(.dirty) { rights.insert(.dirty) }
        if entry.has(.global) { rights.insert(.global) }
        let size = level.leafSize ?? .size4K
        // A write is allowed on a clean entry: the walk is what sets D.
        var needed = rights
        if kind == .write { needed.insert(.dirty) }
        guard needed.permits(kind) else { return .fault(code.union(.protection)) }
        let framesPerPage = size.bytes >> Paging.pageShift
        if kind == .write { rights.insert(.dirty) }
        return .leaf(Translation(frame: FrameNumber(entry.frame.rawValue & ~(framesPerPage - 1)), size: size, rights: rights))
    }

    /// Walks `address` for a user-mode access of `kind`.
    public static func walk(_ address: VirtualAddress, _ kind: AccessKind, from start: Start,
                            memory: inout PhysicalMemory) -> Walk {
        var walk = Walk(outcome: .fault([]))
        let code = errorCode(for: kind)
        var level = start.level
        var table = start.table
        var rights = start.rights
        while true {
            let index = address.index(at: level)
            let entry = memory.readEntry(table, index)
            walk.record(Step(level: level, table: table, index: index, entry: entry))
            switch examine(entry, at: level, kind, code: code, rights: &rights) {
            case .fault(let code):
                walk.outcome = .fault(code)
                return walk
            case .leaf(let translation):
                walk.accessedDirtyBitsSet = setAccessedAndDirty(walk, kind, memory: &memory)
                walk.outcome = .translation(translation)
                return walk
            case .next(let next):
                table = next
                guard let below = level.below else { return walk }
                level = below
            }
        }
    }

    /// Sets A on every entry read that lacks it, and D on the leaf for a write
    /// (SDM 4.8). Returns how many bits it set.
    static func setAccessedAndDirty(_ walk: Walk, _ kind: AccessKind, memory: inout PhysicalMemory) -> Int {
        var count = 0
        for i in 0..<walk.references {
            let step = walk[i]
            var entry = step.entry
            var changed = false
            if !entry.has(.accessed) { entry.flags.insert(.accessed); count += 1; changed = true }
            if i == walk.references - 1 && kind == .write && !entry.has(.dirty) {
                entry.flags.insert(.dirty); count += 1; changed = true
            }
            if changed { memory.writeEntry(step.table, step.index, entry) }
        }
        return count
    }
}
