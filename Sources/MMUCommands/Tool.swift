import MMUHardware
import MMUKernel
import MMUTrace

/// The `mmusim` command line: parses arguments and runs a command.
public enum Tool {
    public static let usage = """
    usage: mmusim run TRACE [--format mmt|lackey|champsim] [--set KEY=VALUE]... [--json[=FILE]] [--events]
                      [--check-coherence] [--timeline FILE.json [--timeline-range FROM:TO]] [--quiet]
           mmusim check FILE_OR_DIR... [--set KEY=VALUE]... [--check-coherence]
           mmusim compare (TRACE | --scenario NAME [--rounds N]) [--shootdown S1,S2,...]
                          [--sweep KEY=V1,V2,...] [--set KEY=VALUE]... [--csv]
           mmusim scenario NAME --cores N [--rounds N]
           mmusim calibrate [--cpu NAME] [--write FILE] [--quick]
           mmusim cpus          list the --cpu presets
           mmusim config [--cpu NAME] [--config FILE]   print a configuration as KEY = VALUE lines
           mmusim keys          list configuration keys and their defaults
           mmusim help

    run     runs a trace and prints the statistics (text, or one JSON object
            with --json); --events prints one line per event first. TRACE may
            be - for standard input. The format is detected (.mmt, Valgrind
            Lackey text, ChampSim binary) unless --format names it; streamed
            formats run in constant memory with a progress line on a terminal
            (--quiet: none) and stop at their first bad record after printing
            the statistics so far.
            --timeline writes a Chrome trace-event file (Perfetto, chrome://tracing):
            a track per core, spans for accesses, walks, faults and each handler
            step, syscalls, shootdowns, IPIs and waits; --timeline-range FROM:TO
            keeps only accesses FROM (inclusive) to TO (exclusive), counted from 0.
    check   runs each trace (directories: every .mmt below them), reports each
            failed expect or =VALUE, and ends with 'N passed, N failed'.
    --check-coherence  flags any access through a translation whose shootdown
            completed, any write to a frame no longer mapped writable, and any
            frame reused while a core may still translate to it (as failures).

    compare runs the trace once per variant (each --sweep value x each strategy)
            and prints one aligned table (or CSV): cycles, per category, shootdowns,
            IPIs, initiator and target cycles per shootdown.
    calibrate measures this host's fault paths (mmap, fork, page touches) and
            prints each beside the model's prediction under the preset; --write
            FILE writes a --config file fitted to this host (docs/calibration.md).
    scenario prints a built-in trace (threads-unmap: a thread per core, each
            round all write a page and core 0 unmaps it); compare --scenario
            generates it per variant, so --sweep cores=... works.

    Every command that runs traces takes --cpu NAME (a preset: geometry and costs
    of a real microarchitecture) and --config FILE (KEY = VALUE lines). Settings
    apply in this order: defaults, --cpu, --config, the trace's set lines, --set.

    exit status: 0 all well, 1 an assertion failed, 2 bad input (trace, option, file).

    """

    /// Runs the command line `arguments` (without the program name); returns the exit status.
    public static func main(_ arguments: [String], console: Console = .standard) -> Int32 {
        guard let command = arguments.first else {
            console.err(usage)
            return 2
        }
        let rest = Array(arguments.dropFirst())
        switch command {
        case "run": return run(rest, console)
        case "check": return check(rest, console)
        case "compare": return compare(rest, console)
        case "calibrate": return Calibration.main(rest, console: console)
        case "scenario": return scenario(rest, console)
        case "keys": return keys(console)
        case "cpus": return cpus(console)
        case "config": return config(rest, console)
        case "help", "--help", "-h":
            console.out(usage)
            return 0
        default:
            console.err("mmusim: unknown command '\(command)'\n" + usage)
            return 2
        }
    }

    /// Options shared by the commands.
    struct Options {
        var paths: [String] = []
        var settings: [(key: String, value: String)] = []
        var json = false
        var events = false
        var checkCoherence = false
        var csv = false
        var strategies: [String] = []
        var sweep: (key: String, values: [String])? = nil
        var scenario: Scenario? = nil
        var rounds = Scenario.defaultRounds
        var cores: Int? = nil
        var timeline: String? = nil
        var timelineRange: Range<UInt64> = 0..<UInt64.max
        /// Defaults, then --cpu, then --config (the trace's set lines and --set come after).
        var base = Configuration()
        var cpu: String? = nil
        var configFile: String? = nil
        var format: TraceFormat? = nil
        var quiet = false
        /// `--json=FILE`: the JSON report goes to FILE (written atomically), the text one to standard output.
        var jsonFile: String? = nil
    }

    /// Prints the text report, or the JSON one with `--json`; with `--json=FILE`
    /// also writes the JSON report under a temporary name renamed into place.
    static func report(json: @autoclosure () -> String, text: @autoclosure () -> String,
                       _ options: Options, _ console: Console) -> Bool {
        console.out(options.json ? json() : text())
        guard let path = options.jsonFile else { return true }
        switch AtomicFile.create(path) {
        case .success(var file):
            file.write(json())
            if file.commit() { return true }
            console.err("mmusim: \(path): cannot write the report\n")
        case .failure(let error):
            console.err("mmusim: \(error.file): \(error.message)\n")
        }
        return false
    }

    static func parse(_ arguments: [String], allowed: Set<String>, _ console: Console) -> Options? {
        var options = Options()
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            switch argument {
            case "--json" where allowed.contains(argument): options.json = true
            case _ where argument.hasPrefix("--json=") && allowed.contains("--json"):
                options.jsonFile = String(argument.dropFirst(7))
                guard options.jsonFile?.isEmpty == false else {
                    console.err("mmusim: --json=FILE needs a file name\n")
                    return nil
                }
            case "--events" where allowed.contains(argument): options.events = true
            case "--check-coherence": options.checkCoherence = true
            case "--quiet" where allowed.contains(argument): options.quiet = true
            case "--format" where allowed.contains(argument):
                guard index < arguments.count, let format = TraceFormat(name: arguments[index]) else {
                    console.err("mmusim: --format takes mmt, lackey or champsim\n")
                    return nil
                }
                options.format = format
                index += 1
            case "--csv" where allowed.contains(argument): options.csv = true
            case "--cpu", "--config":
                guard index < arguments.count else {
                    console.err("mmusim: \(argument) needs a value\n")
                    return nil
                }
                if argument == "--cpu" { options.cpu = arguments[index] } else { options.configFile = arguments[index] }
                index += 1
            case "--timeline", "--timeline-range":
                guard allowed.contains(argument), index < arguments.count else {
                    console.err(allowed.contains(argument) ? "mmusim: \(argument) needs a value\n" : "mmusim: unknown option '\(argument)'\n")
                    return nil
                }
                let value = arguments[index]
                index += 1
                if argument == "--timeline" {
                    options.timeline = value
                } else {
                    let parts = value.split(separator: ":", omittingEmptySubsequences: false)
                    let low = parts.first.flatMap { $0.isEmpty ? 0 : UInt64($0) }
                    let high = parts.count == 2 ? (parts[1].isEmpty ? UInt64.max : UInt64(parts[1])) : nil
                    guard parts.count == 2, let low, let high, low < high else {
                        console.err("mmusim: --timeline-range takes FROM:TO (accesses, FROM < TO), not '\(value)'\n")
                        return nil
                    }
                    options.timelineRange = low..<high
                }
            case "--shootdown", "--sweep", "--scenario", "--rounds", "--cores":
                guard allowed.contains(argument) else {
                    console.err("mmusim: unknown option '\(argument)'\n")
                    return nil
                }
                guard index < arguments.count else {
                    console.err("mmusim: \(argument) needs a value\n")
                    return nil
                }
                let value = arguments[index]
                index += 1
                switch argument {
                case "--shootdown":
                    options.strategies = value.split(separator: ",").map(String.init)
                    for name in options.strategies where ShootdownStrategy(rawValue: name) == nil {
                        console.err("mmusim: --shootdown: unknown strategy '\(name)' (ipi, broadcast, deferred)\n")
                        return nil
                    }
                case "--sweep":
                    guard let equals = value.firstIndex(of: "="), Configuration.keys.contains(String(value[..<equals])) else {
                        console.err("mmusim: --sweep takes KEY=V1,V2,... with a configuration key, not '\(value)'\n")
                        return nil
                    }
                    let key = String(value[..<equals])
                    let values = value[value.index(after: equals)...].split(separator: ",").map(String.init)
                    for v in values where self.setting("\(key)=\(v)", console) == nil { return nil }
                    guard !values.isEmpty else {
                        console.err("mmusim: --sweep \(key)= needs at least one value\n")
                        return nil
                    }
                    options.sweep = (key, values)
                case "--scenario":
                    guard let named = Scenario(rawValue: value) else {
                        console.err("mmusim: unknown scenario '\(value)' (\(Scenario.allCases.map(\.rawValue).joined(separator: ", ")))\n")
                        return nil
                    }
                    options.scenario = named
                default:
                    let limit = argument == "--cores" ? Configuration.Limits.cores.upperBound : 100_000
                    guard let number = Int(value), number >= 1, number <= limit else {
                        console.err("mmusim: \(argument) takes a number from 1 to \(limit), not '\(value)'\n")
                        return nil
                    }
                    if argument == "--cores" { options.cores = number } else { options.rounds = number }
                }
            case "--set":
                guard index < arguments.count else {
                    console.err("mmusim: --set needs KEY=VALUE\n")
                    return nil
                }
                guard let setting = setting(arguments[index], console) else { return nil }
                options.settings.append(setting)
                index += 1
            default:
                if argument.hasPrefix("--set=") {
                    guard let setting = setting(String(argument.dropFirst(6)), console) else { return nil }
                    options.settings.append(setting)
                } else if argument.hasPrefix("-") && argument != "-" {
                    console.err("mmusim: unknown option '\(argument)'\n")
                    return nil
                } else {
                    options.paths.append(argument)
                }
            }
        }
        if let name = options.cpu {
            guard let preset = CPUPreset.named(name) else {
                console.err("mmusim: --cpu: unknown preset '\(name)' (\(CPUPreset.all.map(\.name).joined(separator: ", ")))\n")
                return nil
            }
            do throws(ConfigurationError) {
                options.base = try preset.apply(to: options.base)
            } catch {
                console.err("mmusim: --cpu \(name): \(error.message)\n")
                return nil
            }
        }
        if let path = options.configFile {
            switch Files.read(path) {
            case .success(let text):
                do throws(TraceError) {
                    try ConfigFileReader.apply(text, file: path, to: &options.base)
                } catch {
                    console.err("\(error)\n")
                    return nil
                }
            case .failure(let problem):
                console.err("mmusim: \(problem.description)\n")
                return nil
            }
        }
        return options
    }

    /// The base configuration (defaults, --cpu, --config) with the --set
    /// settings applied and checked as a whole; nil, with the message printed,
    /// when they do not fit together.
    static func configured(_ options: Options, _ console: Console) -> Configuration? {
        var configuration = options.base
        do throws(ConfigurationError) {
            for (key, value) in options.settings { try configuration.set(key, value) }
            try configuration.validate()
        } catch {
            console.err("mmusim: --set: \(error.message)\n")
            return nil
        }
        return configuration
    }

    static func setting(_ text: String, _ console: Console) -> (key: String, value: String)? {
        guard let equals = text.firstIndex(of: "="), equals != text.startIndex else {
            console.err("mmusim: --set takes KEY=VALUE, not '\(text)'\n")
            return nil
        }
        let key = String(text[..<equals]), value = String(text[text.index(after: equals)...])
        var probe = Configuration()
        do throws(ConfigurationError) {
            try probe.set(key, value)
        } catch {
            console.err("mmusim: --set \(text): \(error.message)\n")
            return nil
        }
        return (key, value)
    }

    /// Reads and checks a trace; prints the error and returns nil on bad input.
    static func load(_ path: String, _ options: Options, _ console: Console) -> MMTReader.Trace? {
        let text: String
        switch Files.read(path) {
        case .success(let contents): text = contents
        case .failure(let problem):
            console.err("mmusim: \(problem.description)\n")
            return nil
        }
        return parseTrace(text, file: path, options, console)
    }

    static func parseTrace(_ text: String, file: String, _ options: Options, _ console: Console) -> MMTReader.Trace? {
        do throws(TraceError) {
            return try MMTReader(file: file, base: options.base, overrides: options.settings).read(text)
        } catch {
            console.err("\(error)\n")
            return nil
        }
    }

    static func run(_ arguments: [String], _ console: Console) -> Int32 {
        guard let options = parse(arguments, allowed: ["--json", "--events", "--timeline", "--timeline-range", "--format", "--quiet"], console) else { return 2 }
        guard options.paths.count == 1, let path = options.paths.first else {
            console.err("mmusim run: name exactly one trace\n" + usage)
            return 2
        }
        // Before reading: a SIGINT during a long read stops the run before it starts.
        Interrupt.install()
        var format = options.format
        if format != .mmt && !(format == nil && path.hasSuffix(".mmt")) {
            let source: ByteSource
            do throws(ByteSourceError) {
                source = try ByteSource(path: path)
                if format == nil { format = try TraceFormat.detect(source) }
            } catch {
                console.err("mmusim: \(error)\n")
                return 2
            }
            if let format, format != .mmt {
                return StreamedRun.run(source, format: format, options: options, console: console)
            }
            if path == "-" {
                // An .mmt trace on standard input: the detection already read its start.
                var text = ""
                do throws(ByteSourceError) {
                    while let line = try source.withNextLine({ String(decoding: $0, as: UTF8.self) }) { text += line + "\n" }
                } catch {
                    console.err("mmusim: \(error)\n")
                    return 2
                }
                guard let trace = parseTrace(text, file: "<stdin>", options, console) else { return 2 }
                return execute(trace, path: "<stdin>", options, console)
            }
        }
        guard let trace = load(path, options, console) else { return 2 }
        return execute(trace, path: path, options, console)
    }

    /// Runs a checked `.mmt` trace and prints its results.
    static func execute(_ trace: MMTReader.Trace, path: String, _ options: Options, _ console: Console) -> Int32 {
        var timelineFile: AtomicFile? = nil
        if let timelinePath = options.timeline {
            switch AtomicFile.create(timelinePath) {
            case .success(let file): timelineFile = file
            case .failure(let error):
                console.err("mmusim: \(error.file): \(error.message)\n")
                return 2
            }
        }
        var runner = TraceRunner(trace: trace, logEvents: options.events || timelineFile != nil,
                                 checkCoherence: options.checkCoherence)
        if options.events || timelineFile != nil {
            var timeline = Timeline(cores: trace.configuration.cores)
            timelineFile?.write(Timeline.header)
            runner.run(stop: { Interrupt.requested }) { line, events, accessesBefore in
                guard !events.isEmpty else { return }
                if options.events {
                    var text = "# line \(line.line)\n"
                    for event in events { text += EventFormatter.line(event) + "\n" }
                    console.out(text)
                }
                if timelineFile != nil, options.timelineRange.contains(accessesBefore) {
                    timelineFile?.write(timeline.add(events))
                }
            }
            timelineFile?.write(Timeline.footer)
        } else {
            runner.run(stop: { Interrupt.requested })
        }
        if var file = timelineFile, !file.commit() {
            console.err("mmusim: \(file.path): cannot write the timeline\n")
            return 2
        }
        for warning in runner.warnings { console.err("\(path):\(warning.line): warning: \(warning.message)\n") }
        for failure in runner.failures { console.err("\(path):\(failure.line): \(failure.message)\n") }
        guard report(json: StatisticsReport.json(runner.system, trace: path, histogram: runner.histogram),
                     text: StatisticsReport.text(runner.system), options, console) else { return 2 }
        if let line = runner.stoppedAt {
            console.err("mmusim: interrupted before \(path):\(line); the statistics above are the run so far\n")
            return 130
        }
        return runner.failures.isEmpty ? 0 : 1
    }

    static func check(_ arguments: [String], _ console: Console) -> Int32 {
        guard let options = parse(arguments, allowed: [], console) else { return 2 }
        guard !options.paths.isEmpty else {
            console.err("mmusim check: name at least one trace or directory\n" + usage)
            return 2
        }
        var files: [String] = []
        for path in options.paths {
            if Files.isDirectory(path) {
                let found = Files.traces(in: path)
                if found.isEmpty { console.err("mmusim: \(path): no .mmt traces in this directory\n") }
                files += found
            } else {
                files.append(path)
            }
        }
        var passed = 0, failed = 0, broken = 0
        for file in files {
            guard let trace = load(file, options, console) else {
                broken += 1
                console.out("ERROR \(file)\n")
                continue
            }
            var runner = TraceRunner(trace: trace, checkCoherence: options.checkCoherence)
            runner.run()
            for warning in runner.warnings { console.err("\(file):\(warning.line): warning: \(warning.message)\n") }
            for failure in runner.failures { console.out("\(file):\(failure.line): \(failure.message)\n") }
            passed += runner.passed
            failed += runner.failures.count
            let total = runner.passed + runner.failures.count
            console.out(runner.failures.isEmpty ? "ok    \(file) (\(total) assertions)\n"
                        : "FAIL  \(file) (\(runner.failures.count) of \(total) assertions failed)\n")
        }
        if broken > 0 { console.out("\(broken) trace(s) could not be run\n") }
        console.out("\(passed) passed, \(failed) failed\n")
        return broken > 0 ? 2 : failed > 0 ? 1 : 0
    }

    static func compare(_ arguments: [String], _ console: Console) -> Int32 {
        guard let options = parse(arguments, allowed: ["--csv", "--shootdown", "--sweep", "--scenario", "--rounds"], console) else { return 2 }
        guard (options.scenario == nil) == (options.paths.count == 1), options.paths.count <= 1 else {
            console.err("mmusim compare: name one trace, or --scenario NAME\n" + usage)
            return 2
        }
        var text: String? = nil
        if let path = options.paths.first {
            switch Files.read(path) {
            case .success(let contents): text = contents
            case .failure(let problem):
                console.err("mmusim: \(problem.description)\n")
                return 2
            }
        }
        let name = options.paths.first ?? "scenario \(options.scenario?.rawValue ?? "")"
        var comparison = Comparison()
        let sweepValues: [String?] = options.sweep.map { $0.values.map(Optional.some) } ?? [nil]
        let strategies: [String?] = options.strategies.isEmpty ? [nil] : options.strategies.map(Optional.some)
        for value in sweepValues {
            for strategy in strategies {
                var settings = options.settings
                var label: [String] = []
                if let strategy { settings.append(("shootdown", strategy)); label.append(strategy) }
                if let value, let key = options.sweep?.key { settings.append((key, value)); label.append("\(key)=\(value)") }
                var source = text ?? ""
                if let scenario = options.scenario {
                    let cores = settings.last { $0.key == "cores" }.flatMap { Int($0.value) } ?? 16
                    source = scenario.trace(cores: cores, rounds: options.rounds)
                }
                do throws(TraceError) {
                    let trace = try MMTReader(file: name, base: options.base, overrides: settings).read(source)
                    comparison.add(label: label.isEmpty ? "as configured" : label.joined(separator: " "), trace: trace)
                } catch {
                    console.err("\(error)\n")
                    return 2
                }
            }
        }
        console.out(options.csv ? comparison.csv() : comparison.table())
        return 0
    }

    static func scenario(_ arguments: [String], _ console: Console) -> Int32 {
        guard let options = parse(Array(arguments.dropFirst()), allowed: ["--rounds", "--cores"], console) else { return 2 }
        guard let name = arguments.first, let scenario = Scenario(rawValue: name), options.paths.isEmpty else {
            console.err("mmusim scenario: name one of \(Scenario.allCases.map(\.rawValue).joined(separator: ", "))\n")
            return 2
        }
        console.out(scenario.trace(cores: options.cores ?? 16, rounds: options.rounds))
        return 0
    }

    static func cpus(_ console: Console) -> Int32 {
        let width = CPUPreset.all.map(\.name.count).max() ?? 0
        console.out(CPUPreset.all.map { $0.name + String(repeating: " ", count: width - $0.name.count + 2) + $0.summary }
            .joined(separator: "\n") + "\n")
        return 0
    }

    static func config(_ arguments: [String], _ console: Console) -> Int32 {
        guard let options = parse(arguments, allowed: [], console) else { return 2 }
        guard options.paths.isEmpty else {
            console.err("mmusim config: takes only --cpu NAME, --config FILE and --set KEY=VALUE\n")
            return 2
        }
        guard let configuration = configured(options, console) else { return 2 }
        var header = ["mmusim configuration: use with --config FILE (KEY = VALUE, # comments)"]
        if let name = options.cpu, let preset = CPUPreset.named(name) {
            header.append("preset \(preset.name): \(preset.summary); costs in cycles at \(preset.gigahertz) GHz; sources in docs/cost-model.md")
        }
        console.out(ConfigFileReader.render(configuration, header: header))
        return 0
    }

    static func keys(_ console: Console) -> Int32 {
        let configuration = Configuration()
        let width = Configuration.keys.map(\.count).max() ?? 0
        var text = ""
        for key in Configuration.keys {
            text += key + String(repeating: " ", count: width - key.count + 2) + (configuration.value(of: key) ?? "") + "\n"
        }
        console.out(text)
        return 0
    }
}
