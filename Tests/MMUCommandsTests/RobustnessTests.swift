#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Testing
@testable import MMUCommands
import MMUTrace

/// The built `mmusim` beside the test bundle (`swift build --build-tests` builds both).
private let executable = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    .appendingPathComponent("mmusim").path

/// The package's Fixtures directory, whatever the current directory is.
private let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("Fixtures").path

private let trace = "process 1\nswitch 0 1\nmap 0 0x1000 2 rw\nw 0 0x1000 7\nr 0 0x1000 =7\n"
private let lackey = "I  00401000,4\n L 7ff000100,8\n S 7ff000108,8\n"

/// The names in `directory` that look like a temporary output file.
private func temporaries(in directory: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.contains(".tmp-") }
}

/// Runs the built mmusim (or, with `shell`, /bin/sh) with `arguments`; standard output goes to `output`
/// (a pipe read to the end when nil), standard input comes from `input`.
private func spawn(_ arguments: [String], input: String? = nil, output: FileHandle? = nil, shell: Bool = false,
                   whileRunning: (Process) -> Void = { _ in }) throws -> (status: Int32, out: String, err: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: shell ? "/bin/sh" : executable)
    process.arguments = arguments
    let outPipe = Pipe(), errPipe = Pipe(), inPipe = Pipe()
    process.standardOutput = output ?? outPipe
    process.standardError = errPipe
    process.standardInput = inPipe
    try process.run()
    if let input { inPipe.fileHandleForWriting.write(Data(input.utf8)) }
    try inPipe.fileHandleForWriting.close()
    whileRunning(process)
    let out = output == nil ? outPipe.fileHandleForReading.readDataToEndOfFile() : Data()
    let err = errPipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
}

/// Each command's output option, as (arguments before the path, arguments after it).
private let outputs: [(name: String, arguments: @Sendable (String, String) -> [String])] = [
    ("run --json=FILE", { directory, path in ["run", "--json=\(path)", directory + "/t.mmt"] }),
    ("run --timeline FILE", { directory, path in ["run", "--timeline", path, directory + "/t.mmt"] }),
    ("sweep --csv FILE", { directory, path in ["sweep", "--quiet", "--csv", path, directory + "/t.mmt"] }),
    ("sweep --json FILE", { directory, path in ["sweep", "--quiet", "--json", path, directory + "/t.mmt"] }),
    ("plot -o FILE", { directory, path in ["plot", "--timeline", directory + "/t.svg", "-o", path] }),
]

@Suite("Robustness: output files, standard streams, signals and odd inputs")
struct RobustnessTests {
    // MARK: Output files

    @Test("every output option refuses a directory, a link to a file and an input, and leaves no temporary file",
          arguments: outputs.indices)
    func outputRefusals(_ index: Int) throws {
        let timeline = "{\"traceEvents\": [\n{\"name\": \"access\", \"ph\": \"X\", \"ts\": 0, \"dur\": 5, \"pid\": 0, \"tid\": 0}\n]}\n"
        let directory = try temporaryDirectory(["t.mmt": trace, "t.svg": timeline, "victim": "keep me\n"])
        try FileManager.default.createDirectory(atPath: directory + "/folder.svg", withIntermediateDirectories: false)
        try FileManager.default.createSymbolicLink(atPath: directory + "/link.svg", withDestinationPath: directory + "/victim")
        let command = outputs[index].arguments
        let folder = mmusim(command(directory, directory + "/folder.svg"))
        #expect(folder.status == 2 && folder.err.contains("folder.svg: is a directory"), "\(folder.err)")
        let link = mmusim(command(directory, directory + "/link.svg"))
        #expect(link.status == 2 && link.err.contains("link.svg: is a symbolic link"), "\(link.err)")
        #expect(try String(contentsOfFile: directory + "/victim", encoding: .utf8) == "keep me\n")
        let input = outputs[index].name.hasPrefix("plot") ? directory + "/t.svg" : directory + "/t.mmt"
        let overwrite = mmusim(command(directory, input))
        #expect(overwrite.status == 2 && overwrite.err.contains("refusing to overwrite an input"), "\(overwrite.err)")
        #expect(try String(contentsOfFile: directory + "/t.mmt", encoding: .utf8) == trace)
        #expect(try String(contentsOfFile: directory + "/t.svg", encoding: .utf8) == timeline)
        let missing = mmusim(command(directory, directory + "/no/such/dir/out.svg"))
        #expect(missing.status == 2 && missing.err.contains("No such file or directory"), "\(missing.err)")
        let written = mmusim(command(directory, directory + "/out.svg"))
        #expect(written.status == 0, "\(written.err)")
        #expect(FileManager.default.fileExists(atPath: directory + "/out.svg"))
        #expect(temporaries(in: directory).isEmpty)
    }

    @Test("an output FIFO is written through as a stream, not replaced by a file")
    func outputToFIFO() throws {
        let directory = try temporaryDirectory(["t.mmt": trace])
        let fifo = directory + "/out.fifo"
        #expect(mkfifo(fifo, 0o600) == 0)
        final class Received: @unchecked Sendable { var text = "" }
        let received = Received()
        // The semaphore orders the reader's write of `received` before the test's read.
        let done = DispatchSemaphore(value: 0)
        let reader = Thread {
            defer { done.signal() }
            let descriptor = open(fifo, O_RDONLY)
            var bytes: [UInt8] = [], chunk = [UInt8](repeating: 0, count: 4096)
            while descriptor >= 0 {
                let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
                if count <= 0 { break }
                bytes += chunk[0..<count]
            }
            if descriptor >= 0 { close(descriptor) }
            received.text = String(decoding: bytes, as: UTF8.self)
        }
        reader.start()
        let result = mmusim(["run", "--json=\(fifo)", directory + "/t.mmt"])
        done.wait()
        #expect(result.status == 0, "\(result.err)")
        #expect(received.text.hasPrefix("{") && received.text.contains("\"accesses\""))
        var info = stat()
        #expect(lstat(fifo, &info) == 0 && info.st_mode & S_IFMT == S_IFIFO)
        #expect(temporaries(in: directory).isEmpty)
    }

    @Test("a regular output file is replaced whole and keeps its permissions")
    func replacesRegularFile() throws {
        let directory = try temporaryDirectory(["t.mmt": trace, "out.json": "old"])
        chmod(directory + "/out.json", 0o640)
        #expect(mmusim(["run", "--json=\(directory)/out.json", directory + "/t.mmt"]).status == 0)
        #expect(try String(contentsOfFile: directory + "/out.json", encoding: .utf8).hasPrefix("{"))
        var info = stat()
        #expect(stat(directory + "/out.json", &info) == 0 && info.st_mode & 0o777 == 0o640)
        #expect(temporaries(in: directory).isEmpty)
    }

    @Test("SIGINT and SIGTERM stop a run blocked on a FIFO, print the statistics so far and leave no temporary file",
          arguments: [(SIGINT, Int32(130)), (SIGTERM, Int32(143))])
    func signalStopsBlockedRun(_ signal: Int32, _ status: Int32) throws {
        let directory = try temporaryDirectory()
        let fifo = directory + "/trace.fifo"
        #expect(mkfifo(fifo, 0o600) == 0)
        // Read and write: the FIFO has a writer that never finishes.
        let writer = open(fifo, O_RDWR)
        defer { close(writer) }
        _ = lackey.withCString { Glibc.write(writer, $0, strlen($0)) }
        let result = try spawn(["run", "--format", "lackey", "--quiet", "--timeline", directory + "/t.json", fifo]) { process in
            // Wait until the timeline's temporary file exists: the run is reading.
            var tries = 0
            while temporaries(in: directory).isEmpty && tries < 10_000 { usleep(1_000); tries += 1 }
            usleep(50_000)
            kill(process.processIdentifier, signal)
        }
        #expect(result.status == status, "\(result.err)")
        #expect(result.out.contains("trace.records"), "\(result.out)")
        #expect(temporaries(in: directory).isEmpty)
    }

    // MARK: Standard output and error

    @Test("a full standard output (/dev/full) is an error with a message, never exit 0")
    func fullStandardOutput() throws {
        let full = try #require(FileHandle(forWritingAtPath: "/dev/full"))
        for arguments in [["keys"], ["run", fixtures + "/04-cow-copy.mmt"], ["help"]] {
            let result = try spawn(arguments, output: full)
            #expect(result.status == 2, "\(arguments)")
            #expect(result.err.contains("cannot write to standard output: No space left on device"), "\(result.err)")
        }
    }

    @Test("a standard output pipe closed by its reader ends the command quietly with 141")
    func closedPipe() throws {
        let pipe = Pipe()
        try pipe.fileHandleForReading.close()
        for arguments in [["keys"], ["run", "--events", fixtures + "/04-cow-copy.mmt"]] {
            let result = try spawn(arguments, output: pipe.fileHandleForWriting)
            #expect(result.status == 141, "\(arguments): \(result.err)")
            #expect(result.err.isEmpty, "\(result.err)")
        }
    }

    // MARK: Inputs

    @Test("standard input and a FIFO are read as .mmt when --format mmt says so")
    func mmtFromStandardInput() throws {
        let result = try spawn(["run", "--format", "mmt", "-"], input: trace)
        #expect(result.status == 0, "\(result.err)")
        #expect(result.out.contains("accesses"))
        let detected = try spawn(["run", "-"], input: trace)
        #expect(detected.status == 0, "\(detected.err)")
    }

    @Test("CRLF line ends and non-UTF-8 comments are accepted in traces, config files and sweep files")
    func crlfEverywhere() throws {
        let crlf = trace.replacingOccurrences(of: "\n", with: "\r\n") + "# caf\u{E9}\r\n"
        let directory = try temporaryDirectory([
            "t.mmt": crlf, "c.conf": "cores = 2\r\n# comment\r\nframes = 4096\r\n",
        ])
        try "trace \(directory)/t.mmt\r\nsweep frames=4096,8192\r\n".write(toFile: directory + "/e.sweep", atomically: true, encoding: .utf8)
        var bytes = Array(crlf.utf8)
        bytes += [0x23, 0x20, 0xFF, 0xFE, 0x0D, 0x0A]  // "# \xff\xfe\r\n": not UTF-8, in a comment
        FileManager.default.createFile(atPath: directory + "/latin.mmt", contents: Data(bytes))
        let run = mmusim(["run", "--config", directory + "/c.conf", directory + "/t.mmt"])
        #expect(run.status == 0, "\(run.err)")
        #expect(run.out.contains("core1."), "the config file's cores = 2 applied")
        #expect(mmusim(["run", directory + "/latin.mmt"]).status == 0)
        #expect(mmusim(["check", directory + "/t.mmt"]).status == 0)
        let sweep = mmusim(["sweep", "--quiet", "--file", directory + "/e.sweep"])
        #expect(sweep.status == 0, "\(sweep.err)")
    }

    @Test("a config file and a sweep file larger than their limit stop with the file and line named")
    func sizeLimits() throws {
        let line = "# " + String(repeating: "x", count: 1_000) + "\n"
        let big = String(repeating: line, count: 1_100)
        let directory = try temporaryDirectory(["big.conf": big, "big.sweep": big, "t.mmt": trace])
        let config = mmusim(["run", "--config", directory + "/big.conf", directory + "/t.mmt"])
        #expect(config.status == 2)
        #expect(config.err.hasPrefix("\(directory)/big.conf:1046:1: the configuration file is larger than 1 MiB, the limit"), "\(config.err)")
        let sweep = mmusim(["sweep", "--file", directory + "/big.sweep"])
        #expect(sweep.status == 2)
        #expect(sweep.err.hasPrefix("\(directory)/big.sweep:1046:1: the experiment file is larger than 1 MiB, the limit"), "\(sweep.err)")
    }

    @Test("check follows no symbolic-link loop and fails on a directory without traces")
    func checkDirectories() throws {
        let directory = try temporaryDirectory(["a.mmt": trace])
        try FileManager.default.createSymbolicLink(atPath: directory + "/loop", withDestinationPath: directory)
        let looped = mmusim(["check", directory])
        #expect(looped.status == 0, "\(looped.err)")
        #expect(looped.out.hasSuffix("1 passed, 0 failed\n"), "\(looped.out)")
        let empty = try temporaryDirectory()
        let none = mmusim(["check", empty])
        #expect(none.status == 2)
        #expect(none.err.contains("no .mmt traces in this directory"))
    }

    @Test("check reports a directory it cannot list and fails", .enabled(if: geteuid() != 0, "root reads every directory"))
    func checkUnreadable() throws {
        let directory = try temporaryDirectory(["a.mmt": trace])
        try FileManager.default.createDirectory(atPath: directory + "/locked", withIntermediateDirectories: false)
        chmod(directory + "/locked", 0)
        defer { chmod(directory + "/locked", 0o755) }
        let result = mmusim(["check", directory])
        #expect(result.status == 2)
        #expect(result.err.contains("locked: cannot list: Permission denied"), "\(result.err)")
    }

    // MARK: File names

    /// Names made of bytes that are not UTF-8 (a Latin-1 é, 0xFF) are passed
    /// by the shell as they are: the trace opens, a directory listing finds
    /// it, an output file gets exactly that name, and messages show \xNN.
    @Test("file names that are not UTF-8 open, are listed and written (sweep --out too), and are shown as \\xNN")
    func rawFileNames() throws {
        let directory = try temporaryDirectory(["plain.mmt": trace])
        let script = """
            cd "$1" || exit 9
            cp plain.mmt "$(printf 'tr\\377ce.mmt')" && rm plain.mmt
            "$0" run --json="$(printf 'out\\351.json')" "$(printf 'tr\\377ce.mmt')" || exit 3
            test -s "$(printf 'out\\351.json')" || exit 4
            "$0" check . || exit 5
            "$0" sweep --quiet --out "$(printf 'cells\\351')" "$(printf 'tr\\377ce.mmt')" >/dev/null || exit 6
            test -d "$(printf 'cells\\351')/cells" || exit 7
            "$0" run "$(printf 'no\\376.mmt')"
            """
        let result = try spawn(["-c", script, executable, directory], shell: true)
        #expect(result.status == 2, "\(result.err)")
        #expect(result.out.contains("accesses"))
        #expect(result.out.contains("ok    ./tr\\xFFce.mmt (1 assertions)\n"), "\(result.out)")
        #expect(result.err == "mmusim: no\\xFE.mmt: cannot open: No such file or directory\n")
        #expect(temporaries(in: directory).isEmpty)
    }

    // MARK: --max-memory

    /// A Lackey trace and an .mmt trace that touch 9 pages in each of many
    /// regions of 2 MiB: every region's page table holds 9 entries, one more
    /// than a compact store keeps (PhysicalMemory), so each takes 4 KiB of
    /// host memory. The Lackey trace covers 30,000 regions (120 MB of tables
    /// or more); the .mmt trace 10,000 (about 100 MB resident, parsed whole
    /// first, so that the limit passes while it runs, not while it is read).
    static func spreadTraces() throws -> String {
        func addresses(_ regions: Int) -> [String] {
            (0..<regions).flatMap { region in (0..<9).map { String(0x1_0000_0000 + region << 21 + $0 << 16, radix: 16) } }
        }
        let lackey = addresses(30_000).map { " L \($0),8\n" }.joined()
        let mmt = "process 1\nswitch 0 1\nmap 0 0x100000000 \(10_000 * 512) rw\n"
            + addresses(10_000).map { "w 0 0x\($0) 7\n" }.joined()
        return try temporaryDirectory(["spread.lackey": lackey, "spread.mmt": mmt])
    }

    @Test("run, check and sweep stop at --max-memory with what is complete printed, exit 2 and the limit named",
          .enabled(if: FileManager.default.fileExists(atPath: "/proc/self/statm"), "the resident size comes from /proc"),
          .enabled(if: !executable.contains("/.build-asan/") && !executable.contains("/.build-tsan/"),
                   "a sanitizer's shadow memory is resident too"))
    func maxMemoryStops() throws {
        let directory = try Self.spreadTraces()
        let streamed = try spawn(["run", "--quiet", "--max-memory", "48M", directory + "/spread.lackey"])
        #expect(streamed.status == 2)
        #expect(streamed.err.hasPrefix("mmusim: host memory passed --max-memory 48M (50331648 bytes): "), "\(streamed.err)")
        #expect(streamed.err.hasSuffix(" records; the statistics above are the run so far\n"))
        let records = streamed.out.split(separator: "\n").first { $0.hasPrefix("trace.records") }
            .flatMap { $0.split(separator: " ").last }.flatMap { Int($0) }
        #expect(records.map { $0 > 0 && $0 < 9 * 30_000 } == true, "\(streamed.out.suffix(200))")

        let mmt = try spawn(["run", "--max-memory=48M", directory + "/spread.mmt"])
        #expect(mmt.status == 2)
        #expect(mmt.err.contains("mmusim: host memory passed --max-memory=48M (50331648 bytes): "), "\(mmt.err)")
        #expect(mmt.err.contains("resident after \(directory)/spread.mmt:"))
        #expect(mmt.out.contains("accesses"))

        let check = try spawn(["check", "--max-memory", "48M", directory + "/spread.mmt"])
        #expect(check.status == 2)
        #expect(check.out.hasPrefix("STOP  \(directory)/spread.mmt (stopped before line "), "\(check.out)")
        #expect(check.err.hasSuffix("the results above are the traces checked so far\n"))

        let sweep = try spawn(["sweep", "--quiet", "--max-memory", "48M", directory + "/spread.mmt"])
        #expect(sweep.status == 2)
        #expect(sweep.err.hasSuffix("resident after 0 cells; 0 cells finished\n"), "\(sweep.err)")
        #expect(sweep.out.isEmpty)
        #expect(temporaries(in: directory).isEmpty)
    }

    @Test("--max-memory takes sizes with K, M, G, T and defaults to 3/4 of physical memory")
    func maxMemorySizes() throws {
        #expect(try MemoryGuard.parse("512M").get() == 512 << 20)
        #expect(try MemoryGuard.parse("4G").get() == 4 << 30)
        #expect(try MemoryGuard.parse("3gib").get() == 3 << 30)
        #expect(try MemoryGuard.parse("64KB").get() == 64 << 10)
        #expect(try MemoryGuard.parse("1T").get() == 1 << 40)
        #expect(try MemoryGuard.parse("12345").get() == 12345)
        for bad in ["", "0", "0M", "M", "-5M", "5X", "1.5G", "20000000T"] {
            #expect(throws: InvalidValue.self, "\(bad)") { try MemoryGuard.parse(bad).get() }
        }
        let result = mmusim(["run", "--max-memory", "0", "x.mmt"])
        #expect(result.status == 2 && result.err.hasPrefix("mmusim run: --max-memory 0: must be more than 0\n"))
        if let meminfo = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8),
           let line = meminfo.split(separator: "\n").first(where: { $0.hasPrefix("MemTotal:") }),
           let kilobytes = line.split(separator: " ").dropFirst().first.flatMap({ UInt64($0) }) {
            #expect(MemoryGuard.physicalMemory() == kilobytes * 1024)
        }
        let parsed = try OptionParser.parse([], options: RunCommand.declaration.allOptions).get()
        #expect(MemoryGuard(parsed).limit == MemoryGuard.physicalMemory().map { $0 / 4 * 3 })
        // The default never stops an ordinary run.
        #expect(!MemoryGuard(parsed).passed())
    }

    /// 1,024 cores with 65,536-entry L2 TLBs would be 2.8 GB of slots
    /// allocated up front; TLBs are allocated by their first fill, so a
    /// trace that uses one core runs under a 512 MiB address-space limit.
    @Test("TLB storage grows with the TLBs a trace fills, not with the configuration",
          .enabled(if: !executable.contains("/.build-asan/") && !executable.contains("/.build-tsan/"),
                   "a sanitizer's shadow memory needs terabytes of address space (.ci/sanitizers builds there)"))
    func tlbStorageIsLazy() throws {
        let directory = try temporaryDirectory(["big.mmt": "set cores 1024\n" + trace])
        let result = try spawn(["-c", "ulimit -v 524288; exec \"$0\" run --cpu zen4 --set tlb.l2.entries=65536 --set tlb.l2.ways=16 \"$1\"",
                                executable, directory + "/big.mmt"], shell: true)
        #expect(result.status == 0, "\(result.err)")
        #expect(result.out.contains("accesses"))
    }

    /// 64 threads on 64 cores, each filling a few entries of its 65,536-entry
    /// L2 TLB: filled in full, the 64 L2s alone would hold 128 MiB; holding
    /// only the pages of entries filled, the run stays under a 48 MiB
    /// resident limit (`--max-memory` measures the resident size).
    @Test("a TLB holds host memory for the entries filled, not for its size",
          .enabled(if: FileManager.default.fileExists(atPath: "/proc/self/statm"), "the resident size comes from /proc"),
          .enabled(if: !executable.contains("/.build-asan/") && !executable.contains("/.build-tsan/"),
                   "a sanitizer's shadow memory is resident too"))
    func tlbStorageGrowsWithEntries() throws {
        var text = "set cores 64\nprocess 1\nswitch 0 1\nmap 0 0x10000000 64 rw\n"
        for core in 0..<64 {
            text += "switch \(core) 1\n"
            for page in 0..<8 { text += "w \(core) 0x\(String(0x1000_0000 + ((core + page) % 64) << 12, radix: 16)) 1\n" }
        }
        let directory = try temporaryDirectory(["wide.mmt": text])
        let arguments = ["run", "--quiet", "--max-memory", "48M", "--set", "tlb.l2.entries=65536", "--set", "tlb.l2.ways=16",
                         directory + "/wide.mmt"]
        let result = try spawn(arguments)
        #expect(result.status == 0, "\(result.err)")
        #expect(result.out.contains("accesses"))
        #expect(result.out.contains("core63.accesses"))
    }
}
