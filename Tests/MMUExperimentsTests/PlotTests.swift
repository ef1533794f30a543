import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
@testable import MMUExperiments

private let csv = """
trace,shootdown,cores,cycles,cycles.access,cycles.shootdown
"t,1.mmt",ipi,2,100,10,50
"t,1.mmt",ipi,4,200,20,150
"t,1.mmt",broadcast,2,90,10,20
"t,1.mmt",broadcast,4,95,20,20

"""

private let timelineJSON = """
{"traceEvents": [
{"name": "thread_name", "ph": "M", "pid": 1, "tid": 0, "args": {"name": "core0"}},
{"name": "access", "cat": "access", "ph": "X", "ts": 0, "dur": 100, "pid": 1, "tid": 0, "args": {}},
{"name": "page fault", "cat": "fault", "ph": "X", "ts": 10, "dur": 50, "pid": 1, "tid": 0, "args": {}},
{"name": "#PF", "cat": "event", "ph": "i", "s": "t", "ts": 10, "pid": 1, "tid": 0, "args": {}},
{"name": "shootdown", "cat": "shootdown", "ph": "X", "ts": 20, "dur": 30, "pid": 1, "tid": 1, "args": {}}
]}
"""

/// Whether `text` is well-formed XML.
private func wellFormed(_ text: String) -> Bool {
    XMLParser(data: Data(text.utf8)).parse()
}

@Suite("Plots")
struct PlotTests {
    @Test("a CSV table reads quoted fields with commas")
    func csvTable() throws {
        let table = try CSVTable.parse(csv, file: "r.csv")
        #expect(table.header.count == 6)
        #expect(table.rows.count == 4)
        #expect(table.rows[0][0] == "t,1.mmt")
        #expect(table.parameterColumns == ["trace", "shootdown", "cores"])
        #expect(throws: ExperimentError.self) { try CSVTable.parse("a,b\n1\n", file: "r.csv") }
    }

    @Test("a line chart has one line per series and numeric x values in numeric order")
    func lineChart() throws {
        let table = try CSVTable.parse(csv, file: "r.csv")
        let chart = try LineChart.from(table, x: "cores", y: "cycles.shootdown", by: "shootdown").get()
        #expect(chart.xValues == ["2", "4"])
        #expect(chart.series.map(\.name) == ["shootdown=ipi", "shootdown=broadcast"])
        #expect(chart.series[0].values == [50, 150])
        #expect(chart.yLabel == "cycles.shootdown (cycles)")
        let svg = chart.svg()
        #expect(svg.components(separatedBy: "<polyline").count - 1 == 2)
        #expect(svg.contains(">cores</text>"))
    }

    @Test("charts are well-formed SVG and the same input gives the same bytes")
    func determinismAndWellFormedness() throws {
        let table = try CSVTable.parse(csv, file: "r.csv")
        let line = try LineChart.from(table, x: "cores", y: "cycles", by: nil).get().svg()
        let bars = try StackedBars.from(table).get().svg()
        let timeline = try TimelineChart.from(json: timelineJSON, file: "t.json").get().svg()
        for svg in [line, bars, timeline] { #expect(wellFormed(svg)) }
        #expect(line == (try LineChart.from(CSVTable.parse(csv, file: "r.csv"), x: "cores", y: "cycles", by: nil).get().svg()))
        #expect(bars == (try StackedBars.from(CSVTable.parse(csv, file: "r.csv")).get().svg()))
        #expect(timeline == (try TimelineChart.from(json: timelineJSON, file: "t.json").get().svg()))
        let page = HTMLReport.page(title: "r & d", sections: [("line", "", line), ("bars", "note", bars)])
        #expect(page.hasPrefix("<!DOCTYPE html>"))
        #expect(page.components(separatedBy: "http://").count - 1 == 2) // the two SVG namespaces, nothing fetched
        #expect(page.contains("<title>r &amp; d</title>"))
    }

    @Test("stacked bars stack every cycles category of each cell")
    func stackedBars() throws {
        let bars = try StackedBars.from(CSVTable.parse(csv, file: "r.csv")).get()
        #expect(bars.categories == ["access", "shootdown"])
        #expect(bars.values[1] == [20, 150])
        #expect(bars.labels[0] == "ipi 2")
    }

    @Test("a timeline puts each core on its own track and nests spans")
    func timeline() throws {
        let chart = try TimelineChart.from(json: timelineJSON, file: "t.json").get()
        #expect(chart.tracks == [0, 1])
        #expect(chart.spans.map(\.name) == ["access", "page fault", "shootdown"])
        #expect(chart.instants.count == 1)
        #expect(throws: ExperimentError.self) { try TimelineChart.from(json: "{\"x\": 1}", file: "t.json").get() }
    }

    @Test("numbers print with at most one decimal and axis ticks are round")
    func numbers() {
        #expect(SVG.number(2.25) == "2.3")
        #expect(SVG.number(-0.5) == "-0.5")
        #expect(SVG.number(3) == "3")
        #expect(SVG.ticks(upTo: 1_440_000) == [0, 500_000, 1_000_000, 1_500_000])
        #expect(SVG.compact(1_500_000) == "1.5M")
    }

    @Test("the JSON reader keeps 64-bit numbers exact and member order")
    func json() throws {
        let value = try JSONValue.parse("{\"b\": 18446744073709551615, \"a\": [true, null, \"x\\\"y\\u0041\"]}").get()
        #expect(value["b"]?.uint64 == UInt64.max)
        #expect(value["a"]?.array?[2].string == "x\"yA")
        guard case .object(let members) = value else { Issue.record("not an object"); return }
        #expect(members.map(\.0) == ["b", "a"])
        #expect(throws: JSONSyntaxError.self) { try JSONValue.parse("[1, 2").get() }
    }
}
