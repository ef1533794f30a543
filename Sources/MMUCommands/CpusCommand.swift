import MMUKernel

/// `mmusim cpus`: lists the `--cpu` presets.
enum CpusCommand: Command {
    static let declaration = CommandDeclaration(
        name: "cpus", abstract: "Lists the --cpu presets.",
        discussion: "Every figure of a preset is cited in docs/cost-model.md.")

    static func run(_ arguments: ParsedArguments, console: Console) -> Int32 {
        if let refused = refuseArguments(arguments, console) { return refused }
        let width = CPUPreset.all.map(\.name.count).max() ?? 0
        console.out(CPUPreset.all.map { $0.name + String(repeating: " ", count: width - $0.name.count + 2) + $0.summary }
            .joined(separator: "\n") + "\n")
        return 0
    }
}
