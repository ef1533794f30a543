import Foundation
import Testing
@testable import MMUCommands

private let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures").path

@Suite("mmusim sweep and mmusim plot", .serialized)
struct SweepCommandTests {
    let sweep = ["sweep", "\(fixtures)/20-ipi-shootdown.mmt", "scenario:threads-unmap", "--cpu", "skylake,zen4",
                 "--sweep", "shootdown=ipi,broadcast", "--sweep", "cores=2..4:+2", "--quiet"]

    @Test("a sweep of more cells than the limit is refused before any is built (10^17 cells were built one by one)")
    func tooManyCells() {
        let result = mmusim(["sweep", "\(fixtures)/20-ipi-shootdown.mmt", "--sweep", "frames=2..10001", "--sweep", "flush_ceiling=0..9999",
                             "--sweep", "cores=1..1024", "--sweep", "tlb.l1d.entries=1..1000", "--sweep", "tlb.l2.entries=1..1000", "--quiet"])
        #expect(result.status == 2)
        #expect(result.err == "mmusim sweep: the experiment has more than 1000000 cells, the limit\n")
        #expect(result.out.isEmpty)
    }

    @Test("a sweep prints the same CSV with -j 1 and -j 2, one row per cell in order")
    func jobsDoNotChangeTheTable() {
        let one = mmusim(sweep + ["-j", "1"]), two = mmusim(sweep + ["-j", "2"])
        #expect(one.status == 0 && two.status == 0)
        #expect(one.out == two.out)
        let lines = one.out.split(separator: "\n")
        #expect(lines.count == 1 + 2 * 2 * 2 * 2)
        #expect(lines[0].hasPrefix("trace,cpu,shootdown,cores,accesses,"))
        #expect(lines[1].hasPrefix("\(fixtures)/20-ipi-shootdown.mmt,skylake,ipi,2,"))
        #expect(lines[16].hasPrefix("scenario:threads-unmap,zen4,broadcast,4,"))
    }

    @Test("a setting over a trace's own set line is noted on standard error")
    func overriddenNote() {
        let result = mmusim(sweep + ["-j", "2"])
        #expect(result.err.contains("20-ipi-shootdown.mmt:34: the trace's 'set cores 2' is overridden by the swept values of cores"))
    }

    @Test("--out keeps every cell, and --merge of the directory prints the table of the run")
    func outAndMerge() throws {
        let directory = try temporaryDirectory()
        let run = mmusim(sweep + ["-j", "2", "--out", directory])
        let merged = mmusim(["sweep", "--merge", directory])
        #expect(run.status == 0 && merged.status == 0)
        #expect(merged.out == run.out)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory + "/cells").count == 16)
        try FileManager.default.removeItem(atPath: directory + "/cells/5.json")
        let incomplete = mmusim(["sweep", "--merge", directory])
        #expect(incomplete.status == 2)
        #expect(incomplete.err.contains("1 of 16 cells have no result (cells 5)"))
    }

    @Test("--slurm without --submit writes the job script and submits nothing")
    func slurmScriptOnly() throws {
        let directory = try temporaryDirectory()
        let result = mmusim(sweep + ["--slurm", "--out", directory, "--partition", "short", "--tasks", "4"])
        #expect(result.status == 0)
        let script = try String(contentsOfFile: directory + "/job.sh", encoding: .utf8)
        #expect(script.contains("#SBATCH --array=0-3\n") && script.contains("#SBATCH --partition=short\n"))
        #expect(FileManager.default.fileExists(atPath: directory + "/experiment.sweep"))
    }

    @Test("bad sweeps are refused with exit 2, naming the option or the file position",
          arguments: [(["sweep", "scenario:threads-unmap", "--sweep", "cores=8..2"], "--sweep cores=8..2: '8..2'"),
                      (["sweep", "scenario:threads-unmap", "--cpu", "pentium"], "--cpu pentium: unknown preset"),
                      (["sweep", "nowhere.mmt"], "nowhere.mmt: cannot open"),
                      (["sweep", "scenario:threads-unmap", "--sweep", "cores=2", "--sweep", "cores=4"], "'cores' is already swept"),
                      (["sweep", "scenario:threads-unmap", "--slurm"], "--slurm needs --out"),
                      (["sweep"], "name at least one trace")])
    func refusals(_ arguments: [String], _ message: String) {
        let result = mmusim(arguments)
        #expect(result.status == 2)
        #expect(result.err.contains(message))
    }

    @Test("a gzip-compressed Lackey trace runs like the plain one")
    func compressedTrace() throws {
        var lackey = "==1== Lackey\n"
        for i in 0..<200 { lackey += " S \(String(0x1000_0000 + i % 17 * 4096, radix: 16)),8\n" }
        let directory = try temporaryDirectory(["t.lackey": lackey])
        let gzip = Process()
        gzip.executableURL = URL(fileURLWithPath: "/bin/sh")
        gzip.arguments = ["-c", "gzip -c '\(directory)/t.lackey' > '\(directory)/t.gz'"]
        try gzip.run()
        gzip.waitUntilExit()
        let plain = mmusim(["run", directory + "/t.lackey", "--quiet"]), compressed = mmusim(["run", directory + "/t.gz", "--quiet"])
        #expect(plain.status == 0 && compressed.status == 0)
        #expect(plain.out == compressed.out)
        #expect(plain.out.contains("accesses"))
    }

    @Test("mmusim plot writes a line chart SVG and an HTML report, the same bytes each time")
    func plot() throws {
        let directory = try temporaryDirectory()
        #expect(mmusim(sweep + ["--csv", directory + "/r.csv"]).status == 0)
        for name in ["a.svg", "b.svg", "r.html"] {
            let result = mmusim(["plot", directory + "/r.csv", "--x", "cores", "--y", "cycles", "--by", "shootdown", "-o", directory + "/" + name])
            #expect(result.status == 0, "\(result.err)")
        }
        let a = try String(contentsOfFile: directory + "/a.svg", encoding: .utf8)
        #expect(a == (try String(contentsOfFile: directory + "/b.svg", encoding: .utf8)))
        #expect(a.hasPrefix("<svg xmlns=\"http://www.w3.org/2000/svg\""))
        let html = try String(contentsOfFile: directory + "/r.html", encoding: .utf8)
        #expect(html.components(separatedBy: "<svg ").count - 1 == 2)
        let bad = mmusim(["plot", directory + "/r.csv", "--x", "cores", "--y", "nothing", "-o", directory + "/c.svg"])
        #expect(bad.status == 2 && bad.err.contains("--y nothing: no such column"))
    }
}
