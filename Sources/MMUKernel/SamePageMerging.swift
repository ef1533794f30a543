import MMUHardware

/// `ksm` (Linux's `mm/ksm.c`, run over every VM's memory as KVM registers
/// it): one pass over every present guest page of every VM, VMs in order
/// and each VM's pages by guest-physical address. Each page's 4 KiB are
/// compared with the pages seen so far (`cost.ksm.page` each, on the core
/// that runs the scan); a page identical to an earlier one is merged into
/// that one's host frame: both mappings become read-only, the nested
/// translations are shot down (INVEPT) and the page's own frame goes back to
/// the pool. A later guest write breaks the sharing by host copy-on-write.
/// Contents are the frames' real bytes: pages written with the same values
/// merge, others do not.
enum SamePageMerging {
    /// A page kept as a merge target: its host frame, and where it is mapped first.
    struct Candidate {
        var frame: FrameNumber
        var vm: Int
        var guestFrame: FrameNumber
        /// Whether its own mapping was made read-only yet.
        var writeProtected: Bool
    }

    static func scan(on core: CoreID, kernel: inout Kernel, machine: inout Machine) {
        let view = machine.softwareView
        machine.setSoftwareView(nil)
        defer { machine.setSoftwareView(view) }
        machine[core].begin(.samePageMerging)
        defer { machine[core].end(.samePageMerging) }
        var candidates: [UInt64: [Candidate]] = [:]
        for vm in kernel.hypervisor.machines.indices {
            let controls = kernel.hypervisor.machines[vm].controls
            var pages: [(FrameNumber, FrameNumber)] = []
            PageTableVisitor.forEach(in: machine.memory, root: controls.nestedRoot, level: controls.nestedRootLevel) { slot, entry in
                guard slot.isLeaf(entry) else { return .descend }
                pages.append((FrameNumber(slot.firstPage.rawValue), entry.frame))
                return .skip
            }
            for (guestFrame, frame) in pages {
                machine[core].charge(.ksmPage)
                kernel.statistics[core.rawValue].ksmScanned &+= 1
                let digest = Self.digest(frame, machine.memory)
                var group = candidates[digest] ?? []
                if let i = group.firstIndex(where: { $0.frame == frame || sameBytes($0.frame, frame, machine.memory) }) {
                    guard group[i].frame != frame else { continue }
                    if !group[i].writeProtected {
                        writeProtect(vm: group[i].vm, group[i].guestFrame, frame: group[i].frame, on: core, kernel: &kernel,
                                     machine: &machine)
                        group[i].writeProtected = true
                    }
                    merge(vm: vm, guestFrame, from: frame, into: group[i].frame, on: core, kernel: &kernel, machine: &machine)
                } else {
                    group.append(Candidate(frame: frame, vm: vm, guestFrame: guestFrame, writeProtected: false))
                }
                candidates[digest] = group
            }
        }
    }

    /// Makes the first mapping of a merge target read-only (and clean).
    private static func writeProtect(vm: Int, _ guestFrame: FrameNumber, frame: FrameNumber, on core: CoreID,
                                     kernel: inout Kernel, machine: inout Machine) {
        guard let (table, index, entry) = kernel.nestedLeaf(vm, guestFrame, machine: machine),
              entry.has(.writable) else { return }
        kernel.writeNestedEntry(PageTableEntry(frame: frame, flags: Hypervisor.leafFlags), table, index, on: core,
                                machine: &machine)
        NestedShootdown.invalidate(vm: vm, initiator: core, kernel: &kernel, machine: &machine)
    }

    /// Points guest frame `guestFrame` of `vm` at `target`, read-only, and
    /// drops its old frame.
    private static func merge(vm: Int, _ guestFrame: FrameNumber, from old: FrameNumber, into target: FrameNumber,
                              on core: CoreID, kernel: inout Kernel, machine: inout Machine) {
        guard let (table, index, _) = kernel.nestedLeaf(vm, guestFrame, machine: machine) else { return }
        kernel.frames.retain(target)
        kernel.writeNestedEntry(PageTableEntry(frame: target, flags: Hypervisor.leafFlags), table, index, on: core,
                                machine: &machine)
        NestedShootdown.invalidate(vm: vm, initiator: core, kernel: &kernel, machine: &machine)
        kernel.statistics[core.rawValue].ksmMerged &+= 1
        machine.note(.samePageMerge(guestFrame: guestFrame, into: target), on: core)
        if kernel.frames.drop(old) { kernel.frames.free(old) }
    }

    /// A checksum of a frame's contents (KSM's `calc_checksum`), to find candidates fast.
    static func digest(_ frame: FrameNumber, _ memory: PhysicalMemory) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for i in 0..<Paging.entriesPerTable {
            hash = (hash ^ memory.readWord(frame, Int(i))) &* 0x0000_0100_0000_01b3
        }
        return hash
    }

    /// Whether two frames hold the same 4 KiB.
    static func sameBytes(_ a: FrameNumber, _ b: FrameNumber, _ memory: PhysicalMemory) -> Bool {
        (0..<Int(Paging.entriesPerTable)).allSatisfy { memory.readWord(a, $0) == memory.readWord(b, $0) }
    }
}

extension Event.Span {
    /// One `ksm` scan.
    static let samePageMerging = Event.Span("same-page merging", category: "kernel")
}
