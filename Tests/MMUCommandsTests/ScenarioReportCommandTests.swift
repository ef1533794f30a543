import Testing
@testable import MMUCommands

@Suite("mmusim scenario thp")
struct ScenarioReportCommandTests {
    @Test("scenario lists thp and prints its trace")
    func listsAndPrints() {
        let result = mmusim(["scenario", "thp"])
        #expect(result.status == 0)
        #expect(result.out.hasPrefix("# mmusim scenario thp: "))
        #expect(result.out.contains("\nset thp madvise\n") && result.out.contains("\nmadvise 0 0x40000000 16384 hugepage\n"))
        #expect(mmusim(["scenario", "nosuch"]).err == "mmusim scenario: name one of threads-unmap, vm-threads-unmap, thp, vm-cow\n")
    }

    @Test("--report --model-only prints one row per phase with n/a for Linux")
    func reportTable() {
        let result = mmusim(["scenario", "thp", "--report", "--model-only"])
        #expect(result.status == 0, "\(result.err)")
        let lines = result.out.split(separator: "\n")
        #expect(lines.contains { $0.hasPrefix("phase ") && $0.contains("faults.thp") && $0.contains("cycles (model)") })
        let rewrite = lines.first { $0.hasPrefix("parent rewrites 64 MiB ") }
        #expect(rewrite?.hasSuffix(" n/a (--model-only)") == true)
        #expect(lines.filter { $0.contains(" n/a (") }.count == 9)
    }

    @Test("--report is refused for a scenario without phases, and --model-only without --report")
    func refusals() {
        let report = mmusim(["scenario", "threads-unmap", "--report"])
        #expect(report.status == 2 && report.err.hasPrefix("mmusim scenario: --report: only scenarios thp and vm-cow have phases\n"))
        let modelOnly = mmusim(["scenario", "thp", "--model-only"])
        #expect(modelOnly.status == 2 && modelOnly.err.hasPrefix("mmusim scenario: --model-only goes with --report\n"))
    }
}
