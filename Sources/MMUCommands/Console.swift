#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where a command writes: standard output and standard error, or strings in tests.
public struct Console {
    public var out: (String) -> Void
    public var err: (String) -> Void

    public init(out: @escaping (String) -> Void, err: @escaping (String) -> Void) {
        self.out = out
        self.err = err
    }

    /// The process's standard output and error, written unbuffered in order.
    public static var standard: Console {
        Console(out: { write(1, $0) }, err: { write(2, $0) })
    }

    static func write(_ descriptor: Int32, _ text: String) {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeMutableBytes { buffer in
                #if canImport(Glibc)
                Glibc.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                #else
                Darwin.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                #endif
            }
            if written <= 0 { return }
            offset += written
        }
        bytes.removeAll()
    }
}

/// Reading the files a user names.
enum Files {
    /// The contents of `path` as text, or a message saying why not.
    static func read(_ path: String) -> Result<String, FileProblem> {
        guard let file = fopen(path, "rb") else {
            return .failure(FileProblem(path: path, message: String(cString: strerror(errno))))
        }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
            if count > 0 { bytes.append(contentsOf: chunk[0..<count]) }
            if count < chunk.count {
                if ferror(file) != 0 { return .failure(FileProblem(path: path, message: "read error")) }
                break
            }
        }
        return .success(String(decoding: bytes, as: UTF8.self))
    }

    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// Every `.mmt` file below `directory`, sorted by path.
    static func traces(in directory: String) -> [String] {
        var found: [String] = []
        guard let dir = opendir(directory) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name == "." || name == ".." { continue }
            names.append(name)
        }
        for name in names.sorted() {
            let path = directory.hasSuffix("/") ? directory + name : directory + "/" + name
            if isDirectory(path) { found += traces(in: path) } else if name.hasSuffix(".mmt") { found.append(path) }
        }
        return found
    }
}

struct FileProblem: Error {
    var path: String
    var message: String
    var description: String { "\(path): cannot read: \(message)" }
}
