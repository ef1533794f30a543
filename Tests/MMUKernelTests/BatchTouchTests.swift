import Testing
@testable import MMUHardware
@testable import MMUKernel
import TestSupport

/// The batch entry point (`System.touch(core:_:observer:)`, what a streamed
/// replay runs) takes L1 hits a short way (`Core.translateByL1Hit`, runs of
/// them `Core.runL1Hits`) and clean L1 misses on from after the L1's lookup;
/// every record must still end, cost and count exactly as the general
/// access path (`Machine.execute(_:on:os:logging:)`) has it.
@Suite("Trace records in batches")
struct BatchTouchTests {
    struct Record: TouchRecord {
        var kind: AccessKind
        var address: VirtualAddress
        var bytes: UInt64
    }

    struct Log: TouchObserver {
        var seen: [(ExecutionOutcome, CycleCount)] = []
        mutating func touched(_ outcome: ExecutionOutcome, cycles: CycleCount) { seen.append((outcome, cycles)) }
    }

    static let cases: [(seed: UInt64, pcid: Bool, thp: TransparentHugePages, levels: Int, vm: Bool)] = [
        (1, true, .never, 4, false), (2, false, .never, 4, false), (3, true, .always, 4, false),
        (4, true, .never, 5, false), (5, true, .never, 4, true), (6, false, .always, 4, true),
    ]

    /// Random records over a read-write region, a read-only one, an unmapped
    /// gap and non-canonical addresses, in sizes that sometimes cross a page,
    /// mostly on a few hot pages (so runs of hits form and break); between
    /// batches a page is sometimes protected, or unmapped and mapped again. The same records
    /// go through both entry points on two identical systems.
    @Test("every record ends and costs the same in a batch as alone, and the statistics agree",
          arguments: 0..<cases.count)
    func batchesMatchSingleRecords(_ index: Int) throws {
        let setup = Self.cases[index]
        var configuration = Pinned.configuration(frames: 3000, pscEntries: 2)
        configuration.pcid = setup.pcid
        configuration.thp = setup.thp
        configuration.pagingLevels = setup.levels
        configuration.geometry.pml5eCacheEntries = setup.levels == 5 ? 2 : 0
        configuration.geometry.l1dEntries = 16
        configuration.geometry.l1dWays = 4
        configuration.geometry.l1iEntries = 4
        configuration.geometry.l1iWays = 4
        var batched = System(configuration: configuration)
        let process: ProcessID
        if setup.vm {
            _ = batched.createVirtualMachine(id: 1, frames: 1500)
            process = batched.createProcess(inVM: 0)
        } else {
            process = batched.createProcess()
        }
        batched.contextSwitch(core: CoreID(0), to: process)
        let rw: UInt64 = 0x40_0000, ro: UInt64 = 0x80_0000, gap: UInt64 = 0x100_0000
        batched.map(core: CoreID(0), VirtualAddress(rw), pages: 512, [.read, .write, .execute])
        batched.map(core: CoreID(0), VirtualAddress(ro), pages: 64, [.read])
        var single = batched

        var random = SeededRandom(seed: setup.seed)
        let hot = (0..<6).map { _ in UInt64.random(in: 0..<512, using: &random) }
        func address() -> UInt64 {
            switch UInt64.random(in: 0..<100, using: &random) {
            case 0..<70: return rw + hot[Int.random(in: 0..<hot.count, using: &random)] << 12 + UInt64.random(in: 0..<4096, using: &random)
            case 70..<85: return rw + UInt64.random(in: 0..<(512 << 12), using: &random)
            case 85..<95: return ro + UInt64.random(in: 0..<(64 << 12), using: &random)
            case 95..<98: return gap + UInt64.random(in: 0..<(16 << 12), using: &random)
            default: return 0x8000_0000_0000_0000 | UInt64.random(in: 0..<(1 << 20), using: &random)
            }
        }
        var records: [Record] = []
        var expected: [(ExecutionOutcome, CycleCount)] = []
        var log = Log()
        for _ in 0..<60 {
            let count = Int.random(in: 1..<400, using: &random)
            let batch = (0..<count).map { _ in
                Record(kind: [AccessKind.read, .write, .fetch][Int.random(in: 0..<3, using: &random)],
                       address: VirtualAddress(address()), bytes: UInt64.random(in: 0..<17, using: &random))
            }
            records += batch
            for record in batch {
                let before = single.machine.cores[0].clock
                // The general path itself, with no short way for hits.
                let outcome = single.machine.execute(.reference(record.kind, record.address, bytes: record.bytes),
                                                     on: CoreID(0), os: &single.kernel, logging: false)
                expected.append((outcome, single.machine.cores[0].clock &- before))
            }
            batch.withUnsafeBufferPointer { batched.touch(core: CoreID(0), $0, observer: &log) }
            // Now and then a change that invalidates translations, on both.
            let page = VirtualAddress(rw + hot[Int.random(in: 0..<hot.count, using: &random)] << 12)
            switch Int.random(in: 0..<10, using: &random) {
            case 0:
                single.protect(core: CoreID(0), page, pages: 1, [.read])
                batched.protect(core: CoreID(0), page, pages: 1, [.read])
            case 1:
                single.protect(core: CoreID(0), page, pages: 1, [.read, .write, .execute])
                batched.protect(core: CoreID(0), page, pages: 1, [.read, .write, .execute])
            case 2:
                single.unmap(core: CoreID(0), page, pages: 1)
                batched.unmap(core: CoreID(0), page, pages: 1)
                // Mapped again: its translations are gone, it faults in afresh.
                single.map(core: CoreID(0), page, pages: 1, [.read, .write, .execute])
                batched.map(core: CoreID(0), page, pages: 1, [.read, .write, .execute])
            default: break
            }
        }
        #expect(log.seen.count == records.count)
        for (i, (got, want)) in zip(log.seen, expected).enumerated() {
            #expect(got.0 == want.0 && got.1 == want.1, "record \(i) \(records[i]): batch \(got), alone \(want)")
            if got.0 == want.0 && got.1 == want.1 { continue }
            break
        }
        for name in single.statisticNames {
            #expect(batched.statistic(name) == single.statistic(name), "\(name)")
        }
        // The runs were there to take: many records hit the L1.
        let hits = (single.statistic("tlb.l1d.hits") ?? 0) + (single.statistic("tlb.l1i.hits") ?? 0)
        #expect(hits > UInt64(records.count / 3))
        #expect(batched.machine.cores[0].clock == single.machine.cores[0].clock)
    }

    /// A load, store or fetch on its own (`Machine.execute`) that hits the
    /// L1 takes a short way (`Core.translateByL1Hit`) unless a checker
    /// watches translations; with the coherence checker on, every access goes
    /// the general way. Both must read, cost and count the same.
    @Test("loads, stores and fetches end, read and cost the same with and without a checker watching",
          arguments: 0..<3)
    func singleAccessesMatchTheGeneralPath(_ index: Int) throws {
        var configuration = Pinned.configuration(frames: 2000, pscEntries: 2)
        configuration.pagingLevels = index == 2 ? 5 : 4
        configuration.geometry.pml5eCacheEntries = index == 2 ? 2 : 0
        configuration.thp = index == 1 ? .always : .never
        var short = System(configuration: configuration)
        let process = short.createProcess()
        short.contextSwitch(core: CoreID(0), to: process)
        let rw: UInt64 = 0x40_0000, ro: UInt64 = 0x80_0000
        short.map(core: CoreID(0), VirtualAddress(rw), pages: 512, [.read, .write, .execute])
        short.map(core: CoreID(0), VirtualAddress(ro), pages: 16, [.read])
        var general = short
        general.checksCoherence = true
        var random = SeededRandom(seed: 77 &+ UInt64(index))
        let hot = (0..<6).map { _ in UInt64.random(in: 0..<512, using: &random) }
        for step in 0..<20_000 {
            let address: UInt64
            switch UInt64.random(in: 0..<10, using: &random) {
            case 0..<7: address = rw + hot[Int.random(in: 0..<hot.count, using: &random)] << 12 + UInt64.random(in: 0..<4096, using: &random)
            case 7: address = ro + UInt64.random(in: 0..<(16 << 12), using: &random)
            case 8: address = rw + UInt64.random(in: 0..<(512 << 12), using: &random)
            default: address = 0xFFFF_0000_0000_0000 | UInt64.random(in: 0..<(1 << 20), using: &random)
            }
            let kind = [AccessKind.read, .write, .fetch][Int.random(in: 0..<3, using: &random)]
            let value = random.next()
            let a = short.access(core: CoreID(0), kind, VirtualAddress(address), store: value)
            let b = general.access(core: CoreID(0), kind, VirtualAddress(address), store: value)
            #expect(a == b, "step \(step): \(kind) \(address)")
            guard a == b else { break }
            if step % 500 == 499 {
                let page = VirtualAddress(rw + hot[Int.random(in: 0..<hot.count, using: &random)] << 12)
                let permissions: RegionPermissions = step % 1000 == 999 ? [.read, .write, .execute] : [.read]
                short.protect(core: CoreID(0), page, pages: 1, permissions)
                general.protect(core: CoreID(0), page, pages: 1, permissions)
            }
        }
        for name in short.statisticNames { #expect(short.statistic(name) == general.statistic(name), "\(name)") }
        #expect(general.translationsChecked > 0)
        #expect(general.drainCoherenceViolations().isEmpty)
    }
}
