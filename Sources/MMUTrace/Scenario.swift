/// Built-in trace generators for comparisons whose shape depends on a
/// parameter no fixed trace can follow (a trace names its cores).
public enum Scenario: String, CaseIterable, Sendable {
    /// One process with a thread on every core; each round every thread writes
    /// one page (so every core caches it), then core 0 unmaps it. A timer tick
    /// reaches every other core every `tickEvery` rounds.
    case threadsUnmap = "threads-unmap"

    public static let defaultRounds = 64
    public static let tickEvery = 4

    public var summary: String {
        switch self {
        case .threadsUnmap:
            return "one process, a thread per core; each round all threads write a page, core 0 unmaps it; ticks every \(Self.tickEvery) rounds"
        }
    }

    /// The trace text for `cores` cores and `rounds` rounds.
    public func trace(cores: Int, rounds: Int = Scenario.defaultRounds) -> String {
        var lines = ["# mmusim scenario \(rawValue): \(summary)", "set cores \(cores)", "process 1"]
        for c in 0..<cores { lines.append("switch \(c) 1") }
        let base = 0x1000_0000
        lines.append("map 0 \(hex(base)) \(rounds) rw")
        for round in 0..<rounds {
            let address = hex(base + round * 4096)
            for c in 0..<cores { lines.append("w \(c) \(address) \(round)") }
            lines.append("unmap 0 \(address) 1")
            if round % Self.tickEvery == Self.tickEvery - 1 {
                for c in 1..<max(1, cores) { lines.append("tick \(c)") }
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private func hex(_ value: Int) -> String { "0x" + String(value, radix: 16) }
}
