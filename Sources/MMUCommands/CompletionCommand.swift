import MMUKernel

/// `mmusim completion bash|zsh|fish`: a shell completion script made from
/// `Tool.commands`, the declarations the parser and `--help` read.
enum CompletionCommand: Command {
    /// The shells a script can be written for.
    enum Shell: String, CaseIterable, Sendable {
        case bash, zsh, fish
    }

    static let declaration = CommandDeclaration(
        name: "completion", abstract: "Prints a shell completion script (bash, zsh or fish).",
        discussion: """
        bash: source <(mmusim completion bash), or save it in /etc/bash_completion.d/mmusim.
        zsh: mmusim completion zsh > ~/.zfunc/_mmusim, with ~/.zfunc on fpath before compinit.
        fish: mmusim completion fish > ~/.config/fish/completions/mmusim.fish.
        Commands, options, preset, format, strategy and scenario names, and configuration keys
        for --set are completed; the script is made from the same declarations as --help.
        """,
        arguments: [ArgumentDeclaration("SHELL", help: "bash, zsh or fish",
                                        completion: .choices(Shell.allCases.map(\.rawValue)))])

    static func run(_ arguments: ParsedArguments, console: Console) -> Int32 {
        guard arguments.positionals.count == 1, let name = arguments.positionals.first else {
            return refuse("name one shell (bash, zsh or fish)", console)
        }
        guard let shell = Shell(rawValue: name) else {
            return refuse("\(name): unknown shell (bash, zsh or fish)", console)
        }
        console.out(script(for: shell))
        return 0
    }

    /// The completion script for `shell`, for every command of `commands`.
    static func script(for shell: Shell, commands: [CommandDeclaration] = Tool.commands) -> String {
        switch shell {
        case .bash: return bash(commands)
        case .zsh: return zsh(commands)
        case .fish: return fish(commands)
        }
    }

    /// The words a value of this kind may be, or nil for a file or free text.
    static func words(_ completion: OptionDeclaration.Completion, commands: [CommandDeclaration]) -> [String]? {
        switch completion {
        case .text, .file: return nil
        case .choices(let names): return names
        case .setting: return Configuration.keys.map { $0 + "=" }
        case .command: return commands.map(\.name)
        }
    }

    // MARK: bash

    static func bash(_ commands: [CommandDeclaration]) -> String {
        var text = """
        # bash completion for mmusim (mmusim completion bash), made from its command declarations.
        _mmusim() {
            local cur prev command
            cur="${COMP_WORDS[COMP_CWORD]}"
            prev=""
            (( COMP_CWORD > 0 )) && prev="${COMP_WORDS[COMP_CWORD-1]}"
            if (( COMP_CWORD == 1 )); then
                COMPREPLY=( $(compgen -W "\(commands.map(\.name).joined(separator: " ")) --help --version" -- "$cur") )
                return 0
            fi
            command="${COMP_WORDS[1]}"
            case "$command" in

        """
        for command in commands {
            text += "        \(command.name))\n"
            text += "            case \"$prev\" in\n"
            for option in command.allOptions {
                guard case .required = option.value else { continue }
                text += "                \(option.name)) " + bashReply(option.completion, commands) + " return 0 ;;\n"
            }
            text += "            esac\n"
            let names = command.allOptions.map { option -> String in
                if case .attachedOptional = option.value { return option.name + " " + option.name + "=" }
                return option.name
            }
            text += "            if [[ \"$cur\" == -* ]]; then\n"
            text += "                COMPREPLY=( $(compgen -W \"\(names.joined(separator: " "))\" -- \"$cur\") )\n"
            text += "                return 0\n"
            text += "            fi\n"
            if let argument = command.arguments.first {
                text += "            " + bashReply(argument.completion, commands) + "\n"
            }
            text += "            ;;\n"
        }
        text += """
            esac
            return 0
        }
        complete -o default -F _mmusim mmusim

        """
        return text
    }

    /// The bash line that fills COMPREPLY for a value of this kind.
    static func bashReply(_ completion: OptionDeclaration.Completion, _ commands: [CommandDeclaration]) -> String {
        guard let words = words(completion, commands: commands) else {
            return completion == .file ? "COMPREPLY=( $(compgen -f -- \"$cur\") );" : "COMPREPLY=();"
        }
        let nospace = completion == .setting ? " compopt -o nospace 2>/dev/null;" : ""
        return "COMPREPLY=( $(compgen -W \"\(words.joined(separator: " "))\" -- \"$cur\") );" + nospace
    }

    // MARK: zsh

    static func zsh(_ commands: [CommandDeclaration]) -> String {
        var text = """
        #compdef mmusim
        # zsh completion for mmusim (mmusim completion zsh), made from its command declarations.
        _mmusim() {
            local -a commands
            commands=(

        """
        for command in commands {
            text += "        '\(zshQuote(command.name + ":" + command.abstract, escapeColons: false))'\n"
        }
        text += """
            )
            if (( CURRENT == 2 )); then
                _describe 'command' commands
                return
            fi
            local command=$words[2]
            shift words
            (( CURRENT-- ))
            case $command in

        """
        for command in commands {
            var specs: [String] = []
            for option in command.allOptions {
                let help = zshQuote(oneLine(option.help), escapeColons: false)
                    .replacing("[", with: "\\[").replacing("]", with: "\\]")
                let repeats = option.repeats ? "*" : ""
                switch option.value {
                case .none:
                    specs.append("'\(repeats)\(option.name)[\(help)]'")
                case .required(let valueName):
                    let name = option.name.count == 2 ? option.name : option.name + "="
                    specs.append("'\(repeats)\(name)[\(help)]:\(zshQuote(valueName, escapeColons: true)):\(zshAction(option.completion, commands))'")
                case .attachedOptional(let valueName):
                    specs.append("'\(option.name)=-[\(help)]::\(zshQuote(valueName, escapeColons: true)):\(zshAction(option.completion, commands))'")
                }
            }
            for argument in command.arguments {
                let marker = argument.repeats ? "*" : argument.optional ? ":" : ""
                let prefix = argument.repeats ? "*:" : marker == ":" ? "::" : ":"
                specs.append("'\(prefix)\(zshQuote(argument.name, escapeColons: true)):\(zshAction(argument.completion, commands))'")
            }
            text += "        \(command.name))\n            _arguments -s \\\n"
            text += specs.map { "                " + $0 }.joined(separator: " \\\n") + "\n            ;;\n"
        }
        text += """
            esac
        }
        _mmusim "$@"

        """
        return text
    }

    /// `text` inside single quotes (and, in a spec's message, with colons escaped).
    static func zshQuote(_ text: String, escapeColons: Bool) -> String {
        var quoted = text.replacing("'", with: "'\\''")
        if escapeColons { quoted = quoted.replacing(":", with: "\\:") }
        return quoted
    }

    static func zshAction(_ completion: OptionDeclaration.Completion, _ commands: [CommandDeclaration]) -> String {
        switch completion {
        case .file: return "_files"
        case .text: return " "
        case .choices, .setting, .command:
            return "(" + (words(completion, commands: commands) ?? []).joined(separator: " ") + ")"
        }
    }

    // MARK: fish

    static func fish(_ commands: [CommandDeclaration]) -> String {
        var text = "# fish completion for mmusim (mmusim completion fish), made from its command declarations.\n"
        text += "complete -c mmusim -f\n"
        text += "complete -c mmusim -n __fish_use_subcommand -l version -d 'prints mmusim VERSION'\n"
        for command in commands {
            text += "complete -c mmusim -n __fish_use_subcommand -a \(command.name) -d \(fishQuote(command.abstract))\n"
        }
        for command in commands {
            let condition = "-n '__fish_seen_subcommand_from \(command.name)'"
            for option in command.allOptions {
                let bare = option.name.drop { $0 == "-" }
                let flag = option.name.hasPrefix("--") ? "-l \(bare)" : "-s \(bare)"
                var line = "complete -c mmusim \(condition) \(flag)"
                switch option.value {
                case .none: break
                case .required: line += " -r" + fishValues(option.completion, commands)
                case .attachedOptional: line += fishValues(option.completion, commands)
                }
                text += line + " -d \(fishQuote(oneLine(option.help)))\n"
            }
            if let argument = command.arguments.first {
                text += "complete -c mmusim \(condition)" + fishValues(argument.completion, commands) + "\n"
            }
        }
        return text
    }

    static func fishValues(_ completion: OptionDeclaration.Completion, _ commands: [CommandDeclaration]) -> String {
        guard let words = words(completion, commands: commands) else { return completion == .file ? " -F" : "" }
        return " -a " + fishQuote(words.joined(separator: " "))
    }

    static func fishQuote(_ text: String) -> String {
        "'" + text.replacing("\\", with: "\\\\").replacing("'", with: "\\'") + "'"
    }

    /// A help text on one line (its lines joined by spaces).
    static func oneLine(_ text: String) -> String {
        text.split(separator: "\n").joined(separator: " ")
    }
}
