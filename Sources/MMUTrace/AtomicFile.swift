#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// The one way mmusim writes an output file (`--json=FILE`, `--timeline`,
/// sweep `--csv`/`--json`/`--out`, `plot -o`, `calibrate --write`); the rules
/// are in docs/robustness.md:
///
/// - a regular file, or a name that does not exist yet: written under a
///   temporary name in the same directory (`.NAME.tmp-PID-N`) and renamed
///   into place only when complete, so a reader sees the old file or the new
///   one, never half of one; the temporary file is removed on every failure,
///   when the object goes away uncommitted, and by the signal handler;
/// - a FIFO, character device (`/dev/stdout`, `/dev/null`) or socket: written
///   through as a stream (there is no file to replace);
/// - a directory, or a symbolic link to anything but a stream: refused with
///   a message (mmusim never replaces a link's target without being told its
///   name; `/dev/stdout` and `/dev/fd/N`, links to streams, are streams);
/// - a path that names one of the command's inputs: refused.
public final class AtomicFile {
    public let path: String
    /// The temporary name (nil when writing through to a stream).
    let temporaryPath: String?
    private var handle: UnsafeMutablePointer<FILE>?
    private var signalToken: UnsafeMutablePointer<CChar>?
    /// The first write error (an errno), 0 while none.
    private var writeError: Int32 = 0

    /// Numbers the temporary files this process makes.
    private static let counter = Atomic<Int>(0)

    /// Opens `path` for writing as the rules above say; a message when it
    /// cannot or must not. `inputs` are the files the command reads.
    public static func create(_ path: String, inputs: [String] = []) -> Result<AtomicFile, TraceError> {
        func refuse(_ message: String) -> Result<AtomicFile, TraceError> {
            .failure(TraceError(file: path, line: 0, column: 0, message: message))
        }
        guard !path.isEmpty else { return refuse("cannot write: the file name is empty") }
        var info = stat()
        let exists = FileName.withCString(path) { lstat($0, &info) } == 0
        if !exists && errno != ENOENT { return refuse("cannot write: \(systemError())") }
        for input in inputs where input != "-" && (input == path || exists && sameFile(input, info)) {
            return refuse("refusing to overwrite an input of this command (\(input))")
        }
        var kind = exists ? info.st_mode & S_IFMT : S_IFREG
        if kind == S_IFLNK {
            // A link to a stream (/dev/stdout, /dev/fd/N) is that stream; a
            // link to a file is refused rather than replaced by a new file.
            var target = stat()
            let streamTarget = FileName.withCString(path) { stat($0, &target) } == 0 && [S_IFIFO, S_IFCHR, S_IFSOCK].contains(target.st_mode & S_IFMT)
            guard streamTarget else {
                return refuse("is a symbolic link; name the file it points to (mmusim does not replace a link's target)")
            }
            kind = target.st_mode & S_IFMT
        }
        switch kind {
        case S_IFDIR:
            return refuse("is a directory")
        case S_IFIFO, S_IFCHR, S_IFSOCK:
            // A stream: write through, nothing to rename.
            var descriptor: Int32
            repeat { descriptor = FileName.withCString(path) { open($0, O_WRONLY | O_CLOEXEC) } } while descriptor < 0 && errno == EINTR && !Signals.stopRequested
            guard descriptor >= 0, let handle = fdopen(descriptor, "wb") else {
                if descriptor >= 0 { close(descriptor) }
                return refuse("cannot write: \(systemError())")
            }
            return .success(AtomicFile(path: path, temporaryPath: nil, handle: handle))
        default:
            break
        }
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { String(path[...$0]) } ?? ""
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        while true {
            let temporary = "\(directory).\(name).tmp-\(getpid())-\(counter.add(1, ordering: .relaxed).newValue)"
            let token = Signals.remember(temporary)
            let descriptor = FileName.withCString(temporary) { open($0, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666) }
            if descriptor < 0 {
                let error = errno
                Signals.forget(token)
                if error == EEXIST { continue }
                return refuse("cannot write: \(String(cString: strerror(error)))")
            }
            if exists { fchmod(descriptor, info.st_mode & 0o7777) }
            guard let handle = fdopen(descriptor, "wb") else {
                let message = systemError()
                close(descriptor)
                FileName.withCString(temporary) { _ = unlink($0) }
                Signals.forget(token)
                return refuse("cannot write: \(message)")
            }
            let file = AtomicFile(path: path, temporaryPath: temporary, handle: handle)
            file.signalToken = token
            return .success(file)
        }
    }

    private init(path: String, temporaryPath: String?, handle: UnsafeMutablePointer<FILE>) {
        self.path = path
        self.temporaryPath = temporaryPath
        self.handle = handle
    }

    deinit { abandon() }

    static func systemError() -> String { String(cString: strerror(errno)) }

    /// Whether `path` is the file `info` describes.
    static func sameFile(_ path: String, _ info: stat) -> Bool {
        var other = stat()
        return FileName.withCString(path) { stat($0, &other) } == 0 && other.st_dev == info.st_dev && other.st_ino == info.st_ino
    }

    /// Whether writing through to a stream rather than renaming a finished file.
    public var isStream: Bool { temporaryPath == nil }

    public func write(_ text: String) {
        guard let handle, writeError == 0 else { return }
        var text = text
        text.withUTF8 { bytes in
            if fwrite(bytes.baseAddress, 1, bytes.count, handle) != bytes.count { writeError = errno == 0 ? EIO : errno }
        }
    }

    /// Why the last `commit` failed, in words.
    public private(set) var failure = ""

    /// Closes the file and renames it into place (a stream: closes it);
    /// false, with `failure` set and the temporary removed, when writing failed.
    public func commit() -> Bool {
        guard let handle else { return false }
        self.handle = nil
        if fflush(handle) != 0 && writeError == 0 { writeError = errno }
        if fclose(handle) != 0 && writeError == 0 { writeError = errno }
        if writeError == 0, let temporaryPath,
           FileName.withCString(temporaryPath, { from in FileName.withCString(path) { rename(from, $0) } }) != 0 { writeError = errno }
        if writeError != 0 {
            failure = String(cString: strerror(writeError))
            if let temporaryPath { FileName.withCString(temporaryPath) { _ = unlink($0) } }
        }
        Signals.forget(signalToken)
        signalToken = nil
        return writeError == 0
    }

    /// Drops the temporary file (an interrupted or failed run).
    public func abandon() {
        if let handle { fclose(handle) }
        if handle != nil, let temporaryPath { FileName.withCString(temporaryPath) { _ = unlink($0) } }
        handle = nil
        Signals.forget(signalToken)
        signalToken = nil
    }

    /// Writes `text` to `path` whole, as `create` says; nil when written, else
    /// `path: why not`.
    public static func write(_ text: String, to path: String, inputs: [String] = []) -> String? {
        switch create(path, inputs: inputs) {
        case .success(let file):
            file.write(text)
            return file.commit() ? nil : "\(path): cannot write: \(file.failure)"
        case .failure(let error):
            return "\(error.file): \(error.message)"
        }
    }
}
