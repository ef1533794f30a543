import Foundation
import Testing
import MMUHardware
import MMUKernel
@testable import MMUTrace
import TestSupport

/// The geometry the streamed-trace tests run: small enough that hundreds of
/// pages evict constantly from every level.
private func smallConfiguration(zeroPage: Bool = true) -> Configuration {
    var configuration = Configuration()
    configuration.geometry.l1dEntries = 8
    configuration.geometry.l1dWays = 2
    configuration.geometry.l1iEntries = 8
    configuration.geometry.l1iWays = 2
    configuration.geometry.l2Entries = 32
    configuration.geometry.l2Ways = 4
    configuration.zeroPage = zeroPage
    return configuration
}

private func referenceModel(zeroPage: Bool = true) -> ReferenceTLBModel {
    ReferenceTLBModel(l1d: (8, 2), l1i: (8, 2), l2: (32, 4), zeroPage: zeroPage)
}

/// The statistics the reference model predicts, as the emulator reports them.
private func predicted(_ system: System) -> [String: UInt64] {
    var values: [String: UInt64] = [:]
    for name in ReferenceTLBModel.statisticNames { values[name] = system.statistic(name) }
    return values
}

/// Reads every record, or the error that stopped the reader.
private func readAll<R: MemoryTraceReader>(_ reader: inout R) -> (records: [MemoryAccess], error: TraceError?) {
    var records: [MemoryAccess] = []
    do {
        while let record = try reader.next() { records.append(record) }
        return (records, nil)
    } catch {
        return (records, error)
    }
}

/// Reads the Lackey text `text` from a temporary file named `name`.
private func readLackey(_ text: String, name: String = "t.lackey") throws -> (records: [MemoryAccess], error: TraceError?, skipped: UInt64) {
    let file = try TemporaryFile(name, text: text)
    defer { file.remove() }
    var reader = try LackeyReader(source: ByteSource(path: file.path), file: name)
    let (records, error) = readAll(&reader)
    return (records, error, reader.skippedLines)
}

/// Where `valgrind` is on PATH, if it is.
private let valgrindPath: String? = {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    return path.split(separator: ":").map { "\($0)/valgrind" }.first { FileManager.default.isExecutableFile(atPath: $0) }
}()

@Suite("Streamed traces")
struct StreamedTraceTests {

    // MARK: Against the reference model

    @Test("a generated Lackey trace gives exactly the reference model's TLB hits, misses and faults",
          arguments: [(UInt64(1), true), (2, true), (3, false)])
    func lackeyAgreesWithReference(seed: UInt64, zeroPage: Bool) throws {
        var generator = StreamedTraceGenerator(seed: seed)
        let trace = generator.lackey(records: 6000)
        let file = try TemporaryFile("generated.lackey", text: trace.text)
        defer { file.remove() }

        var reader = try LackeyReader(path: file.path)
        var runner = StreamRunner(configuration: smallConfiguration(zeroPage: zeroPage))
        try runner.run(&reader, progress: nil)

        var model = referenceModel(zeroPage: zeroPage)
        for access in trace.accesses { model.access(access.kind, access.address.rawValue, bytes: access.bytes) }

        #expect(predicted(runner.system) == model.statistics)
        #expect(runner.records == UInt64(trace.accesses.count))
        #expect(reader.skippedLines == UInt64(trace.banners))
        // The histogram counts completed accesses (not SIGSEGV'd records): it adds up to `accesses`.
        #expect(runner.histogram.counts.reduce(0, +) == runner.system.statistic("accesses"))
        // The trace exercises every path the comparison is about.
        for name in ["tlb.l1d.hits", "tlb.l1d.misses", "tlb.l1i.hits", "tlb.l1i.misses", "tlb.l2.hits", "tlb.l2.misses",
                     "faults.demand_zero", "faults.segv"] {
            #expect(model.statistics[name, default: 0] > 0, "\(name) is never exercised")
        }
        #expect(model.statistics["faults.zero_page", default: 0] > 0 || !zeroPage)
        #expect(runner.system.invariantViolations().isEmpty)
    }

    @Test("a generated ChampSim trace gives exactly the reference model's TLB hits, misses and faults",
          arguments: [UInt64(11), 12])
    func champSimAgreesWithReference(seed: UInt64) throws {
        var generator = StreamedTraceGenerator(seed: seed)
        let trace = generator.champSim(records: 3000)
        let file = try TemporaryFile("generated.champsim", contents: trace.bytes)
        defer { file.remove() }

        var reader = try ChampSimReader(path: file.path)
        var runner = StreamRunner(configuration: smallConfiguration())
        try runner.run(&reader, progress: nil)

        var model = referenceModel()
        for access in trace.accesses { model.access(access.kind, access.address.rawValue, bytes: access.bytes) }

        #expect(predicted(runner.system) == model.statistics)
        #expect(reader.records == 3000)
        #expect(runner.records == UInt64(trace.accesses.count))
        #expect(reader.bytesRead == UInt64(trace.bytes.count))
        for name in ["tlb.l1d.hits", "tlb.l1d.misses", "tlb.l1i.hits", "tlb.l1i.misses", "tlb.l2.hits",
                     "faults.zero_page", "faults.demand_zero", "faults.segv"] {
            #expect(model.statistics[name, default: 0] > 0, "\(name) is never exercised")
        }
    }

    @Test("the readers hand out exactly the accesses the generator wrote")
    func readersReadWhatWasWritten() throws {
        var generator = StreamedTraceGenerator(seed: 7)
        let lackey = generator.lackey(records: 3000)
        let read = try readLackey(lackey.text)
        #expect(read.error == nil)
        #expect(read.records == lackey.accesses)

        let champSim = generator.champSim(records: 500)
        let file = try TemporaryFile("t.champsim", contents: champSim.bytes)
        defer { file.remove() }
        var reader = try ChampSimReader(path: file.path)
        let (records, error) = readAll(&reader)
        #expect(error == nil)
        #expect(records == champSim.accesses)
    }

    // MARK: A real Lackey trace

    @Test("a real Lackey trace of /bin/true runs end to end and agrees with the reference model",
          .enabled(if: valgrindPath != nil, "valgrind is not on PATH: no real Lackey trace to read"),
          .timeLimit(.minutes(1)))
    func realLackeyTrace() throws {
        let log = TemporaryFile(reserving: "true.lackey")
        defer { log.remove() }
        let valgrind = Process()
        valgrind.executableURL = URL(fileURLWithPath: valgrindPath!)
        valgrind.arguments = ["--tool=lackey", "--trace-mem=yes", "--log-file=\(log.path)", "/bin/true"]
        valgrind.standardOutput = FileHandle.nullDevice
        valgrind.standardError = FileHandle.nullDevice
        try valgrind.run()
        valgrind.waitUntilExit()
        try #require(valgrind.terminationStatus == 0, "valgrind failed")

        // The reference reads the records its own way: split lines, skip `==`.
        let text = try String(contentsOfFile: log.path, encoding: .utf8)
        var model = referenceModel()
        var records: UInt64 = 0
        var banners: UInt64 = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            if line.hasPrefix("==") { banners += 1; continue }
            let fields = line.split(separator: " ")
            let parts = fields[1].split(separator: ",")
            let kind: AccessKind = fields[0] == "I" ? .fetch : fields[0] == "L" ? .read : .write
            model.access(kind, UInt64(parts[0], radix: 16)!, bytes: UInt64(parts[1])!)
            records += 1
        }

        var reader = try LackeyReader(path: log.path)
        var runner = StreamRunner(configuration: smallConfiguration())
        try runner.run(&reader, progress: nil)

        #expect(records > 10_000)
        #expect(runner.records == records)
        #expect(reader.skippedLines == banners)
        #expect(reader.bytesRead == UInt64(text.utf8.count))
        #expect(predicted(runner.system) == model.statistics)
        #expect(runner.system.statistic("faults.oom") == 0)
    }

    // MARK: Lackey syntax

    @Test("Valgrind's banner lines are skipped and counted; blank lines are skipped")
    func bannerLines() throws {
        let read = try readLackey("""
        ==1234== Lackey, an example Valgrind tool
        ==1234== 

        I  0401ab70,3
           
         L 1fff000698,8
        ==1234== Counted 1 call to main()
        """)
        #expect(read.error == nil)
        #expect(read.skipped == 3)
        #expect(read.records == [
            MemoryAccess(kind: .fetch, address: VirtualAddress(0x401ab70), bytes: 3),
            MemoryAccess(kind: .read, address: VirtualAddress(0x1fff000698), bytes: 8),
        ])
    }

    @Test("M is one access with write intent: a single DTLB lookup")
    func modifyIsOneWrite() throws {
        let read = try readLackey(" S 04000000,8\n M 04000000,4\n M 04000ffe,4\n")
        #expect(read.records == [
            MemoryAccess(kind: .write, address: VirtualAddress(0x400_0000), bytes: 8),
            MemoryAccess(kind: .write, address: VirtualAddress(0x400_0000), bytes: 4),
            MemoryAccess(kind: .write, address: VirtualAddress(0x400_0ffe), bytes: 4),
        ])
        let file = try TemporaryFile("m.lackey", text: " S 04000000,8\n M 04000000,4\n")
        defer { file.remove() }
        var reader = try LackeyReader(path: file.path)
        var runner = StreamRunner(configuration: smallConfiguration())
        try runner.run(&reader, progress: nil)
        let system = runner.system
        // The store: miss, miss, walk, #PF (demand zero), then miss, miss, walk.
        // The modify: one hit, no load before it.
        #expect(system.statistic("accesses") == 2)
        #expect(system.statistic("tlb.l1d.hits") == 1)
        #expect(system.statistic("tlb.l1d.misses") == 2)
        #expect(system.statistic("faults.demand_zero") == 1)
        #expect(system.statistic("faults.zero_page") == 0)
    }

    @Test("a fault's attempt counts its misses and walk, and its retry looks up again from L1")
    func faultRetryCounts() throws {
        // The load: miss, miss, walk, #PF (zero page), retry: miss, miss, walk.
        // The store: the read-only entry is dropped in L1D and in L2 (two
        // misses), walk, #PF (zero-page COW break), retry: miss, miss, walk.
        let file = try TemporaryFile("retry.lackey", text: " L 04000000,8\n S 04000000,8\n")
        defer { file.remove() }
        var reader = try LackeyReader(path: file.path)
        var runner = StreamRunner(configuration: smallConfiguration())
        try runner.run(&reader, progress: nil)
        let expected: [String: UInt64] = [
            "accesses": 2, "tlb.l1d.hits": 0, "tlb.l1d.misses": 4, "tlb.l2.hits": 0, "tlb.l2.misses": 4,
            "walks": 4, "faults.pf": 2, "faults.zero_page": 1, "faults.demand_zero": 1, "invlpg": 1,
        ]
        let actual = Dictionary(uniqueKeysWithValues: expected.keys.map { ($0, runner.system.statistic($0) ?? 0) })
        #expect(actual == expected)
    }

    @Test("an access that crosses a page looks up each page it touches")
    func crossingAccess() throws {
        let file = try TemporaryFile("x.lackey", text: " S 04000ffc,8\n L 04000ffc,8\nI  04000fff,2\n")
        defer { file.remove() }
        var reader = try LackeyReader(path: file.path)
        var runner = StreamRunner(configuration: smallConfiguration())
        try runner.run(&reader, progress: nil)
        let system = runner.system
        #expect(system.statistic("accesses") == 3)
        #expect(system.statistic("faults.demand_zero") == 2)
        #expect(system.statistic("tlb.l1d.misses") == 4)
        #expect(system.statistic("tlb.l1d.hits") == 2)
        #expect(system.statistic("tlb.l1i.misses") == 2)
        #expect(system.statistic("tlb.l2.hits") == 2)
    }

    @Test("a bad Lackey line names file, line, column and what was expected",
          arguments: [
            ("I  0401ab70,3\n X 1234,8\n", "t.lackey:2:2: expected a Lackey record ('I', ' L', ' S' or ' M' then ADDRESS,SIZE) or a Valgrind '==' line"),
            ("Invalid read\n", "t.lackey:1:1: expected a Lackey record ('I', ' L', ' S' or ' M' then ADDRESS,SIZE) or a Valgrind '==' line"),
            (" L 0x1234,8\n", "t.lackey:1:4: expected a hexadecimal address (without 0x)"),
            (" L 12g4,8\n", "t.lackey:1:4: expected a hexadecimal address (without 0x)"),
            (" L ,8\n", "t.lackey:1:4: expected a hexadecimal address (without 0x)"),
            (" L 1234 8\n", "t.lackey:1:8: expected ',' and a size after the address"),
            (" L 1234\n", "t.lackey:1:8: expected ',' and a size after the address"),
            (" L 1234,\n", "t.lackey:1:9: expected a decimal size"),
            (" L 1234,z\n", "t.lackey:1:9: expected a decimal size"),
            (" L 1234,0\n", "t.lackey:1:9: size 0 is out of range (1 to 4096)"),
            (" S 1234,99999999999999999999\n", "t.lackey:1:9: size 99999999999999999999 is out of range (1 to 4096)"),
            (" L 1234,8 x\n", "t.lackey:1:11: unexpected text after the size"),
            (" L 11112222333344445,8\n", "t.lackey:1:4: address does not fit in 64 bits"),
          ])
    func lackeyErrors(text: String, message: String) throws {
        let read = try readLackey(text)
        #expect(read.error?.description == message)
    }

    @Test("a Lackey line longer than the limit is an error at the column past it")
    func overlongLine() throws {
        let long = " L " + String(repeating: "0", count: 5000) + ",8"
        let read = try readLackey("I  0401ab70,3\n\(long)\n")
        #expect(read.records.count == 1)
        #expect(read.error?.description == "t.lackey:2:4097: line longer than 4096 characters")
    }

    @Test("a bad record stops the run, which keeps what it ran before it")
    func runStopsAtBadRecord() throws {
        let file = try TemporaryFile("bad.lackey", text: "==1== banner\n S 04000000,8\n L 04000000,8\n L nope\n L 04000000,8\n")
        defer { file.remove() }
        var reader = try LackeyReader(source: ByteSource(path: file.path), file: "bad.lackey")
        var runner = StreamRunner(configuration: smallConfiguration())
        #expect(throws: TraceError(file: "bad.lackey", line: 4, column: 4, message: "expected a hexadecimal address (without 0x)")) {
            try runner.run(&reader, progress: nil)
        }
        #expect(runner.records == 2)
        #expect(runner.system.statistic("accesses") == 2)
        #expect(runner.histogram.counts.reduce(0, +) == 2)
    }

    // MARK: ChampSim

    @Test("a truncated last ChampSim record names its number and byte offset; the records before it run")
    func truncatedChampSimRecord() throws {
        var generator = StreamedTraceGenerator(seed: 5)
        let trace = generator.champSim(records: 2)
        let file = try TemporaryFile("t.champsim", contents: trace.bytes + [UInt8](repeating: 0x41, count: 20))
        defer { file.remove() }
        var reader = try ChampSimReader(source: ByteSource(path: file.path), file: "t.champsim")
        var runner = StreamRunner(configuration: smallConfiguration())
        #expect(throws: TraceError(file: "t.champsim", line: 3, column: 1,
                                   message: "record 3 at byte offset 128 is truncated: 20 of 64 bytes")) {
            try runner.run(&reader, progress: nil)
        }
        #expect(runner.records == UInt64(trace.accesses.count))
        #expect(reader.records == 2)
    }

    @Test("a ChampSim record yields its fetch, then its loads, then its stores, skipping zero operands")
    func champSimOrder() throws {
        var record = [UInt8](repeating: 0, count: 64)
        func put(_ value: UInt64, at offset: Int) {
            for b in 0..<8 { record[offset + b] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(b))) }
        }
        put(0x40_1000, at: 0)
        put(0x60_0008, at: 24)  // destination_memory[1]
        put(0x50_0000, at: 40)  // source_memory[1]
        put(0x50_1000, at: 56)  // source_memory[3]
        let file = try TemporaryFile("one.champsim", contents: record)
        defer { file.remove() }
        var reader = try ChampSimReader(path: file.path)
        let (records, error) = readAll(&reader)
        #expect(error == nil)
        #expect(records == [
            MemoryAccess(kind: .fetch, address: VirtualAddress(0x40_1000), bytes: 1),
            MemoryAccess(kind: .read, address: VirtualAddress(0x50_0000), bytes: 8),
            MemoryAccess(kind: .read, address: VirtualAddress(0x50_1000), bytes: 8),
            MemoryAccess(kind: .write, address: VirtualAddress(0x60_0008), bytes: 8),
        ])
    }

    // MARK: Address space

    @Test("page 0 is unmapped: a NULL access is a SIGSEGV; the rest of the user half is mapped on demand")
    func nullIsSegmentationFault() throws {
        let file = try TemporaryFile("null.lackey", text: " L 00000000,8\n L 00001000,8\n S 7ffffffff000,8\n L 800000000000,8\n")
        defer { file.remove() }
        var reader = try LackeyReader(path: file.path)
        var runner = StreamRunner(configuration: smallConfiguration())
        try runner.run(&reader, progress: nil)
        #expect(runner.system.statistic("faults.segv") == 2)
        #expect(runner.system.statistic("accesses") == 2)
        #expect(runner.system.statistic("faults.zero_page") == 1)
        #expect(runner.system.statistic("faults.demand_zero") == 1)
    }

    @Test("a sparse streamed trace keeps its page tables compact: under 10% of 4 KiB of host memory per table page",
          arguments: [UInt64(1) << 21, 1 << 30])
    func sparseTraceHasCompactPageTables(stride: UInt64) throws {
        // One load in each of 2,048 regions of `stride` bytes from 512 GiB on:
        // with 2 MiB every page table holds one entry and the four directories
        // over them are full; with 1 GiB the directories hold one entry too
        // and the four tables above them are full.
        let regions: UInt64 = 2048
        var text = "==1== Lackey, an example Valgrind tool\n"
        for region in 0..<regions {
            text += " L \(String(0x80_0000_0000 + region * stride + (region % 512) << 12 + 8, radix: 16)),8\n"
        }
        let file = try TemporaryFile("sparse.lackey", text: text)
        defer { file.remove() }
        var reader = try LackeyReader(path: file.path)
        var runner = StreamRunner(configuration: smallConfiguration())
        try runner.run(&reader, progress: nil)
        let system = runner.system
        #expect(system.statistic("faults.zero_page") == regions)
        let tables = Int(system.statistic("frames.pagetable") ?? 0)
        #expect(tables >= Int(regions) + 2)
        let memory = system.machine.memory
        // Tables with more than 8 entries take 4 KiB each: the 4 full ones
        // (2,048 = 4 x 512 entries). Every other one is compact.
        #expect(memory.fullStores == 4)
        #expect(memory.compactStores >= Int(regions))
        let perTable = memory.storeBytes / tables
        #expect(perTable < 4096 / 10, "\(perTable) bytes per page-table page")
    }

    @Test("progress is reported every interval of records with the bytes read (2^20 by default)")
    func progressReports() throws {
        let line = Array("I  401000,1\n".utf8)
        let file = try TemporaryFile("many.lackey", contents: Array([[UInt8]](repeating: line, count: 2500).joined()))
        defer { file.remove() }
        var reader = try LackeyReader(path: file.path)
        var runner = StreamRunner(configuration: smallConfiguration())
        #expect(runner.progressInterval == 1 << 20)
        runner.progressInterval = 1024
        var reports: [[UInt64]] = []
        try runner.run(&reader) { records, bytes in reports.append([records, bytes]) }
        #expect(reports == [[1024, UInt64(1024 * line.count)], [2048, UInt64(2048 * line.count)]])
        #expect(runner.records == 2500)
    }

    // MARK: Byte source and format detection

    @Test("a file that cannot be opened is named with the system's reason")
    func openError() {
        #expect(throws: ByteSourceError(path: "/nonexistent/t.lackey", reason: .cannotOpen,
                                        message: "cannot open: No such file or directory")) {
            _ = try ByteSource(path: "/nonexistent/t.lackey")
        }
        do {
            _ = try ByteSource(path: "/nonexistent/t.lackey")
            Issue.record("opened a file that does not exist")
        } catch {
            #expect(error.description == "/nonexistent/t.lackey: cannot open: No such file or directory")
        }
        #expect(throws: ByteSourceError(path: "/", reason: .cannotOpen, message: "cannot open: Is a directory")) {
            _ = try ByteSource(path: "/")
        }
    }

    @Test("lines across buffer refills come back whole, and the size of a file is known")
    func linesAcrossRefills() throws {
        var random = SeededRandom(seed: 99)
        let lines = (0..<30_000).map { i in String(repeating: "x", count: Int(random.next() % 40)) + "\(i)" }
        let text = lines.joined(separator: "\n")   // no final newline
        let file = try TemporaryFile("lines.txt", text: text)
        defer { file.remove() }
        let source = try ByteSource(path: file.path)
        #expect(source.totalBytes == UInt64(text.utf8.count))
        var read: [String] = []
        while let line = try source.withNextLine({ String(decoding: $0, as: UTF8.self) }) { read.append(line) }
        #expect(read == lines)
        #expect(source.bytesRead == UInt64(text.utf8.count))
        #expect(try source.isAtEnd)
    }

    @Test("a pipe has no known size and reads like a file")
    func pipeHasNoSize() throws {
        var descriptors: [Int32] = [0, 0]
        try #require(pipe(&descriptors) == 0)
        let payload = Array("==1== x\nI  401000,1\n".utf8)
        #expect(write(descriptors[1], payload, payload.count) == payload.count)
        close(descriptors[1])
        defer { close(descriptors[0]) }
        let source = try ByteSource(path: "/dev/fd/\(descriptors[0])")
        #expect(source.totalBytes == nil)
        #expect(try TraceFormat.detect(source) == .lackey)
        var reader = LackeyReader(source: source)
        let (records, error) = readAll(&reader)
        #expect(error == nil)
        #expect(records == [MemoryAccess(kind: .fetch, address: VirtualAddress(0x401000), bytes: 1)])
        #expect(reader.skippedLines == 1)
    }

    @Test("--format names each format; detection goes by extension, then by the first bytes")
    func formatDetection() {
        #expect(TraceFormat(name: "mmt") == .mmt)
        #expect(TraceFormat(name: "lackey") == .lackey)
        #expect(TraceFormat(name: "champsim") == .champsim)
        #expect(TraceFormat(name: "pin") == nil)
        #expect(TraceFormat.detect(path: "a.mmt", firstBytes: Array("==1== x\n".utf8)) == .mmt)
        #expect(TraceFormat.detect(path: "a.out", firstBytes: Array("==1== Lackey\n".utf8)) == .lackey)
        #expect(TraceFormat.detect(path: "a.out", firstBytes: Array("\n\nI  0401ab70,3\n".utf8)) == .lackey)
        #expect(TraceFormat.detect(path: "a.out", firstBytes: Array(" M 0401ab70,3\n".utf8)) == .lackey)
        #expect(TraceFormat.detect(path: "a.trace", firstBytes: [0x34, 0x12, 0x40, 0, 0, 0, 0, 0]) == .champsim)
        #expect(TraceFormat.detect(path: "a.txt", firstBytes: Array("# a trace\nprocess 1\n".utf8)) == .mmt)
        // A text trace whose size is a multiple of 64 is still text.
        #expect(TraceFormat.detect(path: "a.txt", firstBytes: Array(String(repeating: "process 1 \n", count: 64).utf8)) == .mmt)
    }
}
