import MMUExperiments
import MMUTrace

/// `mmusim plot`: charts of a sweep's table and of a run's timeline, as a
/// self-contained SVG or an HTML report (docs/experiments.md).
enum PlotCommand: Command {
    static let x = Option<String>("--x", value: "KEY", help: "the swept key along the x axis (a line chart)", completion: .text)
    static let y = Option<String>("--y", value: "STATISTIC", help: "the statistic up the y axis (mmusim statistics lists them)", completion: .text)
    static let by = Option<String>("--by", value: "KEY", help: "one line per value of KEY (every other varying parameter splits lines too)",
                                   completion: .text)
    static let bars = Option<Bool>(flag: "--bars", help: "stacked bars of the cycle categories (cycles.CATEGORY), one per cell")
    static let timeline = Option<String>("--timeline", value: "FILE.json", help: "a run's timeline (mmusim run --timeline): a track per core")
    static let output = Option<String>("-o", value: "FILE.svg|FILE.html", help: "the SVG (one chart) or HTML report (every chart asked for)")

    static let declaration = CommandDeclaration(
        name: "plot", abstract: "Draws a sweep's results and a run's timeline as SVG or an HTML report.",
        discussion: """
        A line chart of --y against --x (one line per --by value), stacked bars of the cycle
        categories per cell (--bars; in an HTML report whenever a table is given) and a timeline of
        one run's events (--timeline). An SVG holds one chart; an HTML page holds them all, inline,
        with no network access. The same input gives the same bytes.
        """,
        arguments: [ArgumentDeclaration("RESULTS.csv", help: "a table from mmusim sweep", optional: true)],
        options: [x.declaration, y.declaration, by.declaration, bars.declaration, timeline.declaration, output.declaration])

    static func run(_ arguments: ParsedArguments, console: Console) -> Int32 {
        guard let path = arguments.value(output) else { return refuse("-o FILE.svg or -o FILE.html is required", console) }
        let html = path.hasSuffix(".html") || path.hasSuffix(".htm")
        guard html || path.hasSuffix(".svg") else { return refuse("-o \(path): the name must end in .svg or .html", console) }
        guard arguments.positionals.count <= 1 else { return refuse("name at most one RESULTS.csv", console) }
        guard arguments.contains(x) == arguments.contains(y) else { return refuse("--x and --y go together", console) }
        if arguments.contains(by), !arguments.contains(x) { return refuse("--by goes with --x and --y (it splits a line chart)", console) }
        var table: CSVTable? = nil
        if let csvPath = arguments.positionals.first {
            guard let text = ResultDirectory.read(csvPath) else { return fail("\(csvPath): cannot read", console) }
            do throws(ExperimentError) { table = try CSVTable.parse(text, file: csvPath) } catch { return fail(error.description, console) }
        }
        var sections: [(heading: String, note: String, svg: String)] = []
        if let xKey = arguments.value(x), let yName = arguments.value(y) {
            guard let table else { return refuse("--x and --y need RESULTS.csv", console) }
            switch LineChart.from(table, x: xKey, y: yName, by: arguments.value(by)) {
            case .success(let chart): sections.append(("\(yName) against \(xKey)", "", chart.svg()))
            case .failure(let reason): return refuse(reason.message, console)
            }
        }
        // An HTML report gets the bars whenever the table has the categories.
        let hasCategories = table?.header.contains { $0.hasPrefix("cycles.") } ?? false
        if let table, arguments.contains(bars) || (html && hasCategories) {
            switch StackedBars.from(table) {
            case .success(let chart): sections.append(("cycles by category", "one bar per cell", chart.svg()))
            case .failure(let reason): return refuse(reason.message, console)
            }
        } else if arguments.contains(bars) {
            return refuse("--bars needs RESULTS.csv", console)
        }
        if let timelinePath = arguments.value(timeline) {
            guard let text = ResultDirectory.read(timelinePath) else { return fail("\(timelinePath): cannot read", console) }
            switch TimelineChart.from(json: text, file: timelinePath) {
            case .success(let chart):
                let note = chart.dropped > 0 ? "the first \(TimelineChart.limit) spans of \(TimelineChart.limit + chart.dropped)" : ""
                sections.append(("timeline", note, chart.svg()))
            case .failure(let error): return fail(error.description, console)
            }
        }
        guard !sections.isEmpty else { return refuse("nothing to draw: give --x and --y, --bars or --timeline", console) }
        let text: String
        if html {
            text = HTMLReport.page(title: "mmusim: " + (arguments.positionals.first ?? arguments.value(timeline) ?? "report"), sections: sections)
        } else {
            guard sections.count == 1 else { return refuse("an SVG holds one chart; ask for one, or write an .html report", console) }
            text = sections[0].svg
        }
        let inputs = arguments.positionals + (arguments.value(timeline).map { [$0] } ?? [])
        if let problem = AtomicFile.write(text, to: path, inputs: inputs) { return fail(problem, console) }
        return 0
    }

    static func fail(_ message: String, _ console: Console) -> Int32 {
        console.err("mmusim plot: \(message)\n")
        return 2
    }
}
