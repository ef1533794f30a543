import Foundation
import Testing
import MMUHardware
import MMUKernel
@testable import MMUTrace
import TestSupport

/// Lackey text: one ` S` (or ` L`) record of 8 bytes per address.
func lackeyText(_ addresses: [UInt64], store: Bool = true) -> String {
    addresses.map { (store ? " S " : " L ") + String($0, radix: 16) + ",8\n" }.joined()
}

/// A Lackey reader over `text`, read from a temporary file (removed by `cleanup`).
func lackeyReader(_ text: String, _ files: inout [TemporaryFile]) throws -> LackeyReader {
    let file = try TemporaryFile("t\(files.count).lackey", text: text)
    files.append(file)
    return try LackeyReader(path: file.path)
}

/// A Lackey trace with a mix of hits, misses, first touches and reads of the
/// zero page: 64 pages, each visited several times.
let mixedLackey: String = {
    var generator = StreamedTraceGenerator(seed: 5)
    return generator.lackey(records: 2000).text
}()

private func configuration(cores: Int) -> Configuration {
    var configuration = Configuration()
    configuration.cores = cores
    return configuration
}

/// The per-core statistics of `core`, by name without the `coreN.` prefix.
private func perCore(_ system: System, core: Int) -> [String: UInt64] {
    var values: [String: UInt64] = [:]
    for statistic in Statistic.perCore { values[statistic.name] = system.statistic("core\(core).\(statistic.name)") }
    return values
}

@Suite("Multi-trace runs")
struct MultiStreamRunnerTests {
    @Test("two identical traces as two processes give each core the statistics of a single run of that trace")
    func identicalProcessesMatchSingleRun() throws {
        var files: [TemporaryFile] = []
        defer { files.forEach { $0.remove() } }
        var single = try lackeyReader(mixedLackey, &files)
        var alone = StreamRunner(configuration: configuration(cores: 1))
        try alone.run(&single)

        let readers: [any MemoryTraceReader] = [try lackeyReader(mixedLackey, &files), try lackeyReader(mixedLackey, &files)]
        var runner = try MultiStreamRunner(configuration: configuration(cores: 2), readers: readers)
        try runner.run()

        // Why they are equal: each process has its own page tables, each core
        // its own TLBs and paging-structure caches, and no record unmaps or
        // narrows a mapping, so no core ever invalidates, interrupts or waits
        // for another (no shootdown, no IPI, no `wait`). What a record costs
        // then depends only on the hits, misses, walks and faults on its own
        // core, which depend only on the records its own trace ran before it:
        // the interleaving changes when a record runs, never what it does.
        // The frame pool is shared but large, and no cost depends on which
        // frame a page gets. So core 0 and core 1 each replay the single run.
        let core0 = perCore(runner.system, core: 0)
        #expect(core0 == perCore(runner.system, core: 1))
        #expect(core0 == perCore(alone.system, core: 0))
        #expect(core0["faults.demand_zero", default: 0] > 0)
        #expect(runner.records == [alone.records, alone.records])
        #expect(runner.system.statistic("cycles.wait") == 0)
        #expect(runner.system.invariantViolations().isEmpty)
    }

    @Test("one trace through the multi-trace runner gives exactly the single-trace runner's report")
    func oneTraceMatchesStreamRunner() throws {
        var files: [TemporaryFile] = []
        defer { files.forEach { $0.remove() } }
        var reader = try lackeyReader(mixedLackey, &files)
        var alone = StreamRunner(configuration: configuration(cores: 1))
        try alone.run(&reader)
        var runner = try MultiStreamRunner(configuration: configuration(cores: 1), readers: [try lackeyReader(mixedLackey, &files)])
        try runner.run()
        #expect(StatisticsReport.text(runner.system) == StatisticsReport.text(alone.system))
        #expect(runner.histogram == alone.histogram)
    }

    @Test("the next record is always the trace whose core has the smallest clock, so a trace of expensive records falls behind")
    func interleavingIsByClock() throws {
        var files: [TemporaryFile] = []
        defer { files.forEach { $0.remove() } }
        // Trace 0 writes a new page every record (a demand-zero fault each);
        // trace 1 reads one page again and again (TLB hits after the first).
        let expensive = lackeyText((0..<300).map { 0x10_0000 + $0 * 0x1000 })
        let cheap = lackeyText([UInt64](repeating: 0x8000_0000, count: 300), store: false)
        let readers: [any MemoryTraceReader] = [try lackeyReader(expensive, &files), try lackeyReader(cheap, &files)]
        var runner = try MultiStreamRunner(configuration: configuration(cores: 2), readers: readers)
        var order: [Int] = []
        while true {
            let clocks = runner.system.machine.cores.map(\.clock)
            let expected = runner.ended.indices.filter { !runner.ended[$0] }.min { clocks[$0] < clocks[$1] }
            #expect(runner.nextTrace() == expected)
            guard let trace = try runner.step() else { break }
            order.append(trace)
        }
        #expect(order.count == 600)
        // When the cheap trace has run all of its records, the expensive one is far behind.
        let cheapDone = try #require(order.lastIndex(of: 1))
        let expensiveRunBy = order[...cheapDone].filter { $0 == 0 }.count
        #expect(expensiveRunBy < 100)
        // Then its core idles and the expensive trace runs alone to its end.
        #expect(order[(cheapDone + 1)...].allSatisfy { $0 == 0 })
        #expect(runner.records == [300, 300])
    }

    @Test("with --threads the traces share frames: a page written by thread 0 is not demand-zeroed again for thread 1")
    func threadsShareFrames() throws {
        var files: [TemporaryFile] = []
        defer { files.forEach { $0.remove() } }
        // Both traces write the same 40 pages; trace 1 in reverse order.
        let pages = (0..<40).map { 0x20_0000 + UInt64($0) * 0x1000 }
        func run(_ sharing: MultiStreamRunner.Sharing) throws -> MultiStreamRunner {
            let readers: [any MemoryTraceReader] = [try lackeyReader(lackeyText(pages), &files),
                                                    try lackeyReader(lackeyText(pages.reversed()), &files)]
            var runner = try MultiStreamRunner(configuration: configuration(cores: 2), readers: readers, sharing: sharing)
            try runner.run()
            return runner
        }
        // Why 40 with threads: one address space, one set of page tables. The
        // first write to a page, on whichever core gets there first, faults
        // and installs its PTE; the other core's later write misses its own
        // TLB, walks the shared tables, finds the PTE present and writable, and
        // does not fault (a TLB never caches a not-present entry, so there is
        // no stale miss to fault on). Each page is demand-zeroed once: 40. As
        // two processes, each has its own tables and zeroes its own copy: 80.
        let threads = try run(.threads)
        #expect(threads.system.statistic("faults.demand_zero") == 40)
        #expect(threads.processes[0] == threads.processes[1])
        #expect(threads.system.invariantViolations().isEmpty)
        let processes = try run(.processes)
        #expect(processes.system.statistic("faults.demand_zero") == 80)
        #expect(processes.processes[0] != processes.processes[1])
    }

    @Test("a multi-trace run gives the same statistics and the same order every time")
    func runsAreDeterministic() throws {
        var files: [TemporaryFile] = []
        defer { files.forEach { $0.remove() } }
        var generator = StreamedTraceGenerator(seed: 9)
        let other = generator.champSim(records: 500)
        let champSim = try TemporaryFile("t.champsim", contents: other.bytes)
        files.append(champSim)
        func run(_ sharing: MultiStreamRunner.Sharing) throws -> (String, [Int]) {
            let readers: [any MemoryTraceReader] = [try lackeyReader(mixedLackey, &files), try ChampSimReader(path: champSim.path),
                                                    try lackeyReader(lackeyText((0..<64).map { 0x1000 * $0 + 0x40_0000 }), &files)]
            var runner = try MultiStreamRunner(configuration: configuration(cores: 4), readers: readers, sharing: sharing)
            var order: [Int] = []
            while let trace = try runner.step() { order.append(trace) }
            return (StatisticsReport.text(runner.system), order)
        }
        for sharing in [MultiStreamRunner.Sharing.processes, .threads] {
            let first = try run(sharing)
            let second = try run(sharing)
            #expect(first.0 == second.0)
            #expect(first.1 == second.1)
        }
    }
}
