#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import MMUHardware
import MMUKernel
import MMUTrace

/// `mmusim run` on a streamed trace (Lackey, ChampSim): read record by record
/// in constant memory; a bad record stops the run after the statistics so far.
enum StreamedRun {
    static func run(_ source: ByteSource, format: TraceFormat, request: RunRequest, console: Console) -> Int32 {
        let name = request.path == "-" ? "<stdin>" : request.path
        guard let configuration = request.settings.configured(console) else { return 2 }
        guard case .success(var timelineFile) = request.openTimeline(console) else { return 2 }
        let logging = request.events || timelineFile != nil
        var runner = StreamRunner(configuration: configuration, logEvents: logging, checkCoherence: request.checkCoherence)
        var progress = Progress(total: source.totalBytes, enabled: !request.quiet && isatty(2) == 1, console: console)
        var timeline = Timeline(cores: configuration.cores)
        timelineFile?.write(Timeline.header)
        var failure: TraceError? = nil
        var skippedLines: UInt64 = 0
        var records: UInt64? = nil

        func drive<R: MemoryTraceReader>(_ reader: inout R) {
            do throws(TraceError) {
                try runner.run(&reader, progress: { records, bytes in progress.update(records: records, bytes: bytes) },
                               stop: { Interrupt.requested },
                               events: logging ? { record, events in
                                   if request.events {
                                       console.out("# record \(record)\n" + events.map { EventFormatter.line($0) + "\n" }.joined())
                                   }
                                   if timelineFile != nil { timelineFile?.write(timeline.add(events)) }
                               } : nil,
                               eventRange: request.timelineRange)
            } catch {
                failure = error
            }
            skippedLines = reader.skippedLines
            // A ChampSim record may hold several accesses: count records, as the name says.
            if let champSim = reader as? ChampSimReader { records = champSim.records }
        }
        switch format {
        case .lackey:
            var reader = LackeyReader(source: source, file: name)
            drive(&reader)
        case .champsim:
            var reader = ChampSimReader(source: source, file: name)
            drive(&reader)
        case .mmt:
            return 2
        }
        progress.finish()
        timelineFile?.write(Timeline.footer)
        guard request.commitTimeline(&timelineFile, console) else { return 2 }
        for (record, violation) in runner.coherenceViolations {
            console.err("\(name): record \(record): coherence: \(violation)\n")
        }
        if runner.skippedRecords > 0 {
            console.err("\(name): warning: \(runner.skippedRecords) records skipped after the process was killed (out of memory)\n")
        }
        let extra: [(String, UInt64)] = [("trace.records", records ?? runner.records), ("trace.skipped_lines", skippedLines)]
        let written = request.report(json: StatisticsReport.json(runner.system, trace: name, format: format.rawValue,
                                                                 histogram: runner.histogram, extra: extra),
                                     text: StatisticsReport.text(runner.system) + extra.map { "\($0.0)  \($0.1)\n" }.joined(),
                                     console)
        guard written else { return 2 }
        if let failure {
            console.err("\(failure)\n")
            return 2
        }
        if runner.stopped {
            if Interrupt.bySignal { console.err("mmusim: interrupted after \(runner.records) records; the statistics above are the run so far\n") }
            return 130
        }
        return runner.coherenceViolations.isEmpty ? 0 : 1
    }
}

/// The progress line on standard error: accesses done, accesses per second and
/// the percentage when the size is known; only on a terminal, only for runs
/// longer than a second.
struct Progress {
    let total: UInt64?
    let enabled: Bool
    let console: Console
    let start = Progress.now()
    var shown = false

    init(total: UInt64?, enabled: Bool, console: Console) {
        self.total = total
        self.enabled = enabled
        self.console = console
    }

    mutating func update(records: UInt64, bytes: UInt64) {
        guard enabled else { return }
        let elapsed = Progress.now() - start
        guard elapsed >= 1 else { return }
        var line = "\r\(records) accesses, \(Int(Double(records) / elapsed)) /s"
        if let total, total > 0 { line += ", \(min(100, bytes * 100 / total))%" }
        console.err(line + "   ")
        shown = true
    }

    mutating func finish() {
        if shown { console.err("\r\u{1B}[K") }
    }

    static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}
