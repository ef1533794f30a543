/// Reading a text input whole (an `.mmt` trace, a config file, a sweep file,
/// a result table): in one pass through a `ByteSource`, so a file, a FIFO, a
/// process substitution (`/dev/fd/N`), standard input (`-`) and a gzip/xz
/// file all work, and never past a size limit (docs/robustness.md).
///
/// Lines end at `\n`; a `\r` before it (CRLF) is dropped. Bytes that are not
/// UTF-8 become U+FFFD (harmless in comments; a directive holding one is
/// refused by its reader with the byte shown).
public enum TextInput {
    /// What is being read, and how much of it is accepted.
    public struct Limit: Sendable {
        /// Most bytes accepted.
        public var bytes: Int
        /// What the message calls the input.
        public var what: String

        public init(bytes: Int, what: String) {
            self.bytes = bytes
            self.what = what
        }

        /// An `.mmt` trace: 512 MiB (it is read and checked whole before it runs).
        public static let trace = Limit(bytes: 512 << 20, what: ".mmt trace")
        /// A `--config` file: 1 MiB.
        public static let configuration = Limit(bytes: 1 << 20, what: "configuration file")
        /// A sweep's experiment file (`--file`): 1 MiB.
        public static let experiment = Limit(bytes: 1 << 20, what: "experiment file")
        /// A result table, a timeline or a cell file read back: 512 MiB.
        public static let results = Limit(bytes: 512 << 20, what: "result file")
    }

    /// The whole text of `path` (`-`: standard input), or where and why not.
    public static func read(_ path: String, limit: Limit) -> Result<String, TraceError> {
        do throws(ByteSourceError) {
            return read(try ByteSource.opening(path), limit: limit)
        } catch {
            return .failure(TraceError(file: path, line: 0, column: 0, message: error.message))
        }
    }

    /// The whole text `source` has left, or where and why not.
    public static func read(_ source: ByteSource, limit: Limit) -> Result<String, TraceError> {
        let name = source.path == "-" ? "<stdin>" : source.path
        var bytes: [UInt8] = []
        var line = 0
        do throws(ByteSourceError) {
            while true {
                line += 1
                let fits: Bool? = try source.withNextLine { view in
                    var count = view.count
                    if count > 0 && view[count - 1] == UInt8(ascii: "\r") { count -= 1 }
                    guard bytes.count + count + 1 <= limit.bytes else { return false }
                    bytes.append(contentsOf: UnsafeBufferPointer(rebasing: view[0..<count]))
                    bytes.append(UInt8(ascii: "\n"))
                    return true
                }
                guard let fits else { break }
                guard fits else {
                    return .failure(TraceError(file: name, line: line, column: 1,
                                               message: "the \(limit.what) is larger than \(describe(limit.bytes)), the limit"))
                }
                if Signals.stopRequested {
                    return .failure(TraceError(file: name, line: line, column: 1, message: "interrupted while reading"))
                }
            }
        } catch {
            if error.reason == .lineTooLong {
                return .failure(TraceError(file: name, line: line, column: ByteSource.maximumLineLength + 1, message: error.message))
            }
            return .failure(TraceError(file: name, line: line, column: 1, message: error.message))
        }
        return .success(String(decoding: bytes, as: UTF8.self))
    }

    /// `512 MiB`, `1 MiB`, or bytes.
    static func describe(_ bytes: Int) -> String {
        bytes >= 1 << 20 && bytes % (1 << 20) == 0 ? "\(bytes >> 20) MiB" : "\(bytes) bytes"
    }
}
