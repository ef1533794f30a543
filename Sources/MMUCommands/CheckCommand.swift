import MMUTrace

/// `mmusim check FILE_OR_DIR...`: runs traces and checks their inline assertions.
enum CheckCommand: Command {
    static let declaration = CommandDeclaration(
        name: "check", abstract: "Runs traces and checks their expect and =VALUE assertions.",
        discussion: """
        Prints each failed assertion as file:line: message with the expected and actual values, a
        line per file, and ends with 'N passed, N failed' (assertions). Exit 1 when an assertion
        failed, 2 when a trace could not be run, a directory held no .mmt trace or an entry could
        not be read, or when the host memory held passed --max-memory (the files checked so far are
        reported). Symbolic links to directories are not followed. Where a trace's set line and
        --cpu, --config or --set disagree, a note on standard error names the value that lost
        (docs/reference/configuration.md, "Precedence").
        """,
        arguments: [ArgumentDeclaration("FILE_OR_DIR", help: "a trace, or a directory: every .mmt below it", repeats: true)],
        options: ConfigurationOptions.declarations + [ConfigurationOptions.checkCoherence.declaration,
                                                      MemoryGuard.option.declaration])

    static func run(_ arguments: ParsedArguments, console: Console) -> Int32 {
        guard !arguments.positionals.isEmpty else { return refuse("name at least one trace or directory", console) }
        guard let settings = Settings(arguments, command: declaration.name, console: console) else { return 2 }
        let checkCoherence = arguments.contains(ConfigurationOptions.checkCoherence)
        let memory = MemoryGuard(arguments)
        var files: [String] = []
        var broken = 0
        for path in arguments.positionals {
            if Files.isDirectory(path) {
                let (found, problems) = Files.traces(in: path)
                for problem in problems { console.err("mmusim: \(problem)\n") }
                if found.isEmpty {
                    console.err("mmusim: \(path): no .mmt traces in this directory\n")
                    broken += 1
                }
                broken += problems.count
                files += found
            } else {
                files.append(path)
            }
        }
        Interrupt.install()
        var passed = 0, failed = 0
        var checked: UInt64 = 0, violations = 0
        for file in files {
            if Interrupt.requested || memory.passed() { break }
            guard let trace = settings.load(file, console) else {
                broken += 1
                console.out("ERROR \(FileName.display(file))\n")
                continue
            }
            var runner = TraceRunner(trace: trace, checkCoherence: checkCoherence)
            runner.run(stop: { Interrupt.requested || memory.passed() })
            if let line = runner.stoppedAt, memory.exceeded != nil {
                console.out("STOP  \(FileName.display(file)) (stopped before line \(line))\n")
                break
            }
            for warning in runner.warnings { console.err("\(file):\(warning.line): warning: \(warning.message)\n") }
            for failure in runner.failures { console.out("\(FileName.display(file)):\(failure.line): \(failure.message)\n") }
            passed += runner.passed
            checked += runner.system.translationsChecked
            violations += runner.coherenceViolations
            failed += runner.failures.count
            let total = runner.passed + runner.failures.count
            console.out(runner.failures.isEmpty ? "ok    \(FileName.display(file)) (\(total) assertions)\n"
                        : "FAIL  \(FileName.display(file)) (\(runner.failures.count) of \(total) assertions failed)\n")
        }
        if broken > 0 { console.out("\(broken) trace(s) could not be run\n") }
        console.out("\(passed) passed, \(failed) failed\n")
        if checkCoherence { console.err(RunRequest.coherenceSummary(checked: checked, violations: violations)) }
        if memory.exceeded != nil {
            console.err(memory.message(after: "\(passed + failed) assertions", kept: "the results above are the traces checked so far"))
            return 2
        }
        if Interrupt.requested {
            if Interrupt.bySignal { console.err("mmusim: interrupted; the results above are the traces checked so far\n") }
            return 130
        }
        return broken > 0 ? 2 : failed > 0 ? 1 : 0
    }
}
