import Testing
import MMUHardware
import MMUKernel
@testable import MMUTrace

@Suite("Configuration files")
struct ConfigFileReaderTests {
    @Test("KEY = VALUE lines, comments and blank lines set the configuration")
    func reads() throws {
        var configuration = Configuration()
        try ConfigFileReader.apply("# a comment\n\ncores = 4   # trailing\n  cost.invlpg=77\nshootdown = broadcast\n",
                                   file: "c.conf", to: &configuration)
        #expect(configuration.cores == 4)
        #expect(configuration.costs[.invlpg] == 77)
        #expect(configuration.shootdown == .broadcast)
    }

    static let bad: [(text: String, line: Int, column: Int, says: String)] = [
        ("cores 4", 1, 1, "expected KEY = VALUE"),
        ("cores = 4\n  nosuch = 1", 2, 3, "unknown configuration key 'nosuch'"),
        ("cores =   0", 1, 11, "cores 0 is out of range"),
        ("cores =", 1, 8, "missing VALUE for 'cores'"),
        (" = 4", 1, 2, "missing KEY"),
        ("tlb.l2.ways = 7", 1, 15, "must divide"),
    ]

    @Test("a bad line is named with file, line and column", arguments: 0..<bad.count)
    func errors(_ index: Int) {
        let (text, line, column, says) = Self.bad[index]
        var configuration = Configuration()
        do throws(TraceError) {
            try ConfigFileReader.apply(text, file: "c.conf", to: &configuration)
            Issue.record("no error for \(text)")
        } catch {
            #expect(error.file == "c.conf" && error.line == line && error.column == column, "\(error)")
            #expect(error.message.contains(says), "\(error)")
        }
    }

    @Test("a rendered preset reads back to the same configuration", arguments: CPUPreset.all.map(\.name))
    func roundTrip(_ name: String) throws {
        let preset = try #require(CPUPreset.named(name))
        let configuration = try preset.apply(to: Configuration())
        var read = Configuration()
        try ConfigFileReader.apply(ConfigFileReader.render(configuration, header: ["test"]), file: "r.conf", to: &read)
        #expect(read == configuration)
    }
}
