#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A report file written under a temporary name and renamed into place when
/// complete, so an interrupted run never leaves a half-written file.
public struct AtomicFile {
    public let path: String
    let temporaryPath: String
    private var handle: UnsafeMutablePointer<FILE>?

    /// Opens `path.tmp-PID` for writing; nil with a message when it cannot.
    public static func create(_ path: String) -> Result<AtomicFile, TraceError> {
        let temporary = "\(path).tmp-\(getpid())"
        guard let handle = fopen(temporary, "wb") else {
            return .failure(TraceError(file: path, line: 0, column: 0, message: "cannot write: \(String(cString: strerror(errno)))"))
        }
        return .success(AtomicFile(path: path, temporaryPath: temporary, handle: handle))
    }

    private init(path: String, temporaryPath: String, handle: UnsafeMutablePointer<FILE>) {
        self.path = path
        self.temporaryPath = temporaryPath
        self.handle = handle
    }

    public mutating func write(_ text: String) {
        guard let handle else { return }
        var text = text
        text.withUTF8 { bytes in _ = fwrite(bytes.baseAddress, 1, bytes.count, handle) }
    }

    /// Closes the file and renames it into place; false (and the temporary
    /// removed) when writing failed.
    public mutating func commit() -> Bool {
        guard let handle else { return false }
        self.handle = nil
        let failed = ferror(handle) != 0
        if fclose(handle) != 0 || failed {
            unlink(temporaryPath)
            return false
        }
        return rename(temporaryPath, path) == 0
    }

    /// Drops the temporary file (an interrupted or failed run).
    public mutating func abandon() {
        if let handle { fclose(handle) }
        handle = nil
        unlink(temporaryPath)
    }
}
