import MMUHardware
import MMUKernel

/// `mmusim compare`: the same trace under several settings, side by side.
public struct Comparison {
    /// One run's settings and results.
    public struct Row: Sendable {
        public var label: String
        public var values: [UInt64]
    }

    public private(set) var rows: [Row] = []

    /// The columns after the variant's label.
    public static var columns: [String] {
        ["cycles"] + CycleCategory.allCases.map { "cycles.\($0)" }
            + ["shootdowns", "ipis", "initiator/shootdown", "target/shootdown"]
    }

    public init() {}

    /// Runs `trace` and adds its row.
    public mutating func add(label: String, trace: MMTReader.Trace) {
        var runner = TraceRunner(trace: trace)
        runner.run()
        let system = runner.system
        var values = Self.columns.prefix(1 + CycleCategory.allCases.count).map { system.statistic($0) ?? 0 }
        let shootdowns = system.statistic("shootdowns") ?? 0
        let initiator = system.kernel.statistics.reduce(0) { $0 + $1.shootdownInitiatorCycles }
        let target = system.kernel.statistics.reduce(0) { $0 + $1.shootdownTargetCycles }
        values += [shootdowns, system.statistic("ipis") ?? 0,
                   shootdowns == 0 ? 0 : initiator / shootdowns, shootdowns == 0 ? 0 : target / shootdowns]
        rows.append(Row(label: label, values: values))
    }

    /// An aligned table: the variant, then each column right-aligned.
    public func table() -> String {
        let header = ["variant"] + Self.columns
        let cells = rows.map { [$0.label] + $0.values.map(String.init) }
        var widths = header.map(\.count)
        for row in cells { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        func line(_ row: [String]) -> String {
            row.enumerated().map { i, cell in
                let pad = String(repeating: " ", count: widths[i] - cell.count)
                return i == 0 ? cell + pad : pad + cell
            }.joined(separator: "  ")
        }
        return ([line(header)] + cells.map(line)).joined(separator: "\n") + "\n"
    }

    /// The same table as CSV (RFC 4180; labels quoted when needed).
    public func csv() -> String {
        func field(_ text: String) -> String {
            text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" })
                ? "\"" + String(text.flatMap { $0 == "\"" ? ["\"", "\""] : [$0] }) + "\"" : text
        }
        let header = (["variant"] + Self.columns).map(field).joined(separator: ",")
        return ([header] + rows.map { ([field($0.label)] + $0.values.map(String.init)).joined(separator: ",") })
            .joined(separator: "\n") + "\n"
    }
}
