import Foundation
import Testing
@testable import MMUCommands
import MMUKernel
import MMUTrace

/// A trace for a pool of `frames` frames: two processes, a fork and touches
/// that need more page tables than the pool holds.
private func tinyPoolTrace(frames: Int) -> String {
    """
    set frames \(frames)
    process 1
    process 2
    switch 0 1
    map 0 0x1000 4 rw
    w 0 0x1000 1
    r 0 0x1000
    fork 0 3
    w 0 0x2000 2
    switch 0 2
    map 0 0x1000 1 rw
    r 0 0x1000

    """
}

@Suite("Semantics: messages name what the user wrote, tiny pools kill rather than crash, totals saturate")
struct SemanticsTests {
    @Test("pools of 2, 3 and 4 frames are valid and end in OOM kills, not a crash", arguments: [2, 3, 4])
    func tinyPools(_ frames: Int) throws {
        let directory = try temporaryDirectory(["tiny.mmt": tinyPoolTrace(frames: frames)])
        let result = mmusim(["run", directory + "/tiny.mmt"])
        #expect(result.status == 0, "\(result.err)")
        let oom = result.out.split(separator: "\n").first { $0.hasPrefix("faults.oom ") }
        #expect(oom.map { !$0.hasSuffix(" 0") } == true, "\(result.out)")
    }

    @Test("a process created with no frame left for its PML4 is reported at its line")
    func deadOnArrival() throws {
        let directory = try temporaryDirectory(["tiny.mmt": tinyPoolTrace(frames: 2)])
        let result = mmusim(["run", directory + "/tiny.mmt"])
        #expect(result.err.hasPrefix("\(directory)/tiny.mmt:3: warning: process 2 starts dead: no frame is left for its PML4"), "\(result.err)")
    }

    @Test("a setting that fails only with the others is blamed on its own line, in a trace and in a config file")
    func settingBlamedOnItsLine() throws {
        let directory = try temporaryDirectory([
            "t.mmt": "set cores 2\nset tlb.l2.ways 5\n\nprocess 1\n", "c.conf": "cores = 2\ntlb.l2.ways = 5\n\n# end\n",
            "ok.mmt": "process 1\n",
        ])
        let trace = mmusim(["run", directory + "/t.mmt"])
        #expect(trace.err == "\(directory)/t.mmt:2:17: tlb.l2.ways (5) must divide tlb.l2.entries (1536)\n")
        let config = mmusim(["run", "--config", directory + "/c.conf", directory + "/ok.mmt"])
        #expect(config.err == "\(directory)/c.conf:2:15: tlb.l2.ways (5) must divide tlb.l2.entries (1536)\n")
        let option = mmusim(["run", "--set", "tlb.l2.ways=5", directory + "/ok.mmt"])
        #expect(option.status == 2 && option.err.hasPrefix("--set tlb.l2.ways=5:"), "\(option.err)")
    }

    @Test("a hex number with a sign is refused", arguments: ["0x+5", "0x-5", "0X+ff"])
    func signedHex(_ text: String) {
        #expect(Configuration.parseNumber(Substring(text)) == nil)
        var configuration = Configuration()
        #expect(throws: ConfigurationError.self) { try configuration.set("cores", text) }
    }

    @Test("--timeline-range without --timeline is refused")
    func timelineRangeAlone() throws {
        let directory = try temporaryDirectory(["ok.mmt": "process 1\n"])
        let result = mmusim(["run", "--timeline-range", "0:10", directory + "/ok.mmt"])
        #expect(result.status == 2 && result.err.hasPrefix("mmusim run: --timeline-range 0:10: goes with --timeline FILE.json"))
    }

    @Test("compare refuses a strategy or a swept value named twice, and labels rows run as configured")
    func compareRows() throws {
        let twice = mmusim(["compare", "--shootdown", "ipi,broadcast,ipi", "x.mmt"])
        #expect(twice.status == 2 && twice.err.contains("names 'ipi' twice"), "\(twice.err)")
        let values = mmusim(["compare", "--sweep", "cores=2,2", "x.mmt"])
        #expect(values.status == 2 && values.err.contains("names '2' twice"), "\(values.err)")
        let directory = try temporaryDirectory(["t.mmt": "set cores 2\nprocess 1\nswitch 0 1\nmap 0 0x1000 1 rw\nw 0 0x1000 1\n"])
        let plain = mmusim(["compare", "--csv", "--sweep", "cores=2,4", directory + "/t.mmt"])
        #expect(plain.status == 0, "\(plain.err)")
        let labels = plain.out.split(separator: "\n").dropFirst().map { $0.split(separator: ",")[0] }
        #expect(labels == ["as configured (shootdown ipi) cores=2", "as configured (shootdown ipi) cores=4"])
    }

    @Test("a ChampSim trace's trace.records counts 64-byte records, not accesses")
    func champSimRecords() throws {
        // One record with two source memory operands and one destination: three accesses.
        var record = [UInt8](repeating: 0, count: 64)
        func put(_ value: UInt64, at offset: Int) { for i in 0..<8 { record[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) } }
        put(0x401000, at: 0)
        put(0x7ff000100, at: 16)       // destination_memory[0]
        put(0x7ff000200, at: 32)       // source_memory[0]
        put(0x7ff000300, at: 40)       // source_memory[1]
        let directory = try temporaryDirectory()
        FileManager.default.createFile(atPath: directory + "/t.champsim", contents: Data(record + record))
        let result = mmusim(["run", "--format", "champsim", directory + "/t.champsim"])
        #expect(result.status == 0, "\(result.err)")
        #expect(result.out.contains("trace.records  2\n"), "\(result.out)")
    }

    @Test("totals over cores saturate at 2^64 - 1 instead of wrapping")
    func saturatingTotals() {
        #expect(Statistic.total([UInt64.max - 1, 1]) == UInt64.max)
        #expect(Statistic.total([UInt64.max, UInt64.max, 5]) == UInt64.max)
        #expect(Statistic.total([1, 2, 3]) == 6)
    }
}
