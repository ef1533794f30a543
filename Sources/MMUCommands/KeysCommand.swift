import MMUKernel

/// `mmusim keys`: lists the configuration keys and their defaults.
enum KeysCommand: Command {
    static let declaration = CommandDeclaration(
        name: "keys", abstract: "Lists the configuration keys and their defaults.",
        discussion: "Each key is set by a trace's set lines, --set KEY=VALUE or a --config file.")

    static func run(_ arguments: ParsedArguments, console: Console) -> Int32 {
        if let refused = refuseArguments(arguments, console) { return refused }
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
