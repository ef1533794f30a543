import MMUKernel

/// `mmusim statistics`: lists the statistics a run reports.
enum StatisticsCommand: Command {
    static let declaration = CommandDeclaration(
        name: "statistics", abstract: "Lists the statistics a run reports: name, unit, per core or total, meaning.",
        discussion: "A per-core statistic NAME is also reported as coreN.NAME for each core; NAME alone is the total\n"
            + "(for cycles, the largest clock). A trace's expect KEY VALUE takes any of these names.\n"
            + "The last ones are reported only by runs with virtual machines, which also report each VM's\n"
            + "kernel statistics and frames as vmN.NAME (N the VMID).\n"
            + "docs/reference/statistics.md has the same list.")

    static func run(_ arguments: ParsedArguments, console: Console) -> Int32 {
        if let refused = refuseArguments(arguments, console) { return refused }
        console.out(HelpText.table(header: ["statistic", "unit", "per core or total", "meaning"],
                                   rows: (Statistic.all + Statistic.virtualization).map { [$0.name, $0.unit, $0.scope.rawValue, $0.meaning] }))
        return 0
    }
}

extension HelpText {
    /// Rows under a header, each column padded to its widest cell and two
    /// spaces apart; the last column is not padded, so a long text there
    /// (a meaning) stays on its row. `mmusim statistics` and
    /// `mmusim config --list` print their lists this way.
    static func table(header: [String], rows: [[String]]) -> String {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0.indices.contains(column) ? $0[column].count : 0 }.max() ?? 0 }
        var text = ""
        for row in all {
            var line = ""
            for (column, cell) in row.enumerated() {
                let isLast = column == row.count - 1
                line += cell + (isLast ? "" : String(repeating: " ", count: max(widths[column] - cell.count, 0) + 2))
            }
            text += line + "\n"
        }
        return text
    }
}
