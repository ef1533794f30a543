import Testing
import MMUKernel
@testable import MMUCommands

@Suite("Listing the configuration keys and the statistics")
struct ListingCommandTests {
    /// The output's lines after the header, split at runs of two or more spaces.
    static func rows(_ output: String) -> [[String]] {
        output.split(separator: "\n").dropFirst().map { line in
            line.split(separator: /\s{2,}/).map(String.init)
        }
    }

    @Test("config --list exits 0 with one row per key: name, type and range, unit, default, meaning")
    func configList() {
        let result = mmusim(["config", "--list"])
        #expect(result.status == 0 && result.err.isEmpty)
        #expect(result.out.hasPrefix("key "))
        let lines = result.out.split(separator: "\n").dropFirst()
        #expect(lines.count == Configuration.declarations.count)
        for (line, key) in zip(lines, Configuration.declarations) {
            #expect(line.hasPrefix(key.name + " "), "\(line)")
            for field in [key.type.description, key.unit, key.defaultValue, key.meaning] where !field.isEmpty {
                #expect(line.contains(field), "\(key.name): no '\(field)' in \(line)")
            }
            #expect(line.hasSuffix(key.meaning))
        }
    }

    @Test("config --list lines its columns up: each starts where the header's does")
    func configListAligned() throws {
        let result = mmusim(["config", "--list"])
        let lines = result.out.split(separator: "\n").map(String.init)
        let header = try #require(lines.first)
        let meaningColumn = try #require(header.range(of: "meaning")).lowerBound.utf16Offset(in: header)
        for (line, key) in zip(lines.dropFirst(), Configuration.declarations) {
            let start = try #require(line.range(of: key.meaning)).lowerBound.utf16Offset(in: line)
            #expect(start == meaningColumn, "\(key.name)")
        }
    }

    @Test("config --help lists --list")
    func configHelpListsList() {
        let result = mmusim(["config", "--help"])
        #expect(result.status == 0)
        #expect(result.out.contains("\n  --list "))
        #expect(result.out.hasPrefix("usage: mmusim config") && result.out.contains("[--list]"))
    }

    @Test("config --list with --cpu, --config or --set is refused with exit 2, naming the other option",
          arguments: [["--cpu", "zen3"], ["--config", "x.conf"], ["--set", "cores=2"]])
    func configListAlone(_ other: [String]) {
        let result = mmusim(["config", "--list"] + other)
        #expect(result.status == 2 && result.out.isEmpty)
        #expect(result.err.hasPrefix("mmusim config: \(other.joined(separator: " ")): --list takes no other option"), "\(result.err)")
    }

    @Test("config without --list still prints KEY = VALUE lines")
    func configWithoutList() {
        let result = mmusim(["config"])
        #expect(result.status == 0)
        let lines = result.out.split(separator: "\n")
        #expect(lines.first?.hasPrefix("# mmusim configuration") == true)
        #expect(lines.contains { $0.hasPrefix("cores ") && $0.hasSuffix(" = 1") })
    }

    @Test("statistics exits 0 with one row per statistic, in declaration order: name, unit, scope, meaning")
    func statisticsList() {
        let result = mmusim(["statistics"])
        #expect(result.status == 0 && result.err.isEmpty)
        #expect(result.out.hasPrefix("statistic "))
        let rows = Self.rows(result.out)
        #expect(rows.map { $0.first ?? "" } == (Statistic.all + Statistic.virtualization).map(\.name))
        for (row, statistic) in zip(rows, (Statistic.all + Statistic.virtualization)) {
            #expect(row == [statistic.name, statistic.unit, statistic.scope.rawValue, statistic.meaning])
        }
    }

    @Test("statistics refuses an argument with exit 2")
    func statisticsRefusesArguments() {
        let result = mmusim(["statistics", "walks"])
        #expect(result.status == 2 && result.out.isEmpty)
        #expect(result.err == "mmusim statistics: walks: unexpected argument\n")
    }

    @Test("the overview lists the statistics command")
    func overviewListsStatistics() {
        let result = mmusim(["help"])
        #expect(result.out.contains("\n  statistics "))
    }
}
