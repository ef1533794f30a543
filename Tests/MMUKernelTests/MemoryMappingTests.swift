import Testing
import MMUHardware
@testable import MMUKernel
import TestSupport

private func c(_ key: CostKey) -> UInt64 { Pinned.cost(key) }
private let core0 = CoreID(0)
private let base: UInt64 = 0x40_0000

@Suite("map, unmap, protect and exit")
struct MemoryMappingTests {
    @Test("unmap frees the page-table pages that no longer cover a region")
    func unmapFreesTables() {
        // Two regions in different 2 MiB areas share the PDPT and PD.
        var (system, _) = System.running(Pinned.configuration(), regions: [(base, 2, [.read, .write]), (0x80_0000, 1, [.read, .write])])
        for address in [base, base + 0x1000, 0x80_0000] {
            _ = system.access(core: core0, .write, VirtualAddress(address), store: 1)
        }
        #expect(system.frames.pageTableFrames == 5)
        let before = system.clock()
        system.unmap(core: core0, VirtualAddress(base), pages: 2)
        // syscall, 2 PTE clears, the PT freed (1 PDE write), INVLPG per page of the 2-page span.
        #expect(system.clock() - before == c(.syscall) + 2 * c(.pteWrite) + c(.pteWrite) + 2 * c(.invlpg))
        #expect(system.frames.pageTableFrames == 4)
        #expect(system.frames.dataFrames == 1)
        #expect(system.access(core: core0, .read, VirtualAddress(base)) == .segmentationFault)
        #expect(system.invariantViolations().isEmpty)
        // Unmapping the last region frees PT, PD and PDPT (3 entry writes).
        let before2 = system.clock()
        system.unmap(core: core0, VirtualAddress(0x80_0000), pages: 1)
        #expect(system.clock() - before2 == c(.syscall) + c(.pteWrite) + 3 * c(.pteWrite) + c(.invlpg))
        #expect(system.frames.pageTableFrames == 1)
    }

    @Test("a frame freed by one process comes back zeroed to another")
    func zeroFillOnDemand() throws {
        var (system, first) = System.running(Pinned.configuration(), regions: [(base, 1, [.read, .write])])
        _ = system.access(core: core0, .write, VirtualAddress(base), store: 0x5EC12E7)
        let table = try #require(system.kernel.leafTable(first, VirtualAddress(base), in: system.machine.memory))
        let secret = system.machine.memory.readEntry(table, 0).frame
        system.exit(core: core0)
        // Freed last-in first-out: PML4, PDPT, PD, PT, then the data frame come back in that order.
        let other = system.createProcess()
        system.contextSwitch(core: core0, to: other)
        system.map(core: core0, VirtualAddress(0x1000_0000), pages: 1, [.read, .write])
        #expect(system.access(core: core0, .write, VirtualAddress(0x1000_0008), store: 1) == .completed(1))
        let mine = system.machine.memory.readEntry(try #require(system.kernel.leafTable(other, VirtualAddress(0x1000_0000), in: system.machine.memory)), 0).frame
        #expect(mine == secret)
        #expect(system.access(core: core0, .read, VirtualAddress(0x1000_0000)) == .completed(0))
    }

    @Test("protect narrowing invalidates: a stale writable TLB entry is not used")
    func protectNarrowing() {
        var (system, _) = System.running(Pinned.configuration(), regions: [(base, 2, [.read, .write])])
        _ = system.access(core: core0, .write, VirtualAddress(base), store: 1)
        _ = system.access(core: core0, .write, VirtualAddress(base + 0x1000), store: 2)
        let before = system.clock()
        system.protect(core: core0, VirtualAddress(base), pages: 2, [.read])
        #expect(system.clock() - before == c(.syscall) + 2 * c(.pteWrite) + 2 * c(.invlpg))
        #expect(system.access(core: core0, .write, VirtualAddress(base), store: 3) == .segmentationFault)
        #expect(system.access(core: core0, .read, VirtualAddress(base)) == .completed(1))
        system.protect(core: core0, VirtualAddress(base), pages: 2, [.read, .write])
        #expect(system.access(core: core0, .write, VirtualAddress(base), store: 3) == .completed(3))
        #expect(system.invariantViolations().isEmpty)
    }

    @Test("protect over the flush ceiling does one full flush")
    func protectOverCeiling() {
        var configuration = Pinned.configuration()
        configuration.flushCeiling = 2
        var (system, _) = System.running(configuration, regions: [(base, 3, [.read, .write])])
        for page in 0..<UInt64(3) { _ = system.access(core: core0, .write, VirtualAddress(base + page << 12), store: 1) }
        let before = system.clock()
        system.protect(core: core0, VirtualAddress(base), pages: 3, [.read])
        #expect(system.clock() - before == c(.syscall) + 3 * c(.pteWrite) + c(.tlbFlush))
        #expect(system.machine.cores[0].statistics.tlbFlushes == 1)
        #expect(system.machine.cores[0].statistics.invlpgs == 0)
    }

    @Test("after every process exits no frame is leaked")
    func exitFreesEverything() throws {
        var (system, _) = System.running(Pinned.configuration(), regions: [(base, 8, [.read, .write])])
        for page in 0..<UInt64(8) { _ = system.access(core: core0, .write, VirtualAddress(base + page << 12), store: page) }
        let forked = system.fork(core: core0)
        let child = try #require(forked)
        system.exit(core: core0)
        system.contextSwitch(core: core0, to: child)
        _ = system.access(core: core0, .write, VirtualAddress(base), store: 1)
        system.exit(core: core0)
        #expect(system.frames.freeFrames == system.frames.frameCount - 1)
        #expect(system.frames.dataFrames == 0 && system.frames.pageTableFrames == 0)
        #expect(system.invariantViolations().isEmpty)
    }
}
