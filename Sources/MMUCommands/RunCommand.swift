import MMUKernel
import MMUTrace

/// `mmusim run TRACE...`: runs a trace (or several streamed ones at once) and prints its statistics.
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
    static let events = Option<String>(
        "--events", value: "FILE.jsonl",
        help: "first prints one line per event, stamped with the core and its clock; --events=FILE.jsonl\n"
            + "writes one JSON object per event to FILE instead, as the run goes (renamed into place at the end)",
        attachedOnly: true)
    static let threads = Option<Bool>(
        flag: "--threads", help: "several traces run as threads of one process (one address space) instead of processes")
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
        Several streamed traces run at once, trace i on core i (cores: one per trace unless --set
        cores=N gives more), each its own process or, with --threads, a thread of one process;
        records interleave by the cores' clocks (the core furthest behind runs next) and the report
        adds traceI.records and traceI.skipped_lines.

        The report is `name value` lines (totals, then coreN. per core), or one JSON object with
        --json. The format is detected (.mmt, Valgrind Lackey text, ChampSim binary) unless
        --format names it; streamed formats run in constant memory with a progress line on a
        terminal and stop at their first bad record after printing the statistics so far.
        Settings apply in this order: defaults, --cpu, --config, the trace's set lines, --set;
        where a set line and the command line disagree, a note on standard error names the value
        that lost. --check-coherence ends with 'coherence: N translations checked, M violations'.
        SIGINT stops the run and prints the statistics so far (exit 130); so does passing
        --max-memory (exit 2).
        """,
        arguments: [ArgumentDeclaration("TRACE", help: "the trace file, or - for standard input; several streamed ones run at once",
                                        repeats: true)],
        options: [format.declaration] + ConfigurationOptions.declarations + [
            json.declaration, events.declaration, ConfigurationOptions.checkCoherence.declaration,
            timeline.declaration, timelineRange.declaration, threads.declaration, quiet.declaration,
            MemoryGuard.option.declaration,
        ])

    static func run(_ arguments: ParsedArguments, console: Console) -> Int32 {
        guard let path = arguments.positionals.first else {
            return refuse("name a trace", console)
        }
        if arguments.containsBare(events), let file = arguments.positionals.first(where: { $0.hasSuffix(".jsonl") }) {
            return refuse("\(arguments.written(events) ?? "--events") \(file): the file goes after '=' (--events=\(file)); alone, --events prints text", console)
        }
        if arguments.contains(threads), arguments.positionals.count < 2 {
            return refuse("\(arguments.written(threads) ?? "--threads"): goes with two or more streamed traces (each a thread of one process)", console)
        }
        if arguments.contains(timelineRange), !arguments.contains(timeline) {
            return refuse("\(arguments.written(timelineRange) ?? "--timeline-range"): goes with --timeline FILE.json (it limits what the timeline holds)", console)
        }
        if let output = arguments.value(json), !arguments.containsBare(json), output == arguments.value(timeline) {
            return refuse("--json=\(output) and --timeline \(output) name the same file", console)
        }
        guard let settings = Settings(arguments, command: declaration.name, console: console) else { return 2 }
        let request = RunRequest(
            path: path, settings: settings, json: arguments.containsBare(json), jsonFile: arguments.value(json),
            events: arguments.containsBare(events), eventsFile: arguments.value(events), checkCoherence: arguments.contains(ConfigurationOptions.checkCoherence),
            timeline: arguments.value(timeline), timelineRange: arguments.value(timelineRange) ?? 0..<UInt64.max,
            quiet: arguments.contains(quiet), otherTraces: Array(arguments.positionals.dropFirst()),
            memory: MemoryGuard(arguments))
        // Before reading: a SIGINT during a long read stops the run before it starts.
        Interrupt.install()
        let named = arguments.value(Self.format)
        if arguments.positionals.count > 1 {
            return runSeveral(arguments.positionals, format: named, sharing: arguments.contains(threads) ? .threads : .processes,
                              request, console)
        }
        if named == .mmt, path.hasSuffix(".mmt") {
            console.err("note: --format mmt: \(path) ends in .mmt and is read as .mmt without it\n")
        }
        // One pass over one source for every format: a file, a FIFO, /dev/fd/N,
        // standard input (-) or a gzip/xz file.
        let source: ByteSource
        let format: TraceFormat
        do throws(ByteSourceError) {
            source = try ByteSource.opening(path)
            if let named { format = named } else { format = try TraceFormat.detect(source) }
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

    /// Opens several streamed traces (each detected unless `--format` names
    /// the format) and runs them at once.
    static func runSeveral(_ paths: [String], format: TraceFormat?, sharing: MultiStreamRunner.Sharing,
                           _ request: RunRequest, _ console: Console) -> Int32 {
        var inputs: [StreamedRun.Input] = []
        if paths.filter({ $0 == "-" }).count > 1 {
            return refuse("-: standard input can be named once (one trace reads it)", console)
        }
        for path in paths where format == .mmt || (format == nil && path.hasSuffix(".mmt")) {
            return refuse("\(path): an .mmt trace runs alone; only streamed traces (lackey, champsim) run several at once", console)
        }
        for path in paths {
            let source: ByteSource
            let detected: TraceFormat
            do throws(ByteSourceError) {
                source = try ByteSource.opening(path)
                if let format { detected = format } else { detected = try TraceFormat.detect(source) }
            } catch {
                console.err("mmusim: \(error)\n")
                return 2
            }
            guard detected.isStreamed else {
                return refuse("\(path): an .mmt trace runs alone; only streamed traces (lackey, champsim) run several at once", console)
            }
            inputs.append(StreamedRun.Input(source: source, format: detected, name: path == "-" ? "<stdin>" : path))
        }
        return StreamedRun.run(inputs, sharing: sharing, request: request, console: console)
    }

    /// Runs a checked `.mmt` trace and prints its results.
    static func execute(_ trace: MMTReader.Trace, path: String, _ request: RunRequest, _ console: Console) -> Int32 {
        if request.quiet {
            console.err("note: --quiet: \(path) is an .mmt trace, read whole before it runs; there is no progress line to leave out\n")
        }
        guard var output = EventOutput.open(request, cores: trace.configuration.cores, console: console) else { return 2 }
        var runner = TraceRunner(trace: trace, logEvents: output.isOn, checkCoherence: request.checkCoherence)
        if output.isOn {
            runner.run(stop: { Interrupt.requested || request.memory.passed() }) { line, events, accessesBefore in
                guard !events.isEmpty else { return }
                output.write(events, heading: "# line \(line.line)\n", record: UInt64(line.line),
                             toTimeline: request.timelineRange.contains(accessesBefore))
            }
        } else {
            runner.run(stop: { Interrupt.requested || request.memory.passed() })
        }
        guard output.commit(console) else { return 2 }
        for warning in runner.warnings { console.err("\(path):\(warning.line): warning: \(warning.message)\n") }
        for failure in runner.failures { console.err("\(path):\(failure.line): \(failure.message)\n") }
        if request.checkCoherence {
            console.err(RunRequest.coherenceSummary(checked: runner.system.translationsChecked,
                                                    violations: runner.coherenceViolations))
        }
        guard request.report(json: StatisticsReport.json(runner.system, trace: path, histogram: runner.histogram),
                             text: StatisticsReport.text(runner.system), console) else { return 2 }
        if let line = runner.stoppedAt {
            if request.memory.exceeded != nil {
                console.err(request.memory.message(after: "\(path):\(line - 1)", kept: "the statistics above are the run so far"))
                return 2
            }
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
    /// `--events`: the events as text on standard output.
    var events: Bool
    /// `--events=FILE`: the events as JSON Lines in FILE.
    var eventsFile: String?
    var checkCoherence: Bool
    var timeline: String?
    var timelineRange: Range<UInt64>
    var quiet: Bool
    /// The traces after the first in a run of several, which no output may replace either.
    var otherTraces: [String] = []
    /// `--max-memory`: polled with the SIGINT flag.
    var memory: MemoryGuard

    /// `coherence: N translations checked, M violations` (and a newline): what
    /// `--check-coherence` looked at, printed even when all was well.
    static func coherenceSummary(checked: UInt64, violations: Int) -> String {
        "coherence: \(checked) translations checked, \(violations) violations\n"
    }
    /// The files this run reads, which no output may replace.
    var inputs: [String] { [path] + otherTraces + settings.inputs }

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
