import MMUKernel
import MMUTrace

/// The experiment file format (`mmusim sweep --file EXP.sweep`): one
/// directive a line, `#` to the end of a line a comment, blank lines ignored.
///
/// ```
/// format lackey                    # optional: the traces' format (else detected)
/// trace traces/ls.lackey.gz        # one per trace, in table order
/// trace scenario:threads-unmap     # a built-in scenario, generated for the cell's cores
/// cpu skylake,zen4                 # presets (one line or several)
/// sweep shootdown=ipi,broadcast    # an axis; the first sweep line is outermost
/// sweep cores=2..64:x2             # ranges: A..B:xK, A..B:+K
/// set frames=65536                 # a setting for every cell
/// ```
///
/// Trace paths are taken relative to the directory mmusim runs in, as on the
/// command line. `render` writes an experiment back in this format (what
/// `mmusim sweep --out DIR` saves as `DIR/experiment.sweep`).
public enum ExperimentFile {
    public static let directives = ["trace", "cpu", "sweep", "set", "format"]

    /// Parses `text` (from `file`, for messages); the first problem is thrown
    /// as `file:line:column: message`.
    public static func parse(_ text: String, file: String) throws(ExperimentError) -> Experiment {
        var experiment = Experiment()
        var number = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            number += 1
            let line = rawLine.prefix { $0 != "#" }
            guard let start = line.firstIndex(where: { $0 != " " && $0 != "\t" && $0 != "\r" }) else { continue }
            let wordEnd = line[start...].firstIndex(where: { $0 == " " || $0 == "\t" }) ?? line.endIndex
            let word = String(line[start..<wordEnd])
            let argumentStart = line[wordEnd...].firstIndex(where: { $0 != " " && $0 != "\t" }) ?? line.endIndex
            var argument = line[argumentStart...]
            while let last = argument.last, last == " " || last == "\t" || last == "\r" { argument = argument.dropLast() }
            let column = line.distance(from: line.startIndex, to: argumentStart) + 1
            func fail(_ message: String, at column: Int) -> ExperimentError {
                ExperimentError(place: file, line: number, column: column, message: message)
            }
            guard directives.contains(word) else {
                throw fail("unknown directive '\(word)' (\(directives.joined(separator: ", ")))",
                           at: line.distance(from: line.startIndex, to: start) + 1)
            }
            guard !argument.isEmpty else { throw fail("'\(word)' needs a value", at: column) }
            let value = String(argument)
            switch word {
            case "trace":
                experiment.traces.append(value)
            case "format":
                guard let format = TraceFormat(name: value) else { throw fail("unknown format '\(value)' (mmt, lackey, champsim)", at: column) }
                experiment.format = format
            case "cpu":
                switch Presets.parse(value) {
                case .success(let names): experiment.presets += names
                case .failure(let reason): throw fail(reason.message, at: column)
                }
            case "sweep":
                switch SweepAxis.parse(value) {
                case .success(let axis):
                    if experiment.axes.contains(where: { $0.key == axis.key }) {
                        throw fail("'\(axis.key)' is already swept", at: column)
                    }
                    experiment.axes.append(axis)
                case .failure(let reason): throw fail(reason.message, at: column)
                }
            default:
                switch Setting.parse(value) {
                case .success(let setting): experiment.settings.append(setting)
                case .failure(let reason): throw fail(reason.message, at: column)
                }
            }
            if experiment.cellsPerTraceAtLeast > Experiment.maximumCells {
                throw fail("the experiment has more than \(Experiment.maximumCells) cells, the limit", at: column)
            }
        }
        return experiment
    }

    /// `experiment` in the file format, ranges written out (parsing it gives
    /// back an equal experiment).
    public static func render(_ experiment: Experiment) -> String {
        var lines = ["# mmusim experiment: \(experiment.cellCount) cells"]
        if let format = experiment.format { lines.append("format \(format.name)") }
        lines += experiment.traces.map { "trace \($0)" }
        if !experiment.presets.isEmpty { lines.append("cpu " + experiment.presets.joined(separator: ",")) }
        lines += experiment.axes.map { "sweep \($0.key)=" + $0.values.joined(separator: ",") }
        lines += experiment.settings.map { "set \($0.text)" }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// Preset lists: `skylake,zen4`.
public enum Presets {
    public static func parse(_ text: String) -> Result<[String], ExperimentError.Reason> {
        let names = text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        for name in names where CPUPreset.named(name) == nil {
            return .failure(.init("unknown preset '\(name)' (\(CPUPreset.all.map(\.name).joined(separator: ", ")))"))
        }
        return .success(names)
    }
}

extension Setting {
    /// `KEY=VALUE` with a key that exists and takes the value.
    public static func parse(_ text: String) -> Result<Setting, ExperimentError.Reason> {
        guard let equals = text.firstIndex(of: "="), equals != text.startIndex else { return .failure(.init("takes KEY=VALUE")) }
        let setting = Setting(key: String(text[..<equals]), value: String(text[text.index(after: equals)...]))
        var probe = Configuration()
        do throws(ConfigurationError) { try probe.set(setting.key, setting.value) } catch { return .failure(.init(error.message)) }
        return .success(setting)
    }
}
