import Foundation
import MMUHardware
import MMUTrace
import TestSupport

/// Writes small streamed traces in their real formats, seeded, together with
/// the accesses each should read as (worked out here from the format's
/// definition, not by the readers under test).
struct StreamedTraceGenerator {
    var random: SeededRandom

    init(seed: UInt64) { random = SeededRandom(seed: seed) }

    // Where the generated program lives: code, heap, stack, as a small Linux
    // process lays them out (hundreds of pages in all).
    static let codeBase: UInt64 = 0x40_0000
    static let codePages: UInt64 = 48
    static let heapBase: UInt64 = 0x1000_0000
    static let heapPages: UInt64 = 320
    static let stackTop: UInt64 = 0x7FFF_F000_0000
    static let stackPages: UInt64 = 24

    mutating func below(_ n: UInt64) -> UInt64 { random.next() % n }
    mutating func chance(_ percent: UInt64) -> Bool { below(100) < percent }

    /// A data address: mostly a few hot pages, sometimes anywhere in the heap
    /// or stack, at any offset (so some accesses cross a page).
    mutating func dataAddress(hot: [UInt64]) -> UInt64 {
        let page: UInt64
        switch below(20) {
        case 0..<12: page = hot[Int(below(UInt64(hot.count)))]
        case 12..<16: page = (Self.stackTop >> 12) - 1 - below(Self.stackPages)
        case 16: page = (Self.codeBase >> 12) + below(Self.codePages)   // data next to code
        default: page = (Self.heapBase >> 12) + below(Self.heapPages)
        }
        let offset = chance(10) ? 4096 - 1 - below(8) : below(4096)
        return page << 12 | offset
    }

    /// An address no region covers, or that is not canonical: SIGSEGV.
    mutating func badAddress() -> UInt64 {
        switch below(4) {
        case 0: return below(0x1000)                       // NULL page
        case 1: return 0xFFFF_FFFF_FF60_0000 + below(0x100) // kernel half (vsyscall)
        case 2: return 0x0000_9000_0000_0000 + below(0x1000) // non-canonical
        default: return 0x7FFF_FFFF_FFFF - below(4)          // runs off the user half
        }
    }

    mutating func hotPages(_ count: Int) -> [UInt64] {
        (0..<count).map { _ in (Self.heapBase >> 12) + below(Self.heapPages) }
    }

    /// One generated Lackey record: its line and the access it stands for.
    struct LackeyRecord {
        var line: String
        var access: MemoryAccess
    }

    /// A Lackey trace of `count` records between Valgrind banner lines, with a
    /// few blank lines, and the accesses it should read as. Every fourth write
    /// is an `M`. Returns the text and the accesses; `banners` is the number of
    /// `==` lines written.
    mutating func lackey(records count: Int) -> (text: String, accesses: [MemoryAccess], banners: Int) {
        var lines = [
            "==4242== Lackey, an example Valgrind tool",
            "==4242== Copyright (C) 2002-2017, and GNU GPL'd, by Nicholas Nethercote.",
            "==4242== Command: ./generated",
            "==4242== ",
        ]
        var banners = lines.count
        var accesses: [MemoryAccess] = []
        var hot = hotPages(8)
        var ip = Self.codeBase
        var writes = 0
        for i in 0..<count {
            if i % 500 == 499 { hot = hotPages(8) }
            if i % 1000 == 999 { lines.append("") }
            let kind: AccessKind
            let address: UInt64
            let size: UInt64
            switch below(100) {
            case 0..<50:
                kind = .fetch
                if chance(5) { ip = Self.codeBase + below(Self.codePages << 12) }
                // Now and then code runs from a data page (a JIT): the page may
                // be the zero page, or written since.
                address = chance(3) ? dataAddress(hot: hot) : ip
                size = [1, 2, 3, 4, 5, 7, 15][Int(below(7))]
                ip = Self.codeBase + ((ip - Self.codeBase + size) % (Self.codePages << 12))
            case 50..<75:
                kind = .read
                address = dataAddress(hot: hot)
                size = [1, 2, 4, 8, 8, 16, 32][Int(below(7))]
            case 75..<98:
                kind = .write
                address = dataAddress(hot: hot)
                size = [1, 2, 4, 8, 8, 16][Int(below(6))]
            default:
                kind = [.fetch, .read, .write][Int(below(3))]
                address = badAddress()
                size = 8
            }
            let hex = String(address, radix: 16)
            let padded = String(repeating: "0", count: max(0, 8 - hex.count)) + hex
            switch kind {
            case .fetch: lines.append("I  \(padded),\(size)")
            case .read: lines.append(" L \(padded),\(size)")
            case .write:
                writes += 1
                lines.append("\(writes % 4 == 0 ? " M" : " S") \(padded),\(size)")
            }
            accesses.append(MemoryAccess(kind: kind, address: VirtualAddress(address), bytes: size))
        }
        lines += ["==4242== ", "==4242== Counted 1 call to main()"]
        banners += 2
        return (lines.joined(separator: "\n") + "\n", accesses, banners)
    }

    /// A ChampSim trace of `count` 64-byte records and the accesses it should
    /// read as: the fetch of `ip` (1 byte), then a load (8 bytes) for each
    /// non-zero source operand, then a store (8 bytes) for each non-zero
    /// destination.
    mutating func champSim(records count: Int) -> (bytes: [UInt8], accesses: [MemoryAccess]) {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count * 64)
        var accesses: [MemoryAccess] = []
        var hot = hotPages(8)
        var ip = Self.codeBase
        for i in 0..<count {
            if i % 400 == 399 { hot = hotPages(8) }
            if chance(5) { ip = Self.codeBase + below(Self.codePages << 12) }
            let fetch = chance(1) ? badAddress() : chance(3) ? dataAddress(hot: hot) : ip
            ip = Self.codeBase + ((ip - Self.codeBase + 1 + below(8)) % (Self.codePages << 12))
            var sources: [UInt64] = [0, 0, 0, 0]
            var destinations: [UInt64] = [0, 0]
            for k in 0..<4 where chance(k == 0 ? 40 : 10) { sources[k] = chance(1) ? max(1, badAddress()) : dataAddress(hot: hot) }
            for k in 0..<2 where chance(k == 0 ? 25 : 5) { destinations[k] = chance(1) ? max(1, badAddress()) : dataAddress(hot: hot) }

            var record = [UInt8](repeating: 0, count: 64)
            func put(_ value: UInt64, at offset: Int) {
                for b in 0..<8 { record[offset + b] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(b))) }
            }
            put(fetch, at: 0)
            record[8] = UInt8(below(2))              // is_branch
            record[9] = record[8] & UInt8(below(2))  // branch_taken
            for r in 10..<16 { record[r] = UInt8(below(64)) }
            for k in 0..<2 { put(destinations[k], at: 16 + 8 * k) }
            for k in 0..<4 { put(sources[k], at: 32 + 8 * k) }
            bytes += record

            accesses.append(MemoryAccess(kind: .fetch, address: VirtualAddress(fetch), bytes: 1))
            for source in sources where source != 0 {
                accesses.append(MemoryAccess(kind: .read, address: VirtualAddress(source), bytes: 8))
            }
            for destination in destinations where destination != 0 {
                accesses.append(MemoryAccess(kind: .write, address: VirtualAddress(destination), bytes: 8))
            }
        }
        return (bytes, accesses)
    }
}

/// A file in the temporary directory, removed when the test is done with it.
struct TemporaryFile {
    let path: String

    init(_ name: String, contents: [UInt8]) throws {
        let directory = FileManager.default.temporaryDirectory.path
        path = "\(directory)/mmusim-\(UUID().uuidString)-\(name)"
        try Data(contents).write(to: URL(fileURLWithPath: path))
    }

    init(_ name: String, text: String) throws {
        try self.init(name, contents: Array(text.utf8))
    }

    /// A path in the temporary directory with nothing written to it yet.
    init(reserving name: String) {
        path = "\(FileManager.default.temporaryDirectory.path)/mmusim-\(UUID().uuidString)-\(name)"
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}
