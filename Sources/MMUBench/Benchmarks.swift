import MMUHardware
import MMUKernel

/// One measured workload: `prepare` builds the state (not timed), `run` does
/// the timed work and returns how many units it did and a checksum the
/// optimizer cannot discard. Both take the benchmark's size (accesses, pages or
/// rounds: `defaultSize` unless `--size` says otherwise), so a profile under
/// callgrind can run a small one.
public struct Benchmark: Sendable {
    public var name: String
    public var unit: String
    public var summary: String
    public var defaultSize: UInt64
    public var prepare: @Sendable (_ size: UInt64) -> System
    public var run: @Sendable (inout System, _ size: UInt64) -> (units: UInt64, checksum: UInt64)
}

/// A 64-bit xorshift generator for access streams (seeded: runs repeat).
struct XorShift {
    var state: UInt64
    mutating func next() -> UInt64 {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return state
    }
}

extension Benchmark {
    static let core0 = CoreID(0)
    static let base: UInt64 = 0x1000_0000

    /// A system with one process running on core 0 and `pages` pages mapped
    /// rw and touched (each gets its own frame; stores of 0 keep frames unbacked).
    static func populated(pages: UInt64, frames: Int, cores: Int = 1) -> System {
        var configuration = Configuration()
        configuration.frames = frames
        configuration.cores = cores
        var system = System(configuration: configuration)
        let process = system.createProcess()
        for c in 0..<cores { system.contextSwitch(core: CoreID(c), to: process) }
        system.map(core: core0, VirtualAddress(base), pages: pages, [.read, .write])
        for page in 0..<pages { _ = system.access(core: core0, .write, VirtualAddress(base + page << 12), store: 0) }
        return system
    }

    /// A system with `thp always` (or never) and `hugePages` 2 MiB of one rw
    /// region, 2 MiB-aligned, mapped; with `touch`, one write per 4 KiB page
    /// (a huge fault for the first page of each 2 MiB under THP).
    static func hugeRegion(hugePages: UInt64, thp: TransparentHugePages, touch: Bool) -> System {
        var configuration = Configuration()
        configuration.frames = Int(hugePages) * 512 + 8_192
        configuration.thp = thp
        var system = System(configuration: configuration)
        let process = system.createProcess()
        system.contextSwitch(core: core0, to: process)
        system.map(core: core0, VirtualAddress(hugeBase), pages: hugePages * 512, [.read, .write])
        if touch {
            for page in 0..<(hugePages * 512) { _ = system.access(core: core0, .write, VirtualAddress(hugeBase + page << 12), store: 0) }
        }
        return system
    }
    static let hugeBase: UInt64 = 0x4000_0000

    /// Random loads over a region of `hugePages` 2 MiB pages.
    static func randomLoads(_ system: inout System, hugePages: UInt64, count: UInt64) -> (units: UInt64, checksum: UInt64) {
        var random = XorShift(state: 0x2545_F491_4F6C_DD1D)
        var sum: UInt64 = 0
        for _ in 0..<count {
            let page = random.next() % (hugePages * 512)
            sum &+= checksum(system.access(core: core0, .read, VirtualAddress(hugeBase + page << 12), store: 0))
        }
        return (count, sum)
    }

    static func checksum(_ result: AccessResult) -> UInt64 {
        if case .completed(let value) = result { return value &+ 1 }
        return 0
    }

    /// Every benchmark, in the order the table lists them.
    public static let all: [Benchmark] = [
        Benchmark(name: "tlb-hit", unit: "accesses", summary: "20M loads over 16 pages: every one an L1 DTLB hit",
                  defaultSize: 20_000_000,
                  prepare: { _ in populated(pages: 16, frames: 4096) },
                  run: { system, count in
                      var sum: UInt64 = 0
                      for i in 0..<count {
                          sum &+= checksum(system.access(core: core0, .read, VirtualAddress(base + (i & 15) << 12 + (i & 0x1F8)), store: 0))
                      }
                      return (count, sum)
                  }),
        Benchmark(name: "walk", unit: "accesses", summary: "4M random loads over 1 GiB (256Ki present pages): STLB misses and walks",
                  defaultSize: 4_000_000,
                  prepare: { _ in populated(pages: 262_144, frames: 270_000) },
                  run: { system, count in randomLoadsOver1GiB(&system, count: count) }),
        Benchmark(name: "cow-storm", unit: "COW faults", summary: "fork 256Ki pages, the child writes every page",
                  defaultSize: 262_144,
                  prepare: { pages in
                      var system = populated(pages: pages, frames: Int(pages) * 2 + 16_000)
                      if let child = system.fork(core: core0) { system.contextSwitch(core: core0, to: child) }
                      return system
                  },
                  run: { system, pages in
                      let before = system.statistic("faults.cow_copy") ?? 0
                      var sum: UInt64 = 0
                      for page in 0..<pages {
                          sum &+= checksum(system.access(core: core0, .write, VirtualAddress(base + page << 12), store: 0))
                      }
                      return ((system.statistic("faults.cow_copy") ?? 0) - before, sum)
                  }),
        Benchmark(name: "fork-1g", unit: "forks", summary: "fork of a fully populated 1 GiB address space",
                  defaultSize: 262_144,
                  prepare: { pages in populated(pages: pages, frames: Int(pages) + 8_000) },
                  run: { system, _ in
                      let child = system.fork(core: core0)
                      return (1, UInt64(child?.rawValue ?? 0))
                  }),
        Benchmark(name: "unmap-1g", unit: "unmaps", summary: "unmap of a fully populated 1 GiB region (frames freed, tables freed, one flush)",
                  defaultSize: 262_144,
                  prepare: { pages in populated(pages: pages, frames: Int(pages) + 8_000) },
                  run: { system, pages in
                      system.unmap(core: core0, VirtualAddress(base), pages: pages)
                      return (1, system.statistic("frames.free") ?? 0)
                  }),
        Benchmark(name: "exit-1g", unit: "exits", summary: "exit of a process with a fully populated 1 GiB address space",
                  defaultSize: 262_144,
                  prepare: { pages in populated(pages: pages, frames: Int(pages) + 8_000) },
                  run: { system, _ in
                      system.exit(core: core0)
                      return (1, system.statistic("frames.free") ?? 0)
                  }),
        Benchmark(name: "thp-fault", unit: "THP faults", summary: "first writes to 1024 2 MiB pages under thp always: a huge fault each (512 frames zeroed)",
                  defaultSize: 1024,
                  prepare: { hugePages in hugeRegion(hugePages: hugePages, thp: .always, touch: false) },
                  run: { system, hugePages in
                      var sum: UInt64 = 0
                      for huge in 0..<hugePages {
                          sum &+= checksum(system.access(core: core0, .write, VirtualAddress(hugeBase + huge << 21), store: 0))
                      }
                      return (system.statistic("faults.thp") ?? 0, sum)
                  }),
        // 256 MiB: past the STLB's 4 KiB reach (1536 x 4 KiB = 6 MiB), within its 2 MiB reach (3 GiB).
        Benchmark(name: "reach-2m", unit: "accesses", summary: "4M random loads over 256 MiB of 2 MiB pages: L2 TLB 2 MiB hits, no walks",
                  defaultSize: 4_000_000,
                  prepare: { _ in hugeRegion(hugePages: 128, thp: .always, touch: true) },
                  run: { system, count in randomLoads(&system, hugePages: 128, count: count) }),
        Benchmark(name: "reach-4k", unit: "accesses", summary: "the same loads over the same 256 MiB of 4 KiB pages: walks",
                  defaultSize: 4_000_000,
                  prepare: { _ in hugeRegion(hugePages: 128, thp: .never, touch: true) },
                  run: { system, count in randomLoads(&system, hugePages: 128, count: count) }),
    ] + nestedWalks + replays + ShootdownStrategy.allCases.map { strategy in
        Benchmark(name: "shootdown-64-\(strategy.rawValue)", unit: "unmaps",
                  summary: "64 threads on 64 cores; 2048 one-page unmaps, every core caching the page (\(strategy.rawValue))",
                  defaultSize: 2048,
                  prepare: { rounds in
                      var configuration = Configuration()
                      configuration.cores = 64
                      configuration.shootdown = strategy
                      var system = System(configuration: configuration)
                      let process = system.createProcess()
                      for c in 0..<64 { system.contextSwitch(core: CoreID(c), to: process) }
                      system.map(core: core0, VirtualAddress(base), pages: rounds, [.read, .write])
                      return system
                  },
                  run: { system, rounds in
                      var sum: UInt64 = 0
                      for page in 0..<rounds {
                          let address = VirtualAddress(base + page << 12)
                          for c in 0..<64 { sum &+= checksum(system.access(core: CoreID(c), .write, address, store: page)) }
                          system.unmap(core: core0, address, pages: 1)
                          if page % 4 == 3 { for c in 1..<64 { system.tick(core: CoreID(c)) } }
                      }
                      return (rounds, sum)
                  })
    }
}
