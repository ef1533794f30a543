import MMUKernel
import MMUTrace

/// `mmusim config`: prints a configuration as `KEY = VALUE` lines, or with
/// `--list` every key's type, unit, default and meaning.
enum ConfigCommand: Command {
    static let list = Option<Bool>(
        flag: "--list", help: "lists every key: type and range, unit, default, meaning (alone: no other option)")

    static let declaration = CommandDeclaration(
        name: "config", abstract: "Prints a configuration as KEY = VALUE lines that --config FILE reads back.",
        discussion: "mmusim config --cpu zen3 > z.conf, then --config z.conf: the defaults, the preset, the file and --set.\n"
            + "mmusim config --list describes every key (docs/reference/configuration.md has the same list).",
        options: ConfigurationOptions.declarations + [list.declaration])

    static func run(_ arguments: ParsedArguments, console: Console) -> Int32 {
        guard arguments.positionals.isEmpty else {
            console.err("mmusim config: takes only --cpu NAME, --config FILE, --set KEY=VALUE and --list\n")
            return 2
        }
        if arguments.contains(list) {
            let others = [arguments.written(ConfigurationOptions.cpu), arguments.written(ConfigurationOptions.config),
                          arguments.written(ConfigurationOptions.set)]
            if let other = others.compactMap({ $0 }).first {
                return refuse("\(other): --list takes no other option (it lists the defaults)", console)
            }
            console.out(HelpText.table(
                header: ["key", "type and range", "unit", "default", "meaning"],
                rows: Configuration.declarations.map { [$0.name, $0.type.description, $0.unit, $0.defaultValue, $0.meaning] }))
            return 0
        }
        guard let settings = Settings(arguments, command: declaration.name, console: console),
              let configuration = settings.configured(console) else { return 2 }
        var header = ["mmusim configuration: use with --config FILE (KEY = VALUE, # comments)"]
        if let preset = settings.preset {
            header.append("preset \(preset.name): \(preset.summary); costs in cycles at \(preset.gigahertz) GHz; sources in docs/cost-model.md")
        }
        console.out(ConfigFileReader.render(configuration, header: header))
        return 0
    }
}
