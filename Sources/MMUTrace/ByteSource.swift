#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a `ByteSource` could not hand out bytes.
public struct ByteSourceError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Reason: Hashable, Sendable {
        /// open(2) or fstat(2) failed.
        case cannotOpen
        /// read(2) failed.
        case cannotRead
        /// A line ran past `ByteSource.maximumLineLength` bytes.
        case lineTooLong
    }
    /// The path as the user gave it (`-` for standard input).
    public var path: String
    public var reason: Reason
    /// What went wrong, in words (strerror(3) for a system call).
    public var message: String

    public init(path: String, reason: Reason, message: String) {
        self.path = path
        self.reason = reason
        self.message = message
    }

    /// `path: message`.
    public var description: String { "\(path): \(message)" }
}

/// Bytes from a file or standard input, read with read(2) into one fixed
/// buffer: memory stays constant however long the trace is, and a pipe
/// (`valgrind ... --log-file=/dev/stdout | mmusim run -`) works as well as a file.
///
/// Lines and fixed-size records are handed to a closure as a view into the
/// buffer, valid only during the call, so the reading loop does not allocate.
/// A `final class` because it owns a file descriptor (closed on deinit).
public final class ByteSource {
    /// Longest line accepted, without its `\n` (a longer one is an error, not a
    /// host-memory hazard; the same limit as `MMTReader`).
    public static let maximumLineLength = MMTReader.maximumLineLength
    /// Bytes read from the descriptor at a time.
    public static let bufferSize = 1 << 16
    /// Bytes the buffer has beyond its data, never read into: a parser may load
    /// a few words past the last buffered byte (`withBufferedBytes`) without
    /// leaving the allocation; what it finds there is not input.
    public static let slack = 64

    /// The path as given; `-` is standard input.
    public let path: String
    /// The name messages give it: the path, `<stdin>` for `-`.
    public var name: String { path == "-" ? "<stdin>" : path }
    /// The size of a regular file; nil for a pipe, terminal or other stream.
    public let totalBytes: UInt64?
    // The mutable state below is read and written on every line, and a class
    // property would be checked for overlapping access at run time (a quarter
    // of a replay's instructions). It is unchecked: one reader on one thread
    // owns a ByteSource; no method calls out while it holds an access, except
    // `withNextLine`'s `body`, which gets a buffer view and cannot reach the
    // source (it is a parser of bytes); so no two accesses overlap.

    /// Bytes handed out so far (lines with their `\n`, records).
    @exclusivity(unchecked) public private(set) var bytesRead: UInt64 = 0

    private let descriptor: Int32
    private let ownsDescriptor: Bool
    /// Unconsumed bytes are `buffer[start..<end]`.
    @exclusivity(unchecked) private var buffer: [UInt8]
    @exclusivity(unchecked) private var start = 0
    @exclusivity(unchecked) private var end = 0
    /// read(2) has returned 0: no more bytes will come.
    @exclusivity(unchecked) private var reachedEnd = false
    /// The decompressor writing into `descriptor` (`gzip -dc`, `xz -dc`), reaped on deinit.
    private var decompressor: pid_t? = nil

    /// Whether the bytes come through a decompressor (`ByteSource.opening`).
    public var isDecompressed: Bool { decompressor != nil }

    /// Opens `path` for reading; `-` is standard input (not closed on deinit).
    public init(path: String) throws(ByteSourceError) {
        self.path = path
        if path == "-" {
            descriptor = 0
            ownsDescriptor = false
        } else {
            let fd = FileName.withCString(path) { open($0, O_RDONLY) }
            guard fd >= 0 else {
                throw ByteSourceError(path: path, reason: .cannotOpen, message: "cannot open: \(Self.systemError())")
            }
            descriptor = fd
            ownsDescriptor = true
        }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else {
            let message = "cannot open: \(Self.systemError())"
            if ownsDescriptor { close(descriptor) }
            throw ByteSourceError(path: path, reason: .cannotOpen, message: message)
        }
        switch info.st_mode & S_IFMT {
        case S_IFREG:
            totalBytes = UInt64(info.st_size)
        case S_IFDIR:
            if ownsDescriptor { close(descriptor) }
            throw ByteSourceError(path: path, reason: .cannotOpen, message: "cannot open: \(String(cString: strerror(EISDIR)))")
        default:
            totalBytes = nil
        }
        buffer = [UInt8](repeating: 0, count: Self.bufferSize + Self.slack)
    }

    /// The read end of a pipe a decompressor writes into (`opening`).
    init(descriptor: Int32, path: String, decompressor: pid_t) {
        self.path = path
        totalBytes = nil
        self.descriptor = descriptor
        ownsDescriptor = true
        buffer = [UInt8](repeating: 0, count: Self.bufferSize + Self.slack)
        self.decompressor = decompressor
    }

    /// Bytes already in memory, under `name` (for fuzzing and tests).
    public init(bytes: [UInt8], name: String) {
        path = name
        totalBytes = UInt64(bytes.count)
        descriptor = -1
        ownsDescriptor = false
        buffer = bytes + [UInt8](repeating: 0, count: Self.slack)
        end = bytes.count
        reachedEnd = true
    }

    deinit {
        if ownsDescriptor { close(descriptor) }
        if let decompressor {
            var status: Int32 = 0
            while waitpid(decompressor, &status, 0) < 0 && errno == EINTR {}
        }
    }

    static func systemError() -> String { String(cString: strerror(errno)) }

    /// Whether every byte has been handed out.
    public var isAtEnd: Bool {
        get throws(ByteSourceError) {
            if start == end { try fill(atLeast: 1) }
            return start == end
        }
    }

    /// Reads until at least `count` bytes are buffered or the input ends,
    /// first moving the unconsumed bytes to the front of the buffer.
    /// `count` must not exceed `bufferSize`.
    private func fill(atLeast count: Int) throws(ByteSourceError) {
        guard end - start < count, !reachedEnd else { return }
        if start > 0 {
            let pending = end - start
            if pending > 0 {
                buffer.withUnsafeMutableBytes { bytes in
                    let base = bytes.baseAddress!
                    _ = memmove(base, base + start, pending)
                }
            }
            start = 0
            end = pending
        }
        while end - start < count {
            let received = buffer.withUnsafeMutableBytes { bytes in
                read(descriptor, bytes.baseAddress! + end, bytes.count - Self.slack - end)
            }
            if received > 0 {
                end += received
            } else if received == 0 {
                reachedEnd = true
                return
            } else if errno != EINTR {
                throw ByteSourceError(path: path, reason: .cannotRead, message: "cannot read: \(Self.systemError())")
            } else if Signals.stopRequested {
                // SIGINT or SIGTERM while a FIFO or pipe had nothing to give.
                throw ByteSourceError(path: path, reason: .cannotRead, message: "cannot read: interrupted")
            }
        }
    }

    /// Calls `body` with the next line, without its `\n` (a last line without
    /// one counts too), and returns its result; nil at the end of the input.
    /// The view is valid only during the call.
    public func withNextLine<Result>(_ body: (UnsafeBufferPointer<UInt8>) -> Result) throws(ByteSourceError) -> Result? {
        var scanned = 0
        while true {
            let from = start + scanned, to = end
            let newline: Int? = buffer.withUnsafeBufferPointer { bytes in
                guard from < to, let base = bytes.baseAddress,
                      let found = memchr(base + from, Int32(UInt8(ascii: "\n")), to - from) else { return nil }
                return base.distance(to: found.assumingMemoryBound(to: UInt8.self))
            }
            if let newline {
                guard newline - start <= Self.maximumLineLength else { throw lineTooLong() }
                let lineStart = start
                start = newline + 1
                bytesRead &+= UInt64(newline + 1 - lineStart)
                return buffer.withUnsafeBufferPointer { body(UnsafeBufferPointer(rebasing: $0[lineStart..<newline])) }
            }
            scanned = end - start
            guard scanned <= Self.maximumLineLength else { throw lineTooLong() }
            if reachedEnd {
                guard scanned > 0 else { return nil }
                let lineStart = start
                start = end
                bytesRead &+= UInt64(scanned)
                return buffer.withUnsafeBufferPointer { body(UnsafeBufferPointer(rebasing: $0[lineStart..<end])) }
            }
            // Room for the longest line plus its `\n`: after moving the pending
            // bytes to the front, the buffer always has space to read into.
            try fill(atLeast: scanned + 1)
        }
    }

    /// Calls `body` with every buffered byte not yet handed out, first reading
    /// more when fewer than `count` are buffered and the input has more
    /// (`count` at most `bufferSize`), and consumes the number of bytes
    /// `body` returns (at most the bytes it was given). The view is valid
    /// only during the call; `slack` bytes past its end may be loaded, and
    /// are not input. For parsers that take many lines or records at a time.
    @inline(__always)
    public func withBufferedBytes<Result>(atLeast count: Int,
                                          _ body: (UnsafeBufferPointer<UInt8>) -> (consumed: Int, result: Result)) throws(ByteSourceError) -> Result {
        if end - start < count && !reachedEnd { try fill(atLeast: count) }
        let first = start, last = end
        let (consumed, result) = buffer.withUnsafeBufferPointer { body(UnsafeBufferPointer(rebasing: $0[first..<last])) }
        start = first + consumed
        bytesRead &+= UInt64(consumed)
        return result
    }

    private func lineTooLong() -> ByteSourceError {
        ByteSourceError(path: path, reason: .lineTooLong, message: "line longer than \(Self.maximumLineLength) characters")
    }

    /// Calls `body` with the next `count` bytes, or with fewer when the input
    /// ends first (none at the end), and consumes them. `count` is at most
    /// `bufferSize`. The view is valid only during the call.
    public func withNextBytes<Result>(_ count: Int, _ body: (UnsafeRawBufferPointer) -> Result) throws(ByteSourceError) -> Result {
        precondition(count >= 0 && count <= Self.bufferSize, "record larger than the read buffer")
        try fill(atLeast: count)
        let taken = min(count, end - start)
        let first = start
        start += taken
        bytesRead &+= UInt64(taken)
        return buffer.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[first..<(first + taken)])) }
    }

    /// Up to `count` bytes from the current position, without consuming them
    /// (to detect a format, also on a pipe that cannot be reopened).
    public func peek(upTo count: Int) throws(ByteSourceError) -> [UInt8] {
        let count = min(count, Self.bufferSize)
        try fill(atLeast: count)
        return Array(buffer[start..<min(end, start + count)])
    }
}

// MARK: Compressed traces

extension ByteSource {
    /// A compression a trace file may come in, told by its first bytes.
    public enum Compression: String, Sendable, CaseIterable {
        case gzip, xz

        /// The file's magic number: `1f 8b` (RFC 1952), `fd 37 7a 58 5a 00` (the .xz format).
        var magic: [UInt8] {
            switch self {
            case .gzip: return [0x1F, 0x8B]
            case .xz: return [0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00]
            }
        }

        /// The compression whose magic number `bytes` starts with, or nil.
        public static func detect(_ bytes: [UInt8]) -> Compression? {
            allCases.first { bytes.starts(with: $0.magic) }
        }
    }

    /// Opens `path` as `init(path:)` does, except that a gzip or xz file (told
    /// by its magic number, not its name) is read through `gzip -dc` or
    /// `xz -dc`, spawned with its output piped into this source: the trace
    /// is decompressed as it is read, in constant memory.
    public static func opening(_ path: String) throws(ByteSourceError) -> ByteSource {
        // Only a regular file is sniffed: reading the first bytes of a FIFO,
        // a pipe (/dev/fd/N) or a device would consume them.
        guard path != "-", isRegularFile(path), let compression = try Compression.detect(leadingBytes(of: path)) else {
            return try ByteSource(path: path)
        }
        var pipeEnds: [Int32] = [-1, -1]
        guard pipe(&pipeEnds) == 0 else {
            throw ByteSourceError(path: path, reason: .cannotOpen, message: "cannot open: \(systemError())")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, pipeEnds[1], 1)
        posix_spawn_file_actions_addclose(&actions, pipeEnds[0])
        posix_spawn_file_actions_addclose(&actions, pipeEnds[1])
        let words = [compression.rawValue, "-dc", "--", path]
        var argv: [UnsafeMutablePointer<CChar>?] = words.map { word in FileName.withCString(word) { strdup($0) } } + [nil]
        defer { for word in argv { free(word) } }
        var child: pid_t = 0
        let spawned = posix_spawnp(&child, compression.rawValue, &actions, nil, &argv, environ)
        close(pipeEnds[1])
        guard spawned == 0 else {
            close(pipeEnds[0])
            throw ByteSourceError(path: path, reason: .cannotOpen,
                                  message: "cannot run \(compression.rawValue) -dc: \(String(cString: strerror(spawned)))")
        }
        return ByteSource(descriptor: pipeEnds[0], path: path, decompressor: child)
    }

    /// Whether `path` (links followed) is a regular file.
    static func isRegularFile(_ path: String) -> Bool {
        var info = stat()
        return FileName.withCString(path) { stat($0, &info) } == 0 && info.st_mode & S_IFMT == S_IFREG
    }

    /// Up to six bytes from the start of the file at `path` (fewer for a short file).
    static func leadingBytes(of path: String) throws(ByteSourceError) -> [UInt8] {
        let fd = FileName.withCString(path) { open($0, O_RDONLY) }
        guard fd >= 0 else { throw ByteSourceError(path: path, reason: .cannotOpen, message: "cannot open: \(systemError())") }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: 6)
        let count = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        return Array(bytes.prefix(max(0, count)))
    }
}
