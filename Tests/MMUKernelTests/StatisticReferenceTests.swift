import Testing
import MMUKernel
import TestSupport

private let reference = GeneratedDocs.Section(page: "docs/reference/statistics.md", beginMarker: "<!-- generated: statistics -->",
                                              testFilter: "StatisticReferenceTests")

@Suite("The statistics reference in docs/reference/statistics.md, and the names it lists")
struct StatisticReferenceTests {
    @Test("every statistic's name is declared once")
    func namesAreUnique() {
        var seen: Set<String> = []
        let repeated = Statistic.all.map(\.name).filter { !seen.insert($0).inserted }
        #expect(repeated.isEmpty, "declared more than once: \(repeated)")
    }

    @Test("the table has a row for every statistic, in declaration order, with its scope")
    func tableRowsFollowDeclarations() {
        let rows = Statistic.referenceTable().split(separator: "\n").dropFirst(2).map { row in
            row.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
        }
        #expect(rows.map { $0[0] } == (Statistic.all + Statistic.virtualization).map { "`\($0.name)`" })
        #expect(rows.map { $0[2] } == (Statistic.all + Statistic.virtualization).map { $0.scope == .perCore ? "per core and total" : "total only" })
    }

    @Test("every declared name is a statistic name of a run, whatever its number of cores", arguments: [1, 4])
    func declaredNamesAreAccepted(cores: Int) {
        for statistic in Statistic.all {
            #expect(System.isStatisticName(statistic.name, cores: cores), "\(statistic.name)")
        }
    }

    @Test("coreN.NAME names a statistic only for a per-core one and a core the run has")
    func perCoreNames() {
        #expect(!Statistic.perCore.isEmpty && !Statistic.totalOnly.isEmpty)
        for statistic in Statistic.all {
            let perCore = statistic.scope == .perCore
            #expect(System.isStatisticName("core0.\(statistic.name)", cores: 4) == perCore, "core0.\(statistic.name)")
            #expect(System.isStatisticName("core3.\(statistic.name)", cores: 4) == perCore, "core3.\(statistic.name)")
            #expect(!System.isStatisticName("core4.\(statistic.name)", cores: 4), "core4.\(statistic.name) with 4 cores")
            #expect(!System.isStatisticName("core01.\(statistic.name)", cores: 4), "core01.\(statistic.name)")
        }
    }

    @Test("the table in the reference is exactly the one the declarations give")
    func tableMatchesDeclarations() throws {
        let drift = try reference.drift(from: Statistic.referenceTable())
        #expect(drift == nil, Comment(rawValue: drift ?? ""))
    }
}
