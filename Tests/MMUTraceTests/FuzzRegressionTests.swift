import Foundation
import Testing
import MMUFuzzing

private let regressions = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("Fuzz/Regressions")

/// Every input a fuzzer ever kept (Tests/Fuzz/Regressions/TARGET/*), replayed.
private func inputs(_ target: String) -> [String] {
    let directory = regressions.appendingPathComponent(target)
    let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
    return names.filter { !$0.hasPrefix(".") }.sorted().map { directory.appendingPathComponent($0).path }
}

/// The bytes of a kept input.
private func contents(_ path: String) throws -> [UInt8] {
    [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
}

@Suite("Fuzz regressions")
struct FuzzRegressionTests {
    @Test("every kept .mmt fuzz input runs without a bug", arguments: inputs("FuzzMMT"))
    func mmt(_ path: String) throws {
        let outcome = FuzzEntries.runTrace(try contents(path))
        #expect(!outcome.isBug, "\(path): \(outcome)")
    }

    @Test("every kept Lackey fuzz input runs without a bug", arguments: inputs("FuzzLackey"))
    func lackey(_ path: String) throws {
        let outcome = FuzzEntries.runLackey(try contents(path))
        #expect(!outcome.isBug, "\(path): \(outcome)")
    }

    @Test("every kept ChampSim fuzz input runs without a bug", arguments: inputs("FuzzChampSim"))
    func champSim(_ path: String) throws {
        let outcome = FuzzEntries.runChampSim(try contents(path))
        #expect(!outcome.isBug, "\(path): \(outcome)")
    }

    @Test("every kept command-line fuzz input parses without a bug", arguments: inputs("FuzzOptions"))
    func options(_ path: String) throws {
        let outcome = FuzzEntries.parseCommandLine(try contents(path))
        #expect(!outcome.isBug, "\(path): \(outcome)")
    }

    @Test("every kept config-file fuzz input reads without a bug", arguments: inputs("FuzzConfig"))
    func config(_ path: String) throws {
        let outcome = FuzzEntries.readConfigFile(try contents(path))
        #expect(!outcome.isBug, "\(path): \(outcome)")
    }

    @Test("every kept sweep-file fuzz input reads without a bug", arguments: inputs("FuzzSweep"))
    func sweep(_ path: String) throws {
        let outcome = FuzzEntries.readExperimentFile(try contents(path))
        #expect(!outcome.isBug, "\(path): \(outcome)")
    }

    @Test("the text fuzz entries accept good input and refuse bad input with a place")
    func textEntries() {
        func argv(_ words: [String]) -> [UInt8] { Array(words.joined(separator: "\u{0}").utf8) }
        #expect(FuzzEntries.parseCommandLine(argv(["t.mmt", "--set", "frames=64", "--quiet"])) != .accepted(0))
        #expect(FuzzEntries.parseCommandLine(argv(["--no-such-option"]))
                == .refused(message: "unknown option", line: 0, column: 0))
        #expect(FuzzEntries.readConfigFile(Array("frames = 64\r\ncores = 2\n".utf8)) == .accepted(2))
        #expect(FuzzEntries.readConfigFile(Array("frames = 64\ncores\n".utf8))
                == .refused(message: "expected KEY = VALUE", line: 2, column: 1))
        #expect(FuzzEntries.readExperimentFile(Array("trace a\ncpu skylake,zen4\nsweep cores=1..4:x2\n".utf8)) == .accepted(6))
        if case .refused(_, let line, let column) = FuzzEntries.readExperimentFile(Array("trace a\nsweep frames=2..10001\nsweep cores=1..1024\n".utf8)) {
            #expect(line == 3 && column == 7)
        } else {
            Issue.record("an experiment of 10 million cells was not refused")
        }
    }

    @Test("the streamed fuzz entries run good input and refuse bad input with a location")
    func streamedEntries() {
        #expect(FuzzEntries.runLackey(Array("I  00401000,4\n L 00601000,8\n".utf8))
                == .ran(failures: 0, violations: 0, invariantProblems: 0))
        if case .refused(let error) = FuzzEntries.runLackey(Array(" X 1,1\n".utf8)) {
            #expect(error.line == 1 && error.column == 2)
        } else {
            Issue.record("bad Lackey input was not refused")
        }
        if case .refused(let error) = FuzzEntries.runChampSim([UInt8](repeating: 1, count: 100)) {
            #expect(error.line == 2)
        } else {
            Issue.record("a truncated ChampSim record was not refused")
        }
    }

    @Test("the fuzz entry refuses garbage with a location and runs a valid trace with its checkers")
    func entryWorks() {
        if case .refused(let error) = FuzzEntries.runTrace(Array("\u{0}\u{1}garbage".utf8)) {
            #expect(error.line == 1 && error.column == 1)
        } else {
            Issue.record("garbage was not refused")
        }
        let valid = "process 1\nswitch 0 1\nmap 0 0x1000 2 rw\nw 0 0x1000 1\nfork 0 2\nw 0 0x1000 2\nexpect faults.cow_copy 1\n"
        #expect(FuzzEntries.runTrace(Array(valid.utf8)) == .ran(failures: 0, violations: 0, invariantProblems: 0))
        #expect(FuzzEntries.runTrace(Array("set frames 1000000\nprocess 1".utf8)) == .skipped)
    }
}
