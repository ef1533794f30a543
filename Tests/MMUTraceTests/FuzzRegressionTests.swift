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

@Suite("Fuzz regressions")
struct FuzzRegressionTests {
    @Test("every kept .mmt fuzz input runs without a bug", arguments: inputs("FuzzMMT"))
    func mmt(_ path: String) throws {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let outcome = FuzzEntries.runTrace(bytes)
        #expect(!outcome.isBug, "\(path): \(outcome)")
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
