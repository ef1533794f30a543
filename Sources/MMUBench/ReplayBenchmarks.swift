#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import MMUHardware
import MMUKernel
import MMUTrace

/// End-to-end replay of generated real-format trace files: read, parse and
/// emulate (`mmusim run --format lackey|champsim` without the report).
extension Benchmark {
    /// Lackey lines over 256 pages (data) and 16 pages (code): `I`, ` L`, ` S`, ` M`.
    static func writeLackey(lines: UInt64, to path: String) {
        guard let file = fopen(path, "wb") else { return }
        defer { fclose(file) }
        var random = XorShift(state: 0x2545_F491_4F6C_DD1D)
        var text = ""
        text.reserveCapacity(1 << 16)
        for i in 0..<lines {
            let r = random.next()
            switch r & 3 {
            case 0: text += "I  " + String(0x40_0000 + (r >> 8) & 0xFFFF, radix: 16) + ",4\n"
            case 1: text += " L " + String(0x1000_0000 + (r >> 8) & 0xFF_FFF8, radix: 16) + ",8\n"
            case 2: text += " S " + String(0x1000_0000 + (r >> 8) & 0xFF_FFF8, radix: 16) + ",8\n"
            default: text += " M " + String(0x1000_0000 + (r >> 8) & 0xFF_FFF8, radix: 16) + ",4\n"
            }
            if text.utf8.count > 60_000 || i == lines - 1 {
                text.withUTF8 { _ = fwrite($0.baseAddress, 1, $0.count, file) }
                text.removeAll(keepingCapacity: true)
            }
        }
    }

    /// ChampSim records: an ip, one load and (every other record) one store.
    static func writeChampSim(records: UInt64, to path: String) {
        guard let file = fopen(path, "wb") else { return }
        defer { fclose(file) }
        var random = XorShift(state: 0x9E37_79B9_7F4A_7C15)
        var record = [UInt8](repeating: 0, count: 64)
        func put(_ value: UInt64, at offset: Int) {
            for i in 0..<8 { record[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
        }
        for i in 0..<records {
            let r = random.next()
            for k in 0..<64 { record[k] = 0 }
            put(0x40_0000 + (r >> 8) & 0xFFFF, at: 0)                                   // ip
            if i & 1 == 0 { put(0x1000_0000 + (r >> 24) & 0xFF_FFF8, at: 16) }         // destination_memory[0]
            put(0x1000_0000 + (r >> 40) & 0xFF_FFF8, at: 32)                            // source_memory[0]
            _ = record.withUnsafeBytes { fwrite($0.baseAddress, 1, 64, file) }
        }
    }

    static func replayPath(_ name: String, _ size: UInt64) -> String { "/tmp/mmusim-bench-\(getpid())-\(name)-\(size)" }

    /// The configuration of the `-l1` replays (the speed issue's): one 4 KiB
    /// L1 DTLB of 64 entries, 4 ways (the default's), and no L2 TLB.
    static var l1Only: Configuration {
        var configuration = Configuration()
        configuration.geometry.l1dEntries = 64
        configuration.geometry.l1dWays = 4
        configuration.geometry.l2Entries = 0
        return configuration
    }

    @inline(never)
    static func replay(_ format: TraceFormat, _ path: String,
                       configuration: Configuration = Configuration()) -> (UInt64, UInt64) {
        guard let source = try? ByteSource(path: path) else { return (0, 0) }
        var runner = StreamRunner(configuration: configuration)
        var lines: UInt64 = 0
        switch format {
        case .lackey:
            var reader = LackeyReader(source: source, file: path)
            try? runner.run(&reader)
            lines = UInt64(reader.line)
        case .champsim:
            var reader = ChampSimReader(source: source, file: path)
            try? runner.run(&reader)
            lines = reader.records
        case .mmt:
            break
        }
        return (lines, (runner.system.statistic("accesses") ?? 0) &+ UInt64(source.bytesRead))
    }

    /// Reads and decodes every record (`read(into:count:)`, as a replay
    /// does) and emulates nothing: the reader's share of a replay.
    @inline(never)
    static func decode(_ format: TraceFormat, _ path: String) -> (UInt64, UInt64) {
        guard let source = try? ByteSource(path: path) else { return (0, 0) }
        let batch = UnsafeMutableBufferPointer<MemoryAccess>.allocate(capacity: StreamRunner.batchSize)
        defer { batch.deallocate() }
        var sum: UInt64 = 0
        func drain<R: MemoryTraceReader>(_ reader: inout R) {
            var count = batch.count
            while count == batch.count {
                do { try reader.read(into: batch, count: &count) } catch { return }
                for access in batch[0..<count] { sum &+= access.address.rawValue &+ access.bytes }
            }
        }
        switch format {
        case .lackey:
            var reader = LackeyReader(source: source, file: path)
            drain(&reader)
            return (UInt64(reader.line), sum)
        case .champsim:
            var reader = ChampSimReader(source: source, file: path)
            drain(&reader)
            return (reader.records, sum)
        case .mmt:
            return (0, 0)
        }
    }

    /// Writes the generated file of `size` lines or records, once (untimed).
    static func prepareReplay(_ format: TraceFormat, _ size: UInt64) -> System {
        let path = replayPath(format == .lackey ? "lackey" : "champsim", size)
        if access(path, F_OK) != 0 {
            if format == .lackey { writeLackey(lines: size, to: path) } else { writeChampSim(records: size, to: path) }
        }
        return System(configuration: Configuration())
    }

    // Each replay's timed work is one call of `replay` or `decode`, never
    // inlined, so callgrind can count exactly it:
    // `--toggle-collect='*BenchmarkV6replay*' --toggle-collect='*BenchmarkV6decode*'`.

    /// The replay benchmarks; each writes its trace file once (untimed).
    static let replays: [Benchmark] = [
        Benchmark(name: "lackey-parse", unit: "lines",
                  summary: "replay a generated Lackey file (2M lines, ~30 MB): read, parse, emulate; MB/s = lines/s x bytes per line (~15)",
                  defaultSize: 2_000_000, prepare: { prepareReplay(.lackey, $0) },
                  run: { _, lines in let (units, sum) = replay(.lackey, replayPath("lackey", lines)); return (units, sum) }),
        Benchmark(name: "lackey-l1", unit: "lines",
                  summary: "lackey-parse with one 64-entry 4-way L1 DTLB and no L2 TLB (the speed issue's configuration)",
                  defaultSize: 2_000_000, prepare: { prepareReplay(.lackey, $0) },
                  run: { _, lines in let (units, sum) = replay(.lackey, replayPath("lackey", lines), configuration: l1Only); return (units, sum) }),
        Benchmark(name: "lackey-decode", unit: "lines",
                  summary: "read and decode lackey-parse's file without emulating it (the reader alone)",
                  defaultSize: 2_000_000, prepare: { prepareReplay(.lackey, $0) },
                  run: { _, lines in let (units, sum) = decode(.lackey, replayPath("lackey", lines)); return (units, sum) }),
        Benchmark(name: "champsim-parse", unit: "records",
                  summary: "replay a generated ChampSim file (1M 64-byte records, 64 MB): read, decode, emulate",
                  defaultSize: 1_000_000, prepare: { prepareReplay(.champsim, $0) },
                  run: { _, records in let (units, sum) = replay(.champsim, replayPath("champsim", records)); return (units, sum) }),
        Benchmark(name: "champsim-l1", unit: "records",
                  summary: "champsim-parse with one 64-entry 4-way L1 DTLB and no L2 TLB",
                  defaultSize: 1_000_000, prepare: { prepareReplay(.champsim, $0) },
                  run: { _, records in let (units, sum) = replay(.champsim, replayPath("champsim", records), configuration: l1Only); return (units, sum) }),
        Benchmark(name: "champsim-decode", unit: "records",
                  summary: "read and decode champsim-parse's file without emulating it (the reader alone)",
                  defaultSize: 1_000_000, prepare: { prepareReplay(.champsim, $0) },
                  run: { _, records in let (units, sum) = decode(.champsim, replayPath("champsim", records)); return (units, sum) }),
    ]
}

extension Benchmark {
    /// Deletes the trace files this process generated.
    static func removeReplayFiles() {
        var found = glob_t()
        defer { globfree(&found) }
        guard glob("/tmp/mmusim-bench-\(getpid())-*", 0, nil, &found) == 0 else { return }
        for i in 0..<Int(found.gl_pathc) {
            if let path = found.gl_pathv[i] { unlink(path) }
        }
    }
}
