import Testing
import MMUKernel
@testable import MMUTrace

@Suite("The thp scenario, phase by phase")
struct ScenarioTHPTests {
    static let names = ["faults.pf", "faults.thp", "thp.splits", "faults.cow_copy", "faults.cow_reuse", "faults.huge_zero_page",
                        "faults.demand_zero", "pages.copied"]

    @Test("the trace is the phases' lines in order, and reads as a valid trace")
    func traceIsThePhases() throws {
        let scenario = Scenario.thp
        let text = scenario.trace(cores: 4, rounds: 3)
        #expect(text == scenario.phases.map { $0.lines.joined(separator: "\n") + "\n" }.joined())
        #expect(scenario.phases.map(\.name) == ["setup", "parent writes 64 MiB", "fork", "child reads 64 MiB", "child writes 16 huge pages",
                                                "child exits", "parent rewrites 64 MiB", "huge-zero reads", "writes after huge-zero reads"])
        let trace = try MMTReader(file: "thp").read(text)
        #expect(trace.configuration.thp == .madvise)
        #expect(trace.lines.allSatisfy { if case .expect = $0.directive { false } else { true } })
        // 32 huge pages x 32 accesses (one per 64 KiB) per pass over 64 MiB.
        #expect(scenario.phases[1].lines.count == 1 + 1024)
        #expect(scenario.phases[4].lines.count == 1 + 16)
    }

    @Test("each phase's faults follow the huge-page rules (derived by hand)")
    func phaseCounts() throws {
        let results = try Scenario.thp.runPhases(statistics: Self.names)
        func phase(_ name: String) -> [String: UInt64] { results.first { $0.name == name }?.statistics ?? [:] }
        #expect(results.count == 9)
        // setup: map and madvise write no PTE; nothing faults.
        #expect(phase("setup")["faults.pf"] == 0)
        // parent writes 64 MiB: 64 MiB / 2 MiB = 32 advised, aligned spans; the
        // first write to each is a THP fault (decisions 44, 45); the other 31
        // writes per span find the writable huge leaf. 32 faults, 32 THP, no 4 KiB page.
        let first = phase("parent writes 64 MiB")
        #expect(first["faults.pf"] == 32 && first["faults.thp"] == 32 && first["faults.demand_zero"] == 0)
        // fork copies 32 huge leaves as 32 entries, COW in both (decisions 48): no fault.
        #expect(phase("fork")["faults.pf"] == 0)
        // child reads: a read-only COW huge leaf permits a read: no fault.
        #expect(phase("child reads 64 MiB")["faults.pf"] == 0)
        // child writes 16 pages in 16 huge pages: each huge page is shared with
        // the parent (references 2), so the child's entry is split and the
        // written 4 KiB page copied in the same fault (decisions 49): 16 faults,
        // 16 splits, 16 COW copies, 16 pages copied (4 KiB each, not 2 MiB).
        let child = phase("child writes 16 huge pages")
        #expect(child["faults.pf"] == 16 && child["thp.splits"] == 16 && child["faults.cow_copy"] == 16 && child["pages.copied"] == 16)
        #expect(child["faults.cow_reuse"] == 0)
        // child exits: its tables, its 16 copies and its references go.
        #expect(phase("child exits")["faults.pf"] == 0)
        // parent rewrites: the splits were in the child's page tables, so all
        // 32 of the parent's entries are still huge COW leaves; with the child
        // gone every frame has one reference, so the first write to each span
        // reuses the huge page (one PTE write, no copy, no split): 32 faults,
        // 32 reuses. (No 4 KiB reuse: the parent never had 4 KiB entries.)
        let rewrite = phase("parent rewrites 64 MiB")
        #expect(rewrite["faults.pf"] == 32 && rewrite["faults.cow_reuse"] == 32)
        #expect(rewrite["thp.splits"] == 0 && rewrite["faults.cow_copy"] == 0 && rewrite["pages.copied"] == 0)
        // huge-zero reads: 4 advised spans read first with zero_page on: the
        // huge zero page, one PD entry each (decisions 46): 4 faults.
        let reads = phase("huge-zero reads")
        #expect(reads["faults.pf"] == 4 && reads["faults.huge_zero_page"] == 4 && reads["faults.thp"] == 0)
        // the writes: a write to the huge zero page allocates a huge page (decisions 47): 4 faults, 4 THP.
        let writes = phase("writes after huge-zero reads")
        #expect(writes["faults.pf"] == 4 && writes["faults.thp"] == 4 && writes["thp.splits"] == 0 && writes["faults.demand_zero"] == 0)
        // The phases add up to the whole run.
        let total = results.reduce(UInt64(0)) { $0 + ($1.statistics["faults.pf"] ?? 0) }
        #expect(total == 32 + 16 + 32 + 4 + 4)
    }

    @Test("a scenario without phases runs as one phase")
    func onePhase() throws {
        let results = try Scenario.threadsUnmap.runPhases(statistics: ["faults.pf"])
        #expect(results.map(\.name) == ["all"])
        #expect((results.first?.statistics["faults.pf"] ?? 0) > 0)
    }
}
