import MMUCalibration
import MMUKernel
import MMUTrace

/// `mmusim scenario NAME`: prints a built-in trace (`--report`: runs the thp
/// scenario's phases; the work is THPScenarioReport's).
enum ScenarioCommand: Command {
    static let cores = countOption("--cores", help: "the number of cores (and threads) the trace names (default 16)",
                                   limit: Configuration.Limits.cores.upperBound)
    /// `--rounds N`, also taken by `mmusim compare --scenario`.
    static let rounds = countOption("--rounds", help: "rounds of the scenario (default \(Scenario.defaultRounds))", limit: 100_000)
    static let report = Option<Bool>(
        flag: "--report", help: "thp only: runs the phases and prints each one's faults and cycles beside this host's THP probe times")
    static let modelOnly = Option<Bool>(flag: "--model-only", help: "with --report: no host probe (the Linux column says n/a)")

    static let declaration = CommandDeclaration(
        name: "scenario", abstract: "Prints a built-in trace.",
        discussion: """
        threads-unmap: one process with a thread per core; each round every thread writes a page
        and core 0 unmaps it. mmusim compare --scenario generates it per variant, so
        --sweep cores=... works.
        thp: huge pages through fork. With --report it is run phase by phase (docs/calibration.md,
        "scenario thp").
        vm-cow: two VMs share an image through ksm, then one rewrites part of it. With --report it
        is run phase by phase beside the same workload run natively (docs/virtualization.md).
        """,
        arguments: [ArgumentDeclaration("NAME", help: Scenario.allCases.map { "\($0.rawValue): \($0.summary)" }.joined(separator: "\n"),
                                        completion: .choices(Scenario.allCases.map(\.rawValue)))],
        options: [cores.declaration, rounds.declaration, report.declaration, modelOnly.declaration])

    static func run(_ arguments: ParsedArguments, console: Console) -> Int32 {
        guard arguments.positionals.count == 1, let name = arguments.positionals.first, let scenario = Scenario(rawValue: name) else {
            console.err("mmusim scenario: name one of \(Scenario.allCases.map(\.rawValue).joined(separator: ", "))\n")
            return 2
        }
        if scenario != .threadsUnmap && scenario != .vmThreadsUnmap, let written = arguments.written(cores) ?? arguments.written(rounds) {
            return refuse("\(written): scenario \(scenario.rawValue) has fixed phases (no cores or rounds to set)", console)
        }
        if arguments.contains(modelOnly), !arguments.contains(report) { return refuse("--model-only goes with --report", console) }
        guard arguments.contains(report) else {
            console.out(scenario.trace(cores: arguments.value(cores) ?? 16, rounds: arguments.value(rounds) ?? Scenario.defaultRounds))
            return 0
        }
        if scenario == .vmCow {
            if arguments.contains(modelOnly) { return refuse("--model-only: scenario vm-cow has no host probe", console) }
            do throws(TraceError) {
                console.out(try VMCowReport.table())
            } catch {
                console.err("\(error)\n")
                return 2
            }
            return 0
        }
        guard scenario == .thp else { return refuse("--report: only scenarios thp and vm-cow have phases", console) }
        let phases: [Scenario.PhaseResult]
        do throws(TraceError) {
            phases = try THPScenarioReport.phases()
        } catch {
            console.err("\(error)\n")
            return 2
        }
        if arguments.contains(modelOnly) {
            console.out(THPScenarioReport.table(phases, host: nil, unmeasured: "--model-only"))
        } else {
            console.out(THPScenarioReport.table(phases, host: HostProbe.measureHugePages(HostProbe.Plan(quick: true))))
        }
        return 0
    }
}
