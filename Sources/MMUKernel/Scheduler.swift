import MMUHardware

/// Which process each core runs (Linux's `rq->curr`).
public struct Scheduler: Sendable {
    /// The process each core runs (nil: idle).
    public private(set) var current: [ProcessID?]

    init(cores: Int) { current = [ProcessID?](repeating: nil, count: cores) }

    /// The process `core` runs, if any.
    public subscript(core: CoreID) -> ProcessID? { current[core.rawValue] }

    mutating func run(_ process: ProcessID?, on core: CoreID) { current[core.rawValue] = process }
}

extension Kernel {
    /// `switch CORE PID|idle`: a context switch (`cost.switch`, CR3 write
    /// included). Deferred invalidations queued for the core are done here.
    mutating func contextSwitch(core: CoreID, to process: ProcessID?, machine: inout Machine) {
        machine[core].begin(.contextSwitch)
        defer { machine[core].end(.contextSwitch) }
        machine[core].charge(.contextSwitch)
        statistics[core.rawValue].switches &+= 1
        machine.note(.contextSwitch(to: process), on: core)
        DeferredShootdown.runQueued(on: core, kernel: &self, machine: &machine)
        guard process != scheduler[core] else { return }
        if let process, processes.isAlive(process) {
            scheduler.run(process, on: core)
            if !configuration.pcid {
                // The CR3 write flushes every PCID-0 entry this core held.
                for p in processes.ids { processes[p].mayCache[core.rawValue] = false }
            }
            processes[process].mayCache[core.rawValue] = true
            machine[core].loadCR3(processes[process].cr3)
        } else {
            scheduler.run(nil, on: core)
            machine[core].loadCR3(nil)
        }
    }

    /// The core leaves this kernel's context (it enters a VM, or the host):
    /// no process of it runs there any more, and nothing is charged (the
    /// switch that follows is).
    mutating func deschedule(_ core: CoreID) {
        scheduler.run(nil, on: core)
    }

    /// `tick CORE`: a timer interrupt; deferred invalidations are done here.
    mutating func tick(core: CoreID, machine: inout Machine) {
        machine[core].begin(.tick)
        defer { machine[core].end(.tick) }
        DeferredShootdown.runQueued(on: core, kernel: &self, machine: &machine)
    }
}
