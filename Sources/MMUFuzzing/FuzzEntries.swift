import MMUHardware
import MMUKernel
import MMUTrace

/// The bodies of the libFuzzer targets, as a library the tests replay saved
/// inputs through. Each takes arbitrary bytes, must never crash or hang, and
/// returns a small summary (so a replay test can assert it ran).
public enum FuzzEntries {
    /// Limits a fuzzed trace's `set` lines are held to, so one input stays
    /// fast (the emulator itself accepts far more).
    static let maximumFrames = 65_536
    static let maximumCores = 64
    static let maximumFlushCeiling: UInt64 = 4096

    /// The configuration a fuzzed trace starts from: small memory, so every
    /// input runs quickly unless it asks for more.
    static var base: Configuration {
        var configuration = Configuration()
        configuration.frames = 4096
        return configuration
    }

    /// What a fuzzed input did.
    public enum Outcome: Equatable, Sendable {
        /// The reader refused it with a located error.
        case refused(TraceError)
        /// It ran: this many assertions failed and coherence violations were found.
        case ran(failures: Int, violations: Int, invariantProblems: Int)
        /// Its settings are beyond what the fuzz target allows.
        case skipped

        /// Whether this outcome is a bug the fuzzer must keep: a refusal
        /// without a location, or a run the checkers found unsound.
        public var isBug: Bool {
            switch self {
            case .refused(let error): return error.line < 1 || error.column < 1 || error.message.isEmpty
            case .ran(_, let violations, let problems): return violations > 0 || problems > 0
            case .skipped: return false
            }
        }
    }

    /// `.mmt` text in, a full run out: the reader, then the emulator with the
    /// coherence checker on and the kernel invariants checked at the end.
    public static func runTrace(_ bytes: [UInt8]) -> Outcome {
        let text = String(decoding: bytes, as: UTF8.self)
        let trace: MMTReader.Trace
        do throws(TraceError) {
            trace = try MMTReader(file: "fuzz.mmt", base: base).read(text)
        } catch {
            return .refused(error)
        }
        let configuration = trace.configuration
        guard configuration.frames <= maximumFrames, configuration.cores <= maximumCores,
              configuration.flushCeiling <= maximumFlushCeiling else { return .skipped }
        var runner = TraceRunner(trace: trace, checkCoherence: true)
        runner.run()
        let problems = runner.system.invariantViolations()
        return .ran(failures: runner.failures.count, violations: runner.coherenceViolations, invariantProblems: problems.count)
    }

    /// Lackey text in, a full streamed run out (coherence checker on).
    public static func runLackey(_ bytes: [UInt8]) -> Outcome {
        var reader = LackeyReader(source: ByteSource(bytes: bytes, name: "fuzz.lackey"), file: "fuzz.lackey")
        return stream(&reader)
    }

    /// ChampSim records in, a full streamed run out (coherence checker on).
    public static func runChampSim(_ bytes: [UInt8]) -> Outcome {
        var reader = ChampSimReader(source: ByteSource(bytes: bytes, name: "fuzz.champsim"), file: "fuzz.champsim")
        return stream(&reader)
    }

    static func stream<R: MemoryTraceReader>(_ reader: inout R) -> Outcome {
        var runner = StreamRunner(configuration: base, checkCoherence: true)
        var refused: TraceError? = nil
        do throws(TraceError) {
            try runner.run(&reader)
        } catch {
            refused = error
        }
        let problems = runner.system.invariantViolations().count
        if let refused, runner.coherenceViolations.isEmpty, problems == 0 { return .refused(refused) }
        return .ran(failures: refused == nil ? 0 : 1, violations: runner.coherenceViolations.count, invariantProblems: problems)
    }
}
