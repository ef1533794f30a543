import Testing
import MMUKernel
import MMUTrace

@Suite("The text report's names")
struct StatisticsReportNameTests {
    @Test("the text report lists exactly the declared names in declaration order, then the per-core ones for each core",
          arguments: [1, 3])
    func textReportFollowsDeclarations(cores: Int) throws {
        var configuration = Configuration()
        try configuration.set("cores", String(cores))
        let report = StatisticsReport.text(System(configuration: configuration))
        let names = report.split(separator: "\n").map { String($0.split(separator: " ")[0]) }
        let declared = Statistic.all.map(\.name)
        let perCore = (0..<cores).flatMap { core in Statistic.perCore.map { "core\(core).\($0.name)" } }
        #expect(names == declared + perCore)
    }
}
