import Foundation
import Testing
@testable import MMUCommands
import MMUKernel

private let directory: String = (try? temporaryDirectory()) ?? "/tmp"

/// Writes `bytes` as trace `name` and runs it; returns the result and the path.
private func run(_ name: String, _ bytes: [UInt8], _ extra: [String] = []) -> (status: Int32, out: String, err: String, path: String) {
    let path = directory + "/" + name
    FileManager.default.createFile(atPath: path, contents: Data(bytes))
    let result = mmusim(["run"] + extra + [path])
    return (result.status, result.out, result.err, path)
}

private let prelude = "process 1\nswitch 0 1\n"

/// The bad-input corpus: every directive's malformed forms, with the exact
/// line, column and message each must give (a refusal prints nothing on
/// standard output and exits 2).
let corpus: [(trace: String, line: Int, column: Int, message: String)] = [
    // Unknown, missing, extra.
    ("frob 0", 1, 1, "unknown directive 'frob' (expected set, vm, process, switch, map, unmap, protect, madvise, fork, exit, tick, ksm, r, w, x or expect)"),
    ("set cores", 1, 10, "'set' needs KEY VALUE"),
    ("set cores 2 3", 1, 13, "unexpected '3': 'set' takes KEY VALUE"),
    ("process", 1, 8, "'process' needs PID [vm VMID]"),
    ("process 1 2", 1, 11, "unexpected '2': 'process' takes PID [vm VMID]"),
    ("switch 0", 1, 9, "'switch' needs CORE PID|idle"),
    (prelude + "map 0 0x1000 1", 3, 15, "'map' needs CORE VA PAGES PERM [2m|1g]"),
    (prelude + "map 0 0x1000 1 rw x", 3, 19, "page size 'x' must be 2m or 1g"),
    (prelude + "map 0 0x1000 1 rw 2m x", 3, 22, "unexpected 'x': 'map' takes CORE VA PAGES PERM [2m|1g]"),
    (prelude + "madvise 0 0x1000 1", 3, 19, "'madvise' needs CORE VA PAGES hugepage|nohugepage"),
    (prelude + "map 0 0x1000 1 rw\nmadvise 0 0x1000 1 huge", 4, 20, "advice 'huge' must be hugepage or nohugepage"),
    (prelude + "map 0 0x200000 512 rw 2m\nunmap 0 0x201000 1", 4, 9, "0x201000 + 1 pages cuts a 2M page of a hugetlb region"),
    (prelude + "map 0 0x201000 512 rw 2m", 3, 7, "VA 0x201000 of a 2M hugetlb region is not aligned to 2M"),
    (prelude + "map 0 0x200000 100 rw 2m", 3, 16, "PAGES 100 of a 2M hugetlb region is not a multiple of 512"),
    (prelude + "unmap 0 0x1000", 3, 15, "'unmap' needs CORE VA PAGES"),
    (prelude + "protect 0 0x1000 1", 3, 19, "'protect' needs CORE VA PAGES PERM"),
    (prelude + "fork 0", 3, 7, "'fork' needs CORE CHILD"),
    (prelude + "exit", 3, 5, "'exit' needs CORE"),
    (prelude + "exit 0 1", 3, 8, "unexpected '1': 'exit' takes CORE"),
    ("tick", 1, 5, "'tick' needs CORE"),
    (prelude + "r 0", 3, 4, "'r' needs CORE VA [=VALUE]"),
    (prelude + "r 0 0x1000 =1 =2", 3, 15, "unexpected '=2': 'r' takes CORE VA [=VALUE]"),
    (prelude + "w 0 0x1000", 3, 11, "'w' needs CORE VA VALUE"),
    (prelude + "x 0 0x1000 5", 3, 12, "unexpected '5': 'x' takes CORE VA"),
    ("expect accesses", 1, 16, "'expect' needs KEY VALUE"),
    // Bad numbers and overflow.
    ("process -1", 1, 9, "PID '-1' is not a number (decimal or 0x hex, below 2^64)"),
    ("process 18446744073709551616", 1, 9, "PID '18446744073709551616' is not a number (decimal or 0x hex, below 2^64)"),
    ("process 0x10000000000000000", 1, 9, "PID '0x10000000000000000' is not a number (decimal or 0x hex, below 2^64)"),
    (prelude + "w 0 0x1000 1.5", 3, 12, "VALUE '1.5' is not a number (decimal or 0x hex, below 2^64)"),
    (prelude + "r 0 0x1000 =x", 3, 12, "expected '=VALUE' (a number), found '=x'"),
    (prelude + "map 0 0x1000 1 wx", 3, 16, "permissions 'wx' must be r, rw, rx or rwx"),
    ("tick 9999", 1, 6, "core 9999 does not exist"),
    // Ranges, alignment, existence.
    (prelude + "map 0 0x1234 1 rw", 3, 7, "VA 0x1234 is not page aligned"),
    (prelude + "unmap 0 0x1001 1", 3, 9, "VA 0x1001 is not page aligned"),
    (prelude + "map 0 0x7ffffffff000 2 rw", 3, 22, "2 pages from 0x7ffffffff000 run past the user address space (0x800000000000)"),
    (prelude + "map 0 0xffff800000000000 1 rw", 3, 7, "VA 0xffff800000000000 is not a user address (below 0x800000000000)"),
    ("process 1\nswitch 1 1", 2, 8, "core 1 does not exist (cores 1)"),
    ("switch 0 4", 1, 10, "process 4 does not exist"),
    ("process 3\nprocess 3", 2, 9, "process 3 already exists"),
    ("process 1\nw 0 0x1000 1", 2, 3, "core 0 is idle: it runs no process"),
    (prelude + "switch 0 idle\nmap 0 0x1000 1 rw", 4, 5, "core 0 is idle: it runs no process"),
    (prelude + "exit 0\nexit 0", 4, 6, "core 0 is idle: it runs no process"),
    (prelude + "fork 0 1", 3, 8, "process 1 already exists"),
    (prelude + "map 0 0x1000 4 rw\nmap 0 0x3000 1 r", 4, 7, "region 0x3000 + 1 pages overlaps a region of process 1"),
    (prelude + "protect 0 0x1000 1 r", 3, 11, "0x1000 + 1 pages is not all mapped in process 1"),
    (prelude + "expect walks.total 1", 3, 8, "unknown statistic 'walks.total'"),
    (prelude + "expect core0.frames.free 1", 3, 8, "unknown statistic 'core0.frames.free'"),
    // Configuration.
    (prelude + "set cores 2", 3, 1, "'set' must come before every other directive"),
    ("set cores 1025", 1, 11, "cores 1025 is out of range (1 to 1024)"),
    ("set frames 1", 1, 12, "frames 1 is out of range (2 to 67108864)"),
    ("process 0x+5", 1, 9, "PID '0x+5' is not a number (decimal or 0x hex, below 2^64)"),
    ("process 0x-5", 1, 9, "PID '0x-5' is not a number (decimal or 0x hex, below 2^64)"),
    ("set tlb.l1d.entries 0", 1, 21, "tlb.l1d.entries 0 is out of range (1 to 65536)"),
    ("set tlb.l2.ways 5\nprocess 1", 1, 17, "tlb.l2.ways (5) must divide tlb.l2.entries (1536)"),
    ("set cost.walk.ref 1000000001", 1, 19, "cost.walk.ref 1000000001 is out of range (0 to 1000000000)"),
    ("set flush_ceiling 2000000", 1, 19, "flush_ceiling 2000000 is out of range (0 to 1048576)"),
    ("set fork lazy", 1, 10, "fork takes one of cow, copy, not 'lazy'"),
    ("set zero_page yes", 1, 15, "zero_page takes on or off, not 'yes'"),
    ("set TLB.L1D.ENTRIES 64", 1, 5, "unknown configuration key 'TLB.L1D.ENTRIES'"),
    // Empty and garbage.
    ("", 1, 1, "the trace is empty"),
    ("# only a comment\n\n", 2, 1, "the trace has no directives (only set lines, comments or blank lines)"),
]

@Suite("Bad input: every refusal names file, line and column, exits 2 and prints no results")
struct BadInputTests {
    @Test("a malformed .mmt trace", arguments: 0..<corpus.count)
    func malformed(_ index: Int) {
        let (trace, line, column, message) = corpus[index]
        let result = run("case-\(index).mmt", Array(trace.utf8))
        #expect(result.status == 2)
        #expect(result.err == "\(result.path):\(line):\(column): \(message)\n")
        #expect(result.out.isEmpty)
    }

    @Test("every configuration key refuses a value that is not one", arguments: Configuration.keys)
    func everyKey(_ key: String) {
        let result = run("key-\(key).mmt", Array("set \(key) bogus\nprocess 1\n".utf8))
        #expect(result.status == 2)
        #expect(result.out.isEmpty)
        let prefix = "\(result.path):1:\(6 + key.count): "
        #expect(result.err.hasPrefix(prefix), "\(result.err)")
        let message = String(result.err.dropFirst(prefix.count))
        switch key {
        case "pcid", "zero_page": #expect(message == "\(key) takes on or off, not 'bogus'\n")
        case "fork": #expect(message == "fork takes one of cow, copy, not 'bogus'\n")
        case "shootdown": #expect(message == "shootdown takes one of ipi, broadcast, deferred, not 'bogus'\n")
        case "thp": #expect(message == "thp takes one of always, madvise, never, not 'bogus'\n")
        case "vm.ipi": #expect(message == "vm.ipi takes one of trapped, posted, not 'bogus'\n")
        default:
            #expect(message.hasPrefix("'bogus' is not a number (\(key) takes "), "\(message)")
        }
    }

    @Test("binary garbage read as .mmt is refused with a printable message")
    func garbage() {
        let result = run("garbage.mmt", [0, 1, 0xFF, 0x20, 0x41, 0x0A])
        #expect(result.status == 2 && result.out.isEmpty)
        #expect(result.err.hasSuffix(":1:1: unknown directive '\\u{0}\\u{1}\\u{fffd}' (expected set, vm, process, switch, map, unmap, protect, madvise, fork, exit, tick, ksm, r, w, x or expect)\n"))
    }

    @Test("a 1 MB line is refused at the line-length limit instead of being read")
    func hugeLine() {
        let result = run("huge.mmt", Array(("process 1\n" + String(repeating: "x", count: 1 << 20) + "\n").utf8))
        #expect(result.status == 2 && result.out.isEmpty)
        #expect(result.err == "\(result.path):2:4097: line longer than 4096 characters\n")
    }

    @Test("a 1 MB line in a Lackey trace stops the stream at the limit")
    func hugeLackeyLine() {
        let result = run("huge.lackey", Array(("I  00401000,4\n L " + String(repeating: "1", count: 1 << 20) + ",8\n").utf8))
        #expect(result.status == 2)
        #expect(result.err.contains("huge.lackey:2:"), "\(result.err)")
    }

    @Test("a truncated ChampSim record is named by record number and byte offset")
    func truncatedChampSim() {
        let result = run("t.champsim", [UInt8](repeating: 0, count: 64) + [UInt8](repeating: 7, count: 10), ["--format", "champsim"])
        #expect(result.status == 2)
        #expect(result.err == "\(result.path):2:1: record 2 at byte offset 64 is truncated: 10 of 64 bytes\n")
        // The complete first record ran and its statistics were printed.
        #expect(result.out.contains("trace.records  1\n"))
    }

    @Test("a missing file and a directory are refused with the system's reason")
    func missing() {
        let gone = mmusim(["run", directory + "/nope.mmt"])
        #expect(gone.status == 2 && gone.out.isEmpty)
        #expect(gone.err == "mmusim: \(directory)/nope.mmt: cannot open: No such file or directory\n")
        let folder = mmusim(["run", "--format", "lackey", directory])
        #expect(folder.status == 2 && folder.out.isEmpty)
        #expect(folder.err.contains("Is a directory"))
    }
}
