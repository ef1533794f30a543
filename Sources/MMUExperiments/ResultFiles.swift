#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import MMUCalibration
import MMUTrace

/// The results directory of a sweep (`--out DIR`):
///
/// - `DIR/experiment.sweep`: the experiment (`ExperimentFile` format), what
///   `--merge` and the Slurm array tasks read;
/// - `DIR/cells/INDEX.json`: one cell's result, written under a temporary
///   name and renamed into place, so a file there is always whole;
/// - `DIR/job.sh`, `DIR/logs/`: the Slurm job array script and its logs.
public struct ResultDirectory: Sendable {
    public var path: String

    public init(_ path: String) { self.path = path }

    public var experimentPath: String { path + "/experiment.sweep" }
    public var cellsPath: String { path + "/cells" }
    public var logsPath: String { path + "/logs" }
    public var jobScriptPath: String { path + "/job.sh" }

    public func cellPath(_ index: Int) -> String { "\(cellsPath)/\(index).json" }

    /// Creates the directory and `cells/` (and their parents); a message when it cannot.
    public func create() -> String? {
        for directory in [path, cellsPath, logsPath] {
            if let problem = Self.makeDirectories(directory) { return problem }
        }
        return nil
    }

    static func makeDirectories(_ path: String) -> String? {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for component in path.split(separator: "/") {
            prefix += component
            if FileName.withCString(prefix, { mkdir($0, 0o755) }) != 0 && errno != EEXIST {
                return "\(prefix): cannot create the directory: \(String(cString: strerror(errno)))"
            }
            prefix += "/"
        }
        return nil
    }

    /// Writes `text` to `path` atomically (`AtomicFile`); a message when it cannot.
    public static func write(_ text: String, to path: String) -> String? {
        Calibration.write(text, to: path)
    }

    /// The whole text of `path`, or nil when it cannot be read (or is larger than `limit`).
    public static func read(_ path: String, limit: TextInput.Limit = .results) -> String? {
        guard case .success(let text) = TextInput.read(path, limit: limit) else { return nil }
        return text
    }

    /// Saves `result` as `cells/INDEX.json`.
    public func save(_ result: CellResult) -> String? {
        Self.write(CellFile.encode(result), to: cellPath(result.index))
    }

    /// The saved result of `cell`, if there is one and it is for this very
    /// cell (same fingerprint); nil otherwise.
    public func saved(_ cell: Cell) -> CellResult? {
        guard let text = Self.read(cellPath(cell.index)), let result = CellFile.decode(text),
              result.index == cell.index, result.fingerprint == cell.fingerprint else { return nil }
        return result
    }
}

/// One cell's result file: a JSON object, schema `mmusim-cell-1`.
///
/// ```
/// {"schema": "mmusim-cell-1", "index": 3, "fingerprint": "trace=...; ...",
///  "wall_microseconds": 5120, "statistics": [["accesses", 7], ["walks", 9], ...]}
/// ```
public enum CellFile {
    public static let schema = "mmusim-cell-1"

    public static func encode(_ result: CellResult) -> String {
        let statistics = zip(result.names, result.values).map { "[\(StatisticsReport.jsonString($0)), \($1)]" }
        return "{\"schema\": \"\(schema)\", \"index\": \(result.index), "
            + "\"fingerprint\": \(StatisticsReport.jsonString(result.fingerprint)), "
            + "\"wall_microseconds\": \(UInt64(max(0, result.wallSeconds * 1e6).rounded())),\n"
            + " \"statistics\": [" + statistics.joined(separator: ", ") + "]}\n"
    }

    /// The result `text` holds, or nil when it is not a cell file.
    public static func decode(_ text: String) -> CellResult? {
        guard case .success(let json) = JSONValue.parse(text), json["schema"]?.string == schema,
              let index = json["index"]?.int, let fingerprint = json["fingerprint"]?.string,
              let micro = json["wall_microseconds"]?.uint64, let pairs = json["statistics"]?.array else { return nil }
        var names: [String] = [], values: [UInt64] = []
        for pair in pairs {
            guard let items = pair.array, items.count == 2, let name = items[0].string, let value = items[1].uint64 else { return nil }
            names.append(name)
            values.append(value)
        }
        return CellResult(index: index, fingerprint: fingerprint, names: names, values: values, wallSeconds: Double(micro) / 1e6)
    }
}
