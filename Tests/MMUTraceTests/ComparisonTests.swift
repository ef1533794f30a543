import Testing
import MMUHardware
import MMUKernel
@testable import MMUTrace

@Suite("Comparisons and scenarios")
struct ComparisonTests {
    func row(_ strategy: ShootdownStrategy, cores: Int) throws -> [String: UInt64] {
        let trace = try MMTReader(file: "scenario", overrides: [("shootdown", strategy.rawValue)])
            .read(Scenario.threadsUnmap.trace(cores: cores, rounds: 16))
        var comparison = Comparison()
        comparison.add(label: strategy.rawValue, trace: trace)
        return Dictionary(uniqueKeysWithValues: zip(Comparison.columns, try #require(comparison.rows.first).values))
    }

    @Test("the threads-unmap scenario is a valid trace for any core count", arguments: [1, 2, 7, 64, 256])
    func scenarioIsValid(cores: Int) throws {
        let trace = try MMTReader(file: "scenario").read(Scenario.threadsUnmap.trace(cores: cores, rounds: 8))
        #expect(trace.configuration.cores == cores)
        var runner = TraceRunner(trace: trace, checkCoherence: true)
        runner.run()
        #expect(runner.failures.isEmpty)
        #expect(runner.system.statistic("shootdowns") == (cores > 1 ? 8 : 0))
    }

    @Test("IPI shootdowns cost the initiator more with every target; one IPI per target")
    func ipiGrows() throws {
        let counts = [2, 4, 8, 16]
        let rows = try counts.map { try row(.ipi, cores: $0) }
        for (cores, row) in zip(counts, rows) { #expect(row["ipis"] == UInt64(16 * (cores - 1))) }
        let initiator = rows.map { $0["initiator/shootdown"] ?? 0 }
        #expect(initiator == initiator.sorted() && Set(initiator).count == initiator.count)
        // Each further target adds one send to the initiator's wait chain.
        #expect(initiator[1] - initiator[0] == 2 * Configuration().costs[.ipiSend])
    }

    @Test("broadcast shootdowns cost the same whatever the core count, and nothing on the targets")
    func broadcastFlat() throws {
        let rows = try [2, 8, 32].map { try row(.broadcast, cores: $0) }
        let costs = Configuration().costs
        for row in rows {
            #expect(row["initiator/shootdown"] == costs[.invlpgb] + costs[.tlbsync])
            #expect(row["target/shootdown"] == 0 && row["ipis"] == 0 && row["cycles.wait"] == 0)
        }
    }

    @Test("deferred shootdowns move the work to the targets' ticks")
    func deferredMovesCost() throws {
        let few = try row(.deferred, cores: 2), many = try row(.deferred, cores: 16)
        let invlpg = Configuration().costs[.invlpg]
        #expect(few["initiator/shootdown"] == invlpg && many["initiator/shootdown"] == invlpg)
        #expect(few["target/shootdown"] == invlpg && many["target/shootdown"] == 15 * invlpg)
        #expect(many["ipis"] == 0)
    }

    @Test("the table is aligned and the CSV has a header and a row per variant")
    func formats() throws {
        var comparison = Comparison()
        for strategy in ShootdownStrategy.allCases {
            let trace = try MMTReader(file: "s", overrides: [("shootdown", strategy.rawValue)])
                .read(Scenario.threadsUnmap.trace(cores: 4, rounds: 4))
            comparison.add(label: "\(strategy.rawValue) \"x\",y", trace: trace)
        }
        let lines = comparison.table().split(separator: "\n")
        #expect(lines.count == 4)
        #expect(Set(lines.map(\.count)).count == 1)
        let csv = comparison.csv().split(separator: "\n")
        #expect(csv.count == 4)
        #expect(csv[0].hasPrefix("variant,cycles,cycles.access,"))
        #expect(csv[1].hasPrefix("\"ipi \"\"x\"\",y\","))
        #expect(csv.allSatisfy { $0.split(separator: ",", omittingEmptySubsequences: false).count >= Comparison.columns.count + 1 })
    }
}
