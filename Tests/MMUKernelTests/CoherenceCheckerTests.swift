import Testing
import MMUHardware
@testable import MMUKernel
import TestSupport

private let base: UInt64 = 0x40_0000
private let core0 = CoreID(0), core1 = CoreID(1)

/// One process with a thread on each of two cores, `pages` rw pages mapped,
/// the coherence checker on and `defects` injected.
private func threads(_ strategy: ShootdownStrategy = .ipi, pages: UInt64 = 2, defects: KernelDefects = []) -> System {
    var configuration = Pinned.configuration(cores: 2)
    configuration.shootdown = strategy
    var system = System(configuration: configuration)
    system.checksCoherence = true
    system.defects = defects
    let process = system.createProcess()
    system.contextSwitch(core: core0, to: process)
    system.contextSwitch(core: core1, to: process)
    system.map(core: core0, VirtualAddress(base), pages: pages, [.read, .write])
    return system
}

@Suite("Coherence checker")
struct CoherenceCheckerTests {
    /// Core 1 caches the page, core 0 unmaps it and reuses its frame, core 1 reads it again.
    func unmapThenReuse(_ system: inout System) -> [AccessResult] {
        _ = system.access(core: core0, .write, VirtualAddress(base), store: 0x1111)
        _ = system.access(core: core1, .read, VirtualAddress(base))
        system.unmap(core: core0, VirtualAddress(base), pages: 1)
        // The freed frame goes straight to the next fault on core 0.
        _ = system.access(core: core0, .write, VirtualAddress(base + 0x1000), store: 0x2222)
        return [system.access(core: core1, .read, VirtualAddress(base))]
    }

    @Test("the sound kernel's unmap leaves no stale translation under every strategy",
          arguments: [ShootdownStrategy.ipi, .broadcast])
    func soundUnmap(_ strategy: ShootdownStrategy) {
        var system = threads(strategy)
        #expect(unmapThenReuse(&system) == [.segmentationFault])
        #expect(system.drainCoherenceViolations().isEmpty)
    }

    @Test("a deferred unmap may be used stale until the target's tick, and its frame is not reused before")
    func soundDeferred() {
        var system = threads(.deferred)
        // Before the tick, core 1 still reads the old value through its stale entry: allowed.
        #expect(unmapThenReuse(&system) == [.completed(0x1111)])
        #expect(system.frames.pendingFrames == 1)
        system.tick(core: core1)
        #expect(system.frames.pendingFrames == 0)
        #expect(system.access(core: core1, .read, VirtualAddress(base)) == .segmentationFault)
        #expect(system.drainCoherenceViolations().isEmpty)
    }

    @Test("a shootdown that skips a target is caught: the target uses its stale entry and the frame is reused")
    func skippedTarget() {
        var system = threads(defects: .skipFirstShootdownTarget)
        let results = unmapThenReuse(&system)
        let found = system.drainCoherenceViolations().map(\.message)
        #expect(results == [.completed(0x2222)])  // core 1 read another owner's data
        #expect(found.contains { $0.contains("handed out while core1 still caches a translation") })
        #expect(found.contains { $0.contains("used a stale translation") })
    }

    @Test("an unmap without any shootdown is caught")
    func missingShootdown() {
        var system = threads(defects: .skipUnmapShootdown)
        _ = unmapThenReuse(&system)
        #expect(!system.drainCoherenceViolations().isEmpty)
    }

    @Test("a deferred unmap that frees before the targets invalidate is caught at the reuse")
    func deferredEarlyFree() {
        var system = threads(.deferred, defects: .freeBeforeDeferredInvalidation)
        _ = unmapThenReuse(&system)
        #expect(system.drainCoherenceViolations().contains { $0.message.contains("handed out while core1") })
    }

    /// Dirty COW's shape: a thread keeps a writable entry to a frame that fork
    /// has just shared with the child, and writes through it.
    func writeThroughStaleEntryAfterFork(_ system: inout System) -> ProcessID? {
        _ = system.access(core: core1, .write, VirtualAddress(base), store: 0xAAAA)
        let child = system.fork(core: core0)
        _ = system.access(core: core1, .write, VirtualAddress(base), store: 0xBBBB)
        return child
    }

    @Test("fork's closing flush reaches the other thread: its next write breaks COW and the child keeps the old value")
    func soundForkFlush() throws {
        var system = threads()
        let child = writeThroughStaleEntryAfterFork(&system)
        #expect(system.kernel.statistics[1].cowCopyFaults == 1)
        #expect(system.drainCoherenceViolations().isEmpty)
        system.contextSwitch(core: core1, to: try #require(child))
        #expect(system.access(core: core1, .read, VirtualAddress(base)) == .completed(0xAAAA))
    }

    @Test("a fork whose flush misses the other thread is caught: the write reaches the frame shared with the child")
    func forkFlushMissed() throws {
        var system = threads(defects: .skipFirstShootdownTarget)
        let child = writeThroughStaleEntryAfterFork(&system)
        let found = system.drainCoherenceViolations().map(\.message)
        #expect(found.contains { $0.contains("which the process no longer maps writable") })
        system.contextSwitch(core: core1, to: try #require(child))
        // The isolation failure the checker reported: the child sees the parent's write.
        #expect(system.access(core: core1, .read, VirtualAddress(base)) == .completed(0xBBBB))
    }

    @Test("a COW break that does not invalidate the other thread's entry is caught")
    func cowBreakWithoutInvalidation() {
        var system = threads(defects: .cowBreakWithoutInvalidation)
        _ = system.access(core: core0, .write, VirtualAddress(base), store: 1)
        _ = system.fork(core: core0)
        _ = system.access(core: core1, .read, VirtualAddress(base))   // core 1 caches the shared frame
        _ = system.access(core: core0, .write, VirtualAddress(base), store: 2)  // COW copy on core 0
        #expect(system.access(core: core1, .read, VirtualAddress(base)) == .completed(1))  // stale: misses the new value
        #expect(system.drainCoherenceViolations().contains { $0.message.contains("through a stale translation") })
    }

    @Test("a frame handed out without zero-fill is caught and leaks the old owner's data")
    func missingZeroFill() {
        var configuration = Pinned.configuration()
        configuration.zeroPage = false
        var system = System(configuration: configuration)
        system.checksCoherence = true
        system.defects = .skipZeroFill
        let first = system.createProcess()
        system.contextSwitch(core: core0, to: first)
        system.map(core: core0, VirtualAddress(base), pages: 1, [.read, .write])
        _ = system.access(core: core0, .write, VirtualAddress(base), store: 0x5EC12E7)
        system.exit(core: core0)
        let second = system.createProcess()
        system.contextSwitch(core: core0, to: second)
        system.map(core: core0, VirtualAddress(base), pages: 1, [.read, .write])
        #expect(system.access(core: core0, .read, VirtualAddress(base)) == .completed(0x5EC12E7))
        #expect(system.drainCoherenceViolations().contains { $0.message.contains("previous owner's data") })
    }
}
