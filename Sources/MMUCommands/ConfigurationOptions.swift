import MMUKernel
import MMUTrace

/// A `--set KEY=VALUE` whose key exists and whose value that key accepts.
struct Setting: Sendable {
    var key: String
    var value: String
}

/// The options of every command that runs traces: `--cpu`, `--config` and
/// `--set`, and what they make of the defaults.
enum ConfigurationOptions {
    static let cpu = Option<CPUPreset>(
        "--cpu", value: "NAME", help: "a preset: geometry and costs of a real core (mmusim cpus lists them)",
        completion: .choices(CPUPreset.all.map(\.name)), read: readPreset)
    static let config = Option<String>(
        "--config", value: "FILE", help: "KEY = VALUE lines, as mmusim config prints them")
    static let set = Option<Setting>(
        "--set", value: "KEY=VALUE", help: "sets one configuration key (mmusim keys lists them), after the trace's set lines",
        repeats: true, completion: .setting, read: readSetting)
    static let checkCoherence = Option<Bool>(
        flag: "--check-coherence",
        help: "flags any access through a translation whose shootdown completed, any write to a\n"
            + "frame no longer mapped writable, and any frame reused while a core may still\n"
            + "translate to it (as failures)")

    /// `--cpu`, `--config` and `--set`, in that order.
    static let declarations = [cpu.declaration, config.declaration, set.declaration]

    /// The preset `name`, or why not.
    static func readPreset(_ name: String) -> Result<CPUPreset, InvalidValue> {
        guard let preset = CPUPreset.named(name) else {
            return .failure(InvalidValue("unknown preset '\(name)' (\(CPUPreset.all.map(\.name).joined(separator: ", ")))"))
        }
        return .success(preset)
    }

    /// `KEY=VALUE` whose key exists and takes that value on its own.
    static func readSetting(_ text: String) -> Result<Setting, InvalidValue> {
        guard let equals = text.firstIndex(of: "="), equals != text.startIndex else {
            return .failure(InvalidValue("takes KEY=VALUE"))
        }
        let setting = Setting(key: String(text[..<equals]), value: String(text[text.index(after: equals)...]))
        if let problem = refusal(setting.key, setting.value) { return .failure(problem) }
        return .success(setting)
    }

    /// Why `key` does not take `value` on a default configuration, or nil when it does.
    static func refusal(_ key: String, _ value: String) -> InvalidValue? {
        var probe = Configuration()
        do throws(ConfigurationError) {
            try probe.set(key, value)
        } catch {
            return InvalidValue(error.message)
        }
        return nil
    }
}

/// What `--cpu`, `--config` and `--set` made of the defaults.
struct Settings {
    /// The command, for messages.
    var command: String
    /// Defaults, then `--cpu`, then `--config` (the trace's set lines and `--set` come after).
    var base = Configuration()
    var preset: CPUPreset? = nil
    /// The `--set` settings in order, each with the argument as written.
    var overrides: [(setting: Setting, written: String)] = []
    /// Which option set each key of `base` (`--cpu zen3`, `--config z.conf`),
    /// for the notes on a trace's `set` lines that override them.
    var origins: [String: String] = [:]
    /// The files read so far (`--config`), which no output may replace.
    var inputs: [String] = []

    /// The base configuration from `arguments`; nil, with the message printed,
    /// when the preset or the file cannot be applied.
    init?(_ arguments: ParsedArguments, command: String, console: Console) {
        self.command = command
        overrides = arguments.valuesWritten(ConfigurationOptions.set).map { ($0.value, $0.written) }
        if let preset = arguments.value(ConfigurationOptions.cpu) {
            self.preset = preset
            do throws(ConfigurationError) {
                base = try preset.apply(to: base)
                for (key, _) in preset.settings { origins[key] = "--cpu \(preset.name)" }
            } catch {
                console.err("mmusim \(command): \(arguments.written(ConfigurationOptions.cpu) ?? preset.name): \(error.message)\n")
                return nil
            }
        }
        if let path = arguments.value(ConfigurationOptions.config) {
            inputs.append(path)
            switch Files.read(path, limit: .configuration) {
            case .success(let text):
                do throws(TraceError) {
                    for key in try ConfigFileReader.apply(text, file: path, to: &base) { origins[key] = "--config \(path)" }
                } catch {
                    console.err("\(error)\n")
                    return nil
                }
            case .failure(let problem):
                console.err("\(problem)\n")
                return nil
            }
        }
    }

    /// A trace reader for `file` with these settings.
    func reader(file: String, overrides extra: [(key: String, value: String, name: String)] = []) -> MMTReader {
        var reader = MMTReader(file: file, base: base, overrides: pairs + extra.map { ($0.key, $0.value) }, origins: origins)
        reader.overrideNames = overrides.map { "--set \($0.setting.key)=\($0.setting.value)" } + extra.map(\.name)
        return reader
    }

    /// Prints each note as `note: NOTE` on standard error.
    static func note(_ notes: [String], _ console: Console) {
        for note in notes { console.err("note: \(note)\n") }
    }

    /// The `--set` settings as the trace reader takes them.
    var pairs: [(key: String, value: String)] { overrides.map { ($0.setting.key, $0.setting.value) } }

    /// The base configuration with the `--set` settings applied and checked as
    /// a whole; nil, with the message printed, when they do not fit together.
    /// A message names the `--set` argument the problem is about: the last one
    /// whose key the message names, else the last one.
    func configured(_ console: Console) -> Configuration? {
        var configuration = base
        var current: String? = nil
        do throws(ConfigurationError) {
            for (setting, written) in overrides {
                current = written
                try configuration.set(setting.key, setting.value)
            }
            current = nil
            try configuration.validate()
        } catch {
            let culprit = current ?? overrides.last { error.message.contains($0.setting.key) }?.written ?? overrides.last?.written
            console.err("mmusim \(command): \(culprit.map { $0 + ": " } ?? "")\(error.message)\n")
            return nil
        }
        return configuration
    }

    /// Reads and checks a trace; prints the error and returns nil on bad input.
    func load(_ path: String, _ console: Console) -> MMTReader.Trace? {
        switch Files.read(path, limit: .trace) {
        case .success(let text):
            return parseTrace(text, file: path == "-" ? "<stdin>" : path, console)
        case .failure(let problem):
            console.err("\(problem)\n")
            return nil
        }
    }

    /// Reads and checks a trace's text; prints a note for each setting that
    /// lost (Settings.note), or the error and returns nil on bad input.
    func parseTrace(_ text: String, file: String, _ console: Console) -> MMTReader.Trace? {
        do throws(TraceError) {
            let trace = try reader(file: file).read(text)
            Self.note(trace.notes, console)
            return trace
        } catch {
            console.err("\(error)\n")
            return nil
        }
    }
}

/// `--rounds N` and `--cores N`: a whole number in `1...limit`.
func countOption(_ name: String, help: String, limit: Int) -> Option<Int> {
    Option<Int>(name, value: "N", help: help) { text in
        guard let number = Int(text), number >= 1, number <= limit else {
            return .failure(InvalidValue("takes a number from 1 to \(limit)"))
        }
        return .success(number)
    }
}
