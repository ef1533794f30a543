/// Emulated physical memory of 4 KiB frames, kept lazily.
///
/// A frame that was never written (or was zeroed since) has no backing store
/// and reads as zeros. A written frame has one of two kinds of store:
///
/// - a *compact* store while it holds at most `compactCapacity` (8) non-zero
///   words: their indices (16 bits each, in two 64-bit words) and their
///   values, 80 bytes in one pool. A page table holding a few entries (the
///   usual case for a streamed trace over a sparse address space) costs 80
///   bytes here instead of 4 KiB;
/// - a *full* store, a 512-word slot in one flat buffer, from the write that
///   would make a ninth non-zero word on (the frame is then never compacted
///   again until it is zeroed).
///
/// A read of a compact frame compares the index with all eight at once (two
/// 64-bit SWAR compares) and takes the value beside the match: no loop and
/// one branch. Writing zero to a word a compact store holds drops that pair,
/// and the store itself once it holds none. Zeroing a frame returns its store
/// for reuse. Copying a frame shares the source's store, of either kind
/// (copy-on-write on the host: a chain of `fork copy`s holds one copy of each
/// page until one of them writes it).
///
/// Host memory (`hostBytes`) is therefore 4 bytes per frame (the slot table),
/// 84 bytes per distinct compact page (the store and its sharer count) and
/// 4 KiB per distinct page with more than 8 non-zero words, plus one 4 KiB
/// slot of zeros that frames without a store read from. All of this is
/// invisible to the emulated machine: every read returns what a flat 4 KiB
/// page would.
public struct PhysicalMemory: Sendable {
    /// The most non-zero words a compact store holds.
    public static let compactCapacity = 8
    /// Words per compact store: two words of four 16-bit indices, then eight values.
    @usableFromInline static let compactStride = 10
    /// In `slotOfFrame`, marks a compact store (the low 31 bits are its number).
    @usableFromInline static let compactTag: UInt32 = 1 << 31
    /// An index lane that holds no pair (indices are 0..<512).
    @usableFromInline static let emptyLane: UInt16 = 0xFFFF
    @usableFromInline static let lowBits: UInt64 = 0x0001_0001_0001_0001
    @usableFromInline static let highBits: UInt64 = 0x8000_8000_8000_8000

    /// Number of 4 KiB frames.
    public let frameCount: Int
    /// For each frame: its slot in `words` (a full store, below `compactTag`),
    /// 0 when it reads as zeros (slot 0 is all zeros and never written, so a
    /// read needs no test for it), or `compactTag | n` for compact store `n`.
    @usableFromInline var slotOfFrame: [UInt32]
    /// Full stores: slot `s` holds words `s*512 ..< (s+1)*512`; slot 0 is zeros.
    @usableFromInline var words = [UInt64](repeating: 0, count: 512)
    /// Slots given back by zeroed frames.
    private var freeSlots: [UInt32] = []
    /// How many frames share each slot; a write to a shared slot first gives
    /// the frame a copy of its own. Slot 0's 0 keeps writes out of it.
    @usableFromInline var slotSharers: [UInt32] = [0]
    /// Compact stores: store `n` is words `n*10 ..< n*10+10`; words 0 and 1
    /// hold the indices of pairs 0-3 and 4-7 (16 bits each, lowest lane
    /// first, `emptyLane` when unused), words 2...9 the values of pairs 0-7.
    /// A pair in use always holds a non-zero value.
    @usableFromInline var compact: [UInt64] = []
    /// Compact stores given back.
    private var freeCompact: [UInt32] = []
    /// How many frames share each compact store.
    @usableFromInline var compactSharers: [UInt32] = []

    public init(frameCount: Int) {
        self.frameCount = frameCount
        self.slotOfFrame = [UInt32](repeating: 0, count: frameCount)
    }

    /// Distinct backing stores in use, full and compact (frames sharing one count once).
    public var backedFrames: Int { fullStores + compactStores }
    /// Full (4 KiB) stores in use.
    public var fullStores: Int { words.count / 512 - 1 - freeSlots.count }
    /// Compact stores in use.
    public var compactStores: Int { compactSharers.count - freeCompact.count }

    /// Host bytes the stores take (allocated capacity, free ones included),
    /// without the 4-byte-per-frame slot table.
    public var storeBytes: Int {
        8 * (words.capacity + compact.capacity)
            + 4 * (slotSharers.capacity + freeSlots.capacity + compactSharers.capacity + freeCompact.capacity)
    }
    /// Host bytes this memory holds: the slot table and the stores.
    public var hostBytes: Int { 4 * slotOfFrame.capacity + storeBytes }

    @inlinable public func contains(_ frame: FrameNumber) -> Bool {
        frame.rawValue < UInt64(frameCount)
    }

    /// Reads word `index` (0..<512) of `frame`; frames outside memory read as zeros.
    @inlinable public func readWord(_ frame: FrameNumber, _ index: Int) -> UInt64 {
        guard frame.rawValue < UInt64(frameCount) else { return 0 }
        let slot = slotOfFrame[frame.index]
        // One test: a full store, or slot 0 for a frame with none.
        if slot < Self.compactTag { return words[Int(slot) &* 512 &+ index] }
        return Self.compactWord(compact, slot, index)
    }

    /// Where `key` is among the eight index lanes `low` (pairs 0-3) and
    /// `high` (pairs 4-7): the pair's number, or -1. The lanes hold distinct
    /// indices (and `emptyLane` any number of times: the lowest is found).
    @inlinable @inline(__always) static func pair(of key: UInt16, low: UInt64, high: UInt64) -> Int {
        let keys = UInt64(key) &* lowBits
        // A lane of x is zero where it matches; (x - 1) & ~x sets a lane's top
        // bit when the lane is zero, and above a zero lane only (the borrow),
        // so the lowest flag is the first match.
        let x0 = low ^ keys, x1 = high ^ keys
        let m0 = (x0 &- lowBits) & ~x0 & highBits
        let m1 = (x1 &- lowBits) & ~x1 & highBits
        // Flags at bit 16*lane + word: the lowest is the first match in lane order.
        let flags = m0 >> 15 | m1 >> 14
        if flags == 0 { return -1 }
        let bit = flags.trailingZeroBitCount
        return (bit & 15) << 2 | bit >> 4
    }

    /// Word `index` of the compact store `slot` names. Always inlined: a call
    /// here, even one never taken, made callers keep their registers on the
    /// stack around every read (callgrind: 30 more instructions per access of
    /// `mmusim-bench walk`).
    @inlinable @inline(__always) static func compactWord(_ compact: [UInt64], _ slot: UInt32, _ index: Int) -> UInt64 {
        let base = Int(slot & ~Self.compactTag) &* Self.compactStride
        let pair = pair(of: UInt16(truncatingIfNeeded: index), low: compact[base], high: compact[base &+ 1])
        if pair < 0 { return 0 }
        return compact[base &+ 2 &+ pair]
    }

    /// Writes word `index` (0..<512) of `frame`; writes outside memory are dropped.
    /// Out of line, as it was before compact stores: inlined, it made callers
    /// such as `Machine.storeEntry` too large to inline into fork's loop.
    @inlinable @inline(never) public mutating func writeWord(_ frame: FrameNumber, _ index: Int, _ value: UInt64) {
        guard frame.rawValue < UInt64(frameCount) else { return }
        let slot = slotOfFrame[frame.index]
        // A full store of the frame's own: write in place.
        if slot < Self.compactTag && slotSharers[Int(slot)] == 1 {
            words[Int(slot) &* 512 &+ index] = value
            return
        }
        writeWordElsewhere(frame, index, value)
    }

    /// `writeWord` to a frame with no store, a shared full store or a compact store.
    @usableFromInline @inline(never) mutating func writeWordElsewhere(_ frame: FrameNumber, _ index: Int, _ value: UInt64) {
        let slot = slotOfFrame[frame.index]
        if slot == 0 {
            if value == 0 { return }
            let store = attachCompact(to: frame)
            setPair(store, 0, index: index, value)
        } else if slot < Self.compactTag {
            let own = unshare(frame, slot)
            words[Int(own) * 512 + index] = value
        } else {
            writeCompact(frame, Int(slot & ~Self.compactTag), index, value)
        }
    }

    private mutating func writeCompact(_ frame: FrameNumber, _ store: Int, _ index: Int, _ value: UInt64) {
        let base = store * Self.compactStride
        let low = compact[base], high = compact[base + 1]
        let existing = Self.pair(of: UInt16(index), low: low, high: high)
        if existing >= 0 {
            if compact[base + 2 + existing] == value { return }
            let own = ownCompact(frame, store)
            if value != 0 {
                compact[own * Self.compactStride + 2 + existing] = value
                return
            }
            // Zero drops the pair, and the store with its last pair.
            setPair(own, existing, index: Int(Self.emptyLane), 0)
            let ownBase = own * Self.compactStride
            if compact[ownBase] == .max && compact[ownBase + 1] == .max {
                slotOfFrame[frame.index] = 0
                releaseCompact(own)
            }
            return
        }
        if value == 0 { return }
        let free = Self.pair(of: Self.emptyLane, low: low, high: high)
        if free >= 0 {
            setPair(ownCompact(frame, store), free, index: index, value)
            return
        }
        // A ninth non-zero word: the frame gets a full store.
        let slot = attachSlot(to: frame)
        let slotBase = Int(slot) * 512
        for pair in 0..<Self.compactCapacity {
            let lane = UInt16(truncatingIfNeeded: compact[base + pair >> 2] >> (16 * (pair & 3)))
            words[slotBase + Int(lane)] = compact[base + 2 + pair]
        }
        words[slotBase + index] = value
        releaseCompact(store)
    }

    /// Puts `index` and `value` in pair `pair` of compact store `store`.
    private mutating func setPair(_ store: Int, _ pair: Int, index: Int, _ value: UInt64) {
        let base = store * Self.compactStride
        let shift = 16 * (pair & 3)
        compact[base + pair >> 2] = compact[base + pair >> 2] & ~(0xFFFF << shift) | UInt64(UInt16(index)) << shift
        compact[base + 2 + pair] = value
    }

    /// The compact store `frame` may write: `store` when no other frame shares it, else a copy.
    private mutating func ownCompact(_ frame: FrameNumber, _ store: Int) -> Int {
        if compactSharers[store] == 1 { return store }
        releaseCompact(store)
        let own = attachCompact(to: frame)
        let from = store * Self.compactStride, to = own * Self.compactStride
        for i in 0..<Self.compactStride { compact[to + i] = compact[from + i] }
        return own
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
    /// its pool once no frame shares it.
    public mutating func zero(_ frame: FrameNumber) {
        guard frame.rawValue < UInt64(frameCount) else { return }
        let slot = slotOfFrame[frame.index]
        guard slot != 0 else { return }
        slotOfFrame[frame.index] = 0
        if slot < Self.compactTag { release(slot) } else { releaseCompact(Int(slot & ~Self.compactTag)) }
    }

    private mutating func release(_ slot: UInt32) {
        slotSharers[Int(slot)] -= 1
        if slotSharers[Int(slot)] == 0 { freeSlots.append(slot) }
    }

    private mutating func releaseCompact(_ store: Int) {
        compactSharers[store] -= 1
        if compactSharers[store] == 0 { freeCompact.append(UInt32(store)) }
    }

    /// Copies the 4 KiB of `source` into `destination`: the destination
    /// shares the source's store (full or compact) until either is written.
    public mutating func copy(from source: FrameNumber, to destination: FrameNumber) {
        guard source.rawValue < UInt64(frameCount), destination.rawValue < UInt64(frameCount), source != destination else { return }
        let from = slotOfFrame[source.index]
        zero(destination)
        guard from != 0 else { return }
        slotOfFrame[destination.index] = from
        if from < Self.compactTag {
            slotSharers[Int(from)] += 1
        } else {
            compactSharers[Int(from & ~Self.compactTag)] += 1
        }
    }

    /// Gives `frame`, which shares full store `slot`, a slot of its own holding the same words.
    private mutating func unshare(_ frame: FrameNumber, _ slot: UInt32) -> UInt32 {
        release(slot)
        let own = attachSlot(to: frame)
        let fromBase = Int(slot) * 512, toBase = Int(own) * 512
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
        if slot >= Self.compactTag {
            let base = Int(slot & ~Self.compactTag) * Self.compactStride
            for pair in 0..<Self.compactCapacity where compact[base + 2 + pair] != 0 { return false }
            return true
        }
        let base = Int(slot) * 512
        for i in 0..<512 where words[base + i] != 0 { return false }
        return true
    }

    /// A zeroed full store for `frame`, which has none.
    private mutating func attachSlot(to frame: FrameNumber) -> UInt32 {
        let slot: UInt32
        if let reused = freeSlots.popLast() {
            slot = reused
            let base = Int(slot) * 512
            words.withUnsafeMutableBufferPointer { buffer in
                for i in 0..<512 { buffer[base + i] = 0 }
            }
        } else {
            precondition(words.count / 512 < Int(Self.compactTag), "too many full stores")
            slot = UInt32(words.count / 512)
            words.append(contentsOf: repeatElement(0, count: 512))
            slotSharers.append(0)
        }
        slotSharers[Int(slot)] = 1
        slotOfFrame[frame.index] = slot
        return slot
    }

    /// An empty compact store for `frame`, which has none (or is letting go of a shared one).
    private mutating func attachCompact(to frame: FrameNumber) -> Int {
        let store: Int
        if let reused = freeCompact.popLast() {
            store = Int(reused)
        } else {
            store = compactSharers.count
            precondition(store < Int(Self.compactTag), "too many compact stores")
            compact.append(contentsOf: repeatElement(0, count: Self.compactStride))
            compactSharers.append(0)
        }
        let base = store * Self.compactStride
        compact[base] = .max
        compact[base + 1] = .max
        for pair in 0..<Self.compactCapacity { compact[base + 2 + pair] = 0 }
        compactSharers[store] = 1
        slotOfFrame[frame.index] = Self.compactTag | UInt32(store)
        return store
    }
}
