import Testing
import MMUHardware
@testable import MMUKernel
import TestSupport

private func c(_ key: CostKey) -> UInt64 { Pinned.cost(key) }
private let core0 = CoreID(0)
private let base: UInt64 = 0x40_0000

@Suite("fork and copy-on-write")
struct ForkTests {
    /// A parent with `pages` written pages (value = page index + 1).
    func parent(pages: UInt64, _ configuration: Configuration = Pinned.configuration()) -> (System, ProcessID) {
        var (system, parent) = System.running(configuration, regions: [(base, pages, [.read, .write])])
        for page in 0..<pages {
            _ = system.access(core: core0, .write, VirtualAddress(base + page << 12), store: page + 1)
        }
        return (system, parent)
    }

    @Test("fork shares every page until a write, at an exact cost")
    func forkShares() {
        var (system, parent) = parent(pages: 3)
        let dataBefore = system.frames.dataFrames
        let before = system.clock()
        let child = system.fork(core: core0)
        // syscall; child PML4, PDPT, PD, PT (alloc + zero each) and 3 upper-level
        // PTE writes; fork.pte per present leaf; the closing local flush.
        let tables = 4 * (c(.frameAlloc) + c(.frameZero)) + 3 * c(.pteWrite)
        #expect(system.clock() - before == c(.syscall) + tables + 3 * c(.forkPTE) + c(.tlbFlush))
        #expect(system.frames.dataFrames == dataBefore)
        #expect(system.frames.pageTableFrames == 8)
        #expect(system.machine.cores[0].statistics.tlbFlushes == 1)
        let table = system.kernel.leafTable(parent, VirtualAddress(base), in: system.machine.memory)!
        for page in 0..<UInt64(3) {
            let entry = system.machine.memory.readEntry(table, page)
            #expect(entry.has(.copyOnWrite) && !entry.has(.writable))
            #expect(system.frames.referenceCount(entry.frame) == 2)
        }
        #expect(child.map { system.isAlive($0) } == true)
        #expect(system.invariantViolations().isEmpty)
    }

    @Test("only the written page is copied and the parent still reads its old data")
    func onlyWrittenPageCopied() throws {
        var (system, _) = parent(pages: 3)
        let parent = try #require(system.current[0])
        let forked = system.fork(core: core0)
        let child = try #require(forked)
        system.contextSwitch(core: core0, to: child)
        let before = system.clock()
        #expect(system.access(core: core0, .write, VirtualAddress(base + 0x1000), store: 0xC0FFEE) == .completed(0xC0FFEE))
        // L1 and L2 miss (the switch's PCID is new), walk of 4 refs faults (protection);
        // handler: alloc + copy, clear PTE, INVLPG, install; retry walks again.
        let walk = c(.tlbL1) + c(.tlbL2) + 4 * c(.walkRef)
        let handler = c(.faultEntry) + c(.kernelFault) + c(.frameAlloc) + c(.frameCopy)
            + 2 * c(.pteWrite) + c(.invlpg) + c(.faultExit)
        #expect(system.clock() - before == walk + handler + walk + c(.access))
        let stats = system.machine.cores[0].statistics
        #expect(system.kernel.statistics[0].cowCopyFaults == 1)
        #expect(system.kernel.statistics[0].pagesCopied == 1)
        #expect(system.frames.dataFrames == 4)
        // The child sees its write and the other pages' shared data.
        #expect(system.access(core: core0, .read, VirtualAddress(base + 0x1000)) == .completed(0xC0FFEE))
        #expect(system.access(core: core0, .read, VirtualAddress(base)) == .completed(1))
        system.contextSwitch(core: core0, to: parent)
        #expect(system.access(core: core0, .read, VirtualAddress(base + 0x1000)) == .completed(2))
        #expect(system.invariantViolations().isEmpty)
    }

    @Test("the last holder of a COW page reuses its frame without copying")
    func lastHolderReuses() throws {
        var (system, _) = parent(pages: 1)
        let parent = try #require(system.current[0])
        let forked = system.fork(core: core0)
        let child = try #require(forked)
        system.contextSwitch(core: core0, to: child)
        system.exit(core: core0)
        system.contextSwitch(core: core0, to: parent)
        let before = system.clock()
        #expect(system.access(core: core0, .write, VirtualAddress(base), store: 9) == .completed(9))
        let walk = c(.tlbL1) + c(.tlbL2) + 4 * c(.walkRef)
        let handler = c(.faultEntry) + c(.kernelFault) + c(.pteWrite) + c(.faultExit)
        #expect(system.clock() - before == walk + handler + walk + c(.access))
        let stats = system.machine.cores[0].statistics
        #expect(system.kernel.statistics[0].cowReuseFaults == 1)
        #expect(system.kernel.statistics[0].cowCopyFaults == 0)
        #expect(system.frames.dataFrames == 1)
        #expect(system.invariantViolations().isEmpty)
    }

    @Test("fork copy copies every present page at once and no COW fault follows")
    func eagerFork() throws {
        var configuration = Pinned.configuration()
        configuration.fork = .copy
        var (system, _) = parent(pages: 2, configuration)
        let before = system.clock()
        let forked = system.fork(core: core0)
        let child = try #require(forked)
        let tables = 4 * (c(.frameAlloc) + c(.frameZero)) + 3 * c(.pteWrite)
        let pages = 2 * (c(.forkPTE) + c(.frameAlloc) + c(.frameCopy))
        #expect(system.clock() - before == c(.syscall) + tables + pages + c(.tlbFlush))
        #expect(system.frames.dataFrames == 4)
        #expect(system.kernel.statistics[0].pagesCopied == 2)
        system.contextSwitch(core: core0, to: child)
        #expect(system.access(core: core0, .write, VirtualAddress(base), store: 5) == .completed(5))
        let stats = system.machine.cores[0].statistics
        #expect(system.kernel.statistics[0].cowCopyFaults == 0 && system.kernel.statistics[0].cowReuseFaults == 0)
        #expect(system.invariantViolations().isEmpty)
    }

    @Test("a read-only region's shared pages stay read-only after protect makes it writable")
    func protectAfterForkKeepsCOW() throws {
        var (system, _) = System.running(Pinned.configuration(), regions: [(base, 1, [.read, .write])])
        _ = system.access(core: core0, .write, VirtualAddress(base), store: 42)
        system.protect(core: core0, VirtualAddress(base), pages: 1, [.read])
        let parent = try #require(system.current[0])
        let forked = system.fork(core: core0)
        let child = try #require(forked)
        system.contextSwitch(core: core0, to: child)
        system.protect(core: core0, VirtualAddress(base), pages: 1, [.read, .write])
        #expect(system.access(core: core0, .write, VirtualAddress(base), store: 7) == .completed(7))
        #expect(system.kernel.statistics[0].cowCopyFaults == 1)
        system.contextSwitch(core: core0, to: parent)
        #expect(system.access(core: core0, .read, VirtualAddress(base)) == .completed(42))
        #expect(system.invariantViolations().isEmpty)
    }
}
