import MMUHardware

/// A real microarchitecture's geometry and costs (`--cpu NAME`), each figure
/// cited in docs/cost-model.md. A preset sets every configuration key except
/// the machine's size and policies (`cores`, `frames`, `pcid`, `zero_page`,
/// `fork`, `shootdown`, `flush_ceiling`, `thp`, the paging levels, `vm.ipi`) and `cost.walk.ref`, whose absence
/// lets the page-table line cache decide what each walker reference costs.
public struct CPUPreset: Sendable {
    public var name: String
    public var summary: String
    /// Nominal core clock, for converting cycles to time (`mmusim calibrate`).
    public var gigahertz: Double
    public var settings: [(key: String, value: String)]

    /// The keys a preset leaves alone.
    public static let machineKeys: Set<String> = [
        "cores", "frames", "pcid", "zero_page", "fork", "shootdown", "flush_ceiling", "thp", "paging.levels", "cost.walk.ref",
        "ept.levels", "vm.ipi",
    ]

    /// The keys every preset must set.
    public static var presetKeys: [String] { Configuration.keys.filter { !machineKeys.contains($0) } }

    public static func named(_ name: String) -> CPUPreset? { all.first { $0.name == name } }

    /// The configuration this preset gives on top of `base`.
    public func apply(to base: Configuration) throws(ConfigurationError) -> Configuration {
        var configuration = base
        for (key, value) in settings { try configuration.set(key, value) }
        try configuration.validate()
        return configuration
    }
}
