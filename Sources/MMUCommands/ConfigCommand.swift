import MMUKernel
import MMUTrace

/// `mmusim config`: prints a configuration as `KEY = VALUE` lines.
enum ConfigCommand: Command {
    static let declaration = CommandDeclaration(
        name: "config", abstract: "Prints a configuration as KEY = VALUE lines that --config FILE reads back.",
        discussion: "mmusim config --cpu zen3 > z.conf, then --config z.conf: the defaults, the preset, the file and --set.",
        options: ConfigurationOptions.declarations)

    static func run(_ arguments: ParsedArguments, console: Console) -> Int32 {
        guard arguments.positionals.isEmpty else {
            console.err("mmusim config: takes only --cpu NAME, --config FILE and --set KEY=VALUE\n")
            return 2
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
