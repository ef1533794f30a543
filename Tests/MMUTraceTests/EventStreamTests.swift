import Foundation
import Testing
@testable import MMUHardware
import MMUKernel
@testable import MMUTrace

/// Parses every line of `text` as one JSON object.
func jsonObjects(_ text: String) throws -> [[String: Any]] {
    try text.split(separator: "\n").map { line in
        let object = try JSONSerialization.jsonObject(with: Data(line.utf8))
        return try #require(object as? [String: Any], "not an object: \(line)")
    }
}

@Suite("Event stream")
struct EventStreamTests {
    @Test("every event becomes one JSON line with core, clock and kind, in the order of the text output")
    func linesParseInTextOrder() throws {
        var files: [TemporaryFile] = []
        defer { files.forEach { $0.remove() } }
        let output = TemporaryFile(reserving: "events.jsonl")
        defer { output.remove() }
        var reader = try lackeyReader(mixedLackey, &files)
        var runner = StreamRunner(configuration: Configuration(), logEvents: true)
        var stream = try EventStream.create(output.path).get()
        var text: [String] = []
        try runner.run(&reader, events: { record, events in
            text += events.map(EventFormatter.line)
            stream.write(events, record: record)
        })
        let committed = stream.commit()
        #expect(committed)
        let objects = try jsonObjects(try String(contentsOfFile: output.path, encoding: .utf8))
        #expect(objects.count == text.count)
        #expect(UInt64(objects.count) == stream.written)
        for (object, line) in zip(objects, text) {
            let core = try #require(object["core"] as? Int)
            let clock = try #require(object["clock"] as? UInt64)
            #expect(line.hasPrefix("core\(core) @"))
            #expect(line.split(separator: " ", omittingEmptySubsequences: true)[2] == "\(clock)")
            #expect(object["kind"] is String)
            #expect(object["record"] is UInt64)
        }
    }

    @Test("every event kind has a name and its fields, and parses as JSON", arguments: EventStreamTests.everyKind)
    func everyKindParses(kind: Event.Kind) throws {
        let line = EventFormatter.json(Event(core: CoreID(3), clock: 42, kind: kind), record: 7, trace: 1)
        let object = try #require(try jsonObjects(line).first)
        #expect(object["core"] as? Int == 3)
        #expect(object["clock"] as? Int == 42)
        #expect(object["record"] as? Int == 7)
        #expect(object["trace"] as? Int == 1)
        #expect((object["kind"] as? String)?.isEmpty == false)
    }

    static let everyKind: [Event.Kind] = {
        let va = VirtualAddress(0x7fff_0000_1000)
        let step = PageWalker.Step(level: .pt, table: FrameNumber(9), index: 3, entry: .empty)
        return [
            .access(.read, va), .tlbHit(.l1d, va), .tlbMiss(.l2, va), .tlbDropped(.l1i, va), .pscHit(.pd, va),
            .walkReference(step), .walkDone(va, Translation(frame: FrameNumber(5), size: .size2M, rights: []), accessedDirtyBitsSet: 2),
            .pageFault(PageFaultErrorCode(rawValue: 6), cr2: va), .generalProtection(va), .invlpg(va, PCID(rawValue: 1)),
            .broadcastInvalidation(va, PCID(rawValue: 2)), .flush(nil), .flush(PCID(rawValue: 4)),
            .cr3Write(FrameNumber(1), PCID(rawValue: 1)), .accessDone(.write, va, PhysicalAddress(rawValue: 0x5000), UInt64.max),
            .software(KernelEvent.pteWrite(va, .empty)), .software(KernelEvent.sendIPI(to: CoreID(1))),
            .charge(.contextSwitch, 100, .switch), .wait(17), .begin(.pageFault), .end(.syscall),
        ]
    }()

    @Test("the runner holds at most one record's events, however long the trace")
    func memoryDoesNotGrowWithTheTrace() throws {
        var files: [TemporaryFile] = []
        defer { files.forEach { $0.remove() } }
        // The same 32 pages visited over and over: a longer trace repeats, so
        // its largest record makes as many events as the shorter one's.
        func held(rounds: Int) throws -> (held: Int, total: Int) {
            let addresses = (0..<rounds).flatMap { _ in (0..<32).map { 0x40_0000 + UInt64($0) * 0x1000 } }
            var reader = try lackeyReader(lackeyText(addresses), &files)
            var runner = StreamRunner(configuration: Configuration(), logEvents: true)
            var total = 0
            var largest = 0
            try runner.run(&reader, events: { _, events in
                total += events.count
                largest = max(largest, events.count)
            })
            #expect(runner.mostEventsHeld == largest)
            return (runner.mostEventsHeld, total)
        }
        let short = try held(rounds: 2)
        let long = try held(rounds: 50)
        #expect(long.held == short.held)
        #expect(long.total > 20 * long.held)
    }

    @Test("a multi-trace runner also holds at most one record's events")
    func multiTraceMemoryIsBounded() throws {
        var files: [TemporaryFile] = []
        defer { files.forEach { $0.remove() } }
        let readers: [any MemoryTraceReader] = [try lackeyReader(mixedLackey, &files), try lackeyReader(mixedLackey, &files)]
        var runner = try MultiStreamRunner(configuration: { var c = Configuration(); c.cores = 2; return c }(), readers: readers,
                                       logEvents: true)
        var total = 0
        var largest = 0
        try runner.run(events: { _, _, events in
            total += events.count
            largest = max(largest, events.count)
        })
        #expect(runner.mostEventsHeld == largest)
        #expect(total > 20 * largest)
    }

    @Test("the event file appears under its name only when complete, and leaves no temporary file")
    func fileAppearsOnlyComplete() throws {
        var files: [TemporaryFile] = []
        defer { files.forEach { $0.remove() } }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mmusim-events-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("run.jsonl").path
        var reader = try lackeyReader(mixedLackey, &files)
        var runner = StreamRunner(configuration: Configuration(), logEvents: true)
        var stream = try EventStream.create(path).get()
        var seenEarly = false
        try runner.run(&reader, events: { record, events in
            stream.write(events, record: record)
            if FileManager.default.fileExists(atPath: path) { seenEarly = true }
        })
        #expect(!seenEarly)
        let committed = stream.commit()
        #expect(committed)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["run.jsonl"])
        #expect(try jsonObjects(try String(contentsOfFile: path, encoding: .utf8)).count == Int(stream.written))

        var abandoned = try EventStream.create(path + ".2").get()
        abandoned.write([Event(core: CoreID(0), clock: 0, kind: .wait(1))], record: 0)
        abandoned.abandon()
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["run.jsonl"])
    }
}
