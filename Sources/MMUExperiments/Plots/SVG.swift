#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Helpers shared by the charts: deterministic numbers, escaping, axes and colours.
public enum SVG {
    /// Ten colours that stay apart for the usual kinds of colour blindness (Tableau 10).
    public static let palette = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                 "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"]

    public static func color(_ index: Int) -> String { palette[index % palette.count] }

    /// `value` with at most one decimal, the same bytes on every host.
    public static func number(_ value: Double) -> String {
        guard value.isFinite else { return "0" }
        let tenths = Int((value * 10).rounded())
        let sign = tenths < 0 ? "-" : ""
        let magnitude = abs(tenths)
        return magnitude % 10 == 0 ? sign + String(magnitude / 10) : sign + "\(magnitude / 10).\(magnitude % 10)"
    }

    /// Text safe inside an element or an attribute.
    public static func escape(_ text: String) -> String {
        text.reduce(into: "") { out, character in out += entities[character] ?? String(character) }
    }

    static let entities: [Character: String] = ["&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;"]

    /// A short label for an axis tick: 950, 1.2k, 3.4M, 5G.
    public static func compact(_ value: Double) -> String {
        let units: [(Double, String)] = [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")]
        for (size, suffix) in units where abs(value) >= size {
            return number(value / size) + suffix
        }
        return number(value)
    }

    /// Round tick values from 0 to at least `maximum`: about `count` steps of 1, 2 or 5 × 10^n.
    public static func ticks(upTo maximum: Double, count: Int = 5) -> [Double] {
        guard maximum > 0, maximum.isFinite else { return [0, 1] }
        let rough = maximum / Double(count)
        let power = pow(10, floor(log10(rough)))
        let step = [1.0, 2, 5, 10].map { $0 * power }.first { $0 >= rough } ?? 10 * power
        var values: [Double] = [0]
        while values[values.count - 1] < maximum { values.append(Double(values.count) * step) }
        return values
    }

    /// The document's opening tag, with a white background and the font the text uses.
    static func open(width: Int, height: Int, label: String) -> String {
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\""
            + " font-family=\"sans-serif\" font-size=\"12\" role=\"img\" aria-label=\"\(escape(label))\">\n"
            + "<rect width=\"\(width)\" height=\"\(height)\" fill=\"#ffffff\"/>\n"
    }

    static func text(_ x: Double, _ y: Double, _ content: String, anchor: String = "middle", extra: String = "") -> String {
        "<text x=\"\(number(x))\" y=\"\(number(y))\" text-anchor=\"\(anchor)\"\(extra)>\(escape(content))</text>\n"
    }

    /// A chart's frame: title, y axis with ticks and grid lines, axis labels.
    /// `plot` is the plotting area; returns the y of each tick.
    static func frame(title: String, xLabel: String, yLabel: String, ticks: [Double], plot: Area, width: Int) -> String {
        var out = text(Double(width) / 2, 22, title, extra: " font-size=\"15\" font-weight=\"bold\"")
        let top = ticks.last ?? 1
        for tick in ticks {
            let y = plot.bottom - tick / top * plot.height
            out += "<line x1=\"\(number(plot.left))\" y1=\"\(number(y))\" x2=\"\(number(plot.right))\" y2=\"\(number(y))\" stroke=\"#e0e0e0\"/>\n"
            out += text(plot.left - 6, y + 4, compact(tick), anchor: "end")
        }
        out += "<line x1=\"\(number(plot.left))\" y1=\"\(number(plot.bottom))\" x2=\"\(number(plot.right))\" y2=\"\(number(plot.bottom))\" stroke=\"#333\"/>\n"
        out += "<line x1=\"\(number(plot.left))\" y1=\"\(number(plot.top))\" x2=\"\(number(plot.left))\" y2=\"\(number(plot.bottom))\" stroke=\"#333\"/>\n"
        out += text((plot.left + plot.right) / 2, plot.bottom + 38, xLabel, extra: " font-size=\"13\"")
        let middle = (plot.top + plot.bottom) / 2
        out += text(16, middle, yLabel, extra: " font-size=\"13\" transform=\"rotate(-90 16 \(number(middle)))\"")
        return out
    }

    /// A legend: a coloured square and a name per entry, in rows from (x, y).
    static func legend(_ entries: [String], x: Double, y: Double, width: Double, group: String) -> (svg: String, height: Double) {
        var out = "", column = x, row = y
        for (index, entry) in entries.enumerated() {
            let itemWidth = Double(min(entry.count, 40)) * 7 + 30
            if column + itemWidth > x + width && column > x { column = x; row += 18 }
            out += "<g class=\"legend\" data-series=\"\(group)-\(index)\"><rect x=\"\(number(column))\" y=\"\(number(row - 10))\" width=\"12\" height=\"12\" fill=\"\(color(index))\"/>"
            out += "<text x=\"\(number(column + 17))\" y=\"\(number(row))\">\(escape(entry))</text></g>\n"
            column += itemWidth
        }
        return (out, row - y + 18)
    }

    /// A rectangle on the canvas.
    struct Area {
        var left: Double, top: Double, right: Double, bottom: Double
        var width: Double { right - left }
        var height: Double { bottom - top }
    }
}
