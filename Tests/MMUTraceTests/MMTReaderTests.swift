import Testing
import MMUHardware
import MMUKernel
@testable import MMUTrace

/// Reads `text` as trace `t.mmt` and returns the error it raises.
private func error(in text: String) -> TraceError? {
    do throws(TraceError) {
        _ = try MMTReader(file: "t.mmt").read(text)
        return nil
    } catch {
        return error
    }
}

private let prelude = "process 1\nswitch 0 1\n"

@Suite("The .mmt reader")
struct MMTReaderTests {
    @Test("reads every directive with decimal and hex numbers, comments and blank lines")
    func readsDirectives() throws {
        let text = """
        # a comment
        set cores 2
        set cost.access 0x10   # hex

        process 7
        switch 1 7
        map 1 0x400000 4 rw
        protect 1 0x400000 2 r
        w 1 0x400008 255
        r 1 0x400008 =0xff
        x 1 0x400000
        fork 1 8
        tick 0
        unmap 1 0x401000 1
        switch 0 idle
        expect core1.accesses 2
        exit 1
        """
        let trace = try MMTReader(file: "t.mmt").read(text)
        #expect(trace.configuration.cores == 2)
        #expect(trace.configuration.costs[.access] == 16)
        #expect(trace.lines.count == 13)
        #expect(trace.lines[0].directive == .process(pid: 7))
        #expect(trace.lines[0].line == 5)
        #expect(trace.lines[2].directive == .map(core: 1, address: VirtualAddress(0x40_0000), pages: 4, permissions: [.read, .write], pageSize: .size4K))
        #expect(trace.lines[5].directive == .access(core: 1, kind: .read, address: VirtualAddress(0x40_0008), value: 255))
        #expect(trace.lines[10].directive == .switch(core: 0, pid: nil))
    }

    /// Each malformed line, the column the error must name, and words the message must contain.
    static let malformed: [(text: String, line: Int, column: Int, says: String)] = [
        ("jump 0 1", 1, 1, "unknown directive 'jump'"),
        ("process", 1, 8, "'process' needs PID"),
        ("process 1 2", 1, 11, "unexpected '2'"),
        ("process 1 vm", 1, 13, "'process PID vm' needs the VMID"),
        ("process 1 vm 9", 1, 14, "VM 9 does not exist"),
        ("vm 1", 1, 5, "'vm' needs VMID FRAMES"),
        ("vm 1 1", 1, 6, "FRAMES 1 must be 2 to"),
        ("vm 1 64\nvm 1 64", 2, 4, "VM 1 already exists"),
        ("ksm 3", 1, 5, "core 3 does not exist"),
        ("vm 1 0x2000000\nvm 2 0x2000000\nvm 3 2", 3, 6, "the VMs' frames together would pass 67108864"),
        ("vm 1 64\nexpect vm2.faults.ept_cow_copy 0", 2, 8, "unknown statistic"),
        ("vm 1 64\nexpect vm2.faults.cow_copy 0", 2, 8, "names VM 2, which does not exist"),
        ("process 12x", 1, 9, "PID '12x' is not a number"),
        ("process 18446744073709551616", 1, 9, "is not a number"),
        ("process 0x", 1, 9, "is not a number"),
        ("set nosuch 1", 1, 5, "unknown configuration key 'nosuch'"),
        ("set cores 0", 1, 11, "cores 0 is out of range"),
        ("set pcid maybe", 1, 10, "pcid takes on or off"),
        ("set shootdown fast", 1, 15, "shootdown takes one of ipi, broadcast, deferred"),
        ("set tlb.l1d.ways 5", 1, 18, "must divide"),
        (prelude + "set cores 2", 3, 1, "'set' must come before every other directive"),
        (prelude + "map 0 0x400001 1 rw", 3, 7, "not page aligned"),
        (prelude + "map 0 0x400000 0 rw", 3, 16, "PAGES must be at least 1"),
        (prelude + "map 0 0x800000000000 1 rw", 3, 7, "not a user address"),
        (prelude + "map 0 0x400000 1 rwz", 3, 18, "permissions 'rwz'"),
        (prelude + "map 0 0x400000 2 rw\nmap 0 0x401000 1 r", 4, 7, "overlaps"),
        (prelude + "protect 0 0x400000 1 r", 3, 11, "is not all mapped"),
        ("process 1\nswitch 1 1", 2, 8, "core 1 does not exist"),
        ("switch 0 3", 1, 10, "process 3 does not exist"),
        ("process 1\nprocess 1", 2, 9, "process 1 already exists"),
        ("process 1\nr 0 0x1000", 2, 3, "core 0 is idle"),
        (prelude + "exit 0\nr 0 0x1000", 4, 3, "core 0 is idle"),
        (prelude + "fork 0 1", 3, 8, "process 1 already exists"),
        (prelude + "r 0 0x1000 0x5", 3, 12, "expected '=VALUE'"),
        (prelude + "w 0 0x1000", 3, 11, "'w' needs CORE VA VALUE"),
        (prelude + "expect cycles.nothing 1", 3, 8, "unknown statistic 'cycles.nothing'"),
        (prelude + "expect core1.cycles 1", 3, 8, "unknown statistic 'core1.cycles'"),
        (prelude + "expect frames.free", 3, 19, "'expect' needs KEY VALUE"),
        ("process 1\n" + String(repeating: "#", count: 5000), 2, 4097, "line longer than 4096"),
    ]

    @Test("a malformed trace is refused with its file, line, column and a clear message", arguments: 0..<malformed.count)
    func malformedTrace(_ index: Int) throws {
        let (text, line, column, says) = Self.malformed[index]
        let found = try #require(error(in: text), "no error for: \(text)")
        #expect(found.file == "t.mmt")
        #expect(found.line == line, "\(found)")
        #expect(found.column == column, "\(found)")
        #expect(found.message.contains(says), "\(found)")
        #expect(found.description.hasPrefix("t.mmt:\(line):\(column): "))
    }

    @Test("an empty trace, or one of comments and set lines only, is refused")
    func emptyTrace() {
        #expect(error(in: "")?.description == "t.mmt:1:1: the trace is empty")
        #expect(error(in: "# nothing\n\nset cores 2\n")?.description
                == "t.mmt:3:1: the trace has no directives (only set lines, comments or blank lines)")
    }

    @Test("command-line settings apply after the trace's own set lines")
    func overridesWin() throws {
        let trace = try MMTReader(file: "t.mmt", overrides: [("cost.access", "9")]).read("set cost.access 3\nprocess 1")
        #expect(trace.configuration.costs[.access] == 9)
    }
}
