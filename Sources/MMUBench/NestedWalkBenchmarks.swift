import MMUHardware
import MMUKernel

/// The guest's side of `walk`: the same random loads over 1 GiB of present
/// pages, run by a process inside a VM, so every STLB miss is a
/// two-dimensional walk (default geometry: the nested TLB and nested PSCs on).
extension Benchmark {
    static let nestedWalks: [Benchmark] = [
        Benchmark(name: "nested-walk", unit: "accesses",
                  summary: "4M random loads over 1 GiB in a VM (256Ki present guest pages): STLB misses and 2-D walks",
                  defaultSize: 4_000_000,
                  prepare: { _ in populatedGuest(pages: 262_144, guestFrames: 270_000, hostFrames: 290_000) },
                  run: { system, count in randomLoadsOver1GiB(&system, count: count) }),
    ]

    /// `walk`'s and `nested-walk`'s loads: random pages of the 1 GiB at `base`.
    static func randomLoadsOver1GiB(_ system: inout System, count: UInt64) -> (units: UInt64, checksum: UInt64) {
        var random = XorShift(state: 0x9E37_79B9_7F4A_7C15)
        var sum: UInt64 = 0
        for _ in 0..<count {
            let page = random.next() & 0x3FFFF
            sum &+= checksum(system.access(core: core0, .read, VirtualAddress(base + page << 12), store: 0))
        }
        return (count, sum)
    }

    /// `populated`, inside VM 1: a guest process on core 0 with `pages`
    /// pages written (each guest frame backed by a host frame).
    static func populatedGuest(pages: UInt64, guestFrames: Int, hostFrames: Int) -> System {
        var configuration = Configuration()
        configuration.frames = hostFrames
        var system = System(configuration: configuration)
        guard let vm = system.createVirtualMachine(id: 1, frames: guestFrames) else { return system }
        let process = system.createProcess(inVM: vm)
        system.contextSwitch(core: core0, to: process)
        system.map(core: core0, VirtualAddress(base), pages: pages, [.read, .write])
        for page in 0..<pages { _ = system.access(core: core0, .write, VirtualAddress(base + page << 12), store: 0) }
        return system
    }
}
