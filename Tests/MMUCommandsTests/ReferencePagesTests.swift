import Foundation
import Testing
import MMUHardware
import MMUKernel
import MMUTrace

/// The text of a page under the package root.
func page(_ path: String) throws -> String {
    try String(contentsOf: packageRoot.appendingPathComponent(path), encoding: .utf8)
}

@Suite("The semantics reference in docs/reference/ covers what the code declares")
struct ReferencePagesTests {
    @Test("every cost key appears in cycle-accounting.md's table with its category")
    func everyCostKeyHasAChargePoint() throws {
        let text = try page("docs/reference/cycle-accounting.md")
        for key in CostKey.allCases {
            let short = key.name.split(separator: ".").last.map(String.init) ?? key.name
            #expect(text.contains("`\(key.name)`") || text.contains("/ `.\(short)`"), "\(key.name) is not in cycle-accounting.md")
        }
        for category in CycleCategory.allCases {
            #expect(text.contains("| `\(category)` |"), "category \(category) is not described")
        }
    }

    @Test("every configuration key and statistic the code declares is in the reference tables")
    func everyKeyAndStatistic() throws {
        let configuration = try page("docs/reference/configuration.md")
        for key in Configuration.keys { #expect(configuration.contains("| `\(key)` |"), "\(key)") }
        let statistics = try page("docs/reference/statistics.md")
        for statistic in Statistic.all { #expect(statistics.contains("`\(statistic.name)`"), "\(statistic.name)") }
    }

    @Test("every directive the reader accepts is in trace-format.md", arguments: [
        "set", "process", "switch", "map", "unmap", "protect", "madvise", "fork", "exit", "tick", "r", "w", "x", "expect",
    ])
    func everyDirective(_ directive: String) throws {
        let text = try page("docs/reference/trace-format.md")
        #expect(text.contains("| `\(directive) "), "\(directive) is not in the table")
    }

    @Test("every shootdown strategy has its section in shootdowns.md", arguments: ShootdownStrategy.allCases)
    func everyStrategy(_ strategy: ShootdownStrategy) throws {
        #expect(try page("docs/reference/shootdowns.md").contains("## `shootdown \(strategy.rawValue)`"))
    }

    @Test("on every fixture each core's categories add up to its clock", arguments: repositoryFiles(under: "Fixtures").filter { $0.hasSuffix(".mmt") })
    func categoriesAddUp(_ fixture: String) throws {
        let text = try page(fixture)
        var runner = TraceRunner(trace: try MMTReader(file: fixture).read(text))
        runner.run()
        for core in 0..<runner.system.coreCount {
            let clock = try #require(runner.system.statistic("core\(core).cycles"))
            let sum = CycleCategory.allCases.reduce(UInt64(0)) { $0 + (runner.system.statistic("core\(core).cycles.\($1)") ?? 0) }
            #expect(sum == clock, "\(fixture): core \(core)")
        }
    }
}
