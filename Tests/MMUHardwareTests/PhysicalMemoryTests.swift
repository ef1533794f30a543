import Testing
@testable import MMUHardware
import TestSupport

@Suite("PhysicalMemory")
struct PhysicalMemoryTests {
    let a = FrameNumber(3)
    let b = FrameNumber(7)

    @Test func aFrameNeverWrittenReadsAsZerosAndTakesNoStorage() {
        let memory = PhysicalMemory(frameCount: 16)
        #expect(memory.readWord(a, 0) == 0)
        #expect(memory.readWord(a, 511) == 0)
        #expect(memory.read64(PhysicalAddress(frame: a, offset: 0x13)) == 0)
        #expect(memory.readByte(PhysicalAddress(frame: a, offset: 0xFFF)) == 0)
        #expect(memory.readEntry(a, 0x1FF) == .empty)
        #expect(memory.isZero(a))
        #expect(memory.backedFrames == 0)
    }

    @Test func writingZeroToAnUnbackedFrameTakesNoStorage() {
        var memory = PhysicalMemory(frameCount: 16)
        memory.writeWord(a, 5, 0)
        memory.write64(PhysicalAddress(frame: a, offset: 0x40), 0)
        #expect(memory.backedFrames == 0)
    }

    @Test func aWordWrittenIsReadBack() {
        var memory = PhysicalMemory(frameCount: 16)
        memory.write64(PhysicalAddress(frame: a, offset: 0xFF8), 0xDEAD_BEEF_0123_4567)
        #expect(memory.read64(PhysicalAddress(frame: a, offset: 0xFF8)) == 0xDEAD_BEEF_0123_4567)
        #expect(memory.readWord(a, 511) == 0xDEAD_BEEF_0123_4567)
        #expect(memory.readWord(a, 510) == 0)
        #expect(memory.readWord(b, 511) == 0)
        #expect(!memory.isZero(a))
        #expect(memory.backedFrames == 1)
    }

    @Test func anEntryWrittenIsReadBackAtItsIndex() {
        var memory = PhysicalMemory(frameCount: 16)
        let entry = PageTableEntry(frame: FrameNumber(9), flags: [.present, .user])
        memory.writeEntry(a, 0x1D1, entry)
        #expect(memory.readEntry(a, 0x1D1) == entry)
        // Entry i is the 8 bytes at offset 8*i.
        #expect(memory.read64(PhysicalAddress(frame: a, offset: 0x1D1 * 8)) == entry.rawValue)
    }

    @Test func anUnalignedLoadAndStoreAreEightLittleEndianBytes() {
        var memory = PhysicalMemory(frameCount: 16)
        // Bytes 0x10..0x1F all 0xFF first, to see that neighbours survive.
        memory.writeWord(a, 2, .max)
        memory.writeWord(a, 3, .max)
        memory.write64(PhysicalAddress(frame: a, offset: 0x13), 0x0807_0605_0403_0201)
        #expect(memory.readByte(PhysicalAddress(frame: a, offset: 0x13)) == 0x01)
        #expect(memory.readByte(PhysicalAddress(frame: a, offset: 0x1A)) == 0x08)
        // Bytes 0x10-0x12 stay FF, 0x13-0x17 hold 01..05.
        #expect(memory.readWord(a, 2) == 0x0504_0302_01FF_FFFF)
        // Bytes 0x18-0x1A hold 06..08, 0x1B-0x1F stay FF.
        #expect(memory.readWord(a, 3) == 0xFFFF_FFFF_FF08_0706)
        #expect(memory.read64(PhysicalAddress(frame: a, offset: 0x13)) == 0x0807_0605_0403_0201)
        #expect(memory.read64(PhysicalAddress(frame: a, offset: 0x12)) == 0x0706_0504_0302_01FF)
    }

    @Test func anUnalignedStoreToAnUnbackedFrameReadsBack() {
        var memory = PhysicalMemory(frameCount: 16)
        memory.write64(PhysicalAddress(frame: b, offset: 0xFF1), 0x1122_3344_5566_7788)
        #expect(memory.read64(PhysicalAddress(frame: b, offset: 0xFF1)) == 0x1122_3344_5566_7788)
        #expect(memory.readByte(PhysicalAddress(frame: b, offset: 0xFF8)) == 0x11)
        #expect(memory.readByte(PhysicalAddress(frame: b, offset: 0xFF0)) == 0)
    }

    @Test func zeroingAFrameClearsItAndItsStorageServesTheNextFrame() {
        var memory = PhysicalMemory(frameCount: 16)
        memory.writeWord(a, 0, 0xAAAA)
        memory.writeWord(a, 100, 0xA100)
        #expect(memory.backedFrames == 1)
        memory.zero(a)
        #expect(memory.backedFrames == 0)
        #expect(memory.isZero(a))
        #expect(memory.readWord(a, 0) == 0)

        memory.writeWord(b, 1, 0xBBBB)
        #expect(memory.backedFrames == 1)
        // A still reads zero, and B does not see what A held in the reused slot.
        #expect(memory.readWord(a, 0) == 0)
        #expect(memory.readWord(a, 100) == 0)
        #expect(memory.readWord(b, 1) == 0xBBBB)
        #expect(memory.readWord(b, 0) == 0)
        #expect(memory.readWord(b, 100) == 0)

        memory.writeWord(a, 2, 0xA2)
        #expect(memory.backedFrames == 2)
        #expect(memory.readWord(a, 2) == 0xA2)
        #expect(memory.readWord(a, 0) == 0)
        #expect(memory.readWord(b, 1) == 0xBBBB)
    }

    @Test func zeroingAFrameNeverWrittenChangesNothing() {
        var memory = PhysicalMemory(frameCount: 16)
        memory.writeWord(b, 0, 1)
        memory.zero(a)
        #expect(memory.backedFrames == 1)
        #expect(memory.readWord(b, 0) == 1)
    }

    @Test func copyingAFrameDuplicatesAll4KiBIndependently() {
        var memory = PhysicalMemory(frameCount: 16)
        memory.writeWord(a, 0, 0x1111)
        memory.writeWord(a, 511, 0x2222)
        memory.writeWord(b, 7, 0x7777)  // overwritten by the copy
        memory.copy(from: a, to: b)
        #expect(memory.readWord(b, 0) == 0x1111)
        #expect(memory.readWord(b, 511) == 0x2222)
        #expect(memory.readWord(b, 7) == 0)
        // The copy shares A's store until one of them is written.
        #expect(memory.backedFrames == 1)
        memory.writeWord(a, 0, 0x3333)
        #expect(memory.backedFrames == 2)
        #expect(memory.readWord(b, 0) == 0x1111)
        #expect(memory.readWord(b, 511) == 0x2222)
        #expect(memory.readWord(a, 0) == 0x3333)
        #expect(memory.readWord(a, 511) == 0x2222)
    }

    @Test func copyingIntoAnUnbackedFrameBacksIt() {
        var memory = PhysicalMemory(frameCount: 16)
        memory.writeWord(a, 3, 0x33)
        memory.copy(from: a, to: b)
        #expect(memory.backedFrames == 1)
        #expect(memory.readWord(b, 3) == 0x33)
    }

    /// Copies `a` -> 10 -> 11 -> ... -> 40, as a chain of `fork copy`s copies a page.
    func copyChain(_ memory: inout PhysicalMemory) {
        var previous = a
        for f in UInt64(10)...40 {
            memory.copy(from: previous, to: FrameNumber(f))
            previous = FrameNumber(f)
        }
    }

    @Test func aChainOfCopiesHoldsOneStoreUntilWritten() {
        var memory = PhysicalMemory(frameCount: 64)
        memory.writeWord(a, 9, 0x99)
        copyChain(&memory)
        #expect(memory.backedFrames == 1)
        memory.writeWord(FrameNumber(20), 9, 0x20)
        #expect(memory.backedFrames == 2)
        #expect(memory.readWord(FrameNumber(20), 9) == 0x20)
        #expect(memory.readWord(FrameNumber(21), 9) == 0x99)
        #expect(memory.readWord(a, 9) == 0x99)
        // Zeroing every sharer gives the store back; the written copy keeps its own.
        memory.zero(a)
        for f in UInt64(10)...40 where f != 20 { memory.zero(FrameNumber(f)) }
        #expect(memory.backedFrames == 1)
        #expect(memory.readWord(FrameNumber(20), 9) == 0x20)
        memory.zero(FrameNumber(20))
        #expect(memory.backedFrames == 0)
    }

    @Test func copyingAZeroFrameZeroesTheDestination() {
        var memory = PhysicalMemory(frameCount: 16)
        memory.writeWord(b, 3, 0x33)
        memory.copy(from: a, to: b)
        #expect(memory.isZero(b))
        #expect(memory.backedFrames == 0)
    }

    @Test func backedFramesCountsFramesHoldingData() {
        var memory = PhysicalMemory(frameCount: 16)
        for frame in 1...5 { memory.writeWord(FrameNumber(UInt64(frame)), 0, UInt64(frame)) }
        #expect(memory.backedFrames == 5)
        memory.writeWord(FrameNumber(3), 1, 9)  // same frame again
        #expect(memory.backedFrames == 5)
        memory.zero(FrameNumber(2))
        memory.zero(FrameNumber(4))
        #expect(memory.backedFrames == 3)
        memory.writeWord(FrameNumber(9), 0, 9)
        #expect(memory.backedFrames == 4)
    }

    @Test func framesOutsideMemoryReadZeroAndIgnoreWrites() {
        var memory = PhysicalMemory(frameCount: 4)
        let outside = FrameNumber(4)
        memory.writeWord(outside, 0, 0x55)
        memory.write64(PhysicalAddress(frame: outside, offset: 3), 0x55)
        #expect(memory.readWord(outside, 0) == 0)
        #expect(memory.backedFrames == 0)
        #expect(!memory.contains(outside))
        #expect(memory.contains(FrameNumber(3)))
    }

    // MARK: Compact stores (a frame with at most 8 non-zero words)

    /// Every word of `frame`, as a plain 512-word page.
    private func page(_ memory: PhysicalMemory, _ frame: FrameNumber) -> [UInt64] {
        (0..<512).map { memory.readWord(frame, $0) }
    }

    /// The 512-word page holding `words` (index: value) and zeros elsewhere.
    private func page(_ words: [Int: UInt64]) -> [UInt64] {
        var page = [UInt64](repeating: 0, count: 512)
        for (index, value) in words { page[index] = value }
        return page
    }

    @Test func aFrameWithAFewWordsTakesACompactStoreOfUnder100Bytes() {
        var memory = PhysicalMemory(frameCount: 16)
        let before = memory.storeBytes
        memory.writeWord(a, 0x1FF, 0xAAAA)
        #expect(memory.compactStores == 1)
        #expect(memory.fullStores == 0)
        #expect(memory.backedFrames == 1)
        #expect(memory.storeBytes - before < 100)
        var written: [Int: UInt64] = [0x1FF: 0xAAAA]
        for (n, index) in [0, 1, 7, 100, 256, 300, 510].enumerated() {
            written[index] = UInt64(n + 1) << 32 | UInt64(index)
            memory.writeWord(a, index, written[index]!)
        }
        // Eight distinct non-zero words: still one compact store, and every word reads right.
        #expect(written.count == PhysicalMemory.compactCapacity)
        #expect(memory.compactStores == 1 && memory.fullStores == 0)
        #expect(page(memory, a) == page(written))
        #expect(!memory.isZero(a))
        #expect(page(memory, b) == page([:]))
    }

    @Test func theNinthDistinctNonZeroWordPromotesTheFrameToAFullStore() {
        var memory = PhysicalMemory(frameCount: 16)
        var written: [Int: UInt64] = [:]
        for index in stride(from: 3, to: 3 + 8 * 60, by: 60) {
            written[index] = UInt64(index) &* 0x9E37_79B9_7F4A_7C15
            memory.writeWord(a, index, written[index]!)
        }
        #expect(memory.compactStores == 1 && memory.fullStores == 0)
        // Writing zero to a ninth word, or rewriting one of the eight, is no ninth word.
        memory.writeWord(a, 2, 0)
        memory.writeWord(a, 63, 0x63)
        written[63] = 0x63
        #expect(memory.compactStores == 1 && memory.fullStores == 0)
        memory.writeWord(a, 2, 0x2)
        written[2] = 0x2
        #expect(memory.compactStores == 0 && memory.fullStores == 1)
        #expect(memory.backedFrames == 1)
        #expect(page(memory, a) == page(written))
        // The compact store it left serves the next frame, empty.
        memory.writeWord(b, 5, 0x5)
        #expect(memory.compactStores == 1 && memory.fullStores == 1)
        #expect(page(memory, b) == page([5: 0x5]))
        #expect(page(memory, a) == page(written))
    }

    @Test func writingZeroDropsAPairAndTheLastPairDropsTheStore() {
        var memory = PhysicalMemory(frameCount: 16)
        for index in 0..<8 { memory.writeWord(a, index * 64, UInt64(index + 1)) }
        memory.writeWord(a, 64, 0)
        // The freed pair takes a new word: eight non-zero words again, still compact.
        memory.writeWord(a, 65, 0x65)
        #expect(memory.compactStores == 1 && memory.fullStores == 0)
        #expect(page(memory, a) == page([0: 1, 65: 0x65, 128: 3, 192: 4, 256: 5, 320: 6, 384: 7, 448: 8]))
        for index in [0, 65, 128, 192, 256, 320, 384] { memory.writeWord(a, index, 0) }
        #expect(memory.backedFrames == 1)
        #expect(!memory.isZero(a))
        memory.writeWord(a, 448, 0)
        #expect(memory.backedFrames == 0)
        #expect(memory.isZero(a))
        #expect(page(memory, a) == page([:]))
    }

    @Test func aFullStoreStaysFullWhenItsWordsAreZeroed() {
        var memory = PhysicalMemory(frameCount: 16)
        for index in 0..<9 { memory.writeWord(a, index, 1) }
        for index in 0..<9 { memory.writeWord(a, index, 0) }
        // Not compacted again (until zeroed), but reads and isZero are right.
        #expect(memory.fullStores == 1)
        #expect(memory.isZero(a))
        #expect(page(memory, a) == page([:]))
        memory.zero(a)
        #expect(memory.backedFrames == 0)
    }

    @Test func bytesAndUnalignedWordsOfACompactFrame() {
        var memory = PhysicalMemory(frameCount: 16)
        memory.write64(PhysicalAddress(frame: a, offset: 0x13), 0x0807_0605_0403_0201)
        #expect(memory.compactStores == 1)
        #expect(memory.readWord(a, 2) == 0x0504_0302_0100_0000)
        #expect(memory.readWord(a, 3) == 0x0000_0000_0008_0706)
        #expect(memory.read64(PhysicalAddress(frame: a, offset: 0x13)) == 0x0807_0605_0403_0201)
        memory.writeByte(PhysicalAddress(frame: a, offset: 0xFFF), 0xEE)
        #expect(memory.readByte(PhysicalAddress(frame: a, offset: 0xFFF)) == 0xEE)
        #expect(memory.readWord(a, 511) == 0xEE00_0000_0000_0000)
        // Clearing those bytes again empties the frame, store and all.
        memory.writeByte(PhysicalAddress(frame: a, offset: 0xFFF), 0)
        memory.write64(PhysicalAddress(frame: a, offset: 0x13), 0)
        #expect(memory.isZero(a))
        #expect(memory.backedFrames == 0)
    }

    @Test func copiesOfACompactFrameShareItsStoreUntilWritten() {
        var memory = PhysicalMemory(frameCount: 64)
        memory.writeWord(a, 9, 0x99)
        memory.writeWord(a, 500, 0x500)
        copyChain(&memory)
        #expect(memory.backedFrames == 1)
        // Writing a value a word already holds, or zero to a word it does not hold, changes nothing.
        memory.writeWord(FrameNumber(15), 9, 0x99)
        memory.writeWord(FrameNumber(16), 10, 0)
        #expect(memory.backedFrames == 1)
        // A changed word, a new word, a dropped word: one store more each, the rest keep theirs.
        memory.writeWord(FrameNumber(20), 9, 0x20)
        memory.writeWord(FrameNumber(21), 7, 0x21)
        memory.writeWord(FrameNumber(22), 500, 0)
        #expect(memory.compactStores == 4 && memory.fullStores == 0)
        #expect(page(memory, FrameNumber(20)) == page([9: 0x20, 500: 0x500]))
        #expect(page(memory, FrameNumber(21)) == page([7: 0x21, 9: 0x99, 500: 0x500]))
        #expect(page(memory, FrameNumber(22)) == page([9: 0x99]))
        for f in [a] + (UInt64(10)...40).map { FrameNumber($0) } where ![20, 21, 22].contains(f.rawValue) {
            #expect(page(memory, f) == page([9: 0x99, 500: 0x500]))
        }
        // A sharer promoted to a full store leaves the others the compact one.
        for index in 100..<107 { memory.writeWord(FrameNumber(30), index, 1) }
        #expect(memory.compactStores == 4 && memory.fullStores == 1)
        #expect(memory.readWord(FrameNumber(30), 9) == 0x99 && memory.readWord(FrameNumber(30), 106) == 1)
        #expect(page(memory, FrameNumber(31)) == page([9: 0x99, 500: 0x500]))
        // Zeroing every frame gives every store back.
        memory.zero(a)
        for f in UInt64(10)...40 { memory.zero(FrameNumber(f)) }
        #expect(memory.backedFrames == 0)
    }

    @Test func copyingACompactFrameOverAFullOneReplacesIt() {
        var memory = PhysicalMemory(frameCount: 16)
        for index in 0..<20 { memory.writeWord(b, index, 0xB) }
        memory.writeWord(a, 3, 0xA)
        memory.copy(from: a, to: b)
        #expect(memory.compactStores == 1 && memory.fullStores == 0)
        #expect(page(memory, b) == page([3: 0xA]))
        memory.copy(from: a, to: b)  // again, over itself
        #expect(memory.backedFrames == 1)
        #expect(page(memory, b) == page([3: 0xA]))
    }

    @Test func backedFramesCountsCompactAndFullStores() {
        var memory = PhysicalMemory(frameCount: 16)
        for frame in 1...4 { memory.writeWord(FrameNumber(UInt64(frame)), 0, 1) }
        for frame in 5...6 { for index in 0..<12 { memory.writeWord(FrameNumber(UInt64(frame)), index, 1) } }
        #expect(memory.compactStores == 4 && memory.fullStores == 2 && memory.backedFrames == 6)
        memory.copy(from: FrameNumber(1), to: FrameNumber(7))
        memory.copy(from: FrameNumber(5), to: FrameNumber(8))
        #expect(memory.backedFrames == 6)
        memory.zero(FrameNumber(2))
        memory.zero(FrameNumber(6))
        #expect(memory.compactStores == 3 && memory.fullStores == 1 && memory.backedFrames == 4)
        #expect(memory.hostBytes >= memory.storeBytes + 4 * 16)
    }

    @Test("random operations read the same as a plain 512-word model", arguments: [UInt64(1), 2, 3, 4])
    func randomOperationsMatchAPlainModel(seed: UInt64) {
        let frames = 12
        var memory = PhysicalMemory(frameCount: frames)
        var model = [FrameNumber: [UInt64]]()
        for f in 0..<frames { model[FrameNumber(UInt64(f))] = [UInt64](repeating: 0, count: 512) }
        var random = SeededRandom(seed: seed)
        func below(_ n: Int) -> Int { Int.random(in: 0..<n, using: &random) }
        // Each frame's words come mostly from 12 indices, so frames go back
        // and forth around the 8 pairs a compact store holds.
        let palette = [0, 1, 2, 63, 64, 200, 255, 256, 300, 447, 510, 511]
        func index() -> Int { below(8) == 0 ? below(512) : palette[below(palette.count)] }
        func value() -> UInt64 {
            switch below(4) {
            case 0: 0
            case 1: random.next() & 0xFF
            default: random.next()
            }
        }
        var promotions = 0, drops = 0
        for step in 0..<20_000 {
            let frame = FrameNumber(UInt64(below(frames)))
            let other = FrameNumber(UInt64(below(frames)))
            let full = memory.fullStores
            let backed = memory.backedFrames
            switch below(20) {
            case 0..<9:
                let i = index(), v = value()
                memory.writeWord(frame, i, v)
                model[frame]![i] = v
            case 9..<11:
                let offset = UInt64(below(4089)), v = value()
                memory.write64(PhysicalAddress(frame: frame, offset: offset), v)
                for k in 0..<8 {
                    let byte = Int(offset) + k, shift = UInt64(8 * (byte & 7))
                    model[frame]![byte >> 3] = model[frame]![byte >> 3] & ~(0xFF << shift) | (v >> UInt64(8 * k) & 0xFF) << shift
                }
            case 11..<13:
                let i = index(), byte = Int(below(8)), b = UInt8(truncatingIfNeeded: value())
                memory.writeByte(PhysicalAddress(frame: frame, offset: UInt64(i * 8 + byte)), b)
                let shift = UInt64(8 * byte)
                model[frame]![i] = model[frame]![i] & ~(0xFF << shift) | UInt64(b) << shift
            case 13..<15:
                memory.copy(from: frame, to: other)
                model[other] = model[frame]
            case 15:
                memory.zero(frame)
                model[frame] = [UInt64](repeating: 0, count: 512)
            default:
                let offset = UInt64(below(4089))
                var expected: UInt64 = 0
                for k in 0..<8 {
                    let byte = Int(offset) + k
                    expected |= (model[frame]![byte >> 3] >> UInt64(8 * (byte & 7)) & 0xFF) << UInt64(8 * k)
                }
                #expect(memory.read64(PhysicalAddress(frame: frame, offset: offset)) == expected, "step \(step)")
            }
            if memory.fullStores > full { promotions += 1 }
            if memory.backedFrames < backed { drops += 1 }
            #expect(memory.isZero(frame) == model[frame]!.allSatisfy { $0 == 0 }, "step \(step)")
            if step % 64 == 0 {
                for f in 0..<frames {
                    let f = FrameNumber(UInt64(f))
                    #expect(page(memory, f) == model[f]!, "step \(step), \(f)")
                }
                // At most one store per frame; frames reading as zeros hold none
                // unless they kept a full store.
                #expect(memory.backedFrames <= frames)
                #expect(memory.compactStores <= model.values.filter { $0.contains { $0 != 0 } }.count)
            }
        }
        // The sequence went through promotions and dropped stores, not just one representation.
        #expect(promotions > 20 && drops > 20)
        for f in 0..<frames { memory.zero(FrameNumber(UInt64(f))) }
        #expect(memory.backedFrames == 0)
    }
}
