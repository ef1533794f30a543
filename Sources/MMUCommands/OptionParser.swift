/// One option a command accepts, as data. Parsing, the error messages,
/// `mmusim COMMAND --help` and `mmusim help COMMAND` are all derived from these
/// declarations (and shell completions or a man page can be).
public struct OptionDeclaration: Sendable {
    /// Whether, and how, the option takes a value.
    public enum Value: Sendable, Equatable {
        /// A flag: `--quiet`.
        case none
        /// `--cpu NAME` or `--cpu=NAME`.
        case required(name: String)
        /// `--json` alone, or `--json=FILE`; never the next argument.
        case attachedOptional(name: String)
    }

    /// What a value may be, for help and shell completion.
    public enum Completion: Sendable, Equatable {
        /// Any text.
        case text
        /// A file name.
        case file
        /// One of these words (or, for a comma-separated list, several).
        case choices([String])
        /// `KEY=VALUE` with a configuration key (`mmusim keys`).
        case setting
        /// A command's name (`Tool.commands`).
        case command
    }

    /// The option as written, with its dashes: `--cpu`.
    public let name: String
    public let value: Value
    /// One line (or a few) for `--help`.
    public let help: String
    /// Whether it may be given more than once, each occurrence kept
    /// (otherwise the last one given counts).
    public let repeats: Bool
    public let completion: Completion
    /// Reads one value: what the command gets, or why the value is refused.
    let read: @Sendable (String) -> Result<Any, InvalidValue>

    init(name: String, value: Value, help: String, repeats: Bool, completion: Completion,
         read: @escaping @Sendable (String) -> Result<Any, InvalidValue>) {
        self.name = name
        self.value = value
        self.help = help
        self.repeats = repeats
        self.completion = completion
        self.read = read
    }

    /// `--cpu NAME`, `--json[=FILE]`, `--quiet`: the option in a usage line.
    public var synopsis: String {
        switch value {
        case .none: return name
        case .required(let valueName): return "\(name) \(valueName)"
        case .attachedOptional(let valueName): return "\(name)[=\(valueName)]"
        }
    }
}

/// Why an option's value is refused (the parser adds the option and the argument).
public struct InvalidValue: Error, Equatable, Sendable {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
}

/// An option whose value the command reads as a `Value` (a flag when it takes none).
public struct Option<Value>: Sendable {
    public let declaration: OptionDeclaration

    /// An option that takes a value (`valueName` in help: `--cpu NAME`);
    /// `read` checks and converts it.
    public init(_ name: String, value valueName: String, help: String, repeats: Bool = false,
                completion: OptionDeclaration.Completion = .text, attachedOnly: Bool = false,
                read: @escaping @Sendable (String) -> Result<Value, InvalidValue>) {
        declaration = OptionDeclaration(
            name: name, value: attachedOnly ? .attachedOptional(name: valueName) : .required(name: valueName),
            help: help, repeats: repeats, completion: completion, read: { read($0).map { $0 as Any } })
    }
}

extension Option where Value == Bool {
    /// A flag: present or not.
    public init(flag name: String, help: String) {
        declaration = OptionDeclaration(name: name, value: .none, help: help, repeats: false, completion: .text,
                                        read: { _ in .success(true) })
    }
}

extension Option where Value == String {
    /// An option whose value is any non-empty text (a file name unless told).
    public init(_ name: String, value valueName: String, help: String, completion: OptionDeclaration.Completion = .file,
                attachedOnly: Bool = false) {
        self.init(name, value: valueName, help: help, completion: completion, attachedOnly: attachedOnly) { text in
            text.isEmpty ? .failure(InvalidValue(completion == .file ? "needs a file name" : "needs a value")) : .success(text)
        }
    }
}

/// A positional argument a command takes, for its usage line and help.
public struct ArgumentDeclaration: Sendable {
    public var name: String
    public var help: String
    /// `FILE...`: one or more.
    public var repeats: Bool
    /// `[TRACE]`: may be left out.
    public var optional: Bool
    public var completion: OptionDeclaration.Completion

    public init(_ name: String, help: String, repeats: Bool = false, optional: Bool = false,
                completion: OptionDeclaration.Completion = .file) {
        self.name = name
        self.help = help
        self.repeats = repeats
        self.optional = optional
        self.completion = completion
    }

    public var synopsis: String {
        let word = name + (repeats ? "..." : "")
        return optional ? "[\(word)]" : word
    }
}

/// An option or argument the command line refused: the argument as the user
/// wrote it, and why.
public struct CommandLineError: Error, Equatable, Sendable {
    /// The argument as written (`--set x`, `--set=x`, `--fast`).
    public var argument: String
    public var reason: String

    public init(_ argument: String, _ reason: String) {
        self.argument = argument
        self.reason = reason
    }

    /// `ARGUMENT: REASON` (the caller adds `mmusim COMMAND: `).
    public var message: String { "\(argument): \(reason)" }
}

/// The command line after parsing against a command's declarations.
public struct ParsedArguments {
    /// One option as given.
    struct Occurrence {
        /// The argument (or the two) as written: `--cpu zen3`, `--cpu=zen3`.
        var written: String
        /// What `read` made of the value; nil for a flag or `--json` alone.
        var value: Any?
    }

    /// The arguments that are not options, in order.
    public internal(set) var positionals: [String] = []
    var occurrences: [String: [Occurrence]] = [:]

    /// Whether `option` was given at all (in any form).
    public func contains<V>(_ option: Option<V>) -> Bool {
        occurrences[option.declaration.name]?.isEmpty == false
    }

    /// Whether `option` was given without a value (`--json` rather than `--json=FILE`).
    public func containsBare<V>(_ option: Option<V>) -> Bool {
        occurrences[option.declaration.name]?.contains { $0.value == nil } ?? false
    }

    /// The last value given for `option`.
    public func value<V>(_ option: Option<V>) -> V? {
        values(option).last
    }

    /// Every value given for `option`, in order.
    public func values<V>(_ option: Option<V>) -> [V] {
        (occurrences[option.declaration.name] ?? []).compactMap { $0.value as? V }
    }

    /// The last occurrence of `option` as written, for messages about it.
    public func written<V>(_ option: Option<V>) -> String? {
        occurrences[option.declaration.name]?.last?.written
    }

    /// Every value of `option` with the argument as written.
    func valuesWritten<V>(_ option: Option<V>) -> [(value: V, written: String)] {
        (occurrences[option.declaration.name] ?? []).compactMap { occurrence in
            (occurrence.value as? V).map { ($0, occurrence.written) }
        }
    }
}

/// Parses a command's arguments against its option declarations.
public enum OptionParser {
    /// Whether `arguments` ask for help (`--help` or `-h` before any `--`).
    public static func asksForHelp(_ arguments: [String]) -> Bool {
        for argument in arguments {
            if argument == "--" { return false }
            if argument == "--help" || argument == "-h" { return true }
        }
        return false
    }

    /// Reads `arguments`: options as declared (`--name VALUE`, `--name=VALUE`,
    /// flags), everything else positional (`-` included; after `--`, everything).
    public static func parse(_ arguments: [String], options: [OptionDeclaration]) -> Result<ParsedArguments, CommandLineError> {
        var parsed = ParsedArguments()
        var index = 0
        var optionsEnded = false
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            if optionsEnded || argument == "-" || !argument.hasPrefix("-") {
                parsed.positionals.append(argument)
                continue
            }
            if argument == "--" {
                optionsEnded = true
                continue
            }
            let equals = argument.firstIndex(of: "=")
            let name = equals.map { String(argument[..<$0]) } ?? argument
            guard let declaration = options.first(where: { $0.name == name }) else {
                return .failure(CommandLineError(argument, "unknown option"))
            }
            var attached = equals.map { String(argument[argument.index(after: $0)...]) }
            var written = argument
            switch declaration.value {
            case .none:
                guard attached == nil else { return .failure(CommandLineError(argument, "takes no value")) }
            case .attachedOptional:
                break
            case .required(let valueName):
                if attached == nil {
                    guard index < arguments.count else {
                        return .failure(CommandLineError(argument, "needs a value (\(declaration.name) \(valueName))"))
                    }
                    attached = arguments[index]
                    written += " " + arguments[index]
                    index += 1
                }
            }
            var value: Any? = nil
            if let text = attached {
                switch declaration.read(text) {
                case .success(let read): value = read
                case .failure(let invalid): return .failure(CommandLineError(written, invalid.reason))
                }
            } else if declaration.value == .none {
                value = true
            }
            let occurrence = ParsedArguments.Occurrence(written: written, value: value)
            parsed.occurrences[declaration.name, default: []].append(occurrence)
        }
        return .success(parsed)
    }
}
