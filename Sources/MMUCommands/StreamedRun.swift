#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import MMUHardware
import MMUKernel
import MMUTrace

/// `mmusim run` on streamed traces (Lackey, ChampSim): read record by record
/// in constant memory; a bad record stops the run after the statistics so far.
enum StreamedRun {
    /// One streamed trace of the command line, opened.
    struct Input {
        var source: ByteSource
        var format: TraceFormat
        /// The name messages and the report use (`<stdin>` for `-`).
        var name: String
    }

    /// One trace: one process on core 0 (`StreamRunner`).
    static func run(_ source: ByteSource, format: TraceFormat, request: RunRequest, console: Console) -> Int32 {
        let name = request.path == "-" ? "<stdin>" : request.path
        guard let configuration = request.settings.configured(console) else { return 2 }
        guard var output = EventOutput.open(request, cores: configuration.cores, console: console) else { return 2 }
        var runner = StreamRunner(configuration: configuration, logEvents: output.isOn, checkCoherence: request.checkCoherence)
        var progress = Progress(total: source.totalBytes, enabled: !request.quiet && isatty(2) == 1, console: console)
        var failure: TraceError? = nil
        var skippedLines: UInt64 = 0
        var records: UInt64? = nil

        func drive<R: MemoryTraceReader>(_ reader: inout R) {
            do throws(TraceError) {
                try runner.run(&reader, progress: { records, bytes in progress.update(records: records, bytes: bytes) },
                               stop: { Interrupt.requested || request.memory.passed() },
                               events: output.isOn ? { record, events in
                                   output.write(events, heading: "# record \(record)\n", record: record)
                               } : nil,
                               eventRange: request.timelineRange)
            } catch {
                failure = error
            }
            skippedLines = reader.skippedLines
            records = reader.recordsRead
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
        return finish(Outcome(
            system: runner.system, histogram: runner.histogram, trace: name, format: format.rawValue,
            coherenceLines: runner.coherenceViolations.map { "\(name): record \($0.record): coherence: \($0.violation)\n" },
            skippedWarnings: runner.skippedRecords > 0
                ? ["\(name): warning: \(runner.skippedRecords) records skipped after the process was killed (out of memory)\n"] : [],
            extra: [("trace.records", records ?? runner.records), ("trace.skipped_lines", skippedLines)],
            failure: failure, stoppedAfter: runner.stopped ? runner.records : nil), output: &output, request: request, console: console)
    }

    /// Several traces: trace i on core i, as processes or as threads of one
    /// process (`MultiStreamRunner`), interleaved by the cores' clocks.
    static func run(_ inputs: [Input], sharing: MultiStreamRunner.Sharing, request: RunRequest, console: Console) -> Int32 {
        guard var configuration = request.settings.configured(console) else { return 2 }
        guard let cores = coresFor(traces: inputs.count, configuration, request.settings, console) else { return 2 }
        configuration.cores = cores
        guard var output = EventOutput.open(request, cores: configuration.cores, console: console) else { return 2 }
        var readers: [any MemoryTraceReader] = []
        for input in inputs {
            guard let reader = input.format.streamReader(input.source, file: input.name) else { return 2 }
            readers.append(reader)
        }
        var runner: MultiStreamRunner
        do throws(ConfigurationError) {
            runner = try MultiStreamRunner(configuration: configuration, readers: readers, sharing: sharing,
                                           logEvents: output.isOn, checkCoherence: request.checkCoherence)
        } catch {
            console.err("mmusim run: \(error.message)\n")
            return 2
        }
        let sizes = inputs.map(\.source.totalBytes)
        let total: UInt64? = sizes.contains(nil) ? nil : sizes.reduce(0) { $0 + ($1 ?? 0) }
        var progress = Progress(total: total, enabled: !request.quiet && isatty(2) == 1, console: console)
        var failure: TraceError? = nil
        do throws(TraceError) {
            try runner.run(progress: { records, bytes in progress.update(records: records, bytes: bytes) },
                           stop: { Interrupt.requested || request.memory.passed() },
                           events: output.isOn ? { trace, record, events in
                               output.write(events, heading: "# trace\(trace) record \(record)\n", record: record, trace: trace)
                           } : nil,
                           eventRange: request.timelineRange)
        } catch {
            failure = error
        }
        progress.finish()
        let names = inputs.map(\.name)
        var extra: [(String, UInt64)] = []
        for (index, lines) in runner.skippedLines.enumerated() {
            extra += [("trace\(index).records", runner.recordsRead[index]), ("trace\(index).skipped_lines", lines)]
        }
        return finish(Outcome(
            system: runner.system, histogram: runner.histogram, trace: names.joined(separator: ","),
            format: inputs.map(\.format.rawValue).joined(separator: ","),
            coherenceLines: runner.coherenceViolations.map { "\(names[$0.trace]): record \($0.record): coherence: \($0.violation)\n" },
            skippedWarnings: runner.skippedRecords.enumerated().filter { $0.element > 0 }.map {
                "\(names[$0.offset]): warning: \($0.element) records skipped after the process was killed (out of memory)\n"
            },
            extra: extra, failure: failure, stoppedAfter: runner.stopped ? runner.totalRecords : nil),
            output: &output, request: request, console: console)
    }

    /// The cores a run of `traces` traces gets: one per trace, or more when a
    /// setting (`--set cores=N`, `--cpu`, `--config`) names more; nil, with a
    /// message naming that setting, when it names fewer.
    static func coresFor(traces: Int, _ configuration: Configuration, _ settings: Settings, _ console: Console) -> Int? {
        let named = settings.overrides.last { $0.setting.key == "cores" }?.written ?? settings.origins["cores"]
        guard let named else {
            guard Configuration.Limits.cores.contains(traces) else {
                console.err("mmusim run: \(traces) traces: at most \(Configuration.Limits.cores.upperBound) run at once (one per core)\n")
                return nil
            }
            return traces
        }
        guard configuration.cores >= traces else {
            console.err("mmusim run: \(named): \(traces) traces need at least \(traces) cores (each runs on its own)\n")
            return nil
        }
        return configuration.cores
    }

    /// What a streamed run leaves to report.
    struct Outcome {
        var system: System
        var histogram: AccessHistogram
        /// The trace's name for the JSON report (the names, comma-separated, for several).
        var trace: String
        var format: String
        var coherenceLines: [String]
        var skippedWarnings: [String]
        /// Statistics of the trace(s) after the system's (`trace.records`, ...).
        var extra: [(String, UInt64)]
        var failure: TraceError?
        /// The records run when SIGINT stopped the run.
        var stoppedAfter: UInt64?
    }

    /// Commits the event files, prints the messages and the report; the exit status.
    static func finish(_ outcome: Outcome, output: inout EventOutput, request: RunRequest, console: Console) -> Int32 {
        guard output.commit(console) else { return 2 }
        for line in outcome.coherenceLines { console.err(line) }
        if request.checkCoherence {
            console.err(RunRequest.coherenceSummary(checked: outcome.system.translationsChecked, violations: outcome.coherenceLines.count))
        }
        for warning in outcome.skippedWarnings { console.err(warning) }
        let written = request.report(json: StatisticsReport.json(outcome.system, trace: outcome.trace, format: outcome.format,
                                                                 histogram: outcome.histogram, extra: outcome.extra),
                                     text: StatisticsReport.text(outcome.system) + outcome.extra.map { "\($0.0)  \($0.1)\n" }.joined(),
                                     console)
        guard written else { return 2 }
        if let failure = outcome.failure {
            console.err("\(failure)\n")
            return 2
        }
        if let records = outcome.stoppedAfter {
            if request.memory.exceeded != nil {
                console.err(request.memory.message(after: "\(records) records", kept: "the statistics above are the run so far"))
                return 2
            }
            if Interrupt.bySignal { console.err("mmusim: interrupted after \(records) records; the statistics above are the run so far\n") }
            return 130
        }
        return outcome.coherenceLines.isEmpty ? 0 : 1
    }
}

/// Where a run's events go, batch by batch as the run drains them: text lines
/// on standard output (`--events`), JSON Lines in a file (`--events=FILE`),
/// and the Perfetto timeline (`--timeline`). None holds more than one batch.
struct EventOutput {
    let text: Bool
    var stream: EventStream?
    var timelineFile: AtomicFile?
    var timeline: Timeline
    let console: Console

    /// Whether any output wants events (the system logs them only then).
    var isOn: Bool { text || stream != nil || timelineFile != nil }

    /// The outputs `request` asks for, opened (the timeline's header written);
    /// nil, with the message printed, when a file cannot be created.
    static func open(_ request: RunRequest, cores: Int, console: Console) -> EventOutput? {
        guard case .success(let timelineFile) = request.openTimeline(console) else { return nil }
        var output = EventOutput(text: request.events, stream: nil, timelineFile: timelineFile,
                                 timeline: Timeline(cores: cores), console: console)
        if let path = request.eventsFile {
            switch EventStream.create(path) {
            case .success(let stream): output.stream = stream
            case .failure(let error):
                output.timelineFile?.abandon()
                console.err("mmusim: \(error.file): \(error.message)\n")
                return nil
            }
        }
        output.timelineFile?.write(Timeline.header)
        return output
    }

    /// Writes one batch: `heading` then a line per event as text, a JSON line
    /// per event, and (when `toTimeline`) the timeline's spans it closes.
    mutating func write(_ events: [Event], heading: @autoclosure () -> String, record: UInt64, trace: Int? = nil,
                        toTimeline: Bool = true) {
        if text { console.out(heading() + events.map { EventFormatter.line($0) + "\n" }.joined()) }
        stream?.write(events, record: record, trace: trace)
        if toTimeline, timelineFile != nil { timelineFile?.write(timeline.add(events)) }
    }

    /// Ends the timeline and renames the files into place (a run stopped
    /// early commits what it wrote: every line whole); false, with a message,
    /// when one cannot be written.
    mutating func commit(_ console: Console) -> Bool {
        if var file = timelineFile {
            file.write(Timeline.footer)
            timelineFile = nil
            guard file.commit() else {
                stream?.abandon()
                console.err("mmusim: \(file.path): cannot write the timeline\n")
                return false
            }
        }
        if var events = stream {
            stream = nil
            guard events.commit() else {
                console.err("mmusim: \(events.path): cannot write the events\n")
                return false
            }
        }
        return true
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
