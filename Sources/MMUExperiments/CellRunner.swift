#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import MMUHardware
import MMUKernel
import MMUTrace

/// What one cell's run gave: its statistics (every `Statistic.all` total, in
/// that order, then `Statistic.virtualization`'s when it ran VMs) and how
/// long it took on the host.
public struct CellResult: Hashable, Sendable {
    public var index: Int
    /// `Cell.fingerprint` of the cell it ran.
    public var fingerprint: String
    public var names: [String]
    public var values: [UInt64]
    /// Host seconds the run took: reported in the JSON table only, never in
    /// the CSV, which must not depend on the host.
    public var wallSeconds: Double

    public init(index: Int, fingerprint: String, names: [String], values: [UInt64], wallSeconds: Double) {
        self.index = index
        self.fingerprint = fingerprint
        self.names = names
        self.values = values
        self.wallSeconds = wallSeconds
    }
}

/// Why a cell has no result.
public enum CellFailure: Error, Hashable, Sendable {
    /// The trace or the settings are bad (the message says where).
    case bad(String)
    /// `stop` returned true before the run ended; nothing is kept.
    case interrupted
}

/// Runs one cell on a fresh system.
public enum CellRunner {
    /// The prefix naming a built-in scenario instead of a file: `scenario:threads-unmap`.
    public static let scenarioPrefix = "scenario:"
    /// The cores a scenario gets when no setting names them.
    public static let scenarioDefaultCores = 16

    /// Runs `cell`, polling `stop` as the run goes.
    public static func run(_ cell: Cell, stop: () -> Bool = { false }) -> Result<CellResult, CellFailure> {
        let started = monotonicSeconds()
        var base = Configuration()
        if let name = cell.preset {
            guard let preset = CPUPreset.named(name) else { return .failure(.bad("unknown preset '\(name)'")) }
            do throws(ConfigurationError) { base = try preset.apply(to: base) } catch { return .failure(.bad("\(name): \(error.message)")) }
        }
        let system: System
        switch simulate(cell, base: base, stop: stop) {
        case .success(let finished): system = finished
        case .failure(let failure): return .failure(failure)
        }
        // A run with VMs adds their statistics after the native ones.
        let statistics = system.reportedStatistics
        return .success(CellResult(index: cell.index, fingerprint: cell.fingerprint, names: statistics.map(\.name),
                                   values: statistics.map { $0.value(in: system) ?? 0 },
                                   wallSeconds: monotonicSeconds() - started))
    }

    static func simulate(_ cell: Cell, base: Configuration, stop: () -> Bool) -> Result<System, CellFailure> {
        if cell.trace.hasPrefix(scenarioPrefix) {
            let name = String(cell.trace.dropFirst(scenarioPrefix.count))
            guard let scenario = Scenario(rawValue: name) else {
                return .failure(.bad("\(cell.trace): unknown scenario (\(Scenario.allCases.map(\.rawValue).joined(separator: ", ")))"))
            }
            let cores = cell.overrides.last { $0.key == "cores" }.flatMap { Int($0.value) } ?? scenarioDefaultCores
            return runText(scenario.trace(cores: cores), cell: cell, base: base, stop: stop)
        }
        let source: ByteSource
        let format: TraceFormat
        do throws(ByteSourceError) {
            source = try ByteSource.opening(cell.trace)
            if let given = cell.format { format = given } else { format = try TraceFormat.detect(source) }
        } catch {
            return .failure(.bad(error.description))
        }
        switch format {
        case .mmt:
            switch TraceText.read(source) {
            case .success(let text): return runText(text, cell: cell, base: base, stop: stop)
            case .failure(let error): return .failure(.bad(error.description))
            }
        case .lackey:
            var reader = LackeyReader(source: source, file: cell.trace)
            return runStreamed(&reader, cell: cell, base: base, stop: stop)
        case .champsim:
            var reader = ChampSimReader(source: source, file: cell.trace)
            return runStreamed(&reader, cell: cell, base: base, stop: stop)
        }
    }

    static func runText(_ text: String, cell: Cell, base: Configuration, stop: () -> Bool) -> Result<System, CellFailure> {
        let trace: MMTReader.Trace
        do throws(TraceError) {
            trace = try MMTReader(file: cell.trace, base: base, overrides: cell.overrides).read(text)
        } catch {
            return .failure(.bad(error.description))
        }
        var runner = TraceRunner(trace: trace)
        runner.run(stop: stop)
        return runner.stoppedAt == nil ? .success(runner.system) : .failure(.interrupted)
    }

    static func runStreamed<R: MemoryTraceReader>(_ reader: inout R, cell: Cell, base: Configuration,
                                                  stop: () -> Bool) -> Result<System, CellFailure> {
        var configuration = base
        do throws(ConfigurationError) {
            for (key, value) in cell.overrides { try configuration.set(key, value) }
            try configuration.validate()
        } catch {
            return .failure(.bad("\(cell.trace): \(error.message)"))
        }
        var runner = StreamRunner(configuration: configuration)
        do throws(TraceError) {
            try runner.run(&reader, stop: stop)
        } catch {
            return .failure(.bad(error.description))
        }
        return runner.stopped ? .failure(.interrupted) : .success(runner.system)
    }

    /// Seconds on the monotonic clock (for wall times only).
    public static func monotonicSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}

/// Reading a whole text trace from a `ByteSource` (a file, a pipe, a decompressor).
public enum TraceText {
    /// The whole text of an `.mmt` trace (`TextInput`: CRLF accepted, at most
    /// `TextInput.Limit.trace`).
    public static func read(_ source: ByteSource) -> Result<String, TraceError> {
        TextInput.read(source, limit: .trace)
    }

    /// The trace's own `set KEY VALUE` lines that a setting of `keys` overrides:
    /// (line number, key, value as the trace wrote it).
    public static func overriddenSetLines(_ text: String, keys: Set<String>) -> [(line: Int, key: String, value: String)] {
        var found: [(Int, String, String)] = []
        var number = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            number += 1
            let fields = line.prefix { $0 != "#" }.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
            guard let first = fields.first else { continue }
            guard first == "set" else {
                // `set` lines come before every other directive.
                break
            }
            if fields.count >= 3, keys.contains(String(fields[1])) {
                found.append((number, String(fields[1]), String(fields[2])))
            }
        }
        return found
    }
}
