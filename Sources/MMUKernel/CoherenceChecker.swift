import MMUHardware

/// A moment the machine broke TLB coherence or isolation.
public struct CoherenceViolation: Hashable, Sendable, CustomStringConvertible {
    public var core: CoreID
    public var clock: CycleCount
    public var message: String
    public var description: String { "\(core) @\(clock): \(message)" }
}

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
/// is queued on that core.
struct CoherenceChecker: Sendable {
    private(set) var violations: [CoherenceViolation] = []
    /// Translations checked so far.
    private(set) var translationsChecked: UInt64 = 0

    /// A translation `core` used: is it still what the page tables say?
    mutating func checkTranslation(core: CoreID, _ address: VirtualAddress, _ kind: AccessKind, _ physical: PhysicalAddress,
                                   kernel: Kernel, machine: Machine) {
        translationsChecked &+= 1
        guard let process = kernel.scheduler[core] else { return }
        if kernel.deferred.owes(core, process, address.page) { return }
        let leaf = kernel.leaf(process, address, in: machine.pageTables)
        let entry = leaf?.1 ?? .empty
        // The frame the page tables give `address` now (a huge leaf's frame plus the offset into it).
        var mapped = FrameNumber(entry.frame.rawValue + address.page.rawValue - (leaf?.0.firstPage.rawValue ?? address.page.rawValue))
        var problem: String? = nil
        // In a guest the page tables give a guest frame: the nested tables give its host frame.
        var hostWritable = true
        if machine.softwareView != nil && entry.isPresent {
            if let host = machine.hostFrame(of: mapped) {
                mapped = host.frame
                hostWritable = host.writable
            } else {
                problem = "\(kind) \(address) reached host frame \(physical.frame.rawValue), but no host frame backs guest frame \(mapped.rawValue) any more"
            }
        }
        if problem != nil {
        } else if !entry.isPresent {
            problem = "\(kind) \(address) used a stale translation to frame \(physical.frame.rawValue): the page is no longer mapped"
        } else if mapped != physical.frame {
            problem = "\(kind) \(address) reached frame \(physical.frame.rawValue) through a stale translation: the page now maps frame \(mapped.rawValue)"
        } else if kind == .write && !entry.has(.writable) {
            problem = "write \(address) reached frame \(physical.frame.rawValue), which the process no longer maps writable"
        } else if kind == .write && !hostWritable {
            problem = "write \(address) reached host frame \(physical.frame.rawValue), which the hypervisor maps read-only (shared)"
        } else if kind == .fetch && entry.has(.noExecute) {
            problem = "fetch \(address) through a stale executable translation: the page is no longer executable"
        }
        if let problem { violations.append(CoherenceViolation(core: core, clock: machine[core].clock, message: problem)) }
    }

    /// At allocation: no core may still translate to a frame of `block` or walk through it.
    /// `usable` says whether an entry of `other` tagged with a PCID could
    /// still be used (a guest's kernel checks its VM's entries only; the
    /// host skips a VM's entries that its next VM entry flushes).
    mutating func checkReuse(of block: Range<FrameNumber>, by core: CoreID, machine: Machine, scheduler: Scheduler, pcid: Bool,
                             usable: (CoreID, PCID) -> Bool = { _, _ in true }, checkPagingStructures: Bool = true) {
        let frame = block.lowerBound
        let clock = machine[core].clock
        for other in machine.cores {
            // With PCIDs off an idle core's leftovers can never be used: its next
            // switch writes CR3, which flushes them (Linux's lazy TLB mode).
            if !pcid && scheduler[other.id] == nil { continue }
            if let stale = other.cachedTranslation(to: block, where: { usable(other.id, $0) }) {
                violations.append(CoherenceViolation(core: core, clock: clock,
                    message: "frame \(stale.frame.rawValue) handed out while \(other.id) still caches a translation to it (\(stale.address), \(stale.pcid))"))
                return
            }
            // A guest's paging-structure-cache entries name guest frames, not host ones.
            if checkPagingStructures && other.cachesPagingStructure(in: block, where: { $0.vpid == 0 }) {
                violations.append(CoherenceViolation(core: core, clock: clock,
                    message: "frame \(frame.rawValue) handed out while \(other.id)'s paging-structure cache still points to it"))
                return
            }
        }
    }

    /// After zeroing: the frame a process gets must read as zeros.
    mutating func checkZeroed(_ frame: FrameNumber, by core: CoreID, machine: Machine) {
        if !machine.isZero(frame) {
            violations.append(CoherenceViolation(core: core, clock: machine[core].clock,
                message: "frame \(frame.rawValue) handed out with the previous owner's data (not zeroed)"))
        }
    }

    /// Hands over the violations found so far.
    mutating func drain() -> [CoherenceViolation] {
        defer { violations.removeAll() }
        return violations
    }
}
