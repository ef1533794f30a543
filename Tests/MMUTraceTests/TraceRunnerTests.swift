import Foundation
import Testing
import MMUHardware
import MMUKernel
@testable import MMUTrace

private func run(_ text: String) throws -> TraceRunner {
    var runner = TraceRunner(trace: try MMTReader(file: "t.mmt").read(text))
    runner.run()
    return runner
}

@Suite("The trace runner")
struct TraceRunnerTests {
    @Test("passing and failing assertions are counted with their lines")
    func assertions() throws {
        let runner = try run("""
        process 1
        switch 0 1
        map 0 0x400000 1 rw
        w 0 0x400000 5
        r 0 0x400000 =5
        r 0 0x400000 =6
        expect accesses 3
        expect accesses 4
        """)
        #expect(runner.passed == 2)
        #expect(runner.failures.map(\.line) == [6, 8])
        #expect(runner.failures[0].message.contains("expected =0x6, read 0x5"))
        #expect(runner.failures[1].message == "expect accesses: expected 4, got 3")
    }

    @Test("after an OOM kill the killed process's directives are skipped with a warning and its assertions fail")
    func oomSkips() throws {
        let runner = try run("""
        set frames 16
        process 1
        switch 0 1
        map 0 0x400000 64 rw
        \((0..<20).map { "w 0 \(0x40_0000 + $0 * 4096) 1" }.joined(separator: "\n"))
        r 0 0x400000 =1
        expect faults.oom 1
        process 2
        switch 0 2
        map 0 0x400000 1 rw
        w 0 0x400000 3
        r 0 0x400000 =3
        """)
        #expect(runner.system.statistic("faults.oom") == 1)
        #expect(!runner.warnings.isEmpty)
        #expect(runner.warnings.allSatisfy { $0.message.contains("killed") })
        #expect(runner.failures.count == 1)
        #expect(runner.failures.first?.line == 25)
        #expect(runner.passed == 2)
    }

    @Test("the same trace and configuration give the same statistics, bit for bit")
    func deterministic() throws {
        let text = """
        set cores 2
        process 1
        switch 0 1
        switch 1 1
        map 0 0x400000 8 rw
        \((0..<8).map { "w \($0 % 2) \(0x40_0000 + $0 * 4096) \($0)" }.joined(separator: "\n"))
        fork 0 2
        switch 1 2
        w 1 0x400000 9
        unmap 0 0x400000 4
        """
        let first = StatisticsReport.json(try run(text).system, trace: "t.mmt")
        let second = StatisticsReport.json(try run(text).system, trace: "t.mmt")
        #expect(first == second)
    }

    @Test("the JSON report is one valid object with configuration and every statistic")
    func jsonReport() throws {
        let runner = try run("process 1\nswitch 0 1\nmap 0 0x1000 1 rw\nw 0 0x1000 1")
        let text = StatisticsReport.json(runner.system, trace: "a \"quoted\" path", histogram: runner.histogram)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(object["trace"] as? String == "a \"quoted\" path")
        let statistics = try #require(object["statistics"] as? [String: Any])
        #expect(statistics.count == runner.system.statisticNames.count)
        #expect((statistics["accesses"] as? NSNumber)?.intValue == 1)
        #expect((statistics["core0.faults.demand_zero"] as? NSNumber)?.intValue == 1)
        let histogram = try #require(object["histogram"] as? [[String: Any]])
        #expect(histogram.reduce(0) { $0 + (($1["accesses"] as? NSNumber)?.intValue ?? 0) } == 1)
        #expect(object["schema"] as? String == "mmusim-report-1")
        let cores = try #require(object["cores"] as? [[String: Any]])
        #expect(cores.count == 1 && (cores[0]["faults.demand_zero"] as? NSNumber)?.intValue == 1)
        let categories = try #require(object["cycles_by_category"] as? [String: Any])
        #expect(categories.count == 10)
        let configuration = try #require(object["configuration"] as? [String: Any])
        #expect(configuration["shootdown"] as? String == "ipi")
        #expect((configuration["flush_ceiling"] as? NSNumber)?.intValue == 33)
    }

    @Test("every statistic name of docs/reference/statistics.md is reported")
    func statisticNames() throws {
        let names = Set(try run("process 1").system.statisticNames)
        let spec = ["accesses", "tlb.l1d.hits", "tlb.l1d.misses", "tlb.l1i.hits", "tlb.l1i.misses", "tlb.l2.hits",
                    "tlb.l2.misses", "walks", "walk.refs", "psc.hits", "faults.pf", "faults.demand_zero", "faults.zero_page",
                    "faults.cow_copy", "faults.cow_reuse", "faults.segv", "faults.oom", "frames.free", "frames.data",
                    "frames.pagetable", "frames.pending", "pages.zeroed", "pages.copied", "shootdowns", "ipis", "invlpg",
                    "tlb.flushes", "switches", "cycles", "cycles.access", "cycles.tlb", "cycles.walk", "cycles.fault",
                    "cycles.kernel", "cycles.zero", "cycles.copy", "cycles.shootdown", "cycles.switch", "cycles.wait"]
        for name in spec {
            #expect(names.contains(name), "\(name)")
            if !name.hasPrefix("frames.") { #expect(names.contains("core0." + name), "core0.\(name)") }
        }
        #expect(!names.contains("core0.frames.free"))
    }

    @Test("events are recorded only when asked for and name each step of a fault")
    func events() throws {
        let text = "process 1\nswitch 0 1\nmap 0 0x1000 1 rw\nw 0 0x1000 1"
        var quiet = TraceRunner(trace: try MMTReader(file: "t.mmt").read(text))
        var seen = 0
        quiet.run(events: { _, events, _ in seen += events.count })
        #expect(seen == 0)
        var loud = TraceRunner(trace: try MMTReader(file: "t.mmt").read(text), logEvents: true)
        var lines: [String] = []
        loud.run(events: { _, events, _ in lines += events.map(EventFormatter.line) })
        let all = lines.joined(separator: "\n")
        for step in ["access w 0x1000", "tlb.l1d miss", "walk reads PML4E", "#PF error code 0x6 [NP|W|U] CR2=0x1000",
                     "kernel: alloc frame", "kernel: zero frame", "kernel: pte write", "kernel: retry", "done: PA"] {
            #expect(all.contains(step), "\(step)")
        }
        // Clocks never go backwards on one core.
        let clocks = lines.compactMap { line in line.split(separator: "@").last.flatMap { UInt64($0.split(separator: " ").first ?? "") } }
        #expect(clocks == clocks.sorted())
    }
}
