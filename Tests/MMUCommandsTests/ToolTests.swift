import Foundation
import Testing
@testable import MMUCommands
import MMUKernel

private let good = "process 1\nswitch 0 1\nmap 0 0x1000 1 rw\nw 0 0x1000 7\nr 0 0x1000 =7\nexpect accesses 2\n"

@Suite("The mmusim command line")
struct ToolTests {
    @Test("run prints every statistic and exits 0")
    func run() throws {
        let directory = try temporaryDirectory(["a.mmt": good])
        let result = mmusim(["run", directory + "/a.mmt"])
        #expect(result.status == 0)
        #expect(result.out.contains("accesses"))
        #expect(result.out.split(separator: "\n").contains { $0.hasPrefix("faults.demand_zero") && $0.hasSuffix(" 1") })
        #expect(result.err.isEmpty)
    }

    @Test("run --json prints one JSON object")
    func runJSON() throws {
        let directory = try temporaryDirectory(["a.mmt": good])
        let result = mmusim(["run", "--json", directory + "/a.mmt", "--set", "cost.access=5"])
        #expect(result.status == 0)
        let object = try JSONSerialization.jsonObject(with: Data(result.out.utf8)) as? [String: Any]
        let statistics = object?["statistics"] as? [String: Any]
        #expect((statistics?["cycles.access"] as? NSNumber)?.intValue == 10)
    }

    @Test("run --events prints the fault path with clocks")
    func runEvents() throws {
        let directory = try temporaryDirectory(["a.mmt": good])
        let result = mmusim(["run", "--events", directory + "/a.mmt"])
        #expect(result.status == 0)
        #expect(result.out.contains("core0 @"))
        #expect(result.out.contains("#PF error code"))
    }

    @Test("check reports each failure with file and line and ends with the totals")
    func checkFailures() throws {
        let directory = try temporaryDirectory(["a.mmt": good, "b.mmt": good + "expect accesses 3\nr 0 0x1000 =8\n"])
        let result = mmusim(["check", directory])
        #expect(result.status == 1)
        #expect(result.out.contains("\(directory)/b.mmt:7: expect accesses: expected 3, got 2"))
        #expect(result.out.contains("\(directory)/b.mmt:8: r 0x1000: expected =0x8, read 0x7"))
        #expect(result.out.hasSuffix("4 passed, 2 failed\n"))
    }

    @Test("check passes with exit 0 when every assertion holds")
    func checkPasses() throws {
        let directory = try temporaryDirectory(["a.mmt": good])
        let result = mmusim(["check", directory])
        #expect(result.status == 0)
        #expect(result.out.hasSuffix("2 passed, 0 failed\n"))
    }

    @Test("a malformed trace exits 2 with file:line:column and prints no statistics")
    func malformed() throws {
        let directory = try temporaryDirectory(["bad.mmt": "process 1\nswitch 0 1\nmap 0 0x1001 1 rw\n"])
        let result = mmusim(["run", directory + "/bad.mmt"])
        #expect(result.status == 2)
        #expect(result.err == "\(directory)/bad.mmt:3:7: VA 0x1001 is not page aligned\n")
        #expect(result.out.isEmpty)
    }

    @Test("a missing file, an unknown option and a bad --set each exit 2 with a message")
    func badInvocations() {
        let missing = mmusim(["run", "/nonexistent/x.mmt"])
        #expect(missing.status == 2)
        #expect(missing.err.contains("/nonexistent/x.mmt: cannot open: No such file or directory"))
        let option = mmusim(["run", "--fast", "x.mmt"])
        #expect(option.status == 2 && option.err == "mmusim run: --fast: unknown option\n")
        let setting = mmusim(["run", "--set", "tlb.l1d.entries=lots", "x.mmt"])
        #expect(setting.status == 2
                && setting.err == "mmusim run: --set tlb.l1d.entries=lots: 'lots' is not a number (tlb.l1d.entries takes 1 to 65536)\n")
        let unknownKey = mmusim(["check", "--set=nosuch=1", "x.mmt"])
        #expect(unknownKey.status == 2 && unknownKey.err == "mmusim check: --set=nosuch=1: unknown configuration key 'nosuch'\n")
        #expect(mmusim([]).status == 2)
        #expect(mmusim(["frobnicate"]).status == 2)
    }
}

@Suite("mmusim compare and scenario")
struct CompareCommandTests {
    @Test("compare sweeps cores over strategies and prints one row per variant")
    func compareSweep() {
        let result = mmusim(["compare", "--scenario", "threads-unmap", "--rounds", "8",
                             "--shootdown", "ipi,broadcast", "--sweep", "cores=2,4", "--csv"])
        #expect(result.status == 0)
        let lines = result.out.split(separator: "\n")
        #expect(lines.count == 5)
        #expect(lines.dropFirst().map { $0.split(separator: ",")[0] } == ["ipi cores=2", "broadcast cores=2", "ipi cores=4", "broadcast cores=4"])
    }

    @Test("compare runs a trace file as configured, and refuses unknown strategies and keys")
    func compareErrors() throws {
        let directory = try temporaryDirectory(["a.mmt": good])
        let plain = mmusim(["compare", directory + "/a.mmt"])
        #expect(plain.status == 0 && plain.out.contains("as configured"))
        #expect(mmusim(["compare", directory + "/a.mmt", "--shootdown", "ipi,magic"]).status == 2)
        #expect(mmusim(["compare", directory + "/a.mmt", "--sweep", "nosuch=1,2"]).status == 2)
        #expect(mmusim(["compare", directory + "/a.mmt", "--sweep", "cores=2,zero"]).status == 2)
        #expect(mmusim(["compare"]).status == 2)
        // A trace that names core 0 only still runs with more cores; fewer than it names is a trace error.
        let tooFew = mmusim(["compare", "--scenario", "threads-unmap", "--sweep", "cores=1", "--rounds", "2"])
        #expect(tooFew.status == 0)
    }

    @Test("scenario prints a trace that names every core")
    func scenarioPrints() {
        let result = mmusim(["scenario", "threads-unmap", "--cores", "3", "--rounds", "2"])
        #expect(result.status == 0)
        #expect(result.out.contains("set cores 3\n") && result.out.contains("switch 2 1\n") && result.out.contains("unmap 0 0x10001000 1\n"))
        #expect(mmusim(["scenario", "nosuch"]).status == 2)
    }
}

@Suite("mmusim presets and configuration files")
struct PresetCommandTests {
    @Test("run works with every preset, and its costs reach the run", arguments: ["skylake", "icelake", "zen3", "zen4"])
    func runWithPreset(_ name: String) throws {
        let directory = try temporaryDirectory(["a.mmt": good])
        let result = mmusim(["run", "--json", "--cpu", name, directory + "/a.mmt"])
        #expect(result.status == 0)
        let object = try JSONSerialization.jsonObject(with: Data(result.out.utf8)) as? [String: Any]
        let configuration = object?["configuration"] as? [String: Any]
        let preset = try #require(CPUPreset.named(name))
        let expected = preset.settings.first { $0.key == "tlb.l2.entries" }?.value
        #expect((configuration?["tlb.l2.entries"] as? NSNumber)?.stringValue == expected)
    }

    @Test("config prints a file that --config reads back to the same run")
    func configRoundTrip() throws {
        let printed = mmusim(["config", "--cpu", "zen3"])
        #expect(printed.status == 0)
        let directory = try temporaryDirectory(["a.mmt": good, "zen3.conf": printed.out])
        let viaPreset = mmusim(["run", "--cpu", "zen3", directory + "/a.mmt"])
        let viaFile = mmusim(["run", "--config", directory + "/zen3.conf", directory + "/a.mmt"])
        #expect(viaPreset.status == 0 && viaPreset.out == viaFile.out)
    }

    @Test("cpus lists the presets; unknown presets and bad files exit 2")
    func errors() throws {
        #expect(mmusim(["cpus"]).out.split(separator: "\n").count == CPUPreset.all.count)
        let directory = try temporaryDirectory(["a.mmt": good, "bad.conf": "cores = 2\nfrobs = 1\n"])
        let unknown = mmusim(["run", "--cpu", "pentium", directory + "/a.mmt"])
        #expect(unknown.status == 2 && unknown.err == "mmusim run: --cpu pentium: unknown preset 'pentium' (skylake, icelake, zen3, zen4)\n")
        let bad = mmusim(["run", "--config", directory + "/bad.conf", directory + "/a.mmt"])
        #expect(bad.status == 2 && bad.err == "\(directory)/bad.conf:2:1: unknown configuration key 'frobs'\n")
    }
}

@Suite("mmusim run on streamed traces")
struct StreamedRunCommandTests {
    static let lackey = "==1== Lackey, an example Valgrind tool\nI  00401000,3\n L 7ff000ff8,8\n S 7ff000ff8,8\n M 00601ffc,8\n==1== done\n"

    @Test("a Lackey file is detected and run; banner lines are counted")
    func lackeyDetected() throws {
        let directory = try temporaryDirectory(["t.lackey": Self.lackey])
        let result = mmusim(["run", "--json", directory + "/t.lackey"])
        #expect(result.status == 0)
        let object = try JSONSerialization.jsonObject(with: Data(result.out.utf8)) as? [String: Any]
        #expect(object?["format"] as? String == "lackey")
        let totals = object?["totals"] as? [String: Any]
        #expect((totals?["accesses"] as? NSNumber)?.intValue == 4)
        #expect((totals?["trace.skipped_lines"] as? NSNumber)?.intValue == 2)
        // I, L, S, M: one fetch and three data accesses; M's 8 bytes at 0x601ffc cross into the next page.
        // The fetch misses L1I, faults (zero page mapped), and misses L1I again on the retry: 2.
        #expect((totals?["tlb.l1i.misses"] as? NSNumber)?.intValue == 2)
        #expect(result.err.isEmpty)  // not a terminal: no progress line
    }

    @Test("a bad record stops the run after printing the statistics so far, exit 2")
    func badRecord() throws {
        let directory = try temporaryDirectory(["t.lackey": Self.lackey + " Q 1234,8\n L 1000,8\n"])
        let result = mmusim(["run", "--format", "lackey", directory + "/t.lackey"])
        #expect(result.status == 2)
        #expect(result.out.contains("trace.records  4\n"))
        #expect(result.err.hasPrefix("\(directory)/t.lackey:7:2: "))
    }

    @Test("--set values that do not fit together are refused for streamed traces too")
    func inconsistentSettings() throws {
        let directory = try temporaryDirectory(["t.lackey": Self.lackey])
        let result = mmusim(["run", "--set", "tlb.l2.ways=5", directory + "/t.lackey"])
        #expect(result.status == 2 && result.out.isEmpty)
        #expect(result.err == "mmusim run: --set tlb.l2.ways=5: tlb.l2.ways (5) must divide tlb.l2.entries (1536)\n")
    }

    @Test("--format mmt forces the .mmt reader; an unknown format is refused")
    func formats() throws {
        let directory = try temporaryDirectory(["plain.txt": good])
        #expect(mmusim(["run", "--format", "mmt", directory + "/plain.txt"]).status == 0)
        #expect(mmusim(["run", directory + "/plain.txt"]).status == 0)  // detected as .mmt text
        let unknown = mmusim(["run", "--format", "pin", directory + "/plain.txt"])
        #expect(unknown.status == 2 && unknown.err == "mmusim run: --format pin: takes mmt, lackey or champsim\n")
    }
}

@Suite("Report files")
struct ReportFileTests {
    @Test("--json=FILE writes the JSON report whole and prints the text report")
    func jsonFile() throws {
        let directory = try temporaryDirectory(["a.mmt": good])
        let result = mmusim(["run", "--json=\(directory)/report.json", directory + "/a.mmt"])
        #expect(result.status == 0)
        #expect(result.out.hasPrefix("accesses"))
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: directory + "/report.json"))) as? [String: Any]
        #expect(object?["schema"] as? String == "mmusim-report-1")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.contains(".tmp-") }
        #expect(leftovers.isEmpty)
    }

    @Test("a report that cannot be written is an error, exit 2, with no file left behind")
    func unwritable() throws {
        let directory = try temporaryDirectory(["a.mmt": good])
        let result = mmusim(["run", "--json=\(directory)/no/such/dir/r.json", directory + "/a.mmt"])
        #expect(result.status == 2)
        #expect(result.err.contains("no/such/dir/r.json: cannot write"))
        let timeline = mmusim(["run", "--timeline", "\(directory)/no/t.json", directory + "/a.mmt"])
        #expect(timeline.status == 2 && timeline.out.isEmpty)
    }
}
