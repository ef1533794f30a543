import Foundation
import Testing
import MMUKernel
@testable import MMUCommands
@testable import MMUTrace

/// Lackey text: one 8-byte record per address (stores, or loads).
private func lackey(_ addresses: [UInt64], store: Bool = true) -> String {
    addresses.map { (store ? " S " : " L ") + String($0, radix: 16) + ",8\n" }.joined()
}

private let writes = lackey((0..<60).map { 0x10_0000 + $0 * 0x1000 })
private let reads = lackey((0..<60).map { 0x10_0000 + ($0 % 7) * 0x1000 }, store: false)

@Suite("mmusim run with several traces and streamed events")
struct MultiTraceRunTests {
    @Test("a single streamed trace prints exactly the single-trace runner's report, with trace.records and trace.skipped_lines")
    func singleTraceOutputIsUnchanged() throws {
        let directory = try temporaryDirectory(["a.lackey": "==1== banner\n" + writes])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/a.lackey"
        var reader = try LackeyReader(path: path)
        var runner = StreamRunner(configuration: Configuration())
        try runner.run(&reader)
        let expected = StatisticsReport.text(runner.system) + "trace.records  60\ntrace.skipped_lines  1\n"
        let result = mmusim(["run", path])
        #expect(result.status == 0)
        #expect(result.out == expected)
        #expect(result.err.isEmpty)
    }

    @Test("two traces run as two processes on two cores, with records per trace")
    func twoTracesAsProcesses() throws {
        let directory = try temporaryDirectory(["a.lackey": writes, "b.lackey": reads])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let result = mmusim(["run", directory + "/a.lackey", directory + "/b.lackey"])
        #expect(result.status == 0)
        #expect(result.out.contains("core1.accesses"))
        #expect(!result.out.contains("core2."))
        #expect(result.out.contains("trace0.records  60\ntrace0.skipped_lines  0\ntrace1.records  60\ntrace1.skipped_lines  0\n"))
        #expect(!result.out.contains("trace.records"))
        // The same run again prints the same bytes.
        #expect(mmusim(["run", directory + "/a.lackey", directory + "/b.lackey"]).out == result.out)
    }

    @Test("--threads runs the traces in one address space: shared pages are demand-zeroed once")
    func threadsShareOneAddressSpace() throws {
        let directory = try temporaryDirectory(["a.lackey": writes])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/a.lackey"
        // 60 pages written by both traces: once each as threads, twice as processes.
        #expect(mmusim(["run", "--threads", path, path]).out.contains("\nfaults.demand_zero           60\n"))
        #expect(mmusim(["run", path, path]).out.contains("\nfaults.demand_zero           120\n"))
    }

    @Test("--set cores=N gives more cores than traces; fewer is refused naming the option")
    func coresFromTheCommandLine() throws {
        let directory = try temporaryDirectory(["a.lackey": writes])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/a.lackey"
        #expect(mmusim(["run", "--set", "cores=4", path, path]).out.contains("core3.accesses"))
        let refused = mmusim(["run", "--set", "cores=1", path, path])
        #expect(refused.status == 2)
        #expect(refused.err.contains("--set cores=1"))
        #expect(refused.out.isEmpty)
    }

    @Test("bad combinations are refused with exit 2, naming the option or the trace",
          arguments: [(["--threads", "A"], "--threads"), (["--events", "x.jsonl", "A"], "--events=x.jsonl"),
                      (["A", "MMT"], ".mmt trace runs alone")])
    func badCombinations(arguments: [String], message: String) throws {
        let directory = try temporaryDirectory(["a.lackey": writes, "t.mmt": "process 1\n"])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let resolved = arguments.map { $0 == "A" ? directory + "/a.lackey" : $0 == "MMT" ? directory + "/t.mmt" : $0 }
        let result = mmusim(["run"] + resolved)
        #expect(result.status == 2)
        #expect(result.err.contains(message))
    }

    @Test("--events=FILE.jsonl writes one JSON object per event, in the order --events prints them")
    func eventsFileFollowsTextOrder() throws {
        let directory = try temporaryDirectory(["a.lackey": writes, "b.lackey": reads])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let traces = [directory + "/a.lackey", directory + "/b.lackey"]
        for arguments in [[traces[0]], traces, ["--threads"] + traces] {
            let file = directory + "/events.jsonl"
            let streamed = mmusim(["run", "--events=\(file)"] + arguments)
            #expect(streamed.status == 0)
            let text = mmusim(["run", "--events"] + arguments)
            // The text's event lines come before the report: "coreN @ CLOCK  ...".
            let stamps = text.out.split(separator: "\n").filter { $0.hasPrefix("core") && $0.contains(" @") }.map { line in
                let words = line.split(separator: " ")
                return "\(words[0]) \(words[2])"
            }
            let lines = try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n")
            let objects = try lines.map { try #require(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
            #expect(objects.map { "core\($0["core"] ?? "") \($0["clock"] ?? "")" } == stamps)
            #expect(!stamps.isEmpty)
            // The report is the same with or without events.
            #expect(streamed.out == mmusim(["run"] + arguments).out)
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.contains(".tmp-") }
            #expect(leftovers.isEmpty)
        }
    }
}
