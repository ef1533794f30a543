/// File names as the system has them: bytes, UTF-8 or not. A name that is
/// not UTF-8 (`tr\xFFce.mmt`, a Latin-1 `caf\xE9.lackey`) still opens: the
/// command line (`mmusim`'s main) and directory listings decode each byte of
/// an invalid sequence to U+F780 ... U+F7FF (U+F700 plus the byte, a private
/// use code point), every system call on a path encodes it back, and
/// messages show such a byte as `\xFF`. The decoding is lossless: the bytes
/// of a real U+F780 ... U+F7FF in a name are escaped too.
public enum FileName {
    /// The first code point standing for a byte: U+F700 + 0x80.
    static let escapes: ClosedRange<UInt32> = 0xF780...0xF7FF

    /// `bytes` (a name without its NUL) as a String.
    public static func decode(_ bytes: some Collection<UInt8>) -> String {
        let bytes = Array(bytes)
        if let valid = String(validating: bytes, as: UTF8.self), !valid.unicodeScalars.contains(where: { escapes.contains($0.value) }) {
            return valid
        }
        var scalars = String.UnicodeScalarView()
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = bytes.makeIterator()
        var offset = 0
        func escape(_ range: Range<Int>) {
            for byte in bytes[range] {
                // An ASCII byte never starts an invalid sequence's escape; keep it.
                scalars.append(Unicode.Scalar(byte < 0x80 ? UInt32(byte) : 0xF700 + UInt32(byte)) ?? "?")
            }
        }
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let encoded):
                let scalar = Unicode.UTF8.decode(encoded)
                if escapes.contains(scalar.value) { escape(offset..<offset + encoded.count) } else { scalars.append(scalar) }
                offset += encoded.count
            case .error(let length):
                escape(offset..<offset + length)
                offset += length
            case .emptyInput:
                return String(scalars)
            }
        }
    }

    /// The bytes `name` stands for (`decode` undone).
    public static func bytes(_ name: String) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(name.utf8.count)
        for scalar in name.unicodeScalars {
            if escapes.contains(scalar.value) {
                bytes.append(UInt8(truncatingIfNeeded: scalar.value - 0xF700))
            } else {
                bytes.append(contentsOf: String(scalar).utf8)
            }
        }
        return bytes
    }

    /// Calls `body` with `name`'s bytes as a NUL-terminated C string (what a
    /// system call on the path takes).
    public static func withCString<R>(_ name: String, _ body: (UnsafePointer<CChar>) throws -> R) rethrows -> R {
        let bytes = Self.bytes(name).map { CChar(bitPattern: $0) } + [0]
        return try bytes.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return try body("") }
            return try body(base)
        }
    }

    /// `text` with each escaped byte shown as `\xFF` (for messages).
    public static func display(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { escapes.contains($0.value) }) else { return text }
        var out = ""
        for scalar in text.unicodeScalars {
            if escapes.contains(scalar.value) {
                let byte = scalar.value - 0xF700
                out += "\\x" + (byte < 0x10 ? "0" : "") + String(byte, radix: 16, uppercase: true)
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
