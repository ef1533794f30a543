import MMUHardware
import MMUKernel

/// A failed `expect` or `=VALUE`.
public struct AssertionFailure: Hashable, Sendable {
    public var line: Int
    public var message: String
}

/// Something the run did not do, and why (a directive on a killed process's core).
public struct TraceWarning: Hashable, Sendable {
    public var line: Int
    public var message: String
}

/// Runs a checked trace on a fresh system, checking its assertions as it goes.
public struct TraceRunner {
    public private(set) var system: System
    public let trace: MMTReader.Trace
    public private(set) var failures: [AssertionFailure] = []
    public private(set) var warnings: [TraceWarning] = []
    public private(set) var passed = 0
    /// The `coherence:` failures among `failures` (with `checkCoherence`).
    public private(set) var coherenceViolations = 0
    /// Cycles each access directive took on its core.
    public private(set) var histogram = AccessHistogram()
    /// The line of the first directive not run, when the run was stopped.
    public private(set) var stoppedAt: Int? = nil
    /// Access directives run so far (the index `--timeline-range` counts in).
    public private(set) var accessesRun: UInt64 = 0
    /// The kernel's process for each live PID (nil: killed, or never created
    /// because its parent was killed).
    var processes: [UInt64: ProcessID?] = [:]
    /// What the trace says each core runs, to tell a killed process's core.
    var running: [UInt64?]
    /// The system's VM for each VMID (nil: the host had no frame for it).
    var virtualMachines: [UInt64: Int?] = [:]

    public init(trace: MMTReader.Trace, logEvents: Bool = false, checkCoherence: Bool = false) {
        self.trace = trace
        system = System(configuration: trace.configuration, logEvents: logEvents)
        system.checksCoherence = checkCoherence
        running = [UInt64?](repeating: nil, count: trace.configuration.cores)
    }

    /// Runs every directive; `events` receives each directive's events in
    /// order, with the number of access directives run before it.
    /// Stops early (before the next directive) when `stop` returns true, and
    /// then `stoppedAt` names the first directive not run.
    public mutating func run(stop: () -> Bool = { false },
                             events: ((_ line: TraceLine, _ events: [Event], _ accessesBefore: UInt64) -> Void)? = nil) {
        for line in trace.lines {
            if stop() {
                stoppedAt = line.line
                return
            }
            let accessesBefore = accessesRun
            execute(line)
            if system.checksCoherence {
                for violation in system.drainCoherenceViolations() {
                    failures.append(AssertionFailure(line: line.line, message: "coherence: \(violation)"))
                    coherenceViolations += 1
                }
            }
            if let events {
                events(line, drainEvents(), accessesBefore)
            }
        }
    }

    /// The events every core recorded since the last drain, by clock, then core.
    public mutating func drainEvents() -> [Event] {
        var all: [Event] = []
        for c in 0..<system.coreCount { all += system.drainEvents(core: CoreID(c)) }
        // Stable: a core's events keep their order; cores interleave by clock.
        return all.enumerated().sorted { a, b in
            a.element.clock != b.element.clock ? a.element.clock < b.element.clock
                : a.element.core != b.element.core ? a.element.core < b.element.core : a.offset < b.offset
        }.map(\.element)
    }

    func process(_ pid: UInt64) -> ProcessID? {
        guard let entry = processes[pid], let id = entry, system.isAlive(id) else { return nil }
        return id
    }

    /// Whether `core` can run a directive: its process (per the trace) is alive.
    mutating func coreIsRunning(_ core: Int, _ line: TraceLine) -> Bool {
        if system.current[core] != nil { return true }
        let pid = running[core].map(String.init) ?? "?"
        warnings.append(TraceWarning(line: line.line, message: "skipped: core \(core)'s process \(pid) was killed (out of memory)"))
        return false
    }

    mutating func execute(_ line: TraceLine) {
        switch line.directive {
        case .set:
            break
        case .process(let pid, let vmID):
            let id: ProcessID
            if let vmID {
                guard let vm = virtualMachines[vmID] ?? nil else {
                    processes[pid] = .some(nil)
                    warnings.append(TraceWarning(line: line.line, message: "process \(pid) starts dead: VM \(vmID) could not be created"))
                    return
                }
                id = system.createProcess(inVM: vm)
            } else {
                id = system.createProcess()
            }
            processes[pid] = id
            if !system.isAlive(id) {
                warnings.append(TraceWarning(line: line.line, message: "process \(pid) starts dead: no frame is left for its PML4 (out of memory)"))
            }
        case .vm(let vmID, let frames):
            let vm = system.createVirtualMachine(id: vmID, frames: Int(frames))
            virtualMachines[vmID] = vm
            if vm == nil {
                warnings.append(TraceWarning(line: line.line, message: "VM \(vmID) could not be created: no host frame is left for its nested root"))
            }
        case .ksm(let core):
            system.mergeSamePages(core: CoreID(core))
        case .switch(let core, let pid):
            running[core] = pid
            system.contextSwitch(core: CoreID(core), to: pid.flatMap(process))
        case .map(let core, let address, let pages, let permissions, let pageSize):
            guard coreIsRunning(core, line) else { return }
            system.map(core: CoreID(core), address, pages: pages, permissions, pageSize: pageSize)
        case .madvise(let core, let address, let pages, let advice):
            guard coreIsRunning(core, line) else { return }
            system.madvise(core: CoreID(core), address, pages: pages, advice)
        case .unmap(let core, let address, let pages):
            guard coreIsRunning(core, line) else { return }
            system.unmap(core: CoreID(core), address, pages: pages)
        case .protect(let core, let address, let pages, let permissions):
            guard coreIsRunning(core, line) else { return }
            system.protect(core: CoreID(core), address, pages: pages, permissions)
        case .fork(let core, let child):
            guard coreIsRunning(core, line) else { processes[child] = .some(nil); return }
            processes[child] = system.fork(core: CoreID(core))
        case .exit(let core):
            guard coreIsRunning(core, line) else { return }
            if let pid = running[core] {
                processes[pid] = nil
                for c in running.indices where running[c] == pid { running[c] = nil }
            }
            system.exit(core: CoreID(core))
        case .tick(let core):
            system.tick(core: CoreID(core))
        case .access(let core, let kind, let address, let value):
            guard coreIsRunning(core, line) else {
                if kind == .read, let value {
                    failures.append(AssertionFailure(line: line.line, message: "=\(hex(value)): the read was skipped (process killed)"))
                }
                return
            }
            let before = system.machine.cores[core].clock
            let result = system.access(core: CoreID(core), kind, address, store: kind == .write ? (value ?? 0) : 0)
            accessesRun += 1
            if case .completed = result { histogram.record(system.machine.cores[core].clock - before) }
            guard kind == .read, let expected = value else { return }
            switch result {
            case .completed(let actual) where actual == expected:
                passed += 1
            case .completed(let actual):
                failures.append(AssertionFailure(line: line.line, message: "r \(address): expected =\(hex(expected)), read \(hex(actual))"))
            case .segmentationFault:
                failures.append(AssertionFailure(line: line.line, message: "r \(address): expected =\(hex(expected)), the read got SIGSEGV"))
            case .killed, .idle:
                failures.append(AssertionFailure(line: line.line, message: "r \(address): expected =\(hex(expected)), the process was killed"))
            }
        case .expect(let key, let expected):
            let actual = system.statistic(key) ?? 0
            if actual == expected {
                passed += 1
            } else {
                failures.append(AssertionFailure(line: line.line, message: "expect \(key): expected \(expected), got \(actual)"))
            }
        }
    }
}
