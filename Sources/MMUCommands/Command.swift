/// One `mmusim` command as data: its name, what it does, its positional
/// arguments and its options. The usage line, `--help` and the parser's
/// accepted options all come from here.
public struct CommandDeclaration: Sendable {
    public var name: String
    /// One line for the overview (`mmusim help`).
    public var abstract: String
    /// Paragraphs for `mmusim help COMMAND`, after the abstract.
    public var discussion: String
    public var arguments: [ArgumentDeclaration]
    /// The options the command declares (`--help` is added to every command).
    public var options: [OptionDeclaration]

    public init(name: String, abstract: String, discussion: String = "", arguments: [ArgumentDeclaration] = [],
                options: [OptionDeclaration] = []) {
        self.name = name
        self.abstract = abstract
        self.discussion = discussion
        self.arguments = arguments
        self.options = options
    }

    /// `--help` (also `-h`), which every command takes.
    public static let helpOption = Option<Bool>(flag: "--help", help: "prints this help (also -h)").declaration

    /// Every option the command accepts, `--help` last.
    public var allOptions: [OptionDeclaration] { options + [Self.helpOption] }

    /// `usage: mmusim run TRACE [--format ...] ...`, wrapped at 100 columns.
    public var usageLine: String {
        let words = arguments.map(\.synopsis) + options.map { option in
            "[\(option.synopsis)]" + (option.repeats ? "..." : "")
        }
        return HelpText.wrap(words, after: "usage: mmusim \(name)")
    }

    /// What `mmusim COMMAND --help` and `mmusim help COMMAND` print.
    public var help: String {
        var text = usageLine + "\n\n" + abstract + "\n"
        if !discussion.isEmpty { text += "\n" + discussion + "\n" }
        if !arguments.isEmpty {
            text += "\narguments:\n" + HelpText.columns(arguments.map { ($0.name + ($0.repeats ? "..." : ""), $0.help) })
        }
        text += "\noptions:\n" + HelpText.columns(allOptions.map { option in
            (option.synopsis, option.help + (option.repeats ? " (repeatable)" : ""))
        })
        return text
    }
}

/// A command: its declaration, and what it does with the parsed arguments
/// (returning the exit status).
protocol Command: Sendable {
    static var declaration: CommandDeclaration { get }
    static func run(_ arguments: ParsedArguments, console: Console) -> Int32
}

extension Command {
    /// `mmusim NAME: message` on standard error, then the usage line; exit 2.
    static func refuse(_ message: String, _ console: Console) -> Int32 {
        console.err("mmusim \(declaration.name): \(message)\n" + declaration.usageLine + "\n")
        return 2
    }

    /// Refuses any positional argument (for commands that take none).
    static func refuseArguments(_ arguments: ParsedArguments, _ console: Console) -> Int32? {
        guard let extra = arguments.positionals.first else { return nil }
        console.err("mmusim \(declaration.name): \(extra): unexpected argument\n")
        return 2
    }
}

/// Laying out help text.
enum HelpText {
    static let width = 100

    /// `words` after `lead`, wrapped at `width`, continuation lines aligned
    /// under the first word.
    static func wrap(_ words: [String], after lead: String) -> String {
        let indent = String(repeating: " ", count: lead.count + 1)
        var lines: [String] = [lead]
        for word in words {
            if lines[lines.count - 1].count + 1 + word.count > width {
                lines.append(indent + word)
            } else {
                lines[lines.count - 1] += " " + word
            }
        }
        return lines.joined(separator: "\n")
    }

    /// Two columns: a term, and its text (continuation lines indented to the
    /// text column; a long term puts its text on the next line).
    static func columns(_ rows: [(term: String, text: String)]) -> String {
        let column = min((rows.map(\.term.count).max() ?? 0) + 4, 28)
        let pad = String(repeating: " ", count: column)
        var text = ""
        for (term, help) in rows {
            let lines = help.split(separator: "\n", omittingEmptySubsequences: false)
            let head = "  " + term
            if head.count + 2 > column {
                text += head + "\n" + pad + (lines.first ?? "") + "\n"
            } else {
                text += head + String(repeating: " ", count: column - head.count) + (lines.first ?? "") + "\n"
            }
            for line in lines.dropFirst() { text += pad + line + "\n" }
        }
        return text
    }
}
