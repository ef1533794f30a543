import MMUHardware
import MMUKernel

/// Runs a streamed memory trace (Lackey, ChampSim) on a fresh system, one
/// record at a time, in constant memory (docs/reference/trace-format.md).
///
/// The traced program is one process on core 0. Set-up, as a `.mmt` trace
/// would write it: `process 1`, `switch 0 1` (one `cost.switch`), and one
/// `map` (one `cost.syscall`) of the whole user address space,
/// `0x1000 ..< 0x800000000000`, `rwx`: every page the program touches gets a
/// frame on demand, on its first touch, as Linux's anonymous memory does.
/// Page 0 (`0x0 ..< 0x1000`) stays unmapped, so a NULL access is a SIGSEGV as
/// on Linux (`vm.mmap_min_addr`); so is any address above the user half
/// (Valgrind may show the kernel's vsyscall page at `0xffffffffff600000`), and
/// a non-canonical one is a #GP, also SIGSEGV. The first touch of a page is a
/// read or fetch (the shared zero page, `faults.zero_page`, when `zero_page`
/// is on) or a write (`faults.demand_zero`); a later write to a zero-page
/// mapping breaks it (`faults.demand_zero` again).
public struct StreamRunner {
    /// The first mapped address: page 0 stays unmapped.
    public static let firstMappedAddress = VirtualAddress(0x1000)
    /// The end of the user half of the 48-bit address space.
    public static let endOfUserSpace = VirtualAddress(0x8000_0000_0000)
    /// `progress` is called each time this many more records have run.
    public static let defaultProgressInterval: UInt64 = 1 << 20

    public private(set) var system: System
    /// Records between two `progress` calls (a power of two; tests make it small).
    var progressInterval = StreamRunner.defaultProgressInterval
    /// The traced program.
    public let process: ProcessID
    /// Cycles each record took on core 0 (SIGSEGV'd records included; records
    /// skipped after an OOM kill are not).
    public private(set) var histogram = AccessHistogram()
    /// Records read and run (skipped ones included).
    /// True when `stop` ended the run early.
    public private(set) var stopped = false
    public private(set) var records: UInt64 = 0
    /// Records that did nothing because the process had been killed for want
    /// of frames (docs/reference/kernel.md: the run goes on; here there is nothing left to run).
    public private(set) var skippedRecords: UInt64 = 0
    /// The most events the runner held at once (with `events`): each record's
    /// are drained and handed over before the next record runs, so this is the
    /// largest one record made, whatever the trace's length.
    public private(set) var mostEventsHeld = 0
    /// Coherence violations (with `checkCoherence`), with the record that caused each.
    public private(set) var coherenceViolations: [(record: UInt64, violation: CoherenceViolation)] = []

    /// A system for `configuration` with the traced process running on core 0
    /// and its address space mapped (see the type's documentation).
    public init(configuration: Configuration, logEvents: Bool = false, checkCoherence: Bool = false) {
        system = System(configuration: configuration, logEvents: logEvents)
        system.checksCoherence = checkCoherence
        process = system.createProcess()
        system.contextSwitch(core: CoreID(0), to: process)
        Self.mapUserSpace(&system, core: CoreID(0))
    }

    /// The one `map` of the whole user address space, `rwx`, on `core`'s
    /// process (see the type's documentation).
    static func mapUserSpace(_ system: inout System, core: CoreID) {
        let pages = (endOfUserSpace.rawValue - firstMappedAddress.rawValue) >> Paging.pageShift
        system.map(core: core, firstMappedAddress, pages: pages, [.read, .write, .execute])
    }

    /// Runs one record on `core`: its cycles go into `histogram` when it
    /// completes; a record on an idle core (its process killed) is counted in `skipped`.
    @inline(__always)
    static func run(_ access: MemoryAccess, on core: CoreID, _ system: inout System,
                    histogram: inout AccessHistogram, skipped: inout UInt64) {
        let before = system.machine.cores[core.rawValue].clock
        switch system.touch(core: core, access.kind, access.address, bytes: access.bytes) {
        case .idle:
            skipped &+= 1
        case .completed:
            histogram.record(system.machine.cores[core.rawValue].clock &- before)
        case .segmentationFault, .killed:
            break
        }
    }

    /// What `run` keeps of each record run in a batch: its cycles when it
    /// completes, a count of those that found the core idle (`run(_:on:...)`).
    struct Tally: TouchObserver {
        var histogram: AccessHistogram
        var skipped: UInt64

        @inline(__always)
        mutating func touched(_ outcome: ExecutionOutcome, cycles: CycleCount) {
            switch outcome {
            case .idle: skipped &+= 1
            case .completed: histogram.record(cycles)
            case .instructionSkipped, .processKilled: break
            }
        }

        @inline(__always)
        mutating func touched(completed count: UInt64, cycles: CycleCount) {
            histogram.record(cycles, times: count)
        }
    }

    /// Records read at a time (`MemoryTraceReader.read(into:count:)`); the
    /// `stop` check's interval, and a multiple or divisor of `progressInterval`.
    public static let batchSize = 4096

    /// Runs every record `reader` hands out, calling `progress` with the
    /// records run and the bytes read every `defaultProgressInterval` records. On a
    /// bad record it stops and rethrows; `system`, `histogram` and `records`
    /// then hold the run up to the record before it.
    ///
    /// Records are read in batches (`batchSize`, or `progressInterval` when
    /// smaller) and run one by one; without event logging or a coherence
    /// checker, a batch runs in a loop that only touches and times. Every
    /// batch starts at a multiple of its size, and its first record is read
    /// on its own before `stop` is asked, so the reader stands where a reader
    /// read record by record would at every `stop` and `progress` call.
    public mutating func run<R: MemoryTraceReader>(_ reader: inout R,
                                                   progress: ((_ records: UInt64, _ bytes: UInt64) -> Void)? = nil,
                                                   stop: () -> Bool = { false },
                                                   events: ((_ record: UInt64, _ events: [Event]) -> Void)? = nil,
                                                   eventRange: Range<UInt64> = 0..<UInt64.max) throws(TraceError) {
        let core = CoreID(0)
        let capacity = Int(min(UInt64(Self.batchSize), max(progressInterval, 1)))
        let batch = UnsafeMutableBufferPointer<MemoryAccess>.allocate(capacity: capacity)
        defer { batch.deallocate() }
        while true {
            // The first record of the batch, then the stop check, then the rest.
            var count = 0
            try reader.read(into: UnsafeMutableBufferPointer(rebasing: batch[0..<1]), count: &count)
            guard count == 1 else { return }
            if records & UInt64(Self.batchSize &- 1) == 0 && stop() {
                stopped = true
                return
            }
            var failure: TraceError? = nil
            do throws(TraceError) {
                var more = 0
                defer { count &+= more }
                try reader.read(into: UnsafeMutableBufferPointer(rebasing: batch[1..<capacity]), count: &more)
            } catch {
                failure = error
            }
            if events == nil && !system.checksCoherence {
                var tally = Tally(histogram: histogram, skipped: skippedRecords)
                system.touch(core: core, UnsafeBufferPointer(rebasing: batch[0..<count]), observer: &tally)
                histogram = tally.histogram
                skippedRecords = tally.skipped
                records &+= UInt64(count)
            } else {
                for i in 0..<count {
                    if events != nil { system.setLogging(eventRange.contains(records), core: core) }
                    records &+= 1
                    Self.run(batch[i], on: core, &system, histogram: &histogram, skipped: &skippedRecords)
                    if system.checksCoherence {
                        for violation in system.drainCoherenceViolations() {
                            coherenceViolations.append((records, violation))
                        }
                    }
                    if let events, system.machine[core].isLogging {
                        let drained = drainEvents()
                        if drained.count > mostEventsHeld { mostEventsHeld = drained.count }
                        events(records - 1, drained)
                    }
                }
            }
            if let failure { throw failure }
            // A batch that ends on a multiple of the interval ends where the
            // interval does (both are powers of two, the batch the smaller or equal).
            if records & (progressInterval &- 1) == 0, let progress {
                progress(records, reader.bytesRead)
            }
            guard count == capacity else { return }
        }
    }

    /// The events every core recorded since the last drain (with `logEvents`),
    /// in order. Drain regularly: the log grows with the trace.
    public mutating func drainEvents() -> [Event] {
        var all: [Event] = []
        for c in 0..<system.coreCount { all += system.drainEvents(core: CoreID(c)) }
        return all
    }
}
