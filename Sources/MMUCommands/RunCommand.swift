import MMUKernel
import MMUTrace

/// `mmusim run TRACE`: runs one trace and prints its statistics.
enum RunCommand: Command {
    static let format = Option<TraceFormat>(
        "--format", value: "mmt|lackey|champsim", help: "the trace's format (detected when not given)",
        completion: .choices(TraceFormat.allCases.map(\.name))) { name in
        TraceFormat(name: name).map { .success($0) } ?? .failure(InvalidValue("takes mmt, lackey or champsim"))
    }
    static let json = Option<String>(
        "--json", value: "FILE",
        help: "prints one JSON object instead of the text report; --json=FILE writes it to FILE\n"
            + "(whole, under a temporary name renamed into place) and prints the text report",
        attachedOnly: true)
    static let events = Option<Bool>(
        flag: "--events", help: "first prints one line per event, stamped with the core and its clock")
    static let timeline = Option<String>(
        "--timeline", value: "FILE.json",
        help: "writes a Chrome trace-event file (Perfetto, chrome://tracing): a track per core, spans\n"
            + "for accesses, walks, faults and each handler step, syscalls, shootdowns, IPIs and waits")
    static let timelineRange = Option<Range<UInt64>>(
        "--timeline-range", value: "FROM:TO",
        help: "keeps only accesses FROM (inclusive) to TO (exclusive) in the timeline, counted from 0") { text in
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        let low = parts.first.flatMap { $0.isEmpty ? 0 : UInt64($0) }
        let high = parts.count == 2 ? (parts[1].isEmpty ? UInt64.max : UInt64(parts[1])) : nil
        guard parts.count == 2, let low, let high, low < high else {
            return .failure(InvalidValue("takes FROM:TO (accesses, FROM < TO)"))
        }
        return .success(low..<high)
    }
    static let quiet = Option<Bool>(flag: "--quiet", help: "no progress line for a streamed trace")

    static let declaration = CommandDeclaration(
        name: "run", abstract: "Runs a trace and prints its statistics.",
        discussion: """
        The report is `name value` lines (totals, then coreN. per core), or one JSON object with
        --json. The format is detected (.mmt, Valgrind Lackey text, ChampSim binary) unless
        --format names it; streamed formats run in constant memory with a progress line on a
        terminal and stop at their first bad record after printing the statistics so far.
        Settings apply in this order: defaults, --cpu, --config, the trace's set lines, --set.
        SIGINT stops the run and prints the statistics so far (exit 130).
        """,
        arguments: [ArgumentDeclaration("TRACE", help: "the trace file, or - for standard input")],
        options: [format.declaration] + ConfigurationOptions.declarations + [
            json.declaration, events.declaration, ConfigurationOptions.checkCoherence.declaration,
            timeline.declaration, timelineRange.declaration, quiet.declaration,
        ])

    static func run(_ arguments: ParsedArguments, console: Console) -> Int32 {
        guard arguments.positionals.count == 1, let path = arguments.positionals.first else {
            return refuse("name exactly one trace", console)
        }
        if arguments.contains(timelineRange) && !arguments.contains(timeline) {
            return refuse("--timeline-range goes with --timeline FILE.json", console)
        }
        if let output = arguments.value(json), !arguments.containsBare(json), output == arguments.value(timeline) {
            return refuse("--json=\(output) and --timeline \(output) name the same file", console)
        }
        guard let settings = Settings(arguments, command: declaration.name, console: console) else { return 2 }
        let request = RunRequest(
            path: path, settings: settings, json: arguments.containsBare(json), jsonFile: arguments.value(json),
            events: arguments.contains(events), checkCoherence: arguments.contains(ConfigurationOptions.checkCoherence),
            timeline: arguments.value(timeline), timelineRange: arguments.value(timelineRange) ?? 0..<UInt64.max,
            quiet: arguments.contains(quiet))
        // Before reading: a SIGINT during a long read stops the run before it starts.
        Interrupt.install()
        // One pass over one source for every format: a file, a FIFO, /dev/fd/N,
        // standard input (-) or a gzip/xz file.
        let source: ByteSource
        let format: TraceFormat
        do throws(ByteSourceError) {
            source = try ByteSource.opening(path)
            if let named = arguments.value(Self.format) { format = named } else { format = try TraceFormat.detect(source) }
        } catch {
            console.err("mmusim: \(error)\n")
            return 2
        }
        if format != .mmt {
            return StreamedRun.run(source, format: format, request: request, console: console)
        }
        let name = path == "-" ? "<stdin>" : path
        let text: String
        switch TextInput.read(source, limit: .trace) {
        case .success(let contents): text = contents
        case .failure(let error):
            console.err("\(FileProblem(error: error))\n")
            return 2
        }
        guard let trace = settings.parseTrace(text, file: name, console) else { return 2 }
        return execute(trace, path: name, request, console)
    }

    /// Runs a checked `.mmt` trace and prints its results.
    static func execute(_ trace: MMTReader.Trace, path: String, _ request: RunRequest, _ console: Console) -> Int32 {
        guard case .success(var timelineFile) = request.openTimeline(console) else { return 2 }
        let logging = request.events || timelineFile != nil
        var runner = TraceRunner(trace: trace, logEvents: logging, checkCoherence: request.checkCoherence)
        if logging {
            var timeline = Timeline(cores: trace.configuration.cores)
            timelineFile?.write(Timeline.header)
            runner.run(stop: { Interrupt.requested }) { line, events, accessesBefore in
                guard !events.isEmpty else { return }
                if request.events {
                    var text = "# line \(line.line)\n"
                    for event in events { text += EventFormatter.line(event) + "\n" }
                    console.out(text)
                }
                if timelineFile != nil, request.timelineRange.contains(accessesBefore) {
                    timelineFile?.write(timeline.add(events))
                }
            }
            timelineFile?.write(Timeline.footer)
        } else {
            runner.run(stop: { Interrupt.requested })
        }
        guard request.commitTimeline(&timelineFile, console) else { return 2 }
        for warning in runner.warnings { console.err("\(path):\(warning.line): warning: \(warning.message)\n") }
        for failure in runner.failures { console.err("\(path):\(failure.line): \(failure.message)\n") }
        guard request.report(json: StatisticsReport.json(runner.system, trace: path, histogram: runner.histogram),
                             text: StatisticsReport.text(runner.system), console) else { return 2 }
        if let line = runner.stoppedAt {
            if Interrupt.bySignal { console.err("mmusim: interrupted before \(path):\(line); the statistics above are the run so far\n") }
            return 130
        }
        return runner.failures.isEmpty ? 0 : 1
    }
}

/// What `mmusim run` was asked to do, for `.mmt` and streamed traces alike.
struct RunRequest {
    var path: String
    var settings: Settings
    /// `--json`: the JSON report instead of the text one on standard output.
    var json: Bool
    /// `--json=FILE`: the JSON report goes to FILE (written atomically), the text one to standard output.
    var jsonFile: String?
    var events: Bool
    var checkCoherence: Bool
    var timeline: String?
    var timelineRange: Range<UInt64>
    var quiet: Bool

    /// The files this run reads, which no output may replace.
    var inputs: [String] { [path] + settings.inputs }

    /// The `--timeline` file opened for writing (nil without `--timeline`);
    /// a failure has been printed.
    func openTimeline(_ console: Console) -> Result<AtomicFile?, TraceError> {
        guard let path = timeline else { return .success(nil) }
        switch AtomicFile.create(path, inputs: inputs + (jsonFile.map { [$0] } ?? [])) {
        case .success(let file): return .success(file)
        case .failure(let error):
            console.err("mmusim: \(error.file): \(error.message)\n")
            return .failure(error)
        }
    }

    /// Renames the finished timeline into place; false, with a message, when it cannot.
    func commitTimeline(_ file: inout AtomicFile?, _ console: Console) -> Bool {
        guard let opened = file else { return true }
        file = nil
        if opened.commit() { return true }
        console.err("mmusim: \(opened.path): cannot write the timeline: \(opened.failure)\n")
        return false
    }

    /// Prints the text report, or the JSON one with `--json`; with `--json=FILE`
    /// also writes the JSON report under a temporary name renamed into place.
    func report(json: @autoclosure () -> String, text: @autoclosure () -> String, _ console: Console) -> Bool {
        console.out(self.json ? json() : text())
        guard let path = jsonFile else { return true }
        guard let problem = AtomicFile.write(json(), to: path, inputs: inputs) else { return true }
        console.err("mmusim: \(problem)\n")
        return false
    }
}
