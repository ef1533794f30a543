#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// `--max-memory BYTES` (`run`, `check`, `sweep`): the host memory a command
/// may hold. The polls that look for SIGINT between records, directives and
/// cells also ask `passed()`, which reads the process's resident size from
/// `/proc/self/statm` at most every 5 ms of the run; once it is above the
/// limit the command stops as on SIGINT (the statistics or cells complete so
/// far are printed) and exits 2 with `message`. Without the option the limit
/// is 3/4 of the machine's physical memory (`MemTotal`), so a run that would
/// push the host into swap or the OOM killer stops cleanly instead.
final class MemoryGuard: Sendable {
    static let option = Option<UInt64>(
        "--max-memory", value: "BYTES",
        help: "stops (exit 2, the results so far printed) when the host memory held passes BYTES\n"
            + "(K, M, G, T suffixes: 512M, 4G; default 3/4 of physical memory)",
        read: parse)

    /// The limit in bytes; nil when neither the option nor the machine gives one.
    let limit: UInt64?
    /// The argument as written (`--max-memory 64M`), or how the default was made.
    let origin: String
    /// Monotonic nanoseconds of the next look at the resident size.
    private let nextCheck = Atomic<UInt64>(0)
    /// The resident size that passed the limit; 0 until it does.
    private let passedAt = Atomic<UInt64>(0)

    init(limit: UInt64?, origin: String) {
        self.limit = limit
        self.origin = origin
    }

    /// The guard `arguments` ask for: `--max-memory`, else the default.
    convenience init(_ arguments: ParsedArguments) {
        if let bytes = arguments.value(Self.option) {
            self.init(limit: bytes, origin: arguments.written(Self.option) ?? "--max-memory \(bytes)")
        } else {
            let physical = Self.physicalMemory()
            self.init(limit: physical.map { $0 / 4 * 3 }, origin: "the default --max-memory (3/4 of physical memory)")
        }
    }

    /// Whether the process holds more than the limit (looked at every 5 ms
    /// at most; once true, true for good). Safe from several threads.
    func passed() -> Bool {
        if passedAt.load(ordering: .relaxed) != 0 { return true }
        guard let limit else { return false }
        let now = Self.monotonicNanoseconds()
        guard now >= nextCheck.load(ordering: .relaxed) else { return false }
        nextCheck.store(now &+ 5_000_000, ordering: .relaxed)
        guard let resident = Self.residentBytes(), resident > limit else { return false }
        passedAt.store(resident, ordering: .relaxed)
        return true
    }

    /// The resident size that passed the limit, nil while it has not.
    var exceeded: UInt64? {
        let resident = passedAt.load(ordering: .relaxed)
        return resident == 0 ? nil : resident
    }

    /// `mmusim: host memory passed --max-memory 64M (67108864 bytes): 70 MiB resident after WHAT; the ...`.
    func message(after what: String, kept: String) -> String {
        "mmusim: host memory passed \(origin) (\(limit ?? 0) bytes): \(Self.describe(exceeded ?? 0)) resident after \(what); \(kept)\n"
    }

    /// `BYTES`, `BYTESk`, `BYTESM`, `BYTESG`, `BYTEST` (powers of 1024; `KiB`,
    /// `MB`... and lower case accepted), more than 0.
    static func parse(_ text: String) -> Result<UInt64, InvalidValue> {
        let digits = text.prefix { $0.isASCII && $0.isNumber }
        var suffix = text.dropFirst(digits.count).lowercased()
        if suffix.hasSuffix("ib") { suffix.removeLast(2) } else if suffix.hasSuffix("b") { suffix.removeLast() }
        let shifts: [String: UInt64] = ["": 0, "k": 10, "m": 20, "g": 30, "t": 40]
        guard !digits.isEmpty, let shift = shifts[suffix], let number = UInt64(digits) else {
            return .failure(InvalidValue("takes a size in bytes, with K, M, G or T (512M, 4G)"))
        }
        let (bytes, overflow) = number.multipliedReportingOverflow(by: 1 << shift)
        guard !overflow else { return .failure(InvalidValue("\(text) is more than 2^64 bytes")) }
        guard bytes > 0 else { return .failure(InvalidValue("must be more than 0")) }
        return .success(bytes)
    }

    /// `70 MiB`, `3 GiB`, or bytes.
    static func describe(_ bytes: UInt64) -> String {
        if bytes >= 1 << 30 { return "\(bytes >> 30) GiB" }
        if bytes >= 1 << 20 { return "\(bytes >> 20) MiB" }
        return "\(bytes) bytes"
    }

    /// The machine's physical memory: `MemTotal` of /proc/meminfo, else sysconf.
    static func physicalMemory() -> UInt64? {
        if let text = readSmallFile("/proc/meminfo") {
            for line in text.split(separator: "\n") where line.hasPrefix("MemTotal:") {
                let fields = line.split(separator: " ")
                if fields.count >= 2, let kilobytes = UInt64(fields[1]) { return kilobytes * 1024 }
            }
        }
        let pages = sysconf(Int32(_SC_PHYS_PAGES)), size = sysconf(Int32(_SC_PAGESIZE))
        guard pages > 0, size > 0 else { return nil }
        return UInt64(pages) * UInt64(size)
    }

    /// The process's resident size: the second field of /proc/self/statm, in
    /// pages (nil where there is no /proc: the guard then never stops a run).
    static func residentBytes() -> UInt64? {
        guard let text = readSmallFile("/proc/self/statm") else { return nil }
        let fields = text.split(separator: " ")
        guard fields.count >= 2, let pages = UInt64(fields[1]) else { return nil }
        return pages * UInt64(max(1, sysconf(Int32(_SC_PAGESIZE))))
    }

    /// The first 4 KiB of a /proc file.
    static func readSmallFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        var count = 0
        while count < buffer.count {
            let got = buffer.withUnsafeMutableBytes { bytes -> Int in
                guard let base = bytes.baseAddress else { return -1 }
                return read(fd, base + count, bytes.count - count)
            }
            if got < 0 && errno == EINTR { continue }
            guard got > 0 else { break }
            count += got
        }
        return String(decoding: buffer[0..<count], as: UTF8.self)
    }

    static func monotonicNanoseconds() -> UInt64 {
        var now = timespec()
        #if os(Linux)
        clock_gettime(CLOCK_MONOTONIC_COARSE, &now)
        #else
        clock_gettime(CLOCK_MONOTONIC, &now)
        #endif
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }
}
