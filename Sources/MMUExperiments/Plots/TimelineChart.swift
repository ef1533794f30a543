/// One run's events laid out in time, a track per core (`mmusim run
/// --timeline FILE.json` output): spans coloured by category, nested spans
/// one row down, page faults and TLB misses as ticks.
public struct TimelineChart: Hashable, Sendable {
    public struct Span: Hashable, Sendable {
        public var track: Int
        public var name: String
        public var category: String
        public var start: Double
        public var duration: Double
    }

    public var title: String
    public var tracks: [Int]
    public var spans: [Span]
    /// Instant events: (track, time, name).
    public var instants: [Span]
    /// Spans dropped beyond `limit`.
    public var dropped: Int

    /// At most this many spans are drawn (the earliest ones).
    public static let limit = 4000

    /// Reads a Chrome trace-event file (`{"traceEvents": [...]}` or a bare array).
    public static func from(json text: String, file: String) -> Result<TimelineChart, ExperimentError> {
        let document: JSONValue
        switch JSONValue.parse(text) {
        case .success(let value): document = value
        case .failure(let error): return .failure(ExperimentError(place: file, message: "not JSON: \(error)"))
        }
        guard let events = document["traceEvents"]?.array ?? document.array else {
            return .failure(ExperimentError(place: file, message: "no traceEvents array (is it a --timeline file?)"))
        }
        var spans: [Span] = [], instants: [Span] = [], tracks: Set<Int> = []
        for event in events {
            guard let phase = event["ph"]?.string, let track = event["tid"]?.int, let start = event["ts"]?.double else { continue }
            let name = event["name"]?.string ?? "", category = event["cat"]?.string ?? ""
            switch phase {
            case "X":
                tracks.insert(track)
                spans.append(Span(track: track, name: name, category: category, start: start, duration: event["dur"]?.double ?? 0))
            case "i", "I":
                tracks.insert(track)
                instants.append(Span(track: track, name: name, category: category, start: start, duration: 0))
            default:
                continue
            }
        }
        spans.sort { ($0.start, -$0.duration, $0.track, $0.name) < ($1.start, -$1.duration, $1.track, $1.name) }
        let dropped = max(0, spans.count - limit)
        let shown = Array(spans.prefix(limit))
        let end = shown.last.map { $0.start } ?? .infinity
        return .success(TimelineChart(title: "timeline: \(file)", tracks: tracks.sorted(), spans: shown,
                                      instants: instants.filter { $0.start <= end }.prefix(limit).map { $0 }, dropped: dropped))
    }

    public func svg(width: Int = 960) -> String {
        let categories = Array(Set(spans.map(\.category))).sorted()
        // Depth of each span within its track: how many spans still open at its start.
        var depth: [Int] = [], open: [Int: [Double]] = [:], rows: [Int: Int] = [:]
        for span in spans {
            var stack = open[span.track] ?? []
            while let last = stack.last, last <= span.start { stack.removeLast() }
            depth.append(stack.count)
            rows[span.track] = max(rows[span.track] ?? 1, stack.count + 1)
            stack.append(span.start + span.duration)
            open[span.track] = stack
        }
        let rowHeight = 14.0, trackGap = 16.0
        var trackTop: [Int: Double] = [:]
        var y = 50.0
        for track in tracks {
            trackTop[track] = y
            y += Double(min(rows[track] ?? 1, 12)) * rowHeight + trackGap
        }
        let plot = SVG.Area(left: 80, top: 50, right: Double(width) - 20, bottom: y)
        let startTime = min(spans.map(\.start).min() ?? 0, instants.map(\.start).min() ?? .infinity)
        let endTime = max(spans.map { $0.start + $0.duration }.max() ?? 1, startTime + 1)
        let scale = plot.width / (endTime - startTime)
        let legend = SVG.legend(categories, x: 80, y: plot.bottom + 52, width: Double(width) - 100, group: "cat")
        var out = SVG.open(width: width, height: Int(plot.bottom + 60 + legend.height), label: title)
        out += SVG.text(Double(width) / 2, 22, title + (dropped > 0 ? " (first \(Self.limit) spans)" : ""),
                        extra: " font-size=\"15\" font-weight=\"bold\"")
        for track in tracks {
            let top = trackTop[track] ?? 0
            out += SVG.text(plot.left - 8, top + 11, "core\(track)", anchor: "end")
            out += "<line x1=\"\(SVG.number(plot.left))\" y1=\"\(SVG.number(top - 3))\" x2=\"\(SVG.number(plot.right))\" y2=\"\(SVG.number(top - 3))\" stroke=\"#eeeeee\"/>\n"
        }
        for (span, level) in zip(spans, depth) where level < 12 {
            let x = plot.left + (span.start - startTime) * scale
            let top = (trackTop[span.track] ?? 0) + Double(level) * rowHeight
            let color = SVG.color(categories.firstIndex(of: span.category) ?? 0)
            out += "<rect x=\"\(SVG.number(x))\" y=\"\(SVG.number(top))\" width=\"\(SVG.number(max(0.5, span.duration * scale)))\""
                + " height=\"\(SVG.number(rowHeight - 2))\" fill=\"\(color)\"><title>\(SVG.escape(span.name)) (\(SVG.escape(span.category))): "
                + "\(SVG.number(span.start)) + \(SVG.number(span.duration)) cycles</title></rect>\n"
        }
        for instant in instants {
            let x = plot.left + (instant.start - startTime) * scale, top = (trackTop[instant.track] ?? 0) - 3
            out += "<line x1=\"\(SVG.number(x))\" y1=\"\(SVG.number(top))\" x2=\"\(SVG.number(x))\" y2=\"\(SVG.number(top + 6))\" stroke=\"#222\">"
                + "<title>\(SVG.escape(instant.name)) at \(SVG.number(instant.start))</title></line>\n"
        }
        out += "<line x1=\"\(SVG.number(plot.left))\" y1=\"\(SVG.number(plot.bottom))\" x2=\"\(SVG.number(plot.right))\" y2=\"\(SVG.number(plot.bottom))\" stroke=\"#333\"/>\n"
        for tick in SVG.ticks(upTo: endTime - startTime) where tick <= endTime - startTime {
            let x = plot.left + tick * scale
            out += "<line x1=\"\(SVG.number(x))\" y1=\"\(SVG.number(plot.bottom))\" x2=\"\(SVG.number(x))\" y2=\"\(SVG.number(plot.bottom + 5))\" stroke=\"#333\"/>\n"
            out += SVG.text(x, plot.bottom + 18, SVG.compact(startTime + tick))
        }
        out += SVG.text((plot.left + plot.right) / 2, plot.bottom + 36, "core clock (cycles)", extra: " font-size=\"13\"")
        out += legend.svg
        return out + "</svg>\n"
    }
}
