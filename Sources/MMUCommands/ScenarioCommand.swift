import MMUKernel
import MMUTrace

/// `mmusim scenario NAME`: prints a built-in trace.
enum ScenarioCommand: Command {
    static let cores = countOption("--cores", help: "the number of cores (and threads) the trace names (default 16)",
                                   limit: Configuration.Limits.cores.upperBound)
    /// `--rounds N`, also taken by `mmusim compare --scenario`.
    static let rounds = countOption("--rounds", help: "rounds of the scenario (default \(Scenario.defaultRounds))", limit: 100_000)

    static let declaration = CommandDeclaration(
        name: "scenario", abstract: "Prints a built-in trace.",
        discussion: """
        threads-unmap: one process with a thread per core; each round every thread writes a page
        and core 0 unmaps it. mmusim compare --scenario generates it per variant, so
        --sweep cores=... works.
        """,
        arguments: [ArgumentDeclaration("NAME", help: Scenario.allCases.map { "\($0.rawValue): \($0.summary)" }.joined(separator: "\n"),
                                        completion: .choices(Scenario.allCases.map(\.rawValue)))],
        options: [cores.declaration, rounds.declaration])

    static func run(_ arguments: ParsedArguments, console: Console) -> Int32 {
        guard arguments.positionals.count == 1, let name = arguments.positionals.first, let scenario = Scenario(rawValue: name) else {
            console.err("mmusim scenario: name one of \(Scenario.allCases.map(\.rawValue).joined(separator: ", "))\n")
            return 2
        }
        console.out(scenario.trace(cores: arguments.value(cores) ?? 16, rounds: arguments.value(rounds) ?? Scenario.defaultRounds))
        return 0
    }
}
