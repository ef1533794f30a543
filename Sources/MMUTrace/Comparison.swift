import MMUHardware
import MMUKernel

/// `mmusim compare`: the same trace under several settings, side by side.
public struct Comparison {
    /// One run's settings and results.
    public struct Row: Sendable {
        public var label: String
        public var values: [UInt64]
        /// `cycles.vm`, shown when some row ran virtual machines.
        public var vmCycles: UInt64 = 0
    }

    public private(set) var rows: [Row] = []
    /// Whether some row ran virtual machines (then `cycles.vm` is a column).
    public private(set) var virtualized = false

    /// The columns after the variant's label.
    public static var columns: [String] { columns(virtualized: false) }

    static func columns(virtualized: Bool) -> [String] {
        ["cycles"] + CycleCategory.allCases.filter { $0 != .vm || virtualized }.map { "cycles.\($0)" }
            + ["shootdowns", "ipis", "initiator/shootdown", "target/shootdown"]
    }

    /// The columns of this comparison's table.
    public var tableColumns: [String] { Self.columns(virtualized: virtualized) }

    /// A row's values under `tableColumns`.
    func cells(_ row: Row) -> [UInt64] {
        guard virtualized else { return row.values }
        let categories = CycleCategory.allCases.count - 1
        return Array(row.values.prefix(1 + categories)) + [row.vmCycles] + row.values.dropFirst(1 + categories)
    }

    public init() {}

    /// Runs `trace` and adds its row.
    public mutating func add(label: String, trace: MMTReader.Trace) {
        var runner = TraceRunner(trace: trace)
        runner.run()
        let system = runner.system
        var values = Self.columns.prefix(CycleCategory.allCases.count).map { system.statistic($0) ?? 0 }
        let shootdowns = system.statistic("shootdowns") ?? 0
        let kernels = [system.kernel] + system.guests
        let initiator = kernels.reduce(0) { $0 + $1.statistics.reduce(0) { $0 + $1.shootdownInitiatorCycles } }
        let target = kernels.reduce(0) { $0 + $1.statistics.reduce(0) { $0 + $1.shootdownTargetCycles } }
        values += [shootdowns, system.statistic("ipis") ?? 0,
                   shootdowns == 0 ? 0 : initiator / shootdowns, shootdowns == 0 ? 0 : target / shootdowns]
        rows.append(Row(label: label, values: values, vmCycles: system.statistic("cycles.vm") ?? 0))
        if system.hasVirtualMachines { virtualized = true }
    }

    /// An aligned table: the variant, then each column right-aligned.
    public func table() -> String {
        TextTable.render(["variant"] + tableColumns, rows.map { [$0.label] + self.cells($0).map(String.init) })
    }

    /// The same table as CSV (RFC 4180; labels quoted when needed).
    public func csv() -> String {
        func field(_ text: String) -> String {
            text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" })
                ? "\"" + String(text.flatMap { $0 == "\"" ? ["\"", "\""] : [$0] }) + "\"" : text
        }
        let header = (["variant"] + tableColumns).map(field).joined(separator: ",")
        return ([header] + rows.map { ([field($0.label)] + cells($0).map(String.init)).joined(separator: ",") })
            .joined(separator: "\n") + "\n"
    }
}
