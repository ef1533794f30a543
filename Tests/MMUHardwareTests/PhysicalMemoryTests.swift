import Testing
@testable import MMUHardware

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

    @Test func aChainOfCopiesHoldsOneStoreUntilWritten() {
        var memory = PhysicalMemory(frameCount: 64)
        memory.writeWord(a, 9, 0x99)
        // a -> 10 -> 11 -> ... -> 40, as a chain of `fork copy`s copies a page.
        var previous = a
        for f in UInt64(10)...40 {
            memory.copy(from: previous, to: FrameNumber(f))
            previous = FrameNumber(f)
        }
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
}
