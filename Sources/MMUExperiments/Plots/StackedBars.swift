/// The cycles of each cell split by category (`cycles.CATEGORY` columns),
/// one stacked bar per cell.
public struct StackedBars: Hashable, Sendable {
    public var title: String
    /// A label per bar (the cell's parameters).
    public var labels: [String]
    /// The stacked parts, bottom first.
    public var categories: [String]
    /// `values[bar][category]`.
    public var values: [[Double]]

    /// The bars of a sweep's table: every `cycles.CATEGORY` column, one bar per row.
    public static func from(_ table: CSVTable) -> Result<StackedBars, ExperimentError.Reason> {
        let columns = table.header.indices.filter { table.header[$0].hasPrefix("cycles.") }
        guard !columns.isEmpty else { return .failure(.init("the table has no cycles.CATEGORY columns")) }
        let parameters = table.parameterColumns.compactMap { table.column($0) }
        let varying = parameters.filter { column in Set(table.rows.map { $0[column] }).count > 1 }
        var values: [[Double]] = []
        for row in table.rows {
            var bar: [Double] = []
            for column in columns {
                guard let value = Double(row[column]) else { return .failure(.init("\(table.header[column]): '\(row[column])' is not a number")) }
                bar.append(value)
            }
            values.append(bar)
        }
        let labels = table.rows.enumerated().map { index, row in
            // A trace's file name without its directories: the part that tells cells apart.
            varying.isEmpty ? "cell \(index)" : varying.map { row[$0].split(separator: "/").last.map(String.init) ?? row[$0] }
                .joined(separator: " ")
        }
        return .success(StackedBars(title: "cycles by category, per cell", labels: labels,
                                    categories: columns.map { String(table.header[$0].dropFirst("cycles.".count)) }, values: values))
    }

    public func svg(height: Int = 460) -> String {
        let barWidth = 18.0, gap = 8.0
        let width = max(640, Int(90 + Double(labels.count) * (barWidth + gap) + 30))
        let legend = SVG.legend(categories, x: 70, y: Double(height) + 12, width: Double(width) - 90, group: "bar")
        let plot = SVG.Area(left: 70, top: 40, right: Double(width) - 20, bottom: Double(height) - 150)
        let ticks = SVG.ticks(upTo: values.map { $0.reduce(0, +) }.max() ?? 1)
        let top = ticks.last ?? 1
        var out = SVG.open(width: width, height: height + 20 + Int(legend.height), label: title)
        out += SVG.frame(title: title, xLabel: "", yLabel: "cycles", ticks: ticks, plot: plot, width: width)
        for (bar, parts) in values.enumerated() {
            let x = plot.left + gap + Double(bar) * (barWidth + gap)
            var base = plot.bottom
            for (category, value) in parts.enumerated() where value > 0 {
                let height = value / top * plot.height
                base -= height
                out += "<rect class=\"series\" data-series=\"bar-\(category)\" x=\"\(SVG.number(x))\" y=\"\(SVG.number(base))\" width=\"\(SVG.number(barWidth))\""
                    + " height=\"\(SVG.number(height))\" fill=\"\(SVG.color(category))\"><title>\(SVG.escape(labels[bar])): "
                    + "\(SVG.escape(categories[category])) \(SVG.number(value)) cycles</title></rect>\n"
            }
            let labelX = x + barWidth / 2, labelY = plot.bottom + 8
            out += SVG.text(labelX, labelY, String(labels[bar].suffix(28)), anchor: "end",
                            extra: " font-size=\"10\" transform=\"rotate(-60 \(SVG.number(labelX)) \(SVG.number(labelY)))\"")
        }
        out += legend.svg
        return out + "</svg>\n"
    }
}
