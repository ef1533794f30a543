/// A Markdown table as the reference pages in docs/reference/ hold them: a
/// header row, an alignment row, then one row per item, each `|` inside a
/// cell escaped. `ConfigurationKey.referenceTable` and
/// `Statistic.referenceTable` both render through it.
enum MarkdownTable {
    /// How a column's cells line up.
    enum Alignment {
        case left
        case right
    }

    /// The table with `columns` (title and alignment) and `rows`, each row
    /// one cell per column; every line ends with a newline.
    static func render(_ columns: [(title: String, alignment: Alignment)], rows: [[String]]) -> String {
        var lines = [row(columns.map(\.title)),
                     row(columns.map { $0.alignment == .right ? "---:" : "---" })]
        for cells in rows {
            lines.append(row(cells.map { $0.replacing("|", with: "\\|") }))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private static func row(_ cells: [String]) -> String {
        "| " + cells.joined(separator: " | ") + " |"
    }
}
