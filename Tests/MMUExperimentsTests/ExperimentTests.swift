import Testing
@testable import MMUExperiments

@Suite("Experiments and their cells")
struct ExperimentTests {
    @Test("a geometric range doubles from its start up to its end")
    func geometricRange() throws {
        #expect(try ValueRange.expand("1..64:x2").get() == ["1", "2", "4", "8", "16", "32", "64"])
        #expect(try ValueRange.expand("3..30:x3").get() == ["3", "9", "27"])
    }

    @Test("an arithmetic range steps from its start and stops at or before its end")
    func arithmeticRange() throws {
        #expect(try ValueRange.expand("0..10:+5").get() == ["0", "5", "10"])
        #expect(try ValueRange.expand("1..4").get() == ["1", "2", "3", "4"])
        #expect(try ValueRange.expand("0..9:+5").get() == ["0", "5"])
    }

    @Test("malformed ranges are refused with the range in the message",
          arguments: ["1..64:x1", "8..2", "a..4", "1..4:*2", "0..8:x2", "1..4:+0", "1...4"])
    func badRanges(_ text: String) {
        guard case .failure(let reason) = ValueRange.expand(text) else {
            Issue.record("\(text) was accepted")
            return
        }
        #expect(reason.message.contains(text))
    }

    @Test("a sweep list mixes values and ranges and checks every value against its key")
    func sweepAxis() throws {
        #expect(try SweepAxis.parse("cores=1,4..16:x2,64").get().values == ["1", "4", "8", "16", "64"])
        #expect(throws: ExperimentError.Reason.self) { try SweepAxis.parse("cores=0..2").get() }
        #expect(throws: ExperimentError.Reason.self) { try SweepAxis.parse("nonsense=1,2").get() }
        #expect(throws: ExperimentError.Reason.self) { try SweepAxis.parse("shootdown=ipi,,broadcast").get() }
    }

    @Test("cells run through traces, then presets, then each axis with the first outermost")
    func crossProductOrder() {
        let experiment = Experiment(traces: ["a", "b"], presets: ["skylake", "zen4"],
                                    axes: [SweepAxis(key: "shootdown", values: ["ipi", "broadcast"]),
                                           SweepAxis(key: "cores", values: ["2", "4", "8"])])
        let cells = experiment.cells
        #expect(cells.count == 24 && experiment.cellCount == 24)
        #expect(cells.map(\.index) == Array(0..<24))
        let rows = cells.map { $0.parameters(withPreset: true).joined(separator: " ") }
        #expect(Array(rows.prefix(4)) == ["a skylake ipi 2", "a skylake ipi 4", "a skylake ipi 8", "a skylake broadcast 2"])
        #expect(rows[6] == "a zen4 ipi 2")
        #expect(rows[12] == "b skylake ipi 2")
        #expect(rows.last == "b zen4 broadcast 8")
        #expect(experiment.parameterColumns == ["trace", "cpu", "shootdown", "cores"])
    }

    @Test("without presets there is no cpu column and one cell per trace and combination")
    func noPresets() {
        let experiment = Experiment(traces: ["t"], axes: [SweepAxis(key: "cores", values: ["2", "4"])])
        #expect(experiment.parameterColumns == ["trace", "cores"])
        #expect(experiment.cells.map { $0.parameters(withPreset: false) } == [["t", "2"], ["t", "4"]])
    }

    @Test("a cell's settings apply before its swept values, and both enter its fingerprint")
    func overridesAndFingerprint() {
        let experiment = Experiment(traces: ["t"], axes: [SweepAxis(key: "cores", values: ["2", "4"])],
                                    settings: [Setting(key: "frames", value: "4096")])
        let cells = experiment.cells
        #expect(cells[0].overrides.map { "\($0.key)=\($0.value)" } == ["frames=4096", "cores=2"])
        #expect(cells[0].fingerprint != cells[1].fingerprint)
        #expect(cells[0].fingerprint.contains("set frames=4096"))
    }
}

@Suite("Experiment files")
struct ExperimentFileTests {
    @Test("an experiment file reads traces, presets, axes, settings and the format, and renders back the same")
    func roundTrip() throws {
        let text = """
        # shootdowns as cores grow
        format mmt
        trace a.mmt
        trace scenario:threads-unmap   # generated per cell
        cpu skylake
        cpu zen4
        sweep shootdown=ipi,broadcast
        sweep cores=2..8:x2
        set frames=4096
        """
        let experiment = try ExperimentFile.parse(text, file: "e.sweep")
        #expect(experiment.traces == ["a.mmt", "scenario:threads-unmap"])
        #expect(experiment.presets == ["skylake", "zen4"])
        #expect(experiment.axes.map(\.key) == ["shootdown", "cores"])
        #expect(experiment.axes[1].values == ["2", "4", "8"])
        #expect(experiment.settings == [Setting(key: "frames", value: "4096")])
        #expect(experiment.format == .mmt)
        #expect(try ExperimentFile.parse(ExperimentFile.render(experiment), file: "again") == experiment)
    }

    @Test("a bad line is reported with its file, line and column",
          arguments: [("trace a\nbogus x\n", "e.sweep:2:1: unknown directive 'bogus'"),
                      ("trace a\n  sweep cores=0\n", "e.sweep:2:9: cores 0 is out of range"),
                      ("cpu skylake,pentium\n", "e.sweep:1:5: unknown preset 'pentium'"),
                      ("sweep cores=2\nsweep cores=4\n", "e.sweep:2:7: 'cores' is already swept"),
                      ("format\n", "e.sweep:1:7: 'format' needs a value"),
                      ("set frames\n", "e.sweep:1:5: takes KEY=VALUE"),
                      // 10,000 x 10,000 cells: refused at the line that passes the limit
                      // (more such lines made the cell count overflow past 2^63 and trap).
                      ("trace a\nsweep frames=2..10001\nsweep flush_ceiling=1..10000\n",
                       "e.sweep:3:7: the experiment has more than 1000000 cells, the limit")])
    func errors(_ text: String, _ expected: String) {
        #expect {
            _ = try ExperimentFile.parse(text, file: "e.sweep")
        } throws: { error in
            (error as? ExperimentError)?.description.hasPrefix(expected) == true
        }
    }
}
