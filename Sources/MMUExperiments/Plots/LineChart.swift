import MMUKernel

/// A statistic against a swept key, one line per series: `mmusim plot
/// RESULTS.csv --x cores --y cycles.shootdown --by shootdown`.
public struct LineChart: Hashable, Sendable {
    public var title: String
    public var xLabel: String
    public var yLabel: String
    /// The x values in axis order (numeric order when all are numbers), evenly spaced.
    public var xValues: [String]
    public var series: [Series]

    public struct Series: Hashable, Sendable {
        public var name: String
        /// One value per x value (nil: no cell for it).
        public var values: [Double?]
    }

    /// The chart of `y` against `x` from a sweep's table, one line per value
    /// of `by` (and of every other parameter that varies: no cells are
    /// averaged together).
    public static func from(_ table: CSVTable, x: String, y: String, by: String?) -> Result<LineChart, ExperimentError.Reason> {
        guard let xColumn = table.column(x) else { return .failure(.init("--x \(x): no such column (\(table.parameterColumns.joined(separator: ", ")))")) }
        guard let yColumn = table.column(y) else { return .failure(.init("--y \(y): no such column")) }
        var groupColumns: [Int] = []
        if let by {
            guard let column = table.column(by) else { return .failure(.init("--by \(by): no such column")) }
            groupColumns.append(column)
        }
        for name in table.parameterColumns where name != x && name != by {
            if let column = table.column(name), Set(table.rows.map { $0[column] }).count > 1 { groupColumns.append(column) }
        }
        var xValues: [String] = []
        for row in table.rows where !xValues.contains(row[xColumn]) { xValues.append(row[xColumn]) }
        if xValues.allSatisfy({ Double($0) != nil }) { xValues.sort { (Double($0) ?? 0) < (Double($1) ?? 0) } }
        var series: [Series] = []
        for row in table.rows {
            let name = groupColumns.map { table.header[$0] + "=" + row[$0] }.joined(separator: " ")
            let index = series.firstIndex { $0.name == name } ?? {
                series.append(Series(name: name, values: [Double?](repeating: nil, count: xValues.count)))
                return series.count - 1
            }()
            guard let value = Double(row[yColumn]), let position = xValues.firstIndex(of: row[xColumn]) else {
                return .failure(.init("--y \(y): '\(row[yColumn])' is not a number"))
            }
            series[index].values[position] = value
        }
        let unit = Statistic.named(y)?.unit ?? "value"
        let title = y + " by " + x + (by.map { ", one line per \($0)" } ?? "")
        return .success(LineChart(title: title, xLabel: x, yLabel: "\(y) (\(unit))", xValues: xValues, series: series))
    }

    /// The chart as a self-contained SVG document.
    public func svg(width: Int = 760, height: Int = 440) -> String {
        let legend = SVG.legend(series.map { $0.name.isEmpty ? yLabel : $0.name }, x: 70, y: Double(height) - 22,
                                width: Double(width) - 90, group: "line")
        let canvasHeight = height + Int(legend.height)
        let plot = SVG.Area(left: 70, top: 40, right: Double(width) - 20, bottom: Double(height) - 90)
        let maximum = series.flatMap { $0.values.compactMap { $0 } }.max() ?? 1
        let ticks = SVG.ticks(upTo: maximum)
        var out = SVG.open(width: width, height: canvasHeight, label: title)
        out += SVG.frame(title: title, xLabel: xLabel, yLabel: yLabel, ticks: ticks, plot: plot, width: width)
        let step = xValues.count > 1 ? plot.width / Double(xValues.count - 1) : 0
        func xPosition(_ index: Int) -> Double { xValues.count > 1 ? plot.left + Double(index) * step : (plot.left + plot.right) / 2 }
        for (index, value) in xValues.enumerated() {
            out += SVG.text(xPosition(index), plot.bottom + 18, value)
        }
        let top = ticks.last ?? 1
        for (index, line) in series.enumerated() {
            let points = line.values.enumerated().compactMap { position, value in
                value.map { (xPosition(position), plot.bottom - $0 / top * plot.height, $0, position) }
            }
            out += "<g class=\"series\" data-series=\"line-\(index)\">\n"
            let path = points.map { "\(SVG.number($0.0)),\(SVG.number($0.1))" }.joined(separator: " ")
            out += "<polyline points=\"\(path)\" fill=\"none\" stroke=\"\(SVG.color(index))\" stroke-width=\"2\"/>\n"
            for point in points {
                out += "<circle cx=\"\(SVG.number(point.0))\" cy=\"\(SVG.number(point.1))\" r=\"3.5\" fill=\"\(SVG.color(index))\">"
                out += "<title>\(SVG.escape(line.name)) \(SVG.escape(xLabel))=\(SVG.escape(xValues[point.3])): \(SVG.number(point.2))</title></circle>\n"
            }
            out += "</g>\n"
        }
        out += legend.svg
        return out + "</svg>\n"
    }
}
