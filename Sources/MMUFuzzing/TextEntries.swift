import MMUCommands
import MMUExperiments
import MMUKernel
import MMUTrace

/// The bodies of the libFuzzer targets for what a user types rather than
/// records: the command line, a `--config` file and a sweep `--file`.
extension FuzzEntries {
    /// What a fuzzed command line or file did.
    public enum TextOutcome: Equatable, Sendable {
        /// Refused with this message, at this line and column (0 where the
        /// input has no lines: a command line).
        case refused(message: String, line: Int, column: Int)
        /// Accepted: this many things read (options, settings, cells).
        case accepted(Int)
        /// Accepted, but what it read does not survive being written back
        /// out and read again (or cannot be counted): a bug.
        case inconsistent(String)

        /// Whether the fuzzer must keep this input: a refusal without a
        /// message (or, from a file, without a place), or an inconsistency.
        public var isBug: Bool {
            switch self {
            case .refused(let message, let line, let column):
                return message.isEmpty || line < 0 || column < 0
            case .accepted: return false
            case .inconsistent: return true
            }
        }
    }

    /// A command line: the bytes split at NUL into arguments (as the kernel
    /// hands them over), parsed against every command's options, including
    /// each option's value reader (`--set`, `--sweep`, `--timeline-range`,
    /// sizes, presets). Nothing is run and no file is opened.
    public static func parseCommandLine(_ bytes: [UInt8]) -> TextOutcome {
        let arguments = bytes.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        var accepted = 0
        var firstRefusal: TextOutcome? = nil
        _ = OptionParser.asksForHelp(arguments)
        for command in Tool.commands {
            switch OptionParser.parse(arguments, options: command.allOptions) {
            case .success(let parsed):
                accepted += parsed.positionals.count + 1
            case .failure(let error):
                let refusal = TextOutcome.refused(message: error.reason, line: 0, column: 0)
                if error.reason.isEmpty || error.argument.isEmpty && !arguments.contains("") { return refusal }
                if firstRefusal == nil { firstRefusal = refusal }
            }
        }
        return accepted > 0 ? .accepted(accepted) : firstRefusal ?? .accepted(0)
    }

    /// A `--config` file: read as the command reads it (CRLF, non-UTF-8
    /// bytes, the 1 MiB limit), applied to the defaults; an accepted file
    /// must come back the same from `mmusim config`'s rendering of it.
    public static func readConfigFile(_ bytes: [UInt8]) -> TextOutcome {
        let text: String
        switch TextInput.read(ByteSource(bytes: bytes, name: "fuzz.conf"), limit: .configuration) {
        case .success(let read): text = read
        case .failure(let error): return .refused(message: error.message, line: error.line, column: error.column)
        }
        var configuration = Configuration()
        let keys: [String]
        do throws(TraceError) {
            keys = try ConfigFileReader.apply(text, file: "fuzz.conf", to: &configuration)
        } catch {
            guard error.line >= 1, error.column >= 1 else {
                return .refused(message: error.message, line: -1, column: -1)
            }
            return .refused(message: error.message, line: error.line, column: error.column)
        }
        var again = Configuration()
        do throws(TraceError) {
            try ConfigFileReader.apply(ConfigFileReader.render(configuration, header: ["fuzz"]), file: "rendered", to: &again)
        } catch {
            return .inconsistent("the rendered configuration is refused: \(error)")
        }
        guard again == configuration else { return .inconsistent("the rendered configuration reads back different") }
        return .accepted(keys.count)
    }

    /// At most this many cells are built from a fuzzed experiment (counting
    /// them is always done).
    static let maximumCells = 4096

    /// A sweep `--file`: read as the command reads it, parsed; an accepted
    /// experiment must count its cells without overflow, build them when
    /// there are few, and come back equal from its rendering.
    public static func readExperimentFile(_ bytes: [UInt8]) -> TextOutcome {
        let text: String
        switch TextInput.read(ByteSource(bytes: bytes, name: "fuzz.sweep"), limit: .experiment) {
        case .success(let read): text = read
        case .failure(let error): return .refused(message: error.message, line: error.line, column: error.column)
        }
        let experiment: Experiment
        do throws(ExperimentError) {
            experiment = try ExperimentFile.parse(text, file: "fuzz.sweep")
        } catch {
            guard let line = error.line, let column = error.column, line >= 1, column >= 1 else {
                return .refused(message: error.message, line: -1, column: -1)
            }
            return .refused(message: error.message, line: line, column: column)
        }
        let count = experiment.cellCount
        guard count <= Experiment.maximumCells else { return .inconsistent("\(count) cells accepted, over the limit") }
        if count <= maximumCells {
            let cells = experiment.cells
            guard cells.count == count else { return .inconsistent("\(cells.count) cells built, \(count) counted") }
        }
        let rendered = ExperimentFile.render(experiment)
        do throws(ExperimentError) {
            let again = try ExperimentFile.parse(rendered, file: "rendered")
            guard again == experiment else { return .inconsistent("the rendered experiment reads back different") }
        } catch {
            return .inconsistent("the rendered experiment is refused: \(error)")
        }
        return .accepted(count)
    }
}
