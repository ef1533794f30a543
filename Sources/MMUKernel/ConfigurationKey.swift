import MMUHardware

/// One configuration key, declared once: its name, the values it takes, its
/// unit, what it means and where its default comes from, and how it reads and
/// writes its `Configuration` field.
///
/// `Configuration.set`, `value(of:)`, `keys`, the range checks with their
/// messages, and the reference table in docs/reference/configuration.md all
/// come from `Configuration.declarations`. The default is never written here:
/// it is whatever `Configuration()` holds.
public struct ConfigurationKey: Sendable {
    /// The values a key takes.
    public enum ValueType: Hashable, Sendable {
        /// A decimal or `0x` hexadecimal number in the range.
        case integer(ClosedRange<Int>)
        /// `on` or `off`.
        case flag
        /// One of the names, in the order messages list them.
        case choice([String])
    }

    /// The key as `set`, `--set` and configuration files spell it.
    public let name: String
    public let type: ValueType
    /// What a number counts (cores, frames, entries, ways, lines, pages,
    /// cycles), or empty for a flag or a choice.
    public let unit: String
    /// One sentence on what the key sets.
    public let meaning: String
    /// Where the default comes from: the tags of docs/cost-model.md, or
    /// "estimate", "rule", "Linux default", "mmusim choice".
    public let source: String

    private let read: @Sendable (Configuration) -> String
    private let write: @Sendable (inout Configuration, String) throws(ConfigurationError) -> Void

    /// The key's value in `configuration`, as `set` would take it (`model` for
    /// an unset `cost.walk.ref`).
    public func value(in configuration: Configuration) -> String { read(configuration) }

    /// The key's value in `Configuration()`.
    public var defaultValue: String { read(Configuration()) }

    /// Parses `text`, checks it against the key's type and stores it.
    public func set(_ text: String, in configuration: inout Configuration) throws(ConfigurationError) {
        try write(&configuration, text)
    }

    private init(_ name: String, _ type: ValueType, unit: String, meaning: String, source: String,
                 read: @escaping @Sendable (Configuration) -> String,
                 write: @escaping @Sendable (inout Configuration, String) throws(ConfigurationError) -> Void) {
        self.name = name
        self.type = type
        self.unit = unit
        self.meaning = meaning
        self.source = source
        self.read = read
        self.write = write
    }
}

// MARK: Declaring keys

extension ConfigurationKey {
    /// A count stored as `Int`.
    static func integer(_ name: String, _ field: WritableKeyPath<Configuration, Int> & Sendable, in range: ClosedRange<Int>,
                        unit: String, meaning: String, source: String) -> ConfigurationKey {
        ConfigurationKey(name, .integer(range), unit: unit, meaning: meaning, source: source,
                         read: { String($0[keyPath: field]) },
                         write: { configuration, text throws(ConfigurationError) in
                             configuration[keyPath: field] = try parseInteger(text, in: range, name)
                         })
    }

    /// A count stored as `UInt64` (the flush ceiling and every cost); it reads
    /// `model` while `modelWhile` holds (a value left to a model, not set).
    static func integer(_ name: String, _ field: WritableKeyPath<Configuration, UInt64> & Sendable, in range: ClosedRange<UInt64>,
                        unit: String, meaning: String, source: String,
                        modelWhile: (@Sendable (Configuration) -> Bool)? = nil) -> ConfigurationKey {
        let range = Int(range.lowerBound)...Int(range.upperBound)
        return ConfigurationKey(name, .integer(range), unit: unit, meaning: meaning, source: source,
                                read: { configuration in
                                    modelWhile?(configuration) == true ? "model" : String(configuration[keyPath: field])
                                },
                                write: { configuration, text throws(ConfigurationError) in
                                    configuration[keyPath: field] = UInt64(try parseInteger(text, in: range, name))
                                })
    }

    /// The cycles of one `CostKey`, named as the cost model names it.
    static func cost(_ key: CostKey, meaning: String, source: String,
                     modelWhile: (@Sendable (Configuration) -> Bool)? = nil) -> ConfigurationKey {
        let field: WritableKeyPath<Configuration, UInt64> & Sendable = \Configuration.costs[key]
        return integer(key.name, field, in: Configuration.Limits.cost, unit: "cycles", meaning: meaning, source: source,
                       modelWhile: modelWhile)
    }

    /// An `on`/`off` switch.
    static func flag(_ name: String, _ field: WritableKeyPath<Configuration, Bool> & Sendable,
                     meaning: String, source: String) -> ConfigurationKey {
        ConfigurationKey(name, .flag, unit: "", meaning: meaning, source: source,
                         read: { $0[keyPath: field] ? "on" : "off" },
                         write: { configuration, text throws(ConfigurationError) in
                             switch text {
                             case "on": configuration[keyPath: field] = true
                             case "off": configuration[keyPath: field] = false
                             default: throw ConfigurationError("\(name) takes on or off, not '\(text)'", part: .value)
                             }
                         })
    }

    /// One of the cases of a string-backed enum.
    static func choice<Choice: RawRepresentable & CaseIterable & Sendable>(
        _ name: String, _ field: WritableKeyPath<Configuration, Choice> & Sendable, meaning: String, source: String
    ) -> ConfigurationKey where Choice.RawValue == String {
        let names = Choice.allCases.map(\.rawValue)
        return ConfigurationKey(name, .choice(names), unit: "", meaning: meaning, source: source,
                                read: { $0[keyPath: field].rawValue },
                                write: { configuration, text throws(ConfigurationError) in
                                    guard let value = Choice(rawValue: text) else {
                                        throw ConfigurationError("\(name) takes one of \(names.joined(separator: ", ")), not '\(text)'",
                                                                 part: .value)
                                    }
                                    configuration[keyPath: field] = value
                                })
    }

    /// `text` as a number in `range`, or the message naming `key` and the range.
    private static func parseInteger(_ text: String, in range: ClosedRange<Int>, _ key: String) throws(ConfigurationError) -> Int {
        guard let number = Configuration.parseNumber(Substring(text)) else {
            throw ConfigurationError("'\(text)' is not a number (\(key) takes \(range.lowerBound) to \(range.upperBound))", part: .value)
        }
        guard number >= UInt64(range.lowerBound), number <= UInt64(range.upperBound) else {
            throw ConfigurationError("\(key) \(number) is out of range (\(range.lowerBound) to \(range.upperBound))", part: .value)
        }
        return Int(number)
    }
}

// MARK: Finding keys

extension ConfigurationKey {
    private static let byName: [String: ConfigurationKey] =
        Dictionary(Configuration.declarations.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })

    /// The declaration of `name`, if there is one (names are case-sensitive).
    public static func named(_ name: String) -> ConfigurationKey? { byName[name] }
}

// MARK: The reference table

extension ConfigurationKey.ValueType: CustomStringConvertible {
    /// As the reference table and `mmusim config --list` show it.
    public var description: String {
        switch self {
        case .integer(let range): return "integer, \(range.lowerBound) to \(range.upperBound)"
        case .flag: return "on or off"
        case .choice(let names): return "one of " + names.joined(separator: ", ")
        }
    }
}

extension ConfigurationKey {
    /// The Markdown table of every key, in declaration order: key, type and
    /// range, unit, default, meaning, source. docs/reference/configuration.md
    /// holds a copy, which a test keeps equal to this.
    public static func referenceTable(_ keys: [ConfigurationKey] = Configuration.declarations) -> String {
        MarkdownTable.render(
            [("key", .left), ("type and range", .left), ("unit", .left), ("default", .right), ("meaning", .left),
             ("source", .left)],
            rows: keys.map { key in
                ["`\(key.name)`", key.type.description, key.unit, "`\(key.defaultValue)`", key.meaning, key.source]
            })
    }
}
