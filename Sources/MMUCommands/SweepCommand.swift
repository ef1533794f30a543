#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import MMUExperiments
import MMUKernel
import MMUTrace

/// `mmusim sweep`: the cross product of traces, presets and swept settings,
/// each cell a full run, merged into one table (docs/experiments.md).
enum SweepCommand: Command {
    static let file = Option<String>("--file", value: "EXP.sweep", help: "an experiment file (trace, cpu, sweep, set, format lines)")
    static let cpus = Option<[String]>(
        "--cpu", value: "A,B,...", help: "the presets to run each trace under (mmusim cpus lists them)", repeats: true,
        completion: .choices(CPUPreset.all.map(\.name))) { text in
        Presets.parse(text).mapError { InvalidValue($0.message) }
    }
    static let sweep = Option<SweepAxis>(
        "--sweep", value: "KEY=V1,V2,...", help: "a key and its values (ranges: A..B:xK, A..B:+K); each --sweep is crossed\nwith the others, the first outermost",
        repeats: true, completion: .setting) { text in
        SweepAxis.parse(text).mapError { InvalidValue($0.message) }
    }
    static let set = Option<MMUExperiments.Setting>(
        "--set", value: "KEY=VALUE", help: "a setting for every cell (after the trace's set lines)", repeats: true,
        completion: .setting) { text in
        MMUExperiments.Setting.parse(text).mapError { InvalidValue($0.message) }
    }
    static let workers = countOption("-j", help: "cells run at once (default: the number of cores)", limit: 1024)
    static let csv = Option<String>("--csv", value: "FILE", help: "writes the CSV table to FILE (else it goes to standard output)")
    static let json = Option<String>("--json", value: "FILE", help: "writes the JSON table (with wall times) to FILE")
    static let out = Option<String>(
        "--out", value: "DIR", help: "keeps each cell's result in DIR/cells/ (a rerun skips finished cells)")
    static let merge = Option<String>("--merge", value: "DIR", help: "merges the results in DIR (of --out, or a Slurm job) into the table")
    static let slurm = Option<Bool>(flag: "--slurm", help: "writes DIR/job.sh, a Slurm job array running the cells (needs --out)")
    static let submit = Option<Bool>(flag: "--submit", help: "with --slurm: submits it with sbatch, and a merge job after it")
    static let tasks = countOption("--tasks", help: "with --slurm: array tasks (default: the cells, at most 64)", limit: 100_000)
    static let partition = Option<String>("--partition", value: "P", help: "with --slurm: sbatch --partition", completion: .text)
    static let time = Option<String>("--time", value: "T", help: "with --slurm: sbatch --time (per array task)", completion: .text)
    static let memory = Option<String>("--mem", value: "M", help: "with --slurm: sbatch --mem", completion: .text)
    static let account = Option<String>("--account", value: "A", help: "with --slurm: sbatch --account", completion: .text)
    static let task = Option<(Int, Int)>(
        "--task", value: "K/N", help: "runs only the cells of array task K of N (what the job script runs)") { text in
        let parts = text.split(separator: "/")
        guard parts.count == 2, let k = Int(parts[0]), let n = Int(parts[1]), n >= 1, k >= 0, k < n else {
            return .failure(InvalidValue("takes K/N with 0 <= K < N"))
        }
        return .success((k, n))
    }
    static let quiet = Option<Bool>(flag: "--quiet", help: "no progress line")

    static let declaration = CommandDeclaration(
        name: "sweep", abstract: "Runs every trace under every preset and swept setting, and merges one table.",
        discussion: """
        Cells are the cross product of the traces, the --cpu presets and every --sweep list, in that
        order (the first --sweep outermost). The CSV has one row per cell: trace, cpu (when given),
        each swept key, then every statistic; it is byte-identical whatever -j is and whether the
        cells ran here or as a Slurm job array. Settings apply over a trace's own set lines (a note
        on standard error names each one overridden). A trace may be scenario:NAME (generated for
        the cell's cores) or gzip/xz-compressed. SIGINT keeps every finished cell (exit 130); so
        does passing --max-memory (exit 2).
        """,
        arguments: [ArgumentDeclaration("TRACE", help: "trace files (any format), or scenario:NAME", repeats: true, optional: true)],
        options: [file.declaration, RunCommand.format.declaration, cpus.declaration, sweep.declaration, set.declaration,
                  workers.declaration, csv.declaration, json.declaration, out.declaration, merge.declaration,
                  slurm.declaration, submit.declaration, tasks.declaration, partition.declaration, time.declaration,
                  memory.declaration, account.declaration, task.declaration, quiet.declaration,
                  MemoryGuard.option.declaration])

    static func run(_ arguments: ParsedArguments, console: Console) -> Int32 {
        if let directory = arguments.value(merge) {
            guard arguments.positionals.isEmpty, !arguments.contains(file), !arguments.contains(slurm) else {
                return refuse("--merge DIR takes only --csv and --json", console)
            }
            switch ResultTable.merge(directory: ResultDirectory(directory)) {
            case .success(let table): return write(table, arguments, console)
            case .failure(let error):
                console.err("mmusim sweep: \(error)\n")
                return 2
            }
        }
        guard case .some(let experiment) = experiment(arguments, console) else { return 2 }
        if arguments.contains(slurm) { return submitToSlurm(experiment, arguments, console) }
        if arguments.contains(submit) { return refuse("--submit goes with --slurm", console) }
        let slurmOnly = [arguments.written(tasks), arguments.written(partition), arguments.written(time),
                         arguments.written(memory), arguments.written(account)].compactMap { $0 }
        if let written = slurmOnly.first { return refuse("\(written): goes with --slurm", console) }
        notes(experiment, console)

        let directory = arguments.value(out).map(ResultDirectory.init)
        let slice = arguments.value(task)
        if let directory {
            if let problem = directory.create() { return fail(problem, console) }
            if slice == nil, let problem = ResultDirectory.write(ExperimentFile.render(experiment), to: directory.experimentPath) {
                return fail(problem, console)
            }
        } else if slice != nil {
            return refuse("--task needs --out DIR", console)
        }
        let order = slice.map { LocalSweep.slice(task: $0.0, of: $0.1, cells: experiment.cellCount) }
        let count = arguments.value(workers) ?? max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        Interrupt.install()
        let memoryGuard = MemoryGuard(arguments)
        let showProgress = !arguments.contains(quiet) && isatty(2) == 1
        let outcome = LocalSweep(experiment: experiment, directory: directory, workers: count, order: order)
            .run(stop: { Interrupt.requested || memoryGuard.passed() }) { progress in
                guard showProgress else { return }
                var line = "\rcells \(progress.done)/\(progress.total), \(Int(progress.elapsedSeconds)) s"
                if let left = progress.remainingSeconds { line += ", about \(Int(left.rounded(.up))) s left" }
                console.err(line + "   ")
            }
        if showProgress { console.err("\r\u{1B}[K") }
        let cells = experiment.cells
        for (index, message) in outcome.failures {
            let cell = cells[index]
            let label = ([cell.trace] + (cell.preset.map { ["cpu=\($0)"] } ?? []) + cell.swept.map(\.text)).joined(separator: " ")
            console.err("mmusim sweep: cell \(index) (\(label)): \(message)\n")
        }
        if outcome.interrupted {
            let kept = directory.map { " (their results are in \($0.cellsPath); run the same command to finish)" } ?? ""
            if memoryGuard.exceeded != nil {
                let finished = outcome.results.compactMap { $0 }.count
                console.err(memoryGuard.message(after: "\(finished) cells", kept: "\(finished) cells finished\(kept)"))
                return 2
            }
            if Interrupt.bySignal { console.err("mmusim sweep: interrupted; \(outcome.results.compactMap { $0 }.count) cells finished\(kept)\n") }
            return 130
        }
        guard outcome.failures.isEmpty else {
            console.err("mmusim sweep: \(outcome.failures.count) cells failed; no table written\n")
            return 2
        }
        if slice != nil { return 0 }
        switch ResultTable.merge(experiment, outcome.results.compactMap { $0 }) {
        case .success(let table): return write(table, arguments, console)
        case .failure(let missing): return fail(missing.description, console)
        }
    }

    /// The experiment from `--file`, then the traces, `--format`, `--cpu`,
    /// `--sweep` and `--set` on the command line; nil with a message printed.
    static func experiment(_ arguments: ParsedArguments, _ console: Console) -> Experiment? {
        var experiment = Experiment()
        if let path = arguments.value(file) {
            let text: String
            switch Files.read(path, limit: .experiment) {
            case .success(let contents): text = contents
            case .failure(let problem):
                console.err("\(problem)\n")
                return nil
            }
            do throws(ExperimentError) { experiment = try ExperimentFile.parse(text, file: path) } catch {
                console.err("\(error)\n")
                return nil
            }
        }
        experiment.traces += arguments.positionals
        if let format = arguments.value(RunCommand.format) { experiment.format = format }
        experiment.presets += arguments.values(cpus).flatMap { $0 }
        for (axis, written) in arguments.valuesWritten(sweep) {
            guard !experiment.axes.contains(where: { $0.key == axis.key }) else {
                console.err("mmusim sweep: \(written): '\(axis.key)' is already swept\n")
                return nil
            }
            experiment.axes.append(axis)
        }
        experiment.settings += arguments.values(set)
        guard experiment.cellCount <= Experiment.maximumCells else {
            console.err("mmusim sweep: the experiment has more than \(Experiment.maximumCells) cells, the limit\n")
            return nil
        }
        guard !experiment.traces.isEmpty else {
            _ = refuse("name at least one trace (or --file EXP.sweep, or --merge DIR)", console)
            return nil
        }
        for trace in experiment.traces where !trace.hasPrefix(CellRunner.scenarioPrefix) {
            do throws(ByteSourceError) { _ = try ByteSource.opening(trace) } catch {
                console.err("mmusim sweep: \(error)\n")
                return nil
            }
        }
        return experiment
    }

    /// A note for each `set` line of an `.mmt` trace that a setting overrides.
    static func notes(_ experiment: Experiment, _ console: Console) {
        let swept = Set(experiment.axes.map(\.key))
        let keys = swept.union(experiment.settings.map(\.key))
        guard !keys.isEmpty else { return }
        for trace in experiment.traces where !trace.hasPrefix(CellRunner.scenarioPrefix) {
            guard let source = try? ByteSource.opening(trace),
                  (experiment.format ?? (try? TraceFormat.detect(source))) == .mmt,
                  case .success(let text) = TraceText.read(source) else { continue }
            for (line, key, value) in TraceText.overriddenSetLines(text, keys: keys) {
                let by = swept.contains(key) ? "the swept values of \(key)"
                    : "--set " + (experiment.settings.last { $0.key == key }?.text ?? key)
                console.err("mmusim sweep: note: \(trace):\(line): the trace's 'set \(key) \(value)' is overridden by \(by)\n")
            }
        }
    }

    static func submitToSlurm(_ experiment: Experiment, _ arguments: ParsedArguments, _ console: Console) -> Int32 {
        guard let path = arguments.value(out) else { return refuse("--slurm needs --out DIR (shared with the cluster's nodes)", console) }
        let cwd = SlurmJob.currentDirectory()
        let directory = ResultDirectory(path.hasPrefix("/") ? path : cwd + "/" + path)
        if let problem = directory.create() { return fail(problem, console) }
        if let problem = ResultDirectory.write(ExperimentFile.render(experiment), to: directory.experimentPath) {
            return fail(problem, console)
        }
        var options: [String] = []
        if let value = arguments.value(partition) { options.append("--partition=\(value)") }
        if let value = arguments.value(time) { options.append("--time=\(value)") }
        if let value = arguments.value(memory) { options.append("--mem=\(value)") }
        if let value = arguments.value(account) { options.append("--account=\(value)") }
        let job = SlurmJob(directory: directory, executable: SlurmJob.currentExecutable(fallback: "mmusim"),
                           workingDirectory: cwd, tasks: min(experiment.cellCount, arguments.value(tasks) ?? 64),
                           options: options)
        if let problem = ResultDirectory.write(job.script, to: directory.jobScriptPath) { return fail(problem, console) }
        guard arguments.contains(submit) else {
            console.out("wrote \(directory.jobScriptPath) (\(experiment.cellCount) cells, \(job.tasks) array tasks)\n"
                        + "submit it with: sbatch \(directory.jobScriptPath)\n"
                        + "then merge with: mmusim sweep --merge \(directory.path) --csv results.csv\n")
            return 0
        }
        switch job.submit() {
        case .success(let ids):
            console.out("submitted job array \(ids.array) (\(job.tasks) tasks, \(experiment.cellCount) cells) and merge job \(ids.merge)\n"
                        + "results: \(directory.path)/results.csv when job \(ids.merge) ends (or mmusim sweep --merge \(directory.path))\n")
            return 0
        case .failure(let error):
            return fail(error.description, console)
        }
    }

    /// Writes the table: `--csv FILE`, `--json FILE`, else the CSV on standard output.
    static func write(_ table: ResultTable, _ arguments: ParsedArguments, _ console: Console) -> Int32 {
        let csvPath = arguments.value(csv), jsonPath = arguments.value(json)
        if let csvPath, csvPath == jsonPath { return fail("--csv and --json name the same file (\(csvPath))", console) }
        let inputs = arguments.positionals + [arguments.value(file), arguments.value(merge)].compactMap { $0 }
        if let csvPath, let problem = AtomicFile.write(table.csv(), to: csvPath, inputs: inputs) { return fail(problem, console) }
        if let jsonPath, let problem = AtomicFile.write(table.json(), to: jsonPath, inputs: inputs) { return fail(problem, console) }
        if csvPath == nil && jsonPath == nil { console.out(table.csv()) }
        return 0
    }

    static func fail(_ message: String, _ console: Console) -> Int32 {
        console.err("mmusim sweep: \(message)\n")
        return 2
    }
}
