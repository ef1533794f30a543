import Testing
@testable import MMUTrace

@Suite("FileName: names that are not UTF-8 survive the trip to a String and back")
struct FileNameTests {
    @Test("UTF-8 names are themselves; other bytes become U+F780 ... U+F7FF and come back")
    func roundTrip() {
        #expect(FileName.decode(Array("trace.mmt".utf8)) == "trace.mmt")
        #expect(FileName.decode(Array("café ✓.mmt".utf8)) == "café ✓.mmt")
        let latin1: [UInt8] = [0x63, 0x61, 0x66, 0xE9, 0x2E, 0x6D, 0x6D, 0x74]   // "caf\xE9.mmt"
        let name = FileName.decode(latin1)
        #expect(name.unicodeScalars.map(\.value) == [0x63, 0x61, 0x66, 0xF7E9, 0x2E, 0x6D, 0x6D, 0x74])
        #expect(FileName.bytes(name) == latin1)
        #expect(FileName.display(name) == "caf\\xE9.mmt")
        // A real U+F7E9 in a name is escaped byte by byte, so it cannot be taken for 0xE9.
        let privateUse = Array("\u{F7E9}".utf8)
        #expect(FileName.bytes(FileName.decode(privateUse)) == privateUse)
        #expect(FileName.decode(privateUse) != FileName.decode([0xE9]))
        FileName.withCString(name) { pointer in
            #expect((0..<8).map { UInt8(bitPattern: pointer[$0]) } == latin1)
            #expect(pointer[8] == 0)
        }
    }

    @Test("any bytes decode to a name whose bytes are the same bytes")
    func anyBytes() {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        for _ in 0..<2000 {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            let count = Int(state % 12) + 1
            var bytes: [UInt8] = []
            for _ in 0..<count {
                state ^= state << 13; state ^= state >> 7; state ^= state << 17
                // Bias toward the bytes UTF-8 is built of, so valid and broken sequences both occur.
                let choices: [UInt8] = [0x41, 0x80, 0xBF, 0xC3, 0xA9, 0xE2, 0x9C, 0x93, 0xEF, 0x9E, 0xF0, 0xFF, 0xFE, 0xF7]
                bytes.append(state % 3 == 0 ? UInt8(truncatingIfNeeded: state >> 8) : choices[Int((state >> 8) % UInt64(choices.count))])
            }
            #expect(FileName.bytes(FileName.decode(bytes)) == bytes, "\(bytes)")
        }
    }
}
