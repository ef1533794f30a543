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
                  run: { system, count in
                      var random = XorShift(state: 0x9E37_79B9_7F4A_7C15)
                      var sum: UInt64 = 0
                      for _ in 0..<count {
                          let page = random.next() & 0x3FFFF
                          sum &+= checksum(system.access(core: core0, .read, VirtualAddress(base + page << 12), store: 0))
                      }
                      return (count, sum)
                  }),
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
    ] + replays + ShootdownStrategy.allCases.map { strategy in
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
