import MMUKernel
import MMUTrace

/// `mmusim compare`: runs a trace (or a built-in scenario) once per variant
/// and prints one table.
enum CompareCommand: Command {
    /// `--sweep KEY=V1,V2,...`: one configuration key and the values it takes in turn.
    struct Sweep: Sendable {
        var key: String
        var values: [String]
    }

    static let scenario = Option<Scenario>(
        "--scenario", value: "NAME", help: "generates a built-in scenario per variant instead of reading a trace",
        completion: .choices(Scenario.allCases.map(\.rawValue))) { name in
        Scenario(rawValue: name).map { .success($0) }
            ?? .failure(InvalidValue("unknown scenario '\(name)' (\(Scenario.allCases.map(\.rawValue).joined(separator: ", ")))"))
    }
    static let shootdown = Option<[String]>(
        "--shootdown", value: "S1,S2,...", help: "the strategies to compare (ipi, broadcast, deferred)",
        completion: .choices(ShootdownStrategy.allCases.map(\.rawValue))) { text in
        let names = text.split(separator: ",").map(String.init)
        for name in names where ShootdownStrategy(rawValue: name) == nil {
            return .failure(InvalidValue("unknown strategy '\(name)' (ipi, broadcast, deferred)"))
        }
        if let twice = firstRepeated(names) { return .failure(InvalidValue("names '\(twice)' twice (each row must differ)")) }
        return .success(names)
    }
    static let sweep = Option<Sweep>(
        "--sweep", value: "KEY=V1,V2,...", help: "one configuration key and the values it takes in turn",
        completion: .setting) { text in
        guard let equals = text.firstIndex(of: "="), Configuration.keys.contains(String(text[..<equals])) else {
            return .failure(InvalidValue("takes KEY=V1,V2,... with a configuration key"))
        }
        let sweep = Sweep(key: String(text[..<equals]), values: text[text.index(after: equals)...].split(separator: ",").map(String.init))
        for value in sweep.values {
            if let problem = ConfigurationOptions.refusal(sweep.key, value) { return .failure(problem) }
        }
        if let twice = firstRepeated(sweep.values) { return .failure(InvalidValue("names '\(twice)' twice (each row must differ)")) }
        return sweep.values.isEmpty ? .failure(InvalidValue("needs at least one value")) : .success(sweep)
    }
    static let csv = Option<Bool>(flag: "--csv", help: "prints CSV instead of an aligned table")

    static let declaration = CommandDeclaration(
        name: "compare", abstract: "Runs a trace once per strategy and setting and prints one table.",
        discussion: """
        Each --sweep value is run under each --shootdown strategy. The table has the cycles, per
        category, the shootdowns, IPIs, and the initiator's and targets' cycles per shootdown.
        """,
        arguments: [ArgumentDeclaration("TRACE", help: "an .mmt trace (or --scenario NAME instead)", optional: true)],
        options: [scenario.declaration, ScenarioCommand.rounds.declaration, shootdown.declaration, sweep.declaration]
            + ConfigurationOptions.declarations + [csv.declaration])

    static func run(_ arguments: ParsedArguments, console: Console) -> Int32 {
        let named = arguments.value(scenario)
        let paths = arguments.positionals
        guard (named == nil) == (paths.count == 1), paths.count <= 1 else {
            return refuse("name one trace, or --scenario NAME", console)
        }
        if named == nil, let written = arguments.written(ScenarioCommand.rounds) {
            return refuse("\(written): goes with --scenario NAME (a trace's rounds are its own lines)", console)
        }
        if let named, named == .thp || named == .vmCow, let written = arguments.written(ScenarioCommand.rounds) {
            return refuse("\(written): the \(named.rawValue) scenario has fixed phases; --rounds does not apply to it", console)
        }
        guard let settings = Settings(arguments, command: declaration.name, console: console) else { return 2 }
        var text: String? = nil
        if let path = paths.first {
            switch Files.read(path, limit: .trace) {
            case .success(let contents): text = contents
            case .failure(let problem):
                console.err("\(problem)\n")
                return 2
            }
        }
        let name = paths.first ?? "scenario \(named?.rawValue ?? "")"
        let rounds = arguments.value(ScenarioCommand.rounds) ?? Scenario.defaultRounds
        let swept = arguments.value(sweep)
        var comparison = Comparison()
        var noted: Set<String> = []
        let sweepValues: [String?] = swept.map { $0.values.map(Optional.some) } ?? [nil]
        let strategies: [String?] = (arguments.value(shootdown) ?? []).map(Optional.some)
        for value in sweepValues {
            for strategy in strategies.isEmpty ? [nil] : strategies {
                var extra: [(key: String, value: String, name: String)] = []
                var label: [String] = []
                if let strategy { extra.append(("shootdown", strategy, "--shootdown \(strategy)")); label.append(strategy) }
                if let value, let key = swept?.key { extra.append((key, value, "--sweep \(key)=\(value)")); label.append("\(key)=\(value)") }
                let overrides = settings.pairs + extra.map { ($0.key, $0.value) }
                var source = text ?? ""
                if let named {
                    let cores = overrides.last { $0.key == "cores" }.flatMap { Int($0.value) } ?? 16
                    source = named.trace(cores: cores, rounds: rounds)
                }
                do throws(TraceError) {
                    let trace = try settings.reader(file: name, overrides: extra).read(source)
                    for note in trace.notes where !noted.contains(note) {
                        noted.insert(note)
                        Settings.note([note], console)
                    }
                    // A row without --shootdown still says which strategy produced it.
                    if strategy == nil { label.insert("as configured (shootdown \(trace.configuration.value(of: "shootdown") ?? "?"))", at: 0) }
                    comparison.add(label: label.joined(separator: " "), trace: trace)
                } catch {
                    console.err("\(error)\n")
                    return 2
                }
            }
        }
        console.out(arguments.contains(csv) ? comparison.csv() : comparison.table())
        return 0
    }
}

/// The first of `values` that comes again later, or nil.
func firstRepeated(_ values: [String]) -> String? {
    var seen: Set<String> = []
    return values.first { !seen.insert($0).inserted }
}
