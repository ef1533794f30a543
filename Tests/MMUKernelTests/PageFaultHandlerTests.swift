import Testing
import MMUHardware
@testable import MMUKernel
import TestSupport

private func c(_ key: CostKey) -> UInt64 { Pinned.cost(key) }
private let core0 = CoreID(0)
private let base: UInt64 = 0x40_0000

@Suite("Page-fault handler")
struct PageFaultHandlerTests {
    @Test("a first write to a fresh region takes a demand-zero fault with exact cycles")
    func demandZeroWrite() {
        var (system, _) = System.running(Pinned.configuration(), regions: [(base, 4, [.read, .write])])
        let before = system.clock()
        let result = system.access(core: core0, .write, VirtualAddress(base), store: 0xABCD)
        #expect(result == .completed(0xABCD))
        // Faulting attempt: L1 + L2 lookups, a walk that stops at the empty PML4E (1 ref).
        let faulting = c(.tlbL1) + c(.tlbL2) + c(.walkPSC) * 0 + 1 * c(.walkRef)
        // Handler: entry, base cost, PDPT+PD+PT and the data frame (alloc + zero + PTE write each), exit.
        let table = c(.frameAlloc) + c(.frameZero) + c(.pteWrite)
        let handler = c(.faultEntry) + c(.kernelFault) + 3 * table + table + c(.faultExit)
        // Retry: L1 + L2 miss, a full 4-reference walk (A and D already set), the access.
        let retry = c(.tlbL1) + c(.tlbL2) + 4 * c(.walkRef) + c(.access)
        #expect(system.clock() - before == faulting + handler + retry)
        let core = system.machine.cores[0]
        #expect(core.statistics.pageFaults == 1)
        #expect(system.kernel.statistics[0].demandZeroFaults == 1)
        #expect(core.statistics.walks == 2)
        #expect(core.statistics.walkRefs == 5)
        #expect(system.kernel.statistics[0].pagesZeroed == 4)
        #expect(system.frames.dataFrames == 1)
        #expect(system.frames.pageTableFrames == 4)
        #expect(core.account[.zero] == 4 * c(.frameZero))
        #expect(core.account[.fault] == c(.faultEntry) + c(.faultExit))
        #expect(system.invariantViolations().isEmpty)
    }

    @Test("the second access to a page hits the L1 DTLB")
    func secondAccessHits() {
        var (system, _) = System.running(Pinned.configuration(), regions: [(base, 1, [.read, .write])])
        _ = system.access(core: core0, .write, VirtualAddress(base), store: 7)
        let before = system.clock()
        #expect(system.access(core: core0, .read, VirtualAddress(base + 8)) == .completed(0))
        #expect(system.access(core: core0, .read, VirtualAddress(base)) == .completed(7))
        #expect(system.clock() - before == 2 * (c(.tlbL1) + c(.access)))
        #expect(system.machine.cores[0].statistics.l1dHits == 2)
    }

    @Test("a read of a fresh page maps the shared zero frame read-only and copy-on-write")
    func zeroPageRead() {
        var (system, process) = System.running(Pinned.configuration(), regions: [(base, 2, [.read, .write])])
        #expect(system.access(core: core0, .read, VirtualAddress(base)) == .completed(0))
        #expect(system.kernel.statistics[0].zeroPageFaults == 1)
        #expect(system.frames.dataFrames == 0)
        let table = system.kernel.leafTable(process, VirtualAddress(base), in: system.machine.memory)
        let entry = table.map { system.machine.memory.readEntry($0, 0) }
        #expect(entry?.frame == .zeroPage)
        #expect(entry?.has(.copyOnWrite) == true)
        #expect(entry?.has(.writable) == false)
        #expect(entry?.has(.accessed) == true)
        // A write breaks it with a zeroed frame, not a copy.
        let before = system.clock()
        #expect(system.access(core: core0, .write, VirtualAddress(base), store: 5) == .completed(5))
        let stats = system.machine.cores[0].statistics
        #expect(system.kernel.statistics[0].demandZeroFaults == 1)
        #expect(system.kernel.statistics[0].cowCopyFaults == 0)
        #expect(system.kernel.statistics[0].pagesCopied == 0)
        #expect(system.frames.dataFrames == 1)
        // The L1 entry is read-only: dropped; L2 likewise; walk: 4 refs, fault.
        let faulting = c(.tlbL1) + c(.tlbL2) + 4 * c(.walkRef)
        let handler = c(.faultEntry) + c(.kernelFault) + c(.frameAlloc) + c(.frameZero)
            + 2 * c(.pteWrite) + c(.invlpg) + c(.faultExit)
        let retry = c(.tlbL1) + c(.tlbL2) + 4 * c(.walkRef) + c(.access)
        #expect(system.clock() - before == faulting + handler + retry)
        #expect(system.access(core: core0, .read, VirtualAddress(base)) == .completed(5))
    }

    @Test("with zero_page off a read fault allocates a zeroed frame")
    func zeroPageOff() {
        var configuration = Pinned.configuration()
        configuration.zeroPage = false
        var (system, _) = System.running(configuration, regions: [(base, 1, [.read])])
        #expect(system.access(core: core0, .read, VirtualAddress(base)) == .completed(0))
        #expect(system.kernel.statistics[0].demandZeroFaults == 1)
        #expect(system.frames.dataFrames == 1)
    }

    @Test("a write to a read-only region is a SIGSEGV that costs entry, handler and exit and is not retried")
    func segvOnReadOnlyWrite() {
        var (system, _) = System.running(Pinned.configuration(), regions: [(base, 1, [.read])])
        let before = system.clock()
        #expect(system.access(core: core0, .write, VirtualAddress(base), store: 1) == .segmentationFault)
        let walk = c(.tlbL1) + c(.tlbL2) + 1 * c(.walkRef)
        #expect(system.clock() - before == walk + c(.faultEntry) + c(.kernelFault) + c(.faultExit))
        let stats = system.machine.cores[0].statistics
        #expect(system.kernel.statistics[0].segmentationFaults == 1)
        #expect(stats.pageFaults == 1)
        #expect(stats.accesses == 0)
        // The process keeps running.
        #expect(system.access(core: core0, .read, VirtualAddress(base)) == .completed(0))
    }

    @Test("accesses outside every region, and fetches from non-executable regions, are SIGSEGV")
    func segvOutsideRegion() {
        var (system, _) = System.running(Pinned.configuration(), regions: [(base, 1, [.read, .write])])
        #expect(system.access(core: core0, .read, VirtualAddress(0x1000)) == .segmentationFault)
        #expect(system.access(core: core0, .fetch, VirtualAddress(base)) == .segmentationFault)
        #expect(system.kernel.statistics[0].segmentationFaults == 2)
    }

    @Test("a non-canonical address is a #GP delivered as SIGSEGV, not a #PF")
    func nonCanonical() {
        var (system, _) = System.running(Pinned.configuration(), regions: [(base, 1, [.read, .write])])
        let before = system.clock()
        #expect(system.access(core: core0, .read, VirtualAddress(0x0000_8000_0000_0000)) == .segmentationFault)
        #expect(system.clock() - before == c(.faultEntry) + c(.kernelFault) + c(.faultExit))
        #expect(system.machine.cores[0].statistics.pageFaults == 0)
        #expect(system.kernel.statistics[0].segmentationFaults == 1)
    }

    @Test("an access that crosses a page translates both pages and counts once")
    func crossingAccess() {
        var (system, _) = System.running(Pinned.configuration(), regions: [(base, 2, [.read, .write])])
        let address = VirtualAddress(base + 0xFFC)
        #expect(system.access(core: core0, .write, address, store: 0x1122_3344_5566_7788) == .completed(0x1122_3344_5566_7788))
        #expect(system.access(core: core0, .read, address) == .completed(0x1122_3344_5566_7788))
        #expect(system.access(core: core0, .read, VirtualAddress(base + 0x1000)) == .completed(0x1122_3344))
        let stats = system.machine.cores[0].statistics
        #expect(stats.accesses == 3)
        #expect(system.kernel.statistics[0].demandZeroFaults == 2)
    }

    @Test("running out of frames kills the process instead of crashing")
    func outOfMemory() {
        // 16 frames: the zero frame, the PML4, and 14 for tables and data.
        var (system, process) = System.running(Pinned.configuration(frames: 16), regions: [(base, 64, [.read, .write])])
        var killed = false
        for page in 0..<UInt64(64) {
            let result = system.access(core: core0, .write, VirtualAddress(base + page << 12), store: page)
            if result == .killed { killed = true; break }
            #expect(result == .completed(page))
        }
        #expect(killed)
        #expect(!system.isAlive(process))
        #expect(system.kernel.statistics[0].outOfMemoryKills == 1)
        #expect(system.current[0] == nil)
        #expect(system.frames.freeFrames == 15)
        #expect(system.invariantViolations().isEmpty)
    }
}
