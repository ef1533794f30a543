import Foundation
import Testing
@testable import MMUCommands

/// A trace that sets two keys a preset also sets, and one a preset leaves alone.
private let trace = """
set tlb.l1d.entries 16
set tlb.l1d.ways 4
set cost.walk.ref 50
process 1
switch 0 1
map 0 0x1000 1 rw
w 0 0x1000 7
r 0 0x1000 =7

"""

@Suite("No silent no-ops: every setting that loses and every option that does nothing says so")
struct SilentOptionTests {
    @Test("a trace's set line over a --cpu value prints a note naming the line, the preset and the value that lost")
    func setLineOverPreset() throws {
        let directory = try temporaryDirectory(["t.mmt": trace])
        let result = mmusim(["run", directory + "/t.mmt", "--cpu", "zen3"])
        #expect(result.status == 0)
        let notes = result.err.split(separator: "\n").filter { $0.hasPrefix("note: ") }
        #expect(notes == [
            "note: \(directory)/t.mmt:1: set tlb.l1d.entries 16 overrides --cpu zen3's value 64",
            "note: \(directory)/t.mmt:2: set tlb.l1d.ways 4 overrides --cpu zen3's value 64",
        ])
    }

    @Test("a trace's set line over a --config value names the file; an equal value prints nothing")
    func setLineOverConfig() throws {
        let directory = try temporaryDirectory(["t.mmt": trace, "c.conf": "tlb.l1d.entries = 32\ntlb.l1d.ways = 4\n"])
        let result = mmusim(["run", directory + "/t.mmt", "--config", directory + "/c.conf"])
        #expect(result.status == 0)
        #expect(result.err == "note: \(directory)/t.mmt:1: set tlb.l1d.entries 16 overrides --config \(directory)/c.conf's value 32\n")
    }

    @Test("--set over a trace's set line prints a note naming the line and the value that lost")
    func setOptionOverSetLine() throws {
        let directory = try temporaryDirectory(["t.mmt": trace])
        let result = mmusim(["run", directory + "/t.mmt", "--set", "cost.walk.ref=70", "--set", "cores=2"])
        #expect(result.status == 0)
        #expect(result.err == "note: --set cost.walk.ref=70 overrides \(directory)/t.mmt:3's value 50\n")
    }

    @Test("check prints the notes too, and none without command-line settings")
    func checkNotes() throws {
        let directory = try temporaryDirectory(["t.mmt": trace])
        #expect(mmusim(["check", directory]).err.isEmpty)
        let result = mmusim(["check", directory, "--set", "tlb.l1d.entries=8"])
        #expect(result.status == 0)
        #expect(result.err == "note: --set tlb.l1d.entries=8 overrides \(directory)/t.mmt:1's value 16\n")
    }

    @Test("compare names --shootdown and --sweep when they override a trace's set line")
    func compareNotes() throws {
        let directory = try temporaryDirectory(["t.mmt": "set shootdown ipi\n" + trace])
        let result = mmusim(["compare", directory + "/t.mmt", "--shootdown", "ipi,broadcast"])
        #expect(result.status == 0)
        #expect(result.err == "note: --shootdown broadcast overrides \(directory)/t.mmt:1's value ipi\n")
    }

    @Test("--check-coherence reports what it checked on a clean run, for run and for check")
    func coherenceSummary() throws {
        let directory = try temporaryDirectory(["t.mmt": trace])
        let run = mmusim(["run", directory + "/t.mmt", "--check-coherence"])
        #expect(run.status == 0)
        #expect(run.err == "coherence: 2 translations checked, 0 violations\n")
        let check = mmusim(["check", directory, "--check-coherence"])
        #expect(check.status == 0)
        #expect(check.err == "coherence: 2 translations checked, 0 violations\n")
        #expect(!mmusim(["run", directory + "/t.mmt"]).err.contains("coherence"))
    }

    @Test("--timeline-range without --timeline is refused")
    func timelineRangeAlone() throws {
        let directory = try temporaryDirectory(["t.mmt": trace])
        let result = mmusim(["run", directory + "/t.mmt", "--timeline-range", "0:3"])
        #expect(result.status == 2)
        #expect(result.err.hasPrefix("mmusim run: --timeline-range 0:3: goes with --timeline FILE.json"))
    }

    @Test("--quiet and --format mmt on an .mmt trace each print a note, and the run goes on")
    func quietAndFormatOnMMT() throws {
        let directory = try temporaryDirectory(["t.mmt": trace])
        let quiet = mmusim(["run", directory + "/t.mmt", "--quiet"])
        #expect(quiet.status == 0)
        #expect(quiet.err.hasPrefix("note: --quiet: \(directory)/t.mmt is an .mmt trace"))
        let format = mmusim(["run", directory + "/t.mmt", "--format", "mmt"])
        #expect(format.status == 0)
        #expect(format.err == "note: --format mmt: \(directory)/t.mmt ends in .mmt and is read as .mmt without it\n")
    }

    @Test("options that only apply with another option are refused without it",
          arguments: [
            (["compare", "Fixtures/04-cow-copy.mmt", "--rounds", "3"], "mmusim compare: --rounds 3: goes with --scenario NAME"),
            (["scenario", "thp", "--cores", "4"], "mmusim scenario: --cores 4: scenario thp has fixed phases"),
            (["compare", "--scenario", "thp", "--rounds", "3"], "mmusim compare: --rounds 3: the thp scenario has fixed phases"),
            (["scenario", "threads-unmap", "--model-only"], "mmusim scenario: --model-only goes with --report"),
            (["plot", "--by", "cpu", "--bars", "r.csv", "-o", "x.svg"], "mmusim plot: --by goes with --x and --y"),
            (["sweep", "scenario:threads-unmap", "--partition", "short"], "mmusim sweep: --partition short: goes with --slurm"),
          ])
    func refusedWithoutCompanion(_ arguments: [String], _ message: String) {
        let result = mmusim(arguments)
        #expect(result.status == 2)
        #expect(result.err.hasPrefix(message), "\(result.err)")
    }
}
