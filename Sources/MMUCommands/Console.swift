#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import MMUTrace
import Synchronization

/// Where a command writes: standard output and standard error, or strings in tests.
public struct Console {
    public var out: (String) -> Void
    public var err: (String) -> Void
    /// The first failed write of the standard console (nil for test consoles).
    let failures: WriteFailures?

    public init(out: @escaping (String) -> Void, err: @escaping (String) -> Void) {
        self.out = out
        self.err = err
        failures = nil
    }

    /// The process's standard output and error, written unbuffered in order;
    /// every write is checked (`WriteFailures`).
    public static var standard: Console {
        let failures = WriteFailures()
        // Messages show a file name's bytes that are not UTF-8 as \xFF (FileName).
        return Console(out: { failures.write(1, $0) }, err: { failures.write(2, FileName.display($0)) }, failures: failures)
    }

    private init(out: @escaping (String) -> Void, err: @escaping (String) -> Void, failures: WriteFailures) {
        self.out = out
        self.err = err
        self.failures = failures
    }
}

/// The first write to standard output or error that failed: a full disk
/// (`ENOSPC`, `/dev/full`), a closed pipe (`EPIPE`: SIGPIPE is ignored), any
/// other error. After one, nothing more is written to that stream, a running
/// command is asked to stop, and `Tool.main` exits non-zero: 141 without a
/// word on `EPIPE` (what a shell reports for a process SIGPIPE killed), else 2
/// with the reason on standard error (docs/robustness.md).
final class WriteFailures: Sendable {
    private let failures = Mutex<[(descriptor: Int32, error: Int32)]>([])

    /// The descriptor and errno of the first failure, nil when every write worked.
    var failure: (descriptor: Int32, error: Int32)? { failures.withLock { $0.first } }

    func write(_ descriptor: Int32, _ text: String) {
        guard !failures.withLock({ $0.contains { $0.descriptor == descriptor } }) else { return }
        var text = text
        let error: Int32 = text.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                #if canImport(Glibc)
                let written = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                #else
                let written = Darwin.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                #endif
                if written < 0 && errno == EINTR { continue }
                if written <= 0 { return written < 0 ? errno : EIO }
                offset += written
            }
            return 0
        }
        guard error != 0 else { return }
        failures.withLock { $0.append((descriptor, error)) }
        Signals.requestStop()
    }
}

/// Reading the files a user names.
enum Files {
    /// The contents of `path` (`-`: standard input; a FIFO or `/dev/fd/N`
    /// too) within `limit`, or a message saying where and why not.
    static func read(_ path: String, limit: TextInput.Limit) -> Result<String, FileProblem> {
        TextInput.read(path, limit: limit).mapError(FileProblem.init)
    }

    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return FileName.withCString(path) { stat($0, &info) } == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// Every `.mmt` file below `directory`, sorted by path, and a message for
    /// each directory that could not be listed. Symbolic links to directories
    /// are not followed (no loop can form); links to files are taken.
    static func traces(in directory: String) -> (found: [String], problems: [String]) {
        var found: [String] = [], problems: [String] = []
        guard let dir = FileName.withCString(directory, { opendir($0) }) else {
            return ([], ["\(directory): cannot list: \(String(cString: strerror(errno)))"])
        }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { bytes in
                FileName.decode(bytes.prefix { $0 != 0 })
            }
            if name == "." || name == ".." { continue }
            names.append(name)
        }
        closedir(dir)
        for name in names.sorted() {
            let path = directory.hasSuffix("/") ? directory + name : directory + "/" + name
            var info = stat()
            guard FileName.withCString(path, { lstat($0, &info) }) == 0 else {
                problems.append("\(path): cannot read: \(String(cString: strerror(errno)))")
                continue
            }
            if info.st_mode & S_IFMT == S_IFDIR {
                let below = traces(in: path)
                found += below.found
                problems += below.problems
            } else if name.hasSuffix(".mmt") {
                found.append(path)
            }
        }
        return (found, problems)
    }
}

/// A file that could not be read: `mmusim: PATH: why` when it could not be
/// opened or read, `PATH:LINE:COLUMN: why` when a line or the size was wrong.
struct FileProblem: Error, CustomStringConvertible {
    var error: TraceError
    var description: String { error.line == 0 ? "mmusim: \(error.file): \(error.message)" : error.description }
}
