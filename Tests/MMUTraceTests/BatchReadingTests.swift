import Testing
import MMUHardware
@testable import MMUTrace
import TestSupport

/// What a reader handed out and where it stood after: the records, the
/// error that stopped it, and its counters.
private struct Reading: Equatable {
    var records: [MemoryAccess] = []
    var error: TraceError? = nil
    var skippedLines: UInt64 = 0
    var bytesRead: UInt64 = 0
    var recordsRead: UInt64? = nil
}

/// Every record through `next()`.
private func oneByOne<R: MemoryTraceReader>(_ reader: inout R) -> Reading {
    var reading = Reading()
    do {
        while let record = try reader.next() { reading.records.append(record) }
    } catch {
        reading.error = error
    }
    reading.skippedLines = reader.skippedLines
    reading.bytesRead = reader.bytesRead
    reading.recordsRead = reader.recordsRead
    return reading
}

/// Every record through `read(into:count:)`, `capacity` at a time; checks
/// that only the end of the trace, or an error, gives a short batch.
private func inBatches<R: MemoryTraceReader>(_ reader: inout R, capacity: Int) -> Reading {
    var reading = Reading()
    let buffer = UnsafeMutableBufferPointer<MemoryAccess>.allocate(capacity: capacity)
    defer { buffer.deallocate() }
    while true {
        var count = 0
        do {
            try reader.read(into: buffer, count: &count)
        } catch {
            reading.records += buffer[0..<count]
            reading.error = error
            break
        }
        reading.records += buffer[0..<count]
        if count < capacity { break }
    }
    // Past the end (or an error) a reader keeps saying so.
    reading.skippedLines = reader.skippedLines
    reading.bytesRead = reader.bytesRead
    reading.recordsRead = reader.recordsRead
    return reading
}

/// A Lackey text mixing common records with every kind of line the careful
/// parser handles: banners, blank lines, tabs, CRLF, uppercase and long
/// addresses, odd sizes, and (unless `valid`) a bad line somewhere.
private func lackeyText(seed: UInt64, lines: Int, valid: Bool) -> String {
    var random = SeededRandom(seed: seed)
    var text = "==1== Lackey, an example Valgrind tool\n"
    func hex(_ value: UInt64, digits: Int) -> String {
        let plain = String(value, radix: 16)
        return String(repeating: "0", count: max(0, digits - plain.count)) + plain
    }
    let heads = ["I  ", " L ", " S ", " M "]
    let badLine = valid ? -1 : Int(random.next() % UInt64(lines))
    for i in 0..<lines {
        let r = random.next()
        let head = heads[Int(r & 3)]
        let address = r >> UInt64(8 + (r >> 2) % 56)
        let size = [1, 2, 4, 8, 16, 3, 512, 4096][Int((r >> 5) & 7)]
        switch (r >> 12) % 40 {
        case 0: text += "==1== a banner line\n"
        case 1: text += "\n"
        case 2: text += "I\t\(hex(address, digits: 8)),\(size)\n"
        case 3: text += "\(head)\(hex(address, digits: 8).uppercased()),\(size)\n"
        case 4: text += "\(head)\(hex(address, digits: 8)),\(size)\r\n"
        case 5: text += "\(head)\(hex(address & 0xFFFF, digits: 17)),\(size)\n"      // 17 digits, leading zeros
        case 6: text += "\(head)\(hex(address | 1 << 63, digits: 16)),\(size)\n"     // 16 digits
        case 7: text += " \(head)  \(hex(address, digits: 1)),\(size)\n"             // more spaces
        case 8: text += "\(head)\(hex(address, digits: 8)),000\(size % 10 + 1)\n"   // five size digits
        case 9: text += "\(head)\(hex(address, digits: 8)),\(size)   \n"             // trailing blanks
        default: text += "\(head)\(hex(address, digits: 8 + Int(r >> 40) % 5)),\(size)\n"
        }
        if i == badLine {
            let bad = ["I  ,8\n", " L 12g4,8\n", " S 1000,0\n", " M 1000,4097\n", " X 1000,8\n",
                       " L 1000 8\n", " L 1000,\n", " L 11112222333344445,8\n", " L 1000,8 x\n"]
            text += bad[Int(r >> 50) % bad.count]
        }
    }
    if random.next() & 1 == 0 { text += " L 0401ab70,8" }      // a last line without its newline
    return text
}

@Suite("Reading records in batches")
struct BatchReadingTests {
    @Test("a Lackey reader reads the same records, errors and counts in batches as one by one",
          arguments: [UInt64(1), 2, 3, 4, 5, 6])
    func lackeyBatches(seed: UInt64) throws {
        // Long enough to cross the 64 KiB buffer's refills several times.
        let text = lackeyText(seed: seed, lines: seed <= 3 ? 20_000 : 300, valid: seed % 2 == 1)
        let file = try TemporaryFile("batch.lackey", text: text)
        defer { file.remove() }
        var reference = LackeyReader(source: try ByteSource(path: file.path), file: "t")
        let expected = oneByOne(&reference)
        #expect(expected.records.count > 200 || seed % 2 == 0)
        #expect((expected.error == nil) == (seed % 2 == 1), "\(String(describing: expected.error))")
        for capacity in [1, 2, 7, 100, 4096] {
            var fromFile = LackeyReader(source: try ByteSource(path: file.path), file: "t")
            #expect(inBatches(&fromFile, capacity: capacity) == expected, "capacity \(capacity)")
            var fromMemory = LackeyReader(source: ByteSource(bytes: Array(text.utf8), name: "t"), file: "t")
            #expect(inBatches(&fromMemory, capacity: capacity) == expected, "capacity \(capacity), in memory")
        }
    }

    @Test("the bulk decoder takes exactly the lines the careful parser reads as records")
    func lackeyLineByLine() {
        var random = SeededRandom(seed: 77)
        let alphabet = Array("0123456789abcdefABCDEFgx ,\t\r=ILSMX".utf8)
        for _ in 0..<20_000 {
            // A common line, then a few of its bytes changed.
            var line = Array(Array(lackeyText(seed: random.next(), lines: 1, valid: true).utf8)
                .split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)[1])
            for _ in 0..<Int(random.next() % 3) where !line.isEmpty {
                line[Int(random.next() % UInt64(line.count))] = alphabet[Int(random.next() % UInt64(alphabet.count))]
            }
            let bytes = line + [UInt8(ascii: "\n")] + [UInt8](repeating: UInt8(ascii: "7"), count: ByteSource.slack)
            let parsed = line.withUnsafeBufferPointer { LackeyReader.parse($0) }
            var decoded: MemoryAccess? = nil
            bytes.withUnsafeBufferPointer { view in
                let out = UnsafeMutablePointer<MemoryAccess>.allocate(capacity: 1)
                defer { out.deallocate() }
                let base = view.baseAddress!
                if let next = LackeyReader.decodeLine(base, base + line.count + 1, into: out) {
                    #expect(next == base + line.count + 1)
                    decoded = out.pointee
                }
            }
            let text = String(decoding: line, as: UTF8.self)
            if let decoded {
                guard case .record(let access) = parsed else {
                    Issue.record("decoded \(decoded) from '\(text)', which the parser rejects")
                    continue
                }
                #expect(access == decoded, "'\(text)'")
            }
        }
    }

    @Test("a ChampSim reader reads the same accesses, errors and counts in batches as one by one",
          arguments: [UInt64(1), 2, 3])
    func champSimBatches(seed: UInt64) throws {
        var random = SeededRandom(seed: seed)
        var bytes: [UInt8] = []
        for _ in 0..<(seed == 1 ? 3000 : 200) {
            var record = [UInt8](repeating: 0, count: 64)
            for offset in stride(from: 0, to: 64, by: 8) where offset != 8 && random.next() % 3 != 0 {
                let value = random.next() >> (random.next() % 64)
                for k in 0..<8 { record[offset + k] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(k))) }
            }
            bytes += record
        }
        if seed == 3 { bytes += [1, 2, 3] }        // a truncated last record
        let file = try TemporaryFile("batch.champsim", contents: bytes)
        defer { file.remove() }
        var reference = ChampSimReader(source: try ByteSource(path: file.path), file: "t")
        let expected = oneByOne(&reference)
        #expect((expected.error != nil) == (seed == 3))
        for capacity in [1, 2, 6, 7, 8, 13, 4096] {
            var fromFile = ChampSimReader(source: try ByteSource(path: file.path), file: "t")
            #expect(inBatches(&fromFile, capacity: capacity) == expected, "capacity \(capacity)")
            var fromMemory = ChampSimReader(source: ByteSource(bytes: bytes, name: "t"), file: "t")
            #expect(inBatches(&fromMemory, capacity: capacity) == expected, "capacity \(capacity), in memory")
        }
    }
}
