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

    /// Runs every record `reader` hands out, calling `progress` with the
    /// records run and the bytes read every `defaultProgressInterval` records. On a
    /// bad record it stops and rethrows; `system`, `histogram` and `records`
    /// then hold the run up to the record before it.
    public mutating func run<R: MemoryTraceReader>(_ reader: inout R,
                                                   progress: ((_ records: UInt64, _ bytes: UInt64) -> Void)? = nil,
                                                   stop: () -> Bool = { false },
                                                   events: ((_ record: UInt64, _ events: [Event]) -> Void)? = nil,
                                                   eventRange: Range<UInt64> = 0..<UInt64.max) throws(TraceError) {
        let core = CoreID(0)
        while let access = try reader.next() {
            if records & 4095 == 0 && stop() {
                stopped = true
                return
            }
            if events != nil { system.setLogging(eventRange.contains(records), core: core) }
            records &+= 1
            Self.run(access, on: core, &system, histogram: &histogram, skipped: &skippedRecords)
            if system.checksCoherence {
                for violation in system.drainCoherenceViolations() {
                    coherenceViolations.append((records, violation))
                }
            }
            if let events, system.machine[core].isLogging {
                let batch = drainEvents()
                if batch.count > mostEventsHeld { mostEventsHeld = batch.count }
                events(records - 1, batch)
            }
            if records & (progressInterval &- 1) == 0, let progress {
                progress(records, reader.bytesRead)
            }
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
