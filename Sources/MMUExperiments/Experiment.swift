import MMUKernel
import MMUTrace

/// A configuration key and the values it takes in turn, in order:
/// `--sweep cores=1..64:x2` or a `sweep` line of an experiment file.
public struct SweepAxis: Hashable, Sendable {
    public var key: String
    public var values: [String]

    public init(key: String, values: [String]) {
        self.key = key
        self.values = values
    }

    /// Reads `KEY=V1,V2,...`, where each comma-separated item is a value or a
    /// range (`ValueRange`); every value must suit the key on its own.
    public static func parse(_ text: String) -> Result<SweepAxis, ExperimentError.Reason> {
        guard let equals = text.firstIndex(of: "="), equals != text.startIndex else {
            return .failure(.init("takes KEY=V1,V2,... (or KEY=A..B:xK, KEY=A..B:+K)"))
        }
        let key = String(text[..<equals])
        guard Configuration.keys.contains(key) else {
            return .failure(.init("unknown configuration key '\(key)' (mmusim keys lists them)"))
        }
        var values: [String] = []
        for item in text[text.index(after: equals)...].split(separator: ",", omittingEmptySubsequences: false) {
            guard !item.isEmpty else { return .failure(.init("empty value in the list")) }
            if item.contains("..") {
                switch ValueRange.expand(String(item)) {
                case .success(let expanded): values += expanded
                case .failure(let reason): return .failure(reason)
                }
            } else {
                values.append(String(item))
            }
        }
        for value in values {
            var probe = Configuration()
            do throws(ConfigurationError) { try probe.set(key, value) } catch { return .failure(.init(error.message)) }
        }
        return .success(SweepAxis(key: key, values: values))
    }
}

/// `A..B:xK` (A, A·K, A·K², ... up to B) and `A..B:+K` (A, A+K, ... up to B);
/// `A..B` alone steps by one. Whole numbers, A ≤ B.
public enum ValueRange {
    /// At most this many values from one range.
    public static let limit = 10_000

    public static func expand(_ text: String) -> Result<[String], ExperimentError.Reason> {
        let usage = ExperimentError.Reason("'\(text)': a range is A..B, A..B:xK or A..B:+K with whole numbers")
        let parts = text.split(separator: ".", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, parts[1].isEmpty else { return .failure(usage) }
        let low = parts[0]
        var rest = parts[2]
        var step: Substring = "+1"
        if let colon = rest.firstIndex(of: ":") {
            step = rest[rest.index(after: colon)...]
            rest = rest[..<colon]
        }
        guard let a = UInt64(low), let b = UInt64(rest), a <= b, let kind = step.first,
              let k = UInt64(step.dropFirst()) else { return .failure(usage) }
        var values: [UInt64] = []
        var value = a
        switch kind {
        case "x":
            guard k >= 2, a >= 1 else { return .failure(.init("'\(text)': a geometric range needs A ≥ 1 and a factor of at least 2")) }
            while value <= b {
                values.append(value)
                let (next, overflow) = value.multipliedReportingOverflow(by: k)
                if overflow { break }
                value = next
            }
        case "+":
            guard k >= 1 else { return .failure(.init("'\(text)': the step must be at least 1")) }
            while value <= b && values.count <= limit {
                values.append(value)
                let (next, overflow) = value.addingReportingOverflow(k)
                if overflow { break }
                value = next
            }
        default:
            return .failure(usage)
        }
        guard values.count <= limit else { return .failure(.init("'\(text)': more than \(limit) values")) }
        return .success(values.map(String.init))
    }
}

/// What to run: the cross product of traces, presets and every sweep axis,
/// each cell a full run, with the same settings (`set`) under all of them.
public struct Experiment: Hashable, Sendable {
    /// Trace paths as given (relative to the directory mmusim runs in), or
    /// `scenario:NAME` for a built-in scenario generated for the cell's cores.
    public var traces: [String] = []
    /// `--format`: the traces' format; nil detects each one.
    public var format: TraceFormat? = nil
    /// Preset names (`--cpu A,B`); empty runs without a preset.
    public var presets: [String] = []
    public var axes: [SweepAxis] = []
    /// Settings applied to every cell, after the trace's `set` lines and before the axes.
    public var settings: [Setting] = []

    public init(traces: [String] = [], format: TraceFormat? = nil, presets: [String] = [], axes: [SweepAxis] = [],
                settings: [Setting] = []) {
        self.traces = traces
        self.format = format
        self.presets = presets
        self.axes = axes
        self.settings = settings
    }

    /// Every cell in table order: traces outermost, then presets, then each
    /// axis in the order given (the first outermost, the last innermost).
    public var cells: [Cell] {
        var cells: [Cell] = []
        let presetList: [String?] = presets.isEmpty ? [nil] : presets.map(Optional.some)
        for trace in traces {
            for preset in presetList {
                var combination: [[String]] = [[]]
                for axis in axes {
                    combination = combination.flatMap { prefix in axis.values.map { prefix + [$0] } }
                }
                for values in combination {
                    let swept = zip(axes, values).map { Setting(key: $0.key, value: $1) }
                    cells.append(Cell(index: cells.count, trace: trace, format: format, preset: preset,
                                      settings: settings, swept: swept))
                }
            }
        }
        return cells
    }

    /// How many cells `cells` has, without building them (`Int.max` when
    /// the product overflows).
    public var cellCount: Int {
        Self.product([traces.count, max(1, presets.count)] + axes.map(\.values.count))
    }

    /// An experiment has at most this many cells (a sweep file or command
    /// line asking for more is refused before any cell is built).
    public static let maximumCells = 1_000_000

    /// The cells this experiment would have with at least one trace: what the
    /// limit is checked against while the traces are still being named.
    public var cellsPerTraceAtLeast: Int {
        Self.product([max(1, traces.count), max(1, presets.count)] + axes.map(\.values.count))
    }

    /// The product of `factors`, `Int.max` when it overflows.
    static func product(_ factors: [Int]) -> Int {
        var result = 1
        for factor in factors {
            let (product, overflow) = result.multipliedReportingOverflow(by: factor)
            if overflow { return .max }
            result = product
        }
        return result
    }

    /// The parameter columns of the results table: `trace`, `cpu` when
    /// presets were given, then each swept key.
    public var parameterColumns: [String] {
        ["trace"] + (presets.isEmpty ? [] : ["cpu"]) + axes.map(\.key)
    }
}

/// A `KEY=VALUE` setting.
public struct Setting: Hashable, Sendable {
    public var key: String
    public var value: String

    public var text: String { "\(key)=\(value)" }
}

/// One run of a sweep: a trace under a preset and settings.
public struct Cell: Hashable, Sendable {
    /// The cell's place in table order, from 0.
    public var index: Int
    public var trace: String
    public var format: TraceFormat?
    public var preset: String?
    /// The experiment's settings, applied before `swept`.
    public var settings: [Setting]
    /// The cell's value of each axis, in axis order.
    public var swept: [Setting]

    /// The values of `Experiment.parameterColumns` for this cell.
    public func parameters(withPreset: Bool) -> [String] {
        [trace] + (withPreset ? [preset ?? ""] : []) + swept.map(\.value)
    }

    /// Everything that decides the cell's result, as one line: a result file
    /// is reused (on resume) only when its fingerprint equals this.
    public var fingerprint: String {
        var words = ["trace=\(trace)", "format=\(format?.name ?? "detect")", "cpu=\(preset ?? "")"]
        words += settings.map { "set \($0.text)" } + swept.map { "sweep \($0.text)" }
        return words.joined(separator: "; ")
    }

    /// Every setting in the order it applies (after the trace's `set` lines).
    public var overrides: [(key: String, value: String)] { (settings + swept).map { ($0.key, $0.value) } }
}

/// A problem with an experiment: in a file (with line and column) or an option.
public struct ExperimentError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What is wrong, without where.
    public struct Reason: Error, Hashable, Sendable {
        public var message: String
        public init(_ message: String) { self.message = message }
    }

    /// The file, or the option as written.
    public var place: String
    public var line: Int?
    public var column: Int?
    public var message: String

    public init(place: String, line: Int? = nil, column: Int? = nil, message: String) {
        self.place = place
        self.line = line
        self.column = column
        self.message = message
    }

    /// `file:line:column: message`, or `place: message`.
    public var description: String {
        var text = place
        if let line { text += ":\(line)" }
        if let column { text += ":\(column)" }
        return text + ": " + message
    }
}
