/// Emulated physical memory of 4 KiB frames, kept lazily.
///
/// A frame that was never written (or was zeroed since) has no backing store and
/// reads as zeros. A written frame gets a 512-word slot in one flat buffer;
/// zeroing a frame returns its slot for reuse. Copying a frame shares the
/// source's slot (copy-on-write on the host: a chain of `fork copy`s holds one
/// copy of each page until one of them writes it). Host memory is therefore 4
/// bytes per frame (the slot table) plus 4 KiB per distinct page of data.
public struct PhysicalMemory: Sendable {
    /// Number of 4 KiB frames.
    public let frameCount: Int
    /// For each frame, 1 + its slot in `words`, or 0 when the frame reads as zeros.
    @usableFromInline var slotOfFrame: [UInt32]
    /// Backing store: slot `s` holds words `s*512 ..< (s+1)*512`.
    @usableFromInline var words: [UInt64] = []
    /// Slots given back by zeroed frames.
    private var freeSlots: [UInt32] = []
    /// How many frames share each slot (index: slot - 1); a write to a shared
    /// slot first gives the frame a copy of its own.
    @usableFromInline var slotSharers: [UInt32] = []

    public init(frameCount: Int) {
        self.frameCount = frameCount
        self.slotOfFrame = [UInt32](repeating: 0, count: frameCount)
    }

    /// Frames that currently hold a backing store.
    public var backedFrames: Int { words.count / 512 - freeSlots.count }

    @inlinable public func contains(_ frame: FrameNumber) -> Bool {
        frame.rawValue < UInt64(frameCount)
    }

    /// Reads word `index` (0..<512) of `frame`; frames outside memory read as zeros.
    @inlinable public func readWord(_ frame: FrameNumber, _ index: Int) -> UInt64 {
        guard frame.rawValue < UInt64(frameCount) else { return 0 }
        let slot = slotOfFrame[frame.index]
        if slot == 0 { return 0 }
        return words[(Int(slot) - 1) &* 512 &+ index]
    }

    /// Writes word `index` (0..<512) of `frame`; writes outside memory are dropped.
    @inlinable public mutating func writeWord(_ frame: FrameNumber, _ index: Int, _ value: UInt64) {
        guard frame.rawValue < UInt64(frameCount) else { return }
        var slot = slotOfFrame[frame.index]
        if slot == 0 {
            if value == 0 { return }
            slot = attachSlot(to: frame)
        } else if slotSharers[Int(slot) - 1] > 1 {
            slot = unshare(frame, slot)
        }
        words[(Int(slot) - 1) &* 512 &+ index] = value
    }

    /// The 8-byte page-table entry at `index` of the table in `frame`.
    @inlinable public func readEntry(_ frame: FrameNumber, _ index: UInt64) -> PageTableEntry {
        PageTableEntry(rawValue: readWord(frame, Int(index)))
    }
    @inlinable public mutating func writeEntry(_ frame: FrameNumber, _ index: UInt64, _ entry: PageTableEntry) {
        writeWord(frame, Int(index), entry.rawValue)
    }

    /// Reads 8 little-endian bytes at `address`, which must not cross its frame.
    @inlinable public func read64(_ address: PhysicalAddress) -> UInt64 {
        let offset = address.offset
        if offset & 7 == 0 { return readWord(address.frame, Int(offset >> 3)) }
        return readUnaligned64(address)
    }

    @usableFromInline func readUnaligned64(_ address: PhysicalAddress) -> UInt64 {
        var value: UInt64 = 0
        for i in 0..<UInt64(8) { value |= UInt64(readByte(PhysicalAddress(rawValue: address.rawValue + i))) << (8 * i) }
        return value
    }

    /// Writes 8 little-endian bytes at `address`, which must not cross its frame.
    @inlinable public mutating func write64(_ address: PhysicalAddress, _ value: UInt64) {
        let offset = address.offset
        if offset & 7 == 0 { writeWord(address.frame, Int(offset >> 3), value); return }
        writeUnaligned64(address, value)
    }

    @usableFromInline mutating func writeUnaligned64(_ address: PhysicalAddress, _ value: UInt64) {
        for i in 0..<UInt64(8) { writeByte(PhysicalAddress(rawValue: address.rawValue + i), UInt8(truncatingIfNeeded: value >> (8 * i))) }
    }

    public func readByte(_ address: PhysicalAddress) -> UInt8 {
        let word = readWord(address.frame, Int(address.offset >> 3))
        return UInt8(truncatingIfNeeded: word >> (8 * (address.offset & 7)))
    }

    public mutating func writeByte(_ address: PhysicalAddress, _ byte: UInt8) {
        let index = Int(address.offset >> 3)
        let shift = 8 * (address.offset & 7)
        var word = readWord(address.frame, index)
        word = word & ~(0xFF << shift) | UInt64(byte) << shift
        writeWord(address.frame, index, word)
    }

    /// Zeroes a frame: it lets go of its backing store, which goes back to
    /// the pool of slots once no frame shares it.
    public mutating func zero(_ frame: FrameNumber) {
        guard frame.rawValue < UInt64(frameCount) else { return }
        let slot = slotOfFrame[frame.index]
        guard slot != 0 else { return }
        slotOfFrame[frame.index] = 0
        release(slot)
    }

    private mutating func release(_ slot: UInt32) {
        slotSharers[Int(slot) - 1] -= 1
        if slotSharers[Int(slot) - 1] == 0 { freeSlots.append(slot) }
    }

    /// Copies the 4 KiB of `source` into `destination`: the destination
    /// shares the source's slot until either is written.
    public mutating func copy(from source: FrameNumber, to destination: FrameNumber) {
        guard source.rawValue < UInt64(frameCount), destination.rawValue < UInt64(frameCount), source != destination else { return }
        let from = slotOfFrame[source.index]
        zero(destination)
        guard from != 0 else { return }
        slotOfFrame[destination.index] = from
        slotSharers[Int(from) - 1] += 1
    }

    /// Gives `frame`, which shares `slot`, a slot of its own holding the same words.
    @usableFromInline mutating func unshare(_ frame: FrameNumber, _ slot: UInt32) -> UInt32 {
        release(slot)
        let own = attachSlot(to: frame)
        let fromBase = (Int(slot) - 1) * 512, toBase = (Int(own) - 1) * 512
        words.withUnsafeMutableBufferPointer { buffer in
            for i in 0..<512 { buffer[toBase + i] = buffer[fromBase + i] }
        }
        return own
    }

    /// True when every byte of `frame` is zero.
    public func isZero(_ frame: FrameNumber) -> Bool {
        guard frame.rawValue < UInt64(frameCount) else { return true }
        let slot = slotOfFrame[frame.index]
        if slot == 0 { return true }
        let base = (Int(slot) - 1) * 512
        for i in 0..<512 where words[base + i] != 0 { return false }
        return true
    }

    @usableFromInline mutating func attachSlot(to frame: FrameNumber) -> UInt32 {
        let slot: UInt32
        if let reused = freeSlots.popLast() {
            slot = reused
            let base = (Int(slot) - 1) * 512
            words.withUnsafeMutableBufferPointer { buffer in
                for i in 0..<512 { buffer[base + i] = 0 }
            }
        } else {
            slot = UInt32(words.count / 512 + 1)
            words.append(contentsOf: repeatElement(0, count: 512))
            slotSharers.append(0)
        }
        slotSharers[Int(slot) - 1] = 1
        slotOfFrame[frame.index] = slot
        return slot
    }
}
