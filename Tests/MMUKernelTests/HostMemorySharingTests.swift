import Testing
import MMUHardware
@testable import MMUKernel
import TestSupport

@Suite("Host memory: frame contents are shared copy-on-write by the emulator")
struct HostMemorySharingTests {
    @Test("a chain of fork copy holds one host copy of each page until a process writes it")
    func forkCopyChain() {
        var configuration = Pinned.configuration(cores: 1, frames: 20_000)
        configuration.fork = .copy
        let pages: UInt64 = 1024
        var (system, _) = System.running(configuration, regions: [(0x40_0000, pages, [.read, .write])])
        for page in 0..<pages { _ = system.access(core: CoreID(0), .write, VirtualAddress(0x40_0000 + page << 12), store: page + 1) }
        let backed = system.machine.memory.backedFrames
        var processes: [ProcessID] = []
        for _ in 0..<8 {
            guard let child = system.fork(core: CoreID(0)) else { break }
            processes.append(child)
            system.contextSwitch(core: CoreID(0), to: child)
        }
        #expect(processes.count == 8)
        // Eight more copies of every page in the emulated machine (the model's
        // frames and copy costs are as before), and the page tables' own
        // stores; no more host stores for the data.
        #expect(system.statistic("pages.copied") == 8 * pages)
        #expect(system.machine.memory.backedFrames < backed + 8 * 8)
        // The last child writes one page: one host store more, and only it sees the value.
        _ = system.access(core: CoreID(0), .write, VirtualAddress(0x40_0000), store: 0xFFFF)
        #expect(system.access(core: CoreID(0), .read, VirtualAddress(0x40_0000)) == .completed(0xFFFF))
        system.contextSwitch(core: CoreID(0), to: processes[3])
        #expect(system.access(core: CoreID(0), .read, VirtualAddress(0x40_0000)) == .completed(1))
        #expect(system.invariantViolations().isEmpty)
    }
}
