#if canImport(Glibc)
import Glibc
#endif
import MMUTrace

/// What the report says about the machine it ran on.
public struct HostDescription: Sendable {
    public var summary: String

    public init(summary: String) {
        self.summary = summary
    }

    /// This host: kernel, CPU model, CPUs, clock, hypervisor flag, THP setting.
    public static func current() -> HostDescription {
        var parts: [String] = []
        var names = utsname()
        if uname(&names) == 0 {
            func field<T>(_ value: T) -> String {
                withUnsafeBytes(of: value) { bytes in
                    String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
                }
            }
            parts.append("\(field(names.sysname)) \(field(names.release)) \(field(names.machine))")
        }
        var hypervisor = false
        var megahertz: String? = nil
        if let cpuinfo = HostFile.read("/proc/cpuinfo") {
            for line in cpuinfo.split(separator: "\n") {
                if line.hasPrefix("model name"), let colon = line.firstIndex(of: ":"), parts.count < 2 {
                    parts.append(trimmed(line[line.index(after: colon)...]))
                }
                if line.hasPrefix("cpu MHz"), let colon = line.firstIndex(of: ":"), megahertz == nil {
                    megahertz = trimmed(line[line.index(after: colon)...])
                }
                if line.hasPrefix("flags"), line.split(separator: " ").contains("hypervisor") { hypervisor = true }
            }
        }
        parts.append("\(sysconf(Int32(_SC_NPROCESSORS_ONLN))) CPUs")
        if let megahertz { parts.append("cpu MHz \(megahertz)") }
        parts.append(hypervisor ? "under a hypervisor" : "no hypervisor flag")
        if let thp = HostFile.read("/sys/kernel/mm/transparent_hugepage/enabled") {
            parts.append("THP " + trimmed(thp.split(separator: "\n").first ?? "?"))
        }
        return HostDescription(summary: parts.joined(separator: ", "))
    }

    static func trimmed(_ text: Substring) -> String {
        String(text.drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}

/// Reading the kernel's files about the host (/proc, /sys).
enum HostFile {
    /// The whole of `path` as text, or nil when it cannot be read.
    static func read(_ path: String) -> String? {
        guard let source = try? ByteSource(path: path) else { return nil }
        var bytes: [UInt8] = []
        while true {
            guard let chunk = try? source.withNextBytes(ByteSource.bufferSize, { Array($0) }) else { return nil }
            if chunk.isEmpty { return String(decoding: bytes, as: UTF8.self) }
            bytes += chunk
        }
    }
}
