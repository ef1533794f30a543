import MMUHardware
import MMUKernel

/// Runs several streamed traces (Lackey, ChampSim, mixed) at once on one
/// system: trace i runs on core i, so the multi-core machinery (shared
/// frames, shootdowns, IPIs, waits) sees concurrent workloads.
///
/// - `.processes`: each trace is its own process on its own core, set up as
///   `StreamRunner` sets up its one process (`process`, `switch i`, one `map`
///   of the user half on core i).
/// - `.threads`: one process whose threads run the traces, sharing one address
///   space (one set of page tables, one set of frames): `process`, `switch 0`,
///   the one `map` on core 0, then `switch i` to the same process on every
///   other core, as a program that maps its memory and then starts threads.
///
/// Records are interleaved deterministically by the cores' clocks, as a
/// discrete-event simulator orders its events by time: the next record run is
/// always the next one of the trace whose core has the smallest clock (ties:
/// the lowest core). A trace that ends leaves its core idle. A trace whose
/// records are expensive (faults, walks) moves its core's clock further per
/// record, so it runs fewer records in the same span of time: it falls behind,
/// as a slower thread would.
public struct MultiStreamRunner {
    /// Whether the traces are processes or threads of one process.
    public enum Sharing: Sendable, Hashable {
        case processes
        case threads
    }

    public private(set) var system: System
    public let sharing: Sharing
    /// Trace i's process (with `.threads`, the same for all).
    public let processes: [ProcessID]
    /// Records read and run per trace (skipped ones included).
    public private(set) var records: [UInt64]
    /// Records per trace that did nothing because their process had been killed
    /// for want of frames.
    public private(set) var skippedRecords: [UInt64]
    /// Cycles each record took on its core, over all traces (SIGSEGV'd records
    /// included; skipped ones are not).
    public private(set) var histogram = AccessHistogram()
    /// True when `stop` ended the run early.
    public private(set) var stopped = false
    /// Coherence violations (with `checkCoherence`), with the trace and record that caused each.
    public private(set) var coherenceViolations: [(trace: Int, record: UInt64, violation: CoherenceViolation)] = []
    /// The most events the runner held at once (with `events`): every record's
    /// events are drained and handed over before the next record runs.
    public private(set) var mostEventsHeld = 0
    /// Records between two `progress` calls (a power of two; tests make it small).
    var progressInterval = StreamRunner.defaultProgressInterval

    var readers: [any MemoryTraceReader]
    /// Whether trace i has ended (its core idles from then on).
    public private(set) var ended: [Bool]

    /// The least cores `traces` traces need: one each.
    public static func coresNeeded(traces: Int) -> Int { traces }

    /// A system for `configuration` with one process per reader (or one
    /// process with a thread per reader), each on its core. Throws when there
    /// is no reader, or fewer cores than readers.
    public init(configuration: Configuration, readers: [any MemoryTraceReader], sharing: Sharing = .processes,
                logEvents: Bool = false, checkCoherence: Bool = false) throws(ConfigurationError) {
        guard !readers.isEmpty, configuration.cores >= readers.count else {
            throw ConfigurationError("\(readers.count) traces need at least \(readers.count) cores (each runs on its own)",
                                     part: .value)
        }
        system = System(configuration: configuration, logEvents: logEvents)
        system.checksCoherence = checkCoherence
        self.sharing = sharing
        self.readers = readers
        records = [UInt64](repeating: 0, count: readers.count)
        skippedRecords = records
        ended = [Bool](repeating: false, count: readers.count)
        var processes: [ProcessID] = []
        for index in readers.indices {
            let core = CoreID(index)
            if sharing == .threads, let shared = processes.first {
                system.contextSwitch(core: core, to: shared)
                processes.append(shared)
                continue
            }
            let process = system.createProcess()
            system.contextSwitch(core: core, to: process)
            StreamRunner.mapUserSpace(&system, core: core)
            processes.append(process)
        }
        self.processes = processes
    }

    /// Records run over all traces.
    public var totalRecords: UInt64 { records.reduce(0, &+) }
    /// Bytes the readers consumed, over all traces.
    public var bytesRead: UInt64 { readers.reduce(0) { $0 &+ $1.bytesRead } }
    /// Records read per trace as its format counts them: a ChampSim record
    /// may hold several accesses, each of which `records` counts.
    public var recordsRead: [UInt64] {
        readers.indices.map { readers[$0].recordsRead ?? records[$0] }
    }
    /// Skipped input lines per trace (Valgrind's banner).
    public var skippedLines: [UInt64] { readers.map(\.skippedLines) }

    /// The trace that runs next: the one, among those not ended, whose core
    /// has the smallest clock; ties go to the lowest core. Nil when all ended.
    public func nextTrace() -> Int? {
        var best: Int? = nil
        var bestClock = CycleCount.max
        for index in ended.indices where !ended[index] {
            let clock = system.machine.cores[index].clock
            if best == nil || clock < bestClock {
                best = index
                bestClock = clock
            }
        }
        return best
    }

    /// Runs the next record (see `nextTrace`), passing over traces that turn
    /// out to have ended; returns the trace it ran, or nil when every trace
    /// has ended. On a bad record it rethrows; the state is the run up to it.
    public mutating func step() throws(TraceError) -> Int? {
        while let trace = nextTrace() {
            guard let access = try readers[trace].next() else {
                ended[trace] = true
                continue
            }
            records[trace] &+= 1
            StreamRunner.run(access, on: CoreID(trace), &system, histogram: &histogram, skipped: &skippedRecords[trace])
            if system.checksCoherence {
                for violation in system.drainCoherenceViolations() {
                    coherenceViolations.append((trace, records[trace], violation))
                }
            }
            return trace
        }
        return nil
    }

    /// Runs every record of every trace, interleaved by clock. `progress`
    /// gets the records run and bytes read every `defaultProgressInterval`
    /// records; `events` gets each record's events (of every core: a record
    /// can interrupt others) with the trace and its record number, while the
    /// run's record count is in `eventRange`. On a bad record it stops and rethrows.
    public mutating func run(progress: ((_ records: UInt64, _ bytes: UInt64) -> Void)? = nil,
                             stop: () -> Bool = { false },
                             events: ((_ trace: Int, _ record: UInt64, _ events: [Event]) -> Void)? = nil,
                             eventRange: Range<UInt64> = 0..<UInt64.max) throws(TraceError) {
        var total: UInt64 = 0
        while true {
            if total & 4095 == 0 && stop() {
                stopped = true
                return
            }
            let logging = events != nil && eventRange.contains(total)
            if events != nil { system.setLogging(logging) }
            guard let trace = try step() else { return }
            total &+= 1
            if let events, logging {
                var batch: [Event] = []
                for core in 0..<system.coreCount { batch += system.drainEvents(core: CoreID(core)) }
                if batch.count > mostEventsHeld { mostEventsHeld = batch.count }
                events(trace, records[trace] - 1, batch)
            }
            if total & (progressInterval &- 1) == 0, let progress {
                progress(total, bytesRead)
            }
        }
    }
}

extension TraceFormat {
    /// A reader of this streamed format over `source` (nil for `.mmt`, which is not streamed).
    public func streamReader(_ source: ByteSource, file: String?) -> (any MemoryTraceReader)? {
        switch self {
        case .lackey: return LackeyReader(source: source, file: file)
        case .champsim: return ChampSimReader(source: source, file: file)
        case .mmt: return nil
        }
    }
}
