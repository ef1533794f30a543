#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import MMUTrace

/// The `mmusim` command line: finds the command and hands it its parsed
/// arguments. Each command is one file (`RunCommand`, `CheckCommand`, ...)
/// declaring its options; help and option errors come from those declarations.
public enum Tool {
    /// Every command, in the order the overview lists them.
    static let all: [any Command.Type] = [
        RunCommand.self, CheckCommand.self, CompareCommand.self, SweepCommand.self, PlotCommand.self, ScenarioCommand.self, CalibrateCommand.self,
        CpusCommand.self, ConfigCommand.self, KeysCommand.self, StatisticsCommand.self, HelpCommand.self, CompletionCommand.self, ManCommand.self,
    ]

    /// Every command's declaration (name, abstract, arguments, options), as
    /// data for shell completions and the manual page.
    public static var commands: [CommandDeclaration] { all.map { $0.declaration } }

    static var commandNames: [String] { all.map { $0.declaration.name } }

    static func command(named name: String) -> (any Command.Type)? {
        all.first { $0.declaration.name == name }
    }

    /// `mmusim help`: the commands, then what they share.
    public static var overview: String {
        var text = """
        usage: mmusim COMMAND [ARGUMENTS] [OPTIONS]
               mmusim help COMMAND | mmusim COMMAND --help    a command's usage and options
               mmusim --version

        commands:

        """
        text += HelpText.columns(all.map { ($0.declaration.name, $0.declaration.abstract) })
        text += """

        Every command that runs traces takes --cpu NAME (a preset: geometry and costs of a real
        microarchitecture), --config FILE (KEY = VALUE lines) and --set KEY=VALUE. Settings apply
        in this order: defaults, --cpu, --config, the trace's set lines, --set.

        exit status: 0 all well, 1 an assertion failed, 2 bad input (trace, option, file) or an
        output that cannot be written, 130 or 143 interrupted (SIGINT or SIGTERM; what is complete
        is printed), 141 standard output closed early (a closed pipe).

        """
        return text
    }

    static func unknownCommand(_ name: String) -> String {
        "mmusim: \(name): unknown command (\(commandNames.joined(separator: ", ")))\n"
    }

    /// Runs the command line `arguments` (without the program name); returns
    /// the exit status. With the standard console, SIGINT, SIGTERM and SIGPIPE
    /// are handled (`Signals`) and a failed write to standard output or error
    /// decides the status (`WriteFailures`).
    public static func main(_ arguments: [String], console: Console = .standard) -> Int32 {
        if console.failures != nil { Signals.install() }
        let status = dispatch(arguments, console: console)
        if let failure = console.failures?.failure {
            if failure.error == EPIPE { return 141 }
            let stream = failure.descriptor == 1 ? "standard output" : "standard error"
            console.err("mmusim: cannot write to \(stream): \(String(cString: strerror(failure.error)))\n")
            return 2
        }
        if status != 0, let stopped = Signals.stopStatus { return stopped }
        return status
    }

    static func dispatch(_ arguments: [String], console: Console) -> Int32 {
        guard let name = arguments.first else {
            console.err(overview)
            return 2
        }
        switch name {
        case "--version":
            guard arguments.count == 1 else {
                console.err("mmusim: \(arguments[1]): unexpected argument after --version\n")
                return 2
            }
            console.out("mmusim \(version)\n")
            return 0
        case "--help", "-h":
            console.out(overview)
            return 0
        default:
            break
        }
        guard let command = command(named: name) else {
            console.err(name.hasPrefix("-") ? "mmusim: \(name): unknown option (mmusim help lists the commands)\n"
                        : unknownCommand(name))
            return 2
        }
        return run(command, Array(arguments.dropFirst()), console)
    }

    /// Parses `arguments` against `command`'s declarations and runs it
    /// (`--help` prints its usage instead).
    static func run(_ command: any Command.Type, _ arguments: [String], _ console: Console) -> Int32 {
        let declaration = command.declaration
        if OptionParser.asksForHelp(arguments) {
            console.out(declaration.help)
            return 0
        }
        switch OptionParser.parse(arguments, options: declaration.options) {
        case .success(let parsed):
            return command.run(parsed, console: console)
        case .failure(let error):
            console.err("mmusim \(declaration.name): \(error.message)\n")
            return 2
        }
    }
}
