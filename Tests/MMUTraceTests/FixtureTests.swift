import Foundation
import Testing
import MMUKernel
import MMUTrace

/// Fixtures/, found from this file's place in the package (Tests/MMUTraceTests/).
private let fixturesDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("Fixtures")

/// The name of every `.mmt` file under Fixtures/ (subfolders included), sorted;
/// empty when the folder is missing, which `fixturesExist` reports.
private let fixtureNames: [String] = {
    guard let walker = FileManager.default.enumerator(atPath: fixturesDirectory.path) else { return [] }
    return walker.compactMap { $0 as? String }.filter { $0.hasSuffix(".mmt") }.sorted()
}()

private func text(of fixture: String) throws -> String {
    try String(contentsOf: fixturesDirectory.appendingPathComponent(fixture), encoding: .utf8)
}

private func run(_ text: String, file: String, checkCoherence: Bool = false) throws -> TraceRunner {
    var runner = TraceRunner(trace: try MMTReader(file: file).read(text), checkCoherence: checkCoherence)
    runner.run()
    return runner
}

private func listing(_ failures: [AssertionFailure], in fixture: String) -> String {
    failures.map { "\(fixture):\($0.line): \($0.message)" }.joined(separator: "\n")
}

/// A run warns only when a process is killed for want of frames, so a fixture
/// expects warnings exactly when it expects an OOM kill (`expect faults.oom N`,
/// N > 0). None does today.
private func expectsOOMKill(_ text: String) -> Bool {
    text.split(separator: "\n").contains { line in
        let fields = line.prefix { $0 != "#" }.split(separator: " ")
        return fields.count == 3 && fields[0] == "expect" && fields[1].hasSuffix("faults.oom")
            && Configuration.parseNumber(fields[2]).map { $0 > 0 } == true
    }
}

@Suite("The fixtures under Fixtures/")
struct FixtureTests {
    @Test("the fixtures folder exists and holds fixtures")
    func fixturesExist() {
        #expect(FileManager.default.fileExists(atPath: fixturesDirectory.path), "no folder \(fixturesDirectory.path)")
        #expect(fixtureNames.count >= 20, "only \(fixtureNames.count) .mmt files under \(fixturesDirectory.path)")
    }

    @Test("every expectation of the fixture holds", arguments: fixtureNames)
    func fixturePasses(_ fixture: String) throws {
        let source = try text(of: fixture)
        let runner = try run(source, file: fixture)
        #expect(runner.failures.isEmpty, "\(runner.failures.count) failed:\n\(listing(runner.failures, in: fixture))")
        #expect(runner.passed > 0, "\(fixture) checked nothing")
        if !expectsOOMKill(source) {
            #expect(runner.warnings.isEmpty, "\(runner.warnings.map { "\(fixture):\($0.line): \($0.message)" })")
        }
    }

    @Test("the fixture keeps every translation coherent", arguments: fixtureNames)
    func fixtureIsCoherent(_ fixture: String) throws {
        let runner = try run(try text(of: fixture), file: fixture, checkCoherence: true)
        #expect(runner.failures.isEmpty, "\(runner.failures.count) failed:\n\(listing(runner.failures, in: fixture))")
        #expect(runner.passed > 0)
    }

    /// The 01 fixture with line `prefix...` changed by `edit`; its line number too.
    private func mutated(_ prefix: String, _ edit: (String) -> String) throws -> (text: String, line: Int) {
        var lines = try text(of: "01-demand-zero.mmt").split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let index = try #require(lines.firstIndex { $0.hasPrefix(prefix) }, "01-demand-zero.mmt has no line '\(prefix)...'")
        let edited = edit(lines[index])
        try #require(edited != lines[index])
        lines[index] = edited
        return (lines.joined(separator: "\n"), index + 1)
    }

    @Test("a fixture with one expect value too low or too high fails at exactly that line", arguments: [3964, 3966])
    func wrongExpectIsCaught(_ wrong: Int) throws {
        let (text, line) = try mutated("expect cycles 3965 ") { $0.replacingOccurrences(of: "3965", with: String(wrong)) }
        let runner = try run(text, file: "01-demand-zero.mmt")
        #expect(runner.failures.map(\.line) == [line])
        #expect(runner.failures.map(\.message) == ["expect cycles: expected \(wrong), got 3965"])
        let original = try run(try Self.original(), file: "01-demand-zero.mmt")
        #expect(runner.passed == original.passed - 1)
    }

    @Test("a fixture with one =VALUE too low or too high fails at exactly that line", arguments: ["0x4443", "0x4445"])
    func wrongReadValueIsCaught(_ wrong: String) throws {
        let (text, line) = try mutated("r 0 0x404000 =0x4444 ") { $0.replacingOccurrences(of: "=0x4444", with: "=" + wrong) }
        let runner = try run(text, file: "01-demand-zero.mmt")
        #expect(runner.failures.map(\.line) == [line])
        #expect(runner.failures.map(\.message) == ["r 0x404000: expected =\(wrong), read 0x4444"])
        let original = try run(try Self.original(), file: "01-demand-zero.mmt")
        #expect(runner.passed == original.passed - 1)
    }

    private static func original() throws -> String { try text(of: "01-demand-zero.mmt") }
}
