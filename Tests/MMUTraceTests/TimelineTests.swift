import Foundation
import Testing
import MMUHardware
import MMUKernel
@testable import MMUTrace

private let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures")

/// Runs a fixture with events on and returns its timeline's parsed events and the final system.
private func timeline(of fixture: String, range: Range<UInt64> = 0..<UInt64.max) throws -> ([[String: Any]], System) {
    let text = try String(contentsOf: fixtures.appendingPathComponent(fixture), encoding: .utf8)
    let trace = try MMTReader(file: fixture).read(text)
    var runner = TraceRunner(trace: trace, logEvents: true)
    var builder = Timeline(cores: trace.configuration.cores)
    var json = Timeline.header
    runner.run(events: { _, events, accessesBefore in
        if range.contains(accessesBefore) { json += builder.add(events) }
    })
    json += Timeline.footer
    let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
    return (try #require(object["traceEvents"] as? [[String: Any]]), runner.system)
}

private func number(_ value: Any?) -> UInt64 { (value as? NSNumber)?.uint64Value ?? 0 }

@Suite("Timelines")
struct TimelineTests {
    @Test("a COW fixture's timeline is valid trace-event JSON whose spans are ordered and nest",
          arguments: ["04-cow-copy.mmt", "20-ipi-shootdown.mmt", "22-deferred-unmap.mmt", "26-cow-thread-shootdown.mmt"])
    func spansNest(_ fixture: String) throws {
        let (events, system) = try timeline(of: fixture)
        let complete = events.filter { $0["ph"] as? String == "X" }
        #expect(!complete.isEmpty)
        for tid in Set(complete.map { number($0["tid"]) }) {
            let track = complete.filter { number($0["tid"]) == tid }
            let starts = track.map { number($0["ts"]) }
            #expect(starts == starts.sorted(), "track \(tid) is not ordered")
            var stack: [(end: UInt64, name: String)] = []
            for event in track {
                let start = number(event["ts"]), end = start + number(event["dur"])
                while let top = stack.last, top.end <= start, !(top.end == start && end == start) { stack.removeLast() }
                if let top = stack.last {
                    #expect(end <= top.end, "\(event["name"] ?? "") [\(start), \(end)) overlaps \(top.name) ending at \(top.end) on track \(tid)")
                }
                stack.append((end, event["name"] as? String ?? ""))
            }
            // Every cycle of a core is a charge or a wait: their spans add up to its clock.
            let leaves = track.filter { ($0["name"] as? String)?.hasPrefix("cost.") == true || $0["name"] as? String == "wait" }
            #expect(leaves.reduce(0) { $0 + number($1["dur"]) } == system.machine.cores[Int(tid)].clock)
        }
    }

    @Test("the COW fault lies inside its access, and the copy inside the fault")
    func cowFaultLayout() throws {
        let (events, _) = try timeline(of: "04-cow-copy.mmt")
        let complete = events.filter { $0["ph"] as? String == "X" }
        let copy = try #require(complete.first { $0["name"] as? String == "cost.frame.copy" })
        let at = number(copy["ts"])
        func enclosing(_ name: String) -> [String: Any]? {
            complete.first { $0["name"] as? String == name && number($0["ts"]) <= at && at < number($0["ts"]) + number($0["dur"]) }
        }
        let fault = try #require(enclosing("page fault"))
        let access = try #require(enclosing("access"))
        #expect(number(access["ts"]) <= number(fault["ts"]))
        let arguments = fault["args"] as? [String: Any]
        #expect(arguments?["decoded"] as? String == "0x7 [P|W|U]")
        #expect(arguments?["cr2"] as? String == "0x400000")
    }

    @Test("a timeline range keeps only the accesses asked for")
    func range() throws {
        let (all, _) = try timeline(of: "04-cow-copy.mmt")
        let (some, _) = try timeline(of: "04-cow-copy.mmt", range: 2..<3)
        let accesses = { (events: [[String: Any]]) in events.filter { $0["name"] as? String == "access" }.count }
        #expect(accesses(all) == 7)
        #expect(accesses(some) == 1)
    }
}
