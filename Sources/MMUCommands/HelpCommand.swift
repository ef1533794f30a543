/// `mmusim help [COMMAND]`: the overview, or one command's usage.
enum HelpCommand: Command {
    static let declaration = CommandDeclaration(
        name: "help", abstract: "Prints this overview, or a command's usage and options.",
        arguments: [ArgumentDeclaration("COMMAND", help: "the command to describe", optional: true,
                                        completion: .command)])

    static func run(_ arguments: ParsedArguments, console: Console) -> Int32 {
        guard let name = arguments.positionals.first else {
            console.out(Tool.overview)
            return 0
        }
        guard arguments.positionals.count == 1 else {
            console.err("mmusim help: \(arguments.positionals[1]): unexpected argument\n")
            return 2
        }
        guard let command = Tool.command(named: name) else {
            console.err(Tool.unknownCommand(name))
            return 2
        }
        console.out(command.declaration.help)
        return 0
    }
}
