import Foundation
import Testing
import TestSupport
@testable import MMUExperiments

/// A small sweep: the threads-unmap scenario under three strategies and three core counts.
private let experiment = Experiment(
    traces: ["scenario:threads-unmap"], presets: ["skylake"],
    axes: [SweepAxis(key: "shootdown", values: ["ipi", "broadcast", "deferred"]), SweepAxis(key: "cores", values: ["2", "3", "4"])],
    settings: [Setting(key: "frames", value: "4096")])

private func directory() throws -> ResultDirectory {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("mmusim-sweep-\(UUID().uuidString)").path
    let directory = ResultDirectory(path)
    #expect(directory.create() == nil)
    return directory
}

private func table(_ outcome: LocalSweep.Outcome) throws -> ResultTable {
    try ResultTable.merge(experiment, outcome.results.compactMap { $0 }).get()
}

@Suite("Local sweeps", .serialized)
struct SweepTests {
    @Test("the CSV is byte-identical with one worker, two workers, and cells started in a shuffled order")
    func byteIdentity() throws {
        let one = try table(LocalSweep(experiment: experiment, workers: 1).run()).csv()
        let two = try table(LocalSweep(experiment: experiment, workers: 2).run()).csv()
        var random = SeededRandom(seed: 15)
        let shuffled = Array(0..<experiment.cellCount).shuffled(using: &random)
        let three = try table(LocalSweep(experiment: experiment, workers: 3, order: shuffled).run()).csv()
        #expect(one == two)
        #expect(one == three)
        let lines = one.split(separator: "\n")
        #expect(lines.count == 1 + 9)
        #expect(lines[0].hasPrefix("trace,cpu,shootdown,cores,accesses,"))
        #expect(lines[1].hasPrefix("scenario:threads-unmap,skylake,ipi,2,"))
        #expect(lines[9].hasPrefix("scenario:threads-unmap,skylake,deferred,4,"))
    }

    @Test("a sweep over a native and a VM scenario reports the VM statistics for every cell, 0 where there are no VMs")
    func virtualMachineColumns() throws {
        let mixed = Experiment(traces: ["scenario:threads-unmap", "scenario:vm-threads-unmap"],
                               axes: [SweepAxis(key: "cores", values: ["2"])], settings: [Setting(key: "frames", value: "4096")])
        let outcome = LocalSweep(experiment: mixed, workers: 2).run()
        let csv = try ResultTable.merge(mixed, outcome.results.compactMap { $0 }).get().csv()
        let rows = csv.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        #expect(rows.count == 3)
        #expect(Set(rows.map(\.count)).count == 1)
        let column = try #require(rows[0].firstIndex(of: "cycles.vm"))
        #expect(rows[1][column] == "0")
        #expect(Int(rows[2][column]) ?? 0 > 0)
        #expect(rows[0].contains("faults.ept") && rows[0].contains("walk.nested_refs"))
    }

    @Test("results merged in any order of completion give the same table")
    func mergeOrder() throws {
        let results = LocalSweep(experiment: experiment, workers: 2).run().results.compactMap { $0 }
        let forward = try ResultTable.merge(experiment, results).get()
        let backward = try ResultTable.merge(experiment, results.reversed()).get()
        #expect(forward.csv() == backward.csv())
        #expect(forward.json() == backward.json())
    }

    @Test("the JSON table carries wall times and the CSV does not")
    func wallTimes() throws {
        let table = try table(LocalSweep(experiment: experiment, workers: 2).run())
        #expect(table.json().contains("\"wall_microseconds\""))
        #expect(!table.csv().contains("wall"))
        guard case .success(let json) = JSONValue.parse(table.json()) else { Issue.record("the JSON table does not parse"); return }
        #expect(json["cells"]?.array?.count == 9)
        #expect(json["parameters"]?.array?.compactMap(\.string) == ["trace", "cpu", "shootdown", "cores"])
    }

    @Test("a rerun reuses every saved cell and runs only the missing or stale ones")
    func resume() throws {
        let directory = try directory()
        let first = LocalSweep(experiment: experiment, directory: directory, workers: 2).run()
        #expect(first.reused == 0 && first.failures.isEmpty)
        // Mark cell 4's saved result so that reusing it shows; delete cell 7; make cell 8 another cell's.
        var marked = try #require(directory.saved(experiment.cells[4]))
        marked.values[0] = 424_242
        #expect(directory.save(marked) == nil)
        try FileManager.default.removeItem(atPath: directory.cellPath(7))
        var stale = try #require(directory.saved(experiment.cells[8]))
        stale.fingerprint = "some other cell"
        #expect(directory.save(stale) == nil)

        let second = LocalSweep(experiment: experiment, directory: directory, workers: 2).run()
        #expect(second.reused == 7)
        #expect(second.results[4]?.values[0] == 424_242)
        #expect(second.results[7] == first.results[7].map { var r = $0; r.wallSeconds = second.results[7]?.wallSeconds ?? 0; return r })
        #expect(directory.saved(experiment.cells[8])?.fingerprint == experiment.cells[8].fingerprint)
    }

    @Test("merging a results directory gives the table of the run, and names the cells still missing")
    func mergeDirectory() throws {
        let directory = try directory()
        #expect(ResultDirectory.write(ExperimentFile.render(experiment), to: directory.experimentPath) == nil)
        let outcome = LocalSweep(experiment: experiment, directory: directory, workers: 2).run()
        let merged = try ResultTable.merge(directory: directory).get()
        #expect(merged.csv() == (try table(outcome)).csv())
        try FileManager.default.removeItem(atPath: directory.cellPath(2))
        guard case .failure(let error) = ResultTable.merge(directory: directory) else {
            Issue.record("a directory with a missing cell merged")
            return
        }
        #expect(error.message.hasPrefix("1 of 9 cells have no result (cells 2)"))
    }

    @Test("array tasks split the cells between them, each cell in exactly one task")
    func slices() {
        let slices = (0..<4).map { LocalSweep.slice(task: $0, of: 4, cells: 10) }
        #expect(slices[0] == [0, 4, 8])
        #expect(slices.flatMap { $0 }.sorted() == Array(0..<10))
        #expect(LocalSweep.slice(task: 4, of: 4, cells: 10).isEmpty)
    }

    @Test("a cell result file reads back as written")
    func cellFileRoundTrip() throws {
        let result = CellResult(index: 3, fingerprint: "trace=\"q\"; cpu=", names: ["accesses", "cycles"], values: [7, UInt64.max],
                                wallSeconds: 0.25)
        #expect(CellFile.decode(CellFile.encode(result)) == result)
        #expect(CellFile.decode("{\"schema\": \"other\"}") == nil)
    }

    @Test("a bad trace fails its cells with the reason and stops nothing else")
    func badCell() {
        let broken = Experiment(traces: ["scenario:nonsense", "scenario:threads-unmap"], axes: [SweepAxis(key: "cores", values: ["2"])])
        let outcome = LocalSweep(experiment: broken, workers: 2).run()
        #expect(outcome.failures.map(\.index) == [0])
        #expect(outcome.failures.first?.message.contains("unknown scenario") == true)
        #expect(outcome.results[1] != nil)
    }

    @Test("a stop request ends the sweep with no result for unfinished cells")
    func stop() {
        let outcome = LocalSweep(experiment: experiment, workers: 2).run(stop: { true })
        #expect(outcome.interrupted)
        #expect(outcome.results.allSatisfy { $0 == nil })
    }

    @Test("the Slurm script runs an array task per slice with the same binary and the saved experiment")
    func slurmScript() {
        let job = SlurmJob(directory: ResultDirectory("/data/out"), executable: "/opt/mmusim", workingDirectory: "/home/me",
                           tasks: 8, options: ["--partition=short", "--time=10"])
        let script = job.script
        #expect(script.hasPrefix("#!/bin/bash\n"))
        #expect(script.contains("#SBATCH --array=0-7\n"))
        #expect(script.contains("#SBATCH --partition=short\n"))
        #expect(script.contains("#SBATCH --chdir=/home/me\n"))
        #expect(script.contains("exec /opt/mmusim sweep --file /data/out/experiment.sweep --out /data/out --task \"$SLURM_ARRAY_TASK_ID/8\" -j 1"))
        #expect(SlurmJob.quote("it's") == "'it'\\''s'")
    }
}
