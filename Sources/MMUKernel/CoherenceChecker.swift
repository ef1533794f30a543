import MMUHardware

/// A moment the machine broke TLB coherence or isolation.
public struct CoherenceViolation: Hashable, Sendable, CustomStringConvertible {
    public var core: CoreID
    public var clock: CycleCount
    public var message: String
    public var description: String { "\(core) @\(clock): \(message)" }
}

/// Deliberately broken kernel variants, so tests can show the checkers catch
/// the bugs real copy-on-write kernels have had. Never set outside tests.
struct KernelDefects: OptionSet, Sendable {
    let rawValue: UInt8
    /// `ipi` skips the first target of every shootdown.
    static let skipFirstShootdownTarget = KernelDefects(rawValue: 1 << 0)
    /// `unmap` invalidates nothing and frees its frames at once.
    static let skipUnmapShootdown = KernelDefects(rawValue: 1 << 1)
    /// `deferred` frees the frames before the targets have invalidated.
    static let freeBeforeDeferredInvalidation = KernelDefects(rawValue: 1 << 2)
    /// A COW break installs the new frame without invalidating the old
    /// translation anywhere (Dirty COW's stale writable path).
    static let cowBreakWithoutInvalidation = KernelDefects(rawValue: 1 << 3)
    /// Frames are handed out without being zeroed (still charged as zeroed).
    static let skipZeroFill = KernelDefects(rawValue: 1 << 4)
}

extension System {
    /// The coherence checker (`--check-coherence`): after every translation,
    /// compares what the core used with the page tables as they are now, and at
    /// every frame allocation looks for any core still caching a path to it.
    ///
    /// Flags: an access translated through an entry whose invalidation has
    /// completed (the page is unmapped, or maps another frame, or no longer
    /// allows the access: a write reaching a frame not mapped writable); a frame
    /// handed out while some core may still translate to it or walk through it
    /// (reused before a pending invalidation); a fresh frame that is not zero.
    /// A stale translation is allowed only while a deferred invalidation for it
    /// is queued on that core (SPEC 3, `deferred`).
    mutating func checkTranslation(core: CoreID, _ address: VirtualAddress, _ kind: AccessKind, _ physical: PhysicalAddress) {
        let c = core.rawValue
        guard let process = current[c] else { return }
        let page = address.pageNumber
        let pending = deferredQueues[c].contains { item in
            guard item.process == process else { return false }
            switch item.span {
            case .everything: return true
            case .pages(let first, let count): return page >= first && page < first + count
            }
        }
        if pending { return }
        let entry = leafTable(process, address).map { machine.memory.readEntry($0, address.index(at: .pt)) } ?? .empty
        var problem: String? = nil
        if !entry.isPresent {
            problem = "\(kind) \(address) used a stale translation to frame \(physical.frame.rawValue): the page is no longer mapped"
        } else if entry.frame != physical.frame {
            problem = "\(kind) \(address) reached frame \(physical.frame.rawValue) through a stale translation: the page now maps frame \(entry.frame.rawValue)"
        } else if kind == .write && !entry.has(.writable) {
            problem = "write \(address) reached frame \(physical.frame.rawValue), which the process no longer maps writable"
        } else if kind == .fetch && entry.has(.noExecute) {
            problem = "fetch \(address) through a stale executable translation: the page is no longer executable"
        }
        if let problem {
            coherenceViolations.append(CoherenceViolation(core: core, clock: machine.cores[c].clock, message: problem))
        }
    }

    /// At allocation: no core may still translate to `frame` or walk through it.
    mutating func checkReuse(of frame: FrameNumber, by core: CoreID) {
        for other in machine.cores {
            // With PCIDs off an idle core's leftovers can never be used: its next
            // switch writes CR3, which flushes them (Linux's lazy TLB mode).
            if !configuration.pcid && current[other.id.rawValue] == nil { continue }
            for tlb in [other.l1d, other.l1i, other.l2] {
                if let stale = tlb.entry(mapping: frame) {
                    coherenceViolations.append(CoherenceViolation(core: core, clock: machine.cores[core.rawValue].clock,
                        message: "frame \(frame.rawValue) handed out while \(other.id) still caches a translation to it (\(stale.address), \(stale.pcid))"))
                    return
                }
            }
            for psc in [other.pml4eCache, other.pdpteCache, other.pdeCache] where psc.references(frame) {
                coherenceViolations.append(CoherenceViolation(core: core, clock: machine.cores[core.rawValue].clock,
                    message: "frame \(frame.rawValue) handed out while \(other.id)'s paging-structure cache still points to it"))
                return
            }
        }
    }

    /// After zeroing: the frame a process gets must read as zeros.
    mutating func checkZeroed(_ frame: FrameNumber, by core: CoreID) {
        if !machine.memory.isZero(frame) {
            coherenceViolations.append(CoherenceViolation(core: core, clock: machine.cores[core.rawValue].clock,
                message: "frame \(frame.rawValue) handed out with the previous owner's data (not zeroed)"))
        }
    }

    /// Hands over the violations found so far.
    public mutating func drainCoherenceViolations() -> [CoherenceViolation] {
        defer { coherenceViolations.removeAll() }
        return coherenceViolations
    }
}
